/*
 * Tests of the conformance engine: byte expressions, the case parser (every
 * syntax error with its line), verdicts, expectation files, the report
 * writers, and the runner against a trivial peer (`cat`, which echoes).
 */
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

/* ---- byte expressions ------------------------------------------------------ */

static void eval_ok(const char *expr, const void *want, size_t n)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	char err[200];
	sw_cf_ctx ctx = {.root = "/srv/x", .version = "3.3.2"};
	int rc = sw_cf_eval(expr, &ctx, &b, err, sizeof err);
	if (rc != 0)
		fail_msg("'%s': %s", expr, err);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	sw_buf_fini(&b);
}

static void eval_bad(const char *expr, const char *msg_part)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	char err[200] = "";
	assert_int_equal(sw_cf_eval(expr, NULL, &b, err, sizeof err), SW_ERR_INVALID_ARGUMENT);
	if (!strstr(err, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", expr, err, msg_part);
	sw_buf_fini(&b);
}

static void test_eval_escapes(void **state)
{
	(void)state;
	eval_ok("\"a\\x01\\n\\t\\r\\0\\\\\\\"\\'\"", "a\x01\n\t\r\0\\\"'", 9);
	eval_ok("'single' \"double\"", "singledouble", 12);
	eval_ok("\"\\xff\\x00\"", "\xff\x00", 2);
	eval_ok("\"\"", "", 0);
	eval_ok("\"{root}/nope\"", "/srv/x/nope", 11);
	eval_ok("\"v{version}\"", "v3.3.2", 6);
	eval_ok("\"\\{root}\"", "{root}", 6);
}

static void test_eval_helpers(void **state)
{
	(void)state;
	eval_ok("u32len{\"abc\"}", "\0\0\0\x03" "abc", 7);
	eval_ok("u32{0xffffffff} u32{7} u8{255}", "\xff\xff\xff\xff\0\0\0\x07\xff", 9);
	eval_ok("hex{00 0a FF}", "\x00\x0a\xff", 3);
	eval_ok("spart{list{\"hello\"}}", "s\0\0\0\x09l5:helloe", 14);
	eval_ok("bpart{\"\"}", "b\0\0\0\0", 5);
	eval_ok("list{}", "le", 2);
	eval_ok("list{\"get\" \"/x\"}", "l3:get2:/xe", 11);
	eval_ok("bstr{\"ab\"}", "2:ab", 4);
	eval_ok("declen{\"abc\"}", "3\nabc", 5);
	eval_ok("prefixed{\"data\"}", "4\ndatadone\n", 11);
	eval_ok("hexlen{repeat{17 \"a\"}}", "11\naaaaaaaaaaaaaaaaa", 20);
	eval_ok("repeat{3 \"ab\" \"c\"}", "abcabcabc", 9);
	eval_ok("repeat{0 \"x\"}", "", 0);
	eval_ok("repeat{5 \"abc\"}", "abcabcabcabcabc", 15);
	/* An empty operand repeated any number of times is empty, at once. */
	eval_ok("repeat{18446744073709551615 \"\"}", "", 0);
	eval_ok("$v3 $hdr0", "bzr message 3 (bzr 1.6)\n\0\0\0\x02" "de", 30);
	eval_ok("$req2 $resp2 $success $failed", "bzr request 2\nbzr response 2\nsuccess\nfailed\n", 44);
	eval_ok("$hdr", "\0\0\0\x1c" "d16:Software version5:3.3.2e", 32);
	eval_ok("u32len{\"{root}\"}", "\0\0\0\x06/srv/x", 10);
	eval_ok("u32len{u32len{\"x\"}}", "\0\0\0\x05\0\0\0\x01x", 9);
}

static void test_eval_errors(void **state)
{
	(void)state;
	eval_bad("\"\\q\"", "unknown escape");
	eval_bad("\"\\x4\"", "two hex digits");
	eval_bad("hex{0g}", "non-hex");
	eval_bad("hex{abc}", "odd number");
	eval_bad("u32{4294967296}", "u32{} needs");
	eval_bad("u8{256}", "u8{} needs");
	eval_bad("frob{\"x\"}", "unknown helper");
	eval_bad("word", "unquoted word");
	eval_bad("$nope", "unknown constant");
	eval_bad("\"abc", "unterminated");
	eval_bad("u32len{\"a\"", "unterminated '{'");
	eval_bad("x}", "unbalanced");
	eval_bad("repeat{x \"a\"}", "count");
	eval_bad("repeat{100000000 \"ab\"}", "more than");
	eval_bad("u32len{u32len{u32len{u32len{u32len{u32len{u32len{u32len{u32len{u32len{"
	         "u32len{u32len{u32len{u32len{u32len{u32len{u32len{u32len{\"x\"}}}}}}}}}}}}}}}}}}",
	         "nested deeper");
}

static void test_eval_arg(void **state)
{
	(void)state;
	sw_cf_ctx ctx = {.root = "/r"};
	sw_buf b;
	sw_buf_init(&b, NULL);
	char err[100];
	assert_int_equal(sw_cf_eval_arg("{root}/nope", &ctx, &b, err, sizeof err), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "/r/nope", 7);
	sw_buf_reset(&b);
	assert_int_equal(sw_cf_eval_arg("''", &ctx, &b, err, sizeof err), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(sw_cf_eval_arg("\"a\\x01\"", &ctx, &b, err, sizeof err), 0);
	assert_int_equal(b.len, 2);
	sw_buf_reset(&b);
	assert_int_equal(sw_cf_eval_arg("repeat{3 \"v\"}", &ctx, &b, err, sizeof err), 0);
	assert_int_equal(b.len, 3);
	sw_buf_fini(&b);
}

/* ---- parser ------------------------------------------------------------------- */

static const char good[] =
	"# a comment\n"
	"case t.a.one\n"
	"title   First case\n"
	"ref     §1.2\n"
	"level   MUST\n"
	"tags    framing x\n"
	"option  allow-writes client-timeout=2\n"
	"file    new/f \"x\" hex{00}\n"
	"dir     d\n"
	"chmod   new/f 0600\n"
	"send    v3 request put /x '' body \"da\" body \"ta\" abort\n"
	"expect  v3 response success ok body \"x\" \\\n"
	"        within 2s\n"
	"or      eof\n"
	"or      v1 response error * then eof\n"
	"close\n"
	"after   file new/f \"x\"\n"
	"after   no-stray\n"
	"\n"
	"case t.b.two\n"
	"title   \"Quoted title\"\n"
	"ref     r\n"
	"level   SHOULD\n"
	"role    client\n"
	"client  get testfile\n"
	"accept\n"
	"expect  v2 request get /testfile\n"
	"send    v2 response success ok chunks \"a\" \"b\" stream-error x y\n"
	"result  error connection within 3s\n";

static void test_parse_good(void **state)
{
	(void)state;
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	sw_cf_diag d;
	int rc = sw_cf_parse(&s, good, sizeof good - 1, "good.case", &d);
	if (rc)
		fail_msg("%s:%d: %s", d.file, d.line, d.msg);
	assert_int_equal(s.n, 2);
	const sw_cf_case *a = &s.cases[0], *b = &s.cases[1];
	assert_string_equal(a->id, "t.a.one");
	assert_string_equal(a->title, "First case");
	assert_int_equal(a->level, SW_CF_MUST);
	assert_int_equal(a->line, 2);
	assert_int_equal(a->ntags, 2);
	assert_true(a->allow_writes);
	assert_int_equal(a->client_timeout, 2);
	assert_int_equal(a->nentries, 3);
	assert_int_equal(a->entries[2].mode, 0600);
	assert_int_equal(a->nsteps, 3);
	assert_int_equal(a->steps[0].kind, SW_CF_STEP_SEND);
	const sw_cf_atom *sa = &a->steps[0].alts[0].atoms[0];
	assert_int_equal(sa->version, 3);
	assert_int_equal(sa->nbodies, 2);
	assert_true(sa->abort);
	assert_int_equal(a->steps[1].kind, SW_CF_STEP_EXPECT);
	assert_int_equal(a->steps[1].nalts, 3);
	assert_int_equal(a->steps[1].within_ms, 2000);
	assert_int_equal(a->steps[1].alts[2].n, 2);
	assert_int_equal(a->steps[1].alts[2].atoms[1].kind, SW_CF_EOF);
	assert_int_equal(a->steps[1].line, 12);
	assert_int_equal(a->steps[2].kind, SW_CF_STEP_CLOSE);
	assert_int_equal(a->nchecks, 2);
	assert_string_equal(b->title, "Quoted title");
	assert_int_equal(b->role, SW_CF_ROLE_CLIENT);
	assert_string_equal(b->client_op, "get testfile");
	assert_int_equal(b->steps[2].alts[0].atoms[0].chunked, true);
	assert_int_equal(b->steps[2].alts[0].atoms[0].neargs, 2);
	assert_int_equal(b->steps[3].kind, SW_CF_STEP_RESULT);
	assert_false(b->steps[3].result_ok);
	assert_string_equal(b->steps[3].result_text, "connection");
	assert_int_equal(b->steps[3].within_ms, 3000);
	/* The same text again: duplicate ids, nothing added. */
	assert_int_equal(sw_cf_parse(&s, good, sizeof good - 1, "again.case", &d), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(d.line, 2);
	assert_non_null(strstr(d.msg, "duplicate case id"));
	assert_int_equal(s.n, 2);
	sw_cf_suite_fini(&s);
}

#define HEAD "case t.x.y\ntitle T\nref R\nlevel MUST\n"

static const struct {
	const char *text;
	int line;
	const char *msg;
} bad[] = {
	{"title x\n", 1, "before the first 'case'"},
	{"case Bad.Id\n", 1, "case needs one id"},
	{"case a b\n", 1, "case needs one id"},
	{"case t.x.y\nref R\nlevel MUST\nsend raw \"x\"\n", 1, "has no title"},
	{"case t.x.y\ntitle T\nlevel MUST\nsend raw \"x\"\n", 1, "has no ref"},
	{"case t.x.y\ntitle T\nref R\nsend raw \"x\"\n", 1, "has no level"},
	{HEAD, 1, "has no steps"},
	{HEAD "level MAYBE\n", 5, "level needs"},
	{HEAD "role both\n", 5, "role needs"},
	{HEAD "title again\n", 5, "title given twice"},
	{HEAD "frobnicate\n", 5, "unknown directive 'frobnicate'"},
	{HEAD "\"quoted\"\n", 5, "must start with a directive"},
	{HEAD "send raw \"abc\n", 5, "unterminated \" string"},
	{HEAD "send raw \"\\q\"\n", 5, "unknown escape"},
	{HEAD "send\n", 5, "missing what to send"},
	{HEAD "send raw\n", 5, "raw needs a byte expression"},
	{HEAD "send v4 request hello\n", 5, "unknown message 'v4'"},
	{HEAD "send v3 hello\n", 5, "followed by 'request' or 'response'"},
	{HEAD "send v3 request\n", 5, "at least a verb"},
	{HEAD "send v3 request get *\n", 5, "only allowed in expectations"},
	{HEAD "send v2 response ok\n", 5, "needs a status"},
	{HEAD "send v1 request put /x body \"a\" body \"b\"\n", 5, "several body parts"},
	{HEAD "send v1 request put /x body\n", 5, "body needs a byte expression"},
	{HEAD "send v3 response success ok chunks \"a\"\n", 5, "chunks are only for v2"},
	{HEAD "send v2 request x abort\n", 5, "abort is only for v3 requests"},
	{HEAD "send v3 request x stream-error y\n", 5, "stream-error needs"},
	{HEAD "send raw \"x\" extra\n", 5, "unquoted word 'extra'"},
	{HEAD "expect eof foo\n", 5, "unexpected 'foo'"},
	{HEAD "expect silence\n", 5, "silence needs a duration"},
	{HEAD "expect silence 3 days\n", 5, "silence needs a duration"},
	{HEAD "expect eof within\n", 5, "within needs a duration"},
	{HEAD "expect v1 response ... x\n", 5, "'...' must be the last"},
	{HEAD "or eof\n", 5, "'or' must follow"},
	{HEAD "send raw \"x\"\nor eof\n", 6, "'or' must follow"},
	{HEAD "file /abs \"x\"\n", 5, "relative path"},
	{HEAD "file a/../b \"x\"\n", 5, "relative path"},
	{HEAD "file a\n", 5, "a path and a contents"},
	{HEAD "chmod a 999\n", 5, "octal mode"},
	{HEAD "symlink a\n", 5, "a path and a target"},
	{HEAD "option fast\n", 5, "unknown option 'fast'"},
	{HEAD "option client-timeout=0\n", 5, "whole seconds"},
	{HEAD "requires magic\n", 5, "unknown requirement"},
	{HEAD "sweep maybe\n", 5, "sweep needs on or off"},
	{HEAD "trailing some\n", 5, "trailing needs 'any'"},
	{HEAD "accept\n", 5, "only for client cases"},
	{HEAD "result ok\n", 5, "only for client cases"},
	{HEAD "pause\n", 5, "pause needs a duration"},
	{HEAD "after file x\n", 5, "after needs"},
	{HEAD "after everything\n", 5, "after needs"},
	{HEAD "send raw \\\n  \\\n  \"x\" zz\n", 5, "unquoted word 'zz'"},
	{HEAD "send raw \"a\"\n\n# c\nsend raw hex{zz}\n", 8, "non-hex"},
	{HEAD "role client\nsend raw \"a\"\n", 1, "no 'client OP ARGS'"},
	{HEAD "send raw \"a\0b\"\n", 5, "NUL byte"},
};

static void test_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sw_cf_suite s;
		sw_cf_suite_init(&s);
		sw_cf_diag d;
		memset(&d, 0, sizeof d);
		size_t len = strlen(bad[i].text);
		if (strstr(bad[i].msg, "NUL"))
			len = sizeof HEAD "send raw \"a\0b\"\n" - 1;
		int rc = sw_cf_parse(&s, bad[i].text, len, "bad.case", &d);
		if (rc != SW_ERR_INVALID_ARGUMENT || d.line != bad[i].line || !strstr(d.msg, bad[i].msg))
			fail_msg("case %zu: rc %d, %s:%d: '%s'; want line %d '%s'", i, rc, d.file, d.line, d.msg,
			         bad[i].line, bad[i].msg);
		assert_string_equal(d.file, "bad.case");
		assert_int_equal(s.n, 0);
		sw_cf_suite_fini(&s);
	}
}

static void test_glob_area(void **state)
{
	(void)state;
	assert_true(sw_cf_glob("*", "a.b"));
	assert_true(sw_cf_glob("v3.*", "v3.framing.x"));
	assert_false(sw_cf_glob("v3.*", "v12.x"));
	assert_true(sw_cf_glob("vfs.get.v?.ok", "vfs.get.v1.ok"));
	assert_false(sw_cf_glob("vfs.get.v?.ok", "vfs.get.v12.ok"));
	assert_true(sw_cf_glob("*.ok", "x.y.ok"));
	assert_false(sw_cf_glob("a", "ab"));
	char a[64];
	sw_cf_area("v3.framing.header", a, sizeof a);
	assert_string_equal(a, "v3.framing");
	sw_cf_area("single", a, sizeof a);
	assert_string_equal(a, "single");
	sw_cf_area("two.parts", a, sizeof a);
	assert_string_equal(a, "two.parts");
}

/* ---- verdicts and expectations ------------------------------------------------ */

static void test_verdicts(void **state)
{
	(void)state;
	assert_int_equal(sw_cf_decide(SW_CF_MUST, SW_CF_OUT_PASS, false), SW_CF_PASS);
	assert_int_equal(sw_cf_decide(SW_CF_MUST, SW_CF_OUT_FAIL, false), SW_CF_FAILED);
	assert_int_equal(sw_cf_decide(SW_CF_SHOULD, SW_CF_OUT_FAIL, false), SW_CF_NON_STRICT);
	assert_int_equal(sw_cf_decide(SW_CF_MAY, SW_CF_OUT_FAIL, false), SW_CF_INFORMATIONAL);
	assert_int_equal(sw_cf_decide(SW_CF_MUST, SW_CF_OUT_FAIL, true), SW_CF_EXPECTED);
	assert_int_equal(sw_cf_decide(SW_CF_MUST, SW_CF_OUT_PASS, true), SW_CF_FIXED);
	assert_int_equal(sw_cf_decide(SW_CF_MUST, SW_CF_OUT_SKIP, true), SW_CF_SKIPPED);
	assert_int_equal(sw_cf_decide(SW_CF_MUST, SW_CF_OUT_UNIMPLEMENTED, false), SW_CF_UNIMPLEMENTED);
	assert_int_equal(sw_cf_decide(SW_CF_MUST, SW_CF_OUT_UNIMPLEMENTED, true), SW_CF_EXPECTED);
	assert_true(sw_cf_verdict_fails(SW_CF_FAILED, false));
	assert_true(sw_cf_verdict_fails(SW_CF_FIXED, false));
	assert_false(sw_cf_verdict_fails(SW_CF_NON_STRICT, false));
	assert_true(sw_cf_verdict_fails(SW_CF_NON_STRICT, true));
	assert_false(sw_cf_verdict_fails(SW_CF_UNIMPLEMENTED, false));
	assert_true(sw_cf_verdict_fails(SW_CF_UNIMPLEMENTED, true));
	assert_false(sw_cf_verdict_fails(SW_CF_INFORMATIONAL, true));
	assert_false(sw_cf_verdict_fails(SW_CF_EXPECTED, true));
	assert_false(sw_cf_verdict_fails(SW_CF_SKIPPED, true));
	for (int v = 0; v < SW_CF_VERDICT_COUNT_; v++)
		assert_int_equal(sw_cf_verdict_parse(sw_cf_verdict_name((sw_cf_verdict)v)), v);
	assert_int_equal(sw_cf_verdict_parse("nope"), -1);
}

static void test_expectations(void **state)
{
	(void)state;
	static const char text[] = "# comment\n\n  v3.pipeline.*   no pipelining (§6.1)  \r\n"
	                           "exact.id reason two\n";
	sw_cf_expectations e;
	sw_cf_diag d;
	assert_int_equal(sw_cf_expectations_parse(&e, text, sizeof text - 1, "x.txt", &d), 0);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.v[0].glob, "v3.pipeline.*");
	assert_string_equal(e.v[0].reason, "no pipelining (§6.1)");
	assert_int_equal(e.v[0].line, 3);
	assert_ptr_equal(sw_cf_expectations_find(&e, "v3.pipeline.two"), &e.v[0]);
	assert_ptr_equal(sw_cf_expectations_find(&e, "exact.id"), &e.v[1]);
	assert_null(sw_cf_expectations_find(&e, "exact.idx"));
	sw_cf_expectations_fini(&e);
	static const char noreason[] = "a.b reason\nlonely.id\n";
	assert_int_equal(sw_cf_expectations_parse(&e, noreason, sizeof noreason - 1, "y.txt", &d),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(d.line, 2);
	assert_non_null(strstr(d.msg, "has no reason"));
	assert_int_equal(e.n, 0);
}

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
	sw_cf_outcome outs[5] = {SW_CF_OUT_PASS, SW_CF_OUT_FAIL, SW_CF_OUT_FAIL, SW_CF_OUT_SKIP, SW_CF_OUT_FAIL};
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
	char err[200];
	assert_int_equal(sw_cf_column_load(path, &cols[0], err, sizeof err), 0);
	assert_int_equal(sw_cf_column_from_report(&rep, &cols[1]), 0);
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
	assert_int_equal(sw_cf_column_load(path, &cols[0], err, sizeof err), SW_ERR_INVALID_ARGUMENT);
	assert_non_null(strstr(err, "not a smartwire conform JSON report"));
	f = fopen(path, "w");
	fputs("{\"format\":", f);
	fclose(f);
	assert_int_equal(sw_cf_column_load(path, &cols[0], err, sizeof err), SW_ERR_INVALID_ARGUMENT);
	unlink(path);
	for (int i = 0; i < 5; i++)
		sw_cf_result_fini(&res[i]);
	sw_cf_suite_fini(&s);
}

/* ---- the runner against `cat` ------------------------------------------------ */

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
	sw_cf_result r = run_one(RUNHEAD "send raw \"abc\"\nexpect raw \"abc\"\n", SW_CF_SWEEP_NONE, false);
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
	assert_non_null(strstr(r.reason, "unexpected bytes after the last expected message (offset 3): \"def\""));
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "trailing any\nsend raw \"abcdef\"\nexpect raw \"abc\"\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);

	/* Alternatives, eof, silence. */
	r = run_one(RUNHEAD "send raw \"x\"\nclose\nexpect raw \"y\"\nor raw \"x\" then eof\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "expect silence 100ms\nsend raw \"x\"\nexpect raw \"x\"\n", SW_CF_SWEEP_NONE, false);
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
	r = run_one(RUNHEAD "send v1 request hello x\nexpect v1 response hello *\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send v1 request hello x\nexpect v1 response hello y\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(r.reason, "got v1 response [\"hello\", \"x\"]"));
	sw_cf_result_fini(&r);
}

static void test_run_fixture_and_sweeps(void **state)
{
	(void)state;
	sw_cf_result r = run_one(RUNHEAD "file sub/new \"data\"\nsend raw \"q\"\nexpect raw \"q\"\n"
	                         "after file sub/new \"data\"\nafter file testfile \"contents\\nof\\nfile\\n\"\n"
	                         "after dir emptydir\nafter absent nope\nafter no-stray\nafter unchanged\n",
	                         SW_CF_SWEEP_NONE, false);
	if (r.outcome != SW_CF_OUT_PASS)
		fail_msg("%s", r.reason);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send raw \"q\"\nexpect raw \"q\"\nafter file testfile \"other\"\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_FAIL);
	assert_non_null(strstr(r.reason, "after file testfile: want \"other\", found file \"contents\\nof\\nfile\\n\""));
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "fixture empty\nsend raw \"q\"\nexpect raw \"q\"\nafter absent testfile\n", SW_CF_SWEEP_NONE, false);
	assert_int_equal(r.outcome, SW_CF_OUT_PASS);
	sw_cf_result_fini(&r);

	/* Sweeps: split@1..3, drip, eof@0..3 = 8 variants; cat passes them all
	 * (an echo of a cut request is a prefix of the normal echo). */
	r = run_one(RUNHEAD "tags framing\nsend raw \"abcd\"\nexpect raw \"abcd\"\n", SW_CF_SWEEP_FRAMING, false);
	if (r.outcome != SW_CF_OUT_PASS)
		fail_msg("%s", r.reason);
	assert_int_equal(r.variants, 8);
	sw_cf_result_fini(&r);
	r = run_one(RUNHEAD "send raw \"abcd\"\nexpect raw \"abcd\"\n", SW_CF_SWEEP_FRAMING, false);
	assert_int_equal(r.variants, 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval_escapes),
		cmocka_unit_test(test_eval_helpers),
		cmocka_unit_test(test_eval_errors),
		cmocka_unit_test(test_eval_arg),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_glob_area),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_expectations),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_run_echo),
		cmocka_unit_test(test_run_fixture_and_sweeps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
