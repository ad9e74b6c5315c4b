/*
 * The client core's life cycle, its accessors and the calls its driver
 * makes (smartwire/client_conn.h): what the core wants, the connection
 * opened or closed, response bytes fed, end of stream, a failed connect,
 * write or read.  The protocol itself is in cli_ops.c (operations),
 * cli_request.c (encoding) and cli_response.c (decoding).
 */
#include <string.h>

#include "cli_impl.h"
#include "smartwire/error.h"

int sw_cli_conn_new(sw_cli_conn **out, const sw_client_config *cfg, const sw_mem *mem)
{
	if (!out)
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
	sw_cli_conn *c = sw_malloc(mem, sizeof *c);
	if (!c)
		return SW_ERR_NOMEM;
	memset(c, 0, sizeof *c);
	c->mem = mem;
	c->cfg = *cfg;
	if (cfg->headers_set && cfg->header_pairs &&
	    sw__cli_tuple_copy(mem, cfg->headers, 2 * cfg->header_pairs, &c->hdr_kv) < 0) {
		sw_free(mem, c);
		return SW_ERR_NOMEM;
	}
	c->cfg.headers = c->hdr_kv;
	if (!c->cfg.max_line)
		c->cfg.max_line = SW_CLIENT_DEFAULT_MAX_LINE;
	if (!c->cfg.max_args)
		c->cfg.max_args = SW_CLIENT_DEFAULT_MAX_ARGS;
	c->version = cfg->protocol;
	sw_buf_init(&c->hello_msg, mem);
	sw_buf_init(&c->last_text, mem);
	sw_buf_init(&c->out, mem);
	sw_buf_init(&c->msg, mem);
	*out = c;
	return 0;
}

void sw_cli_conn_del(sw_cli_conn *c)
{
	if (!c)
		return;
	sw__cli_resp_clear(c);
	sw_v3_dec_del(c->v3);
	sw_v12_dec_del(c->v12[0]);
	sw_v12_dec_del(c->v12[1]);
	sw_free(c->mem, c->hdr_kv);
	sw_free(c->mem, c->eargs);
	sw_buf_fini(&c->hello_msg);
	sw_buf_fini(&c->last_text);
	sw_buf_fini(&c->out);
	sw_buf_fini(&c->msg);
	sw_free(c->mem, c);
}

/* ---- driving ------------------------------------------------------------------- */

sw_cli_want sw_cli_conn_want(const sw_cli_conn *c)
{
	if (c->want_close)
		return SW_CLI_CLOSE;
	switch (c->phase) {
	case PH_SEND: return c->connected ? SW_CLI_WRITE : SW_CLI_CONNECT;
	case PH_READ: return SW_CLI_READ;
	default: return SW_CLI_IDLE;
	}
}

int sw_cli_conn_connected(sw_cli_conn *c)
{
	if (c->connected)
		return SW_ERR_STATE;
	c->connected = true;
	c->stats.connects++;
	return 0;
}

void sw_cli_conn_closed(sw_cli_conn *c)
{
	if (!c->connected)
		return;
	bool asked = c->want_close;
	c->connected = false;
	c->want_close = false;
	c->stats.disconnects++;
	if (asked)
		return;
	/* Lost under our feet: a response whose body is due stays the current
	 * request (as in Breezy) but cannot be read any more. */
	if (c->resp.open)
		c->resp.lost = true;
	if (c->phase != PH_IDLE) {
		c->resp.lost = false;
		sw__cli_resp_finish(c);
		sw__cli_record_code(c, SW_ERR_CLOSED);
		sw__cli_op_end(c, SW_ERR_CLOSED);
	}
}

void sw_cli_conn_reset(sw_cli_conn *c)
{
	if (c->phase != PH_IDLE) {
		sw__cli_resp_finish(c);
		sw__cli_record(c, SW_ERR_CLOSED, sw_strerror(SW_ERR_CLOSED));
		sw__cli_op_end(c, SW_ERR_CLOSED);
	}
	if (c->resp.open) {
		c->resp.lost = true;
		sw__cli_resp_finish(c);
	}
	if (c->connected)
		c->want_close = true;
}

static bool reading(const sw_cli_conn *c)
{
	return c->phase == PH_READ && c->connected && !c->want_close;
}

size_t sw_cli_conn_next_read_size(const sw_cli_conn *c)
{
	return reading(c) ? sw__cli_resp_next_read_size(c) : 0;
}

ptrdiff_t sw_cli_conn_feed(sw_cli_conn *c, const uint8_t *in, size_t len)
{
	if (!reading(c) || (!in && len))
		return SW_ERR_STATE;
	size_t k = sw__cli_resp_feed(c, in, len);
	if (c->resp.ended)
		sw__cli_op_read_ended(c);
	return (ptrdiff_t)k;
}

int sw_cli_conn_eof(sw_cli_conn *c)
{
	if (!reading(c))
		return SW_ERR_STATE;
	sw__cli_resp_eof(c);
	sw__cli_op_read_ended(c);
	return 0;
}

int sw_cli_conn_fail(sw_cli_conn *c, int err, const sw_errinfo *ei)
{
	if (err >= 0)
		return SW_ERR_INVALID_ARGUMENT;
	switch (sw_cli_conn_want(c)) {
	case SW_CLI_CONNECT:
	case SW_CLI_WRITE: sw__cli_op_send_failed(c, err, ei); return 0;
	case SW_CLI_READ:
		sw__cli_resp_fail(c, err);
		c->last_errno = ei ? ei->sys_errno : 0;
		sw__cli_op_read_ended(c);
		return 0;
	default: return SW_ERR_STATE;
	}
}

/* ---- results ---------------------------------------------------------------------- */

int sw_cli_conn_result(const sw_cli_conn *c)
{
	return c->phase == PH_IDLE ? c->result : SW_ERR_STATE;
}

const sw_slice *sw_cli_conn_args(const sw_cli_conn *c, size_t *n)
{
	bool have = c->call_ok && c->phase == PH_IDLE;
	if (n)
		*n = have ? c->resp.nargs : 0;
	return have ? c->resp.args : NULL;
}

int sw_cli_conn_response_version(const sw_cli_conn *c)
{
	return c->call_ok ? c->resp.version : 0;
}

bool sw_cli_conn_response_finished(const sw_cli_conn *c)
{
	return !c->resp.open;
}

int sw_cli_conn_hello_version(const sw_cli_conn *c)
{
	return c->done_hello ? c->hello_version : 0;
}

int sw_cli_conn_last_error(const sw_cli_conn *c, sw_errinfo *ei)
{
	if (ei) {
		const char *m = sw_cli_conn_error_message(c);
		if (c->last_err)
			sw_errinfo_set(ei, c->last_err, c->last_errno, "%s", m);
		else
			memset(ei, 0, sizeof *ei);
	}
	return c->last_err;
}

const char *sw_cli_conn_error_message(const sw_cli_conn *c)
{
	return c->msg.len ? (const char *)c->msg.data : "";
}

const sw_slice *sw_cli_conn_error_args(const sw_cli_conn *c, size_t *n)
{
	if (n)
		*n = c->neargs;
	return c->eargs;
}

int sw_cli_conn_protocol_version(const sw_cli_conn *c)
{
	return c->version;
}

void sw_cli_conn_get_stats(const sw_cli_conn *c, sw_client_stats *out)
{
	*out = c->stats;
}
