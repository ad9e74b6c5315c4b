/*
 * Checks shared by the server session tests (cmocka: include after
 * <cmocka.h>): a byte search, a byte-exact comparison that prints both
 * sides in the trace notation, and request building (our encoders build
 * INPUT only; every expected answer comes from Breezy).
 */
#ifndef SW_TEST_SERVER_CHECK_H
#define SW_TEST_SERVER_CHECK_H

#include <stdint.h>
#include <string.h>

#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

static inline const void *srv_find_mem(const void *hay, size_t n, const void *needle, size_t k)
{
	const uint8_t *h = hay;
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(h + i, needle, k) == 0)
			return h + i;
	return NULL;
}

static inline void srv_expect_bytes(const char *what, const sw_buf *got, const void *want, size_t n)
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

/* Builds a request for `args` in `version` (our encoders build INPUT only;
 * every expected answer comes from Breezy). */
static inline void srv_build_request(sw_buf *b, int version, const sw_slice *args, size_t n,
                                     const sw_slice *body)
{
	sw_buf_init(b, NULL);
	if (version == 3)
		assert_int_equal(sw_v3_encode_request(b, NULL, 0, args, n, body), 0);
	else
		assert_int_equal(sw_v12_encode_request(b, version, args, n, body), 0);
}

#endif
