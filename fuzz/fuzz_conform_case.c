/*
 * Fuzz target: the conformance case-file parser and the byte-expression
 * evaluator (smartwire/conform.h, format in conformance/FORMAT.md).  Case
 * files are text that people write and that `smartwire conform` loads from
 * any directory, so the parser must reject bad text with a diagnostic and
 * never crash, leak or half-apply a file.
 * The protocol bytes of the input (fdp.h) are the text.  The trailer's
 * variant byte: bit 0 clear parses the text as a case file, set evaluates
 * it as one byte expression (sw_cf_eval) and, cut at its first space, as
 * an argument token (sw_cf_eval_arg).  Checks:
 *   - results are 0, SW_ERR_INVALID_ARGUMENT (with a NUL-terminated
 *     diagnostic: a file name, a line within the text, a sentence; for the
 *     evaluator an sw_errinfo with the code and a sentence) or
 *     SW_ERR_NOMEM (libc memory here: never expected);
 *   - a failed parse leaves the suite exactly as it was (same count, and
 *     the earlier cases still there);
 *   - a successful parse appends cases with an id, a title, lines within
 *     the text, and fixture and after-check paths that stay below the
 *     root (relative, no ".." component: the runner creates them there); parsing the same text into
 *     a fresh suite gives the same ids in the same order; parsing it again
 *     into the same suite fails when it defined a case (ids must be unique);
 *   - evaluation is deterministic: two evaluations give the same result and
 *     bytes.
 * The parser allocates with libc (the API takes no allocator), so leaks are
 * left to LeakSanitizer and Valgrind (valgrind.corpus.conform_case).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdp.h"
#include "conform/conform.h"
#include "smartwire/error.h"

static int count_lines(const char *t, size_t n)
{
	int lines = 1;
	for (size_t i = 0; i < n; i++)
		if (t[i] == '\n')
			lines++;
	return lines;
}

/* Relative and without a ".." component. */
static bool safe_path(const char *p)
{
	if (!p || p[0] == '/')
		return false;
	for (const char *q = p; *q;) {
		size_t n = strcspn(q, "/");
		if (n == 2 && q[0] == '.' && q[1] == '.')
			return false;
		q += n;
		if (*q == '/')
			q++;
	}
	return true;
}

static void check_diag(const sw_cf_diag *d, int lines)
{
	if (!memchr(d->file, 0, sizeof d->file) || !memchr(d->msg, 0, sizeof d->msg))
		sw_fuzz_fail("conform_case: a diagnostic is not NUL-terminated\n");
	if (d->msg[0] == 0)
		sw_fuzz_fail("conform_case: a parse error without a message\n");
	if (d->line < 0 || d->line > lines)
		sw_fuzz_fail("conform_case: diagnostic line %d outside the text's %d lines (%s)\n",
		             d->line, lines, d->msg);
}

static void parse_case(const char *text, size_t len)
{
	int lines = count_lines(text, len);
	sw_cf_suite s, s2;
	sw_cf_suite_init(&s);
	sw_cf_suite_init(&s2);
	sw_cf_diag diag;
	memset(&diag, 0, sizeof diag);

	/* A fixed first case, so that a failed parse has something to keep. */
	static const char first[] = "case fuzz.first\ntitle a case that is always there\n"
	                            "ref none\nlevel MAY\nsend raw \"x\"\nexpect eof\n";
	int rv = sw_cf_parse(&s, first, sizeof first - 1, "first.case", &diag);
	if (rv != 0 || s.n != 1)
		sw_fuzz_fail("conform_case: the fixed case does not parse: %s (line %d: %s)\n",
		             sw_errname(rv), diag.line, diag.msg);

	rv = sw_cf_parse(&s, text, len, "fuzz.case", &diag);
	if (rv != 0) {
		if (rv != SW_ERR_INVALID_ARGUMENT)
			sw_fuzz_fail("conform_case: sw_cf_parse returned %s\n", sw_errname(rv));
		check_diag(&diag, lines);
		if (s.n != 1 || strcmp(s.cases[0].id, "fuzz.first") != 0)
			sw_fuzz_fail("conform_case: a failed parse changed the suite (%zu cases)\n", s.n);
		sw_cf_suite_fini(&s);
		return;
	}
	for (size_t i = 1; i < s.n; i++) {
		const sw_cf_case *c = &s.cases[i];
		if (!c->id || !c->id[0] || !c->title)
			sw_fuzz_fail("conform_case: case %zu has no id or title\n", i);
		if (c->line < 1 || c->line > lines)
			sw_fuzz_fail("conform_case: case %s at line %d of %d\n", c->id, c->line, lines);
		if (c->nsteps && !c->steps)
			sw_fuzz_fail("conform_case: case %s: %zu steps, no array\n", c->id, c->nsteps);
		/* Fixture paths are created below the served root by the
		 * runner: relative, without "..", as FORMAT.md says. */
		for (size_t k = 0; k < c->nentries; k++)
			if (!safe_path(c->entries[k].path))
				sw_fuzz_fail("conform_case: case %s: fixture path \"%s\" leaves the root\n",
				             c->id, c->entries[k].path ? c->entries[k].path : "(null)");
		for (size_t k = 0; k < c->nchecks; k++)
			if (c->checks[k].path && !safe_path(c->checks[k].path))
				sw_fuzz_fail("conform_case: case %s: after-check path \"%s\" leaves the root\n",
				             c->id, c->checks[k].path);
		for (size_t k = 0; k < c->nsteps; k++)
			if (c->steps[k].line < 1 || c->steps[k].line > lines)
				sw_fuzz_fail("conform_case: case %s: a step at line %d of %d\n", c->id,
				             c->steps[k].line, lines);
	}
	/* The same text into a fresh suite: the same cases. */
	rv = sw_cf_parse(&s2, text, len, "fuzz.case", &diag);
	if (rv != 0 || s2.n != s.n - 1)
		sw_fuzz_fail("conform_case: parsing the same text again gave %s and %zu cases "
		             "instead of %zu\n", sw_errname(rv), s2.n, s.n - 1);
	for (size_t i = 0; i < s2.n; i++)
		if (strcmp(s2.cases[i].id, s.cases[i + 1].id) != 0)
			sw_fuzz_fail("conform_case: case %zu is %s, then %s\n", i, s.cases[i + 1].id,
			             s2.cases[i].id);
	/* And once more into the first suite: duplicate ids must be refused,
	 * leaving it as it was. */
	size_t before = s.n;
	rv = sw_cf_parse(&s, text, len, "fuzz.case", &diag);
	if (before > 1 && rv == 0)
		sw_fuzz_fail("conform_case: the same %zu case id(s) were accepted twice\n",
		             before - 1);
	if (rv != 0 && s.n != before)
		sw_fuzz_fail("conform_case: a refused parse changed the suite\n");
	sw_cf_suite_fini(&s2);
	sw_cf_suite_fini(&s);
}

static void eval_twice(int (*fn)(const char *, const sw_cf_ctx *, sw_buf *, sw_errinfo *),
                       const char *expr)
{
	static const sw_cf_ctx ctx = {"/srv/root", "3.3.2", NULL};
	sw_buf a, b;
	sw_buf_init(&a, NULL);
	sw_buf_init(&b, NULL);
	sw_errinfo ea, eb;
	memset(&ea, 0x55, sizeof ea);
	int ra = fn(expr, &ctx, &a, &ea);
	int rb = fn(expr, &ctx, &b, &eb);
	if (ra != 0 && ra != SW_ERR_INVALID_ARGUMENT)
		sw_fuzz_fail("conform_case: evaluation returned %s\n", sw_errname(ra));
	if (ra == SW_ERR_INVALID_ARGUMENT &&
	    (ea.code != ra || !memchr(ea.text, 0, sizeof ea.text) || !ea.text[0]))
		sw_fuzz_fail("conform_case: evaluation error without its code and a sentence\n");
	if (ra != rb || (ra == 0 && (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))))
		sw_fuzz_fail("conform_case: evaluating twice gave different results\n");
	sw_buf_fini(&a);
	sw_buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	/* A NUL-terminated copy of exactly the text: the evaluator takes C
	 * strings, and the parser must not read past `len` anyway. */
	char *text = malloc(ctl.len + 1);
	if (!text)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	if (ctl.len)
		memcpy(text, ctl.data, ctl.len);
	text[ctl.len] = 0;
	if (ctl.variant & 1) {
		eval_twice(sw_cf_eval, text);
		char *sp = strchr(text, ' ');
		if (sp)
			*sp = 0;
		eval_twice(sw_cf_eval_arg, text);
	} else {
		parse_case(text, ctl.len);
	}
	free(text);
	return 0;
}
