/*
 * The blocking client (smartwire/client.h): the sans-I/O core of
 * smartwire/client_conn.h driven over a medium.  One loop (drive) does what
 * the core asks: connect through the caller's callback, write its output,
 * read with a bounded wait (smartwire/clock.h) and feed, close.  Bytes read
 * and not consumed by a response stay in c->in, Breezy's push-back buffer,
 * and are fed first to the next response on the same connection.
 */
#include <string.h>

#include "cli_impl.h"
#include "smartwire/client.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"

struct sw_client {
	const sw_mem *mem;
	sw_cli_conn *core;
	int timeout_ms;
	size_t read_size;
	bool pipe_exact;
	sw_client_connect_fn connect;
	void *connect_ud;
	sw_client_runstate state;
	sw_medium *medium;
	/* Push-back buffer: in[in_off, in_off + in_len). */
	uint8_t *in;
	size_t in_off, in_len;
	int stalls; /* consecutive writes that would block */
};

struct sw_response {
	sw_client *c;
	unsigned serial; /* the core's response it is (sw_cli_conn.serial) */
	int version;
	bool finished; /* as of the last operation on it */
	bool body_read;
	sw_slice *args; /* one allocation: slices, then the bytes */
	size_t nargs;
};

/* ---- the client medium --------------------------------------------------------- */

int sw_client_new(sw_client **out, const sw_client_config *cfg, sw_client_connect_fn connect,
                  void *connect_ud, const sw_mem *mem)
{
	if (!out || !connect)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	sw_client *c = sw_malloc(mem, sizeof *c);
	if (!c)
		return SW_ERR_NOMEM;
	memset(c, 0, sizeof *c);
	int rc = sw_cli_conn_new(&c->core, cfg, mem);
	if (rc < 0) {
		sw_free(mem, c);
		return rc;
	}
	c->mem = mem;
	c->timeout_ms = cfg && cfg->timeout_ms ? cfg->timeout_ms : SW_CLIENT_DEFAULT_TIMEOUT_MS;
	c->read_size = cfg && cfg->read_size ? cfg->read_size : SW_CLIENT_DEFAULT_READ_SIZE;
	c->pipe_exact = cfg && cfg->pipe_exact;
	c->connect = connect;
	c->connect_ud = connect_ud;
	*out = c;
	return 0;
}

void sw_client_del(sw_client *c)
{
	if (!c)
		return;
	sw_medium_del(c->medium);
	sw_cli_conn_del(c->core);
	sw_free(c->mem, c->in);
	sw_free(c->mem, c);
}

/* Runs the connect callback (IDLE -> CONNECTING -> RUNNING). */
static int open_medium(sw_client *c, sw_errinfo *ei)
{
	c->state = SW_CLIENT_CONNECTING;
	sw_medium *m = NULL;
	memset(ei, 0, sizeof *ei);
	int rc = c->connect(c->connect_ud, &m, ei);
	if (rc == 0 && !m)
		rc = SW_ERR_CONNECT;
	if (rc < 0) {
		c->state = SW_CLIENT_IDLE;
		return rc;
	}
	c->medium = m;
	c->in_off = c->in_len = 0;
	c->stalls = 0;
	c->state = SW_CLIENT_RUNNING;
	sw_cli_conn_connected(c->core);
	return 0;
}

static void close_medium(sw_client *c)
{
	c->state = SW_CLIENT_DISCONNECTING;
	sw_medium_del(c->medium);
	c->medium = NULL;
	c->in_off = c->in_len = 0;
	c->state = SW_CLIENT_IDLE;
	sw_cli_conn_closed(c->core);
}

/* Refuses an operation in CONNECTING or DISCONNECTING (a callback calling
 * back into its client). */
static int check_state(sw_client *c)
{
	if (c->state == SW_CLIENT_CONNECTING || c->state == SW_CLIENT_DISCONNECTING)
		return sw__cli_record_ei(c->core, SW_ERR_STATE, NULL);
	return 0;
}

int sw_client_connect(sw_client *c)
{
	if (c->state != SW_CLIENT_IDLE)
		return sw__cli_record_ei(c->core, SW_ERR_STATE, NULL);
	sw_errinfo ei;
	int rc = open_medium(c, &ei);
	return rc < 0 ? sw__cli_record_ei(c->core, rc, &ei) : 0;
}

int sw_client_disconnect(sw_client *c)
{
	int rc = check_state(c);
	if (rc == 0 && c->state == SW_CLIENT_RUNNING)
		close_medium(c);
	return rc;
}

int sw_client_reset(sw_client *c)
{
	int rc = check_state(c);
	if (rc < 0)
		return rc;
	sw_cli_conn_reset(c->core);
	if (sw_cli_conn_want(c->core) == SW_CLI_CLOSE || c->medium)
		close_medium(c);
	return 0;
}

sw_client_runstate sw_client_state(const sw_client *c)
{
	return c->state;
}

sw_medium *sw_client_medium(sw_client *c)
{
	return c->medium;
}

size_t sw_client_pending(const sw_client *c)
{
	return c->in_len;
}

int sw_client_protocol_version(const sw_client *c)
{
	return sw_cli_conn_protocol_version(c->core);
}

void sw_client_remember_remote_is_before(sw_client *c, int major, int minor)
{
	sw_cli_conn_remember_remote_is_before(c->core, major, minor);
}

bool sw_client_is_remote_before(const sw_client *c, int major, int minor)
{
	return sw_cli_conn_is_remote_before(c->core, major, minor);
}

int sw_client_last_error(const sw_client *c, sw_errinfo *ei)
{
	return sw_cli_conn_last_error(c->core, ei);
}

const char *sw_client_error_message(const sw_client *c)
{
	return sw_cli_conn_error_message(c->core);
}

const sw_slice *sw_client_error_args(const sw_client *c, size_t *n)
{
	return sw_cli_conn_error_args(c->core, n);
}

void sw_client_get_stats(const sw_client *c, sw_client_stats *out)
{
	sw_cli_conn_get_stats(c->core, out);
}

/* ---- the loop ------------------------------------------------------------------------ */

static void do_write(sw_client *c)
{
	const uint8_t *p;
	size_t n;
	sw_cli_conn_output(c->core, &p, &n);
	if (n == 0)
		return; /* the core moved on */
	ptrdiff_t k = sw_medium_write(c->medium, p, n);
	if (k > 0) {
		c->stalls = 0;
		sw_cli_conn_output_done(c->core, (size_t)k);
		return;
	}
	if ((k == SW_ERR_WOULD_BLOCK || k == 0) && ++c->stalls <= SW_CLIENT_MAX_STALLS)
		return;
	if (k == SW_ERR_WOULD_BLOCK || k == 0)
		k = SW_ERR_TIMEOUT;
	sw_errinfo ei = {0};
	ei.sys_errno = sw_medium_errno(c->medium);
	sw_cli_conn_fail(c->core, (int)k, &ei);
}

/* Reads into the push-back buffer, waiting at most the timeout: > 0 bytes,
 * 0 at end of stream, or a negative error. */
static ptrdiff_t fill(sw_client *c)
{
	if (!c->in) {
		c->in = sw_malloc(c->mem, c->read_size);
		if (!c->in)
			return SW_ERR_NOMEM;
	}
	size_t want = c->read_size;
	if (c->pipe_exact) {
		size_t nrs = sw_cli_conn_next_read_size(c->core);
		if (nrs && nrs < want)
			want = nrs;
	}
	int64_t deadline = sw_deadline_ms(c->timeout_ms);
	for (int stalls = 0;;) {
		int w = sw_medium_wait_readable(c->medium, sw_deadline_left(deadline));
		if (w < 0 && w != SW_ERR_WOULD_BLOCK)
			return w;
		ptrdiff_t n = sw_medium_read(c->medium, c->in, want);
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

static void do_read(sw_client *c)
{
	if (c->in_len == 0) {
		ptrdiff_t k = fill(c);
		if (k == 0) {
			sw_cli_conn_eof(c->core);
		} else if (k < 0) {
			sw_errinfo ei = {0};
			ei.sys_errno = k == SW_ERR_NOMEM ? 0 : sw_medium_errno(c->medium);
			sw_cli_conn_fail(c->core, (int)k, &ei);
		}
		return;
	}
	ptrdiff_t k = sw_cli_conn_feed(c->core, c->in + c->in_off, c->in_len);
	if (k > 0) {
		c->in_off += (size_t)k;
		c->in_len -= (size_t)k;
	} else if (sw_cli_conn_want(c->core) == SW_CLI_READ) {
		/* The core always takes bytes while it reads; a refusal would
		 * loop forever, so it ends the operation instead. */
		sw_cli_conn_fail(c->core, SW_ERR_STATE, NULL);
	}
}

/* Does what the core asks until the operation ends; returns its result. */
static int drive(sw_client *c)
{
	for (;;) {
		sw_errinfo ei;
		int rc;
		switch (sw_cli_conn_want(c->core)) {
		case SW_CLI_CONNECT:
			rc = open_medium(c, &ei);
			if (rc < 0)
				sw_cli_conn_fail(c->core, rc, &ei);
			break;
		case SW_CLI_WRITE: do_write(c); break;
		case SW_CLI_READ: do_read(c); break;
		case SW_CLI_CLOSE: close_medium(c); break;
		default: return sw_cli_conn_result(c->core);
		}
	}
}

/* ---- calls ----------------------------------------------------------------------------- */

int sw_client_hello(sw_client *c, int *version)
{
	int rc = check_state(c);
	if (rc == 0)
		rc = sw_cli_conn_hello(c->core);
	if (rc == 0)
		rc = drive(c);
	if (rc == 0 && version)
		*version = sw_cli_conn_hello_version(c->core);
	return rc;
}

int sw_client_call(sw_client *c, const sw_call *call, sw_response **out)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	*out = NULL;
	int rc = check_state(c);
	if (rc == 0)
		rc = sw_cli_conn_call(c->core, call);
	if (rc == 0)
		rc = drive(c);
	if (rc < 0)
		return rc;
	sw_response *r = sw_malloc(c->mem, sizeof *r);
	size_t n;
	const sw_slice *a = sw_cli_conn_args(c->core, &n);
	if (!r || sw__cli_tuple_copy(c->mem, a, n, &r->args) < 0) {
		/* A body, if one is due, can no longer be read by anyone. */
		sw_free(c->mem, r);
		if (!sw_cli_conn_response_finished(c->core)) {
			sw_cli_conn_reset(c->core);
			drive(c);
		}
		return sw__cli_record_ei(c->core, SW_ERR_NOMEM, NULL);
	}
	r->c = c;
	r->serial = c->core->serial;
	r->version = sw_cli_conn_response_version(c->core);
	r->nargs = n;
	r->finished = sw_cli_conn_response_finished(c->core);
	r->body_read = false;
	*out = r;
	return 0;
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

/* ---- responses -------------------------------------------------------------------------- */

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
	(void)r;
	return true; /* a failed response is an error of sw_client_call */
}

bool sw_response_finished(const sw_response *r)
{
	return r->finished;
}

/* A body operation on `r`: run by the core when `r` is its response;
 * otherwise (a later call or hello replaced it) it ends here as the core
 * ends it for a finished or forgotten response. */
enum body_op { READ_BODY, READ_STREAM, CANCEL };

static int body_op(sw_response *r, enum body_op op, sw_buf *out, const sw_body_callbacks *cb,
                   void *ud)
{
	sw_client *c = r->c;
	int rc = check_state(c);
	if (rc < 0)
		return rc;
	if (r->serial != c->core->serial) {
		sw__cli_clear_error(c->core);
		if (r->body_read || (op == CANCEL && r->finished))
			return 0;
		if (r->finished)
			return sw__cli_record(
			    c->core, SW_ERR_READING_COMPLETED,
			    "The MediumRequest 'request' has already had finish_reading "
			    "called upon it - the request has been completed and no "
			    "more data may be read.");
		return sw__cli_record_ei(c->core, SW_ERR_CLOSED, NULL);
	}
	if (op == READ_BODY)
		rc = sw_cli_conn_read_body(c->core, out);
	else if (op == READ_STREAM)
		rc = sw_cli_conn_read_streamed_body(c->core, cb, ud);
	else
		rc = sw_cli_conn_cancel_read_body(c->core);
	if (rc == 0)
		rc = drive(c);
	r->finished = sw_cli_conn_response_finished(c->core);
	if (rc == 0 && op != CANCEL && r->finished)
		r->body_read = true;
	return rc;
}

int sw_response_read_body(sw_response *r, sw_buf *out)
{
	return body_op(r, READ_BODY, out, NULL, NULL);
}

int sw_response_read_streamed_body(sw_response *r, const sw_body_callbacks *cb, void *ud)
{
	return body_op(r, READ_STREAM, NULL, cb, ud);
}

int sw_response_cancel_read_body(sw_response *r)
{
	return body_op(r, CANCEL, NULL, NULL, NULL);
}

void sw_response_del(sw_response *r)
{
	if (!r)
		return;
	sw_client *c = r->c;
	if (r->serial == c->core->serial && !sw_cli_conn_response_finished(c->core)) {
		/* The stream position is unknown: reset the connection. */
		sw_cli_conn_reset(c->core);
		if (c->medium)
			close_medium(c);
	}
	sw_free(c->mem, r->args);
	sw_free(c->mem, r);
}
