/*
 * smartwire: hexadecimal digits, both ways.
 *
 * Used by the trace notation, digests, chunk lengths, Python reprs and the
 * %XX escapes of URLs and paths.  Inline: each is one expression.
 */
#ifndef SMARTWIRE_HEX_H
#define SMARTWIRE_HEX_H

#ifdef __cplusplus
extern "C" {
#endif

/* The digit for v & 15: "0123456789abcdef" / "0123456789ABCDEF". */
static inline char sw_hex_lower(unsigned v)
{
	return "0123456789abcdef"[v & 15];
}

static inline char sw_hex_upper(unsigned v)
{
	return "0123456789ABCDEF"[v & 15];
}

/* The value of a hex digit of either case, or -1 if `c` is not one. */
static inline int sw_hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#ifdef __cplusplus
}
#endif
#endif
