// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel agents that copy user pages on their own must survive an
 * uncorrectable error in the source: give up on that page, undo what they
 * did, and report the pfn (memory_failure_queue()) so that only the owner
 * of the bad page pays, and only when it touches it.
 *
 * There is no faulty DIMM here, so the copies are made to fail through
 * the fail_copy_mc fault-injection capability (CONFIG_FAIL_COPY_MC):
 * copies from one chosen pfn fail as a machine check in the source page
 * would. The task filter confines it to the test process, so khugepaged
 * and kcompactd copying other pages meanwhile are not affected.
 *
 * The guest has two NUMA nodes so that move_pages() has somewhere to go.
 */
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define FAIL		"/sys/kernel/debug/fail_copy_mc/"
#define DISK_FILE	"/mnt/disk/hwpoison-copy-mc.dat"
#define THP		"/sys/kernel/mm/transparent_hugepage/"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	2
#endif

/*
 * Make machine-check-safe reads of @nr pfns from @pfn fail: only those by
 * this task if @self_only, by anyone (ksmd, say) otherwise.
 */
static int fail_reads_of_range(uint64_t pfn, uint64_t nr, bool self_only)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)nr);
	err = hwp_write_file(FAIL "nr_pfns", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)pfn);
	err = err ?: hwp_write_file(FAIL "pfn", buf);
	err = err ?: hwp_write_file(FAIL "task-filter", self_only ? "Y" : "N");
	err = err ?: hwp_write_file("/proc/self/make-it-fail", "1");
	err = err ?: hwp_write_file(FAIL "verbose", "1");
	err = err ?: hwp_write_file(FAIL "interval", "1");
	err = err ?: hwp_write_file(FAIL "space", "0");
	err = err ?: hwp_write_file(FAIL "times", "-1");
	err = err ?: hwp_write_file(FAIL "probability", "100");
	return err;
}

static int fail_reads_of(uint64_t pfn, bool self_only)
{
	return fail_reads_of_range(pfn, 1, self_only);
}

static int fail_copies_from(uint64_t pfn)
{
	return fail_reads_of(pfn, true);
}

static void fail_no_copies(void)
{
	hwp_write_file(FAIL "probability", "0");
	hwp_write_file(FAIL "pfn", "0");
	hwp_write_file(FAIL "nr_pfns", "1");
	hwp_write_file(FAIL "task-filter", "Y");
	hwp_write_file("/proc/self/make-it-fail", "0");
}

/* The report is queued: wait for the worker to poison the page. */
static bool poisoned_soon(uint64_t pfn)
{
	return hwp_wait_poisoned(pfn, 3000);
}

/*
 * A clean page cache page is flagged first and dropped after (off the LRU,
 * out of every page table): a touch in between faults on the flag. Wait
 * for the drop.
 */
static bool dropped_soon(uint64_t pfn)
{
	return poisoned_soon(pfn) &&
	       hwp_wait_kpf(pfn, BIT_ULL(KPF_LRU) | BIT_ULL(KPF_MMAP), 0, 3000);
}

/*
 * The page flag is set first, the page is unmapped after: wait for that
 * too before touching it.
 */
static bool contained_soon(uint64_t pfn, const char *addr)
{
	int i;

	if (!poisoned_soon(pfn))
		return false;
	for (i = 0; i < 300; i++) {
		if (!(hwp_pagemap_entry(addr) & HWP_PM_PRESENT))
			return true;
		usleep(10000);
	}
	return false;
}

/*
 * After the failed operation: the target page is poisoned and costs its
 * owner a SIGBUS (action required, at its address) when touched; every
 * other page is still mapped with its data, in 4 KiB pages.
 */
static void check_outcome(struct __test_metadata *_metadata, char *p,
			  int npages, int target, const uint64_t *pfns,
			  unsigned int seed)
{
	long ps = hwp_page_size();
	int i, huge = 0, bad = 0;

	EXPECT_TRUE(contained_soon(pfns[target], p + target * ps));
	EXPECT_EQ(0, hwp_sigbus_count());
	for (i = 0; i < npages; i++) {
		if (i == target)
			continue;
		if (!hwp_check(p + i * ps, ps, i + seed))
			bad++;
		if (hwp_kpageflags(hwp_virt_to_pfn(p + i * ps)) &
		    BIT_ULL(KPF_THP))
			huge++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, huge);
	EXPECT_EQ(0, hwp_sigbus_count());
	HWP_EXPECT_TOUCH_SIGBUS_AR(p + target * ps);
}

FIXTURE(copy_mc)
{
};

FIXTURE_SETUP(copy_mc)
{
	if (access(FAIL "pfn", W_OK))
		SKIP(return, "no fail_copy_mc (CONFIG_FAIL_COPY_MC)");
	/*
	 * Huge pages only where asked for, and the tests never ask:
	 * MADV_COLLAPSE ignores the policy, khugepaged and the fault path
	 * do not, so neither makes huge pages behind the test's back.
	 */
	ASSERT_EQ(0, hwp_write_file(THP "enabled", "madvise"));
	ASSERT_EQ(0, hwp_write_file(THP "shmem_enabled", "never"));
	hwp_catch_sigbus();
}

FIXTURE_TEARDOWN(copy_mc)
{
	fail_no_copies();
	/* Whatever a KSM case left behind: unmerged, ksmd at its defaults. */
	if (!access(HWP_KSM "run", W_OK)) {
		hwp_write_file(HWP_KSM "run", "2");
		if (!access(HWP_KSM "merge_across_nodes", W_OK))
			hwp_write_file(HWP_KSM "merge_across_nodes", "1");
		if (!access(HWP_DEBUGFS "corrupt-filter-enable", W_OK))
			hwp_write_file(HWP_DEBUGFS "corrupt-filter-enable",
				       "0");
		hwp_write_file(HWP_KSM "sleep_millisecs", "20");
		hwp_write_file(HWP_KSM "pages_to_scan", "100");
	}
}

/*
 * MADV_COLLAPSE of anonymous memory whose copy into the huge page fails:
 * the collapse is abandoned, the 4 KiB mappings stay.
 */
TEST_F(copy_mc, collapse_anon)
{
	long ps = hwp_page_size();
	int npages = HPAGE_SIZE / ps, target = 100, i, thp = 0;
	uint64_t pfns[512];
	char *p;

	p = hwp_map_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, p);
	for (i = 0; i < npages; i++) {
		hwp_fill(p + i * ps, ps, i);
		pfns[i] = hwp_virt_to_pfn(p + i * ps);
		if (hwp_kpageflags(pfns[i]) & BIT_ULL(KPF_THP))
			thp++;
	}
	ASSERT_EQ(0, thp);

	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	errno = 0;
	EXPECT_EQ(-1, madvise(p, HPAGE_SIZE, MADV_COLLAPSE));
	EXPECT_EQ(EINVAL, errno);
	fail_no_copies();
	check_outcome(_metadata, p, npages, target, pfns, 0);
}

/*
 * The same for shmem: the new huge page is dropped and the old pages go
 * back into the page cache; the file reads as before except the bad page.
 */
TEST_F(copy_mc, collapse_shmem)
{
	long ps = hwp_page_size();
	int npages = HPAGE_SIZE / ps, target = 200, i, bad = 0;
	uint64_t pfns[512];
	char *p, *buf;
	int fd;

	fd = memfd_create("hwpoison-copy-mc", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, HPAGE_SIZE));
	p = hwp_map_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, mmap(p, HPAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, fd, 0));
	for (i = 0; i < npages; i++) {
		hwp_fill(p + i * ps, ps, i + 7);
		pfns[i] = hwp_virt_to_pfn(p + i * ps);
	}

	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	errno = 0;
	EXPECT_EQ(-1, madvise(p, HPAGE_SIZE, MADV_COLLAPSE));
	EXPECT_EQ(EINVAL, errno);
	fail_no_copies();

	check_outcome(_metadata, p, npages, target, pfns, 7);
	/* Through the file: every other page reads back, the bad one EIO. */
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < npages; i++) {
		if (i == target)
			continue;
		if (pread(fd, buf, ps, (off_t)i * ps) != ps ||
		    !hwp_check(buf, ps, i + 7))
			bad++;
	}
	EXPECT_EQ(0, bad);
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, ps, (off_t)target * ps));
	EXPECT_EQ(EIO, errno);
	free(buf);
	close(fd);
}

/*
 * The same for a read-only file's page cache (READ_ONLY_THP_FOR_FS on
 * ext4): the collapse is abandoned and, the bad page being clean, it is
 * simply dropped: the file reads back whole from disk, nobody signalled.
 */
TEST_F(copy_mc, collapse_file)
{
	long ps = hwp_page_size();
	int npages = HPAGE_SIZE / ps, target = 300, i, bad = 0, fd;
	uint64_t pfn;
	char *p;

	fd = open(DISK_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		SKIP(return, "no scratch disk: %s", strerror(errno));
	ASSERT_EQ(0, hwp_write_filled(fd, npages, 43));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	/* Collapsing a file's page cache needs it open for reading only. */
	fd = open(DISK_FILE, O_RDONLY);
	ASSERT_LE(0, fd);
	p = hwp_map_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, mmap(p, HPAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED,
			  fd, 0));
	for (i = 0; i < npages; i++)
		bad += !hwp_check(p + i * ps, ps, i + 43);
	ASSERT_EQ(0, bad);
	pfn = hwp_virt_to_pfn(p + target * ps);
	ASSERT_NE(0, pfn);

	ASSERT_EQ(0, fail_copies_from(pfn));
	errno = 0;
	EXPECT_EQ(-1, madvise(p, HPAGE_SIZE, MADV_COLLAPSE));
	EXPECT_EQ(EINVAL, errno);
	fail_no_copies();

	EXPECT_TRUE(dropped_soon(pfn));
	for (i = 0; i < npages; i++)
		bad += !hwp_check(p + i * ps, ps, i + 43);
	EXPECT_EQ(0, bad);
	EXPECT_NE(pfn, hwp_virt_to_pfn(p + target * ps));
	EXPECT_EQ(0, hwp_sigbus_count());
	munmap(p, HPAGE_SIZE);
	close(fd);
	unlink(DISK_FILE);
}

/*
 * A copy-on-write fault whose source is bad: the writer gets SIGBUS at
 * once (there is nothing to give it); the page is poisoned for the other
 * sharer too, and nothing else changes for either.
 */
TEST_F(copy_mc, cow)
{
	long ps = hwp_page_size();
	int npages = 16, target = 5, i, status, go[2];
	uint64_t pfns[16];
	pid_t pid;
	char *p, c;

	p = hwp_map_filled(npages, 3, pfns);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad = 0;

		close(go[1]);
		hwp_catch_sigbus();
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		for (i = 0; i < npages; i++)
			if (i != target && !hwp_check(p + i * ps, ps, i + 3))
				bad++;
		if (bad || hwp_sigbus_count())
			_exit(11);
		if (!hwp_read_faults(p + target * ps, &c))
			_exit(12);
		_exit(hwp_last_sigbus.code == BUS_MCEERR_AR ? 0 : 13);
	}
	close(go[0]);

	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	EXPECT_TRUE(hwp_write_faults(p + target * ps, 1));
	fail_no_copies();
	EXPECT_EQ(1, hwp_sigbus_count());
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(p + target * ps, hwp_last_sigbus.addr);
	EXPECT_EQ(12, hwp_last_sigbus.lsb);
	EXPECT_TRUE(contained_soon(pfns[target], p + target * ps));

	/* The parent's other pages still copy on write, data intact. */
	hwp_reset_sigbus();
	for (i = 0; i < npages; i++) {
		if (i == target)
			continue;
		EXPECT_TRUE(hwp_check(p + i * ps, ps, i + 3));
		EXPECT_FALSE(hwp_write_faults(p + i * ps, 1));
	}
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_TRUE(hwp_read_faults(p + target * ps, &c));

	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Soft offline migrates the page; the copy fails: soft offline fails
 * without signalling anyone, and the page is then poisoned for real
 * because its read failed.
 */
TEST_F(copy_mc, soft_offline)
{
	long ps = hwp_page_size();
	int npages = 16, target = 3;
	uint64_t pfns[16];
	char *p;

	p = hwp_map_filled(npages, 11, pfns);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	errno = 0;
	EXPECT_EQ(-1, madvise(p + target * ps, ps, MADV_SOFT_OFFLINE));
	EXPECT_EQ(EBUSY, errno);
	fail_no_copies();
	check_outcome(_metadata, p, npages, target, pfns, 11);
}

/*
 * MADV_SOFT_OFFLINE over 16 pages whose sixth page's copy fails: the call
 * stops there with EBUSY. The five pages before it are retired (moved,
 * and their old pages poisoned), the ten after it are not (wherever they
 * are now, they keep their data and nothing of theirs is poisoned),
 * nobody is signalled, and the bad page is poisoned for real because its
 * read failed. Ours migrates the order-0 pages of a range together.
 */
TEST_F(copy_mc, soft_offline_range)
{
	long ps = hwp_page_size();
	int npages = 16, target = 5, i;
	uint64_t pfns[16];
	char *p;

	p = hwp_map_filled(npages, 23, pfns);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	errno = 0;
	EXPECT_EQ(-1, madvise(p, npages * ps, MADV_SOFT_OFFLINE));
	EXPECT_EQ(EBUSY, errno);
	fail_no_copies();
	for (i = 0; i < target; i++) {
		EXPECT_TRUE(hwp_kpageflags(pfns[i]) & BIT_ULL(KPF_HWPOISON));
		EXPECT_NE(pfns[i], hwp_virt_to_pfn(p + i * ps));
	}
	for (i = target + 1; i < npages; i++) {
		uint64_t now = hwp_virt_to_pfn(p + i * ps);

		EXPECT_FALSE(hwp_kpageflags(pfns[i]) & BIT_ULL(KPF_HWPOISON));
		EXPECT_FALSE(hwp_kpageflags(now) & BIT_ULL(KPF_HWPOISON));
	}
	check_outcome(_metadata, p, npages, target, pfns, 23);
}

static int node_of(void *addr)
{
	int status = -1;

	if (syscall(SYS_move_pages, 0, 1UL, &addr, NULL, &status, 0))
		return -1;
	return status;
}

/* move_pages() to the other node: that page stays, the others move. */
TEST_F(copy_mc, move_pages)
{
	long ps = hwp_page_size();
	int npages = 16, target = 9, i, from, to, status, moved = 0;
	uint64_t pfns[16];
	void *addr;
	char *p;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node only");
	p = hwp_map_filled(npages, 17, pfns);
	ASSERT_NE(NULL, p);
	from = node_of(p + target * ps);
	ASSERT_LE(0, from);
	to = !from;

	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	addr = p + target * ps;
	/* It returns how many pages it could not move. */
	EXPECT_EQ(1, syscall(SYS_move_pages, 0, 1UL, &addr, &to, &status,
			     MPOL_MF_MOVE));
	fail_no_copies();
	check_outcome(_metadata, p, npages, target, pfns, 17);

	/* Migration still works for the good pages. */
	for (i = 0; i < npages; i++) {
		if (i == target)
			continue;
		addr = p + i * ps;
		status = -1;
		syscall(SYS_move_pages, 0, 1UL, &addr, &to, &status,
			MPOL_MF_MOVE);
		if (status == to && hwp_check(p + i * ps, ps, i + 17))
			moved++;
	}
	EXPECT_EQ(npages - 1, moved);
}

/*
 * KSM hashes and compares candidate pages, other processes' pages, for its
 * own purposes. When reading one fails, ksmd must leave that page alone
 * (never merge it, never take it as the KSM copy) and report it; the rest
 * merge as usual. 6.12 reads them with plain loads (xxhash, memcmp), so
 * the injected error goes unnoticed and the bad page is merged; on real
 * hardware that read is a fatal machine check in kernel mode.
 */
TEST_F_TIMEOUT(copy_mc, ksm_merge, 120)
{
	long ps = hwp_page_size();
	int npages = 32, target = 5, i, merged = 0, bad = 0;
	uint64_t pfns[32];
	char *p;

	if (access(HWP_KSM "run", W_OK))
		SKIP(return, "no KSM");
	p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < npages; i++) {
		hwp_fill(p + i * ps, ps, 29);
		pfns[i] = hwp_virt_to_pfn(p + i * ps);
	}
	ASSERT_EQ(0, fail_reads_of(pfns[target], false));
	ASSERT_EQ(0, madvise(p, npages * ps, MADV_MERGEABLE));
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "sleep_millisecs", "10"));
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "pages_to_scan", "1000"));
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "1"));
	for (i = 0; i < 500 && merged < npages - 1; i++) {
		int j;

		usleep(20000);
		for (merged = 0, j = 0; j < npages; j++)
			if (j != target &&
			    (hwp_kpageflags(hwp_virt_to_pfn(p + j * ps)) &
			     BIT_ULL(KPF_KSM)))
				merged++;
	}
	EXPECT_EQ(npages - 1, merged);
	EXPECT_TRUE(poisoned_soon(pfns[target]));
	hwp_write_file(HWP_KSM "run", "2");
	fail_no_copies();

	for (i = 0; i < npages; i++)
		if (i != target && !hwp_check(p + i * ps, ps, 29))
			bad++;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, hwp_sigbus_count());
}

/*
 * Let ksmd run until the @npages pages at @p all map one KSM page, for up
 * to @ms: returns its pfn, 0 if that did not happen. ksmd keeps running.
 */
static uint64_t ksm_merged_into_one(char *p, int npages, int ms)
{
	long ps = hwp_page_size();
	uint64_t pfn;
	int i;

	if (hwp_write_file(HWP_KSM "sleep_millisecs", "10") ||
	    hwp_write_file(HWP_KSM "pages_to_scan", "1000") ||
	    hwp_write_file(HWP_KSM "run", "1"))
		return 0;
	for (; ms > 0; ms -= 20) {
		pfn = hwp_virt_to_pfn(p);
		for (i = 0; pfn && i < npages; i++)
			if (hwp_virt_to_pfn(p + i * ps) != pfn ||
			    !(hwp_kpageflags(pfn) & BIT_ULL(KPF_KSM)))
				pfn = 0;
		if (pfn)
			return pfn;
		usleep(20000);
	}
	return 0;
}

/* How many reads fail_copy_mc has failed since "times" was set to 1000. */
static long failed_reads(void)
{
	long left = -1;

	hwp_read_long(FAIL "times", &left);
	return left < 0 ? -1 : 1000 - left;
}

/*
 * A KSM page that memory failure has taken stays in ksmd's stable tree
 * for as long as its stable node lives. Every read of it fails, as it
 * would on real hardware. New pages with the same contents must neither
 * be merged into it (that would map the bad page again) nor make ksmd
 * read it and report it again on every pass: they merge among themselves,
 * and the bad pfn is booked once, by the report that took it.
 */
TEST_F_TIMEOUT(copy_mc, ksm_poisoned_stable_page, 120)
{
	long ps = hwp_page_size();
	int npages = 4, nnew = 8, i, bad = 0, scans;
	struct hwp_mf_event ev;
	uint64_t kpfn, newpfn;
	long full_scans = 0;
	char *a, *b, c;

	if (access(HWP_KSM "run", W_OK))
		SKIP(return, "no KSM");
	ASSERT_TRUE(hwp_have_debugfs_injector());
	a = hwp_map_filled(npages, 0, NULL);
	ASSERT_NE(NULL, a);
	for (i = 0; i < npages; i++)
		hwp_fill(a + i * ps, ps, 47);
	ASSERT_EQ(0, madvise(a, npages * ps, MADV_MERGEABLE));
	kpfn = ksm_merged_into_one(a, npages, 30000);
	ASSERT_NE(0, kpfn);

	ASSERT_EQ(0, hwp_mf_trace_start());
	ASSERT_EQ(0, hwp_inject_pfn(kpfn));
	ASSERT_TRUE(hwp_pfn_poisoned(kpfn));
	ASSERT_TRUE(hwp_wait_unmapped(a, 3000));
	ASSERT_EQ(0, fail_reads_of(kpfn, false));
	ASSERT_EQ(0, hwp_write_file(FAIL "times", "1000"));

	b = mmap(NULL, nnew * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, b);
	for (i = 0; i < nnew; i++)
		hwp_fill(b + i * ps, ps, 47);
	ASSERT_EQ(0, madvise(b, nnew * ps, MADV_MERGEABLE));
	newpfn = ksm_merged_into_one(b, nnew, 30000);
	/* A few more full passes over everything, to see any loop. */
	ASSERT_EQ(0, hwp_read_long(HWP_KSM "full_scans", &full_scans));
	for (scans = 0; scans < 300; scans++) {
		long now = 0;

		if (!hwp_read_long(HWP_KSM "full_scans", &now) &&
		    now >= full_scans + 3)
			break;
		usleep(20000);
	}
	EXPECT_LT(scans, 300);
	EXPECT_NE(0, newpfn);
	EXPECT_NE(kpfn, newpfn);
	for (i = 0; i < nnew; i++)
		if (hwp_virt_to_pfn(b + i * ps) == kpfn)
			bad++;
	EXPECT_EQ(0, bad);
	/*
	 * Only the injection booked the bad pfn, and ksmd never even tried
	 * to read it: a marked page is refused before it is read.
	 */
	EXPECT_EQ(1, hwp_mf_trace_read(&ev));
	EXPECT_EQ(kpfn, ev.pfn);
	EXPECT_EQ(0, failed_reads());

	/* Unmerge with nothing failing: every copy must come from a good page. */
	fail_no_copies();
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "2"));
	for (i = 0, bad = 0; i < nnew; i++)
		if (!hwp_check(b + i * ps, ps, 47))
			bad++;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_TRUE(hwp_read_faults(a, &c));
}

/*
 * Unmerging a KSM page whose copy fails: the fault reports the page and
 * returns VM_FAULT_HWPOISON; break_ksm() must stop there and leave the
 * page to memory_failure(), not fault again and again until the report's
 * worker has unmapped it. The unmerge fails with EHWPOISON, so that the
 * range stays mergeable (KSM still knows the page's mappers, and
 * memory_failure() needs them) until it is retried. The task runs
 * real-time on one CPU, so that worker (bound to that CPU) cannot run
 * meanwhile: each retry is another failed read. 6.12 retries until
 * real-time throttling lets the worker in.
 */
TEST_F_TIMEOUT(copy_mc, ksm_unmerge_poisoned, 120)
{
	struct sched_param sp = { .sched_priority = 1 };
	long ps = hwp_page_size();
	uint64_t kpfn;
	cpu_set_t cpus;
	int ret, err;
	long fails;
	char *a;

	if (access(HWP_KSM "run", W_OK))
		SKIP(return, "no KSM");
	a = hwp_map_filled(2, 0, NULL);
	ASSERT_NE(NULL, a);
	hwp_fill(a, ps, 53);
	hwp_fill(a + ps, ps, 53);
	ASSERT_EQ(0, madvise(a, 2 * ps, MADV_MERGEABLE));
	kpfn = ksm_merged_into_one(a, 2, 30000);
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "0"));
	ASSERT_NE(0, kpfn);

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	ASSERT_EQ(0, fail_copies_from(kpfn));
	ASSERT_EQ(0, hwp_write_file(FAIL "times", "1000"));
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_FIFO, &sp));
	ret = madvise(a, ps, MADV_UNMERGEABLE);
	err = errno;
	sp.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	fails = failed_reads();
	fail_no_copies();

	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EHWPOISON, err);
	EXPECT_EQ(1, fails);
	EXPECT_TRUE(contained_soon(kpfn, a));
	EXPECT_TRUE(hwp_wait_unmapped(a + ps, 3000));
	EXPECT_EQ(0, hwp_sigbus_count());
	HWP_EXPECT_TOUCH_SIGBUS_AR(a);
}

#ifndef MPOL_MF_MOVE_ALL
#define MPOL_MF_MOVE_ALL	4
#endif

/* Move the page at @addr to @node (shared ones too): 0 or -1. */
static int move_to_node(void *addr, int node)
{
	int status = -1;

	if (syscall(SYS_move_pages, 0, 1UL, &addr, &node, &status,
		    MPOL_MF_MOVE_ALL))
		return -1;
	return status == node ? 0 : -1;
}

/* Map @npages pages all filled with @seed, on NUMA node @node. */
static char *map_identical_on(int npages, unsigned int seed, int node)
{
	long ps = hwp_page_size();
	char *p = hwp_map_filled(npages, 0, NULL);
	int i;

	for (i = 0; p && i < npages; i++) {
		hwp_fill(p + i * ps, ps, seed);
		if (move_to_node(p + i * ps, node))
			return NULL;
	}
	return p;
}

/* Make memory failure skip KSM pages (@on) or not, through its filter. */
static int skip_ksm_pages(bool on)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%llu", BIT_ULL(KPF_KSM));
	err = hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-mask", buf);
	err = err ?: hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-value",
				    "0");
	return err ?: hwp_write_file(HWP_DEBUGFS "corrupt-filter-enable",
				     on ? "1" : "0");
}

/* Let ksmd make @n more full passes (it is running): false on timeout. */
static bool ksm_passes(long n)
{
	long start = -1, now = -1;
	int i;

	if (hwp_read_long(HWP_KSM "full_scans", &start))
		return false;
	for (i = 0; i < 1500; i++) {
		if (!hwp_read_long(HWP_KSM "full_scans", &now) &&
		    now >= start + n)
			return true;
		usleep(20000);
	}
	return false;
}

/* This process's pages that KSM counts as merged. */
static long merging_pages(void)
{
	long val = -1;

	hwp_read_long("/proc/self/ksm_merging_pages", &val);
	return val;
}

/*
 * With merge_across_nodes 0 each node has its own stable tree. A KSM page
 * that migration moved to another node is searched for in that node's
 * tree on ksmd's next pass, its stable node waiting on migrate_nodes. Here
 * the comparison with the other tree's KSM page fails. That is not "not
 * found": it would drop the rmap_item of the migrated page's mapper and
 * send a live KSM page to the unstable tree, where a later merge gives it
 * a new stable node while its other mappers still hang off the old one,
 * and KSM loses track of them. While the read keeps failing, KSM's
 * counters and this process's merged pages must stay put and migration
 * must find both mappers. Once the page that could not be read is
 * retired, the migrated page must end up in its new tree with every
 * mapper, take a new identical page, migrate again with all of them, and
 * unmerge to the right data with the counters back at zero.
 * 6.12 compares with plain loads: the injected error goes unnoticed.
 */
TEST_F_TIMEOUT(copy_mc, ksm_migrated_compare_fails, 180)
{
	long ps = hwp_page_size();
	uint64_t ka, kb, kpfn;
	char *a, *b, *c;
	int i, bad = 0;

	if (access(HWP_KSM "merge_across_nodes", W_OK))
		SKIP(return, "no KSM or no NUMA");
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node only");
	ASSERT_TRUE(hwp_have_debugfs_injector());
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "2"));
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "merge_across_nodes", "0"));

	/* A: two pages merged on node 0; B: two others merged on node 1. */
	a = map_identical_on(2, 61, 0);
	ASSERT_NE(NULL, a);
	b = map_identical_on(2, 67, 1);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, madvise(a, 2 * ps, MADV_MERGEABLE));
	ASSERT_EQ(0, madvise(b, 2 * ps, MADV_MERGEABLE));
	ka = ksm_merged_into_one(a, 2, 30000);
	kb = ksm_merged_into_one(b, 2, 30000);
	ASSERT_NE(0, ka);
	ASSERT_NE(0, kb);
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "0"));

	/*
	 * A's KSM page moves to node 1, and every read of B's fails. First
	 * memory failure leaves B's page alone (the filter skips KSM
	 * pages), so that the comparison fails on pass after pass: KSM
	 * must keep both of A's mappers all along.
	 */
	ASSERT_EQ(0, move_to_node(a, 1));
	ka = hwp_virt_to_pfn(a);
	ASSERT_EQ(ka, hwp_virt_to_pfn(a + ps));
	ASSERT_EQ(0, skip_ksm_pages(true));
	ASSERT_EQ(0, fail_reads_of(kb, false));
	ASSERT_EQ(0, hwp_write_file(FAIL "times", "1000"));
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "1"));
	EXPECT_TRUE(ksm_passes(3));
	EXPECT_LT(0, failed_reads());
	EXPECT_EQ(2, hwp_ksm_read("pages_shared"));
	EXPECT_EQ(2, hwp_ksm_read("pages_sharing"));
	EXPECT_EQ(4, merging_pages());
	EXPECT_FALSE(hwp_pfn_poisoned(kb));
	/* Migration finds every mapper through KSM's rmap: a round trip. */
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "0"));
	EXPECT_EQ(0, move_to_node(a, 0));
	EXPECT_EQ(hwp_virt_to_pfn(a), hwp_virt_to_pfn(a + ps));
	EXPECT_EQ(0, move_to_node(a, 1));
	ka = hwp_virt_to_pfn(a);
	EXPECT_EQ(ka, hwp_virt_to_pfn(a + ps));

	/* Then memory failure takes B's page, and the tree forgets it. */
	ASSERT_EQ(0, skip_ksm_pages(false));
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "1"));
	EXPECT_TRUE(poisoned_soon(kb));
	EXPECT_TRUE(hwp_wait_unmapped(b, 3000));
	/* Then C, with A's contents, on node 1: it must join A's page. */
	c = map_identical_on(1, 61, 1);
	ASSERT_NE(NULL, c);
	ASSERT_EQ(0, madvise(c, ps, MADV_MERGEABLE));
	/* B's mappings are gone: A's page, shared by A and C, is all. */
	for (i = 0; i < 1500; i++) {
		if (hwp_virt_to_pfn(c) == ka &&
		    hwp_ksm_read("pages_shared") == 1 &&
		    hwp_ksm_read("pages_sharing") == 2)
			break;
		usleep(20000);
	}
	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "0"));
	EXPECT_EQ(ka, hwp_virt_to_pfn(c));
	EXPECT_EQ(ka, hwp_virt_to_pfn(a));
	EXPECT_EQ(ka, hwp_virt_to_pfn(a + ps));
	EXPECT_EQ(1, hwp_ksm_read("pages_shared"));
	EXPECT_EQ(2, hwp_ksm_read("pages_sharing"));
	/* The comparison did read B's page, and failed. */
	EXPECT_LT(0, failed_reads());
	fail_no_copies();

	/* KSM still knows every mapper: all three move with the page. */
	EXPECT_EQ(0, move_to_node(c, 0));
	kpfn = hwp_virt_to_pfn(c);
	EXPECT_NE(ka, kpfn);
	EXPECT_EQ(kpfn, hwp_virt_to_pfn(a));
	EXPECT_EQ(kpfn, hwp_virt_to_pfn(a + ps));
	EXPECT_TRUE(hwp_kpageflags(kpfn) & BIT_ULL(KPF_KSM));

	ASSERT_EQ(0, hwp_write_file(HWP_KSM "run", "2"));
	for (i = 0; i < 2; i++)
		if (!hwp_check(a + i * ps, ps, 61))
			bad++;
	if (!hwp_check(c, ps, 61))
		bad++;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, hwp_ksm_read("pages_shared"));
	EXPECT_EQ(0, hwp_ksm_read("pages_sharing"));
	EXPECT_EQ(0, hwp_sigbus_count());
	HWP_EXPECT_TOUCH_SIGBUS_AR(b);
}

/*
 * The instrument injects only where it is aimed: with every other knob
 * set to fail and no pfn, copies succeed. An injected failure retires
 * its page for good, so a default of "any page" would retire healthy
 * pages of whoever copies next.
 */
TEST_F(copy_mc, no_pfn_no_failure)
{
	long ps = hwp_page_size();
	uint64_t pfn;
	char *p, c;
	int fd;

	/* A page cache page under a private mapping: a write copies it. */
	fd = memfd_create("hwpoison-copy-mc-nopfn", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hwp_write_filled(fd, 1, 59));
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_FALSE(hwp_read_faults(p, &c));
	pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, pfn);

	ASSERT_EQ(0, fail_copies_from(pfn));
	ASSERT_EQ(0, hwp_write_file(FAIL "pfn", "0"));
	ASSERT_EQ(0, hwp_write_file(FAIL "times", "1000"));
	EXPECT_FALSE(hwp_write_faults(p + 1, 1));
	EXPECT_EQ(0, failed_reads());
	fail_no_copies();
	EXPECT_NE(pfn, hwp_virt_to_pfn(p));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(0, hwp_sigbus_count());
	/* The copy is the page, with the one byte written. */
	EXPECT_EQ(1, p[1]);
	p[1] = (char)(1 * 31 + 59);
	EXPECT_TRUE(hwp_check(p, ps, 59));
	munmap(p, ps);
	close(fd);
}

/*
 * Fault in an anonymous THP whose subpages are all filled but @zero_from
 * onwards up to @zero_to (left zero); 0 pfns if no THP could be had.
 */
static char *thp_with_zero_pages(uint64_t *pfns, int zero_from, int zero_to)
{
	long ps = hwp_page_size();
	int npages = HPAGE_SIZE / ps, i;
	char *p = hwp_map_aligned(HPAGE_SIZE);

	if (!p || madvise(p, HPAGE_SIZE, MADV_HUGEPAGE))
		return NULL;
	for (i = 0; i < npages; i++)
		if (i < zero_from || i >= zero_to)
			hwp_fill(p + i * ps, ps, i + 31);
	for (i = 0; i < npages; i++)
		pfns[i] = hwp_virt_to_pfn(p + i * ps);
	if (!(hwp_kpageflags(pfns[0]) & BIT_ULL(KPF_THP)))
		return NULL;
	return p;
}

/* Zero-filled subpages read back as zeros, the rest as their pattern. */
static int thp_bad_bytes(const char *p, int zero_from, int zero_to,
			 int skip)
{
	long ps = hwp_page_size();
	int npages = HPAGE_SIZE / ps, i, bad = 0;
	long j;

	for (i = 0; i < npages; i++) {
		if (i == skip)
			continue;
		if (i < zero_from || i >= zero_to) {
			bad += !hwp_check(p + i * ps, ps, i + 31);
			continue;
		}
		for (j = 0; j < ps; j++)
			if (p[i * ps + j]) {
				bad++;
				break;
			}
	}
	return bad;
}

/*
 * Splitting an anonymous THP maps its zero-filled subpages to the shared
 * zero page, which means reading every subpage. A subpage that cannot be
 * read must not be judged zero and dropped: it is reported, stays, and
 * is contained for its owner. 6.12 compares with plain loads (on real
 * hardware, a fatal machine check in whoever splits); the injected error
 * goes unnoticed and the page is taken for zero.
 */
TEST_F(copy_mc, thp_split_zeropage)
{
	long ps = hwp_page_size();
	int target = 7;
	uint64_t pfns[512];
	char buf[96], c;
	char *p;

	p = thp_with_zero_pages(pfns, target, target + 1);
	if (!p)
		SKIP(return, "no THP");
	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	snprintf(buf, sizeof(buf), "%d,%#lx,%#lx", getpid(), (unsigned long)p,
		 (unsigned long)p + HPAGE_SIZE);
	EXPECT_EQ(0, hwp_write_file("/sys/kernel/debug/split_huge_pages", buf));
	fail_no_copies();
	/* khugepaged must not put it back together meanwhile. */
	madvise(p, HPAGE_SIZE, MADV_NOHUGEPAGE);

	EXPECT_FALSE(hwp_kpageflags(hwp_virt_to_pfn(p)) & BIT_ULL(KPF_THP));
	EXPECT_TRUE(contained_soon(pfns[target], p + target * ps));
	EXPECT_EQ(0, thp_bad_bytes(p, target, target + 1, target));
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_TRUE(hwp_read_faults(p + target * ps, &c));
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(p + target * ps, hwp_last_sigbus.addr);
}

/*
 * The deferred-split shrinker reads the subpages of THPs to find the
 * underused ones (mostly zero) and split them. An unreadable subpage must
 * leave the THP alone and be reported; it is then contained for its
 * owner. 6.12 reads with plain loads, finds the THP underused and splits
 * it, dropping the bad page as zero.
 */
TEST_F(copy_mc, thp_underused)
{
	int zero_to = 500;
	uint64_t pfns[512];
	long ptes_none;
	char old[16];
	char *p;

	if (hwp_read_long(THP "khugepaged/max_ptes_none", &ptes_none) ||
	    access(THP "shrink_underused", W_OK))
		SKIP(return, "no underused-THP shrinking");
	ASSERT_EQ(0, hwp_write_file(THP "shrink_underused", "1"));
	ASSERT_EQ(0, hwp_write_file(THP "khugepaged/max_ptes_none", "409"));
	p = thp_with_zero_pages(pfns, 0, zero_to);
	if (!p) {
		snprintf(old, sizeof(old), "%ld", ptes_none);
		hwp_write_file(THP "khugepaged/max_ptes_none", old);
		SKIP(return, "no THP");
	}
	/* The scan reads subpage 0 first: make that read fail. */
	ASSERT_EQ(0, fail_copies_from(pfns[0]));
	EXPECT_EQ(0, hwp_write_file("/proc/sys/vm/drop_caches", "2"));
	fail_no_copies();
	madvise(p, HPAGE_SIZE, MADV_NOHUGEPAGE);
	snprintf(old, sizeof(old), "%ld", ptes_none);
	hwp_write_file(THP "khugepaged/max_ptes_none", old);

	EXPECT_TRUE(contained_soon(pfns[0], p));
	EXPECT_EQ(0, thp_bad_bytes(p, 0, zero_to, 0));
	EXPECT_EQ(0, hwp_sigbus_count());
}

/*
 * Swap-out reads every page first (is it all zeroes, then compression or
 * I/O). A page that cannot be read must not be written out as if it
 * could: it is reported, stays in memory, and is contained for its owner,
 * who loses it only on touch; the rest swap out and come back intact.
 * 6.12 reads with plain loads (on real hardware, a fatal machine check in
 * reclaim); the injected error goes unnoticed and the page is swapped out.
 */
TEST_F(copy_mc, swap_out)
{
	long ps = hwp_page_size();
	int npages = 16, target = 6, i;
	uint64_t pfns[16];
	char *p;

	if (hwp_zram_swapon())
		SKIP(return, "no zram swap");
	p = hwp_map_filled(npages, 37, pfns);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, fail_copies_from(pfns[target]));
	EXPECT_EQ(0, madvise(p, npages * ps, MADV_PAGEOUT));
	fail_no_copies();
	for (i = 0; i < npages; i++)
		if (i != target)
			EXPECT_TRUE(hwp_pagemap_entry(p + i * ps) & HWP_PM_SWAP);
	check_outcome(_metadata, p, npages, target, pfns, 37);
}

/*
 * Reading another process's memory (process_vm_readv(), /proc/pid/mem,
 * which ps and debuggers use): an unreadable page must cost the reader an
 * EIO, not the machine, and its owner the page, on touch. 6.12 copies with
 * plain loads (on real hardware, a fatal machine check in the reader's
 * system call); the injected error goes unnoticed and the read succeeds.
 */
TEST_F(copy_mc, remote_read)
{
	long ps = hwp_page_size();
	int npages = 4, t_vm = 1, t_mem = 3, status, go[2];
	struct { uintptr_t base; uint64_t pfns[4]; int ready; } *r;
	struct iovec local, remote;
	char path[64], *buf;
	pid_t pid;
	int fd;

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char *p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int i, bad = 0;
		char c;

		close(go[1]);
		hwp_catch_sigbus();
		for (i = 0; i < npages; i++) {
			hwp_fill(p + i * ps, ps, i + 41);
			r->pfns[i] = hwp_virt_to_pfn(p + i * ps);
		}
		r->base = (uintptr_t)p;
		__atomic_store_n(&r->ready, 1, __ATOMIC_SEQ_CST);
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		for (i = 0; i < npages; i++)
			if (i != t_vm && i != t_mem &&
			    !hwp_check(p + i * ps, ps, i + 41))
				bad++;
		if (bad || hwp_sigbus_count())
			_exit(11);
		if (!hwp_read_faults(p + t_vm * ps, &c) ||
		    !hwp_read_faults(p + t_mem * ps, &c))
			_exit(12);
		_exit(0);
	}
	close(go[0]);
	while (!__atomic_load_n(&r->ready, __ATOMIC_SEQ_CST))
		usleep(1000);
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);

	/* A good page reads. */
	local.iov_base = buf;
	local.iov_len = ps;
	remote.iov_base = (void *)(r->base + 2 * ps);
	remote.iov_len = ps;
	EXPECT_EQ(ps, process_vm_readv(pid, &local, 1, &remote, 1, 0));
	EXPECT_TRUE(hwp_check(buf, ps, 2 + 41));

	ASSERT_EQ(0, fail_copies_from(r->pfns[t_vm]));
	remote.iov_base = (void *)(r->base + t_vm * ps);
	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(pid, &local, 1, &remote, 1, 0));
	EXPECT_EQ(EIO, errno);
	fail_no_copies();

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fail_copies_from(r->pfns[t_mem]));
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, ps, r->base + t_mem * ps));
	EXPECT_EQ(EIO, errno);
	fail_no_copies();
	close(fd);

	EXPECT_TRUE(poisoned_soon(r->pfns[t_vm]));
	EXPECT_TRUE(poisoned_soon(r->pfns[t_mem]));
	EXPECT_EQ(0, hwp_sigbus_count());
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	free(buf);
}

/*
 * More failed copies on one CPU than the per-CPU report queue holds,
 * before its worker can run: every one of the bad pages must still be
 * poisoned in the end; a report dropped on the floor leaves a bad page
 * in use. A real-time task pinned to one CPU keeps the worker (an
 * ordinary kworker bound to that CPU) off it while its copy-on-write
 * faults fail one after another.
 *
 * The sources are page cache pages under a private mapping, so no other
 * process is involved. Copies from the whole pfn range they span fail
 * here, so first every page this task shares copy-on-write with its
 * parent is made its own (mlockall() populates private mappings for
 * writing): the signal frames and the test's own variables must not be
 * the ones that fail.
 */
TEST_F_TIMEOUT(copy_mc, queue_burst, 120)
{
	long ps = hwp_page_size();
	struct sched_param sp = { .sched_priority = 1 };
	int npages = 40, i, faults = 0, poisoned = 0, fd;
	uint64_t pfns[40], lo = UINT64_MAX, hi = 0;
	cpu_set_t cpus;
	char *p, c;

	ASSERT_EQ(0, mlockall(MCL_CURRENT));
	fd = memfd_create("hwpoison-copy-mc-burst", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, npages * ps));
	p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < npages; i++)
		hwp_fill(p + i * ps, ps, i + 23);
	munmap(p, npages * ps);
	p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < npages; i++) {
		ASSERT_FALSE(hwp_read_faults(p + i * ps, &c));
		pfns[i] = hwp_virt_to_pfn(p + i * ps);
		ASSERT_NE(0, pfns[i]);
		lo = pfns[i] < lo ? pfns[i] : lo;
		hi = pfns[i] > hi ? pfns[i] : hi;
	}

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	ASSERT_EQ(0, fail_reads_of_range(lo, hi - lo + 1, true));
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_FIFO, &sp));
	for (i = 0; i < npages; i++)
		if (hwp_write_faults(p + i * ps, 1))
			faults++;
	sp.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	fail_no_copies();
	EXPECT_EQ(npages, faults);

	for (i = 0; i < 300; i++) {
		int n, j;

		for (n = 0, j = 0; j < npages; j++)
			n += hwp_pfn_poisoned(pfns[j]);
		poisoned = n;
		if (poisoned == npages)
			break;
		usleep(10000);
	}
	EXPECT_EQ(npages, poisoned);
	munlockall();
	close(fd);
}

TEST_HARNESS_MAIN
