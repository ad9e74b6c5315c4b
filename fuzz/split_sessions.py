#!/usr/bin/python3
"""Write the fuzz seed corpora and dictionaries.

Run from anywhere with /usr/bin/python3 (it needs python3-breezy):

    /usr/bin/python3 fuzz/split_sessions.py

1. Cuts the captured `brz serve --inet` streams corpus/sessions/*.req
   (client to server) and *.resp (server to client) into single messages,
   using Breezy's own decoders to find where each one ends
   (ProtocolThreeDecoder for v3 messages, LengthPrefixedBodyDecoder and
   ChunkedBodyDecoder for v1/v2 bodies) and the framing rules of
   protocol-reference section 1-2 for the rest (version markers, status and
   tuple lines; a v1/v2 request has a body when Breezy's handler for its verb
   reads one, a response when the bytes after its tuple line are a complete
   body).
2. Derives the seeds of every target from those messages (v3 headers and
   structures for bencode, bodies for the body decoders, readv bodies for
   readv, each request's start for detect) and adds hand-written edge cases
   (protocol-reference vectors and each malformed-input class).
3. Writes corpus/<target>/<sha1 of the file> = message + the fdp.h control
   trailer, in three flavours per message: the all-zero trailer (one byte
   per feed, no fault), a trailer with mixed chunk sizes that fails the
   first allocation once, and one that fails the second persistently.  The
   target-specific variant byte is set per seed (fuzz/codec_v12.c etc.).
4. Writes corpus/<target>.dict (libFuzzer/AFL dictionary format): markers,
   status and body keywords, bencode tokens, Breezy's verbs and error names.

Existing files are kept (the corpus also holds merged fuzzing finds); the
names are content hashes, so re-running is idempotent.
"""
import hashlib
import os
import re
import struct
import sys

from breezy.bzr.smart import protocol, request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, 'corpus')

M3 = b'bzr message 3 (bzr 1.6)\n'
REQ2 = b'bzr request 2\n'
RESP2 = b'bzr response 2\n'
H3 = b'\x00\x00\x00\x1cd16:Software version5:3.3.2e'

CHUNKS = 8  # SW_FUZZ_CHUNKS in fuzz/fdp.h


def trailer(plan=0, fail_at=0, variant=0, chunks=(0,) * CHUNKS):
    """The fdp.h control trailer.  It is read backwards from the last byte:
    plan, fail_at (low byte first), variant, then chunks[0..7]."""
    tail = bytes([plan, fail_at & 0xff, fail_at >> 8, variant]) + bytes(chunks)
    return tail[::-1]


FLAVOURS = [
    dict(),                                               # per byte, no fault
    dict(plan=1, fail_at=0, chunks=(6, 0, 2, 30, 1, 0, 11, 255)),   # 1st fails once
    dict(plan=2, fail_at=1, chunks=(2, 4, 0, 8, 16, 1, 3, 63)),     # 2nd+ fail
]

TARGETS = ['bencode', 'v3_request', 'v3_response', 'v12_request', 'v12_response',
           'body_prefixed', 'body_chunked', 'detect', 'readv']


class Seeds:
    def __init__(self):
        self.by_target = {t: set() for t in TARGETS}  # target -> {(payload, variant)}

    def add(self, target, payload, variant=0):
        self.by_target[target].add((bytes(payload), variant))

    def write(self):
        total = 0
        for target, seeds in self.by_target.items():
            d = os.path.join(CORPUS, target)
            os.makedirs(d, exist_ok=True)
            for payload, variant in sorted(seeds):
                for fl in FLAVOURS:
                    data = payload + trailer(variant=variant, **fl)
                    name = hashlib.sha1(data).hexdigest()
                    with open(os.path.join(d, name), 'wb') as f:
                        f.write(data)
                    total += 1
            print('%-14s %4d messages' % (target, len(seeds)))
        print('wrote %d files' % total)


# ---- splitting the captured streams ------------------------------------

class Recorder:
    """A v3 message handler that keeps the raw payloads we want as seeds."""

    def __init__(self):
        self.ended = False
        self.error = None
        self.structures = []
        self.bytes_parts = []

    def headers_received(self, headers):
        pass

    def byte_part_received(self, byte):
        pass

    def bytes_part_received(self, data):
        self.bytes_parts.append(data)

    def structure_part_received(self, structure):
        self.structures.append(structure)

    def end_received(self):
        self.ended = True

    def protocol_error(self, exc):
        self.error = exc


def v3_payloads(msg):
    """The bencoded payloads (headers, structures) of one v3 message,
    sliced out of the wire bytes by the framing."""
    out = []
    pos = len(M3) if msg.startswith(M3) else 0
    n, = struct.unpack('>L', msg[pos:pos + 4])
    out.append(msg[pos + 4:pos + 4 + n])
    pos += 4 + n
    while msg[pos:pos + 1] != b'e':
        kind = msg[pos:pos + 1]
        if kind == b'o':
            pos += 2
            continue
        n, = struct.unpack('>L', msg[pos + 1:pos + 5])
        if kind == b's':
            out.append(msg[pos + 5:pos + 5 + n])
        pos += 5 + n
    return out


def take_v3(stream):
    """Length of the v3 message (marker included) at the start of stream."""
    rec = Recorder()
    dec = protocol.ProtocolThreeDecoder(rec, expect_version_marker=True)
    dec.accept_bytes(stream)
    if not rec.ended or rec.error is not None:
        raise ValueError('incomplete v3 message: %r' % stream[:60])
    return len(stream) - len(dec.unused_data), rec


def take_line(stream):
    i = stream.index(b'\n')
    return stream[:i + 1]


def take_prefixed(stream):
    """Length of a complete length-prefixed body at the start, or None."""
    if not re.match(rb'[0-9]+\n', stream):
        return None
    dec = protocol.LengthPrefixedBodyDecoder()
    dec.accept_bytes(stream)
    if not dec.finished_reading:
        return None
    return len(stream) - len(dec.unused_data)


def take_chunked(stream):
    if not stream.startswith(b'chunked\n'):
        return None
    dec = protocol.ChunkedBodyDecoder()
    dec.accept_bytes(stream)
    if not dec.finished_reading:
        return None
    return len(stream) - len(dec.unused_data)


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


def split_requests(stream, seeds, verbs, name):
    while stream:
        if stream.startswith(M3):
            try:
                n, rec = take_v3(stream)
            except ValueError:
                n, rec = resync(stream, name), None
            msg = stream[:n]
            if rec is None:
                seeds.add('v3_request', msg[len(M3):])
                stream = stream[n:]
                continue
            seeds.add('v3_request', msg[len(M3):])
            seeds.add('detect', msg)
            for p in v3_payloads(msg):
                seeds.add('bencode', p)
            if rec.structures and rec.structures[0][:1] == (b'readv',):
                seeds.add('readv', b''.join(rec.bytes_parts))
        else:
            version = 2 if stream.startswith(REQ2) else 1
            pos = len(REQ2) if version == 2 else 0
            line = take_line(stream[pos:])
            pos += len(line)
            args = line[:-1].split(b'\x01')
            body = None
            if args[0] in verbs:
                blen = take_prefixed(stream[pos:])
                if blen is None:
                    raise ValueError('missing request body after %r' % line)
                body = stream[pos:pos + blen]
                seeds.add('body_prefixed', body)
                if args[0] == b'readv':
                    seeds.add('readv', body[body.index(b'\n') + 1:-len(b'done\n')])
                pos += blen
            msg = stream[:pos]
            # Variant (codec_v12.c): bit 0 version 2, bits 1-2 = 3 ("as
            # Breezy": the verb decides), bit 4 marker in the input.
            if version == 2:
                seeds.add('v12_request', msg[len(REQ2):], 1 | 6)
                seeds.add('v12_request', msg, 1 | 6 | 0x10)
            else:
                seeds.add('v12_request', msg, 6)
            seeds.add('detect', msg)
        stream = stream[len(msg):]


def resync(stream, what):
    """A v3 message that Breezy cannot decode (see corpus/README.md: the
    capture rewrote server paths without fixing length prefixes): keep the
    bytes up to the next marker as an error-path seed and go on from there."""
    nxt = stream.find(M3, 1)
    n = nxt if nxt > 0 else len(stream)
    print('warning: %s: undecodable v3 message kept as is: %r'
          % (what, stream[:n][-40:]), file=sys.stderr)
    return n


def split_responses(stream, seeds, name):
    while stream:
        if stream.startswith(M3):
            try:
                n, rec = take_v3(stream)
            except ValueError:
                n, rec = resync(stream, name), None
            msg = stream[:n]
            if rec is None:
                seeds.add('v3_response', msg)
                stream = stream[n:]
                continue
            seeds.add('v3_response', msg)
            for p in v3_payloads(msg):
                seeds.add('bencode', p)
        else:
            version = 2 if stream.startswith(RESP2) else 1
            pos = 0
            if version == 2:
                pos = len(RESP2)
                status = take_line(stream[pos:])
                if status not in (b'success\n', b'failed\n'):
                    raise ValueError('bad v2 status %r' % status)
                pos += len(status)
            pos += len(take_line(stream[pos:]))
            mode = 0
            blen = take_chunked(stream[pos:])
            if blen is not None:
                mode = 2
                seeds.add('body_chunked', stream[pos:pos + blen])
            else:
                blen = take_prefixed(stream[pos:])
                if blen is not None:
                    mode = 1
                    seeds.add('body_prefixed', stream[pos:pos + blen])
            pos += blen or 0
            msg = stream[:pos]
            # Variant (codec_v12.c): the body mode found, declared up front.
            variant = (1 if version == 2 else 0) | (mode << 1)
            seeds.add('v12_response', msg, variant)
            if version == 2:
                seeds.add('v12_response', msg[len(RESP2):], variant | 0x10)
        stream = stream[len(msg):]


# ---- hand-written edge cases -------------------------------------------

def v3(parts, marker=True, headers=H3):
    return (M3 if marker else b'') + headers + b''.join(parts) + b'e'


def s(payload):
    return b's' + struct.pack('>L', len(payload)) + payload


def b(payload):
    return b'b' + struct.pack('>L', len(payload)) + payload


def edge_cases(seeds):
    # bencode: the strictness rules of smartwire/bencode.h.  Variant: 0 =
    # default limits, else depth 1 + (v & 15), elements 1 + 8 * (v >> 4).
    for x in [b'i0e', b'i-1e', b'i9223372036854775807e', b'i-9223372036854775808e',
              b'i9223372036854775808e', b'i03e', b'i-0e', b'ie', b'i1', b'0:', b'01:a',
              b'-1:a', b'4:abc', b'le', b'de', b'dex', b'd1:b0:1:a0:e', b'd1:a0:1:a0:e',
              b'di1e0:e', b'd1:ae', b'l' * 33 + b'e' * 33, b'li1ei2ee', b'x', b'',
              b'd16:Software version1:91:a1:b1:zi1ee', b'l5:error9:Exception5:Boom!e']:
        seeds.add('bencode', x)
    seeds.add('bencode', b'llleee', 0x01)         # depth 2: too deep
    seeds.add('bencode', b'l1:a1:b1:c1:d1:e1:f1:g1:h1:ie', 0x12)  # 17 elements max

    # v3 (protocol-reference 3.x and test_smart_transport.py).
    empty_hdr = b'\x00\x00\x00\x02de'
    reqs = [
        v3([s(b'l5:helloe')], False, empty_hdr),
        v3([s(b'l3:put4:/new0:e'), b(b'aaa'), b'oE', s(b'l5:errore')], False),
        v3([s(b'l7:one arge'), b(b'chunk 1'), b(b'chunk two')], False,
           b'\x00\x00\x00\x1fd11:header name12:header valuee'),
        v3([s(b'l5:readv10:/readvfilee'), b(b'3,3\n0,2')], False),
        v3([s(b'l3:getee'), b(b'')], False),
        v3([], False, empty_hdr),
        v3([s(b'l3:foo3:bare')], False, b'\x00\x00\x00\x02le'),   # headers not a dict
        v3([b'x'], False),                                        # bad kind
        v3([s(b'')], False),                                      # empty structure
        v3([s(b'l3:fooe') + b'junk'], False),
        H3 + b's\xff\xff\xff\xff',                                # huge prefix
        H3 + b'b\x00\x01\x00\x00abc',                             # truncated part
    ]
    for r in reqs:
        seeds.add('v3_request', r)
        seeds.add('v3_request', r, 0x80)                          # tiny limits
    seeds.add('v3_request', reqs[1], 3)                           # 3rd event aborts
    resps = [
        v3([b'oS', s(b'l2:ok1:2e')]),
        v3([b'oS', s(b'l4:argse'), b(b'aaa'), b(b'bbb'), b'oE',
            s(b'l5:error9:Exception5:Boom!e')], True, empty_hdr),
        v3([b'oE', s(b'l13:UnknownMethod3:fooe')]),
        v3([b'oS', s(b'l2:oke'), b(b'Some bytes\n'), b(b'More bytes')]),
        b'bzr message 2 (bzr 1.6)\n' + H3,                        # bad marker
        b'bzr response 2\nsuccess\nok\n',                         # v2 answer
        M3[:10],
    ]
    for r in resps:
        seeds.add('v3_response', r)
        seeds.add('v3_response', r, 0x80)
    seeds.add('v3_response', resps[1], 5)

    # Length-prefixed bodies (variant bit 7: tiny limits).
    for x in [b'0\ndone\n', b'7\nabcdefgdone\n', b' 7\nabcdefgdone\n', b'+7\nabcdefgdone\n',
              b'7\r\nabcdefgdone\n', b'0_7\nabcdefgdone\n', b'-1\ndone\n', b'x\n',
              b'\n', b'7\nabcdefgdonX\n', b'7\nabcdefgdone\nexcess', b'9' * 70 + b'\n',
              b'18446744073709551616\n', b'17\ncontents\nof\nfile\ndone\n']:
        seeds.add('body_prefixed', x)
        seeds.add('body_prefixed', x, 0x80)

    # Chunked bodies (protocol-reference 2.5).
    for x in [b'chunked\nEND\n', b'chunked\n9\nchunk one9\nchunk twob\nchunk threeEND\n',
              b'chunked\n0\n5\nchunkEND\n',
              b'chunked\nb\nfirst chunkERR\nb\nFailureNameb\nfailure argEND\n',
              b'chunked\n4\naaaaERR\na\nerror arg14\narg2END\n',
              b'chunked\nERR\n1\naERR\n1\nbEND\n', b'chunked\n0x3\nabcEND\n',
              b'chunked\n 1F \n' + b'x' * 31 + b'END\n', b'chunked\n-1\n', b'chunked\nzz\n',
              b'chunkex\n', b'chunked\n' + b'f' * 70 + b'\n', b'chunked\nEND\nexcess']:
        seeds.add('body_chunked', x)
        seeds.add('body_chunked', x, 0x80)

    # v1/v2 messages (protocol-reference 1.3, 2.2, 2.3, 2.5).  Variant bits
    # as in codec_v12.c: 1 = v2, (mode << 1), 0x10 marker option, 0x80 tiny.
    for x, v in [(b'hello\n', 0), (b'\n', 0), (b'foo\x01bar\n', 0),
                 (b'foo\n7\nabcdefgdone\n', 2), (b'readv\x01/readvfile\n7\n3,3\n0,2done\n', 6),
                 (b'put\x01/new\x01\n4\ndatadone\n', 6), (b'get\x01/testfile\n', 6),
                 (b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 0), (b'hello', 0),
                 (b'method-name\x01arg 1\x01arg 2\n', 1),
                 (b'bzr request 2\nfoo\n7\nabcdefgdone\n', 1 | 2 | 0x10),
                 (b'bzr request 3\nhello\n', 1 | 0x10),
                 (b'a\x01b\x01c\x01d\x01e\n', 0x80), (b'x' * 40 + b'\n', 0x80),
                 (b'foo\n7\nabcdefgdone\n', 2 | 8), (b'foo\n', 4)]:
        seeds.add('v12_request', x, v)
    for x, v in [(b'bzr response 2\nsuccess\nok\x012\n', 1),
                 (b'bzr response 2\nfailed\nx\n', 1),
                 (b'bzr response 2\nsuccess\nok\nchunked\n4\n12343\n567END\n', 1 | 4),
                 (b'bzr response 2\nsuccess\nok\nchunked\n4\naaaaERR\na\nerror arg14\narg2END\n',
                  1 | 4 | 8),
                 (b'bzr response 2\nsuccess\nok\n17\ncontents\nof\nfile\ndone\n', 1 | 6),
                 (b'bzr response 2\nfailed\nNoSuchFile\x01/srv/x/nope\n', 1 | 6),
                 (b'bzr response 2\nsuccesS\n', 1), (b'bzr response 3\n', 1),
                 (b"error\x01Generic bzr smart protocol error: bad request 'foo'\n", 6),
                 (b'NoSuchFile\x01/srv/x/nope\n', 6), (b'readv\n5\n34501done\n', 2),
                 (b'ok\n', 4), (b'success\nok\n', 1 | 0x10),
                 (b'bzr response 2\nsuccess\nok\nchunked\n' + b'a' * 70, 1 | 4 | 0x80)]:
        seeds.add('v12_response', x, v)

    # Version detection (protocol-reference 1.2).
    for x in [b'', b'abc\n', b'bzr request 2\n', b'bzr request 2 \n', b'bzr request 2',
              b'bzr message 3 (bzr 1.6)\nextra bytes', b'bzr request 2\nextra bytes',
              b'bzr message 3 (bzr 1.6', b'bzr\n', b'\n', b'bzr message 3 (bzr 1.7)\n',
              b'bzr response 2\n']:
        seeds.add('detect', x)

    # readv bodies (protocol-reference 2.7; variant = max_ranges).
    for x in [b'', b'1,2', b'10,40\n0,5', b'1,2\n3,4\n100,200', b'\n\n1,2\n\n', b' 3,+3\r',
              b'1_0,2', b'1,2,3', b'1', b'-1,2', b'18446744073709551616,1', b'a,b']:
        seeds.add('readv', x)
    seeds.add('readv', b'1,2\n3,4\n5,6', 2)                       # over max_ranges


# ---- dictionaries ------------------------------------------------------

def dict_line(i, token):
    esc = ''.join(chr(c) if 0x20 <= c < 0x7f and c not in (0x22, 0x5c) else '\\x%02x' % c
                  for c in token)
    return 'kw%d="%s"\n' % (i, esc)


ERROR_NAMES = [b'NoSuchFile', b'FileExists', b'DirectoryNotEmpty', b'ShortReadvError',
               b'ReadOnlyError', b'ReadError', b'PermissionDenied', b'LockContention',
               b'TokenMismatch', b'InvalidURL', b'MemoryError', b'UnknownMethod', b'error',
               b'norepository', b'nobranch', b'NoSuchRevision', b'nosuchrevision',
               b'UnicodeEncodeError', b'UnicodeDecodeError', b'UnlockableTransport',
               b'LockFailed', b'NotStacked']
BENCODE = [b'i0e', b'i-1e', b'le', b'de', b'0:', b'1:', b'e', b'i', b'l', b'd',
           b'16:Software version', b'5:3.3.2', b'd16:Software version5:3.3.2e']
MARKERS = [M3, REQ2, RESP2]
V12 = [b'success\n', b'failed\n', b'chunked\n', b'ERR\n', b'END\n', b'done\n', b'\x01',
       b'0\n', b'0x', b'ok', b'ok\x012\n']
V3 = [H3, b'\x00\x00\x00\x02de', b'oS', b'oE', b'e', b's\x00\x00\x00', b'b\x00\x00\x00',
      b'\x00\x00\x00\x00', b'\xff\xff\xff\xff']


def write_dicts(verbs):
    all_verbs = sorted(request.request_handlers.keys())
    common = MARKERS + [b'\n']
    per = {
        'bencode': BENCODE + [b'%d:%s' % (len(v), v) for v in all_verbs[:40]],
        'v3_request': common + V3 + BENCODE + [b'%d:%s' % (len(v), v) for v in all_verbs],
        'v3_response': common + V3 + BENCODE + [b'%d:%s' % (len(e), e) for e in ERROR_NAMES]
                       + [b'l2:oke'],
        'v12_request': common + V12 + all_verbs,
        'v12_response': common + V12 + ERROR_NAMES,
        'body_prefixed': [b'done\n', b'\n', b'0\n', b' ', b'+', b'-', b'_', b'\r'],
        'body_chunked': [b'chunked\n', b'ERR\n', b'END\n', b'\n', b'0\n', b'0x', b'f\n',
                         b' ', b'+', b'-', b'_'],
        'detect': common + [b'bzr ', b'message 3', b'request 2', b' (bzr 1.6)'],
        'readv': [b',', b'\n', b'0,0', b'1,2\n', b' ', b'+', b'_', b'\r',
                  b'18446744073709551615'],
    }
    for target, tokens in per.items():
        seen, lines = set(), []
        for t in tokens:
            if t not in seen:
                seen.add(t)
                lines.append(dict_line(len(lines), t))
        with open(os.path.join(CORPUS, target + '.dict'), 'w') as f:
            f.write('# Dictionary for fuzz_%s (generated by fuzz/split_sessions.py).\n'
                    % target)
            f.writelines(lines)


def main():
    verbs = body_verbs()
    seeds = Seeds()
    sessions = os.path.join(CORPUS, 'sessions')
    for name in sorted(os.listdir(sessions)):
        with open(os.path.join(sessions, name), 'rb') as f:
            data = f.read()
        if name.endswith('.req'):
            split_requests(data, seeds, verbs, name)
        elif name.endswith('.resp'):
            split_responses(data, seeds, name)
    edge_cases(seeds)
    seeds.write()
    write_dicts(verbs)


if __name__ == '__main__':
    sys.exit(main())
