# SPDX-License-Identifier: GPL-2.0
"""Small helpers every part of the harness uses: errors, logging, running
commands, reading and writing files."""

import contextlib
import fcntl
import hashlib
import os
import subprocess


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


def build_c(out, srcs, flags, deps=()):
    """gcc @flags @srcs into @out, unless @out is newer than every source
    and every other file in @deps; a log beside it. Return @out."""
    os.makedirs(os.path.dirname(out), exist_ok=True)
    inputs = list(srcs) + list(deps)
    if not os.path.exists(out) or \
            max(os.path.getmtime(f) for f in inputs) > os.path.getmtime(out):
        run(['gcc'] + flags + ['-o', out] + list(srcs), logfile=out + '.log')
    return out


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


def list_file(path):
    """The entries of a list file: a word a line, '#' starts a comment."""
    lines = (l.split('#', 1)[0].strip()
             for l in read(path, '').splitlines())
    return [l for l in lines if l]


_build_lock_depth = 0


@contextlib.contextmanager
def build_lock(build_dir):
    """Hold @build_dir's build lock: kernel trees, objects and test binaries
    are rewritten by one command at a time, while guests of several may
    boot side by side. Re-entrant within a process."""
    global _build_lock_depth
    if _build_lock_depth:
        _build_lock_depth += 1
        try:
            yield
        finally:
            _build_lock_depth -= 1
        return
    os.makedirs(build_dir, exist_ok=True)
    with open(os.path.join(build_dir, '.build.lock'), 'w') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        _build_lock_depth = 1
        try:
            yield
        finally:
            _build_lock_depth = 0
            fcntl.flock(f, fcntl.LOCK_UN)
