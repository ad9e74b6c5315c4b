/* Tests for the monotonic clock and deadlines (smartwire/clock.h). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "smartwire/clock.h"

static void test_monotonic_and_units(void **state)
{
	(void)state;
	int64_t ns0 = sw_clock_ns(), ms0 = sw_clock_ms();
	for (int i = 0; i < 100000; i++) {
		int64_t ns = sw_clock_ns();
		assert_true(ns >= ns0); /* never goes back */
		ns0 = ns;
	}
	int64_t ms1 = sw_clock_ms();
	assert_true(ms1 >= ms0);
	/* Milliseconds are the nanoseconds of the same clock, truncated. */
	assert_true(ms1 <= sw_clock_ns() / 1000000);
}

static void test_deadlines(void **state)
{
	(void)state;
	assert_int_equal(sw_deadline_ms(-1), -1);
	assert_int_equal(sw_deadline_ms(-5), -1);
	assert_int_equal(sw_deadline_left(-1), -1);
	int64_t now = sw_clock_ms();
	int64_t d = sw_deadline_ms(60000);
	assert_true(d >= now + 60000);
	int left = sw_deadline_left(d);
	assert_true(left > 0 && left <= 60000);
	assert_int_equal(sw_deadline_left(now - 1), 0); /* past: 0, never negative */
	assert_int_equal(sw_deadline_left(0), 0);
	assert_int_equal(sw_deadline_left(INT64_MAX), INT_MAX); /* clamped for poll(2) */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_monotonic_and_units),
	    cmocka_unit_test(test_deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
