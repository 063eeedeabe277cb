// SPDX-License-Identifier: GPL-2.0
/*
 * Machine-check-safe reads of whole pages for kernel agents.
 *
 * The page is read through copy_mc_to_kernel() into a small buffer on the
 * stack, a chunk at a time, and the caller's work (hashing, comparing) is
 * done on the copy. A failed read means the page holds an uncorrectable
 * error: it is reported for memory_failure() to deal with in process
 * context, and the caller is told to leave the page alone.
 */
#include <linux/highmem.h>
#include <linux/mc_read.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/xxhash.h>

/* Small enough for a kernel thread's stack twice over, big enough to amortise. */
#define MC_READ_CHUNK	256

/**
 * copy_from_page_mc - copy bytes out of a page, surviving an error in it
 * @page: the page that @src lies in
 * @dst: kernel destination
 * @src: source, in a kernel mapping of @page
 * @len: bytes to copy, not past the end of @page
 *
 * Return: 0, or -EHWPOISON if @page could not be read (it has been
 * reported with memory_failure_queue()).
 */
int copy_from_page_mc(struct page *page, void *dst, const void *src,
		      size_t len)
{
	if (!should_fail_copy_mc(page) && !copy_mc_to_kernel(dst, src, len))
		return 0;
	memory_failure_queue(page_to_pfn(page), 0);
	return -EHWPOISON;
}

static int mc_read_chunk(void *dst, struct page *page, const void *src)
{
	return copy_from_page_mc(page, dst, src, MC_READ_CHUNK);
}

/**
 * page_xxhash_mc - hash a page without dying on an error in it
 * @page: the page to hash
 * @hash: where to store xxh64(page contents, seed 0)
 *
 * The result is the same as xxhash() of the mapped page on 64-bit.
 *
 * Return: 0, or -EHWPOISON if the page could not be read (it has been
 * reported with memory_failure_queue()).
 */
int page_xxhash_mc(struct page *page, u64 *hash)
{
	u8 buf[MC_READ_CHUNK];
	struct xxh64_state state;
	size_t off;
	void *addr;
	int err = 0;

	xxh64_reset(&state, 0);
	addr = kmap_local_page(page);
	for (off = 0; off < PAGE_SIZE; off += MC_READ_CHUNK) {
		err = mc_read_chunk(buf, page, addr + off);
		if (err)
			break;
		xxh64_update(&state, buf, MC_READ_CHUNK);
	}
	kunmap_local(addr);
	if (!err)
		*hash = xxh64_digest(&state);
	return err;
}

/**
 * memcmp_pages_mc - compare two pages without dying on an error in either
 * @page1: the first page
 * @page2: the second page
 * @result: where to store the comparison, as memcmp_pages() would return
 *
 * Return: 0, or -EHWPOISON if either page could not be read (it has been
 * reported with memory_failure_queue()); *@result is then undefined.
 */
int memcmp_pages_mc(struct page *page1, struct page *page2, int *result)
{
	u8 buf1[MC_READ_CHUNK], buf2[MC_READ_CHUNK];
	void *addr1, *addr2;
	size_t off;
	int err = 0;

	*result = 0;
	addr1 = kmap_local_page(page1);
	addr2 = kmap_local_page(page2);
	for (off = 0; off < PAGE_SIZE && !*result; off += MC_READ_CHUNK) {
		err = mc_read_chunk(buf1, page1, addr1 + off);
		if (!err)
			err = mc_read_chunk(buf2, page2, addr2 + off);
		if (err)
			break;
		*result = memcmp(buf1, buf2, MC_READ_CHUNK);
	}
	kunmap_local(addr2);
	kunmap_local(addr1);
	return err;
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
 * reported with memory_failure_queue()); *@zero is then false.
 */
int folio_zero_filled_mc(struct folio *folio, bool *zero)
{
	unsigned long buf[MC_READ_CHUNK / sizeof(unsigned long)];
	long i, nr = folio_nr_pages(folio);
	size_t off;
	int err = 0;

	*zero = true;
	for (i = 0; i < nr && !err; i++) {
		struct page *page = folio_page(folio, i);
		void *addr = kmap_local_page(page);

		for (off = 0; off < PAGE_SIZE && !err; off += MC_READ_CHUNK) {
			err = mc_read_chunk(buf, page, addr + off);
			if (!err && *zero && memchr_inv(buf, 0, MC_READ_CHUNK))
				*zero = false;
		}
		kunmap_local(addr);
	}
	if (err)
		*zero = false;
	return err;
}

/**
 * copy_page_to_iter_mc - copy_page_to_iter(), surviving an error in the page
 * @page: the source page
 * @offset: where in @page to start
 * @bytes: how many bytes, not past the end of @page
 * @i: the destination
 *
 * A short copy may be the destination's fault or the source's; the rest
 * of the source is then read once more to tell them apart.
 *
 * Return: the number of bytes copied, or -EHWPOISON if @page could not be
 * read (it has been reported with memory_failure_queue()).
 */
ssize_t copy_page_to_iter_mc(struct page *page, size_t offset, size_t bytes,
			     struct iov_iter *i)
{
	u8 probe[MC_READ_CHUNK];
	size_t copied, off;
	void *addr;
	int err = 0;

	if (should_fail_copy_mc(page)) {
		memory_failure_queue(page_to_pfn(page), 0);
		return -EHWPOISON;
	}
	addr = kmap_local_page(page);
	copied = _copy_mc_to_iter(addr + offset, bytes, i);
	for (off = offset + copied; copied < bytes && off < offset + bytes &&
	     !err; off += MC_READ_CHUNK)
		err = copy_from_page_mc(page, probe, addr + off,
					min_t(size_t, MC_READ_CHUNK,
					      offset + bytes - off));
	kunmap_local(addr);
	if (err)
		return err;
	return copied;
}
