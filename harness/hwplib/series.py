# SPDX-License-Identifier: GPL-2.0
"""The series sub-command: our change against the base as a git-am-able
patch series (build/series/), cut as harness/export.conf says."""

import fnmatch
import os
import re
import shutil
import subprocess

from .copied import check_copied
from .packages import base_dir
from .paths import BUILD, HARNESS, PATCH_DIR, ROOT
from .tree import deleted_files, overlay_files, patch_series, patch_targets, \
    sync_tree
from .util import HwpError, read, run


def load_export():
    """harness/export.conf: the cover letter and one block per patch."""
    conf = {'author': None, 'cover-subject': '', 'cover-body': '',
            'patches': []}
    cur = None
    key = None
    for l in read(os.path.join(HARNESS, 'export.conf')).splitlines():
        if l.startswith('#'):
            continue
        if l.startswith('  ') or (not l.strip() and key):
            if key is None:
                raise HwpError('export.conf: text outside a field: %r' % l)
            target = cur if key == 'body' else conf
            target[key] += l[2:] + '\n'
            continue
        if not l.strip():
            continue
        k, sep, v = l.partition(':')
        k, v = k.strip(), v.strip()
        if not sep:
            raise HwpError('export.conf: bad line %r' % l)
        key = None
        if k == 'subject':
            cur = {'subject': v, 'files': [], 'patches': [], 'delete': [],
                   'body': ''}
            conf['patches'].append(cur)
        elif k in ('files', 'patches', 'delete') and cur is not None:
            cur[k] += v.split()
        elif k in ('body', 'cover-body'):
            key = k
        elif k in ('author', 'cover-subject'):
            conf[k] = v
        else:
            raise HwpError('export.conf: unknown field %r' % k)
    return conf


def git(repo, *args, **kw):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM='1', HOME=repo,
               GIT_AUTHOR_DATE='2026-01-01T00:00:00Z',
               GIT_COMMITTER_DATE='2026-01-01T00:00:00Z')
    return run(['git', '-C', repo] + list(args), env=env,
               stdout=subprocess.PIPE, **kw).stdout.decode()


def cmd_series(args):
    """Export our change against the base as a git-am-able series."""
    pristine, version = base_dir()
    tree, _ = sync_tree('ours')
    conf = load_export()
    overlay = overlay_files()
    patches = patch_series()
    deleted = deleted_files()
    claimed = set()
    for b in conf['patches']:
        b['overlay'] = [f for f in overlay if f not in claimed and
                        any(fnmatch.fnmatchcase(f, g) for g in b['files'])]
        claimed.update(b['overlay'])
        for pt in b['patches']:
            if pt not in patches:
                raise HwpError('export.conf: %s is not in patches/series'
                               % pt)
        b['del'] = [f for f in deleted if f not in claimed and
                    any(fnmatch.fnmatchcase(f, g) for g in b['delete'])]
        claimed.update(b['del'])
    orphans = [f for f in overlay + deleted if f not in claimed]
    orphans += [p for p in patches
                if not any(p in b['patches'] for b in conf['patches'])]
    if orphans:
        raise HwpError('not in any patch of harness/export.conf: %s' %
                       ' '.join(orphans))
    order = [p for b in conf['patches'] for p in b['patches']]
    if order != [p for p in patches if p in order]:
        raise HwpError('export.conf must take patches/ in series order')

    repo = os.path.join(BUILD, 'series-repo')
    out = os.path.join(BUILD, 'series')
    shutil.rmtree(repo, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(repo)
    touched = set(overlay) | set(deleted)
    for pt in patches:
        touched.update(patch_targets(pt))
    for f in sorted(touched):
        src = os.path.join(pristine, f)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(repo, f)), exist_ok=True)
            shutil.copy2(src, os.path.join(repo, f))
    author = conf['author'] or 'HWPOISON series <hwpoison@example.org>'
    name, email = re.match(r'^(.*?)\s*<(.*)>$', author).groups()
    git(repo, 'init', '-q')
    git(repo, 'config', 'user.name', name)
    git(repo, 'config', 'user.email', email)
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '--allow-empty', '-m',
        'Linux %s (Debian linux-source-6.12 %s)' % (
            version.split('-')[0], version))
    for b in conf['patches']:
        for f in b['overlay']:
            dst = os.path.join(repo, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(ROOT, f), dst)
        for pt in b['patches']:
            run(['patch', '-p1', '-s', '-f', '-N', '--no-backup-if-mismatch',
                 '-i', os.path.join(PATCH_DIR, pt)], cwd=repo)
        for f in b['del']:
            os.unlink(os.path.join(repo, f))
        git(repo, 'add', '-A')
        if not git(repo, 'diff', '--cached', '--name-only').strip():
            raise HwpError('export.conf: "%s" changes nothing' % b['subject'])
        msg = '%s\n\n%s\nSigned-off-by: %s\n' % (
            b['subject'], b['body'].strip() + '\n' if b['body'].strip()
            else '', author)
        git(repo, 'commit', '-q', '-F', '-', input=msg.encode())
    git(repo, 'format-patch', '-q', '--cover-letter', '--no-signature',
        '-o', out, 'HEAD~%d' % len(conf['patches']))
    cover = sorted(os.listdir(out))[0]
    cpath = os.path.join(out, cover)
    text = read(cpath)
    text = text.replace('*** SUBJECT HERE ***', conf['cover-subject'])
    text = text.replace('*** BLURB HERE ***', conf['cover-body'].strip())
    with open(cpath, 'w') as f:
        f.write(text)
    files = sorted(os.path.join(out, f) for f in os.listdir(out))
    for f in files:
        print(os.path.relpath(f, ROOT))
    # checkpatch's FILE_PATH_CHANGES only asks whether MAINTAINERS needs
    # updating whenever a patch adds or deletes a file; answer it for real
    # and let checkpatch skip the question.
    unmaintained = maintainers_gaps(repo, len(conf['patches']))
    for u in unmaintained:
        print('MAINTAINERS: %s' % u)
    print('MAINTAINERS: %s' % ('every added file covered, no deleted file '
                               'listed' if not unmaintained else
                               '%d problem(s)' % len(unmaintained)))
    cp = subprocess.run(['perl', os.path.join(tree, 'scripts/checkpatch.pl'),
                         '--strict', '--quiet', '--show-types',
                         '--ignore', 'FILE_PATH_CHANGES'] + files[1:],
                        cwd=tree, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True)
    print(cp.stdout, end='')
    print('checkpatch --strict: %s (%d patches)' %
          ('clean' if cp.returncode == 0 else 'NOT clean', len(files) - 1))
    copied = check_copied(pristine, tree)
    return 1 if cp.returncode or unmaintained or copied else 0


def maintainer_patterns(text):
    """F: patterns of every MAINTAINERS section."""
    return [l[2:].strip() for l in text.splitlines() if l.startswith('F:')]


def covered(path, patterns):
    for pat in patterns:
        if pat.endswith('/') and path.startswith(pat):
            return True
        if fnmatch.fnmatchcase(path, pat):
            return True
    return False


def maintainers_gaps(repo, n):
    """Files the last @n commits add that no MAINTAINERS entry of the
    final tree covers, and files they delete that one still names."""
    pats = maintainer_patterns(read(os.path.join(repo, 'MAINTAINERS'), ''))
    gaps = []
    out = git(repo, 'diff', '--name-status', '--no-renames',
              'HEAD~%d' % n, 'HEAD')
    for l in out.splitlines():
        status, path = l.split('\t', 1)
        if status == 'A' and not covered(path, pats):
            gaps.append('%s is added but no F: entry covers it' % path)
        if status == 'D' and path in pats:
            gaps.append('%s is deleted but still listed' % path)
    return gaps
