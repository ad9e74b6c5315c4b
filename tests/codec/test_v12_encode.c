/* Tests for the v1/v2 encoders (smartwire/v12.h, smartwire/tuple.h,
 * smartwire/body.h, smartwire/readv.h) against the bytes Breezy's own
 * encoders produce (gen_v12.py), every allocation failure leaving the
 * output as it was, and the arguments a v1/v2 tuple cannot carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"

enum enc_op {
	ENC_TUPLE,
	ENC_REQUEST,
	ENC_READV,
	ENC_RESPONSE,
	ENC_STREAM,
	ENC_CHUNKS,
	ENC_PREFIXED,
	ENC_OFFSETS
};

struct enc_vec {
	const char *name;
	enum enc_op op;
	int version;
	bool success;
	const sw_slice *args;
	size_t nargs;
	const sw_slice *body;
	const sw_slice *chunks;
	size_t nchunks;
	bool has_error;
	const sw_slice *error_args;
	size_t nerror;
	const sw_readv_range *ranges;
	size_t nranges;
	const char *expected;
	size_t expected_len;
};

static const struct enc_vec encode_vecs[] = {
#include "vectors/v12_encode.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Encoders against Breezy's bytes ----------------------------------- */

static int encode_one(sw_buf *b, const struct enc_vec *v)
{
	switch (v->op) {
	case ENC_TUPLE: return sw_tuple_encode(b, v->args, v->nargs);
	case ENC_REQUEST: return sw_v12_encode_request(b, v->version, v->args, v->nargs, v->body);
	case ENC_READV:
		return sw_v12_encode_request_readv(b, v->version, v->args, v->nargs, v->ranges,
		                                   v->nranges);
	case ENC_RESPONSE:
		return sw_v12_encode_response(b, v->version, v->success, v->args, v->nargs,
		                              v->body);
	case ENC_STREAM:
		return sw_v12_encode_response_stream(b, v->version, v->success, v->args, v->nargs,
		                                     v->chunks, v->nchunks, v->has_error,
		                                     v->error_args, v->nerror);
	case ENC_CHUNKS: {
		int rv = sw_chunked_encode_header(b);
		for (size_t i = 0; rv == 0 && i < v->nchunks; i++)
			rv = sw_chunked_encode_chunk(b, v->chunks[i].p, v->chunks[i].n);
		return rv ? rv : sw_chunked_encode_end(b);
	}
	case ENC_PREFIXED: return sw_prefixed_encode(b, v->body->p, v->body->n);
	case ENC_OFFSETS: return sw_readv_serialise(b, v->ranges, v->nranges);
	}
	return SW_ERR_INVALID_ARGUMENT;
}

static void test_encoders(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(encode_vecs); i++) {
		const struct enc_vec *v = &encode_vecs[i];
		sw_buf b;
		sw_buf_init(&b, NULL);
		assert_int_equal(sw_buf_append(&b, "pre", 3), 0);
		int rv = encode_one(&b, v);
		if (rv != 0 || b.len != v->expected_len + 3 ||
		    memcmp(b.data + 3, v->expected, v->expected_len) != 0) {
			sw_buf got, want;
			sw_buf_init(&got, NULL);
			sw_buf_init(&want, NULL);
			sw_format_bytes(&got, b.data + 3, b.len - 3);
			sw_format_bytes(&want, v->expected, v->expected_len);
			sw_buf_append_byte(&got, 0);
			sw_buf_append_byte(&want, 0);
			fail_msg("%s: rv %d\n  expected %s\n  actual   %s", v->name, rv,
			         (char *)want.data, (char *)got.data);
		}
		sw_buf_fini(&b);

		/* Every allocation failure leaves the buffer as it was. */
		for (size_t k = 1;; k++) {
			sw_failmem fm;
			sw_failmem_init(&fm, k, true);
			sw_buf_init(&b, &fm.mem);
			sw_buf_init(&b, &fm.mem);
			int r = encode_one(&b, v);
			size_t len = b.len;
			sw_buf_fini(&b);
			assert_int_equal(fm.live, 0);
			if (r == 0) {
				assert_int_equal(len, v->expected_len);
				break;
			}
			assert_int_equal(r, SW_ERR_NOMEM);
			assert_int_equal(len, 0);
		}
	}
}

static void test_encoder_errors(void **state)
{
	(void)state;
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_buf_append(&b, "keep", 4), 0);
	sw_slice bad1[2] = {{(const uint8_t *)"get", 3},
	                    {(const uint8_t *)"a\x01"
	                                      "b",
	                     3}};
	sw_slice bad2[1] = {{(const uint8_t *)"a\nb", 3}};
	sw_slice body = {(const uint8_t *)"x", 1};
	assert_int_equal(sw_tuple_encode(&b, bad1, 2), SW_ERR_BAD_ARGUMENT_BYTE);
	assert_int_equal(sw_tuple_encode(&b, bad2, 1), SW_ERR_BAD_ARGUMENT_BYTE);
	assert_int_equal(sw_v12_encode_request(&b, 2, bad1, 2, &body), SW_ERR_BAD_ARGUMENT_BYTE);
	assert_int_equal(sw_v12_encode_response(&b, 2, true, bad2, 1, NULL),
	                 SW_ERR_BAD_ARGUMENT_BYTE);
	assert_int_equal(
	    sw_v12_encode_response_stream(&b, 2, false, bad2, 1, NULL, 0, true, NULL, 0),
	    SW_ERR_BAD_ARGUMENT_BYTE);
	assert_int_equal(sw_v12_encode_request_readv(&b, 1, bad1, 2, NULL, 0),
	                 SW_ERR_BAD_ARGUMENT_BYTE);
	assert_int_equal(sw_v12_encode_request(&b, 3, bad1, 1, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_v12_encode_response(&b, 0, true, bad1, 1, NULL),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "keep", 4);
	sw_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encoders),
	    cmocka_unit_test(test_encoder_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
