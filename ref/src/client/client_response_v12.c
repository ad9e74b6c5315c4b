/*
 * Client response reading for protocols v1 and v2 (Breezy's
 * SmartClientRequestProtocolOne/Two): the marker, status and tuple lines read
 * with read_line as Breezy does, then a length-prefixed or chunked body.
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

/* Breezy's _raise_args_if_error list: a v1 response starting with one of
 * these is a failure. */
static const char *const v1_error_codes[] = {
	"norepository", "NoSuchFile", "FileExists", "DirectoryNotEmpty", "ShortReadvError",
	"UnicodeEncodeError", "UnicodeDecodeError", "ReadOnlyError", "nobranch",
	"NoSuchRevision", "nosuchrevision", "LockContention", "UnlockableTransport",
	"LockFailed", "TokenMismatch", "ReadError", "PermissionDenied",
};

/* ---- v1/v2 ------------------------------------------------------------ */

/* Breezy _response_is_unknown_method. */
static bool is_unknown_method(const sw_response *r, const sw_slice *a, size_t n)
{
	static const char pre[] = "Generic bzr smart protocol error: bad request ";
	size_t pl = sizeof pre - 1;
	if (n != 2 || !slice_eq(a[0], "error") || a[1].n < pl + 2 || memcmp(a[1].p, pre, pl))
		return false;
	const uint8_t *p = a[1].p + pl;
	size_t rest = a[1].n - pl;
	if (p[0] == 'u') {
		p++;
		rest--;
	}
	return rest == r->verb.n + 2 && p[0] == '\'' && p[rest - 1] == '\'' &&
	       (r->verb.n == 0 || memcmp(p + 1, r->verb.p, r->verb.n) == 0);
}

int sw__v12_read_tuple(sw_response *r)
{
	sw_client *c = r->c;
	sw_buf line, status;
	sw_buf_init(&line, c->mem);
	sw_buf_init(&status, c->mem);
	ptrdiff_t k;
	int rc = 0;
	if (r->version == 2) {
		k = sw_client_request_read_line(r->req, &line);
		if (k < 0) {
			rc = sw__resp_fail(r, (int)k);
			goto out;
		}
		if (line.len != SW_V2_RESPONSE_MARKER_LEN ||
		    memcmp(line.data, SW_V2_RESPONSE_MARKER, line.len)) {
			rc = sw__resp_fail_repr(r, SW_ERR_BAD_MARKER, "Received bad protocol version marker: ",
			               line.data, line.len);
			goto out;
		}
		k = sw_client_request_read_line(r->req, &status);
		if (k < 0) {
			rc = sw__resp_fail(r, (int)k);
			goto out;
		}
	}
	k = sw_client_request_read_line(r->req, &line);
	if (k < 0) {
		rc = sw__resp_fail(r, (int)k);
		goto out;
	}
	ptrdiff_t n = sw_tuple_decode(line.data, line.len, NULL, c->cfg.max_args);
	if (n < 0) {
		rc = sw__resp_fail(r, (int)n);
		goto out;
	}
	sw_slice *tmp = sw_malloc(c->mem, (size_t)n * sizeof *tmp);
	if (!tmp) {
		rc = sw__resp_fail(r, SW_ERR_NOMEM);
		goto out;
	}
	sw_tuple_decode(line.data, line.len, tmp, (size_t)n);
	rc = sw__tuple_copy(c->mem, tmp, (size_t)n, &r->args);
	sw_free(c->mem, tmp);
	if (rc < 0) {
		rc = sw__resp_fail(r, rc);
		goto out;
	}
	r->nargs = (size_t)n;
	if (is_unknown_method(r, r->args, r->nargs)) {
		rc = sw__resp_server_error(r, r->args, r->nargs, false);
		if (rc == SW_ERR_NOMEM) {
			/* The error tuple could not be kept: report the allocation
			 * failure, not an unknown method with an empty tuple. */
			c->last_err = rc;
			goto out;
		}
		c->last_err = rc = SW_ERR_UNKNOWN_METHOD;
		sw_buf_reset(&c->msg);
		if (sw_buf_append_str(&c->msg, "The server does not recognise the '") ||
		    sw_py_repr_bytes(&c->msg, r->verb.p, r->verb.n) ||
		    sw_buf_append_str(&c->msg, "' request.") || sw_buf_append_byte(&c->msg, 0))
			sw_buf_reset(&c->msg);
		goto out;
	}
	if (r->version == 2) {
		if (status.len == 8 && !memcmp(status.data, "success\n", 8)) {
			r->success = true;
		} else if (status.len == 7 && !memcmp(status.data, "failed\n", 7)) {
			r->success = false;
			rc = sw__resp_server_error(r, r->args, r->nargs, false);
			goto out;
		} else {
			rc = sw__resp_fail_repr(r, SW_ERR_BAD_STATUS,
			               "Generic bzr smart protocol error: bad protocol status ",
			               status.data, status.len);
			goto out;
		}
	} else {
		for (size_t i = 0; i < sizeof v1_error_codes / sizeof *v1_error_codes; i++) {
			if (slice_eq(r->args[0], v1_error_codes[i])) {
				r->success = false;
				rc = sw__resp_server_error(r, r->args, r->nargs, false);
				goto out;
			}
		}
		r->success = true;
	}
	if (!r->expect_body)
		sw__resp_finish(r);
out:
	sw_buf_fini(&line);
	sw_buf_fini(&status);
	return rc;
}

/* ---- v1/v2 bodies ------------------------------------------------------ */

static int pre_on_data(void *ud, const uint8_t *p, size_t n)
{
	return sw__resp_sink_data(((sw_client *)ud)->dec_resp, p, n);
}

static int chk_on_end(void *ud)
{
	return sw__resp_sink_part_end(((sw_client *)ud)->dec_resp);
}

static int chk_on_error(void *ud, const sw_slice *a, size_t n)
{
	sw_response *r = ((sw_client *)ud)->dec_resp;
	if (sw__client_set_error_args(r->c, a, n) < 0)
		return sw__resp_handler_error(r, SW_ERR_NOMEM, NULL);
	r->have_error_args = true;
	return 0;
}

/* Runs the length-prefixed (chunked = false) or chunked body decoder to its
 * end. */
int sw__v12_read_body(sw_response *r, bool chunked)
{
	sw_client *c = r->c;
	if (chunked && !c->chk) {
		sw_chunked_config cc = {0};
		cc.max_chunk = c->cfg.max_chunk;
		sw_chunked_callbacks cb = {0};
		cb.on_chunk = pre_on_data;
		cb.on_chunk_end = chk_on_end;
		cb.on_error_chunks = chk_on_error;
		if (sw_chunked_new(&c->chk, &cc, &cb, c, c->mem) < 0)
			return sw__resp_fail(r, SW_ERR_NOMEM);
	} else if (!chunked && !c->pre) {
		sw_prefixed_config pc = {0};
		pc.max_body = c->cfg.max_body;
		sw_prefixed_callbacks cb = {0};
		cb.on_data = pre_on_data;
		if (sw_prefixed_new(&c->pre, &pc, &cb, c, c->mem) < 0)
			return sw__resp_fail(r, SW_ERR_NOMEM);
	}
	if (chunked)
		sw_chunked_reset(c->chk);
	else
		sw_prefixed_reset(c->pre);
	c->dec_resp = r;
	for (;;) {
		if (chunked ? sw_chunked_done(c->chk) : sw_prefixed_done(c->pre))
			break;
		ptrdiff_t k = sw__client_fill(c);
		if (k == 0)
			return sw__resp_fail_text(r, SW_ERR_CONNECTION_RESET,
			                 chunked ? "Connection closed: Connection lost while reading "
			                           "streamed body. "
			                         : "Connection closed: Connection lost while reading "
			                           "response body. ");
		if (k < 0)
			return sw__resp_fail(r, (int)k);
		r->handler_err = 0;
		ptrdiff_t f = chunked ? sw_chunked_feed(c->chk, c->in + c->in_off, c->in_len)
		                      : sw_prefixed_feed(c->pre, c->in + c->in_off, c->in_len);
		if (f < 0)
			return sw__resp_fail(r, (f == SW_ERR_CALLBACK && r->handler_err) ? r->handler_err : (int)f);
		sw__client_consume(c, (size_t)f);
	}
	sw__resp_finish(r);
	r->body_read = true;
	if (r->have_error_args) {
		size_t n;
		const sw_slice *a = sw_client_error_args(c, &n);
		/* The tuple is already in the client; rebuild only the text. */
		c->last_err = SW_ERR_ERROR_RESPONSE;
		sw_buf_reset(&c->msg);
		if (sw_buf_append_str(&c->msg, "Error received from smart server: ") ||
		    sw_py_repr_tuple(&c->msg, a, n) || sw_buf_append_byte(&c->msg, 0))
			sw_buf_reset(&c->msg);
		return SW_ERR_ERROR_RESPONSE;
	}
	return 0;
}

