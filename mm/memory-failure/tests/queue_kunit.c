// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of memory_failure_queue()'s queue: the ring, the overflow
 * behind it, merging of duplicate reports.
 */
#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "../queue.h"

static void queue_work_unused(struct work_struct *work)
{
}

static struct mf_queue *test_queue(struct kunit *test)
{
	struct mf_queue *q = kunit_kzalloc(test, sizeof(*q), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, q);
	mf_queue_init(q, queue_work_unused);
	return q;
}

static enum mf_queue_result queue_add(struct mf_queue *q, unsigned long pfn,
				      int flags, struct mf_overflow **spare)
{
	struct mf_report r = { .pfn = pfn, .flags = flags };
	enum mf_queue_result res;

	raw_spin_lock_irq(&q->lock);
	res = mf_queue_add(q, &r, spare);
	raw_spin_unlock_irq(&q->lock);
	return res;
}

static bool queue_take(struct mf_queue *q, struct mf_report *r)
{
	struct mf_overflow *spent;
	bool got;

	raw_spin_lock_irq(&q->lock);
	got = mf_queue_take(q, r, &spent);
	raw_spin_unlock_irq(&q->lock);
	kfree(spent);
	return got;
}

/*
 * A full ring refuses a report only when there is no spare entry; with
 * one the report overflows, and everything comes out again, oldest first.
 */
static void queue_ring_then_overflow(struct kunit *test)
{
	struct mf_queue *q = test_queue(test);
	struct mf_overflow *none = NULL, *spare;
	struct mf_report r;
	unsigned long pfn;

	for (pfn = 0; pfn < MF_QUEUE_RING; pfn++)
		KUNIT_EXPECT_EQ(test, MF_QUEUE_ADDED,
				queue_add(q, 100 + pfn, 0, &none));
	KUNIT_EXPECT_EQ(test, MF_QUEUE_FULL, queue_add(q, 999, 0, &none));

	spare = kmalloc(sizeof(*spare), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, spare);
	KUNIT_EXPECT_EQ(test, MF_QUEUE_ADDED, queue_add(q, 999, 0, &spare));
	KUNIT_EXPECT_NULL(test, spare);
	kfree(spare);

	for (pfn = 0; pfn < MF_QUEUE_RING; pfn++) {
		KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
		KUNIT_EXPECT_EQ(test, 100 + pfn, r.pfn);
	}
	KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
	KUNIT_EXPECT_EQ(test, 999, r.pfn);
	KUNIT_EXPECT_FALSE(test, queue_take(q, &r));
}

/*
 * Once a report waits in the overflow, newer ones queue behind it even
 * when the ring has room again: nothing is overtaken.
 */
static void queue_overflow_keeps_order(struct kunit *test)
{
	struct mf_queue *q = test_queue(test);
	struct mf_overflow *none = NULL, *spare;
	struct mf_report r;
	unsigned long pfn;

	for (pfn = 0; pfn < MF_QUEUE_RING; pfn++)
		KUNIT_ASSERT_EQ(test, MF_QUEUE_ADDED,
				queue_add(q, 100 + pfn, 0, &none));
	spare = kmalloc(sizeof(*spare), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, spare);
	KUNIT_EXPECT_EQ(test, MF_QUEUE_ADDED, queue_add(q, 999, 0, &spare));
	kfree(spare);

	KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
	KUNIT_EXPECT_EQ(test, 100, r.pfn);
	/* The ring has room, but 999 waits: 555 must go behind it. */
	KUNIT_EXPECT_EQ(test, MF_QUEUE_FULL, queue_add(q, 555, 0, &none));
	spare = kmalloc(sizeof(*spare), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, spare);
	KUNIT_EXPECT_EQ(test, MF_QUEUE_ADDED, queue_add(q, 555, 0, &spare));
	kfree(spare);
	/* A repeat of a report in the overflow is merged, too. */
	KUNIT_EXPECT_EQ(test, MF_QUEUE_MERGED, queue_add(q, 999, 0, &none));

	for (pfn = 1; pfn < MF_QUEUE_RING; pfn++) {
		KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
		KUNIT_EXPECT_EQ(test, 100 + pfn, r.pfn);
	}
	KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
	KUNIT_EXPECT_EQ(test, 999, r.pfn);
	KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
	KUNIT_EXPECT_EQ(test, 555, r.pfn);
	KUNIT_EXPECT_FALSE(test, queue_take(q, &r));
}

/* The same pfn with the same flags is one report; other flags are not. */
static void queue_merges_duplicates(struct kunit *test)
{
	struct mf_queue *q = test_queue(test);
	struct mf_overflow *none = NULL;
	struct mf_report r;

	KUNIT_EXPECT_EQ(test, MF_QUEUE_ADDED, queue_add(q, 7, 0, &none));
	KUNIT_EXPECT_EQ(test, MF_QUEUE_MERGED, queue_add(q, 7, 0, &none));
	KUNIT_EXPECT_EQ(test, MF_QUEUE_ADDED,
			queue_add(q, 7, MF_SOFT_OFFLINE, &none));
	KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
	KUNIT_EXPECT_EQ(test, 0, r.flags);
	KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
	KUNIT_EXPECT_EQ(test, MF_SOFT_OFFLINE, r.flags);
	KUNIT_EXPECT_FALSE(test, queue_take(q, &r));
	/* Once handled, the pfn may be reported again. */
	KUNIT_EXPECT_EQ(test, MF_QUEUE_ADDED, queue_add(q, 7, 0, &none));
}

/* The ring wraps: head moves on as reports are taken. */
static void queue_ring_wraps(struct kunit *test)
{
	struct mf_queue *q = test_queue(test);
	struct mf_overflow *none = NULL;
	struct mf_report r;
	unsigned long i;

	for (i = 0; i < 3 * MF_QUEUE_RING; i++) {
		KUNIT_ASSERT_EQ(test, MF_QUEUE_ADDED,
				queue_add(q, i, 0, &none));
		KUNIT_ASSERT_TRUE(test, queue_take(q, &r));
		KUNIT_EXPECT_EQ(test, i, r.pfn);
	}
	KUNIT_EXPECT_FALSE(test, queue_take(q, &r));
}

static struct kunit_case queue_cases[] = {
	KUNIT_CASE(queue_ring_then_overflow),
	KUNIT_CASE(queue_overflow_keeps_order),
	KUNIT_CASE(queue_merges_duplicates),
	KUNIT_CASE(queue_ring_wraps),
	{}
};

static struct kunit_suite queue_suite = {
	.name = "memory_failure_queue",
	.test_cases = queue_cases,
};

kunit_test_suite(queue_suite);

MODULE_DESCRIPTION("KUnit tests for the memory failure report queue");
MODULE_LICENSE("GPL");
