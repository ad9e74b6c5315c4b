#!/usr/bin/python3
"""Writes Breezy's registry of request verbs as data, from Breezy itself:

- conformance/verbs/breezy-<version>.txt: every verb Breezy registers
  (breezy.bzr.smart.request.request_handlers), one per line, with its safety
  class (the registry's info: read, idem, semi, semivfs, mutate, stream) and
  what its request carries (none; whole: the handler reads a whole body with
  do_body; stream: it takes body parts one by one with do_chunk).
  `smartwire conform --coverage` reads it as the default list of verbs.
- ref/src/codec/verbs_table.h: the same as a C table for the library's
  registry (smartwire/verbs.h), sorted by verb.

Run with /usr/bin/python3 (Debian's python3-breezy).
"""
import os

import breezy
from breezy.bzr.smart import request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def defines(cls, method):
    return any(method in c.__dict__ for c in cls.__mro__ if c is not request.SmartServerRequest)


def main():
    reg = request.request_handlers
    verbs = sorted(reg.keys())
    rows = []
    for v in verbs:
        cls = reg.get(v)
        body = 'stream' if defines(cls, 'do_chunk') else 'whole' if defines(cls, 'do_body') else 'none'
        rows.append((v.decode('ascii'), reg.get_info(v), body))
    path = os.path.join(HERE, 'breezy-%s.txt' % breezy.__version__)
    with open(path, 'w') as f:
        f.write('# The %d request verbs Breezy %s registers '
                '(breezy.bzr.smart.request.request_handlers),\n'
                '# their safety class and what a request carries; written by gen_registry.py.\n'
                '# VERB CLASS REQUEST-BODY\n' % (len(rows), breezy.__version__))
        for r in rows:
            f.write('%s %s %s\n' % r)
    cpath = os.path.join(ROOT, 'ref', 'src', 'codec', 'verbs_table.h')
    with open(cpath, 'w') as f:
        f.write('/* The %d request verbs of Breezy %s, sorted: written by\n'
                ' * conformance/verbs/gen_registry.py from Breezy\'s request_handlers; do not\n'
                ' * edit.  Included by verbs.c only. */\n' % (len(rows), breezy.__version__))
        for name, cls, body in rows:
            f.write('\t{"%s", SW_VERB_%s, SW_VERB_BODY_%s},\n'
                    % (name, cls.upper(), body.upper()))
    print('gen_registry: wrote %s and %s (%d verbs)' % (path, cpath, len(rows)))


if __name__ == '__main__':
    main()
