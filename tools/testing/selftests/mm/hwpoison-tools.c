// SPDX-License-Identifier: GPL-2.0
/*
 * The tools operators meet memory failure through, unmodified from Debian
 * 12, against the running kernel: trace-cmd reading the
 * ras:memory_failure_event tracepoint, rasdaemon recording a machine
 * check, page-types finding, poisoning and unpoisoning pfns, ndctl turning
 * legacy persistent memory into device-dax, and stress-ng's hwpoison
 * stressors beside a workload that must keep its data.
 *
 * Runs in the Debian guest flavour (suite key guest=debian); elsewhere
 * every case is skipped.
 */
#include <signal.h>
#include <sys/klog.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define TRACE_DAT	"/tmp/hwp-mf.dat"
#define RAS_INSTANCE	"/sys/kernel/tracing/instances/rasdaemon"
#define NDCTL_DEVDAX	"ndctl create-namespace -f -e namespace0.0 -m devdax --align 4K >/dev/null"
#define NDCTL_DISABLE	"timeout 60 ndctl disable-namespace namespace0.0 >/dev/null 2>&1"
#define STRESS_LOG	"/tmp/stress-ng.log"
#define STRESS_NG	"stress-ng --madvise 2 --timeout 30s --metrics-brief >" STRESS_LOG " 2>&1"

static bool have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
	return system(cmd) == 0;
}

/* Output of a shell command, malloc'ed; NULL if it could not run. */
static char *capture(const char *cmd)
{
	size_t cap = 1 << 16, len = 0, n;
	FILE *f = popen(cmd, "r");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	pclose(f);
	if (buf)
		buf[len] = 0;
	return buf;
}

static int shell(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Start a tool in the background, its output in @log. */
static pid_t spawn(const char *log, char *const argv[])
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setpgid(0, 0);
	execvp(argv[0], argv);
	_exit(127);
}

static int stop(pid_t pid, int sig, int seconds)
{
	int status = -1, i;

	kill(pid, sig);
	for (i = 0; i < seconds * 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		usleep(100000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static bool wait_file_says(const char *path, const char *want, int seconds)
{
	char buf[64] = "";
	int i;

	for (i = 0; i < seconds * 10; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = 0;
			fclose(f);
			if (!strncmp(buf, want, strlen(want)))
				return true;
		}
		usleep(100000);
	}
	return false;
}

static bool wait_file_has(const char *path, const char *want, int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "grep -qF '%s' %s 2>/dev/null", want,
			 path);
		if (!shell("%s", cmd))
			return true;
		usleep(100000);
	}
	return false;
}

static char *kernel_log(void)
{
	int len = klogctl(10, NULL, 0);	/* SYSLOG_ACTION_SIZE_BUFFER */
	char *buf = malloc(len + 1);
	int n;

	if (!buf)
		return NULL;
	n = klogctl(3, buf, len);	/* SYSLOG_ACTION_READ_ALL */
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

/* "<what>: <type>: <result>" for @pfn after @prefix, or "" if absent. */
static void outcome_after(const char *text, const char *prefix, uint64_t pfn,
			  char *out, size_t len)
{
	char needle[96];
	const char *p, *end;

	out[0] = 0;
	snprintf(needle, sizeof(needle), "%s%#llx: recovery action for ", prefix,
		 (unsigned long long)pfn);
	p = text ? strstr(text, needle) : NULL;
	if (!p)
		return;
	p += strlen(needle);
	end = strchr(p, '\n');
	if (!end)
		end = p + strlen(p);
	snprintf(out, len, "%.*s", (int)(end - p), p);
}

static bool wait_log(const char *needle, int seconds)
{
	int i;

	for (i = 0; i < seconds * 10; i++) {
		char *log = kernel_log();
		bool found = log && strstr(log, needle);

		free(log);
		if (found)
			return true;
		usleep(100000);
	}
	return false;
}

/* Poison a private page of a child by its own MADV_HWPOISON; its pfn. */
static uint64_t madvise_in_child(void)
{
	long ps = hwp_page_size();
	uint64_t pfn = 0;
	int fds[2];
	pid_t pid;

	if (pipe(fds))
		return 0;
	pid = fork();
	if (!pid) {
		char *p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		hwp_fill(p, ps, 5);
		pfn = hwp_virt_to_pfn(p);
		if (write(fds[1], &pfn, sizeof(pfn)) != sizeof(pfn))
			_exit(1);
		/* Action required for the caller: this child dies of it. */
		madvise(p, ps, MADV_HWPOISON);
		_exit(0);
	}
	if (read(fds[0], &pfn, sizeof(pfn)) != sizeof(pfn))
		pfn = 0;
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	return pfn;
}

FIXTURE(tools)
{
};

FIXTURE_SETUP(tools)
{
}

FIXTURE_TEARDOWN(tools)
{
}

/*
 * page-types finds, poisons and unpoisons pfns; the counters follow.
 * First of all: after a real machine check the kernel refuses unpoison
 * for the rest of the boot (EOPNOTSUPP), and later cases inject some.
 */
TEST_F_TIMEOUT(tools, page_types, 120)
{
	long hc = hwp_corrupted_kb(), kb = hwp_page_size() / 1024;
	char cmd[128], line[32];
	uint64_t pfn;
	char *out;

	if (!have("page-types"))
		SKIP(return, "no page-types (needs the Debian guest)");
	pfn = hwp_free_pfn();
	ASSERT_NE(0, pfn);
	snprintf(line, sizeof(line), "\n%llx\t", (unsigned long long)pfn);

	EXPECT_EQ(0, shell("page-types -a %#llx -X >/dev/null",
			   (unsigned long long)pfn));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + kb, hwp_corrupted_kb());
	snprintf(cmd, sizeof(cmd), "page-types -b hwpoison -l -N 2>/dev/null");
	out = capture(cmd);
	ASSERT_NE(NULL, out);
	EXPECT_NE(NULL, strstr(out, line)) TH_LOG("%s", out);
	free(out);

	EXPECT_EQ(0, shell("page-types -a %#llx -x >/dev/null",
			   (unsigned long long)pfn));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	out = capture(cmd);
	ASSERT_NE(NULL, out);
	EXPECT_EQ(NULL, strstr(out, line));
	free(out);
}

/* What the device-dax mapper saw; in a shared anonymous page. */
struct dax_report {
	uint64_t pfn;
	uintptr_t addr;
	int ready;
	int count;
	int code;
	int lsb;
	uintptr_t fault_addr;
};

/*
 * trace-cmd records ras:memory_failure_event around hard offline from
 * every entry; trace-cmd report (libtraceevent parsing the event's
 * format) shows each pfn with the page type and result that the kernel
 * log line gives.
 */
TEST_F_TIMEOUT(tools, trace_cmd_report, 300)
{
	/* Line-buffered, so that its "recording" line shows when it does. */
	char *const argv[] = { "stdbuf", "-oL", "trace-cmd", "record", "-e",
			       "ras:memory_failure_event", "-o", TRACE_DAT,
			       NULL };
	char seen[160], logged[160];
	uint64_t pfns[4];
	char *report, *klog;
	int i, n = 0;
	pid_t rec;

	if (!have("trace-cmd"))
		SKIP(return, "no trace-cmd (needs the Debian guest)");
	rec = spawn("/tmp/trace-cmd.log", argv);
	ASSERT_LT(0, rec);
	ASSERT_TRUE(wait_file_has("/tmp/trace-cmd.log",
				  "Hit Ctrl^C to stop recording", 60));

	/*
	 * Each free pfn is picked just before its report: trace-cmd
	 * allocates as it records, so a page picked earlier may be in use.
	 */
	pfns[n] = hwp_free_pfn();
	ASSERT_EQ(0, hwp_inject_pfn(pfns[n]));
	n++;
	pfns[n] = hwp_free_pfn();
	ASSERT_EQ(0, hwp_sysfs_offline("hard", pfns[n]));
	n++;
	pfns[n] = madvise_in_child();
	ASSERT_NE(0, pfns[n]);
	n++;
	if (hwp_host_present()) {
		char needle[64];

		pfns[n] = hwp_free_pfn();
		ASSERT_EQ(0, hwp_request_mce("srao", pfns[n]));
		snprintf(needle, sizeof(needle), "Memory failure: %#llx: recovery",
			 (unsigned long long)pfns[n]);
		ASSERT_TRUE(wait_log(needle, 30));
		n++;
	}
	EXPECT_EQ(0, stop(rec, SIGINT, 120));

	report = capture("trace-cmd report -i " TRACE_DAT " 2>/dev/null");
	klog = kernel_log();
	ASSERT_NE(NULL, report);
	ASSERT_NE(NULL, klog);
	for (i = 0; i < n; i++) {
		outcome_after(report, "memory_failure_event: pfn ", pfns[i],
			      seen, sizeof(seen));
		outcome_after(klog, "Memory failure: ", pfns[i], logged,
			      sizeof(logged));
		EXPECT_NE(0, logged[0]) TH_LOG("pfn %#llx not in the log",
					       (unsigned long long)pfns[i]);
		EXPECT_STREQ(logged, seen) TH_LOG("pfn %#llx",
						  (unsigned long long)pfns[i]);
	}
	free(report);
	free(klog);
}

/*
 * rasdaemon, recording, sees a machine check injected from the QEMU
 * monitor: the error is in its database (ras-mc-ctl --errors) with the
 * address, while the kernel contains the page. (Debian's rasdaemon 0.6.8
 * is built without its memory_failure_event handler; it records the
 * machine check, not the containment. Its ras-mc-ctl also needs kmod's
 * modprobe, which the package does not pull in.)
 */
TEST_F_TIMEOUT(tools, rasdaemon_records_mce, 300)
{
	char *const argv[] = { "rasdaemon", "-f", "-r", NULL };
	char needle[64], addr[32];
	uint64_t pfn;
	char *errors;
	int tries;
	pid_t ras;

	if (!have("rasdaemon") || !have("ras-mc-ctl"))
		SKIP(return, "no rasdaemon (needs the Debian guest)");
	if (!hwp_host_present())
		SKIP(return, "needs the host to inject machine checks");
	pfn = hwp_free_pfn();
	ASSERT_NE(0, pfn);
	/* Its systemd unit would have made the database's folder. */
	ASSERT_EQ(0, shell("mkdir -p /var/lib/rasdaemon"));
	/*
	 * rasdaemon 0.6.8 polls its trace instance's raw pipes, and since
	 * 6.1 poll() waits for the buffer to be buffer_percent (50) full:
	 * one machine check never wakes it. Newer rasdaemon sets 0 itself;
	 * here the instance is made beforehand with 0, and rasdaemon uses it.
	 */
	ASSERT_EQ(0, shell("mkdir -p " RAS_INSTANCE " && echo 0 > "
			   RAS_INSTANCE "/buffer_percent"));
	ras = spawn("/tmp/rasdaemon.log", argv);
	ASSERT_LT(0, ras);
	ASSERT_TRUE(wait_file_says(RAS_INSTANCE "/events/mce/mce_record/enable",
				   "1", 60));

	ASSERT_EQ(0, hwp_request_mce("srao", pfn));
	snprintf(needle, sizeof(needle), "Memory failure: %#llx: recovery",
		 (unsigned long long)pfn);
	ASSERT_TRUE(wait_log(needle, 30));
	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	snprintf(addr, sizeof(addr), "addr=%#llx",
		 (unsigned long long)pfn * hwp_page_size());
	/* The daemon stores the record on its own time: ask until it has. */
	for (tries = 0; tries < 300; tries++) {
		errors = capture("ras-mc-ctl --errors 2>&1");
		ASSERT_NE(NULL, errors);
		if (strstr(errors, addr))
			break;
		free(errors);
		errors = NULL;
		usleep(100000);
	}
	stop(ras, SIGTERM, 30);
	EXPECT_NE(NULL, errors) TH_LOG("ras-mc-ctl never listed %s", addr);
	free(errors);
}

/*
 * ndctl makes device-dax of legacy persistent memory (memmap=nn!ss); an
 * error in a mapped page of it signals an early-kill mapper with lsb 12,
 * soft offline refuses its pfns, and ndctl can tear the device down
 * afterwards (no reference left behind).
 */
TEST_F_TIMEOUT(tools, ndctl_devdax, 300)
{
	long ps = hwp_page_size();
	struct dax_report *r;
	int status;
	pid_t pid;

	if (!have("ndctl") || !have("daxctl"))
		SKIP(return, "no ndctl/daxctl (needs the Debian guest)");
	if (access("/sys/bus/nd/devices/namespace0.0", F_OK))
		SKIP(return, "no pmem namespace (boot with memmap=nn!ss)");
	ASSERT_EQ(0, shell(NDCTL_DEVDAX));
	ASSERT_EQ(0, shell("daxctl list | grep -q dax0.0"));

	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0, sizeof(*r));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open("/dev/dax0.0", O_RDWR), i;
		char *p;

		hwp_catch_sigbus();
		prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
		p = mmap(NULL, 4 * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 0);
		if (p == MAP_FAILED)
			_exit(1);
		hwp_fill(p, 4 * ps, 9);
		r->addr = (uintptr_t)(p + 2 * ps);
		r->pfn = hwp_virt_to_pfn(p + 2 * ps);
		__atomic_store_n(&r->ready, 1, __ATOMIC_SEQ_CST);
		for (i = 0; i < 3000 && !hwp_sigbus_count(); i++)
			usleep(10000);
		r->count = hwp_sigbus_count();
		r->code = hwp_last_sigbus.code;
		r->lsb = hwp_last_sigbus.lsb;
		r->fault_addr = (uintptr_t)hwp_last_sigbus.addr;
		munmap(p, 4 * ps);
		close(fd);
		_exit(0);
	}
	while (!__atomic_load_n(&r->ready, __ATOMIC_SEQ_CST))
		usleep(10000);
	ASSERT_NE(0, r->pfn);
	EXPECT_EQ(-EIO, hwp_sysfs_offline("soft", r->pfn));
	EXPECT_EQ(0, hwp_inject_pfn(r->pfn));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(1, r->count);
	EXPECT_EQ(BUS_MCEERR_AO, r->code);
	EXPECT_EQ(12, r->lsb);
	EXPECT_EQ(r->addr, r->fault_addr);

	/* A leaked dev_pagemap reference would hang this. */
	EXPECT_EQ(0, shell(NDCTL_DISABLE));
	EXPECT_NE(0, shell("daxctl list 2>/dev/null | grep -q dax0.0"));
}

/*
 * stress-ng's madvise stressor (which poisons its own pages with
 * MADV_HWPOISON) for a bounded time while a workload keeps writing and
 * checking its own memory: pages do get poisoned, the workload is never
 * signalled and never reads a wrong byte, and the harness fails the run on
 * any splat. stress-ng 0.15 calls its run unsuccessful (exit 2) on 6.12:
 * MADV_HWPOISON has become action-required, so the worker that poisons a
 * page it maps dies of SIGBUS, which stress-ng counts as a failure.
 */
TEST_F_TIMEOUT(tools, stress_ng, 300)
{
	long ps = hwp_page_size();
	int npages = 4096, status, rc;
	pid_t work;
	long hc;
	int *bad;

	if (!have("stress-ng"))
		SKIP(return, "no stress-ng (needs the Debian guest)");
	bad = mmap(NULL, sizeof(int) * 2, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	bad[0] = 0;
	bad[1] = 0;
	work = fork();
	ASSERT_LE(0, work);
	if (!work) {
		char *p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		unsigned int round = 0;
		int i;

		hwp_catch_sigbus();
		if (p == MAP_FAILED)
			_exit(1);
		for (;;) {
			for (i = 0; i < npages; i++)
				hwp_fill(p + i * ps, ps, round + i);
			for (i = 0; i < npages; i++)
				if (!hwp_check(p + i * ps, ps, round + i))
					__atomic_add_fetch(&bad[0], 1,
							   __ATOMIC_SEQ_CST);
			bad[1] = hwp_sigbus_count();
			round++;
		}
	}
	hc = hwp_corrupted_kb();
	rc = shell(STRESS_NG);
	EXPECT_TRUE(rc == 0 || rc == 2) TH_LOG("stress-ng exit %d", rc);
	EXPECT_EQ(0, shell("grep -q 'dispatching hogs: 2 madvise' " STRESS_LOG));
	EXPECT_LT(hc, hwp_corrupted_kb());
	kill(work, SIGKILL);
	waitpid(work, &status, 0);
	EXPECT_EQ(0, bad[0]);
	EXPECT_EQ(0, bad[1]);
}

TEST_HARNESS_MAIN
