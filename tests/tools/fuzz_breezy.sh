#!/bin/sh
# ctest fuzz.blackbox-breezy: a short fixed-seed `smartwire fuzz` campaign
# against `brz serve --inet` must find something (exit 1) with crash cases
# among what it writes; at least one case must fail against Breezy, and
# every case must pass against smartwire's own server.
#   fuzz_breezy.sh PATH/TO/smartwire
sw=$1
command -v brz >/dev/null 2>&1 || { echo 'FAIL: brz (Breezy 3.3.2) is not installed: apt-get install brz' >&2; exit 1; }
out=$(mktemp -d) || exit 1
trap 'rm -rf "$out"' EXIT
brz="brz serve --inet --directory={dir} {options}"
"$sw" fuzz --server-cmd "$brz" --seed 1 --runs 60 -j 2 -q --min-budget 20 --out "$out" 2>"$out/log"
rc=$?
cat "$out/log"
[ $rc = 1 ] || { echo "FAIL: expected findings against Breezy (exit $rc)" >&2; exit 1; }
ls "$out"/crash-*.case >/dev/null 2>&1 || { echo 'FAIL: no crash case written' >&2; exit 1; }
reproduced=0
for c in "$out"/*.case; do
	if ! "$sw" conform --cases "$c" --server-cmd "$brz" --no-retry -q >/dev/null 2>&1; then
		reproduced=$((reproduced + 1))
	fi
	"$sw" conform --cases "$c" --server-cmd "$sw serve --inet --directory={dir} {options}" \
		--no-retry -q >/dev/null 2>&1 || { echo "FAIL: $c fails against smartwire serve" >&2; exit 1; }
done
echo "$reproduced case(s) reproduced against Breezy"
[ $reproduced -ge 1 ] || { echo 'FAIL: no case reproduces against Breezy' >&2; exit 1; }
