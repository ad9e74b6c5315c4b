/*
 * Tests of case matrices (conformance/FORMAT.md "Case matrices"): what a
 * small table expands into (ids, both slash variants, templates, classes,
 * reads-only forms, setup requests, dedup), its diagnostics, and that the
 * security matrix covers every line of tests/data/hostile_paths.txt.
 */
#define _GNU_SOURCE 1 /* memmem, strndup, open_memstream */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conform/conform.h"
#include "smartwire/error.h"
#include "support/hostile_paths.h"

static const char table[] = "# a small matrix\n"
                            "matrix  t\n"
                            "ref     R\n"
                            "level   MUST\n"
                            "tags    security\n"
                            "versions 3 1\n"
                            "modes    ro rw\n"
                            "fixture  symlink outfile ../outside/sentinel-secret.txt\n"
                            "fixture-reads symlink etc /etc\n"
                            "verb get  r  get P                  => ok body *\n"
                            "verb has  r  has P                  => yes\n"
                            "verb put  w  put P '' body \"x\"      => ok\n"
                            "answers up   E has=EN\n"
                            "answers in   ESN\n"
                            "form a.up    up     w  /../x\n"
                            "form a.esc   up/in  w  /{e:..}{E:/}{ee:.}{rep:3:n}\n"
                            "form a.sys   up     r  /etc/passwd\n"
                            "form a.dup   up     w  //../x\n"
                            "form a.set   in     w  /rl   setup rename /dir/rl /rl\n";

static char *expand(const char *text, sw_cf_diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = sw_cf_write_matrix(f, text, strlen(text), "t.matrix", d);
	fclose(f);
	if (rc < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_expand(void **state)
{
	(void)state;
	sw_cf_diag d;
	char *t = expand(table, &d);
	if (!t)
		fail_msg("%s:%d: %s", d.file, d.line, d.msg);
	/* 5 forms x 2 slash variants (one duplicate) x 2 versions x 2 modes. */
	assert_int_equal(count(t, "\ncase ") + (strncmp(t, "case ", 5) == 0), 9 * 4);
	assert_non_null(strstr(t, "case    t.a.up.abs.v3.ro\n"));
	assert_non_null(strstr(t, "case    t.a.up.rel.v1.rw\n"));
	/* a.dup without its '/'s is "../x", a.up's: only its abs variant. */
	assert_null(strstr(t, "case    t.a.dup.rel."));
	assert_non_null(strstr(t, "case    t.a.dup.abs.v3.ro\n"));
	assert_non_null(strstr(t, "send    v3 request get \"/../x\"\n"));
	assert_non_null(strstr(t, "send    v3 request get \"../x\"\n"));
	/* Templates: %-escapes lower/upper, twice, repeats. */
	assert_non_null(strstr(t, "get \"/%2e%2e%2F%252ennn\"\n"));
	assert_non_null(strstr(t, "get \"%2e%2e%2F%252ennn\"\n"));
	/* Answers: v3 error, v1 "anything but the success word", has may say no,
	 * the in class anything. */
	assert_non_null(strstr(t,
	                       "send    v3 request has \"/../x\"\nexpect  v3 response error ...\n"
	                       "or      v3 response success no\n"));
	assert_non_null(
	    strstr(t, "send    v1 request get \"/../x\"\nexpect  v1 response !ok ...\n"));
	assert_non_null(
	    strstr(t, "send    v1 request put \"/../x\" '' body \"x\"\nexpect  v1 response "
	              "!ok ...\n"));
	assert_non_null(strstr(t, "send    v3 request get \"/rl\"\nexpect  v3 response error ...\n"
	                          "or      v3 response success ok body *\n"));
	/* rel of a.esc is class in: any answer. */
	assert_non_null(strstr(t, "title   \"%2e%2e%2F%252ennn\" (in, without a leading /)"));
	/* Reads-only forms: no writes, the reads fixture. */
	const char *sys = strstr(t, "case    t.a.sys.abs.v3.rw\n");
	assert_non_null(sys);
	const char *next = strstr(sys + 5, "\ncase ");
	assert_non_null(next);
	char *one = strndup(sys, (size_t)(next - sys));
	assert_non_null(strstr(one, "symlink etc /etc\n"));
	assert_non_null(strstr(one, "option  allow-writes\n"));
	assert_null(strstr(one, "request put"));
	assert_non_null(strstr(one, "keep-going\n"));
	free(one);
	/* Setup: sent first, any answer. */
	assert_non_null(strstr(t,
	                       "send    v3 request rename /dir/rl /rl\nexpect  v3 response success "
	                       "...\nor      v3 response error ...\n"));
	assert_non_null(
	    strstr(t, "send    v1 request rename /dir/rl /rl\nexpect  v1 response ...\n"));
	free(t);

	/* Parsed: the cases carry the form's line. */
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	assert_int_equal(sw_cf_parse_matrix(&s, table, sizeof table - 1, "t.matrix", &d), 0);
	assert_int_equal(s.n, 36);
	assert_string_equal(s.cases[0].id, "t.a.up.abs.v3.ro");
	assert_int_equal(s.cases[0].line, 15);
	assert_true(s.cases[0].keep_going);
	assert_false(s.cases[0].allow_writes);
	assert_true(s.cases[1].allow_writes);
	assert_int_equal(s.cases[0].level, SW_CF_MUST);
	sw_cf_suite_fini(&s);
}

static void expect_error(const char *text, int line, const char *msg)
{
	sw_cf_diag d;
	memset(&d, 0, sizeof d);
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	assert_int_equal(sw_cf_parse_matrix(&s, text, strlen(text), "e.matrix", &d),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(s.n, 0);
	assert_int_equal(d.line, line);
	if (!strstr(d.msg, msg))
		fail_msg("wanted '%s' in: %s", msg, d.msg);
	sw_cf_suite_fini(&s);
}

#define HEAD "matrix m\nref R\nlevel MUST\nversions 3\nmodes ro\nverb get r get P => ok body *\n"

static void test_errors(void **state)
{
	(void)state;
	expect_error(HEAD "answers up E\nform x.y nope w /a\n", 8, "unknown class");
	expect_error(HEAD "answers up E\nform x.y up w /{q:a}\n", 8, "unknown template");
	expect_error(HEAD "answers up E\nform x.y up w /{rep:0:a}\n", 8, "count");
	expect_error(HEAD "answers up Q\n", 7, "answers CLASS LETTERS");
	expect_error(HEAD "answers up E put=E\n", 7, "VERB=LETTERS");
	expect_error(HEAD "bogus 1\n", 7, "unknown matrix directive");
	expect_error("form x.y up w /a\n", 1, "must come before");
	expect_error(HEAD "verb x r get P\n", 7, "verb NAME");
	/* A case the form makes that does not parse names the form's line. */
	expect_error(HEAD "answers up E\nform X.Y up w /a\n", 8, "in a case of this form");
}

static char *slurp(const char *rel, size_t *n)
{
	const char *src = getenv("SW_SOURCE_DIR");
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", src ? src : ".", rel);
	FILE *f = fopen(p, "rb");
	if (!f)
		fail_msg("cannot open %s (set SW_SOURCE_DIR)", p);
	char *b = malloc(1 << 20);
	*n = fread(b, 1, (1 << 20) - 1, f);
	b[*n] = 0;
	fclose(f);
	return b;
}

/* Every hostile path of tests/data/hostile_paths.txt is a path the security
 * matrix sends (with or without its leading '/'). */
static void test_hostile_coverage(void **state)
{
	(void)state;
	size_t n;
	char *text = slurp("conformance/cases/09-security.matrix", &n);
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	sw_cf_diag d;
	if (sw_cf_parse_matrix(&s, text, n, "09-security.matrix", &d) < 0)
		fail_msg("%s:%d: %s", d.file, d.line, d.msg);
	free(text);
	assert_true(s.n > 1000);
	const char *root = "/W/srv/root", *outside = "/W/srv/outside";
	sw_cf_ctx ctx = {.root = root, .version = "3.3.2"};
	/* The paths sent: the first argument after the verb of every request. */
	sw_buf all;
	sw_buf_init(&all, NULL);
	for (size_t i = 0; i < s.n; i++)
		for (size_t k = 0; k < s.cases[i].nsteps; k++) {
			const sw_cf_step *st = &s.cases[i].steps[k];
			if (st->kind != SW_CF_STEP_SEND || st->alts[0].atoms[0].nargs < 2)
				continue;
			const sw_cf_atom *a = &st->alts[0].atoms[0];
			for (size_t j = 1; j < a->nargs && j < 3; j++) {
				sw_buf_append_str(&all, "\x01\x02");
				assert_int_equal(sw_cf_eval_arg(a->args[j], &ctx, &all, NULL), 0);
			}
		}
	sw_buf_append_str(&all, "\x01\x02");
	char *lines = slurp("tests/data/hostile_paths.txt", &n);
	size_t checked = 0;
	for (size_t at = 0; at < n;) {
		size_t e = at;
		while (e < n && lines[e] != '\n')
			e++;
		const char *l = lines + at;
		size_t ll = e - at;
		at = e + 1;
		if (ll == 0 || l[0] == '#')
			continue;
		char want[8192] = "\x01\x02";
		size_t wl = 2 + sw_t_hostile_decode(l, ll, want + 2, outside, root);
		memcpy(want + wl, "\x01\x02", 2);
		wl += 2;
		bool found = memmem(all.data, all.len, want, wl) != NULL;
		if (!found && want[2] != '/') {
			/* Written without '/': the form may have it. */
			char alt[8192] = "\x01\x02/";
			memcpy(alt + 3, want + 2, wl - 2);
			found = memmem(all.data, all.len, alt, wl + 1) != NULL;
		}
		if (!found)
			fail_msg("hostile_paths.txt: '%.*s' is not a path of 09-security.matrix",
			         (int)ll, l);
		checked++;
	}
	assert_true(checked >= 70);
	free(lines);
	sw_buf_fini(&all);
	sw_cf_suite_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_hostile_coverage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
