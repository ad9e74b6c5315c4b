/*
 * SHA-256 (FIPS 180-4), for the body digests the dissector and reports print
 * so that a body can be checked against `sha256sum` of a file.  Written here
 * because the project takes no crypto dependency for one digest; verified
 * against the FIPS 180-2 test vectors in tests/test_sha256.c.
 *
 * The context is a plain caller-owned value; nothing is allocated.
 */
#ifndef SMARTWIRE_SHA256_H
#define SMARTWIRE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Private fields: use the functions below. */
typedef struct sw_sha256 {
	uint32_t h[8];
	uint64_t total;
	uint8_t block[64];
	size_t used;
} sw_sha256;

/* Starts a new digest (also to reuse a finished context). */
SW_API void sw_sha256_init(sw_sha256 *s);

/* Adds `len` bytes (`data` may be NULL when len is 0). */
SW_API void sw_sha256_update(sw_sha256 *s, const void *data, size_t len);

/* Finishes the digest and writes its 64 lower-case hex digits and a NUL to
 * hex[65].  The context is consumed: call sw_sha256_init before using it
 * again. */
SW_API void sw_sha256_hex(sw_sha256 *s, char hex[65]);

#ifdef __cplusplus
}
#endif
#endif
