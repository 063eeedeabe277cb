// SPDX-License-Identifier: GPL-2.0
/*
 * Machine-check-safe reads of whole pages for kernel agents.
 *
 * ksmd, THP split and swap-out read other processes' pages for their own
 * purposes: hashing, comparing, looking for zeroes. An uncorrectable
 * error in such a page must cost them that page, not the machine.
 *
 * Where the architecture has load_mc_ulong4(), the helpers load the page
 * four words at a time with it and work on the words in registers as they
 * come, so they run at the speed of their plain counterparts and stop as
 * early. Other architectures copy a block of words at a time with
 * copy_mc_to_kernel().
 * A failed read means the page holds an uncorrectable error: it is
 * reported for memory_failure() to deal with in process context, and the
 * caller is told to leave the page alone. A load that takes any other
 * exception (a bug: the page is mapped) fails with -EFAULT and a warning,
 * and reports nothing. A page that memory_failure()
 * already marked is not read at all, and not reported again.
 */
#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/fault-inject.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/swab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <asm/byteorder.h>

#define MC_WORDS	(PAGE_SIZE / sizeof(unsigned long))

/* The architectures with machine-check-safe copies are 64-bit. */
static_assert(sizeof(unsigned long) == sizeof(u64));

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

/*
 * A read of @page failed with @err: -EHWPOISON, an uncorrectable error,
 * reports the page; any other error is returned as it is.
 */
static int mc_failed(struct page *page, int err)
{
	if (err == -EHWPOISON)
		memory_failure_queue(page_to_pfn(page), 0);
	return err;
}

/* memcmp() of two words that differ: the first byte in memory decides. */
static int mc_word_order(unsigned long x, unsigned long y)
{
#ifdef __LITTLE_ENDIAN
	x = swab64(x);
	y = swab64(y);
#endif
	return x < y ? -1 : 1;
}

/*
 * xxh64 of one page with seed 0, as the words come: the stripes of four
 * words, the merge of the four lanes, the length, then the avalanche. A
 * page is a whole number of stripes, so there is no tail.
 */
#define XXH_P1	0x9E3779B185EBCA87ULL
#define XXH_P2	0xC2B2AE3D27D4EB4FULL
#define XXH_P3	0x165667B19E3779F9ULL
#define XXH_P4	0x85EBCA77C2B2AE63ULL

/* The hash reads the page as little-endian words. */
static __always_inline u64 xxh_lane(u64 acc, unsigned long word)
{
	acc += le64_to_cpu((__force __le64)word) * XXH_P2;
	return rol64(acc, 31) * XXH_P1;
}

static __always_inline u64 xxh_merge(u64 h, u64 lane)
{
	lane = rol64(lane * XXH_P2, 31) * XXH_P1;
	return (h ^ lane) * XXH_P1 + XXH_P4;
}

static __always_inline u64 xxh_finish(const u64 v[4])
{
	u64 h = rol64(v[0], 1) + rol64(v[1], 7) + rol64(v[2], 12) +
		rol64(v[3], 18);
	int i;

	for (i = 0; i < 4; i++)
		h = xxh_merge(h, v[i]);
	h += PAGE_SIZE;
	h ^= h >> 33;
	h *= XXH_P2;
	h ^= h >> 29;
	h *= XXH_P3;
	return h ^ (h >> 32);
}

static __always_inline void xxh_start(u64 v[4])
{
	v[0] = XXH_P1 + XXH_P2;
	v[1] = XXH_P2;
	v[2] = 0;
	v[3] = -XXH_P1;
}

#ifdef load_mc_ulong4
#include <asm/trapnr.h>

/*
 * The error for a load that trapped (load_mc_ulong4() is x86's, and its
 * trap is the vector taken): a machine check is an error in the page;
 * anything else is a bug here, and must not retire a healthy page.
 */
static int mc_trap_error(int trap)
{
	if (WARN_ON_ONCE(trap != X86_TRAP_MC))
		return -EFAULT;
	return -EHWPOISON;
}

/*
 * Four words a load, kept in registers. The trap is tested once per four
 * words, before they decide anything, and the scan stops there. Each
 * returns 0 or the error of the load that trapped (mc_cmp_words() sets
 * *@which to 1 or 2 for the page at @a or @b).
 */
static int mc_hash_words(const unsigned long *src, u64 *hash)
{
	unsigned long w0, w1, w2, w3;
	unsigned int i;
	int trap = 0;
	u64 v[4];

	xxh_start(v);
	for (i = 0; i < MC_WORDS; i += 4) {
		load_mc_ulong4(src + i, w0, w1, w2, w3, trap);
		if (unlikely(trap))
			return mc_trap_error(trap);
		v[0] = xxh_lane(v[0], w0);
		v[1] = xxh_lane(v[1], w1);
		v[2] = xxh_lane(v[2], w2);
		v[3] = xxh_lane(v[3], w3);
	}
	*hash = xxh_finish(v);
	return 0;
}

static int mc_cmp_words(const unsigned long *a, const unsigned long *b,
			int *result, int *which)
{
	unsigned long x0, x1, x2, x3, y0, y1, y2, y3;
	unsigned int i;
	int trap = 0;

	for (i = 0; i < MC_WORDS; i += 4) {
		load_mc_ulong4(a + i, x0, x1, x2, x3, trap);
		if (unlikely(trap)) {
			*which = 1;
			return mc_trap_error(trap);
		}
		load_mc_ulong4(b + i, y0, y1, y2, y3, trap);
		if (unlikely(trap)) {
			*which = 2;
			return mc_trap_error(trap);
		}
		if (x0 != y0) {
			*result = mc_word_order(x0, y0);
			return 0;
		}
		if (x1 != y1) {
			*result = mc_word_order(x1, y1);
			return 0;
		}
		if (x2 != y2) {
			*result = mc_word_order(x2, y2);
			return 0;
		}
		if (x3 != y3) {
			*result = mc_word_order(x3, y3);
			return 0;
		}
	}
	*result = 0;
	return 0;
}

static int mc_zero_words(const unsigned long *src, bool whole, bool *zero)
{
	unsigned long acc = 0, w0, w1, w2, w3;
	unsigned int i;
	int trap = 0;

	for (i = 0; i < MC_WORDS; i += 4) {
		load_mc_ulong4(src + i, w0, w1, w2, w3, trap);
		if (unlikely(trap))
			return mc_trap_error(trap);
		acc |= w0 | w1 | w2 | w3;
		if (acc && !whole)
			break;
	}
	*zero = !acc;
	return 0;
}
#else
/*
 * A block of words per copy_mc_to_kernel() call. A failed copy tells no
 * more than that the source could not be read: as for the kernel's other
 * users of copy_mc_to_kernel(), that is an error in the page.
 */
#define MC_BLOCK	8

static int mc_hash_words(const unsigned long *src, u64 *hash)
{
	unsigned long w[MC_BLOCK];
	unsigned int i, j;
	u64 v[4];

	xxh_start(v);
	for (i = 0; i < MC_WORDS; i += MC_BLOCK) {
		if (copy_mc_to_kernel(w, src + i, sizeof(w)))
			return -EHWPOISON;
		for (j = 0; j < MC_BLOCK; j++)
			v[j % 4] = xxh_lane(v[j % 4], w[j]);
	}
	*hash = xxh_finish(v);
	return 0;
}

static int mc_cmp_words(const unsigned long *a, const unsigned long *b,
			int *result, int *which)
{
	unsigned long x[MC_BLOCK], y[MC_BLOCK];
	unsigned int i, j;

	for (i = 0; i < MC_WORDS; i += MC_BLOCK) {
		*which = 1;
		if (copy_mc_to_kernel(x, a + i, sizeof(x)))
			return -EHWPOISON;
		*which = 2;
		if (copy_mc_to_kernel(y, b + i, sizeof(y)))
			return -EHWPOISON;
		for (j = 0; j < MC_BLOCK; j++) {
			if (x[j] != y[j]) {
				*result = mc_word_order(x[j], y[j]);
				return 0;
			}
		}
	}
	*result = 0;
	return 0;
}

static int mc_zero_words(const unsigned long *src, bool whole, bool *zero)
{
	unsigned long acc = 0, w[MC_BLOCK];
	unsigned int i, j;

	for (i = 0; i < MC_WORDS; i += MC_BLOCK) {
		if (copy_mc_to_kernel(w, src + i, sizeof(w)))
			return -EHWPOISON;
		for (j = 0; j < MC_BLOCK; j++)
			acc |= w[j];
		if (acc && !whole)
			break;
	}
	*zero = !acc;
	return 0;
}
#endif

/**
 * copy_from_page_mc - copy bytes out of a page, surviving an error in it
 * @page: the page that @src lies in
 * @dst: kernel destination
 * @src: source, in a kernel mapping of @page
 * @len: bytes to copy, not past the end of @page
 *
 * Return: 0, -EHWPOISON if @page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked), or
 * -EINVAL (and a warning) if the range leaves the page.
 */
int copy_from_page_mc(struct page *page, void *dst, const void *src,
		      size_t len)
{
	if (WARN_ON_ONCE(offset_in_page(src) + len > PAGE_SIZE))
		return -EINVAL;
	if (!mc_may_read(page, len))
		return -EHWPOISON;
	if (copy_mc_to_kernel(dst, src, len))
		return mc_failed(page, -EHWPOISON);
	return 0;
}

/**
 * page_xxhash_mc - hash a page without dying on an error in it
 * @page: the page to hash
 * @hash: where to store xxh64(page contents, seed 0)
 *
 * The result is the same as xxhash() of the mapped page on 64-bit.
 *
 * Return: 0, -EHWPOISON if the page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked), or
 * -EFAULT (and a warning) if a load took an exception other than a machine
 * check.
 */
int page_xxhash_mc(struct page *page, u64 *hash)
{
	const unsigned long *src;
	int err;

	if (!mc_may_read(page, PAGE_SIZE))
		return -EHWPOISON;
	src = kmap_local_page(page);
	err = mc_hash_words(src, hash);
	kunmap_local(src);
	return err ? mc_failed(page, err) : 0;
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
 * Return: 0, -EHWPOISON if either page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked), or
 * -EFAULT as for page_xxhash_mc(); *@result is then undefined.
 */
int memcmp_pages_mc(struct page *page1, struct page *page2, int *result)
{
	const unsigned long *a, *b;
	int err, which = 0;

	if (!mc_may_read(page1, PAGE_SIZE) || !mc_may_read(page2, PAGE_SIZE))
		return -EHWPOISON;
	a = kmap_local_page(page1);
	b = kmap_local_page(page2);
	err = mc_cmp_words(a, b, result, &which);
	kunmap_local(b);
	kunmap_local(a);
	if (err)
		return mc_failed(which == 1 ? page1 : page2, err);
	return 0;
}

/**
 * page_zero_filled_mc - is a page all zeroes, without dying on an error
 * @page: the page to scan
 * @zero: where to store the answer
 *
 * Stops at the first non-zero word.
 *
 * Return: 0, -EHWPOISON if the page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked), or
 * -EFAULT as for page_xxhash_mc(); *@zero is then false.
 */
int page_zero_filled_mc(struct page *page, bool *zero)
{
	const unsigned long *src;
	int err;

	*zero = false;
	if (!mc_may_read(page, PAGE_SIZE))
		return -EHWPOISON;
	src = kmap_local_page(page);
	err = mc_zero_words(src, false, zero);
	kunmap_local(src);
	return err ? mc_failed(page, err) : 0;
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
 * Return: 0, -EHWPOISON if a page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked), or
 * -EFAULT as for page_xxhash_mc(); *@zero is then false.
 */
int folio_zero_filled_mc(struct folio *folio, bool *zero)
{
	long i, nr = folio_nr_pages(folio);
	bool all = true;

	*zero = false;
	for (i = 0; i < nr; i++) {
		struct page *page = folio_page(folio, i);
		const unsigned long *src;
		bool z = false;
		int err;

		if (!mc_may_read(page, PAGE_SIZE))
			return -EHWPOISON;
		src = kmap_local_page(page);
		err = mc_zero_words(src, true, &z);
		kunmap_local(src);
		if (err)
			return mc_failed(page, err);
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
 * Return: the number of bytes copied (0, and a warning, if the range
 * leaves the page), or -EHWPOISON if @page could not be read (it has been
 * reported with memory_failure_queue() unless it was already marked). On
 * -EHWPOISON @i has advanced by what was copied before the error.
 */
ssize_t copy_page_to_iter_mc(struct page *page, size_t offset, size_t bytes,
			     struct iov_iter *i)
{
	unsigned long probe[8];
	size_t copied, off, end = offset + bytes;
	bool ok = true;
	void *addr;

	if (WARN_ON_ONCE(offset > PAGE_SIZE || bytes > PAGE_SIZE - offset))
		return 0;
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
		return mc_failed(page, -EHWPOISON);
	return copied;
}
