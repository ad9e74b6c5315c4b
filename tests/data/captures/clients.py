#!/usr/bin/python3
"""Clients for the captures that Breezy's `brz` command cannot produce.

Run by make_captures.sh with Debian's /usr/bin/python3 (python3-breezy);
only the standard library and Breezy are used.

    clients.py v1 HOST PORT       VFS calls with Breezy's own
                                  SmartClientRequestProtocolOne (v1): brz
                                  never sends v1 (it starts with v3 and only
                                  falls back to v2)
    clients.py v2 HOST PORT       the same calls with SmartClientRequestProtocolTwo
    clients.py pipelined HOST PORT
                                  one connection, several requests written at
                                  once before any answer is read: v3, v2 and v1
                                  requests (the version is chosen per request),
                                  then three v3 requests in a single write.
                                  Run against smartwire serve: Breezy 3.3.2's
                                  TCP server does not answer pipelined requests
                                  (README.md)

Every call's result is checked, so a capture of a failing session is not
committed by mistake.  Exit status 0 on success.
"""
import socket
import sys

from breezy.bzr.smart import medium, protocol

M3 = b'bzr message 3 (bzr 1.6)\n'
H3 = b'\x00\x00\x00\x1cd16:Software version5:3.3.2e'


def bencode_list(items):
    return b'l' + b''.join(b'%d:%s' % (len(i), i) for i in items) + b'e'


def v3(args, body=None):
    s = bencode_list(args)
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


def vfs_session(host, port, proto_class):
    """hello, get, has, stat, readv, list_dir and an error (NoSuchFile)."""
    base = 'bzr://%s:%d/' % (host, port)
    med = medium.SmartTCPClientMedium(host, port, base)

    def call(args, body=None, readv=None, expect_body=False):
        req = med.get_request()
        p = proto_class(req)
        if readv is not None:
            p.call_with_body_readv_array(args, readv)
        elif body is not None:
            p.call_with_body_bytes(args, body)
        else:
            p.call(*args)
        try:
            result = p.read_response_tuple(expect_body=expect_body)
        except Exception as e:  # ErrorFromSmartServer: an error reply
            return ('error', getattr(e, 'error_tuple', repr(e)))
        data = p.read_body_bytes() if expect_body else None
        return result, data

    results = [
        call((b'hello',)),
        call((b'get', b'/br/f'), expect_body=True),
        call((b'has', b'/br/f')),
        call((b'has', b'/nope')),
        call((b'stat', b'/br/f')),
        call((b'readv', b'/br/f'), readv=[(0, 3), (4, 3)], expect_body=True),
        call((b'list_dir', b'/br'), expect_body=False),
        call((b'get', b'/nope'), expect_body=True),
    ]
    med.disconnect()
    for r in results:
        print(r)
    assert results[1][1] == b'one\ntwo\n', results[1]
    assert results[2][0] == (b'yes',) and results[3][0] == (b'no',), results[2:4]
    assert results[5][1] == b'onetwo', results[5]
    assert results[7][0] == 'error', results[7]


def recv_until(sock, want):
    """Reads until `want` complete responses were seen (counted by the
    caller's predicate on the accumulated bytes) or EOF."""
    data = b''
    sock.settimeout(20)
    while not want(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def pipelined(host, port):
    s = socket.create_connection((host, port), timeout=20)
    # Versions mixed on one connection, written at once.
    s.sendall(v3([b'hello']) + v2([b'get', b'/br/f']) + v1([b'has', b'/br/d']))
    data = recv_until(s, lambda d: d.endswith(b'yes\n'))
    assert data.startswith(M3) and b'bzr response 2\nsuccess\nok\n' in data, data
    # Three v3 requests in a single write; three answers.
    s.sendall(v3([b'get', b'/br/d/g']) + v3([b'stat', b'/br/f']) + v3([b'has', b'/x']))
    data = recv_until(s, lambda d: d.count(M3) >= 3 and d.endswith(b'e'))
    assert data.count(M3) == 3, data
    s.close()
    print('pipelined: ok')


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == 'v1':
        vfs_session(host, port, protocol.SmartClientRequestProtocolOne)
    elif mode == 'v2':
        vfs_session(host, port, protocol.SmartClientRequestProtocolTwo)
    elif mode == 'pipelined':
        pipelined(host, port)
    else:
        sys.exit('unknown mode %s' % mode)


if __name__ == '__main__':
    main()
