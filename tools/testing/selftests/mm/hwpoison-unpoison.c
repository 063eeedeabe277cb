// SPDX-License-Identifier: GPL-2.0
/*
 * Unpoison (debugfs unpoison-pfn) is a testing aid: it gives back a page
 * that software poisoned, and only when nobody else holds it. 6.12's
 * unpoison_memory() refuses, in this order:
 *  - every pfn with EOPNOTSUPP once a real machine check has been handled
 *    in this boot (hw_memory_failure), poisoned or not;
 *  - with EBUSY a page whose PG_hwpoison is clear, a folio with more than
 *    one reference (mapped, pinned or held in a page cache: a mapping
 *    always holds a reference, so this check is the one a mapped page
 *    meets), a slab, page-table or reserved page.
 * A page that soft offline migrated away from is no such page: its one
 * reference is the one page_handle_poison() took, and unpoison returns it
 * to the allocator.
 *
 * after_machine_check needs the host's machine check and leaves unpoison
 * disabled for the rest of the boot: it runs in a boot of its own
 * (hwpoison-unpoison-mce in harness/suite.conf).
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define NR_HUGE		"/proc/sys/vm/nr_hugepages"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB	0x0004U
#endif

/*
 * A real machine check, then unpoison of anything: EOPNOTSUPP, and the
 * pages stay as they are. Before it, unpoison of the same kind of page
 * works, so it is the machine check that changes the answer.
 */
FIXTURE(mce)
{
};

FIXTURE_SETUP(mce)
{
}

FIXTURE_TEARDOWN(mce)
{
}

TEST_F_TIMEOUT(mce, after_machine_check, 120)
{
	long ps = hwp_page_size();
	uint64_t soft, hw, never;
	long hc;
	char *p;
	int ms;

	ASSERT_TRUE(hwp_host_present()) {
		TH_LOG("needs harness/host/mce.py (HWP_HOST unset)");
	}
	soft = hwp_free_pfn();
	ASSERT_NE(0, soft);
	ASSERT_EQ(0, hwp_inject_pfn(soft));
	ASSERT_EQ(0, hwp_unpoison_pfn(soft));
	ASSERT_FALSE(hwp_pfn_poisoned(soft));
	ASSERT_EQ(0, hwp_inject_pfn(soft));

	p = hwp_map_filled(1, 7, &hw);
	ASSERT_NE(NULL, p);
	ASSERT_NE(0, hw);
	hc = hwp_corrupted_kb();
	ASSERT_EQ(0, hwp_request_mce("srao", hw));
	ASSERT_TRUE(hwp_wait_poisoned(hw, 30000));
	/* HardwareCorrupted moves when the handling is complete. */
	for (ms = 0; ms < 5000 && hwp_corrupted_kb() != hc + ps / 1024;
	     ms += 20)
		usleep(20000);
	ASSERT_EQ(hc + ps / 1024, hwp_corrupted_kb());

	/* A free page, never poisoned, picked now that the others are taken. */
	never = hwp_free_pfn();
	ASSERT_NE(0, never);
	ASSERT_NE(hw, never);
	ASSERT_NE(soft, never);

	hc = hwp_corrupted_kb();
	/* The software-poisoned page... */
	EXPECT_EQ(-EOPNOTSUPP, hwp_unpoison_pfn(soft));
	EXPECT_TRUE(hwp_pfn_poisoned(soft));
	/* ...the machine-checked one... */
	EXPECT_EQ(-EOPNOTSUPP, hwp_unpoison_pfn(hw));
	EXPECT_TRUE(hwp_pfn_poisoned(hw));
	/* ...and a page never poisoned: refused before its state is read. */
	EXPECT_FALSE(hwp_pfn_poisoned(never));
	EXPECT_EQ(-EOPNOTSUPP, hwp_unpoison_pfn(never));
	EXPECT_FALSE(hwp_pfn_poisoned(never));
	EXPECT_EQ(hc, hwp_corrupted_kb());
}

/*
 * A page the kernel mapped into a process (an io_uring ring: not on the
 * LRU, so memory failure cannot unmap it and leaves it mapped, marked,
 * "get hwpoison page: Ignored"). Unpoison: EBUSY, the mapping's reference.
 */
TEST(mapped)
{
	long ps = hwp_page_size();
	struct io_uring_params params;
	uint64_t pfn;
	long hc;
	int ring;
	char *p;

	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 1, &params);
	ASSERT_LE(0, ring);
	ASSERT_TRUE(params.features & IORING_FEAT_SINGLE_MMAP);
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 ring, IORING_OFF_SQ_RING);
	ASSERT_NE(MAP_FAILED, p);
	pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, pfn);
	ASSERT_EQ(1, hwp_kpagecount(pfn));
	ASSERT_FALSE(hwp_kpageflags(pfn) & BIT_ULL(KPF_LRU));

	hc = hwp_corrupted_kb();
	EXPECT_EQ(-EBUSY, hwp_inject_pfn(pfn));
	ASSERT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	/* Still mapped: memory failure took no reference and unmapped none. */
	EXPECT_EQ(pfn, hwp_virt_to_pfn(p));
	EXPECT_EQ(1, hwp_kpagecount(pfn));

	hc = hwp_corrupted_kb();
	EXPECT_EQ(-EBUSY, hwp_unpoison_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	/* The ring is still the kernel's and still works. */
	EXPECT_EQ(params.sq_entries,
		  *(unsigned int *)(p + params.sq_off.ring_entries));
	munmap(p, ps);
	close(ring);
}

/*
 * A page held by someone else (long-term pinned as an io_uring fixed
 * buffer) and mapped by nobody. Unpoison: EBUSY while the pin lasts; once
 * the pin is gone the only reference left is memory failure's, and
 * unpoison gives the page back.
 *
 * (How the report itself ends is not this test's business: 6.12 books an
 * unmapped anonymous page as "clean LRU page: Recovered" and returns 0
 * without looking at the pin, me_pagecache_clean() assumes memory
 * failure's is the only reference left.)
 */
TEST(held_then_released)
{
	long ps = hwp_page_size();
	uint64_t pfn;
	int ring, ret, ms;
	long hc;
	char *p;

	p = hwp_map_filled(1, 3, &pfn);
	ASSERT_NE(NULL, p);
	ASSERT_NE(0, pfn);
	ring = hwp_pin_longterm(p, ps);
	ASSERT_LE(0, ring);
	ASSERT_EQ(0, munmap(p, ps));
	ASSERT_EQ(0, hwp_kpagecount(pfn));
	ASSERT_TRUE(hwp_kpageflags(pfn) & BIT_ULL(KPF_LRU));

	hc = hwp_corrupted_kb();
	/* As hwpoison-hard's pinned_longterm_anon pins it for 6.12. */
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	ASSERT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());

	hc = hwp_corrupted_kb();
	EXPECT_EQ(-EBUSY, hwp_unpoison_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc, hwp_corrupted_kb());

	/* The ring's teardown (a worker) unpins the page. */
	close(ring);
	ret = -EBUSY;
	for (ms = 0; ms < 5000 && ret == -EBUSY; ms += 20) {
		ret = hwp_unpoison_pfn(pfn);
		if (ret == -EBUSY)
			usleep(20000);
	}
	EXPECT_EQ(0, ret);
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc - ps / 1024, hwp_corrupted_kb());
	/* Freed: on a per-cpu list (no flag) or in the buddy allocator. */
	EXPECT_EQ(0, hwp_kpageflags(pfn) & ~BIT_ULL(KPF_BUDDY));
}

/*
 * Kernel pages: slab, page table, reserved. Memory failure marks them and
 * leaves them to their owner; unpoison refuses them by type, EBUSY.
 */
FIXTURE(kernel_page)
{
	uint64_t pfn;
};

FIXTURE_VARIANT(kernel_page)
{
	int kpf;
};

FIXTURE_VARIANT_ADD(kernel_page, slab) { .kpf = KPF_SLAB };
FIXTURE_VARIANT_ADD(kernel_page, page_table) { .kpf = KPF_PGTABLE };
FIXTURE_VARIANT_ADD(kernel_page, reserved) { .kpf = KPF_RESERVED };

FIXTURE_SETUP(kernel_page)
{
	ASSERT_EQ(1, hwp_find_pfns(BIT_ULL(variant->kpf),
				   BIT_ULL(KPF_HWPOISON), &self->pfn, 1));
}

FIXTURE_TEARDOWN(kernel_page)
{
}

TEST_F(kernel_page, busy)
{
	long hc;

	EXPECT_EQ(-EBUSY, hwp_inject_pfn(self->pfn));
	ASSERT_TRUE(hwp_pfn_poisoned(self->pfn));
	hc = hwp_corrupted_kb();
	EXPECT_EQ(-EBUSY, hwp_unpoison_pfn(self->pfn)) {
		TH_LOG("pfn %#llx, kpageflags %#llx",
		       (unsigned long long)self->pfn,
		       (unsigned long long)hwp_kpageflags(self->pfn));
	}
	EXPECT_TRUE(hwp_pfn_poisoned(self->pfn));
	EXPECT_TRUE(hwp_kpageflags(self->pfn) & BIT_ULL(variant->kpf));
	EXPECT_EQ(hc, hwp_corrupted_kb());
}

/*
 * A raw error page of a hugetlb page still in use (a hugetlbfs page stays
 * in the page cache after an error). 6.12 keeps the error on the huge
 * page (PG_hwpoison of the head, which /proc/kpageflags shows on every
 * subpage) and the raw page in a list: unpoison of the raw pfn finds its
 * own PG_hwpoison clear, and of the head pfn finds the page cache's
 * references: EBUSY both, and the error stays.
 */
FIXTURE(huge)
{
	long saved;
};

FIXTURE_SETUP(huge)
{
	long nr = -1;

	hwp_read_long(NR_HUGE, &self->saved);
	ASSERT_EQ(0, hwp_write_file(NR_HUGE, "2"));
	ASSERT_EQ(0, hwp_read_long(NR_HUGE, &nr));
	ASSERT_EQ(2, nr);
}

FIXTURE_TEARDOWN(huge)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%ld", self->saved);
	hwp_write_file(NR_HUGE, buf);
}

TEST_F(huge, raw_page_in_use)
{
	long ps = hwp_page_size();
	uint64_t head;
	long hc;
	char *p;
	int fd;

	fd = memfd_create("hwpoison-unpoison", MFD_HUGETLB);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, HPAGE_SIZE));
	p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	hwp_fill(p, HPAGE_SIZE, 5);
	head = hwp_virt_to_pfn(p);
	ASSERT_NE(0, head);

	hc = hwp_corrupted_kb();
	EXPECT_EQ(0, hwp_inject_pfn(head + 3));
	ASSERT_TRUE(hwp_pfn_poisoned(head + 3));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());

	hc = hwp_corrupted_kb();
	EXPECT_EQ(-EBUSY, hwp_unpoison_pfn(head + 3));
	EXPECT_EQ(-EBUSY, hwp_unpoison_pfn(head));
	EXPECT_TRUE(hwp_pfn_poisoned(head + 3));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	munmap(p, HPAGE_SIZE);
	close(fd);
}

/*
 * A page a new owner has: flags only an owner gives a page. The page the
 * allocator hands out next on a CPU is the one freed last there, so a
 * page unpoison has just freed may be taken before the case looks.
 */
#define KPF_PRIVATE		35
#define OWNED_FLAGS	(BIT_ULL(KPF_LRU) | BIT_ULL(KPF_SLAB) |		\
			 BIT_ULL(KPF_PGTABLE) | BIT_ULL(KPF_UPTODATE) |	\
			 BIT_ULL(KPF_ANON) | BIT_ULL(KPF_MMAP) |	\
			 BIT_ULL(KPF_PRIVATE) |				\
			 BIT_ULL(KPF_COMPOUND_HEAD) | BIT_ULL(KPF_COMPOUND_TAIL))

/*
 * Soft offline moved a page in use away and retired the old pfn: that
 * pfn is unpoisoned (0), counted out of HardwareCorrupted, and free
 * again (or already someone else's: not held by a leftover reference);
 * the data stays where soft offline put it. A second unpoison finds the
 * flag clear: EBUSY.
 */
TEST(soft_offlined_in_use)
{
	long ps = hwp_page_size();
	uint64_t old, new, flags;
	long hc, count;
	char *p;

	p = hwp_map_filled(1, 9, &old);
	ASSERT_NE(NULL, p);
	ASSERT_NE(0, old);
	hc = hwp_corrupted_kb();
	ASSERT_EQ(0, madvise(p, ps, MADV_SOFT_OFFLINE));
	new = hwp_virt_to_pfn(p);
	ASSERT_NE(old, new);
	ASSERT_TRUE(hwp_pfn_poisoned(old));
	ASSERT_EQ(hc + ps / 1024, hwp_corrupted_kb());

	EXPECT_EQ(0, hwp_unpoison_pfn(old));
	EXPECT_FALSE(hwp_pfn_poisoned(old));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	count = hwp_kpagecount(old);
	flags = hwp_kpageflags(old);
	EXPECT_TRUE((!count && !(flags & ~BIT_ULL(KPF_BUDDY))) ||
		    (flags & OWNED_FLAGS)) {
		TH_LOG("old pfn: count %ld, kpageflags %#llx", count,
		       (unsigned long long)flags);
	}
	EXPECT_EQ(new, hwp_virt_to_pfn(p));
	EXPECT_TRUE(hwp_check(p, ps, 9));

	EXPECT_EQ(-EBUSY, hwp_unpoison_pfn(old));
	EXPECT_EQ(hc, hwp_corrupted_kb());
}

TEST_HARNESS_MAIN
