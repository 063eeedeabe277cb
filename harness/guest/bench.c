// SPDX-License-Identifier: GPL-2.0
/*
 * Per-page cost of memory-failure operations, run inside the guest by
 * `make bench`. One line per row on stdout:
 *   BENCH <row> pages=<n> us_per_page=<x> failed=<k>
 * Files are opened once and rewritten, so rows time the kernel's work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <signal.h>

#ifndef MADV_HWPOISON
#define MADV_HWPOISON		100
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE		12
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif

#define TRACING		"/sys/kernel/tracing/"

static long ps;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void report(const char *row, long n, double us, long failed)
{
	printf("BENCH %s pages=%ld us_per_page=%.2f failed=%ld\n", row, n,
	       n ? us / n : 0.0, failed);
	fflush(stdout);
}

static uint64_t pfn_of(int pm, const void *addr)
{
	uint64_t ent = 0;

	if (pread(pm, &ent, 8, (uintptr_t)addr / ps * 8) != 8)
		return 0;
	return (ent >> 63) ? ent & ((1ULL << 55) - 1) : 0;
}

/*
 * Free pages: fault in @want anonymous pages, note their pfns and unmap
 * them, so that they sit on the free lists (per-cpu or buddy) when the
 * row starts. A few may be reused meanwhile; the row counts them as failed.
 */
static long find_free_pfns(int pm, uint64_t *out, long want)
{
	char *p = mmap(NULL, want * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long i, n = 0;

	if (p == MAP_FAILED)
		return 0;
	madvise(p, want * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < want; i++) {
		p[i * ps] = 1;
		out[n] = pfn_of(pm, p + i * ps);
		if (out[n])
			n++;
	}
	munmap(p, want * ps);
	return n;
}

static long offline_pfns(const char *path, const uint64_t *pfns, long n,
			 int phys, double *us)
{
	int fd = open(path, O_WRONLY);
	long failed = 0, i;
	char buf[32];
	double t0;

	if (fd < 0) {
		perror(path);
		*us = 0;
		return n;
	}
	t0 = now_us();
	for (i = 0; i < n; i++) {
		int len = snprintf(buf, sizeof(buf), "%#llx",
				   (unsigned long long)(phys ? pfns[i] * ps :
							pfns[i]));

		/* debugfs attributes are not seekable: plain write(). */
		if (write(fd, buf, len) != len)
			failed++;
	}
	*us = now_us() - t0;
	close(fd);
	return failed;
}

static char *populate(long n)
{
	char *p = mmap(NULL, n * ps, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	long i;

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	madvise(p, n * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < n; i++)
		p[i * ps] = (char)i;
	return p;
}

/* Anonymous pages full of data (not just a byte each): what reclaim meets. */
static char *populate_full(long n)
{
	char *p = populate(n);
	long i;

	for (i = 0; i < n * ps / (long)sizeof(long); i++)
		((long *)p)[i] = i * 2654435761L + 1;
	return p;
}

static int zram_swap(void)
{
	int fd = open("/sys/block/zram0/disksize", O_WRONLY);

	if (fd < 0 || write(fd, "512M", 4) != 4)
		return -1;
	close(fd);
	return system("mkswap /dev/zram0 >/dev/null 2>&1 && swapon /dev/zram0");
}

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static long read_long(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return atol(buf);
}

/*
 * ksmd merging @n identical pages full of data: from MADV_MERGEABLE to
 * every page merged, per page. Every pass hashes each page,
 * and each merge compares two whole pages: the reads ours makes
 * machine-check safe.
 */
static void bench_ksm(long n)
{
	char *p = populate(n);
	double t0, us;
	long i, j, merged = 0;

	for (i = 0; i < n; i++)
		for (j = 0; j < ps / (long)sizeof(long); j++)
			((long *)(p + i * ps))[j] = j * 40503L + 7;
	if (write_str("/sys/kernel/mm/ksm/pages_to_scan", "10000") ||
	    write_str("/sys/kernel/mm/ksm/sleep_millisecs", "0"))
		return;
	t0 = now_us();
	madvise(p, n * ps, MADV_MERGEABLE);
	write_str("/sys/kernel/mm/ksm/run", "1");
	/* Every page merged: shared (the KSM copies) plus sharing is n. */
	while (now_us() - t0 < 120e6) {
		merged = read_long("/sys/kernel/mm/ksm/pages_shared") +
			 read_long("/sys/kernel/mm/ksm/pages_sharing");
		if (merged >= n)
			break;
		usleep(1000);
	}
	us = now_us() - t0;
	write_str("/sys/kernel/mm/ksm/run", "2");
	report("ksm_merge", n, us, n - merged);
	munmap(p, n * ps);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * µs per page of one page fault (mmap, touch, munmap), @n times in five
 * slices: the median slice, so that a burst of other work in the guest
 * (a kworker, the host's emulation of another vCPU) moves it less.
 */
static double fault_cost(long n)
{
	double slice[5], t0;
	long i, k, per = n / 5 ? n / 5 : 1;
	char *p;

	for (k = 0; k < 5; k++) {
		t0 = now_us();
		for (i = 0; i < per; i++) {
			p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			p[0] = 1;
			munmap(p, ps);
		}
		slice[k] = (now_us() - t0) / per;
	}
	qsort(slice, 5, sizeof(slice[0]), cmp_double);
	return slice[2];
}

/*
 * A second process that faults in and frees 64 pages at a time until
 * killed, and writes how many pages it faulted and in how long to @fd
 * when it gets SIGTERM.
 */
static volatile sig_atomic_t stop_faulting;

static void on_term(int sig)
{
	(void)sig;
	stop_faulting = 1;
}

static pid_t start_faulter(int fd)
{
	pid_t pid = fork();
	double t0, stats[2];
	long i, n = 0;
	char *p;

	if (pid)
		return pid;
	signal(SIGTERM, on_term);
	t0 = now_us();
	while (!stop_faulting) {
		p = mmap(NULL, 64 * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(1);
		for (i = 0; i < 64; i++)
			p[i * ps] = 1;
		munmap(p, 64 * ps);
		n += 64;
	}
	stats[0] = n;
	stats[1] = now_us() - t0;
	if (write(fd, stats, sizeof(stats)) != sizeof(stats))
		_exit(1);
	_exit(0);
}

/* Stop the faulter; its µs per page, or -1. */
static double stop_faulter(pid_t pid, int fd)
{
	double stats[2];

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	if (read(fd, stats, sizeof(stats)) != sizeof(stats) || !stats[0])
		return -1;
	return stats[1] / stats[0];
}

/*
 * An operator retiring a whole range: MADV_SOFT_OFFLINE over @n in-use
 * pages in one call while another process keeps faulting and freeing
 * memory. Rows: µs per retired page; the other process's µs per fault
 * alone and during the retirement, and the ratio of the two.
 */
static void bench_bulk(long n)
{
	double idle, busy, us, t0;
	int fds[2];
	long failed;
	pid_t pid;
	char *p;

	if (pipe(fds))
		return;
	p = populate(n);
	pid = start_faulter(fds[1]);
	usleep(200000);
	idle = stop_faulter(pid, fds[0]);

	pid = start_faulter(fds[1]);
	t0 = now_us();
	failed = madvise(p, n * ps, MADV_SOFT_OFFLINE) ? n : 0;
	us = now_us() - t0;
	busy = stop_faulter(pid, fds[0]);
	report("bulk_retire", n, us, failed);
	printf("BENCH bulk_fault_idle pages=1 us_per_page=%.2f failed=%d\n",
	       idle, idle < 0);
	printf("BENCH bulk_fault_busy pages=1 us_per_page=%.2f failed=%d\n",
	       busy, busy < 0);
	printf("BENCH bulk_fault_slowdown pages=1 us_per_page=%.3f failed=%d\n",
	       idle > 0 && busy > 0 ? busy / idle : 0, idle < 0 || busy < 0);
	fflush(stdout);
	munmap(p, n * ps);
	close(fds[0]);
	close(fds[1]);
}

/*
 * Whether retired pages cost anything later: @n soft offlines one page a
 * call, the first and last 500 timed apart, then the page fault again
 * with those pages retired, against the page fault in the same state just
 * before they were (the start of the boot is another state: its fault
 * row does not compare).
 */
static void bench_scale(long n, long n_fault)
{
	double t0, first = 0, last = 0, us, before, after;
	long i, failed = 0, w = n < 1000 ? n / 2 : 500;
	char *p = populate(n);

	before = fault_cost(n_fault);
	for (i = 0; i < n; i++) {
		t0 = now_us();
		if (madvise(p + i * ps, ps, MADV_SOFT_OFFLINE))
			failed++;
		us = now_us() - t0;
		if (i < w)
			first += us;
		else if (i >= n - w)
			last += us;
	}
	report("scale_first", w, first, failed);
	report("scale_last", w, last, failed);
	printf("BENCH scale_growth pages=1 us_per_page=%.3f failed=0\n",
	       first > 0 ? last / first : 0);
	after = fault_cost(n_fault);
	report("fault_unretired", n_fault, before * n_fault, 0);
	report("fault_retired", n_fault, after * n_fault, 0);
	printf("BENCH fault_retired_growth pages=1 us_per_page=%.3f failed=0\n",
	       before > 0 ? after / before : 0);
	munmap(p, n * ps);
}

static volatile sig_atomic_t sigbus_seen;
static double sigbus_at;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	sigbus_at = now_us();
	sigbus_seen = si->si_code;
}

/* The mono-clock timestamp (µs) of the last mce_record event, or -1. */
static double last_mce_record(void)
{
	char buf[65536], *l, *at;
	double t = -1;
	ssize_t len;
	int fd = open(TRACING "trace", O_RDONLY);

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = 0;
	for (l = strtok(buf, "\n"); l; l = strtok(NULL, "\n")) {
		at = strstr(l, ": mce_record:");
		if (!at)
			continue;
		while (at > l && at[-1] != ' ')
			at--;
		t = atof(at) * 1e6;
	}
	return t;
}

/*
 * For a profile (HWP_BENCH_MCE_TRACE set, events enabled beforehand): the
 * trace of one injection, then the signal's arrival on the same clock.
 */
static void dump_trace(double arrived)
{
	char buf[4096];
	ssize_t len;
	int fd = open(TRACING "trace", O_RDONLY);

	while (fd >= 0 && (len = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, len, stdout);
	if (fd >= 0)
		close(fd);
	printf("TRACE sigbus arrived %.6f\n", arrived / 1e6);
	fflush(stdout);
}

/*
 * From a machine check to the signal: @n SRAO machine checks, injected by
 * the host through the QEMU monitor (harness/host/mce.py), each into a
 * dirty page of this process, which chose early kill. The latency is the
 * signal's arrival on CLOCK_MONOTONIC minus the kernel's timestamp of the
 * machine check (mce:mce_record, trace clock "mono"). Median, in µs.
 *
 * The process runs on CPU 0, the CPU whose bank holds the error and whose
 * worker handles it: on a CPU of its own, each signal would also wait for
 * the emulator to switch to that vCPU, which happens on QEMU's time and
 * not the kernel's, and one boot differed from the next by where the
 * scheduler had put the process.
 */
static void bench_mce(int pm, long n)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO };
	double *lat = calloc(n, sizeof(*lat)), t0, mce;
	long i, got = 0, failed = 0;
	cpu_set_t cpu0, was;
	bool trace = getenv("HWP_BENCH_MCE_TRACE");
	char req[96];
	uint64_t pfn;
	int kmsg;
	char *p;

	kmsg = open("/dev/kmsg", O_WRONLY);
	if (kmsg < 0 || write_str(TRACING "trace_clock", "mono") ||
	    write_str(TRACING "events/mce/mce_record/enable", "1") ||
	    prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0)) {
		report("mce_latency", n, 0, n);
		return;
	}
	CPU_ZERO(&cpu0);
	/* HWP_BENCH_MCE_CPU picks another, to compare. */
	CPU_SET(getenv("HWP_BENCH_MCE_CPU") ?
		atoi(getenv("HWP_BENCH_MCE_CPU")) : 0, &cpu0);
	sched_getaffinity(0, sizeof(was), &was);
	sched_setaffinity(0, sizeof(cpu0), &cpu0);
	sigaction(SIGBUS, &sa, NULL);
	for (i = 0; i < n; i++) {
		p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		memset(p, 0x5a, ps);
		pfn = pfn_of(pm, p);
		close(open(TRACING "trace", O_WRONLY | O_TRUNC));
		sigbus_seen = 0;
		/* Level 2: the host reads it on a console that prints 0-2. */
		snprintf(req, sizeof(req), "<2>HWP-MCE-REQUEST srao %#llx\n",
			 (unsigned long long)(pfn * ps));
		if (!pfn || write(kmsg, req, strlen(req)) < 0) {
			failed++;
			continue;
		}
		t0 = now_us();
		while (!sigbus_seen && now_us() - t0 < 20e6)
			usleep(100);
		mce = last_mce_record();
		if (sigbus_seen == BUS_MCEERR_AO && mce > 0 && sigbus_at > mce) {
			lat[got] = sigbus_at - mce;
			/* Each one too: the harness pools them across boots. */
			printf("SAMPLE mce_latency %.2f\n", lat[got++]);
		} else {
			failed++;
		}
		if (trace)
			dump_trace(sigbus_at);
		snprintf(req, sizeof(req), "<2>HWP-MCE-HANDLED %#llx\n",
			 (unsigned long long)(pfn * ps));
		if (write(kmsg, req, strlen(req)) < 0)
			failed++;
		/* The page is poisoned: never touched again, just unmapped. */
		munmap(p, ps);
	}
	signal(SIGBUS, SIG_DFL);
	sched_setaffinity(0, sizeof(was), &was);
	qsort(lat, got, sizeof(*lat), cmp_double);
	printf("BENCH mce_latency pages=%ld us_per_page=%.2f failed=%ld\n",
	       got, got ? lat[got / 2] : 0.0, failed);
	fflush(stdout);
	close(kmsg);
	free(lat);
}

/*
 * hard_inuse: the injector on in-use anonymous pages of this process (late
 * kill: never touched again). With @inject false only the pages are set
 * up, for `make profile` to subtract.
 */
static void bench_hard_inuse(int pm, uint64_t *pfns, long n, bool inject)
{
	long i, failed = 0;
	double us = 0;
	char *p;

	p = populate(n);
	for (i = 0; i < n; i++)
		pfns[i] = pfn_of(pm, p + i * ps);
	if (inject)
		failed = offline_pfns("/sys/kernel/debug/hwpoison/corrupt-pfn",
				      pfns, n, 0, &us);
	report("hard_inuse", inject ? n : 0, us, failed);
	munmap(p, n * ps);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 5000;
	long n_soft = argc > 2 ? atol(argv[2]) : 2000;
	uint64_t *pfns = calloc(n, sizeof(*pfns));
	long i, failed, got;
	double t0, us;
	char *p;
	int pm;

	ps = sysconf(_SC_PAGESIZE);
	pm = open("/proc/self/pagemap", O_RDONLY);
	/* "bench mce N": only the machine-check latency, N injections. */
	if (argc > 2 && !strcmp(argv[1], "mce")) {
		bench_mce(pm, atol(argv[2]));
		return 0;
	}
	/* "bench hard N [setup]": only hard_inuse, or only its set-up. */
	if (argc > 2 && !strcmp(argv[1], "hard")) {
		n = atol(argv[2]);
		pfns = realloc(pfns, n * sizeof(*pfns));
		bench_hard_inuse(pm, pfns, n, argc < 4);
		return 0;
	}

	/* Reference: fault in and zero one anonymous page. */
	report("fault", n, fault_cost(n) * n, 0);

	got = find_free_pfns(pm, pfns, n);
	failed = offline_pfns("/sys/devices/system/memory/soft_offline_page",
			      pfns, got, 1, &us);
	report("soft_free", got, us, failed + (n - got));

	/* In-use anonymous pages, one madvise per page. */
	p = populate(n_soft);
	failed = 0;
	t0 = now_us();
	for (i = 0; i < n_soft; i++)
		if (madvise(p + i * ps, ps, MADV_SOFT_OFFLINE))
			failed++;
	report("soft_inuse_page", n_soft, now_us() - t0, failed);
	munmap(p, n_soft * ps);

	/* In-use anonymous pages, the whole range in one call. */
	p = populate(n_soft);
	t0 = now_us();
	failed = madvise(p, n_soft * ps, MADV_SOFT_OFFLINE) ? n_soft : 0;
	report("soft_inuse_range", n_soft, now_us() - t0, failed);
	munmap(p, n_soft * ps);

	got = find_free_pfns(pm, pfns, n);
	failed = offline_pfns("/sys/kernel/debug/hwpoison/corrupt-pfn", pfns,
			      got, 0, &us);
	report("hard_free", got, us, failed + (n - got));

	bench_hard_inuse(pm, pfns, n, true);

	/*
	 * The same with memory failure's lines on the serial console too, as
	 * an operator's console prints them (loglevel 7): what they cost.
	 */
	p = populate(n);
	for (i = 0; i < n; i++)
		pfns[i] = pfn_of(pm, p + i * ps);
	write_str("/proc/sys/kernel/printk", "7");
	failed = offline_pfns("/sys/kernel/debug/hwpoison/corrupt-pfn", pfns,
			      n, 0, &us);
	write_str("/proc/sys/kernel/printk", "3");
	report("hard_inuse_console", n, us, failed);
	munmap(p, n * ps);

	/* Reclaim to zram: the whole range, one MADV_PAGEOUT. */
	if (!zram_swap()) {
		p = populate_full(n_soft);
		t0 = now_us();
		madvise(p, n_soft * ps, MADV_PAGEOUT);
		us = now_us() - t0;
		failed = 0;
		for (i = 0; i < n_soft; i++) {
			uint64_t ent = 0;
			off_t at = (uintptr_t)(p + i * ps) / ps * 8;

			if (pread(pm, &ent, 8, at) != 8 || !(ent & (1ULL << 62)))
				failed++;
		}
		report("swap_out", n_soft, us, failed);
		munmap(p, n_soft * ps);
	}

	/* process_vm_readv() of another process's pages, 64 a call. */
	p = populate_full(n_soft);
	{
		pid_t child = fork();
		char *buf = malloc(64 * ps);
		struct iovec local, remote;

		if (!child) {
			pause();
			_exit(0);
		}
		failed = 0;
		t0 = now_us();
		for (i = 0; i < n_soft; i += 64) {
			long k = n_soft - i < 64 ? n_soft - i : 64;

			local.iov_base = buf;
			local.iov_len = k * ps;
			remote.iov_base = p + i * ps;
			remote.iov_len = k * ps;
			if (process_vm_readv(child, &local, 1, &remote, 1, 0) !=
			    k * ps)
				failed += k;
		}
		report("remote_read", n_soft, now_us() - t0, failed);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		free(buf);
	}
	munmap(p, n_soft * ps);

	bench_ksm(n_soft);
	bench_mce(pm, 21);
	bench_bulk(32768);
	/* Last: it leaves 10,000 pages retired. */
	bench_scale(10000, n);
	return 0;
}
