#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""hwp: build, boot and test the HWPOISON series against upstream 6.12.

One tool behind the top-level Makefile. Every sub-command does its own
set-up (Debian packages, base extraction, tree sync, kernel build), so each
works on a fresh machine.

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
import fnmatch
import glob
import hashlib
import inspect
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HARNESS = os.path.join(ROOT, 'harness')
BUILD = os.environ.get('HWP_BUILD', os.path.join(ROOT, 'build'))
KERNELS = ('ours', 'upstream')

# Top-level kernel directories: repository files under these are overlay
# files that land at the same path in the "ours" tree.
KERNEL_DIRS = ('Documentation', 'arch', 'block', 'drivers', 'fs', 'include',
               'init', 'kernel', 'lib', 'mm', 'scripts', 'tools', 'virt')
PATCH_DIR = os.path.join(ROOT, 'patches')

DEB_PACKAGES = ['qemu-system-x86', 'busybox-static', 'bc', 'flex', 'bison',
                'libelf-dev', 'libssl-dev', 'cpio', 'kmod', 'ccache', 'gcc',
                'make', 'libc6-dev', 'e2fsprogs', 'xz-utils', 'perl',
                'python3', 'git']

# Patterns that make a run fail even when every test passed.
SPLAT_PATTERNS = [
    r'WARNING:', r'BUG:', r'Oops', r'Kernel panic', r'kernel BUG at',
    r'general protection fault', r'possible circular locking',
    r'inconsistent lock state', r'possible recursive locking',
    r'suspicious RCU usage', r'DEBUG_LOCKS_WARN_ON', r'KASAN', r'UBSAN',
    r'refcount_t',
    r'Bad page', r'list_add corruption', r'list_del corruption',
    r'Call Trace:',
]
SPLAT_RE = re.compile('|'.join('(?:%s)' % p for p in SPLAT_PATTERNS))
TIMESTAMP_RE = re.compile(r'^\[\s*\d+\.\d+\]\s?')


class HwpError(Exception):
    pass


def log(msg):
    print('hwp: %s' % msg, flush=True)


def run(cmd, **kw):
    """Run a command, raising HwpError with its tail on failure."""
    logfile = kw.pop('logfile', None)
    if logfile:
        with open(logfile, 'w') as f:
            p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, **kw)
        if p.returncode:
            with open(logfile) as f:
                tail = f.readlines()[-40:]
            raise HwpError('%s failed (rc %d), last lines of %s:\n%s' %
                           (' '.join(map(str, cmd[:3])), p.returncode,
                            logfile, ''.join(tail)))
        return p
    p = subprocess.run(cmd, **kw)
    if p.returncode:
        raise HwpError('%s failed (rc %d)' % (' '.join(map(str, cmd)),
                                              p.returncode))
    return p


def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return default


def write_if_changed(path, data):
    """Write @data to @path by rename, only if the content differs."""
    if isinstance(data, str):
        data = data.encode()
    try:
        with open(path, 'rb') as f:
            if f.read() == data:
                return False
    except (FileNotFoundError, IsADirectoryError):
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + '.hwp-tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)
    return True


def sha(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b'\0')
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------
# Set-up: Debian packages and the base
# --------------------------------------------------------------------------

def pinned_base():
    return read(os.path.join(HARNESS, 'base-version')).strip()


def dpkg_version(pkg):
    p = subprocess.run(['dpkg-query', '-W', '-f=${Status}|${Version}', pkg],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    if p.returncode or not p.stdout.startswith('install ok installed'):
        return None
    return p.stdout.split('|', 1)[1]


_apt_updated = False


def apt_install(pkgs):
    global _apt_updated
    if not pkgs:
        return
    if os.geteuid() != 0:
        raise HwpError('missing Debian packages %s; run as root or install '
                       'them: apt-get install %s' % (pkgs, ' '.join(pkgs)))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    if not _apt_updated:
        log('apt-get update')
        run(['apt-get', 'update', '-qq'], env=env,
            stdout=subprocess.DEVNULL)
        _apt_updated = True
    log('installing %s' % ' '.join(pkgs))
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends'] + pkgs,
        env=env, stdout=subprocess.DEVNULL)


def apt_candidates(pkg):
    p = subprocess.run(['apt-cache', 'madison', pkg], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    return [l.split('|')[1].strip() for l in p.stdout.splitlines()
            if '|' in l]


def setup_packages():
    missing = [p for p in DEB_PACKAGES if dpkg_version(p) is None]
    apt_install(missing)
    want = pinned_base()
    have = dpkg_version('linux-source-6.12')
    if have == want:
        return have
    global _apt_updated
    if os.geteuid() == 0 and not _apt_updated:
        run(['apt-get', 'update', '-qq'], stdout=subprocess.DEVNULL,
            env=dict(os.environ, DEBIAN_FRONTEND='noninteractive'))
        _apt_updated = True
    cands = apt_candidates('linux-source-6.12')
    if want in cands:
        apt_install(['linux-source-6.12=' + want])
        return want
    if have:
        log('NOTE: pinned base %s is not served by the registry; using the '
            'installed linux-source-6.12 %s instead' % (want, have))
        return have
    if not cands:
        raise HwpError('linux-source-6.12 is not available from apt')
    log('NOTE: pinned base %s is not served by the registry; using %s '
        'instead' % (want, cands[0]))
    apt_install(['linux-source-6.12=' + cands[0]])
    return cands[0]


def base_dir():
    """Extract the base once; return the pristine tree's path."""
    version = setup_packages()
    d = os.path.join(BUILD, 'base', version)
    tree = os.path.join(d, 'linux')
    if read(os.path.join(d, 'stamp')) != version:
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        tarball = '/usr/src/linux-source-6.12.tar.xz'
        log('extracting %s (%s)' % (tarball, version))
        run(['tar', '-xf', tarball, '-C', d])
        os.rename(os.path.join(d, 'linux-source-6.12'), tree)
        with open(os.path.join(d, 'stamp'), 'w') as f:
            f.write(version)
    write_if_changed(os.path.join(BUILD, 'base', 'VERSION'), version + '\n')
    return tree, version


# --------------------------------------------------------------------------
# The "ours" tree: base + overlay + patches - deleted files
# --------------------------------------------------------------------------

def overlay_files():
    """Repository files that live at kernel paths (tracked or new)."""
    dirs = [d for d in KERNEL_DIRS if os.path.isdir(os.path.join(ROOT, d))]
    if not dirs:
        return []
    p = run(['git', '-C', ROOT, 'ls-files', '-z', '-co', '--exclude-standard',
             '--'] + dirs, stdout=subprocess.PIPE)
    names = sorted(set(p.stdout.decode().split('\0')) - {''})
    return [n for n in names if os.path.isfile(os.path.join(ROOT, n))]


def list_file(path):
    """The entries of a list file: a word a line, '#' starts a comment."""
    lines = (l.split('#', 1)[0].strip()
             for l in read(path, '').splitlines())
    return [l for l in lines if l]


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


# --------------------------------------------------------------------------
# Kernel build
# --------------------------------------------------------------------------

def config_fragments(flavour):
    frags = [os.path.join(HARNESS, 'config', 'hwpoison.config')]
    if flavour == 'bench':
        frags.append(os.path.join(HARNESS, 'config', 'bench.config'))
    return frags


def make_env():
    env = dict(os.environ)
    env.setdefault('CCACHE_DIR', os.path.expanduser('~/.cache/ccache'))
    env['CCACHE_MAXSIZE'] = env.get('CCACHE_MAXSIZE', '8G')
    env['KBUILD_BUILD_TIMESTAMP'] = 'hwp'
    env['KBUILD_BUILD_USER'] = 'hwp'
    env['KBUILD_BUILD_HOST'] = 'hwp'
    env['LC_ALL'] = 'C'
    return env


def kmake(tree, obj, args, logfile=None):
    jobs = str((os.cpu_count() or 2) + 1)
    cmd = ['make', '-C', tree, 'O=' + obj, '-j' + jobs, 'CC=ccache gcc',
           'HOSTCC=ccache gcc'] + args
    if logfile:
        return run(cmd, env=make_env(), logfile=logfile)
    return run(cmd, env=make_env(), stdout=subprocess.DEVNULL)


def check_config(objdir, frags):
    have = {}
    for l in read(os.path.join(objdir, '.config')).splitlines():
        m = re.match(r'^(CONFIG_\w+)=(.*)$', l)
        if m:
            have[m.group(1)] = m.group(2)
        m = re.match(r'^# (CONFIG_\w+) is not set', l)
        if m:
            have[m.group(1)] = 'n'
    want = {}
    for frag in frags:
        for l in read(frag).splitlines():
            m = re.match(r'^(CONFIG_\w+)=(.*)$', l)
            if m:
                want[m.group(1)] = (m.group(2), os.path.basename(frag))
    bad = []
    for name, (value, frag) in want.items():
        got = have.get(name, 'n')
        if value != got:
            bad.append('%s=%s (wanted %s, from %s)' % (name, got, value, frag))
    return bad


def build_kernel(kernel, flavour='test'):
    """Build build/<kernel>/linux/obj[-bench]/arch/x86/boot/bzImage."""
    tree, version = sync_tree(kernel)
    objname = 'obj' if flavour == 'test' else 'obj-' + flavour
    obj = os.path.join(tree, objname)
    os.makedirs(obj, exist_ok=True)
    frags = config_fragments(flavour)
    cfg_stamp = sha(version, *[read(f) for f in frags])
    stamp_path = os.path.join(obj, '.hwp-config-stamp')
    blog = os.path.join(BUILD, kernel, 'build-%s.log' % flavour)
    if read(stamp_path) != cfg_stamp or \
            not os.path.exists(os.path.join(obj, '.config')):
        log('configuring %s (%s)' % (kernel, flavour))
        kmake(tree, objname, ['x86_64_defconfig'])
        run([os.path.join(tree, 'scripts/kconfig/merge_config.sh'), '-m',
             '-O', obj, os.path.join(obj, '.config'),
             os.path.join(tree, 'kernel/configs/kvm_guest.config')] + frags,
            cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kmake(tree, objname, ['olddefconfig'])
        bad = check_config(obj, frags)
        for b in bad:
            log('config: %s' % b)
        with open(stamp_path, 'w') as f:
            f.write(cfg_stamp)
    t0 = time.time()
    log('building %s kernel (%s), log in %s' %
        (kernel, flavour, os.path.relpath(blog, ROOT)))
    kmake(tree, objname, ['bzImage'], logfile=blog)
    log('%s kernel (%s) built in %.0f s' % (kernel, flavour, time.time() - t0))
    return os.path.join(obj, 'arch/x86/boot/bzImage')


def install_headers(kernel):
    tree, _ = sync_tree(kernel)
    hdr = os.path.join(BUILD, kernel, 'headers')
    kmake(tree, 'obj', ['headers_install', 'INSTALL_HDR_PATH=' + hdr],
          logfile=os.path.join(BUILD, kernel, 'headers.log'))
    return os.path.join(hdr, 'include')


# --------------------------------------------------------------------------
# Guest: initramfs, disk, QEMU
# --------------------------------------------------------------------------

def make_initramfs(out, files, job):
    """Pack busybox, our /init, @files ({guest path: host path}) and @job."""
    stage = tempfile.mkdtemp(prefix='hwp-initrd-')
    try:
        for d in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev',
                  'tmp', 'mnt', 'run', 'root', 'etc', 'hwp/bin'):
            os.makedirs(os.path.join(stage, d), exist_ok=True)
        shutil.copy2('/bin/busybox', os.path.join(stage, 'bin/busybox'))
        shutil.copy2(os.path.join(HARNESS, 'guest', 'init'),
                     os.path.join(stage, 'init'))
        with open(os.path.join(stage, 'etc/passwd'), 'w') as f:
            f.write('root:x:0:0:root:/root:/bin/sh\n'
                    'nobody:x:65534:65534:nobody:/:/bin/false\n')
        with open(os.path.join(stage, 'etc/group'), 'w') as f:
            f.write('root:x:0:\nnogroup:x:65534:\n')
        for gpath, hpath in files.items():
            dst = os.path.join(stage, gpath.lstrip('/'))
            if os.path.isdir(hpath):
                shutil.copytree(hpath, dst, symlinks=True, dirs_exist_ok=True)
            else:
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy2(hpath, dst)
        with open(os.path.join(stage, 'hwp/job.sh'), 'w') as f:
            f.write(job)
        names = subprocess.run(['find', '.', '-print0'], cwd=stage,
                               stdout=subprocess.PIPE, check=True).stdout
        with open(out, 'wb') as f:
            cpio = subprocess.Popen(['cpio', '--null', '-o', '-H', 'newc',
                                     '--quiet'], cwd=stage,
                                    stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
            gz = subprocess.Popen(['gzip', '-1'], stdin=cpio.stdout, stdout=f)
            cpio.stdout.close()
            cpio.communicate(names)
            gz.wait()
            if cpio.returncode or gz.returncode:
                raise HwpError('packing the initramfs failed')
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def make_disk(path, size_mb=256):
    """A fresh ext4 image for the guest's /dev/vda."""
    template = os.path.join(BUILD, 'disk-%dM.img' % size_mb)
    if not os.path.exists(template):
        with open(template + '.tmp', 'wb') as f:
            f.truncate(size_mb << 20)
        run(['mkfs.ext4', '-q', '-F', '-L', 'hwp', template + '.tmp'],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.rename(template + '.tmp', template)
    run(['cp', '--sparse=always', template, path])


DEBIAN_SUITE = 'bookworm'
DEBIAN_MIRROR = 'http://deb.debian.org/debian'


def debian_packages():
    return sorted(set(list_file(os.path.join(HARNESS, 'debian',
                                             'packages'))))


def build_page_types(pristine, out):
    """page-types from the base's tools/mm, linked statically."""
    tools = os.path.join(pristine, 'tools')
    work = tempfile.mkdtemp(prefix='hwp-page-types-')
    try:
        run(['make', '-C', os.path.join(tools, 'lib', 'api'),
             'OUTPUT=%s/' % work], logfile=os.path.join(work, 'libapi.log'))
        run(['gcc', '-static', '-O2', '-Wall', '-pthread',
             '-I', os.path.join(tools, 'lib'), '-o', out,
             os.path.join(tools, 'mm', 'page-types.c'),
             os.path.join(work, 'libapi.a')],
            logfile=os.path.join(work, 'page-types.log'))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def debian_image():
    """The Debian guest's root file system, built once per package list.

    debootstrap (minbase + harness/debian/packages) from Debian's mirror,
    plus page-types from the base, packed into an ext4 image. The image is
    cached under ~/.cache/hwp (HWP_CACHE) by a key over the package list,
    the suite, the base version and this recipe, so CI on a fresh clone
    reuses it when nothing changed; the list of installed package
    versions is kept beside it.
    """
    pristine, version = base_dir()
    pkgs = debian_packages()
    recipe = inspect.getsource(debian_image) + \
        inspect.getsource(build_page_types)
    key = sha(DEBIAN_SUITE, ' '.join(pkgs), version, recipe)
    cache = os.environ.get('HWP_CACHE', os.path.expanduser('~/.cache/hwp'))
    os.makedirs(cache, exist_ok=True)
    img = os.path.join(cache, 'debian-%s.img' % key)
    if os.path.exists(img):
        return img
    apt_install([p for p in ('debootstrap', 'e2fsprogs', 'make')
                 if not dpkg_version(p)])
    if os.geteuid() != 0:
        raise HwpError('building the Debian guest needs root (debootstrap)')
    t0 = time.time()
    root = tempfile.mkdtemp(prefix='debian-root-', dir=cache)
    logfile = os.path.join(cache, 'debian-%s.log' % key)
    try:
        mirror = os.environ.get('HWP_DEBIAN_MIRROR', DEBIAN_MIRROR)
        log('debootstrap %s into %s, then apt-get install %s; log in %s' %
            (DEBIAN_SUITE, root, ' '.join(pkgs), logfile))
        # minbase first, the packages through apt: debootstrap's own
        # resolver does not follow virtual packages (perlapi-*), apt does.
        run(['debootstrap', '--variant=minbase', DEBIAN_SUITE, root, mirror],
            logfile=logfile)
        shutil.copyfile('/etc/resolv.conf',
                        os.path.join(root, 'etc/resolv.conf'))
        with open(os.path.join(root, 'usr/sbin/policy-rc.d'), 'w') as f:
            f.write('#!/bin/sh\n# no services start while building\n'
                    'exit 101\n')
        os.chmod(os.path.join(root, 'usr/sbin/policy-rc.d'), 0o755)
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive',
                   LC_ALL='C')
        with open(logfile, 'a') as lf:
            for cmd in (['apt-get', 'update', '-q'],
                        ['apt-get', 'install', '-y', '-q',
                         '--no-install-recommends'] + pkgs,
                        ['apt-get', 'clean']):
                p = subprocess.run(['chroot', root] + cmd, env=env,
                                   stdout=lf, stderr=subprocess.STDOUT)
                if p.returncode:
                    raise HwpError('%s in the Debian root failed (rc %d), '
                                   'see %s' % (' '.join(cmd[:2]),
                                               p.returncode, logfile))
        os.unlink(os.path.join(root, 'usr/sbin/policy-rc.d'))
        build_page_types(pristine,
                         os.path.join(root, 'usr/local/sbin/page-types'))
        for n in glob.glob(os.path.join(root, 'var/lib/apt/lists/*_*')):
            os.unlink(n)
        p = run(['chroot', root, 'dpkg-query', '-W'],
                stdout=subprocess.PIPE, text=True)
        with open(os.path.join(cache, 'debian-%s.manifest' % key), 'w') as f:
            f.write(p.stdout)
        tmp = img + '.tmp'
        run(['mkfs.ext4', '-q', '-F', '-L', 'hwp-debian', '-d', root, tmp,
             '1536M'])
        os.replace(tmp, img)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for old in glob.glob(os.path.join(cache, 'debian-*')):
        if os.path.isfile(old) and \
                not os.path.basename(old).startswith('debian-%s.' % key):
            os.unlink(old)
    log('Debian guest image built in %.0f s: %s' % (time.time() - t0, img))
    return img


def qemu_accel():
    """TCG unless KVM is proven to boot a guest here (it hangs on some
    nested hosts); the probe runs once per build folder."""
    forced = os.environ.get('HWP_ACCEL')
    if forced:
        return forced
    cached = read(os.path.join(BUILD, 'accel'))
    if cached:
        return cached.strip()
    accel = 'tcg'
    if os.access('/dev/kvm', os.R_OK | os.W_OK):
        log('probing KVM (falls back to TCG if the guest does not answer)')
        d = tempfile.mkdtemp(prefix='hwp-kvm-', dir=BUILD)
        image = kernel_image('ours')
        initrd = os.path.join(d, 'initrd.gz')
        make_initramfs(initrd, {}, 'exit 0\n')
        r = qemu_boot(image, initrd, d, timeout=30, accel='kvm', disk=False)
        if not r['timed_out'] and 'HWP-JOB-EXIT 0' in r['console']:
            accel = 'kvm'
        shutil.rmtree(d, ignore_errors=True)
    log('guest accelerator: %s' % accel)
    with open(os.path.join(BUILD, 'accel'), 'w') as f:
        f.write(accel + '\n')
    return accel


def kernel_image(kernel, flavour='test'):
    obj = 'obj' if flavour == 'test' else 'obj-' + flavour
    return os.path.join(BUILD, kernel, 'linux', obj, 'arch/x86/boot/bzImage')


BASE_CMDLINE = ('console=ttyS0,115200 panic=-1 log_buf_len=4M loglevel=7 '
                'printk.time=1 hung_task_panic=0 oops=panic_off '
                'memmap_on_memory=0')


GUESTS = ('busybox', 'debian')


def guest_boot_args(guest):
    """Kernel command line and QEMU disks of a guest flavour.

    busybox: the initramfs alone. debian: the Debian image is the first
    virtio disk (writes go to a throw-away overlay, snapshot=on); the
    initramfs's /init mounts it and runs the job chrooted into it.
    """
    if guest == 'busybox':
        return '', []
    if guest != 'debian':
        raise HwpError('no guest flavour %r (%s)' % (guest, ', '.join(GUESTS)))
    img = debian_image()
    return 'hwp.guest=debian', ['-drive', 'file=%s,if=virtio,format=raw,'
                                'snapshot=on' % img]


def qemu_boot(image, initrd, workdir, cmdline='', qemu_args=(), mem='2G',
              smp=2, timeout=300, host=None, accel=None, disk=True,
              echo=False, guest='busybox', interactive=False):
    """Boot one guest; return its logs and how it ended.

    @interactive puts the console on this terminal instead of a file.
    """
    os.makedirs(workdir, exist_ok=True)
    console = os.path.join(workdir, 'console.log')
    tests = os.path.join(workdir, 'tests.log')
    mon = os.path.join(workdir, 'mon.sock')
    for p in (console, tests, mon):
        if os.path.lexists(p):
            os.unlink(p)
    accel = accel or qemu_accel()
    if accel == 'tcg':
        # Multi-threaded TCG races with the kernel's live code patching
        # (text_poke_bp): now and then a vCPU runs into a stale int3 and
        # the guest oopses in early boot. One TCG thread for all vCPUs
        # removes that; the vCPUs still interleave, so races stay races.
        accel = 'tcg,thread=%s' % os.environ.get('HWP_TCG_THREAD', 'single')
    cmd = ['qemu-system-x86_64', '-accel', accel,
           '-cpu', 'max,vendor=GenuineIntel' if accel.startswith('tcg')
           else 'host',
           '-m', mem, '-smp', str(smp), '-display', 'none', '-no-reboot',
           '-nodefaults', '-vga', 'none',
           '-serial', 'mon:stdio' if interactive else 'file:' + console,
           '-serial', 'file:' + tests,
           '-monitor', 'unix:%s,server,nowait' % mon,
           '-kernel', image, '-initrd', initrd]
    guest_cmdline, guest_disks = guest_boot_args(guest)
    cmd += ['-append', ' '.join(c for c in (BASE_CMDLINE, guest_cmdline,
                                            cmdline) if c)]
    cmd += guest_disks
    if disk:
        img = os.path.join(workdir, 'disk.img')
        make_disk(img)
        cmd += ['-drive', 'file=%s,if=virtio,format=raw' % img]
    cmd += list(qemu_args)
    with open(os.path.join(workdir, 'qemu.cmd'), 'w') as f:
        f.write(' '.join(shlex.quote(c) for c in cmd) + '\n')
    t0 = time.time()
    if interactive:
        q = subprocess.Popen(cmd)
        timeout = None
    else:
        q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    hostp = None
    if host:
        deadline = time.time() + 20
        while not os.path.exists(mon) and time.time() < deadline:
            time.sleep(0.05)
        hlog = open(os.path.join(workdir, 'host.log'), 'w')
        hostp = subprocess.Popen([host, console, mon], stdout=hlog,
                                 stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, cwd=workdir,
                                 env=dict(os.environ, HWP_WORKDIR=workdir,
                                          HWP_TESTS_LOG=tests,
                                          PYTHONPATH=os.path.join(HARNESS,
                                                                  'host')))
    stop = threading.Event()
    tail = None
    if echo:
        tail = threading.Thread(target=tail_file, args=(console, stop),
                                daemon=True)
        tail.start()
    timed_out = False
    try:
        qout = q.communicate(timeout=timeout)[0] or b''
    except subprocess.TimeoutExpired:
        timed_out = True
        q.kill()
        qout = q.communicate()[0] or b''
    stop.set()
    if tail:
        tail.join(timeout=5)
    elapsed = time.time() - t0
    host_rc = None
    if hostp:
        try:
            host_rc = hostp.wait(timeout=10)
        except subprocess.TimeoutExpired:
            hostp.kill()
            host_rc = hostp.wait()
        hlog.close()
    return {
        'console': read(console, ''),
        'tests': read(tests, '').replace('\r', ''),
        'qemu': qout.decode(errors='replace'),
        'qemu_rc': q.returncode,
        'timed_out': timed_out,
        'elapsed': elapsed,
        'host_rc': host_rc,
        'host_log': read(os.path.join(workdir, 'host.log'), '') if host
        else '',
        'workdir': workdir,
    }


def tail_file(path, stop):
    pos = 0
    while True:
        done = stop.is_set()
        try:
            with open(path, 'rb') as f:
                f.seek(pos)
                data = f.read()
                pos += len(data)
            if data:
                sys.stdout.write(data.decode(errors='replace'))
                sys.stdout.flush()
        except FileNotFoundError:
            pass
        if done:
            return
        time.sleep(0.2)


# --------------------------------------------------------------------------
# Reading results: KTAP (KUnit), TAP (kselftest), splats
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# The suite
# --------------------------------------------------------------------------

SELFTESTS = 'tools/testing/selftests/mm'


def load_suite():
    """harness/suite.conf: one test binary a line, 'name key=value ...'."""
    tests = []
    for lineno, l in enumerate(read(os.path.join(HARNESS, 'suite.conf'))
                               .splitlines(), 1):
        l = l.strip()
        if not l or l.startswith('#'):
            continue
        words = shlex.split(l)
        t = {'name': words[0], 'bin': '', 'src': '', 'args': '',
             'timeout': '300', 'host': '', 'cmdline': '', 'qemu': '',
             'mem': '2G', 'smp': '2', 'expect': '', 'extra_src': '',
             'pre': '', 'panic': r'Kernel panic', 'guest': 'busybox'}
        for w in words[1:]:
            k, sep, v = w.partition('=')
            if not sep or k not in t:
                raise HwpError('suite.conf:%d: bad field %r' % (lineno, w))
            t[k] = v
        t['bin'] = t['bin'] or t['name']
        t['src'] = t['src'] or t['bin'] + '.c'
        tests.append(t)
    return tests


def known_bugs():
    """harness/upstream-bugs: 'case-glob fixed|open reason...'."""
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


def known_bug(case):
    for glob, state, reason in known_bugs():
        if fnmatch.fnmatchcase(case, glob):
            return state, reason
    return None


def build_tests(tests):
    """Static test binaries, built from the "ours" tree so that both
    kernels run the very same programs."""
    tree, _ = sync_tree('ours')
    hdr = install_headers('ours')
    out = os.path.join(BUILD, 'tests')
    os.makedirs(out, exist_ok=True)
    sdir = os.path.join(tree, SELFTESTS)
    built = set()
    for t in tests:
        if t['bin'] in built:
            continue
        built.add(t['bin'])
        srcs = [os.path.join(sdir, s) for s in
                (t['src'] + ',' + t['extra_src']).split(',') if s]
        binary = os.path.join(out, t['bin'])
        deps = srcs + [os.path.join(sdir, h) for h in os.listdir(sdir)
                       if h.endswith('.h')]
        if os.path.exists(binary) and all(
                os.path.getmtime(d) <= os.path.getmtime(binary)
                for d in deps + [hdr]):
            continue
        cmd = ['gcc', '-static', '-O2', '-g0', '-Wall', '-pthread',
               '-D_GNU_SOURCE', '-I', os.path.join(tree,
                                                    'tools/testing/selftests'),
               '-I', sdir, '-isystem', hdr, '-o', binary] + srcs + ['-lm']
        run(cmd, logfile=os.path.join(out, t['bin'] + '.log'))
    return out


def job_for(tests, names):
    lines = ['# generated by harness/hwp.py', 'cd /tmp']
    for t in tests:
        if t['name'] not in names:
            continue
        n = t['name']
        if t['pre']:
            lines.append(t['pre'])
        lines += [
            'echo "hwp-test: begin %s" > /dev/kmsg' % n,
            'echo "HWP-BEGIN %s" > /dev/ttyS1' % n,
            '%s/hwp/tests/%s %s > /dev/ttyS1 2>&1 < /dev/null' % (
                'HWP_HOST=1 ' if t['host'] else '', t['bin'], t['args']),
            'rc=$?',
            'echo "HWP-END %s $rc" > /dev/ttyS1' % n,
            'echo "hwp-test: end %s rc=$rc" > /dev/kmsg' % n,
        ]
    return '\n'.join(lines) + '\n'


def run_test(kernel, t, bindir, rundir, echo=False):
    """Boot @kernel for one test binary; return its cases."""
    name = t['name']
    work = os.path.join(rundir, kernel, name)
    os.makedirs(work, exist_ok=True)
    initrd = os.path.join(work, 'initrd.gz')
    make_initramfs(initrd, {'/hwp/tests/' + t['bin']:
                            os.path.join(bindir, t['bin'])},
                   job_for([t], {name}))
    host = os.path.join(ROOT, t['host']) if t['host'] else None
    r = qemu_boot(kernel_image(kernel), initrd, work, cmdline=t['cmdline'],
                  qemu_args=shlex.split(t['qemu']), mem=t['mem'],
                  smp=int(t['smp']), timeout=int(t['timeout']), host=host,
                  echo=echo, guest=t['guest'])
    results = []
    if t['expect'] == 'panic':
        ok = re.search(t['panic'], r['console']) is not None
        sec = parse_tests_log(r['tests']).get(name)
        if sec:
            results += [c for c in binary_results(name, *sec)
                        if not c[0].endswith('/exit')]
        results.append(('%s/panicked' % name, 'pass' if ok else 'fail',
                        '' if ok else 'no panic matching %r' % t['panic']))
        splats = find_splats(r['console'], ignore_after_panic=True)
    else:
        sec = parse_tests_log(r['tests']).get(name, ([], None))
        results += binary_results(name, *sec)
        results += parse_ktap(r['console'])
        splats = find_splats(r['console'])
    if r['timed_out']:
        results.append(('%s/boot' % name, 'fail',
                        'timed out after %s s' % t['timeout']))
    if host and r['host_rc'] != 0:
        results.append(('%s/host' % name, 'fail',
                        'host script exit %s: %s' %
                        (r['host_rc'], r['host_log'].strip()[-300:])))
    if splats:
        running, line = splats[0]
        results.append(('%s/kernel-log' % name, 'fail',
                        'splat while %s ran: %s (%d splat lines, see %s)' %
                        (running or 'no test', line, len(splats),
                         os.path.relpath(os.path.join(work, 'console.log'),
                                         ROOT))))
    with open(os.path.join(work, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1)
    return results, r['elapsed']


def run_suite(kernel, names=None, echo=False):
    tests = load_suite()
    if names:
        unknown = set(names) - {t['name'] for t in tests}
        if unknown:
            raise HwpError('no such test: %s' % ' '.join(sorted(unknown)))
        tests = [t for t in tests if t['name'] in names]
    bindir = build_tests(tests)
    build_kernel(kernel)
    rundir = os.path.join(BUILD, 'runs', 'latest')
    os.makedirs(rundir, exist_ok=True)
    allres = []
    for t in tests:
        res, elapsed = run_test(kernel, t, bindir, rundir, echo=echo)
        res = classify(kernel, res)
        bad = sum(1 for r in res if r[1] == 'fail')
        known = sum(1 for r in res if r[1] in ('xfail', 'upstream-bug'))
        log('%s: %s (%d cases, %.0f s)' % (
            t['name'], 'FAIL' if bad else
            'ok, %d known upstream bug(s)' % known if known else 'ok',
            len(res), elapsed))
        allres += res
    return allres


def classify(kernel, results):
    """Apply harness/upstream-bugs to raw results."""
    out = []
    for name, res, reason in results:
        kb = known_bug(name)
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


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

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


def harness_selftest():
    """The harness' own readers must work before their verdicts count."""
    p = subprocess.run([sys.executable, '-m', 'unittest', '-q',
                        'harness.test_hwp'], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode:
        raise HwpError('harness self-test failed:\n' + p.stdout)


def cmd_check(args):
    harness_selftest()
    results = run_suite('ours', args.tests, args.verbose)
    print('TAP version 13')
    print('1..%d' % len(results))
    print_results('ours', results)
    xf = sum(1 for r in results if r[1] == 'xfail')
    xpass = [r[0] for r in results if r[1] == 'pass' and
             (known_bug(r[0]) or ('', ''))[0] == 'open']
    if xf:
        print('# %d known upstream bug(s) not fixed yet (counted as skipped)'
              % xf)
    for x in xpass:
        print('# %s passes but harness/upstream-bugs says it is open' % x)
    p, f, s = summary_line(results)
    print('%d passed, %d failed, %d skipped' % (p, f, s))
    return 1 if f else 0


def cmd_compare(args):
    harness_selftest()
    res = {}
    for k in ('upstream', 'ours'):
        res[k] = run_suite(k, args.tests, args.verbose)
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
    p, fl, s = summary_line(res['ours'])
    return 1 if fl else 0


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
    make_initramfs(initrd, files, job)
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


BENCH_ROWS = ('fault', 'soft_free', 'soft_inuse_page', 'soft_inuse_range',
              'hard_free', 'hard_inuse', 'swap_out', 'remote_read',
              'ksm_merge')


def build_guest_program(name):
    """Static helper programs of the harness (harness/guest/<name>.c)."""
    src = os.path.join(HARNESS, 'guest', name + '.c')
    out = os.path.join(BUILD, 'guest', name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if not os.path.exists(out) or \
            os.path.getmtime(src) > os.path.getmtime(out):
        run(['gcc', '-static', '-O2', '-Wall', '-pthread', '-o', out, src],
            logfile=out + '.log')
    return out


def cmd_bench(args):
    """Both kernels, built without lock debugging, booted in one run;
    rounds alternate between them and each row keeps its median. Until
    the two kernels differ, the ratios show the noise floor."""
    bench = build_guest_program('bench')
    for k in ('upstream', 'ours'):
        build_kernel(k, 'bench')
    rounds = int(os.environ.get('HWP_BENCH_ROUNDS', '5'))
    samples = {k: {r: [] for r in BENCH_ROWS} for k in ('upstream', 'ours')}
    for rnd in range(rounds):
        # Alternate which kernel goes first, so that neither always runs
        # on a warmer host.
        order = ('upstream', 'ours') if rnd % 2 == 0 else ('ours', 'upstream')
        for k in order:
            work = os.path.join(BUILD, 'runs', 'bench', '%s-%d' % (k, rnd))
            initrd = os.path.join(work, 'initrd.gz')
            os.makedirs(work, exist_ok=True)
            make_initramfs(initrd, {'/hwp/bin/bench': bench},
                           'bench %s > /dev/ttyS1 2>&1\n' % args.pages)
            r = qemu_boot(kernel_image(k, 'bench'), initrd, work,
                          timeout=900, disk=False)
            if r['timed_out']:
                raise HwpError('benchmark guest (%s) timed out' % k)
            for l in r['tests'].splitlines():
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
        u = median(samples['upstream'][row])
        o = median(samples['ours'][row])
        ratio = o / u if u else float('nan')
        print('BENCH %s upstream_us=%.2f ours_us=%.2f ratio=%.3f' %
              (row, u, o, ratio))
        lines.append('%s\t%.2f\t%.2f\t%.3f\n' % (row, u, o, ratio))
    with open(os.path.join(BUILD, 'bench.tsv'), 'w') as f:
        f.writelines(lines)
    log('%d rounds per kernel; written to build/bench.tsv' % rounds)
    return 0


def load_export():
    """harness/export.conf: the cover letter and one block per patch."""
    conf = {'author': None, 'cover-subject': '', 'cover-body': '',
            'patches': []}
    cur = None
    key = None
    for l in read(os.path.join(HARNESS, 'export.conf')).splitlines():
        if l.startswith('#'):
            continue
        if l.startswith('  ') or (not l.strip() and key):
            if key is None:
                raise HwpError('export.conf: text outside a field: %r' % l)
            target = cur if key == 'body' else conf
            target[key] += l[2:] + '\n'
            continue
        if not l.strip():
            continue
        k, sep, v = l.partition(':')
        k, v = k.strip(), v.strip()
        if not sep:
            raise HwpError('export.conf: bad line %r' % l)
        key = None
        if k == 'subject':
            cur = {'subject': v, 'files': [], 'patches': [], 'delete': [],
                   'body': ''}
            conf['patches'].append(cur)
        elif k in ('files', 'patches', 'delete') and cur is not None:
            cur[k] += v.split()
        elif k in ('body', 'cover-body'):
            key = k
        elif k in ('author', 'cover-subject'):
            conf[k] = v
        else:
            raise HwpError('export.conf: unknown field %r' % k)
    return conf


def git(repo, *args, **kw):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM='1', HOME=repo,
               GIT_AUTHOR_DATE='2026-01-01T00:00:00Z',
               GIT_COMMITTER_DATE='2026-01-01T00:00:00Z')
    return run(['git', '-C', repo] + list(args), env=env,
               stdout=subprocess.PIPE, **kw).stdout.decode()


def cmd_series(args):
    """Export our change against the base as a git-am-able series."""
    pristine, version = base_dir()
    tree, _ = sync_tree('ours')
    conf = load_export()
    overlay = overlay_files()
    patches = patch_series()
    deleted = deleted_files()
    claimed = set()
    for b in conf['patches']:
        b['overlay'] = [f for f in overlay if f not in claimed and
                        any(fnmatch.fnmatchcase(f, g) for g in b['files'])]
        claimed.update(b['overlay'])
        for pt in b['patches']:
            if pt not in patches:
                raise HwpError('export.conf: %s is not in patches/series'
                               % pt)
        b['del'] = [f for f in deleted if f not in claimed and
                    any(fnmatch.fnmatchcase(f, g) for g in b['delete'])]
        claimed.update(b['del'])
    orphans = [f for f in overlay + deleted if f not in claimed]
    orphans += [p for p in patches
                if not any(p in b['patches'] for b in conf['patches'])]
    if orphans:
        raise HwpError('not in any patch of harness/export.conf: %s' %
                       ' '.join(orphans))
    order = [p for b in conf['patches'] for p in b['patches']]
    if order != [p for p in patches if p in order]:
        raise HwpError('export.conf must take patches/ in series order')

    repo = os.path.join(BUILD, 'series-repo')
    out = os.path.join(BUILD, 'series')
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(repo)
    touched = set(overlay) | set(deleted)
    for pt in patches:
        touched.update(patch_targets(pt))
    for f in sorted(touched):
        src = os.path.join(pristine, f)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(repo, f)), exist_ok=True)
            shutil.copy2(src, os.path.join(repo, f))
    author = conf['author'] or 'HWPOISON series <hwpoison@example.org>'
    name, email = re.match(r'^(.*?)\s*<(.*)>$', author).groups()
    git(repo, 'init', '-q')
    git(repo, 'config', 'user.name', name)
    git(repo, 'config', 'user.email', email)
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '--allow-empty', '-m',
        'Linux %s (Debian linux-source-6.12 %s)' % (
            version.split('-')[0], version))
    for b in conf['patches']:
        for f in b['overlay']:
            dst = os.path.join(repo, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(ROOT, f), dst)
        for pt in b['patches']:
            run(['patch', '-p1', '-s', '-f', '-N', '--no-backup-if-mismatch',
                 '-i', os.path.join(PATCH_DIR, pt)], cwd=repo)
        for f in b['del']:
            os.unlink(os.path.join(repo, f))
        git(repo, 'add', '-A')
        if not git(repo, 'diff', '--cached', '--name-only').strip():
            raise HwpError('export.conf: "%s" changes nothing' % b['subject'])
        msg = '%s\n\n%s\nSigned-off-by: %s\n' % (
            b['subject'], b['body'].strip() + '\n' if b['body'].strip()
            else '', author)
        git(repo, 'commit', '-q', '-F', '-', input=msg.encode())
    git(repo, 'format-patch', '-q', '--cover-letter', '--no-signature',
        '-o', out, 'HEAD~%d' % len(conf['patches']))
    cover = sorted(os.listdir(out))[0]
    cpath = os.path.join(out, cover)
    text = read(cpath)
    text = text.replace('*** SUBJECT HERE ***', conf['cover-subject'])
    text = text.replace('*** BLURB HERE ***', conf['cover-body'].strip())
    with open(cpath, 'w') as f:
        f.write(text)
    files = sorted(os.path.join(out, f) for f in os.listdir(out))
    for f in files:
        print(os.path.relpath(f, ROOT))
    cp = subprocess.run(['perl', os.path.join(tree, 'scripts/checkpatch.pl'),
                         '--strict', '--quiet', '--show-types'] + files[1:], cwd=tree,
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                        text=True)
    print(cp.stdout, end='')
    print('checkpatch --strict: %s (%d patches)' %
          ('clean' if cp.returncode == 0 else 'NOT clean', len(files) - 1))
    return 1 if cp.returncode else 0


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
                   'echo "hwp-test: end demo" > /dev/kmsg\nexit $rc\n')
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


def main():
    ap = argparse.ArgumentParser(prog='hwp', description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='command', required=True)
    p = sub.add_parser('setup', help='install Debian packages, extract base')
    p = sub.add_parser('tree', help='sync build/<kernel>/linux')
    p.add_argument('kernels', nargs='*')
    p = sub.add_parser('build', help='build kernels')
    p.add_argument('kernels', nargs='*')
    p.add_argument('--flavour', default='test', choices=('test', 'bench'))
    for name in ('check', 'compare'):
        p = sub.add_parser(name)
        p.add_argument('tests', nargs='*', help='only these test binaries')
        p.add_argument('-v', '--verbose', action='store_true',
                       help='echo the guest console')
    p = sub.add_parser('vm', help='boot a kernel and run a command')
    p.add_argument('--kernel', default='ours')
    p.add_argument('--flavour', default='test', choices=('test', 'bench'))
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
    sub.add_parser('demo', help='the live demonstration')
    sub.add_parser('series', help='export the patch series')
    args = ap.parse_args()
    os.makedirs(BUILD, exist_ok=True)
    try:
        if args.command == 'setup':
            print(base_dir()[1])
            return 0
        return globals()['cmd_' + args.command](args)
    except HwpError as e:
        print('hwp: error: %s' % e, file=sys.stderr)
        return 2


if __name__ == '__main__':
    sys.exit(main())
