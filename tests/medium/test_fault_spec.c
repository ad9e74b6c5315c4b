/* Tests for fault plans as text (smartwire/fault.h, fault_spec.c): the
 * parser's round trips through the formatter, every parse error with its
 * exact position, and the formatter's refusal of invalid plans. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/fault.h"

static void parse_ok(const char *spec, sw_fault_plan *p)
{
	sw_errinfo ei = {0};
	int rc = sw_fault_plan_parse(spec, p, &ei);
	if (rc != 0)
		fail_msg("spec \"%s\": %s at %zu", spec, sw_errname(rc), ei.offset);
}

static void check_roundtrip(const char *spec, const char *canonical)
{
	sw_fault_plan p, q;
	parse_ok(spec, &p);
	sw_buf out;
	sw_buf_init(&out, NULL);
	assert_int_equal(sw_fault_plan_format(&p, &out), 0);
	assert_int_equal(sw_buf_append_byte(&out, 0), 0);
	assert_string_equal((char *)out.data, canonical);
	parse_ok((char *)out.data, &q);
	assert_true(sw_fault_plan_equal(&p, &q));
	sw_buf_fini(&out);
}

static void test_spec_roundtrip(void **state)
{
	(void)state;
	check_roundtrip("", "");
	check_roundtrip("read=1", "read=1");
	check_roundtrip("read=1,3,7;write=2;eof@100", "read=1,3,7;write=2;eof@100");
	check_roundtrip("error@50:ECONNRESET", "error@50:ECONNRESET");
	check_roundtrip("error@0:EPIPE", "error@0:EPIPE");
	check_roundtrip("error@7:EIO", "error@7:EIO");
	check_roundtrip("error@7:EINVAL", "error@7:EINVAL");
	check_roundtrip("error@7:ETIMEDOUT", "error@7:ETIMEDOUT");
	check_roundtrip("eagain=3/10;eintr=2/5", "eagain=3/10;eintr=2/5");
	check_roundtrip("stall@10", "stall@10");
	check_roundtrip("seed=42;read=rand:1-16", "seed=42;read=rand:1-16");
	check_roundtrip("read=every", "read=every:16");
	check_roundtrip("write=every:3", "write=every:3");
	check_roundtrip("read=rand:4-4", "read=rand:4-4");
	check_roundtrip("seed=0;read=2", "read=2");
	check_roundtrip("stall@1;eintr=1/2;eagain=1/3;error@5:EIO;eof@4;write=9;read=8;seed=7",
	                "seed=7;read=8;write=9;eof@4;error@5:EIO;eagain=1/3;eintr=1/2;stall@1");
	check_roundtrip("read=01,002", "read=1,2");
	check_roundtrip("eof@18446744073709551615;seed=18446744073709551615",
	                "seed=18446744073709551615;eof@18446744073709551615");
	check_roundtrip("read=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16",
	                "read=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16");
	check_roundtrip("read=4294967295", "read=4294967295");

	/* Formatting appends after existing content without a separator. */
	sw_fault_plan p;
	parse_ok("read=1;eof@2", &p);
	sw_buf out;
	sw_buf_init(&out, NULL);
	assert_int_equal(sw_buf_append_str(&out, "spec: "), 0);
	assert_int_equal(sw_fault_plan_format(&p, &out), 0);
	assert_int_equal(sw_buf_append_byte(&out, 0), 0);
	assert_string_equal((char *)out.data, "spec: read=1;eof@2");
	sw_buf_fini(&out);
}

static void test_spec_errors(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		size_t pos;
	} bad[] = {
		{";", 0},
		{"read=1;", 7},
		{"read=1;;eof@1", 7},
		{"bogus=1", 0},
		{"READ=1", 0},
		{"read", 0},
		{"read 1", 0},
		{"read=", 5},
		{"read=0", 5},
		{"read=-1", 5},
		{"read=+1", 5},
		{"read=1,", 7},
		{"read=1,,2", 7},
		{"read=1x", 6},
		{"read=1 ", 6},
		{"read=4294967296", 5},
		{"read=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", 44},
		{"read=every:", 11},
		{"read=every:0", 11},
		{"read=every4", 10},
		{"read=rand:", 10},
		{"read=rand:0-3", 10},
		{"read=rand:3", 11},
		{"read=rand:5-3", 12},
		{"read=rand:1-", 12},
		{"write=0", 6},
		{"eof@", 4},
		{"eof@x", 4},
		{"eof=3", 0},
		{"eof@18446744073709551616", 4},
		{"eof@000000000000000000001", 4},
		{"error@5", 7},
		{"error@5:", 8},
		{"error@5:EFOO", 8},
		{"error@5:econnreset", 8},
		{"error@5:EIOX", 8},
		{"error@:EIO", 6},
		{"eagain=3", 8},
		{"eagain=3/", 9},
		{"eagain=0/5", 7},
		{"eagain=5/5", 7},
		{"eagain=6/5", 7},
		{"eagain=1/1", 9},
		{"eintr=/5", 6},
		{"stall@", 6},
		{"seed=", 5},
		{"seed=1;seed=2", 7},
		{"read=1;eof@2;read=3", 13},
		{"stall@1;stall@1", 8},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sw_fault_plan p;
		parse_ok("read=9", &p);
		sw_fault_plan before = p;
		sw_errinfo ei = {.offset = 12345};
		int rc = sw_fault_plan_parse(bad[i].spec, &p, &ei);
		if (rc != SW_ERR_INVALID_ARGUMENT || ei.offset != bad[i].pos || ei.code != rc ||
		    !strstr(ei.text, "bad fault plan"))
			fail_msg("\"%s\": rc %s pos %zu (%s), want SW_ERR_INVALID_ARGUMENT at %zu",
			         bad[i].spec, sw_errname(rc), ei.offset, ei.text, bad[i].pos);
		assert_true(sw_fault_plan_equal(&p, &before)); /* untouched */
	}
	sw_fault_plan p;
	assert_int_equal(sw_fault_plan_parse(NULL, &p, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fault_plan_parse("read=1", NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fault_plan_parse("read=x", &p, NULL), SW_ERR_INVALID_ARGUMENT);
}

static void test_format_invalid(void **state)
{
	(void)state;
	sw_buf out;
	sw_buf_init(&out, NULL);
	sw_fault_plan p;

	sw_fault_plan_init(&p);
	p.read.kind = SW_FAULT_SIZES_LIST; /* n == 0 */
	assert_int_equal(sw_fault_plan_format(&p, &out), SW_ERR_INVALID_ARGUMENT);
	p.read.n = 1; /* v[0] == 0 */
	assert_int_equal(sw_fault_plan_format(&p, &out), SW_ERR_INVALID_ARGUMENT);
	sw_fault_plan_init(&p);
	p.write.kind = SW_FAULT_SIZES_RAND;
	p.write.v[0] = 5;
	p.write.v[1] = 4;
	assert_int_equal(sw_fault_plan_format(&p, &out), SW_ERR_INVALID_ARGUMENT);
	sw_fault_plan_init(&p);
	p.has_error = true;
	p.error_errno = ENOENT;
	assert_int_equal(sw_fault_plan_format(&p, &out), SW_ERR_INVALID_ARGUMENT);
	sw_fault_plan_init(&p);
	p.eagain_k = 2;
	p.eagain_m = 2;
	assert_int_equal(sw_fault_plan_format(&p, &out), SW_ERR_INVALID_ARGUMENT);
	sw_fault_plan_init(&p);
	p.eintr_k = 1; /* m == 0 */
	assert_int_equal(sw_fault_plan_format(&p, &out), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(out.len, 0);
	sw_buf_fini(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_roundtrip),
		cmocka_unit_test(test_spec_errors),
		cmocka_unit_test(test_format_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
