// SPDX-License-Identifier: GPL-2.0
/*
 * Hard offline of hugetlb pages: a free huge page leaves the pool and is
 * dissolved, its healthy subpages back in the buddy allocator and the
 * poisoned one withheld; a mapped one signals its mapper with the huge
 * page's lsb and the exact subpage; a second error in the same huge page is
 * counted alike in every counter; a repeated report gets each interface's
 * own answer; and read() of a hugetlbfs file stops short of a poisoned
 * subpage.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define NR_HUGE		"/proc/sys/vm/nr_hugepages"
#define FREE_HUGE	"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

static long rd(const char *path)
{
	long v = -1;

	hwp_read_long(path, &v);
	return v;
}

FIXTURE(huge)
{
	long saved;
};

FIXTURE_SETUP(huge)
{
	self->saved = rd(NR_HUGE);
	ASSERT_TRUE(hwp_have_debugfs_injector());
	ASSERT_EQ(0, hwp_write_file(NR_HUGE, "4"));
	ASSERT_EQ(4, rd(NR_HUGE));
}

FIXTURE_TEARDOWN(huge)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%ld", self->saved);
	hwp_write_file(NR_HUGE, buf);
}

/*
 * A free huge page is dissolved: the pool shrinks, the 511 healthy subpages
 * go back to the buddy allocator at once (MemFree up by exactly 511 pages)
 * and the poisoned one is withheld, counted once. The rest of the system
 * allocates a page now and then, and such an allocation takes one of these
 * small free blocks first; so a window that was not quiet is tried again
 * on another free huge page, up to three in all.
 */
TEST_F_TIMEOUT(huge, free_huge_page, 300)
{
	long hc, total, before = -1, after = -1, ps = hwp_page_size();
	int ms, nbuddy = -1, i;
	uint64_t pfn;

	for (i = 0; i < 3; i++) {
		if (i)
			TH_LOG("MemFree %ld kB -> %ld kB, %d healthy pages free: %s",
			       before, after, nbuddy, "not a quiet window");
		pfn = hwp_free_huge_page_pfn();
		ASSERT_NE(0, pfn);
		ASSERT_EQ(4 - i, rd(FREE_HUGE));
		hc = hwp_corrupted_kb();
		total = hwp_node_stat("total");
		before = hwp_memfree_settled_kb(pfn);
		if (before < 0 && hwp_debug_kernel())
			before = hwp_memfree_now_kb(pfn);
		ASSERT_GT(before, 0);

		EXPECT_EQ(0, hwp_inject_pfn(pfn + 5));
		after = hwp_memfree_settled_kb(pfn);
		if (after < 0 && hwp_debug_kernel())
			after = hwp_memfree_now_kb(pfn);
		EXPECT_TRUE(hwp_pfn_poisoned(pfn + 5));
		EXPECT_EQ(3 - i, rd(NR_HUGE));
		EXPECT_EQ(3 - i, rd(FREE_HUGE));
		EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
		EXPECT_EQ(total + 1, hwp_node_stat("total"));
		HWP_EXPECT_WITHHELD(pfn + 5);

		/*
		 * Dissolving is synchronous here; poll anyway, with a bound,
		 * each time with the pcp lists drained.
		 */
		for (ms = 0; ms < 2000; ms += 20) {
			ASSERT_EQ(0, hwp_drain_pcp(pfn));
			nbuddy = hwp_count_flags(pfn, HPAGE_NR,
						 BIT_ULL(KPF_BUDDY));
			if (nbuddy == HPAGE_NR - 1)
				break;
			usleep(20000);
		}
		if (after == before + (HPAGE_NR - 1) * ps / 1024 &&
		    nbuddy == HPAGE_NR - 1)
			break;
	}
	/*
	 * A debug kernel's MemFree is never quiet (it moved by 2 MiB within
	 * one window with nothing else running): there the 511 healthy
	 * pages are only counted in the free lists, above.
	 */
	if (hwp_debug_kernel() && after != before + (HPAGE_NR - 1) * ps / 1024)
		TH_LOG("debug kernel: MemFree never quiet, not weighed");
	else
		EXPECT_EQ(before + (HPAGE_NR - 1) * ps / 1024, after);
	EXPECT_EQ(HPAGE_NR - 1, nbuddy);

	/* Reserving huge pages again never hands out the poisoned one. */
	EXPECT_EQ(0, hwp_write_file(NR_HUGE, "4"));
	EXPECT_EQ(4, rd(NR_HUGE));
	HWP_EXPECT_WITHHELD(pfn + 5);
}

/*
 * The raw page of a dissolved huge page is an ordinary poisoned page: a
 * second hard report is refused with -EHWPOISON, soft offline finds it
 * already poisoned and succeeds, and nothing is counted again.
 */
TEST_F(huge, free_huge_page_reported_twice)
{
	long hc, total;
	uint64_t pfn;

	pfn = hwp_free_huge_page_pfn();
	ASSERT_NE(0, pfn);
	ASSERT_EQ(0, hwp_inject_pfn(pfn + 5));
	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");

	EXPECT_EQ(-EHWPOISON, hwp_inject_pfn(pfn + 5));
	EXPECT_EQ(-EHWPOISON, hwp_sysfs_offline("hard", pfn + 5));
	EXPECT_EQ(0, hwp_sysfs_offline("soft", pfn + 5));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(total, hwp_node_stat("total"));
	HWP_EXPECT_WITHHELD(pfn + 5);
}

/*
 * A one-huge-page hugetlbfs file, mapped shared at *@map, its subpage i
 * filled with seed i + @seed; *@pfn is the huge page's first pfn. The file
 * descriptor, or -1.
 */
static int huge_file(char **map, uint64_t *pfn, unsigned int seed)
{
	long ps = hwp_page_size(), i;
	char *p;
	int fd;

	fd = memfd_create("hwpoison-hugetlb", MFD_HUGETLB);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, HPAGE_SIZE))
		goto fail;
	p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	for (i = 0; i < HPAGE_NR; i++)
		hwp_fill(p + i * ps, ps, i + seed);
	*pfn = hwp_virt_to_pfn(p);
	*map = p;
	if (*pfn)
		return fd;
	munmap(p, HPAGE_SIZE);
fail:
	close(fd);
	return -1;
}

struct mapper {
	uint64_t pfn;
	uintptr_t base;
	int count, code, lsb;
	uintptr_t addr;
};

/*
 * An early-kill mapper of an anonymous huge page learns about an error in
 * a tail page at once: BUS_MCEERR_AO, the huge page's lsb, and the address
 * of the poisoned 4 KiB subpage.
 */
TEST_F(huge, mapped_tail_page_early_kill)
{
	long ps = hwp_page_size();
	struct mapper *m;
	int up[2], down[2], status;
	pid_t pid;
	char c;

	m = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char *p;

		hwp_catch_sigbus();
		prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
		p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		hwp_fill(p, HPAGE_SIZE, 3);
		m->pfn = hwp_virt_to_pfn(p);
		m->base = (uintptr_t)p;
		if (write(up[1], "r", 1) != 1)
			_exit(3);
		while (read(down[0], &c, 1) < 0 && errno == EINTR)
			;
		m->count = hwp_sigbus_count();
		m->code = hwp_last_sigbus.code;
		m->addr = (uintptr_t)hwp_last_sigbus.addr;
		m->lsb = hwp_last_sigbus.lsb;
		_exit(0);
	}
	ASSERT_EQ(1, read(up[0], &c, 1));
	ASSERT_NE(0, m->pfn);
	EXPECT_EQ(0, hwp_inject_pfn(m->pfn + 3));
	ASSERT_EQ(1, write(down[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1, m->count);
	EXPECT_EQ(BUS_MCEERR_AO, m->code);
	EXPECT_EQ(21, m->lsb);
	EXPECT_EQ(m->base + 3 * ps, m->addr);
}

/*
 * A hugetlbfs page stays in the page cache after its first error; a second
 * error in another of its subpages is a new corrupted page, counted in
 * HardwareCorrupted and in the node counters alike.
 */
TEST_F(huge, second_error_same_huge_page)
{
	long hc, total, ps = hwp_page_size();
	uint64_t pfn;
	char *p;
	int fd;

	fd = huge_file(&p, &pfn, 9);
	ASSERT_LE(0, fd);

	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	EXPECT_EQ(total + 1, hwp_node_stat("total"));

	/*
	 * Another subpage of a huge page already poisoned: counted, and
	 * answered -EHWPOISON like any error in a poisoned huge page.
	 */
	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");
	EXPECT_EQ(-EHWPOISON, hwp_inject_pfn(pfn + 1));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	EXPECT_EQ(total + 1, hwp_node_stat("total"));
	/* The same raw page again is not a new error. */
	hc = hwp_corrupted_kb();
	EXPECT_EQ(-EHWPOISON, hwp_inject_pfn(pfn + 1));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	munmap(p, HPAGE_SIZE);
	close(fd);
}

struct repeat {
	int ret, err, sigbus;
};

/*
 * A report of a subpage already poisoned in a hugetlbfs page that stays in
 * the page cache, through each interface: the debugfs injector and sysfs
 * hard_offline_page return memory_failure()'s -EHWPOISON; sysfs
 * soft_offline_page cannot take the huge page (memory failure cleared its
 * migratable flag) and calls it unhandlable, -EIO; MADV_HWPOISON by a
 * process that maps the file again never reaches memory_failure(): the
 * page cannot be faulted in for get_user_pages(), -EFAULT, and no signal.
 * None of them counts anything.
 */
TEST_F(huge, repeat_report_in_use)
{
	long hc, total, ps = hwp_page_size();
	struct repeat *r;
	uint64_t pfn;
	int fd, status;
	pid_t pid;
	char *p;

	fd = huge_file(&p, &pfn, 5);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hwp_inject_pfn(pfn + 3));
	munmap(p, HPAGE_SIZE);
	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");

	EXPECT_EQ(-EHWPOISON, hwp_inject_pfn(pfn + 3));
	EXPECT_EQ(-EHWPOISON, hwp_sysfs_offline("hard", pfn + 3));
	EXPECT_EQ(-EIO, hwp_sysfs_offline("soft", pfn + 3));

	r = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		hwp_catch_sigbus();
		p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (p == MAP_FAILED)
			_exit(2);
		r->ret = madvise(p + 3 * ps, ps, MADV_HWPOISON);
		r->err = errno;
		r->sigbus = hwp_sigbus_count();
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(-1, r->ret);
	EXPECT_EQ(EFAULT, r->err);
	EXPECT_EQ(0, r->sigbus);

	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(total, hwp_node_stat("total"));
	close(fd);
}

/*
 * read() of a hugetlbfs file whose page has a subpage poisoned from the
 * outside (the debugfs injector, by pfn, while nobody maps it): the reader
 * gets every byte before that subpage, then EIO at it, and every byte after
 * it when it reads from there; it is never signalled.
 */
TEST_F(huge, read_across_poisoned_subpage)
{
	long ps = hwp_page_size(), bad = HPAGE_NR / 2 + 1;
	unsigned char *buf;
	ssize_t n;
	uint64_t pfn;
	long i;
	char *p;
	int fd;

	hwp_catch_sigbus();
	fd = huge_file(&p, &pfn, 0);
	ASSERT_LE(0, fd);
	munmap(p, HPAGE_SIZE);
	ASSERT_EQ(0, hwp_inject_pfn(pfn + bad));
	buf = malloc(HPAGE_SIZE);
	ASSERT_NE(NULL, buf);

	/* One read of the whole file stops short, exactly at the subpage. */
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	n = read(fd, buf, HPAGE_SIZE);
	EXPECT_EQ(bad * ps, n);
	for (i = 0; n > 0 && i < bad; i++)
		if (!hwp_check(buf + i * ps, ps, i))
			break;
	EXPECT_EQ(bad, i);
	/* The next read starts at the poisoned subpage: EIO, no progress. */
	errno = 0;
	EXPECT_EQ(-1, read(fd, buf, HPAGE_SIZE));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(bad * ps, lseek(fd, 0, SEEK_CUR));
	/* Anywhere inside it, too. */
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, 10, bad * ps + 100));
	EXPECT_EQ(EIO, errno);
	/* A read that starts before it ends where it begins. */
	EXPECT_EQ(ps - 10, pread(fd, buf, 2 * ps, (bad - 1) * ps + 10));
	/* And the rest of the huge page reads back from the next subpage. */
	n = pread(fd, buf, HPAGE_SIZE, (bad + 1) * ps);
	EXPECT_EQ(HPAGE_SIZE - (bad + 1) * ps, n);
	for (i = bad + 1; n > 0 && i < HPAGE_NR; i++)
		if (!hwp_check(buf + (i - bad - 1) * ps, ps, i))
			break;
	EXPECT_EQ(HPAGE_NR, i);
	EXPECT_EQ(0, hwp_sigbus_count());
	free(buf);
	close(fd);
}

/*
 * An anonymous huge page that cannot be dissolved when it is poisoned (it
 * is long-term pinned) goes back to the pool when the pin and the mapping
 * go; when the pool shrinks it is dissolved, and then, as for a free huge
 * page, the 511 healthy subpages are free and the poisoned one is withheld.
 * (6.12 moves PG_hwpoison to the raw page and frees the whole order-9 block
 * to the buddy allocator, which only keeps poisoned order-0 pages back.)
 * Last in this file: it may leave a poisoned page in the allocator.
 */
TEST_F(huge, pinned_then_freed)
{
	long free_huge = rd(FREE_HUGE);
	uint64_t pfn;
	int ring, ms;
	char *p;

	p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	hwp_fill(p, HPAGE_SIZE, 1);
	pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, pfn);
	ring = hwp_pin_longterm(p, HPAGE_SIZE);
	ASSERT_LE(0, ring);

	ASSERT_EQ(free_huge - 1, rd(FREE_HUGE));

	/* Unmapped, but the pin keeps it from being dissolved: failed. */
	EXPECT_EQ(-EBUSY, hwp_inject_pfn(pfn + 5));
	EXPECT_EQ(free_huge - 1, rd(FREE_HUGE));

	/* Unpinned (by io_uring's ring teardown, a worker) and unmapped. */
	close(ring);
	munmap(p, HPAGE_SIZE);
	for (ms = 0; ms < 5000 && rd(FREE_HUGE) != free_huge; ms += 20)
		usleep(20000);
	ASSERT_EQ(free_huge, rd(FREE_HUGE));

	/*
	 * Shrink the pool to what is in use: every free huge page, this one
	 * too, is dissolved. (Poisoned hugetlbfs pages of earlier cases are
	 * still held by memory failure: they stay.)
	 */
	ASSERT_EQ(0, hwp_write_file(NR_HUGE, "0"));
	ASSERT_EQ(0, rd(FREE_HUGE));
	HWP_EXPECT_WITHHELD(pfn + 5);
	EXPECT_EQ(HPAGE_NR - 1,
		  hwp_count_flags(pfn, HPAGE_NR, BIT_ULL(KPF_BUDDY)));

	/* Do not leave a poisoned page in the allocator for what follows. */
	if (hwp_kpageflags(pfn + 5) & BIT_ULL(KPF_BUDDY))
		hwp_unpoison_pfn(pfn + 5);
}

/*
 * A report that the injector's filters exclude leaves no mark. sysfs
 * hard_offline_page reaches memory_failure() with the filters on (the
 * injector's own file would filter before it); with only free buddy
 * pages let through, a free huge page is claimed, then rolled back: it
 * stays whole in the pool, no page of it is poisoned, nothing is booked.
 */
TEST_F(huge, filtered_report_leaves_no_mark)
{
	uint64_t pfn = hwp_free_huge_page_pfn();
	long hc = hwp_corrupted_kb(), total = hwp_node_stat("total");
	long nr = rd(NR_HUGE), nfree = rd(FREE_HUGE);
	int ret;

	ASSERT_NE(0, pfn);
	ASSERT_LT(0, nfree);
	ASSERT_EQ(0, hwp_flags_filter(BIT_ULL(HWP_KPF_BUDDY)));
	ret = hwp_sysfs_offline("hard", pfn + 5);
	hwp_flags_filter(0);
	EXPECT_EQ(0, ret);
	EXPECT_FALSE(hwp_pfn_poisoned(pfn + 5));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(nr, rd(NR_HUGE));
	EXPECT_EQ(nfree, rd(FREE_HUGE));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(total, hwp_node_stat("total"));
}

TEST_HARNESS_MAIN
