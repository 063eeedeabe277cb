// SPDX-License-Identifier: GPL-2.0
/*
 * What every memory failure handler shares: the lock that orders changes
 * of a page's poison state, whether the hardware has reported an error in
 * this boot, and the way a poisoned page is split out of its THP.
 */
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>

#include "internal.h"

/* Orders changes of a page's poison state: see internal.h. */
DEFINE_MUTEX(mf_mutex);

/*
 * Set once the hardware (not software injection) has reported an error:
 * from then on a poisoned page may be bad for real and unpoison refuses.
 * Written and read under mf_mutex.
 */
static bool hw_error_seen __read_mostly;

/**
 * mf_note_hw_error - remember that the hardware reported a memory error
 *
 * Context: Process context, mf_mutex held.
 */
void mf_note_hw_error(void)
{
	lockdep_assert_held(&mf_mutex);
	hw_error_seen = true;
}

/**
 * mf_hw_error_seen - has the hardware reported a memory error this boot?
 *
 * Context: Process context, mf_mutex held.
 * Return: true once mf_note_hw_error() has been called.
 */
bool mf_hw_error_seen(void)
{
	lockdep_assert_held(&mf_mutex);
	return hw_error_seen;
}

/**
 * SetPageHWPoisonTakenOff - note that a poisoned free page is off the free lists
 * @page: a page that take_page_off_buddy() has just taken
 *
 * Context: Any context; the caller holds the zone lock of @page.
 */
void SetPageHWPoisonTakenOff(struct page *page)
{
	set_page_private(page, MAGIC_HWPOISON);
}

/**
 * ClearPageHWPoisonTakenOff - undo SetPageHWPoisonTakenOff()
 * @page: a page going back to the buddy allocator
 *
 * Context: Any context; the caller holds the zone lock of @page.
 */
void ClearPageHWPoisonTakenOff(struct page *page)
{
	if (PageHWPoison(page))
		set_page_private(page, 0);
}

/**
 * mf_split_folio - split the large folio that holds a page
 * @page: the page, not locked; the caller holds a reference on its folio,
 *	  which stays on @page's folio after a split
 *
 * Context: process context; may sleep.
 * Return: @page's folio after the split, or NULL if it could not be split.
 */
struct folio *mf_split_folio(struct page *page)
{
	int ret;

	lock_page(page);
	ret = split_huge_page(page);
	unlock_page(page);
	return ret ? NULL : page_folio(page);
}
