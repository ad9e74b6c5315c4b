#!/usr/bin/python3
"""Breezy's own transport API against `smartwire serve` over TCP.

Usage: transport_api.py SMARTWIRE

Starts `smartwire serve --port=0 --listen=127.0.0.1 --allow-writes` on a
fresh directory, then, once through bzr:// (protocol v3, Breezy's default)
and once through bzr-v2:// (protocol v2), calls every VFS method of
breezy.transport.Transport and asserts the results and their effect on disk.
Ends the server with SIGTERM and requires exit status 0.

Breezy missing is a FAILURE, never a skip.
"""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile

try:
    import breezy  # noqa: F401
    from breezy import errors, transport as _transport
    from breezy.bzr import smart  # noqa: F401
    import breezy.bzr.smart.medium  # noqa: F401
except Exception as e:  # pragma: no cover
    sys.exit("FAIL: Breezy is not importable with /usr/bin/python3 (%s); "
             "apt-get install brz python3-breezy" % e)

import breezy.plugins  # noqa: F401,E402


def start_server(sw, root):
    p = subprocess.Popen([sw, "serve", "--port=0", "--listen=127.0.0.1", "--allow-writes",
                          "--directory=" + root], stderr=subprocess.PIPE)
    line = p.stderr.readline().decode()
    m = re.fullmatch(r"listening on port: (\d+)\n", line)
    if not m:
        p.kill()
        sys.exit("FAIL: expected 'listening on port: N' on stderr, got %r" % line)
    return p, int(m.group(1))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def exercise(t, root, tag):
    """Every VFS method; `root` is the served directory on disk."""
    ok = 0
    check(t.is_readonly() is False, "is_readonly")
    ok += 1
    t.put_bytes("f%s" % tag, b"hello", mode=0o640)
    check(open(os.path.join(root, "f" + tag), "rb").read() == b"hello", "put_bytes")
    check(stat.S_IMODE(os.stat(os.path.join(root, "f" + tag)).st_mode) == 0o640, "put mode")
    ok += 1
    check(t.has("f" + tag) and not t.has("nope"), "has")
    ok += 1
    check(t.get_bytes("f" + tag) == b"hello", "get_bytes")
    ok += 1
    try:
        t.get_bytes("nope")
        check(False, "get_bytes nope must raise")
    except _transport.NoSuchFile:
        pass
    ok += 1
    check(t.append_bytes("f" + tag, b" world") == 5, "append_bytes returns old length")
    check(t.get_bytes("f" + tag) == b"hello world", "append effect")
    ok += 1
    st = t.stat("f" + tag)
    check(st.st_size == 11 and stat.S_ISREG(st.st_mode), "stat file")
    ok += 1
    t.mkdir("d" + tag, mode=0o750)
    check(stat.S_ISDIR(t.stat("d" + tag).st_mode), "mkdir/stat dir")
    check(stat.S_IMODE(os.stat(os.path.join(root, "d" + tag)).st_mode) == 0o750, "mkdir mode")
    ok += 1
    try:
        t.mkdir("d" + tag)
        check(False, "mkdir twice must raise")
    except _transport.FileExists:
        pass
    ok += 1
    t.put_bytes_non_atomic("d%s/sub/x" % tag, b"xyz", create_parent_dir=True, dir_mode=0o755)
    check(t.get_bytes("d%s/sub/x" % tag) == b"xyz", "put_bytes_non_atomic create_parent_dir")
    ok += 1
    check(sorted(t.list_dir("d" + tag)) == ["sub"], "list_dir")
    ok += 1
    check(sorted(t.iter_files_recursive()) ==
          sorted(["f" + tag, "d%s/sub/x" % tag] + [x for x in _other(root, tag)]),
          "iter_files_recursive")
    ok += 1
    t.put_bytes("r" + tag, b"0123456789abcdefghij")
    got = list(t.readv("r" + tag, [(0, 2), (10, 3), (3, 2)]))
    check(got == [(0, b"01"), (10, b"abc"), (3, b"34")], "readv %r" % (got,))
    ok += 1
    try:
        list(t.readv("r" + tag, [(15, 10)]))
        check(False, "short readv must raise")
    except (errors.ShortReadvError, errors.InvalidRange):
        pass
    ok += 1
    t.rename("f" + tag, "g" + tag)
    check(not t.has("f" + tag) and t.get_bytes("g" + tag) == b"hello world", "rename")
    ok += 1
    t.move("g" + tag, "d%s/g" % tag)
    check(t.get_bytes("d%s/g" % tag) == b"hello world" and not t.has("g" + tag), "move")
    ok += 1
    t.delete("d%s/g" % tag)
    check(not t.has("d%s/g" % tag), "delete")
    ok += 1
    try:
        t.rmdir("d" + tag)
        check(False, "rmdir non-empty must raise")
    except (errors.DirectoryNotEmpty, errors.PathError):
        pass
    t.delete("d%s/sub/x" % tag)
    t.rmdir("d%s/sub" % tag)
    t.rmdir("d" + tag)
    check(not t.has("d" + tag), "rmdir")
    ok += 1
    t.delete("r" + tag)
    c = t.clone("sub" + tag)
    t.mkdir("sub" + tag)
    c.put_bytes("inner", b"in")
    check(t.get_bytes("sub%s/inner" % tag) == b"in", "cloned transport")
    c.delete("inner")
    t.rmdir("sub" + tag)
    ok += 1
    return ok


def _other(root, tag):
    """Files other than this round's, relative to root."""
    out = []
    for d, _, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), root)
            if tag not in rel:
                out.append(rel)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: transport_api.py SMARTWIRE")
    sw = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="sw-tapi-")
    root = os.path.join(work, "root")
    os.mkdir(root)
    os.environ["HOME"] = work
    os.environ["BRZ_LOG"] = os.devnull
    p, port = start_server(sw, root)
    rc = 1
    try:
        total = 0
        for scheme, tag in (("bzr", "3"), ("bzr-v2", "2")):
            t = _transport.get_transport("%s://127.0.0.1:%d/" % (scheme, port))
            n = exercise(t, root, tag)
            medium = t.get_smart_medium()
            v = medium._protocol_version
            print("ok   %s://: %d method checks, protocol v%s" % (scheme, n, v))
            check(str(v) == tag, "%s:// negotiated protocol %s" % (scheme, v))
            t.disconnect()
            total += n
        p.send_signal(signal.SIGTERM)
        code = p.wait(timeout=10)
        check(code == 0, "smartwire serve exit status %d after SIGTERM" % code)
        print("ok   SIGTERM: exit 0")
        print("all %d checks passed" % total)
        rc = 0
    except Exception as e:
        print("FAIL: %s: %s" % (type(e).__name__, e))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        shutil.rmtree(work, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
