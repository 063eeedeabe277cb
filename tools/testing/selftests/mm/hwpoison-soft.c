// SPDX-License-Identifier: GPL-2.0
/*
 * Soft offline: the data moves to a new page, the old pfn is retired, and
 * nobody is ever signalled. One variant per backing type, through madvise
 * and through sysfs soft_offline_page.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define HPAGE_SIZE	(2UL << 20)
#define KPF_THP		22
#define KPF_HUGE	17

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
	char *raw;

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
		if (self->fd < 0)
			SKIP(return, "no disk-backed file system at /mnt/disk");
		break;
	case THP:
		self->len = HPAGE_SIZE;
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	case HUGETLB:
		self->len = HPAGE_SIZE;
		flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
		if (hwp_write_file(NR_HUGE, "4") || read_sys_long(NR_HUGE) != 4)
			SKIP(return, "cannot reserve 4 huge pages");
		break;
	}
	if (self->fd >= 0)
		ASSERT_EQ(0, ftruncate(self->fd, self->len));
	if (variant->backing == THP) {
		/* A 2 MiB aligned range, so that it can be a PMD mapping. */
		raw = mmap(NULL, 2 * HPAGE_SIZE, PROT_READ | PROT_WRITE, flags,
			   -1, 0);
		ASSERT_NE(MAP_FAILED, raw);
		self->map = (char *)(((uintptr_t)raw + HPAGE_SIZE - 1) &
				     ~(HPAGE_SIZE - 1));
		if (madvise(self->map, HPAGE_SIZE, MADV_HUGEPAGE))
			SKIP(return, "THP not available");
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
	if (variant->backing == THP &&
	    !(hwp_kpageflags(hwp_virt_to_pfn(self->target)) & BIT_ULL(KPF_THP)))
		SKIP(return, "the range was not backed by a THP");
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

	if (hwp_write_file(NR_HUGE, "2") || read_sys_long(NR_HUGE) != 2)
		SKIP(return, "cannot reserve 2 huge pages");
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
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	hwp_fill(p, ps, 11);
	pfn = hwp_virt_to_pfn(p);
	ring = hwp_pin_longterm(p, ps);
	if (ring < 0)
		SKIP(return, "cannot pin with io_uring fixed buffers");

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

TEST_HARNESS_MAIN
