/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The queue of memory_failure_queue(), shared by queue.c and its KUnit
 * test.
 */
#ifndef _MM_MEMORY_FAILURE_QUEUE_H
#define _MM_MEMORY_FAILURE_QUEUE_H

#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

/* A report waiting in a queue of memory_failure_queue(). */
struct mf_report {
	unsigned long pfn;
	int flags;
};

/* A report that did not fit in its CPU's ring. */
struct mf_overflow {
	struct list_head list;
	struct mf_report report;
};

/* Reports a ring holds before they overflow into allocated entries. */
#define MF_QUEUE_RING	32
/* Overflow entries a CPU keeps at most: a bound on a report storm. */
#define MF_QUEUE_OVERFLOW_MAX	1024

/**
 * struct mf_queue - one CPU's reports waiting for its worker
 * @lock: protects @head, @len, @ring and @overflow; taken with interrupts
 *	  off, from any context but NMI
 * @head: index of the oldest report in @ring
 * @len: number of reports in @ring
 * @ring: reports, oldest first from @head
 * @overflow: struct mf_overflow entries, newer than every report in @ring
 * @nr_overflow: number of entries in @overflow
 * @work: the worker that hands each report to its handler
 */
struct mf_queue {
	raw_spinlock_t lock;
	unsigned int head;
	unsigned int len;
	struct mf_report ring[MF_QUEUE_RING];
	struct list_head overflow;
	unsigned int nr_overflow;
	struct work_struct work;
};

enum mf_queue_result {
	MF_QUEUE_ADDED,		/* queued */
	MF_QUEUE_MERGED,	/* the same report already waits */
	MF_QUEUE_FULL,		/* not queued: no room, or no spare entry */
};

#if IS_ENABLED(CONFIG_KUNIT)
void mf_queue_init(struct mf_queue *q, work_func_t work);
enum mf_queue_result mf_queue_add(struct mf_queue *q,
				  const struct mf_report *r,
				  struct mf_overflow **spare);
bool mf_queue_take(struct mf_queue *q, struct mf_report *r,
		   struct mf_overflow **spent);
#endif

#endif /* _MM_MEMORY_FAILURE_QUEUE_H */
