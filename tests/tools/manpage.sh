#!/usr/bin/env bash
# `smartwire --version`, `smartwire COMMAND --version` for every command, and
# the man page generated from the help texts: a section per command that
# `smartwire --help` lists, every long option of every command's --help in
# it, and no warning from groff.
#
# Usage: manpage.sh SMARTWIRE MANPAGE PROJECT_VERSION
set -uo pipefail
SW=$1
PAGE=$2
WANT=$3
fail=0
bad() { echo "FAIL: $*"; fail=1; }

line=$("$SW" --version | head -n 1)
[ "$line" = "smartwire $WANT" ] || bad "smartwire --version said '$line', want 'smartwire $WANT'"
cmds=$("$SW" --help | sed -n '/^commands:/,/^$/p' | awk 'NF >= 2 && $1 != "commands:" {print $1}')
[ -n "$cmds" ] || bad "no command listed by smartwire --help"
[ -s "$PAGE" ] || bad "no man page at $PAGE"
for c in $cmds; do
	line=$("$SW" "$c" --version | head -n 1); rc=$?
	[ $rc -eq 0 ] && [ "$line" = "smartwire $c $WANT" ] ||
		bad "smartwire $c --version: exit $rc, '$line'"
	grep -q "^\.SS $c\$" "$PAGE" || bad "the man page has no section for $c"
	for opt in $("$SW" "$c" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
		grep -qF -- "${opt//-/\\-}" "$PAGE" || bad "the man page lacks $c's $opt"
	done
done
warn=$(groff -man -Tutf8 -ww "$PAGE" 2>&1 >/dev/null)
[ -z "$warn" ] || bad "groff warns: $warn"
[ $fail -eq 0 ] && echo "ok: --version everywhere, and the man page covers $(echo $cmds | wc -w) commands"
exit $fail
