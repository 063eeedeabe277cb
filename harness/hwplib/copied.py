# SPDX-License-Identifier: GPL-2.0
"""Copied lines: runs of lines in our files that are upstream's lines, in
upstream's order. Our implementation is written from our design, not
transcribed: a run of MAX_RUN or more non-trivial lines that upstream's
mm/memory-failure.c or mm/hwpoison-inject.c has in the same order fails
`make series`.

Lines are compared with their white space collapsed. Trivial lines do not
count towards a run (they neither make nor break one): braces, labels,
short returns and jumps, includes, comment delimiters, anything shorter
than 12 characters, and data that has to be the same by definition:
designated initializers of a table's strings (the page-type and result
names that logs and the trace event print) and of a struct's fields (the
sysctl table)."""

import os
import re

# Upstream files that our series replaces.
UPSTREAM = ('mm/memory-failure.c', 'mm/hwpoison-inject.c')
# Where our implementation lives.
OURS = 'mm/memory-failure'
# A run this long, counted in non-trivial lines, is a copy.
MAX_RUN = 4

_TRIVIAL = re.compile(
    r'^(\{|\}|\};|\}\)|\);|/\*|\*/|\*|else|else \{|\} else \{|'
    r'break;|continue;|default:|return;|return \w+;|return -E[A-Z]+;|'
    r'goto \w+;|\w+:|#endif|#else|)$')
# [MF_MSG_X] = "name", and .field = value, (tables, not logic).
_DATA = re.compile(r'^(\[\w+\]\s*=\s*".*",|\.\w+\s*=\s*[^;]*,)$')


def norm(line):
    return re.sub(r'\s+', ' ', line.strip())


def trivial(line):
    return (len(line) < 12 or bool(_TRIVIAL.match(line)) or
            bool(_DATA.match(line)) or line.startswith('#include'))


def copied_runs(ours, upstream):
    """[(first line of ours, first line of upstream, non-trivial lines,
    lines)] for each run of @ours (list of lines) found in @upstream."""
    up = [norm(l) for l in upstream]
    at = {}
    for i, l in enumerate(up):
        if not trivial(l):
            at.setdefault(l, []).append(i)
    mine = [norm(l) for l in ours]
    runs = []
    i = 0
    while i < len(mine):
        best, best_j, best_len = 0, -1, 1
        for j in at.get(mine[i], ()):
            k = counted = 0
            while (i + k < len(mine) and j + k < len(up) and
                   mine[i + k] == up[j + k]):
                counted += not trivial(mine[i + k])
                k += 1
            if counted > best:
                best, best_j, best_len = counted, j, k
        if best >= 2:
            runs.append((i + 1, best_j + 1, best, mine[i:i + best_len]))
            i += best_len
        else:
            i += 1
    return runs


def our_files(tree):
    out = []
    for d, _, names in os.walk(os.path.join(tree, OURS)):
        for n in sorted(names):
            if n.endswith(('.c', '.h')):
                out.append(os.path.relpath(os.path.join(d, n), tree))
    return sorted(out)


def check_copied(pristine, tree):
    """Print the longest copied runs; return the ones of MAX_RUN or more."""
    upstream = {}
    for f in UPSTREAM:
        with open(os.path.join(pristine, f)) as fh:
            upstream[f] = fh.read().split('\n')
    bad, longest = [], 0
    for rel in our_files(tree):
        with open(os.path.join(tree, rel)) as fh:
            lines = fh.read().split('\n')
        for f, up in upstream.items():
            for first, up_first, n, _ in copied_runs(lines, up):
                longest = max(longest, n)
                if n >= MAX_RUN:
                    bad.append('%s:%d: %d lines as %s:%d' %
                               (rel, first, n, f, up_first))
    for b in bad:
        print('copied: %s' % b)
    print('copied lines: longest run %d non-trivial lines (limit %d): %s' %
          (longest, MAX_RUN - 1, 'clean' if not bad else
           '%d run(s) too long' % len(bad)))
    return bad
