/*
 * Conformance case files: the directives (conformance/FORMAT.md).
 *
 * Every directive is one row of the table at the end of this file: its
 * word, how many tokens may follow it, whether it belongs inside a case or
 * only to client cases, its handler, and the sentence a wrong number of
 * arguments gets.  sw__cf_directive() checks the row before the handler
 * runs, so a handler sees a current case and the right arity and checks
 * only what the values mean.  A new directive is a new row and a handler.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_parse_impl.h"
#include "smartwire/error.h"

#define ANY (-1)         /* no upper bound on the arguments */
#define IN_CASE 0x1u     /* only after a "case" line */
#define CLIENT_ONLY 0x2u /* only in a case with "role client" */

typedef struct directive directive;

/* A handler gets the row, the tokens (t[0] is the directive word) and
 * their count; the arity and flags of the row have been checked. */
typedef int (*handler_fn)(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n);

struct directive {
	const char *name;
	int min, max;   /* arguments after the word; max ANY: no bound */
	unsigned flags; /* IN_CASE, CLIENT_ONLY */
	handler_fn fn;
	int arg;           /* what the handler fills: a field offset or a kind */
	const char *usage; /* the sentence for a wrong number of arguments */
};

/* ---- Metadata ------------------------------------------------------------- */

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

static int d_case(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)n;
	int rc = sw__cf_finish_case(ps);
	if (rc < 0)
		return rc;
	if (!valid_id(t[1].p, t[1].n))
		return sw__cf_fail(ps, "%s", d->usage);
	for (size_t i = 0; i < ps->suite->n; i++) {
		const sw_cf_case *o = &ps->suite->cases[i];
		if (strlen(o->id) == t[1].n && memcmp(o->id, t[1].p, t[1].n) == 0)
			return sw__cf_fail(ps, "duplicate case id %.*s (first at %s:%d)",
			                   (int)t[1].n, t[1].p, o->file, o->line);
	}
	sw_cf_case *c = sw__cf_grow((void **)&ps->suite->cases, &ps->suite->n, sizeof *c);
	if (!c)
		return SW_ERR_NOMEM;
	c->level = (sw_cf_level)-1;
	c->sweep = -1;
	c->line = ps->line;
	sw__cf_vars_free(&ps->decl); /* captured names are per case */
	if (!(c->id = sw__cf_tokdup(&t[1])) || !(c->file = strdup(ps->file)))
		return SW_ERR_NOMEM;
	ps->cur = c;
	return 0;
}

/* Free text: the rest of the line after the directive word, without one
 * pair of quotes around a single token. */
static int read_text(sw__cf_pstate *ps, char **field, const sw__cf_tok *t, size_t n)
{
	const char *p = t[1].p;
	size_t m = (size_t)(ps->text + ps->len - p);
	while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
		m--;
	if (m >= 2 && (p[0] == '"' || p[0] == '\'') && p[m - 1] == p[0] && n == 2)
		p++, m -= 2;
	*field = sw__cf_strndup(p, m);
	return *field ? 0 : SW_ERR_NOMEM;
}

/* title, ref, client: given once. */
static int d_text(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	char **field = (char **)((char *)ps->cur + d->arg);
	if (*field)
		return sw__cf_fail(ps, "%s given twice", d->name);
	return read_text(ps, field, t, n);
}

/* Notes may span several lines: they are joined with spaces. */
static int d_note(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	sw_cf_case *c = ps->cur;
	char *line;
	int rc = read_text(ps, &line, t, n);
	if (rc < 0)
		return rc;
	if (!c->note) {
		c->note = line;
		return 0;
	}
	char *joined = sw__cf_strf("%s %s", c->note, line);
	free(line);
	if (!joined)
		return SW_ERR_NOMEM;
	free(c->note);
	c->note = joined;
	return 0;
}

/* The index of t among `words`, or -1. */
static int word_index(const sw__cf_tok *t, const char *const *words, int count)
{
	for (int i = 0; i < count; i++)
		if (sw__cf_is(t, words[i]))
			return i;
	return -1;
}

static int d_level(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)n;
	static const char *const levels[] = {"MUST", "SHOULD", "MAY"}; /* sw_cf_level order */
	int k = word_index(&t[1], levels, 3);
	if (k < 0)
		return sw__cf_fail(ps, "%s", d->usage);
	ps->cur->level = (sw_cf_level)k;
	return 0;
}

static int d_role(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)n;
	static const char *const roles[] = {"server", "client"}; /* sw_cf_role order */
	int k = word_index(&t[1], roles, 2);
	if (k < 0)
		return sw__cf_fail(ps, "%s", d->usage);
	ps->cur->role = (sw_cf_role)k;
	return 0;
}

static int d_tags(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	sw_cf_case *c = ps->cur;
	for (size_t i = 1; i < n; i++) {
		if (c->ntags == SW_CF_MAX_TAGS)
			return sw__cf_fail(ps, "more than %d tags", SW_CF_MAX_TAGS);
		if (!(c->tags[c->ntags++] = sw__cf_tokdup(&t[i])))
			return SW_ERR_NOMEM;
	}
	return 0;
}

enum { CHOICE_FIXTURE, CHOICE_SWEEP, CHOICE_TRAILING };

/* fixture default|empty, sweep off|on, trailing any. */
static int d_choice(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)n;
	sw_cf_case *c = ps->cur;
	if (d->arg == CHOICE_FIXTURE) {
		static const char *const w[] = {"default", "empty"};
		int k = word_index(&t[1], w, 2);
		if (k < 0 && !t[1].quoted && t[1].n > 4 && memcmp(t[1].p, "bzr-", 4) == 0 &&
		    valid_id(t[1].p + 4, t[1].n - 4) && !memchr(t[1].p, '/', t[1].n)) {
			/* A tree of conformance/fixtures/ (conform_fixtures_bzr.c),
			 * instead of the default tree. */
			free(c->fixture_bzr);
			if (!(c->fixture_bzr = sw__cf_strndup(t[1].p + 4, t[1].n - 4)))
				return SW_ERR_NOMEM;
			c->fixture_empty = true;
			return 0;
		}
		if (k < 0)
			return sw__cf_fail(ps, "%s", d->usage);
		c->fixture_empty = k == 1;
	} else if (d->arg == CHOICE_SWEEP) {
		static const char *const w[] = {"off", "on"};
		int k = word_index(&t[1], w, 2);
		if (k < 0)
			return sw__cf_fail(ps, "%s", d->usage);
		c->sweep = k;
	} else {
		if (!sw__cf_is(&t[1], "any"))
			return sw__cf_fail(ps, "%s", d->usage);
		c->trailing_ok = true;
	}
	return 0;
}

static int d_option(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	sw_cf_case *c = ps->cur;
	for (size_t i = 1; i < n; i++) {
		if (sw__cf_is(&t[i], "allow-writes")) {
			c->allow_writes = true;
		} else if (t[i].n > 15 && !t[i].quoted &&
		           memcmp(t[i].p, "client-timeout=", 15) == 0) {
			char tmp[16];
			snprintf(tmp, sizeof tmp, "%.*s", (int)(t[i].n - 15), t[i].p + 15);
			char *end;
			long v = strtol(tmp, &end, 10);
			if (*end || v < 1 || v > 3600)
				return sw__cf_fail(
				    ps, "client-timeout needs whole seconds from 1 to 3600");
			c->client_timeout = (int)v;
		} else {
			return sw__cf_fail(ps,
			                   "unknown option '%.*s' (allow-writes, client-timeout=N)",
			                   (int)t[i].n, t[i].p);
		}
	}
	return 0;
}

/* keep-going: every step runs even after a failed expect. */
static int d_keep_going(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	(void)t;
	(void)n;
	ps->cur->keep_going = true;
	return 0;
}

static int d_requires(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	for (size_t i = 1; i < n; i++) {
		if (sw__cf_is(&t[i], "nonroot"))
			ps->cur->needs_nonroot = true;
		else if (sw__cf_is(&t[i], "tcp"))
			ps->cur->needs_tcp = true;
		else
			return sw__cf_fail(ps, "unknown requirement '%.*s' (nonroot, tcp)",
			                   (int)t[i].n, t[i].p);
	}
	return 0;
}

/* ---- Fixture entries and after-checks -------------------------------------- */

/* Relative, unquoted, no "..": the runner creates it below the root. */
static bool valid_path(const sw__cf_tok *t)
{
	if (t->quoted || t->n == 0 || t->p[0] == '/')
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (t->p[i] == '\\' || t->p[i] == '{')
			return false;
	for (size_t i = 0; i + 1 < t->n; i++)
		if (t->p[i] == '.' && t->p[i + 1] == '.' && (i == 0 || t->p[i - 1] == '/') &&
		    (i + 2 == t->n || t->p[i + 2] == '/'))
			return false;
	return true;
}

/* file, dir, symlink, chmod, remove (arg: the sw_cf_entry_kind). */
static int d_entry(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	sw_cf_entry_kind k = (sw_cf_entry_kind)d->arg;
	if (!valid_path(&t[1]))
		return sw__cf_fail(ps, "%s needs a relative path without '..' or quotes", d->name);
	sw_cf_entry *e = sw__cf_grow((void **)&ps->cur->entries, &ps->cur->nentries, sizeof *e);
	if (!e)
		return SW_ERR_NOMEM;
	e->kind = k;
	e->line = ps->line;
	if (!(e->path = sw__cf_tokdup(&t[1])))
		return SW_ERR_NOMEM;
	if (k == SW_CF_FILE) {
		if (!(e->expr = sw__cf_join(t, 2, n)))
			return SW_ERR_NOMEM;
		return sw__cf_check_expr(ps, e->expr, false);
	}
	if (k == SW_CF_SYMLINK && !(e->expr = sw__cf_tokdup(&t[2])))
		return SW_ERR_NOMEM;
	if (k == SW_CF_CHMOD) {
		char tmp[16], *end;
		snprintf(tmp, sizeof tmp, "%.*s", (int)t[2].n, t[2].p);
		unsigned long m = strtoul(tmp, &end, 8);
		if (*end || m > 07777 || t[2].n > 5)
			return sw__cf_fail(ps, "chmod needs an octal mode such as 000 or 0644");
		e->mode = (unsigned)m;
	}
	return 0;
}

static int d_after(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	sw_cf_check ck = {.line = ps->line};
	if (sw__cf_is(&t[1], "file") && n >= 4 && valid_path(&t[2]))
		ck.kind = SW_CF_CHECK_FILE;
	else if (sw__cf_is(&t[1], "absent") && n == 3 && valid_path(&t[2]))
		ck.kind = SW_CF_CHECK_ABSENT;
	else if (sw__cf_is(&t[1], "dir") && n == 3 && valid_path(&t[2]))
		ck.kind = SW_CF_CHECK_DIR;
	else if (sw__cf_is(&t[1], "no-stray") && n == 2)
		ck.kind = SW_CF_CHECK_NO_STRAY;
	else if (sw__cf_is(&t[1], "unchanged") && n == 2)
		ck.kind = SW_CF_CHECK_UNCHANGED;
	else if (sw__cf_is(&t[1], "count") && n == 4 && valid_path(&t[2])) {
		char tmp[16], *end;
		snprintf(tmp, sizeof tmp, "%.*s", (int)t[3].n, t[3].p);
		unsigned long v = strtoul(tmp, &end, 10);
		if (*end || t[3].n > 6 || t[3].quoted || !isdigit((unsigned char)tmp[0]))
			return sw__cf_fail(ps, "after count needs a glob and a number");
		ck.kind = SW_CF_CHECK_COUNT;
		ck.count = v;
	} else
		return sw__cf_fail(
		    ps, "after needs: file PATH EXPR | absent PATH | dir PATH | count GLOB N | "
		        "no-stray | unchanged");
	sw_cf_check *slot = sw__cf_grow((void **)&ps->cur->checks, &ps->cur->nchecks, sizeof *slot);
	if (!slot)
		return SW_ERR_NOMEM;
	*slot = ck;
	if (n >= 3 && !(slot->path = sw__cf_tokdup(&t[2])))
		return SW_ERR_NOMEM;
	if (ck.kind != SW_CF_CHECK_FILE)
		return 0;
	/* After-checks see the run's variables ({rev:NAME}, captures). */
	if (!(slot->expr = sw__cf_join(t, 3, n)))
		return SW_ERR_NOMEM;
	return sw__cf_check_expr(ps, slot->expr, false);
}

/* ---- Steps -------------------------------------------------------------------- */

/* A new step of the current case, with the source line for reports. */
static sw_cf_step *new_step(sw__cf_pstate *ps, sw_cf_step_kind kind)
{
	sw_cf_case *c = ps->cur;
	sw_cf_step *st = sw__cf_grow((void **)&c->steps, &c->nsteps, sizeof *st);
	if (!st)
		return NULL;
	st->kind = kind;
	st->line = ps->line;
	st->text = sw__cf_strndup(ps->text, ps->len);
	return st->text ? st : NULL;
}

static int d_send(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	sw_cf_step *st = new_step(ps, SW_CF_STEP_SEND);
	sw_cf_alt *alt = st ? sw__cf_grow((void **)&st->alts, &st->nalts, sizeof *alt) : NULL;
	sw_cf_atom *a = alt ? sw__cf_grow((void **)&alt->atoms, &alt->n, sizeof *a) : NULL;
	if (!a)
		return SW_ERR_NOMEM;
	size_t i = 1;
	int rc = sw__cf_parse_atom(ps, t, n, &i, false, a);
	if (rc == 0 && i < n)
		rc = sw__cf_fail(ps, "unexpected '%.*s' after the message", (int)t[i].n, t[i].p);
	return rc;
}

static int d_expect(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	sw_cf_step *st = new_step(ps, SW_CF_STEP_EXPECT);
	if (!st)
		return SW_ERR_NOMEM;
	ps->now_expect = true;
	return sw__cf_parse_alt(ps, t, n, 1, st);
}

/* Another alternative of the expect step just before. */
static int d_or(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)d;
	if (!ps->after_expect)
		return sw__cf_fail(ps, "'or' must follow an 'expect' or 'or' line");
	sw_cf_step *st = &ps->cur->steps[ps->cur->nsteps - 1];
	char *text = sw__cf_strf("%s\n%.*s", st->text, (int)ps->len, ps->text);
	if (!text)
		return SW_ERR_NOMEM;
	free(st->text);
	st->text = text;
	ps->now_expect = true;
	return sw__cf_parse_alt(ps, t, n, 1, st);
}

/* close, accept, disconnect (arg: the sw_cf_step_kind). */
static int d_bare(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)t;
	(void)n;
	return new_step(ps, (sw_cf_step_kind)d->arg) ? 0 : SW_ERR_NOMEM;
}

static int d_pause(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	(void)n;
	uint32_t ms;
	if (sw__cf_duration(t[1].p, t[1].n, &ms) < 0)
		return sw__cf_fail(ps, "%s", d->usage);
	sw_cf_step *st = new_step(ps, SW_CF_STEP_PAUSE);
	if (!st)
		return SW_ERR_NOMEM;
	st->ms = ms;
	return 0;
}

/* result ok [OUTPUT] | error [CATEGORY], then [within DUR]. */
static int d_result(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	if (!(sw__cf_is(&t[1], "ok") || sw__cf_is(&t[1], "error")))
		return sw__cf_fail(ps, "%s", d->usage);
	sw_cf_step *st = new_step(ps, SW_CF_STEP_RESULT);
	if (!st)
		return SW_ERR_NOMEM;
	st->result_ok = sw__cf_is(&t[1], "ok");
	size_t i = 2;
	if (i < n && !sw__cf_is(&t[i], "within")) {
		if (!(st->result_text = sw__cf_tokdup(&t[i])))
			return SW_ERR_NOMEM;
		i++;
	}
	if (i < n && sw__cf_is(&t[i], "within")) {
		if (i + 1 >= n || sw__cf_duration(t[i + 1].p, t[i + 1].n, &st->within_ms) < 0)
			return sw__cf_fail(ps, "within needs a duration");
		i += 2;
	}
	if (i < n)
		return sw__cf_fail(ps, "unexpected '%.*s'", (int)t[i].n, t[i].p);
	return 0;
}

/* capture NAME arg|error-arg|body-line N [item I]... | capture NAME body:
 * attached to the expect step just above (conform_capture.c). */
static int d_capture(sw__cf_pstate *ps, const directive *d, const sw__cf_tok *t, size_t n)
{
	if (!ps->after_expect)
		return sw__cf_fail(ps, "capture must follow an expect, or or capture line");
	if (t[1].quoted || !sw__cf_var_name_ok(t[1].p, t[1].n))
		return sw__cf_fail(ps, "capture needs a name of [a-z][a-z0-9_]* (not root or "
		                       "version)");
	sw_cf_capture cp = {.line = ps->line};
	static const char *const src[] = {"arg", "error-arg", "body", "body-line", "body-part"};
	int k = word_index(&t[2], src, 5);
	if (k < 0)
		return sw__cf_fail(ps, "%s", d->usage);
	cp.src = (sw_cf_capture_src)k;
	size_t i = 3;
	unsigned long v;
	char tmp[16], *end;
	if (cp.src != SW_CF_CAP_BODY) {
		if (i >= n || t[i].quoted || t[i].n > 6)
			return sw__cf_fail(ps, "%s", d->usage);
		snprintf(tmp, sizeof tmp, "%.*s", (int)t[i].n, t[i].p);
		v = strtoul(tmp, &end, 10);
		if (*end || !isdigit((unsigned char)tmp[0]))
			return sw__cf_fail(ps, "%s", d->usage);
		cp.index = v;
		i++;
	}
	size_t is_at = n;
	for (size_t j = i; j < n; j++)
		if (sw__cf_is(&t[j], "is")) {
			is_at = j;
			break;
		}
	if (is_at + 1 == n)
		return sw__cf_fail(ps, "%s", d->usage);
	while (i < is_at) {
		if (!sw__cf_is(&t[i], "item") || i + 1 >= is_at || t[i + 1].n > 6 ||
		    cp.nitems == sizeof cp.items / sizeof cp.items[0])
			return sw__cf_fail(ps, "%s", d->usage);
		snprintf(tmp, sizeof tmp, "%.*s", (int)t[i + 1].n, t[i + 1].p);
		v = strtoul(tmp, &end, 10);
		if (*end || !isdigit((unsigned char)tmp[0]))
			return sw__cf_fail(ps, "%s", d->usage);
		cp.items[cp.nitems++] = v;
		i += 2;
	}
	sw_cf_step *st = &ps->cur->steps[ps->cur->nsteps - 1];
	sw_cf_capture *slot = sw__cf_grow((void **)&st->caps, &st->ncaps, sizeof *slot);
	if (!slot)
		return SW_ERR_NOMEM;
	*slot = cp;
	if (!(slot->name = sw__cf_tokdup(&t[1])))
		return SW_ERR_NOMEM;
	if (is_at < n) {
		/* Checked with the names captured before this one. */
		if (!(slot->is = sw__cf_join(t, is_at + 1, n)))
			return SW_ERR_NOMEM;
		int rc = sw__cf_check_expr(ps, slot->is, false);
		if (rc < 0)
			return rc;
	}
	ps->now_expect = true; /* another capture, or an or, may follow */
	return sw__cf_vars_set(&ps->decl, t[1].p, t[1].n, t[1].p, t[1].n);
}

/* ---- The table ------------------------------------------------------------------ */

#define TEXT(field) ((int)offsetof(sw_cf_case, field))

/* clang-format off */
static const directive directives[] = {
	/* word        args      flags                  handler     arg
	 *             the sentence for a wrong number of arguments */
	{"case",       1, 1,     0,                     d_case,     0,
	               "case needs one id of lower-case letters, digits, '.', '-', '_'"},
	{"title",      1, ANY,   IN_CASE,               d_text,     TEXT(title),
	               "title needs a value"},
	{"ref",        1, ANY,   IN_CASE,               d_text,     TEXT(ref),
	               "ref needs a value"},
	{"client",     1, ANY,   IN_CASE,               d_text,     TEXT(client_op),
	               "client needs a value"},
	{"note",       1, ANY,   IN_CASE,               d_note,     0,
	               "note needs a value"},
	{"level",      1, 1,     IN_CASE,               d_level,    0,
	               "level needs one of MUST, SHOULD, MAY"},
	{"role",       1, 1,     IN_CASE,               d_role,     0,
	               "role needs server or client"},
	{"tags",       0, ANY,   IN_CASE,               d_tags,     0,
	               NULL},
	{"fixture",    1, 1,     IN_CASE,               d_choice,   CHOICE_FIXTURE,
	               "fixture needs default, empty or bzr-NAME"},
	{"sweep",      1, 1,     IN_CASE,               d_choice,   CHOICE_SWEEP,
	               "sweep needs on or off"},
	{"trailing",   1, 1,     IN_CASE,               d_choice,   CHOICE_TRAILING,
	               "trailing needs 'any'"},
	{"keep-going", 0, 0,     IN_CASE,               d_keep_going, 0,
	               "keep-going takes no arguments"},
	{"option",     1, ANY,   IN_CASE,               d_option,   0,
	               "option needs allow-writes or client-timeout=N"},
	{"requires",   1, ANY,   IN_CASE,               d_requires, 0,
	               "requires needs nonroot or tcp"},
	{"file",       2, ANY,   IN_CASE,               d_entry,    SW_CF_FILE,
	               "file takes a path and a contents expression"},
	{"dir",        1, 1,     IN_CASE,               d_entry,    SW_CF_DIR,
	               "dir takes a path"},
	{"symlink",    2, 2,     IN_CASE,               d_entry,    SW_CF_SYMLINK,
	               "symlink takes a path and a target"},
	{"chmod",      2, 2,     IN_CASE,               d_entry,    SW_CF_CHMOD,
	               "chmod takes a path and an octal mode"},
	{"remove",     1, 1,     IN_CASE,               d_entry,    SW_CF_REMOVE,
	               "remove takes a path"},
	{"send",       1, ANY,   IN_CASE,               d_send,     0,
	               "missing what to send (raw, v1, v2, v3)"},
	{"expect",     1, ANY,   IN_CASE,               d_expect,   0,
	               "missing what to expect (raw, v1, v2, v3, eof, silence)"},
	{"or",         1, ANY,   IN_CASE,               d_or,       0,
	               "missing what to expect (raw, v1, v2, v3, eof, silence)"},
	{"close",      0, 0,     IN_CASE,               d_bare,     SW_CF_STEP_CLOSE,
	               "close takes no arguments"},
	{"accept",     0, 0,     IN_CASE | CLIENT_ONLY, d_bare,     SW_CF_STEP_ACCEPT,
	               "accept takes no arguments"},
	{"disconnect", 0, 0,     IN_CASE | CLIENT_ONLY, d_bare,     SW_CF_STEP_DISCONNECT,
	               "disconnect takes no arguments"},
	{"pause",      1, 1,     IN_CASE,               d_pause,    0,
	               "pause needs a duration such as 1500ms"},
	{"result",     1, ANY,   IN_CASE | CLIENT_ONLY, d_result,   0,
	               "result needs ok [OUTPUT] or error [CATEGORY]"},
	{"after",      1, ANY,   IN_CASE,               d_after,    0,
	               "after needs file, absent, dir, count, no-stray or unchanged"},
	{"capture",    2, ANY,   IN_CASE,               d_capture,  0,
	               "capture needs NAME arg|error-arg|body-line|body-part N [item I]... [is EXPR], "
	               "or NAME body [is EXPR]"},
};
/* clang-format on */

int sw__cf_directive(sw__cf_pstate *ps, const sw__cf_tok *t, size_t n)
{
	/* Only "or" may follow an expect or an or; their handlers set now_expect. */
	ps->after_expect = ps->now_expect;
	ps->now_expect = false;
	if (t[0].quoted)
		return sw__cf_fail(ps, "a line must start with a directive word");
	const directive *d = NULL;
	for (size_t i = 0; i < sizeof directives / sizeof directives[0] && !d; i++)
		if (sw__cf_is(&t[0], directives[i].name))
			d = &directives[i];
	if (!d)
		return sw__cf_fail(ps, "unknown directive '%.*s'", (int)t[0].n, t[0].p);
	if ((d->flags & IN_CASE) && !ps->cur)
		return sw__cf_fail(ps, "'%s' before the first 'case' line", d->name);
	if ((d->flags & CLIENT_ONLY) && ps->cur->role != SW_CF_ROLE_CLIENT)
		return sw__cf_fail(ps, "%s is only for client cases (role client before it)",
		                   d->name);
	int args = (int)n - 1;
	if (args < d->min || (d->max != ANY && args > d->max))
		return sw__cf_fail(ps, "%s", d->usage);
	return d->fn(ps, d, t, n);
}
