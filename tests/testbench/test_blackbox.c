/*
 * Tests of the black-box fuzzer (testbench/blackbox/): the wire model on
 * Breezy's own traffic (corpus/sessions: every request and every response
 * is cut where Breezy's decoders cut it), determinism per seed, the byte
 * operators on every seed, case files the runner's parser accepts, and
 * sessions against the embedded reference server that find nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "blackbox/blackbox.h"
#include "conform/conform.h"
#include "smartwire/error.h"

static const char *src_dir(void)
{
	const char *s = getenv("SW_SOURCE_DIR");
	return s ? s : ".";
}

static uint8_t *slurp(const char *rel, size_t *n)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", src_dir(), rel);
	FILE *f = fopen(p, "rb");
	if (!f)
		fail_msg("cannot read %s (set SW_SOURCE_DIR)", p);
	uint8_t *b = malloc(1 << 20);
	assert_non_null(b);
	*n = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

static void free_req(sw_bb_req *r)
{
	sw_bb_session t = {.n = 1};
	t.v[0] = *r;
	sw_bb_session_free(&t);
}

/* A real session: requests then responses, cut where Breezy cut them, and
 * cut the same when they arrive a byte at a time. */
static void check_session(const char *req, const char *resp, size_t want)
{
	size_t nq, ns;
	uint8_t *q = slurp(req, &nq), *s = slurp(resp, &ns);
	size_t qo = 0, so = 0, count = 0;
	while (qo < nq) {
		size_t len = 0;
		sw_bb_req r;
		assert_int_equal(sw_bb_cut_request(q + qo, nq - qo, true, &len, &r), SW_BB_DONE);
		assert_true(len > 0);
		assert_true(r.nargs >= 1);
		char verb[64];
		sw_bb_req_verb(&r, verb, sizeof verb);
		/* The partial-read invariant: the bytes of a request arriving
		 * one at a time (every prefix: the cutter is handed what has
		 * arrived so far) are never complete, nor bad, before its last
		 * byte, and then complete with the same length and verb. */
		for (size_t k = 0; k <= len; k++) {
			size_t l2 = 0;
			sw_bb_req r2;
			sw_bb_cut c = sw_bb_cut_request(q + qo, k, false, &l2, k == len ? &r2 : NULL);
			if (k < len) {
				if (c != SW_BB_NEED)
					fail_msg("%s: request %zu complete or bad after %zu of its %zu bytes",
					         req, count, k, len);
				continue;
			}
			assert_int_equal(c, SW_BB_DONE);
			assert_int_equal(l2, len);
			char verb2[64];
			sw_bb_req_verb(&r2, verb2, sizeof verb2);
			assert_string_equal(verb2, verb);
			free_req(&r2);
		}
		sw_bb_answer cls;
		char args[256];
		size_t rl = 0;
		assert_int_equal(sw_bb_cut_response(s + so, ns - so, r.version, verb, so + 1 < ns,
		                                    &rl, &cls, args, sizeof args, -1, NULL),
		                 SW_BB_DONE);
		assert_true(cls != SW_BB_ANS_BAD);
		/* The same for its answer, more bytes still to come: incomplete
		 * before its last byte, then the same cut and class once the
		 * next byte (or the end of the stream) decides. */
		for (size_t k = 0; k < rl; k++) {
			size_t l3 = 0;
			sw_bb_answer c3;
			if (sw_bb_cut_response(s + so, k, r.version, verb, true, &l3, &c3, NULL, 0, -1,
			                       NULL) != SW_BB_NEED)
				fail_msg("%s: answer %zu complete or bad after %zu of its %zu bytes", resp,
				         count, k, rl);
		}
		size_t l4 = 0;
		sw_bb_answer c4;
		bool last = so + rl == ns;
		assert_int_equal(sw_bb_cut_response(s + so, last ? rl : rl + 1, r.version, verb, !last,
		                                    &l4, &c4, NULL, 0, -1, NULL),
		                 SW_BB_DONE);
		assert_int_equal(l4, rl);
		assert_int_equal(c4, cls);
		so += rl;
		qo += len;
		count++;
		free_req(&r);
	}
	assert_int_equal(so, ns);
	assert_int_equal(count, want);
	free(q);
	free(s);
}

static void test_wire_breezy_sessions(void **state)
{
	(void)state;
	check_session("corpus/sessions/v3-readonly.req", "corpus/sessions/v3-readonly.resp", 6);
	check_session("corpus/sessions/mixed-readonly.req", "corpus/sessions/mixed-readonly.resp",
	              18);
	check_session("corpus/sessions/v3-writes.req", "corpus/sessions/v3-writes.resp", 10);
}

static void test_wire_bad(void **state)
{
	(void)state;
	size_t len;
	sw_bb_answer cls;
	char args[64];
	/* v3 headers that are not a dict: a request a server must reject */
	static const uint8_t notdict[] = "bzr message 3 (bzr 1.6)\n\0\0\0\x02le";
	assert_int_equal(sw_bb_cut_request(notdict, sizeof notdict - 1, false, &len, NULL),
	                 SW_BB_BAD);
	/* a 4 GiB header length is rejected by our limits, not waited for */
	static const uint8_t huge[] = "bzr message 3 (bzr 1.6)\n\xff\xff\xff\xff";
	assert_int_equal(sw_bb_cut_request(huge, sizeof huge - 1, false, &len, NULL), SW_BB_BAD);
	/* a v2 answer cut after its status is malformed once the stream ends */
	static const uint8_t cut[] = "bzr response 2\nfailed\n";
	assert_int_equal(sw_bb_cut_response(cut, sizeof cut - 1, 2, "get", false, &len, &cls, args,
	                                    sizeof args, -1, NULL),
	                 SW_BB_BAD);
	assert_int_equal(sw_bb_cut_response(cut, sizeof cut - 1, 2, "get", true, &len, &cls, args,
	                                    sizeof args, -1, NULL),
	                 SW_BB_NEED);
	/* a v1 error to get has no body; an ok waits for one */
	static const uint8_t nsf[] = "NoSuchFile\x01/x\n";
	assert_int_equal(sw_bb_cut_response(nsf, sizeof nsf - 1, 1, "get", true, &len, &cls, args,
	                                    sizeof args, -1, NULL),
	                 SW_BB_DONE);
	static const uint8_t ok[] = "ok\n";
	assert_int_equal(
	    sw_bb_cut_response(ok, 3, 1, "get", true, &len, &cls, args, sizeof args, -1, NULL),
	    SW_BB_NEED);
	static const uint8_t okb[] = "ok\n3\nabcdone\n";
	assert_int_equal(sw_bb_cut_response(okb, sizeof okb - 1, 1, "get", true, &len, &cls, args,
	                                    sizeof args, -1, NULL),
	                 SW_BB_DONE);
	assert_int_equal(len, sizeof okb - 1);
	assert_int_equal(cls, SW_BB_ANS_SUCCESS);
	char key[32];
	sw_bb_verb_key("get", key, sizeof key);
	assert_string_equal(key, "get");
	sw_bb_verb_key("caf__", key, sizeof key);
	assert_string_equal(key, "(odd-bytes)");
	sw_bb_verb_key("nosuchverb", key, sizeof key);
	assert_string_equal(key, "(unknown)");
}

static sw_bb_seeds *seeds(void)
{
	char corpus[4096], cases[4096];
	snprintf(corpus, sizeof corpus, "%s/corpus", src_dir());
	snprintf(cases, sizeof cases, "%s/conformance/cases", src_dir());
	sw_bb_seeds *S = NULL;
	assert_int_equal(sw_bb_seeds_load(&S, corpus, cases, NULL), 0);
	assert_true(sw_bb_seeds_count(S) > 100);
	return S;
}

static void encode_all(const sw_bb_session *s, sw_buf *out)
{
	sw_buf e;
	sw_buf_init(&e, NULL);
	out->len = 0;
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(sw_bb_encode(&s->v[i], NULL, &e), 0);
		sw_buf_append(out, e.data, e.len);
		sw_buf_append_byte(out, s->v[i].shape);
	}
	sw_buf_fini(&e);
}

static void test_deterministic(void **state)
{
	(void)state;
	sw_bb_seeds *S = seeds();
	sw_buf a, b;
	sw_buf_init(&a, NULL);
	sw_buf_init(&b, NULL);
	size_t differ = 0;
	uint32_t ops = 0;
	for (uint64_t run = 0; run < 400; run++) {
		sw_bb_session s1, s2, s3;
		assert_int_equal(sw_bb_generate(S, 7, run, &s1), 0);
		assert_int_equal(sw_bb_generate(S, 7, run, &s2), 0);
		assert_int_equal(sw_bb_generate(S, 8, run, &s3), 0);
		assert_true(s1.n >= 1 && s1.n <= SW_BB_MAX_REQS);
		encode_all(&s1, &a);
		encode_all(&s2, &b);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		encode_all(&s3, &b);
		differ += a.len != b.len || memcmp(a.data, b.data, a.len) != 0;
		ops |= s1.ops_used;
		sw_bb_session_free(&s1);
		sw_bb_session_free(&s2);
		sw_bb_session_free(&s3);
	}
	assert_true(differ > 300);                    /* another seed, other sessions */
	assert_int_equal(ops, (1u << SW_BB_NOP) - 1); /* every operator is used */
	sw_buf_fini(&a);
	sw_buf_fini(&b);
	sw_bb_seeds_del(S);
}

static sw_bb_opts embedded_opts(void)
{
	sw_bb_opts o;
	memset(&o, 0, sizeof o);
	sw_cf_opts_default(&o.cf);
	o.cf.target = SW_CF_TARGET_EMBEDDED;
	static char fx[4096];
	snprintf(fx, sizeof fx, "%s/conformance/fixtures", src_dir());
	o.cf.fixtures_dir = fx;
	o.hang_ms = getenv("SW_UNDER_VALGRIND") ? 20000 : 3000;
	return o;
}

/* The reference server, in-process: nothing to find. */
static void test_embedded_finds_nothing(void **state)
{
	(void)state;
	sw_bb_seeds *S = seeds();
	sw_bb_opts o = embedded_opts();
	uint64_t runs = getenv("SW_UNDER_VALGRIND") ? 6 : 60;
	size_t answered = 0;
	for (uint64_t run = 0; run < runs; run++) {
		sw_bb_session s;
		assert_int_equal(sw_bb_generate(S, 1, run, &s), 0);
		sw_bb_outcome out;
		assert_int_equal(sw_bb_exec(&o, &s, &out), 0);
		if (out.found || out.infra)
			fail_msg("run %llu: %s: %s", (unsigned long long)run,
			         out.infra ? "infra" : sw_bb_class_name(out.cls), out.detail);
		answered += out.nans;
		sw_bb_outcome_fini(&out);
		sw_bb_session_free(&s);
	}
	assert_true(answered >= runs); /* requests were answered, not skipped */
	sw_bb_seeds_del(S);
	sw_cf_release();
}

/* Every class's case file parses with the runner's parser. */
static void test_case_files_parse(void **state)
{
	(void)state;
	sw_bb_seeds *S = seeds();
	char dir[] = "/tmp/sw-bb-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	for (int cls = 0; cls < SW_BB_NCLASS; cls++) {
		sw_bb_session s;
		assert_int_equal(sw_bb_generate(S, 3, (uint64_t)cls * 17, &s), 0);
		sw_bb_outcome out;
		memset(&out, 0, sizeof out);
		sw_buf_init(&out.tx, NULL);
		sw_buf_init(&out.rx, NULL);
		sw_buf_append_str(&out.tx, "bzr message 3 (bzr 1.6)\n{root} \"x\"\x01\xff");
		out.found = true;
		out.cls = (sw_bb_class)cls;
		out.at = s.n - 1;
		out.version = 3;
		snprintf(out.verb, sizeof out.verb, "get");
		out.detail = strdup("a \"detail\"\nwith {braces} # and a hash");
		char name[64], path[4200];
		snprintf(name, sizeof name, "class%d", cls);
		if (cls == SW_BB_CLIENT)
			assert_int_equal(sw_bb_write_client_case(dir, name, &out, 3, 1), 0);
		else
			assert_int_equal(
			    sw_bb_write_case(dir, name, &s, &out, 3, (uint64_t)cls * 17), 0);
		snprintf(path, sizeof path, "%s/%s.case", dir, name);
		sw_cf_suite suite;
		sw_cf_suite_init(&suite);
		sw_cf_diag d;
		int rc = sw_cf_load(&suite, path, &d);
		if (rc != 0)
			fail_msg("%s:%d: %s", d.file, d.line, d.msg);
		assert_int_equal(suite.n, 1);
		assert_true(suite.cases[0].nsteps >= 2);
		sw_cf_suite_fini(&suite);
		unlink(path);
		snprintf(path, sizeof path, "%s/%s.session", dir, name);
		unlink(path);
		sw_bb_outcome_fini(&out);
		sw_bb_session_free(&s);
	}
	rmdir(dir);
	sw_bb_seeds_del(S);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wire_breezy_sessions),   cmocka_unit_test(test_wire_bad),
	    cmocka_unit_test(test_deterministic),          cmocka_unit_test(test_case_files_parse),
	    cmocka_unit_test(test_embedded_finds_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
