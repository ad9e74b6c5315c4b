#!/usr/bin/python3
"""Differential test: `brz serve --inet` against `smartwire serve --inet`.

The same request bytes go to both servers, one after the other, over the
same fixture tree rebuilt at the same path before every run, so that the
server-absolute paths in error tuples (and hence v3 length prefixes) are the
same on both sides.  Responses must be identical byte for byte, after
normalising only the value of the v3 "Software version" header.

Every VFS verb is sent in each protocol version (v1, v2, v3), with its
usual error cases, in sessions: one read-only session with every verb (the
write verbs answer ReadOnlyError), one --allow-writes session that writes,
renames and deletes, and one session per documented departure:

  DEPARTURES (smartwire/vfs_server.h; Breezy 3.3.2 bug, protocol-reference
  §7.6): `get` of a directory and `iter_files_recursive` in v1/v2.  Breezy's
  reply carries a `str` that its v1/v2 encoder cannot write: v1 closes the
  connection with no output, v2 sends only the status line and closes.  For
  these sessions the test checks that Breezy still produces exactly that
  broken output (so a fixed Breezy is noticed) and that smartwire sends the
  tuple v3 carries, in the v1/v2 form written below.

Usage:
  differential.py --smartwire PATH        run the comparison (exit 0 = all equal)
  differential.py --gen OUT.inc           write C vectors for
                                          tests/vfs/test_vfs_server_*.c (Breezy's
                                          answers, served from ROOT_GEN)

Breezy is /usr/bin/python3 -m breezy; if it is missing the test FAILS.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT_GEN = "/tmp/sw-vsrv-tree"

# (kind, path, data, mode)
FIXTURE = [
    ("f", "testfile", b"contents\nof\nfile\n", 0o644),
    ("f", "readvfile", b"0123456789abcdefghij", 0o644),
    ("d", "dir", None, 0o755),
    ("f", "dir/a", b"aaa", 0o644),
    ("d", "emptydir", None, 0o755),
    ("d", "deep", None, 0o755),
    ("d", "deep/sub", None, 0o755),
    ("f", "deep/sub/b", b"bb", 0o600),
]

V3 = b"bzr message 3 (bzr 1.6)\n"


def u32(n):
    return n.to_bytes(4, "big")


def req(version, args, body=None):
    """One request in the given protocol version, built from the framing
    rules of protocol-reference §2/§3 (the same bytes Breezy's client
    encoders produce)."""
    if version == 3:
        lst = b"l" + b"".join(b"%d:%s" % (len(a), a) for a in args) + b"e"
        out = V3 + b"\x00\x00\x00\x02de" + b"s" + u32(len(lst)) + lst
        if body is not None and body != b"":
            out += b"b" + u32(len(body)) + body
        return out + b"e"
    line = b"\x01".join(args) + b"\n"
    if body is not None:
        line += b"%d\n" % len(body) + body + b"done\n"
    return (b"bzr request 2\n" if version == 2 else b"") + line


# Requests of the read-only session: (args, body, flags).  Flag "diff" marks
# requests whose answer depends on the file system (directory sizes, readdir
# order of a directory with several entries): compared live against Breezy
# on the same file system, but left out of the generated C vectors.
RO = [
    ((b"hello",), None, ""),
    ((b"hello", b"x"), None, ""),
    ((b"Transport.is_readonly",), None, ""),
    ((b"get", b"/testfile"), None, ""),
    ((b"get", b"testfile"), None, ""),
    ((b"get", b"/test%66ile"), None, ""),
    ((b"get", b"/dir/../testfile"), None, ""),
    ((b"get", b"/nope"), None, ""),
    ((b"get", b"/../etc/passwd"), None, ""),
    ((b"get",), None, ""),
    ((b"get", b"/testfile", b"x"), None, ""),
    ((b"get", b"/caf\xc3\xa9"), None, ""),
    ((b"get", b"/caf\xff"), None, ""),
    ((b"has", b"/caf\xff"), None, ""),
    ((b"has", b"/testfile"), None, ""),
    ((b"has", b"/nope"), None, ""),
    ((b"has", b"/dir"), None, ""),
    ((b"has", b"/../../etc/passwd"), None, ""),
    ((b"stat", b"/testfile"), None, ""),
    ((b"stat", b"/deep/sub/b"), None, ""),
    ((b"stat", b"/nope"), None, ""),
    ((b"stat", b"/dir"), None, "diff"),
    ((b"list_dir", b"/dir"), None, ""),
    ((b"list_dir", b"/emptydir"), None, ""),
    ((b"list_dir", b"/testfile"), None, ""),
    ((b"list_dir", b"/nope"), None, ""),
    ((b"list_dir", b"/"), None, "diff"),
    ((b"iter_files_recursive", b"/nope"), None, ""),
    ((b"readv", b"/readvfile"), b"3,3\n0,2", ""),
    ((b"readv", b"/readvfile"), b"15,10", ""),
    ((b"readv", b"/readvfile"), b"0,3\n1,2", ""),
    ((b"readv", b"/readvfile"), b"3-3", ""),
    ((b"readv", b"/readvfile"), b"x,1", ""),
    ((b"readv", b"/nope"), b"0,1", ""),
    ((b"readv", b"/readvfile"), b"", ""),
    ((b"put", b"/new", b""), b"data", ""),
    ((b"put_non_atomic", b"/new", b"", b"F", b""), b"data", ""),
    ((b"append", b"/testfile", b""), b"more", ""),
    ((b"delete", b"/testfile"), None, ""),
    ((b"mkdir", b"/nd", b""), None, ""),
    ((b"rmdir", b"/emptydir"), None, ""),
    ((b"rename", b"/testfile", b"/t2"), None, ""),
    ((b"move", b"/testfile", b"/t2"), None, ""),
    ((b"foo", b"bar"), None, ""),
    ((b"hello",), None, ""),
]

# The --allow-writes session, in order: each request sees the effects of
# the ones before it.
RW = [
    ((b"Transport.is_readonly",), None, ""),
    ((b"put", b"/new", b"420"), b"data", ""),
    ((b"get", b"/new"), None, ""),
    ((b"stat", b"/new"), None, ""),
    ((b"append", b"/new", b""), b"MORE", ""),
    ((b"get", b"/new"), None, ""),
    ((b"append", b"/fresh", b"384"), b"xy", ""),
    ((b"stat", b"/fresh"), None, ""),
    ((b"put", b"/nodir/x", b""), b"z", ""),
    ((b"put", b"/bad", b"abc"), b"z", "v3"),  # v1/v2: see DEPARTURES
    ((b"put", b"/empty", b"420"), b"", ""),
    ((b"get", b"/empty"), None, ""),
    ((b"put_non_atomic", b"/pd/f", b"420", b"T", b"493"), b"x", ""),
    ((b"get", b"/pd/f"), None, ""),
    ((b"put_non_atomic", b"/qd/f", b"", b"F", b""), b"x", ""),
    ((b"mkdir", b"/nd", b"448"), None, ""),
    ((b"mkdir", b"/nd", b""), None, ""),
    ((b"mkdir", b"/nope/nd", b""), None, ""),
    ((b"mkdir", b"/md", b"abc"), None, ""),
    ((b"list_dir", b"/nd"), None, ""),
    ((b"rename", b"/new", b"/nd/r"), None, ""),
    ((b"rename", b"/nope", b"/nd/s"), None, ""),
    ((b"has", b"/new"), None, ""),
    ((b"move", b"/nd/r", b"/m"), None, ""),
    ((b"get", b"/m"), None, ""),
    ((b"move", b"/nope", b"/m2"), None, ""),
    ((b"delete", b"/m"), None, ""),
    ((b"delete", b"/nope"), None, ""),
    ((b"rmdir", b"/dir"), None, ""),
    ((b"rmdir", b"/emptydir"), None, ""),
    ((b"rmdir", b"/nope"), None, ""),
    ((b"has", b"/emptydir"), None, ""),
    ((b"put", b"/../x", b""), b"z", "v3"),  # v1/v2: see DEPARTURES
    ((b"hello",), None, ""),
]

# Departures: (name, version, args, body, our answer, Breezy 3.3.2's answer).
# Breezy's bytes are checked too, so that a fixed Breezy shows.
_BAD_MODE = (b"error\x01ValueError\x01invalid literal for int() with base 10: b'abc'\n")
_ABOVE = (b"error\x01breezy.urlutils.InvalidURLJoin\x01Invalid URL join request: "
          b"Cannot go above root: '/' + ('../x',)\n")
_BAD_REQ = b"error\x01Generic bzr smart protocol error: bad request '%s'\n"
DEPARTURES = [
    ("get dir", 1, (b"get", b"/dir"), None, b"ReadError\x01dir\n", b""),
    ("get dir", 2, (b"get", b"/dir"), None, b"bzr response 2\nfailed\nReadError\x01dir\n",
     b"bzr response 2\nfailed\n"),
    ("iter_files_recursive", 1, (b"iter_files_recursive", b"/deep"), None,
     b"names\x01sub/b\n", b""),
    ("iter_files_recursive", 2, (b"iter_files_recursive", b"/deep"), None,
     b"bzr response 2\nsuccess\nnames\x01sub/b\n", b"bzr response 2\nsuccess\n"),
    # A body verb answered before its body (the mode is parsed first): Breezy
    # then parses the body "1\nzdone\n" as two more v1 requests.
    ("put bad mode", 1, (b"put", b"/bad", b"abc"), b"z", _BAD_MODE,
     _BAD_MODE + _BAD_REQ % b"1" + _BAD_REQ % b"zdone"),
    ("put bad mode", 2, (b"put", b"/bad", b"abc"), b"z",
     b"bzr response 2\nfailed\n" + _BAD_MODE,
     b"bzr response 2\nfailed\n" + _BAD_MODE + _BAD_REQ % b"1" + _BAD_REQ % b"zdone"),
    ("put above root", 1, (b"put", b"/../x", b""), b"z", _ABOVE,
     _ABOVE + _BAD_REQ % b"1" + _BAD_REQ % b"zdone"),
    ("put above root", 2, (b"put", b"/../x", b""), b"z", b"bzr response 2\nfailed\n" + _ABOVE,
     b"bzr response 2\nfailed\n" + _ABOVE + _BAD_REQ % b"1" + _BAD_REQ % b"zdone"),
]
V3_EXTRA = [
    ((b"get", b"/dir"), None, ""),
    ((b"get", b"/"), None, ""),
    ((b"iter_files_recursive", b"/deep"), None, ""),
    ((b"iter_files_recursive", b"/dir"), None, ""),
]


def sessions(gen=False):
    """(name, writes_allowed, request bytes, departure answer or None,
    Breezy's broken answer for a departure)."""
    out = []
    for v in (1, 2, 3):
        ro = RO + (V3_EXTRA if v == 3 else [])
        for label, rw, reqs in (("ro", False, ro), ("rw", True, RW)):
            data = b"".join(req(v, a, b) for a, b, f in reqs
                            if not (gen and f == "diff") and not (f == "v3" and v != 3))
            out.append(("v%d %s" % (v, label), rw, data, None, None))
    for name, v, args, body, ours, broken in DEPARTURES:
        out.append(("v%d departure %s" % (v, name), body is not None, req(v, args, body),
                    ours, broken))
    return out


def build_fixture(root):
    if os.path.lexists(root):
        shutil.rmtree(root)
    os.mkdir(root)
    os.chmod(root, 0o755)
    for kind, path, data, mode in FIXTURE:
        p = os.path.join(root, path)
        if kind == "d":
            os.mkdir(p)
        else:
            with open(p, "wb") as f:
                f.write(data)
        os.chmod(p, mode)


HDR = re.compile(rb"bzr message 3 \(bzr 1\.6\)\n\x00\x00\x00.d16:Software version(\d+):", re.S)


def normalise(b):
    """Replace the v3 Software version header by a fixed one."""
    out, pos = [], 0
    for m in HDR.finditer(b):
        n = int(m.group(1))
        end = m.end() + n + 1  # value + the dict's closing 'e'
        out.append(b[pos:m.start()] + b"<v3 marker + headers>")
        pos = end
    out.append(b[pos:])
    return b"".join(out)


def run(argv, data, env, timeout=60):
    t = time.time()
    p = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=timeout, preexec_fn=lambda: os.umask(0o022))
    return p.stdout, p.returncode, p.stderr, time.time() - t


def brz_argv(root, rw):
    return (["/usr/bin/python3", "-m", "breezy", "serve", "--inet", "--directory=" + root] +
            (["--allow-writes"] if rw else []))


def first_diff(a, b):
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def check_breezy():
    try:
        p = subprocess.run(["/usr/bin/python3", "-c", "import breezy; print(breezy.__version__)"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    except FileNotFoundError:
        p = None
    if p is None or p.returncode != 0:
        sys.exit("FAIL: Breezy is not installed (/usr/bin/python3 -m breezy); "
                 "apt-get install brz python3-breezy")
    return p.stdout.decode().strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smartwire")
    ap.add_argument("--gen")
    ap.add_argument("--root", help="fixture path (default: a new temporary directory)")
    a = ap.parse_args()
    version = check_breezy()
    work = tempfile.mkdtemp(prefix="sw-diff-")
    home = os.path.join(work, "home")
    os.mkdir(home)
    env = dict(os.environ, HOME=home, BRZ_LOG=os.devnull, LC_ALL="C.UTF-8")
    env.pop("BRZ_NO_SMART_VFS", None)
    root = a.root or (ROOT_GEN if a.gen else os.path.join(work, "root"))
    failures = 0
    rows = []
    try:
        for name, rw, data, ours, want_broken in sessions(gen=bool(a.gen)):
            build_fixture(root)
            bout, brc, berr, bt = run(brz_argv(root, rw), data, env)
            if ours is not None:
                if bout != want_broken:
                    print("NOTE %s: Breezy no longer shows the 3.3.2 bug: %r" % (name, bout))
                    failures += 1
                expected = ours
            else:
                if brc != 0:
                    print("FAIL %s: brz serve exited %d: %s" % (name, brc, berr.decode()[-500:]))
                    failures += 1
                expected = bout
            rows.append((name, rw, data, expected, ours is not None))
            if not a.smartwire:
                continue
            build_fixture(root)
            argv = [a.smartwire, "serve", "--inet", "--directory=" + root] + (
                ["--allow-writes"] if rw else [])
            sout, src, serr, st = run(argv, data, env)
            ok = normalise(sout) == normalise(expected) and src == 0
            print("%s %-32s %6d bytes  brz %.2fs  smartwire %.3fs%s" % (
                "ok  " if ok else "FAIL", name, len(sout), bt, st,
                "  (departure)" if ours is not None else ""))
            if not ok:
                failures += 1
                x, y = normalise(expected), normalise(sout)
                i = first_diff(x, y)
                print("     first difference at byte %d (exit %d, stderr %r)" % (i, src, serr[-300:]))
                print("     expected: %r" % x[max(0, i - 80):i + 120])
                print("     got:      %r" % y[max(0, i - 80):i + 120])
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if root == ROOT_GEN and os.path.lexists(root):
            shutil.rmtree(root, ignore_errors=True)
    if a.gen:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "..", "vectors"))
        from breezy_trace import c_string
        with open(a.gen, "w") as f:
            f.write("/* Generated by tests/interop/differential.py --gen from Breezy %s\n"
                    " * (brz serve --inet --directory=%s); do not edit.  Departure rows\n"
                    " * hold smartwire's documented answer (smartwire/vfs_server.h). */\n"
                    % (version, ROOT_GEN))
            f.write("#define SW_T_VSRV_ROOT %s\n" % c_string(ROOT_GEN))
            f.write("static const struct vsrv_fx vsrv_fixture[] = {\n")
            for kind, path, data, mode in FIXTURE:
                f.write("\t{'%s', %s, %s, %d, 0%o},\n" % (
                    kind, c_string(path.encode()), c_string(data or b""),
                    len(data or b""), mode))
            f.write("};\n")
            f.write("static const struct vsrv_vec vsrv_vectors[] = {\n")
            for name, rw, data, expected, dep in rows:
                f.write("{\n\t%s, %d, %d,\n\t%s,\n\t%d,\n\t%s,\n\t%d\n},\n" % (
                    c_string(name), 1 if rw else 0, 1 if dep else 0, c_string(data),
                    len(data), c_string(expected), len(expected)))
            f.write("};\n")
        print("wrote %s: %d sessions" % (a.gen, len(rows)))
    if failures:
        print("%d FAILURES" % failures)
        return 1
    if a.smartwire:
        print("all %d sessions identical (departures as documented)" % len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
