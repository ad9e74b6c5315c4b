/*
 * The readv offset list ("start,length" lines).  See smartwire/readv.h.
 */
#include "smartwire/readv.h"

#include <stdbool.h>
#include <string.h>

#include "smartwire/error.h"
#include "smartwire/pytext.h"

int sw_readv_serialise(sw_buf *out, const sw_readv_range *ranges, size_t n)
{
	size_t mark = out->len;
	int rv = 0;
	for (size_t i = 0; rv == 0 && i < n; i++) {
		if (i)
			rv = sw_buf_append_byte(out, '\n');
		if (rv == 0)
			rv = sw_buf_append_u64(out, ranges[i].start);
		if (rv == 0)
			rv = sw_buf_append_byte(out, ',');
		if (rv == 0)
			rv = sw_buf_append_u64(out, ranges[i].length);
	}
	if (rv < 0)
		out->len = mark;
	return rv;
}

static int field(const uint8_t *p, size_t n, uint64_t *v)
{
	bool neg;
	if (sw_py_int(p, n, 10, &neg, v) < 0 || neg)
		return SW_ERR_INVALID_ARGUMENT;
	return 0;
}

/* One non-empty line: exactly one comma, two integers. */
static int parse_line(const uint8_t *p, size_t n, sw_readv_range *r)
{
	const uint8_t *comma = memchr(p, ',', n);
	if (!comma)
		return SW_ERR_INVALID_ARGUMENT;
	size_t c = (size_t)(comma - p);
	if (memchr(comma + 1, ',', n - c - 1))
		return SW_ERR_INVALID_ARGUMENT;
	if (field(p, c, &r->start) < 0 || field(comma + 1, n - c - 1, &r->length) < 0)
		return SW_ERR_INVALID_ARGUMENT;
	return 0;
}

/* Walks the non-empty lines of `body`: validates and counts them, and when
 * `v` is not NULL also stores them.  Returns the count or a negative
 * sw_err. */
static ptrdiff_t walk(const uint8_t *body, size_t len, size_t max_ranges, sw_readv_range *v)
{
	size_t count = 0;
	for (size_t at = 0; at < len;) {
		const uint8_t *nl = memchr(body + at, '\n', len - at);
		size_t end = nl ? (size_t)(nl - body) : len;
		if (end > at) {
			sw_readv_range r;
			int rv = parse_line(body + at, end - at, &r);
			if (rv < 0)
				return rv;
			if (count == max_ranges)
				return SW_ERR_LIMIT;
			if (v)
				v[count] = r;
			count++;
		}
		at = end + 1;
	}
	return (ptrdiff_t)count;
}

int sw_readv_parse(const uint8_t *body, size_t len, size_t max_ranges, const sw_mem *mem,
                   sw_readv_range **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!max_ranges)
		max_ranges = SW_READV_DEFAULT_MAX_RANGES;
	/* Validate and count first, so that one allocation suffices. */
	ptrdiff_t count = walk(body, len, max_ranges, NULL);
	if (count <= 0)
		return (int)count;
	if ((size_t)count > SIZE_MAX / sizeof(sw_readv_range))
		return SW_ERR_NOMEM;
	sw_readv_range *v = sw_malloc(mem, (size_t)count * sizeof *v);
	if (!v)
		return SW_ERR_NOMEM;
	walk(body, len, max_ranges, v);
	*out = v;
	*n = (size_t)count;
	return 0;
}
