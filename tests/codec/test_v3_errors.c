/* Tests for the protocol v3 decoder's errors (smartwire/v3.h): every
 * malformed-input class gives its own exact code; after a failure the
 * decoder says what it was reading (the part, a bad kind byte, the payload
 * of a header or structure that is not bencode, fed whole, at every cut
 * and one byte at a time), which the server's error texts quote; length
 * prefixes over the limits fail before any allocation; the bencode limits
 * apply to headers and structures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/v3.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define M SW_V3_MARKER
#define E                                                                                          \
	"\0\0\0\x02"                                                                               \
	"de"

/* Decodes `in` in one feed with the default config (plus the marker flag)
 * and returns the feed's result. */
static ptrdiff_t decode_once(const void *in, size_t len, const sw_v3_config *cfg)
{
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, cfg, NULL, NULL, NULL), 0);
	ptrdiff_t r = sw_v3_dec_feed(dec, in, len);
	if (r >= 0 && !sw_v3_dec_done(dec))
		r = sw_v3_dec_finish(dec);
	sw_v3_dec_del(dec);
	return r;
}

/* Every malformed-input class gives its own exact code. */
static void test_error_codes(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		int code;
	} cases[] = {
#define C(lit, code) {lit, sizeof(lit) - 1, code}
	    C("X", SW_ERR_BAD_MARKER),
	    C("bzr message 2", SW_ERR_BAD_MARKER),
	    C("bzr response 2\nsuccess\n", SW_ERR_BAD_MARKER),
	    C("bzr message 3 (bzr 1.6)\r", SW_ERR_BAD_MARKER),
	    C(M "\0\0\0\x02xx", SW_ERR_BENCODE_SYNTAX),
	    C(M "\0\0\0\x02le"
	        "e",
	      SW_ERR_HEADER_NOT_DICT),
	    C(M "\0\0\0\x03i1e"
	        "e",
	      SW_ERR_HEADER_NOT_DICT),
	    C(M "\0\0\0\x03"
	        "dex",
	      SW_ERR_BENCODE_JUNK),
	    C(M "\0\0\0\x0c"
	        "d1:b0:1:a0:e",
	      SW_ERR_BENCODE_UNSORTED),
	    C(M "\0\0\0\x0c"
	        "d1:a0:1:a0:e",
	      SW_ERR_BENCODE_UNSORTED),
	    C(M "\0\0\0\x07"
	        "di1e0:e",
	      SW_ERR_BENCODE_KEY),
	    C(M "\0\0\0\0", SW_ERR_BENCODE_TRUNCATED),
	    C(M "\0\0\0\x04"
	        "d1:a",
	      SW_ERR_BENCODE_TRUNCATED),
	    C(M E "s\0\0\0\x06li03ee", SW_ERR_BENCODE_BAD_INT),
	    C(M E "s\0\0\0\x06li-0ee", SW_ERR_BENCODE_BAD_INT),
	    C(M E "s\0\0\0\x04liee", SW_ERR_BENCODE_BAD_INT),
	    C(M E "s\0\0\0\x17li9223372036854775808ee", SW_ERR_BENCODE_BAD_INT),
	    C(M E "s\0\0\0\x03lee", SW_ERR_BENCODE_JUNK),
	    C(M E "s\0\0\0\x01l", SW_ERR_BENCODE_TRUNCATED),
	    C(M E "s\0\0\0\x01x", SW_ERR_BENCODE_SYNTAX),
	    C(M E "X", SW_ERR_BAD_KIND),
	    C(M E "oSs\0\0\0\x02le"
	          "E",
	      SW_ERR_BAD_KIND),
	    C(M E "\0", SW_ERR_BAD_KIND),
	    C(M, SW_ERR_UNEXPECTED_EOF),
	    C("bzr", SW_ERR_UNEXPECTED_EOF),
	    C(M E "b\0\0\0\x05"
	          "abc",
	      SW_ERR_UNEXPECTED_EOF),
	    C(M E "o", SW_ERR_UNEXPECTED_EOF),
#undef C
	};
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	for (size_t i = 0; i < NELEM(cases); i++) {
		ptrdiff_t r = decode_once(cases[i].in, cases[i].len, &cfg);
		if (r != cases[i].code)
			fail_msg("case %zu: got %s, want %s", i, sw_errname((int)r),
			         sw_errname(cases[i].code));
	}
}

/* Feeds in[0..len) cut at `cut` (0: whole) or one byte at a time (cut ==
 * SIZE_MAX) and checks, right after the failing feed, what the decoder says
 * it was reading. */
static void check_failure(const char *in, size_t len, size_t cut, int code, uint8_t part,
                          uint8_t kind, const char *payload, size_t plen, int value_type)
{
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, &cfg, NULL, NULL, NULL), 0);
	sw_v3_failure f;
	assert_int_equal(sw_v3_dec_failure(dec, &f), 0);
	assert_int_equal(f.error, 0);
	const uint8_t *p = (const uint8_t *)in;
	size_t pos = 0;
	ptrdiff_t r = 0;
	while (pos < len) {
		size_t n = cut == SIZE_MAX ? 1 : cut && pos < cut ? cut - pos : len - pos;
		r = sw_v3_dec_feed(dec, p + pos, n);
		if (r < 0)
			break;
		pos += (size_t)r;
	}
	if (r != code)
		fail_msg("cut %zu: got %s, want %s", cut, sw_errname((int)r), sw_errname(code));
	assert_int_equal(sw_v3_dec_failure(dec, &f), 0);
	assert_int_equal(f.error, code);
	assert_int_equal(f.part, part);
	assert_int_equal(f.kind, kind);
	assert_int_equal(f.payload.n, plen);
	if (plen)
		assert_memory_equal(f.payload.p, payload, plen);
	if (value_type < 0)
		assert_null(f.value);
	else
		assert_int_equal(f.value->type, value_type);
	sw_v3_dec_reset(dec);
	assert_int_equal(sw_v3_dec_failure(dec, &f), 0);
	assert_int_equal(f.error, 0);
	assert_int_equal(f.part, 0);
	assert_int_equal(f.payload.n, 0);
	sw_v3_dec_del(dec);
}

/* After a failure the decoder tells what it was reading: the payload of a
 * header or structure that is not bencode (or headers that are not a dict,
 * with their value), a bad kind byte, or which length prefix was too long,
 * whether the payload came in one input or in many. */
static void test_failure_detail(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t len;
		int code;
		uint8_t part, kind;
		const char *payload;
		size_t plen;
		int value_type;
	} cases[] = {
#define C(lit, code, part, kind, pay, vt)                                                          \
	{lit, sizeof(lit) - 1, code, part, kind, pay, sizeof(pay) - 1, vt}
	    C("bzr message 2", SW_ERR_BAD_MARKER, 'm', 0, "", -1),
	    C(M "\0\0\0\x02xx", SW_ERR_BENCODE_SYNTAX, 'h', 0, "xx", -1),
	    C(M "\0\0\0\x02le"
	        "e",
	      SW_ERR_HEADER_NOT_DICT, 'h', 0, "le", SW_BLIST),
	    C(M "\0\0\0\x03i1e"
	        "e",
	      SW_ERR_HEADER_NOT_DICT, 'h', 0, "i1e", SW_BINT),
	    C(M "\0\0\0\0", SW_ERR_BENCODE_TRUNCATED, 'h', 0, "", -1),
	    C(M "\0\0\0\x0c"
	        "d1:b0:1:a0:e",
	      SW_ERR_BENCODE_UNSORTED, 'h', 0, "d1:b0:1:a0:e", -1),
	    C(M E "s\0\0\0\x06li03ee", SW_ERR_BENCODE_BAD_INT, 's', 0, "li03ee", -1),
	    C(M E "s\0\0\0\x01l", SW_ERR_BENCODE_TRUNCATED, 's', 0, "l", -1),
	    C(M E "s\0\0\0\0", SW_ERR_BENCODE_TRUNCATED, 's', 0, "", -1),
	    C(M E "X", SW_ERR_BAD_KIND, 'k', 'X', "", -1),
	    C(M E "oSs\0\0\0\x02le"
	          "\0",
	      SW_ERR_BAD_KIND, 'k', 0, "", -1),
	    C(M E "b\0\0\0\x03"
	          "abcE",
	      SW_ERR_BAD_KIND, 'k', 'E', "", -1),
	    C(M "\xff\xff\xff\xff", SW_ERR_HEADER_TOO_LARGE, 'h', 0, "", -1),
	    C(M E "s\xff\xff\xff\xff", SW_ERR_STRUCT_TOO_LARGE, 's', 0, "", -1),
#undef C
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		for (size_t cut = 0; cut < cases[i].len; cut++)
			check_failure(cases[i].in, cases[i].len, cut, cases[i].code, cases[i].part,
			              cases[i].kind, cases[i].payload, cases[i].plen,
			              cases[i].value_type);
		check_failure(cases[i].in, cases[i].len, SIZE_MAX, cases[i].code, cases[i].part,
		              cases[i].kind, cases[i].payload, cases[i].plen, cases[i].value_type);
	}
	/* Failures that are not about the bytes name no part. */
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)"\0\0", 2), 2);
	assert_int_equal(sw_v3_dec_finish(dec), SW_ERR_UNEXPECTED_EOF);
	sw_v3_failure f;
	assert_int_equal(sw_v3_dec_failure(dec, &f), 0);
	assert_int_equal(f.error, SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(f.part, 0);
	sw_v3_dec_del(dec);
	assert_int_equal(sw_v3_dec_failure(NULL, &f), SW_ERR_INVALID_ARGUMENT);
}

/* Oversized length prefixes fail as soon as the prefix is complete, before
 * any allocation (the only one is the decoder itself). */
static void test_limits(void **state)
{
	(void)state;
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.max_header = 28;
	cfg.max_struct = 10;
	cfg.max_part = 100;
	static const struct {
		const char *in;
		size_t len;
		int code;
	} cases[] = {
#define C(lit, code) {lit, sizeof(lit) - 1, code}
	    C("\0\0\0\x1d", SW_ERR_HEADER_TOO_LARGE),
	    C("\xff\xff\xff\xff", SW_ERR_HEADER_TOO_LARGE),
	    C(E "s\0\0\0\x0b", SW_ERR_STRUCT_TOO_LARGE),
	    C(E "b\0\0\0\x65", SW_ERR_PART_TOO_LARGE),
	    C(E "b\xff\xff\xff\xff", SW_ERR_PART_TOO_LARGE),
#undef C
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		sw_v3_dec *dec;
		assert_int_equal(sw_v3_dec_new(&dec, &cfg, NULL, NULL, &fm.mem), 0);
		const uint8_t *in = (const uint8_t *)cases[i].in;
		size_t head = cases[i].len - 4;
		assert_int_equal(sw_v3_dec_feed(dec, in, head), (ptrdiff_t)head);
		size_t calls = fm.calls;
		assert_int_equal(sw_v3_dec_feed(dec, in + head, 4), cases[i].code);
		assert_int_equal(fm.calls, calls);
		assert_int_equal(sw_v3_dec_next_read_size(dec), 0);
		assert_int_equal(sw_v3_dec_error(dec), cases[i].code);
		sw_v3_dec_del(dec);
		assert_int_equal(fm.live, 0);
	}
	/* At the limit exactly, the items are accepted. */
	static const char ok[] = "\0\0\0\x1c"
	                         "d16:Software version5:3.3.2e"
	                         "s\0\0\0\x0a"
	                         "l6:123456e"
	                         "b\0\0\0\x64";
	sw_v3_dec *dec;
	assert_int_equal(sw_v3_dec_new(&dec, &cfg, NULL, NULL, NULL), 0);
	assert_int_equal(sw_v3_dec_feed(dec, (const uint8_t *)ok, sizeof ok - 1),
	                 (ptrdiff_t)sizeof ok - 1);
	assert_int_equal(sw_v3_dec_next_read_size(dec), 100);
	sw_v3_dec_del(dec);

	/* The bencode limits apply to headers and structures. */
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.blimits.max_depth = 2;
	assert_int_equal(decode_once(E "s\0\0\0\x06llleee"
	                               "e",
	                             18, &cfg),
	                 SW_ERR_BENCODE_DEPTH);
	assert_int_equal(decode_once(E "s\0\0\0\x04llee"
	                               "e",
	                             16, &cfg),
	                 16);
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.blimits.max_elements = 3;
	assert_int_equal(decode_once(E "s\0\0\0\x0bl1:a1:b1:ce"
	                               "e",
	                             23, &cfg),
	                 SW_ERR_BENCODE_TOO_MANY);
	assert_int_equal(decode_once(E "s\0\0\0\x08l1:a1:be"
	                               "e",
	                             20, &cfg),
	                 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_codes),
	    cmocka_unit_test(test_failure_detail),
	    cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
