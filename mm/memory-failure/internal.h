/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of the memory failure subsystem share, and nothing else.
 */
#ifndef _MM_MEMORY_FAILURE_INTERNAL_H
#define _MM_MEMORY_FAILURE_INTERNAL_H

#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/types.h>

#include "../internal.h"	/* MAGIC_HWPOISON, hwpoison_filter() */

/*
 * mf_mutex serialises every change of a page's poison state made by a
 * handler: memory_failure(), soft_offline_page() and unpoison_memory() hold
 * it across their whole decision, and with it the counters that
 * mf_action_result() books, and the bad-page records of hugetlb folios
 * (hugetlb.c says who else touches those, and when).
 */
extern struct mutex mf_mutex;

void mf_note_hw_error(void);
bool mf_hw_error_seen(void);

/**
 * mf_page_taken_off - is @page poisoned and held off the free lists?
 * @page: the page
 *
 * take_page_off_buddy() leaves MAGIC_HWPOISON in page->private of a free
 * page that it took off the buddy allocator for good; that page has no
 * other owner and put_page_back_buddy() is the only way back.
 *
 * Return: true if @page is such a page.
 */
static inline bool mf_page_taken_off(struct page *page)
{
	return PageHWPoison(page) && page_private(page) == MAGIC_HWPOISON;
}

/**
 * struct mf_target - the page a hard offline report is about
 * @pfn: the reported page frame; the only form that is logged
 * @page: its struct page: online memory, or, before a pfn that is not
 *	  online is resolved further, the page a caller handed over (or NULL)
 * @flags: the report's MF_* flags, as the caller gave them
 * @held: the handler holds a reference on @page's folio
 *
 * The pfn is resolved once, by memory_failure(); everything after works on
 * the target. The handler's reference is taken by mf_grab() (or handed
 * over by memory_failure_held()'s caller), dropped by mf_target_put(), or
 * kept for good as the poison reference of a contained page.
 */
struct mf_target {
	unsigned long pfn;
	struct page *page;
	int flags;
	bool held;
};

/* target.c: how mf_grab() found the page, see there. */
enum mf_grab_verdict {
	MF_GRAB_IN_USE,
	MF_GRAB_FREE,
	MF_GRAB_FREE_LOST,
	MF_GRAB_RACED,
	MF_GRAB_UNHANDLED,
};

bool mf_claim(struct mf_target *t);
void mf_unclaim(struct mf_target *t);
void mf_target_put(struct mf_target *t);
enum mf_grab_verdict mf_grab(struct mf_target *t);

/* classify.c and contain.c: what the page is, and taking it out of use. */
enum mf_action_page_type mf_classify(unsigned long flags);
bool mf_take_off_free(struct page *page);
struct folio *mf_split_folio(struct page *page);
bool mf_unmap_and_kill(struct mf_target *t, struct folio *folio);
int mf_contain(struct mf_target *t, struct folio *folio, unsigned long before);
int mf_report_again(struct mf_target *t, enum mf_action_page_type type);

/* core.c: a report from the queue, which may be deferred. */
enum mf_when {
	MF_NOW,			/* handled now, whatever the page is doing */
	MF_QUEUED_NEW,		/* from the queue, first time: may be deferred */
	MF_QUEUED_AGAIN,	/* deferred before, holds the claim: again */
	MF_QUEUED_LAST,		/* deferred before, holds the claim: last time */
};

int mf_queued_hard_offline(unsigned long pfn, int flags, enum mf_when when,
			   bool *deferred);

/**
 * struct mf_filter - which pages injected reports may touch
 * @enable: nonzero turns the filters below on; they also apply to
 *	    reports from the hardware while on
 * @dev_major: major number of the block device that holds the page's
 *	       file, ~0U for any
 * @dev_minor: minor number of that device, ~0U for any
 * @flags_mask: /proc/kpageflags bits that are compared
 * @flags_value: the value those bits must have
 * @memcg: inode number of the memory cgroup the page is charged to, 0 for
 *	   any
 *
 * The injector module's debugfs files write these words directly; readers
 * use READ_ONCE(), which sees each setting whole where the machine stores
 * it in one access (not a u64 on 32-bit), and never a consistent set:
 * changing filters while reports arrive is the operator's race.
 */
struct mf_filter {
	u32 enable;
	u32 dev_major;
	u32 dev_minor;
	u64 flags_mask;
	u64 flags_value;
	u64 memcg;
};

extern struct mf_filter mf_filter;

#if IS_ENABLED(CONFIG_KUNIT)
bool mf_filter_rejects(const struct mf_filter *f, struct page *page);
#endif

int mf_action_result(unsigned long pfn, enum mf_action_page_type type,
		     enum mf_result result);
#if IS_ENABLED(CONFIG_KUNIT)
void mf_count_result(unsigned long pfn, enum mf_action_page_type type,
		     enum mf_result result);
#endif
const char *mf_page_type_name(enum mf_action_page_type type);

/*
 * kill.c: the processes to tell about a poisoned page. task_early_kill()
 * and add_to_kill_ksm(), which KSM's rmap walk calls, are declared in
 * mm/internal.h.
 */
void mf_collect_victims(struct folio *folio, struct page *page,
			struct list_head *victims, bool force_early);
#ifdef CONFIG_FS_DAX
void mf_collect_fsdax_victims(struct page *page,
			      struct address_space *mapping, pgoff_t pgoff,
			      struct list_head *victims, bool pre_remove);
#endif
void mf_signal_victims(struct list_head *victims, bool lost,
		       unsigned long pfn, int flags);
void mf_unmap_dax_and_signal(struct list_head *victims, unsigned long pfn,
			     struct address_space *mapping, pgoff_t index,
			     unsigned long size, int flags);
int mf_kill_accessing(unsigned long pfn, int flags);

/* devmap.c: ZONE_DEVICE memory. */
struct dev_pagemap;
int mf_handle_devmap(unsigned long pfn, int flags, struct dev_pagemap *pgmap);

/*
 * hugetlb.c: how mf_hugetlb_claim() found a reported hugetlb page. A busy
 * folio is poisoned all the same on the second try (MF_NO_RETRY).
 */
enum mf_huge_claim {
	MF_HUGE_NOT_HUGETLB,	/* not a hugetlb folio (any more) */
	MF_HUGE_FREE,		/* free: poisoned, nothing held */
	MF_HUGE_IN_USE,		/* in use: poisoned, a reference held */
	MF_HUGE_BUSY,		/* changing state: try again */
	MF_HUGE_FOLIO_POISONED,	/* the folio was poisoned before */
	MF_HUGE_PAGE_POISONED,	/* this very page was reported before */
};

#ifdef CONFIG_HUGETLB_PAGE
enum mf_huge_claim mf_hugetlb_claim(struct page *page, int flags, bool held,
				    bool *migratable_cleared);
unsigned long folio_free_raw_hwp(struct folio *folio, bool move_flag);
bool mf_hugetlb_offline(struct mf_target *t, int *ret);
#else
static inline bool mf_hugetlb_offline(struct mf_target *t, int *ret)
{
	return false;
}

static inline unsigned long folio_free_raw_hwp(struct folio *folio,
					       bool move_flag)
{
	return 0;
}
#endif

#endif /* _MM_MEMORY_FAILURE_INTERNAL_H */
