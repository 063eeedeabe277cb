// SPDX-License-Identifier: GPL-2.0
/*
 * Whom memory failure signals, and when: the kill targeting of 6.12.
 *
 * The victims are child processes with one to three threads that map a
 * page and wait for commands; the test poisons the page from outside
 * through the debugfs injector, as a machine check on another CPU would,
 * then has a chosen thread touch the page. Every SIGBUS a victim gets is
 * recorded by its handler with the receiving thread's id, in a shared
 * page that the test reads once the victims are gone.
 *
 * What 6.12 does (mm/memory-failure.c):
 * - An outside error is action optional. collect_procs() picks, in each
 *   process that maps the page, one thread by find_early_kill_thread():
 *   the first thread, in thread-list order (the main thread first), that
 *   either set PR_MCE_KILL_EARLY itself, or set no policy of its own
 *   while vm.memory_failure_early_kill is 1. A thread that set
 *   PR_MCE_KILL_LATE is skipped. kill_proc() sends that one thread
 *   BUS_MCEERR_AO (send_sig_mceerr(), thread-directed), provided the page
 *   was dirty: a clean page cache page is just dropped, nobody signalled.
 * - The page is unmapped everywhere, and whoever touches it later faults
 *   on the hwpoison entry: BUS_MCEERR_AR to the touching thread only.
 * - lsb is the shift of the folio's size at the time of the kill: 12 once
 *   a THP is split, 21 if it cannot be.
 */
#include <poll.h>
#include <pthread.h>
#include "hwpoison_util.h"
#include "../kselftest_harness.h"

HWP_SIGBUS_STATE;

#define MAX_THREADS	3
#define MAX_SIGS	8
#define NPAGES		4
#define EARLY_KILL	"/proc/sys/vm/memory_failure_early_kill"
#define DISK_FILE	"/mnt/disk/hwpoison-kill.dat"
#define SEED		40	/* page i of a mapping holds SEED + i */
#define DIRTY_SEED	90	/* the target of a dirty file page */
#define KSM_SEED	123

/* The PR_MCE_KILL policy a thread sets on itself. */
enum policy { POL_NONE, POL_EARLY, POL_LATE };

/* What a victim maps. */
enum kind {
	ANON,		/* private anonymous, four pages */
	THP,		/* one anonymous THP */
	THP_PINNED,	/* the same, long-term pinned: it cannot be split */
	MLOCKED,	/* private anonymous, mlock()ed */
	KSM_PAGE,	/* one private page with KSM's help merged */
	SHARED_FD,	/* MAP_SHARED of the fixture's shmem or disk file */
};

/* Outcome of a thread's touch of the target. */
enum touch { T_NONE, T_SIGBUS, T_INTACT, T_CORRUPT };

struct sig_rec {
	int code;
	int tid;
	int lsb;
	uintptr_t addr;
};

/* One victim process, as it reports itself. */
struct report {
	pid_t pid;
	uintptr_t target;
	uint64_t pfn;
	int is_thp;
	int tid[MAX_THREADS];
	int policy_err;
	int nsig;
	struct sig_rec sig[MAX_SIGS];
	int touch[MAX_THREADS];
	int done;
};

struct spec {
	enum kind kind;
	int nthreads;
	enum policy pol[MAX_THREADS];
	unsigned int seed;	/* what the target page holds */
};

/* The test's handle on a victim: its pipes and its report. */
struct victim {
	struct spec s;
	struct report *r;
	int up[2];			/* victim -> test: ready */
	int cmd[MAX_THREADS][2];	/* test -> thread i: 't'ouch, 'q'uit */
	pid_t pid;			/* if it is our child */
};

/* In a victim process. */
static struct report *me;
static const char *me_target;
static unsigned int me_seed;
static __thread sigjmp_buf touch_jmp;
static __thread int touch_armed;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int i = __atomic_fetch_add(&me->nsig, 1, __ATOMIC_SEQ_CST);

	(void)sig;
	(void)uc;
	if (i < MAX_SIGS) {
		me->sig[i].code = si->si_code;
		me->sig[i].tid = syscall(SYS_gettid);
		me->sig[i].lsb = si->si_addr_lsb;
		me->sig[i].addr = (uintptr_t)si->si_addr;
	}
	if (touch_armed) {
		touch_armed = 0;
		siglongjmp(touch_jmp, 1);
	}
	/* An action-required error outside a touch would repeat forever. */
	if (si->si_code == BUS_MCEERR_AR)
		_exit(20);
}

static void touch(int idx)
{
	if (sigsetjmp(touch_jmp, 1)) {
		me->touch[idx] = T_SIGBUS;
		return;
	}
	touch_armed = 1;
	(void)__atomic_load_n(me_target, __ATOMIC_SEQ_CST);
	touch_armed = 0;
	me->touch[idx] = hwp_check(me_target, hwp_page_size(), me_seed) ?
			 T_INTACT : T_CORRUPT;
}

static int set_policy(enum policy p)
{
	if (p == POL_NONE)
		return prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0);
	return prctl(PR_MCE_KILL, PR_MCE_KILL_SET,
		     p == POL_EARLY ? PR_MCE_KILL_EARLY : PR_MCE_KILL_LATE,
		     0, 0);
}

/* A thread's life: its policy, then commands until 'q'. */
static void thread_loop(struct victim *v, int idx)
{
	char c;
	ssize_t n;

	for (;;) {
		n = read(v->cmd[idx][0], &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1 || c == 'q')
			break;
		if (c == 't')
			touch(idx);
	}
}

struct thread_arg {
	struct victim *v;
	int idx;
	pthread_barrier_t *ready;
};

static void *thread_main(void *arg)
{
	struct thread_arg *a = arg;

	me->tid[a->idx] = syscall(SYS_gettid);
	if (set_policy(a->v->s.pol[a->idx]))
		me->policy_err = errno;
	pthread_barrier_wait(a->ready);
	thread_loop(a->v, a->idx);
	return NULL;
}

/*
 * Victim process: report the target, start the other threads, each sets
 * its own policy, say ready, obey. @child is a victim forked from this
 * one, waited for before exiting.
 */
static void __noreturn
victim_run(struct victim *v, const char *target, pid_t child)
{
	struct thread_arg args[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	pthread_barrier_t ready;
	struct sigaction sa;
	int i;

	me = v->r;
	me_target = target;
	me_seed = v->s.seed;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);

	me->pid = getpid();
	me->target = (uintptr_t)target;
	me->pfn = hwp_virt_to_pfn(target);
	me->is_thp = !!(hwp_kpageflags(me->pfn) & BIT_ULL(KPF_THP));
	me->tid[0] = syscall(SYS_gettid);
	pthread_barrier_init(&ready, NULL, v->s.nthreads);
	for (i = 1; i < v->s.nthreads; i++) {
		args[i] = (struct thread_arg){ v, i, &ready };
		if (pthread_create(&th[i], NULL, thread_main, &args[i]))
			_exit(4);
	}
	if (set_policy(v->s.pol[0]))
		me->policy_err = errno;
	pthread_barrier_wait(&ready);
	if (write(v->up[1], "r", 1) != 1)
		_exit(5);
	thread_loop(v, 0);
	for (i = 1; i < v->s.nthreads; i++)
		pthread_join(th[i], NULL);
	if (child > 0)
		waitpid(child, NULL, 0);
	me->done = 1;
	_exit(0);
}

/* In the victim: map and fill what @s asks for; the target page. */
static char *victim_memory(const struct spec *s, int fd)
{
	long ps = hwp_page_size();
	char *p;
	int i;

	switch (s->kind) {
	case ANON:
	case MLOCKED:
		p = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (s->kind == MLOCKED && mlock(p, NPAGES * ps))
			return NULL;
		for (i = 0; i < NPAGES; i++)
			hwp_fill(p + i * ps, ps, SEED + i);
		return p + ps;
	case THP:
	case THP_PINNED:
		p = hwp_map_aligned(HPAGE_SIZE);
		if (!p)
			return NULL;
		if (madvise(p, HPAGE_SIZE, MADV_HUGEPAGE))
			return NULL;
		for (i = 0; i < (int)(HPAGE_SIZE / ps); i++)
			hwp_fill(p + i * ps, ps, SEED + i);
		/* The ring stays open, and the pin with it, until exit. */
		if (s->kind == THP_PINNED &&
		    hwp_pin_longterm(p, HPAGE_SIZE) < 0)
			return NULL;
		return p + 5 * ps;
	case KSM_PAGE:
		/* Mergeable before the first fault: a VMA of its own. */
		p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED || madvise(p, ps, MADV_MERGEABLE))
			return NULL;
		hwp_fill(p, ps, KSM_SEED);
		return p;
	case SHARED_FD:
		p = mmap(NULL, NPAGES * ps, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return NULL;
		/* Read every page: mapped, and left as the file has it. */
		for (i = 0; i < NPAGES; i++)
			(void)__atomic_load_n(p + i * ps, __ATOMIC_SEQ_CST);
		return p + ps;
	}
	return NULL;
}

static int victim_pipes(struct victim *v, const struct spec *s,
			struct report *r)
{
	int i;

	memset(v, 0, sizeof(*v));
	v->s = *s;
	v->r = r;
	memset(r, 0, sizeof(*r));
	if (pipe(v->up))
		return -1;
	for (i = 0; i < s->nthreads; i++)
		if (pipe(v->cmd[i]))
			return -1;
	return 0;
}

/* Fork a victim of @s (that maps @fd if it is SHARED_FD). */
static pid_t spawn(struct victim *v, const struct spec *s, struct report *r,
		   int fd)
{
	char *target;

	if (victim_pipes(v, s, r))
		return -1;
	v->pid = fork();
	if (v->pid)
		return v->pid;
	target = victim_memory(s, fd);
	if (!target)
		_exit(3);
	victim_run(v, target, 0);
}

/*
 * Two victims that share one anonymous page copy-on-write: @a maps and
 * fills it, then forks @b; neither writes to it again.
 */
static pid_t spawn_cow_pair(struct victim *a, const struct spec *sa,
			    struct report *ra, struct victim *b,
			    const struct spec *sb, struct report *rb)
{
	char *target;
	pid_t child;

	if (victim_pipes(a, sa, ra) || victim_pipes(b, sb, rb))
		return -1;
	a->pid = fork();
	if (a->pid)
		return a->pid;
	target = victim_memory(sa, -1);
	if (!target)
		_exit(3);
	child = fork();
	if (child < 0)
		_exit(6);
	if (!child)
		victim_run(b, target, 0);
	victim_run(a, target, child);
}

/* Wait for the victim to be ready (bounded): true if it is. */
static bool victim_ready(struct victim *v)
{
	struct pollfd pfd = { .fd = v->up[0], .events = POLLIN };
	char c;

	return poll(&pfd, 1, 30000) == 1 && read(v->up[0], &c, 1) == 1;
}

static void command(struct victim *v, int thread, char c)
{
	if (write(v->cmd[thread][1], &c, 1) != 1)
		perror("command");
}

static void quit(struct victim *v)
{
	int i;

	for (i = 0; i < v->s.nthreads; i++)
		command(v, i, 'q');
}

static void close_victim(struct victim *v)
{
	int i;

	close(v->up[0]);
	close(v->up[1]);
	for (i = 0; i < v->s.nthreads; i++) {
		close(v->cmd[i][0]);
		close(v->cmd[i][1]);
	}
}

/* Quit and reap our child victim @v; true if it exited cleanly. */
static bool reap(struct victim *v)
{
	int status;
	pid_t pid = v->pid;

	quit(v);
	v->pid = 0;
	close_victim(v);
	if (waitpid(pid, &status, 0) != pid)
		return false;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "# victim %d: status %#x\n", pid, status);
		return false;
	}
	return v->r->done == 1;
}

static void log_sigs(struct __test_metadata *_metadata, const char *who,
		     const struct report *r)
{
	int i;

	TH_LOG("%s: %d SIGBUS (threads %d %d %d, target %#lx)", who, r->nsig,
	       r->tid[0], r->tid[1], r->tid[2], (unsigned long)r->target);
	for (i = 0; i < r->nsig && i < MAX_SIGS; i++)
		TH_LOG("  code %d to %d at %#lx lsb %d", r->sig[i].code,
		       r->sig[i].tid, (unsigned long)r->sig[i].addr,
		       r->sig[i].lsb);
}

/*
 * In a kselftest: @r got exactly one SIGBUS, with @code, in its thread
 * @thread, for its target page, with @lsb.
 */
#define EXPECT_ONE_SIGBUS(r, code_, thread, lsb_)			\
	do {								\
		const struct report *__r = (r);				\
									\
		EXPECT_EQ(1, __r->nsig) {				\
			log_sigs(_metadata, #r, __r);			\
		}							\
		EXPECT_EQ(code_, __r->sig[0].code);			\
		EXPECT_EQ(__r->tid[thread], __r->sig[0].tid);		\
		EXPECT_EQ(__r->target, __r->sig[0].addr);		\
		EXPECT_EQ(lsb_, __r->sig[0].lsb);			\
	} while (0)

static void expect_no_sigbus(struct __test_metadata *_metadata,
			     const char *who, const struct report *r)
{
	EXPECT_EQ(0, r->nsig) {
		log_sigs(_metadata, who, r);
	}
}

/* State shared by the fixtures: sysctls to restore, victims to reap. */
struct env {
	long early_kill;
	long ksm[3];
	struct report *r;	/* two reports, in a shared page */
	struct victim v[2];
	int fd;
};

static const char * const ksm_knobs[3] = {
	HWP_KSM "run", HWP_KSM "pages_to_scan", HWP_KSM "sleep_millisecs",
};

static void env_setup(struct __test_metadata *_metadata, struct env *e)
{
	int i;

	ASSERT_TRUE(hwp_have_debugfs_injector()) {
		TH_LOG("no debugfs hwpoison injector (" HWP_DEBUGFS ")");
	}
	e->fd = -1;
	e->v[0].pid = 0;
	e->v[1].pid = 0;
	ASSERT_EQ(0, hwp_read_long(EARLY_KILL, &e->early_kill));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, hwp_read_long(ksm_knobs[i], &e->ksm[i]));
	e->r = mmap(NULL, hwp_page_size(), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, e->r);
	memset(e->r, 0, 2 * sizeof(*e->r));
}

static void env_teardown(struct env *e)
{
	char buf[24];
	int i;

	/* Victims left behind by a failed assertion: B may be A's child. */
	for (i = 0; i < 2; i++)
		if (e->r[i].pid > 0 && !e->r[i].done)
			kill(e->r[i].pid, SIGKILL);
	for (i = 0; i < 2; i++)
		if (e->v[i].pid > 0)
			waitpid(e->v[i].pid, NULL, 0);
	snprintf(buf, sizeof(buf), "%ld", e->early_kill);
	hwp_write_file(EARLY_KILL, buf);
	for (i = 2; i >= 0; i--) {
		snprintf(buf, sizeof(buf), "%ld", e->ksm[i]);
		hwp_write_file(ksm_knobs[i], buf);
	}
	if (e->fd >= 0) {
		close(e->fd);
		unlink(DISK_FILE);
	}
}

static int set_early_kill(int on)
{
	return hwp_write_file(EARLY_KILL, on ? "1" : "0");
}

/*
 * The file the SHARED_FD victims map: NPAGES pages of page i = SEED + i,
 * written back; with @dirty the target page (page 1) is then rewritten
 * with DIRTY_SEED and not written back. @shmem: a memfd instead, whose
 * pages are always dirty (shmem has no backing store to clean them to).
 */
static int make_file(bool shmem, bool dirty)
{
	long ps = hwp_page_size();
	char *buf = malloc(ps);
	int fd;

	if (!buf)
		return -1;
	fd = shmem ? memfd_create("hwpoison-kill", 0) :
		     open(DISK_FILE, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		goto out;
	if (hwp_write_filled(fd, NPAGES, SEED) || (!shmem && fsync(fd)))
		goto bad;
	if (dirty) {
		hwp_fill(buf, ps, DIRTY_SEED);
		if (pwrite(fd, buf, ps, ps) != ps)
			goto bad;
	}
	free(buf);
	return fd;
bad:
	close(fd);
	fd = -1;
out:
	free(buf);
	return fd;
}

/* Poison @pfn from outside: exactly one more page is poisoned. */
static int poison(struct __test_metadata *_metadata, uint64_t pfn)
{
	long hc = hwp_corrupted_kb();
	int ret = hwp_inject_pfn(pfn);

	EXPECT_TRUE(hwp_pfn_poisoned(pfn));
	EXPECT_EQ(hc + hwp_page_size() / 1024, hwp_corrupted_kb());
	return ret;
}

/*
 * Threads: one process of three threads maps an anonymous page, set up
 * with @early_kill and the policies in @pol; it is poisoned from outside.
 */
FIXTURE(threads)
{
	struct env e;
};

FIXTURE_SETUP(threads)
{
	env_setup(_metadata, &self->e);
}

FIXTURE_TEARDOWN(threads)
{
	env_teardown(&self->e);
}

static struct report *start_threads(struct __test_metadata *_metadata,
				    struct env *e, int early_kill,
				    enum policy p0, enum policy p1,
				    enum policy p2)
{
	struct spec s = {
		.kind = ANON, .nthreads = 3, .pol = { p0, p1, p2 },
		.seed = SEED + 1,
	};
	struct report *r = &e->r[0];

	if (set_early_kill(early_kill))
		return NULL;
	if (spawn(&e->v[0], &s, r, -1) <= 0 || !victim_ready(&e->v[0]) ||
	    !r->pfn || r->policy_err)
		return NULL;
	return r;
}

/* The one thread that asked for early kill is the one told. */
TEST_F(threads, prctl_early_thread)
{
	struct report *r = start_threads(_metadata, &self->e, 0, POL_NONE,
					 POL_NONE, POL_EARLY);

	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, poison(_metadata, r->pfn));
	ASSERT_TRUE(reap(&self->e.v[0]));
	EXPECT_ONE_SIGBUS(r, BUS_MCEERR_AO, 2, 12);
}

/* One signal per process: the first of two early threads gets it. */
TEST_F(threads, first_early_thread)
{
	struct report *r = start_threads(_metadata, &self->e, 0, POL_NONE,
					 POL_EARLY, POL_EARLY);

	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, poison(_metadata, r->pfn));
	ASSERT_TRUE(reap(&self->e.v[0]));
	EXPECT_ONE_SIGBUS(r, BUS_MCEERR_AO, 1, 12);
}

/* vm.memory_failure_early_kill=1 and no policy anywhere: the main thread. */
TEST_F(threads, sysctl_main_thread)
{
	struct report *r = start_threads(_metadata, &self->e, 1, POL_NONE,
					 POL_NONE, POL_NONE);

	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, poison(_metadata, r->pfn));
	ASSERT_TRUE(reap(&self->e.v[0]));
	EXPECT_ONE_SIGBUS(r, BUS_MCEERR_AO, 0, 12);
}

/*
 * The sysctl speaks for threads without a policy of their own: a main
 * thread that chose late kill is passed over for the next thread.
 */
TEST_F(threads, sysctl_skips_late_thread)
{
	struct report *r = start_threads(_metadata, &self->e, 1, POL_LATE,
					 POL_NONE, POL_NONE);

	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, poison(_metadata, r->pfn));
	ASSERT_TRUE(reap(&self->e.v[0]));
	EXPECT_ONE_SIGBUS(r, BUS_MCEERR_AO, 1, 12);
}

/*
 * Late kill: nothing at poison time; the thread that touches the page is
 * the one that gets the action-required SIGBUS, and only it.
 */
TEST_F(threads, ar_to_consumer)
{
	struct report *r = start_threads(_metadata, &self->e, 0, POL_NONE,
					 POL_NONE, POL_NONE);

	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, poison(_metadata, r->pfn));
	command(&self->e.v[0], 2, 't');
	ASSERT_TRUE(reap(&self->e.v[0]));
	EXPECT_ONE_SIGBUS(r, BUS_MCEERR_AR, 2, 12);
	EXPECT_EQ(T_NONE, r->touch[0]);
	EXPECT_EQ(T_NONE, r->touch[1]);
	EXPECT_EQ(T_SIGBUS, r->touch[2]);
}

/*
 * PR_MCE_KILL_LATE on every thread of the process overrides
 * vm.memory_failure_early_kill=1: no signal until a touch, then AR.
 */
TEST_F(threads, prctl_late_beats_sysctl)
{
	struct report *r = start_threads(_metadata, &self->e, 1, POL_LATE,
					 POL_LATE, POL_LATE);

	ASSERT_NE(NULL, r);
	EXPECT_EQ(0, poison(_metadata, r->pfn));
	command(&self->e.v[0], 0, 't');
	ASSERT_TRUE(reap(&self->e.v[0]));
	EXPECT_ONE_SIGBUS(r, BUS_MCEERR_AR, 0, 12);
	EXPECT_EQ(T_SIGBUS, r->touch[0]);
}

/*
 * Two processes share the poisoned page, one early kill (A), one late
 * (B), with vm.memory_failure_early_kill=0: each is handled by its own
 * policy. A is told at once; B learns when it touches the page. A clean
 * file page is the exception: it is dropped, nobody is told, and both
 * read it back from disk.
 */
FIXTURE(shared)
{
	struct env e;
};

FIXTURE_VARIANT(shared)
{
	enum kind kind;		/* ANON: copy-on-write after fork */
	bool shmem;
	bool dirty;
};

FIXTURE_VARIANT_ADD(shared, cow_anon)
{
	.kind = ANON, .dirty = true,
};

FIXTURE_VARIANT_ADD(shared, shmem)
{
	.kind = SHARED_FD, .shmem = true, .dirty = true,
};

FIXTURE_VARIANT_ADD(shared, file_dirty)
{
	.kind = SHARED_FD, .dirty = true,
};

FIXTURE_VARIANT_ADD(shared, file_clean)
{
	.kind = SHARED_FD, .dirty = false,
};

FIXTURE_SETUP(shared)
{
	env_setup(_metadata, &self->e);
	if (variant->kind == SHARED_FD) {
		if (!variant->shmem)
			ASSERT_EQ(0, access("/mnt/disk", W_OK)) {
				TH_LOG("no disk-backed file system at /mnt/disk");
			}
		self->e.fd = make_file(variant->shmem, variant->dirty);
		ASSERT_LE(0, self->e.fd);
	}
}

FIXTURE_TEARDOWN(shared)
{
	env_teardown(&self->e);
}

TEST_F(shared, early_and_late)
{
	struct spec early = {
		.kind = variant->kind, .nthreads = 1, .pol = { POL_EARLY },
	};
	struct spec late = {
		.kind = variant->kind, .nthreads = 1, .pol = { POL_LATE },
	};
	struct report *a = &self->e.r[0], *b = &self->e.r[1];
	struct victim *va = &self->e.v[0], *vb = &self->e.v[1];

	early.seed = variant->kind == SHARED_FD && variant->dirty ?
		     DIRTY_SEED : SEED + 1;
	late.seed = early.seed;
	ASSERT_EQ(0, set_early_kill(0));
	if (variant->kind == ANON) {
		ASSERT_LT(0, spawn_cow_pair(va, &early, a, vb, &late, b));
	} else {
		ASSERT_LT(0, spawn(va, &early, a, self->e.fd));
		ASSERT_LT(0, spawn(vb, &late, b, self->e.fd));
	}
	ASSERT_TRUE(victim_ready(va));
	ASSERT_TRUE(victim_ready(vb));
	ASSERT_EQ(0, a->policy_err);
	ASSERT_EQ(0, b->policy_err);
	/* One page behind both. */
	ASSERT_NE(0, a->pfn);
	ASSERT_EQ(a->pfn, b->pfn);

	EXPECT_EQ(0, poison(_metadata, a->pfn));
	command(vb, 0, 't');
	if (!variant->dirty)
		command(va, 0, 't');
	/* B first: A may be its parent, and waits for it. */
	if (vb->pid) {
		ASSERT_TRUE(reap(vb));
	} else {
		quit(vb);
		close_victim(vb);
	}
	ASSERT_TRUE(reap(va));
	ASSERT_EQ(1, b->done);

	if (variant->dirty) {
		EXPECT_ONE_SIGBUS(a, BUS_MCEERR_AO, 0, 12);
		EXPECT_ONE_SIGBUS(b, BUS_MCEERR_AR, 0, 12);
		EXPECT_EQ(T_SIGBUS, b->touch[0]);
	} else {
		expect_no_sigbus(_metadata, "a", a);
		expect_no_sigbus(_metadata, "b", b);
		EXPECT_EQ(T_INTACT, a->touch[0]);
		EXPECT_EQ(T_INTACT, b->touch[0]);
	}
}

/*
 * Early kill by page type: one early-kill victim of each kind gets
 * BUS_MCEERR_AO at the address of the poisoned 4 KiB page, with the lsb
 * of what was killed, and the write to the injector returns @ret.
 */
FIXTURE(early)
{
	struct env e;
};

FIXTURE_VARIANT(early)
{
	enum kind kind;
	int lsb;
	int ret;
};

/* Split first: only the 4 KiB page is lost. */
FIXTURE_VARIANT_ADD(early, thp)
{
	.kind = THP, .lsb = 12, .ret = 0,
};

/*
 * Pinned, the THP cannot be split: the kill names the whole 2 MiB
 * (kill_procs_now()), and the report fails (-EHWPOISON).
 */
FIXTURE_VARIANT_ADD(early, thp_pinned)
{
	.kind = THP_PINNED, .lsb = 21, .ret = -EHWPOISON,
};

FIXTURE_VARIANT_ADD(early, file_dirty)
{
	.kind = SHARED_FD, .lsb = 12, .ret = 0,
};

FIXTURE_VARIANT_ADD(early, mlocked)
{
	.kind = MLOCKED, .lsb = 12, .ret = 0,
};

/* The victim shares its page with a late-kill partner through KSM. */
FIXTURE_VARIANT_ADD(early, ksm)
{
	.kind = KSM_PAGE, .lsb = 12, .ret = 0,
};

FIXTURE_SETUP(early)
{
	env_setup(_metadata, &self->e);
	if (variant->kind == SHARED_FD) {
		ASSERT_EQ(0, access("/mnt/disk", W_OK)) {
			TH_LOG("no disk-backed file system at /mnt/disk");
		}
		self->e.fd = make_file(false, true);
		ASSERT_LE(0, self->e.fd);
	}
}

FIXTURE_TEARDOWN(early)
{
	env_teardown(&self->e);
}

/* The pfn behind @addr in process @pid, 0 if none. */
static uint64_t pid_pfn(pid_t pid, uintptr_t addr)
{
	char path[64];
	uint64_t ent = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent),
		  addr / hwp_page_size() * sizeof(ent)) != sizeof(ent))
		ent = 0;
	close(fd);
	return ent & HWP_PM_PRESENT ? ent & HWP_PM_PFN_MASK : 0;
}

/*
 * Let ksmd merge the victims' pages: poll, 20 ms at a time for up to 30 s,
 * until both map one KSM page. That pfn, or 0.
 */
static uint64_t ksm_merge(struct report *a, struct report *b)
{
	uint64_t pa = 0, pb;
	int ms;

	if (hwp_write_file(HWP_KSM "pages_to_scan", "5000") ||
	    hwp_write_file(HWP_KSM "sleep_millisecs", "0") ||
	    hwp_write_file(HWP_KSM "run", "1"))
		return 0;
	for (ms = 0; ms < 30000; ms += 20) {
		pa = pid_pfn(a->pid, a->target);
		pb = pid_pfn(b->pid, b->target);
		if (pa && pa == pb &&
		    (hwp_kpageflags(pa) & BIT_ULL(KPF_KSM)))
			break;
		pa = 0;
		usleep(20000);
	}
	/* Stop ksmd; merged pages stay merged. */
	hwp_write_file(HWP_KSM "run", "0");
	return pa;
}

TEST_F_TIMEOUT(early, ao, 120)
{
	struct spec s = {
		.kind = variant->kind, .nthreads = 1, .pol = { POL_EARLY },
		.seed = SEED + 1,
	};
	struct report *r = &self->e.r[0], *partner = &self->e.r[1];
	struct victim *v = &self->e.v[0], *vp = &self->e.v[1];
	uint64_t pfn;

	if (variant->kind == THP || variant->kind == THP_PINNED)
		s.seed = SEED + 5;
	else if (variant->kind == SHARED_FD)
		s.seed = DIRTY_SEED;
	else if (variant->kind == KSM_PAGE)
		s.seed = KSM_SEED;
	ASSERT_EQ(0, set_early_kill(0));
	ASSERT_LT(0, spawn(v, &s, r, self->e.fd));
	ASSERT_TRUE(victim_ready(v));
	ASSERT_EQ(0, r->policy_err);
	pfn = r->pfn;
	ASSERT_NE(0, pfn);
	if (variant->kind == THP || variant->kind == THP_PINNED)
		ASSERT_TRUE(r->is_thp) {
			TH_LOG("the victim's range was not backed by a THP");
		}
	if (variant->kind == KSM_PAGE) {
		struct spec late = s;

		late.pol[0] = POL_LATE;
		ASSERT_LT(0, spawn(vp, &late, partner, -1));
		ASSERT_TRUE(victim_ready(vp));
		pfn = ksm_merge(r, partner);
		ASSERT_NE(0, pfn) {
			TH_LOG("ksmd did not merge the two pages in 30 s");
		}
	}

	EXPECT_EQ(variant->ret, poison(_metadata, pfn));
	if (variant->kind == KSM_PAGE) {
		command(vp, 0, 't');
		ASSERT_TRUE(reap(vp));
		/* The late partner learns on touch, like any sharer. */
		EXPECT_ONE_SIGBUS(partner, BUS_MCEERR_AR, 0, 12);
	}
	ASSERT_TRUE(reap(v));
	EXPECT_ONE_SIGBUS(r, BUS_MCEERR_AO, 0, variant->lsb);
}

TEST_HARNESS_MAIN
