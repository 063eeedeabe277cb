// SPDX-License-Identifier: GPL-2.0
/*
 * Thousands of random and boundary pfns and addresses through every
 * interface, bounded in time. Only documented errors may come back, and the
 * harness fails the run on any splat in the kernel log.
 *
 * Hard offline of random in-use pages would kill whatever owns them (init
 * among others), so the injector's filter is set to reject every page that
 * has a state: only free pages and pfns that are not memory get through.
 */
#include <time.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define ITERATIONS	3000
#define KPF_NOPAGE	20

static uint64_t rnd(void)
{
	return ((uint64_t)random() << 33) ^ ((uint64_t)random() << 11) ^
	       random();
}

static bool allowed(int ret, const int *ok, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (ret == ok[i])
			return true;
	return false;
}

/* Random pfns: mostly in memory, some past it, some at the boundaries. */
static uint64_t fuzz_pfn(uint64_t max, int i)
{
	static const uint64_t edge[] = { 0, 1, 0x9f, 0x100, ~0ULL, ~0ULL >> 12,
					 1ULL << 52, 1ULL << 40 };

	if (i < (int)ARRAY_SIZE(edge))
		return edge[i];
	switch (i % 4) {
	case 0:
		return max + rnd() % 0x100000;
	case 1:
		return max - 1 - rnd() % 64;
	default:
		return rnd() % max;
	}
}

static void set_filter(bool on)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)BIT_ULL(KPF_NOPAGE));
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-mask", on ? buf : "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-flags-value", on ? buf : "0");
	hwp_write_file(HWP_DEBUGFS "corrupt-filter-enable", on ? "1" : "0");
}

FIXTURE(fuzz)
{
	uint64_t max;
};

FIXTURE_SETUP(fuzz)
{
	if (!hwp_have_debugfs_injector())
		SKIP(return, "debugfs hwpoison injector not available");
	self->max = hwp_max_pfn();
	ASSERT_GT(self->max, 0);
	srandom(time(NULL));
}

FIXTURE_TEARDOWN(fuzz)
{
	set_filter(false);
}

TEST_F_TIMEOUT(fuzz, debugfs_and_unpoison, 300)
{
	static const int ok_inject[] = { 0, -ENXIO, -EBUSY, -EHWPOISON };
	static const int ok_unpoison[] = { 0, -ENXIO, -EIO, -EBUSY,
					   -EOPNOTSUPP };
	int i, ret, bad = 0;

	set_filter(true);
	for (i = 0; i < ITERATIONS; i++) {
		uint64_t pfn = fuzz_pfn(self->max, i);

		ret = hwp_inject_pfn(pfn);
		if (!allowed(ret, ok_inject, ARRAY_SIZE(ok_inject))) {
			TH_LOG("corrupt-pfn %#llx: %d", (unsigned long long)pfn,
			       ret);
			bad++;
		}
		ret = hwp_unpoison_pfn(pfn);
		if (!allowed(ret, ok_unpoison, ARRAY_SIZE(ok_unpoison))) {
			TH_LOG("unpoison-pfn %#llx: %d", (unsigned long long)pfn,
			       ret);
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, system("true"));
}

TEST_F_TIMEOUT(fuzz, sysfs, 300)
{
	static const int ok_hard[] = { 0, -ENXIO, -EBUSY, -EHWPOISON, -EINVAL };
	static const int ok_soft[] = { 0, -ENXIO, -EIO, -EBUSY, -ENOMEM,
				       -EINVAL, -EOPNOTSUPP };
	static const char * const junk[] = { "", "0x", "-1", "0x1 0x2",
					     "18446744073709551616", "abc",
					     "0x1000\n\n", " 4096" };
	int i, ret, bad = 0;
	unsigned int j;

	set_filter(true);
	for (i = 0; i < ITERATIONS; i++) {
		uint64_t pfn = fuzz_pfn(self->max, i);

		/* Hard offline only where no page is in use. */
		if (pfn >= self->max || hwp_kpageflags(pfn) ==
		    BIT_ULL(HWP_KPF_BUDDY)) {
			ret = hwp_sysfs_offline("hard", pfn);
			if (!allowed(ret, ok_hard, ARRAY_SIZE(ok_hard))) {
				TH_LOG("hard_offline_page %#llx: %d",
				       (unsigned long long)pfn, ret);
				bad++;
			}
		}
		/* Soft offline never hurts anyone: any pfn. */
		if (i % 3 == 0) {
			ret = hwp_sysfs_offline("soft", pfn);
			if (!allowed(ret, ok_soft, ARRAY_SIZE(ok_soft))) {
				TH_LOG("soft_offline_page %#llx: %d",
				       (unsigned long long)pfn, ret);
				bad++;
			}
		}
	}
	for (j = 0; j < ARRAY_SIZE(junk); j++) {
		hwp_write_file(HWP_SYSFS_MEM "soft_offline_page", junk[j]);
		hwp_write_file(HWP_SYSFS_MEM "hard_offline_page", junk[j]);
		hwp_write_file(HWP_DEBUGFS "corrupt-pfn", junk[j]);
		hwp_write_file(HWP_DEBUGFS "unpoison-pfn", junk[j]);
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, system("true"));
}

/* madvise with addresses that map nothing, or are not addresses at all. */
TEST_F_TIMEOUT(fuzz, madvise, 300)
{
	long ps = hwp_page_size();
	int i, bad = 0;
	unsigned char vec;

	for (i = 0; i < ITERATIONS; i++) {
		uintptr_t addr = rnd() & ~(uintptr_t)(ps - 1);
		size_t len = (rnd() % 4 + 1) * ps;
		int adv = i & 1 ? MADV_HWPOISON : MADV_SOFT_OFFLINE;

		if (i % 7 == 0)
			addr |= 1 + rnd() % (ps - 1);	/* unaligned */
		else if (!mincore((void *)(addr & ~(uintptr_t)(ps - 1)), ps,
				  &vec) || errno != ENOMEM)
			continue;	/* mapped by us: not a fuzz target */
		if (!madvise((void *)addr, len, adv)) {
			TH_LOG("madvise(%#lx, %zu, %d) succeeded", (long)addr,
			       len, adv);
			bad++;
		} else if (errno != EINVAL && errno != ENOMEM &&
			   errno != EFAULT) {
			TH_LOG("madvise(%#lx): %s", (long)addr, strerror(errno));
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, hwp_sigbus_count());
}

TEST_HARNESS_MAIN
