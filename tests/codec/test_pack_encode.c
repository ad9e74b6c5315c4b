/* Tests for the pack container encoders (smartwire/pack.h) against
 * ContainerWriter's bytes (tests/vectors/gen_pack.py): the canonical vectors
 * re-encoded from the decoder's events, the writer vectors, the names the
 * encoders refuse with `out` unchanged, and every allocation failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/format.h"
#include "smartwire/pack.h"
#include "smartwire/sha256.h"
#include "support/harness.h"
#include "pack_vec.h"

/* ---- Encoders against ContainerWriter ---------------------------------- */

/* A decoder whose callbacks re-encode every event as it arrives. */
struct reenc {
	sw_buf out;
	int err;
};

static int re_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	struct reenc *r = ud;
	r->err = sw_pack_encode_record_header(&r->out, length, names, nnames);
	return r->err;
}

static int re_data(void *ud, const uint8_t *p, size_t n)
{
	struct reenc *r = ud;
	return sw_buf_append(&r->out, p, n);
}

static int re_end(void *ud)
{
	struct reenc *r = ud;
	return sw_pack_encode_end(&r->out);
}

/* Every canonical vector: our encoders, given the records Breezy's writer
 * was given (as decoded, which test_vectors checked against Breezy), write
 * exactly Breezy's bytes. */
static void test_encode_vectors(void **state)
{
	(void)state;
	static const sw_pack_callbacks cb = {re_begin, re_data, NULL, re_end};
	size_t checked = 0;
	for (size_t i = 0; i < N(pack_vecs); i++) {
		const struct pack_vec *v = &pack_vecs[i];
		if (!v->canonical)
			continue;
		struct reenc r = {{0}, 0};
		sw_buf_init(&r.out, NULL);
		assert_int_equal(sw_pack_encode_begin(&r.out), 0);
		sw_pack_dec *dec;
		assert_int_equal(sw_pack_dec_new(&dec, NULL, &cb, &r, NULL), 0);
		ptrdiff_t used = sw_pack_dec_feed(dec, (const uint8_t *)v->input, v->len);
		assert_true(used > 0);
		assert_true(sw_pack_dec_done(dec));
		if (r.out.len != (size_t)used || memcmp(r.out.data, v->input, r.out.len) != 0)
			fail_msg("%s: the encoders did not reproduce ContainerWriter's bytes",
			         v->name);
		sw_pack_dec_del(dec);
		sw_buf_fini(&r.out);
		checked++;
	}
	assert_true(checked > 20);
}

/* Splits a writer vector's spec into names. */
static size_t parse_spec(const struct pack_writer_vec *w, sw_pack_name *names, sw_slice *elems)
{
	size_t nn = 0, ne = 0;
	const uint8_t *p = (const uint8_t *)w->spec, *end = p + w->spec_len;
	while (nn < w->nnames) {
		names[nn].elems = &elems[ne];
		names[nn].n = 0;
		for (;;) {
			const uint8_t *e = p;
			while (e < end && *e != 0 && *e != '\n')
				e++;
			elems[ne].p = p;
			elems[ne].n = (size_t)(e - p);
			ne++;
			names[nn].n++;
			p = e + 1;
			if (e == end || *e == '\n')
				break;
		}
		nn++;
	}
	return nn;
}

static uint8_t *writer_body(size_t n)
{
	uint8_t *b = malloc(n);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 7 + 3) & 0xff);
	return b;
}

static void sha256_hex(const void *p, size_t n, char hex[65])
{
	sw_sha256 s;
	sw_sha256_init(&s);
	sw_sha256_update(&s, p, n);
	sw_sha256_hex(&s, hex);
}

/* ContainerWriter's records of 100000 bytes and more (written as a header
 * and then the chunks): the header bytes, the whole record's digest, and
 * the decoder reading it back in pieces. */
static void test_writer_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pack_writer_vecs); i++) {
		const struct pack_writer_vec *w = &pack_writer_vecs[i];
		print_message("  %s\n", w->name);
		sw_pack_name names[8];
		sw_slice elems[16];
		assert_true(w->nnames <= 8 && w->spec_len < 16);
		size_t nn = parse_spec(w, names, elems);
		sw_buf out;
		sw_buf_init(&out, NULL);
		assert_int_equal(sw_pack_encode_record_header(&out, w->body_len, names, nn), 0);
		assert_int_equal(out.len, w->header_len);
		assert_memory_equal(out.data, w->header, w->header_len);
		sw_buf_reset(&out);
		uint8_t *body = writer_body(w->body_len);
		assert_int_equal(sw_pack_encode_record(&out, body, w->body_len, names, nn), 0);
		char hex[65];
		sha256_hex(out.data, out.len, hex);
		assert_string_equal(hex, w->sha256);

		/* Decoded in a container, in pieces of 4093 bytes through the
		 * driver (guard pages), to the same names and body. */
		sw_buf c, want;
		sw_buf_init(&c, NULL);
		sw_buf_init(&want, NULL);
		assert_int_equal(sw_pack_encode_begin(&c), 0);
		assert_int_equal(sw_buf_append(&c, out.data, out.len), 0);
		assert_int_equal(sw_pack_encode_end(&c), 0);
		sw_buf_append_str(&want, "record [");
		for (size_t k = 0; k < nn; k++) {
			sw_buf_append_str(&want, k ? ", " : "");
			sw_format_tuple(&want, names[k].elems, names[k].n);
		}
		sw_buf_append_str(&want, "]");
		sw_t_emit_bytes(&want, "", body, w->body_len);
		sw_buf_append_str(&want, "end\n");
		sw_buf_append_byte(&want, 0);
		size_t cuts[128], ncuts = 0;
		for (size_t at = 4093; at < c.len && ncuts < N(cuts); at += 4093)
			cuts[ncuts++] = at;
		char *t = sw_t_run(&pack_codec, NULL, c.data, c.len, cuts, ncuts, NULL, NULL);
		assert_true(strcmp(t, (char *)want.data) == 0);
		free(t);
		sw_buf_fini(&want);
		sw_buf_fini(&c);
		free(body);
		sw_buf_fini(&out);
	}
}

/* ---- Encoders: refusals and the out-unchanged contract ------------------ */

#define NAME(...)                                                                                  \
	{                                                                                          \
		(const sw_slice[]){__VA_ARGS__},                                                   \
		    sizeof((const sw_slice[]){__VA_ARGS__}) / sizeof(sw_slice)                     \
	}
#define E_(s)                                                                                      \
	{                                                                                          \
		(const uint8_t *)(s), sizeof(s) - 1                                                \
	}

static void expect_refused(const sw_pack_name *names, size_t n, int err)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_buf_append_str(&b, "keep"), 0);
	assert_int_equal(sw_pack_encode_record_header(&b, 3, names, n), err);
	assert_int_equal(sw_pack_encode_record(&b, "abc", 3, names, n), err);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "keep", 4);
	sw_buf_fini(&b);
}

static void test_encoders(void **state)
{
	(void)state;
	sw_buf b;
	sw_buf_init(&b, NULL);
	/* The verbs-reference example, the second record written as a header
	 * and two chunks like add_bytes_record([b"hi", b"!"], 3, names). */
	const sw_pack_name one[] = {NAME(E_("one"))};
	const sw_pack_name two[] = {NAME(E_("a"), E_("b")), NAME(E_("c"))};
	assert_int_equal(sw_pack_encode_begin(&b), 0);
	assert_int_equal(sw_pack_encode_record(&b, "abc", 3, one, 1), 0);
	assert_int_equal(sw_pack_encode_record_header(&b, 3, two, 2), 0);
	assert_int_equal(sw_buf_append(&b, "hi", 2), 0);
	assert_int_equal(sw_buf_append(&b, "!", 1), 0);
	assert_int_equal(sw_pack_encode_record(&b, NULL, 0, NULL, 0), 0);
	assert_int_equal(sw_pack_encode_end(&b), 0);
	static const char want[] = HDR "B3\none\n\nabcB3\na\0b\nc\n\nhi!B0\n\nE";
	assert_int_equal(b.len, sizeof want - 1);
	assert_memory_equal(b.data, want, sizeof want - 1);
	sw_buf_reset(&b);
	assert_int_equal(sw_pack_encode_record_header(&b, UINT64_MAX, NULL, 0), 0);
	assert_int_equal(b.len, 23);
	assert_memory_equal(b.data, "B18446744073709551615\n\n", 23);
	sw_buf_fini(&b);

	/* Breezy refuses whitespace (InvalidRecordError)... */
	static const char *const spaces[] = {"a b", "\t", "a\n", "\x0b", "\x0c", "b\r"};
	for (size_t i = 0; i < N(spaces); i++) {
		const sw_slice e[] = {E_("ok"), {(const uint8_t *)spaces[i], strlen(spaces[i])}};
		const sw_pack_name nm[] = {NAME(E_("fine")), {e, 2}};
		expect_refused(nm, 2, SW_ERR_PACK_BAD_NAME);
	}
	/* ...and we refuse what Breezy writes but reads back differently. */
	const sw_pack_name nul[] = {NAME(E_("a\0b"))};
	expect_refused(nul, 1, SW_ERR_PACK_BAD_NAME);
	const sw_pack_name empty_elem[] = {NAME(E_(""))};
	expect_refused(empty_elem, 1, SW_ERR_PACK_BAD_NAME);
	const sw_pack_name no_elems[] = {{NULL, 0}};
	expect_refused(no_elems, 1, SW_ERR_PACK_BAD_NAME);
	/* Two empty elements are the line "\0": fine. */
	const sw_pack_name two_empty[] = {NAME(E_(""), E_(""))};
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_pack_encode_record_header(&b, 0, two_empty, 1), 0);
	assert_memory_equal(b.data, "B0\n\0\n\n", 6);
	sw_buf_fini(&b);
	/* NULL pointers with counts. */
	expect_refused(NULL, 1, SW_ERR_INVALID_ARGUMENT);
	const sw_pack_name null_elems[] = {{NULL, 2}};
	expect_refused(null_elems, 1, SW_ERR_INVALID_ARGUMENT);
	const sw_slice null_p[] = {{NULL, 3}};
	const sw_pack_name null_bytes[] = {{null_p, 1}};
	expect_refused(null_bytes, 1, SW_ERR_INVALID_ARGUMENT);
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_pack_encode_record(&b, NULL, 3, NULL, 0), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(b.len, 0);
	sw_buf_fini(&b);
}

/* Every allocation of every encoder failed in turn, once and persistently,
 * after prefixes of every length up to the buffer's first capacity (so the
 * failure hits each piece of a record header): SW_ERR_NOMEM with `out` as
 * it was, and nothing leaked. */
static void test_encoders_failmem(void **state)
{
	(void)state;
	const sw_pack_name nm[] = {NAME(E_("revisions")), NAME(E_("k1"), E_("k2"))};
	static const char body[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char prefix[80];
	memset(prefix, 'p', sizeof prefix);
	size_t failures = 0;
	for (int which = 0; which < 4; which++) {
		for (size_t plen = 0; plen <= 64; plen++) {
			for (size_t n = 1; n <= 3; n++) {
				for (int persistent = 0; persistent <= 1; persistent++) {
					sw_failmem fm;
					sw_failmem_init(&fm, 0, false);
					sw_buf b;
					sw_buf_init(&b, &fm.mem);
					assert_int_equal(sw_buf_append(&b, prefix, plen), 0);
					fm.fail_at = fm.calls + n;
					fm.persistent = persistent;
					int rv = 0;
					switch (which) {
					case 0: rv = sw_pack_encode_begin(&b); break;
					case 1:
						rv = sw_pack_encode_record_header(&b, 36, nm, 2);
						break;
					case 2:
						rv = sw_pack_encode_record(&b, body, 36, nm, 2);
						break;
					default: rv = sw_pack_encode_end(&b); break;
					}
					if (fm.failures) {
						failures++;
						assert_int_equal(rv, SW_ERR_NOMEM);
						assert_int_equal(b.len, plen);
						if (plen)
							assert_memory_equal(b.data, prefix, plen);
					} else {
						assert_int_equal(rv, 0);
					}
					sw_buf_fini(&b);
					assert_int_equal(fm.live, 0);
					assert_int_equal(fm.bad_frees, 0);
				}
			}
		}
	}
	assert_true(failures > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_vectors),
	    cmocka_unit_test(test_writer_vectors),
	    cmocka_unit_test(test_encoders),
	    cmocka_unit_test(test_encoders_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
