// SPDX-License-Identifier: GPL-2.0
/*
 * Free pages, repeated and invalid pfns, and unpoison: a poisoned free page
 * is never handed out again, a pfn is counted once, bad pfns get clean
 * errors, and unpoisoning gives the memory back.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

FIXTURE(freepage)
{
	uint64_t pfn;
	long hc;
	long total;
	long memfree_before, memfree_after;
};

FIXTURE_VARIANT(freepage)
{
	const char *entry;
};

FIXTURE_VARIANT_ADD(freepage, debugfs)
{
	.entry = "debugfs",
};

FIXTURE_VARIANT_ADD(freepage, sysfs_hard)
{
	.entry = "hard",
};

FIXTURE_VARIANT_ADD(freepage, sysfs_soft)
{
	.entry = "soft",
};

static int offline(const char *entry, uint64_t pfn)
{
	if (!strcmp(entry, "debugfs"))
		return hwp_inject_pfn(pfn);
	return hwp_sysfs_offline(entry, pfn);
}

/*
 * Every case of this fixture first takes two settled MemFree readings
 * (for withheld), which on a debug kernel can take longer than the
 * default 30 s: each case has a limit of its own.
 */
FIXTURE_SETUP(freepage)
{
	ASSERT_TRUE(hwp_have_debugfs_injector());
	self->pfn = hwp_free_pfn();
	ASSERT_NE(0, self->pfn);
	ASSERT_FALSE(hwp_pfn_poisoned(self->pfn));
	self->hc = hwp_corrupted_kb();
	self->total = hwp_node_stat("total");
	self->memfree_before = hwp_memfree_settled_kb(self->pfn);
	ASSERT_EQ(0, offline(variant->entry, self->pfn));
	self->memfree_after = hwp_memfree_settled_kb(self->pfn);
	ASSERT_TRUE(hwp_pfn_poisoned(self->pfn));
	ASSERT_EQ(self->hc + hwp_page_size() / 1024, hwp_corrupted_kb());
}

FIXTURE_TEARDOWN(freepage)
{
}

/*
 * Offlining takes the page off the free lists and keeps it: it is in no
 * free list, no flag but PG_hwpoison, mapped by nobody, and MemFree went
 * down by exactly that page (both readings taken with the pcp lists
 * drained and the vmstat deltas folded in). The rest of the system
 * allocates a page now and then (a window of a few ms has one page of
 * noise about once in 25, a debug kernel much more), so a window that was
 * not quiet is tried again on another page, offlined the same way, up to
 * five windows in all; a page that is not taken off the free lists gives
 * 0 in every one.
 */
TEST_F_TIMEOUT(freepage, withheld, 300)
{
	long kb = hwp_page_size() / 1024;
	long before = self->memfree_before, after = self->memfree_after;
	uint64_t pfn;
	int i;

	HWP_EXPECT_WITHHELD(self->pfn);
	for (i = 1; i < 5 && before - kb != after; i++) {
		TH_LOG("MemFree %ld kB -> %ld kB: not a quiet window",
		       before, after);
		pfn = hwp_free_pfn();
		ASSERT_NE(0, pfn);
		before = hwp_memfree_settled_kb(pfn);
		ASSERT_EQ(0, offline(variant->entry, pfn));
		after = hwp_memfree_settled_kb(pfn);
		HWP_EXPECT_WITHHELD(pfn);
	}
	if (before - kb != after && hwp_debug_kernel()) {
		/* Each page was checked where it is above; MemFree is noise. */
		TH_LOG("debug kernel: MemFree never quiet, not weighed");
		return;
	}
	ASSERT_GT(before, 0);
	EXPECT_EQ(before - kb, after);
}

/*
 * The poisoned pfn never comes back from the allocator: not when 90% of
 * free memory is faulted in (the sweep drains the pcp lists first), and it
 * is still withheld, where it was, once the sweep has given it all back.
 */
TEST_F_TIMEOUT(freepage, never_reused, 600)
{
	bool seen;
	long n;

	n = hwp_allocate_and_look_for(self->pfn, 90, &seen);
	ASSERT_GT(n, 1000);
	EXPECT_FALSE(seen);
	HWP_EXPECT_WITHHELD(self->pfn);
}

/*
 * A second report of the same pfn is not a new error: -EHWPOISON from the
 * hard offline entries, 0 from soft offline, and no counter moves.
 */
TEST_F_TIMEOUT(freepage, reported_twice, 300)
{
	long total = hwp_node_stat("total");
	int ret;

	ret = offline(variant->entry, self->pfn);
	EXPECT_EQ(strcmp(variant->entry, "soft") ? -EHWPOISON : 0, ret);
	ret = hwp_sysfs_offline("hard", self->pfn);
	EXPECT_EQ(-EHWPOISON, ret);
	EXPECT_EQ(self->hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	EXPECT_EQ(total, hwp_node_stat("total"));
}

/* Unpoison puts the page back in service and the counter back down. */
TEST_F_TIMEOUT(freepage, unpoison, 300)
{
	bool seen = false;
	int tries;

	ASSERT_EQ(0, hwp_unpoison_pfn(self->pfn));
	EXPECT_FALSE(hwp_pfn_poisoned(self->pfn));
	EXPECT_EQ(self->hc, hwp_corrupted_kb());
	/* Unpoisoning it again: it is no longer poisoned. */
	EXPECT_EQ(-EBUSY, hwp_unpoison_pfn(self->pfn));
	/* And the allocator hands it out again. */
	for (tries = 0; tries < 3 && !seen; tries++)
		ASSERT_GT(hwp_allocate_and_look_for(self->pfn, 90, &seen), 1000);
	EXPECT_TRUE(seen);
}

/*
 * Poison and unpoison many free pages: not one page is lost on the way.
 * MemFree cannot tell (the rest of the system allocates and frees all the
 * time, by more than a page), so look at each page instead. Memory
 * failure takes a free page off the free lists; unpoison must put it
 * straight back (put_page_back_buddy() frees it into the buddy allocator,
 * not onto a per-cpu list). So right after its unpoison each page must be
 * in a free buddy block (KPF_BUDDY is set on every page of one, head or
 * tail), or, if someone was handed it in between, show that owner (a page
 * flag such as LRU, slab or mmap). A page with no flag at all, even once
 * the per-CPU free lists are drained, is withheld from use by nobody:
 * leaked. HardwareCorrupted must come back to exactly
 * where it was.
 */
TEST(unpoison_no_leak)
{
	int n = 512, m, i, failed = 0, poisoned = 0, leaked = 0, reused = 0;
	int raced = 0, ret, tries;
	long kb = hwp_page_size() / 1024, hc;
	uint64_t *pfns, flags;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	pfns = calloc(n, sizeof(*pfns));
	ASSERT_NE(NULL, pfns);
	hc = hwp_corrupted_kb();
	/*
	 * Only pages still free when their report arrives: the injector's
	 * flag filter passes a free buddy page and refuses (0, untouched) one
	 * that was allocated since it was picked. Each report splits a free
	 * block, whose pieces the allocator then prefers: pick a few pages
	 * at a time, right before reporting them, or a slow (debug) kernel
	 * hands most of them out in between.
	 */
	ASSERT_EQ(0, hwp_flags_filter(BIT_ULL(KPF_BUDDY)));
	for (i = 0; i < n; i++) {
		if (!(i % 32))
			ASSERT_EQ(32, hwp_free_pfns(pfns + i, 32));
		ret = hwp_inject_pfn(pfns[i]);
		/*
		 * Allocated to the kernel right after the filter passed it
		 * (a slow debug kernel widens the window): booked "get
		 * hwpoison page: Ignored" and left poisoned, not ours to
		 * unpoison. Any other failure is one.
		 */
		if (ret == -EBUSY) {
			raced++;
			pfns[i] = 0;
		} else if (ret) {
			failed++;
		}
	}
	ASSERT_EQ(0, hwp_flags_filter(0));
	ASSERT_EQ(0, failed);
	ASSERT_GE(n / 16, raced);
	hc += raced * kb;
	for (i = 0, m = 0; i < n; i++)
		if (pfns[i] && hwp_pfn_poisoned(pfns[i]))
			pfns[m++] = pfns[i];
	ASSERT_LE(n / 2, m) {
		TH_LOG("only %d of %d free pages were still free", m, n);
	}
	EXPECT_EQ(hc + m * kb, hwp_corrupted_kb());
	for (i = 0; i < m; i++) {
		if (hwp_unpoison_pfn(pfns[i])) {
			failed++;
			continue;
		}
		flags = hwp_kpageflags(pfns[i]);
		/*
		 * No flag at all is also a free page that another CPU's
		 * per-CPU list took from the buddy lists meanwhile: drain
		 * the lists and look again. A leaked page stays flagless.
		 */
		for (tries = 0; !flags && tries < 3; tries++) {
			ASSERT_EQ(0, hwp_drain_pcp(pfns[i]));
			flags = hwp_kpageflags(pfns[i]);
		}
		if (flags & BIT_ULL(KPF_HWPOISON))
			poisoned++;
		else if (flags & BIT_ULL(KPF_BUDDY))
			continue;
		else if (flags)
			reused++;
		else
			leaked++;
		if (!(flags & BIT_ULL(KPF_BUDDY)))
			TH_LOG("pfn %#llx after unpoison: kpageflags %#llx",
			       (unsigned long long)pfns[i],
			       (unsigned long long)flags);
	}
	EXPECT_EQ(0, failed);
	EXPECT_EQ(0, poisoned);
	EXPECT_EQ(0, leaked);
	EXPECT_EQ(hc, hwp_corrupted_kb());
	/* Taken by someone else at once: legitimate, but worth a word. */
	if (reused)
		TH_LOG("%d of %d pages handed out again at once", reused, m);
	free(pfns);
}

/* Pfns that are not memory get clean errors from every entry. */
TEST(invalid_pfns)
{
	/* Past the last 128 MiB memory section: no memmap at all. */
	uint64_t top = (hwp_max_pfn() + 32767) & ~32767ULL;
	uint64_t bad[] = { top, top + 0x100000, 1ULL << 40 };
	long hc = hwp_corrupted_kb();
	unsigned int i;

	ASSERT_TRUE(hwp_have_debugfs_injector());
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-ENXIO, hwp_inject_pfn(bad[i]));
		EXPECT_EQ(-ENXIO, hwp_sysfs_offline("hard", bad[i]));
		EXPECT_EQ(-ENXIO, hwp_sysfs_offline("soft", bad[i]));
		EXPECT_EQ(-EIO, hwp_unpoison_pfn(bad[i]));
	}
	EXPECT_EQ(-EINVAL, hwp_write_file(HWP_SYSFS_MEM "hard_offline_page",
					  "not-a-number"));
	EXPECT_EQ(-EINVAL, hwp_write_file(HWP_SYSFS_MEM "soft_offline_page",
					  "0x12zz"));
	EXPECT_EQ(hc, hwp_corrupted_kb());
}

/* Unprivileged writers are refused by sysfs and debugfs. */
TEST(unprivileged)
{
	uint64_t pfn = hwp_free_pfn();
	int status;
	pid_t pid;

	ASSERT_NE(0, pfn);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (hwp_sysfs_offline("hard", pfn) != -EACCES)
			_exit(11);
		if (hwp_sysfs_offline("soft", pfn) != -EACCES)
			_exit(12);
		if (hwp_inject_pfn(pfn) == 0)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_FALSE(hwp_pfn_poisoned(pfn));
}

TEST_HARNESS_MAIN
