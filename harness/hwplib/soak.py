# SPDX-License-Identifier: GPL-2.0
"""The soak sub-command: every page type under a seeded random stream of
hard and soft offline, unpoison and fuzzed inputs, with compaction,
khugepaged, ksmd and swap running (harness/guest/soak*.c), on one kernel.
"""

import glob
import os
import re

from .guest import make_initramfs, qemu_boot
from .kbuild import build_kernel, kernel_image
from .paths import BUILD, HARNESS, KERNELS, ROOT
from .results import SPLAT_RE, console_lines, find_splats, known_bug
from .util import HwpError, build_c, log

SELFTESTS = os.path.join(ROOT, 'tools', 'testing', 'selftests', 'mm')


def build_soak():
    """build/guest/soak from harness/guest/soak*.c; it includes the
    selftests' hwpoison_util.h."""
    srcs = sorted(glob.glob(os.path.join(HARNESS, 'guest', 'soak*.c')))
    deps = glob.glob(os.path.join(HARNESS, 'guest', 'soak*.h')) + \
        [os.path.join(SELFTESTS, 'hwpoison_util.h')]
    return build_c(os.path.join(BUILD, 'guest', 'soak'), srcs,
                   ['-static', '-O2', '-Wall', '-D_GNU_SOURCE',
                    '-I', SELFTESTS], deps)


def soak_job(minutes, seed):
    # Console at warnings and errors only: memory_failure()'s results
    # (pr_err) and every splat still reach it, the pr_info lines of
    # 100,000 fuzzed inputs do not.
    return ('echo 5 > /proc/sys/kernel/printk\n'
            'echo "hwp-test: begin soak" > /dev/kmsg\n'
            'HWP_HOST=1 soak -m %s -s %d > /dev/ttyS1 2>&1 < /dev/null\n'
            'rc=$?\n'
            'echo "hwp-test: end soak rc=$rc" > /dev/kmsg\n'
            'exit $rc\n' % (minutes, seed))


def parse_soak(text):
    """The guest's "key value" lines, its VIOLATION lines and its verdict
    ("SOAK PASS" or "SOAK FAIL <why>", None if it never said)."""
    figures, violations, verdict = {}, [], None
    for l in text.splitlines():
        if l.startswith('VIOLATION '):
            violations.append(l[len('VIOLATION '):])
        elif l.startswith('SOAK '):
            verdict = l[len('SOAK '):]
        else:
            m = re.match(r'^([a-z][\w.]*) (-?[\d.]+)$', l)
            if m:
                figures[m.group(1)] = m.group(2)
    return figures, violations, verdict


def summary(figures):
    """A few lines a person reads: operations, signals, checks."""
    ops = {}
    for k, v in figures.items():
        m = re.match(r'^op\.(\w+)\.(\w+)$', k)
        if m:
            ops.setdefault(m.group(1), {})[m.group(2)] = v
    lines = ['%-16s %9s %9s  %s' % ('operation', 'attempts', 'ok',
                                    'errors (errno count)')]
    for name, s in ops.items():
        errs = ' '.join('%s %s' % (e, n) for e, n in s.items()
                        if e not in ('attempts', 'ok', 'unexpected') and
                        n != '0')
        lines.append('%-16s %9s %9s  %s' % (name, s.get('attempts', '0'),
                                            s.get('ok', '0'), errs))
    lines.append('%-16s %9s %9s %9s %9s %9s' % (
        'worker', 'passes', 'GiB read', 'lost', 'SIGBUS', 'bad'))
    for k in sorted(figures):
        m = re.match(r'^worker\.(\w+)\.units$', k)
        if not m:
            continue
        w = 'worker.%s.' % m.group(1)
        bad = sum(int(figures.get(w + x, 0)) for x in (
            'sigbus_unexpected', 'data_lost', 'fsync_eio_unexpected'))
        lines.append('%-16s %9s %9.1f %9s %9s %9d' % (
            m.group(1), figures.get(w + 'passes'),
            int(figures.get(w + 'bytes_verified', 0)) / 2**30,
            figures.get(w + 'units_lost'), figures.get(w + 'sigbus_expected'),
            bad))
    for k in ('soak.elapsed_s', 'sigbus.expected', 'sigbus.unexpected',
              'bytes_verified', 'inv.checks', 'inv.failed',
              'poisoned_pfns', 'hardware_corrupted_kb', 'violations'):
        lines.append('%-16s %s' % (k, figures.get(k, '?')))
    return lines


def splat_kinds(console):
    """Name each splat by the task and the function it hit, from the
    "Comm:" and "RIP:" lines that follow it: {"splat.<comm>.<function>":
    splat lines}, "splat.unknown" when the report has neither."""
    lines = console_lines(console)
    kinds = {}
    for i, l in enumerate(lines):
        if not SPLAT_RE.search(l):
            continue
        comm = func = None
        for m in lines[max(0, i - 30):i + 30]:
            c = re.search(r'\bComm: (\S+)', m)
            r = re.search(r'\bRIP: \w+:([\w.]+)\+', m)
            comm = comm or (c and c.group(1))
            func = func or (r and r.group(1))
        kind = 'splat.%s.%s' % (comm, func) if comm and func \
            else 'splat.unknown'
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def classify_violations(kernel, figures):
    """Split the violation kinds the guest counted ("violations.<kind>",
    and the splat kinds added to them) into known upstream bugs (harness/upstream-bugs, case "soak/<kind>":
    open ones on both kernels, fixed ones on upstream only) and the rest:
    [(kind, count, reason)] twice."""
    known, unknown = [], []
    for k, v in figures.items():
        if not k.startswith('violations.'):
            continue
        kind = k[len('violations.'):]
        kb = known_bug('soak/' + kind)
        if kb and (kb[0] == 'open' or kernel == 'upstream'):
            known.append((kind, v, kb[1]))
        else:
            unknown.append((kind, v, ''))
    return known, unknown


def cmd_soak(args):
    kernel, minutes, seed = args.kernel, args.minutes, args.seed
    if kernel not in KERNELS:
        raise HwpError('KERNEL must be ours or upstream')
    if minutes <= 0:
        raise HwpError('MINUTES must be positive')
    binary = build_soak()
    build_kernel(kernel)
    work = os.path.join(BUILD, 'runs', 'soak-%s-%d' % (kernel, seed))
    os.makedirs(work, exist_ok=True)
    initrd = os.path.join(work, 'initrd.gz')
    make_initramfs(initrd, {'/hwp/bin/soak': binary},
                   soak_job('%g' % minutes, seed), kernel_image(kernel))
    timeout = int((minutes + 10) * 60)
    log('soak on %s: %g minutes, seed %d (guest timeout %d s)' %
        (kernel, minutes, seed, timeout))
    r = qemu_boot(kernel_image(kernel), initrd, work, timeout=timeout,
                  host=os.path.join(HARNESS, 'host', 'mce.py'))
    figures, violations, verdict = parse_soak(r['tests'])
    splats = find_splats(r['console'])
    for kind, n in splat_kinds(r['console']).items():
        figures['violations.' + kind] = str(n)
    m = re.search(r'HWP-JOB-EXIT \d+', r['console'])
    known, unknown = classify_violations(kernel, figures)
    why = []
    if r['timed_out']:
        why.append('guest timed out after %d s' % timeout)
    if verdict is None:
        why.append('the soak never finished')
    elif figures.get('machine.answers') != '1':
        why.append('the machine stopped answering')
    elif verdict != 'PASS' and (not known or any(
            not k.startswith('splat.') for k, _, _ in unknown)):
        why.append('soak: ' + verdict)
    for kind, n, _ in unknown:
        if not kind.startswith('splat.'):
            why.append('%s violation(s) of %s' % (n, kind))
    if any(k.startswith('splat.') for k, _, _ in unknown):
        why.append('%d splat line(s) on the console, first: %s' %
                   (len(splats), splats[0][1]))
    if r['host_rc']:
        why.append('host script exit %s' % r['host_rc'])
    if not m:
        why.append('the guest did not finish its job')
    result = 'PASS' if not why else 'FAIL: ' + '; '.join(why)
    if known:
        result += ' (known upstream bugs: %s)' % ', '.join(
            'soak/%s x%s' % (k, n) for k, n, _ in known)
    out = os.path.join(BUILD, 'soak-%s-%d.txt' % (kernel, seed))
    with open(out, 'w') as f:
        f.write('kernel %s\nseed %d\nminutes %g\nguest_elapsed_s %.0f\n' %
                (kernel, seed, minutes, r['elapsed']))
        for k, v in figures.items():
            f.write('%s %s\n' % (k, v))
        for v in violations:
            f.write('violation %s\n' % v)
        for running, line in splats:
            f.write('splat %s\n' % line)
        f.write('result %s\n' % result)
    for l in summary(figures):
        print(l)
    for kind, n, reason in known:
        print('known upstream bug soak/%s (%s): %s' % (kind, n, reason))
    for v in violations[:20]:
        print('violation: %s' % v)
    for running, line in splats[:5]:
        print('splat: %s' % line)
    log('soak on %s, seed %d: %s' % (kernel, seed, result))
    log('figures in %s, logs in %s' % (os.path.relpath(out, ROOT),
                                        os.path.relpath(work, ROOT)))
    return 0 if not why else 1
