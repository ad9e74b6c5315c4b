/*
 * Capture frames to TCP segments (packet.h).  Each layer checks that its
 * header is inside the captured bytes before reading it; lengths from the
 * headers are trusted only as far as they agree with each other.
 */
#include <string.h>

#include "capture/packet.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define IPPROTO_TCP_ 6

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static sw_pkt_result tcp(const uint8_t *p, size_t avail, size_t ip_payload, sw_tcp_seg *seg)
{
	if (avail < 20)
		return SW_PKT_TRUNCATED;
	size_t hlen = (size_t)(p[12] >> 4) * 4;
	if (hlen < 20 || hlen > ip_payload)
		return SW_PKT_MALFORMED;
	if (avail < hlen)
		return SW_PKT_TRUNCATED;
	seg->sport = be16(p);
	seg->dport = be16(p + 2);
	seg->seq = be32(p + 4);
	seg->ack = be32(p + 8);
	seg->flags = p[13];
	seg->wire_len = ip_payload - hlen;
	seg->len = avail - hlen < seg->wire_len ? avail - hlen : seg->wire_len;
	seg->payload = seg->len ? p + hlen : NULL;
	return SW_PKT_TCP;
}

static sw_pkt_result ipv4(const uint8_t *p, size_t avail, sw_tcp_seg *seg)
{
	if (avail < 20)
		return SW_PKT_TRUNCATED;
	if (p[0] >> 4 != 4)
		return SW_PKT_MALFORMED;
	size_t hlen = (size_t)(p[0] & 15) * 4;
	size_t total = be16(p + 2);
	/* TSO captures on the sending host may carry total length 0 (the NIC
	 * fills it in): take what was captured. */
	if (total == 0)
		total = avail;
	if (hlen < 20 || total < hlen)
		return SW_PKT_MALFORMED;
	if (avail < hlen)
		return SW_PKT_TRUNCATED;
	uint16_t frag = be16(p + 6);
	if ((frag & 0x2000) || (frag & 0x1fff))
		return SW_PKT_FRAGMENT;
	if (p[9] != IPPROTO_TCP_)
		return SW_PKT_NOT_TCP;
	seg->family = 4;
	memset(seg->src, 0, sizeof seg->src);
	memset(seg->dst, 0, sizeof seg->dst);
	memcpy(seg->src, p + 12, 4);
	memcpy(seg->dst, p + 16, 4);
	/* Ethernet padding lies after `total`; a snap length cut lies before. */
	size_t in_frame = avail < total ? avail : total;
	return tcp(p + hlen, in_frame - hlen, total - hlen, seg);
}

static sw_pkt_result ipv6(const uint8_t *p, size_t avail, sw_tcp_seg *seg)
{
	if (avail < 40)
		return SW_PKT_TRUNCATED;
	if (p[0] >> 4 != 6)
		return SW_PKT_MALFORMED;
	size_t payload = be16(p + 4);
	if (payload == 0) /* a jumbogram, or TSO: take what was captured */
		payload = avail - 40;
	uint8_t next = p[6];
	seg->family = 6;
	memcpy(seg->src, p + 8, 16);
	memcpy(seg->dst, p + 24, 16);
	size_t at = 40;
	size_t end = 40 + payload; /* end of the IP packet */
	/* Extension headers: hop-by-hop (0), routing (43), destination options
	 * (60) are skipped; a fragment header (44) means a fragment. */
	for (;;) {
		if (next == IPPROTO_TCP_)
			break;
		if (next == 44)
			return SW_PKT_FRAGMENT;
		if (next != 0 && next != 43 && next != 60)
			return SW_PKT_NOT_TCP;
		if (avail < at + 8)
			return SW_PKT_TRUNCATED;
		size_t ext = ((size_t)p[at + 1] + 1) * 8;
		next = p[at];
		at += ext;
		if (at > end)
			return SW_PKT_MALFORMED;
	}
	if (avail < at)
		return SW_PKT_TRUNCATED;
	size_t in_frame = avail < end ? avail : end;
	return tcp(p + at, in_frame - at, end - at, seg);
}

static sw_pkt_result by_ethertype(uint16_t type, const uint8_t *p, size_t avail, sw_tcp_seg *seg)
{
	if (type == ETHERTYPE_IPV4)
		return ipv4(p, avail, seg);
	if (type == ETHERTYPE_IPV6)
		return ipv6(p, avail, seg);
	return SW_PKT_NOT_IP;
}

static sw_pkt_result by_version(const uint8_t *p, size_t avail, sw_tcp_seg *seg)
{
	if (avail < 1)
		return SW_PKT_TRUNCATED;
	if (p[0] >> 4 == 4)
		return ipv4(p, avail, seg);
	if (p[0] >> 4 == 6)
		return ipv6(p, avail, seg);
	return SW_PKT_NOT_IP;
}

/* BSD address families: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD,
 * OpenBSD), 28 (FreeBSD), 30 (macOS) or 10 (Linux). */
static sw_pkt_result by_af(uint32_t af, const uint8_t *p, size_t avail, sw_tcp_seg *seg)
{
	if (af == 2)
		return ipv4(p, avail, seg);
	if (af == 24 || af == 28 || af == 30 || af == 10)
		return ipv6(p, avail, seg);
	return SW_PKT_NOT_IP;
}

sw_pkt_result sw_pkt_parse(sw_link link, int64_t ts_ns, const uint8_t *frame, size_t caplen,
                           sw_tcp_seg *seg)
{
	memset(seg, 0, sizeof *seg);
	seg->ts_ns = ts_ns;
	switch (link) {
	case SW_LINK_ETHERNET: {
		if (caplen < 14)
			return SW_PKT_TRUNCATED;
		size_t at = 12;
		uint16_t type = be16(frame + at);
		/* Up to two VLAN tags (802.1ad outer, 802.1Q inner). */
		for (int tags = 0; tags < 2 && (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ);
		     tags++) {
			at += 4;
			if (caplen < at + 2)
				return SW_PKT_TRUNCATED;
			type = be16(frame + at);
		}
		at += 2;
		return by_ethertype(type, frame + at, caplen - at, seg);
	}
	case SW_LINK_NULL: {
		if (caplen < 4)
			return SW_PKT_TRUNCATED;
		/* Host order of the machine that captured: accept either. */
		uint32_t le = (uint32_t)frame[0] | (uint32_t)frame[1] << 8 |
		              (uint32_t)frame[2] << 16 | (uint32_t)frame[3] << 24;
		uint32_t af = le <= 0xffff ? le : be32(frame);
		return by_af(af, frame + 4, caplen - 4, seg);
	}
	case SW_LINK_LOOP:
		if (caplen < 4)
			return SW_PKT_TRUNCATED;
		return by_af(be32(frame), frame + 4, caplen - 4, seg);
	case SW_LINK_RAW: return by_version(frame, caplen, seg);
	case SW_LINK_IPV4: return ipv4(frame, caplen, seg);
	case SW_LINK_IPV6: return ipv6(frame, caplen, seg);
	case SW_LINK_SLL:
		if (caplen < 16)
			return SW_PKT_TRUNCATED;
		return by_ethertype(be16(frame + 14), frame + 16, caplen - 16, seg);
	case SW_LINK_SLL2:
		if (caplen < 20)
			return SW_PKT_TRUNCATED;
		return by_ethertype(be16(frame), frame + 20, caplen - 20, seg);
	}
	return SW_PKT_BAD_LINK;
}

const char *sw_pkt_result_name(sw_pkt_result r)
{
	switch (r) {
	case SW_PKT_TCP: return "TCP";
	case SW_PKT_NOT_IP: return "not IP";
	case SW_PKT_NOT_TCP: return "not TCP";
	case SW_PKT_FRAGMENT: return "IP fragment";
	case SW_PKT_TRUNCATED: return "truncated headers";
	case SW_PKT_MALFORMED: return "malformed headers";
	case SW_PKT_BAD_LINK: return "unknown link type";
	}
	return "?";
}
