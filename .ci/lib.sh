# Shared by .ci/main and .ci/all: install what is missing, build.
# Sourced, not run.  Everything is idempotent, so running either script twice
# only rebuilds what changed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=$(nproc 2>/dev/null || echo 2)

# Debian packages only.  brz + python3-breezy(.tests) are the peer for the
# interoperability tests and the source of the test vectors; afl++ and clang's
# runtime (libFuzzer, sanitizers) are the fuzzing engines; libpcap-dev and
# tshark read and check packet captures; chromium renders the conformance
# report in a test; groff-base and man-db check the man page.
SW_PACKAGES="cmake make gcc clang llvm libclang-rt-14-dev libcmocka-dev valgrind libpcap-dev tshark
afl++ brz python3-breezy python3-breezy.tests pkg-config zip git groff-base man-db chromium"

sw_log() { printf '\n==> %s\n' "$*"; }

sw_install_deps() {
	local missing=() p
	for p in $SW_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		sw_log "installing: ${missing[*]}"
		if [ "$(id -u)" -ne 0 ]; then
			echo "error: missing packages and not root: ${missing[*]}" >&2
			exit 1
		fi
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# sw_build NAME [cmake args...]: configure and build into build/NAME.
sw_build() {
	local name=$1
	shift
	sw_log "building build/$name"
	cmake -S "$ROOT" -B "$ROOT/build/$name" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
	cmake --build "$ROOT/build/$name" -j "$JOBS" >/dev/null
}
