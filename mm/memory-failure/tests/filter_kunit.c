// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the injector's filters, on filter settings of the test's
 * own: the filters that real reports consult are never touched.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <uapi/linux/kernel-page-flags.h>

#include "../internal.h"

struct filter_ctx {
	struct mf_filter f;
	struct page *page;
};

static int filter_test_init(struct kunit *test)
{
	struct filter_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	ctx->page = alloc_page(GFP_KERNEL);
	if (!ctx->page)
		return -ENOMEM;
	ctx->f.enable = 1;
	ctx->f.dev_major = ~0U;
	ctx->f.dev_minor = ~0U;
	test->priv = ctx;
	return 0;
}

static void filter_test_exit(struct kunit *test)
{
	struct filter_ctx *ctx = test->priv;

	if (ctx)
		__free_page(ctx->page);
}

static bool rejects(struct kunit *test)
{
	struct filter_ctx *ctx = test->priv;

	return mf_filter_rejects(&ctx->f, ctx->page);
}

/* Enabled but with nothing asked for, every page passes. */
static void filter_empty_passes(struct kunit *test)
{
	KUNIT_EXPECT_FALSE(test, rejects(test));
}

/* Whatever the settings, a disabled filter rejects nothing. */
static void filter_disabled_passes(struct kunit *test)
{
	struct filter_ctx *ctx = test->priv;

	ctx->f.flags_mask = ~0ULL;
	ctx->f.dev_major = 0;
	ctx->f.memcg = ~0ULL;
	ctx->f.enable = 0;
	KUNIT_EXPECT_FALSE(test, rejects(test));
}

/* Page flags: the masked bits of /proc/kpageflags must equal the value. */
static void filter_flags(struct kunit *test)
{
	struct filter_ctx *ctx = test->priv;
	u64 buddy = BIT_ULL(KPF_BUDDY);

	/* An allocated page is not a free buddy page. */
	ctx->f.flags_mask = buddy;
	ctx->f.flags_value = buddy;
	KUNIT_EXPECT_TRUE(test, rejects(test));
	ctx->f.flags_value = 0;
	KUNIT_EXPECT_FALSE(test, rejects(test));
}

/* A device filter rejects a page that belongs to no file. */
static void filter_dev_needs_a_file(struct kunit *test)
{
	struct filter_ctx *ctx = test->priv;

	ctx->f.dev_major = 0;
	KUNIT_EXPECT_TRUE(test, rejects(test));
	ctx->f.dev_major = ~0U;
	ctx->f.dev_minor = 0;
	KUNIT_EXPECT_TRUE(test, rejects(test));
	ctx->f.dev_minor = ~0U;
	KUNIT_EXPECT_FALSE(test, rejects(test));
}

/* A memory cgroup filter rejects a page charged to no such cgroup. */
static void filter_memcg(struct kunit *test)
{
	struct filter_ctx *ctx = test->priv;

	if (!IS_ENABLED(CONFIG_MEMCG))
		kunit_skip(test, "needs CONFIG_MEMCG");
	ctx->f.memcg = ~0ULL;
	KUNIT_EXPECT_TRUE(test, rejects(test));
}

/* What the injector sets is what hwpoison_filter() consults. */
static void filter_global_default_off(struct kunit *test)
{
	struct filter_ctx *ctx = test->priv;

	if (READ_ONCE(mf_filter.enable))
		kunit_skip(test, "the injector's filters are on");
	KUNIT_EXPECT_FALSE(test, hwpoison_filter(ctx->page));
	KUNIT_EXPECT_EQ(test, ~0U, READ_ONCE(mf_filter.dev_major));
	KUNIT_EXPECT_EQ(test, ~0U, READ_ONCE(mf_filter.dev_minor));
}

static struct kunit_case filter_cases[] = {
	KUNIT_CASE(filter_empty_passes),
	KUNIT_CASE(filter_disabled_passes),
	KUNIT_CASE(filter_flags),
	KUNIT_CASE(filter_dev_needs_a_file),
	KUNIT_CASE(filter_memcg),
	KUNIT_CASE(filter_global_default_off),
	{}
};

static struct kunit_suite filter_suite = {
	.name = "memory_failure_filter",
	.init = filter_test_init,
	.exit = filter_test_exit,
	.test_cases = filter_cases,
};

kunit_test_suite(filter_suite);

MODULE_DESCRIPTION("KUnit tests for the memory failure injector's filters");
MODULE_LICENSE("GPL");
