#!/usr/bin/python3
"""Client adapter for `smartwire conform --client-cmd`: smartwire's client.

Usage: smartwire_client.py [--smartwire PATH] [--timeout SECS] URL OP [ARGS...]

Runs the `smartwire` program's client subcommands (cat, call, put, ls,
stat, mkdir, rm) against URL and prints ONE line, like breezy_client.py:

    ok "<result bytes in trace notation>"
    error <category> <detail>

PATH defaults to $SMARTWIRE or `smartwire` on PATH.  --timeout is passed to
the client (default 5 s, so that client.timeout.never-answers can observe
the give-up within the case's bound; smartwire's own default is 60 s).
"""
import os
import re
import subprocess
import sys


def quote(b):
    out = []
    for c in b:
        if c == 0x22:
            out.append('\\"')
        elif c == 0x5c:
            out.append('\\\\')
        elif c == 0x0a:
            out.append('\\n')
        elif 0x20 <= c < 0x7f:
            out.append(chr(c))
        else:
            out.append('\\x%02x' % c)
    return '"' + ''.join(out) + '"'


def category(rc, err):
    if rc == 3:
        m = re.search(r'error: \["([^"]*)"', err)
        name = m.group(1) if m else ''
        return {'NoSuchFile': 'no-such-file', 'ReadOnlyError': 'read-only',
                'UnknownMethod': 'unknown-method', 'PermissionDenied': 'permission-denied'}.get(
                    name, 'unknown-method' if 'bad request' in err else 'error-response')
    if rc == 4:
        return 'not-a-server' if 'not a Bazaar server' in err else 'protocol'
    if rc == 5:
        return 'connection'
    return 'other'


def main(argv):
    sw = os.environ.get('SMARTWIRE', 'smartwire')
    timeout = '5'
    while argv and argv[0].startswith('--'):
        if argv[0] == '--smartwire':
            sw, argv = argv[1], argv[2:]
        elif argv[0] == '--timeout':
            timeout, argv = argv[1], argv[2:]
        else:
            break
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    url, op, args = argv[0].rstrip('/'), argv[1], argv[2:]
    common = ['--timeout', timeout]
    data = None
    post = None
    if op == 'get':
        cmd = ['cat', url + '/' + args[0]]
    elif op == 'has':
        cmd = ['call', url, 'has', '/' + args[0]]
        post = lambda out: b'yes' if b'"yes"' in out else b'no'
    elif op == 'put':
        cmd = ['put', url + '/' + args[0]]
        data = args[1].encode()
        post = lambda out: b''
    elif op == 'list_dir':
        cmd = ['ls', url + '/' + args[0]]
        post = lambda out: b'\n'.join(sorted(out.split())) if out.strip() else b''
    elif op == 'stat':
        cmd = ['stat', url + '/' + args[0]]
        post = lambda out: out.strip()
    elif op == 'mkdir':
        cmd = ['mkdir', url + '/' + args[0]]
        post = lambda out: b''
    elif op == 'delete':
        cmd = ['rm', url + '/' + args[0]]
        post = lambda out: b''
    else:
        sys.stderr.write('smartwire_client.py: unknown operation %r\n' % op)
        return 2
    p = subprocess.run([sw, cmd[0]] + common + cmd[1:], input=data, capture_output=True)
    if p.returncode != 0:
        err = p.stderr.decode('utf-8', 'replace').replace('\n', ' ').strip()
        sys.stdout.write('error %s %s\n' % (category(p.returncode, err), err))
        return 1
    out = post(p.stdout) if post else p.stdout
    sys.stdout.write('ok %s\n' % quote(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
