#!/usr/bin/env python3
"""The capture tests: the dissector's conversations against expectations
computed without it.

  capture_check.py --dissect BIN captures DIR
      Every DIR/NAME.expect.json (written by tests/data/captures/expect.py
      from Breezy's decoders and its own TCP reassembly) against
      `BIN --json --port P DIR/NAME.pcap[ng]`: the connections (partial
      flag, gaps, bytes skipped), and for each exchange in order its note
      and both messages (version, stream offset and length, args, status,
      body length, parts and SHA-256, truncation, capture times).  The
      "clean" verdict and the exit status must agree with them too.

  capture_check.py --dissect BIN --smartwire SW recordings DIR...
      Each recording directory (corpus/recordings/*) in the paired view
      against the one-direction dissector (`SW dissect --json` of each
      conn-NNN.c2s / .s2c): the k-th exchange holds the k-th request and
      the k-th response, with the same args, status and body digest.

Standard library only.  Prints one line per check; exit status 1 if any
failed.
"""
import argparse
import glob
import json
import os
import shlex
import subprocess
import sys

FAILS = []


def check(what, ok, detail=''):
    print('%s %s%s' % ('ok  ' if ok else 'FAIL', what, '' if ok else '\n     ' + detail))
    if not ok:
        FAILS.append(what)


def run_json(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    lines = [json.loads(line) for line in p.stdout.decode('utf-8').splitlines() if line]
    return p.returncode, lines, p.stderr.decode('utf-8', 'replace')


MSG_FIELDS = ['version', 'offset', 'length', 'args', 'status', 'body_length', 'body_parts',
              'body_sha256', 'truncated', 'after_skip']


def compare_msg(where, want, got):
    if want is None or got is None:
        check(where + ' present', want is None and got is None,
              'expected %s, got %s' % ('none' if want is None else 'a message',
                                       'none' if got is None else 'a message'))
        return
    bad = []
    for k in MSG_FIELDS:
        w, g = want.get(k), got.get(k)
        if k in ('truncated', 'after_skip'):
            w, g = bool(w), bool(g)
        if k in ('body_length', 'body_parts', 'body_sha256') and want.get('truncated'):
            continue  # the oracle keeps no partial body
        if w != g:
            bad.append('%s: expected %r, got %r' % (k, w, g))
    for k in ('time', 'time_last'):
        if k in want and '%.6f' % got.get(k, -1) != want[k]:
            bad.append('%s: expected %s, got %r' % (k, want[k], got.get(k)))
    check(where, not bad, '; '.join(bad))


def check_capture(dissect, exp_path):
    want = json.load(open(exp_path))
    cap = os.path.join(os.path.dirname(exp_path), want['capture'])
    name = want['capture']
    rc, lines, err = run_json(shlex.split(dissect) + ['--json', '--port', str(want['port']), cap])
    check('%s: dissected (exit %d)' % (name, rc), rc in (0, 1) and lines, err.strip())
    if not lines:
        return
    conns = [o for o in lines if o['type'] == 'connection']
    check('%s: %d connections' % (name, len(want['connections'])),
          len(conns) == len(want['connections']), 'got %d' % len(conns))
    anomalies = False
    for wc in want['connections']:
        match = [c for c in conns if c['client'].rsplit(':', 1)[1] == str(wc['client_port'])]
        if len(match) != 1:
            check('%s: connection from port %d' % (name, wc['client_port']), False,
                  'found %d' % len(match))
            continue
        c = match[0]
        cid = c['conn']
        where = '%s conn %d' % (name, cid)
        check(where + ' partial=%s' % wc['partial'], c['partial'] == wc['partial'])
        for d in ('c2s', 's2c'):
            gaps = [[o['offset'], o['length']] for o in lines
                    if o['type'] == 'gap' and o['conn'] == cid and o['dir'] == d]
            check('%s %s gaps %s' % (where, d, wc['gaps'][d]), gaps == wc['gaps'][d],
                  'got %s' % gaps)
            check('%s %s skipped %d bytes' % (where, d, wc['skipped'][d]),
                  c[d]['skipped'] == wc['skipped'][d], 'got %d' % c[d]['skipped'])
            anomalies |= bool(gaps or c[d]['skipped'])
        xs = [o for o in lines if o['type'] == 'exchange' and o['conn'] == cid]
        wx = wc['exchanges']
        check('%s: %d exchanges' % (where, len(wx)), len(xs) == len(wx), 'got %d' % len(xs))
        for i, (w, g) in enumerate(zip(wx, xs), 1):
            verb = ((w['request'] or w['response'] or {}).get('args') or ['?'])[0]
            xw = '%s exchange %d (%s)' % (where, i, verb)
            check(xw + ' note', w['note'] == g.get('note'),
                  'expected %r, got %r' % (w['note'], g.get('note')))
            compare_msg(xw + ' request', w['request'], g['request'])
            compare_msg(xw + ' response', w['response'], g['response'])
            anomalies |= bool(w['note'] or (w['request'] or {}).get('truncated') or
                              (w['response'] or {}).get('truncated'))
        anomalies |= wc['partial']
    last = lines[-1]
    check('%s: clean=%s' % (name, not anomalies),
          last.get('type') == 'capture' and last.get('clean') == (not anomalies) and
          rc == (1 if anomalies else 0), 'last line %s, exit %d' % (json.dumps(last), rc))


def one_direction(sw, path, response):
    if not os.path.exists(path):
        return []
    cmd = [sw, 'dissect', '--json'] + (['--direction', 'response'] if response else []) + [path]
    _, lines, _ = run_json(cmd)
    return [o for o in lines if 'error' not in o]


def check_recording(dissect, sw, rdir):
    name = os.path.basename(os.path.normpath(rdir))
    rc, lines, err = run_json(shlex.split(dissect) + ['--json', rdir])
    check('%s: dissected (exit %d)' % (name, rc), rc in (0, 1) and lines, err.strip())
    for c in [o for o in lines if o['type'] == 'connection']:
        stem = os.path.join(rdir, c['recording'])
        reqs = one_direction(sw, stem + '.c2s', False)
        resps = one_direction(sw, stem + '.s2c', True)
        xs = [o for o in lines if o['type'] == 'exchange' and o['conn'] == c['conn']]
        got_req = [x['request'] for x in xs if x['request'] and not x['request'].get('error')]
        got_resp = [x['response'] for x in xs if x['response'] and not x['response'].get('error')]
        where = '%s %s' % (name, c['recording'])
        check(where + ': %d requests' % len(reqs), len(got_req) == len(reqs),
              'got %d' % len(got_req))
        check(where + ': %d responses' % len(resps), len(got_resp) == len(resps),
              'got %d' % len(got_resp))
        paired = all(x['request'] and x['response'] for x in xs
                     if not (x['response'] or {}).get('truncated'))
        bad = []
        for want, got in list(zip(reqs, got_req)) + list(zip(resps, got_resp)):
            for k in ('version', 'offset', 'length', 'args', 'status', 'body_length',
                      'body_sha256'):
                if want.get(k) != got.get(k):
                    bad.append('%s %d %s: %r != %r' % (want['kind'], want['index'], k,
                                                       want.get(k), got.get(k)))
        check(where + ': same messages as the one-direction dissector', not bad,
              '; '.join(bad[:5]))
        check(where + ': every complete answer paired with a request', paired)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dissect', required=True)
    ap.add_argument('--smartwire')
    ap.add_argument('mode', choices=['captures', 'recordings'])
    ap.add_argument('paths', nargs='+')
    a = ap.parse_args()
    if a.mode == 'captures':
        exps = sorted(glob.glob(os.path.join(a.paths[0], '*.expect.json')))
        check('expectation files found', len(exps) > 0, a.paths[0])
        for e in exps:
            check_capture(a.dissect, e)
    else:
        for d in a.paths:
            check_recording(a.dissect, a.smartwire, d)
    print('%d failure(s)' % len(FAILS))
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
