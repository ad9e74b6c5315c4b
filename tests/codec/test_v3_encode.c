/* Tests for the protocol v3 encoder (smartwire/v3.h): our functions must
 * rebuild byte for byte the messages Breezy's ProtocolThreeRequester and
 * ProtocolThreeResponder wrote (tests/vectors/v3_encode_vectors.inc, made by
 * gen_v3.py) and the literals of test_smart_transport.py, and report every
 * allocation failure without a leak or a half-written part. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/v3.h"
#include "smartwire/failmem.h"

typedef struct v3_enc_vector {
	const char *name;
	const char *input;
	size_t len;
	const char *trace;
	int arg;
} v3_enc_vector;

static const v3_enc_vector enc_vectors[] = {
#include "vectors/v3_encode_vectors.inc"
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define S(lit) {(const uint8_t *)(lit), sizeof(lit) - 1}

static const sw_slice hdr_test[2] = {S("header name"), S("header value")};
static const sw_slice one_arg[1] = {S("one arg")};

typedef int (*builder)(sw_buf *out);

static int b_call_smoke(sw_buf *o)
{
	return sw_v3_encode_request(o, hdr_test, 1, one_arg, 1, NULL);
}

static int b_call_body(sw_buf *o)
{
	sw_slice body = S("body bytes");
	return sw_v3_encode_request(o, hdr_test, 1, one_arg, 1, &body);
}

static int b_call_stream(sw_buf *o)
{
	int rv = sw_v3_encode_request_start(o, hdr_test, 1, one_arg, 1);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "chunk 1", 7);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "chunk two", 9);
	if (rv == 0)
		rv = sw_v3_put_end(o);
	return rv;
}

static int b_call_stream_empty(sw_buf *o)
{
	int rv = sw_v3_encode_request_start(o, NULL, 0, one_arg, 1);
	return rv ? rv : sw_v3_put_end(o);
}

static int b_call_stream_error(sw_buf *o)
{
	int rv = sw_v3_encode_request_start(o, NULL, 0, one_arg, 1);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "aaa", 3);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "bbb", 3);
	if (rv == 0)
		rv = sw_v3_encode_request_abort(o);
	return rv;
}

static int b_call_get_default(sw_buf *o)
{
	sw_slice args[2] = {S("get"), S("/testfile")};
	return sw_v3_encode_request(o, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS, args,
	                            2, NULL);
}

static int b_call_hello(sw_buf *o)
{
	sw_slice args[1] = {S("hello")};
	return sw_v3_encode_request(o, NULL, 0, args, 1, NULL);
}

static int b_call_no_args(sw_buf *o)
{
	return sw_v3_encode_request(o, NULL, 0, NULL, 0, NULL);
}

static int b_call_readv(sw_buf *o)
{
	sw_slice args[2] = {S("readv"), S("/readvfile")};
	sw_slice body = S("3,3\n0,2");
	return sw_v3_encode_request(o, NULL, 0, args, 2, &body);
}

static int b_call_empty_body(sw_buf *o)
{
	sw_slice args[3] = {S("put"), S("/new"), S("")};
	sw_slice body = {NULL, 0};
	return sw_v3_encode_request(o, NULL, 0, args, 3, &body);
}

static int b_call_unsorted_headers(sw_buf *o)
{
	sw_slice kv[8] = {S("z"), S("1"), S("Software version"), S("3.3.2"),
	                  S("a"), S(""),  S(""),                 S("x")};
	sw_slice args[1] = {S("hello")};
	return sw_v3_encode_request(o, kv, 4, args, 1, NULL);
}

static int b_send_error_unknown(sw_buf *o)
{
	sw_slice args[2] = {S("UnknownMethod"), S("method name")};
	return sw_v3_encode_response(o, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS,
	                             false, args, 2, NULL);
}

static int b_send_error_exception(sw_buf *o)
{
	sw_slice args[2] = {S("error"), S("An exception string.")};
	return sw_v3_encode_response(o, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS,
	                             false, args, 2, NULL);
}

static int b_send_broken_stream(sw_buf *o)
{
	sw_slice args[1] = {S("args")};
	sw_slice err[3] = {S("error"), S("Exception"), S("Boom!")};
	int rv = sw_v3_encode_response_start(o, NULL, 0, true, args, 1);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "aaa", 3);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "bbb", 3);
	if (rv == 0)
		rv = sw_v3_encode_stream_error(o, err, 3);
	return rv;
}

static int b_send_hello(sw_buf *o)
{
	sw_slice args[2] = {S("ok"), S("2")};
	return sw_v3_encode_response(o, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS, true,
	                             args, 2, NULL);
}

static int b_send_body(sw_buf *o)
{
	sw_slice args[1] = {S("ok")};
	sw_slice body = S("contents\nof\nfile\n");
	int rv = sw_v3_encode_response_start(o, sw_v3_default_header_kv,
	                                     SW_V3_DEFAULT_HEADER_PAIRS, true, args, 1);
	/* The zero-copy route: prefix here, bytes written by the caller. */
	if (rv == 0)
		rv = sw_v3_put_bytes_prefix(o, (uint32_t)body.n);
	if (rv == 0)
		rv = sw_buf_append(o, body.p, body.n);
	if (rv == 0)
		rv = sw_v3_put_end(o);
	return rv;
}

static int b_send_empty_body(sw_buf *o)
{
	sw_slice args[1] = {S("ok")};
	sw_slice body = {(const uint8_t *)"", 0};
	return sw_v3_encode_response(o, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS, true,
	                             args, 1, &body);
}

static int b_send_failed(sw_buf *o)
{
	sw_slice args[2] = {S("NoSuchFile"), S("/srv/x/nope")};
	return sw_v3_encode_response(o, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS,
	                             false, args, 2, NULL);
}

static int b_send_stream(sw_buf *o)
{
	sw_slice args[1] = {S("ok")};
	int rv = sw_v3_encode_response_start(o, sw_v3_default_header_kv,
	                                     SW_V3_DEFAULT_HEADER_PAIRS, true, args, 1);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "chunk one", 9);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, NULL, 0);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "chunk three", 11);
	if (rv == 0)
		rv = sw_v3_put_end(o);
	return rv;
}

static int b_send_stream_failed_chunk(sw_buf *o)
{
	sw_slice args[1] = {S("ok")};
	sw_slice err[2] = {S("error"), S("stream failed")};
	int rv = sw_v3_encode_response_start(o, sw_v3_default_header_kv,
	                                     SW_V3_DEFAULT_HEADER_PAIRS, true, args, 1);
	if (rv == 0)
		rv = sw_v3_put_bytes(o, "aaa", 3);
	if (rv == 0)
		rv = sw_v3_encode_stream_error(o, err, 2);
	return rv;
}

static const struct {
	const char *name;
	builder build;
} builders[] = {
	{"call_smoke_test", b_call_smoke},
	{"call_with_body_bytes_smoke_test", b_call_body},
	{"call_with_body_stream_smoke_test", b_call_stream},
	{"call_with_body_stream_empty_stream", b_call_stream_empty},
	{"call_with_body_stream_error", b_call_stream_error},
	{"call_get_default_headers", b_call_get_default},
	{"call_hello_empty_headers", b_call_hello},
	{"call_no_args", b_call_no_args},
	{"call_with_body_readv_array", b_call_readv},
	{"call_with_empty_body_bytes", b_call_empty_body},
	{"call_unsorted_headers", b_call_unsorted_headers},
	{"send_error_unknown_method", b_send_error_unknown},
	{"send_error_exception", b_send_error_exception},
	{"send_broken_body_stream", b_send_broken_stream},
	{"send_response_hello", b_send_hello},
	{"send_response_with_body", b_send_body},
	{"send_response_with_empty_body", b_send_empty_body},
	{"send_failed_response", b_send_failed},
	{"send_response_body_stream", b_send_stream},
	{"send_response_body_stream_failed_chunk", b_send_stream_failed_chunk},
};

/* Each Breezy-produced message is rebuilt byte for byte by our encoder, and
 * every allocation failure along the way is reported without a leak. */
static void test_encoder_matches_breezy(void **state)
{
	(void)state;
	assert_int_equal(NELEM(builders), NELEM(enc_vectors));
	for (size_t i = 0; i < NELEM(enc_vectors); i++) {
		const v3_enc_vector *v = &enc_vectors[i];
		size_t b = 0;
		while (b < NELEM(builders) && strcmp(builders[b].name, v->name) != 0)
			b++;
		if (b == NELEM(builders))
			fail_msg("no builder for encoder vector %s", v->name);
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		sw_buf out;
		sw_buf_init(&out, &fm.mem);
		assert_int_equal(builders[b].build(&out), 0);
		if (out.len != v->len || memcmp(out.data, v->input, v->len) != 0)
			fail_msg("%s: encoding differs from Breezy's", v->name);
		sw_buf_fini(&out);
		size_t sites = fm.calls;
		for (size_t n = 1; n <= sites; n++) {
			for (int persistent = 0; persistent <= 1; persistent++) {
				sw_failmem_init(&fm, n, persistent);
				sw_buf_init(&out, &fm.mem);
				int rv = builders[b].build(&out);
				if (rv == 0)
					assert_memory_equal(out.data, v->input, v->len);
				else
					assert_int_equal(rv, SW_ERR_NOMEM);
				sw_buf_fini(&out);
				assert_int_equal(fm.live, 0);
			}
		}
	}
}

/* The exact literals of test_smart_transport.py, independent of the
 * generator. */
static void test_encoder_breezy_literals(void **state)
{
	(void)state;
	sw_buf o;
	sw_buf_init(&o, NULL);
	static const char smoke[] = "bzr message 3 (bzr 1.6)\n"
	                            "\x00\x00\x00\x1f" "d11:header name12:header valuee"
	                            "s\x00\x00\x00\x0bl7:one arge" "e";
	assert_int_equal(b_call_smoke(&o), 0);
	assert_int_equal(o.len, sizeof smoke - 1);
	assert_memory_equal(o.data, smoke, o.len);

	sw_buf_reset(&o);
	static const char body[] = "bzr message 3 (bzr 1.6)\n"
	                           "\x00\x00\x00\x1f" "d11:header name12:header valuee"
	                           "s\x00\x00\x00\x0bl7:one arge" "b\x00\x00\x00\nbody bytes" "e";
	assert_int_equal(b_call_body(&o), 0);
	assert_int_equal(o.len, sizeof body - 1);
	assert_memory_equal(o.data, body, o.len);

	sw_buf_reset(&o);
	static const char stream[] = "bzr message 3 (bzr 1.6)\n"
	                             "\x00\x00\x00\x1f" "d11:header name12:header valuee"
	                             "s\x00\x00\x00\x0bl7:one arge" "b\x00\x00\x00\x07" "chunk 1"
	                             "b\x00\x00\x00\x09" "chunk two" "e";
	assert_int_equal(b_call_stream(&o), 0);
	assert_int_equal(o.len, sizeof stream - 1);
	assert_memory_equal(o.data, stream, o.len);

	sw_buf_reset(&o);
	static const char empty[] = "bzr message 3 (bzr 1.6)\n" "\x00\x00\x00\x02" "de"
	                            "s\x00\x00\x00\x0bl7:one arge" "e";
	assert_int_equal(b_call_stream_empty(&o), 0);
	assert_int_equal(o.len, sizeof empty - 1);
	assert_memory_equal(o.data, empty, o.len);

	sw_buf_reset(&o);
	static const char err[] = "bzr message 3 (bzr 1.6)\n" "\x00\x00\x00\x02" "de"
	                          "s\x00\x00\x00\x0bl7:one arge" "b\x00\x00\x00\x03" "aaa"
	                          "b\x00\x00\x00\x03" "bbb" "oE" "s\x00\x00\x00\x09l5:errore" "e";
	assert_int_equal(b_call_stream_error(&o), 0);
	assert_int_equal(o.len, sizeof err - 1);
	assert_memory_equal(o.data, err, o.len);

	sw_buf_reset(&o);
	static const char unknown[] = "oE" "s\x00\x00\x00\x20l13:UnknownMethod11:method namee" "e";
	assert_int_equal(b_send_error_unknown(&o), 0);
	assert_true(o.len > sizeof unknown - 1);
	assert_memory_equal(o.data + o.len - (sizeof unknown - 1), unknown, sizeof unknown - 1);

	sw_buf_reset(&o);
	static const char broken[] = "bzr message 3 (bzr 1.6)\n" "\x00\x00\x00\x02" "de"
	                             "oS" "s\x00\x00\x00\x08l4:argse" "b\x00\x00\x00\x03" "aaa"
	                             "b\x00\x00\x00\x03" "bbb" "oE"
	                             "s\x00\x00\x00\x1bl5:error9:Exception5:Boom!e" "e";
	assert_int_equal(b_send_broken_stream(&o), 0);
	assert_int_equal(o.len, sizeof broken - 1);
	assert_memory_equal(o.data, broken, o.len);

	sw_buf_reset(&o);
	static const char dflt[] = "\x00\x00\x00\x1c" "d16:Software version5:3.3.2e";
	assert_int_equal(sw_v3_put_default_headers(&o), 0);
	assert_int_equal(o.len, sizeof dflt - 1);
	assert_memory_equal(o.data, dflt, o.len);
	sw_buf_fini(&o);
}

/* The building blocks not covered above, and the argument errors. */
static void test_encoder_parts_and_errors(void **state)
{
	(void)state;
	sw_buf o;
	sw_buf_init(&o, NULL);
	assert_int_equal(sw_buf_append(&o, "keep", 4), 0);

	/* Duplicate header keys: rejected, buffer untouched. */
	sw_slice dup[4] = {S("a"), S("1"), S("a"), S("2")};
	assert_int_equal(sw_v3_put_headers(&o, dup, 2), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(o.len, 4);
	sw_slice args[1] = {S("x")};
	assert_int_equal(sw_v3_encode_request(&o, dup, 2, args, 1, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(o.len, 4);

	/* Structure from a value tree, with unsorted dict keys refused. */
	sw_bval kv[2] = {sw_bstr("b", 1), sw_bint(-7)};
	sw_bval items[3] = {sw_bstr("a", 1), sw_bint(42), sw_bdict(kv, 2)};
	sw_bval list = sw_blist(items, 3);
	assert_int_equal(sw_v3_put_structure(&o, &list), 0);
	static const char st[] = "keeps\0\0\0\x12l1:ai42ed1:bi-7eee";
	assert_int_equal(o.len, sizeof st - 1);
	assert_memory_equal(o.data, st, o.len);
	sw_bval bad[4] = {sw_bstr("b", 1), sw_bint(1), sw_bstr("a", 1), sw_bint(2)};
	sw_bval bad_dict = sw_bdict(bad, 4);
	assert_int_equal(sw_v3_put_structure(&o, &bad_dict), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(o.len, sizeof st - 1);

	/* Headers from a value tree. */
	sw_buf_reset(&o);
	sw_bval hv[2] = {sw_bstr("k", 1), sw_bint(1)};
	sw_bval hd = sw_bdict(hv, 2);
	assert_int_equal(sw_v3_put_headers_bval(&o, &hd), 0);
	assert_int_equal(o.len, 4 + 8);
	assert_memory_equal(o.data, "\0\0\0\x08" "d1:ki1ee", 12);
	assert_int_equal(sw_v3_put_headers_bval(&o, &list), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(o.len, 12);

	/* One-byte parts and the end. */
	sw_buf_reset(&o);
	assert_int_equal(sw_v3_put_byte(&o, 'S'), 0);
	assert_int_equal(sw_v3_put_end(&o), 0);
	assert_int_equal(o.len, 3);
	assert_memory_equal(o.data, "oSe", 3);
	sw_buf_fini(&o);
}

/* A failed whole-message encoder restores the buffer's length. */
static void test_encoder_restores_on_nomem(void **state)
{
	(void)state;
	sw_slice args[2] = {S("get"), S("/a")};
	sw_slice body = S("0123456789");
	size_t failures = 0;
	for (size_t n = 1; n < 8; n++) {
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		sw_buf o;
		sw_buf_init(&o, &fm.mem);
		assert_int_equal(sw_buf_append(&o, "x", 1), 0); /* a 64-byte buffer */
		fm.fail_at = fm.calls + n;
		fm.persistent = true;
		int rv = sw_v3_encode_response(&o, sw_v3_default_header_kv,
		                               SW_V3_DEFAULT_HEADER_PAIRS, true, args, 2, &body);
		if (rv < 0) {
			failures++;
			assert_int_equal(rv, SW_ERR_NOMEM);
			assert_int_equal(o.len, 1);
			assert_int_equal(o.data[0], 'x');
		}
		sw_buf_fini(&o);
		assert_int_equal(fm.live, 0);
	}
	assert_true(failures > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoder_matches_breezy),
		cmocka_unit_test(test_encoder_breezy_literals),
		cmocka_unit_test(test_encoder_parts_and_errors),
		cmocka_unit_test(test_encoder_restores_on_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
