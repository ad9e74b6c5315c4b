#!/usr/bin/python3
"""Interop test: `smartwire call` against the real Breezy server, compared
with what Breezy's own client gets for the same call.

    run_interop.py --smartwire PATH --medium pipe|tcp --protocol auto|1|2|3
    run_interop.py --smartwire PATH --misc

With --medium/--protocol: every VFS verb and its usual error cases
(CASES below) is sent to `brz serve` -- over pipes (`--server-cmd 'brz serve
--inet ...'`, pipe:// URL) or TCP (`brz serve --port=0`, bzr:// URL) -- once
by `smartwire call` and once by Breezy's _SmartClient (breezy_call.py) in the
same protocol version, each time on a freshly rebuilt fixture tree at the
same path (error tuples carry absolute paths).  Per case we require the same
stdout (response tuple + body), the same `error: [...]` line, the same exit
code (Breezy's exception mapped as breezy_call.py documents) and the same
tree afterwards (names, types, permission bits, contents).

Breezy 3.3.2 cannot send `get` of a directory or `iter_files_recursive` in
v1/v2 (protocol-reference §7.6: the server dies or closes mid-response);
those cases are compared too: both clients must report a connection error
(exit 5), and smartwire must do so without waiting for its time-out -- except
over TCP in v1, where the server thread dies with the socket open and sends
nothing more: there both clients must end with their (short) time-out.

A v1 response has no status: Breezy's client takes a generic
("error", ...) tuple for success when the error is not in its v1 list
(protocol.py _raise_args_if_error) and then waits for a body the server
never sends.  smartwire does the same, so in those cases (v1_waits) both
clients run with a short time-out and must both end with exit 5.

--misc: the convenience subcommands (cat, ls, stat, put, readv, mkdir, rm,
rmdir, mv, hello) checked against Breezy's answers to the equivalent calls,
--json, --output, --body-file, bzr+ssh:// through a stand-in ssh whose argv
must equal Breezy's OpenSSHSubprocessVendor's, and the exit codes for
usage errors, refused connections, non-Bazaar peers and time-outs.

If Breezy is missing the test FAILS (it never skips).
"""
import argparse
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    sys.path.insert(0, HERE)
    from breezy_call import breezy_call
    from breezy.transport import ssh as _ssh
except ImportError as e:
    sys.exit("FAIL: Breezy is required (python3-breezy, run with "
             "/usr/bin/python3): %s" % e)

BRZ = [sys.executable, "-m", "breezy"]
STEP_TIMEOUT = 20          # no single call may take longer (a hang is a failure)
CLIENT_TIMEOUT = "10"      # --timeout given to smartwire in the main cases
WAIT_TIMEOUT = "1.5"       # ... and in the v1 cases where both clients wait

FIXTURE = {
    "testfile": b"line one\nline\x00two\xff\n",
    "readvfile": b"0123456789abcdef",
    "dir/a": b"a",
    "caf\u00e9": b"accent",
    "sp ace": b"space",
}
EMPTY_DIRS = ["emptydir"]


def build_fixture(root):
    for name in os.listdir(root):
        p = os.path.join(root, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)
    for rel, data in FIXTURE.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o644)
    for d in EMPTY_DIRS:
        os.makedirs(os.path.join(root, d))


def snapshot(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            data = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    data = f.read()
            out.append((os.path.relpath(p, root), stat.S_IFMT(st.st_mode),
                        stat.S_IMODE(st.st_mode), data))
    return out


class Case:
    def __init__(self, name, server, verb, args=(), body=None, readv=None,
                 expect_body=False, broken_v12=False, v1_waits=False):
        self.name, self.server, self.verb = name, server, verb
        self.args, self.body, self.readv = list(args), body, readv
        self.expect_body, self.broken_v12 = expect_body, broken_v12
        self.v1_waits = v1_waits


CASES = [
    Case("hello", "ro", "hello"),
    Case("is_readonly-ro", "ro", "Transport.is_readonly"),
    Case("is_readonly-rw", "rw", "Transport.is_readonly"),
    Case("get", "ro", "get", ["/testfile"], expect_body=True),
    Case("get-escaped", "ro", "get", ["/caf%C3%A9"], expect_body=True),
    Case("get-space", "ro", "get", ["/sp%20ace"], expect_body=True),
    Case("get-nosuchfile", "ro", "get", ["/nope"], expect_body=True),
    Case("get-above-root", "ro", "get", ["/../etc/passwd"], expect_body=True,
         v1_waits=True),
    Case("get-dir", "ro", "get", ["/dir"], expect_body=True, broken_v12=True),
    Case("has-yes", "ro", "has", ["/testfile"]),
    Case("has-no", "ro", "has", ["/nope"]),
    Case("has-dir", "ro", "has", ["/dir"]),
    Case("stat-file", "ro", "stat", ["/testfile"]),
    Case("stat-dir", "ro", "stat", ["/dir"]),
    Case("stat-nosuchfile", "ro", "stat", ["/nope"]),
    Case("list_dir-root", "ro", "list_dir", ["/"]),
    Case("list_dir-dir", "ro", "list_dir", ["/dir"]),
    Case("list_dir-nosuchfile", "ro", "list_dir", ["/nope"]),
    Case("iter_files_recursive", "ro", "iter_files_recursive", ["/"],
         broken_v12=True),
    Case("readv", "ro", "readv", ["/readvfile"], readv=[(0, 3), (10, 3), (3, 2)],
         expect_body=True),
    Case("readv-short", "ro", "readv", ["/readvfile"], readv=[(10, 100)],
         expect_body=True),
    Case("readv-overlap", "ro", "readv", ["/readvfile"], readv=[(0, 5), (1, 2)],
         expect_body=True, v1_waits=True),
    Case("readv-nosuchfile", "ro", "readv", ["/nope"], readv=[(0, 1)],
         expect_body=True),
    Case("put", "rw", "put", ["/new", ""], body=b"data\x00\xff\n"),
    Case("put-mode", "rw", "put", ["/new", "384"], body=b"private"),
    Case("put-replace", "rw", "put", ["/testfile", ""], body=b""),
    Case("put-nosuchfile", "rw", "put", ["/nodir/x", ""], body=b"x"),
    Case("put-readonly", "ro", "put", ["/new", ""], body=b"x"),
    Case("put_non_atomic", "rw", "put_non_atomic", ["/a/b", "", "T", ""],
         body=b"x"),
    Case("put_non_atomic-noparent", "rw", "put_non_atomic",
         ["/r/s", "", "F", ""], body=b"x"),
    Case("put_non_atomic-readonly", "ro", "put_non_atomic",
         ["/a/b", "", "T", ""], body=b"x"),
    Case("append", "rw", "append", ["/testfile", ""], body=b"MORE"),
    Case("append-new", "rw", "append", ["/fresh", "420"], body=b"new"),
    Case("append-readonly", "ro", "append", ["/testfile", ""], body=b"MORE"),
    Case("delete", "rw", "delete", ["/testfile"]),
    Case("delete-nosuchfile", "rw", "delete", ["/nope"]),
    Case("delete-readonly", "ro", "delete", ["/testfile"]),
    Case("mkdir", "rw", "mkdir", ["/nd", ""]),
    Case("mkdir-mode", "rw", "mkdir", ["/nd", "448"]),
    Case("mkdir-exists", "rw", "mkdir", ["/dir", ""]),
    Case("mkdir-nosuchfile", "rw", "mkdir", ["/x/y", ""]),
    Case("mkdir-readonly", "ro", "mkdir", ["/nd", ""]),
    Case("rmdir", "rw", "rmdir", ["/emptydir"]),
    Case("rmdir-notempty", "rw", "rmdir", ["/dir"]),
    Case("rmdir-nosuchfile", "rw", "rmdir", ["/nope"]),
    Case("rmdir-readonly", "ro", "rmdir", ["/emptydir"]),
    Case("rename", "rw", "rename", ["/testfile", "/renamed"]),
    Case("rename-nosuchfile", "rw", "rename", ["/nope", "/x"]),
    Case("rename-readonly", "ro", "rename", ["/testfile", "/renamed"]),
    Case("move", "rw", "move", ["/testfile", "/dir/moved"]),
    Case("move-dir", "rw", "move", ["/dir", "/dir2"]),
    Case("move-readonly", "ro", "move", ["/testfile", "/moved"]),
    Case("unknown-verb", "ro", "no.such.verb", ["x"]),
    Case("hello-extra-arg", "ro", "hello", ["x"]),
]


class Servers:
    """The read-only and writable servers of one test run."""

    def __init__(self, medium, root):
        self.medium, self.root, self.procs, self.ports = medium, root, [], {}
        if medium == "tcp":
            for kind in ("ro", "rw"):
                cmd = BRZ + ["serve", "--port=0", "--listen=127.0.0.1",
                             "--directory=" + root]
                if kind == "rw":
                    cmd.append("--allow-writes")
                p = subprocess.Popen(cmd, stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL)
                self.procs.append(p)
                line = p.stderr.readline().decode()
                if not line.startswith("listening on port: "):
                    raise SystemExit("FAIL: brz serve did not start: %r" % line)
                self.ports[kind] = int(line.split(":")[1])

    def server_cmd(self, kind):
        cmd = " ".join(BRZ) + " serve --inet --directory=" + self.root
        return cmd + (" --allow-writes" if kind == "rw" else "")

    def smartwire_target(self, kind):
        """Options and URL for `smartwire call`."""
        if self.medium == "pipe":
            return ["--server-cmd", self.server_cmd(kind)], "pipe:///"
        return [], "bzr://127.0.0.1:%d/" % self.ports[kind]

    def breezy_target(self, kind):
        if self.medium == "pipe":
            return {"server_cmd": self.server_cmd(kind)}
        return {"tcp": ("127.0.0.1", self.ports[kind])}

    def close(self):
        for p in self.procs:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()


def run_smartwire(sw, argv, stdin=None, timeout=STEP_TIMEOUT):
    """Runs smartwire; returns (stdout, stderr text, exit code, seconds)."""
    t = time.monotonic()
    try:
        p = subprocess.run([sw] + argv, input=stdin, capture_output=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return b"", "HANG", -1, time.monotonic() - t
    return (p.stdout, p.stderr.decode("utf-8", "replace"), p.returncode,
            time.monotonic() - t)


def error_line(stderr):
    for line in stderr.splitlines():
        if line.startswith("error: "):
            return line
    return ""


def compare_case(sw, servers, root, c, protocol):
    """Returns a list of failure strings (empty: the case passed)."""
    opts, url = servers.smartwire_target(c.server)
    # Over TCP, Breezy's v1 server thread dies on the broken replies with
    # the socket still open: nothing but a time-out ends those calls.
    waits = protocol == "1" and (c.v1_waits or
                                 (c.broken_v12 and servers.medium == "tcp"))
    timeout = WAIT_TIMEOUT if waits else CLIENT_TIMEOUT
    argv = ["call", "--protocol", protocol, "--timeout", timeout] + opts
    if c.expect_body:
        argv.append("--expect-body")
    tmp = None
    if c.body is not None:
        tmp = os.path.join(os.path.dirname(root), "body")
        with open(tmp, "wb") as f:
            f.write(c.body)
        argv += ["--body-file", tmp]
    for s, n in c.readv or []:
        argv += ["--readv", "%d,%d" % (s, n)]
    argv += [url, "--", c.verb] + c.args

    build_fixture(root)
    out, err, code, secs = run_smartwire(sw, argv)
    ours_tree = snapshot(root)
    build_fixture(root)
    enc = os.fsencode
    b = breezy_call(protocol=protocol, verb=enc(c.verb),
                    args=[enc(a) for a in c.args], body=c.body, readv=c.readv,
                    expect_body=c.expect_body, timeout=float(timeout),
                    **servers.breezy_target(c.server))
    theirs_tree = snapshot(root)

    fails = []
    if code == -1:
        return ["smartwire hung (> %ds)" % STEP_TIMEOUT]
    if out != b.out:
        fails.append("stdout %r, Breezy %r" % (out, b.out))
    if code != b.code:
        fails.append("exit %d, Breezy %d (%s); stderr %r" % (code, b.code, b.exc, err))
    if b.exc == "UnknownSmartMethod":
        if not error_line(err):
            fails.append("no error line for an unknown verb: %r" % err)
    elif error_line(err) != b.err:
        fails.append("error line %r, Breezy %r" % (error_line(err), b.err))
    if ours_tree != theirs_tree:
        fails.append("tree after the call differs:\n  ours   %r\n  Breezy %r"
                     % (ours_tree, theirs_tree))
    if waits and (code != 5 or secs < float(WAIT_TIMEOUT)):
        fails.append("v1 generic error: want the time-out (exit 5 after %ss), "
                     "got exit %d after %.1fs" % (WAIT_TIMEOUT, code, secs))
    if c.broken_v12 and protocol in ("1", "2") and not waits:
        if code != 5:
            fails.append("Breezy's broken v1/v2 reply: exit %d, want 5" % code)
        if secs > float(CLIENT_TIMEOUT) - 1:
            fails.append("took %.1fs: waited for the time-out" % secs)
    return fails


def run_matrix(sw, medium, protocol):
    base = tempfile.mkdtemp(prefix="sw-interop-call-")
    root = os.path.join(base, "srv")
    os.mkdir(root)
    servers = Servers(medium, root)
    failed = 0
    try:
        for c in CASES:
            fails = compare_case(sw, servers, root, c, protocol)
            status = "ok" if not fails else "FAIL"
            print("%-4s %s %s %s" % (status, medium, protocol, c.name))
            for f in fails:
                print("     " + f)
            failed += bool(fails)
    finally:
        servers.close()
        shutil.rmtree(base, ignore_errors=True)
    print("%d/%d cases passed (%s, protocol %s)"
          % (len(CASES) - failed, len(CASES), medium, protocol))
    return 1 if failed else 0


# ---- --misc ---------------------------------------------------------------

class Checker:
    def __init__(self):
        self.failed = self.passed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name + (": " + detail if detail else ""))


def run_misc(sw):
    base = tempfile.mkdtemp(prefix="sw-interop-call-misc-")
    root = os.path.join(base, "srv")
    os.mkdir(root)
    servers = Servers("pipe", root)
    k = Checker()
    ro, url = servers.smartwire_target("ro")
    rw, _ = servers.smartwire_target("rw")
    bro, brw = servers.breezy_target("ro"), servers.breezy_target("rw")
    u = lambda path: "pipe://" + path  # noqa: E731

    def bz(target, verb, *args, **kw):
        return breezy_call(verb=verb.encode(), args=[os.fsencode(a) for a in args],
                           **target, **kw)

    try:
        build_fixture(root)
        # cat: the body of Breezy's get, for plain, non-ASCII and space names.
        for path, wire in (("/testfile", "/testfile"),
                           ("/caf\xe9", "/caf%C3%A9"), ("/sp ace", "/sp%20ace"),
                           ("/dir/../testfile", "/testfile")):
            out, err, code, _ = run_smartwire(sw, ["cat"] + ro + [u(path)])
            ref = bz(bro, "get", wire, expect_body=True)
            body = ref.out.split(b"\n", 1)[1]
            k.check("cat %s" % path, code == 0 and out == body,
                    "exit %d out %r err %r" % (code, out, err))
        out, err, code, _ = run_smartwire(sw, ["cat"] + ro + [u("/nope")])
        ref = bz(bro, "get", "/nope", expect_body=True)
        k.check("cat missing: exit 3 and Breezy's error tuple",
                code == 3 and out == b"" and error_line(err) == ref.err,
                "exit %d err %r ref %r" % (code, err, ref.err))
        # ls, stat, readv, hello against Breezy's tuples.
        for path in ("/", "/dir"):
            out, err, code, _ = run_smartwire(sw, ["ls"] + ro + [u(path)])
            ref = bz(bro, "list_dir", path)
            names = eval(ref.out.split(b"\n")[0].decode())  # trace of ASCII names
            k.check("ls %s" % path, code == 0 and
                    out.decode().splitlines() == names[1:], "%r vs %r" % (out, names))
        for path in ("/testfile", "/dir"):
            out, err, code, _ = run_smartwire(sw, ["stat"] + ro + [u(path)])
            t = eval(bz(bro, "stat", path).out.split(b"\n")[0].decode())
            k.check("stat %s" % path, code == 0 and out.decode() == " ".join(t[1:]) + "\n",
                    "%r vs %r" % (out, t))
        out, err, code, _ = run_smartwire(sw, ["readv"] + ro + [u("/readvfile"), "0,3", "10,3", "3,2"])
        ref = bz(bro, "readv", "/readvfile", readv=[(0, 3), (10, 3), (3, 2)], expect_body=True)
        k.check("readv", code == 0 and out == ref.out.split(b"\n", 1)[1], repr(out))
        out, err, code, _ = run_smartwire(sw, ["readv"] + ro + [u("/readvfile"), "10,100"])
        k.check("readv short: exit 3 ShortReadvError",
                code == 3 and error_line(err).startswith('error: ["ShortReadvError"'), err)
        out, err, code, _ = run_smartwire(sw, ["hello"] + ro + [u("/")])
        k.check("hello", code == 0 and out == bz(bro, "hello").out, repr(out))

        # Writes: each on a fresh tree, the tree compared with Breezy's.
        def write_case(name, argv, verb, args, body=None, stdin=None):
            build_fixture(root)
            out, err, code, _ = run_smartwire(sw, argv, stdin=stdin)
            ours = snapshot(root)
            build_fixture(root)
            ref = bz(brw, verb, *args, body=body)
            theirs = snapshot(root)
            k.check(name, code == ref.code and out == b"" and ours == theirs and
                    error_line(err) == ref.err,
                    "exit %d/%d err %r/%r trees equal %s"
                    % (code, ref.code, err, ref.err, ours == theirs))

        write_case("put from stdin", ["put"] + rw + [u("/new file")], "put",
                   ["/new%20file", ""], body=b"in\x00put", stdin=b"in\x00put")
        bf = os.path.join(base, "f")
        with open(bf, "wb") as f:
            f.write(b"from file")
        write_case("put --file --mode 600", ["put"] + rw + ["--mode", "600", "--file", bf,
                   u("/dir/new")], "put", ["/dir/new", "384"], body=b"from file")
        write_case("put missing parent", ["put"] + rw + [u("/no/x")], "put", ["/no/x", ""],
                   body=b"", stdin=b"")
        write_case("mkdir --mode 700", ["mkdir"] + rw + ["--mode=700", u("/nd")], "mkdir",
                   ["/nd", "448"])
        write_case("mkdir existing", ["mkdir"] + rw + [u("/dir")], "mkdir", ["/dir", ""])
        write_case("rm", ["rm"] + rw + [u("/testfile")], "delete", ["/testfile"])
        write_case("rm missing", ["rm"] + rw + [u("/nope")], "delete", ["/nope"])
        write_case("rmdir", ["rmdir"] + rw + [u("/emptydir")], "rmdir", ["/emptydir"])
        write_case("rmdir non-empty", ["rmdir"] + rw + [u("/dir")], "rmdir", ["/dir"])
        write_case("mv", ["mv"] + rw + [u("/testfile"), "dir/t 2"], "rename",
                   ["/testfile", "/dir/t%202"])
        build_fixture(root)
        out, err, code, _ = run_smartwire(sw, ["put"] + ro + [u("/x")], stdin=b"x")
        k.check("put on a read-only server: exit 3 ReadOnlyError",
                code == 3 and error_line(err) == 'error: ["ReadOnlyError"]', err)

        # call: --json, --output, --body.
        out, err, code, _ = run_smartwire(sw, ["call", "--json", "--expect-body"] + ro +
                                          [url, "get", "/testfile"])
        try:
            j = json.loads(out)
            ok = (j["args"] == ["ok"] and j["protocol"] == 3 and
                  j["body"].encode("latin-1") == FIXTURE["testfile"] and
                  j["body_length"] == len(FIXTURE["testfile"]))
        except (ValueError, KeyError) as e:
            ok, j = False, e
        k.check("call --json", code == 0 and ok, repr(j))
        out, err, code, _ = run_smartwire(sw, ["call", "--json"] + ro + [url, "get", "/nope"])
        try:
            j = json.loads(out)
            ok = j["error"] == "SW_ERR_ERROR_RESPONSE" and j["error_args"][0] == "NoSuchFile"
        except (ValueError, KeyError) as e:
            ok, j = False, e
        k.check("call --json error", code == 3 and ok, repr(j))
        of = os.path.join(base, "out")
        out, err, code, _ = run_smartwire(sw, ["call", "--expect-body", "--output", of] +
                                          ro + [url, "get", "/testfile"])
        with open(of, "rb") as f:
            got = f.read()
        k.check("call --output", code == 0 and out == b'["ok"]\n' and
                got == FIXTURE["testfile"], repr((out, got)))
        for p in ("auto", "3", "2", "1"):
            build_fixture(root)
            out, err, code, _ = run_smartwire(sw, ["call", "--protocol", p, "--body", "xyz"] +
                                              rw + [url, "append", "/testfile", ""])
            with open(os.path.join(root, "testfile"), "rb") as f:
                got = f.read()
            k.check("call --body (protocol %s)" % p, code == 0 and
                    out == b'["appended", "%d"]\n' % len(FIXTURE["testfile"]) and
                    got == FIXTURE["testfile"] + b"xyz", repr((out, err)))

        # bzr+ssh:// through a stand-in ssh that records its argv and runs
        # the remote command locally.
        fake = os.path.join(base, "fake-ssh")
        argv_log = os.path.join(base, "ssh-argv")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$0" "$@" > %s\n'
                    'while [ "$1" != "--" ]; do shift; done\nshift 2\nexec sh -c "$*"\n'
                    % argv_log)
        os.chmod(fake, 0o755)
        env = dict(os.environ, BZR_REMOTE_PATH=" ".join(BRZ))
        build_fixture(root)
        t = time.monotonic()
        p = subprocess.run([sw, "cat", "--ssh", fake,
                            "bzr+ssh://user@localhost:2222" + root + "/testfile"],
                           capture_output=True, env=env, timeout=STEP_TIMEOUT)
        with open(argv_log) as f:
            got_argv = f.read().splitlines()
        want = _ssh.OpenSSHSubprocessVendor()._get_vendor_specific_argv(
            "user", "localhost", 2222,
            command=[" ".join(BRZ), "serve", "--inet", "--directory=/", "--allow-writes"])
        want[0] = fake
        k.check("bzr+ssh cat", p.returncode == 0 and p.stdout == FIXTURE["testfile"],
                repr((p.returncode, p.stdout, p.stderr)))
        k.check("bzr+ssh argv is Breezy's", got_argv == want, "%r vs %r" % (got_argv, want))
        p = subprocess.run([sw, "ls", "--ssh", fake, "bzr+ssh://localhost" + root + "/dir"],
                           capture_output=True, env=env, timeout=STEP_TIMEOUT)
        k.check("bzr+ssh ls (no user, no port)", p.returncode == 0 and p.stdout == b"a\n",
                repr((p.returncode, p.stdout, p.stderr)))
        del t

        # Exit codes.
        for name, argv, want_code in (
                ("no arguments", ["call"], 2),
                ("URL only", ["call", url], 2),
                ("bad URL", ["call", "http://x/", "hello"], 2),
                ("bad port", ["call", "bzr://h:99999/", "hello"], 2),
                ("pipe:// without --server-cmd", ["call", "pipe:///", "hello"], 2),
                ("--server-cmd with bzr://", ["call", "--server-cmd", "x", "bzr://h/", "hello"], 2),
                ("bad --protocol", ["call", "--protocol", "4"] + ro + [url, "hello"], 2),
                ("bad --readv", ["call", "--readv", "1-2"] + ro + [url, "readv", "/x"], 2),
                ("bad --timeout", ["call", "--timeout", "0"] + ro + [url, "hello"], 2),
                ("unknown option", ["cat", "--frobnicate", url], 2),
                ("bad --mode", ["mkdir", "--mode", "9"] + rw + [u("/x")], 2),
                ("readv without ranges", ["readv"] + ro + [u("/readvfile")], 2),
                ("mv without target", ["mv"] + rw + [u("/testfile")], 2),
                ("v1 arg with a newline", ["call", "--protocol", "1"] + ro + [url, "has", "a\nb"], 2),
                ("server exits at once", ["call", "--server-cmd", "exit 0", url, "hello"], 5),
                ("server cannot start", ["call", "--server-cmd", "exec /nonexistent/brz",
                                         url, "hello"], 5),
                ("not a Bazaar server (auto)", ["call", "--server-cmd",
                 "printf 'SSH-2.0-OpenSSH_9.0\\r\\n'; cat >/dev/null", url, "hello"], 4),
                ("not a Bazaar server (v3)", ["call", "--protocol", "3", "--server-cmd",
                 "printf 'SSH-2.0-OpenSSH_9.0\\r\\n'; cat >/dev/null", url, "hello"], 4),
                ("garbage v2 status", ["call", "--protocol", "2", "--server-cmd",
                 "printf 'bzr response 2\\nmaybe\\nok\\n'; cat >/dev/null", url, "hello"], 4),
                ("unknown verb", ["call"] + ro + [url, "no.such.verb"], 3),
                ("help", ["call", "--help"], 0),
                ("cat help", ["cat", "--help"], 0)):
            out, err, code, _ = run_smartwire(sw, argv)
            k.check("exit %d: %s" % (want_code, name), code == want_code,
                    "got %d, stderr %r" % (code, err[-300:]))
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        out, err, code, _ = run_smartwire(sw, ["hello", "bzr://127.0.0.1:%d/" % port])
        k.check("exit 5: connection refused", code == 5 and "failed to connect" in err, err)
        out, err, code, secs = run_smartwire(sw, ["call", "--timeout", "1", "--server-cmd",
                                                  "exec sleep 30", url, "hello"])
        k.check("exit 5: --timeout 1 on a silent server", code == 5 and secs < 8,
                "exit %d after %.1fs: %r" % (code, secs, err))
    finally:
        servers.close()
        shutil.rmtree(base, ignore_errors=True)
    print("%d/%d checks passed (misc)" % (k.passed, k.passed + k.failed))
    return 1 if k.failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smartwire", required=True)
    ap.add_argument("--medium", choices=["pipe", "tcp"])
    ap.add_argument("--protocol", choices=["auto", "1", "2", "3"])
    ap.add_argument("--misc", action="store_true")
    o = ap.parse_args()
    if shutil.which(BRZ[0]) is None:
        sys.exit("FAIL: %s not found" % BRZ[0])
    if o.misc:
        return run_misc(o.smartwire)
    if not o.medium or not o.protocol:
        ap.error("need --medium and --protocol, or --misc")
    return run_matrix(o.smartwire, o.medium, o.protocol)


if __name__ == "__main__":
    sys.exit(main())
