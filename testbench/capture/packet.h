/*
 * Capture frames to TCP segments: the link, IP and TCP headers of one
 * captured frame, parsed without I/O and without allocating.
 *
 * The reassembler (capture/reasm.h) takes the result; the pcap reader
 * (capture/capture.c) maps libpcap's link type to sw_link and calls
 * sw_pkt_parse() on every frame.  Tests and the fuzz target build frames (or
 * segments) by hand.
 *
 * What is understood:
 *   link    Ethernet (with 802.1Q / 802.1ad VLAN tags), BSD loopback (the
 *           4-byte address family in either byte order, as libpcap's DLT_NULL
 *           is host order of the capturing machine), OpenBSD loop (network
 *           order), raw IP (v4 or v6 from the version nibble), IPv4-only and
 *           IPv6-only raw, Linux cooked v1 (SLL) and v2 (SLL2)
 *   IP      IPv4 (options skipped), IPv6 (hop-by-hop, routing and destination
 *           option headers skipped)
 *   TCP     the header (options skipped), sequence and acknowledgement
 *           numbers, flags, and the payload
 *
 * The payload length comes from the IP length fields, not from the frame
 * size: Ethernet pads short frames to 60 bytes, and a capture with a small
 * snap length cuts long ones.  `wire_len` is the payload length the sender
 * put on the wire; `len` <= wire_len is how much of it was captured.  The
 * reassembler turns the difference into a gap.
 */
#ifndef SW_CAPTURE_PACKET_H
#define SW_CAPTURE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types (independent of libpcap's DLT_ numbering, which differs
 * between platforms for raw IP). */
typedef enum sw_link {
	SW_LINK_ETHERNET = 0,
	SW_LINK_NULL = 1, /* BSD loopback: 4-byte AF in the capturing host's order */
	SW_LINK_LOOP = 2, /* OpenBSD loopback: 4-byte AF in network order */
	SW_LINK_RAW = 3,  /* IPv4 or IPv6, from the version nibble */
	SW_LINK_IPV4 = 4,
	SW_LINK_IPV6 = 5,
	SW_LINK_SLL = 6, /* Linux cooked capture v1 (16-byte header) */
	SW_LINK_SLL2 = 7 /* Linux cooked capture v2 (20-byte header) */
} sw_link;

/* TCP flags as on the wire. */
#define SW_TCP_FIN 0x01
#define SW_TCP_SYN 0x02
#define SW_TCP_RST 0x04
#define SW_TCP_PSH 0x08
#define SW_TCP_ACK 0x10

/* One TCP segment.  Addresses are 4 (IPv4, in a[0..4)) or 16 bytes. */
typedef struct sw_tcp_seg {
	int64_t ts_ns;  /* capture time, nanoseconds since the Unix epoch */
	uint8_t family; /* 4 or 6 */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *payload; /* points into the frame; NULL when len is 0 */
	size_t len;             /* captured payload bytes */
	size_t wire_len;        /* payload bytes on the wire (>= len) */
} sw_tcp_seg;

/* Why a frame gave no segment. */
typedef enum sw_pkt_result {
	SW_PKT_TCP = 0,       /* *seg is filled */
	SW_PKT_NOT_IP = 1,    /* another network protocol (ARP, ...) */
	SW_PKT_NOT_TCP = 2,   /* IP but not TCP (UDP, ICMP, ...) */
	SW_PKT_FRAGMENT = 3,  /* an IP fragment: not reassembled, ignored */
	SW_PKT_TRUNCATED = 4, /* the frame ends inside a header */
	SW_PKT_MALFORMED = 5, /* a header contradicts itself (bad lengths) */
	SW_PKT_BAD_LINK = 6   /* unknown link type */
} sw_pkt_result;

/* Parses frame[0..caplen) of link type `link` captured at `ts_ns`.
 * Returns SW_PKT_TCP and fills *seg (whose payload points into `frame`,
 * valid as long as the frame), or the reason the frame holds no TCP
 * segment (then *seg is unspecified).  Never reads outside frame[0..caplen). */
sw_pkt_result sw_pkt_parse(sw_link link, int64_t ts_ns, const uint8_t *frame, size_t caplen,
                           sw_tcp_seg *seg);

/* A short English name of a result ("not TCP", ...), for statistics. */
const char *sw_pkt_result_name(sw_pkt_result r);

#endif
