#!/usr/bin/env bash
# The options and the failures of `smartwire dissect` on captures: port and BPF
# filter, the limits (each reported when hit), unreadable input, and a
# recording directory without its logs.  The expected values come from the
# captures' own expectations (tests/data/captures/*.expect.json, Breezy's
# decoders) and from what each option means, not from the dissector.
#
# Usage: capture_cli.sh SMARTWIRE SOURCE_DIR NO_PCAP_SHIM
# (NO_PCAP_SHIM: tests/tools/no_pcap_shim.c built as a shared object.)
set -uo pipefail
SW=$1
SRC=$2
SHIM=$3
D() { "$SW" dissect "$@"; }
C=$SRC/tests/data/captures
PY=${PYTHON:-python3}
fail=0
check() { # description, expected, actual
	if [ "$2" != "$3" ]; then
		printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
		fail=1
	else
		printf 'ok   %s\n' "$1"
	fi
}
count() { # TYPE: objects of that type on stdin
	"$PY" -c 'import json,sys; print(sum(json.loads(l)["type"] == sys.argv[1] for l in sys.stdin if l.strip()))' "$1"
}
field() { # EXPR over the list `o` of objects on stdin
	"$PY" -c 'import json,sys; o=[json.loads(l) for l in sys.stdin if l.strip()]; print(eval(sys.argv[1]))' "$1"
}

# Unreadable input: exit 3 and a sentence on stderr.
err=$(D "$C/no-such-capture.pcap" 2>&1 >/dev/null); rc=$?
check "missing file: exit 3" 3 "$rc"
check "missing file: message" yes "$([[ $err == *no-such-capture.pcap* ]] && echo yes || echo "$err")"
# No libpcap, or one without its functions (the shim stands in for dlopen):
# exit 3 and the reason; a recording directory needs no libpcap.
err=$(SW_TEST_PCAP=missing LD_PRELOAD=$SHIM "$SW" dissect "$C/brz-v1-vfs.pcap" 2>&1 >/dev/null); rc=$?
check "no libpcap: exit 3" 3 "$rc"
check "no libpcap: message" yes "$([[ $err == *"cannot load libpcap (apt-get install libpcap0.8)"* ]] && echo yes || echo "$err")"
err=$(SW_TEST_PCAP=incomplete LD_PRELOAD=$SHIM "$SW" dissect "$C/brz-v1-vfs.pcap" 2>&1 >/dev/null); rc=$?
check "incomplete libpcap: exit 3" 3 "$rc"
check "incomplete libpcap: message" yes "$([[ $err == *"libpcap has no pcap_open_offline_with_tstamp_precision"* ]] && echo yes || echo "$err")"
out=$(SW_TEST_PCAP=missing LD_PRELOAD=$SHIM "$SW" dissect "$SRC/corpus/recordings/vfs-brz"); rc=$?
check "no libpcap: a recording directory still dissects" "0 yes" \
	"$rc $([[ $out == *"clean"* ]] && echo yes || echo "$out")"

# Not a capture: one direction of one connection, decoded as such.
out=$(D "$SRC/corpus/sessions/v3-readonly.req"); rc=$?
check "not a capture: one-direction view, exit 0" "0 yes" \
	"$rc $([[ $out == "message 1: request v3"* ]] && echo yes || echo "$out")"
err=$(D --trace "$C/brz-v3-cat-log.pcapng" 2>&1 >/dev/null); rc=$?
check "--trace on a capture: usage, exit 2" 2 "$rc"
err=$(D --filter 'tcp port banana' "$C/brz-v3-cat-log.pcapng" 2>&1 >/dev/null); rc=$?
check "bad BPF filter: exit 3" 3 "$rc"
check "bad BPF filter: message" yes "$([[ $err == *filter* ]] && echo yes || echo "$err")"

# The BPF filter: the client port of the second connection keeps only it.
port2=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["connections"][1]["client_port"])' "$C/brz-v3-cat-log.expect.json")
out=$(D --json --filter "tcp port $port2" "$C/brz-v3-cat-log.pcapng")
check "filter: one connection" 1 "$(count connection <<<"$out")"
check "filter: it is the second" "127.0.0.1:$port2" "$(field '[x for x in o if x["type"]=="connection"][0]["client"]' <<<"$out")"

# The port: nothing of the capture is on 4156; everything is on 4155.
out=$(D --json --port 4156 "$C/brz-v3-cat-log.pcapng"); rc=$?
check "other port: no connection" 0 "$(count connection <<<"$out")"
check "other port: segments counted" yes "$(field '"yes" if o[-1]["other_port"] > 0 else o[-1]' <<<"$out")"
check "other port: clean, exit 0" "True 0" "$(field 'o[-1]["clean"]' <<<"$out") $rc"
check "IPv6 capture needs --port 4157" 1 "$(D --json --port 4157 "$C/brz-v3-ipv6.pcapng" | count connection)"

# Held out-of-order bytes over the limit: reported, holes given up early.
out=$(D --json --max-held 500 "$C/dmg-lost-stream.pcap"); rc=$?
check "max-held: limit reported" 1 "$(field 'sum(x["type"]=="limit" and x["what"]=="held_bytes" for x in o)' <<<"$out")"
check "max-held: gaps with cause limit" yes "$(field '"yes" if any(x["type"]=="gap" and x["cause"]=="limit" for x in o) else "no"' <<<"$out")"
check "max-held: exit 1" 1 "$rc"

# Messages over the limit: reported at the limit, exit 1.
out=$(D --json --max-message 200 "$C/brz-v3-cat-log.pcapng"); rc=$?
check "max-message: too large reported" yes "$(field '"yes" if any(x["type"]=="exchange" and (x["response"] or {}).get("error")=="SW_ERR_MESSAGE_TOO_LARGE" for x in o) else "no"' <<<"$out")"
check "max-message: exit 1" 1 "$rc"

# Every JSON line parses and the last one is the capture summary.
for f in "$C"/*.pcap "$C"/*.pcapng; do
	port=4155
	case $(basename "$f") in sw-*) port=4156 ;; *ipv6*) port=4157 ;; esac
	last=$(D --json --port "$port" "$f" | field 'o[-1]["type"]')
	[ "$last" = capture ] || check "$(basename "$f"): JSON lines" capture "$last"
done
check "every capture's JSON parses" ok ok

# The text view: exchanges, gaps and the verdict.
out=$(D "$C/dmg-lost-request.pcap")
check "text: request not captured" yes "$([[ $out == *"[request not captured]"* ]] && echo yes || echo no)"
check "text: gap line" yes "$([[ $out == *"gap: c2s bytes"* ]] && echo yes || echo no)"
check "text: verdict" yes "$([[ $(tail -1 <<<"$out") == *"anomalies found"* ]] && echo yes || echo no)"

# A recording without its .log files: no times, paired by order.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sw-capture-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp "$SRC"/corpus/recordings/vfs-transport-v3/conn-001.c2s "$SRC"/corpus/recordings/vfs-transport-v3/conn-001.s2c "$tmp/"
out=$(D --json "$tmp"); rc=$?
check "recording without logs: clean" "True 0" "$(field 'o[-1]["clean"]' <<<"$out") $rc"
check "recording without logs: 38 exchanges, all paired" "38 38" "$(field 'str(sum(x["type"]=="exchange" for x in o)) + " " + str(sum(x["type"]=="exchange" and bool(x["request"]) and bool(x["response"]) for x in o))' <<<"$out")"
check "recording without logs: times 0" 0.0 "$(field 'max(x["request"]["time"] for x in o if x["type"]=="exchange")' <<<"$out")"
exit $fail
