/* The path jail, part 1: a client path as Breezy translates it, pure string
 * work (sw_jail_translate, sw_jail_invalid_url).  The walk on disk is in
 * jail_walk.c.  See smartwire/jail.h for the contract. */
#include "smartwire/jail.h"

#include <stdio.h>
#include <string.h>

#include "smartwire/error.h"
#include "smartwire/hex.h"
#include "smartwire/pytext.h"

void sw_jail_path_init(sw_jail_path *jp, const sw_mem *mem)
{
	sw_buf_init(&jp->wire, mem);
	sw_buf_init(&jp->combined, mem);
	sw_buf_init(&jp->fs, mem);
	sw_buf_init(&jp->msg, mem);
	jp->nonascii = false;
	jp->has_nul = false;
}

void sw_jail_path_fini(sw_jail_path *jp)
{
	sw_buf_fini(&jp->wire);
	sw_buf_fini(&jp->combined);
	sw_buf_fini(&jp->fs);
	sw_buf_fini(&jp->msg);
}

/* urlutils._url_dont_escape_characters */
static bool unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* One pass of URL._combine_paths('/', rel), result without the leading '/'
 * (PathFilteringTransport._relpath_from_server_root).  First %XX escapes of
 * unreserved characters are unescaped (so %2e%2e becomes ".."), then "."
 * and empty segments are dropped and ".." is clamped at the root. */
static int combine(const uint8_t *p, size_t n, sw_buf *out)
{
	sw_buf tmp;
	sw_buf_init(&tmp, out->mem);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (p[i] == '%' && i + 2 < n && sw_hex_value(p[i + 1]) >= 0 &&
		    sw_hex_value(p[i + 2]) >= 0) {
			int c = sw_hex_value(p[i + 1]) * 16 + sw_hex_value(p[i + 2]);
			if (unreserved(c)) {
				rc = sw_buf_append_byte(&tmp, (uint8_t)c);
				i += 2;
				continue;
			}
		}
		rc = sw_buf_append_byte(&tmp, p[i]);
	}
	sw_buf_reset(out);
	size_t start = 0;
	for (size_t i = 0; rc == 0 && i <= tmp.len; i++) {
		if (i < tmp.len && tmp.data[i] != '/')
			continue;
		const uint8_t *seg = (tmp.data ? tmp.data : (const uint8_t *)"") + start;
		size_t len = i - start;
		start = i + 1;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			/* pop the last segment, if any */
			while (out->len > 0 && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > 0)
				out->len--;
		} else if (len == 0 || (len == 1 && seg[0] == '.')) {
			continue;
		} else {
			if (out->len > 0)
				rc = sw_buf_append_byte(out, '/');
			if (rc == 0)
				rc = sw_buf_append(out, seg, len);
		}
	}
	sw_buf_fini(&tmp);
	return rc;
}

/* Strict UTF-8 validation as Python's decoder (no overlongs, surrogates or
 * code points above U+10FFFF).  With `fix`, appends the input to `out` with
 * every invalid sequence replaced by U+FFFD using Python's "maximal subpart"
 * rule (errors='replace'); otherwise only returns whether it is valid. */
static int utf8_scan(const uint8_t *p, size_t n, sw_buf *out, bool *valid)
{
	*valid = true;
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		size_t need = 0;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c < 0x80) {
			need = 0;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			if (c == 0xf4)
				hi = 0x8f;
		} else {
			need = SIZE_MAX; /* invalid start byte */
		}
		size_t len = 1;
		bool ok = need != SIZE_MAX;
		if (ok) {
			for (size_t k = 0; k < need; k++) {
				uint8_t b = i + 1 + k < n ? p[i + 1 + k] : 0;
				if (i + 1 + k >= n || b < (k == 0 ? lo : 0x80) ||
				    b > (k == 0 ? hi : 0xbf)) {
					ok = false;
					break;
				}
				len++;
			}
		}
		if (!ok)
			*valid = false;
		if (out) {
			int rc = ok ? sw_buf_append(out, p + i, len)
			            : sw_buf_append(out, "\xef\xbf\xbd", 3);
			if (rc)
				return rc;
		} else if (!ok) {
			return 0;
		}
		i += len;
	}
	return 0;
}

/* A path every step below would leave as it is: printable ASCII without
 * '%', an optional leading '/', then one or more segments that are neither
 * empty, "." nor "..".  For it joinpath keeps the segments, both
 * _combine_paths passes and the unescaping are the identity, and nothing is
 * flagged, so the three results are the segments themselves.  Returns the
 * length of the leading '/' to skip, or -1 for any other path. */
static int plain_path(const uint8_t *p, size_t n)
{
	int skip = n > 0 && p[0] == '/';
	size_t seg = 0;   /* bytes of the current segment */
	bool dots = true; /* the current segment has only '.' so far */
	if ((size_t)skip == n)
		return -1;
	for (size_t i = (size_t)skip; i < n; i++) {
		uint8_t c = p[i];
		if (c == '/') {
			if (seg == 0 || (dots && seg <= 2))
				return -1;
			seg = 0;
			dots = true;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '%')
			return -1;
		seg++;
		dots &= c == '.';
	}
	if (seg == 0 || (dots && seg <= 2))
		return -1;
	return skip;
}

int sw_jail_translate(const uint8_t *p, size_t n, bool append_slash, sw_jail_path *jp)
{
	bool valid;
	sw_buf_reset(&jp->wire);
	sw_buf_reset(&jp->combined);
	sw_buf_reset(&jp->fs);
	sw_buf_reset(&jp->msg);
	jp->nonascii = false;
	jp->has_nul = false;
	int skip = plain_path(p, n);
	if (skip >= 0) {
		/* The common case, without the temporary buffers of the general
		 * one below (which gives the same three strings for it). */
		const uint8_t *rest = p + skip;
		size_t m = n - (size_t)skip;
		int rc = sw_buf_append(&jp->wire, "./", 2);
		if (rc == 0)
			rc = sw_buf_append(&jp->wire, rest, m);
		if (rc == 0 && append_slash)
			rc = sw_buf_append_byte(&jp->wire, '/');
		if (rc == 0)
			rc = sw_buf_append(&jp->combined, rest, m);
		if (rc == 0)
			rc = sw_buf_append(&jp->fs, rest, m);
		return rc;
	}
	utf8_scan(p, n, NULL, &valid);
	if (!valid)
		return SW_JAIL_BAD_UTF8;

	/* arg = client path with a leading '/' (and a trailing one), minus the
	 * first character: joinpath('/', arg). */
	sw_buf arg;
	sw_buf_init(&arg, jp->wire.mem);
	int rc = 0;
	if (n > 0 && p[0] == '/')
		rc = sw_buf_append(&arg, p + 1, n - 1);
	else
		rc = sw_buf_append(&arg, p, n);
	if (rc == 0 && append_slash && !(n > 0 && p[n - 1] == '/'))
		rc = sw_buf_append_byte(&arg, '/');
	if (rc == 0 && arg.len > 0 && arg.data[0] == '/')
		sw_buf_consume(&arg, 1); /* joinpath restarts at an absolute arg */
	if (rc == 0)
		rc = sw_buf_append_str(&jp->wire, "./");
	/* joinpath: every chunk except "." is kept, including empty ones;
	 * ".." pops and may not pop the leading root element. */
	size_t nseg = 0, start = 0;
	size_t root_len = 2; /* "./" */
	bool first = true;
	for (size_t i = 0; rc == 0 && i <= arg.len; i++) {
		if (i < arg.len && arg.data[i] != '/')
			continue;
		const uint8_t *seg = (arg.data ? arg.data : (const uint8_t *)"") + start;
		size_t len = i - start;
		start = i + 1;
		if (len == 1 && seg[0] == '.')
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			if (nseg == 0) {
				rc = sw_buf_append_str(&jp->msg, "Invalid URL join request: "
				                                 "Cannot go above root: '/' + (");
				if (rc == 0)
					rc = sw_py_repr_str(&jp->msg, arg.data, arg.len);
				if (rc == 0)
					rc = sw_buf_append_str(&jp->msg, ",)");
				sw_buf_fini(&arg);
				return rc ? rc : SW_JAIL_ABOVE_ROOT;
			}
			/* drop the last segment and its separator */
			while (jp->wire.len > root_len && jp->wire.data[jp->wire.len - 1] != '/')
				jp->wire.len--;
			if (jp->wire.len > root_len)
				jp->wire.len--;
			else
				first = true;
			nseg--;
			if (nseg == 0)
				first = true;
			continue;
		}
		if (!first)
			rc = sw_buf_append_byte(&jp->wire, '/');
		if (rc == 0)
			rc = sw_buf_append(&jp->wire, seg, len);
		first = false;
		nseg++;
	}
	sw_buf_fini(&arg);
	if (rc)
		return rc;

	/* Two _combine_paths passes: the ~-expanding path filter and the chroot
	 * each apply one. */
	sw_buf once;
	sw_buf_init(&once, jp->wire.mem);
	rc = combine(jp->wire.data, jp->wire.len, &once);
	if (rc == 0)
		rc = combine(once.data, once.len, &jp->combined);
	sw_buf_fini(&once);
	if (rc)
		return rc;
	for (size_t i = 0; i < jp->combined.len; i++)
		if (jp->combined.data[i] >= 0x80)
			jp->nonascii = true;

	/* urlutils.unescape: unquote_to_bytes, then UTF-8 with errors='replace'. */
	sw_buf raw;
	sw_buf_init(&raw, jp->wire.mem);
	for (size_t i = 0; rc == 0 && i < jp->combined.len; i++) {
		const uint8_t *c = jp->combined.data;
		if (c[i] == '%' && i + 2 < jp->combined.len && sw_hex_value(c[i + 1]) >= 0 &&
		    sw_hex_value(c[i + 2]) >= 0) {
			rc = sw_buf_append_byte(
			    &raw, (uint8_t)(sw_hex_value(c[i + 1]) * 16 + sw_hex_value(c[i + 2])));
			i += 2;
		} else {
			rc = sw_buf_append_byte(&raw, c[i]);
		}
	}
	if (rc == 0)
		rc = utf8_scan(raw.data, raw.len, &jp->fs, &valid);
	sw_buf_fini(&raw);
	if (rc)
		return rc;
	jp->has_nul = jp->fs.len > 0 && memchr(jp->fs.data, 0, jp->fs.len) != NULL;
	return SW_JAIL_OK;
}

int sw_jail_invalid_url(const sw_jail_path *jp, sw_buf *out)
{
	/* Decode code points to find the first run of non-ASCII characters. */
	const uint8_t *p = jp->combined.data;
	size_t n = jp->combined.len, i = 0, idx = 0, first = 0, run = 0;
	uint32_t cp0 = 0;
	bool in_run = false, done = false;
	while (i < n && !done) {
		uint32_t cp = p[i];
		size_t len = 1;
		if (cp >= 0xf0)
			cp &= 0x07, len = 4;
		else if (cp >= 0xe0)
			cp &= 0x0f, len = 3;
		else if (cp >= 0xc0)
			cp &= 0x1f, len = 2;
		for (size_t k = 1; k < len && i + k < n; k++)
			cp = (cp << 6) | (p[i + k] & 0x3f);
		if (cp >= 0x80) {
			if (!in_run) {
				in_run = true;
				first = idx;
				cp0 = cp;
			}
			run++;
		} else if (in_run) {
			done = true;
		}
		i += len;
		idx++;
	}
	char tmp[160];
	int rc =
	    sw_buf_append_str(out, ": URL was not a plain ASCII url: 'ascii' codec can't encode ");
	if (run == 1) {
		const char *fmt = cp0 < 0x100     ? "character '\\x%02x'"
		                  : cp0 < 0x10000 ? "character '\\u%04x'"
		                                  : "character '\\U%08x'";
		snprintf(tmp, sizeof tmp, fmt, (unsigned)cp0);
		if (rc == 0)
			rc = sw_buf_append_str(out, tmp);
		snprintf(tmp, sizeof tmp, " in position %zu", first);
	} else {
		snprintf(tmp, sizeof tmp, "characters in position %zu-%zu", first, first + run - 1);
	}
	if (rc == 0)
		rc = sw_buf_append_str(out, tmp);
	if (rc == 0)
		rc = sw_buf_append_str(out, ": ordinal not in range(128)");
	return rc;
}
