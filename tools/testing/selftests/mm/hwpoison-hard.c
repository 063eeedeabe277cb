// SPDX-License-Identifier: GPL-2.0
/*
 * Hard offline of pages in states the type tests do not reach: long-term
 * pinned, under writeback, isolated by a migration, a tail of a shmem or a
 * file THP, mlocked (the Mlocked counter), free in each place the
 * allocator keeps free pages, kernel pages that carry no flag at all, and
 * the injector's filters as each reporting entry applies them. Every case
 * pins what 6.12 does: the entry's return value, the page flags after,
 * HardwareCorrupted, signals, and how the report is booked
 * (ras:memory_failure_event and the per-node counters).
 *
 * Writeback is held, not raced: the file lives on an ext2 file system on
 * a loop device whose backing file is on /mnt/disk, and /mnt/disk is
 * frozen (FIFREEZE). The loop worker's write into the backing file then
 * waits in sb_start_write(), so a page of the upper file stays under
 * writeback (KPF_WRITEBACK) until the thaw.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <linux/loop.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

/* <linux/fs.h> clashes with glibc's <sys/mount.h>: only these two. */
#ifndef FIFREEZE
#define FIFREEZE	_IOWR('X', 119, int)
#define FITHAW		_IOWR('X', 120, int)
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	2	/* <numaif.h>, not in the static libc */
#endif

#define KB(pages)	((pages) * hwp_page_size() / 1024)
#define THP_TARGET	300

#define LOOP_IMG	"/mnt/disk/hwpoison-hard.img"
#define LOOP_MNT	"/tmp/hwpoison-hard"
#define LOOP_FILE	LOOP_MNT "/data"
#define SHMEM_MNT	"/tmp/hwpoison-hard-shmem"
#define DISK_FILE	"/mnt/disk/hwpoison-hard.dat"
#define FILTER_FILE	"/mnt/disk/hwpoison-hard-filter.dat"

/*
 * Report an error in @pfn, hwp_inject_pfn() returning @ret: HardwareCorrupted
 * grows by a page and the failure is booked once, as "@type: @result".
 */
#define EXPECT_INJECT_BOOKED(pfn, ret, type, result)			\
	do {								\
		uint64_t __ipfn = (pfn);				\
		long __ihc = hwp_corrupted_kb();			\
		struct hwp_mf_stats __ibefore;				\
									\
		ASSERT_TRUE(hwp_mf_stats_read(&__ibefore));		\
		ASSERT_EQ(0, hwp_mf_trace_start());			\
		EXPECT_EQ((ret), hwp_inject_pfn(__ipfn));		\
		EXPECT_EQ(__ihc + KB(1), hwp_corrupted_kb());		\
		HWP_EXPECT_MF_BOOKED(&__ibefore, __ipfn, (type), (result)); \
	} while (0)

/* A /proc/meminfo field with every CPU's vmstat deltas folded in. */
static long settled_kb(const char *key)
{
	if (hwp_write_file("/proc/sys/vm/stat_refresh", "1"))
		return -1;
	return hwp_meminfo_kb(key);
}

/* @len bytes of address space aligned to a PMD, nothing mapped yet. */
static char *reserve_aligned(size_t len)
{
	char *raw = mmap(NULL, len + HPAGE_SIZE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	return (char *)(((uintptr_t)raw + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1));
}

/*
 * What kpageflags shows for an anonymous page in 6.12: KPF_ANON, and also
 * KPF_KSM (stable_page_flags() tests mapping & PAGE_MAPPING_KSM, which is
 * non-zero for every anonymous mapping), with PG_swapbacked.
 */
#define KPF_ANON_PAGE	(BIT_ULL(KPF_ANON) | BIT_ULL(KPF_KSM) |		\
			 BIT_ULL(KPF_SWAPBACKED))

/* How many of @n pages from @p, but page @skip, lack pattern index + @seed. */
static int count_bad(const char *p, int n, unsigned int seed, int skip)
{
	long ps = hwp_page_size();
	int i, bad = 0;

	for (i = 0; i < n; i++)
		if (i != skip && !hwp_check(p + i * ps, ps, i + seed))
			bad++;
	return bad;
}

/*
 * A long-term pinned anonymous page (an io_uring fixed buffer) reported
 * from outside. The pin does not stop 6.12: the dirty anonymous page is
 * unmapped (a hwpoison entry takes its place), taken off the LRU and
 * booked "dirty LRU page: Recovered" (the extra-reference check that fails
 * a pinned page cache page is skipped for anonymous pages). Its owner asked
 * for late kill: nothing until it touches the page, then action required.
 * The page stays allocated (the pin and memory failure hold it), off the
 * LRU, unmapped, with the flags of an exclusive, dirty anonymous page that
 * GUP marked referenced when it pinned it.
 */
TEST(pinned_longterm_anon)
{
	uint64_t want = BIT_ULL(KPF_HWPOISON) | KPF_ANON_PAGE |
			BIT_ULL(KPF_OWNER_2) | BIT_ULL(KPF_UPTODATE) |
			BIT_ULL(KPF_DIRTY) | BIT_ULL(KPF_REFERENCED);
	long ps = hwp_page_size();
	uint64_t pfns[4], flags;
	int ring;
	char *p;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	hwp_catch_sigbus();
	p = hwp_map_filled(4, 10, pfns);
	ASSERT_NE(NULL, p);
	ring = hwp_pin_longterm(p + ps, ps);
	ASSERT_LE(0, ring);

	EXPECT_INJECT_BOOKED(pfns[1], 0, "dirty LRU page", "Recovered");
	flags = hwp_kpageflags(pfns[1]);
	EXPECT_EQ(want, flags) {
		TH_LOG("pinned page: kpageflags %#llx",
		       (unsigned long long)flags);
	}
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_EQ(0, count_bad(p, 4, 10, 1));
	EXPECT_EQ(pfns[0], hwp_virt_to_pfn(p));
	EXPECT_EQ(pfns[2], hwp_virt_to_pfn(p + 2 * ps));
	HWP_EXPECT_TOUCH_SIGBUS_AR(p + ps);
	close(ring);
}

/*
 * An ext2 file system on a loop device backed by a file on /mnt/disk.
 * loopfs_set_frozen() holds the writeback of every page of it written
 * back after the freeze, until it thaws the file system.
 */
FIXTURE(loopfs)
{
	int loop_fd, disk_fd, fd;
	bool frozen, mounted;
};

FIXTURE_SETUP(loopfs)
{
	struct loop_config cfg;
	char dev[32];
	int ctl, img, n;

	self->loop_fd = -1;
	self->disk_fd = -1;
	self->fd = -1;
	ASSERT_TRUE(hwp_have_debugfs_injector());
	img = open(LOOP_IMG, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, img) {
		TH_LOG("no scratch disk at /mnt/disk: %s", strerror(errno));
	}
	ASSERT_EQ(0, ftruncate(img, 32 << 20));
	ASSERT_EQ(0, system("mke2fs -F -b 4096 " LOOP_IMG
			    " >/dev/null 2>&1"));
	ctl = open("/dev/loop-control", O_RDWR);
	ASSERT_LE(0, ctl);
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	ASSERT_LE(0, n);
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	self->loop_fd = open(dev, O_RDWR);
	ASSERT_LE(0, self->loop_fd);
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = img;
	cfg.block_size = 4096;
	ASSERT_EQ(0, ioctl(self->loop_fd, LOOP_CONFIGURE, &cfg));
	close(img);
	mkdir(LOOP_MNT, 0755);
	ASSERT_EQ(0, mount(dev, LOOP_MNT, "ext2", 0, NULL)) {
		TH_LOG("mount %s: %s", dev, strerror(errno));
	}
	self->mounted = true;
	self->disk_fd = open("/mnt/disk", O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, self->disk_fd);
	hwp_catch_sigbus();
}

FIXTURE_TEARDOWN(loopfs)
{
	if (self->frozen)
		ioctl(self->disk_fd, FITHAW, 0);
	if (self->fd >= 0)
		close(self->fd);
	if (self->mounted)
		umount(LOOP_MNT);
	if (self->loop_fd >= 0) {
		ioctl(self->loop_fd, LOOP_CLR_FD, 0);
		close(self->loop_fd);
	}
	if (self->disk_fd >= 0)
		close(self->disk_fd);
	unlink(LOOP_IMG);
}

/* Freeze (@freeze) or thaw the loop file system; @frozen follows it. */
static int loopfs_set_frozen(int disk_fd, bool *frozen, bool freeze)
{
	if (ioctl(disk_fd, freeze ? FIFREEZE : FITHAW, 0))
		return -errno;
	*frozen = freeze;
	return 0;
}

/*
 * Four pages of file data (page i holds pattern i + @seed), on disk.
 * Return: the open file, or -1.
 */
static int loopfs_file(unsigned int seed)
{
	int fd = open(LOOP_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -1;
	if (hwp_write_filled(fd, 4, seed) || fsync(fd)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Page @idx of the open file holds pattern @seed, read through the file. */
static bool file_page_is(int fd, int idx, unsigned int seed)
{
	long ps = hwp_page_size();
	char *buf = malloc(ps);
	bool ok;

	ok = buf && pread(fd, buf, ps, (off_t)idx * ps) == ps &&
	     hwp_check(buf, ps, seed);
	free(buf);
	return ok;
}

/*
 * A page under writeback. memory_failure() flags it, locks it and waits
 * for the writeback to end (holding mf_mutex all along), then handles what
 * is left: a clean, unmapped page cache page, booked "clean LRU page:
 * Recovered" and dropped from the page cache. Nothing is lost: the data
 * had been written, a read brings it back from disk, fsync() reports no
 * error.
 */
TEST_F_TIMEOUT(loopfs, under_writeback, 120)
{
	uint64_t wb = BIT_ULL(KPF_WRITEBACK), poison = BIT_ULL(KPF_HWPOISON);
	long ps = hwp_page_size(), hc;
	struct hwp_mf_stats before;
	uint64_t pfn, flags;
	int status = -1, ms;
	char *buf, *p;
	pid_t pid;

	self->fd = loopfs_file(30);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, loopfs_set_frozen(self->disk_fd, &self->frozen, true));
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);
	hwp_fill(buf, ps, 77);
	ASSERT_EQ(ps, pwrite(self->fd, buf, ps, ps));
	/* Its pfn, through a mapping that is gone before the report. */
	p = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_TRUE(hwp_check(p + ps, ps, 77));
	pfn = hwp_virt_to_pfn(p + ps);
	ASSERT_NE(0, pfn);
	munmap(p, 4 * ps);
	ASSERT_EQ(0, sync_file_range(self->fd, ps, ps,
				     SYNC_FILE_RANGE_WRITE));
	ASSERT_TRUE(hwp_wait_kpf(pfn, wb, wb, 2000)) {
		TH_LOG("pfn %#llx never under writeback: kpageflags %#llx",
		       (unsigned long long)pfn,
		       (unsigned long long)hwp_kpageflags(pfn));
	}

	hc = hwp_corrupted_kb();
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(-hwp_inject_pfn(pfn));
	/* Flagged at once, and then the report waits for the writeback. */
	EXPECT_TRUE(hwp_wait_kpf(pfn, poison | wb | BIT_ULL(KPF_LOCKED),
				 poison | wb | BIT_ULL(KPF_LOCKED), 2000));
	for (ms = 0; ms < 500; ms += 20) {
		ASSERT_EQ(0, waitpid(pid, &status, WNOHANG)) {
			TH_LOG("the report did not wait for the writeback");
		}
		usleep(20000);
	}
	flags = hwp_kpageflags(pfn);
	EXPECT_EQ(wb, flags & wb);
	EXPECT_EQ(hc, hwp_corrupted_kb());

	ASSERT_EQ(0, loopfs_set_frozen(self->disk_fd, &self->frozen, false));
	for (ms = 0; ms < 10000 && waitpid(pid, &status, WNOHANG) == 0;
	     ms += 20)
		usleep(20000);
	ASSERT_TRUE(WIFEXITED(status)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		TH_LOG("the report did not end within 10 s of the thaw");
	}
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(hc + KB(1), hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&before, pfn, "clean LRU page", "Recovered");
	flags = hwp_kpageflags(pfn);
	/* Out of the page cache and off the LRU; read once, up to date. */
	EXPECT_EQ(poison | BIT_ULL(KPF_UPTODATE) | BIT_ULL(KPF_REFERENCED),
		  flags) {
		TH_LOG("after: kpageflags %#llx", (unsigned long long)flags);
	}
	EXPECT_TRUE(file_page_is(self->fd, 1, 77));
	EXPECT_TRUE(file_page_is(self->fd, 0, 30));
	EXPECT_TRUE(file_page_is(self->fd, 2, 32));
	EXPECT_EQ(0, fsync(self->fd));
	EXPECT_EQ(0, hwp_sigbus_count());
	free(buf);
}

struct mover {
	void *addr;
	int node;
	int status;
	long ret;
	int done;
};

static void *move_one(void *arg)
{
	struct mover *m = arg;

	m->ret = syscall(__NR_move_pages, 0, 1UL, &m->addr, &m->node,
			 &m->status, MPOL_MF_MOVE);
	__atomic_store_n(&m->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * A report that lands while migration holds the page isolated. move_pages()
 * isolates the mapped file page from the LRU, locks it and, the page being
 * under writeback, waits (MIGRATE_SYNC) with it isolated. 6.12 takes no
 * reference on a page that is neither on the LRU nor free: after three
 * tries it calls it unhandlable, leaves PG_hwpoison set and books "get
 * hwpoison page: Ignored" (counted in HardwareCorrupted), EBUSY. Once the
 * writeback ends the migration goes on: it copies the page into a new one
 * on the other node, which takes its place in the page cache, but unmaps
 * the flagged page with a hwpoison entry instead of a migration entry
 * (try_to_migrate_one()). So move_pages() succeeds, read() returns the
 * data from the new page, a new mapping of the file maps it, while the
 * old mapping costs its owner SIGBUS (action required) on touch. The old
 * page, freed by the migration, stays out of the allocator.
 */
TEST_F_TIMEOUT(loopfs, isolated_by_migration, 120)
{
	uint64_t wb = BIT_ULL(KPF_WRITEBACK), poison = BIT_ULL(KPF_HWPOISON);
	uint64_t iso = BIT_ULL(KPF_LRU) | BIT_ULL(KPF_LOCKED) | wb;
	struct mover m = { .status = -1, .ret = -1 };
	long ps = hwp_page_size(), hc;
	uint64_t pfn, flags;
	pthread_t thread;
	int home = -1, ms;
	char *p, *q;

	ASSERT_EQ(0, access("/sys/devices/system/node/node1", F_OK)) {
		TH_LOG("needs two NUMA nodes");
	}
	self->fd = loopfs_file(50);
	ASSERT_LE(0, self->fd);
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, count_bad(p, 4, 50, -1));
	m.addr = p + ps;
	ASSERT_EQ(0, syscall(__NR_move_pages, 0, 1UL, &m.addr, NULL, &home,
			     0));
	ASSERT_LE(0, home);
	m.node = !home;

	ASSERT_EQ(0, loopfs_set_frozen(self->disk_fd, &self->frozen, true));
	hwp_fill(p + ps, ps, 88);
	pfn = hwp_virt_to_pfn(p + ps);
	ASSERT_NE(0, pfn);
	ASSERT_EQ(0, sync_file_range(self->fd, ps, ps,
				     SYNC_FILE_RANGE_WRITE));
	ASSERT_TRUE(hwp_wait_kpf(pfn, wb, wb, 2000));
	ASSERT_EQ(0, pthread_create(&thread, NULL, move_one, &m));
	/* Isolated (off the LRU) and locked by the migration, waiting. */
	EXPECT_TRUE(hwp_wait_kpf(pfn, iso, BIT_ULL(KPF_LOCKED) | wb, 5000)) {
		TH_LOG("pfn %#llx: kpageflags %#llx",
		       (unsigned long long)pfn,
		       (unsigned long long)hwp_kpageflags(pfn));
	}
	EXPECT_FALSE(__atomic_load_n(&m.done, __ATOMIC_SEQ_CST));

	hc = hwp_corrupted_kb();
	EXPECT_INJECT_BOOKED(pfn, -EBUSY, "get hwpoison page", "Ignored");
	flags = hwp_kpageflags(pfn);
	EXPECT_EQ(poison | BIT_ULL(KPF_LOCKED) | wb,
		  flags & (poison | iso));

	ASSERT_EQ(0, loopfs_set_frozen(self->disk_fd, &self->frozen, false));
	for (ms = 0; ms < 10000 && !__atomic_load_n(&m.done, __ATOMIC_SEQ_CST);
	     ms += 20)
		usleep(20000);
	ASSERT_TRUE(__atomic_load_n(&m.done, __ATOMIC_SEQ_CST));
	pthread_join(thread, NULL);
	EXPECT_EQ(0, m.ret);
	EXPECT_EQ(m.node, m.status);

	/* The old mapping: a hwpoison entry, nobody signalled yet. */
	EXPECT_EQ(HWP_PM_SWAP, hwp_pagemap_entry(p + ps) &
			       (HWP_PM_SWAP | HWP_PM_PRESENT));
	EXPECT_EQ(0, count_bad(p, 4, 50, 1));
	EXPECT_EQ(0, hwp_sigbus_count());
	/* The file: the data, in a new page on the other node. */
	EXPECT_TRUE(file_page_is(self->fd, 1, 88));
	q = mmap(NULL, 4 * ps, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_TRUE(hwp_check(q + ps, ps, 88));
	EXPECT_NE(0, hwp_virt_to_pfn(q + ps));
	EXPECT_NE(pfn, hwp_virt_to_pfn(q + ps));
	EXPECT_FALSE(hwp_pfn_poisoned(hwp_virt_to_pfn(q + ps)));
	munmap(q, 4 * ps);
	EXPECT_EQ(0, fsync(self->fd));
	/*
	 * The old page: freed by the migration, but withheld (6.12 keeps a
	 * flagged order-0 page out of the free lists, with the flags it had
	 * when it was freed), still counted.
	 */
	ASSERT_EQ(0, hwp_drain_pcp(pfn));
	flags = hwp_kpageflags(pfn);
	EXPECT_EQ(poison | BIT_ULL(KPF_UPTODATE), flags) {
		TH_LOG("old page: kpageflags %#llx", (unsigned long long)flags);
	}
	EXPECT_EQ(0, hwp_kpagecount(pfn));
	EXPECT_EQ(hc + KB(1), hwp_corrupted_kb());
	HWP_EXPECT_TOUCH_SIGBUS_AR(p + ps);
	munmap(p, 4 * ps);
}

/*
 * A tail page of a shmem THP (a tmpfs mounted huge=always), reported from
 * outside. The THP is split first; the 4 KiB page left is a dirty shmem
 * page: unmapped with a hwpoison entry, kept in the page cache (shmem
 * cannot drop it), booked "dirty LRU page: Recovered". No signal until the
 * owner touches it; read() of it fails with EIO; the other 511 pages keep
 * their data, now as 4 KiB pages.
 */
TEST(shmem_thp_tail)
{
	long ps = hwp_page_size(), huge, pmd;
	uint64_t head, pfn, flags;
	char *p, *buf;
	int fd, i, moved = 0, bad = 0;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	hwp_catch_sigbus();
	mkdir(SHMEM_MNT, 0755);
	ASSERT_EQ(0, mount("tmpfs", SHMEM_MNT, "tmpfs", 0,
			   "huge=always,size=16m"));
	fd = open(SHMEM_MNT "/thp", O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, HPAGE_SIZE));
	p = reserve_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, mmap(p, HPAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_FIXED, fd, 0));
	for (i = 0; i < HPAGE_NR; i++)
		hwp_fill(p + i * ps, ps, i + 20);
	head = hwp_virt_to_pfn(p);
	pfn = hwp_virt_to_pfn(p + THP_TARGET * ps);
	ASSERT_TRUE(hwp_kpageflags(head) & BIT_ULL(KPF_THP));
	ASSERT_EQ(head + THP_TARGET, pfn);
	huge = settled_kb("ShmemHugePages");
	pmd = settled_kb("ShmemPmdMapped");
	ASSERT_LE(2048, pmd);

	EXPECT_INJECT_BOOKED(pfn, 0, "dirty LRU page", "Recovered");
	EXPECT_EQ(0, hwp_sigbus_count());
	/* Split: no huge page left, every other page where it was. */
	EXPECT_EQ(huge - 2048, settled_kb("ShmemHugePages"));
	EXPECT_EQ(pmd - 2048, settled_kb("ShmemPmdMapped"));
	EXPECT_FALSE(hwp_kpageflags(head) & BIT_ULL(KPF_THP));
	flags = hwp_kpageflags(pfn);
	/* Still in the page cache (dirty, swap-backed), off the LRU. */
	EXPECT_EQ(BIT_ULL(KPF_HWPOISON) | BIT_ULL(KPF_UPTODATE) |
		  BIT_ULL(KPF_DIRTY) | BIT_ULL(KPF_SWAPBACKED) |
		  BIT_ULL(KPF_REFERENCED), flags) {
		TH_LOG("poisoned subpage: kpageflags %#llx",
		       (unsigned long long)flags);
	}
	/*
	 * The split unmapped the file THP (only anonymous subpages are
	 * mapped back): touching the others faults in the same pages.
	 */
	EXPECT_EQ(0, count_bad(p, HPAGE_NR, 20, THP_TARGET));
	for (i = 0; i < HPAGE_NR; i++)
		if (i != THP_TARGET && hwp_virt_to_pfn(p + i * ps) != head + i)
			moved++;
	EXPECT_EQ(0, moved);
	EXPECT_EQ(0, hwp_sigbus_count());
	HWP_EXPECT_TOUCH_SIGBUS_AR(p + THP_TARGET * ps);
	/* Through the file: the bad page is EIO, its neighbours read. */
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, ps, (off_t)THP_TARGET * ps));
	EXPECT_EQ(EIO, errno);
	for (i = THP_TARGET - 1; i <= THP_TARGET + 1; i += 2)
		if (pread(fd, buf, ps, (off_t)i * ps) != ps ||
		    !hwp_check(buf, ps, i + 20))
			bad++;
	EXPECT_EQ(0, bad);
	free(buf);
	munmap(p, HPAGE_SIZE);
	close(fd);
	umount(SHMEM_MNT);
}

/*
 * A tmpfs page that a read has just queued in this CPU's activation
 * batch, which holds a reference on it while it stays on the LRU. The
 * handler flushes the batches before it takes the page out of its file,
 * so that reference is not taken for a user that keeps the page: booked
 * "dirty LRU page: Recovered" (tmpfs pages are never clean), and a read
 * of it fails with EIO. The process stays on one CPU, so that only that
 * CPU's own drains (none between the read and the report) could empty the
 * batch.
 */
TEST(shmem_in_activation_batch)
{
	long ps = hwp_page_size();
	uint64_t pfn, flags;
	cpu_set_t cpus;
	char *p, *buf;
	int fd, i;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	buf = malloc(ps);
	ASSERT_NE(NULL, buf);
	mkdir(SHMEM_MNT, 0755);
	ASSERT_EQ(0, mount("tmpfs", SHMEM_MNT, "tmpfs", 0,
			   "huge=never,size=16m"));
	fd = open(SHMEM_MNT "/batched", O_RDWR | O_CREAT, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hwp_write_filled(fd, 1, 31));
	/* Compaction flushes every batch: the new page goes on the LRU. */
	ASSERT_EQ(0, hwp_write_file("/proc/sys/vm/compact_memory", "1"));
	p = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Unmapping a random-access mapping does not mark the page accessed. */
	ASSERT_EQ(0, madvise(p, ps, MADV_RANDOM));
	ASSERT_TRUE(hwp_check(p, ps, 31));
	pfn = hwp_virt_to_pfn(p);
	munmap(p, ps);
	ASSERT_NE(0, pfn);
	flags = hwp_kpageflags(pfn);
	ASSERT_EQ(BIT_ULL(KPF_LRU), flags & (BIT_ULL(KPF_LRU) |
					     BIT_ULL(KPF_ACTIVE)));
	/*
	 * The write marked it referenced, or the first read does; the next
	 * read queues it for activation, which leaves it inactive until the
	 * batch is flushed.
	 */
	for (i = 0; i < 2; i++)
		ASSERT_EQ(ps, pread(fd, buf, ps, 0));
	flags = hwp_kpageflags(pfn);
	ASSERT_EQ(BIT_ULL(KPF_LRU), flags & (BIT_ULL(KPF_LRU) |
					     BIT_ULL(KPF_ACTIVE))) {
		TH_LOG("kpageflags %#llx: not waiting in a batch",
		       (unsigned long long)flags);
	}

	EXPECT_INJECT_BOOKED(pfn, 0, "dirty LRU page", "Recovered");
	errno = 0;
	EXPECT_EQ(-1, pread(fd, buf, ps, 0));
	EXPECT_EQ(EIO, errno);
	free(buf);
	close(fd);
	umount(SHMEM_MNT);
}

/*
 * A tail page of a file THP (READ_ONLY_THP_FOR_FS: MADV_COLLAPSE of a
 * read-only ext4 file's page cache), reported from outside. The THP is
 * split (which unmaps a file THP altogether); the page left is clean page
 * cache: dropped, booked "clean LRU page: Recovered", nobody signalled.
 * Touching it reads the data back from disk into another page.
 */
TEST(file_thp_tail)
{
	long ps = hwp_page_size(), huge;
	uint64_t head, pfn, flags;
	char *p;
	int fd;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	hwp_catch_sigbus();
	fd = open(DISK_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd) {
		TH_LOG("no scratch disk at /mnt/disk: %s", strerror(errno));
	}
	ASSERT_EQ(0, hwp_write_filled(fd, HPAGE_NR, 60));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	/* Collapsing a file's page cache needs it open for reading only. */
	fd = open(DISK_FILE, O_RDONLY);
	ASSERT_LE(0, fd);
	p = reserve_aligned(HPAGE_SIZE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, mmap(p, HPAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_FIXED,
			  fd, 0));
	ASSERT_EQ(0, count_bad(p, HPAGE_NR, 60, -1));
	ASSERT_EQ(0, madvise(p, HPAGE_SIZE, MADV_COLLAPSE)) {
		TH_LOG("MADV_COLLAPSE: %s", strerror(errno));
	}
	head = hwp_virt_to_pfn(p);
	pfn = hwp_virt_to_pfn(p + THP_TARGET * ps);
	ASSERT_TRUE(hwp_kpageflags(head) & BIT_ULL(KPF_THP));
	ASSERT_EQ(head + THP_TARGET, pfn);
	huge = settled_kb("FileHugePages");
	ASSERT_LE(2048, huge);

	EXPECT_INJECT_BOOKED(pfn, 0, "clean LRU page", "Recovered");
	EXPECT_EQ(huge - 2048, settled_kb("FileHugePages"));
	EXPECT_FALSE(hwp_kpageflags(head) & BIT_ULL(KPF_THP));
	flags = hwp_kpageflags(pfn);
	/* Out of the page cache and off the LRU; read, up to date. */
	EXPECT_EQ(BIT_ULL(KPF_HWPOISON) | BIT_ULL(KPF_UPTODATE) |
		  BIT_ULL(KPF_REFERENCED), flags) {
		TH_LOG("poisoned subpage: kpageflags %#llx",
		       (unsigned long long)flags);
	}
	/* Every page reads back, the bad one from disk into a new page. */
	EXPECT_EQ(0, count_bad(p, HPAGE_NR, 60, -1));
	EXPECT_NE(0, hwp_virt_to_pfn(p + THP_TARGET * ps));
	EXPECT_NE(pfn, hwp_virt_to_pfn(p + THP_TARGET * ps));
	EXPECT_EQ(0, hwp_sigbus_count());
	munmap(p, HPAGE_SIZE);
	close(fd);
	unlink(DISK_FILE);
}

/*
 * NR_MLOCK follows an mlocked page that is hard-offlined: unmapping it
 * munlocks it, so Mlocked (and Unevictable, the page leaving the
 * unevictable LRU) goes down by exactly that page, and the rest of the
 * range goes when it is unmapped. (Which type the report is booked as is
 * hwpoison-types' business: 6.12 looks at the page after the unmap has
 * cleared PG_mlocked.)
 */
TEST(mlocked_counter)
{
	long ps = hwp_page_size(), hc, mlocked, unevictable, start;
	struct hwp_mf_stats before, after;
	struct hwp_mf_event ev;
	uint64_t pfns[4], flags;
	cpu_set_t cpus;
	char *p;
	int i;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	hwp_catch_sigbus();
	/* One CPU: its mlock batch is the one the munmap()s below drain. */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	start = settled_kb("Mlocked");
	p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mlock(p, 4 * ps));
	for (i = 0; i < 4; i++) {
		hwp_fill(p + i * ps, ps, i + 90);
		pfns[i] = hwp_virt_to_pfn(p + i * ps);
	}
	flags = hwp_kpageflags(pfns[1]);
	ASSERT_TRUE(flags & BIT_ULL(KPF_MLOCKED));
	ASSERT_TRUE(flags & BIT_ULL(KPF_UNEVICTABLE));
	mlocked = settled_kb("Mlocked");
	unevictable = settled_kb("Unevictable");
	EXPECT_EQ(start + KB(4), mlocked);

	hc = hwp_corrupted_kb();
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(pfns[1]));
	EXPECT_EQ(hc + KB(1), hwp_corrupted_kb());
	EXPECT_EQ(1, hwp_mf_trace_read(&ev));
	EXPECT_EQ(pfns[1], ev.pfn);
	EXPECT_STREQ("Recovered", ev.result);
	ASSERT_TRUE(hwp_mf_stats_read(&after));
	EXPECT_EQ(before.total + 1, after.total);
	EXPECT_EQ(before.recovered + 1, after.recovered);
	EXPECT_EQ(mlocked - KB(1), settled_kb("Mlocked"));
	EXPECT_EQ(unevictable - KB(1), settled_kb("Unevictable"));
	flags = hwp_kpageflags(pfns[1]);
	EXPECT_EQ(0, flags & (BIT_ULL(KPF_MLOCKED) | BIT_ULL(KPF_UNEVICTABLE) |
			      BIT_ULL(KPF_LRU)));
	EXPECT_EQ(0, count_bad(p, 4, 90, 1));
	EXPECT_EQ(0, hwp_sigbus_count());
	HWP_EXPECT_TOUCH_SIGBUS_AR(p + ps);
	/*
	 * munmap() munlocks the other three through the CPU's mlock batch,
	 * which the next munmap() drains before it unmaps anything.
	 */
	munmap(p, 4 * ps);
	p = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, ps);
	EXPECT_EQ(start, settled_kb("Mlocked"));
}

/*
 * Free pages, wherever the allocator keeps them: each is taken off the
 * free lists and withheld, booked "free buddy page: Recovered".
 */
static void expect_free_page_retired(struct __test_metadata *_metadata,
				     uint64_t pfn)
{
	EXPECT_INJECT_BOOKED(pfn, 0, "free buddy page", "Recovered");
	HWP_EXPECT_WITHHELD(pfn);
}

/*
 * Order-0 pages just freed, pushed from the pcp list into the buddy
 * allocator: one of them that nobody took again meanwhile.
 *
 * Any allocation after the drain refills a per-CPU list from the smallest
 * free blocks first, which are these, so the page picked may be handed
 * out (to this process too) before its report. The injector's page-flag
 * filter, set before the pages are freed, makes memory_failure() leave an
 * in-use page untouched and unbooked (sysfs hard_offline_page: the
 * debugfs injector would shake the page first, an allocation of its own);
 * a page taken by the kernel is booked under another type. Either way the
 * case tries again with new pages.
 */
TEST(free_order0_buddy)
{
	struct hwp_mf_stats before;
	struct hwp_mf_event ev;
	uint64_t pfns[8], pfn;
	int round, i, n;
	long hc;
	char *p;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	for (round = 0; round < 10; round++) {
		hc = hwp_corrupted_kb();
		ASSERT_TRUE(hwp_mf_stats_read(&before));
		ASSERT_EQ(0, hwp_mf_trace_start());
		ASSERT_EQ(0, hwp_flags_filter(BIT_ULL(KPF_BUDDY)));
		p = hwp_map_filled(8, 0, pfns);
		ASSERT_NE(NULL, p);
		munmap(p, 8 * hwp_page_size());
		ASSERT_EQ(0, hwp_drain_pcp(pfns[0]));
		for (i = 0, pfn = 0; i < 8 && !pfn; i++)
			if (hwp_kpageflags(pfns[i]) == BIT_ULL(KPF_BUDDY))
				pfn = pfns[i];
		if (pfn)
			EXPECT_EQ(0, hwp_sysfs_offline("hard", pfn));
		ASSERT_EQ(0, hwp_flags_filter(0));
		if (!pfn)
			continue;
		n = hwp_mf_trace_read(&ev);
		if (n == 1 && !strcmp(ev.type, "free buddy page"))
			break;
		TH_LOG("pfn %#llx taken before its report (%d events, %s)",
		       (unsigned long long)pfn, n, n ? ev.type : "none");
	}
	ASSERT_LT(round, 10);
	EXPECT_EQ(hc + KB(1), hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&before, pfn, "free buddy page", "Recovered");
	HWP_EXPECT_WITHHELD(pfn);
}

/*
 * The head page of a free order-10 block (the first pfn of an aligned,
 * wholly free 4 MiB range): the block is split around it and only the
 * head is withheld (the rest, free blocks of order 0 to 9 now, is the
 * allocator's again, and soon handed out).
 */
TEST(free_block_head)
{
	uint64_t chunk[1024], head = 0;
	int fd, i;
	int64_t blk;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	fd = open("/proc/kpageflags", O_RDONLY);
	ASSERT_LE(0, fd);
	for (blk = (hwp_max_pfn() / 1024) * 1024 - 1024; blk >= 0 && !head;
	     blk -= 1024) {
		if (pread(fd, chunk, sizeof(chunk), blk * sizeof(uint64_t)) !=
		    sizeof(chunk))
			continue;
		for (i = 0; i < 1024; i++)
			if (chunk[i] != BIT_ULL(KPF_BUDDY))
				break;
		if (i == 1024)
			head = blk;
	}
	close(fd);
	ASSERT_NE(0, head);
	expect_free_page_retired(_metadata, head);
	EXPECT_EQ(1, hwp_count_flags(head, 1024,
				     BIT_ULL(KPF_HWPOISON)));
}

/*
 * A page freed an instant ago, still on this CPU's pcp list: it is in no
 * buddy list (no KPF_BUDDY, no flag at all). 6.12 needs no retry for it:
 * get_hwpoison_page() disables the zone's pcp lists, which drains them, so
 * the page is a free buddy page by the time it is looked at.
 */
TEST(free_on_pcp_list)
{
	long ps = hwp_page_size();
	uint64_t pfns[8], pfn = 0;
	cpu_set_t cpus;
	char *p;
	int i;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	p = hwp_map_filled(8, 0, pfns);
	ASSERT_NE(NULL, p);
	munmap(p, 8 * ps);
	/*
	 * The first page freed is the deepest in the list: any allocation
	 * meanwhile takes the last one freed first.
	 */
	for (i = 0; i < 8 && !pfn; i++)
		if (!hwp_kpageflags(pfns[i]) && !hwp_kpagecount(pfns[i]))
			pfn = pfns[i];
	ASSERT_NE(0, pfn) {
		for (i = 0; i < 8; i++)
			TH_LOG("pfn %#llx: kpageflags %#llx",
			       (unsigned long long)pfns[i],
			       (unsigned long long)hwp_kpageflags(pfns[i]));
	}
	expect_free_page_retired(_metadata, pfn);
}

/*
 * The filters of the debugfs injector (corrupt-filter-*), seen from every
 * entry that reports an error. 6.12 applies them in memory_failure() to a
 * page it has a reference on (so to what the injector, sysfs
 * hard_offline_page and MADV_HWPOISON report), in soft_offline_page(),
 * and once more in the injector itself, before memory_failure(). A report
 * a filter rejects changes nothing: the page is not flagged, nobody is
 * signalled, nothing is booked. The hard offline entries then return 0
 * (memory_failure()'s -EOPNOTSUPP is turned into success), soft offline
 * returns EOPNOTSUPP.
 */
static void reset_filters(void)
{
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-enable", "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-mask", "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-value", "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-dev-major", "4294967295");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-dev-minor", "4294967295");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-memcg", "0");
}

static void set_filter(const char *name, unsigned long long v)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), HWP_DEBUGFS "corrupt-filter-%s", name);
	snprintf(buf, sizeof(buf), "%llu", v);
	hwp_write_file(path, buf);
}

enum entry { CORRUPT_PFN, HARD_OFFLINE, MADV_HWP, SOFT_OFFLINE, MADV_SOFT };

/* Report @pfn, mapped at @addr, through @e; 0 or -errno. */
static int report(enum entry e, char *addr, uint64_t pfn)
{
	switch (e) {
	case CORRUPT_PFN:
		return hwp_inject_pfn(pfn);
	case HARD_OFFLINE:
		return hwp_sysfs_offline("hard", pfn);
	case SOFT_OFFLINE:
		return hwp_sysfs_offline("soft", pfn);
	case MADV_HWP:
		return madvise(addr, hwp_page_size(), MADV_HWPOISON) ?
		       -errno : 0;
	case MADV_SOFT:
		return madvise(addr, hwp_page_size(), MADV_SOFT_OFFLINE) ?
		       -errno : 0;
	}
	return -EINVAL;
}

FIXTURE(filter)
{
	char *map;
	int fd;
	uint64_t pfn;
	dev_t dev;
};

FIXTURE_VARIANT(filter)
{
	enum entry entry;
	int ret;	/* what a rejected report returns */
};

FIXTURE_VARIANT_ADD(filter, corrupt_pfn)
{
	.entry = CORRUPT_PFN, .ret = 0,
};

FIXTURE_VARIANT_ADD(filter, hard_offline_page)
{
	.entry = HARD_OFFLINE, .ret = 0,
};

FIXTURE_VARIANT_ADD(filter, madv_hwpoison)
{
	.entry = MADV_HWP, .ret = 0,
};

FIXTURE_VARIANT_ADD(filter, soft_offline_page)
{
	.entry = SOFT_OFFLINE, .ret = -EOPNOTSUPP,
};

FIXTURE_VARIANT_ADD(filter, madv_soft_offline)
{
	.entry = MADV_SOFT, .ret = -EOPNOTSUPP,
};

/* A clean page cache page of a file on /mnt/disk, mapped shared. */
FIXTURE_SETUP(filter)
{
	long ps = hwp_page_size();
	struct stat st;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	reset_filters();
	hwp_catch_sigbus();
	self->fd = open(FILTER_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ftruncate(self->fd, 4 * ps));
	self->map = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	hwp_fill(self->map, 4 * ps, 3);
	ASSERT_EQ(0, msync(self->map, 4 * ps, MS_SYNC));
	self->pfn = hwp_virt_to_pfn(self->map + ps);
	ASSERT_NE(0, self->pfn);
	ASSERT_EQ(0, fstat(self->fd, &st));
	self->dev = st.st_dev;
}

FIXTURE_TEARDOWN(filter)
{
	reset_filters();
	munmap(self->map, 4 * hwp_page_size());
	close(self->fd);
	unlink(FILTER_FILE);
}

static void expect_rejected(struct __test_metadata *_metadata, char *map,
			    uint64_t pfn, enum entry entry, int ret)
{
	long ps = hwp_page_size(), hc = hwp_corrupted_kb();
	struct hwp_mf_stats before, after;
	struct hwp_mf_event ev;

	ASSERT_EQ(0, hwp_write_file(HWP_DEBUGFS "corrupt-filter-enable",
				    "1"));
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(ret, report(entry, map + ps, pfn));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(pfn, hwp_virt_to_pfn(map + ps));
	EXPECT_TRUE(hwp_check(map, 4 * ps, 3));
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_mf_trace_read(&ev));
	ASSERT_TRUE(hwp_mf_stats_read(&after));
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
}

/* Another block device than the file's. */
TEST_F(filter, dev)
{
	set_filter("dev-major", major(self->dev) + 1);
	set_filter("dev-minor", minor(self->dev));
	expect_rejected(_metadata, self->map, self->pfn, variant->entry,
			variant->ret);
}

/* Flags the page does not have: those of a free page. */
TEST_F(filter, flags)
{
	set_filter("flags-mask", BIT_ULL(KPF_BUDDY));
	set_filter("flags-value", BIT_ULL(KPF_BUDDY));
	expect_rejected(_metadata, self->map, self->pfn, variant->entry,
			variant->ret);
}

/* A memory cgroup the page is not charged to (no cgroup has that ino). */
TEST_F(filter, memcg)
{
	set_filter("memcg", 0x7ffffff0ULL);
	expect_rejected(_metadata, self->map, self->pfn, variant->entry,
			variant->ret);
}

/*
 * A free page and a filter that rejects it (it wants LRU pages). The
 * injector's own check stops the report, soft offline stops it, but
 * memory_failure() takes a free page off the free lists before it would
 * look at the filter: sysfs hard_offline_page poisons it regardless.
 */
FIXTURE(filter_free)
{
	uint64_t pfn;
};

FIXTURE_VARIANT(filter_free)
{
	enum entry entry;
	int ret;
	bool retired;
};

FIXTURE_VARIANT_ADD(filter_free, corrupt_pfn)
{
	.entry = CORRUPT_PFN, .ret = 0, .retired = false,
};

FIXTURE_VARIANT_ADD(filter_free, hard_offline_page)
{
	.entry = HARD_OFFLINE, .ret = 0, .retired = true,
};

FIXTURE_VARIANT_ADD(filter_free, soft_offline_page)
{
	.entry = SOFT_OFFLINE, .ret = -EOPNOTSUPP, .retired = false,
};

FIXTURE_SETUP(filter_free)
{
	ASSERT_TRUE(hwp_have_debugfs_injector());
	reset_filters();
	self->pfn = hwp_free_pfn();
	ASSERT_NE(0, self->pfn);
}

FIXTURE_TEARDOWN(filter_free)
{
	reset_filters();
}

TEST_F(filter_free, flags)
{
	long hc = hwp_corrupted_kb();
	struct hwp_mf_stats before;
	struct hwp_mf_event ev;

	set_filter("flags-mask", BIT_ULL(KPF_LRU));
	set_filter("flags-value", BIT_ULL(KPF_LRU));
	set_filter("enable", 1);
	ASSERT_EQ(BIT_ULL(KPF_BUDDY), hwp_kpageflags(self->pfn));
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(variant->ret, report(variant->entry, NULL, self->pfn));
	reset_filters();
	if (variant->retired) {
		EXPECT_EQ(hc + KB(1), hwp_corrupted_kb());
		HWP_EXPECT_MF_BOOKED(&before, self->pfn, "free buddy page",
				     "Recovered");
		HWP_EXPECT_WITHHELD(self->pfn);
		return;
	}
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_mf_trace_read(&ev));
	EXPECT_EQ(BIT_ULL(KPF_BUDDY), hwp_kpageflags(self->pfn));
}

/*
 * A kernel page with no flag at all (no LRU, buddy, slab, page table or
 * reserved flag, mapped by nobody): what a vmalloc page, the user half of
 * a PTI page-table root or a tail of a non-compound high-order kernel
 * allocation looks like. User space cannot tell those apart (the reference
 * count is not exported; kernel.high_order_tail finds a tail through
 * page_owner), and 6.12 does not need to: it checks the page type before
 * it takes a reference, finds it unhandlable three times (shaking the LRU
 * caches in between), leaves PG_hwpoison set and books "get hwpoison page:
 * Ignored", EBUSY. Free pages look the same while on a pcp list, so the
 * candidates are taken with their zone's pcp lists drained, and must have
 * kept no flag for a second.
 *
 * Last (its own fixture, the last one): the kernel goes on using the page.
 */
FIXTURE(kernel)
{
};

FIXTURE_SETUP(kernel)
{
}

FIXTURE_TEARDOWN(kernel)
{
}

/* One report of a flagless kernel page, and what stood before it. */
struct flagless_report {
	uint64_t pfn;		/* 0: no candidate was left */
	long hc;
	struct hwp_mf_stats before;
	int ret;
};

/*
 * Report the first of @cand that has no flag and is mapped by nobody
 * (checked again after draining its zone's pcp lists if @drain). The
 * kernel may free a candidate between the look and the report: it is
 * then booked as the free buddy page it has become, withheld, and the
 * next one is tried, five in all. 0, or -errno if the booking could not
 * be watched.
 */
static int report_flagless(const uint64_t *cand, int n, bool drain,
			   struct flagless_report *r)
{
	struct hwp_mf_event ev;
	int i, tries = 0;

	r->pfn = 0;
	for (i = 0; i < n && tries < 5; i++) {
		if (hwp_kpageflags(cand[i]) || hwp_kpagecount(cand[i]))
			continue;
		if (drain && (hwp_drain_pcp(cand[i]) ||
			      hwp_kpageflags(cand[i]) ||
			      hwp_kpagecount(cand[i])))
			continue;
		tries++;
		r->hc = hwp_corrupted_kb();
		if (!hwp_mf_stats_read(&r->before) || hwp_mf_trace_start())
			return -EIO;
		r->ret = hwp_inject_pfn(cand[i]);
		if (hwp_mf_trace_read(&ev) != 1 ||
		    strcmp(ev.type, "free buddy page")) {
			r->pfn = cand[i];
			return 0;
		}
		printf("# pfn %#llx was freed before its report\n",
		       (unsigned long long)cand[i]);
	}
	return 0;
}

TEST_F(kernel, page_no_flags)
{
	uint64_t cand[4096], pfn, flags;
	struct flagless_report r;
	int n;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	n = hwp_find_pfns(0, ~0ULL, cand, 4096);
	ASSERT_LT(0, n);
	usleep(1000000);
	/*
	 * Most flagless pages high in memory may be free pages on pcp lists
	 * (a debug kernel has many): drain those of the top and the bottom
	 * candidate's zones once, so that they show KPF_BUDDY and are passed
	 * over without a drain each.
	 */
	ASSERT_EQ(0, hwp_drain_pcp(cand[0]));
	ASSERT_EQ(0, hwp_drain_pcp(cand[n - 1]));
	ASSERT_EQ(0, report_flagless(cand, n, true, &r));
	pfn = r.pfn;
	ASSERT_NE(0, pfn) {
		TH_LOG("no kernel page without flags among %d candidates", n);
	}
	EXPECT_EQ(-EBUSY, r.ret);
	EXPECT_EQ(r.hc + KB(1), hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&r.before, pfn, "get hwpoison page", "Ignored");
	flags = hwp_kpageflags(pfn);
	EXPECT_EQ(BIT_ULL(KPF_HWPOISON), flags) {
		TH_LOG("pfn %#llx: kpageflags %#llx",
		       (unsigned long long)pfn, (unsigned long long)flags);
	}
	ASSERT_EQ(0, system("true"));
}

/*
 * The tails of high-order allocations made without __GFP_COMP (blk-mq's
 * request pages, DMA buffers) out of /sys/kernel/debug/page_owner, which
 * the guest of this test boots with page_owner=on. A count, or -errno.
 */
static int high_order_tails(uint64_t *tails, int max)
{
	FILE *f = fopen("/sys/kernel/debug/page_owner", "r");
	unsigned long long pfn;
	unsigned int order;
	bool want = false;
	char line[1024];
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Page allocated via order %u,", &order) == 1)
			/* mask 0: recorded at boot, its flags unknown */
			want = order && !strstr(line, "__GFP_COMP") &&
			       !strstr(line, "mask 0x0(");
		else if (want && sscanf(line, "PFN %llx ", &pfn) == 1) {
			tails[n++] = pfn + 1;
			want = false;
		}
	}
	fclose(f);
	return n;
}

/*
 * The second page of a live non-compound high-order kernel allocation: no
 * flag, mapped by nobody, a zero reference count, and not free. 6.12 books
 * it as any flagless kernel page (get_any_page() finds a zero count on a
 * page that is not a free buddy page and gives up), so ours does too. An
 * allocation freed since page_owner listed it is seen by its booking as a
 * free buddy page, and the next one is tried.
 */
TEST_F(kernel, high_order_tail)
{
	uint64_t tails[256], pfn;
	struct flagless_report r;
	int n;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	n = high_order_tails(tails, 256);
	ASSERT_LT(0, n) {
		TH_LOG("no non-compound high-order allocation in page_owner (%d)",
		       n);
	}
	ASSERT_EQ(0, report_flagless(tails, n, false, &r));
	pfn = r.pfn;
	ASSERT_NE(0, pfn) {
		TH_LOG("no live tail page among %d allocations", n);
	}
	EXPECT_EQ(-EBUSY, r.ret);
	EXPECT_EQ(r.hc + KB(1), hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&r.before, pfn, "get hwpoison page", "Ignored");
	EXPECT_EQ(BIT_ULL(KPF_HWPOISON), hwp_kpageflags(pfn));
	EXPECT_EQ(0, hwp_kpagecount(pfn));
	ASSERT_EQ(0, system("true"));
}

TEST_HARNESS_MAIN
