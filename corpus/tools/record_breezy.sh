#!/bin/bash
# Records real Breezy client <-> `brz serve` traffic through `smartwire record`.
#
# For each scenario a fresh `brz serve` is started on a free port, a recording
# proxy is put in front of it, and Breezy's own client (the brz command, or
# breezy.transport from Python) is driven through the proxy.  Each direction
# of each connection lands in corpus/recordings/<scenario>/conn-NNN.{c2s,s2c}
# with a conn-NNN.log of timed chunks.  See corpus/recordings/README.md.
#
# Usage: corpus/tools/record_breezy.sh [PATH/TO/smartwire]
#   (default: $SMARTWIRE, else build/tools/smartwire under the source tree)
# Needs brz and python3-breezy (run with /usr/bin/python3).  Idempotent: each
# scenario's directory is replaced.  Every wait is bounded; every process this
# script starts is killed on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
sw=${1:-${SMARTWIRE:-$root/build/tools/smartwire}}
out=$root/corpus/recordings
py=/usr/bin/python3
brz_bin=$(command -v brz)
step_timeout=${STEP_TIMEOUT:-120}   # seconds for any one client command

[ -x "$sw" ] || { echo "record_breezy.sh: smartwire not found at $sw" >&2; exit 2; }
[ -n "$brz_bin" ] || { echo "record_breezy.sh: brz not found" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sw-record.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		# Bounded: SIGKILL whatever is still there after 5 s.
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A private Breezy home: config, whoami, log, no user plugins.
export HOME=$tmp/home
export XDG_CONFIG_HOME=$HOME/.config XDG_CACHE_HOME=$HOME/.cache
export BRZ_PLUGIN_PATH=-user
export LC_ALL=C.UTF-8 TZ=UTC
mkdir -p "$HOME"
brz whoami "Test <test@example.com>"

# wait_port FILE: prints N from "listening on port: N" once FILE has it.
wait_port() {
	local f=$1 n
	for _ in $(seq 200); do
		n=$(sed -n 's/.*listening on port: \([0-9][0-9]*\).*/\1/p' "$f" 2>/dev/null | head -1)
		if [ -n "$n" ]; then echo "$n"; return 0; fi
		sleep 0.1
	done
	echo "record_breezy.sh: no 'listening on port' in $f after 20 s:" >&2
	cat "$f" >&2
	return 1
}

# stop PID: SIGTERM, then wait at most 10 s (SIGKILL after).
stop() {
	local p=$1
	kill "$p" 2>/dev/null || true
	for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }; sleep 0.1; done
	kill -9 "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
}

# start_scenario NAME [--upstream-cmd]: a fresh served directory, a server and
# a recorder.  Sets $port (the proxy's) and $srv.  With --upstream-cmd the
# proxy spawns `brz serve --inet` per connection (a pipe upstream) instead of
# forwarding to the TCP server.
start_scenario() {
	name=$1
	srv=$tmp/$name/srv
	rm -rf "$out/$name" "$tmp/$name"
	mkdir -p "$srv"
	if [ "${2:-}" = --upstream-cmd ]; then
		upstream=(--upstream-cmd="$brz_bin serve --inet --directory=$srv --allow-writes")
		server_pid=
	else
		"$brz_bin" serve --listen=127.0.0.1 --port=0 --directory="$srv" --allow-writes \
			2>"$tmp/$name/serve.err" &
		server_pid=$!
		pids+=("$server_pid")
		upstream=(--upstream="tcp://127.0.0.1:$(wait_port "$tmp/$name/serve.err")")
	fi
	"$sw" record --listen=127.0.0.1 --port=0 "${upstream[@]}" --out="$out/$name" \
		2>"$tmp/$name/record.err" &
	record_pid=$!
	pids+=("$record_pid")
	port=$(wait_port "$tmp/$name/record.err")
	echo "== $name: proxy on port $port"
}

end_scenario() {
	stop "$record_pid"
	[ -z "$server_pid" ] || stop "$server_pid"
	sed 's/^/   /' "$tmp/$name/record.err"
	if grep -q 'with an error' "$tmp/$name/record.err"; then
		echo "record_breezy.sh: a connection in $name ended with an error" >&2
		return 1
	fi
}

b() { echo "   brz $*"; timeout "$step_timeout" "$brz_bin" "$@" >"$tmp/brz.out" 2>&1 || { cat "$tmp/brz.out" >&2; return 1; }; }

# A small local branch with three commits (fixed commit times).
work=$tmp/work
rm -rf "$work"
"$brz_bin" init -q "$work"
(
	cd "$work"
	printf 'hello\n' >hello.txt
	mkdir dir && printf 'one\ntwo\n' >dir/lines.txt
	"$brz_bin" add -q
	"$brz_bin" commit -q -m "first commit" --commit-time="2024-01-01 00:00:00 +0000"
	printf 'hello again\n' >>hello.txt
	"$brz_bin" commit -q -m "second commit" --commit-time="2024-01-02 00:00:00 +0000"
	printf 'three\n' >>dir/lines.txt
	"$brz_bin" commit -q -m "third commit" --commit-time="2024-01-03 00:00:00 +0000"
)

# Breezy's client with the smart verbs disabled: every operation goes
# through the VFS verbs (get, put, readv, stat, ...).
vfs_brz() {
	start_scenario vfs-brz
	local u=nosmart+bzr://127.0.0.1:$port
	b init-repo --no-trees "$u/repo"
	b push -d "$work" "$u/repo/trunk"
	b branch "$u/repo/trunk" "$tmp/vfs-brz/back"
	b log "$u/repo/trunk"
	b cat "$u/repo/trunk/hello.txt"
	b init "$u/standalone"
	end_scenario
}

# The same operations with the smart verbs (BzrDir.*, Branch.*,
# Repository.*, streamed bodies).
smart_brz() {
	start_scenario smart-brz
	local u=bzr://127.0.0.1:$port
	b init-repo --no-trees "$u/repo"
	b push -d "$work" "$u/repo/trunk"
	b branch "$u/repo/trunk" "$tmp/smart-brz/back"
	b log "$u/repo/trunk"
	b cat "$u/repo/trunk/hello.txt"
	b init "$u/standalone"
	end_scenario
}

# Every VFS method of breezy.transport.remote over one connection.
# vfs_transport SCHEME NAME MODE [--upstream-cmd]: SCHEME bzr (protocol v3)
# or bzr-v2 (protocol v2 only).  MODE "full" runs every method and the
# error replies; with bzr-v2 it leaves out the two calls that the 3.3.2
# server cannot answer in v2 (protocol-reference.md section 7.6), which MODE
# "v2-crash" records on their own.
vfs_transport() {
	local scheme=$1 name=$2 mode=$3
	start_scenario "$name" "${4:-}"
	echo "   python: breezy.transport over $scheme:// ($mode)"
	timeout "$step_timeout" "$py" - "$scheme://127.0.0.1:$port/" "$mode" <<'EOF'
import sys
import breezy
from breezy import errors, transport
from breezy import bzr  # noqa: F401  (registers the bzr formats)

url, mode = sys.argv[1], sys.argv[2]
v2 = url.startswith('bzr-v2:')
expected = (errors.PathError, errors.TransportError, errors.ShortReadvError,
            errors.ReadError, errors.ConnectionReset)


def try_call(name, call):
    try:
        call()
        print('   %s: no error' % name)
    except expected as e:
        print('   %s: %s' % (name, e.__class__.__name__))


with breezy.initialize():
    t = transport.get_transport(url)
    if mode == 'v2-crash':
        # Breezy 3.3.2 answers these with a partial v2 response and then
        # closes the connection; the client retries once on a new one.
        t.mkdir('d')
        t.put_bytes('d/a.txt', b'alpha\n')
        try_call('iter_files_recursive (v2 server bug)',
                 lambda: list(t.iter_files_recursive()))
        # The failed request leaves that client medium unusable: a new one.
        t = transport.get_transport(url)
        try_call('get directory (v2 server bug)', lambda: t.get_bytes('d'))
        sys.exit(0)
    print('   is_readonly', t.is_readonly())
    t.mkdir('d')
    t.mkdir('d/sub', mode=0o755)
    t.put_bytes('d/a.txt', b'alpha\n')
    t.put_bytes('d/b.bin', bytes(range(256)) * 4, mode=0o644)
    t.put_bytes_non_atomic('d/sub/n.txt', b'non atomic\n', create_parent_dir=True)
    t.put_bytes('empty', b'')
    print('   append', t.append_bytes('d/a.txt', b'beta\n'))
    t.append_bytes('d/new-by-append', b'created\n', mode=0o600)
    assert t.has('d/a.txt') and not t.has('nope')
    assert t.get_bytes('d/a.txt') == b'alpha\nbeta\n'
    assert t.get('d/b.bin').read() == bytes(range(256)) * 4
    got = list(t.readv('d/b.bin', [(0, 4), (10, 2), (1000, 24)]))
    assert got == [(0, b'\x00\x01\x02\x03'), (10, b'\n\x0b'),
                   (1000, bytes(range(232, 256)))], got
    st = t.stat('d/b.bin')
    assert st.st_size == 1024, st
    t.stat('d')
    print('   list_dir', sorted(t.list_dir('d')))
    if not v2:
        print('   iter_files_recursive', sorted(t.iter_files_recursive()))
        print('   iter_files_recursive d',
              sorted(t.clone('d').iter_files_recursive()))
    t.rename('d/a.txt', 'd/renamed.txt')
    t.move('d/renamed.txt', 'moved.txt')
    t.delete('moved.txt')
    t.delete('d/sub/n.txt')
    t.rmdir('d/sub')
    # Error replies.
    try_call('get missing', lambda: t.get_bytes('nope'))
    try_call('stat missing', lambda: t.stat('nope'))
    try_call('delete missing', lambda: t.delete('nope'))
    try_call('rmdir not empty', lambda: t.rmdir('d'))
    try_call('mkdir exists', lambda: t.mkdir('d'))
    try_call('readv short', lambda: list(t.readv('d/b.bin', [(1020, 10)])))
    try_call('list_dir missing', lambda: t.list_dir('nope'))
    try_call('rename missing', lambda: t.rename('nope', 'nope2'))
    if not v2:
        try_call('get directory', lambda: t.get_bytes('d'))
    t.delete('d/b.bin')
    t.delete('d/new-by-append')
    t.delete('empty')
    t.rmdir('d')
    print('   left', sorted(t.list_dir('.')))
EOF
	end_scenario
}

command -v "$py" >/dev/null
vfs_brz
smart_brz
vfs_transport bzr vfs-transport-v3 full
vfs_transport bzr-v2 vfs-transport-v2 full --upstream-cmd
vfs_transport bzr-v2 v2-server-bug v2-crash

echo "== recorded:"
(cd "$out" && for d in */; do
	d=${d%/}
	n=$(ls "$d"/conn-*.c2s 2>/dev/null | wc -l)
	bytes=$(cat "$d"/conn-*.c2s "$d"/conn-*.s2c | wc -c)
	echo "   $d: $n connection(s), $bytes bytes"
done)
du -sh "$out" | sed 's/^/   total /'
