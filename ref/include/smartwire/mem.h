/*
 * smartwire: the allocator hook and the growable byte buffer.
 *
 * Every long-lived object takes a `const sw_mem *` at creation (NULL means
 * the C library's malloc family) and performs all of its allocations through
 * it.  Tests pass a counting allocator that fails the N-th call, so every
 * allocation site is exercised (see tests/support/failmem.h).
 */
#ifndef SMARTWIRE_MEM_H
#define SMARTWIRE_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_mem {
	/* Like malloc/realloc/free; `ud` is passed back unchanged.  realloc must
	 * behave like C's realloc (NULL ptr allocates; failure leaves ptr valid). */
	void *(*malloc)(size_t size, void *ud);
	void *(*realloc)(void *ptr, size_t size, void *ud);
	void (*free)(void *ptr, void *ud);
	void *ud;
} sw_mem;

/* The default allocator (the C library's); never NULL, statically owned. */
SW_API const sw_mem *sw_mem_default(void);

/* Allocation helpers that accept NULL for the default allocator. */
SW_API void *sw_malloc(const sw_mem *mem, size_t size);
SW_API void *sw_realloc(const sw_mem *mem, void *ptr, size_t size);
SW_API void sw_free(const sw_mem *mem, void *ptr);

/* A byte string that the caller does not own: `p` points at `n` bytes that
 * stay valid as documented by the function handing it out. */
typedef struct sw_slice {
	const uint8_t *p;
	size_t n;
} sw_slice;

/* Growable output buffer.  The struct is caller-owned (usually on the stack
 * or inside another object); the bytes it points at are owned by the buffer
 * and released by sw_buf_fini().  Appending can move `data`: pointers into
 * the buffer are valid until the next append. */
typedef struct sw_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	const sw_mem *mem;
} sw_buf;

/* Initialises an empty buffer that allocates through `mem` (NULL: default).
 * Never fails; no memory is allocated until the first append. */
SW_API void sw_buf_init(sw_buf *buf, const sw_mem *mem);

/* Releases the bytes and leaves `buf` empty and reusable. */
SW_API void sw_buf_fini(sw_buf *buf);

/* Ensures room for `extra` more bytes.  Returns 0 or SW_ERR_NOMEM (the buffer
 * is unchanged on failure). */
SW_API int sw_buf_reserve(sw_buf *buf, size_t extra);

/* Appends bytes.  Returns 0 or SW_ERR_NOMEM (buffer unchanged on failure). */
SW_API int sw_buf_append(sw_buf *buf, const void *data, size_t len);
SW_API int sw_buf_append_byte(sw_buf *buf, uint8_t byte);
SW_API int sw_buf_append_str(sw_buf *buf, const char *s);
/* Appends the decimal form of `v` (no sign, no padding). */
SW_API int sw_buf_append_u64(sw_buf *buf, uint64_t v);
/* Appends a 4-byte big-endian integer. */
SW_API int sw_buf_append_u32be(sw_buf *buf, uint32_t v);

/* Drops the first `n` bytes (n <= len), keeping the rest. */
SW_API void sw_buf_consume(sw_buf *buf, size_t n);

/* Empties the buffer but keeps its memory. */
static inline void sw_buf_reset(sw_buf *buf)
{
	buf->len = 0;
}

#ifdef __cplusplus
}
#endif
#endif
