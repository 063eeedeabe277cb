// SPDX-License-Identifier: GPL-2.0
/*
 * A THP that cannot be split (it is long-term pinned) keeps its poisoned
 * subpage inside the large folio. When the pin goes and the folio is freed,
 * the 511 healthy pages go back to the allocator and the poisoned pfn must
 * not: it must be withheld where it is, and never handed out again, even on
 * a kernel without DEBUG_VM, where the allocator does not check new pages.
 * (6.12 withholds a poisoned page on free only when it is freed as an
 * order-0 page: free_pages_prepare() clears the other flags of a freed
 * large folio's tail pages, keeps PG_hwpoison, and gives the whole block to
 * the buddy allocator.)
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

FIXTURE(thp)
{
};

FIXTURE_SETUP(thp)
{
}

FIXTURE_TEARDOWN(thp)
{
}

TEST_F_TIMEOUT(thp, pinned_then_freed, 300)
{
	uint64_t compound = BIT_ULL(KPF_THP) | BIT_ULL(KPF_COMPOUND_HEAD) |
			    BIT_ULL(KPF_COMPOUND_TAIL);
	long ps = hwp_page_size(), checked;
	uint64_t head, pfn, flags;
	int ring, ret, ms, i, nfree, lost;
	char *p;
	bool seen;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	p = hwp_map_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, HPAGE_SIZE, MADV_HUGEPAGE));
	memset(p, 1, HPAGE_SIZE);
	head = hwp_virt_to_pfn(p);
	pfn = hwp_virt_to_pfn(p + 5 * ps);
	ASSERT_EQ(head + 5, pfn);
	ASSERT_TRUE(hwp_kpageflags(pfn) & BIT_ULL(KPF_THP));

	/* Pin the whole THP so that memory failure cannot split it. */
	ring = hwp_pin_longterm(p, HPAGE_SIZE);
	ASSERT_LE(0, ring);

	/* Unsplittable: the error is recorded on the subpage, not handled. */
	ret = hwp_inject_pfn(pfn);
	EXPECT_EQ(-EHWPOISON, ret);
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_TRUE(hwp_kpageflags(pfn) & BIT_ULL(KPF_THP));

	/*
	 * Drop the pin and the mapping: the folio goes back to the allocator
	 * once io_uring's ring teardown (a worker) has unpinned it.
	 */
	close(ring);
	munmap(p, HPAGE_SIZE);
	for (ms = 0; ms < 5000 && (hwp_kpageflags(head) & compound); ms += 20)
		usleep(20000);
	ASSERT_FALSE(hwp_kpageflags(head) & compound) {
		TH_LOG("the THP at pfn %#llx was not freed in 5 s",
		       (unsigned long long)head);
	}

	/*
	 * The healthy pages are free again, the poisoned one is withheld.
	 * The rest of the system may have been handed a healthy page since
	 * (one, now and then): such a page shows its new owner's flags; a
	 * page with no flag at all, per-CPU lists drained, was lost.
	 */
	HWP_EXPECT_WITHHELD(pfn);
	nfree = hwp_count_flags(head, HPAGE_NR, BIT_ULL(KPF_BUDDY));
	EXPECT_LE(HPAGE_NR - 8, nfree);
	for (i = 0, lost = 0; i < HPAGE_NR; i++) {
		flags = hwp_kpageflags(head + i);
		for (ret = 0; !flags && ret < 3; ret++) {
			ASSERT_EQ(0, hwp_drain_pcp(pfn));
			flags = hwp_kpageflags(head + i);
		}
		if (head + i != pfn && !(flags & BIT_ULL(KPF_BUDDY)) &&
		    (!flags || (flags & BIT_ULL(KPF_HWPOISON)))) {
			TH_LOG("pfn %#llx: kpageflags %#llx",
			       (unsigned long long)(head + i),
			       (unsigned long long)flags);
			lost++;
		}
	}
	EXPECT_EQ(0, lost);
	if (nfree != HPAGE_NR - 1)
		TH_LOG("%d of %d healthy pages taken by others at once",
		       HPAGE_NR - 1 - nfree, HPAGE_NR - 1);

	checked = hwp_allocate_and_look_for(pfn, 90, &seen);
	EXPECT_GT(checked, 1000);
	EXPECT_FALSE(seen) {
		TH_LOG("poisoned pfn %#llx handed out again (%ld pages checked)",
		       (unsigned long long)pfn, checked);
	}
}

TEST_HARNESS_MAIN
