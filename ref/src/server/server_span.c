/*
 * Zero-copy bodies in the connection core (smartwire/server.h, "ZERO-COPY
 * BODIES"): the output spans of a known-length body and the input sinks
 * of v3 body parts.  The core hands descriptors between the handler and
 * the driver and keeps the count; it never touches them.
 */
#include <string.h>

#include "server_impl.h"
#include "smartwire/error.h"

/* Fed for body bytes that already went to a sink: the v3 decoder passes a
 * bytes part through without looking at it, and on_bytes drops it. */
static const uint8_t placeholder[65536];

void sw_srv_conn_set_zero_copy(sw_srv_conn *c, unsigned what)
{
	if (!c)
		return;
	c->zc = what & (SW_SRV_ZC_OUT | SW_SRV_ZC_IN);
	if (!(c->zc & SW_SRV_ZC_OUT))
		c->req.have_span = false; /* nothing of it was sent: it is pulled */
	if (!(c->zc & SW_SRV_ZC_IN))
		c->sink_open = false;
}

bool sw__srv_span_ready(sw_srv_conn *c)
{
	sw_srv_req *r = &c->req;
	if (!(c->zc & SW_SRV_ZC_OUT) || !c->d.body_span || r->span_no)
		return false;
	if (r->have_span)
		return true;
	if (r->body_left < c->cfg.zc_min) {
		r->span_no = true; /* copied, with the head or the rest */
		return false;
	}
	sw_srv_span s = {-1, 0, 0};
	int rv = c->d.body_span(r->ctx, r, r->body_left, &s);
	if (rv == 0) {
		r->span_no = true;
		return false;
	}
	if (rv < 0 || s.fd < 0 || s.len == 0 || s.len > r->body_left) {
		/* As a read_body failure: the length is on the wire already. */
		sw__srv_fatal(c, rv < 0 ? rv : SW_ERR_STATE);
		return true;
	}
	r->span = s;
	r->have_span = true;
	return true;
}

int sw_srv_conn_output_span(sw_srv_conn *c, sw_srv_span *span)
{
	if (!c || !span || c->out.len != c->out_off || !c->req.have_span ||
	    c->req.rstate != RS_BODY_KNOWN)
		return 0;
	*span = c->req.span;
	return 1;
}

void sw_srv_conn_output_span_done(sw_srv_conn *c, uint64_t n, int src_errno)
{
	if (!c || !c->req.have_span)
		return;
	sw_srv_req *r = &c->req;
	if (n > r->span.len)
		n = r->span.len;
	r->have_span = false;
	if (n) {
		if (c->d.body_span_done)
			c->d.body_span_done(r->ctx, r, n);
		r->body_left -= n;
	}
	if (src_errno) {
		sw__srv_fatal(c, SW_ERR_IO);
		return;
	}
	if (r->body_left == 0)
		sw__srv_finish_body(c);
	/* Otherwise the handler is asked for the next span by the next
	 * sw_srv_conn_output. */
}

int sw_srv_conn_input_span(sw_srv_conn *c, sw_srv_span *span)
{
	if (!c || !span || !(c->zc & SW_SRV_ZC_IN) || !c->d.body_sink || c->closing || c->error)
		return 0;
	if (c->sink_open) {
		*span = c->sink;
		return 1;
	}
	sw_srv_req *r = &c->req;
	if (c->state != CS_V3 || r->decoded || r->hstate != HS_BODY || r->expecting != EX_BODY ||
	    r->part_left < c->cfg.zc_min || r->part_left == 0 || r->sink_failed)
		return 0;
	int fd = -1;
	int rv = c->d.body_sink(r->ctx, r, r->part_left, &fd);
	if (rv < 0) {
		sw__srv_fatal(c, rv);
		return 0;
	}
	if (rv == 0 || fd < 0)
		return 0;
	c->sink = (sw_srv_span){fd, 0, r->part_left};
	c->sink_open = true;
	*span = c->sink;
	return 1;
}

int sw_srv_conn_input_span_done(sw_srv_conn *c, uint64_t n, int sink_errno)
{
	if (!c)
		return SW_ERR_INVALID_ARGUMENT;
	if (!c->sink_open)
		return SW_ERR_STATE;
	c->sink_open = false;
	if (n > c->sink.len)
		n = c->sink.len;
	sw_srv_req *r = &c->req;
	/* A sink that failed is not offered again in this request (a handler
	 * that kept offering it would make no progress): body() sees the rest. */
	if (sink_errno)
		r->sink_failed = true;
	if (c->d.body_sink_done && (n || sink_errno)) {
		/* As body(): it may answer early (the rest is then discarded). */
		r->in_handler = true;
		int rv = c->d.body_sink_done(r->ctx, r, n, sink_errno);
		r->in_handler = false;
		if (rv < 0)
			return sw__srv_fatal(c, rv);
		if (rv > 0)
			return sw__srv_fatal(c, SW_ERR_STATE);
		if (r->rstate != RS_NONE)
			r->hstate = HS_ANSWERED;
	}
	/* The decoder goes over the n body bytes as if they were fed, without
	 * them reaching body() (server_v3.c on_bytes). */
	c->skip_body = true;
	int rv = 0;
	while (n > 0 && rv == 0) {
		size_t k = n < sizeof placeholder ? (size_t)n : sizeof placeholder;
		ptrdiff_t f = sw_srv_conn_feed(c, placeholder, k);
		if (f < 0)
			rv = (int)f;
		else if ((size_t)f != k)
			rv = sw__srv_fatal(c, SW_ERR_STATE); /* the sink was longer than the part */
		n -= k;
	}
	c->skip_body = false;
	return rv;
}
