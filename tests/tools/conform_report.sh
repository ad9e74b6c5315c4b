#!/bin/bash
# The HTML report in a real browser: builds a report with three columns
# (the reference server, a mutant that swaps has answers, and a "server"
# that leaks a secret from beside the served directory), opens it in
# Debian's chromium, headless, and checks from the rendered DOM that the
# verdict, the counts, the security line, the failures linked to their
# evidence and the matrix by area are there; keeps a screenshot.
#
#   conform_report.sh SMARTWIRE SOURCE-DIR OUT-DIR
#
# OUT-DIR receives report.html, report.dom.html (the DOM after the scripts
# ran) and report.png (1280x2000).  Fails with a clear message when
# chromium is not installed.
set -u
SW=${1:?usage: conform_report.sh SMARTWIRE SOURCE-DIR OUT-DIR}
SRC=${2:?}
OUT=${3:?}
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
	echo "conform_report.sh: FAIL: chromium is not installed (apt-get install chromium);" \
		"the report test opens the HTML report in a real browser." >&2
	exit 1
fi
PY=/usr/bin/python3
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/report.*
CASES=$SRC/conformance/cases
SEL=(detect.marker.v1-hello detect.marker.v3-hello 'jail.dotdot.*' 'vfs.has.v3.*'
	'security.link.file.abs.v3.*' v12.body.v1-get)

# Column 1: the reference server, everything passes.
"$SW" conform --cases "$CASES" -q -j 2 --name "smartwire (embedded)" \
	--json "$OUT/ref.json" "${SEL[@]}" >/dev/null 2>&1
# Column 2: a mutant answering has the wrong way round: failures.
"$SW" conform --cases "$CASES" -q -j 2 --name "mutant has-swap" --no-retry --timeout 1000 \
	--server-cmd "$PY $SRC/conformance/mutants/mutate.py has-swap -- $SW serve --inet --directory={dir} {options}" \
	--json "$OUT/mutant.json" "${SEL[@]}" >/dev/null 2>&1
# Column 3: a peer that sends the secret beside the served directory, once
# per connection: a security finding in every case (it answers nothing
# else, so every wait runs out: short ones).
"$SW" conform --cases "$CASES" -q -j 2 --name "leaky server" --no-retry --no-calibrate \
	--timeout 200 \
	--server-cmd "sh -c 'head -c 33 \"\$0/../sentinel-beside.txt\"; cat >/dev/null' {dir}" \
	--json "$OUT/leaky.json" "${SEL[@]}" >/dev/null 2>&1
for j in ref mutant leaky; do
	[ -s "$OUT/$j.json" ] || { echo "conform_report.sh: FAIL: no $j.json" >&2; exit 1; }
done
"$SW" conform --html "$OUT/report.html" --merge "$OUT/ref.json" "$OUT/mutant.json" \
	"$OUT/leaky.json" || { echo "conform_report.sh: FAIL: --merge" >&2; exit 1; }

# The browser, with a fresh profile, nothing from the network.
PROFILE=$(mktemp -d "${TMPDIR:-/tmp}/sw-chromium-XXXXXX")
trap 'rm -rf "$PROFILE"' EXIT
FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--user-data-dir="$PROFILE")
URL="file://$(cd "$OUT" && pwd)/report.html"
if ! timeout 120 "$CHROMIUM" "${FLAGS[@]}" --dump-dom "$URL" >"$OUT/report.dom.html" \
	2>"$OUT/chromium.log"; then
	echo "conform_report.sh: FAIL: chromium --dump-dom failed:" >&2
	tail -5 "$OUT/chromium.log" >&2
	exit 1
fi
if ! timeout 120 "$CHROMIUM" "${FLAGS[@]}" --screenshot="$OUT/report.png" \
	--window-size=1280,2000 "$URL" >>"$OUT/chromium.log" 2>&1 || [ ! -s "$OUT/report.png" ]; then
	echo "conform_report.sh: FAIL: chromium --screenshot failed:" >&2
	tail -5 "$OUT/chromium.log" >&2
	exit 1
fi
"$PY" "$SRC/tests/tools/check_report_dom.py" "$OUT/report.dom.html" || exit 1
echo "screenshot: $OUT/report.png"
