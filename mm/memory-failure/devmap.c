// SPDX-License-Identifier: GPL-2.0
/*
 * Memory failure in ZONE_DEVICE memory: persistent memory mapped through
 * fsdax or device-dax. It is not online memory: there is no LRU, no free
 * list to take a page off and no second copy of the data. A poisoned pfn
 * is flagged, every mapping of it is torn down (the device-dax fault
 * handler refuses to map it again) and the processes that must hear of it
 * at once are signalled: the early-kill ones and the one that consumed
 * the error. A filesystem that owns the pfn (fsdax) is asked first,
 * through the device's pagemap operations; it finds the files and calls
 * back mf_dax_kill_procs().
 *
 * A device-dax folio (dev_dax->align bytes, mapped whole) is the unit of
 * loss: its head carries PG_hwpoison for any poisoned page in it. Tails
 * are never flagged: with the vmemmap optimisation most tails share their
 * struct pages, and a flag set on one would show on many pfns.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/dax.h>
#include <linux/export.h>
#include <linux/list.h>
#include <linux/memremap.h>
#include <linux/mm.h>

#include "internal.h"

/*
 * No filesystem took the report (device-dax, fsdax whose filesystem cannot,
 * other device memory): flag the folio, take every mapping of it away and
 * signal who must hear now.
 * Return: 0, -EOPNOTSUPP if the injector's filters skip the page, -EBUSY if
 * the file behind a non-device-dax page could not be pinned.
 */
static int mf_devmap_contain(unsigned long pfn, int flags,
			     struct dev_pagemap *pgmap)
{
	struct folio *folio = pfn_folio(pfn);
	dax_entry_t cookie = 0;
	LIST_HEAD(victims);
	int ret = 0;

	/*
	 * A device-dax folio's mapping is the device's, kept by the pagemap
	 * reference; a folio never faulted in has none and nobody maps it.
	 * Any other folio is pinned to its file by the dax entry lock.
	 */
	if (pgmap->type != MEMORY_DEVICE_GENERIC) {
		cookie = dax_lock_folio(folio);
		if (!cookie)
			return -EBUSY;
	}
	if (hwpoison_filter(&folio->page)) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	SetPageHWPoison(&folio->page);
	if (folio->mapping) {
		/* Nothing can be paged in instead: the data is lost. */
		flags |= MF_ACTION_REQUIRED | MF_MUST_KILL;
		mf_collect_victims(folio, &folio->page, &victims, true);
		mf_unmap_dax_and_signal(&victims, pfn, folio->mapping,
					folio->index, folio_size(folio), flags);
	}
out:
	if (cookie)
		dax_unlock_folio(folio, cookie);
	return ret;
}

/**
 * mf_handle_devmap - handle a memory failure in ZONE_DEVICE memory
 * @pfn: the poisoned pfn
 * @flags: the report's MF_* flags
 * @pgmap: @pfn's pagemap; the caller's reference is consumed on all paths
 *
 * A pfn of the device's own metadata (its info block, the memory map of
 * its pages) is mapped by nobody and has no initialised struct page: it is
 * refused, and nothing is counted for it; so is device-private and
 * device-coherent memory. A pfn reported before, or in a device-dax folio
 * reported before, is not handled or counted again; an action-required
 * report of it signals the current thread if it still maps the pfn.
 *
 * Context: process context, mf_mutex held.
 * Return: 0 if contained; -EHWPOISON if already poisoned (for an
 * action-required report: if the current thread was signalled, 0 if it
 * does not map the pfn); -EOPNOTSUPP if the injector's filters skip it;
 * -ENXIO for metadata, device-private or device-coherent memory; -EFAULT
 * for an action-required report from a kernel thread; another errno if the
 * filesystem or the dax entry lock failed.
 */
int mf_handle_devmap(unsigned long pfn, int flags, struct dev_pagemap *pgmap)
{
	struct page *page;
	int ret;

	lockdep_assert_held(&mf_mutex);
	if (!pgmap_pfn_valid(pgmap, pfn)) {
		put_dev_pagemap(pgmap);
		pr_err("%#lx: device metadata, not memory in use: refused\n",
		       pfn);
		return -ENXIO;
	}
	/* Memory only the device reaches: the device's business. */
	if (pgmap->type == MEMORY_DEVICE_PRIVATE ||
	    pgmap->type == MEMORY_DEVICE_COHERENT) {
		put_dev_pagemap(pgmap);
		return -ENXIO;
	}
	page = pfn_to_page(pfn);
	if (PageHWPoison(page) || PageHWPoison(compound_head(page))) {
		ret = -EHWPOISON;
		if (flags & MF_ACTION_REQUIRED)
			ret = mf_kill_accessing(pfn, flags);
		mf_action_result(pfn, MF_MSG_ALREADY_POISONED, MF_FAILED);
		put_dev_pagemap(pgmap);
		return ret;
	}

	ret = -EOPNOTSUPP;
	if (pgmap_has_memory_failure(pgmap))
		ret = pgmap->ops->memory_failure(pgmap, pfn, 1, flags);
	/* The owner cannot handle it: do what can be done without it. */
	if (ret == -EOPNOTSUPP)
		ret = mf_devmap_contain(pfn, flags, pgmap);
	/* Booked while the pagemap, and with it the struct page, is held. */
	if (ret != -EOPNOTSUPP)
		mf_action_result(pfn, MF_MSG_DAX,
				 ret ? MF_FAILED : MF_RECOVERED);
	put_dev_pagemap(pgmap);
	return ret;
}

#ifdef CONFIG_FS_DAX
/**
 * mf_dax_kill_procs - unmap a poisoned fsdax file range and kill its users
 * @mapping: the file's mapping
 * @index: the first page offset of the range in the file
 * @count: the number of pages in the range
 * @mf_flags: the report's MF_* flags; with MF_MEM_PRE_REMOVE the device is
 *	      going away: the pages are not poisoned, but every mapper loses
 *	      them and is signalled
 *
 * A filesystem that found the files behind a poisoned pfn calls this for
 * each range. Pages of the range that are not in the file are skipped.
 *
 * Context: process context, may sleep.
 * Return: 0, or -EBUSY if a dax entry could not be locked (the pages before
 * it are handled).
 */
int mf_dax_kill_procs(struct address_space *mapping, pgoff_t index,
		      unsigned long count, int mf_flags)
{
	bool pre_remove = mf_flags & MF_MEM_PRE_REMOVE;
	pgoff_t end = index + count;
	LIST_HEAD(victims);

	mf_flags |= MF_ACTION_REQUIRED | MF_MUST_KILL;
	while (index < end) {
		struct page *page = NULL;
		dax_entry_t cookie;

		/* The entry's lock keeps the page in the file meanwhile. */
		cookie = dax_lock_mapping_entry(mapping, index, &page);
		if (!cookie)
			return -EBUSY;
		if (page) {
			/* A device going away still holds good data. */
			if (!pre_remove)
				SetPageHWPoison(page);
			mf_collect_fsdax_victims(page, mapping, index,
						 &victims, pre_remove);
			mf_unmap_dax_and_signal(&victims, page_to_pfn(page),
						mapping, index, PAGE_SIZE,
						mf_flags);
		}
		dax_unlock_mapping_entry(mapping, index++, cookie);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(mf_dax_kill_procs);
#endif /* CONFIG_FS_DAX */
