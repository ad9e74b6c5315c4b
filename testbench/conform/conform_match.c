/*
 * Conformance runner: matching what the peer sends against what a case
 * expects.
 *
 * Expected messages are decoded with the reference decoders and compared
 * by meaning, not incidental framing: the headers of a v3 response may
 * differ (any dict is accepted), a body may arrive in several bytes parts
 * or chunks.  Everything else is compared exactly, and the raw bytes stay
 * in the transcript as evidence.  A mismatch is described in the words a
 * report shows ("v3 response error [...] (at offset 42)").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/bencode.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

/* ---- Decoding what the peer sent ---------------------------------------- */

typedef struct dmsg {
	int version;
	int status;        /* -1 none, 1 success, 0 failed; 2 = odd status byte */
	uint8_t odd_status;
	sw__cf_items args;
	bool have_args;
	bool args_not_list;
	sw_buf args_text;  /* a non-list structure, formatted */
	bool has_body;
	sw_buf body;
	size_t *parts; /* v3 bytes part starts in body */
	size_t nparts;
	bool in_error;     /* v3: oE after args/body seen, waiting for the struct */
	bool has_error;
	sw__cf_items eargs;
	bool extra;        /* parts the conventional grammar does not allow */
	const sw__cf_items *want_args; /* v1/v2: decide on the body mode in on_args */
	int want_mode;
	sw_v12_dec *v12;
	bool failed_status_no_body;
} dmsg;

static int v3_on_byte(void *ud, uint8_t byte)
{
	dmsg *m = ud;
	if (!m->have_args && m->status == -1) {
		m->status = byte == 'S' ? 1 : byte == 'E' ? 0 : 2;
		m->odd_status = byte;
	} else if (m->have_args && byte == 'E' && !m->in_error && !m->has_error) {
		m->in_error = true;
	} else if (m->have_args && byte == 'S' && !m->in_error) {
		/* oS after a request body: "end of body, success", ignored */
	} else {
		m->extra = true;
	}
	return 0;
}

/* The elements of an args list: byte strings as themselves, any other
 * value (an integer, a list) as its bencoding, flagged, so that it matches
 * an int{} or ben{} argument. */
static int struct_items(const sw_bval *v, sw__cf_items *out)
{
	for (size_t i = 0; i < v->u.list.n; i++) {
		const sw_bval *e = &v->u.list.items[i];
		int rc;
		if (e->type == SW_BSTR) {
			rc = sw__cf_items_push(out, e->u.str.p, e->u.str.n, 0);
		} else {
			sw_buf b;
			sw_buf_init(&b, NULL);
			rc = sw_bencode(&b, e) < 0 ? 1 : sw__cf_items_push(out, b.data, b.len, 0);
			if (rc == 0)
				out->v[out->n - 1].benc = true;
			sw_buf_fini(&b);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int v3_on_structure(void *ud, const sw_bval *v)
{
	dmsg *m = ud;
	if (!m->have_args) {
		m->have_args = true;
		int rc = v->type == SW_BLIST ? struct_items(v, &m->args) : 1;
		if (rc < 0)
			return rc;
		if (rc == 1) {
			sw__cf_items_free(&m->args);
			m->args_not_list = true;
			return sw_bval_format(&m->args_text, v);
		}
		return 0;
	}
	if (m->in_error) {
		m->in_error = false;
		m->has_error = true;
		int rc = v->type == SW_BLIST ? struct_items(v, &m->eargs) : 1;
		if (rc == 1)
			m->extra = true;
		return rc < 0 ? rc : 0;
	}
	m->extra = true;
	return 0;
}

static int v3_on_bytes_begin(void *ud, uint32_t total)
{
	dmsg *m = ud;
	(void)total;
	if (!m->have_args || m->in_error || m->has_error)
		m->extra = true;
	m->has_body = true;
	size_t *p = realloc(m->parts, (m->nparts + 1) * sizeof *p);
	if (!p)
		return -1;
	m->parts = p;
	p[m->nparts++] = m->body.len;
	return 0;
}

static int v3_on_bytes(void *ud, const uint8_t *p, size_t n)
{
	dmsg *m = ud;
	return sw_buf_append(&m->body, p, n) < 0 ? -1 : 0;
}

static bool args_match(const sw__cf_items *want, const sw__cf_items *got);

static int v12_on_status(void *ud, bool success)
{
	dmsg *m = ud;
	m->status = success ? 1 : 0;
	return 0;
}

static int v12_on_args(void *ud, const sw_slice *args, size_t n)
{
	dmsg *m = ud;
	m->have_args = true;
	for (size_t i = 0; i < n; i++)
		if (sw__cf_items_push(&m->args, args[i].p, args[i].n, 0) < 0)
			return -1;
	/* Read a body only when this is the response the case expects a body
	 * with: a v1/v2 reader cannot tell from the wire (§2.6). */
	if (m->want_mode != SW_BODY_NONE && m->status != 0 &&
	    (!m->want_args || args_match(m->want_args, &m->args)))
		return sw_v12_dec_expect_body(m->v12, (sw_body_mode)m->want_mode) < 0 ? -1 : 0;
	return 0;
}

static int v12_on_body(void *ud, const uint8_t *p, size_t n)
{
	dmsg *m = ud;
	m->has_body = true;
	return sw_buf_append(&m->body, p, n) < 0 ? -1 : 0;
}

static int v12_on_body_begin(void *ud, uint64_t len)
{
	dmsg *m = ud;
	(void)len;
	m->has_body = true;
	return 0;
}

static int v12_on_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	dmsg *m = ud;
	m->has_error = true;
	for (size_t i = 0; i < n; i++)
		if (sw__cf_items_push(&m->eargs, args[i].p, args[i].n, 0) < 0)
			return -1;
	return 0;
}

static bool args_match(const sw__cf_items *want, const sw__cf_items *got)
{
	size_t i = 0;
	for (; i < want->n; i++) {
		if (want->v[i].wild == 2)
			return true;
		if (i >= got->n)
			return false;
		if (want->v[i].wild == 1)
			continue;
		if (want->v[i].wild == 3) {
			if (want->v[i].n == got->v[i].n &&
			    memcmp(want->v[i].p, got->v[i].p, got->v[i].n) == 0)
				return false;
			continue;
		}
		if (want->v[i].benc != got->v[i].benc || want->v[i].n != got->v[i].n ||
		    memcmp(want->v[i].p, got->v[i].p, got->v[i].n) != 0)
			return false;
	}
	return i == got->n;
}

static int describe_dmsg(sw_buf *out, const dmsg *m, bool response)
{
	int rc = sw__cf_appendf(out, "v%d %s%s", m->version, response ? "response" : "request",
	                        m->status == 2 ? "" : sw__cf_status_word(m->version, m->status));
	if (rc == 0 && m->status == 2)
		rc = sw__cf_appendf(out, " (status byte \\x%02x)", m->odd_status);
	if (rc == 0 && m->version == 3 && m->status == -1 && response)
		rc = sw_buf_append_str(out, " (no status byte)");
	if (rc == 0)
		rc = sw_buf_append_byte(out, ' ');
	if (rc == 0)
		rc = m->args_not_list ? sw_buf_append(out, m->args_text.data, m->args_text.len)
		     : m->have_args   ? sw__cf_items_describe(out, &m->args)
		                      : sw_buf_append_str(out, "(no args)");
	if (rc == 0 && m->has_body) {
		rc = sw_buf_append_str(out, " body ");
		if (rc == 0)
			rc = sw__cf_quote(out, m->body.data, m->body.len, SW__CF_SHOW_MAX);
	}
	if (rc == 0 && m->has_error) {
		rc = sw_buf_append_str(out, " stream-error ");
		if (rc == 0)
			rc = sw__cf_items_describe(out, &m->eargs);
	}
	if (rc == 0 && m->extra)
		rc = sw_buf_append_str(out, " (with parts out of order)");
	return rc;
}

/* Whether the expectation spells out an unknown-method answer: a literal
 * "UnknownMethod" (v3), or a literal "error" and a literal "Generic bzr
 * smart protocol error: bad request ..." (v1/v2).  Only such an atom may
 * match one; a wildcard error ("error ...") must not take "I do not know
 * this verb" for the error it expects, so that a peer without the verb is
 * reported unimplemented, never as passing.  In v3 always; in v1/v2, whose
 * unknown-verb answer is a generic error text that the file-level cases
 * (made-up verbs, a 64 KiB line) expect with wildcards, in the cases of
 * the verbs above the file level (those with a bzr fixture). */
static bool spells_unknown(const sw__cf_items *w)
{
	static const char pre[] = "Generic bzr smart protocol error: bad request ";
	if (w->n >= 1 && !w->v[0].wild && w->v[0].n == 13 &&
	    memcmp(w->v[0].p, "UnknownMethod", 13) == 0)
		return true;
	return w->n >= 2 && !w->v[0].wild && !w->v[1].wild && w->v[0].n == 5 &&
	       memcmp(w->v[0].p, "error", 5) == 0 && w->v[1].n > sizeof pre - 1 &&
	       memcmp(w->v[1].p, pre, sizeof pre - 1) == 0;
}

static bool is_unknown_method(const dmsg *m)
{
	if (!m->have_args || m->args.n < 1)
		return false;
	if (m->version == 3)
		return m->args.v[0].n == 13 && memcmp(m->args.v[0].p, "UnknownMethod", 13) == 0;
	static const char pre[] = "Generic bzr smart protocol error: bad request ";
	return m->args.n == 2 && m->args.v[0].n == 5 && memcmp(m->args.v[0].p, "error", 5) == 0 &&
	       m->args.v[1].n > sizeof pre - 1 && memcmp(m->args.v[1].p, pre, sizeof pre - 1) == 0;
}

/* Compares a complete decoded message with what the atom expects.
 * `pack_ok`: the verdict on the body for an atom with a pack spec. */
static bool same_message(const sw_cf_atom *a, const dmsg *m, const sw__cf_items *wargs,
                         const sw_buf *wbody, const sw__cf_items *weargs, bool pack_ok)
{
	if (a->response && a->status != -1 && !a->any_status && m->status != a->status)
		return false;
	if (a->version == 3 && a->response && m->status == -1)
		return false; /* Breezy always sends a status byte */
	/* "..." alone accepts any args, even a structure that is not a list
	 * of byte strings. */
	bool anything = a->any_args || (wargs->n >= 1 && wargs->v[0].wild == 2);
	if (!anything && (m->args_not_list || !args_match(wargs, &m->args)))
		return false;
	if ((a->has_pack || a->has_lines || a->starts) && !(m->has_body && pack_ok))
		return false;
	if (a->any_body && !m->has_body)
		return false;
	bool body_given = a->nbodies || (a->chunked && !a->has_pack);
	if (!a->any_body && !a->has_pack && !a->has_lines && !a->starts && body_given &&
	    (!m->has_body || m->body.len != wbody->len ||
	     (wbody->len && memcmp(m->body.data, wbody->data, wbody->len) != 0)))
		return false;
	/* Without a body in the atom there must be none, except that "same as
	 * reference" leaves the body to the comparison with the reference. */
	if (!a->any_body && !a->has_pack && !a->has_lines && !a->starts && !body_given &&
	    m->has_body && !a->same_as_ref)
		return false;
	if (a->has_error != m->has_error || (a->has_error && !args_match(weargs, &m->eargs)))
		return false;
	if (m->extra)
		return false;
	if (a->version == 3 && !a->response && a->abort != m->has_error)
		return false;
	return true;
}

void sw__cf_msg_free(sw__cf_msg *m)
{
	free(m->parts);
	sw__cf_items_free(&m->args);
	sw__cf_items_free(&m->eargs);
	sw_buf_fini(&m->body);
	memset(m, 0, sizeof *m);
}

static int match_msg(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                     sw_buf *actual, bool *unknown, sw__cf_msg *got)
{
	sw_errinfo ei;
	int verdict = -1; /* before any goto out */
	sw__cf_items wargs = {0}, wbodies = {0}, weargs = {0};
	dmsg m = {.version = a->version, .status = -1};
	sw_buf_init(&m.args_text, NULL);
	sw_buf_init(&m.body, NULL);
	sw_buf wbody;
	sw_buf_init(&wbody, NULL);
	sw_v3_dec *d3 = NULL;
	int rc = sw__cf_eval_args(a->args, a->nargs, ctx, &wargs, &ei);
	if (rc == 0)
		rc = sw__cf_eval_bodies(a->bodies, a->nbodies, ctx, &wbodies, &ei);
	if (rc == 0)
		rc = sw__cf_eval_args(a->eargs, a->neargs, ctx, &weargs, &ei);
	if (rc == 0)
		rc = sw__cf_items_join(&wbodies, &wbody);
	if (rc < 0) {
		if (rc != SW_ERR_NOMEM)
			sw__cf_appendf(actual, "cannot evaluate the expectation: %s", ei.text);
		goto out;
	}
	if (a->version == 3) {
		sw_v3_config cfg;
		memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
		cfg.expect_marker = true;
		cfg.max_struct = 16u << 20;
		sw_v3_callbacks cb = {.on_byte = v3_on_byte, .on_structure = v3_on_structure,
		                      .on_bytes_begin = v3_on_bytes_begin, .on_bytes = v3_on_bytes};
		rc = sw_v3_dec_new(&d3, &cfg, &cb, &m, NULL);
	} else {
		sw_v12_config cfg = {0};
		cfg.expect_request_marker = !a->response && a->version == 2;
		sw_v12_callbacks cb = {.on_status = v12_on_status, .on_args = v12_on_args,
		                       .on_body_begin = v12_on_body_begin, .on_body = v12_on_body,
		                       .on_chunk = v12_on_body, .on_error_chunks = v12_on_error_chunks};
		m.want_mode = (a->chunked || a->has_pack) ? SW_BODY_CHUNKED
		              : (a->nbodies || a->any_body || a->has_lines || a->starts)
		                  ? SW_BODY_PREFIXED
		                  : SW_BODY_NONE;
		m.want_args = a->any_args ? NULL : &wargs;
		rc = sw_v12_dec_new(&m.v12, a->response ? SW_V12_RESPONSE : SW_V12_REQUEST, a->version,
		                    &cfg, &cb, &m, NULL);
	}
	if (rc < 0)
		goto out;
	size_t start = c->pos;
	for (;;) {
		if (c->pos < c->rx.len) {
			ptrdiff_t n = d3 ? sw_v3_dec_feed(d3, sw__cf_rx_at(c, c->pos), c->rx.len - c->pos)
			                 : sw_v12_dec_feed(m.v12, sw__cf_rx_at(c, c->pos), c->rx.len - c->pos);
			if (n < 0) {
				sw__cf_appendf(actual, "bytes that do not decode as a v%d %s (%s) at offset %zu: ",
				               a->version, a->response ? "response" : "request", sw_errname((int)n), start);
				sw__cf_quote(actual, sw__cf_rx_at(c, start), c->rx.len - start,
				             SW__CF_SHOW_MAX);
				verdict = 0;
				break;
			}
			c->pos += (size_t)n;
			if (d3 ? sw_v3_dec_done(d3) : sw_v12_dec_done(m.v12))
				break;
		}
		if (c->pos < c->rx.len)
			continue;
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM) {
			rc = f;
			goto out;
		}
		if (f <= 0) {
			if (c->pos == start)
				sw__cf_appendf(actual, f == 0 ? "end of stream (nothing received)"
				                              : "nothing received before the time limit");
			else {
				sw__cf_appendf(actual, "%s inside the message after %zu bytes: ",
				               f == 0 ? "end of stream" : "time limit reached", c->pos - start);
				sw__cf_quote(actual, sw__cf_rx_at(c, start), c->pos - start,
				             SW__CF_SHOW_MAX);
			}
			verdict = 0;
			break;
		}
	}
	if (verdict == 0)
		goto out;
	/* The message is complete: compare. */
	*unknown = is_unknown_method(&m);
	sw_buf packwhy;
	sw_buf_init(&packwhy, NULL);
	int pack_ok = !m.has_body    ? 0
	              : a->has_pack  ? sw__cf_pack_match(a, ctx, m.body.data, m.body.len, &packwhy)
	              : a->has_lines ? sw__cf_lines_match(a, ctx, &m.body, &packwhy)
	              : a->starts    ? sw__cf_starts_match(a, ctx, &m.body)
	                             : 0;
	if (pack_ok < 0) {
		rc = pack_ok;
		sw_buf_fini(&packwhy);
		goto out;
	}
	bool ok = same_message(a, &m, &wargs, &wbody, &weargs, pack_ok == 1);
	if (ok && *unknown && a->response && !spells_unknown(&wargs) && m.args.n >= 2 &&
	    !m.args.v[1].benc && (a->version == 3 || c->strict_unknown))
		ok = false;
	if (!ok) {
		describe_dmsg(actual, &m, a->response);
		sw__cf_appendf(actual, " (at offset %zu)", start);
		if (packwhy.len) {
			sw_buf_append_str(actual, a->has_pack ? "; body as a pack container: "
			                                      : "; body as lines: ");
			sw_buf_append(actual, packwhy.data, packwhy.len);
		}
	}
	sw_buf_fini(&packwhy);
	if (ok && got) {
		/* The decoded message moves to the caller. */
		got->version = m.version;
		got->status = m.status;
		got->args_not_list = m.args_not_list;
		got->args = m.args;
		got->eargs = m.eargs;
		got->has_body = m.has_body;
		got->body = m.body;
		got->parts = m.parts;
		got->nparts = m.nparts;
		m.parts = NULL;
		got->has_error = m.has_error;
		memset(&m.args, 0, sizeof m.args);
		memset(&m.eargs, 0, sizeof m.eargs);
		sw_buf_init(&m.body, NULL);
	}
	verdict = ok;
out:
	sw_v3_dec_del(d3);
	sw_v12_dec_del(m.v12);
	sw__cf_items_free(&m.args);
	sw__cf_items_free(&m.eargs);
	sw_buf_fini(&m.args_text);
	sw_buf_fini(&m.body);
	free(m.parts);
	sw_buf_fini(&wbody);
	sw__cf_items_free(&wargs);
	sw__cf_items_free(&wbodies);
	sw__cf_items_free(&weargs);
	return rc < 0 ? (rc == SW_ERR_NOMEM ? rc : 0) : verdict;
}

/* A raw expectation of a response that did not match: was the answer the
 * peer's "unknown method"?  The message is decoded (reading on up to the
 * deadline) with the version the expected bytes start with; the position
 * is restored. */
static bool raw_unknown(sw__cf_conn *c, const sw_buf *want, const sw_cf_ctx *ctx, int64_t deadline)
{
	static const char v3m[] = "bzr message 3 (bzr 1.6)\n", v2m[] = "bzr response 2\n";
	sw_cf_atom tmp;
	memset(&tmp, 0, sizeof tmp);
	tmp.kind = SW_CF_MSG;
	tmp.response = true;
	tmp.any_args = tmp.any_status = tmp.same_as_ref = true;
	tmp.status = -1;
	if (want->len >= sizeof v3m - 1 && memcmp(want->data, v3m, sizeof v3m - 1) == 0)
		tmp.version = 3;
	else if (want->len >= sizeof v2m - 1 && memcmp(want->data, v2m, sizeof v2m - 1) == 0)
		tmp.version = 2;
	else
		return false;
	size_t save = c->pos;
	bool unknown = false;
	sw_buf scratch;
	sw_buf_init(&scratch, NULL);
	match_msg(c, &tmp, ctx, deadline, &scratch, &unknown, NULL);
	sw_buf_fini(&scratch);
	c->pos = save;
	return unknown;
}

static int match_raw(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                     sw_buf *actual, bool *unknown)
{
	sw_errinfo ei;
	sw_buf want;
	sw_buf_init(&want, NULL);
	int rc = sw_cf_eval(a->raw, ctx, &want, &ei);
	if (rc < 0) {
		sw_buf_fini(&want);
		if (rc == SW_ERR_NOMEM)
			return rc;
		sw__cf_appendf(actual, "cannot evaluate the expectation: %s", ei.text);
		return 0;
	}
	int verdict = 1;
	for (;;) {
		size_t have = c->rx.len - c->pos;
		size_t cmp = have < want.len ? have : want.len;
		if (cmp && memcmp(sw__cf_rx_at(c, c->pos), want.data, cmp) != 0) {
			verdict = 0;
			break;
		}
		if (have >= want.len)
			break;
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM) {
			sw_buf_fini(&want);
			return f;
		}
		if (f <= 0) {
			verdict = 0;
			sw__cf_appendf(actual, "%s after %zu bytes; ", f == 0 ? "end of stream" : "time limit reached",
			               have);
			break;
		}
	}
	if (verdict) {
		c->pos += want.len;
	} else {
		size_t have = c->rx.len - c->pos;
		sw_buf_append_str(actual, "raw ");
		sw__cf_quote(actual, sw__cf_rx_at(c, c->pos),
		             have < want.len + 64 ? have : want.len + 64, SW__CF_SHOW_MAX);
		/* Point at the first differing byte. */
		size_t k = 0;
		while (k < have && k < want.len && c->rx.data[c->pos + k] == want.data[k])
			k++;
		if (k < have && k < want.len)
			sw__cf_appendf(actual, " (first difference at byte %zu of the expected %zu)", k, want.len);
		*unknown = raw_unknown(c, &want, ctx, deadline);
	}
	sw_buf_fini(&want);
	return verdict;
}

static int match_eof(sw__cf_conn *c, int64_t deadline, sw_buf *actual)
{
	for (;;) {
		if (c->rx.len > c->pos) {
			sw_buf_append_str(actual, "more bytes instead of the end of stream: ");
			sw__cf_quote(actual, sw__cf_rx_at(c, c->pos), c->rx.len - c->pos,
			             SW__CF_SHOW_MAX);
			return 0;
		}
		if (c->eof)
			return 1;
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM)
			return f;
		if (f == SW_ERR_TIMEOUT) {
			sw_buf_append_str(actual, "the connection stayed open until the time limit");
			return 0;
		}
	}
}

/* Silence lasts until `deadline` (the caller computes it from the scaled
 * duration of the atom). */
static int match_silence(sw__cf_conn *c, int64_t deadline, sw_buf *actual)
{
	for (;;) {
		if (c->rx.len > c->pos) {
			sw_buf_append_str(actual, "bytes during the silence: ");
			sw__cf_quote(actual, sw__cf_rx_at(c, c->pos), c->rx.len - c->pos,
			             SW__CF_SHOW_MAX);
			return 0;
		}
		if (c->eof)
			return 1; /* a closed connection is silent too */
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM)
			return f;
		if (f == SW_ERR_TIMEOUT)
			return 1;
	}
}

int sw__cf_match(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                 sw_buf *actual, bool *unknown, sw__cf_msg *got)
{
	*unknown = false;
	switch (a->kind) {
	case SW_CF_RAW: return match_raw(c, a, ctx, deadline, actual, unknown);
	case SW_CF_MSG: return match_msg(c, a, ctx, deadline, actual, unknown, got);
	case SW_CF_EOF:
		return match_eof(c, deadline, actual);
	case SW_CF_SILENCE:
		return match_silence(c, deadline, actual);
	}
	return 0;
}
