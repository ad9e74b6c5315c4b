/* Tests for the protocol v3 decoder (smartwire/v3.h; the encoder is tested in
 * test_v3_encode.c).
 *
 * Every vector of tests/vectors/v3_vectors.inc (Breezy's reading of the
 * bytes, see gen_v3.py) goes through the chunking harness and the failing
 * allocator, and our next_read_size() sequence fed one byte at a time must
 * equal Breezy's.  Then constant-memory streaming of a large bytes part,
 * callbacks, pipelining and the object's life cycle (the error codes, what
 * a failed decoder says it was reading, and the limits are in
 * test_v3_errors.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v3.h"
#include "smartwire/failmem.h"
#include "support/harness.h"

/* ---------------------------------------------------------------------- */
/* The vectors                                                             */

typedef struct v3_arg {
	int expect_marker;
	const char *nrs; /* Breezy's next_read_size() per byte */
} v3_arg;

typedef struct v3_vector {
	const char *name;
	const char *input;
	size_t len;
	const char *trace;
	v3_arg arg;
} v3_vector;

static const v3_vector vectors[] = {
#include "vectors/v3_vectors.inc"
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------------- */
/* The harness driver: decoder events as trace lines                      */

typedef struct drv {
	sw_v3_dec *dec;
	sw_buf *trace;
	sw_buf part;     /* the pieces of the current bytes part, joined */
	uint32_t total;  /* its announced length */
	bool in_part;
	sw_buf excess;   /* everything fed after the end of the message */
} drv;

static int line_bval(drv *d, const char *what, const sw_bval *v)
{
	int rv = sw_buf_append_str(d->trace, what);
	if (rv == 0)
		rv = sw_bval_format(d->trace, v);
	if (rv == 0)
		rv = sw_buf_append_byte(d->trace, '\n');
	return rv;
}

static int cb_headers(void *ud, const sw_bval *v)
{
	assert_int_equal(v->type, SW_BDICT);
	return line_bval(ud, "headers ", v);
}

static int cb_byte(void *ud, uint8_t b)
{
	drv *d = ud;
	return sw_t_emit_bytes(d->trace, "byte", &b, 1);
}

static int cb_structure(void *ud, const sw_bval *v)
{
	return line_bval(ud, "structure ", v);
}

static int cb_bytes_begin(void *ud, uint32_t total)
{
	drv *d = ud;
	assert_false(d->in_part);
	d->in_part = true;
	d->total = total;
	sw_buf_reset(&d->part);
	return 0;
}

static int cb_bytes(void *ud, const uint8_t *p, size_t n)
{
	drv *d = ud;
	assert_true(d->in_part);
	assert_true(n > 0);
	return sw_buf_append(&d->part, p, n);
}

static int cb_bytes_end(void *ud)
{
	drv *d = ud;
	assert_true(d->in_part);
	assert_int_equal(d->part.len, d->total);
	d->in_part = false;
	return sw_t_emit_bytes(d->trace, "bytes", d->part.data, d->part.len);
}

static int cb_end(void *ud)
{
	drv *d = ud;
	assert_true(sw_v3_dec_done(d->dec));
	return sw_buf_append_str(d->trace, "end\n");
}

static const sw_v3_callbacks trace_cb = {cb_headers, cb_byte, cb_structure, cb_bytes_begin,
                                         cb_bytes, cb_bytes_end, cb_end};

static void *drv_create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	const v3_arg *a = arg;
	drv *d = calloc(1, sizeof *d);
	assert_non_null(d);
	d->trace = trace;
	sw_buf_init(&d->part, NULL);
	sw_buf_init(&d->excess, NULL);
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = a->expect_marker;
	if (sw_v3_dec_new(&d->dec, &cfg, &trace_cb, d, mem) < 0) {
		assert_null(d->dec);
		free(d);
		return NULL;
	}
	return d;
}

static int drv_feed(void *p, const uint8_t *in, size_t len)
{
	drv *d = p;
	ptrdiff_t r = sw_v3_dec_feed(d->dec, in, len);
	if (r < 0)
		return (int)r;
	assert_true((size_t)r <= len);
	if ((size_t)r < len) {
		/* Only a complete message leaves input behind. */
		assert_true(sw_v3_dec_done(d->dec));
		assert_int_equal(sw_buf_append(&d->excess, in + r, len - (size_t)r), 0);
	}
	return 0;
}

static int drv_finish(void *p)
{
	drv *d = p;
	int rv = sw_v3_dec_finish(d->dec);
	if (rv == 0 && d->excess.len)
		sw_t_emit_bytes(d->trace, "excess", d->excess.data, d->excess.len);
	return rv;
}

static void drv_destroy(void *p)
{
	drv *d = p;
	sw_v3_dec_del(d->dec);
	sw_buf_fini(&d->part);
	sw_buf_fini(&d->excess);
	free(d);
}

static size_t drv_nrs(void *p)
{
	return sw_v3_dec_next_read_size(((drv *)p)->dec);
}

static const sw_t_codec v3_codec = {"v3", drv_create, drv_feed, drv_finish, drv_destroy,
                                    drv_nrs};

/* ---------------------------------------------------------------------- */
/* Decoder tests                                                           */

static void test_vectors(void **state)
{
	(void)state;
	size_t sites = 0;
	for (size_t i = 0; i < NELEM(vectors); i++) {
		const v3_vector *v = &vectors[i];
		sw_t_check_vector(&v3_codec, &v->arg, (const uint8_t *)v->input, v->len, v->trace);
		sites += sw_t_check_failmem(&v3_codec, &v->arg, (const uint8_t *)v->input, v->len,
		                            v->trace);
	}
	/* The staging and bencode allocations were actually exercised. */
	assert_true(sites > NELEM(vectors));
}

/* Fed one byte at a time, our next_read_size() equals Breezy's after every
 * byte, in every state (the sequence stops after a decoding failure, as the
 * generator stops feeding Breezy there). */
static void test_next_read_size_matches_breezy(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(vectors); i++) {
		const v3_vector *v = &vectors[i];
		size_t *cuts = malloc((v->len + 1) * sizeof *cuts);
		assert_non_null(cuts);
		for (size_t k = 0; k < v->len; k++)
			cuts[k] = k + 1;
		sw_buf nrs;
		sw_buf_init(&nrs, NULL);
		char *t = sw_t_run(&v3_codec, &v->arg, (const uint8_t *)v->input, v->len, cuts,
		                   v->len ? v->len - 1 : 0, NULL, &nrs);
		assert_int_equal(sw_buf_append_byte(&nrs, 0), 0);
		if (strcmp((char *)nrs.data, v->arg.nrs) != 0)
			fail_msg("%s: next_read_size\n  breezy %s\n  ours   %s", v->name, v->arg.nrs,
			         (char *)nrs.data);
		free(t);
		free(cuts);
		sw_buf_fini(&nrs);
	}
}

#define M SW_V3_MARKER
#define E "\0\0\0\x02" "de"

typedef struct counting {
	sw_mem mem;
	size_t bytes; /* total requested over the run */
	size_t calls;
} counting;

static void *cnt_malloc(size_t n, void *ud)
{
	counting *c = ud;
	c->bytes += n;
	c->calls++;
	return malloc(n);
}

static void *cnt_realloc(void *p, size_t n, void *ud)
{
	counting *c = ud;
	c->bytes += n;
	c->calls++;
	return realloc(p, n);
}

static void cnt_free(void *p, void *ud)
{
	(void)ud;
	free(p);
}

typedef struct sink {
	uint64_t got;
	uint64_t pieces;
	uint32_t announced;
	int ended;
} sink;

static int sink_begin(void *ud, uint32_t total)
{
	((sink *)ud)->announced = total;
	return 0;
}

static int sink_bytes(void *ud, const uint8_t *p, size_t n)
{
	sink *s = ud;
	/* Spot-check the content: byte i of the body is (uint8_t)i. */
	assert_int_equal(p[0], (uint8_t)s->got);
	assert_int_equal(p[n - 1], (uint8_t)(s->got + n - 1));
	s->got += n;
	s->pieces++;
	return 0;
}

static int sink_end(void *ud)
{
	((sink *)ud)->ended++;
	return 0;
}

/* A 64 MiB bytes part fed in 64 KiB pieces is passed through piecewise:
 * the decoder allocates next to nothing, whatever the part's size. */
static void test_large_part_streams(void **state)
{
	(void)state;
	enum { PIECE = 64 * 1024, TOTAL = 64 * 1024 * 1024 };
	counting c = {{cnt_malloc, cnt_realloc, cnt_free, NULL}, 0, 0};
	c.mem.ud = &c;
	sink s = {0, 0, 0, 0};
	sw_v3_callbacks cb = {0};
	cb.on_bytes_begin = sink_begin;
	cb.on_bytes = sink_bytes;
	cb.on_bytes_end = sink_end;
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, &cfg, &cb, &s, &c.mem), 0);

	static const char head[] = M E "oSs\0\0\0\x06l2:oke" "b\x04\0\0\0";
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)head, sizeof head - 1),
	                 (ptrdiff_t)sizeof head - 1);
	assert_int_equal(s.announced, TOTAL);
	uint8_t *piece = malloc(PIECE);
	assert_non_null(piece);
	for (size_t off = 0; off < TOTAL; off += PIECE) {
		for (size_t k = 0; k < PIECE; k++)
			piece[k] = (uint8_t)(off + k);
		assert_int_equal(sw_v3_dec_next_read_size(dec), TOTAL - off);
		assert_int_equal(sw_v3_dec_feed(dec, piece, PIECE), PIECE);
	}
	free(piece);
	assert_int_equal(s.got, TOTAL);
	assert_int_equal(s.pieces, TOTAL / PIECE);
	assert_int_equal(s.ended, 1);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 1);
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)"e", 1), 1);
	assert_true(sw_v3_dec_done(dec));
	sw_v3_dec_del(dec);
	/* The decoder object and two small bencode trees; nowhere near the body. */
	assert_true(c.bytes < 4096);
}

static int abort_on_structure(void *ud, const sw_bval *v)
{
	(void)v;
	++*(int *)ud;
	return 1;
}

/* A callback's non-zero return stops the decoder with SW_ERR_CALLBACK, which
 * is sticky; reset makes it usable again. */
static void test_callback_abort_and_reset(void **state)
{
	(void)state;
	int calls = 0;
	sw_v3_callbacks cb = {0};
	cb.on_structure = abort_on_structure;
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, NULL, &cb, &calls, NULL), 0);
	static const char msg[] = E "s\0\0\0\x02le" "e";
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)msg, sizeof msg - 1), SW_ERR_CALLBACK);
	assert_int_equal(calls, 1);
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)"e", 1), SW_ERR_CALLBACK);
	assert_int_equal(sw_v3_dec_feed(dec, NULL, 0), SW_ERR_CALLBACK);
	assert_int_equal(sw_v3_dec_finish(dec), SW_ERR_CALLBACK);
	assert_int_equal(sw_v3_dec_error(dec), SW_ERR_CALLBACK);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 0);
	assert_false(sw_v3_dec_done(dec));

	sw_v3_dec_reset(dec);
	assert_int_equal(sw_v3_dec_error(dec), 0);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 4);
	static const char msg2[] = E "e";
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)msg2, sizeof msg2 - 1),
	                 (ptrdiff_t)sizeof msg2 - 1);
	assert_true(sw_v3_dec_done(dec));
	sw_v3_dec_del(dec);
}

/* Every callback can abort: each one in turn returns non-zero on a message
 * that reaches all of them, and the feed fails with SW_ERR_CALLBACK (sticky)
 * after exactly one call of it. */
static int stop_headers(void *ud, const sw_bval *v)
{
	(void)v;
	return ++*(int *)ud;
}
static int stop_byte(void *ud, uint8_t b)
{
	(void)b;
	return ++*(int *)ud;
}
static int stop_begin(void *ud, uint32_t total)
{
	(void)total;
	return ++*(int *)ud;
}
static void test_every_callback_aborts(void **state)
{
	(void)state;
	static const char msg[] = E "oSs\0\0\0\x02le" "b\0\0\0\x01x" "e";
	for (int k = 0; k < 7; k++) {
		sw_v3_callbacks cb = {0};
		switch (k) {
		case 0: cb.on_headers = stop_headers; break;
		case 1: cb.on_byte = stop_byte; break;
		case 2: cb.on_structure = stop_headers; break;
		case 3: cb.on_bytes_begin = stop_begin; break;
		case 4: cb.on_bytes = sw_t_stop_data; break;
		case 5: cb.on_bytes_end = sw_t_stop_event; break;
		default: cb.on_end = sw_t_stop_event; break;
		}
		int calls = 0;
		sw_v3_dec *dec;
		assert_int_equal(sw_v3_dec_new(&dec, NULL, &cb, &calls, NULL), 0);
		assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)msg, sizeof msg - 1),
		                 SW_ERR_CALLBACK);
		assert_int_equal(calls, 1);
		assert_false(sw_v3_dec_done(dec));
		assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)msg, sizeof msg - 1),
		                 SW_ERR_CALLBACK);
		assert_int_equal(sw_v3_dec_finish(dec), SW_ERR_CALLBACK);
		assert_int_equal(calls, 1);
		sw_v3_dec_del(dec);
	}
}

/* Pipelined messages: the feed stops at each 'e', the caller keeps the rest,
 * and reset decodes the next message from it. */
static void test_pipelined_messages(void **state)
{
	(void)state;
	static const char two[] = M E "oSs\0\0\0\x02le" "e" M E "b\0\0\0\x01xe" "tail";
	const size_t first = 24 + 6 + 2 + 7 + 1;
	const size_t second = 24 + 6 + 6 + 1;
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, &cfg, NULL, NULL, NULL), 0);
	const uint8_t *in = (const uint8_t *)two;
	size_t len = sizeof two - 1;
	assert_int_equal(sw_v3_dec_feed(dec, in, len), (ptrdiff_t)first);
	assert_true(sw_v3_dec_done(dec));
	assert_int_equal(sw_v3_dec_next_read_size(dec), 0);
	assert_int_equal(sw_v3_dec_feed(dec, in + first, len - first), 0);
	assert_int_equal(sw_v3_dec_finish(dec), 0);
	sw_v3_dec_reset(dec);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 28);
	assert_int_equal(sw_v3_dec_finish(dec), 0); /* between messages */
	assert_int_equal(sw_v3_dec_feed(dec, in + first, len - first), (ptrdiff_t)second);
	assert_true(sw_v3_dec_done(dec));
	assert_int_equal(len - first - second, 4);
	sw_v3_dec_del(dec);
}

/* An empty feed is a feed: with a marker expected Breezy's hint drops from
 * 28 (marker + length prefix) to 24 (the marker alone). */
static void test_empty_feed_hint(void **state)
{
	(void)state;
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, &cfg, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 28);
	assert_int_equal(sw_v3_dec_feed(dec, NULL, 0), 0);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 24);
	assert_int_equal(sw_v3_dec_finish(dec), 0);
	sw_v3_dec_del(dec);
	assert_int_equal(sw_v3_dec_new(&dec, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 4);
	assert_int_equal(sw_v3_dec_feed(dec, NULL, 0), 0);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 4);
	sw_v3_dec_del(dec);
}

/* finish() in the middle of a message fails the decoder for good, like the
 * v1/v2 decoders: later feeds return the same code until reset. */
static void test_finish_mid_message_sticky(void **state)
{
	(void)state;
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)E, 6), 6);
	assert_int_equal(sw_v3_dec_finish(dec), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_v3_dec_error(dec), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)"e", 1), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 0);
	sw_v3_dec_reset(dec);
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)E "e", 7), 7);
	assert_true(sw_v3_dec_done(dec));
	sw_v3_dec_del(dec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_next_read_size_matches_breezy),
	    cmocka_unit_test(test_large_part_streams),
	    cmocka_unit_test(test_callback_abort_and_reset),
	    cmocka_unit_test(test_every_callback_aborts),
	    cmocka_unit_test(test_pipelined_messages),
	    cmocka_unit_test(test_empty_feed_hint),
	    cmocka_unit_test(test_finish_mid_message_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
