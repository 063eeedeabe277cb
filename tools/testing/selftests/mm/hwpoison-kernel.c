// SPDX-License-Identifier: GPL-2.0
/*
 * Pages the kernel owns (slab, page tables, reserved memory) cannot be
 * recovered. An error in one must not crash the machine, and must be
 * reported as ignored or failed, never as recovered.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define KPF_SLAB	7
#define KPF_PGTABLE	26
#define KPF_RESERVED	32

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
	if (!hwp_have_debugfs_injector())
		SKIP(return, "debugfs hwpoison injector not available");
	/* The highest page of that kind not poisoned yet. */
	if (!hwp_find_pfns(BIT_ULL(variant->kpf), BIT_ULL(HWP_KPF_HWPOISON),
			   &self->pfn, 1))
		SKIP(return, "no page of that kind found");
}

FIXTURE_TEARDOWN(kernel)
{
}

TEST_F(kernel, not_recovered)
{
	long recovered = hwp_node_stat("recovered");
	long ignored = hwp_node_stat("ignored");
	long failed = hwp_node_stat("failed");
	int ret;

	ret = hwp_inject_pfn(self->pfn);
	EXPECT_EQ(-EBUSY, ret) {
		TH_LOG("pfn %#llx (flags %#llx): %s",
		       (unsigned long long)self->pfn,
		       (unsigned long long)hwp_kpageflags(self->pfn),
		       strerror(-ret));
	}
	if (recovered >= 0) {
		EXPECT_EQ(recovered, hwp_node_stat("recovered"));
		EXPECT_EQ(ignored + failed + 1,
			  hwp_node_stat("ignored") + hwp_node_stat("failed"));
	}
	/* The machine is still fine: a process can start and allocate. */
	ASSERT_EQ(0, system("true"));
}

/* The first pfn of memory is reserved firmware memory. */
TEST(pfn_zero)
{
	int ret;

	if (!hwp_have_debugfs_injector())
		SKIP(return, "debugfs hwpoison injector not available");
	/* Soft offline cannot move it... */
	EXPECT_NE(0, hwp_sysfs_offline("soft", 0));
	EXPECT_FALSE(hwp_pfn_poisoned(0));
	/* ...and hard offline cannot recover it. */
	ret = hwp_inject_pfn(0);
	EXPECT_TRUE(ret == -EBUSY || ret == -ENXIO) {
		TH_LOG("pfn 0: %d", ret);
	}
	ASSERT_EQ(0, system("true"));
}

TEST_HARNESS_MAIN
