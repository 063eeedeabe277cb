/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the memory-failure (HWPOISON) selftests: pfn lookup,
 * page flags, counters, the injection interfaces and SIGBUS capture.
 */
#ifndef __HWPOISON_UTIL_H
#define __HWPOISON_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <linux/kernel-page-flags.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef MADV_HWPOISON
#define MADV_HWPOISON		100
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE	101
#endif
#ifndef BUS_MCEERR_AR
#define BUS_MCEERR_AR		4
#endif
#ifndef BUS_MCEERR_AO
#define BUS_MCEERR_AO		5
#endif
#ifndef EHWPOISON
#define EHWPOISON		133
#endif

#ifndef BIT_ULL
#define BIT_ULL(nr)		(1ULL << (nr))
#endif

/*
 * /proc/kpageflags bits: KPF_* from the uapi header, and these, which
 * include/linux/kernel-page-flags.h keeps out of it.
 */
#define KPF_RESERVED		32
#define KPF_MLOCKED		33
#define KPF_OWNER_2		34	/* PG_anon_exclusive on an anonymous page */
/* The older names, which harness/guest/soak*.c still uses. */
#define HWP_KPF_HWPOISON	KPF_HWPOISON
#define HWP_KPF_BUDDY		KPF_BUDDY

/* A PMD-sized page on x86-64: a THP, or a default-sized hugetlb page. */
#define HPAGE_SIZE		(2UL << 20)
#define HPAGE_NR		512

#define HWP_PM_PRESENT		BIT_ULL(63)
#define HWP_PM_SWAP		BIT_ULL(62)
#define HWP_PM_PFN_MASK		(BIT_ULL(55) - 1)

#define HWP_DEBUGFS		"/sys/kernel/debug/hwpoison/"
#define HWP_SYSFS_MEM		"/sys/devices/system/memory/"

static inline long hwp_page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* Physical frame number backing @addr in this process, 0 if not present. */
static inline uint64_t hwp_virt_to_pfn(const void *addr)
{
	uint64_t ent = 0;
	off_t off = (uintptr_t)addr / hwp_page_size() * sizeof(ent);
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent & HWP_PM_PRESENT))
		return 0;
	return ent & HWP_PM_PFN_MASK;
}

/* Raw pagemap entry of @addr (present, swap, pfn bits). */
static inline uint64_t hwp_pagemap_entry(const void *addr)
{
	uint64_t ent = 0;
	off_t off = (uintptr_t)addr / hwp_page_size() * sizeof(ent);
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent;
}

/* /proc/kpageflags word of @pfn, or ~0 when it cannot be read. */
static inline uint64_t hwp_kpageflags(uint64_t pfn)
{
	uint64_t flags = ~0ULL;
	int fd = open("/proc/kpageflags", O_RDONLY);

	if (fd < 0)
		return ~0ULL;
	if (pread(fd, &flags, sizeof(flags), pfn * sizeof(flags)) !=
	    sizeof(flags))
		flags = ~0ULL;
	close(fd);
	return flags;
}

static inline bool hwp_pfn_poisoned(uint64_t pfn)
{
	uint64_t f = hwp_kpageflags(pfn);

	return f != ~0ULL && (f & BIT_ULL(KPF_HWPOISON));
}

/* A "Key:   N kB" field of /proc/meminfo, in kB; -1 if missing. */
/* Wait up to @ms for kpageflags of @pfn to have @want in the bits of @mask. */
static inline bool hwp_wait_kpf(uint64_t pfn, uint64_t mask, uint64_t want,
				int ms)
{
	for (; ms > 0; ms -= 20) {
		if ((hwp_kpageflags(pfn) & mask) == want)
			return true;
		usleep(20000);
	}
	return (hwp_kpageflags(pfn) & mask) == want;
}

/* Wait up to @ms for @pfn to be marked poisoned. */
static inline bool hwp_wait_poisoned(uint64_t pfn, int ms)
{
	for (; ms > 0; ms -= 20) {
		if (hwp_pfn_poisoned(pfn))
			return true;
		usleep(20000);
	}
	return hwp_pfn_poisoned(pfn);
}

/*
 * Wait up to @ms for the page at @addr in this process to be unmapped
 * (pagemap no longer shows it present), as memory_failure() leaves a
 * late-kill mapping once it has finished with the page.
 */
static inline bool hwp_wait_unmapped(const void *addr, int ms)
{
	for (; ms > 0; ms -= 20) {
		if (!(hwp_pagemap_entry(addr) & HWP_PM_PRESENT))
			return true;
		usleep(20000);
	}
	return !(hwp_pagemap_entry(addr) & HWP_PM_PRESENT);
}

static inline long hwp_meminfo_kb(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			val = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

static inline long hwp_corrupted_kb(void)
{
	return hwp_meminfo_kb("HardwareCorrupted");
}

/* Sum of one per-node memory_failure counter over all nodes; -1 if none. */
static inline long hwp_node_stat(const char *name)
{
	char path[256];
	long sum = -1;
	int node;

	for (node = 0; node < 64; node++) {
		FILE *f;
		long v;

		snprintf(path, sizeof(path),
			 "/sys/devices/system/node/node%d/memory_failure/%s",
			 node, name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%ld", &v) == 1)
			sum = (sum < 0 ? 0 : sum) + v;
		fclose(f);
	}
	return sum;
}

/* The five per-node memory_failure counters, each summed over all nodes. */
struct hwp_mf_stats {
	long total, ignored, failed, delayed, recovered;
};

/* Snapshot them; false if any of the five cannot be read. */
static inline bool hwp_mf_stats_read(struct hwp_mf_stats *s)
{
	s->total = hwp_node_stat("total");
	s->ignored = hwp_node_stat("ignored");
	s->failed = hwp_node_stat("failed");
	s->delayed = hwp_node_stat("delayed");
	s->recovered = hwp_node_stat("recovered");
	return s->total >= 0 && s->ignored >= 0 && s->failed >= 0 &&
	       s->delayed >= 0 && s->recovered >= 0;
}

/* One past the highest pfn of System RAM, from /proc/iomem. */
static inline uint64_t hwp_max_pfn(void)
{
	unsigned long long start, end, top = 0;
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];

	while (f && fgets(line, sizeof(line), f))
		if (line[0] != ' ' && strstr(line, "System RAM") &&
		    sscanf(line, "%llx-%llx", &start, &end) == 2 && end > top)
			top = end;
	if (f)
		fclose(f);
	return (top + 1) / hwp_page_size();
}

/*
 * Scan /proc/kpageflags from the top of memory down for pages that have
 * every flag in @want and none in @avoid. Fills @out with up to @max pfns,
 * highest first, and returns how many.
 */
static inline int hwp_find_pfns(uint64_t want, uint64_t avoid, uint64_t *out,
				int max)
{
	uint64_t chunk[1024];
	int fd = open("/proc/kpageflags", O_RDONLY);
	int64_t pfn;
	int i, n = 0;

	if (fd < 0)
		return 0;
	for (pfn = (hwp_max_pfn() / 1024) * 1024 - 1024; pfn >= 0 && n < max;
	     pfn -= 1024) {
		if (pread(fd, chunk, sizeof(chunk), pfn * sizeof(uint64_t)) !=
		    sizeof(chunk))
			continue;
		for (i = 1023; i >= 0 && n < max; i--)
			if ((chunk[i] & want) == want && !(chunk[i] & avoid))
				out[n++] = pfn + i;
	}
	close(fd);
	return n;
}

/*
 * Free pages that nothing is about to reuse: the upper halves of free
 * order-10 blocks, high in memory. Freshly freed pages sit on per-cpu
 * lists and are handed out again at once (often to the caller itself);
 * the upper half of a large buddy block is the last thing the allocator
 * splits. Fills @out with up to @n pfns, returns how many.
 */
static inline long hwp_free_pfns(uint64_t *out, long n)
{
	uint64_t chunk[1024];
	int fd = open("/proc/kpageflags", O_RDONLY);
	int64_t pfn;
	long got = 0;
	int i;

	if (fd < 0)
		return 0;
	for (pfn = (hwp_max_pfn() / 1024) * 1024 - 1024; pfn >= 0 && got < n;
	     pfn -= 1024) {
		bool free_block = true;

		if (pread(fd, chunk, sizeof(chunk), pfn * sizeof(uint64_t)) !=
		    sizeof(chunk))
			continue;
		for (i = 0; i < 1024 && free_block; i++)
			free_block = chunk[i] == BIT_ULL(KPF_BUDDY);
		for (i = 1023; free_block && i >= 512 && got < n; i--)
			out[got++] = pfn + i;
	}
	close(fd);
	return got;
}

static inline uint64_t hwp_free_pfn(void)
{
	uint64_t pfn;

	return hwp_free_pfns(&pfn, 1) == 1 ? pfn : 0;
}

static inline int hwp_drain_pcp(uint64_t pfn);

/*
 * Fault in @percent of free memory and look for @pfn among the pages
 * through pagemap. Returns how many pages were checked (-1 if the memory
 * could not be mapped) and sets *@seen. The per-cpu free lists of @pfn's
 * zone are drained first: a page parked on another CPU's list, or on a
 * high-order list, is out of reach of this process's order-0 faults.
 */
static inline long hwp_allocate_and_look_for(uint64_t pfn, int percent,
					     bool *seen)
{
	long ps = hwp_page_size();
	long pages;
	uint64_t *ents;
	long i, n;
	char *p;
	int fd;

	*seen = false;
	if (hwp_drain_pcp(pfn))
		return -1;
	pages = hwp_meminfo_kb("MemFree") / (ps / 1024) * percent / 100;
	p = mmap(NULL, pages * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	madvise(p, pages * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < pages; i++)
		p[i * ps] = 1;
	ents = malloc(pages * sizeof(*ents));
	fd = open("/proc/self/pagemap", O_RDONLY);
	n = pread(fd, ents, pages * sizeof(*ents),
		  (uintptr_t)p / ps * sizeof(*ents)) / sizeof(*ents);
	close(fd);
	for (i = 0; i < n; i++)
		if ((ents[i] & HWP_PM_PRESENT) &&
		    (ents[i] & HWP_PM_PFN_MASK) == pfn)
			*seen = true;
	free(ents);
	munmap(p, pages * ps);
	return n;
}

/*
 * Long-term pin [@addr, @addr + @len) as io_uring fixed buffers do, so that
 * the pages cannot migrate or split. Returns the ring to close to unpin,
 * or -1 (io_uring unavailable or the pin refused).
 */
static inline int hwp_pin_longterm(void *addr, size_t len)
{
	struct io_uring_params params;
	struct iovec iov = { .iov_base = addr, .iov_len = len };
	int ring;

	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 1, &params);
	if (ring < 0)
		return -1;
	if (syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS,
		    &iov, 1)) {
		close(ring);
		return -1;
	}
	return ring;
}

/*
 * Fault in one 2 MiB hugetlb page and give it back to the pool: returns
 * the pfn of that now free huge page, 0 if none could be had.
 */
static inline uint64_t hwp_free_huge_page_pfn(void)
{
	uint64_t pfn;
	char *p;

	p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	p[0] = 1;
	pfn = hwp_virt_to_pfn(p);
	munmap(p, HPAGE_SIZE);
	return pfn;
}

/* Write @buf to @path; 0 or -errno. */
static inline int hwp_write_file(const char *path, const char *buf)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, buf, strlen(buf));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static inline int hwp_read_long(const char *path, long *val)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%li", val) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/*
 * ras:memory_failure_event, recorded in a trace instance of our own so that
 * nobody else's use of the top-level buffer gets in the way:
 *   "pfn 0x1234: recovery action for <type>: <result>"
 */
#define HWP_TRACE_INSTANCE	"/sys/kernel/tracing/instances/hwpoison/"

struct hwp_mf_event {
	uint64_t pfn;
	char type[64];
	char result[16];
};

/* Enable the event in the instance and empty its buffer; 0 or -errno. */
static inline int hwp_mf_trace_start(void)
{
	int fd, err;

	if (mkdir(HWP_TRACE_INSTANCE, 0755) && errno != EEXIST)
		return -errno;
	err = hwp_write_file(HWP_TRACE_INSTANCE
			     "events/ras/memory_failure_event/enable", "1");
	if (err)
		return err;
	/* Opening "trace" for writing with O_TRUNC is what clears it. */
	fd = open(HWP_TRACE_INSTANCE "trace", O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/*
 * The memory_failure_event records since hwp_mf_trace_start(): returns how
 * many there are (-errno if the buffer cannot be read) and stores the last
 * one in *@last (zeroed if there is none).
 */
static inline int hwp_mf_trace_read(struct hwp_mf_event *last)
{
	FILE *f = fopen(HWP_TRACE_INSTANCE "trace", "r");
	struct hwp_mf_event ev;
	unsigned long long pfn;
	char line[512], *s;
	int n = 0;

	memset(last, 0, sizeof(*last));
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		s = strstr(line, "memory_failure_event: ");
		if (line[0] == '#' || !s)
			continue;
		memset(&ev, 0, sizeof(ev));
		if (sscanf(s,
			   "memory_failure_event: pfn %llx: recovery action for %63[^:]: %15s",
			   &pfn, ev.type, ev.result) != 3)
			continue;
		ev.pfn = pfn;
		*last = ev;
		n++;
	}
	fclose(f);
	return n;
}

/*
 * In a kselftest, after hwp_mf_stats_read(@_before) and hwp_mf_trace_start():
 * exactly one memory failure has been handled since, that of @_pfn,
 * traced as "@_type: @_result" and counted once, in "total" and in the
 * per-node counter of @_result, and nowhere else. A NULL @_type is left to
 * another case to check.
 */
#define HWP_EXPECT_MF_BOOKED(_before, _pfn, _type, _result)		\
	do {								\
		const struct hwp_mf_stats *__b = (_before);		\
		const char *__t = (_type), *__r = (_result);		\
		struct hwp_mf_stats __s;				\
		struct hwp_mf_event __e;				\
									\
		EXPECT_EQ(1, hwp_mf_trace_read(&__e));			\
		EXPECT_EQ((unsigned long long)(_pfn),			\
			  (unsigned long long)__e.pfn);			\
		if (__t)						\
			EXPECT_STREQ(__t, __e.type);			\
		EXPECT_STREQ(__r, __e.result);				\
		ASSERT_TRUE(hwp_mf_stats_read(&__s));			\
		EXPECT_EQ(__b->total + 1, __s.total);			\
		EXPECT_EQ(__b->ignored + !strcmp(__r, "Ignored"),	\
			  __s.ignored);					\
		EXPECT_EQ(__b->failed + !strcmp(__r, "Failed"),		\
			  __s.failed);					\
		EXPECT_EQ(__b->delayed + !strcmp(__r, "Delayed"),	\
			  __s.delayed);					\
		EXPECT_EQ(__b->recovered + !strcmp(__r, "Recovered"),	\
			  __s.recovered);				\
	} while (0)

/*
 * The debugfs injector's page-flag filter: only pages with all of @flags
 * (KPF_* bits) may be poisoned; 0 turns the filters off. 0 or -errno of
 * the first write that failed.
 */
static inline int hwp_flags_filter(uint64_t flags)
{
	char buf[32];
	int ret;

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)flags);
	ret = hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-mask", buf);
	if (!ret)
		ret = hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-value",
				     buf);
	if (!ret)
		ret = hwp_write_file(HWP_DEBUGFS "corrupt-filter-enable",
				     flags ? "1" : "0");
	return ret;
}

/* debugfs injector: poison @pfn as memory_failure() would. */
static inline int hwp_inject_pfn(uint64_t pfn)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)pfn);
	return hwp_write_file(HWP_DEBUGFS "corrupt-pfn", buf);
}

static inline int hwp_unpoison_pfn(uint64_t pfn)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)pfn);
	return hwp_write_file(HWP_DEBUGFS "unpoison-pfn", buf);
}

/* sysfs {hard,soft}_offline_page take a physical address. */
static inline int hwp_sysfs_offline(const char *which, uint64_t pfn)
{
	char path[128], buf[32];

	snprintf(path, sizeof(path), HWP_SYSFS_MEM "%s_offline_page", which);
	snprintf(buf, sizeof(buf), "%#llx",
		 (unsigned long long)pfn * hwp_page_size());
	return hwp_write_file(path, buf);
}

/*
 * The [@start, @end) pfn span of the zone that holds @pfn, from
 * /proc/zoneinfo; false if no populated zone spans it.
 */
static inline bool hwp_zone_span(uint64_t pfn, uint64_t *start,
				 uint64_t *end)
{
	unsigned long long spanned = 0, first;
	bool found = false;
	char line[256];
	FILE *f = fopen("/proc/zoneinfo", "r");

	while (f && !found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, " spanned %llu", &spanned) == 1)
			continue;
		if (sscanf(line, " start_pfn: %llu", &first) == 1 &&
		    pfn >= first && pfn < first + spanned) {
			*start = first;
			*end = first + spanned;
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Empty the per-cpu free lists (pcp) of the zone that holds @pfn, on every
 * CPU, into the buddy allocator. No sysctl does that in 6.12: drop_caches
 * and compact_memory never drain pcp lists, percpu_pagelist_high_fraction
 * only changes their limits. Memory failure does: get_hwpoison_page()
 * (zone_pcp_disable()) drains the zone's lists on all CPUs. So soft
 * offline a free page of that zone elsewhere than @pfn's 2 MiB block,
 * which moves no memory_failure counter, and unpoison it again. 0 or
 * -errno.
 */
static inline int hwp_drain_pcp(uint64_t pfn)
{
	uint64_t start, end, chunk[512];
	int fd, i, err = -EBUSY;
	bool done = false;
	int64_t blk;

	if (!hwp_zone_span(pfn, &start, &end))
		return -ENOENT;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return -errno;
	for (blk = (int64_t)(end / 512) * 512 - 512;
	     blk >= (int64_t)start && !done; blk -= 512) {
		if (blk / 512 == (int64_t)(pfn / 512) ||
		    pread(fd, chunk, sizeof(chunk), blk * sizeof(uint64_t)) !=
		    sizeof(chunk))
			continue;
		for (i = 511; i >= 0 && !done; i--) {
			if (chunk[i] != BIT_ULL(KPF_BUDDY) ||
			    hwp_sysfs_offline("soft", blk + i))
				continue;
			err = hwp_unpoison_pfn(blk + i);
			done = true;
		}
	}
	close(fd);
	return err;
}

/* /proc/kpagecount of @pfn, or -1 when it cannot be read. */
static inline int64_t hwp_kpagecount(uint64_t pfn)
{
	int64_t count = -1;
	int fd = open("/proc/kpagecount", O_RDONLY);

	if (fd < 0)
		return -1;
	if (pread(fd, &count, sizeof(count), pfn * sizeof(count)) !=
	    sizeof(count))
		count = -1;
	close(fd);
	return count;
}

/* How many of the @n pfns from @pfn on have every flag in @flags. */
static inline int hwp_count_flags(uint64_t pfn, int n, uint64_t flags)
{
	uint64_t chunk[512];
	int fd = open("/proc/kpageflags", O_RDONLY);
	int i, got = 0, len;

	if (fd < 0)
		return -1;
	for (; n > 0; n -= len, pfn += len) {
		len = n < 512 ? n : 512;
		if (pread(fd, chunk, len * sizeof(uint64_t),
			  pfn * sizeof(uint64_t)) !=
		    len * (ssize_t)sizeof(uint64_t)) {
			got = -1;
			break;
		}
		for (i = 0; i < len; i++)
			if ((chunk[i] & flags) == flags)
				got++;
	}
	close(fd);
	return got;
}

/*
 * MemFree in kB with the pcp lists of @pfn's zone emptied first and every
 * CPU's pending vmstat deltas folded in (vm.stat_refresh), read until two
 * readings in a row agree: the first ones also pay for this process's own
 * first touches of stack and heap, whose faults refill a pcp list by a
 * whole batch. Two settled readings differ only by what really left or
 * joined the free lists in between. A kernel that frees and allocates in
 * the background (KASAN's quarantine, kmemleak's scans) is given pauses
 * of 50 ms to go quiet, up to about 2 s. -1 if it does not settle.
 */
static inline long hwp_memfree_settled_kb(uint64_t pfn)
{
	long prev = -1, cur;
	int i;

	for (i = 0; i < 40; i++) {
		if (hwp_drain_pcp(pfn) ||
		    hwp_write_file("/proc/sys/vm/stat_refresh", "1"))
			return -1;
		cur = hwp_meminfo_kb("MemFree");
		if (cur == prev)
			return cur;
		prev = cur;
		if (i >= 2)
			usleep(50000);
	}
	return -1;
}

/*
 * A debug kernel (kmemleak, KASAN's quarantine) allocates and frees pages
 * all the time: MemFree is never quiet there, and moves by megabytes
 * within a window. Cases that weigh MemFree by the page check the page
 * where it is only, on such a kernel.
 */
static inline bool hwp_debug_kernel(void)
{
	return !access("/sys/kernel/debug/kmemleak", F_OK);
}

/* MemFree with @pfn's zone's pcp lists drained and vmstat folded; -1. */
static inline long hwp_memfree_now_kb(uint64_t pfn)
{
	if (hwp_drain_pcp(pfn) ||
	    hwp_write_file("/proc/sys/vm/stat_refresh", "1"))
		return -1;
	return hwp_meminfo_kb("MemFree");
}

/*
 * In a kselftest: poisoned @pfn is withheld from use, checked where the
 * page is. With its zone's pcp lists drained (a free page parked there is
 * in no buddy list yet), it is in no free list (KPF_BUDDY is set on every
 * page of a free buddy block, head or not), it carries no flag but
 * PG_hwpoison (a slab, page table, LRU or compound user would leave its
 * own), and no page table maps it. /proc/kpagecount is the page's mapcount
 * in 6.12 (folio_precise_page_mapcount()), not its reference count: it
 * reads 0 for the reference memory failure keeps on a page it took off
 * the free lists, as for a free page; the reference itself is not exported.
 */
#define HWP_EXPECT_WITHHELD(pfn)					\
	do {								\
		uint64_t __wpfn = (pfn), __wflags;			\
									\
		EXPECT_EQ(0, hwp_drain_pcp(__wpfn));			\
		__wflags = hwp_kpageflags(__wpfn);			\
		EXPECT_EQ(BIT_ULL(KPF_HWPOISON), __wflags) {	\
			TH_LOG("pfn %#llx: kpageflags %#llx%s",		\
			       (unsigned long long)__wpfn,		\
			       (unsigned long long)__wflags,		\
			       __wflags & BIT_ULL(KPF_BUDDY) ?	\
			       " (back in the buddy allocator)" : "");	\
		}							\
		EXPECT_EQ(0, hwp_kpagecount(__wpfn));			\
	} while (0)

/*
 * A real machine check from the host: harness/host/mce.py answers
 * "HWP-MCE-REQUEST <srao|srar> <physical address>" in the kernel log. The
 * harness sets HWP_HOST when such a host script is attached.
 */
static inline int hwp_request_mce(const char *kind, uint64_t pfn)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "HWP-MCE-REQUEST %s %#llx\n", kind,
		 (unsigned long long)(pfn * hwp_page_size()));
	return hwp_write_file("/dev/kmsg", buf);
}

static inline bool hwp_host_present(void)
{
	return getenv("HWP_HOST");
}

static inline bool hwp_have_debugfs_injector(void)
{
	return access(HWP_DEBUGFS "corrupt-pfn", W_OK) == 0;
}

/*
 * SIGBUS capture. The handler records the last SIGBUS; while a probing
 * access is armed it jumps back out of the faulting instruction. The
 * state is shared with the signal handler, so it is only touched with
 * atomic builtins.
 */
struct hwp_sigbus {
	int count;
	int code;
	void *addr;
	int lsb;
};

extern struct hwp_sigbus hwp_last_sigbus;
extern sigjmp_buf hwp_sigbus_jmp;
extern int hwp_sigbus_armed;

#define HWP_SIGBUS_STATE						\
	struct hwp_sigbus hwp_last_sigbus;				\
	sigjmp_buf hwp_sigbus_jmp;					\
	int hwp_sigbus_armed

static inline void hwp_sigbus_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	hwp_last_sigbus.code = si->si_code;
	hwp_last_sigbus.addr = si->si_addr;
	hwp_last_sigbus.lsb = si->si_addr_lsb;
	__atomic_add_fetch(&hwp_last_sigbus.count, 1, __ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&hwp_sigbus_armed, 0, __ATOMIC_SEQ_CST))
		siglongjmp(hwp_sigbus_jmp, 1);
}

static inline void hwp_reset_sigbus(void)
{
	memset(&hwp_last_sigbus, 0, sizeof(hwp_last_sigbus));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static inline int hwp_sigbus_count(void)
{
	return __atomic_load_n(&hwp_last_sigbus.count, __ATOMIC_SEQ_CST);
}

static inline void hwp_catch_sigbus(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = hwp_sigbus_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	hwp_reset_sigbus();
}

/*
 * Read one byte at @p; return true if the read raised SIGBUS (details in
 * hwp_last_sigbus), false if it completed and stored the byte in @out.
 */
static inline bool hwp_read_faults(const char *p, char *out)
{
	if (sigsetjmp(hwp_sigbus_jmp, 1))
		return true;
	__atomic_store_n(&hwp_sigbus_armed, 1, __ATOMIC_SEQ_CST);
	*out = __atomic_load_n(p, __ATOMIC_SEQ_CST);
	__atomic_store_n(&hwp_sigbus_armed, 0, __ATOMIC_SEQ_CST);
	return false;
}

static inline bool hwp_write_faults(char *p, char val)
{
	if (sigsetjmp(hwp_sigbus_jmp, 1))
		return true;
	__atomic_store_n(&hwp_sigbus_armed, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(p, val, __ATOMIC_SEQ_CST);
	__atomic_store_n(&hwp_sigbus_armed, 0, __ATOMIC_SEQ_CST);
	return false;
}

/*
 * In a kselftest: the first touch of @where raises SIGBUS, action required,
 * at exactly @where, for a 4 KiB page, and nothing else has been signalled.
 */
#define HWP_EXPECT_TOUCH_SIGBUS_AR(where)				\
	do {								\
		char *__at = (char *)(where), __c;			\
									\
		EXPECT_TRUE(hwp_read_faults(__at, &__c));		\
		EXPECT_EQ(1, hwp_sigbus_count());			\
		EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);		\
		EXPECT_EQ((void *)__at, hwp_last_sigbus.addr);		\
		EXPECT_EQ(12, hwp_last_sigbus.lsb);			\
	} while (0)

/* Fill a page with a pattern derived from @seed; check it. */
static inline void hwp_fill(void *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		((unsigned char *)p)[i] = (unsigned char)(i * 31 + seed);
}

static inline bool hwp_check(const void *p, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (((const unsigned char *)p)[i] != (unsigned char)(i * 31 + seed))
			return false;
	return true;
}

/*
 * A private anonymous range of @size bytes aligned to @size (a huge page),
 * carved out of a mapping twice as large; NULL if mmap() failed.
 */
static inline char *hwp_map_aligned(size_t size)
{
	char *raw = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	return (char *)(((uintptr_t)raw + size - 1) & ~(size - 1));
}

/*
 * @npages private anonymous pages, page i filled with seed i + @seed;
 * their pfns in @pfns unless it is NULL. NULL if mmap() failed.
 */
static inline char *hwp_map_filled(int npages, unsigned int seed,
				   uint64_t *pfns)
{
	long ps = hwp_page_size();
	char *p;
	int i;

	p = mmap(NULL, npages * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	for (i = 0; i < npages; i++) {
		hwp_fill(p + i * ps, ps, i + seed);
		if (pfns)
			pfns[i] = hwp_virt_to_pfn(p + i * ps);
	}
	return p;
}

/*
 * Write @npages pages to the open file @fd from its start, page i filled
 * with seed i + @seed. 0 or -errno.
 */
static inline int hwp_write_filled(int fd, int npages, unsigned int seed)
{
	long ps = hwp_page_size();
	char *buf = malloc(ps);
	int i, err = 0;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < npages && !err; i++) {
		hwp_fill(buf, ps, i + seed);
		if (pwrite(fd, buf, ps, (off_t)i * ps) != ps)
			err = -EIO;
	}
	free(buf);
	return err;
}

/*
 * Make sure the machine swaps: on the suite's guests that means zram0,
 * sized and swapped on here the first time. 0 or -errno.
 */
static inline int hwp_zram_swapon(void)
{
	int err;

	if (hwp_meminfo_kb("SwapTotal") > 0)
		return 0;
	err = hwp_write_file("/sys/block/zram0/disksize", "256M");
	if (err)
		return err;
	if (system("mkswap /dev/zram0 >/dev/null 2>&1 && swapon /dev/zram0"))
		return -EIO;
	return hwp_meminfo_kb("SwapTotal") > 0 ? 0 : -ENOMEM;
}

/*
 * Wait up to @ms for all @npages pages at @p to be resident as mincore()
 * sees them (for a swapped-out anonymous page: its swap cache page is up
 * to date, mapped or not). False on timeout.
 */
static inline bool hwp_wait_resident(char *p, int npages, int ms)
{
	unsigned char vec[npages];
	int i, in;

	for (;; ms -= 20) {
		if (mincore(p, npages * hwp_page_size(), vec))
			return false;
		for (i = 0, in = 0; i < npages; i++)
			in += vec[i] & 1;
		if (in == npages)
			return true;
		if (ms <= 0)
			return false;
		usleep(20000);
	}
}

#define HWP_KSM			"/sys/kernel/mm/ksm/"

/* A counter of /sys/kernel/mm/ksm/, -1 if it cannot be read. */
static inline long hwp_ksm_read(const char *name)
{
	char path[128];
	long v = -1;

	snprintf(path, sizeof(path), HWP_KSM "%s", name);
	hwp_read_long(path, &v);
	return v;
}

/*
 * Let ksmd merge the identical pages @a and @b (both already written,
 * private anonymous) for up to @ms: returns the pfn both then map, 0 if
 * they were not merged in time. ksmd is stopped again before returning.
 */
static inline uint64_t hwp_ksm_merge(char *a, char *b, int ms)
{
	long ps = hwp_page_size();
	uint64_t pfn = 0;

	if (madvise((void *)((uintptr_t)a & ~(ps - 1)), ps, MADV_MERGEABLE) ||
	    madvise((void *)((uintptr_t)b & ~(ps - 1)), ps, MADV_MERGEABLE) ||
	    hwp_write_file(HWP_KSM "pages_to_scan", "5000") ||
	    hwp_write_file(HWP_KSM "sleep_millisecs", "0") ||
	    hwp_write_file(HWP_KSM "run", "1"))
		return 0;
	for (; ms > 0 && !pfn; ms -= 20) {
		pfn = hwp_virt_to_pfn(a);
		if (pfn != hwp_virt_to_pfn(b))
			pfn = 0;
		if (!pfn)
			usleep(20000);
	}
	hwp_write_file(HWP_KSM "run", "0");
	return pfn;
}

#endif /* __HWPOISON_UTIL_H */
