/* Tests for the pack container (smartwire/pack.h): the decoder against
 * Breezy's ContainerPushParser readings and read_size_hint sequences
 * (tests/vectors/gen_pack.py), whole, byte by byte, split at every offset,
 * with every allocation failed; the encoders against ContainerWriter's bytes;
 * then the documented departures, the limits, the error contract and the
 * callbacks by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/format.h"
#include "smartwire/pack.h"
#include "smartwire/sha256.h"
#include "support/harness.h"

struct pack_vec {
	const char *name;
	const char *input;
	size_t len;
	const char *trace; /* Breezy's reading, format.h notation */
	bool canonical;    /* input up to 'E' is ContainerWriter's bytes for the records */
	size_t bytewise;   /* next_read_size: one-byte pieces for input[0..bytewise), */
	size_t step;       /* then pieces of `step` bytes */
	const char *nrs;   /* read_size_hint after create and each piece (value*count
	                    * for runs); NULL where Breezy raised */
};

struct pack_writer_vec {
	const char *name;
	const char *spec; /* the names: elements joined by "\0", names by "\n" */
	size_t spec_len;
	size_t nnames;
	size_t body_len;    /* body[i] = (i * 7 + 3) & 0xff */
	const char *header; /* the header ContainerWriter wrote */
	size_t header_len;
	const char *sha256; /* of the whole record */
};

#include "vectors/pack_vectors.inc"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

/* ---- Driver: decoder events -> trace (format.h) ------------------------ */

/* The driver's own buffers use libc, never the allocator under test, so that
 * an injected failure can only surface as the decoder's SW_ERR_NOMEM. */
struct drv {
	sw_pack_dec *dec;
	sw_buf *trace;
	sw_buf names; /* "[[...], ...]" of the current record */
	sw_buf body;  /* the current record's body, joined */
	uint64_t length;
	bool in_record;
	sw_buf excess;
};

static int on_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	struct drv *d = ud;
	assert_false(d->in_record);
	assert_true(nnames == 0 || names != NULL);
	d->in_record = true;
	d->length = length;
	sw_buf_reset(&d->body);
	sw_buf_reset(&d->names);
	sw_buf_append_byte(&d->names, '[');
	for (size_t i = 0; i < nnames; i++) {
		assert_true(names[i].n >= 1);
		if (i)
			sw_buf_append_str(&d->names, ", ");
		sw_format_tuple(&d->names, names[i].elems, names[i].n);
	}
	sw_buf_append_byte(&d->names, ']');
	return 0;
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
	struct drv *d = ud;
	assert_true(d->in_record);
	assert_true(n > 0);
	assert_true(d->body.len + n <= d->length);
	return sw_buf_append(&d->body, p, n);
}

static int on_record_end(void *ud)
{
	struct drv *d = ud;
	assert_true(d->in_record);
	assert_true(d->body.len == d->length);
	d->in_record = false;
	/* "record <names> <body>": the empty event name puts the separating
	 * space after the names. */
	sw_buf_append_str(d->trace, "record ");
	sw_buf_append(d->trace, d->names.data, d->names.len);
	return sw_t_emit_bytes(d->trace, "", d->body.data, d->body.len);
}

static int on_end(void *ud)
{
	struct drv *d = ud;
	assert_false(d->in_record);
	return sw_buf_append_str(d->trace, "end\n");
}

static const sw_pack_callbacks drv_callbacks = {on_begin, on_data, on_record_end, on_end};

static void *drv_create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	struct drv *d = calloc(1, sizeof *d);
	assert_non_null(d);
	d->trace = trace;
	sw_buf_init(&d->names, NULL);
	sw_buf_init(&d->body, NULL);
	sw_buf_init(&d->excess, NULL);
	int rv = sw_pack_dec_new(&d->dec, arg, &drv_callbacks, d, mem);
	if (rv < 0) {
		assert_int_equal(rv, SW_ERR_NOMEM);
		assert_null(d->dec);
		free(d);
		return NULL;
	}
	return d;
}

static int drv_feed(void *dv, const uint8_t *in, size_t len)
{
	struct drv *d = dv;
	bool was_done = sw_pack_dec_done(d->dec);
	ptrdiff_t r = sw_pack_dec_feed(d->dec, in, len);
	if (r < 0) {
		assert_int_equal(sw_pack_dec_error(d->dec), (int)r);
		return (int)r;
	}
	assert_true((size_t)r <= len);
	assert_int_equal(sw_pack_dec_error(d->dec), 0);
	if (was_done)
		assert_int_equal(r, 0);
	/* Never consumes past the end, and takes everything until then. */
	if ((size_t)r < len) {
		assert_true(sw_pack_dec_done(d->dec));
		sw_buf_append(&d->excess, in + r, len - (size_t)r);
	}
	return 0;
}

static int drv_finish(void *dv)
{
	struct drv *d = dv;
	int rv = sw_pack_dec_finish(d->dec);
	if (rv == 0 && d->excess.len)
		sw_t_emit_bytes(d->trace, "excess", d->excess.data, d->excess.len);
	return rv;
}

static void drv_destroy(void *dv)
{
	struct drv *d = dv;
	sw_pack_dec_del(d->dec);
	sw_buf_fini(&d->names);
	sw_buf_fini(&d->body);
	sw_buf_fini(&d->excess);
	free(d);
}

static size_t drv_nrs(void *dv)
{
	return sw_pack_dec_next_read_size(((struct drv *)dv)->dec);
}

static const sw_t_codec pack_codec = {"pack",     drv_create,  drv_feed,
                                      drv_finish, drv_destroy, drv_nrs};

/* ---- Breezy's vectors ---------------------------------------------------- */

static void test_vectors(void **state)
{
	(void)state;
	size_t most = 0;
	for (size_t i = 0; i < N(pack_vecs); i++) {
		const struct pack_vec *v = &pack_vecs[i];
		print_message("  %s\n", v->name);
		sw_t_check_vector(&pack_codec, NULL, (const uint8_t *)v->input, v->len, v->trace);
		size_t sites = sw_t_check_failmem(&pack_codec, NULL, (const uint8_t *)v->input,
		                                  v->len, v->trace);
		most = sites > most ? sites : most;
	}
	/* The decoder, the names (grown) and their view were each failed. */
	assert_true(most >= 3);
}

/* The generator's "16384*3 0" as "16384 16384 16384 0" (malloc'd). */
static char *expand(const char *rle)
{
	sw_buf out;
	sw_buf_init(&out, NULL);
	for (const char *p = rle; *p;) {
		char *end;
		uint64_t v = strtoull(p, &end, 10), n = 1;
		if (*end == '*')
			n = strtoull(end + 1, &end, 10);
		for (uint64_t k = 0; k < n; k++) {
			sw_buf_append_str(&out, out.len ? " " : "");
			sw_buf_append_u64(&out, v);
		}
		p = *end ? end + 1 : end;
	}
	sw_buf_append_byte(&out, 0);
	return (char *)out.data;
}

/* next_read_size after creation and after every piece must be Breezy's
 * read_size_hint() (finished: 0). */
static void test_next_read_size(void **state)
{
	(void)state;
	size_t checked = 0;
	for (size_t i = 0; i < N(pack_vecs); i++) {
		const struct pack_vec *v = &pack_vecs[i];
		if (!v->nrs)
			continue;
		size_t *cuts = malloc((v->len + 1) * sizeof *cuts);
		assert_non_null(cuts);
		size_t ncuts = 0;
		for (size_t at = 1; at <= v->bytewise && at < v->len; at++)
			cuts[ncuts++] = at;
		for (size_t at = v->bytewise + v->step; at < v->len; at += v->step)
			cuts[ncuts++] = at;
		sw_buf nrs;
		sw_buf_init(&nrs, NULL);
		char *t = sw_t_run(&pack_codec, NULL, (const uint8_t *)v->input, v->len, cuts,
		                   ncuts, NULL, &nrs);
		sw_buf_append_byte(&nrs, 0);
		char *want = expand(v->nrs);
		if (strcmp((char *)nrs.data, want) != 0)
			fail_msg("%s: next_read_size\n  expected %s\n  actual   %s", v->name, want,
			         (char *)nrs.data);
		free(want);
		free(t);
		free(cuts);
		sw_buf_fini(&nrs);
		checked++;
	}
	assert_true(checked > 100);
}

/* ---- Encoders against ContainerWriter ---------------------------------- */

/* A decoder whose callbacks re-encode every event as it arrives. */
struct reenc {
	sw_buf out;
	int err;
};

static int re_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	struct reenc *r = ud;
	r->err = sw_pack_encode_record_header(&r->out, length, names, nnames);
	return r->err;
}

static int re_data(void *ud, const uint8_t *p, size_t n)
{
	struct reenc *r = ud;
	return sw_buf_append(&r->out, p, n);
}

static int re_end(void *ud)
{
	struct reenc *r = ud;
	return sw_pack_encode_end(&r->out);
}

/* Every canonical vector: our encoders, given the records Breezy's writer
 * was given (as decoded, which test_vectors checked against Breezy), write
 * exactly Breezy's bytes. */
static void test_encode_vectors(void **state)
{
	(void)state;
	static const sw_pack_callbacks cb = {re_begin, re_data, NULL, re_end};
	size_t checked = 0;
	for (size_t i = 0; i < N(pack_vecs); i++) {
		const struct pack_vec *v = &pack_vecs[i];
		if (!v->canonical)
			continue;
		struct reenc r = {{0}, 0};
		sw_buf_init(&r.out, NULL);
		assert_int_equal(sw_pack_encode_begin(&r.out), 0);
		sw_pack_dec *dec;
		assert_int_equal(sw_pack_dec_new(&dec, NULL, &cb, &r, NULL), 0);
		ptrdiff_t used = sw_pack_dec_feed(dec, (const uint8_t *)v->input, v->len);
		assert_true(used > 0);
		assert_true(sw_pack_dec_done(dec));
		if (r.out.len != (size_t)used || memcmp(r.out.data, v->input, r.out.len) != 0)
			fail_msg("%s: the encoders did not reproduce ContainerWriter's bytes",
			         v->name);
		sw_pack_dec_del(dec);
		sw_buf_fini(&r.out);
		checked++;
	}
	assert_true(checked > 20);
}

/* Splits a writer vector's spec into names. */
static size_t parse_spec(const struct pack_writer_vec *w, sw_pack_name *names, sw_slice *elems)
{
	size_t nn = 0, ne = 0;
	const uint8_t *p = (const uint8_t *)w->spec, *end = p + w->spec_len;
	while (nn < w->nnames) {
		names[nn].elems = &elems[ne];
		names[nn].n = 0;
		for (;;) {
			const uint8_t *e = p;
			while (e < end && *e != 0 && *e != '\n')
				e++;
			elems[ne].p = p;
			elems[ne].n = (size_t)(e - p);
			ne++;
			names[nn].n++;
			p = e + 1;
			if (e == end || *e == '\n')
				break;
		}
		nn++;
	}
	return nn;
}

static uint8_t *writer_body(size_t n)
{
	uint8_t *b = malloc(n);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 7 + 3) & 0xff);
	return b;
}

static void sha256_hex(const void *p, size_t n, char hex[65])
{
	sw_sha256 s;
	sw_sha256_init(&s);
	sw_sha256_update(&s, p, n);
	sw_sha256_hex(&s, hex);
}

/* ContainerWriter's records of 100000 bytes and more (written as a header
 * and then the chunks): the header bytes, the whole record's digest, and
 * the decoder reading it back in pieces. */
static void test_writer_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pack_writer_vecs); i++) {
		const struct pack_writer_vec *w = &pack_writer_vecs[i];
		print_message("  %s\n", w->name);
		sw_pack_name names[8];
		sw_slice elems[16];
		assert_true(w->nnames <= 8 && w->spec_len < 16);
		size_t nn = parse_spec(w, names, elems);
		sw_buf out;
		sw_buf_init(&out, NULL);
		assert_int_equal(sw_pack_encode_record_header(&out, w->body_len, names, nn), 0);
		assert_int_equal(out.len, w->header_len);
		assert_memory_equal(out.data, w->header, w->header_len);
		sw_buf_reset(&out);
		uint8_t *body = writer_body(w->body_len);
		assert_int_equal(sw_pack_encode_record(&out, body, w->body_len, names, nn), 0);
		char hex[65];
		sha256_hex(out.data, out.len, hex);
		assert_string_equal(hex, w->sha256);

		/* Decoded in a container, in pieces of 4093 bytes through the
		 * driver (guard pages), to the same names and body. */
		sw_buf c, want;
		sw_buf_init(&c, NULL);
		sw_buf_init(&want, NULL);
		assert_int_equal(sw_pack_encode_begin(&c), 0);
		assert_int_equal(sw_buf_append(&c, out.data, out.len), 0);
		assert_int_equal(sw_pack_encode_end(&c), 0);
		sw_buf_append_str(&want, "record [");
		for (size_t k = 0; k < nn; k++) {
			sw_buf_append_str(&want, k ? ", " : "");
			sw_format_tuple(&want, names[k].elems, names[k].n);
		}
		sw_buf_append_str(&want, "]");
		sw_t_emit_bytes(&want, "", body, w->body_len);
		sw_buf_append_str(&want, "end\n");
		sw_buf_append_byte(&want, 0);
		size_t cuts[128], ncuts = 0;
		for (size_t at = 4093; at < c.len && ncuts < N(cuts); at += 4093)
			cuts[ncuts++] = at;
		char *t = sw_t_run(&pack_codec, NULL, c.data, c.len, cuts, ncuts, NULL, NULL);
		assert_true(strcmp(t, (char *)want.data) == 0);
		free(t);
		sw_buf_fini(&want);
		sw_buf_fini(&c);
		free(body);
		sw_buf_fini(&out);
	}
}

/* ---- Departures and limits, by hand ------------------------------------- */

#define HDR SW_PACK_HEADER

static void check(const char *in, size_t len, const sw_pack_config *cfg, const char *trace)
{
	sw_t_check_vector(&pack_codec, cfg, (const uint8_t *)in, len, trace);
	sw_t_check_failmem(&pack_codec, cfg, (const uint8_t *)in, len, trace);
}
#define CHECK(s, cfg, t) check(s, sizeof(s) - 1, cfg, t)

static char *repeat(const char *pre, char c, size_t n, const char *post)
{
	size_t a = strlen(pre), b = strlen(post);
	char *s = malloc(a + n + b + 1);
	assert_non_null(s);
	memcpy(s, pre, a);
	memset(s + a, c, n);
	memcpy(s + a + n, post, b + 1);
	return s;
}

static void check_str(char *in, const sw_pack_config *cfg, const char *trace)
{
	check(in, strlen(in), cfg, trace);
	free(in);
}

/* Where Breezy's result is undefined, depends on the cut, or would only
 * come later (pack.h, docs/departures.md). */
static void test_departures(void **state)
{
	(void)state;
	/* Negative lengths: Breezy takes all but the last |n| bytes it has
	 * buffered as the body, so its reading depends on the cut. */
	CHECK(HDR "B-3\n\nabcdefE", NULL, "error SW_ERR_PACK_BAD_LENGTH\n");
	CHECK(HDR "B-1\n", NULL, "error SW_ERR_PACK_BAD_LENGTH\n");
	/* Errors at the first byte that makes them certain; Breezy waits for
	 * the end of the line. */
	CHECK("Bazaar pack fX", NULL, "error SW_ERR_PACK_BAD_FORMAT\n");
	CHECK("Bazaar pack format 1 (introduced in 0.18)X", NULL, "error SW_ERR_PACK_BAD_FORMAT\n");
	CHECK("X", NULL, "error SW_ERR_PACK_BAD_FORMAT\n");
	CHECK(HDR "B3\nab c", NULL, "error SW_ERR_PACK_BAD_NAME\n");
	CHECK(HDR "B3\nok\nab\r", NULL, "error SW_ERR_PACK_BAD_NAME\n");
	/* Lengths Breezy would wait for. */
	CHECK(HDR "B18446744073709551616\n", NULL, "error SW_ERR_PACK_RECORD_TOO_LARGE\n");
	CHECK(HDR "B4294967297\n", NULL, "error SW_ERR_PACK_RECORD_TOO_LARGE\n");
	CHECK(HDR "B4294967296\n\nab", NULL, "error SW_ERR_UNEXPECTED_EOF\n");
	/* A truncated stream: Breezy's network code accepts it silently. */
	CHECK(HDR "B3\n\nabc", NULL, "record [] \"abc\"\nerror SW_ERR_UNEXPECTED_EOF\n");
}

static void test_limits(void **state)
{
	(void)state;
	/* The length line: 64 bytes by default, its "\n" included. */
	check_str(repeat(HDR "B", '0', 62, "3\n\nabcE"), NULL, "record [] \"abc\"\nend\n");
	check_str(repeat(HDR "B", '0', 63, "3\n\nabcE"), NULL, "error SW_ERR_LINE_TOO_LONG\n");
	sw_pack_config len4 = {.max_length_line = 4};
	CHECK(HDR "B123\n", &len4, "error SW_ERR_UNEXPECTED_EOF\n");
	CHECK(HDR "B1234\n", &len4, "error SW_ERR_LINE_TOO_LONG\n");
	/* A name line: 4096 bytes by default. */
	char *want = repeat("record [[\"", 'n', 4095, "\"]] \"x\"\nend\n");
	check_str(repeat(HDR "B1\n", 'n', 4095, "\n\nxE"), NULL, want);
	free(want);
	check_str(repeat(HDR "B1\n", 'n', 4096, "\n\nxE"), NULL,
	          "error SW_ERR_PACK_NAME_TOO_LONG\n");
	sw_pack_config name8 = {.max_name_line = 8};
	CHECK(HDR "B1\n1234567\n\nxE", &name8, "record [[\"1234567\"]] \"x\"\nend\n");
	CHECK(HDR "B1\n123\x00"
	          "567\n\nxE",
	      &name8, "record [[\"123\", \"567\"]] \"x\"\nend\n");
	CHECK(HDR "B1\n12345678\n\nxE", &name8, "error SW_ERR_PACK_NAME_TOO_LONG\n");
	/* Both wrong: the error of the earlier byte, whatever the cut. */
	CHECK(HDR "B1\n1 345678\n", &name8, "error SW_ERR_PACK_BAD_NAME\n");
	CHECK(HDR "B1\n1234567 \n", &name8, "error SW_ERR_PACK_NAME_TOO_LONG\n");
	/* Names per record: 64 by default (a generated vector has 64). */
	sw_pack_config two = {.max_names = 2};
	CHECK(HDR "B1\na\nb\n\nxE", &two, "record [[\"a\"], [\"b\"]] \"x\"\nend\n");
	CHECK(HDR "B1\na\nb\nc", &two, "error SW_ERR_PACK_TOO_MANY_NAMES\n");
	CHECK(HDR "B1\na\nb\n\nxB0\nc\nd\n\nE", &two,
	      "record [[\"a\"], [\"b\"]] \"x\"\nrecord [[\"c\"], [\"d\"]] \"\"\nend\n");
	sw_buf many;
	sw_buf_init(&many, NULL);
	sw_buf_append_str(&many, HDR "B0\n");
	for (int i = 0; i < 65; i++)
		sw_buf_append_str(&many, "n\n");
	check((const char *)many.data, many.len, NULL, "error SW_ERR_PACK_TOO_MANY_NAMES\n");
	sw_buf_fini(&many);
	/* Record length. */
	sw_pack_config rec16 = {.max_record = 16};
	CHECK(HDR "B16\n\n0123456789abcdefE", &rec16, "record [] \"0123456789abcdef\"\nend\n");
	CHECK(HDR "B17\n", &rec16, "error SW_ERR_PACK_RECORD_TOO_LARGE\n");
}

/* ---- The error contract, reset, callbacks ------------------------------- */

static void test_contract(void **state)
{
	(void)state;
	assert_int_equal(sw_pack_dec_new(NULL, NULL, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_pack_dec *dec = (sw_pack_dec *)&dec;
	sw_pack_config huge = {.max_name_line = SIZE_MAX / 2, .max_names = 4};
	assert_int_equal(sw_pack_dec_new(&dec, &huge, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_null(dec);
	huge = (sw_pack_config){.max_length_line = SIZE_MAX};
	assert_int_equal(sw_pack_dec_new(&dec, &huge, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_pack_dec_del(NULL);

	/* No callbacks at all; excess stays with the caller. */
	assert_int_equal(sw_pack_dec_new(&dec, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_pack_dec_next_read_size(dec), SW_PACK_READ_SIZE_HINT);
	assert_int_equal(sw_pack_dec_feed(dec, NULL, 0), 0);
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "B2\nk\n\nhiEnext")), 51);
	assert_true(sw_pack_dec_done(dec));
	assert_int_equal(sw_pack_dec_next_read_size(dec), 0);
	assert_int_equal(sw_pack_dec_feed(dec, S("next")), 0);
	assert_int_equal(sw_pack_dec_finish(dec), 0);
	assert_int_equal(sw_pack_dec_finish(dec), 0);
	/* Reset: the next container. */
	sw_pack_dec_reset(dec);
	assert_false(sw_pack_dec_done(dec));
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "B20000\n\n")), 50);
	assert_int_equal(sw_pack_dec_next_read_size(dec), 20000);
	assert_int_equal(sw_pack_dec_feed(dec, S("xyz")), 3);
	assert_int_equal(sw_pack_dec_next_read_size(dec), 19997);
	/* EOF mid-record: sticky, and nothing more is read. */
	assert_int_equal(sw_pack_dec_finish(dec), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_pack_dec_error(dec), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_pack_dec_feed(dec, S("xyz")), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_pack_dec_next_read_size(dec), 0);
	/* A decode error is sticky too; reset clears it. */
	sw_pack_dec_reset(dec);
	assert_int_equal(sw_pack_dec_error(dec), 0);
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "Q")), SW_ERR_PACK_BAD_RECORD_TYPE);
	assert_int_equal(sw_pack_dec_feed(dec, S("E")), SW_ERR_PACK_BAD_RECORD_TYPE);
	assert_int_equal(sw_pack_dec_finish(dec), SW_ERR_PACK_BAD_RECORD_TYPE);
	assert_false(sw_pack_dec_done(dec));
	assert_int_equal(sw_pack_dec_next_read_size(dec), 0);
	sw_pack_dec_reset(dec);
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "E")), 43);
	assert_true(sw_pack_dec_done(dec));
	sw_pack_dec_del(dec);
	/* A second record reuses the name staging of the first. */
	CHECK(HDR "B1\nabcdefghij\x00k\nl\n\nxB1\nm\n\nyE", NULL,
	      "record [[\"abcdefghij\", \"k\"], [\"l\"]] \"x\"\nrecord [[\"m\"]] \"y\"\nend\n");
}

static int stop_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	(void)length, (void)names, (void)nnames;
	return ++*(int *)ud;
}

/* Every callback can abort, each after exactly one call; the error is
 * sticky and reset clears it. */
static void test_every_callback_aborts(void **state)
{
	(void)state;
	static const char in[] = HDR "B1\na\n\nxE";
	for (int k = 0; k < 4; k++) {
		sw_pack_callbacks cb = {k == 0 ? stop_begin : NULL, k == 1 ? sw_t_stop_data : NULL,
		                        k == 2 ? sw_t_stop_event : NULL,
		                        k == 3 ? sw_t_stop_event : NULL};
		int calls = 0;
		sw_pack_dec *dec;
		assert_int_equal(sw_pack_dec_new(&dec, NULL, &cb, &calls, NULL), 0);
		assert_int_equal(sw_pack_dec_feed(dec, S(in)), SW_ERR_CALLBACK);
		assert_int_equal(sw_pack_dec_feed(dec, S(in)), SW_ERR_CALLBACK);
		assert_int_equal(sw_pack_dec_finish(dec), SW_ERR_CALLBACK);
		assert_int_equal(calls, 1);
		assert_false(sw_pack_dec_done(dec));
		sw_pack_dec_reset(dec);
		/* The body's short path aborts too. */
		if (k == 1) {
			assert_int_equal(sw_pack_dec_feed(dec, S(HDR "B3\n\n")), 46);
			assert_int_equal(sw_pack_dec_feed(dec, S("ab")), SW_ERR_CALLBACK);
			assert_int_equal(calls, 2);
		}
		sw_pack_dec_del(dec);
	}
}

/* ---- Encoders: refusals and the out-unchanged contract ------------------ */

#define NAME(...)                                                                                  \
	{                                                                                          \
		(const sw_slice[]){__VA_ARGS__},                                                   \
		    sizeof((const sw_slice[]){__VA_ARGS__}) / sizeof(sw_slice)                     \
	}
#define E_(s)                                                                                      \
	{                                                                                          \
		(const uint8_t *)(s), sizeof(s) - 1                                                \
	}

static void expect_refused(const sw_pack_name *names, size_t n, int err)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_buf_append_str(&b, "keep"), 0);
	assert_int_equal(sw_pack_encode_record_header(&b, 3, names, n), err);
	assert_int_equal(sw_pack_encode_record(&b, "abc", 3, names, n), err);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "keep", 4);
	sw_buf_fini(&b);
}

static void test_encoders(void **state)
{
	(void)state;
	sw_buf b;
	sw_buf_init(&b, NULL);
	/* The verbs-reference example, the second record written as a header
	 * and two chunks like add_bytes_record([b"hi", b"!"], 3, names). */
	const sw_pack_name one[] = {NAME(E_("one"))};
	const sw_pack_name two[] = {NAME(E_("a"), E_("b")), NAME(E_("c"))};
	assert_int_equal(sw_pack_encode_begin(&b), 0);
	assert_int_equal(sw_pack_encode_record(&b, "abc", 3, one, 1), 0);
	assert_int_equal(sw_pack_encode_record_header(&b, 3, two, 2), 0);
	assert_int_equal(sw_buf_append(&b, "hi", 2), 0);
	assert_int_equal(sw_buf_append(&b, "!", 1), 0);
	assert_int_equal(sw_pack_encode_record(&b, NULL, 0, NULL, 0), 0);
	assert_int_equal(sw_pack_encode_end(&b), 0);
	static const char want[] = HDR "B3\none\n\nabcB3\na\0b\nc\n\nhi!B0\n\nE";
	assert_int_equal(b.len, sizeof want - 1);
	assert_memory_equal(b.data, want, sizeof want - 1);
	sw_buf_reset(&b);
	assert_int_equal(sw_pack_encode_record_header(&b, UINT64_MAX, NULL, 0), 0);
	assert_int_equal(b.len, 23);
	assert_memory_equal(b.data, "B18446744073709551615\n\n", 23);
	sw_buf_fini(&b);

	/* Breezy refuses whitespace (InvalidRecordError)... */
	static const char *const spaces[] = {"a b", "\t", "a\n", "\x0b", "\x0c", "b\r"};
	for (size_t i = 0; i < N(spaces); i++) {
		const sw_slice e[] = {E_("ok"), {(const uint8_t *)spaces[i], strlen(spaces[i])}};
		const sw_pack_name nm[] = {NAME(E_("fine")), {e, 2}};
		expect_refused(nm, 2, SW_ERR_PACK_BAD_NAME);
	}
	/* ...and we refuse what Breezy writes but reads back differently. */
	const sw_pack_name nul[] = {NAME(E_("a\0b"))};
	expect_refused(nul, 1, SW_ERR_PACK_BAD_NAME);
	const sw_pack_name empty_elem[] = {NAME(E_(""))};
	expect_refused(empty_elem, 1, SW_ERR_PACK_BAD_NAME);
	const sw_pack_name no_elems[] = {{NULL, 0}};
	expect_refused(no_elems, 1, SW_ERR_PACK_BAD_NAME);
	/* Two empty elements are the line "\0": fine. */
	const sw_pack_name two_empty[] = {NAME(E_(""), E_(""))};
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_pack_encode_record_header(&b, 0, two_empty, 1), 0);
	assert_memory_equal(b.data, "B0\n\0\n\n", 6);
	sw_buf_fini(&b);
	/* NULL pointers with counts. */
	expect_refused(NULL, 1, SW_ERR_INVALID_ARGUMENT);
	const sw_pack_name null_elems[] = {{NULL, 2}};
	expect_refused(null_elems, 1, SW_ERR_INVALID_ARGUMENT);
	const sw_slice null_p[] = {{NULL, 3}};
	const sw_pack_name null_bytes[] = {{null_p, 1}};
	expect_refused(null_bytes, 1, SW_ERR_INVALID_ARGUMENT);
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_pack_encode_record(&b, NULL, 3, NULL, 0), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(b.len, 0);
	sw_buf_fini(&b);
}

/* Every allocation of every encoder failed in turn, once and persistently,
 * after prefixes of every length up to the buffer's first capacity (so the
 * failure hits each piece of a record header): SW_ERR_NOMEM with `out` as
 * it was, and nothing leaked. */
static void test_encoders_failmem(void **state)
{
	(void)state;
	const sw_pack_name nm[] = {NAME(E_("revisions")), NAME(E_("k1"), E_("k2"))};
	static const char body[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char prefix[80];
	memset(prefix, 'p', sizeof prefix);
	size_t failures = 0;
	for (int which = 0; which < 4; which++) {
		for (size_t plen = 0; plen <= 64; plen++) {
			for (size_t n = 1; n <= 3; n++) {
				for (int persistent = 0; persistent <= 1; persistent++) {
					sw_failmem fm;
					sw_failmem_init(&fm, 0, false);
					sw_buf b;
					sw_buf_init(&b, &fm.mem);
					assert_int_equal(sw_buf_append(&b, prefix, plen), 0);
					fm.fail_at = fm.calls + n;
					fm.persistent = persistent;
					int rv = 0;
					switch (which) {
					case 0: rv = sw_pack_encode_begin(&b); break;
					case 1:
						rv = sw_pack_encode_record_header(&b, 36, nm, 2);
						break;
					case 2:
						rv = sw_pack_encode_record(&b, body, 36, nm, 2);
						break;
					default: rv = sw_pack_encode_end(&b); break;
					}
					if (fm.failures) {
						failures++;
						assert_int_equal(rv, SW_ERR_NOMEM);
						assert_int_equal(b.len, plen);
						if (plen)
							assert_memory_equal(b.data, prefix, plen);
					} else {
						assert_int_equal(rv, 0);
					}
					sw_buf_fini(&b);
					assert_int_equal(fm.live, 0);
					assert_int_equal(fm.bad_frees, 0);
				}
			}
		}
	}
	assert_true(failures > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),        cmocka_unit_test(test_next_read_size),
	    cmocka_unit_test(test_encode_vectors), cmocka_unit_test(test_writer_vectors),
	    cmocka_unit_test(test_departures),     cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_contract),       cmocka_unit_test(test_every_callback_aborts),
	    cmocka_unit_test(test_encoders),       cmocka_unit_test(test_encoders_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
