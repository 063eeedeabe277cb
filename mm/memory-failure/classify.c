// SPDX-License-Identifier: GPL-2.0
/*
 * What kind of page a hard offline report hit, told from its flags alone.
 *
 * The flags are a snapshot the handler took under the folio lock before it
 * unmapped the page, with the dirty bit of the page after unmapping added:
 * unmapping moves the dirty bits of the page table entries to the folio,
 * and clears PG_mlocked (the page goes back to the evictable LRU), so
 * neither the snapshot nor the page afterwards tells the whole story on
 * its own.
 */
#include <linux/bits.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/page-flags.h>

#include "internal.h"

/* The first row whose @mask bits equal @value wins; the last always does. */
struct mf_class_row {
	unsigned long mask;
	unsigned long value;
	enum mf_action_page_type type;
};

#define MF_F(flag)	BIT(PG_##flag)
#define MF_SWAP		(MF_F(swapcache) | MF_F(swapbacked))

static const struct mf_class_row mf_class_rows[] = {
	{ MF_F(reserved), MF_F(reserved), MF_MSG_KERNEL },
	{ MF_F(head), MF_F(head), MF_MSG_HUGE },
	{ MF_SWAP | MF_F(dirty), MF_SWAP | MF_F(dirty), MF_MSG_DIRTY_SWAPCACHE },
	{ MF_SWAP | MF_F(dirty), MF_SWAP, MF_MSG_CLEAN_SWAPCACHE },
	{ MF_F(mlocked) | MF_F(dirty), MF_F(mlocked) | MF_F(dirty),
	  MF_MSG_DIRTY_MLOCKED_LRU },
	{ MF_F(mlocked) | MF_F(dirty), MF_F(mlocked), MF_MSG_CLEAN_MLOCKED_LRU },
	{ MF_F(unevictable) | MF_F(dirty), MF_F(unevictable) | MF_F(dirty),
	  MF_MSG_DIRTY_UNEVICTABLE_LRU },
	{ MF_F(unevictable) | MF_F(dirty), MF_F(unevictable),
	  MF_MSG_CLEAN_UNEVICTABLE_LRU },
	{ MF_F(lru) | MF_F(dirty), MF_F(lru) | MF_F(dirty), MF_MSG_DIRTY_LRU },
	{ MF_F(lru) | MF_F(dirty), MF_F(lru), MF_MSG_CLEAN_LRU },
	{ 0, 0, MF_MSG_UNKNOWN },
};

#undef MF_SWAP
#undef MF_F

/**
 * mf_classify - the kind of page a set of page flags describes
 * @flags: page->flags as the handler saw them before unmapping, with
 *	   PG_dirty of the page after unmapping added
 *
 * A free page never gets here (the handler takes it off the free lists
 * before it looks at flags), nor does a page the handler could not take a
 * reference on.
 *
 * Context: any context; reads nothing but @flags.
 * Return: the page type under which the result is booked and which
 * containment mf_contain() applies.
 */
enum mf_action_page_type mf_classify(unsigned long flags)
{
	const struct mf_class_row *row = mf_class_rows;

	while ((flags & row->mask) != row->value)
		row++;
	return row->type;
}
