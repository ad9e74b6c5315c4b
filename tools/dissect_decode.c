/*
 * smartwire dissect: one message of a captured byte stream, decoded with the
 * library's decoders into a trace (the notation of smartwire/format.h), a
 * JSON summary and a body digest.
 *
 * Whether a v1/v2 message carries a body is not on the wire (the peers know
 * it from the verb).  Requests use Breezy's VFS verb table; responses and
 * unknown verbs look at what follows the tuple line: "chunked\n" (v2) or a
 * complete "<digits>\n<bytes>done\n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dissect.h"
#include "smartwire/bencode.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/hex.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

static void json_bytes(sw_buf *out, const uint8_t *p, size_t n)
{
	sw_buf_append_byte(out, '"');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			sw_buf_append_byte(out, '\\');
			sw_buf_append_byte(out, c);
		} else if (c >= 0x20 && c < 0x7f) {
			sw_buf_append_byte(out, c);
		} else {
			char esc[6] = {'\\', 'u', '0', '0', sw_hex_lower(c >> 4), sw_hex_lower(c)};
			sw_buf_append(out, esc, 6);
		}
	}
	sw_buf_append_byte(out, '"');
}

static void json_bval(sw_buf *out, const sw_bval *v)
{
	switch (v->type) {
	case SW_BSTR: json_bytes(out, v->u.str.p, v->u.str.n); break;
	case SW_BINT: {
		char tmp[32];
		snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
		sw_buf_append_str(out, tmp);
		break;
	}
	case SW_BLIST:
		sw_buf_append_byte(out, '[');
		for (size_t i = 0; i < v->u.list.n; i++) {
			if (i)
				sw_buf_append_byte(out, ',');
			json_bval(out, &v->u.list.items[i]);
		}
		sw_buf_append_byte(out, ']');
		break;
	case SW_BDICT:
		sw_buf_append_byte(out, '{');
		for (size_t i = 0; i + 1 < v->u.list.n; i += 2) {
			if (i)
				sw_buf_append_byte(out, ',');
			const sw_bval *key = &v->u.list.items[i];
			/* Keys are byte strings (the decoder guarantees it). */
			json_bytes(out, key->u.str.p, key->u.str.n);
			sw_buf_append_byte(out, ':');
			json_bval(out, &v->u.list.items[i + 1]);
		}
		sw_buf_append_byte(out, '}');
		break;
	}
}

static void json_tuple(sw_buf *out, const sw_slice *items, size_t n)
{
	sw_buf_append_byte(out, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sw_buf_append_byte(out, ',');
		json_bytes(out, items[i].p, items[i].n);
	}
	sw_buf_append_byte(out, ']');
}

static void trace_line(struct msg *m, const char *event, const sw_bval *v)
{
	sw_buf_append_str(&m->trace, event);
	if (v) {
		sw_buf_append_byte(&m->trace, ' ');
		sw_bval_format(&m->trace, v);
	}
	sw_buf_append_byte(&m->trace, '\n');
}

/* ---- v3 callbacks ---- */

static int v3_headers(void *ud, const sw_bval *dict)
{
	struct msg *m = ud;
	trace_line(m, "headers", dict);
	json_bval(&m->headers, dict);
	return 0;
}

static int v3_byte(void *ud, uint8_t byte)
{
	struct msg *m = ud;
	sw_buf_append_str(&m->trace, "byte ");
	sw_format_bytes(&m->trace, &byte, 1);
	sw_buf_append_byte(&m->trace, '\n');
	if (!m->in_body && m->status < 0)
		m->status = byte == 'S' ? 1 : byte == 'E' ? 0 : -1;
	else if (m->in_body && byte == 'E')
		m->v3_error_status = 1;
	return 0;
}

static int v3_structure(void *ud, const sw_bval *v)
{
	struct msg *m = ud;
	trace_line(m, "structure", v);
	sw_buf *dst = !m->have_args ? &m->args : &m->error_args;
	if (dst->len == 0)
		json_bval(dst, v);
	m->have_args = true;
	return 0;
}

static int v3_bytes_begin(void *ud, uint32_t total)
{
	struct msg *m = ud;
	(void)total;
	m->in_body = m->body = true;
	m->body_parts++;
	sw_buf_append_str(&m->trace, "bytes \"");
	return 0;
}

static int body_piece(struct msg *m, const uint8_t *p, size_t n)
{
	m->body_len += n;
	sw_sha256_update(&m->sha, p, n);
	return 0;
}

static int v3_bytes(void *ud, const uint8_t *p, size_t n)
{
	struct msg *m = ud;
	/* Append the escaped bytes without the quotes sw_format_bytes adds. */
	size_t at = m->trace.len;
	sw_format_bytes(&m->trace, p, n);
	if (m->trace.len >= at + 2) {
		memmove(m->trace.data + at, m->trace.data + at + 1, m->trace.len - at - 2);
		m->trace.len -= 2;
	}
	return body_piece(m, p, n);
}

static int v3_bytes_end(void *ud)
{
	struct msg *m = ud;
	sw_buf_append_str(&m->trace, "\"\n");
	return 0;
}

static int end_event(void *ud)
{
	struct msg *m = ud;
	sw_buf_append_str(&m->trace, "end\n");
	return 0;
}

/* ---- v1/v2 callbacks ---- */

static const char *const body_verbs[] = {"put", "put_non_atomic", "append", "readv", NULL};
static const char *const bodiless_verbs[] = {
    "hello",      "get",   "has",   "stat",   "list_dir", "iter_files_recursive",
    "delete",     "mkdir", "rmdir", "rename", "move",     "Transport.is_readonly",
    "get_bundle", NULL};

static bool verb_in(const sw_slice *verb, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == verb->n && memcmp(*list, verb->p, verb->n) == 0)
			return true;
	return false;
}

struct v12ctx {
	struct msg *m;
	sw_v12_dec *dec;
	enum direction dir;
	/* Bytes after the tuple line, for guessing whether a body follows. */
	const uint8_t *rest;
	size_t rest_len;
};

/* True if p[0..n) starts with a complete "<digits>\n<len bytes>done\n". */
static bool looks_prefixed(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t len = 0;
	while (i < n && i < 20 && p[i] >= '0' && p[i] <= '9')
		len = len * 10 + (uint64_t)(p[i++] - '0');
	if (i == 0 || i >= n || p[i] != '\n')
		return false;
	i++;
	return len <= n - i && n - i - len >= 5 && memcmp(p + i + len, "done\n", 5) == 0;
}

static int v12_status(void *ud, bool success)
{
	struct v12ctx *c = ud;
	c->m->status = success;
	sw_buf_append_str(&c->m->trace, success ? "status success\n" : "status failed\n");
	return 0;
}

static int v12_args(void *ud, const sw_slice *args, size_t n)
{
	struct v12ctx *c = ud;
	struct msg *m = c->m;
	sw_buf_append_str(&m->trace, "args ");
	sw_format_tuple(&m->trace, args, n);
	sw_buf_append_byte(&m->trace, '\n');
	json_tuple(&m->args, args, n);
	m->have_args = true;
	sw_body_mode mode = SW_BODY_NONE;
	if (c->dir == DIR_REQUEST && verb_in(&args[0], body_verbs))
		mode = SW_BODY_PREFIXED;
	else if (c->dir == DIR_REQUEST && verb_in(&args[0], bodiless_verbs))
		mode = SW_BODY_NONE;
	else if (c->dir == DIR_RESPONSE && c->rest_len >= 8 && memcmp(c->rest, "chunked\n", 8) == 0)
		mode = SW_BODY_CHUNKED;
	else if (looks_prefixed(c->rest, c->rest_len))
		mode = SW_BODY_PREFIXED;
	return sw_v12_dec_expect_body(c->dec, mode) == 0 ? 0 : -1;
}

static int v12_body_begin(void *ud, uint64_t len)
{
	struct v12ctx *c = ud;
	(void)len;
	c->m->body = true;
	c->m->body_parts = 1;
	sw_buf_append_str(&c->m->trace, "body \"");
	return 0;
}

static int v12_chunk_begin(void *ud, uint64_t len)
{
	struct v12ctx *c = ud;
	(void)len;
	c->m->body = true;
	c->m->body_parts++;
	sw_buf_append_str(&c->m->trace, "chunk \"");
	return 0;
}

static int v12_piece(void *ud, const uint8_t *p, size_t n)
{
	struct v12ctx *c = ud;
	return v3_bytes(c->m, p, n);
}

static int v12_chunk_end(void *ud)
{
	struct v12ctx *c = ud;
	sw_buf_append_str(&c->m->trace, "\"\n");
	return 0;
}

static int v12_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	struct v12ctx *c = ud;
	sw_buf_append_str(&c->m->trace, "error-chunks ");
	sw_format_tuple(&c->m->trace, args, n);
	sw_buf_append_byte(&c->m->trace, '\n');
	json_tuple(&c->m->error_args, args, n);
	return 0;
}

static int v12_end(void *ud)
{
	struct v12ctx *c = ud;
	if (c->m->body && c->m->body_parts == 1 && c->m->trace.len &&
	    c->m->trace.data[c->m->trace.len - 1] != '\n')
		sw_buf_append_str(&c->m->trace, "\"\n");
	return end_event(c->m);
}

/* ---- one message ---- */

/* Finds where the tuple line of a v1/v2 message ends: skips `lines` lines
 * (marker, status) and then the tuple line itself. */
static size_t after_lines(const uint8_t *p, size_t n, int lines)
{
	size_t i = 0;
	for (int l = 0; l < lines; l++) {
		const uint8_t *nl = memchr(p + i, '\n', n - i);
		if (!nl)
			return n;
		i = (size_t)(nl - p) + 1;
	}
	return i;
}

ptrdiff_t sw__dissect_one(enum direction dir, const uint8_t *in, size_t len, struct msg *m,
                          int *version, bool per_byte)
{
	size_t skip = 0;
	sw_slice pending = {NULL, 0};
	if (dir == DIR_REQUEST) {
		sw_detect d;
		sw_detect_init(&d);
		skip = sw_detect_feed(&d, in, len);
		if (sw_detect_version(&d) == SW_VERSION_NONE)
			sw_detect_finish(&d);
		*version = (int)sw_detect_version(&d);
		if (*version == 1) {
			pending = sw_detect_pending(&d);
		} else {
			skip = sw_detect_marker_len(&d);
		}
	} else if (len >= SW_V3_MARKER_LEN ? memcmp(in, SW_V3_MARKER, SW_V3_MARKER_LEN) == 0
	                                   : memcmp(in, SW_V3_MARKER, len) == 0) {
		*version = 3;
	} else if (len >= SW_V2_RESPONSE_MARKER_LEN
	               ? memcmp(in, SW_V2_RESPONSE_MARKER, SW_V2_RESPONSE_MARKER_LEN) == 0
	               : memcmp(in, SW_V2_RESPONSE_MARKER, len) == 0) {
		*version = 2;
	} else {
		*version = 1;
	}

	ptrdiff_t rv;
	size_t used = skip;
	const uint8_t *body = in + skip;
	size_t blen = len - skip;
	if (*version == 3) {
		sw_v3_config cfg;
		memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
		cfg.expect_marker = dir == DIR_RESPONSE;
		sw_v3_callbacks cb = {v3_headers, v3_byte,      v3_structure, v3_bytes_begin,
		                      v3_bytes,   v3_bytes_end, end_event};
		sw_v3_dec *dec;
		if ((rv = sw_v3_dec_new(&dec, &cfg, &cb, m, NULL)) < 0)
			return rv;
		for (size_t at = 0; at < blen && !sw_v3_dec_done(dec);) {
			rv = sw_v3_dec_feed(dec, body + at, per_byte ? 1 : blen - at);
			if (rv < 0)
				break;
			at += (size_t)rv;
			used += (size_t)rv;
			if (rv == 0)
				break;
		}
		if (rv >= 0)
			rv = sw_v3_dec_finish(dec);
		sw_v3_dec_del(dec);
	} else {
		struct v12ctx c = {m, NULL, dir, NULL, 0};
		int lines = dir == DIR_RESPONSE && *version == 2 ? 3 : 1;
		size_t line_end = after_lines(body, blen, lines);
		c.rest = body + line_end;
		c.rest_len = blen - line_end;
		sw_v12_config cfg;
		memset(&cfg, 0, sizeof cfg);
		sw_v12_callbacks cb = {v12_status,    v12_args,         v12_body_begin,
		                       v12_piece,     v12_chunk_begin,  v12_piece,
		                       v12_chunk_end, v12_error_chunks, v12_end};
		if ((rv = sw_v12_dec_new(&c.dec,
		                         dir == DIR_REQUEST ? SW_V12_REQUEST : SW_V12_RESPONSE,
		                         *version, &cfg, &cb, &c, NULL)) < 0)
			return rv;
		rv = 0;
		if (pending.n) {
			/* The detector's marker prefix is part of the v1 line. */
			for (size_t at = 0; at < pending.n && rv >= 0;
			     at += per_byte ? 1 : pending.n)
				rv = sw_v12_dec_feed(c.dec, pending.p + at,
				                     per_byte ? 1 : pending.n);
		}
		for (size_t at = 0; rv >= 0 && at < blen && !sw_v12_dec_done(c.dec);) {
			rv = sw_v12_dec_feed(c.dec, body + at, per_byte ? 1 : blen - at);
			if (rv <= 0)
				break;
			at += (size_t)rv;
			used += (size_t)rv;
		}
		if (rv >= 0)
			rv = sw_v12_dec_finish(c.dec);
		sw_v12_dec_del(c.dec);
	}
	return rv < 0 ? rv : (ptrdiff_t)used;
}

void sw__dissect_msg_init(struct msg *m)
{
	memset(m, 0, sizeof *m);
	sw_buf_init(&m->trace, NULL);
	sw_buf_init(&m->headers, NULL);
	sw_buf_init(&m->args, NULL);
	sw_buf_init(&m->error_args, NULL);
	m->status = -1;
	sw_sha256_init(&m->sha);
}

void sw__dissect_msg_free(struct msg *m)
{
	sw_buf_fini(&m->trace);
	sw_buf_fini(&m->headers);
	sw_buf_fini(&m->args);
	sw_buf_fini(&m->error_args);
}
