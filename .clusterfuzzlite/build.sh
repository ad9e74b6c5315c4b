#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script for smartwire.
#
# The contract (google/oss-fuzz docs/getting-started/new_project_guide.md,
# google/clusterfuzzlite docs/build_integration.md): compile with $CC and
# $CFLAGS, link with $CXX and $LIB_FUZZING_ENGINE, put one binary per target
# in $OUT with its <target>_seed_corpus.zip, <target>.dict and
# <target>.options next to it.  Nothing else from the environment is used,
# so the same script builds libFuzzer, AFL++ (CC=afl-clang-fast) and
# coverage flavours; fuzz/oss-fuzz-local.sh runs it without Docker.
#
# Targets are fuzz/fuzz_<target>.c; any failure stops the build.

SW="$SRC/smartwire"
OBJ="$(mktemp -d)"
trap 'rm -rf "$OBJ"' EXIT

SW_CFLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
  -I$SW/ref/include -I$SW/testbench -I$SW/fuzz"

# The library (one folder per layer; private headers are found beside their
# sources), the test bench and the fuzzing support code, instrumented like
# the targets, archived so that each target links only the objects it uses.
objs=()
for src in "$SW"/ref/src/*/*.c "$SW"/testbench/*/*.c "$SW"/fuzz/fdp.c "$SW"/fuzz/codec*.c "$SW"/fuzz/served_tree.c "$SW"/fuzz/client_calls.c; do
  obj="$OBJ/$(basename "$(dirname "$src")")_$(basename "$src" .c).o"
  $CC $CFLAGS $SW_CFLAGS -c "$src" -o "$obj"
  objs+=("$obj")
done
ar rcs "$OBJ/libsmartwire_fuzz.a" "${objs[@]}"

for src in "$SW"/fuzz/fuzz_*.c; do
  name="$(basename "$src" .c)"
  target="${name#fuzz_}"
  $CC $CFLAGS $SW_CFLAGS -c "$src" -o "$OBJ/$name.o"
  $CXX $CFLAGS "$OBJ/$name.o" "$OBJ/libsmartwire_fuzz.a" $LIB_FUZZING_ENGINE \
    -lpthread -o "$OUT/$name"

  corpus="$SW/corpus/$target"
  if [ -d "$corpus" ] && [ -n "$(ls -A "$corpus")" ]; then
    rm -f "$OUT/${name}_seed_corpus.zip"
    (cd "$corpus" && zip -q -X "$OUT/${name}_seed_corpus.zip" ./*)
  fi
  options="[libfuzzer]
max_len = 16384"
  if [ -f "$SW/corpus/$target.dict" ]; then
    cp "$SW/corpus/$target.dict" "$OUT/$name.dict"
    options="$options
dict = $name.dict"
  fi
  printf '%s\n' "$options" > "$OUT/$name.options"
done
