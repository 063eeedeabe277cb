# SPDX-License-Identifier: GPL-2.0
"""Self-tests of what a fresh machine needs: every program the harness runs
comes from a package the harness installs (or from a minimal Debian root),
and the Makefile hands free-form arguments over as typed. Run by `make
check` before any guest boots, with harness/test_hwp.py.
"""

import ast
import glob
import os
import shutil
import subprocess
import sys
import unittest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
from hwplib import packages  # noqa: E402

ROOT = os.path.dirname(_HERE)
# Functions whose first argument is a command line.
RUNNERS = {'run', 'Popen', 'call', 'check_call', 'check_output', 'kmake'}


def _command_head(node):
    """The program of a command-line expression, or None."""
    if isinstance(node, ast.BinOp):
        return _command_head(node.left)
    if isinstance(node, ast.List) and node.elts:
        first = node.elts[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


def _assigned_lists(func):
    """{name: [list expressions assigned to it]} within @func."""
    out = {}
    for node in ast.walk(func):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append(node.value)
    return out


def harness_programs():
    """{program: [file:line, ...]} of every command the harness runs."""
    found = {}
    files = [os.path.join(_HERE, 'hwp.py')] + \
        sorted(glob.glob(os.path.join(_HERE, 'hwplib', '*.py'))) + \
        sorted(glob.glob(os.path.join(_HERE, 'host', '*.py')))
    for path in files:
        with open(path) as f:
            tree = ast.parse(f.read(), path)
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.Module)):
                continue
            assigned = _assigned_lists(func)
            for node in ast.walk(func):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else \
                    getattr(fn, 'id', None)
                if name not in RUNNERS:
                    continue
                arg = node.args[0]
                exprs = assigned.get(arg.id, []) \
                    if isinstance(arg, ast.Name) else [arg]
                for e in exprs:
                    prog = _command_head(e)
                    if prog is None:
                        continue
                    where = '%s:%d' % (os.path.relpath(path, ROOT),
                                       node.lineno)
                    found.setdefault(os.path.basename(prog), set()).add(where)
    return {p: sorted(w) for p, w in found.items()}


def dpkg_owners(progs):
    """{program: [packages]} for the programs dpkg knows on this machine."""
    paths = {}
    for prog in progs:
        path = shutil.which(prog)
        # An alternatives link (awk) may resolve to any provider.
        if not path or os.path.islink(path) and \
                os.readlink(path).startswith('/etc/alternatives/'):
            continue
        for d in ('/bin', '/sbin', '/usr/bin', '/usr/sbin'):
            paths[os.path.join(d, prog)] = prog
        paths[path] = prog
        paths[os.path.realpath(path)] = prog
    p = subprocess.run(['dpkg-query', '-S'] + sorted(paths),
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    owners = {}
    for line in p.stdout.splitlines():
        if line.startswith('diversion') or ': ' not in line:
            continue
        pkgs, path = line.split(': ', 1)
        if path in paths:
            owners.setdefault(paths[path], set()).update(
                x.strip().split(':')[0] for x in pkgs.split(','))
    return owners


class ProgramTests(unittest.TestCase):
    def provided(self):
        return set(packages.DEB_PACKAGES) | \
            set(packages.ON_DEMAND_PACKAGES) | \
            set(packages.MINBASE_PACKAGES)

    def test_scanner_sees_commands(self):
        found = harness_programs()
        # One the harness has always run in several places: if the scanner
        # stops finding it, the test below proves nothing.
        for prog in ('qemu-system-x86_64', 'apt-get', 'mkfs.ext4', 'patch'):
            self.assertIn(prog, found)

    def test_every_program_has_a_package(self):
        progs = dict(harness_programs())
        for p in packages.KBUILD_PROGRAMS:
            progs.setdefault(p, ['the kernel build'])
        missing = ['%s (run at %s)' % (p, ', '.join(w))
                   for p, w in sorted(progs.items())
                   if p not in packages.PROGRAMS]
        self.assertEqual([], missing, 'programs with no package in '
                         'harness/hwplib/packages.py PROGRAMS')

    def test_every_package_is_installed_by_the_harness(self):
        have = self.provided()
        bad = []
        for prog, pkg in sorted(packages.PROGRAMS.items()):
            via = packages.DEPENDENCIES.get(pkg)
            if pkg not in have and via not in have:
                bad.append('%s -> %s' % (prog, pkg))
        self.assertEqual([], bad, 'packages nobody installs')

    def test_packages_are_true_here(self):
        """Where this machine has a program, dpkg agrees on its package."""
        bad = []
        owners = dpkg_owners(packages.PROGRAMS)
        for prog, pkg in sorted(packages.PROGRAMS.items()):
            if prog in owners and pkg not in owners[prog]:
                bad.append('%s: listed as %s, dpkg says %s' %
                           (prog, pkg, ', '.join(sorted(owners[prog]))))
        self.assertEqual([], bad)


class MakefileTests(unittest.TestCase):
    def make_sees(self, **variables):
        """What a recipe of the real Makefile gets in HWP_* for @variables."""
        probe = 'hwp-probe:\n\t@printf "%s|%s|%s" "$$HWP_CMD" ' \
            '"$$HWP_CMDLINE" "$$HWP_QEMU"\n'
        args = ['make', '-s', '-f', os.path.join(ROOT, 'Makefile'), '-f', '-',
                'hwp-probe'] + ['%s=%s' % kv for kv in variables.items()]
        p = subprocess.run(args, input=probe, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self.assertEqual(0, p.returncode, p.stdout)
        return p.stdout.split('|')

    @unittest.skipUnless(shutil.which('make'), 'no make')
    def test_cmd_as_typed(self):
        cmd = 'echo $HOME $$ "a  b" \'c\' $(x) `y` \\n'
        cmdline = 'memmap=128M$0x70000000'
        self.assertEqual([cmd, cmdline, '-m $X'],
                         self.make_sees(CMD=cmd, CMDLINE=cmdline,
                                        QEMU='-m $X'))


if __name__ == '__main__':
    unittest.main()
