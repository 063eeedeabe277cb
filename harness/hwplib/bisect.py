# SPDX-License-Identifier: GPL-2.0
"""The bisect sub-command: the exported series applied with git am to the
pristine base, one patch at a time, each commit built at the test
configuration; then the last one with the injector built in and with
CONFIG_MEMORY_FAILURE=n, and our files with W=1 and kernel-doc -Wall.

A warning counts when it names a file the series touches: the base has
warnings of its own that are not ours to fix.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import time

from .kbuild import config_fragments, configure, kmake
from .packages import base_dir
from .paths import BUILD, ROOT
from .series import cmd_series, git
from .tree import restore_pristine
from .util import HwpError, build_lock, log, read, run

OBJ = 'obj'
# The configurations the last commit is built in besides the test one:
# (name, scripts/config arguments, the option and the value it must end up
# with after olddefconfig).
VARIANTS = (
    ('HWPOISON_INJECT=y', ['--enable', 'HWPOISON_INJECT'],
     'CONFIG_HWPOISON_INJECT', 'y'),
    ('MEMORY_FAILURE=n', ['--disable', 'MEMORY_FAILURE'],
     'CONFIG_MEMORY_FAILURE', None),
)


def series_targets(patch):
    """Files a git format-patch file adds, changes or deletes."""
    out = []
    for l in read(patch).splitlines():
        m = re.match(r'^diff --git a/(\S+) b/(\S+)$', l)
        for f in m.groups() if m else ():
            if f not in out:
                out.append(f)
    return out


def our_warnings(logfile, touched):
    """Compiler, linker and kernel-doc warnings that name a touched file."""
    bad = []
    for l in read(logfile, '').splitlines():
        if 'warning:' not in l and 'error:' not in l:
            continue
        m = re.match(r'^(?:\.\./)?([\w./+-]+?):\d+', l)
        if m and m.group(1) in touched:
            bad.append(l)
    return bad


def config_value(obj, name):
    for l in read(os.path.join(obj, '.config'), '').splitlines():
        if l.startswith(name + '='):
            return l.split('=', 1)[1]
    return None


def build_step(tree, what, logfile, touched):
    t0 = time.time()
    kmake(tree, OBJ, ['olddefconfig'])
    try:
        kmake(tree, OBJ, ['bzImage', 'modules'], logfile=logfile)
    except HwpError as e:
        raise HwpError('%s does not build:\n%s' % (what, e))
    bad = our_warnings(logfile, touched)
    if bad:
        raise HwpError('%s builds with warnings in our files:\n%s' %
                       (what, '\n'.join(bad)))
    log('%s: builds, no warning in our files (%.0f s)' %
        (what, time.time() - t0))


def prepare_tree(pristine, version, patches):
    """build/bisect/linux: the pristine base, a git repository whose first
    commit holds the files the series touches."""
    bdir = os.path.join(BUILD, 'bisect')
    tree = os.path.join(bdir, 'linux')
    stamp = os.path.join(bdir, 'base-stamp')
    if read(stamp) != version or not os.path.isdir(tree):
        shutil.rmtree(bdir, ignore_errors=True)
        os.makedirs(bdir)
        log('copying base into build/bisect/linux')
        run(['cp', '-a', pristine, tree])
        with open(stamp, 'w') as f:
            f.write(version)
    # Undo an earlier run: its patched files get the base's content back
    # with a new mtime, so that make rebuilds what was built from them.
    tpath = os.path.join(bdir, 'touched.json')
    for rel in json.loads(read(tpath, '[]')):
        restore_pristine(pristine, tree, rel)
    touched = []
    for p in patches:
        touched += [f for f in series_targets(p) if f not in touched]
    for rel in touched:
        restore_pristine(pristine, tree, rel)
    with open(tpath, 'w') as f:
        json.dump(touched, f)
    shutil.rmtree(os.path.join(tree, '.git'), ignore_errors=True)
    git(tree, 'init', '-q')
    git(tree, 'config', 'user.name', 'hwp')
    git(tree, 'config', 'user.email', 'hwp@localhost')
    present = [f for f in touched if os.path.isfile(os.path.join(tree, f))]
    git(tree, 'add', '-f', '--', *present)
    git(tree, 'commit', '-q', '-m', 'base %s' % version)
    return tree, touched


def cmd_bisect(args):
    """Every commit of the exported series builds, without new warnings."""
    if cmd_series(args):
        raise HwpError('make series is not clean: fix that first')
    pristine, version = base_dir()
    patches = sorted(glob.glob(os.path.join(BUILD, 'series', '0*.patch')))
    patches = [p for p in patches
               if not os.path.basename(p).startswith('0000-')]
    t0 = time.time()
    with build_lock(BUILD):
        tree, touched = prepare_tree(pristine, version, patches)
        logs = os.path.join(BUILD, 'bisect', 'logs')
        shutil.rmtree(logs, ignore_errors=True)
        os.makedirs(logs)
        configure(tree, OBJ, config_fragments('ours', 'test'), version,
                  'build/bisect (test configuration)')
        build_step(tree, 'base', os.path.join(logs, '00-base.log'), touched)
        for i, p in enumerate(patches, 1):
            name = os.path.basename(p)
            try:
                git(tree, 'am', '-q', '--whitespace=error-all', p)
            except HwpError as e:
                raise HwpError('git am %s failed: %s' % (name, e))
            build_step(tree, name[:-len('.patch')],
                       os.path.join(logs, name[:-len('.patch')] + '.log'),
                       touched)
        check_last(tree, logs, touched)
    log('every commit of the series builds (%.0f s)' % (time.time() - t0))
    return 0


def check_last(tree, logs, touched):
    ours = sorted(f for f in touched if
                  (f.startswith('mm/memory-failure/') or
                   f == 'mm/fail_copy_mc.c') and
                  os.path.isfile(os.path.join(tree, f)))
    # W=1 on each object of our own: rebuilt with the extra warnings, and
    # again without them by the next build.
    # Only the objects the test configuration built: kbuild has no rule
    # for an object its configuration leaves out.
    objs = [f[:-2] + '.o' for f in ours if f.endswith('.c') and
            os.path.isfile(os.path.join(tree, OBJ, f[:-2] + '.o'))]
    w1 = os.path.join(logs, 'W=1.log')
    kmake(tree, OBJ, ['W=1'] + objs, logfile=w1)
    bad = our_warnings(w1, ours)
    if bad:
        raise HwpError('make W=1 warns in our files:\n' + '\n'.join(bad))
    log('W=1: no warning in our %d objects' % len(objs))
    kd = subprocess.run(['perl', os.path.join(tree, 'scripts/kernel-doc'),
                         '-none', '-Wall'] + ours, cwd=tree,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True)
    if kd.returncode or kd.stdout.strip():
        raise HwpError('kernel-doc -none -Wall:\n' + kd.stdout)
    log('kernel-doc -none -Wall: clean on %d files' % len(ours))
    obj = os.path.join(tree, OBJ)
    cfg = os.path.join(obj, '.config')
    saved = read(cfg)
    try:
        for name, cargs, opt, want in VARIANTS:
            run([os.path.join(tree, 'scripts/config'), '--file', cfg] +
                cargs)
            kmake(tree, OBJ, ['olddefconfig'])
            if config_value(obj, opt) != want:
                raise HwpError('%s: olddefconfig left %s=%s' %
                               (name, opt, config_value(obj, opt)))
            build_step(tree, 'last commit, ' + name,
                       os.path.join(logs, name + '.log'), touched)
            with open(cfg, 'w') as f:
                f.write(saved)
    finally:
        with open(cfg, 'w') as f:
            f.write(saved)
        os.utime(cfg)
    log('logs in %s' % os.path.relpath(logs, ROOT))
