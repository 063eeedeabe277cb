// SPDX-License-Identifier: GPL-2.0
/*
 * A KSM page is one physical page behind many virtual ones: an error in it
 * takes it away from every mapper, each of which gets SIGBUS at the right
 * address when it touches its copy, while their other pages are intact.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define NPAGES	4

TEST(merged_page)
{
	long ps = hwp_page_size();
	struct hwp_mf_stats before;
	char *a, *b, c;
	uint64_t pfn;
	int i;

	ASSERT_EQ(0, access(HWP_KSM "run", W_OK)) {
		TH_LOG("no KSM (" HWP_KSM "run)");
	}
	hwp_catch_sigbus();
	a = mmap(NULL, 2 * NPAGES * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	b = a + NPAGES * ps;
	/* Page 1 of a and b have the same contents; the others differ. */
	for (i = 0; i < NPAGES; i++) {
		hwp_fill(a + i * ps, ps, i == 1 ? 77 : 10 + i);
		hwp_fill(b + i * ps, ps, i == 1 ? 77 : 20 + i);
	}
	/* All of them candidates for ksmd, though only page 1 has a twin. */
	ASSERT_EQ(0, madvise(a, 2 * NPAGES * ps, MADV_MERGEABLE));
	pfn = hwp_ksm_merge(a + ps, b + ps, 30000);
	ASSERT_NE(0, pfn) {
		TH_LOG("ksmd did not merge the pages in 30 s");
	}
	ASSERT_GT(hwp_ksm_read("pages_shared"), 0);

	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	ASSERT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(0, hwp_sigbus_count());
	/* An anonymous page to 6.12, unmapped from both mappers at once. */
	HWP_EXPECT_MF_BOOKED(&before, pfn, "dirty LRU page", "Recovered");

	EXPECT_TRUE(hwp_read_faults(a + ps + 8, &c));
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(a + ps + 8, hwp_last_sigbus.addr);
	hwp_reset_sigbus();
	EXPECT_TRUE(hwp_read_faults(b + ps + 16, &c));
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(b + ps + 16, hwp_last_sigbus.addr);
	for (i = 0; i < NPAGES; i++) {
		if (i == 1)
			continue;
		EXPECT_TRUE(hwp_check(a + i * ps, ps, 10 + i));
		EXPECT_TRUE(hwp_check(b + i * ps, ps, 20 + i));
	}
}

TEST_HARNESS_MAIN
