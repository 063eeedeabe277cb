// SPDX-License-Identifier: GPL-2.0
/*
 * Containment of a poisoned page by its kind: out of every page table, off
 * the LRU, out of its file or the swap cache, or off the free lists, so
 * that nothing reads it or hands it out again.
 *
 * The handler's reference on a contained in-use page stays for good as its
 * poison reference: a poisoned page is never freed, and unpoison expects
 * exactly that one reference.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/backing-dev.h>
#include <linux/hugetlb.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mm_inline.h>
#include <linux/pagemap.h>
#include <linux/rmap.h>
#include <linux/shmem_fs.h>
#include <linux/swap.h>

#include "internal.h"
#include "../swap.h"

/**
 * shake_folio - flush what may hide a folio's state from memory failure
 * @folio: the folio
 *
 * A page on its way to the LRU sits in a per-CPU batch, without PG_lru,
 * until the batch is flushed. Flush every CPU's batches, so that such a
 * page looks like what it is. Nothing is done for hugetlb and slab folios,
 * which never go through the batches.
 *
 * Context: process context; may sleep.
 */
void shake_folio(struct folio *folio)
{
	if (folio_test_hugetlb(folio) || folio_test_slab(folio))
		return;
	lru_add_drain_all();
}
EXPORT_SYMBOL_GPL(shake_folio);

/**
 * mf_take_off_free - take a free page off the allocator for good
 * @page: a poisoned page that nobody holds: free, or of a free huge page
 *
 * A free huge page is dissolved first; freeing it withholds its poisoned
 * pages from the allocator, which is as good. The per-CPU free lists
 * cannot be kept empty here (dissolving may take the CPU hotplug lock,
 * which must not be taken under zone_pcp_disable()), so they are emptied
 * once and the page is taken if it is still free.
 *
 * Context: process context, mf_mutex held; may sleep.
 * Return: true if the page is off the free lists and held by its poison
 * reference; false if it could not be taken.
 */
bool mf_take_off_free(struct page *page)
{
	if (dissolve_free_hugetlb_folio(page_folio(page)))
		return false;
	drain_all_pages(page_zone(page));
	if (take_page_off_buddy(page)) {
		page_ref_inc(page);
		return true;
	}
	/*
	 * Freeing the dissolved folio withheld its poisoned pages from the
	 * allocator (free_pages_prepare()), each as take_page_off_buddy()
	 * and the reference above would have left it.
	 */
	return mf_page_taken_off(page);
}

/*
 * Is @folio a clean page of a file that is written back, so that it can be
 * dropped and read again? Its mappings may have dirtied it: their dirty
 * bits are moved to the folio first. Racy, as a page may be dirtied
 * without its lock.
 */
static bool mf_clean_file_folio(struct folio *folio,
				struct address_space *mapping)
{
	if (!mapping || !mapping_can_writeback(mapping) ||
	    folio_test_dirty(folio))
		return false;
	if (!folio_mkclean(folio))
		return true;
	folio_set_dirty(folio);
	return false;
}

/**
 * unmap_poisoned_folio - take a poisoned folio out of every page table
 * @folio: the folio, locked; a small folio or a hugetlb folio
 * @pfn: the poisoned pfn, for the log
 * @must_kill: its mappers lose their data even if it is clean
 *
 * A mapping becomes a hwpoison entry, which gets its process SIGBUS on
 * the next touch. Two kinds of page keep ordinary entries: a clean page
 * cache page, which is dropped and read again from its file (it is found
 * clean only after the dirty bits of its mappings were moved to the
 * folio), and a swap cache page, whose swap entries find it poisoned at
 * swap-in.
 *
 * Context: process context; may sleep.
 * Return: 0 if nothing maps @folio any more, -EBUSY if something does.
 */
int unmap_poisoned_folio(struct folio *folio, unsigned long pfn, bool must_kill)
{
	enum ttu_flags ttu = TTU_IGNORE_MLOCK | TTU_SYNC | TTU_HWPOISON;
	struct address_space *mapping = folio_mapping(folio);

	if (folio_test_swapcache(folio)) {
		pr_err("%#lx: keeping poisoned page in swap cache\n", pfn);
		ttu &= ~TTU_HWPOISON;
	}
	if (!must_kill && mf_clean_file_folio(folio, mapping)) {
		ttu &= ~TTU_HWPOISON;
		pr_info("%#lx: corrupted page was clean: dropped without side effects\n",
			pfn);
	}

	if (!folio_test_hugetlb(folio) || folio_test_anon(folio)) {
		try_to_unmap(folio, ttu);
		return folio_mapped(folio) ? -EBUSY : 0;
	}
	/*
	 * Unmapping a shared hugetlb folio may unshare a page table, which
	 * needs its file's i_mmap_rwsem for writing, taken here once.
	 */
	mapping = hugetlb_folio_mapping_lock_write(folio);
	if (!mapping) {
		pr_info("%#lx: could not lock mapping for mapped hugetlb folio\n",
			pfn);
		return -EBUSY;
	}
	try_to_unmap(folio, ttu | TTU_RMAP_LOCKED);
	i_mmap_unlock_write(mapping);
	return folio_mapped(folio) ? -EBUSY : 0;
}

/**
 * mf_unmap_and_kill - unmap a poisoned user page and signal who lost data
 * @t: the target
 * @folio: @t->page's folio, locked, held by the handler
 *
 * The mappers are collected before unmapping (which takes down what finds
 * them) and signalled after, by the kill policy in kill.c, if their data
 * is lost: the page was dirty, the caller said so (MF_MUST_KILL), or it
 * could not be unmapped. A page nobody maps (in the swap cache only, say)
 * costs nobody anything now: its users meet the poison when they fault.
 *
 * Context: process context, mf_mutex held; may sleep.
 * Return: false if the page is still mapped.
 */
bool mf_unmap_and_kill(struct mf_target *t, struct folio *folio)
{
	bool mlocked = folio_test_mlocked(folio);
	LIST_HEAD(victims);
	bool unmapped, lost;

	if (folio_test_reserved(folio) || folio_test_slab(folio) ||
	    folio_test_pgtable(folio) || folio_test_offline(folio))
		return true;
	if (!folio_test_lru(folio) && !folio_test_hugetlb(folio))
		return true;
	if (!folio_mapped(folio))
		return true;

	mf_collect_victims(folio, t->page, &victims,
			   t->flags & MF_ACTION_REQUIRED);
	unmapped = !unmap_poisoned_folio(folio, t->pfn,
					 t->flags & MF_MUST_KILL);
	if (!unmapped)
		pr_err("%#lx: failed to unmap page (folio mapcount=%d)\n",
		       t->pfn, folio_mapcount(folio));
	/* Unmapping puts an mlocked page back through an LRU batch. */
	if (mlocked)
		shake_folio(folio);
	lost = folio_test_dirty(folio) || (t->flags & MF_MUST_KILL) ||
	       !unmapped;
	mf_signal_victims(&victims, lost, t->pfn, t->flags);
	return unmapped;
}

/*
 * Take a poisoned folio off the LRU for good. Its last reference may never
 * go, so its memory cgroup lets go of it now, and the flags the allocator
 * would refuse go too, should unpoison ever free it.
 */
static bool mf_leave_lru(struct folio *folio)
{
	if (!folio_isolate_lru(folio))
		return false;
	folio_clear_active(folio);
	folio_clear_unevictable(folio);
	mem_cgroup_uncharge(folio);
	/* The isolation's reference; the handler's stays. */
	folio_put(folio);
	return true;
}

/* Take a clean, or cleaned, folio out of its file. */
static enum mf_result mf_leave_file(struct folio *folio, unsigned long pfn,
				    struct address_space *mapping)
{
	int err;

	if (!mapping->a_ops->error_remove_folio) {
		/* Fails for a dirty folio, or one with private data. */
		if (mapping_evict_folio(mapping, folio))
			return MF_RECOVERED;
		pr_info("%#lx: Failed to invalidate\n", pfn);
		return MF_FAILED;
	}
	err = mapping->a_ops->error_remove_folio(mapping, folio);
	if (err) {
		pr_info("%#lx: Failed to punch page: %d\n", pfn, err);
		return MF_FAILED;
	}
	if (!filemap_release_folio(folio, GFP_NOIO)) {
		pr_info("%#lx: failed to release buffers\n", pfn);
		return MF_FAILED;
	}
	return MF_RECOVERED;
}

/*
 * Does anyone but the handler (and, with @in_cache, the page cache, one
 * reference per page of the folio) still hold @page?
 */
static bool mf_still_held(struct mf_target *t, struct folio *folio,
			  enum mf_action_page_type type, bool in_cache)
{
	int others = page_count(t->page) - 1;

	if (in_cache)
		others -= folio_nr_pages(folio);
	if (others <= 0)
		return false;
	pr_err("%#lx: %s still referenced by %d users\n", t->pfn,
	       mf_page_type_name(type), others);
	return true;
}

/*
 * An LRU page, anonymous or of a file. An anonymous page is done once off
 * the LRU. A file page is taken out of its file: a clean one is read again
 * from disk; a dirty one's loss is reported to the file's writers (EIO
 * from write() and fsync()). shmem keeps the page in its file, where it
 * answers later reads with EIO.
 */
static enum mf_result mf_contain_lru(struct mf_target *t, struct folio *folio,
				     enum mf_action_page_type type, bool dirty)
{
	struct address_space *mapping = folio_mapping(folio);
	enum mf_result res = MF_RECOVERED;
	bool in_cache;

	if (dirty && mapping)
		mapping_set_error(mapping, -EIO);
	mf_leave_lru(folio);
	if (folio_test_anon(folio))
		goto out;
	mapping = folio_mapping(folio);
	if (!mapping) {
		/* Truncated meanwhile: its file does not know it. */
		res = MF_FAILED;
		goto out;
	}
	in_cache = shmem_mapping(mapping);
	res = mf_leave_file(folio, t->pfn, mapping);
	if (mf_still_held(t, folio, type, in_cache))
		res = MF_FAILED;
out:
	folio_unlock(folio);
	return res;
}

/*
 * A dirty swap cache page stays in the swap cache, where the swap entries
 * of its mappers find it poisoned when they fault, and is never written
 * out; shmem reads of it fail with EIO. A clean one leaves the swap cache:
 * swap-in reads the good copy from the swap device.
 */
static enum mf_result mf_contain_swap(struct mf_target *t,
				      struct folio *folio,
				      enum mf_action_page_type type, bool dirty)
{
	enum mf_result res;

	if (dirty) {
		folio_clear_dirty(folio);
		folio_clear_uptodate(folio);
	} else {
		delete_from_swap_cache(folio);
	}
	if (!mf_leave_lru(folio))
		res = MF_FAILED;
	else if (dirty)
		res = MF_DELAYED;
	else
		res = MF_RECOVERED;
	folio_unlock(folio);
	if (mf_still_held(t, folio, type, res == MF_DELAYED))
		res = MF_FAILED;
	return res;
}

/*
 * A hugetlb page. A hugetlbfs file keeps it (reads stop at the bad page).
 * An anonymous one is unmapped, so it is freed when the handler lets go,
 * and dissolved: its good pages go back to the allocator.
 */
static enum mf_result mf_contain_huge(struct mf_target *t, struct folio *folio,
				      enum mf_action_page_type type)
{
	struct address_space *mapping = folio_mapping(folio);
	enum mf_result res;

	if (mapping) {
		res = mf_leave_file(folio, t->pfn, mapping);
		folio_unlock(folio);
		if (mf_still_held(t, folio, type, true))
			res = MF_FAILED;
		return res;
	}
	folio_unlock(folio);
	mf_target_put(t);
	res = mf_take_off_free(t->page) ? MF_RECOVERED : MF_FAILED;
	if (mf_still_held(t, folio, type, false))
		res = MF_FAILED;
	return res;
}

/**
 * mf_contain - contain a claimed, held page by its kind, and book the result
 * @t: the target, claimed and held
 * @folio: @t->page's folio, locked; unlocked on return
 * @before: @folio's flags before it was unmapped
 *
 * Context: process context, mf_mutex held; may sleep.
 * Return: as mf_action_result() for the page's kind and what was done.
 */
int mf_contain(struct mf_target *t, struct folio *folio, unsigned long before)
{
	enum mf_action_page_type type;
	enum mf_result res;

	type = mf_classify(before | (folio->flags & BIT(PG_dirty)));
	/*
	 * Off the LRU when the flags were saved (isolated by reclaim, or
	 * between munlock's clearing and setting of its flags), and back
	 * on it now: what it is now is all there is to go by.
	 */
	if (type == MF_MSG_UNKNOWN)
		type = mf_classify(folio->flags);
	switch (type) {
	case MF_MSG_HUGE:
		res = mf_contain_huge(t, folio, type);
		break;
	case MF_MSG_DIRTY_SWAPCACHE:
	case MF_MSG_CLEAN_SWAPCACHE:
		res = mf_contain_swap(t, folio, type,
				      type == MF_MSG_DIRTY_SWAPCACHE);
		break;
	case MF_MSG_DIRTY_MLOCKED_LRU:
	case MF_MSG_DIRTY_UNEVICTABLE_LRU:
	case MF_MSG_DIRTY_LRU:
		res = mf_contain_lru(t, folio, type, true);
		break;
	case MF_MSG_CLEAN_MLOCKED_LRU:
	case MF_MSG_CLEAN_UNEVICTABLE_LRU:
	case MF_MSG_CLEAN_LRU:
		res = mf_contain_lru(t, folio, type, false);
		break;
	case MF_MSG_UNKNOWN:
		pr_err("%#lx: Unknown page state\n", t->pfn);
		fallthrough;
	default:
		/* A kernel page: nothing to do but hope it is not read. */
		folio_unlock(folio);
		res = MF_IGNORED;
		break;
	}
	return mf_action_result(t->pfn, type, res);
}
