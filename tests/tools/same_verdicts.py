#!/usr/bin/python3
"""Fails unless two conformance runs gave every case the same verdict.

Usage: same_verdicts.py REFERENCE.json OTHER.json REF-NAME OTHER-NAME WHAT

The JSON reports of `smartwire conform --json`.  Every case OTHER ran must
be in REFERENCE with the same verdict (flaky included: it is never a pass);
REFERENCE may have run more cases.  The differences are listed with both
runs' reasons; WHAT completes "N of M verdicts changed ..." in the failure
line.  Used by conform_load.sh (idle against loaded) and forkserver.sh
(brz serve --inet started plainly against started by the fork server).
"""
import json
import sys


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__.split('\n\n')[1])
    ref_path, other_path, rname, oname, what = sys.argv[1:]
    a = {c['id']: c for c in json.load(open(ref_path))['cases']}
    b = {c['id']: c for c in json.load(open(other_path))['cases']}
    diff = [i for i in b if i not in a or a[i]['verdict'] != b[i]['verdict']]
    a = {i: a[i] for i in b if i in a}
    if not b:
        print('FAIL: the %s run ran no case' % oname)
        sys.exit(1)
    counts = {}
    for c in a.values():
        counts[c['verdict']] = counts.get(c['verdict'], 0) + 1
    print('%d cases, verdicts %s' % (len(a), ', '.join('%s %d' % kv
                                                      for kv in sorted(counts.items()))))
    for i in diff:
        va, vb = a.get(i, {}), b.get(i, {})
        print('DIFFERENT %s: %s %s, %s %s' % (i, rname, va.get('verdict'), oname,
                                              vb.get('verdict')))
        for name, c in ((rname, va), (oname, vb)):
            if c.get('reason'):
                print('    %s: %s' % (name, c['reason'][:600]))
    if diff:
        print('FAIL: %d of %d verdicts changed %s' % (len(diff), len(a), what))
        sys.exit(1)
    print('identical verdicts %s and %s' % (rname, oname))


if __name__ == '__main__':
    main()
