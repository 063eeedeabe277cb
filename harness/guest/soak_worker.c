// SPDX-License-Identifier: GPL-2.0
/*
 * Soak workers: one process per page type keeps checksummed data in its
 * pages and verifies all of it, pass after pass.
 *
 * Every unit (a page, or a huge page for hugetlb) holds words derived from
 * (seed, type, unit, generation); a rewrite moves the unit to the next
 * generation. A unit may only lose its data after the controller marked it
 * for a hard offline (the mark is set before the offline), and a SIGBUS is
 * only expected at a marked unit or at a pte that names a pfn the soak
 * hard-offlined (a KSM page is shared by several units). Anything else is a
 * violation. After a loss the worker replaces the unit and fills it again.
 */
#include "soak.h"

#define KSM_GROUP	8
#define WORD_STEP	0x9e3779b97f4a7c15ULL

static const int type_units[NR_SOAK_TYPES] = {
	[T_ANON] = 512, [T_THP] = 2048, [T_SHMEM] = 512,
	[T_FILE_CLEAN] = 512, [T_FILE_DIRTY] = 512, [T_HUGETLB] = 4,
	[T_KSM] = 512, [T_SWAP] = 512,
};

static struct soak_worker *me;
static struct soak_rng rng;
static int data_fd = -1;
static int pm_fd = -1;
static uint32_t gen[SOAK_MAX_UNITS];
static bool absent[SOAK_MAX_UNITS];
static bool dead[SOAK_MAX_UNITS];	/* unreadable for good */
static uint64_t eio_window;	/* dirty file losses since the last fsync */

/* SIGBUS: an armed access jumps back out; others are queued. */
struct soak_fault {
	int code;
	void *addr;
	int lsb;
};

static sigjmp_buf fault_jmp;
static volatile sig_atomic_t armed;
static volatile struct soak_fault last_fault;
static struct soak_fault queued[32];
static volatile sig_atomic_t nqueued;

#define barrier()	__asm__ __volatile__("" : : : "memory")

/* "<text> code <c> addr 0x<hex>\n" to stdout, from a signal handler. */
static void write_fault(const char *text, int code, void *addr)
{
	static const char digits[] = "0123456789abcdef";
	char buf[128];
	uintptr_t a = (uintptr_t)addr;
	size_t n = 0;
	int i;

	while (*text && n < 64)
		buf[n++] = *text++;
	memcpy(buf + n, " code ", 6);
	n += 6;
	buf[n++] = '0' + (code % 10);
	memcpy(buf + n, " addr 0x", 8);
	n += 8;
	for (i = 2 * sizeof(a) - 1; i >= 0; i--)
		buf[n++] = digits[(a >> (4 * i)) & 15];
	buf[n++] = '\n';
	if (write(1, buf, n) < 0)
		_exit(4);
}

static void worker_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	if (armed) {
		armed = 0;
		last_fault.code = si->si_code;
		last_fault.addr = si->si_addr;
		last_fault.lsb = si->si_addr_lsb;
		siglongjmp(fault_jmp, 1);
	}
	/*
	 * Action optional: nothing to jump out of, judged in the loop; one
	 * that does not fit in the queue is counted and not judged.
	 */
	if (si->si_code == BUS_MCEERR_AO) {
		if (nqueued < 32) {
			queued[nqueued].code = si->si_code;
			queued[nqueued].addr = si->si_addr;
			queued[nqueued].lsb = si->si_addr_lsb;
			nqueued++;
		} else {
			me->ao_unjudged++;
		}
		return;
	}
	/* Returning would fault again at once. */
	write_fault("VIOLATION SIGBUS outside an armed access:", si->si_code,
		    si->si_addr);
	_exit(3);
}

static char *unit_addr(int i)
{
	return (char *)me->base + (size_t)i * me->unit;
}

/* The KSM worker's units come in groups of identical pages. */
static uint64_t pattern_base(int i)
{
	uint64_t key = me->type == T_KSM ? i / KSM_GROUP : i;

	return soak_mix(soak->seed ^ soak_mix(((uint64_t)me->type << 56) ^
					      (key << 24) ^ gen[i]));
}

static void fill_words(uint64_t *p, size_t n, uint64_t b)
{
	size_t j;

	for (j = 0; j < n; j++)
		p[j] = b ^ (j * WORD_STEP);
}

static bool check_words(const uint64_t *p, size_t n, uint64_t b)
{
	size_t j;

	for (j = 0; j < n; j++)
		if (p[j] != (b ^ (j * WORD_STEP)))
			return false;
	return true;
}

/* 0: intact, 1: wrong data, -1: SIGBUS (in last_fault). */
static int verify_unit(int i)
{
	const uint64_t *p = (const uint64_t *)unit_addr(i);
	bool ok;

	if (sigsetjmp(fault_jmp, 0))
		return -1;
	armed = 1;
	barrier();
	ok = check_words(p, me->unit / 8, pattern_base(i));
	barrier();
	armed = 0;
	return ok ? 0 : 1;
}

static int fill_unit(int i)
{
	uint64_t *p = (uint64_t *)unit_addr(i);

	if (sigsetjmp(fault_jmp, 0))
		return -1;
	armed = 1;
	barrier();
	fill_words(p, me->unit / 8, pattern_base(i));
	barrier();
	armed = 0;
	return 0;
}

/* The pfn a hwpoison (or other pfn) swap entry at @addr names, else 0. */
static uint64_t entry_pfn(uintptr_t addr)
{
	uint64_t ent = soak_pagemap(pm_fd, addr);

	if ((ent & HWP_PM_PRESENT) || !(ent & HWP_PM_SWAP))
		return 0;
	/* Type 0 is the zram swap device: a real swap entry. */
	if (!(ent & 0x1f))
		return 0;
	return (ent & HWP_PM_PFN_MASK) >> 5;
}

/*
 * The swap slot a swapped-out page at @addr sits in (type 0, the zram
 * device: not a hwpoison or migration entry), as a non-zero key, else 0.
 */
static uint64_t swap_slot(uintptr_t addr)
{
	uint64_t ent = soak_pagemap(pm_fd, addr);

	if ((ent & HWP_PM_PRESENT) || !(ent & HWP_PM_SWAP) || (ent & 0x1f))
		return 0;
	return ent & (HWP_PM_PFN_MASK | HWP_PM_SWAP);
}

/*
 * Swap slots whose page was hard-offlined while in the swap cache: every
 * pte of the slot is still a swap entry, and every swap-in of it fails
 * with an action-required SIGBUS. A KSM page is swapped out as one page
 * for all its sharers, so a whole group loses its data through one mark.
 */
#define LOST_SLOTS 256
static uint64_t lost_slot[LOST_SLOTS];
static int nlost_slot;

static void lost_slot_add(uint64_t slot)
{
	lost_slot[nlost_slot++ % LOST_SLOTS] = slot;
}

/* Is @slot a slot known lost, or that of another unit marked for loss? */
static bool slot_lost(uint64_t slot, int self)
{
	int j;

	for (j = 0; j < LOST_SLOTS && j < nlost_slot; j++)
		if (lost_slot[j] == slot)
			return true;
	for (j = 0; j < me->nunits; j++)
		if (j != self && __atomic_load_n(&me->marks[j], __ATOMIC_SEQ_CST) &&
		    swap_slot((uintptr_t)unit_addr(j)) == slot) {
			lost_slot_add(slot);
			return true;
		}
	return false;
}

/* The pfn a present pte at @addr maps, else 0. */
static uint64_t present_pfn(uintptr_t addr)
{
	uint64_t ent = soak_pagemap(pm_fd, addr);

	return (ent & HWP_PM_PRESENT) ? ent & HWP_PM_PFN_MASK : 0;
}

static void hugetlb_grow_pool(void)
{
	char buf[24];
	long nr;

	if (hwp_read_long("/proc/sys/vm/nr_hugepages", &nr))
		return;
	snprintf(buf, sizeof(buf), "%ld", nr + 1);
	hwp_write_file("/proc/sys/vm/nr_hugepages", buf);
}

/*
 * Map a fresh huge page over unit @i. The mapping reserves its page, so
 * a failure leaves the old mapping in place: the unit stays absent and
 * the next pass tries again, after growing the pool.
 */
static bool map_huge(int i)
{
	char *p = unit_addr(i), *q;
	int tries;

	for (tries = 0; tries < 3; tries++) {
		q = mmap(p, SOAK_HPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE |
			 MAP_ANONYMOUS | MAP_HUGETLB | MAP_FIXED, -1, 0);
		soak_count(OP_HUGETLB_MAP, q == p ? 0 : -errno,
			   (const int[]){ 0, -ENOMEM }, 2);
		if (q == p) {
			absent[i] = false;
			return true;
		}
		hugetlb_grow_pool();
	}
	absent[i] = true;
	return false;
}

/*
 * Throw unit @i's memory away so that the next touch gets a new page;
 * @tries is how often that failed already.
 */
static bool replace_unit(int i, int tries)
{
	char *p = unit_addr(i);
	off_t off = (off_t)i * me->unit;

	switch (me->type) {
	case T_HUGETLB:
		return map_huge(i);
	case T_SHMEM:
		/*
		 * shmem keeps a poisoned page in the page cache: punch it
		 * out. A hole punch leaves hwpoison ptes for the owner to
		 * zap; MADV_DONTNEED does.
		 */
		fallocate(data_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			  off, me->unit);
		madvise(p, me->unit, MADV_DONTNEED);
		return true;
	case T_FILE_DIRTY:
		madvise(p, me->unit, MADV_DONTNEED);
		if (!tries)
			return true;
		/*
		 * The refill faulted again: memory failure left the poisoned
		 * page in the page cache ("unknown page: Ignored") holding a
		 * reference of its own, so no fault can ever evict it and
		 * every touch of that offset gets SIGBUS. Its data is lost
		 * anyway; punch it out, as the owner of the file would.
		 */
		soak_count(OP_PUNCH, fallocate(data_fd, FALLOC_FL_PUNCH_HOLE |
					       FALLOC_FL_KEEP_SIZE, off,
					       me->unit) ? -errno : 0,
			   (const int[]){ 0 }, 1);
		return true;
	default:
		madvise(p, me->unit, MADV_DONTNEED);
		return true;
	}
}

/*
 * A SIGBUS at @addr: expected only at a unit marked for hard offline, at
 * a hwpoison entry of a pfn the soak hard-offlined, or at a swap entry
 * whose page was hard-offlined in the swap cache (a marked unit shares
 * it), with the size of the unit in lsb. A clean file page is dropped silently (6.12: "corrupted
 * page was clean: dropped without side effects"), never signalled.
 * Counts the signal and returns the unit to replace, with its mark in
 * @markp if given, or -1: outside the worker's memory, or a clean file
 * unit that is given up.
 */
static int judge_signal(int code, void *addr, int lsb, uint64_t *markp)
{
	uintptr_t a = (uintptr_t)addr;
	uint64_t mark, hp, slot;
	bool expected, sized;
	int i;

	if (a < me->base || a >= me->base + me->nunits * me->unit) {
		me->sig_unexpected++;
		soak_violation(V_SIGBUS, "%s: SIGBUS code %d at %p, outside its memory",
			       soak_type_name[me->type], code, addr);
		return -1;
	}
	i = (a - me->base) / me->unit;
	mark = __atomic_load_n(&me->marks[i], __ATOMIC_SEQ_CST);
	hp = entry_pfn(a & ~(uintptr_t)(hwp_page_size() - 1));
	slot = swap_slot(a & ~(uintptr_t)(hwp_page_size() - 1));
	sized = (code == BUS_MCEERR_AR || code == BUS_MCEERR_AO) &&
		lsb == (me->type == T_HUGETLB ? 21 : 12) &&
		me->type != T_FILE_CLEAN;
	expected = sized && (mark || (hp && soak_hard_contains(hp)));
	if (expected && mark && slot)
		lost_slot_add(slot);
	if (expected) {
		me->sig_expected++;
	} else if (sized && code == BUS_MCEERR_AR && slot &&
		   slot_lost(slot, i)) {
		me->sig_expected++;
		me->sig_swap_shared++;
	} else if (me->type == T_KSM &&
		   soak_hard_contains(present_pfn(a & ~(uintptr_t)
						  (hwp_page_size() - 1)))) {
		/*
		 * A unit of a group that ksmd merged into a KSM page the
		 * soak had hard-offlined (the known 6.12 bug behind
		 * mapped.ksm_remerge): its touch is the poisoned page's
		 * action-required signal. Booked as that bug.
		 */
		me->sig_unexpected++;
		soak_violation(V_KSM_REMERGE, "ksm: SIGBUS at unit %d, merged into "
			       "the hard-offlined KSM page %#llx", i,
			       (unsigned long long)present_pfn(a & ~(uintptr_t)
					(hwp_page_size() - 1)));
	} else if (me->type == T_FILE_CLEAN && !hp) {
		/*
		 * No hwpoison pte: the fault came from a poisoned page that
		 * memory failure left in the page cache. Every read of that
		 * offset fails from now on; the unit is given up.
		 */
		me->sig_unexpected++;
		dead[i] = true;
		soak_violation(V_CLEAN_KEPT, "file_clean: SIGBUS at unit %d "
			       "(mark %#llx): a poisoned page stays in the page "
			       "cache of a clean file", i,
			       (unsigned long long)mark);
		return -1;
	} else {
		me->sig_unexpected++;
		soak_violation(V_SIGBUS, "%s: unexpected SIGBUS code %d lsb %d at unit %d "
			       "+%#lx (mark %#llx, hwpoison entry pfn %#llx)",
			       soak_type_name[me->type], code, lsb, i,
			       (unsigned long)(a - (uintptr_t)unit_addr(i)),
			       (unsigned long long)mark,
			       (unsigned long long)hp);
	}
	if (markp)
		*markp = mark;
	return i;
}

/*
 * Replace unit @i and fill it again; a clean file page is re-read. A
 * SIGBUS while refilling is judged like any other and the unit replaced
 * again, in this loop: recovering from within the judgement of each
 * signal would nest a level per fault, and a page that faults on every
 * touch grew the stack until the worker died of SIGSEGV (8 MiB at 144
 * bytes a level: 58,200 signals). Eight in a row and the unit is given
 * up.
 */
static void recover_unit(int i)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (!replace_unit(i, tries))
			return;
		if (me->type == T_FILE_CLEAN || !fill_unit(i))
			return;
		judge_signal(last_fault.code, last_fault.addr, last_fault.lsb,
			     NULL);
	}
	dead[i] = true;
	soak_violation(V_SIGBUS,
		       "%s: unit %d: 8 SIGBUS in a row refilling it, given up",
		       soak_type_name[me->type], i);
}

/* A SIGBUS out of a verification, a rewrite or a request: a lost unit. */
static void judge_fault(int code, void *addr, int lsb)
{
	uint64_t mark;
	int i = judge_signal(code, addr, lsb, &mark);

	if (i < 0)
		return;
	me->units_lost++;
	if (me->type == T_FILE_DIRTY)
		eio_window++;
	recover_unit(i);
	__atomic_compare_exchange_n(&me->marks[i], &mark, 0, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void judge_queued(void)
{
	while (nqueued) {
		struct soak_fault f = queued[nqueued - 1];

		nqueued--;
		judge_fault(f.code, f.addr, f.lsb);
	}
}

/*
 * Wrong data without a signal. Only a dirty file page that was marked can
 * lose it so: written back from an unmapped page cache page, memory
 * failure drops it and the error goes to fsync alone.
 */
static void judge_mismatch(int i)
{
	uint64_t mark = __atomic_load_n(&me->marks[i], __ATOMIC_SEQ_CST);

	if (me->type == T_FILE_DIRTY && mark) {
		me->lost_silent++;
		me->units_lost++;
		eio_window++;
	} else {
		me->data_lost++;
		soak_violation(V_DATA, "%s: unit %d lost its data without an offline "
			       "(mark %#llx, pte %#llx)",
			       soak_type_name[me->type], i,
			       (unsigned long long)mark,
			       (unsigned long long)soak_pagemap(pm_fd,
					(uintptr_t)unit_addr(i)));
	}
	recover_unit(i);
	__atomic_compare_exchange_n(&me->marks[i], &mark, 0, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/*
 * MADV_HWPOISON hits the page the unit has now, which need not be the pfn
 * the controller saw in the pagemap a moment before (swapped out and in,
 * migrated): a page that was clean is unmapped without a signal, and its
 * hwpoison entry names the pfn. Record that one before touching anything.
 */
static void note_own_offline(int i, uintptr_t addr)
{
	uint64_t pfn = entry_pfn(addr), mark;

	if (!pfn || me->type == T_HUGETLB)
		return;
	soak_hard_add(pfn);
	mark = __atomic_load_n(&me->marks[i], __ATOMIC_SEQ_CST);
	if (mark != pfn)
		__atomic_compare_exchange_n(&me->marks[i], &mark, pfn, false,
					    __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
}

/* The controller's request; madvise() only works on one's own memory. */
static int own_madvise(int advice, int *sig)
{
	long ps = hwp_page_size();
	int i = me->req_unit;
	char *p = unit_addr(i);
	size_t len = me->unit * me->req_len;

	if (me->type == T_HUGETLB) {
		p += (size_t)me->req_sub * ps;
		len = ps;
	}
	if (i + me->req_len > me->nunits)
		len = me->unit * (me->nunits - i);
	if (absent[i] || dead[i])
		return -1;
	if (sigsetjmp(fault_jmp, 0)) {
		*sig = 1;
		if (advice == MADV_HWPOISON)
			note_own_offline(i, (uintptr_t)p);
		judge_fault(last_fault.code, last_fault.addr, last_fault.lsb);
		return 0;
	}
	armed = 1;
	barrier();
	if (madvise(p, len, advice)) {
		armed = 0;
		return errno;
	}
	barrier();
	armed = 0;
	if (advice == MADV_HWPOISON)
		note_own_offline(i, (uintptr_t)p);
	return 0;
}

static void serve(void)
{
	uint64_t seq = __atomic_load_n(&me->req_seq, __ATOMIC_ACQUIRE);
	int err = 0, sig = 0;

	judge_queued();
	if (seq == me->resp_seq)
		return;
	switch (me->req) {
	case REQ_HWPOISON:
		err = own_madvise(MADV_HWPOISON, &sig);
		break;
	case REQ_SOFT:
		err = own_madvise(MADV_SOFT_OFFLINE, &sig);
		break;
	case REQ_DROP:
		/* What a touch would do on hardware: SIGBUS, unit lost. */
		me->units_lost++;
		recover_unit(me->req_unit);
		__atomic_store_n(&me->marks[me->req_unit], 0,
				 __ATOMIC_SEQ_CST);
		break;
	}
	me->resp_err = err;
	me->resp_sig = sig;
	__atomic_store_n(&me->resp_seq, seq, __ATOMIC_RELEASE);
}

static bool rewrites(void)
{
	return me->type != T_FILE_CLEAN && me->type != T_KSM;
}

/* A new generation for a whole KSM group, so that it merges again. */
static void rewrite_ksm_group(void)
{
	int g = soak_below(&rng, me->nunits / KSM_GROUP), i;
	uint32_t next = gen[g * KSM_GROUP] + 1;

	for (i = g * KSM_GROUP; i < (g + 1) * KSM_GROUP; i++)
		gen[i] = next;
	for (i = g * KSM_GROUP; i < (g + 1) * KSM_GROUP; i++)
		if (!absent[i] && fill_unit(i))
			judge_fault(last_fault.code, last_fault.addr,
				    last_fault.lsb);
	me->rewrites += KSM_GROUP;
}

/* A mark whose unit now maps another pfn is over (the offline missed). */
static void clear_stale_marks(void)
{
	uint64_t m, ent, pfn;
	bool hit;
	int i;

	for (i = 0; i < me->nunits; i++) {
		m = __atomic_load_n(&me->marks[i], __ATOMIC_SEQ_CST);
		if (!m)
			continue;
		ent = soak_pagemap(pm_fd, (uintptr_t)unit_addr(i));
		if (!(ent & HWP_PM_PRESENT))
			continue;
		pfn = ent & HWP_PM_PFN_MASK;
		hit = me->type == T_HUGETLB ?
		      m >= pfn && m < pfn + SOAK_HPAGE_PAGES : m == pfn;
		if (!hit)
			__atomic_compare_exchange_n(&me->marks[i], &m, 0,
						    false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
	}
}

/*
 * fsync() may fail with EIO once after a dirty page of the file was hard
 * offlined: only while such a loss is pending (a marked unit, or a loss
 * since the last fsync).
 */
static bool any_mark(void)
{
	int i;

	for (i = 0; i < me->nunits; i++)
		if (__atomic_load_n(&me->marks[i], __ATOMIC_SEQ_CST))
			return true;
	return false;
}

static void dirty_fsync(void)
{
	bool pending = eio_window > 0 || any_mark();
	int err;

	err = fsync(data_fd) ? errno : 0;
	/* An offline marked while fsync ran counts too. */
	pending |= any_mark();
	soak_count(OP_FSYNC, -err, (const int[]){ 0, -EIO }, 2);
	if (err == EIO && pending) {
		me->eio_expected++;
		eio_window = 0;
		return;
	}
	if (err == EIO) {
		me->eio_unexpected++;
		soak_violation(V_EIO, "file_dirty: fsync EIO with no page "
			       "offlined (%llu units lost so far)",
			       (unsigned long long)me->units_lost);
	}
	if (!err)
		eio_window = 0;
}

static void pass_end(void)
{
	size_t len;
	int first;

	switch (me->type) {
	case T_SWAP:
		/* A random quarter goes out to zram; the next pass reads it. */
		len = me->nunits / 4;
		first = soak_below(&rng, me->nunits - len);
		soak_count(OP_PAGEOUT, madvise(unit_addr(first),
					       len * me->unit, MADV_PAGEOUT) ?
			   -errno : 0, (const int[]){ 0 }, 1);
		break;
	case T_FILE_DIRTY:
		dirty_fsync();
		break;
	case T_KSM:
		rewrite_ksm_group();
		break;
	default:
		break;
	}
	clear_stale_marks();
}

static void pass(bool final)
{
	int i, r;

	for (i = 0; i < me->nunits; i++) {
		if (!(i & 15) || me->type == T_HUGETLB)
			serve();
		if (dead[i])
			continue;
		if (absent[i]) {
			if (final || !map_huge(i) || !fill_unit(i))
				continue;
			judge_fault(last_fault.code, last_fault.addr,
				    last_fault.lsb);
			continue;
		}
		r = verify_unit(i);
		if (r < 0) {
			judge_fault(last_fault.code, last_fault.addr,
				    last_fault.lsb);
			continue;
		}
		if (r > 0) {
			judge_mismatch(i);
			continue;
		}
		me->bytes_verified += me->unit;
		if (final || !rewrites() || soak_below(&rng, 8))
			continue;
		gen[i]++;
		me->rewrites++;
		if (fill_unit(i))
			judge_fault(last_fault.code, last_fault.addr,
				    last_fault.lsb);
	}
	if (!final)
		pass_end();
	__atomic_add_fetch(&me->heartbeat, 1, __ATOMIC_SEQ_CST);
}

/* An anonymous region, huge-page aligned for the THP worker. */
static char *map_anon(size_t len, int advice)
{
	char *raw, *p;

	raw = mmap(NULL, len + SOAK_HPAGE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	p = (char *)(((uintptr_t)raw + SOAK_HPAGE - 1) & ~(SOAK_HPAGE - 1));
	if (madvise(p, len, advice))
		return NULL;
	return p;
}

static char *map_file(const char *name, size_t len, bool clean)
{
	char path[64], *p;
	int i, prot = PROT_READ | (clean ? 0 : PROT_WRITE);

	snprintf(path, sizeof(path), SOAK_DISK "/%s", name);
	data_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (data_fd < 0 || ftruncate(data_fd, len))
		return NULL;
	if (clean) {
		/* Written with write(2) and synced: clean page cache. */
		uint64_t *buf = malloc(me->unit);

		for (i = 0; buf && i < me->nunits; i++) {
			fill_words(buf, me->unit / 8, pattern_base(i));
			if (pwrite(data_fd, buf, me->unit,
				   (off_t)i * me->unit) != (ssize_t)me->unit)
				return NULL;
		}
		free(buf);
		if (fsync(data_fd))
			return NULL;
	}
	p = mmap(NULL, len, prot, MAP_SHARED, data_fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static char *map_huge_region(size_t len)
{
	char *raw = mmap(NULL, len + SOAK_HPAGE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	return (char *)(((uintptr_t)raw + SOAK_HPAGE - 1) & ~(SOAK_HPAGE - 1));
}

static char *map_type(size_t len)
{
	char *p;

	switch (me->type) {
	case T_THP:
		return map_anon(len, MADV_HUGEPAGE);
	case T_KSM:
		p = map_anon(len, MADV_NOHUGEPAGE);
		return p && !madvise(p, len, MADV_MERGEABLE) ? p : NULL;
	case T_SHMEM:
		data_fd = memfd_create("soak-shmem", 0);
		if (data_fd < 0 || ftruncate(data_fd, len))
			return NULL;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 data_fd, 0);
		return p == MAP_FAILED ? NULL : p;
	case T_FILE_CLEAN:
		return map_file("soak-clean.dat", len, true);
	case T_FILE_DIRTY:
		return map_file("soak-dirty.dat", len, false);
	case T_HUGETLB:
		return map_huge_region(len);
	default:
		return map_anon(len, MADV_NOHUGEPAGE);
	}
}

static int setup(void)
{
	size_t len;
	char *p;
	int i;

	me->nunits = type_units[me->type];
	me->unit = me->type == T_HUGETLB ? SOAK_HPAGE : hwp_page_size();
	len = me->unit * me->nunits;
	p = map_type(len);
	if (!p)
		return -errno;
	me->base = (uintptr_t)p;
	for (i = 0; i < me->nunits; i++) {
		if (me->type == T_HUGETLB && !map_huge(i))
			return -ENOMEM;
		if (me->type != T_FILE_CLEAN && fill_unit(i))
			return -EFAULT;
	}
	if (me->type == T_FILE_DIRTY && fsync(data_fd))
		return -errno;
	return 0;
}

void soak_worker_main(struct soak_worker *w)
{
	struct sigaction sa;
	int err;

	me = w;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = worker_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);
	prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0);
	/* Verify with the time the controller leaves. */
	if (nice(19) < 0)
		soak_violation(V_WORKER, "%s: nice: %s", soak_type_name[me->type],
			       strerror(errno));
	soak_rng_init(&rng, soak->seed, 100 + me->type);
	pm_fd = open("/proc/self/pagemap", O_RDONLY);
	err = setup();
	if (err) {
		soak_violation(V_WORKER, "%s: setup failed: %s", soak_type_name[me->type],
			       strerror(-err));
		_exit(2);
	}
	__atomic_store_n(&me->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&soak->stop, __ATOMIC_SEQ_CST)) {
		pass(false);
		usleep(10000);
	}
	pass(true);
	_exit(0);
}

/*
 * The machine the workers need: zram swap, THP and khugepaged, ksmd, a
 * huge page pool with room for replacements.
 */
int soak_worker_setup_system(void)
{
	static const char * const knobs[][2] = {
		{ "/sys/kernel/mm/transparent_hugepage/enabled", "madvise" },
		{ "/sys/kernel/mm/transparent_hugepage/defrag", "madvise" },
		{ "/sys/kernel/mm/transparent_hugepage/khugepaged/"
		  "scan_sleep_millisecs", "100" },
		{ "/sys/kernel/mm/transparent_hugepage/khugepaged/"
		  "alloc_sleep_millisecs", "1000" },
		{ "/sys/kernel/mm/transparent_hugepage/khugepaged/"
		  "pages_to_scan", "4096" },
		{ "/sys/kernel/mm/ksm/sleep_millisecs", "20" },
		{ "/sys/kernel/mm/ksm/pages_to_scan", "1000" },
		{ "/sys/kernel/mm/ksm/run", "1" },
		{ "/proc/sys/vm/memory_failure_early_kill", "0" },
		{ "/proc/sys/vm/nr_hugepages", "20" },
	};
	unsigned int i;
	int err;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		err = hwp_write_file(knobs[i][0], knobs[i][1]);
		if (err) {
			printf("setup: %s: %s\n", knobs[i][0], strerror(-err));
			return err;
		}
	}
	if (hwp_meminfo_kb("SwapTotal") <= 0) {
		err = hwp_write_file("/sys/block/zram0/disksize", "256M");
		if (err || system("mkswap /dev/zram0 >/dev/null 2>&1 && "
				  "swapon /dev/zram0")) {
			printf("setup: cannot swap on /dev/zram0\n");
			return -ENODEV;
		}
	}
	return 0;
}
