/*
 * Conformance case files: the grammar of what a step sends or expects
 * (conformance/FORMAT.md, "Messages").
 *
 *   raw EXPR | EXPR (starting with a quote, $ or helper{)
 *   v1|v2|v3 request|response [success|failed|error|*] ARGS
 *            [body EXPR]... [chunks EXPR...] [pack RECORD...] [lines E...]
 *            [starts EXPR]
 *            [stream-error ARGS] [abort] [same as reference]
 *   eof | silence DUR                        (expectations only)
 *   ATOM then ATOM ... [within DUR]          (an alternative of expect/or)
 *
 * Every byte expression is evaluated once here, with a placeholder root, so
 * that a case with a bad expression is refused when it is loaded rather
 * than when it runs.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conform_parse_impl.h"
#include "smartwire/error.h"

int sw__cf_check_expr(sw__cf_pstate *ps, const char *expr, bool arg)
{
	sw_errinfo ei;
	sw_buf b;
	sw_buf_init(&b, NULL);
	/* The names captured so far in this case are the variables it may use
	 * (with placeholder values); {rev:NAME} waits for the fixture. */
	sw_cf_ctx ctx = {.vars = &ps->decl};
	int rc = arg ? sw_cf_eval_arg(expr, &ctx, &b, &ei) : sw_cf_eval(expr, &ctx, &b, &ei);
	sw_buf_fini(&b);
	if (rc == SW_ERR_NOMEM)
		return rc;
	if (rc < 0)
		return sw__cf_fail(ps, "bad byte expression: %s", ei.text);
	return 0;
}

/* Words that end a message's argument list. */
static bool is_kw(const sw__cf_tok *t)
{
	static const char *const kws[] = {"body",   "chunks", "stream-error", "abort",  "then",
	                                  "within", "pack",   "lines",        "starts", "same"};
	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
		if (sw__cf_is(t, kws[i]))
			return true;
	return false;
}

static bool is_end(const sw__cf_tok *t)
{
	return sw__cf_is(t, "then") || sw__cf_is(t, "within");
}

/* A term that can start a byte expression without the word "raw". */
static bool is_term_start(const sw__cf_tok *t)
{
	return t->quoted || t->p[0] == '$' ||
	       (memchr(t->p, '{', t->n) && isalpha((unsigned char)t->p[0]));
}

static int parse_raw(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n, size_t *i, sw_cf_atom *a)
{
	size_t k = *i;
	if (sw__cf_is(&t[k], "raw"))
		k++;
	size_t e = k;
	while (e < n && !is_end(&t[e]))
		e++;
	if (e == k)
		return sw__cf_fail(ps, "raw needs a byte expression");
	a->kind = SW_CF_RAW;
	if (!(a->raw = sw__cf_join(t, k, e)))
		return SW_ERR_NOMEM;
	*i = e;
	return sw__cf_check_expr(ps, a->raw, false);
}

/* The argument tokens of a message, up to the first keyword. */
static int parse_args(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n, size_t *i, bool expect,
                      sw_cf_atom *a)
{
	size_t k = *i, start = k;
	int rc;
	while (k < n && !is_kw(&t[k])) {
		bool wild = sw__cf_is(&t[k], "*") || sw__cf_is(&t[k], "...");
		bool not = !t[k].quoted && t[k].n > 1 && t[k].p[0] == '!';
		if ((wild || not ) && !expect)
			return sw__cf_fail(
			    ps, "wildcards (*, ... and !WORD) are only allowed in expectations");
		if (sw__cf_is(&t[k], "...") && k + 1 < n && !is_kw(&t[k + 1]))
			return sw__cf_fail(ps, "'...' must be the last argument");
		if ((rc = sw__cf_push_str(&a->args, &a->nargs, sw__cf_tokdup(&t[k]))) < 0)
			return rc;
		if (!wild &&
		    (rc = sw__cf_check_expr(ps, a->args[a->nargs - 1] + (not ? 1 : 0), true)) < 0)
			return rc;
		k++;
	}
	a->any_args = expect && k == start;
	if (!expect && k == start && !a->response)
		return sw__cf_fail(ps, "a request needs at least a verb");
	*i = k;
	return 0;
}

/* body EXPR | body * | chunks EXPR... | stream-error ARGS | abort, repeated. */
static int parse_tail(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n, size_t *i, bool expect,
                      sw_cf_atom *a)
{
	size_t k = *i;
	int rc;
	while (k < n && !is_end(&t[k])) {
		if (sw__cf_is(&t[k], "body")) {
			k++;
			if (expect && k < n && sw__cf_is(&t[k], "*")) {
				a->any_body = true;
				k++;
				continue;
			}
			size_t e = k;
			while (e < n && !is_kw(&t[e]))
				e++;
			if (e == k)
				return sw__cf_fail(
				    ps,
				    "body needs a byte expression (use \"\" for an empty body)");
			if ((a->nbodies || a->has_pack || a->has_lines) &&
			    !(a->version == 3 && !expect))
				return sw__cf_fail(
				    ps, "only a v3 message to send may have several body parts");
			if ((rc = sw__cf_push_str(&a->bodies, &a->nbodies, sw__cf_join(t, k, e))) <
			    0)
				return rc;
			if ((rc = sw__cf_check_expr(ps, a->bodies[a->nbodies - 1], false)) < 0)
				return rc;
			k = e;
		} else if (sw__cf_is(&t[k], "chunks")) {
			if (!(a->version == 2 && a->response))
				return sw__cf_fail(ps, "chunks are only for v2 responses");
			a->chunked = true;
			if (expect && k + 1 < n && sw__cf_is(&t[k + 1], "*")) {
				a->any_body = true; /* "chunks *": any chunked body */
				k += 2;
				continue;
			}
			for (k++; k < n && !is_kw(&t[k]); k++) {
				if ((rc = sw__cf_push_str(&a->bodies, &a->nbodies,
				                          sw__cf_tokdup(&t[k]))) < 0)
					return rc;
				if ((rc = sw__cf_check_expr(ps, a->bodies[a->nbodies - 1], false)) <
				    0)
					return rc;
			}
		} else if (sw__cf_is(&t[k], "stream-error")) {
			if (!a->response || a->version == 1 || (a->version == 2 && !a->chunked))
				return sw__cf_fail(
				    ps,
				    "stream-error needs a v3 response or a v2 chunked response");
			a->has_error = true;
			for (k++; k < n && !is_kw(&t[k]); k++)
				if ((rc = sw__cf_push_str(&a->eargs, &a->neargs,
				                          sw__cf_tokdup(&t[k]))) < 0)
					return rc;
		} else if (sw__cf_is(&t[k], "pack")) {
			if (!expect || !a->response || a->version == 1 || a->has_pack ||
			    a->nbodies || a->any_body)
				return sw__cf_fail(ps,
				                   "pack is for the body of a v2 or v3 response to "
				                   "expect, instead of body or chunks");
			a->has_pack = true;
			if (a->version == 2)
				a->chunked = true;
			for (k++; k < n && !is_kw(&t[k]); k++) {
				bool wild = sw__cf_is(&t[k], "*") || sw__cf_is(&t[k], "...");
				if (sw__cf_is(&t[k], "...") && k + 1 < n && !is_kw(&t[k + 1]))
					return sw__cf_fail(ps, "'...' must be the last record");
				if ((rc = sw__cf_push_str(&a->pack, &a->npack,
				                          sw__cf_tokdup(&t[k]))) < 0)
					return rc;
				if (!wild &&
				    (rc = sw__cf_check_expr(ps, a->pack[a->npack - 1], true)) < 0)
					return rc;
			}
		} else if (sw__cf_is(&t[k], "lines")) {
			if (!expect || !a->response || a->has_lines || a->has_pack || a->nbodies ||
			    a->any_body)
				return sw__cf_fail(ps,
				                   "lines is for the body of a response to expect, "
				                   "instead of body");
			a->has_lines = true;
			for (k++; k < n && !is_kw(&t[k]); k++) {
				if ((rc = sw__cf_push_str(&a->lines, &a->nlines,
				                          sw__cf_tokdup(&t[k]))) < 0)
					return rc;
				if ((rc = sw__cf_check_expr(ps, a->lines[a->nlines - 1], true)) < 0)
					return rc;
			}
		} else if (sw__cf_is(&t[k], "starts")) {
			size_t e = k + 1;
			while (e < n && !is_kw(&t[e]))
				e++;
			if (!expect || !a->response || a->starts || a->has_lines || a->has_pack ||
			    a->nbodies || a->any_body || e == k + 1)
				return sw__cf_fail(
				    ps, "starts takes the bytes a response body to expect "
				        "begins with, instead of body");
			if (!(a->starts = sw__cf_join(t, k + 1, e)))
				return SW_ERR_NOMEM;
			if ((rc = sw__cf_check_expr(ps, a->starts, false)) < 0)
				return rc;
			k = e;
		} else if (sw__cf_is(&t[k], "same")) {
			if (!expect || k + 2 >= n || !sw__cf_is(&t[k + 1], "as") ||
			    !sw__cf_is(&t[k + 2], "reference"))
				return sw__cf_fail(ps,
				                   "'same as reference' ends a message to expect");
			a->same_as_ref = true;
			k += 3;
		} else if (sw__cf_is(&t[k], "abort")) {
			if (a->version != 3 || a->response)
				return sw__cf_fail(ps, "abort is only for v3 requests");
			a->abort = true;
			k++;
		} else {
			return sw__cf_fail(ps, "unexpected '%.*s'", (int)t[k].n, t[k].p);
		}
	}
	*i = k;
	return 0;
}

int sw__cf_parse_atom(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n, size_t *i, bool expect,
                      sw_cf_atom *a)
{
	size_t k = *i;
	if (k >= n)
		return sw__cf_fail(ps, "missing what to %s (raw, v1, v2, v3%s)",
		                   expect ? "expect" : "send", expect ? ", eof, silence" : "");
	if (sw__cf_is(&t[k], "eof") && expect) {
		a->kind = SW_CF_EOF;
		*i = k + 1;
		return 0;
	}
	if (sw__cf_is(&t[k], "silence") && expect) {
		a->kind = SW_CF_SILENCE;
		if (k + 1 >= n || sw__cf_duration(t[k + 1].p, t[k + 1].n, &a->ms) < 0)
			return sw__cf_fail(ps, "silence needs a duration such as 300ms or 2s");
		*i = k + 2;
		return 0;
	}
	if (sw__cf_is(&t[k], "raw") || is_term_start(&t[k]))
		return parse_raw(ps, t, n, i, a);
	if (!(sw__cf_is(&t[k], "v1") || sw__cf_is(&t[k], "v2") || sw__cf_is(&t[k], "v3")))
		return sw__cf_fail(ps, "unknown %s '%.*s' (raw, v1, v2, v3%s)",
		                   expect ? "expectation" : "message", (int)t[k].n, t[k].p,
		                   expect ? ", eof, silence" : "");
	a->kind = SW_CF_MSG;
	a->version = t[k].p[1] - '0';
	a->status = -1;
	k++;
	if (k < n && sw__cf_is(&t[k], "request"))
		a->response = false;
	else if (k < n && sw__cf_is(&t[k], "response"))
		a->response = true;
	else
		return sw__cf_fail(ps, "v%d must be followed by 'request' or 'response'",
		                   a->version);
	k++;
	if (a->response && a->version > 1) {
		if (k < n && sw__cf_is(&t[k], "success"))
			a->status = 1;
		else if (k < n && (sw__cf_is(&t[k], "failed") || sw__cf_is(&t[k], "error")))
			a->status = 0;
		else if (k < n && expect && sw__cf_is(&t[k], "*"))
			a->any_status = true;
		else
			return sw__cf_fail(ps, "a v%d response needs a status: success or %s%s",
			                   a->version, a->version == 2 ? "failed" : "error",
			                   expect ? " (or * for either)" : "");
		k++;
	}
	int rc = parse_args(ps, t, n, &k, expect, a);
	if (rc == 0)
		rc = parse_tail(ps, t, n, &k, expect, a);
	for (size_t j = 0; rc == 0 && j < a->nargs; j++)
		if (a->version != 3 && sw__cf_is_benc_arg(a->args[j]))
			rc = sw__cf_fail(ps, "int{} and ben{} arguments need a v3 message");
	for (size_t j = 0; rc == 0 && j < a->neargs; j++)
		if (a->version != 3 && sw__cf_is_benc_arg(a->eargs[j]))
			rc = sw__cf_fail(ps, "int{} and ben{} arguments need a v3 message");
	*i = k;
	return rc;
}

int sw__cf_parse_alt(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n, size_t i, sw_cf_step *st)
{
	sw_cf_alt *alt = sw__cf_grow((void **)&st->alts, &st->nalts, sizeof *alt);
	if (!alt)
		return SW_ERR_NOMEM;
	for (;;) {
		sw_cf_atom *a = sw__cf_grow((void **)&alt->atoms, &alt->n, sizeof *a);
		if (!a)
			return SW_ERR_NOMEM;
		int rc = sw__cf_parse_atom(ps, t, n, &i, true, a);
		if (rc < 0)
			return rc;
		if (i < n && sw__cf_is(&t[i], "then")) {
			i++;
			continue;
		}
		break;
	}
	if (i < n && sw__cf_is(&t[i], "within")) {
		uint32_t ms;
		if (i + 1 >= n || sw__cf_duration(t[i + 1].p, t[i + 1].n, &ms) < 0)
			return sw__cf_fail(ps, "within needs a duration such as 500ms or 3s");
		if (ms > st->within_ms)
			st->within_ms = ms;
		i += 2;
	}
	if (i < n)
		return sw__cf_fail(ps, "unexpected '%.*s' after the expectation", (int)t[i].n,
		                   t[i].p);
	return 0;
}
