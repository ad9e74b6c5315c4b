/*
 * Conformance suite: verdicts and the expectations file (known deviations
 * of an implementation, each with its reason).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

static const char *const verdict_names[SW_CF_VERDICT_COUNT_] = {
    "pass",  "fail",    "non-strict", "informational", "unimplemented", "expected-deviation",
    "fixed", "skipped", "flaky",
};

const char *sw_cf_verdict_name(sw_cf_verdict v)
{
	return (unsigned)v < SW_CF_VERDICT_COUNT_ ? verdict_names[v] : "?";
}

int sw_cf_verdict_parse(const char *name)
{
	for (int i = 0; i < SW_CF_VERDICT_COUNT_; i++)
		if (name && strcmp(name, verdict_names[i]) == 0)
			return i;
	return -1;
}

sw_cf_verdict sw_cf_decide(sw_cf_level level, sw_cf_outcome outcome, bool expected)
{
	switch (outcome) {
	case SW_CF_OUT_PASS:
		return expected ? SW_CF_FIXED : SW_CF_PASS;
	case SW_CF_OUT_SKIP:
		return SW_CF_SKIPPED;
	case SW_CF_OUT_UNIMPLEMENTED:
		return expected ? SW_CF_EXPECTED : SW_CF_UNIMPLEMENTED;
	case SW_CF_OUT_FAIL:
		if (expected)
			return SW_CF_EXPECTED;
		return level == SW_CF_MUST ? SW_CF_FAILED : level == SW_CF_SHOULD ? SW_CF_NON_STRICT
		                                                                   : SW_CF_INFORMATIONAL;
	}
	return SW_CF_FAILED;
}

sw_cf_verdict sw_cf_decide_result(const sw_cf_result *r, bool expected)
{
	if (r->flaky && r->outcome == SW_CF_OUT_PASS)
		return SW_CF_FLAKY;
	sw_cf_level level = r->security ? SW_CF_MUST : r->c ? r->c->level : SW_CF_MUST;
	return sw_cf_decide(level, r->outcome, expected);
}

bool sw_cf_verdict_fails(sw_cf_verdict v, bool strict)
{
	switch (v) {
	case SW_CF_FAILED:
	case SW_CF_FIXED:
		return true;
	case SW_CF_NON_STRICT:
	case SW_CF_UNIMPLEMENTED:
	case SW_CF_FLAKY: return strict;
	default:
		return false;
	}
}

int sw_cf_expectations_parse(sw_cf_expectations *e, const char *text, size_t len,
                             const char *file, sw_cf_diag *diag)
{
	memset(e, 0, sizeof *e);
	size_t i = 0;
	int line = 0;
	while (i < len) {
		size_t s = i;
		while (i < len && text[i] != '\n')
			i++;
		size_t l = i - s;
		if (i < len)
			i++;
		line++;
		const char *p = text + s;
		while (l && (p[l - 1] == '\r' || p[l - 1] == ' ' || p[l - 1] == '\t'))
			l--;
		while (l && (*p == ' ' || *p == '\t'))
			p++, l--;
		if (l == 0 || *p == '#')
			continue;
		size_t g = 0;
		while (g < l && !isspace((unsigned char)p[g]))
			g++;
		size_t r = g;
		while (r < l && isspace((unsigned char)p[r]))
			r++;
		if (r == l) {
			if (diag) {
				snprintf(diag->file, sizeof diag->file, "%s", file ? file : "<text>");
				diag->line = line;
				snprintf(diag->msg, sizeof diag->msg,
				         "'%.*s' has no reason: every expected deviation must say why", (int)g, p);
			}
			sw_cf_expectations_fini(e);
			return SW_ERR_INVALID_ARGUMENT;
		}
		sw_cf_expect *v = realloc(e->v, (e->n + 1) * sizeof *v);
		if (!v) {
			sw_cf_expectations_fini(e);
			return SW_ERR_NOMEM;
		}
		e->v = v;
		v[e->n].glob = sw__cf_strndup(p, g);
		v[e->n].reason = sw__cf_strndup(p + r, l - r);
		v[e->n].line = line;
		v[e->n].used = false;
		v[e->n].security = l - r >= 8 && strncmp(p + r, "SECURITY", 8) == 0;
		e->n++;
		if (!v[e->n - 1].glob || !v[e->n - 1].reason) {
			sw_cf_expectations_fini(e);
			return SW_ERR_NOMEM;
		}
	}
	return 0;
}

void sw_cf_expectations_fini(sw_cf_expectations *e)
{
	for (size_t i = 0; i < e->n; i++) {
		free(e->v[i].glob);
		free(e->v[i].reason);
	}
	free(e->v);
	memset(e, 0, sizeof *e);
}

sw_cf_expect *sw_cf_expectations_find(const sw_cf_expectations *e, const char *id)
{
	for (size_t i = 0; i < e->n; i++)
		if (sw_cf_glob(e->v[i].glob, id))
			return &e->v[i];
	return NULL;
}

sw_cf_expect *sw_cf_expectations_find_for(const sw_cf_expectations *e, const char *id,
                                          bool security)
{
	for (size_t i = 0; i < e->n; i++)
		if ((!security || e->v[i].security) && sw_cf_glob(e->v[i].glob, id))
			return &e->v[i];
	return NULL;
}
