/*
 * v1/v2 requests on the server (protocol.py SmartServerRequestProtocolOne
 * and Two): the tuple line is dispatched as soon as it is complete; a
 * handler that wants a body gets the length-prefixed body piecewise and is
 * ended after "done\n".  An answered request ends with its line, so bytes
 * after it are the next request, as in Breezy ("hello\n3\nxyzdone\n" is
 * three requests).  See smartwire/server.h for the error table.
 */
#include <string.h>

#include "server_impl.h"
#include "smartwire/error.h"

static int on_args(void *ud, const sw_slice *args, size_t n)
{
	sw_srv_conn *c = ud;
	int rv = sw__srv_begin(c, args, n);
	if (rv == SW_SRV_WANT_BODY)
		rv = sw_v12_dec_expect_body(c->v12[c->req.version - 1], SW_BODY_PREFIXED);
	else if (rv == SW_ERR_UNKNOWN_METHOD)
		rv = sw__srv_answer_unknown(c, &args[0]);
	if (rv < 0) {
		c->cb_error = rv;
		return 1;
	}
	return 0;
}

static int on_body(void *ud, const uint8_t *p, size_t n)
{
	sw_srv_conn *c = ud;
	int rv = sw__srv_body(c, p, n);
	if (rv < 0) {
		c->cb_error = rv;
		return 1;
	}
	return 0;
}

static int on_end(void *ud)
{
	sw_srv_conn *c = ud;
	int rv = sw__srv_end(c);
	if (rv < 0) {
		c->cb_error = rv;
		return 1;
	}
	c->req.decoded = true;
	return 0;
}

int sw__srv_v12_start(sw_srv_conn *c, int version)
{
	sw_v12_dec **slot = &c->v12[version - 1];
	if (*slot) {
		sw_v12_dec_reset(*slot);
	} else {
		sw_v12_config cfg;
		memset(&cfg, 0, sizeof cfg);
		cfg.max_line = c->cfg.max_line;
		cfg.max_args = c->cfg.max_args;
		cfg.prefixed.max_body = c->cfg.max_body;
		sw_v12_callbacks cb;
		memset(&cb, 0, sizeof cb);
		cb.on_args = on_args;
		cb.on_body = on_body;
		cb.on_end = on_end;
		int rv = sw_v12_dec_new(slot, SW_V12_REQUEST, version, &cfg, &cb, c, c->mem);
		if (rv < 0)
			return rv;
	}
	c->req.version = version;
	c->state = CS_V12;
	return 0;
}

ptrdiff_t sw__srv_v12_feed(sw_srv_conn *c, const uint8_t *in, size_t len)
{
	c->cb_error = 0;
	ptrdiff_t r = sw_v12_dec_feed(c->v12[c->req.version - 1], in, len);
	if (r >= 0)
		return r;
	if (r == SW_ERR_CALLBACK) /* a handler or the answer failed */
		return sw__srv_fatal(c, c->cb_error ? c->cb_error : (int)r);
	if (r == SW_ERR_NOMEM)
		return sw__srv_fatal(c, (int)r);
	/* Framing errors: line or tuple over the limits, a bad body length or
	 * trailer, a body over the limit.  Breezy closes without an answer, or
	 * drops the request silently (bad trailer); we answer once and close,
	 * the handler aborted first so nothing is applied. */
	sw__srv_abort_handler(c);
	const char *text = sw_strerror((int)r);
	int rv = sw__srv_answer_generic(c, text, strlen(text));
	if (rv < 0)
		return sw__srv_fatal(c, rv);
	return sw__srv_close_after(c, (int)r);
}
