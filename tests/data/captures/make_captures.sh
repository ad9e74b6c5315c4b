#!/bin/bash
# Regenerates the packet captures of tests/data/captures/ and their expected
# conversations (README.md there lists what each one shows).
#
# Usage: tests/data/captures/make_captures.sh [PATH/TO/smartwire]
#   (default: $SMARTWIRE, else build/gcc/tools/smartwire under the tree)
#
# Needs: dumpcap (Wireshark's capture program; run as root or with its
# capabilities), brz and python3-breezy (/usr/bin/python3), and free TCP
# ports 4155-4157 on the loopback interface.  Real sessions are captured on
# `lo` with a port filter: Breezy's `brz` client against `brz serve` and
# against `smartwire serve`, clients.py for what brz never sends (v1, v2
# VFS calls, pipelined requests).  damage.py then derives the damaged
# captures from them, and expect.py (Breezy's decoders, its own TCP
# reassembly) writes each capture's NAME.expect.json.
#
# The fixture is fixed (contents, committer, commit times), but revision ids,
# ports and timings differ on every run: the expected files are regenerated
# with the captures, never edited by hand.  Every wait is bounded; every
# process this script starts is killed on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
sw=${1:-${SMARTWIRE:-$root/build/gcc/tools/smartwire}}
py=/usr/bin/python3
[ -x "$sw" ] || { echo "make_captures.sh: smartwire not found at $sw" >&2; exit 2; }
command -v dumpcap >/dev/null || { echo "make_captures.sh: dumpcap missing: apt-get install tshark" >&2; exit 2; }
command -v brz >/dev/null || { echo "make_captures.sh: brz missing: apt-get install brz" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sw-captures.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

export HOME=$tmp/home BRZ_LOG=/dev/null BRZ_PLUGIN_PATH=-site:-user
export BRZ_EMAIL='Capture Test <capture@example.com>'
brz() { timeout 120 "$py" -m breezy "$@"; }
mkdir -p "$HOME" "$tmp/srv" "$tmp/out"

# The served branch: two commits at fixed times.
brz init -q "$tmp/srv/br"
(
	cd "$tmp/srv/br"
	printf 'one\n' > f
	mkdir d
	printf 'deep\n' > d/g
	brz add -q f d
	brz commit -q -m first --commit-time='2024-01-01 12:00:00 +0000'
	printf 'one\ntwo\n' > f
	brz commit -q -m second --commit-time='2024-01-02 12:00:00 +0000'
)

wait_for() { # FILE PATTERN: bounded wait for PATTERN in FILE
	for _ in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "make_captures.sh: timed out waiting for '$2' in $1" >&2
	cat "$1" >&2 || true
	exit 1
}

srv=
start_brz() { # PORT ADDR [options]
	local port=$1 addr=$2
	shift 2
	# Started directly (not through the brz function) so that $! is the
	# server itself and stop_srv ends it.
	"$py" -m breezy serve --listen="$addr" --port="$port" --directory="$tmp/srv" "$@" \
		> "$tmp/serve.log" 2>&1 &
	srv=$!
	pids+=("$srv")
	wait_for "$tmp/serve.log" "listening on port: $port"
}
start_sw() { # PORT [options]
	local port=$1
	shift
	"$sw" serve --listen=127.0.0.1 --port="$port" --directory="$tmp/srv" "$@" 2> "$tmp/serve.log" &
	srv=$!
	pids+=("$srv")
	wait_for "$tmp/serve.log" "listening on port: $port"
}
stop_srv() {
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	# The port is free again before the next server binds it.
	for _ in $(seq 100); do
		ss -tlnH | grep -q -e ":$capture_port " || break
		sleep 0.1
	done
}

dc=
cap_file=
start_capture() { # NAME PORT IFACE [dumpcap options]
	local name=$1 port=$2 iface=$3
	shift 3
	cap_file=$tmp/out/$name
	dumpcap -q -i "$iface" -f "tcp port $port" -w "$cap_file" "$@" > "$tmp/dumpcap.log" 2>&1 &
	dc=$!
	pids+=("$dc")
	wait_for "$tmp/dumpcap.log" "Capturing on"
	# The file header is written once the capture runs.
	for _ in $(seq 100); do [ -s "$cap_file" ] && break; sleep 0.1; done
	capture_port=$port
}
stop_capture() {
	# Every connection of the port closed (no state but TIME-WAIT), then
	# dumpcap drains what the kernel still holds and stops.
	for _ in $(seq 100); do
		[ -z "$(ss -tanH "( sport = :$capture_port or dport = :$capture_port )" |
			grep -v -e TIME-WAIT -e LISTEN)" ] && break
		sleep 0.1
	done
	sleep 0.5
	kill -INT "$dc"
	wait "$dc" 2>/dev/null || true
	echo "captured $(basename "$cap_file"): $(stat -c %s "$cap_file") bytes"
}

# ---- real sessions ----

# v3, smart verbs: brz cat and brz log against brz serve (port 4155, the
# default Wireshark dissects as bzr), Ethernet on lo, pcapng.
start_brz 4155 127.0.0.1
start_capture brz-v3-cat-log.pcapng 4155 lo
brz cat bzr://127.0.0.1:4155/br/f > "$tmp/cat.out"
brz log --line bzr://127.0.0.1:4155/br > "$tmp/log.out"
stop_capture
grep -q two "$tmp/cat.out" && grep -q second "$tmp/log.out"

# v2: brz cat through bzr-v2:// (Linux cooked capture v2 on "any").
start_capture brz-v2-cat.pcapng 4155 any -y LINUX_SLL2
brz cat bzr-v2://127.0.0.1:4155/br/f > "$tmp/cat2.out"
stop_capture
grep -q two "$tmp/cat2.out"

# v1: Breezy's SmartClientRequestProtocolOne (Linux cooked v1, classic pcap).
start_capture brz-v1-vfs.pcap 4155 any -y LINUX_SLL -P
timeout 60 "$py" "$here/clients.py" v1 127.0.0.1 4155 > /dev/null
stop_capture
stop_srv

# v3 with streamed bodies: brz branch (Repository.get_stream_1.19 answers in
# many parts and segments) and brz push of a third commit
# (Repository.insert_stream_1.19 sends a streamed request body).
start_brz 4155 127.0.0.1 --allow-writes
start_capture brz-v3-branch-push.pcapng 4155 lo
brz branch -q bzr://127.0.0.1:4155/br "$tmp/clone"
(
	cd "$tmp/clone"
	printf 'three\n' > d/h
	brz add -q d/h
	brz commit -q -m third --commit-time='2024-01-03 12:00:00 +0000'
	brz push -q bzr://127.0.0.1:4155/br
)
stop_capture
stop_srv

# IPv6 on ::1, port 4157 (not the default: the --port option).
start_brz 4157 ::1
start_capture brz-v3-ipv6.pcapng 4157 lo
brz cat bzr://[::1]:4157/br/f > "$tmp/cat6.out"
stop_capture
stop_srv
grep -q two "$tmp/cat6.out"

# smartwire serve (VFS verbs only: nosmart+bzr://), port 4156.
start_sw 4156
start_capture sw-v3-vfs.pcap 4156 lo -P
brz cat nosmart+bzr://127.0.0.1:4156/br/f > "$tmp/cat3.out"
stop_capture
grep -q two "$tmp/cat3.out"
start_capture sw-v2-vfs.pcapng 4156 lo
timeout 60 "$py" "$here/clients.py" v2 127.0.0.1 4156 > /dev/null
stop_capture
# Pipelined requests: Breezy's server does not answer them (see README.md),
# smartwire serve does.
start_capture sw-pipelined.pcapng 4156 lo
timeout 60 "$py" "$here/clients.py" pipelined 127.0.0.1 4156 > /dev/null
stop_capture
stop_srv

# ---- install the real sessions, then derive the damage from them ----
rm -f "$here"/*.pcap "$here"/*.pcapng "$here"/*.expect.json
cp "$tmp"/out/* "$here/"
cd "$here"
D() { "$py" "$here/damage.py" "$@"; }
# The segment numbers point into the get_stream answer of `brz branch`
# (connection 1) and the insert_stream request of `brz push` (connection 2);
# damage.py refuses segments that are not where the operation needs them.
D brz-v3-branch-push.pcapng dmg-retransmit.pcap --port 4155 retransmit 1 s2c 9
D brz-v3-branch-push.pcapng dmg-reorder.pcap --port 4155 reorder 1 s2c 11
D brz-v3-branch-push.pcapng dmg-lost-response.pcap --port 4155 drop 1 s2c 12
D brz-v3-branch-push.pcapng dmg-lost-stream.pcap --port 4155 drop 2 c2s 16
D brz-v3-cat-log.pcapng dmg-lost-request.pcap --port 4155 drop 2 c2s 3
D brz-v3-cat-log.pcapng dmg-midstream.pcap --port 4155 start 1 s2c 9
# The first request and the first answer of `brz cat` in 5-byte segments.
D brz-v3-cat-log.pcapng dmg-split.pcap --port 4155 split 1 c2s 1 5 1 s2c 1 5
D brz-v3-branch-push.pcapng dmg-seqwrap.pcap --port 4155 seqwrap
D brz-v3-branch-push.pcapng dmg-snaplen.pcap --port 4155 snaplen 160
D brz-v3-cat-log.pcapng link-raw.pcap --port 4155 relink raw
D brz-v3-cat-log.pcapng link-null.pcap --port 4155 relink null

# ---- the expected conversations ----
for f in *.pcap *.pcapng; do
	port=4155
	case $f in sw-*) port=4156 ;; *ipv6*) port=4157 ;; esac
	"$py" "$here/expect.py" --port "$port" "$f" > "${f%.*}.expect.json"
done
ls -l "$here"
