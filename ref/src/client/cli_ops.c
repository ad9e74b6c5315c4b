/*
 * The client core's operations: a call (Breezy's
 * _SmartClientRequest.call_and_read_response, with the version negotiation
 * of _call_determining_protocol_version and the retries of _send and
 * _call), the v1 hello (SmartClientMedium.protocol_version), and the body
 * reads of a response (read_body_bytes, read_streamed_body,
 * cancel_read_body).  Also the request output the driver writes, and what
 * the core knows about the server.
 */
#include <string.h>

#include "cli_impl.h"
#include "smartwire/error.h"
#include "smartwire/pytext.h"

static const char reading_completed[] =
    "The MediumRequest 'request' has already had finish_reading called upon it - the "
    "request has been completed and no more data may be read.";

/* ---- ending ------------------------------------------------------------------ */

void sw__cli_op_end(sw_cli_conn *c, int err)
{
	if (err < 0)
		sw__cli_record_code(c, err);
	else
		sw__cli_clear_error(c); /* a success leaves the record clear */
	if (c->op == OP_CALL && err == 0)
		c->call_ok = true; /* its args stay until another response begins */
	c->phase = PH_IDLE;
	c->result = err;
	c->call = NULL;
}

/* A failure while the request was being sent: nothing of the response will
 * be read, and a partly written request leaves the connection unusable. */
static void send_fail(sw_cli_conn *c, int err)
{
	sw__cli_resp_finish(c);
	if (c->connected)
		c->want_close = true;
	sw__cli_op_end(c, err);
}

/* An operation that cannot start: recorded, nothing to drive. */
static int start_fail(sw_cli_conn *c, int err, const char *text)
{
	if (text)
		sw__cli_record(c, err, text);
	sw__cli_op_end(c, err);
	return err;
}

/* Clears the record for a new operation of kind `op`. */
static void begin_op(sw_cli_conn *c, cli_op op)
{
	sw__cli_clear_error(c);
	c->op = op;
	c->result = 0;
}

/* ---- sending a call ------------------------------------------------------------- */

static int check_call(const sw_call *call)
{
	if (!call || (!call->verb.p && call->verb.n) || (!call->args && call->nargs))
		return SW_ERR_INVALID_ARGUMENT;
	switch (call->body_kind) {
	case SW_CALL_BODY_NONE: return 0;
	case SW_CALL_BODY_BYTES: return !call->body.p && call->body.n ? SW_ERR_INVALID_ARGUMENT : 0;
	case SW_CALL_BODY_READV:
		return !call->ranges && call->nranges ? SW_ERR_INVALID_ARGUMENT : 0;
	case SW_CALL_BODY_STREAM: return call->stream ? 0 : SW_ERR_INVALID_ARGUMENT;
	}
	return SW_ERR_INVALID_ARGUMENT;
}

/* Breezy _send_no_retry: a new request in c->attempt's version, its
 * response handler ready; `write_retry` is whether a reset while writing
 * may be answered by sending once more (Breezy _send). */
static int send(sw_cli_conn *c, bool write_retry)
{
	const sw_call *call = c->call;
	c->write_retry_ok = write_retry && !c->cfg.no_retry;
	c->stream_started = false;
	c->stats.requests++;
	c->call_ok = false;
	int rc = sw__cli_resp_begin(c, c->attempt, call->verb, call->expect_body);
	if (rc == 0)
		rc = sw__cli_encode_call(c, call, c->attempt);
	if (rc < 0) {
		sw__cli_resp_finish(c);
		sw__cli_op_end(c, rc);
		return rc;
	}
	c->phase = PH_SEND;
	return 0;
}

/* Breezy _SmartClientRequest._call(version): one version tried, with at
 * most one resend after a reset while reading. */
static int begin_attempt(sw_cli_conn *c)
{
	c->read_retry_ok = true;
	return send(c, true);
}

int sw_cli_conn_call(sw_cli_conn *c, const sw_call *call)
{
	if (c->phase != PH_IDLE)
		return SW_ERR_STATE;
	begin_op(c, OP_CALL);
	int rc = check_call(call);
	if (rc < 0)
		return start_fail(c, rc, NULL);
	if (c->resp.open)
		return start_fail(
		    c, SW_ERR_TOO_MANY_REQUESTS,
		    "The medium 'client' has reached its concurrent request limit. Be "
		    "sure to finish_writing and finish_reading on the currently open "
		    "request.");
	c->call = call;
	c->negotiating = c->version == 0;
	c->attempt = c->negotiating ? 3 : c->version;
	sw_buf_reset(&c->last_text);
	return begin_attempt(c);
}

/* Everything queued was written and nothing more is to come: Breezy's
 * finished_writing, or the end of an aborted body stream. */
static void sent(sw_cli_conn *c)
{
	sw_buf_reset(&c->out);
	c->out_off = 0;
	if (c->stream == ST_ABORT) {
		sw__cli_record(c, SW_ERR_CALLBACK, "the request body stream failed");
		send_fail(c, SW_ERR_CALLBACK);
		return;
	}
	c->phase = PH_READ;
}

int sw_cli_conn_output(sw_cli_conn *c, const uint8_t **p, size_t *n)
{
	*p = NULL;
	*n = 0;
	if (c->phase != PH_SEND || !c->connected || c->want_close)
		return SW_ERR_STATE;
	if (c->out_off == c->out.len && c->stream == ST_PULL) {
		/* The head (or the last chunk) is out: pull the next chunk.  From
		 * here on the stream cannot be replayed, so no resend. */
		c->stream_started = true;
		int rc = sw__cli_encode_stream_next(c, c->call);
		if (rc < 0) {
			send_fail(c, rc);
			return 0;
		}
	}
	*p = c->out.data + c->out_off;
	*n = c->out.len - c->out_off;
	if (*n == 0)
		sent(c);
	return 0;
}

void sw_cli_conn_output_done(sw_cli_conn *c, size_t n)
{
	if (c->phase != PH_SEND)
		return;
	size_t left = c->out.len - c->out_off;
	c->out_off += n < left ? n : left;
	if (c->out_off == c->out.len && c->stream != ST_PULL)
		sent(c);
}

void sw__cli_op_send_failed(sw_cli_conn *c, int err, const sw_errinfo *ei)
{
	int sys = ei ? ei->sys_errno : 0;
	if (!c->connected && ei && ei->text[0])
		sw__cli_record(c, err, ei->text); /* the driver's text for its connect */
	else if (c->connected && err == SW_ERR_CONNECTION_RESET)
		sw__cli_record_write_reset(c, err, sys);
	else
		sw__cli_record(c, err, sw_strerror(err));
	c->last_errno = sys;
	if (err == SW_ERR_CONNECTION_RESET && c->op == OP_CALL && c->write_retry_ok &&
	    !c->stream_started) {
		/* Breezy _send: reset the medium and send once more. */
		c->stats.retries++;
		if (c->connected)
			c->want_close = true;
		send(c, false);
		return;
	}
	send_fail(c, err);
}

/* ---- what ends a call ------------------------------------------------------------ */

static void call_read_ended(sw_cli_conn *c, int rc)
{
	if (rc == SW_ERR_CONNECTION_RESET && c->read_retry_ok &&
	    sw__cli_safe_to_send_twice(c, c->call)) {
		/* Breezy _call: reset, then resend once without write retry. */
		c->read_retry_ok = false;
		c->stats.retries++;
		if (c->connected)
			c->want_close = true;
		send(c, false);
		return;
	}
	if (c->negotiating && rc == SW_ERR_BAD_MARKER) {
		/* "Server does not understand Bazaar network protocol %d,
		 * reconnecting.": disconnect, and try the next version. */
		if (c->connected)
			c->want_close = true;
		sw_buf_reset(&c->last_text);
		if (c->msg.len && sw_buf_append(&c->last_text, c->msg.data, c->msg.len - 1) < 0)
			sw_buf_reset(&c->last_text);
		if (c->attempt == 3) {
			sw_cli_conn_remember_remote_is_before(c, 1, 6);
			c->attempt = 2;
			begin_attempt(c);
			return;
		}
		sw__cli_record(c, SW_ERR_NOT_A_SERVER,
		               "Generic bzr smart protocol error: Server is not a Bazaar server: ");
		if (c->msg.len) {
			c->msg.len--; /* append to the text, before its NUL */
			if (sw_buf_append(&c->msg, c->last_text.data, c->last_text.len) ||
			    sw_buf_append_byte(&c->msg, 0))
				sw_buf_reset(&c->msg);
		}
		sw__cli_op_end(c, SW_ERR_NOT_A_SERVER);
		return;
	}
	/* A response, or an error the server answered in this version, pins
	 * the version (test_first_response_is_error). */
	if (c->negotiating && (rc == 0 || rc == SW_ERR_ERROR_RESPONSE))
		c->version = c->attempt;
	sw__cli_op_end(c, rc);
}

static void hello_read_ended(sw_cli_conn *c, int rc)
{
	if (rc == 0) {
		const cli_resp *r = &c->resp;
		const sw_slice *a = r->args;
		size_t n = r->nargs;
		if (n == 2 && a[0].n == 2 && !memcmp(a[0].p, "ok", 2) && a[1].n == 1 &&
		    (a[1].p[0] == '1' || a[1].p[0] == '2')) {
			c->done_hello = true;
			c->hello_version = a[1].p[0] - '0';
		} else {
			/* Breezy caches this SmartProtocolError as
			 * _protocol_version_error: raised again by every later query. */
			rc = SW_ERR_PROTOCOL;
			sw__cli_record(c, rc, "");
			sw_buf_reset(&c->msg);
			if (sw_buf_append_str(&c->msg,
			                      "Generic bzr smart protocol error: bad response ") ||
			    sw_py_repr_tuple(&c->msg, a, n) || sw_buf_append_byte(&c->msg, 0))
				sw_buf_reset(&c->msg);
			c->hello_err = rc;
			sw_buf_reset(&c->hello_msg);
			if (sw_buf_append(&c->hello_msg, c->msg.data, c->msg.len) < 0)
				sw_buf_reset(&c->hello_msg);
		}
	}
	sw__cli_op_end(c, rc);
}

void sw__cli_op_read_ended(sw_cli_conn *c)
{
	int rc = c->resp.rc;
	if (c->op == OP_CALL)
		call_read_ended(c, rc);
	else if (c->op == OP_HELLO)
		hello_read_ended(c, rc);
	else
		sw__cli_op_end(c, rc);
}

/* ---- hello ------------------------------------------------------------------------ */

int sw_cli_conn_hello(sw_cli_conn *c)
{
	if (c->phase != PH_IDLE)
		return SW_ERR_STATE;
	begin_op(c, OP_HELLO);
	if (c->hello_err)
		return start_fail(c, c->hello_err,
		                  c->hello_msg.len ? (const char *)c->hello_msg.data : "");
	if (c->done_hello) {
		sw__cli_op_end(c, 0);
		return 0;
	}
	if (c->resp.open)
		return start_fail(
		    c, SW_ERR_TOO_MANY_REQUESTS,
		    "The medium 'client' has reached its concurrent request limit. Be "
		    "sure to finish_writing and finish_reading on the currently open "
		    "request.");
	/* On the current connection, in v1, without negotiation or retry. */
	c->negotiating = false;
	c->attempt = 1;
	c->write_retry_ok = c->read_retry_ok = c->stream_started = false;
	c->stream = ST_NONE;
	c->stats.requests++;
	static const sw_slice verb = {(const uint8_t *)"hello", 5};
	sw_buf_reset(&c->out);
	c->out_off = 0;
	c->call_ok = false;
	int rc = sw__cli_resp_begin(c, 1, verb, false);
	if (rc == 0)
		rc = sw_buf_append_str(&c->out, "hello\n");
	if (rc < 0) {
		sw__cli_resp_finish(c);
		return start_fail(c, rc, NULL);
	}
	c->phase = PH_SEND;
	return 0;
}

/* ---- reading a body ------------------------------------------------------------------ */

/* Whether the response's body can be read now: 1 (yes), 0 (already read:
 * nothing to do) or an error that was recorded. */
static int body_due(sw_cli_conn *c)
{
	cli_resp *r = &c->resp;
	if (r->body_read) {
		sw__cli_op_end(c, 0);
		return 0;
	}
	if (r->lost) {
		r->lost = false;
		sw__cli_resp_finish(c);
		return start_fail(c, SW_ERR_CLOSED, NULL);
	}
	if (!r->open)
		return start_fail(c, SW_ERR_READING_COMPLETED, reading_completed);
	return 1;
}

static int start_read(sw_cli_conn *c, cli_read read)
{
	c->phase = PH_READ;
	int rc = sw__cli_resp_start_body(c, read);
	if (rc < 0)
		sw__cli_op_end(c, rc);
	return rc;
}

int sw_cli_conn_read_body(sw_cli_conn *c, sw_buf *out)
{
	if (c->phase != PH_IDLE)
		return SW_ERR_STATE;
	begin_op(c, OP_BODY);
	int due = body_due(c);
	if (due <= 0)
		return due;
	c->resp.sink_buf = out;
	return start_read(c, RD_BODY);
}

int sw_cli_conn_read_streamed_body(sw_cli_conn *c, const sw_body_callbacks *cb, void *ud)
{
	if (c->phase != PH_IDLE)
		return SW_ERR_STATE;
	begin_op(c, OP_STREAM);
	if (c->resp.version == 1)
		return start_fail(c, SW_ERR_STATE, NULL);
	int due = body_due(c);
	if (due <= 0)
		return due;
	c->resp.sink_cb = cb;
	c->resp.sink_ud = ud;
	return start_read(c, RD_STREAM);
}

int sw_cli_conn_cancel_read_body(sw_cli_conn *c)
{
	if (c->phase != PH_IDLE)
		return SW_ERR_STATE;
	begin_op(c, OP_CANCEL);
	cli_resp *r = &c->resp;
	if (r->lost && r->version == 3) {
		/* v3 reads the rest of the message, from a connection now gone. */
		r->lost = false;
		sw__cli_resp_finish(c);
		return start_fail(c, SW_ERR_CLOSED, NULL);
	}
	if (!r->open || r->version < 3) {
		/* v1/v2: Breezy only marks the request finished, leaving any body
		 * bytes unread on the connection. */
		sw__cli_resp_finish(c);
		r->lost = false;
		sw__cli_op_end(c, 0);
		return 0;
	}
	return start_read(c, RD_CANCEL);
}

/* ---- what the core knows about the server ------------------------------------------- */

void sw_cli_conn_remember_remote_is_before(sw_cli_conn *c, int major, int minor)
{
	if (c->before_set &&
	    (major > c->before_major || (major == c->before_major && minor > c->before_minor)))
		return;
	c->before_set = true;
	c->before_major = major;
	c->before_minor = minor;
}

bool sw_cli_conn_is_remote_before(const sw_cli_conn *c, int major, int minor)
{
	if (!c->before_set)
		return false;
	return major > c->before_major || (major == c->before_major && minor >= c->before_minor);
}
