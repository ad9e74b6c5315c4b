/*
 * The client medium and its request state machine (Breezy medium.py:
 * SmartClientStreamMedium, SmartClientStreamMediumRequest), plus the error
 * record shared by the client files.
 *
 * The client owns one connection at a time, opened by the caller's connect
 * callback.  Bytes read from it and not yet consumed by a decoder stay in
 * c->in, Breezy's push-back buffer: a v1/v2 line read may fetch more than the
 * line, and what follows belongs to the next read.
 */
#include <errno.h>
#include <string.h>

#include "client_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"

static const char eof_text[] =
	"Connection closed: Unexpected end of message. Please check connectivity and "
	"permissions, and report a bug if problems persist. ";

/* ---- errors ---------------------------------------------------------- */

void sw__client_clear_error(sw_client *c)
{
	c->last_err = 0;
	sw_buf_reset(&c->msg);
	sw_free(c->mem, c->eargs);
	c->eargs = NULL;
	c->neargs = 0;
}

int sw__client_fail(sw_client *c, int err, const char *text)
{
	c->last_err = err;
	sw_buf_reset(&c->msg);
	if (sw_buf_append(&c->msg, text, strlen(text) + 1) < 0)
		sw_buf_reset(&c->msg);
	return err;
}

int sw__client_fail_code(sw_client *c, int err)
{
	if (c->last_err == err && c->msg.len)
		return err;
	return sw__client_fail(c, err, sw_strerror(err));
}

bool sw__err_desyncs(int err)
{
	switch (err) {
	case SW_ERR_ERROR_RESPONSE:
	case SW_ERR_UNKNOWN_METHOD:
	case SW_ERR_TOO_MANY_REQUESTS:
	case SW_ERR_STATE:
	case SW_ERR_INVALID_ARGUMENT:
	case SW_ERR_BAD_ARGUMENT_BYTE:
	case SW_ERR_WRITING_COMPLETED:
	case SW_ERR_WRITING_NOT_COMPLETE:
	case SW_ERR_READING_COMPLETED:
		return false;
	default:
		return true;
	}
}

int sw__tuple_copy(const sw_mem *mem, const sw_slice *a, size_t n, sw_slice **out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	size_t total = n * sizeof(sw_slice);
	for (size_t i = 0; i < n; i++)
		total += a[i].n;
	sw_slice *s = sw_malloc(mem, total);
	if (!s)
		return SW_ERR_NOMEM;
	uint8_t *p = (uint8_t *)(s + n);
	for (size_t i = 0; i < n; i++) {
		if (a[i].n)
			memcpy(p, a[i].p, a[i].n);
		s[i].p = p;
		s[i].n = a[i].n;
		p += a[i].n;
	}
	*out = s;
	return 0;
}

int sw__client_set_error_args(sw_client *c, const sw_slice *a, size_t n)
{
	sw_free(c->mem, c->eargs);
	c->eargs = NULL;
	c->neargs = 0;
	int rc = sw__tuple_copy(c->mem, a, n, &c->eargs);
	if (rc == 0)
		c->neargs = n;
	return rc;
}

/* ---- the client medium --------------------------------------------- */

int sw_client_new(sw_client **out, const sw_client_config *cfg, sw_client_connect_fn connect,
                  void *connect_ud, const sw_mem *mem)
{
	if (!out || !connect)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	sw_client_config def;
	if (!cfg) {
		memset(&def, 0, sizeof def); /* zero: the defaults */
		cfg = &def;
	}
	if (cfg->protocol < 0 || cfg->protocol > 3 ||
	    (cfg->headers_set && cfg->header_pairs && !cfg->headers))
		return SW_ERR_INVALID_ARGUMENT;
	sw_client *c = sw_malloc(mem, sizeof *c);
	if (!c)
		return SW_ERR_NOMEM;
	memset(c, 0, sizeof *c);
	c->mem = mem;
	c->cfg = *cfg;
	if (cfg->headers_set && cfg->header_pairs) {
		if (sw__tuple_copy(mem, cfg->headers, 2 * cfg->header_pairs, &c->hdr_kv) < 0) {
			sw_free(mem, c);
			return SW_ERR_NOMEM;
		}
	}
	c->cfg.headers = c->hdr_kv;
	if (!c->cfg.timeout_ms)
		c->cfg.timeout_ms = SW_CLIENT_DEFAULT_TIMEOUT_MS;
	if (!c->cfg.read_size)
		c->cfg.read_size = SW_CLIENT_DEFAULT_READ_SIZE;
	if (!c->cfg.max_line)
		c->cfg.max_line = SW_CLIENT_DEFAULT_MAX_LINE;
	if (!c->cfg.max_args)
		c->cfg.max_args = SW_CLIENT_DEFAULT_MAX_ARGS;
	c->connect = connect;
	c->connect_ud = connect_ud;
	c->version = cfg->protocol;
	sw_buf_init(&c->msg, mem);
	sw_buf_init(&c->out, mem);
	sw_buf_init(&c->hello_msg, mem);
	*out = c;
	return 0;
}

void sw_client_del(sw_client *c)
{
	if (!c)
		return;
	sw_medium_del(c->medium);
	sw_v3_dec_del(c->v3);
	sw_prefixed_del(c->pre);
	sw_chunked_del(c->chk);
	sw_free(c->mem, c->in);
	sw_free(c->mem, c->hdr_kv);
	sw_free(c->mem, c->eargs);
	sw_buf_fini(&c->msg);
	sw_buf_fini(&c->out);
	sw_buf_fini(&c->hello_msg);
	sw_free(c->mem, c);
}

int sw_client_connect(sw_client *c)
{
	if (c->state != SW_CLIENT_IDLE)
		return sw__client_fail_code(c, SW_ERR_STATE);
	c->state = SW_CLIENT_CONNECTING;
	sw_medium *m = NULL;
	int rc = c->connect(c->connect_ud, &m);
	if (rc == 0 && !m)
		rc = SW_ERR_CONNECT;
	if (rc < 0) {
		c->state = SW_CLIENT_IDLE;
		return sw__client_fail_code(c, rc);
	}
	c->medium = m;
	c->in_off = c->in_len = 0;
	c->state = SW_CLIENT_RUNNING;
	c->stats.connects++;
	return 0;
}

int sw__client_ensure_connected(sw_client *c)
{
	if (c->state == SW_CLIENT_RUNNING)
		return 0;
	return sw_client_connect(c);
}

int sw_client_disconnect(sw_client *c)
{
	if (c->state == SW_CLIENT_CONNECTING || c->state == SW_CLIENT_DISCONNECTING)
		return sw__client_fail_code(c, SW_ERR_STATE);
	if (c->state == SW_CLIENT_IDLE)
		return 0;
	c->state = SW_CLIENT_DISCONNECTING;
	sw_medium_del(c->medium);
	c->medium = NULL;
	c->in_off = c->in_len = 0;
	c->stats.disconnects++;
	c->state = SW_CLIENT_IDLE;
	return 0;
}

int sw_client_reset(sw_client *c)
{
	int rc = sw_client_disconnect(c);
	if (rc == 0)
		c->current = NULL;
	return rc;
}

sw_client_runstate sw_client_state(const sw_client *c)
{
	return c->state;
}

sw_medium *sw_client_medium(sw_client *c)
{
	return c->medium;
}

int sw_client_protocol_version(const sw_client *c)
{
	return c->version;
}

void sw_client_remember_remote_is_before(sw_client *c, int major, int minor)
{
	if (c->before_set && (major > c->before_major ||
	                      (major == c->before_major && minor > c->before_minor)))
		return;
	c->before_set = true;
	c->before_major = major;
	c->before_minor = minor;
}

bool sw_client_is_remote_before(const sw_client *c, int major, int minor)
{
	if (!c->before_set)
		return false;
	return major > c->before_major || (major == c->before_major && minor >= c->before_minor);
}

int sw_client_last_error(const sw_client *c)
{
	return c->last_err;
}

const char *sw_client_error_message(const sw_client *c)
{
	return c->msg.len ? (const char *)c->msg.data : "";
}

const sw_slice *sw_client_error_args(const sw_client *c, size_t *n)
{
	if (n)
		*n = c->neargs;
	return c->eargs;
}

void sw_client_get_stats(const sw_client *c, sw_client_stats *out)
{
	*out = c->stats;
}

ptrdiff_t sw__client_fill(sw_client *c)
{
	if (c->in_len)
		return (ptrdiff_t)c->in_len;
	if (!c->medium)
		return SW_ERR_CLOSED;
	if (!c->in) {
		c->in = sw_malloc(c->mem, c->cfg.read_size);
		if (!c->in)
			return SW_ERR_NOMEM;
		c->in_cap = c->cfg.read_size;
	}
	int64_t deadline = sw_deadline_ms(c->cfg.timeout_ms);
	for (int stalls = 0;;) {
		int w = sw_medium_wait_readable(c->medium, sw_deadline_left(deadline));
		if (w == SW_ERR_TIMEOUT)
			return SW_ERR_TIMEOUT;
		if (w < 0 && w != SW_ERR_WOULD_BLOCK)
			return w;
		ptrdiff_t n = sw_medium_read(c->medium, c->in, c->in_cap);
		if (n >= 0) {
			c->in_off = 0;
			c->in_len = (size_t)n;
			return n;
		}
		if (n != SW_ERR_WOULD_BLOCK)
			return n;
		if (++stalls > SW_CLIENT_MAX_STALLS)
			return SW_ERR_TIMEOUT;
	}
}

void sw__client_consume(sw_client *c, size_t n)
{
	c->in_off += n;
	c->in_len -= n;
	if (!c->in_len)
		c->in_off = 0;
}

/* Writes everything; a medium that keeps refusing is a time-out. */
static int write_all(sw_client *c, const uint8_t *p, size_t n)
{
	for (int stalls = 0; n;) {
		ptrdiff_t k = sw_medium_write(c->medium, p, n);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
			stalls = 0;
			continue;
		}
		if (k == SW_ERR_WOULD_BLOCK && ++stalls <= SW_CLIENT_MAX_STALLS)
			continue;
		if (k == SW_ERR_WOULD_BLOCK)
			k = SW_ERR_TIMEOUT;
		if (k == SW_ERR_CONNECTION_RESET) {
			/* Breezy's send_all / pipe write: ConnectionReset(msg, e). */
			sw_buf_reset(&c->msg);
			int e = sw_medium_errno(c->medium);
			c->last_err = (int)k;
			if (sw_buf_append_str(&c->msg, "Connection closed: Error trying to write to socket") ||
			    (e && (sw_buf_append_str(&c->msg, " [Errno ") ||
			           sw_buf_append_u64(&c->msg, (uint64_t)e) ||
			           sw_buf_append_str(&c->msg, "] ") ||
			           sw_buf_append_str(&c->msg, strerror(e)))) ||
			    sw_buf_append_byte(&c->msg, 0))
				sw_buf_reset(&c->msg);
			return (int)k;
		}
		return sw__client_fail_code(c, (int)k);
	}
	return 0;
}

/* ---- the request state machine -------------------------------------- */

int sw_client_request_new(sw_client *c, sw_client_request **out)
{
	*out = NULL;
	if (c->state == SW_CLIENT_CONNECTING || c->state == SW_CLIENT_DISCONNECTING)
		return sw__client_fail_code(c, SW_ERR_STATE);
	if (c->current)
		return sw__client_fail(c, SW_ERR_TOO_MANY_REQUESTS,
		                       "The medium 'client' has reached its concurrent request "
		                       "limit. Be sure to finish_writing and finish_reading on the "
		                       "currently open request.");
	sw_client_request *r = sw_malloc(c->mem, sizeof *r);
	if (!r)
		return sw__client_fail_code(c, SW_ERR_NOMEM);
	r->c = c;
	r->state = SW_CLIENT_REQUEST_WRITING;
	c->current = r;
	c->stats.requests++;
	*out = r;
	return 0;
}

static int writing_completed(sw_client *c)
{
	return sw__client_fail(c, SW_ERR_WRITING_COMPLETED,
	                       "The MediumRequest 'request' has already had finish_writing called "
	                       "upon it - accept bytes may not be called anymore.");
}

int sw_client_request_write(sw_client_request *r, const void *p, size_t n)
{
	sw_client *c = r->c;
	if (r->state != SW_CLIENT_REQUEST_WRITING)
		return writing_completed(c);
	if (c->current != r)
		return sw__client_fail_code(c, SW_ERR_CLOSED);
	int rc = sw__client_ensure_connected(c);
	if (rc < 0)
		return rc;
	return write_all(c, p, n);
}

int sw_client_request_finish_writing(sw_client_request *r)
{
	if (r->state != SW_CLIENT_REQUEST_WRITING)
		return writing_completed(r->c);
	r->state = SW_CLIENT_REQUEST_READING;
	return 0;
}

int sw__request_check_read(const sw_client_request *r)
{
	sw_client *c = r->c;
	if (r->state == SW_CLIENT_REQUEST_WRITING)
		return sw__client_fail(c, SW_ERR_WRITING_NOT_COMPLETE,
		                       "The MediumRequest 'request' has not has finish_writing called "
		                       "upon it - until the write phase is complete no data may be "
		                       "read.");
	if (r->state != SW_CLIENT_REQUEST_READING)
		return sw__client_fail(c, SW_ERR_READING_COMPLETED,
		                       "The MediumRequest 'request' has already had finish_reading "
		                       "called upon it - the request has been completed and no more "
		                       "data may be read.");
	if (c->current != r || !c->medium)
		return sw__client_fail_code(c, SW_ERR_CLOSED);
	return 0;
}

ptrdiff_t sw_client_request_read(sw_client_request *r, void *buf, size_t n)
{
	int rc = sw__request_check_read(r);
	if (rc < 0)
		return rc;
	sw_client *c = r->c;
	if (n == 0)
		return sw__client_fail_code(c, SW_ERR_INVALID_ARGUMENT);
	ptrdiff_t k = sw__client_fill(c);
	if (k < 0)
		return sw__client_fail_code(c, (int)k);
	if (k == 0)
		return 0;
	size_t m = n < c->in_len ? n : c->in_len;
	memcpy(buf, c->in + c->in_off, m);
	sw__client_consume(c, m);
	return (ptrdiff_t)m;
}

ptrdiff_t sw_client_request_read_line(sw_client_request *r, sw_buf *line)
{
	int rc = sw__request_check_read(r);
	if (rc < 0)
		return rc;
	sw_client *c = r->c;
	sw_buf_reset(line);
	for (;;) {
		ptrdiff_t k = sw__client_fill(c);
		if (k < 0)
			return sw__client_fail_code(c, (int)k);
		if (k == 0)
			return sw__client_fail(c, SW_ERR_CONNECTION_RESET, eof_text);
		const uint8_t *p = c->in + c->in_off;
		const uint8_t *nl = memchr(p, '\n', c->in_len);
		size_t take = nl ? (size_t)(nl - p) + 1 : c->in_len;
		if (line->len + take > c->cfg.max_line)
			return sw__client_fail_code(c, SW_ERR_LINE_TOO_LONG);
		if (sw_buf_append(line, p, take) < 0)
			return sw__client_fail_code(c, SW_ERR_NOMEM);
		sw__client_consume(c, take);
		if (nl)
			return (ptrdiff_t)line->len;
	}
}

int sw_client_request_finish_reading(sw_client_request *r)
{
	int rc = 0;
	if (r->state == SW_CLIENT_REQUEST_WRITING || r->state == SW_CLIENT_REQUEST_DONE) {
		rc = sw__request_check_read(r);
		return rc;
	}
	r->state = SW_CLIENT_REQUEST_DONE;
	if (r->c->current == r)
		r->c->current = NULL;
	return 0;
}

sw_client_request_state sw_client_request_get_state(const sw_client_request *r)
{
	return r->state;
}

void sw_client_request_del(sw_client_request *r)
{
	if (!r)
		return;
	sw_client *c = r->c;
	if (c->current == r) {
		if (c->state == SW_CLIENT_RUNNING)
			sw_client_disconnect(c);
		c->current = NULL;
	}
	sw_free(c->mem, r);
}

const char *sw__client_eof_text(void)
{
	return eof_text;
}
