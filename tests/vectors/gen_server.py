#!/usr/bin/python3
"""Server session vectors (ref/src/server*.c, tests/test_server*.c).

Every exchange runs the request bytes through the real server,
``/usr/bin/python3 -m breezy serve --inet --directory=ROOT``: the bytes are
written to its stdin, stdin is closed, and everything it writes to stdout is
the expected answer.  ROOT is the fixed in-memory tree that the fake dispatch
of tests/test_server.c serves (same paths, contents and modes), so that
Breezy's server-absolute error paths come out the same.

Each case has a class:
  compat   our server must answer exactly Breezy's bytes;
  eof      the input stops mid-request: Breezy answers nothing (checked);
Cases where smartwire departs on purpose (documented in server.h) are not
generated here as expectations; the C tests build them from the Breezy parts
recorded here (e.g. the unknown-verb template).

Streamed response bodies cannot be produced by the VFS verbs of a bare
directory, so their vectors come from Breezy's own encoders
(``ProtocolThreeResponder.send_response`` and ``_send_stream`` with a
``body_stream``), the same code ``brz serve`` runs.

Run: /usr/bin/python3 tests/vectors/gen_server.py   (writes server_vectors.inc)
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from breezy_trace import c_string, breezy_version, require_breezy  # noqa: E402

require_breezy()

from breezy.bzr.smart import protocol, request  # noqa: E402

ROOT = "/tmp/sw-srv-tree"
TREE = [
    ("f", "testfile", b"contents\nof\nfile\n"),
    ("f", "readvfile", b"0123456789abcdefghij"),
    ("d", "dir", None),
    ("f", "dir/a", b"aaa"),
    ("d", "emptydir", None),
]

V3 = b"bzr message 3 (bzr 1.6)\n"
H0 = b"\x00\x00\x00\x02de"                       # empty headers
HB = b"\x00\x00\x00\x1cd16:Software version5:3.3.2e"  # Breezy client headers


def u32(n):
    return n.to_bytes(4, "big")


def s(payload):
    return b"s" + u32(len(payload)) + payload


def b(payload):
    return b"b" + u32(len(payload)) + payload


def blist(*items):
    return b"l" + b"".join(b"%d:%s" % (len(x), x) for x in items) + b"e"


def v3(*parts, headers=H0):
    return V3 + headers + b"".join(parts)


HELLO3 = v3(s(blist(b"hello")), b"e")

CASES = [
    # ---- v1 ----
    ("v1 hello", "compat", b"hello\n"),
    ("v1 hello pipelined", "compat", b"hello\nhello\n"),
    ("v1 get", "compat", b"get\x01/testfile\n"),
    ("v1 get nosuchfile", "compat", b"get\x01/nope\n"),
    ("v1 get empty dir file", "compat", b"get\x01/dir/a\n"),
    ("v1 has yes", "compat", b"has\x01/testfile\n"),
    ("v1 has no", "compat", b"has\x01/nope\n"),
    ("v1 stat", "compat", b"stat\x01/testfile\n"),
    ("v1 unknown", "compat", b"foo\x01bar\n"),
    ("v1 empty line", "compat", b"\n"),
    ("v1 http request", "compat", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("v1 marker with space", "compat", b"bzr request 2 \n"),
    ("v1 marker prefix verb", "compat", b"bzr req\x01x\n"),
    ("v1 v3 marker prefix verb", "compat", b"bzr message 3\n"),
    ("v1 readv", "compat", b"readv\x01/readvfile\n7\n3,3\n0,2done\n"),
    ("v1 readv short", "compat", b"readv\x01/readvfile\n5\n15,10done\n"),
    ("v1 readv then hello", "compat", b"readv\x01/readvfile\n3\n0,1done\nhello\n"),
    ("v1 hello with body", "compat", b"hello\n3\nxyzdone\n"),
    ("v1 no newline eof", "eof", b"hello"),
    ("v1 body eof", "eof", b"readv\x01/readvfile\n7\n3,3"),
    ("v1 length eof", "eof", b"readv\x01/readvfile\n7"),
    # ---- v2 ----
    ("v2 hello", "compat", b"bzr request 2\nhello\n"),
    ("v2 get", "compat", b"bzr request 2\nget\x01/testfile\n"),
    ("v2 get nosuchfile", "compat", b"bzr request 2\nget\x01/nope\n"),
    ("v2 unknown", "compat", b"bzr request 2\nfoo\x01bar\n"),
    ("v2 readv", "compat", b"bzr request 2\nreadv\x01/readvfile\n7\n3,3\n0,2done\n"),
    ("v2 has", "compat", b"bzr request 2\nhas\x01/dir\n"),
    ("v2 marker eof", "eof", b"bzr request 2\nhel"),
    ("v2 partial marker eof", "eof", b"bzr requ"),
    # ---- mixed (protocol-reference 1.2) ----
    ("mixed v2 v1 v3", "compat",
     b"bzr request 2\nhello\nhello\n" + HELLO3),
    # ---- v3 ----
    ("v3 hello", "compat", HELLO3),
    ("v3 hello breezy headers", "compat", v3(s(blist(b"hello")), b"e", headers=HB)),
    ("v3 hello pipelined x3", "compat", HELLO3 * 3),
    ("v3 get", "compat", v3(s(blist(b"get", b"/testfile")), b"e")),
    ("v3 get nosuchfile", "compat", v3(s(blist(b"get", b"/nope")), b"e")),
    ("v3 has", "compat", v3(s(blist(b"has", b"/readvfile")), b"e")),
    ("v3 stat", "compat", v3(s(blist(b"stat", b"/readvfile")), b"e")),
    ("v3 unknown", "compat", v3(s(blist(b"foo", b"bar")), b"e")),
    ("v3 unknown non-ascii", "compat", v3(s(blist(b"caf\xc3\xa9")), b"e")),
    ("v3 readv", "compat", v3(s(blist(b"readv", b"/readvfile")), b(b"3,3\n0,2"), b"e")),
    ("v3 readv two parts", "compat",
     v3(s(blist(b"readv", b"/readvfile")), b(b"3,3\n"), b(b"0,2"), b"e")),
    ("v3 readv no body", "compat", v3(s(blist(b"readv", b"/readvfile")), b"e")),
    ("v3 readv oS", "compat",
     v3(s(blist(b"readv", b"/readvfile")), b(b"1,2"), b"oS", b"e")),
    ("v3 readv short", "compat", v3(s(blist(b"readv", b"/readvfile")), b(b"15,10"), b"e")),
    ("v3 empty args", "compat", v3(s(b"le"), b"e") + HELLO3),
    ("v3 args string", "compat", v3(s(b"3:abc"), b"e") + HELLO3),
    ("v3 args empty string", "compat", v3(s(b"0:"), b"e") + HELLO3),
    ("v3 args int", "compat", v3(s(b"i5e"), b"e") + HELLO3),
    ("v3 args dict", "compat", v3(s(b"d1:a1:be"), b"e") + HELLO3),
    ("v3 args int verb", "compat", v3(s(b"li1e5:helloe"), b"e") + HELLO3),
    ("v3 args list verb", "compat", v3(s(b"ll1:aee"), b"e") + HELLO3),
    ("v3 args dict verb", "compat", v3(s(b"ldee"), b"e") + HELLO3),
    ("v3 byte before args", "compat", v3(b"oX", b"oX", s(blist(b"hello")), b"e") + HELLO3),
    ("v3 end before args", "compat", v3(b"e") + HELLO3),
    ("v3 hello with body", "compat", v3(s(blist(b"hello")), b(b"xyz"), b"e") + HELLO3),
    ("v3 hello with oS", "compat", v3(s(blist(b"hello")), b"oS", b"e") + HELLO3),
    ("v3 hello second args", "compat",
     v3(s(blist(b"hello")), s(blist(b"x")), b"e") + HELLO3),
    ("v3 readv bad status byte", "compat",
     v3(s(blist(b"readv", b"/readvfile")), b(b"1,2"), b"oX", b"e") + HELLO3),
    ("v3 readv second args", "compat",
     v3(s(blist(b"readv", b"/readvfile")), s(b"l1:xi3ed1:k1:vee"), b"e") + HELLO3),
    ("v3 readv end after oE", "compat",
     v3(s(blist(b"readv", b"/readvfile")), b"oE", b"e") + HELLO3),
    ("v3 readv bytes after oE", "compat",
     v3(s(blist(b"readv", b"/readvfile")), b"oE", b(b"a'b\x00\n"), b"e") + HELLO3),
    ("v3 readv bytes after oS", "compat",
     v3(s(blist(b"readv", b"/readvfile")), b"oS", b(b"q\"'\\"), b"e") + HELLO3),
    ("v3 bytes before args", "compat", v3(b(b"a'b"), s(blist(b"hello")), b"e") + HELLO3),
    ("v3 unknown with body", "compat",
     v3(s(blist(b"foo")), b(b"body"), b"e") + HELLO3),
    ("v3 empty args with body", "compat",
     v3(s(b"le"), b(b"body"), b"e") + HELLO3),
    # Framing errors: the input ends right after the bad element, so that
    # Breezy's desynchronisation (it would read the rest as new requests)
    # does not show; we answer the same and then close.
    ("v3 headers not bencoded", "compat", V3 + b"\x00\x00\x00\x02xx"),
    ("v3 headers not dict", "compat", V3 + b"\x00\x00\x00\x02le"),
    ("v3 headers string", "compat", V3 + b"\x00\x00\x00\x053:abc"),
    ("v3 headers cut string", "compat", V3 + b"\x00\x00\x00\x043:abc"),
    ("v3 headers empty", "compat", V3 + b"\x00\x00\x00\x00"),
    ("v3 headers unsorted", "compat", V3 + b"\x00\x00\x00\x0cd1:b0:1:a0:e"),
    ("v3 structure not bencoded", "compat", v3(s(b"xx"))),
    ("v3 structure junk", "compat", v3(s(b"lee"))),
    ("v3 structure bad int", "compat", v3(s(b"li01ee"))),
    ("v3 structure truncated", "compat", v3(s(b"l5:hel"))),
    ("v3 bad kind before args", "compat", v3(b"X")),
    ("v3 bad kind after args", "compat", v3(s(blist(b"hello")), b"X")),
    ("v3 bad kind in body", "compat", v3(s(blist(b"readv", b"/readvfile")), b(b"1,2"), b"X")),
    ("v3 bad structure after args", "compat", v3(s(blist(b"hello")), s(b"xx"))),
    # EOF inside a request: nothing is answered.
    ("v3 eof in marker", "eof", V3[:10]),
    ("v3 eof in headers", "eof", V3 + b"\x00\x00"),
    ("v3 eof in args", "eof", v3() + b"s\x00\x00\x00\x10l5:he"),
    ("v3 eof in body", "eof", v3(s(blist(b"readv", b"/readvfile"))) + b"b\x00\x00\x00\x05" + b"1,"),
    ("v3 eof before end", "eof", v3(s(blist(b"readv", b"/readvfile")), b(b"1,2"))),
]


def build_tree():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.mkdir(ROOT)
    for kind, path, data in TREE:
        p = os.path.join(ROOT, path)
        if kind == "d":
            os.mkdir(p)
            os.chmod(p, 0o755)
        else:
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, 0o644)


def run_breezy(data, home):
    env = dict(os.environ, HOME=home, BRZ_LOG=os.devnull)
    p = subprocess.run(["/usr/bin/python3", "-m", "breezy", "serve", "--inet",
                        "--directory=" + ROOT],
                       input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=60)
    return p.stdout, p.returncode, p.stderr


def stream_vectors():
    """Streamed bodies through Breezy's own server-side encoders."""
    out = []

    def v3resp(resp):
        buf = []
        r = protocol.ProtocolThreeResponder(buf.append)
        r.send_response(resp)
        return b"".join(buf)

    def v12resp(cls, resp):
        buf = []
        p = cls(None, buf.append)
        p._send_response(resp)
        return b"".join(buf)

    def stream(chunks, fail):
        for c in chunks:
            yield c
        if fail:
            yield request.FailedSmartServerResponse(fail)

    specs = [
        ("stream 0", [], None),
        ("stream 1", [b"chunk0"], None),
        ("stream 3", [b"chunk0", b"chunk1", b"chunk2"], None),
        ("stream 2 fail", [b"chunk0", b"chunk1"], (b"error", b"Boom")),
        ("stream 0 fail", [], (b"error", b"Boom")),
    ]
    for name, chunks, fail in specs:
        def mk():
            return request.SuccessfulSmartServerResponse(
                (b"ok",), body_stream=stream(chunks, fail))
        for ver, fn in ((1, lambda: v12resp(protocol.SmartServerRequestProtocolOne, mk())),
                        (2, lambda: v12resp(protocol.SmartServerRequestProtocolTwo, mk())),
                        (3, lambda: v3resp(mk()))):
            out.append((name, ver, len(chunks), 1 if fail else 0, fn()))
    return out


def response_vectors():
    """Plain responses of the fake verbs, encoded by Breezy's responders."""
    specs = [
        ("echo", request.SuccessfulSmartServerResponse((b"echo",), b"abc\ndef\x00")),
        ("echo empty", request.SuccessfulSmartServerResponse((b"echo",), b"")),
        ("bodyfail", request.FailedSmartServerResponse((b"BodyFailed",))),
    ]
    out = []
    for name, resp in specs:
        for ver in (1, 2, 3):
            buf = []
            if ver == 3:
                protocol.ProtocolThreeResponder(buf.append).send_response(resp)
            else:
                cls = (protocol.SmartServerRequestProtocolOne if ver == 1
                       else protocol.SmartServerRequestProtocolTwo)
                cls(None, buf.append)._send_response(resp)
            out.append((name, ver, b"".join(buf)))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    build_tree()
    home = tempfile.mkdtemp(prefix="sw-srv-home-")
    try:
        rows = []
        for name, cls, data in CASES:
            got, rc, err = run_breezy(data, home)
            if rc != 0:
                sys.exit("case %r: brz serve exited %d: %s" % (name, rc, err))
            if cls == "eof" and got:
                sys.exit("case %r: Breezy answered an incomplete request" % name)
            rows.append((name, cls, data, got))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    streams = stream_vectors()
    path = os.path.join(here, "server_vectors.inc")
    with open(path, "w") as f:
        f.write("/* Generated by tests/vectors/gen_server.py from Breezy %s; do not edit.\n"
                " * Served tree: %s */\n" % (breezy_version(), ROOT))
        f.write("#define SW_T_SRV_ROOT %s\n" % c_string(ROOT))
        f.write("static const struct srv_vec srv_vectors[] = {\n")
        for name, cls, data, got in rows:
            f.write("{\n\t%s,\n\t%d,\n\t%s,\n\t%d,\n\t%s,\n\t%d\n},\n" % (
                c_string(name), 1 if cls == "eof" else 0, c_string(data), len(data),
                c_string(got), len(got)))
        f.write("};\n")
        f.write("static const struct srv_stream_vec srv_stream_vectors[] = {\n")
        for name, ver, n, fail, got in streams:
            f.write("{\n\t%s,\n\t%d, %d, %d,\n\t%s,\n\t%d\n},\n" % (
                c_string(name), ver, n, fail, c_string(got), len(got)))
        f.write("};\n")
        f.write("static const struct srv_resp_vec srv_resp_vectors[] = {\n")
        for name, ver, got in response_vectors():
            f.write("{\n\t%s,\n\t%d,\n\t%s,\n\t%d\n},\n" % (
                c_string(name), ver, c_string(got), len(got)))
        f.write("};\n")
    print("wrote %s: %d exchanges, %d stream vectors" % (path, len(rows), len(streams)))


if __name__ == "__main__":
    main()
