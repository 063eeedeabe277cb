// SPDX-License-Identifier: GPL-2.0
/*
 * Corrected memory errors, the path that feeds soft offline in production.
 *
 * The host puts a corrected memory error (no UC bit) for a physical address
 * into bank 9 of CPU 0 through the QEMU monitor ("HWP-MCE-REQUEST ce
 * <paddr>" in the kernel log, answered by harness/host/mce.py). No
 * exception is raised: the machine-check poller finds the error, the RAS
 * corrected-error collector (drivers/ras/cec.c, on the decode chain) counts
 * it for its pfn and, when the count reaches action_threshold, queues a
 * soft offline of the pfn (memory_failure_queue(pfn, MF_SOFT_OFFLINE)).
 * The owner of the page keeps every byte and is never signalled.
 *
 * The poll interval is shortened to 1 s (check_interval) and each error is
 * requested only once the collector has counted the previous one, so that
 * no error overwrites another in the bank.
 */
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define CEC_DIR		"/sys/kernel/debug/ras/cec/"
#define CEC_THRESHOLD	CEC_DIR "action_threshold"
#define CEC_ARRAY	CEC_DIR "array"
#define CHECK_INTERVAL	"/sys/devices/system/machinecheck/machinecheck0/check_interval"
#define SOFT_ENABLE	"/proc/sys/vm/enable_soft_offline"

/* What the collector's debugfs "array" says about one pfn and in total. */
struct cec_state {
	long count;		/* errors counted for the pfn, 0 if not listed */
	long ces;		/* "CEs:" errors entered since boot */
	long offlined;		/* "offlined pages:" soft offlines queued */
};

static bool cec_read(uint64_t pfn, struct cec_state *st)
{
	unsigned long long p, c, v;
	char line[256];
	bool ces = false, off = false;
	FILE *f = fopen(CEC_ARRAY, "r");

	memset(st, 0, sizeof(*st));
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		/* " %3d: [%016llx|<decay bits>|%03llx]" */
		if (sscanf(line, " %*d: [%llx|%*[01]|%llx]", &p, &c) == 2) {
			if (p == pfn)
				st->count = c;
		} else if (sscanf(line, "CEs: %llu", &v) == 1) {
			st->ces = v;
			ces = true;
		} else if (sscanf(line, "offlined pages: %llu", &v) == 1) {
			st->offlined = v;
			off = true;
		}
	}
	fclose(f);
	return ces && off;
}

/* Wait up to @ms until the collector has entered @ces errors in total. */
static bool cec_wait_entered(uint64_t pfn, long ces, struct cec_state *st,
			     int ms)
{
	for (; ms > 0; ms -= 20) {
		if (cec_read(pfn, st) && st->ces >= ces)
			return st->ces == ces;
		usleep(20000);
	}
	return false;
}

/* A reader of kernel log records written from now on. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Wait up to @ms for a new log record that contains @text. */
static bool kmsg_wait(int fd, const char *text, int ms)
{
	char rec[1024];
	ssize_t n;

	for (; ms > 0; ms -= 20) {
		for (;;) {
			n = read(fd, rec, sizeof(rec) - 1);
			if (n < 0 && errno == EPIPE)
				continue;	/* overwritten: read on */
			if (n <= 0)
				break;
			rec[n] = '\0';
			if (strstr(rec, text))
				return true;
		}
		usleep(20000);
	}
	return false;
}

static long read_sys_long(const char *path)
{
	long v = -1;

	if (hwp_read_long(path, &v))
		return -1;
	return v;
}

static int write_sys_long(const char *path, long v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%ld", v);
	return hwp_write_file(path, buf);
}

/*
 * cec_init() lowers the threshold from the maximum (1023) to 2 on Intel
 * CPUs, the model our guests run, "to avoid uncorrectable errors".
 */
TEST(default_threshold)
{
	EXPECT_EQ(2, read_sys_long(CEC_THRESHOLD));
}

FIXTURE(ce)
{
	long interval_saved;
	long threshold_saved;
	long soft_saved;
	int kmsg;
	char *map;		/* three pages, the middle one takes the errors */
	char *target;
	uint64_t pfn;
};

FIXTURE_SETUP(ce)
{
	long ps = hwp_page_size();

	/* The suite runs this binary with host=harness/host/mce.py. */
	ASSERT_TRUE(hwp_host_present());
	self->interval_saved = read_sys_long(CHECK_INTERVAL);
	self->threshold_saved = read_sys_long(CEC_THRESHOLD);
	self->soft_saved = read_sys_long(SOFT_ENABLE);
	ASSERT_GT(self->interval_saved, 0);
	ASSERT_GT(self->threshold_saved, 0);
	ASSERT_GE(self->soft_saved, 0);
	ASSERT_EQ(0, hwp_write_file(CHECK_INTERVAL, "1"));
	self->kmsg = kmsg_open();
	ASSERT_GE(self->kmsg, 0);

	self->map = hwp_map_filled(3, 7, NULL);
	ASSERT_NE(NULL, self->map);
	ASSERT_EQ(0, madvise(self->map, 3 * ps, MADV_NOHUGEPAGE));
	self->target = self->map + ps;
	self->pfn = hwp_virt_to_pfn(self->target);
	ASSERT_NE(0, self->pfn);
}

FIXTURE_TEARDOWN(ce)
{
	if (self->interval_saved > 0)
		write_sys_long(CHECK_INTERVAL, self->interval_saved);
	if (self->threshold_saved > 0)
		write_sys_long(CEC_THRESHOLD, self->threshold_saved);
	if (self->soft_saved >= 0)
		write_sys_long(SOFT_ENABLE, self->soft_saved);
	if (self->kmsg >= 0)
		close(self->kmsg);
}

/* All three pages hold what hwp_map_filled() wrote. */
static bool map_intact(const char *map)
{
	long ps = hwp_page_size();
	int i;

	for (i = 0; i < 3; i++)
		if (!hwp_check(map + i * ps, ps, 7 + i))
			return false;
	return true;
}

/*
 * Threshold 3: after one and after two errors the pfn is counted and
 * nothing else happens; the third soft-offlines it. The data moves to a new
 * page, the old pfn is retired and counted in HardwareCorrupted, and an
 * early-kill owner is never signalled. A soft offline is not a memory
 * failure: the per-node memory_failure counters do not move.
 */
TEST_F_TIMEOUT(ce, soft_offline_at_threshold, 120)
{
	long ps = hwp_page_size();
	long hc = hwp_corrupted_kb();
	long total = hwp_node_stat("total");
	struct cec_state st0, st;
	char msg[64];
	uint64_t new;
	int i;

	hwp_catch_sigbus();
	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY,
			   0, 0));
	ASSERT_EQ(0, write_sys_long(CEC_THRESHOLD, 3));
	ASSERT_TRUE(cec_read(self->pfn, &st0));
	ASSERT_EQ(0, st0.count);
	ASSERT_GE(total, 0);

	for (i = 1; i <= 2; i++) {
		ASSERT_EQ(0, hwp_request_mce("ce", self->pfn));
		ASSERT_TRUE(cec_wait_entered(self->pfn, st0.ces + i, &st,
					     20000));
		/* Counted for its pfn, below the threshold: nothing more. */
		EXPECT_EQ(i, st.count);
		EXPECT_EQ(st0.offlined, st.offlined);
		EXPECT_EQ(self->pfn, hwp_virt_to_pfn(self->target));
		EXPECT_FALSE(hwp_pfn_poisoned(self->pfn));
		EXPECT_EQ(hc, hwp_corrupted_kb());
	}

	snprintf(msg, sizeof(msg), "RAS: Soft-offlining pfn: %#llx",
		 (unsigned long long)self->pfn);
	ASSERT_EQ(0, hwp_request_mce("ce", self->pfn));
	ASSERT_TRUE(cec_wait_entered(self->pfn, st0.ces + 3, &st, 20000));
	EXPECT_TRUE(kmsg_wait(self->kmsg, msg, 1000));
	/* The collector forgets the pfn once it has queued the offline. */
	EXPECT_EQ(0, st.count);
	EXPECT_EQ(st0.offlined + 1, st.offlined);
	ASSERT_TRUE(hwp_wait_poisoned(self->pfn, 10000));

	new = hwp_virt_to_pfn(self->target);
	EXPECT_NE(0, new);
	EXPECT_NE(self->pfn, new);
	EXPECT_FALSE(hwp_pfn_poisoned(new));
	EXPECT_TRUE(map_intact(self->map));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	EXPECT_EQ(total, hwp_node_stat("total"));
	EXPECT_EQ(0, hwp_sigbus_count());
	/* The page is still fully usable. */
	hwp_fill(self->target, ps, 40);
	EXPECT_TRUE(hwp_check(self->target, ps, 40));
	EXPECT_EQ(0, hwp_sigbus_count());
}

/*
 * vm.enable_soft_offline=0 governs the collector's soft offline too: at the
 * threshold (1 here) the offline is queued and refused, the page stays
 * where it is, unmarked, with its data, and nobody is signalled.
 */
TEST_F_TIMEOUT(ce, soft_offline_disabled, 120)
{
	long hc = hwp_corrupted_kb();
	struct cec_state st0, st;
	char msg[64];

	hwp_catch_sigbus();
	ASSERT_EQ(0, write_sys_long(CEC_THRESHOLD, 1));
	ASSERT_EQ(0, hwp_write_file(SOFT_ENABLE, "0"));
	ASSERT_TRUE(cec_read(self->pfn, &st0));
	ASSERT_EQ(0, st0.count);

	snprintf(msg, sizeof(msg), "RAS: Soft-offlining pfn: %#llx",
		 (unsigned long long)self->pfn);
	ASSERT_EQ(0, hwp_request_mce("ce", self->pfn));
	ASSERT_TRUE(cec_wait_entered(self->pfn, st0.ces + 1, &st, 20000));
	EXPECT_EQ(0, st.count);
	EXPECT_TRUE(kmsg_wait(self->kmsg, msg, 1000));
	/* Printed once per boot; this is the only refusal in this boot. */
	ASSERT_TRUE(kmsg_wait(self->kmsg,
			      "Soft offline: disabled by /proc/sys/vm/enable_soft_offline",
			      10000));

	EXPECT_EQ(self->pfn, hwp_virt_to_pfn(self->target));
	EXPECT_FALSE(hwp_pfn_poisoned(self->pfn));
	EXPECT_TRUE(map_intact(self->map));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(0, hwp_sigbus_count());
}

TEST_HARNESS_MAIN
