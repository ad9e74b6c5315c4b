/*
 * Protocol version negotiation (Breezy _SmartClientRequest.
 * _call_determining_protocol_version) and the v1 "hello" version query
 * (SmartClientMedium.protocol_version).
 */
#include <string.h>

#include "client_impl.h"
#include "smartwire/error.h"
#include "smartwire/pytext.h"

static int check_call(const sw_call *call)
{
	if (!call || (!call->verb.p && call->verb.n) || (!call->args && call->nargs))
		return SW_ERR_INVALID_ARGUMENT;
	switch (call->body_kind) {
	case SW_CALL_BODY_NONE:
		return 0;
	case SW_CALL_BODY_BYTES:
		return !call->body.p && call->body.n ? SW_ERR_INVALID_ARGUMENT : 0;
	case SW_CALL_BODY_READV:
		return !call->ranges && call->nranges ? SW_ERR_INVALID_ARGUMENT : 0;
	case SW_CALL_BODY_STREAM:
		return call->stream ? 0 : SW_ERR_INVALID_ARGUMENT;
	}
	return SW_ERR_INVALID_ARGUMENT;
}

/* Tries v3, then v2 on a bad marker; pins the version that gave a response
 * or an error response. */
static int call_determining_version(sw_client *c, const sw_call *call, sw_response **out)
{
	static const int versions[] = {3, 2};
	sw_buf last;
	sw_buf_init(&last, c->mem);
	for (size_t i = 0; i < 2; i++) {
		int v = versions[i];
		if (v == 2)
			sw_client_remember_remote_is_before(c, 1, 6);
		int rc = sw__call_version(c, call, v, out);
		if (rc == SW_ERR_BAD_MARKER) {
			/* "Server does not understand Bazaar network protocol %d,
			 * reconnecting." */
			sw_client_disconnect(c);
			sw_buf_reset(&last);
			if (sw_buf_append_str(&last, sw_client_error_message(c)) < 0)
				sw_buf_reset(&last);
			continue;
		}
		if (rc == 0 || rc == SW_ERR_ERROR_RESPONSE)
			c->version = v;
		sw_buf_fini(&last);
		return rc;
	}
	c->last_err = SW_ERR_NOT_A_SERVER;
	sw_buf_reset(&c->msg);
	if (sw_buf_append_str(&c->msg, "Generic bzr smart protocol error: Server is not a "
	                               "Bazaar server: ") ||
	    sw_buf_append(&c->msg, last.data, last.len) || sw_buf_append_byte(&c->msg, 0))
		sw_buf_reset(&c->msg);
	sw_buf_fini(&last);
	return SW_ERR_NOT_A_SERVER;
}

int sw_client_call(sw_client *c, const sw_call *call, sw_response **out)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	sw__client_clear_error(c);
	int rc = check_call(call);
	if (rc < 0)
		return sw__client_fail_code(c, rc);
	if (c->state == SW_CLIENT_CONNECTING || c->state == SW_CLIENT_DISCONNECTING)
		return sw__client_fail_code(c, SW_ERR_STATE);
	if (c->version)
		return sw__call_version(c, call, c->version, out);
	return call_determining_version(c, call, out);
}

int sw_client_call_simple(sw_client *c, sw_slice verb, const sw_slice *args, size_t nargs,
                          sw_response **out)
{
	sw_call call;
	memset(&call, 0, sizeof call);
	call.verb = verb;
	call.args = args;
	call.nargs = nargs;
	call.expect_body = true;
	int rc = sw_client_call(c, &call, out);
	if (rc < 0)
		return rc;
	rc = sw_response_cancel_read_body(*out);
	if (rc < 0) {
		sw_response_del(*out);
		*out = NULL;
	}
	return rc;
}

/* Caches a SmartProtocolError of the version query. */
static int hello_cache_error(sw_client *c, int err)
{
	c->hello_err = err;
	sw_buf_reset(&c->hello_msg);
	if (sw_buf_append_str(&c->hello_msg, sw_client_error_message(c)) ||
	    sw_buf_append_byte(&c->hello_msg, 0))
		sw_buf_reset(&c->hello_msg);
	return err;
}

int sw_client_hello(sw_client *c, int *version)
{
	sw__client_clear_error(c);
	if (c->hello_err)
		return sw__client_fail(c, c->hello_err,
		                       c->hello_msg.len ? (const char *)c->hello_msg.data : "");
	if (c->done_hello) {
		if (version)
			*version = c->hello_version;
		return 0;
	}
	sw_client_request *req;
	int rc = sw_client_request_new(c, &req);
	if (rc < 0)
		return rc;
	static const uint8_t hello[] = "hello\n";
	rc = sw_client_request_write(req, hello, sizeof hello - 1);
	if (!rc)
		rc = sw_client_request_finish_writing(req);
	if (rc < 0) {
		sw_client_request_del(req);
		if (c->state == SW_CLIENT_RUNNING)
			sw_client_reset(c);
		return rc;
	}
	sw_slice verb = {(const uint8_t *)"hello", 5};
	sw_response *r;
	rc = sw__response_new(c, req, 1, &verb, false, &r);
	if (rc < 0) {
		sw_client_request_del(req);
		return sw__client_fail_code(c, rc);
	}
	rc = sw__response_read_tuple(r);
	if (rc == 0) {
		size_t n;
		const sw_slice *a = sw_response_args(r, &n);
		int v = 0;
		if (n == 2 && a[0].n == 2 && !memcmp(a[0].p, "ok", 2) && a[1].n == 1 &&
		    (a[1].p[0] == '1' || a[1].p[0] == '2'))
			v = a[1].p[0] - '0';
		if (v) {
			c->done_hello = true;
			c->hello_version = v;
			if (version)
				*version = v;
		} else {
			c->last_err = rc = SW_ERR_PROTOCOL;
			sw_buf_reset(&c->msg);
			if (sw_buf_append_str(&c->msg, "Generic bzr smart protocol error: bad response ") ||
			    sw_py_repr_tuple(&c->msg, a, n) || sw_buf_append_byte(&c->msg, 0))
				sw_buf_reset(&c->msg);
			hello_cache_error(c, rc);
		}
	}
	sw_response_del(r);
	return rc;
}
