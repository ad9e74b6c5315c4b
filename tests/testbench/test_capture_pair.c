/* Tests of the pairing of requests and answers (testbench/capture/convo.c):
 * conversations built message by message, each with a chosen capture time,
 * against the rules stated in convo.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture/convo.h"
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

/* A v3 request (no body) or response (body "data") whose verb / first
 * answer word is `verb`, as Breezy encodes them. */
static void add_v3(sw_buf *b, bool response, const char *verb)
{
	sw_slice args[1] = {{(const uint8_t *)verb, strlen(verb)}};
	sw_slice body = {(const uint8_t *)"data", 4};
	int rc = response
	             ? sw_v3_encode_response(b, sw_v3_default_header_kv, 1, true, args, 1, &body)
	             : sw_v3_encode_request(b, sw_v3_default_header_kv, 1, args, 1, NULL);
	assert_int_equal(rc, 0);
}

struct crec {
	sw_buf trace;
	const sw_mem *mem;
	int stop_at, events;
};

static int c_event(struct crec *r)
{
	return ++r->events == r->stop_at ? 9 : 0;
}

static void put_side(sw_buf *b, const sw_flow_msg *m)
{
	if (!m) {
		put(b, " -");
		return;
	}
	put(b, " %.*s", (int)m->m.verb.len, (const char *)m->m.verb.data);
	if (m->truncated)
		put(b, "(cut)");
}

static int c_exchange(void *ud, const sw_tcp_conn *c, const sw_exchange *x)
{
	struct crec *r = ud;
	put(&r->trace, "x%u.%u", c->id, x->index);
	put_side(&r->trace, x->request);
	put_side(&r->trace, x->response);
	if (x->note)
		put(&r->trace, " [%s]", sw_exchange_note_name(x->note));
	put(&r->trace, "\n");
	return c_event(r);
}

static int c_skip(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                  sw_skip_why why, bool at_end)
{
	struct crec *r = ud;
	(void)off;
	put(&r->trace, "skip%u %s %llu %s%s\n", c->id, sw_dir_name(d), (unsigned long long)len,
	    sw_skip_why_name(why), at_end ? " at-end" : "");
	return c_event(r);
}

static int c_close(void *ud, const sw_tcp_conn *c, const sw_convo_summary *s)
{
	struct crec *r = ud;
	put(&r->trace, "close%u %u exchanges, %u/%u requests/responses, %u cut, %u/%u lone\n",
	    c->id, s->exchanges, s->requests, s->responses, s->truncated, s->no_request,
	    s->no_answer);
	return c_event(r);
}

static int c_gap(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                 sw_gap_cause why, int64_t ts)
{
	struct crec *r = ud;
	(void)off, (void)why, (void)ts;
	put(&r->trace, "gap%u %s %llu\n", c->id, sw_dir_name(d), (unsigned long long)len);
	return c_event(r);
}

/* A scripted conversation: each step sends one message (or a gap) in one
 * direction at a time. */
enum op { REQ, RESP, GAP_REQ, GAP_RESP, END_REQ, END_RESP, RAW_REQ };
struct step {
	enum op op;
	const char *what; /* verb, or raw bytes for RAW_REQ */
	int64_t t;
};

static int script(const struct step *steps, size_t n, bool partial, int stop_at, const sw_mem *mem,
                  char **trace)
{
	struct crec r;
	sw_buf_init(&r.trace, NULL);
	r.mem = mem;
	r.stop_at = stop_at;
	r.events = 0;
	sw_convo_sink sink = {NULL, c_exchange, c_gap, c_skip, c_close, NULL};
	sw_convo *cv;
	int rc = sw_convo_new(&cv, 0, &sink, &r, mem);
	sw_tcp_conn c;
	memset(&c, 0, sizeof c);
	c.id = 1;
	c.partial = partial;
	uint64_t off[2] = {0, 0};
	if (rc == 0)
		rc = sw_convo_open(cv, &c);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const struct step *s = &steps[i];
		sw_dir d =
		    s->op == RESP || s->op == GAP_RESP || s->op == END_RESP ? SW_S2C : SW_C2S;
		if (s->op == GAP_REQ || s->op == GAP_RESP) {
			rc = sw_convo_gap(cv, &c, d, off[d], 7, SW_GAP_ACKED, s->t);
			off[d] += 7;
			continue;
		}
		if (s->op == END_REQ || s->op == END_RESP) {
			rc = sw_convo_end(cv, &c, d);
			continue;
		}
		sw_buf m;
		sw_buf_init(&m, NULL);
		if (s->op == RAW_REQ)
			assert_int_equal(sw_buf_append_str(&m, s->what), 0);
		else
			add_v3(&m, d == SW_S2C, s->what);
		rc = sw_convo_data(cv, &c, d, off[d], m.data, m.len, s->t);
		off[d] += m.len;
		sw_buf_fini(&m);
	}
	if (c.user) {
		int rc2 = sw_convo_close(cv, &c);
		if (rc == 0)
			rc = rc2;
	}
	sw_convo_del(cv);
	assert_int_equal(sw_buf_append_byte(&r.trace, 0), 0);
	*trace = (char *)r.trace.data;
	return rc;
}

static void expect_pairs(const struct step *steps, size_t n, bool partial, const char *want)
{
	char *got;
	assert_int_equal(script(steps, n, partial, 0, NULL, &got), 0);
	if (strcmp(got, want) != 0) {
		print_error("got:\n%s\nwant:\n%s\n", got, want);
		free(got);
		fail();
	}
	free(got);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_pair_pipelined(void **state)
{
	(void)state;
	/* Three requests before any answer: the k-th answer is the k-th. */
	const struct step s[] = {
	    {REQ, "a", 1},  {REQ, "b", 1},  {REQ, "c", 2},
	    {RESP, "A", 3}, {RESP, "B", 4}, {RESP, "C", 5},
	};
	expect_pairs(s, N(s), false,
	             "x1.1 a A\nx1.2 b B\nx1.3 c C\n"
	             "close1 3 exchanges, 3/3 requests/responses, 0 cut, 0/0 lone\n");
}

/* The answer arrives while its request cannot be decoded yet (a v1 verb
 * whose body may follow): the pairing waits for it. */
static void test_pair_waits(void **state)
{
	(void)state;
	const struct step s[] = {
	    {RAW_REQ, "frob\n", 1},
	    {RESP, "A", 2},
	    {RAW_REQ, "knob\n", 3},
	    {RESP, "B", 4},
	};
	expect_pairs(s, N(s), false,
	             "x1.1 frob A\nx1.2 knob B\n"
	             "close1 2 exchanges, 2/2 requests/responses, 0 cut, 0/0 lone\n");
}

/* A request lost in a gap: its answer has no request; the next pairs. */
static void test_pair_lost_request(void **state)
{
	(void)state;
	const struct step s[] = {
	    {REQ, "a", 1},  {RESP, "A", 2}, {GAP_REQ, NULL, 3},
	    {RESP, "B", 4}, {REQ, "c", 5},  {RESP, "C", 6},
	};
	expect_pairs(s, N(s), false,
	             "x1.1 a A\ngap1 c2s 7\nx1.2 - B [request not captured]\nx1.3 c C\n"
	             "close1 3 exchanges, 2/3 requests/responses, 0 cut, 1/0 lone\n");
}

/* An answer lost in a gap: the next answer goes to the newest request sent
 * before it; the one in between lost its answer. */
static void test_pair_lost_answer(void **state)
{
	(void)state;
	const struct step s[] = {
	    {REQ, "a", 1}, {RESP, "A", 2}, {REQ, "b", 3}, {GAP_RESP, NULL, 4},
	    {REQ, "c", 5}, {RESP, "C", 6}, {REQ, "d", 7}, {RESP, "D", 8},
	};
	expect_pairs(s, N(s), false,
	             "x1.1 a A\ngap1 s2c 7\nx1.2 b - [answer lost]\nx1.3 c C\nx1.4 d D\n"
	             "close1 4 exchanges, 4/3 requests/responses, 0 cut, 0/1 lone\n");
}

/* Captured mid-way: an answer before any request has none; then normal. */
static void test_pair_partial(void **state)
{
	(void)state;
	const struct step s[] = {
	    {RESP, "A", 2},
	    {REQ, "b", 3},
	    {RESP, "B", 4},
	};
	expect_pairs(s, N(s), true,
	             "x1.1 - A [request not captured]\nx1.2 b B\n"
	             "close1 2 exchanges, 1/2 requests/responses, 0 cut, 1/0 lone\n");
}

/* The answers end first: requests left have no answer; a recording
 * without times (all 0) pairs by order. */
static void test_pair_no_answer(void **state)
{
	(void)state;
	const struct step s[] = {
	    {REQ, "a", 0}, {RESP, "A", 0}, {REQ, "b", 0}, {END_RESP, NULL, 0}, {REQ, "c", 0},
	};
	expect_pairs(s, N(s), false,
	             "x1.1 a A\nx1.2 b - [no answer]\nx1.3 c - [no answer]\n"
	             "close1 3 exchanges, 3/1 requests/responses, 0 cut, 0/2 lone\n");
}

static const struct step mixed[] = {
    {REQ, "a", 1},       {RESP, "A", 2}, {GAP_REQ, NULL, 3}, {RESP, "B", 4},    {REQ, "c", 5},
    {GAP_RESP, NULL, 6}, {REQ, "d", 7},  {RESP, "D", 8},     {RAW_REQ, "x", 9}, {END_REQ, NULL, 10},
};

/* Every sink callback can stop everything; allocation failures give
 * SW_ERR_NOMEM and leak nothing. */
static void test_pair_stops_and_failmem(void **state)
{
	(void)state;
	char *got;
	assert_int_equal(script(mixed, N(mixed), false, 0, NULL, &got), 0);
	int events = 0;
	for (const char *p = got; *p; p++)
		events += *p == '\n';
	free(got);
	assert_true(events >= 8);
	for (int k = 1; k <= events; k++) {
		assert_int_equal(script(mixed, N(mixed), false, k, NULL, &got), 9);
		free(got);
	}
	size_t calls = 0;
	for (size_t at = 0; at == 0 || at <= calls; at++) {
		for (int persistent = 0; persistent < 2; persistent++) {
			sw_failmem fm;
			sw_failmem_init(&fm, at, persistent);
			int rc = script(mixed, N(mixed), false, 0, &fm.mem, &got);
			free(got);
			if (at == 0)
				calls = fm.calls;
			else if (fm.failures)
				assert_int_equal(rc, SW_ERR_NOMEM);
			assert_int_equal(fm.live, 0);
		}
	}
	assert_true(calls > 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pair_pipelined),         cmocka_unit_test(test_pair_waits),
	    cmocka_unit_test(test_pair_lost_request),      cmocka_unit_test(test_pair_lost_answer),
	    cmocka_unit_test(test_pair_partial),           cmocka_unit_test(test_pair_no_answer),
	    cmocka_unit_test(test_pair_stops_and_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
