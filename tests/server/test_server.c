/*
 * Server session layer (smartwire/server.h), through the sans-I/O core:
 * byte-exact answers against `brz serve --inet` (tests/vectors/gen_server.py)
 * fed whole, one byte at a time and split at every offset; Breezy's
 * streamed-body encodings; the documented departures (handler behaviours,
 * pipelining, next_read_size and the watermark: test_server_handlers.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/server_check.h"
#include "support/server_drive.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"
#include "smartwire/failmem.h"

#include "support/server_vectors.h"

#define NVEC (sizeof srv_vectors / sizeof srv_vectors[0])

/* Appends a v3 part: kind, u32be length, payload. */
static void add_part(sw_buf *b, char kind, const char *payload)
{
	sw_buf_append_byte(b, (uint8_t)kind);
	sw_buf_append_u32be(b, (uint32_t)strlen(payload));
	sw_buf_append_str(b, payload);
}

/* Runs `in` through a fresh core cut at `cuts`, with EOF, and checks the
 * output, the bookkeeping of the fake handler, and the end state. */
static void check_exchange(const char *name, const uint8_t *in, size_t len, const size_t *cuts,
                           size_t ncuts, const void *want, size_t wlen, const sw_srv_config *cfg)
{
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(cfg, NULL, &f, in, len, cuts, ncuts, true, &out, &o);
	srv_expect_bytes(name, &out, want, wlen);
	assert_false(o.stuck);
	assert_true(o.finished);
	assert_int_equal(f.live, 0);
	assert_int_equal(f.wants, f.ends + f.aborts + f.early);
	sw_buf_fini(&out);
}

/* Whole, one byte at a time, and split in two at every offset. */
static void check_all_splits(const char *name, const uint8_t *in, size_t len, const void *want,
                             size_t wlen, const sw_srv_config *cfg)
{
	check_exchange(name, in, len, NULL, 0, want, wlen, cfg);
	size_t *cuts = calloc(len + 1, sizeof *cuts);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	check_exchange(name, in, len, cuts, len ? len - 1 : 0, want, wlen, cfg);
	for (size_t k = 1; k < len; k++)
		check_exchange(name, in, len, &k, 1, want, wlen, cfg);
	free(cuts);
}

static void test_breezy_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVEC; i++) {
		const struct srv_vec *v = &srv_vectors[i];
		check_all_splits(v->name, (const uint8_t *)v->req, v->req_len, v->resp, v->resp_len,
		                 NULL);
		/* An incomplete request reports UNEXPECTED_EOF and aborts. */
		fake f;
		fake_init(&f, NULL);
		sw_buf out;
		srv_outcome o;
		srv_exchange(NULL, NULL, &f, (const uint8_t *)v->req, v->req_len, NULL, 0, true, &out,
		             &o);
		if (v->eof_class)
			assert_int_equal(o.eof_rv, SW_ERR_UNEXPECTED_EOF);
		assert_int_equal(f.live, 0);
		sw_buf_fini(&out);
	}
}

static void test_stream_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof srv_stream_vectors / sizeof srv_stream_vectors[0]; i++) {
		const struct srv_stream_vec *v = &srv_stream_vectors[i];
		char num[8];
		snprintf(num, sizeof num, "%d", v->nchunks);
		sw_slice args[3] = {fake_sl("stream"), fake_sl(num), fake_sl("fail")};
		sw_buf req;
		srv_build_request(&req, v->version, args, v->fail ? 3 : 2, NULL);
		check_all_splits(v->name, req.data, req.len, v->resp, v->resp_len, NULL);
		sw_buf_fini(&req);
	}
}

static void test_response_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof srv_resp_vectors / sizeof srv_resp_vectors[0]; i++) {
		const struct srv_resp_vec *v = &srv_resp_vectors[i];
		sw_buf req;
		sw_slice verb = fake_sl(strncmp(v->name, "echo", 4) == 0 ? "echo" : "bodyfail");
		sw_slice body = strcmp(v->name, "echo") == 0 ? (sw_slice){(const uint8_t *)"abc\ndef", 8}
		                                              : (sw_slice){(const uint8_t *)"xyz", 3};
		if (strcmp(v->name, "echo empty") == 0)
			body.n = 0;
		srv_build_request(&req, v->version, &verb, 1, &body);
		check_all_splits(v->name, req.data, req.len, v->resp, v->resp_len, NULL);
		sw_buf_fini(&req);
	}
}

/* ---- Departures (server.h), expected bytes assembled from Breezy's ---- */

static const char V3_HEAD[] = "bzr message 3 (bzr 1.6)\n\0\0\0\x1c"
                              "d16:Software version5:3.3.2e";
#define V3_HEAD_LEN 56

/* Breezy's v3 oE ("error", text) answer, built from the Breezy-generated
 * head and the text. */
static void v3_error_answer(sw_buf *b, const char *text)
{
	sw_buf_append(b, V3_HEAD, V3_HEAD_LEN);
	sw_slice a[2] = {fake_sl("error"), fake_sl(text)};
	sw_buf_append(b, "oE", 2);
	assert_int_equal(sw_v3_put_args(b, a, 2), 0);
	sw_buf_append(b, "e", 1);
}

static void test_nonascii_unknown_v12(void **state)
{
	(void)state;
	/* Breezy crashes; we answer its template with the raw verb inserted. */
	const char *names[2] = {"v1 unknown", "v2 unknown"};
	for (int k = 0; k < 2; k++) {
		const struct srv_vec *v = find_vec(names[k]);
		const char *at = strstr(v->resp, "'foo'");
		assert_non_null(at);
		sw_buf want, req;
		sw_buf_init(&want, NULL);
		sw_buf_init(&req, NULL);
		sw_buf_append(&want, v->resp, (size_t)(at - v->resp) + 1);
		sw_buf_append_str(&want, "caf\xc3\xa9");
		sw_buf_append_str(&want, at + 4);
		if (k == 1)
			sw_buf_append_str(&req, "bzr request 2\n");
		sw_buf_append_str(&req, "caf\xc3\xa9\x01x\n");
		check_all_splits("non-ascii verb", req.data, req.len, want.data, want.len, NULL);
		sw_buf_fini(&want);
		sw_buf_fini(&req);
	}
}

static void test_v3_client_abort(void **state)
{
	(void)state;
	const struct srv_vec *hello = find_vec("v3 hello");
	sw_buf req, want;
	sw_buf_init(&req, NULL);
	sw_buf_init(&want, NULL);
	sw_buf_append_str(&req, "bzr message 3 (bzr 1.6)\n");
	sw_buf_append(&req, "\0\0\0\x02" "de", 6);
	add_part(&req, 's', "l5:readv10:/readvfilee");
	add_part(&req, 'b', "1,2");
	sw_buf_append_str(&req, "oE");
	add_part(&req, 's', "l5:errore");
	sw_buf_append_str(&req, "e");
	sw_buf_append(&req, hello->req, hello->req_len);
	v3_error_answer(&want, "Generic bzr smart protocol error: Request body aborted by the client");
	sw_buf_append(&want, hello->resp, hello->resp_len);
	check_all_splits("client abort", req.data, req.len, want.data, want.len, NULL);
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(NULL, NULL, &f, req.data, req.len, NULL, 0, true, &out, &o);
	assert_int_equal(f.aborts, 1);
	assert_int_equal(f.ends, 0);
	assert_int_equal(o.requests, 2);
	sw_buf_fini(&out);
	sw_buf_fini(&req);
	sw_buf_fini(&want);
}

/* A semantic error mid-body aborts the handler (Breezy executes it). */
static void test_v3_semantic_error_aborts(void **state)
{
	(void)state;
	const struct srv_vec *v = find_vec("v3 readv bad status byte");
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(NULL, NULL, &f, (const uint8_t *)v->req, v->req_len, NULL, 0, true, &out, &o);
	srv_expect_bytes(v->name, &out, v->resp, v->resp_len);
	assert_int_equal(f.aborts, 1);
	assert_int_equal(f.ends, 0);
	assert_int_equal(o.feed_err, 0);
	sw_buf_fini(&out);
}

/* Framing errors: Breezy's answer, then the connection closes (no answer
 * for the following request, which Breezy would misread). */
static void test_v3_framing_closes(void **state)
{
	(void)state;
	static const struct {
		const char *vec;
		int err;
	} cases[] = {
		{"v3 headers not bencoded", SW_ERR_BENCODE_SYNTAX},
		{"v3 headers not dict", SW_ERR_HEADER_NOT_DICT},
		{"v3 bad kind before args", SW_ERR_BAD_KIND},
		{"v3 bad kind in body", SW_ERR_BAD_KIND},
		{"v3 structure junk", SW_ERR_BENCODE_JUNK},
		{"v3 bad kind after args", SW_ERR_BAD_KIND},
	};
	const struct srv_vec *hello = find_vec("v3 hello");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct srv_vec *v = find_vec(cases[i].vec);
		sw_buf req;
		sw_buf_init(&req, NULL);
		sw_buf_append(&req, v->req, v->req_len);
		sw_buf_append(&req, hello->req, hello->req_len);
		check_all_splits(v->name, req.data, req.len, v->resp, v->resp_len, NULL);
		fake f;
		fake_init(&f, NULL);
		sw_buf out;
		srv_outcome o;
		srv_exchange(NULL, NULL, &f, req.data, req.len, NULL, 0, false, &out, &o);
		assert_int_equal(o.feed_err, cases[i].err);
		assert_true(o.finished);
		assert_int_equal(f.live, 0);
		assert_int_equal(f.ends, 0);
		sw_buf_fini(&out);
		sw_buf_fini(&req);
	}
}

static void v12_error_answer(sw_buf *b, int version, const char *text)
{
	sw_buf_init(b, NULL);
	if (version == 2)
		sw_buf_append_str(b, "bzr response 2\nfailed\n");
	sw_buf_append_str(b, "error\x01" "Generic bzr smart protocol error: ");
	sw_buf_append_str(b, text);
	sw_buf_append_str(b, "\n");
}

static void check_v12_close(const char *req, int version, const sw_srv_config *cfg, int err)
{
	sw_buf r, want;
	sw_buf_init(&r, NULL);
	if (version == 2)
		sw_buf_append_str(&r, "bzr request 2\n");
	sw_buf_append_str(&r, req);
	sw_buf_append_str(&r, "hello\n");
	v12_error_answer(&want, version, sw_strerror(err));
	check_all_splits(req, r.data, r.len, want.data, want.len, cfg);
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(cfg, NULL, &f, r.data, r.len, NULL, 0, false, &out, &o);
	assert_int_equal(o.feed_err, err);
	assert_true(o.finished);
	assert_int_equal(f.live, 0);
	assert_int_equal(f.ends, 0);
	sw_buf_fini(&out);
	sw_buf_fini(&r);
	sw_buf_fini(&want);
}

static void test_v12_framing_closes(void **state)
{
	(void)state;
	sw_srv_config small;
	memset(&small, 0, sizeof small);
	small.max_line = 16;
	small.max_args = 3;
	small.max_body = 10;
	for (int ver = 1; ver <= 2; ver++) {
		check_v12_close("readv\x01/readvfile\n3\n0,1XXXXX", ver, NULL, SW_ERR_BAD_TRAILER);
		check_v12_close("readv\x01/readvfile\nabc\n", ver, NULL, SW_ERR_BAD_LENGTH);
		check_v12_close("get\x01/aaaaaaaaaaaaaaaaaaaaa\n", ver, &small, SW_ERR_LINE_TOO_LONG);
		check_v12_close("a\x01" "b\x01" "c\x01" "d\n", ver, &small, SW_ERR_TOO_MANY_ARGS);
		check_v12_close("echo\n11\nhello world", ver, &small, SW_ERR_BODY_TOO_LARGE);
	}
}

static void test_v3_limits_close(void **state)
{
	(void)state;
	sw_srv_config small;
	memset(&small, 0, sizeof small);
	small.max_struct = 8;
	small.max_header = 8;
	small.max_body = 4;
	static const struct {
		const char *hdr;
		const char *parts[3];
		int err;
	} cases[] = {
		{"de", {"sl5:hello1:xe", NULL, NULL}, SW_ERR_STRUCT_TOO_LARGE},
		{"d16:Software version5:3.3.2e", {NULL, NULL, NULL}, SW_ERR_HEADER_TOO_LARGE},
		{"de", {"sl4:echoe", "bab", "bcde"}, SW_ERR_MESSAGE_TOO_LARGE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sw_buf r, want;
		sw_buf_init(&r, NULL);
		sw_buf_init(&want, NULL);
		sw_buf_append_str(&r, "bzr message 3 (bzr 1.6)\n");
		sw_buf_append_u32be(&r, (uint32_t)strlen(cases[i].hdr));
		sw_buf_append_str(&r, cases[i].hdr);
		for (int k = 0; k < 3 && cases[i].parts[k]; k++)
			add_part(&r, cases[i].parts[k][0], cases[i].parts[k] + 1);
		sw_buf_append_str(&r, "e");
		char text[160];
		snprintf(text, sizeof text, "Generic bzr smart protocol error: %s",
		         sw_strerror(cases[i].err));
		v3_error_answer(&want, text);
		check_all_splits("v3 limit", r.data, r.len, want.data, want.len, &small);
		fake f;
		fake_init(&f, NULL);
		sw_buf out;
		srv_outcome o;
		srv_exchange(&small, NULL, &f, r.data, r.len, NULL, 0, false, &out, &o);
		assert_int_equal(o.feed_err, cases[i].err);
		assert_int_equal(f.live, 0);
		sw_buf_fini(&out);
		sw_buf_fini(&r);
		sw_buf_fini(&want);
	}
}

/* EOF after a trivial v3 request was answered but before its 'e': the
 * answer (here a get with its body) is completed. */
static void test_eof_after_answer(void **state)
{
	(void)state;
	const struct srv_vec *v = find_vec("v3 get");
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(NULL, NULL, &f, (const uint8_t *)v->req, v->req_len - 1, NULL, 0, true, &out,
	             &o);
	srv_expect_bytes("get then eof", &out, v->resp, v->resp_len);
	assert_int_equal(o.eof_rv, SW_ERR_UNEXPECTED_EOF);
	assert_true(o.finished);
	assert_int_equal(f.live, 0);
	sw_buf_fini(&out);
}

static void test_unexpected_part_repr_cut(void **state)
{
	(void)state;
	size_t n = SW_SRV_REPR_MAX + 100;
	sw_buf r;
	sw_buf_init(&r, NULL);
	sw_buf_append_str(&r, "bzr message 3 (bzr 1.6)\n");
	sw_buf_append(&r, "\0\0\0\x02" "de", 6);
	sw_buf_append_byte(&r, 'b');
	sw_buf_append_u32be(&r, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		sw_buf_append_byte(&r, 'a');
	sw_buf_append(&r, "s\0\0\0\x09l5:helloee", 15);
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(NULL, NULL, &f, r.data, r.len, NULL, 0, true, &out, &o);
	static const char tail[] = "aaaa'...)ee";
	assert_true(out.len > sizeof tail);
	assert_memory_equal(out.data + out.len - (sizeof tail - 1), tail, sizeof tail - 1);
	assert_true(out.len < SW_SRV_REPR_MAX + 200);
	assert_int_equal(o.requests, 1);
	sw_buf_fini(&out);
	sw_buf_fini(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_breezy_vectors),
	    cmocka_unit_test(test_stream_vectors),
	    cmocka_unit_test(test_response_vectors),
	    cmocka_unit_test(test_nonascii_unknown_v12),
	    cmocka_unit_test(test_v3_client_abort),
	    cmocka_unit_test(test_v3_semantic_error_aborts),
	    cmocka_unit_test(test_v3_framing_closes),
	    cmocka_unit_test(test_v12_framing_closes),
	    cmocka_unit_test(test_v3_limits_close),
	    cmocka_unit_test(test_eof_after_answer),
	    cmocka_unit_test(test_unexpected_part_repr_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
