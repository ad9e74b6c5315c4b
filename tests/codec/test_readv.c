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
		cmocka_unit_test(test_serialise),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
