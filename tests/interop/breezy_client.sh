#!/bin/bash
# Breezy's command-line client against `smartwire serve`.
#
# Usage: breezy_client.sh SMARTWIRE
#
#  1. TCP: `smartwire serve --port=0 --listen=127.0.0.1 --allow-writes` must
#     announce "listening on port: N" on stderr exactly like Breezy; then
#     brz push, log, cat and branch through nosmart+bzr://127.0.0.1:N/ (VFS
#     only) must work and produce the same history and contents.
#  2. Plain bzr://: Breezy's client needs BzrDir.open (a non-VFS verb) and
#     does NOT fall back to the VFS when the server answers UnknownMethod, so
#     `brz log bzr://...` fails with UnknownSmartMethod.  Checked, so that a
#     change on either side is noticed (a known limitation, not a pass).
#  3. bzr+ssh through BZR_REMOTE_PATH: a stand-in `ssh` (first in PATH,
#     BRZ_SSH=openssh) runs the remote command locally, so Breezy's SSH medium
#     spawns `smartwire serve --inet --directory=/ --allow-writes` exactly as
#     sshd would; the argv Breezy sent is checked, then push/revno/cat/branch
#     through nosmart+bzr+ssh:// (plain bzr+ssh:// needs BzrDir.open, as in 2;
#     that is checked too).
#  4. SIGTERM: exit status 0.
#
# Breezy missing is a FAILURE (exit 1), never a skip.
set -u
SW=$(readlink -f "$1")
BRZ="/usr/bin/python3 -m breezy"
if ! /usr/bin/python3 -c 'import breezy' 2>/dev/null; then
	echo "FAIL: Breezy is not installed (/usr/bin/python3 -m breezy); apt-get install brz"
	exit 1
fi
WORK=$(mktemp -d /tmp/sw-brz-XXXXXX)
SRV=
cleanup() {
	[ -n "$SRV" ] && kill -9 "$SRV" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
export HOME=$WORK/home BRZ_LOG=/dev/null BRZ_EMAIL='Smart Wire <sw@example.com>'
mkdir -p "$HOME" "$WORK/served" "$WORK/bin"
FAILS=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }

# A local branch with two revisions.
$BRZ init -q "$WORK/src" && cd "$WORK/src" || exit 1
printf 'one\n' > f && mkdir d && printf 'deep\n' > d/g
$BRZ add -q f d && $BRZ commit -q -m first
printf 'two\n' >> f && $BRZ commit -q -m second
cd "$WORK"

# ---- 1. TCP, VFS only ----
"$SW" serve --port=0 --listen=127.0.0.1 --allow-writes --directory="$WORK/served" \
	2> "$WORK/serve.err" &
SRV=$!
for _ in $(seq 50); do [ -s "$WORK/serve.err" ] && break; sleep 0.1; done
LINE=$(head -n1 "$WORK/serve.err")
if [[ "$LINE" =~ ^listening\ on\ port:\ ([0-9]+)$ ]]; then
	PORT=${BASH_REMATCH[1]}
	ok "announcement: '$LINE'"
else
	bad "announcement: got '$LINE'"
	exit 1
fi
URL=nosmart+bzr://127.0.0.1:$PORT
if (cd "$WORK/src" && $BRZ push -q "$URL/br") 2> "$WORK/e"; then ok "brz push $URL/br"; else bad "brz push: $(tail -3 "$WORK/e")"; fi
LOG=$($BRZ log --line "$URL/br" 2> "$WORK/e")
if [[ "$LOG" == *"2: Smart Wire"*"second"* && "$LOG" == *"1: Smart Wire"*"first"* ]]; then ok "brz log"; else bad "brz log: $LOG $(tail -3 "$WORK/e")"; fi
if [ "$($BRZ cat "$URL/br/f" 2> "$WORK/e")" = "$(printf 'one\ntwo')" ]; then ok "brz cat"; else bad "brz cat: $(tail -3 "$WORK/e")"; fi
if $BRZ branch -q "$URL/br" "$WORK/clone" 2> "$WORK/e" && cmp -s "$WORK/clone/d/g" "$WORK/src/d/g" \
	&& [ "$($BRZ revno "$WORK/clone")" = 2 ]; then ok "brz branch"; else bad "brz branch: $(tail -3 "$WORK/e")"; fi
# The pushed repository on disk is a real Breezy branch.
if [ "$($BRZ revno "$WORK/served/br" 2>/dev/null)" = 2 ]; then ok "served branch readable locally"; else bad "served branch on disk"; fi

# ---- 2. plain bzr:// ----
if $BRZ log "bzr://127.0.0.1:$PORT/br" > /dev/null 2> "$WORK/e"; then
	bad "plain bzr:// unexpectedly works now: update the documentation"
elif grep -q "UnknownSmartMethod" "$WORK/e" && grep -q "BzrDir.open" "$WORK/e"; then
	ok "plain bzr:// fails as documented (BzrDir.open unknown, no VFS fallback)"
else
	bad "plain bzr://: unexpected error: $(tail -3 "$WORK/e")"
fi

# ---- 4. SIGTERM (TCP server) ----
kill -TERM "$SRV"
wait "$SRV"; RC=$?
SRV=
if [ "$RC" = 0 ]; then ok "SIGTERM: exit 0"; else bad "SIGTERM: exit $RC"; fi

# ---- 3. bzr+ssh through BZR_REMOTE_PATH ----
cat > "$WORK/bin/ssh" <<EOF
#!/bin/bash
# Stand-in for OpenSSH: drop the options up to "--", the host, and run the
# remote command here, recording it.
while [ "\$#" -gt 0 ] && [ "\$1" != "--" ]; do shift; done
shift; shift
printf '%s\n' "\$*" >> "$WORK/ssh-argv"
exec "\$@"
EOF
chmod +x "$WORK/bin/ssh"
SSHURL="nosmart+bzr+ssh://localhost$WORK/served"
export PATH="$WORK/bin:$PATH" BRZ_SSH=openssh BZR_REMOTE_PATH="$SW"
if (cd "$WORK/src" && $BRZ push -q "$SSHURL/sshbr") 2> "$WORK/e"; then ok "bzr+ssh push"; else bad "bzr+ssh push: $(tail -3 "$WORK/e")"; fi
if [ "$($BRZ revno "$SSHURL/sshbr" 2> "$WORK/e")" = 2 ]; then ok "bzr+ssh revno"; else bad "bzr+ssh revno: $(tail -3 "$WORK/e")"; fi
if [ "$($BRZ cat "$SSHURL/sshbr/d/g" 2> "$WORK/e")" = deep ]; then ok "bzr+ssh cat"; else bad "bzr+ssh cat: $(tail -3 "$WORK/e")"; fi
if $BRZ branch -q "$SSHURL/sshbr" "$WORK/clone2" 2> "$WORK/e" && cmp -s "$WORK/clone2/f" "$WORK/src/f"; then ok "bzr+ssh branch"; else bad "bzr+ssh branch: $(tail -3 "$WORK/e")"; fi
if $BRZ revno "bzr+ssh://localhost$WORK/served/sshbr" > /dev/null 2> "$WORK/e"; then
	bad "plain bzr+ssh:// unexpectedly works now: update the documentation"
elif grep -q "UnknownSmartMethod" "$WORK/e"; then
	ok "plain bzr+ssh:// fails as documented (BzrDir.open unknown)"
else
	bad "plain bzr+ssh://: unexpected error: $(tail -3 "$WORK/e")"
fi
if [ -s "$WORK/ssh-argv" ] && ! grep -qv "^$SW serve --inet --directory=/ --allow-writes\$" "$WORK/ssh-argv"; then
	ok "Breezy ran: $(head -n1 "$WORK/ssh-argv")"
else
	bad "remote argv: $(cat "$WORK/ssh-argv" 2>/dev/null)"
fi

if [ "$FAILS" -ne 0 ]; then
	echo "$FAILS FAILURES"
	exit 1
fi
echo "all Breezy client checks passed"
