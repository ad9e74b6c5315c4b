#!/usr/bin/python3
"""Generate the protocol v3 vectors from Breezy's own code.

Decoder vectors (v3_vectors.inc): each input is fed to Breezy's
ProtocolThreeDecoder with a recording message handler.  The trace uses the
notation of ref/include/smartwire/format.h: one ``bytes`` line per bytes part
(Breezy buffers a part and reports it once; our decoder streams it, and the
C test joins the pieces per part), ``excess`` for unused_data, and a final
``error`` line when the decoder failed (protocol_error) or when the input
ends in the middle of a message (our finish() reports SW_ERR_UNEXPECTED_EOF
there; Breezy's client raises ConnectionReset).  The vector's ``arg`` is
``{expect_marker, "<next_read_size sequence>"}``: Breezy's next_read_size()
before any input and after each byte fed one at a time (stopping after a
failure), which the C test compares with ours.

Encoder vectors (v3_encode_vectors.inc): bytes written by Breezy's
ProtocolThreeRequester and ProtocolThreeResponder for named calls; the C test
builds the same messages with our encoder.  The literals of
test_smart_transport.py are asserted here against Breezy's output too.

Run with /usr/bin/python3 (Debian's python3-breezy) from any directory.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import breezy_trace as bt  # noqa: E402

bt.require_breezy()

from breezy.bzr.smart import protocol  # noqa: E402
from breezy.bzr.smart import request as _mod_request  # noqa: E402
from breezy import errors  # noqa: E402
from breezy.bzr.smart import message  # noqa: E402,F401

HERE = os.path.dirname(os.path.abspath(__file__))
M = protocol.MESSAGE_VERSION_THREE
assert M == b'bzr message 3 (bzr 1.6)\n'


class Recorder:
    """A message handler that writes every event as a trace line."""

    def __init__(self):
        self.lines = []
        self.failed = False

    def headers_received(self, headers):
        self.lines.append("headers " + bt.fmt_value(headers))

    def byte_part_received(self, byte):
        self.lines.append("byte " + bt.esc(byte))

    def structure_part_received(self, structure):
        self.lines.append("structure " + bt.fmt_value(structure))

    def bytes_part_received(self, data):
        self.lines.append("bytes " + bt.esc(data))

    def end_received(self):
        self.lines.append("end")

    def protocol_error(self, exc):
        self.failed = True


def breezy_decode(data, expect_marker, per_byte):
    rec = Recorder()
    dec = protocol.ProtocolThreeDecoder(rec, expect_version_marker=expect_marker)
    nrs = [dec.next_read_size()]
    if per_byte:
        for i in range(len(data)):
            dec.accept_bytes(data[i:i + 1])
            nrs.append(dec.next_read_size())
            if rec.failed:
                break
    else:
        dec.accept_bytes(data)
    lines = list(rec.lines)
    if rec.failed:
        lines.append("error")
    else:
        if dec.unused_data:
            lines.append("excess " + bt.esc(dec.unused_data))
        if data and dec.next_read_size() != 0:
            lines.append("error")  # end of input in the middle of a message
    return "".join(line + "\n" for line in lines), nrs


DEC = []


def dec_vector(name, data, expect_marker=True, also_bare=True):
    """Adds a decoder vector; messages starting with the marker are also
    added without it (server side, marker eaten by the medium)."""
    trace, _ = breezy_decode(data, expect_marker, False)
    trace2, nrs = breezy_decode(data, expect_marker, True)
    assert trace == trace2, (name, trace, trace2)
    DEC.append({"name": name, "input": data, "trace": trace,
                "arg": "{%d, %s}" % (expect_marker,
                                     bt.c_string(" ".join(map(str, nrs))))})
    if expect_marker and also_bare and data.startswith(M):
        dec_vector(name + " (no marker)", data[len(M):], False)


# --- Encoders, driven the way test_smart_transport.py drives them ---------

class FakeMediumRequest:
    def __init__(self):
        self.written = b''
        self._medium = 'fake medium'

    def accept_bytes(self, data):
        self.written += data

    def finished_writing(self):
        pass


def requester(headers):
    medium = FakeMediumRequest()
    req = protocol.ProtocolThreeRequester(medium)
    if headers is not None:
        req.set_headers(headers)
    return req, medium


def responder(headers=None):
    out = []
    resp = protocol.ProtocolThreeResponder(out.append)
    if headers is not None:
        resp._headers = headers
    return resp, out


def failing_stream():
    yield b'aaa'
    yield b'bbb'
    raise Exception('Boom!')


ENC = []


def enc_vector(name, data):
    ENC.append({"name": name, "input": data, "trace": ""})
    dec_vector("encoded: " + name, data)


HDR = {b'header name': b'header value'}
SV = {b'Software version': b'3.3.2'}

r, m = requester(HDR)
r.call(b'one arg')
assert m.written == (b'bzr message 3 (bzr 1.6)\n'
                     b'\x00\x00\x00\x1fd11:header name12:header valuee'
                     b's\x00\x00\x00\x0bl7:one arge' b'e')
enc_vector("call_smoke_test", m.written)

r, m = requester(HDR)
r.call_with_body_bytes((b'one arg',), b'body bytes')
assert m.written == (b'bzr message 3 (bzr 1.6)\n'
                     b'\x00\x00\x00\x1fd11:header name12:header valuee'
                     b's\x00\x00\x00\x0bl7:one arge'
                     b'b' b'\x00\x00\x00\nbody bytes' b'e')
enc_vector("call_with_body_bytes_smoke_test", m.written)

r, m = requester(HDR)
r.call_with_body_stream((b'one arg',), [b'chunk 1', b'chunk two'])
assert m.written == (b'bzr message 3 (bzr 1.6)\n'
                     b'\x00\x00\x00\x1fd11:header name12:header valuee'
                     b's\x00\x00\x00\x0bl7:one arge'
                     b'b\x00\x00\x00\x07chunk 1' b'b\x00\x00\x00\x09chunk two' b'e')
enc_vector("call_with_body_stream_smoke_test", m.written)

r, m = requester({})
r.call_with_body_stream((b'one arg',), [])
assert m.written == (b'bzr message 3 (bzr 1.6)\n' b'\x00\x00\x00\x02de'
                     b's\x00\x00\x00\x0bl7:one arge' b'e')
enc_vector("call_with_body_stream_empty_stream", m.written)

r, m = requester({})
try:
    r.call_with_body_stream((b'one arg',), failing_stream())
    raise AssertionError("stream error not raised")
except Exception as e:
    assert str(e) == 'Boom!', e
assert m.written == (b'bzr message 3 (bzr 1.6)\n' b'\x00\x00\x00\x02de'
                     b's\x00\x00\x00\x0bl7:one arge'
                     b'b\x00\x00\x00\x03aaa' b'b\x00\x00\x00\x03bbb'
                     b'oE' b's\x00\x00\x00\x09l5:errore' b'e')
enc_vector("call_with_body_stream_error", m.written)

# The real client's headers (live transcript, protocol-reference.md 3.4).
r, m = requester(SV)
r.call(b'get', b'/testfile')
assert m.written == (b'bzr message 3 (bzr 1.6)\n\x00\x00\x00\x1cd16:Software '
                     b'version5:3.3.2es\x00\x00\x00\x12l3:get9:/testfileee')
enc_vector("call_get_default_headers", m.written)

r, m = requester({})
r.call(b'hello')
enc_vector("call_hello_empty_headers", m.written)

r, m = requester({})
r.call()
enc_vector("call_no_args", m.written)

r, m = requester({})
r.call_with_body_readv_array((b'readv', b'/readvfile'), [(3, 3), (0, 2)])
assert m.written.endswith(b's\x00\x00\x00\x16l5:readv10:/readvfileeb\x00\x00\x00\x073,3\n0,2e')
enc_vector("call_with_body_readv_array", m.written)

r, m = requester({})
r.call_with_body_bytes((b'put', b'/new', b''), b'')
enc_vector("call_with_empty_body_bytes", m.written)

# Several headers given out of order: bencode sorts the keys.
r, m = requester({b'z': b'1', b'Software version': b'3.3.2', b'a': b'', b'': b'x'})
r.call(b'hello')
enc_vector("call_unsorted_headers", m.written)

r, out = responder()
r.send_error(errors.UnknownSmartMethod(b'method name'))
data = b''.join(out)
assert data.endswith(b'oE' b's\x00\x00\x00\x20l13:UnknownMethod11:method namee' b'e')
enc_vector("send_error_unknown_method", data)

r, out = responder()
r.send_error(Exception('An exception string.'))
enc_vector("send_error_exception", b''.join(out))

r, out = responder({})
r.send_response(_mod_request.SuccessfulSmartServerResponse(
    (b'args',), body_stream=failing_stream()))
data = b''.join(out)
interrupted_body_stream = (b'oS' b's\x00\x00\x00\x08l4:argse'
                           b'b\x00\x00\x00\x03aaa' b'b\x00\x00\x00\x03bbb' b'oE'
                           b's\x00\x00\x00\x1bl5:error9:Exception5:Boom!e' b'e')
assert data == M + b'\x00\x00\x00\x02de' + interrupted_body_stream
enc_vector("send_broken_body_stream", data)

r, out = responder()
r.send_response(_mod_request.SuccessfulSmartServerResponse((b'ok', b'2')))
assert b''.join(out) == (M + b'\x00\x00\x00\x1cd16:Software version5:3.3.2e'
                         b'oSs\x00\x00\x00\tl2:ok1:2ee')
enc_vector("send_response_hello", b''.join(out))

r, out = responder()
r.send_response(_mod_request.SuccessfulSmartServerResponse(
    (b'ok',), body=b'contents\nof\nfile\n'))
enc_vector("send_response_with_body", b''.join(out))

r, out = responder()
r.send_response(_mod_request.SuccessfulSmartServerResponse((b'ok',), body=b''))
enc_vector("send_response_with_empty_body", b''.join(out))

r, out = responder()
r.send_response(_mod_request.FailedSmartServerResponse((b'NoSuchFile', b'/srv/x/nope')))
enc_vector("send_failed_response", b''.join(out))

r, out = responder()
r.send_response(_mod_request.SuccessfulSmartServerResponse(
    (b'ok',), body_stream=iter([b'chunk one', b'', b'chunk three'])))
enc_vector("send_response_body_stream", b''.join(out))

r, out = responder()
r.send_response(_mod_request.SuccessfulSmartServerResponse(
    (b'ok',), body_stream=iter([b'aaa', _mod_request.FailedSmartServerResponse(
        (b'error', b'stream failed'))])))
enc_vector("send_response_body_stream_failed_chunk", b''.join(out))

# --- Decoder vectors from test_smart_transport.py and the live transcripts -

E = b'\x00\x00\x00\x02de'  # empty headers
SVH = b'\x00\x00\x00\x1cd16:Software version5:3.3.2e'

dec_vector("test_trivial_request", E + b'e', expect_marker=False)
dec_vector("test_repeated_excess", E + b'e' + b'aaa' + b'bbb', expect_marker=False)
dec_vector("test_decode_one_byte", E + b'ox' + b'e', expect_marker=False)
dec_vector("test_decode_bytes", E + b'b\0\0\0\x07payload' + b'e', expect_marker=False)
dec_vector("test_decode_structure", E + b's\0\0\0\x07l3:ARGe' + b'e', expect_marker=False)
dec_vector("test_decode_multiple_bytes",
           E + b'b\0\0\0\x05first' b'b\0\0\0\x06second' + b'e', expect_marker=False)
dec_vector("test_trivial_response_decoding", M + E + b'oS' b's\0\0\0\x02le' b'e')
dec_vector("test_incomplete_message",
           M + E + b'oS' b's\0\0\0\x02le' b'b\0\0\0\x04BODY' b'e')
dec_vector("test_read_response_tuple_raises_UnknownSmartMethod",
           M + E + b'oE' b's\0\0\0\x20l13:UnknownMethod11:method-namee' b'e')
dec_vector("test_read_response_tuple_error",
           M + E + b'oE' b's\0\0\0\x1al9:first arg10:second arge' b'e')
dec_vector("interrupted_body_stream", M + E + interrupted_body_stream)
dec_vector("test_interrupted_by_connection_lost",
           M + E + b'oS' b's\0\0\0\x02le' b'b\0\0\xff\xffincomplete chunk')
dec_vector("test_multiple_bytes_parts",
           M + E + b'oS' b's\0\0\0\x02le'
           b'b\0\0\0\x0bSome bytes\n' b'b\0\0\0\x0aMore bytes' b'e')
dec_vector("test_error_flag_after_body",
           E + b's\0\0\0\x07l3:fooe' b'b\0\0\0\x0bSome bytes\n'
           b'b\0\0\0\x0aMore bytes' b'oE' b's\0\0\0\x07l3:bare' b'e', expect_marker=False)
dec_vector("test_non_conventional_request", M + E + b'oX' b'oX' b'e')
dec_vector("test_version_three_server (no status byte)",
           M + E + b's\0\0\0\x13l14:response valueee')
dec_vector("version_three_server request",
           M + E + b's\x00\x00\x00\x1el11:method-name5:arg 15:arg 2ee')

# Live transcripts (protocol-reference.md 3.1, 3.4 and 10).
dec_vector("live get request",
           M + SVH + b's\x00\x00\x00\x12l3:get9:/testfileee')
dec_vector("live get response",
           M + SVH + b'oSs\x00\x00\x00\x06l2:okeb\x00\x00\x00\x11contents\nof\nfile\ne')
dec_vector("live hello request", M + E + b's\x00\x00\x00\tl5:helloee')
dec_vector("live hello response", M + SVH + b'oSs\x00\x00\x00\tl2:ok1:2ee')
dec_vector("live get /nope", M + SVH + b'oEs\x00\x00\x00\x1dl10:NoSuchFile11:/srv/x/nopeee')
dec_vector("live readv request",
           M + E + b's\x00\x00\x00\x16l5:readv10:/readvfileeb\x00\x00\x00\x073,3\n0,2e')
dec_vector("live readv response", M + SVH + b'oSs\x00\x00\x00\tl5:readveb\x00\x00\x00\x0534501e')
dec_vector("live stat response", M + SVH + b'oSs\x00\x00\x00\x16l4:stat2:178:0o100666ee')
dec_vector("live put (ro) request", M + E + b's\x00\x00\x00\x12l3:put4:/new0:eb\x00\x00\x00\x04datae')
dec_vector("live put (ro) response", M + SVH + b'oEs\x00\x00\x00\x12l13:ReadOnlyErroree')
dec_vector("live put with oE after body",
           M + E + b's\x00\x00\x00\x12l3:put4:/new0:eb\x00\x00\x00\x03aaaoEs\x00\x00\x00\tl5:erroree')
dec_vector("live ok response", M + SVH + b'oSs\x00\x00\x00\x06l2:okee')
dec_vector("live get directory ReadError", M + SVH + b'oEs\x00\x00\x00\x12l9:ReadError3:diree')
dec_vector("live wrong arg count",
           M + SVH + b"oEs\x00\x00\x00Xl5:error9:TypeError65:GetRequest.do() missing 1 "
           b"required positional argument: 'relpath'ee")
dec_vector("live list_dir root",
           M + SVH + b'oSs\x00\x00\x005l5:names8:emptydir8:testfile9:readvfile3:dir6:branchee')
dec_vector("live iter_revisions request",
           M + E + b's\x00\x00\x00(l25:Repository.iter_revisions8:/branch/eb\x00\x00\x00'
           b'-t@example.com-20000101000000-5s1wokvib3yw18cze')
dec_vector("live PermissionDenied",
           M + SVH + b"oEs\x00\x00\x00Wl16:PermissionDenied13:/srv/x/secret47:: [Errno 13] "
           b"Permission denied: '/srv/x/secret'ee")
dec_vector("live protocol error reply",
           M + SVH + b"oEs\x00\x00\x00Fl5:error58:Generic bzr smart protocol error: "
           b"Bytes b'xx' not bencodedee")
dec_vector("headers with several keys and an int",
           M + b'\x00\x00\x00\x26d16:Software version1:91:a1:b1:zi1ee' + b's\0\0\0\x02le' b'e')
dec_vector("structure not a list", M + E + b's\x00\x00\x00\x053:abc' b'e')
dec_vector("structure nested", M + E + b's\x00\x00\x00\x15l1:ali-7ei0ed1:kle0:ee' b'e')
dec_vector("empty structure", M + E + b's\x00\x00\x00\x02le' b'e')
dec_vector("empty bytes part", M + E + b'b\x00\x00\x00\x00' b'e')
dec_vector("binary bytes part", M + E + b'b\x00\x00\x00\x06\x00\xff\ne"\\' b'e')
dec_vector("hello with an extra bytes part",
           M + E + b's\x00\x00\x00\tl5:helloe' b'b\x00\x00\x00\x03xyz' b'e')
dec_vector("live eof inside args", M + E + b's\x00\x00\x00\x10l5:he')
dec_vector("message then next message", M + E + b'e' + M + E + b'e')
dec_vector("done then junk", M + E + b'oSs\x00\x00\x00\x02lee' + b'XYZ')

# Malformed input.
dec_vector("bad marker first byte", b'Xzr message 3 (bzr 1.6)\n' + E + b'e')
dec_vector("bad marker v2 response", b'bzr response 2\nsuccess\nok\x012\n')
dec_vector("bad marker v1 response", b'ok\x012\n')
dec_vector("bad marker last byte", b'bzr message 3 (bzr 1.6)X' + E + b'e')
dec_vector("bad marker http", b'HTTP/1.1 400 Bad Request\r\n\r\n')
dec_vector("truncated marker", b'bzr message 3')
dec_vector("headers not bencoded", M + b'\x00\x00\x00\x02xx' + b's\0\0\0\x02le' b'e')
dec_vector("headers not a dict (list)", M + b'\x00\x00\x00\x02le' + b'e')
dec_vector("headers not a dict (string)", M + b'\x00\x00\x00\x030:x' + b'e')
dec_vector("headers not a dict (string exact)", M + b'\x00\x00\x00\x020:' + b'e')
dec_vector("headers junk dex", M + b'\x00\x00\x00\x03dex' + b'e')
dec_vector("headers keys disordered", M + b'\x00\x00\x00\x0cd1:b0:1:a0:e' + b'e')
dec_vector("headers zero length", M + b'\x00\x00\x00\x00' + b'e')
dec_vector("headers truncated bencode", M + b'\x00\x00\x00\x04d1:a' + b'e')
dec_vector("structure i03e", M + E + b's\x00\x00\x00\x06li03ee' + b'e')
dec_vector("structure i-0e", M + E + b's\x00\x00\x00\x06li-0ee' + b'e')
dec_vector("structure junk", M + E + b's\x00\x00\x00\x03lee' + b'e')
dec_vector("structure unterminated list", M + E + b's\x00\x00\x00\x01l' + b'e')
dec_vector("structure leading zero length", M + E + b's\x00\x00\x00\x0503:ab' + b'e')
dec_vector("bad kind byte", M + E + b'oSs\x00\x00\x00\x02le' + b'X' + b'e')
dec_vector("bad kind byte first", M + E + b'X')
dec_vector("bad kind byte uppercase E", M + E + b'E')
dec_vector("eof in headers length", M + b'\x00\x00')
dec_vector("eof in headers", M + b'\x00\x00\x00\x02d')
dec_vector("eof before kind", M + E)
dec_vector("eof in one-byte part", M + E + b'o')
dec_vector("eof in structure length", M + E + b's\x00\x00')
dec_vector("eof in structure", M + E + b's\x00\x00\x00\x05l1:a')
dec_vector("eof in bytes", M + E + b'b\x00\x00\x00\x05abc')

bt.write_inc(os.path.join(HERE, "v3_vectors.inc"), "v3_vector", DEC, "gen_v3.py")
bt.write_inc(os.path.join(HERE, "v3_encode_vectors.inc"), "v3_enc_vector", ENC, "gen_v3.py")
print("%d decoder vectors, %d encoder vectors" % (len(DEC), len(ENC)))
