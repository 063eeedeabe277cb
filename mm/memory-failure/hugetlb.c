// SPDX-License-Identifier: GPL-2.0
/*
 * Errors in hugetlb pages. A huge page is mapped and poisoned as a whole
 * (PG_hwpoison on its folio), but only some of its raw 4 KiB pages are
 * bad: each report adds the raw page to a list of records hung off the
 * folio, so that when the huge page is dissolved the good pages go back to
 * the allocator and only the bad ones are withheld, and so that hugetlbfs
 * can read up to the first bad page. A folio whose list could not be kept
 * (a record could not be allocated) is marked unreliable: all of it is
 * then taken for bad, and it is never dissolved or unpoisoned.
 *
 * Who touches a folio's list, and why that is safe:
 * - records are added by memory_failure() under mf_mutex and hugetlb_lock,
 *   while the folio is a hugetlb folio;
 * - memory_failure() and unpoison empty it under mf_mutex;
 * - hugetlb empties it when it dissolves the folio, under neither, but only
 *   after the folio stopped being a hugetlb folio under hugetlb_lock, and
 *   never while someone holds a reference on it;
 * - is_raw_hwpoison_page_in_hugepage() walks it under mf_mutex, for a
 *   caller that holds a reference on the folio;
 * - memory_failure() forgets it when the filters exclude a report, under
 *   mf_mutex and hugetlb_lock, while the folio is a hugetlb folio, so
 *   never at the same time as a dissolve.
 * llist_del_all() takes a list whole, so a record is never freed twice.
 */
#include <linux/hugetlb.h>
#include <linux/llist.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "internal.h"

/* The record of one raw page of a hugetlb folio that was reported bad. */
struct mf_bad_page {
	struct llist_node node;
	struct page *page;
};

/* hugetlb lends us a word of the folio for the list head. */
static struct llist_head *mf_bad_pages(struct folio *folio)
{
	return (struct llist_head *)&folio->_hugetlb_hwpoison;
}

static bool mf_bad_page_recorded(struct folio *folio, struct page *page)
{
	struct mf_bad_page *rec;

	llist_for_each_entry(rec, mf_bad_pages(folio)->first, node)
		if (rec->page == page)
			return true;
	return false;
}

/**
 * is_raw_hwpoison_page_in_hugepage - was this page of a folio reported bad?
 * @page: a page, of a hugetlb folio or not; the caller holds a reference on
 *	  its folio
 *
 * Context: process context, may sleep (takes mf_mutex for a poisoned
 * hugetlb folio).
 * Return: true if @page itself is poisoned; for a hugetlb folio that lost
 * its records, true for every page of it.
 */
bool is_raw_hwpoison_page_in_hugepage(struct page *page)
{
	struct folio *folio = page_folio(page);
	bool bad;

	if (!folio_test_hwpoison(folio))
		return false;
	if (!folio_test_hugetlb(folio))
		return PageHWPoison(page);
	/* The records may be given up meanwhile: look under the mutex. */
	mutex_lock(&mf_mutex);
	bad = folio_test_hugetlb_raw_hwp_unreliable(folio) ||
	      mf_bad_page_recorded(folio, page);
	mutex_unlock(&mf_mutex);
	return bad;
}

/* What becomes of the bad pages when a folio's records are dropped. */
enum mf_bad_fate {
	MF_BAD_FLAG_PAGES,	/* dissolved: each bad page gets PG_hwpoison */
	MF_BAD_UNCOUNT,		/* unpoisoned: each leaves HardwareCorrupted */
	MF_BAD_FORGET,		/* given up: the folio stays poisoned whole */
};

static unsigned long mf_drop_bad_pages(struct folio *folio,
				       enum mf_bad_fate fate)
{
	struct llist_node *list = llist_del_all(mf_bad_pages(folio));
	struct mf_bad_page *rec, *next;
	unsigned long n = 0;

	llist_for_each_entry_safe(rec, next, list, node) {
		if (fate == MF_BAD_FLAG_PAGES)
			SetPageHWPoison(rec->page);
		else if (fate == MF_BAD_UNCOUNT)
			num_poisoned_pages_sub(page_to_pfn(rec->page), 1);
		kfree(rec);
		n++;
	}
	/* The page allocator frees such a folio around its bad pages. */
	if (n && fate == MF_BAD_FLAG_PAGES)
		folio_set_has_hwpoisoned(folio);
	return n;
}

/**
 * folio_free_raw_hwp - drop a poisoned hugetlb folio's bad-page records
 * @folio: the hugetlb folio
 * @move_flag: true when the folio is dissolved: each bad page gets
 *	       PG_hwpoison itself; false when it is unpoisoned (the caller
 *	       holds mf_mutex): each bad page leaves HardwareCorrupted
 *
 * Nothing is dropped for a folio whose records were given up, or, with
 * @move_flag, for one whose tail struct pages the vmemmap optimisation
 * freed (there is no struct page to flag).
 *
 * Context: any context (mf_mutex held without @move_flag); does not sleep.
 * Return: the number of bad pages dropped.
 */
unsigned long folio_free_raw_hwp(struct folio *folio, bool move_flag)
{
	if (folio_test_hugetlb_raw_hwp_unreliable(folio))
		return 0;
	if (!move_flag) {
		lockdep_assert_held(&mf_mutex);
		return mf_drop_bad_pages(folio, MF_BAD_UNCOUNT);
	}
	if (folio_test_hugetlb_vmemmap_optimized(folio))
		return 0;
	return mf_drop_bad_pages(folio, MF_BAD_FLAG_PAGES);
}

/**
 * folio_clear_hugetlb_hwpoison - hand a folio's poison to its bad pages
 * @folio: a poisoned hugetlb folio that hugetlb is dissolving
 *
 * The folio flag goes and each recorded bad page is flagged instead, and
 * the folio PG_has_hwpoisoned, so that the page allocator frees it around
 * exactly those (with CONFIG_TRANSPARENT_HUGEPAGE, which that flag needs;
 * without, the folio is freed whole, bad pages and all, as 6.12 does). A
 * folio whose records were given up, or that has no tail struct pages,
 * is left as it is; hugetlb then keeps it out of the allocator.
 *
 * Context: any context; does not sleep.
 */
void folio_clear_hugetlb_hwpoison(struct folio *folio)
{
	if (folio_test_hugetlb_raw_hwp_unreliable(folio) ||
	    folio_test_hugetlb_vmemmap_optimized(folio))
		return;
	folio_clear_hwpoison(folio);
	folio_free_raw_hwp(folio, true);
}

/*
 * Where a hugetlb folio stands for a report, under hugetlb_lock. A folio
 * the caller holds (@held) is in use; an in-use folio is taken a
 * reference on (*@got); a folio that neither the pool nor a user owns at
 * this instant is busy.
 */
static enum mf_huge_claim mf_hugetlb_state(struct folio *folio, bool held,
					   bool *got)
{
	if (held)
		return MF_HUGE_IN_USE;
	if (folio_test_hugetlb_freed(folio))
		return MF_HUGE_FREE;
	if (!folio_test_hugetlb_migratable(folio))
		return MF_HUGE_BUSY;
	/* In use, unless its last reference goes as we look. */
	*got = folio_try_get(folio);
	return *got ? MF_HUGE_IN_USE : MF_HUGE_FREE;
}

/*
 * Poison @folio and record @page in it with *@rec, which is consumed if
 * used. Without a record the folio's records are given up: their pages
 * stay counted, as such a folio is never unpoisoned or dissolved.
 * Return: true if @page is newly reported; else false, with *@before
 * saying how it was poisoned before.
 */
static bool mf_hugetlb_mark(struct folio *folio, struct page *page,
			    struct mf_bad_page **rec,
			    enum mf_huge_claim *before)
{
	bool was_poisoned = folio_test_set_hwpoison(folio);

	if (folio_test_hugetlb_raw_hwp_unreliable(folio)) {
		*before = MF_HUGE_FOLIO_POISONED;
		return false;
	}
	if (mf_bad_page_recorded(folio, page)) {
		*before = MF_HUGE_PAGE_POISONED;
		return false;
	}
	if (*rec) {
		(*rec)->page = page;
		llist_add(&(*rec)->node, mf_bad_pages(folio));
		*rec = NULL;
	} else {
		folio_set_hugetlb_raw_hwp_unreliable(folio);
		mf_drop_bad_pages(folio, MF_BAD_FORGET);
	}
	if (was_poisoned)
		*before = MF_HUGE_FOLIO_POISONED;
	return !was_poisoned;
}

/**
 * mf_hugetlb_claim - take hold of a hugetlb page for a hard offline report
 * @page: the reported page
 * @flags: the report's MF_* flags; with MF_NO_RETRY a busy folio is
 *	   poisoned and recorded all the same
 * @held: the caller holds a reference on @page's folio. For a hugetlb
 *	  folio it becomes ours: dropped here if the folio was poisoned
 *	  before, else passed back with MF_HUGE_IN_USE. Otherwise the caller
 *	  keeps it.
 * @migratable_cleared: set if the folio was taken off memory hot-remove's
 *			migration (the caller puts it back if it lets go)
 *
 * Under hugetlb_lock the folio's state is looked at, the folio poisoned and
 * @page recorded in one go, so that no allocation, free or demotion of
 * the huge page slips in between. For a hugetlb page the record is
 * allocated first, outside the lock, where the allocation may sleep and
 * reclaim, so that a folio's records are practically never given up; any
 * other page costs one look, without the lock.
 *
 * Context: process context, mf_mutex held; may sleep; takes hugetlb_lock.
 * Return: MF_HUGE_NOT_HUGETLB (nothing done); MF_HUGE_FREE (poisoned,
 * nothing held); MF_HUGE_IN_USE (poisoned, a reference held for the
 * caller); MF_HUGE_BUSY (neither free nor in use: nothing done, or, with
 * MF_NO_RETRY, poisoned and nothing held); MF_HUGE_FOLIO_POISONED or
 * MF_HUGE_PAGE_POISONED (poisoned before; nothing held).
 */
enum mf_huge_claim mf_hugetlb_claim(struct page *page, int flags, bool held,
				    bool *migratable_cleared)
{
	struct mf_bad_page *rec = NULL;
	bool allocated = false, got = false, ours;
	enum mf_huge_claim state;
	struct folio *folio;

	lockdep_assert_held(&mf_mutex);
	/*
	 * Whatever the lock would say of a page that is not hugetlb is out
	 * of date once it is dropped (a page becomes hugetlb without it):
	 * the caller's own looks (mf_grab()) see one that becomes hugetlb
	 * before them, and a page the caller holds cannot become one.
	 */
	if (!PageHuge(page))
		return MF_HUGE_NOT_HUGETLB;
again:
	spin_lock_irq(&hugetlb_lock);
	folio = page_folio(page);
	if (!folio_test_hugetlb(folio)) {
		spin_unlock_irq(&hugetlb_lock);
		kfree(rec);
		return MF_HUGE_NOT_HUGETLB;
	}
	if (!allocated) {
		/* Outside the lock, where it may sleep and reclaim. */
		spin_unlock_irq(&hugetlb_lock);
		rec = kmalloc(sizeof(*rec), GFP_KERNEL);
		allocated = true;
		goto again;
	}
	state = mf_hugetlb_state(folio, held, &got);
	/* A reference this call must drop unless it goes to the caller. */
	ours = held || got;
	if (state == MF_HUGE_BUSY && !(flags & MF_NO_RETRY))
		goto unlock;
	if (!mf_hugetlb_mark(folio, page, &rec, &state))
		goto unlock;
	if (state == MF_HUGE_IN_USE) {
		/* Memory hot-remove must not migrate it away. */
		if (folio_test_hugetlb_migratable(folio)) {
			folio_clear_hugetlb_migratable(folio);
			*migratable_cleared = true;
		}
		ours = false;
	}
unlock:
	spin_unlock_irq(&hugetlb_lock);
	kfree(rec);
	/* A last reference frees the folio, which takes hugetlb_lock. */
	if (ours)
		folio_put(folio);
	return state;
}

/*
 * Give back the claim on a hugetlb folio that mf_hugetlb_claim() newly
 * poisoned, for the injector's filters. Nothing was counted yet, and no
 * page of it is flagged: its records (this report's only) are forgotten,
 * not handed to the raw pages as a dissolve would. The folio is in use
 * (held) or free; a free one may be dissolved meanwhile, which hugetlb_lock
 * orders against this.
 */
static void mf_hugetlb_unclaim(struct folio *folio, bool migratable_cleared)
{
	spin_lock_irq(&hugetlb_lock);
	if (folio_test_hugetlb(folio)) {
		mf_drop_bad_pages(folio, MF_BAD_FORGET);
		folio_clear_hugetlb_raw_hwp_unreliable(folio);
		folio_clear_hwpoison(folio);
		if (migratable_cleared)
			folio_set_hugetlb_migratable(folio);
	}
	spin_unlock_irq(&hugetlb_lock);
}

/**
 * mf_hugetlb_offline - hard offline of a page if it is part of a hugetlb folio
 * @t: the target, online memory, not claimed yet; the handler's reference,
 *     if it holds one, is consumed here unless @t->page is no hugetlb page
 * @ret: the report's return value, if handled here
 *
 * A free huge page is dissolved, its good pages going back to the
 * allocator. An in-use one is unmapped, its mappers signalled by the kill
 * policy; an anonymous one is then dissolved too, a hugetlbfs one stays in
 * its file, which reads up to the bad page. A folio that is changing state
 * is looked at twice, then poisoned all the same and left as it is.
 *
 * Context: process context, mf_mutex held; may sleep.
 * Return: false if @t->page is not part of a hugetlb folio (nothing done);
 * else true, with *@ret as for memory_failure().
 */
bool mf_hugetlb_offline(struct mf_target *t, int *ret)
{
	bool migratable_cleared = false;
	enum mf_huge_claim claim;
	int flags = t->flags;
	unsigned long before;
	struct folio *folio;

	lockdep_assert_held(&mf_mutex);
	for (;;) {
		claim = mf_hugetlb_claim(t->page, flags, t->held,
					 &migratable_cleared);
		if (claim != MF_HUGE_BUSY || (flags & MF_NO_RETRY))
			break;
		flags |= MF_NO_RETRY;
	}
	if (claim == MF_HUGE_NOT_HUGETLB)
		return false;
	/* The claim consumed the caller's reference, or handed one back. */
	t->held = claim == MF_HUGE_IN_USE;

	switch (claim) {
	case MF_HUGE_BUSY:
		*ret = mf_action_result(t->pfn, MF_MSG_GET_HWPOISON,
					MF_IGNORED);
		return true;
	case MF_HUGE_FOLIO_POISONED:
	case MF_HUGE_PAGE_POISONED:
		*ret = mf_report_again(t, claim == MF_HUGE_PAGE_POISONED ?
				       MF_MSG_ALREADY_POISONED : MF_MSG_HUGE);
		return true;
	default:
		break;
	}

	folio = page_folio(t->page);
	folio_lock(folio);
	if (hwpoison_filter(t->page)) {
		mf_hugetlb_unclaim(folio, migratable_cleared);
		folio_unlock(folio);
		mf_target_put(t);
		*ret = -EOPNOTSUPP;
		return true;
	}
	if (claim == MF_HUGE_FREE) {
		folio_unlock(folio);
		*ret = mf_action_result(t->pfn, MF_MSG_FREE_HUGE,
					mf_take_off_free(t->page) ?
					MF_RECOVERED : MF_FAILED);
		return true;
	}
	before = folio->flags;
	if (!mf_unmap_and_kill(t, folio)) {
		folio_unlock(folio);
		*ret = mf_action_result(t->pfn, MF_MSG_UNMAP_FAILED, MF_FAILED);
		return true;
	}
	*ret = mf_contain(t, folio, before);
	return true;
}
