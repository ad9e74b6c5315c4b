/* Tests for the pack container decoder (smartwire/pack.h) against Breezy's
 * ContainerPushParser readings and read_size_hint sequences
 * (tests/vectors/gen_pack.py), whole, byte by byte, split at every offset,
 * with every allocation failed; then the documented departures, the limits,
 * the error contract and the callbacks by hand.  The encoders are tested in
 * test_pack_encode.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/format.h"
#include "smartwire/pack.h"
#include "smartwire/sha256.h"
#include "support/harness.h"
#include "pack_vec.h"

/* ---- Breezy's vectors ---------------------------------------------------- */

static void test_vectors(void **state)
{
	(void)state;
	size_t most = 0;
	for (size_t i = 0; i < N(pack_vecs); i++) {
		const struct pack_vec *v = &pack_vecs[i];
		print_message("  %s\n", v->name);
		sw_t_check_vector(&pack_codec, NULL, (const uint8_t *)v->input, v->len, v->trace);
		size_t sites = sw_t_check_failmem(&pack_codec, NULL, (const uint8_t *)v->input,
		                                  v->len, v->trace);
		most = sites > most ? sites : most;
	}
	/* The decoder, the names (grown) and their view were each failed. */
	assert_true(most >= 3);
}

/* The generator's "16384*3 0" as "16384 16384 16384 0" (malloc'd). */
static char *expand(const char *rle)
{
	sw_buf out;
	sw_buf_init(&out, NULL);
	for (const char *p = rle; *p;) {
		char *end;
		uint64_t v = strtoull(p, &end, 10), n = 1;
		if (*end == '*')
			n = strtoull(end + 1, &end, 10);
		for (uint64_t k = 0; k < n; k++) {
			sw_buf_append_str(&out, out.len ? " " : "");
			sw_buf_append_u64(&out, v);
		}
		p = *end ? end + 1 : end;
	}
	sw_buf_append_byte(&out, 0);
	return (char *)out.data;
}

/* next_read_size after creation and after every piece must be Breezy's
 * read_size_hint() (finished: 0). */
static void test_next_read_size(void **state)
{
	(void)state;
	size_t checked = 0;
	for (size_t i = 0; i < N(pack_vecs); i++) {
		const struct pack_vec *v = &pack_vecs[i];
		if (!v->nrs)
			continue;
		size_t *cuts = malloc((v->len + 1) * sizeof *cuts);
		assert_non_null(cuts);
		size_t ncuts = 0;
		for (size_t at = 1; at <= v->bytewise && at < v->len; at++)
			cuts[ncuts++] = at;
		for (size_t at = v->bytewise + v->step; at < v->len; at += v->step)
			cuts[ncuts++] = at;
		sw_buf nrs;
		sw_buf_init(&nrs, NULL);
		char *t = sw_t_run(&pack_codec, NULL, (const uint8_t *)v->input, v->len, cuts,
		                   ncuts, NULL, &nrs);
		sw_buf_append_byte(&nrs, 0);
		char *want = expand(v->nrs);
		if (strcmp((char *)nrs.data, want) != 0)
			fail_msg("%s: next_read_size\n  expected %s\n  actual   %s", v->name, want,
			         (char *)nrs.data);
		free(want);
		free(t);
		free(cuts);
		sw_buf_fini(&nrs);
		checked++;
	}
	assert_true(checked > 100);
}

/* ---- Departures and limits, by hand ------------------------------------- */

static void check(const char *in, size_t len, const sw_pack_config *cfg, const char *trace)
{
	sw_t_check_vector(&pack_codec, cfg, (const uint8_t *)in, len, trace);
	sw_t_check_failmem(&pack_codec, cfg, (const uint8_t *)in, len, trace);
}
#define CHECK(s, cfg, t) check(s, sizeof(s) - 1, cfg, t)

static char *repeat(const char *pre, char c, size_t n, const char *post)
{
	size_t a = strlen(pre), b = strlen(post);
	char *s = malloc(a + n + b + 1);
	assert_non_null(s);
	memcpy(s, pre, a);
	memset(s + a, c, n);
	memcpy(s + a + n, post, b + 1);
	return s;
}

static void check_str(char *in, const sw_pack_config *cfg, const char *trace)
{
	check(in, strlen(in), cfg, trace);
	free(in);
}

/* Where Breezy's result is undefined, depends on the cut, or would only
 * come later (pack.h, docs/departures.md). */
static void test_departures(void **state)
{
	(void)state;
	/* Negative lengths: Breezy takes all but the last |n| bytes it has
	 * buffered as the body, so its reading depends on the cut. */
	CHECK(HDR "B-3\n\nabcdefE", NULL, "error SW_ERR_PACK_BAD_LENGTH\n");
	CHECK(HDR "B-1\n", NULL, "error SW_ERR_PACK_BAD_LENGTH\n");
	/* Errors at the first byte that makes them certain; Breezy waits for
	 * the end of the line. */
	CHECK("Bazaar pack fX", NULL, "error SW_ERR_PACK_BAD_FORMAT\n");
	CHECK("Bazaar pack format 1 (introduced in 0.18)X", NULL, "error SW_ERR_PACK_BAD_FORMAT\n");
	CHECK("X", NULL, "error SW_ERR_PACK_BAD_FORMAT\n");
	CHECK(HDR "B3\nab c", NULL, "error SW_ERR_PACK_BAD_NAME\n");
	CHECK(HDR "B3\nok\nab\r", NULL, "error SW_ERR_PACK_BAD_NAME\n");
	/* Lengths Breezy would wait for. */
	CHECK(HDR "B18446744073709551616\n", NULL, "error SW_ERR_PACK_RECORD_TOO_LARGE\n");
	CHECK(HDR "B4294967297\n", NULL, "error SW_ERR_PACK_RECORD_TOO_LARGE\n");
	CHECK(HDR "B4294967296\n\nab", NULL, "error SW_ERR_UNEXPECTED_EOF\n");
	/* A truncated stream: Breezy's network code accepts it silently. */
	CHECK(HDR "B3\n\nabc", NULL, "record [] \"abc\"\nerror SW_ERR_UNEXPECTED_EOF\n");
}

static void test_limits(void **state)
{
	(void)state;
	/* The length line: 64 bytes by default, its "\n" included. */
	check_str(repeat(HDR "B", '0', 62, "3\n\nabcE"), NULL, "record [] \"abc\"\nend\n");
	check_str(repeat(HDR "B", '0', 63, "3\n\nabcE"), NULL, "error SW_ERR_LINE_TOO_LONG\n");
	sw_pack_config len4 = {.max_length_line = 4};
	CHECK(HDR "B123\n", &len4, "error SW_ERR_UNEXPECTED_EOF\n");
	CHECK(HDR "B1234\n", &len4, "error SW_ERR_LINE_TOO_LONG\n");
	/* A name line: 4096 bytes by default. */
	char *want = repeat("record [[\"", 'n', 4095, "\"]] \"x\"\nend\n");
	check_str(repeat(HDR "B1\n", 'n', 4095, "\n\nxE"), NULL, want);
	free(want);
	check_str(repeat(HDR "B1\n", 'n', 4096, "\n\nxE"), NULL,
	          "error SW_ERR_PACK_NAME_TOO_LONG\n");
	sw_pack_config name8 = {.max_name_line = 8};
	CHECK(HDR "B1\n1234567\n\nxE", &name8, "record [[\"1234567\"]] \"x\"\nend\n");
	CHECK(HDR "B1\n123\x00"
	          "567\n\nxE",
	      &name8, "record [[\"123\", \"567\"]] \"x\"\nend\n");
	CHECK(HDR "B1\n12345678\n\nxE", &name8, "error SW_ERR_PACK_NAME_TOO_LONG\n");
	/* Both wrong: the error of the earlier byte, whatever the cut. */
	CHECK(HDR "B1\n1 345678\n", &name8, "error SW_ERR_PACK_BAD_NAME\n");
	CHECK(HDR "B1\n1234567 \n", &name8, "error SW_ERR_PACK_NAME_TOO_LONG\n");
	/* Names per record: 64 by default (a generated vector has 64). */
	sw_pack_config two = {.max_names = 2};
	CHECK(HDR "B1\na\nb\n\nxE", &two, "record [[\"a\"], [\"b\"]] \"x\"\nend\n");
	CHECK(HDR "B1\na\nb\nc", &two, "error SW_ERR_PACK_TOO_MANY_NAMES\n");
	CHECK(HDR "B1\na\nb\n\nxB0\nc\nd\n\nE", &two,
	      "record [[\"a\"], [\"b\"]] \"x\"\nrecord [[\"c\"], [\"d\"]] \"\"\nend\n");
	sw_buf many;
	sw_buf_init(&many, NULL);
	sw_buf_append_str(&many, HDR "B0\n");
	for (int i = 0; i < 65; i++)
		sw_buf_append_str(&many, "n\n");
	check((const char *)many.data, many.len, NULL, "error SW_ERR_PACK_TOO_MANY_NAMES\n");
	sw_buf_fini(&many);
	/* Record length. */
	sw_pack_config rec16 = {.max_record = 16};
	CHECK(HDR "B16\n\n0123456789abcdefE", &rec16, "record [] \"0123456789abcdef\"\nend\n");
	CHECK(HDR "B17\n", &rec16, "error SW_ERR_PACK_RECORD_TOO_LARGE\n");
}

/* ---- The error contract, reset, callbacks ------------------------------- */

static void test_contract(void **state)
{
	(void)state;
	assert_int_equal(sw_pack_dec_new(NULL, NULL, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_pack_dec *dec = (sw_pack_dec *)&dec;
	sw_pack_config huge = {.max_name_line = SIZE_MAX / 2, .max_names = 4};
	assert_int_equal(sw_pack_dec_new(&dec, &huge, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_null(dec);
	huge = (sw_pack_config){.max_length_line = SIZE_MAX};
	assert_int_equal(sw_pack_dec_new(&dec, &huge, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_pack_dec_del(NULL);

	/* No callbacks at all; excess stays with the caller. */
	assert_int_equal(sw_pack_dec_new(&dec, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_pack_dec_next_read_size(dec), SW_PACK_READ_SIZE_HINT);
	assert_int_equal(sw_pack_dec_feed(dec, NULL, 0), 0);
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "B2\nk\n\nhiEnext")), 51);
	assert_true(sw_pack_dec_done(dec));
	assert_int_equal(sw_pack_dec_next_read_size(dec), 0);
	assert_int_equal(sw_pack_dec_feed(dec, S("next")), 0);
	assert_int_equal(sw_pack_dec_finish(dec), 0);
	assert_int_equal(sw_pack_dec_finish(dec), 0);
	/* Reset: the next container. */
	sw_pack_dec_reset(dec);
	assert_false(sw_pack_dec_done(dec));
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "B20000\n\n")), 50);
	assert_int_equal(sw_pack_dec_next_read_size(dec), 20000);
	assert_int_equal(sw_pack_dec_feed(dec, S("xyz")), 3);
	assert_int_equal(sw_pack_dec_next_read_size(dec), 19997);
	/* EOF mid-record: sticky, and nothing more is read. */
	assert_int_equal(sw_pack_dec_finish(dec), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_pack_dec_error(dec), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_pack_dec_feed(dec, S("xyz")), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_pack_dec_next_read_size(dec), 0);
	/* A decode error is sticky too; reset clears it. */
	sw_pack_dec_reset(dec);
	assert_int_equal(sw_pack_dec_error(dec), 0);
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "Q")), SW_ERR_PACK_BAD_RECORD_TYPE);
	assert_int_equal(sw_pack_dec_feed(dec, S("E")), SW_ERR_PACK_BAD_RECORD_TYPE);
	assert_int_equal(sw_pack_dec_finish(dec), SW_ERR_PACK_BAD_RECORD_TYPE);
	assert_false(sw_pack_dec_done(dec));
	assert_int_equal(sw_pack_dec_next_read_size(dec), 0);
	sw_pack_dec_reset(dec);
	assert_int_equal(sw_pack_dec_feed(dec, S(HDR "E")), 43);
	assert_true(sw_pack_dec_done(dec));
	sw_pack_dec_del(dec);
	/* A second record reuses the name staging of the first. */
	CHECK(HDR "B1\nabcdefghij\x00k\nl\n\nxB1\nm\n\nyE", NULL,
	      "record [[\"abcdefghij\", \"k\"], [\"l\"]] \"x\"\nrecord [[\"m\"]] \"y\"\nend\n");
}

static int stop_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	(void)length, (void)names, (void)nnames;
	return ++*(int *)ud;
}

/* Every callback can abort, each after exactly one call; the error is
 * sticky and reset clears it. */
static void test_every_callback_aborts(void **state)
{
	(void)state;
	static const char in[] = HDR "B1\na\n\nxE";
	for (int k = 0; k < 4; k++) {
		sw_pack_callbacks cb = {k == 0 ? stop_begin : NULL, k == 1 ? sw_t_stop_data : NULL,
		                        k == 2 ? sw_t_stop_event : NULL,
		                        k == 3 ? sw_t_stop_event : NULL};
		int calls = 0;
		sw_pack_dec *dec;
		assert_int_equal(sw_pack_dec_new(&dec, NULL, &cb, &calls, NULL), 0);
		assert_int_equal(sw_pack_dec_feed(dec, S(in)), SW_ERR_CALLBACK);
		assert_int_equal(sw_pack_dec_feed(dec, S(in)), SW_ERR_CALLBACK);
		assert_int_equal(sw_pack_dec_finish(dec), SW_ERR_CALLBACK);
		assert_int_equal(calls, 1);
		assert_false(sw_pack_dec_done(dec));
		sw_pack_dec_reset(dec);
		/* The body's short path aborts too. */
		if (k == 1) {
			assert_int_equal(sw_pack_dec_feed(dec, S(HDR "B3\n\n")), 46);
			assert_int_equal(sw_pack_dec_feed(dec, S("ab")), SW_ERR_CALLBACK);
			assert_int_equal(calls, 2);
		}
		sw_pack_dec_del(dec);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),    cmocka_unit_test(test_next_read_size),
	    cmocka_unit_test(test_departures), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_contract),   cmocka_unit_test(test_every_callback_aborts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
