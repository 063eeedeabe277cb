// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of mf_classify(): which kind of page a set of page flags is
 * booked as, and so which containment it gets. Pure: no page is touched.
 */
#include <kunit/test.h>
#include <linux/bits.h>
#include <linux/mm.h>
#include <linux/page-flags.h>

#include "../internal.h"

#define F(flag)		BIT(PG_##flag)
#define SWAP		(F(swapcache) | F(swapbacked))

struct classify_case {
	const char *name;
	unsigned long flags;
	enum mf_action_page_type type;
};

static const struct classify_case classify_cases[] = {
	{ "no flags", 0, MF_MSG_UNKNOWN },
	{ "reserved", F(reserved), MF_MSG_KERNEL },
	{ "reserved wins over lru", F(reserved) | F(lru), MF_MSG_KERNEL },
	{ "hugetlb head", F(head) | F(dirty), MF_MSG_HUGE },
	{ "clean lru", F(lru), MF_MSG_CLEAN_LRU },
	{ "dirty lru", F(lru) | F(dirty), MF_MSG_DIRTY_LRU },
	{ "clean swap cache", SWAP | F(lru), MF_MSG_CLEAN_SWAPCACHE },
	{ "dirty swap cache", SWAP | F(lru) | F(dirty),
	  MF_MSG_DIRTY_SWAPCACHE },
	{ "shmem is no swap cache", F(swapbacked) | F(lru) | F(dirty),
	  MF_MSG_DIRTY_LRU },
	/* Both flags are set on an mlocked page: mlocked is the kind. */
	{ "clean mlocked", F(mlocked) | F(unevictable) | F(lru),
	  MF_MSG_CLEAN_MLOCKED_LRU },
	{ "dirty mlocked", F(mlocked) | F(unevictable) | F(lru) | F(dirty),
	  MF_MSG_DIRTY_MLOCKED_LRU },
	{ "clean unevictable", F(unevictable) | F(lru),
	  MF_MSG_CLEAN_UNEVICTABLE_LRU },
	{ "dirty unevictable", F(unevictable) | F(lru) | F(dirty),
	  MF_MSG_DIRTY_UNEVICTABLE_LRU },
	/* Off the LRU, in no known state: nothing to do with it. */
	{ "dirty, off the lru", F(dirty) | F(uptodate), MF_MSG_UNKNOWN },
};

static void classify_case_desc(const struct classify_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(classify, classify_cases, classify_case_desc);

static void classify_flags(struct kunit *test)
{
	const struct classify_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, c->type, mf_classify(c->flags));
}

/*
 * An mlocked page loses PG_mlocked when it is unmapped, and its dirty bit
 * moves from its page table entries to the folio: the handler classifies
 * the flags saved before unmapping with the dirty bit after it added.
 */
static void classify_mlocked_after_unmap(struct kunit *test)
{
	unsigned long before = F(mlocked) | F(unevictable) | F(lru);
	unsigned long after = F(lru) | F(dirty);

	KUNIT_EXPECT_EQ(test, MF_MSG_DIRTY_LRU, mf_classify(after));
	KUNIT_EXPECT_EQ(test, MF_MSG_DIRTY_MLOCKED_LRU,
			mf_classify(before | (after & F(dirty))));
}

static struct kunit_case classify_test_cases[] = {
	KUNIT_CASE_PARAM(classify_flags, classify_gen_params),
	KUNIT_CASE(classify_mlocked_after_unmap),
	{}
};

static struct kunit_suite classify_suite = {
	.name = "memory_failure_classify",
	.test_cases = classify_test_cases,
};

kunit_test_suite(classify_suite);

MODULE_DESCRIPTION("KUnit tests for memory failure page classification");
MODULE_LICENSE("GPL");
