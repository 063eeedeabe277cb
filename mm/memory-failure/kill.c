// SPDX-License-Identifier: GPL-2.0
/*
 * Who is told about a poisoned page, and how: the processes that map it
 * are found through the reverse map before the page is unmapped (unmapping
 * takes down what finds them), and signalled after, once it is known
 * whether their data is lost.
 *
 * Policy. A process that asked for early kill (prctl(PR_MCE_KILL) on one
 * of its threads, or vm.memory_failure_early_kill for threads that did not
 * ask) gets BUS_MCEERR_AO on that thread as soon as the page is handled. A
 * late-kill process is not told now: its mapping is replaced by a hwpoison
 * entry and it gets BUS_MCEERR_AR when it touches the page. The thread that
 * consumed the error (an action-required report) is always told, with
 * BUS_MCEERR_AR. A process whose mapping could not be taken away is killed
 * outright, since nothing else stops it reading the page again.
 */
#define pr_fmt(fmt) "Memory failure: " fmt

#include <linux/dax.h>
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

/* The size of the device-dax or fsdax mapping of @addr, 0 if unmapped. */
static short mf_devmap_shift(struct vm_area_struct *vma, unsigned long addr)
{
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;
	pte_t *pte;
	short shift = 0;

	pgd = pgd_offset(vma->vm_mm, addr);
	if (!pgd_present(*pgd))
		return 0;
	p4d = p4d_offset(pgd, addr);
	if (!p4d_present(*p4d))
		return 0;
	pud = pud_offset(p4d, addr);
	if (!pud_present(*pud))
		return 0;
	if (pud_devmap(*pud))
		return PUD_SHIFT;
	pmd = pmd_offset(pud, addr);
	if (!pmd_present(*pmd))
		return 0;
	if (pmd_devmap(*pmd))
		return PMD_SHIFT;
	pte = pte_offset_map(pmd, addr);
	if (!pte)
		return 0;
	if (pte_present(ptep_get(pte)) && pte_devmap(ptep_get(pte)))
		shift = PAGE_SHIFT;
	pte_unmap(pte);
	return shift;
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
	struct vm_area_struct *vma;
	struct task_struct *task, *t;
	unsigned long addr;
	pgoff_t pgoff;

	i_mmap_lock_read(mapping);
	rcu_read_lock();
	pgoff = page_to_pgoff(page);
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
 * @folio: the folio holding @page, locked or otherwise kept from being
 *	   freed or truncated by the caller
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
 * @index: the poisoned page's offset in @mapping
 * @flags: the report's MF_* flags; MF_MUST_KILL signals the victims
 *
 * Device-dax mappings are of one fixed size: the largest one any victim
 * has is torn down whole, around @index, and each victim is told the size
 * of its own.
 *
 * Context: process context, may sleep.
 */
void mf_unmap_dax_and_signal(struct list_head *victims, unsigned long pfn,
			     struct address_space *mapping, pgoff_t index,
			     int flags)
{
	unsigned long size = 0;
	struct mf_victim *v;
	loff_t start;

	list_for_each_entry(v, victims, list)
		if (v->shift)
			size = max(size, 1UL << v->shift);
	if (size) {
		start = ((loff_t)index << PAGE_SHIFT) & ~((loff_t)size - 1);
		unmap_mapping_range(mapping, start, size, 0);
	}
	mf_signal_victims(victims, flags & MF_MUST_KILL, pfn, flags);
}

/* What the page-table walk of mf_kill_accessing() looks for and finds. */
struct mf_walk {
	unsigned long pfn;		/* the poisoned pfn */
	struct mf_victim found;		/* its address and mapping size */
};

/*
 * Does @pte, mapping @shift bytes at @addr, map @w's pfn, present or as a
 * hwpoison entry? Then note the address of that pfn in it.
 */
static int mf_walk_check(pte_t pte, unsigned long addr, short shift,
			 struct mf_walk *w)
{
	unsigned long nr = 1UL << (shift - PAGE_SHIFT);
	unsigned long pfn = 0;
	swp_entry_t entry;

	if (pte_present(pte)) {
		pfn = pte_pfn(pte);
	} else if (!pte_none(pte)) {
		entry = pte_to_swp_entry(pte);
		if (is_hwpoison_entry(entry))
			pfn = swp_offset_pfn(entry);
	}
	if (!pfn || pfn != ALIGN_DOWN(w->pfn, nr))
		return 0;
	w->found.addr = addr + ((w->pfn - pfn) << PAGE_SHIFT);
	w->found.shift = shift;
	return 1;
}

static int mf_walk_pmd(pmd_t *pmdp, unsigned long addr, unsigned long end,
		       struct mm_walk *walk)
{
	struct mf_walk *w = walk->private;
	pte_t *start, *pte;
	spinlock_t *ptl;	/* the page table's lock */
	unsigned long pfn;
	int ret = 0;

	ptl = pmd_trans_huge_lock(pmdp, walk->vma);
	if (ptl) {
		/* A THP mapped by a pmd: its subpage is what was lost. */
		if (pmd_present(*pmdp)) {
			pfn = pmd_pfn(*pmdp);
			if (w->pfn >= pfn && w->pfn < pfn + HPAGE_PMD_NR) {
				w->found.addr = addr +
						((w->pfn - pfn) << PAGE_SHIFT);
				w->found.shift = PAGE_SHIFT;
				ret = 1;
			}
		}
		spin_unlock(ptl);
		goto out;
	}
	start = pte_offset_map_lock(walk->mm, pmdp, addr, &ptl);
	if (!start)
		goto out;
	for (pte = start; addr != end; pte++, addr += PAGE_SIZE) {
		ret = mf_walk_check(ptep_get(pte), addr, PAGE_SHIFT, w);
		if (ret)
			break;
	}
	pte_unmap_unlock(start, ptl);
out:
	cond_resched();
	return ret;
}

#ifdef CONFIG_HUGETLB_PAGE
static int mf_walk_hugetlb(pte_t *ptep, unsigned long hmask,
			   unsigned long addr, unsigned long end,
			   struct mm_walk *walk)
{
	pte_t pte = huge_ptep_get(walk->mm, addr, ptep);

	return mf_walk_check(pte, addr, huge_page_shift(hstate_vma(walk->vma)),
			     walk->private);
}
#else
#define mf_walk_hugetlb NULL
#endif

/* VM_PFNMAP and VM_IO vmas too: a poisoned pfn may be mapped there. */
static int mf_walk_every_vma(unsigned long start, unsigned long end,
			     struct mm_walk *walk)
{
	return 0;
}

static const struct mm_walk_ops mf_walk_ops = {
	.pmd_entry	= mf_walk_pmd,
	.hugetlb_entry	= mf_walk_hugetlb,
	.test_walk	= mf_walk_every_vma,
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
	struct mm_struct *mm = current->mm;
	struct mf_walk w = { .pfn = pfn };
	int ret;

	if (!mm)
		return -EFAULT;
	w.found.task = current;
	mmap_read_lock(mm);
	ret = walk_page_range(mm, 0, TASK_SIZE, &mf_walk_ops, &w);
	if (ret == 1 && w.found.addr)
		mf_send_sigbus(&w.found, pfn, flags);
	mmap_read_unlock(mm);
	return ret > 0 ? -EHWPOISON : 0;
}
