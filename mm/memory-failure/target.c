// SPDX-License-Identifier: GPL-2.0
/*
 * The page a hard offline report is about: the claim that marks it before
 * anything else, the two named reasons to give that claim back, and the
 * reference the handler takes on it, or why it cannot take one.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page-flags.h>
#include <linux/swap.h>

#include "internal.h"

/* Looks at a page that is changing owner before it is given up on. */
#define MF_GRAB_TRIES	4

/**
 * mf_claim - mark the reported page poisoned before it is handled
 * @t: the target
 *
 * PG_hwpoison is set first, before the handler takes a reference, so that
 * what checks it (page faults, GUP, migration, the free path of an order-0
 * page) stops using the page while it is being contained. The claim is
 * given back by mf_unclaim() only.
 *
 * Context: process context, mf_mutex held.
 * Return: true if the page is newly claimed; false if it was poisoned
 * already.
 */
bool mf_claim(struct mf_target *t)
{
	lockdep_assert_held(&mf_mutex);
	return !TestSetPageHWPoison(t->page);
}

/**
 * mf_unclaim - give back the claim that mf_claim() took
 * @t: the target, claimed by this report
 *
 * For two reasons only: the injector's filters exclude the page (the
 * report is dropped as if it never came), or the page changed owner under
 * the handler (a free page was allocated, a page became part of a hugetlb
 * folio) and the report is handled again from the start.
 *
 * A page that is now a tail of a hugetlb folio keeps the flag: its struct
 * page may be mapped read-only (the hugetlb vmemmap optimisation), and
 * the hugetlb path records the error in the folio, not in that page.
 *
 * Context: process context, mf_mutex held.
 */
void mf_unclaim(struct mf_target *t)
{
	lockdep_assert_held(&mf_mutex);
	if (PageHuge(t->page) && PageTail(t->page))
		return;
	ClearPageHWPoison(t->page);
}

/**
 * mf_target_put - drop the handler's reference on the target, if it has one
 * @t: the target
 *
 * Context: process context.
 */
void mf_target_put(struct mf_target *t)
{
	if (!t->held)
		return;
	put_page(t->page);
	t->held = false;
}

/* What one look at the page found. */
enum mf_look {
	MF_LOOK_DONE,		/* a verdict: see mf_grab() */
	MF_LOOK_MOVING,		/* between owners: look again */
	MF_LOOK_FOREIGN,	/* not ours to touch now: flush, look again */
};

/*
 * One look at @page. A reference is taken only on an LRU page: the
 * refcount of a kernel page may be frozen by its owner, who would not
 * expect it to move.
 */
static enum mf_look mf_look_once(struct page *page,
				 enum mf_grab_verdict *verdict)
{
	struct folio *folio;

	/* No reference yet: every test looks up the page's folio anew. */
	if (PageHuge(page)) {
		*verdict = MF_GRAB_RACED;
		return MF_LOOK_DONE;
	}
	*verdict = MF_GRAB_UNHANDLED;
	/* The common case first: an LRU page is not free, whatever its order. */
	if (PageLRU(page) && !PageSlab(page)) {
		folio = page_folio(page);
		/* Being freed, or frozen by a split: look again. */
		if (!folio_try_get(folio))
			return MF_LOOK_MOVING;
		if (folio != page_folio(page) || !folio_test_lru(folio)) {
			/* Split, or taken off the LRU, as we looked. */
			folio_put(folio);
			return MF_LOOK_FOREIGN;
		}
		*verdict = MF_GRAB_IN_USE;
		return MF_LOOK_DONE;
	}
	if (is_free_buddy_page(page)) {
		if (!take_page_off_buddy(page)) {
			*verdict = MF_GRAB_FREE_LOST;
			return MF_LOOK_MOVING;
		}
		/* The poison reference: nobody else will ever hold one. */
		page_ref_inc(page);
		*verdict = MF_GRAB_FREE;
		return MF_LOOK_DONE;
	}
	return MF_LOOK_FOREIGN;
}

/**
 * mf_grab - take hold of a claimed page that the caller holds no reference on
 * @t: the target, claimed, online memory, not held
 *
 * A free page is taken off the buddy free lists and held by its poison
 * reference for good; an LRU page gets a reference for the handler. Both
 * are settled by a first look: a held LRU page cannot be freed, and a
 * page is taken off the buddy lists under the zone lock; a page that
 * became hugetlb is given back at once. A page in use but off the LRU is
 * most often in a per-CPU LRU batch: the batches are flushed and it is
 * looked at again. Any other page may be free on a per-CPU list, where
 * it cannot be taken: the per-CPU free lists of its zone are then
 * emptied and kept empty while we look again, so that a free page is on
 * the buddy lists. A page that is still neither may be between owners:
 * the batches are flushed and it is looked at again, a few times (a page
 * the kernel uses, not slab, pays for all of these).
 *
 * Context: process context, mf_mutex held; may sleep.
 * Return: MF_GRAB_IN_USE (@t->held set), MF_GRAB_FREE (off the free
 * lists, poison reference taken), MF_GRAB_FREE_LOST (free, but allocated
 * each time it was about to be taken), MF_GRAB_RACED (it became a hugetlb
 * page) or MF_GRAB_UNHANDLED (in use by something that cannot be
 * contained: slab, page tables, a driver, a larger kernel allocation; or
 * still being freed or split after the last look).
 */
enum mf_grab_verdict mf_grab(struct mf_target *t)
{
	struct zone *zone = page_zone(t->page);
	enum mf_grab_verdict verdict = MF_GRAB_UNHANDLED;
	enum mf_look look;
	int pass;

	lockdep_assert_held(&mf_mutex);
	/*
	 * Emptying every CPU's lists costs more than the rest of a report:
	 * only a page the first look could not settle pays for it.
	 */
	look = mf_look_once(t->page, &verdict);
	if (look == MF_LOOK_DONE)
		goto done;
	/*
	 * A page in use but off the LRU is most often still in a per-CPU
	 * LRU batch (just faulted in, say): flushing those settles it
	 * without emptying the free lists. A free page in a per-CPU list
	 * has no reference and goes straight to that.
	 */
	if (look == MF_LOOK_FOREIGN && page_count(t->page)) {
		shake_folio(page_folio(t->page));
		look = mf_look_once(t->page, &verdict);
		if (look == MF_LOOK_DONE)
			goto done;
	}
	zone_pcp_disable(zone);
	/* Emptied lists first: the first look again needs no flush. */
	look = MF_LOOK_MOVING;
	for (pass = 0; pass < MF_GRAB_TRIES; pass++) {
		if (look == MF_LOOK_FOREIGN)
			shake_folio(page_folio(t->page));
		look = mf_look_once(t->page, &verdict);
		if (look == MF_LOOK_DONE)
			break;
	}
	zone_pcp_enable(zone);
done:
	if (verdict == MF_GRAB_IN_USE)
		t->held = true;
	return verdict;
}
