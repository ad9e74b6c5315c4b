/* Tests for the trace notation (smartwire/format.h) and the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/format.h"

static void expect_format(const void *in, size_t n, const char *want)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_format_bytes(&b, in, n), 0);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	sw_buf_fini(&b);
}

static void test_bytes_escaping(void **state)
{
	(void)state;
	expect_format("", 0, "\"\"");
	expect_format("ok", 2, "\"ok\"");
	expect_format("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	expect_format("\x01\n\x7f\xff ~", 6, "\"\\x01\\x0a\\x7f\\xff ~\"");
}

static void test_tuple(void **state)
{
	(void)state;
	sw_slice items[2] = {{(const uint8_t *)"get", 3}, {(const uint8_t *)"/x y", 4}};
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_format_tuple(&b, items, 2), 0);
	assert_int_equal(sw_buf_append_byte(&b, 0), 0);
	assert_string_equal((char *)b.data, "[\"get\", \"/x y\"]");
	sw_buf_reset(&b);
	assert_int_equal(sw_format_tuple(&b, items, 0), 0);
	assert_int_equal(sw_buf_append_byte(&b, 0), 0);
	assert_string_equal((char *)b.data, "[]");
	sw_buf_fini(&b);
}

static void test_error_table(void **state)
{
	(void)state;
	/* Every code in the enum's ranges that has a name must also have text,
	 * and names must be unique. */
	for (int e = 0; e > SW_ERR_MIN_; e--) {
		const char *name = sw_errname(e);
		if (strcmp(name, "SW_ERR_UNKNOWN") == 0) {
			assert_string_equal(sw_strerror(e), "unknown error");
			continue;
		}
		assert_true(strncmp(name, "SW_", 3) == 0);
		assert_string_not_equal(sw_strerror(e), "unknown error");
		for (int f = e - 1; f > SW_ERR_MIN_; f--)
			assert_string_not_equal(name, sw_errname(f));
	}
	assert_string_equal(sw_errname(SW_ERR_NOMEM), "SW_ERR_NOMEM");
	assert_string_equal(sw_strerror(1), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_escaping),
		cmocka_unit_test(test_tuple),
		cmocka_unit_test(test_error_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
