#!/usr/bin/python3
"""Client adapter for `smartwire conform --client-cmd`: Breezy's client.

Usage: breezy_client.py URL OP [ARGS...]

Performs one operation through breezy.transport (the code path `brz`
itself uses) and prints ONE line on stdout:

    ok "<result bytes in trace notation>"
    error <category> <detail>

Categories: no-such-file, permission-denied, read-only, unknown-method,
error-response, not-a-server, protocol, connection, other.  The exit
status is 0 for ok and 1 for error.  Run with /usr/bin/python3 (the one
with Breezy installed).

Operations: get PATH | has PATH | stat PATH | list_dir PATH |
put PATH DATA | mkdir PATH | delete PATH | readv PATH START,LEN...
"""
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


def category(exc):
    # Classes moved between modules across Breezy versions: match on the
    # names in the class hierarchy.
    names = {c.__name__ for c in type(exc).__mro__}
    text = str(exc)
    if 'NoSuchFile' in names:
        return 'no-such-file'
    if 'PermissionDenied' in names:
        return 'permission-denied'
    if 'TransportNotPossible' in names:
        return 'read-only'
    if 'UnknownSmartMethod' in names:
        return 'unknown-method'
    if 'not a Bazaar server' in text:
        return 'not-a-server'
    if names & {'ErrorFromSmartServer', 'UnknownErrorFromSmartServer'}:
        return 'error-response'
    if names & {'ConnectionReset', 'ConnectionError', 'OSError', 'TimeoutError'}:
        return 'connection'
    if names & {'SmartProtocolError', 'UnexpectedProtocolVersionMarker'}:
        return 'protocol'
    return 'other'


def run(url, op, args):
    from breezy import transport
    t = transport.get_transport_from_url(url)
    if op == 'get':
        return t.get_bytes(args[0])
    if op == 'has':
        return b'yes' if t.has(args[0]) else b'no'
    if op == 'stat':
        st = t.stat(args[0])
        return ('%d %o' % (st.st_size, st.st_mode)).encode()
    if op == 'list_dir':
        return '\n'.join(sorted(t.list_dir(args[0]))).encode()
    if op == 'put':
        t.put_bytes(args[0], args[1].encode())
        return b''
    if op == 'mkdir':
        t.mkdir(args[0])
        return b''
    if op == 'delete':
        t.delete(args[0])
        return b''
    if op == 'readv':
        offsets = [tuple(int(x) for x in a.split(',')) for a in args[1:]]
        return b''.join(data for _, data in t.readv(args[0], offsets))
    raise SystemExit('breezy_client.py: unknown operation %r' % op)


def main():
    if len(sys.argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    from breezy import initialize
    with initialize(setup_ui=False):
        try:
            result = run(sys.argv[1], sys.argv[2], sys.argv[3:])
        except Exception as e:  # every failure is reported, never a traceback
            sys.stdout.write('error %s %s: %s\n' % (category(e), type(e).__name__,
                                                   str(e).replace('\n', ' ')))
            sys.stdout.flush()
            return 1
    sys.stdout.write('ok %s\n' % quote(result))
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
