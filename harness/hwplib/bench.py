# SPDX-License-Identifier: GPL-2.0
"""The bench sub-command: per-page costs on both kernels."""

import os
import re

from .guest import build_guest_program, make_initramfs, qemu_boot
from .kbuild import build_kernel, kernel_image
from .paths import BUILD, HARNESS
from .util import HwpError, log


# The kernel times the work, not QEMU's emulated UART: memory failure's
# per-page lines (pr_err, pr_info) stay in the kernel log but leave the
# console, which keeps only messages more severe than errors.
QUIET_CONSOLE = 'echo 3 > /proc/sys/kernel/printk\n'
# mce_latency asks the host for each machine check through /dev/kmsg, two
# lines per injection: without this, writes beyond 10 in 5 s are dropped
# (the default rate limit), and the request with them.
KMSG_UNLIMITED = 'echo on > /proc/sys/kernel/printk_devkmsg\n'

# The guest's clock counts emulated instructions (one a nanosecond): a row
# measures the work each kernel does, not how busy the host was. On the
# host's own clock (HWP_BENCH_CLOCK=host) the same unchanged code measured
# 49 to 95 us a fault across boots of one kernel. Instruction counting
# needs one TCG thread, which the guests use anyway.
ICOUNT = ('-icount', 'shift=0,sleep=on')


def bench_qemu_args():
    """QEMU arguments of the benchmark guests: the guest clock's source."""
    clock = os.environ.get('HWP_BENCH_CLOCK', 'icount')
    if clock == 'icount':
        return ICOUNT
    if clock == 'host':
        return ()
    raise HwpError('HWP_BENCH_CLOCK=%s: icount or host' % clock)


BENCH_ROWS = ('fault', 'soft_free', 'soft_inuse_page', 'soft_inuse_range',
              'hard_free', 'hard_inuse', 'hard_inuse_console', 'swap_out',
              'remote_read', 'ksm_merge', 'mce_latency', 'bulk_retire',
              'bulk_fault_idle', 'bulk_fault_busy', 'bulk_fault_slowdown',
              'scale_first', 'scale_last', 'scale_growth', 'fault_unretired',
              'fault_retired', 'fault_retired_growth')


def cmd_bench(args):
    """Both kernels, built without lock debugging, booted in one run;
    rounds alternate between them and each row keeps its median. Until
    the two kernels differ, the ratios show the noise floor."""
    bench = build_guest_program('bench')
    for k in ('upstream', 'ours'):
        build_kernel(k, 'bench')
    rounds = int(os.environ.get('HWP_BENCH_ROUNDS', '5'))
    qemu_args = bench_qemu_args()
    samples = {k: {r: [] for r in BENCH_ROWS} for k in ('upstream', 'ours')}
    # Rows whose every measurement the guest prints: their median is taken
    # over all the boots' measurements together, not over per-boot medians.
    pooled = {k: {} for k in ('upstream', 'ours')}
    for rnd in range(rounds):
        # Alternate which kernel goes first, so that neither always runs
        # on a warmer host.
        order = ('upstream', 'ours') if rnd % 2 == 0 else ('ours', 'upstream')
        for k in order:
            work = os.path.join(BUILD, 'runs', 'bench', '%s-%d' % (k, rnd))
            initrd = os.path.join(work, 'initrd.gz')
            os.makedirs(work, exist_ok=True)
            make_initramfs(initrd, {'/hwp/bin/bench': bench},
                           QUIET_CONSOLE + KMSG_UNLIMITED +
                           'bench %s > /dev/ttyS1 2>&1\n' % args.pages,
                           kernel_image(k, 'bench'))
            # The host side of mce_latency: machine checks through the
            # QEMU monitor, on the guest's request.
            r = qemu_boot(kernel_image(k, 'bench'), initrd, work,
                          timeout=900, disk=False, qemu_args=qemu_args,
                          host=os.path.join(HARNESS, 'host', 'mce.py'))
            if r['timed_out']:
                raise HwpError('benchmark guest (%s) timed out' % k)
            for l in r['tests'].splitlines():
                m = re.match(r'^SAMPLE (\S+) (\S+)$', l)
                if m and m.group(1) in samples[k]:
                    pooled[k].setdefault(m.group(1), []).append(
                        float(m.group(2)))
                    continue
                m = re.match(r'^BENCH (\S+) pages=(\d+) us_per_page=(\S+) '
                             r'failed=(\d+)', l)
                if m and m.group(1) in samples[k]:
                    samples[k][m.group(1)].append(float(m.group(3)))
                    if int(m.group(4)):
                        log('%s round %d: %s: %s of %s pages failed' %
                            (k, rnd, m.group(1), m.group(4), m.group(2)))
            log('bench round %d on %s done (%.0f s)' % (rnd, k, r['elapsed']))

    def median(v):
        v = sorted(v)
        return v[len(v) // 2] if v else float('nan')

    lines = []
    for row in BENCH_ROWS:
        u = median(pooled['upstream'].get(row, samples['upstream'][row]))
        o = median(pooled['ours'].get(row, samples['ours'][row]))
        ratio = o / u if u else float('nan')
        print('BENCH %s upstream_us=%.2f ours_us=%.2f ratio=%.3f' %
              (row, u, o, ratio))
        lines.append('%s\t%.2f\t%.2f\t%.3f\n' % (row, u, o, ratio))
    with open(os.path.join(BUILD, 'bench.tsv'), 'w') as f:
        f.writelines(lines)
    log('%d rounds per kernel; written to build/bench.tsv' % rounds)
    return 0
