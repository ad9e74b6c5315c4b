/* Tests for the readv offset list (smartwire/readv.h) against Breezy's
 * ReadvRequest._deserialise_offsets (tests/vectors/v12_readv.inc); the
 * serialiser is checked against _serialise_offsets in test_v12.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/readv.h"
#include "smartwire/failmem.h"

struct vec {
	const char *name;
	const char *input;
	size_t len;
	const char *expected; /* "start,length\n" per range, or "error\n" */
	const void *arg;
};

static const struct vec readv_vecs[] = {
#include "vectors/v12_readv.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(readv_vecs); i++) {
		const struct vec *v = &readv_vecs[i];
		sw_readv_range *r;
		size_t n;
		int rv = sw_readv_parse((const uint8_t *)v->input, v->len, 0, NULL, &r, &n);
		if (strcmp(v->expected, "error\n") == 0) {
			/* Breezy: ValueError. */
			if (rv != SW_ERR_INVALID_ARGUMENT)
				fail_msg("%s: expected SW_ERR_INVALID_ARGUMENT, got %d", v->name, rv);
			assert_null(r);
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(rv, 0);
		sw_buf b;
		sw_buf_init(&b, NULL);
		for (size_t k = 0; k < n; k++) {
			sw_buf_append_u64(&b, r[k].start);
			sw_buf_append_byte(&b, ',');
			sw_buf_append_u64(&b, r[k].length);
			sw_buf_append_byte(&b, '\n');
		}
		sw_buf_append_byte(&b, 0);
		if (strcmp((char *)b.data, v->expected) != 0)
			fail_msg("%s: expected %s got %s", v->name, v->expected, (char *)b.data);
		sw_buf_fini(&b);
		sw_free(NULL, r);

		/* Allocation failure: SW_ERR_NOMEM, nothing returned, no leak. */
		sw_failmem fm;
		sw_failmem_init(&fm, 1, true);
		rv = sw_readv_parse((const uint8_t *)v->input, v->len, 0, &fm.mem, &r, &n);
		/* An empty list allocates nothing, so it cannot fail. */
		assert_int_equal(rv, v->expected[0] ? SW_ERR_NOMEM : 0);
		assert_null(r);
		assert_int_equal(fm.live, 0);
	}
}

static void test_errors(void **state)
{
	(void)state;
	sw_readv_range *r;
	size_t n;
	/* Negative and over-64-bit values (Breezy fails later, in the transport). */
	assert_int_equal(sw_readv_parse((const uint8_t *)"-1,2", 4, 0, NULL, &r, &n),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_readv_parse((const uint8_t *)"1,-2", 4, 0, NULL, &r, &n),
	                 SW_ERR_INVALID_ARGUMENT);
	/* Up to 2**64 - 1, and -0 is zero, as in Python. */
	assert_int_equal(
	    sw_readv_parse((const uint8_t *)"-0,18446744073709551615", 23, 0, NULL, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_true(r[0].start == 0 && r[0].length == UINT64_MAX);
	sw_free(NULL, r);
	/* The first bad line decides: a refused line before the limit. */
	assert_int_equal(sw_readv_parse((const uint8_t *)"1,2\n3,4\nx", 9, 1, NULL, &r, &n),
	                 SW_ERR_LIMIT);
	assert_int_equal(sw_readv_parse((const uint8_t *)"1,2\nx\n3,4", 9, 1, NULL, &r, &n),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_readv_parse((const uint8_t *)"1,18446744073709551616", 22, 0, NULL,
	                                &r, &n),
	                 SW_ERR_INVALID_ARGUMENT);
	/* The range limit. */
	assert_int_equal(sw_readv_parse((const uint8_t *)"1,2\n3,4", 7, 2, NULL, &r, &n), 0);
	assert_int_equal(n, 2);
	sw_free(NULL, r);
	assert_int_equal(sw_readv_parse((const uint8_t *)"1,2\n3,4\n5,6", 11, 2, NULL, &r, &n),
	                 SW_ERR_LIMIT);
	assert_null(r);
	assert_int_equal(n, 0);
}

/* sw_readv_next: what failed and where, for every refusal Breezy has a text
 * for (the texts themselves are checked against Breezy through the VFS,
 * tests/vectors/gen_vfs.py "readv_*"). */
static void test_next(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int rv;
		sw_readv_fault fault;
		size_t line_at, line_len;
		int field;
		size_t field_at, field_len;
		bool sneg;
		uint64_t s;
		bool lneg;
		uint64_t l;
	} cases[] = {
	    {"1,2", 1, SW_READV_OK, 0, 3, 0, 0, 0, 0, 1, 0, 2},
	    {"\n\n 3 ,+4\r\n", 1, SW_READV_OK, 2, 7, 0, 0, 0, 0, 3, 0, 4},
	    {"-1,-0", 1, SW_READV_OK, 0, 5, 0, 0, 0, 1, 1, 0, 0},
	    {"-18446744073709551615,18446744073709551615", 1, SW_READV_OK, 0, 42, 0, 0, 0, 1,
	     UINT64_MAX, 0, UINT64_MAX},
	    {"1_0,2", 1, SW_READV_OK, 0, 5, 0, 0, 0, 0, 10, 0, 2},
	    {"3-3", SW_ERR_INVALID_ARGUMENT, SW_READV_ONE_FIELD, 0, 3, 0, 0, 0, 0, 0, 0, 0},
	    {"\n\n3", SW_ERR_INVALID_ARGUMENT, SW_READV_ONE_FIELD, 2, 1, 0, 0, 0, 0, 0, 0, 0},
	    {"1,2,x", SW_ERR_INVALID_ARGUMENT, SW_READV_MANY_FIELDS, 0, 5, 0, 0, 0, 0, 0, 0, 0},
	    {",,", SW_ERR_INVALID_ARGUMENT, SW_READV_MANY_FIELDS, 0, 2, 0, 0, 0, 0, 0, 0, 0},
	    /* int(start) fails first, even when length is bad too */
	    {"x,y", SW_ERR_INVALID_ARGUMENT, SW_READV_NOT_INT, 0, 3, 0, 0, 1, 0, 0, 0, 0},
	    /* a bad length: the start is there */
	    {" -1 ,y\xff'\nz", SW_ERR_INVALID_ARGUMENT, SW_READV_NOT_INT, 0, 8, 1, 5, 3, 1, 1, 0,
	     0},
	    {",5", SW_ERR_INVALID_ARGUMENT, SW_READV_NOT_INT, 0, 2, 0, 0, 0, 0, 0, 0, 0},
	    {"5,", SW_ERR_INVALID_ARGUMENT, SW_READV_NOT_INT, 0, 2, 1, 2, 0, 0, 5, 0, 0},
	    {"1__0,1", SW_ERR_INVALID_ARGUMENT, SW_READV_NOT_INT, 0, 6, 0, 0, 4, 0, 0, 0, 0},
	    {"18446744073709551616,1", SW_ERR_INVALID_ARGUMENT, SW_READV_TOO_BIG, 0, 22, 0, 0, 20,
	     0, 0, 0, 0},
	    {"1,-18446744073709551616", SW_ERR_INVALID_ARGUMENT, SW_READV_TOO_BIG, 0, 23, 1, 2, 21,
	     0, 1, 0, 0},
	    /* a start too big is reported before a bad length */
	    {"99999999999999999999,x", SW_ERR_INVALID_ARGUMENT, SW_READV_TOO_BIG, 0, 22, 0, 0, 20,
	     0, 0, 0, 0},
	    {"", 0, SW_READV_OK, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	    {"\n\n\n", 0, SW_READV_OK, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < N(cases); i++) {
		const uint8_t *in = (const uint8_t *)cases[i].in;
		size_t len = strlen(cases[i].in), pos = 0;
		sw_readv_line l;
		int rv = sw_readv_next(len ? in : NULL, len, &pos, &l);
		if (rv != cases[i].rv || l.fault != cases[i].fault)
			fail_msg("%zu: rv %d fault %d", i, rv, (int)l.fault);
		if (rv == 0) {
			assert_int_equal(pos, len);
			continue;
		}
		assert_int_equal(l.line_at, cases[i].line_at);
		assert_int_equal(l.line_len, cases[i].line_len);
		/* the start, also when the length is refused */
		if (rv == 1 || l.field == 1) {
			assert_int_equal(l.start_neg, cases[i].sneg);
			assert_int_equal(l.start, cases[i].s);
		}
		if (rv == 1) {
			assert_int_equal(l.length_neg, cases[i].lneg);
			assert_int_equal(l.length, cases[i].l);
			assert_int_equal(pos,
			                 l.line_at + l.line_len + (l.line_at + l.line_len < len));
			continue;
		}
		assert_int_equal(pos, cases[i].line_at);
		if (l.fault == SW_READV_NOT_INT || l.fault == SW_READV_TOO_BIG) {
			assert_int_equal(l.field, cases[i].field);
			assert_int_equal(l.field_at, cases[i].field_at);
			assert_int_equal(l.field_len, cases[i].field_len);
		}
	}

	/* A body read line by line, as the server does: values in order, the
	 * empty lines skipped, then the end. */
	const char *body = "\n10,40\n\n0,5\n-3,2\n";
	size_t len = strlen(body), pos = 0;
	sw_readv_line l;
	const struct {
		bool neg;
		uint64_t s, l;
	} want[] = {{false, 10, 40}, {false, 0, 5}, {true, 3, 2}};
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(sw_readv_next((const uint8_t *)body, len, &pos, &l), 1);
		assert_true(l.start_neg == want[k].neg && l.start == want[k].s && !l.length_neg &&
		            l.length == want[k].l);
	}
	assert_int_equal(sw_readv_next((const uint8_t *)body, len, &pos, &l), 0);
	assert_int_equal(sw_readv_next((const uint8_t *)body, len, &pos, &l), 0);
	assert_int_equal(pos, len);
}

static void test_serialise(void **state)
{
	(void)state;
	sw_buf b;
	sw_buf_init(&b, NULL);
	sw_readv_range three[3] = {{1, 2}, {3, 4}, {100, 200}};
	assert_int_equal(sw_readv_serialise(&b, NULL, 0), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(sw_readv_serialise(&b, three, 3), 0);
	assert_int_equal(b.len, 15);
	assert_memory_equal(b.data, "1,2\n3,4\n100,200", 15);
	/* And back. */
	sw_readv_range *r;
	size_t n;
	assert_int_equal(sw_readv_parse(b.data, b.len, 0, NULL, &r, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(r, three, sizeof three);
	sw_free(NULL, r);
	sw_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_next),
	    cmocka_unit_test(test_serialise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
