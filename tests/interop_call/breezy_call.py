#!/usr/bin/python3
"""The reference for `smartwire call`: the same call made by Breezy's client.

    breezy_call.py (--server-cmd CMD | --tcp HOST:PORT) [--protocol auto|1|2|3]
                   [--expect-body] [--body S | --body-file F | --readv S,L ...]
                   VERB [ARG...]

It sends VERB ARG... with breezy.bzr.smart.client._SmartClient over a fresh
Breezy medium (SmartSimplePipesClientMedium over the pipes of CMD run with
/bin/sh -c, or SmartTCPClientMedium), in the given protocol version (auto:
Breezy's own negotiation; 1..3: medium._protocol_version set before the
call), and prints what `smartwire call` prints for the same call: the
response tuple in the trace notation (smartwire/format.h), a newline, then
the body (with --expect-body) raw.  Errors: an error response prints
`error: [...]` to stderr and exits 3 (UnknownSmartMethod: 3, with
`error: unknown method VERB`); Breezy's connection errors exit 5, its
protocol errors 4 -- the exit codes of tools/cmds.h.

Used by run_interop.py (in-process, through breezy_call()); runnable by hand
for diffing against `smartwire call`.  Needs /usr/bin/python3 with
python3-breezy.
"""
import argparse
import os
import select
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "vectors"))
from breezy_trace import fmt_tuple  # noqa: E402

import breezy  # noqa: E402,F401
from breezy import errors  # noqa: E402
from breezy.bzr.smart import client as _client  # noqa: E402
from breezy.bzr.smart import medium as _medium  # noqa: E402

EXIT_OK, EXIT_ERROR_RESPONSE, EXIT_PROTOCOL, EXIT_CONNECTION = 0, 3, 4, 5


class Result:
    """What a call printed: stdout bytes, the `error: ...` line, exit code,
    and the Python exception's class name (for reports)."""

    def __init__(self, out=b"", err="", code=0, exc=""):
        self.out, self.err, self.code, self.exc = out, err, code, exc


def _exit_code_of(e):
    if isinstance(e, (errors.ErrorFromSmartServer, errors.UnknownSmartMethod)):
        return EXIT_ERROR_RESPONSE
    if isinstance(e, (errors.ConnectionReset, errors.ConnectionError,
                      ConnectionError, BrokenPipeError, socket.error)):
        return EXIT_CONNECTION
    return EXIT_PROTOCOL


class _TimedReader:
    """A pipe whose reads give up after `timeout` seconds (socket.timeout),
    so that a call Breezy would wait on forever ends like smartwire's
    --timeout.  Breezy itself has no such bound."""

    def __init__(self, f, timeout):
        self._f, self._timeout = f, timeout

    def read(self, n):
        if not select.select([self._f], [], [], self._timeout)[0]:
            raise socket.timeout("no response within %ss" % self._timeout)
        return self._f.read(n)

    def close(self):
        self._f.close()


def breezy_call(server_cmd=None, tcp=None, protocol="auto", verb=b"",
                args=(), body=None, readv=None, expect_body=False,
                timeout=30):
    """Makes one call as described in the module docstring; returns a
    Result.  `tcp` is (host, port); `timeout` bounds each wait for the
    server (then exit code 5)."""
    proc = None
    if server_cmd is not None:
        proc = subprocess.Popen(["/bin/sh", "-c", server_cmd], bufsize=0,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        medium = _medium.SmartSimplePipesClientMedium(
            _TimedReader(proc.stdout, timeout), proc.stdin, "bzr://localhost/")
    else:
        socket.setdefaulttimeout(timeout)
        medium = _medium.SmartTCPClientMedium(tcp[0], tcp[1], "bzr://%s:%d/" % tcp)
    if protocol != "auto":
        medium._protocol_version = int(protocol)
    client = _client._SmartClient(medium)
    res = Result()
    try:
        resp, handler = client._call_and_read_response(
            verb, tuple(args), body=body, readv_body=readv,
            expect_response_body=expect_body)
        out = fmt_tuple(resp).encode("ascii") + b"\n"
        if expect_body:
            out += handler.read_body_bytes()
        res.out = out
    except errors.ErrorFromSmartServer as e:
        res.err = "error: " + fmt_tuple(e.error_tuple)
        res.code, res.exc = EXIT_ERROR_RESPONSE, type(e).__name__
    except errors.UnknownSmartMethod as e:
        res.err = "error: unknown method " + repr(e.verb)
        res.code, res.exc = EXIT_ERROR_RESPONSE, type(e).__name__
    except Exception as e:  # noqa: BLE001 -- every failure is a result here
        res.code, res.exc = _exit_code_of(e), "%s: %s" % (type(e).__name__, e)
    finally:
        try:
            medium.disconnect()
        except Exception:  # noqa: BLE001
            pass
        if proc is not None:
            for f in (proc.stdin, proc.stdout):
                try:
                    f.close()
                except Exception:  # noqa: BLE001
                    pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return res


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--server-cmd")
    g.add_argument("--tcp")
    ap.add_argument("--protocol", default="auto",
                    choices=["auto", "1", "2", "3"])
    ap.add_argument("--expect-body", action="store_true")
    b = ap.add_mutually_exclusive_group()
    b.add_argument("--body")
    b.add_argument("--body-file")
    b.add_argument("--readv", action="append")
    ap.add_argument("verb")
    ap.add_argument("args", nargs="*")
    o = ap.parse_args()
    enc = os.fsencode
    body = None
    if o.body is not None:
        body = enc(o.body)
    elif o.body_file is not None:
        with open(o.body_file, "rb") as f:
            body = f.read()
    readv = None
    if o.readv:
        readv = [tuple(int(x) for x in r.split(",")) for r in o.readv]
    tcp = None
    if o.tcp:
        host, port = o.tcp.rsplit(":", 1)
        tcp = (host, int(port))
    r = breezy_call(o.server_cmd, tcp, o.protocol, enc(o.verb),
                    [enc(a) for a in o.args], body, readv, o.expect_body)
    sys.stdout.buffer.write(r.out)
    sys.stdout.flush()
    if r.err:
        print(r.err, file=sys.stderr)
    elif r.code:
        print("breezy_call: " + r.exc, file=sys.stderr)
    return r.code


if __name__ == "__main__":
    sys.exit(main())
