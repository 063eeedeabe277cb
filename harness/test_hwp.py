# SPDX-License-Identifier: GPL-2.0
"""Self-tests of the harness' readers: what a guest prints must become the
right results, and a splat must be blamed on the right test. Run by
`make check` before any guest boots (python3 -m unittest harness.test_hwp).
"""

import os
import sys
import unittest

# The readers live in harness/hwplib/results.py; the tests call them (and
# replace known_bugs) as hwp.*, so that is the name they get here.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
from hwplib import results as hwp  # noqa: E402

KSELFTEST = '''HWP-BEGIN hwpoison-x
TAP version 13
1..4
# Starting 4 tests from 2 test cases.
#  RUN           anon.debugfs.late_kill ...
#            OK  anon.debugfs.late_kill
ok 1 anon.debugfs.late_kill
not ok 2 anon.debugfs.early_kill_prctl
ok 3 anon.sysfs.thing # SKIP no sysfs
ok 4 global.xfailing # XFAIL known
# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0
HWP-END hwpoison-x 1
HWP-BEGIN crashed
TAP version 13
1..3
ok 1 global.a
HWP-END crashed 139
HWP-BEGIN plain
hello
HWP-END plain 0
HWP-BEGIN died
TAP version 13
1..2
ok 1 global.a
'''

KTAP = '''[    1.000000] KTAP version 1
[    1.000001] 1..2
[    1.000002]     KTAP version 1
[    1.000003]     # Subtest: mf_classify
[    1.000004]     # module: memory_failure_kunit
[    1.000005]     1..3
[    1.000006]     ok 1 classify_free_page
[    1.000007]     not ok 2 classify_slab
[    1.000008]         # classify_slab: EXPECTATION FAILED at x.c:10
[    1.000009]     ok 3 classify_hugetlb # SKIP no hugetlb
[    1.000010] # mf_classify: pass:1 fail:1 skip:1 total:3
[    1.000011] not ok 1 mf_classify
[    1.000012]     KTAP version 1
[    1.000013]     # Subtest: mf_report
[    1.000014]     1..1
[    1.000015]         KTAP version 1
[    1.000016]         # Subtest: report_counts
[    1.000017]         ok 1 free
[    1.000018]         ok 2 lru
[    1.000019]     ok 1 report_counts
[    1.000020] ok 2 mf_report
'''

CONSOLE = '''[    0.5] Linux version 6.12
[    2.0] hwp-test: begin hwpoison-anon
[    2.1] Memory failure: 0x1234: recovery action for dirty LRU page: Recovered
[    2.2] ------------[ cut here ]------------
[    2.3] WARNING: CPU: 1 PID: 77 at mm/memory-failure.c:100 foo+0x1/0x2
[    2.4] Call Trace:
[    2.5] hwp-test: end hwpoison-anon rc=0
[    2.6] BUG: Bad page state in process swapper
'''


class TapTests(unittest.TestCase):
    def test_kselftest_cases(self):
        secs = hwp.parse_tests_log(KSELFTEST)
        res = hwp.binary_results('hwpoison-x', *secs['hwpoison-x'])
        self.assertEqual(res, [
            ('hwpoison-x/anon.debugfs.late_kill', 'pass', ''),
            ('hwpoison-x/anon.debugfs.early_kill_prctl', 'fail', ''),
            ('hwpoison-x/anon.sysfs.thing', 'skip', 'no sysfs'),
            ('hwpoison-x/global.xfailing', 'pass', 'known'),
        ])

    def test_crash_mid_run_fails(self):
        secs = hwp.parse_tests_log(KSELFTEST)
        res = hwp.binary_results('crashed', *secs['crashed'])
        self.assertIn(('crashed/exit', 'fail', 'only 1 of 3 cases ran'), res)

    def test_plain_binary_uses_exit_code(self):
        secs = hwp.parse_tests_log(KSELFTEST)
        self.assertEqual(hwp.binary_results('plain', *secs['plain']),
                         [('plain', 'pass', 'exit code 0')])
        self.assertEqual(hwp.binary_results('plain', [], 4),
                         [('plain', 'skip', 'exit code 4')])
        self.assertEqual(hwp.binary_results('plain', [], 1),
                         [('plain', 'fail', 'exit code 1')])

    def test_unfinished_binary_fails(self):
        secs = hwp.parse_tests_log(KSELFTEST)
        lines, rc = secs['died']
        self.assertIsNone(rc)
        res = hwp.binary_results('died', lines, rc)
        self.assertEqual(res[-1][0:2], ('died/exit', 'fail'))

    def test_all_passed_but_bad_exit_fails(self):
        res = hwp.binary_results('b', ['1..1', 'ok 1 global.a'], 1)
        self.assertEqual(res[-1], ('b/exit', 'fail', 'exit code 1'))


class KtapTests(unittest.TestCase):
    def test_kunit_suites(self):
        res = hwp.parse_ktap(KTAP)
        self.assertEqual(res, [
            ('kunit/mf_classify.classify_free_page', 'pass', ''),
            ('kunit/mf_classify.classify_slab', 'fail', ''),
            ('kunit/mf_classify.classify_hugetlb', 'skip', 'no hugetlb'),
            ('kunit/mf_report.report_counts', 'pass', ''),
        ])

    def test_kunit_merged_across_boots(self):
        from hwplib.suite import merge_kunit
        res = merge_kunit([
            ('kunit/s.a', 'pass', ''), ('t/x', 'pass', ''),
            ('kunit/s.b', 'pass', ''), ('kunit/s.a', 'fail', 'boot 2'),
            ('t/y', 'pass', ''), ('kunit/s.b', 'pass', '')])
        self.assertEqual(res, [('kunit/s.a', 'fail', 'boot 2'),
                               ('t/x', 'pass', ''), ('kunit/s.b', 'pass', ''),
                               ('t/y', 'pass', '')])

    def test_no_kunit(self):
        self.assertEqual(hwp.parse_ktap('[ 1.0] KTAP version 1\n[ 1.1] 1..0\n'),
                         [])


class SplatTests(unittest.TestCase):
    def test_blame(self):
        splats = hwp.find_splats(CONSOLE)
        self.assertEqual([s[0] for s in splats],
                         ['hwpoison-anon', 'hwpoison-anon', None])
        self.assertIn('WARNING: CPU: 1', splats[0][1])
        self.assertIn('Bad page state', splats[2][1])

    def test_memory_failure_lines_are_not_splats(self):
        self.assertEqual(hwp.find_splats(
            '[ 1.0] Memory failure: 0x1: recovery action for free buddy '
            'page: Recovered\n[ 1.1] mce: [Hardware Error]: Machine check '
            'events logged\n[ 1.2] MCE: Killing a:1 due to hardware memory '
            'corruption fault at 7f00\n'), [])

    def test_expected_panic(self):
        text = ('[ 1.0] hwp-test: begin p\n[ 1.1] Kernel panic - not '
                'syncing: Memory failure on page 1234\n[ 1.2] Call Trace:\n')
        self.assertEqual(hwp.find_splats(text, ignore_after_panic=True), [])
        self.assertEqual(len(hwp.find_splats(text)), 2)


class KnownBugTests(unittest.TestCase):
    def test_classify(self):
        orig = hwp.known_bugs
        hwp.known_bugs = lambda: [('t/open.*', 'open', 'why'),
                                  ('t/fixed', 'fixed', 'why')]
        try:
            res = [('t/open.a', 'fail', ''), ('t/fixed', 'fail', ''),
                   ('t/other', 'fail', ''), ('t/open.b', 'pass', '')]
            self.assertEqual([r[1] for r in hwp.classify('upstream', res)],
                             ['upstream-bug', 'upstream-bug', 'fail', 'pass'])
            self.assertEqual([r[1] for r in hwp.classify('ours', res)],
                             ['xfail', 'fail', 'fail', 'pass'])
        finally:
            hwp.known_bugs = orig

    def test_flavour_mark(self):
        orig = hwp.known_bugs
        hwp.known_bugs = lambda: [('t/dbg@debug', 'fixed', 'why')]
        try:
            res = [('t/dbg', 'fail', '')]
            self.assertEqual(hwp.classify('upstream', res)[0][1], 'fail')
            self.assertEqual(hwp.classify('upstream', res, 'test')[0][1],
                             'fail')
            self.assertEqual(hwp.classify('upstream', res, 'debug')[0][1],
                             'upstream-bug')
            self.assertIsNone(hwp.known_bug('t/dbg'))
        finally:
            hwp.known_bugs = orig


class SkipTests(unittest.TestCase):
    def test_unlisted_skip_fails(self):
        orig = hwp.allowed_skips
        hwp.allowed_skips = lambda: [('t/up.*', 'upstream', 'why'),
                                     ('t/any', 'both', 'why')]
        try:
            res = [('t/up.a', 'skip', 'r'), ('t/any', 'skip', 'r'),
                   ('t/other', 'skip', 'r'), ('t/ok', 'pass', '')]
            self.assertEqual([r[1] for r in hwp.classify('upstream', res)],
                             ['skip', 'skip', 'fail', 'pass'])
            self.assertEqual([r[1] for r in hwp.classify('ours', res)],
                             ['fail', 'skip', 'fail', 'pass'])
            self.assertIn('unexpected SKIP',
                          hwp.classify('ours', res)[2][2])
            # A skipped case listed as an upstream bug still fails.
            kb = hwp.known_bugs
            hwp.known_bugs = lambda: [('t/other', 'open', 'why')]
            try:
                self.assertEqual(hwp.classify('upstream', res)[2][1], 'fail')
                self.assertEqual(hwp.classify('ours', res)[2][1], 'fail')
            finally:
                hwp.known_bugs = kb
        finally:
            hwp.allowed_skips = orig



class MaintainersTests(unittest.TestCase):
    def test_covered(self):
        from hwplib.series import covered, maintainer_patterns
        pats = maintainer_patterns('X\nF:\tmm/memory-failure/\n'
                                   'F:\ttools/testing/selftests/mm/hwpoison*\n')
        self.assertTrue(covered('mm/memory-failure/queue.c', pats))
        self.assertTrue(covered('tools/testing/selftests/mm/hwpoison-a.c',
                                pats))
        self.assertFalse(covered('mm/memory-failure.c', pats))
        self.assertFalse(covered('mm/other.c', pats))


class CopiedTests(unittest.TestCase):
    UP = ['static int f(struct page *p)', '{',
          '\tint ret = do_one_thing(p);', '', '\tif (ret)',
          '\t\treturn ret;', '\tret = do_another_thing(p, 1);',
          '\tput_the_page_back(p);', '\tcount_it_somewhere(p);',
          '\treturn ret;', '}']

    def test_run_found(self):
        from hwplib.copied import MAX_RUN, copied_runs
        ours = ['/* ours */', '  int ret = do_one_thing(p);', '',
                'if (ret)', 'return ret;', 'ret = do_another_thing(p, 1);',
                'put_the_page_back(p);', 'count_it_somewhere(p);']
        runs = copied_runs(ours, self.UP)
        self.assertEqual(1, len(runs))
        first, up_first, n, _ = runs[0]
        self.assertEqual((2, 3), (first, up_first))
        # Blank lines and a short "if" or "return" do not count.
        self.assertEqual(4, n)
        self.assertGreaterEqual(n, MAX_RUN)

    def test_reordered_is_not_a_run(self):
        from hwplib.copied import copied_runs
        ours = ['ret = do_another_thing(p, 1);', 'count_it_somewhere(p);',
                'int ret = do_one_thing(p);', 'put_the_page_back(p);']
        self.assertEqual([], copied_runs(ours, self.UP))

    def test_tables_are_data(self):
        from hwplib.copied import copied_runs
        table = ['[MF_MSG_KERNEL] = "reserved kernel page",',
                 '[MF_MSG_HUGE] = "huge page",', '.mode = 0644,',
                 '.proc_handler = proc_dointvec_minmax,']
        self.assertEqual([], copied_runs(table, table))


class BisectTests(unittest.TestCase):
    def test_warnings_of_touched_files_only(self):
        import tempfile
        from hwplib.bisect import our_warnings
        text = ('../mm/memory-failure/core.c:12:5: warning: unused x\n'
                'mm/slub.c:40:1: warning: not ours\n'
                '../mm/ksm.c:7: error: broken\n'
                '  CC      mm/memory-failure/core.o\n')
        with tempfile.NamedTemporaryFile('w', suffix='.log') as f:
            f.write(text)
            f.flush()
            bad = our_warnings(f.name, ['mm/memory-failure/core.c',
                                        'mm/ksm.c'])
        self.assertEqual(2, len(bad))
        self.assertIn('unused x', bad[0])
        self.assertIn('broken', bad[1])

    def test_series_targets(self):
        import tempfile
        from hwplib.bisect import series_targets
        text = ('diff --git a/mm/a.c b/mm/a.c\n--- a/mm/a.c\n'
                'diff --git a/mm/old.c b/mm/new.c\n')
        with tempfile.NamedTemporaryFile('w', suffix='.patch') as f:
            f.write(text)
            f.flush()
            self.assertEqual(['mm/a.c', 'mm/old.c', 'mm/new.c'],
                             series_targets(f.name))


class InitramfsTests(unittest.TestCase):
    def test_extra_holding_the_stage_is_refused(self):
        import tempfile
        from hwplib.guest import is_under, make_initramfs
        from hwplib.util import HwpError
        top = tempfile.gettempdir()
        self.assertTrue(is_under(os.path.join(top, 'x', 'y'), top))
        self.assertFalse(is_under(top + 'x', top))
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaisesRegex(HwpError, 'staging directory'):
                make_initramfs(os.path.join(d, 'i.gz'), {'/extra': top}, '')
            self.assertFalse(os.path.exists(os.path.join(d, 'i.gz')))


class BenchTests(unittest.TestCase):
    def test_clock(self):
        from unittest import mock
        from hwplib.bench import ICOUNT, bench_qemu_args
        from hwplib.util import HwpError
        with mock.patch.dict(os.environ, {}, clear=False):
            os.environ.pop('HWP_BENCH_CLOCK', None)
            self.assertEqual(ICOUNT, bench_qemu_args())
            self.assertIn('-icount', ICOUNT)
        with mock.patch.dict(os.environ, {'HWP_BENCH_CLOCK': 'host'}):
            self.assertEqual((), tuple(bench_qemu_args()))
        with mock.patch.dict(os.environ, {'HWP_BENCH_CLOCK': 'tsc'}):
            self.assertRaises(HwpError, bench_qemu_args)


if __name__ == '__main__':
    unittest.main()
