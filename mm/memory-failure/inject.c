// SPDX-License-Identifier: GPL-2.0
/*
 * The hwpoison-inject module: debugfs files under hwpoison/ that report a
 * memory failure on any pfn, unpoison it again, and set the filters that
 * keep such reports to the pages a test owns. For testing only: a report
 * made here is handled exactly as one from the hardware.
 */
#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "internal.h"

static struct dentry *inject_dir;

/*
 * A filtered-out page is skipped quietly, before memory_failure() sees it:
 * with the filters on, only pages on the LRU, hugetlb pages and free pages
 * can be told apart, so anything else is never the page a test meant.
 */
static bool inject_skips(struct page *page)
{
	struct folio *folio = page_folio(page);

	if (!READ_ONCE(mf_filter.enable))
		return false;
	/* Let the per-CPU LRU batches show whether the page is on the LRU. */
	shake_folio(folio);
	if (!folio_test_lru(folio) && !folio_test_hugetlb(folio) &&
	    !is_free_buddy_page(page))
		return true;
	return hwpoison_filter(page);
}

static int inject_corrupt_pfn(void *data, u64 val)
{
	unsigned long pfn = val;
	int err;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!pfn_valid(pfn))
		return -ENXIO;
	if (inject_skips(pfn_to_page(pfn)))
		return 0;

	/* No prefix, as this line has always been logged. */
	pr_info("Injecting memory failure at pfn %#lx\n", pfn);
	err = memory_failure(pfn, MF_SW_SIMULATED);
	/* The handler's own look at the filters: still a success here. */
	return err == -EOPNOTSUPP ? 0 : err;
}

static int inject_unpoison_pfn(void *data, u64 val)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return unpoison_memory(val);
}

DEFINE_DEBUGFS_ATTRIBUTE(corrupt_fops, NULL, inject_corrupt_pfn, "%lli\n");
DEFINE_DEBUGFS_ATTRIBUTE(unpoison_fops, NULL, inject_unpoison_pfn, "%lli\n");

static int __init inject_init(void)
{
	struct dentry *d = debugfs_create_dir("hwpoison", NULL);

	debugfs_create_file_unsafe("corrupt-pfn", 0200, d, NULL,
				   &corrupt_fops);
	debugfs_create_file_unsafe("unpoison-pfn", 0200, d, NULL,
				   &unpoison_fops);
	debugfs_create_u32("corrupt-filter-enable", 0600, d,
			   &mf_filter.enable);
	debugfs_create_u32("corrupt-filter-dev-major", 0600, d,
			   &mf_filter.dev_major);
	debugfs_create_u32("corrupt-filter-dev-minor", 0600, d,
			   &mf_filter.dev_minor);
	debugfs_create_u64("corrupt-filter-flags-mask", 0600, d,
			   &mf_filter.flags_mask);
	debugfs_create_u64("corrupt-filter-flags-value", 0600, d,
			   &mf_filter.flags_value);
	if (IS_ENABLED(CONFIG_MEMCG))
		debugfs_create_u64("corrupt-filter-memcg", 0600, d,
				   &mf_filter.memcg);
	inject_dir = d;
	return 0;
}

static void __exit inject_exit(void)
{
	/*
	 * Nobody is left to turn them off: the filters go with the files,
	 * once no write to them can be in flight.
	 */
	debugfs_remove_recursive(inject_dir);
	WRITE_ONCE(mf_filter.enable, 0);
}

module_init(inject_init);
module_exit(inject_exit);
MODULE_DESCRIPTION("Software injection of memory failures, for testing");
MODULE_LICENSE("GPL");
