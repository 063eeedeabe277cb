// SPDX-License-Identifier: GPL-2.0
/*
 * madvise(MADV_HWPOISON) on a private anonymous page that was only ever
 * read maps the shared zero page; poisoning "that page" must not poison
 * the zero page, which every process in the system maps.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

TEST(zero_page_not_poisoned)
{
	long ps = hwp_page_size();
	uint64_t zero_pfn;
	char *p, c;

	hwp_catch_sigbus();
	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	madvise(p, 2 * ps, MADV_NOHUGEPAGE);
	/* A read fault maps the shared zero page. */
	c = p[0];
	c += p[ps];
	ASSERT_EQ(0, c);
	zero_pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, zero_pfn);
	ASSERT_EQ(zero_pfn, hwp_virt_to_pfn(p + ps));
	ASSERT_FALSE(hwp_pfn_poisoned(zero_pfn));

	/* Whatever it returns, the zero page must stay healthy. */
	madvise(p, ps, MADV_HWPOISON);
	EXPECT_FALSE(hwp_pfn_poisoned(zero_pfn));
	/* The neighbour still reads zeroes without a signal. */
	hwp_reset_sigbus();
	EXPECT_FALSE(hwp_read_faults(p + ps, &c));
	EXPECT_EQ(0, c);
}

TEST_HARNESS_MAIN
