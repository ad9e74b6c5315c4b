/*
 * Tests of the conformance engine's report writers (summary, TAP, JUnit,
 * JSON read back into the HTML matrix) and of the runner against a trivial
 * peer (`cat`, which echoes): steps, alternatives, fixtures, after-checks,
 * sweeps and skips.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conform/conform.h"
#include "smartwire/error.h"

/* ---- reports ---------------------------------------------------------------- */

static char *slurp(FILE *f)
{
	fflush(f);
	long n = ftell(f);
	rewind(f);
	char *s = calloc((size_t)n + 1, 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	return s;
}

static void test_reports(void **state)
{
	(void)state;
	static const char text[] =
	    "case r.a.pass\ntitle P\nref R1\nlevel MUST\nsend raw \"x\"\n"
	    "case r.a.fail\ntitle F <&>\nref R2\nlevel MUST\nsend raw \"x\"\n"
	    "case r.b.should\ntitle S\nref R3\nlevel SHOULD\nsend raw \"x\"\n"
	    "case r.b.skip\ntitle K\nref R4\nlevel MUST\nsend raw \"x\"\n"
	    "case r.c.xdev\ntitle X\nref R5\nlevel MUST\nsend raw \"x\"\n";
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	assert_int_equal(sw_cf_parse(&s, text, sizeof text - 1, "r.case", NULL), 0);
	sw_cf_result res[5];
	memset(res, 0, sizeof res);
	sw_cf_outcome outs[5] = {SW_CF_OUT_PASS, SW_CF_OUT_FAIL, SW_CF_OUT_FAIL, SW_CF_OUT_SKIP,
	                         SW_CF_OUT_FAIL};
	for (int i = 0; i < 5; i++) {
		res[i].c = &s.cases[i];
		res[i].outcome = outs[i];
		res[i].verdict = sw_cf_decide(s.cases[i].level, outs[i], i == 4);
		res[i].exit_status = -1;
		if (outs[i] != SW_CF_OUT_PASS)
			res[i].reason = strdup("line 5: expected raw \"x\"; got \"\\x01\"");
	}
	res[4].deviation = strdup("known bug");
	res[1].events = calloc(2, sizeof *res[1].events);
	res[1].events[0].dir = '>';
	res[1].events[0].p = (uint8_t *)strdup("x");
	res[1].events[0].n = 1;
	res[1].events[1].dir = '<';
	res[1].events[1].p = (uint8_t *)strdup("\x01<b>");
	res[1].events[1].n = 4;
	res[1].nevents = 2;
	sw_cf_report rep = {.implementation = "impl \"A\"", .results = res, .n = 5, .ms = 1500};

	FILE *f = tmpfile();
	assert_int_equal(sw_cf_write_summary(f, &rep, false), 0);
	char *t = slurp(f);
	const char *last = t + strlen(t) - 1;
	while (last > t && last[-1] != '\n')
		last--;
	assert_string_equal(last, "1 passed, 1 failed, 1 skipped\n");
	assert_non_null(strstr(t, "fail               r.a.fail"));
	assert_non_null(strstr(t, "non-strict"));
	assert_non_null(strstr(t, "r.a   "));
	free(t);
	fclose(f);

	rep.strict = true;
	f = tmpfile();
	assert_int_equal(sw_cf_write_summary(f, &rep, true), 0);
	t = slurp(f);
	assert_non_null(strstr(t, "1 passed, 2 failed, 1 skipped\n"));
	free(t);
	fclose(f);
	rep.strict = false;

	f = tmpfile();
	assert_int_equal(sw_cf_write_tap(f, &rep), 0);
	t = slurp(f);
	assert_non_null(strstr(t, "TAP version 13\n1..5\n"));
	assert_non_null(strstr(t, "ok 1 - r.a.pass\n"));
	assert_non_null(strstr(t, "not ok 2 - r.a.fail\n"));
	assert_non_null(strstr(t, "not ok 3 - r.b.should # TODO non-strict"));
	assert_non_null(strstr(t, "ok 4 - r.b.skip # SKIP"));
	assert_non_null(strstr(t, "not ok 5 - r.c.xdev # TODO expected-deviation: known bug"));
	free(t);
	fclose(f);

	f = tmpfile();
	assert_int_equal(sw_cf_write_junit(f, &rep), 0);
	t = slurp(f);
	assert_non_null(strstr(t, "tests=\"5\" failures=\"1\" errors=\"0\" skipped=\"3\""));
	assert_non_null(strstr(t, "name=\"impl &quot;A&quot;\""));
	assert_non_null(strstr(t, "message=\"F &lt;&amp;&gt;\""));
	free(t);
	fclose(f);

	/* JSON, then back through the loader into the HTML matrix. */
	char path[] = "/tmp/sw-conform-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_int_equal(sw_cf_write_json(f, &rep), 0);
	fclose(f);
	sw_cf_column *cols[2] = {NULL, NULL};
	sw_errinfo err;
	assert_int_equal(sw_cf_column_load(&cols[0], path, &err), 0);
	assert_int_equal(sw_cf_column_from_report(&cols[1], &rep), 0);
	f = tmpfile();
	assert_int_equal(sw_cf_write_html(f, cols, 2), 0);
	t = slurp(f);
	assert_non_null(strstr(t, "<th>impl &quot;A&quot;</th><th>impl &quot;A&quot;</th>"));
	assert_non_null(strstr(t, "class=\"v fail\""));
	assert_non_null(strstr(t, "r.c.xdev"));
	/* the received bytes as a hex dump, escaped */
	assert_non_null(strstr(t, "01 3c 62 3e"));
	assert_non_null(strstr(t, "|.&lt;b&gt;|"));
	free(t);
	fclose(f);
	sw_cf_column_del(cols[0]);
	sw_cf_column_del(cols[1]);
	unlink(path);
	/* Not a report. */
	f = fopen(path, "w");
	fputs("{\"format\":\"other\"}", f);
	fclose(f);
	assert_int_equal(sw_cf_column_load(&cols[0], path, &err), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(err.code, SW_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err.text, "not a smartwire conform JSON report"));
	/* Bad JSON: the offset says where. */
	f = fopen(path, "w");
	fputs("{\"format\": ?}", f);
	fclose(f);
	assert_int_equal(sw_cf_column_load(&cols[0], path, &err), SW_ERR_INVALID_ARGUMENT);
	assert_string_equal(err.text, "unexpected character");
	assert_int_equal(err.offset, 11);
	f = fopen(path, "w");
	fputs("{\"format\":", f);
	fclose(f);
	assert_int_equal(sw_cf_column_load(&cols[0], path, &err), SW_ERR_INVALID_ARGUMENT);
	unlink(path);
	/* Gone: the errno comes back. */
	assert_int_equal(sw_cf_column_load(&cols[0], path, &err), SW_ERR_IO);
	assert_int_equal(err.sys_errno, ENOENT);
	assert_non_null(strstr(err.text, "cannot open"));
	for (int i = 0; i < 5; i++)
		sw_cf_result_fini(&res[i]);
	sw_cf_suite_fini(&s);
}

/* ---- the runner against `cat` ------------------------------------------------ */

/* The expectations run_cmd_sweep's runs get (NULL: none). */
static const sw_cf_expectations *run_expect;

static sw_cf_result run_cmd_sweep(const char *text, const char *cmd, sw_cf_sweep sweep,
                                  bool no_retry)
{
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	sw_cf_diag d;
	if (sw_cf_parse(&s, text, strlen(text), "run.case", &d) != 0)
		fail_msg("%d: %s", d.line, d.msg);
	sw_cf_opts o;
	sw_cf_opts_default(&o);
	o.target = SW_CF_TARGET_PIPE;
	o.server_cmd = cmd;
	o.sweep = sweep;
	o.timeout_ms = 2000;
	o.no_retry = no_retry;
	o.expect = run_expect;
	if (getenv("SW_UNDER_VALGRIND"))
		o.timeout_scale = 5;
	sw_cf_result r;
	assert_int_equal(sw_cf_run_case(&s.cases[0], &o, &r), 0);
	/* Verdicts need the level: keep a copy of the case's level only. */
	sw_cf_level lv = s.cases[0].level;
	r.c = NULL;
	sw_cf_suite_fini(&s);
	static sw_cf_case fake;
	memset(&fake, 0, sizeof fake);
	fake.level = lv;
	fake.id = (char *)"c.r.x";
	r.c = &fake;
	return r;
}

static sw_cf_result run_cmd(const char *text, const char *cmd, bool no_retry)
{
	return run_cmd_sweep(text, cmd, SW_CF_SWEEP_NONE, no_retry);
}

static sw_cf_result run_one(const char *text, sw_cf_sweep sweep, bool as_root)
{
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	sw_cf_diag d;
	if (sw_cf_parse(&s, text, strlen(text), "run.case", &d) != 0)
		fail_msg("%d: %s", d.line, d.msg);
	sw_cf_opts o;
	sw_cf_opts_default(&o);
	o.target = SW_CF_TARGET_PIPE;
	o.server_cmd = "cat";
	o.sweep = sweep;
	o.as_root = as_root;
	o.timeout_ms = 2000;
	if (getenv("SW_UNDER_VALGRIND"))
		o.timeout_scale = 5;
	sw_cf_result r;
	assert_int_equal(sw_cf_run_case(&s.cases[0], &o, &r), 0);
	/* The case lives in the suite: keep only what the caller checks. */
	r.c = NULL;
	sw_cf_suite_fini(&s);
	return r;
}

#define RUNHEAD "case c.r.x\ntitle T\nref R\nlevel MUST\n"

static void test_run_echo(void **state)
{
	(void)state;
	sw_cf_result r =
	    run_one(RUNHEAD "send raw \"abc\"\nexpect raw \"abc\"\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	assert_null(r.reason);
	assert_true(r.nevents >= 2);
	sw_cf_result_fini(&r);

	r = run_one(RUNHEAD "send raw \"abc\"\nexpect raw \"abd\"\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(r.reason, "line 6: expected raw \"abd\"; got raw \"abc\""));
	assert_int_equal(r.nsteps, 1);
	assert_false(r.steps[0].ok);
	sw_cf_result_fini(&r);

	/* Bytes nobody expected fail the case. */
	r = run_one(RUNHEAD "send raw \"abcdef\"\nexpect raw \"abc\"\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(
	    r.reason, "unexpected bytes after the last expected message (offset 3): \"def\""));
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "trailing any\nsend raw \"abcdef\"\nexpect raw \"abc\"\n",
	            SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);

	/* Alternatives, eof, silence. */
	r = run_one(RUNHEAD "send raw \"x\"\nclose\nexpect raw \"y\"\nor raw \"x\" then eof\n",
	            SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "expect silence 100ms\nsend raw \"x\"\nexpect raw \"x\"\n",
	            SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send raw \"x\"\nexpect silence 300ms\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(r.reason, "bytes during the silence"));
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send raw \"x\"\nexpect eof within 200ms\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	sw_cf_result_fini(&r);

	/* A message expectation decodes what comes back: cat echoes the v1
	 * request line, which decodes as a v1 response tuple. */
	r = run_one(RUNHEAD "send v1 request hello x\nexpect v1 response hello *\n",
	            SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send v1 request hello x\nexpect v1 response hello y\n",
	            SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(r.reason, "got v1 response [\"hello\", \"x\"]"));
	sw_cf_result_fini(&r);
}

static void test_run_fixture_and_sweeps(void **state)
{
	(void)state;
	sw_cf_result r = run_one(
	    RUNHEAD "file sub/new \"data\"\nsend raw \"q\"\nexpect raw \"q\"\n"
	            "after file sub/new \"data\"\nafter file testfile \"contents\\nof\\nfile\\n\"\n"
	            "after dir emptydir\nafter absent nope\nafter no-stray\nafter unchanged\n",
	    SW_CF_SWEEP_NONE, false);
	if (r.outcome != SW_CF_OUT_PASS)
		fail_msg("%s", r.reason);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send raw \"q\"\nexpect raw \"q\"\nafter file testfile \"other\"\n",
	            SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(
	    strstr(r.reason,
	           "after file testfile: want \"other\", found file \"contents\\nof\\nfile\\n\""));
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD
	            "fixture empty\nsend raw \"q\"\nexpect raw \"q\"\nafter absent testfile\n",
	            SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);

	/* Sweeps: split@1..3, drip, eof@0..3, pause, long-pause = 10 variants;
	 * cat passes them all (an echo of a cut request is a prefix of the
	 * normal echo; cat has no idle timeout to keep). */
	r = run_one(RUNHEAD "tags framing\nsend raw \"abcd\"\nexpect raw \"abcd\"\n",
	            SW_CF_SWEEP_FRAMING, false);
	if (r.outcome != SW_CF_OUT_PASS)
		fail_msg("%s", r.reason);
	assert_int_equal(r.variants, 10);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send raw \"abcd\"\nexpect raw \"abcd\"\n", SW_CF_SWEEP_FRAMING, false);
	assert_int_equal(r.variants, 0);
	sw_cf_result_fini(&r);
	/* The pause variants run alongside the others but count, and fail
	 * the case, only in their turn: a peer that says "Z" when the
	 * connection ends passes split@1..3 and drip and fails eof@0 (the
	 * fifth variant); the pauses, already run, are not counted. */
	r = run_cmd_sweep(RUNHEAD
	                  "tags framing\ntrailing any\nsend raw \"abcd\"\nexpect raw \"abcd\"\n",
	                  "sh -c 'cat; printf Z'", SW_CF_SWEEP_FRAMING, true);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_int_equal(r.variants, 5);
	assert_string_equal(r.variant, "eof@0 (request on line 7)");
	assert_non_null(strstr(r.reason, "variant eof@0"));
	sw_cf_result_fini(&r);

	/* Skips: permission cases as root, client cases without a client. */
	r = run_one(RUNHEAD "requires nonroot\nsend raw \"q\"\n", SW_CF_SWEEP_NONE, true);
	assert_int_equal(r.outcome, SW_CF_OUT_SKIP);
	assert_int_equal(r.verdict, SW_CF_SKIPPED);
	assert_non_null(strstr(r.reason, "skipped (root)"));
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "role client\nclient get x\naccept\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_SKIP);
	sw_cf_result_fini(&r);
}

/* ---- security findings, re-runs, keep-going ---------------------------------- */

#define SHOULDHEAD "case c.r.x\ntitle T\nref R\nlevel SHOULD\n"

static void test_security(void **state)
{
	(void)state;
	/* A server that sends a secret from beside the root: a MUST failure
	 * although the case is a SHOULD, never re-run. */
	sw_cf_result r = run_cmd(
	    SHOULDHEAD "trailing any\nsend raw \"q\"\n",
	    "sh -c 'head -c 33 \"$0/../sentinel-beside.txt\"; cat >/dev/null' {dir}", false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_true(r.security);
	assert_null(r.first);
	assert_non_null(strstr(r.security_text, "SECURITY content leak: the content of "
	                                        "srv/sentinel-beside.txt"));
	assert_int_equal(sw_cf_decide_result(&r, false), SW_CF_FAILED);
	assert_int_equal(sw_cf_decide_result(&r, true), SW_CF_EXPECTED);
	/* In every report: the summary's line, TAP, JUnit, JSON. */
	r.verdict = SW_CF_FAILED;
	sw_cf_report rep = {.implementation = "leaky", .results = &r, .n = 1, .ms = 10};
	size_t total, expected;
	sw_cf_report_security(&rep, &total, &expected);
	assert_int_equal(total, 1);
	assert_int_equal(expected, 0);
	assert_true(sw_cf_report_fails(&rep));
	FILE *f = tmpfile();
	assert_int_equal(sw_cf_write_summary(f, &rep, false), 0);
	assert_int_equal(sw_cf_write_tap(f, &rep), 0);
	assert_int_equal(sw_cf_write_junit(f, &rep), 0);
	assert_int_equal(sw_cf_write_json(f, &rep), 0);
	char *t = slurp(f);
	assert_non_null(strstr(t, "[SHOULD, SECURITY"));
	assert_non_null(strstr(t, "security: 1 cases leaked a secret or changed files outside the "
	                          "served directory (0 of them expected deviations)\n"));
	assert_non_null(strstr(t, "# security: 1 cases leaked"));
	assert_non_null(strstr(t, "security: true"));
	assert_non_null(strstr(t, "<property name=\"security\" value=\"1\"/>"));
	assert_non_null(strstr(t, "type=\"security fail\""));
	assert_non_null(strstr(t, "\"security\":1,\"security_expected\":0"));
	assert_non_null(strstr(t, "\"security\":true,\"flaky\":false"));
	free(t);
	fclose(f);
	/* Listed as a deviation, it is still on the security line. */
	r.verdict = SW_CF_EXPECTED;
	f = tmpfile();
	assert_int_equal(sw_cf_write_summary(f, &rep, false), 0);
	t = slurp(f);
	assert_non_null(strstr(t, "expected-deviation c.r.x"));
	assert_non_null(strstr(t, "(1 of them expected deviations)"));
	free(t);
	fclose(f);
	sw_cf_result_fini(&r);

	/* A file written beside the root, named with the request after which
	 * it appeared. */
	r = run_cmd(SHOULDHEAD "send raw \"a\\n\"\nexpect raw \"ok\\n\"\n",
	            "sh -c 'read l; echo x >\"$0/../evil\"; echo ok; cat' {dir}", false);
	assert_true(r.security);
	assert_non_null(strstr(r.security_text,
	                       "SECURITY outside change: srv/evil was created: file "
	                       "(2 bytes, mode 0644) \"x\\x0a\" -- after the answer "
	                       "to line 5: send raw \"a\\n\""));
	sw_cf_result_fini(&r);
	/* ... and one a later request removes again. */
	r = run_cmd(
	    SHOULDHEAD "send raw \"a\\n\"\nexpect raw \"ok\\n\"\nsend raw \"b\\n\"\n"
	               "expect raw \"ok\\n\"\n",
	    "sh -c 'read l; echo x >\"$0/../evil\"; echo ok; read l; rm \"$0/../evil\"; echo "
	    "ok; cat' {dir}",
	    false);
	assert_true(r.security);
	assert_non_null(strstr(r.security_text, "(undone by a later request)"));
	sw_cf_result_fini(&r);
	/* A read-only server must not change its own tree; a writable one may. */
	static const char *const writer = "sh -c 'echo x >\"$0/new\"; cat' {dir}";
	r = run_cmd(SHOULDHEAD "send raw \"q\"\nexpect raw \"q\"\n", writer, false);
	assert_true(r.security);
	assert_non_null(
	    strstr(r.security_text, "SECURITY inside change: srv/root/new was created"));
	sw_cf_result_fini(&r);
	r = run_cmd(SHOULDHEAD "option allow-writes\nsend raw \"q\"\nexpect raw \"q\"\n", writer,
	            false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	assert_false(r.security);
	sw_cf_result_fini(&r);

	/* Only SECURITY entries of an expectations file cover a leak. */
	static const char ex[] = "c.* SECURITY known leak\nc.* a wrong answer\nd.* other\n";
	sw_cf_expectations e;
	assert_int_equal(sw_cf_expectations_parse(&e, ex, sizeof ex - 1, "x.txt", NULL), 0);
	assert_true(e.v[0].security);
	assert_false(e.v[1].security);
	assert_ptr_equal(sw_cf_expectations_find_for(&e, "c.x", true), &e.v[0]);
	assert_null(sw_cf_expectations_find_for(&e, "d.x", true));
	assert_ptr_equal(sw_cf_expectations_find_for(&e, "d.x", false), &e.v[2]);
	sw_cf_expectations_fini(&e);
}

static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n = 0, ch;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void test_retry(void **state)
{
	(void)state;
	char flag[] = "/tmp/sw-conform-flag-XXXXXX";
	int fd = mkstemp(flag);
	assert_true(fd >= 0);
	close(fd);
	unlink(flag);
	char cmd[512];
	/* Wrong the first time, right the second: flaky, both runs kept. */
	snprintf(cmd, sizeof cmd, "sh -c 'if [ -e %s ]; then cat; else touch %s; echo nope; fi'",
	         flag, flag);
	sw_cf_result r = run_cmd(RUNHEAD "send raw \"q\"\nexpect raw \"q\"\n", cmd, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	assert_true(r.flaky);
	assert_non_null(r.first);
	assert_int_equal(r.first->outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(r.first->reason, "expected raw \"q\""));
	assert_true(r.first->nevents > 0);
	r.verdict = sw_cf_decide_result(&r, false);
	assert_int_equal(r.verdict, SW_CF_FLAKY);
	assert_int_equal(sw_cf_decide_result(&r, true), SW_CF_FLAKY); /* never "fixed" */
	assert_false(sw_cf_verdict_fails(SW_CF_FLAKY, false));
	assert_true(sw_cf_verdict_fails(SW_CF_FLAKY, true));
	assert_string_equal(sw_cf_verdict_name(SW_CF_FLAKY), "flaky");
	assert_int_equal(sw_cf_verdict_parse("flaky"), SW_CF_FLAKY);
	sw_cf_report rep = {.implementation = "x", .results = &r, .n = 1, .strict = true};
	FILE *f = tmpfile();
	assert_int_equal(sw_cf_write_summary(f, &rep, false), 0);
	assert_int_equal(sw_cf_write_json(f, &rep), 0);
	char *t = slurp(f);
	assert_non_null(strstr(t, "failed on its first run, passed on its second"));
	assert_non_null(
	    strstr(t, "1 flaky (failed once, passed when run again: they fail the run)"));
	assert_non_null(strstr(t, "\"flaky\":true"));
	assert_non_null(strstr(t, "\"first\":{\"reason\":"));
	free(t);
	fclose(f);
	sw_cf_result_fini(&r);
	unlink(flag);
	/* Without re-runs the first failure stands. */
	r = run_cmd(RUNHEAD "send raw \"q\"\nexpect raw \"q\"\n", cmd, true);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_false(r.flaky);
	assert_null(r.first);
	sw_cf_result_fini(&r);
	unlink(flag);
	/* Failing twice: a failure, with the first run's evidence. */
	r = run_cmd(RUNHEAD "send raw \"q\"\nexpect raw \"z\"\n", "cat", false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_false(r.flaky);
	assert_null(r.first);
	sw_cf_result_fini(&r);

	/* An unknown method is the peer's answer, not a timing accident: it
	 * is reported at once, never re-run (the command counts its runs). */
	char runs[] = "/tmp/sw-conform-runs-XXXXXX";
	fd = mkstemp(runs);
	assert_true(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof cmd, "sh -c 'echo run >> %s; exec cat'", runs);
	r = run_cmd(RUNHEAD "send v1 request error \"Generic bzr smart protocol error: bad "
	                    "request x\"\nexpect v1 response ok\n",
	            cmd, false);
	assert_int_equal(r.outcome, SW_CF_OUT_UNIMPLEMENTED);
	assert_null(r.first);
	sw_cf_result_fini(&r);
	assert_int_equal(count_lines(runs), 1);
	/* Any other failure is: two runs. */
	r = run_cmd(RUNHEAD "send raw \"q\"\nexpect raw \"z\"\n", cmd, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	sw_cf_result_fini(&r);
	assert_int_equal(count_lines(runs), 3);
	/* Nor is a failure the expectations file lists: one more run only. */
	sw_cf_expectations exp;
	const char *lines = "other.* not this one\nc.r.* a recorded deviation\n";
	assert_int_equal(sw_cf_expectations_parse(&exp, lines, strlen(lines), "x.txt", NULL), 0);
	run_expect = &exp;
	r = run_cmd(RUNHEAD "send raw \"q\"\nexpect raw \"z\"\n", cmd, false);
	run_expect = NULL;
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_null(r.first);
	assert_int_equal(sw_cf_decide_result(&r, true), SW_CF_EXPECTED);
	sw_cf_result_fini(&r);
	assert_int_equal(count_lines(runs), 4);
	/* A listed case that passes is run once, as any pass. */
	run_expect = &exp;
	r = run_cmd(RUNHEAD "send raw \"q\"\nexpect raw \"q\"\n", cmd, false);
	run_expect = NULL;
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	assert_int_equal(sw_cf_decide_result(&r, true), SW_CF_FIXED);
	sw_cf_result_fini(&r);
	assert_int_equal(count_lines(runs), 5);
	sw_cf_expectations_fini(&exp);
	unlink(runs);

	/* Calibration: a peer that never says hello gives no calibration. */
	sw_cf_opts o;
	sw_cf_opts_default(&o);
	o.target = SW_CF_TARGET_PIPE;
	o.server_cmd = "cat";
	o.timeout_ms = 300;
	uint32_t rtt = 99;
	assert_int_equal(sw_cf_calibrate(&o, &rtt), 0);
	assert_int_equal(rtt, 0);
	o.target = SW_CF_TARGET_CLIENT;
	assert_int_equal(sw_cf_calibrate(&o, &rtt), 0);
	assert_int_equal(rtt, 0);
}

static void test_keep_going(void **state)
{
	(void)state;
	/* keep-going: the step after a failed expect still runs. */
	sw_cf_result r = run_cmd(RUNHEAD "keep-going\nsend raw \"a\"\nexpect raw \"b\"\n"
	                                 "send raw \"c\"\nexpect raw \"c\"\n",
	                         "cat", true);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_int_equal(r.nsteps, 2);
	assert_false(r.steps[0].ok);
	assert_true(r.steps[1].ok);
	assert_non_null(strstr(r.reason, "line 7: expected raw \"b\""));
	sw_cf_result_fini(&r);
	r = run_cmd(RUNHEAD "send raw \"a\"\nexpect raw \"b\"\nsend raw \"c\"\nexpect raw \"c\"\n",
	            "cat", true);
	assert_int_equal(r.nsteps, 1);
	sw_cf_result_fini(&r);
	/* !WORD: any argument but WORD. */
	r = run_cmd(RUNHEAD "send v1 request ok\nexpect v1 response !ok\n", "cat", true);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(r.reason, "expected v1 response [not \"ok\"]"));
	sw_cf_result_fini(&r);
	r = run_cmd(RUNHEAD "send v1 request no x\nexpect v1 response !yes ...\n", "cat", true);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reports),
	    cmocka_unit_test(test_run_echo),
	    cmocka_unit_test(test_run_fixture_and_sweeps),
	    cmocka_unit_test(test_security),
	    cmocka_unit_test(test_retry),
	    cmocka_unit_test(test_keep_going),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
