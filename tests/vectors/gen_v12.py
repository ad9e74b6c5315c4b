#!/usr/bin/python3
"""Generate the v1/v2 codec vectors (tests/vectors/v12_*.inc) from Breezy.

Run with /usr/bin/python3 (Debian's python3-breezy).  Every expected trace
and every expected byte string below is produced by Breezy's own code:

* LengthPrefixedBodyDecoder and ChunkedBodyDecoder, fed whole and byte by
  byte (the generator asserts both agree), with next_read_size() recorded
  after every byte;
* SmartServerRequestProtocolOne/Two with a fake request handler that
  records args_received/accept_body/end_of_body (the framing code is
  Breezy's; only the verb dispatch is stubbed);
* SmartClientRequestProtocolOne/Two over SmartSimplePipesClientMedium
  reading a canned response (read_response_tuple, read_body_bytes,
  read_streamed_body);
* _encode_tuple/_decode_tuple, _send_response/_send_stream, the client
  call/call_with_body_bytes/call_with_body_readv_array encoders,
  _serialise_offsets/_deserialise_offsets, _get_protocol_factory_for_bytes.

The inputs are the byte strings of breezy/bzr/tests/test_smart_transport.py,
the live transcripts of protocol-reference.md §2.3, §2.5 and §10, and a few
more edge cases.  Traces use the notation of ref/include/smartwire/format.h.
"""

import os
import sys
from io import BytesIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from breezy_trace import (c_string, esc, fmt_tuple, require_breezy,  # noqa: E402
                          write_inc, breezy_version)

require_breezy()

from breezy.bzr.smart import medium, protocol, request, vfs  # noqa: E402
from breezy import errors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.basename(__file__)


def out(name):
    return os.path.join(HERE, name)


# ---------------------------------------------------------------------------
# Body decoders


def run_body_decoder(cls, data, pieces=None):
    """Feed ``data`` to a fresh Breezy decoder; return (trace, nrs list).

    ``pieces`` None feeds one byte at a time.  next_read_size() is recorded
    after construction and after each piece; Breezy's 1 for a finished
    decoder is written as 0, smartwire's documented value (asserted here).
    """
    d = cls()
    nrs = []

    def note():
        v = d.next_read_size()
        if d.finished_reading:
            assert v == 1, v
            v = 0
        nrs.append(v)

    note()
    chunks = []
    if pieces is None:
        pieces = [data[i:i + 1] for i in range(len(data))]
    failed = False
    try:
        for p in pieces:
            d.accept_bytes(p)
            note()
            if cls is protocol.ChunkedBodyDecoder:
                for c in iter(d.read_next_chunk, None):
                    chunks.append(c)
    except (ValueError, errors.SmartProtocolError):
        failed = True
    trace = ""
    if cls is protocol.LengthPrefixedBodyDecoder:
        if d.finished_reading and not failed:
            trace += "body %s\nend\n" % esc(d.read_pending_data())
    else:
        for c in chunks:
            if isinstance(c, bytes):
                trace += "chunk %s\n" % esc(c)
            else:
                trace += "error-chunks %s\n" % fmt_tuple(c.args)
        if d.finished_reading and not failed:
            trace += "end\n"
    if failed or not d.finished_reading:
        # Breezy raises (ValueError, SmartProtocolError) or, at EOF, its
        # client raises ConnectionReset.
        trace += "error\n"
    elif d.unused_data:
        trace += "excess %s\n" % esc(d.unused_data)
    return trace, nrs


def body_vectors(cls, inputs):
    vecs, nrs_vecs = [], []
    for name, data in inputs:
        whole, _ = run_body_decoder(cls, data, [data])
        bytewise, nrs = run_body_decoder(cls, data)
        assert whole == bytewise, (name, whole, bytewise)
        vecs.append({"name": name, "input": data, "trace": whole})
        if not whole.endswith("error\n"):
            nrs_vecs.append({"name": name, "input": data,
                             "trace": " ".join(str(v) for v in nrs)})
    return vecs, nrs_vecs


PREFIXED_INPUTS = [
    # test_smart_transport.LengthPrefixedBodyDecoder
    ("test_accept_bytes", b'7\nabcdefgdone\nblarg'),
    ("test_accept_bytes_all_at_once_with_excess", b'1\nadone\nunused'),
    ("test_accept_bytes_exact_end_of_body", b'1\nadone\n'),
    # protocol-reference §2.4
    ("empty body", b'0\ndone\n'),
    ("get testfile body", b'17\ncontents\nof\nfile\ndone\n'),
    ("call_with_body_bytes", b'7\nabcdefgdone\n'),
    ("readv array body", b'7\n1,2\n5,6done\n'),
    ("binary body", b'256\n' + bytes(range(256)) + b'done\nX'),
    ("body containing done", b'10\ndone\ndone\ndone\n'),
    # What Python int() accepts in the length line.
    ("length with spaces", b' 3 \nabcdone\n'),
    ("length with plus", b'+3\nabcdone\n'),
    ("length with CR", b'3\r\nabcdone\n'),
    ("length with tab and VT", b'\t3\x0b\nabcdone\n'),
    ("length with underscore", b'1_0\n0123456789done\n'),
    ("length with leading zeros", b'007\nabcdefgdone\n'),
    ("negative length is empty", b'-5\ndone\nrest'),
    ("minus zero", b'-0\ndone\n'),
    # End of input inside the body (Breezy's client: ConnectionReset).
    ("test_client_read_body_bytes_interrupted_connection", b'999\nincomplete body'),
    ("eof in length", b'12'),
    ("eof in trailer", b'1\nadon'),
    ("eof before anything", b''),
]

CHUNKED_INPUTS = [
    # test_smart_transport.TestChunkedBodyDecoder
    ("test_empty_content", b'chunked\nEND\n'),
    ("test_one_chunk", b'chunked\nf\n123456789abcdefEND\n'),
    ("test_incomplete_chunk", b'chunked\n8\n123'),
    ("test_incomplete_length", b'chunked\n9\n'),
    ("test_two_chunks", b'chunked\n3\naaa5\nbbbbbEND\n'),
    ("test_excess_bytes", b'chunked\n5\naaaaaEND\nexcess bytes'),
    ("test_multidigit_length", b'chunked\n0x123\n' + b'z' * 0x123 + b'END\n'),
    ("test_read_pending_data_resets", b'chunked\n3\naaa3\nbbbEND\n'),
    ("test_decode_error", b'chunked\nb\nfirst chunkERR\n5\npart15\npart2END\n'),
    # TestSmartProtocolTwoSpecifics
    ("test_body_stream_serialisation", b'chunked\n9\nchunk one9\nchunk twob\nchunk threeEND\n'),
    ("test_body_stream_with_empty_element_serialisation", b'chunked\n0\n5\nchunkEND\n'),
    ("test_body_stream_error_serialistion",
     b'chunked\nb\nfirst chunkERR\nb\nFailureNameb\nfailure argEND\n'),
    ("test_streamed_body_bytes", b'chunked\n4\n12343\n567END\n'),
    ("test_read_streamed_body_error", b'chunked\n4\naaaaERR\na\nerror arg14\narg2END\n'),
    ("test_streamed_body_bytes_interrupted_connection", b'chunked\n9999\nincomplete chunk'),
    # Edge cases
    ("upper-case hex", b'chunked\nA\n0123456789END\n'),
    ("0X prefix", b'chunked\n0X3\nabcEND\n'),
    ("spaces and plus in hex", b'chunked\n +3 \nabcEND\n'),
    ("underscore in hex", b'chunked\n1_0\n0123456789abcdefEND\n'),
    ("error with no chunks", b'chunked\nERR\nEND\n'),
    ("error with empty chunk", b'chunked\nERR\n0\nEND\n'),
    ("second ERR restarts the tuple", b'chunked\nERR\n1\naERR\n1\nbEND\n'),
    ("chunk containing END", b'chunked\n4\nEND\nEND\nnext'),
    ("binary chunk", b'chunked\n100\n' + bytes(range(256)) + b'END\n'),
    ("eof in header", b'chunk'),
    ("eof after ERR", b'chunked\nERR\n'),
    ("eof before anything", b''),
]


# ---------------------------------------------------------------------------
# Server side: v1/v2 request protocols with a recording handler


class RecordingHandler:
    """Stands in for request.SmartServerRequestHandler."""

    wants_body = False
    log = None

    def __init__(self, *args, **kwargs):
        self.finished_reading = False
        self.response = None
        self.body = b''

    def args_received(self, args):
        RecordingHandler.log.append("args %s\n" % fmt_tuple(args))
        if RecordingHandler.wants_body:
            return
        self.finished_reading = True
        self.response = request.SuccessfulSmartServerResponse((b'ok',))

    def accept_body(self, data):
        self.body += data

    def end_of_body(self):
        RecordingHandler.log.append("body %s\n" % esc(self.body))
        self.finished_reading = True
        self.response = request.SuccessfulSmartServerResponse((b'ok',))


def server_trace(version, data, wants_body, pieces=None):
    """Breezy's server reading one request.  ``data`` starts after the v2
    marker (the medium consumed it).  Returns the trace."""
    RecordingHandler.log = []
    RecordingHandler.wants_body = wants_body
    saved = request.SmartServerRequestHandler
    request.SmartServerRequestHandler = RecordingHandler
    try:
        cls = (protocol.SmartServerRequestProtocolOne if version == 1
               else protocol.SmartServerRequestProtocolTwo)
        written = []
        p = cls(None, written.append)
        failed = False
        try:
            for piece in (pieces if pieces is not None else [data]):
                p.accept_bytes(piece)
        except ValueError:
            failed = True
    finally:
        request.SmartServerRequestHandler = saved
    trace = "".join(RecordingHandler.log)
    if p._finished and not failed:
        trace += "end\n"
        if p.unused_data:
            trace += "excess %s\n" % esc(p.unused_data)
    else:
        trace += "error\n"
    return trace


def request_vectors(cases):
    vecs = []
    for name, version, data, wants_body in cases:
        whole = server_trace(version, data, wants_body)
        bytewise = server_trace(version, data, wants_body,
                                [data[i:i + 1] for i in range(len(data))])
        assert whole == bytewise, (name, whole, bytewise)
        arg = "&REQ%d_%s" % (version, "BODY" if wants_body else "NONE")
        vecs.append({"name": name, "input": data, "trace": whole, "arg": arg})
        if version == 2:
            # The same request decoded standalone, marker included.
            factory, rest = medium._get_protocol_factory_for_bytes(
                protocol.REQUEST_VERSION_TWO + data)
            assert factory is protocol.SmartServerRequestProtocolTwo
            assert rest == data
            vecs.append({"name": name + " (with marker)",
                         "input": protocol.REQUEST_VERSION_TWO + data,
                         "trace": whole,
                         "arg": "&REQ2M_%s" % ("BODY" if wants_body else "NONE")})
    return vecs


REQUEST_CASES = [
    # TestVersionOneFeaturesInProtocolOne/Two (v2 after the marker).
    ("test_accept_bytes_of_bad_request_to_protocol", 1, b'abc\n', False),
    ("test_accept_request_and_body_all_at_once", 1, b'readv\x01foo\n3\n3,3done\n', True),
    ("test_accept_excess_bytes_are_preserved", 1, b'hello\nhello\n', False),
    ("test_accept_excess_bytes_after_body", 1, b'foo\n7\nabcdefgdone\nX', True),
    ("test_accept_excess_bytes_after_dispatch", 1, b'hello\nhello\n', False),
    ("test_client_call_with_body_bytes_uploads", 1, b'foo\n7\nabcdefgdone\n', True),
    ("test_client_call_with_body_readv_array", 1, b'foo\n7\n1,2\n5,6done\n', True),
    ("empty line", 1, b'\n', False),
    ("empty args", 1, b'\x01\x01\n', False),
    ("interior CR kept", 1, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', False),
    ("test_smart_query_version", 1, b'hello\n', False),
    ("test_response_to_canned_get", 1, b'get\x01./testfile\n', False),
    ("test_response_to_canned_get_of_utf8", 1, b'get\x01testfile%E2%80%BD\n', False),
    ("test_pipe_like_stream_with_bulk_data", 1, b'command\n9\nbulk datadone\n', True),
    ("test_version_two_server request", 2, b'method-name\x01arg 1\x01arg 2\n', False),
    ("v2 body", 2, b'foo\n7\nabcdefgdone\n', True),
    ("v2 hello", 2, b'hello\n', False),
    ("v2 excess", 2, b'hello\nbzr request 2\nhello\n', False),
    # protocol-reference §2.2, §2.3, §10 (live requests)
    ("live v1 hello", 1, b'hello\n', False),
    ("live v1 get", 1, b'get\x01/testfile\n', False),
    ("live v1 readv short read", 1, b'readv\x01/readvfile\n5\n15,10done\n', True),
    ("live v1 wrong arg count", 1, b'get\n', False),
    ("live v1 put then get", 1, b'put\x01/new\x01\n4\ndatadone\nget\x01/new\n', True),
    ("live v1 request without newline then EOF", 1, b'hello', False),
    ("live v1 hello followed by a body", 1, b'hello\n3\nxyzdone\n', False),
    ("live v1 body parsed as next request", 1, b'3\nxyzdone\n', False),
    ("live v1 unknown verb", 1, b'foo\x01bar\n', False),
    ("live v1 non-ascii verb", 1, b'caf\xc3\xa9\n', False),
    ("live v2 readv", 2, b'readv\x01/readvfile\n7\n3,3\n0,2done\n', True),
    ("live v2 get of a directory", 2, b'get\x01/dir\n', False),
    ("live v2 mkdir", 2, b'mkdir\x01/newdir\x01\n', False),
    ("live v2 iter_revisions", 2,
     b'Repository.iter_revisions\x01/branch/\n45\n'
     b't@example.com-20000101000000-5s1wokvib3yw18czdone\n', True),
    ("live v2 get nope", 2, b'get\x01/nope\n', False),
    # EOF inside the body: Breezy waits for bytes that never come.
    ("eof in request body", 1, b'put\x01/x\x01\n10\nabc', True),
    ("eof before body", 1, b'put\x01/x\x01\n', True),
]


# ---------------------------------------------------------------------------
# Client side: v1/v2 response protocols over a pipe medium

V1_ERRORS = None


def client_trace(version, data, mode, verb=b'verb-x', rejected=(errors.ConnectionReset,)):
    """Breezy's client reading ``data``; ``mode`` 'none'|'prefixed'|'chunked'.
    Returns (trace, effective mode: the body Breezy actually read).
    ``rejected``: the exceptions that, escaping from reading the body, mean
    Breezy rejected it (fuzz/diff_breezy.py adds the ones fuzzed inputs
    provoke)."""
    inp = BytesIO(data)
    m = medium.SmartSimplePipesClientMedium(inp, BytesIO(), 'base')
    req = m.get_request()
    base = (protocol.SmartClientRequestProtocolOne if version == 1
            else protocol.SmartClientRequestProtocolTwo)
    seen = {}

    class Rec(base):
        def _recv_tuple(self):
            r = base._recv_tuple(self)
            seen['args'] = r
            return r

    p = Rec(req)
    p.call(verb)
    # Record the lines Breezy reads, so that a status line it read before
    # failing on the tuple line still appears in the trace.
    lines = []
    read_line = req.read_line

    def recording_read_line():
        line = read_line()
        lines.append(line)
        return line
    req.read_line = recording_read_line
    trace = ""
    effective = 'none'
    failed = False
    try:
        p.read_response_tuple(expect_body=(mode != 'none'))
        effective = mode
    except (errors.ErrorFromSmartServer, errors.UnknownSmartMethod):
        pass
    except (errors.SmartProtocolError, errors.UnexpectedProtocolVersionMarker,
            TypeError, errors.ConnectionReset):
        failed = True
    status = getattr(p, 'response_status', None)
    if version == 2 and len(lines) >= 2 and lines[0] == protocol.RESPONSE_VERSION_TWO:
        if lines[1] in (b'success\n', b'failed\n'):
            assert status is None or status == (lines[1] == b'success\n')
            trace += "status %s\n" % ("success" if lines[1] == b'success\n' else "failed")
    args = seen.get('args')
    if args is None:
        failed = True  # end of file where the tuple should be
    elif not failed:
        trace += "args %s\n" % fmt_tuple(args)
    if not failed and effective == 'prefixed':
        try:
            trace += "body %s\n" % esc(p.read_body_bytes())
        except rejected:
            failed = True
    elif not failed and effective == 'chunked':
        try:
            for c in p.read_streamed_body():
                if isinstance(c, bytes):
                    trace += "chunk %s\n" % esc(c)
                else:
                    trace += "error-chunks %s\n" % fmt_tuple(c.args)
        except rejected:
            failed = True
    if failed:
        trace += "error\n"
    else:
        trace += "end\n"
        rest = (m._push_back_buffer or b'') + inp.read()
        if rest:
            trace += "excess %s\n" % esc(rest)
    return trace, effective


def response_vectors(cases):
    vecs = []
    for case in cases:
        name, version, data, mode = case[:4]
        verb = case[4] if len(case) > 4 else b'verb-x'
        trace, eff = client_trace(version, data, mode, verb)
        arg = "&RESP%d_%s" % (version, eff.upper())
        vecs.append({"name": name, "input": data, "trace": trace, "arg": arg})
    return vecs


R2 = protocol.RESPONSE_VERSION_TWO
RESPONSE_CASES = [
    # TestVersionOneFeaturesInProtocolOne
    ("test_client_call_empty_response", 1, b'\n', 'none'),
    ("test_client_call_three_element_response", 1, b'a\x01b\x0134\n', 'none'),
    ("test_client_read_response_tuple_raises_UnknownSmartMethod", 1,
     b"error\x01Generic bzr smart protocol error: bad request 'foo'\n", 'none', b'foo'),
    ("test_client_read_response_tuple_raises_UnknownSmartMethod_0_11", 1,
     b"error\x01Generic bzr smart protocol error: bad request u'foo'\n", 'none', b'foo'),
    ("test_client_read_body_bytes_all", 1, b'ok\n7\n1234567done\n', 'prefixed'),
    ("test_client_cancel_read_body_does_not_eat_body_bytes", 1,
     b'ok\n7\n1234567done\n', 'none'),
    ("test_client_read_body_bytes_interrupted_connection", 1,
     b'ok\n999\nincomplete body', 'prefixed'),
    ("test_query_version", 1, b'ok\x012\n', 'none'),
    ("test_use_connection_factory", 1, b'ok\n3\nbardone\n', 'prefixed'),
    # TestVersionOneFeaturesInProtocolTwo / TestSmartProtocolTwoSpecifics
    ("test_client_call_empty_response v2", 2, R2 + b'success\n\n', 'none'),
    ("test_client_call_three_element_response v2", 2, R2 + b'success\na\x01b\x0134\n', 'none'),
    ("test_client_read_body_bytes_all v2", 2, R2 + b'success\nok\n7\n1234567done\n', 'prefixed'),
    ("test_client_read_body_bytes_interrupted_connection v2", 2,
     R2 + b'success\nok\n999\nincomplete body', 'prefixed'),
    ("test_client_read_response_tuple_raises_UnknownSmartMethod v2", 2,
     R2 + b"failed\nerror\x01Generic bzr smart protocol error: bad request 'foo'\n",
     'none', b'foo'),
    ("test_client_read_response_tuple_sets_response_status", 2, R2 + b'success\nok\n', 'none'),
    ("test__send_response_includes_failure_marker", 2, R2 + b'failed\nx\n', 'none'),
    ("test__send_response_includes_success_marker", 2, R2 + b'success\nx\n', 'none'),
    ("test_streamed_body_bytes", 2, R2 + b'success\nok\nchunked\n4\n12343\n567END\n', 'chunked'),
    ("test_read_streamed_body_error", 2,
     R2 + b'success\nok\nchunked\n4\naaaaERR\na\nerror arg14\narg2END\n', 'chunked'),
    ("test_streamed_body_bytes_interrupted_connection", 2,
     R2 + b'success\nok\nchunked\n9999\nincomplete chunk', 'chunked'),
    ("test_body_stream_serialisation_empty", 2, R2 + b'success\nx\nchunked\nEND\n', 'chunked'),
    # protocol-reference §2.3 and §10 (live responses)
    ("live v1 hello", 1, b'ok\x012\n', 'none'),
    ("live v2 hello", 2, R2 + b'success\nok\x012\n', 'none'),
    ("live v1 get", 1, b'ok\n17\ncontents\nof\nfile\ndone\n', 'prefixed'),
    ("live v2 get", 2, R2 + b'success\nok\n17\ncontents\nof\nfile\ndone\n', 'prefixed'),
    ("live v1 get nope (error list: no body)", 1, b'NoSuchFile\x01/srv/x/nope\n', 'prefixed'),
    ("live v2 get nope (failed: no body)", 2, R2 + b'failed\nNoSuchFile\x01/srv/x/nope\n',
     'prefixed'),
    ("live v2 mkdir read-only", 2, R2 + b'failed\nReadOnlyError\n', 'none'),
    ("live v1 readv short read", 1, b'ShortReadvError\x01./readvfile\x0115\x0110\x015\n', 'prefixed'),
    ("live v1 wrong arg count", 1,
     b"error\x01TypeError\x01GetRequest.do() missing 1 required positional argument: 'relpath'\n",
     'none'),
    ("live v1 put then get", 1, b'ok\nok\n4\ndatadone\n', 'none'),
    ("live v1 put then get, second response", 1, b'ok\n4\ndatadone\n', 'prefixed'),
    ("live v1 hello followed by a body", 1,
     b"ok\x012\nerror\x01Generic bzr smart protocol error: bad request '3'\n", 'none'),
    ("live v2 readv", 2, R2 + b'success\nreadv\n5\n34501done\n', 'prefixed'),
    ("live v2 get of a directory (partial response)", 2, R2 + b'failed\n', 'none'),
    ("live v2 PermissionDenied", 2,
     R2 + b"failed\nPermissionDenied\x01/srv/x/secret\x01: [Errno 13] Permission denied: '/srv/x/secret'\n",
     'none'),
    ("live v1 PermissionDenied", 1,
     b"PermissionDenied\x01/srv/x/secret\x01: [Errno 13] Permission denied: '/srv/x/secret'\n",
     'prefixed'),
    ("live v1 iter_revisions (stream dropped)", 1, b'ok\x0110\n', 'none'),
    ("live v1 get_bundle empty args", 1, b'\n3\nabcdone\n', 'prefixed'),
    ("live mixed versions", 2,
     R2 + b'success\nok\x012\nok\x012\nbzr message 3 (bzr 1.6)\n', 'none'),
    # End of input
    ("eof in marker", 2, b'bzr resp', 'none'),
    ("eof in status", 2, R2 + b'succ', 'none'),
    ("eof after status", 2, R2 + b'success\n', 'none'),
    ("eof in tuple", 1, b'ok\x01', 'none'),
    ("eof in chunked header", 2, R2 + b'success\nok\nchun', 'chunked'),
]


# ---------------------------------------------------------------------------
# Tuples, detection, readv


TUPLE_LINES = [
    ("test_client_call_empty_response", b'\n'),
    ("test_client_call_three_element_response", b'a\x01b\x0134\n'),
    ("hello", b'hello\n'),
    ("get", b'get\x01/testfile\n'),
    ("empty elements", b'\x01\n'),
    ("interior newline kept", b'a\nb\x01c\n'),
    ("binary", b'\x00\xff\x02\x01\x7f\n'),
    ("put with empty mode", b'put\x01/new\x01\n'),
]


def tuple_vectors():
    vecs = []
    for name, line in TUPLE_LINES:
        t = protocol._decode_tuple(line)
        vecs.append({"name": name, "input": line, "trace": "args %s\n" % fmt_tuple(t)})
    return vecs


DETECT_INPUTS = [
    # TestGetProtocolFactoryForBytes
    ("test_version_three", b'bzr message 3 (bzr 1.6)\nextra bytes'),
    ("test_version_two", b'bzr request 2\nextra bytes'),
    ("test_version_one", b'anything\n'),
    # TestSmartServerStreamMedium._build_protocol
    ("test_build_protocol_empty_bytes", b''),
    ("abc", b'abc\n'),
    ("v2 marker only", b'bzr request 2\n'),
    ("v3 marker only", b'bzr message 3 (bzr 1.6)\n'),
    ("v2 marker with space", b'bzr request 2 \n'),
    ("v2 marker without newline", b'bzr request 2'),
    ("v3 marker prefix", b'bzr message 3 (bzr'),
    ("v2 response marker is v1", b'bzr response 2\n'),
    ("common prefix", b'bzr \n'),
    ("bzr alone", b'bzr'),
    ("v3 marker then v2", b'bzr message 3 (bzr 1.6)\nbzr request 2\n'),
    ("v2 marker then hello", b'bzr request 2\nhello\n'),
    ("old v3 marker", b'bzr message 3 (bzr 1.5)\n'),
    ("upper case", b'BZR request 2\n'),
    ("CR before newline", b'bzr request 2\r\n'),
    ("http", b'GET / HTTP/1.1\r\n'),
]


def detect_vectors():
    vecs = []
    for name, data in DETECT_INPUTS:
        factory, rest = medium._get_protocol_factory_for_bytes(data)
        version = {protocol.SmartServerRequestProtocolOne: 1,
                   protocol.SmartServerRequestProtocolTwo: 2,
                   protocol.build_server_protocol_three: 3}[factory]
        vecs.append({"name": name, "input": data,
                     "trace": "%d %d" % (version, len(data) - len(rest))})
    return vecs


READV_BODIES = [
    ("three", b'1,2\n3,4\n100,200'),
    ("empty", b''),
    ("one", b'1,2'),
    ("trailing newline", b'10,40\n0,5\n'),
    ("blank lines", b'\n\n1,2\n\n3,4\n'),
    ("whitespace and plus", b' 3 ,+3\r\n0, 2'),
    ("underscore", b'1_0,2_0'),
    ("live readv", b'3,3\n0,2'),
    ("test_readv_accept_body", b'2,3'),
    ("big", b'18446744073709551615,0'),
]

READV_BAD = [
    ("no comma", b'12'),
    ("two commas", b'1,2,3'),
    ("empty field", b',5'),
    ("not a number", b'a,1'),
    ("space line", b' \n1,2'),
    ("bad second line", b'1,2\nx'),
]


def readv_vectors():
    vecs = []
    d = vfs.ReadvRequest.__new__(vfs.ReadvRequest)
    for name, body in READV_BODIES:
        offs = d._deserialise_offsets(body)
        vecs.append({"name": name, "input": body,
                     "trace": "".join("%d,%d\n" % o for o in offs)})
    for name, body in READV_BAD:
        try:
            d._deserialise_offsets(body)
            raise AssertionError(name)
        except ValueError:
            pass
        vecs.append({"name": name, "input": body, "trace": "error\n"})
    return vecs


# ---------------------------------------------------------------------------
# Encoders


def c_slices(items):
    if not items:
        return "NULL"
    return "(const sw_slice[]){%s}" % ", ".join(
        "{(const uint8_t *)%s, %d}" % (c_string(x), len(x)) for x in items)


def c_body(b):
    if b is None:
        return "NULL"
    return "&(const sw_slice){(const uint8_t *)%s, %d}" % (c_string(b), len(b))


class FakeMediumRequest:
    def __init__(self):
        self.written = b''

    def accept_bytes(self, data):
        self.written += data

    def finished_writing(self):
        pass


def encode_vectors():
    vecs = []

    def add(name, op, expected, version=1, success=True, args=(), body=None,
            chunks=(), has_error=False, error_args=(), ranges=()):
        vecs.append(dict(name=name, op=op, expected=expected, version=version,
                         success=success, args=args, body=body, chunks=chunks,
                         has_error=has_error, error_args=error_args, ranges=ranges))

    for name, t in [("empty tuple", ()), ("one empty", (b'',)), ("three", (b'a', b'b', b'34')),
                    ("hello", (b'hello',)), ("binary", (b'\x00\xff', b'\x7f'))]:
        add(name, "ENC_TUPLE", protocol._encode_tuple(t), args=t)

    # Client requests.
    for version, cls in ((1, protocol.SmartClientRequestProtocolOne),
                         (2, protocol.SmartClientRequestProtocolTwo)):
        for name, args in [("hello", (b'hello',)), ("get", (b'get', b'/testfile')),
                           ("test_version_two_server", (b'method-name', b'arg 1', b'arg 2')),
                           ("empty", ())]:
            r = FakeMediumRequest()
            cls(r).call(*args) if args else cls(r)._write_args(args)
            add("request v%d %s" % (version, name), "ENC_REQUEST", r.written, version, args=args)
        for name, args, body in [("test_client_call_with_body_bytes_uploads", (b'foo',), b'abcdefg'),
                                 ("put", (b'put', b'/new', b''), b'data'),
                                 ("empty body", (b'put', b'/e', b''), b'')]:
            r = FakeMediumRequest()
            cls(r).call_with_body_bytes(args, body)
            add("request v%d %s" % (version, name), "ENC_REQUEST", r.written, version,
                args=args, body=body)
        for name, args, ranges in [("test_client_call_with_body_readv_array", (b'foo',), [(1, 2), (5, 6)]),
                                   ("live readv", (b'readv', b'/readvfile'), [(3, 3), (0, 2)]),
                                   ("no ranges", (b'readv', b'/f'), [])]:
            r = FakeMediumRequest()
            cls(r).call_with_body_readv_array(args, ranges)
            add("readv v%d %s" % (version, name), "ENC_READV", r.written, version,
                args=args, ranges=ranges)

    # Server responses.
    for version, cls in ((1, protocol.SmartServerRequestProtocolOne),
                         (2, protocol.SmartServerRequestProtocolTwo)):
        cases = [
            ("hello", True, (b'ok', b'2'), None),
            ("test__send_response_includes_failure_marker", False, (b'x',), None),
            ("test__send_response_includes_success_marker", True, (b'x',), None),
            ("get", True, (b'ok',), b'contents\nof\nfile\n'),
            ("readv", True, (b'readv',), b'34501'),
            ("get_bundle empty args", True, (), b'abc'),
            ("empty body", True, (b'ok',), b''),
            ("nosuchfile", False, (b'NoSuchFile', b'/srv/x/nope'), None),
        ]
        for name, ok, args, body in cases:
            w = []
            Resp = (request.SuccessfulSmartServerResponse if ok
                    else request.FailedSmartServerResponse)
            cls(None, w.append)._send_response(Resp(args, body))
            add("response v%d %s" % (version, name), "ENC_RESPONSE", b''.join(w), version,
                success=ok, args=args, body=body)
        streams = [
            ("test_body_stream_serialisation_empty", [], None),
            ("test_body_stream_serialisation", [b'chunk one', b'chunk two', b'chunk three'], None),
            ("test_body_stream_with_empty_element_serialisation", [b'', b'chunk'], None),
            ("test_body_stream_error_serialistion", [b'first chunk'], (b'FailureName', b'failure arg')),
            ("error only", [], (b'error', b'boom')),
            ("empty error", [b'a'], ()),
            ("big chunk", [b'z' * 0x123], None),
        ]
        for name, chunks, err in streams:
            w = []
            body = list(chunks) + ([request.FailedSmartServerResponse(err)] if err is not None else [])
            cls(None, w.append)._send_response(
                request.SuccessfulSmartServerResponse((b'ok',), body_stream=iter(body)))
            add("stream v%d %s" % (version, name), "ENC_STREAM", b''.join(w), version,
                args=(b'ok',), chunks=chunks, has_error=err is not None,
                error_args=err or ())
    # _send_stream alone, as the reference's §2.5 vectors.
    for name, chunks in [("send_stream three", [b'chunk one', b'chunk two', b'chunk three'])]:
        w = []
        protocol._send_stream(iter(chunks), w.append)
        add(name, "ENC_CHUNKS", b''.join(w), 2, chunks=chunks)

    # Bodies and offsets.
    base = protocol.SmartProtocolBase()
    for name, body in [("bulk abcdefg", b'abcdefg'), ("bulk empty", b''),
                       ("bulk testfile", b'contents\nof\nfile\n')]:
        add(name, "ENC_PREFIXED", base._encode_bulk_data(body), body=body)
    for name, ranges in [("test_server_offset_serialisation []", []),
                         ("test_server_offset_serialisation [(1,2)]", [(1, 2)]),
                         ("test_server_offset_serialisation [(10,40),(0,5)]", [(10, 40), (0, 5)]),
                         ("test_server_offset_serialisation three", [(1, 2), (3, 4), (100, 200)]),
                         ("large offsets", [(2 ** 64 - 1, 2 ** 63)])]:
        add(name, "ENC_OFFSETS", base._serialise_offsets(ranges), ranges=ranges)
    return vecs


def write_encode_inc(path, vecs):
    with open(path, "w") as f:
        f.write("/* Generated by tests/vectors/%s from Breezy %s; do not edit. */\n"
                % (GEN, breezy_version()))
        for v in vecs:
            ranges = ("(const sw_readv_range[]){%s}" % ", ".join(
                "{UINT64_C(%d), UINT64_C(%d)}" % r for r in v["ranges"])
                if v["ranges"] else "NULL")
            f.write("{\n\t.name = %s,\n\t.op = %s, .version = %d, .success = %s,\n"
                    "\t.args = %s, .nargs = %d,\n\t.body = %s,\n"
                    "\t.chunks = %s, .nchunks = %d,\n\t.has_error = %s,\n"
                    "\t.error_args = %s, .nerror = %d,\n"
                    "\t.ranges = %s, .nranges = %d,\n"
                    "\t.expected = %s,\n\t.expected_len = %d\n},\n" % (
                        c_string(v["name"]), v["op"], v["version"],
                        "true" if v["success"] else "false",
                        c_slices(v["args"]), len(v["args"]), c_body(v["body"]),
                        c_slices(v["chunks"]), len(v["chunks"]),
                        "true" if v["has_error"] else "false",
                        c_slices(v["error_args"]), len(v["error_args"]),
                        ranges, len(v["ranges"]),
                        c_string(v["expected"]), len(v["expected"])))


def main():
    pv, pn = body_vectors(protocol.LengthPrefixedBodyDecoder, PREFIXED_INPUTS)
    write_inc(out("v12_prefixed.inc"), None, pv, GEN)
    write_inc(out("v12_prefixed_nrs.inc"), None, pn, GEN)
    cv, cn = body_vectors(protocol.ChunkedBodyDecoder, CHUNKED_INPUTS)
    write_inc(out("v12_chunked.inc"), None, cv, GEN)
    write_inc(out("v12_chunked_nrs.inc"), None, cn, GEN)
    write_inc(out("v12_request.inc"), None, request_vectors(REQUEST_CASES), GEN)
    write_inc(out("v12_response.inc"), None, response_vectors(RESPONSE_CASES), GEN)
    write_inc(out("v12_tuple.inc"), None, tuple_vectors(), GEN)
    write_inc(out("v12_detect.inc"), None, detect_vectors(), GEN)
    write_inc(out("v12_readv.inc"), None, readv_vectors(), GEN)
    write_encode_inc(out("v12_encode.inc"), encode_vectors())


if __name__ == "__main__":
    main()
