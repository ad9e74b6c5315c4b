/*
 * The client core's driving contract (smartwire/client_conn.h), exercised
 * directly as an event loop would: the request bytes of every Breezy call
 * vector (written in short writes, every allocation failed), what each
 * driving call accepts in each state, the negotiation v3 -> v2 and the
 * retries seen as the sequence of wants, request body streams pulled by
 * output, reset and an unasked close, and the excess left to the caller.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smartwire/client_conn.h"
#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "support/client_vectors.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- request bytes ------------------------------------------------------------- */

static int stream_chunks(void *ud, sw_slice *chunk)
{
	const struct client_req_vec *v = ((const struct client_req_vec **)ud)[0];
	int *i = ((int **)ud)[1];
	if (*i >= v->nchunks)
		return 0;
	*chunk = (sw_slice){(const uint8_t *)v->chunks[*i], v->chunk_len[*i]};
	(*i)++;
	return 1;
}

/* The core's request bytes for vector v, through `mem`; 0 or the error. */
static int request_bytes(const struct client_req_vec *v, const sw_mem *mem, sw_buf *out)
{
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = v->version;
	cfg.headers_set = !v->hdefault;
	sw_cli_conn *c;
	int rc = sw_cli_conn_new(&c, &cfg, mem);
	if (rc < 0)
		return rc;
	sw_slice args[4];
	for (int k = 1; k < v->nargs; k++)
		args[k - 1] = (sw_slice){(const uint8_t *)v->args[k], v->arglen[k]};
	sw_readv_range ranges[4];
	for (int k = 0; k < v->nranges; k++)
		ranges[k] = (sw_readv_range){v->ranges[k][0], v->ranges[k][1]};
	int idx = 0;
	const void *sud[2] = {v, &idx};
	sw_call call = {.verb = {(const uint8_t *)v->args[0], v->arglen[0]},
	                .args = args,
	                .nargs = (size_t)v->nargs - 1,
	                .body_kind = (sw_call_body)v->kind,
	                .body = {(const uint8_t *)v->body, v->body_len},
	                .ranges = ranges,
	                .nranges = (size_t)v->nranges,
	                .stream = stream_chunks,
	                .stream_ud = (void *)sud};
	rc = sw_cli_conn_call(c, &call);
	while (rc == 0 && sw_cli_conn_want(c) != SW_CLI_READ &&
	       sw_cli_conn_want(c) != SW_CLI_IDLE) {
		const uint8_t *p;
		size_t n;
		if (sw_cli_conn_want(c) == SW_CLI_CONNECT) {
			sw_cli_conn_connected(c);
		} else if (sw_cli_conn_want(c) == SW_CLI_CLOSE) {
			sw_cli_conn_closed(c);
		} else {
			sw_cli_conn_output(c, &p, &n);
			/* Written in two goes when possible: a short write. */
			size_t k = n > 1 ? n / 2 : n;
			sw_buf_append(out, p, k);
			sw_cli_conn_output_done(c, k);
		}
	}
	if (rc == 0 && sw_cli_conn_want(c) == SW_CLI_IDLE)
		rc = sw_cli_conn_result(c);
	sw_cli_conn_del(c);
	return rc;
}

static void test_request_vectors(void **state)
{
	(void)state;
	size_t sites = 0;
	for (size_t i = 0; i < N(client_req_vectors); i++) {
		const struct client_req_vec *v = &client_req_vectors[i];
		sw_buf b;
		sw_buf_init(&b, NULL);
		int rc = request_bytes(v, NULL, &b);
		if (rc != 0 || b.len != v->expect_len || memcmp(b.data, v->expect, b.len))
			fail_msg("%s: %s, %zu bytes instead of %zu", v->name, sw_errname(rc), b.len,
			         v->expect_len);
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		sw_buf_reset(&b);
		assert_int_equal(request_bytes(v, &fm.mem, &b), 0);
		size_t calls = fm.calls;
		for (size_t k = 1; k <= calls; k++) {
			sw_failmem_init(&fm, k, true);
			sw_buf_reset(&b);
			rc = request_bytes(v, &fm.mem, &b);
			if (rc != SW_ERR_NOMEM && (rc != 0 || b.len != v->expect_len))
				fail_msg("%s: allocation %zu: %s", v->name, k, sw_errname(rc));
			assert_int_equal(fm.live, 0);
		}
		sites += calls;
		sw_buf_fini(&b);
	}
	print_message("%zu request vectors, %zu allocation sites\n", N(client_req_vectors), sites);
}

/* ---- helpers ------------------------------------------------------------------- */

static sw_cli_conn *new_core(int protocol)
{
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = protocol;
	cfg.headers_set = true;
	sw_cli_conn *c;
	assert_int_equal(sw_cli_conn_new(&c, &cfg, NULL), 0);
	return c;
}

/* Takes everything the core wants written (connecting when asked); the
 * bytes are appended to `out` (may be NULL).  Returns the want after. */
static sw_cli_want write_all(sw_cli_conn *c, sw_buf *out)
{
	for (;;) {
		sw_cli_want w = sw_cli_conn_want(c);
		if (w == SW_CLI_CONNECT) {
			assert_int_equal(sw_cli_conn_connected(c), 0);
		} else if (w == SW_CLI_WRITE) {
			const uint8_t *p;
			size_t n;
			assert_int_equal(sw_cli_conn_output(c, &p, &n), 0);
			if (out)
				sw_buf_append(out, p, n);
			sw_cli_conn_output_done(c, n);
		} else {
			return w;
		}
	}
}

static void expect_bytes(const sw_buf *b, const char *lit, size_t n)
{
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, lit, n);
}

#define EXPECT(b, lit) expect_bytes(b, lit, sizeof(lit) - 1)
#define FEED(c, lit) sw_cli_conn_feed(c, (const uint8_t *)(lit), sizeof(lit) - 1)

/* ---- what each call accepts ------------------------------------------------------- */

static void test_contract(void **state)
{
	(void)state;
	sw_cli_conn *c;
	sw_client_config bad;
	memset(&bad, 0, sizeof bad); /* zero: the defaults */
	bad.protocol = 4;
	assert_int_equal(sw_cli_conn_new(&c, &bad, NULL), SW_ERR_INVALID_ARGUMENT);
	bad.protocol = 0;
	bad.headers_set = true;
	bad.header_pairs = 1;
	assert_int_equal(sw_cli_conn_new(&c, &bad, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_cli_conn_new(NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_cli_conn_del(NULL);

	c = new_core(3);
	/* Idle: nothing to drive. */
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_IDLE);
	assert_int_equal(sw_cli_conn_result(c), 0);
	assert_int_equal(FEED(c, "x"), SW_ERR_STATE);
	assert_int_equal(sw_cli_conn_eof(c), SW_ERR_STATE);
	assert_int_equal(sw_cli_conn_fail(c, SW_ERR_IO, NULL), SW_ERR_STATE);
	assert_int_equal(sw_cli_conn_fail(c, 0, NULL), SW_ERR_INVALID_ARGUMENT);
	const uint8_t *p = (const uint8_t *)"";
	size_t n = 7;
	assert_int_equal(sw_cli_conn_output(c, &p, &n), SW_ERR_STATE);
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(sw_cli_conn_next_read_size(c), 0);
	assert_null(sw_cli_conn_args(c, &n));
	assert_int_equal(n, 0);
	assert_true(sw_cli_conn_response_finished(c));
	sw_cli_conn_closed(c); /* none open: nothing happens */
	sw_client_stats st;
	sw_cli_conn_get_stats(c, &st);
	assert_int_equal(st.disconnects, 0);
	/* No response: nothing to read. */
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_cli_conn_read_body(c, &b), SW_ERR_READING_COMPLETED);
	assert_int_equal(sw_cli_conn_result(c), SW_ERR_READING_COMPLETED);
	assert_int_equal(sw_cli_conn_cancel_read_body(c), 0);
	assert_int_equal(sw_cli_conn_call(c, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_call bad_call = {.verb = {NULL, 3}};
	assert_int_equal(sw_cli_conn_call(c, &bad_call), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_cli_conn_last_error(c, NULL), SW_ERR_INVALID_ARGUMENT);

	/* A call runs: no other operation, no result yet. */
	sw_call call = {.verb = {(const uint8_t *)"hello", 5}};
	assert_int_equal(sw_cli_conn_call(c, &call), 0);
	assert_int_equal(sw_cli_conn_last_error(c, NULL), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CONNECT);
	assert_int_equal(sw_cli_conn_result(c), SW_ERR_STATE);
	assert_int_equal(sw_cli_conn_call(c, &call), SW_ERR_STATE);
	assert_int_equal(sw_cli_conn_hello(c), SW_ERR_STATE);
	assert_int_equal(sw_cli_conn_read_body(c, &b), SW_ERR_STATE);
	assert_int_equal(sw_cli_conn_output(c, &p, &n), SW_ERR_STATE); /* not connected */
	assert_int_equal(sw_cli_conn_connected(c), 0);
	assert_int_equal(sw_cli_conn_connected(c), SW_ERR_STATE);
	assert_int_equal(write_all(c, NULL), SW_CLI_READ);
	assert_int_equal(sw_cli_conn_next_read_size(c), 28);
	/* Excess stays with the caller. */
	static const char two[] = M3 H0 "oS"
	                                "s\x00\x00\x00\x09"
	                                "l2:ok1:2e"
	                                "e"
	                                "NEXT";
	assert_int_equal(FEED(c, two), sizeof two - 1 - 4);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_IDLE);
	assert_int_equal(sw_cli_conn_result(c), 0);
	assert_true(sw_cli_conn_response_finished(c));
	assert_int_equal(sw_cli_conn_response_version(c), 3);
	const sw_slice *a = sw_cli_conn_args(c, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(a[1].p, "2", 1);
	assert_int_equal(FEED(c, "NEXT"), SW_ERR_STATE);
	/* The args stay until the next call, through body operations. */
	assert_int_equal(sw_cli_conn_cancel_read_body(c), 0);
	assert_int_equal(sw_cli_conn_read_body(c, &b), SW_ERR_READING_COMPLETED);
	assert_ptr_equal(sw_cli_conn_args(c, &n), a);
	assert_int_equal(n, 2);
	assert_int_equal(sw_cli_conn_response_version(c), 3);
	sw_buf_fini(&b);
	sw_cli_conn_del(c);
}

/* ---- negotiation and retries as wants ------------------------------------------------ */

static void test_negotiation(void **state)
{
	(void)state;
	/* Test_SmartClientVersionDetection.test_version_two_server. */
	sw_cli_conn *c = new_core(0);
	static const sw_slice args[] = {{(const uint8_t *)"arg 1", 5},
	                                {(const uint8_t *)"arg 2", 5}};
	sw_call call = {.verb = {(const uint8_t *)"method-name", 11}, .args = args, .nargs = 2};
	sw_buf out;
	sw_buf_init(&out, NULL);
	assert_int_equal(sw_cli_conn_call(c, &call), 0);
	assert_int_equal(write_all(c, &out), SW_CLI_READ);
	EXPECT(&out, M3 H0 "s\x00\x00\x00\x1e"
	                   "l11:method-name5:arg 15:arg 2ee");
	/* A v2 answer: the v3 marker is wrong at its 5th byte. */
	assert_int_equal(FEED(c, "bzr response 2\nfailed\n\n"), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CLOSE);
	sw_cli_conn_closed(c);
	assert_true(sw_cli_conn_is_remote_before(c, 1, 6));
	sw_buf_reset(&out);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CONNECT);
	assert_int_equal(write_all(c, &out), SW_CLI_READ);
	EXPECT(&out, "bzr request 2\nmethod-name\x01"
	             "arg 1\x01"
	             "arg 2\n");
	assert_int_equal(sw_cli_conn_next_read_size(c), 1);
	assert_int_equal(FEED(c, "bzr response 2\nsuccess\nresponse value\n"), 38);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_IDLE);
	assert_int_equal(sw_cli_conn_result(c), 0);
	assert_int_equal(sw_cli_conn_protocol_version(c), 2);
	sw_client_stats st;
	sw_cli_conn_get_stats(c, &st);
	assert_int_equal(st.connects, 2);
	assert_int_equal(st.disconnects, 1);
	assert_int_equal(st.requests, 2);
	sw_buf_fini(&out);
	sw_cli_conn_del(c);
}

static void test_retries(void **state)
{
	(void)state;
	/* get is a read verb: one resend after a reset while writing
	 * (Breezy _send), and one after a reset while reading (_call). */
	sw_cli_conn *c = new_core(3);
	sw_call get = {.verb = {(const uint8_t *)"get", 3},
	               .args = &(sw_slice){(const uint8_t *)"/f", 2},
	               .nargs = 1};
	assert_int_equal(sw_cli_conn_call(c, &get), 0);
	assert_int_equal(sw_cli_conn_connected(c), 0);
	sw_errinfo ei = {.sys_errno = EPIPE};
	assert_int_equal(sw_cli_conn_fail(c, SW_ERR_CONNECTION_RESET, &ei), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CLOSE);
	sw_cli_conn_closed(c);
	assert_int_equal(write_all(c, NULL), SW_CLI_READ);
	assert_int_equal(sw_cli_conn_eof(c), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CLOSE);
	sw_cli_conn_closed(c);
	assert_int_equal(write_all(c, NULL), SW_CLI_READ);
	/* The third failure is the call's. */
	assert_int_equal(sw_cli_conn_fail(c, SW_ERR_CONNECTION_RESET, NULL), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CLOSE);
	sw_cli_conn_closed(c);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_IDLE);
	assert_int_equal(sw_cli_conn_result(c), SW_ERR_CONNECTION_RESET);
	sw_client_stats st;
	sw_cli_conn_get_stats(c, &st);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.requests, 3);
	sw_cli_conn_del(c);

	/* -Dnoretry: Breezy's text for a reset while writing, with the errno. */
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = 2;
	cfg.no_retry = true;
	assert_int_equal(sw_cli_conn_new(&c, &cfg, NULL), 0);
	assert_int_equal(sw_cli_conn_call(c, &get), 0);
	assert_int_equal(sw_cli_conn_connected(c), 0);
	assert_int_equal(sw_cli_conn_fail(c, SW_ERR_CONNECTION_RESET, &ei), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CLOSE);
	sw_cli_conn_closed(c);
	assert_int_equal(sw_cli_conn_result(c), SW_ERR_CONNECTION_RESET);
	sw_errinfo got;
	assert_int_equal(sw_cli_conn_last_error(c, &got), SW_ERR_CONNECTION_RESET);
	assert_int_equal(got.sys_errno, EPIPE);
	assert_string_equal(got.text, "Connection closed: Error trying to write to socket "
	                              "[Errno 32] Broken pipe");
	/* A connect failure: the driver's text is the message. */
	assert_int_equal(sw_cli_conn_call(c, &get), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_CONNECT);
	sw_errinfo_set(&ei, SW_ERR_CONNECT, ECONNREFUSED, "failed to connect to h:1: %s", "no");
	assert_int_equal(sw_cli_conn_fail(c, SW_ERR_CONNECT, &ei), 0);
	assert_int_equal(sw_cli_conn_want(c), SW_CLI_IDLE);
	assert_int_equal(sw_cli_conn_result(c), SW_ERR_CONNECT);
	assert_string_equal(sw_cli_conn_error_message(c), "failed to connect to h:1: no");
	assert_int_equal(sw_cli_conn_last_error(c, &got), SW_ERR_CONNECT);
	assert_int_equal(got.sys_errno, ECONNREFUSED);
	sw_cli_conn_del(c);
}

/* ---- request body streams ------------------------------------------------------------ */

static int chunks_then(void *ud, sw_slice *chunk)
{
	int *i = ud;
	if (*i == 2)
		return i[1]; /* 0: the end, -1: the producer fails */
	*chunk =
	    (*i)++ ? (sw_slice){(const uint8_t *)"bb", 2} : (sw_slice){(const uint8_t *)"a", 1};
	return 1;
}

static void test_body_stream(void **state)
{
	(void)state;
	for (int fails = 0; fails < 2; fails++) {
		sw_cli_conn *c = new_core(3);
		int st[2] = {0, fails ? -1 : 0};
		sw_call call = {.verb = {(const uint8_t *)"x", 1},
		                .body_kind = SW_CALL_BODY_STREAM,
		                .stream = chunks_then,
		                .stream_ud = st};
		assert_int_equal(sw_cli_conn_call(c, &call), 0);
		assert_int_equal(sw_cli_conn_connected(c), 0);
		/* The head first; the producer is not asked before it is out. */
		const uint8_t *p;
		size_t n;
		assert_int_equal(sw_cli_conn_output(c, &p, &n), 0);
		assert_int_equal(st[0], 0);
		static const char head[] = M3 H0 "s\x00\x00\x00\x05"
		                                 "l1:xe";
		assert_int_equal(n, sizeof head - 1);
		assert_memory_equal(p, head, n);
		sw_cli_conn_output_done(c, 3); /* a short write */
		assert_int_equal(sw_cli_conn_output(c, &p, &n), 0);
		assert_int_equal(n, sizeof head - 4);
		sw_cli_conn_output_done(c, n);
		assert_int_equal(sw_cli_conn_want(c), SW_CLI_WRITE);
		sw_buf out;
		sw_buf_init(&out, NULL);
		sw_cli_want w = write_all(c, &out);
		if (!fails) {
			EXPECT(&out, "b\x00\x00\x00\x01"
			             "a"
			             "b\x00\x00\x00\x02"
			             "bb"
			             "e");
			assert_int_equal(w, SW_CLI_READ);
		} else {
			EXPECT(&out, "b\x00\x00\x00\x01"
			             "a"
			             "b\x00\x00\x00\x02"
			             "bb"
			             "oE"
			             "s\x00\x00\x00\x09"
			             "l5:errore"
			             "e");
			assert_int_equal(w, SW_CLI_CLOSE);
			sw_cli_conn_closed(c);
			assert_int_equal(sw_cli_conn_result(c), SW_ERR_CALLBACK);
			assert_string_equal(sw_cli_conn_error_message(c),
			                    "the request body stream failed");
		}
		sw_buf_fini(&out);
		sw_cli_conn_del(c);
	}
}

/* ---- reset and an unasked close ----------------------------------------------------- */

static void test_reset_and_loss(void **state)
{
	(void)state;
	static const char resp[] = M3 H0 "oS"
	                                 "s\x00\x00\x00\x06"
	                                 "l2:oke"
	                                 "b\x00\x00\x00\x03"
	                                 "abc"
	                                 "e";
	sw_call get = {.verb = {(const uint8_t *)"get", 3}, .expect_body = true};
	for (int how = 0; how < 4; how++) {
		sw_cli_conn *c = new_core(3);
		assert_int_equal(sw_cli_conn_call(c, &get), 0);
		assert_int_equal(write_all(c, NULL), SW_CLI_READ);
		if (how < 2) {
			/* In the middle of the call. */
			assert_int_equal(sw_cli_conn_feed(c, (const uint8_t *)resp, 10), 10);
			if (how == 0) {
				sw_cli_conn_reset(c);
				assert_int_equal(sw_cli_conn_want(c), SW_CLI_CLOSE);
			}
			sw_cli_conn_closed(c);
			assert_int_equal(sw_cli_conn_want(c), SW_CLI_IDLE);
			assert_int_equal(sw_cli_conn_result(c), SW_ERR_CLOSED);
			assert_true(sw_cli_conn_response_finished(c));
		} else {
			/* Between the args and the body. */
			assert_int_equal(FEED(c, resp), 43);
			assert_int_equal(sw_cli_conn_result(c), 0);
			assert_false(sw_cli_conn_response_finished(c));
			if (how == 2)
				sw_cli_conn_reset(c);
			sw_cli_conn_closed(c);
			/* After a reset the body is forgotten; after a loss the
			 * response is still the current request. */
			assert_int_equal(sw_cli_conn_call(c, &get),
			                 how == 2 ? 0 : SW_ERR_TOO_MANY_REQUESTS);
			if (how == 3) {
				sw_buf b;
				sw_buf_init(&b, NULL);
				assert_int_equal(sw_cli_conn_read_body(c, &b), SW_ERR_CLOSED);
				assert_int_equal(sw_cli_conn_call(c, &get), 0);
				sw_buf_fini(&b);
			}
			assert_int_equal(sw_cli_conn_want(c), SW_CLI_CONNECT);
		}
		sw_cli_conn_del(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_vectors), cmocka_unit_test(test_contract),
	    cmocka_unit_test(test_negotiation),     cmocka_unit_test(test_retries),
	    cmocka_unit_test(test_body_stream),     cmocka_unit_test(test_reset_and_loss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
