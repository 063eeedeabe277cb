// SPDX-License-Identifier: GPL-2.0
/*
 * Soft offline: the data moves to a new page, the old pfn is retired, and
 * nobody is ever signalled. One variant per backing type, through madvise
 * and through sysfs soft_offline_page; then the page states with a path
 * of their own in 6.12's soft_offline_page(): clean unmapped page cache
 * (dropped, not copied), an unsplittable THP (EBUSY), swap cache, KSM, a
 * page on a per-cpu free list, a multi-page madvise range, and soft
 * offline with vm.memory_failure_recovery=0.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

enum backing { ANON, SHMEM, FILE_CLEAN, THP, HUGETLB };

static long read_sys_long(const char *path)
{
	long v = -1;

	if (hwp_read_long(path, &v))
		return -1;
	return v;
}

#define NR_HUGE		"/proc/sys/vm/nr_hugepages"
#define FREE_HUGE	"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define SOFT_ENABLE	"/proc/sys/vm/enable_soft_offline"

FIXTURE(soft)
{
	char *map;
	size_t len;
	char *target;
	int fd;
	long nr_huge_saved;
};

FIXTURE_VARIANT(soft)
{
	enum backing backing;
	bool sysfs;
};

FIXTURE_VARIANT_ADD(soft, anon)
{
	.backing = ANON,
};

FIXTURE_VARIANT_ADD(soft, anon_sysfs)
{
	.backing = ANON,
	.sysfs = true,
};

FIXTURE_VARIANT_ADD(soft, shmem)
{
	.backing = SHMEM,
};

FIXTURE_VARIANT_ADD(soft, file)
{
	.backing = FILE_CLEAN,
};

FIXTURE_VARIANT_ADD(soft, thp)
{
	.backing = THP,
};

FIXTURE_VARIANT_ADD(soft, hugetlb)
{
	.backing = HUGETLB,
};

FIXTURE_VARIANT_ADD(soft, hugetlb_sysfs)
{
	.backing = HUGETLB,
	.sysfs = true,
};

FIXTURE_SETUP(soft)
{
	long ps = hwp_page_size();
	int flags = MAP_SHARED;

	self->fd = -1;
	self->nr_huge_saved = read_sys_long(NR_HUGE);
	switch (variant->backing) {
	case ANON:
		self->len = 8 * ps;
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	case SHMEM:
		self->len = 8 * ps;
		self->fd = memfd_create("hwpoison-soft", 0);
		break;
	case FILE_CLEAN:
		self->len = 8 * ps;
		self->fd = open("/mnt/disk/hwpoison-soft.dat",
				O_RDWR | O_CREAT | O_TRUNC, 0600);
		ASSERT_LE(0, self->fd) {
			TH_LOG("no disk-backed file system at /mnt/disk");
		}
		break;
	case THP:
		self->len = HPAGE_SIZE;
		break;
	case HUGETLB:
		self->len = HPAGE_SIZE;
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
		ASSERT_EQ(0, hwp_write_file(NR_HUGE, "4"));
		ASSERT_EQ(4, read_sys_long(NR_HUGE));
		break;
	}
	if (self->fd >= 0)
		ASSERT_EQ(0, ftruncate(self->fd, self->len));
	if (variant->backing == THP) {
		/* A 2 MiB aligned range, so that it can be a PMD mapping. */
		self->map = hwp_map_aligned(HPAGE_SIZE);
		ASSERT_NE(NULL, self->map);
		ASSERT_EQ(0, madvise(self->map, HPAGE_SIZE, MADV_HUGEPAGE));
	} else {
		self->map = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
				 flags, self->fd, 0);
		ASSERT_NE(MAP_FAILED, self->map);
	}
	hwp_fill(self->map, self->len, 3);
	if (variant->backing == FILE_CLEAN) {
		ASSERT_EQ(0, msync(self->map, self->len, MS_SYNC));
		ASSERT_EQ(0, fsync(self->fd));
	}
	self->target = self->map + 5 * ps;
	if (variant->backing == THP)
		ASSERT_TRUE(hwp_kpageflags(hwp_virt_to_pfn(self->target)) &
			    BIT_ULL(KPF_THP));
}

FIXTURE_TEARDOWN(soft)
{
	char buf[32];

	if (self->nr_huge_saved >= 0) {
		snprintf(buf, sizeof(buf), "%ld", self->nr_huge_saved);
		hwp_write_file(NR_HUGE, buf);
	}
	if (self->fd >= 0)
		close(self->fd);
}

static int soft_offline(bool sysfs, char *addr, uint64_t pfn)
{
	if (sysfs)
		return hwp_sysfs_offline("soft", pfn);
	if (madvise(addr, hwp_page_size(), MADV_SOFT_OFFLINE))
		return -errno;
	return 0;
}

/* Data preserved, pfn changed, old pfn retired, nobody signalled. */
TEST_F(soft, migrates)
{
	long ps = hwp_page_size();
	long hc = hwp_corrupted_kb();
	long nr_huge = read_sys_long(NR_HUGE);
	long free_huge = read_sys_long(FREE_HUGE);
	uint64_t old, new;

	hwp_catch_sigbus();
	old = hwp_virt_to_pfn(self->target);
	ASSERT_NE(0, old);
	ASSERT_EQ(0, soft_offline(variant->sysfs, self->target, old));

	EXPECT_TRUE(hwp_check(self->map, self->len, 3));
	new = hwp_virt_to_pfn(self->target);
	EXPECT_NE(0, new);
	EXPECT_NE(old, new);
	EXPECT_TRUE(hwp_pfn_poisoned(old));
	EXPECT_FALSE(hwp_pfn_poisoned(new));
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	if (variant->backing == HUGETLB) {
		/* The old huge page is dissolved: the pool shrinks by one. */
		EXPECT_EQ(nr_huge - 1, read_sys_long(NR_HUGE));
		EXPECT_EQ(free_huge - 1, read_sys_long(FREE_HUGE));
	}
	/* The memory is still fully usable. */
	hwp_fill(self->map, self->len, 4);
	EXPECT_TRUE(hwp_check(self->map, self->len, 4));
	EXPECT_EQ(0, hwp_sigbus_count());
}

/* Soft offline of an already retired pfn succeeds and counts nothing. */
TEST_F(soft, twice)
{
	long hc;
	uint64_t old;

	old = hwp_virt_to_pfn(self->target);
	ASSERT_EQ(0, soft_offline(variant->sysfs, self->target, old));
	hc = hwp_corrupted_kb();
	EXPECT_EQ(0, hwp_sysfs_offline("soft", old));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_TRUE(hwp_check(self->map, self->len, 3));
}

/* vm.enable_soft_offline=0: EOPNOTSUPP, nothing moves. */
TEST_F(soft, disabled)
{
	long saved = read_sys_long(SOFT_ENABLE);
	uint64_t old = hwp_virt_to_pfn(self->target);
	char buf[24];
	int ret;

	ASSERT_GE(saved, 0);
	ASSERT_EQ(0, hwp_write_file(SOFT_ENABLE, "0"));
	ret = soft_offline(variant->sysfs, self->target, old);
	snprintf(buf, sizeof(buf), "%ld", saved);
	ASSERT_EQ(0, hwp_write_file(SOFT_ENABLE, buf));
	EXPECT_EQ(-EOPNOTSUPP, ret);
	EXPECT_EQ(old, hwp_virt_to_pfn(self->target));
	EXPECT_FALSE(hwp_pfn_poisoned(old));
	EXPECT_TRUE(hwp_check(self->map, self->len, 3));
}

/* A free huge page is dissolved and retired; the pool shrinks by one. */
TEST(free_hugetlb)
{
	long nr, hc, saved = read_sys_long(NR_HUGE);
	uint64_t pfn;
	char buf[24];

	ASSERT_EQ(0, hwp_write_file(NR_HUGE, "2"));
	ASSERT_EQ(2, read_sys_long(NR_HUGE));
	pfn = hwp_free_huge_page_pfn();
	ASSERT_NE(0, pfn);
	ASSERT_EQ(2, read_sys_long(FREE_HUGE));
	nr = read_sys_long(NR_HUGE);
	hc = hwp_corrupted_kb();

	EXPECT_EQ(0, hwp_sysfs_offline("soft", pfn + 3));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn + 3));
	EXPECT_EQ(nr - 1, read_sys_long(NR_HUGE));
	EXPECT_EQ(1, read_sys_long(FREE_HUGE));
	EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	snprintf(buf, sizeof(buf), "%ld", saved);
	hwp_write_file(NR_HUGE, buf);
}

/*
 * A page that cannot migrate (long-term pinned by io_uring fixed buffers)
 * fails cleanly: an error, the page is not marked, the data stays, and
 * nobody is signalled.
 */
TEST(pinned_fails_cleanly)
{
	long ps = hwp_page_size();
	long hc = hwp_corrupted_kb();
	uint64_t pfn;
	int ring, ret;
	char *p;

	hwp_catch_sigbus();
	p = hwp_map_filled(1, 11, &pfn);
	ASSERT_NE(NULL, p);
	ring = hwp_pin_longterm(p, ps);
	ASSERT_LE(0, ring);

	ret = madvise(p, ps, MADV_SOFT_OFFLINE);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(pfn, hwp_virt_to_pfn(p));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_TRUE(hwp_check(p, ps, 11));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_sigbus_count());
	close(ring);
}

/*
 * A clean page cache page that nobody maps (read with read()) is not
 * copied: soft offline drops it from the page cache ("invalidated") and
 * retires the pfn. The data comes back from the disk on the next read,
 * into a new page.
 */
TEST(clean_pagecache_invalidated)
{
	const char *path = "/mnt/disk/hwpoison-soft-pc.dat";
	long ps = hwp_page_size();
	unsigned char vec[8];
	uint64_t old, new;
	char *buf, *m;
	int fd, i;
	long hc;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	buf = malloc(8 * ps);
	ASSERT_NE(NULL, buf);
	hwp_fill(buf, 8 * ps, 21);
	ASSERT_EQ(8 * ps, pwrite(fd, buf, 8 * ps, 0));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	memset(buf, 0, 8 * ps);
	ASSERT_EQ(8 * ps, pread(fd, buf, 8 * ps, 0));
	ASSERT_TRUE(hwp_check(buf, 8 * ps, 21));
	/* Its pfn, through a mapping that goes away again. */
	m = mmap(NULL, 8 * ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(buf[5 * ps], m[5 * ps]);
	old = hwp_virt_to_pfn(m + 5 * ps);
	ASSERT_NE(0, old);
	ASSERT_EQ(0, munmap(m, 8 * ps));
	ASSERT_EQ(0, hwp_kpagecount(old));
	ASSERT_FALSE(hwp_kpageflags(old) & BIT_ULL(KPF_DIRTY));

	hc = hwp_corrupted_kb();
	EXPECT_EQ(0, hwp_sysfs_offline("soft", old));
	EXPECT_TRUE(hwp_pfn_poisoned(old));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());

	/* Gone from the page cache, not moved: only page 5 is missing. */
	m = mmap(NULL, 8 * ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, mincore(m, 8 * ps, vec));
	for (i = 0; i < 8; i++)
		EXPECT_EQ(i != 5, vec[i] & 1) {
			TH_LOG("page %d", i);
		}
	memset(buf, 0, ps);
	ASSERT_EQ(ps, pread(fd, buf, ps, 5 * ps));
	EXPECT_TRUE(hwp_check(buf, ps, 21));
	EXPECT_TRUE(hwp_check(m + 5 * ps, ps, 21));
	new = hwp_virt_to_pfn(m + 5 * ps);
	EXPECT_NE(0, new);
	EXPECT_NE(old, new);
	EXPECT_FALSE(hwp_pfn_poisoned(new));
	munmap(m, 8 * ps);
	close(fd);
	unlink(path);
	free(buf);
}

/*
 * A THP that cannot be split (long-term pinned): soft offline of one of
 * its subpages fails with EBUSY ("thp split failed"), through madvise and
 * through sysfs alike, and nothing changes.
 */
TEST(thp_unsplittable)
{
	long ps = hwp_page_size();
	uint64_t pfn;
	int ring;
	long hc;
	char *p;

	hwp_catch_sigbus();
	p = hwp_map_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, HPAGE_SIZE, MADV_HUGEPAGE));
	hwp_fill(p, HPAGE_SIZE, 13);
	pfn = hwp_virt_to_pfn(p + 5 * ps);
	ASSERT_EQ(hwp_virt_to_pfn(p) + 5, pfn);
	ASSERT_TRUE(hwp_kpageflags(pfn) & BIT_ULL(KPF_THP));
	ring = hwp_pin_longterm(p, HPAGE_SIZE);
	ASSERT_LE(0, ring);
	hc = hwp_corrupted_kb();

	EXPECT_EQ(-1, madvise(p + 5 * ps, ps, MADV_SOFT_OFFLINE));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-EBUSY, hwp_sysfs_offline("soft", pfn));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(pfn, hwp_virt_to_pfn(p + 5 * ps));
	EXPECT_TRUE(hwp_kpageflags(pfn) & BIT_ULL(KPF_THP));
	EXPECT_TRUE(hwp_check(p, HPAGE_SIZE, 13));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_sigbus_count());
	close(ring);
}

static bool in_set(uint64_t pfn, const uint64_t *set, int n)
{
	while (n--)
		if (set[n] == pfn)
			return true;
	return false;
}

/*
 * A swap cache page that nobody maps (swapped out to zram, read back by
 * MADV_WILLNEED): soft offline migrates it, the swap cache keeps a page
 * for the entry (still resident), and the owner faults in every byte.
 */
FIXTURE(swap)
{
};

FIXTURE_SETUP(swap)
{
	ASSERT_EQ(0, hwp_zram_swapon());
}

FIXTURE_TEARDOWN(swap)
{
}

TEST_F_TIMEOUT(swap, swapcache_migrated, 120)
{
	enum { NP = 16 };
	uint64_t before[1024], after[1024], old = 0;
	long ps = hwp_page_size();
	int i, nbefore, nafter;
	long hc;
	char *p;

	hwp_catch_sigbus();
	p = hwp_map_filled(NP, 40, NULL);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, NP * ps, MADV_PAGEOUT));
	for (i = 0; i < NP; i++)
		ASSERT_TRUE(hwp_pagemap_entry(p + i * ps) & HWP_PM_SWAP);
	nbefore = hwp_find_pfns(BIT_ULL(KPF_SWAPCACHE),
				BIT_ULL(KPF_MMAP) | BIT_ULL(KPF_HWPOISON),
				before, 1024);
	ASSERT_EQ(0, madvise(p, NP * ps, MADV_WILLNEED));
	ASSERT_TRUE(hwp_wait_resident(p, NP, 5000));
	nafter = hwp_find_pfns(BIT_ULL(KPF_SWAPCACHE),
			       BIT_ULL(KPF_MMAP) | BIT_ULL(KPF_HWPOISON),
			       after, 1024);
	for (i = 0; i < nafter && !old; i++)
		if (!in_set(after[i], before, nbefore))
			old = after[i];
	ASSERT_NE(0, old);
	/* Still unmapped: the pages are swap entries in our page table. */
	for (i = 0; i < NP; i++)
		ASSERT_TRUE(hwp_pagemap_entry(p + i * ps) & HWP_PM_SWAP);

	hc = hwp_corrupted_kb();
	EXPECT_EQ(0, hwp_sysfs_offline("soft", old));
	EXPECT_TRUE(hwp_pfn_poisoned(old));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	/* Moved, not dropped: every page is still in the swap cache. */
	EXPECT_TRUE(hwp_wait_resident(p, NP, 0));
	for (i = 0; i < NP; i++) {
		EXPECT_TRUE(hwp_check(p + i * ps, ps, i + 40)) {
			TH_LOG("page %d", i);
		}
		EXPECT_NE(old, hwp_virt_to_pfn(p + i * ps));
	}
	EXPECT_EQ(0, hwp_sigbus_count());
	munmap(p, NP * ps);
}

/*
 * A KSM page, soft offlined by pfn: migrated like any anonymous page,
 * both mappers now share the new page, still a KSM page, data intact.
 */
FIXTURE(ksm)
{
};

FIXTURE_SETUP(ksm)
{
}

FIXTURE_TEARDOWN(ksm)
{
}

TEST_F_TIMEOUT(ksm, merged_page_migrated, 120)
{
	long ps = hwp_page_size();
	uint64_t old, new;
	char *a;
	long hc;

	hwp_catch_sigbus();
	a = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_EQ(0, madvise(a, 2 * ps, MADV_NOHUGEPAGE));
	hwp_fill(a, ps, 77);
	hwp_fill(a + ps, ps, 77);
	old = hwp_ksm_merge(a, a + ps, 30000);
	/*
	 * Two private mappings share one pfn only through KSM (6.12's
	 * KPF_KSM is set on every anonymous page, so it proves nothing).
	 */
	ASSERT_NE(0, old);

	hc = hwp_corrupted_kb();
	EXPECT_EQ(0, hwp_sysfs_offline("soft", old));
	EXPECT_TRUE(hwp_pfn_poisoned(old));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	new = hwp_virt_to_pfn(a);
	EXPECT_NE(0, new);
	EXPECT_NE(old, new);
	EXPECT_EQ(new, hwp_virt_to_pfn(a + ps));
	EXPECT_FALSE(hwp_pfn_poisoned(new));
	EXPECT_TRUE(hwp_check(a, ps, 77));
	EXPECT_TRUE(hwp_check(a + ps, ps, 77));
	EXPECT_EQ(0, hwp_sigbus_count());
	munmap(a, 2 * ps);
}

/*
 * A page just freed sits on this CPU's per-cpu free list, in no buddy
 * list (no flag at all). Soft offline drains the zone's lists
 * (zone_pcp_disable()), finds it free in the buddy allocator and takes it
 * off: 0, retired, counted.
 */
TEST(pcp_free_page)
{
	long ps = hwp_page_size();
	char buf[32];
	uint64_t pfn;
	int fd, n;
	long hc;
	char *p;

	p = hwp_map_filled(1, 2, &pfn);
	ASSERT_NE(NULL, p);
	ASSERT_NE(0, pfn);
	/* Ready to write before the page is freed: nothing to allocate. */
	fd = open(HWP_SYSFS_MEM "soft_offline_page", O_WRONLY);
	ASSERT_LE(0, fd);
	n = snprintf(buf, sizeof(buf), "%#llx",
		     (unsigned long long)pfn * ps);
	hc = hwp_corrupted_kb();
	ASSERT_EQ(0, madvise(p, ps, MADV_DONTNEED));
	ASSERT_EQ(0, hwp_kpageflags(pfn));

	EXPECT_EQ(n, write(fd, buf, n));
	close(fd);
	EXPECT_EQ(BIT_ULL(KPF_HWPOISON), hwp_kpageflags(pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_kpagecount(pfn));
}

/*
 * One MADV_SOFT_OFFLINE call over 16 pages moves every one of them: new
 * pfns, data intact, the 16 old pfns retired, HardwareCorrupted +64 kB.
 * Over 4 KiB pages, and over 16 subpages of a THP.
 */
FIXTURE(range)
{
	char *p;
};

FIXTURE_VARIANT(range)
{
	bool thp;
};

FIXTURE_VARIANT_ADD(range, small) { .thp = false };
FIXTURE_VARIANT_ADD(range, thp) { .thp = true };

FIXTURE_SETUP(range)
{
	long ps = hwp_page_size();

	self->p = hwp_map_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, self->p);
	ASSERT_EQ(0, madvise(self->p, HPAGE_SIZE, variant->thp ?
			     MADV_HUGEPAGE : MADV_NOHUGEPAGE));
	hwp_fill(self->p, HPAGE_SIZE, 17);
	ASSERT_EQ(variant->thp, !!(hwp_kpageflags(hwp_virt_to_pfn(self->p)) &
				   BIT_ULL(KPF_THP)));
	/* The range starts at page 5. */
	self->p += 5 * ps;
}

FIXTURE_TEARDOWN(range)
{
}

TEST_F(range, sixteen_pages)
{
	enum { NP = 16 };
	long ps = hwp_page_size();
	int i, moved = 0, retired = 0;
	uint64_t old[NP];
	long hc;

	hwp_catch_sigbus();
	for (i = 0; i < NP; i++) {
		old[i] = hwp_virt_to_pfn(self->p + i * ps);
		ASSERT_NE(0, old[i]);
	}
	hc = hwp_corrupted_kb();
	ASSERT_EQ(0, madvise(self->p, NP * ps, MADV_SOFT_OFFLINE));

	for (i = 0; i < NP; i++) {
		uint64_t new = hwp_virt_to_pfn(self->p + i * ps);

		moved += new != old[i] && !hwp_pfn_poisoned(new);
		retired += hwp_pfn_poisoned(old[i]);
	}
	EXPECT_EQ(NP, moved);
	EXPECT_EQ(NP, retired);
	EXPECT_EQ(hc + NP * ps / 1024, hwp_corrupted_kb());
	EXPECT_TRUE(hwp_check(self->p - 5 * ps, HPAGE_SIZE, 17));
	EXPECT_EQ(0, hwp_sigbus_count());
}

/*
 * vm.memory_failure_recovery=0 makes the next memory failure panic; soft
 * offline is no memory failure and works as before (madvise on a page in
 * use, sysfs on a free page). Nothing here may reach memory_failure();
 * the teardown runs in the parent, so the sysctl comes back whatever
 * happens to the test.
 */
#define RECOVERY	"/proc/sys/vm/memory_failure_recovery"

FIXTURE(recovery_off)
{
	long saved;
};

FIXTURE_SETUP(recovery_off)
{
	self->saved = -1;
	ASSERT_EQ(0, hwp_read_long(RECOVERY, &self->saved));
	ASSERT_EQ(1, self->saved);
	ASSERT_EQ(0, hwp_write_file(RECOVERY, "0"));
}

FIXTURE_TEARDOWN_PARENT(recovery_off)
{
	char buf[24];
	long now = -1;

	if (self->saved < 0)
		return;
	snprintf(buf, sizeof(buf), "%ld", self->saved);
	EXPECT_EQ(0, hwp_write_file(RECOVERY, buf));
	EXPECT_EQ(0, hwp_read_long(RECOVERY, &now));
	EXPECT_EQ(self->saved, now);
}

TEST_F(recovery_off, soft_offline_works)
{
	long ps = hwp_page_size();
	uint64_t old, free_pfn;
	long hc, now = -1;
	char *p;

	p = hwp_map_filled(1, 23, &old);
	ASSERT_NE(NULL, p);
	hc = hwp_corrupted_kb();
	EXPECT_EQ(0, madvise(p, ps, MADV_SOFT_OFFLINE));
	EXPECT_NE(old, hwp_virt_to_pfn(p));
	EXPECT_TRUE(hwp_pfn_poisoned(old));
	EXPECT_TRUE(hwp_check(p, ps, 23));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());

	free_pfn = hwp_free_pfn();
	ASSERT_NE(0, free_pfn);
	EXPECT_EQ(0, hwp_sysfs_offline("soft", free_pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(free_pfn));
	EXPECT_EQ(hc + 2 * ps / 1024, hwp_corrupted_kb());
	/* The setting held all along. */
	EXPECT_EQ(0, hwp_read_long(RECOVERY, &now));
	EXPECT_EQ(0, now);
}

TEST_HARNESS_MAIN
