/*
 * The client core's error record: the code, the errno behind it, str() of
 * the exception Breezy raises for it, and the server's error tuple.  Every
 * failure of the core and of its blocking driver is recorded here, so that
 * the code and its detail are read back one way (sw_cli_conn_last_error and
 * friends, sw_client_last_error).
 */
#include <string.h>

#include "cli_impl.h"
#include "smartwire/error.h"
#include "smartwire/pytext.h"

const char sw__cli_eof_text[] =
    "Connection closed: Unexpected end of message. Please check connectivity and "
    "permissions, and report a bug if problems persist. ";
const char sw__cli_eof_body_text[] =
    "Connection closed: Connection lost while reading response body. ";
const char sw__cli_eof_stream_text[] =
    "Connection closed: Connection lost while reading streamed body. ";

static bool slice_eq(sw_slice s, const char *z)
{
	size_t n = strlen(z);
	return s.n == n && (n == 0 || memcmp(s.p, z, n) == 0);
}

void sw__cli_clear_error(sw_cli_conn *c)
{
	c->last_err = 0;
	c->last_errno = 0;
	sw_buf_reset(&c->msg);
	sw_free(c->mem, c->eargs);
	c->eargs = NULL;
	c->neargs = 0;
}

/* Starts a new record of `err`: the text is appended next.  The tuple of an
 * earlier error is dropped. */
static void begin(sw_cli_conn *c, int err)
{
	sw__cli_clear_error(c);
	c->last_err = err;
}

/* Terminates the text; a text that ran out of memory is dropped whole
 * rather than shown cut. */
static int end(sw_cli_conn *c, int rc)
{
	if (rc || sw_buf_append_byte(&c->msg, 0))
		sw_buf_reset(&c->msg);
	return c->last_err;
}

/* The unknown-method text, keeping the tuple already in the record. */
static int unknown_text(sw_cli_conn *c, const uint8_t *verb, size_t n, bool have_verb)
{
	c->last_err = SW_ERR_UNKNOWN_METHOD;
	c->last_errno = 0;
	sw_buf_reset(&c->msg);
	int rc = sw_buf_append_str(&c->msg, "The server does not recognise the '");
	if (!rc && have_verb)
		rc = sw_py_repr_bytes(&c->msg, verb, n);
	return end(c, rc ? rc : sw_buf_append_str(&c->msg, "' request."));
}

int sw__cli_record(sw_cli_conn *c, int err, const char *text)
{
	begin(c, err);
	return end(c, sw_buf_append_str(&c->msg, text));
}

int sw__cli_record_ei(sw_cli_conn *c, int err, const sw_errinfo *ei)
{
	sw__cli_record(c, err, ei && ei->text[0] ? ei->text : sw_strerror(err));
	c->last_errno = ei ? ei->sys_errno : 0;
	return err;
}

int sw__cli_record_code(sw_cli_conn *c, int err)
{
	if (c->last_err != err)
		return sw__cli_record(c, err, sw_strerror(err));
	/* Recorded already, perhaps with the server's tuple, which stays; a
	 * text that ran out of memory is replaced by the code's. */
	if (!c->msg.len && sw_buf_append(&c->msg, sw_strerror(err), strlen(sw_strerror(err)) + 1))
		sw_buf_reset(&c->msg);
	return err;
}

int sw__cli_record_repr(sw_cli_conn *c, int err, const char *prefix, const uint8_t *p, size_t n)
{
	begin(c, err);
	int rc = sw_buf_append_str(&c->msg, prefix);
	return end(c, rc ? rc : sw_py_repr_bytes(&c->msg, p, n));
}

int sw__cli_record_unknown(sw_cli_conn *c, const uint8_t *verb, size_t n)
{
	return unknown_text(c, verb, n, true);
}

int sw__cli_record_write_reset(sw_cli_conn *c, int err, int sys_errno)
{
	/* Breezy's send_all / pipe write: ConnectionReset(msg, e), printed as
	 * "Connection closed: <msg> <e>" where str(OSError) is "[Errno N] ...". */
	begin(c, err);
	c->last_errno = sys_errno;
	int rc = sw_buf_append_str(&c->msg, "Connection closed: Error trying to write to socket");
	if (!rc && sys_errno) {
		char tmp[128];
		rc = sw_buf_append_str(&c->msg, " [Errno ");
		rc = rc ? rc : sw_buf_append_u64(&c->msg, (uint64_t)sys_errno);
		rc = rc ? rc : sw_buf_append_str(&c->msg, "] ");
		rc = rc ? rc
		        : sw_buf_append_str(&c->msg, sw_sys_strerror(sys_errno, tmp, sizeof tmp));
	}
	return end(c, rc);
}

int sw__cli_tuple_copy(const sw_mem *mem, const sw_slice *a, size_t n, sw_slice **out)
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

int sw__cli_set_error_args(sw_cli_conn *c, const sw_slice *a, size_t n)
{
	sw_slice *copy;
	int rc = sw__cli_tuple_copy(c->mem, a, n, &copy);
	if (rc < 0)
		return rc;
	sw_free(c->mem, c->eargs);
	c->eargs = copy;
	c->neargs = n;
	return 0;
}

int sw__cli_record_server_error(sw_cli_conn *c, const sw_slice *a, size_t n, bool translate_unknown)
{
	/* Copy first: `a` may be the record's own tuple (a stream's error). */
	sw_slice *copy;
	if (sw__cli_tuple_copy(c->mem, a, n, &copy) < 0)
		return sw__cli_record(c, SW_ERR_NOMEM, sw_strerror(SW_ERR_NOMEM));
	sw__cli_clear_error(c);
	c->eargs = copy;
	c->neargs = n;
	/* Breezy _raise_smart_server_error: UnknownSmartMethod(args[1]) for
	 * ("UnknownMethod", verb), else ErrorFromSmartServer(args). */
	if (translate_unknown && n >= 1 && slice_eq(copy[0], "UnknownMethod")) {
		/* Without a verb Breezy fails on args[1]; the text goes without. */
		return n >= 2 ? unknown_text(c, copy[1].p, copy[1].n, true)
		              : unknown_text(c, NULL, 0, false);
	}
	c->last_err = SW_ERR_ERROR_RESPONSE;
	int rc = sw_buf_append_str(&c->msg, "Error received from smart server: ");
	return end(c, rc ? rc : sw_py_repr_tuple(&c->msg, copy, n));
}

bool sw__cli_err_desyncs(int err)
{
	switch (err) {
	case SW_ERR_ERROR_RESPONSE:
	case SW_ERR_UNKNOWN_METHOD:
	case SW_ERR_TOO_MANY_REQUESTS:
	case SW_ERR_STATE:
	case SW_ERR_INVALID_ARGUMENT:
	case SW_ERR_BAD_ARGUMENT_BYTE:
	case SW_ERR_READING_COMPLETED: return false;
	default: return true;
	}
}
