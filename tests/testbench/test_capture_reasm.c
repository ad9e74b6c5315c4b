/* Tests of the TCP reassembler (testbench/capture/reasm.c), fed packet by
 * packet: every event it reports is written to a trace and compared with
 * the expected one.  Segments are built by hand (seg() below); frames are
 * tested in test_capture_packet.c. */
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
#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/format.h"

#define S SW_TCP_SYN
#define A SW_TCP_ACK
#define F SW_TCP_FIN
#define R SW_TCP_RST
#define P SW_TCP_PSH

struct rec {
	sw_buf trace;
	int stop_at; /* the n-th event returns non-zero (0: never) */
	int events;
};

static int event(struct rec *r, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	assert_int_equal(sw_buf_append_str(&r->trace, line), 0);
	return ++r->events == r->stop_at ? 7 : 0;
}

static int on_open(void *ud, sw_tcp_conn *c)
{
	return event(ud, "open %u%s\n", c->id, c->partial ? " partial" : "");
}

static int on_data(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, const uint8_t *p, size_t n,
                   int64_t ts)
{
	struct rec *r = ud;
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_format_bytes(&b, p, n), 0);
	int rc = event(r, "data %u %s %llu %.*s t%lld\n", c->id, sw_dir_name(d),
	               (unsigned long long)off, (int)b.len, (const char *)b.data, (long long)ts);
	sw_buf_fini(&b);
	return rc;
}

static int on_gap(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len, sw_gap_cause why,
                  int64_t ts)
{
	(void)ts;
	return event(ud, "gap %u %s %llu+%llu %s\n", c->id, sw_dir_name(d), (unsigned long long)off,
	             (unsigned long long)len, sw_gap_cause_name(why));
}

static int on_end(void *ud, sw_tcp_conn *c, sw_dir d, sw_end_how how, int64_t ts)
{
	(void)ts;
	return event(ud, "end %u %s %s\n", c->id, sw_dir_name(d), sw_end_name(how));
}

static int on_close(void *ud, sw_tcp_conn *c)
{
	return event(ud, "close %u\n", c->id);
}

static int on_limit(void *ud, sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg)
{
	(void)seg;
	return event(ud, "limit %s %u\n", what == SW_LIMIT_HELD ? "held" : "connections",
	             c ? c->id : 0);
}

static const sw_reasm_callbacks cbs = {on_open, on_data, on_gap, on_end, on_close, on_limit};

static int64_t clock_ns;

/* A segment of the connection from 10.0.0.1:cport to 10.0.0.2:4155 (or
 * back, c2s false).  `data` is a NUL-terminated payload ("" for none). */
static sw_tcp_seg seg(bool c2s, uint16_t cport, uint32_t seq, uint32_t ack, uint8_t flags,
                      const char *data)
{
	sw_tcp_seg s;
	memset(&s, 0, sizeof s);
	s.ts_ns = ++clock_ns;
	s.family = 4;
	uint8_t cli[4] = {10, 0, 0, 1}, srv[4] = {10, 0, 0, 2};
	memcpy(s.src, c2s ? cli : srv, 4);
	memcpy(s.dst, c2s ? srv : cli, 4);
	s.sport = c2s ? cport : 4155;
	s.dport = c2s ? 4155 : cport;
	s.seq = seq;
	s.ack = ack;
	s.flags = flags;
	s.len = s.wire_len = strlen(data);
	s.payload = s.len ? (const uint8_t *)data : NULL;
	return s;
}

/* Runs the segments through a reassembler (then finish) and returns the
 * trace (malloc'd).  *rc receives the first non-zero return. */
static char *run(const sw_reasm_config *cfg, const sw_tcp_seg *segs, size_t n, int stop_at,
                 const sw_mem *mem, int *rc_out, sw_reasm_stats *stats)
{
	struct rec r;
	sw_buf_init(&r.trace, NULL);
	r.stop_at = stop_at;
	r.events = 0;
	sw_reasm *ra;
	int rc = sw_reasm_new(&ra, cfg, &cbs, &r, mem);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = sw_reasm_segment(ra, &segs[i]);
	if (rc == 0)
		rc = sw_reasm_finish(ra);
	if (ra && stats)
		*stats = *sw_reasm_get_stats(ra);
	if (ra && rc) /* sticky */
		assert_int_equal(sw_reasm_finish(ra), rc);
	sw_reasm_del(ra);
	if (rc_out)
		*rc_out = rc;
	assert_int_equal(sw_buf_append_byte(&r.trace, 0), 0);
	return (char *)r.trace.data;
}

static void expect(const sw_reasm_config *cfg, const sw_tcp_seg *segs, size_t n, const char *want)
{
	int rc;
	char *got = run(cfg, segs, n, 0, NULL, &rc, NULL);
	assert_int_equal(rc, 0);
	if (strcmp(got, want) != 0) {
		print_error("expected:\n%s\ngot:\n%s\n", want, got);
		free(got);
		fail();
	}
	free(got);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A whole connection: handshake, a request, its answer, FIN both ways. */
static void test_clean(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5000, 100, 0, S, ""),         seg(0, 5000, 700, 101, S | A, ""),
	    seg(1, 5000, 101, 701, A, ""),       seg(1, 5000, 101, 701, A | P, "hello"),
	    seg(0, 5000, 701, 106, A | P, "ok"), seg(1, 5000, 106, 703, A | F, ""),
	    seg(0, 5000, 703, 107, A | F, ""),   seg(1, 5000, 107, 704, A, ""),
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "data 1 c2s 0 \"hello\" t4\n"
	       "data 1 s2c 0 \"ok\" t5\n"
	       "end 1 c2s fin\n"
	       "end 1 s2c fin\n"
	       "close 1\n");
}

/* Sequence numbers wrap past 2^32 in the middle of a segment and between
 * segments; offsets keep counting. */
static void test_wraparound(void **state)
{
	(void)state;
	clock_ns = 0;
	uint32_t c = 0xfffffffdu, v = 0xffffffffu;
	sw_tcp_seg s[] = {
	    seg(1, 5001, c, 0, S, ""),
	    seg(0, 5001, v, c + 1, S | A, ""),
	    seg(1, 5001, c + 1, v + 1, A | P, "abcd"), /* wraps inside */
	    seg(1, 5001, c + 5, v + 1, A | P, "efgh"),
	    seg(0, 5001, v + 1, c + 9, A | P, "0123"),
	    seg(0, 5001, v + 5, c + 9, A | P | F, "45"),
	    seg(1, 5001, c + 9, v + 8, A | F, ""),
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "data 1 c2s 0 \"abcd\" t3\n"
	       "data 1 c2s 4 \"efgh\" t4\n"
	       "data 1 s2c 0 \"0123\" t5\n"
	       "data 1 s2c 4 \"45\" t6\n"
	       "end 1 s2c fin\n"
	       "end 1 c2s fin\n"
	       "close 1\n");
}

/* Exact and overlapping retransmissions deliver each byte once; a
 * retransmission with other bytes than the held copy is counted. */
static void test_retransmissions(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5002, 0, 0, S, ""),       seg(1, 5002, 1, 0, A, "abcd"),
	    seg(1, 5002, 1, 0, A, "abcd"),   /* exact copy */
	    seg(1, 5002, 3, 0, A, "cdef"),   /* overlaps 2, adds 2 */
	    seg(1, 5002, 11, 0, A, "klm"),   /* ahead: held */
	    seg(1, 5002, 10, 0, A, "jKLmn"), /* K, L differ from the held copy */
	    seg(1, 5002, 7, 0, A, "ghi"),
	};
	sw_reasm_stats st;
	int rc;
	char *got = run(NULL, s, N(s), 0, NULL, &rc, &st);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "open 1\n"
	                         "data 1 c2s 0 \"abcd\" t2\n"
	                         "data 1 c2s 4 \"ef\" t4\n"
	                         "data 1 c2s 6 \"ghi\" t7\n"
	                         "data 1 c2s 9 \"j\" t6\n"
	                         "data 1 c2s 10 \"klm\" t5\n"
	                         "data 1 c2s 13 \"n\" t6\n"
	                         "end 1 c2s open\n"
	                         "end 1 s2c open\n"
	                         "close 1\n");
	free(got);
}

/* Statistics of the same traffic, through a callback that reads them at
 * close. */
static unsigned seen_retrans, seen_mismatch, seen_ooo;

static int stats_close(void *ud, sw_tcp_conn *c)
{
	(void)ud;
	seen_retrans = c->half[SW_C2S].retransmitted;
	seen_mismatch = (unsigned)c->half[SW_C2S].mismatch_bytes;
	seen_ooo = c->half[SW_C2S].out_of_order;
	return 0;
}

static void test_retransmission_stats(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5002, 0, 0, S, ""),     seg(1, 5002, 1, 0, A, "abcd"),
	    seg(1, 5002, 1, 0, A, "abcd"), seg(1, 5002, 3, 0, A, "cdef"),
	    seg(1, 5002, 11, 0, A, "klm"), seg(1, 5002, 10, 0, A, "jKLmn"),
	    seg(1, 5002, 7, 0, A, "ghi"),
	};
	sw_reasm_callbacks cb = {0};
	cb.on_close = stats_close;
	sw_reasm *r;
	assert_int_equal(sw_reasm_new(&r, NULL, &cb, NULL, NULL), 0);
	for (size_t i = 0; i < N(s); i++)
		assert_int_equal(sw_reasm_segment(r, &s[i]), 0);
	assert_int_equal(sw_reasm_finish(r), 0);
	sw_reasm_del(r);
	assert_int_equal(seen_retrans, 2);
	assert_int_equal(seen_mismatch, 2);
	assert_int_equal(seen_ooo, 2);
}

/* Segments out of order are held and placed; both directions independent. */
static void test_reordering(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5003, 0, 0, S, ""),    seg(0, 5003, 0, 1, S | A, ""),
	    seg(1, 5003, 4, 1, A, "def"), seg(0, 5003, 3, 1, A, "yz"),
	    seg(1, 5003, 1, 1, A, "abc"), seg(0, 5003, 1, 1, A, "wx"),
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "data 1 c2s 0 \"abc\" t5\n"
	       "data 1 c2s 3 \"def\" t3\n"
	       "data 1 s2c 0 \"wx\" t6\n"
	       "data 1 s2c 2 \"yz\" t4\n"
	       "end 1 c2s open\n"
	       "end 1 s2c open\n"
	       "close 1\n");
}

/* A hole the peer acknowledged is a gap at once; one that was never
 * acknowledged becomes a gap when the capture ends. */
static void test_gaps(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5004, 0, 0, S, ""),   seg(0, 5004, 0, 1, S | A, ""),
	    seg(1, 5004, 1, 1, A, "ab"), seg(1, 5004, 6, 1, A, "fg"), /* 3..5 lost */
	    seg(0, 5004, 1, 8, A, ""),                                /* acknowledges all */
	    seg(0, 5004, 1, 8, A, "xy"), seg(0, 5004, 9, 8, A, "zz"), /* 3..8 never seen */
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "data 1 c2s 0 \"ab\" t3\n"
	       "gap 1 c2s 2+3 acked\n"
	       "data 1 c2s 5 \"fg\" t4\n"
	       "data 1 s2c 0 \"xy\" t6\n"
	       "end 1 c2s open\n"
	       "gap 1 s2c 2+6 ended\n"
	       "data 1 s2c 8 \"zz\" t7\n"
	       "end 1 s2c open\n"
	       "close 1\n");
}

/* A FIN after a hole waits for the hole; the FIN's acknowledgement gives it
 * up.  The FIN's sequence number is not a byte. */
static void test_fin_after_hole(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5005, 0, 0, S, ""), seg(0, 5005, 0, 1, S | A, ""),
	    seg(1, 5005, 4, 1, A | F, "def"), /* 1..3 lost */
	    seg(0, 5005, 1, 8, A | F, ""),    /* acknowledges data and FIN */
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "gap 1 c2s 0+3 acked\n"
	       "data 1 c2s 3 \"def\" t3\n"
	       "end 1 c2s fin\n"
	       "end 1 s2c fin\n"
	       "close 1\n");
}

/* Captured mid-way: no SYN, offsets from the first sequence number seen;
 * earlier bytes are counted, not delivered; a lone ACK opens nothing. */
static void test_midstream(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(0, 5006, 900, 500, A, ""), /* stray: no connection yet */
	    seg(1, 5006, 500, 900, A, "mid"),
	    seg(1, 5006, 490, 900, A, "0123456789abc"), /* 10 before, 3 seen, 0 new */
	    seg(0, 5006, 900, 503, A, "ans"),
	    seg(1, 5006, 503, 903, A | F, ""),
	    seg(0, 5006, 903, 504, A | F, ""),
	};
	sw_reasm_stats st;
	int rc;
	char *got = run(NULL, s, N(s), 0, NULL, &rc, &st);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "open 1 partial\n"
	                         "data 1 c2s 0 \"mid\" t2\n"
	                         "data 1 s2c 0 \"ans\" t4\n"
	                         "end 1 c2s fin\n"
	                         "end 1 s2c fin\n"
	                         "close 1\n");
	assert_int_equal(st.stray, 1);
	free(got);
}

/* The SYN was missed but the SYN-ACK shows where both streams start. */
static void test_synack_first(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(0, 5007, 50, 11, S | A, ""),
	    seg(1, 5007, 11, 51, A, "req"),
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "data 1 c2s 0 \"req\" t2\n"
	       "end 1 c2s open\n"
	       "end 1 s2c open\n"
	       "close 1\n");
}

/* A RST ends both directions (holes become gaps) and closes. */
static void test_rst(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5008, 0, 0, S, ""),      seg(0, 5008, 0, 1, S | A, ""),
	    seg(0, 5008, 4, 1, A, "late"),  seg(1, 5008, 1, 1, R, ""),
	    seg(1, 5008, 1, 1, A, "after"), /* tombstone: ignored */
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "end 1 c2s rst\n"
	       "gap 1 s2c 0+3 ended\n"
	       "data 1 s2c 3 \"late\" t3\n"
	       "end 1 s2c rst\n"
	       "close 1\n");
}

/* A new handshake on a closed 4-tuple is a new connection; trailing ACKs
 * of the old one open nothing; a new SYN on a live tuple replaces it. */
static void test_tuple_reuse(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5009, 0, 0, S, ""),     seg(0, 5009, 0, 1, S | A, ""),
	    seg(1, 5009, 1, 1, A | F, ""), seg(0, 5009, 1, 2, A | F, ""),
	    seg(1, 5009, 2, 2, A, ""), /* trailing ACK */
	    seg(1, 5009, 1000, 0, S, ""),  seg(1, 5009, 1001, 0, A, "x"),
	    seg(1, 5009, 5000, 0, S, ""), /* reuse while live */
	    seg(1, 5009, 5000, 0, S, ""), /* retransmitted SYN */
	    seg(1, 5009, 5001, 0, A, "y"),
	};
	expect(NULL, s, N(s),
	       "open 1\n"
	       "end 1 c2s fin\n"
	       "end 1 s2c fin\n"
	       "close 1\n"
	       "open 2\n"
	       "data 2 c2s 0 \"x\" t7\n"
	       "end 2 c2s open\n"
	       "end 2 s2c open\n"
	       "close 2\n"
	       "open 3\n"
	       "data 3 c2s 0 \"y\" t10\n"
	       "end 3 c2s open\n"
	       "end 3 s2c open\n"
	       "close 3\n");
}

/* Frames cut by the snap length leave gaps of the missing bytes. */
static void test_snaplen(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 5010, 0, 0, S, ""),
	    seg(1, 5010, 1, 0, A, "abcdef"),
	    seg(1, 5010, 7, 0, A, "gh"),
	};
	s[1].len = 2; /* "ab" captured, "cdef" not */
	expect(NULL, s, N(s),
	       "open 1\n"
	       "data 1 c2s 0 \"ab\" t2\n"
	       "gap 1 c2s 2+4 snaplen\n"
	       "data 1 c2s 6 \"gh\" t3\n"
	       "end 1 c2s open\n"
	       "end 1 s2c open\n"
	       "close 1\n");
}

/* Held bytes over the limit give up the oldest hole (reported once per
 * connection); a connection over the live limit is ignored (reported, its
 * later segments silent). */
static void test_limits(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_reasm_config cfg = {0};
	cfg.max_held = 2 * (8 + 64); /* two 8-byte pieces with their cost */
	cfg.max_connections = 1;
	sw_tcp_seg s[] = {
	    seg(1, 5011, 0, 0, S, ""),
	    seg(1, 5011, 11, 0, A, "12345678"),
	    seg(1, 5011, 21, 0, A, "abcdefgh"),
	    seg(1, 5011, 31, 0, A, "ABCDEFGH"), /* the third piece is over */
	    seg(1, 5012, 0, 0, S, ""),          /* a second live connection */
	    seg(1, 5012, 1, 0, A, "zz"),
	    seg(1, 5011, 1, 0, A, "0123456789"), /* too late: given up */
	};
	sw_reasm_stats st;
	int rc;
	char *got = run(&cfg, s, N(s), 0, NULL, &rc, &st);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "open 1\n"
	                         "limit held 1\n"
	                         "gap 1 c2s 0+10 limit\n"
	                         "data 1 c2s 10 \"12345678\" t2\n"
	                         "limit connections 0\n"
	                         "gap 1 c2s 18+2 ended\n"
	                         "data 1 c2s 20 \"abcdefgh\" t3\n"
	                         "gap 1 c2s 28+2 ended\n"
	                         "data 1 c2s 30 \"ABCDEFGH\" t4\n"
	                         "end 1 c2s open\n"
	                         "end 1 s2c open\n"
	                         "close 1\n");
	free(got);
	assert_int_equal(st.ignored_connections, 1);
	assert_int_equal(st.stray, 1);
	assert_int_equal(st.connections, 1);
}

/* Only the server port's traffic is taken; the port is configurable. */
static void test_port(void **state)
{
	(void)state;
	clock_ns = 0;
	sw_tcp_seg s[] = {seg(1, 5013, 0, 0, S, ""), seg(1, 5013, 1, 0, A, "q")};
	sw_reasm_config cfg = {0};
	cfg.port = 9999;
	sw_reasm_stats st;
	int rc;
	char *got = run(&cfg, s, N(s), 0, NULL, &rc, &st);
	assert_string_equal(got, "");
	assert_int_equal(st.other_port, 2);
	free(got);
	for (size_t i = 0; i < N(s); i++) {
		s[i].dport = 9999;
	}
	got = run(&cfg, s, N(s), 0, NULL, &rc, &st);
	assert_string_equal(got, "open 1\n"
	                         "data 1 c2s 0 \"q\" t2\n"
	                         "end 1 c2s open\n"
	                         "end 1 s2c open\n"
	                         "close 1\n");
	free(got);
}

/* The traffic of the tests above, in one capture. */
static size_t scenario(sw_tcp_seg *out)
{
	clock_ns = 0;
	sw_tcp_seg s[] = {
	    seg(1, 6000, 0, 0, S, ""),      seg(0, 6000, 0, 1, S | A, ""),
	    seg(1, 6000, 4, 1, A, "def"),   seg(1, 6000, 1, 1, A, "abc"),
	    seg(1, 6000, 1, 1, A, "abcd"),  seg(1, 6000, 20, 1, A, "zz"),
	    seg(0, 6000, 1, 22, A, "ok"),   seg(1, 6001, 0, 0, S, ""),
	    seg(1, 6001, 1, 0, A, "hi"),    seg(0, 6001, 5, 3, A, "far"),
	    seg(1, 6000, 22, 3, A | F, ""), seg(0, 6000, 3, 23, A | F, ""),
	    seg(1, 6001, 3, 0, R, ""),
	};
	memcpy(out, s, sizeof s);
	return N(s);
}

/* Every callback can stop the reassembler; the stop is sticky. */
static void test_callback_stops(void **state)
{
	(void)state;
	sw_tcp_seg s[16];
	size_t n = scenario(s);
	int rc;
	char *all = run(NULL, s, n, 0, NULL, &rc, NULL);
	assert_int_equal(rc, 0);
	int events = 0;
	for (const char *p = all; *p; p++)
		events += *p == '\n';
	free(all);
	assert_true(events >= 15);
	for (int k = 1; k <= events; k++) {
		char *got = run(NULL, s, n, k, NULL, &rc, NULL);
		assert_int_equal(rc, 7);
		free(got);
	}
}

/* Every allocation failing, once and from then on: SW_ERR_NOMEM, no leak. */
static void test_failmem(void **state)
{
	(void)state;
	sw_tcp_seg s[16];
	size_t n = scenario(s);
	size_t calls = 0;
	for (size_t at = 0; at == 0 || at <= calls; at++) {
		for (int persistent = 0; persistent < 2; persistent++) {
			sw_failmem fm;
			sw_failmem_init(&fm, at, persistent);
			int rc;
			char *got = run(NULL, s, n, 0, &fm.mem, &rc, NULL);
			free(got);
			if (at == 0)
				calls = fm.calls;
			else if (fm.failures)
				assert_int_equal(rc, SW_ERR_NOMEM);
			else
				assert_int_equal(rc, 0);
			assert_int_equal(fm.live, 0);
		}
	}
	assert_true(calls >= 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clean),           cmocka_unit_test(test_wraparound),
	    cmocka_unit_test(test_retransmissions), cmocka_unit_test(test_retransmission_stats),
	    cmocka_unit_test(test_reordering),      cmocka_unit_test(test_gaps),
	    cmocka_unit_test(test_fin_after_hole),  cmocka_unit_test(test_midstream),
	    cmocka_unit_test(test_synack_first),    cmocka_unit_test(test_rst),
	    cmocka_unit_test(test_tuple_reuse),     cmocka_unit_test(test_snaplen),
	    cmocka_unit_test(test_limits),          cmocka_unit_test(test_port),
	    cmocka_unit_test(test_callback_stops),  cmocka_unit_test(test_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
