/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Machine-check-safe reads of whole pages for kernel agents.
 *
 * An agent that reads a user page for its own purposes (KSM hashing and
 * comparing candidates, for instance) must not die on an uncorrectable
 * error in it: the work is optional and the page belongs to somebody
 * else. These helpers read with machine-check-safe loads; when a read
 * fails they report the page with memory_failure_queue() and return
 * -EHWPOISON, and the caller gives up on that page. A page already marked
 * PG_hwpoison is not read: -EHWPOISON at once, and no second report.
 *
 * Without ARCH_HAS_COPY_MC they are the plain operations, architecture
 * hooks (memcmp_pages()) included.
 */
#ifndef _LINUX_MC_READ_H
#define _LINUX_MC_READ_H

#include <linux/types.h>

struct folio;
struct iov_iter;
struct page;

#if defined(CONFIG_MEMORY_FAILURE) && defined(CONFIG_ARCH_HAS_COPY_MC)
int __must_check page_xxhash_mc(struct page *page, u64 *hash);
int __must_check memcmp_pages_mc(struct page *page1, struct page *page2,
				 int *result);
int __must_check page_zero_filled_mc(struct page *page, bool *zero);
int __must_check folio_zero_filled_mc(struct folio *folio, bool *zero);
int __must_check copy_from_page_mc(struct page *page, void *dst,
				   const void *src, size_t len);
ssize_t __must_check copy_page_to_iter_mc(struct page *page, size_t offset,
					  size_t bytes, struct iov_iter *i);
#else
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uio.h>
#include <linux/xxhash.h>

static inline int __must_check page_xxhash_mc(struct page *page, u64 *hash)
{
	void *addr = kmap_local_page(page);

	*hash = xxh64(addr, PAGE_SIZE, 0);
	kunmap_local(addr);
	return 0;
}

static inline int __must_check memcmp_pages_mc(struct page *page1,
					       struct page *page2, int *result)
{
	*result = memcmp_pages(page1, page2);
	return 0;
}

static inline int __must_check page_zero_filled_mc(struct page *page,
						   bool *zero)
{
	/* memcmp_pages(): arm64 also compares MTE tags. */
	*zero = !memcmp_pages(page, ZERO_PAGE(0));
	return 0;
}

static inline int __must_check folio_zero_filled_mc(struct folio *folio,
						    bool *zero)
{
	long i;

	*zero = true;
	for (i = 0; i < folio_nr_pages(folio) && *zero; i++) {
		void *addr = kmap_local_folio(folio, i * PAGE_SIZE);

		*zero = !memchr_inv(addr, 0, PAGE_SIZE);
		kunmap_local(addr);
	}
	return 0;
}

static inline int __must_check copy_from_page_mc(struct page *page, void *dst,
						 const void *src, size_t len)
{
	memcpy(dst, src, len);
	return 0;
}

static inline ssize_t __must_check
copy_page_to_iter_mc(struct page *page, size_t offset, size_t bytes,
		     struct iov_iter *i)
{
	return copy_page_to_iter(page, offset, bytes, i);
}
#endif

#endif /* _LINUX_MC_READ_H */
