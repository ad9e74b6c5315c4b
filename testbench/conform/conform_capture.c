/*
 * Conformance runner: captures (conformance/FORMAT.md, "Variables").
 * "capture NAME SOURCE [item I]... [is EXPR]" after an expect keeps a value
 * of the message that matched (an argument, the body, a body line or part;
 * each item descends one list index into its bencoding), checks it against
 * its "is" expression, and sets the variable NAME (conform_vars.c) for the
 * steps that follow.
 */
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/bencode.h"
#include "smartwire/error.h"

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
