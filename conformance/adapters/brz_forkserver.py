#!/usr/bin/python3
"""A fork server for `brz`: Breezy's start-up paid once, not per process.

Usage: brz_forkserver.py SOCKET [--idle-exit SECONDS]

`brz serve --inet` spends ~100 ms of CPU starting (the interpreter, Breezy's
imports, its plugins) before it reads a byte, and the conformance suite
starts it ~2,000 times.  This program does that work once: it imports what
/usr/bin/brz imports, loads the plugins, then listens on the Unix socket
SOCKET (SOCK_SEQPACKET).  `smartwire fork-run SOCKET brz ARGS...` connects,
hands over its stdin, stdout and stderr (SCM_RIGHTS), its working directory
and its arguments; this program forks a child that takes those descriptors
as 0, 1 and 2, changes to that directory and runs `breezy.__main__.main()`
with those arguments, the function /usr/bin/brz runs.  So the child is
`brz ARGS` run by the same Breezy code on the same descriptors, minus the
imports.  `smartwire fork-run` exits as the child exits and passes SIGTERM,
SIGINT and SIGHUP on; when it dies, the child is killed.

Each request gets a supervising process (forked first: the server itself
only accepts and forks, so one slow request never delays another) which
forks the child, waits for it and sends its wait status back (4 bytes,
native order), or kills it when the client goes away.  The server reaps the
supervisors, so its children's CPU time in /proc/PID/stat is that of every
child it ran.

The server exits on SIGTERM/SIGINT, or after --idle-exit seconds (default
3600) without a request, removing SOCKET; run it under a wrapper that stops
it (bench/run_conform and tests/conform.cmake do).  Only for test benches:
every child inherits this process's environment and user, not the
client's.  Run with /usr/bin/python3 (the one with Breezy installed).
"""
import array
import io
import os
import select
import signal
import socket
import struct
import sys
import time

MAX_REQUEST = 1 << 20  # cwd and arguments, NUL-terminated each


def preload():
    """What /usr/bin/brz imports and loads before running a command."""
    import breezy.__main__  # noqa: F401  the locale and file-system encoding, as brz
    import breezy
    import breezy.breakin  # noqa: F401
    import breezy.builtins  # noqa: F401
    import breezy.commands
    import breezy.plugin
    import breezy.trace  # noqa: F401
    from breezy.bzr.smart import medium, protocol, request, server, vfs  # noqa: F401
    from breezy.transport import local, remote  # noqa: F401
    # The plugins' modules are imported here; each child's own
    # initialize() gives it a fresh library state whose load_plugins()
    # finds them already imported, as brz would have left them.
    with breezy.initialize(setup_ui=False):
        breezy.commands._register_builtin_commands()
        breezy.plugin.load_plugins()


def recv_request(conn):
    fds = array.array('i')
    msg, anc, flags, _ = conn.recvmsg(MAX_REQUEST, socket.CMSG_LEN(3 * fds.itemsize))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
    parts = msg[:-1].split(b'\0')
    if (flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(fds) != 3
            or not msg.endswith(b'\0') or len(parts) < 2):
        for fd in fds:
            os.close(fd)
        return None
    return list(fds), parts[0], parts[1:]


def fresh_stdio():
    """sys.stdin, stdout and stderr made again on descriptors 0, 1 and 2 as
    the interpreter makes them at start-up (CPython's create_stdio: the
    buffer sized for what the descriptor is now, stdout line-buffered only
    on a terminal, stderr always, newline "\n"), so that how this server was
    started (a terminal, a pipe) does not show in the child."""
    def make(fd, mode, like, errors, line):
        return io.TextIOWrapper(io.open(fd, mode + 'b', closefd=False), encoding=like.encoding,
                                errors=errors, newline='\n', line_buffering=line)
    sys.stdin = sys.__stdin__ = make(0, 'r', sys.__stdin__, sys.__stdin__.errors, False)
    sys.stdout = sys.__stdout__ = make(1, 'w', sys.__stdout__, sys.__stdout__.errors,
                                       os.isatty(1))
    sys.stderr = sys.__stderr__ = make(2, 'w', sys.__stderr__, 'backslashreplace', True)


def child(fds, cwd, argv):
    """Becomes `brz argv[1:]` on the client's descriptors; never returns."""
    try:
        for i, fd in enumerate(fds):
            os.dup2(fd, i)  # inheritable, as a spawned process's 0, 1, 2
        for fd in fds:
            if fd > 2:
                os.close(fd)
        os.chdir(cwd)
        fresh_stdio()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as Python starts
        sys.argv = [os.fsdecode(a) for a in argv]
        import breezy.__main__
        breezy.__main__.main()  # ends with os._exit
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        os._exit(code)
    except BaseException as e:  # noqa: BLE001  reported as brz would, on stderr
        try:
            os.write(2, ('brz_forkserver: %s: %s\n' % (type(e).__name__, e)).encode())
        finally:
            os._exit(3)
    os._exit(0)


def supervise(conn):
    """One request: fork the child, then relay signals and the status."""
    req = recv_request(conn)
    if req is None:
        os._exit(2)
    fds, cwd, argv = req
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    pid = os.fork()
    if pid == 0:
        conn.close()
        child(fds, cwd, argv)
    for fd in fds:
        os.close(fd)  # only the child holds them: end of stream works
    pidfd = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([conn, pidfd], [], [])
        if pidfd in ready:
            _, status = os.waitpid(pid, 0)
            try:
                conn.send(struct.pack('=i', status))
            except OSError:
                pass
            os._exit(0)
        try:
            data = conn.recv(16)
        except OSError:
            data = b''
        if not data:  # the client is gone: so is its process
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os._exit(0)
        for sig in data:
            if sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL):
                os.kill(pid, sig)


def main():
    args = sys.argv[1:]
    idle = 3600.0
    if len(args) == 3 and args[1] == '--idle-exit':
        idle = float(args[2])
        args = args[:1]
    if len(args) != 1 or args[0].startswith('-'):
        sys.stderr.write(__doc__.split('\n\n')[1] + '\n')
        sys.exit(2)
    path = args[0]
    # 0 and 1 on /dev/null: the children get the clients' descriptors, and
    # nothing of whoever started this server stays open in them.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    preload()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv.bind(path + '.tmp')
    srv.listen(64)
    os.rename(path + '.tmp', path)  # appears only once it accepts

    def stop(*_):
        try:
            os.unlink(path)
        finally:
            os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    last = time.monotonic()
    while True:
        # Supervisors are reaped here, not ignored, so that this process's
        # children's CPU time (what a bench adds up) includes every child.
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        ready, _, _ = select.select([srv], [], [], 1.0)
        if not ready:
            if time.monotonic() - last > idle:
                stop()
            continue
        last = time.monotonic()
        conn, _ = srv.accept()
        if os.fork() == 0:
            srv.close()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, signal.SIG_DFL)
            supervise(conn)
            os._exit(0)
        conn.close()


if __name__ == '__main__':
    main()
