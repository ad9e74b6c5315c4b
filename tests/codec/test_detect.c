/* Tests for version detection (smartwire/detect.h) against Breezy's
 * medium._get_protocol_factory_for_bytes (tests/vectors/v12_detect.inc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "smartwire/detect.h"
#include "smartwire/mem.h"

struct vec {
	const char *name;
	const char *input;
	size_t len;
	const char *expected; /* "<version> <marker bytes>" */
	const void *arg;
};

static const struct vec detect_vecs[] = {
#include "vectors/v12_detect.inc"
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Feeds `in` cut at `step`-byte pieces (0: whole), then EOF, and rebuilds
 * the request bytes the protocol decoder would see: pending + the rest. */
static void run(const struct vec *v, size_t step, int *version, size_t *marker,
                sw_buf *request)
{
	sw_detect d;
	sw_detect_init(&d);
	size_t at = 0;
	const uint8_t *in = (const uint8_t *)v->input;
	assert_int_equal(sw_detect_next_read_size(&d), 1);
	while (at < v->len && sw_detect_version(&d) == SW_VERSION_NONE) {
		size_t n = step ? step : v->len;
		if (n > v->len - at)
			n = v->len - at;
		size_t used = sw_detect_feed(&d, in + at, n);
		assert_true(used <= n);
		at += used;
		if (used < n)
			assert_int_not_equal(sw_detect_version(&d), SW_VERSION_NONE);
	}
	/* Once decided, nothing more is consumed. */
	if (sw_detect_version(&d) != SW_VERSION_NONE) {
		assert_int_equal(sw_detect_feed(&d, (const uint8_t *)"x", 1), 0);
		assert_int_equal(sw_detect_next_read_size(&d), 0);
	}
	assert_int_equal(sw_detect_finish(&d), 0);
	*version = (int)sw_detect_version(&d);
	*marker = sw_detect_marker_len(&d);
	sw_slice p = sw_detect_pending(&d);
	sw_buf_append(request, p.p, p.n);
	sw_buf_append(request, in + at, v->len - at);
	if (*version == SW_VERSION_NONE) {
		/* Only for no bytes at all; Breezy then builds a v1 protocol that
		 * never sees a byte. */
		assert_int_equal(v->len, 0);
		*version = 1;
	}
}

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(detect_vecs); i++) {
		const struct vec *v = &detect_vecs[i];
		for (size_t step = 0; step <= 3; step++) {
			int version;
			size_t marker;
			sw_buf req;
			sw_buf_init(&req, NULL);
			run(v, step, &version, &marker, &req);
			char got[32];
			snprintf(got, sizeof got, "%d %zu", version, marker);
			if (strcmp(got, v->expected) != 0)
				fail_msg("%s (step %zu): expected %s, got %s", v->name, step,
				         v->expected, got);
			/* No byte lost or duplicated: marker + request == input. */
			assert_int_equal(marker + req.len, v->len);
			if (req.len)
				assert_memory_equal(req.data, v->input + marker, req.len);
			sw_buf_fini(&req);
		}
		size_t ml = 99;
		sw_version one = sw_detect_bytes((const uint8_t *)v->input, v->len, &ml);
		char got[32];
		snprintf(got, sizeof got, "%d %zu", (int)one, ml);
		assert_string_equal(got, v->expected);
	}
}

static void test_markers(void **state)
{
	(void)state;
	assert_int_equal(strlen(SW_V2_REQUEST_MARKER), SW_V2_REQUEST_MARKER_LEN);
	assert_int_equal(strlen(SW_V2_RESPONSE_MARKER), SW_V2_RESPONSE_MARKER_LEN);
	assert_int_equal(strlen(SW_V3_MARKER), SW_V3_MARKER_LEN);
	/* The early decision: one byte settles "hello". */
	sw_detect d;
	sw_detect_init(&d);
	assert_int_equal(sw_detect_feed(&d, (const uint8_t *)"hello\n", 6), 0);
	assert_int_equal(sw_detect_version(&d), SW_VERSION_1);
	assert_int_equal(sw_detect_pending(&d).n, 0);
	/* "bzr r" then "x": v1 with "bzr r" pending, "x" not consumed. */
	sw_detect_init(&d);
	assert_int_equal(sw_detect_feed(&d, (const uint8_t *)"bzr r", 5), 5);
	assert_int_equal(sw_detect_version(&d), SW_VERSION_NONE);
	assert_int_equal(sw_detect_feed(&d, (const uint8_t *)"x\n", 2), 0);
	assert_int_equal(sw_detect_version(&d), SW_VERSION_1);
	sw_slice p = sw_detect_pending(&d);
	assert_int_equal(p.n, 5);
	assert_memory_equal(p.p, "bzr r", 5);
	/* Clean EOF before any byte: no request. */
	sw_detect_init(&d);
	assert_int_equal(sw_detect_finish(&d), 0);
	assert_int_equal(sw_detect_version(&d), SW_VERSION_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_markers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
