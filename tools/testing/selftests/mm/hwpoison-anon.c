// SPDX-License-Identifier: GPL-2.0
/*
 * Hard offline of anonymous pages: late and early kill through every
 * software entry (madvise, the debugfs injector, sysfs hard_offline_page).
 *
 * The victim is a child process that maps four pages and waits; the test
 * poisons one of its pages from outside, then lets it touch its memory and
 * reports what it saw through a shared page.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define NPAGES		4
#define TARGET		1

struct victim_report {
	uint64_t pfn;
	uintptr_t target;
	int early_count;	/* SIGBUS seen before touching memory */
	int early_code;
	uintptr_t early_addr;
	int early_lsb;
	int faulted;		/* touching the target raised SIGBUS */
	int code;
	uintptr_t addr;
	int lsb;
	int others_ok;		/* the other pages kept their data */
	int done;
};

enum entry { ENTRY_DEBUGFS, ENTRY_SYSFS };
enum policy { POLICY_LATE, POLICY_PRCTL_EARLY, POLICY_SYSCTL_EARLY };

static int poison(enum entry e, uint64_t pfn)
{
	if (e == ENTRY_DEBUGFS)
		return hwp_inject_pfn(pfn);
	return hwp_sysfs_offline("hard", pfn);
}

static void wait_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

/* Child: map, report pfn, wait for the poison, touch, report. */
static void victim(struct victim_report *r, int to_parent, int from_parent,
		   bool early, bool touch_target)
{
	long ps = hwp_page_size();
	char *p, c;
	int i, ok = 1;

	hwp_catch_sigbus();
	if (early)
		prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
	p = hwp_map_filled(NPAGES, 0, NULL);
	if (!p)
		_exit(2);
	r->pfn = hwp_virt_to_pfn(p + TARGET * ps);
	r->target = (uintptr_t)(p + TARGET * ps);
	if (write(to_parent, "r", 1) != 1)
		_exit(3);
	wait_byte(from_parent);

	r->early_count = hwp_sigbus_count();
	r->early_code = hwp_last_sigbus.code;
	r->early_addr = (uintptr_t)hwp_last_sigbus.addr;
	r->early_lsb = hwp_last_sigbus.lsb;
	hwp_reset_sigbus();

	if (touch_target) {
		r->faulted = hwp_read_faults(p + TARGET * ps, &c);
		r->code = hwp_last_sigbus.code;
		r->addr = (uintptr_t)hwp_last_sigbus.addr;
		r->lsb = hwp_last_sigbus.lsb;
	}
	for (i = 0; i < NPAGES; i++)
		if (i != TARGET && !hwp_check(p + i * ps, ps, i))
			ok = 0;
	r->others_ok = ok;
	r->done = 1;
	_exit(0);
}

FIXTURE(anon)
{
	struct victim_report *r;
	long early_sysctl;
};

FIXTURE_VARIANT(anon)
{
	enum entry entry;
};

FIXTURE_VARIANT_ADD(anon, debugfs)
{
	.entry = ENTRY_DEBUGFS,
};

FIXTURE_VARIANT_ADD(anon, sysfs)
{
	.entry = ENTRY_SYSFS,
};

FIXTURE_SETUP(anon)
{
	if (variant->entry == ENTRY_DEBUGFS)
		ASSERT_TRUE(hwp_have_debugfs_injector()) {
			TH_LOG("no debugfs hwpoison injector (" HWP_DEBUGFS ")");
		}
	if (variant->entry == ENTRY_SYSFS)
		ASSERT_EQ(0, access(HWP_SYSFS_MEM "hard_offline_page", W_OK));
	self->r = mmap(NULL, hwp_page_size(), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->r);
	memset(self->r, 0, sizeof(*self->r));
	ASSERT_EQ(0, hwp_read_long("/proc/sys/vm/memory_failure_early_kill",
				   &self->early_sysctl));
}

FIXTURE_TEARDOWN(anon)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%ld", self->early_sysctl);
	hwp_write_file("/proc/sys/vm/memory_failure_early_kill", buf);
}

/*
 * Run one victim under @policy, poison its target page from here and
 * return its report. Checks what every policy has in common.
 */
static void run_victim(struct __test_metadata *_metadata,
		       struct victim_report *r, enum entry entry,
		       enum policy policy, bool touch_target)
{
	int up[2], down[2], status;
	long hc_before, hc_after;
	struct hwp_mf_stats before;
	pid_t pid;

	ASSERT_EQ(0, hwp_write_file("/proc/sys/vm/memory_failure_early_kill",
				    policy == POLICY_SYSCTL_EARLY ? "1" : "0"));
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		victim(r, up[1], down[0], policy == POLICY_PRCTL_EARLY,
		       touch_target);
	wait_byte(up[0]);
	ASSERT_NE(0, r->pfn);
	ASSERT_FALSE(hwp_pfn_poisoned(r->pfn));

	hc_before = hwp_corrupted_kb();
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	ASSERT_EQ(0, poison(entry, r->pfn));
	hc_after = hwp_corrupted_kb();
	/* Unmapped, and freed once the victim's reference goes. */
	HWP_EXPECT_MF_BOOKED(&before, r->pfn, "dirty LRU page", "Recovered");

	ASSERT_EQ(1, write(down[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status)) {
		TH_LOG("victim died with signal %d", WTERMSIG(status));
	}
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(1, r->done);

	EXPECT_TRUE(hwp_pfn_poisoned(r->pfn));
	EXPECT_EQ(hc_before + hwp_page_size() / 1024, hc_after);
	EXPECT_EQ(1, r->others_ok);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

/* Late kill: nothing happens until the victim touches the page. */
TEST_F(anon, late_kill)
{
	run_victim(_metadata, self->r, variant->entry, POLICY_LATE, true);
	EXPECT_EQ(0, self->r->early_count);
	EXPECT_EQ(1, self->r->faulted);
	EXPECT_EQ(BUS_MCEERR_AR, self->r->code);
	EXPECT_EQ(self->r->target, self->r->addr);
	EXPECT_EQ(12, self->r->lsb);
}

static void check_early(struct __test_metadata *_metadata,
			struct victim_report *r)
{
	EXPECT_EQ(1, r->early_count);
	EXPECT_EQ(BUS_MCEERR_AO, r->early_code);
	EXPECT_EQ(r->target, r->early_addr);
	EXPECT_EQ(12, r->early_lsb);
}

/* Early kill by prctl(PR_MCE_KILL): BUS_MCEERR_AO at poison time. */
TEST_F(anon, early_kill_prctl)
{
	run_victim(_metadata, self->r, variant->entry, POLICY_PRCTL_EARLY, false);
	check_early(_metadata, self->r);
}

/* Early kill by vm.memory_failure_early_kill=1. */
TEST_F(anon, early_kill_sysctl)
{
	run_victim(_metadata, self->r, variant->entry, POLICY_SYSCTL_EARLY, false);
	check_early(_metadata, self->r);
}

/* After an early kill the page is gone: touching it is action-required. */
TEST_F(anon, early_kill_then_touch)
{
	run_victim(_metadata, self->r, variant->entry, POLICY_PRCTL_EARLY, true);
	check_early(_metadata, self->r);
	EXPECT_EQ(1, self->r->faulted);
	EXPECT_EQ(BUS_MCEERR_AR, self->r->code);
	EXPECT_EQ(self->r->target, self->r->addr);
}

/* A process that does not map the page is never signalled. */
TEST_F(anon, bystander_untouched)
{
	struct victim_report *b;
	int up[2], down[2], status;
	pid_t pid;

	b = mmap(NULL, hwp_page_size(), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, b);
	memset(b, 0, sizeof(*b));
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		victim(b, up[1], down[0], true, true);
	wait_byte(up[0]);

	run_victim(_metadata, self->r, variant->entry, POLICY_SYSCTL_EARLY, false);
	check_early(_metadata, self->r);

	ASSERT_EQ(1, write(down[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, b->early_count);
	EXPECT_EQ(0, b->faulted);
	EXPECT_EQ(1, b->others_ok);
	EXPECT_FALSE(hwp_pfn_poisoned(b->pfn));
}

/*
 * madvise(MADV_HWPOISON) on one's own dirty page is an action-required
 * error for the caller: SIGBUS at once, then again on every touch, and a
 * second madvise on the same address finds no page (EFAULT).
 */
TEST(madvise_self)
{
	long ps = hwp_page_size();
	long hc_before;
	uint64_t pfn;
	char *p, c;
	int ret;

	hwp_catch_sigbus();
	p = hwp_map_filled(3, 7, NULL);
	ASSERT_NE(NULL, p);
	pfn = hwp_virt_to_pfn(p + ps);
	ASSERT_NE(0, pfn);
	hc_before = hwp_corrupted_kb();

	ret = madvise(p + ps, ps, MADV_HWPOISON);
	ASSERT_EQ(0, ret) {
		TH_LOG("madvise: %s", strerror(errno));
	}
	EXPECT_EQ(1, hwp_sigbus_count());
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(p + ps, hwp_last_sigbus.addr);
	EXPECT_EQ(12, hwp_last_sigbus.lsb);
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc_before + ps / 1024, hwp_corrupted_kb());

	/* A later touch faults at the exact address, not the page start. */
	hwp_reset_sigbus();
	EXPECT_TRUE(hwp_read_faults(p + ps + 100, &c));
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(p + ps + 100, hwp_last_sigbus.addr);
	EXPECT_EQ(12, hwp_last_sigbus.lsb);

	/* The neighbours are intact. */
	EXPECT_TRUE(hwp_check(p, ps, 7));
	EXPECT_TRUE(hwp_check(p + 2 * ps, ps, 9));

	/*
	 * The address now holds a hwpoison entry, not the page: there is no
	 * page to look up, so madvise fails with EFAULT and counts nothing.
	 */
	hc_before = hwp_corrupted_kb();
	EXPECT_EQ(-1, madvise(p + ps, ps, MADV_HWPOISON));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(hc_before, hwp_corrupted_kb());
}

/* Unprivileged callers are refused. */
TEST(madvise_unprivileged)
{
	long ps = hwp_page_size();
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char *p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			_exit(10);
		memset(p, 1, ps);
		if (setgid(65534) || setuid(65534))
			_exit(11);
		if (madvise(p, ps, MADV_HWPOISON) != -1 || errno != EPERM)
			_exit(12);
		if (madvise(p, ps, MADV_SOFT_OFFLINE) != -1 || errno != EPERM)
			_exit(13);
		if (hwp_pfn_poisoned(hwp_virt_to_pfn(p)))
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
