// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection for machine-check-safe page copies.
 *
 * Kernel agents that copy user pages on their own (khugepaged collapse,
 * copy-on-write, KSM, migration) use copy_mc_user_highpage() and
 * copy_mc_highpage() so that an uncorrectable error in the source page
 * costs them the copy and not the machine. Without faulty hardware those
 * error paths never run. This makes a chosen copy fail the way a machine
 * check in the source would: nothing is copied and the caller sees the
 * error, reports the source pfn and unwinds.
 *
 * The usual fault_attr knobs (probability, interval, times, space,
 * task-filter) choose when; "pfn" and "nr_pfns" choose which pages, and
 * nothing fails until "pfn" is set (through debugfs: fail_copy_mc= on the
 * command line sets the rest). A failure is handled as a real error
 * would be: the page is retired for good, so it must never fall on a
 * page that nobody chose. To aim elsewhere, write 0 to "pfn" first.
 */
#include <linux/debugfs.h>
#include <linux/error-injection.h>
#include <linux/fault-inject.h>
#include <linux/init.h>
#include <linux/mm.h>

static struct {
	struct fault_attr attr;
	/* Reads of pfn to pfn + nr_pfns - 1 may fail; pfn 0: none may. */
	unsigned long pfn;
	unsigned long nr_pfns;
} fail_copy_mc = {
	.attr = FAULT_ATTR_INITIALIZER,
	.nr_pfns = 1,
};

static int __init setup_fail_copy_mc(char *str)
{
	return setup_fault_attr(&fail_copy_mc.attr, str);
}
__setup("fail_copy_mc=", setup_fail_copy_mc);

/*
 * The part that error injection (fail_function, BPF) may override: it is
 * only reached for the pages chosen, so an override cannot retire others.
 */
static noinline bool fail_copy_mc_chosen(struct page *from, size_t size)
{
	return should_fail(&fail_copy_mc.attr, size);
}
ALLOW_ERROR_INJECTION(fail_copy_mc_chosen, TRUE);

/**
 * should_fail_copy_mc - should this machine-check-safe read of a page fail?
 * @from: the page being read
 * @size: how many bytes of it the read covers
 *
 * Called once per page read, whatever the reader's own granularity, so
 * that the interval, times and space attributes count reads and bytes.
 *
 * Return: true if the read must behave as if it raised a machine check.
 */
bool should_fail_copy_mc(struct page *from, size_t size)
{
	unsigned long first = READ_ONCE(fail_copy_mc.pfn);
	unsigned long pfn = page_to_pfn(from);

	if (!first || pfn < first ||
	    pfn - first >= READ_ONCE(fail_copy_mc.nr_pfns))
		return false;
	return fail_copy_mc_chosen(from, size);
}

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
static int __init fail_copy_mc_debugfs(void)
{
	struct dentry *dir;

	dir = fault_create_debugfs_attr("fail_copy_mc", NULL,
					&fail_copy_mc.attr);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	debugfs_create_ulong("pfn", 0600, dir, &fail_copy_mc.pfn);
	debugfs_create_ulong("nr_pfns", 0600, dir, &fail_copy_mc.nr_pfns);
	return 0;
}
late_initcall(fail_copy_mc_debugfs);
#endif
