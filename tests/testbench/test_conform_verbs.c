/*
 * Tests of the conformance engine's features for the verbs above the file
 * level (conformance/FORMAT.md): variables and captures, bencoded
 * arguments, the pack/lines/starts expectations, the unknown-method rule,
 * the bzr fixtures, after count, the differential and --coverage.  Runs go
 * against `cat` (an echo peer: a response the case sends comes back as
 * the answer to expect), so that no server is needed.
 */
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

#define HEAD "case c.v.x\ntitle T\nref R\nlevel MUST\n"

static sw_cf_suite parse_ok(const char *text)
{
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	sw_cf_diag d;
	memset(&d, 0, sizeof d);
	if (sw_cf_parse(&s, text, strlen(text), "v.case", &d) != 0)
		fail_msg("line %d: %s", d.line, d.msg);
	return s;
}

static void parse_bad(const char *text, int line, const char *msg)
{
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	sw_cf_diag d;
	memset(&d, 0, sizeof d);
	int rc = sw_cf_parse(&s, text, strlen(text), "bad.case", &d);
	if (rc != SW_ERR_INVALID_ARGUMENT || d.line != line || !strstr(d.msg, msg))
		fail_msg("rc %d, line %d '%s'; want line %d '%s'", rc, d.line, d.msg, line, msg);
	assert_int_equal(s.n, 0);
	sw_cf_suite_fini(&s);
}

/* ---- parsing ------------------------------------------------------------- */

static void test_parse_new_directives(void **state)
{
	(void)state;
	sw_cf_suite s = parse_ok(
	    HEAD "fixture bzr-2a\nsend v3 request Branch.lock_write tagged/ '' ''\n"
	         "expect v3 response success ok * ''\ncapture btok arg 1\n"
	         "capture all arg 1 is \"{btok}\"\n"
	         "send v3 request Branch.unlock tagged/ {btok} '' int{3} ben{\"le\"}\n"
	         "expect v3 response * ... pack \":fmt\" revisions:* ... stream-error ...\n"
	         "or v2 response failed x lines a b\nor v3 response success starts \"ab\"\n"
	         "after count a/*.pack 2\n");
	const sw_cf_case *c = &s.cases[0];
	assert_string_equal(c->fixture_bzr, "2a");
	assert_true(c->fixture_empty);
	assert_int_equal(c->steps[1].ncaps, 2);
	assert_string_equal(c->steps[1].caps[0].name, "btok");
	assert_int_equal(c->steps[1].caps[0].src, SW_CF_CAP_ARG);
	assert_int_equal(c->steps[1].caps[0].index, 1);
	assert_non_null(c->steps[1].caps[1].is);
	const sw_cf_atom *a = &c->steps[3].alts[0].atoms[0];
	assert_true(a->any_status && a->has_pack && a->has_error);
	assert_int_equal(a->npack, 3);
	assert_true(c->steps[3].alts[1].atoms[0].has_lines);
	assert_non_null(c->steps[3].alts[2].atoms[0].starts);
	assert_int_equal(c->checks[0].kind, SW_CF_CHECK_COUNT);
	assert_int_equal(c->checks[0].count, 2);
	sw_cf_suite_fini(&s);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_bad(HEAD "send raw \"x\"\ncapture t arg 0\n", 6, "capture must follow an expect");
	parse_bad(HEAD "send raw \"x\"\nexpect raw \"x\"\ncapture Bad arg 0\n", 7,
	          "capture needs a name");
	parse_bad(HEAD "send raw \"x\"\nexpect raw \"x\"\ncapture root arg 0\n", 7,
	          "capture needs a name");
	parse_bad(HEAD "send raw \"x\"\nexpect raw \"x\"\ncapture t sideways 0\n", 7,
	          "capture needs NAME");
	parse_bad(HEAD "send raw \"x\"\nexpect raw \"x\"\ncapture t arg 0 item\n", 7,
	          "capture needs NAME");
	/* A variable is known only after the capture that declares it. */
	parse_bad(HEAD "send raw \"{tok}\"\n", 5, "{tok}: no such variable");
	parse_bad(HEAD "send v2 request a int{1}\n", 5, "need a v3 message");
	parse_bad(HEAD "send v3 request a int{x}\n", 5, "int{} needs a decimal integer");
	parse_bad(HEAD "send raw \"x\"\nexpect v1 response x pack a\n", 6, "pack is for the body");
	parse_bad(HEAD "send raw \"x\"\nexpect v3 response success x pack ... a\n", 6,
	          "'...' must be the last record");
	parse_bad(HEAD "send raw \"x\"\nexpect v3 response success x same as\n", 6,
	          "'same as reference'");
	parse_bad(HEAD "fixture bzr-\nsend raw \"x\"\n", 5, "fixture needs");
	parse_bad(HEAD "send raw \"x\"\nafter count a\n", 6, "after needs");
	/* {rev:NAME} waits for the fixture; other braces stay literal. */
	sw_cf_suite s = parse_ok(HEAD "send raw \"{rev:standalone.r1} {Not-a-var} {\"\n");
	sw_cf_suite_fini(&s);
}

/* ---- byte expressions ------------------------------------------------------ */

static void eval_eq(const char *expr, const sw_cf_ctx *ctx, const void *want, size_t n)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	sw_errinfo ei;
	if (sw_cf_eval(expr, ctx, &b, &ei) != 0)
		fail_msg("%s: %s", expr, ei.text);
	if (b.len != n || memcmp(b.data, want, n) != 0)
		fail_msg("%s: got %.*s", expr, (int)b.len, (const char *)b.data);
	sw_buf_fini(&b);
}

static void test_eval_helpers(void **state)
{
	(void)state;
	eval_eq("int{5}", NULL, "i5e", 3);
	eval_eq("int{-12}", NULL, "i-12e", 5);
	eval_eq("int{0}", NULL, "i0e", 3);
	eval_eq("ben{list{\"a\"}}", NULL, "l1:ae", 5);
	eval_eq("cat{\"d\" bstr{\"k\"} \"e\"}", NULL, "d1:ke", 5);
	/* Without a variable table every brace but {root}/{version} is text. */
	eval_eq("\"{tok}\"", NULL, "{tok}", 5);
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_cf_eval("int{05}", NULL, &b, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_buf_fini(&b);
}

/* ---- runs against an echo peer ------------------------------------------- */

static sw_cf_result run_opts(const char *text, sw_cf_opts *o)
{
	sw_cf_suite s = parse_ok(text);
	sw_cf_result r;
	assert_int_equal(sw_cf_run_case(&s.cases[0], o, &r), 0);
	r.c = NULL;
	sw_cf_suite_fini(&s);
	return r;
}

static void echo_opts(sw_cf_opts *o)
{
	sw_cf_opts_default(o);
	o->target = SW_CF_TARGET_PIPE;
	o->server_cmd = "cat";
	o->sweep = SW_CF_SWEEP_NONE;
	o->timeout_ms = 3000;
	if (getenv("SW_UNDER_VALGRIND"))
		o->timeout_scale = 5;
}

static sw_cf_result run(const char *text)
{
	sw_cf_opts o;
	echo_opts(&o);
	return run_opts(text, &o);
}

static void want_pass(sw_cf_result *r)
{
	if (r->outcome != SW_CF_OUT_PASS)
		fail_msg("outcome %d: %s", r->outcome, r->reason ? r->reason : "");
	sw_cf_result_fini(r);
}

static void want_fail(sw_cf_result *r, sw_cf_outcome out, const char *why)
{
	if (r->outcome != out || !r->reason || !strstr(r->reason, why))
		fail_msg("outcome %d, reason %s; want %d with '%s'", r->outcome,
		         r->reason ? r->reason : "(none)", out, why);
	sw_cf_result_fini(r);
}

static void test_captures(void **state)
{
	(void)state;
	/* A value captured from one answer goes into the next request and
	 * expectation; items descend into bencode; "is" checks. */
	sw_cf_result r = run(HEAD "send v3 response success ok tok123 \"l3:abcl1:xee\"\n"
	                          "expect v3 response success ok * *\n"
	                          "capture tok arg 1\ncapture inner arg 2 item 1 item 0\n"
	                          "capture whole arg 2 is \"l\" bstr{\"abc\"} \"l1:{inner}ee\"\n"
	                          "send v3 response success {tok} {inner} body \"a\\nb\\n\"\n"
	                          "expect v3 response success tok123 x body *\n"
	                          "capture second body-line 1\n"
	                          "send v3 response success {second} int{7} ben{\"le\"}\n"
	                          "expect v3 response success b int{7} ben{\"le\"}\n");
	want_pass(&r);
	r = run(HEAD "send v3 response success ok tok\nexpect v3 response success ok *\n"
	             "capture tok arg 1 is \"other\"\n");
	want_fail(&r, SW_CF_OUT_FAIL, "capture tok is \"tok\", not \"other\"");
	r = run(HEAD "send v3 response success ok\nexpect v3 response success ok\n"
	             "capture tok arg 3\n");
	want_fail(&r, SW_CF_OUT_FAIL, "capture tok: the message has no arg 3");
	/* An integer where bytes are expected does not match, nor the reverse. */
	r = run(HEAD "send v3 response success int{7}\nexpect v3 response success 7\n");
	want_fail(&r, SW_CF_OUT_FAIL, "ben{\"i7e\"}");
	/* Body parts captured one by one. */
	r = run(HEAD "send v3 response success ok body \"ab\" body \"cd\"\n"
	             "expect v3 response success ok body *\ncapture p1 body-part 1\n"
	             "send v3 response success {p1}\nexpect v3 response success cd\n");
	want_pass(&r);
}

static void test_body_expectations(void **state)
{
	(void)state;
	/* A pack container (the network stream shape), in parts. */
	sw_cf_result r = run(
	    HEAD
	    "send v3 response success ok body \"Bazaar pack format 1 (introduced in 0.18)\\n\" "
	    "body \"B4\\n\\nfmt\\n\" body \"B13\\nrevisions\\n\\ngroupcompress\" "
	    "body \"B2\\na\\x00b\\nc\\n\\nxyE\"\n"
	    "expect v3 response success ok pack \":fmt\" revisions:groupcompress \"a\\0b,c:xy\"\n");
	want_pass(&r);
	r = run(HEAD
	        "send v3 response success ok body \"Bazaar pack format 1 (introduced in 0.18)\\n"
	        "B4\\n\\nfmt\\nE\"\nexpect v3 response success ok pack \":other\"\n");
	want_fail(&r, SW_CF_OUT_FAIL, "records [\":fmt\"]");
	r = run(HEAD
	        "send v3 response success ok body \"Bazaar pack format 1 (introduced in 0.18)\\n"
	        "B4\\n\\nfmt\\n\" stream-error E x\n"
	        "expect v3 response success ok pack \":fmt\" stream-error E x\n");
	want_pass(&r);
	r = run(HEAD "send v3 response success ok body \"not a pack\"\n"
	             "expect v3 response success ok pack ...\n");
	want_fail(&r, SW_CF_OUT_FAIL, "not a pack container");
	r = run(HEAD "send v3 response success ok body \"b\\nc\\na\"\n"
	             "expect v3 response success ok lines a b c\n");
	want_pass(&r);
	r = run(HEAD "send v3 response success ok body \"b\\nc\"\n"
	             "expect v3 response success ok lines a b\n");
	want_fail(&r, SW_CF_OUT_FAIL, "sorted [\"b\", \"c\"]");
	r = run(HEAD "send v3 response success ok body \"# header\\nrest\"\n"
	             "expect v3 response * ok starts \"# header\\n\"\n");
	want_pass(&r);
	r = run(HEAD "send v2 response success ok chunks \"a\" \"b\"\n"
	             "expect v2 response success ok chunks *\n");
	want_pass(&r);
}

static void test_unknown_method_rule(void **state)
{
	(void)state;
	/* A wildcard error does not take "unknown method": unimplemented. */
	sw_cf_result r = run(HEAD "send v3 response error UnknownMethod Branch.x\n"
	                          "expect v3 response error ...\n");
	want_fail(&r, SW_CF_OUT_UNIMPLEMENTED, "UnknownMethod");
	r = run(HEAD "send v3 response error UnknownMethod Branch.x\n"
	             "expect v3 response error UnknownMethod *\n");
	want_pass(&r);
	/* In v1/v2 only in a case with a bzr fixture (the file-level cases
	 * expect the "bad request" text with wildcards). */
	r = run(HEAD "send v2 response failed error \"Generic bzr smart protocol error: "
	             "bad request 'x'\"\nexpect v2 response failed error *\n");
	want_pass(&r);
	/* Under a raw expectation too. */
	r = run(HEAD "send v3 response error UnknownMethod Branch.x\n"
	             "expect raw $v3 $hdr \"oS\" spart{list{\"ok\"}} \"e\"\n");
	want_fail(&r, SW_CF_OUT_UNIMPLEMENTED, "raw");
}

static void test_bzr_fixture(void **state)
{
	(void)state;
	const char *src = getenv("SW_SOURCE_DIR");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/conformance/fixtures", src ? src : ".");
	sw_cf_opts o;
	echo_opts(&o);
	o.fixtures_dir = dir;
	static const char text[] =
	    HEAD "fixture bzr-2a\nfile standalone/.bzr/control.conf \"{rev:standalone.r1}\"\n"
	         "send v3 response success {rev:standalone.r3}\n"
	         "expect v3 response success test@example.com-20260101000003-ddlapkq1l33fxqcg\n"
	         "after file standalone/.bzr/branch/last-revision \"3 {rev:standalone.r3}\\n\"\n"
	         "after file light/.bzr/branch/location \"file://{root}/standalone/\"\n"
	         "after dir standalone/.bzr/branch/lock\n"
	         "after count standalone/.bzr/repository/packs/*.pack 3\n"
	         "after file standalone/.bzr/control.conf "
	         "\"test@example.com-20260101000001-eecx6703j2jqywm8\"\n";
	sw_cf_result r = run_opts(text, &o);
	want_pass(&r);
	/* Read once, laid again: the second run sees the same tree. */
	r = run_opts(text, &o);
	want_pass(&r);
	r = run_opts(HEAD "fixture bzr-2a\nsend v3 response success {rev:nope}\n"
	                  "expect v3 response success x\n",
	             &o);
	want_fail(&r, SW_CF_OUT_FAIL, "no such revision");
	r = run_opts(HEAD "fixture bzr-nosuch\nsend raw \"x\"\nexpect raw \"x\"\n", &o);
	want_fail(&r, SW_CF_OUT_FAIL, "fixture bzr-nosuch");
	o.fixtures_dir = NULL;
	r = run_opts(HEAD "fixture bzr-2a\nsend raw \"x\"\nexpect raw \"x\"\n", &o);
	want_fail(&r, SW_CF_OUT_FAIL, "--fixtures");
	sw_cf_release();
}

static void test_differential(void **state)
{
	(void)state;
	sw_cf_opts o;
	echo_opts(&o);
	o.reference_kind = SW_CF_TARGET_PIPE;
	o.reference_cmd = "cat";
	o.differential = true;
	/* The same peer: no difference, and the reference's transcript. */
	sw_cf_result r = run_opts(HEAD "send v3 response success ok {root} body \"x\"\n"
	                               "expect v3 response success ok * body *\n",
	                          &o);
	assert_true(r.has_reference);
	assert_true(r.ref_nevents >= 2);
	assert_null(r.difference);
	want_pass(&r);
	/* A reference that answers otherwise: the first difference fails. */
	o.reference_cmd = "stdbuf -o0 tr x y";
	r = run_opts(HEAD "send v3 response success ok body \"x\\n\"\n"
	                  "expect v3 response success ok body *\n",
	             &o);
	assert_non_null(r.difference);
	want_fail(&r, SW_CF_OUT_FAIL, "differs from the reference");
	/* Only atoms marked "same as reference" without --differential. */
	o.differential = false;
	r = run_opts(HEAD "send v3 response success ok body \"x\\n\"\n"
	                  "expect v3 response success ok body *\n",
	             &o);
	want_pass(&r);
	r = run_opts(HEAD "send v3 response success ok body \"x\\n\"\n"
	                  "expect v3 response success ok same as reference\n",
	             &o);
	want_fail(&r, SW_CF_OUT_FAIL, "differs from the reference");
	/* Without a reference such a case is skipped, never passed. */
	echo_opts(&o);
	r = run_opts(HEAD "send v3 response success ok\n"
	                  "expect v3 response success ok same as reference\n",
	             &o);
	want_fail(&r, SW_CF_OUT_SKIP, "--reference-cmd");
}

static void test_coverage(void **state)
{
	(void)state;
	sw_cf_suite s = parse_ok(
	    "case a.b.c\ntitle T\nref R\nlevel MUST\nsend v3 request Verb.one x\n"
	    "expect v3 response success ok pack ...\n"
	    "case a.b.d\ntitle T\nref R\nlevel MUST\nsend v2 request Verb.one y\n"
	    "send raw $v3 $hdr0 spart{list{\"Verb.two\"}} \"e\"\nsend raw \"Verb.three\\n\"\n");
	static const char verbs[] = "# list\nVerb.one read\nVerb.two semi\nVerb.none idem\n";
	FILE *f = tmpfile();
	assert_int_equal(sw_cf_coverage(f, &s, verbs, sizeof verbs - 1), 1);
	fflush(f);
	rewind(f);
	char text[4096];
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	assert_non_null(strstr(text, "Verb.one"));
	assert_non_null(strstr(text, "Verb.none"));
	assert_non_null(strstr(text, "NO CASE"));
	assert_non_null(strstr(text,
	                       "3 verbs: 2 with cases (v1 0, v2 1, v3 2), 1 with stream cases, "
	                       "1 without any case"));
	/* A raw line that is no listed verb is not counted as one. */
	assert_null(strstr(text, "Verb.three"));
	sw_cf_suite_fini(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_new_directives),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_eval_helpers),
	    cmocka_unit_test(test_captures),
	    cmocka_unit_test(test_body_expectations),
	    cmocka_unit_test(test_unknown_method_rule),
	    cmocka_unit_test(test_bzr_fixture),
	    cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_coverage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
