# SPDX-License-Identifier: GPL-2.0
"""The kernel trees: build/<kernel>/linux is the base plus, for "ours",
the overlay and the patches minus the deleted files (for "upstream", only
the test instruments)."""

import json
import os
import re
import shutil
import subprocess
import tempfile

from .packages import base_dir
from .paths import BUILD, PATCH_DIR, ROOT
from .util import HwpError, list_file, log, read, run, write_if_changed


# Top-level kernel directories: repository files under these are overlay
# files that land at the same path in the "ours" tree.
KERNEL_DIRS = ('Documentation', 'arch', 'block', 'drivers', 'fs', 'include',
               'init', 'kernel', 'lib', 'mm', 'scripts', 'tools', 'virt')


def overlay_files():
    """Repository files that live at kernel paths (tracked or new)."""
    dirs = [d for d in KERNEL_DIRS if os.path.isdir(os.path.join(ROOT, d))]
    if not dirs:
        return []
    p = run(['git', '-C', ROOT, 'ls-files', '-z', '-co', '--exclude-standard',
             '--'] + dirs, stdout=subprocess.PIPE)
    names = sorted(set(p.stdout.decode().split('\0')) - {''})
    return [n for n in names if os.path.isfile(os.path.join(ROOT, n))]


def patch_series():
    return list_file(os.path.join(PATCH_DIR, 'series'))


def deleted_files():
    return list_file(os.path.join(PATCH_DIR, 'deleted-files'))


def patch_targets(patch):
    targets = []
    for l in read(os.path.join(PATCH_DIR, patch)).splitlines():
        m = re.match(r'^(?:\+\+\+|---) [ab]/(\S+)', l)
        if m and m.group(1) not in targets:
            targets.append(m.group(1))
    return targets


def instrument():
    """Overlay files and patches that the upstream tree gets too.

    They add test instruments (fault injection hooks that do nothing
    unless enabled) which the tests need on both kernels; nothing else of
    our change reaches the upstream tree.
    """
    names = list_file(os.path.join(PATCH_DIR, 'instrument'))
    series = patch_series()
    for n in names:
        if n.endswith('.patch') and n not in series:
            raise HwpError('patches/instrument: %s is not in patches/series'
                           % n)
        if not n.endswith('.patch') and \
                not os.path.isfile(os.path.join(ROOT, n)):
            raise HwpError('patches/instrument: no file %s' % n)
    return names


def desired_tree(pristine, kernel):
    """Return ({path: bytes}, [deleted paths]) that make @kernel's tree."""
    files = overlay_files()
    patches = patch_series()
    deleted = deleted_files()
    if kernel == 'upstream':
        inst = set(instrument())
        files = [f for f in files if f in inst]
        patches = [p for p in patches if p in inst]
        deleted = []
    stage = tempfile.mkdtemp(prefix='hwp-stage-')
    try:
        for f in files:
            dst = os.path.join(stage, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(ROOT, f), dst)
        touched = set(files)
        for patch in patches:
            for t in patch_targets(patch):
                if t in touched:
                    continue
                touched.add(t)
                src = os.path.join(pristine, t)
                if os.path.isfile(src):
                    dst = os.path.join(stage, t)
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    shutil.copyfile(src, dst)
            p = subprocess.run(['patch', '-p1', '-s', '-f', '-N',
                                '--no-backup-if-mismatch', '-i',
                                os.path.join(PATCH_DIR, patch)],
                               cwd=stage, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if p.returncode:
                raise HwpError('patches/%s does not apply to the base:\n%s'
                               % (patch, p.stdout))
        out = {}
        for f in sorted(touched):
            path = os.path.join(stage, f)
            if os.path.isfile(path):
                with open(path, 'rb') as fh:
                    out[f] = fh.read()
        return out, deleted
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def restore_pristine(pristine, tree, rel):
    src = os.path.join(pristine, rel)
    dst = os.path.join(tree, rel)
    if os.path.isfile(src):
        with open(src, 'rb') as f:
            write_if_changed(dst, f.read())
    elif os.path.lexists(dst):
        os.unlink(dst)


def sync_tree(kernel):
    """Make build/<kernel>/linux = base + our change; touch only what moved."""
    pristine, version = base_dir()
    kdir = os.path.join(BUILD, kernel)
    tree = os.path.join(kdir, 'linux')
    stamp = os.path.join(kdir, 'base-stamp')
    if read(stamp) != version or not os.path.isdir(tree):
        shutil.rmtree(kdir, ignore_errors=True)
        os.makedirs(kdir)
        log('copying base into build/%s/linux' % kernel)
        run(['cp', '-a', pristine, tree])
        with open(stamp, 'w') as f:
            f.write(version)
    files, deleted = desired_tree(pristine, kernel)
    # A file the series patches and then deletes is never written.
    files = {rel: data for rel, data in files.items() if rel not in deleted}
    managed_path = os.path.join(kdir, 'managed.json')
    prev = json.loads(read(managed_path, '{"files": [], "deleted": []}'))
    changed = 0
    for rel, data in files.items():
        changed += write_if_changed(os.path.join(tree, rel), data)
    for rel in prev['files'] + prev['deleted']:
        if rel not in files and rel not in deleted:
            restore_pristine(pristine, tree, rel)
            changed += 1
    for rel in deleted:
        path = os.path.join(tree, rel)
        if os.path.lexists(path):
            os.unlink(path)
            changed += 1
    with open(managed_path, 'w') as f:
        json.dump({'files': sorted(files), 'deleted': sorted(deleted)}, f)
    if changed:
        log('%s tree: %d file(s) updated' % (kernel, changed))
    return tree, version
