#!/usr/bin/env bash
# Checks `smartwire dissect` on traffic captured from a real `brz serve --inet`
# (corpus/sessions/, see corpus/tools/capture_inet.py) and on malformed
# input.  The expected values come from the capture script's requests and the
# live transcripts of the protocol reference, not from the dissector itself.
set -euo pipefail
SW=$1
SRC=$2
fail=0
check() { # description, expected, actual
	if [ "$2" != "$3" ]; then
		printf 'FAIL %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$3"
		fail=1
	else
		printf 'ok   %s\n' "$1"
	fi
}
S=$SRC/corpus/sessions

# Every captured stream decodes completely; one message per request sent.
check "mixed-readonly requests" 18 "$("$SW" dissect --json "$S/mixed-readonly.req" | grep -c '"args"')"
check "mixed-readonly responses" 18 "$("$SW" dissect --json --direction response "$S/mixed-readonly.resp" | grep -c '"args"')"
check "v3-readonly responses" 6 "$("$SW" dissect --json --direction response "$S/v3-readonly.resp" | grep -c '"version":3')"
check "v3-writes responses" 10 "$("$SW" dissect --json --direction response "$S/v3-writes.resp" | grep -c '"args"')"

# Versions detected per message on one connection (v1 x6, v2 x6, v3 x6).
check "versions" "6 6 6" "$("$SW" dissect --json "$S/mixed-readonly.req" | grep -o '"version":[123]' | sort | uniq -c | awk '{printf "%s%s", sep, $1; sep=" "}')"

# The v1 get of testfile: ok + 17-byte body whose digest is sha256sum's.
want=$(printf 'contents\nof\nfile\n' | sha256sum | cut -d' ' -f1)
line=$("$SW" dissect --json --direction response "$S/mixed-readonly.resp" | sed -n 2p)
check "v1 get body" '"args":["ok"],"body_length":17,"body_parts":1,"body_sha256":"'"$want"'"' \
	"$(printf '%s' "$line" | grep -o '"args".*"body_sha256":"[0-9a-f]*"')"

# v3 read-only put answers ReadOnlyError with status E (reference §3.4).
check "v3 ReadOnlyError" '"status":"failed","args":["ReadOnlyError"]' \
	"$("$SW" dissect --json --direction response "$S/v3-readonly.resp" | sed -n 5p | grep -o '"status".*\]')"

# Malformed input: exact offset and error name, exit status 1.
set +e
out=$(printf 'bzr message 3 (bzr 1.6)\n\x00\x00\x00\x02dex' | "$SW" dissect --json)
rc=$?
set -e
check "bad kind byte exit" 1 "$rc"
check "bad kind byte offset" '"error":"SW_ERR_BAD_KIND"' "$(printf '%s' "$out" | grep -o '"error":"[A-Z_]*"')"
check "bad kind byte position" '"error_offset":30' "$(printf '%s' "$out" | grep -o '"error_offset":[0-9]*')"
set +e
out=$(printf 'bzr message 3 (bzr 1.6)\n\x00\x00\x00\x02xx' | "$SW" dissect --json)
set -e
check "bad bencode headers" '"error":"SW_ERR_BENCODE_SYNTAX"' "$(printf '%s' "$out" | grep -o '"error":"[A-Z_]*"')"
set +e
out=$(printf 'hello\nget\x01/x' | "$SW" dissect --json)
set -e
check "eof mid line" '"error":"SW_ERR_UNEXPECTED_EOF"' "$(printf '%s' "$out" | grep -o '"error":"[A-Z_]*"')"
check "first message kept" '"args":["hello"]' "$(printf '%s' "$out" | head -1 | grep -o '"args":\[[^]]*\]')"

# v2 chunked body with an ERR tail (reference §2.5 vector).
out=$(printf 'bzr response 2\nsuccess\nok\nchunked\n4\naaaaERR\na\nerror arg14\narg2END\n' |
	"$SW" dissect --trace --direction response)
check "chunked trace" 'status success|args ["ok"]|chunk "aaaa"|error-chunks ["error arg1", "arg2"]|end' \
	"$(printf '%s\n' "$out" | tail -n +2 | paste -sd'|')"

# Usage errors exit 2.
set +e
"$SW" dissect --direction sideways /dev/null >/dev/null 2>&1
rc=$?
set -e
check "usage exit" 2 "$rc"
exit $fail
