#!/usr/bin/python3
"""Writes the seed corpus of fuzz/fuzz_capture.c (corpus/capture/) from the
committed captures: each capture's segments as the target's packet script
(segment mode), and a few captures' frames as-is (frame mode), each with
three fdp.h control trailers (no fault and one byte per resegmented piece;
mixed piece sizes with the first allocation failing once; the second
failing persistently).  Files are named by the sha1 of their content.

    tests/data/captures/fuzz_seeds.py      (standard library only)

The script format is documented at the top of fuzz/fuzz_capture.c.
"""
import hashlib
import os
import struct

import pcaplib as P

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', '..', '..', 'corpus', 'capture')
BUDGET = 8192
CHUNKS = 8

V_FRAMES, V_WRAP = 1, 8
LINK = {P.LINKTYPE_ETHERNET: 0, P.LINKTYPE_NULL: 1, P.LINKTYPE_RAW: 3,
        P.LINKTYPE_LINUX_SLL: 6, P.LINKTYPE_LINUX_SLL2: 7}


def trailer(plan=0, fail_at=0, variant=0, chunks=(0,) * CHUNKS):
    tail = bytes([plan, fail_at & 0xff, fail_at >> 8, variant]) + bytes(chunks)
    return tail[::-1]


FLAVOURS = [
    dict(),
    dict(plan=1, fail_at=0, chunks=(6, 0, 2, 30, 1, 0, 11, 255)),
    dict(plan=2, fail_at=1, chunks=(2, 4, 0, 8, 16, 1, 3, 63)),
]


def clamp(v, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return max(lo, min(hi, v))


def signed32(v):
    v %= 2**32
    return v - 2**32 if v >= 2**31 else v


def segment_script(path, port):
    lt, frames = P.read_capture(path)
    conns = {}
    nxt = {}
    out = bytearray()
    for fr in frames:
        try:
            s = P.Seg(lt, fr)
        except ValueError:
            continue
        if s.dport == port:
            key, d = (s.src, s.sport), 0
        elif s.sport == port:
            key, d = (s.dst, s.dport), 1
        else:
            continue
        if key not in conns:
            if len(conns) == 4:
                continue
            conns[key] = len(conns)
        k = conns[key]
        syn = 1 if s.flags & P.Seg.SYN else 0
        if (k, d) not in nxt:
            nxt[(k, d)] = s.seq
        flags = 0
        for i, bit in enumerate((P.Seg.SYN, P.Seg.ACK, P.Seg.FIN, P.Seg.RST, 8)):
            if s.flags & bit:
                flags |= 8 << i
        payload = s.payload
        seq = s.seq
        first = True
        while True:
            piece = payload[:255]
            payload = payload[255:]
            f = flags if first else flags & ~8          # SYN on the first piece only
            if payload:
                f &= ~(32 | 64)                         # FIN, RST on the last
            delta = clamp(signed32(seq - nxt[(k, d)]), 16)
            other = nxt.get((k, 1 - d))
            ack = clamp(signed32(s.ack - other), 8) if other is not None else 0
            rec = bytes([k | d << 2 | f]) + struct.pack('<hb', delta, ack) + \
                bytes([len(piece)]) + piece
            if len(out) + len(rec) > BUDGET:
                return bytes(out)
            out += rec
            after = seq + len(piece) + (syn if first else 0)
            if signed32(after - nxt[(k, d)]) > 0:
                nxt[(k, d)] = after % 2**32
            seq = (seq + len(piece) + (syn if first else 0)) % 2**32
            first = False
            if not payload:
                break
    return bytes(out)


def frame_script(path):
    lt, frames = P.read_capture(path)
    out = bytearray()
    for fr in frames:
        rec = struct.pack('<H', len(fr.data)) + fr.data
        if len(out) + len(rec) > BUDGET:
            break
        out += rec
    return LINK[lt], bytes(out)


def write(payload, variant):
    os.makedirs(OUT, exist_ok=True)
    n = 0
    for fl in FLAVOURS:
        data = payload + trailer(variant=variant, **fl)
        with open(os.path.join(OUT, hashlib.sha1(data).hexdigest()), 'wb') as f:
            f.write(data)
        n += 1
    return n


def main():
    total = 0
    for name, port, variant in [
            ('brz-v3-cat-log.pcapng', 4155, 0), ('brz-v2-cat.pcapng', 4155, 0),
            ('brz-v1-vfs.pcap', 4155, 0), ('sw-pipelined.pcapng', 4156, 0),
            ('sw-v2-vfs.pcapng', 4156, 0), ('dmg-reorder.pcap', 4155, 0),
            ('dmg-retransmit.pcap', 4155, 0), ('dmg-lost-response.pcap', 4155, 0),
            ('dmg-lost-request.pcap', 4155, 0), ('dmg-midstream.pcap', 4155, 0),
            ('dmg-split.pcap', 4155, 0), ('dmg-seqwrap.pcap', 4155, V_WRAP),
            ('brz-v3-branch-push.pcapng', 4155, 2)]:
        total += write(segment_script(os.path.join(HERE, name), port), variant)
    for name in ['link-raw.pcap', 'link-null.pcap', 'brz-v1-vfs.pcap', 'brz-v2-cat.pcapng',
                 'brz-v3-ipv6.pcapng', 'dmg-snaplen.pcap']:
        link, script = frame_script(os.path.join(HERE, name))
        total += write(script, V_FRAMES | 4 | link << 4)
    print('wrote %d seeds to %s' % (total, os.path.normpath(OUT)))


if __name__ == '__main__':
    main()
