/*
 * The client against the real Breezy server: `brz serve --inet
 * --directory=<fixture>` spawned per connection with sw_cmd_spawn, in
 * negotiated (v3), forced v3, forced v2 and forced v1 modes.  If brz is
 * missing the test FAILS (install python3-breezy / brz); it never skips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "smartwire/client.h"
#include "smartwire/error.h"

#define SL(lit) ((sw_slice){(const uint8_t *)(lit), sizeof(lit) - 1})

static char fixture[256];

static void write_file(const char *name, const char *data)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", fixture, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(data, 1, strlen(data), f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(fixture, sizeof fixture, "/tmp/sw-client-brz-XXXXXX");
	if (!mkdtemp(fixture))
		return -1;
	write_file("testfile", "contents\nof\nfile\n");
	write_file("readvfile", "0123456789abcdefghij");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof path, "%s/testfile", fixture);
	unlink(path);
	snprintf(path, sizeof path, "%s/readvfile", fixture);
	unlink(path);
	rmdir(fixture);
	return 0;
}

static int spawn_brz(void *ud, sw_medium **out, sw_errinfo *ei)
{
	(void)ud;
	char dir[300];
	snprintf(dir, sizeof dir, "--directory=%s", fixture);
	const char *argv[] = {"brz", "serve", "--inet", dir, NULL};
	int rc = sw_cmd_spawn(out, argv, NULL, NULL, ei);
	if (rc == SW_ERR_SPAWN)
		fail_msg("%s: install Breezy (apt-get install brz) -- "
		         "this test needs the real server and does not skip",
		         ei->text);
	return rc;
}

static void expect_args(const sw_response *r, const char *a0, const char *a1)
{
	size_t n;
	const sw_slice *a = sw_response_args(r, &n);
	assert_true(n >= 1);
	assert_int_equal(a[0].n, strlen(a0));
	assert_memory_equal(a[0].p, a0, a[0].n);
	if (a1) {
		assert_true(n >= 2);
		assert_int_equal(a[1].n, strlen(a1));
		assert_memory_equal(a[1].p, a1, a[1].n);
	}
}

static void run_mode(int protocol)
{
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = protocol;
	cfg.timeout_ms = 30000;
	sw_client *c;
	assert_int_equal(sw_client_new(&c, &cfg, spawn_brz, NULL, NULL), 0);
	sw_response *r;
	int rc;

	/* hello */
	rc = sw_client_call_simple(c, SL("hello"), NULL, 0, &r);
	if (rc)
		fail_msg("protocol %d hello: %s: %s", protocol, sw_errname(rc),
		         sw_client_error_message(c));
	expect_args(r, "ok", "2");
	assert_int_equal(sw_response_version(r), protocol ? protocol : 3);
	sw_response_del(r);
	assert_int_equal(sw_client_protocol_version(c), protocol ? protocol : 3);
	assert_false(sw_client_is_remote_before(c, 1, 6));

	/* get */
	sw_call get = {.verb = SL("get"), .args = &SL("/testfile"), .nargs = 1, .expect_body = true};
	assert_int_equal(sw_client_call(c, &get, &r), 0);
	expect_args(r, "ok", NULL);
	sw_buf body;
	sw_buf_init(&body, NULL);
	assert_int_equal(sw_response_read_body(r, &body), 0);
	assert_int_equal(body.len, 17);
	assert_memory_equal(body.data, "contents\nof\nfile\n", 17);
	sw_response_del(r);

	/* stat */
	assert_int_equal(sw_client_call_simple(c, SL("stat"), &SL("/testfile"), 1, &r), 0);
	expect_args(r, "stat", "17");
	sw_response_del(r);

	/* readv */
	static const sw_readv_range ranges[] = {{3, 3}, {0, 2}};
	sw_call rv = {.verb = SL("readv"), .args = &SL("/readvfile"), .nargs = 1,
	              .body_kind = SW_CALL_BODY_READV, .ranges = ranges, .nranges = 2,
	              .expect_body = true};
	assert_int_equal(sw_client_call(c, &rv, &r), 0);
	expect_args(r, "readv", NULL);
	sw_buf_reset(&body);
	assert_int_equal(sw_response_read_body(r, &body), 0);
	assert_int_equal(body.len, 5);
	assert_memory_equal(body.data, "34501", 5);
	sw_response_del(r);

	/* an error response keeps the connection */
	assert_int_equal(sw_client_call(c, &get, &r), 0);
	sw_buf_reset(&body);
	assert_int_equal(sw_response_read_body(r, &body), 0);
	sw_response_del(r);
	sw_call nope = {.verb = SL("get"), .args = &SL("/nope"), .nargs = 1, .expect_body = true};
	assert_int_equal(sw_client_call(c, &nope, &r), SW_ERR_ERROR_RESPONSE);
	size_t n;
	const sw_slice *ea = sw_client_error_args(c, &n);
	assert_true(n >= 1);
	assert_int_equal(ea[0].n, 10);
	assert_memory_equal(ea[0].p, "NoSuchFile", 10);

	/* an unknown verb */
	assert_int_equal(sw_client_call_simple(c, SL("no-such-verb"), NULL, 0, &r),
	                 SW_ERR_UNKNOWN_METHOD);
	assert_string_equal(sw_client_error_message(c),
	                    "The server does not recognise the 'b'no-such-verb'' request.");

	/* the v1 version query */
	int v = 0;
	assert_int_equal(sw_client_hello(c, &v), 0);
	assert_int_equal(v, 2);

	sw_client_stats st;
	sw_client_get_stats(c, &st);
	assert_int_equal(st.connects, 1);
	sw_buf_fini(&body);
	sw_client_del(c);
}

static void test_brz_auto(void **state)
{
	(void)state;
	run_mode(0);
}

static void test_brz_v3(void **state)
{
	(void)state;
	run_mode(3);
}

static void test_brz_v2(void **state)
{
	(void)state;
	run_mode(2);
}

static void test_brz_v1(void **state)
{
	(void)state;
	run_mode(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brz_auto),
		cmocka_unit_test(test_brz_v3),
		cmocka_unit_test(test_brz_v2),
		cmocka_unit_test(test_brz_v1),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
