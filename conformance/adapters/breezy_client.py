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

and, through breezy.bzr.smart.client._SmartClient on the transport's
medium, any verb:

    call VERB ARG...                    call(): the response tuple
    call_expecting_body VERB ARG...     call_expecting_body() + read_body_bytes()
    call_streamed VERB ARG...           call_expecting_body() + read_streamed_body()
    call_with_body_bytes VERB ARG... BODY   call_with_body_bytes_expecting_body()
                                        + read_body_bytes()
    call_with_body_stream VERB ARG... -- PART...   call_with_body_stream()

Their result is the response tuple's elements joined by \\x01 and, when a
body was read, "\\n" and the body.  ARGs, BODY and PARTs take the escapes
\\xNN \\n \\t \\0 \\\\ (decoded here); an ARG written int:N is the integer N
(v3 only).
"""
import codecs
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


def unescape(s):
    return codecs.escape_decode(s.encode('latin-1', 'backslashreplace'))[0]


def call_arg(s):
    return int(s[4:]) if s.startswith('int:') else unescape(s)


def joined(items):
    return b'\x01'.join(i if isinstance(i, bytes) else str(i).encode() for i in items)


def call(t, op, args):
    """The call_* operations on the transport's smart medium."""
    from breezy.bzr.smart import client
    c = client._SmartClient(t.get_smart_medium())
    if op == 'call_with_body_stream':
        cut = args.index('--') if '--' in args else len(args)
        parts = [unescape(a) for a in args[cut + 1:]]
        words = [call_arg(a) for a in args[:cut]]
        res, handler = c.call_with_body_stream(tuple(words), iter(parts))
        return joined(res)
    if op == 'call_with_body_bytes':
        words = [call_arg(a) for a in args[:-1]]
        res, handler = c.call_with_body_bytes_expecting_body(words[0], tuple(words[1:]),
                                                             unescape(args[-1]))
        return joined(res) + b'\n' + handler.read_body_bytes()
    words = [call_arg(a) for a in args]
    if op == 'call':
        return joined(c.call(*words))
    res, handler = c.call_expecting_body(*words)
    if op == 'call_expecting_body':
        return joined(res) + b'\n' + handler.read_body_bytes()
    if op == 'call_streamed':
        return joined(res) + b'\n' + b''.join(handler.read_streamed_body())
    raise SystemExit('breezy_client.py: unknown operation %r' % op)


def run(url, op, args):
    from breezy import transport
    t = transport.get_transport_from_url(url)
    if op.startswith('call'):
        return call(t, op, args)
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
