/*
 * Conformance case files: the tokenizer and the byte-expression language
 * (conformance/FORMAT.md, "Byte expressions").
 *
 * An expression is a sequence of terms whose bytes are concatenated:
 *   "text" or 'text'   with \\ \" \' \n \r \t \0 \xNN escapes; {root} and
 *                      {version} inside are replaced by the context's values
 *   $v3 $req2 $resp2 $hdr $hdr0 $success $failed   protocol constants
 *   hex{0a 0b}         raw bytes in hex
 *   u8{N} u32{N}       one byte / a 4-byte big-endian number (N decimal or 0x)
 *   u32len{E}          u32be(len(E)) then E            (v3 length prefixes)
 *   declen{E}          "%d\n" % len(E) then E           (v1/v2 body length)
 *   prefixed{E}        "%d\n" E "done\n"                (v1/v2 whole body)
 *   hexlen{E}          "%x\n" % len(E) then E           (v2 chunk)
 *   spart{E} bpart{E}  "s"/"b" + u32len{E}              (v3 parts)
 *   list{E E ..}       bencoded list of byte strings, one per term
 *   bstr{E}            bencoded byte string "len:" E
 *   repeat{N E}        E repeated N times
 * Helpers nest: spart{list{"get" "/x"}}.  Evaluation happens at run time so
 * that lengths around {root} are right.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conform_impl.h"
#include "smartwire/error.h"
#include "smartwire/hex.h"

#define MAX_DEPTH 16
#define MAX_OUTPUT ((size_t)64 << 20) /* repeat{} cannot make more than 64 MiB */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

int64_t sw__cf_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

int sw__cf_tokenize(const char *s, size_t len, sw__cf_tok *out, size_t max, char *err,
                    size_t errlen)
{
	size_t i = 0, n = 0;
	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len || s[i] == '#')
			break;
		if (n == max) {
			seterr(err, errlen, "too many tokens on one line (limit %zu)", max);
			return -1;
		}
		size_t start = i;
		if (s[i] == '"' || s[i] == '\'') {
			long e = skip_quoted(s, len, i);
			if (e < 0) {
				seterr(err, errlen, "unterminated %c string", s[i]);
				return -1;
			}
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
				if (e < 0) {
					seterr(err, errlen, "unterminated %c string inside braces", s[i]);
					return -1;
				}
				i = (size_t)e;
				continue;
			}
			if (s[i] == '{')
				depth++;
			else if (s[i] == '}') {
				if (depth == 0) {
					seterr(err, errlen, "unbalanced '}'");
					return -1;
				}
				depth--;
			}
			i++;
		}
		if (depth > 0) {
			seterr(err, errlen, "unterminated '{'");
			return -1;
		}
		out[n].p = s + start;
		out[n].n = i - start;
		out[n].quoted = false;
		n++;
	}
	return (int)n;
}

/* ---- Evaluation --------------------------------------------------------- */

/* Appends `text` with {root} and {version} replaced. */
static int append_subst(sw_buf *out, const uint8_t *p, size_t n, const sw_cf_ctx *ctx)
{
	const char *root = ctx && ctx->root ? ctx->root : "/ROOT";
	const char *ver = ctx && ctx->version ? ctx->version : "3.3.2";
	size_t i = 0;
	while (i < n) {
		if (p[i] == '{' && n - i >= 6 && memcmp(p + i, "{root}", 6) == 0) {
			if (sw_buf_append_str(out, root) < 0)
				return SW_ERR_NOMEM;
			i += 6;
		} else if (p[i] == '{' && n - i >= 9 && memcmp(p + i, "{version}", 9) == 0) {
			if (sw_buf_append_str(out, ver) < 0)
				return SW_ERR_NOMEM;
			i += 9;
		} else {
			if (sw_buf_append_byte(out, p[i]) < 0)
				return SW_ERR_NOMEM;
			i++;
		}
	}
	return 0;
}

/* Unescapes the quoted token t (quotes included) into out. */
static int eval_quoted(const sw__cf_tok *t, const sw_cf_ctx *ctx, sw_buf *out, char *err,
                       size_t errlen)
{
	sw_buf tmp;
	sw_buf_init(&tmp, NULL);
	int rc = 0;
	for (size_t i = 1; rc == 0 && i + 1 < t->n; i++) {
		uint8_t c = (uint8_t)t->p[i];
		if (c != '\\') {
			rc = sw_buf_append_byte(&tmp, c);
			continue;
		}
		if (i + 2 >= t->n) {
			seterr(err, errlen, "backslash at the end of a string");
			rc = SW_ERR_INVALID_ARGUMENT;
			break;
		}
		char e = t->p[++i];
		switch (e) {
		case 'n': rc = sw_buf_append_byte(&tmp, '\n'); break;
		case 'r': rc = sw_buf_append_byte(&tmp, '\r'); break;
		case 't': rc = sw_buf_append_byte(&tmp, '\t'); break;
		case '0': rc = sw_buf_append_byte(&tmp, 0); break;
		case '\\': case '"': case '\'': case '{': rc = sw_buf_append_byte(&tmp, (uint8_t)e); break;
		case 'x': {
			int h = i + 2 < t->n ? sw_hex_value(t->p[i + 1]) : -1;
			int l = i + 2 < t->n ? sw_hex_value(t->p[i + 2]) : -1;
			if (h < 0 || l < 0) {
				seterr(err, errlen, "\\x needs two hex digits");
				rc = SW_ERR_INVALID_ARGUMENT;
				break;
			}
			rc = sw_buf_append_byte(&tmp, (uint8_t)(h * 16 + l));
			i += 2;
			break;
		}
		default:
			seterr(err, errlen, "unknown escape \\%c", e);
			rc = SW_ERR_INVALID_ARGUMENT;
		}
	}
	/* A string containing "\{" is taken literally: no placeholder is
	 * substituted in it (the way to write a literal "{root}"). */
	if (rc == 0) {
		bool escaped_brace = false;
		for (size_t i = 1; i + 1 < t->n; i++)
			if (t->p[i] == '\\') {
				if (t->p[i + 1] == '{')
					escaped_brace = true;
				i++;
			}
		rc = escaped_brace ? sw_buf_append(out, tmp.data, tmp.len)
		                   : append_subst(out, tmp.data, tmp.len, ctx);
	}
	sw_buf_fini(&tmp);
	return rc;
}

static int parse_num(const char *p, size_t n, uint64_t *v)
{
	char tmp[32];
	if (n == 0 || n >= sizeof tmp)
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	unsigned long long x = strtoull(tmp, &end, 0);
	if (errno || *end || tmp[0] == '-' || tmp[0] == '+')
		return -1;
	*v = x;
	return 0;
}

static int eval_expr(const char *s, size_t len, const sw_cf_ctx *ctx, sw_buf *out, char *err,
                     size_t errlen, int depth);

/* Evaluates the inside of a helper into a fresh buffer. */
static int eval_inner(const char *s, size_t len, const sw_cf_ctx *ctx, sw_buf *tmp, char *err,
                      size_t errlen, int depth)
{
	sw_buf_init(tmp, NULL);
	return eval_expr(s, len, ctx, tmp, err, errlen, depth + 1);
}

static int put_u32(sw_buf *out, uint64_t v)
{
	return sw_buf_append_u32be(out, (uint32_t)v);
}

static int eval_helper(const sw__cf_tok *t, const sw_cf_ctx *ctx, sw_buf *out, char *err,
                       size_t errlen, int depth)
{
	const char *brace = memchr(t->p, '{', t->n);
	if (!brace || t->p[t->n - 1] != '}') {
		seterr(err, errlen, "unquoted word '%.*s' in a byte expression (quote it)",
		       (int)t->n, t->p);
		return SW_ERR_INVALID_ARGUMENT;
	}
	size_t nl = (size_t)(brace - t->p);
	const char *in = brace + 1;
	size_t inl = t->n - nl - 2;
#define NAME(w) (nl == strlen(w) && memcmp(t->p, w, nl) == 0)
	sw_buf tmp;
	int rc;
	if (NAME("hex")) {
		int hi = -1;
		for (size_t i = 0; i < inl; i++) {
			if (in[i] == ' ' || in[i] == '\t' || in[i] == ',')
				continue;
			int v = sw_hex_value(in[i]);
			if (v < 0) {
				seterr(err, errlen, "hex{} holds a non-hex character '%c'", in[i]);
				return SW_ERR_INVALID_ARGUMENT;
			}
			if (hi < 0)
				hi = v;
			else {
				if (sw_buf_append_byte(out, (uint8_t)(hi * 16 + v)) < 0)
					return SW_ERR_NOMEM;
				hi = -1;
			}
		}
		if (hi >= 0) {
			seterr(err, errlen, "hex{} holds an odd number of digits");
			return SW_ERR_INVALID_ARGUMENT;
		}
		return 0;
	}
	if (NAME("u32") || NAME("u8")) {
		uint64_t v;
		while (inl && (*in == ' ' || *in == '\t'))
			in++, inl--;
		while (inl && (in[inl - 1] == ' ' || in[inl - 1] == '\t'))
			inl--;
		bool u8 = NAME("u8");
		if (parse_num(in, inl, &v) < 0 || v > (u8 ? 0xffu : 0xffffffffu)) {
			seterr(err, errlen, "%s{} needs a number from 0 to %s", u8 ? "u8" : "u32",
			       u8 ? "255" : "4294967295");
			return SW_ERR_INVALID_ARGUMENT;
		}
		return u8 ? sw_buf_append_byte(out, (uint8_t)v) : put_u32(out, v);
	}
	if (NAME("repeat")) {
		size_t i = 0;
		while (i < inl && (in[i] == ' ' || in[i] == '\t'))
			i++;
		size_t ns = i;
		while (i < inl && in[i] != ' ' && in[i] != '\t')
			i++;
		uint64_t count;
		if (parse_num(in + ns, i - ns, &count) < 0) {
			seterr(err, errlen, "repeat{} starts with a count: repeat{N \"bytes\"}");
			return SW_ERR_INVALID_ARGUMENT;
		}
		rc = eval_inner(in + i, inl - i, ctx, &tmp, err, errlen, depth);
		if (rc == 0 && tmp.len && count > MAX_OUTPUT / tmp.len) {
			seterr(err, errlen, "repeat{} would make more than %zu bytes", MAX_OUTPUT);
			rc = SW_ERR_INVALID_ARGUMENT;
		}
		/* One reservation, then the copy doubles: an empty operand or a
		 * large count costs nothing per repetition (found by
		 * fuzz_conform_case: repeat{N ""} looped N times). */
		if (rc == 0 && tmp.len && count) {
			size_t total = (size_t)count * tmp.len, start = out->len;
			rc = sw_buf_reserve(out, total);
			if (rc == 0) {
				memcpy(out->data + start, tmp.data, tmp.len);
				size_t have = tmp.len;
				while (have < total) {
					size_t n = have < total - have ? have : total - have;
					memcpy(out->data + start + have, out->data + start, n);
					have += n;
				}
				out->len = start + total;
			}
		}
		sw_buf_fini(&tmp);
		return rc;
	}
	if (NAME("list")) {
		sw__cf_tok toks[SW__CF_MAX_TOKS];
		int nt = sw__cf_tokenize(in, inl, toks, SW__CF_MAX_TOKS, err, errlen);
		if (nt < 0)
			return SW_ERR_INVALID_ARGUMENT;
		rc = sw_buf_append_byte(out, 'l');
		for (int k = 0; rc == 0 && k < nt; k++) {
			rc = eval_inner(toks[k].p, toks[k].n, ctx, &tmp, err, errlen, depth);
			if (rc == 0)
				rc = sw__cf_appendf(out, "%zu:", tmp.len);
			if (rc == 0)
				rc = sw_buf_append(out, tmp.data, tmp.len);
			sw_buf_fini(&tmp);
		}
		if (rc == 0)
			rc = sw_buf_append_byte(out, 'e');
		return rc;
	}
	rc = eval_inner(in, inl, ctx, &tmp, err, errlen, depth);
	if (rc < 0) {
		sw_buf_fini(&tmp);
		return rc;
	}
	if (NAME("u32len")) {
		rc = tmp.len > 0xffffffffu ? SW_ERR_INVALID_ARGUMENT : put_u32(out, tmp.len);
	} else if (NAME("declen")) {
		rc = sw__cf_appendf(out, "%zu\n", tmp.len);
	} else if (NAME("prefixed")) {
		rc = sw__cf_appendf(out, "%zu\n", tmp.len);
	} else if (NAME("hexlen")) {
		rc = sw__cf_appendf(out, "%zx\n", tmp.len);
	} else if (NAME("spart") || NAME("bpart")) {
		rc = sw_buf_append_byte(out, (uint8_t)t->p[0]);
		if (rc == 0)
			rc = put_u32(out, tmp.len);
	} else if (NAME("bstr")) {
		rc = sw__cf_appendf(out, "%zu:", tmp.len);
	} else {
		seterr(err, errlen, "unknown helper '%.*s{}'", (int)nl, t->p);
		rc = SW_ERR_INVALID_ARGUMENT;
	}
	if (rc == 0)
		rc = sw_buf_append(out, tmp.data, tmp.len);
	if (rc == 0 && NAME("prefixed"))
		rc = sw_buf_append_str(out, "done\n");
#undef NAME
	sw_buf_fini(&tmp);
	return rc;
}

static const struct {
	const char *name;
	const char *bytes;
	size_t n;
} constants[] = {
	{"$v3", "bzr message 3 (bzr 1.6)\n", 24},
	{"$req2", "bzr request 2\n", 14},
	{"$resp2", "bzr response 2\n", 15},
	{"$hdr", "\0\0\0\x1c" "d16:Software version5:3.3.2e", 32},
	{"$hdr0", "\0\0\0\x02" "de", 6},
	{"$success", "success\n", 8},
	{"$failed", "failed\n", 7},
};

static int eval_term(const sw__cf_tok *t, const sw_cf_ctx *ctx, sw_buf *out, char *err,
                     size_t errlen, int depth)
{
	if (t->quoted)
		return eval_quoted(t, ctx, out, err, errlen);
	if (t->p[0] == '$') {
		for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
			if (sw__cf_is(t, constants[i].name))
				return sw_buf_append(out, constants[i].bytes, constants[i].n);
		seterr(err, errlen, "unknown constant '%.*s'", (int)t->n, t->p);
		return SW_ERR_INVALID_ARGUMENT;
	}
	return eval_helper(t, ctx, out, err, errlen, depth);
}

static int eval_expr(const char *s, size_t len, const sw_cf_ctx *ctx, sw_buf *out, char *err,
                     size_t errlen, int depth)
{
	if (depth > MAX_DEPTH) {
		seterr(err, errlen, "helpers nested deeper than %d", MAX_DEPTH);
		return SW_ERR_INVALID_ARGUMENT;
	}
	sw__cf_tok toks[SW__CF_MAX_TOKS];
	int n = sw__cf_tokenize(s, len, toks, SW__CF_MAX_TOKS, err, errlen);
	if (n < 0)
		return SW_ERR_INVALID_ARGUMENT;
	for (int i = 0; i < n; i++) {
		int rc = eval_term(&toks[i], ctx, out, err, errlen, depth);
		if (rc < 0)
			return rc;
		if (out->len > MAX_OUTPUT) {
			seterr(err, errlen, "expression makes more than %zu bytes", MAX_OUTPUT);
			return SW_ERR_INVALID_ARGUMENT;
		}
	}
	return 0;
}

int sw_cf_eval(const char *expr, const sw_cf_ctx *ctx, sw_buf *out, char *err, size_t errlen)
{
	if (!expr || !out)
		return SW_ERR_INVALID_ARGUMENT;
	if (err && errlen)
		err[0] = '\0';
	return eval_expr(expr, strlen(expr), ctx, out, err, errlen, 0);
}

int sw_cf_eval_arg(const char *tok, const sw_cf_ctx *ctx, sw_buf *out, char *err, size_t errlen)
{
	if (!tok || !out)
		return SW_ERR_INVALID_ARGUMENT;
	size_t n = strlen(tok);
	if (err && errlen)
		err[0] = '\0';
	bool helper = n > 0 && tok[n - 1] == '}' && memchr(tok, '{', n) && tok[0] != '{' &&
	              isalpha((unsigned char)tok[0]);
	if (n > 0 && (tok[0] == '"' || tok[0] == '\'' || tok[0] == '$' || helper))
		return eval_expr(tok, n, ctx, out, err, errlen, 0);
	return append_subst(out, (const uint8_t *)tok, n, ctx);
}
