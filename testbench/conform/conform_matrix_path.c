/*
 * Conformance case files: the paths of case matrices (conform_matrix.c).
 * A form's path is one token: a bare word or a quoted string with the
 * case-file escapes (\xNN \0 \\ ...), in which these templates expand:
 *   {e:T} {E:T}     every byte of T %-escaped, lower / upper case hex
 *   {ee:T} {EE:T}   the same escaped twice (%252e)
 *   {rep:N:T}       T repeated N times
 * and {root} {outside} stay for the runner to expand.  The result is
 * written back as a case-file string.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_parse_impl.h"
#include "smartwire/error.h"
#include "smartwire/hex.h"

/* ---- Paths ------------------------------------------------------------------- */

/* Decodes the case-file escapes of p[0..n) into out. */
static int unescape(const char *p, size_t n, sw_buf *out)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)p[i];
		if (c == '\\' && i + 1 < n) {
			char e = p[++i];
			if (e == 'x' && i + 2 < n && sw_hex_value(p[i + 1]) >= 0 &&
			    sw_hex_value(p[i + 2]) >= 0) {
				c = (uint8_t)(sw_hex_value(p[i + 1]) * 16 + sw_hex_value(p[i + 2]));
				i += 2;
			} else {
				c = e == '0' ? 0 : e == 'n' ? '\n' : e == 't' ? '\t' : (uint8_t)e;
			}
		}
		if (sw_buf_append_byte(out, c) < 0)
			return SW_ERR_NOMEM;
	}
	return 0;
}

static int pct(sw_buf *out, const uint8_t *p, size_t n, bool upper, int times)
{
	for (size_t i = 0; i < n; i++) {
		char e[8];
		unsigned c = p[i];
		if (times == 2)
			snprintf(e, sizeof e, "%%25%c%c",
			         upper ? sw_hex_upper(c >> 4) : sw_hex_lower(c >> 4),
			         upper ? sw_hex_upper(c) : sw_hex_lower(c));
		else
			snprintf(e, sizeof e, "%%%c%c",
			         upper ? sw_hex_upper(c >> 4) : sw_hex_lower(c >> 4),
			         upper ? sw_hex_upper(c) : sw_hex_lower(c));
		if (sw_buf_append_str(out, e) < 0)
			return SW_ERR_NOMEM;
	}
	return 0;
}

/* Expands the templates of a path source into its bytes.  Returns 0, or
 * SW_ERR_INVALID_ARGUMENT with a sentence in *why. */
int sw__cf_matrix_path(const char *p, size_t n, sw_buf *out, const char **why)
{
	size_t i = 0;
	while (i < n) {
		const char *close = NULL;
		if (p[i] == '{')
			close = memchr(p + i, '}', n - i);
		size_t tl = close ? (size_t)(close - (p + i)) + 1 : 0;
		if (close &&
		    (tl >= 4 && (memcmp(p + i, "{e:", 3) == 0 || memcmp(p + i, "{E:", 3) == 0))) {
			sw_buf raw;
			sw_buf_init(&raw, NULL);
			int rc = unescape(p + i + 3, tl - 4, &raw);
			if (rc == 0)
				rc = pct(out, raw.data, raw.len, p[i + 1] == 'E', 1);
			sw_buf_fini(&raw);
			if (rc < 0)
				return rc;
		} else if (close && tl >= 5 &&
		           (memcmp(p + i, "{ee:", 4) == 0 || memcmp(p + i, "{EE:", 4) == 0)) {
			sw_buf raw;
			sw_buf_init(&raw, NULL);
			int rc = unescape(p + i + 4, tl - 5, &raw);
			if (rc == 0)
				rc = pct(out, raw.data, raw.len, p[i + 1] == 'E', 2);
			sw_buf_fini(&raw);
			if (rc < 0)
				return rc;
		} else if (close && tl >= 7 && memcmp(p + i, "{rep:", 5) == 0) {
			char *end;
			long k = strtol(p + i + 5, &end, 10);
			if (end == p + i + 5 || *end != ':' || k < 1 || k > 100000) {
				*why = "{rep:N:TEXT} needs a count from 1 to 100000";
				return SW_ERR_INVALID_ARGUMENT;
			}
			sw_buf raw;
			sw_buf_init(&raw, NULL);
			int rc = unescape(end + 1, (size_t)(close - end - 1), &raw);
			for (long r = 0; rc == 0 && r < k; r++)
				rc = sw_buf_append(out, raw.data, raw.len);
			sw_buf_fini(&raw);
			if (rc < 0)
				return rc;
		} else if (close && ((tl == 6 && memcmp(p + i, "{root}", 6) == 0) ||
		                     (tl == 9 && memcmp(p + i, "{outside}", 9) == 0))) {
			if (sw_buf_append(out, p + i, tl) < 0)
				return SW_ERR_NOMEM;
		} else if (p[i] == '{') {
			*why = "unknown template (use {e:T} {E:T} {ee:T} {EE:T} {rep:N:T} {root} "
			       "{outside})";
			return SW_ERR_INVALID_ARGUMENT;
		} else {
			size_t j = i;
			while (j < n && p[j] != '{')
				j++;
			int rc = unescape(p + i, j - i, out);
			if (rc < 0)
				return rc;
			tl = j - i;
		}
		i += tl;
	}
	return 0;
}

/* The bytes as a case-file string ("..." with escapes; placeholders kept). */
int sw__cf_matrix_quote(sw_buf *out, const uint8_t *p, size_t n)
{
	int rc = sw_buf_append_byte(out, '"');
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\')
			rc = sw__cf_appendf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			rc = sw__cf_appendf(out, "\\x%02x", c);
		else
			rc = sw_buf_append_byte(out, c);
	}
	return rc ? rc : sw_buf_append_byte(out, '"');
}
