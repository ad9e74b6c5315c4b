/* Tests for the Python-compatible texts (smartwire/pytext.h) against CPython
 * itself: tests/vectors/pytext_vectors.inc is written by gen_pytext.py from
 * repr(), int() and OSError, and every allocation of each repr is failed in
 * turn. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/pytext.h"
#include "smartwire/failmem.h"

enum { PY_INT_OK, PY_INT_SYNTAX, PY_INT_RANGE };

struct pyvec {
	const char *in;
	size_t len;
	const char *repr_bytes, *repr_str;
	const char *repr_tuples; /* repr((in, b'x')) NUL repr((in,)) */
	size_t repr_tuples_len;
	int int10;
	bool neg10;
	uint64_t mag10;
	int int16;
	bool neg16;
	uint64_t mag16;
};

struct pyerr {
	int e;
	const char *cls;
};

#include "vectors/pytext_vectors.inc"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void expect_text(const sw_buf *b, const char *want, size_t wlen, const char *what,
                        size_t i)
{
	if (b->len != wlen || memcmp(b->data, want, wlen) != 0)
		fail_msg("vector %zu %s: got \"%.*s\", want \"%.*s\"", i, what, (int)b->len,
		         (const char *)b->data, (int)wlen, want);
}

static void test_repr(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pyvecs); i++) {
		const struct pyvec *v = &pyvecs[i];
		const uint8_t *in = (const uint8_t *)v->in;
		sw_buf b;
		sw_buf_init(&b, NULL);
		assert_int_equal(sw_py_repr_bytes(&b, in, v->len), 0);
		expect_text(&b, v->repr_bytes, strlen(v->repr_bytes), "repr(bytes)", i);
		sw_buf_reset(&b);
		assert_int_equal(sw_py_repr_str(&b, in, v->len), 0);
		expect_text(&b, v->repr_str, strlen(v->repr_str), "repr(str)", i);
		sw_buf_reset(&b);
		sw_slice two[2] = {{in, v->len}, {(const uint8_t *)"x", 1}};
		assert_int_equal(sw_py_repr_tuple(&b, two, 2), 0);
		size_t l1 = strlen(v->repr_tuples);
		expect_text(&b, v->repr_tuples, l1, "repr(2-tuple)", i);
		sw_buf_reset(&b);
		assert_int_equal(sw_py_repr_tuple(&b, two, 1), 0);
		expect_text(&b, v->repr_tuples + l1 + 1, v->repr_tuples_len - l1 - 1,
		            "repr(1-tuple)", i);
		sw_buf_fini(&b);
	}
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_py_repr_tuple(&b, NULL, 0), 0);
	expect_text(&b, "()", 2, "repr(())", 0);
	/* An empty value may come as NULL. */
	sw_buf_reset(&b);
	assert_int_equal(sw_py_repr_bytes(&b, NULL, 0), 0);
	assert_int_equal(sw_py_repr_str(&b, NULL, 0), 0);
	expect_text(&b, "b\'\'\'\'", 5, "repr(b'') repr('')", 0);
	sw_buf_fini(&b);
}

static void check_int(const struct pyvec *v, unsigned base, int kind, bool neg, uint64_t mag,
                      size_t i)
{
	bool n = !neg;
	uint64_t m = ~mag;
	int rv = sw_py_int((const uint8_t *)v->in, v->len, base, &n, &m);
	int want = kind == PY_INT_OK ? 0 : kind == PY_INT_SYNTAX ? SW_ERR_INVALID_ARGUMENT
	                                                         : SW_ERR_LIMIT;
	if (rv != want)
		fail_msg("vector %zu int(, %u): got %d, want %d", i, base, rv, want);
	if (rv == 0 && (n != neg || m != mag))
		fail_msg("vector %zu int(, %u): got %s%llu", i, base, n ? "-" : "",
		         (unsigned long long)m);
}

static void test_int(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pyvecs); i++) {
		const struct pyvec *v = &pyvecs[i];
		check_int(v, 10, v->int10, v->neg10, v->mag10, i);
		check_int(v, 16, v->int16, v->neg16, v->mag16, i);
		/* int64: the same verdict where the value fits. */
		int64_t x = 0;
		int r = sw_py_int64((const uint8_t *)v->in, v->len, &x);
		if (v->int10 == PY_INT_SYNTAX) {
			assert_int_equal(r, 1);
		} else if (v->int10 == PY_INT_OK &&
		           v->mag10 <= (uint64_t)INT64_MAX + (v->neg10 ? 1u : 0u)) {
			assert_int_equal(r, 0);
			assert_true(v->neg10 ? (uint64_t)0 - (uint64_t)x == v->mag10
			                     : (uint64_t)x == v->mag10);
		} else {
			assert_int_equal(r, 2);
		}
	}
	bool n;
	uint64_t m;
	assert_int_equal(sw_py_int((const uint8_t *)"1", 1, 7, &n, &m), SW_ERR_INVALID_ARGUMENT);
}

static void test_oserror(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(pyerrs); i++)
		if (strcmp(sw_py_oserror_class(pyerrs[i].e), pyerrs[i].cls) != 0)
			fail_msg("errno %d: got %s, want %s", pyerrs[i].e,
			         sw_py_oserror_class(pyerrs[i].e), pyerrs[i].cls);
}

/* Every allocation of every repr fails in turn: SW_ERR_NOMEM, no leak. */
static void test_repr_nomem(void **state)
{
	(void)state;
	const struct pyvec *v = &pyvecs[9]; /* bytes(range(256)) */
	sw_slice one = {(const uint8_t *)v->in, v->len};
	for (int which = 0; which < 3; which++) {
		for (unsigned k = 1;; k++) {
			sw_failmem fm;
			sw_failmem_init(&fm, k, false);
			sw_buf b;
			sw_buf_init(&b, &fm.mem);
			int rv = which == 0 ? sw_py_repr_bytes(&b, one.p, one.n)
			         : which == 1 ? sw_py_repr_str(&b, one.p, one.n)
			                      : sw_py_repr_tuple(&b, &one, 1);
			sw_buf_fini(&b);
			assert_int_equal(fm.live, 0);
			if (rv == 0) {
				assert_true(k > 1);
				break;
			}
			assert_int_equal(rv, SW_ERR_NOMEM);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repr),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_oserror),
		cmocka_unit_test(test_repr_nomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
