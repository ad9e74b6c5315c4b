/* Tests for the v1/v2 bodies (smartwire/body.h): Python int() parsing, the
 * length-prefixed and chunked decoders against Breezy's traces and
 * next_read_size sequences, malformed inputs, and the encoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/body.h"
#include "smartwire/error.h"
#include "smartwire/pytext.h"
#include "support/harness.h"

struct vec {
	const char *name;
	const char *input;
	size_t len;
	const char *expected; /* trace, or next_read_size sequence */
	const void *arg;
};

static const struct vec prefixed_vecs[] = {
#include "vectors/v12_prefixed.inc"
};
static const struct vec prefixed_nrs_vecs[] = {
#include "vectors/v12_prefixed_nrs.inc"
};
static const struct vec chunked_vecs[] = {
#include "vectors/v12_chunked.inc"
};
static const struct vec chunked_nrs_vecs[] = {
#include "vectors/v12_chunked_nrs.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Drivers: decoder events -> trace (format.h) ----------------------- */

/* The driver's own buffers use libc, never the allocator under test, so that
 * an injected failure can only surface as the decoder's SW_ERR_NOMEM. */
struct drv {
	void *dec;
	sw_buf *trace;
	sw_buf body;   /* joined body, or the current chunk */
	sw_buf excess;
	bool chunked;
};

static void emit_bytes(struct drv *d, const char *event, const sw_buf *b)
{
	sw_t_emit_bytes(d->trace, event, b->data, b->len);
}

static int p_data(void *ud, const uint8_t *p, size_t n)
{
	struct drv *d = ud;
	assert_true(n > 0);
	return sw_buf_append(&d->body, p, n);
}

static int p_end(void *ud)
{
	struct drv *d = ud;
	emit_bytes(d, "body", &d->body);
	sw_buf_append_str(d->trace, "end\n");
	return 0;
}

static int c_begin(void *ud, uint64_t len)
{
	struct drv *d = ud;
	(void)len;
	sw_buf_reset(&d->body);
	return 0;
}

static int c_end(void *ud)
{
	struct drv *d = ud;
	emit_bytes(d, "chunk", &d->body);
	return 0;
}

static int c_errors(void *ud, const sw_slice *args, size_t n)
{
	struct drv *d = ud;
	sw_t_emit_tuple(d->trace, "error-chunks", args, n);
	return 0;
}

static void *create_common(const sw_mem *mem, sw_buf *trace, const void *arg, bool chunked)
{
	struct drv *d = calloc(1, sizeof *d);
	assert_non_null(d);
	d->trace = trace;
	d->chunked = chunked;
	sw_buf_init(&d->body, NULL);
	sw_buf_init(&d->excess, NULL);
	int rv;
	if (chunked) {
		sw_chunked_callbacks cb = {c_begin, p_data, c_end, c_errors, NULL};
		cb.on_end = NULL;
		rv = sw_chunked_new((sw_chunked_dec **)&d->dec, arg, &cb, d, mem);
	} else {
		sw_prefixed_callbacks cb = {NULL, p_data, p_end};
		rv = sw_prefixed_new((sw_prefixed_dec **)&d->dec, arg, &cb, d, mem);
	}
	if (rv < 0) {
		assert_int_equal(rv, SW_ERR_NOMEM);
		free(d);
		return NULL;
	}
	return d;
}

static void *p_create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	return create_common(mem, trace, arg, false);
}

static void *c_create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	return create_common(mem, trace, arg, true);
}

static int c_on_end_trace(struct drv *d)
{
	sw_buf_append_str(d->trace, "end\n");
	return 0;
}

static int drv_feed(void *dv, const uint8_t *in, size_t len)
{
	struct drv *d = dv;
	bool was_done = d->chunked ? sw_chunked_done(d->dec) : sw_prefixed_done(d->dec);
	ptrdiff_t r = d->chunked ? sw_chunked_feed(d->dec, in, len)
	                         : sw_prefixed_feed(d->dec, in, len);
	if (r < 0)
		return (int)r;
	assert_true((size_t)r <= len);
	bool done = d->chunked ? sw_chunked_done(d->dec) : sw_prefixed_done(d->dec);
	if (d->chunked && done && !was_done)
		c_on_end_trace(d);
	/* Never consumes past the end, and takes everything until then. */
	if ((size_t)r < len) {
		assert_true(done);
		sw_buf_append(&d->excess, in + r, len - (size_t)r);
	}
	return 0;
}

static int drv_finish(void *dv)
{
	struct drv *d = dv;
	int rv = d->chunked ? sw_chunked_finish(d->dec) : sw_prefixed_finish(d->dec);
	if (rv == 0 && d->excess.len)
		emit_bytes(d, "excess", &d->excess);
	return rv;
}

static void drv_destroy(void *dv)
{
	struct drv *d = dv;
	if (d->chunked)
		sw_chunked_del(d->dec);
	else
		sw_prefixed_del(d->dec);
	sw_buf_fini(&d->body);
	sw_buf_fini(&d->excess);
	free(d);
}

static size_t drv_nrs(void *dv)
{
	struct drv *d = dv;
	return d->chunked ? sw_chunked_next_read_size(d->dec) : sw_prefixed_next_read_size(d->dec);
}

static const sw_t_codec prefixed_codec = {"prefixed", p_create, drv_feed, drv_finish,
                                          drv_destroy, drv_nrs};
static const sw_t_codec chunked_codec = {"chunked", c_create, drv_feed, drv_finish,
                                         drv_destroy, drv_nrs};

/* ---- Vector runners ---------------------------------------------------- */

static void run_vectors(const sw_t_codec *c, const struct vec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		print_message("  %s: %s\n", c->name, v[i].name);
		sw_t_check_vector(c, v[i].arg, (const uint8_t *)v[i].input, v[i].len, v[i].expected);
		sw_t_check_failmem(c, v[i].arg, (const uint8_t *)v[i].input, v[i].len, v[i].expected);
	}
}

/* next_read_size after creation and after every byte, as Breezy's decoder
 * reported it fed one byte at a time (finished: 0, see body.h). */
static void run_nrs(const sw_t_codec *c, const struct vec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = v[i].len;
		size_t *cuts = malloc((len ? len : 1) * sizeof *cuts);
		assert_non_null(cuts);
		for (size_t k = 0; k + 1 < len; k++)
			cuts[k] = k + 1;
		sw_buf nrs;
		sw_buf_init(&nrs, NULL);
		char *t = sw_t_run(c, NULL, (const uint8_t *)v[i].input, len, cuts,
		                   len ? len - 1 : 0, NULL, &nrs);
		sw_buf_append_byte(&nrs, 0);
		if (strcmp((char *)nrs.data, v[i].expected) != 0)
			fail_msg("%s %s: next_read_size\n  expected %s\n  actual   %s", c->name,
			         v[i].name, v[i].expected, (char *)nrs.data);
		free(t);
		free(cuts);
		sw_buf_fini(&nrs);
	}
}

static void test_prefixed_vectors(void **state)
{
	(void)state;
	run_vectors(&prefixed_codec, prefixed_vecs, N(prefixed_vecs));
}

static void test_prefixed_nrs(void **state)
{
	(void)state;
	run_nrs(&prefixed_codec, prefixed_nrs_vecs, N(prefixed_nrs_vecs));
}

static void test_chunked_vectors(void **state)
{
	(void)state;
	run_vectors(&chunked_codec, chunked_vecs, N(chunked_vecs));
}

static void test_chunked_nrs(void **state)
{
	(void)state;
	run_nrs(&chunked_codec, chunked_nrs_vecs, N(chunked_nrs_vecs));
}

/* Runs `in` cut at `cuts` and compares the next_read_size sequence. */
static void expect_nrs_pieces(const sw_t_codec *c, const char *in, const size_t *cuts,
                              size_t ncuts, const char *want)
{
	sw_buf nrs;
	sw_buf_init(&nrs, NULL);
	char *t = sw_t_run(c, NULL, (const uint8_t *)in, strlen(in), cuts, ncuts, NULL, &nrs);
	sw_buf_append_byte(&nrs, 0);
	assert_string_equal((char *)nrs.data, want);
	free(t);
	sw_buf_fini(&nrs);
}

/* LengthPrefixedBodyDecoder.test_accept_bytes, piece by piece: b'', b'7',
 * b'\na', b'bcdefgd', b'one', b'\nblarg' give 6, 6, 11, 4, 1 and then
 * finished (Breezy 1, smartwire 0). */
static void test_prefixed_accept_bytes_sequence(void **state)
{
	(void)state;
	static const size_t cuts[] = {0, 1, 3, 10, 13};
	expect_nrs_pieces(&prefixed_codec, "7\nabcdefgdone\nblarg", cuts, 5, "6 6 6 11 4 1 0");
	/* test_accept_bytes_exact_end_of_body: 5 after b'1\na'. */
	static const size_t cuts2[] = {3};
	expect_nrs_pieces(&prefixed_codec, "1\nadone\n", cuts2, 1, "6 5 0");
}

/* TestChunkedBodyDecoder: test_construct (8), test_incomplete_chunk (5 + 4),
 * test_incomplete_length (1, then 9 + 4). */
static void test_chunked_documented_sizes(void **state)
{
	(void)state;
	static const size_t cuts[] = {8};
	expect_nrs_pieces(&chunked_codec, "chunked\n8\n123", cuts, 1, "8 2 9");
	static const size_t cuts2[] = {8, 9};
	expect_nrs_pieces(&chunked_codec, "chunked\n9\n", cuts2, 2, "8 2 1 13");
}

/* ---- Malformed input: exact codes, under every chunking ---------------- */

static void bad_prefixed(const char *in, const sw_prefixed_config *cfg, const char *trace)
{
	sw_t_check_vector(&prefixed_codec, cfg, (const uint8_t *)in, strlen(in), trace);
}

static void test_prefixed_malformed(void **state)
{
	(void)state;
	/* Breezy: ValueError from int(), connection dropped. */
	bad_prefixed("abc\ndata", NULL, "error SW_ERR_BAD_LENGTH\n");
	bad_prefixed("\ndone\n", NULL, "error SW_ERR_BAD_LENGTH\n");
	bad_prefixed("0x5\nabcdedone\n", NULL, "error SW_ERR_BAD_LENGTH\n");
	bad_prefixed("+ 5\n", NULL, "error SW_ERR_BAD_LENGTH\n");
	bad_prefixed("1__0\n", NULL, "error SW_ERR_BAD_LENGTH\n");
	/* Breezy: request silently dropped (the trailer never matches). */
	bad_prefixed("4\ndataXXXXXhello\n", NULL, "error SW_ERR_BAD_TRAILER\n");
	bad_prefixed("4\ndatadonE\n", NULL, "error SW_ERR_BAD_TRAILER\n");
	bad_prefixed("-5\nXYZdone\n", NULL, "error SW_ERR_BAD_TRAILER\n");
	/* Length line limit (default 64 bytes, "\n" included). */
	char longline[80];
	memset(longline, '0', 63);
	longline[63] = '\n';
	longline[64] = '\0';
	bad_prefixed(longline, NULL, "error SW_ERR_UNEXPECTED_EOF\n"); /* 63 + "\n" fits */
	memset(longline, '0', 64);
	longline[64] = '\n';
	longline[65] = '\0';
	bad_prefixed(longline, NULL, "error SW_ERR_LINE_TOO_LONG\n");
	/* Body limit, checked as soon as the length line is complete. */
	sw_prefixed_config cfg = {0, 10};
	bad_prefixed("10\n0123456789done\n", &cfg, "body \"0123456789\"\nend\n");
	bad_prefixed("11\n", &cfg, "error SW_ERR_BODY_TOO_LARGE\n");
	bad_prefixed("18446744073709551616\n", NULL, "error SW_ERR_BODY_TOO_LARGE\n");
	bad_prefixed("4294967297\n", NULL, "error SW_ERR_BODY_TOO_LARGE\n");
	/* End of input. */
	bad_prefixed("5\nab", NULL, "error SW_ERR_UNEXPECTED_EOF\n");
	bad_prefixed("", NULL, "error SW_ERR_UNEXPECTED_EOF\n");
}

static void bad_chunked(const char *in, size_t len, const sw_chunked_config *cfg,
                        const char *trace)
{
	sw_t_check_vector(&chunked_codec, cfg, (const uint8_t *)in, len, trace);
}
#define BAD_CHUNKED(s, cfg, t) bad_chunked(s, sizeof(s) - 1, cfg, t)

static void test_chunked_malformed(void **state)
{
	(void)state;
	/* TestChunkedBodyDecoder.test_bad_header */
	BAD_CHUNKED("bad header\n", NULL, "error SW_ERR_BAD_CHUNK_HEADER\n");
	BAD_CHUNKED("chunked \n", NULL, "error SW_ERR_BAD_CHUNK_HEADER\n");
	BAD_CHUNKED("Chunked\n", NULL, "error SW_ERR_BAD_CHUNK_HEADER\n");
	/* Not hex: Breezy ValueError. */
	BAD_CHUNKED("chunked\nzz\n", NULL, "error SW_ERR_BAD_CHUNK_LENGTH\n");
	BAD_CHUNKED("chunked\n\n", NULL, "error SW_ERR_BAD_CHUNK_LENGTH\n");
	BAD_CHUNKED("chunked\nEND \n", NULL, "error SW_ERR_BAD_CHUNK_LENGTH\n");
	BAD_CHUNKED("chunked\n3\nabcend\n", NULL, "chunk \"abc\"\nerror SW_ERR_BAD_CHUNK_LENGTH\n");
	/* Negative: Breezy's result would depend on read boundaries. */
	BAD_CHUNKED("chunked\n-1\nabcEND\n", NULL, "error SW_ERR_BAD_CHUNK_LENGTH\n");
	/* Length line limit. */
	BAD_CHUNKED("chunked\n00000000000000000000000000000000000000000000000000000000000000001\n",
	            NULL, "error SW_ERR_LINE_TOO_LONG\n");
	/* Chunk limits. */
	sw_chunked_config cfg = {0, 4, 2, 6};
	BAD_CHUNKED("chunked\n4\nabcdEND\n", &cfg, "chunk \"abcd\"\nend\n");
	BAD_CHUNKED("chunked\n5\nabcdeEND\n", &cfg, "error SW_ERR_CHUNK_TOO_LARGE\n");
	BAD_CHUNKED("chunked\n10000000000000000\n", NULL, "error SW_ERR_CHUNK_TOO_LARGE\n");
	BAD_CHUNKED("chunked\n40000001\n", NULL, "error SW_ERR_CHUNK_TOO_LARGE\n");
	/* Error chunks: count and total bytes. */
	BAD_CHUNKED("chunked\nERR\n1\na1\nbEND\n", &cfg, "error-chunks [\"a\", \"b\"]\nend\n");
	BAD_CHUNKED("chunked\nERR\n1\na1\nb1\nc", &cfg, "error SW_ERR_TOO_MANY_ARGS\n");
	BAD_CHUNKED("chunked\nERR\n4\naaaa3\nbbb", &cfg, "error SW_ERR_CHUNK_TOO_LARGE\n");
	/* End of input. */
	BAD_CHUNKED("chunked\n4\nab", NULL, "error SW_ERR_UNEXPECTED_EOF\n");
	BAD_CHUNKED("chunked\n4\nabcdEN", NULL, "chunk \"abcd\"\nerror SW_ERR_UNEXPECTED_EOF\n");
	BAD_CHUNKED("", NULL, "error SW_ERR_UNEXPECTED_EOF\n");
}

/* A callback's non-zero return aborts with SW_ERR_CALLBACK, sticky. */
static int abort_cb(void *ud, const uint8_t *p, size_t n)
{
	(void)ud, (void)p, (void)n;
	return 1;
}

static void test_callback_abort_sticky(void **state)
{
	(void)state;
	sw_prefixed_callbacks cb = {NULL, abort_cb, NULL};
	sw_prefixed_dec *d;
	assert_int_equal(sw_prefixed_new(&d, NULL, &cb, NULL, NULL), 0);
	assert_int_equal(sw_prefixed_feed(d, (const uint8_t *)"3\nab", 4), SW_ERR_CALLBACK);
	assert_int_equal(sw_prefixed_feed(d, (const uint8_t *)"c", 1), SW_ERR_CALLBACK);
	assert_int_equal(sw_prefixed_finish(d), SW_ERR_CALLBACK);
	assert_int_equal(sw_prefixed_next_read_size(d), 0);
	assert_false(sw_prefixed_done(d));
	/* reset makes it usable again */
	sw_prefixed_reset(d);
	assert_int_equal(sw_prefixed_feed(d, (const uint8_t *)"0\ndone\nX", 8), 7);
	assert_true(sw_prefixed_done(d));
	assert_int_equal(sw_prefixed_feed(d, (const uint8_t *)"X", 1), 0);
	assert_int_equal(sw_prefixed_finish(d), 0);
	sw_prefixed_del(d);

	sw_chunked_callbacks ccb = {NULL, abort_cb, NULL, NULL, NULL};
	sw_chunked_dec *c;
	assert_int_equal(sw_chunked_new(&c, NULL, &ccb, NULL, NULL), 0);
	assert_int_equal(sw_chunked_feed(c, (const uint8_t *)"chunked\n1\na", 11), SW_ERR_CALLBACK);
	assert_int_equal(sw_chunked_feed(c, (const uint8_t *)"END\n", 4), SW_ERR_CALLBACK);
	assert_int_equal(sw_chunked_finish(c), SW_ERR_CALLBACK);
	sw_chunked_reset(c);
	assert_int_equal(sw_chunked_feed(c, (const uint8_t *)"chunked\nEND\n", 12), 12);
	assert_true(sw_chunked_done(c));
	sw_chunked_del(c);
	assert_int_equal(sw_prefixed_new(NULL, NULL, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_chunked_new(NULL, NULL, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
}

/* Every callback can abort, each after exactly one call; the error is
 * sticky and reset clears it. */
static void test_every_callback_aborts(void **state)
{
	(void)state;
	static const char body[] = "3\nabcdone\n";
	for (int k = 0; k < 3; k++) {
		sw_prefixed_callbacks cb = {k == 0 ? sw_t_stop_u64 : NULL,
		                            k == 1 ? sw_t_stop_data : NULL,
		                            k == 2 ? sw_t_stop_event : NULL};
		int calls = 0;
		sw_prefixed_dec *d;
		assert_int_equal(sw_prefixed_new(&d, NULL, &cb, &calls, NULL), 0);
		assert_int_equal(sw_prefixed_feed(d, (const uint8_t *)body, sizeof body - 1),
		                 SW_ERR_CALLBACK);
		assert_int_equal(sw_prefixed_feed(d, (const uint8_t *)body, sizeof body - 1),
		                 SW_ERR_CALLBACK);
		assert_int_equal(sw_prefixed_finish(d), SW_ERR_CALLBACK);
		assert_int_equal(calls, 1);
		assert_false(sw_prefixed_done(d));
		sw_prefixed_del(d);
	}
	static const char chunks[] = "chunked\n1\naERR\n1\nbEND\n";
	for (int k = 0; k < 5; k++) {
		sw_chunked_callbacks cb = {k == 0 ? sw_t_stop_u64 : NULL,
		                           k == 1 ? sw_t_stop_data : NULL,
		                           k == 2 ? sw_t_stop_event : NULL,
		                           k == 3 ? sw_t_stop_slices : NULL,
		                           k == 4 ? sw_t_stop_event : NULL};
		int calls = 0;
		sw_chunked_dec *c;
		assert_int_equal(sw_chunked_new(&c, NULL, &cb, &calls, NULL), 0);
		assert_int_equal(sw_chunked_feed(c, (const uint8_t *)chunks, sizeof chunks - 1),
		                 SW_ERR_CALLBACK);
		assert_int_equal(sw_chunked_feed(c, (const uint8_t *)chunks, sizeof chunks - 1),
		                 SW_ERR_CALLBACK);
		assert_int_equal(sw_chunked_finish(c), SW_ERR_CALLBACK);
		assert_int_equal(calls, 1);
		assert_false(sw_chunked_done(c));
		sw_chunked_reset(c);
		assert_int_equal(sw_chunked_feed(c, (const uint8_t *)"chunked\nEND\n", 12),
		                 k == 4 ? SW_ERR_CALLBACK : 12);
		sw_chunked_del(c);
	}
}

/* ---- Python int() ------------------------------------------------------- */

static void int_ok(const char *s, unsigned base, bool neg, uint64_t v)
{
	bool n = !neg;
	uint64_t m = ~v;
	assert_int_equal(sw_py_int((const uint8_t *)s, strlen(s), base, &n, &m), 0);
	assert_int_equal(n, neg);
	assert_true(m == v);
}

static void int_bad(const char *s, unsigned base, int err)
{
	bool n;
	uint64_t m;
	assert_int_equal(sw_py_int((const uint8_t *)s, strlen(s), base, &n, &m), err);
}

/* Each case was checked against Python 3.11's int(bytes[, base]). */
static void test_parse_pyint(void **state)
{
	(void)state;
	int_ok("7", 10, false, 7);
	int_ok(" 7", 10, false, 7);
	int_ok("7 ", 10, false, 7);
	int_ok("+7", 10, false, 7);
	int_ok("-7", 10, true, 7);
	int_ok("-0", 10, false, 0);
	int_ok("1_0", 10, false, 10);
	int_ok("\x0b" "7\x0c", 10, false, 7);
	int_ok("\t\r\n7\n", 10, false, 7);
	int_ok("0007", 10, false, 7);
	int_ok("18446744073709551615", 10, false, UINT64_MAX);
	int_bad("18446744073709551616", 10, SW_ERR_LIMIT);
	int_bad("_1", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("1_", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("1__0", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("\x1c" "7", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("\x85" "7", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("\xa0" "7", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("+ 7", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad(" ", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("0x7", 10, SW_ERR_INVALID_ARGUMENT);
	int_bad("+", 10, SW_ERR_INVALID_ARGUMENT);
	bool n0;
	uint64_t m0;
	assert_int_equal(sw_py_int((const uint8_t *)"7\0", 2, 10, &n0, &m0),
	                 SW_ERR_INVALID_ARGUMENT);
	int_ok("0x1f", 16, false, 31);
	int_ok("0X1F", 16, false, 31);
	int_ok("0x_1f", 16, false, 31);
	int_ok(" -1f ", 16, true, 31);
	int_ok("0b1", 16, false, 0xb1);
	int_ok("+0x1f", 16, false, 31);
	int_ok("1F", 16, false, 31);
	int_ok("ffffffffffffffff", 16, false, UINT64_MAX);
	int_bad("10000000000000000", 16, SW_ERR_LIMIT);
	int_bad("0x", 16, SW_ERR_INVALID_ARGUMENT);
	int_bad("_1f", 16, SW_ERR_INVALID_ARGUMENT);
	int_bad("1f_", 16, SW_ERR_INVALID_ARGUMENT);
	int_bad("x1f", 16, SW_ERR_INVALID_ARGUMENT);
	int_bad("0x0x1", 16, SW_ERR_INVALID_ARGUMENT);
	int_bad("00x1", 16, SW_ERR_INVALID_ARGUMENT);
	int_bad("0x__1", 16, SW_ERR_INVALID_ARGUMENT);
	int_bad("- 1", 16, SW_ERR_INVALID_ARGUMENT);
	int_ok("0o17", 8, false, 15);
	int_ok("0b101", 2, false, 5);
	int_bad("8", 8, SW_ERR_INVALID_ARGUMENT);
	int_bad("1", 7, SW_ERR_INVALID_ARGUMENT);
}

/* ---- Encoders (Breezy bytes are in test_v12.c's generated vectors; these
 * check the pieces and the failure contract) ------------------------------ */

static void expect_buf(sw_buf *b, const char *want, size_t n)
{
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
	sw_buf_reset(b);
}
#define EXPECT_BUF(b, s) expect_buf(b, s, sizeof(s) - 1)

static void test_encoders(void **state)
{
	(void)state;
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_prefixed_encode(&b, "abcdefg", 7), 0);
	EXPECT_BUF(&b, "7\nabcdefgdone\n");
	assert_int_equal(sw_prefixed_encode(&b, NULL, 0), 0);
	EXPECT_BUF(&b, "0\ndone\n");
	assert_int_equal(sw_prefixed_encode_header(&b, UINT64_MAX), 0);
	EXPECT_BUF(&b, "18446744073709551615\n");
	assert_int_equal(sw_chunked_encode_header(&b), 0);
	assert_int_equal(sw_chunked_encode_chunk(&b, "123456789abcdef", 15), 0);
	assert_int_equal(sw_chunked_encode_chunk(&b, NULL, 0), 0);
	sw_slice err[2] = {{(const uint8_t *)"part1", 5}, {(const uint8_t *)"part2", 5}};
	assert_int_equal(sw_chunked_encode_error(&b, err, 2), 0);
	assert_int_equal(sw_chunked_encode_end(&b), 0);
	EXPECT_BUF(&b, "chunked\nf\n123456789abcdef0\nERR\n5\npart15\npart2END\n");
	assert_int_equal(sw_chunked_encode_chunk_header(&b, 0x123), 0);
	assert_int_equal(sw_chunked_encode_chunk_header(&b, UINT64_MAX), 0);
	EXPECT_BUF(&b, "123\nffffffffffffffff\n");
	sw_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_pyint),
		cmocka_unit_test(test_prefixed_vectors),
		cmocka_unit_test(test_prefixed_nrs),
		cmocka_unit_test(test_prefixed_accept_bytes_sequence),
		cmocka_unit_test(test_chunked_vectors),
		cmocka_unit_test(test_chunked_nrs),
		cmocka_unit_test(test_chunked_documented_sizes),
		cmocka_unit_test(test_prefixed_malformed),
		cmocka_unit_test(test_chunked_malformed),
		cmocka_unit_test(test_callback_abort_sticky),
		cmocka_unit_test(test_every_callback_aborts),
		cmocka_unit_test(test_encoders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
