#!/usr/bin/env python3
"""The `layering` ctest: every #include in the tree respects the layers.

The layers and what each may use (../shared/LAYERS.md, README "Layout"):

    base     libc only
    codec    base
    medium   base
    server   codec, medium, base
    client   codec, medium, base
    vfs      server (its handler interface), codec, base
    testbench  the whole library (the conformance runner, the recorder)
    tools, tests, fuzz, bench  everything public, and the test bench

A file breaks the layering when it includes
  - the public header of a layer its own layer may not use, or
  - a private header (one that lives beside the sources in ref/src/<layer>/
    or testbench/<part>/ *_impl.h) from outside that folder.
Every public header must appear in HEADER_LAYER below, so that a new header
is placed in a layer on purpose.

Usage: layering.py SOURCE_DIR.  Prints each violation; exit status 1 if any.
"""
import os
import re
import sys

HEADER_LAYER = {
    "export": "base", "error": "base", "mem": "base", "failmem": "base", "clock": "base",
    "hex": "base", "pytext": "base", "version": "base", "format": "base", "sha256": "base",
    "bencode": "codec", "body": "codec", "tuple": "codec", "v12": "codec",
    "v3": "codec", "detect": "codec", "readv": "codec", "pack": "codec", "verbs": "codec",
    "medium": "medium", "fault": "medium",
    "server": "server", "daemon": "server",
    "client": "client", "client_conn": "client", "url": "client",
    "jail": "vfs", "vfs": "vfs", "vfs_server": "vfs", "fs": "vfs",
}
MAY_USE = {
    "base": {"base"},
    "codec": {"codec", "base"},
    "medium": {"medium", "base"},
    "server": {"server", "codec", "medium", "base"},
    "client": {"client", "codec", "medium", "base"},
    "vfs": {"vfs", "server", "codec", "base"},
}
LIBRARY_LAYERS = list(MAY_USE)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    """The layer a file belongs to, or the area name outside ref/."""
    parts = rel.split(os.sep)
    if parts[:2] == ["ref", "src"] and len(parts) > 3:
        return parts[2]
    if parts[:3] == ["ref", "include", "smartwire"]:
        return HEADER_LAYER.get(os.path.splitext(parts[3])[0], "?")
    return parts[0]


def main():
    root = os.path.abspath(sys.argv[1])
    bad = []
    checked = 0
    hdr_dir = os.path.join(root, "ref", "include", "smartwire")
    for h in sorted(os.listdir(hdr_dir)):
        name = os.path.splitext(h)[0]
        if h.endswith(".h") and name not in HEADER_LAYER:
            bad.append(f"ref/include/smartwire/{h}: public header with no layer "
                       f"(add it to HEADER_LAYER in tests/layout/layering.py)")
    for area in ("ref", "testbench", "tools", "tests", "fuzz", "bench"):
        for dirpath, dirs, files in os.walk(os.path.join(root, area)):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                here = layer_of(rel)
                text = open(path, encoding="utf-8", errors="replace").read()
                for inc in INCLUDE.findall(text):
                    checked += 1
                    if inc.startswith("smartwire/"):
                        used = HEADER_LAYER.get(os.path.splitext(inc[10:])[0])
                        if used is None:
                            bad.append(f"{rel}: includes unknown public header {inc}")
                        elif here in MAY_USE and used not in MAY_USE[here]:
                            bad.append(f"{rel}: layer {here} includes {inc} "
                                       f"(layer {used}); {here} may use "
                                       f"{', '.join(sorted(MAY_USE[here]))}")
                        continue
                    # A quoted include resolved next to the file is private
                    # to that folder; anything under ref/src or a *_impl.h of
                    # the test bench found elsewhere is someone else's.
                    beside = os.path.join(dirpath, inc)
                    if os.path.exists(beside):
                        continue
                    target = os.path.basename(inc)
                    owners = [lay for lay in LIBRARY_LAYERS
                              if os.path.exists(os.path.join(root, "ref", "src", lay, target))]
                    for lay in owners:
                        bad.append(f"{rel}: includes {inc}, private to ref/src/{lay}/")
                    if not owners and target.endswith("_impl.h"):
                        bad.append(f"{rel}: includes {inc}, private to its testbench folder")
    for b in bad:
        print("layering:", b)
    print(f"layering: {checked} includes checked, {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
