/*
 * The server connection core: lifecycle, the per-request loop of
 * sw_srv_conn_feed(), end of stream, output queue, and the wrappers that
 * call the request handler and check its contract.  See smartwire/server.h.
 *
 * A request goes CS_IDLE -> CS_DETECT (version marker) -> CS_V12 or CS_V3
 * (decoding; the handler runs from the decoder callbacks) and back to
 * CS_IDLE once it was read to its end AND its response was fully produced
 * (sw__srv_maybe_finish).  Closing comes in two strengths: sw__srv_close_after
 * stops reading but lets a response already started run to its end (the
 * answer of a trivial v3 request, then a framing error), sw__srv_fatal stops
 * everything at once (handler failure, memory).
 */
#include <string.h>

#include "server_impl.h"
#include "smartwire/error.h"

static size_t pending(const sw_srv_conn *c)
{
	return c->out.len - c->out_off;
}

static void resolve_config(sw_srv_config *cfg, const sw_srv_config *in)
{
	if (in)
		*cfg = *in;
	else
		memset(cfg, 0, sizeof *cfg);
	if (!cfg->max_line)
		cfg->max_line = SW_SRV_DEFAULT_MAX_LINE;
	if (!cfg->max_args)
		cfg->max_args = SW_SRV_DEFAULT_MAX_ARGS;
	if (!cfg->max_body)
		cfg->max_body = SW_SRV_DEFAULT_MAX_BODY;
	if (!cfg->max_header)
		cfg->max_header = SW_SRV_DEFAULT_MAX_HEADER;
	if (!cfg->max_struct)
		cfg->max_struct = SW_SRV_DEFAULT_MAX_STRUCT;
	if (!cfg->max_part)
		cfg->max_part = SW_SRV_DEFAULT_MAX_PART;
	if (!cfg->blimits.max_depth)
		cfg->blimits.max_depth = SW_BENCODE_DEFAULT_MAX_DEPTH;
	if (!cfg->blimits.max_elements)
		cfg->blimits.max_elements = SW_BENCODE_DEFAULT_MAX_ELEMENTS;
	if (!cfg->output_watermark)
		cfg->output_watermark = SW_SRV_DEFAULT_WATERMARK;
	if (!cfg->stream_chunk)
		cfg->stream_chunk = SW_SRV_DEFAULT_STREAM_CHUNK;
	if (!cfg->zc_min)
		cfg->zc_min = SW_SRV_DEFAULT_ZC_MIN;
	if (!cfg->idle_timeout_ms)
		cfg->idle_timeout_ms = SW_SRV_DEFAULT_IDLE_TIMEOUT_MS;
	if (!cfg->read_size)
		cfg->read_size = SW_SRV_DEFAULT_READ_SIZE;
}

int sw_srv_conn_new(sw_srv_conn **out, const sw_srv_config *cfg, const sw_dispatch *d,
                    void *ud, const sw_mem *mem)
{
	if (!out || !d || !d->begin)
		return SW_ERR_INVALID_ARGUMENT;
	sw_srv_conn *c = sw_malloc(mem, sizeof *c);
	if (!c)
		return SW_ERR_NOMEM;
	memset(c, 0, sizeof *c);
	resolve_config(&c->cfg, cfg);
	c->d = *d;
	c->ud = ud;
	c->mem = mem;
	c->state = CS_IDLE;
	c->req.conn = c;
	sw_buf_init(&c->out, mem);
	sw_buf_init(&c->part, mem);
	*out = c;
	return 0;
}

static void release_ctx(sw_srv_conn *c)
{
	if (c->req.ctx && c->d.free)
		c->d.free(c->req.ctx);
	c->req.ctx = NULL;
}

void sw__srv_abort_handler(sw_srv_conn *c)
{
	if (c->req.hstate != HS_BODY)
		return;
	if (c->d.abort)
		c->d.abort(c->req.ctx);
	release_ctx(c);
	c->req.hstate = HS_NONE;
}

void sw_srv_conn_del(sw_srv_conn *c)
{
	if (!c)
		return;
	sw__srv_abort_handler(c);
	release_ctx(c);
	sw_v12_dec_del(c->v12[0]);
	sw_v12_dec_del(c->v12[1]);
	sw__srv_v3_free(c);
	sw_buf_fini(&c->out);
	sw_buf_fini(&c->part);
	sw_free(c->mem, c->scratch);
	sw_free(c->mem, c);
}

/* Back to CS_IDLE with a fresh request record. */
static void end_request(sw_srv_conn *c)
{
	release_ctx(c);
	memset(&c->req, 0, sizeof c->req);
	c->req.conn = c;
	c->state = CS_IDLE;
}

void sw__srv_maybe_finish(sw_srv_conn *c)
{
	sw_srv_req *r = &c->req;
	if (c->state != CS_V12 && c->state != CS_V3)
		return;
	if (!r->decoded || r->rstate == RS_BODY_KNOWN || r->rstate == RS_BODY_STREAM)
		return;
	if (r->hstate == HS_BODY)
		sw__srv_abort_handler(c);
	if (r->rstate == RS_DONE)
		c->nreq++;
	end_request(c);
}

int sw__srv_fatal(sw_srv_conn *c, int err)
{
	if (!c->error)
		c->error = err;
	c->closing = true;
	sw__srv_abort_handler(c);
	end_request(c);
	return c->error;
}

int sw__srv_close_after(sw_srv_conn *c, int err)
{
	if (!c->error)
		c->error = err;
	c->closing = true;
	sw__srv_abort_handler(c);
	c->req.decoded = true;
	sw__srv_maybe_finish(c);
	return c->error;
}

/* ---- Handler wrappers ---------------------------------------------- */

int sw__srv_begin(sw_srv_conn *c, const sw_slice *args, size_t nargs)
{
	sw_srv_req *r = &c->req;
	void *ctx = NULL;
	r->in_handler = true;
	int rv = c->d.begin(c->ud, r, args, nargs, &ctx);
	r->in_handler = false;
	r->ctx = ctx;
	if (rv == SW_SRV_ANSWERED) {
		if (r->rstate == RS_NONE)
			return SW_ERR_STATE;
		r->hstate = HS_ANSWERED;
		return rv;
	}
	if (rv == SW_SRV_WANT_BODY) {
		if (r->rstate != RS_NONE)
			return SW_ERR_STATE;
		r->hstate = HS_BODY;
		return rv;
	}
	if (rv == SW_ERR_UNKNOWN_METHOD) {
		release_ctx(c);
		return r->rstate == RS_NONE ? rv : SW_ERR_STATE;
	}
	return rv < 0 ? rv : SW_ERR_STATE;
}

int sw__srv_body(sw_srv_conn *c, const uint8_t *p, size_t n)
{
	sw_srv_req *r = &c->req;
	if (r->hstate != HS_BODY || !c->d.body || n == 0)
		return 0;
	r->in_handler = true;
	int rv = c->d.body(r->ctx, r, p, n);
	r->in_handler = false;
	if (rv < 0)
		return rv;
	if (rv > 0)
		return SW_ERR_STATE;
	if (r->rstate != RS_NONE)
		r->hstate = HS_ANSWERED;
	return 0;
}

int sw__srv_end(sw_srv_conn *c)
{
	sw_srv_req *r = &c->req;
	if (r->hstate != HS_BODY)
		return 0;
	if (!c->d.end)
		return SW_ERR_STATE;
	r->in_handler = true;
	int rv = c->d.end(r->ctx, r);
	r->in_handler = false;
	if (rv < 0)
		return rv;
	if (rv > 0 || r->rstate == RS_NONE)
		return SW_ERR_STATE;
	r->hstate = HS_ANSWERED;
	return 0;
}

/* ---- Feeding ------------------------------------------------------- */

ptrdiff_t sw_srv_conn_feed(sw_srv_conn *c, const uint8_t *in, size_t len)
{
	if (!c || (!in && len))
		return SW_ERR_INVALID_ARGUMENT;
	if (c->error)
		return c->error;
	if (c->closing)
		return SW_ERR_STATE;
	size_t pos = 0;
	for (;;) {
		switch (c->state) {
		case CS_IDLE:
			if (pos == len || pending(c) >= c->cfg.output_watermark)
				return (ptrdiff_t)pos;
			sw_detect_init(&c->det);
			if (len - pos >= SW_V3_MARKER_LEN &&
			    memcmp(in + pos, SW_V3_MARKER, SW_V3_MARKER_LEN) == 0) {
				/* A whole v3 marker at hand: the detector would
				 * consume exactly it, byte by byte, and pick v3. */
				int rv = sw__srv_v3_start(c);
				if (rv < 0)
					return sw__srv_fatal(c, rv);
				pos += SW_V3_MARKER_LEN;
				continue;
			}
			c->state = CS_DETECT;
			/* fallthrough */
		case CS_DETECT: {
			pos += sw_detect_feed(&c->det, in + pos, len - pos);
			sw_version v = sw_detect_version(&c->det);
			if (v == SW_VERSION_NONE)
				return (ptrdiff_t)pos;
			int rv = v == SW_VERSION_3 ? sw__srv_v3_start(c) : sw__srv_v12_start(c, (int)v);
			if (rv < 0)
				return sw__srv_fatal(c, rv);
			if (v == SW_VERSION_1) {
				/* The marker prefix the detector consumed belongs to the
				 * v1 line; it holds no "\n", so it cannot end the line. */
				sw_slice pend = sw_detect_pending(&c->det);
				if (pend.n) {
					ptrdiff_t r = sw__srv_v12_feed(c, pend.p, pend.n);
					if (r < 0)
						return r;
				}
			}
			continue;
		}
		case CS_V12:
		case CS_V3: {
			if (c->req.decoded)
				return (ptrdiff_t)pos; /* response still being produced */
			ptrdiff_t r = c->state == CS_V3 ? sw__srv_v3_feed(c, in + pos, len - pos)
			                                : sw__srv_v12_feed(c, in + pos, len - pos);
			if (r < 0)
				return r;
			pos += (size_t)r;
			if (!c->req.decoded)
				return (ptrdiff_t)pos;
			sw__srv_maybe_finish(c);
			if (c->closing)
				return c->error ? c->error : (ptrdiff_t)pos;
			continue;
		}
		default:
			return sw__srv_fatal(c, SW_ERR_STATE);
		}
	}
}

int sw_srv_conn_eof(sw_srv_conn *c)
{
	if (!c)
		return SW_ERR_INVALID_ARGUMENT;
	if (c->eof || c->closing) {
		c->eof = true;
		c->closing = true;
		return c->error;
	}
	c->eof = true;
	switch (c->state) {
	case CS_IDLE:
		c->closing = true;
		return 0;
	case CS_V12:
	case CS_V3:
		if (c->req.decoded) {
			c->closing = true; /* the response in progress completes */
			return 0;
		}
		/* An answer already started (a trivial v3 request answered on its
		 * args) is completed, as Breezy had written it whole; otherwise
		 * the handler is aborted and nothing is answered. */
		return sw__srv_close_after(c, SW_ERR_UNEXPECTED_EOF);
	default: /* CS_DETECT: inside the first line */
		return sw__srv_fatal(c, SW_ERR_UNEXPECTED_EOF);
	}
}

void sw_srv_conn_abort(sw_srv_conn *c, int err)
{
	if (!c)
		return;
	sw__srv_fatal(c, err < 0 ? err : SW_ERR_CONNECTION_RESET);
	sw_buf_reset(&c->out);
	c->out_off = 0;
}

/* ---- Output -------------------------------------------------------- */

int sw_srv_conn_output(sw_srv_conn *c, const uint8_t **p, size_t *n)
{
	if (!c || !p || !n)
		return SW_ERR_INVALID_ARGUMENT;
	sw__srv_pump(c);
	*p = c->out.data ? c->out.data + c->out_off : NULL;
	*n = pending(c);
	return 0;
}

void sw_srv_conn_output_done(sw_srv_conn *c, size_t n)
{
	if (!c)
		return;
	if (n > pending(c))
		n = pending(c);
	c->out_off += n;
	if (c->out_off == c->out.len) {
		sw_buf_reset(&c->out);
		c->out_off = 0;
	} else if (c->out_off >= 65536 && c->out_off * 2 >= c->out.len) {
		sw_buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
}

size_t sw_srv_conn_next_read_size(const sw_srv_conn *c)
{
	if (!c || c->closing || c->error)
		return 0;
	switch (c->state) {
	case CS_IDLE:
		return pending(c) >= c->cfg.output_watermark ? 0 : 1;
	case CS_DETECT:
		return sw_detect_next_read_size(&c->det);
	case CS_V12:
		if (c->req.decoded)
			return 0;
		return sw_v12_dec_next_read_size(c->v12[c->req.version - 1]);
	case CS_V3:
		if (c->req.decoded)
			return 0;
		return sw_v3_dec_next_read_size(c->v3);
	default:
		return 0;
	}
}

bool sw_srv_conn_idle(const sw_srv_conn *c)
{
	return c && c->state == CS_IDLE && !c->closing;
}

bool sw_srv_conn_closing(const sw_srv_conn *c)
{
	return !c || c->closing;
}

bool sw_srv_conn_finished(const sw_srv_conn *c)
{
	return !c || (c->closing && c->state == CS_IDLE);
}

int sw_srv_conn_error(const sw_srv_conn *c)
{
	return c ? c->error : SW_ERR_INVALID_ARGUMENT;
}

uint64_t sw_srv_conn_requests(const sw_srv_conn *c)
{
	return c ? c->nreq : 0;
}

int sw_srv_req_version(const sw_srv_req *req)
{
	return req ? req->version : 0;
}
