// SPDX-License-Identifier: GPL-2.0
/*
 * make soak: checksummed data in every page type the suite covers while
 * compaction, khugepaged, ksmd and swap pressure run, and a seeded random
 * stream of hard offline (injector, sysfs, MADV_HWPOISON, machine checks
 * from the host), soft offline (sysfs, madvise, ranges) and unpoison, with
 * fuzzed inputs spread through it.
 *
 *   soak -m <minutes> -s <seed>
 *
 * One controller (this process), one worker per page type (soak_worker.c),
 * one background process (compaction). The controller picks victims from
 * the workers' pagemaps and records, in shared memory, which pfn of which
 * unit it is about to hard-offline before it does. It checks the
 * invariants (soak_check.c) every few seconds and at the end, and prints
 * its figures as "key value" lines, then "SOAK PASS" or "SOAK FAIL <why>".
 */
#include <getopt.h>
#include "soak.h"

#define CHECK_EVERY	10.0	/* seconds between invariant checks */
#define COMPACT_EVERY	3	/* seconds between compactions */
#define OP_GAP_US	100000	/* pause between two stream operations */
#define FUZZ_PER_30MIN	100000
#define FUZZ_BURST	20	/* fuzzed inputs between two operations */

struct soak_shared *soak;

const char * const soak_type_name[NR_SOAK_TYPES] = {
	"anon", "thp", "shmem", "file_clean", "file_dirty", "hugetlb", "ksm",
	"swap",
};

const char * const soak_op_name[NR_SOAK_OPS] = {
	"hard_inject", "hard_sysfs", "hard_madvise", "hard_mce", "soft_sysfs",
	"soft_madvise", "soft_range", "unpoison", "fuzz_inject",
	"fuzz_unpoison", "fuzz_hard_sysfs", "fuzz_soft_sysfs", "fuzz_madvise",
	"fuzz_junk", "compact", "pageout", "fsync", "hugetlb_map", "punch",
};

/*
 * What each stream operation may return. Hard offline of a page in use:
 * 0 (recovered or delayed), EBUSY (memory_failure() could not handle it:
 * ignored or failed), EHWPOISON (already poisoned, or a THP that would not
 * split). Soft offline: 0, EBUSY (isolation or migration failed), ENOMEM,
 * EIO. Unpoison: 0, EBUSY (still mapped, referenced or in a mapping, or
 * not poisoned any more); EOPNOTSUPP once a real machine check was
 * handled (6.12 disables unpoison for the rest of the boot).
 */
static const int ok_hard[] = { 0, -EBUSY, -EHWPOISON };
static const int ok_soft[] = { 0, -EBUSY, -ENOMEM, -EIO };
static const int ok_unpoison[] = { 0, -EBUSY };
static const int ok_unpoison_mce[] = { 0, -EBUSY, -EOPNOTSUPP };

/* Weights of the stream's operations; fuzzing runs on its own clock. */
static const int op_weight[] = {
	[OP_HARD_INJECT] = 20, [OP_HARD_SYSFS] = 12, [OP_HARD_MADV] = 10,
	[OP_HARD_MCE] = 4, [OP_SOFT_SYSFS] = 14, [OP_SOFT_MADV] = 10,
	[OP_SOFT_RANGE] = 6, [OP_UNPOISON] = 14,
};

/*
 * How often each worker is the victim. A hugetlb loss costs a whole huge
 * page, which poisoned pfns scattered over memory make ever harder to
 * replace: a quarter of the others' share.
 */
static const int worker_weight[NR_SOAK_TYPES] = {
	[T_ANON] = 4, [T_THP] = 4, [T_SHMEM] = 4, [T_FILE_CLEAN] = 4,
	[T_FILE_DIRTY] = 4, [T_HUGETLB] = 1, [T_KSM] = 4, [T_SWAP] = 4,
};

static struct soak_rng stream;
static int pm_fds[NR_SOAK_TYPES];
static pid_t bg_pid;
static bool mce_allowed;
/* pfns the stream offlined, hard or soft: what unpoison picks from. */
static uint64_t offlined[SOAK_MAX_HARD];
static int nofflined;
static int violations_printed;

const char * const soak_vkind_name[NR_SOAK_VKINDS] = {
	"errno", "sigbus", "sigbus.clean_file_kept", "data", "eio", "counter", "buddy", "mapped",
	"mapped.ksm_remerge", "alive", "worker", "mce",
};

/* "VIOLATION <kind> <what>" on the test port, and counted. */
void soak_violation(enum soak_vkind kind, const char *fmt, ...)
{
	char line[400];
	va_list ap;
	int n;

	__atomic_add_fetch(&soak->violations, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&soak->vkind[kind], 1, __ATOMIC_SEQ_CST);
	/* Each process prints its first 40; the count has them all. */
	if (violations_printed++ >= 40)
		return;
	n = snprintf(line, sizeof(line), "VIOLATION %s ",
		     soak_vkind_name[kind]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	if (write(1, line, n) < 0)
		return;
}

/* Count one attempt of @op that returned @err (0 or -errno). */
void soak_count(enum soak_op op, int err, const int *ok, int nok)
{
	struct soak_opstat *s = &soak->op[op];
	bool fine = false;
	int i;

	for (i = 0; i < nok; i++)
		fine |= ok[i] == err;
	__atomic_add_fetch(&s->attempts, 1, __ATOMIC_RELAXED);
	if (!err)
		__atomic_add_fetch(&s->ok, 1, __ATOMIC_RELAXED);
	else if (-err < SOAK_MAX_ERRNO)
		__atomic_add_fetch(&s->err[-err], 1, __ATOMIC_RELAXED);
	if (!fine) {
		__atomic_add_fetch(&s->unexpected, 1, __ATOMIC_RELAXED);
		soak_violation(V_ERRNO, "%s returned %s (%d), which it does not document",
			       soak_op_name[op], err ? strerror(-err) : "0",
			       err);
	}
}

bool soak_hard_contains(uint64_t pfn)
{
	int i, n = __atomic_load_n(&soak->nhard, __ATOMIC_SEQ_CST);

	for (i = 0; i < n; i++)
		if (__atomic_load_n(&soak->hard[i], __ATOMIC_SEQ_CST) == pfn)
			return true;
	return false;
}

void soak_hard_add(uint64_t pfn)
{
	int n = __atomic_load_n(&soak->nhard, __ATOMIC_SEQ_CST);

	if (n >= SOAK_MAX_HARD || soak_hard_contains(pfn))
		return;
	__atomic_store_n(&soak->hard[n], pfn, __ATOMIC_SEQ_CST);
	__atomic_store_n(&soak->nhard, n + 1, __ATOMIC_SEQ_CST);
}

static void offlined_add(uint64_t pfn)
{
	if (nofflined < SOAK_MAX_HARD)
		offlined[nofflined++] = pfn;
}

/*
 * The pfn behind page @sub of unit @i of worker @w, if it is a page the
 * stream may offline: present, mapped, not the zero page, not poisoned.
 */
static uint64_t victim_pfn(struct soak_worker *w, int i, int sub)
{
	uintptr_t addr = w->base + (size_t)i * w->unit +
			 (size_t)sub * hwp_page_size();
	uint64_t ent = soak_pagemap(pm_fds[w->type], addr), pfn, flags;

	if (!(ent & HWP_PM_PRESENT))
		return 0;
	pfn = ent & HWP_PM_PFN_MASK;
	flags = hwp_kpageflags(pfn);
	if (flags == ~0ULL || !(flags & BIT_ULL(KPF_MMAP)) ||
	    (flags & (BIT_ULL(KPF_ZERO_PAGE) | BIT_ULL(HWP_KPF_HWPOISON))))
		return 0;
	return pfn;
}

/* Ask worker @w to run @req on its own memory; 0, errno, or -1. */
static int ask(struct soak_worker *w, int req, int unit, int len, int sub,
	       int *sig)
{
	uint64_t seq = w->req_seq + 1;
	double deadline = soak_now() + 30;

	/* Dead, and already reported: no one to wait 30 s for. */
	if (w->gone)
		return -1;
	w->req = req;
	w->req_unit = unit;
	w->req_len = len;
	w->req_sub = sub;
	__atomic_store_n(&w->req_seq, seq, __ATOMIC_RELEASE);
	while (__atomic_load_n(&w->resp_seq, __ATOMIC_ACQUIRE) != seq) {
		if (soak_now() > deadline) {
			soak_violation(V_WORKER, "%s: no answer to a request in 30 s",
				       soak_type_name[w->type]);
			return -1;
		}
		usleep(1000);
	}
	*sig = w->resp_sig;
	return w->resp_err;
}

/*
 * Hard offline of one unit: mark it and record the pfn first, then do it.
 * If the pfn did not end up poisoned nothing will happen to the unit, and
 * the mark goes again.
 */
static void op_hard(enum soak_op op, struct soak_worker *w, int i, int sub)
{
	uint64_t pfn = victim_pfn(w, i, sub), want;
	int err, sig = 0;

	if (!pfn) {
		soak->op[op].skipped++;
		return;
	}
	want = 0;
	if (!__atomic_compare_exchange_n(&w->marks[i], &want, pfn, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		soak->op[op].skipped++;	/* a loss still pending there */
		return;
	}
	soak_hard_add(pfn);
	offlined_add(pfn);
	switch (op) {
	case OP_HARD_INJECT:
		err = hwp_inject_pfn(pfn);
		break;
	case OP_HARD_SYSFS:
		err = hwp_sysfs_offline("hard", pfn);
		break;
	case OP_HARD_MADV:
		err = ask(w, REQ_HWPOISON, i, 1, sub, &sig);
		if (err < 0) {
			soak->op[op].skipped++;
			return;
		}
		err = -err;
		break;
	default:
		err = hwp_request_mce("srao", pfn);
		if (!err && !hwp_wait_poisoned(pfn, 30000)) {
			soak_violation(V_MCE, "machine check at pfn %#llx not handled "
				       "in 30 s", (unsigned long long)pfn);
			err = -ETIMEDOUT;
		}
		if (!err)
			__atomic_store_n(&soak->mce_done, 1, __ATOMIC_SEQ_CST);
		break;
	}
	soak_count(op, err, ok_hard, ARRAY_SIZE(ok_hard));
	if (!hwp_pfn_poisoned(pfn))
		__atomic_compare_exchange_n(&w->marks[i], &pfn, 0, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Soft offline: nobody may be signalled, no byte may change. */
static void op_soft(enum soak_op op, struct soak_worker *w, int i, int sub)
{
	uint64_t pfn = victim_pfn(w, i, sub);
	int err, sig = 0, len = 1;

	if (!pfn) {
		soak->op[op].skipped++;
		return;
	}
	if (op == OP_SOFT_SYSFS) {
		err = hwp_sysfs_offline("soft", pfn);
	} else {
		if (op == OP_SOFT_RANGE)
			len = w->type == T_HUGETLB ? 1 :
			      2 + soak_below(&stream, 15);
		err = ask(w, REQ_SOFT, i, len, sub, &sig);
		if (err < 0) {
			soak->op[op].skipped++;
			return;
		}
		err = -err;
	}
	soak_count(op, err, ok_soft, ARRAY_SIZE(ok_soft));
	if (hwp_pfn_poisoned(pfn))
		offlined_add(pfn);
}

static void op_unpoison(void)
{
	uint64_t pfn;
	int err;

	if (!nofflined) {
		soak->op[OP_UNPOISON].skipped++;
		soak_rand(&stream);
		return;
	}
	pfn = offlined[soak_below(&stream, nofflined)];
	err = hwp_unpoison_pfn(pfn);
	if (__atomic_load_n(&soak->mce_done, __ATOMIC_SEQ_CST))
		soak_count(OP_UNPOISON, err, ok_unpoison_mce,
			   ARRAY_SIZE(ok_unpoison_mce));
	else
		soak_count(OP_UNPOISON, err, ok_unpoison,
			   ARRAY_SIZE(ok_unpoison));
}

/*
 * One operation of the stream. Every draw is made whatever happens next,
 * so that the same seed gives the same sequence of (operation, worker,
 * unit, page) whatever the kernel answered.
 */
static void stream_op(void)
{
	uint64_t r = soak_below(&stream, 90), rw = soak_below(&stream, 29);
	int op, w, i, sub;
	struct soak_worker *wk;

	for (w = 0; w < NR_SOAK_TYPES - 1; w++) {
		if (rw < (uint64_t)worker_weight[w])
			break;
		rw -= worker_weight[w];
	}
	wk = &soak->w[w];

	i = soak_below(&stream, wk->nunits);
	sub = wk->type == T_HUGETLB ? soak_below(&stream, SOAK_HPAGE_PAGES) : 0;
	for (op = 0; op < (int)ARRAY_SIZE(op_weight); op++) {
		if (r < (uint64_t)op_weight[op])
			break;
		r -= op_weight[op];
	}
	/* Machine checks end unpoison for the boot: second half only. */
	if (op == OP_HARD_MCE && !mce_allowed)
		op = OP_HARD_INJECT;
	switch (op) {
	case OP_HARD_INJECT:
	case OP_HARD_SYSFS:
	case OP_HARD_MADV:
	case OP_HARD_MCE:
		op_hard(op, wk, i, sub);
		break;
	case OP_UNPOISON:
		op_unpoison();
		break;
	default:
		op_soft(op, wk, i, sub);
		break;
	}
}

static void background(void)
{
	while (!__atomic_load_n(&soak->stop, __ATOMIC_SEQ_CST)) {
		soak_count(OP_COMPACT, hwp_write_file("/proc/sys/vm/"
						      "compact_memory", "1"),
			   (const int[]){ 0 }, 1);
		sleep(COMPACT_EVERY);
	}
	_exit(0);
}

static int start_workers(void)
{
	double deadline;
	pid_t pid;
	int t;

	bg_pid = fork();
	if (bg_pid == 0)
		background();
	for (t = 0; t < NR_SOAK_TYPES; t++) {
		soak->w[t].type = t;
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0)
			soak_worker_main(&soak->w[t]);
		soak->w[t].pid = pid;
	}
	deadline = soak_now() + 120;
	for (t = 0; t < NR_SOAK_TYPES; t++) {
		while (!__atomic_load_n(&soak->w[t].ready, __ATOMIC_SEQ_CST)) {
			if (soak_now() > deadline ||
			    waitpid(soak->w[t].pid, NULL, WNOHANG))
				return -ECHILD;
			usleep(20000);
		}
		pm_fds[t] = soak_pagemap_fd(soak->w[t].pid);
		if (pm_fds[t] < 0)
			return -errno;
	}
	return 0;
}

/* Stop the workers; each makes one last full pass first. */
static void stop_workers(void)
{
	double deadline = soak_now() + 300;
	int t, status;
	pid_t pid;

	__atomic_store_n(&soak->stop, 1, __ATOMIC_SEQ_CST);
	for (t = 0; t < NR_SOAK_TYPES; t++) {
		/* Already reaped and reported; its pid is not ours to kill. */
		if (soak->w[t].gone)
			continue;
		while (!(pid = waitpid(soak->w[t].pid, &status, WNOHANG)) &&
		       soak_now() < deadline)
			usleep(20000);
		if (pid != soak->w[t].pid) {
			soak_violation(V_WORKER, "%s: did not stop", soak_type_name[t]);
			kill(soak->w[t].pid, SIGKILL);
			waitpid(soak->w[t].pid, &status, 0);
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			soak_violation(V_WORKER, "%s: ended with status %#x",
				       soak_type_name[t], status);
		}
	}
	kill(bg_pid, SIGKILL);
	waitpid(bg_pid, NULL, 0);
}

static void print_ops(void)
{
	const char *name;
	int o, e;

	for (o = 0; o < NR_SOAK_OPS; o++) {
		struct soak_opstat *s = &soak->op[o];

		printf("op.%s.attempts %llu\n", soak_op_name[o],
		       (unsigned long long)s->attempts);
		printf("op.%s.ok %llu\n", soak_op_name[o],
		       (unsigned long long)s->ok);
		if (s->skipped)
			printf("op.%s.skipped %llu\n", soak_op_name[o],
			       (unsigned long long)s->skipped);
		for (e = 1; e < SOAK_MAX_ERRNO; e++) {
			if (!s->err[e])
				continue;
			name = strerrorname_np(e);
			printf("op.%s.%s %llu\n", soak_op_name[o],
			       name ? name : "E?", (unsigned long long)s->err[e]);
		}
		printf("op.%s.unexpected %llu\n", soak_op_name[o],
		       (unsigned long long)s->unexpected);
	}
}

static void print_workers(void)
{
	uint64_t bytes = 0, sig_exp = 0, sig_unexp = 0;
	int t;

	for (t = 0; t < NR_SOAK_TYPES; t++) {
		struct soak_worker *w = &soak->w[t];
		const char *n = soak_type_name[t];

		printf("worker.%s.units %d\n", n, w->nunits);
		printf("worker.%s.passes %llu\n", n,
		       (unsigned long long)w->heartbeat);
		printf("worker.%s.bytes_verified %llu\n", n,
		       (unsigned long long)w->bytes_verified);
		printf("worker.%s.rewrites %llu\n", n,
		       (unsigned long long)w->rewrites);
		printf("worker.%s.units_lost %llu\n", n,
		       (unsigned long long)w->units_lost);
		printf("worker.%s.sigbus_expected %llu\n", n,
		       (unsigned long long)w->sig_expected);
		printf("worker.%s.sigbus_unexpected %llu\n", n,
		       (unsigned long long)w->sig_unexpected);
		printf("worker.%s.data_lost %llu\n", n,
		       (unsigned long long)w->data_lost);
		printf("worker.%s.ao_unjudged %llu\n", n,
		       (unsigned long long)w->ao_unjudged);
		printf("worker.%s.sigbus_swap_shared %llu\n", n,
		       (unsigned long long)w->sig_swap_shared);
		if (t == T_FILE_DIRTY) {
			printf("worker.%s.lost_silent %llu\n", n,
			       (unsigned long long)w->lost_silent);
			printf("worker.%s.fsync_eio_expected %llu\n", n,
			       (unsigned long long)w->eio_expected);
			printf("worker.%s.fsync_eio_unexpected %llu\n", n,
			       (unsigned long long)w->eio_unexpected);
		}
		bytes += w->bytes_verified;
		sig_exp += w->sig_expected;
		sig_unexp += w->sig_unexpected;
	}
	printf("bytes_verified %llu\n", (unsigned long long)bytes);
	printf("sigbus.expected %llu\n", (unsigned long long)sig_exp);
	printf("sigbus.unexpected %llu\n", (unsigned long long)sig_unexp);
}

/* A long-running vmstat counter, for the background figures. */
static long vmstat(const char *key)
{
	size_t len = strlen(key);
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ')
			v = strtol(line + len + 1, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void print_background(void)
{
	static const char * const keys[] = {
		"thp_fault_alloc", "thp_collapse_alloc", "thp_split_page",
		"compact_stall", "compact_success", "compact_migrate_scanned",
		"pgmigrate_success", "pswpin", "pswpout",
	};
	long v;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		printf("vmstat.%s %ld\n", keys[i], vmstat(keys[i]));
	if (!hwp_read_long("/sys/kernel/mm/ksm/full_scans", &v))
		printf("ksm.full_scans %ld\n", v);
	if (!hwp_read_long("/sys/kernel/mm/transparent_hugepage/khugepaged/"
			   "full_scans", &v))
		printf("khugepaged.full_scans %ld\n", v);
}

static int parse_args(int argc, char **argv, double *minutes, uint64_t *seed)
{
	int c;

	while ((c = getopt(argc, argv, "m:s:")) != -1) {
		if (c == 'm')
			*minutes = strtod(optarg, NULL);
		else if (c == 's')
			*seed = strtoull(optarg, NULL, 0);
		else
			return -1;
	}
	return *minutes > 0 ? 0 : -1;
}

static int soak_setup(uint64_t seed)
{
	int err;

	soak = mmap(NULL, sizeof(*soak), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (soak == MAP_FAILED)
		return -ENOMEM;
	memset(soak, 0, sizeof(*soak));
	soak->seed = seed;
	if (!hwp_have_debugfs_injector() || access(SOAK_DISK, W_OK))
		return -ENODEV;
	err = soak_worker_setup_system();
	if (err)
		return err;
	soak_check_init();
	soak_fuzz_init(seed);
	soak_rng_init(&stream, seed, 1);
	return start_workers();
}

/* The run proper: the stream, the fuzzing and the periodic checks. */
static void run(double minutes, long fuzz_total)
{
	double t0 = soak_now(), end = t0 + minutes * 60;
	double next_check = t0 + CHECK_EVERY, now;
	long fuzzed = 0, due;

	while ((now = soak_now()) < end) {
		mce_allowed = hwp_host_present() && now - t0 >= (end - t0) / 2;
		due = fuzz_total * (now - t0) / (end - t0);
		if (due > fuzzed) {
			due = due - fuzzed < FUZZ_BURST ? due : fuzzed + FUZZ_BURST;
			soak_fuzz(due - fuzzed);
			fuzzed = due;
		}
		if (now >= next_check) {
			soak_check(false, true);
			next_check = soak_now() + CHECK_EVERY;
		}
		stream_op();
		usleep(OP_GAP_US);
	}
	if (fuzzed < fuzz_total)
		soak_fuzz(fuzz_total - fuzzed);
	soak_fuzz_done();
	printf("soak.elapsed_s %.0f\n", soak_now() - t0);
}

int main(int argc, char **argv)
{
	double minutes = 0;
	uint64_t seed = 1;
	long fuzz_total;
	int err, answer;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_args(argc, argv, &minutes, &seed)) {
		fprintf(stderr, "usage: soak -m minutes [-s seed]\n");
		return 2;
	}
	fuzz_total = FUZZ_PER_30MIN * minutes / 30;
	printf("soak.seed %llu\nsoak.minutes %g\nsoak.fuzz_planned %ld\n",
	       (unsigned long long)seed, minutes, fuzz_total);
	err = soak_setup(seed);
	if (err) {
		printf("SOAK FAIL setup: %s\n", strerror(-err));
		return 1;
	}
	run(minutes, fuzz_total);
	/* The last check with the workers still running, then without. */
	soak_check(true, true);
	stop_workers();
	soak_check(true, false);
	answer = system("true");
	printf("machine.answers %d\n", answer == 0);
	print_ops();
	print_workers();
	print_background();
	soak_check_report();
	for (err = 0; err < NR_SOAK_VKINDS; err++)
		if (soak->vkind[err])
			printf("violations.%s %llu\n", soak_vkind_name[err],
			       (unsigned long long)soak->vkind[err]);
	printf("violations %llu\n", (unsigned long long)soak->violations);
	if (answer)
		printf("SOAK FAIL the machine no longer runs a program\n");
	else if (soak->violations)
		printf("SOAK FAIL %llu invariant violation(s)\n",
		       (unsigned long long)soak->violations);
	else
		printf("SOAK PASS\n");
	return answer || soak->violations ? 1 : 0;
}
