/*
 * Server responses: the sw_srv_respond* functions a handler calls, the
 * answers the core gives itself (unknown verb, protocol errors), and the
 * pump that pulls response bodies from the handler into the output queue
 * while it is below the watermark.  See smartwire/server.h.
 *
 * Every encoder appends to the connection's output queue and, on failure,
 * the queue is cut back to where it was, so a response is queued whole or
 * not at all; a body is the only thing queued piecewise.
 */
#include <string.h>

#include "server_impl.h"
#include "smartwire/body.h"
#include "smartwire/error.h"

#define GENERIC "Generic bzr smart protocol error: "

static size_t pending(const sw_srv_conn *c)
{
	return c->out.len - c->out_off;
}

/* Checks that `req` may respond now. */
static int may_respond(const sw_srv_req *req, const sw_slice *args, size_t nargs)
{
	if (!req || !req->conn)
		return SW_ERR_INVALID_ARGUMENT;
	if (!args && nargs)
		return SW_ERR_INVALID_ARGUMENT;
	if (!req->in_handler || req->rstate != RS_NONE)
		return SW_ERR_STATE;
	return 0;
}

/* Appends sw_v3_encode_response_start() with the default headers: the
 * marker and headers, identical in every response, are encoded by the v3
 * encoder once per connection and copied afterwards. */
static int put_v3_start(sw_srv_conn *c, bool success, const sw_slice *args, size_t nargs)
{
	if (!c->v3pre_len) {
		size_t mark = c->out.len;
		int rv = sw_v3_put_marker(&c->out);
		if (rv == 0)
			rv = sw_v3_put_default_headers(&c->out);
		size_t n = c->out.len - mark;
		if (rv == 0 && n <= sizeof c->v3pre) {
			memcpy(c->v3pre, c->out.data + mark, n);
			c->v3pre_len = (uint8_t)n;
		}
		c->out.len = mark;
		if (rv < 0)
			return rv;
		if (!c->v3pre_len) /* larger than expected: no copy kept */
			return sw_v3_encode_response_start(&c->out, sw_v3_default_header_kv,
			                                   SW_V3_DEFAULT_HEADER_PAIRS, success, args,
			                                   nargs);
	}
	size_t mark = c->out.len;
	int rv = sw_buf_append(&c->out, c->v3pre, c->v3pre_len);
	if (rv == 0)
		rv = sw_v3_put_byte(&c->out, success ? 'S' : 'E');
	if (rv == 0)
		rv = sw_v3_put_args(&c->out, args, nargs);
	if (rv < 0)
		c->out.len = mark;
	return rv;
}

/* Appends the response head: v1 tuple, v2 marker + status + tuple, v3
 * marker + headers + oS/oE + s(args). */
static int put_head(sw_srv_conn *c, int version, bool success, const sw_slice *args,
                    size_t nargs)
{
	if (version == 3)
		return put_v3_start(c, success, args, nargs);
	return sw_v12_encode_response(&c->out, version, success, args, nargs, NULL);
}

static int rollback(sw_srv_conn *c, size_t mark, int rv)
{
	c->out.len = mark;
	return rv;
}

int sw_srv_respond(sw_srv_req *req, bool success, const sw_slice *args, size_t nargs)
{
	int rv = may_respond(req, args, nargs);
	if (rv < 0)
		return rv;
	sw_srv_conn *c = req->conn;
	size_t mark = c->out.len;
	if ((rv = put_head(c, req->version, success, args, nargs)) < 0)
		return rollback(c, mark, rv);
	if (req->version == 3 && (rv = sw_v3_put_end(&c->out)) < 0)
		return rollback(c, mark, rv);
	req->rstate = RS_DONE;
	return 0;
}

int sw_srv_respond_body(sw_srv_req *req, const sw_slice *args, size_t nargs,
                        uint64_t body_len)
{
	int rv = may_respond(req, args, nargs);
	if (rv < 0)
		return rv;
	if (req->version == 3 && body_len > UINT32_MAX)
		return SW_ERR_INVALID_ARGUMENT;
	sw_srv_conn *c = req->conn;
	size_t mark = c->out.len;
	if ((rv = put_head(c, req->version, true, args, nargs)) < 0)
		return rollback(c, mark, rv);
	if (req->version == 3)
		rv = sw_v3_put_bytes_prefix(&c->out, (uint32_t)body_len);
	else
		rv = sw_prefixed_encode_header(&c->out, body_len);
	if (rv < 0)
		return rollback(c, mark, rv);
	if (body_len == 0) {
		rv = req->version == 3 ? sw_v3_put_end(&c->out)
		                       : sw_prefixed_encode_trailer(&c->out);
		if (rv < 0)
			return rollback(c, mark, rv);
		req->rstate = RS_DONE;
		return 0;
	}
	req->rstate = RS_BODY_KNOWN;
	req->body_left = body_len;
	return 0;
}

int sw_srv_respond_bytes(sw_srv_req *req, const sw_slice *args, size_t nargs,
                         const void *body, size_t len)
{
	int rv = may_respond(req, args, nargs);
	if (rv < 0)
		return rv;
	if (!body && len)
		return SW_ERR_INVALID_ARGUMENT;
	sw_srv_conn *c = req->conn;
	size_t mark = c->out.len;
	sw_slice b = {(const uint8_t *)body, len};
	if (req->version == 3)
		rv = sw_v3_encode_response(&c->out, sw_v3_default_header_kv,
		                           SW_V3_DEFAULT_HEADER_PAIRS, true, args, nargs, &b);
	else
		rv = sw_v12_encode_response(&c->out, req->version, true, args, nargs, &b);
	if (rv < 0)
		return rollback(c, mark, rv);
	req->rstate = RS_DONE;
	return 0;
}

int sw_srv_respond_stream(sw_srv_req *req, const sw_slice *args, size_t nargs)
{
	int rv = may_respond(req, args, nargs);
	if (rv < 0)
		return rv;
	sw_srv_conn *c = req->conn;
	size_t mark = c->out.len;
	if ((rv = put_head(c, req->version, true, args, nargs)) < 0)
		return rollback(c, mark, rv);
	if (req->version == 1) {
		/* Breezy's v1 _send_response ignores body_stream. */
		req->rstate = RS_DONE;
		return 0;
	}
	if (req->version == 2 && (rv = sw_chunked_encode_header(&c->out)) < 0)
		return rollback(c, mark, rv);
	req->rstate = RS_BODY_STREAM;
	return 0;
}

int sw_srv_stream_error(sw_srv_req *req, const sw_slice *args, size_t nargs)
{
	if (!req || !req->conn || (!args && nargs))
		return SW_ERR_INVALID_ARGUMENT;
	if (!req->in_read || req->rstate != RS_BODY_STREAM)
		return SW_ERR_STATE;
	sw_srv_conn *c = req->conn;
	size_t mark = c->out.len;
	int rv;
	if (req->version == 3) {
		rv = sw_v3_encode_stream_error(&c->out, args, nargs);
	} else {
		rv = sw_chunked_encode_error(&c->out, args, nargs);
		if (rv == 0)
			rv = sw_chunked_encode_end(&c->out);
	}
	if (rv < 0)
		return rollback(c, mark, rv);
	req->rstate = RS_DONE;
	return 0;
}

/* ---- Answers given by the core ------------------------------------- */

int sw__srv_answer_failed(sw_srv_conn *c, const sw_slice *args, size_t nargs)
{
	sw_srv_req *r = &c->req;
	if (r->rstate != RS_NONE)
		return 0; /* one response per request (message.py protocol_error) */
	size_t mark = c->out.len;
	int rv;
	if (r->version == 3) {
		rv = put_v3_start(c, false, args, nargs);
		if (rv == 0)
			rv = sw_v3_put_end(&c->out);
	} else
		rv = sw_v12_encode_response(&c->out, r->version, false, args, nargs, NULL);
	if (rv < 0)
		return rollback(c, mark, rv);
	r->rstate = RS_DONE;
	return 0;
}

int sw__srv_answer_generic(sw_srv_conn *c, const char *text, size_t len)
{
	if (c->req.rstate != RS_NONE)
		return 0;
	sw_buf msg;
	sw_buf_init(&msg, c->mem);
	int rv = sw_buf_append_str(&msg, GENERIC);
	if (rv == 0)
		rv = sw_buf_append(&msg, text, len);
	if (rv == 0) {
		sw_slice args[2] = {{(const uint8_t *)"error", 5}, {msg.data, msg.len}};
		rv = sw__srv_answer_failed(c, args, 2);
	}
	sw_buf_fini(&msg);
	return rv;
}

int sw__srv_answer_unknown(sw_srv_conn *c, const sw_slice *verb)
{
	if (c->req.version == 3) {
		sw_slice args[2] = {{(const uint8_t *)"UnknownMethod", 13}, *verb};
		return sw__srv_answer_failed(c, args, 2);
	}
	/* protocol.py: SmartProtocolError("bad request '%s'" % verb.decode('ascii')).
	 * The verb's bytes go in as they are (Breezy crashes on non-ASCII). */
	sw_buf t;
	sw_buf_init(&t, c->mem);
	int rv = sw_buf_append_str(&t, "bad request '");
	if (rv == 0)
		rv = sw_buf_append(&t, verb->p, verb->n);
	if (rv == 0)
		rv = sw_buf_append_byte(&t, '\'');
	if (rv == 0)
		rv = sw__srv_answer_generic(c, (const char *)t.data, t.len);
	sw_buf_fini(&t);
	return rv;
}

/* ---- Body pump ----------------------------------------------------- */

int sw__srv_finish_body(sw_srv_conn *c)
{
	sw_srv_req *r = &c->req;
	int rv;
	if (r->rstate == RS_BODY_KNOWN)
		rv = r->version == 3 ? sw_v3_put_end(&c->out) : sw_prefixed_encode_trailer(&c->out);
	else
		rv = r->version == 3 ? sw_v3_put_end(&c->out) : sw_chunked_encode_end(&c->out);
	if (rv < 0)
		return sw__srv_fatal(c, rv);
	r->rstate = RS_DONE;
	sw__srv_maybe_finish(c);
	return 0;
}

static int pull_known(sw_srv_conn *c)
{
	sw_srv_req *r = &c->req;
	size_t cap = c->cfg.stream_chunk;
	if (r->body_left < cap)
		cap = (size_t)r->body_left;
	if (sw_buf_reserve(&c->out, cap) < 0)
		return sw__srv_fatal(c, SW_ERR_NOMEM);
	ptrdiff_t n = c->d.read_body(r->ctx, r, c->out.data + c->out.len, cap);
	if (n <= 0 || (size_t)n > cap) {
		/* The length is on the wire already and cannot be taken back:
		 * the body is cut and the connection closed. */
		return sw__srv_fatal(c, n < 0 ? (int)n : n == 0 ? SW_ERR_UNEXPECTED_EOF : SW_ERR_STATE);
	}
	c->out.len += (size_t)n;
	r->body_left -= (uint64_t)n;
	return r->body_left == 0 ? sw__srv_finish_body(c) : 0;
}

static int pull_stream(sw_srv_conn *c)
{
	sw_srv_req *r = &c->req;
	size_t cap = c->cfg.stream_chunk;
	if (!c->scratch && !(c->scratch = sw_malloc(c->mem, cap)))
		return sw__srv_fatal(c, SW_ERR_NOMEM);
	r->in_read = true;
	ptrdiff_t n = c->d.read_body(r->ctx, r, c->scratch, cap);
	r->in_read = false;
	if (r->rstate == RS_DONE) { /* sw_srv_stream_error() ended it */
		sw__srv_maybe_finish(c);
		return 0;
	}
	if (n == 0)
		return sw__srv_finish_body(c);
	if (n < 0) {
		if (r->version != 3)
			return sw__srv_fatal(c, (int)n); /* v2: Breezy lets it escape */
		const char *text = sw_strerror((int)n);
		sw_slice args[3] = {{(const uint8_t *)"error", 5},
		                    {(const uint8_t *)"smartwire.StreamError", 21},
		                    {(const uint8_t *)text, strlen(text)}};
		int rv = sw_v3_encode_stream_error(&c->out, args, 3);
		if (rv < 0)
			return sw__srv_fatal(c, rv);
		r->rstate = RS_DONE;
		sw__srv_maybe_finish(c);
		return 0;
	}
	if ((size_t)n > cap)
		return sw__srv_fatal(c, SW_ERR_STATE);
	size_t mark = c->out.len;
	int rv = r->version == 3 ? sw_v3_put_bytes(&c->out, c->scratch, (size_t)n)
	                         : sw_chunked_encode_chunk(&c->out, c->scratch, (size_t)n);
	if (rv < 0) {
		c->out.len = mark;
		return sw__srv_fatal(c, rv);
	}
	return 0;
}

int sw__srv_pump(sw_srv_conn *c)
{
	for (;;) {
		sw_srv_req *r = &c->req;
		if (r->rstate != RS_BODY_KNOWN && r->rstate != RS_BODY_STREAM)
			return 0;
		if (pending(c) >= c->cfg.output_watermark)
			return 0;
		if (r->rstate == RS_BODY_KNOWN && sw__srv_span_ready(c))
			return 0; /* the driver sends the next bytes from a file */
		if (!c->d.read_body)
			return sw__srv_fatal(c, SW_ERR_STATE);
		int rv = r->rstate == RS_BODY_KNOWN ? pull_known(c) : pull_stream(c);
		if (rv < 0)
			return rv;
	}
}
