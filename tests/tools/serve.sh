#!/usr/bin/env bash
# Checks `smartwire serve` as a program: its options (getopt_long: "--opt=V",
# "--opt V", "-d V"), usage errors, the exit statuses of --inet (0 after a
# client's framing error, as brz serve; non-zero only for the server's own
# failures), the error text of a directory that cannot be served, and that
# O_NONBLOCK is cleared again on stdin/stdout, also when they share one
# description (inetd, sshd).  Every run is bounded (--client-timeout).
set -uo pipefail
SW=$1
PY=/usr/bin/python3
fail=0
check() { # description, expected, actual
	if [ "$2" != "$3" ]; then
		printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
		fail=1
	else
		printf 'ok   %s\n' "$1"
	fi
}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/root"
printf 'data' > "$WORK/root/f"

# ---- options and usage ----
"$SW" serve --help > "$WORK/help"
check "--help exits 0" 0 $?
check "--help documents the exit statuses" 1 "$(grep -c '^Exit status' "$WORK/help")"
for bad in --bogus "--port=x" "--port 70000" "--protocol=git" "--workers=0" \
	"--client-timeout=-1" "--max-body=1q" "extra-argument" "--directory"; do
	# shellcheck disable=SC2086
	"$SW" serve $bad < /dev/null > /dev/null 2>&1
	check "usage error: $bad" 2 $?
done

# The same request through each spelling of the directory option.
for form in "--directory=$WORK/root" "--directory $WORK/root" "-d $WORK/root" \
	"-d$WORK/root" "--dir=$WORK/root"; do
	# shellcheck disable=SC2086
	out=$(printf 'has\001f\n' | "$SW" serve --inet --client-timeout=5 $form)
	check "served with $form" "yes" "$out"
done

# ---- exit statuses of --inet ----
printf 'hello\n' | "$SW" serve --inet --client-timeout=5 -d "$WORK/root" > "$WORK/out"
check "client closes: exit 0" 0 $?
# A v3 request with a bad kind byte: answered as Breezy does, then closed;
# the client's bytes are not the server's failure.
printf 'bzr message 3 (bzr 1.6)\n\0\0\0\002deX' |
	"$SW" serve --inet --client-timeout=5 -d "$WORK/root" > "$WORK/out" 2> "$WORK/err"
check "client framing error: exit 0" 0 $?
check "client framing error: answered" 1 "$(grep -c "Bad message kind byte: b'X'" "$WORK/out")"
# A request line over the limit (v1): answered, closed, exit 0.
head -c 2000000 /dev/zero | tr '\0' 'a' > "$WORK/long"
"$SW" serve --inet --client-timeout=5 -d "$WORK/root" < "$WORK/long" > "$WORK/out" 2> /dev/null
check "client over a limit: exit 0" 0 $?
# Silent client: the idle timeout, exit 0 (Breezy's ConnectionTimeout).
sleep 5 | "$SW" serve --inet --client-timeout=0.2 -d "$WORK/root" > /dev/null 2> "$WORK/err"
check "idle timeout: exit 0" 0 $?
check "idle timeout: logged" 1 "$(grep -c 'Connection Timeout' "$WORK/err")"
# Reading stdin fails (a directory: EISDIR): the server's side, exit 5.
"$SW" serve --inet --client-timeout=5 -d "$WORK/root" < "$WORK/root" > /dev/null 2> "$WORK/err"
check "stdin read error: exit 5" 5 $?
check "stdin read error: reported" 1 "$(grep -c 'the connection failed' "$WORK/err")"
# The directory cannot be served: exit 1 with the errno text.
"$SW" serve --inet -d "$WORK/missing" < /dev/null > /dev/null 2> "$WORK/err"
check "missing directory: exit 1" 1 $?
check "missing directory: errno text" 1 "$(grep -c 'No such file or directory' "$WORK/err")"

# Writing stdout fails (its reader is gone before the answer): exit 5, as
# brz serve fails then too.  stdin a socket and stdout one description
# shared with it; both blocking again after the run.
"$PY" - "$SW" "$WORK/root" <<'EOF' || fail=1
import fcntl, os, socket, subprocess, sys
sw, root = sys.argv[1], sys.argv[2]
bad = 0
def check(what, want, got):
    global bad
    print(("ok   " if want == got else "FAIL ") + what + ("" if want == got else
          "\n  expected: %r\n  actual:   %r" % (want, got)))
    bad |= want != got

r, w = os.pipe()
os.close(r)
p = subprocess.run([sw, "serve", "--inet", "--client-timeout=5", "-d", root],
                   input=b"hello\n", stdout=w, stderr=subprocess.DEVNULL, timeout=30)
os.close(w)
check("stdout reader gone: exit 5", 5, p.returncode)

for nb in (False, True):
    a, b = socket.socketpair()
    b.setblocking(not nb)
    a.sendall(b"hello\nhello\n")
    a.shutdown(socket.SHUT_WR)
    p = subprocess.Popen([sw, "serve", "--inet", "--client-timeout=5", "-d", root],
                         stdin=b.fileno(), stdout=b.fileno())
    rc = p.wait(timeout=30)
    data = b""
    a.settimeout(10)
    while len(data) < 10:  # b stays open here: read the answers, not to EOF
        chunk = a.recv(4096)
        if not chunk:
            break
        data += chunk
    check("shared stdin/stdout socket (%s before): exit 0" %
          ("non-blocking" if nb else "blocking"), 0, rc)
    check("shared stdin/stdout socket: answered", b"ok\x012\n" * 2, data)
    flags = fcntl.fcntl(b.fileno(), fcntl.F_GETFL)
    check("shared stdin/stdout socket: O_NONBLOCK as before", nb, bool(flags & os.O_NONBLOCK))
    a.close()
    b.close()

# Separate pipes as stdin and stdout: both blocking again after the run.
ir, iw = os.pipe()
orr, ow = os.pipe()
os.write(iw, b"hello\n")
os.close(iw)
p = subprocess.Popen([sw, "serve", "--inet", "--client-timeout=5", "-d", root],
                     stdin=ir, stdout=ow)
check("pipes: exit 0", 0, p.wait(timeout=30))
check("pipes: stdin blocking again", 0, fcntl.fcntl(ir, fcntl.F_GETFL) & os.O_NONBLOCK)
check("pipes: stdout blocking again", 0, fcntl.fcntl(ow, fcntl.F_GETFL) & os.O_NONBLOCK)
check("pipes: answered", b"ok\x012\n", os.read(orr, 100))
sys.exit(bad)
EOF

exit $fail
