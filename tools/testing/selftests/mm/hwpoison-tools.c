// SPDX-License-Identifier: GPL-2.0
/*
 * The tools operators meet memory failure through, unmodified from Debian
 * 13, against the running kernel: trace-cmd reading the
 * ras:memory_failure_event tracepoint, page-types finding, poisoning and
 * unpoisoning pfns, ndctl turning legacy persistent memory into
 * device-dax, and stress-ng's hwpoison stressors beside a workload that
 * must keep its data. (rasdaemon runs as a service in hwpoison-rasdaemon.)
 *
 * Runs in the Debian guest flavour (suite key guest=debian13); elsewhere
 * every case is skipped.
 */
#include <sys/prctl.h>
#include "hwpoison_debian.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define TRACE_DAT	"/tmp/hwp-mf.dat"
#define NDCTL_DEVDAX	"ndctl create-namespace -f -e namespace0.0 -m devdax --align 4K >/dev/null"
#define NDCTL_DISABLE	"timeout 60 ndctl disable-namespace namespace0.0 >/dev/null 2>&1"
#define STRESS_LOG	"/tmp/stress-ng.log"
/* Debian 13's stress-ng (0.19) poisons pages only with --madvise-hwpoison. */
#define STRESS_ARGS	"--madvise 2 --madvise-hwpoison --timeout 30s --metrics-brief"
#define STRESS_NG	"stress-ng " STRESS_ARGS " >" STRESS_LOG " 2>&1"

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
	int i, n;
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
	n = hard_offline_every_entry(pfns, 30);
	ASSERT_LT(0, n) TH_LOG("entry %d failed", -n);
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
 * any splat. stress-ng may call its run unsuccessful (exit 2) on 6.12:
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
