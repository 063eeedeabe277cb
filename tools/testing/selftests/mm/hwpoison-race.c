// SPDX-License-Identifier: GPL-2.0
/*
 * Soft offline under fire: pages are soft-offlined one after another while
 * their owner keeps writing and checking them and compaction runs in a
 * loop. Nobody may get a SIGBUS, no byte may change behind the owner's
 * back, and no retired pfn may ever be mapped again. Bounded in time.
 */
#include <pthread.h>
#include <time.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define NPAGES		256
#define NWRITERS	2
#define SECONDS		20

static char *region;
static long ps;
static int stop;
static long corrupt;
static long rounds;

/* Each writer owns every NWRITERS-th page: fill, then check, forever. */
static void *writer(void *arg)
{
	long id = (long)arg, gen = 0, i;
	char *ref = malloc(ps);

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		gen++;
		for (i = id; i < NPAGES; i += NWRITERS) {
			char *p = region + i * ps;

			/* Every byte must read back what was just written. */
			memset(ref, (int)(gen + i) & 0xff, ps);
			memcpy(p, ref, ps);
			if (memcmp(p, ref, ps))
				__atomic_add_fetch(&corrupt, 1,
						   __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&rounds, 1, __ATOMIC_RELAXED);
	}
	free(ref);
	return NULL;
}

static void *compactor(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		hwp_write_file("/proc/sys/vm/compact_memory", "1");
		usleep(1000);
	}
	return NULL;
}

FIXTURE(race)
{
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

TEST_F_TIMEOUT(race, soft_offline_vs_writers_and_compaction, 120)
{
	pthread_t w[NWRITERS], c;
	uint64_t *retired;
	long nretired = 0, failed = 0, i, j, reused = 0;
	time_t end;

	ps = hwp_page_size();
	hwp_catch_sigbus();
	retired = calloc(100000, sizeof(*retired));
	region = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, region);
	madvise(region, NPAGES * ps, MADV_NOHUGEPAGE);
	memset(region, 0, NPAGES * ps);
	for (i = 0; i < NWRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)i);
	pthread_create(&c, NULL, compactor, NULL);

	end = time(NULL) + SECONDS;
	for (i = 0; time(NULL) < end && nretired < 100000; i++) {
		char *p = region + (i % NPAGES) * ps;
		uint64_t pfn = hwp_virt_to_pfn(p);

		if (!pfn)
			continue;
		if (madvise(p, ps, MADV_SOFT_OFFLINE)) {
			failed++;
			continue;
		}
		if (hwp_pfn_poisoned(pfn))
			retired[nretired++] = pfn;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < NWRITERS; i++)
		pthread_join(w[i], NULL);
	pthread_join(c, NULL);

	TH_LOG("%ld pages retired, %ld offline calls failed, %ld write rounds",
	       nretired, failed, rounds);
	EXPECT_GT(nretired, 10);
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_EQ(0, corrupt);
	for (i = 0; i < NPAGES; i++) {
		uint64_t pfn = hwp_virt_to_pfn(region + i * ps);

		for (j = 0; j < nretired; j++)
			if (pfn == retired[j])
				reused++;
	}
	EXPECT_EQ(0, reused);
	for (j = 0; j < nretired; j++)
		if (!hwp_pfn_poisoned(retired[j]))
			reused++;
	EXPECT_EQ(0, reused);
}

#define NR_HUGE		"/proc/sys/vm/nr_hugepages"

struct pool_race {
	uint64_t last_pfn;	/* the consumer's most recent huge page */
	long faults, sigbus, mmap_failed;
	int stop;
};

/* Fault huge pages from the pool one at a time, forever. */
static void consume_huge_pages(struct pool_race *r)
{
	char c;

	hwp_catch_sigbus();
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		char *p = mmap(NULL, HPAGE_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
			       -1, 0);

		if (p == MAP_FAILED) {
			r->mmap_failed++;
			usleep(1000);
			continue;
		}
		if (hwp_write_faults(p, 1) || hwp_read_faults(p, &c))
			r->sigbus++;
		else
			r->faults++;
		__atomic_store_n(&r->last_pfn, hwp_virt_to_pfn(p),
				 __ATOMIC_RELAXED);
		munmap(p, HPAGE_SIZE);
	}
	_exit(0);
}

/*
 * Soft offline of free huge pages while another process keeps faulting
 * huge pages from the same pool: the pool always has room for the
 * consumer, so it must never see an allocation failure or a SIGBUS.
 */
TEST_F_TIMEOUT(race, free_hugetlb_vs_faults, 120)
{
	long saved = -1, nr, offlined = 0, tries = 0;
	struct pool_race *r;
	char buf[24];
	time_t end;
	pid_t pid;
	int status;

	hwp_read_long(NR_HUGE, &saved);
	if (hwp_write_file(NR_HUGE, "32"))
		SKIP(return, "cannot size the huge page pool");
	hwp_read_long(NR_HUGE, &nr);
	if (nr < 16)
		SKIP(return, "only %ld huge pages", nr);
	r = mmap(NULL, hwp_page_size(), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r);
	memset(r, 0, sizeof(*r));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		consume_huge_pages(r);

	end = time(NULL) + SECONDS;
	while (time(NULL) < end) {
		uint64_t pfn = __atomic_load_n(&r->last_pfn, __ATOMIC_RELAXED);

		hwp_read_long(NR_HUGE, &nr);
		if (!pfn || nr <= 4) {
			usleep(1000);
			continue;
		}
		tries++;
		/* Free by now, or about to be allocated again: both are fine. */
		if (!hwp_sysfs_offline("soft", pfn + (tries % 512)))
			offlined++;
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	snprintf(buf, sizeof(buf), "%ld", saved);
	hwp_write_file(NR_HUGE, buf);

	TH_LOG("%ld huge faults, %ld soft offlines of %ld attempts",
	       r->faults, offlined, tries);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, r->sigbus);
	EXPECT_EQ(0, r->mmap_failed);
	EXPECT_GT(r->faults, 10);
	EXPECT_GT(offlined, 0);
}

TEST_HARNESS_MAIN
