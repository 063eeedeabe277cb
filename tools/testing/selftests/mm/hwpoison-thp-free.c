// SPDX-License-Identifier: GPL-2.0
/*
 * A THP that cannot be split (it is long-term pinned) keeps its poisoned
 * subpage inside the large folio. When the pin goes and the folio is freed,
 * the poisoned pfn must still never be handed out again, even on a kernel
 * without DEBUG_VM, where the allocator does not check new pages.
 */
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define HPAGE_SIZE	(2UL << 20)
#define KPF_THP		22

/* Fault in @percent of free memory; true if @pfn is among the pages. */
static bool allocator_hands_out(uint64_t pfn, int percent, long *checked)
{
	long ps = hwp_page_size();
	long pages = hwp_meminfo_kb("MemFree") / (ps / 1024) * percent / 100;
	bool seen = false;
	uint64_t *ents;
	long i, n;
	char *p;
	int fd;

	p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return false;
	madvise(p, pages * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		p[i * ps] = 1;
	ents = malloc(pages * sizeof(*ents));
	fd = open("/proc/self/pagemap", O_RDONLY);
	n = pread(fd, ents, pages * sizeof(*ents),
		  (uintptr_t)p / ps * sizeof(*ents)) / sizeof(*ents);
	close(fd);
	for (i = 0; i < n; i++)
		if ((ents[i] & HWP_PM_PRESENT) &&
		    (ents[i] & HWP_PM_PFN_MASK) == pfn)
			seen = true;
	*checked = n;
	free(ents);
	munmap(p, pages * ps);
	return seen;
}

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
	long ps = hwp_page_size(), checked = 0;
	struct io_uring_params params;
	struct iovec iov;
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
	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 1, &params);
	if (ring < 0)
		SKIP(return, "io_uring not available");
	iov.iov_base = p;
	iov.iov_len = HPAGE_SIZE;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		    &iov, 1))
		SKIP(return, "cannot pin with io_uring fixed buffers");

	ret = hwp_inject_pfn(pfn);
	EXPECT_TRUE(hwp_pfn_poisoned(pfn)) {
		TH_LOG("inject: %d", ret);
	}
	/* Drop the pin and the mapping: the folio goes back to the allocator. */
	close(ring);
	munmap(raw, 2 * HPAGE_SIZE);
	hwp_write_file("/proc/sys/vm/drop_caches", "3");

	EXPECT_FALSE(allocator_hands_out(pfn, 90, &checked)) {
		TH_LOG("poisoned pfn %#llx handed out again (%ld pages checked)",
		       (unsigned long long)pfn, checked);
	}
	EXPECT_GT(checked, 1000);
}

TEST_HARNESS_MAIN
