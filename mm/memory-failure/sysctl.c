// SPDX-License-Identifier: GPL-2.0
/*
 * The vm.* sysctls of memory failure: early kill, recovery, soft offline.
 * See Documentation/admin-guide/sysctl/vm.rst.
 */
#include <linux/init.h>
#include <linux/sysctl.h>

#include "sysctl.h"

int sysctl_memory_failure_early_kill __read_mostly;
int sysctl_memory_failure_recovery __read_mostly = 1;
int sysctl_enable_soft_offline __read_mostly = 1;

static struct ctl_table mf_sysctls[] = {
	{
		.procname	= "memory_failure_early_kill",
		.data		= &sysctl_memory_failure_early_kill,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "memory_failure_recovery",
		.data		= &sysctl_memory_failure_recovery,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
	{
		.procname	= "enable_soft_offline",
		.data		= &sysctl_enable_soft_offline,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
};

static int __init mf_sysctl_init(void)
{
	register_sysctl_init("vm", mf_sysctls);
	return 0;
}
core_initcall(mf_sysctl_init);
