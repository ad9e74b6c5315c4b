/* Tests for v1/v2 messages (smartwire/v12.h): Breezy's server and client
 * readings of requests and responses, malformed inputs with exact codes,
 * the expect_body contract, reuse with excess, and a round trip from our
 * encoders (test_v12_encode.c checks them against Breezy's bytes). */
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
#include "smartwire/failmem.h"
#include "support/harness.h"

/* What the driver tells the decoder: which message, which body, and
 * whether to say so before feeding (early) or from on_args. */
typedef struct v12_param {
	sw_v12_kind kind;
	int version;
	sw_body_mode mode;
	bool marker;                /* requests: expect_request_marker */
	bool early;
	const sw_v12_config *cfg;   /* limits; NULL = defaults */
} v12_param;

static const v12_param REQ1_NONE = {SW_V12_REQUEST, 1, SW_BODY_NONE, false, false, NULL};
static const v12_param REQ1_BODY = {SW_V12_REQUEST, 1, SW_BODY_PREFIXED, false, false, NULL};
static const v12_param REQ2_NONE = {SW_V12_REQUEST, 2, SW_BODY_NONE, false, false, NULL};
static const v12_param REQ2_BODY = {SW_V12_REQUEST, 2, SW_BODY_PREFIXED, false, false, NULL};
static const v12_param REQ2M_NONE = {SW_V12_REQUEST, 2, SW_BODY_NONE, true, false, NULL};
static const v12_param REQ2M_BODY = {SW_V12_REQUEST, 2, SW_BODY_PREFIXED, true, false, NULL};
static const v12_param RESP1_NONE = {SW_V12_RESPONSE, 1, SW_BODY_NONE, false, false, NULL};
static const v12_param RESP1_PREFIXED = {SW_V12_RESPONSE, 1, SW_BODY_PREFIXED, false, false, NULL};
static const v12_param RESP2_NONE = {SW_V12_RESPONSE, 2, SW_BODY_NONE, false, false, NULL};
static const v12_param RESP2_PREFIXED = {SW_V12_RESPONSE, 2, SW_BODY_PREFIXED, false, false, NULL};
static const v12_param RESP2_CHUNKED = {SW_V12_RESPONSE, 2, SW_BODY_CHUNKED, false, false, NULL};

struct vec {
	const char *name;
	const char *input;
	size_t len;
	const char *expected;
	const v12_param *arg;
};

static const struct vec request_vecs[] = {
#include "vectors/v12_request.inc"
};
static const struct vec response_vecs[] = {
#include "vectors/v12_response.inc"
};

enum enc_op { ENC_TUPLE, ENC_REQUEST, ENC_READV, ENC_RESPONSE, ENC_STREAM, ENC_CHUNKS,
              ENC_PREFIXED, ENC_OFFSETS };

struct enc_vec {
	const char *name;
	enum enc_op op;
	int version;
	bool success;
	const sw_slice *args;
	size_t nargs;
	const sw_slice *body;
	const sw_slice *chunks;
	size_t nchunks;
	bool has_error;
	const sw_slice *error_args;
	size_t nerror;
	const sw_readv_range *ranges;
	size_t nranges;
	const char *expected;
	size_t expected_len;
};

static const struct enc_vec encode_vecs[] = {
#include "vectors/v12_encode.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Driver ------------------------------------------------------------ */

struct drv {
	sw_v12_dec *dec;
	const v12_param *param;
	sw_buf *trace;
	sw_buf body;   /* libc-allocated: failures come only from the decoder */
	sw_buf excess;
	bool saw_args;
};

static void emit_bytes(struct drv *d, const char *event, const sw_buf *b)
{
	sw_t_emit_bytes(d->trace, event, b->data, b->len);
}

static int on_status(void *ud, bool success)
{
	struct drv *d = ud;
	sw_buf_append_str(d->trace, success ? "status success\n" : "status failed\n");
	return 0;
}

static int on_args(void *ud, const sw_slice *args, size_t n)
{
	struct drv *d = ud;
	assert_true(n >= 1);
	sw_t_emit_tuple(d->trace, "args", args, n);
	d->saw_args = true;
	if (!d->param->early)
		assert_int_equal(sw_v12_dec_expect_body(d->dec, d->param->mode), 0);
	/* The accessor gives the same array. */
	size_t m;
	assert_ptr_equal(sw_v12_dec_args(d->dec, &m), args);
	assert_int_equal(m, n);
	return 0;
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
	emit_bytes(d, "chunk", &d->body);
	return 0;
}

static int on_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	struct drv *d = ud;
	sw_t_emit_tuple(d->trace, "error-chunks", args, n);
	return 0;
}

static int on_end(void *ud)
{
	struct drv *d = ud;
	if (d->param->mode == SW_BODY_PREFIXED)
		emit_bytes(d, "body", &d->body);
	sw_buf_append_str(d->trace, "end\n");
	return 0;
}

static const sw_v12_callbacks driver_cb = {
	on_status, on_args, on_body_begin, on_data,
	on_body_begin, on_data, on_chunk_end, on_error_chunks, on_end,
};

static void *v12_create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	const v12_param *p = arg;
	struct drv *d = calloc(1, sizeof *d);
	assert_non_null(d);
	d->param = p;
	d->trace = trace;
	sw_buf_init(&d->body, NULL);
	sw_buf_init(&d->excess, NULL);
	sw_v12_config cfg = {0};
	if (p->cfg)
		cfg = *p->cfg;
	cfg.expect_request_marker = p->marker;
	int rv = sw_v12_dec_new(&d->dec, p->kind, p->version, &cfg, &driver_cb, d, mem);
	if (rv < 0) {
		assert_int_equal(rv, SW_ERR_NOMEM);
		free(d);
		return NULL;
	}
	if (p->early)
		assert_int_equal(sw_v12_dec_expect_body(d->dec, p->mode), 0);
	return d;
}

static int v12_feed(void *dv, const uint8_t *in, size_t len)
{
	struct drv *d = dv;
	ptrdiff_t r = sw_v12_dec_feed(d->dec, in, len);
	if (r < 0)
		return (int)r;
	assert_true((size_t)r <= len);
	if ((size_t)r < len) {
		assert_true(sw_v12_dec_done(d->dec));
		sw_buf_append(&d->excess, in + r, len - (size_t)r);
	}
	return 0;
}

static int v12_finish(void *dv)
{
	struct drv *d = dv;
	int rv = sw_v12_dec_finish(d->dec);
	if (rv == 0 && d->excess.len)
		emit_bytes(d, "excess", &d->excess);
	return rv;
}

static void v12_destroy(void *dv)
{
	struct drv *d = dv;
	sw_v12_dec_del(d->dec);
	sw_buf_fini(&d->body);
	sw_buf_fini(&d->excess);
	free(d);
}

static size_t v12_nrs(void *dv)
{
	struct drv *d = dv;
	return sw_v12_dec_next_read_size(d->dec);
}

static const sw_t_codec v12_codec = {"v12", v12_create, v12_feed, v12_finish, v12_destroy,
                                     v12_nrs};

static void run_vectors(const struct vec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		print_message("  %s\n", v[i].name);
		const uint8_t *in = (const uint8_t *)v[i].input;
		sw_t_check_vector(&v12_codec, v[i].arg, in, v[i].len, v[i].expected);
		sw_t_check_failmem(&v12_codec, v[i].arg, in, v[i].len, v[i].expected);
		/* The same with the body mode set before feeding. */
		v12_param early = *v[i].arg;
		early.early = true;
		sw_t_check_vector(&v12_codec, &early, in, v[i].len, v[i].expected);
	}
}

static void test_request_vectors(void **state)
{
	(void)state;
	run_vectors(request_vecs, N(request_vecs));
}

static void test_response_vectors(void **state)
{
	(void)state;
	run_vectors(response_vecs, N(response_vecs));
}

/* ---- next_read_size ------------------------------------------------------ */

static void expect_nrs(const v12_param *p, const char *in, const size_t *cuts, size_t ncuts,
                       const char *want)
{
	sw_buf nrs;
	sw_buf_init(&nrs, NULL);
	char *t = sw_t_run(&v12_codec, p, (const uint8_t *)in, strlen(in), cuts, ncuts, NULL, &nrs);
	sw_buf_append_byte(&nrs, 0);
	assert_string_equal((char *)nrs.data, want);
	free(t);
	sw_buf_fini(&nrs);
}

static void test_next_read_size(void **state)
{
	(void)state;
	/* protocol-reference §5.2: a request waiting for its body reports 6,
	 * after b'7\nabc' 9, after b'defgd' 4 (the trailer), 0 once answered. */
	static const size_t c1[] = {4, 9, 14};
	expect_nrs(&REQ1_BODY, "foo\n7\nabcdefgdone\n", c1, 3, "1 6 9 4 0");
	/* 1 until the line is complete; a request without body is then done. */
	static const size_t c2[] = {1, 3};
	expect_nrs(&REQ1_NONE, "hello\n", c2, 2, "1 1 1 0");
	/* v2 response: 1 through marker, status and tuple, then the chunked
	 * decoder's 8 before its header. */
	static const size_t c3[] = {15, 23, 26, 30, 34, 36, 38};
	expect_nrs(&RESP2_CHUNKED, "bzr response 2\nsuccess\nok\nchunked\n4\n1234END\n", c3, 7,
	           "1 1 1 8 4 2 8 6 0");
}

/* ---- Malformed input: exact codes under every chunking ----------------- */

#define CHECK(p, s, t) sw_t_check_vector(&v12_codec, p, (const uint8_t *)(s), sizeof(s) - 1, t)

static void test_malformed(void **state)
{
	(void)state;
	/* Body framing errors inside a request. */
	CHECK(&REQ1_BODY, "put\x01/new\x01\nabc\n...", "args [\"put\", \"/new\", \"\"]\nerror SW_ERR_BAD_LENGTH\n");
	CHECK(&REQ1_BODY, "put\x01/new\x01\n4\ndataXXXXXhello\n",
	      "args [\"put\", \"/new\", \"\"]\nerror SW_ERR_BAD_TRAILER\n");
	CHECK(&RESP2_CHUNKED, "bzr response 2\nsuccess\nok\nbad header\n",
	      "status success\nargs [\"ok\"]\nerror SW_ERR_BAD_CHUNK_HEADER\n");
	CHECK(&RESP2_CHUNKED, "bzr response 2\nsuccess\nok\nchunked\nxyz\n",
	      "status success\nargs [\"ok\"]\nerror SW_ERR_BAD_CHUNK_LENGTH\n");
	/* v2 marker: wrong at the first differing byte. */
	CHECK(&RESP2_NONE, "bzr message 3 (bzr 1.6)\n", "error SW_ERR_BAD_MARKER\n");
	CHECK(&RESP2_NONE, "Unknown protocol!", "error SW_ERR_BAD_MARKER\n");
	CHECK(&RESP2_NONE, "bzr response 2 \nsuccess\n", "error SW_ERR_BAD_MARKER\n");
	CHECK(&REQ2M_NONE, "bzr request 3\nhello\n", "error SW_ERR_BAD_MARKER\n");
	/* v2 status. */
	CHECK(&RESP2_NONE, "bzr response 2\nSuccess\nok\n", "error SW_ERR_BAD_STATUS\n");
	CHECK(&RESP2_NONE, "bzr response 2\nfailure\nok\n", "error SW_ERR_BAD_STATUS\n");
	CHECK(&RESP2_NONE, "bzr response 2\nsuccess \nok\n", "error SW_ERR_BAD_STATUS\n");
	CHECK(&RESP2_NONE, "bzr response 2\n\nok\n", "error SW_ERR_BAD_STATUS\n");
	/* End of input in every part. */
	CHECK(&RESP2_NONE, "bzr resp", "error SW_ERR_UNEXPECTED_EOF\n");
	CHECK(&RESP2_NONE, "bzr response 2\nfail", "error SW_ERR_UNEXPECTED_EOF\n");
	CHECK(&REQ1_NONE, "hello", "error SW_ERR_UNEXPECTED_EOF\n");
	CHECK(&REQ1_BODY, "put\x01x\n4\nda", "args [\"put\", \"x\"]\nerror SW_ERR_UNEXPECTED_EOF\n");
	CHECK(&RESP2_CHUNKED, "bzr response 2\nsuccess\nok\nchunked\n4\n1234",
	      "status success\nargs [\"ok\"]\nchunk \"1234\"\nerror SW_ERR_UNEXPECTED_EOF\n");
	/* Nothing at all is a clean end, not an error. */
	CHECK(&REQ1_NONE, "", "");
	CHECK(&RESP2_NONE, "", "");
}

static void test_limits(void **state)
{
	(void)state;
	static const sw_v12_config small = {.max_line = 8, .max_args = 3,
	                                    .prefixed = {0, 5}, .chunked = {0, 3, 0, 0}};
	v12_param req = {SW_V12_REQUEST, 1, SW_BODY_PREFIXED, false, false, &small};
	v12_param resp = {SW_V12_RESPONSE, 2, SW_BODY_CHUNKED, false, false, &small};
	/* The line limit counts the "\n": 7 bytes + "\n" fit, 8 do not. */
	CHECK(&req, "abcdefg\n0\ndone\n", "args [\"abcdefg\"]\nbody \"\"\nend\n");
	CHECK(&req, "abcdefgh\n", "error SW_ERR_LINE_TOO_LONG\n");
	CHECK(&req, "abcdefgh", "error SW_ERR_LINE_TOO_LONG\n");
	/* Three args fit, four do not (reported at the third separator). */
	CHECK(&req, "a\x01" "b\x01" "c\n0\ndone\n", "args [\"a\", \"b\", \"c\"]\nbody \"\"\nend\n");
	CHECK(&req, "a\x01" "b\x01" "c\x01", "error SW_ERR_TOO_MANY_ARGS\n");
	/* A line breaking both limits reports the one its earlier byte breaks,
	 * however the input is cut (found by fuzz_v12_request). */
	CHECK(&req, "\x01\x01\x01" "defghij", "error SW_ERR_TOO_MANY_ARGS\n");
	CHECK(&req, "abcdefg\x01\x01\x01", "error SW_ERR_LINE_TOO_LONG\n");
	CHECK(&req, "abcdef\x01\x01\x01", "error SW_ERR_LINE_TOO_LONG\n");
	CHECK(&req, "abcde\x01\x01\x01", "error SW_ERR_LINE_TOO_LONG\n");
	CHECK(&req, "abcd\x01\x01\x01", "error SW_ERR_TOO_MANY_ARGS\n");
	/* Body and chunk limits. */
	CHECK(&req, "a\n5\n12345done\n", "args [\"a\"]\nbody \"12345\"\nend\n");
	CHECK(&req, "a\n6\n", "args [\"a\"]\nerror SW_ERR_BODY_TOO_LARGE\n");
	CHECK(&resp, "bzr response 2\nsuccess\nok\nchunked\n4\n",
	      "status success\nargs [\"ok\"]\nerror SW_ERR_CHUNK_TOO_LARGE\n");
	/* Default limits: a line of SW_V12_DEFAULT_MAX_LINE bytes is too long. */
	size_t n = SW_V12_DEFAULT_MAX_LINE;
	uint8_t *big = malloc(n);
	assert_non_null(big);
	memset(big, 'a', n);
	big[n - 1] = '\n';
	sw_v12_dec *d;
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_REQUEST, 1, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v12_dec_feed(d, big, n), (ptrdiff_t)n);
	assert_true(sw_v12_dec_done(d));
	sw_v12_dec_reset(d);
	big[n - 1] = 'a';
	assert_int_equal(sw_v12_dec_feed(d, big, n), SW_ERR_LINE_TOO_LONG);
	sw_v12_dec_reset(d);
	/* SW_V12_DEFAULT_MAX_ARGS elements fit, one more does not. */
	size_t m = 2 * SW_V12_DEFAULT_MAX_ARGS;
	for (size_t i = 0; i < m; i++)
		big[i] = (i % 2) ? 0x01 : 'a';
	big[m - 1] = '\n';
	assert_int_equal(sw_v12_dec_feed(d, big, m), (ptrdiff_t)m);
	assert_true(sw_v12_dec_done(d));
	size_t nargs;
	assert_non_null(sw_v12_dec_args(d, &nargs));
	assert_int_equal(nargs, SW_V12_DEFAULT_MAX_ARGS);
	sw_v12_dec_reset(d);
	big[m - 1] = 0x01;
	big[m] = '\n';
	assert_int_equal(sw_v12_dec_feed(d, big, m + 1), SW_ERR_TOO_MANY_ARGS);
	sw_v12_dec_del(d);
	free(big);
}

/* ---- API contract ------------------------------------------------------- */

static int abort_args(void *ud, const sw_slice *args, size_t n)
{
	(void)ud, (void)args, (void)n;
	return 1;
}

static void test_api_contract(void **state)
{
	(void)state;
	sw_v12_dec *d;
	assert_int_equal(sw_v12_dec_new(NULL, SW_V12_REQUEST, 1, NULL, NULL, NULL, NULL),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_REQUEST, 3, NULL, NULL, NULL, NULL),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_null(d);
	assert_int_equal(sw_v12_dec_new(&d, (sw_v12_kind)7, 1, NULL, NULL, NULL, NULL),
	                 SW_ERR_INVALID_ARGUMENT);

	/* Chunked bodies only in v2 responses. */
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_REQUEST, 2, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_CHUNKED), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_v12_dec_expect_body(d, (sw_body_mode)9), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_PREFIXED), 0);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_NONE), 0);
	/* Two requests back to back: the first stops at its end. */
	const char *two = "hello\nget\x01/x\n";
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)two, strlen(two)), 6);
	assert_true(sw_v12_dec_done(d));
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)two + 6, 1), 0);
	/* Too late to change the body mode. */
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_PREFIXED), SW_ERR_STATE);
	size_t n;
	const sw_slice *a = sw_v12_dec_args(d, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(a[0].p, "hello", 5);
	assert_int_equal(sw_v12_dec_status(d), -1);
	sw_v12_dec_reset(d);
	assert_null(sw_v12_dec_args(d, &n));
	assert_int_equal(n, 0);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)two + 6, strlen(two) - 6),
	                 (ptrdiff_t)(strlen(two) - 6));
	a = sw_v12_dec_args(d, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(a[1].p, "/x", 2);
	assert_int_equal(sw_v12_dec_finish(d), 0);
	sw_v12_dec_del(d);

	/* Callback abort is sticky until reset. */
	sw_v12_callbacks cb = {0};
	cb.on_args = abort_args;
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 1, NULL, &cb, NULL, NULL), 0);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)"ok\n", 3), SW_ERR_CALLBACK);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)"ok\n", 3), SW_ERR_CALLBACK);
	assert_int_equal(sw_v12_dec_finish(d), SW_ERR_CALLBACK);
	assert_int_equal(sw_v12_dec_next_read_size(d), 0);
	assert_int_equal(sw_v12_dec_expect_body(d, SW_BODY_NONE), SW_ERR_STATE);
	sw_v12_dec_del(d);

	/* Status accessor and the marker-consumed option. */
	sw_v12_config cfg = {0};
	cfg.response_marker_consumed = true;
	assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 2, &cfg, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v12_dec_status(d), -1);
	assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)"failed\nx\n", 9), 9);
	assert_int_equal(sw_v12_dec_status(d), 0);
	assert_true(sw_v12_dec_done(d));
	sw_v12_dec_del(d);
}

/* Every callback can abort, each after exactly one call, and the error is
 * sticky.  The two messages reach all nine callbacks between them. */
static int stop_status(void *ud, bool success)
{
	(void)success;
	return ++*(int *)ud;
}
static void test_every_callback_aborts(void **state)
{
	(void)state;
	static const char prefixed[] = "bzr response 2\nsuccess\nok\n3\nabcdone\n";
	static const char chunked[] = "bzr response 2\nfailed\nerr\nchunked\n1\naERR\n1\nbEND\n";
	for (int k = 0; k < 10; k++) {
		sw_v12_callbacks cb = {0};
		const char *msg = prefixed;
		sw_body_mode mode = SW_BODY_PREFIXED;
		switch (k) {
		case 0: cb.on_status = stop_status; break;
		case 1: cb.on_args = sw_t_stop_slices; break;
		case 2: cb.on_body_begin = sw_t_stop_u64; break;
		case 3: cb.on_body = sw_t_stop_data; break;
		case 4: cb.on_end = sw_t_stop_event; break;
		case 5: cb.on_chunk_begin = sw_t_stop_u64; break;
		case 6: cb.on_chunk = sw_t_stop_data; break;
		case 7: cb.on_chunk_end = sw_t_stop_event; break;
		case 8: cb.on_error_chunks = sw_t_stop_slices; break;
		default: cb.on_end = sw_t_stop_event; break;
		}
		if (k >= 5) {
			msg = chunked;
			mode = SW_BODY_CHUNKED;
		}
		int calls = 0;
		sw_v12_dec *d;
		assert_int_equal(sw_v12_dec_new(&d, SW_V12_RESPONSE, 2, NULL, &cb, &calls, NULL), 0);
		assert_int_equal(sw_v12_dec_expect_body(d, mode), 0);
		assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)msg, strlen(msg)),
		                 SW_ERR_CALLBACK);
		assert_int_equal(sw_v12_dec_feed(d, (const uint8_t *)msg, strlen(msg)),
		                 SW_ERR_CALLBACK);
		assert_int_equal(sw_v12_dec_finish(d), SW_ERR_CALLBACK);
		assert_int_equal(calls, 1);
		assert_false(sw_v12_dec_done(d));
		sw_v12_dec_del(d);
	}
}

/* Our encoders feed our decoders: a round trip through both directions. */
static void test_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(encode_vecs); i++) {
		const struct enc_vec *v = &encode_vecs[i];
		if (v->op != ENC_RESPONSE && v->op != ENC_STREAM && v->op != ENC_REQUEST)
			continue;
		v12_param p = {v->op == ENC_REQUEST ? SW_V12_REQUEST : SW_V12_RESPONSE, v->version,
		               SW_BODY_NONE, v->version == 2 && v->op == ENC_REQUEST, true, NULL};
		if (v->body)
			p.mode = SW_BODY_PREFIXED;
		if (v->op == ENC_STREAM && v->version == 2)
			p.mode = SW_BODY_CHUNKED;
		char *t = sw_t_run(&v12_codec, &p, (const uint8_t *)v->expected, v->expected_len,
		                   NULL, 0, NULL, NULL);
		if (sw_t_trace_error(t) || !strstr(t, "end\n"))
			fail_msg("%s: %s", v->name, t);
		free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_vectors),
	    cmocka_unit_test(test_response_vectors),
	    cmocka_unit_test(test_next_read_size),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_api_contract),
	    cmocka_unit_test(test_every_callback_aborts),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
