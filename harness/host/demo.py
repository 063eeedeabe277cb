#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Host side of `make demo`: turn each "HWP-DEMO-MCE <paddr>" request that
the guest writes to its kernel log into a real machine check (SRAO) through
the QEMU monitor."""

import sys

from hwpmon import Console, Monitor


def main():
    console, monsock = sys.argv[1], sys.argv[2]
    con = Console(console)
    mon = Monitor(monsock)
    injected = 0
    while True:
        m = con.wait(r'HWP-DEMO-MCE (0x[0-9a-f]+)', timeout=120,
                     stop=r'HWP-JOB-EXIT|Kernel panic')
        if not m:
            break
        paddr = int(m.group(1), 16)
        print('host: machine check (SRAO) at guest physical %#x' % paddr)
        mon.mce(paddr)
        injected += 1
    mon.close()
    return 0 if injected else 1


if __name__ == '__main__':
    sys.exit(main())
