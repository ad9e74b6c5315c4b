#include "smartwire/mem.h"
#include "smartwire/error.h"

#include <stdlib.h>
#include <string.h>

static void *std_malloc(size_t size, void *ud)
{
	(void)ud;
	return malloc(size);
}

static void *std_realloc(void *ptr, size_t size, void *ud)
{
	(void)ud;
	return realloc(ptr, size);
}

static void std_free(void *ptr, void *ud)
{
	(void)ud;
	free(ptr);
}

static const sw_mem default_mem = {std_malloc, std_realloc, std_free, NULL};

const sw_mem *sw_mem_default(void)
{
	return &default_mem;
}

void *sw_malloc(const sw_mem *mem, size_t size)
{
	if (!mem)
		mem = &default_mem;
	/* A zero-byte request still returns a unique pointer so callers can treat
	 * NULL as failure without special cases. */
	return mem->malloc(size ? size : 1, mem->ud);
}

void *sw_realloc(const sw_mem *mem, void *ptr, size_t size)
{
	if (!mem)
		mem = &default_mem;
	return mem->realloc(ptr, size ? size : 1, mem->ud);
}

void sw_free(const sw_mem *mem, void *ptr)
{
	if (!ptr)
		return;
	if (!mem)
		mem = &default_mem;
	mem->free(ptr, mem->ud);
}

void sw_buf_init(sw_buf *buf, const sw_mem *mem)
{
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
	buf->mem = mem;
}

void sw_buf_fini(sw_buf *buf)
{
	sw_free(buf->mem, buf->data);
	buf->data = NULL;
	buf->len = 0;
	buf->cap = 0;
}

int sw_buf_reserve(sw_buf *buf, size_t extra)
{
	if (extra <= buf->cap - buf->len)
		return 0;
	if (extra > SIZE_MAX / 2 - buf->len)
		return SW_ERR_NOMEM;
	size_t want = buf->len + extra;
	size_t cap = buf->cap ? buf->cap : 64;
	while (cap < want)
		cap *= 2;
	uint8_t *p = sw_realloc(buf->mem, buf->data, cap);
	if (!p)
		return SW_ERR_NOMEM;
	buf->data = p;
	buf->cap = cap;
	return 0;
}

int sw_buf_append(sw_buf *buf, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	int rv = sw_buf_reserve(buf, len);
	if (rv < 0)
		return rv;
	memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	return 0;
}

int sw_buf_append_byte(sw_buf *buf, uint8_t byte)
{
	return sw_buf_append(buf, &byte, 1);
}

int sw_buf_append_str(sw_buf *buf, const char *s)
{
	return sw_buf_append(buf, s, strlen(s));
}

int sw_buf_append_u64(sw_buf *buf, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return sw_buf_append(buf, tmp + i, sizeof tmp - i);
}

int sw_buf_append_u32be(sw_buf *buf, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return sw_buf_append(buf, b, 4);
}

void sw_buf_consume(sw_buf *buf, size_t n)
{
	if (n >= buf->len) {
		buf->len = 0;
		return;
	}
	memmove(buf->data, buf->data + n, buf->len - n);
	buf->len -= n;
}
