// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of unpoison_memory()'s decisions, on pages the test owns
 * and marks itself the way memory failure leaves a contained page: with
 * PG_hwpoison, counted, and one reference standing for the handler's.
 * Whatever a case leaves poisoned is cleaned up after it.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/mm.h>

#include "../internal.h"

struct test_poison {
	struct page *page;
	bool released;		/* unpoison took the page */
};

/* After the case: a page still poisoned is cleared, uncounted, freed. */
static void release_poison(void *data)
{
	struct test_poison *tp = data;

	if (tp->released)
		return;
	if (TestClearPageHWPoison(tp->page))
		num_poisoned_pages_sub(page_to_pfn(tp->page), 1);
	__free_page(tp->page);
}

static struct test_poison *poison_page(struct kunit *test)
{
	struct test_poison *tp = kunit_kzalloc(test, sizeof(*tp), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, tp);
	tp->page = alloc_page(GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tp->page);
	SetPageHWPoison(tp->page);
	num_poisoned_pages_inc(page_to_pfn(tp->page));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, release_poison, tp));
	return tp;
}

static int unpoison_test_init(struct kunit *test)
{
	bool seen;

	mutex_lock(&mf_mutex);
	seen = mf_hw_error_seen();
	mutex_unlock(&mf_mutex);
	if (seen)
		kunit_skip(test, "a hardware error was reported in this boot");
	return 0;
}

/* A page that is not poisoned is refused and left to its owner. */
static void unpoison_not_poisoned(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, -EBUSY, unpoison_memory(page_to_pfn(page)));
	KUNIT_EXPECT_EQ(test, 1, page_ref_count(page));
	__free_page(page);
}

/*
 * While someone else holds the page, unpoison refuses and changes
 * nothing; once only the handler's reference is left it clears the
 * flag, drops that reference (freeing the page) and uncounts it.
 */
static void unpoison_held_then_released(struct kunit *test)
{
	long before = atomic_long_read(&num_poisoned_pages);
	struct test_poison *tp = poison_page(test);
	unsigned long pfn = page_to_pfn(tp->page);

	get_page(tp->page);
	KUNIT_EXPECT_EQ(test, -EBUSY, unpoison_memory(pfn));
	KUNIT_EXPECT_TRUE(test, PageHWPoison(tp->page));
	KUNIT_EXPECT_EQ(test, 2, page_ref_count(tp->page));
	KUNIT_EXPECT_EQ(test, before + 1,
			atomic_long_read(&num_poisoned_pages));
	put_page(tp->page);

	KUNIT_ASSERT_EQ(test, 0, unpoison_memory(pfn));
	tp->released = true;
	KUNIT_EXPECT_EQ(test, before, atomic_long_read(&num_poisoned_pages));
}

/* A poisoned page-table page stays the kernel's, flag and count kept. */
static void unpoison_kernel_page(struct kunit *test)
{
	long before = atomic_long_read(&num_poisoned_pages);
	struct test_poison *tp = poison_page(test);
	struct folio *folio = page_folio(tp->page);

	__folio_set_pgtable(folio);
	KUNIT_EXPECT_EQ(test, -EBUSY, unpoison_memory(page_to_pfn(tp->page)));
	KUNIT_EXPECT_TRUE(test, PageHWPoison(tp->page));
	KUNIT_EXPECT_EQ(test, before + 1,
			atomic_long_read(&num_poisoned_pages));
	__folio_clear_pgtable(folio);
}

/* Pfns that are not online memory are refused before anything else. */
static void unpoison_offline_pfn(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, -EIO, unpoison_memory(-1UL >> PAGE_SHIFT));
}

static struct kunit_case unpoison_cases[] = {
	KUNIT_CASE(unpoison_not_poisoned),
	KUNIT_CASE(unpoison_held_then_released),
	KUNIT_CASE(unpoison_kernel_page),
	KUNIT_CASE(unpoison_offline_pfn),
	{}
};

static struct kunit_suite unpoison_suite = {
	.name = "memory_failure_unpoison",
	.init = unpoison_test_init,
	.test_cases = unpoison_cases,
};

kunit_test_suite(unpoison_suite);

MODULE_DESCRIPTION("KUnit tests for unpoison");
MODULE_LICENSE("GPL");
