// SPDX-License-Identifier: GPL-2.0
/*
 * What an operator on Debian 13 sees of memory failure: rasdaemon (0.8.3,
 * built with its memory_failure_event handler) running as its packaged
 * systemd service with its packaged configuration, storing each
 * containment of the kernel in its database, and ras-mc-ctl printing
 * them.
 *
 * Runs in the Debian 13 guest booted with its own init (suite keys
 * guest=debian13 init=systemd), with harness/host/mce.py injecting machine
 * checks through the QEMU monitor; elsewhere every case is skipped.
 *
 * Page isolation needs a memory controller that EDAC knows: rasdaemon
 * counts corrected errors per page from ras:mc_event, which an EDAC
 * driver emits, and not from the machine-check records themselves. The
 * harness' module hwp_edac stands in for a server's EDAC driver, and the
 * guest boots with ras=cec_disable so that the kernel's own
 * corrected-error collector leaves the errors to it.
 */
#include <sys/mman.h>
#include <time.h>
#include "hwpoison_debian.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define RAS_INSTANCE	"/sys/kernel/tracing/instances/rasdaemon/"
#define RAS_MF_ENABLE	RAS_INSTANCE "events/ras/memory_failure_event/enable"
#define BURST		40
#define RAS_DB		"/var/lib/rasdaemon/ras-mc_event.db"
#define RAS_MF_QUERY	"select count(*) from memory_failure_event"
#define RAS_DEFAULT	"/etc/default/rasdaemon"
#define MCE_CPU0	"/sys/devices/system/machinecheck/machinecheck0/"
#define CHECK_INTERVAL	MCE_CPU0 "check_interval"
#define EDAC_MC0	"/sys/devices/system/edac/mc/mc0"
#define CE_THRESHOLD	5
#define RAS_JOURNAL	"journalctl -b -u rasdaemon --no-pager -o "
/*
 * How long rasdaemon may take to open its database after boot or a
 * restart. About 100 s on an idle host under TCG; it polls for every
 * trace event it enables, and a busy host stretches that several times.
 */
#define RAS_START_WAIT	480

/* Why the cases cannot run here, or NULL. */
static const char *ras_not_ready(void)
{
	if (!have("rasdaemon") || !have("ras-mc-ctl"))
		return "no rasdaemon (needs the Debian 13 guest)";
	if (shell("test \"$(cat /proc/1/comm)\" = systemd"))
		return "PID 1 is not systemd (needs init=systemd)";
	return NULL;
}

/*
 * ras-mc-ctl --errors: the memory failure lines, "<id> <time> error:
 * pfn=0x..., page_type=<type>, action_result=<result>".
 */
static char *ras_errors(void)
{
	return capture("ras-mc-ctl --errors 2>&1");
}

/* How many memory failure lines name @pfn; the last one's "type: result". */
static int rows_for(const char *errors, uint64_t pfn, char *out, size_t len)
{
	char needle[48];
	const char *p = errors;
	int n = 0;

	out[0] = 0;
	snprintf(needle, sizeof(needle), "error: pfn=%#llx, page_type=",
		 (unsigned long long)pfn);
	while (p && (p = strstr(p, needle))) {
		const char *type = p + strlen(needle);
		const char *res = strstr(type, ", action_result=");
		const char *end = strchr(type, '\n');

		if (!end)
			end = type + strlen(type);
		if (res && res < end)
			snprintf(out, len, "%.*s: %.*s", (int)(res - type),
				 type, (int)(end - res - 16), res + 16);
		n++;
		p = end;
	}
	return n;
}

/* rasdaemon's journal of this boot, or NULL. */
static char *ras_journal(void)
{
	return capture(RAS_JOURNAL "cat");
}

/*
 * How many rows rasdaemon has tried to store: each "... store:" line is
 * followed by "register inserted at db" or by an sqlite error.
 */
static int ras_stores(const char *journal)
{
	const char *p = journal;
	int n = 0;

	while (p && (p = strstr(p, " store: "))) {
		n++;
		p++;
	}
	return n;
}

/*
 * ras-mc-ctl's output once rasdaemon has handled the memory failure event
 * of every one of @pfns and stored nothing more for two seconds, or after
 * @seconds; NULL if it could not run.
 *
 * Its database is not read before: rasdaemon 0.8.3 stores each event as
 * it comes, with no sqlite busy timeout, so a store that meets a reader
 * holding the database fails and the row is lost (rasdaemon then logs
 * "Failed to do ... step on sqlite"). What rasdaemon handled it prints to
 * its journal after storing it ("pfn=<pfn> page_type=..."), and that is
 * what is waited for. (ras-mc-ctl is a Perl program: under emulation one
 * run takes seconds.)
 */
static char *ras_wait_rows(const uint64_t *pfns, int n, int seconds)
{
	time_t end = time(NULL) + seconds, quiet = 0;
	int i, stores = -1;
	char needle[48];

	for (;;) {
		char *journal = ras_journal();
		int now = ras_stores(journal);

		for (i = 0; journal && i < n; i++) {
			snprintf(needle, sizeof(needle), "pfn=%#llx page_type=",
				 (unsigned long long)pfns[i]);
			if (!strstr(journal, needle))
				break;
		}
		free(journal);
		if (now != stores) {
			stores = now;
			quiet = time(NULL) + 2;
		}
		if ((i == n && time(NULL) >= quiet) || time(NULL) > end)
			return ras_errors();
		sleep(1);
	}
}

/* rasdaemon's complaints about its database, for a case that lost rows. */
static void ras_show_db_errors(struct __test_metadata *_metadata)
{
	char *errors = capture(RAS_JOURNAL "cat | grep -i sqlite | tail -10");

	TH_LOG("rasdaemon's sqlite errors: %s", errors && *errors ?
	       errors : "none");
	free(errors);
}

/*
 * rasdaemon is up once it has opened its database and made its tables,
 * which it does after enabling every event it handles (and waiting 30 s
 * for each one that this kernel lacks): until then ras-mc-ctl fails.
 */
static bool ras_wait_listening(int seconds)
{
	time_t end = time(NULL) + seconds;

	do {
		if (!shell("sqlite3 %s '%s' >/dev/null 2>&1", RAS_DB,
			   RAS_MF_QUERY) &&
		    !shell("ras-mc-ctl --summary >/dev/null 2>&1"))
			return true;
		sleep(1);
	} while (time(NULL) < end);
	return false;
}

/* Seconds since boot. */
static long uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec;
}

/* What rasdaemon was doing: for a case that gave up waiting for it. */
static void ras_show_state(struct __test_metadata *_metadata)
{
	char *status = capture("systemctl status --no-pager rasdaemon 2>&1");
	char *journal = capture(RAS_JOURNAL "short-monotonic | tail -25");

	TH_LOG("at %ld s after boot:\n%.1200s\n%s", uptime(),
	       status ? status : "", journal ? journal : "");
	free(status);
	free(journal);
}

/* Wait up to @seconds until rasdaemon's journal has @text. */
static bool ras_journal_says(const char *text, int seconds)
{
	time_t end = time(NULL) + seconds;

	do {
		char *journal = ras_journal();
		bool found = journal && strstr(journal, text);

		free(journal);
		if (found)
			return true;
		sleep(1);
	} while (time(NULL) < end);
	return false;
}

/* Wait up to @seconds until EDAC counted @want corrected errors in all. */
static bool edac_counted(long want, int seconds)
{
	time_t end = time(NULL) + seconds;
	long n;

	do {
		if (!hwp_read_long(EDAC_MC0 "/ce_count", &n) && n >= want)
			return true;
		usleep(100000);
	} while (time(NULL) < end);
	return false;
}

/* The "<type>: <result>" that the kernel logged for @pfn. */
static void logged_outcome(uint64_t pfn, char *out, size_t len)
{
	char *klog = kernel_log();

	outcome_after(klog, "Memory failure: ", pfn, out, len);
	free(klog);
}

/* An in-use page of our own, soft-offlined by MADV_SOFT_OFFLINE: its pfn. */
static uint64_t soft_offline_own_page(void)
{
	long ps = hwp_page_size();
	char *p = hwp_map_filled(1, 11, NULL);
	uint64_t pfn;

	if (!p)
		return 0;
	pfn = hwp_virt_to_pfn(p);
	if (madvise(p, ps, MADV_SOFT_OFFLINE) || !hwp_check(p, ps, 11))
		pfn = 0;
	munmap(p, ps);
	return pfn;
}

FIXTURE(ras)
{
};

FIXTURE_SETUP(ras)
{
	const char *why = ras_not_ready();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, shell("systemctl is-active --quiet rasdaemon.service"))
		TH_LOG("rasdaemon.service is not running");
	ASSERT_TRUE(wait_file_says(RAS_MF_ENABLE, "1", 60))
		TH_LOG("rasdaemon never enabled ras:memory_failure_event");
	if (!ras_wait_listening(RAS_START_WAIT)) {
		ras_show_state(_metadata);
		ASSERT_TRUE(false) TH_LOG("rasdaemon never opened its database");
	}
	TH_LOG("rasdaemon listening %ld s after boot", uptime());
}

FIXTURE_TEARDOWN(ras)
{
}

/*
 * One row per containment, from every entry point, with the page type and
 * result of the kernel's log line; a machine check is also recorded as
 * such, with its address. Soft offline, which contains a healthy page and
 * kills nobody, is not a memory failure and leaves no row. ras-mc-ctl
 * --summary counts the rows by result.
 */
TEST_F_TIMEOUT(ras, containments_recorded, 900)
{
	char seen[160], logged[160], needle[64];
	uint64_t hard[4], soft[2];
	int i, n, recovered = 0, rows;
	char *errors, *summary, *p;

	n = hard_offline_every_entry(hard, 60);
	ASSERT_LT(0, n) TH_LOG("entry %d failed", -n);
	soft[0] = hwp_free_pfn();
	ASSERT_EQ(0, hwp_sysfs_offline("soft", soft[0]));
	soft[1] = soft_offline_own_page();
	ASSERT_NE(0, soft[1]);
	for (i = 0; i < 2; i++)
		EXPECT_TRUE(hwp_wait_poisoned(soft[i], 5000));

	errors = ras_wait_rows(hard, n, 60);
	ASSERT_NE(NULL, errors);
	for (i = 0; i < n; i++) {
		rows = rows_for(errors, hard[i], seen, sizeof(seen));
		logged_outcome(hard[i], logged, sizeof(logged));
		EXPECT_EQ(1, rows) {
			TH_LOG("pfn %#llx: %d rows",
			       (unsigned long long)hard[i], rows);
			ras_show_db_errors(_metadata);
		}
		EXPECT_NE(0, logged[0]);
		EXPECT_STREQ(logged, seen) TH_LOG("pfn %#llx",
						  (unsigned long long)hard[i]);
	}
	/* The machine check itself is a record of its own, with its address. */
	if (hwp_host_present()) {
		snprintf(needle, sizeof(needle), "addr=%#llx",
			 (unsigned long long)hard[3] * hwp_page_size());
		EXPECT_NE(NULL, strstr(errors, needle)) TH_LOG("%s", errors);
	}
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, rows_for(errors, soft[i], seen, sizeof(seen)))
			TH_LOG("soft-offlined pfn %#llx recorded: %s",
			       (unsigned long long)soft[i], seen);
	}

	/* The summary counts every row by its result. */
	for (p = errors; (p = strstr(p, ", action_result=Recovered\n")); p++)
		recovered++;
	summary = capture("ras-mc-ctl --summary 2>&1");
	ASSERT_NE(NULL, summary);
	snprintf(needle, sizeof(needle), "\tRecovered errors: %d\n", recovered);
	EXPECT_NE(0, recovered);
	EXPECT_NE(NULL, strstr(summary, "Memory failure events summary:"))
		TH_LOG("%s", summary);
	EXPECT_NE(NULL, strstr(summary, needle)) TH_LOG("%s", summary);
	free(summary);
	free(errors);
}

/*
 * A burst of machine checks from the QEMU monitor: every containment
 * reaches rasdaemon's database, none is lost between the kernel, the trace
 * buffer and the daemon.
 */
TEST_F_TIMEOUT(ras, mce_burst, 1200)
{
	uint64_t pfns[BURST];
	char seen[160], logged[160];
	int i, once = 0, same = 0;
	char *errors;
	time_t end;

	if (!hwp_host_present())
		SKIP(return, "needs the host to inject machine checks");
	ASSERT_EQ(BURST, hwp_free_pfns(pfns, BURST));
	for (i = 0; i < BURST; i++)
		ASSERT_EQ(0, hwp_request_mce("srao", pfns[i]));
	/* The host injects them one after another, each once handled. */
	end = time(NULL) + 480;
	for (i = 0; i < BURST && time(NULL) < end; )
		if (hwp_pfn_poisoned(pfns[i]))
			i++;
		else
			usleep(100000);
	ASSERT_EQ(BURST, i) TH_LOG("pfn %#llx never poisoned",
				   (unsigned long long)pfns[i]);

	errors = ras_wait_rows(pfns, BURST, 180);
	ASSERT_NE(NULL, errors);
	for (i = 0; i < BURST; i++) {
		int rows = rows_for(errors, pfns[i], seen, sizeof(seen));

		if (rows == 1)
			once++;
		logged_outcome(pfns[i], logged, sizeof(logged));
		if (logged[0] && !strcmp(logged, seen))
			same++;
		else
			TH_LOG("pfn %#llx: %d rows, \"%s\", logged \"%s\"",
			       (unsigned long long)pfns[i], rows, seen, logged);
	}
	if (once != BURST) {
		TH_LOG("%s", errors);
		ras_show_db_errors(_metadata);
	}
	EXPECT_EQ(BURST, once);
	EXPECT_EQ(BURST, same);
	free(errors);
}

/*
 * Page isolation end to end: corrected errors in one page of a running
 * process, through the machine-check poller and EDAC, until rasdaemon's
 * threshold; rasdaemon soft-offlines the page through sysfs. The process
 * keeps every byte, is never signalled, and its page moves; the old page
 * is retired and counted, and rasdaemon's log says it offlined it.
 */
TEST_F_TIMEOUT(ras, page_isolation, 1200)
{
	long ps = hwp_page_size(), kb = ps / 1024, hc, ces;
	char needle[96], *journal;
	uint64_t pfn, now;
	int i;
	char *p;

	if (!hwp_host_present())
		SKIP(return, "needs the host to inject machine checks");
	if (access(CHECK_INTERVAL, W_OK))
		SKIP(return, "no machine-check poller");
	ASSERT_EQ(0, shell("modprobe hwp_edac"));
	ASSERT_EQ(0, access(EDAC_MC0, F_OK));
	/* An operator's setting: a low threshold, the packaged action. */
	ASSERT_EQ(0, shell("grep -q '^PAGE_CE_ACTION=\"soft\"' %s",
			   RAS_DEFAULT));
	ASSERT_EQ(0, shell("sed -i 's/^%s=.*/%s=\"%d\"/' %s",
			   "PAGE_CE_THRESHOLD", "PAGE_CE_THRESHOLD",
			   CE_THRESHOLD, RAS_DEFAULT));
	ASSERT_EQ(0, shell("systemctl restart rasdaemon.service"));
	ASSERT_TRUE(wait_file_says(RAS_INSTANCE "events/ras/mc_event/enable",
				   "1", 60));
	/* It read the new threshold. */
	snprintf(needle, sizeof(needle),
		 "Threshold of memory Corrected Errors is %d / 24h",
		 CE_THRESHOLD);
	ASSERT_TRUE(ras_journal_says(needle, 60));
	if (!ras_wait_listening(RAS_START_WAIT)) {
		ras_show_state(_metadata);
		ASSERT_TRUE(false) TH_LOG("rasdaemon never came back");
	}
	ASSERT_EQ(0, hwp_write_file(CHECK_INTERVAL, "1"));

	hwp_catch_sigbus();
	p = hwp_map_filled(1, 23, NULL);
	ASSERT_NE(NULL, p);
	pfn = hwp_virt_to_pfn(p);
	ASSERT_NE(0, pfn);
	hc = hwp_corrupted_kb();
	ASSERT_EQ(0, hwp_read_long(EDAC_MC0 "/ce_count", &ces));
	/*
	 * One at a time: an error that reaches the bank before the poller
	 * read the one before merges with it (QEMU sets the overflow bit),
	 * and the count falls short. On a busy host the poller's second
	 * can take longer than the host waits by itself.
	 */
	for (i = 1; i <= CE_THRESHOLD; i++) {
		ASSERT_EQ(0, hwp_request_mce("ce", pfn));
		ASSERT_TRUE(edac_counted(ces + i, 60))
			TH_LOG("corrected error %d never reached EDAC", i);
	}

	EXPECT_TRUE(hwp_wait_poisoned(pfn, 120000))
		TH_LOG("pfn %#llx never retired", (unsigned long long)pfn);
	EXPECT_TRUE(hwp_check(p, ps, 23));
	now = hwp_virt_to_pfn(p);
	EXPECT_NE(0, now);
	EXPECT_NE(pfn, now);
	EXPECT_EQ(0, hwp_sigbus_count());
	EXPECT_EQ(hc + kb, hwp_corrupted_kb());

	snprintf(needle, sizeof(needle),
		 "Result of offlining page at %#llx: offlined",
		 (unsigned long long)pfn * ps);
	if (!ras_journal_says(needle, 60)) {
		journal = capture(RAS_JOURNAL "cat | tail -40");
		EXPECT_TRUE(false) TH_LOG("no \"%s\" in:\n%s", needle,
					  journal ? journal : "");
		free(journal);
	}
	/* Nothing of it is a memory failure. */
	journal = ras_errors();
	ASSERT_NE(NULL, journal);
	EXPECT_EQ(0, rows_for(journal, pfn, needle, sizeof(needle)));
	free(journal);
	munmap(p, ps);
}

TEST_HARNESS_MAIN
