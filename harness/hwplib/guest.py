# SPDX-License-Identifier: GPL-2.0
"""Guests: initramfs, scratch disk, QEMU boot and its accelerator, and
the harness' static helper programs (harness/guest/<name>.c)."""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from .debian import debian_image
from .kbuild import kernel_image, modules_of
from .paths import BUILD, HARNESS
from .util import HwpError, build_c, log, read, run


def is_under(path, top):
    """Whether @path is @top or inside it (symbolic links resolved)."""
    path, top = os.path.realpath(path), os.path.realpath(top)
    return os.path.commonpath([path, top]) == top


def make_initramfs(out, files, job, image=None):
    """Pack busybox, our /init, @files ({guest path: host path}), @job and
    the modules built with kernel @image (/lib/modules)."""
    mods = modules_of(image) if image else None
    if mods:
        files = dict(files, **{'/lib/modules': mods})
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
            if os.path.isdir(hpath) and is_under(stage, hpath):
                # EXTRA=/tmp would copy the staging directory into itself.
                raise HwpError('%s holds the initramfs staging directory %s:'
                               ' give a directory of its own' % (hpath, stage))
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


BASE_CMDLINE = ('console=ttyS0,115200 panic=-1 log_buf_len=4M loglevel=7 '
                'printk.time=1 hung_task_panic=0 oops=panic_off '
                'memmap_on_memory=0')


GUESTS = ('busybox', 'debian13')


def guest_boot_args(guest):
    """Kernel command line and QEMU disks of a guest flavour.

    busybox: the initramfs alone. debian13: the Debian image is the first
    virtio disk (writes go to a throw-away overlay, snapshot=on); the
    initramfs's /init mounts it and runs the job chrooted into it, or,
    with hwp.init=systemd on the command line, switches to it and starts
    systemd, which runs the job as a service (harness/guest/init).
    """
    if guest == 'busybox':
        return '', []
    if guest != 'debian13':
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


def build_guest_program(name):
    """Static helper programs of the harness (harness/guest/<name>.c)."""
    return build_c(os.path.join(BUILD, 'guest', name),
                   [os.path.join(HARNESS, 'guest', name + '.c')],
                   ['-static', '-O2', '-Wall', '-pthread'])
