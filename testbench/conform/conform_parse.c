/*
 * Conformance case files: the parser (conformance/FORMAT.md).
 *
 * The format is line-oriented: a directive word, then tokens.  A line ending
 * in a backslash continues on the next one.  "case ID" starts a case; the
 * metadata, fixture, steps and after-checks that follow belong to it.
 * Every error names the file and line and says what was expected.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conform_impl.h"
#include "smartwire/error.h"

typedef struct pstate {
	sw_cf_suite *suite;
	size_t first_new;      /* index of the first case of this text */
	sw_cf_diag *diag;
	const char *file;
	int line;
	sw_cf_case *cur;
	bool last_was_expect;  /* an "or" may follow */
} pstate;

static int fail(pstate *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(pstate *ps, const char *fmt, ...)
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

/* Grows a typed array by one zeroed element; returns it or NULL. */
static void *grow(void **arr, size_t *n, size_t size)
{
	void *p = realloc(*arr, (*n + 1) * size);
	if (!p)
		return NULL;
	*arr = p;
	memset((char *)p + *n * size, 0, size);
	return (char *)p + (*n)++ * size;
}

/* The source text of toks[a..b) joined by single spaces. */
static char *join(const sw__cf_tok *toks, size_t a, size_t b)
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

static char *tokdup(const sw__cf_tok *t)
{
	return sw__cf_strndup(t->p, t->n);
}

/* Checks that an expression evaluates (with a placeholder root). */
static int check_expr(pstate *ps, const char *expr, bool arg)
{
	char err[200];
	sw_buf b;
	sw_buf_init(&b, NULL);
	int rc = arg ? sw_cf_eval_arg(expr, NULL, &b, err, sizeof err)
	             : sw_cf_eval(expr, NULL, &b, err, sizeof err);
	sw_buf_fini(&b);
	if (rc == SW_ERR_NOMEM)
		return rc;
	if (rc < 0)
		return fail(ps, "bad byte expression: %s", err);
	return 0;
}

static bool is_kw(const sw__cf_tok *t)
{
	static const char *const kws[] = {"body", "chunks", "stream-error", "abort", "then", "within"};
	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
		if (sw__cf_is(t, kws[i]))
			return true;
	return false;
}

static bool is_term_start(const sw__cf_tok *t)
{
	return t->quoted || t->p[0] == '$' || (memchr(t->p, '{', t->n) && isalpha((unsigned char)t->p[0]));
}

/* Appends a copied string to a vector. */
static int push_str(char ***v, size_t *n, char *s)
{
	if (!s)
		return SW_ERR_NOMEM;
	char **slot = grow((void **)v, n, sizeof **v);
	if (!slot) {
		free(s);
		return SW_ERR_NOMEM;
	}
	*slot = s;
	return 0;
}

/* Parses one atom from toks[*i..n), stopping before "then"/"within". */
static int parse_atom(pstate *ps, const sw__cf_tok *t, size_t n, size_t *i, bool expect,
                      sw_cf_atom *a)
{
	size_t k = *i;
	if (k >= n)
		return fail(ps, "missing what to %s (raw, v1, v2, v3%s)", expect ? "expect" : "send",
		            expect ? ", eof, silence" : "");
	if (sw__cf_is(&t[k], "eof") && expect) {
		a->kind = SW_CF_EOF;
		*i = k + 1;
		return 0;
	}
	if (sw__cf_is(&t[k], "silence") && expect) {
		a->kind = SW_CF_SILENCE;
		if (k + 1 >= n || sw__cf_duration(t[k + 1].p, t[k + 1].n, &a->ms) < 0)
			return fail(ps, "silence needs a duration such as 300ms or 2s");
		*i = k + 2;
		return 0;
	}
	if (sw__cf_is(&t[k], "raw") || is_term_start(&t[k])) {
		if (sw__cf_is(&t[k], "raw"))
			k++;
		size_t e = k;
		while (e < n && !sw__cf_is(&t[e], "then") && !sw__cf_is(&t[e], "within"))
			e++;
		if (e == k)
			return fail(ps, "raw needs a byte expression");
		a->kind = SW_CF_RAW;
		if (!(a->raw = join(t, k, e)))
			return SW_ERR_NOMEM;
		*i = e;
		return check_expr(ps, a->raw, false);
	}
	if (!(sw__cf_is(&t[k], "v1") || sw__cf_is(&t[k], "v2") || sw__cf_is(&t[k], "v3")))
		return fail(ps, "unknown %s '%.*s' (raw, v1, v2, v3%s)", expect ? "expectation" : "message",
		            (int)t[k].n, t[k].p, expect ? ", eof, silence" : "");
	a->kind = SW_CF_MSG;
	a->version = t[k].p[1] - '0';
	a->status = -1;
	k++;
	if (k < n && sw__cf_is(&t[k], "request"))
		a->response = false;
	else if (k < n && sw__cf_is(&t[k], "response"))
		a->response = true;
	else
		return fail(ps, "v%d must be followed by 'request' or 'response'", a->version);
	k++;
	if (a->response && a->version > 1) {
		if (k < n && sw__cf_is(&t[k], "success"))
			a->status = 1;
		else if (k < n && (sw__cf_is(&t[k], "failed") || sw__cf_is(&t[k], "error")))
			a->status = 0;
		else
			return fail(ps, "a v%d response needs a status: success or %s", a->version,
			            a->version == 2 ? "failed" : "error");
		k++;
	}
	size_t argstart = k;
	int rc;
	while (k < n && !is_kw(&t[k])) {
		bool wild = sw__cf_is(&t[k], "*") || sw__cf_is(&t[k], "...");
		if (wild && !expect)
			return fail(ps, "wildcards (* and ...) are only allowed in expectations");
		if (sw__cf_is(&t[k], "...") && k + 1 < n && !is_kw(&t[k + 1]))
			return fail(ps, "'...' must be the last argument");
		if ((rc = push_str(&a->args, &a->nargs, tokdup(&t[k]))) < 0)
			return rc;
		if (!wild && (rc = check_expr(ps, a->args[a->nargs - 1], true)) < 0)
			return rc;
		k++;
	}
	a->any_args = expect && k == argstart;
	if (!expect && k == argstart && !a->response)
		return fail(ps, "a request needs at least a verb");
	while (k < n && !sw__cf_is(&t[k], "then") && !sw__cf_is(&t[k], "within")) {
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
				return fail(ps, "body needs a byte expression (use \"\" for an empty body)");
			if (a->nbodies && !(a->version == 3 && !a->response && !expect))
				return fail(ps, "only a v3 request to send may have several body parts");
			if ((rc = push_str(&a->bodies, &a->nbodies, join(t, k, e))) < 0)
				return rc;
			if ((rc = check_expr(ps, a->bodies[a->nbodies - 1], false)) < 0)
				return rc;
			k = e;
		} else if (sw__cf_is(&t[k], "chunks")) {
			if (!(a->version == 2 && a->response))
				return fail(ps, "chunks are only for v2 responses");
			a->chunked = true;
			k++;
			while (k < n && !is_kw(&t[k])) {
				if ((rc = push_str(&a->bodies, &a->nbodies, tokdup(&t[k]))) < 0)
					return rc;
				if ((rc = check_expr(ps, a->bodies[a->nbodies - 1], false)) < 0)
					return rc;
				k++;
			}
		} else if (sw__cf_is(&t[k], "stream-error")) {
			if (!a->response || a->version == 1 || (a->version == 2 && !a->chunked))
				return fail(ps, "stream-error needs a v3 response or a v2 chunked response");
			a->has_error = true;
			k++;
			while (k < n && !is_kw(&t[k])) {
				if ((rc = push_str(&a->eargs, &a->neargs, tokdup(&t[k]))) < 0)
					return rc;
				k++;
			}
		} else if (sw__cf_is(&t[k], "abort")) {
			if (a->version != 3 || a->response)
				return fail(ps, "abort is only for v3 requests");
			a->abort = true;
			k++;
		} else {
			return fail(ps, "unexpected '%.*s'", (int)t[k].n, t[k].p);
		}
	}
	*i = k;
	return 0;
}

/* Parses "ALT [within DUR]" for expect/or into a new alternative of step. */
static int parse_alt(pstate *ps, const sw__cf_tok *t, size_t n, size_t i, sw_cf_step *st)
{
	sw_cf_alt *alt = grow((void **)&st->alts, &st->nalts, sizeof *alt);
	if (!alt)
		return SW_ERR_NOMEM;
	for (;;) {
		sw_cf_atom *a = grow((void **)&alt->atoms, &alt->n, sizeof *a);
		if (!a)
			return SW_ERR_NOMEM;
		int rc = parse_atom(ps, t, n, &i, true, a);
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
			return fail(ps, "within needs a duration such as 500ms or 3s");
		if (ms > st->within_ms)
			st->within_ms = ms;
		i += 2;
	}
	if (i < n)
		return fail(ps, "unexpected '%.*s' after the expectation", (int)t[i].n, t[i].p);
	return 0;
}

static sw_cf_step *new_step(pstate *ps, sw_cf_step_kind kind, const char *line, size_t len)
{
	sw_cf_step *st = grow((void **)&ps->cur->steps, &ps->cur->nsteps, sizeof *st);
	if (!st)
		return NULL;
	st->kind = kind;
	st->line = ps->line;
	st->text = sw__cf_strndup(line, len);
	if (!st->text)
		return NULL;
	return st;
}

static int set_text(pstate *ps, char **field, const sw__cf_tok *t, size_t n, const char *name,
                    const char *line, size_t len)
{
	if (*field)
		return fail(ps, "%s given twice", name);
	if (n < 2)
		return fail(ps, "%s needs a value", name);
	/* Free text: the rest of the line after the directive word. */
	const char *p = t[1].p;
	size_t m = (size_t)(line + len - p);
	while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
		m--;
	if (m >= 2 && (p[0] == '"' || p[0] == '\'') && p[m - 1] == p[0] && n == 2)
		p++, m -= 2;
	*field = sw__cf_strndup(p, m);
	return *field ? 0 : SW_ERR_NOMEM;
}

static bool valid_id(const char *p, size_t n)
{
	if (n == 0 || n > 120 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '.' ||
		      p[i] == '-' || p[i] == '_'))
			return false;
	return true;
}

static bool valid_path(const sw__cf_tok *t)
{
	if (t->quoted || t->n == 0 || t->p[0] == '/')
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (t->p[i] == '\\' || t->p[i] == '{')
			return false;
	/* no ".." component */
	for (size_t i = 0; i + 1 < t->n; i++)
		if (t->p[i] == '.' && t->p[i + 1] == '.' && (i == 0 || t->p[i - 1] == '/') &&
		    (i + 2 == t->n || t->p[i + 2] == '/'))
			return false;
	return true;
}

static int finish_case(pstate *ps)
{
	sw_cf_case *c = ps->cur;
	if (!c)
		return 0;
	int save = ps->line;
	ps->line = c->line;
	int rc = 0;
	if (!c->title)
		rc = fail(ps, "case %s has no title", c->id);
	else if (!c->ref)
		rc = fail(ps, "case %s has no ref (protocol-reference section or Breezy function)", c->id);
	else if ((int)c->level < 0)
		rc = fail(ps, "case %s has no level (MUST, SHOULD or MAY)", c->id);
	else if (c->nsteps == 0)
		rc = fail(ps, "case %s has no steps", c->id);
	else if (c->role == SW_CF_ROLE_CLIENT && !c->client_op)
		rc = fail(ps, "client case %s has no 'client OP ARGS' line", c->id);
	ps->line = save;
	ps->cur = NULL;
	return rc;
}

static int parse_line(pstate *ps, const char *line, size_t len)
{
	sw__cf_tok t[SW__CF_MAX_TOKS];
	char err[200];
	int nt = sw__cf_tokenize(line, len, t, SW__CF_MAX_TOKS, err, sizeof err);
	if (nt < 0)
		return fail(ps, "%s", err);
	if (nt == 0)
		return 0;
	size_t n = (size_t)nt;
	int rc;
	if (t[0].quoted)
		return fail(ps, "a line must start with a directive word");
	bool was_expect = ps->last_was_expect;
	ps->last_was_expect = false;

	if (sw__cf_is(&t[0], "case")) {
		if ((rc = finish_case(ps)) < 0)
			return rc;
		if (n != 2 || !valid_id(t[1].p, t[1].n))
			return fail(ps, "case needs one id of lower-case letters, digits, '.', '-', '_'");
		for (size_t i = 0; i < ps->suite->n; i++)
			if (strlen(ps->suite->cases[i].id) == t[1].n &&
			    memcmp(ps->suite->cases[i].id, t[1].p, t[1].n) == 0)
				return fail(ps, "duplicate case id %.*s (first at %s:%d)", (int)t[1].n, t[1].p,
				            ps->suite->cases[i].file, ps->suite->cases[i].line);
		sw_cf_case *c = grow((void **)&ps->suite->cases, &ps->suite->n, sizeof *c);
		if (!c)
			return SW_ERR_NOMEM;
		c->level = (sw_cf_level)-1;
		c->sweep = -1;
		c->line = ps->line;
		if (!(c->id = tokdup(&t[1])) || !(c->file = strdup(ps->file)))
			return SW_ERR_NOMEM;
		ps->cur = c;
		return 0;
	}
	if (!ps->cur)
		return fail(ps, "'%.*s' before the first 'case' line", (int)t[0].n, t[0].p);
	sw_cf_case *c = ps->cur;

	if (sw__cf_is(&t[0], "title"))
		return set_text(ps, &c->title, t, n, "title", line, len);
	if (sw__cf_is(&t[0], "ref"))
		return set_text(ps, &c->ref, t, n, "ref", line, len);
	if (sw__cf_is(&t[0], "note")) {
		/* Notes may span several lines: they are joined with spaces. */
		char *prev = c->note;
		c->note = NULL;
		int r2 = set_text(ps, &c->note, t, n, "note", line, len);
		if (r2 == 0 && prev) {
			char *j = sw__cf_strf("%s %s", prev, c->note);
			free(c->note);
			c->note = j;
			r2 = j ? 0 : SW_ERR_NOMEM;
		}
		free(prev);
		return r2;
	}
	if (sw__cf_is(&t[0], "client"))
		return set_text(ps, &c->client_op, t, n, "client", line, len);
	if (sw__cf_is(&t[0], "level")) {
		if (n != 2)
			return fail(ps, "level needs one of MUST, SHOULD, MAY");
		if (sw__cf_is(&t[1], "MUST"))
			c->level = SW_CF_MUST;
		else if (sw__cf_is(&t[1], "SHOULD"))
			c->level = SW_CF_SHOULD;
		else if (sw__cf_is(&t[1], "MAY"))
			c->level = SW_CF_MAY;
		else
			return fail(ps, "level needs one of MUST, SHOULD, MAY");
		return 0;
	}
	if (sw__cf_is(&t[0], "role")) {
		if (n == 2 && sw__cf_is(&t[1], "server"))
			c->role = SW_CF_ROLE_SERVER;
		else if (n == 2 && sw__cf_is(&t[1], "client"))
			c->role = SW_CF_ROLE_CLIENT;
		else
			return fail(ps, "role needs server or client");
		return 0;
	}
	if (sw__cf_is(&t[0], "tags")) {
		for (size_t i = 1; i < n; i++) {
			if (c->ntags == SW_CF_MAX_TAGS)
				return fail(ps, "more than %d tags", SW_CF_MAX_TAGS);
			if (!(c->tags[c->ntags++] = tokdup(&t[i])))
				return SW_ERR_NOMEM;
		}
		return 0;
	}
	if (sw__cf_is(&t[0], "fixture")) {
		if (n == 2 && sw__cf_is(&t[1], "empty"))
			c->fixture_empty = true;
		else if (n == 2 && sw__cf_is(&t[1], "default"))
			c->fixture_empty = false;
		else
			return fail(ps, "fixture needs default or empty");
		return 0;
	}
	if (sw__cf_is(&t[0], "file") || sw__cf_is(&t[0], "dir") || sw__cf_is(&t[0], "symlink") ||
	    sw__cf_is(&t[0], "chmod") || sw__cf_is(&t[0], "remove")) {
		sw_cf_entry_kind k = sw__cf_is(&t[0], "file") ? SW_CF_FILE
		                     : sw__cf_is(&t[0], "dir") ? SW_CF_DIR
		                     : sw__cf_is(&t[0], "symlink") ? SW_CF_SYMLINK
		                     : sw__cf_is(&t[0], "chmod") ? SW_CF_CHMOD : SW_CF_REMOVE;
		size_t want = (k == SW_CF_DIR || k == SW_CF_REMOVE) ? 2 : 3;
		if (n < 2 || !valid_path(&t[1]))
			return fail(ps, "%.*s needs a relative path without '..' or quotes", (int)t[0].n, t[0].p);
		if ((k == SW_CF_FILE && n < 3) || (k != SW_CF_FILE && n != want))
			return fail(ps, "%.*s takes %s", (int)t[0].n, t[0].p,
			            k == SW_CF_FILE ? "a path and a contents expression"
			            : k == SW_CF_SYMLINK ? "a path and a target"
			            : k == SW_CF_CHMOD ? "a path and an octal mode" : "a path");
		sw_cf_entry *e = grow((void **)&c->entries, &c->nentries, sizeof *e);
		if (!e)
			return SW_ERR_NOMEM;
		e->kind = k;
		e->line = ps->line;
		if (!(e->path = tokdup(&t[1])))
			return SW_ERR_NOMEM;
		if (k == SW_CF_FILE) {
			if (!(e->expr = join(t, 2, n)))
				return SW_ERR_NOMEM;
			return check_expr(ps, e->expr, false);
		}
		if (k == SW_CF_SYMLINK && !(e->expr = tokdup(&t[2])))
			return SW_ERR_NOMEM;
		if (k == SW_CF_CHMOD) {
			char *end;
			char tmp[16];
			snprintf(tmp, sizeof tmp, "%.*s", (int)t[2].n, t[2].p);
			unsigned long m = strtoul(tmp, &end, 8);
			if (*end || m > 07777 || t[2].n > 5)
				return fail(ps, "chmod needs an octal mode such as 000 or 0644");
			e->mode = (unsigned)m;
		}
		return 0;
	}
	if (sw__cf_is(&t[0], "option")) {
		for (size_t i = 1; i < n; i++) {
			if (sw__cf_is(&t[i], "allow-writes"))
				c->allow_writes = true;
			else if (t[i].n > 15 && !t[i].quoted && memcmp(t[i].p, "client-timeout=", 15) == 0) {
				char tmp[16];
				snprintf(tmp, sizeof tmp, "%.*s", (int)(t[i].n - 15), t[i].p + 15);
				char *end;
				long v = strtol(tmp, &end, 10);
				if (*end || v < 1 || v > 3600)
					return fail(ps, "client-timeout needs whole seconds from 1 to 3600");
				c->client_timeout = (int)v;
			} else
				return fail(ps, "unknown option '%.*s' (allow-writes, client-timeout=N)",
				            (int)t[i].n, t[i].p);
		}
		return n > 1 ? 0 : fail(ps, "option needs allow-writes or client-timeout=N");
	}
	if (sw__cf_is(&t[0], "requires")) {
		for (size_t i = 1; i < n; i++) {
			if (sw__cf_is(&t[i], "nonroot"))
				c->needs_nonroot = true;
			else if (sw__cf_is(&t[i], "tcp"))
				c->needs_tcp = true;
			else
				return fail(ps, "unknown requirement '%.*s' (nonroot, tcp)", (int)t[i].n, t[i].p);
		}
		return n > 1 ? 0 : fail(ps, "requires needs nonroot or tcp");
	}
	if (sw__cf_is(&t[0], "sweep")) {
		if (n == 2 && sw__cf_is(&t[1], "on"))
			c->sweep = 1;
		else if (n == 2 && sw__cf_is(&t[1], "off"))
			c->sweep = 0;
		else
			return fail(ps, "sweep needs on or off");
		return 0;
	}
	if (sw__cf_is(&t[0], "trailing")) {
		if (n != 2 || !sw__cf_is(&t[1], "any"))
			return fail(ps, "trailing needs 'any'");
		c->trailing_ok = true;
		return 0;
	}
	if (sw__cf_is(&t[0], "send")) {
		sw_cf_step *st = new_step(ps, SW_CF_STEP_SEND, line, len);
		if (!st)
			return SW_ERR_NOMEM;
		sw_cf_alt *alt = grow((void **)&st->alts, &st->nalts, sizeof *alt);
		sw_cf_atom *a = alt ? grow((void **)&alt->atoms, &alt->n, sizeof *a) : NULL;
		if (!a)
			return SW_ERR_NOMEM;
		size_t i = 1;
		if ((rc = parse_atom(ps, t, n, &i, false, a)) < 0)
			return rc;
		if (i < n)
			return fail(ps, "unexpected '%.*s' after the message", (int)t[i].n, t[i].p);
		return 0;
	}
	if (sw__cf_is(&t[0], "expect")) {
		sw_cf_step *st = new_step(ps, SW_CF_STEP_EXPECT, line, len);
		if (!st)
			return SW_ERR_NOMEM;
		if ((rc = parse_alt(ps, t, n, 1, st)) < 0)
			return rc;
		ps->last_was_expect = true;
		return 0;
	}
	if (sw__cf_is(&t[0], "or")) {
		if (!was_expect)
			return fail(ps, "'or' must follow an 'expect' or 'or' line");
		sw_cf_step *st = &c->steps[c->nsteps - 1];
		char *nt2 = sw__cf_strf("%s\n%.*s", st->text, (int)len, line);
		if (!nt2)
			return SW_ERR_NOMEM;
		free(st->text);
		st->text = nt2;
		if ((rc = parse_alt(ps, t, n, 1, st)) < 0)
			return rc;
		ps->last_was_expect = true;
		return 0;
	}
	if (sw__cf_is(&t[0], "close") || sw__cf_is(&t[0], "accept") || sw__cf_is(&t[0], "disconnect")) {
		if (n != 1)
			return fail(ps, "%.*s takes no arguments", (int)t[0].n, t[0].p);
		sw_cf_step_kind k = sw__cf_is(&t[0], "close") ? SW_CF_STEP_CLOSE
		                    : sw__cf_is(&t[0], "accept") ? SW_CF_STEP_ACCEPT : SW_CF_STEP_DISCONNECT;
		if (k != SW_CF_STEP_CLOSE && c->role != SW_CF_ROLE_CLIENT)
			return fail(ps, "%.*s is only for client cases (role client before it)", (int)t[0].n, t[0].p);
		return new_step(ps, k, line, len) ? 0 : SW_ERR_NOMEM;
	}
	if (sw__cf_is(&t[0], "pause")) {
		uint32_t ms;
		if (n != 2 || sw__cf_duration(t[1].p, t[1].n, &ms) < 0)
			return fail(ps, "pause needs a duration such as 1500ms");
		sw_cf_step *st = new_step(ps, SW_CF_STEP_PAUSE, line, len);
		if (!st)
			return SW_ERR_NOMEM;
		st->ms = ms;
		return 0;
	}
	if (sw__cf_is(&t[0], "result")) {
		if (c->role != SW_CF_ROLE_CLIENT)
			return fail(ps, "result is only for client cases");
		if (n < 2 || !(sw__cf_is(&t[1], "ok") || sw__cf_is(&t[1], "error")))
			return fail(ps, "result needs ok [OUTPUT] or error [CATEGORY]");
		sw_cf_step *st = new_step(ps, SW_CF_STEP_RESULT, line, len);
		if (!st)
			return SW_ERR_NOMEM;
		st->result_ok = sw__cf_is(&t[1], "ok");
		size_t i = 2;
		if (i < n && !sw__cf_is(&t[i], "within")) {
			if (!(st->result_text = tokdup(&t[i])))
				return SW_ERR_NOMEM;
			i++;
		}
		if (i < n && sw__cf_is(&t[i], "within")) {
			if (i + 1 >= n || sw__cf_duration(t[i + 1].p, t[i + 1].n, &st->within_ms) < 0)
				return fail(ps, "within needs a duration");
			i += 2;
		}
		if (i < n)
			return fail(ps, "unexpected '%.*s'", (int)t[i].n, t[i].p);
		return 0;
	}
	if (sw__cf_is(&t[0], "after")) {
		if (n < 2)
			return fail(ps, "after needs file, absent, dir, no-stray or unchanged");
		sw_cf_check ck = {0};
		ck.line = ps->line;
		if (sw__cf_is(&t[1], "file") && n >= 4 && valid_path(&t[2])) {
			ck.kind = SW_CF_CHECK_FILE;
		} else if (sw__cf_is(&t[1], "absent") && n == 3 && valid_path(&t[2])) {
			ck.kind = SW_CF_CHECK_ABSENT;
		} else if (sw__cf_is(&t[1], "dir") && n == 3 && valid_path(&t[2])) {
			ck.kind = SW_CF_CHECK_DIR;
		} else if (sw__cf_is(&t[1], "no-stray") && n == 2) {
			ck.kind = SW_CF_CHECK_NO_STRAY;
		} else if (sw__cf_is(&t[1], "unchanged") && n == 2) {
			ck.kind = SW_CF_CHECK_UNCHANGED;
		} else
			return fail(ps, "after needs: file PATH EXPR | absent PATH | dir PATH | no-stray | unchanged");
		sw_cf_check *slot = grow((void **)&c->checks, &c->nchecks, sizeof *slot);
		if (!slot)
			return SW_ERR_NOMEM;
		*slot = ck;
		if (n >= 3 && !(slot->path = tokdup(&t[2])))
			return SW_ERR_NOMEM;
		if (ck.kind == SW_CF_CHECK_FILE) {
			if (!(slot->expr = join(t, 3, n)))
				return SW_ERR_NOMEM;
			return check_expr(ps, slot->expr, false);
		}
		return 0;
	}
	return fail(ps, "unknown directive '%.*s'", (int)t[0].n, t[0].p);
}

int sw_cf_parse(sw_cf_suite *s, const char *text, size_t len, const char *file, sw_cf_diag *diag)
{
	if (!s || (!text && len))
		return SW_ERR_INVALID_ARGUMENT;
	pstate ps = {.suite = s, .first_new = s->n, .diag = diag, .file = file ? file : "<text>"};
	sw_buf logical;
	sw_buf_init(&logical, NULL);
	size_t i = 0;
	int rc = 0;
	int lineno = 0;
	while (rc == 0 && i < len) {
		/* Gather one logical line (joining backslash continuations). */
		sw_buf_reset(&logical);
		int first = lineno + 1;
		for (;;) {
			size_t e = i;
			while (e < len && text[e] != '\n')
				e++;
			lineno++;
			size_t l = e - i;
			if (l && text[i + l - 1] == '\r')
				l--;
			bool cont = l && text[i + l - 1] == '\\';
			if (cont)
				l--;
			if (sw_buf_append(&logical, text + i, l) < 0) {
				rc = SW_ERR_NOMEM;
				break;
			}
			i = e < len ? e + 1 : e;
			if (!cont || i >= len)
				break;
			if (sw_buf_append_byte(&logical, ' ') < 0) {
				rc = SW_ERR_NOMEM;
				break;
			}
		}
		if (rc)
			break;
		ps.line = first;
		for (size_t k = 0; k < logical.len; k++)
			if (logical.data[k] == '\0') {
				rc = fail(&ps, "NUL byte in the case file (use \\0 in a string)");
				break;
			}
		if (rc == 0)
			rc = parse_line(&ps, (const char *)logical.data, logical.len);
	}
	if (rc == 0) {
		ps.line = lineno;
		rc = finish_case(&ps);
	}
	sw_buf_fini(&logical);
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
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (diag) {
			snprintf(diag->file, sizeof diag->file, "%s", path);
			diag->line = 0;
			snprintf(diag->msg, sizeof diag->msg, "cannot open: %s", strerror(errno));
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
	if (rc == 0)
		rc = sw_cf_parse(s, (const char *)b.data, b.len, path, diag);
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
			if (l > 5 && strcmp(de->d_name + l - 5, ".case") == 0)
				if ((rc = push_str(&names, &n, sw__cf_strf("%s/%s", path, de->d_name))) < 0)
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
