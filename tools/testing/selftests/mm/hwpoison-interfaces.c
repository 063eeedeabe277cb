// SPDX-License-Identifier: GPL-2.0
/*
 * The interfaces around memory failure: the ras:memory_failure_event
 * tracepoint, the per-node counters and how they agree with
 * HardwareCorrupted, the injector's filters, the modes of the control
 * files, and concurrent reports of one pfn.
 */
#include <pthread.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define TRACEFS		"/sys/kernel/tracing/"
#define EVENT		TRACEFS "events/ras/memory_failure_event/enable"

/* Read the whole trace buffer into a malloc'ed string. */
static char *read_trace(void)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	int fd = open(TRACEFS "trace", O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

static int count_lines(const char *text, const char *needle)
{
	int n = 0;

	while (text && (text = strstr(text, needle))) {
		n++;
		text++;
	}
	return n;
}

/* One event per handled page, with the pfn, the page type and result. */
TEST(tracepoint)
{
	uint64_t pfn = hwp_free_pfn();
	char expect[128], *trace;
	int fd;

	ASSERT_EQ(0, access(EVENT, W_OK)) {
		TH_LOG("no ras:memory_failure_event: %s", strerror(errno));
	}
	ASSERT_NE(0, pfn);
	/* Only an open for writing with O_TRUNC empties the buffer. */
	fd = open(TRACEFS "trace", O_WRONLY | O_TRUNC);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, hwp_write_file(EVENT, "1"));
	ASSERT_EQ(0, hwp_inject_pfn(pfn));
	/* A repeated report is traced as such, and soft offline is not. */
	ASSERT_EQ(-EHWPOISON, hwp_inject_pfn(pfn));
	ASSERT_EQ(0, hwp_write_file(EVENT, "0"));
	trace = read_trace();
	ASSERT_NE(NULL, trace);

	EXPECT_EQ(2, count_lines(trace, "memory_failure_event:")) {
		TH_LOG("trace:\n%s", trace);
	}
	snprintf(expect, sizeof(expect),
		 "pfn %#llx: recovery action for free buddy page: Recovered",
		 (unsigned long long)pfn);
	EXPECT_EQ(1, count_lines(trace, expect)) {
		TH_LOG("no \"%s\" in:\n%s", expect, trace);
	}
	snprintf(expect, sizeof(expect),
		 "pfn %#llx: recovery action for already poisoned: Failed",
		 (unsigned long long)pfn);
	EXPECT_EQ(1, count_lines(trace, expect)) {
		TH_LOG("no \"%s\" in:\n%s", expect, trace);
	}
	free(trace);
}

/*
 * Per-node counters: every node has all five, and each handled free page
 * adds one to total and one to recovered.
 */
TEST(node_counters)
{
	static const char * const names[] = {
		"total", "ignored", "failed", "delayed", "recovered",
	};
	long total = hwp_node_stat("total");
	long recovered = hwp_node_stat("recovered");
	long failed = hwp_node_stat("failed");
	long ignored = hwp_node_stat("ignored");
	long delayed = hwp_node_stat("delayed");
	int i, node, nodes = 0;
	char path[128];
	uint64_t pfns[4];
	unsigned int j;
	long v;

	for (node = 0; node < 64; node++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d",
			 node);
		if (access(path, F_OK))
			continue;
		nodes++;
		for (j = 0; j < ARRAY_SIZE(names); j++) {
			snprintf(path, sizeof(path),
				 "/sys/devices/system/node/node%d/memory_failure/%s",
				 node, names[j]);
			EXPECT_EQ(0, hwp_read_long(path, &v)) {
				TH_LOG("%s: cannot be read", path);
			}
			EXPECT_LE(0, v);
		}
	}
	ASSERT_LT(0, nodes);
	ASSERT_LE(0, total);
	ASSERT_EQ(4, hwp_free_pfns(pfns, 4));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, hwp_inject_pfn(pfns[i]));
	EXPECT_EQ(total + 4, hwp_node_stat("total"));
	EXPECT_EQ(recovered + 4, hwp_node_stat("recovered"));
	EXPECT_EQ(failed, hwp_node_stat("failed"));
	EXPECT_EQ(ignored, hwp_node_stat("ignored"));
	EXPECT_EQ(delayed, hwp_node_stat("delayed"));
}

struct ledger {
	long hc, total, recovered, failed;
};

static void ledger_read(struct ledger *l)
{
	l->hc = hwp_corrupted_kb();
	l->total = hwp_node_stat("total");
	l->recovered = hwp_node_stat("recovered");
	l->failed = hwp_node_stat("failed");
}

/*
 * HardwareCorrupted and the per-node counters say different things, and
 * each must stay true to its own meaning across soft offline, hard offline
 * and unpoison:
 * - HardwareCorrupted is the memory poisoned *now*: it rises by a page for
 *   each newly poisoned page, hard or soft, once, and falls when unpoison
 *   gives a page back;
 * - the per-node memory_failure counters count hard-offline *handlings*
 *   by outcome: a soft offline is not one, a repeated report of a
 *   poisoned page is not a new one, and unpoison does not undo history.
 */
TEST(counter_ledger)
{
	long kb = hwp_page_size() / 1024;
	struct ledger base, l;
	uint64_t pfns[2], a, b;

	ledger_read(&base);
	ASSERT_LE(0, base.total);
	ASSERT_EQ(2, hwp_free_pfns(pfns, 2));
	a = pfns[0];
	b = pfns[1];

	/* Hard offline of a: one more poisoned page, one handling. */
	ASSERT_EQ(0, hwp_inject_pfn(a));
	ledger_read(&l);
	EXPECT_EQ(base.hc + kb, l.hc);
	EXPECT_EQ(base.total + 1, l.total);
	EXPECT_EQ(base.recovered + 1, l.recovered);

	/* Soft offline of b: poisoned, but not a hard-offline handling. */
	ASSERT_EQ(0, hwp_sysfs_offline("soft", b));
	EXPECT_TRUE(hwp_pfn_poisoned(b));
	ledger_read(&l);
	EXPECT_EQ(base.hc + 2 * kb, l.hc);
	EXPECT_EQ(base.total + 1, l.total);

	/* Reports of pages already poisoned change nothing. */
	EXPECT_EQ(-EHWPOISON, hwp_inject_pfn(b));
	EXPECT_EQ(0, hwp_sysfs_offline("soft", a));
	EXPECT_EQ(-EHWPOISON, hwp_sysfs_offline("hard", a));
	ledger_read(&l);
	EXPECT_EQ(base.hc + 2 * kb, l.hc);
	EXPECT_EQ(base.total + 1, l.total);
	EXPECT_EQ(base.recovered + 1, l.recovered);
	EXPECT_EQ(base.failed, l.failed);

	/* Unpoison gives both back; history stays. */
	EXPECT_EQ(0, hwp_unpoison_pfn(a));
	EXPECT_EQ(0, hwp_unpoison_pfn(b));
	EXPECT_FALSE(hwp_pfn_poisoned(a));
	EXPECT_FALSE(hwp_pfn_poisoned(b));
	ledger_read(&l);
	EXPECT_EQ(base.hc, l.hc);
	EXPECT_EQ(base.total + 1, l.total);
	EXPECT_EQ(base.recovered + 1, l.recovered);
}

struct racer {
	uint64_t pfn;
	pthread_barrier_t *barrier;
	int ret;
};

static void *race_inject(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->barrier);
	r->ret = hwp_inject_pfn(r->pfn);
	return NULL;
}

/* Several reporters of one pfn at once: handled and counted exactly once. */
TEST(concurrent_reports)
{
	enum { N = 6 };
	struct racer r[N];
	pthread_barrier_t barrier;
	pthread_t th[N];
	long hc, total;
	int i, ok = 0, again = 0, round;

	for (round = 0; round < 8; round++) {
		uint64_t pfn = hwp_free_pfn();

		ASSERT_NE(0, pfn);
		hc = hwp_corrupted_kb();
		total = hwp_node_stat("total");
		pthread_barrier_init(&barrier, NULL, N);
		for (i = 0; i < N; i++) {
			r[i].pfn = pfn;
			r[i].barrier = &barrier;
			pthread_create(&th[i], NULL, race_inject, &r[i]);
		}
		ok = 0;
		again = 0;
		for (i = 0; i < N; i++) {
			pthread_join(th[i], NULL);
			ok += r[i].ret == 0;
			again += r[i].ret == -EHWPOISON;
		}
		pthread_barrier_destroy(&barrier);
		EXPECT_EQ(1, ok);
		EXPECT_EQ(N - 1, again);
		EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
		EXPECT_EQ(total + 1, hwp_node_stat("total"));
	}
}

static void expect_mode(struct __test_metadata *_metadata, const char *path,
			mode_t mode)
{
	struct stat st;

	ASSERT_EQ(0, stat(path, &st)) {
		TH_LOG("%s: %s", path, strerror(errno));
	}
	EXPECT_EQ(mode, st.st_mode & 07777) {
		TH_LOG("%s has mode %o", path, st.st_mode & 07777);
	}
}

/* The control files keep their modes: write-only or root-only. */
TEST(file_modes)
{
	static const char * const filters[] = {
		"corrupt-filter-enable", "corrupt-filter-dev-major",
		"corrupt-filter-dev-minor", "corrupt-filter-flags-mask",
		"corrupt-filter-flags-value",
	};
	char path[128];
	unsigned int i;

	expect_mode(_metadata, HWP_SYSFS_MEM "soft_offline_page", 0200);
	expect_mode(_metadata, HWP_SYSFS_MEM "hard_offline_page", 0200);
	expect_mode(_metadata, HWP_DEBUGFS "corrupt-pfn", 0200);
	expect_mode(_metadata, HWP_DEBUGFS "unpoison-pfn", 0200);
	for (i = 0; i < ARRAY_SIZE(filters); i++) {
		snprintf(path, sizeof(path), HWP_DEBUGFS "%s", filters[i]);
		expect_mode(_metadata, path, 0600);
	}
	expect_mode(_metadata, "/proc/sys/vm/memory_failure_early_kill", 0644);
	expect_mode(_metadata, "/proc/sys/vm/memory_failure_recovery", 0644);
	expect_mode(_metadata, "/proc/sys/vm/enable_soft_offline", 0644);
}

static void reset_filters(void)
{
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-enable", "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-mask", "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-value", "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-dev-major", "4294967295");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-dev-minor", "4294967295");
}

FIXTURE(filter)
{
	char *map;
	int fd;
	uint64_t pfn;
	dev_t dev;
};

FIXTURE_SETUP(filter)
{
	long ps = hwp_page_size();
	struct stat st;

	ASSERT_EQ(0, access(HWP_DEBUGFS "corrupt-filter-enable", W_OK)) {
		TH_LOG("no injector filters");
	}
	ASSERT_EQ(0, access("/mnt/disk", W_OK)) {
		TH_LOG("no disk-backed file system at /mnt/disk");
	}
	reset_filters();
	/* A clean page cache page of a file on a real block device. */
	self->fd = open("/mnt/disk/hwpoison-filter.dat",
			O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(0, ftruncate(self->fd, 4 * ps));
	self->map = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	hwp_fill(self->map, 4 * ps, 1);
	ASSERT_EQ(0, msync(self->map, 4 * ps, MS_SYNC));
	self->pfn = hwp_virt_to_pfn(self->map + ps);
	ASSERT_NE(0, self->pfn);
	ASSERT_EQ(0, fstat(self->fd, &st));
	self->dev = st.st_dev;
}

FIXTURE_TEARDOWN(filter)
{
	reset_filters();
}

static void set_u64(const char *name, unsigned long long v)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), HWP_DEBUGFS "%s", name);
	snprintf(buf, sizeof(buf), "%llu", v);
	hwp_write_file(path, buf);
}

/*
 * A report the filter rejects is neither handled nor traced nor counted:
 * the page is left as it was.
 */
static void expect_filtered(struct __test_metadata *_metadata, uint64_t pfn,
			    long hc)
{
	struct hwp_mf_stats before, after;
	struct hwp_mf_event ev;

	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_mf_trace_read(&ev));
	ASSERT_TRUE(hwp_mf_stats_read(&after));
	EXPECT_EQ(0, memcmp(&before, &after, sizeof(before)));
}

/*
 * A report the filter passes is handled as any other: the clean page
 * cache page is dropped.
 */
static void expect_passed(struct __test_metadata *_metadata, uint64_t pfn,
			  long hc)
{
	struct hwp_mf_stats before;

	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&before, pfn, "clean LRU page", "Recovered");
}

/* A page the filter rejects is left untouched, and nothing is counted. */
TEST_F(filter, flags_reject_then_accept)
{
	long hc = hwp_corrupted_kb();
	uint64_t flags = hwp_kpageflags(self->pfn);

	/* Demand the page be free (buddy): a page cache page is not. */
	set_u64("corrupt-filter-flags-mask", BIT_ULL(KPF_BUDDY));
	set_u64("corrupt-filter-flags-value", BIT_ULL(KPF_BUDDY));
	set_u64("corrupt-filter-enable", 1);
	expect_filtered(_metadata, self->pfn, hc);
	EXPECT_TRUE(hwp_check(self->map, 4 * hwp_page_size(), 1));

	/* Now demand exactly the flags it has: it passes. */
	set_u64("corrupt-filter-flags-mask", flags);
	set_u64("corrupt-filter-flags-value", flags);
	expect_passed(_metadata, self->pfn, hc);
}

/* The block-device filter passes only pages of files on that device. */
TEST_F(filter, device)
{
	long hc = hwp_corrupted_kb();

	set_u64("corrupt-filter-dev-major", major(self->dev) + 1);
	set_u64("corrupt-filter-dev-minor", minor(self->dev));
	set_u64("corrupt-filter-enable", 1);
	expect_filtered(_metadata, self->pfn, hc);

	set_u64("corrupt-filter-dev-major", major(self->dev));
	expect_passed(_metadata, self->pfn, hc);
}

/* The memcg filter passes only pages charged to that memory cgroup. */
TEST(filter_memcg)
{
	long ps = hwp_page_size();
	uint64_t *shared;
	int up[2], down[2], status;
	long hc;
	struct stat st;
	char buf[32], c;
	pid_t pid;

	ASSERT_EQ(0, access(HWP_DEBUGFS "corrupt-filter-memcg", W_OK)) {
		TH_LOG("no memcg filter");
	}
	mkdir("/sys/fs/cgroup", 0755);
	mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	hwp_write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	mkdir("/sys/fs/cgroup/hwp-filter", 0755);
	ASSERT_EQ(0, stat("/sys/fs/cgroup/hwp-filter/memory.current", &st)) {
		TH_LOG("no cgroup2 memory controller");
	}
	ASSERT_EQ(0, stat("/sys/fs/cgroup/hwp-filter", &st));

	shared = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, shared);
	ASSERT_EQ(0, pipe(up));
	ASSERT_EQ(0, pipe(down));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char *p;

		snprintf(buf, sizeof(buf), "%d", getpid());
		if (hwp_write_file("/sys/fs/cgroup/hwp-filter/cgroup.procs",
				   buf))
			_exit(2);
		p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(3);
		memset(p, 1, ps);
		*shared = hwp_virt_to_pfn(p);
		if (write(up[1], "r", 1) != 1)
			_exit(4);
		while (read(down[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	ASSERT_EQ(1, read(up[0], &c, 1));
	ASSERT_NE(0, *shared);
	hc = hwp_corrupted_kb();

	reset_filters();
	set_u64("corrupt-filter-memcg", st.st_ino + 1000);
	set_u64("corrupt-filter-enable", 1);
	EXPECT_EQ(0, hwp_inject_pfn(*shared));
	EXPECT_FALSE(hwp_pfn_poisoned(*shared));
	EXPECT_EQ(hc, hwp_corrupted_kb());

	set_u64("corrupt-filter-memcg", st.st_ino);
	EXPECT_EQ(0, hwp_inject_pfn(*shared));
	EXPECT_TRUE(hwp_pfn_poisoned(*shared));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	set_u64("corrupt-filter-memcg", 0);
	reset_filters();

	ASSERT_EQ(1, write(down[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rmdir("/sys/fs/cgroup/hwp-filter");
}

/* The kill policy is per thread, inherited by children, checked strictly. */
TEST(prctl_policy)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY,
			   0, 0));
	EXPECT_EQ(PR_MCE_KILL_EARLY, prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) == PR_MCE_KILL_EARLY ?
		      0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE,
			   0, 0));
	EXPECT_EQ(PR_MCE_KILL_LATE, prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0));
	EXPECT_EQ(PR_MCE_KILL_DEFAULT, prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));

	EXPECT_EQ(-1, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, 7, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_MCE_KILL, 9, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 1, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY,
			    1, 0));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, prctl(PR_MCE_KILL_GET, 1, 0, 0, 0));
	EXPECT_EQ(EINVAL, errno);
}

/* No control of memory failure is open to an unprivileged user. */
TEST(unprivileged_writes)
{
	static const char * const files[] = {
		"/proc/sys/vm/memory_failure_early_kill",
		"/proc/sys/vm/memory_failure_recovery",
		"/proc/sys/vm/enable_soft_offline",
		HWP_SYSFS_MEM "soft_offline_page",
		HWP_SYSFS_MEM "hard_offline_page",
		HWP_DEBUGFS "corrupt-pfn",
		HWP_DEBUGFS "unpoison-pfn",
		HWP_DEBUGFS "corrupt-filter-enable",
		EVENT,
	};
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		unsigned int i;
		int bad = 0;

		if (setgid(65534) || setuid(65534))
			_exit(100);
		for (i = 0; i < ARRAY_SIZE(files); i++)
			if (hwp_write_file(files[i], "1") != -EACCES)
				bad++;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Drop CAP_SYS_ADMIN from the bounding, permitted, effective and
 * inheritable sets of this process and keep everything else, uid 0
 * included: the file modes still let it open every control file.
 */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int i = CAP_TO_INDEX(CAP_SYS_ADMIN);
	__u32 bit = CAP_TO_MASK(CAP_SYS_ADMIN);

	if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0))
		return -1;
	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[i].effective &= ~bit;
	data[i].permitted &= ~bit;
	data[i].inheritable &= ~bit;
	if (syscall(SYS_capset, &hdr, data))
		return -1;
	/* Check it took: gone from both sets, and nothing else lost. */
	if (syscall(SYS_capget, &hdr, data) ||
	    (data[i].effective & bit) || (data[i].permitted & bit) ||
	    !(data[CAP_TO_INDEX(CAP_DAC_OVERRIDE)].effective &
	      CAP_TO_MASK(CAP_DAC_OVERRIDE)) ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
	    getuid() != 0 || geteuid() != 0)
		return -1;
	return 0;
}

/* Write @buf to the open @fd: 0 or -errno. */
static int write_fd(int fd, const char *buf)
{
	return write(fd, buf, strlen(buf)) < 0 ? -errno : 0;
}

enum {
	CAP_CORRUPT, CAP_UNPOISON, CAP_HARD, CAP_SOFT,
	CAP_CORRUPT_EARLY, CAP_UNPOISON_EARLY, CAP_HARD_EARLY, CAP_SOFT_EARLY,
	CAP_MADV_HWPOISON, CAP_MADV_SOFT,
	CAP_CORRUPT_JUNK, CAP_HARD_JUNK,
	CAP_FILTER_ENABLE, CAP_FILTER_MASK, CAP_FILTER_VALUE,
	CAP_NR
};

static const char * const cap_case[CAP_NR] = {
	[CAP_CORRUPT] = "corrupt-pfn",
	[CAP_UNPOISON] = "unpoison-pfn",
	[CAP_HARD] = "hard_offline_page",
	[CAP_SOFT] = "soft_offline_page",
	[CAP_CORRUPT_EARLY] = "corrupt-pfn opened with the capability",
	[CAP_UNPOISON_EARLY] = "unpoison-pfn opened with the capability",
	[CAP_HARD_EARLY] = "hard_offline_page opened with the capability",
	[CAP_SOFT_EARLY] = "soft_offline_page opened with the capability",
	[CAP_MADV_HWPOISON] = "MADV_HWPOISON",
	[CAP_MADV_SOFT] = "MADV_SOFT_OFFLINE",
	[CAP_CORRUPT_JUNK] = "corrupt-pfn \"junk\"",
	[CAP_HARD_JUNK] = "hard_offline_page \"junk\"",
	[CAP_FILTER_ENABLE] = "corrupt-filter-enable",
	[CAP_FILTER_MASK] = "corrupt-filter-flags-mask",
	[CAP_FILTER_VALUE] = "corrupt-filter-flags-value",
};

/*
 * Root without CAP_SYS_ADMIN: the file modes let it open every control
 * file, and each interface refuses it at the write with EPERM. The
 * capability is checked when the write happens, not when the file is
 * opened, so a descriptor opened while it was still held is refused as
 * well. Which check comes first differs: sysfs checks the capability
 * before it parses (junk gets EPERM), the debugfs attributes parse
 * first (junk gets EINVAL). The injector's filters are plain debugfs
 * integers: only their mode guards them, so they accept the write.
 */
TEST(no_cap_sys_admin)
{
	static const char * const early_files[4] = {
		HWP_DEBUGFS "corrupt-pfn", HWP_DEBUGFS "unpoison-pfn",
		HWP_SYSFS_MEM "hard_offline_page",
		HWP_SYSFS_MEM "soft_offline_page",
	};
	long ps = hwp_page_size(), hc;
	uint64_t pfns[2], free_pfn, poisoned_pfn, *own_pfn;
	int *res, status, i;
	pid_t pid;

	ASSERT_EQ(2, hwp_free_pfns(pfns, 2));
	free_pfn = pfns[0];
	poisoned_pfn = pfns[1];
	ASSERT_EQ(0, hwp_inject_pfn(poisoned_pfn));
	hc = hwp_corrupted_kb();
	reset_filters();
	res = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	for (i = 0; i < CAP_NR; i++)
		res[i] = 1;
	own_pfn = (uint64_t *)(res + CAP_NR + 1);
	*own_pfn = 0;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		char free_pa[32], free_pn[32], pois_pn[32], *p;
		int early[4];

		snprintf(free_pa, sizeof(free_pa), "%#llx",
			 (unsigned long long)free_pfn * ps);
		snprintf(free_pn, sizeof(free_pn), "%#llx",
			 (unsigned long long)free_pfn);
		snprintf(pois_pn, sizeof(pois_pn), "%#llx",
			 (unsigned long long)poisoned_pfn);
		p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(2);
		memset(p, 1, ps);
		/* Only CAP_SYS_ADMIN sees pfns in pagemap: look now. */
		*own_pfn = hwp_virt_to_pfn(p);
		/* Opened while CAP_SYS_ADMIN is still held. */
		for (i = 0; i < 4; i++)
			early[i] = open(early_files[i], O_WRONLY);
		if (drop_sys_admin())
			_exit(3);

		res[CAP_CORRUPT] = hwp_inject_pfn(free_pfn);
		res[CAP_UNPOISON] = hwp_unpoison_pfn(poisoned_pfn);
		res[CAP_HARD] = hwp_sysfs_offline("hard", free_pfn);
		res[CAP_SOFT] = hwp_sysfs_offline("soft", free_pfn);
		res[CAP_CORRUPT_EARLY] = early[0] < 0 ? -1000 :
					 write_fd(early[0], free_pn);
		res[CAP_UNPOISON_EARLY] = early[1] < 0 ? -1000 :
					  write_fd(early[1], pois_pn);
		res[CAP_HARD_EARLY] = early[2] < 0 ? -1000 :
				      write_fd(early[2], free_pa);
		res[CAP_SOFT_EARLY] = early[3] < 0 ? -1000 :
				      write_fd(early[3], free_pa);
		res[CAP_MADV_HWPOISON] = madvise(p, ps, MADV_HWPOISON) ?
					 -errno : 0;
		res[CAP_MADV_SOFT] = madvise(p, ps, MADV_SOFT_OFFLINE) ?
				     -errno : 0;
		res[CAP_CORRUPT_JUNK] = hwp_write_file(HWP_DEBUGFS
						       "corrupt-pfn", "junk");
		res[CAP_HARD_JUNK] = hwp_write_file(HWP_SYSFS_MEM
						    "hard_offline_page",
						    "junk");
		res[CAP_FILTER_ENABLE] = hwp_write_file(HWP_DEBUGFS
							"corrupt-filter-enable",
							"0");
		res[CAP_FILTER_MASK] =
			hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-mask",
				       "0");
		res[CAP_FILTER_VALUE] =
			hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-value",
				       "0");
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("could not set up a root without CAP_SYS_ADMIN");
	}
	for (i = 0; i < CAP_NR; i++) {
		int want = -EPERM;

		if (i == CAP_CORRUPT_JUNK)
			want = -EINVAL;
		else if (i >= CAP_FILTER_ENABLE)
			want = 0;
		EXPECT_EQ(want, res[i]) {
			TH_LOG("%s: %d", cap_case[i], res[i]);
		}
	}

	/* Nothing happened: no page poisoned, none given back. */
	ASSERT_NE(0, *own_pfn);
	EXPECT_FALSE(hwp_pfn_poisoned(*own_pfn));
	EXPECT_FALSE(hwp_pfn_poisoned(free_pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(poisoned_pfn));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_unpoison_pfn(poisoned_pfn));
	munmap(res, ps);
}

TEST_HARNESS_MAIN
