// SPDX-License-Identifier: GPL-2.0
/*
 * The soak's invariants, checked by the controller every few seconds
 * between two operations (nothing of its own in flight) and at the end:
 *
 * counter   HardwareCorrupted is 4 kB per poisoned pfn of /proc/kpageflags.
 *           A hugetlb folio reports PG_hwpoison of its head on all of its
 *           pfns, while the kernel counts the raw pages that took an error
 *           (6.12: one num_poisoned_pages_inc() per raw page), so a
 *           poisoned hugetlb folio counts once, at its head; the soak
 *           never offlines a second page of one. Once the folio is freed
 *           it is dissolved and the flag moves to the raw page.
 * buddy     no pfn is both KPF_HWPOISON and KPF_BUDDY: a poisoned page is
 *           never free again.
 * mapped    no worker maps a poisoned pfn. A THP that memory_failure()
 *           could not split keeps its poisoned subpage mapped (6.12:
 *           "unsplit thp: Failed", EHWPOISON, nobody signalled under late
 *           kill); the worker is told to drop that unit, as a touch would
 *           on hardware, and it is counted apart. Anything else that is
 *           still mapped after two more passes of its worker is a
 *           violation.
 * alive     every worker is alive and its pass counter keeps moving.
 */
#include "soak.h"

enum soak_inv { INV_COUNTER, INV_BUDDY, INV_MAPPED, INV_ALIVE, NR_SOAK_INV };

static const char * const inv_name[NR_SOAK_INV] = {
	"counter", "buddy", "mapped", "alive",
};

static struct {
	uint64_t checks, failed;
} inv[NR_SOAK_INV];

static int kpf_fd;
static uint64_t max_pfn;
static uint64_t *kpf;
static long last_poisoned = -1, last_hc_kb = -1;
static uint64_t unsplit_thp;
static uint64_t remerged;
static uint64_t scans;
static double scan_s;
static uint64_t last_beat[NR_SOAK_TYPES];
static double last_beat_at[NR_SOAK_TYPES];

int soak_pagemap_fd(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	return open(path, O_RDONLY);
}

uint64_t soak_pagemap(int fd, uintptr_t addr)
{
	uint64_t ent = 0;

	if (pread(fd, &ent, sizeof(ent), addr / hwp_page_size() *
		  sizeof(ent)) != sizeof(ent))
		return 0;
	return ent;
}

void soak_check_init(void)
{
	double now = soak_now();
	int t;

	kpf_fd = open("/proc/kpageflags", O_RDONLY);
	max_pfn = hwp_max_pfn();
	kpf = calloc(max_pfn, sizeof(*kpf));
	for (t = 0; t < NR_SOAK_TYPES; t++)
		last_beat_at[t] = now;
}

static void verdict(enum soak_inv i, bool ok)
{
	inv[i].checks++;
	if (!ok)
		inv[i].failed++;
}

/* Read all of /proc/kpageflags; return the poisoned pfns, as counted. */
static long scan(void)
{
	uint64_t pfn, f, chunk = 4096, n;
	double t0 = soak_now();
	long poisoned = 0;
	ssize_t got;

	for (pfn = 0; pfn < max_pfn; pfn += chunk) {
		n = max_pfn - pfn < chunk ? max_pfn - pfn : chunk;
		got = pread(kpf_fd, kpf + pfn, n * 8, pfn * 8);
		if (got != (ssize_t)(n * 8))
			memset(kpf + pfn, 0, n * 8);
	}
	for (pfn = 0; pfn < max_pfn; pfn++) {
		f = kpf[pfn];
		if (!(f & BIT_ULL(HWP_KPF_HWPOISON)))
			continue;
		if (!(f & BIT_ULL(KPF_HUGE)) ||
		    (f & BIT_ULL(KPF_COMPOUND_HEAD)))
			poisoned++;
	}
	scans++;
	scan_s += soak_now() - t0;
	return poisoned;
}

/*
 * The counter moves at the end of memory_failure(), after the flag: allow
 * it a moment to catch up before calling it wrong.
 */
static void check_counter(void)
{
	long poisoned = 0, hc = -1;
	int tries;

	for (tries = 0; tries < 5; tries++) {
		poisoned = scan();
		hc = hwp_corrupted_kb();
		if (hc == poisoned * (hwp_page_size() / 1024))
			break;
		usleep(300000);
	}
	last_poisoned = poisoned;
	last_hc_kb = hc;
	verdict(INV_COUNTER, tries < 5);
	if (tries == 5)
		soak_violation(V_COUNTER, "HardwareCorrupted %ld kB, but %ld poisoned "
			       "pfns in /proc/kpageflags", hc, poisoned);
}

static void check_buddy(void)
{
	uint64_t both = BIT_ULL(HWP_KPF_HWPOISON) | BIT_ULL(HWP_KPF_BUDDY);
	uint64_t pfn, seen[16], flags;
	int n = 0, i, bad = 0;

	for (pfn = 0; pfn < max_pfn && n < 16; pfn++)
		if ((kpf[pfn] & both) == both)
			seen[n++] = pfn;
	if (!n) {
		verdict(INV_BUDDY, true);
		return;
	}
	/* Seen mid-update? Look again once things settled. */
	usleep(200000);
	for (i = 0; i < n; i++) {
		flags = hwp_kpageflags(seen[i]);
		if ((flags & both) != both)
			continue;
		bad++;
		soak_violation(V_BUDDY, "pfn %#llx is poisoned and free (kpageflags "
			       "%#llx)", (unsigned long long)seen[i],
			       (unsigned long long)flags);
	}
	verdict(INV_BUDDY, !bad);
}

/* Wait (bounded) for worker @w to finish two more passes. */
static void wait_passes(struct soak_worker *w)
{
	uint64_t want = __atomic_load_n(&w->heartbeat, __ATOMIC_SEQ_CST) + 2;
	double deadline = soak_now() + 60;

	while (__atomic_load_n(&w->heartbeat, __ATOMIC_SEQ_CST) < want &&
	       soak_now() < deadline)
		usleep(20000);
}

static void drop_unit(struct soak_worker *w, int unit)
{
	uint64_t seq = w->req_seq + 1;
	double deadline = soak_now() + 30;

	w->req = REQ_DROP;
	w->req_unit = unit;
	w->req_len = 1;
	w->req_sub = 0;
	__atomic_store_n(&w->req_seq, seq, __ATOMIC_RELEASE);
	while (__atomic_load_n(&w->resp_seq, __ATOMIC_ACQUIRE) != seq &&
	       soak_now() < deadline)
		usleep(1000);
}

/*
 * A KSM page the soak hard-offlined, mapped again: memory_failure()
 * unmapped it everywhere, but it stays in ksmd's stable tree, and ksmd
 * merges new pages of the same content into it (6.12 checks no
 * PG_hwpoison there). Reported once per pfn.
 */
static bool ksm_remerged(struct soak_worker *w, size_t i, uint64_t pfn)
{
	static uint64_t seen[64];
	static int nseen;
	int j;

	if (!(hwp_kpageflags(pfn) & BIT_ULL(KPF_KSM)) ||
	    !soak_hard_contains(pfn))
		return false;
	remerged++;
	for (j = 0; j < nseen; j++)
		if (seen[j] == pfn)
			return true;
	if (nseen < 64)
		seen[nseen++] = pfn;
	soak_violation(V_KSM_REMERGE, "%s: hard-offlined KSM page %#llx "
		       "mapped again at unit %zu (kpageflags %#llx)",
		       soak_type_name[w->type], (unsigned long long)pfn,
		       i * hwp_page_size() / w->unit,
		       (unsigned long long)hwp_kpageflags(pfn));
	return true;
}

static bool check_mapped_worker(struct soak_worker *w, int fd)
{
	static uint64_t ents[4096];
	long ps = hwp_page_size();
	size_t n = w->nunits * w->unit / ps, i, seen[16];
	uint64_t pfn, ent;
	int nseen = 0, j;
	bool ok = true;

	if (pread(fd, ents, n * 8, w->base / ps * 8) != (ssize_t)(n * 8))
		return true;	/* the worker is gone: "alive" says so */
	for (i = 0; i < n && nseen < 16; i++) {
		if (!(ents[i] & HWP_PM_PRESENT))
			continue;
		pfn = ents[i] & HWP_PM_PFN_MASK;
		if (pfn >= max_pfn || !(kpf[pfn] & BIT_ULL(HWP_KPF_HWPOISON)))
			continue;
		if (ksm_remerged(w, i, pfn)) {
			ok = false;
			continue;
		}
		if (hwp_kpageflags(pfn) & BIT_ULL(KPF_THP)) {
			unsplit_thp++;
			drop_unit(w, i * ps / w->unit);
			continue;
		}
		seen[nseen++] = i;
	}
	if (!nseen)
		return true;
	/* Give the owner two passes to meet it, then look again. */
	wait_passes(w);
	for (j = 0; j < nseen; j++) {
		i = seen[j];
		pfn = ents[i] & HWP_PM_PFN_MASK;
		ent = soak_pagemap(fd, w->base + i * ps);
		if (!(ent & HWP_PM_PRESENT) ||
		    (ent & HWP_PM_PFN_MASK) != pfn || !hwp_pfn_poisoned(pfn))
			continue;
		ok = false;
		soak_violation(V_MAPPED, "%s: poisoned pfn %#llx still mapped at unit "
			       "%zu page %zu (kpageflags %#llx, mark %#llx)",
			       soak_type_name[w->type],
			       (unsigned long long)pfn, i * ps / w->unit,
			       i % (w->unit / ps),
			       (unsigned long long)hwp_kpageflags(pfn),
			       (unsigned long long)w->marks[i * ps / w->unit]);
	}
	return ok;
}

static void check_mapped(void)
{
	bool ok = true;
	int t, fd;

	for (t = 0; t < NR_SOAK_TYPES; t++) {
		/* A reaped worker's pid may name another process by now. */
		if (soak->w[t].gone)
			continue;
		fd = soak_pagemap_fd(soak->w[t].pid);
		if (fd < 0)
			continue;
		ok &= check_mapped_worker(&soak->w[t], fd);
		close(fd);
	}
	verdict(INV_MAPPED, ok);
}

static void check_alive(void)
{
	double now = soak_now();
	bool ok = true;
	uint64_t beat;
	int t, status;

	for (t = 0; t < NR_SOAK_TYPES; t++) {
		struct soak_worker *w = &soak->w[t];

		/* Reaped: said once, failed at every check from then on. */
		if (w->gone) {
			ok = false;
			continue;
		}
		status = 0;
		if (waitpid(w->pid, &status, WNOHANG)) {
			w->gone = true;
			ok = false;
			soak_violation(V_ALIVE, "%s: worker gone (status %#x)",
				       soak_type_name[t], status);
			continue;
		}
		beat = __atomic_load_n(&soak->w[t].heartbeat,
				       __ATOMIC_SEQ_CST);
		if (beat != last_beat[t]) {
			last_beat[t] = beat;
			last_beat_at[t] = now;
		} else if (now - last_beat_at[t] > 120) {
			ok = false;
			soak_violation(V_ALIVE, "%s: no pass finished in %.0f s",
				       soak_type_name[t],
				       now - last_beat_at[t]);
		}
	}
	verdict(INV_ALIVE, ok);
}

/* One round of checks; returns the violations it found. */
int soak_check(bool final, bool workers_alive)
{
	uint64_t before = __atomic_load_n(&soak->violations, __ATOMIC_SEQ_CST);

	check_counter();
	check_buddy();
	if (workers_alive) {
		check_mapped();
		check_alive();
	}
	if (final) {
		const char *when = workers_alive ? "final" : "after_exit";

		printf("check.%s.poisoned_pfns %ld\n", when, last_poisoned);
		printf("check.%s.hardware_corrupted_kb %ld\n", when,
		       last_hc_kb);
	}
	return __atomic_load_n(&soak->violations, __ATOMIC_SEQ_CST) - before;
}

void soak_check_report(void)
{
	uint64_t checks = 0, failed = 0;
	int i;

	for (i = 0; i < NR_SOAK_INV; i++) {
		printf("inv.%s.checks %llu\ninv.%s.failed %llu\n", inv_name[i],
		       (unsigned long long)inv[i].checks, inv_name[i],
		       (unsigned long long)inv[i].failed);
		checks += inv[i].checks;
		failed += inv[i].failed;
	}
	printf("inv.checks %llu\ninv.failed %llu\n",
	       (unsigned long long)checks, (unsigned long long)failed);
	printf("inv.mapped.unsplit_thp_dropped %llu\n",
	       (unsigned long long)unsplit_thp);
	printf("inv.mapped.ksm_remerged_units %llu\n",
	       (unsigned long long)remerged);
	printf("poisoned_pfns %ld\nhardware_corrupted_kb %ld\n",
	       last_poisoned, last_hc_kb);
	printf("check.kpageflags_scans %llu\ncheck.scan_ms_avg %.0f\n",
	       (unsigned long long)scans, scans ? scan_s * 1000 / scans : 0);
}
