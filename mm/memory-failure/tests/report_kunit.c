// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the reporting path: what mf_action_result() returns and
 * traces (seen through a probe on ras:memory_failure_event), and what
 * mf_count_result() counts, and does not count for a page reported again.
 *
 * The reports name a page of the kernel image, which no allocation ever
 * hands out: its log lines can never be taken for another test's. Each
 * case books and checks under one hold of mf_mutex, then takes back
 * exactly what it added, so real reports meanwhile keep their counts.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <ras/ras_event.h>

#include "../internal.h"

struct seen_event {
	int count;
	unsigned long pfn;
	int type;
	int result;
};

static void probe_event(void *data, unsigned long pfn, int type, int result)
{
	struct seen_event *seen = data;

	seen->count++;
	seen->pfn = pfn;
	seen->type = type;
	seen->result = result;
}

/* A pfn in the kernel image: reserved, never free, on a real node. */
static unsigned long image_pfn(void)
{
	static const int anchor;

	return PHYS_PFN(__pa_symbol(&anchor));
}

static struct memory_failure_stats *node_stats(unsigned long pfn)
{
	return &NODE_DATA(pfn_to_nid(pfn))->mf_stats;
}

/* Take back one count of @result booked for @pfn. mf_mutex held. */
static void uncount(unsigned long pfn, enum mf_result result)
{
	struct memory_failure_stats *st = node_stats(pfn);
	unsigned long *field[] = {
		[MF_IGNORED] = &st->ignored,
		[MF_FAILED] = &st->failed,
		[MF_DELAYED] = &st->delayed,
		[MF_RECOVERED] = &st->recovered,
	};

	num_poisoned_pages_sub(pfn, 1);
	WRITE_ONCE(st->total, st->total - 1);
	WRITE_ONCE(*field[result], *field[result] - 1);
}

/* Each result: the one counter that moves, with total and the page. */
static void count_each_result(struct kunit *test)
{
	unsigned long pfn = image_pfn();
	struct memory_failure_stats *st = node_stats(pfn);
	struct memory_failure_stats b;
	enum mf_result result;
	long poisoned;

	for (result = MF_IGNORED; result <= MF_RECOVERED; result++) {
		mutex_lock(&mf_mutex);
		b = *st;
		poisoned = atomic_long_read(&num_poisoned_pages);
		mf_count_result(pfn, MF_MSG_KERNEL, result);
		KUNIT_EXPECT_EQ(test, poisoned + 1,
				atomic_long_read(&num_poisoned_pages));
		KUNIT_EXPECT_EQ(test, b.total + 1, st->total);
		KUNIT_EXPECT_EQ(test, b.ignored + (result == MF_IGNORED),
				st->ignored);
		KUNIT_EXPECT_EQ(test, b.failed + (result == MF_FAILED),
				st->failed);
		KUNIT_EXPECT_EQ(test, b.delayed + (result == MF_DELAYED),
				st->delayed);
		KUNIT_EXPECT_EQ(test, b.recovered + (result == MF_RECOVERED),
				st->recovered);
		uncount(pfn, result);
		mutex_unlock(&mf_mutex);
	}
}

/* A page reported again is counted nowhere. */
static void count_already_poisoned(struct kunit *test)
{
	unsigned long pfn = image_pfn();
	struct memory_failure_stats *st = node_stats(pfn);
	struct memory_failure_stats b;
	long poisoned;

	mutex_lock(&mf_mutex);
	b = *st;
	poisoned = atomic_long_read(&num_poisoned_pages);
	mf_count_result(pfn, MF_MSG_ALREADY_POISONED, MF_FAILED);
	KUNIT_EXPECT_EQ(test, poisoned, atomic_long_read(&num_poisoned_pages));
	KUNIT_EXPECT_EQ(test, 0, memcmp(&b, st, sizeof(b)));
	mutex_unlock(&mf_mutex);
}

/*
 * The whole path, for a repeated report (which counts nothing, so there
 * is nothing to take back): its return value and one trace event.
 */
static void report_traced(struct kunit *test)
{
	struct seen_event seen = {};
	unsigned long pfn = image_pfn();
	int ret;

	if (!IS_ENABLED(CONFIG_TRACEPOINTS))
		kunit_skip(test, "needs CONFIG_TRACEPOINTS");
	KUNIT_ASSERT_EQ(test, 0,
			register_trace_memory_failure_event(probe_event, &seen));

	mutex_lock(&mf_mutex);
	ret = mf_action_result(pfn, MF_MSG_ALREADY_POISONED, MF_FAILED);
	mutex_unlock(&mf_mutex);
	unregister_trace_memory_failure_event(probe_event, &seen);
	tracepoint_synchronize_unregister();

	KUNIT_EXPECT_EQ(test, -EBUSY, ret);
	KUNIT_EXPECT_EQ(test, 1, seen.count);
	KUNIT_EXPECT_EQ(test, pfn, seen.pfn);
	KUNIT_EXPECT_EQ(test, MF_MSG_ALREADY_POISONED, seen.type);
	KUNIT_EXPECT_EQ(test, MF_FAILED, seen.result);
}

/* Contained (recovered, delayed) is 0, anything else -EBUSY. */
static void report_return_values(struct kunit *test)
{
	static const int want[] = {
		[MF_IGNORED] = -EBUSY,
		[MF_FAILED] = -EBUSY,
		[MF_DELAYED] = 0,
		[MF_RECOVERED] = 0,
	};
	unsigned long pfn = image_pfn();
	enum mf_result result;
	int ret;

	for (result = MF_IGNORED; result <= MF_RECOVERED; result++) {
		mutex_lock(&mf_mutex);
		ret = mf_action_result(pfn, MF_MSG_KERNEL, result);
		uncount(pfn, result);
		mutex_unlock(&mf_mutex);
		KUNIT_EXPECT_EQ(test, want[result], ret);
	}
}

/* Every page type has a name for the log. */
static void report_page_type_names(struct kunit *test)
{
	int t;

	for (t = 0; t <= MF_MSG_UNKNOWN; t++)
		KUNIT_EXPECT_NOT_NULL(test, mf_page_type_name(t));
	KUNIT_EXPECT_STREQ(test, "free buddy page",
			   mf_page_type_name(MF_MSG_BUDDY));
	KUNIT_EXPECT_STREQ(test, "dirty LRU page",
			   mf_page_type_name(MF_MSG_DIRTY_LRU));
}

static struct kunit_case report_cases[] = {
	KUNIT_CASE(count_each_result),
	KUNIT_CASE(count_already_poisoned),
	KUNIT_CASE(report_traced),
	KUNIT_CASE(report_return_values),
	KUNIT_CASE(report_page_type_names),
	{}
};

static struct kunit_suite report_suite = {
	.name = "memory_failure_report",
	.test_cases = report_cases,
};

kunit_test_suite(report_suite);

MODULE_DESCRIPTION("KUnit tests for memory failure reporting");
MODULE_LICENSE("GPL");
