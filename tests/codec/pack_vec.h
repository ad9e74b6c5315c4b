/* The pack container vectors Breezy wrote (tests/vectors/gen_pack.py) and the
 * driver that turns decoder events into a trace (format.h), shared by
 * test_pack.c (the decoder) and test_pack_encode.c (the encoders). */
#ifndef SW_TEST_PACK_VEC_H
#define SW_TEST_PACK_VEC_H

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

/* The container header, for vectors written by hand. */
#define HDR SW_PACK_HEADER

#endif
