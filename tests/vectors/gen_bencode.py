#!/usr/bin/python3
"""Generate bencode vectors from fastbencode, the decoder Breezy's v3 uses.

Each vector is an input and fastbencode.bdecode_as_tuple's reading of it:
the value in trace notation (ref/include/smartwire/format.h) on one line, or
``error`` when it raises.  Valid inputs are produced with fastbencode.bencode
from Python values, so they are canonical and our encoder must reproduce them
(the C test re-encodes every decoded value).

Left out on purpose: integers outside int64 (fastbencode accepts them,
smartwire rejects them with SW_ERR_BENCODE_BAD_INT, a documented departure
tested separately) and nesting deeper than smartwire's default depth limit.

Run with /usr/bin/python3.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import breezy_trace as bt  # noqa: E402

bt.require_breezy()

from fastbencode import bdecode_as_tuple, bencode  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

VALUES = [
    b'', b'a', b'Software version', bytes(range(256)), b'0:', b'e', b'\x00' * 10,
    0, 1, -1, 42, -42, 10, 2**31, -2**31, 2**32, 2**63 - 1, -2**63,
    [], [b''], [b'one arg'], [b'get', b'/testfile'], [b'ok', b'2'],
    [b'error', b'Exception', b'Boom!'], [[]], [[[]]], [1, [2, [3, [4]]]],
    {}, {b'Software version': b'3.3.2'}, {b'header name': b'header value'},
    {b'': b''}, {b'a': 1, b'b': [b'x'], b'z': {b'k': {}}},
    {b'a': b'', b'aa': b'', b'ab': b'', b'b': b'', b'\xff': b'', b'\x00': b''},
    {b'Software version': b'9', b'a': b'b', b'z': 1},
    [{b'k': b'v'}, b'x', -5, []],
    [b'x' * 300],
    [b'l' * 32, b'd' * 9, b'i1e', b'e'],
]

# Nesting to exactly the default depth limit (32) is valid.
deep = []
for _ in range(31):
    deep = [deep]
VALUES.append(deep)

MALFORMED = [
    b'', b'dex', b'd1:b0:1:a0:e', b'd1:a0:1:a0:e', b'i03e', b'i-0e', b'ie', b'i-e',
    b'i 1e', b'i+1e', b'i1', b'i', b'i1.0e', b'i00e', b'i-01e', b'i1x', b'3:ab',
    b'03:abc', b'00:', b'-1:a', b'+1:a', b'l', b'lee', b'x', b'di1e0:e', b'dle0:e',
    b'd1:ae', b'd1:a', b'1:', b'1', b':', b'd', b'1x:a', b' 1:a', b'le ', b'0:0:',
    b'l1:a', b'li1e', b'd0:', b'ddee', b'd0:0:0:0:e', b'lde', b'i1ei2e',
    b'4294967296:a', b'99999999999999999999999:a', b'\x00', b'l\x00e',
]


def trace_of(data):
    try:
        v = bdecode_as_tuple(data)
    except (ValueError, RecursionError):
        return "error\n"
    return bt.fmt_value(v) + "\n"


vectors = []
for v in VALUES:
    data = bencode(v)
    trace = trace_of(data)
    assert trace != "error\n", v
    vectors.append({"name": "valid " + bt.esc(data[:40]), "input": data,
                    "trace": trace, "arg": "1"})
for data in MALFORMED:
    trace = trace_of(data)
    assert trace == "error\n", data
    vectors.append({"name": "malformed " + bt.esc(data[:40]), "input": data,
                    "trace": trace, "arg": "0"})

bt.write_inc(os.path.join(HERE, "bencode_vectors.inc"), "bencode_vector", vectors,
             "gen_bencode.py")
print("%d bencode vectors" % len(vectors))
