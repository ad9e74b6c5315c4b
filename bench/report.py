#!/usr/bin/python3
"""Merges the JSON lines of bench_decode and breezy_decoders.py into one table
and checks the targets of issue 2.  Usage:

  report.py [--baseline BASE.jsonl --baseline-name REV] OURS.jsonl BREEZY.jsonl
            [CHECK.jsonl]

--baseline: bench_decode of another revision, run in the same session, shown
as a column (its "sum" figure) with the ratio ours/baseline.  See
bench/README.md for what each row and column means."""

import argparse
import json

FEEDS = ['whole', '65536', '4096', '7']
BODIES = ['v3_body', 'chunked', 'prefixed']
TITLES = {'v3_small': 'v3 small requests', 'v3_body': 'v3 body, 64 KiB b parts',
          'chunked': 'v2 chunked body', 'prefixed': 'length-prefixed body',
          'memcpy': 'memcpy'}
SLACK = 0.95  # "whole never slower": within 5 %, the run-to-run noise here


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.startswith('{')]


def rate(r, bench):
    return r['msgs_s'] if bench == 'v3_small' else r['mb_s']


def fmt(v, bench):
    if v is None:
        return '-'
    if bench == 'v3_small':
        return '%.0f/s' % v
    if v >= 1e6:
        return '>1 TB/s'
    return '%.0f MB/s' % v if v < 1e4 else '%.1f GB/s' % (v / 1e3)


def fmt_ratio(v):
    if v is None:
        return '-'
    if v >= 1e4:
        return '>10000x'
    return '%.0fx' % v if v >= 10 else '%.2fx' % v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--baseline', default=None)
    ap.add_argument('--baseline-name', default='baseline')
    ap.add_argument('ours')
    ap.add_argument('breezy')
    ap.add_argument('check', nargs='?')
    a = ap.parse_args()
    ours = load(a.ours)
    breezy = load(a.breezy)
    checks = load(a.check) if a.check else []
    base = load(a.baseline) if a.baseline else []
    o = {(r['bench'], r['mode'], r['feed']): r for r in ours if 'bench' in r}
    bl = {(r['bench'], r['mode'], r['feed']): r for r in base if 'bench' in r}
    b = {(r['bench'], r['feed']): r for r in breezy if 'bench' in r}
    size = next((r['input_bytes'] for r in ours if r.get('bench') == 'memcpy'), 0)
    memcpy_whole = o.get(('memcpy', 'copy', 'whole'), {}).get('mb_s')

    print('Decode throughput: smartwire (C, this tree) vs Breezy %s (Python).'
          % (breezy[0].get('breezy', '3.3.2') if breezy else '?'))
    print('MB = 10^6 bytes of INPUT (framing included) per second; best of N runs.')
    print('"sum": the callback adds up every body byte; "count": it only counts them.')
    if checks:
        same = sum(1 for c in checks if c.get('identical'))
        print('Inputs built by our encoders; %d of %d byte-identical (length + CRC-32) to the'
              ' same shapes built by Breezy\'s encoders.' % (same, len(checks)))
    print()
    wb = bool(base)
    cols = '%-24s %-6s %13s %13s %13s %-16s %9s %9s' + (' %13s %9s' if wb else '')
    names = ('benchmark', 'feed', 'ours (sum)', 'ours (count)', 'Breezy', 'Breezy input',
             'ours/Brz', '% memcpy')
    if wb:
        names += (a.baseline_name[:13], 'ours/base')
    hdr = cols % names
    print(hdr)
    print('-' * len(hdr))
    for bench in ['v3_small'] + BODIES + ['memcpy']:
        for feed in FEEDS:
            if bench == 'memcpy':
                r = o.get((bench, 'copy', feed))
                if r:
                    print('%-24s %-6s %13s' % (TITLES[bench] + ' %d MiB' % (size >> 20), feed,
                                               fmt(r['mb_s'], bench)))
                continue
            s = o.get((bench, 'sum', feed))
            c = o.get((bench, 'count', feed))
            br = b.get((bench, feed))
            if not s:
                continue
            # Breezy's handler only counts bytes, so it is compared with "count".
            mine = c or s
            ratio = rate(mine, bench) / rate(br, bench) if br else None
            pct = (100 * s['mb_s'] / memcpy_whole
                   if memcpy_whole and bench != 'v3_small' else None)
            binput = '-'
            if br:
                binput = ('%d msgs' % br['msgs'] if bench == 'v3_small'
                          else '%d MiB%s' % (br['body_bytes'] >> 20,
                                             ' (smaller)' if br['note'] else ''))
            cells = (TITLES[bench] if feed == 'whole' else '', feed, fmt(rate(s, bench), bench),
                     fmt(rate(c, bench), bench) if c else '-',
                     fmt(rate(br, bench), bench) if br else '-', binput,
                     fmt_ratio(ratio), '%.0f%%' % pct if pct is not None else '-')
            if wb:
                bs = bl.get((bench, 'sum', feed))
                cells += (fmt(rate(bs, bench), bench) if bs else '-',
                          '%.2fx' % (rate(s, bench) / rate(bs, bench)) if bs else '-')
            print(cols % cells)
    print()
    if wb:
        print('"%s": bench_decode of that revision, run right after ours; ours/base compares'
              ' the "sum" figures.' % a.baseline_name)
    print('%% memcpy: ours (sum) / memcpy of the whole body (%s). ours/Brz uses ours (count):'
          % fmt(memcpy_whole, 'memcpy'))
    print('both callbacks only count bytes.  Breezy\'s whole-buffer decoding is quadratic;')
    print('"(smaller)" rows were measured on a smaller body and would be slower at full size.')
    print()
    targets(o, b, memcpy_whole)


def verdict(ok):
    return 'met' if ok else 'NOT MET'


def targets(o, b, memcpy_whole):
    print('Targets (issue 2):')
    # 1. Small v3 messages: at least 100x Breezy's best.
    bs = [r for (bench, _), r in b.items() if bench == 'v3_small']
    if bs:
        best = max(bs, key=lambda r: r['msgs_s'])
        worst = min((o[('v3_small', 'sum', f)] for f in FEEDS[:3]
                     if ('v3_small', 'sum', f) in o), key=lambda r: r['msgs_s'])
        x = worst['msgs_s'] / best['msgs_s']
        print('  [%s] small v3 requests >= 100x Breezy\'s best: ours %.0f/s (worst of whole,'
              ' 64K, 4K: %s) = %.0fx Breezy\'s best %.0f/s (%s)'
              % (verdict(x >= 100), worst['msgs_s'], worst['feed'], x, best['msgs_s'],
                 best['feed']))
    # 2. Large bodies: at least 50 % of memcpy (fed whole, 64 KiB, 4 KiB).
    if memcpy_whole:
        rows = [o[(bench, 'sum', f)] for bench in BODIES for f in FEEDS[:3]
                if (bench, 'sum', f) in o]
        if rows:
            low = min(rows, key=lambda r: r['mb_s'])
            print('  [%s] large bodies >= 50%% of memcpy (%.0f MB/s): lowest %s %s %.0f MB/s'
                  ' = %.0f%%' % (verdict(low['mb_s'] >= 0.5 * memcpy_whole), memcpy_whole,
                                 low['bench'], low['feed'], low['mb_s'],
                                 100 * low['mb_s'] / memcpy_whole))
    # 3. Whole never slower than pieces; 4. 7-byte pieces within 5x of whole.
    for bench in ['v3_small'] + BODIES:
        for mode in ('sum',):
            rows = {f: o.get((bench, mode, f)) for f in FEEDS}
            if not all(rows.values()):
                continue
            whole = rate(rows['whole'], bench)
            fastest = max(FEEDS[1:], key=lambda f: rate(rows[f], bench))
            ok = whole >= SLACK * rate(rows[fastest], bench)
            print('  [%s] %s (%s): whole %s >= pieces (fastest: %s, %s)'
                  % (verdict(ok), bench, mode, fmt(whole, bench), fastest,
                     fmt(rate(rows[fastest], bench), bench)))
            if mode == 'sum':
                slow = whole / rate(rows['7'], bench)
                print('  [%s] %s (sum): 7-byte pieces within 5x of whole per byte:'
                      ' %.1fx slower' % (verdict(slow <= 5), bench, slow))
    print('  (Judged on "sum", a consumer that reads every byte: "count" fed whole does a few'
          ' callbacks in all,\n   so its figures are noise.  "whole >= pieces" allows %d%% for'
          ' run-to-run noise.)' % round(100 * (1 - SLACK)))


if __name__ == '__main__':
    main()
