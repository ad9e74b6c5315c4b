/*
 * Conformance suite: the self-contained HTML report, and the small JSON
 * reader that loads the JSON reports written by conform_report.c so that
 * several implementations' results become one verdict matrix.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

/* ---- Column model ------------------------------------------------------------ */

typedef struct col_step {
	int line;
	bool ok;
	char *expected, *actual;
} col_step;

typedef struct col_event {
	char dir;
	uint8_t *p;
	size_t n;
} col_event;

typedef struct col_case {
	char *id, *title, *ref, *level, *verdict, *reason, *deviation, *variant, *stderr_text;
	col_step *steps;
	size_t nsteps;
	col_event *events;
	size_t nevents;
} col_case;

struct sw_cf_column {
	char *name;
	col_case *v;
	size_t n;
};

void sw_cf_column_del(sw_cf_column *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		col_case *k = &c->v[i];
		free(k->id);
		free(k->title);
		free(k->ref);
		free(k->level);
		free(k->verdict);
		free(k->reason);
		free(k->deviation);
		free(k->variant);
		free(k->stderr_text);
		for (size_t s = 0; s < k->nsteps; s++) {
			free(k->steps[s].expected);
			free(k->steps[s].actual);
		}
		free(k->steps);
		for (size_t e = 0; e < k->nevents; e++)
			free(k->events[e].p);
		free(k->events);
	}
	free(c->v);
	free(c->name);
	free(c);
}

static char *dupn(const char *s)
{
	return s ? strdup(s) : NULL;
}

int sw_cf_column_from_report(const sw_cf_report *rep, sw_cf_column **out)
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
	for (size_t i = 0; i < rep->n; i++) {
		const sw_cf_result *r = &rep->results[i];
		col_case *k = &c->v[c->n++];
		k->id = dupn(r->c->id);
		k->title = dupn(r->c->title);
		k->ref = dupn(r->c->ref);
		k->level = dupn(sw_cf_level_name(r->c->level));
		k->verdict = dupn(sw_cf_verdict_name(r->verdict));
		k->reason = dupn(r->reason);
		k->deviation = dupn(r->deviation);
		k->variant = dupn(r->variant);
		k->stderr_text = dupn(r->stderr_text);
		k->steps = calloc(r->nsteps + 1, sizeof *k->steps);
		k->events = calloc(r->nevents + 1, sizeof *k->events);
		if (!k->id || !k->steps || !k->events) {
			sw_cf_column_del(c);
			return SW_ERR_NOMEM;
		}
		for (size_t s = 0; s < r->nsteps; s++) {
			k->steps[s].line = r->steps[s].line;
			k->steps[s].ok = r->steps[s].ok;
			k->steps[s].expected = dupn(r->steps[s].expected);
			k->steps[s].actual = dupn(r->steps[s].actual);
			k->nsteps++;
		}
		for (size_t e = 0; e < r->nevents; e++) {
			col_event *ev = &k->events[k->nevents];
			ev->dir = r->events[e].dir;
			ev->p = malloc(r->events[e].n + 1);
			if (!ev->p)
				break;
			memcpy(ev->p, r->events[e].p, r->events[e].n);
			ev->p[r->events[e].n] = 0;
			ev->n = r->events[e].n;
			k->nevents++;
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
	const char *p, *end;
	int depth;
	char *err;
	size_t errlen;
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
	if (P->err && !P->err[0])
		snprintf(P->err, P->errlen, "%s", msg);
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
			if (P->p >= P->end || *P->p != '"' || parse_string(P, &v->keys[v->n], &kl) < 0) {
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

static int hexv(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int sw_cf_column_load(const char *path, sw_cf_column **out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return SW_ERR_IO;
	}
	sw_buf b;
	sw_buf_init(&b, NULL);
	char tmp[65536];
	size_t got;
	while ((got = fread(tmp, 1, sizeof tmp, f)) > 0)
		sw_buf_append(&b, tmp, got);
	fclose(f);
	jv root = {0};
	jp P = {.p = (const char *)b.data, .end = (const char *)b.data + b.len, .err = err, .errlen = errlen};
	int rc = b.len ? parse_value(&P, &root) : jerr(&P, "empty file");
	const jv *fmt = rc == 0 ? jget(&root, "format") : NULL;
	const jv *cases = rc == 0 ? jget(&root, "cases") : NULL;
	if (rc == 0 && (!fmt || fmt->type != 3 || strcmp(fmt->s, "smartwire-conform-1") != 0 || !cases ||
	                cases->type != 4)) {
		snprintf(err, errlen, "%s is not a smartwire conform JSON report", path);
		rc = SW_ERR_INVALID_ARGUMENT;
	}
	sw_cf_column *c = NULL;
	if (rc == 0 && (c = calloc(1, sizeof *c)) && (c->v = calloc(cases->n + 1, sizeof *c->v))) {
		c->name = jstr(&root, "implementation");
		for (size_t i = 0; i < cases->n; i++) {
			const jv *o = &cases->items[i];
			col_case *k = &c->v[c->n++];
			k->id = jstr(o, "id");
			k->title = jstr(o, "title");
			k->ref = jstr(o, "ref");
			k->level = jstr(o, "level");
			k->verdict = jstr(o, "verdict");
			k->reason = jstr(o, "reason");
			k->deviation = jstr(o, "deviation");
			k->variant = jstr(o, "variant");
			k->stderr_text = jstr(o, "stderr");
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
			if (ev && ev->type == 4 && (k->events = calloc(ev->n + 1, sizeof *k->events)))
				for (size_t e = 0; e < ev->n; e++) {
					const jv *d = jget(&ev->items[e], "dir");
					col_event *ce = &k->events[k->nevents];
					ce->dir = d && d->type == 3 && d->slen ? d->s[0] : '#';
					if (ce->dir == '#') {
						ce->p = (uint8_t *)jstr(&ev->items[e], "text");
						ce->n = ce->p ? strlen((char *)ce->p) : 0;
					} else {
						const jv *h = jget(&ev->items[e], "hex");
						size_t n = h && h->type == 3 ? h->slen / 2 : 0;
						ce->p = malloc(n + 1);
						if (ce->p)
							for (size_t q = 0; q < n; q++)
								ce->p[q] = (uint8_t)(hexv(h->s[2 * q]) * 16 + hexv(h->s[2 * q + 1]));
						ce->n = ce->p ? n : 0;
					}
					k->nevents++;
				}
			if (!k->id || !k->verdict) {
				snprintf(err, errlen, "%s: case %zu lacks an id or a verdict", path, i);
				rc = SW_ERR_INVALID_ARGUMENT;
				break;
			}
		}
		if (!c->name)
			c->name = strdup(path);
	} else if (rc == 0)
		rc = SW_ERR_NOMEM;
	jv_free(&root);
	sw_buf_fini(&b);
	if (rc < 0) {
		sw_cf_column_del(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* ---- HTML ------------------------------------------------------------------- */

static void h(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '"')
			fputs("&quot;", f);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void hexdump(FILE *f, const uint8_t *p, size_t n)
{
	size_t show = n > 65536 ? 65536 : n;
	for (size_t off = 0; off < show; off += 16) {
		fprintf(f, "%06zx  ", off);
		for (size_t i = 0; i < 16; i++) {
			if (off + i < show)
				fprintf(f, "%02x ", p[off + i]);
			else
				fputs("   ", f);
			if (i == 7)
				fputc(' ', f);
		}
		fputs(" |", f);
		for (size_t i = 0; i < 16 && off + i < show; i++) {
			uint8_t c = p[off + i];
			if (c == '<')
				fputs("&lt;", f);
			else if (c == '>')
				fputs("&gt;", f);
			else if (c == '&')
				fputs("&amp;", f);
			else
				fputc(c >= 0x20 && c < 0x7f ? c : '.', f);
		}
		fputs("|\n", f);
	}
	if (show < n)
		fprintf(f, "... %zu more bytes\n", n - show);
}

static const col_case *find_case(const sw_cf_column *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].id && strcmp(c->v[i].id, id) == 0)
			return &c->v[i];
	return NULL;
}

int sw_cf_write_html(FILE *f, sw_cf_column *const *cols, size_t ncols)
{
	/* Row order: the first column's, then ids only later columns have. */
	const char **ids = NULL;
	const col_case **meta = NULL;
	size_t nid = 0;
	for (size_t c = 0; c < ncols; c++)
		for (size_t i = 0; i < cols[c]->n; i++) {
			size_t k = 0;
			while (k < nid && strcmp(ids[k], cols[c]->v[i].id) != 0)
				k++;
			if (k < nid)
				continue;
			const char **ni = realloc(ids, (nid + 1) * sizeof *ni);
			const col_case **nm = ni ? realloc(meta, (nid + 1) * sizeof *nm) : NULL;
			if (ni)
				ids = ni;
			if (!nm) {
				free(ids);
				free(meta);
				return SW_ERR_NOMEM;
			}
			meta = nm;
			ids[nid] = cols[c]->v[i].id;
			meta[nid] = &cols[c]->v[i];
			nid++;
		}
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>smartwire conformance</title>\n"
	      "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
	      "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}th{background:#eee}"
	      "td.v a{text-decoration:none;color:inherit;display:block}"
	      ".pass{background:#bfb}.fail{background:#f99}.non-strict{background:#fd8}"
	      ".informational{background:#ddf}.unimplemented{background:#ccc}"
	      ".expected-deviation{background:#fec}.fixed{background:#f6f}.skipped{background:#eee}"
	      "pre{background:#f8f8f8;padding:4px;font-size:12px;overflow-x:auto}"
	      ".sent{border-left:4px solid #48f}.recv{border-left:4px solid #4a4}.note{color:#666}"
	      ".bad{color:#b00}.ok{color:#070}</style></head><body>\n"
	      "<h1>smartwire conformance report</h1>\n<table><tr><th>case</th><th>level</th>", f);
	for (size_t c = 0; c < ncols; c++) {
		fputs("<th>", f);
		h(f, cols[c]->name);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t k = 0; k < nid; k++) {
		fprintf(f, "<tr><td title=\"");
		h(f, meta[k]->title);
		fputs("\">", f);
		h(f, ids[k]);
		fputs("</td><td>", f);
		h(f, meta[k]->level);
		fputs("</td>", f);
		for (size_t c = 0; c < ncols; c++) {
			const col_case *cc = find_case(cols[c], ids[k]);
			if (!cc) {
				fputs("<td>missing</td>", f);
				continue;
			}
			fprintf(f, "<td class=\"v %s\"><a href=\"#c%zu-%zu\">", cc->verdict, c, k);
			h(f, cc->verdict);
			fputs("</a></td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n<h2>Details</h2>\n", f);
	for (size_t k = 0; k < nid; k++)
		for (size_t c = 0; c < ncols; c++) {
			const col_case *cc = find_case(cols[c], ids[k]);
			if (!cc)
				continue;
			fprintf(f, "<details id=\"c%zu-%zu\"%s><summary class=\"%s\">", c, k,
			        strcmp(cc->verdict, "pass") && strcmp(cc->verdict, "skipped") ? " open" : "", cc->verdict);
			h(f, ids[k]);
			fputs(" &mdash; ", f);
			h(f, cols[c]->name);
			fputs(": ", f);
			h(f, cc->verdict);
			fputs("</summary>\n<p>", f);
			h(f, cc->title);
			fputs("<br>level ", f);
			h(f, cc->level);
			fputs(", ref ", f);
			h(f, cc->ref);
			fputs("</p>\n", f);
			if (cc->reason) {
				fputs("<p class=\"bad\">", f);
				h(f, cc->reason);
				fputs("</p>\n", f);
			}
			if (cc->deviation) {
				fputs("<p>Expected deviation: ", f);
				h(f, cc->deviation);
				fputs("</p>\n", f);
			}
			if (cc->variant) {
				fputs("<p>Failing sweep variant: ", f);
				h(f, cc->variant);
				fputs(" (the transcript below is that variant's)</p>\n", f);
			}
			if (cc->nsteps) {
				fputs("<table><tr><th>line</th><th></th><th>expected</th><th>actual</th></tr>\n", f);
				for (size_t s = 0; s < cc->nsteps; s++) {
					fprintf(f, "<tr><td>%d</td><td class=\"%s\">%s</td><td><code>", cc->steps[s].line,
					        cc->steps[s].ok ? "ok" : "bad", cc->steps[s].ok ? "ok" : "FAIL");
					h(f, cc->steps[s].expected);
					fputs("</code></td><td><code>", f);
					h(f, cc->steps[s].actual ? cc->steps[s].actual : (cc->steps[s].ok ? "as expected" : ""));
					fputs("</code></td></tr>\n", f);
				}
				fputs("</table>\n", f);
			}
			for (size_t e = 0; e < cc->nevents; e++) {
				const col_event *ev = &cc->events[e];
				if (ev->dir == '#') {
					fputs("<div class=\"note\"># ", f);
					h(f, (const char *)ev->p);
					fputs("</div>\n", f);
					continue;
				}
				fprintf(f, "<div>%s %zu bytes</div><pre class=\"%s\">", ev->dir == '>' ? "sent" : "received",
				        ev->n, ev->dir == '>' ? "sent" : "recv");
				hexdump(f, ev->p, ev->n);
				fputs("</pre>\n", f);
			}
			if (cc->stderr_text && *cc->stderr_text) {
				fputs("<div>stderr</div><pre>", f);
				h(f, cc->stderr_text);
				fputs("</pre>\n", f);
			}
			fputs("</details>\n", f);
		}
	fputs("</body></html>\n", f);
	free(ids);
	free(meta);
	return ferror(f) ? SW_ERR_IO : 0;
}
