/*
 * The blocking client's medium: runstates and reentrancy, Breezy's one
 * request at a time (TooManyConcurrentRequests, ReadingCompleted), reset
 * and disconnect with a body still due, the push-back buffer and
 * pipe_exact reads, and the error record (code, errno, Breezy's text, the
 * server's tuple) read back through sw_client_last_error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smartwire/client.h"
#include "smartwire/error.h"
#include "support/fakeserver.h"

#include "support/client_vectors.h"

#define RESP3_BODY                                                                                 \
	M3 H0 "oS"                                                                                 \
	      "s\x00\x00\x00\x06"                                                                  \
	      "l2:oke"                                                                             \
	      "b\x00\x00\x00\x03"                                                                  \
	      "abc"                                                                                \
	      "e"

/* ---- runstates -------------------------------------------------------------- */

static sw_client *reentrant_client;
static int reentrant_rc;

static int reentrant_connect(void *ud, sw_medium **out, sw_errinfo *ei)
{
	sw_response *r;
	sw_call call = {.verb = SL("hello")};
	reentrant_rc = sw_client_call(reentrant_client, &call, &r);
	if (sw_client_state(reentrant_client) != SW_CLIENT_CONNECTING)
		reentrant_rc = 1;
	return sw_fs_connect(ud, out, ei);
}

static void test_runstates(void **state)
{
	(void)state;
	sw_fs_conn refused = {NULL, 0, SW_FS_REFUSE};
	sw_fakeserver fs;
	sw_fs_init(&fs, &refused, 1, NULL, NULL);
	sw_client *c = sw_fs_client(&fs, 0, true);
	assert_int_equal(sw_client_state(c), SW_CLIENT_IDLE);
	assert_int_equal(sw_client_connect(c), SW_ERR_CONNECT);
	assert_int_equal(sw_client_state(c), SW_CLIENT_IDLE);
	/* The connect callback's reason is the error's detail. */
	sw_errinfo ei;
	assert_int_equal(sw_client_last_error(c, &ei), SW_ERR_CONNECT);
	assert_int_equal(ei.code, SW_ERR_CONNECT);
	assert_int_equal(ei.sys_errno, 111);
	assert_string_equal(ei.text, "failed to connect to fake:0: Connection refused");
	sw_response *r;
	assert_int_equal(sw_client_call_simple(c, SL("hello"), NULL, 0, &r), SW_ERR_CONNECT);
	assert_string_equal(sw_client_error_message(c),
	                    "failed to connect to fake:0: Connection refused");
	assert_int_equal(sw_client_state(c), SW_CLIENT_IDLE);
	assert_int_equal(sw_client_disconnect(c), 0);
	/* No request was left open: the next call gets as far as connecting. */
	assert_int_equal(sw_client_hello(c, NULL), SW_ERR_CONNECT);
	sw_client_del(c);

	/* A call from inside the connect callback is refused. */
	static const char resp[] = M3 H0 "oS"
	                                 "s\x00\x00\x00\x02"
	                                 "le"
	                                 "e";
	sw_fs_exchange ex = {NULL, 0, S(resp), SW_FS_ANY_REQUEST};
	sw_fs_conn ok = {&ex, 1, 0};
	sw_fs_init(&fs, &ok, 1, NULL, NULL);
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = 3;
	assert_int_equal(sw_client_new(&c, &cfg, reentrant_connect, &fs, NULL), 0);
	reentrant_client = c;
	assert_int_equal(sw_client_connect(c), 0);
	assert_int_equal(reentrant_rc, SW_ERR_STATE);
	assert_int_equal(sw_client_connect(c), SW_ERR_STATE);
	assert_int_equal(sw_client_call_simple(c, SL("hello"), NULL, 0, &r), 0);
	assert_int_equal(sw_client_last_error(c, NULL), 0);
	sw_response_del(r);
	assert_int_equal(sw_client_disconnect(c), 0);
	assert_int_equal(sw_client_state(c), SW_CLIENT_IDLE);
	sw_client_del(c);
	sw_fs_close(&fs);

	sw_client_config bad;
	memset(&bad, 0, sizeof bad); /* zero: the defaults */
	bad.protocol = 4;
	assert_int_equal(sw_client_new(&c, &bad, sw_fs_connect, &fs, NULL),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_client_new(&c, NULL, NULL, &fs, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_client_call(NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
}

/* ---- one request at a time (protocol-reference §6.3) ------------------------ */

static void test_one_request_at_a_time(void **state)
{
	(void)state;
	sw_fs_exchange ex[] = {{NULL, 0, S(RESP3_BODY), SW_FS_ANY_REQUEST},
	                       {NULL, 0, S(RESP3_BODY), SW_FS_ANY_REQUEST}};
	sw_fs_conn conn = {ex, 2, 0};
	sw_fakeserver fs;
	sw_fs_init(&fs, &conn, 1, NULL, NULL);
	sw_client *c = sw_fs_client(&fs, 3, true);
	sw_call get = {.verb = SL("get"), .args = &SL("/f"), .nargs = 1, .expect_body = true};
	sw_response *r, *r2;
	assert_int_equal(sw_client_call(c, &get, &r), 0);
	assert_false(sw_response_finished(r));
	/* The body is due: Breezy's TooManyConcurrentRequests. */
	assert_int_equal(sw_client_call(c, &get, &r2), SW_ERR_TOO_MANY_REQUESTS);
	assert_null(r2);
	assert_string_equal(sw_client_error_message(c),
	                    "The medium 'client' has reached its concurrent request limit. Be "
	                    "sure to finish_writing and finish_reading on the currently open "
	                    "request.");
	assert_int_equal(sw_client_hello(c, NULL), SW_ERR_TOO_MANY_REQUESTS);
	sw_buf body;
	sw_buf_init(&body, NULL);
	assert_int_equal(sw_response_read_body(r, &body), 0);
	assert_true(sw_response_finished(r));
	assert_int_equal(body.len, 3);
	/* Read once: a second read appends nothing. */
	assert_int_equal(sw_response_read_body(r, &body), 0);
	assert_int_equal(body.len, 3);
	/* Free again: the next call goes out; the old response keeps its
	 * args and says its body was read. */
	assert_int_equal(sw_client_call(c, &get, &r2), 0);
	assert_int_equal(sw_response_read_body(r, &body), 0);
	assert_int_equal(sw_response_cancel_read_body(r2), 0);
	/* Cancelled: Breezy's ReadingCompleted for a read after it. */
	assert_int_equal(sw_response_read_body(r2, &body), SW_ERR_READING_COMPLETED);
	assert_string_equal(sw_client_error_message(c),
	                    "The MediumRequest 'request' has already had finish_reading called "
	                    "upon it - the request has been completed and no more data may be "
	                    "read.");
	assert_int_equal(sw_response_cancel_read_body(r2), 0);
	assert_int_equal(sw_response_read_streamed_body(r2, NULL, NULL), SW_ERR_READING_COMPLETED);
	size_t n;
	assert_memory_equal(sw_response_args(r, &n)[0].p, "ok", 2);
	sw_response_del(r);
	sw_response_del(r2);
	assert_true(sw_fs_conn_done(&fs));
	assert_string_equal(fs.failure, "");
	sw_buf_fini(&body);
	sw_client_del(c);
	sw_fs_close(&fs);
}

/* reset() forgets the response; disconnect() keeps it current but unreadable
 * (Breezy keeps _current_request). */
static void test_reset_and_disconnect(void **state)
{
	(void)state;
	for (int version = 1; version <= 3; version++) {
		for (int how = 0; how < 3; how++) {
			static const char v1[] = "ok\n3\nabcdone\n";
			static const char v2[] = "bzr response 2\nsuccess\nok\n3\nabcdone\n";
			sw_fs_exchange ex = {NULL, 0, NULL, 0, SW_FS_ANY_REQUEST};
			ex.reply = (const uint8_t *)(version == 1   ? v1
			                             : version == 2 ? v2
			                                            : RESP3_BODY);
			ex.reply_len = version == 1   ? sizeof v1 - 1
			               : version == 2 ? sizeof v2 - 1
			                              : sizeof RESP3_BODY - 1;
			sw_fs_conn conn = {&ex, 1, 0};
			sw_fakeserver fs;
			sw_fs_init(&fs, &conn, 1, NULL, NULL);
			sw_client *c = sw_fs_client(&fs, version, true);
			sw_call get = {
			    .verb = SL("get"), .args = &SL("/f"), .nargs = 1, .expect_body = true};
			sw_response *r, *r2;
			assert_int_equal(sw_client_call(c, &get, &r), 0);
			sw_buf body;
			sw_buf_init(&body, NULL);
			if (how == 0) {
				assert_int_equal(sw_client_reset(c), 0);
				assert_int_equal(sw_client_state(c), SW_CLIENT_IDLE);
				assert_int_equal(sw_response_read_body(r, &body), SW_ERR_CLOSED);
			} else if (how == 1) {
				assert_int_equal(sw_client_disconnect(c), 0);
				assert_int_equal(sw_client_call(c, &get, &r2),
				                 SW_ERR_TOO_MANY_REQUESTS);
				assert_int_equal(sw_response_read_body(r, &body), SW_ERR_CLOSED);
			} else {
				/* Freeing an unread response resets the connection. */
				sw_response_del(r);
				r = NULL;
				assert_int_equal(sw_client_state(c), SW_CLIENT_IDLE);
			}
			assert_int_equal(body.len, 0);
			/* Either way the client is free for the next call. */
			assert_int_equal(sw_client_call(c, &get, &r2), 0);
			assert_int_equal(sw_response_read_body(r2, &body), 0);
			assert_memory_equal(body.data, "abc", 3);
			/* The old one failed: it is over. */
			if (r)
				assert_int_equal(sw_response_read_body(r, &body),
				                 SW_ERR_READING_COMPLETED);
			sw_response_del(r2);
			sw_response_del(r);
			sw_buf_fini(&body);
			assert_int_equal(fs.nconnects, 2);
			sw_client_del(c);
			sw_fs_close(&fs);
		}
	}
}

/* ---- the push-back buffer and pipe_exact ------------------------------------- */

static void test_pending_and_pipe_exact(void **state)
{
	(void)state;
	/* A v1 server that answers two requests in one write: with ordinary
	 * reads the second answer waits in the push-back buffer and is the
	 * next call's response; with pipe_exact it stays in the medium. */
	static const char both[] = "ok\x01"
	                           "2\n"
	                           "no\n";
	for (int exact = 0; exact < 2; exact++) {
		sw_fs_exchange ex[] = {{S("hello\n"), S(both), 0}, {S("has\x01/x\n"), NULL, 0, 0}};
		sw_fs_conn conn = {ex, 2, 0};
		sw_fakeserver fs;
		sw_fs_init(&fs, &conn, 1, NULL, NULL);
		sw_client_config cfg;
		memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
		cfg.protocol = 1;
		cfg.pipe_exact = exact;
		sw_client *c;
		assert_int_equal(sw_client_new(&c, &cfg, sw_fs_connect, &fs, NULL), 0);
		int v;
		assert_int_equal(sw_client_hello(c, &v), 0);
		assert_int_equal(v, 2);
		assert_int_equal(sw_client_pending(c), exact ? 0 : 3);
		sw_response *r;
		assert_int_equal(sw_client_call_simple(c, SL("has"), &SL("/x"), 1, &r), 0);
		static const char *const no[] = {"no"};
		sw_fs_assert_args(r, no, 1);
		assert_int_equal(sw_client_pending(c), 0);
		sw_response_del(r);
		assert_string_equal(fs.failure, "");
		sw_client_del(c);
		sw_fs_close(&fs);
	}
}

/* ---- the error record ---------------------------------------------------------- */

static void test_error_record(void **state)
{
	(void)state;
	static const char err3[] = M3 H0 "oE"
	                                 "s\x00\x00\x00\x13"
	                                 "l10:NoSuchFile2:/xe"
	                                 "e";
	sw_fs_exchange ex[] = {{NULL, 0, S(err3), SW_FS_ANY_REQUEST},
	                       {NULL, 0, S(RESP3_BODY), SW_FS_ANY_REQUEST}};
	sw_fs_conn conn = {ex, 2, 0};
	sw_fakeserver fs;
	sw_fs_init(&fs, &conn, 1, NULL, NULL);
	sw_client *c = sw_fs_client(&fs, 3, true);
	sw_errinfo ei;
	assert_int_equal(sw_client_last_error(c, &ei), 0);
	assert_int_equal(ei.code, 0);
	assert_string_equal(sw_client_error_message(c), "");
	sw_response *r;
	assert_int_equal(sw_client_call_simple(c, SL("get"), &SL("/x"), 1, &r),
	                 SW_ERR_ERROR_RESPONSE);
	assert_int_equal(sw_client_last_error(c, &ei), SW_ERR_ERROR_RESPONSE);
	assert_int_equal(ei.sys_errno, 0);
	assert_string_equal(ei.text, "Error received from smart server: (b'NoSuchFile', b'/x')");
	assert_string_equal(sw_client_error_message(c), ei.text);
	size_t n;
	const sw_slice *a = sw_client_error_args(c, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(a[1].p, "/x", 2);
	/* The connection stays; a success clears the record. */
	assert_int_equal(sw_client_state(c), SW_CLIENT_RUNNING);
	assert_int_equal(sw_client_call_simple(c, SL("get"), &SL("/f"), 1, &r), 0);
	assert_int_equal(sw_client_last_error(c, &ei), 0);
	assert_null(sw_client_error_args(c, &n));
	assert_int_equal(n, 0);
	sw_response_del(r);
	sw_client_del(c);
	sw_fs_close(&fs);

	/* A long text is whole in the message and cut in the errinfo. */
	static char big[600];
	size_t bl = (size_t)snprintf(big, sizeof big, "bzr response 2\nfailed\nE\x01");
	memset(big + bl, 'x', 400);
	big[bl + 400] = '\n';
	sw_fs_exchange ex2 = {NULL, 0, (const uint8_t *)big, bl + 401, SW_FS_ANY_REQUEST};
	sw_fs_conn conn2 = {&ex2, 1, 0};
	sw_fs_init(&fs, &conn2, 1, NULL, NULL);
	c = sw_fs_client(&fs, 2, true);
	assert_int_equal(sw_client_call_simple(c, SL("get"), &SL("/x"), 1, &r),
	                 SW_ERR_ERROR_RESPONSE);
	const char *m = sw_client_error_message(c);
	assert_int_equal(strlen(m), strlen("Error received from smart server: (b'E', b'')") + 400);
	assert_int_equal(sw_client_last_error(c, &ei), SW_ERR_ERROR_RESPONSE);
	assert_int_equal(strlen(ei.text), SW_ERRINFO_TEXT - 1);
	assert_memory_equal(ei.text, m, SW_ERRINFO_TEXT - 1);
	sw_client_del(c);
	sw_fs_close(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runstates),
	    cmocka_unit_test(test_one_request_at_a_time),
	    cmocka_unit_test(test_reset_and_disconnect),
	    cmocka_unit_test(test_pending_and_pipe_exact),
	    cmocka_unit_test(test_error_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
