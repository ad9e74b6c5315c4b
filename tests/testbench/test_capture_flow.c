/* Tests of the message flows and the pairing (testbench/capture/flow.c,
 * convo.c).  The flows decode the traffic Breezy's own server produced
 * (corpus/sessions/, captured by corpus/capture/capture_inet.py) exactly as
 * the one-direction dissector decodes the whole file, however the bytes are
 * cut; gaps, errors and limits are checked on hand-made streams.  The
 * pairing is tested in test_capture_pair.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/dissect.h"
#include "capture/flow.h"
#include "support/harness.h"
#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/v3.h"

static void put(sw_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	assert_int_equal(sw_buf_append_str(b, line), 0);
}

static void put_msg(sw_buf *b, const sw_flow_msg *m)
{
	put(b, "msg %u v%d %llu+%llu t%lld-%lld", m->index, m->version,
	    (unsigned long long)m->offset, (unsigned long long)m->length, (long long)m->first_ts_ns,
	    (long long)m->last_ts_ns);
	if (m->m.args.len)
		put(b, " %.*s", (int)m->m.args.len, (const char *)m->m.args.data);
	if (m->m.body)
		put(b, " body %llu%s%s", (unsigned long long)m->m.body_len,
		    m->body_sha256[0] ? " " : "", m->body_sha256);
	if (m->error)
		put(b, " %s@%llu", sw_errname(m->error), (unsigned long long)m->error_offset);
	if (m->truncated)
		put(b, " truncated");
	if (m->after_skip)
		put(b, " after-skip");
	put(b, "\n");
}

/* ---- flows ---- */

struct frec {
	sw_buf trace;
	const sw_mem *mem;
	bool with_times;
};

static int f_msg(void *ud, sw_flow_msg *m)
{
	struct frec *r = ud;
	if (!r->with_times)
		m->first_ts_ns = m->last_ts_ns = 0;
	put_msg(&r->trace, m);
	sw_flow_msg_del(m, r->mem);
	return 0;
}

static int f_skip(void *ud, sw_dis_kind kind, uint64_t off, uint64_t len, sw_skip_why why,
                  bool at_end)
{
	struct frec *r = ud;
	(void)kind;
	put(&r->trace, "skip %llu+%llu %s%s\n", (unsigned long long)off, (unsigned long long)len,
	    sw_skip_why_name(why), at_end ? " at-end" : "");
	return 0;
}

/* One flow over in[0..len) cut at `cuts` (ascending), each piece captured
 * at the time of its index; returns the trace (malloc'd) and *rc. */
static char *flow_run(sw_dis_kind kind, const uint8_t *in, size_t len, const size_t *cuts,
                      size_t ncuts, bool times, const sw_mem *mem, int *rc_out)
{
	struct frec r;
	sw_buf_init(&r.trace, NULL);
	r.mem = mem;
	r.with_times = times;
	sw_flow_callbacks cb = {f_msg, f_skip};
	sw_flow *f;
	int rc = sw_flow_new(&f, kind, false, 0, &cb, &r, mem);
	size_t at = 0;
	for (size_t i = 0; rc == 0 && i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		rc = sw_flow_data(f, at, in + at, end - at, (int64_t)i);
		at = end;
	}
	if (rc == 0)
		rc = sw_flow_end(f);
	sw_flow_del(f);
	*rc_out = rc;
	assert_int_equal(sw_buf_append_byte(&r.trace, 0), 0);
	return (char *)r.trace.data;
}

/* The reference: the one-direction decoder over the whole buffer. */
static char *whole(sw_dis_kind kind, const uint8_t *in, size_t len)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	size_t pos = 0;
	for (unsigned index = 1; pos < len; index++) {
		sw_flow_msg m;
		memset(&m, 0, sizeof m);
		sw_dis_msg_init(&m.m, NULL, false);
		ptrdiff_t used =
		    sw_dis_decode(kind, in + pos, len - pos, &m.m, &m.version, false, NULL);
		assert_true(used > 0);
		m.index = index;
		m.offset = pos;
		m.length = (uint64_t)used;
		if (m.m.body)
			sw_sha256_hex(&m.m.sha, m.body_sha256);
		put_msg(&b, &m);
		sw_dis_msg_fini(&m.m);
		pos += (size_t)used;
	}
	assert_int_equal(sw_buf_append_byte(&b, 0), 0);
	return (char *)b.data;
}

static void check_session(const char *path, sw_dis_kind kind)
{
	size_t len;
	uint8_t *in = sw_t_read_file(path, &len);
	char *want = whole(kind, in, len);
	assert_true(strlen(want) > 100);
	int rc;
	/* Whole, then split in two at every offset. */
	char *got = flow_run(kind, in, len, NULL, 0, false, NULL, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got);
	for (size_t cut = 1; cut < len; cut++) {
		got = flow_run(kind, in, len, &cut, 1, false, NULL, &rc);
		assert_int_equal(rc, 0);
		if (strcmp(got, want) != 0) {
			print_error("%s cut at %zu:\n%s\nwant:\n%s\n", path, cut, got, want);
			fail();
		}
		free(got);
	}
	/* One byte at a time. */
	size_t *cuts = malloc(len * sizeof *cuts);
	assert_non_null(cuts);
	for (size_t i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	got = flow_run(kind, in, len, cuts, len - 1, false, NULL, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got);
	free(cuts);
	free(want);
	free(in);
}

static void test_sessions(void **state)
{
	(void)state;
	check_session("corpus/sessions/mixed-readonly.req", SW_DIS_REQUEST);
	check_session("corpus/sessions/mixed-readonly.resp", SW_DIS_RESPONSE);
	check_session("corpus/sessions/v3-readonly.req", SW_DIS_REQUEST);
	check_session("corpus/sessions/v3-readonly.resp", SW_DIS_RESPONSE);
	check_session("corpus/sessions/v3-writes.req", SW_DIS_REQUEST);
	check_session("corpus/sessions/v3-writes.resp", SW_DIS_RESPONSE);
}

/* Message times are those of the pieces holding their first and last byte. */
static void test_times(void **state)
{
	(void)state;
	const char in[] = "hello\nget\x01/x\nhas\x01/y\n";
	size_t cuts[] = {3, 6, 15};
	int rc;
	char *got =
	    flow_run(SW_DIS_REQUEST, (const uint8_t *)in, sizeof in - 1, cuts, 3, true, NULL, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, "msg 1 v1 0+6 t0-1 [\"hello\"]\n"
	                         "msg 2 v1 6+7 t2-2 [\"get\",\"/x\"]\n"
	                         "msg 3 v1 13+7 t2-3 [\"has\",\"/y\"]\n");
	free(got);
}

/* A v1 answer whose body comes in a later piece is one message, not two;
 * a lone marker waits for its request. */
static void test_lookahead(void **state)
{
	(void)state;
	const char resp[] = "ok\n3\nabcdone\n";
	size_t cut = 3;
	int rc;
	char *got = flow_run(SW_DIS_RESPONSE, (const uint8_t *)resp, sizeof resp - 1, &cut, 1,
	                     false, NULL, &rc);
	assert_string_equal(got,
	                    "msg 1 v1 0+13 t0-0 [\"ok\"] body 3 "
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
	free(got);
	const char req[] = "bzr request 2\nhello\n";
	cut = 14;
	got = flow_run(SW_DIS_REQUEST, (const uint8_t *)req, sizeof req - 1, &cut, 1, false, NULL,
	               &rc);
	assert_string_equal(got, "msg 1 v2 0+20 t0-0 [\"hello\"]\n");
	free(got);
	/* The stream ends after the marker: cut short. */
	got = flow_run(SW_DIS_REQUEST, (const uint8_t *)req, 14, NULL, 0, false, NULL, &rc);
	assert_string_equal(got, "msg 1 v2 0+14 t0-0 SW_ERR_UNEXPECTED_EOF@14 truncated\n");
	free(got);
}

static void add_v3(sw_buf *b, bool response, const char *verb)
{
	sw_slice args[1] = {{(const uint8_t *)verb, strlen(verb)}};
	sw_slice body = {(const uint8_t *)"data", 4};
	int rc = response
	             ? sw_v3_encode_response(b, sw_v3_default_header_kv, 1, true, args, 1, &body)
	             : sw_v3_encode_request(b, sw_v3_default_header_kv, 1, args, 1, NULL);
	assert_int_equal(rc, 0);
}

struct fx {
	sw_flow *f;
	struct frec r;
};

static void fx_start(struct fx *x, sw_dis_kind kind, bool lost, size_t max)
{
	sw_buf_init(&x->r.trace, NULL);
	x->r.mem = NULL;
	x->r.with_times = false;
	sw_flow_callbacks cb = {f_msg, f_skip};
	assert_int_equal(sw_flow_new(&x->f, kind, lost, max, &cb, &x->r, NULL), 0);
}

static void fx_done(struct fx *x, const char *want)
{
	assert_int_equal(sw_flow_end(x->f), 0);
	assert_int_equal(sw_flow_data(x->f, 0, (const uint8_t *)"x", 1, 0),
	                 SW_ERR_INVALID_ARGUMENT);
	sw_flow_del(x->f);
	assert_int_equal(sw_buf_append_byte(&x->r.trace, 0), 0);
	if (strcmp((char *)x->r.trace.data, want) != 0) {
		print_error("got:\n%s\nwant:\n%s\n", (char *)x->r.trace.data, want);
		fail();
	}
	sw_buf_fini(&x->r.trace);
}

/* A gap cuts the message in progress; decoding starts again at the next
 * marker; bytes passed over are reported. */
static void test_gap(void **state)
{
	(void)state;
	sw_buf s;
	sw_buf_init(&s, NULL);
	add_v3(&s, false, "one");
	size_t m1 = s.len;
	add_v3(&s, false, "two");
	size_t m2 = s.len;
	add_v3(&s, false, "three");
	struct fx x;
	fx_start(&x, SW_DIS_REQUEST, false, 0);
	assert_int_equal(sw_flow_data(x.f, 0, s.data, m1 + 30, 0), 0);
	assert_int_equal(sw_flow_gap(x.f, m1 + 30, 10), 0);
	assert_int_equal(sw_flow_data(x.f, m1 + 40, s.data + m1 + 40, s.len - m1 - 40, 0), 0);
	char want[512];
	snprintf(want, sizeof want,
	         "msg 1 v3 0+%zu t0-0 [\"one\"]\n"
	         "msg 2 v3 %zu+30 t0-0 SW_ERR_UNEXPECTED_EOF@%zu truncated\n"
	         "skip %zu+%zu gap\n"
	         "msg 3 v3 %zu+%zu t0-0 [\"three\"] after-skip\n",
	         m1, m1, m1 + 30, m1 + 40, m2 - m1 - 40, m2, s.len - m2);
	fx_done(&x, want);
	/* v1 has no marker: after a gap the rest is undecodable. */
	fx_start(&x, SW_DIS_REQUEST, false, 0);
	const char v1[] = "hello\nget\x01/x\nhas\x01/y\n";
	assert_int_equal(sw_flow_data(x.f, 0, (const uint8_t *)v1, 6, 0), 0);
	assert_int_equal(sw_flow_gap(x.f, 6, 3), 0);
	assert_int_equal(sw_flow_data(x.f, 9, (const uint8_t *)v1 + 9, sizeof v1 - 10, 0), 0);
	fx_done(&x, "msg 1 v1 0+6 t0-0 [\"hello\"]\n"
	            "skip 9+11 gap at-end\n");
	/* Captured mid-way: searching from the start. */
	fx_start(&x, SW_DIS_REQUEST, true, 0);
	assert_int_equal(sw_flow_data(x.f, 0, s.data + 5, s.len - 5, 0), 0);
	snprintf(want, sizeof want,
	         "skip 0+%zu start\n"
	         "msg 1 v3 %zu+%zu t0-0 [\"two\"] after-skip\n"
	         "msg 2 v3 %zu+%zu t0-0 [\"three\"]\n",
	         m1 - 5, m1 - 5, m2 - m1, m2 - 5, s.len - m2);
	fx_done(&x, want);
	sw_buf_fini(&s);
}

/* A framing error at its exact offset, then the next message. */
static void test_error(void **state)
{
	(void)state;
	sw_buf s;
	sw_buf_init(&s, NULL);
	assert_int_equal(sw_buf_append(&s,
	                               SW_V3_MARKER "\0\0\0\x02"
	                                            "dex",
	                               31),
	                 0);
	add_v3(&s, false, "next");
	struct fx x;
	fx_start(&x, SW_DIS_REQUEST, false, 0);
	assert_int_equal(sw_flow_data(x.f, 0, s.data, s.len, 0), 0);
	char want[256];
	snprintf(want, sizeof want,
	         "msg 1 v3 0+30 t0-0 SW_ERR_BAD_KIND@30\n"
	         "skip 30+1 error\n"
	         "msg 2 v3 31+%zu t0-0 [\"next\"] after-skip\n",
	         s.len - 31);
	fx_done(&x, want);
	/* A message cut short (its last two bytes lost) and followed by
	 * another: the structure takes the next marker's first byte and fails
	 * there; the next message is found right at that byte. */
	sw_buf t;
	sw_buf_init(&t, NULL);
	add_v3(&t, false, "cut");
	t.len -= 2;
	size_t cut = t.len;
	add_v3(&t, false, "whole");
	fx_start(&x, SW_DIS_REQUEST, false, 0);
	assert_int_equal(sw_flow_data(x.f, 0, t.data, t.len, 0), 0);
	snprintf(want, sizeof want,
	         "msg 1 v3 0+%zu t0-0 SW_ERR_BENCODE_SYNTAX@%zu\n"
	         "msg 2 v3 %zu+%zu t0-0 [\"whole\"] after-skip\n",
	         cut, cut, cut, t.len - cut);
	fx_done(&x, want);
	sw_buf_fini(&t);
	sw_buf_fini(&s);
}

/* A message over the limit is reported at the limit and skipped. */
static void test_max_message(void **state)
{
	(void)state;
	sw_buf s;
	sw_buf_init(&s, NULL);
	uint8_t big[300];
	memset(big, 'z', sizeof big);
	sw_slice args[1] = {{(const uint8_t *)"big", 3}}, body = {big, sizeof big};
	assert_int_equal(
	    sw_v3_encode_response(&s, sw_v3_default_header_kv, 1, true, args, 1, &body), 0);
	size_t m1 = s.len;
	add_v3(&s, true, "small");
	struct fx x;
	fx_start(&x, SW_DIS_RESPONSE, false, 100);
	for (size_t at = 0; at < s.len; at += 20) {
		size_t n = s.len - at < 20 ? s.len - at : 20;
		assert_int_equal(sw_flow_data(x.f, at, s.data + at, n, 0), 0);
	}
	char want[256];
	snprintf(want, sizeof want,
	         "msg 1 v3 0+100 t0-0 [\"big\"] body 45 SW_ERR_MESSAGE_TOO_LARGE@100\n"
	         "skip 100+%zu limit\n"
	         "msg 2 v3 %zu+%zu t0-0 [\"small\"] body 4 "
	         "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7 after-skip\n",
	         m1 - 100, m1, s.len - m1);
	fx_done(&x, want);
	sw_buf_fini(&s);
}

/* Every allocation of a flow failing: SW_ERR_NOMEM, no leak. */
static void test_flow_failmem(void **state)
{
	(void)state;
	size_t len;
	uint8_t *in = sw_t_read_file("corpus/sessions/mixed-readonly.resp", &len);
	size_t cuts[] = {5, 40, 41, 300};
	size_t calls = 0;
	for (size_t at = 0; at == 0 || at <= calls; at++) {
		for (int persistent = 0; persistent < 2; persistent++) {
			sw_failmem fm;
			sw_failmem_init(&fm, at, persistent);
			int rc;
			char *got =
			    flow_run(SW_DIS_RESPONSE, in, len, cuts, 4, false, &fm.mem, &rc);
			free(got);
			if (at == 0)
				calls = fm.calls;
			else if (fm.failures)
				assert_int_equal(rc, SW_ERR_NOMEM);
			assert_int_equal(fm.live, 0);
		}
	}
	assert_true(calls > 20);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sessions),     cmocka_unit_test(test_times),
	    cmocka_unit_test(test_lookahead),    cmocka_unit_test(test_gap),
	    cmocka_unit_test(test_error),        cmocka_unit_test(test_max_message),
	    cmocka_unit_test(test_flow_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
