#!/usr/bin/python3
"""Writes the expected conversations of a capture (NAME.expect.json), on
standard output, computed independently of the C code under test:

  - its own TCP reassembly, the simplest there is: every captured byte is
    placed at its stream offset (the first copy of a byte wins), and the
    offsets no frame covered are the gaps;
  - Breezy's own decoders for the messages (ProtocolThreeDecoder,
    LengthPrefixedBodyDecoder, ChunkedBodyDecoder), its version markers, and
    for v1/v2 requests its handler table (a request has a body when
    Breezy's handler for the verb reads one);
  - the documented rules of docs/dissect.md for what the capture cannot
    tell: where a stream that lost the thread starts again (the next
    version marker), whether a v1/v2 response has a body (the bytes after
    its tuple line are a complete body), and how answers are paired.

    expect.py --port PORT CAPTURE

Run with /usr/bin/python3 (python3-breezy).  tests/tools/capture_check.py
compares the output of the dissector with these files.
"""
import hashlib
import json
import os
import sys

from breezy.bzr.smart import protocol, request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcaplib as P  # noqa: E402

M3 = b'bzr message 3 (bzr 1.6)\n'
REQ2 = b'bzr request 2\n'
RESP2 = b'bzr response 2\n'


def body_verbs():
    """Verbs whose Breezy handler reads a request body (defines do_body)."""
    verbs = set()
    for key in request.request_handlers.keys():
        try:
            cls = request.request_handlers.get(key)
        except Exception:
            continue
        for klass in cls.__mro__:
            if klass is request.SmartServerRequest:
                break
            if 'do_body' in klass.__dict__:
                verbs.add(key)
                break
    return verbs


BODY_VERBS = body_verbs()


# ---- messages, with Breezy's decoders --------------------------------------

class Collect:
    """A ProtocolThreeDecoder message handler keeping the parts."""

    def __init__(self):
        self.status = None
        self.structures = []
        self.body = []
        self.ended = False

    def headers_received(self, headers):
        pass

    def byte_part_received(self, byte):
        if self.status is None and not self.body:
            self.status = byte

    def bytes_part_received(self, data):
        self.body.append(data)

    def structure_part_received(self, structure):
        self.structures.append(structure)

    def end_received(self):
        self.ended = True

    def protocol_error(self, exc):
        raise exc


def text(v):
    """A decoded bencode value as JSON sees the dissector's output (byte
    strings as strings whose code points are the byte values)."""
    if isinstance(v, bytes):
        return v.decode('latin-1')
    if isinstance(v, (list, tuple)):
        return [text(x) for x in v]
    if isinstance(v, dict):
        return {text(k): text(x) for k, x in v.items()}
    return v


def with_body(msg, parts):
    data = b''.join(parts)
    msg['body_length'] = len(data)
    msg['body_parts'] = len(parts)
    msg['body_sha256'] = hashlib.sha256(data).hexdigest()


def decode_v3(data, kind):
    """(length, msg) of the v3 message at the start of data, or (None, msg)
    when data ends inside it."""
    rec = Collect()
    dec = protocol.ProtocolThreeDecoder(rec, expect_version_marker=True)
    dec.accept_bytes(data)
    msg = {'version': 3}
    if rec.structures:
        msg['args'] = text(rec.structures[0])
    if kind == 's2c' and rec.status is not None:
        msg['status'] = 'success' if rec.status == b'S' else 'failed'
    if not rec.ended:
        return None, msg
    if rec.body:
        with_body(msg, rec.body)
    return len(data) - len(dec.unused_data), msg


def take_prefixed(rest):
    if not rest[:1].isdigit():
        return None
    dec = protocol.LengthPrefixedBodyDecoder()
    dec.accept_bytes(rest)
    if not dec.finished_reading:
        return None
    return len(rest) - len(dec.unused_data), dec.read_pending_data()


def take_chunked(rest):
    if not rest.startswith(b'chunked\n'):
        return None
    dec = protocol.ChunkedBodyDecoder()
    dec.accept_bytes(rest)
    if not dec.finished_reading:
        return None
    chunks = []
    while True:
        c = dec.read_next_chunk()
        if c is None:
            break
        chunks.append(c)
    return len(rest) - len(dec.unused_data), chunks


def decode_v12(data, kind):
    version = 1
    pos = 0
    if kind == 'c2s' and data.startswith(REQ2):
        version, pos = 2, len(REQ2)
    elif kind == 's2c' and data.startswith(RESP2):
        version, pos = 2, len(RESP2)
    msg = {'version': version}
    if kind == 's2c' and version == 2:
        nl = data.find(b'\n', pos)
        if nl < 0:
            return None, msg
        msg['status'] = 'success' if data[pos:nl + 1] == b'success\n' else 'failed'
        pos = nl + 1
    nl = data.find(b'\n', pos)
    if nl < 0:
        return None, msg
    args = data[pos:nl].split(b'\x01')
    msg['args'] = text(args)
    pos = nl + 1
    rest = data[pos:]
    if kind == 'c2s':
        if args[0] in BODY_VERBS:
            got = take_prefixed(rest)
            if got is None:
                return None, msg
            n, body = got
            with_body(msg, [body])
            pos += n
        return pos, msg
    chunked = take_chunked(rest) if version == 2 else None
    if chunked:
        n, chunks = chunked
        with_body(msg, chunks)
        return pos + n, msg
    got = take_prefixed(rest)
    if got:
        n, body = got
        with_body(msg, [body])
        pos += n
    return pos, msg


def decode_one(data, kind):
    if data.startswith(M3) or (kind == 's2c' and M3.startswith(data)):
        return decode_v3(data, kind)
    return decode_v12(data, kind)


def find_marker(data, kind, start):
    markers = [M3, REQ2 if kind == 'c2s' else RESP2]
    found = [data.find(m, start) for m in markers]
    found = [f for f in found if f >= 0]
    return min(found) if found else -1


def messages(h, kind, partial):
    """The messages of one direction, the bytes skipped, and whether the
    direction ended having lost the thread (no message since)."""
    out = []
    skipped = 0
    lost = partial
    after_skip = False
    for run in P.runs(h):
        if run[0] == 'gap':
            lost = True
            continue
        _, off, data, ts = run
        pos = 0
        if lost:
            at = find_marker(data, kind, 0)
            if at < 0:
                skipped += len(data)
                continue
            skipped += at
            pos, lost, after_skip = at, False, True
        while pos < len(data):
            n, msg = decode_one(data[pos:], kind)
            msg['offset'] = off + pos
            msg['time_ns'] = ts[pos]
            if after_skip:
                msg['after_skip'] = True
                after_skip = False
            if n is None:
                msg['truncated'] = True
                msg['length'] = len(data) - pos
                msg.pop('body_length', None)
                out.append(msg)
                break  # a gap follows (which loses the thread), or the end
            msg['length'] = n
            msg['time_last_ns'] = ts[pos + n - 1]
            out.append(msg)
            pos += n
    return out, skipped, lost or after_skip


# ---- pairing (docs/dissect.md) ---------------------------------------------

def pair(reqs, resps, lost_at_end):
    """The documented rules (docs/dissect.md): an answer pairs with the
    oldest unanswered request that started no later than it; the first
    answer found again after the answers lost the thread pairs with the
    newest such request, and the ones before it lost their answer."""
    exchanges = []
    pending = list(reqs)
    for a in resps:
        if pending and a.get('after_skip'):
            k = len(pending)
            while k > 0 and pending[k - 1]['time_ns'] > a['time_ns']:
                k -= 1
            if k == 0:
                exchanges.append((None, a, 'request not captured'))
                continue
            for r in pending[:k - 1]:
                exchanges.append((r, None, 'answer lost'))
            exchanges.append((pending[k - 1], a, None))
            pending = pending[k:]
            continue
        if pending and pending[0]['time_ns'] <= a['time_ns']:
            exchanges.append((pending.pop(0), a, None))
        else:
            exchanges.append((None, a, 'request not captured'))
    for r in pending:
        exchanges.append((r, None, 'answer lost' if lost_at_end else 'no answer'))
    return exchanges


def public(msg, base):
    if msg is None:
        return None
    out = {k: v for k, v in msg.items() if not k.endswith('_ns')}
    out['time'] = '%.6f' % ((msg['time_ns'] - base) / 1e9)
    if 'time_last_ns' in msg:
        out['time_last'] = '%.6f' % ((msg['time_last_ns'] - base) / 1e9)
    return out


def main():
    if len(sys.argv) != 4 or sys.argv[1] != '--port':
        sys.exit(__doc__)
    port, path = int(sys.argv[2]), sys.argv[3]
    linktype, frames = P.read_capture(path)
    base = frames[0].ts_ns if frames else 0
    result = {'capture': os.path.basename(path), 'port': port, 'connections': []}
    for c in P.reassemble(linktype, frames, port):
        halves = c['halves']
        gaps = {d: [[r[1], r[2]] for r in P.runs(halves[d]) if r[0] == 'gap'] for d in halves}
        reqs, skip_c, _ = messages(halves['c2s'], 'c2s', c['partial'])
        resps, skip_s, lost = messages(halves['s2c'], 's2c', c['partial'])
        ex = pair(reqs, resps, lost)
        result['connections'].append({
            'client_port': c['client_port'],
            'partial': c['partial'],
            'gaps': gaps,
            'skipped': {'c2s': skip_c, 's2c': skip_s},
            'exchanges': [{'request': public(r, base), 'response': public(a, base), 'note': n}
                          for r, a, n in ex],
        })
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
