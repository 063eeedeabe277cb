// SPDX-License-Identifier: GPL-2.0
/*
 * ZONE_DEVICE memory: a device-dax namespace on legacy persistent memory
 * (memmap=nn!ss on the kernel command line). Its pages have struct pages
 * but are not online memory: an error in one goes through the dev_pagemap
 * path and signals the mappers, soft offline must refuse it, the pfns that
 * hold the namespace's own memmap are refused outright, and none of it may
 * keep a reference that stops the device from being torn down.
 *
 * The namespace is turned into device-dax through sysfs, the way ndctl
 * does it: unbind the raw namespace, configure the region's dax seed,
 * bind the seed to the dax_pmem driver.
 */
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define ND		"/sys/bus/nd/"
#define NS		"namespace0.0"
#define DAX_DEV		"/dev/dax0.0"
#define NPAGES		16
#define TARGET		5

static int read_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = !!fgets(buf, len, f);
	fclose(f);
	if (!ok)
		return -EIO;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static int seed_write(const char *seed, const char *attr, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), ND "devices/%s/%s", seed, attr);
	return hwp_write_file(path, val);
}

/* Turn the raw legacy namespace into /dev/dax0.0; 0 or -errno. */
static int dax_setup(char *why, size_t len)
{
	char seed[64], uuid[64];
	int i, err;

	if (!access(DAX_DEV, F_OK))
		return 0;
	if (read_str(ND "devices/region0/dax_seed", seed, sizeof(seed)) ||
	    access(ND "devices/" NS, F_OK)) {
		snprintf(why, len, "no pmem region (boot with memmap=nn!ss)");
		return -ENODEV;
	}
	if (read_str("/proc/sys/kernel/random/uuid", uuid, sizeof(uuid)))
		snprintf(uuid, sizeof(uuid), "5bdc7d3c-8a4f-4e55-9bb5-3c5a1f0e2d11");
	if (!access(ND "devices/" NS "/driver", F_OK)) {
		err = hwp_write_file(ND "devices/" NS "/driver/unbind", NS);
		if (err) {
			snprintf(why, len, "unbind " NS ": %s", strerror(-err));
			return err;
		}
	}
	err = seed_write(seed, "uuid", uuid);
	err = err ?: seed_write(seed, "mode", "pmem");
	err = err ?: seed_write(seed, "align", "4096");
	err = err ?: seed_write(seed, "namespace", NS);
	err = err ?: hwp_write_file(ND "drivers/dax_pmem/bind", seed);
	if (err) {
		snprintf(why, len, "configure %s: %s", seed, strerror(-err));
		return err;
	}
	for (i = 0; i < 200 && access(DAX_DEV, F_OK); i++)
		usleep(10000);
	if (access(DAX_DEV, F_OK)) {
		snprintf(why, len, DAX_DEV " did not appear");
		return -ENODEV;
	}
	return 0;
}

/*
 * Pages of the device that earlier cases of this boot poisoned and that
 * map_dax() could not touch: PG_hwpoison stays on their struct pages when
 * the device is set up again, and a fault must not map a poisoned pfn (ours
 * refuses it; 6.12 maps it again, see two_mappers_late_touch).
 */
static unsigned int dax_lost;

static char *map_dax(int *fdp)
{
	long ps = hwp_page_size();
	char *p;
	int i;

	*fdp = open(DAX_DEV, O_RDWR);
	if (*fdp < 0)
		return NULL;
	p = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE, MAP_SHARED,
		 *fdp, 0);
	if (p == MAP_FAILED) {
		close(*fdp);
		return NULL;
	}
	hwp_catch_sigbus();
	for (i = 0; i < NPAGES; i++) {
		if (hwp_write_faults(p + i * ps, 0))
			dax_lost |= 1u << i;
		else
			hwp_fill(p + i * ps, ps, i + 40);
	}
	hwp_reset_sigbus();
	return p;
}

/* What a mapping child saw; lives in a shared anonymous page. */
struct report {
	int index;		/* the target's page in the mapping */
	int touch;		/* touch the target after looking */
	uint64_t pfn;
	uintptr_t target;
	int ready;
	int reported;		/* the test has injected the error */
	int count;
	int code;
	uintptr_t addr;
	int lsb;
	int target_mapped;	/* still in the page table after the report */
	int others_ok;		/* the other pages mapped, data intact */
	int touch_faulted;	/* the touch raised SIGBUS... */
	int touch_code;		/* ...with this code, address and lsb */
	uintptr_t touch_addr;
	int touch_lsb;
	int done;
};

static struct report *new_report(void)
{
	struct report *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (r == MAP_FAILED)
		return NULL;
	r->index = TARGET;
	return r;
}

/*
 * Map the device, publish the target pfn, wait to be signalled (early
 * kill) or for a while (late kill), then look at the mapping without
 * touching the target; touch it last if asked to.
 */
static void mapper(struct report *r, bool early)
{
	long ps = hwp_page_size();
	int i, fd, ok = 1;
	char *p, c;

	hwp_catch_sigbus();
	if (early)
		prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0);
	p = map_dax(&fd);
	if (!p)
		_exit(1);
	r->target = (uintptr_t)(p + r->index * ps);
	r->pfn = hwp_virt_to_pfn(p + r->index * ps);
	__atomic_store_n(&r->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&r->reported, __ATOMIC_SEQ_CST))
		usleep(1000);
	for (i = 0; i < 50 && !hwp_sigbus_count(); i++)
		usleep(10000);
	r->count = hwp_sigbus_count();
	r->code = hwp_last_sigbus.code;
	r->addr = (uintptr_t)hwp_last_sigbus.addr;
	r->lsb = hwp_last_sigbus.lsb;
	r->target_mapped = !!(hwp_pagemap_entry(p + r->index * ps) &
			      HWP_PM_PRESENT);
	for (i = 0; i < NPAGES; i++)
		if (i != r->index && !(dax_lost & (1u << i)) &&
		    (!(hwp_pagemap_entry(p + i * ps) & HWP_PM_PRESENT) ||
		     !hwp_check(p + i * ps, ps, i + 40)))
			ok = 0;
	r->others_ok = ok;
	if (r->touch) {
		hwp_reset_sigbus();
		r->touch_faulted = hwp_read_faults(p + r->index * ps, &c);
		r->touch_code = hwp_last_sigbus.code;
		r->touch_addr = (uintptr_t)hwp_last_sigbus.addr;
		r->touch_lsb = hwp_last_sigbus.lsb;
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
	_exit(0);
}

static bool wait_flag(int *flag)
{
	int i;

	for (i = 0; i < 1000 && !__atomic_load_n(flag, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	return __atomic_load_n(flag, __ATOMIC_SEQ_CST);
}

/* Physical start pfn of the namespace: its info block and memmap. */
static uint64_t namespace_start_pfn(void)
{
	char buf[64];

	if (read_str(ND "devices/" NS "/resource", buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 0) / hwp_page_size();
}

FIXTURE(devdax)
{
};

FIXTURE_SETUP(devdax)
{
	char why[128];

	ASSERT_TRUE(hwp_have_debugfs_injector());
	ASSERT_EQ(0, dax_setup(why, sizeof(why))) TH_LOG("%s", why);
}

FIXTURE_TEARDOWN(devdax)
{
}

/*
 * An error reported from outside (as a scrubber or a machine check in
 * another context would): a mapper that asked for early kill loses the
 * page from its page table and is signalled at once (AO); one that did not
 * is left alone until it consumes the poison.
 */
static void outside_report(struct __test_metadata *_metadata, bool early,
			   int index)
{
	struct report *r = new_report();
	uint64_t pfn;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, r);
	r->index = index;
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		mapper(r, early);
	ASSERT_TRUE(wait_flag(&r->ready));
	pfn = r->pfn;
	ASSERT_NE(0, pfn);
	/* Not online memory: kpageflags knows no page there. */
	EXPECT_EQ(BIT_ULL(KPF_NOPAGE), hwp_kpageflags(pfn));

	EXPECT_EQ(0, hwp_inject_pfn(pfn));
	__atomic_store_n(&r->reported, 1, __ATOMIC_SEQ_CST);
	ASSERT_TRUE(wait_flag(&r->done));
	waitpid(pid, &status, 0);
	EXPECT_TRUE(r->others_ok);
	if (!early) {
		/*
		 * Nobody to signal yet. There is no other page to put at
		 * that address, so whether the mapping stays is left to the
		 * implementation: its next consumer takes the machine check.
		 */
		EXPECT_EQ(0, r->count);
		return;
	}
	EXPECT_FALSE(r->target_mapped);
	EXPECT_EQ(1, r->count);
	EXPECT_EQ(BUS_MCEERR_AO, r->code);
	EXPECT_EQ(r->target, r->addr);
	EXPECT_EQ(12, r->lsb);
}

TEST_F(devdax, early_kill)
{
	outside_report(_metadata, true, TARGET);
}

TEST_F(devdax, late_kill)
{
	outside_report(_metadata, false, TARGET + 1);
}

/*
 * Two processes map the same device-dax page, @er asked for early kill,
 * @lr did not; page @index of the device is reported from outside.
 */
static void report_two_mappers(struct __test_metadata *_metadata,
			       int index, struct report *er,
			       struct report *lr)
{
	pid_t early, late;

	er->index = index;
	lr->index = index;
	early = fork();
	ASSERT_LE(0, early);
	if (!early)
		mapper(er, true);
	late = fork();
	ASSERT_LE(0, late);
	if (!late)
		mapper(lr, false);
	ASSERT_TRUE(wait_flag(&er->ready));
	ASSERT_TRUE(wait_flag(&lr->ready));
	ASSERT_NE(0, er->pfn);
	ASSERT_EQ(er->pfn, lr->pfn);
	EXPECT_EQ(0, hwp_inject_pfn(er->pfn));
	__atomic_store_n(&er->reported, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&lr->reported, 1, __ATOMIC_SEQ_CST);
	ASSERT_TRUE(wait_flag(&er->done));
	ASSERT_TRUE(wait_flag(&lr->done));
	waitpid(early, NULL, 0);
	waitpid(late, NULL, 0);
}

/*
 * After the report the page is mapped by no one: the early-kill mapper is
 * collected, and 6.12 then zaps the device's mapping of that page in
 * every process (unmap_mapping_range()), not only in those it signals.
 * The early-kill mapper is told at once (AO, its own address, lsb 12), the
 * other one is not; both keep the rest of the device mapped and intact.
 */
TEST_F(devdax, two_mappers_unmapped)
{
	struct report *er = new_report(), *lr = new_report();

	ASSERT_NE(NULL, er);
	ASSERT_NE(NULL, lr);
	report_two_mappers(_metadata, 9, er, lr);
	EXPECT_EQ(1, er->count);
	EXPECT_EQ(BUS_MCEERR_AO, er->code);
	EXPECT_EQ(er->target, er->addr);
	EXPECT_EQ(12, er->lsb);
	EXPECT_FALSE(er->target_mapped);
	EXPECT_TRUE(er->others_ok);
	EXPECT_EQ(0, lr->count);
	EXPECT_FALSE(lr->target_mapped);
	EXPECT_TRUE(lr->others_ok);
}

/*
 * The late-kill mapper, whose mapping the report took away, touches the
 * page: it must get SIGBUS, action required, at its address, for a 4 KiB
 * page, as a touch of a poisoned RAM page does. (6.12's device-dax fault
 * handler maps the poisoned pfn again without looking at PG_hwpoison: the
 * touch reads the bad page, here silently, on hardware through a second
 * machine check.)
 */
TEST_F(devdax, two_mappers_late_touch)
{
	struct report *er = new_report(), *lr = new_report();

	ASSERT_NE(NULL, er);
	ASSERT_NE(NULL, lr);
	lr->touch = 1;
	report_two_mappers(_metadata, 11, er, lr);
	EXPECT_EQ(1, er->count);
	EXPECT_EQ(0, lr->count);
	EXPECT_FALSE(lr->target_mapped);
	EXPECT_TRUE(lr->touch_faulted);
	EXPECT_EQ(BUS_MCEERR_AR, lr->touch_code);
	EXPECT_EQ(lr->target, lr->touch_addr);
	EXPECT_EQ(12, lr->touch_lsb);
}

/*
 * Report page @index of the device, mapped by a late-kill child (a
 * device-dax page nobody ever mapped has no mapping to lock and is
 * refused); returns what the injector returned.
 */
static int report_mapped(struct __test_metadata *_metadata, int index)
{
	struct report *r = new_report();
	int ret;
	pid_t pid;

	if (!r)
		return -ENOMEM;
	r->index = index;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		mapper(r, false);
	if (!wait_flag(&r->ready) || !r->pfn)
		return -ENODEV;
	ret = hwp_inject_pfn(r->pfn);
	__atomic_store_n(&r->reported, 1, __ATOMIC_SEQ_CST);
	wait_flag(&r->done);
	waitpid(pid, NULL, 0);
	return ret;
}

/* The pfn of page @index of the device. */
static uint64_t dax_pfn(int index)
{
	uint64_t pfn;
	char *p;
	int fd;

	p = map_dax(&fd);
	if (!p)
		return 0;
	pfn = hwp_virt_to_pfn(p + index * hwp_page_size());
	munmap(p, NPAGES * hwp_page_size());
	close(fd);
	return pfn;
}

/*
 * 6.12 counts a poisoned device-dax page like a RAM page: the report goes
 * through action_result(), "dax page: Recovered", which adds it to
 * HardwareCorrupted and to the per-node counters (of the node its struct
 * page names). No rule in the documentation says otherwise.
 */
TEST_F(devdax, report_counted)
{
	uint64_t pfn = dax_pfn(13);
	struct hwp_mf_stats before;
	long hc = hwp_corrupted_kb();

	ASSERT_NE(0, pfn);
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, report_mapped(_metadata, 13));
	EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&before, pfn, "dax page", "Recovered");
}

/*
 * HardwareCorrupted counts pages poisoned now: a second report of the
 * same device-dax page adds nothing, neither there nor to the per-node
 * counters (which count handlings of new errors). 6.12's dev_pagemap path
 * has no already-poisoned check: each report is handled and counted anew.
 */
TEST_F(devdax, report_twice_counted_once)
{
	uint64_t pfn = dax_pfn(14);
	long hc, total;

	ASSERT_NE(0, pfn);
	ASSERT_EQ(0, report_mapped(_metadata, 14));
	hc = hwp_corrupted_kb();
	total = hwp_node_stat("total");
	EXPECT_EQ(-EHWPOISON, hwp_inject_pfn(pfn));
	EXPECT_EQ(hc, hwp_corrupted_kb());
	EXPECT_EQ(total, hwp_node_stat("total"));
}

/*
 * A page nobody has mapped yet, reported from outside (a scrubber found
 * it first): it is marked and counted like any other, and the first
 * process that maps it later gets SIGBUS at its touch, not the bad data.
 * (6.12 refuses it: dax_lock_folio() finds no file mapping on a device-dax
 * page that was never faulted in, so the report fails with EBUSY, is
 * booked "dax page: Failed", and nothing is marked.)
 */
TEST_F(devdax, unmapped_page_reported)
{
	long ps = hwp_page_size();
	int index = 2 * NPAGES + 8;
	struct hwp_mf_stats before;
	uint64_t pfn0 = dax_pfn(0);
	long hc = hwp_corrupted_kb();
	size_t len = (index + 1) * ps;
	char *p;
	int fd;

	/* The device's pages sit on one physical range. */
	ASSERT_NE(0, pfn0);
	ASSERT_EQ(pfn0 + NPAGES - 1, dax_pfn(NPAGES - 1));
	ASSERT_TRUE(hwp_mf_stats_read(&before));
	ASSERT_EQ(0, hwp_mf_trace_start());
	EXPECT_EQ(0, hwp_inject_pfn(pfn0 + index));
	EXPECT_EQ(hc + ps / 1024, hwp_corrupted_kb());
	HWP_EXPECT_MF_BOOKED(&before, pfn0 + index, "dax page", "Recovered");

	hwp_catch_sigbus();
	fd = open(DAX_DEV, O_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	HWP_EXPECT_TOUCH_SIGBUS_AR(p + index * ps);
	munmap(p, len);
	close(fd);
}

/* MADV_HWPOISON on one's own dax mapping: action required, at once. */
TEST_F(devdax, madvise_hwpoison)
{
	long ps = hwp_page_size();
	char *p;
	int fd;

	hwp_catch_sigbus();
	p = map_dax(&fd);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, madvise(p + 2 * ps, ps, MADV_HWPOISON));
	EXPECT_EQ(1, hwp_sigbus_count());
	EXPECT_EQ(BUS_MCEERR_AR, hwp_last_sigbus.code);
	EXPECT_EQ(p + 2 * ps, hwp_last_sigbus.addr);
	EXPECT_EQ(12, hwp_last_sigbus.lsb);
	munmap(p, NPAGES * ps);
	close(fd);
}

/*
 * Soft offline migrates online memory only: a ZONE_DEVICE pfn is refused
 * with EIO through both entries, and its data stays where it is.
 */
TEST_F(devdax, soft_offline_refused)
{
	long ps = hwp_page_size();
	long hc = hwp_corrupted_kb();
	uint64_t pfn;
	char *p;
	int fd;

	hwp_catch_sigbus();
	p = map_dax(&fd);
	ASSERT_NE(NULL, p);
	pfn = hwp_virt_to_pfn(p + 7 * ps);
	ASSERT_NE(0, pfn);

	EXPECT_EQ(-EIO, hwp_sysfs_offline("soft", pfn));
	errno = 0;
	EXPECT_EQ(-1, madvise(p + 7 * ps, ps, MADV_SOFT_OFFLINE));
	EXPECT_EQ(EIO, errno);
	EXPECT_EQ(pfn, hwp_virt_to_pfn(p + 7 * ps));
	EXPECT_TRUE(hwp_check(p + 7 * ps, ps, 7 + 40));
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_EQ(hc, hwp_corrupted_kb());
	munmap(p, NPAGES * ps);
	close(fd);
}

/* The pfns holding the namespace's info block and memmap are refused. */
TEST_F(devdax, metadata_pfn_refused)
{
	uint64_t pfn = namespace_start_pfn();

	ASSERT_NE(0, pfn);
	EXPECT_EQ(-ENXIO, hwp_inject_pfn(pfn));
	EXPECT_EQ(-ENXIO, hwp_sysfs_offline("hard", pfn));
	EXPECT_EQ(-ENXIO, hwp_inject_pfn(pfn + 1));
	EXPECT_EQ(-EIO, hwp_sysfs_offline("soft", pfn));
}

/*
 * A refused pfn is not poisoned memory: HardwareCorrupted must not count
 * it, and certainly not once per report of the same pfn.
 */
TEST_F(devdax, metadata_pfn_not_counted)
{
	uint64_t pfn = namespace_start_pfn();
	long hc = hwp_corrupted_kb();

	ASSERT_NE(0, pfn);
	EXPECT_EQ(-ENXIO, hwp_inject_pfn(pfn + 2));
	EXPECT_EQ(-ENXIO, hwp_inject_pfn(pfn + 2));
	EXPECT_EQ(hc, hwp_corrupted_kb());
}

/*
 * Last: with pages poisoned and refused above, tearing the device down
 * must still complete. A reference leaked on the dev_pagemap would leave
 * the unbind waiting forever, so it runs in a child with a deadline.
 */
/* The nd device dax_pmem drives (dax0.0 for the region's first seed). */
static int bound_dax(char *name, size_t len)
{
	DIR *d = opendir(ND "drivers/dax_pmem");
	struct dirent *e;
	int err = -ENOENT;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (!strncmp(e->d_name, "dax", 3)) {
			snprintf(name, len, "%s", e->d_name);
			err = 0;
			break;
		}
	}
	closedir(d);
	return err;
}

TEST_F_TIMEOUT(devdax, torn_down, 60)
{
	int status, i, pipefd[2], err = 0;
	char name[64];
	pid_t pid;

	ASSERT_EQ(0, bound_dax(name, sizeof(name)));
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		err = hwp_write_file(ND "drivers/dax_pmem/unbind", name);
		if (write(pipefd[1], &err, sizeof(err)) != sizeof(err))
			_exit(2);
		_exit(err ? 1 : 0);
	}
	close(pipefd[1]);
	for (i = 0; i < 300; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		usleep(100000);
	}
	ASSERT_GT(300, i) TH_LOG("unbinding %s did not finish in 30 s", name);
	if (read(pipefd[0], &err, sizeof(err)) != sizeof(err))
		err = -EPIPE;
	close(pipefd[0]);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("unbind %s: %s (status %#x)", name, strerror(-err),
		       status);
	}
	for (i = 0; i < 100 && !access(DAX_DEV, F_OK); i++)
		usleep(10000);
	EXPECT_NE(0, access(DAX_DEV, F_OK));
}

TEST_HARNESS_MAIN
