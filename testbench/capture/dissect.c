/*
 * The message decoder of `smartwire dissect` (dissect.h): the version
 * detection, the decoders' callbacks that build a message's summary, and
 * the search for the exact offset of a framing error.  Moved from
 * tools/cmd_dissect.c; the output of the one-direction command is unchanged.
 */
#include <string.h>

#include "capture/dissect.h"
#include "dissect_impl.h"
#include "smartwire/bencode.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"
#include "smartwire/verbs.h"

/* Records an allocation failure of a summary buffer; callbacks then stop
 * the decoder and sw_dis_decode reports SW_ERR_NOMEM. */
static int put(sw_dis_msg *m, int rc)
{
	if (rc < 0)
		m->nomem = true;
	return m->nomem ? -1 : 0;
}

static int trace_str(sw_dis_msg *m, const char *s)
{
	return m->keep_trace ? put(m, sw_buf_append_str(&m->trace, s)) : put(m, 0);
}

static int trace_line(sw_dis_msg *m, const char *event, const sw_bval *v)
{
	if (!m->keep_trace)
		return put(m, 0);
	int rc = sw_buf_append_str(&m->trace, event);
	if (v && rc == 0)
		rc = sw_buf_append_byte(&m->trace, ' ');
	if (v && rc == 0)
		rc = sw_bval_format(&m->trace, v);
	if (rc == 0)
		rc = sw_buf_append_byte(&m->trace, '\n');
	return put(m, rc);
}

/* Appends one entry to the JSON array of v3 parts ("s:23"). */
static int add_part(sw_dis_msg *m, char kind, uint64_t n, bool is_byte)
{
	char tmp[40];
	if (is_byte)
		snprintf(tmp, sizeof tmp,
		         n >= 0x20 && n < 0x7f && n != '"' && n != '\\' ? "%s\"o:%c\""
		                                                        : "%s\"o:\\\\x%02x\"",
		         m->parts.len ? "," : "", (int)n);
	else
		snprintf(tmp, sizeof tmp, "%s\"%c:%llu\"", m->parts.len ? "," : "", kind,
		         (unsigned long long)n);
	return sw_buf_append_str(&m->parts, tmp);
}

/* The length of a strictly decoded bencode value is the length of its
 * canonical encoding. */
static int bencoded_len(sw_dis_msg *m, const sw_bval *v, uint64_t *n, const sw_mem *mem)
{
	sw_buf tmp;
	sw_buf_init(&tmp, mem);
	int rc = sw_bencode(&tmp, v);
	*n = tmp.len;
	sw_buf_fini(&tmp);
	return put(m, rc);
}

/* ---- v3 callbacks ---- */

struct v3ctx {
	sw_dis_msg *m;
	const sw_mem *mem;
};

static int v3_headers(void *ud, const sw_bval *dict)
{
	struct v3ctx *c = ud;
	sw_dis_msg *m = c->m;
	if (trace_line(m, "headers", dict))
		return -1;
	if (bencoded_len(m, dict, &m->header_len, c->mem))
		return -1;
	return put(m, sw__dis_json_bval(&m->headers, dict));
}

static int v3_byte(void *ud, uint8_t byte)
{
	struct v3ctx *c = ud;
	sw_dis_msg *m = c->m;
	if (m->keep_trace) {
		int rc = sw_buf_append_str(&m->trace, "byte ");
		if (rc == 0)
			rc = sw_format_bytes(&m->trace, &byte, 1);
		if (rc == 0)
			rc = sw_buf_append_byte(&m->trace, '\n');
		if (put(m, rc))
			return -1;
	}
	if (!m->in_body && m->status < 0)
		m->status = byte == 'S' ? 1 : byte == 'E' ? 0 : -1;
	else if (m->in_body && byte == 'E')
		m->v3_error_status = 1;
	return put(m, add_part(m, 'o', byte, true));
}

static int v3_structure(void *ud, const sw_bval *v)
{
	struct v3ctx *c = ud;
	sw_dis_msg *m = c->m;
	if (trace_line(m, "structure", v))
		return -1;
	uint64_t n;
	if (bencoded_len(m, v, &n, c->mem) || put(m, add_part(m, 's', n, false)))
		return -1;
	sw_buf *dst = !m->have_args ? &m->args : &m->error_args;
	if (dst->len == 0 && put(m, sw__dis_json_bval(dst, v)))
		return -1;
	if (!m->have_args && v->type == SW_BLIST && v->u.list.n > 0 &&
	    v->u.list.items[0].type == SW_BSTR &&
	    put(m, sw_buf_append(&m->verb, v->u.list.items[0].u.str.p, v->u.list.items[0].u.str.n)))
		return -1;
	m->have_args = true;
	return 0;
}

static int v3_bytes_begin(void *ud, uint32_t total)
{
	struct v3ctx *c = ud;
	sw_dis_msg *m = c->m;
	m->in_body = m->body = true;
	m->body_parts++;
	if (put(m, add_part(m, 'b', total, false)))
		return -1;
	return trace_str(m, "bytes \"");
}

static int body_piece(sw_dis_msg *m, const uint8_t *p, size_t n)
{
	m->body_len += n;
	sw_sha256_update(&m->sha, p, n);
	if (!m->keep_trace)
		return 0;
	/* Append the escaped bytes without the quotes sw_format_bytes adds. */
	size_t at = m->trace.len;
	if (put(m, sw_format_bytes(&m->trace, p, n)))
		return -1;
	if (m->trace.len >= at + 2) {
		memmove(m->trace.data + at, m->trace.data + at + 1, m->trace.len - at - 2);
		m->trace.len -= 2;
	}
	return 0;
}

static int v3_bytes(void *ud, const uint8_t *p, size_t n)
{
	struct v3ctx *c = ud;
	return body_piece(c->m, p, n);
}

static int v3_bytes_end(void *ud)
{
	struct v3ctx *c = ud;
	return trace_str(c->m, "\"\n");
}

static int v3_end(void *ud)
{
	struct v3ctx *c = ud;
	return trace_str(c->m, "end\n");
}

/* ---- v1/v2 callbacks ---- */

struct v12ctx {
	sw_dis_msg *m;
	sw_v12_dec *dec;
	sw_dis_kind kind;
	/* Bytes after the tuple line, for guessing whether a body follows. */
	const uint8_t *rest;
	size_t rest_len;
};

enum guess { NO, YES, MAYBE };

/* Whether p[0..n) starts with a complete "<digits>\n<len bytes>done\n":
 * YES, NO, or MAYBE (not yet: more bytes could complete it). */
static enum guess looks_prefixed(const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t len = 0;
	while (i < n && i < 20 && p[i] >= '0' && p[i] <= '9')
		len = len * 10 + (uint64_t)(p[i++] - '0');
	if (i == n)
		return i < 20 ? MAYBE : NO;
	if (i == 0 || p[i] != '\n')
		return NO;
	i++;
	if (len <= n - i && n - i - len >= 5)
		return memcmp(p + i + len, "done\n", 5) == 0 ? YES : NO;
	if (len > n - i)
		return MAYBE;
	size_t have = n - i - (size_t)len; /* < 5 bytes of the trailer */
	return memcmp(p + i + len, "done\n", have) == 0 ? MAYBE : NO;
}

static int v12_status(void *ud, bool success)
{
	struct v12ctx *c = ud;
	c->m->status = success;
	return trace_str(c->m, success ? "status success\n" : "status failed\n");
}

static int v12_args(void *ud, const sw_slice *args, size_t n)
{
	struct v12ctx *c = ud;
	sw_dis_msg *m = c->m;
	if (m->keep_trace) {
		int rc = sw_buf_append_str(&m->trace, "args ");
		if (rc == 0)
			rc = sw_format_tuple(&m->trace, args, n);
		if (rc == 0)
			rc = sw_buf_append_byte(&m->trace, '\n');
		if (put(m, rc))
			return -1;
	}
	if (put(m, sw__dis_json_tuple(&m->args, args, n)) ||
	    put(m, sw_buf_append(&m->verb, args[0].p, args[0].n)))
		return -1;
	m->have_args = true;
	sw_body_mode mode = SW_BODY_NONE;
	bool chunked_maybe = c->kind == SW_DIS_RESPONSE && c->rest_len < 8 &&
	                     memcmp(c->rest, "chunked\n", c->rest_len) == 0;
	enum guess prefixed = looks_prefixed(c->rest, c->rest_len);
	/* A request's body is its verb's business (Breezy's registry); a
	 * verb Breezy does not know, and any response, is judged by what
	 * follows the tuple line. */
	const sw_verb_info *v =
	    c->kind == SW_DIS_REQUEST ? sw_verb_lookup(args[0].p, args[0].n) : NULL;
	if (v && v->body == SW_VERB_BODY_WHOLE)
		mode = SW_BODY_PREFIXED;
	else if (v)
		mode = SW_BODY_NONE; /* no body, or a stream v1/v2 cannot carry */
	else if (c->kind == SW_DIS_RESPONSE && c->rest_len >= 8 &&
	         memcmp(c->rest, "chunked\n", 8) == 0)
		mode = SW_BODY_CHUNKED;
	else if (prefixed == YES)
		mode = SW_BODY_PREFIXED;
	else if (chunked_maybe || prefixed == MAYBE)
		m->uncertain = true;
	return sw_v12_dec_expect_body(c->dec, mode) == 0 ? 0 : -1;
}

static int v12_body_begin(void *ud, uint64_t len)
{
	struct v12ctx *c = ud;
	(void)len;
	c->m->body = true;
	c->m->body_parts = 1;
	return trace_str(c->m, "body \"");
}

static int v12_chunk_begin(void *ud, uint64_t len)
{
	struct v12ctx *c = ud;
	(void)len;
	c->m->body = true;
	c->m->body_parts++;
	return trace_str(c->m, "chunk \"");
}

static int v12_piece(void *ud, const uint8_t *p, size_t n)
{
	struct v12ctx *c = ud;
	return body_piece(c->m, p, n);
}

static int v12_chunk_end(void *ud)
{
	struct v12ctx *c = ud;
	return trace_str(c->m, "\"\n");
}

static int v12_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	struct v12ctx *c = ud;
	sw_dis_msg *m = c->m;
	if (m->keep_trace) {
		int rc = sw_buf_append_str(&m->trace, "error-chunks ");
		if (rc == 0)
			rc = sw_format_tuple(&m->trace, args, n);
		if (rc == 0)
			rc = sw_buf_append_byte(&m->trace, '\n');
		if (put(m, rc))
			return -1;
	}
	return put(m, sw__dis_json_tuple(&m->error_args, args, n));
}

static int v12_end(void *ud)
{
	struct v12ctx *c = ud;
	sw_dis_msg *m = c->m;
	if (m->keep_trace && m->body && m->body_parts == 1 && m->trace.len &&
	    m->trace.data[m->trace.len - 1] != '\n' && trace_str(m, "\"\n"))
		return -1;
	return trace_str(m, "end\n");
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

static bool prefix_of(const uint8_t *in, size_t len, const char *marker, size_t mlen)
{
	return len >= mlen ? memcmp(in, marker, mlen) == 0 : memcmp(in, marker, len) == 0;
}

static ptrdiff_t decode_v3(sw_dis_kind kind, const uint8_t *body, size_t blen, sw_dis_msg *m,
                           bool per_byte, size_t *used, const sw_mem *mem)
{
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = kind == SW_DIS_RESPONSE;
	sw_v3_callbacks cb = {v3_headers, v3_byte,      v3_structure, v3_bytes_begin,
	                      v3_bytes,   v3_bytes_end, v3_end};
	struct v3ctx ctx = {m, mem};
	sw_v3_dec *dec;
	ptrdiff_t rv;
	if ((rv = sw_v3_dec_new(&dec, &cfg, &cb, &ctx, mem)) < 0)
		return rv;
	for (size_t at = 0; at < blen && !sw_v3_dec_done(dec);) {
		rv = sw_v3_dec_feed(dec, body + at, per_byte ? 1 : blen - at);
		if (rv < 0)
			break;
		at += (size_t)rv;
		*used += (size_t)rv;
		if (rv == 0)
			break;
	}
	if (rv >= 0)
		rv = sw_v3_dec_finish(dec);
	sw_v3_dec_del(dec);
	return rv;
}

static ptrdiff_t decode_v12(sw_dis_kind kind, int version, sw_slice pending, const uint8_t *body,
                            size_t blen, sw_dis_msg *m, bool per_byte, size_t *used,
                            const sw_mem *mem)
{
	struct v12ctx c = {m, NULL, kind, NULL, 0};
	int lines = kind == SW_DIS_RESPONSE && version == 2 ? 3 : 1;
	size_t line_end = after_lines(body, blen, lines);
	c.rest = body + line_end;
	c.rest_len = blen - line_end;
	sw_v12_config cfg;
	memset(&cfg, 0, sizeof cfg);
	sw_v12_callbacks cb = {v12_status,    v12_args,         v12_body_begin,
	                       v12_piece,     v12_chunk_begin,  v12_piece,
	                       v12_chunk_end, v12_error_chunks, v12_end};
	ptrdiff_t rv;
	if ((rv = sw_v12_dec_new(&c.dec, kind == SW_DIS_REQUEST ? SW_V12_REQUEST : SW_V12_RESPONSE,
	                         version, &cfg, &cb, &c, mem)) < 0)
		return rv;
	rv = 0;
	if (pending.n) {
		/* The detector's marker prefix is part of the v1 line. */
		for (size_t at = 0; at < pending.n && rv >= 0; at += per_byte ? 1 : pending.n)
			rv = sw_v12_dec_feed(c.dec, pending.p + at, per_byte ? 1 : pending.n);
	}
	for (size_t at = 0; rv >= 0 && at < blen && !sw_v12_dec_done(c.dec);) {
		rv = sw_v12_dec_feed(c.dec, body + at, per_byte ? 1 : blen - at);
		if (rv <= 0)
			break;
		at += (size_t)rv;
		*used += (size_t)rv;
	}
	if (rv >= 0)
		rv = sw_v12_dec_finish(c.dec);
	sw_v12_dec_del(c.dec);
	return rv;
}

ptrdiff_t sw_dis_decode(sw_dis_kind kind, const uint8_t *in, size_t len, sw_dis_msg *m,
                        int *version, bool per_byte, const sw_mem *mem)
{
	size_t skip = 0;
	sw_slice pending = {NULL, 0};
	if (kind == SW_DIS_REQUEST) {
		sw_detect d;
		sw_detect_init(&d);
		skip = sw_detect_feed(&d, in, len);
		if (sw_detect_version(&d) == SW_VERSION_NONE) {
			m->uncertain = true; /* the input ended inside a marker */
			sw_detect_finish(&d);
		}
		*version = (int)sw_detect_version(&d);
		if (*version == 1) {
			pending = sw_detect_pending(&d);
		} else {
			skip = sw_detect_marker_len(&d);
		}
	} else if (prefix_of(in, len, SW_V3_MARKER, SW_V3_MARKER_LEN)) {
		*version = 3;
		m->uncertain = len < SW_V3_MARKER_LEN;
	} else if (prefix_of(in, len, SW_V2_RESPONSE_MARKER, SW_V2_RESPONSE_MARKER_LEN)) {
		*version = 2;
		m->uncertain = len < SW_V2_RESPONSE_MARKER_LEN;
	} else {
		*version = 1;
	}

	if (kind == SW_DIS_REQUEST && skip > 0 && skip == len) {
		/* Only a marker: the request has not started yet.  Decoded as
		 * before (no args) for a file, but a stream must wait, and a
		 * stream that ends here was cut short. */
		m->uncertain = true;
		m->marker_only = true;
	}
	size_t used = skip;
	ptrdiff_t rv = *version == 3
	                   ? decode_v3(kind, in + skip, len - skip, m, per_byte, &used, mem)
	                   : decode_v12(kind, *version, pending, in + skip, len - skip, m, per_byte,
	                                &used, mem);
	if (m->nomem && (rv == SW_ERR_CALLBACK || rv >= 0))
		rv = SW_ERR_NOMEM;
	return rv < 0 ? rv : (ptrdiff_t)used;
}

/* The v3 case of sw_dis_error_offset: a v3 message decodes the same
 * whatever follows it, so one pass one byte at a time finds the bad byte
 * (the byte whose feed fails), in linear time even for a large body. */
static ptrdiff_t v3_bad_byte(sw_dis_kind kind, const uint8_t *in, size_t len, const sw_mem *mem)
{
	size_t skip = kind == SW_DIS_REQUEST ? SW_V3_MARKER_LEN : 0;
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.expect_marker = kind == SW_DIS_RESPONSE;
	sw_dis_msg m;
	sw_dis_msg_init(&m, mem, false);
	struct v3ctx ctx = {&m, mem};
	sw_v3_callbacks cb = {v3_headers, v3_byte,      v3_structure, v3_bytes_begin,
	                      v3_bytes,   v3_bytes_end, v3_end};
	sw_v3_dec *dec;
	ptrdiff_t rv = sw_v3_dec_new(&dec, &cfg, &cb, &ctx, mem);
	size_t at = skip;
	for (; rv >= 0 && at < len; at++) {
		rv = sw_v3_dec_feed(dec, in + at, 1);
		if (rv < 0 || sw_v3_dec_done(dec))
			break;
	}
	if (rv == SW_ERR_CALLBACK && m.nomem)
		rv = SW_ERR_NOMEM;
	sw_v3_dec_del(dec);
	sw_dis_msg_fini(&m);
	return rv == SW_ERR_NOMEM ? rv : (ptrdiff_t)(at < len ? at : len);
}

ptrdiff_t sw_dis_error_offset(sw_dis_kind kind, const uint8_t *in, size_t len, int *version,
                              const sw_mem *mem)
{
	size_t mlen;
	bool v3 = kind == SW_DIS_REQUEST
	              ? sw_detect_bytes(in, len, &mlen) == SW_VERSION_3
	              : len >= SW_V3_MARKER_LEN && memcmp(in, SW_V3_MARKER, SW_V3_MARKER_LEN) == 0;
	if (v3) {
		*version = 3;
		return v3_bad_byte(kind, in, len, mem);
	}
	/* v1/v2 decisions look ahead (dissect.h), so each ever longer prefix
	 * is decoded afresh until one fails with something other than "ended
	 * too soon": its last byte is the bad one. */
	size_t lo = 0;
	for (size_t cut = 1; cut <= len; cut++) {
		sw_dis_msg again;
		sw_dis_msg_init(&again, mem, false);
		ptrdiff_t upto = sw_dis_decode(kind, in, cut, &again, version, true, mem);
		sw_dis_msg_fini(&again);
		if (upto == SW_ERR_NOMEM)
			return upto;
		if (upto < 0 && upto != SW_ERR_UNEXPECTED_EOF) {
			lo = cut - 1;
			break;
		}
		lo = cut;
	}
	return (ptrdiff_t)lo;
}

void sw_dis_msg_init(sw_dis_msg *m, const sw_mem *mem, bool keep_trace)
{
	memset(m, 0, sizeof *m);
	m->keep_trace = keep_trace;
	sw_buf_init(&m->trace, mem);
	sw_buf_init(&m->headers, mem);
	sw_buf_init(&m->args, mem);
	sw_buf_init(&m->error_args, mem);
	sw_buf_init(&m->verb, mem);
	sw_buf_init(&m->parts, mem);
	m->status = -1;
	sw_sha256_init(&m->sha);
}

void sw_dis_msg_fini(sw_dis_msg *m)
{
	sw_buf_fini(&m->trace);
	sw_buf_fini(&m->headers);
	sw_buf_fini(&m->args);
	sw_buf_fini(&m->error_args);
	sw_buf_fini(&m->verb);
	sw_buf_fini(&m->parts);
}
