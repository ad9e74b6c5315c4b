/*
 * The v2 chunked body: "chunked\n" ("%x\n" chunk)* ["ERR\n" chunks] "END\n".
 * See smartwire/body.h.
 */
#include "smartwire/body.h"

#include <string.h>

#include "smartwire/error.h"
#include "smartwire/hex.h"
#include "smartwire/pytext.h"
#include "stage.h"

enum cstate { C_HEADER, C_LENGTH, C_CHUNK, C_DONE, C_FAILED };

struct sw_chunked_dec {
	enum cstate state;
	int error;             /* sticky, when state == C_FAILED */
	bool in_error;         /* "ERR" seen: chunks are error-tuple elements */
	uint64_t left;         /* bytes of the current chunk still to come */
	size_t staged;         /* header bytes matched, or length-line bytes staged */
	size_t nerr;           /* error chunks begun */
	sw_slice *errv;        /* max_error_chunks entries once "ERR" is seen */
	sw_buf errdata;        /* the error chunks' bytes, back to back */
	sw_chunked_config cfg; /* with defaults filled in */
	sw_chunked_callbacks cb;
	void *ud;
	const sw_mem *mem;
	uint8_t line[];        /* cfg.max_length_line bytes */
};

int sw_chunked_new(sw_chunked_dec **out, const sw_chunked_config *cfg,
                   const sw_chunked_callbacks *cb, void *ud, const sw_mem *mem)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	sw_chunked_config c = {0};
	if (cfg)
		c = *cfg;
	if (!c.max_length_line)
		c.max_length_line = SW_CHUNKED_DEFAULT_MAX_LENGTH_LINE;
	if (!c.max_chunk)
		c.max_chunk = SW_CHUNKED_DEFAULT_MAX_CHUNK;
	if (!c.max_error_chunks)
		c.max_error_chunks = SW_CHUNKED_DEFAULT_MAX_ERROR_CHUNKS;
	if (!c.max_error_bytes)
		c.max_error_bytes = SW_CHUNKED_DEFAULT_MAX_ERROR_BYTES;
	if (c.max_length_line > SIZE_MAX - sizeof(sw_chunked_dec) ||
	    c.max_error_chunks > SIZE_MAX / sizeof(sw_slice))
		return SW_ERR_INVALID_ARGUMENT;
	sw_chunked_dec *dec = sw_malloc(mem, sizeof *dec + c.max_length_line);
	if (!dec)
		return SW_ERR_NOMEM;
	memset(dec, 0, sizeof *dec);
	dec->cfg = c;
	if (cb)
		dec->cb = *cb;
	dec->ud = ud;
	dec->mem = mem;
	sw_buf_init(&dec->errdata, mem);
	sw_chunked_reset(dec);
	*out = dec;
	return 0;
}

void sw_chunked_del(sw_chunked_dec *dec)
{
	if (!dec)
		return;
	sw_free(dec->mem, dec->errv);
	sw_buf_fini(&dec->errdata);
	sw_free(dec->mem, dec);
}

void sw_chunked_reset(sw_chunked_dec *dec)
{
	dec->state = C_HEADER;
	dec->error = 0;
	dec->in_error = false;
	dec->left = 0;
	dec->staged = 0;
	dec->nerr = 0;
	sw_buf_reset(&dec->errdata);
}

static ptrdiff_t fail(sw_chunked_dec *dec, int err)
{
	dec->state = C_FAILED;
	dec->error = err;
	return err;
}

static bool line_is(const sw_chunked_dec *dec, const char *word)
{
	return dec->staged == 3 && memcmp(dec->line, word, 3) == 0;
}

/* "ERR": from here on chunks are the error tuple.  Breezy restarts the
 * tuple on every "ERR" (error_in_progress = []). */
static int start_error(sw_chunked_dec *dec)
{
	if (!dec->errv) {
		dec->errv = sw_malloc(dec->mem, dec->cfg.max_error_chunks * sizeof *dec->errv);
		if (!dec->errv)
			return SW_ERR_NOMEM;
	}
	dec->in_error = true;
	dec->nerr = 0;
	sw_buf_reset(&dec->errdata);
	return 0;
}

/* "END": deliver the error tuple, if any, then the end. */
static int finish_body(sw_chunked_dec *dec)
{
	dec->state = C_DONE;
	if (dec->in_error && dec->cb.on_error_chunks) {
		/* The slices hold offsets until now: errdata may have moved. */
		size_t off = 0;
		for (size_t i = 0; i < dec->nerr; i++) {
			dec->errv[i].p = dec->errdata.data ? dec->errdata.data + off : NULL;
			off += dec->errv[i].n;
		}
		if (dec->cb.on_error_chunks(dec->ud, dec->errv, dec->nerr))
			return SW_ERR_CALLBACK;
	}
	if (dec->cb.on_end && dec->cb.on_end(dec->ud))
		return SW_ERR_CALLBACK;
	return 0;
}

static int chunk_end(sw_chunked_dec *dec)
{
	dec->state = C_LENGTH;
	if (!dec->in_error && dec->cb.on_chunk_end && dec->cb.on_chunk_end(dec->ud))
		return SW_ERR_CALLBACK;
	return 0;
}

/* A complete length line (without "\n") is staged. */
static int take_line(sw_chunked_dec *dec)
{
	if (line_is(dec, "ERR")) {
		dec->staged = 0;
		return start_error(dec);
	}
	if (line_is(dec, "END")) {
		dec->staged = 0;
		return finish_body(dec);
	}
	bool neg;
	uint64_t v;
	int rv = sw_py_int(dec->line, dec->staged, 16, &neg, &v);
	dec->staged = 0;
	if (rv == SW_ERR_LIMIT)
		return SW_ERR_CHUNK_TOO_LARGE;
	if (rv < 0 || neg)
		return SW_ERR_BAD_CHUNK_LENGTH;
	if (v > dec->cfg.max_chunk)
		return SW_ERR_CHUNK_TOO_LARGE;
	dec->left = v;
	dec->state = C_CHUNK;
	if (dec->in_error) {
		if (dec->nerr >= dec->cfg.max_error_chunks)
			return SW_ERR_TOO_MANY_ARGS;
		if (v > dec->cfg.max_error_bytes - dec->errdata.len)
			return SW_ERR_CHUNK_TOO_LARGE;
		/* Reserve now so that appending the bytes cannot fail later. */
		if (sw_buf_reserve(&dec->errdata, (size_t)v) < 0)
			return SW_ERR_NOMEM;
		dec->errv[dec->nerr].p = NULL;
		dec->errv[dec->nerr].n = (size_t)v;
		dec->nerr++;
	} else if (dec->cb.on_chunk_begin && dec->cb.on_chunk_begin(dec->ud, v)) {
		return SW_ERR_CALLBACK;
	}
	if (v == 0)
		return chunk_end(dec);
	return 0;
}

/* Everything but the short path of sw_chunked_feed(). */
SW__NOINLINE static ptrdiff_t feed_states(sw_chunked_dec *dec, const uint8_t *in, size_t len)
{
	static const uint8_t nothing[1];
	size_t at = 0;
	ptrdiff_t r;
	bool complete;
	int rv;

	if (!in)
		in = nothing; /* no arithmetic on a null pointer below */
	for (;;) {
		switch (dec->state) {
		case C_HEADER:
			r = sw__stage_literal(SW_CHUNKED_HEADER, SW_CHUNKED_HEADER_LEN, &dec->staged,
			                      in + at, len - at);
			if (r < 0)
				return fail(dec, SW_ERR_BAD_CHUNK_HEADER);
			at += (size_t)r;
			if (dec->staged < SW_CHUNKED_HEADER_LEN)
				return (ptrdiff_t)at;
			dec->staged = 0;
			dec->state = C_LENGTH;
			/* fallthrough */
		case C_LENGTH:
			r = sw__stage_line(dec->line, &dec->staged, dec->cfg.max_length_line, in + at,
			                   len - at, &complete);
			if (r < 0)
				return fail(dec, (int)r);
			at += (size_t)r;
			if (!complete)
				return (ptrdiff_t)at;
			/* "ERR" and empty chunks leave the state at C_LENGTH. */
			if ((rv = take_line(dec)) < 0)
				return fail(dec, rv);
			break;
		case C_CHUNK: {
			size_t avail = len - at;
			if (avail == 0)
				return (ptrdiff_t)at;
			size_t take = avail < dec->left ? avail : (size_t)dec->left;
			if (dec->in_error) {
				/* Cannot fail: reserved in take_line(). */
				sw_buf_append(&dec->errdata, in + at, take);
			} else if (dec->cb.on_chunk && dec->cb.on_chunk(dec->ud, in + at, take)) {
				return fail(dec, SW_ERR_CALLBACK);
			}
			at += take;
			dec->left -= take;
			if (dec->left == 0 && (rv = chunk_end(dec)) < 0)
				return fail(dec, rv);
			break;
		}
		case C_DONE:
			return (ptrdiff_t)at;
		case C_FAILED:
		default:
			return dec->error;
		}
	}
}

ptrdiff_t sw_chunked_feed(sw_chunked_dec *dec, const uint8_t *in, size_t len)
{
	/* The short path (issue 2): the whole input is the next piece of a
	 * data chunk, the usual case for a reader of a large body.  It does
	 * what C_CHUNK does for a chunk that is not an error element, minus
	 * the loop. */
	if (dec->state == C_CHUNK && !dec->in_error && len != 0 && len <= dec->left) {
		if (dec->cb.on_chunk && dec->cb.on_chunk(dec->ud, in, len))
			return fail(dec, SW_ERR_CALLBACK);
		dec->left -= len;
		int rv;
		if (dec->left == 0 && (rv = chunk_end(dec)) < 0)
			return fail(dec, rv);
		return (ptrdiff_t)len;
	}
	return feed_states(dec, in, len);
}

bool sw_chunked_done(const sw_chunked_dec *dec)
{
	return dec->state == C_DONE;
}

int sw_chunked_finish(sw_chunked_dec *dec)
{
	if (dec->state == C_DONE)
		return 0;
	if (dec->state == C_FAILED)
		return dec->error;
	return (int)fail(dec, SW_ERR_UNEXPECTED_EOF);
}

size_t sw_chunked_next_read_size(const sw_chunked_dec *dec)
{
	switch (dec->state) {
	case C_HEADER:
		return SW_CHUNKED_HEADER_LEN - dec->staged;
	case C_LENGTH:
		return dec->staged ? 1 : 2;
	case C_CHUNK:
		return dec->left > SIZE_MAX - 4 ? SIZE_MAX : (size_t)dec->left + 4;
	default:
		return 0;
	}
}

/* ---- Encoder ----------------------------------------------------------- */

int sw_chunked_encode_header(sw_buf *out)
{
	return sw_buf_append(out, SW_CHUNKED_HEADER, SW_CHUNKED_HEADER_LEN);
}

int sw_chunked_encode_chunk_header(sw_buf *out, uint64_t len)
{
	uint8_t tmp[17];
	size_t n = sizeof tmp;
	tmp[--n] = '\n';
	do {
		tmp[--n] = (uint8_t)sw_hex_lower((unsigned)len);
		len >>= 4;
	} while (len);
	return sw_buf_append(out, tmp + n, sizeof tmp - n);
}

int sw_chunked_encode_chunk(sw_buf *out, const void *p, size_t n)
{
	size_t mark = out->len;
	if (sw_chunked_encode_chunk_header(out, n) < 0 || (n && sw_buf_append(out, p, n) < 0)) {
		out->len = mark;
		return SW_ERR_NOMEM;
	}
	return 0;
}

int sw_chunked_encode_error(sw_buf *out, const sw_slice *args, size_t n)
{
	size_t mark = out->len;
	int rv = sw_buf_append(out, SW_CHUNKED_ERR, 4);
	for (size_t i = 0; rv == 0 && i < n; i++)
		rv = sw_chunked_encode_chunk(out, args[i].p, args[i].n);
	if (rv < 0)
		out->len = mark;
	return rv;
}

int sw_chunked_encode_end(sw_buf *out)
{
	return sw_buf_append(out, SW_CHUNKED_END, 4);
}
