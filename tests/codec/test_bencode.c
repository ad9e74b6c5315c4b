/* Tests for bencode (smartwire/bencode.h): fastbencode's readings of valid
 * and malformed inputs (tests/vectors/bencode_vectors.inc, gen_bencode.py),
 * the exact error codes of the strictness rules, limits, round trips and
 * allocation failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/bencode.h"
#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "support/harness.h"

typedef struct bencode_vector {
	const char *name;
	const char *input;
	size_t len;
	const char *trace;
	int valid;
} bencode_vector;

static const bencode_vector vectors[] = {
#include "vectors/bencode_vectors.inc"
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A harness driver for a whole-buffer decoder: collect the pieces, decode at
 * finish, write the value (or nothing) as the trace. */
typedef struct drv {
	sw_buf in;
	sw_buf *trace;
	const sw_mem *mem;
} drv;

static void *drv_create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	(void)arg;
	drv *d = calloc(1, sizeof *d);
	assert_non_null(d);
	sw_buf_init(&d->in, NULL);
	d->trace = trace;
	d->mem = mem;
	return d;
}

static int drv_feed(void *p, const uint8_t *in, size_t len)
{
	drv *d = p;
	assert_int_equal(sw_buf_append(&d->in, in, len), 0);
	return 0;
}

static int drv_finish(void *p)
{
	drv *d = p;
	sw_bval *v;
	int rv = sw_bdecode(d->mem, d->in.data, d->in.len, NULL, &v);
	if (rv < 0) {
		assert_null(v);
		return rv;
	}
	rv = sw_bval_format(d->trace, v);
	if (rv == 0)
		rv = sw_buf_append_byte(d->trace, '\n');
	sw_bval_del(d->mem, v);
	return rv;
}

static void drv_destroy(void *p)
{
	drv *d = p;
	sw_buf_fini(&d->in);
	free(d);
}

static const sw_t_codec bencode_codec = {"bencode", drv_create, drv_feed, drv_finish,
                                         drv_destroy, NULL};

static int decode(const char *s, size_t n, const sw_blimits *lim)
{
	sw_bval *v = (sw_bval *)1;
	int rv = sw_bdecode(NULL, (const uint8_t *)s, n, lim, &v);
	if (rv < 0)
		assert_null(v);
	sw_bval_del(NULL, v);
	return rv;
}

#define DEC(lit) decode(lit, sizeof(lit) - 1, NULL)

/* Every fastbencode vector: same value or an error, the canonical encoding
 * back, and allocation failures reported without leaks. */
static void test_vectors(void **state)
{
	(void)state;
	size_t valid = 0;
	for (size_t i = 0; i < NELEM(vectors); i++) {
		const bencode_vector *t = &vectors[i];
		sw_bval *v;
		int rv = sw_bdecode(NULL, (const uint8_t *)t->input, t->len, NULL, &v);
		if (!t->valid) {
			if (rv >= 0 || rv > SW_ERR_BENCODE_SYNTAX || rv < SW_ERR_BENCODE_KEY)
				fail_msg("%s: got %s, want a bencode error", t->name, sw_errname(rv));
			continue;
		}
		valid++;
		if (rv < 0)
			fail_msg("%s: %s", t->name, sw_errname(rv));
		sw_buf b;
		sw_buf_init(&b, NULL);
		assert_int_equal(sw_bval_format(&b, v), 0);
		assert_int_equal(sw_buf_append(&b, "\n", 2), 0);
		if (strcmp((char *)b.data, t->trace) != 0)
			fail_msg("%s:\n  want %s  got  %s", t->name, t->trace, (char *)b.data);
		sw_buf_reset(&b);
		assert_int_equal(sw_bencode(&b, v), 0);
		assert_int_equal(b.len, t->len);
		assert_memory_equal(b.data, t->input, t->len);
		sw_buf_fini(&b);
		sw_bval_del(NULL, v);
		sw_t_check_failmem(&bencode_codec, NULL, (const uint8_t *)t->input, t->len, t->trace);
	}
	assert_true(valid > 30);
}

/* sw_bdecode_into(): every fastbencode vector decoded one after the other
 * into ONE arena gives exactly what sw_bdecode() gives (value or error code),
 * earlier trees are replaced, a large tree grows the arena, and an allocation
 * failure at any point is SW_ERR_NOMEM with nothing leaked. */
static void test_arena(void **state)
{
	(void)state;
	sw_barena a;
	sw_barena_init(&a, NULL);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < NELEM(vectors); i++) {
			const bencode_vector *t = &vectors[i];
			sw_bval *ref;
			const sw_bval *got = (const sw_bval *)1;
			int want = sw_bdecode(NULL, (const uint8_t *)t->input, t->len, NULL, &ref);
			int rv = sw_bdecode_into(&a, (const uint8_t *)t->input, t->len, NULL, &got);
			if (rv != want)
				fail_msg("%s: arena %s, sw_bdecode %s", t->name, sw_errname(rv),
				         sw_errname(want));
			if (rv < 0)
				continue;
			sw_buf x, y;
			sw_buf_init(&x, NULL);
			sw_buf_init(&y, NULL);
			assert_int_equal(sw_bval_format(&x, ref), 0);
			assert_int_equal(sw_bval_format(&y, got), 0);
			assert_int_equal(x.len, y.len);
			assert_memory_equal(x.data, y.data, x.len);
			sw_buf_fini(&x);
			sw_buf_fini(&y);
			sw_bval_del(NULL, ref);
		}
	}
	/* A list of 5000 integers needs more than any small buffer. */
	sw_buf big;
	sw_buf_init(&big, NULL);
	assert_int_equal(sw_buf_append_byte(&big, 'l'), 0);
	for (int i = 0; i < 5000; i++)
		assert_int_equal(sw_buf_append(&big, "i7e", 3), 0);
	assert_int_equal(sw_buf_append_byte(&big, 'e'), 0);
	const sw_bval *v;
	assert_int_equal(sw_bdecode_into(&a, big.data, big.len, NULL, &v), 0);
	assert_int_equal(v->type, SW_BLIST);
	assert_int_equal(v->u.list.n, 5000);
	assert_int_equal(v->u.list.items[4999].u.i, 7);
	assert_true(a.cap >= 5001);
	sw_barena_fini(&a);
	assert_null(a.nodes);

	/* Fail each allocation of a fresh arena in turn, once and persistently. */
	for (size_t n = 1; n <= 64; n++) {
		for (int persistent = 0; persistent <= 1; persistent++) {
			sw_failmem fm;
			sw_failmem_init(&fm, n, persistent);
			sw_barena_init(&a, &fm.mem);
			int rv = sw_bdecode_into(&a, big.data, big.len, NULL, &v);
			if (fm.failures)
				assert_int_equal(rv, SW_ERR_NOMEM);
			else
				assert_int_equal(rv, 0);
			/* The arena stays usable after a failure. */
			fm.fail_at = 0;
			assert_int_equal(sw_bdecode_into(&a, big.data, big.len, NULL, &v), 0);
			assert_int_equal(v->u.list.n, 5000);
			sw_barena_fini(&a);
			assert_int_equal(fm.live, 0);
		}
	}
	sw_buf_fini(&big);
}

/* The strictness rules of protocol-reference.md 3.2, each with its code. */
static void test_strict_codes(void **state)
{
	(void)state;
	assert_int_equal(DEC("dex"), SW_ERR_BENCODE_JUNK);
	assert_int_equal(DEC("lee"), SW_ERR_BENCODE_JUNK);
	assert_int_equal(DEC("i1ei2e"), SW_ERR_BENCODE_JUNK);
	assert_int_equal(DEC("d1:b0:1:a0:e"), SW_ERR_BENCODE_UNSORTED);
	assert_int_equal(DEC("d1:a0:1:a0:e"), SW_ERR_BENCODE_UNSORTED); /* duplicate */
	assert_int_equal(DEC("d2:ab0:1:a0:e"), SW_ERR_BENCODE_UNSORTED); /* prefix sorts first */
	assert_int_equal(DEC("d1:a0:2:ab0:e"), 0);
	assert_int_equal(DEC("i03e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i-0e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i00e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("ie"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i-e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i+1e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i 1e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i1.0e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i9223372036854775808e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i-9223372036854775809e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC("i99999999999999999999999e"), SW_ERR_BENCODE_BAD_INT);
	assert_int_equal(DEC(""), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("l"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("d"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("3:ab"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("1:"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("1"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("i1"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("i-"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("d1:a"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("l1:a"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("99999999999999999999999:a"), SW_ERR_BENCODE_TRUNCATED);
	assert_int_equal(DEC("x"), SW_ERR_BENCODE_SYNTAX);
	assert_int_equal(DEC("-1:a"), SW_ERR_BENCODE_SYNTAX);
	assert_int_equal(DEC("03:abc"), SW_ERR_BENCODE_SYNTAX);
	assert_int_equal(DEC("00:"), SW_ERR_BENCODE_SYNTAX);
	assert_int_equal(DEC("1x:a"), SW_ERR_BENCODE_SYNTAX);
	assert_int_equal(DEC("d1:ae"), SW_ERR_BENCODE_SYNTAX);
	assert_int_equal(DEC("l\0e"), SW_ERR_BENCODE_SYNTAX);
	assert_int_equal(DEC("di1e0:e"), SW_ERR_BENCODE_KEY);
	assert_int_equal(DEC("dle0:e"), SW_ERR_BENCODE_KEY);
	assert_int_equal(DEC("ddee"), SW_ERR_BENCODE_KEY);
}

static void test_int64_range(void **state)
{
	(void)state;
	sw_bval *v;
	static const char max[] = "i9223372036854775807e";
	assert_int_equal(sw_bdecode(NULL, (const uint8_t *)max, sizeof max - 1, NULL, &v), 0);
	assert_int_equal(v->type, SW_BINT);
	assert_true(v->u.i == INT64_MAX);
	sw_bval_del(NULL, v);
	static const char min[] = "i-9223372036854775808e";
	assert_int_equal(sw_bdecode(NULL, (const uint8_t *)min, sizeof min - 1, NULL, &v), 0);
	assert_true(v->u.i == INT64_MIN);
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_bencode(&b, v), 0);
	assert_int_equal(b.len, sizeof min - 1);
	assert_memory_equal(b.data, min, b.len);
	sw_buf_reset(&b);
	assert_int_equal(sw_bval_format(&b, v), 0);
	assert_int_equal(b.len, sizeof min - 3);
	assert_memory_equal(b.data, min + 1, b.len);
	sw_buf_fini(&b);
	sw_bval_del(NULL, v);
}

static void test_limits(void **state)
{
	(void)state;
	char buf[200];
	/* Depth: 32 nested lists pass the default, 33 do not. */
	memset(buf, 'l', 33);
	memset(buf + 33, 'e', 33);
	assert_int_equal(decode(buf + 1, 64, NULL), 0);
	assert_int_equal(decode(buf, 66, NULL), SW_ERR_BENCODE_DEPTH);
	sw_blimits lim = {2, 100};
	assert_int_equal(DEC("lle1:ae"), 0);
	assert_int_equal(decode("llee", 4, &lim), 0);
	assert_int_equal(decode("lllee" "e", 6, &lim), SW_ERR_BENCODE_DEPTH);
	assert_int_equal(decode("ld1:aleee", 9, &lim), SW_ERR_BENCODE_DEPTH);
	lim.max_depth = 1;
	assert_int_equal(decode("1:a", 3, &lim), 0);
	assert_int_equal(decode("le", 2, &lim), 0);
	assert_int_equal(decode("llee", 4, &lim), SW_ERR_BENCODE_DEPTH);
	lim.max_depth = 0; /* a zero field is the default (32) */
	assert_int_equal(decode(buf + 1, 64, &lim), 0);
	assert_int_equal(decode(buf, 66, &lim), SW_ERR_BENCODE_DEPTH);
	/* Elements: containers, keys and values all count. */
	sw_blimits few = {32, 4};
	assert_int_equal(decode("l1:a1:b1:ce", 11, &few), 0);
	assert_int_equal(decode("l1:a1:b1:c1:de", 14, &few), SW_ERR_BENCODE_TOO_MANY);
	assert_int_equal(decode("d1:a0:1:b0:e", 12, &few), SW_ERR_BENCODE_TOO_MANY);
	assert_int_equal(decode("d1:a1:xe", 8, &few), 0);
	/* The default element limit. */
	size_t n = SW_BENCODE_DEFAULT_MAX_ELEMENTS;
	char *big = malloc(2 * n + 2);
	assert_non_null(big);
	big[0] = 'l';
	for (size_t i = 0; i < n; i++)
		memcpy(big + 1 + 2 * i, "le", 2);
	big[2 * n + 1] = 'e';
	assert_int_equal(decode(big, 2 * n + 2, NULL), SW_ERR_BENCODE_TOO_MANY);
	big[2 * n - 1] = 'e'; /* drop one inner list: n values in all */
	assert_int_equal(decode(big, 2 * n, NULL), 0);
	free(big);
}

/* Decoded strings point into the input; containers point into one array. */
static void test_tree_shape(void **state)
{
	(void)state;
	static const char in[] = "d1:ali1eli2eee1:b3:xyz1:cdee";
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	sw_bval *v;
	assert_int_equal(sw_bdecode(&fm.mem, (const uint8_t *)in, sizeof in - 1, NULL, &v), 0);
	assert_int_equal(fm.calls, 1);
	assert_int_equal(v->type, SW_BDICT);
	assert_int_equal(v->u.list.n, 6);
	const sw_bval *a = sw_bdict_get(v, "a", 1);
	assert_non_null(a);
	assert_int_equal(a->type, SW_BLIST);
	assert_int_equal(a->u.list.n, 2);
	assert_int_equal(a->u.list.items[0].u.i, 1);
	assert_int_equal(a->u.list.items[1].type, SW_BLIST);
	assert_int_equal(a->u.list.items[1].u.list.items[0].u.i, 2);
	const sw_bval *b = sw_bdict_get(v, "b", 1);
	assert_non_null(b);
	assert_int_equal(b->type, SW_BSTR);
	assert_ptr_equal(b->u.str.p, (const uint8_t *)in + 19);
	assert_int_equal(b->u.str.n, 3);
	const sw_bval *c = sw_bdict_get(v, "c", 1);
	assert_non_null(c);
	assert_int_equal(c->type, SW_BDICT);
	assert_int_equal(c->u.list.n, 0);
	assert_null(sw_bdict_get(v, "d", 1));
	assert_null(sw_bdict_get(a, "a", 1));
	sw_buf f;
	sw_buf_init(&f, NULL);
	assert_int_equal(sw_bval_format(&f, v), 0);
	assert_int_equal(sw_buf_append_byte(&f, 0), 0);
	assert_string_equal((char *)f.data, "{\"a\": [1, [2]], \"b\": \"xyz\", \"c\": {}}");
	sw_buf_fini(&f);
	sw_bval_del(&fm.mem, v);
	assert_int_equal(fm.live, 0);
	sw_bval_del(NULL, NULL);
	/* The one allocation failing. */
	sw_failmem_init(&fm, 1, false);
	v = (sw_bval *)1;
	assert_int_equal(sw_bdecode(&fm.mem, (const uint8_t *)in, sizeof in - 1, NULL, &v),
	                 SW_ERR_NOMEM);
	assert_null(v);
	assert_int_equal(fm.live, 0);
}

static void test_encode(void **state)
{
	(void)state;
	sw_buf b;
	sw_buf_init(&b, NULL);
	sw_bval kv[4] = {sw_bstr("", 0), sw_bint(0), sw_bstr("k", 1), sw_bstr("v", 1)};
	sw_bval inner[3] = {sw_bint(-12), sw_bdict(kv, 4), sw_blist(NULL, 0)};
	sw_bval top = sw_blist(inner, 3);
	assert_int_equal(sw_bencode(&b, &top), 0);
	static const char want[] = "li-12ed0:i0e1:k1:velee";
	assert_int_equal(b.len, sizeof want - 1);
	assert_memory_equal(b.data, want, b.len);

	/* Unsorted, duplicate or non-string keys and odd dicts are refused. */
	sw_bval unsorted[4] = {sw_bstr("k", 1), sw_bint(0), sw_bstr("", 0), sw_bint(0)};
	sw_bval d = sw_bdict(unsorted, 4);
	assert_int_equal(sw_bencode(&b, &d), SW_ERR_INVALID_ARGUMENT);
	sw_bval dup[4] = {sw_bstr("k", 1), sw_bint(0), sw_bstr("k", 1), sw_bint(0)};
	d = sw_bdict(dup, 4);
	assert_int_equal(sw_bencode(&b, &d), SW_ERR_INVALID_ARGUMENT);
	sw_bval intkey[2] = {sw_bint(1), sw_bint(0)};
	d = sw_bdict(intkey, 2);
	assert_int_equal(sw_bencode(&b, &d), SW_ERR_INVALID_ARGUMENT);
	d = sw_bdict(kv, 3);
	assert_int_equal(sw_bencode(&b, &d), SW_ERR_INVALID_ARGUMENT);

	/* The args-tuple shortcut equals the general encoder. */
	sw_buf_reset(&b);
	sw_slice args[3] = {{(const uint8_t *)"get", 3}, {NULL, 0}, {(const uint8_t *)"/x", 2}};
	assert_int_equal(sw_bencode_strlist(&b, args, 3), 0);
	assert_int_equal(b.len, 13);
	assert_memory_equal(b.data, "l3:get0:2:/xe", 13);
	sw_buf_reset(&b);
	assert_int_equal(sw_bencode_strlist(&b, NULL, 0), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.data, "le", 2);
	sw_buf_fini(&b);

	/* Allocation failures while encoding. */
	static const char text[200] = "a long string";
	for (size_t n = 1; n <= 3; n++) {
		sw_failmem fm;
		sw_failmem_init(&fm, n, true);
		sw_buf_init(&b, &fm.mem);
		sw_bval s = sw_bstr(text, sizeof text);
		sw_bval l = sw_blist(&s, 1);
		int rv = sw_bencode(&b, &l);
		assert_true(rv == 0 || rv == SW_ERR_NOMEM);
		sw_buf_fini(&b);
		assert_int_equal(fm.live, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_strict_codes),
		cmocka_unit_test(test_int64_range),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_tree_shape),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
