#!/usr/bin/env python3
"""The `symbols` ctest: the shared library exports exactly its public API.

Every function declared SW_API in the installed headers must be exported by
libsmartwire.so, and nothing else may be: no internal `sw__` name, no
helper that a header does not declare, no data symbol.

Usage: symbols.py LIBSMARTWIRE_SO INCLUDE_DIR.  Prints the differences and
the counts; exit status 1 if the two sets differ.
"""
import os
import re
import subprocess
import sys

DECL = re.compile(r'\bSW_API\b[^;{]*?\b(sw_\w+)\s*\(', re.S)


def declared(include_dir):
    names = set()
    for h in sorted(os.listdir(include_dir)):
        if h.endswith(".h"):
            text = open(os.path.join(include_dir, h)).read()
            text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)
            names.update(DECL.findall(text))
    return names


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] not in ("w", "v"):
            names.add(parts[2].split("@")[0])
    # The C runtime's own exports (_init, _fini, ...) are not ours.
    return {n for n in names if not n.startswith("_")}


def main():
    lib, inc = sys.argv[1], sys.argv[2]
    want, have = declared(inc), exported(lib)
    missing, extra = sorted(want - have), sorted(have - want)
    for n in missing:
        print(f"symbols: declared SW_API but not exported: {n}")
    for n in extra:
        print(f"symbols: exported but not declared SW_API in a public header: {n}")
    internal = [n for n in have if n.startswith("sw__")]
    print(f"symbols: {len(have)} exported, {len(want)} declared, "
          f"{len(internal)} internal sw__ exported, {len(missing)} missing, {len(extra)} extra")
    return 1 if missing or extra or not want else 0


if __name__ == "__main__":
    sys.exit(main())
