#!/usr/bin/env python3
"""A deliberately broken server for the conformance suite's self-test.

Usage: mutate.py MUTATION -- SERVER-COMMAND...

Runs SERVER-COMMAND (a correct `serve --inet`-style server: Breezy or
smartwire), relays the client's bytes to it unchanged, and rewrites the
server's output according to MUTATION before passing it on.  Each mutation
is one plausible implementation bug; the suite must fail every one of them
(run-mutants.sh checks this).  The "harmless" ones change only timing and
write sizes and must fail nothing.

Responses are rewritten one whole response at a time, however the
server's writes and the pipe split them (Breezy writes a v1/v2 body with
several writes, which a busy machine delivers as several reads): the
relay cuts the output stream at response boundaries (a v3 message's end;
a v1/v2 argument line, and the prefixed body that follows it after a get,
readv or get_bundle request).  The connection mutations and the harmless
rewrites work on the reads as they come.
`mutate.py --list` prints the mutations.
"""
import os
import re
import struct
import subprocess
import sys
import threading
import time

V3 = b'bzr message 3 (bzr 1.6)\n'
V2 = b'bzr response 2\n'


# ---- v3 parsing and re-encoding (for argument-level mutations) -------------

def bdecode_strlist(b):
    """Decodes b'l3:abc1:xe' into [b'abc', b'x'], or None."""
    if not b.startswith(b'l') or not b.endswith(b'e'):
        return None
    out, i = [], 1
    while i < len(b) - 1:
        m = re.match(rb'(\d+):', b[i:])
        if not m:
            return None
        n = int(m.group(1))
        i += len(m.group(0))
        out.append(b[i:i + n])
        i += n
    return out if i == len(b) - 1 else None


def bencode_strlist(items):
    return b'l' + b''.join(b'%d:%s' % (len(x), x) for x in items) + b'e'


def parse_v3(chunk):
    """[marker, headers, [(kind, payload)...], rest] or None."""
    if not chunk.startswith(V3) or len(chunk) < 28:
        return None
    i = 24
    (hl,) = struct.unpack('>L', chunk[i:i + 4])
    headers = chunk[i + 4:i + 4 + hl]
    i += 4 + hl
    parts = []
    while i < len(chunk):
        k = chunk[i:i + 1]
        if k == b'e':
            return [headers, parts, chunk[i + 1:]]
        if k == b'o':
            parts.append((k, chunk[i + 1:i + 2]))
            i += 2
        elif k in (b's', b'b'):
            if i + 5 > len(chunk):
                return None
            (n,) = struct.unpack('>L', chunk[i + 1:i + 5])
            parts.append((k, chunk[i + 5:i + 5 + n]))
            i += 5 + n
        else:
            return None
    return None


def encode_v3(headers, parts, rest):
    out = V3 + struct.pack('>L', len(headers)) + headers
    for k, p in parts:
        out += k + (p if k == b'o' else struct.pack('>L', len(p)) + p)
    return out + b'e' + rest


def map_args(chunk, fn):
    """Applies fn(args) -> args to the response tuple of a v1/v2/v3 chunk."""
    m = parse_v3(chunk)
    if m:
        headers, parts, rest = m
        for idx, (k, p) in enumerate(parts):
            if k == b's':
                args = bdecode_strlist(p)
                if args is not None:
                    parts[idx] = (k, bencode_strlist(fn(args)))
                break
        return encode_v3(headers, parts, rest)
    if chunk.startswith(V2):
        lines = chunk.split(b'\n', 3)
        if len(lines) >= 3:
            lines[2] = b'\x01'.join(fn(lines[2].split(b'\x01')))
            return b'\n'.join(lines)
        return chunk
    head, sep, tail = chunk.partition(b'\n')
    if not sep:
        return chunk
    return b'\x01'.join(fn(head.split(b'\x01'))) + b'\n' + tail


def map_status(chunk):
    m = parse_v3(chunk)
    if m:
        headers, parts, rest = m
        for idx, (k, p) in enumerate(parts):
            if k == b'o':
                parts[idx] = (k, b'E' if p == b'S' else b'S')
                break
        return encode_v3(headers, parts, rest)
    if chunk.startswith(V2 + b'success\n'):
        return V2 + b'failed\n' + chunk[len(V2) + 8:]
    if chunk.startswith(V2 + b'failed\n'):
        return V2 + b'success\n' + chunk[len(V2) + 7:]
    return chunk


def map_body(chunk, fn):
    """Applies fn(body) -> body to the v3 bytes parts / the v1/v2 body."""
    m = parse_v3(chunk)
    if m:
        headers, parts, rest = m
        for idx, (k, p) in enumerate(parts):
            if k == b'b' and p:
                parts[idx] = (k, fn(p))
                break
        return encode_v3(headers, parts, rest)
    mm = re.match(rb'((?:bzr response 2\n(?:success|failed)\n)?(?:ok|readv)\n)(\d+)\n', chunk, re.S)
    if mm:
        n = int(mm.group(2))
        start = mm.end()
        body = chunk[start:start + n]
        if body:
            nb = fn(body)
            return mm.group(1) + b'%d\n' % len(nb) + nb + chunk[start + n:]
    return chunk


def sub_len(chunk, pat, delta):
    """Adds delta to the u32 length right after the first match of pat."""
    i = chunk.find(pat, 24 if chunk.startswith(V3) else 0)
    if i < 0:
        return chunk
    j = i + len(pat)
    (n,) = struct.unpack('>L', chunk[j:j + 4])
    return chunk[:j] + struct.pack('>L', (n + delta) & 0xffffffff) + chunk[j + 4:]


def swap_args(a, b):
    def fn(args):
        return [b if x == a else a if x == b else x for x in args]
    return fn


def first_arg(old, new):
    def fn(args):
        if args and args[0] == old:
            return [new] + args[1:]
        return args
    return fn


def v3_part_len_le(chunk):
    m = parse_v3(chunk)
    if not m:
        return chunk
    # the first 's' part after the headers
    hl = struct.unpack('>L', chunk[24:28])[0]
    i = chunk.find(b's\x00', 28 + hl)
    if i < 0:
        return chunk
    return chunk[:i + 1] + chunk[i + 1:i + 5][::-1] + chunk[i + 5:]


def drop_v3_status(chunk):
    m = parse_v3(chunk)
    if not m:
        return chunk
    headers, parts, rest = m
    return encode_v3(headers, [p for p in parts if p[0] != b'o'], rest)


def v1_separator(chunk):
    if chunk.startswith(V3):
        return chunk
    if chunk.startswith(V2):
        lines = chunk.split(b'\n', 3)
        if len(lines) >= 3:
            lines[2] = lines[2].replace(b'\x01', b'\x02')
        return b'\n'.join(lines)
    head, sep, tail = chunk.partition(b'\n')
    return head.replace(b'\x01', b'\x02') + sep + tail


def prefixed_len(chunk):
    return re.sub(rb'^((?:bzr response 2\n(?:success|failed)\n)?(?:ok|readv)\n)(\d+)\n',
                  lambda m: m.group(1) + b'%d\n' % (int(m.group(2)) + 1), chunk, count=1)


def flip_byte(body):
    return bytes([body[0] ^ 0x01]) + body[1:]


MUTATIONS = {
    # framing, v3
    'v3-struct-len-plus1': lambda c: sub_len(c, b's', 1) if c.startswith(V3) else c,
    'v3-struct-len-minus1': lambda c: sub_len(c, b's', -1) if c.startswith(V3) else c,
    'v3-header-len-plus1': lambda c: c[:24] + struct.pack('>L', struct.unpack('>L', c[24:28])[0] + 1) + c[28:]
    if c.startswith(V3) and len(c) >= 28 else c,
    'v3-missing-end': lambda c: c[:-1] if c.startswith(V3) and c.endswith(b'e') else c,
    'v3-bad-marker': lambda c: c.replace(V3, b'bzr message 3 (bzr 1.7)\n'),
    'v3-extra-byte': lambda c: c + b'x' if c.startswith(V3) else c,
    'v3-len-little-endian': v3_part_len_le,
    'v3-no-status': drop_v3_status,
    'v3-body-short': lambda c: map_body(c, lambda b: b[:-1]) if c.startswith(V3) else c,
    # framing, v1/v2
    'v2-bad-marker': lambda c: c.replace(V2, b'bzr response 3\n'),
    'v2-no-status': lambda c: re.sub(rb'^bzr response 2\n(success|failed)\n', V2, c),
    'v1-separator': v1_separator,
    'prefixed-len-plus1': prefixed_len,
    'prefixed-bad-trailer': lambda c: c.replace(b'done\n', b'DONE\n'),
    'prefixed-body-short': lambda c: map_body(c, lambda b: b[:-1]) if not c.startswith(V3) else c,
    # meaning
    'status-swap': map_status,
    'error-name': lambda c: map_args(c, first_arg(b'NoSuchFile', b'NoSuchFil')),
    'readonly-name': lambda c: map_args(c, first_arg(b'ReadOnlyError', b'ReadonlyError')),
    'generic-error-name': lambda c: map_args(c, first_arg(b'error', b'Error')),
    'unknown-method-name': lambda c: map_args(c, first_arg(b'UnknownMethod', b'UnknownVerb')),
    'hello-version': lambda c: map_args(c, lambda a: [b'ok', b'3'] if a == [b'ok', b'2'] else a),
    'has-swap': lambda c: map_args(c, lambda a: [b'no'] if a == [b'yes'] else [b'yes'] if a == [b'no'] else a),
    'stat-mode-py2': lambda c: map_args(c, lambda a: [x.replace(b'0o', b'0') for x in a]),
    'names-drop-last': lambda c: map_args(c, lambda a: a[:-1] if a and a[0] == b'names' and len(a) > 1 else a),
    'extra-arg': lambda c: map_args(c, lambda a: a + [b'x'] if a and a[0] in (b'ok', b'yes', b'no') else a),
    'appended-offset': lambda c: map_args(c, lambda a: [a[0], b'%d' % (int(a[1]) + 1)] if len(a) == 2 and a[0] == b'appended' else a),
    'short-readv-numbers': lambda c: map_args(c, lambda a: a[:2] + [a[3], a[2]] + a[4:] if a and a[0] == b'ShortReadvError' and len(a) == 5 else a),
    'readv-data': lambda c: map_body(c, flip_byte) if b'readv' in c[:80] else c,
    'get-body-flip': lambda c: map_body(c, flip_byte),
    # connection behaviour
    'duplicate-response': lambda c: c + c,
    'close-early': 'close-early',
    'drop-response': 'drop-response',
    # harmless: same bytes, other timing
    'harmless-identity': lambda c: c,
    'harmless-rechunk': 'rechunk',
    'harmless-delay': 'delay',
}


BODY_VERBS = (b'get', b'readv', b'get_bundle')
REQUEST_LINE = re.compile(rb'(?:^|\n)(?:bzr request 2\n)?(get|readv|get_bundle)\x01')


class Framer:
    """Cuts the server's output into whole responses.

    A v3 response ends with its 'e' part.  A v1/v2 response is its argument
    line (after the v2 marker and status line), plus a prefixed body when
    the line is ok/readv and a length line follows; when the buffer ends
    right after such a line, the body is waited for only if a get, readv or
    get_bundle request is still unanswered (counted from the client's
    bytes), so a body-less answer is never held back."""

    def __init__(self):
        self.buf = b''
        self.body_requests = 0
        self.lock = threading.Lock()

    def saw_request_bytes(self, data, tail):
        n = len(REQUEST_LINE.findall(tail + data))
        n -= len(REQUEST_LINE.findall(tail))
        with self.lock:
            self.body_requests += n

    def responses(self, data):
        """Appends data; returns the complete responses now buffered."""
        self.buf += data
        out = []
        while self.buf:
            n = self._complete()
            if n is None:
                break
            out.append(self.buf[:n])
            self.buf = self.buf[n:]
        return out

    def _complete(self):
        b = self.buf
        if b.startswith(V3) or V3.startswith(b):
            m = parse_v3(b)
            if m is None:
                return None
            return len(b) - len(m[2])
        i = 0
        if b.startswith(V2) or V2.startswith(b):
            j = b.find(b'\n', len(V2))
            if j < 0:
                return None
            i = j + 1
        j = b.find(b'\n', i)
        if j < 0:
            return None
        head = b[i:j]
        end = j + 1
        if head.split(b'\x01')[0] not in (b'ok', b'readv'):
            return end
        m = re.match(rb'(\d+)\n', b[end:])
        if m is None:
            rest = b[end:]
            with self.lock:
                waiting = self.body_requests > 0
            if rest and not re.fullmatch(rb'\d+', rest):
                return end
            if not rest and not waiting:
                return end
            return None
        n = int(m.group(1))
        stop = end + m.end() + n + len(b'done\n')
        if len(b) < stop:
            return None
        with self.lock:
            self.body_requests = max(0, self.body_requests - 1)
        return stop

    def rest(self):
        b, self.buf = self.buf, b''
        return b


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == '--list':
        print('\n'.join(MUTATIONS))
        return 0
    if len(sys.argv) < 4 or sys.argv[2] != '--' or sys.argv[1] not in MUTATIONS:
        sys.stderr.write(__doc__)
        return 2
    name, cmd = sys.argv[1], sys.argv[3:]
    mut = MUTATIONS[name]
    framer = Framer() if callable(mut) else None
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

    def relay_in():
        tail = b''
        try:
            while True:
                data = os.read(0, 65536)
                if not data:
                    break
                if framer:
                    framer.saw_request_bytes(data, tail)
                    tail = (tail + data)[-32:]
                child.stdin.write(data)
        except OSError:
            pass
        try:
            child.stdin.close()
        except OSError:
            pass

    threading.Thread(target=relay_in, daemon=True).start()
    out = child.stdout.fileno()
    seen = 0
    while True:
        chunk = os.read(out, 65536)
        if not chunk:
            break
        seen += 1
        try:
            if mut == 'close-early':
                os.write(1, chunk[:max(1, len(chunk) // 2)])
                child.kill()
                os._exit(0)
            elif mut == 'drop-response':
                if seen == 1:
                    continue
                os.write(1, chunk)
            elif mut == 'rechunk':
                for i in range(len(chunk)):
                    os.write(1, chunk[i:i + 1])
            elif mut == 'delay':
                time.sleep(0.005)
                os.write(1, chunk)
            else:
                for response in framer.responses(chunk):
                    os.write(1, mut(response))
        except OSError:
            break
    if framer:
        rest = framer.rest()
        if rest:
            try:
                os.write(1, mut(rest))
            except OSError:
                pass
    child.wait()
    os._exit(0)

if __name__ == '__main__':
    sys.exit(main())
