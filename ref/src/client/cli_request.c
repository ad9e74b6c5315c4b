/*
 * Request encoding for the client core: the whole message of a call in v3,
 * v2 or v1 (a v3 body stream piece by piece as its producer delivers it),
 * and whether a request may be sent twice (Breezy's registry info,
 * smartwire/verbs.h; client._SmartClientRequest._is_safe_to_send_twice).
 */
#include <string.h>

#include "cli_impl.h"
#include "smartwire/error.h"
#include "smartwire/v12.h"
#include "smartwire/verbs.h"

bool sw__cli_safe_to_send_twice(const sw_cli_conn *c, const sw_call *call)
{
	if (call->body_kind == SW_CALL_BODY_STREAM || c->cfg.no_retry)
		return false;
	/* request_handlers.get_info(verb): an unknown verb is never resent. */
	const sw_verb_info *v = sw_verb_lookup(call->verb.p, call->verb.n);
	return v && sw_verb_class_retries(v->safety);
}

/* ---- encoding ---------------------------------------------------------- */

/* The whole tuple (verb, args...) in *all; *heap is set when it had to be
 * allocated (free it with sw_free). */
static int full_args(sw_cli_conn *c, const sw_call *call, sw_slice *stack, size_t nstack,
                     sw_slice **all, sw_slice **heap)
{
	size_t n = call->nargs + 1;
	*heap = NULL;
	*all = stack;
	if (n > nstack) {
		*heap = *all = sw_malloc(c->mem, n * sizeof(sw_slice));
		if (!*all)
			return SW_ERR_NOMEM;
	}
	(*all)[0] = call->verb;
	if (call->nargs)
		memcpy(*all + 1, call->args, call->nargs * sizeof(sw_slice));
	return 0;
}

static int put_v3(sw_cli_conn *c, const sw_call *call, const sw_slice *a, size_t n)
{
	sw_buf *o = &c->out;
	int rc = sw_v3_put_marker(o);
	if (!rc)
		rc = c->cfg.headers_set ? sw_v3_put_headers(o, c->cfg.headers, c->cfg.header_pairs)
		                        : sw_v3_put_default_headers(o);
	if (!rc)
		rc = sw_v3_put_args(o, a, n);
	if (!rc && call->body_kind == SW_CALL_BODY_BYTES) {
		rc = sw_v3_put_bytes(o, call->body.p, call->body.n);
	} else if (!rc && call->body_kind == SW_CALL_BODY_READV) {
		sw_buf rv;
		sw_buf_init(&rv, c->mem);
		rc = sw_readv_serialise(&rv, call->ranges, call->nranges);
		if (!rc)
			rc = sw_v3_put_bytes(o, rv.data, rv.len);
		sw_buf_fini(&rv);
	}
	if (!rc && call->body_kind != SW_CALL_BODY_STREAM)
		rc = sw_v3_put_end(o);
	return rc;
}

int sw__cli_encode_call(sw_cli_conn *c, const sw_call *call, int version)
{
	sw_buf_reset(&c->out);
	c->out_off = 0;
	c->stream = ST_NONE;
	if (version < 3 && call->body_kind == SW_CALL_BODY_STREAM) {
		/* Breezy SmartClientRequestProtocolOne.call_with_body_stream:
		 * nothing is sent; the verb counts as unknown to the server. */
		return sw__cli_record_unknown(c, call->verb.p, call->verb.n);
	}
	sw_slice stack[8], *all, *heap;
	int rc = full_args(c, call, stack, 8, &all, &heap);
	if (rc < 0)
		return rc;
	size_t n = call->nargs + 1;
	/* The whole message goes out in one write, as Breezy's encoders buffer
	 * it until the end: Breezy's pipe server answers a call as soon as it has
	 * the args, and if the final bytes of a request arrived separately they
	 * could be read together with the next request into the server's stdin
	 * buffer, where its select() does not see them (protocol-reference §6.1)
	 * and the next call would hang.  Only body streams are written piecewise,
	 * flushed after the head and after each chunk like Breezy. */
	if (version == 3)
		rc = put_v3(c, call, all, n);
	else if (call->body_kind == SW_CALL_BODY_READV)
		rc = sw_v12_encode_request_readv(&c->out, version, all, n, call->ranges,
		                                 call->nranges);
	else
		rc = sw_v12_encode_request(&c->out, version, all, n,
		                           call->body_kind == SW_CALL_BODY_BYTES ? &call->body
		                                                                 : NULL);
	sw_free(c->mem, heap);
	if (rc == 0 && version == 3 && call->body_kind == SW_CALL_BODY_STREAM)
		c->stream = ST_PULL;
	return rc;
}

int sw__cli_encode_stream_next(sw_cli_conn *c, const sw_call *call)
{
	sw_slice chunk = {NULL, 0};
	int more = call->stream(call->stream_ud, &chunk);
	sw_buf_reset(&c->out);
	c->out_off = 0;
	if (more < 0) {
		c->stream = ST_ABORT;
		return sw_v3_encode_request_abort(&c->out);
	}
	if (more == 0) {
		c->stream = ST_END;
		return sw_v3_put_end(&c->out);
	}
	if (chunk.n > UINT32_MAX)
		return SW_ERR_INVALID_ARGUMENT;
	int rc = sw_v3_put_bytes_prefix(&c->out, (uint32_t)chunk.n);
	return rc || !chunk.n ? rc : sw_buf_append(&c->out, chunk.p, chunk.n);
}
