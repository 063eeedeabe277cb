# SPDX-License-Identifier: GPL-2.0
"""The Debian guest's root file system image (Debian 13, debootstrap plus
harness/debian/packages), cached under ~/.cache/hwp.

The cache key includes the source text of debian_image() and
build_page_types() (inspect.getsource): editing either rebuilds the image.
"""

import glob
import inspect
import os
import shutil
import subprocess
import tempfile
import time

from .packages import apt_install, base_dir, dpkg_version
from .paths import HARNESS
from .util import HwpError, list_file, log, run, sha


# Debian 13: the distribution whose kernel is 6.12, our base.
DEBIAN_SUITE = 'trixie'
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
