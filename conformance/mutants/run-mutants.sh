#!/bin/sh
# Mutation self-test of the conformance suite.
#
#   run-mutants.sh SMARTWIRE [SERVER-TEMPLATE [EXPECTATIONS]]
#
# Puts conformance/mutants/mutate.py between the runner and a correct
# server (default: Breezy's `brz serve --inet`) once per mutation, and
# checks that the suite FAILS every broken server and passes the harmless
# rewrites (same bytes, other write sizes and timing).  A subset of cases
# keeps the run short; the first failure ends a mutant's run (--max-fail 1).
# Exit status 0 only if every mutant is killed and no harmless one is.
set -u
SW=${1:?usage: run-mutants.sh SMARTWIRE [SERVER-TEMPLATE [EXPECTATIONS]]}
HERE=$(cd "$(dirname "$0")" && pwd)
SERVER=${2:-"brz serve --inet --directory={dir} {options}"}
EXPECT=${3:-"$HERE/../expectations/breezy-3.3.2.txt"}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
case "$SERVER" in
brz*)
	if ! command -v brz >/dev/null 2>&1; then
		echo "run-mutants.sh: FAIL: brz (Breezy) is not installed; the mutants wrap 'brz serve --inet'." >&2
		echo "Install it (apt-get install brz) or pass another correct server template." >&2
		exit 1
	fi ;;
esac
SUBSET="detect.marker.* detect.unknown.v1 detect.unknown.v2 detect.unknown.v3
detect.mixed.v3-v2-v1 v12.status.* v12.body.v1-get v12.body.v2-get v12.body.v1-readv
v12.body.v2-put v3.framing.get v3.framing.error-response v3.framing.response-headers
vfs.get.v?.ok vfs.get.v?.nosuchfile vfs.has.* vfs.stat.v?.file vfs.list-dir.v?.dir
vfs.readv.v?.ok vfs.readv.v?.short vfs.put.v?.readonly vfs.append.v?.ok
session.pipeline.v3-then-close session.pipeline.mixed-then-close"
LOG=${TMPDIR:-/tmp}/sw-mutants.$$
mkdir -p "$LOG"
killed=0 survived=0 harmless_ok=0 harmless_bad=0
for m in $("$PY" "$HERE/mutate.py" --list); do
	# A harmless rewrite must pass every case, so a wait cut short by a
	# busy machine would look like a failure: it gets 10 s per wait (it
	# costs nothing when the answers come).  A mutant stops at its first
	# failure, which often is a wait that runs out: 2 s keeps that short.
	case $m in
	harmless-*) extra="" tmo=10000 ;;
	*) extra="--max-fail 1" tmo=2000 ;;
	esac
	# shellcheck disable=SC2086
	"$SW" conform --cases "$HERE/../cases" \
		--server-cmd "$PY $HERE/mutate.py $m -- $SERVER" \
		--expect "$EXPECT" --strict --sweep none --timeout "$tmo" -j 2 -q \
		--name "mutant $m" $extra $SUBSET >"$LOG/$m.txt" 2>&1
	rc=$?
	first=$(grep -m1 -E '^(fail|non-strict|fixed|unimplemented) ' "$LOG/$m.txt" | awk '{print $2}')
	case $m in
	harmless-*)
		if [ $rc -eq 0 ]; then
			harmless_ok=$((harmless_ok + 1)); echo "ok      $m (no case failed)"
		else
			harmless_bad=$((harmless_bad + 1)); echo "WRONG   $m failed ${first:-?} (see $LOG/$m.txt)"
		fi ;;
	*)
		if [ $rc -eq 1 ] && [ -n "$first" ]; then
			killed=$((killed + 1)); echo "killed  $m by $first"
		else
			survived=$((survived + 1)); echo "SURVIVED $m (exit $rc; see $LOG/$m.txt)"
		fi ;;
	esac
done
total=$((killed + survived))
echo "mutation score: $killed/$total mutants killed; harmless rewrites: $harmless_ok passed, $harmless_bad failed"
[ $survived -eq 0 ] && [ $harmless_bad -eq 0 ] && rm -rf "$LOG"
[ $survived -eq 0 ] && [ $harmless_bad -eq 0 ]
