// SPDX-License-Identifier: GPL-2.0
/*
 * Per-page cost of memory-failure operations, run inside the guest by
 * `make bench`. One line per row on stdout:
 *   BENCH <row> pages=<n> us_per_page=<x> failed=<k>
 * Files are opened once and rewritten, so rows time the kernel's work.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
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

	/* Reference: fault in and zero one anonymous page. */
	t0 = now_us();
	for (i = 0; i < n; i++) {
		p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		munmap(p, ps);
	}
	report("fault", n, now_us() - t0, 0);

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

	/* In-use anonymous pages of this process, late kill: never touched. */
	p = populate(n);
	for (i = 0; i < n; i++)
		pfns[i] = pfn_of(pm, p + i * ps);
	failed = offline_pfns("/sys/kernel/debug/hwpoison/corrupt-pfn", pfns,
			      n, 0, &us);
	report("hard_inuse", n, us, failed);
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
	return 0;
}
