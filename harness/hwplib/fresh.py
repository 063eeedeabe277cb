# SPDX-License-Identifier: GPL-2.0
"""`make fresh-check`: the README's test command on a minimal Debian 12 root.

A new user's machine has only what `debootstrap --variant=minbase` gives
plus the standard apt sources of a Debian 12 install. This builds such a
root under build/fresh/, clones the repository's HEAD into it, installs
the one documented prerequisite (`make`) and runs `make check` there, so
every other program the harness or the kernel build runs must come from
the harness' own package list.
"""

import os
import re
import shutil
import subprocess
import time

from .paths import BUILD, KERNELS, ROOT
from .util import HwpError, log, run
from .packages import PREREQUISITES, apt_install, dpkg_version

FRESH_SUITE = 'bookworm'
FRESH_MIRROR = 'http://deb.debian.org/debian'
FRESH_SECURITY = 'http://deb.debian.org/debian-security'
# A Debian 12 install's apt sources: main, updates and security.
SOURCES = """deb {m} {s} main
deb {m} {s}-updates main
deb {sec} {s}-security main
"""


def _unescape(field):
    """/proc/self/mounts writes space, tab, newline and backslash as \\ooo."""
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)),
                  field)


def _mounts_under(path):
    path = os.path.realpath(path)
    with open('/proc/self/mounts') as f:
        mnts = [_unescape(l.split()[1]) for l in f]
    return [m for m in mnts if m == path or m.startswith(path + '/')]


def _umount_all(root):
    for m in sorted(_mounts_under(root), key=len, reverse=True):
        subprocess.run(['umount', '-l', m], stderr=subprocess.DEVNULL)
    left = _mounts_under(root)
    if left:
        raise HwpError('cannot unmount %s from the fresh root' %
                       ' '.join(left))


def _remove_root(root):
    if not os.path.exists(root):
        return
    _umount_all(root)
    run(['rm', '-rf', '--one-file-system', root])


def _bind(root, ccache):
    binds = [('proc', ['-t', 'proc', 'proc']),
             ('sys', ['--rbind', '/sys']),
             ('dev', ['--rbind', '/dev'])]
    if ccache:
        # Only compiler output is shared: the programs still come from the
        # root's own packages (ccache itself included).
        binds.append(('root/.cache/ccache', ['--bind', ccache]))
    for rel, opts in binds:
        dst = os.path.join(root, rel)
        os.makedirs(dst, exist_ok=True)
        run(['mount'] + opts + [dst])
        if '--rbind' in opts:
            run(['mount', '--make-rslave', dst])


def cmd_fresh_check(args):
    """debootstrap a minimal root, clone HEAD into it, `make check` there."""
    if os.geteuid() != 0:
        raise HwpError('fresh-check needs root (debootstrap, chroot, mount)')
    if args.kernel not in KERNELS:
        raise HwpError('KERNEL must be ours or upstream')
    apt_install([p for p in ('debootstrap', 'git') if not dpkg_version(p)])
    root = os.path.join(BUILD, 'fresh', 'root')
    logfile = os.path.join(BUILD, 'fresh', 'fresh-check.log')
    _remove_root(root)
    os.makedirs(root)
    mirror = os.environ.get('HWP_DEBIAN_MIRROR', FRESH_MIRROR)
    security = os.environ.get('HWP_DEBIAN_SECURITY', FRESH_SECURITY)
    t0 = time.time()
    log('debootstrap --variant=minbase %s into %s' % (FRESH_SUITE, root))
    run(['debootstrap', '--variant=minbase', FRESH_SUITE, root, mirror],
        logfile=logfile)
    with open(os.path.join(root, 'etc/apt/sources.list'), 'w') as f:
        f.write(SOURCES.format(m=mirror, s=FRESH_SUITE, sec=security))
    shutil.copyfile('/etc/resolv.conf', os.path.join(root, 'etc/resolv.conf'))
    repo = os.path.join(root, 'root', 'hwpoison')
    run(['git', 'clone', '-q', '--no-hardlinks', ROOT, repo])
    rev = subprocess.run(['git', '-C', repo, 'rev-parse', '--short', 'HEAD'],
                         stdout=subprocess.PIPE, text=True).stdout.strip()
    t_root = time.time() - t0
    env = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:'
                   '/sbin:/bin', 'HOME': '/root', 'TERM': 'dumb',
           'LANG': 'C.UTF-8', 'DEBIAN_FRONTEND': 'noninteractive'}
    for k in ('HWP_DEBIAN_MIRROR', 'CI'):
        if k in os.environ:
            env[k] = os.environ[k]
    script = ('set -e; apt-get update -qq; '
              'apt-get install -y -q --no-install-recommends %s >/dev/null; '
              'cd /root/hwpoison; exec make check KERNEL=%s'
              % (' '.join(PREREQUISITES), args.kernel))
    ccache = os.environ.get('HWP_FRESH_CCACHE')
    if ccache:
        ccache = os.path.abspath(os.path.expanduser(ccache))
        os.makedirs(ccache, exist_ok=True)
        log('sharing the compiler cache %s with the fresh root' % ccache)
    try:
        _bind(root, ccache)
        log('make check KERNEL=%s in the fresh root (clone of %s); log in %s'
            % (args.kernel, rev, os.path.relpath(logfile, ROOT)))
        t1 = time.time()
        with open(logfile, 'a') as lf:
            p = subprocess.Popen(['chroot', root, '/bin/sh', '-c', script],
                                 env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            for line in p.stdout:
                lf.write(line)
                lf.flush()
                if args.verbose or line.startswith(('hwp:', 'not ok')) or \
                        ' passed, ' in line:
                    print(line, end='', flush=True)
            rc = p.wait()
    finally:
        _umount_all(root)
    log('fresh root: debootstrap + clone %.0f s, make check %.0f s '
        '(rc %d), %.0f s in all' % (t_root, time.time() - t1, rc,
                                     time.time() - t0))
    return rc
