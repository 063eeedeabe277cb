// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the target layer: the claim and its rollback, taking hold
 * of a page, and who holds which reference after each, on pages the test
 * allocates itself and gives back as it found them.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/mm.h>

#include "../internal.h"

static struct mf_target target_of(struct page *page)
{
	return (struct mf_target){
		.pfn = page_to_pfn(page),
		.page = page,
	};
}

static void claim_then_unclaim(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct mf_target t;

	KUNIT_ASSERT_NOT_NULL(test, page);
	t = target_of(page);
	mutex_lock(&mf_mutex);
	KUNIT_EXPECT_TRUE(test, mf_claim(&t));
	KUNIT_EXPECT_TRUE(test, PageHWPoison(page));
	/* A second report finds it claimed. */
	KUNIT_EXPECT_FALSE(test, mf_claim(&t));
	mf_unclaim(&t);
	KUNIT_EXPECT_FALSE(test, PageHWPoison(page));
	mutex_unlock(&mf_mutex);
	KUNIT_EXPECT_EQ(test, 1, page_count(page));
	__free_page(page);
}

/*
 * A page the kernel allocated for itself is not on the LRU: no reference
 * is taken, the caller's claim stays, nothing else changes.
 */
static void grab_kernel_page(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct mf_target t;

	KUNIT_ASSERT_NOT_NULL(test, page);
	t = target_of(page);
	/* No assertion while mf_mutex is held: it would stay held. */
	mutex_lock(&mf_mutex);
	if (mf_claim(&t)) {
		KUNIT_EXPECT_EQ(test, MF_GRAB_UNHANDLED, mf_grab(&t));
		KUNIT_EXPECT_FALSE(test, t.held);
		KUNIT_EXPECT_EQ(test, 1, page_count(page));
		KUNIT_EXPECT_TRUE(test, PageHWPoison(page));
		mf_unclaim(&t);
	} else {
		KUNIT_FAIL(test, "a page just allocated was poisoned already");
	}
	mutex_unlock(&mf_mutex);
	__free_page(page);
}

/* mf_target_put() drops the handler's reference once, and only then. */
static void put_once(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);
	struct mf_target t;

	KUNIT_ASSERT_NOT_NULL(test, page);
	t = target_of(page);
	get_page(page);
	t.held = true;
	mf_target_put(&t);
	KUNIT_EXPECT_FALSE(test, t.held);
	KUNIT_EXPECT_EQ(test, 1, page_count(page));
	mf_target_put(&t);
	KUNIT_EXPECT_EQ(test, 1, page_count(page));
	__free_page(page);
}

static struct kunit_case target_test_cases[] = {
	KUNIT_CASE(claim_then_unclaim),
	KUNIT_CASE(grab_kernel_page),
	KUNIT_CASE(put_once),
	{}
};

static struct kunit_suite target_suite = {
	.name = "memory_failure_target",
	.test_cases = target_test_cases,
};

kunit_test_suite(target_suite);

MODULE_DESCRIPTION("KUnit tests for the memory failure target layer");
MODULE_LICENSE("GPL");
