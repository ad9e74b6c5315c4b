/*
 * Conformance case files: the tokenizer and the small text helpers every
 * part of the runner uses (durations, formatted strings, the quoted byte
 * notation of reports).
 *
 * A line is split into tokens: quoted strings ('...' or "...", quotes kept
 * in the token so that the evaluator sees them), and words in which "{...}"
 * groups (with nested braces and quoted strings) are kept whole, so that
 * `spart{list{"get" "/x"}}` is one token.  A '#' at the start of a token
 * ends the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

char *sw__cf_strndup(const char *p, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

bool sw__cf_is(const sw__cf_tok *t, const char *w)
{
	size_t n = strlen(w);
	return !t->quoted && t->n == n && memcmp(t->p, w, n) == 0;
}

int sw__cf_duration(const char *p, size_t n, uint32_t *ms)
{
	char tmp[32];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	double v = strtod(tmp, &end);
	if (errno || end == tmp || v < 0 || !isdigit((unsigned char)tmp[0]))
		return -1;
	if (strcmp(end, "ms") == 0)
		;
	else if (strcmp(end, "s") == 0)
		v *= 1000.0;
	else
		return -1;
	if (v > 3600.0 * 1000.0)
		return -1;
	*ms = (uint32_t)(v + 0.5);
	return 0;
}

int sw__cf_appendf(sw_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return SW_ERR_INVALID_ARGUMENT;
	if (sw_buf_reserve(b, (size_t)n + 1) < 0)
		return SW_ERR_NOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *sw__cf_strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

int sw__cf_quote(sw_buf *b, const uint8_t *p, size_t n, size_t max)
{
	size_t show = n > max ? max : n;
	int rc = sw_buf_append_byte(b, '"');
	for (size_t i = 0; rc == 0 && i < show; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\')
			rc = sw__cf_appendf(b, "\\%c", c);
		else if (c == '\n')
			rc = sw_buf_append_str(b, "\\n");
		else if (c >= 0x20 && c < 0x7f)
			rc = sw_buf_append_byte(b, c);
		else
			rc = sw__cf_appendf(b, "\\x%02x", c);
	}
	if (rc == 0)
		rc = sw_buf_append_byte(b, '"');
	if (rc == 0 && show < n)
		rc = sw__cf_appendf(b, "...(%zu bytes)", n);
	return rc;
}

void sw__cf_ei_reset(sw_errinfo *ei)
{
	if (ei) {
		ei->code = 0;
		ei->sys_errno = 0;
		ei->offset = 0;
		ei->text[0] = '\0';
	}
}

int sw__cf_ei_fill(sw_errinfo *ei, int rc)
{
	if (rc < 0 && ei && ei->code != rc)
		sw_errinfo_set(ei, rc, 0, NULL);
	return rc;
}

/* ---- Tokenizer ---------------------------------------------------------- */

/* Skips a quoted string starting at s[i] (a quote); returns the index after
 * the closing quote or -1. */
static long skip_quoted(const char *s, size_t len, size_t i)
{
	char q = s[i++];
	while (i < len) {
		if (s[i] == '\\') {
			i += 2;
			continue;
		}
		if (s[i] == q)
			return (long)i + 1;
		i++;
	}
	return -1;
}

/* A tokenizer error at s[at]: the offset says where in the line. */
static int tok_error(sw_errinfo *ei, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int tok_error(sw_errinfo *ei, size_t at, const char *fmt, ...)
{
	if (ei) {
		char text[SW_ERRINFO_TEXT];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(text, sizeof text, fmt, ap);
		va_end(ap);
		sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, "%s", text);
		ei->offset = at;
	}
	return SW_ERR_INVALID_ARGUMENT;
}

int sw__cf_tokenize(const char *s, size_t len, sw__cf_tok *out, size_t max, sw_errinfo *ei)
{
	size_t i = 0, n = 0;
	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len || s[i] == '#')
			break;
		if (n == max)
			return tok_error(ei, i, "too many tokens on one line (limit %zu)", max);
		size_t start = i;
		if (s[i] == '"' || s[i] == '\'') {
			long e = skip_quoted(s, len, i);
			if (e < 0)
				return tok_error(ei, i, "unterminated %c string", s[i]);
			out[n].p = s + start;
			out[n].n = (size_t)e - start;
			out[n].quoted = true;
			n++;
			i = (size_t)e;
			continue;
		}
		int depth = 0;
		while (i < len && (depth > 0 || (s[i] != ' ' && s[i] != '\t'))) {
			if (depth > 0 && (s[i] == '"' || s[i] == '\'')) {
				long e = skip_quoted(s, len, i);
				if (e < 0)
					return tok_error(
					    ei, i, "unterminated %c string inside braces", s[i]);
				i = (size_t)e;
				continue;
			}
			if (s[i] == '{')
				depth++;
			else if (s[i] == '}') {
				if (depth == 0)
					return tok_error(ei, i, "unbalanced '}'");
				depth--;
			}
			i++;
		}
		if (depth > 0)
			return tok_error(ei, start, "unterminated '{'");
		out[n].p = s + start;
		out[n].n = i - start;
		out[n].quoted = false;
		n++;
	}
	return (int)n;
}
