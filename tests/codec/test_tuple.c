/* Tests for the v1/v2 argument line (smartwire/tuple.h) against Breezy's
 * _decode_tuple (tests/vectors/v12_tuple.inc); the encoder is checked
 * against _encode_tuple in test_v12.c's generated encoder vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/tuple.h"

struct vec {
	const char *name;
	const char *input;
	size_t len;
	const char *expected;
	const void *arg;
};

static const struct vec tuple_vecs[] = {
#include "vectors/v12_tuple.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_decode_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(tuple_vecs); i++) {
		const struct vec *v = &tuple_vecs[i];
		sw_slice args[16];
		ptrdiff_t n = sw_tuple_decode((const uint8_t *)v->input, v->len, args, 16);
		assert_true(n >= 1);
		/* Counting only gives the same number. */
		assert_int_equal(sw_tuple_decode((const uint8_t *)v->input, v->len, NULL, 16), n);
		sw_buf b;
		sw_buf_init(&b, NULL);
		assert_int_equal(sw_buf_append_str(&b, "args "), 0);
		assert_int_equal(sw_format_tuple(&b, args, (size_t)n), 0);
		assert_int_equal(sw_buf_append_str(&b, "\n"), 0);
		assert_int_equal(sw_buf_append_byte(&b, 0), 0);
		if (strcmp((char *)b.data, v->expected) != 0)
			fail_msg("%s: expected %s got %s", v->name, v->expected, (char *)b.data);
		/* Slices point into the line. */
		for (ptrdiff_t k = 0; k < n; k++)
			assert_true(args[k].p >= (const uint8_t *)v->input &&
			            args[k].p + args[k].n <= (const uint8_t *)v->input + v->len);
		/* Re-encoding gives the line back when no element holds "\n". */
		if (!memchr(v->input, '\n', v->len - 1)) {
			sw_buf_reset(&b);
			assert_int_equal(sw_tuple_encode(&b, args, (size_t)n), 0);
			assert_int_equal(b.len, v->len);
			assert_memory_equal(b.data, v->input, v->len);
		}
		sw_buf_fini(&b);
	}
}

static void test_decode_errors(void **state)
{
	(void)state;
	sw_slice args[2];
	/* Breezy: None (EOF) and "request ... not terminated". */
	assert_int_equal(sw_tuple_decode((const uint8_t *)"", 0, args, 2), SW_ERR_UNEXPECTED_EOF);
	assert_int_equal(sw_tuple_decode((const uint8_t *)"hello", 5, args, 2),
	                 SW_ERR_UNEXPECTED_EOF);
	/* The limit: two elements fit, three do not, and nothing is written past
	 * max_args. */
	assert_int_equal(sw_tuple_decode((const uint8_t *)"a\x01" "b\n", 4, args, 2), 2);
	assert_int_equal(sw_tuple_decode((const uint8_t *)"a\x01" "b\x01" "c\n", 6, args, 2),
	                 SW_ERR_TOO_MANY_ARGS);
	assert_int_equal(sw_tuple_decode((const uint8_t *)"\n", 1, args, 0), SW_ERR_TOO_MANY_ARGS);
}

static void test_encode(void **state)
{
	(void)state;
	sw_buf b;
	sw_buf_init(&b, NULL);
	/* () and ("",) both encode as "\n" (test_client_call_empty_response). */
	assert_int_equal(sw_tuple_encode(&b, NULL, 0), 0);
	sw_slice empty = {(const uint8_t *)"", 0};
	assert_int_equal(sw_tuple_encode(&b, &empty, 1), 0);
	sw_slice three[3] = {{(const uint8_t *)"a", 1}, {(const uint8_t *)"b", 1},
	                     {(const uint8_t *)"34", 2}};
	assert_int_equal(sw_tuple_encode(&b, three, 3), 0);
	assert_int_equal(b.len, 9);
	assert_memory_equal(b.data, "\n\na\x01" "b\x01" "34\n", 9);
	/* No escaping exists: refuse separator and newline bytes, unchanged
	 * buffer. */
	sw_slice bad[2] = {{(const uint8_t *)"ok", 2}, {(const uint8_t *)"x\x01y", 3}};
	assert_int_equal(sw_tuple_encode(&b, bad, 2), SW_ERR_BAD_ARGUMENT_BYTE);
	bad[1].p = (const uint8_t *)"x\ny";
	assert_int_equal(sw_tuple_encode(&b, bad, 2), SW_ERR_BAD_ARGUMENT_BYTE);
	assert_int_equal(b.len, 9);
	sw_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
