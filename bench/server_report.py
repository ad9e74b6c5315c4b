#!/usr/bin/python3
"""Merges the JSON lines of bench_server into one table and checks the
targets of issues 4 and 13.  Usage:

  server_report.py [--smartwire-note WHY] [--baseline FILE --baseline-name REV]
                   [--fscost FILE] VERIFY CEILINGS BREEZY SMARTWIRE

Each argument is a .jsonl file written by bench_server (SMARTWIRE may be
empty: smartwire serve was not measured, WHY says why; --baseline: the same
steps against `smartwire serve` built from another revision, shown as a
column with ratios; --fscost: the cost of a small get's file-system calls).
See bench/README.md, "Server benchmark", for what each row means."""

import argparse
import json

MIB = 1024 * 1024


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith('{')]


def by_bench(rows):
    return {r['bench']: r for r in rows if 'bench' in r}


def split(rows):
    """The measurements by bench, and the benches whose step failed."""
    failed = set()
    for r in rows:
        if r.get('failed'):
            failed.add(r['bench'])
    return by_bench(r for r in rows if not r.get('failed')), failed


def rate(v):
    return '-' if v is None else '{:,.0f}/s'.format(v)


def us(v):
    if v is None or v < 0:
        return '-'
    return '%.1f us' % v if v < 100 else '{:,.0f} us'.format(v)


def mbs(v):
    return '-' if v is None else '{:,.0f} MB/s'.format(v)


def mib(kib):
    return '-' if kib is None or kib < 0 else '%.1f MiB' % (kib / 1024)


def ratio(a, b):
    if a is None or b is None or b <= 0 or a < 0:
        return '-'
    x = a / b
    return '%.0fx' % x if x >= 10 else '%.2fx' % x


def get(d, bench, key):
    r = d.get(bench)
    return None if r is None else r.get(key)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--smartwire-note', default='')
    ap.add_argument('--baseline', default=None)
    ap.add_argument('--baseline-name', default='baseline')
    ap.add_argument('--fscost', default=None)
    ap.add_argument('verify')
    ap.add_argument('ceilings')
    ap.add_argument('breezy')
    ap.add_argument('smartwire')
    a = ap.parse_args()
    v = by_bench(load(a.verify)).get('verify', {})
    c = {r['server']: r for r in load(a.ceilings)}
    b, bfail = split(load(a.breezy))
    s, sfail = split(load(a.smartwire))
    base, basefail = split(load(a.baseline)) if a.baseline else ({}, set())
    echo = c.get('echo', {})
    echo_ep = c.get('echo-epoll', {})
    loop = next((r for r in load(a.ceilings) if r.get('bench') == 'stream'), {})
    down = next((r for r in load(a.ceilings) if r.get('bench') == 'download'), {})
    store = next((r for r in load(a.ceilings) if r.get('bench') == 'store'), {})
    fs = by_bench(load(a.fscost)).get('fscost', {}) if a.fscost else {}
    na = 'not available'

    print('Server benchmark: smartwire serve vs brz serve (Breezy 3.3.2) on 127.0.0.1,'
          ' one run, one C client.')
    print('Requests pre-encoded by our v3 encoder, checked against Breezy\'s client bytes:'
          ' get /testfile (%s bytes) %s; recorded get %s; recorded put %s.'
          % (v.get('get_testfile_bytes', '?'), *('identical' if v.get(k) else 'DIFFERENT'
                                                for k in ('get_testfile', 'get_recorded',
                                                          'put_recorded'))))
    if a.smartwire_note:
        print('smartwire serve: %s (%s).' % ('not available' if not s and not sfail
                                             else 'partly measured', a.smartwire_note))
    print()

    def cell(d, failed, bench, key, fmt):
        val = get(d, bench, key)
        if val is not None:
            return fmt(val)
        if bench in failed:
            return 'FAILED'
        return na if not d and not failed else '-'

    rows = []
    with_base = a.baseline is not None

    def row(title, bench, key, fmt, ceil=None, ceil_name=''):
        bv, sv, av = get(b, bench, key), get(s, bench, key), get(base, bench, key)
        r = (title, cell(b, bfail, bench, key, fmt), cell(s, sfail, bench, key, fmt),
             ratio(sv, bv))
        if with_base:
            r += (cell(base, basefail, bench, key, fmt), ratio(sv, av))
        r += ((fmt(ceil) + ' ' + ceil_name) if ceil is not None else '',
              ratio(sv, ceil) if ceil is not None else '')
        rows.append(r)

    for d in (b, s, base):
        if d.get('idle'):
            d['idle']['held'] = d['idle']['opened'] - d['idle']['closed_by_server']
    n_idle = get(s, 'idle', 'wanted') or get(b, 'idle', 'wanted') or 1000
    row('small get, 1 connection', 'small', 'req_s', rate, echo.get('req_s'), '(echo)')
    row('  server CPU / request (lower)', 'small', 'cpu_us', us, echo.get('cpu_us'), '(echo)')
    if fs.get('us') is not None and echo.get('cpu_us') is not None:
        row('    vs echo CPU + file-system calls', 'small', 'cpu_us', us,
            echo['cpu_us'] + fs['us'], '(echo+fs)')
    if fs.get('us') is not None and echo_ep.get('cpu_us') is not None:
        row('    vs epoll echo + file-system calls', 'small', 'cpu_us', us,
            echo_ep['cpu_us'] + fs['us'], '(epoll echo+fs)')
    row('  latency p50 (lower)', 'small', 'p50_us', us, echo.get('p50_us'), '(echo)')
    row('  latency p99 (lower)', 'small', 'p99_us', us, echo.get('p99_us'), '(echo)')
    row('small get, %s clients' % (get(b, 'clients', 'clients') or 8), 'clients', 'req_s', rate)
    row('  server CPU / request (lower)', 'clients', 'cpu_us', us)
    for bench in ('get', 'put'):
        size = get(s, bench, 'bytes') or get(b, bench, 'bytes') or 0
        bsize = get(b, bench, 'bytes')
        mark = (' (Breezy: %d MiB)' % (bsize // MIB)) if bsize and bsize != size else ''
        ceil = down if bench == 'get' else loop
        row('%s of %d MiB%s' % (bench, size // MIB, mark), bench, 'mb_s', mbs,
            ceil.get('mb_s'), '(loopback %s)' % ('down' if bench == 'get' else 'up'))
        if bench == 'put' and store.get('mb_s') is not None:
            row('  vs storing it, no protocol', bench, 'mb_s', mbs, store['mb_s'], '(store)')
        row('  server CPU, ms per GB (lower)', bench, 'cpu_ms_per_gb', lambda v: '%.0f ms' % v)
        row('  server peak RSS (lower)', bench, 'rss_peak_kib', mib)
        row('  server RSS before', bench, 'rss_base_kib', mib)
    row('{:,} idle connections held'.format(n_idle), 'idle', 'held', str)
    row('  served a get on each', 'idle', 'served', str)
    row('  server RSS, none open', 'idle', 'rss_base_kib', mib)
    row('  server RSS, all open and idle', 'idle', 'rss_idle_kib', mib)

    fmt_row = '%-40s %13s %15s %8s ' + ('%15s %8s ' if with_base else '') + '%27s %9s'
    names = ('measurement', 'Breezy', 'smartwire', 'sw/Brz')
    if with_base:
        names += (a.baseline_name[:15], 'sw/base')
    hdr = fmt_row % (names + ('ceiling', 'sw/ceil'))
    print(hdr)
    print('-' * len(hdr))
    for r in rows:
        print(fmt_row % r)
    print()
    if with_base:
        print('"%s": smartwire serve built from that revision, measured by the same client in'
              ' the same run.' % a.baseline_name)
    if fs:
        print('"fs": the CPU time of the file-system calls a small get makes (%s; openat2'
              ' below the root), %.2f us' % (fs.get('calls', '?'), fs['us']))
        print('in a C loop (%.2f us with openat).' % fs.get('us_openat', -1))
    print('Ceilings: "echo" is a C server that reads each %s-byte request and writes a'
          ' %s-byte response' % (echo.get('req_bytes', '?'), echo.get('resp_bytes', '?')))
    print('(the real sizes) in blocking reads, measured by the same client;'
          ' "epoll echo" the same, reading as an event-driven')
    print('server must (a non-blocking socket, epoll_wait with a timeout before each read):'
          ' the floor of a server of many connections;')
    print('"loopback up" is raw TCP on 127.0.0.1 in %s-byte writes to a C sink,'
          % loop.get('write', 65536))
    print('"loopback down" a C source\'s %s-byte writes read in %s-byte reads by the'
          ' client (the direction of a get).' % (down.get('read', 65536), down.get('read', 65536)))
    if store:
        print('"store" is the same %s-byte writes of %d MiB (the put\'s size) to a C receiver'
              ' that splices them into a new' % (store.get('write', 65536),
                                                 store.get('bytes', 0) // MIB))
        print('file on the fixture\'s file system, as smartwire stores a put\'s body: the'
              ' cost of storing, without protocol.')
    print('MB = 10^6 bytes of body per second.  RSS is VmRSS/VmHWM of the server process;'
          ' "(lower)" rows:')
    print('less is better, so a ratio under 1 favours smartwire there.')
    if b.get('idle'):
        r = b['idle']
        print('Idle connections were opened one by one (%.1f s for Breezy, %d connects retried'
              ' by the kernel: its listen backlog is 1).' % (r['open_secs'], r['retried']))
    print()
    for name, failed in (('brz serve', bfail), ('smartwire serve', sfail),
                         ('the baseline', basefail)):
        if failed:
            print('%s FAILED in: %s (the reason is printed above the table).'
                  % (name, ', '.join(sorted(failed))))
    targets(b, s, sfail, echo, loop)
    targets13(s, sfail, echo, loop, down, fs, store, echo_ep)


def verdict(ok):
    if ok is None:
        return 'not measured'
    return 'met' if ok else 'NOT MET'


def targets(b, s, sfail, echo, loop):
    """One line per target: met, NOT MET (a failed step counts as not met),
    or not measured (smartwire serve, or Breezy for a relative target, was
    not measured)."""
    print('Targets (issue 4):')

    def line(ok, text, bench=None):
        if bench is not None and bench in sfail:
            ok, text = False, text + ' [smartwire failed this step]'
        print('  [%s] %s' % (verdict(ok), text))

    def both(bench, key):
        return get(s, bench, key), get(b, bench, key)

    sv, bv = both('small', 'cpu_us')
    line(None if sv is None or bv is None else sv <= bv / 20,
         'server CPU per small request <= 1/20 of Breezy\'s: smartwire %s, Breezy %s'
         ' (limit %s)' % (us(sv), us(bv), us(bv / 20) if bv else '-'), 'small')
    sv, ev = get(s, 'small', 'req_s'), echo.get('req_s')
    line(None if sv is None or ev is None else sv >= 0.9 * ev,
         'one connection >= 90%% of the echo ceiling: smartwire %s, echo %s (%s)'
         % (rate(sv), rate(ev), '%.0f%%' % (100 * sv / ev) if sv and ev else '-'), 'small')
    sv, bv = both('clients', 'req_s')
    line(None if sv is None or bv is None else sv >= 10 * bv,
         '8 clients >= 10x Breezy\'s aggregate: smartwire %s, Breezy %s (%s)'
         % (rate(sv), rate(bv), ratio(sv, bv)), 'clients')
    lv = loop.get('mb_s')
    for bench in ('get', 'put'):
        sv = get(s, bench, 'mb_s')
        line(None if sv is None or lv is None else sv >= 0.7 * lv,
             'large %s >= 70%% of raw loopback: smartwire %s, loopback %s (%s)'
             % (bench, mbs(sv), mbs(lv), '%.0f%%' % (100 * sv / lv) if sv and lv else '-'),
             bench)
    peaks = [get(s, bench, 'rss_peak_kib') for bench in ('get', 'put')]
    peaks = [p for p in peaks if p is not None]
    line(None if not peaks else max(peaks) < 16 * 1024,
         'server RSS under 16 MiB during large transfers: smartwire peak %s (Breezy %s)'
         % (mib(max(peaks)) if peaks else '-',
            mib(max((get(b, k, 'rss_peak_kib') or -1) for k in ('get', 'put')))),
         'get' if 'get' in sfail else 'put')
    r = s.get('idle')
    ok = None if r is None else (r['opened'] == r['wanted'] and r['closed_by_server'] == 0
                                 and r['served'] == r['wanted'])
    desc = '-' if r is None else ('%d opened, %d closed by the server, %d served%s'
                                  % (r['opened'], r['closed_by_server'], r['served'],
                                     ', error: ' + r['error'] if r['error'] else ''))
    line(ok, '{:,} idle connections held: smartwire '.format(r['wanted'] if r else 1000) + desc,
         'idle')


def targets13(s, sfail, echo, loop, down, fs, store, echo_ep):
    """Issue 13's targets, judged as issue 4's are."""
    print('Targets (issue 13):')

    def line(ok, text, bench=None):
        if bench is not None and bench in sfail:
            ok, text = False, text + ' [smartwire failed this step]'
        print('  [%s] %s' % (verdict(ok), text))

    for bench, ceil, name in (('get', down, 'down'), ('put', loop, 'up')):
        sv, lv = get(s, bench, 'mb_s'), ceil.get('mb_s')
        line(None if sv is None or lv is None else sv >= 0.9 * lv,
             'large %s >= 90%% of raw loopback %s: smartwire %s, loopback %s (%s)'
             % (bench, name, mbs(sv), mbs(lv), '%.0f%%' % (100 * sv / lv) if sv and lv else '-'),
             bench)
    sv, cv = get(s, 'put', 'mb_s'), store.get('mb_s')
    if cv is not None:
        print('  [%s] (not the target: how close to the file system) put >= 90%% of the C store:'
              ' smartwire %s, store %s (%s)'
              % ('-' if sv is None else 'yes' if sv >= 0.9 * cv else 'no', mbs(sv), mbs(cv),
                 '%.0f%%' % (100 * sv / cv) if sv else '-'))
    peaks = [get(s, bench, 'rss_peak_kib') for bench in ('get', 'put')]
    peaks = [p for p in peaks if p is not None]
    line(None if not peaks else max(peaks) < 16 * 1024,
         'server RSS under 16 MiB during them: peak %s' % (mib(max(peaks)) if peaks else '-'),
         'get' if 'get' in sfail else 'put')
    sv, ev, fv = get(s, 'small', 'cpu_us'), echo.get('cpu_us'), fs.get('us')
    ok = None if sv is None or ev is None or fv is None else sv <= ev + fv
    line(ok, 'small get server CPU <= echo CPU + file-system calls: smartwire %s, echo %s +'
         ' fs %s = %s%s' % (us(sv), us(ev), us(fv), us(ev + fv) if ev is not None and fv is not
                             None else '-',
                             ' (%.2fx of it)' % (sv / (ev + fv)) if ok is not None else ''),
         'small')
    pv = echo_ep.get('cpu_us')
    if sv is not None and pv is not None and fv is not None:
        print('  [%s] (not the target: how close to an event-driven server) small get server CPU'
              ' <= epoll echo + fs: smartwire %s, %s + %s = %s (%.2fx of it)'
              % ('yes' if sv <= pv + fv else 'no', us(sv), us(pv), us(fv), us(pv + fv),
                 sv / (pv + fv)))


if __name__ == '__main__':
    main()
