// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of mf_action_result(), the one reporting path: what it
 * returns, what it counts (and what a second report of a page does not),
 * and the ras:memory_failure_event it emits, seen through a probe.
 *
 * The reports name a page the test allocated and is never poisoned; the
 * counters they move are put back before each case ends.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
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

struct report_ctx {
	struct page *page;
	unsigned long pfn;
	struct memory_failure_stats *stats;
	struct memory_failure_stats saved;
	long poisoned;
	struct seen_event seen;
};

static int report_test_init(struct kunit *test)
{
	struct report_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	ctx->page = alloc_page(GFP_KERNEL);
	if (!ctx->page)
		return -ENOMEM;
	ctx->pfn = page_to_pfn(ctx->page);
	ctx->stats = &NODE_DATA(page_to_nid(ctx->page))->mf_stats;
	if (register_trace_memory_failure_event(probe_event, &ctx->seen)) {
		__free_page(ctx->page);
		return -EINVAL;
	}
	test->priv = ctx;
	return 0;
}

static void report_test_exit(struct kunit *test)
{
	struct report_ctx *ctx = test->priv;

	if (!ctx)
		return;
	unregister_trace_memory_failure_event(probe_event, &ctx->seen);
	tracepoint_synchronize_unregister();
	__free_page(ctx->page);
}

/* Report under mf_mutex, keeping what the counters were before. */
static int report(struct report_ctx *ctx, enum mf_action_page_type type,
		  enum mf_result result)
{
	int ret;

	mutex_lock(&mf_mutex);
	ctx->saved = *ctx->stats;
	ctx->poisoned = atomic_long_read(&num_poisoned_pages);
	ret = mf_action_result(ctx->pfn, type, result);
	mutex_unlock(&mf_mutex);
	return ret;
}

/* Put the counters back as they were before report(). */
static void uncount(struct report_ctx *ctx, long pages)
{
	mutex_lock(&mf_mutex);
	num_poisoned_pages_sub(ctx->pfn, pages);
	*ctx->stats = ctx->saved;
	mutex_unlock(&mf_mutex);
}

static void expect_counted(struct kunit *test, struct report_ctx *ctx,
			   enum mf_result result)
{
	struct memory_failure_stats *s = ctx->stats, *b = &ctx->saved;

	KUNIT_EXPECT_EQ(test, ctx->poisoned + 1,
			atomic_long_read(&num_poisoned_pages));
	KUNIT_EXPECT_EQ(test, b->total + 1, s->total);
	KUNIT_EXPECT_EQ(test, b->ignored + (result == MF_IGNORED), s->ignored);
	KUNIT_EXPECT_EQ(test, b->failed + (result == MF_FAILED), s->failed);
	KUNIT_EXPECT_EQ(test, b->delayed + (result == MF_DELAYED), s->delayed);
	KUNIT_EXPECT_EQ(test, b->recovered + (result == MF_RECOVERED),
			s->recovered);
}

/* Each result: the return value, one count where it belongs, one event. */
static void report_each_result(struct kunit *test)
{
	static const struct {
		enum mf_result result;
		int ret;
	} cases[] = {
		{ MF_IGNORED, -EBUSY },
		{ MF_FAILED, -EBUSY },
		{ MF_DELAYED, 0 },
		{ MF_RECOVERED, 0 },
	};
	struct report_ctx *ctx = test->priv;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ctx->seen.count = 0;
		KUNIT_EXPECT_EQ(test, cases[i].ret,
				report(ctx, MF_MSG_KERNEL, cases[i].result));
		expect_counted(test, ctx, cases[i].result);
		uncount(ctx, 1);
		KUNIT_EXPECT_EQ(test, 1, ctx->seen.count);
		KUNIT_EXPECT_EQ(test, ctx->pfn, ctx->seen.pfn);
		KUNIT_EXPECT_EQ(test, MF_MSG_KERNEL, ctx->seen.type);
		KUNIT_EXPECT_EQ(test, cases[i].result, ctx->seen.result);
	}
}

/* A page reported again is traced, and counted nowhere. */
static void report_already_poisoned(struct kunit *test)
{
	struct report_ctx *ctx = test->priv;
	struct memory_failure_stats before;

	ctx->seen.count = 0;
	KUNIT_EXPECT_EQ(test, -EBUSY,
			report(ctx, MF_MSG_ALREADY_POISONED, MF_FAILED));
	before = ctx->saved;
	KUNIT_EXPECT_EQ(test, ctx->poisoned,
			atomic_long_read(&num_poisoned_pages));
	KUNIT_EXPECT_EQ(test, 0, memcmp(&before, ctx->stats, sizeof(before)));
	KUNIT_EXPECT_EQ(test, 1, ctx->seen.count);
	KUNIT_EXPECT_EQ(test, MF_MSG_ALREADY_POISONED, ctx->seen.type);
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
	KUNIT_CASE(report_each_result),
	KUNIT_CASE(report_already_poisoned),
	KUNIT_CASE(report_page_type_names),
	{}
};

static struct kunit_suite report_suite = {
	.name = "memory_failure_report",
	.init = report_test_init,
	.exit = report_test_exit,
	.test_cases = report_cases,
};

kunit_test_suite(report_suite);

MODULE_DESCRIPTION("KUnit tests for memory failure reporting");
MODULE_LICENSE("GPL");
