# SPDX-License-Identifier: GPL-2.0
"""Sub-commands: check, compare, vm, demo, build and tree (bench and
series have modules of their own)."""

import os
import re
import shlex
import shutil
import subprocess
import sys

from .guest import build_guest_program, make_initramfs, qemu_boot
from .kbuild import build_kernel, kernel_image
from .paths import BUILD, HARNESS, KERNELS, ROOT
from .results import find_splats, known_bug, print_results, summary_line
from .suite import run_suite
from .tree import sync_tree
from .util import HwpError, log


def harness_selftest():
    """The harness' own readers and its install list must be right before
    its verdicts count."""
    p = subprocess.run([sys.executable, '-m', 'unittest', '-q',
                        'harness.test_hwp', 'harness.test_setup'], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode:
        raise HwpError('harness self-test failed:\n' + p.stdout)


def cmd_check(args):
    kernel = getattr(args, 'kernel', 'ours')
    if kernel not in KERNELS:
        raise HwpError('KERNEL must be ours or upstream')
    harness_selftest()
    results = run_suite(kernel, args.tests, args.verbose, args.flavour)
    print('TAP version 13')
    print('1..%d' % len(results))
    print_results(kernel, results)
    xf = sum(1 for r in results if r[1] == 'xfail')
    ub = sum(1 for r in results if r[1] == 'upstream-bug')
    # On ours an open bug that passes is a stale mark; on upstream any mark
    # is, since the case is supposed to fail there.
    xpass = [r[0] for r in results if r[1] == 'pass' and
             (known_bug(r[0], args.flavour) or ('', ''))[0] in
             (('open',) if kernel == 'ours' else ('open', 'fixed'))]
    if xf:
        print('# %d known upstream bug(s) not fixed yet (counted as skipped)'
              % xf)
    if ub:
        print('# %d case(s) fail as harness/upstream-bugs says 6.12 does'
              % ub)
    for x in xpass:
        print('# %s passes but harness/upstream-bugs marks it as a bug' % x)
    p, f, s = summary_line(results)
    print('%d passed, %d failed, %d skipped' % (p, f, s))
    return 1 if f else 0


def cmd_compare(args):
    harness_selftest()
    res = {}
    for k in ('upstream', 'ours'):
        res[k] = run_suite(k, args.tests, args.verbose, args.flavour)
    names = []
    for k in ('upstream', 'ours'):
        for r in res[k]:
            if r[0] not in names:
                names.append(r[0])
    get = {k: {r[0]: r[1] for r in res[k]} for k in res}
    rows = [(n, get['upstream'].get(n, '-'), get['ours'].get(n, '-'))
            for n in names]
    w = max([len(n) for n in names] + [4])
    print('%-*s  %-12s  %s' % (w, 'test', 'upstream', 'ours'))
    for n, u, o in rows:
        print('%-*s  %-12s  %s' % (w, n, u, o))
    with open(os.path.join(BUILD, 'compare.tsv'), 'w') as f:
        for n, u, o in rows:
            f.write('%s\t%s\t%s\n' % (n, u, o))
    for k in ('upstream', 'ours'):
        p, fl, s = summary_line(res[k])
        print('%s: %d passed, %d failed, %d skipped' % (k, p, fl, s))
    log('table written to %s' % os.path.relpath(
        os.path.join(BUILD, 'compare.tsv'), ROOT))
    # An upstream failure must be marked in harness/upstream-bugs too.
    return 1 if any(summary_line(res[k])[1] for k in res) else 0


def cmd_vm(args):
    kernel = args.kernel
    if kernel not in KERNELS:
        raise HwpError('KERNEL must be ours or upstream')
    flavour = args.flavour
    build_kernel(kernel, flavour)
    work = os.path.join(BUILD, 'runs', 'vm-%s' % kernel)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    files = {}
    if args.extra:
        if not os.path.isdir(args.extra):
            raise HwpError('EXTRA=%s is not a folder' % args.extra)
        files['/extra'] = os.path.abspath(args.extra)
    cmd = args.cmd or 'true'
    if args.interactive:
        # A login-less shell on the console; leave it with exit.
        cmd = ('sh=/bin/sh; [ -x /bin/bash ] && sh=/bin/bash; '
               'setsid $sh -c "exec $sh -i <>/dev/ttyS0 >&0 2>&1"')
    job = ('echo "hwp-test: begin vm" > /dev/kmsg\n'
           'export PATH=$PATH:/extra\n%s\nrc=$?\n'
           'echo "hwp-test: end vm" > /dev/kmsg\nexit $rc\n' % cmd)
    initrd = os.path.join(work, 'initrd.gz')
    make_initramfs(initrd, files, job, kernel_image(kernel, flavour))
    host = os.path.abspath(args.host) if args.host else None
    r = qemu_boot(kernel_image(kernel, flavour), initrd, work,
                  cmdline=args.cmdline or '',
                  qemu_args=shlex.split(args.qemu or ''),
                  mem=args.mem, timeout=args.timeout, host=host,
                  echo=not args.interactive, guest=args.guest,
                  interactive=args.interactive)
    if host:
        print('--- host script (exit %s) ---' % r['host_rc'])
        print(r['host_log'], end='')
    if args.interactive:
        return 0
    m = re.search(r'HWP-JOB-EXIT (\d+)', r['console'])
    splats = find_splats(r['console'])
    rc = 0
    if r['timed_out']:
        log('guest timed out after %d s' % args.timeout)
        rc = 1
    for running, line in splats[:5]:
        log('splat: %s' % line)
        rc = 1
    if host and r['host_rc']:
        log('host script failed (exit %s)' % r['host_rc'])
        rc = 1
    if not m:
        log('the guest did not finish the command')
        rc = rc or 1
    elif int(m.group(1)):
        log('command exit status %s' % m.group(1))
        rc = rc or int(m.group(1))
    log('logs in %s' % os.path.relpath(work, ROOT))
    return rc


def cmd_demo(args):
    """Build our kernel, boot it, and show a service meeting memory errors."""
    demo = build_guest_program('demo')
    build_kernel('ours')
    work = os.path.join(BUILD, 'runs', 'demo')
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    initrd = os.path.join(work, 'initrd.gz')
    make_initramfs(initrd, {'/hwp/bin/demo': demo},
                   'echo "hwp-test: begin demo" > /dev/kmsg\n'
                   'demo > /dev/ttyS1 2>&1\nrc=$?\n'
                   'echo "hwp-test: end demo" > /dev/kmsg\nexit $rc\n',
                   kernel_image('ours'))
    log('booting our kernel for the demo')
    r = qemu_boot(kernel_image('ours'), initrd, work, timeout=300,
                  host=os.path.join(HARNESS, 'host', 'demo.py'))
    print(r['tests'], end='')
    print('--- host side ---')
    print(r['host_log'], end='')
    splats = find_splats(r['console'])
    for running, line in splats[:5]:
        log('splat: %s' % line)
    ok = (not r['timed_out'] and not splats and r['host_rc'] == 0 and
          'HWP-JOB-EXIT 0' in r['console'])
    log('demo %s in %.0f s; console log in %s' % (
        'finished' if ok else 'FAILED', r['elapsed'],
        os.path.relpath(os.path.join(work, 'console.log'), ROOT)))
    return 0 if ok else 1


def cmd_build(args):
    for k in args.kernels or ['ours']:
        print(build_kernel(k, args.flavour))
    return 0


def cmd_tree(args):
    for k in args.kernels or ['ours']:
        print(sync_tree(k)[0])
    return 0
