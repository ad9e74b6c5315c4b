"""The documented departures from Breezy, each with the check of the INPUT
that justifies it (used by fuzz/diff_breezy.py).

docs/departures.md lists where smartwire answers differently from Breezy
3.3.2, and why.  A disagreement between the two decoders is one of them
only if the input really has what the departure is about: a limit really
exceeded by this input (the length prefix at our error's offset is over the
limit), a wrong byte really at that offset, an integer really outside
int64.  Our error code alone proves nothing: an unrelated bug that ends in
the same code must stay UNCLASSIFIED.

Our trace's last line is "error SW_ERR_X at N" for the streaming decoders
(N: the offset of the byte our decoder failed on, or the input's length when
it ended inside the message; fuzz/difftrace.c) and "error SW_ERR_X" for the
whole-input parsers (bencode, readv).  The checks below model just enough of
each format to find the field at that offset; every limit is our decoders'
default, the one difftrace runs them with.
"""

from fastbencode import bdecode_as_tuple

INT64_MIN, INT64_MAX, UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1

# Our decoders' default limits (the headers named in each departure).
V3_MAX_HEADER, V3_MAX_STRUCT, V3_MAX_PART = 64 << 10, 4 << 20, (1 << 32) - 1  # v3.h
V12_MAX_LINE, V12_MAX_ARGS = 1 << 20, 4096  # v12.h
PREFIXED_MAX_LINE, PREFIXED_MAX_BODY = 64, 1 << 32  # body.h
CHUNKED_MAX_LINE, CHUNKED_MAX_CHUNK = 64, 1 << 30
CHUNKED_MAX_ERR_CHUNKS, CHUNKED_MAX_ERR_BYTES = 64, 65536
BENCODE_MAX_DEPTH, BENCODE_MAX_ELEMENTS = 32, 65536  # bencode.h
READV_MAX_RANGES = 65536  # readv.h

V3_MARKER = b'bzr message 3 (bzr 1.6)\n'
V2_REQUEST_MARKER, V2_RESPONSE_MARKER = b'bzr request 2\n', b'bzr response 2\n'


def our_error(ours):
    """(name, offset or None) of our trace's error line, or (None, None)."""
    lines = ours.splitlines()
    if not lines or not lines[-1].startswith('error SW_'):
        return None, None
    words = lines[-1].split()
    if len(words) == 4 and words[2] == 'at':
        return words[1], int(words[3])
    return words[1], None


def first_wrong_byte(data, start, off, words):
    """True if data[start:off] begins one of `words` and the byte at off
    continues none of them: the first byte that makes the field wrong."""
    seen = data[start:off]
    return (off < len(data) and any(w.startswith(seen) for w in words) and
            not any(w.startswith(data[start:off + 1]) for w in words))


# ---- bencode ---------------------------------------------------------------


def bencode_facts(text):
    """What our limits see in a bencode text Breezy (fastbencode) accepts:
    {'int64': bool, 'depth': int, 'count': int}, or None if fastbencode
    refuses it too."""
    try:
        value = bdecode_as_tuple(text)
    except (ValueError, TypeError, RecursionError):
        return None
    big, depth, count = False, 0, 0
    stack = [(value, 0)]
    while stack:  # iterative: a deep value must not exhaust Python's stack
        v, d = stack.pop()
        count += 1
        if isinstance(v, int) and not isinstance(v, bool):
            big = big or not INT64_MIN <= v <= INT64_MAX
        elif isinstance(v, dict):
            depth = max(depth, d + 1)
            count += len(v)  # the keys are values too
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, (list, tuple)):
            depth = max(depth, d + 1)
            stack.extend((x, d + 1) for x in v)
    return {'int64': big, 'depth': depth, 'count': count}


def bencode_violation(code, text):
    """The fact behind a refusal of a bencode text fastbencode accepts."""
    f = bencode_facts(text)
    if f is None:
        return None
    if code == 'SW_ERR_BENCODE_BAD_INT' and f['int64']:
        return 'an integer outside int64'
    if code == 'SW_ERR_BENCODE_DEPTH' and f['depth'] > BENCODE_MAX_DEPTH:
        return 'nested %d deep' % f['depth']
    if code == 'SW_ERR_BENCODE_TOO_MANY' and f['count'] > BENCODE_MAX_ELEMENTS:
        return '%d values' % f['count']
    return None


# ---- v3 --------------------------------------------------------------------


def v3_parts(data, marker):
    """The v3 framing up to where it stops: a list of (kind, start, payload,
    length) where kind is 'headers', 'o', 's', 'b', 'e' or 'bad' (a kind byte
    that is none of them), start the part's first byte, payload the first
    byte after its length prefix (or kind byte), length the prefix's value."""
    parts, pos = [], 0
    if marker:
        if not data.startswith(V3_MARKER):
            return parts
        pos = len(V3_MARKER)
    if len(data) >= pos + 4:
        n = int.from_bytes(data[pos:pos + 4], 'big')
        parts.append(('headers', pos, pos + 4, n))
        pos += 4 + n
    else:
        return parts
    while pos < len(data):
        k = data[pos:pos + 1]
        if k == b'o':
            parts.append(('o', pos, pos + 1, 1))
            pos += 2
        elif k in (b's', b'b'):
            if len(data) < pos + 5:
                break
            n = int.from_bytes(data[pos + 1:pos + 5], 'big')
            parts.append((k.decode(), pos, pos + 5, n))
            pos += 5 + n
        elif k == b'e':
            parts.append(('e', pos, pos + 1, 0))
            break
        else:
            parts.append(('bad', pos, pos, 0))
            break
    return parts


V3_LIMIT = {'SW_ERR_HEADER_TOO_LARGE': ('headers', V3_MAX_HEADER),
            'SW_ERR_STRUCT_TOO_LARGE': ('s', V3_MAX_STRUCT),
            'SW_ERR_PART_TOO_LARGE': ('b', V3_MAX_PART)}


def v3_fact(code, data, marker, off):
    if code == 'SW_ERR_BAD_MARKER' and marker:
        return first_wrong_byte(data, 0, off, [V3_MARKER]) and 'the marker breaks at %d' % off
    parts = v3_parts(data, marker)
    for kind, start, payload, n in parts:
        if code in V3_LIMIT and V3_LIMIT[code][0] == kind and off == payload - 1:
            return n > V3_LIMIT[code][1] and 'a %s length prefix of %d' % (kind, n)
        if code == 'SW_ERR_BAD_KIND' and kind == 'bad' and off == start:
            return 'kind byte %r' % data[off:off + 1]
        if kind in ('headers', 's') and payload + n - 1 == off and payload + n <= len(data):
            text = data[payload:payload + n]
            if code == 'SW_ERR_HEADER_NOT_DICT' and kind == 'headers':
                f = bencode_facts(text)
                return f is not None and not isinstance(bdecode_as_tuple(text), dict) and \
                    'headers that are not a dict'
            if code.startswith('SW_ERR_BENCODE_'):
                if bencode_facts(text) is None:
                    return 'bencode fastbencode refuses too'
                return bencode_violation(code, text)
    return None


# ---- v1/v2 -----------------------------------------------------------------


def v12_layout(target, data, variant):
    """Where the lines of a v1/v2 message start, as our decoder sees it:
    {'marker': (start, bytes) or None, 'status': start or None, 'tuple':
    start}.  Offsets are in the protocol bytes (difftrace's too)."""
    v2 = variant & 1
    if target == 'v12_request':
        skip = len(V2_REQUEST_MARKER) if v2 and variant & 0x10 else 0
        return {'marker': None, 'status': None, 'tuple': skip}
    if not v2:
        return {'marker': None, 'status': None, 'tuple': 0}
    if variant & 0x10:  # the marker was consumed before the decoder
        return {'marker': None, 'status': 0, 'tuple': data.find(b'\n') + 1 or len(data)}
    status = len(V2_RESPONSE_MARKER)
    return {'marker': (0, V2_RESPONSE_MARKER), 'status': status,
            'tuple': data.find(b'\n', status) + 1 or len(data)}


def chunk_lines(data, start):
    """The length lines of a chunked body whose header is at start: (line
    start, its '\\n' or None, the line) each, the data between skipped."""
    pos = start + len(b'chunked\n')
    while pos <= len(data):
        nl = data.find(b'\n', pos)
        if nl < 0:
            yield pos, None, data[pos:]
            return
        line = data[pos:nl]
        yield pos, nl, line
        if line == b'END':
            return
        if line == b'ERR':
            pos = nl + 1
            continue
        try:
            n = int(line, 16)
        except ValueError:
            return
        if n < 0:
            return
        pos = nl + 1 + n


def body_fact(code, data, bs, off):
    """A fact of the body starting at bs (length-prefixed or chunked)."""
    if code == 'SW_ERR_BAD_CHUNK_HEADER':
        return first_wrong_byte(data, bs, off, [b'chunked\n']) and 'not "chunked\\n"'
    if data.startswith(b'chunked\n', bs):
        errors, err_bytes = None, 0
        for ls, nl, line in chunk_lines(data, bs):
            if code == 'SW_ERR_LINE_TOO_LONG' and ls <= off and (nl is None or off <= nl):
                return off - ls + 1 >= CHUNKED_MAX_LINE and 'a chunk length line over the limit'
            if line == b'ERR':
                errors, err_bytes = 0, 0
            elif errors is not None and nl is not None and line != b'END':
                errors += 1
                err_bytes += max(0, _int(line, 16) or 0)
            if nl != off:
                continue
            n = _int(line, 16)
            if code == 'SW_ERR_BAD_CHUNK_LENGTH':
                return ('a negative chunk length' if n is not None and n < 0 else
                        n is None and 'a chunk length that is not hex')
            if code == 'SW_ERR_CHUNK_TOO_LARGE':
                return ((n is not None and n > CHUNKED_MAX_CHUNK) or
                        err_bytes > CHUNKED_MAX_ERR_BYTES) and 'a chunk over the limit'
            if code == 'SW_ERR_TOO_MANY_ARGS':
                return errors is not None and errors > CHUNKED_MAX_ERR_CHUNKS and \
                    'too many error chunks'
        return None
    nl = data.find(b'\n', bs)
    if code == 'SW_ERR_LINE_TOO_LONG':
        return (nl < 0 or nl >= off) and off - bs + 1 >= PREFIXED_MAX_LINE and \
            'a body length line over the limit'
    if nl != off and code in ('SW_ERR_BAD_LENGTH', 'SW_ERR_BODY_TOO_LARGE'):
        return None
    n = _int(data[bs:nl], 10) if nl >= 0 else None
    if code == 'SW_ERR_BAD_LENGTH':
        return n is None and 'a body length that is not a number'
    if code == 'SW_ERR_BODY_TOO_LARGE':
        return n is not None and n > PREFIXED_MAX_BODY and 'a body length of %d' % n
    if code == 'SW_ERR_BAD_TRAILER' and n is not None:
        trailer = nl + 1 + max(n, 0)
        return trailer <= off and first_wrong_byte(data, trailer, off, [b'done\n']) and \
            'the body is not followed by "done\\n"'
    return None


def _int(text, base):
    """Python's int(), as Breezy reads lengths, or None where it raises."""
    try:
        return int(text, base)
    except ValueError:
        return None


def v12_fact(code, target, data, variant, off):
    lay = v12_layout(target, data, variant)
    if code == 'SW_ERR_BAD_MARKER' and lay['marker']:
        start, marker = lay['marker']
        return first_wrong_byte(data, start, off, [marker]) and 'the marker breaks'
    if code == 'SW_ERR_BAD_STATUS' and lay['status'] is not None:
        return first_wrong_byte(data, lay['status'], off, [b'success\n', b'failed\n']) and \
            'the status line breaks'
    ts = lay['tuple']
    nl = data.find(b'\n', ts)
    if off < ts:
        return None
    if nl < 0 or off <= nl:  # the error is in the tuple line
        if code == 'SW_ERR_LINE_TOO_LONG':
            return off - ts + 1 >= V12_MAX_LINE and 'a tuple line over the limit'
        if code == 'SW_ERR_TOO_MANY_ARGS':
            return data[ts:off + 1].count(b'\x01') + 1 > V12_MAX_ARGS and 'too many arguments'
        return None
    return body_fact(code, data, nl + 1, off)


# ---- the fact behind any error of ours ---------------------------------------


def justified(target, data, variant, ours):
    """What in the input justifies our error, as a short sentence, or None
    when nothing at our error's offset does."""
    code, off = our_error(ours)
    if code is None:
        return None
    if code == 'SW_ERR_UNEXPECTED_EOF':
        return off == len(data) and 'the input ends inside the message'
    if target == 'bencode':
        return bencode_violation(code, data)
    if target == 'readv':
        return readv_fact(code, data)
    if off is None:
        return None
    if target in ('v3_request', 'v3_response'):
        return v3_fact(code, data, target == 'v3_response', off)
    if target in ('v12_request', 'v12_response'):
        return v12_fact(code, target, data, variant, off)
    if target in ('body_prefixed', 'body_chunked'):
        return body_fact(code, data, 0, off)
    return None


def readv_fact(code, data):
    """readv.h: fields with Python int() rules; a negative or over-64-bit
    value and more ranges than the limit are refused."""
    lines = [x for x in data.split(b'\n') if x]
    if code == 'SW_ERR_LIMIT':
        return len(lines) > READV_MAX_RANGES and '%d ranges' % len(lines)
    if code != 'SW_ERR_INVALID_ARGUMENT':
        return None
    for line in lines:  # the first range our parser refuses
        fields = line.split(b',')
        values = [_int(f, 10) for f in fields] if len(fields) == 2 else [None]
        if None in values:
            return None  # not two integers: Breezy refuses it too
        if any(v < 0 or v > UINT64_MAX for v in values):
            return 'a negative or over-64-bit value in %r' % line
    return None


# ---- self-test -----------------------------------------------------------------

def _u32(n):
    return n.to_bytes(4, 'big')


_HDR0 = _u32(2) + b'de'
_BIG_HEADERS = b'd1:a70000:' + b'x' * 70000 + b'e'
_CHUNKS = b'bzr response 2\nsuccess\nok\nchunked\n4\naaaaE\xb4R\ne'

# Inputs made to hit each departure, run through both decoders: the class
# they must get.
SELF_CLASSES = [
    ('bencode', b'i9223372036854775808e', 0, 'departure:int64-bencode'),
    ('bencode', b'l' * 33 + b'e' * 33, 0, 'departure:bencode-limits'),
    ('v3_request', _HDR0 + b's' + _u32(23) + b'li9223372036854775808ee' + b'e', 0,
     'departure:int64-bencode'),
    ('v3_request', _u32(len(_BIG_HEADERS)) + _BIG_HEADERS + b'e', 0, 'departure:size-limits'),
    ('v12_request', b'x\x01' * 4097 + b'\n', 0, 'departure:size-limits'),
    ('body_chunked', b'chunked\n-1\n', 0, 'departure:negative-chunk-length'),
    ('readv', b'18446744073709551616,1', 0, 'departure:int-range'),
    ('v12_response', _CHUNKS, 0x0d, 'departure:delivered-before-error'),
]

# Inputs our decoders refuse, with the error that must be justified by them
# (the models above against the offsets difftrace really reports).
SELF_FACTS = [
    ('body_prefixed', b'3\nabcdonX', 0, 'SW_ERR_BAD_TRAILER'),
    ('v12_response', b'ok\n3\nabcdonX', 2, 'SW_ERR_BAD_TRAILER'),
    ('v12_response', b'bzr response 2\nsuccesX\nok\n', 1, 'SW_ERR_BAD_STATUS'),
    ('v12_response', b'bzr respXnse 2\n', 1, 'SW_ERR_BAD_MARKER'),
    ('v12_response', b'bzr response 2\nsuccess\nok\nchunkeX\n', 5, 'SW_ERR_BAD_CHUNK_HEADER'),
    ('v3_request', _HDR0 + b'x', 0, 'SW_ERR_BAD_KIND'),
    ('v3_response', V3_MARKER + _u32(2) + b'le' + b'e', 0, 'SW_ERR_HEADER_NOT_DICT'),
    ('v3_request', _HDR0 + b's' + _u32(5 << 20), 0, 'SW_ERR_STRUCT_TOO_LARGE'),
    ('v3_request', _HDR0 + b's' + _u32(3) + b'i5x' + b'e', 0, 'SW_ERR_BENCODE_BAD_INT'),
    ('body_prefixed', b'x\nabc', 0, 'SW_ERR_BAD_LENGTH'),
    ('body_prefixed', b'1' * 70 + b'\n', 0, 'SW_ERR_LINE_TOO_LONG'),
    ('body_prefixed', b'99999999999\n', 0, 'SW_ERR_BODY_TOO_LARGE'),
    ('body_chunked', b'chunked\n' + b'1' * 70 + b'\n', 0, 'SW_ERR_LINE_TOO_LONG'),
    ('body_chunked', b'chunked\n40000001\n', 0, 'SW_ERR_CHUNK_TOO_LARGE'),
    ('body_chunked', b'chunked\nERR\n' + b'1\nx' * 65 + b'END\n', 0, 'SW_ERR_TOO_MANY_ARGS'),
    ('body_chunked', b'chunked\nzz\n', 0, 'SW_ERR_BAD_CHUNK_LENGTH'),
    ('v12_request', b'a' * (V12_MAX_LINE + 10), 0, 'SW_ERR_LINE_TOO_LONG'),
    ('v12_request', b'get\x01/x', 0, 'SW_ERR_UNEXPECTED_EOF'),
    ('readv', b'\n'.join([b'1,1'] * (READV_MAX_RANGES + 1)), 0, 'SW_ERR_LIMIT'),
]

# The same error codes on inputs that do not justify them, as a bug of ours
# would produce them: each must stay UNCLASSIFIED.  (input, our forged trace)
SELF_FORGED = [
    ('bencode', b'i5e', 0, 'error SW_ERR_BENCODE_BAD_INT\n'),
    ('bencode', b'llee', 0, 'error SW_ERR_BENCODE_DEPTH\n'),
    ('v3_request', _HDR0 + b's' + _u32(5) + b'li5ee' + b'e', 0,
     'headers {}\nerror SW_ERR_BENCODE_BAD_INT at 15\n'),
    ('v3_request', _HDR0 + b's' + _u32(7) + b'l3:abce' + b'e', 0,
     'headers {}\nerror SW_ERR_STRUCT_TOO_LARGE at 10\n'),
    ('v3_request', _HDR0 + b'x', 0, 'error SW_ERR_BAD_KIND at 2\n'),
    ('v12_request', b'x\x01y\n', 0, 'error SW_ERR_TOO_MANY_ARGS at 2\n'),
    ('v12_response', b'bzr response 2\nsuccess\nok\n', 1, 'error SW_ERR_BAD_STATUS at 16\n'),
    ('body_prefixed', b'3\nabcdone\n', 0, 'error SW_ERR_BAD_TRAILER at 8\n'),
    ('body_chunked', b'chunked\n2\nab-1\n', 0, 'error SW_ERR_BAD_CHUNK_LENGTH at 9\n'),
    ('v12_response', _CHUNKS, 0x0d,
     'status success\nargs ["ok"]\nchunk "aaaa"\nerror SW_ERR_BAD_CHUNK_LENGTH at 35\n'),
    ('readv', b'1,2\n3,4', 0, 'error SW_ERR_INVALID_ARGUMENT\n'),
]


def self_test(run_ours, classify):
    """Checks the classifiers before they judge the corpus.  run_ours(cases)
    gives difftrace's trace for each (target, data, variant); classify(t,
    data, variant, ours) gives (class, fact).  Returns the failures."""
    bad = []
    traces = run_ours([c[:3] for c in SELF_CLASSES + SELF_FACTS])
    for (t, data, v, want), ours in zip(SELF_CLASSES, traces):
        got = classify(t, data, v, ours)[0]
        if got != want:
            bad.append('%s %r...: %s, want %s (ours: %s)' % (t, data[:30], got, want,
                                                           ours.splitlines()[-1:]))
    for (t, data, v, code), ours in zip(SELF_FACTS, traces[len(SELF_CLASSES):]):
        name = our_error(ours)[0]
        if name != code or not justified(t, data, v, ours):
            bad.append('%s %r...: %s not justified (want %s)' % (
                t, data[:30], ours.splitlines()[-1:], code))
    for t, data, v, ours in SELF_FORGED:
        got = classify(t, data, v, ours)[0]
        if got != 'UNCLASSIFIED':
            bad.append('%s %r with a forged %s: %s, want UNCLASSIFIED' % (
                t, data[:30], ours.splitlines()[-1], got))
    return bad
