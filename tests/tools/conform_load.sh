#!/bin/bash
# Verdicts that hold under load: runs the conformance suite against a target
# once as it is and once while a load generator keeps every core busy, and
# fails unless both runs give every case the same verdict.
#
#   conform_load.sh SMARTWIRE SOURCE-DIR WORK-DIR TARGET [IDLE-JSON]
#
# IDLE-JSON: the JSON report of a run of the same cases with the same
# options made by another test (ctest runs conform.embedded,
# conform.smartwire-serve and conform.breezy-server first, as fixtures):
# only the loaded run is then made here, and every case it ran must have
# the verdict that run gave it.  Without it, the idle run is made here too.
#
# TARGET: embedded    the in-process reference server, default sweeps
#         serve       `smartwire serve --inet`, no sweeps
#         brz         `brz serve --inet` with its expectations, no sweeps,
#                     without the security matrix (1314 cases of Breezy
#                     processes would take minutes; the interop test runs it)
#
# The load is `nproc` busy loops at the runner's own niceness, so that the
# runner, the servers and the load share the cores as equals.  The JSON
# reports of both runs stay in WORK-DIR (idle-TARGET.json, loaded-TARGET.json).
set -u
SW=${1:?usage: conform_load.sh SMARTWIRE SOURCE-DIR WORK-DIR TARGET}
SRC=${2:?}
WORK=${3:?}
TARGET=${4:?}
IDLE=${5:-}
CASES=$SRC/conformance/cases
EXP=$SRC/conformance/expectations
mkdir -p "$WORK"
case $TARGET in
embedded)
	args=(--expect "$EXP/smartwire.txt") ;;
serve)
	args=(--server-cmd "$SW serve --inet --directory={dir} {options}" --sweep none
		--expect "$EXP/smartwire.txt") ;;
brz)
	if ! command -v brz >/dev/null 2>&1; then
		echo "conform_load.sh: FAIL: brz (Breezy 3.3.2) is not installed: apt-get install brz" >&2
		exit 1
	fi
	args=(--server-cmd "brz serve --inet --directory={dir} {options}" --sweep none
		--expect "$EXP/breezy-3.3.2.txt" --exclude 'security.*') ;;
*)
	echo "conform_load.sh: unknown target '$TARGET' (embedded, serve, brz)" >&2
	exit 2 ;;
esac

run() { # run NAME: one run of the suite, its JSON report in WORK/NAME-TARGET.json
	local t0=$SECONDS
	"$SW" conform --cases "$CASES" -j 2 -q "${args[@]}" --name "$1 $TARGET" \
		--json "$WORK/$1-$TARGET.json" >"$WORK/$1-$TARGET.txt" 2>&1
	echo "$1 run: exit $?, $((SECONDS - t0)) s; $(tail -1 "$WORK/$1-$TARGET.txt")"
}

loaders=()
stop_load() {
	for p in "${loaders[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${loaders[@]}"; do wait "$p" 2>/dev/null; done
	loaders=()
}
trap stop_load EXIT

if [ -n "$IDLE" ]; then
	if [ ! -s "$IDLE" ]; then
		echo "conform_load.sh: FAIL: the idle run's report $IDLE is missing (its test failed or did not run)" >&2
		exit 1
	fi
	cp "$IDLE" "$WORK/idle-$TARGET.json"
	echo "idle run: the report of another test ($IDLE)"
else
	run idle
fi
n=$(nproc 2>/dev/null || echo 2)
for _ in $(seq "$n"); do
	bash -c 'while :; do :; done' &
	loaders+=($!)
done
echo "load: $n busy loops (pids ${loaders[*]})"
run loaded
stop_load

# Same verdict for every case, the flaky ones included (flaky is never a
# pass); the differences are listed with both runs' reasons.
/usr/bin/python3 "$SRC/tests/tools/same_verdicts.py" "$WORK/idle-$TARGET.json" \
	"$WORK/loaded-$TARGET.json" idle loaded "under load"
