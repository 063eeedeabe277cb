// SPDX-License-Identifier: GPL-2.0
/*
 * Hard offline of hugetlb pages: a free huge page leaves the pool, a
 * mapped one signals its mapper with the huge page's lsb and the exact
 * subpage, and a second error in the same huge page is counted alike in
 * every counter.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define HPAGE_SIZE	(2UL << 20)
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
	if (!hwp_have_debugfs_injector())
		SKIP(return, "debugfs hwpoison injector not available");
	if (hwp_write_file(NR_HUGE, "4") || rd(NR_HUGE) != 4)
		SKIP(return, "cannot reserve 4 huge pages");
}

FIXTURE_TEARDOWN(huge)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%ld", self->saved);
	hwp_write_file(NR_HUGE, buf);
}

/* A free huge page is dissolved: the pool shrinks, one raw page is lost. */
TEST_F(huge, free_huge_page)
{
	long hc, total;
	uint64_t pfn;

	pfn = hwp_free_huge_page_pfn();
	ASSERT_NE(0, pfn);
	ASSERT_EQ(4, rd(FREE_HUGE));
	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");

	EXPECT_EQ(0, hwp_inject_pfn(pfn + 5));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn + 5));
	EXPECT_EQ(3, rd(NR_HUGE));
	EXPECT_EQ(3, rd(FREE_HUGE));
	EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	if (total >= 0)
		EXPECT_EQ(total + 1, hwp_node_stat("total"));
	/* Reserving huge pages again never hands out the poisoned one. */
	EXPECT_EQ(0, hwp_write_file(NR_HUGE, "4"));
	EXPECT_EQ(4, rd(NR_HUGE));
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

	fd = open("/dev/hugepages/hwpoison-second", O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		SKIP(return, "no hugetlbfs at /dev/hugepages");
	unlink("/dev/hugepages/hwpoison-second");
	ASSERT_EQ(0, ftruncate(fd, HPAGE_SIZE));
	p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	hwp_fill(p, HPAGE_SIZE, 9);
	pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, pfn);

	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	if (total >= 0)
		EXPECT_EQ(total + 1, hwp_node_stat("total"));

	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");
	hwp_inject_pfn(pfn + 1);
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	if (total >= 0)
		EXPECT_EQ(total + 1, hwp_node_stat("total"));
	/* The same raw page again is not a new error. */
	hc = hwp_corrupted_kb();
	EXPECT_EQ(-EHWPOISON, hwp_inject_pfn(pfn + 1));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	close(fd);
}

TEST_HARNESS_MAIN
