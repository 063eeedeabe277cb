#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Answer "HWP-MCE-REQUEST <srao|srar|ce> <paddr>" lines from the guest with
a real machine check through the QEMU monitor, until the guest's job ends.

Requests are served in order, and each machine check waits until the guest
has handled the previous one ("Memory failure: <pfn>:" in its log, or, from
a guest whose console prints no such line, "HWP-MCE-HANDLED <paddr>"): a
machine check that arrives while the previous one is still in progress
(MCG_STATUS.MCIP set) shuts a real CPU down, and QEMU models that.

"ce" is a corrected memory error: QEMU only fills bank 9 of CPU 0, no
exception is raised, and the guest's machine-check poller finds it. The
next request waits until the kernel printed it ("Bank 9: <status>", or an
EDAC driver's "... page:<pfn> offset:..." line), or at most CE_GAP
seconds: the kernel prints nothing for an error that its corrected-error
collector took, and an error injected before the poller read the previous
one would overwrite it in the bank.
"""

import collections
import re
import sys
import time

from hwpmon import MISC_PHYS_LSB12, Console, Monitor

REQUEST = re.compile(r'HWP-MCE-REQUEST (srao|srar|ce) (0x[0-9a-f]+)')
# Corrected memory controller read error (VAL|EN|MISCV|ADDRV, no UC;
# MCACOD 0x9f), physical address mode with lsb 12 in MISC.
CE_STATUS = '0x9c0000000000009f'
CE_GAP = 1.5
STOP = re.compile(r'HWP-JOB-EXIT|Kernel panic|reboot: ')


def main():
    con = Console(sys.argv[1])
    mon = Monitor(sys.argv[2])
    queue = collections.deque()
    waiting = None          # (log text that ends it, deadline, quiet)
    n = 0
    deadline = time.time() + 3600
    while time.time() < deadline:
        stop = False
        for l in con.lines():
            m = REQUEST.search(l)
            if m:
                queue.append((m.group(1), int(m.group(2), 16)))
            if waiting and any(w in l for w in waiting[0]):
                waiting = None
            if STOP.search(l):
                stop = True
        if stop:
            break
        if waiting and time.time() > waiting[1]:
            if not waiting[2]:
                print('host: no "%s" within 10 s, going on' %
                      waiting[0][0])
            waiting = None
        if not waiting and queue:
            kind, paddr = queue.popleft()
            if kind == 'srar':
                looks = mon.mce_in_user_mode(paddr)
                out = 'CPU 0 in user mode after %d look(s)' % looks
            elif kind == 'ce':
                out = mon.cmd('mce 0 9 %s 0x0 %#x %s' %
                              (CE_STATUS, paddr, MISC_PHYS_LSB12))
            else:
                out = mon.mce(paddr)
            n += 1
            print('host: %s machine check at %#x%s' %
                  (kind, paddr, (': ' + out) if out else ''))
            if kind == 'ce':
                # Printed by the kernel, or by an EDAC driver that took it.
                waiting = (('Bank 9: %s' % CE_STATUS[2:],
                            ' page:%#x offset:' % (paddr >> 12)),
                           time.time() + CE_GAP, True)
            else:
                waiting = (('Memory failure: %#x:' % (paddr >> 12),
                            'HWP-MCE-HANDLED %#x' % paddr),
                           time.time() + 10, False)
        time.sleep(0.02)
    mon.close()
    print('host: %d machine check(s) injected' % n)
    return 0


if __name__ == '__main__':
    sys.exit(main())
