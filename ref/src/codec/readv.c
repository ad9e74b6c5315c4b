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

/* int() of field k of `line`, body[at .. at + n), into *neg and *mag.
 * Returns SW_READV_OK, NOT_INT or TOO_BIG (then the field is recorded in
 * `line`). */
static sw_readv_fault field(const uint8_t *body, size_t at, size_t n, int k, bool *neg,
                            uint64_t *mag, sw_readv_line *line)
{
	int rv = sw_py_int(body + at, n, 10, neg, mag);
	if (rv == 0)
		return SW_READV_OK;
	*neg = false;
	*mag = 0;
	line->field = k;
	line->field_at = at;
	line->field_len = n;
	return rv == SW_ERR_LIMIT ? SW_READV_TOO_BIG : SW_READV_NOT_INT;
}

int sw_readv_next(const uint8_t *body, size_t len, size_t *pos, sw_readv_line *line)
{
	memset(line, 0, sizeof *line);
	size_t at = *pos, end = at;
	/* Skip empty lines (split(b'\n') gives b'' for each). */
	for (;;) {
		if (at >= len) {
			*pos = len;
			return 0;
		}
		const uint8_t *nl = memchr(body + at, '\n', len - at);
		end = nl ? (size_t)(nl - body) : len;
		if (end > at)
			break;
		at = end + 1;
	}
	line->line_at = at;
	line->line_len = end - at;
	*pos = at;
	/* start, length = line.split(b','): exactly two fields. */
	const uint8_t *comma = memchr(body + at, ',', end - at);
	if (!comma) {
		line->fault = SW_READV_ONE_FIELD;
		return SW_ERR_INVALID_ARGUMENT;
	}
	size_t c = (size_t)(comma - body);
	if (memchr(comma + 1, ',', end - c - 1)) {
		line->fault = SW_READV_MANY_FIELDS;
		return SW_ERR_INVALID_ARGUMENT;
	}
	/* (int(start), int(length)): Python evaluates the tuple left to right,
	 * so a bad start is the one reported. */
	line->fault = field(body, at, c - at, 0, &line->start_neg, &line->start, line);
	if (line->fault == SW_READV_OK)
		line->fault =
		    field(body, c + 1, end - c - 1, 1, &line->length_neg, &line->length, line);
	if (line->fault != SW_READV_OK)
		return SW_ERR_INVALID_ARGUMENT;
	*pos = end < len ? end + 1 : len;
	return 1;
}

/* Walks the lines of `body`: validates and counts them, and when `v` is not
 * NULL also stores them.  Returns the count or a negative sw_err. */
static ptrdiff_t walk(const uint8_t *body, size_t len, size_t max_ranges, sw_readv_range *v)
{
	size_t count = 0, pos = 0;
	sw_readv_line line;
	int rv;
	while ((rv = sw_readv_next(body, len, &pos, &line)) == 1) {
		if (line.start_neg || line.length_neg)
			return SW_ERR_INVALID_ARGUMENT;
		if (count == max_ranges)
			return SW_ERR_LIMIT;
		if (v)
			v[count] = (sw_readv_range){line.start, line.length};
		count++;
	}
	return rv < 0 ? rv : (ptrdiff_t)count;
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
