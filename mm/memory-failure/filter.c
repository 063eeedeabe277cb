// SPDX-License-Identifier: GPL-2.0
/*
 * Filters that confine injected memory failures to the pages a test owns:
 * by block device, by page flags, by memory cgroup. The injector module
 * sets them through debugfs; every handler asks hwpoison_filter().
 */
#include <linux/fs.h>
#include <linux/kdev_t.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/page-flags.h>
#include <kunit/visibility.h>

#include "internal.h"

#define MF_FILTER_ANY_DEV	(~0U)

struct mf_filter mf_filter = {
	.dev_major = MF_FILTER_ANY_DEV,
	.dev_minor = MF_FILTER_ANY_DEV,
};
EXPORT_SYMBOL_GPL(mf_filter);

/* Does the block device under @folio's file match? */
static bool dev_matches(const struct mf_filter *f, struct folio *folio)
{
	u32 major = READ_ONCE(f->dev_major);
	u32 minor = READ_ONCE(f->dev_minor);
	struct address_space *mapping;
	dev_t dev;

	if (major == MF_FILTER_ANY_DEV && minor == MF_FILTER_ANY_DEV)
		return true;
	/* A device is asked for: a page without a file cannot match it. */
	mapping = folio_mapping(folio);
	if (!mapping || !mapping->host)
		return false;
	dev = mapping->host->i_sb->s_dev;
	return (major == MF_FILTER_ANY_DEV || major == MAJOR(dev)) &&
	       (minor == MF_FILTER_ANY_DEV || minor == MINOR(dev));
}

/* Do the /proc/kpageflags bits under the mask have the wanted value? */
static bool flags_match(const struct mf_filter *f, struct page *page)
{
	u64 mask = READ_ONCE(f->flags_mask);

	if (!mask)
		return true;
	return (stable_page_flags(page) & mask) == READ_ONCE(f->flags_value);
}

#ifdef CONFIG_MEMCG
/* Is @page charged to the wanted memory cgroup? */
static bool memcg_matches(const struct mf_filter *f, struct page *page)
{
	u64 ino = READ_ONCE(f->memcg);

	return !ino || page_cgroup_ino(page) == ino;
}
#else
static bool memcg_matches(const struct mf_filter *f, struct page *page)
{
	return true;
}
#endif

/**
 * mf_filter_rejects - do filter settings keep a report off a page?
 * @f: the settings
 * @page: the page a report names
 *
 * Context: Any context. Without the page lock the answer is a snapshot:
 * the page may change owner, and handlers ask again with it locked.
 * Return: true if @f is enabled and @page fails one of its filters.
 */
VISIBLE_IF_KUNIT bool mf_filter_rejects(const struct mf_filter *f,
					struct page *page)
{
	if (!READ_ONCE(f->enable))
		return false;
	return !dev_matches(f, page_folio(page)) || !flags_match(f, page) ||
	       !memcg_matches(f, page);
}
EXPORT_SYMBOL_IF_KUNIT(mf_filter_rejects);

/**
 * hwpoison_filter - do the injector's filters keep a report off @page?
 * @page: the page a report names
 *
 * Context: Any context; see mf_filter_rejects().
 * Return: true if the filters are on and @page fails one of them.
 */
bool hwpoison_filter(struct page *page)
{
	return mf_filter_rejects(&mf_filter, page);
}
EXPORT_SYMBOL_GPL(hwpoison_filter);
