// SPDX-License-Identifier: GPL-2.0
/*
 * vm.memory_failure_recovery=0: the first memory failure panics the
 * machine, even one injected by software. The harness boots a guest for
 * this test alone and expects the panic; surviving the injection is a
 * failure.
 */
#include "hwpoison_util.h"
#include "../kselftest.h"

int main(void)
{
	long ps = hwp_page_size();
	uint64_t pfn;
	char *p;
	int ret;

	ksft_print_header();
	ksft_set_plan(1);
	if (!hwp_have_debugfs_injector())
		ksft_exit_skip("debugfs hwpoison injector not available\n");
	p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
	memset(p, 1, ps);
	pfn = hwp_virt_to_pfn(p);
	if (hwp_write_file("/proc/sys/vm/memory_failure_recovery", "0"))
		ksft_exit_fail_msg("cannot set vm.memory_failure_recovery\n");
	ret = hwp_inject_pfn(pfn);
	/* Only reached if the kernel did not panic. */
	ksft_test_result_fail("survived memory failure with recovery off (%d)\n",
			      ret);
	ksft_finished();
}
