/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The soak (make soak): shared state of the controller, the workers and
 * the background process, all of them forked from one static program that
 * runs as root in the busybox guest.
 */
#ifndef __SOAK_H
#define __SOAK_H

#include <stdarg.h>
#include <time.h>
#include "hwpoison_util.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#endif

#define SOAK_HPAGE		(2UL << 20)
#define SOAK_HPAGE_PAGES	512
#define SOAK_MAX_UNITS		2048
#define SOAK_MAX_HARD		(1 << 17)
#define SOAK_MAX_ERRNO		140
#define SOAK_DISK		"/mnt/disk"

#define KPF_MMAP		11
#define KPF_COMPOUND_HEAD	15
#define KPF_HUGE		17
#define KPF_KSM			21
#define KPF_THP			22
#define KPF_ZERO_PAGE		24

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21
#endif

/* The page types, one worker process each. */
enum soak_type {
	T_ANON,
	T_THP,
	T_SHMEM,
	T_FILE_CLEAN,
	T_FILE_DIRTY,
	T_HUGETLB,
	T_KSM,
	T_SWAP,
	NR_SOAK_TYPES
};

/* Everything the soak counts per kind of operation. */
enum soak_op {
	OP_HARD_INJECT,		/* debugfs corrupt-pfn on a worker page */
	OP_HARD_SYSFS,		/* sysfs hard_offline_page */
	OP_HARD_MADV,		/* the worker's own MADV_HWPOISON */
	OP_HARD_MCE,		/* an SRAO machine check from the host */
	OP_SOFT_SYSFS,		/* sysfs soft_offline_page */
	OP_SOFT_MADV,		/* the worker's own MADV_SOFT_OFFLINE */
	OP_SOFT_RANGE,		/* MADV_SOFT_OFFLINE over several units */
	OP_UNPOISON,		/* debugfs unpoison-pfn of a pfn we offlined */
	OP_FUZZ_INJECT,
	OP_FUZZ_UNPOISON,
	OP_FUZZ_HARD_SYSFS,
	OP_FUZZ_SOFT_SYSFS,
	OP_FUZZ_MADV,
	OP_FUZZ_JUNK,
	OP_COMPACT,		/* background: vm.compact_memory */
	OP_PAGEOUT,		/* swap worker: MADV_PAGEOUT */
	OP_FSYNC,		/* dirty file worker: fsync */
	OP_HUGETLB_MAP,		/* hugetlb worker: map a replacement */
	OP_PUNCH,		/* dirty file worker: punch a kept page out */
	NR_SOAK_OPS
};

/* Kinds of invariant violation, counted apart ("violations.<kind>"). */
enum soak_vkind {
	V_ERRNO,		/* an errno an interface does not document */
	V_SIGBUS,		/* a signal nobody had reason to get */
	V_CLEAN_KEPT,		/* a clean file page kept poisoned in cache */
	V_DATA,			/* data lost where nothing was offlined */
	V_EIO,			/* fsync EIO with no page offlined */
	V_COUNTER,		/* HardwareCorrupted against kpageflags */
	V_BUDDY,		/* a poisoned pfn free again */
	V_MAPPED,		/* a poisoned pfn still mapped */
	V_KSM_REMERGE,		/* ... because ksmd merged pages into it */
	V_ALIVE,		/* a worker died or stopped making passes */
	V_WORKER,		/* a worker failed to set up, answer or stop */
	V_MCE,			/* a machine check was not handled */
	NR_SOAK_VKINDS
};

struct soak_opstat {
	uint64_t attempts;
	uint64_t ok;
	uint64_t skipped;	/* no victim at the drawn place */
	uint64_t unexpected;	/* an errno the interface does not document */
	uint64_t err[SOAK_MAX_ERRNO];
};

/* What the controller asks a worker to do with its own memory. */
enum soak_req {
	REQ_NONE,
	REQ_HWPOISON,		/* madvise(MADV_HWPOISON) */
	REQ_SOFT,		/* madvise(MADV_SOFT_OFFLINE) */
	REQ_DROP,		/* give the unit up as lost (unsplit THP) */
};

struct soak_worker {
	int type;
	pid_t pid;
	uintptr_t base;
	size_t unit;		/* bytes per unit: a page, or a huge page */
	int nunits;
	int ready;
	uint64_t heartbeat;	/* full verification passes done */
	bool gone;		/* died, reaped by the controller's check */

	/* Mailbox: the controller writes req_* then bumps req_seq. */
	int req, req_unit, req_len, req_sub;
	uint64_t req_seq, resp_seq;
	int resp_err, resp_sig;

	/* Figures. */
	uint64_t bytes_verified;
	uint64_t units_lost;	/* lost after an expected hard offline */
	uint64_t lost_silent;	/* dirty file page lost without a signal */
	uint64_t sig_expected, sig_unexpected;
	uint64_t ao_unjudged;	/* BUS_MCEERR_AO beyond the queue */
	uint64_t sig_swap_shared; /* ... at a slot another unit lost */
	uint64_t data_lost;	/* wrong data where nothing was offlined */
	uint64_t eio_expected, eio_unexpected;
	uint64_t rewrites;

	/*
	 * Per unit: the pfn the controller is about to hard-offline, set
	 * before it does; the worker clears it once the unit is replaced.
	 */
	uint64_t marks[SOAK_MAX_UNITS];
};

struct soak_shared {
	uint64_t seed;
	int stop;
	int mce_done;		/* a real machine check was handled */
	uint64_t violations;
	uint64_t vkind[NR_SOAK_VKINDS];
	struct soak_worker w[NR_SOAK_TYPES];
	struct soak_opstat op[NR_SOAK_OPS];
	/* Every pfn ever hard-offlined, appended before the offline. */
	int nhard;
	uint64_t hard[SOAK_MAX_HARD];
};

extern struct soak_shared *soak;
extern const char * const soak_type_name[NR_SOAK_TYPES];
extern const char * const soak_op_name[NR_SOAK_OPS];
extern const char * const soak_vkind_name[NR_SOAK_VKINDS];

/* A seeded generator (splitmix64): the same seed, the same stream. */
struct soak_rng {
	uint64_t s;
};

static inline uint64_t soak_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void soak_rng_init(struct soak_rng *r, uint64_t seed,
				 uint64_t stream)
{
	r->s = soak_mix(seed * 0x9e3779b97f4a7c15ULL + stream);
}

static inline uint64_t soak_rand(struct soak_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	return soak_mix(r->s);
}

static inline uint64_t soak_below(struct soak_rng *r, uint64_t n)
{
	return n ? soak_rand(r) % n : 0;
}

static inline double soak_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* soak.c */
void soak_violation(enum soak_vkind kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void soak_count(enum soak_op op, int err, const int *ok, int nok);
bool soak_hard_contains(uint64_t pfn);
void soak_hard_add(uint64_t pfn);

/* soak_worker.c */
void soak_worker_main(struct soak_worker *w);
int soak_worker_setup_system(void);

/* soak_check.c */
void soak_check_init(void);
int soak_check(bool final, bool workers_alive);
void soak_check_report(void);
int soak_pagemap_fd(pid_t pid);
uint64_t soak_pagemap(int fd, uintptr_t addr);

/* soak_fuzz.c */
void soak_fuzz_init(uint64_t seed);
void soak_fuzz(long n);
void soak_fuzz_done(void);

#endif /* __SOAK_H */
