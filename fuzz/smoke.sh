#!/usr/bin/env bash
# Fuzz smoke: runs every libFuzzer target of an OSS-Fuzz-style build
# directory for a bounded number of runs, starting from its seed corpus and
# dictionary, in parallel across the cores.  Exits non-zero if any target
# crashes, leaks, times out or fails to start; the reproducer is kept in
# DIR/smoke/<target>/.  fuzz_server_session runs twice: on its in-memory file
# system (its default) and on the real one (SW_FUZZ_FS=disk, shown as
# fuzz_server_session@disk), so that both stay covered.
#
#   fuzz/smoke.sh [--build] DIR
#
# --build first builds DIR with fuzz/oss-fuzz-local.sh (what the ctest
# fuzz.smoke does).  SW_SMOKE_RUNS (default 20000) and SW_SMOKE_SECONDS
# (default 20) bound each target.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=0
if [ "${1:-}" = "--build" ]; then
	build=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: $0 [--build] DIR" >&2
	exit 2
fi
DIR=$1
RUNS=${SW_SMOKE_RUNS:-20000}
SECONDS_EACH=${SW_SMOKE_SECONDS:-20}
JOBS=$(nproc 2>/dev/null || echo 2)

if [ $build = 1 ]; then
	"$ROOT/fuzz/oss-fuzz-local.sh" "$DIR" >/dev/null
fi
# unzip is not in every image; Python's zipfile module does the same job.
unzip_to() {
	if command -v unzip >/dev/null; then
		unzip -q -o "$1" -d "$2"
	elif command -v python3 >/dev/null; then
		python3 -m zipfile -e "$1" "$2"
	else
		echo "smoke.sh: neither unzip nor python3 found: apt-get install unzip" >&2
		return 1
	fi
}

DIR=$(cd "$DIR" && pwd)
targets=()
for bin in "$DIR"/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] && targets+=("$(basename "$bin")")
done
[ -x "$DIR/fuzz_server_session" ] && targets+=(fuzz_server_session@disk)
if [ ${#targets[@]} -eq 0 ]; then
	echo "smoke.sh: no fuzz_* binaries in $DIR" >&2
	exit 1
fi

rm -rf "$DIR/smoke"
mkdir -p "$DIR/smoke"

# smoke_one NAME[@disk]: one bounded libFuzzer run; its log is
# DIR/smoke/NAME.log.  "@disk" runs the target with SW_FUZZ_FS=disk.
smoke_one() {
	local label=$1 name=${1%@disk} work="$DIR/smoke/$1" env=()
	[ "$label" != "$name" ] && env=(SW_FUZZ_FS=disk)
	mkdir -p "$work/corpus"
	if [ -f "$DIR/${name}_seed_corpus.zip" ]; then
		unzip_to "$DIR/${name}_seed_corpus.zip" "$work/corpus"
	fi
	local dict=()
	[ -f "$DIR/$name.dict" ] && dict=(-dict="$DIR/$name.dict")
	if env "${env[@]}" "$DIR/$name" -runs="$RUNS" -max_total_time="$SECONDS_EACH" -timeout=10 \
		-rss_limit_mb=2560 -max_len=16384 -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$work/" "$work/corpus" >"$DIR/smoke/$label.log" 2>&1; then
		local stats
		stats=$(grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' \
			"$DIR/smoke/$label.log" | awk '{printf "%s ", $2}')
		echo "ok    $label (runs, exec/s: $stats)"
		rm -rf "$work"
	else
		echo "FAIL  $label: see $DIR/smoke/$label.log; reproducer in $work/"
		grep -E 'ERROR|SUMMARY|Test unit|^[a-z_0-9]+: ' "$DIR/smoke/$label.log" | head -20 |
			sed 's/^/      /'
		return 1
	fi
}

failed=0
running=0
for name in "${targets[@]}"; do
	smoke_one "$name" &
	running=$((running + 1))
	if [ $running -ge "$JOBS" ]; then
		wait -n || failed=1
		running=$((running - 1))
	fi
done
while [ $running -gt 0 ]; do
	wait -n || failed=1
	running=$((running - 1))
done

if [ $failed != 0 ]; then
	echo "smoke.sh: at least one target failed" >&2
	exit 1
fi
echo "smoke.sh: ${#targets[@]} target(s) clean"
