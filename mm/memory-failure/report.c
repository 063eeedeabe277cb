// SPDX-License-Identifier: GPL-2.0
/*
 * The one way a handled memory failure is made known: the kernel log line
 * operators grep for, HardwareCorrupted, the memory block's and the NUMA
 * node's counters, and the ras:memory_failure_event tracepoint. Handlers
 * decide; mf_action_result() tells.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/device.h>
#include <linux/memory.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/sysfs.h>
#include <kunit/visibility.h>
#include <ras/ras_event.h>

#include "internal.h"

atomic_long_t num_poisoned_pages __read_mostly = ATOMIC_LONG_INIT(0);

/*
 * As the kernel log has always named them. What each result means:
 * Ignored - marked, but nothing more could be done, not even keeping it
 *	     from being accessed again; Failed - marked, but it could not be
 *	     isolated (pinned, unmapping failed); Delayed - unmapped and out of
 *	     the page cache or LRU, the next access faults and kills;
 *	     Recovered - fully isolated: unmapped, off the free lists, or cut
 *	     out of its file.
 */
static const char * const mf_result_names[] = {
	[MF_IGNORED]	= "Ignored",
	[MF_FAILED]	= "Failed",
	[MF_DELAYED]	= "Delayed",
	[MF_RECOVERED]	= "Recovered",
};

static_assert(ARRAY_SIZE(mf_result_names) == MF_RECOVERED + 1);

static const char * const mf_page_type_names[] = {
	[MF_MSG_KERNEL]			= "reserved kernel page",
	[MF_MSG_KERNEL_HIGH_ORDER]	= "high-order kernel page",
	[MF_MSG_DIFFERENT_COMPOUND]	= "different compound page",
	[MF_MSG_HUGE]			= "huge page",
	[MF_MSG_FREE_HUGE]		= "free huge page",
	[MF_MSG_GET_HWPOISON]		= "get hwpoison page",
	[MF_MSG_UNMAP_FAILED]		= "unmapping failed page",
	[MF_MSG_DIRTY_SWAPCACHE]	= "dirty swapcache page",
	[MF_MSG_CLEAN_SWAPCACHE]	= "clean swapcache page",
	[MF_MSG_DIRTY_MLOCKED_LRU]	= "dirty mlocked LRU page",
	[MF_MSG_CLEAN_MLOCKED_LRU]	= "clean mlocked LRU page",
	[MF_MSG_DIRTY_UNEVICTABLE_LRU]	= "dirty unevictable LRU page",
	[MF_MSG_CLEAN_UNEVICTABLE_LRU]	= "clean unevictable LRU page",
	[MF_MSG_DIRTY_LRU]		= "dirty LRU page",
	[MF_MSG_CLEAN_LRU]		= "clean LRU page",
	[MF_MSG_TRUNCATED_LRU]		= "already truncated LRU page",
	[MF_MSG_BUDDY]			= "free buddy page",
	[MF_MSG_DAX]			= "dax page",
	[MF_MSG_UNSPLIT_THP]		= "unsplit thp",
	[MF_MSG_ALREADY_POISONED]	= "already poisoned page",
	[MF_MSG_UNKNOWN]		= "unknown page",
};

static_assert(ARRAY_SIZE(mf_page_type_names) == MF_MSG_UNKNOWN + 1);

/**
 * mf_page_type_name - what the kernel log calls a page type
 * @type: the page type
 *
 * Context: Any context.
 * Return: a constant string.
 */
const char *mf_page_type_name(enum mf_action_page_type type)
{
	return mf_page_type_names[type];
}

/**
 * num_poisoned_pages_inc - count one more poisoned page
 * @pfn: the page frame
 *
 * HardwareCorrupted in /proc/meminfo and the count of its memory block,
 * which refuses to come back online once offline while that count is not
 * zero.
 *
 * Context: Any context.
 */
void num_poisoned_pages_inc(unsigned long pfn)
{
	atomic_long_inc(&num_poisoned_pages);
	memblk_nr_poison_inc(pfn);
}

/**
 * num_poisoned_pages_sub - count poisoned pages no more
 * @pfn: the page frame of the pages, or -1UL when their memory block is
 *	 going away and keeps its own count no longer
 * @nr: how many
 *
 * Context: Any context.
 */
void num_poisoned_pages_sub(unsigned long pfn, long nr)
{
	atomic_long_sub(nr, &num_poisoned_pages);
	if (pfn != -1UL)
		memblk_nr_poison_sub(pfn, nr);
}

/* The per-node counter of @result; mf_mutex serialises its writers. */
static void count_node_result(unsigned long pfn, enum mf_result result)
{
	struct memory_failure_stats *st;
	int nid = pfn_to_nid(pfn);

	if (nid < 0 || nid >= MAX_NUMNODES || !NODE_DATA(nid)) {
		pr_warn_once("%#lx: invalid nid %d, not counted per node\n",
			     pfn, nid);
		return;
	}
	st = &NODE_DATA(nid)->mf_stats;
	WRITE_ONCE(st->total, st->total + 1);
	switch (result) {
	case MF_IGNORED:
		WRITE_ONCE(st->ignored, st->ignored + 1);
		break;
	case MF_FAILED:
		WRITE_ONCE(st->failed, st->failed + 1);
		break;
	case MF_DELAYED:
		WRITE_ONCE(st->delayed, st->delayed + 1);
		break;
	case MF_RECOVERED:
		WRITE_ONCE(st->recovered, st->recovered + 1);
		break;
	}
}

/**
 * mf_count_result - count the outcome of a memory failure
 * @pfn: the page frame with the error
 * @type: what the page was found to be
 * @result: what handling it came to
 *
 * Unless the page was poisoned already, counts it in HardwareCorrupted,
 * in its memory block and in its node's counters (total and that of
 * @result).
 *
 * Context: Process context, mf_mutex held.
 */
VISIBLE_IF_KUNIT void mf_count_result(unsigned long pfn,
				      enum mf_action_page_type type,
				      enum mf_result result)
{
	lockdep_assert_held(&mf_mutex);
	if (type == MF_MSG_ALREADY_POISONED)
		return;
	num_poisoned_pages_inc(pfn);
	count_node_result(pfn, result);
}
EXPORT_SYMBOL_IF_KUNIT(mf_count_result);

/**
 * mf_action_result - make the outcome of a memory failure known
 * @pfn: the page frame with the error
 * @type: what the page was found to be
 * @result: what handling it came to
 *
 * Traces the event, logs "<pfn>: recovery action for <type>: <result>",
 * and, unless the page was poisoned already, counts it in
 * HardwareCorrupted, in its memory block and in its node's counters
 * (total and that of @result). A second report of a page is traced and
 * logged but not counted again.
 *
 * Context: Process context, mf_mutex held.
 * Return: 0 if the page is contained (@result MF_RECOVERED or MF_DELAYED),
 * -EBUSY if not.
 */
int mf_action_result(unsigned long pfn, enum mf_action_page_type type,
		     enum mf_result result)
{
	trace_memory_failure_event(pfn, type, result);
	mf_count_result(pfn, type, result);
	pr_err("%#lx: recovery action for %s: %s\n", pfn,
	       mf_page_type_names[type], mf_result_names[result]);
	return result == MF_RECOVERED || result == MF_DELAYED ? 0 : -EBUSY;
}

/* The counter files read every field as an unsigned long. */
static_assert(sizeof_field(struct memory_failure_stats, total) ==
	      sizeof(unsigned long));

/* A node's counter file: the attribute and where its value lives. */
struct mf_stat_attr {
	struct device_attribute attr;
	size_t offset;
};

static ssize_t mf_stat_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	struct mf_stat_attr *sa = container_of(attr, struct mf_stat_attr, attr);
	void *stats = &NODE_DATA(dev->id)->mf_stats;

	return sysfs_emit(buf, "%lu\n",
			  READ_ONCE(*(unsigned long *)(stats + sa->offset)));
}

#define MF_STAT_AT(field)	offsetof(struct memory_failure_stats, field)

static struct mf_stat_attr mf_stat_attrs[] = {
	{ __ATTR(total, 0444, mf_stat_show, NULL), MF_STAT_AT(total) },
	{ __ATTR(ignored, 0444, mf_stat_show, NULL), MF_STAT_AT(ignored) },
	{ __ATTR(failed, 0444, mf_stat_show, NULL), MF_STAT_AT(failed) },
	{ __ATTR(delayed, 0444, mf_stat_show, NULL), MF_STAT_AT(delayed) },
	{ __ATTR(recovered, 0444, mf_stat_show, NULL), MF_STAT_AT(recovered) },
};

static struct attribute *mf_stat_attr_list[] = {
	&mf_stat_attrs[0].attr.attr,
	&mf_stat_attrs[1].attr.attr,
	&mf_stat_attrs[2].attr.attr,
	&mf_stat_attrs[3].attr.attr,
	&mf_stat_attrs[4].attr.attr,
	NULL,
};

static_assert(ARRAY_SIZE(mf_stat_attr_list) == ARRAY_SIZE(mf_stat_attrs) + 1);

/* /sys/devices/system/node/node<N>/memory_failure/, for drivers/base/node.c */
const struct attribute_group memory_failure_attr_group = {
	.name = "memory_failure",
	.attrs = mf_stat_attr_list,
};
