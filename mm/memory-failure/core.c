// SPDX-License-Identifier: GPL-2.0
/*
 * Hard offline, memory_failure(): a page with an uncorrectable error is
 * resolved, claimed, taken hold of, contained by its kind and booked, and
 * the processes that lose data are signalled.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/pagemap.h>

#include "internal.h"
#include "sysctl.h"

/**
 * mf_report_again - answer a report of a page that was poisoned before
 * @t: the target; the handler's reference, if any, is dropped
 * @type: how to book it: MF_MSG_ALREADY_POISONED, or MF_MSG_HUGE for a
 *	  new bad page of a hugetlb folio poisoned before
 *
 * Nothing is contained. An action-required caller consumed the page
 * through a mapping that is still there (the report came in before it was
 * unmapped): that caller is signalled.
 *
 * Context: process context, mf_mutex held; may sleep.
 * Return: -EHWPOISON, or what mf_kill_accessing() returns for an
 * action-required report.
 */
int mf_report_again(struct mf_target *t, enum mf_action_page_type type)
{
	int ret = -EHWPOISON;

	if (t->flags & MF_ACTION_REQUIRED)
		ret = mf_kill_accessing(t->pfn, t->flags);
	mf_target_put(t);
	mf_action_result(t->pfn, type, MF_FAILED);
	return ret;
}

/*
 * A large folio that could not be split (pinned, say) cannot be unmapped
 * a page at a time: its mappers are told now, by the kill policy, and
 * keep it mapped.
 */
static int mf_keep_unsplit(struct mf_target *t, struct folio *folio)
{
	LIST_HEAD(victims);

	folio_lock(folio);
	mf_collect_victims(folio, t->page, &victims,
			   t->flags & MF_ACTION_REQUIRED);
	folio_unlock(folio);
	mf_signal_victims(&victims, true, t->pfn, t->flags);
	mf_target_put(t);
	mf_action_result(t->pfn, MF_MSG_UNSPLIT_THP, MF_FAILED);
	return -EHWPOISON;
}

/* The injector's filters skip the page: the report is dropped unseen. */
static int mf_drop_filtered(struct mf_target *t)
{
	mf_unclaim(t);
	mf_target_put(t);
	return -EOPNOTSUPP;
}

/*
 * Might a per-CPU batch hold @folio, a small folio the handler holds? A
 * folio waiting to go on the LRU is off it; one in an activation or mlock
 * batch stays on it, but the batch holds a reference beyond those of its
 * mappings, its file or swap cache, and the handler. A buffer head in a
 * CPU's buffer-head LRU holds the folio's buffers instead, so a folio
 * with buffers is always suspect. The count is read before and after the
 * mappings: a mapping that comes or goes in between (its reference and
 * its count change at different moments) makes the folio suspect too.
 */
static bool mf_maybe_batched(struct folio *folio)
{
	int refs = folio_ref_count(folio);
	long expected;

	if (!folio_test_lru(folio) || folio_test_private(folio))
		return true;
	expected = 1 + folio_mapcount(folio);
	if (folio_mapping(folio))
		expected += folio_nr_pages(folio);
	return refs != expected || folio_ref_count(folio) != refs;
}

/*
 * Contain a claimed page that the handler holds: unless the filters skip
 * it, split it out of its THP, unmap it, signal who lost data, and take
 * it out of whatever it belongs to.
 */
static int mf_offline_held(struct mf_target *t)
{
	struct folio *folio = page_folio(t->page);
	bool large = folio_test_large(folio);
	unsigned long before;
	bool skip;

	if (large) {
		/* A THP is not split for a report the filters drop. */
		folio_lock(folio);
		skip = hwpoison_filter(t->page);
		folio_unlock(folio);
		if (skip)
			return mf_drop_filtered(t);
		/* Set with a reference held, so that a split sees it. */
		folio_set_has_hwpoisoned(folio);
		folio = mf_split_folio(t->page);
		if (!folio)
			return mf_keep_unsplit(t, page_folio(t->page));
	}

	/*
	 * A batch's reference would keep the page in its file, and a page
	 * waiting to go on the LRU would not be unmapped: flush them first.
	 * Nothing keeps the page from entering a batch after this look, with
	 * or without a flush, but a quiet page is not made to pay for
	 * flushing every CPU's batches.
	 */
	if (mf_maybe_batched(folio))
		shake_folio(folio);
	folio_lock(folio);
	/* A split page was looked at by the filters as part of its THP. */
	if (!large && hwpoison_filter(t->page)) {
		folio_unlock(folio);
		return mf_drop_filtered(t);
	}
	/* Split, and held: it cannot become part of a large folio again. */
	VM_WARN_ON_ONCE_FOLIO(folio_test_large(folio), folio);
	/* Unmapping changes the flags that tell what the page was. */
	before = folio->flags;
	/*
	 * Only an LRU page has mappings to take down. A folio under
	 * writeback may have lost PG_lru to munlock without its lock; it
	 * is waited for, as evicting it from its file would be a bug.
	 */
	if (folio_test_lru(folio) || folio_test_writeback(folio)) {
		folio_wait_writeback(folio);
		if (!mf_unmap_and_kill(t, folio)) {
			folio_unlock(folio);
			return mf_action_result(t->pfn, MF_MSG_UNMAP_FAILED,
						MF_FAILED);
		}
		if (folio_test_lru(folio) && !folio_test_swapcache(folio) &&
		    !folio->mapping) {
			/* Truncated by its file as we went. */
			folio_unlock(folio);
			return mf_action_result(t->pfn, MF_MSG_TRUNCATED_LRU,
						MF_IGNORED);
		}
	}
	return mf_contain(t, folio, before);
}

/*
 * A user page that is off the LRU for a moment: migration, compaction or
 * reclaim holds it isolated (migration when the copy that failed on it
 * reported it). An order-0 page only: a large folio may be split as we
 * wait, and a hugetlb page has its own path. Not a non-LRU movable page
 * (zsmalloc, a balloon), which never goes back to the LRU. A hint: no
 * reference is held, and only the memory map is read.
 */
static bool mf_page_in_transit(struct page *page)
{
	struct folio *folio = page_folio(page);
	unsigned long mapping = (unsigned long)READ_ONCE(folio->mapping);

	if (PageCompound(page) || PageSlab(page) || PageTable(page) ||
	    PageReserved(page))
		return false;
	if ((mapping & PAGE_MAPPING_FLAGS) == PAGE_MAPPING_MOVABLE)
		return false;
	/* A frozen count is migration or reclaim at work, under the lock. */
	return mapping && (folio_ref_count(folio) > 0 || folio_test_locked(folio));
}

/*
 * A page claimed while in transit and freed since: the free path withheld
 * it from the allocator for its flag, and nobody holds it any more. It
 * cannot have been allocated again meanwhile: the claim kept it out. Its
 * mapping may still name the anon_vma of its last owner (the free path
 * leaves a withheld page as it was); a count frozen by migration or
 * reclaim is frozen under the page lock.
 */
static bool mf_page_withheld(struct page *page)
{
	return !PageCompound(page) && !page_ref_count(page) &&
	       !PageBuddy(page) && !PageLocked(page) && !page_mapped(page);
}

/*
 * Hard offline of a page of online memory: a hugetlb page has its own
 * path; any other is claimed, taken hold of, and contained. A page that
 * changed owner under us is handled again from the start, once. A queued
 * report may find its page in transit: it is then left claimed, and
 * *@deferred set, for the queue to try again (see mf_queued_hard_offline()).
 */
static int mf_offline_page(struct mf_target *t, enum mf_when when,
			   bool *deferred)
{
	bool claimed = when == MF_QUEUED_AGAIN || when == MF_QUEUED_LAST;
	enum mf_grab_verdict grab;
	bool again = false;
	int ret;

retry:
	if (mf_hugetlb_offline(t, &ret))
		return ret;
	if (claimed) {
		/*
		 * The flag is gone: the memory was offlined and onlined again
		 * while the report waited (unpoison refuses after a hardware
		 * error).
		 */
		if (!PageHWPoison(t->page))
			return 0;
	} else if (!mf_claim(t)) {
		return mf_report_again(t, MF_MSG_ALREADY_POISONED);
	}
	if (t->held)
		return mf_offline_held(t);

	grab = mf_grab(t);
	switch (grab) {
	case MF_GRAB_IN_USE:
		return mf_offline_held(t);
	case MF_GRAB_FREE:
		return mf_action_result(t->pfn, MF_MSG_BUDDY, MF_RECOVERED);
	case MF_GRAB_FREE_LOST:
	case MF_GRAB_RACED:
		if (!again) {
			again = true;
			mf_unclaim(t);
			claimed = false;
			goto retry;
		}
		if (grab == MF_GRAB_FREE_LOST)
			return mf_action_result(t->pfn, MF_MSG_BUDDY,
						MF_FAILED);
		break;
	case MF_GRAB_UNHANDLED:
		if (claimed && mf_page_withheld(t->page))
			return mf_action_result(t->pfn, MF_MSG_BUDDY,
						MF_RECOVERED);
		if ((when == MF_QUEUED_NEW || when == MF_QUEUED_AGAIN) &&
		    mf_page_in_transit(t->page)) {
			*deferred = true;
			return 0;
		}
		break;
	}
	pr_err("%#lx: unhandlable page\n", t->pfn);
	return mf_action_result(t->pfn, MF_MSG_GET_HWPOISON, MF_IGNORED);
}

/*
 * A pfn that is not online memory: the architecture's own memory (x86
 * SGX's enclave page cache), ZONE_DEVICE memory through its pagemap, or
 * nothing the kernel manages.
 */
static int mf_offline_other(struct mf_target *t)
{
	struct dev_pagemap *pgmap = NULL;

	if (!arch_memory_failure(t->pfn, t->flags)) {
		mf_target_put(t);
		return 0;
	}
	if (pfn_valid(t->pfn))
		pgmap = get_dev_pagemap(t->pfn, NULL);
	/* The pagemap's reference keeps the page from here on. */
	mf_target_put(t);
	if (pgmap)
		return mf_handle_devmap(t->pfn, t->flags, pgmap);
	pr_err("%#lx: memory outside kernel control\n", t->pfn);
	return -ENXIO;
}

/*
 * Hard offline of @pfn; @given is the caller's page, whose reference is
 * ours; @when and @deferred: see mf_queued_hard_offline().
 */
static int mf_hard_offline(unsigned long pfn, int flags, struct page *given,
			   enum mf_when when, bool *deferred)
{
	struct mf_target t = {
		.pfn = pfn,
		.page = given,
		.flags = flags,
		.held = !!given,
	};
	int ret;

	if (!READ_ONCE(sysctl_memory_failure_recovery))
		panic("Memory failure on page %lx", pfn);

	mutex_lock(&mf_mutex);
	if (!(flags & MF_SW_SIMULATED))
		mf_note_hw_error();
	if (pfn_to_online_page(pfn)) {
		t.page = pfn_to_page(pfn);
		ret = mf_offline_page(&t, when, deferred);
	} else {
		ret = mf_offline_other(&t);
	}
	mutex_unlock(&mf_mutex);
	return ret;
}

/**
 * memory_failure - take a page with an uncorrectable error out of use
 * @pfn: the page frame with the error
 * @flags: MF_ACTION_REQUIRED if the current task consumed the error,
 *	   MF_MUST_KILL to signal mappers even of a clean page,
 *	   MF_SW_SIMULATED for a software injection
 *
 * Marks the page poisoned, takes it off the free lists or out of its file,
 * unmaps it and signals the processes that lose data by the kill policy,
 * and books the result (log line, HardwareCorrupted, node counters, trace
 * event). ZONE_DEVICE pfns go to their pagemap's owner.
 *
 * Context: process context with interrupts enabled and no spinlock held;
 * may sleep. Takes mf_mutex. From other contexts use memory_failure_queue().
 * Return: 0 if the error is contained, or, for MF_ACTION_REQUIRED, if the
 * page was poisoned already and the current task does not map it;
 * -EHWPOISON if the page was poisoned already (the current task was
 * signalled for MF_ACTION_REQUIRED), or a huge page could not be split
 * (its mappers were signalled); -EOPNOTSUPP if the injector's filters skip
 * the page; -ENXIO if @pfn is no memory the kernel manages; -EFAULT for
 * MF_ACTION_REQUIRED from a kernel thread; -EBUSY if it could not be
 * contained.
 */
int memory_failure(unsigned long pfn, int flags)
{
	bool deferred;

	return mf_hard_offline(pfn, flags, NULL, MF_NOW, &deferred);
}
EXPORT_SYMBOL_GPL(memory_failure);

/**
 * mf_queued_hard_offline - memory_failure() for a report from the queue
 * @pfn: the page frame with the error
 * @flags: as for memory_failure(), without MF_ACTION_REQUIRED
 * @when: MF_QUEUED_NEW the first time; MF_QUEUED_AGAIN or MF_QUEUED_LAST
 *	  once the report was deferred, and so holds the page's claim
 * @deferred: set if the report was deferred; the caller must then call
 *	      this again later, with MF_QUEUED_AGAIN or MF_QUEUED_LAST
 *
 * A queued report may come from code that still holds the page isolated:
 * migration reports the page whose copy failed before it puts the page
 * back. Handled now, the page would be refused as unhandlable and stay
 * mapped, its owners never told. Unless @when is MF_QUEUED_LAST, such a
 * page (a user page off the LRU, see mf_page_in_transit()) is left
 * claimed, nothing booked, for the queue to try again when it is back on
 * the LRU. The claim keeps it quarantined meanwhile: faults refuse it and
 * the free path withholds it.
 *
 * Context: as memory_failure().
 * Return: as memory_failure(); 0 if deferred, or if the page was
 * unpoisoned while the report waited.
 */
int mf_queued_hard_offline(unsigned long pfn, int flags, enum mf_when when,
			   bool *deferred)
{
	*deferred = false;
	return mf_hard_offline(pfn, flags, NULL, when, deferred);
}

/**
 * memory_failure_held - memory_failure() on a page the caller holds
 * @page: the page with the error; the caller holds a reference on its
 *	  folio (from get_user_pages(), say), which this consumes on every
 *	  path: dropped, or kept as the poison reference
 * @flags: as for memory_failure()
 *
 * Context: as memory_failure().
 * Return: as memory_failure(); -EBUSY for the shared zero page or the
 * huge zero folio, which are left alone.
 */
int memory_failure_held(struct page *page, int flags)
{
	struct folio *folio = page_folio(page);
	bool deferred;

	/*
	 * A read fault of private anonymous memory maps the shared zero
	 * page: the caller names no page of its own, and the zero page
	 * is everyone's. It is not poisoned for one process's report.
	 */
	if (is_zero_folio(folio) || is_huge_zero_folio(folio)) {
		pr_info("%#lx: shared zero page: not poisoned\n",
			page_to_pfn(page));
		put_page(page);
		return -EBUSY;
	}
	return mf_hard_offline(page_to_pfn(page), flags, page, MF_NOW,
			       &deferred);
}
