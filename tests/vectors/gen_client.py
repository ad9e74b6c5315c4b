#!/usr/bin/python3
"""Generate the client-session vectors from Breezy's own client classes.

client_vectors.inc holds two tables.

client_req_vectors: the exact bytes Breezy's client writes for a call:
ProtocolThreeRequester (v3, with headers {} or Breezy's default headers) and
SmartClientRequestProtocolOne/Two (v1/v2) driven over a recording medium
request, for call, call_with_body_bytes, call_with_body_readv_array and
call_with_body_stream.

client_resp_vectors: what Breezy's client makes of a response.  Each response
is put behind a real SmartSimplePipesClientMedium (a BytesIO as the server's
output), the call is made with the real request encoder, and the response is
read with the real handler (ConventionalResponseHandler for v3,
SmartClientRequestProtocolOne/Two for v1/v2) in one of four modes:
  0 tuple   read_response_tuple(expect_body=False)
  1 body    read_response_tuple(True), then read_body_bytes()
  2 stream  read_response_tuple(True), then list(read_streamed_body())
  3 cancel  read_response_tuple(True), then cancel_read_body()
The outcome is a trace, one line per event:
  args [..]               the response tuple
  body ".."               read_body_bytes()
  part ".."               one yielded chunk of read_streamed_body()
  error SW_ERR_X [..]     an exception: the smartwire code it maps to and,
                          for server errors, the error tuple
  message ".."            str(exception)
  unread N                bytes the client left unread (input.tell())
Outcomes where Breezy itself crashes (TypeError, AttributeError ...) are not
emitted: they are departures, tested separately.

Run with /usr/bin/python3 (Debian's python3-breezy) from any directory.
"""

import os
import sys
from io import BytesIO

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import breezy_trace as bt  # noqa: E402

bt.require_breezy()

import breezy  # noqa: E402
from breezy import errors  # noqa: E402
from breezy.bzr.smart import medium, message, protocol  # noqa: E402
from breezy.bzr.smart import request as _mod_request  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
M3 = protocol.MESSAGE_VERSION_THREE
H0 = b'\x00\x00\x00\x02de'
HDEF = b'\x00\x00\x00\x1cd16:Software version5:3.3.2e'


class RecReq:
    """A medium request that records what the encoder writes."""

    def __init__(self):
        self.out = b''
        self._medium = None

    def accept_bytes(self, b):
        self.out += b

    def finished_writing(self):
        pass

    def finished_reading(self):
        pass


BODY_NONE, BODY_BYTES, BODY_READV, BODY_STREAM = range(4)


def encode_request(version, headers, args, kind, body):
    req = RecReq()
    if version == 3:
        enc = protocol.ProtocolThreeRequester(req)
    elif version == 2:
        enc = protocol.SmartClientRequestProtocolTwo(req)
    else:
        enc = protocol.SmartClientRequestProtocolOne(req)
    enc.set_headers(headers)
    if kind == BODY_NONE:
        enc.call(*args)
    elif kind == BODY_BYTES:
        enc.call_with_body_bytes(args, body)
    elif kind == BODY_READV:
        enc.call_with_body_readv_array(args, body)
    else:
        enc.call_with_body_stream(args, iter(body))
    return req.out


REQUESTS = [
    # name, args, kind, body
    ("hello", (b'hello',), BODY_NONE, None),
    ("method-name", (b'method-name', b'arg 1', b'arg 2'), BODY_NONE, None),
    ("one arg", (b'one arg',), BODY_NONE, None),
    ("get", (b'get', b'/testfile'), BODY_NONE, None),
    ("empty arg", (b'mkdir', b'/newdir', b''), BODY_NONE, None),
    ("put body", (b'put', b'/new', b''), BODY_BYTES, b'data'),
    ("foo body", (b'foo',), BODY_BYTES, b'abcdefg'),
    ("empty body", (b'put', b'/e', b''), BODY_BYTES, b''),
    ("binary body", (b'append', b'/a', b''), BODY_BYTES, bytes(range(256))),
    ("readv", (b'readv', b'/readvfile'), BODY_READV, [(3, 3), (0, 2)]),
    ("readv foo", (b'foo',), BODY_READV, [(1, 2), (5, 6)]),
    ("readv empty", (b'readv', b'/x'), BODY_READV, []),
    ("stream", (b'one arg',), BODY_STREAM, [b'chunk 1', b'chunk two']),
    ("stream empty", (b'one arg',), BODY_STREAM, []),
    ("stream hello", (b'hello',), BODY_STREAM, [b'a', b'b']),
]


def request_vectors():
    out = []
    for name, args, kind, body in REQUESTS:
        for version in (3, 2, 1):
            if kind == BODY_STREAM and version != 3:
                continue  # v1/v2 send nothing (UnknownSmartMethod), tested in C
            for hdefault in ((False, True) if version == 3 else (False,)):
                headers = ({b'Software version': breezy.__version__.encode()}
                           if hdefault else {})
                out.append(dict(name="%s v%d%s" % (name, version, " hdr" if hdefault else ""),
                                version=version, hdefault=hdefault, args=args,
                                kind=kind, body=body,
                                expect=encode_request(version, headers, args, kind, body)))
    # The literals of test_smart_transport.py, checked against Breezy here.
    lit = {o["name"]: o["expect"] for o in out}
    assert lit["one arg v3"] == M3 + H0 + b's\x00\x00\x00\x0bl7:one argee'
    assert lit["method-name v3"] == M3 + H0 + b's\x00\x00\x00\x1el11:method-name5:arg 15:arg 2ee'
    assert lit["method-name v2"] == b'bzr request 2\nmethod-name\x01arg 1\x01arg 2\n'
    assert lit["foo body v1"] == b"foo\n7\nabcdefgdone\n"
    assert lit["readv foo v1"] == b"foo\n7\n1,2\n5,6done\n"
    assert lit["hello v3"] == M3 + H0 + b's\x00\x00\x00\tl5:helloee'
    assert lit["stream hello v3"] == (M3 + H0 + b's\x00\x00\x00\tl5:helloe'
                                      b'b\x00\x00\x00\x01ab\x00\x00\x00\x01be')
    assert lit["stream empty v3"] == M3 + H0 + b's\x00\x00\x00\x0bl7:one argee'
    return out


# ---- responses -----------------------------------------------------------

def code_of(exc):
    if isinstance(exc, errors.ConnectionReset):
        return "SW_ERR_CONNECTION_RESET", None
    if isinstance(exc, errors.ErrorFromSmartServer):
        return "SW_ERR_ERROR_RESPONSE", exc.error_tuple
    if isinstance(exc, errors.UnknownSmartMethod):
        return "SW_ERR_UNKNOWN_METHOD", None
    if isinstance(exc, errors.UnexpectedProtocolVersionMarker):
        return "SW_ERR_BAD_MARKER", None
    if isinstance(exc, errors.SmartProtocolError):
        if 'bad protocol status' in exc.details:
            return "SW_ERR_BAD_STATUS", None
        return None, None
    return None, None


class Crash(Exception):
    pass


def run_response(version, verb, resp, mode):
    inp = BytesIO(resp)
    cm = medium.SmartSimplePipesClientMedium(inp, BytesIO(), 'base')
    req = cm.get_request()
    lines = []
    if version == 3:
        enc = protocol.ProtocolThreeRequester(req)
        handler = message.ConventionalResponseHandler()
        dec = protocol.ProtocolThreeDecoder(handler, expect_version_marker=True)
        handler.setProtoAndMediumRequest(dec, req)
    else:
        enc = handler = (protocol.SmartClientRequestProtocolTwo(req) if version == 2
                         else protocol.SmartClientRequestProtocolOne(req))
    enc.set_headers({})
    enc.call(verb)
    try:
        args = handler.read_response_tuple(expect_body=(mode != 0))
        lines.append("args " + bt.fmt_tuple(args))
        if mode == 1:
            lines.append("body " + bt.esc(handler.read_body_bytes()))
        elif mode == 2:
            for chunk in handler.read_streamed_body():
                if isinstance(chunk, _mod_request.FailedSmartServerResponse):
                    e = errors.ErrorFromSmartServer(chunk.args)
                    lines.append("error SW_ERR_ERROR_RESPONSE " + bt.fmt_tuple(chunk.args))
                    lines.append("message " + bt.esc(str(e).encode()))
                else:
                    lines.append("part " + bt.esc(chunk))
        elif mode == 3:
            handler.cancel_read_body()
            lines.append("unread %d" % (len(resp) - inp.tell()))
    except (errors.ConnectionReset, errors.ErrorFromSmartServer, errors.UnknownSmartMethod,
            errors.UnexpectedProtocolVersionMarker, errors.SmartProtocolError,
            protocol.SmartMessageHandlerError) as exc:
        if isinstance(exc, protocol.SmartMessageHandlerError):
            exc = exc.exc_value
        code, tup = code_of(exc)
        if code is None:
            lines.append("error")
        else:
            lines.append("error " + code + ("" if tup is None else " " + bt.fmt_tuple(tup)))
            lines.append("message " + bt.esc(str(exc).encode()))
    except Exception as exc:  # Breezy itself crashes: a departure, not a vector
        raise Crash(repr(exc))
    return "".join(line + "\n" for line in lines)


def v3msg(*parts, headers=HDEF):
    return M3 + headers + b''.join(parts) + b'e'


def s(b):
    return b's' + len(b).to_bytes(4, 'big') + b


def bpart(b):
    return b'b' + len(b).to_bytes(4, 'big') + b


BODY7 = b"ok\n7\n1234567done\n"
RESPONSES = [
    # name, version, verb, response bytes
    ("v1 empty tuple", 1, b'foo', b'\n'),
    ("v1 three elements", 1, b'foo', b'a\x01b\x0134\n'),
    ("v1 unknown method", 1, b'foo', b"error\x01Generic bzr smart protocol error: bad request 'foo'\n"),
    ("v1 unknown method 0.11", 1, b'foo', b"error\x01Generic bzr smart protocol error: bad request u'foo'\n"),
    ("v1 bad request other verb", 1, b'foo', b"error\x01Generic bzr smart protocol error: bad request 'bar'\n"),
    ("v1 body", 1, b'foo', BODY7),
    ("v1 get", 1, b'get', b'ok\n3\nbardone\n'),
    ("v1 interrupted body", 1, b'foo', b"ok\n999\nincomplete body"),
    ("v1 hello", 1, b'hello', b'ok\x012\n'),
    ("v1 NoSuchFile", 1, b'get', b'NoSuchFile\x01/srv/x/nope\n'),
    ("v1 ShortReadvError", 1, b'readv', b'ShortReadvError\x01./readvfile\x0115\x0110\x015\n'),
    ("v1 PermissionDenied", 1, b'get', b"PermissionDenied\x01/srv/x/secret\x01: [Errno 13] Permission denied: '/srv/x/secret'\n"),
    ("v1 error not in list", 1, b'get', b"error\x01TypeError\x01GetRequest.do() missing 1 required positional argument: 'relpath'\n"),
    ("v1 readv", 1, b'readv', b'readv\n3\ndefdone\n'),
    ("v1 truncated line", 1, b'foo', b'ok\x012'),
    ("v1 empty response", 1, b'foo', b''),
    ("v1 quote in args", 1, b'foo', b"it's\x01\"q\"\x01both'\"\n"),
    ("v2 success", 2, b'foo', b'bzr response 2\nsuccess\nok\n'),
    ("v2 failed empty", 2, b'method-name', b'bzr response 2\nfailed\n\n'),
    ("v2 failed", 2, b'method-name', b'bzr response 2\nfailed\nFooBarError\n'),
    ("v2 response value", 2, b'method-name', b'bzr response 2\nsuccess\nresponse value\n'),
    ("v2 unknown method", 2, b'abc', b"bzr response 2\nfailed\nerror\x01Generic bzr smart protocol error: bad request 'abc'\n"),
    ("v2 readv", 2, b'readv', b'bzr response 2\nsuccess\nreadv\n5\n34501done\n'),
    ("v2 body", 2, b'foo', b'bzr response 2\nsuccess\n' + BODY7),
    ("v2 interrupted body", 2, b'foo', b"bzr response 2\nsuccess\nok\n999\nincomplete body"),
    ("v2 streamed", 2, b'foo', b'bzr response 2\nsuccess\nok\nchunked\n4\naaaa5\nbbbbbEND\n'),
    ("v2 streamed error", 2, b'foo', b'bzr response 2\nsuccess\nok\nchunked\n4\naaaaERR\na\nerror arg14\narg2END\n'),
    ("v2 streamed interrupted", 2, b'foo', b'bzr response 2\nsuccess\nok\nchunked\n9999\nincomplete chunk'),
    ("v2 streamed 0x length", 2, b'foo', b'bzr response 2\nsuccess\nok\nchunked\n0x3\nabcEND\n'),
    ("v2 bad status", 2, b'foo', b'bzr response 2\nbogus\nok\n'),
    ("v2 bad marker v1 error", 2, b'has', b"error\x01Generic bzr smart protocol error: bad request 'bzr request 2'\n"),
    ("v2 bad marker ssh", 2, b'hello', b'SSH-2.0-OpenSSH_9.0\r\n'),
    ("v2 eof in marker", 2, b'hello', b'bzr resp'),
    ("v2 eof after status", 2, b'hello', b'bzr response 2\nsuccess\n'),
    ("v2 failed get dir", 2, b'get', b'bzr response 2\nfailed\n'),
    ("v3 no status byte", 3, b'method-name', v3msg(s(b'l14:response valuee'), headers=H0)),
    ("v3 trivial", 3, b'foo', v3msg(b'oS', s(b'le'), headers=H0)),
    ("v3 hello", 3, b'hello', v3msg(b'oS', s(b'l2:ok1:2e'))),
    ("v3 unknown method", 3, b'method-name', v3msg(b'oE', s(b'l13:UnknownMethod11:method-namee'))),
    ("v3 error", 3, b'foo', v3msg(b'oE', s(b'l9:first arg10:second arge'))),
    ("v3 error with body", 3, b'get', v3msg(b'oE', s(b'l9:ReadError3:dire'), bpart(b'xyz'))),
    ("v3 get", 3, b'get', v3msg(b'oS', s(b'l2:oke'), bpart(b'contents\nof\nfile\n'))),
    ("v3 readv", 3, b'readv', v3msg(b'oS', s(b'l5:readve'), bpart(b'34501'))),
    ("v3 list_dir", 3, b'list_dir', v3msg(b'oS', s(b'l5:names8:emptydir8:testfile9:readvfile3:dir6:branche'))),
    ("v3 stat", 3, b'stat', v3msg(b'oS', s(b'l4:stat2:175:33188e'))),
    ("v3 multiple parts", 3, b'foo', v3msg(b'oS', s(b'le'), bpart(b'Some bytes\n'), bpart(b'More bytes'))),
    ("v3 interrupted stream", 3, b'foo', v3msg(b'oS', s(b'l4:argse'), bpart(b'aaa'), bpart(b'bbb'), b'oE', s(b'l5:error9:Exception5:Boom!e'))),
    ("v3 stream unknown method", 3, b'foo', v3msg(b'oS', s(b'l4:argse'), bpart(b'aaa'), b'oE', s(b'l13:UnknownMethod3:fooe'))),
    ("v3 stream success status", 3, b'foo', v3msg(b'oS', s(b'l2:oke'), bpart(b'aaa'), b'oS')),
    ("v3 empty part", 3, b'foo', v3msg(b'oS', s(b'l2:oke'), bpart(b''))),
    ("v3 connection lost in body", 3, b'foo', M3 + H0 + b'oS' + s(b'le') + b'b\0\0\xff\xffincomplete chunk'),
    ("v3 connection lost in marker", 3, b'foo', M3[:10]),
    ("v3 connection lost in headers", 3, b'foo', M3 + H0[:5]),
    ("v3 connection lost before end", 3, b'foo', M3 + H0 + b'oS' + s(b'l2:oke')),
    ("v3 empty response", 3, b'foo', b''),
    ("v3 bad marker v1 error", 3, b'has', b"error\x01Generic bzr smart protocol error: bad request 'bzr message 3 (bzr 1.6)'\n"),
    ("v3 bad marker v2", 3, b'method-name', b'bzr response 2\nfailed\n\n'),
    ("v3 bad marker ssh", 3, b'hello', b'SSH-2.0-OpenSSH_9.0\r\n'),
    ("v3 bad marker late", 3, b'hello', M3[:20] + b'X.6)\n'),
    ("v3 bad status byte", 3, b'foo', v3msg(b'oX', s(b'le'))),
    ("v3 structure after body", 3, b'foo', v3msg(b'oS', s(b'le'), bpart(b'a'), s(b'le'))),
    ("v3 two structures", 3, b'foo', v3msg(b'oS', s(b'le'), s(b'le'))),
    ("v3 two status bytes", 3, b'foo', v3msg(b'oS', b'oS', s(b'le'))),
    ("v3 excess after end", 3, b'foo', v3msg(b'oS', s(b'l2:oke'), bpart(b'x')) + b'garbage'),
]

MODES = ("tuple", "body", "stream", "cancel")


def response_vectors():
    out = []
    for name, version, verb, resp in RESPONSES:
        for mode in range(4):
            if mode == 2 and version == 1:
                continue  # v1 has no read_streamed_body
            try:
                trace = run_response(version, verb, resp, mode)
            except Crash as exc:
                sys.stderr.write("skipped (Breezy crashes: %s): %s / %s\n"
                                 % (exc, name, MODES[mode]))
                continue
            out.append(dict(name="%s / %s" % (name, MODES[mode]), version=version,
                            verb=verb, mode=mode, resp=resp, trace=trace))
    return out


def c_bytes_or_null(b):
    return "NULL" if b is None else bt.c_string(b)


def main():
    reqs = request_vectors()
    resps = response_vectors()
    path = os.path.join(HERE, "client_vectors.inc")
    with open(path, "w") as f:
        f.write("/* Generated by tests/vectors/gen_client.py from Breezy %s; do not edit. */\n"
                % bt.breezy_version())
        f.write("static const struct client_req_vec client_req_vectors[] = {\n")
        for v in reqs:
            args = v["args"]
            body = v["body"]
            f.write("{\n\t%s, %d, %d, %d,\n" % (bt.c_string(v["name"]), v["version"],
                                               int(v["hdefault"]), len(args)))
            f.write("\t{%s},\n" % ", ".join(bt.c_string(a) for a in args))
            f.write("\t{%s},\n" % ", ".join(str(len(a)) for a in args))
            f.write("\t%d,\n" % v["kind"])
            if v["kind"] == BODY_BYTES:
                f.write("\t%s, %d, 0, {{0, 0}}, 0, {NULL}, {0},\n"
                        % (bt.c_string(body), len(body)))
            elif v["kind"] == BODY_READV:
                rng = ", ".join("{%d, %d}" % r for r in body) or "{0, 0}"
                f.write("\tNULL, 0, %d, {%s}, 0, {NULL}, {0},\n" % (len(body), rng))
            elif v["kind"] == BODY_STREAM:
                ch = ", ".join(bt.c_string(x) for x in body) or "NULL"
                ln = ", ".join(str(len(x)) for x in body) or "0"
                f.write("\tNULL, 0, 0, {{0, 0}}, %d, {%s}, {%s},\n" % (len(body), ch, ln))
            else:
                f.write("\tNULL, 0, 0, {{0, 0}}, 0, {NULL}, {0},\n")
            f.write("\t%s,\n\t%d\n},\n" % (bt.c_string(v["expect"]), len(v["expect"])))
        f.write("};\n\n")
        f.write("static const struct client_resp_vec client_resp_vectors[] = {\n")
        for v in resps:
            f.write("{\n\t%s, %d, %s, %d,\n\t%s,\n\t%d,\n\t%s\n},\n" % (
                bt.c_string(v["name"]), v["version"], bt.c_string(v["verb"]), v["mode"],
                bt.c_string(v["resp"]), len(v["resp"]), bt.c_string(v["trace"])))
        f.write("};\n")
    print("wrote %s: %d request vectors, %d response vectors" % (path, len(reqs), len(resps)))


if __name__ == "__main__":
    main()
