// SPDX-License-Identifier: GPL-2.0
/*
 * Memory hot-remove of a DIMM that holds poisoned pages: its blocks go
 * offline, the host unplugs it, and the poison goes with it (the counter
 * drops by what the DIMM held). The harness boots this test with a
 * hot-pluggable pc-dimm onlined as movable; the host removes the DIMM
 * when asked with "HWP-HOST-REQUEST device_del <id>" in the kernel log.
 */
#include <dirent.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define BLOCKS	HWP_SYSFS_MEM

static long block_size_pages(void)
{
	long bytes = 0;
	FILE *f = fopen(BLOCKS "block_size_bytes", "r");

	if (f) {
		if (fscanf(f, "%lx", &bytes) != 1)
			bytes = 0;
		fclose(f);
	}
	return bytes / hwp_page_size();
}

/* Memory blocks at or above 4 GiB: the hot-plugged DIMM. */
static int dimm_blocks(int *ids, int max)
{
	uint64_t first = (4ULL << 30) / hwp_page_size() / block_size_pages();
	struct dirent *d;
	int n = 0, id;
	DIR *dir = opendir(BLOCKS);

	while (dir && (d = readdir(dir)) && n < max)
		if (sscanf(d->d_name, "memory%d", &id) == 1 &&
		    (uint64_t)id >= first)
			ids[n++] = id;
	if (dir)
		closedir(dir);
	return n;
}

static int block_state(int id, const char *state)
{
	char path[128];

	snprintf(path, sizeof(path), BLOCKS "memory%d/state", id);
	return hwp_write_file(path, state);
}

static bool block_exists(int id)
{
	char path[128];

	snprintf(path, sizeof(path), BLOCKS "memory%d", id);
	return access(path, F_OK) == 0;
}

/* A free page of block @id: its pages are all free when nothing uses it. */
static uint64_t free_pfn_in_block(int id)
{
	uint64_t start = (uint64_t)id * block_size_pages();
	uint64_t pfn;

	for (pfn = start + block_size_pages() - 1; pfn > start; pfn--)
		if (hwp_kpageflags(pfn) == BIT_ULL(KPF_BUDDY))
			return pfn;
	return 0;
}

FIXTURE(hotremove)
{
};

FIXTURE_SETUP(hotremove)
{
}

FIXTURE_TEARDOWN(hotremove)
{
}

TEST_F_TIMEOUT(hotremove, poisoned_dimm, 240)
{
	int ids[64], n, i, gone = 0, ret;
	long hc_before, hc_poisoned;
	uint64_t pfn[2];

	ASSERT_TRUE(hwp_host_present()) {
		TH_LOG("needs the host to unplug the DIMM (HWP_HOST)");
	}
	n = dimm_blocks(ids, 64);
	ASSERT_LT(0, n) {
		TH_LOG("no hot-plugged memory above 4 GiB");
	}
	hc_before = hwp_corrupted_kb();
	pfn[0] = free_pfn_in_block(ids[0]);
	pfn[1] = free_pfn_in_block(ids[n - 1]);
	ASSERT_NE(0, pfn[0]);
	ASSERT_NE(0, pfn[1]);
	ASSERT_EQ(0, hwp_inject_pfn(pfn[0]));
	ASSERT_EQ(0, hwp_sysfs_offline("soft", pfn[1]));
	hc_poisoned = hwp_corrupted_kb();
	EXPECT_EQ(hc_before + 2 * hwp_page_size() / 1024, hc_poisoned);

	for (i = 0; i < n; i++) {
		ret = block_state(ids[i], "offline");
		EXPECT_EQ(0, ret) {
			TH_LOG("offline memory%d: %s", ids[i], strerror(-ret));
		}
	}
	/*
	 * A block with poison in it may go offline, but never online again:
	 * memory_block_online() refuses any block whose count of poisoned
	 * pages is not zero, hard or soft offlined alike.
	 */
	EXPECT_EQ(-EHWPOISON, block_state(ids[0], "online"));
	EXPECT_EQ(-EHWPOISON, block_state(ids[n - 1], "online"));

	ASSERT_EQ(0, hwp_write_file("/dev/kmsg",
				    "HWP-HOST-REQUEST device_del dimm1\n"));
	for (i = 0; i < 600 && !gone; i++) {
		usleep(100000);
		gone = !block_exists(ids[0]) && !block_exists(ids[n - 1]);
	}
	EXPECT_TRUE(gone);
	/* The removed memory takes its poison with it. */
	EXPECT_EQ(hc_before, hwp_corrupted_kb());
}

TEST_HARNESS_MAIN
