/*
 * The calls fuzz_client_session makes (client_calls.h), and the trace
 * lines that write down their outcome.
 */
#include "client_calls.h"

#include <stdio.h>
#include <string.h>

#include "fdp.h"
#include "smartwire/error.h"
#include "smartwire/format.h"

#define S(lit) ((sw_slice){(const uint8_t *)(lit), sizeof(lit) - 1})

/* A streamed body's pieces are joined per part, so that the trace does
 * not depend on how the bytes were cut. */
typedef struct streamed {
	sw_buf *trace;
	sw_buf part; /* libc memory */
} streamed;

static int on_data(void *ud, const uint8_t *p, size_t n)
{
	streamed *st = ud;
	if (n == 0)
		sw_fuzz_fail("client_session: on_data with 0 bytes\n");
	if (sw_buf_append(&st->part, p, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	return 0;
}

static int on_part_end(void *ud)
{
	streamed *st = ud;
	sw_fuzz_put_bytes(st->trace, " part", st->part.data, st->part.len);
	sw_buf_reset(&st->part);
	return 0;
}

typedef struct stream_state {
	int i;
} stream_state;

static int stream_fn(void *ud, sw_slice *chunk)
{
	stream_state *st = ud;
	static const char *const pieces[] = {"first chunk", "", "third"};
	if (st->i == 3)
		return 0;
	const char *p = pieces[st->i++];
	*chunk = (sw_slice){(const uint8_t *)p, strlen(p)};
	return 1;
}

static void put_result(sw_buf *t, sw_client *c, int rv, sw_response *r)
{
	sw_fuzz_puts(t, "rc ");
	sw_fuzz_puts(t, sw_errname(rv));
	if (rv > 0)
		sw_fuzz_fail("client_session: positive result %d\n", rv);
	if (rv == SW_ERR_ERROR_RESPONSE || rv == SW_ERR_UNKNOWN_METHOD) {
		size_t n;
		const sw_slice *e = sw_client_error_args(c, &n);
		sw_fuzz_puts(t, " eargs ");
		if (sw_format_tuple(t, e, n) != 0)
			sw_fuzz_fail("fuzz harness: out of memory\n");
	}
	if (r) {
		size_t n;
		const sw_slice *a = sw_response_args(r, &n);
		if (n > 0 && !a)
			sw_fuzz_fail("client_session: %zu args but a NULL array\n", n);
		char v[32];
		snprintf(v, sizeof v, " v%d ", sw_response_version(r));
		sw_fuzz_puts(t, v);
		if (sw_format_tuple(t, a, n) != 0)
			sw_fuzz_fail("fuzz harness: out of memory\n");
	}
	sw_fuzz_puts(t, "\n");
}

void sw_fuzz_client_call(sw_client *c, unsigned kind, int forced, sw_buf *t)
{
	static const sw_slice get_args[] = {S("/d/a.txt")};
	static const sw_slice put_args[] = {S("/d/new"), S("")};
	static const sw_slice open_args[] = {S("/")};
	static const sw_slice stream_args[] = {S("/"), S("")};
	static const sw_readv_range ranges[] = {{0, 3}, {5, 2}};
	sw_call call;
	memset(&call, 0, sizeof call);
	sw_response *r = NULL;
	int rv;
	stream_state st = {0};
	switch (kind) {
	case 0: {
		int version = 0;
		rv = sw_client_hello(c, &version);
		char line[64];
		snprintf(line, sizeof line, "hello %s %d\n", sw_errname(rv), rv == 0 ? version : 0);
		if (rv == 0 && version != 1 && version != 2)
			sw_fuzz_fail("client_session: hello gave version %d\n", version);
		sw_fuzz_puts(t, line);
		return;
	}
	case 4:
		rv = sw_client_call_simple(c, S("BzrDir.open_2.1"), open_args, 1, &r);
		sw_fuzz_puts(t, "simple ");
		break;
	default:
		call.verb = S("get");
		call.args = get_args;
		call.nargs = 1;
		if (kind == 2 || kind == 3 || kind == 6)
			call.expect_body = true;
		if (kind == 3) {
			call.verb = S("Repository.get_stream_1.19");
			call.args = stream_args;
			call.nargs = 2;
		} else if (kind == 5) {
			call.verb = S("put");
			call.args = put_args;
			call.nargs = 2;
			call.body_kind = SW_CALL_BODY_BYTES;
			call.body = S("new contents\n");
		} else if (kind == 6) {
			call.verb = S("readv");
			call.body_kind = SW_CALL_BODY_READV;
			call.ranges = ranges;
			call.nranges = 2;
		} else if (kind == 7) {
			call.verb = S("Repository.insert_stream_1.19");
			call.args = stream_args;
			call.nargs = 2;
			call.body_kind = SW_CALL_BODY_STREAM;
			call.stream = stream_fn;
			call.stream_ud = &st;
			call.expect_body = true;
		}
		rv = sw_client_call(c, &call, &r);
		sw_fuzz_puts(t, "call ");
		break;
	}
	if ((rv == 0) != (r != NULL))
		sw_fuzz_fail("client_session: call returned %s with response %p\n", sw_errname(rv),
		             (void *)r);
	put_result(t, c, rv, r);
	if (!r)
		return;
	if (!sw_response_success(r))
		sw_fuzz_fail("client_session: a successful call with a failed response\n");
	if (forced && sw_response_version(r) != forced)
		sw_fuzz_fail("client_session: forced v%d but the response is v%d\n", forced,
		             sw_response_version(r));
	if (kind == 2 || kind == 6) {
		sw_buf body;
		sw_buf_init(&body, NULL);
		rv = sw_response_read_body(r, &body);
		/* The result first: with a fault, the first line that differs
		 * from the clean run must be the one naming the error. */
		sw_fuzz_puts(t, "body-rc ");
		sw_fuzz_puts(t, sw_errname(rv));
		sw_fuzz_puts(t, "\n");
		if (rv == SW_ERR_ERROR_RESPONSE || rv == SW_ERR_UNKNOWN_METHOD)
			put_result(t, c, rv, NULL);
		sw_fuzz_put_bytes(t, "body", body.data, body.len);
		sw_buf_fini(&body);
	} else if (kind == 3) {
		sw_body_callbacks cb = {on_data, on_part_end};
		streamed sd = {t, {0}};
		sw_buf_init(&sd.part, NULL);
		rv = sw_response_read_streamed_body(r, &cb, &sd);
		sw_fuzz_puts(t, "stream-rc ");
		sw_fuzz_puts(t, sw_errname(rv));
		sw_fuzz_puts(t, "\n");
		if (rv == SW_ERR_ERROR_RESPONSE || rv == SW_ERR_UNKNOWN_METHOD)
			put_result(t, c, rv, NULL);
		if (sd.part.len)
			sw_fuzz_put_bytes(t, " unfinished-part", sd.part.data, sd.part.len);
		sw_buf_fini(&sd.part);
	} else if (kind == 7) {
		rv = sw_response_cancel_read_body(r);
		sw_fuzz_puts(t, "cancel-rc ");
		sw_fuzz_puts(t, sw_errname(rv));
		sw_fuzz_puts(t, "\n");
	}
	if (rv == 0 && (kind == 2 || kind == 3 || kind == 6 || kind == 7) &&
	    !sw_response_finished(r))
		sw_fuzz_fail("client_session: body read but the response is not finished\n");
	sw_response_del(r);
}
