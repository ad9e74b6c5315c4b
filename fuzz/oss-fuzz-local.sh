#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh without Docker, with the variables the
# OSS-Fuzz images set for a libFuzzer + AddressSanitizer build
# (infra/base-images/base-clang and base-builder Dockerfiles, compile_libfuzzer),
# the way curl-fuzzer's mainline.sh does.
#
#   fuzz/oss-fuzz-local.sh [OUT_DIR]      (default: fuzz/out/oss-fuzz)
#
# CC and CXX may be overridden (default clang, clang++).  The targets land in
# OUT_DIR with their seed corpus zips, dictionaries and options files.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT_DIR=${1:-$ROOT/fuzz/out/oss-fuzz}

export CC=${CC:-clang}
export CXX=${CXX:-clang++}
for tool in "$CC" "$CXX" zip ar; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		case $tool in
		clang++*) hint=clang ;;
		clang*) hint="clang libclang-rt-14-dev" ;;
		ar) hint=binutils ;;
		*) hint=$tool ;;
		esac
		echo "oss-fuzz-local.sh: $tool not found: apt-get install $hint" >&2
		exit 1
	fi
done

mkdir -p "$OUT_DIR"
OUT=$(cd "$OUT_DIR" && pwd)
# build.sh expects the checkout at $SRC/smartwire.
SRC=$(mktemp -d)
trap 'rm -rf "$SRC"' EXIT
ln -s "$ROOT" "$SRC/smartwire"

export OUT SRC
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export CXXFLAGS="$CFLAGS"
export LIB_FUZZING_ENGINE="-fsanitize=fuzzer"
export SANITIZER=address FUZZING_ENGINE=libfuzzer ARCHITECTURE=x86_64

bash "$ROOT/.clusterfuzzlite/build.sh"
echo "oss-fuzz-local.sh: built into $OUT:"
ls "$OUT"
