#!/usr/bin/python3
"""Client adapter for `smartwire conform --client-cmd`: smartwire's client.

Usage: smartwire_client.py [--smartwire PATH] [--timeout SECS] URL OP [ARGS...]

Runs the `smartwire` program's client subcommands (cat, call, put, ls,
stat, mkdir, rm) against URL and prints ONE line, like breezy_client.py:

    ok "<result bytes in trace notation>"
    error <category> <detail>

Besides the file operations it calls any verb (see breezy_client.py for
the operations and what they print):

    call VERB ARG...                    the response tuple
    call_expecting_body VERB ARG...     the tuple, then the body read whole
    call_streamed VERB ARG...           the tuple, then the body read as a stream
    call_with_body_bytes VERB ARG... BODY
    call_with_body_stream VERB ARG... -- PART...

ARGs, BODY and PARTs take the escapes \\xNN \\n \\t \\0 \\\\ (decoded here).

PATH defaults to $SMARTWIRE or `smartwire` on PATH.  --timeout is passed to
the client (default 5 s, so that client.timeout.never-answers can observe
the give-up within the case's bound; smartwire's own default is 60 s).
"""
import codecs
import json
import os
import re
import subprocess
import sys
import tempfile


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


def unescape(s):
    return codecs.escape_decode(s.encode('latin-1', 'backslashreplace'))[0]


def call_verb(sw, url, op, args, timeout):
    """The call_* operations: `smartwire call --json`, options before the URL."""
    opts = ['--timeout', timeout, '--json']
    files = []
    if op == 'call_with_body_stream':
        cut = args.index('--') if '--' in args else len(args)
        args, parts = args[:cut], args[cut + 1:]
        for part in parts:
            f = tempfile.NamedTemporaryFile(delete=False)
            f.write(unescape(part))
            f.close()
            files.append(f.name)
            opts += ['--body-part-file', f.name]
    elif op == 'call_with_body_bytes':
        args, body = args[:-1], args[-1]
        f = tempfile.NamedTemporaryFile(delete=False)
        f.write(unescape(body))
        f.close()
        files.append(f.name)
        opts += ['--body-file', f.name, '--expect-body']
    elif op in ('call_expecting_body', 'call_streamed'):
        opts += ['--expect-body'] + (['--streamed'] if op == 'call_streamed' else [])
    elif op != 'call':
        return None
    argv = [os.fsdecode(unescape(a)) for a in args]
    try:
        p = subprocess.run([sw, 'call'] + opts + [url, '--'] + argv, capture_output=True)
    finally:
        for name in files:
            os.unlink(name)
    return p


def call_result(p):
    """The result bytes of a call: the tuple joined by \\x01, then \\n and the body."""
    obj = json.loads(p.stdout.decode('utf-8').splitlines()[-1])
    out = b'\x01'.join(a.encode('latin-1') for a in obj['args'])
    if 'body' in obj:
        out += b'\n' + obj['body'].encode('latin-1')
    return out


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
    elif op.startswith('call'):
        p = call_verb(sw, url, op, args, timeout)
        if p is None:
            sys.stderr.write('smartwire_client.py: unknown operation %r\n' % op)
            return 2
        if p.returncode != 0:
            err = p.stderr.decode('utf-8', 'replace').replace('\n', ' ').strip()
            sys.stdout.write('error %s %s\n' % (category(p.returncode, err), err))
            return 1
        sys.stdout.write('ok %s\n' % quote(call_result(p)))
        return 0
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
