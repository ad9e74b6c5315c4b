#!/usr/bin/python3
"""Capture real request/response streams from Breezy's own server.

Each session below is a list of requests (byte-for-byte what Breezy's client
sends, see ../../../shared/protocol-reference.md) written to
`brz serve --inet` over one connection; the server's output is recorded.
Output: corpus/sessions/<name>.req (client to server) and <name>.resp (server
to client).  These are the sample traffic that `smartwire dissect` is shown
on, and seeds for the fuzz corpora.

Run with /usr/bin/python3 (python3-breezy and brz installed).
"""
import os
import shutil
import subprocess
import sys

M3 = b'bzr message 3 (bzr 1.6)\n'
H3 = b'\x00\x00\x00\x1cd16:Software version5:3.3.2e'


def v3(args, body=None):
    from fastbencode import bencode
    s = bencode(list(args))
    out = M3 + H3 + b's' + len(s).to_bytes(4, 'big') + s
    if body is not None:
        out += b'b' + len(body).to_bytes(4, 'big') + body
    return out + b'e'


def v2(args, body=None):
    out = b'bzr request 2\n' + b'\x01'.join(args) + b'\n'
    if body is not None:
        out += b'%d\n' % len(body) + body + b'done\n'
    return out


def v1(args, body=None):
    return v2(args, body)[len(b'bzr request 2\n'):]


def sessions():
    ro = []
    for enc in (v1, v2, v3):
        ro += [enc((b'hello',)), enc((b'get', b'/testfile')),
               enc((b'has', b'/nope')), enc((b'stat', b'/testfile')),
               enc((b'readv', b'/readvfile'), b'3,3\n0,2'),
               enc((b'get', b'/nope'))]
    ro_v3 = [v3((b'Transport.is_readonly',)), v3((b'list_dir', b'/dir/')),
             v3((b'iter_files_recursive', b'/dir/')), v3((b'get', b'/dir')),
             v3((b'put', b'/new', b''), b'data'), v3((b'no-such-verb', b'x'))]
    rw = [v3((b'put', b'/new', b'420'), b'data'),
          v3((b'append', b'/new', b''), b'MORE'), v3((b'get', b'/new')),
          v3((b'mkdir', b'/nd', b'')), v3((b'mkdir', b'/nd', b'')),
          v3((b'rename', b'/new', b'/nd/r')), v3((b'delete', b'/nd/r')),
          v3((b'rmdir', b'/nd')), v2((b'put', b'/v2', b''), b'two'),
          v1((b'get', b'/v2',))]
    return [('mixed-readonly', ro, []), ('v3-readonly', ro_v3, []),
            ('v3-writes', rw, ['--allow-writes'])]


def make_tree(root):
    with open(os.path.join(root, 'testfile'), 'wb') as f:
        f.write(b'contents\nof\nfile\n')
    with open(os.path.join(root, 'readvfile'), 'wb') as f:
        f.write(b'0123456789abcdefghij')
    os.mkdir(os.path.join(root, 'dir'))
    with open(os.path.join(root, 'dir', 'a'), 'wb') as f:
        f.write(b'aaa')
    os.mkdir(os.path.join(root, 'emptydir'))


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'sessions')
    for name, reqs, opts in sessions():
        # A fixed root so that captures are reproducible: server paths in
        # error tuples are length-prefixed in v3 and cannot be rewritten.
        root = '/tmp/smartwire-capture'
        shutil.rmtree(root, ignore_errors=True)
        os.mkdir(root)
        try:
            make_tree(root)
            data = b''.join(reqs)
            p = subprocess.run(['brz', 'serve', '--inet', '--directory=' + root] + opts,
                               input=data, capture_output=True, timeout=60)
            if p.returncode != 0:
                sys.exit('%s: brz serve exited %d: %r' % (name, p.returncode, p.stderr))
            resp = p.stdout
        finally:
            shutil.rmtree(root)
        with open(os.path.join(out_dir, name + '.req'), 'wb') as f:
            f.write(data)
        with open(os.path.join(out_dir, name + '.resp'), 'wb') as f:
            f.write(resp)
        print('%s: %d request bytes, %d response bytes' % (name, len(data), len(resp)))


if __name__ == '__main__':
    main()
