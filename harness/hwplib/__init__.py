# SPDX-License-Identifier: GPL-2.0
"""hwplib: the modules behind harness/hwp.py, one concern each.

  paths     repository, harness and build folder locations
  util      errors, logging, running commands, file helpers
  packages  Debian packages and the base
  tree      build/<kernel>/linux: base + overlay + patches
  kbuild    kernel configuration and build
  debian    the Debian guest image
  guest     initramfs, disk, QEMU
  results   KTAP/TAP/splat readers, known upstream bugs, verdicts
  suite     harness/suite.conf: test binaries and their guest boots
  commands  check, compare, vm, demo, build, tree
  bench     the bench sub-command
  series    the series sub-command
"""
