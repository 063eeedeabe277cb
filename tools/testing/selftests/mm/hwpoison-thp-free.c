// SPDX-License-Identifier: GPL-2.0
/*
 * A THP that cannot be split (it is long-term pinned) keeps its poisoned
 * subpage inside the large folio. When the pin goes and the folio is freed,
 * the poisoned pfn must still never be handed out again, even on a kernel
 * without DEBUG_VM, where the allocator does not check new pages.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define HPAGE_SIZE	(2UL << 20)
#define KPF_THP		22

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
	long ps = hwp_page_size(), checked;
	bool seen;
	uint64_t pfn;
	char *raw, *p;
	int ring, ret;

	if (!hwp_have_debugfs_injector())
		SKIP(return, "debugfs hwpoison injector not available");
	raw = mmap(NULL, 2 * HPAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, raw);
	p = (char *)(((uintptr_t)raw + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1));
	ASSERT_EQ(0, madvise(p, HPAGE_SIZE, MADV_HUGEPAGE));
	memset(p, 1, HPAGE_SIZE);
	pfn = hwp_virt_to_pfn(p + 5 * ps);
	if (!(hwp_kpageflags(pfn) & BIT_ULL(KPF_THP)))
		SKIP(return, "no THP");

	/* Pin the whole THP so that memory failure cannot split it. */
	ring = hwp_pin_longterm(p, HPAGE_SIZE);
	if (ring < 0)
		SKIP(return, "cannot pin with io_uring fixed buffers");

	ret = hwp_inject_pfn(pfn);
	EXPECT_TRUE(hwp_pfn_poisoned(pfn)) {
		TH_LOG("inject: %d", ret);
	}
	/* Drop the pin and the mapping: the folio goes back to the allocator. */
	close(ring);
	munmap(raw, 2 * HPAGE_SIZE);
	hwp_write_file("/proc/sys/vm/drop_caches", "3");

	checked = hwp_allocate_and_look_for(pfn, 90, &seen);
	EXPECT_FALSE(seen) {
		TH_LOG("poisoned pfn %#llx handed out again (%ld pages checked)",
		       (unsigned long long)pfn, checked);
	}
	EXPECT_GT(checked, 1000);
}

TEST_HARNESS_MAIN
