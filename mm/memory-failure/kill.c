// SPDX-License-Identifier: GPL-2.0
/*
 * Who is told about a poisoned page, and how: the processes that map it
 * are found through the reverse map before the page is unmapped (unmapping
 * takes down what finds them), and signalled after, once it is known
 * whether their data is lost.
 *
 * Policy, for a page whose data is lost (dirty, or device memory, or a
 * page that could not be unmapped): a process that asked for early kill
 * (prctl(PR_MCE_KILL) on one of its threads, or vm.memory_failure_early_kill
 * for threads that did not ask) gets BUS_MCEERR_AO on that thread as soon
 * as the page is handled. A late-kill process hears nothing now: its
 * mapping becomes a hwpoison entry and it gets BUS_MCEERR_AR when it
 * touches the page. The thread that consumed the error (an action-required
 * report) gets BUS_MCEERR_AR at once. Nobody is signalled for a clean page
 * that was dropped: it is read again from its file. A victim whose address
 * could not be found (KSM, fsdax) gets SIGKILL: there is nothing to put in
 * a SIGBUS.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/hugetlb.h>
#include <linux/ksm.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagewalk.h>
#include <linux/rmap.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/swapops.h>

#include "internal.h"
#include "sysctl.h"

/**
 * struct mf_victim - one process to tell about a poisoned page
 * @list: entry in the caller's victim list
 * @task: the thread to signal; a task reference is held
 * @addr: user address of the poisoned page in @task's mm, or -EFAULT if
 *	  it could not be found (the process is then killed, if at all,
 *	  with SIGKILL)
 * @shift: log2 of the size of the mapping, reported as si_addr_lsb
 */
struct mf_victim {
	struct list_head list;
	struct task_struct *task;
	unsigned long addr;
	short shift;
};

/*
 * log2 of the size of the entry that maps the device page at @addr in
 * @vma (a pud or pmd leaf, or a pte), or 0 if nothing is mapped there yet.
 * Each level is read once: the caller holds no page table lock.
 */
static short mf_devmap_shift(struct vm_area_struct *vma, unsigned long addr)
{
	pgd_t *pgdp = pgd_offset(vma->vm_mm, addr);
	p4d_t *p4dp;
	pud_t *pudp, pud;
	pmd_t *pmdp, pmd;
	pte_t *ptep, pte;

	if (!pgd_present(pgdp_get(pgdp)))
		return 0;
	p4dp = p4d_offset(pgdp, addr);
	if (!p4d_present(p4dp_get(p4dp)))
		return 0;
	pudp = pud_offset(p4dp, addr);
	pud = pudp_get(pudp);
	if (!pud_present(pud))
		return 0;
	if (pud_devmap(pud))
		return PUD_SHIFT;
	pmdp = pmd_offset(pudp, addr);
	pmd = pmdp_get_lockless(pmdp);
	if (!pmd_present(pmd))
		return 0;
	if (pmd_devmap(pmd))
		return PMD_SHIFT;
	ptep = pte_offset_map(pmdp, addr);
	if (!ptep)
		return 0;
	pte = ptep_get(ptep);
	pte_unmap(ptep);
	return pte_present(pte) && pte_devmap(pte) ? PAGE_SHIFT : 0;
}

/*
 * Add @task to @victims for @page mapped at @addr in @vma. Called under
 * the rmap lock and rcu_read_lock(): the allocation must not sleep.
 */
static void mf_add_victim(struct task_struct *task, struct page *page,
			  struct vm_area_struct *vma, unsigned long addr,
			  struct list_head *victims)
{
	struct mf_victim *v;
	short shift;

	if (is_zone_device_page(page)) {
		shift = addr == -EFAULT ? 0 : mf_devmap_shift(vma, addr);
		/* A dax vma that does not map this pfn (yet) loses nothing. */
		if (!shift && addr != -EFAULT)
			return;
	} else {
		shift = folio_shift(page_folio(page));
	}

	/* A failed allocation warns; that process learns of it on touch. */
	v = kmalloc(sizeof(*v), GFP_ATOMIC);
	if (!v)
		return;
	if (addr == -EFAULT)
		pr_info("Unable to find user space address %lx in %s\n",
			page_to_pfn(page), task->comm);
	v->task = get_task_struct(task);
	v->addr = addr;
	v->shift = shift;
	list_add_tail(&v->list, victims);
}

/*
 * The thread of @task's process that takes action-optional signals, or
 * NULL if the process wants to hear of a loss only when it touches it:
 * the first thread that chose early kill with PR_MCE_KILL, or that chose
 * nothing while vm.memory_failure_early_kill is set.
 */
static struct task_struct *mf_early_kill_thread(struct task_struct *task)
{
	bool sysctl_early = READ_ONCE(sysctl_memory_failure_early_kill);
	struct task_struct *t;

	for_each_thread(task, t) {
		if (t->flags & PF_MCE_PROCESS) {
			if (t->flags & PF_MCE_EARLY)
				return t;
		} else if (sysctl_early) {
			return t;
		}
	}
	return NULL;
}

/**
 * task_early_kill - the thread of a process to signal now, if any
 * @tsk: a process (its group leader) that may map a poisoned page
 * @force_early: nonzero for an action-required report: the process of the
 *		 current thread is then told at once, through that thread
 *
 * Context: rcu_read_lock() held (the process's threads are walked).
 * Return: the thread to signal, or NULL if the process is not told now
 * (late kill, or a kernel thread).
 */
struct task_struct *task_early_kill(struct task_struct *tsk, int force_early)
{
	if (!tsk->mm)
		return NULL;
	/* @tsk is a group leader; current may be any thread of its group. */
	if (force_early && tsk->mm == current->mm)
		return current;
	return mf_early_kill_thread(tsk);
}

#ifdef CONFIG_KSM
/**
 * add_to_kill_ksm - add a mapper of a poisoned KSM page to a victim list
 * @tsk: the thread to signal
 * @p: the poisoned page
 * @vma: a vma of @tsk's mm that maps @p
 * @to_kill: the victim list
 * @ksm_addr: the user address of @p in @vma
 *
 * A process sharing a KSM page through several rmap items is signalled
 * once.
 *
 * Context: rmap lock and rcu_read_lock() held; does not sleep.
 */
void add_to_kill_ksm(struct task_struct *tsk, struct page *p,
		     struct vm_area_struct *vma, struct list_head *to_kill,
		     unsigned long ksm_addr)
{
	struct mf_victim *v;

	list_for_each_entry(v, to_kill, list)
		if (v->task == tsk)
			return;
	mf_add_victim(tsk, p, vma, ksm_addr, to_kill);
}
#endif

static void mf_collect_anon(struct folio *folio, struct page *page,
			    struct list_head *victims, bool force_early)
{
	struct anon_vma_chain *avc;
	struct task_struct *task, *t;
	struct anon_vma *av;
	unsigned long addr;
	pgoff_t pgoff;

	av = folio_lock_anon_vma_read(folio, NULL);
	if (!av)
		return;		/* unmapped meanwhile */
	pgoff = page_to_pgoff(page);
	rcu_read_lock();
	for_each_process(task) {
		t = task_early_kill(task, force_early);
		if (!t)
			continue;
		anon_vma_interval_tree_foreach(avc, &av->rb_root, pgoff, pgoff) {
			if (avc->vma->vm_mm != t->mm)
				continue;
			addr = page_mapped_in_vma(page, avc->vma);
			if (addr != -EFAULT)
				mf_add_victim(t, page, avc->vma, addr, victims);
		}
	}
	rcu_read_unlock();
	anon_vma_unlock_read(av);
}

/*
 * Every early-kill process with a vma over the page's file offset is told,
 * whether or not its page table maps the page yet: it asked to hear of
 * every loss of its data.
 */
static void mf_collect_file(struct folio *folio, struct page *page,
			    struct list_head *victims, bool force_early)
{
	struct address_space *mapping = folio->mapping;
	pgoff_t pgoff = page_to_pgoff(page);
	struct vm_area_struct *vma;
	struct task_struct *task, *t;
	unsigned long addr;

	i_mmap_lock_read(mapping);
	rcu_read_lock();
	for_each_process(task) {
		t = task_early_kill(task, force_early);
		if (!t)
			continue;
		vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff) {
			if (vma->vm_mm != t->mm)
				continue;
			addr = page_address_in_vma(page, vma);
			if (addr != -EFAULT)
				mf_add_victim(t, page, vma, addr, victims);
		}
	}
	rcu_read_unlock();
	i_mmap_unlock_read(mapping);
}

/**
 * mf_collect_victims - list the processes to tell about a poisoned page
 * @folio: the folio holding @page, held by a reference; while it is not
 *	   locked its mapping may go, and its mappers are then not found
 * @page: the poisoned page
 * @victims: the list to add to; mf_signal_victims() empties it
 * @force_early: an action-required report: tell the current process now
 *
 * Must run before @page is unmapped: the reverse map finds the mappers.
 *
 * Context: process context, may sleep (takes the rmap locks).
 */
void mf_collect_victims(struct folio *folio, struct page *page,
			struct list_head *victims, bool force_early)
{
	if (!folio->mapping)
		return;
	if (folio_test_ksm(folio))
		collect_procs_ksm(folio, page, victims, force_early);
	else if (folio_test_anon(folio))
		mf_collect_anon(folio, page, victims, force_early);
	else
		mf_collect_file(folio, page, victims, force_early);
}

#ifdef CONFIG_FS_DAX
/**
 * mf_collect_fsdax_victims - list the mappers of a poisoned fsdax page
 * @page: the poisoned page
 * @mapping: the file's mapping
 * @pgoff: the page's offset in the file
 * @victims: the list to add to
 * @pre_remove: the device is going away: every mapper is told, not only
 *		early-kill processes (the caller may not be the one using it)
 *
 * Context: process context, may sleep; the caller holds the dax entry.
 */
void mf_collect_fsdax_victims(struct page *page,
			      struct address_space *mapping, pgoff_t pgoff,
			      struct list_head *victims, bool pre_remove)
{
	struct vm_area_struct *vma;
	struct task_struct *task, *t;

	i_mmap_lock_read(mapping);
	rcu_read_lock();
	for_each_process(task) {
		t = pre_remove ? task : task_early_kill(task, true);
		if (!t)
			continue;
		vma_interval_tree_foreach(vma, &mapping->i_mmap, pgoff, pgoff)
			if (vma->vm_mm == t->mm)
				mf_add_victim(t, page, vma,
					      vma_address(vma, pgoff, 1),
					      victims);
	}
	rcu_read_unlock();
	i_mmap_unlock_read(mapping);
}
#endif

/*
 * An action-required signal goes to the thread that consumed the error,
 * and is forced (it cannot go on without handling it); everyone else gets
 * an action-optional one that may stay blocked for a while.
 */
static int mf_send_sigbus(struct mf_victim *v, unsigned long pfn, int flags)
{
	void __user *addr = (void __user *)v->addr;
	struct task_struct *t = v->task;
	int ret;

	pr_err("%#lx: Sending SIGBUS to %s:%d due to hardware memory corruption\n",
	       pfn, t->comm, task_pid_nr(t));
	if ((flags & MF_ACTION_REQUIRED) && t == current)
		ret = force_sig_mceerr(BUS_MCEERR_AR, addr, v->shift);
	else
		ret = send_sig_mceerr(BUS_MCEERR_AO, addr, v->shift, t);
	if (ret < 0)
		pr_info("Error sending signal to %s:%d: %d\n",
			t->comm, task_pid_nr(t), ret);
	return ret;
}

/**
 * mf_signal_victims - tell the collected processes, and empty the list
 * @victims: from mf_collect_victims() or mf_collect_fsdax_victims()
 * @lost: their data is lost (dirty, or must-kill, or not unmapped): signal
 *	  them; false only frees the list (a clean page was dropped and will
 *	  be read again from its file)
 * @pfn: the poisoned pfn, for the log
 * @flags: the report's MF_* flags
 *
 * A victim whose address was never found is killed with SIGKILL: it has
 * no handler to give an address to.
 *
 * Context: process context.
 */
void mf_signal_victims(struct list_head *victims, bool lost,
		       unsigned long pfn, int flags)
{
	struct mf_victim *v, *next;

	list_for_each_entry_safe(v, next, victims, list) {
		if (lost && v->addr == -EFAULT) {
			pr_err("%#lx: forcibly killing %s:%d because of failure to unmap corrupted page\n",
			       pfn, v->task->comm, task_pid_nr(v->task));
			do_send_sig_info(SIGKILL, SEND_SIG_PRIV, v->task,
					 PIDTYPE_PID);
		} else if (lost && mf_send_sigbus(v, pfn, flags) < 0) {
			pr_err("%#lx: Cannot send advisory machine check signal to %s:%d\n",
			       pfn, v->task->comm, task_pid_nr(v->task));
		}
		list_del(&v->list);
		put_task_struct(v->task);
		kfree(v);
	}
}

/**
 * mf_unmap_dax_and_signal - unmap a poisoned dax range, then tell its users
 * @victims: the collected mappers
 * @pfn: the poisoned pfn
 * @mapping: the file or device mapping
 * @index: the offset in @mapping of the first page of @size
 * @size: the bytes lost with the pfn: its folio, at least
 * @flags: the report's MF_* flags; MF_MUST_KILL signals the victims
 *
 * Device memory has no second copy to fault in, so every mapping of the
 * range goes, in every process, also those not signalled now: the next
 * touch of it faults, and the fault refuses a poisoned pfn. A victim that
 * maps it with a larger entry than @size (a pmd or pud of a file) loses
 * that whole entry. Each victim is told the size of its own mapping.
 *
 * Context: process context, may sleep.
 */
void mf_unmap_dax_and_signal(struct list_head *victims, unsigned long pfn,
			     struct address_space *mapping, pgoff_t index,
			     unsigned long size, int flags)
{
	loff_t start = (loff_t)index << PAGE_SHIFT;
	struct mf_victim *v;

	list_for_each_entry(v, victims, list)
		if (v->shift && (1UL << v->shift) > size)
			size = 1UL << v->shift;
	start = ALIGN_DOWN(start, (loff_t)size);
	unmap_mapping_range(mapping, start, size, 0);
	mf_signal_victims(victims, flags & MF_MUST_KILL, pfn, flags);
}

/* The search of mf_kill_accessing(): a pfn, and where it was found. */
struct mf_search {
	unsigned long pfn;
	unsigned long addr;
	short shift;
};

/*
 * A leaf entry maps @nr pages from @first at @addr, and its owner would be
 * told of a loss in it with @shift: does it cover the pfn searched for?
 */
static bool mf_search_leaf(struct mf_search *s, unsigned long first,
			   unsigned long nr, unsigned long addr, short shift)
{
	if (!first || s->pfn < first || s->pfn - first >= nr)
		return false;
	s->addr = addr + ((s->pfn - first) << PAGE_SHIFT);
	s->shift = shift;
	return true;
}

/* The pfn behind a pte: mapped, or named by a hwpoison entry; else 0. */
static unsigned long mf_pte_pfn(pte_t pte)
{
	swp_entry_t entry;

	if (pte_present(pte))
		return pte_pfn(pte);
	if (pte_none(pte))
		return 0;
	entry = pte_to_swp_entry(pte);
	return is_hwpoison_entry(entry) ? swp_offset_pfn(entry) : 0;
}

#ifdef CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD
/* A device-dax pud is looked at whole; the walk must not split it. */
static int mf_search_pud(pud_t *pudp, unsigned long addr, unsigned long next,
			 struct mm_walk *walk)
{
	spinlock_t *ptl = pud_trans_huge_lock(pudp, walk->vma);
	int found;

	if (!ptl)
		return 0;
	walk->action = ACTION_CONTINUE;
	found = mf_search_leaf(walk->private, pud_pfn(pudp_get(pudp)),
			       PUD_SIZE >> PAGE_SHIFT, addr, PUD_SHIFT);
	spin_unlock(ptl);
	return found;
}
#else
#define mf_search_pud NULL
#endif

static int mf_search_pmd(pmd_t *pmdp, unsigned long addr, unsigned long next,
			 struct mm_walk *walk)
{
	struct mf_search *s = walk->private;
	spinlock_t *ptl;	/* the page table's lock */
	unsigned long pfn;
	pte_t *ptes;
	int found = 0;
	pmd_t pmd;
	long i;

	ptl = pmd_trans_huge_lock(pmdp, walk->vma);
	if (ptl) {
		/*
		 * A THP's owner loses one 4 KiB page; a device-dax pmd is
		 * one unit of the device, lost whole.
		 */
		pmd = pmdp_get(pmdp);
		if (pmd_present(pmd))
			found = mf_search_leaf(s, pmd_pfn(pmd),
					       PMD_SIZE >> PAGE_SHIFT, addr,
					       pmd_devmap(pmd) ? PMD_SHIFT :
								 PAGE_SHIFT);
		spin_unlock(ptl);
		goto out;
	}
	ptes = pte_offset_map_lock(walk->mm, pmdp, addr, &ptl);
	if (!ptes)
		goto out;
	for (i = 0; !found && addr + i * PAGE_SIZE < next; i++) {
		pfn = mf_pte_pfn(ptep_get(ptes + i));
		found = mf_search_leaf(s, pfn, 1, addr + i * PAGE_SIZE,
				       PAGE_SHIFT);
	}
	pte_unmap_unlock(ptes, ptl);
out:
	cond_resched();
	return found;
}

#ifdef CONFIG_HUGETLB_PAGE
static int mf_search_hugetlb(pte_t *ptep, unsigned long hmask,
			     unsigned long addr, unsigned long next,
			     struct mm_walk *walk)
{
	struct hstate *h = hstate_vma(walk->vma);

	return mf_search_leaf(walk->private,
			      mf_pte_pfn(huge_ptep_get(walk->mm, addr, ptep)),
			      pages_per_huge_page(h), addr,
			      huge_page_shift(h));
}
#else
#define mf_search_hugetlb NULL
#endif

/* Every vma: a poisoned pfn may sit in a VM_PFNMAP or VM_IO one too. */
static int mf_search_any_vma(unsigned long start, unsigned long end,
			     struct mm_walk *walk)
{
	return 0;
}

static const struct mm_walk_ops mf_search_ops = {
	.pud_entry	= mf_search_pud,
	.pmd_entry	= mf_search_pmd,
	.hugetlb_entry	= mf_search_hugetlb,
	.test_walk	= mf_search_any_vma,
	.walk_lock	= PGWALK_RDLOCK,
};

/**
 * mf_kill_accessing - signal the current thread for an already poisoned pfn
 * @pfn: the pfn it consumed
 * @flags: the report's MF_* flags (MF_ACTION_REQUIRED)
 *
 * A second action-required report of a pfn that is already poisoned: an
 * earlier report could not unmap it, or another CPU's machine check got
 * there first and has not finished. The current process may still map it:
 * its page tables are searched for the pfn (mapped, or as a hwpoison
 * entry), and the current thread gets BUS_MCEERR_AR at the first address
 * found. With several mappings of the page the address may be another one
 * than the consuming access used; the error has none to give.
 *
 * Context: process context, may sleep; takes the mmap lock for reading.
 * Return: -EHWPOISON if the pfn is mapped and the thread was signalled,
 * 0 if it is not mapped (a clean page that was dropped: nothing is lost),
 * -EFAULT for a kernel thread.
 */
int mf_kill_accessing(unsigned long pfn, int flags)
{
	struct mf_search search = { .pfn = pfn };
	struct mm_struct *mm = current->mm;
	struct mf_victim me;
	int found;

	if (!mm)
		return -EFAULT;
	mmap_read_lock(mm);
	found = walk_page_range(mm, 0, TASK_SIZE, &mf_search_ops, &search);
	mmap_read_unlock(mm);
	if (found <= 0)
		return 0;
	me.task = current;
	me.addr = search.addr;
	me.shift = search.shift;
	mf_send_sigbus(&me, pfn, flags);
	return -EHWPOISON;
}
