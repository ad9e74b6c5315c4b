/*
 * Literal matching and line staging shared by the decoders.  See stage.h.
 */
#include "stage.h"

#include <string.h>

#include "smartwire/error.h"

ptrdiff_t sw__stage_literal(const char *lit, size_t litlen, size_t *matched,
                            const uint8_t *in, size_t len)
{
	/* One memcmp over what is available: a mismatch anywhere in it is the
	 * same error as at its first byte, and *matched is not looked at
	 * again after an error. */
	size_t n = litlen - *matched < len ? litlen - *matched : len;
	if (n && memcmp(in, lit + *matched, n) != 0)
		return -1;
	*matched += n;
	return (ptrdiff_t)n;
}

ptrdiff_t sw__stage_line(uint8_t *line, size_t *staged, size_t max, const uint8_t *in,
                         size_t len, bool *complete)
{
	*complete = false;
	const uint8_t *nl = len ? memchr(in, '\n', len) : NULL;
	size_t body = nl ? (size_t)(nl - in) : len;
	/* The line may take `room` more bytes, its "\n" (here or to come) included. */
	size_t room = max > *staged ? max - *staged : 0;
	if (body >= room)
		return SW_ERR_LINE_TOO_LONG;
	if (body) {
		memcpy(line + *staged, in, body);
		*staged += body;
	}
	*complete = nl != NULL;
	return (ptrdiff_t)(nl ? body + 1 : body);
}
