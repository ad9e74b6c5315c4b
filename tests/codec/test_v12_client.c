/* Tests for the v1/v2 decoder's client features (smartwire/v12.h): the
 * body mode named after the tuple line (SW_BODY_DEFERRED), as Breezy's
 * client picks its body decoder only after read_response_tuple, and the v2
 * marker and status read as whole lines (whole_lines), as Breezy's
 * read_line does.  Breezy's response vectors (gen_v12.py) must decode the
 * same way in deferred mode, whole, one byte at a time and split at every
 * offset, with every allocation failed in turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "support/harness.h"

/* The message, the body mode the driver names once the decoder stops after
 * the tuple line, and whether the marker and status are whole lines. */
typedef struct v12_param {
	sw_v12_kind kind;
	int version;
	sw_body_mode mode;
	bool whole;
} v12_param;

static const v12_param RESP1_NONE = {SW_V12_RESPONSE, 1, SW_BODY_NONE, false};
static const v12_param RESP1_PREFIXED = {SW_V12_RESPONSE, 1, SW_BODY_PREFIXED, false};
static const v12_param RESP2_NONE = {SW_V12_RESPONSE, 2, SW_BODY_NONE, false};
static const v12_param RESP2_PREFIXED = {SW_V12_RESPONSE, 2, SW_BODY_PREFIXED, false};
static const v12_param RESP2_CHUNKED = {SW_V12_RESPONSE, 2, SW_BODY_CHUNKED, false};

struct vec {
	const char *name;
	const char *input;
	size_t len;
	const char *expected;
	const v12_param *arg;
};

static const struct vec response_vecs[] = {
#include "vectors/v12_response.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Driver: names the body when the decoder stops after the args ------- */

struct drv {
	sw_v12_dec *dec;
	const v12_param *param;
	sw_buf *trace;
	sw_buf body; /* libc-allocated: failures come only from the decoder */
	sw_buf excess;
};

static int on_status(void *ud, bool success)
{
	struct drv *d = ud;
	return sw_buf_append_str(d->trace, success ? "status success\n" : "status failed\n");
}

static int on_args(void *ud, const sw_slice *args, size_t n)
{
	struct drv *d = ud;
	if (sw_v12_dec_status(d->dec) == SW_V12_STATUS_OTHER) {
		size_t ln;
		const uint8_t *l = sw_v12_dec_head_line(d->dec, &ln);
		assert_non_null(l);
		sw_t_emit_bytes(d->trace, "status-line", l, ln);
	}
	/* Not yet stopped: the mode can still be changed from here, but the
	 * driver leaves it deferred. */
	return sw_t_emit_tuple(d->trace, "args", args, n);
}

static int on_body_begin(void *ud, uint64_t len)
{
	struct drv *d = ud;
	(void)len;
	sw_buf_reset(&d->body);
	return 0;
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
	struct drv *d = ud;
	assert_true(n > 0);
	return sw_buf_append(&d->body, p, n);
}

static int on_chunk_end(void *ud)
{
	struct drv *d = ud;
	return sw_t_emit_bytes(d->trace, "chunk", d->body.data, d->body.len);
}

static int on_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	struct drv *d = ud;
	return sw_t_emit_tuple(d->trace, "error-chunks", args, n);
}

static int on_end(void *ud)
{
	struct drv *d = ud;
	if (d->param->mode == SW_BODY_PREFIXED)
		sw_t_emit_bytes(d->trace, "body", d->body.data, d->body.len);
	return sw_buf_append_str(d->trace, "end\n");
}

static const sw_v12_callbacks driver_cb = {
    on_status, on_args,      on_body_begin,   on_data, on_body_begin,
    on_data,   on_chunk_end, on_error_chunks, on_end,
};

static void *create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	const v12_param *p = arg;
	struct drv *d = calloc(1, sizeof *d);
	assert_non_null(d);
	d->param = p;
	d->trace = trace;
	sw_buf_init(&d->body, NULL);
	sw_buf_init(&d->excess, NULL);
	sw_v12_config cfg = {0};
	cfg.whole_lines = p->whole;
	int rv = sw_v12_dec_new(&d->dec, p->kind, p->version, &cfg, &driver_cb, d, mem);
	if (rv < 0) {
		assert_int_equal(rv, SW_ERR_NOMEM);
		free(d);
		return NULL;
	}
	assert_int_equal(sw_v12_dec_expect_body(d->dec, SW_BODY_DEFERRED), 0);
	return d;
}

static bool stopped(const sw_v12_dec *dec)
{
	size_t n;
	return sw_v12_dec_args(dec, &n) && !sw_v12_dec_done(dec) &&
	       sw_v12_dec_next_read_size(dec) == 0 && sw_v12_dec_finish((sw_v12_dec *)dec) == 0;
}

static int feed(void *dv, const uint8_t *in, size_t len)
{
	struct drv *d = dv;
	for (;;) {
		ptrdiff_t r = sw_v12_dec_feed(d->dec, in, len);
		if (r < 0)
			return (int)r;
		assert_true((size_t)r <= len);
		if (r > 0) { /* `in` may be NULL for an empty feed */
			in += r;
			len -= (size_t)r;
		}
		if (!stopped(d->dec)) {
			if (len) {
				assert_true(sw_v12_dec_done(d->dec));
				sw_buf_append(&d->excess, in, len);
			}
			return 0;
		}
		/* Stopped after the args: name the body, then go on. */
		assert_int_equal(sw_v12_dec_expect_body(d->dec, SW_BODY_DEFERRED),
		                 SW_ERR_INVALID_ARGUMENT);
		int rv = sw_v12_dec_expect_body(d->dec, d->param->mode);
		if (rv < 0) {
			assert_int_equal(sw_v12_dec_expect_body(d->dec, d->param->mode),
			                 SW_ERR_STATE);
			return rv;
		}
		assert_int_equal(sw_v12_dec_expect_body(d->dec, SW_BODY_NONE), SW_ERR_STATE);
	}
}

static int finish(void *dv)
{
	struct drv *d = dv;
	int rv = sw_v12_dec_finish(d->dec);
	if (rv == 0 && d->excess.len)
		sw_t_emit_bytes(d->trace, "excess", d->excess.data, d->excess.len);
	return rv;
}

static void destroy(void *dv)
{
	struct drv *d = dv;
	sw_v12_dec_del(d->dec);
	sw_buf_fini(&d->body);
	sw_buf_fini(&d->excess);
	free(d);
}

static size_t nrs(void *dv)
{
	return sw_v12_dec_next_read_size(((struct drv *)dv)->dec);
}

static const sw_t_codec deferred_codec = {"v12 deferred", create, feed, finish, destroy, nrs};

/* ---- Breezy's vectors, the body named late ------------------------------- */

static void test_response_vectors_deferred(void **state)
{
	(void)state;
	size_t sites = 0;
	for (size_t i = 0; i < N(response_vecs); i++) {
		const struct vec *v = &response_vecs[i];
		print_message("  %s\n", v->name);
		const uint8_t *in = (const uint8_t *)v->input;
		sw_t_check_vector(&deferred_codec, v->arg, in, v->len, v->expected);
		sites += sw_t_check_failmem(&deferred_codec, v->arg, in, v->len, v->expected);
		/* Whole lines change nothing for a good marker and status. */
		v12_param whole = *v->arg;
		whole.whole = true;
		sw_t_check_vector(&deferred_codec, &whole, in, v->len, v->expected);
	}
	print_message("%zu vectors, %zu allocation sites failed\n", N(response_vecs), sites);
}

/* ---- whole lines ------------------------------------------------------------ */

static const v12_param W2_NONE = {SW_V12_RESPONSE, 2, SW_BODY_NONE, true};
static const v12_param W2_PREFIXED = {SW_V12_RESPONSE, 2, SW_BODY_PREFIXED, true};

#define CHECK(p, s, t) sw_t_check_vector(&deferred_codec, p, (const uint8_t *)(s), sizeof(s) - 1, t)

static void test_whole_lines(void **state)
{
	(void)state;
	/* A wrong marker fails when its line is complete, not before. */
	CHECK(&W2_NONE, "Unknown protocol!\n", "error SW_ERR_BAD_MARKER\n");
	CHECK(&W2_NONE, "Unknown protocol!", "error SW_ERR_UNEXPECTED_EOF\n");
	CHECK(&W2_NONE, "bzr response 2 \nsuccess\n", "error SW_ERR_BAD_MARKER\n");
	CHECK(&W2_NONE, "bzr message 3 (bzr 1.6)\n\x00\x00", "error SW_ERR_BAD_MARKER\n");
	CHECK(&W2_NONE, "bzr resp", "error SW_ERR_UNEXPECTED_EOF\n");
	/* Another status line is the caller's to judge: the tuple follows. */
	CHECK(&W2_NONE, "bzr response 2\nbogus\nok\n",
	      "status-line \"bogus\\x0a\"\nargs [\"ok\"]\nend\n");
	CHECK(&W2_PREFIXED, "bzr response 2\n\nok\n2\nabdone\n",
	      "status-line \"\\x0a\"\nargs [\"ok\"]\nbody \"ab\"\nend\n");
	CHECK(&W2_NONE, "bzr response 2\nfailed\nx\n", "status failed\nargs [\"x\"]\nend\n");
	CHECK(&W2_NONE, "bzr response 2\nSuccess", "error SW_ERR_UNEXPECTED_EOF\n");
	CHECK(&W2_NONE, "bzr response 2\nsuccess\nok",
	      "status success\nerror SW_ERR_UNEXPECTED_EOF\n");

	/* The lines for the caller's texts. */
	sw_v12_config cfg = {.whole_lines = true, .max_line = 8};
	sw_v12_dec *d;
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 2, &cfg, NULL, NULL, NULL), 0);
	size_t n = 9;
	assert_null(sw_v12_dec_head_line(d, &n));
	assert_int_equal(n, 0);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)"SSH-2", 5), 5);
	assert_null(sw_v12_dec_head_line(d, &n));
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)"\r\nxyz", 5), SW_ERR_BAD_MARKER);
	const uint8_t *l = sw_v12_dec_head_line(d, &n);
	assert_int_equal(n, 7);
	assert_memory_equal(l, "SSH-2\r\n", 7);
	/* The line limit counts the "\n", here against the default marker's 15
	 * bytes: the marker line itself is too long for max_line 8. */
	sw_v12_dec_reset(d);
	assert_null(sw_v12_dec_head_line(d, NULL));
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)"bzr response 2\n", 15),
	                 SW_ERR_LINE_TOO_LONG);
	sw_v12_dec_del(d);

	cfg.max_line = 0;
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 2, &cfg, NULL, NULL, NULL), 0);
	static const char ok[] = "bzr response 2\nsuccess\nok\nrest";
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)ok, sizeof ok - 1), 26);
	assert_true(sw_v12_dec_done(d));
	assert_int_equal(sw_v12_dec_status(d), 1);
	l = sw_v12_dec_head_line(d, &n);
	assert_int_equal(n, 8);
	assert_memory_equal(l, "success\n", 8);
	sw_v12_dec_del(d);

	/* Ignored for other messages: a v1 response has no marker. */
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 1, &cfg, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)"ok\n", 3), 3);
	assert_null(sw_v12_dec_head_line(d, &n));
	sw_v12_dec_del(d);
}

/* ---- the deferred contract ---------------------------------------------------- */

static int stop_end(void *ud)
{
	return ++*(int *)ud;
}

static void test_deferred_contract(void **state)
{
	(void)state;
	sw_v12_dec *d;
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 1, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_DEFERRED), 0);
	/* Stops after the line, whatever follows; feeds consume nothing more. */
	static const char in[] = "ok\n7\n1234567done\n";
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)in, sizeof in - 1), 3);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)in + 3, sizeof in - 4), 0);
	assert_false(sw_v12_dec_done(d));
	assert_int_equal(sw_v12_dec_next_read_size(d), 0);
	assert_int_equal(sw_v12_dec_finish(d), 0);
	/* v1 has no chunked bodies, even when named late. */
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_CHUNKED), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_PREFIXED), 0);
	assert_int_equal(sw_v12_dec_next_read_size(d), 6);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)in + 3, sizeof in - 4),
	                 (ptrdiff_t)(sizeof in - 4));
	assert_true(sw_v12_dec_done(d));
	/* After reset the mode is back to none. */
	sw_v12_dec_reset(d);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)in, sizeof in - 1), 3);
	assert_true(sw_v12_dec_done(d));
	sw_v12_dec_del(d);

	/* SW_BODY_NONE named late ends the message from inside the call; an
	 * on_end that aborts fails the decoder. */
	int calls = 0;
	sw_v12_callbacks cb = {0};
	cb.on_end = stop_end;
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 2, NULL, &cb, &calls, NULL), 0);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_DEFERRED), 0);
	static const char two[] = "bzr response 2\nsuccess\nok\n";
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)two, sizeof two - 1),
	                 (ptrdiff_t)(sizeof two - 1));
	assert_int_equal(calls, 0);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_NONE), SW_ERR_CALLBACK);
	assert_int_equal(calls, 1);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)two, 1), SW_ERR_CALLBACK);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_NONE), SW_ERR_STATE);
	sw_v12_dec_reset(d);
	cb.on_end = NULL;
	sw_v12_dec_del(d);
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 2, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_DEFERRED), 0);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)two, sizeof two - 1),
	                 (ptrdiff_t)(sizeof two - 1));
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_NONE), 0);
	assert_true(sw_v12_dec_done(d));
	sw_v12_dec_del(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_response_vectors_deferred),
	    cmocka_unit_test(test_whole_lines),
	    cmocka_unit_test(test_deferred_contract),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
