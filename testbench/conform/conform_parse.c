/*
 * Conformance case files: the parser (conformance/FORMAT.md).
 *
 * The format is line-oriented: a directive word, then tokens.  A line ending
 * in a backslash continues on the next one.  "case ID" starts a case; the
 * metadata, fixture, steps and after-checks that follow belong to it.
 * This file gathers logical lines and hands each to the directive table
 * (conform_directives.c); it also owns the suite and loads files and
 * directories.  Every error names the file and line and says what was
 * expected.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conform_parse_impl.h"
#include "smartwire/error.h"

int sw__cf_fail(sw__cf_pstate *ps, const char *fmt, ...)
{
	if (ps->diag) {
		snprintf(ps->diag->file, sizeof ps->diag->file, "%s", ps->file);
		ps->diag->line = ps->line;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(ps->diag->msg, sizeof ps->diag->msg, fmt, ap);
		va_end(ap);
	}
	return SW_ERR_INVALID_ARGUMENT;
}

void sw_cf_suite_init(sw_cf_suite *s)
{
	memset(s, 0, sizeof *s);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void atom_free(sw_cf_atom *a)
{
	free(a->raw);
	free_strv(a->pack, a->npack);
	free_strv(a->lines, a->nlines);
	free(a->starts);
	free_strv(a->args, a->nargs);
	free_strv(a->bodies, a->nbodies);
	free_strv(a->eargs, a->neargs);
}

void sw__cf_case_free(sw_cf_case *c)
{
	free(c->id);
	free(c->title);
	free(c->ref);
	free(c->note);
	free(c->file);
	free(c->client_op);
	free(c->fixture_bzr);
	for (size_t i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	for (size_t i = 0; i < c->nentries; i++) {
		free(c->entries[i].path);
		free(c->entries[i].expr);
	}
	free(c->entries);
	for (size_t i = 0; i < c->nsteps; i++) {
		sw_cf_step *s = &c->steps[i];
		for (size_t a = 0; a < s->nalts; a++) {
			for (size_t k = 0; k < s->alts[a].n; k++)
				atom_free(&s->alts[a].atoms[k]);
			free(s->alts[a].atoms);
		}
		free(s->alts);
		free(s->text);
		free(s->result_text);
		for (size_t k = 0; k < s->ncaps; k++) {
			free(s->caps[k].name);
			free(s->caps[k].is);
		}
		free(s->caps);
	}
	free(c->steps);
	for (size_t i = 0; i < c->nchecks; i++) {
		free(c->checks[i].path);
		free(c->checks[i].expr);
	}
	free(c->checks);
	memset(c, 0, sizeof *c);
}

void sw_cf_suite_fini(sw_cf_suite *s)
{
	for (size_t i = 0; i < s->n; i++)
		sw__cf_case_free(&s->cases[i]);
	free(s->cases);
	sw_cf_suite_init(s);
}

void *sw__cf_grow(void **arr, size_t *n, size_t size)
{
	void *p = realloc(*arr, (*n + 1) * size);
	if (!p)
		return NULL;
	*arr = p;
	memset((char *)p + *n * size, 0, size);
	return (char *)p + (*n)++ * size;
}

char *sw__cf_join(const sw__cf_tok *toks, size_t a, size_t b)
{
	size_t len = 0;
	for (size_t i = a; i < b; i++)
		len += toks[i].n + 1;
	char *s = malloc(len + 1);
	if (!s)
		return NULL;
	size_t o = 0;
	for (size_t i = a; i < b; i++) {
		if (i > a)
			s[o++] = ' ';
		memcpy(s + o, toks[i].p, toks[i].n);
		o += toks[i].n;
	}
	s[o] = '\0';
	return s;
}

char *sw__cf_tokdup(const sw__cf_tok *t)
{
	return sw__cf_strndup(t->p, t->n);
}

int sw__cf_push_str(char ***v, size_t *n, char *s)
{
	if (!s)
		return SW_ERR_NOMEM;
	char **slot = sw__cf_grow((void **)v, n, sizeof **v);
	if (!slot) {
		free(s);
		return SW_ERR_NOMEM;
	}
	*slot = s;
	return 0;
}

int sw__cf_finish_case(sw__cf_pstate *ps)
{
	sw_cf_case *c = ps->cur;
	if (!c)
		return 0;
	int save = ps->line;
	ps->line = c->line;
	int rc = 0;
	if (!c->title)
		rc = sw__cf_fail(ps, "case %s has no title", c->id);
	else if (!c->ref)
		rc = sw__cf_fail(
		    ps, "case %s has no ref (protocol-reference section or Breezy function)",
		    c->id);
	else if ((int)c->level < 0)
		rc = sw__cf_fail(ps, "case %s has no level (MUST, SHOULD or MAY)", c->id);
	else if (c->nsteps == 0)
		rc = sw__cf_fail(ps, "case %s has no steps", c->id);
	else if (c->role == SW_CF_ROLE_CLIENT && !c->client_op)
		rc = sw__cf_fail(ps, "client case %s has no 'client OP ARGS' line", c->id);
	ps->line = save;
	ps->cur = NULL;
	return rc;
}

static int parse_line(sw__cf_pstate *ps, const char *line, size_t len)
{
	sw__cf_tok t[SW__CF_MAX_TOKS];
	sw_errinfo ei;
	int nt = sw__cf_tokenize(line, len, t, SW__CF_MAX_TOKS, &ei);
	if (nt < 0)
		return sw__cf_fail(ps, "%s", ei.text);
	if (nt == 0)
		return 0;
	ps->text = line;
	ps->len = len;
	return sw__cf_directive(ps, t, (size_t)nt);
}

/* Gathers the logical line starting at text[*i] (joining backslash
 * continuations with a space) into `logical`; counts lines in *lineno. */
static int logical_line(const char *text, size_t len, size_t *i, int *lineno, sw_buf *logical)
{
	sw_buf_reset(logical);
	for (;;) {
		size_t e = *i;
		while (e < len && text[e] != '\n')
			e++;
		(*lineno)++;
		size_t l = e - *i;
		if (l && text[*i + l - 1] == '\r')
			l--;
		bool cont = l && text[*i + l - 1] == '\\';
		if (cont)
			l--;
		if (sw_buf_append(logical, text + *i, l) < 0)
			return SW_ERR_NOMEM;
		*i = e < len ? e + 1 : e;
		if (!cont || *i >= len)
			return 0;
		if (sw_buf_append_byte(logical, ' ') < 0)
			return SW_ERR_NOMEM;
	}
}

int sw_cf_parse(sw_cf_suite *s, const char *text, size_t len, const char *file, sw_cf_diag *diag)
{
	if (!s || (!text && len))
		return SW_ERR_INVALID_ARGUMENT;
	sw__cf_pstate ps = {
	    .suite = s, .first_new = s->n, .diag = diag, .file = file ? file : "<text>"};
	ps.decl.parsing = true;
	sw_buf logical;
	sw_buf_init(&logical, NULL);
	size_t i = 0;
	int rc = 0;
	int lineno = 0;
	while (rc == 0 && i < len) {
		ps.line = lineno + 1;
		rc = logical_line(text, len, &i, &lineno, &logical);
		if (rc == 0 && logical.len && memchr(logical.data, 0, logical.len))
			rc = sw__cf_fail(&ps, "NUL byte in the case file (use \\0 in a string)");
		if (rc == 0)
			rc = parse_line(&ps, (const char *)logical.data, logical.len);
	}
	if (rc == 0) {
		ps.line = lineno;
		rc = sw__cf_finish_case(&ps);
	}
	sw_buf_fini(&logical);
	sw__cf_vars_free(&ps.decl);
	if (rc < 0) {
		if (rc == SW_ERR_NOMEM && diag) {
			snprintf(diag->file, sizeof diag->file, "%s", ps.file);
			diag->line = ps.line;
			snprintf(diag->msg, sizeof diag->msg, "out of memory");
		}
		while (s->n > ps.first_new)
			sw__cf_case_free(&s->cases[--s->n]);
	}
	return rc;
}

static int load_file(sw_cf_suite *s, const char *path, sw_cf_diag *diag)
{
	FILE *f = fopen(path, "rbe");
	if (!f) {
		if (diag) {
			snprintf(diag->file, sizeof diag->file, "%s", path);
			diag->line = 0;
			char t[128];
			snprintf(diag->msg, sizeof diag->msg, "cannot open: %s",
			         sw_sys_strerror(errno, t, sizeof t));
		}
		return SW_ERR_IO;
	}
	sw_buf b;
	sw_buf_init(&b, NULL);
	char tmp[8192];
	size_t got;
	int rc = 0;
	while ((got = fread(tmp, 1, sizeof tmp, f)) > 0)
		if (sw_buf_append(&b, tmp, got) < 0) {
			rc = SW_ERR_NOMEM;
			break;
		}
	fclose(f);
	size_t pl = strlen(path);
	bool matrix = pl > 7 && strcmp(path + pl - 7, ".matrix") == 0;
	if (rc == 0)
		rc = matrix ? sw_cf_parse_matrix(s, (const char *)b.data, b.len, path, diag)
		            : sw_cf_parse(s, (const char *)b.data, b.len, path, diag);
	sw_buf_fini(&b);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sw_cf_load(sw_cf_suite *s, const char *path, sw_cf_diag *diag)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return load_file(s, path, diag); /* reports the error */
		char **names = NULL;
		size_t n = 0;
		struct dirent *de;
		int rc = 0;
		while ((de = readdir(d))) {
			size_t l = strlen(de->d_name);
			if ((l > 5 && strcmp(de->d_name + l - 5, ".case") == 0) ||
			    (l > 7 && strcmp(de->d_name + l - 7, ".matrix") == 0))
				if ((rc = sw__cf_push_str(
				         &names, &n, sw__cf_strf("%s/%s", path, de->d_name))) < 0)
					break;
		}
		closedir(d);
		if (n)
			qsort(names, n, sizeof *names, cmp_str);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = load_file(s, names[i], diag);
		free_strv(names, n);
		return rc;
	}
	return load_file(s, path, diag);
}

bool sw_cf_glob(const char *pat, const char *id)
{
	if (*pat == '\0')
		return *id == '\0';
	if (*pat == '*') {
		for (const char *p = id;; p++) {
			if (sw_cf_glob(pat + 1, p))
				return true;
			if (*p == '\0')
				return false;
		}
	}
	if (*id && (*pat == '?' || *pat == *id))
		return sw_cf_glob(pat + 1, id + 1);
	return false;
}

void sw_cf_area(const char *id, char *out, size_t cap)
{
	const char *dot = strchr(id, '.');
	if (dot) {
		const char *dot2 = strchr(dot + 1, '.');
		if (dot2)
			dot = dot2;
		else
			dot = NULL;
	}
	size_t n = dot ? (size_t)(dot - id) : strlen(id);
	if (cap == 0)
		return;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, id, n);
	out[n] = '\0';
}

const char *sw_cf_level_name(sw_cf_level l)
{
	switch (l) {
	case SW_CF_MUST: return "MUST";
	case SW_CF_SHOULD: return "SHOULD";
	case SW_CF_MAY: return "MAY";
	}
	return "?";
}
