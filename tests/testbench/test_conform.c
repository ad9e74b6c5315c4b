/*
 * Tests of the conformance engine's pure parts: byte expressions, the case
 * parser (every syntax error with its line, every directive's arity),
 * verdicts and expectation files.  The reports and the runner are tested
 * in test_conform_run.c.
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
	sw_errinfo ei;
	sw_cf_ctx ctx = {.root = "/srv/x", .version = "3.3.2"};
	int rc = sw_cf_eval(expr, &ctx, &b, &ei);
	if (rc != 0)
		fail_msg("'%s': %s", expr, ei.text);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	sw_buf_fini(&b);
}

static void eval_bad(const char *expr, const char *msg_part)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	sw_errinfo ei;
	memset(&ei, 0, sizeof ei);
	assert_int_equal(sw_cf_eval(expr, NULL, &b, &ei), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(ei.code, SW_ERR_INVALID_ARGUMENT);
	if (!strstr(ei.text, msg_part))
		fail_msg("'%s': message '%s' lacks '%s'", expr, ei.text, msg_part);
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
	sw_errinfo err;
	assert_int_equal(sw_cf_eval_arg("{root}/nope", &ctx, &b, &err), 0);
	assert_int_equal(b.len, 7);
	assert_memory_equal(b.data, "/r/nope", 7);
	sw_buf_reset(&b);
	assert_int_equal(sw_cf_eval_arg("''", &ctx, &b, &err), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(sw_cf_eval_arg("\"a\\x01\"", &ctx, &b, &err), 0);
	assert_int_equal(b.len, 2);
	sw_buf_reset(&b);
	assert_int_equal(sw_cf_eval_arg("repeat{3 \"v\"}", &ctx, &b, &err), 0);
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
    /* Every directive's arity, checked from its row of the table. */
    {"case\n", 1, "case needs one id"},
    {HEAD "ref again\n", 5, "ref given twice"},
    {HEAD "note\n", 5, "note needs a value"},
    {HEAD "level\n", 5, "level needs one of"},
    {HEAD "level MUST SHOULD\n", 5, "level needs one of"},
    {HEAD "role\n", 5, "role needs server or client"},
    {HEAD "fixture\n", 5, "fixture needs default, empty or bzr-NAME"},
    {HEAD "fixture empty now\n", 5, "fixture needs default, empty or bzr-NAME"},
    {HEAD "option\n", 5, "option needs allow-writes"},
    {HEAD "requires\n", 5, "requires needs nonroot or tcp"},
    {HEAD "sweep on off\n", 5, "sweep needs on or off"},
    {HEAD "trailing\n", 5, "trailing needs 'any'"},
    {HEAD "dir a b\n", 5, "dir takes a path"},
    {HEAD "remove\n", 5, "remove takes a path"},
    {HEAD "chmod a 0644 x\n", 5, "chmod takes a path and an octal mode"},
    {HEAD "symlink a b c\n", 5, "symlink takes a path and a target"},
    {HEAD "expect\n", 5, "missing what to expect"},
    {HEAD "close now\n", 5, "close takes no arguments"},
    {HEAD "disconnect\n", 5, "disconnect is only for client cases"},
    {HEAD "role client\nclient get x\naccept x\n", 7, "accept takes no arguments"},
    {HEAD "role client\nclient get x\nresult\n", 7, "result needs ok"},
    {HEAD "role client\nclient get x\nresult maybe\n", 7, "result needs ok"},
    {HEAD "pause 1s 2s\n", 5, "pause needs a duration"},
    {HEAD "after\n", 5, "after needs"},
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

/* Every directive FORMAT.md documents is a row of the table: none of them
 * is an unknown directive (the tables of its Metadata, Fixture and Steps
 * sections; the first word of each row's first cell). */
static void test_directives_documented(void **state)
{
	(void)state;
	const char *src = getenv("SW_SOURCE_DIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/conformance/FORMAT.md", src ? src : ".");
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (set SW_SOURCE_DIR)", path);
	char line[1024];
	bool in_tables = false;
	int seen = 0;
	while (fgets(line, sizeof line, f)) {
		if (strncmp(line, "## ", 3) == 0)
			in_tables = strncmp(line, "## Metadata", 11) == 0 ||
			            strncmp(line, "## Fixture", 10) == 0 ||
			            strncmp(line, "## Steps", 8) == 0;
		if (!in_tables || strncmp(line, "| `", 3) != 0 || line[3] < 'a' || line[3] > 'z')
			continue;
		char word[32];
		size_t n = strcspn(line + 3, " `|");
		assert_true(n < sizeof word);
		memcpy(word, line + 3, n);
		word[n] = '\0';
		char text[256];
		snprintf(text, sizeof text, "%s%s\n", strcmp(word, "case") ? HEAD : "", word);
		sw_cf_suite s;
		sw_cf_suite_init(&s);
		sw_cf_diag d;
		memset(&d, 0, sizeof d);
		if (sw_cf_parse(&s, text, strlen(text), "doc.case", &d) != 0 &&
		    strstr(d.msg, "unknown directive"))
			fail_msg("FORMAT.md documents '%s', the parser does not know it", word);
		sw_cf_suite_fini(&s);
		seen++;
	}
	fclose(f);
	assert_true(seen >= 25); /* the tables were found */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eval_escapes),
	    cmocka_unit_test(test_eval_helpers),
	    cmocka_unit_test(test_eval_errors),
	    cmocka_unit_test(test_eval_arg),
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_directives_documented),
	    cmocka_unit_test(test_glob_area),
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_expectations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
