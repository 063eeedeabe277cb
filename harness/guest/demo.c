// SPDX-License-Identifier: GPL-2.0
/*
 * `make demo`: a small service with anonymous, file-backed and hugetlb
 * memory meets memory errors, and the operator's report of what the kernel
 * did. The machine check comes from the host through the QEMU monitor: the
 * program asks for it with a "HWP-DEMO-MCE <paddr>" line in the kernel log.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#define KPF_HWPOISON		19
#define NPAGES			16
#define HPAGE			(2UL << 20)

static long ps;

struct sig_record {
	int count;
	int code;
	void *addr;
	int lsb;
};

static struct sig_record sigs[16];
static int nsigs;
static sigjmp_buf probe_jmp;
static int probing;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int i = __atomic_fetch_add(&nsigs, 1, __ATOMIC_SEQ_CST);

	(void)sig;
	(void)uc;
	if (i < 16) {
		sigs[i].code = si->si_code;
		sigs[i].addr = si->si_addr;
		sigs[i].lsb = si->si_addr_lsb;
	}
	if (__atomic_exchange_n(&probing, 0, __ATOMIC_SEQ_CST))
		siglongjmp(probe_jmp, 1);
}

static uint64_t pfn_of(const void *addr)
{
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd >= 0) {
		if (pread(fd, &ent, 8, (uintptr_t)addr / ps * 8) != 8)
			ent = 0;
		close(fd);
	}
	return (ent >> 63) ? ent & ((1ULL << 55) - 1) : 0;
}

static int poisoned(uint64_t pfn)
{
	uint64_t f = 0;
	int fd = open("/proc/kpageflags", O_RDONLY);

	if (fd >= 0) {
		if (pread(fd, &f, 8, pfn * 8) != 8)
			f = 0;
		close(fd);
	}
	return !!(f & (1ULL << KPF_HWPOISON));
}

static long meminfo(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			v = strtol(line + strlen(key) + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void kmsg(const char *fmt, uint64_t v)
{
	char buf[128];
	int fd = open("/dev/kmsg", O_WRONLY);
	int n = snprintf(buf, sizeof(buf), fmt, (unsigned long long)v);

	if (fd >= 0) {
		if (write(fd, buf, n) != n)
			perror("kmsg");
		close(fd);
	}
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static void fill(char *p, size_t len, int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (char)(i * 7 + seed);
}

static int intact(const char *p, size_t len, int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (char)(i * 7 + seed))
			return 0;
	return 1;
}

/* Touch one byte; 1 if it raised SIGBUS. */
static int probe(const char *p)
{
	char c;

	if (sigsetjmp(probe_jmp, 1))
		return 1;
	__atomic_store_n(&probing, 1, __ATOMIC_SEQ_CST);
	c = __atomic_load_n(p, __ATOMIC_SEQ_CST);
	__atomic_store_n(&probing, 0, __ATOMIC_SEQ_CST);
	(void)c;
	return 0;
}

struct row {
	const char *page;
	const char *how;
	uint64_t pfn;
	char outcome[160];
};

static struct row rows[8];
static int nrows;

static struct row *add_row(const char *page, const char *how, uint64_t pfn)
{
	struct row *r = &rows[nrows++];

	r->page = page;
	r->how = how;
	r->pfn = pfn;
	return r;
}

static char *anon;
static int stop_load;
static long load_rounds;

/* The service keeps working on its anonymous pages during soft offline. */
static void *load(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_load, __ATOMIC_SEQ_CST)) {
		int i;

		for (i = 8; i < NPAGES; i++) {
			fill(anon + i * ps, ps, i);
			if (!intact(anon + i * ps, ps, i))
				return (void *)1;
		}
		load_rounds++;
	}
	return NULL;
}

static void wait_poisoned(uint64_t pfn, int secs)
{
	int i;

	for (i = 0; i < secs * 20 && !poisoned(pfn); i++)
		usleep(50000);
}

static void kernel_log(void)
{
	char buf[1024];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ssize_t n;

	printf("\nWhat the kernel logged:\n");
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		char *msg;

		buf[n] = 0;
		msg = strchr(buf, ';');
		if (!msg)
			continue;
		msg++;
		if (strstr(msg, "Memory failure") || strstr(msg, "soft offline") ||
		    strstr(msg, "Soft offlining") || strstr(msg, "mce:") ||
		    strstr(msg, "Injecting memory failure") ||
		    strstr(msg, "Hardware Error"))
			printf("  %s", msg);
	}
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	uint64_t pfn, newpfn;
	char *file, *huge, path[] = "/mnt/disk/service.dat", buf[64];
	pthread_t th;
	struct row *r;
	void *load_ret;
	int fd, i, n0, data_ok;
	long hc0;

	ps = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGBUS, &sa, NULL);
	/* Early kill: be told at once when one of our pages goes bad. */
	prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
	write_str("/proc/sys/vm/nr_hugepages", "2");
	hc0 = meminfo("HardwareCorrupted");

	anon = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(anon, NPAGES * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < NPAGES; i++)
		fill(anon + i * ps, ps, i);

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, NPAGES * ps)) {
		perror(path);
		return 1;
	}
	file = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
	for (i = 0; i < NPAGES; i++)
		fill(file + i * ps, ps, 100 + i);
	msync(file, NPAGES * ps, MS_SYNC);
	fsync(fd);

	huge = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED)
		huge = NULL;
	else
		fill(huge, HPAGE, 50);

	printf("== Service (pid %d): %d anon pages, %d pages of %s, %s\n",
	       getpid(), NPAGES, NPAGES, path,
	       huge ? "one 2 MiB hugetlb page" : "no hugetlb page");
	printf("   early kill on (PR_MCE_KILL_EARLY); HardwareCorrupted %ld kB\n\n",
	       hc0);

	/* 1. A real machine check from the host on anonymous page 3. */
	pfn = pfn_of(anon + 3 * ps);
	printf("1. machine check (SRAO, via the QEMU monitor) on anon page 3, pfn %#llx\n",
	       (unsigned long long)pfn);
	n0 = nsigs;
	kmsg("HWP-DEMO-MCE %#llx\n", pfn * ps);
	wait_poisoned(pfn, 30);
	for (i = 0; i < 40 && nsigs == n0; i++)
		usleep(50000);
	r = add_row("anon page 3", "machine check", pfn);
	snprintf(r->outcome, sizeof(r->outcome),
		 "%s; %s", poisoned(pfn) ? "poisoned" : "NOT poisoned",
		 nsigs > n0 ? (sigs[n0].code == 5 ? "SIGBUS BUS_MCEERR_AO to us (early kill)" :
			       "SIGBUS, unexpected code") : "no signal");
	n0 = nsigs;
	snprintf(buf, sizeof(buf), "%s", probe(anon + 3 * ps) ?
		 "touching it again: SIGBUS BUS_MCEERR_AR" : "touching it again: no signal");
	strncat(r->outcome, "; ", sizeof(r->outcome) - strlen(r->outcome) - 1);
	strncat(r->outcome, buf, sizeof(r->outcome) - strlen(r->outcome) - 1);

	/* 2. Soft offline of anon page 9 while the service works on it. */
	pfn = pfn_of(anon + 9 * ps);
	printf("2. soft offline (madvise) of anon page 9, pfn %#llx, under load\n",
	       (unsigned long long)pfn);
	n0 = nsigs;
	pthread_create(&th, NULL, load, NULL);
	usleep(100000);
	i = madvise(anon + 9 * ps, ps, MADV_SOFT_OFFLINE);
	usleep(100000);
	__atomic_store_n(&stop_load, 1, __ATOMIC_SEQ_CST);
	pthread_join(th, &load_ret);
	newpfn = pfn_of(anon + 9 * ps);
	r = add_row("anon page 9", "soft offline", pfn);
	snprintf(r->outcome, sizeof(r->outcome),
		 "madvise %s; moved to pfn %#llx; old pfn %s; data %s; %s; %ld load rounds",
		 i ? strerror(errno) : "ok", (unsigned long long)newpfn,
		 poisoned(pfn) ? "retired" : "NOT retired",
		 !load_ret && intact(anon + 9 * ps, ps, 9) ? "intact" : "CORRUPT",
		 nsigs == n0 ? "nobody signalled" : "SIGNALLED", load_rounds);

	/* 3. Clean file page: dropped silently, re-read from disk. */
	pfn = pfn_of(file + 5 * ps);
	printf("3. hard offline (sysfs) of clean file page 5, pfn %#llx\n",
	       (unsigned long long)pfn);
	n0 = nsigs;
	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)pfn * ps);
	i = write_str("/sys/devices/system/memory/hard_offline_page", buf);
	r = add_row("file page 5", "hard offline", pfn);
	data_ok = intact(file + 5 * ps, ps, 105);	/* re-reads it */
	snprintf(r->outcome, sizeof(r->outcome),
		 "write %s; %s; re-read from disk: %s (now pfn %#llx); %s",
		 i ? strerror(-i) : "ok", poisoned(pfn) ? "poisoned" : "NOT poisoned",
		 data_ok ? "intact" : "CORRUPT",
		 (unsigned long long)pfn_of(file + 5 * ps),
		 nsigs == n0 ? "nobody signalled" : "SIGNALLED");

	/* 4. Dirty file page: the data is lost, fsync reports it. */
	fill(file + 11 * ps, ps, 42);
	pfn = pfn_of(file + 11 * ps);
	printf("4. hard offline (debugfs injector) of dirty file page 11, pfn %#llx\n",
	       (unsigned long long)pfn);
	n0 = nsigs;
	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)pfn);
	i = write_str("/sys/kernel/debug/hwpoison/corrupt-pfn", buf);
	r = add_row("file page 11", "hard offline", pfn);
	errno = 0;
	snprintf(r->outcome, sizeof(r->outcome), "inject %s; %s; %s; fsync: %s",
		 i ? strerror(-i) : "ok", poisoned(pfn) ? "poisoned" : "NOT poisoned",
		 nsigs > n0 ? (sigs[n0].code == 5 ? "SIGBUS BUS_MCEERR_AO to us" :
			       "SIGBUS") : "no signal",
		 fsync(fd) ? strerror(errno) : "ok (no error reported)");

	/* 5. A subpage of the hugetlb page. */
	if (huge) {
		pfn = pfn_of(huge) + 7;
		printf("5. hard offline (debugfs injector) of subpage 7 of the hugetlb page, pfn %#llx\n",
		       (unsigned long long)pfn);
		n0 = nsigs;
		snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)pfn);
		i = write_str("/sys/kernel/debug/hwpoison/corrupt-pfn", buf);
		r = add_row("hugetlb subpage 7", "hard offline", pfn);
		snprintf(r->outcome, sizeof(r->outcome),
			 "inject %s; %s; %s lsb %d",
			 i ? strerror(-i) : "ok",
			 poisoned(pfn) ? "poisoned" : "NOT poisoned",
			 nsigs > n0 ? "SIGBUS to us," : "no signal,",
			 nsigs > n0 ? sigs[n0].lsb : -1);
	}

	printf("\n== Report\n");
	printf("%-18s %-14s %-10s %s\n", "page", "event", "pfn", "outcome");
	for (i = 0; i < nrows; i++)
		printf("%-18s %-14s %#-10llx %s\n", rows[i].page, rows[i].how,
		       (unsigned long long)rows[i].pfn, rows[i].outcome);
	printf("\nSignals received by the service: %d\n", nsigs);
	for (i = 0; i < nsigs && i < 16; i++)
		printf("  SIGBUS si_code=%d (%s) addr=%p lsb=%d\n", sigs[i].code,
		       sigs[i].code == 4 ? "BUS_MCEERR_AR" :
		       sigs[i].code == 5 ? "BUS_MCEERR_AO" : "other",
		       sigs[i].addr, sigs[i].lsb);
	printf("HardwareCorrupted: %ld kB -> %ld kB (hard and soft offline)\n",
	       hc0, meminfo("HardwareCorrupted"));
	printf("Per-node memory_failure stats (node0):");
	{
		const char *names[] = { "total", "recovered", "delayed",
					"failed", "ignored" };

		for (i = 0; i < 5; i++) {
			char p[128];
			long v = -1;
			FILE *f;

			snprintf(p, sizeof(p),
				 "/sys/devices/system/node/node0/memory_failure/%s",
				 names[i]);
			f = fopen(p, "r");
			if (f) {
				if (fscanf(f, "%ld", &v) != 1)
					v = -1;
				fclose(f);
			}
			printf(" %s=%ld", names[i], v);
		}
		printf("\n");
	}
	kernel_log();
	return 0;
}
