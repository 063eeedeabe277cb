// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the machine-check-safe page readers: each gives the
 * answer of its plain counterpart, and refuses a page already marked
 * PG_hwpoison without reading it.
 */
#include <kunit/test.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/xxhash.h>

static void free_test_page(void *page)
{
	__free_page(page);
}

static struct page *test_page(struct kunit *test, bool random)
{
	struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, free_test_page, page));
	if (random)
		get_random_bytes(page_address(page), PAGE_SIZE);
	return page;
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

static void mc_memcmp_matches_plain(struct kunit *test)
{
	struct page *a = test_page(test, true), *b = test_page(test, true);
	u8 *pa = page_address(a), *pb = page_address(b);
	static const size_t where[] = { 0, 1, 7, 8, 255, 256, PAGE_SIZE - 1 };
	int i, res;

	KUNIT_ASSERT_EQ(test, 0, memcmp_pages_mc(a, b, &res));
	KUNIT_EXPECT_EQ(test, sign(memcmp_pages(a, b)), sign(res));

	/* Identical, then one byte apart at each place, both ways. */
	memcpy(pb, pa, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, 0, memcmp_pages_mc(a, b, &res));
	KUNIT_EXPECT_EQ(test, 0, res);
	for (i = 0; i < ARRAY_SIZE(where); i++) {
		pa[where[i]] = 0x10;
		pb[where[i]] = 0x80;
		KUNIT_ASSERT_EQ(test, 0, memcmp_pages_mc(a, b, &res));
		KUNIT_EXPECT_EQ(test, -1, sign(res));
		KUNIT_EXPECT_EQ(test, sign(memcmp_pages(a, b)), sign(res));
		KUNIT_ASSERT_EQ(test, 0, memcmp_pages_mc(b, a, &res));
		KUNIT_EXPECT_EQ(test, 1, sign(res));
		pb[where[i]] = pa[where[i]];
	}

	/*
	 * Two bytes of one word that disagree the other way round: the
	 * first in memory decides, whatever the byte order of a word.
	 */
	pa[8] = 1;
	pb[8] = 2;
	pa[9] = 2;
	pb[9] = 1;
	KUNIT_ASSERT_EQ(test, 0, memcmp_pages_mc(a, b, &res));
	KUNIT_EXPECT_EQ(test, -1, sign(res));
	KUNIT_EXPECT_EQ(test, sign(memcmp_pages(a, b)), sign(res));
}

static void mc_xxhash_matches_plain(struct kunit *test)
{
	struct page *a = test_page(test, true), *z = test_page(test, false);
	u64 hash;

	KUNIT_ASSERT_EQ(test, 0, page_xxhash_mc(a, &hash));
	KUNIT_EXPECT_EQ(test, xxh64(page_address(a), PAGE_SIZE, 0), hash);
	KUNIT_ASSERT_EQ(test, 0, page_xxhash_mc(z, &hash));
	KUNIT_EXPECT_EQ(test, xxh64(page_address(z), PAGE_SIZE, 0), hash);
}

static void mc_zero_scans_match_plain(struct kunit *test)
{
	struct page *z = test_page(test, false);
	u8 *p = page_address(z);
	static const size_t where[] = { 0, 9, PAGE_SIZE / 2, PAGE_SIZE - 1 };
	bool zero;
	int i;

	KUNIT_ASSERT_EQ(test, 0, page_zero_filled_mc(z, &zero));
	KUNIT_EXPECT_TRUE(test, zero);
	KUNIT_ASSERT_EQ(test, 0, folio_zero_filled_mc(page_folio(z), &zero));
	KUNIT_EXPECT_TRUE(test, zero);
	for (i = 0; i < ARRAY_SIZE(where); i++) {
		p[where[i]] = 1;
		KUNIT_ASSERT_EQ(test, 0, page_zero_filled_mc(z, &zero));
		KUNIT_EXPECT_FALSE(test, zero);
		KUNIT_ASSERT_EQ(test, 0,
				folio_zero_filled_mc(page_folio(z), &zero));
		KUNIT_EXPECT_FALSE(test, zero);
		p[where[i]] = 0;
	}
}

static void free_test_folio(void *folio)
{
	folio_put(folio);
}

/* Every page of a folio is scanned, the last one too. */
static void mc_folio_zero_scan(struct kunit *test)
{
	struct folio *folio = folio_alloc(GFP_KERNEL | __GFP_ZERO, 2);
	u8 *last;
	bool zero;

	KUNIT_ASSERT_NOT_NULL(test, folio);
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, free_test_folio, folio));
	KUNIT_ASSERT_EQ(test, 0, folio_zero_filled_mc(folio, &zero));
	KUNIT_EXPECT_TRUE(test, zero);
	last = folio_address(folio) + folio_size(folio) - 1;
	*last = 1;
	KUNIT_ASSERT_EQ(test, 0, folio_zero_filled_mc(folio, &zero));
	KUNIT_EXPECT_FALSE(test, zero);
}

static void mc_copy_matches_plain(struct kunit *test)
{
	struct page *a = test_page(test, true), *b = test_page(test, false);

	KUNIT_ASSERT_EQ(test, 0, copy_from_page_mc(a, page_address(b),
						   page_address(a) + 100,
						   PAGE_SIZE - 200));
	KUNIT_EXPECT_EQ(test, 0, memcmp(page_address(b),
					page_address(a) + 100,
					PAGE_SIZE - 200));
}

/*
 * A page memory failure has marked is refused at once: not read (the
 * answers are left as the helpers' error contract says), not reported.
 */
static void mc_marked_page_refused(struct kunit *test)
{
	struct page *a = test_page(test, true), *b = test_page(test, true);
	bool zero = true;
	u64 hash = 0;
	int res;

	/* The plain readers of other architectures read any page. */
	if (!IS_ENABLED(CONFIG_ARCH_HAS_COPY_MC))
		kunit_skip(test, "no machine-check-safe reads here");
	SetPageHWPoison(b);
	KUNIT_EXPECT_EQ(test, -EHWPOISON, memcmp_pages_mc(a, b, &res));
	KUNIT_EXPECT_EQ(test, -EHWPOISON, memcmp_pages_mc(b, a, &res));
	KUNIT_EXPECT_EQ(test, -EHWPOISON, page_xxhash_mc(b, &hash));
	KUNIT_EXPECT_EQ(test, 0, hash);
	KUNIT_EXPECT_EQ(test, -EHWPOISON, page_zero_filled_mc(b, &zero));
	KUNIT_EXPECT_FALSE(test, zero);
	zero = true;
	KUNIT_EXPECT_EQ(test, -EHWPOISON,
			folio_zero_filled_mc(page_folio(b), &zero));
	KUNIT_EXPECT_FALSE(test, zero);
	KUNIT_EXPECT_EQ(test, -EHWPOISON,
			copy_from_page_mc(b, page_address(a),
					  page_address(b), 64));
	ClearPageHWPoison(b);
	KUNIT_EXPECT_EQ(test, 0, page_xxhash_mc(b, &hash));
}

#ifdef __load_mc_ulong4
/*
 * What the readers rest on: an exception in a load is recovered through
 * its exception table entry and reported in the trap flag, here a page
 * fault on the guard page after a vmalloc area. The loads before it are
 * plain loads.
 */
static void mc_load_fault_recovered(struct kunit *test)
{
	unsigned long w0 = 0, w1 = 0, w2 = 0, w3 = 0;
	unsigned long *p = vmalloc(PAGE_SIZE);
	int trap = 0;

	KUNIT_ASSERT_NOT_NULL(test, p);
	p[0] = 1;
	p[1] = 2;
	p[2] = 3;
	p[3] = 4;
	__load_mc_ulong4(p, w0, w1, w2, w3, trap);
	KUNIT_EXPECT_EQ(test, 0, trap);
	KUNIT_EXPECT_EQ(test, 1UL, w0);
	KUNIT_EXPECT_EQ(test, 2UL, w1);
	KUNIT_EXPECT_EQ(test, 3UL, w2);
	KUNIT_EXPECT_EQ(test, 4UL, w3);
	__load_mc_ulong4(p + PAGE_SIZE / sizeof(*p), w0, w1, w2, w3, trap);
	KUNIT_EXPECT_NE(test, 0, trap);
	vfree(p);
}
#endif

static struct kunit_case mc_read_cases[] = {
	KUNIT_CASE(mc_memcmp_matches_plain),
	KUNIT_CASE(mc_xxhash_matches_plain),
	KUNIT_CASE(mc_zero_scans_match_plain),
	KUNIT_CASE(mc_folio_zero_scan),
	KUNIT_CASE(mc_copy_matches_plain),
	KUNIT_CASE(mc_marked_page_refused),
#ifdef __load_mc_ulong4
	KUNIT_CASE(mc_load_fault_recovered),
#endif
	{}
};

static struct kunit_suite mc_read_suite = {
	.name = "memory_failure_mc_read",
	.test_cases = mc_read_cases,
};

kunit_test_suite(mc_read_suite);

MODULE_DESCRIPTION("KUnit tests for the machine-check-safe page readers");
MODULE_LICENSE("GPL");
