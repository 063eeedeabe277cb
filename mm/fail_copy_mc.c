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
 * task-filter) choose when; "pfn" narrows it to copies from one source
 * page, which is what a real error does: every read of that page fails.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/highmem.h>
#include <linux/init.h>

static struct {
	struct fault_attr attr;
	/* Fail only copies from this pfn; 0 (never a user page): any. */
	unsigned long pfn;
} fail_copy_mc = {
	.attr = FAULT_ATTR_INITIALIZER,
};

static int __init setup_fail_copy_mc(char *str)
{
	return setup_fault_attr(&fail_copy_mc.attr, str);
}
__setup("fail_copy_mc=", setup_fail_copy_mc);

/**
 * should_fail_copy_mc - should this machine-check-safe page copy fail?
 * @from: the source page of the copy
 *
 * Return: true if the copy must behave as if reading @from raised a
 * machine check.
 */
bool should_fail_copy_mc(struct page *from)
{
	unsigned long pfn = READ_ONCE(fail_copy_mc.pfn);

	if (pfn && page_to_pfn(from) != pfn)
		return false;
	return should_fail(&fail_copy_mc.attr, PAGE_SIZE);
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
	return 0;
}
late_initcall(fail_copy_mc_debugfs);
#endif
