/*
 * Server session layer (smartwire/server.h), through the sans-I/O core:
 * byte-exact answers against `brz serve --inet` (tests/vectors/gen_server.py)
 * fed whole, one byte at a time and split at every offset; Breezy's
 * streamed-body encodings; the documented departures; the handler contract;
 * pipelining, next_read_size and the output watermark.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/server_drive.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"
#include "smartwire/failmem.h"

#include "support/server_vectors.h"

#define NVEC (sizeof srv_vectors / sizeof srv_vectors[0])

static const void *find_mem(const void *hay, size_t n, const void *needle, size_t k)
{
	const uint8_t *h = hay;
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(h + i, needle, k) == 0)
			return h + i;
	return NULL;
}

/* Appends a v3 part: kind, u32be length, payload. */
static void add_part(sw_buf *b, char kind, const char *payload)
{
	sw_buf_append_byte(b, (uint8_t)kind);
	sw_buf_append_u32be(b, (uint32_t)strlen(payload));
	sw_buf_append_str(b, payload);
}

static void expect_bytes(const char *what, const sw_buf *got, const void *want, size_t n)
{
	if (got->len != n || (n && memcmp(got->data, want, n) != 0)) {
		sw_buf a, b;
		sw_buf_init(&a, NULL);
		sw_buf_init(&b, NULL);
		sw_format_bytes(&a, got->data, got->len);
		sw_format_bytes(&b, want, n);
		sw_buf_append_byte(&a, 0);
		sw_buf_append_byte(&b, 0);
		fail_msg("%s:\n got  %s\n want %s", what, (char *)a.data, (char *)b.data);
	}
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
	expect_bytes(name, &out, want, wlen);
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

/* Builds a request for `args` in `version` (our encoders build INPUT only;
 * every expected answer comes from Breezy). */
static void build_request(sw_buf *b, int version, const sw_slice *args, size_t n,
                          const sw_slice *body)
{
	sw_buf_init(b, NULL);
	if (version == 3)
		assert_int_equal(sw_v3_encode_request(b, NULL, 0, args, n, body), 0);
	else
		assert_int_equal(sw_v12_encode_request(b, version, args, n, body), 0);
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
		build_request(&req, v->version, args, v->fail ? 3 : 2, NULL);
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
		build_request(&req, v->version, &verb, 1, &body);
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
	expect_bytes(v->name, &out, v->resp, v->resp_len);
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
	expect_bytes("get then eof", &out, v->resp, v->resp_len);
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

/* ---- Handler behaviours ---------------------------------------------- */

static void run_simple(int version, const sw_slice *args, size_t n, const sw_slice *body,
                       bool then_hello, sw_buf *out, srv_outcome *o, fake *f)
{
	sw_buf req;
	build_request(&req, version, args, n, body);
	if (then_hello) {
		sw_slice h = fake_sl("hello");
		sw_buf more;
		build_request(&more, version, &h, 1, NULL);
		sw_buf_append(&req, more.data, more.len);
		sw_buf_fini(&more);
	}
	fake_init(f, NULL);
	srv_exchange(NULL, NULL, f, req.data, req.len, NULL, 0, true, out, o);
	sw_buf_fini(&req);
}

static void test_stream_read_failure(void **state)
{
	(void)state;
	sw_slice args[3] = {fake_sl("stream"), fake_sl("2"), fake_sl("neg")};
	fake f;
	sw_buf out;
	srv_outcome o;
	/* v3: oE ("error", "smartwire.StreamError", text) e, connection kept. */
	run_simple(3, args, 3, NULL, true, &out, &o, &f);
	const struct srv_stream_vec *two = NULL;
	for (size_t i = 0; i < sizeof srv_stream_vectors / sizeof srv_stream_vectors[0]; i++)
		if (srv_stream_vectors[i].version == 3 &&
		    strcmp(srv_stream_vectors[i].name, "stream 2 fail") == 0)
			two = &srv_stream_vectors[i];
	assert_non_null(two);
	const char *oe = find_mem(two->resp, two->resp_len, "oEs", 3);
	size_t head = (size_t)(oe - two->resp);
	assert_true(out.len > head);
	assert_memory_equal(out.data, two->resp, head);
	assert_non_null(find_mem(out.data, out.len, "smartwire.StreamError", 21));
	assert_int_equal(o.requests, 2);
	assert_int_equal(o.feed_err, 0);
	sw_buf_fini(&out);
	/* v2: Breezy lets the exception escape: body cut, connection closed. */
	run_simple(2, args, 3, NULL, true, &out, &o, &f);
	static const char v2[] = "bzr response 2\nsuccess\nok\nchunked\n6\nchunk06\nchunk1";
	expect_bytes("v2 stream failure", &out, v2, sizeof v2 - 1);
	assert_int_equal(o.error, SW_ERR_IO);
	assert_true(o.finished);
	assert_int_equal(f.live, 0);
	sw_buf_fini(&out);
	/* v1: the stream is never read. */
	run_simple(1, args, 3, NULL, false, &out, &o, &f);
	expect_bytes("v1 stream", &out, "ok\n", 3);
	assert_int_equal(f.body_bytes_out, 0);
	sw_buf_fini(&out);
}

static void test_fatal_handlers(void **state)
{
	(void)state;
	fake f;
	sw_buf out;
	srv_outcome o;
	sw_slice body = fake_sl("xyz");
	for (int ver = 1; ver <= 3; ver++) {
		sw_slice a = fake_sl("fatal");
		run_simple(ver, &a, 1, NULL, true, &out, &o, &f);
		assert_int_equal(out.len, 0);
		assert_int_equal(o.feed_err, SW_ERR_IO);
		assert_true(o.finished);
		sw_buf_fini(&out);
		a = fake_sl("fatalbody");
		run_simple(ver, &a, 1, &body, true, &out, &o, &f);
		assert_int_equal(out.len, 0);
		assert_int_equal(o.feed_err, SW_ERR_IO);
		assert_int_equal(f.aborts, 1);
		assert_int_equal(f.live, 0);
		sw_buf_fini(&out);
		/* A known-length body cut short: the head and what was read, then
		 * the connection closes. */
		sw_slice sb[2] = {fake_sl("shortbody"), fake_sl("10")};
		run_simple(ver, sb, 2, NULL, true, &out, &o, &f);
		assert_int_equal(f.body_bytes_out, 5);
		assert_int_equal(o.requests, 0);
		assert_true(o.finished);
		assert_int_equal(f.live, 0);
		sw_buf_fini(&out);
	}
}

static void test_bodyfail_then_next(void **state)
{
	(void)state;
	for (int ver = 1; ver <= 3; ver++) {
		const struct srv_resp_vec *want = NULL;
		for (size_t i = 0; i < sizeof srv_resp_vectors / sizeof srv_resp_vectors[0]; i++)
			if (srv_resp_vectors[i].version == ver &&
			    strcmp(srv_resp_vectors[i].name, "bodyfail") == 0)
				want = &srv_resp_vectors[i];
		sw_slice a = fake_sl("bodyfail");
		sw_slice body = fake_sl("0123456789");
		fake f;
		sw_buf out;
		srv_outcome o;
		run_simple(ver, &a, 1, &body, true, &out, &o, &f);
		const struct srv_vec *h = find_vec(ver == 1 ? "v1 hello" : ver == 2 ? "v2 hello"
		                                                                   : "v3 hello");
		sw_buf exp;
		sw_buf_init(&exp, NULL);
		sw_buf_append(&exp, want->resp, want->resp_len);
		sw_buf_append(&exp, h->resp, h->resp_len);
		expect_bytes("bodyfail", &out, exp.data, exp.len);
		assert_int_equal(f.bodies, 1); /* the rest of the body is discarded */
		assert_int_equal(f.ends, 0);
		assert_int_equal(o.requests, 2);
		sw_buf_fini(&exp);
		sw_buf_fini(&out);
	}
}

/* A handler that breaks the contract in various ways. */
static int bad_mode;
static int bad_begin(void *ud, sw_srv_req *req, const sw_slice *args, size_t n, void **ctx)
{
	(void)ud;
	(void)args;
	(void)n;
	(void)ctx;
	sw_slice ok = fake_sl("ok"), nl = fake_sl("a\nb");
	switch (bad_mode) {
	case 0: /* answered without responding */
		return SW_SRV_ANSWERED;
	case 1: /* wants a body after responding */
		sw_srv_respond(req, true, &ok, 1);
		return SW_SRV_WANT_BODY;
	case 2: /* responding twice; a bad v1 byte, then a good answer */
		assert_int_equal(sw_srv_respond(req, true, &nl, 1),
		                 sw_srv_req_version(req) == 3 ? 0 : SW_ERR_BAD_ARGUMENT_BYTE);
		if (sw_srv_req_version(req) != 3)
			assert_int_equal(sw_srv_respond(req, true, &ok, 1), 0);
		assert_int_equal(sw_srv_respond(req, true, &ok, 1), SW_ERR_STATE);
		assert_int_equal(sw_srv_stream_error(req, &ok, 1), SW_ERR_STATE);
		return SW_SRV_ANSWERED;
	default: /* a body wanted but no end handler */
		return SW_SRV_WANT_BODY;
	}
}

static void test_handler_contract(void **state)
{
	(void)state;
	sw_dispatch d = {bad_begin, NULL, NULL, NULL, NULL, NULL};
	static const int want_err[] = {SW_ERR_STATE, SW_ERR_STATE, 0, SW_ERR_STATE};
	for (bad_mode = 0; bad_mode < 4; bad_mode++) {
		for (int ver = 1; ver <= 3; ver++) {
			sw_srv_conn *c;
			assert_int_equal(sw_srv_conn_new(&c, NULL, &d, NULL, NULL), 0);
			sw_slice a = fake_sl("x");
			sw_buf req, out;
			build_request(&req, ver, &a, 1, NULL);
			sw_buf_init(&out, NULL);
			srv_outcome o;
			srv_drive(c, req.data, req.len, NULL, 0, true, &out, &o);
			if (bad_mode == 3 && ver != 3) {
				/* v1/v2: the body never came; EOF aborts the request. */
				assert_int_equal(o.feed_err, 0);
				assert_int_equal(o.eof_rv, SW_ERR_UNEXPECTED_EOF);
			} else {
				assert_int_equal(o.feed_err, want_err[bad_mode]);
			}
			if (bad_mode == 2)
				assert_int_equal(o.requests, 1);
			sw_srv_conn_del(c);
			sw_buf_fini(&req);
			sw_buf_fini(&out);
		}
	}
	/* API argument checks. */
	sw_srv_conn *c;
	assert_int_equal(sw_srv_conn_new(NULL, NULL, &d, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_dispatch none = {0};
	assert_int_equal(sw_srv_conn_new(&c, NULL, &none, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_srv_respond(NULL, true, NULL, 0), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_srv_conn_feed(NULL, NULL, 0), SW_ERR_INVALID_ARGUMENT);
	sw_srv_conn_del(NULL);
	assert_int_equal(sw_srv_conn_new(&c, NULL, &d, NULL, NULL), 0);
	assert_int_equal(sw_srv_conn_eof(c), 0);
	assert_int_equal(sw_srv_conn_feed(c, (const uint8_t *)"x", 1), SW_ERR_STATE);
	assert_true(sw_srv_conn_finished(c));
	sw_srv_conn_del(c);
}

static void test_pipelining(void **state)
{
	(void)state;
	/* Three requests of three versions in one feed, answered in order with
	 * no further input and no EOF. */
	const struct srv_vec *mixed = find_vec("mixed v2 v1 v3");
	fake f;
	fake_init(&f, NULL);
	sw_buf out;
	srv_outcome o;
	srv_exchange(NULL, NULL, &f, (const uint8_t *)mixed->req, mixed->req_len, NULL, 0, false,
	             &out, &o);
	expect_bytes("pipelined", &out, mixed->resp, mixed->resp_len);
	assert_int_equal(o.requests, 3);
	assert_false(o.finished);
	sw_buf_fini(&out);
}

static void test_next_read_size(void **state)
{
	(void)state;
	fake f;
	fake_init(&f, NULL);
	sw_dispatch d = fake_dispatch();
	sw_srv_conn *c;
	assert_int_equal(sw_srv_conn_new(&c, NULL, &d, &f, NULL), 0);
	/* Breezy: 1 per byte of the first line; v1 body: 6, then bytes_left+5,
	 * then trailer bytes left (protocol-reference 5.2, 5.3). */
	static const char v1[] = "readv\x01/r\n3\n1,2done\n";
	static const size_t v1_nrs[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 8, 7, 6, 5, 4, 3, 2, 1};
	for (size_t i = 0; i < sizeof v1 - 1; i++) {
		assert_int_equal(sw_srv_conn_next_read_size(c), v1_nrs[i]);
		assert_int_equal(sw_srv_conn_feed(c, (const uint8_t *)v1 + i, 1), 1);
	}
	/* v3: ProtocolThreeDecoder's exact counts (5.5). */
	static const char v3[] = "bzr message 3 (bzr 1.6)\n\0\0\0\x02" "des\0\0\0\x09l5:helloee";
	for (size_t i = 0; i < sizeof v3 - 1; i++) {
		size_t nrs = sw_srv_conn_next_read_size(c);
		size_t want = i < 24 ? 1 : i == 24 ? 4 : i == 28 ? 2 : i == 30 ? 1 : i == 31 ? 4
		            : i == 35 ? 9 : nrs;
		assert_int_equal(nrs, want);
		assert_int_equal(sw_srv_conn_feed(c, (const uint8_t *)v3 + i, 1), 1);
	}
	assert_int_equal(sw_srv_conn_next_read_size(c), 1);
	assert_int_equal(sw_srv_conn_requests(c), 2);
	sw_srv_conn_del(c);
}

/* A large body never sits in memory: the queue stays near the watermark. */
static void test_watermark(void **state)
{
	(void)state;
	const size_t big = 8u << 20;
	sw_srv_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.output_watermark = 32 * 1024;
	cfg.stream_chunk = 16 * 1024;
	for (int ver = 1; ver <= 3; ver++) {
		sw_slice a[2] = {fake_sl("big"), fake_sl("8388608")};
		sw_buf req;
		build_request(&req, ver, a, 2, NULL);
		sw_slice h = fake_sl("hello");
		sw_buf more;
		build_request(&more, ver, &h, 1, NULL);
		for (int k = 0; k < 3; k++) /* pipelined behind it */
			sw_buf_append(&req, more.data, more.len);
		fake f;
		fake_init(&f, NULL);
		sw_buf out;
		srv_outcome o;
		srv_exchange(&cfg, NULL, &f, req.data, req.len, NULL, 0, true, &out, &o);
		assert_true(o.max_queue <= cfg.output_watermark + cfg.stream_chunk + 128);
		assert_int_equal(f.body_bytes_out, big);
		assert_int_equal(o.requests, 4);
		assert_true(out.len > big);
		sw_buf_fini(&out);
		sw_buf_fini(&req);
		sw_buf_fini(&more);
	}
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
		cmocka_unit_test(test_stream_read_failure),
		cmocka_unit_test(test_fatal_handlers),
		cmocka_unit_test(test_bodyfail_then_next),
		cmocka_unit_test(test_handler_contract),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_next_read_size),
		cmocka_unit_test(test_watermark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
