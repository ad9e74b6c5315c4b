/*
 * SHA-256 (FIPS 180-4), for the body digests the dissector and reports print so that a
 * body can be checked against `sha256sum` of a file.  Written here because
 * the project takes no crypto dependency for one digest; verified against
 * the FIPS 180-2 test vectors in tests/test_sha256.c.
 */
#ifndef SMARTWIRE_SHA256_H
#define SMARTWIRE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_sha256 {
	uint32_t h[8];
	uint64_t total;
	uint8_t block[64];
	size_t used;
} sw_sha256;

void sw_sha256_init(sw_sha256 *s);
void sw_sha256_update(sw_sha256 *s, const void *data, size_t len);
/* Writes the 64 lower-case hex digits and a NUL to hex[65]. */
void sw_sha256_hex(sw_sha256 *s, char hex[65]);

#endif
