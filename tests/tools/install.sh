#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then build and run a program
# against the installed headers and library through pkg-config, statically
# and dynamically.
set -euo pipefail
BUILD=$1
CC=${2:-cc}
# A sanitizer build's library needs the sanitizer runtime in the program too.
read -r -a EXTRA <<<"${3:-}"
command -v pkg-config >/dev/null || { echo "FAIL: pkg-config missing: apt-get install pkg-config"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$BUILD" --prefix "$tmp/prefix" >/dev/null
export PKG_CONFIG_PATH=$tmp/prefix/lib/pkgconfig
[ -d "$tmp/prefix/lib" ] || PKG_CONFIG_PATH=$(echo "$tmp"/prefix/lib*/pkgconfig)
cat >"$tmp/use.c" <<'C'
#include <smartwire/error.h>
#include <smartwire/v3.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	if (sw_v3_put_marker(&b) != 0 || b.len != 24 || memcmp(b.data, SW_V3_MARKER, 24) != 0)
		return 1;
	sw_buf_fini(&b);
	return strcmp(sw_errname(SW_ERR_NOMEM), "SW_ERR_NOMEM") != 0;
}
C
# shellcheck disable=SC2046
$CC "${EXTRA[@]}" "$tmp/use.c" $(pkg-config --cflags smartwire) $(pkg-config --libs smartwire) -o "$tmp/use-shared"
libdir=$(pkg-config --variable=libdir smartwire)
LD_LIBRARY_PATH=$libdir "$tmp/use-shared"
# shellcheck disable=SC2046
$CC "${EXTRA[@]}" "$tmp/use.c" $(pkg-config --cflags smartwire) "$libdir/libsmartwire.a" -lpthread -o "$tmp/use-static"
"$tmp/use-static"
"$tmp/prefix/bin/smartwire" --help >/dev/null
man=$(find "$tmp/prefix" -path '*/man1/smartwire.1')
[ -s "$man" ] || { echo "FAIL: cmake --install put no man page (share/man/man1/smartwire.1)"; exit 1; }
echo "ok: installed headers, libsmartwire (shared and static), pkg-config file and man page work"
