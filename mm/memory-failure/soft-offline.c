// SPDX-License-Identifier: GPL-2.0
/*
 * Soft offline: retire a page that still holds good data but has had too
 * many corrected errors, before it fails for good.
 *
 * It never kills and never loses data: the contents move first (the page
 * is migrated, or a clean page cache page nobody maps is dropped, or a
 * free huge page is dissolved), the page is then taken out of every place
 * that could hand it out again (the LRU, the page cache, the buddy free
 * lists), and only then is PG_hwpoison set. The page stays held by one
 * reference, as unpoison expects. An in-use page needs no draining of the
 * per-CPU free lists: only a free page can sit on one, and only a free
 * page that is not on the buddy lists pays for that.
 */
#define pr_fmt(fmt) "Soft offline: " fmt

#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/memory_hotplug.h>
#include <linux/migrate.h>
#include <linux/mm_inline.h>
#include <linux/page-flags.h>
#include <linux/pagemap.h>

#include "internal.h"
#include "sysctl.h"

/* How a page stands when soft offline takes hold of it. */
enum so_hold {
	SO_IN_USE,	/* in use and movable: we hold a reference */
	SO_FREE,	/* free, or nobody's (maybe on a per-CPU free list) */
	SO_BUSY,	/* changing owner as we looked, again and again */
	SO_UNMOVABLE,	/* in use by something that cannot be moved */
};

/* Times an unmovable page is looked at again, after flushing LRU batches. */
#define SO_SHAKES	3

/* In use, and something migration knows how to move? */
static bool so_movable(struct folio *folio)
{
	if (folio_test_slab(folio))
		return false;
	return folio_test_lru(folio) || __folio_test_movable(folio);
}

/*
 * Take hold of @page. With @adopted the caller's reference on its folio
 * is ours already. A page that is not movable may only be in a per-CPU
 * LRU batch yet, or isolated for a moment: the batches are flushed and
 * it is looked at again, a few times. A page with no reference is left
 * to so_retire_free(), which can tell a free page on a per-CPU list from
 * one that belongs to nobody.
 */
static enum so_hold so_take_hold(struct page *page, bool adopted)
{
	bool pinned_huge = false;
	struct folio *folio;
	int pass, got, shakes = 0;
	bool hugetlb;

	for (pass = 0; pass < 2 * SO_SHAKES; pass++) {
		folio = page_folio(page);
		if (!adopted) {
			got = get_hwpoison_hugetlb_folio(folio, &hugetlb, false);
			if (hugetlb && folio == page_folio(page)) {
				if (got > 0)
					return SO_IN_USE;
				if (!got)
					return SO_FREE;
				/* Not migratable now (isolated, being set up). */
				pinned_huge = true;
				continue;
			}
			if (hugetlb) {
				/* Dissolved or demoted under us. */
				if (got > 0)
					folio_put(folio);
				continue;
			}
			if (!folio_try_get(folio))
				return SO_FREE;
			if (folio != page_folio(page)) {
				folio_put(folio);
				continue;
			}
		}
		adopted = false;
		if (folio_test_hugetlb(folio) || so_movable(folio))
			return SO_IN_USE;
		folio_put(folio);
		if (shakes++ == SO_SHAKES)
			return SO_UNMOVABLE;
		shake_folio(folio);
	}
	return pinned_huge ? SO_UNMOVABLE : SO_BUSY;
}

/*
 * Take a free page off the buddy free lists for good. One on a per-CPU
 * list is moved to the buddy lists first: the zone's per-CPU lists are
 * emptied and kept empty (zone_pcp_disable()) while we look again, so
 * that a page still with no reference and not free then is nobody's to
 * free (the tail of a larger kernel allocation): -EIO.
 */
static int so_take_off(struct page *page)
{
	struct zone *zone = page_zone(page);
	int ret = 0, pass;

	if (take_page_off_buddy(page))
		return 0;
	get_online_mems();
	zone_pcp_disable(zone);
	for (pass = 0; pass < 3; pass++) {
		if (take_page_off_buddy(page))
			goto out;
		/* Being allocated or freed right now: look again. */
		cond_resched();
	}
	ret = page_count(page) || is_free_buddy_page(page) ? -EBUSY : -EIO;
out:
	zone_pcp_enable(zone);
	put_online_mems();
	return ret;
}

/*
 * Retire a free page: dissolve it if it is a free huge page (not with
 * the per-CPU lists disabled: dissolving may take the CPU hotplug lock),
 * take it off the free lists, then mark it and hold it.
 */
static int so_retire_free(struct page *page)
{
	int ret;

	if (dissolve_free_hugetlb_folio(page_folio(page)))
		return -EBUSY;
	ret = so_take_off(page);
	if (ret)
		return ret;
	SetPageHWPoison(page);
	page_ref_inc(page);
	num_poisoned_pages_inc(page_to_pfn(page));
	return 0;
}

/*
 * Retire a page that has left every mapping, its file and the LRU, and
 * whose remaining reference is ours: it becomes the poison reference.
 * Its memory cgroup lets go of it (migration moved the charge to the new
 * page, except for a page freed under it).
 */
static void so_retire_held(struct page *page)
{
	mem_cgroup_uncharge(page_folio(page));
	SetPageHWPoison(page);
	num_poisoned_pages_inc(page_to_pfn(page));
}

enum so_drop {
	SO_KEPT,	/* not a candidate: as it was, with our reference */
	SO_DROPPED,	/* out of its file and off the LRU, ours the only ref */
	SO_ISOLATED,	/* still in its file but off the LRU: to migrate */
};

/*
 * A clean page cache page that nobody maps, locked, with our reference:
 * drop it from its file (it is read again from disk when needed). It is
 * taken off the LRU first, so that nobody else can isolate it meanwhile;
 * if eviction then fails after all, it stays isolated for migration, our
 * reference replaced by the isolation's.
 */
static enum so_drop so_drop_clean(struct folio *folio)
{
	struct address_space *mapping = folio_mapping(folio);

	if (!mapping || folio_test_swapcache(folio) || folio_mapped(folio) ||
	    folio_test_dirty(folio) || !folio_isolate_lru(folio))
		return SO_KEPT;
	/* The isolation's reference holds it now; eviction counts ours. */
	folio_put(folio);
	if (!mapping_evict_folio(mapping, folio))
		return SO_ISOLATED;
	/* What the LRU leaves on a page that is not freed through it. */
	folio_clear_active(folio);
	folio_clear_unevictable(folio);
	return SO_DROPPED;
}

/*
 * Move an in-use page away and retire it. We hold a reference on its
 * folio, which this consumes on every path.
 */
static int so_move(unsigned long pfn, struct page *page)
{
	struct migration_target_control mtc = {
		.nid = NUMA_NO_NODE,
		.gfp_mask = GFP_USER | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL,
		.reason = MR_MEMORY_FAILURE,
	};
	struct folio *folio = page_folio(page);
	bool huge = folio_test_hugetlb(folio);
	const char *what = huge ? "hugepage" : "page";
	LIST_HEAD(list);
	long ret;

	if (!huge && folio_test_large(folio)) {
		folio = mf_split_folio(page);
		if (!folio) {
			put_page(page);
			pr_info("%#lx: thp split failed\n", pfn);
			return -EBUSY;
		}
	}

	folio_lock(folio);
	if (PageHWPoison(page)) {
		/* A hard offline got there first: nothing is left to move. */
		pr_info("%#lx: page already poisoned\n", pfn);
		folio_unlock(folio);
		folio_put(folio);
		return 0;
	}
	if (!huge)
		folio_wait_writeback(folio);
	switch (huge ? SO_KEPT : so_drop_clean(folio)) {
	case SO_DROPPED:
		folio_unlock(folio);
		so_retire_held(page);
		pr_info("%#lx: invalidated\n", pfn);
		return 0;
	case SO_ISOLATED:
		/* Isolated as isolate_folio_to_list() would have. */
		folio_unlock(folio);
		node_stat_mod_folio(folio, NR_ISOLATED_ANON +
				    folio_is_file_lru(folio),
				    folio_nr_pages(folio));
		list_add(&folio->lru, &list);
		break;
	case SO_KEPT:
		folio_unlock(folio);
		/* Isolation takes a reference of its own; ours goes. */
		if (!isolate_folio_to_list(folio, &list)) {
			folio_put(folio);
			pr_info("%#lx: %s isolation failed, page count %d, type %pGp\n",
				pfn, what, page_count(page), &page->flags);
			return -EBUSY;
		}
		folio_put(folio);
		break;
	}

	ret = migrate_pages(&list, alloc_migration_target, NULL,
			    (unsigned long)&mtc, MIGRATE_SYNC,
			    MR_MEMORY_FAILURE, NULL);
	if (ret) {
		if (!list_empty(&list))
			putback_movable_pages(&list);
		pr_info("%#lx: %s migration failed %ld, type %pGp\n",
			pfn, what, ret, &page->flags);
		return ret > 0 ? -EBUSY : ret;
	}
	/*
	 * Moved. A huge page went back to its pool as a free huge page;
	 * any other page is left with the isolation reference alone (for
	 * MR_MEMORY_FAILURE migration keeps it), out of every mapping,
	 * file and list.
	 */
	if (huge)
		return so_retire_free(page) ? -EBUSY : 0;
	so_retire_held(page);
	return 0;
}

/* Is soft offline on? Once per boot it says why not. */
static bool so_enabled(void)
{
	if (READ_ONCE(sysctl_enable_soft_offline))
		return true;
	pr_info_once("disabled by /proc/sys/vm/enable_soft_offline\n");
	return false;
}

/*
 * Soft offline of @page at @pfn, online memory, under mf_mutex. With
 * @adopted the caller's reference on the page's folio is ours, dropped or
 * kept on every path.
 */
static int so_offline_locked(unsigned long pfn, struct page *page,
			     bool adopted)
{
	enum so_hold hold = SO_BUSY;
	int ret, tries;

	lockdep_assert_held(&mf_mutex);
	if (PageHWPoison(page)) {
		pr_info("%#lx: page already poisoned\n", pfn);
		if (adopted)
			put_page(page);
		return 0;
	}
	/* A free page can be allocated as we look: look once more. */
	for (tries = 0; tries < 2; tries++) {
		get_online_mems();
		hold = so_take_hold(page, adopted);
		put_online_mems();
		adopted = false;

		if (hwpoison_filter(page)) {
			if (hold == SO_IN_USE)
				put_page(page);
			ret = -EOPNOTSUPP;
			break;
		}
		if (hold == SO_IN_USE) {
			ret = so_move(pfn, page);
			break;
		}
		if (hold == SO_UNMOVABLE) {
			ret = -EIO;
			break;
		}
		ret = hold == SO_FREE ? so_retire_free(page) : -EBUSY;
		if (ret != -EBUSY)
			break;
	}
	/* Only so_move() does not say -EIO for "no page soft offline knows". */
	if (ret == -EIO && hold != SO_IN_USE)
		pr_err("%#lx: unhandlable page\n", pfn);
	return ret;
}

/* so_offline_locked(), taking mf_mutex, if soft offline is on. */
static int so_offline(unsigned long pfn, struct page *page, bool adopted)
{
	int ret;

	if (!so_enabled()) {
		if (adopted)
			put_page(page);
		return -EOPNOTSUPP;
	}
	mutex_lock(&mf_mutex);
	ret = so_offline_locked(pfn, page, adopted);
	mutex_unlock(&mf_mutex);
	return ret;
}

/*
 * Can @page, which the caller holds, be migrated with others? An order-0
 * page on the LRU, not under writeback or poisoned, that the injector's
 * filters let through: what migration takes as it is. Any other page
 * takes so_offline_locked(), which knows the rest.
 */
static bool so_batchable(struct page *page)
{
	struct folio *folio = page_folio(page);

	return pfn_to_online_page(page_to_pfn(page)) &&
	       !folio_test_large(folio) && folio_test_lru(folio) &&
	       !folio_test_writeback(folio) && !PageHWPoison(page) &&
	       !hwpoison_filter(page);
}

/* Is @folio on @list? Only failures are left there: short, mostly empty. */
static bool so_on_list(struct folio *folio, struct list_head *list)
{
	struct folio *f;

	list_for_each_entry(f, list, lru)
		if (f == folio)
			return true;
	return false;
}

/*
 * Migrate the @nr pages of @pages, isolated on @list, together (one TLB
 * flush and back-to-back allocations per migration batch), then retire
 * them in order up to the first that did not move: its error is returned,
 * and the pages after it are not retired, moved or not. Consumes the
 * isolation references of the pages that are not retired.
 */
static int so_move_isolated(struct page **pages, unsigned int nr,
			    struct list_head *list)
{
	struct migration_target_control mtc = {
		.nid = NUMA_NO_NODE,
		.gfp_mask = GFP_USER | __GFP_MOVABLE | __GFP_RETRY_MAYFAIL,
		.reason = MR_MEMORY_FAILURE,
	};
	struct folio *folio;
	unsigned int i;
	int ret = 0;
	long rc;

	if (!nr)
		return 0;
	rc = migrate_pages(list, alloc_migration_target, NULL,
			   (unsigned long)&mtc, MIGRATE_SYNC, MR_MEMORY_FAILURE,
			   NULL);
	for (i = 0; i < nr; i++) {
		/* A duplicate, dropped before isolation. */
		if (!pages[i])
			continue;
		folio = page_folio(pages[i]);
		/*
		 * Left on @list: it did not move, and goes back below. An
		 * error of the whole batch (-ENOMEM) is the first such page's.
		 */
		if (rc && so_on_list(folio, list)) {
			if (!ret) {
				pr_info("%#lx: page migration failed %ld, type %pGp\n",
					page_to_pfn(pages[i]), rc,
					&pages[i]->flags);
				ret = rc < 0 ? rc : -EBUSY;
			}
			continue;
		}
		/* Moved: MR_MEMORY_FAILURE left us the isolation reference. */
		if (!ret)
			so_retire_held(pages[i]);
		else
			folio_put(folio);
	}
	if (rc)
		putback_movable_pages(list);
	return ret;
}

/*
 * A page met twice (a KSM page, a file page mapped at two addresses) is
 * handled once: the second reference would make its migration fail, and
 * one by one the second time would find the page poisoned already.
 */
static void so_drop_duplicates(struct page **pages, unsigned int nr)
{
	unsigned int i, j;

	for (i = 1; i < nr; i++)
		for (j = 0; j < i; j++)
			if (pages[j] == pages[i]) {
				put_page(pages[i]);
				pages[i] = NULL;
				break;
			}
}

/**
 * soft_offline_held_pages - soft_offline_held_page() on several pages
 * @pages: the pages, in the order a caller walked them; the caller holds a
 *	   reference on each page's folio (from get_user_pages(), say), which
 *	   this consumes on every path. A page may be named twice; the array
 *	   is used as scratch space
 * @nr: how many
 *
 * The pages are handled in order, as soft_offline_held_page() would one
 * after the other, except that the order-0 LRU pages among them are
 * migrated together, which shares the cost of migration (TLB flushes,
 * page allocation) among them. Handling stops at the first page that
 * cannot be offlined: the pages after it are not retired (some may have
 * moved, as compaction would have moved them). Give it order-0 pages: the
 * references held on the others' folios would keep a large folio here
 * from being split.
 *
 * Context: as soft_offline_page().
 * Return: 0 if every page is retired or was poisoned already; else the
 * error soft_offline_held_page() gives for the first page that is not.
 */
int soft_offline_held_pages(struct page **pages, unsigned int nr)
{
	unsigned int i = 0, start = 0;
	struct page *page;
	LIST_HEAD(list);
	int ret = 0;

	if (!nr)
		return 0;
	if (!so_enabled()) {
		while (i < nr)
			put_page(pages[i++]);
		return -EOPNOTSUPP;
	}
	so_drop_duplicates(pages, nr);
	/* Pages just faulted in wait in this CPU's LRU batch: not for long. */
	lru_add_drain();
	mutex_lock(&mf_mutex);
	while (i < nr) {
		page = pages[i];
		if (!page) {
			i++;
			continue;
		}
		if (so_batchable(page) &&
		    isolate_folio_to_list(page_folio(page), &list)) {
			/* Migrated in the callers' order. */
			list_move_tail(&page_folio(page)->lru, &list);
			/* The isolation's reference holds it now. */
			put_page(page);
			i++;
			continue;
		}
		/* Not for the batch: the pages before it go first. */
		ret = so_move_isolated(pages + start, i - start, &list);
		if (ret)
			break;
		/* From here on, @page's reference is consumed. */
		start = ++i;
		if (!pfn_to_online_page(page_to_pfn(page))) {
			put_page(page);
			ret = -EIO;
			break;
		}
		ret = so_offline_locked(page_to_pfn(page), page, true);
		if (ret)
			break;
	}
	if (!ret)
		ret = so_move_isolated(pages + start, i - start, &list);
	WARN_ON_ONCE(!list_empty(&list));
	mutex_unlock(&mf_mutex);
	/* The pages never reached. */
	for (; i < nr; i++)
		if (pages[i])
			put_page(pages[i]);
	return ret;
}

/**
 * soft_offline_page - retire a page before it fails, keeping its data
 * @pfn: the page frame
 * @flags: ignored (MF_SOFT_OFFLINE from the report queue)
 *
 * Moves the data of an in-use page elsewhere (or drops a clean page cache
 * page nobody maps), takes a free page off the free lists, dissolves a
 * free huge page, and retires the page: PG_hwpoison, counted in
 * HardwareCorrupted, never handed out again. Nobody is signalled, no data
 * is lost; a page that cannot be moved stays as it is.
 *
 * Context: Process context; may sleep. Takes mf_mutex and the memory
 * hotplug lock for reading.
 * Return:
 * * %0 - the page is retired, or was poisoned already;
 * * %-ENXIO - @pfn has no memory map;
 * * %-EIO - @pfn is not online memory, or the page cannot be moved;
 * * %-EOPNOTSUPP - soft offline is disabled (vm.enable_soft_offline) or
 *   the injector's filters exclude the page;
 * * %-EBUSY - the page could not be isolated, split or taken off the free
 *   lists;
 * * another negative errno from migration.
 */
int soft_offline_page(unsigned long pfn, int flags)
{
	struct page *page;

	if (!pfn_valid(pfn))
		return -ENXIO;
	page = pfn_to_online_page(pfn);
	if (!page)
		return -EIO;
	return so_offline(pfn, page, false);
}

/**
 * soft_offline_held_page - soft_offline_page() on a page the caller holds
 * @page: the page; the caller holds a reference on its folio (from
 *	  get_user_pages(), say), which this consumes on every path: dropped,
 *	  or kept as the poison reference of the retired page
 *
 * Context: as soft_offline_page().
 * Return: as soft_offline_page(); -EIO for a page that is not online
 * memory (ZONE_DEVICE).
 */
int soft_offline_held_page(struct page *page)
{
	unsigned long pfn = page_to_pfn(page);

	if (!pfn_to_online_page(pfn)) {
		put_page(page);
		return -EIO;
	}
	return so_offline(pfn, page, true);
}
