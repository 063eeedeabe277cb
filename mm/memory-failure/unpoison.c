// SPDX-License-Identifier: GPL-2.0
/*
 * Unpoison: give back a page that software poisoned, a testing aid.
 *
 * A poisoned page that containment took out of use is held by the memory
 * failure handler alone: one reference, or, for a free page, its place
 * off the buddy free lists. Unpoison clears PG_hwpoison, drops what the
 * handler held, and takes the page out of HardwareCorrupted. A page still
 * in use is refused with -EBUSY: mapped, in a page cache, with references
 * besides the handler's, or a slab, page-table, reserved or offline page.
 * After a real hardware error in this boot it refuses everything, since
 * the page may be bad for real.
 *
 * Limitation: the handler does not yet record whether it kept a
 * reference. A page it marked but could not contain, whose only
 * reference is its owner's (a kernel allocation with no page type, say),
 * looks like a contained one, and unpoison would drop the owner's
 * reference. Unpoison is for pages a test poisoned on purpose.
 */
#define pr_fmt(fmt) "Unpoison: " fmt

#include <linux/hugetlb.h>
#include <linux/huge_mm.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>

#include "internal.h"

static DEFINE_RATELIMIT_STATE(unpoison_rs, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);

static void unpoison_log(unsigned long pfn, const char *what)
{
	if (__ratelimit(&unpoison_rs))
		pr_info("%#lx: %s\n", pfn, what);
}

/*
 * Why @page cannot be unpoisoned, looking only at its state: 0 if it may
 * be, else the error, with *@why the log line's text (NULL: nothing to
 * log, kernel pages are refused quietly).
 */
static int unpoison_refusal(struct page *page, struct folio *folio,
			    const char **why)
{
	lockdep_assert_held(&mf_mutex);
	*why = NULL;
	if (mf_hw_error_seen()) {
		*why = "disabled after HW memory failure";
		return -EOPNOTSUPP;
	}
	if (is_huge_zero_folio(folio)) {
		*why = "huge zero page is not supported";
		return -EOPNOTSUPP;
	}
	if (!PageHWPoison(page)) {
		*why = "page was already unpoisoned";
		return -EBUSY;
	}
	if (folio_ref_count(folio) > 1) {
		*why = "someone grabs the hwpoison page";
		return -EBUSY;
	}
	if (folio_test_slab(folio) || folio_test_pgtable(folio) ||
	    folio_test_reserved(folio) || folio_test_offline(folio))
		return -EBUSY;
	if (folio_mapped(folio)) {
		*why = "someone maps the hwpoison page";
		return -EBUSY;
	}
	if (folio_mapping(folio)) {
		*why = "the hwpoison page has non-NULL mapping";
		return -EBUSY;
	}
	return 0;
}

/*
 * A hugetlb folio: forget its raw error pages (each leaves
 * HardwareCorrupted as it goes) and clear the folio's flag; a folio in
 * use loses the reference the handler kept. @held: we hold a reference.
 */
static int unpoison_hugetlb(struct folio *folio, bool held)
{
	int ret = -EBUSY;

	if (folio_free_raw_hwp(folio, false) &&
	    folio_test_clear_hwpoison(folio))
		ret = 0;
	if (held) {
		folio_put(folio);
		if (!ret)
			folio_put(folio);
	}
	return ret;
}

/*
 * An order-0 or large folio in use whose only other reference is the
 * handler's: we hold one more. Clear the flag, then drop both.
 */
static int unpoison_held(struct page *page, struct folio *folio)
{
	int ret = TestClearPageHWPoison(page) ? 0 : -EBUSY;

	folio_put(folio);
	if (!ret)
		folio_put(folio);
	return ret;
}

/*
 * Take hold of @folio for unpoison and give it back according to the
 * state it was in; *@hugetlb tells whether it was a hugetlb folio. The
 * per-CPU free lists of its zone are drained and disabled meanwhile, so
 * that a page with no reference is not sitting on one of them.
 */
static int unpoison_page(struct page *page, struct folio *folio,
			 bool *hugetlb)
{
	struct zone *zone = page_zone(page);
	int ret, got;

	zone_pcp_disable(zone);
	*hugetlb = false;
	got = get_hwpoison_hugetlb_folio(folio, hugetlb, true);
	if (*hugetlb) {
		if (folio == page_folio(page)) {
			ret = unpoison_hugetlb(folio, got > 0);
			goto out;
		}
		/* Demoted under us: unpoison what it is now, another time. */
		if (got > 0)
			folio_put(folio);
		ret = -EBUSY;
		goto out;
	}
	if (mf_page_taken_off(page)) {
		ret = put_page_back_buddy(page) ? 0 : -EBUSY;
		goto out;
	}
	if (get_page_unless_zero(page)) {
		ret = unpoison_held(page, folio);
		goto out;
	}
	/*
	 * No reference: a free page the handler could not take off the free
	 * lists, or a tail page of a larger allocation, whose head's flag
	 * this then tests (and finds clear). Just the flag.
	 */
	ret = folio_test_clear_hwpoison(folio) ? 0 : -EBUSY;
out:
	zone_pcp_enable(zone);
	return ret;
}

/**
 * unpoison_memory - give back a page poisoned by software
 * @pfn: the page frame
 *
 * Clears PG_hwpoison of a page that memory failure or soft offline
 * retired, if nothing but that handler holds it, drops what the handler
 * held (which frees the page, or puts it back on the buddy free lists)
 * and takes it out of HardwareCorrupted. It never touches a page after
 * the hardware has reported an error in this boot.
 *
 * Context: Process context; takes mf_mutex and the memory hotplug lock
 * for reading.
 * Return:
 * * %0 - the page is no longer poisoned;
 * * %-EIO - @pfn is not online memory;
 * * %-EOPNOTSUPP - a hardware error was reported in this boot, or @pfn is
 *   part of the huge zero page;
 * * %-EBUSY - the page is not poisoned, or someone else still has it.
 */
int unpoison_memory(unsigned long pfn)
{
	struct folio *folio;
	struct page *page;
	const char *why;
	bool hugetlb = false;
	int ret;

	mutex_lock(&mf_mutex);
	/* The memory map stays valid: no memory goes offline meanwhile. */
	get_online_mems();
	page = pfn_to_online_page(pfn);
	if (!page) {
		ret = -EIO;
		why = NULL;
		goto unlock;
	}
	folio = page_folio(page);
	ret = unpoison_refusal(page, folio, &why);
	if (!ret)
		ret = unpoison_page(page, folio, &hugetlb);
unlock:
	put_online_mems();
	mutex_unlock(&mf_mutex);

	if (ret) {
		if (why)
			unpoison_log(pfn, why);
		return ret;
	}
	/* A hugetlb folio's raw pages left the count one by one. */
	if (!hugetlb)
		num_poisoned_pages_sub(pfn, 1);
	unpoison_log(pfn, "software-unpoisoned page");
	return 0;
}
EXPORT_SYMBOL(unpoison_memory);
