#!/usr/bin/python3
"""Derives damaged captures from real ones (make_captures.sh runs it).

    damage.py IN OUT --port P OPERATION [ARGS]

IN is a pcap/pcapng capture of Ethernet frames; OUT is written as classic
pcap.  Segments are chosen by rule, not by frame number, so a regenerated
capture is damaged the same way: "data segment N of direction D of
connection C" counts the frames carrying payload in that direction, from 1,
connections in order of their first frame.  Operations:

  retransmit C D N      an exact copy of data segment N is inserted two
                        frames later, and an overlapping retransmission
                        (the second half of segment N+1 followed by the
                        whole of segment N+2) after segment N+2; N, N+1
                        and N+2 must be consecutive in the stream
  reorder C D N         data segments N and N+1 (adjacent frames) swap
                        places; the timestamps stay in capture order
  drop C D N            data segment N is removed (the peer still
                        acknowledges it: a gap)
  start C D N           the capture starts at data segment N of that
                        direction (everything before it is removed, so
                        the connection has no handshake)
  split C D N SIZE      data segment N is sent again as segments of SIZE
                        bytes (the same bytes, the same capture time), so
                        that segment boundaries fall inside the version
                        line and the length prefixes
  seqwrap               every connection's sequence numbers are renumbered
                        so that the client's stream wraps past 2^32 after
                        100 bytes and the server's after 200
  relink raw|null       the Ethernet header becomes raw IP (LINKTYPE_RAW) or
                        a BSD loopback header (LINKTYPE_NULL, AF_INET in
                        little-endian order, as a little-endian BSD host
                        writes it)
  snaplen N             every frame is cut to N bytes (the capture's snap
                        length), the original length kept

It prints what it did.  Only the standard library is used.
"""
import sys

import pcaplib as P


def data_segments(linktype, frames, port, conn, direction):
    conns = P.connections(linktype, frames, port)
    _, segs = conns[conn - 1]
    return [(i, s) for i, s, d in segs if d == direction and s.wire_payload > 0]


def copy_frame(fr, data=None, ts=None):
    return P.Frame(fr.ts_ns if ts is None else ts, fr.data if data is None else data)


def op_retransmit(lt, frames, port, conn, d, n):
    segs = data_segments(lt, frames, port, conn, d)
    (i0, s0), (i1, s1), (i2, s2) = segs[n - 1], segs[n], segs[n + 1]
    if s0.seq + len(s0.payload) != s1.seq or s1.seq + len(s1.payload) != s2.seq:
        raise SystemExit('segments %d..%d are not consecutive' % (n, n + 2))
    half = len(s1.payload) // 2
    overlap = P.build_frame(lt, frames[i2], s1.seq + half, s2.ack, s2.flags,
                            s1.payload[half:] + s2.payload)
    out = list(frames)
    # Later positions first, so that earlier indexes stay valid.
    after2 = i2 + 1
    out.insert(after2, copy_frame(frames[i2], overlap, frames[min(after2, len(frames) - 1)].ts_ns))
    at = i0 + 2
    out.insert(at, copy_frame(frames[i0], ts=frames[min(at, len(frames) - 1)].ts_ns))
    print('retransmit: copy of frame %d (seq %u, %d bytes) inserted at %d; overlap of %d '
          'bytes (seq %u, %d bytes) after frame %d' % (
              i0 + 1, s0.seq, len(s0.payload), at + 1, len(s1.payload) - half,
              s1.seq + half, len(s1.payload) - half + len(s2.payload), i2 + 1))
    return out


def op_reorder(lt, frames, port, conn, d, n):
    segs = data_segments(lt, frames, port, conn, d)
    (i0, _), (i1, _) = segs[n - 1], segs[n]
    if i1 != i0 + 1:
        raise SystemExit('data segments %d and %d are not adjacent frames' % (n, n + 1))
    out = list(frames)
    a, b = frames[i0], frames[i1]
    out[i0], out[i1] = copy_frame(b, ts=a.ts_ns), copy_frame(a, ts=b.ts_ns)
    print('reorder: frames %d and %d swapped' % (i0 + 1, i1 + 1))
    return out


def op_drop(lt, frames, port, conn, d, n):
    i, s = data_segments(lt, frames, port, conn, d)[n - 1]
    print('drop: frame %d (%s seq %u, %d bytes)' % (i + 1, d, s.seq, s.wire_payload))
    return frames[:i] + frames[i + 1:]


def op_start(lt, frames, port, conn, d, n):
    i, s = data_segments(lt, frames, port, conn, d)[n - 1]
    print('start: the capture begins at frame %d (%s seq %u)' % (i + 1, d, s.seq))
    return frames[i:]


def op_split(lt, frames, port, conn, d, n, size):
    i, s = data_segments(lt, frames, port, conn, d)[n - 1]
    pieces = []
    for k in range(0, len(s.payload), size):
        pieces.append(P.Frame(frames[i].ts_ns, P.build_frame(lt, frames[i], s.seq + k, s.ack,
                                                            s.flags, s.payload[k:k + size])))
    print('split: frame %d (%s, %d bytes) as %d segments of %d bytes' % (
        i + 1, d, len(s.payload), len(pieces), size))
    return frames[:i] + pieces + frames[i + 1:]


def op_seqwrap(lt, frames, port):
    out = list(frames)
    for _, segs in P.connections(lt, frames, port):
        isn = {}
        for i, s, d in segs:
            if s.flags & P.Seg.SYN:
                isn.setdefault(d, s.seq)
        if len(isn) != 2:
            raise SystemExit('seqwrap needs both handshake segments')
        # New ISNs: the stream wraps 100 (client) / 200 (server) bytes in.
        delta = {'c2s': (2**32 - 100 - 1 - isn['c2s']), 's2c': (2**32 - 200 - 1 - isn['s2c'])}
        other = {'c2s': 's2c', 's2c': 'c2s'}
        for i, s, d in segs:
            ack = s.ack + delta[other[d]] if s.flags & P.Seg.ACK else s.ack
            out[i] = copy_frame(frames[i], P.build_frame(lt, frames[i], s.seq + delta[d], ack,
                                                         s.flags, s.payload))
        print('seqwrap: client ISN %u -> %u, server ISN %u -> %u' % (
            isn['c2s'], (isn['c2s'] + delta['c2s']) % 2**32, isn['s2c'],
            (isn['s2c'] + delta['s2c']) % 2**32))
    return out


def main():
    args = sys.argv[1:]
    src, dst = args[0], args[1]
    if args[2] != '--port':
        raise SystemExit(__doc__)
    port = int(args[3])
    op, rest = args[4], args[5:]
    lt, frames = P.read_capture(src)
    if lt != P.LINKTYPE_ETHERNET:
        raise SystemExit('%s: link type %d, expected Ethernet' % (src, lt))
    out_lt = lt
    snaplen = 262144
    if op in ('retransmit', 'reorder', 'drop', 'start'):
        conn, d, n = int(rest[0]), rest[1], int(rest[2])
        frames = globals()['op_' + op](lt, frames, port, conn, d, n)
    elif op == 'split':
        conn, d, n, size = int(rest[0]), rest[1], int(rest[2]), int(rest[3])
        frames = op_split(lt, frames, port, conn, d, n, size)
        if len(rest) > 4:  # a second segment: split C D N SIZE C2 D2 N2 SIZE2
            c2, d2, n2, s2 = int(rest[4]), rest[5], int(rest[6]), int(rest[7])
            frames = op_split(lt, frames, port, c2, d2, n2, s2)
    elif op == 'seqwrap':
        frames = op_seqwrap(lt, frames, port)
    elif op == 'relink':
        strip = 14
        if rest[0] == 'raw':
            out_lt = P.LINKTYPE_RAW
            frames = [P.Frame(f.ts_ns, f.data[strip:]) for f in frames]
        elif rest[0] == 'null':
            out_lt = P.LINKTYPE_NULL
            frames = [P.Frame(f.ts_ns, b'\x02\0\0\0' + f.data[strip:]) for f in frames]
        else:
            raise SystemExit('relink raw|null')
        print('relink: %d frames as link type %d' % (len(frames), out_lt))
    elif op == 'snaplen':
        snaplen = int(rest[0])
        frames = [P.Frame(f.ts_ns, f.data[:snaplen], f.wire_len) for f in frames]
        print('snaplen: frames cut to %d bytes' % snaplen)
    else:
        raise SystemExit(__doc__)
    P.write_pcap(dst, out_lt, frames, snaplen)


if __name__ == '__main__':
    main()
