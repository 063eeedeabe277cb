// SPDX-License-Identifier: GPL-2.0
/*
 * Thousands of random and boundary pfns and addresses through every
 * interface, bounded in time. Each call must return exactly the error 6.12
 * gives for what the pfn or address is, and the harness fails the run on
 * any splat in the kernel log.
 *
 * Hard offline of random in-use pages would kill whatever owns them (init
 * among others), so the injector's filter is set to reject every page that
 * has a state: only free pages and pfns that are not memory get through.
 *
 * What a pfn is, as the kernel sees it, from what user space can see:
 * - pfn_valid() (a memmap exists): its memory section is present. With
 *   memory blocks of one 128 MiB x86-64 section each (checked), that is
 *   its memory block's directory in sysfs.
 * - pfn_to_online_page() (online memory): below the end of RAM, the pfns
 *   that /proc/kpageflags does not report as KPF_NOPAGE; past it, the rest
 *   of the 2 MiB subsection that holds the last page of RAM (the memmap of
 *   a boot section is valid by subsection).
 */
#include <time.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define ITERATIONS	3000
#define SECTION_PAGES	32768UL		/* 128 MiB */
#define SUBSECTION_PAGES 512UL		/* 2 MiB */

static uint64_t rnd(void)
{
	return ((uint64_t)random() << 33) ^ ((uint64_t)random() << 11) ^
	       random();
}

static bool pfn_valid_here(uint64_t pfn)
{
	char path[96];

	snprintf(path, sizeof(path), HWP_SYSFS_MEM "memory%llu",
		 (unsigned long long)(pfn / SECTION_PAGES));
	return access(path, F_OK) == 0;
}

/* pfn_to_online_page(@pfn) != NULL; @max is the end of RAM. */
static bool pfn_online_here(uint64_t pfn, uint64_t max)
{
	uint64_t flags;

	if (pfn >= max)
		return pfn_valid_here(pfn) &&
		       pfn < (max + SUBSECTION_PAGES - 1) /
			     SUBSECTION_PAGES * SUBSECTION_PAGES;
	flags = hwp_kpageflags(pfn);
	return flags != ~0ULL && !(flags & BIT_ULL(KPF_NOPAGE));
}

/* kpageflags of an online @pfn; 0 past the end of RAM (nothing set). */
static uint64_t flags_of(uint64_t pfn, uint64_t max)
{
	return pfn < max ? hwp_kpageflags(pfn) : 0;
}

static bool check(struct __test_metadata *_metadata, const char *what,
		  uint64_t pfn, int want, int got)
{
	if (want == got)
		return true;
	TH_LOG("%s %#llx (flags %#llx): %d, not %d", what,
	       (unsigned long long)pfn,
	       (unsigned long long)hwp_kpageflags(pfn), got, want);
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
	hwp_flags_filter(on ? BIT_ULL(KPF_NOPAGE) : 0);
}

FIXTURE(fuzz)
{
	uint64_t max;
};

FIXTURE_SETUP(fuzz)
{
	unsigned long block = 0;
	FILE *f;

	ASSERT_TRUE(hwp_have_debugfs_injector()) {
		TH_LOG("no debugfs hwpoison injector (" HWP_DEBUGFS ")");
	}
	self->max = hwp_max_pfn();
	ASSERT_GT(self->max, 0);
	/* One memory block per section: sysfs shows pfn_valid(). */
	f = fopen(HWP_SYSFS_MEM "block_size_bytes", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%lx", &block));
	fclose(f);
	ASSERT_EQ(SECTION_PAGES * hwp_page_size(), block);
	srandom(time(NULL));
}

FIXTURE_TEARDOWN(fuzz)
{
	set_filter(false);
}

/*
 * With the filter on, the injector poisons nothing: a pfn with a memmap is
 * filtered out (0), one without is -ENXIO. Unpoison: -EIO for a pfn that
 * is not online memory, -EOPNOTSUPP for the huge zero page, -EBUSY for
 * any other page, none of them being poisoned.
 */
TEST_F_TIMEOUT(fuzz, debugfs_and_unpoison, 300)
{
	long hc = hwp_corrupted_kb();
	int i, bad = 0;

	set_filter(true);
	for (i = 0; i < ITERATIONS; i++) {
		uint64_t pfn = fuzz_pfn(self->max, i), flags;
		bool online = pfn_online_here(pfn, self->max);
		int want;

		if (!check(_metadata, "corrupt-pfn", pfn,
			   pfn_valid_here(pfn) ? 0 : -ENXIO,
			   hwp_inject_pfn(pfn)))
			bad++;
		flags = flags_of(pfn, self->max);
		if (!online)
			want = -EIO;
		else if ((flags & BIT_ULL(KPF_ZERO_PAGE)) &&
			 (flags & BIT_ULL(KPF_THP)))
			want = -EOPNOTSUPP;
		else
			want = -EBUSY;
		if (!check(_metadata, "unpoison-pfn", pfn, want,
			   hwp_unpoison_pfn(pfn)))
			bad++;
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, system("true"));
}

/*
 * Hard offline, only of pfns that are not online memory (-ENXIO) and of
 * free pages (0, and the page is poisoned). Soft offline of any pfn: no
 * memmap -ENXIO, not online -EIO, already poisoned 0, and any other page
 * is refused by the injector's filter, which soft offline honours
 * (-EOPNOTSUPP). Malformed input: sysfs parses with kstrtoull() and says
 * -EINVAL to every failure, debugfs passes kstrtoull()'s own error on
 * (-ERANGE for an overflow); an empty write is a no-op for sysfs only.
 */
TEST_F_TIMEOUT(fuzz, sysfs, 300)
{
	static const struct {
		const char *in;
		int sysfs, debugfs;
	} junk[] = {
		{ "", 0, -EINVAL },
		{ "0x", -EINVAL, -EINVAL },
		{ "-1", -EINVAL, -EINVAL },
		{ "0x1 0x2", -EINVAL, -EINVAL },
		{ "18446744073709551616", -EINVAL, -ERANGE },
		{ "abc", -EINVAL, -EINVAL },
		{ "0x1000\n\n", -EINVAL, -EINVAL },
		{ " 4096", -EINVAL, -EINVAL },
	};
	static const char * const files[] = {
		HWP_SYSFS_MEM "soft_offline_page",
		HWP_SYSFS_MEM "hard_offline_page",
		HWP_DEBUGFS "corrupt-pfn",
		HWP_DEBUGFS "unpoison-pfn",
	};
	uint64_t ps = hwp_page_size();
	int i, ret, bad = 0, hard = 0;
	unsigned int j, f;

	set_filter(true);
	for (i = 0; i < ITERATIONS; i++) {
		/*
		 * sysfs takes a physical address: a pfn from 2^52 up wraps
		 * when it is made one. Expect what the kernel will see.
		 */
		uint64_t pfn = fuzz_pfn(self->max, i) * ps / ps, flags;
		bool online = pfn_online_here(pfn, self->max);
		int want;

		/* Hard offline only where no page is in use. */
		flags = flags_of(pfn, self->max);
		if (!online || flags == BIT_ULL(KPF_BUDDY)) {
			ret = hwp_sysfs_offline("hard", pfn);
			if (!check(_metadata, "hard_offline_page", pfn,
				   online ? 0 : -ENXIO, ret))
				bad++;
			if (online && !hwp_pfn_poisoned(pfn)) {
				TH_LOG("hard_offline_page %#llx: not poisoned",
				       (unsigned long long)pfn);
				bad++;
			}
			hard += online;
		}
		/* Soft offline never hurts anyone: any pfn. */
		if (i % 3 == 0) {
			flags = flags_of(pfn, self->max);
			if (!pfn_valid_here(pfn))
				want = -ENXIO;
			else if (!online)
				want = -EIO;
			else if (flags & BIT_ULL(KPF_HWPOISON))
				want = 0;
			else
				want = -EOPNOTSUPP;
			if (!check(_metadata, "soft_offline_page", pfn, want,
				   hwp_sysfs_offline("soft", pfn)))
				bad++;
		}
	}
	for (j = 0; j < ARRAY_SIZE(junk); j++) {
		for (f = 0; f < ARRAY_SIZE(files); f++) {
			ret = hwp_write_file(files[f], junk[j].in);
			if (ret == (f < 2 ? junk[j].sysfs : junk[j].debugfs))
				continue;
			TH_LOG("\"%s\" to %s: %d", junk[j].in, files[f], ret);
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
	/* Some of the random pfns were free pages: the path was taken. */
	EXPECT_LT(0, hard);
	EXPECT_EQ(0, system("true"));
}

/*
 * madvise with addresses that map nothing, or are not addresses at all:
 * an unaligned start or a range that wraps is -EINVAL (do_madvise()),
 * anything else finds no page to look up and is -EFAULT
 * (get_user_pages_fast() in madvise_inject_error()).
 */
TEST_F_TIMEOUT(fuzz, madvise, 300)
{
	long ps = hwp_page_size();
	int i, bad = 0, want;
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
		want = (addr & (ps - 1)) || addr + len < addr ? EINVAL : EFAULT;
		if (!madvise((void *)addr, len, adv)) {
			TH_LOG("madvise(%#lx, %zu, %d) succeeded", (long)addr,
			       len, adv);
			bad++;
		} else if (errno != want) {
			TH_LOG("madvise(%#lx, %zu, %d): %s, not %s", (long)addr,
			       len, adv, strerror(errno), strerror(want));
			bad++;
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, hwp_sigbus_count());
}

TEST_HARNESS_MAIN
