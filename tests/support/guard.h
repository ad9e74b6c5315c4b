/*
 * Guard-page buffers (after picohttpparser's test.c): the bytes are placed so
 * that the last one sits immediately before an inaccessible page, so a
 * decoder that reads one byte past what it was given faults at once, with or
 * without a sanitizer.
 */
#ifndef SW_TEST_GUARD_H
#define SW_TEST_GUARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct sw_guard {
	uint8_t *map;
	size_t maplen;
	uint8_t *data; /* `len` bytes ending right before the guard page */
	size_t len;
} sw_guard;

/* Copies `len` bytes into a fresh guarded region; aborts on mmap failure. */
const uint8_t *sw_guard_copy(sw_guard *g, const void *src, size_t len);
void sw_guard_free(sw_guard *g);

#endif
