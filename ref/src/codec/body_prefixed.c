/*
 * The length-prefixed body ("%d\n" <body> "done\n").  See smartwire/body.h.
 */
#include "smartwire/body.h"

#include <string.h>

#include "smartwire/error.h"
#include "smartwire/pytext.h"
#include "stage.h"

/* ---- Decoder ----------------------------------------------------------- */

enum pstate { P_LENGTH, P_BODY, P_TRAILER, P_DONE, P_FAILED };

struct sw_prefixed_dec {
	enum pstate state;
	int error;             /* sticky, when state == P_FAILED */
	uint64_t left;         /* body bytes still to come (P_BODY) */
	size_t staged;         /* length-line bytes staged, or trailer bytes matched */
	size_t max_line;
	uint64_t max_body;
	sw_prefixed_callbacks cb;
	void *ud;
	const sw_mem *mem;
	uint8_t line[];        /* max_line bytes: the length line being read */
};

int sw_prefixed_new(sw_prefixed_dec **out, const sw_prefixed_config *cfg,
                    const sw_prefixed_callbacks *cb, void *ud, const sw_mem *mem)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	size_t max_line = cfg && cfg->max_length_line ? cfg->max_length_line
	                                              : SW_PREFIXED_DEFAULT_MAX_LENGTH_LINE;
	if (max_line > SIZE_MAX - sizeof(sw_prefixed_dec))
		return SW_ERR_INVALID_ARGUMENT;
	sw_prefixed_dec *dec = sw_malloc(mem, sizeof *dec + max_line);
	if (!dec)
		return SW_ERR_NOMEM;
	memset(dec, 0, sizeof *dec);
	dec->max_line = max_line;
	dec->max_body = cfg && cfg->max_body ? cfg->max_body : SW_PREFIXED_DEFAULT_MAX_BODY;
	if (cb)
		dec->cb = *cb;
	dec->ud = ud;
	dec->mem = mem;
	sw_prefixed_reset(dec);
	*out = dec;
	return 0;
}

void sw_prefixed_del(sw_prefixed_dec *dec)
{
	if (dec)
		sw_free(dec->mem, dec);
}

void sw_prefixed_reset(sw_prefixed_dec *dec)
{
	dec->state = P_LENGTH;
	dec->error = 0;
	dec->left = 0;
	dec->staged = 0;
}

static ptrdiff_t fail(sw_prefixed_dec *dec, int err)
{
	dec->state = P_FAILED;
	dec->error = err;
	return err;
}

/* The length line (without its "\n") is complete: parse it as int(). */
static int take_length(sw_prefixed_dec *dec)
{
	bool neg;
	uint64_t v;
	int rv = sw_py_int(dec->line, dec->staged, 10, &neg, &v);
	if (rv == SW_ERR_LIMIT)
		return SW_ERR_BODY_TOO_LARGE;
	if (rv < 0)
		return SW_ERR_BAD_LENGTH;
	if (neg)
		v = 0; /* Breezy: every later byte is trailer, i.e. an empty body */
	if (v > dec->max_body)
		return SW_ERR_BODY_TOO_LARGE;
	dec->left = v;
	dec->staged = 0;
	if (dec->cb.on_length && dec->cb.on_length(dec->ud, v))
		return SW_ERR_CALLBACK;
	dec->state = v ? P_BODY : P_TRAILER;
	return 0;
}

/* Everything but the short path of sw_prefixed_feed(). */
SW__NOINLINE static ptrdiff_t feed_states(sw_prefixed_dec *dec, const uint8_t *in, size_t len)
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
		case P_LENGTH:
			r = sw__stage_line(dec->line, &dec->staged, dec->max_line, in + at, len - at,
			                   &complete);
			if (r < 0)
				return fail(dec, (int)r);
			at += (size_t)r;
			if (!complete)
				return (ptrdiff_t)at;
			if ((rv = take_length(dec)) < 0)
				return fail(dec, rv);
			break;
		case P_BODY: {
			size_t avail = len - at;
			if (avail == 0)
				return (ptrdiff_t)at;
			size_t take = avail < dec->left ? avail : (size_t)dec->left;
			if (dec->cb.on_data && dec->cb.on_data(dec->ud, in + at, take))
				return fail(dec, SW_ERR_CALLBACK);
			at += take;
			dec->left -= take;
			if (dec->left == 0)
				dec->state = P_TRAILER;
			break;
		}
		case P_TRAILER:
			r = sw__stage_literal(SW_PREFIXED_TRAILER, SW_PREFIXED_TRAILER_LEN,
			                      &dec->staged, in + at, len - at);
			if (r < 0)
				return fail(dec, SW_ERR_BAD_TRAILER);
			at += (size_t)r;
			if (dec->staged < SW_PREFIXED_TRAILER_LEN)
				return (ptrdiff_t)at;
			dec->state = P_DONE;
			if (dec->cb.on_end && dec->cb.on_end(dec->ud))
				return fail(dec, SW_ERR_CALLBACK);
			return (ptrdiff_t)at;
		case P_DONE:
			return (ptrdiff_t)at;
		case P_FAILED:
		default:
			return dec->error;
		}
	}
}

ptrdiff_t sw_prefixed_feed(sw_prefixed_dec *dec, const uint8_t *in, size_t len)
{
	/* The short path (issue 2): the whole input is the next piece of the
	 * body, the usual case for a reader of a large body.  It does what
	 * P_BODY does, minus the loop. */
	if (dec->state == P_BODY && len != 0 && len <= dec->left) {
		dec->left -= len;
		if (dec->left == 0)
			dec->state = P_TRAILER;
		if (dec->cb.on_data && dec->cb.on_data(dec->ud, in, len))
			return fail(dec, SW_ERR_CALLBACK);
		return (ptrdiff_t)len;
	}
	return feed_states(dec, in, len);
}

bool sw_prefixed_done(const sw_prefixed_dec *dec)
{
	return dec->state == P_DONE;
}

int sw_prefixed_finish(sw_prefixed_dec *dec)
{
	if (dec->state == P_DONE)
		return 0;
	if (dec->state == P_FAILED)
		return dec->error;
	return (int)fail(dec, SW_ERR_UNEXPECTED_EOF);
}

size_t sw_prefixed_next_read_size(const sw_prefixed_dec *dec)
{
	switch (dec->state) {
	case P_LENGTH:
		return 6;
	case P_BODY:
		return dec->left > SIZE_MAX - 5 ? SIZE_MAX : (size_t)dec->left + 5;
	case P_TRAILER:
		return SW_PREFIXED_TRAILER_LEN - dec->staged;
	default:
		return 0;
	}
}

/* ---- Encoder ----------------------------------------------------------- */

int sw_prefixed_encode_header(sw_buf *out, uint64_t len)
{
	size_t mark = out->len;
	if (sw_buf_append_u64(out, len) < 0 || sw_buf_append_byte(out, '\n') < 0) {
		out->len = mark;
		return SW_ERR_NOMEM;
	}
	return 0;
}

int sw_prefixed_encode_trailer(sw_buf *out)
{
	return sw_buf_append(out, SW_PREFIXED_TRAILER, SW_PREFIXED_TRAILER_LEN);
}

int sw_prefixed_encode(sw_buf *out, const void *body, size_t len)
{
	size_t mark = out->len;
	if (len > SIZE_MAX - 32 || sw_buf_reserve(out, 21 + len + SW_PREFIXED_TRAILER_LEN) < 0)
		return SW_ERR_NOMEM;
	if (sw_prefixed_encode_header(out, len) < 0 ||
	    (len && sw_buf_append(out, body, len) < 0) ||
	    sw_prefixed_encode_trailer(out) < 0) {
		out->len = mark;
		return SW_ERR_NOMEM;
	}
	return 0;
}
