// SPDX-License-Identifier: GPL-2.0
/*
 * Hard offline by page type. A victim child maps memory of one kind and
 * waits; the test poisons one page of it through the debugfs injector (as
 * a machine check from outside would), then the victim touches its memory
 * and reports: was it signalled, with what, and is the rest intact.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define NR_HUGE		"/proc/sys/vm/nr_hugepages"
#define DISK_FILE	"/mnt/disk/hwpoison-types.dat"

enum kind { THP, SHMEM, FILE_CLEAN, FILE_DIRTY, MLOCKED, HUGETLB };

struct report {
	uint64_t pfn;		/* pfn of the target page */
	uintptr_t target;	/* its address in the victim */
	uintptr_t base;
	size_t len;
	int is_thp;
	int early_count;
	int faulted;
	int code;
	uintptr_t addr;
	int lsb;
	int target_intact;	/* the target read back its old data */
	uint64_t new_pfn;	/* the pfn behind the target after the touch */
	int others_ok;
	int fsync_errno;
	int done;
};

static void wait_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static char *map_kind(enum kind k, size_t *len, int *fdp)
{
	long ps = hwp_page_size();
	int fd = -1;
	char *p;

	*len = 16 * ps;
	switch (k) {
	case THP:
		*len = HPAGE_SIZE;
		p = hwp_map_aligned(HPAGE_SIZE);
		if (!p)
			return NULL;
		madvise(p, HPAGE_SIZE, MADV_HUGEPAGE);
		return p;
	case SHMEM:
		fd = memfd_create("hwpoison-types", 0);
		break;
	case FILE_CLEAN:
	case FILE_DIRTY:
		fd = open(DISK_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
		break;
	case MLOCKED:
		p = mmap(NULL, *len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || mlock(p, *len))
			return NULL;
		return p;
	case HUGETLB:
		*len = HPAGE_SIZE;
		p = mmap(NULL, *len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (fd < 0 || ftruncate(fd, *len))
		return NULL;
	*fdp = fd;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void victim(struct report *r, enum kind k, int target_idx, bool early,
		   int up, int down)
{
	long ps = hwp_page_size();
	size_t len, i;
	int fd = -1;
	char *p, c;

	hwp_catch_sigbus();
	prctl(PR_MCE_KILL, PR_MCE_KILL_SET,
	      early ? PR_MCE_KILL_EARLY : PR_MCE_KILL_LATE, 0, 0);
	p = map_kind(k, &len, &fd);
	if (!p)
		_exit(2);
	for (i = 0; i < len / ps; i++)
		hwp_fill(p + i * ps, ps, i);
	if (k == FILE_CLEAN || k == FILE_DIRTY) {
		msync(p, len, MS_SYNC);
		fsync(fd);
	}
	if (k == FILE_DIRTY)	/* dirty again, not written back */
		hwp_fill(p + target_idx * ps, ps, 200);
	r->base = (uintptr_t)p;
	r->len = len;
	r->target = (uintptr_t)(p + target_idx * ps);
	r->pfn = hwp_virt_to_pfn(p + target_idx * ps);
	r->is_thp = !!(hwp_kpageflags(r->pfn) & BIT_ULL(KPF_THP));
	if (write(up, "r", 1) != 1)
		_exit(3);
	wait_byte(down);

	r->early_count = hwp_sigbus_count();
	hwp_reset_sigbus();
	r->faulted = hwp_read_faults(p + target_idx * ps, &c);
	r->code = hwp_last_sigbus.code;
	r->addr = (uintptr_t)hwp_last_sigbus.addr;
	r->lsb = hwp_last_sigbus.lsb;
	if (!r->faulted) {
		r->target_intact = hwp_check(p + target_idx * ps, ps,
					     k == FILE_DIRTY ? 200 : target_idx);
		r->new_pfn = hwp_virt_to_pfn(p + target_idx * ps);
	}
	r->others_ok = 1;
	if (k != HUGETLB)
		for (i = 0; i < len / ps; i++)
			if ((int)i != target_idx && !hwp_check(p + i * ps, ps, i))
				r->others_ok = 0;
	if (fd >= 0)
		r->fsync_errno = fsync(fd) ? errno : 0;
	r->done = 1;
	_exit(0);
}

FIXTURE(types)
{
	struct report *r;
	long nr_huge;
	pid_t pid;
	int up[2], down[2];
};

/*
 * @type and @result: how memory_failure() books the page, in the
 * ras:memory_failure_event trace and the per-node counters. A THP is split
 * first and booked as the 4 KiB page it leaves.
 */
FIXTURE_VARIANT(types)
{
	enum kind kind;
	bool early;
	const char *type;
	const char *result;
};

FIXTURE_VARIANT_ADD(types, thp)
{
	.kind = THP, .type = "dirty LRU page", .result = "Recovered",
};

FIXTURE_VARIANT_ADD(types, shmem)
{
	.kind = SHMEM, .type = "dirty LRU page", .result = "Recovered",
};

FIXTURE_VARIANT_ADD(types, shmem_early)
{
	.kind = SHMEM, .early = true,
	.type = "dirty LRU page", .result = "Recovered",
};

FIXTURE_VARIANT_ADD(types, file_clean)
{
	.kind = FILE_CLEAN, .type = "clean LRU page", .result = "Recovered",
};

FIXTURE_VARIANT_ADD(types, file_clean_early)
{
	.kind = FILE_CLEAN, .early = true,
	.type = "clean LRU page", .result = "Recovered",
};

FIXTURE_VARIANT_ADD(types, file_dirty)
{
	.kind = FILE_DIRTY, .type = "dirty LRU page", .result = "Recovered",
};

/* Its type is left to mlocked_booked below, see there. */
FIXTURE_VARIANT_ADD(types, mlocked)
{
	.kind = MLOCKED, .result = "Recovered",
};

FIXTURE_VARIANT_ADD(types, hugetlb)
{
	.kind = HUGETLB, .type = "huge page", .result = "Recovered",
};

FIXTURE_SETUP(types)
{
	ASSERT_TRUE(hwp_have_debugfs_injector()) {
		TH_LOG("no debugfs hwpoison injector (" HWP_DEBUGFS ")");
	}
	self->nr_huge = -1;
	if (variant->kind == HUGETLB) {
		ASSERT_EQ(0, hwp_read_long(NR_HUGE, &self->nr_huge));
		ASSERT_EQ(0, hwp_write_file(NR_HUGE, "2")) {
			TH_LOG("cannot reserve huge pages");
		}
	}
	if (variant->kind == FILE_CLEAN || variant->kind == FILE_DIRTY)
		ASSERT_EQ(0, access("/mnt/disk", W_OK)) {
			TH_LOG("no disk-backed file system at /mnt/disk");
		}
	self->r = mmap(NULL, hwp_page_size(), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->r);
	memset(self->r, 0, sizeof(*self->r));
	ASSERT_EQ(0, pipe(self->up));
	ASSERT_EQ(0, pipe(self->down));
	self->pid = fork();
	ASSERT_GE(self->pid, 0);
	if (!self->pid)
		victim(self->r, variant->kind, 7, variant->early, self->up[1],
		       self->down[0]);
	wait_byte(self->up[0]);
	ASSERT_NE(0, self->r->pfn);
	if (variant->kind == THP)
		ASSERT_TRUE(self->r->is_thp) {
			TH_LOG("the victim's range was not backed by a THP");
		}
}

FIXTURE_TEARDOWN(types)
{
	char buf[24];

	if (self->pid > 0) {
		kill(self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	if (self->nr_huge >= 0) {
		snprintf(buf, sizeof(buf), "%ld", self->nr_huge);
		hwp_write_file(NR_HUGE, buf);
	}
}

TEST_F(types, hard_offline)
{
	long ps = hwp_page_size();
	long hc = hwp_corrupted_kb();
	struct report *r = self->r;
	bool neighbour_was_poisoned = hwp_pfn_poisoned(r->pfn + 1);
	struct hwp_mf_stats before;
	int status;

	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(r->pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(r->pfn));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&before, r->pfn, variant->type, variant->result);
	ASSERT_EQ(1, write(self->down[1], "g", 1));
	ASSERT_EQ(self->pid, waitpid(self->pid, &status, 0));
	self->pid = 0;
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, r->done);

	switch (variant->kind) {
	case FILE_CLEAN:
		/*
		 * Dropped and re-read from disk into another page; nobody
		 * is signalled.
		 */
		EXPECT_EQ(0, r->early_count);
		EXPECT_EQ(0, r->faulted);
		EXPECT_EQ(1, r->target_intact);
		EXPECT_NE(0, r->new_pfn);
		EXPECT_NE(r->pfn, r->new_pfn);
		EXPECT_EQ(0, r->fsync_errno);
		break;
	case FILE_DIRTY:
		/* The data is lost: SIGBUS on touch, EIO on fsync. */
		EXPECT_EQ(0, r->early_count);
		EXPECT_EQ(1, r->faulted);
		EXPECT_EQ(BUS_MCEERR_AR, r->code);
		EXPECT_EQ(r->target, r->addr);
		EXPECT_EQ(EIO, r->fsync_errno);
		break;
	case HUGETLB:
		/* The whole huge page is gone for its mapper. */
		EXPECT_EQ(0, r->early_count);
		EXPECT_EQ(1, r->faulted);
		EXPECT_EQ(BUS_MCEERR_AR, r->code);
		EXPECT_EQ(21, r->lsb);
		break;
	default:
		EXPECT_EQ(variant->early ? 1 : 0, r->early_count);
		EXPECT_EQ(1, r->faulted);
		EXPECT_EQ(BUS_MCEERR_AR, r->code);
		EXPECT_EQ(r->target, r->addr);
		EXPECT_EQ(12, r->lsb);
		break;
	}
	/* Only the poisoned 4 KiB page is lost (a THP is split first). */
	EXPECT_EQ(1, r->others_ok);
	if (variant->kind != HUGETLB)
		EXPECT_EQ(neighbour_was_poisoned, hwp_pfn_poisoned(r->pfn + 1));
}

/*
 * A dirty mlocked page is booked as one. Unmapping it clears PG_mlocked,
 * which is why memory_failure() saves the page flags beforehand, to tell
 * the page's state from them.
 */
TEST(mlocked_booked)
{
	long ps = hwp_page_size();
	struct hwp_mf_stats before;
	uint64_t pfn;
	char *p;

	p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mlock(p, ps));
	hwp_fill(p, ps, 5);
	pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, pfn);
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	/* Late kill, and the page is never touched again: no signal. */
	ASSERT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	HWP_EXPECT_MF_BOOKED(&before, pfn, "dirty mlocked LRU page",
			     "Recovered");
	munmap(p, ps);
}

/* A free page is simply kept off the allocator's lists. */
TEST(free_buddy)
{
	long hc = hwp_corrupted_kb();
	struct hwp_mf_stats before;
	uint64_t pfn = hwp_free_pfn();

	ASSERT_NE(0, pfn);
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	ASSERT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&before, pfn, "free buddy page", "Recovered");
}

/* A free huge page is dissolved; only its poisoned page is kept back. */
TEST(free_huge)
{
	long hc, nr_huge, free_huge;
	struct hwp_mf_stats before;
	char buf[24];
	uint64_t pfn;

	ASSERT_EQ(0, hwp_read_long(NR_HUGE, &nr_huge));
	snprintf(buf, sizeof(buf), "%ld", nr_huge + 1);
	ASSERT_EQ(0, hwp_write_file(NR_HUGE, buf));
	pfn = hwp_free_huge_page_pfn();
	ASSERT_NE(0, pfn);
	pfn += 3;
	free_huge = hwp_meminfo_kb("HugePages_Free");
	hc = hwp_corrupted_kb();
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	EXPECT_EQ(free_huge - 1, hwp_meminfo_kb("HugePages_Free"));
	HWP_EXPECT_MF_BOOKED(&before, pfn, "free huge page", "Recovered");
	snprintf(buf, sizeof(buf), "%ld", nr_huge);
	hwp_write_file(NR_HUGE, buf);
}

TEST_HARNESS_MAIN
