# SPDX-License-Identifier: GPL-2.0
"""Kernel build: configuration fragments, make, headers, and where the
built image lands."""

import os
import re
import shutil
import subprocess
import time

from .paths import BUILD, HARNESS, ROOT
from .tree import sync_tree
from .util import build_lock, log, read, run, sha


def config_fragments(kernel, flavour):
    """hwpoison.config, then what only @kernel has (ours.config: options
    of our series), then the flavour's."""
    frags = [os.path.join(HARNESS, 'config', 'hwpoison.config')]
    own = os.path.join(HARNESS, 'config', kernel + '.config')
    if os.path.isfile(own):
        frags.append(own)
    if flavour in ('bench', 'debug'):
        frags.append(os.path.join(HARNESS, 'config', flavour + '.config'))
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


def configure(tree, objname, frags, version, what):
    """x86_64_defconfig + kvm_guest.config + @frags in @tree/@objname,
    unless that is what is there already; True if it configured."""
    obj = os.path.join(tree, objname)
    cfg_stamp = sha(version, *[read(f) for f in frags])
    stamp_path = os.path.join(obj, '.hwp-config-stamp')
    if read(stamp_path) == cfg_stamp and \
            os.path.exists(os.path.join(obj, '.config')):
        return False
    log('configuring %s' % what)
    kmake(tree, objname, ['x86_64_defconfig'])
    run([os.path.join(tree, 'scripts/kconfig/merge_config.sh'), '-m',
         '-O', obj, os.path.join(obj, '.config'),
         os.path.join(tree, 'kernel/configs/kvm_guest.config')] + frags,
        cwd=tree, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kmake(tree, objname, ['olddefconfig'])
    with open(stamp_path, 'w') as f:
        f.write(cfg_stamp)
    return True


def build_kernel(kernel, flavour='test'):
    """Build build/<kernel>/linux/obj[-<flavour>]/arch/x86/boot/bzImage,
    under the build lock."""
    with build_lock(BUILD):
        return _build_kernel(kernel, flavour)


def _build_kernel(kernel, flavour):
    tree, version = sync_tree(kernel)
    objname = 'obj' if flavour == 'test' else 'obj-' + flavour
    obj = os.path.join(tree, objname)
    os.makedirs(obj, exist_ok=True)
    frags = config_fragments(kernel, flavour)
    blog = os.path.join(BUILD, kernel, 'build-%s.log' % flavour)
    if configure(tree, objname, frags, version,
                 '%s (%s)' % (kernel, flavour)):
        for b in check_config(obj, frags):
            log('config: %s' % b)
    t0 = time.time()
    log('building %s kernel (%s), log in %s' %
        (kernel, flavour, os.path.relpath(blog, ROOT)))
    image = os.path.join(obj, 'arch/x86/boot/bzImage')
    mods = os.path.join(os.path.dirname(image), MODULES_DIR)
    shutil.rmtree(mods, ignore_errors=True)
    if 'CONFIG_MODULES=y' in read(os.path.join(obj, '.config')).splitlines():
        kmake(tree, objname, ['bzImage', 'modules'], logfile=blog)
        kmake(tree, objname, ['modules_install', 'INSTALL_MOD_PATH=' + mods,
                              'INSTALL_MOD_STRIP=1'],
              logfile=os.path.join(BUILD, kernel,
                                   'modules-%s.log' % flavour))
        build_harness_modules(tree, objname, mods, kernel, flavour)
    else:
        kmake(tree, objname, ['bzImage'], logfile=blog)
    log('%s kernel (%s) built in %.0f s' % (kernel, flavour, time.time() - t0))
    return image


def build_harness_modules(tree, objname, mods, kernel, flavour):
    """harness/modules (test fixtures such as hwp_edac), built outside the
    tree against this kernel and installed with its modules."""
    if 'CONFIG_EDAC=y' not in read(os.path.join(tree, objname,
                                                 '.config')).splitlines():
        return
    work = os.path.join(BUILD, kernel, 'harness-modules-' + flavour)
    shutil.copytree(os.path.join(HARNESS, 'modules'), work,
                    dirs_exist_ok=True)
    blog = os.path.join(BUILD, kernel, 'harness-modules-%s.log' % flavour)
    kmake(tree, objname, ['M=' + work, 'modules'], logfile=blog)
    kmake(tree, objname, ['M=' + work, 'modules_install',
                          'INSTALL_MOD_PATH=' + mods, 'INSTALL_MOD_STRIP=1'],
          logfile=blog + '.install')


def install_headers(kernel):
    tree, _ = sync_tree(kernel)
    hdr = os.path.join(BUILD, kernel, 'headers')
    kmake(tree, 'obj', ['headers_install', 'INSTALL_HDR_PATH=' + hdr],
          logfile=os.path.join(BUILD, kernel, 'headers.log'))
    return os.path.join(hdr, 'include')


# Beside each kernel image: its modules, as modules_install lays them out
# (lib/modules/<release>/, with modules.dep), for the guest's /lib/modules.
MODULES_DIR = 'hwp-modules'


def modules_of(image):
    """lib/modules of the modules installed beside @image, or None."""
    d = os.path.join(os.path.dirname(image), MODULES_DIR, 'lib', 'modules')
    return d if os.path.isdir(d) else None


def copy_image(image, dest):
    """Copy @image and its modules into directory @dest; the new image."""
    new = shutil.copy2(image, os.path.join(dest, 'bzImage'))
    mods = modules_of(image)
    if mods:
        shutil.copytree(mods, os.path.join(dest, MODULES_DIR, 'lib',
                                           'modules'), symlinks=True)
    return new


def kernel_image(kernel, flavour='test'):
    obj = 'obj' if flavour == 'test' else 'obj-' + flavour
    return os.path.join(BUILD, kernel, 'linux', obj, 'arch/x86/boot/bzImage')
