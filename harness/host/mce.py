#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Answer "HWP-MCE-REQUEST <srao|srar> <paddr>" lines from the guest with
a real machine check through the QEMU monitor, until the guest's job ends.
"""

import sys

from hwpmon import Console, Monitor


def main():
    con = Console(sys.argv[1])
    mon = Monitor(sys.argv[2])
    n = 0
    while True:
        m = con.wait(r'HWP-MCE-REQUEST (srao|srar) (0x[0-9a-f]+)',
                     timeout=600, stop=r'HWP-JOB-EXIT|Kernel panic|reboot:')
        if not m:
            break
        paddr = int(m.group(2), 16)
        out = mon.mce(paddr, action_required=m.group(1) == 'srar')
        n += 1
        print('host: %s machine check at %#x%s' %
              (m.group(1), paddr, (': ' + out) if out else ''))
    mon.close()
    print('host: %d machine check(s) injected' % n)
    return 0


if __name__ == '__main__':
    sys.exit(main())
