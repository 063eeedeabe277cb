// SPDX-License-Identifier: GPL-2.0
/*
 * Swap cache pages. A clean one has a good copy on the swap device: an
 * error in it costs nothing but a re-read. The pages are swapped out to
 * zram, read back into the swap cache by MADV_WILLNEED (not mapped yet),
 * and one of them is poisoned; the owner then finds all its data, with no
 * signal. A dirty one (mapped again and written since) holds the only good
 * copy: its owner loses that page, and only that page, with SIGBUS when it
 * touches it.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define NPAGES		64

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

/*
 * Swap cache pages that no process maps: the ones MADV_WILLNEED just read
 * for us. Any other process's swap cache page could be poisoned by
 * mistake otherwise (init's among them). Fills @out, returns how many.
 */
static int unmapped_swapcache_pfns(uint64_t *out, int max)
{
	return hwp_find_pfns(BIT_ULL(KPF_SWAPCACHE),
			     BIT_ULL(KPF_MMAP) | BIT_ULL(KPF_HWPOISON),
			     out, max);
}

static bool in(uint64_t pfn, const uint64_t *set, int n)
{
	while (n--)
		if (set[n] == pfn)
			return true;
	return false;
}

/* NPAGES private pages, page i filled with seed i, then swapped out. */
static char *swapped_out_pages(void)
{
	long ps = hwp_page_size();
	char *p = hwp_map_filled(NPAGES, 0, NULL);

	if (!p)
		return NULL;
	madvise(p, NPAGES * ps, MADV_NOHUGEPAGE);
	if (madvise(p, NPAGES * ps, MADV_PAGEOUT)) {
		munmap(p, NPAGES * ps);
		return NULL;
	}
	return p;
}

FIXTURE(swap)
{
};

FIXTURE_SETUP(swap)
{
	int err;

	ASSERT_TRUE(hwp_have_debugfs_injector()) {
		TH_LOG("no debugfs hwpoison injector (" HWP_DEBUGFS ")");
	}
	err = hwp_zram_swapon();
	ASSERT_EQ(0, err) {
		TH_LOG("cannot swap on /dev/zram0: %s", strerror(-err));
	}
}

FIXTURE_TEARDOWN(swap)
{
}

TEST_F_TIMEOUT(swap, clean_swapcache, 120)
{
	long ps = hwp_page_size();
	long hc = hwp_corrupted_kb();
	uint64_t before[1024], after[1024], pfn = 0;
	int i, j, nbefore, nafter, bad = 0;
	struct hwp_mf_stats stats;
	char *p, c;

	hwp_catch_sigbus();
	p = swapped_out_pages();
	ASSERT_NE(NULL, p) {
		TH_LOG("MADV_PAGEOUT: %s", strerror(errno));
	}
	for (i = 0; i < NPAGES; i++)
		if (!(hwp_pagemap_entry(p + i * ps) & HWP_PM_SWAP))
			bad++;
	ASSERT_EQ(0, bad);
	/* Read them back into the swap cache without mapping them. */
	nbefore = unmapped_swapcache_pfns(before, 1024);
	ASSERT_EQ(0, madvise(p, NPAGES * ps, MADV_WILLNEED));
	ASSERT_TRUE(hwp_wait_resident(p, NPAGES, 5000));
	nafter = unmapped_swapcache_pfns(after, 1024);
	for (j = 0; j < nafter && !pfn; j++)
		if (!in(after[j], before, nbefore))
			pfn = after[j];
	ASSERT_NE(0, pfn);

	ASSERT_TRUE(hwp_mf_stats_read(&stats));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	/* Taken out of the swap cache: the slot's copy is good. */
	HWP_EXPECT_MF_BOOKED(&stats, pfn, "clean swapcache page", "Recovered");

	for (i = 0; i < NPAGES; i++) {
		if (hwp_read_faults(p + i * ps, &c) ||
		    !hwp_check(p + i * ps, ps, i))
			bad++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, hwp_sigbus_count());
	for (i = 0; i < NPAGES; i++)
		if (hwp_virt_to_pfn(p + i * ps) == pfn)
			bad++;
	EXPECT_EQ(0, bad);
}

/*
 * A swap cache page whose owner has written it again: the read fault maps
 * the swap cache page writable (the slot stays allocated), the write then
 * dirties it without another fault, so the slot's copy is stale.
 */
TEST_F_TIMEOUT(swap, dirty_swapcache, 120)
{
	long ps = hwp_page_size();
	long hc = hwp_corrupted_kb();
	struct hwp_mf_stats stats;
	uint64_t pfn = 0;
	int i, target = -1, bad = 0;
	char *p, c;

	hwp_catch_sigbus();
	p = swapped_out_pages();
	ASSERT_NE(NULL, p) {
		TH_LOG("MADV_PAGEOUT: %s", strerror(errno));
	}
	ASSERT_EQ(0, madvise(p, NPAGES * ps, MADV_WILLNEED));
	/*
	 * Touch them only once they are in the swap cache: a fault on a
	 * page still out on zram would read it past the swap cache.
	 */
	ASSERT_TRUE(hwp_wait_resident(p, NPAGES, 5000));
	for (i = 0; i < NPAGES; i++) {
		ASSERT_FALSE(hwp_read_faults(p + i * ps, &c));
		hwp_fill(p + i * ps, ps, i + 100);
	}
	for (i = 0; i < NPAGES && target < 0; i++) {
		pfn = hwp_virt_to_pfn(p + i * ps);
		if (pfn && (hwp_kpageflags(pfn) & BIT_ULL(KPF_SWAPCACHE)))
			target = i;
	}
	ASSERT_LE(0, target) {
		TH_LOG("no written page stayed in the swap cache");
	}

	ASSERT_TRUE(hwp_mf_stats_read(&stats));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	/* Unmapped but kept in the swap cache for the owner's next fault. */
	HWP_EXPECT_MF_BOOKED(&stats, pfn, "dirty swapcache page", "Delayed");
	/* Late kill: nothing until the page is touched. */
	EXPECT_EQ(0, hwp_sigbus_count());

	HWP_EXPECT_TOUCH_SIGBUS_AR(p + target * ps);
	for (i = 0; i < NPAGES; i++) {
		if (i == target)
			continue;
		if (hwp_read_faults(p + i * ps, &c) ||
		    !hwp_check(p + i * ps, ps, i + 100))
			bad++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(1, hwp_sigbus_count());
	/* The poisoned page is never mapped again, by us or anyone. */
	for (i = 0; i < NPAGES; i++)
		if (hwp_virt_to_pfn(p + i * ps) == pfn)
			bad++;
	EXPECT_EQ(0, bad);
	munmap(p, NPAGES * ps);
}

TEST_HARNESS_MAIN
