/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vm.* sysctls of memory failure. They change at any time: read them
 * with READ_ONCE().
 */
#ifndef _MM_MEMORY_FAILURE_SYSCTL_H
#define _MM_MEMORY_FAILURE_SYSCTL_H

/* vm.memory_failure_early_kill: signal mappers when the page is handled. */
extern int sysctl_memory_failure_early_kill;
/* vm.memory_failure_recovery: 0 panics on the first memory failure. */
extern int sysctl_memory_failure_recovery;
/* vm.enable_soft_offline: 0 refuses every soft offline. */
extern int sysctl_enable_soft_offline;

#endif /* _MM_MEMORY_FAILURE_SYSCTL_H */
