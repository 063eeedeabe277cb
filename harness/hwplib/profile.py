# SPDX-License-Identifier: GPL-2.0
"""The profile sub-command: where a benchmark row's instructions go, per
kernel function, on both kernels.

Each kernel boots twice with the instruction-counting QEMU plugin
(harness/host/insn-prof.c): once doing the row's set-up only, once the
set-up and the row. The difference, per function of the kernel image and
per page, is what the row itself executed; boot and set-up cancel out.
The bench guests' clock counts one nanosecond per instruction, so these
counts are what the row's microseconds are made of.
"""

import bisect
import collections
import os

from .bench import ICOUNT, QUIET_CONSOLE
from .guest import build_guest_program, make_initramfs, qemu_boot
from .kbuild import build_kernel, kernel_image
from .paths import BUILD, HARNESS
from .util import HwpError, build_c, log

KERNELS = ('upstream', 'ours')
# Rows the bench program can run alone, with their set-up alone.
ROWS = {'hard_inuse': ('bench hard %d', 'bench hard %d setup')}


def build_plugin():
    return build_c(os.path.join(BUILD, 'host', 'insn-prof.so'),
                   [os.path.join(HARNESS, 'host', 'insn-prof.c')],
                   ['-shared', '-fPIC', '-O2', '-Wall'])


def text_symbols(kernel):
    """Sorted start addresses and names of the image's functions."""
    path = os.path.join(os.path.dirname(kernel_image(kernel, 'bench')),
                        '..', '..', '..', 'System.map')
    syms = []
    with open(os.path.normpath(path)) as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if kind in 'tTwW':
                syms.append((int(addr, 16), name))
    syms.sort()
    return [a for a, _ in syms], [n for _, n in syms]


def per_function(path, addrs, names):
    counts = collections.Counter()
    with open(path) as f:
        for line in f:
            vaddr, insns, runs = line.split()
            vaddr = int(vaddr, 16)
            if vaddr == 1:
                name = '(user space)'
            else:
                i = bisect.bisect_right(addrs, vaddr) - 1
                name = names[i] if i >= 0 else '(unknown)'
            counts[name] += int(insns) * int(runs)
    return counts


def profile_boot(kernel, plugin, bench, cmd, tag):
    work = os.path.join(BUILD, 'runs', 'profile', '%s-%s' % (kernel, tag))
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, 'insn-prof.out')
    if os.path.exists(out):
        os.unlink(out)
    initrd = os.path.join(work, 'initrd.gz')
    make_initramfs(initrd, {'/hwp/bin/bench': bench},
                   QUIET_CONSOLE + '%s > /dev/ttyS1 2>&1\n' % cmd,
                   kernel_image(kernel, 'bench'))
    # nokaslr: the blocks' addresses are System.map's.
    r = qemu_boot(kernel_image(kernel, 'bench'), initrd, work,
                  cmdline='nokaslr', timeout=900, disk=False,
                  qemu_args=ICOUNT + ('-plugin', 'file=%s,out=%s' %
                                      (plugin, out)))
    if r['timed_out'] or not os.path.exists(out):
        raise HwpError('profile guest (%s, %s) failed; see %s' %
                       (kernel, tag, work))
    return out, r['tests']


def cmd_profile(args):
    if args.row not in ROWS:
        raise HwpError('profile: rows: %s' % ', '.join(sorted(ROWS)))
    plugin = build_plugin()
    bench = build_guest_program('bench')
    row_cmd, setup_cmd = ROWS[args.row]
    per_page = {}
    for k in KERNELS:
        build_kernel(k, 'bench')
        addrs, names = text_symbols(k)
        full, tests = profile_boot(k, plugin, bench, row_cmd % args.pages,
                                   'row')
        setup, _ = profile_boot(k, plugin, bench, setup_cmd % args.pages,
                                'setup')
        a = per_function(full, addrs, names)
        b = per_function(setup, addrs, names)
        per_page[k] = {n: (a[n] - b[n]) / args.pages for n in set(a) | set(b)}
        for line in tests.splitlines():
            if line.startswith('BENCH '):
                log('%s: %s' % (k, line))
    u, o = per_page['upstream'], per_page['ours']
    print('%s: guest instructions per page (row minus set-up)' % args.row)
    print('%10s %10s %10s  %s' % ('upstream', 'ours', 'ours-up', 'function'))
    print('%10.0f %10.0f %10.0f  %s' % (sum(u.values()), sum(o.values()),
                                        sum(o.values()) - sum(u.values()),
                                        '(total)'))
    names = sorted(set(u) | set(o),
                   key=lambda n: -max(abs(u.get(n, 0)), abs(o.get(n, 0))))
    for n in names[:args.top]:
        print('%10.0f %10.0f %10.0f  %s' % (u.get(n, 0), o.get(n, 0),
                                            o.get(n, 0) - u.get(n, 0), n))
    return 0
