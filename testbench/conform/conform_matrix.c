/*
 * Conformance case files: generated cases (conformance/FORMAT.md, "Case
 * matrices").  A *.matrix file is a table: request verbs, classes of paths
 * with the answers each verb may get, and path forms; every form x version
 * x server mode becomes one case, sending every verb of the table with the
 * form as its path on one connection.  The cases are written as case-file
 * text and parsed like any other, so that a matrix can do nothing a case
 * file cannot, and `smartwire conform --expand FILE` shows the text.
 *
 * A form's path is one token (its templates: conform_matrix_path.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_parse_impl.h"
#include "smartwire/error.h"

#define MAX_ROWS 64

typedef struct mverb {
	char *name;
	bool write;
	char *request; /* the request's tokens, "P" for the path */
	char *success; /* the success answer's tokens */
	char *word;    /* its first word (v1 errors: anything but this word) */
} mverb;

typedef struct mclass {
	char *name;
	char def[8];
	char per[MAX_ROWS][8]; /* per verb, "" = def */
} mclass;

typedef struct matrix {
	const char *file;
	char *prefix, *title, *ref, *level, *tags;
	int versions[3];
	size_t nversions;
	bool modes[2]; /* ro, rw */
	sw_buf fixture, fixture_reads;
	mverb verbs[MAX_ROWS];
	size_t nverbs;
	mclass classes[MAX_ROWS];
	size_t nclasses;
	char **seen; /* the paths (with the r flag and setup) already expanded */
	size_t nseen;
} matrix;

static int fail(sw_cf_diag *diag, const char *file, int line, const char *msg, const char *what)
{
	if (diag) {
		snprintf(diag->file, sizeof diag->file, "%s", file);
		diag->line = line;
		snprintf(diag->msg, sizeof diag->msg, "%s%s%s", msg, what ? ": " : "",
		         what ? what : "");
	}
	return SW_ERR_INVALID_ARGUMENT;
}

static void matrix_free(matrix *m)
{
	free(m->prefix);
	free(m->title);
	free(m->ref);
	free(m->level);
	free(m->tags);
	sw_buf_fini(&m->fixture);
	sw_buf_fini(&m->fixture_reads);
	for (size_t i = 0; i < m->nverbs; i++) {
		free(m->verbs[i].name);
		free(m->verbs[i].request);
		free(m->verbs[i].success);
		free(m->verbs[i].word);
	}
	for (size_t i = 0; i < m->nclasses; i++)
		free(m->classes[i].name);
	for (size_t i = 0; i < m->nseen; i++)
		free(m->seen[i]);
	free(m->seen);
}

/* True if this path (with its setup and r flag) was expanded before: the
 * form without its leading '/' may be another form's ("//etc" and "/etc"). */
static int seen_before(matrix *m, const char *path, bool reads_only, const char *setup, bool *dup)
{
	char *key = sw__cf_strf("%d %s %s", reads_only, setup ? setup : "", path);
	if (!key)
		return SW_ERR_NOMEM;
	*dup = false;
	for (size_t i = 0; i < m->nseen && !*dup; i++)
		*dup = strcmp(m->seen[i], key) == 0;
	if (*dup) {
		free(key);
		return 0;
	}
	return sw__cf_push_str(&m->seen, &m->nseen, key);
}

static char *tok_text(const sw__cf_tok *t)
{
	return sw__cf_strndup(t->p, t->n);
}

/* The source text of tokens a..b joined by spaces. */
static char *span(const sw__cf_tok *t, size_t a, size_t b)
{
	if (a >= b)
		return strdup("");
	return sw__cf_strndup(t[a].p, (size_t)(t[b - 1].p + t[b - 1].n - t[a].p));
}

/* ---- The table ------------------------------------------------------------------ */

static const char *const letters_ok = "ESN";

static bool valid_letters(const char *s, size_t n)
{
	if (n == 0 || n >= 8)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr(letters_ok, s[i]))
			return false;
	return true;
}

static int table_line(matrix *m, const sw__cf_tok *t, size_t nt, int line, sw_cf_diag *diag)
{
	const char *f = m->file;
	if (sw__cf_is(&t[0], "matrix") || sw__cf_is(&t[0], "title") || sw__cf_is(&t[0], "ref") ||
	    sw__cf_is(&t[0], "level") || sw__cf_is(&t[0], "tags")) {
		if (nt < 2)
			return fail(diag, f, line, "a value is missing", NULL);
		char **field = sw__cf_is(&t[0], "matrix")  ? &m->prefix
		               : sw__cf_is(&t[0], "title") ? &m->title
		               : sw__cf_is(&t[0], "ref")   ? &m->ref
		               : sw__cf_is(&t[0], "level") ? &m->level
		                                           : &m->tags;
		free(*field);
		return (*field = span(t, 1, nt)) ? 0 : SW_ERR_NOMEM;
	}
	if (sw__cf_is(&t[0], "versions")) {
		m->nversions = 0;
		for (size_t i = 1; i < nt && m->nversions < 3; i++) {
			if (t[i].n != 1 || t[i].p[0] < '1' || t[i].p[0] > '3')
				return fail(diag, f, line, "versions are 1, 2, 3", NULL);
			m->versions[m->nversions++] = t[i].p[0] - '0';
		}
		return 0;
	}
	if (sw__cf_is(&t[0], "modes")) {
		m->modes[0] = m->modes[1] = false;
		for (size_t i = 1; i < nt; i++) {
			if (sw__cf_is(&t[i], "ro"))
				m->modes[0] = true;
			else if (sw__cf_is(&t[i], "rw"))
				m->modes[1] = true;
			else
				return fail(diag, f, line, "modes are ro, rw", NULL);
		}
		return 0;
	}
	if (sw__cf_is(&t[0], "fixture") || sw__cf_is(&t[0], "fixture-reads")) {
		if (nt < 2)
			return fail(diag, f, line, "fixture needs a case-file fixture line", NULL);
		sw_buf *b = sw__cf_is(&t[0], "fixture") ? &m->fixture : &m->fixture_reads;
		char *s = span(t, 1, nt);
		int rc = s ? sw__cf_appendf(b, "%s\n", s) : SW_ERR_NOMEM;
		free(s);
		return rc;
	}
	if (sw__cf_is(&t[0], "verb")) {
		size_t arrow = 0;
		for (size_t i = 3; i < nt && !arrow; i++)
			if (sw__cf_is(&t[i], "=>"))
				arrow = i;
		if (nt < 6 || !arrow || arrow + 1 >= nt ||
		    !(sw__cf_is(&t[2], "r") || sw__cf_is(&t[2], "w")))
			return fail(diag, f, line, "verb NAME r|w REQUEST... => ANSWER...", NULL);
		if (m->nverbs == MAX_ROWS)
			return fail(diag, f, line, "too many verbs", NULL);
		mverb *v = &m->verbs[m->nverbs++];
		v->write = sw__cf_is(&t[2], "w");
		v->name = tok_text(&t[1]);
		v->request = span(t, 3, arrow);
		v->success = span(t, arrow + 1, nt);
		v->word = tok_text(&t[arrow + 1]);
		return v->name && v->request && v->success && v->word ? 0 : SW_ERR_NOMEM;
	}
	if (sw__cf_is(&t[0], "answers")) {
		if (nt < 3 || !valid_letters(t[2].p, t[2].n))
			return fail(diag, f, line,
			            "answers CLASS LETTERS [VERB=LETTERS]... (E S N)", NULL);
		if (m->nclasses == MAX_ROWS)
			return fail(diag, f, line, "too many classes", NULL);
		mclass *c = &m->classes[m->nclasses++];
		memset(c, 0, sizeof *c);
		if (!(c->name = tok_text(&t[1])))
			return SW_ERR_NOMEM;
		memcpy(c->def, t[2].p, t[2].n);
		for (size_t i = 3; i < nt; i++) {
			const char *eq = memchr(t[i].p, '=', t[i].n);
			size_t k = 0;
			while (eq && k < m->nverbs &&
			       !(strlen(m->verbs[k].name) == (size_t)(eq - t[i].p) &&
			         memcmp(m->verbs[k].name, t[i].p, (size_t)(eq - t[i].p)) == 0))
				k++;
			size_t ll = eq ? t[i].n - (size_t)(eq - t[i].p) - 1 : 0;
			if (!eq || k == m->nverbs || !valid_letters(eq + 1, ll))
				return fail(diag, f, line,
				            "VERB=LETTERS needs a verb of the table (given before)",
				            NULL);
			memcpy(c->per[k], eq + 1, ll);
		}
		return 0;
	}
	return fail(diag, f, line,
	            "unknown matrix directive (matrix, title, ref, level, tags, "
	            "versions, modes, fixture, fixture-reads, verb, answers, form)",
	            NULL);
}

/* ---- Cases ------------------------------------------------------------------------- */

static const mclass *find_class(const matrix *m, const char *p, size_t n)
{
	for (size_t i = 0; i < m->nclasses; i++)
		if (strlen(m->classes[i].name) == n && memcmp(m->classes[i].name, p, n) == 0)
			return &m->classes[i];
	return NULL;
}

/* One expectation line per allowed answer of verb v in version ver. */
static int answers(sw_buf *out, const mverb *v, int ver, const char *letters)
{
	int rc = 0;
	const char *ok = ver == 1 ? "" : " success";
	for (size_t i = 0; rc == 0 && letters[i]; i++) {
		const char *kw = i ? "or    " : "expect";
		switch (letters[i]) {
		case 'E':
			rc = ver == 3 ? sw__cf_appendf(out, "%s  v3 response error ...\n", kw)
			     : ver == 2
			         ? sw__cf_appendf(out, "%s  v2 response failed ...\n", kw)
			         : sw__cf_appendf(out, "%s  v1 response !%s ...\n", kw, v->word);
			break;
		case 'S':
			rc =
			    sw__cf_appendf(out, "%s  v%d response%s %s\n", kw, ver, ok, v->success);
			break;
		case 'N':
			/* "no" is an answer of has only: other verbs skip it. */
			if (strcmp(v->word, "yes") == 0)
				rc = sw__cf_appendf(out, "%s  v%d response%s no\n", kw, ver, ok);
			break;
		}
	}
	return rc;
}

/* The request of verb v with the path token `path`. */
static int request(sw_buf *out, const mverb *v, int ver, const char *path)
{
	int rc = sw__cf_appendf(out, "send    v%d request ", ver);
	sw__cf_tok t[SW__CF_MAX_TOKS];
	int nt = sw__cf_tokenize(v->request, strlen(v->request), t, SW__CF_MAX_TOKS, NULL);
	for (int i = 0; rc == 0 && i < nt; i++) {
		if (i)
			rc = sw_buf_append_byte(out, ' ');
		if (rc == 0)
			rc = sw__cf_is(&t[i], "P") ? sw_buf_append_str(out, path)
			                           : sw_buf_append(out, t[i].p, t[i].n);
	}
	return rc ? rc : sw_buf_append_byte(out, '\n');
}

typedef struct form {
	const char *id;
	const mclass *cls;
	bool reads_only;
	const char *path;  /* quoted */
	const char *shown; /* for the title */
	const char *setup; /* request tokens, or NULL */
	const char *slash; /* "abs" / "rel" */
	int line;
} form;

static int one_case(sw_buf *out, const matrix *m, const form *fm, int ver, bool rw)
{
	int rc = sw__cf_appendf(out, "case    %s.%s.%s.v%d.%s\n", m->prefix, fm->id, fm->slash, ver,
	                        rw ? "rw" : "ro");
	if (rc == 0)
		rc = sw__cf_appendf(
		    out, "title   %.100s (%s, %s): every verb in v%d, %s server\n", fm->shown,
		    fm->cls->name, fm->slash[0] == 'a' ? "with a leading /" : "without a leading /",
		    ver, rw ? "read-write" : "read-only");
	if (rc == 0)
		rc = sw__cf_appendf(
		    out, "ref     %s; form %s (%s:%d)\nlevel   %s\ntags    %s\nkeep-going\n",
		    m->ref ? m->ref : "", fm->id, m->file, fm->line, m->level ? m->level : "MUST",
		    m->tags ? m->tags : "");
	if (rc == 0 && rw)
		rc = sw_buf_append_str(out, "option  allow-writes\n");
	if (rc == 0 && m->fixture.len)
		rc = sw_buf_append(out, m->fixture.data, m->fixture.len);
	if (rc == 0 && fm->reads_only && m->fixture_reads.len)
		rc = sw_buf_append(out, m->fixture_reads.data, m->fixture_reads.len);
	if (rc == 0 && fm->setup) {
		/* Its own answer does not matter (read-only servers refuse it). */
		rc = sw__cf_appendf(out, "send    v%d request %s\n", ver, fm->setup);
		if (rc == 0)
			rc = ver == 1 ? sw_buf_append_str(out, "expect  v1 response ...\n")
			              : sw__cf_appendf(out,
			                               "expect  v%d response success ...\nor      "
			                               "v%d response %s ...\n",
			                               ver, ver, ver == 3 ? "error" : "failed");
	}
	for (size_t k = 0; rc == 0 && k < m->nverbs; k++) {
		const mverb *v = &m->verbs[k];
		if (v->write && fm->reads_only)
			continue;
		rc = request(out, v, ver, fm->path);
		if (rc == 0)
			rc = answers(out, v, ver,
			             fm->cls->per[k][0] ? fm->cls->per[k] : fm->cls->def);
	}
	return rc;
}

/* Expands one form line into its cases, calling emit for each case text. */
typedef int (*emit_fn)(void *ud, const char *text, size_t len, int line);

static int form_line(matrix *m, const sw__cf_tok *t, size_t nt, int line, sw_cf_diag *diag,
                     emit_fn emit, void *ud)
{
	const char *f = m->file;
	if (nt < 5 || !(sw__cf_is(&t[3], "r") || sw__cf_is(&t[3], "w")) ||
	    (nt > 5 && !sw__cf_is(&t[5], "setup")) || nt == 6)
		return fail(diag, f, line, "form ID CLASS[/CLASS] r|w PATH [setup REQUEST...]",
		            NULL);
	if (!m->prefix || !m->nversions || !(m->modes[0] || m->modes[1]))
		return fail(diag, f, line, "matrix, versions and modes must come before the forms",
		            NULL);
	const char *slash = memchr(t[2].p, '/', t[2].n);
	size_t l1 = slash ? (size_t)(slash - t[2].p) : t[2].n;
	const mclass *abs_cls = find_class(m, t[2].p, l1);
	const mclass *rel_cls = slash ? find_class(m, slash + 1, t[2].n - l1 - 1) : abs_cls;
	if (!abs_cls || !rel_cls)
		return fail(diag, f, line, "unknown class (answers CLASS ... first)", NULL);
	char *id = tok_text(&t[1]);
	char *setup = nt > 6 ? span(t, 6, nt) : NULL;
	sw_buf bytes, q, shown, text;
	sw_buf_init(&bytes, NULL);
	sw_buf_init(&q, NULL);
	sw_buf_init(&shown, NULL);
	sw_buf_init(&text, NULL);
	const char *why = NULL;
	const char *src = t[4].quoted ? t[4].p + 1 : t[4].p;
	size_t srcn = t[4].quoted ? t[4].n - 2 : t[4].n;
	int rc = id ? sw__cf_matrix_path(src, srcn, &bytes, &why) : SW_ERR_NOMEM;
	if (rc == SW_ERR_INVALID_ARGUMENT)
		rc = fail(diag, f, line, why, NULL);
	/* abs: with a leading '/' (added if missing); rel: every leading '/' removed. */
	for (int variant = 0; rc == 0 && variant < 2; variant++) {
		size_t skip = 0;
		while (skip < bytes.len && bytes.data[skip] == '/')
			skip++;
		sw_buf_reset(&q);
		sw_buf_reset(&shown);
		sw_buf p1;
		sw_buf_init(&p1, NULL);
		if (variant == 0 && skip == 0)
			rc = sw_buf_append_byte(&p1, '/');
		if (rc == 0)
			rc = variant == 0 ? sw_buf_append(&p1, bytes.data, bytes.len)
			                  : sw_buf_append(&p1, bytes.data + skip, bytes.len - skip);
		if (rc == 0)
			rc = sw__cf_matrix_quote(&q, p1.data, p1.len);
		if (rc == 0)
			rc = sw_buf_append_byte(&q, 0);
		if (rc == 0)
			rc = sw__cf_quote(&shown, p1.data, p1.len, 60);
		if (rc == 0)
			rc = sw_buf_append_byte(&shown, 0);
		sw_buf_fini(&p1);
		bool dup = false;
		if (rc == 0)
			rc = seen_before(m, (const char *)q.data, sw__cf_is(&t[3], "r"), setup,
			                 &dup);
		if (rc < 0 || dup)
			continue;
		form fm = {.id = id,
		           .cls = variant == 0 ? abs_cls : rel_cls,
		           .reads_only = sw__cf_is(&t[3], "r"),
		           .path = (const char *)q.data,
		           .shown = (const char *)shown.data,
		           .setup = setup,
		           .slash = variant == 0 ? "abs" : "rel",
		           .line = line};
		for (size_t vi = 0; rc == 0 && vi < m->nversions; vi++)
			for (int mode = 0; rc == 0 && mode < 2; mode++) {
				if (!m->modes[mode])
					continue;
				sw_buf_reset(&text);
				rc = one_case(&text, m, &fm, m->versions[vi], mode == 1);
				if (rc == 0)
					rc = emit(ud, (const char *)text.data, text.len, line);
			}
	}
	free(id);
	free(setup);
	sw_buf_fini(&bytes);
	sw_buf_fini(&q);
	sw_buf_fini(&shown);
	sw_buf_fini(&text);
	return rc;
}

static int expand(const char *text, size_t len, const char *file, sw_cf_diag *diag, emit_fn emit,
                  void *ud)
{
	matrix m;
	memset(&m, 0, sizeof m);
	m.file = file ? file : "<matrix>";
	sw_buf_init(&m.fixture, NULL);
	sw_buf_init(&m.fixture_reads, NULL);
	int rc = 0, line = 0;
	size_t i = 0;
	while (rc == 0 && i < len) {
		size_t e = i;
		while (e < len && text[e] != '\n')
			e++;
		line++;
		size_t l = e - i;
		if (l && text[i + l - 1] == '\r')
			l--;
		sw__cf_tok t[SW__CF_MAX_TOKS];
		sw_errinfo ei;
		int nt = sw__cf_tokenize(text + i, l, t, SW__CF_MAX_TOKS, &ei);
		if (nt < 0)
			rc = fail(diag, m.file, line, ei.text, NULL);
		else if (nt > 0 && sw__cf_is(&t[0], "form"))
			rc = form_line(&m, t, (size_t)nt, line, diag, emit, ud);
		else if (nt > 0)
			rc = table_line(&m, t, (size_t)nt, line, diag);
		i = e < len ? e + 1 : e;
	}
	matrix_free(&m);
	return rc;
}

typedef struct parse_ud {
	sw_cf_suite *s;
	const char *file;
	sw_cf_diag *diag;
} parse_ud;

static int emit_parse(void *ud, const char *text, size_t len, int line)
{
	parse_ud *P = ud;
	int rc = sw_cf_parse(P->s, text, len, P->file, P->diag);
	if (rc == 0 && P->s->n)
		P->s->cases[P->s->n - 1].line = line; /* the form's line in the table */
	if (rc == SW_ERR_INVALID_ARGUMENT && P->diag) {
		/* Point at the form that made the case. */
		char msg[sizeof P->diag->msg];
		memcpy(msg, P->diag->msg, sizeof msg);
		msg[sizeof msg - 1] = '\0';
		snprintf(P->diag->msg, sizeof P->diag->msg, "in a case of this form: %.200s", msg);
		P->diag->line = line;
	}
	return rc;
}

int sw_cf_parse_matrix(sw_cf_suite *s, const char *text, size_t len, const char *file,
                       sw_cf_diag *diag)
{
	size_t before = s->n;
	parse_ud P = {s, file ? file : "<matrix>", diag};
	int rc = expand(text, len, file, diag, emit_parse, &P);
	if (rc < 0)
		while (s->n > before)
			sw__cf_case_free(&s->cases[--s->n]);
	return rc;
}

static int emit_print(void *ud, const char *text, size_t len, int line)
{
	(void)line;
	FILE *f = ud;
	return fwrite(text, 1, len, f) == len && fputc('\n', f) != EOF ? 0 : SW_ERR_IO;
}

int sw_cf_write_matrix(FILE *f, const char *text, size_t len, const char *file, sw_cf_diag *diag)
{
	return expand(text, len, file, diag, emit_print, f);
}
