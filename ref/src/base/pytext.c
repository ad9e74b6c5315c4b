/*
 * Python-compatible texts (smartwire/pytext.h): repr() of bytes, str and
 * tuples of bytes, int() of bytes, OSError class names, as CPython 3 prints
 * them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smartwire/error.h"
#include "smartwire/hex.h"
#include "smartwire/pytext.h"

/* ---- repr() ------------------------------------------------------------- */

/* str.isprintable() approximation: exact for ASCII and Latin-1 and for the
 * common separator/format/private-use blocks; unassigned code points are
 * taken as printable (CPython's answer depends on its Unicode version). */
static bool printable(uint32_t c)
{
	if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad)
		return false;
	if (c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f) ||
	    (c >= 0x205f && c <= 0x206f) || c == 0x3000 || c == 0xfeff ||
	    (c >= 0xfff9 && c <= 0xfffb) || c == 0xfffe || c == 0xffff)
		return false;
	if ((c >= 0x600 && c <= 0x605) || c == 0x61c || c == 0x6dd || c == 0x70f ||
	    c == 0x180e || c == 0x110bd || c == 0xe0001 || (c >= 0xe0020 && c <= 0xe007f))
		return false;
	if ((c >= 0xd800 && c <= 0xdfff) || (c >= 0xe000 && c <= 0xf8ff) || c >= 0xf0000)
		return false;
	return true;
}

static int esc_cp(sw_buf *out, uint32_t c)
{
	char t[16];
	if (c < 0x100) {
		char x[4] = {'\\', 'x', sw_hex_lower(c >> 4), sw_hex_lower(c)};
		return sw_buf_append(out, x, 4);
	}
	if (c < 0x10000)
		snprintf(t, sizeof t, "\\u%04x", (unsigned)c);
	else
		snprintf(t, sizeof t, "\\U%08x", (unsigned)c);
	return sw_buf_append_str(out, t);
}

/* Decodes one UTF-8 sequence at p (strict); returns its length, or 0 if
 * invalid (the byte then stands for the surrogate escape U+DC80+byte). */
static size_t utf8_one(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((p[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static char quote_for(const uint8_t *p, size_t n)
{
	if (n == 0)
		return '\''; /* p may be NULL */
	bool sq = memchr(p, '\'', n) != NULL, dq = memchr(p, '"', n) != NULL;
	return sq && !dq ? '"' : '\'';
}

static int esc_ascii(sw_buf *out, uint8_t c, char q)
{
	if (c == '\\' || c == (uint8_t)q) {
		int rc = sw_buf_append_byte(out, '\\');
		return rc ? rc : sw_buf_append_byte(out, c);
	}
	if (c == '\t')
		return sw_buf_append_str(out, "\\t");
	if (c == '\n')
		return sw_buf_append_str(out, "\\n");
	if (c == '\r')
		return sw_buf_append_str(out, "\\r");
	if (c < 0x20 || c >= 0x7f)
		return esc_cp(out, c);
	return sw_buf_append_byte(out, c);
}

int sw_py_repr_str(sw_buf *out, const uint8_t *p, size_t n)
{
	char q = quote_for(p, n);
	int rc = sw_buf_append_byte(out, (uint8_t)q);
	size_t i = 0;
	while (rc == 0 && i < n) {
		uint32_t cp;
		size_t len = utf8_one(p + i, n - i, &cp);
		if (len == 0) {
			rc = esc_cp(out, 0xdc00 + p[i]);
			i++;
		} else if (cp < 0x80) {
			rc = esc_ascii(out, (uint8_t)cp, q);
			i++;
		} else {
			rc = printable(cp) ? sw_buf_append(out, p + i, len) : esc_cp(out, cp);
			i += len;
		}
	}
	return rc ? rc : sw_buf_append_byte(out, (uint8_t)q);
}

int sw_py_repr_bytes(sw_buf *out, const uint8_t *p, size_t n)
{
	char q = quote_for(p, n);
	int rc = sw_buf_append_byte(out, 'b');
	if (rc == 0)
		rc = sw_buf_append_byte(out, (uint8_t)q);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = esc_ascii(out, p[i], q);
	return rc ? rc : sw_buf_append_byte(out, (uint8_t)q);
}

int sw_py_repr_tuple(sw_buf *out, const sw_slice *a, size_t n)
{
	int rc = sw_buf_append_byte(out, '(');
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i)
			rc = sw_buf_append_str(out, ", ");
		if (rc == 0)
			rc = sw_py_repr_bytes(out, a[i].p, a[i].n);
	}
	if (rc == 0 && n == 1)
		rc = sw_buf_append_byte(out, ',');
	return rc ? rc : sw_buf_append_byte(out, ')');
}

/* ---- int() -------------------------------------------------------------- */

static bool py_space(uint8_t c)
{
	/* Py_ISSPACE for bytes: exactly the six ASCII whitespace characters. */
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int digit_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

int sw_py_int(const uint8_t *p, size_t n, unsigned base, bool *negative,
                   uint64_t *magnitude)
{
	if (base != 2 && base != 8 && base != 10 && base != 16)
		return SW_ERR_INVALID_ARGUMENT;
	size_t i = 0, end = n;
	while (i < end && py_space(p[i]))
		i++;
	while (end > i && py_space(p[end - 1]))
		end--;
	bool neg = false;
	if (i < end && (p[i] == '+' || p[i] == '-')) {
		neg = p[i] == '-';
		i++;
	}
	/* Python allows the base prefix for an explicit base and then one
	 * underscore before the first digit ("0x_1f"). */
	if (base != 10 && end - i >= 2 && p[i] == '0') {
		uint8_t x = (uint8_t)(p[i + 1] | 0x20);
		if ((base == 16 && x == 'x') || (base == 8 && x == 'o') ||
		    (base == 2 && x == 'b')) {
			i += 2;
			if (i < end && p[i] == '_')
				i++;
		}
	}
	if (i >= end)
		return SW_ERR_INVALID_ARGUMENT;
	uint64_t v = 0;
	bool overflow = false;
	bool prev_digit = false;
	for (; i < end; i++) {
		if (p[i] == '_') {
			/* Only a single underscore between two digits. */
			if (!prev_digit || i + 1 >= end || p[i + 1] == '_')
				return SW_ERR_INVALID_ARGUMENT;
			prev_digit = false;
			continue;
		}
		int d = digit_value(p[i]);
		if (d >= (int)base)
			return SW_ERR_INVALID_ARGUMENT;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			overflow = true;
		else
			v = v * base + (uint64_t)d;
		prev_digit = true;
	}
	if (overflow)
		return SW_ERR_LIMIT;
	*negative = neg && v != 0;
	*magnitude = v;
	return 0;
}

int sw_py_int64(const uint8_t *p, size_t n, int64_t *v)
{
	bool neg;
	uint64_t mag;
	int rv = sw_py_int(p, n, 10, &neg, &mag);
	if (rv == SW_ERR_INVALID_ARGUMENT)
		return 1;
	if (rv < 0 || mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
		return 2;
	*v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}

/* ---- OSError ------------------------------------------------------------ */

/* CPython's errnomap (Objects/exceptions.c, _PyExc_InitState). */
const char *sw_py_oserror_class(int e)
{
	switch (e) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EALREADY:
	case EINPROGRESS: return "BlockingIOError";
	case ECHILD: return "ChildProcessError";
	case EPIPE:
	case ESHUTDOWN: return "BrokenPipeError";
	case ECONNABORTED: return "ConnectionAbortedError";
	case ECONNREFUSED: return "ConnectionRefusedError";
	case ECONNRESET: return "ConnectionResetError";
	case EEXIST: return "FileExistsError";
	case ENOENT: return "FileNotFoundError";
	case EISDIR: return "IsADirectoryError";
	case ENOTDIR: return "NotADirectoryError";
	case EINTR: return "InterruptedError";
	case EACCES:
	case EPERM: return "PermissionError";
	case ESRCH: return "ProcessLookupError";
	case ETIMEDOUT: return "TimeoutError";
	default: return "OSError";
	}
}
