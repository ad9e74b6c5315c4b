/*
 * Conformance suite: the columns of the HTML matrix (one implementation's
 * results each), made from an in-memory report or loaded from the JSON
 * reports conform_report.c writes, with the small JSON reader that needs.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"
#include "smartwire/hex.h"

static void run_free(sw__cf_col_run *r)
{
	free(r->reason);
	free(r->variant);
	for (size_t s = 0; s < r->nsteps; s++) {
		free(r->steps[s].expected);
		free(r->steps[s].actual);
	}
	free(r->steps);
	for (size_t e = 0; e < r->nevents; e++)
		free(r->events[e].p);
	free(r->events);
	memset(r, 0, sizeof *r);
}

void sw_cf_column_del(sw_cf_column *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		sw__cf_col_case *k = &c->v[i];
		free(k->id);
		free(k->title);
		free(k->ref);
		free(k->level);
		free(k->verdict);
		free(k->deviation);
		free(k->stderr_text);
		free(k->security_text);
		run_free(&k->run);
		run_free(&k->first);
		for (size_t e = 0; e < k->ref_nevents; e++)
			free(k->ref_events[e].p);
		free(k->ref_events);
		free(k->difference);
		free(k->ref_reason);
	}
	free(c->v);
	free(c->name);
	free(c);
}

static char *dupn(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Copies a transcript into an array the caller allocated (room for n).
 * Returns 0 or SW_ERR_NOMEM. */
static int copy_events(sw__cf_col_event *dst, size_t *nd, const sw_cf_event *src, size_t n)
{
	for (size_t e = 0; e < n; e++) {
		sw__cf_col_event *ev = &dst[*nd];
		ev->dir = src[e].dir;
		ev->p = malloc(src[e].n + 1);
		if (!ev->p)
			return SW_ERR_NOMEM;
		memcpy(ev->p, src[e].p, src[e].n);
		ev->p[src[e].n] = 0;
		ev->n = src[e].n;
		(*nd)++;
	}
	return 0;
}

/* Copies a result's evidence.  Returns 0 or SW_ERR_NOMEM. */
static int run_copy(sw__cf_col_run *o, const sw_cf_result *r)
{
	o->reason = dupn(r->reason);
	o->variant = dupn(r->variant);
	o->steps = calloc(r->nsteps + 1, sizeof *o->steps);
	o->events = calloc(r->nevents + 1, sizeof *o->events);
	if (!o->steps || !o->events)
		return SW_ERR_NOMEM;
	for (size_t s = 0; s < r->nsteps; s++) {
		o->steps[s].line = r->steps[s].line;
		o->steps[s].ok = r->steps[s].ok;
		o->steps[s].expected = dupn(r->steps[s].expected);
		o->steps[s].actual = dupn(r->steps[s].actual);
		o->nsteps++;
	}
	return copy_events(o->events, &o->nevents, r->events, r->nevents);
}

int sw_cf_column_from_report(sw_cf_column **out, const sw_cf_report *rep)
{
	sw_cf_column *c = calloc(1, sizeof *c);
	if (!c)
		return SW_ERR_NOMEM;
	c->name = strdup(rep->implementation ? rep->implementation : "?");
	c->v = calloc(rep->n + 1, sizeof *c->v);
	if (!c->name || !c->v) {
		sw_cf_column_del(c);
		return SW_ERR_NOMEM;
	}
	c->strict = rep->strict;
	c->exit_status = sw_cf_report_fails(rep) ? 1 : 0;
	c->rtt_ms = rep->rtt_ms;
	c->ms = rep->ms;
	for (size_t i = 0; i < rep->n; i++) {
		const sw_cf_result *r = &rep->results[i];
		sw__cf_col_case *k = &c->v[c->n++];
		k->id = dupn(r->c->id);
		k->title = dupn(r->c->title);
		k->ref = dupn(r->c->ref);
		k->level = dupn(sw_cf_level_name(r->c->level));
		k->verdict = dupn(sw_cf_verdict_name(r->verdict));
		k->deviation = dupn(r->deviation);
		k->stderr_text = dupn(r->stderr_text);
		k->security_text = dupn(r->security_text);
		k->fails = sw_cf_verdict_fails(r->verdict, rep->strict);
		k->security = r->security;
		k->flaky = r->flaky;
		int rc = k->id && k->verdict ? run_copy(&k->run, r) : SW_ERR_NOMEM;
		if (rc == 0 && r->first)
			rc = run_copy(&k->first, r->first);
		if (rc == 0 && r->has_reference) {
			k->has_ref = true;
			k->difference = dupn(r->difference);
			k->ref_reason = dupn(r->ref_reason);
			k->ref_events = calloc(r->ref_nevents + 1, sizeof *k->ref_events);
			rc = k->ref_events ? copy_events(k->ref_events, &k->ref_nevents, r->ref_events,
			                                 r->ref_nevents)
			                   : SW_ERR_NOMEM;
		}
		if (rc < 0) {
			sw_cf_column_del(c);
			return SW_ERR_NOMEM;
		}
	}
	*out = c;
	return 0;
}

/* ---- A minimal JSON reader ----------------------------------------------------- */

typedef struct jv {
	int type; /* 0 null, 1 bool, 2 number, 3 string, 4 array, 5 object */
	double num;
	char *s;
	size_t slen;
	struct jv *items;
	char **keys;
	size_t n;
} jv;

typedef struct jp {
	const char *start, *p, *end;
	int depth;
	sw_errinfo *ei; /* the first error, with its offset in the file */
} jp;

static void jv_free(jv *v)
{
	free(v->s);
	for (size_t i = 0; i < v->n; i++) {
		jv_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
}

static void ws(jp *P)
{
	while (P->p < P->end && isspace((unsigned char)*P->p))
		P->p++;
}

static int jerr(jp *P, const char *msg)
{
	if (P->ei && P->ei->code == 0) {
		sw_errinfo_set(P->ei, SW_ERR_INVALID_ARGUMENT, 0, "%s", msg);
		P->ei->offset = (size_t)(P->p - P->start);
	}
	return SW_ERR_INVALID_ARGUMENT;
}

static int parse_value(jp *P, jv *v);

static int parse_string(jp *P, char **out, size_t *outlen)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	P->p++; /* opening quote */
	while (P->p < P->end && *P->p != '"') {
		unsigned char c = (unsigned char)*P->p++;
		if (c != '\\') {
			sw_buf_append_byte(&b, c);
			continue;
		}
		if (P->p >= P->end)
			break;
		char e = *P->p++;
		switch (e) {
		case 'n': sw_buf_append_byte(&b, '\n'); break;
		case 't': sw_buf_append_byte(&b, '\t'); break;
		case 'r': sw_buf_append_byte(&b, '\r'); break;
		case 'b': sw_buf_append_byte(&b, '\b'); break;
		case 'f': sw_buf_append_byte(&b, '\f'); break;
		case 'u': {
			if (P->end - P->p < 4) {
				sw_buf_fini(&b);
				return jerr(P, "bad \\u escape");
			}
			char hex[5] = {P->p[0], P->p[1], P->p[2], P->p[3], 0};
			P->p += 4;
			unsigned long cp = strtoul(hex, NULL, 16);
			/* Reports escape bytes as \u00XX: keep them as single bytes. */
			if (cp < 0x100)
				sw_buf_append_byte(&b, (uint8_t)cp);
			else if (cp < 0x800) {
				sw_buf_append_byte(&b, (uint8_t)(0xc0 | (cp >> 6)));
				sw_buf_append_byte(&b, (uint8_t)(0x80 | (cp & 0x3f)));
			} else {
				sw_buf_append_byte(&b, (uint8_t)(0xe0 | (cp >> 12)));
				sw_buf_append_byte(&b, (uint8_t)(0x80 | ((cp >> 6) & 0x3f)));
				sw_buf_append_byte(&b, (uint8_t)(0x80 | (cp & 0x3f)));
			}
			break;
		}
		default: sw_buf_append_byte(&b, (uint8_t)e);
		}
	}
	if (P->p >= P->end) {
		sw_buf_fini(&b);
		return jerr(P, "unterminated string");
	}
	P->p++;
	if (sw_buf_append_byte(&b, 0) < 0) {
		sw_buf_fini(&b);
		return jerr(P, "out of memory");
	}
	*out = (char *)b.data;
	*outlen = b.len - 1;
	return 0;
}

static int parse_container(jp *P, jv *v, bool obj)
{
	v->type = obj ? 5 : 4;
	P->p++;
	ws(P);
	if (P->p < P->end && *P->p == (obj ? '}' : ']')) {
		P->p++;
		return 0;
	}
	for (;;) {
		jv *ni = realloc(v->items, (v->n + 1) * sizeof *ni);
		if (!ni)
			return jerr(P, "out of memory");
		v->items = ni;
		memset(&v->items[v->n], 0, sizeof *ni);
		if (obj) {
			char **nk = realloc(v->keys, (v->n + 1) * sizeof *nk);
			if (!nk)
				return jerr(P, "out of memory");
			v->keys = nk;
			v->keys[v->n] = NULL;
			ws(P);
			size_t kl;
			if (P->p >= P->end || *P->p != '"' ||
			    parse_string(P, &v->keys[v->n], &kl) < 0) {
				v->n++;
				return jerr(P, "expected a key");
			}
			ws(P);
			if (P->p >= P->end || *P->p != ':') {
				v->n++;
				return jerr(P, "expected ':'");
			}
			P->p++;
		}
		v->n++;
		if (parse_value(P, &v->items[v->n - 1]) < 0)
			return SW_ERR_INVALID_ARGUMENT;
		ws(P);
		if (P->p < P->end && *P->p == ',') {
			P->p++;
			continue;
		}
		if (P->p < P->end && *P->p == (obj ? '}' : ']')) {
			P->p++;
			return 0;
		}
		return jerr(P, "expected ',' or the end of a container");
	}
}

static int parse_value(jp *P, jv *v)
{
	if (++P->depth > 64)
		return jerr(P, "nested too deeply");
	ws(P);
	if (P->p >= P->end)
		return jerr(P, "unexpected end");
	int rc = 0;
	char c = *P->p;
	if (c == '{' || c == '[')
		rc = parse_container(P, v, c == '{');
	else if (c == '"') {
		v->type = 3;
		rc = parse_string(P, &v->s, &v->slen);
	} else if (!strncmp(P->p, "null", 4) && P->end - P->p >= 4) {
		v->type = 0;
		P->p += 4;
	} else if (!strncmp(P->p, "true", 4) && P->end - P->p >= 4) {
		v->type = 1;
		v->num = 1;
		P->p += 4;
	} else if (!strncmp(P->p, "false", 5) && P->end - P->p >= 5) {
		v->type = 1;
		P->p += 5;
	} else if (c == '-' || isdigit((unsigned char)c)) {
		char *e;
		v->type = 2;
		v->num = strtod(P->p, &e);
		P->p = e;
	} else
		rc = jerr(P, "unexpected character");
	P->depth--;
	return rc;
}

static const jv *jget(const jv *o, const char *k)
{
	if (!o || o->type != 5)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (o->keys[i] && strcmp(o->keys[i], k) == 0)
			return &o->items[i];
	return NULL;
}

static char *jstr(const jv *o, const char *k)
{
	const jv *v = jget(o, k);
	return v && v->type == 3 ? strdup(v->s) : NULL;
}

static bool jbool(const jv *o, const char *k)
{
	const jv *v = jget(o, k);
	return v && v->type == 1 && v->num != 0;
}

static void load_events(const jv *ev, sw__cf_col_event **out, size_t *nout);

/* The evidence of one run in a JSON report ("steps", "events"). */
static void load_run(sw__cf_col_run *k, const jv *o)
{
	k->reason = jstr(o, "reason");
	k->variant = jstr(o, "variant");
	const jv *st = jget(o, "steps"), *ev = jget(o, "events");
	if (st && st->type == 4 && (k->steps = calloc(st->n + 1, sizeof *k->steps)))
		for (size_t s = 0; s < st->n; s++) {
			const jv *l = jget(&st->items[s], "line"), *ok = jget(&st->items[s], "ok");
			k->steps[s].line = l && l->type == 2 ? (int)l->num : 0;
			k->steps[s].ok = ok && ok->num != 0;
			k->steps[s].expected = jstr(&st->items[s], "expected");
			k->steps[s].actual = jstr(&st->items[s], "actual");
			k->nsteps++;
		}
	load_events(ev, &k->events, &k->nevents);
}

/* A transcript array of a JSON report (see json_events in conform_report.c). */
static void load_events(const jv *ev, sw__cf_col_event **out, size_t *nout)
{
	if (!ev || ev->type != 4 || !(*out = calloc(ev->n + 1, sizeof **out)))
		return;
	for (size_t e = 0; e < ev->n; e++) {
		const jv *d = jget(&ev->items[e], "dir");
		sw__cf_col_event *ce = &(*out)[(*nout)++];
		ce->dir = d && d->type == 3 && d->slen ? d->s[0] : '#';
		if (ce->dir == '#') {
			ce->p = (uint8_t *)jstr(&ev->items[e], "text");
			ce->n = ce->p ? strlen((char *)ce->p) : 0;
			continue;
		}
		/* Bytes are written as lower-case hex (conform_report.c). */
		const jv *h = jget(&ev->items[e], "hex");
		size_t n = h && h->type == 3 ? h->slen / 2 : 0;
		ce->p = malloc(n + 1);
		if (ce->p)
			for (size_t q = 0; q < n; q++)
				ce->p[q] = (uint8_t)(sw_hex_value(h->s[2 * q]) * 16 +
				                     sw_hex_value(h->s[2 * q + 1]));
		ce->n = ce->p ? n : 0;
	}
}

/* One case of a JSON report. */
static void load_case(sw__cf_col_case *k, const jv *o)
{
	k->id = jstr(o, "id");
	k->title = jstr(o, "title");
	k->ref = jstr(o, "ref");
	k->level = jstr(o, "level");
	k->verdict = jstr(o, "verdict");
	k->deviation = jstr(o, "deviation");
	k->stderr_text = jstr(o, "stderr");
	k->security_text = jstr(o, "security_text");
	/* Reports from before "fails" was written: the verdicts that always
	 * fail a run. */
	k->fails = jget(o, "fails") ? jbool(o, "fails")
	                            : k->verdict && (!strcmp(k->verdict, "fail") ||
	                                             !strcmp(k->verdict, "fixed"));
	k->security = jbool(o, "security");
	k->flaky = jbool(o, "flaky");
	load_run(&k->run, o);
	const jv *first = jget(o, "first");
	if (first && first->type == 5)
		load_run(&k->first, first);
	const jv *ref = jget(o, "reference");
	if (ref && ref->type == 5) {
		k->has_ref = true;
		k->difference = jstr(o, "difference");
		k->ref_reason = jstr(ref, "reason");
		load_events(jget(ref, "events"), &k->ref_events, &k->ref_nevents);
	}
}

int sw_cf_column_load(sw_cf_column **out, const char *path, sw_errinfo *ei)
{
	sw__cf_ei_reset(ei);
	FILE *f = fopen(path, "rbe");
	if (!f) {
		int e = errno;
		char t[128];
		return sw_errinfo_set(ei, SW_ERR_IO, e, "cannot open %s: %s", path,
		                      sw_sys_strerror(e, t, sizeof t));
	}
	sw_buf b;
	sw_buf_init(&b, NULL);
	char tmp[65536];
	size_t got;
	int rc = 0;
	while (rc == 0 && (got = fread(tmp, 1, sizeof tmp, f)) > 0)
		rc = sw_buf_append(&b, tmp, got);
	fclose(f);
	jv root = {0};
	jp P = {.start = (const char *)b.data,
	        .p = (const char *)b.data,
	        .end = (const char *)b.data + b.len,
	        .ei = ei};
	if (rc == 0)
		rc = b.len ? parse_value(&P, &root) : jerr(&P, "empty file");
	const jv *fmt = rc == 0 ? jget(&root, "format") : NULL;
	const jv *cases = rc == 0 ? jget(&root, "cases") : NULL;
	if (rc == 0 && (!fmt || fmt->type != 3 || strcmp(fmt->s, "smartwire-conform-1") != 0 ||
	                !cases || cases->type != 4))
		rc = sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0,
		                    "%s is not a smartwire conform JSON report", path);
	sw_cf_column *c = NULL;
	if (rc == 0 && (c = calloc(1, sizeof *c)) && (c->v = calloc(cases->n + 1, sizeof *c->v))) {
		c->name = jstr(&root, "implementation");
		c->strict = jbool(&root, "strict");
		const jv *ex = jget(&root, "exit_status"), *rtt = jget(&root, "rtt_ms"),
		         *ms = jget(&root, "ms");
		c->exit_status = ex && ex->type == 2 ? (int)ex->num : -1;
		c->rtt_ms = rtt && rtt->type == 2 ? (unsigned)rtt->num : 0;
		c->ms = ms && ms->type == 2 ? ms->num : 0;
		for (size_t i = 0; i < cases->n && rc == 0; i++) {
			sw__cf_col_case *k = &c->v[c->n++];
			load_case(k, &cases->items[i]);
			if (!k->id || !k->verdict)
				rc = sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0,
				                    "%s: case %zu lacks an id or a verdict", path,
				                    i);
		}
		if (!c->name)
			c->name = strdup(path);
	} else if (rc == 0) {
		rc = SW_ERR_NOMEM;
	}
	jv_free(&root);
	sw_buf_fini(&b);
	if (rc < 0) {
		sw_cf_column_del(c);
		return sw__cf_ei_fill(ei, rc);
	}
	*out = c;
	return 0;
}
