// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzzed inputs, spread through the soak: random and boundary pfns,
 * physical addresses, addresses and strings to corrupt-pfn, unpoison-pfn,
 * both sysfs files and madvise. Only documented errnos may come back (the
 * lists of hwpoison-fuzz), and no input may reach a page in use: a pfn in
 * RAM is only tried while /proc/kpageflags calls it a free buddy page,
 * otherwise one past the end of memory takes its place, and hard offline
 * runs with the injector's flag filter set to reject every page that has
 * a state, in case the page was allocated in between. Soft offline cannot
 * run under that filter (it refuses everything with EOPNOTSUPP) and does
 * no harm to a page in use anyway: it moves it.
 *
 * The inputs come from their own seeded stream, so a seed gives the same
 * inputs however they interleave with the rest of the soak.
 */
#include "soak.h"

#define KPF_NOPAGE	20

enum soak_fuzz_kind {
	FZ_INJECT, FZ_UNPOISON, FZ_HARD, FZ_SOFT, FZ_MADV, FZ_JUNK, NR_FZ
};

static const int ok_inject[] = { 0, -ENXIO, -EBUSY, -EHWPOISON };
static const int ok_unpoison[] = { 0, -ENXIO, -EIO, -EBUSY, -EOPNOTSUPP };
static const int ok_hard[] = { 0, -ENXIO, -EBUSY, -EHWPOISON, -EINVAL };
static const int ok_soft[] = { 0, -ENXIO, -EIO, -EBUSY, -ENOMEM, -EINVAL,
			       -EOPNOTSUPP };
static const int ok_madv[] = { -EINVAL, -ENOMEM, -EFAULT };
static const int ok_junk[] = { -EINVAL, -ERANGE };

static const char * const files[] = {
	HWP_DEBUGFS "corrupt-pfn", HWP_DEBUGFS "unpoison-pfn",
	HWP_SYSFS_MEM "hard_offline_page", HWP_SYSFS_MEM "soft_offline_page",
};

static struct soak_rng frng;
static uint64_t fmax;		/* one past the last pfn of System RAM */
static uint64_t fend;		/* one past the last pfn of its memory block */
static int kpf_fd = -1;
static int filter_on = -1;
static char *prot_none;

/*
 * The pfns between the end of System RAM and the end of its memory block
 * are firmware's (e820 reserved) but have online struct pages:
 * memory_failure() poisons and counts them ("unhandlable page"), while
 * /proc/kpageflags ends at the last pfn of RAM, so the soak's counter
 * invariant could not see them. hwpoison-kernel covers reserved pages;
 * "outside memory" here starts at the end of the block.
 */
static uint64_t block_end(uint64_t pfn)
{
	unsigned long long bytes = 0;
	FILE *f = fopen(HWP_SYSFS_MEM "block_size_bytes", "r");
	uint64_t pages;

	if (!f || fscanf(f, "%llx", &bytes) != 1)
		bytes = 128ULL << 20;
	if (f)
		fclose(f);
	pages = bytes / hwp_page_size();
	return (pfn + pages - 1) / pages * pages;
}

void soak_fuzz_init(uint64_t seed)
{
	soak_rng_init(&frng, seed, 2);
	fmax = hwp_max_pfn();
	fend = block_end(fmax);
	kpf_fd = open("/proc/kpageflags", O_RDONLY);
	prot_none = mmap(NULL, 16 * hwp_page_size(), PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Only pages without a state (there are none) pass the filter. */
static void set_filter(bool on)
{
	if (filter_on == on)
		return;
	hwp_flags_filter(on ? BIT_ULL(KPF_NOPAGE) : 0);
	filter_on = on;
}

void soak_fuzz_done(void)
{
	set_filter(false);
}

static bool pfn_free(uint64_t pfn)
{
	uint64_t f = 0;

	return pread(kpf_fd, &f, 8, pfn * 8) == 8 &&
	       f == BIT_ULL(HWP_KPF_BUDDY);
}

/* A boundary or random pfn that nobody uses. */
static uint64_t fuzz_pfn(void)
{
	const uint64_t edge[] = { 0, 1, 0x9f, 0x100, fmax - 1, fend,
				  fend + 1, 1ULL << 32, 1ULL << 40 };
	uint64_t r = soak_rand(&frng), pfn;

	switch (r % 8) {
	case 0:
		pfn = edge[(r >> 8) % ARRAY_SIZE(edge)];
		break;
	case 1:
	case 2:
		pfn = fend + ((r >> 8) & 0xfffff);
		break;
	default:
		pfn = (r >> 8) % fmax;
		break;
	}
	if (pfn < fend && (pfn >= fmax || !pfn_free(pfn)))
		pfn = fend + ((r >> 40) & 0xfff);
	return pfn;
}

static int write_phys(const char *which, uint64_t phys)
{
	char path[96], buf[32];

	snprintf(path, sizeof(path), HWP_SYSFS_MEM "%s_offline_page", which);
	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)phys);
	return hwp_write_file(path, buf);
}

/* A physical address in a free or absent pfn, maybe unaligned. */
static uint64_t fuzz_phys(void)
{
	uint64_t r = soak_rand(&frng);

	if (r % 16 == 0)
		return r & 1 ? ~0ULL : 1ULL << 63;
	return fuzz_pfn() * hwp_page_size() + (r >> 4) % hwp_page_size();
}

/* Text that no kernel number parser takes: never a pfn by accident. */
static void junk(char *buf, size_t size)
{
	static const char * const fixed[] = {
		"", "0x", "-1", "0x1 0x2", "18446744073709551616",
		"0x10000000000000000", "abc", "0x1000\n\n", " 4096",
		"0x1000g", "1e3", "--1", "0b101",
	};
	static const char first[] = "ghijklmnopqrstuvwxyz!#%&*()_=~";
	uint64_t r = soak_rand(&frng);
	size_t n, i;

	if (r % 2) {
		snprintf(buf, size, "%s", fixed[(r >> 8) % ARRAY_SIZE(fixed)]);
		return;
	}
	n = 1 + (r >> 8) % 15;
	buf[0] = first[(r >> 16) % (sizeof(first) - 1)];
	for (i = 1; i < n && i < size - 1; i++)
		buf[i] = 32 + soak_below(&frng, 95);
	buf[i] = '\0';
}

/* A page we have nothing mapped at (each page checked). */
static bool unmapped(uintptr_t addr, size_t len)
{
	long ps = hwp_page_size();
	unsigned char vec;
	size_t off;

	for (off = 0; off < len; off += ps)
		if (!mincore((void *)(addr + off), ps, &vec) ||
		    errno != ENOMEM)
			return false;
	return true;
}

/*
 * madvise(MADV_HWPOISON or MADV_SOFT_OFFLINE) where nothing of ours can
 * be hit: unmapped, unaligned, kernel, wrapping and PROT_NONE ranges, and
 * an empty one, the only one that may succeed.
 */
static void fuzz_madvise(void)
{
	long ps = hwp_page_size();
	uint64_t r = soak_rand(&frng);
	int advice = r & 1 ? MADV_HWPOISON : MADV_SOFT_OFFLINE;
	uintptr_t addr = (r >> 12) & 0x7ffffffff000ULL;
	size_t len = (1 + (r >> 4) % 4) * ps;
	int kind = (r >> 1) % 6, err;

	switch (kind) {
	case 0:		/* only where we have nothing mapped */
		if (!unmapped(addr, len)) {
			soak->op[OP_FUZZ_MADV].skipped++;
			return;
		}
		break;
	case 1:
		addr |= 1 + (r >> 50) % (ps - 1);
		break;
	case 2:
		addr = 0xffff888000000000ULL + ((r >> 20) << 12);
		break;
	case 3:
		addr = (~0ULL & ~(uint64_t)(ps - 1)) - ps;
		break;
	case 4:
		addr = (uintptr_t)prot_none + (r >> 8) % 12 * ps;
		break;
	default:
		len = 0;
		break;
	}
	err = madvise((void *)addr, len, advice) ? -errno : 0;
	if (!len)
		soak_count(OP_FUZZ_MADV, err, (const int[]){ 0 }, 1);
	else
		soak_count(OP_FUZZ_MADV, err, ok_madv, ARRAY_SIZE(ok_madv));
}

static void fuzz_junk(void)
{
	const char *path = files[soak_below(&frng, ARRAY_SIZE(files))];
	char buf[32];
	int err;

	junk(buf, sizeof(buf));
	set_filter(true);
	err = hwp_write_file(path, buf);
	/* sysfs never passes an empty write on to the attribute: 0. */
	if (!buf[0])
		soak_count(OP_FUZZ_JUNK, err, (const int[]){ 0, -EINVAL }, 2);
	else
		soak_count(OP_FUZZ_JUNK, err, ok_junk, ARRAY_SIZE(ok_junk));
}

static void fuzz_one(void)
{
	uint64_t pfn;
	int err;

	switch (soak_below(&frng, NR_FZ)) {
	case FZ_INJECT:
		pfn = soak_below(&frng, 16) ? fuzz_pfn() : ~0ULL;
		set_filter(true);
		err = hwp_inject_pfn(pfn);
		soak_count(OP_FUZZ_INJECT, err, ok_inject,
			   ARRAY_SIZE(ok_inject));
		break;
	case FZ_UNPOISON:
		pfn = fuzz_pfn();
		err = hwp_unpoison_pfn(pfn);
		soak_count(OP_FUZZ_UNPOISON, err, ok_unpoison,
			   ARRAY_SIZE(ok_unpoison));
		break;
	case FZ_HARD:
		set_filter(true);
		err = write_phys("hard", fuzz_phys());
		soak_count(OP_FUZZ_HARD_SYSFS, err, ok_hard,
			   ARRAY_SIZE(ok_hard));
		break;
	case FZ_SOFT:
		set_filter(false);
		err = write_phys("soft", fuzz_phys());
		soak_count(OP_FUZZ_SOFT_SYSFS, err, ok_soft,
			   ARRAY_SIZE(ok_soft));
		break;
	case FZ_MADV:
		fuzz_madvise();
		break;
	default:
		fuzz_junk();
		break;
	}
}

/* @n more inputs; the filter is left off for the rest of the soak. */
void soak_fuzz(long n)
{
	while (n-- > 0)
		fuzz_one();
	set_filter(false);
}
