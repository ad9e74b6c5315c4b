/*
 * Client response handlers: Breezy's message.ConventionalResponseHandler for
 * v3, and SmartClientRequestProtocolOne/Two's reading half for v1/v2.
 *
 * v3 bytes are fed to the framing decoder at most next_read_size() at a time,
 * which is exact, so reading the args of a response that has a body stops
 * right after the args structure: the body is then delivered to whichever
 * sink the caller picks (a buffer, callbacks, or nothing for cancel), and
 * never held whole.  v1/v2 responses are read line by line as Breezy does
 * (read_line for the marker, status and tuple), then the body through the
 * length-prefixed or chunked body decoder.
 */
#include <string.h>

#include "client_impl.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"
#include "smartwire/pytext.h"
#include "smartwire/tuple.h"

static bool slice_eq(sw_slice s, const char *z)
{
	size_t n = strlen(z);
	return s.n == n && (n == 0 || memcmp(s.p, z, n) == 0);
}

/* ---- finishing ------------------------------------------------------- */

void sw__resp_finish(sw_response *r)
{
	if (r->finished)
		return;
	r->finished = true;
	if (r->req->state == SW_CLIENT_REQUEST_READING)
		sw_client_request_finish_reading(r->req);
	else
		r->req->state = SW_CLIENT_REQUEST_DONE;
	if (r->c->current == r->req)
		r->c->current = NULL;
}

/* Ends the response with an error; resets the connection when the stream
 * position is unknown. */
int sw__resp_fail(sw_response *r, int err)
{
	sw_client *c = r->c;
	sw__client_fail_code(c, err);
	sw__resp_finish(r);
	if (sw__err_desyncs(err) && c->state == SW_CLIENT_RUNNING)
		sw_client_disconnect(c);
	return err;
}

int sw__resp_fail_text(sw_response *r, int err, const char *text)
{
	sw__client_fail(r->c, err, text);
	return sw__resp_fail(r, err);
}

/* Records "<prefix><repr(p)>" as the text of err. */
static void set_repr_text(sw_client *c, int err, const char *prefix, const uint8_t *p, size_t n)
{
	c->last_err = err;
	sw_buf_reset(&c->msg);
	if (sw_buf_append_str(&c->msg, prefix) || sw_py_repr_bytes(&c->msg, p, n) ||
	    sw_buf_append_byte(&c->msg, 0))
		sw_buf_reset(&c->msg);
}

int sw__resp_fail_repr(sw_response *r, int err, const char *prefix, const uint8_t *p, size_t n)
{
	set_repr_text(r->c, err, prefix, p, n);
	return sw__resp_fail(r, err);
}

/* Breezy _raise_smart_server_error / ErrorFromSmartServer for an error
 * tuple: UnknownMethod or a generic error response.  Keeps the connection. */
int sw__resp_server_error(sw_response *r, const sw_slice *a, size_t n, bool translate_unknown)
{
	sw_client *c = r->c;
	int err = SW_ERR_ERROR_RESPONSE;
	if (translate_unknown && n >= 1 && slice_eq(a[0], "UnknownMethod"))
		err = SW_ERR_UNKNOWN_METHOD;
	c->last_err = err;
	sw_buf_reset(&c->msg);
	int rc;
	if (err == SW_ERR_UNKNOWN_METHOD) {
		rc = sw_buf_append_str(&c->msg, "The server does not recognise the '");
		if (!rc && n >= 2)
			rc = sw_py_repr_bytes(&c->msg, a[1].p, a[1].n);
		if (!rc)
			rc = sw_buf_append_str(&c->msg, "' request.");
	} else {
		rc = sw_buf_append_str(&c->msg, "Error received from smart server: ");
		if (!rc)
			rc = sw_py_repr_tuple(&c->msg, a, n);
	}
	if (rc || sw_buf_append_byte(&c->msg, 0))
		sw_buf_reset(&c->msg);
	sw__resp_finish(r);
	if (sw__client_set_error_args(c, a, n) < 0)
		return sw__resp_fail(r, SW_ERR_NOMEM);
	return err;
}

/* ---- v3: the conventional response handler ---------------------------- */

int sw__resp_handler_error(sw_response *r, int err, const char *text)
{
	r->handler_err = err;
	if (text)
		sw__client_fail(r->c, err, text);
	return 1;
}

/* Copies a structure that must be a list of byte strings. */
static int copy_strlist(sw_response *r, const sw_bval *v, sw_slice **out, size_t *n)
{
	if (v->type != SW_BLIST)
		return sw__resp_handler_error(r, SW_ERR_PROTOCOL,
		                     "Generic bzr smart protocol error: Args structure is not a "
		                     "sequence");
	if (v->u.list.n > r->c->cfg.max_args)
		return sw__resp_handler_error(r, SW_ERR_TOO_MANY_ARGS, NULL);
	size_t k = v->u.list.n;
	sw_slice tmp[16];
	sw_slice *s = k <= 16 ? tmp : sw_malloc(r->c->mem, k * sizeof *s);
	if (!s)
		return sw__resp_handler_error(r, SW_ERR_NOMEM, NULL);
	int rc = 0;
	for (size_t i = 0; i < k && !rc; i++) {
		if (v->u.list.items[i].type != SW_BSTR)
			rc = sw__resp_handler_error(r, SW_ERR_PROTOCOL,
			                   "Generic bzr smart protocol error: response args are not "
			                   "all byte strings");
		else
			s[i] = v->u.list.items[i].u.str;
	}
	if (!rc && sw__tuple_copy(r->c->mem, s, k, out) < 0)
		rc = sw__resp_handler_error(r, SW_ERR_NOMEM, NULL);
	if (!rc)
		*n = k;
	if (s != tmp)
		sw_free(r->c->mem, s);
	return rc;
}

static int on_byte(void *ud, uint8_t b)
{
	sw_response *r = ((sw_client *)ud)->dec_resp;
	if (b != 'S' && b != 'E') {
		uint8_t one = b;
		set_repr_text(r->c, SW_ERR_BAD_STATUS_BYTE,
		              "Generic bzr smart protocol error: Unknown response status: ", &one, 1);
		return sw__resp_handler_error(r, SW_ERR_BAD_STATUS_BYTE, NULL);
	}
	uint8_t *slot = r->body_started ? &r->stream_status : &r->status;
	if (*slot)
		return sw__resp_handler_error(r, SW_ERR_UNEXPECTED_PART,
		                     "Generic bzr smart protocol error: Unexpected byte part "
		                     "received");
	*slot = b;
	return 0;
}

static int on_structure(void *ud, const sw_bval *v)
{
	sw_response *r = ((sw_client *)ud)->dec_resp;
	if (!r->body_started) {
		if (r->have_args)
			return sw__resp_handler_error(r, SW_ERR_UNEXPECTED_PART,
			                     "Generic bzr smart protocol error: Unexpected structure "
			                     "received");
		if (copy_strlist(r, v, &r->args, &r->nargs))
			return 1;
		r->have_args = true;
		return 0;
	}
	if (r->stream_status != 'E' || r->have_error_args)
		return sw__resp_handler_error(r, SW_ERR_UNEXPECTED_PART,
		                     "Generic bzr smart protocol error: Unexpected structure "
		                     "received after body");
	sw_slice *ea = NULL;
	size_t n = 0;
	if (copy_strlist(r, v, &ea, &n))
		return 1;
	int rc = sw__client_set_error_args(r->c, ea, n);
	sw_free(r->c->mem, ea);
	if (rc < 0)
		return sw__resp_handler_error(r, SW_ERR_NOMEM, NULL);
	r->have_error_args = true;
	return 0;
}

static int on_bytes_begin(void *ud, uint32_t total)
{
	sw_response *r = ((sw_client *)ud)->dec_resp;
	(void)total;
	/* A body before the args can only end in Breezy's TypeError (args None)
	 * or its "Unexpected structure received after body"; refuse it now. */
	if (!r->have_args)
		return sw__resp_handler_error(r, SW_ERR_UNEXPECTED_PART,
		                     "Generic bzr smart protocol error: body received before the "
		                     "response args");
	r->body_started = true;
	return 0;
}

int sw__resp_sink_data(sw_response *r, const uint8_t *p, size_t n)
{
	if (r->sink == SINK_BUF) {
		if (sw_buf_append(r->sink_buf, p, n) < 0)
			return sw__resp_handler_error(r, SW_ERR_NOMEM, NULL);
	} else if (r->sink == SINK_CB && r->sink_cb->on_data) {
		if (r->sink_cb->on_data(r->sink_ud, p, n))
			return sw__resp_handler_error(r, SW_ERR_CALLBACK, NULL);
	}
	return 0;
}

int sw__resp_sink_part_end(sw_response *r)
{
	if (r->sink == SINK_CB && r->sink_cb->on_part_end && r->sink_cb->on_part_end(r->sink_ud))
		return sw__resp_handler_error(r, SW_ERR_CALLBACK, NULL);
	return 0;
}

static int on_bytes(void *ud, const uint8_t *p, size_t n)
{
	return sw__resp_sink_data(((sw_client *)ud)->dec_resp, p, n);
}

static int on_bytes_end(void *ud)
{
	return sw__resp_sink_part_end(((sw_client *)ud)->dec_resp);
}

enum { UNTIL_ARGS, UNTIL_END };

static int v3_read(sw_response *r, int until)
{
	sw_client *c = r->c;
	for (;;) {
		if (until == UNTIL_ARGS && r->have_args)
			return 0;
		if (sw_v3_dec_done(c->v3)) {
			sw__resp_finish(r);
			return 0;
		}
		if (r->finished)
			return 0;
		size_t need = sw_v3_dec_next_read_size(c->v3);
		ptrdiff_t k = sw__client_fill(c);
		if (k == 0)
			return sw__resp_fail_text(r, SW_ERR_CONNECTION_RESET, sw__client_eof_text());
		if (k < 0)
			return sw__resp_fail(r, (int)k);
		size_t n = need < c->in_len ? need : c->in_len;
		const uint8_t *p = c->in + c->in_off;
		r->handler_err = 0;
		ptrdiff_t f = sw_v3_dec_feed(c->v3, p, n);
		if (f == SW_ERR_BAD_MARKER) {
			uint8_t m[sizeof r->head];
			size_t mn = r->headn;
			memcpy(m, r->head, mn);
			size_t more = c->in_len < sizeof m - mn ? c->in_len : sizeof m - mn;
			memcpy(m + mn, p, more);
			return sw__resp_fail_repr(r, SW_ERR_BAD_MARKER, "Received bad protocol version marker: ",
			                 m, mn + more);
		}
		if (f < 0) {
			int err = (f == SW_ERR_CALLBACK && r->handler_err) ? r->handler_err : (int)f;
			return sw__resp_fail(r, err);
		}
		size_t keep = sizeof r->head - r->headn;
		if (keep > (size_t)f)
			keep = (size_t)f;
		memcpy(r->head + r->headn, p, keep);
		r->headn += keep;
		sw__client_consume(c, (size_t)f);
	}
}

static int v3_read_tuple(sw_response *r)
{
	int rc = v3_read(r, UNTIL_ARGS);
	if (rc < 0)
		return rc;
	if (!r->have_args)
		return sw__resp_fail_text(r, SW_ERR_PREMATURE_END,
		                 "Generic bzr smart protocol error: End of message received "
		                 "prematurely (no response args)");
	if (!r->expect_body || r->status == 'E') {
		rc = v3_read(r, UNTIL_END);
		if (rc < 0)
			return rc;
	}
	if (r->status == 'E') {
		r->success = false;
		return sw__resp_server_error(r, r->args, r->nargs, true);
	}
	return 0;
}

/* ---- public ----------------------------------------------------------- */

int sw__response_new(sw_client *c, sw_client_request *req, int version, const sw_slice *verb,
                     bool expect_body, sw_response **out)
{
	sw_response *r = sw_malloc(c->mem, sizeof *r);
	if (!r)
		return SW_ERR_NOMEM;
	memset(r, 0, sizeof *r);
	r->c = c;
	r->req = req;
	r->version = version;
	r->expect_body = expect_body;
	r->success = true;
	if (version < 3 && verb) {
		sw_slice *v = NULL;
		if (sw__tuple_copy(c->mem, verb, 1, &v) < 0) {
			sw_free(c->mem, r);
			return SW_ERR_NOMEM;
		}
		r->verb_store = (uint8_t *)v;
		r->verb = v[0];
	}
	if (version == 3) {
		if (!c->v3) {
			sw_v3_config cfg;
			memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
			cfg.expect_marker = true;
			if (c->cfg.max_struct)
				cfg.max_struct = c->cfg.max_struct;
			if (c->cfg.max_part)
				cfg.max_part = c->cfg.max_part;
			sw_v3_callbacks cb = {0};
			cb.on_byte = on_byte;
			cb.on_structure = on_structure;
			cb.on_bytes_begin = on_bytes_begin;
			cb.on_bytes = on_bytes;
			cb.on_bytes_end = on_bytes_end;
			if (sw_v3_dec_new(&c->v3, &cfg, &cb, c, c->mem) < 0) {
				sw_free(c->mem, r->verb_store);
				sw_free(c->mem, r);
				return SW_ERR_NOMEM;
			}
		} else {
			sw_v3_dec_reset(c->v3);
		}
	}
	c->dec_resp = r;
	*out = r;
	return 0;
}

int sw__response_read_tuple(sw_response *r)
{
	r->sink = SINK_DISCARD;
	r->c->dec_resp = r;
	return r->version == 3 ? v3_read_tuple(r) : sw__v12_read_tuple(r);
}

const sw_slice *sw_response_args(const sw_response *r, size_t *n)
{
	if (n)
		*n = r->nargs;
	return r->args;
}

int sw_response_version(const sw_response *r)
{
	return r->version;
}

bool sw_response_success(const sw_response *r)
{
	return r->success;
}

bool sw_response_finished(const sw_response *r)
{
	return r->finished;
}

int sw_response_read_body(sw_response *r, sw_buf *out)
{
	sw__client_clear_error(r->c);
	if (r->body_read)
		return 0;
	if (r->finished)
		return sw__request_check_read(r->req);
	r->sink = SINK_BUF;
	r->sink_buf = out;
	r->c->dec_resp = r;
	int rc;
	if (r->version == 3) {
		rc = v3_read(r, UNTIL_END);
		if (rc == 0)
			r->body_read = true;
	} else {
		rc = sw__request_check_read(r->req);
		if (rc == 0)
			rc = sw__v12_read_body(r, false);
	}
	r->sink = SINK_DISCARD;
	return rc;
}

int sw_response_read_streamed_body(sw_response *r, const sw_body_callbacks *cb, void *ud)
{
	static const sw_body_callbacks none = {0};
	sw__client_clear_error(r->c);
	if (r->version == 1)
		return sw__client_fail_code(r->c, SW_ERR_STATE);
	if (r->body_read)
		return 0;
	if (r->finished)
		return sw__request_check_read(r->req);
	r->sink = SINK_CB;
	r->sink_cb = cb ? cb : &none;
	r->sink_ud = ud;
	r->c->dec_resp = r;
	int rc;
	if (r->version == 3) {
		rc = v3_read(r, UNTIL_END);
		if (rc == 0) {
			r->body_read = true;
			if (r->stream_status == 'E') {
				size_t n;
				const sw_slice *a = sw_client_error_args(r->c, &n);
				sw_slice *copy = NULL;
				if (sw__tuple_copy(r->c->mem, a, n, &copy) < 0) {
					rc = sw__resp_fail(r, SW_ERR_NOMEM);
				} else {
					rc = sw__resp_server_error(r, copy, n, true);
					sw_free(r->c->mem, copy);
				}
			}
		}
	} else {
		rc = sw__request_check_read(r->req);
		if (rc == 0)
			rc = sw__v12_read_body(r, true);
	}
	r->sink = SINK_DISCARD;
	return rc;
}

int sw_response_cancel_read_body(sw_response *r)
{
	sw__client_clear_error(r->c);
	if (r->finished)
		return 0;
	if (r->version == 3) {
		r->sink = SINK_DISCARD;
		r->c->dec_resp = r;
		return v3_read(r, UNTIL_END);
	}
	sw__resp_finish(r);
	return 0;
}

void sw_response_del(sw_response *r)
{
	if (!r)
		return;
	sw_client *c = r->c;
	if (c->dec_resp == r)
		c->dec_resp = NULL;
	sw_client_request_del(r->req);
	sw_free(c->mem, r->args);
	sw_free(c->mem, r->verb_store);
	sw_free(c->mem, r);
}
