/*
 * Conformance case files: the byte-expression language (conformance/FORMAT.md,
 * "Byte expressions"); the tokenizer it shares with the parser is in
 * conform_text.c.
 *
 * An expression is a sequence of terms whose bytes are concatenated:
 *   "text" or 'text'   with \\ \" \' \n \r \t \0 \xNN escapes; {root},
 *                      {outside} and {version} inside are replaced by the
 *                      context's values ({outside}: the directory "outside"
 *                      beside the root, testbench/oracle/oracle.h)
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
 *   int{N}             "i%de" (a bencoded integer: as an argument, an
 *                      integer element of a v3 args list)
 *   ben{E}             E itself (as an argument: a raw bencoded element)
 *   cat{E}             E itself (several terms as one argument)
 * Helpers nest: spart{list{"get" "/x"}}.  Evaluation happens at run time so
 * that lengths around {root} are right.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"
#include "smartwire/hex.h"

#define MAX_DEPTH 16
#define MAX_OUTPUT ((size_t)64 << 20) /* repeat{} cannot make more than 64 MiB */

/* An evaluation error: fills *ei and returns SW_ERR_INVALID_ARGUMENT. */
static int bad(sw_errinfo *ei, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(sw_errinfo *ei, const char *fmt, ...)
{
	if (ei) {
		char text[SW_ERRINFO_TEXT];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(text, sizeof text, fmt, ap);
		va_end(ap);
		sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, "%s", text);
	}
	return SW_ERR_INVALID_ARGUMENT;
}

/* ---- Evaluation --------------------------------------------------------- */

/* Appends `text` with {root}, {outside}, {version} and variables
 * (conform_vars.c) replaced. */
static int append_subst(sw_buf *out, const uint8_t *p, size_t n, const sw_cf_ctx *ctx,
                        sw_errinfo *ei)
{
	const char *root = ctx && ctx->root ? ctx->root : "/ROOT";
	const char *ver = ctx && ctx->version ? ctx->version : "3.3.2";
	size_t i = 0;
	while (i < n) {
		size_t used = 0;
		int v = p[i] == '{' ? sw__cf_var_expand(ctx, p + i, n - i, &used, out, ei) : 0;
		if (v < 0)
			return v;
		if (v > 0) {
			i += used;
		} else if (p[i] == '{' && n - i >= 6 && memcmp(p + i, "{root}", 6) == 0) {
			if (sw_buf_append_str(out, root) < 0)
				return SW_ERR_NOMEM;
			i += 6;
		} else if (p[i] == '{' && n - i >= 9 && memcmp(p + i, "{outside}", 9) == 0) {
			/* The oracle's world: the root's parent holds "outside". */
			const char *slash = strrchr(root, '/');
			size_t pl = slash ? (size_t)(slash - root) : 0;
			if (sw_buf_append(out, root, pl) < 0 ||
			    sw_buf_append_str(out, "/outside") < 0)
				return SW_ERR_NOMEM;
			i += 9;
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
static int eval_quoted(const sw__cf_tok *t, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei)
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
			rc = bad(ei, "backslash at the end of a string");
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
				rc = bad(ei, "\\x needs two hex digits");
				break;
			}
			rc = sw_buf_append_byte(&tmp, (uint8_t)(h * 16 + l));
			i += 2;
			break;
		}
		default: rc = bad(ei, "unknown escape \\%c", e);
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
		                   : append_subst(out, tmp.data, tmp.len, ctx, ei);
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

static int eval_expr(const char *s, size_t len, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei,
                     int depth);

/* Evaluates the inside of a helper into a fresh buffer. */
static int eval_inner(const char *s, size_t len, const sw_cf_ctx *ctx, sw_buf *tmp, sw_errinfo *ei,
                      int depth)
{
	sw_buf_init(tmp, NULL);
	return eval_expr(s, len, ctx, tmp, ei, depth + 1);
}

static int put_u32(sw_buf *out, uint64_t v)
{
	return sw_buf_append_u32be(out, (uint32_t)v);
}

static int eval_helper(const sw__cf_tok *t, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei,
                       int depth)
{
	const char *brace = memchr(t->p, '{', t->n);
	if (!brace || t->p[t->n - 1] != '}') {
		return bad(ei, "unquoted word '%.*s' in a byte expression (quote it)", (int)t->n,
		           t->p);
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
				return bad(ei, "hex{} holds a non-hex character '%c'", in[i]);
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
			return bad(ei, "hex{} holds an odd number of digits");
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
			return bad(ei, "%s{} needs a number from 0 to %s", u8 ? "u8" : "u32",
			           u8 ? "255" : "4294967295");
		}
		return u8 ? sw_buf_append_byte(out, (uint8_t)v) : put_u32(out, v);
	}
	if (NAME("int")) {
		/* A bencoded integer, for int{} arguments: "i%de". */
		char num[32];
		while (inl && (*in == ' ' || *in == '\t'))
			in++, inl--;
		while (inl && (in[inl - 1] == ' ' || in[inl - 1] == '\t'))
			inl--;
		bool neg = inl && in[0] == '-';
		uint64_t v;
		if (inl >= sizeof num || parse_num(in + neg, inl - neg, &v) < 0 || v > INT64_MAX ||
		    (inl - neg > 1 && in[neg] == '0'))
			return bad(ei, "int{} needs a decimal integer such as 5 or -1");
		snprintf(num, sizeof num, "i%s%llue", neg && v ? "-" : "", (unsigned long long)v);
		return sw_buf_append_str(out, num);
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
			return bad(ei, "repeat{} starts with a count: repeat{N \"bytes\"}");
		}
		rc = eval_inner(in + i, inl - i, ctx, &tmp, ei, depth);
		if (rc == 0 && tmp.len && count > MAX_OUTPUT / tmp.len) {
			rc = bad(ei, "repeat{} would make more than %zu bytes", MAX_OUTPUT);
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
		int nt = sw__cf_tokenize(in, inl, toks, SW__CF_MAX_TOKS, ei);
		if (nt < 0)
			return SW_ERR_INVALID_ARGUMENT;
		rc = sw_buf_append_byte(out, 'l');
		for (int k = 0; rc == 0 && k < nt; k++) {
			rc = eval_inner(toks[k].p, toks[k].n, ctx, &tmp, ei, depth);
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
	rc = eval_inner(in, inl, ctx, &tmp, ei, depth);
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
	} else if (NAME("ben") || NAME("cat")) {
		/* The bytes of its terms: ben{} marks a bencoded argument, cat{}
		 * makes one argument of several terms. */
		rc = 0;
	} else {
		rc = bad(ei, "unknown helper '%.*s{}'", (int)nl, t->p);
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

static int eval_term(const sw__cf_tok *t, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei,
                     int depth)
{
	if (t->quoted)
		return eval_quoted(t, ctx, out, ei);
	if (t->p[0] == '$') {
		for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
			if (sw__cf_is(t, constants[i].name))
				return sw_buf_append(out, constants[i].bytes, constants[i].n);
		return bad(ei, "unknown constant '%.*s'", (int)t->n, t->p);
	}
	return eval_helper(t, ctx, out, ei, depth);
}

static int eval_expr(const char *s, size_t len, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei,
                     int depth)
{
	if (depth > MAX_DEPTH)
		return bad(ei, "helpers nested deeper than %d", MAX_DEPTH);
	sw__cf_tok toks[SW__CF_MAX_TOKS];
	int n = sw__cf_tokenize(s, len, toks, SW__CF_MAX_TOKS, ei);
	if (n < 0)
		return SW_ERR_INVALID_ARGUMENT;
	for (int i = 0; i < n; i++) {
		int rc = eval_term(&toks[i], ctx, out, ei, depth);
		if (rc < 0)
			return rc;
		if (out->len > MAX_OUTPUT)
			return bad(ei, "expression makes more than %zu bytes", MAX_OUTPUT);
	}
	return 0;
}

int sw_cf_eval(const char *expr, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei)
{
	sw__cf_ei_reset(ei);
	if (!expr || !out)
		return sw__cf_ei_fill(ei, SW_ERR_INVALID_ARGUMENT);
	return sw__cf_ei_fill(ei, eval_expr(expr, strlen(expr), ctx, out, ei, 0));
}

int sw_cf_eval_arg(const char *tok, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei)
{
	sw__cf_ei_reset(ei);
	if (!tok || !out)
		return sw__cf_ei_fill(ei, SW_ERR_INVALID_ARGUMENT);
	size_t n = strlen(tok);
	bool helper = n > 0 && tok[n - 1] == '}' && memchr(tok, '{', n) && tok[0] != '{' &&
	              isalpha((unsigned char)tok[0]);
	if (n > 0 && (tok[0] == '"' || tok[0] == '\'' || tok[0] == '$' || helper))
		return sw__cf_ei_fill(ei, eval_expr(tok, n, ctx, out, ei, 0));
	return sw__cf_ei_fill(ei, append_subst(out, (const uint8_t *)tok, n, ctx, ei));
}
