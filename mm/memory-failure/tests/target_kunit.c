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

/*
 * Free @page (of @order) and claim its page @index, with interrupts off so
 * that nothing on this CPU allocates it from the per-CPU list in between.
 * Called with mf_mutex held; false if it was poisoned already.
 */
static bool free_then_claim(struct page *page, unsigned int order,
			    unsigned int index, struct mf_target *t)
{
	bool claimed;

	*t = target_of(page + index);
	local_irq_disable();
	__free_pages(page, order);
	claimed = mf_claim(t);
	local_irq_enable();
	return claimed;
}

/*
 * A free page is taken off the buddy lists and held by its poison
 * reference: found there by the first look when the block went straight
 * to the buddy lists (above the per-CPU lists' orders), found only once
 * the per-CPU lists are emptied when the page was freed to one. Then it
 * is given back as unpoison gives it back.
 */
static void grab_free_page(struct kunit *test, unsigned int order)
{
	struct page *page = alloc_pages(GFP_KERNEL, order);
	enum mf_grab_verdict verdict = MF_GRAB_UNHANDLED;
	struct mf_target t;
	bool claimed;

	KUNIT_ASSERT_NOT_NULL(test, page);
	/* No assertion while mf_mutex is held: it would stay held. */
	mutex_lock(&mf_mutex);
	claimed = free_then_claim(page, order, order ? 1 : 0, &t);
	if (claimed) {
		verdict = mf_grab(&t);
		if (verdict == MF_GRAB_FREE) {
			KUNIT_EXPECT_TRUE(test, mf_page_taken_off(t.page));
			KUNIT_EXPECT_EQ(test, 1, page_count(t.page));
			KUNIT_EXPECT_FALSE(test, t.held);
			KUNIT_EXPECT_TRUE(test, put_page_back_buddy(t.page));
		} else {
			/* Allocated by another CPU as we freed it. */
			mf_target_put(&t);
			mf_unclaim(&t);
		}
	}
	mutex_unlock(&mf_mutex);
	KUNIT_EXPECT_TRUE(test, claimed);
	KUNIT_EXPECT_EQ(test, MF_GRAB_FREE, verdict);
	KUNIT_EXPECT_FALSE(test, PageHWPoison(t.page));
}

static void grab_free_page_on_pcp_list(struct kunit *test)
{
	grab_free_page(test, 0);
}

static void grab_free_page_in_buddy(struct kunit *test)
{
	grab_free_page(test, PAGE_ALLOC_COSTLY_ORDER + 1);
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
	KUNIT_CASE(grab_free_page_on_pcp_list),
	KUNIT_CASE(grab_free_page_in_buddy),
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
