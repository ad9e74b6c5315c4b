/*
 * Server session layer (smartwire/server.h), through the sans-I/O core:
 * handler behaviours (a streamed body's read failure, fatal handler
 * results, a body failure followed by the next request, the handler
 * contract), pipelining, next_read_size and the output watermark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/server_check.h"
#include "support/server_drive.h"
#include "smartwire/failmem.h"

#include "support/server_vectors.h"

/* ---- Handler behaviours ---------------------------------------------- */

static void run_simple(int version, const sw_slice *args, size_t n, const sw_slice *body,
                       bool then_hello, sw_buf *out, srv_outcome *o, fake *f)
{
	sw_buf req;
	srv_build_request(&req, version, args, n, body);
	if (then_hello) {
		sw_slice h = fake_sl("hello");
		sw_buf more;
		srv_build_request(&more, version, &h, 1, NULL);
		sw_buf_append(&req, more.data, more.len);
		sw_buf_fini(&more);
	}
	fake_init(f, NULL);
	srv_exchange(NULL, NULL, f, req.data, req.len, NULL, 0, true, out, o);
	sw_buf_fini(&req);
}

static void test_stream_read_failure(void **state)
{
	(void)state;
	sw_slice args[3] = {fake_sl("stream"), fake_sl("2"), fake_sl("neg")};
	fake f;
	sw_buf out;
	srv_outcome o;
	/* v3: oE ("error", "smartwire.StreamError", text) e, connection kept. */
	run_simple(3, args, 3, NULL, true, &out, &o, &f);
	const struct srv_stream_vec *two = NULL;
	for (size_t i = 0; i < sizeof srv_stream_vectors / sizeof srv_stream_vectors[0]; i++)
		if (srv_stream_vectors[i].version == 3 &&
		    strcmp(srv_stream_vectors[i].name, "stream 2 fail") == 0)
			two = &srv_stream_vectors[i];
	assert_non_null(two);
	const char *oe = srv_find_mem(two->resp, two->resp_len, "oEs", 3);
	size_t head = (size_t)(oe - two->resp);
	assert_true(out.len > head);
	assert_memory_equal(out.data, two->resp, head);
	assert_non_null(srv_find_mem(out.data, out.len, "smartwire.StreamError", 21));
	assert_int_equal(o.requests, 2);
	assert_int_equal(o.feed_err, 0);
	sw_buf_fini(&out);
	/* v2: Breezy lets the exception escape: body cut, connection closed. */
	run_simple(2, args, 3, NULL, true, &out, &o, &f);
	static const char v2[] = "bzr response 2\nsuccess\nok\nchunked\n6\nchunk06\nchunk1";
	srv_expect_bytes("v2 stream failure", &out, v2, sizeof v2 - 1);
	assert_int_equal(o.error, SW_ERR_IO);
	assert_true(o.finished);
	assert_int_equal(f.live, 0);
	sw_buf_fini(&out);
	/* v1: the stream is never read. */
	run_simple(1, args, 3, NULL, false, &out, &o, &f);
	srv_expect_bytes("v1 stream", &out, "ok\n", 3);
	assert_int_equal(f.body_bytes_out, 0);
	sw_buf_fini(&out);
}

static void test_fatal_handlers(void **state)
{
	(void)state;
	fake f;
	sw_buf out;
	srv_outcome o;
	sw_slice body = fake_sl("xyz");
	for (int ver = 1; ver <= 3; ver++) {
		sw_slice a = fake_sl("fatal");
		run_simple(ver, &a, 1, NULL, true, &out, &o, &f);
		assert_int_equal(out.len, 0);
		assert_int_equal(o.feed_err, SW_ERR_IO);
		assert_true(o.finished);
		sw_buf_fini(&out);
		a = fake_sl("fatalbody");
		run_simple(ver, &a, 1, &body, true, &out, &o, &f);
		assert_int_equal(out.len, 0);
		assert_int_equal(o.feed_err, SW_ERR_IO);
		assert_int_equal(f.aborts, 1);
		assert_int_equal(f.live, 0);
		sw_buf_fini(&out);
		/* A known-length body cut short: the head and what was read, then
		 * the connection closes. */
		sw_slice sb[2] = {fake_sl("shortbody"), fake_sl("10")};
		run_simple(ver, sb, 2, NULL, true, &out, &o, &f);
		assert_int_equal(f.body_bytes_out, 5);
		assert_int_equal(o.requests, 0);
		assert_true(o.finished);
		assert_int_equal(f.live, 0);
		sw_buf_fini(&out);
	}
}

static void test_bodyfail_then_next(void **state)
{
	(void)state;
	for (int ver = 1; ver <= 3; ver++) {
		const struct srv_resp_vec *want = NULL;
		for (size_t i = 0; i < sizeof srv_resp_vectors / sizeof srv_resp_vectors[0]; i++)
			if (srv_resp_vectors[i].version == ver &&
			    strcmp(srv_resp_vectors[i].name, "bodyfail") == 0)
				want = &srv_resp_vectors[i];
		sw_slice a = fake_sl("bodyfail");
		sw_slice body = fake_sl("0123456789");
		fake f;
		sw_buf out;
		srv_outcome o;
		run_simple(ver, &a, 1, &body, true, &out, &o, &f);
		const struct srv_vec *h = find_vec(ver == 1   ? "v1 hello"
		                                   : ver == 2 ? "v2 hello"
		                                              : "v3 hello");
		sw_buf exp;
		sw_buf_init(&exp, NULL);
		sw_buf_append(&exp, want->resp, want->resp_len);
		sw_buf_append(&exp, h->resp, h->resp_len);
		srv_expect_bytes("bodyfail", &out, exp.data, exp.len);
		assert_int_equal(f.bodies, 1); /* the rest of the body is discarded */
		assert_int_equal(f.ends, 0);
		assert_int_equal(o.requests, 2);
		sw_buf_fini(&exp);
		sw_buf_fini(&out);
	}
}

/* A handler that breaks the contract in various ways. */
static int bad_mode;
static int bad_begin(void *ud, sw_srv_req *req, const sw_slice *args, size_t n, void **ctx)
{
	(void)ud;
	(void)args;
	(void)n;
	(void)ctx;
	sw_slice ok = fake_sl("ok"), nl = fake_sl("a\nb");
	switch (bad_mode) {
	case 0: /* answered without responding */ return SW_SRV_ANSWERED;
	case 1: /* wants a body after responding */
		sw_srv_respond(req, true, &ok, 1);
		return SW_SRV_WANT_BODY;
	case 2: /* responding twice; a bad v1 byte, then a good answer */
		assert_int_equal(sw_srv_respond(req, true, &nl, 1),
		                 sw_srv_req_version(req) == 3 ? 0 : SW_ERR_BAD_ARGUMENT_BYTE);
		if (sw_srv_req_version(req) != 3)
			assert_int_equal(sw_srv_respond(req, true, &ok, 1), 0);
		assert_int_equal(sw_srv_respond(req, true, &ok, 1), SW_ERR_STATE);
		assert_int_equal(sw_srv_stream_error(req, &ok, 1), SW_ERR_STATE);
		return SW_SRV_ANSWERED;
	default: /* a body wanted but no end handler */ return SW_SRV_WANT_BODY;
	}
}

static void test_handler_contract(void **state)
{
	(void)state;
	sw_dispatch d = {.begin = bad_begin};
	static const int want_err[] = {SW_ERR_STATE, SW_ERR_STATE, 0, SW_ERR_STATE};
	for (bad_mode = 0; bad_mode < 4; bad_mode++) {
		for (int ver = 1; ver <= 3; ver++) {
			sw_srv_conn *c;
			assert_int_equal(sw_srv_conn_new(&c, NULL, &d, NULL, NULL), 0);
			sw_slice a = fake_sl("x");
			sw_buf req, out;
			srv_build_request(&req, ver, &a, 1, NULL);
			sw_buf_init(&out, NULL);
			srv_outcome o;
			srv_drive(c, req.data, req.len, NULL, 0, true, &out, &o);
			if (bad_mode == 3 && ver != 3) {
				/* v1/v2: the body never came; EOF aborts the request. */
				assert_int_equal(o.feed_err, 0);
				assert_int_equal(o.eof_rv, SW_ERR_UNEXPECTED_EOF);
			} else {
				assert_int_equal(o.feed_err, want_err[bad_mode]);
			}
			if (bad_mode == 2)
				assert_int_equal(o.requests, 1);
			sw_srv_conn_del(c);
			sw_buf_fini(&req);
			sw_buf_fini(&out);
		}
	}
	/* API argument checks. */
	sw_srv_conn *c;
	assert_int_equal(sw_srv_conn_new(NULL, NULL, &d, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_dispatch none = {0};
	assert_int_equal(sw_srv_conn_new(&c, NULL, &none, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_srv_respond(NULL, true, NULL, 0), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_srv_conn_feed(NULL, NULL, 0), SW_ERR_INVALID_ARGUMENT);
	sw_srv_conn_del(NULL);
	assert_int_equal(sw_srv_conn_new(&c, NULL, &d, NULL, NULL), 0);
	assert_int_equal(sw_srv_conn_eof(c), 0);
	assert_int_equal(sw_srv_conn_feed(c, (const uint8_t *)"x", 1), SW_ERR_STATE);
	assert_true(sw_srv_conn_finished(c));
	sw_srv_conn_del(c);
}

static void test_pipelining(void **state)
{
	(void)state;
	/* Three requests of three versions in one feed, answered in order with
	 * no further input and no EOF. */
	const struct srv_vec *mixed = find_vec("mixed v2 v1 v3");
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(NULL, NULL, &f, (const uint8_t *)mixed->req, mixed->req_len, NULL, 0, false,
	             &out, &o);
	srv_expect_bytes("pipelined", &out, mixed->resp, mixed->resp_len);
	assert_int_equal(o.requests, 3);
	assert_false(o.finished);
	sw_buf_fini(&out);
}

static void test_next_read_size(void **state)
{
	(void)state;
	fake f;
	fake_init(&f, NULL);
	sw_dispatch d = fake_dispatch();
	sw_srv_conn *c;
	assert_int_equal(sw_srv_conn_new(&c, NULL, &d, &f, NULL), 0);
	/* Breezy: 1 per byte of the first line; v1 body: 6, then bytes_left+5,
	 * then trailer bytes left (protocol-reference 5.2, 5.3). */
	static const char v1[] = "readv\x01/r\n3\n1,2done\n";
	static const size_t v1_nrs[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 8, 7, 6, 5, 4, 3, 2, 1};
	for (size_t i = 0; i < sizeof v1 - 1; i++) {
		assert_int_equal(sw_srv_conn_next_read_size(c), v1_nrs[i]);
		assert_int_equal(sw_srv_conn_feed(c, (const uint8_t *)v1 + i, 1), 1);
	}
	/* v3: ProtocolThreeDecoder's exact counts (5.5). */
	static const char v3[] = "bzr message 3 (bzr 1.6)\n\0\0\0\x02"
	                         "des\0\0\0\x09l5:helloee";
	for (size_t i = 0; i < sizeof v3 - 1; i++) {
		size_t nrs = sw_srv_conn_next_read_size(c);
		size_t want = i < 24    ? 1
		              : i == 24 ? 4
		              : i == 28 ? 2
		              : i == 30 ? 1
		              : i == 31 ? 4
		              : i == 35 ? 9
		                        : nrs;
		assert_int_equal(nrs, want);
		assert_int_equal(sw_srv_conn_feed(c, (const uint8_t *)v3 + i, 1), 1);
	}
	assert_int_equal(sw_srv_conn_next_read_size(c), 1);
	assert_int_equal(sw_srv_conn_requests(c), 2);
	sw_srv_conn_del(c);
}

/* A large body never sits in memory: the queue stays near the watermark. */
static void test_watermark(void **state)
{
	(void)state;
	const size_t big = 8u << 20;
	sw_srv_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.output_watermark = 32 * 1024;
	cfg.stream_chunk = 16 * 1024;
	for (int ver = 1; ver <= 3; ver++) {
		sw_slice a[2] = {fake_sl("big"), fake_sl("8388608")};
		sw_buf req;
		srv_build_request(&req, ver, a, 2, NULL);
		sw_slice h = fake_sl("hello");
		sw_buf more;
		srv_build_request(&more, ver, &h, 1, NULL);
		for (int k = 0; k < 3; k++) /* pipelined behind it */
			sw_buf_append(&req, more.data, more.len);
		fake f;
		fake_init(&f, NULL);
		sw_buf out;
		srv_outcome o;
		srv_exchange(&cfg, NULL, &f, req.data, req.len, NULL, 0, true, &out, &o);
		assert_true(o.max_queue <= cfg.output_watermark + cfg.stream_chunk + 128);
		assert_int_equal(f.body_bytes_out, big);
		assert_int_equal(o.requests, 4);
		assert_true(out.len > big);
		sw_buf_fini(&out);
		sw_buf_fini(&req);
		sw_buf_fini(&more);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stream_read_failure), cmocka_unit_test(test_fatal_handlers),
	    cmocka_unit_test(test_bodyfail_then_next),  cmocka_unit_test(test_handler_contract),
	    cmocka_unit_test(test_pipelining),          cmocka_unit_test(test_next_read_size),
	    cmocka_unit_test(test_watermark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
