/*
 * The v1/v2 argument line: arguments joined by 0x01, ended by "\n".
 * See smartwire/tuple.h.
 */
#include "smartwire/tuple.h"

#include <string.h>

#include "smartwire/error.h"

int sw_tuple_encode(sw_buf *out, const sw_slice *args, size_t n)
{
	size_t total = 1;
	for (size_t i = 0; i < n; i++) {
		if (args[i].n && (memchr(args[i].p, SW_TUPLE_SEP, args[i].n) ||
		                  memchr(args[i].p, SW_TUPLE_EOL, args[i].n)))
			return SW_ERR_BAD_ARGUMENT_BYTE;
		if (args[i].n > SIZE_MAX - total - 1)
			return SW_ERR_NOMEM;
		total += args[i].n + 1;
	}
	size_t mark = out->len;
	if (sw_buf_reserve(out, total) < 0)
		return SW_ERR_NOMEM;
	int rv = 0;
	for (size_t i = 0; rv == 0 && i < n; i++) {
		if (i)
			rv = sw_buf_append_byte(out, SW_TUPLE_SEP);
		if (rv == 0 && args[i].n)
			rv = sw_buf_append(out, args[i].p, args[i].n);
	}
	if (rv == 0)
		rv = sw_buf_append_byte(out, SW_TUPLE_EOL);
	if (rv < 0)
		out->len = mark;
	return rv;
}

ptrdiff_t sw_tuple_decode(const uint8_t *line, size_t len, sw_slice *out, size_t max_args)
{
	if (len == 0 || line[len - 1] != SW_TUPLE_EOL)
		return SW_ERR_UNEXPECTED_EOF;
	size_t end = len - 1, start = 0, count = 0;
	for (;;) {
		const uint8_t *sep = end > start ? memchr(line + start, SW_TUPLE_SEP, end - start) : NULL;
		size_t stop = sep ? (size_t)(sep - line) : end;
		if (count >= max_args)
			return SW_ERR_TOO_MANY_ARGS;
		if (out) {
			out[count].p = line + start;
			out[count].n = stop - start;
		}
		count++;
		if (!sep)
			break;
		start = stop + 1;
	}
	return (ptrdiff_t)count;
}
