# SPDX-License-Identifier: GPL-2.0
"""Where things are: the repository, the harness and the build folder."""

import os

# This file is harness/hwplib/paths.py; the repository is two levels up.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HARNESS = os.path.join(ROOT, 'harness')
BUILD = os.environ.get('HWP_BUILD', os.path.join(ROOT, 'build'))
KERNELS = ('ours', 'upstream')
PATCH_DIR = os.path.join(ROOT, 'patches')
