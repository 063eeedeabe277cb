// SPDX-License-Identifier: GPL-2.0
/*
 * Machine-check-safe reads of whole pages for kernel agents.
 *
 * ksmd, THP split and swap-out read other processes' pages for their own
 * purposes: hashing, comparing, looking for zeroes. An uncorrectable
 * error in such a page must cost them that page, not the machine.
 *
 * Where the architecture has load_mc_ulong(), the helpers read the page
 * a word at a time with it and work on the words as they come, so they
 * run at the speed of their plain counterparts and stop as early. Other
 * architectures copy a block of words at a time with copy_mc_to_kernel().
 * A failed read means the page holds an uncorrectable error: it is
 * reported for memory_failure() to deal with in process context, and the
 * caller is told to leave the page alone. A page that memory_failure()
 * already marked is not read at all, and not reported again.
 */
#include <linux/fault-inject.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/xxhash.h>

#define MC_WORDS	(PAGE_SIZE / sizeof(unsigned long))
/* Words per block: the hash's update size. */
#define MC_BLOCK	8
/*
 * Words per step of a comparison or zero scan: one load at a time where
 * loads are machine-check safe, a block per copy_mc_to_kernel() call
 * elsewhere.
 */
#ifdef load_mc_ulong
#define MC_STEP		1
#else
#define MC_STEP		MC_BLOCK
#endif

/*
 * Before reading @page: false if it is known bad (marked, or chosen by
 * fail_copy_mc, which then stands for the error and reports it).
 */
static bool mc_may_read(struct page *page, size_t size)
{
	if (PageHWPoison(page))
		return false;
	if (should_fail_copy_mc(page, size)) {
		memory_failure_queue(page_to_pfn(page), 0);
		return false;
	}
	return true;
}

/* A read of @page failed: it holds an uncorrectable error. */
static int mc_failed(struct page *page)
{
	memory_failure_queue(page_to_pfn(page), 0);
	return -EHWPOISON;
}

/* Read @n words from @src into @dst; false if the read failed. */
static __always_inline bool mc_read_words(unsigned long *dst,
					  const unsigned long *src,
					  unsigned int n)
{
#ifdef load_mc_ulong
	unsigned int i;

	for (i = 0; i < n; i++)
		if (load_mc_ulong(src + i, dst + i))
			return false;
	return true;
#else
	return !copy_mc_to_kernel(dst, src, n * sizeof(*dst));
#endif
}

/**
 * copy_from_page_mc - copy bytes out of a page, surviving an error in it
 * @page: the page that @src lies in
 * @dst: kernel destination
 * @src: source, in a kernel mapping of @page
 * @len: bytes to copy, not past the end of @page
 *
 * Return: 0, or -EHWPOISON if @page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked).
 */
int copy_from_page_mc(struct page *page, void *dst, const void *src,
		      size_t len)
{
	if (!mc_may_read(page, len))
		return -EHWPOISON;
	if (copy_mc_to_kernel(dst, src, len))
		return mc_failed(page);
	return 0;
}

/**
 * page_xxhash_mc - hash a page without dying on an error in it
 * @page: the page to hash
 * @hash: where to store xxh64(page contents, seed 0)
 *
 * The result is the same as xxhash() of the mapped page on 64-bit.
 *
 * Return: 0, or -EHWPOISON if the page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked).
 */
int page_xxhash_mc(struct page *page, u64 *hash)
{
	unsigned long block[MC_BLOCK];
	struct xxh64_state state;
	const unsigned long *src;
	unsigned int i;
	bool ok = true;

	if (!mc_may_read(page, PAGE_SIZE))
		return -EHWPOISON;
	xxh64_reset(&state, 0);
	src = kmap_local_page(page);
	for (i = 0; i < MC_WORDS && ok; i += MC_BLOCK) {
		ok = mc_read_words(block, src + i, MC_BLOCK);
		if (ok)
			xxh64_update(&state, block, sizeof(block));
	}
	kunmap_local(src);
	if (!ok)
		return mc_failed(page);
	*hash = xxh64_digest(&state);
	return 0;
}

/**
 * memcmp_pages_mc - compare two pages without dying on an error in either
 * @page1: the first page
 * @page2: the second page
 * @result: where to store the comparison: negative, zero or positive as
 *          memcmp() of the two pages would be
 *
 * Stops at the first difference, as memcmp() does.
 *
 * Return: 0, or -EHWPOISON if either page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked);
 * *@result is then undefined.
 */
int memcmp_pages_mc(struct page *page1, struct page *page2, int *result)
{
	unsigned long x[MC_STEP], y[MC_STEP];
	const unsigned long *a, *b;
	struct page *bad = NULL;
	unsigned int i, j;

	if (!mc_may_read(page1, PAGE_SIZE) || !mc_may_read(page2, PAGE_SIZE))
		return -EHWPOISON;
	*result = 0;
	a = kmap_local_page(page1);
	b = kmap_local_page(page2);
	for (i = 0; i < MC_WORDS && !*result; i += MC_STEP) {
		if (!mc_read_words(x, a + i, MC_STEP)) {
			bad = page1;
			break;
		}
		if (!mc_read_words(y, b + i, MC_STEP)) {
			bad = page2;
			break;
		}
		for (j = 0; j < MC_STEP; j++) {
			if (x[j] != y[j]) {
				/* Words in memory order: memcmp() them. */
				*result = memcmp(&x[j], &y[j], sizeof(x[j]));
				break;
			}
		}
	}
	kunmap_local(b);
	kunmap_local(a);
	return bad ? mc_failed(bad) : 0;
}

/* Is the page at @src all zeroes? Reads it all if @whole, else stops early. */
static bool mc_zero_scan(const unsigned long *src, bool whole, bool *zero)
{
	unsigned long acc = 0, w[MC_STEP];
	unsigned int i, j;

	for (i = 0; i < MC_WORDS; i += MC_STEP) {
		if (!mc_read_words(w, src + i, MC_STEP))
			return false;
		for (j = 0; j < MC_STEP; j++)
			acc |= w[j];
		if (acc && !whole)
			break;
	}
	*zero = !acc;
	return true;
}

/**
 * page_zero_filled_mc - is a page all zeroes, without dying on an error
 * @page: the page to scan
 * @zero: where to store the answer
 *
 * Stops at the first non-zero word.
 *
 * Return: 0, or -EHWPOISON if the page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked);
 * *@zero is then false.
 */
int page_zero_filled_mc(struct page *page, bool *zero)
{
	const unsigned long *src;
	bool ok;

	*zero = false;
	if (!mc_may_read(page, PAGE_SIZE))
		return -EHWPOISON;
	src = kmap_local_page(page);
	ok = mc_zero_scan(src, false, zero);
	kunmap_local(src);
	return ok ? 0 : mc_failed(page);
}

/**
 * folio_zero_filled_mc - is a folio all zeroes, without dying on an error
 * @folio: the folio to scan
 * @zero: where to store the answer
 *
 * Every byte is read, also after data has been found: the folio is on its
 * way to a compressor or a device, and this is where an error in it must
 * come out, not in the compressor. The reads bring the folio into the
 * cache for the next reader.
 *
 * Return: 0, or -EHWPOISON if a page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked);
 * *@zero is then false.
 */
int folio_zero_filled_mc(struct folio *folio, bool *zero)
{
	long i, nr = folio_nr_pages(folio);
	bool all = true;

	*zero = false;
	for (i = 0; i < nr; i++) {
		struct page *page = folio_page(folio, i);
		const unsigned long *src;
		bool ok, z;

		if (!mc_may_read(page, PAGE_SIZE))
			return -EHWPOISON;
		src = kmap_local_page(page);
		ok = mc_zero_scan(src, true, &z);
		kunmap_local(src);
		if (!ok)
			return mc_failed(page);
		all = all && z;
	}
	*zero = all;
	return 0;
}

/**
 * copy_page_to_iter_mc - copy_page_to_iter(), surviving an error in the page
 * @page: the source page
 * @offset: where in @page to start
 * @bytes: how many bytes, not past the end of @page
 * @i: the destination
 *
 * A short copy may be the destination's fault or the source's; the part
 * of the source that was not copied, and no more, is then read once more
 * to tell them apart.
 *
 * Return: the number of bytes copied, or -EHWPOISON if @page could not be
 * read (it has been reported with memory_failure_queue() unless it was
 * already marked).
 */
ssize_t copy_page_to_iter_mc(struct page *page, size_t offset, size_t bytes,
			     struct iov_iter *i)
{
	unsigned long probe[MC_BLOCK];
	size_t copied, off, end = offset + bytes;
	bool ok = true;
	void *addr;

	if (!mc_may_read(page, bytes))
		return -EHWPOISON;
	addr = kmap_local_page(page);
	copied = _copy_mc_to_iter(addr + offset, bytes, i);
	for (off = offset + copied; copied < bytes && off < end && ok;
	     off += sizeof(probe))
		ok = !copy_mc_to_kernel(probe, addr + off,
					min(sizeof(probe), end - off));
	kunmap_local(addr);
	if (!ok)
		return mc_failed(page);
	return copied;
}
