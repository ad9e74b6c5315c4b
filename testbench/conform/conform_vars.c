/*
 * Conformance runner: variables (conformance/FORMAT.md, "Variables").
 *
 * {root} and {version} were the only placeholders; a case now also names
 * values it captured from an earlier answer ("capture btok arg 1" after an
 * expect: a lock token, a write-group token, a revision id) and the
 * revision ids of its bzr fixture ({rev:standalone.r2}, from the fixture's
 * REVISIONS file).  They expand wherever {root} does: in quoted strings and
 * bare-word arguments, so that a later request and a later expectation
 * carry exactly the bytes the server handed out.
 *
 * A brace that is not a variable's syntax stays literal text, and without
 * a table (ctx->vars NULL: the public sw_cf_eval used by other tools)
 * every brace but {root} and {version} does, as before variables existed.
 */
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/bencode.h"
#include "smartwire/error.h"

#define MAX_NAME 64

bool sw__cf_var_name_ok(const char *name, size_t n)
{
	if (n == 0 || n > MAX_NAME || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return false;
	/* The runner's own names (conform_bytes.c). */
	if ((n == 4 && memcmp(name, "root", 4) == 0) || (n == 7 && memcmp(name, "version", 7) == 0) ||
	    (n == 7 && memcmp(name, "outside", 7) == 0))
		return false;
	return true;
}

/* A revision name of REVISIONS: [a-z0-9._-]+. */
static bool rev_name_ok(const uint8_t *p, size_t n)
{
	if (n == 0 || n > MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '.' ||
		      p[i] == '-' || p[i] == '_'))
			return false;
	return true;
}

const sw__cf_var *sw__cf_vars_get(const sw_cf_vars *vs, const char *name, size_t nl)
{
	for (size_t i = 0; vs && i < vs->n; i++)
		if (strlen(vs->v[i].name) == nl && memcmp(vs->v[i].name, name, nl) == 0)
			return &vs->v[i];
	return NULL;
}

int sw__cf_vars_set(sw_cf_vars *vs, const char *name, size_t nl, const void *p, size_t n)
{
	uint8_t *copy = malloc(n + 1);
	if (!copy)
		return SW_ERR_NOMEM;
	if (n)
		memcpy(copy, p, n);
	copy[n] = 0;
	sw__cf_var *have = (sw__cf_var *)sw__cf_vars_get(vs, name, nl);
	if (have) {
		free(have->p);
		have->p = copy;
		have->n = n;
		return 0;
	}
	sw__cf_var *v = realloc(vs->v, (vs->n + 1) * sizeof *v);
	if (!v) {
		free(copy);
		return SW_ERR_NOMEM;
	}
	vs->v = v;
	v[vs->n].name = sw__cf_strndup(name, nl);
	if (!v[vs->n].name) {
		free(copy);
		return SW_ERR_NOMEM;
	}
	v[vs->n].p = copy;
	v[vs->n].n = n;
	vs->n++;
	return 0;
}

void sw__cf_vars_free(sw_cf_vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		free(vs->v[i].p);
	}
	free(vs->v);
	vs->v = NULL;
	vs->n = 0;
}

int sw__cf_var_expand(const sw_cf_ctx *ctx, const uint8_t *p, size_t n, size_t *used, sw_buf *out,
                      sw_errinfo *ei)
{
	if (!ctx || !ctx->vars || n < 3 || p[0] != '{')
		return 0;
	const uint8_t *end = memchr(p, '}', n);
	if (!end)
		return 0;
	size_t nl = (size_t)(end - p) - 1;
	const char *name = (const char *)p + 1;
	bool rev = nl > 4 && memcmp(name, "rev:", 4) == 0;
	if (rev ? !rev_name_ok(p + 5, nl - 4) : !sw__cf_var_name_ok(name, nl))
		return 0;
	const sw__cf_var *v = sw__cf_vars_get(ctx->vars, name, nl);
	if (!v && ctx->vars->parsing && rev) {
		/* The fixture is laid at run time: any revision name parses. */
		*used = nl + 2;
		return sw_buf_append(out, p, nl + 2) < 0 ? SW_ERR_NOMEM : 1;
	}
	if (!v)
		return sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0,
		                      rev ? "{%.*s}: no such revision in the case's fixture "
		                            "(REVISIONS of a 'fixture bzr-NAME')"
		                          : "{%.*s}: no such variable (capture it in an earlier "
		                            "step, or write \\{ for a literal brace)",
		                      (int)nl, name);
	*used = nl + 2;
	return sw_buf_append(out, v->p, v->n) < 0 ? SW_ERR_NOMEM : 1;
}

/* ---- Captures ---------------------------------------------------------------- */

/* Descends `nitems` list indexes into a bencoded value; the result is a
 * byte string (its bytes) or another value (its bencoding). */
static bool descend(const uint8_t *p, size_t n, const size_t *items, size_t nitems, sw_buf *val,
                    sw_buf *why)
{
	sw_bval *root = NULL;
	if (sw_bdecode(NULL, p, n, NULL, &root) < 0) {
		sw_buf_append_str(why, "the value is not bencoded: ");
		sw__cf_quote(why, p, n, 120);
		return false;
	}
	const sw_bval *v = root;
	bool ok = true;
	for (size_t i = 0; i < nitems && ok; i++) {
		if (v->type != SW_BLIST || items[i] >= v->u.list.n) {
			sw__cf_appendf(why, "item %zu: no such list element", items[i]);
			ok = false;
		} else
			v = &v->u.list.items[items[i]];
	}
	if (ok)
		ok = (v->type == SW_BSTR ? sw_buf_append(val, v->u.str.p, v->u.str.n)
		                         : sw_bencode(val, v)) == 0;
	sw_bval_del(NULL, root);
	return ok;
}

static const char *src_name(sw_cf_capture_src s)
{
	switch (s) {
	case SW_CF_CAP_ARG: return "arg";
	case SW_CF_CAP_ERROR_ARG: return "error-arg";
	case SW_CF_CAP_BODY: return "body";
	case SW_CF_CAP_BODY_LINE: return "body-line";
	case SW_CF_CAP_BODY_PART: return "body-part";
	}
	return "?";
}

static bool capture_one(const sw_cf_capture *cp, const sw__cf_msg *m, const sw_cf_ctx *ctx,
                        sw_cf_vars *vs, sw_buf *why)
{
	const uint8_t *p = NULL;
	size_t n = 0;
	bool benc = false, found = false;
	const sw__cf_items *it = cp->src == SW_CF_CAP_ERROR_ARG ? &m->eargs : &m->args;
	switch (cp->src) {
	case SW_CF_CAP_ARG:
	case SW_CF_CAP_ERROR_ARG:
		if (cp->index < it->n) {
			p = it->v[cp->index].p;
			n = it->v[cp->index].n;
			benc = it->v[cp->index].benc;
			found = true;
		}
		break;
	case SW_CF_CAP_BODY:
		if (m->has_body) {
			p = m->body.data;
			n = m->body.len;
			found = true;
		}
		break;
	case SW_CF_CAP_BODY_PART:
		if (cp->index < m->nparts) {
			size_t s = m->parts[cp->index];
			size_t e =
			    cp->index + 1 < m->nparts ? m->parts[cp->index + 1] : m->body.len;
			p = m->body.data ? m->body.data + s : (const uint8_t *)"";
			n = e - s;
			found = true;
		}
		break;
	case SW_CF_CAP_BODY_LINE: {
		size_t line = 0, s = 0;
		for (size_t i = 0; m->has_body && i <= m->body.len && !found; i++)
			if (i == m->body.len || m->body.data[i] == '\n') {
				if (line++ == cp->index && (i < m->body.len || i > s)) {
					p = m->body.data + s;
					n = i - s;
					found = true;
				}
				s = i + 1;
			}
		break;
	}
	}
	if (!found) {
		sw__cf_appendf(why, "line %d: capture %s: the message has no %s %zu", cp->line,
		               cp->name, src_name(cp->src), cp->index);
		return false;
	}
	sw_buf val;
	sw_buf_init(&val, NULL);
	bool ok = true;
	if (cp->nitems) {
		sw_buf sub;
		sw_buf_init(&sub, NULL);
		sw__cf_appendf(&sub, "line %d: capture %s: ", cp->line, cp->name);
		ok = descend(p ? p : (const uint8_t *)"", n, cp->items, cp->nitems, &val, &sub);
		if (!ok)
			sw_buf_append(why, sub.data, sub.len);
		sw_buf_fini(&sub);
	} else {
		/* A list or integer argument is kept as its bencoding, which is
		 * also how a later ben{} or an expectation writes it. */
		(void)benc;
		ok = sw_buf_append(&val, p ? p : (const uint8_t *)"", n) == 0;
	}
	if (ok && cp->is) {
		sw_buf want;
		sw_buf_init(&want, NULL);
		sw_errinfo ei;
		if (sw_cf_eval(cp->is, ctx, &want, &ei) < 0) {
			sw__cf_appendf(why, "line %d: capture %s: %s", cp->line, cp->name, ei.text);
			ok = false;
		} else if (want.len != val.len ||
		           (want.len && memcmp(want.data, val.data, val.len))) {
			sw__cf_appendf(why, "line %d: capture %s is ", cp->line, cp->name);
			sw__cf_quote(why, val.data, val.len, SW__CF_SHOW_MAX);
			sw_buf_append_str(why, ", not ");
			sw__cf_quote(why, want.data, want.len, SW__CF_SHOW_MAX);
			ok = false;
		}
		sw_buf_fini(&want);
	}
	if (ok && sw__cf_vars_set(vs, cp->name, strlen(cp->name),
	                          val.data ? val.data : (uint8_t *)"", val.len) < 0)
		ok = false;
	sw_buf_fini(&val);
	return ok;
}

bool sw__cf_capture(const sw_cf_step *st, const sw__cf_msg *m, const sw_cf_ctx *ctx, sw_cf_vars *vs,
                    sw_buf *why)
{
	for (size_t i = 0; i < st->ncaps; i++)
		if (!capture_one(&st->caps[i], m, ctx, vs, why))
			return false;
	return true;
}
