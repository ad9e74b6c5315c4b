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
 *
 * The captures that set variables from an answer are conform_capture.c.
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
