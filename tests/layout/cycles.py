#!/usr/bin/env python3
"""The `cycles` ctest: no two source files of the library call each other.

For every object file of libsmartwire and of the test bench, `nm` tells which
functions it defines and which it uses.  A file A depends on a file B when A
uses a function B defines.  A cycle (A -> B -> ... -> A) means the files are
one concern cut in two, or a helper layer calling back into its users: the
shape issue 9 removed (vfs.c <-> vfs_read.c, daemon.c <-> daemon_conn.c,
client_response.c <-> client_response_v12.c).  Every strongly connected
component of more than one file is reported.

Three cycles are known (KNOWN below, each with the reason it stays); the test
is a ratchet: it fails on a cycle that is not known, on a known one that grew
a file, and on a known one that is gone (so that the list cannot go stale).

Usage: cycles.py BUILD_DIR SOURCE_DIR.  Exit status 1 as above (or if no
object file was found, so that a moved build tree cannot pass by accident).
"""
import os
import subprocess
import sys

# Cycles left as they are, for now: one concern's state machine cut into
# files that call each other.  Untangling them means splitting each into a
# core and callbacks, a change of its own.
KNOWN = {
    # The connection core: a feed per protocol version that begins and ends
    # requests in the core and answers through the responder, which pumps
    # the file span that feeds the core again.
    frozenset({"server/server_conn.c", "server/server_respond.c", "server/server_span.c",
               "server/server_v12.c", "server/server_v3.c"}),
    # The case-file parser: recursive descent across the directive, message
    # and matrix files, which report through the parser.
    frozenset({"conform/conform_directives.c", "conform/conform_matrix.c",
               "conform/conform_message.c", "conform/conform_parse.c"}),
    # One run of a case: the steps, the oracle, the differential and the
    # sweeps, each calling back into the run.
    frozenset({"conform/conform_oracle.c", "conform/conform_reference.c",
               "conform/conform_run.c", "conform/conform_steps.c", "conform/conform_sweep.c"}),
}


def objects(build, src):
    """Object files of the library's layers and of the test bench whose
    source still exists (a build tree keeps objects of deleted files)."""
    found = []
    for dirpath, dirs, files in os.walk(build):
        dirs.sort()
        if "CMakeFiles" not in dirpath:
            continue
        # The library's layer objects and the test bench's.
        if not any(k in dirpath for k in ("/sw_base.dir", "/sw_codec.dir", "/sw_medium.dir",
                                          "/sw_server.dir", "/sw_client.dir", "/sw_vfs.dir",
                                          "/swbench.dir")):
            continue
        target_dir = dirpath[:dirpath.index(".dir") + 4]
        top = "testbench" if target_dir.endswith("/swbench.dir") else "ref"
        for f in sorted(files):
            if not f.endswith(".c.o"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, f[:-2]), target_dir)
            if os.path.exists(os.path.join(src, top, rel)):
                found.append(os.path.join(dirpath, f))
    return found


def symbols(obj):
    out = subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDRB":
            defined.add(parts[2])
        elif len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
    return defined, used


def sccs(graph):
    """Tarjan's algorithm, iterative."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(comp)
    return out


def main():
    objs = objects(sys.argv[1], sys.argv[2])
    if not objs:
        print("cycles: no object files found under", sys.argv[1])
        return 1
    name = {o: os.path.basename(os.path.dirname(o)) + "/" + os.path.basename(o)[:-2] for o in objs}
    syms = {o: symbols(o) for o in objs}
    owner = {}
    for o, (defined, _) in syms.items():
        for s in defined:
            owner[s] = o
    graph = {o: set() for o in objs}
    why = {}
    for o, (_, used) in syms.items():
        for s in used:
            d = owner.get(s)
            if d and d != o:
                graph[o].add(d)
                why.setdefault((o, d), s)
    comps = [sorted(c, key=lambda o: name[o]) for c in sccs(graph) if len(c) > 1]
    bad, seen = 0, set()
    for comp in comps:
        files = frozenset(name[o] for o in comp)
        known = next((k for k in KNOWN if files <= k), None)
        if known is not None:
            seen.add(known)
            print(f"cycles: known: {' '.join(sorted(files))}")
            continue
        bad += 1
        print("cycles: these files depend on each other:")
        for o in comp:
            for d in sorted(graph[o] & set(comp), key=lambda x: name[x]):
                print(f"  {name[o]} -> {name[d]}  (uses {why[(o, d)]})")
    for k in KNOWN - seen:
        bad += 1
        print(f"cycles: a known cycle is gone, remove it from KNOWN in {__file__}: "
              f"{' '.join(sorted(k))}")
    print(f"cycles: {len(objs)} object files, {sum(len(v) for v in graph.values())} "
          f"file dependencies, {len(comps)} cycle(s), {len(comps) - len(seen)} not known; "
          f"{bad} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
