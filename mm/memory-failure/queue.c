// SPDX-License-Identifier: GPL-2.0
/*
 * memory_failure_queue(): reports from code that cannot handle a memory
 * failure where it stands (interrupt handlers, firmware notifications,
 * kernel code that holds locks when a machine-check-safe copy fails),
 * handed to a worker on the reporting CPU, which calls memory_failure()
 * or soft_offline_page() in process context.
 *
 * No report is dropped unseen. Each CPU keeps a ring for ordinary bursts;
 * when it is full a report waits on an overflow list, in memory allocated
 * without sleeping, of at most MF_QUEUE_OVERFLOW_MAX entries; only when
 * that fails too is it lost, counted and logged (rate-limited) with its
 * pfn and the count. A report of a pfn that already waits with the same
 * flags is merged into it. Reports are handled oldest first.
 *
 * A hard offline report can find its page off the LRU for a moment: the
 * migration whose copy failed on it reports it before putting it back.
 * The report then keeps the page claimed and is tried again by a delayed
 * work of its own, a few times with a growing delay, before the page is
 * taken as whatever it is by then.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/list.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <kunit/visibility.h>

#include "internal.h"
#include "queue.h"

static DEFINE_PER_CPU(struct mf_queue, mf_queues);

/* Reports that could be neither queued nor kept, since boot. */
static atomic_long_t mf_queue_lost = ATOMIC_LONG_INIT(0);

/*
 * A deferred report is tried again after 10, 20, 40, ... 1280 ms: 2.5 s in
 * all, longer than a large move_pages() call keeps a failed page isolated.
 */
#define MF_DEFER_TRIES	8
#define MF_DEFER_MSECS	10

/**
 * struct mf_deferred - a hard offline report waiting to be tried again
 * @dwork: the delayed work that tries it
 * @report: the report; it holds the page's claim
 * @tries: how many times it was deferred
 */
struct mf_deferred {
	struct delayed_work dwork;
	struct mf_report report;
	unsigned int tries;
};

/**
 * mf_queue_init - make @q an empty queue
 * @q: the queue
 * @work: what its worker runs
 *
 * Context: Any context, before @q is used.
 */
VISIBLE_IF_KUNIT void mf_queue_init(struct mf_queue *q, work_func_t work)
{
	raw_spin_lock_init(&q->lock);
	q->head = 0;
	q->len = 0;
	INIT_LIST_HEAD(&q->overflow);
	q->nr_overflow = 0;
	INIT_WORK(&q->work, work);
}
EXPORT_SYMBOL_IF_KUNIT(mf_queue_init);

/**
 * mf_queue_add - queue a report
 * @q: the queue, locked
 * @r: the report
 * @spare: an unused overflow entry, or NULL; taken (set to NULL) when used
 *
 * A new report goes to the ring while it has room and nothing waits in
 * the overflow, else to the overflow, in @spare.
 *
 * Return: MF_QUEUE_ADDED or MF_QUEUE_MERGED when the report will be
 * handled, MF_QUEUE_FULL when it has to go to the overflow and there is
 * no @spare or no room there.
 *
 * Context: Any context; @q->lock held.
 */
VISIBLE_IF_KUNIT enum mf_queue_result
mf_queue_add(struct mf_queue *q, const struct mf_report *r,
	     struct mf_overflow **spare)
{
	const struct mf_report *w;
	struct mf_overflow *o;
	unsigned int i;

	lockdep_assert_held(&q->lock);
	for (i = 0; i < q->len; i++) {
		w = &q->ring[(q->head + i) % MF_QUEUE_RING];
		if (w->pfn == r->pfn && w->flags == r->flags)
			return MF_QUEUE_MERGED;
	}
	list_for_each_entry(o, &q->overflow, list)
		if (o->report.pfn == r->pfn && o->report.flags == r->flags)
			return MF_QUEUE_MERGED;
	/* Behind an overflow, a report waits there too: oldest first. */
	if (q->len < MF_QUEUE_RING && list_empty(&q->overflow)) {
		q->ring[(q->head + q->len) % MF_QUEUE_RING] = *r;
		q->len++;
		return MF_QUEUE_ADDED;
	}
	if (!*spare || q->nr_overflow >= MF_QUEUE_OVERFLOW_MAX)
		return MF_QUEUE_FULL;
	(*spare)->report = *r;
	list_add_tail(&(*spare)->list, &q->overflow);
	q->nr_overflow++;
	*spare = NULL;
	return MF_QUEUE_ADDED;
}
EXPORT_SYMBOL_IF_KUNIT(mf_queue_add);

/**
 * mf_queue_take - take the oldest report of the ring, else of the overflow
 * @q: the queue, locked
 * @r: where the report goes
 * @spent: set to the overflow entry that held it, for the caller to free
 *	   once @q is unlocked; NULL if none
 *
 * Return: false if @q is empty.
 *
 * Context: Any context; @q->lock held.
 */
VISIBLE_IF_KUNIT bool mf_queue_take(struct mf_queue *q, struct mf_report *r,
				    struct mf_overflow **spent)
{
	struct mf_overflow *o;

	lockdep_assert_held(&q->lock);
	*spent = NULL;
	if (q->len) {
		*r = q->ring[q->head];
		q->head = (q->head + 1) % MF_QUEUE_RING;
		q->len--;
		return true;
	}
	o = list_first_entry_or_null(&q->overflow, struct mf_overflow, list);
	if (!o)
		return false;
	list_del(&o->list);
	q->nr_overflow--;
	*r = o->report;
	*spent = o;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(mf_queue_take);

/*
 * Memory for an overflow entry, when this context may allocate at all:
 * not under a raw lock or with interrupts off on PREEMPT_RT.
 */
static struct mf_overflow *mf_overflow_alloc(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT) && !preemptible())
		return NULL;
	return kmalloc(sizeof(struct mf_overflow), GFP_ATOMIC | __GFP_NOWARN);
}

static void mf_defer(struct mf_deferred *d)
{
	unsigned long delay = msecs_to_jiffies(MF_DEFER_MSECS << d->tries);

	d->tries++;
	queue_delayed_work(system_unbound_wq, &d->dwork, delay);
}

/* Try a deferred report again; the last time, whatever the page does. */
static void mf_deferred_work(struct work_struct *work)
{
	struct mf_deferred *d = container_of(to_delayed_work(work),
					     struct mf_deferred, dwork);
	bool deferred;

	mf_queued_hard_offline(d->report.pfn, d->report.flags,
			       d->tries < MF_DEFER_TRIES ? MF_QUEUED_AGAIN :
			       MF_QUEUED_LAST, &deferred);
	if (deferred)
		mf_defer(d);
	else
		kfree(d);
}

/*
 * Hard offline for a queued report. An action-required report is about
 * the task that runs it (memory_failure_queue_kick() on its way back to
 * user space), and is never deferred.
 */
static void mf_hard_offline_report(const struct mf_report *r)
{
	struct mf_deferred *d;
	bool deferred;

	if (r->flags & MF_ACTION_REQUIRED) {
		memory_failure(r->pfn, r->flags);
		return;
	}
	mf_queued_hard_offline(r->pfn, r->flags, MF_QUEUED_NEW, &deferred);
	if (!deferred)
		return;
	d = kmalloc(sizeof(*d), GFP_KERNEL | __GFP_NOWARN);
	if (!d) {
		/* The claim is this report's: no waiting, then. */
		mf_queued_hard_offline(r->pfn, r->flags, MF_QUEUED_LAST,
				       &deferred);
		return;
	}
	INIT_DELAYED_WORK(&d->dwork, mf_deferred_work);
	d->report = *r;
	d->tries = 0;
	pr_info_ratelimited("%#lx: page in transit, handling it again later\n",
			    r->pfn);
	mf_defer(d);
}

static void mf_queue_work(struct work_struct *work)
{
	struct mf_queue *q = container_of(work, struct mf_queue, work);
	struct mf_overflow *spent;
	struct mf_report r;
	unsigned long flags;
	bool got;

	for (;;) {
		raw_spin_lock_irqsave(&q->lock, flags);
		got = mf_queue_take(q, &r, &spent);
		raw_spin_unlock_irqrestore(&q->lock, flags);
		kfree(spent);
		if (!got)
			break;
		if (r.flags & MF_SOFT_OFFLINE)
			soft_offline_page(r.pfn, r.flags);
		else
			mf_hard_offline_report(&r);
	}
}

/**
 * memory_failure_queue - have a memory failure handled in process context
 * @pfn: the page frame with the error
 * @flags: MF_* flags for memory_failure(), or MF_SOFT_OFFLINE to have the
 *	   page soft-offlined instead
 *
 * For reporters that cannot handle the error where they are: a scrubber's
 * or firmware's notification in interrupt context, kernel code that holds
 * locks when a machine-check-safe copy fails. The report goes to a worker
 * on this CPU (a caller in process context may have moved to another CPU
 * by the time its report overflows); memory_failure_queue_kick() runs it
 * at once. Beyond the ring, reports are kept only by callers that may
 * allocate: on PREEMPT_RT not from hard interrupt context or under a raw
 * lock.
 *
 * Context: Any context but NMI; does not sleep.
 */
void memory_failure_queue(unsigned long pfn, int flags)
{
	struct mf_report r = { .pfn = pfn, .flags = flags };
	struct mf_overflow *spare = NULL;
	enum mf_queue_result res;
	unsigned long irqflags;
	struct mf_queue *q;
	int tries;

	for (tries = 0; tries < 2; tries++) {
		local_irq_save(irqflags);
		q = this_cpu_ptr(&mf_queues);
		raw_spin_lock(&q->lock);
		res = mf_queue_add(q, &r, &spare);
		if (res != MF_QUEUE_FULL)
			schedule_work_on(smp_processor_id(), &q->work);
		raw_spin_unlock(&q->lock);
		local_irq_restore(irqflags);
		/* Full: allocate an overflow entry with no lock held, retry. */
		if (res != MF_QUEUE_FULL || spare)
			break;
		spare = mf_overflow_alloc();
		if (!spare)
			break;
	}
	kfree(spare);
	if (res == MF_QUEUE_FULL) {
		long lost = atomic_long_inc_return(&mf_queue_lost);

		pr_err_ratelimited("%#lx: report lost, no memory to queue it (%ld lost)\n",
				   pfn, lost);
	}
}
EXPORT_SYMBOL_GPL(memory_failure_queue);

/**
 * memory_failure_queue_kick - handle the reports queued on a CPU now
 * @cpu: the CPU whose queue to empty
 *
 * For a reporter that must not return to user space before its report
 * was handled. An action-required report is handled before this returns;
 * another hard offline report whose page is in transit may be deferred
 * (the page stays claimed meanwhile).
 *
 * Context: Process context; may sleep.
 */
void memory_failure_queue_kick(int cpu)
{
	struct mf_queue *q = per_cpu_ptr(&mf_queues, cpu);

	cancel_work_sync(&q->work);
	mf_queue_work(&q->work);
}

static int __init mf_queues_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		mf_queue_init(per_cpu_ptr(&mf_queues, cpu), mf_queue_work);
	return 0;
}
early_initcall(mf_queues_init);
