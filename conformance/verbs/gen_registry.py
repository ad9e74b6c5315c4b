#!/usr/bin/python3
"""Writes conformance/verbs/breezy-<version>.txt: every request verb that
Breezy registers (breezy.bzr.smart.request.request_handlers), one per line,
with its safety class (the registry's info: read, idem, semi, semivfs,
mutate, stream).  `smartwire conform --coverage` reads this file as the
default list of verbs to cover.

Run with /usr/bin/python3 (Debian's python3-breezy).
"""
import os

import breezy
from breezy.bzr.smart import request

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    reg = request.request_handlers
    verbs = sorted(reg.keys())
    path = os.path.join(HERE, 'breezy-%s.txt' % breezy.__version__)
    with open(path, 'w') as f:
        f.write('# The %d request verbs Breezy %s registers '
                '(breezy.bzr.smart.request.request_handlers)\n'
                '# and their safety class; written by gen_registry.py.\n'
                '# VERB CLASS\n' % (len(verbs), breezy.__version__))
        for v in verbs:
            f.write('%s %s\n' % (v.decode('ascii'), reg.get_info(v)))
    print('gen_registry: wrote %s (%d verbs)' % (path, len(verbs)))


if __name__ == '__main__':
    main()
