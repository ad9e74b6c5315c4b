#!/usr/bin/env python3
"""The conformance suite's self-test: it must fail every broken server and
pass every correct one.

    run_mutants.py --smartwire PATH [--source DIR] [--work DIR] [--jobs N]
                   [--only NAME...] [--no-server] [--no-output]

Two kinds of mutants, each a realistic bug:

* server mutants (conformance/mutants/server/*.patch): source patches of
  smartwire's own server that get the INPUT wrong (a jail that checks before
  unescaping, read-only enforced for some verbs only, a short read taken
  for EOF, pipelined requests dropped, an upload visible before it
  completed...).  The tree is copied to WORK/src once, built once (only the
  `smartwire` program), and each patch is applied, built incrementally (a
  file or two and a link), copied to WORK/bin/NAME and reverted.  Each
  mutant runs the WHOLE suite with its default sweeps against
  `NAME serve --inet`; the first failing case kills it.  The cases of
  the bug's area (its Category: the jail mutants start with the jail and
  security cases) run first, the rest of the suite after them, so that a
  mutant usually dies within seconds.
* output mutants (mutate.py): a correct server (`brz serve --inet`)
  behind a proxy that corrupts what it says; each runs a subset of the
  cases without sweeps, as before.

Mutants named harmless-* are correct rewrites (other read and write sizes,
delays, another path resolution): they must pass every case they run.

Verdicts are --strict's (a MUST or SHOULD failure, a flaky case, a fixed
deviation or an unimplemented verb fails a run: kills a mutant, flags a
harmless rewrite; a case is not run again to tell flaky from fail:
--no-retry) but in the areas of the verbs `smartwire serve` does not
implement (SERVE_UNIMPLEMENTED: it answers them as Breezy answers an
unknown verb, and the unpatched server reports them `unimplemented` too):
those run last, without --strict, and every verdict but `unimplemented`
that --strict would fail still fails the run.  A mutant that answers an
implemented verb as unknown is killed; one that drops the answer to an
unimplemented one fails the case.

Mutants run in parallel.  The last lines are the score table by category.
Exit status 0 only if every mutant was killed and every harmless rewrite
passed.
"""
import argparse
import concurrent.futures
import filecmp
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.dirname(HERE)
PY = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable

# The output mutants' cases: the suite's cases that such a proxy can break,
# without sweeps (each case is a Python proxy and a Breezy process).
OUTPUT_SUBSET = '''detect.marker.* detect.unknown.v1 detect.unknown.v2 detect.unknown.v3
detect.mixed.v3-v2-v1 v12.status.* v12.body.v1-get v12.body.v2-get v12.body.v1-readv
v12.body.v2-put v3.framing.get v3.framing.error-response v3.framing.response-headers
vfs.get.v?.ok vfs.get.v?.nosuchfile vfs.has.* vfs.stat.v?.file vfs.list-dir.v?.dir
vfs.readv.v?.ok vfs.readv.v?.short vfs.put.v?.readonly vfs.append.v?.ok
session.pipeline.v3-then-close session.pipeline.mixed-then-close'''.split()

# The output mutants that corrupt one verb's answer run the subset's cases
# of that verb first (the others: the subset in its order).
OUTPUT_FIRST = {
    'readonly-name': ['vfs.put.v?.readonly'],
    'stat-mode-py2': ['vfs.stat.v?.file'],
    'names-drop-last': ['vfs.list-dir.v?.dir'],
    'appended-offset': ['vfs.append.v?.ok'],
    'short-readv-numbers': ['vfs.readv.v?.short'],
    'readv-data': ['v12.body.v1-readv', 'vfs.readv.v?.ok'],
    'get-body-flip': ['v12.body.v1-get', 'v12.body.v2-get', 'vfs.get.v?.ok'],
    'has-swap': ['vfs.has.*'],
}

OUTPUT_CATEGORIES = [
    ('output: v3 framing', r'^v3-'),
    ('output: v1/v2 framing', r'^(v2-|v1-|prefixed-)'),
    ('output: meaning', r'^(status-swap|error-name|readonly-name|generic-error-name|'
                        r'unknown-method-name|hello-version|has-swap|stat-mode-py2|'
                        r'names-drop-last|extra-arg|appended-offset|short-readv-numbers|'
                        r'readv-data|get-body-flip)$'),
    ('output: connection', r'^(duplicate-response|close-early|drop-response)$'),
]

# The tree a server mutant is built from.
TREE = ['CMakeLists.txt', 'ref', 'tools', 'testbench']

# The areas of the verbs `smartwire serve` answers as unknown (only the 16
# file verbs are implemented; conformance/README.md, "Coverage"): an
# `unimplemented` verdict there is the unpatched server's too.
SERVE_UNIMPLEMENTED = ['bzrdir.*', 'branch.*', 'repo.*', 'stream.*', 'fmt114.*']

# The cases a server mutant runs first, by its Category: those of the area
# its bug is in, in steps (each a runner invocation with these globs, in
# the suite's order); the rest of the suite runs after them, so a mutant
# still meets every case until one kills it.
AREA_FIRST = {
    'jail': [['jail.*'], ['security.*']],
    'read-only': [['*.readonly']],
    'reading requests': [['detect.*', 'v12.*', 'v3.*', 'session.eof.*']],
    'error recovery': [['detect.near.*', 'v3.framing.*', 'session.terminate.*'],
                       ['detect.*', 'v12.*']],
    'pipelining': [['session.pipeline.*', 'detect.near.*', 'detect.mixed.*']],
    'request bodies': [['v12.body.*', 'v3.parts.*', 'vfs.put*', 'vfs.append.*',
                        'session.eof.*']],
    'limits and timeouts': [['session.timeout.*', 'session.limits.*']],
}

# The lines of the runner's summary that fail a run (see above).
FAILING = re.compile(r'^(fail|non-strict|fixed|unimplemented|flaky)\s+(\S+)')


def log(msg):
    print(msg, flush=True)


def patch_info(path):
    """(category, bug sentence) from a patch's preamble."""
    cat, bug = 'other', ''
    with open(path) as f:
        for line in f:
            if line.startswith('diff --git'):
                break
            if line.startswith('Category:'):
                cat = line.split(':', 1)[1].strip()
            elif line.startswith('Bug:'):
                bug = line.split(':', 1)[1].strip()
    return cat, bug


def sync_tree(src, dst):
    """Copies src to dst, rewriting only files whose contents differ, so
    that an incremental build recompiles only what changed (a file a patch
    left behind differs and is restored)."""
    for top in TREE:
        s = os.path.join(src, top)
        d = os.path.join(dst, top)
        if os.path.isfile(s):
            if not os.path.exists(d) or not filecmp.cmp(s, d, shallow=False):
                shutil.copyfile(s, d)
            continue
        for root, dirs, files in os.walk(s):
            rel = os.path.relpath(root, s)
            os.makedirs(os.path.join(d, rel), exist_ok=True)
            for fn in files:
                a = os.path.join(root, fn)
                b = os.path.join(d, rel, fn)
                if not os.path.exists(b) or not filecmp.cmp(a, b, shallow=False):
                    shutil.copyfile(a, b)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def git_apply(patch, src, *opts):
    """`git apply` in WORK/src as a plain patch program.  WORK is often
    inside the source tree's own work tree (build/gcc/mutants): git would
    take the enclosing repository for its own and, from a subdirectory of
    it, silently skip every path outside that subdirectory, i.e. apply
    nothing and succeed.  GIT_CEILING_DIRECTORIES stops the search."""
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=os.path.dirname(src))
    env.pop('GIT_DIR', None)
    env.pop('GIT_WORK_TREE', None)
    return run(['git', 'apply'] + list(opts) + [patch], cwd=src, env=env)


def build_server_mutants(args, patches):
    """Builds WORK/bin/NAME for every patch.  Returns {name: binary}."""
    src = os.path.join(args.work, 'src')
    bld = os.path.join(args.work, 'build')
    binr = os.path.join(args.work, 'bin')
    os.makedirs(src, exist_ok=True)
    os.makedirs(binr, exist_ok=True)
    t0 = time.time()
    sync_tree(args.source, src)
    if not os.path.exists(os.path.join(bld, 'CMakeCache.txt')):
        r = run(['cmake', '-S', src, '-B', bld, '-DSW_TESTS=OFF', '-DSW_BENCH=OFF',
                 '-DSW_FUZZ=OFF', '-DSW_INTEROP=OFF', '-DSW_WERROR=OFF', '-DSW_SANITIZE=OFF',
                 '-DCMAKE_BUILD_TYPE=None', '-DCMAKE_C_FLAGS=-O1',
                 '-DCMAKE_C_COMPILER=' + args.cc])
        if r.returncode:
            sys.exit('run_mutants.py: cannot configure the mutant build:\n' + r.stdout)

    def build():
        r = run(['cmake', '--build', bld, '-j', str(args.jobs), '--target', 'smartwire_cli'])
        return r.returncode == 0, r.stdout

    ok, out = build()
    if not ok:
        sys.exit('run_mutants.py: the unpatched tree does not build:\n' + out)
    built = {}
    exe = os.path.join(bld, 'tools', 'smartwire')
    plain = os.path.join(args.work, 'smartwire.unpatched')
    shutil.copyfile(exe, plain)
    for p in patches:
        name = os.path.basename(p)[:-6]
        r = git_apply(p, src)
        if r.returncode:
            sys.exit('run_mutants.py: %s does not apply: %s' % (p, r.stdout))
        ok, out = build()
        same = ok and filecmp.cmp(exe, plain, shallow=False)
        if ok and not same:
            shutil.copyfile(exe, os.path.join(binr, name))
            os.chmod(os.path.join(binr, name), 0o755)
            built[name] = os.path.join(binr, name)
        r2 = git_apply(p, src, '-R')
        if not ok:
            sys.exit('run_mutants.py: mutant %s does not build:\n%s' % (name, out))
        if same:
            sys.exit('run_mutants.py: mutant %s builds the unpatched program: %s changed '
                     'nothing' % (name, p))
        if r2.returncode:
            sys.exit('run_mutants.py: %s does not revert: %s' % (p, r2.stdout))
    build()  # leave the objects matching the unpatched sources
    log('built %d server mutants in %.0f s' % (len(built), time.time() - t0))
    return built


def conform_cmd(args, name, target, harmless, cases, sweep, strict=True, excludes=()):
    """The runner's command line.  strict=False: without --strict, whose
    verdicts failing() applies instead (unimplemented verbs of the areas
    smartwire does not implement are no failure)."""
    cmd = [args.smartwire, 'conform', '--cases', os.path.join(CONF, 'cases'),
           '--server-cmd', target, '-q', '-j', str(args.case_jobs),
           '--name', 'mutant ' + name, '--timeout', '10000' if harmless else '3000']
    # --no-retry: the runner runs a failing case again to tell `flaky` from
    # `fail`, but here both fail a run (see failing()), so the second run
    # decides nothing; and an `unimplemented` verdict is a failure to the
    # runner: without it, each of the 321 cases of verbs `smartwire serve`
    # does not implement ran twice in every harmless run (a quarter of its
    # time).
    cmd.append('--no-retry')
    if strict:
        cmd.append('--strict')
    if sweep is not None:
        cmd += ['--sweep', sweep]
    if not harmless:
        # Killed at its first failing case: nothing more to learn.
        cmd += ['--max-fail', '1']
    for x in excludes:
        cmd += ['--exclude', x]
    return cmd + cases


def failing(out, strict):
    """The first case of the runner's output that fails the run (strict:
    any that --strict fails; otherwise all but `unimplemented`), or None."""
    for line in out.splitlines():
        m = FAILING.match(line)
        if m and (strict or m.group(1) != 'unimplemented'):
            return m.group(2)
    return None


def one(job):
    """Runs one mutant, in one or more steps (a subset of the cases each;
    the next only while nothing failed).  Returns (name, category, verdict,
    detail, seconds)."""
    name, cat, steps, harmless, logdir = job
    t0 = time.time()
    first, code, ran = None, 0, []
    for cmd, strict in steps:
        r = run(cmd)
        ran.append(' '.join(cmd) + '\n\n' + r.stdout)
        first, code = failing(r.stdout, strict), r.returncode
        # Exit 0 with a failing line: a SHOULD/flaky/unimplemented verdict
        # without --strict; exit 1 without one: no case matched, or worse.
        if first or code:
            break
    secs = time.time() - t0
    with open(os.path.join(logdir, name + '.txt'), 'w') as f:
        f.write('\n\n'.join(ran))
    ok = not first and code == 0
    if harmless:
        return (name, cat, 'passed' if ok else 'FLAGGED',
                '' if ok else 'failed %s (exit %d)' % (first, code), secs)
    if first and code in (0, 1):
        return (name, cat, 'killed', 'by ' + first, secs)
    return (name, cat, 'SURVIVED', 'exit %d' % code, secs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--smartwire', required=True, help='the runner (smartwire program)')
    ap.add_argument('--source', default=os.path.dirname(CONF), help='the source tree')
    ap.add_argument('--work', default=os.path.join(os.environ.get('TMPDIR', '/tmp'),
                                                   'sw-mutants'), help='build and logs')
    ap.add_argument('--cc', default=os.environ.get('CC', 'cc'))
    ap.add_argument('--jobs', type=int, default=2, help='mutants run at once')
    ap.add_argument('--case-jobs', type=int, default=3, help='cases at once per mutant')
    ap.add_argument('--output-server', default='brz serve --inet --directory={dir} {options}',
                    help='the correct server behind the output mutants')
    ap.add_argument('--output-expect', help='its expectations file (default: Breezy\'s for '
                    'brz, none otherwise)')
    ap.add_argument('--only', nargs='*', help='run only these mutants')
    ap.add_argument('--no-server', action='store_true', help='skip the server mutants')
    ap.add_argument('--no-output', action='store_true', help='skip the output mutants')
    ap.add_argument('--build-only', action='store_true',
                    help='build the server mutants (WORK/bin/NAME) and stop')
    args = ap.parse_args()
    args.smartwire = os.path.abspath(args.smartwire)
    args.work = os.path.abspath(args.work)
    logdir = os.path.join(args.work, 'logs')
    os.makedirs(logdir, exist_ok=True)
    t0 = time.time()
    jobs = []
    if not args.no_server:
        pdir = os.path.join(HERE, 'server')
        patches = sorted(os.path.join(pdir, p) for p in os.listdir(pdir) if p.endswith('.patch'))
        if args.only:
            patches = [p for p in patches if os.path.basename(p)[:-6] in args.only]
        built = build_server_mutants(args, patches) if patches else {}
        if args.build_only:
            return 0
        for p in patches:
            name = os.path.basename(p)[:-6]
            cat, _ = patch_info(p)
            harmless = name.startswith('harmless-')
            target = '%s serve --inet --directory={dir} {options}' % built[name]
            # The whole suite, default sweeps: the area of the bug first.
            # --strict but for the verbs smartwire does not implement, last.
            steps, done = [], list(SERVE_UNIMPLEMENTED)
            for globs in [] if harmless else AREA_FIRST.get(cat, []):
                steps.append((conform_cmd(args, name, target, harmless, globs, None,
                                          excludes=done), True))
                done += globs
            steps.append((conform_cmd(args, name, target, harmless, [], None, excludes=done),
                          True))
            steps.append((conform_cmd(args, name, target, harmless, SERVE_UNIMPLEMENTED, None,
                                      strict=False), False))
            jobs.append(('server:' + name, 'harmless (input)' if harmless else 'input: ' + cat,
                         steps, harmless, logdir))
    if not args.no_output:
        if args.output_server.startswith('brz') and shutil.which('brz') is None:
            sys.exit('run_mutants.py: FAIL: brz (Breezy) is not installed; the output mutants '
                     "wrap 'brz serve --inet' (apt-get install brz, or --no-output).")
        names = run([PY, os.path.join(HERE, 'mutate.py'), '--list']).stdout.split()
        if args.only:
            names = [n for n in names if n in args.only]
        for n in names:
            harmless = n.startswith('harmless-')
            cat = 'harmless (output)' if harmless else next(
                (c for c, rx in OUTPUT_CATEGORIES if re.search(rx, n)), 'output: other')
            target = '%s %s %s -- %s' % (PY, os.path.join(HERE, 'mutate.py'), n,
                                         args.output_server)
            expect = args.output_expect
            if not expect and args.output_server.startswith('brz'):
                expect = os.path.join(CONF, 'expectations', 'breezy-3.3.2.txt')
            first = OUTPUT_FIRST.get(n, [])
            cmds = [conform_cmd(args, n, target, harmless, first, 'none')] if first else []
            cmds.append(conform_cmd(args, n, target, harmless, OUTPUT_SUBSET, 'none',
                                    excludes=first))
            for cmd in cmds:
                if expect:
                    cmd[2:2] = ['--expect', expect]
            jobs.append(('output:' + n, cat, [(cmd, True) for cmd in cmds], harmless, logdir))
    # Harmless rewrites run every case: start them first.
    jobs.sort(key=lambda j: not j[3])
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for res in ex.map(one, jobs):
            results.append(res)
            log('%-9s %-34s %-26s %s (%.0f s)' % (res[2], res[0], res[1], res[3], res[4]))
    # The score table.
    cats = {}
    for name, cat, verdict, detail, secs in results:
        c = cats.setdefault(cat, [0, 0, 0, 0])
        if cat.startswith('harmless'):
            c[2] += 1
            c[3] += verdict == 'passed'
        else:
            c[0] += 1
            c[1] += verdict == 'killed'
    log('')
    log('%-30s %8s %10s' % ('category', 'killed', 'harmless'))
    tk = tt = th = thp = 0
    for cat in sorted(cats, key=lambda c: (c.startswith('harmless'), c)):
        k = cats[cat]
        if cat.startswith('harmless'):
            log('%-30s %8s %10s' % (cat, '', '%d/%d passed' % (k[3], k[2])))
        else:
            log('%-30s %8s %10s' % (cat, '%d/%d' % (k[1], k[0]), ''))
        tk, tt, th, thp = tk + k[1], tt + k[0], th + k[2], thp + k[3]
    log('%-30s %8s %10s' % ('total', '%d/%d' % (tk, tt), '%d/%d passed' % (thp, th)))
    log('mutation score: %d/%d mutants killed; harmless rewrites: %d passed, %d flagged '
        '(%.0f s; logs in %s)' % (tk, tt, thp, th - thp, time.time() - t0, logdir))
    return 0 if tk == tt and thp == th else 1


if __name__ == '__main__':
    sys.exit(main())
