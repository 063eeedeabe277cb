# SPDX-License-Identifier: GPL-2.0
"""Helpers for host scripts that run beside a guest (make vm HOST=...,
host= in harness/suite.conf): follow the guest console and drive the QEMU
monitor, e.g. to inject a real machine check.

A host script is called as `script <console log> <monitor socket>`.
Guest programs talk to it by writing lines to /dev/kmsg, which appear in
the console log.
"""

import re
import socket
import time

# Machine-check encodings that Linux' x86 handler treats as recoverable
# memory errors on an Intel CPU model (see shared notes on QEMU and MCE).
# SRAO: memory scrub error, action optional (UC|EN|MISCV|ADDRV|S, 0xC0).
SRAO_STATUS = '0xbd000000000000c0'
SRAO_MCG = '0x5'        # MCIP | RIPV
# SRAR: data load error, action required (UC|EN|MISCV|ADDRV|S|AR, 0x134).
SRAR_STATUS = '0xbd80000000000134'
SRAR_MCG = '0x6'        # MCIP | EIPV
MISC_PHYS_LSB12 = '0x8c'


class Monitor:
    """A QEMU human monitor on a unix socket."""

    def __init__(self, path, timeout=20):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        self.sock.settimeout(timeout)
        self._read_prompt()

    def _read_prompt(self):
        data = b''
        while not data.endswith(b'(qemu) '):
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data.decode(errors='replace')

    def cmd(self, line):
        """Run one monitor command and return its output (the monitor's
        echo of the typed line is dropped)."""
        self.sock.sendall(line.encode() + b'\n')
        out = self._read_prompt()[:-len('(qemu) ')]
        out = out.split('\r\n', 1)[1] if '\r\n' in out else ''
        return out.strip()

    def mce(self, paddr, action_required=False, bank=9, cpu=0):
        """Inject a memory error at guest-physical @paddr on all CPUs."""
        status = SRAR_STATUS if action_required else SRAO_STATUS
        mcg = SRAR_MCG if action_required else SRAO_MCG
        return self.cmd('mce -b %d %d %s %s %#x %s' %
                        (cpu, bank, status, mcg, paddr, MISC_PHYS_LSB12))

    def mce_in_user_mode(self, paddr, cpu=0, tries=500):
        """Inject an action-required error only while @cpu runs user code.

        An SRAR that hits kernel mode is fatal by design ("In kernel and
        no restart IP"), and a guest timer interrupt can be in progress at
        any moment. So stop the machine, check that the CPU is at CPL 3,
        inject while it is stopped (the machine check then is the first
        thing it takes on resuming), and go on; otherwise let it run a
        little and look again. Returns the number of looks it took.
        """
        for n in range(1, tries + 1):
            self.cmd('stop')
            self.cmd('cpu %d' % cpu)
            regs = self.cmd('info registers')
            m = re.search(r'CPL=(\d)', regs)
            if m and m.group(1) == '3':
                self.mce(paddr, action_required=True, cpu=cpu)
                self.cmd('cont')
                return n
            self.cmd('cont')
            time.sleep(0.002)
        raise RuntimeError('CPU %d never seen in user mode' % cpu)

    def close(self):
        self.sock.close()


class Console:
    """Follow the guest console log from the start."""

    def __init__(self, path):
        self.path = path
        self.pos = 0
        self.buf = ''
        self.pending = []

    def lines(self):
        """Complete lines not handed out yet."""
        try:
            with open(self.path, 'rb') as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            data = b''
        self.pos += len(data)
        self.buf += data.decode(errors='replace')
        *done, self.buf = self.buf.split('\n')
        out = self.pending + [l.rstrip('\r') for l in done]
        self.pending = []
        return out

    def wait(self, regex, timeout=60, stop=None):
        """Next line matching @regex (a match object), None on timeout or
        when a line matches @stop first."""
        rx = re.compile(regex)
        srx = re.compile(stop) if stop else None
        deadline = time.time() + timeout
        while time.time() < deadline:
            lines = self.lines()
            for i, l in enumerate(lines):
                m = rx.search(l)
                if m:
                    self.pending = lines[i + 1:]
                    return m
                if srx and srx.search(l):
                    self.pending = lines[i + 1:]
                    return None
            time.sleep(0.05)
        return None
