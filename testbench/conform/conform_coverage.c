/*
 * Conformance suite: which verbs the cases cover (`smartwire conform
 * --coverage [--verbs FILE]`).
 *
 * A verb is covered in version N when a server case sends it in a vN
 * request: a v1/v2/v3 request atom (its first argument) or a raw request
 * whose bytes decode to one.  Client cases (the verb of their expected
 * request) are counted in a column of their own.  A STREAM case for a verb is one whose request body is
 * streamed (several v3 bytes parts, or an abort) or whose answer to it is
 * checked as a stream: a pack container, a v2 chunked body, an error after
 * the body (v3 oE, v2 ERR), or a case tagged `stream`.  The expectations
 * after a send are attributed to the verb of that send.
 */
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/bencode.h"
#include "smartwire/error.h"
#include "smartwire/v3.h"

typedef struct vrow {
	char *verb;
	char *cls; /* the list's second column, or "" */
	bool listed;
	unsigned ver;  /* bit v: a server case sends it in version v */
	unsigned strm; /* bit v: a stream case in version v */
	size_t cases, client;
	const char *last_case; /* counts each case once */
} vrow;

typedef struct table {
	vrow *v;
	size_t n;
	int rc;
} table;

static vrow *row(table *t, const uint8_t *p, size_t n, bool add)
{
	for (size_t i = 0; i < t->n; i++)
		if (strlen(t->v[i].verb) == n && memcmp(t->v[i].verb, p, n) == 0)
			return &t->v[i];
	if (!add)
		return NULL;
	vrow *v = realloc(t->v, (t->n + 1) * sizeof *v);
	if (!v) {
		t->rc = SW_ERR_NOMEM;
		return NULL;
	}
	t->v = v;
	memset(&v[t->n], 0, sizeof v[t->n]);
	if (!(v[t->n].verb = sw__cf_strndup((const char *)p, n))) {
		t->rc = SW_ERR_NOMEM;
		return NULL;
	}
	return &v[t->n++];
}

/* ---- The verb of a raw request ---------------------------------------------- */

typedef struct first_struct {
	sw_buf verb;
	bool have;
} first_struct;

static int on_structure(void *ud, const sw_bval *v)
{
	first_struct *f = ud;
	if (!f->have && v->type == SW_BLIST && v->u.list.n && v->u.list.items[0].type == SW_BSTR) {
		f->have = true;
		return sw_buf_append(&f->verb, v->u.list.items[0].u.str.p,
		                     v->u.list.items[0].u.str.n);
	}
	f->have = true;
	return 0;
}

/* The version and verb of raw request bytes: v3 decoded to its args, v1/v2
 * the first line up to \x01.  Returns the version or 0. */
static int raw_verb(const uint8_t *p, size_t n, sw_buf *verb)
{
	static const char v3m[] = "bzr message 3 (bzr 1.6)\n", v2m[] = "bzr request 2\n";
	if (n >= sizeof v3m - 1 && memcmp(p, v3m, sizeof v3m - 1) == 0) {
		first_struct f = {.have = false};
		sw_buf_init(&f.verb, NULL);
		sw_v3_config cfg;
		memset(&cfg, 0, sizeof cfg);
		cfg.expect_marker = true;
		sw_v3_callbacks cb = {.on_structure = on_structure};
		sw_v3_dec *d = NULL;
		if (sw_v3_dec_new(&d, &cfg, &cb, &f, NULL) == 0)
			sw_v3_dec_feed(d, p, n);
		sw_v3_dec_del(d);
		int v = f.verb.len ? 3 : 0;
		if (v)
			sw_buf_append(verb, f.verb.data, f.verb.len);
		sw_buf_fini(&f.verb);
		return v;
	}
	int version = 1;
	if (n >= sizeof v2m - 1 && memcmp(p, v2m, sizeof v2m - 1) == 0) {
		p += sizeof v2m - 1;
		n -= sizeof v2m - 1;
		version = 2;
	}
	size_t k = 0;
	while (k < n && p[k] != '\n' && p[k] != 1)
		k++;
	if (k == 0 || k == n)
		return 0;
	sw_buf_append(verb, p, k);
	return version;
}

/* ---- Walking the cases --------------------------------------------------------- */

static bool atom_streams(const sw_cf_atom *a)
{
	return a->has_pack || a->has_error || a->chunked ||
	       (a->version == 3 && !a->response && (a->nbodies > 1 || a->abort));
}

static bool tagged(const sw_cf_case *c, const char *tag)
{
	for (size_t i = 0; i < c->ntags; i++)
		if (strcmp(c->tags[i], tag) == 0)
			return true;
	return false;
}

static void count_case(table *t, vrow *r, const sw_cf_case *c)
{
	if (r->last_case != c->id) {
		r->last_case = c->id;
		r->cases++;
		if (c->role == SW_CF_ROLE_CLIENT)
			r->client++;
	}
}

/* The verb of a request atom (its first argument, evaluated with
 * placeholder values), its version, or 0. */
static int atom_verb(const sw_cf_atom *a, sw_buf *verb, bool *from_raw)
{
	sw_cf_vars vs = {.parsing = true};
	sw_cf_ctx ctx = {.vars = &vs};
	*from_raw = false;
	if (a->kind == SW_CF_MSG && !a->response && a->nargs &&
	    sw_cf_eval_arg(a->args[0], &ctx, verb, NULL) == 0)
		return a->version;
	if (a->kind == SW_CF_RAW) {
		sw_buf b;
		sw_buf_init(&b, NULL);
		int v = sw_cf_eval(a->raw, &ctx, &b, NULL) == 0 && b.len
		            ? raw_verb(b.data, b.len, verb)
		            : 0;
		sw_buf_fini(&b);
		*from_raw = true;
		return v;
	}
	return 0;
}

static void walk_case(table *t, const sw_cf_case *c)
{
	vrow *cur = NULL;
	int curv = 0;
	bool stream_tag = tagged(c, "stream");
	for (size_t i = 0; i < c->nsteps && t->rc == 0; i++) {
		const sw_cf_step *st = &c->steps[i];
		bool client_req = c->role == SW_CF_ROLE_CLIENT && st->kind == SW_CF_STEP_EXPECT;
		bool server_req = c->role == SW_CF_ROLE_SERVER && st->kind == SW_CF_STEP_SEND;
		for (size_t a = 0; a < st->nalts; a++)
			for (size_t k = 0; k < st->alts[a].n; k++) {
				const sw_cf_atom *at = &st->alts[a].atoms[k];
				if (server_req || client_req) {
					sw_buf verb;
					sw_buf_init(&verb, NULL);
					bool raw;
					int v = atom_verb(at, &verb, &raw);
					/* A raw line that is not a listed verb is framing
					 * (HTTP, garbage), not a verb. */
					vrow *r = v ? row(t, verb.data, verb.len, !raw) : NULL;
					sw_buf_fini(&verb);
					if (r)
						count_case(t, r, c);
					if (r && server_req) {
						cur = r;
						curv = v;
						r->ver |= 1u << v;
						if (atom_streams(at) || stream_tag)
							r->strm |= 1u << v;
					}
				} else if (cur && (atom_streams(at) || stream_tag)) {
					cur->strm |= 1u << curv;
				}
			}
	}
}

/* ---- The list and the table ------------------------------------------------------ */

static void load_list(table *t, const char *text, size_t len)
{
	size_t i = 0;
	while (i < len && t->rc == 0) {
		size_t s = i;
		while (i < len && text[i] != '\n')
			i++;
		const char *p = text + s;
		size_t l = i - s;
		if (i < len)
			i++;
		while (l && (*p == ' ' || *p == '\t'))
			p++, l--;
		if (!l || *p == '#')
			continue;
		size_t w = 0;
		while (w < l && p[w] != ' ' && p[w] != '\t' && p[w] != '\r')
			w++;
		vrow *r = row(t, (const uint8_t *)p, w, true);
		if (!r)
			return;
		r->listed = true;
		size_t c = w;
		while (c < l && (p[c] == ' ' || p[c] == '\t'))
			c++;
		size_t ce = c;
		while (ce < l && p[ce] != ' ' && p[ce] != '\t' && p[ce] != '\r')
			ce++;
		free(r->cls);
		if (!(r->cls = sw__cf_strndup(p + c, ce - c)))
			t->rc = SW_ERR_NOMEM;
	}
}

static void mark(FILE *f, unsigned bits, int v)
{
	fprintf(f, " %-3s", bits & (1u << v) ? "x" : "-");
}

int sw_cf_coverage(FILE *f, const sw_cf_suite *s, const char *verbs, size_t len)
{
	table t = {0};
	if (verbs && len)
		load_list(&t, verbs, len);
	size_t listed = t.n;
	for (size_t i = 0; i < s->n && t.rc == 0; i++)
		walk_case(&t, &s->cases[i]);
	int none = 0;
	size_t withv[4] = {0}, streams = 0;
	if (t.rc == 0) {
		fprintf(f, "%-44s %-7s %-3s %-3s %-3s %-11s %6s %6s\n", "verb", "class", "v1", "v2",
		        "v3", "streams", "cases", "client");
		for (size_t i = 0; i < t.n; i++) {
			const vrow *r = &t.v[i];
			if (i == listed && listed)
				fprintf(f, "\n# used by the cases, not in the verb list:\n");
			if (r->listed) {
				fprintf(f, "%-44s", r->verb);
			} else {
				/* A made-up verb of a case (unknown, non-ASCII, huge). */
				sw_buf q;
				sw_buf_init(&q, NULL);
				sw__cf_quote(&q, (const uint8_t *)r->verb, strlen(r->verb), 32);
				fprintf(f, "%-44.*s", (int)q.len,
				        q.data ? (const char *)q.data : "");
				sw_buf_fini(&q);
			}
			fprintf(f, " %-7s", r->cls && *r->cls ? r->cls : "-");
			for (int v = 1; v <= 3; v++)
				mark(f, r->ver, v);
			char sv[16] = "";
			for (int v = 1; v <= 3; v++)
				if (r->strm & (1u << v))
					snprintf(sv + strlen(sv), sizeof sv - strlen(sv), "%sv%d",
					         *sv ? "," : "", v);
			fprintf(f, " %-11s %6zu %6zu%s\n", *sv ? sv : "-", r->cases, r->client,
			        r->cases ? "" : "   NO CASE");
			if (i < listed || !listed) {
				if (!r->cases)
					none++;
				for (int v = 1; v <= 3; v++)
					if (r->ver & (1u << v))
						withv[v]++;
				if (r->strm)
					streams++;
			}
		}
		size_t n = listed ? listed : t.n;
		fprintf(f,
		        "\n%zu verbs: %zu with cases (v1 %zu, v2 %zu, v3 %zu), %zu with stream "
		        "cases, %d without any case\n",
		        n, n - (size_t)none, withv[1], withv[2], withv[3], streams, none);
		if (ferror(f))
			t.rc = SW_ERR_IO;
	}
	for (size_t i = 0; i < t.n; i++) {
		free(t.v[i].verb);
		free(t.v[i].cls);
	}
	free(t.v);
	return t.rc < 0 ? t.rc : none;
}
