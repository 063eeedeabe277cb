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

TEST_HARNESS_MAIN
