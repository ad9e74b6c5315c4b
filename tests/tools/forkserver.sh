#!/bin/bash
# `smartwire fork-run` with the brz fork server (conformance/adapters/
# brz_forkserver.py): a brz it forks must behave as a brz started plainly.
#
#   forkserver.sh SMARTWIRE SOURCE-DIR WORK-DIR unit
#       the same bytes out for the same requests, the same exit status, end
#       of stream when the child ends, SIGTERM passed on, the child killed
#       with the client, the socket removed when the server stops
#   forkserver.sh SMARTWIRE SOURCE-DIR WORK-DIR conform BRZ-JSON
#       the whole suite against `brz serve --inet` through the fork server:
#       every case must get the verdict it got in BRZ-JSON (the report of
#       conform.breezy-server, the same suite against brz started plainly)
#
# Every wait is for a condition (a process ending, a file appearing), bounded
# by `timeout`; nothing sleeps to synchronise.
set -u
SW=${1:?usage: forkserver.sh SMARTWIRE SOURCE-DIR WORK-DIR unit|conform [BRZ-JSON]}
SW=$(cd "$(dirname "$SW")" && pwd)/$(basename "$SW")
SRC=${2:?}
WORK=${3:?}
MODE=${4:?}
if ! command -v brz >/dev/null 2>&1; then
	echo "forkserver.sh: FAIL: brz (Breezy 3.3.2) is not installed: apt-get install brz" >&2
	exit 1
fi
rm -rf "$WORK"
mkdir -p "$WORK"
SOCK=$WORK/brz.sock
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

/usr/bin/python3 "$SRC/conformance/adapters/brz_forkserver.py" "$SOCK" --idle-exit 1800 \
	2>"$WORK/server.log" &
SPID=$!
stop() { kill -TERM "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; }
trap stop EXIT
# Breezy's imports take a few seconds at most; 120 s on the busiest machine.
if ! timeout 120 bash -c "until [ -S '$SOCK' ]; do kill -0 $SPID || exit 1; sleep 0.05; done"; then
	cat "$WORK/server.log"
	echo "FAIL: the fork server did not start"
	exit 1
fi

if [ "$MODE" = conform ]; then
	REF=${5:?forkserver.sh conform needs the JSON report of the plain run}
	if [ ! -s "$REF" ]; then
		echo "forkserver.sh: FAIL: the plain run's report $REF is missing (its test failed or did not run)" >&2
		exit 1
	fi
	t0=$SECONDS
	"$SW" conform --cases "$SRC/conformance/cases" -j 2 -q --sweep none \
		--server-cmd "$SW fork-run $SOCK brz serve --inet --directory={dir} {options}" \
		--expect "$SRC/conformance/expectations/breezy-3.3.2.txt" --name "brz fork-run" \
		--json "$WORK/forked.json" >"$WORK/forked.txt" 2>&1
	echo "run through the fork server: exit $?, $((SECONDS - t0)) s; $(tail -1 "$WORK/forked.txt")"
	/usr/bin/python3 "$SRC/tests/tools/same_verdicts.py" "$REF" "$WORK/forked.json" \
		plain forked "through the fork server"
	exit $?
fi
[ "$MODE" = unit ] || { echo "forkserver.sh: unknown mode '$MODE'" >&2; exit 2; }

D=$WORK/root
mkdir -p "$D"
printf 'contents\nof\nfile\n' >"$D/testfile"
# Requests of all three versions, one connection each: a v2 hello, a v1
# get, and a v3 get as Breezy's client writes it (corpus/sessions).
printf 'bzr request 2\nhello\n' >"$WORK/v2.req"
printf 'get\001/testfile\n' >"$WORK/v1.req"
cp "$SRC/corpus/sessions/mixed-readonly.req" "$WORK/v3.req"
for v in v1 v2 v3; do
	timeout 120 brz serve --inet --directory="$D" <"$WORK/$v.req" >"$WORK/$v.plain" 2>&1
	a=$?
	timeout 120 "$SW" fork-run "$SOCK" brz serve --inet --directory="$D" \
		<"$WORK/$v.req" >"$WORK/$v.forked" 2>&1
	b=$?
	if [ $a = $b ] && cmp -s "$WORK/$v.plain" "$WORK/$v.forked" && [ -s "$WORK/$v.plain" ]; then
		ok "$v: the same $(wc -c <"$WORK/$v.plain") bytes, exit $a"
	else
		fail "$v: plain exit $a, forked exit $b; bytes differ or empty:"
		cmp "$WORK/$v.plain" "$WORK/$v.forked"
	fi
done

# The exit status and standard error of a failing command.
timeout 120 brz serve --inet --no-such-option </dev/null >/dev/null 2>"$WORK/err.plain"
a=$?
timeout 120 "$SW" fork-run "$SOCK" brz serve --inet --no-such-option \
	</dev/null >/dev/null 2>"$WORK/err.forked"
b=$?
if [ $a = $b ] && [ $a != 0 ] && cmp -s "$WORK/err.plain" "$WORK/err.forked"; then
	ok "a failing command: exit $a and the same standard error ($(head -n1 "$WORK/err.plain"))"
else
	fail "a failing command: plain exit $a, forked exit $b"
	diff "$WORK/err.plain" "$WORK/err.forked"
fi
# The working directory: a relative --directory resolves against it.
(cd "$WORK" && timeout 120 "$SW" fork-run "$SOCK" brz serve --inet --directory=root \
	<"$WORK/v1.req" >"$WORK/cwd.forked" 2>&1)
if cmp -s "$WORK/v1.plain" "$WORK/cwd.forked"; then
	ok "the working directory is the client's"
else
	fail "a relative --directory did not resolve against the client's directory"
fi

# SIGTERM to the client reaches the child: both end as plain brz does.
mkfifo "$WORK/in"
term() { # term CMD... : runs CMD with a stdin that stays open, sends SIGTERM
	# once it has answered a hello (so it is serving), prints the exit status.
	local out=$WORK/term.out
	rm -f "$out"
	"$@" <"$WORK/in" >"$out" 2>/dev/null &
	local pid=$!
	exec 7>"$WORK/in"
	printf 'bzr request 2\nhello\n' >&7
	timeout 120 bash -c "until grep -q success '$out' 2>/dev/null; do sleep 0.05; done"
	kill -TERM $pid
	wait $pid
	local rc=$?
	exec 7>&-
	echo $rc
}
a=$(term brz serve --inet --directory="$D")
b=$(term "$SW" fork-run "$SOCK" brz serve --inet --directory="$D")
if [ "$a" = "$b" ]; then
	ok "SIGTERM: plain and forked both end with status $a"
else
	fail "SIGTERM: plain ends with status $a, forked with $b"
fi

# The client killed: the server kills the child, whose end of the output
# pipe then closes (cat sees end of stream).
mkfifo "$WORK/out"
exec 7<>"$WORK/in"
"$SW" fork-run "$SOCK" brz serve --inet --directory="$D" <&7 >"$WORK/out" 2>/dev/null &
cpid=$!
exec 8<"$WORK/out"
printf 'bzr request 2\nhello\n' >&7
if timeout 120 head -c 1 <&8 >/dev/null; then
	kill -KILL $cpid
	wait $cpid 2>/dev/null
	if timeout 120 cat <&8 >/dev/null; then
		ok "the client killed: the child is gone (its output ended)"
	else
		fail "the client killed: the child still holds its output after 120 s"
	fi
else
	fail "the client killed: no answer from the child"
fi
exec 7>&- 8<&-

# No fork server there: status 125 and why, on the client's own stderr.
"$SW" fork-run "$WORK/none.sock" brz serve --inet </dev/null >/dev/null 2>"$WORK/none.err"
a=$?
if [ $a = 125 ] && grep -q "none.sock" "$WORK/none.err"; then
	ok "no fork server: exit 125 ($(head -n1 "$WORK/none.err"))"
else
	fail "no fork server: exit $a, stderr: $(head -n1 "$WORK/none.err")"
fi

# A working directory that no longer exists: status 125 and why.
mkdir "$WORK/gone"
(cd "$WORK/gone" && rmdir "$WORK/gone" &&
	"$SW" fork-run "$SOCK" brz serve --inet </dev/null >/dev/null 2>"$WORK/gone.err")
a=$?
if [ $a = 125 ] && grep -q "working directory" "$WORK/gone.err"; then
	ok "a removed working directory: exit 125 ($(head -n1 "$WORK/gone.err"))"
else
	fail "a removed working directory: exit $a, stderr: $(head -n1 "$WORK/gone.err")"
fi

stop
trap - EXIT
if [ -e "$SOCK" ]; then
	fail "the socket is left after the server stopped"
else
	ok "the server stopped and removed its socket"
fi
[ $fails = 0 ] || { echo "FAIL: $fails check(s) failed"; exit 1; }
echo "all fork-run checks passed"
