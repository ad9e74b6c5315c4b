#!/usr/bin/python3
"""Seeds and dictionaries of the session, round-trip and case-file fuzz
targets (fuzz_server_session, fuzz_client_session, fuzz_roundtrip_v3,
fuzz_roundtrip_v12, fuzz_conform_case).  See fuzz/README.md.

    /usr/bin/python3 fuzz/session_seeds.py [OUTDIR]

Writes OUTDIR/<target>/<sha1> (default: fuzz/out/seeds) and
corpus/<target>.dict.  The seeds are then minimised into corpus/<target>/
with libFuzzer's -merge=1 (fuzz/README.md, "Session targets"), so this
script writes candidates, not the committed corpus.

Sources, all real traffic: corpus/sessions/*.req and *.resp (brz serve
--inet captures) and corpus/recordings/*/conn-*.c2s and .s2c (Breezy's own
clients against brz serve, recorded by `smartwire record`), the decoder
corpora of the v3 and v1/v2 targets (messages Breezy sent, cut by Breezy's
decoders in fuzz/split_sessions.py), and conformance/cases/*.case.  A few
hand-written streams add the paths the server must refuse (escapes from the
root) and the response shapes each client call reads.  Each seed is the
stream plus the 12-byte control trailer of fuzz/fdp.h, here built by
trailer(); the meaning of each field for each target is documented at the
top of its fuzz_<target>.c.
"""
import glob
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'fuzz', 'out', 'seeds')

V3 = b'bzr message 3 (bzr 1.6)\n'
HDR = b'\x00\x00\x00\x1cd16:Software version5:3.3.2e'
MIXED = (6, 0, 30, 2, 255, 1, 9, 4)


def trailer(chunks=(0,) * 8, variant=0, fail_at=0, plan=0):
    """fdp.h, written front to back: chunks[7..0], variant, fail_at high,
    fail_at low, plan (the last byte)."""
    return bytes(reversed(chunks)) + bytes([variant, (fail_at >> 8) & 255, fail_at & 255, plan])


def write(target, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), 'wb') as f:
        f.write(data)


def read(p):
    with open(p, 'rb') as f:
        return f.read()


def bstr(b):
    return b'%d:%s' % (len(b), b)


def v3_request(*args, body=None):
    s = b'l' + b''.join(bstr(a) for a in args) + b'e'
    m = V3 + HDR + b's' + len(s).to_bytes(4, 'big') + s
    if body is not None:
        m += b'b' + len(body).to_bytes(4, 'big') + body
    return m + b'e'


def v3_response(ok, *args, body=None, parts=None, err=None):
    s = b'l' + b''.join(bstr(a) for a in args) + b'e'
    m = V3 + HDR + (b'oS' if ok else b'oE') + b's' + len(s).to_bytes(4, 'big') + s
    if body is not None:
        m += b'b' + len(body).to_bytes(4, 'big') + body
    for p in parts or ():
        m += b'b' + len(p).to_bytes(4, 'big') + p
    if err is not None:
        e = b'l' + b''.join(bstr(a) for a in err) + b'e'
        m += b'oEs' + len(e).to_bytes(4, 'big') + e
    return m + b'e'


def server_seeds():
    streams = sorted(glob.glob(os.path.join(ROOT, 'corpus', 'sessions', '*.req')))
    streams += sorted(glob.glob(os.path.join(ROOT, 'corpus', 'recordings', '*', 'conn-*.c2s')))
    for i, p in enumerate(streams):
        d = read(p)
        write('server_session', d + trailer())                        # read-only, 1-byte reads
        write('server_session', d + trailer(MIXED, variant=1))        # read-write, mixed pieces
        write('server_session', d + trailer(MIXED, variant=1, fail_at=7 * i + 3, plan=1))
        io = 1 + i % 6                                                # one I/O fault each
        write('server_session', d + trailer(MIXED, variant=i & 1, fail_at=97 * i + 40,
                                            plan=io << 2))
        if len(d) < 3000:
            write('server_session', d + trailer(MIXED, variant=2 | 4 | (i & 1), plan=2,
                                                fail_at=i))
    # Every I/O fault, size kind (list, every, rand) and plan placement
    # (sw_fault_wrap or sw_fifo_pair) on the two transport recordings.
    for i, p in enumerate(sorted(glob.glob(os.path.join(
            ROOT, 'corpus', 'recordings', 'vfs-transport-v*', 'conn-*.c2s')))):
        d = read(p)
        for io in range(8):
            for sz in range(4):
                for pair in (0, 1):
                    write('server_session', d + trailer(MIXED, variant=(io + sz) & 1,
                                                        fail_at=53 * io + 11 * sz + i,
                                                        plan=io << 2 | sz << 5 | pair << 7))
    # Hand-written: what must be refused or kept inside the root.
    hand = [
        b'',
        b'hello\n',
        b'bzr request 2\nget\x01/README\n',
        b'bzr request 2\nreadv\x01/readvfile\n7\n3,3\n0,2done\n',
        v3_request(b'get', b'/../sentinel/keep'),
        v3_request(b'get', b'/escape'),
        v3_request(b'get', b'/link'),
        v3_request(b'stat', b'/d/sub'),
        v3_request(b'list_dir', b'/d'),
        v3_request(b'iter_files_recursive', b'/'),
        v3_request(b'put', b'/../outside', b'', body=b'x'),
        v3_request(b'put', b'/escape', b'', body=b'x'),
        v3_request(b'mkdir', b'/../sentinel/new', b''),
        v3_request(b'rename', b'/README', b'/../moved'),
        v3_request(b'move', b'/d', b'/%2E%2E/d'),
        v3_request(b'delete', b'/../sentinel/keep'),
        v3_request(b'rmdir', b'/emptydir'),
        v3_request(b'append', b'/d/a.txt', b'', body=b'more'),
        v3_request(b'put_non_atomic', b'/new/dir/f', b'', b'T', b'', body=b'data'),
        v3_request(b'readv', b'/readvfile', body=b'0,3\n5,2'),
        v3_request(b'readv', b'/readvfile', body=b'0,300'),
        v3_request(b'Transport.is_readonly'),
        v3_request(b'no.such.verb'),
        # A put whose client gives up mid-body (abort), then one cut by EOF.
        V3 + HDR + b's\x00\x00\x00\x11l3:put6:/abortee' + b'b\x00\x00\x00\x03abc' +
        b'oEs\x00\x00\x00\x0al5:erroree',
        V3 + HDR + b's\x00\x00\x00\x10l3:put5:/halfee' + b'b\x00\x00\x01\x00abc',
    ]
    for i, d in enumerate(hand):
        write('server_session', d + trailer(MIXED, variant=1))
        write('server_session', d + trailer(variant=0, fail_at=i, plan=(1 + i % 6) << 2 | 1))


def client_seeds():
    streams = sorted(glob.glob(os.path.join(ROOT, 'corpus', 'sessions', '*.resp')))
    streams += sorted(glob.glob(os.path.join(ROOT, 'corpus', 'recordings', '*', 'conn-*.s2c')))
    for i, p in enumerate(streams):
        d = read(p)
        forced = 3 if d.startswith(V3) else 2 if d.startswith(b'bzr response 2\n') else 1
        for kind in range(8):
            # Auto negotiation and the recording's own version, twice.
            write('client_session', d[:4096] + trailer(MIXED, variant=(kind << 2) | 0x40))
            write('client_session', d[:4096] + trailer(MIXED, variant=forced | (kind << 2) | 0x40,
                                                       plan=(1 + (i + kind) % 7) << 2 | 1,
                                                       fail_at=13 * i + kind))
    # Every I/O fault, size kind and plan placement, on the transport
    # recordings' answers.
    for i, p in enumerate(sorted(glob.glob(os.path.join(
            ROOT, 'corpus', 'recordings', 'vfs-transport-v*', 'conn-*.s2c')))):
        d = read(p)[:3000]
        for io in range(8):
            for sz in range(4):
                for pair in (0, 1):
                    write('client_session', d + trailer(
                        MIXED, variant=((io + sz) % 8) << 2 | 0x40,
                        fail_at=53 * io + 11 * sz + i, plan=io << 2 | sz << 5 | pair << 7))
    # Hand-written answers for each call kind and version.
    hand = [
        (0, b'ok\x012\n'), (0, b'ok\x011\n'), (0, b'error\x01Generic\n'),
        (3, v3_response(True, b'ok', body=b'alpha\n')),
        (3, v3_response(False, b'NoSuchFile', b'/d/a.txt')),
        (3, v3_response(False, b'UnknownMethod', b'get')),
        (3, v3_response(True, b'ok', parts=[b'chunk one', b'', b'two'])),
        (3, v3_response(True, b'ok', parts=[b'chunk'], err=[b'error', b'boom'])),
        (2, b'bzr response 2\nsuccess\nok\n6\nalpha\ndone\n'),
        (2, b'bzr response 2\nfailed\nNoSuchFile\x01/d/a.txt\n'),
        (2, b'bzr response 2\nsuccess\nok\nchunked\n5\nabcde0\nEND\n'),
        (2, b'bzr response 2\nsuccess\nok\nchunked\n3\nabcERR\n5\nerror4\nboomEND\n'),
        (1, b'ok\n6\nalpha\ndone\n'),
        (1, b'NoSuchFile\x01/d/a.txt\n'),
        (1, b'error\x01Generic bzr smart protocol error: bad request \'get\'\n'),
        (3, v3_response(True, b'readv', body=b'012ef')),
        # A v2 server answering the v3 attempt: negotiation falls back.
        (0, b'bzr response 2\nfailed\nerror\x01Generic\n' +
         b'bzr response 2\nsuccess\nok\n6\nalpha\ndone\n'),
        (0, b'SSH-2.0-OpenSSH_9.0\r\n'),
    ]
    for i, (ver, d) in enumerate(hand):
        for kind in range(8):
            write('client_session', d + trailer(MIXED, variant=ver | (kind << 2) | ((i & 1) << 5)))
        write('client_session', d + trailer(variant=ver | (2 << 2) | 0x40, fail_at=i,
                                            plan=(1 + i % 7) << 2 | 2))


def roundtrip_seeds():
    for t, bit in (('v3_request', 0), ('v3_response', 1)):
        for p in sorted(glob.glob(os.path.join(ROOT, 'corpus', t, '*'))):
            d = bytearray(read(p))
            if len(d) < 12:
                continue
            d[-4] = bit
            write('roundtrip_v3', bytes(d))
    for t, resp in (('v12_request', 0), ('v12_response', 1)):
        for p in sorted(glob.glob(os.path.join(ROOT, 'corpus', t, '*'))):
            d = read(p)
            if len(d) < 12:
                continue
            v = d[-4]
            two, body = v & 1, (v >> 1) & 3
            proto = d[:-12]
            # The round trip expects the v2 marker in the stream (the
            # encoders write it); the decoder corpora often start after it.
            if two and not resp and not v & 0x10:
                proto = b'bzr request 2\n' + proto
            if two and resp and v & 0x10:
                proto = b'bzr response 2\n' + proto
            tr = bytearray(d[-12:])
            tr[-4] = two | (resp << 1) | ((1 if body == 3 else body) << 2)
            write('roundtrip_v12', proto + bytes(tr))


def conform_seeds():
    for p in sorted(glob.glob(os.path.join(ROOT, 'conformance', 'cases', '*.case'))):
        text = read(p)
        write('conform_case', text + trailer())
        for i, part in enumerate(text.split(b'\ncase ')[1:]):
            write('conform_case', b'case ' + part + b'\n' + trailer())
            for line in part.split(b'\n'):
                for word in (b'send    raw ', b'expect  raw ', b'send raw ', b'expect raw '):
                    if line.startswith(word):
                        write('conform_case', line[len(word):] + trailer(variant=1))


DICTS = {
    'server_session': [V3, b'bzr request 2\n', HDR, b's\x00\x00\x00', b'b\x00\x00\x00', b'oE',
                       b'e', b'le', b'\x01', b'done\n', b'/README', b'/d/a.txt', b'/d/sub',
                       b'/link', b'/escape', b'/emptydir', b'/../', b'%2E%2E', b'/readvfile',
                       b'3:get', b'3:put', b'5:readv', b'5:mkdir', b'6:rename', b'4:move',
                       b'6:delete', b'5:rmdir', b'6:append', b'14:put_non_atomic', b'4:stat',
                       b'8:list_dir', b'20:iter_files_recursive', b'3:has', b'5:hello',
                       b'get\x01', b'put\x01', b'readv\x01', b'mkdir\x01', b'0,3\n'],
    'client_session': [V3, b'bzr response 2\n', HDR, b'oS', b'oE', b's\x00\x00\x00',
                       b'b\x00\x00\x00', b'e', b'success\n', b'failed\n', b'chunked\n', b'END\n',
                       b'ERR\n', b'done\n', b'ok\x012\n', b'2:ok', b'5:error', b'10:NoSuchFile',
                       b'13:UnknownMethod', b'readv', b'\x01', b'0\n'],
    'roundtrip_v3': [V3, HDR, b'\x00\x00\x00\x02de', b'oS', b'oE', b's\x00\x00\x00',
                     b'b\x00\x00\x00', b'e', b'le', b'de', b'i0e', b'0:', b'l3:getee'],
    'roundtrip_v12': [b'bzr request 2\n', b'bzr response 2\n', b'success\n', b'failed\n',
                      b'\x01', b'\n', b'done\n', b'chunked\n', b'END\n', b'ERR\n', b'0\n',
                      b'get\x01', b'readv\x01'],
    'conform_case': [b'case ', b'title ', b'ref ', b'level MUST', b'level SHOULD', b'level MAY',
                     b'role client', b'tags framing', b'send ', b'expect ', b'or ', b'within ',
                     b'close', b'pause ', b'accept', b'disconnect', b'result ok', b'result error',
                     b'after file ', b'after absent ', b'after no-stray', b'after unchanged',
                     b'fixture empty', b'file ', b'dir ', b'symlink ', b'chmod ', b'remove ',
                     b'option allow-writes', b'raw ', b'v3 request ', b'v2 response ',
                     b'hex{', b'u32len{', b'repeat{', b'spart{', b'list{', b'$v3', b'$hdr',
                     b'{root}', b'\\x', b'\\\n', b'"', b'}', b'#'],
}


def esc(b):
    return ''.join(chr(c) if 0x20 <= c < 0x7f and c not in (0x22, 0x5c) else '\\x%02x' % c
                   for c in b)


def write_dicts():
    for t, words in DICTS.items():
        with open(os.path.join(ROOT, 'corpus', t + '.dict'), 'w') as f:
            f.write('# Dictionary for fuzz_%s (generated by fuzz/session_seeds.py).\n' % t)
            for i, w in enumerate(words):
                f.write('kw%d="%s"\n' % (i, esc(w)))


if __name__ == '__main__':
    server_seeds()
    client_seeds()
    roundtrip_seeds()
    conform_seeds()
    write_dicts()
    for t in sorted(os.listdir(OUT)):
        print('%s: %d candidate seed(s) in %s' % (t, len(os.listdir(os.path.join(OUT, t))),
                                                   os.path.join(OUT, t)))
