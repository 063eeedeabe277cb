// SPDX-License-Identifier: GPL-2.0
/*
 * Real machine checks: the host injects them through the QEMU monitor into
 * the guest's x86 MCE handler, which calls memory_failure() exactly as it
 * would for a hardware error. Each case asks the host with a line
 * "HWP-MCE-REQUEST <srao|srar> <physical address>" in the kernel log; the
 * host script (harness/host/mce.py) answers with the machine check.
 *
 * Without that host script (HWP_HOST unset in the environment) the cases
 * fail: the suite always boots them with it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

static bool wait_sigbus(int ms)
{
	for (; ms > 0; ms -= 20) {
		if (hwp_sigbus_count())
			return true;
		usleep(20000);
	}
	return hwp_sigbus_count() != 0;
}

/* SRAO on a page of an early-kill process: BUS_MCEERR_AO at once. */
TEST(srao_early_kill)
{
	long ps = hwp_page_size();
	long hc_before;
	uint64_t pfn;
	char *p;

	ASSERT_TRUE(hwp_host_present())
		TH_LOG("needs the host to inject machine checks");
	hwp_catch_sigbus();
	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY,
			   0, 0));
	p = hwp_map_filled(3, 1, NULL);
	ASSERT_NE(NULL, p);
	pfn = hwp_virt_to_pfn(p + ps);
	ASSERT_NE(0, pfn);
	hc_before = hwp_corrupted_kb();

	ASSERT_EQ(0, hwp_request_mce("srao", pfn));
	ASSERT_TRUE(hwp_wait_poisoned(pfn, 30000));
	ASSERT_TRUE(wait_sigbus(5000));
	/* The counter moves once handling is complete, after the signal. */
	for (int i = 0; i < 250 && hwp_corrupted_kb() == hc_before; i++)
		usleep(20000);
	EXPECT_EQ(1, hwp_sigbus_count());
	EXPECT_EQ(BUS_MCEERR_AO, hwp_last_sigbus.code);
	EXPECT_EQ(p + ps, hwp_last_sigbus.addr);
	EXPECT_EQ(12, hwp_last_sigbus.lsb);
	EXPECT_EQ(hc_before + ps / 1024, hwp_corrupted_kb());
	EXPECT_TRUE(hwp_check(p, ps, 1));
	EXPECT_TRUE(hwp_check(p + 2 * ps, ps, 3));
}

/* SRAO on a late-kill process: silent until the page is touched. */
TEST(srao_late_kill)
{
	long ps = hwp_page_size();
	uint64_t pfn;
	char *p, c;

	ASSERT_TRUE(hwp_host_present())
		TH_LOG("needs the host to inject machine checks");
	hwp_catch_sigbus();
	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE,
			   0, 0));
	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	hwp_fill(p, 2 * ps, 5);
	pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, pfn);

	ASSERT_EQ(0, hwp_request_mce("srao", pfn));
	ASSERT_TRUE(hwp_wait_poisoned(pfn, 30000));
	/* Handled (unmapped) without a word to this late-kill process. */
	ASSERT_TRUE(hwp_wait_unmapped(p, 10000));
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_TRUE(hwp_read_faults(p + 10, &c));
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(p + 10, hwp_last_sigbus.addr);
	EXPECT_EQ(12, hwp_last_sigbus.lsb);
}

/*
 * A burst of machine checks on many pages, faster than the handler runs:
 * none may be lost, every page ends up poisoned and counted.
 */
FIXTURE(burst)
{
};

FIXTURE_SETUP(burst)
{
}

FIXTURE_TEARDOWN(burst)
{
}

TEST_F_TIMEOUT(burst, srao, 120)
{
	enum { N = 48 };
	long ps = hwp_page_size();
	uint64_t pfn[N];
	long hc_before;
	int i, done = 0, ms;
	char *p;

	ASSERT_TRUE(hwp_host_present())
		TH_LOG("needs the host to inject machine checks");
	p = mmap(NULL, N * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	madvise(p, N * ps, MADV_NOHUGEPAGE);
	for (i = 0; i < N; i++) {
		p[i * ps] = 1;
		pfn[i] = hwp_virt_to_pfn(p + i * ps);
		ASSERT_NE(0, pfn[i]);
	}
	hc_before = hwp_corrupted_kb();
	for (i = 0; i < N; i++)
		ASSERT_EQ(0, hwp_request_mce("srao", pfn[i]));
	for (ms = 0; ms < 60000 && done < N; ms += 100) {
		usleep(100000);
		for (done = 0, i = 0; i < N; i++)
			done += hwp_pfn_poisoned(pfn[i]);
	}
	EXPECT_EQ(N, done);
	for (ms = 0; ms < 5000; ms += 100) {
		if (hwp_corrupted_kb() == hc_before + N * ps / 1024)
			break;
		usleep(100000);
	}
	EXPECT_EQ(hc_before + N * ps / 1024, hwp_corrupted_kb());
}

/*
 * The injector's filters apply to machine checks as to every report that
 * reaches memory_failure(). With a filter that lets only mlocked pages
 * through, an SRAO on an ordinary page of an early-kill process changes
 * nothing, and one on an mlocked page of the same process is handled. The
 * second machine check is handled after the first, so once its page is
 * counted the first has been decided.
 */
FIXTURE(filter)
{
};

FIXTURE_SETUP(filter)
{
	ASSERT_TRUE(hwp_have_debugfs_injector());
}

FIXTURE_TEARDOWN(filter)
{
	hwp_flags_filter(0);
}

TEST_F_TIMEOUT(filter, srao_rejected, 120)
{
	uint64_t mlocked = BIT_ULL(KPF_MLOCKED), pfn[2];
	long ps = hwp_page_size();
	long hc_before;
	int i;
	char *p;

	ASSERT_TRUE(hwp_host_present())
		TH_LOG("needs the host to inject machine checks");
	hwp_catch_sigbus();
	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY,
			   0, 0));
	p = hwp_map_filled(2, 21, pfn);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, mlock(p + ps, ps));
	ASSERT_NE(0, pfn[0]);
	ASSERT_NE(0, pfn[1]);
	ASSERT_EQ(0, hwp_kpageflags(pfn[0]) & mlocked);
	ASSERT_EQ(mlocked, hwp_kpageflags(pfn[1]) & mlocked);
	ASSERT_EQ(0, hwp_flags_filter(mlocked));
	hc_before = hwp_corrupted_kb();

	ASSERT_EQ(0, hwp_request_mce("srao", pfn[0]));
	ASSERT_EQ(0, hwp_request_mce("srao", pfn[1]));
	ASSERT_TRUE(hwp_wait_poisoned(pfn[1], 30000));
	ASSERT_TRUE(wait_sigbus(5000));
	for (i = 0; i < 250 && hwp_corrupted_kb() == hc_before; i++)
		usleep(20000);
	EXPECT_EQ(hc_before + ps / 1024, hwp_corrupted_kb());
	EXPECT_EQ(1, hwp_sigbus_count());
	EXPECT_EQ(BUS_MCEERR_AO, hwp_last_sigbus.code);
	EXPECT_EQ(p + ps, hwp_last_sigbus.addr);
	/* The filtered page: not flagged, still mapped, data intact. */
	EXPECT_FALSE(hwp_pfn_poisoned(pfn[0]));
	EXPECT_EQ(pfn[0], hwp_virt_to_pfn(p));
	EXPECT_TRUE(hwp_check(p, ps, 21));
}

/*
 * SRAR: the error is consumed by a user-mode load on CPU 0. The reader
 * gets BUS_MCEERR_AR for the page it was reading.
 */
TEST(srar_consumer)
{
	long ps = hwp_page_size();
	cpu_set_t set;
	uint64_t pfn;
	char *p;

	ASSERT_TRUE(hwp_host_present())
		TH_LOG("needs the host to inject machine checks");
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	hwp_catch_sigbus();
	p = hwp_map_filled(1, 9, &pfn);
	ASSERT_NE(NULL, p);
	ASSERT_NE(0, pfn);

	ASSERT_EQ(0, hwp_request_mce("srar", pfn));
	/*
	 * Keep loading from the page in user mode, with no system call that
	 * the machine check could land in, until the error hits: the SIGBUS
	 * handler jumps out of the loop.
	 */
	if (!sigsetjmp(hwp_sigbus_jmp, 1)) {
		unsigned long sum = 0;
		long j;

		__atomic_store_n(&hwp_sigbus_armed, 1, __ATOMIC_SEQ_CST);
		for (j = 0; j < 4000000000L; j++)
			sum += __atomic_load_n(p + (j & (ps - 1)),
					       __ATOMIC_RELAXED);
		__atomic_store_n(&hwp_sigbus_armed, 0, __ATOMIC_SEQ_CST);
		TH_LOG("no machine check arrived (sum %lu)", sum);
	}
	ASSERT_NE(0, hwp_sigbus_count());
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(p, (char *)((uintptr_t)hwp_last_sigbus.addr & ~(ps - 1)));
	EXPECT_EQ(12, hwp_last_sigbus.lsb);
	EXPECT_TRUE(hwp_wait_poisoned(pfn, 5000));
}

TEST_HARNESS_MAIN
