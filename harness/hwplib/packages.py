# SPDX-License-Identifier: GPL-2.0
"""Set-up: Debian packages and the base (Debian's linux-source-6.12,
extracted once under build/base/<version>/linux)."""

import os
import shutil
import subprocess

from .paths import BUILD, HARNESS
from .util import HwpError, log, read, run, write_if_changed


# What must exist before `make` can run: the README says so, and
# `make fresh-check` installs exactly these into a minimal root.
PREREQUISITES = ['make']

# Installed by every command when missing (the Makefile's bootstrap target
# installs python3 first, since the harness is written in it).
DEB_PACKAGES = ['qemu-system-x86', 'busybox-static', 'bc', 'flex', 'bison',
                'libelf-dev', 'libssl-dev', 'cpio', 'kmod', 'ccache', 'gcc',
                'make', 'libc6-dev', 'e2fsprogs', 'xz-utils', 'perl',
                'python3', 'git', 'patch', 'rsync']

# Installed only by the commands that need them.
ON_DEMAND_PACKAGES = ['debootstrap']

# Priority "required" packages of Debian 12: what debootstrap's minbase
# variant installs, so a fresh root has their programs.
MINBASE_PACKAGES = ['apt', 'base-files', 'base-passwd', 'bash', 'bsdutils',
                    'coreutils', 'dash', 'debconf', 'debianutils',
                    'diffutils', 'dpkg', 'findutils', 'grep', 'gzip',
                    'hostname', 'init-system-helpers', 'login', 'mawk',
                    'mount', 'ncurses-bin', 'perl-base', 'sed',
                    'sysvinit-utils', 'tar', 'util-linux']

# Every program the harness runs on the host, and every program the kernel
# build and the static test builds run, with the package that provides it.
# harness/test_hwp.py fails when the harness calls a program missing here,
# or when a package named here is in none of the lists above.
PROGRAMS = {
    # the harness itself
    'apt-cache': 'apt', 'apt-get': 'apt', 'chroot': 'coreutils',
    'cp': 'coreutils', 'cpio': 'cpio', 'debootstrap': 'debootstrap',
    'dpkg-query': 'dpkg', 'find': 'findutils', 'gcc': 'gcc', 'git': 'git',
    'gzip': 'gzip', 'make': 'make', 'mkfs.ext4': 'e2fsprogs',
    'mount': 'mount', 'patch': 'patch', 'perl': 'perl-base',
    'python3': 'python3-minimal', 'qemu-system-x86_64': 'qemu-system-x86',
    'rm': 'coreutils', 'tar': 'tar', 'umount': 'mount',
    'busybox': 'busybox-static', 'ccache': 'ccache',
    # the kernel build (make bzImage, headers_install, olddefconfig)
    'bc': 'bc', 'bison': 'bison', 'flex': 'flex', 'rsync': 'rsync',
    'xz': 'xz-utils', 'awk': 'mawk', 'sed': 'sed', 'grep': 'grep',
    'sh': 'dash', 'bash': 'bash', 'ld': 'binutils', 'as': 'binutils',
    'objcopy': 'binutils', 'nm': 'binutils', 'depmod': 'kmod',
}
# The kernel build's programs above: never spelt out in the harness' code,
# so the self-test cannot find them there.
KBUILD_PROGRAMS = ['make', 'gcc', 'ccache', 'bc', 'bison', 'flex', 'rsync',
                   'xz', 'awk', 'sed', 'grep', 'sh', 'bash', 'perl', 'ld',
                   'as', 'objcopy', 'nm', 'depmod', 'cpio', 'gzip', 'tar']
# Packages that come with another listed package (gcc depends on binutils).
DEPENDENCIES = {'binutils': 'gcc', 'python3-minimal': 'python3'}


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
