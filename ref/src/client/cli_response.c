/*
 * Response decoding for the client core: Breezy's
 * message.ConventionalResponseHandler over the v3 framing decoder, and the
 * reading half of SmartClientRequestProtocolOne/Two over the v1/v2 decoder.
 *
 * v3 bytes are fed to the framing decoder at most next_read_size() at a
 * time, which is exact, so reading the args of a response that has a body
 * stops right after the args structure; the body then goes to whichever
 * sink the caller picks next (a buffer, callbacks, nothing for cancel) and
 * is never held whole.  The v1/v2 decoder is told SW_BODY_DEFERRED and reads
 * the v2 marker and status as whole lines (smartwire/v12.h), so it stops
 * after the tuple line exactly where Breezy's read_response_tuple does, and
 * the body decoder is named afterwards, when the caller asks for the body.
 */
#include <string.h>

#include "cli_impl.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"

static bool slice_eq(sw_slice s, const char *z)
{
	size_t n = strlen(z);
	return s.n == n && (n == 0 || memcmp(s.p, z, n) == 0);
}

/* ---- ending a read -------------------------------------------------------- */

void sw__cli_resp_finish(sw_cli_conn *c)
{
	c->resp.open = false;
}

static void end_read(sw_cli_conn *c, int rc)
{
	c->resp.ended = true;
	c->resp.rc = rc;
}

/* Ends the read with an error: the response is over, and the connection is
 * to be closed when the stream position is unknown. */
void sw__cli_resp_fail(sw_cli_conn *c, int err)
{
	sw__cli_record_code(c, err);
	sw__cli_resp_finish(c);
	if (sw__cli_err_desyncs(err) && c->connected)
		c->want_close = true;
	end_read(c, err);
}

static void fail_text(sw_cli_conn *c, int err, const char *text)
{
	sw__cli_record(c, err, text);
	sw__cli_resp_fail(c, err);
}

/* A server error tuple: the response is over, the connection stays. */
static void server_error(sw_cli_conn *c, const sw_slice *a, size_t n, bool translate_unknown)
{
	c->resp.success = false;
	sw__cli_resp_finish(c);
	int rc = sw__cli_record_server_error(c, a, n, translate_unknown);
	if (rc == SW_ERR_NOMEM)
		sw__cli_resp_fail(c, rc);
	else
		end_read(c, rc);
}

/* A decoder callback found an error: kept until the feed returns
 * SW_ERR_CALLBACK.  With a text, the record gets it now. */
static int handler_error(sw_cli_conn *c, int err, const char *text)
{
	c->resp.handler_err = err;
	if (text)
		sw__cli_record(c, err, text);
	return 1;
}

static int fed_error(const sw_cli_conn *c, ptrdiff_t f)
{
	return (f == SW_ERR_CALLBACK && c->resp.handler_err) ? c->resp.handler_err : (int)f;
}

/* ---- body sinks ------------------------------------------------------------ */

static int sink_data(sw_cli_conn *c, const uint8_t *p, size_t n)
{
	cli_resp *r = &c->resp;
	if (r->read == RD_BODY) {
		if (sw_buf_append(r->sink_buf, p, n) < 0)
			return handler_error(c, SW_ERR_NOMEM, NULL);
	} else if (r->read == RD_STREAM && r->sink_cb && r->sink_cb->on_data) {
		if (r->sink_cb->on_data(r->sink_ud, p, n))
			return handler_error(c, SW_ERR_CALLBACK, NULL);
	}
	return 0;
}

static int sink_part_end(sw_cli_conn *c)
{
	cli_resp *r = &c->resp;
	if (r->read == RD_STREAM && r->sink_cb && r->sink_cb->on_part_end &&
	    r->sink_cb->on_part_end(r->sink_ud))
		return handler_error(c, SW_ERR_CALLBACK, NULL);
	return 0;
}

/* ---- v3: the conventional response handler ------------------------------ */

/* Copies a structure that must be a list of byte strings. */
static int copy_strlist(sw_cli_conn *c, const sw_bval *v, sw_slice **out, size_t *n)
{
	if (v->type != SW_BLIST)
		return handler_error(c, SW_ERR_PROTOCOL,
		                     "Generic bzr smart protocol error: Args structure is not a "
		                     "sequence");
	if (v->u.list.n > c->cfg.max_args)
		return handler_error(c, SW_ERR_TOO_MANY_ARGS, NULL);
	size_t k = v->u.list.n;
	sw_slice tmp[16];
	sw_slice *s = k <= 16 ? tmp : sw_malloc(c->mem, k * sizeof *s);
	if (!s)
		return handler_error(c, SW_ERR_NOMEM, NULL);
	int rc = 0;
	for (size_t i = 0; i < k && !rc; i++) {
		if (v->u.list.items[i].type != SW_BSTR)
			rc =
			    handler_error(c, SW_ERR_PROTOCOL,
			                  "Generic bzr smart protocol error: response args are not "
			                  "all byte strings");
		else
			s[i] = v->u.list.items[i].u.str;
	}
	if (!rc && sw__cli_tuple_copy(c->mem, s, k, out) < 0)
		rc = handler_error(c, SW_ERR_NOMEM, NULL);
	if (!rc)
		*n = k;
	if (s != tmp)
		sw_free(c->mem, s);
	return rc;
}

static int on_byte(void *ud, uint8_t b)
{
	sw_cli_conn *c = ud;
	cli_resp *r = &c->resp;
	if (b != 'S' && b != 'E') {
		sw__cli_record_repr(
		    c, SW_ERR_BAD_STATUS_BYTE,
		    "Generic bzr smart protocol error: Unknown response status: ", &b, 1);
		return handler_error(c, SW_ERR_BAD_STATUS_BYTE, NULL);
	}
	uint8_t *slot = r->body_started ? &r->stream_status : &r->status;
	if (*slot)
		return handler_error(c, SW_ERR_UNEXPECTED_PART,
		                     "Generic bzr smart protocol error: Unexpected byte part "
		                     "received");
	*slot = b;
	return 0;
}

static int on_structure(void *ud, const sw_bval *v)
{
	sw_cli_conn *c = ud;
	cli_resp *r = &c->resp;
	if (!r->body_started) {
		if (r->have_args)
			return handler_error(
			    c, SW_ERR_UNEXPECTED_PART,
			    "Generic bzr smart protocol error: Unexpected structure "
			    "received");
		if (copy_strlist(c, v, &r->args, &r->nargs))
			return 1;
		r->have_args = true;
		return 0;
	}
	if (r->stream_status != 'E' || r->have_error_args)
		return handler_error(c, SW_ERR_UNEXPECTED_PART,
		                     "Generic bzr smart protocol error: Unexpected structure "
		                     "received after body");
	sw_slice *ea = NULL;
	size_t n = 0;
	if (copy_strlist(c, v, &ea, &n))
		return 1;
	int rc = sw__cli_set_error_args(c, ea, n);
	sw_free(c->mem, ea);
	if (rc < 0)
		return handler_error(c, SW_ERR_NOMEM, NULL);
	r->have_error_args = true;
	return 0;
}

static int on_bytes_begin(void *ud, uint32_t total)
{
	sw_cli_conn *c = ud;
	(void)total;
	/* A body before the args can only end in Breezy's TypeError (args None)
	 * or its "Unexpected structure received after body"; refuse it now. */
	if (!c->resp.have_args)
		return handler_error(c, SW_ERR_UNEXPECTED_PART,
		                     "Generic bzr smart protocol error: body received before the "
		                     "response args");
	c->resp.body_started = true;
	return 0;
}

static int on_bytes(void *ud, const uint8_t *p, size_t n)
{
	return sink_data(ud, p, n);
}

static int on_bytes_end(void *ud)
{
	return sink_part_end(ud);
}

/* The message ended ('e'): what it means for what was being read. */
static void v3_message_end(sw_cli_conn *c)
{
	cli_resp *r = &c->resp;
	sw__cli_resp_finish(c);
	if (r->read == RD_TUPLE && !r->have_args) {
		fail_text(c, SW_ERR_PREMATURE_END,
		          "Generic bzr smart protocol error: End of message received "
		          "prematurely (no response args)");
	} else if (r->read == RD_TUPLE && r->status == 'E') {
		server_error(c, r->args, r->nargs, true);
	} else if (r->read == RD_STREAM && r->stream_status == 'E') {
		r->body_read = true;
		server_error(c, c->eargs, c->neargs, true);
	} else {
		if (r->read == RD_BODY || r->read == RD_STREAM)
			r->body_read = true;
		end_read(c, 0);
	}
}

/* Whether the read is over before the next feed of the framing decoder. */
static bool v3_check(sw_cli_conn *c)
{
	cli_resp *r = &c->resp;
	if (r->read == RD_TUPLE && r->have_args && !sw_v3_dec_done(c->v3)) {
		/* Breezy read_response_tuple: an error, or a response whose body
		 * nobody will read, is read to its end. */
		if (r->expect_body && r->status != 'E') {
			end_read(c, 0);
			return true;
		}
	}
	if (sw_v3_dec_done(c->v3)) {
		v3_message_end(c);
		return true;
	}
	return false;
}

static size_t v3_feed(sw_cli_conn *c, const uint8_t *in, size_t len)
{
	cli_resp *r = &c->resp;
	size_t at = 0;
	while (!v3_check(c)) {
		size_t n = sw_v3_dec_next_read_size(c->v3);
		if (n > len - at)
			n = len - at;
		if (n == 0)
			break;
		r->handler_err = 0;
		ptrdiff_t f = sw_v3_dec_feed(c->v3, in + at, n);
		if (f == SW_ERR_BAD_MARKER) {
			/* Breezy's UnexpectedProtocolVersionMarker shows the bytes it
			 * had: the marker read so far and what was at hand. */
			uint8_t m[sizeof r->head];
			size_t mn = r->headn, more = len - at;
			memcpy(m, r->head, mn);
			if (more > sizeof m - mn)
				more = sizeof m - mn;
			memcpy(m + mn, in + at, more);
			sw__cli_record_repr(c, SW_ERR_BAD_MARKER,
			                    "Received bad protocol version marker: ", m, mn + more);
			sw__cli_resp_fail(c, SW_ERR_BAD_MARKER);
			break;
		}
		if (f < 0) {
			sw__cli_resp_fail(c, fed_error(c, f));
			break;
		}
		size_t keep = sizeof r->head - r->headn;
		if (keep > (size_t)f)
			keep = (size_t)f;
		memcpy(r->head + r->headn, in + at, keep);
		r->headn += keep;
		at += (size_t)f;
	}
	return at;
}

/* ---- v1/v2 ------------------------------------------------------------------ */

/* Breezy's _raise_args_if_error list: a v1 response starting with one of
 * these is a failure. */
static const char *const v1_error_codes[] = {
    "norepository",        "NoSuchFile",       "FileExists",
    "DirectoryNotEmpty",   "ShortReadvError",  "UnicodeEncodeError",
    "UnicodeDecodeError",  "ReadOnlyError",    "nobranch",
    "NoSuchRevision",      "nosuchrevision",   "LockContention",
    "UnlockableTransport", "LockFailed",       "TokenMismatch",
    "ReadError",           "PermissionDenied",
};

/* Breezy _response_is_unknown_method: ("error", "Generic bzr smart protocol
 * error: bad request '<verb>'") or the u'<verb>' of Breezy 0.11. */
static bool is_unknown_method(const cli_resp *r)
{
	static const char pre[] = "Generic bzr smart protocol error: bad request ";
	size_t pl = sizeof pre - 1;
	const sw_slice *a = r->args;
	if (r->nargs != 2 || !slice_eq(a[0], "error") || a[1].n < pl + 2 || memcmp(a[1].p, pre, pl))
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

static sw_v12_dec *v12_of(const sw_cli_conn *c)
{
	return c->v12[c->resp.version - 1];
}

/* The tuple line was read (Breezy read_response_tuple, v1 and v2): the
 * unknown-method check comes first, then the v2 status or the v1 error
 * list, as in Breezy. */
static void v12_args(sw_cli_conn *c)
{
	cli_resp *r = &c->resp;
	if (is_unknown_method(r)) {
		server_error(c, r->args, r->nargs, false);
		if (r->rc == SW_ERR_ERROR_RESPONSE)
			r->rc = sw__cli_record_unknown(c, r->verb.p, r->verb.n);
		return;
	}
	if (r->version == 2) {
		int st = sw_v12_dec_status(v12_of(c));
		if (st == 0) {
			server_error(c, r->args, r->nargs, false);
			return;
		}
		if (st != 1) {
			size_t n;
			const uint8_t *l = sw_v12_dec_head_line(v12_of(c), &n);
			sw__cli_record_repr(
			    c, SW_ERR_BAD_STATUS,
			    "Generic bzr smart protocol error: bad protocol status ", l, n);
			sw__cli_resp_fail(c, SW_ERR_BAD_STATUS);
			return;
		}
	} else {
		for (size_t i = 0; i < sizeof v1_error_codes / sizeof *v1_error_codes; i++) {
			if (slice_eq(r->args[0], v1_error_codes[i])) {
				server_error(c, r->args, r->nargs, false);
				return;
			}
		}
	}
	if (!r->expect_body)
		sw__cli_resp_finish(c);
	end_read(c, 0);
}

static int v12_on_args(void *ud, const sw_slice *args, size_t n)
{
	sw_cli_conn *c = ud;
	if (sw__cli_tuple_copy(c->mem, args, n, &c->resp.args) < 0)
		return handler_error(c, SW_ERR_NOMEM, NULL);
	c->resp.nargs = n;
	c->resp.have_args = true;
	return 0;
}

static int v12_on_data(void *ud, const uint8_t *p, size_t n)
{
	return sink_data(ud, p, n);
}

static int v12_on_chunk_end(void *ud)
{
	return sink_part_end(ud);
}

static int v12_on_error_chunks(void *ud, const sw_slice *a, size_t n)
{
	sw_cli_conn *c = ud;
	if (sw__cli_set_error_args(c, a, n) < 0)
		return handler_error(c, SW_ERR_NOMEM, NULL);
	c->resp.have_error_args = true;
	return 0;
}

static size_t v12_feed(sw_cli_conn *c, const uint8_t *in, size_t len)
{
	cli_resp *r = &c->resp;
	sw_v12_dec *dec = v12_of(c);
	r->handler_err = 0;
	ptrdiff_t f = sw_v12_dec_feed(dec, in, len);
	if (f == SW_ERR_BAD_MARKER) {
		size_t n;
		const uint8_t *l = sw_v12_dec_head_line(dec, &n);
		sw__cli_record_repr(c, SW_ERR_BAD_MARKER,
		                    "Received bad protocol version marker: ", l, n);
		sw__cli_resp_fail(c, SW_ERR_BAD_MARKER);
		return 0;
	}
	if (f < 0) {
		sw__cli_resp_fail(c, fed_error(c, f));
		return 0;
	}
	if (r->read == RD_TUPLE) {
		if (r->have_args)
			v12_args(c);
	} else if (sw_v12_dec_done(dec)) {
		sw__cli_resp_finish(c);
		r->body_read = true;
		if (r->have_error_args)
			server_error(c, c->eargs, c->neargs, false);
		else
			end_read(c, 0);
	}
	return (size_t)f;
}

/* ---- the handler's entry points -------------------------------------------- */

void sw__cli_resp_clear(sw_cli_conn *c)
{
	sw_free(c->mem, c->resp.args);
	memset(&c->resp, 0, sizeof c->resp);
}

static int make_v3(sw_cli_conn *c)
{
	if (c->v3) {
		sw_v3_dec_reset(c->v3);
		return 0;
	}
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	cfg.max_struct = c->cfg.max_struct;
	cfg.max_part = c->cfg.max_part;
	sw_v3_callbacks cb = {0};
	cb.on_byte = on_byte;
	cb.on_structure = on_structure;
	cb.on_bytes_begin = on_bytes_begin;
	cb.on_bytes = on_bytes;
	cb.on_bytes_end = on_bytes_end;
	return sw_v3_dec_new(&c->v3, &cfg, &cb, c, c->mem);
}

static int make_v12(sw_cli_conn *c, int version)
{
	sw_v12_dec **d = &c->v12[version - 1];
	if (!*d) {
		sw_v12_config cfg;
		memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
		cfg.whole_lines = true;
		cfg.max_line = c->cfg.max_line;
		cfg.max_args = c->cfg.max_args;
		cfg.prefixed.max_body = c->cfg.max_body;
		cfg.chunked.max_chunk = c->cfg.max_chunk;
		sw_v12_callbacks cb = {0};
		cb.on_args = v12_on_args;
		cb.on_body = v12_on_data;
		cb.on_chunk = v12_on_data;
		cb.on_chunk_end = v12_on_chunk_end;
		cb.on_error_chunks = v12_on_error_chunks;
		int rc = sw_v12_dec_new(d, SW_V12_RESPONSE, version, &cfg, &cb, c, c->mem);
		if (rc < 0)
			return rc;
	}
	sw_v12_dec_reset(*d);
	return sw_v12_dec_expect_body(*d, SW_BODY_DEFERRED);
}

int sw__cli_resp_begin(sw_cli_conn *c, int version, sw_slice verb, bool expect_body)
{
	sw__cli_resp_clear(c);
	int rc = version == 3 ? make_v3(c) : make_v12(c, version);
	if (rc < 0)
		return rc;
	cli_resp *r = &c->resp;
	c->serial++;
	r->version = version;
	r->expect_body = expect_body;
	r->open = true;
	r->success = true;
	r->verb = verb;
	r->read = RD_TUPLE;
	return 0;
}

int sw__cli_resp_start_body(sw_cli_conn *c, cli_read read)
{
	cli_resp *r = &c->resp;
	r->read = read;
	r->ended = false;
	r->rc = 0;
	if (r->version == 3)
		return 0;
	int rc = sw_v12_dec_expect_body(v12_of(c),
	                                read == RD_STREAM ? SW_BODY_CHUNKED : SW_BODY_PREFIXED);
	if (rc < 0)
		sw__cli_resp_fail(c, rc);
	return rc;
}

size_t sw__cli_resp_feed(sw_cli_conn *c, const uint8_t *in, size_t len)
{
	static const uint8_t nothing[1];
	if (!in)
		in = nothing;
	return c->resp.version == 3 ? v3_feed(c, in, len) : v12_feed(c, in, len);
}

void sw__cli_resp_eof(sw_cli_conn *c)
{
	const char *text = sw__cli_eof_text;
	if (c->resp.version < 3 && c->resp.read == RD_BODY)
		text = sw__cli_eof_body_text;
	else if (c->resp.version < 3 && c->resp.read == RD_STREAM)
		text = sw__cli_eof_stream_text;
	fail_text(c, SW_ERR_CONNECTION_RESET, text);
}

size_t sw__cli_resp_next_read_size(const sw_cli_conn *c)
{
	if (c->resp.ended || !c->resp.version)
		return 0;
	return c->resp.version == 3 ? sw_v3_dec_next_read_size(c->v3)
	                            : sw_v12_dec_next_read_size(v12_of(c));
}
