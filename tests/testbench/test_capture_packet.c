/* Tests of frame parsing (testbench/capture/packet.c): frames of every
 * link type built by hand, IPv4 and IPv6, snap-length cuts, and what is not
 * a TCP segment; then the same frames through the reassembler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/packet.h"
#include "capture/reasm.h"
#include "smartwire/format.h"

#define A SW_TCP_ACK

static void event(sw_buf *t, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	assert_int_equal(sw_buf_append_str(t, line), 0);
}

static int on_open(void *ud, sw_tcp_conn *c)
{
	event(ud, "open %u%s\n", c->id, c->partial ? " partial" : "");
	return 0;
}

static int on_data(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, const uint8_t *p, size_t n,
                   int64_t ts)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_format_bytes(&b, p, n), 0);
	event(ud, "data %u %s %llu %.*s t%lld\n", c->id, sw_dir_name(d), (unsigned long long)off,
	      (int)b.len, (const char *)b.data, (long long)ts);
	sw_buf_fini(&b);
	return 0;
}

static int on_end(void *ud, sw_tcp_conn *c, sw_dir d, sw_end_how how, int64_t ts)
{
	(void)ts;
	event(ud, "end %u %s %s\n", c->id, sw_dir_name(d), sw_end_name(how));
	return 0;
}

static int on_close(void *ud, sw_tcp_conn *c)
{
	event(ud, "close %u\n", c->id);
	return 0;
}

static size_t ipv4_tcp(uint8_t *p, const char *payload, uint8_t flags)
{
	size_t n = strlen(payload);
	uint8_t ip[40] = {0x45,
	                  0,
	                  0,
	                  (uint8_t)(40 + n),
	                  0,
	                  0,
	                  0x40,
	                  0,
	                  64,
	                  6,
	                  0,
	                  0,
	                  127,
	                  0,
	                  0,
	                  1,
	                  127,
	                  0,
	                  0,
	                  2,
	                  /* tcp */ 0x13,
	                  0x88,
	                  0x10,
	                  0x3b,
	                  0,
	                  0,
	                  0,
	                  1,
	                  0,
	                  0,
	                  0,
	                  0,
	                  0x50,
	                  0,
	                  0xff,
	                  0xff,
	                  0,
	                  0,
	                  0,
	                  0};
	ip[33] = flags;
	memcpy(p, ip, 40);
	memcpy(p + 40, payload, n);
	return 40 + n;
}

static size_t ipv6_tcp(uint8_t *p, const char *payload, bool hop)
{
	size_t n = strlen(payload), ext = hop ? 8 : 0;
	memset(p, 0, 40 + ext + 20);
	p[0] = 0x60;
	p[5] = (uint8_t)(ext + 20 + n);
	p[6] = hop ? 0 : 6;
	p[7] = 64;
	p[23] = 1;
	p[39] = 2;
	if (hop)
		p[40] = 6; /* next header TCP, length 0 (8 bytes) */
	uint8_t *t = p + 40 + ext;
	t[0] = 0x13, t[1] = 0x88, t[2] = 0x10, t[3] = 0x3b, t[7] = 1, t[12] = 0x50, t[13] = A;
	memcpy(t + 20, payload, n);
	return 40 + ext + 20 + n;
}

static void test_frames(void **state)
{
	(void)state;
	uint8_t f[256], ip[128];
	sw_tcp_seg seg;
	size_t n = ipv4_tcp(ip, "bzr", A);
	/* Ethernet with a VLAN tag and padding after the IP packet. */
	memset(f, 0, sizeof f);
	f[12] = 0x81, f[13] = 0x00, f[16] = 0x08, f[17] = 0x00;
	memcpy(f + 18, ip, n);
	assert_int_equal(sw_pkt_parse(SW_LINK_ETHERNET, 5, f, 18 + n + 9, &seg), SW_PKT_TCP);
	assert_int_equal(seg.len, 3);
	assert_memory_equal(seg.payload, "bzr", 3);
	assert_int_equal(seg.sport, 5000);
	assert_int_equal(seg.dport, 4155);
	assert_int_equal(seg.seq, 1);
	assert_int_equal(seg.family, 4);
	/* BSD loopback, both byte orders of AF_INET; OpenBSD loop. */
	uint8_t le[4] = {2, 0, 0, 0}, be[4] = {0, 0, 0, 2};
	memcpy(f, le, 4);
	memcpy(f + 4, ip, n);
	assert_int_equal(sw_pkt_parse(SW_LINK_NULL, 0, f, 4 + n, &seg), SW_PKT_TCP);
	memcpy(f, be, 4);
	assert_int_equal(sw_pkt_parse(SW_LINK_NULL, 0, f, 4 + n, &seg), SW_PKT_TCP);
	assert_int_equal(sw_pkt_parse(SW_LINK_LOOP, 0, f, 4 + n, &seg), SW_PKT_TCP);
	/* Raw IPv4, IPv4-only link. */
	assert_int_equal(sw_pkt_parse(SW_LINK_RAW, 0, ip, n, &seg), SW_PKT_TCP);
	assert_int_equal(sw_pkt_parse(SW_LINK_IPV4, 0, ip, n, &seg), SW_PKT_TCP);
	/* Linux cooked v1 and v2. */
	memset(f, 0, 20);
	f[14] = 0x08;
	memcpy(f + 16, ip, n);
	assert_int_equal(sw_pkt_parse(SW_LINK_SLL, 0, f, 16 + n, &seg), SW_PKT_TCP);
	memset(f, 0, 20);
	f[0] = 0x08;
	memcpy(f + 20, ip, n);
	assert_int_equal(sw_pkt_parse(SW_LINK_SLL2, 0, f, 20 + n, &seg), SW_PKT_TCP);
	/* IPv6, with a hop-by-hop header. */
	n = ipv6_tcp(ip, "v6", true);
	assert_int_equal(sw_pkt_parse(SW_LINK_RAW, 0, ip, n, &seg), SW_PKT_TCP);
	assert_int_equal(seg.family, 6);
	assert_int_equal(seg.len, 2);
	assert_int_equal(seg.dst[15], 2);
	assert_int_equal(sw_pkt_parse(SW_LINK_IPV6, 0, ip, n, &seg), SW_PKT_TCP);
	/* Cut by the snap length: the wire length stays. */
	n = ipv4_tcp(ip, "abcdef", A);
	assert_int_equal(sw_pkt_parse(SW_LINK_RAW, 0, ip, n - 4, &seg), SW_PKT_TCP);
	assert_int_equal(seg.len, 2);
	assert_int_equal(seg.wire_len, 6);
	/* What is not a TCP segment, and every truncation of the headers. */
	ip[9] = 17;
	assert_int_equal(sw_pkt_parse(SW_LINK_RAW, 0, ip, n, &seg), SW_PKT_NOT_TCP);
	ip[9] = 6;
	ip[6] = 0x20; /* more fragments */
	assert_int_equal(sw_pkt_parse(SW_LINK_RAW, 0, ip, n, &seg), SW_PKT_FRAGMENT);
	ip[6] = 0x40;
	for (size_t cut = 0; cut < 40; cut++)
		assert_int_equal(sw_pkt_parse(SW_LINK_RAW, 0, ip, cut, &seg), SW_PKT_TRUNCATED);
	ip[32] = 0x40; /* TCP header of 16 bytes */
	assert_int_equal(sw_pkt_parse(SW_LINK_RAW, 0, ip, n, &seg), SW_PKT_MALFORMED);
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	assert_int_equal(sw_pkt_parse(SW_LINK_ETHERNET, 0, f, 60, &seg), SW_PKT_NOT_IP);
	assert_int_equal(sw_pkt_parse((sw_link)99, 0, f, 60, &seg), SW_PKT_BAD_LINK);
	assert_string_equal(sw_pkt_result_name(SW_PKT_FRAGMENT), "IP fragment");
}

/* sw_reasm_frame counts what it skips and reassembles the rest. */
static void test_reasm_frames(void **state)
{
	(void)state;
	uint8_t ip[128];
	sw_buf trace;
	sw_buf_init(&trace, NULL);
	sw_reasm_callbacks cbs = {on_open, on_data, NULL, on_end, on_close, NULL};
	sw_reasm *ra;
	assert_int_equal(sw_reasm_new(&ra, NULL, &cbs, &trace, NULL), 0);
	size_t n = ipv4_tcp(ip, "hello", A);
	assert_int_equal(sw_reasm_frame(ra, SW_LINK_RAW, 1, ip, n), 0);
	assert_int_equal(sw_reasm_frame(ra, SW_LINK_RAW, 2, ip, 10), 0);
	n = ipv6_tcp(ip, "v6", false);
	assert_int_equal(sw_reasm_frame(ra, SW_LINK_RAW, 3, ip, n), 0);
	assert_int_equal(sw_reasm_finish(ra), 0);
	const sw_reasm_stats *st = sw_reasm_get_stats(ra);
	assert_int_equal(st->frames, 3);
	assert_int_equal(st->frames_skipped[SW_PKT_TRUNCATED], 1);
	assert_int_equal(st->connections, 2);
	sw_reasm_del(ra);
	assert_int_equal(sw_buf_append_byte(&trace, 0), 0);
	assert_string_equal((char *)trace.data, "open 1 partial\n"
	                                        "data 1 c2s 0 \"hello\" t1\n"
	                                        "open 2 partial\n"
	                                        "data 2 c2s 0 \"v6\" t3\n"
	                                        "end 1 c2s open\n"
	                                        "end 1 s2c open\n"
	                                        "close 1\n"
	                                        "end 2 c2s open\n"
	                                        "end 2 s2c open\n"
	                                        "close 2\n");
	sw_buf_fini(&trace);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_reasm_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
