#include "smartwire/format.h"
#include "smartwire/error.h"
#include "smartwire/hex.h"

int sw_format_bytes(sw_buf *out, const void *p, size_t n)
{
	const uint8_t *s = p;
	/* Worst case every byte becomes four characters. */
	if (n > (SIZE_MAX - 2) / 4)
		return SW_ERR_NOMEM;
	int rv = sw_buf_reserve(out, n * 4 + 2);
	if (rv < 0)
		return rv;
	uint8_t *d = out->data + out->len;
	*d++ = '"';
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\') {
			*d++ = '\\';
			*d++ = c;
		} else if (c >= 0x20 && c <= 0x7e) {
			*d++ = c;
		} else {
			*d++ = '\\';
			*d++ = 'x';
			*d++ = (uint8_t)sw_hex_lower(c >> 4);
			*d++ = (uint8_t)sw_hex_lower(c);
		}
	}
	*d++ = '"';
	out->len = (size_t)(d - out->data);
	return 0;
}

int sw_format_tuple(sw_buf *out, const sw_slice *items, size_t n)
{
	int rv = sw_buf_append_byte(out, '[');
	for (size_t i = 0; rv == 0 && i < n; i++) {
		if (i)
			rv = sw_buf_append(out, ", ", 2);
		if (rv == 0)
			rv = sw_format_bytes(out, items[i].p, items[i].n);
	}
	if (rv == 0)
		rv = sw_buf_append_byte(out, ']');
	return rv;
}

int sw_format_json_bytes(sw_buf *out, const void *p, size_t n)
{
	const uint8_t *s = p;
	int rc = sw_buf_append_byte(out, '"');
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\') {
			uint8_t esc[2] = {'\\', c};
			rc = sw_buf_append(out, esc, 2);
		} else if (c >= 0x20 && c < 0x7f) {
			rc = sw_buf_append_byte(out, c);
		} else {
			char esc[6] = {'\\', 'u', '0', '0', sw_hex_lower(c >> 4u), sw_hex_lower(c)};
			rc = sw_buf_append(out, esc, 6);
		}
	}
	return rc ? rc : sw_buf_append_byte(out, '"');
}
