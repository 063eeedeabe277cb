#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Answer "HWP-HOST-REQUEST <monitor command>" lines from the guest by
running the command on the QEMU monitor (e.g. device_del of a DIMM), until
the guest's job ends."""

import re
import sys

from hwpmon import Console, Monitor

ALLOWED = re.compile(r'^(device_del|device_add|object_add|object_del) ')


def main():
    con = Console(sys.argv[1])
    mon = Monitor(sys.argv[2])
    while True:
        m = con.wait(r'HWP-HOST-REQUEST (.*)$', timeout=600,
                     stop=r'HWP-JOB-EXIT|Kernel panic|reboot: ')
        if not m:
            break
        cmd = m.group(1).strip()
        if not ALLOWED.search(cmd + ' '):
            print('host: refusing monitor command %r' % cmd)
            return 1
        out = mon.cmd(cmd)
        print('host: %s%s' % (cmd, (': ' + out) if out else ''))
    mon.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
