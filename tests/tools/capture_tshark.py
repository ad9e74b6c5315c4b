#!/usr/bin/env python3
"""Parity with Wireshark: what tshark's bzr dissector (packet-bzr.c) and
ours see of every v3 message of the committed captures.

  capture_tshark.py --dissect BIN [--tshark TSHARK] DIR

For each capture DIR/NAME.pcap[ng] (its server port read from
NAME.expect.json) it runs

  tshark -r FILE -d tcp.port==PORT,bzr -T pdml

and takes each bzr PDU: its direction (from the TCP ports), its protocol
version line, the length of its bencoded headers, and its parts after the
headers ('o' with the result byte, 's' and 'b' with their length prefixes),
which are every field the dissector exposes (bzr.protocol_version,
bzr.bencode.length, bzr.kind, bzr.result, bzr.bytes.length).  Our side is
`BIN --json`: each message's version, "header_length" and "parts".  The
two sequences of each direction of each connection are aligned in order.

Our side must equal the bytes exactly: every complete v3 message found in
the capture's bytes (its own reassembly, pcaplib.py: each captured byte at
its offset; then each v3 marker framed by a 30-line framer below,
independent of both dissectors), in order, with the same parts.  tshark is
run with tcp.reassemble_out_of_order on, and each of its differences from
the bytes is allowed only as one of the documented Wireshark bugs
(docs/dissect.md, "Wireshark's bzr dissector"), each established from the
bytes:

  V12_AS_V3     a Malformed Packet in a direction where the bytes hold
                v1/v2 messages: packet-bzr.c reads every message as v3
  V12_SWALLOWS  a v3 message tshark does not show after a v1/v2 message of
                the same direction (read as v3, it announced a huge length)
  SPLIT_PREFIX  a frame ending inside a 4-byte length prefix (header or
                part) of a message in the bytes: get_bzr_pdu_len reads past
                its data instead of asking for one more segment, the PDU is
                lost, and tshark misframes what follows in that direction
  TCP_DUPLICATE a Malformed Packet on a frame that only repeats bytes
                captured before, identical (a retransmission)
  NO_PDU        a message of the bytes tshark does not show, in a capture
                missing bytes (gap, mid-way start): no resynchronisation
  MISFRAMED     a tshark PDU that is not a message of the bytes, same cause
  OUT_OF_ORDER_DEFAULT
                with the default preferences (out-of-order reassembly off)
                tshark loses PDUs after a segment that came out of order

Anything else fails: a v3 message both see with different parts, or one
where the bytes side with tshark.  Exits 1 with a clear message when tshark
is missing (apt-get install tshark).  Standard library only.
"""
import argparse
import glob
import json
import os
import shutil
import struct
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'data',
                                'captures'))
import pcaplib as P  # noqa: E402

M3 = b'bzr message 3 (bzr 1.6)\n'
FAILS = []
ALLOWED = {}


def check(what, ok, detail=''):
    print('%s %s%s' % ('ok  ' if ok else 'FAIL', what, '' if ok else '\n     ' + detail))
    if not ok:
        FAILS.append(what)


def allow(kind, what):
    ALLOWED[kind] = ALLOWED.get(kind, 0) + 1
    print('allowed (%s) %s' % (kind, what))


# ---- tshark ---------------------------------------------------------------

def tshark_pdus(tshark, path, port, prefs=()):
    """({(client_port, dir): [pdu]}, {(client_port, dir): [frame numbers]}):
    each bzr PDU ({'version', 'header_length', 'parts'}) and the frames
    where tshark reported a malformed packet."""
    p = subprocess.run([tshark, '-r', path, '-d', 'tcp.port==%d,bzr' % port] + list(prefs) +
                       ['-T', 'pdml'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        raise SystemExit('tshark failed on %s: %s' % (path, p.stderr.decode()))
    out = {}
    malformed = {}
    for packet in ET.fromstring(p.stdout).iter('packet'):
        sport = dport = number = None
        for f in packet.iter('field'):
            if f.get('name') == 'tcp.srcport':
                sport = int(f.get('show'))
            elif f.get('name') == 'tcp.dstport':
                dport = int(f.get('show'))
            elif f.get('name') == 'frame.number':
                number = int(f.get('show'))
        key = (sport, 'c2s') if dport == port else (dport, 's2c')
        for proto in packet.findall('proto'):
            if proto.get('name') == '_ws.malformed':
                malformed.setdefault(key, []).append(number)
            if proto.get('name') != 'bzr':
                continue
            items = []
            version = None
            for f in proto.iter('field'):
                name, value = f.get('name'), f.get('value') or ''
                if name == 'bzr.protocol_version':
                    version = bytes.fromhex(value) if value else f.get('show').encode()
                elif name == 'bzr.bencode.length':
                    items.append(['s', int(value, 16)])
                elif name == 'bzr.bytes.length':
                    items.append(['b', int(value, 16)])
                elif name == 'bzr.kind':
                    k = chr(int(value, 16))
                    if k == 'o':
                        items.append(['o', None])
                elif name == 'bzr.result':
                    items.append(['r', chr(int(value, 16))])
            # The first bencode is the headers; 'o' is followed by its byte.
            header = items.pop(0)[1] if items and items[0][0] == 's' else None
            parts = []
            for it in items:
                if it[0] == 'r' and parts and parts[-1] == 'o:?':
                    parts[-1] = 'o:' + it[1]
                elif it[0] == 'o':
                    parts.append('o:?')
                elif it[0] in 'sb':
                    parts.append('%s:%d' % tuple(it))
            out.setdefault(key, []).append({'version': version, 'header_length': header,
                                            'parts': parts})
    return out, malformed


def capture_bytes(path, port):
    """{(client_port, dir): [(offset, bytes)]}: the data runs of each
    direction, from the simplest possible reassembly (pcaplib: each captured
    byte at its offset), independent of both dissectors."""
    linktype, frames = P.read_capture(path)
    out, bases = {}, {}
    for c in P.reassemble(linktype, frames, port):
        for d, h in c['halves'].items():
            out[(c['client_port'], d)] = [(r[1], r[2]) for r in P.runs(h) if r[0] == 'data']
            bases[(c['client_port'], d)] = h.base
    return out, bases


def prefixes(runs):
    """Stream ranges of every 4-byte length prefix of the v3 messages in
    the bytes (headers, structures, bytes parts)."""
    out = []
    for off, data in runs:
        at = data.find(M3)
        while at >= 0:
            pos = at + len(M3)
            out.append((off + pos, off + pos + 4))
            if len(data) >= pos + 4:
                pos += 4 + struct.unpack('>I', data[pos:pos + 4])[0]
                while pos < len(data) and data[pos:pos + 1] in (b's', b'b', b'o'):
                    if data[pos:pos + 1] == b'o':
                        pos += 2
                        continue
                    out.append((off + pos + 1, off + pos + 5))
                    if len(data) < pos + 5:
                        break
                    pos += 5 + struct.unpack('>I', data[pos + 1:pos + 5])[0]
            at = data.find(M3, at + 1)
    return out


# ---- an independent v3 framer ---------------------------------------------

def frame_v3(data, off, marker):
    """(header_length, parts) of the v3 message at data[off:], or None."""
    pos = off
    if marker:
        if data[pos:pos + len(M3)] != M3:
            return None
        pos += len(M3)
    if len(data) < pos + 4:
        return None
    hlen, = struct.unpack('>I', data[pos:pos + 4])
    pos += 4 + hlen
    parts = []
    while pos < len(data):
        k = data[pos:pos + 1]
        pos += 1
        if k == b'e':
            return hlen, parts
        if k == b'o':
            parts.append('o:' + chr(data[pos]))
            pos += 1
        elif k in (b's', b'b'):
            n, = struct.unpack('>I', data[pos:pos + 4])
            parts.append('%s:%d' % (k.decode(), n))
            pos += 4 + n
        else:
            return None
    return None


# ---- comparison -----------------------------------------------------------

def ours(dissect, path, port):
    p = subprocess.run(shlex.split(dissect) + ['--json', '--port', str(port), path], stdout=subprocess.PIPE,
                       timeout=300)
    lines = [json.loads(x) for x in p.stdout.decode().splitlines() if x]
    client = {o['conn']: int(o['client'].rsplit(':', 1)[1]) for o in lines
              if o['type'] == 'connection'}
    stats = {}
    for o in lines:
        if o['type'] == 'connection':
            for d in ('c2s', 's2c'):
                stats[(client[o['conn']], d)] = o[d]
    out = {}
    for o in lines:
        if o['type'] != 'exchange':
            continue
        for d, key in (('c2s', 'request'), ('s2c', 'response')):
            m = o[key]
            if m:
                out.setdefault((client[o['conn']], d), []).append(m)
    for k in out:
        out[k].sort(key=lambda m: m['offset'])
    return out, stats


def truth(runs):
    """Every complete v3 message in the captured bytes: each marker found,
    framed from there."""
    out = []
    for off, data in runs:
        at = data.find(M3)
        while at >= 0:
            framed = frame_v3(data, at, True)
            if framed:
                out.append((off + at, framed[0], framed[1]))
            at = data.find(M3, at + 1)
    return out


def key_of(x):
    return (x['header_length'], tuple(x['parts']))


def compare(name, key, mine, theirs, runs, damaged, split):
    """Ours against the bytes (must be equal), then tshark against the
    bytes (differences classified).  `split`: tshark lost the thread of this
    direction at a segment boundary inside a length prefix."""
    where = '%s port %d %s' % (name, key[0], key[1])
    real = truth(runs)
    ours3 = [m for m in mine if m['version'] == 3 and not m.get('truncated')]
    got = [(m['offset'], m['header_length'], tuple(m['parts'])) for m in ours3]
    want = [(o, h, tuple(p)) for o, h, p in real]
    check('%s: our %d v3 messages are the ones in the bytes' % (where, len(want)), got == want,
          'ours %s\n     bytes %s' % (got[:4], want[:4]))
    pending = [(o, h, p) for o, h, p in want]
    v12_at = [m['offset'] for m in mine if m['version'] != 3]
    others = sorted({m['version'] for m in mine if m['version'] != 3})
    for t in theirs:
        if t['version'] != M3:
            if split:
                allow('SPLIT_PREFIX', '%s: after losing the thread, tshark takes %r... for '
                      'a version line' % (where, t['version'][:24]))
            elif others:
                allow('V12_AS_V3', '%s: tshark dissects a v%s message (%r...) as v3 framing' % (
                    where, '/'.join(map(str, others)), t['version'][:24]))
            elif damaged:
                allow('MISFRAMED', '%s: after bytes missing from the capture, tshark takes '
                      '%r... for the start of a message' % (where, t['version'][:16]))
            else:
                check('%s: tshark PDU %r' % (where, t['version'][:24]), False,
                      'a non-v3 PDU in a v3 stream without damage')
            continue
        k = key_of(t)
        keys = [(h, p) for _, h, p in pending]
        if k in keys:
            # Messages the bytes hold before this one and tshark skipped.
            i = keys.index(k)
            for o, h, p in pending[:i]:
                missed(where, o, h, p, damaged, v12_at, split)
            pending = pending[i + 1:]
            check('%s: %s' % (where, ' '.join(t['parts'])), True)
        elif split or damaged:
            allow('SPLIT_PREFIX' if split else 'MISFRAMED',
                  '%s: tshark PDU %s %s is not a message of the captured bytes' % (
                      where, t['header_length'], ' '.join(t['parts'])))
        else:
            check('%s: tshark PDU %s %s' % (where, t['header_length'], t['parts']), False,
                  'not a message of the captured bytes, and the capture has no damage')
    for o, h, p in pending:
        missed(where, o, h, p, damaged, v12_at, split)


def missed(where, off, h, parts, damaged, v12_at, split):
    if split:
        allow('SPLIT_PREFIX', '%s: message at %d (%s) lost by tshark after a segment boundary '
              'inside a length prefix' % (where, off, ' '.join(parts)))
    elif any(v < off for v in v12_at):
        allow('V12_SWALLOWS', '%s: message at %d (%s) not shown by tshark: an earlier v1/v2 '
              'message read as v3 announced a length that swallowed it' % (
                  where, off, ' '.join(parts)))
    elif damaged:
        allow('NO_PDU', '%s: message %s %s of the bytes not shown by tshark (after bytes '
              'missing from the capture)' % (where, h, ' '.join(parts)))
    else:
        check('%s: message %s %s shown by tshark' % (where, h, ' '.join(parts)), False,
              'tshark misses a message of an undamaged capture')


def duplicate_frame(path, number):
    """True if frame `number` only repeats bytes an earlier frame of the same
    direction carried, identical (a retransmission)."""
    lt, frames = P.read_capture(path)
    s = P.Seg(lt, frames[number - 1])
    for fr in frames[:number - 1]:
        try:
            e = P.Seg(lt, fr)
        except ValueError:
            continue
        if (e.src, e.sport, e.dst, e.dport) != (s.src, s.sport, s.dst, s.dport):
            continue
        d = (s.seq - e.seq) % 2**32
        if s.payload and d + len(s.payload) <= len(e.payload) and \
                e.payload[d:d + len(s.payload)] == s.payload:
            return True
    return False


def frame_end(path, number, base):
    """Stream offset just after the payload of frame `number`."""
    lt, frames = P.read_capture(path)
    s = P.Seg(lt, frames[number - 1])
    return (s.seq + (1 if s.flags & P.Seg.SYN else 0) - base) % 2**32 + s.wire_payload


def classify_malformed(name, path, key, numbers, mine, damaged, runs, base):
    """Explains each frame tshark reports malformed; returns True if one was
    a segment boundary inside a length prefix (tshark loses the thread)."""
    where = '%s port %d %s' % (name, key[0], key[1])
    others = sorted({m['version'] for m in mine if m['version'] != 3})
    split = False
    pre = prefixes(runs)
    for n in numbers:
        end = frame_end(path, n, base) if base is not None else None
        inside = [p for p in pre if end is not None and p[0] < end < p[1]]
        if inside:
            split = True
            allow('SPLIT_PREFIX', '%s: frame %d ends at stream offset %d, inside the length '
                  'prefix at %d-%d: tshark reads past its data (Malformed Packet) instead of '
                  'asking for one more segment' % (where, n, end, inside[0][0], inside[0][1]))
        elif duplicate_frame(path, n):
            allow('TCP_DUPLICATE', '%s: frame %d repeats bytes already captured, identical; '
                  'tshark reports a reassembly error ("New fragment overlaps old data")' % (
                      where, n))
        elif others:
            allow('V12_AS_V3', '%s: frame %d: tshark raises an exception reading a v%s '
                  'message as v3 (Malformed Packet)' % (where, n, '/'.join(map(str, others))))
        elif damaged:
            allow('MISFRAMED', '%s: frame %d: Malformed Packet after bytes missing from the '
                  'capture' % (where, n))
        else:
            check('%s: frame %d not malformed' % (where, n), False,
                  'tshark reports a malformed packet in an undamaged v3 stream')
    return split


OUT_OF_ORDER = ['-o', 'tcp.reassemble_out_of_order:TRUE']


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--dissect', required=True)
    ap.add_argument('--tshark', default='tshark')
    ap.add_argument('dir')
    a = ap.parse_args()
    tshark = shutil.which(a.tshark)
    if not tshark:
        print('FAIL tshark not found: the parity test with Wireshark needs it '
              '(apt-get install tshark)')
        return 1
    exps = sorted(glob.glob(os.path.join(a.dir, '*.expect.json')))
    check('captures found', bool(exps), a.dir)
    for e in exps:
        want = json.load(open(e))
        name = want['capture']
        path = os.path.join(a.dir, name)
        port = want['port']
        mine, stats = ours(a.dissect, path, port)
        data, bases = capture_bytes(path, port)
        # Damaged: bytes missing from the capture, or a mid-way start.
        damaged = any(c['partial'] or c['gaps']['c2s'] or c['gaps']['s2c']
                      for c in want['connections'])
        # tshark with out-of-order reassembly on: every difference must be
        # explained by the bytes.
        theirs, malformed = tshark_pdus(tshark, path, port, OUT_OF_ORDER)
        split = {key: classify_malformed(name, path, key, numbers, mine.get(key, []), damaged,
                                         data.get(key, []), bases.get(key))
                 for key, numbers in sorted(malformed.items())}
        for key in sorted(set(mine) | set(theirs) | set(data)):
            compare(name, key, mine.get(key, []), theirs.get(key, []), data.get(key, []),
                    damaged, split.get(key, False))
        # tshark as installed (tcp.reassemble_out_of_order is off by
        # default): what it loses more comes from segments out of order.
        plain, _ = tshark_pdus(tshark, path, port)
        for key in sorted(theirs):
            left = [key_of(t) for t in plain.get(key, [])]
            lost = 0
            for t in theirs[key]:
                if key_of(t) in left:
                    left.remove(key_of(t))
                else:
                    lost += 1
            if not lost:
                continue
            where = '%s port %d %s' % (name, key[0], key[1])
            if stats.get(key, {}).get('out_of_order'):
                allow('OUT_OF_ORDER_DEFAULT', '%s: with default preferences tshark loses %d '
                      'PDU(s) after a segment out of order' % (where, lost))
            else:
                check(where + ': default preferences', False,
                      'tshark loses %d PDU(s) without segments out of order' % lost)
    print('allowed differences: %s' % (json.dumps(ALLOWED, sort_keys=True) or 'none'))
    print('%d failure(s)' % len(FAILS))
    return 1 if FAILS else 0


if __name__ == '__main__':
    sys.exit(main())
