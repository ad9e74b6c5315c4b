"""Reading and writing pcap/pcapng files, and the TCP/IP headers of
Ethernet frames, with the Python standard library only.

Shared by damage.py (which derives damaged captures from real ones) and
expect.py (which computes the expected conversations independently of the
C code under test).
"""
import struct

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276


class Frame:
    """One captured frame: ts_ns, data (captured bytes), wire_len."""

    def __init__(self, ts_ns, data, wire_len=None):
        self.ts_ns = ts_ns
        self.data = bytes(data)
        self.wire_len = len(data) if wire_len is None else wire_len


def read_capture(path):
    """Returns (linktype, [Frame]) of a pcap or pcapng file."""
    with open(path, 'rb') as f:
        raw = f.read()
    magic = raw[:4]
    if magic == b'\x0a\x0d\x0d\x0a':
        return _read_pcapng(raw)
    for endian, nano in (('<', False), ('>', False)):
        m, = struct.unpack(endian + 'I', magic)
        if m in (0xa1b2c3d4, 0xa1b23c4d):
            return _read_pcap(raw, endian, m == 0xa1b23c4d)
    raise ValueError('%s: not a pcap or pcapng file' % path)


def _read_pcap(raw, e, nano):
    linktype = struct.unpack(e + 'I', raw[20:24])[0] & 0x0fffffff
    frames = []
    pos = 24
    while pos + 16 <= len(raw):
        sec, frac, incl, orig = struct.unpack(e + 'IIII', raw[pos:pos + 16])
        pos += 16
        ts = sec * 10**9 + (frac if nano else frac * 1000)
        frames.append(Frame(ts, raw[pos:pos + incl], orig))
        pos += incl
    return linktype, frames


def _read_pcapng(raw):
    frames = []
    links = []
    tsres = []
    e = '<'
    pos = 0
    while pos + 12 <= len(raw):
        btype, blen = struct.unpack(e + 'II', raw[pos:pos + 8])
        if btype == 0x0a0d0d0a:
            bom = raw[pos + 8:pos + 12]
            e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
            btype, blen = struct.unpack(e + 'II', raw[pos:pos + 8])
            links, tsres = [], []
        body = raw[pos + 8:pos + blen - 4]
        if btype == 1:  # interface description
            links.append(struct.unpack(e + 'H', body[:2])[0])
            res = 6
            opos = 8
            while opos + 4 <= len(body):
                code, olen = struct.unpack(e + 'HH', body[opos:opos + 4])
                if code == 0:
                    break
                if code == 9:
                    v = body[opos + 4]
                    res = v if v < 128 else None
                opos += 4 + (olen + 3) // 4 * 4
            tsres.append(res)
        elif btype == 6:  # enhanced packet
            iface, hi, lo, incl, orig = struct.unpack(e + 'IIIII', body[:20])
            ticks = hi << 32 | lo
            res = tsres[iface]
            ts = ticks * 10**9 // 10**res
            frames.append(Frame(ts, body[20:20 + incl], orig))
        pos += blen
    if len(set(links)) != 1:
        raise ValueError('pcapng with link types %r' % links)
    return links[0], frames


def write_pcap(path, linktype, frames, snaplen=262144):
    """Classic pcap, microsecond timestamps, little endian."""
    out = [struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, snaplen, linktype)]
    for fr in frames:
        sec, ns = divmod(fr.ts_ns, 10**9)
        out.append(struct.pack('<IIII', sec, ns // 1000, len(fr.data), fr.wire_len))
        out.append(fr.data)
    with open(path, 'wb') as f:
        f.write(b''.join(out))


def ip_offset(linktype, data):
    """Offset of the IP header in a frame, or None."""
    if linktype == LINKTYPE_ETHERNET:
        etype, = struct.unpack('>H', data[12:14])
        return 14 if etype in (0x0800, 0x86dd) else None
    if linktype == LINKTYPE_LINUX_SLL:
        etype, = struct.unpack('>H', data[14:16])
        return 16 if etype in (0x0800, 0x86dd) else None
    if linktype == LINKTYPE_LINUX_SLL2:
        etype, = struct.unpack('>H', data[0:2])
        return 20 if etype in (0x0800, 0x86dd) else None
    if linktype == LINKTYPE_RAW:
        return 0
    if linktype == LINKTYPE_NULL:
        return 4
    return None


class Seg:
    """The TCP segment of a frame (IPv4 or IPv6, no extension headers)."""

    def __init__(self, linktype, frame):
        d = frame.data
        o = ip_offset(linktype, d)
        if o is None:
            raise ValueError('not IP')
        self.ip = o
        v = d[o] >> 4
        if v == 4:
            ihl = (d[o] & 15) * 4
            total, = struct.unpack('>H', d[o + 2:o + 4])
            if d[o + 9] != 6:
                raise ValueError('not TCP')
            self.src, self.dst = d[o + 12:o + 16], d[o + 16:o + 20]
            self.tcp = o + ihl
            end = o + total
        elif v == 6:
            plen, = struct.unpack('>H', d[o + 4:o + 6])
            if d[o + 6] != 6:
                raise ValueError('not TCP')
            self.src, self.dst = d[o + 8:o + 24], d[o + 24:o + 40]
            self.tcp = o + 40
            end = o + 40 + plen
        else:
            raise ValueError('not IP')
        self.version = v
        t = self.tcp
        self.sport, self.dport, self.seq, self.ack = struct.unpack('>HHII', d[t:t + 12])
        self.hlen = (d[t + 12] >> 4) * 4
        self.flags = d[t + 13]
        self.wire_payload = end - t - self.hlen
        self.payload = d[t + self.hlen:min(end, len(d))]

    SYN, FIN, RST, ACK = 2, 1, 4, 16


def _csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('>%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def build_frame(linktype, template, seq, ack, flags, payload):
    """A frame like `template` (an Ethernet/IPv4 or IPv6 TCP frame) with
    new sequence numbers, flags and payload; lengths and checksums fixed."""
    s = Seg(linktype, template)
    d = bytearray(template.data[:s.tcp + s.hlen])
    t = s.tcp
    struct.pack_into('>II', d, t + 4, seq & 0xffffffff, ack & 0xffffffff)
    d[t + 13] = flags
    d += payload
    o = s.ip
    tcp_len = len(d) - t
    if s.version == 4:
        struct.pack_into('>H', d, o + 2, len(d) - o)
        struct.pack_into('>H', d, o + 10, 0)
        struct.pack_into('>H', d, o + 10, _csum(bytes(d[o:t])))
        pseudo = s.src + s.dst + struct.pack('>BBH', 0, 6, tcp_len)
    else:
        struct.pack_into('>H', d, o + 4, len(d) - o - 40)
        pseudo = s.src + s.dst + struct.pack('>IxxxB', tcp_len, 6)
    struct.pack_into('>H', d, t + 16, 0)
    struct.pack_into('>H', d, t + 16, _csum(pseudo + bytes(d[t:])))
    return bytes(d)


def connections(linktype, frames, port):
    """Groups frame indexes by TCP connection to/from `port`, in order of
    first appearance: [(client_key, [(index, Seg, 'c2s'|'s2c')])]."""
    conns = {}
    order = []
    for i, fr in enumerate(frames):
        try:
            s = Seg(linktype, fr)
        except ValueError:
            continue
        if s.dport == port:
            key, d = (s.src, s.sport, s.dst), 'c2s'
        elif s.sport == port:
            key, d = (s.dst, s.dport, s.src), 's2c'
        else:
            continue
        if key not in conns:
            conns[key] = []
            order.append(key)
        conns[key].append((i, s, d))
    return [(k, conns[k]) for k in order]


# ---- TCP, the simplest way: every byte at its offset ---------------------
# Independent of the C reassembler on purpose: no queues, no limits, no
# acknowledgements; the first captured copy of a byte wins and offsets no
# frame covered are gaps.  Shared by expect.py and tests/tools/capture_tshark.py.

class Half:
    def __init__(self):
        self.base = None
        self.bytes = {}   # offset -> (byte, ts)
        self.end = None   # offset of a FIN


def reassemble(linktype, frames, port):
    conns = []
    for key, segs in connections(linktype, frames, port):
        halves = {'c2s': Half(), 's2c': Half()}
        syn = {'c2s': False, 's2c': False}
        for i, s, d in segs:
            if s.flags & Seg.SYN:
                syn[d] = True
        # A connection whose first frame is an ACK alone has no stream yet
        # (the dissector opens a connection on a SYN, data or a FIN).
        for i, s, d in segs:
            h = halves[d]
            seq = s.seq
            if s.flags & Seg.SYN:
                if h.base is None:
                    h.base = (s.seq + 1) % 2**32
                seq = s.seq + 1
            if s.flags & Seg.SYN and s.flags & Seg.ACK:
                other = halves['c2s' if d == 's2c' else 's2c']
                if other.base is None:
                    other.base = s.ack
            if h.base is None:
                if s.wire_payload == 0 and not s.flags & (Seg.FIN | Seg.SYN) \
                        and not any(x.base is not None for x in halves.values()):
                    continue
                h.base = s.seq
            off = (seq - h.base) % 2**32
            if off >= 2**31:
                off -= 2**32  # before the start
            for k, b in enumerate(s.payload):
                if off + k >= 0 and off + k not in h.bytes:
                    h.bytes[off + k] = (b, frames[i].ts_ns)
            if s.flags & Seg.FIN and h.end is None:
                h.end = off + s.wire_payload
        partial = not (syn['c2s'] or syn['s2c'])
        conns.append({'client_port': key[1], 'partial': partial, 'halves': halves})
    return conns


def runs(h):
    """The stream as [('data', off, bytes, [ts]) | ('gap', off, len)]."""
    if not h.bytes:
        end = h.end or 0
        return [('gap', 0, end)] if end > 0 else []
    last = max(max(h.bytes) + 1, h.end or 0)
    out = []
    off = 0
    while off < last:
        if off in h.bytes:
            start = off
            data, ts = bytearray(), []
            while off in h.bytes:
                data.append(h.bytes[off][0])
                ts.append(h.bytes[off][1])
                off += 1
            out.append(('data', start, bytes(data), ts))
        else:
            start = off
            while off < last and off not in h.bytes:
                off += 1
            out.append(('gap', start, off - start))
    return out
