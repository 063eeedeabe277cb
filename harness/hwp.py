#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""hwp: build, boot and test the HWPOISON series against upstream 6.12.

One tool behind the top-level Makefile. Every sub-command does its own
set-up (Debian packages, base extraction, tree sync, kernel build), so each
works on a fresh machine. This file is the entry point; the code lives in
harness/hwplib/, one module per concern.

Layout of the build folder (ignored by git):
  build/base/<version>/linux     pristine base, extracted once
  build/<kernel>/linux           base (+ overlay + patches for "ours")
  build/<kernel>/linux/obj       test kernel objects (O=obj keeps srctree
                                 relative, so ccache hits across kernels)
  build/<kernel>/linux/obj-bench benchmark kernel objects
  build/tests/                   static test binaries
  build/runs/<run>/              serial logs and results of one run
"""

import argparse
import os
import sys

# The modules live in harness/hwplib/. Python puts this folder on sys.path
# when it runs this file as a script, but not with -P/PYTHONSAFEPATH or
# when the file is loaded by path, so make sure.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from hwplib.bench import cmd_bench  # noqa: E402
from hwplib.bisect import cmd_bisect  # noqa: E402
from hwplib.commands import (cmd_build, cmd_check, cmd_compare,  # noqa: E402
                             cmd_demo, cmd_tree, cmd_vm)
from hwplib.fresh import cmd_fresh_check  # noqa: E402
from hwplib.guest import GUESTS  # noqa: E402
from hwplib.packages import base_dir  # noqa: E402
from hwplib.paths import BUILD  # noqa: E402
from hwplib.profile import cmd_profile  # noqa: E402
from hwplib.series import cmd_series  # noqa: E402
from hwplib.soak import cmd_soak  # noqa: E402
from hwplib.util import HwpError  # noqa: E402

# main() looks cmd_<sub-command> up in globals(): these imports are what it
# finds there.
FLAVOURS = ('test', 'bench', 'debug')
COMMANDS = (cmd_bench, cmd_bisect, cmd_build, cmd_check, cmd_compare,
            cmd_demo, cmd_fresh_check, cmd_profile, cmd_series, cmd_soak,
            cmd_tree, cmd_vm)


def main():
    ap = argparse.ArgumentParser(prog='hwp', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='command', required=True)
    p = sub.add_parser('setup', help='install Debian packages, extract base')
    p = sub.add_parser('tree', help='sync build/<kernel>/linux')
    p.add_argument('kernels', nargs='*')
    p = sub.add_parser('build', help='build kernels')
    p.add_argument('kernels', nargs='*')
    p.add_argument('--flavour', default='test', choices=FLAVOURS)
    for name in ('check', 'compare'):
        p = sub.add_parser(name)
        p.add_argument('--flavour', default='test', choices=('test', 'debug'),
                       help='debug: KASAN, kmemleak, DEBUG_VM kernels')
        p.add_argument('tests', nargs='*', help='only these test binaries')
        p.add_argument('-v', '--verbose', action='store_true',
                       help='echo the guest console')
        if name == 'check':
            p.add_argument('--kernel', default='ours',
                           help='ours (default) or upstream')
    p = sub.add_parser('vm', help='boot a kernel and run a command')
    p.add_argument('--kernel', default='ours')
    p.add_argument('--flavour', default='test', choices=FLAVOURS)
    p.add_argument('--extra')
    p.add_argument('--cmd')
    p.add_argument('--host')
    p.add_argument('--cmdline')
    p.add_argument('--qemu')
    p.add_argument('--mem', default='2G')
    p.add_argument('--timeout', type=int, default=600)
    p.add_argument('--guest', default='busybox', choices=GUESTS)
    p.add_argument('--interactive', action='store_true',
                   help='a shell on the console instead of --cmd')
    p = sub.add_parser('bench', help='benchmark both kernels')
    p.add_argument('--pages', default='5000 2000',
                   help='pages per row, pages per soft_inuse row')
    p = sub.add_parser('profile', help='guest instructions of a benchmark '
                       'row per kernel function, both kernels')
    p.add_argument('--row', default='hard_inuse')
    p.add_argument('--pages', type=int, default=2000)
    p.add_argument('--top', type=int, default=40,
                   help='functions to list')
    p = sub.add_parser('fresh-check', help='make check on a minimal Debian '
                       'root built for it')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='echo everything make check prints')
    p.add_argument('--kernel', default='ours')
    p = sub.add_parser('soak', help='hard and soft offline, unpoison and '
                       'fuzzing against every page type under load')
    p.add_argument('--kernel', default='ours')
    p.add_argument('--minutes', type=float, default=30)
    p.add_argument('--seed', type=int, default=1)
    sub.add_parser('demo', help='the live demonstration')
    sub.add_parser('series', help='export the patch series')
    sub.add_parser('bisect', help='build every commit of the exported series')
    args = ap.parse_args()
    os.makedirs(BUILD, exist_ok=True)
    try:
        if args.command == 'setup':
            print(base_dir()[1])
            return 0
        return globals()['cmd_' + args.command.replace('-', '_')](args)
    except HwpError as e:
        print('hwp: error: %s' % e, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
