# SPDX-License-Identifier: GPL-2.0
"""Reading results: KTAP (KUnit), TAP (kselftest), splats, known
upstream bugs (harness/upstream-bugs), and the verdicts made of them.

Pure text processing: harness/test_hwp.py tests these readers before any
of their verdicts count.
"""

import fnmatch
import os
import re

from .paths import HARNESS
from .util import HwpError, read


# Patterns that make a run fail even when every test passed.
SPLAT_PATTERNS = [
    r'WARNING:', r'BUG:', r'Oops', r'Kernel panic', r'kernel BUG at',
    r'general protection fault', r'possible circular locking',
    r'inconsistent lock state', r'possible recursive locking',
    r'suspicious RCU usage', r'DEBUG_LOCKS_WARN_ON', r'KASAN', r'UBSAN',
    r'refcount_t',
    r'Bad page', r'list_add corruption', r'list_del corruption',
    r'Call Trace:', r'unreferenced object 0x',
]
SPLAT_RE = re.compile('|'.join('(?:%s)' % p for p in SPLAT_PATTERNS))
TIMESTAMP_RE = re.compile(r'^\[\s*\d+\.\d+\]\s?')


def console_lines(console):
    return [TIMESTAMP_RE.sub('', l.rstrip('\r'))
            for l in console.splitlines()]


def find_splats(console, ignore_after_panic=False):
    """Return [(test running or None, line)] for every splat line."""
    out = []
    current = None
    for l in console_lines(console):
        m = re.search(r'hwp-test: (begin|end) (\S+)', l)
        if m:
            current = m.group(2) if m.group(1) == 'begin' else None
            continue
        if ignore_after_panic and 'Kernel panic' in l:
            break
        if SPLAT_RE.search(l):
            out.append((current, l.strip()))
    return out


TAP_RE = re.compile(r'^(\s*)(not ok|ok)\s+\d+\s*-?\s*([^#]*?)\s*'
                    r'(?:#\s*(\S+)\s*(.*))?$')


def parse_ktap(console):
    """KUnit results from the console: [(name, result, reason)].

    Suites are the subtests at the top level; their test cases are the
    result lines one level (4 spaces) in. Parameterised cases deeper down
    are summed up by their test's own line. A failed suite with no failed
    case (e.g. its init failed) is reported as a case of its own.
    """
    results = []
    suite = None
    failed_in_suite = False
    for l in console_lines(console):
        m = re.match(r'^(\s*)# Subtest: (\S+)', l)
        if m:
            if len(m.group(1)) == 4:
                suite, failed_in_suite = m.group(2), False
            continue
        m = TAP_RE.match(l)
        if not m:
            continue
        indent = len(m.group(1))
        if indent == 4 and suite:
            res = tap_result(m)
            failed_in_suite |= res == 'fail'
            results.append(('kunit/%s.%s' % (suite, m.group(3)), res,
                            m.group(5) or ''))
        elif indent == 0 and suite and m.group(3) == suite:
            if tap_result(m) == 'fail' and not failed_in_suite:
                results.append(('kunit/%s' % suite, 'fail',
                                'suite failed'))
            suite = None
    return results


def tap_result(m):
    directive = (m.group(4) or '').upper()
    if directive == 'SKIP':
        return 'skip'
    if directive == 'XFAIL':
        return 'pass'
    return 'pass' if m.group(2) == 'ok' else 'fail'


def parse_tests_log(text):
    """Split the test port log into {binary: (lines, rc or None)}."""
    out = {}
    cur = None
    for l in text.splitlines():
        m = re.match(r'^HWP-BEGIN (\S+)$', l)
        if m:
            cur = m.group(1)
            out[cur] = ([], None)
            continue
        m = re.match(r'^HWP-END (\S+) (\d+)$', l)
        if m and m.group(1) in out:
            out[m.group(1)] = (out[m.group(1)][0], int(m.group(2)))
            cur = None
            continue
        if cur:
            out[cur][0].append(l)
    return out


def binary_results(name, lines, rc):
    """Cases of one test binary from its TAP output and exit code."""
    results = []
    plan = None
    for l in lines:
        m = re.match(r'^1\.\.(\d+)', l)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = TAP_RE.match(l)
        if m and not m.group(1):
            results.append(('%s/%s' % (name, m.group(3)), tap_result(m),
                            m.group(5) or ''))
    if rc is None:
        results.append(('%s/exit' % name, 'fail',
                        'did not finish (guest died or timed out)'))
    elif not results:
        res = 'pass' if rc == 0 else 'skip' if rc == 4 else 'fail'
        results.append((name, res, 'exit code %d' % rc))
    elif plan is not None and len(results) < plan:
        results.append(('%s/exit' % name, 'fail', 'only %d of %d cases ran'
                        % (len(results), plan)))
    elif rc not in (0, 4) and not any(r[1] == 'fail' for r in results):
        results.append(('%s/exit' % name, 'fail', 'exit code %d' % rc))
    return results


def known_bugs():
    """harness/upstream-bugs: 'case-glob[@flavour] fixed|open reason...'."""
    out = []
    for l in read(os.path.join(HARNESS, 'upstream-bugs'), '').splitlines():
        l = l.strip()
        if not l or l.startswith('#'):
            continue
        glob, state, reason = (l.split(None, 2) + ['', ''])[:3]
        if state not in ('fixed', 'open'):
            raise HwpError('upstream-bugs: %r: state must be fixed or open'
                           % l)
        out.append((glob, state, reason))
    return out


def known_bug(case, flavour=None):
    """The mark for @case; one that names a flavour (glob@debug) holds on
    that flavour's kernels only."""
    for glob, state, reason in known_bugs():
        glob, _, only = glob.partition('@')
        if only and only != (flavour or 'test'):
            continue
        if fnmatch.fnmatchcase(case, glob):
            return state, reason
    return None


def allowed_skips():
    """harness/allowed-skips: 'case-glob ours|upstream|both reason...'."""
    out = []
    for l in read(os.path.join(HARNESS, 'allowed-skips'), '').splitlines():
        l = l.strip()
        if not l or l.startswith('#'):
            continue
        glob, kernel, reason = (l.split(None, 2) + ['', ''])[:3]
        if kernel not in ('ours', 'upstream', 'both') or not reason:
            raise HwpError('allowed-skips: %r: want <case> '
                           '<ours|upstream|both> <reason>' % l)
        out.append((glob, kernel, reason))
    return out


def skip_allowed(kernel, case):
    return any(fnmatch.fnmatchcase(case, glob) and k in (kernel, 'both')
               for glob, k, _ in allowed_skips())


def classify(kernel, results, flavour=None):
    """Apply harness/upstream-bugs and harness/allowed-skips to raw results:
    a SKIP that is not listed for @kernel fails the run."""
    out = []
    for name, res, reason in results:
        if res == 'skip' and not skip_allowed(kernel, name):
            # Never excused as a known bug: the case did not run.
            out.append((name, 'fail', 'unexpected SKIP (not in '
                        'harness/allowed-skips): ' + reason))
            continue
        kb = known_bug(name, flavour)
        if kb and res == 'fail':
            state, why = kb
            if kernel == 'upstream':
                res, reason = 'upstream-bug', why
            elif state == 'open':
                res, reason = 'xfail', 'known upstream bug, not fixed yet: ' \
                    + why
        out.append((name, res, reason))
    return out


def summary_line(results):
    p = sum(1 for r in results if r[1] == 'pass')
    f = sum(1 for r in results if r[1] == 'fail')
    s = sum(1 for r in results if r[1] in ('skip', 'xfail', 'upstream-bug'))
    return p, f, s


def print_results(kernel, results):
    for i, (name, res, reason) in enumerate(results, 1):
        tag = {'pass': 'ok', 'skip': 'ok', 'xfail': 'ok'}.get(res, 'not ok')
        extra = ''
        if res == 'skip':
            extra = ' # SKIP ' + reason
        elif res == 'xfail':
            extra = ' # XFAIL ' + reason
        elif res != 'pass' and reason:
            extra = ' # ' + reason
        print('%s %d %s%s' % (tag, i, name, extra))
