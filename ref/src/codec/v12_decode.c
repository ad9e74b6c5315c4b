/*
 * Decoder of v1/v2 requests and responses.  See smartwire/v12.h.
 */
#include "smartwire/v12.h"

#include <string.h>

#include "smartwire/error.h"
#include "stage.h"

/* V_ARGS: stopped after the tuple line in SW_BODY_DEFERRED mode. */
enum vstate { V_MARKER, V_STATUS, V_LINE, V_ARGS, V_PREFIXED, V_CHUNKED, V_DONE, V_FAILED };

struct sw_v12_dec {
	enum vstate state;
	int error;             /* sticky, when state == V_FAILED */
	sw_v12_kind kind;
	int version;
	sw_body_mode body;
	bool began;            /* a byte of the current message was consumed */
	bool args_handled;     /* on_args returned: the body mode is fixed */
	int status;            /* -1 none, 0 failed, 1 success (once the line is read) */
	bool success_cand;     /* V_STATUS: the line being matched is "success\n" */
	const char *marker;    /* the marker expected in V_MARKER */
	size_t marker_len;
	size_t matched;        /* bytes of marker or status line matched */
	size_t nsep;           /* 0x01 bytes in the staged line */
	sw_buf line;           /* the tuple line being read, "\n" included when complete */
	sw_buf hline;          /* whole_lines: the marker or status line being read */
	bool whole;            /* whole_lines applies (v2 response) */
	sw_slice *args;
	size_t nargs, argcap;
	sw_prefixed_dec *prefixed;
	sw_chunked_dec *chunked;
	sw_v12_config cfg;
	sw_v12_callbacks cb;
	void *ud;
	const sw_mem *mem;
};

/* ---- Body decoder trampolines: forward to the user's callbacks. ---- */

static int t_body_begin(void *ud, uint64_t len)
{
	sw_v12_dec *d = ud;
	return d->cb.on_body_begin ? d->cb.on_body_begin(d->ud, len) : 0;
}

static int t_body(void *ud, const uint8_t *p, size_t n)
{
	sw_v12_dec *d = ud;
	return d->cb.on_body ? d->cb.on_body(d->ud, p, n) : 0;
}

static int t_chunk_begin(void *ud, uint64_t len)
{
	sw_v12_dec *d = ud;
	return d->cb.on_chunk_begin ? d->cb.on_chunk_begin(d->ud, len) : 0;
}

static int t_chunk(void *ud, const uint8_t *p, size_t n)
{
	sw_v12_dec *d = ud;
	return d->cb.on_chunk ? d->cb.on_chunk(d->ud, p, n) : 0;
}

static int t_chunk_end(void *ud)
{
	sw_v12_dec *d = ud;
	return d->cb.on_chunk_end ? d->cb.on_chunk_end(d->ud) : 0;
}

static int t_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	sw_v12_dec *d = ud;
	return d->cb.on_error_chunks ? d->cb.on_error_chunks(d->ud, args, n) : 0;
}

/* ---- Life cycle ---- */

int sw_v12_dec_new(sw_v12_dec **out, sw_v12_kind kind, int version, const sw_v12_config *cfg,
                   const sw_v12_callbacks *cb, void *ud, const sw_mem *mem)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	if ((kind != SW_V12_REQUEST && kind != SW_V12_RESPONSE) || (version != 1 && version != 2))
		return SW_ERR_INVALID_ARGUMENT;
	sw_v12_dec *dec = sw_malloc(mem, sizeof *dec);
	if (!dec)
		return SW_ERR_NOMEM;
	memset(dec, 0, sizeof *dec);
	dec->kind = kind;
	dec->version = version;
	if (cfg)
		dec->cfg = *cfg;
	if (!dec->cfg.max_line)
		dec->cfg.max_line = SW_V12_DEFAULT_MAX_LINE;
	if (!dec->cfg.max_args)
		dec->cfg.max_args = SW_V12_DEFAULT_MAX_ARGS;
	if (cb)
		dec->cb = *cb;
	dec->ud = ud;
	dec->mem = mem;
	sw_buf_init(&dec->line, mem);
	sw_buf_init(&dec->hline, mem);
	dec->whole = dec->cfg.whole_lines && version == 2 && kind == SW_V12_RESPONSE;
	if (version == 2 && kind == SW_V12_RESPONSE && !dec->cfg.response_marker_consumed) {
		dec->marker = SW_V2_RESPONSE_MARKER;
		dec->marker_len = SW_V2_RESPONSE_MARKER_LEN;
	} else if (version == 2 && kind == SW_V12_REQUEST && dec->cfg.expect_request_marker) {
		dec->marker = SW_V2_REQUEST_MARKER;
		dec->marker_len = SW_V2_REQUEST_MARKER_LEN;
	}
	sw_v12_dec_reset(dec);
	*out = dec;
	return 0;
}

void sw_v12_dec_del(sw_v12_dec *dec)
{
	if (!dec)
		return;
	sw_prefixed_del(dec->prefixed);
	sw_chunked_del(dec->chunked);
	sw_buf_fini(&dec->line);
	sw_buf_fini(&dec->hline);
	sw_free(dec->mem, dec->args);
	sw_free(dec->mem, dec);
}

void sw_v12_dec_reset(sw_v12_dec *dec)
{
	if (dec->marker)
		dec->state = V_MARKER;
	else if (dec->version == 2 && dec->kind == SW_V12_RESPONSE)
		dec->state = V_STATUS;
	else
		dec->state = V_LINE;
	dec->error = 0;
	dec->body = SW_BODY_NONE;
	dec->began = false;
	dec->args_handled = false;
	dec->status = -1;
	dec->matched = 0;
	dec->nsep = 0;
	dec->nargs = 0;
	sw_buf_reset(&dec->line);
	sw_buf_reset(&dec->hline);
}

/* ---- Decoding ---- */

static ptrdiff_t fail(sw_v12_dec *dec, int err)
{
	dec->state = V_FAILED;
	dec->error = err;
	return err;
}

static int start_body(sw_v12_dec *dec);

int sw_v12_dec_expect_body(sw_v12_dec *dec, sw_body_mode mode)
{
	if (mode != SW_BODY_NONE && mode != SW_BODY_PREFIXED && mode != SW_BODY_CHUNKED &&
	    mode != SW_BODY_DEFERRED)
		return SW_ERR_INVALID_ARGUMENT;
	if (mode == SW_BODY_CHUNKED && !(dec->version == 2 && dec->kind == SW_V12_RESPONSE))
		return SW_ERR_INVALID_ARGUMENT;
	if (dec->state == V_ARGS) {
		if (mode == SW_BODY_DEFERRED)
			return SW_ERR_INVALID_ARGUMENT;
		dec->body = mode;
		int rv = start_body(dec);
		return rv < 0 ? (int)fail(dec, rv) : 0;
	}
	if (dec->args_handled || dec->state == V_FAILED)
		return SW_ERR_STATE;
	dec->body = mode;
	return 0;
}

/* The tuple line is complete (in dec->line, "\n" included): split it,
 * report it, and move on to the body the caller asked for. */
static int take_line(sw_v12_dec *dec)
{
	size_t need = dec->nsep + 1;
	if (need > dec->argcap) {
		sw_slice *a = sw_realloc(dec->mem, dec->args, need * sizeof *a);
		if (!a)
			return SW_ERR_NOMEM;
		dec->args = a;
		dec->argcap = need;
	}
	ptrdiff_t n = sw_tuple_decode(dec->line.data, dec->line.len, dec->args, dec->cfg.max_args);
	if (n < 0)
		return (int)n;
	dec->nargs = (size_t)n;
	if (dec->cb.on_args && dec->cb.on_args(dec->ud, dec->args, dec->nargs))
		return SW_ERR_CALLBACK;
	dec->args_handled = true;
	if (dec->body == SW_BODY_DEFERRED) {
		dec->state = V_ARGS;
		return 0;
	}
	return start_body(dec);
}

/* The body mode is known: get its decoder ready, or end the message. */
static int start_body(sw_v12_dec *dec)
{
	if (dec->body == SW_BODY_PREFIXED) {
		if (!dec->prefixed) {
			sw_prefixed_callbacks pcb = {t_body_begin, t_body, NULL};
			int rv = sw_prefixed_new(&dec->prefixed, &dec->cfg.prefixed, &pcb, dec, dec->mem);
			if (rv < 0)
				return rv;
		}
		sw_prefixed_reset(dec->prefixed);
		dec->state = V_PREFIXED;
	} else if (dec->body == SW_BODY_CHUNKED) {
		if (!dec->chunked) {
			sw_chunked_callbacks ccb = {t_chunk_begin, t_chunk, t_chunk_end,
			                            t_error_chunks, NULL};
			int rv = sw_chunked_new(&dec->chunked, &dec->cfg.chunked, &ccb, dec, dec->mem);
			if (rv < 0)
				return rv;
		}
		sw_chunked_reset(dec->chunked);
		dec->state = V_CHUNKED;
	} else {
		dec->state = V_DONE;
		if (dec->cb.on_end && dec->cb.on_end(dec->ud))
			return SW_ERR_CALLBACK;
	}
	return 0;
}

/* whole_lines: stages the marker or status line in dec->hline up to and
 * including its "\n".  Returns the bytes consumed (*complete tells whether
 * the "\n" was among them), SW_ERR_LINE_TOO_LONG or SW_ERR_NOMEM.  As for
 * the tuple line, the byte that brings the line to max_line fits only if it
 * is the "\n", so the verdict does not depend on how the input was cut. */
static ptrdiff_t stage_head_line(sw_v12_dec *dec, const uint8_t *in, size_t len, bool *complete)
{
	const uint8_t *nl = memchr(in, '\n', len);
	size_t piece = nl ? (size_t)(nl - in) + 1 : len;
	size_t room = dec->cfg.max_line - dec->hline.len;
	if (piece > room || (!nl && piece == room))
		return SW_ERR_LINE_TOO_LONG;
	if (sw_buf_append(&dec->hline, in, piece) < 0)
		return SW_ERR_NOMEM;
	*complete = nl != NULL;
	return (ptrdiff_t)piece;
}

static bool head_line_is(const sw_v12_dec *dec, const char *lit, size_t n)
{
	return dec->hline.len == n && memcmp(dec->hline.data, lit, n) == 0;
}

/* whole_lines: the marker and status states (see sw_v12_config). */
static ptrdiff_t feed_head_line(sw_v12_dec *dec, const uint8_t *in, size_t len, bool *complete)
{
	ptrdiff_t r = stage_head_line(dec, in, len, complete);
	if (r < 0 || !*complete)
		return r;
	if (dec->state == V_MARKER) {
		if (!head_line_is(dec, dec->marker, dec->marker_len))
			return SW_ERR_BAD_MARKER;
		sw_buf_reset(&dec->hline);
		dec->state = V_STATUS;
		return r;
	}
	if (head_line_is(dec, SW_V2_STATUS_SUCCESS, sizeof SW_V2_STATUS_SUCCESS - 1))
		dec->status = 1;
	else if (head_line_is(dec, SW_V2_STATUS_FAILED, sizeof SW_V2_STATUS_FAILED - 1))
		dec->status = 0;
	else
		dec->status = SW_V12_STATUS_OTHER;
	dec->state = V_LINE;
	if (dec->status != SW_V12_STATUS_OTHER && dec->cb.on_status &&
	    dec->cb.on_status(dec->ud, dec->status == 1))
		return SW_ERR_CALLBACK;
	return r;
}

static ptrdiff_t body_done(sw_v12_dec *dec, size_t at)
{
	dec->state = V_DONE;
	if (dec->cb.on_end && dec->cb.on_end(dec->ud))
		return fail(dec, SW_ERR_CALLBACK);
	return (ptrdiff_t)at;
}

ptrdiff_t sw_v12_dec_feed(sw_v12_dec *dec, const uint8_t *in, size_t len)
{
	static const uint8_t nothing[1];
	size_t at = 0;
	ptrdiff_t r;

	if (!in)
		in = nothing; /* no arithmetic on a null pointer below */
	if (len && dec->state != V_DONE && dec->state != V_FAILED)
		dec->began = true;
	for (;;) {
		if (dec->whole && (dec->state == V_MARKER || dec->state == V_STATUS)) {
			if (at == len)
				return (ptrdiff_t)at;
			bool complete;
			r = feed_head_line(dec, in + at, len - at, &complete);
			if (r < 0)
				return fail(dec, (int)r);
			at += (size_t)r;
			if (!complete)
				return (ptrdiff_t)at;
			continue;
		}
		switch (dec->state) {
		case V_MARKER:
			r = sw__stage_literal(dec->marker, dec->marker_len, &dec->matched, in + at,
			                      len - at);
			if (r < 0)
				return fail(dec, SW_ERR_BAD_MARKER);
			at += (size_t)r;
			if (dec->matched < dec->marker_len)
				return (ptrdiff_t)at;
			dec->matched = 0;
			dec->state = (dec->kind == SW_V12_RESPONSE) ? V_STATUS : V_LINE;
			continue;
		case V_STATUS: {
			if (at == len)
				return (ptrdiff_t)at;
			/* The first byte picks the line to match; any byte other than
			 * 's' then fails against "failed\n". */
			if (dec->matched == 0)
				dec->success_cand = in[at] == 's';
			const char *want = dec->success_cand ? SW_V2_STATUS_SUCCESS
			                                     : SW_V2_STATUS_FAILED;
			size_t want_len = strlen(want);
			r = sw__stage_literal(want, want_len, &dec->matched, in + at, len - at);
			if (r < 0)
				return fail(dec, SW_ERR_BAD_STATUS);
			at += (size_t)r;
			if (dec->matched < want_len)
				return (ptrdiff_t)at;
			dec->matched = 0;
			dec->status = dec->success_cand;
			dec->state = V_LINE;
			if (dec->cb.on_status && dec->cb.on_status(dec->ud, dec->status == 1))
				return fail(dec, SW_ERR_CALLBACK);
			continue;
		}
		case V_LINE: {
			if (at == len)
				return (ptrdiff_t)at;
			const uint8_t *nl = memchr(in + at, '\n', len - at);
			size_t piece = nl ? (size_t)(nl - (in + at)) + 1 : len - at;
			/* The byte that brings the line to max_line fits only if it
			 * is the "\n".  The errors must not depend on how the input
			 * was cut, so separators are counted only over the bytes
			 * before that point: whichever limit an earlier byte breaks
			 * is the one reported, as when fed one byte at a time. */
			size_t room = dec->cfg.max_line - dec->line.len;
			bool too_long = piece > room || (!nl && piece == room);
			size_t fits = too_long ? room - 1 : piece;
			for (size_t i = 0; i < fits; i++)
				if (in[at + i] == SW_TUPLE_SEP && ++dec->nsep >= dec->cfg.max_args)
					return fail(dec, SW_ERR_TOO_MANY_ARGS);
			if (too_long)
				return fail(dec, SW_ERR_LINE_TOO_LONG);
			if (sw_buf_append(&dec->line, in + at, piece) < 0)
				return fail(dec, SW_ERR_NOMEM);
			at += piece;
			if (!nl)
				return (ptrdiff_t)at;
			int rv = take_line(dec);
			if (rv < 0)
				return fail(dec, rv);
			if (dec->state == V_DONE || dec->state == V_ARGS)
				return (ptrdiff_t)at;
			continue;
		}
		case V_ARGS: return (ptrdiff_t)at;
		case V_PREFIXED:
			r = sw_prefixed_feed(dec->prefixed, in + at, len - at);
			if (r < 0)
				return fail(dec, (int)r);
			at += (size_t)r;
			if (!sw_prefixed_done(dec->prefixed))
				return (ptrdiff_t)at;
			return body_done(dec, at);
		case V_CHUNKED:
			r = sw_chunked_feed(dec->chunked, in + at, len - at);
			if (r < 0)
				return fail(dec, (int)r);
			at += (size_t)r;
			if (!sw_chunked_done(dec->chunked))
				return (ptrdiff_t)at;
			return body_done(dec, at);
		case V_DONE:
			return (ptrdiff_t)at;
		case V_FAILED:
		default:
			return dec->error;
		}
	}
}

bool sw_v12_dec_done(const sw_v12_dec *dec)
{
	return dec->state == V_DONE;
}

int sw_v12_dec_finish(sw_v12_dec *dec)
{
	if (dec->state == V_DONE || dec->state == V_ARGS)
		return 0;
	if (dec->state == V_FAILED)
		return dec->error;
	if (!dec->began)
		return 0;
	return (int)fail(dec, SW_ERR_UNEXPECTED_EOF);
}

size_t sw_v12_dec_next_read_size(const sw_v12_dec *dec)
{
	switch (dec->state) {
	case V_MARKER:
	case V_STATUS:
	case V_LINE:
		return 1;
	case V_PREFIXED:
		return sw_prefixed_next_read_size(dec->prefixed);
	case V_CHUNKED:
		return sw_chunked_next_read_size(dec->chunked);
	default:
		return 0;
	}
}

const sw_slice *sw_v12_dec_args(const sw_v12_dec *dec, size_t *n)
{
	bool have = dec->args_handled || (dec->nargs > 0 && dec->state != V_FAILED);
	if (n)
		*n = have ? dec->nargs : 0;
	return have ? dec->args : NULL;
}

int sw_v12_dec_status(const sw_v12_dec *dec)
{
	return dec->status;
}

const uint8_t *sw_v12_dec_head_line(const sw_v12_dec *dec, size_t *n)
{
	bool have =
	    dec->whole && dec->hline.len &&
	    (dec->status != -1 || (dec->state == V_FAILED && dec->error == SW_ERR_BAD_MARKER));
	if (n)
		*n = have ? dec->hline.len : 0;
	return have ? dec->hline.data : NULL;
}
