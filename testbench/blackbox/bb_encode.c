/*
 * Sessions and their encoding: a structured request is encoded with the
 * reference encoders (v3.h; v1/v2 by hand, since a mutated argument may hold
 * a separator the encoder refuses) after the values captured earlier in the
 * run are put in, then its byte operators are applied in order.  Every
 * operator finds its place from the structure of the bytes it gets (length
 * prefixes, parts, tuple line, body), so that "the length prefix of the
 * args, plus one" means the same after other operators ran; when the bytes
 * no longer have such a place the operator falls back to a plain byte edit.
 * The tokens the dictionary operator inserts are one process-wide table the
 * loaded seeds set (bb_gen.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bb_impl.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"
#include "smartwire/v3.h"
#include "smartwire/verbs.h"

const char *sw_bb_class_name(sw_bb_class c)
{
	static const char *const n[SW_BB_NCLASS] = {
	    "crash", "hang", "desync", "escape", "resource", "malformed", "divergence", "client"};
	return c < SW_BB_NCLASS ? n[c] : "?";
}

const char *sw_bb_op_name(sw_bb_opkind k)
{
	static const char *const n[SW_BB_NOP] = {"verb", "arg",  "len",   "marker",
	                                         "benc", "sep",  "body",  "byte",
	                                         "dict", "pipe", "shape", "state"};
	return k < SW_BB_NOP ? n[k] : "?";
}

static void req_free(sw_bb_req *r)
{
	for (size_t i = 0; i < r->nargs; i++)
		free(r->arg[i]);
	free(r->body);
	memset(r, 0, sizeof *r);
}

void sw_bb_session_free(sw_bb_session *s)
{
	for (size_t i = 0; i < s->n; i++)
		req_free(&s->v[i]);
	s->n = 0;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n + 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

int sw__bb_req_copy(sw_bb_req *d, const sw_bb_req *s)
{
	*d = *s;
	for (size_t i = 0; i < s->nargs; i++)
		d->arg[i] = NULL;
	d->body = NULL;
	for (size_t i = 0; i < s->nargs; i++)
		if (!(d->arg[i] = dup_bytes(s->arg[i], s->argn[i]))) {
			req_free(d);
			return SW_ERR_NOMEM;
		}
	if (s->body && !(d->body = dup_bytes(s->body, s->nbody))) {
		req_free(d);
		return SW_ERR_NOMEM;
	}
	return 0;
}

int sw_bb_session_copy(sw_bb_session *dst, const sw_bb_session *src)
{
	*dst = *src;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++) {
		if (sw__bb_req_copy(&dst->v[i], &src->v[i]) < 0) {
			sw_bb_session_free(dst);
			return SW_ERR_NOMEM;
		}
		dst->n = i + 1;
	}
	return 0;
}

void sw__bb_req_remove(sw_bb_session *s, size_t i)
{
	req_free(&s->v[i]);
	memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof s->v[0]);
	s->n--;
	memset(&s->v[s->n], 0, sizeof s->v[0]);
}

const char *sw_bb_req_verb(const sw_bb_req *r, char *buf, size_t cap)
{
	if (r->raw || !r->nargs) {
		snprintf(buf, cap, "?");
		return buf;
	}
	size_t o = 0;
	for (size_t i = 0; i < r->argn[0] && o + 1 < cap && o < 48; i++) {
		uint8_t c = r->arg[0][i];
		buf[o++] = c > 0x20 && c < 0x7f && c != '/' ? (char)c : '_';
	}
	buf[o] = 0;
	if (!o)
		snprintf(buf, cap, "_empty");
	return buf;
}

void sw_bb_verb_key(const char *verb, char *out, size_t cap)
{
	if (strcmp(verb, "?") == 0 || strcmp(verb, "eof") == 0 || strcmp(verb, "extra") == 0 ||
	    sw_verb_lookup(verb, strlen(verb)))
		snprintf(out, cap, "%s", verb);
	else
		snprintf(out, cap, "%s", strchr(verb, '_') ? "(odd-bytes)" : "(unknown)");
}

void sw__bb_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

char *sw__bb_strf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s) {
		va_start(ap, fmt);
		vsnprintf(s, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	return s;
}

/* ---- the structure of encoded bytes ------------------------------------- */

#define MAXP 16
typedef struct layout {
	int version;
	size_t marker;       /* marker length */
	size_t prefix[MAXP]; /* v3: offsets of length prefixes (headers first) */
	size_t np;
	size_t spart[MAXP]; /* v3: offsets of 's' kind bytes */
	size_t ns;
	size_t end;       /* v3: offset of the final 'e' (0: none) */
	size_t line_end;  /* v1/v2: offset of the tuple line's '\n' (0: none) */
	size_t body_line; /* v1/v2: offset of the body length line (0: none) */
} layout;

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void find_layout(const sw_buf *b, layout *L)
{
	memset(L, 0, sizeof *L);
	size_t ml = 0;
	L->version = (int)sw_detect_bytes(b->data, b->len, &ml);
	L->marker = ml;
	if (L->version == 3) {
		size_t p = ml;
		if (p + 4 > b->len)
			return;
		L->prefix[L->np++] = p;
		p += 4 + (size_t)rd32(b->data + p);
		while (p < b->len && L->np < MAXP) {
			uint8_t k = b->data[p];
			if (k == 'e') {
				L->end = p;
				return;
			}
			if (k == 'o') {
				p += 2;
				continue;
			}
			if ((k != 's' && k != 'b') || p + 5 > b->len)
				return;
			if (k == 's' && L->ns < MAXP)
				L->spart[L->ns++] = p;
			L->prefix[L->np++] = p + 1;
			p += 5 + (size_t)rd32(b->data + p + 1);
		}
		return;
	}
	const uint8_t *nl = memchr(b->data + ml, '\n', b->len - ml);
	if (!nl)
		return;
	L->line_end = (size_t)(nl - b->data);
	if (L->line_end + 1 < b->len && b->data[L->line_end + 1] >= '0' &&
	    b->data[L->line_end + 1] <= '9')
		L->body_line = L->line_end + 1;
}

static int splice(sw_buf *b, size_t at, size_t del, const void *p, size_t n)
{
	if (at > b->len)
		at = b->len;
	if (del > b->len - at)
		del = b->len - at;
	if (n > del && sw_buf_reserve(b, n - del) < 0)
		return SW_ERR_NOMEM;
	if (b->len - at - del)
		memmove(b->data + at + n, b->data + at + del, b->len - at - del);
	if (n)
		memcpy(b->data + at, p, n);
	b->len = b->len - del + n;
	return 0;
}

/* Replaces the payload of the v3 item whose prefix is at `pre` and fixes
 * the prefix. */
static int v3_replace_payload(sw_buf *b, size_t pre, const char *s, size_t n)
{
	if (pre + 4 > b->len)
		return 0;
	size_t old = rd32(b->data + pre);
	int rc = splice(b, pre + 4, old, s, n);
	if (rc == 0)
		wr32(b->data + pre, (uint32_t)n);
	return rc;
}

static int op_byte(sw_buf *b, const sw_bb_op *op)
{
	if (!b->len)
		return splice(b, 0, 0, "\n", 1);
	size_t at = op->pos % b->len;
	uint8_t v = (uint8_t)op->val;
	switch (op->sub % 6) {
	case 0: b->data[at] ^= (uint8_t)(1u << (op->val % 8)); return 0;
	case 1: return splice(b, at, 0, &v, 1);
	case 2: return splice(b, at, 1, NULL, 0);
	case 3: b->len = at ? at : 1; return 0;
	case 4: {
		size_t n = b->len - at > 64 ? 64 : b->len - at;
		uint8_t tmp[64];
		memcpy(tmp, b->data + at, n);
		return splice(b, at, 0, tmp, n);
	}
	default: b->data[at] = (const uint8_t[]){0xff, 0x00, 0x80, 0x7f}[op->val % 4]; return 0;
	}
}

static int op_len(sw_buf *b, const layout *L, const sw_bb_op *op)
{
	if (L->version == 3 && L->np) {
		size_t pre = L->prefix[op->pos % L->np];
		uint32_t v = rd32(b->data + pre);
		static const uint32_t fixed[] = {0xffffffffu, 0x7fffffffu, 0, 0x80000000u,
		                                 0x00100000u};
		switch (op->sub % 7) {
		case 0: v++; break;
		case 1: v--; break;
		case 2: v *= 2; break;
		default: v = fixed[(op->sub % 7) - 2 <= 4 ? (op->sub % 7) - 2 : 0]; break;
		}
		wr32(b->data + pre, v);
		return 0;
	}
	if (L->version != 3 && L->body_line) {
		size_t i = L->body_line, j = i;
		while (j < b->len && b->data[j] >= '0' && b->data[j] <= '9')
			j++;
		unsigned long long n = strtoull((const char *)b->data + i, NULL, 10);
		char t[48];
		switch (op->sub % 7) {
		case 0: snprintf(t, sizeof t, "%llu", n + 1); break;
		case 1: snprintf(t, sizeof t, "%llu", n ? n - 1 : 0); break;
		case 2: snprintf(t, sizeof t, "4294967296"); break;
		case 3: snprintf(t, sizeof t, "%llx", n + 10); break;
		case 4: snprintf(t, sizeof t, "-1"); break;
		case 5: snprintf(t, sizeof t, " %llu", n); break;
		default: snprintf(t, sizeof t, "99999999999999999999"); break;
		}
		return splice(b, i, j - i, t, strlen(t));
	}
	if (L->version != 3 && L->line_end) {
		/* No body: give it a length line that lies about what follows. */
		static const char *const bodies[] = {"3\nab", "0\ndone\n", "5\nabcdefdone\n",
		                                     "-1\n"};
		const char *s = bodies[op->sub % 4];
		return splice(b, L->line_end + 1, 0, s, strlen(s));
	}
	sw_bb_op o = *op;
	return op_byte(b, &o);
}

static int op_marker(sw_buf *b, const layout *L, const sw_bb_op *op)
{
	static const char *const repl[] = {"bzr request 2\n",           "bzr message 4 (bzr 1.6)\n",
	                                   "bzr message 3 (bzr 1.6)",   "",
	                                   "BZR MESSAGE 3 (BZR 1.6)\n", "bzr request 3\n",
	                                   "bzr message 3 (bzr 1.6)\n", "bzr response 2\n"};
	const char *s = repl[op->sub % 8];
	if ((op->sub % 8) == 6) /* a v3 marker in front of whatever it was */
		return splice(b, 0, 0, s, strlen(s));
	if (L->marker == 0) {
		if (b->len)
			b->data[op->pos % (b->len < 4 ? b->len : 4)] ^= 0x20;
		return splice(b, 0, 0, s, strlen(s));
	}
	return splice(b, 0, L->marker, s, strlen(s));
}

static int op_benc(sw_buf *b, const layout *L, const sw_bb_op *op)
{
	if (L->version != 3 || !L->np)
		return op_byte(b, op);
	static const char *const vals[] = {
	    "le",         "i5e",      "d1:b0:1:a0:e", "xx",
	    "l3:geti1ee", "l99:gete", "d3:get0:e",    "l5:helloe5:extra",
	    "",           "l5:hello", "i-0e",         "l05:helloe"};
	size_t which = op->pos % L->np; /* 0: headers, else a part */
	if (op->sub % 13 == 12) {
		/* depth: a list nested 64 (or 4096) levels */
		size_t depth = op->val % 2 ? 4096 : 64;
		char *s = malloc(depth * 2 + 1);
		if (!s)
			return SW_ERR_NOMEM;
		memset(s, 'l', depth);
		memset(s + depth, 'e', depth);
		int rc = v3_replace_payload(b, L->prefix[which], s, depth * 2);
		free(s);
		return rc;
	}
	const char *v = vals[op->sub % 12];
	return v3_replace_payload(b, L->prefix[which], v, strlen(v));
}

static int op_sep(sw_buf *b, const layout *L, const sw_bb_op *op)
{
	if (L->version == 3 || !L->line_end)
		return op_byte(b, op);
	size_t a = L->marker, e = L->line_end;
	uint8_t *sep = memchr(b->data + a, 1, e - a);
	size_t s = sep ? (size_t)(sep - b->data) : e;
	switch (op->sub % 7) {
	case 0:
		if (sep)
			*sep = 2;
		return 0;
	case 1: return splice(b, s, 0, "\x01", 1);
	case 2: return splice(b, e, 0, "\x01", 1);
	case 3: return splice(b, e, 0, "\r", 1);
	case 4: return splice(b, e, 1, NULL, 0);
	case 5: return splice(b, a + (s > a ? (op->pos % (s - a)) : 0), 0, "\0", 1);
	default: return splice(b, a, 0, "\x01", 1);
	}
}

static int op_body(sw_buf *b, const layout *L, const sw_bb_op *op)
{
	if (L->version == 3) {
		if (!L->end)
			return op_byte(b, op);
		static const char *const ins[] = {"oX", "oE", "oS", "b\0\0\0\x01x", "s\0\0\0\x02le",
		                                  "o"};
		static const size_t insn[] = {2, 2, 2, 6, 7, 1};
		switch (op->sub % 8) {
		case 6: return splice(b, L->end, 1, NULL, 0);               /* no final 'e' */
		case 7: return splice(b, L->end + 1, 0, "b\0\0\0\x01x", 6); /* a part after 'e' */
		default: {
			int k = op->sub % 8;
			return splice(b, L->end, 0, ins[k], insn[k]);
		}
		}
	}
	if (!L->body_line)
		return op_len(b, L, op);
	const uint8_t *d = b->len >= 5 ? b->data + b->len - 5 : NULL;
	bool done = d && memcmp(d, "done\n", 5) == 0;
	switch (op->sub % 4) {
	case 0:
		if (done)
			b->len -= 5;
		return 0;
	case 1:
		if (done)
			b->len -= 1;
		return 0;
	case 2: return splice(b, done ? b->len - 5 : b->len, 0, "extra", 5);
	default: return splice(b, b->len, 0, "done\n", 5);
	}
}

/* The table SW_BB_OP_DICT takes its tokens from (sw__bb_dict_set). */
static const sw_slice *g_dict;
static size_t g_ndict;

void sw__bb_dict_set(const sw_slice *v, size_t n)
{
	g_dict = v;
	g_ndict = n;
}

/* Entry `i` (modulo the count) of the table; ".." when it is empty. */
static sw_slice dict_entry(uint32_t i)
{
	if (!g_ndict)
		return (sw_slice){(const uint8_t *)"..", 2};
	return g_dict[i % g_ndict];
}

static int apply(sw_buf *b, const sw_bb_op *op)
{
	layout L;
	find_layout(b, &L);
	switch (op->kind) {
	case SW_BB_OP_LEN: return op_len(b, &L, op);
	case SW_BB_OP_MARKER: return op_marker(b, &L, op);
	case SW_BB_OP_BENC: return op_benc(b, &L, op);
	case SW_BB_OP_SEP: return op_sep(b, &L, op);
	case SW_BB_OP_BODY: return op_body(b, &L, op);
	case SW_BB_OP_DICT: {
		sw_slice t = dict_entry(op->val);
		return splice(b, b->len ? op->pos % (b->len + 1) : 0, 0, t.p, t.n);
	}
	default: return op_byte(b, op);
	}
}

int sw_bb_encode(const sw_bb_req *r, const sw_bb_caps *caps, sw_buf *out)
{
	out->len = 0;
	int rc = 0;
	if (r->raw)
		rc = sw_buf_append(out, r->body, r->nbody);
	else if (r->version == 3) {
		sw_bval items[SW_BB_MAX_ARGS], list;
		for (size_t i = 0; i < r->nargs; i++) {
			items[i].type = SW_BSTR;
			items[i].u.str = (sw_slice){r->arg[i], r->argn[i]};
			int s = r->argcap[i];
			if (s >= 0 && s < SW_BB_SLOTS && caps && caps->p[s])
				items[i].u.str = (sw_slice){caps->p[s], caps->n[s]};
		}
		list.type = SW_BLIST;
		list.u.list.items = items;
		list.u.list.n = r->nargs;
		rc = sw_v3_put_marker(out);
		if (!rc)
			rc = sw_v3_put_default_headers(out);
		if (!rc)
			rc = sw_v3_put_structure(out, &list);
		if (!rc && r->has_body) {
			size_t parts = r->nparts ? r->nparts : 1, off = 0;
			for (size_t k = 0; k < parts && !rc; k++) {
				size_t n = k + 1 == parts ? r->nbody - off : r->nbody / parts;
				rc = sw_v3_put_bytes(
				    out, r->body ? r->body + off : (const uint8_t *)"", n);
				off += n;
			}
		}
		if (!rc)
			rc = r->abort ? sw_v3_encode_request_abort(out) : sw_v3_put_end(out);
	} else {
		if (r->version == 2)
			rc = sw_buf_append_str(out, SW_V2_REQUEST_MARKER);
		for (size_t i = 0; i < r->nargs && !rc; i++) {
			const uint8_t *p = r->arg[i];
			size_t n = r->argn[i];
			int s = r->argcap[i];
			if (s >= 0 && s < SW_BB_SLOTS && caps && caps->p[s]) {
				p = caps->p[s];
				n = caps->n[s];
			}
			if (i)
				rc = sw_buf_append_byte(out, 1);
			if (!rc)
				rc = sw_buf_append(out, p, n);
		}
		if (!rc)
			rc = sw_buf_append_byte(out, '\n');
		if (!rc && r->has_body) {
			char t[32];
			snprintf(t, sizeof t, "%zu\n", r->nbody);
			rc = sw_buf_append_str(out, t);
			if (!rc)
				rc = sw_buf_append(out, r->body ? r->body : (const uint8_t *)"",
				                   r->nbody);
			if (!rc)
				rc = sw_buf_append_str(out, "done\n");
		}
	}
	for (size_t i = 0; i < r->nops && !rc; i++)
		rc = apply(out, &r->ops[i]);
	return rc;
}
