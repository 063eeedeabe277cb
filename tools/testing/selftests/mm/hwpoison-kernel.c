// SPDX-License-Identifier: GPL-2.0
/*
 * Pages the kernel owns (slab, page tables, reserved memory) cannot be
 * recovered. An error in one must not crash the machine, and must be
 * reported as ignored or failed, never as recovered. 6.12 takes no
 * reference on a page of a type it cannot handle: each of them is booked
 * as "get hwpoison page: Ignored" and the report fails with EBUSY.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

FIXTURE(kernel)
{
	uint64_t pfn;
};

FIXTURE_VARIANT(kernel)
{
	int kpf;
};

FIXTURE_VARIANT_ADD(kernel, slab) { .kpf = KPF_SLAB };
FIXTURE_VARIANT_ADD(kernel, page_table) { .kpf = KPF_PGTABLE };
FIXTURE_VARIANT_ADD(kernel, reserved) { .kpf = KPF_RESERVED };

FIXTURE_SETUP(kernel)
{
	ASSERT_TRUE(hwp_have_debugfs_injector()) {
		TH_LOG("no debugfs hwpoison injector (" HWP_DEBUGFS ")");
	}
	/* The highest page of that kind not poisoned yet. */
	ASSERT_EQ(1, hwp_find_pfns(BIT_ULL(variant->kpf),
				   BIT_ULL(KPF_HWPOISON), &self->pfn, 1)) {
		TH_LOG("no page of that kind found");
	}
}

FIXTURE_TEARDOWN(kernel)
{
}

TEST_F(kernel, not_recovered)
{
	struct hwp_mf_stats before;
	int ret;

	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	ret = hwp_inject_pfn(self->pfn);
	EXPECT_EQ(-EBUSY, ret) {
		TH_LOG("pfn %#llx (flags %#llx): %s",
		       (unsigned long long)self->pfn,
		       (unsigned long long)hwp_kpageflags(self->pfn),
		       strerror(-ret));
	}
	HWP_EXPECT_MF_BOOKED(&before, self->pfn, "get hwpoison page",
			     "Ignored");
	/* The machine is still fine: a process can start and allocate. */
	ASSERT_EQ(0, system("true"));
}

/* The first pfn of memory is reserved firmware memory. */
TEST(pfn_zero)
{
	struct hwp_mf_stats before;

	ASSERT_TRUE(hwp_have_debugfs_injector()) {
		TH_LOG("no debugfs hwpoison injector (" HWP_DEBUGFS ")");
	}
	/* Soft offline cannot move it... */
	EXPECT_EQ(-EIO, hwp_sysfs_offline("soft", 0));
	EXPECT_FALSE(hwp_pfn_poisoned(0));
	/* ...and hard offline cannot recover it. */
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(-EBUSY, hwp_inject_pfn(0));
	HWP_EXPECT_MF_BOOKED(&before, 0, "get hwpoison page", "Ignored");
	ASSERT_EQ(0, system("true"));
}

TEST_HARNESS_MAIN
