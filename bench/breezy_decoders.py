#!/usr/bin/python3
"""Decode throughput of Breezy's own decoders, the baseline of bench_decode.

Run with /usr/bin/python3 (the interpreter that has Breezy installed).  It
builds the inputs of bench/bench_decode.c with Breezy's ENCODERS:

  v3_small  N requests ProtocolThreeRequester.call(b'get', b'/testfile') with
            the client's {b'Software version': breezy.__version__} headers;
  v3_body   ProtocolThreeResponder.send_response() of a successful response
            (b'ok',) whose body_stream yields 64 KiB parts;
  chunked   protocol._send_stream() of the same 64 KiB parts;
  prefixed  SmartProtocolBase._encode_bulk_data() of the whole body;

and times Breezy's DECODERS on them (ProtocolThreeDecoder with a minimal
message handler, ChunkedBodyDecoder, LengthPrefixedBodyDecoder), fed whole and
in 65536-, 4096- and 7-byte pieces.  The pieces are cut before the clock
starts, so only accept_bytes() and draining the decoded data are timed.  Small
requests are decoded as Breezy's server does: a new decoder per message, fed
the previous one's unused_data.  Every run checks the decoded byte and message
counts, so it also shows that Breezy accepts inputs of these shapes.

Breezy re-slices its whole input buffer for every part it extracts, so large
bodies fed whole take time quadratic in their size.  Each large-body figure is
therefore measured on the largest body (doubling from 1 MiB up to the size
bench_decode uses) whose decode fits the per-run time target; the size used is
part of the output ("input_bytes", "body_bytes").  The total time is bounded by
--budget.

--check FILE compares the inputs with the "crc32" lines that
`bench_decode --crc` printed: the same shapes built here by Breezy's encoders
must have the same length and CRC-32, i.e. be byte-identical to the inputs
built by our encoders.

Output: JSON lines (--json) or a small table.
"""

import argparse
import json
import sys
import time
import zlib

import breezy
from breezy.bzr.smart import protocol, request

PART = 65536
PIECES = [0, 65536, 4096, 7]  # 0: whole
MIB = 1024 * 1024


def pattern():
    """The 64 KiB body pattern of bench_decode.c's fill_pattern()."""
    return bytes(((i * 131 + 7) >> 3) & 0xff for i in range(PART))


class _Collect:
    """A medium request / write function that keeps what the encoders write."""

    def __init__(self):
        self.out = []

    def accept_bytes(self, data):
        self.out.append(data)

    def finished_writing(self):
        pass

    def getvalue(self):
        return b''.join(self.out)


def build(bench, size, msgs):
    """The input of `bench` with a body of `size` bytes (or `msgs` requests)."""
    c = _Collect()
    if bench == 'v3_small':
        headers = {b'Software version': breezy.__version__.encode('utf-8')}
        for _ in range(msgs):
            req = protocol.ProtocolThreeRequester(c)
            req.set_headers(headers)
            req.call(b'get', b'/testfile')
        return c.getvalue()
    parts = [pattern()] * (size // PART)
    if bench == 'v3_body':
        resp = protocol.ProtocolThreeResponder(c.accept_bytes)
        resp.send_response(request.SuccessfulSmartServerResponse(
            (b'ok',), body_stream=iter(parts)))
        return c.getvalue()
    if bench == 'chunked':
        protocol._send_stream(iter(parts), c.accept_bytes)
        return c.getvalue()
    if bench == 'prefixed':
        return protocol.SmartProtocolBase()._encode_bulk_data(b''.join(parts))
    raise ValueError(bench)


class _Handler:
    """The least a ProtocolThreeDecoder message handler can do."""

    def __init__(self):
        self.bytes = 0
        self.ended = False

    def headers_received(self, headers):
        pass

    def byte_part_received(self, byte):
        pass

    def structure_part_received(self, structure):
        pass

    def bytes_part_received(self, data):
        self.bytes += len(data)

    def end_received(self):
        self.ended = True

    def protocol_error(self, exception):
        raise exception


def decode_v3(pieces):
    """Returns (body bytes, messages)."""
    h = _Handler()
    dec = protocol.ProtocolThreeDecoder(h, expect_version_marker=True)
    msgs = 0
    for buf in pieces:
        while True:
            dec.accept_bytes(buf)
            if not h.ended:
                break
            msgs += 1
            h.ended = False
            buf = dec.unused_data
            dec = protocol.ProtocolThreeDecoder(h, expect_version_marker=True)
            if not buf:
                break
    if dec.decoding_failed or dec._in_buffer_len:
        raise AssertionError('input ended inside a message')
    return h.bytes, msgs


def decode_chunked(pieces):
    dec = protocol.ChunkedBodyDecoder()
    n = 0
    for buf in pieces:
        dec.accept_bytes(buf)
        while True:
            chunk = dec.read_next_chunk()
            if chunk is None:
                break
            n += len(chunk)
    if not dec.finished_reading or dec.unused_data:
        raise AssertionError('chunked body not finished cleanly')
    return n, 1


def decode_prefixed(pieces):
    dec = protocol.LengthPrefixedBodyDecoder()
    n = 0
    for buf in pieces:
        dec.accept_bytes(buf)
        n += len(dec.read_pending_data())
    if not dec.finished_reading or dec.unused_data:
        raise AssertionError('length-prefixed body not finished cleanly')
    return n, 1


DECODERS = {'v3_small': decode_v3, 'v3_body': decode_v3,
            'chunked': decode_chunked, 'prefixed': decode_prefixed}


def split(data, piece):
    if piece == 0:
        return [data]
    return [data[i:i + piece] for i in range(0, len(data), piece)]


def timed(bench, data, piece, body, msgs):
    pieces = split(data, piece)
    t0 = time.perf_counter()
    got = DECODERS[bench](pieces)
    t = time.perf_counter() - t0
    if got != (body, msgs):
        raise AssertionError('%s: decoded %r, expected %r' % (bench, got, (body, msgs)))
    return t


def emit(args, bench, piece, data, body, msgs, best, reps, note):
    rec = {'impl': 'breezy', 'bench': bench, 'mode': 'breezy',
           'feed': str(piece) if piece else 'whole', 'input_bytes': len(data),
           'body_bytes': body, 'msgs': msgs, 'seconds': best,
           'mb_s': len(data) / best / 1e6, 'msgs_s': msgs / best, 'reps': reps,
           'note': note, 'breezy': breezy.__version__}
    if args.json:
        print(json.dumps(rec), flush=True)
    else:
        print('%-9s %-6s %10.1f MB/s %12.0f msgs/s  input %d bytes  %s'
              % (bench, rec['feed'], rec['mb_s'], rec['msgs_s'], len(data), note),
              flush=True)


def run(args):
    start = time.perf_counter()
    benches = [b for b in ('v3_small', 'v3_body', 'chunked', 'prefixed')
               if not args.only or b in args.only.split(',')]
    nconf = len(benches) * len(PIECES)
    cache = {}

    def get(bench, size):
        key = (bench, size)
        if key not in cache:
            cache.clear()  # keep one large input alive at a time
            cache[key] = build(bench, size, args.msgs)
        return cache[key]

    done = 0
    for bench in benches:
        for piece in PIECES:
            left = args.budget - (time.perf_counter() - start)
            share = max(left / (nconf - done), 0.5)
            done += 1
            if bench == 'v3_small':
                data = get(bench, 0)
                body, msgs = 0, args.msgs
                t = timed(bench, data, piece, body, msgs)
            else:
                # Grow the body until one decode takes args.target seconds.
                size = MIB
                cap = args.size_mib * MIB
                while True:
                    data = get(bench, size)
                    body, msgs = size, 1
                    t = timed(bench, data, piece, body, msgs)
                    grow = 4 if t < args.target / 8 else 2
                    if size >= cap or t >= args.target or t * grow * 2 > share:
                        break
                    size = min(cap, size * grow)
            best, reps = t, 1
            while reps < args.reps and (reps + 1) * t < share:
                best = min(best, timed(bench, data, piece, body, msgs))
                reps += 1
            note = ''
            if bench != 'v3_small' and body < args.size_mib * MIB:
                note = 'body %d MiB' % (body // MIB)
            emit(args, bench, piece, data, body, msgs, best, reps, note)


def check(args):
    """Compares Breezy-built inputs with bench_decode --crc lines."""
    ok = True
    with open(args.check) as f:
        for line in f:
            if not line.startswith('{'):
                continue
            rec = json.loads(line)
            if 'crc32' not in rec:
                continue
            data = build(rec['input'], args.size_mib * MIB, args.msgs)
            same = (len(data) == rec['input_bytes'] and zlib.crc32(data) == rec['crc32'])
            ok = ok and same
            out = {'impl': 'breezy', 'check': rec['input'], 'input_bytes': len(data),
                   'crc32': zlib.crc32(data), 'identical': same}
            print(json.dumps(out) if args.json else
                  '%-9s %s' % (rec['input'], 'identical to Breezy' if same else 'DIFFERS'),
                  flush=True)
            del data
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--json', action='store_true', help='JSON lines output')
    p.add_argument('--msgs', type=int, default=10000, help='small requests (10000)')
    p.add_argument('--size-mib', type=int, default=256,
                   help='largest body, MiB (256, as bench_decode)')
    p.add_argument('--target', type=float, default=1.0,
                   help='seconds one large-body run should take (1.0)')
    p.add_argument('--reps', type=int, default=3, help='best of this many runs (3)')
    p.add_argument('--budget', type=float, default=100.0,
                   help='seconds for all measurements together (100)')
    p.add_argument('--only', help='comma-separated benches')
    p.add_argument('--check', metavar='FILE',
                   help='compare inputs with bench_decode --crc output, then exit')
    args = p.parse_args()
    if args.check:
        sys.exit(0 if check(args) else 1)
    run(args)


if __name__ == '__main__':
    main()
