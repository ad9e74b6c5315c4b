/*
 * A fake request handler (sw_dispatch) for the server session tests, shared
 * by tests/test_server*.c and tests/test_serve_media.c.
 *
 * It serves a fixed in-memory tree that tests/vectors/gen_server.py creates
 * on disk for `brz serve --inet`, answering the Breezy verbs the vectors use
 * (hello, get, has, stat, readv) with Breezy's exact tuples, plus a few verbs
 * of its own to exercise the session layer:
 *   echo            (body) -> ("echo",) + the body
 *   stream N [fail|neg]  -> ("ok",) + N chunks "chunk<i>" streamed, then
 *                   sw_srv_stream_error(("error", "Boom")) or a read_body
 *                   failure (SW_ERR_IO)
 *   bodyfail        (body) -> answers ("BodyFailed",) from the first piece
 *   fatal           begin fails with SW_ERR_IO
 *   fatalbody       (body) body() fails with SW_ERR_IO
 *   big N           ("ok",) + N pattern bytes, pulled
 *   shortbody N     ("ok",) + announces N bytes, delivers N/2, then 0
 *   spanfail N K    ("ok",) + announces N pattern bytes, delivers K, then
 *                   fails (read_body SW_ERR_IO; as a span: a file of K
 *                   bytes, which sendfile finds too short)
 *   spanrefuse N K  ("ok",) + N pattern bytes; as spans, those from K on
 *                   come from a directory, which sendfile refuses (the
 *                   driver then copies the rest)
 *   sinkfull K      (body) -> ("ok", n) for a body of n <= K bytes, else
 *                   ("Full", "K", "<errno>"): the body is written to a
 *                   file that cannot grow past K bytes (also in the copying
 *                   path, so both fail alike)
 * Everything else is SW_ERR_UNKNOWN_METHOD.  Counters prove that every
 * context is freed and every cut request aborted.
 *
 * ZERO-COPY (smartwire/server.h, "ZERO-COPY BODIES"): with `zc` set, the
 * fake also offers its known-length bodies as spans of a memfd holding
 * them, and takes the bodies of echo, readv and sinkfull in a memfd sink
 * (body() then writes there too, so that the bytes stay in order however
 * they arrive; with `append_sinks` the sink is opened O_APPEND, which
 * splice refuses).  The answers are the same; the counters say how much
 * went which way.
 */
#ifndef SW_TEST_SERVER_FAKE_H
#define SW_TEST_SERVER_FAKE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartwire/error.h"
#include "smartwire/readv.h"
#include "smartwire/server.h"

typedef struct fake {
	const sw_mem *mem; /* contexts are allocated here (failmem in tests) */
	int live;          /* contexts allocated and not freed */
	int begins, wants, ends, aborts, bodies, early; /* early: answered from body() */
	uint64_t body_bytes_out;
	size_t max_pending_seen; /* unused by the fake; tests fill it */
	bool zc;                 /* offer spans and sinks (see above) */
	bool append_sinks;       /* sinks opened O_APPEND */
	uint64_t spans, span_bytes, sinks, sink_bytes, sink_failures;
} fake;

typedef struct fake_file {
	const char *path;
	const char *data; /* NULL for a directory */
	size_t len;
} fake_file;

static const fake_file fake_tree[] = {
	{"testfile", "contents\nof\nfile\n", 17},
	{"readvfile", "0123456789abcdefghij", 20},
	{"dir", NULL, 0},
	{"dir/a", "aaa", 3},
	{"emptydir", NULL, 0},
};

enum {
	FV_GET = 1,
	FV_READV,
	FV_ECHO,
	FV_STREAM,
	FV_BODYFAIL,
	FV_FATALBODY,
	FV_BIG,
	FV_SHORT,
	FV_SINKFULL
};

typedef struct fctx {
	fake *f;
	int verb;
	char rel[64];
	sw_buf body;
	const uint8_t *data;
	uint64_t len, pos, short_at;
	sw_readv_range *ranges;
	size_t nranges, ri;
	uint64_t roff;
	int nchunks, chunk, mode;
	char chunkbuf[32];
	int src_fd, sink_fd; /* zero-copy memfds, -1 until made */
	int sink_err;        /* the first failed write into the sink */
	uint64_t cap;        /* sinkfull: K */
} fctx;

static inline bool fake_is(const sw_slice *s, const char *lit)
{
	return s->n == strlen(lit) && (s->n == 0 || memcmp(s->p, lit, s->n) == 0);
}

static inline sw_slice fake_sl(const char *s)
{
	sw_slice r = {(const uint8_t *)s, strlen(s)};
	return r;
}

static inline uint64_t fake_num(const sw_slice *s)
{
	uint64_t v = 0;
	for (size_t i = 0; i < s->n && s->p[i] >= '0' && s->p[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s->p[i] - '0');
	return v;
}

static inline const fake_file *fake_lookup(const sw_slice *path, char *rel, size_t relcap)
{
	size_t off = (path->n && path->p[0] == '/') ? 1 : 0;
	size_t n = path->n - off;
	if (n >= relcap)
		n = relcap - 1;
	memcpy(rel, path->p + off, n);
	rel[n] = 0;
	for (size_t i = 0; i < sizeof fake_tree / sizeof fake_tree[0]; i++)
		if (strcmp(fake_tree[i].path, rel) == 0)
			return &fake_tree[i];
	return NULL;
}

static inline int fake_new_ctx(fake *f, int verb, void **ctx, fctx **out)
{
	fctx *x = sw_malloc(f->mem, sizeof *x);
	if (!x)
		return SW_ERR_NOMEM;
	memset(x, 0, sizeof *x);
	x->f = f;
	x->verb = verb;
	x->src_fd = x->sink_fd = -1;
	sw_buf_init(&x->body, f->mem);
	f->live++;
	*ctx = x;
	*out = x;
	return 0;
}

static inline int fake_nosuchfile(sw_srv_req *req, const char *rel)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", "/tmp/sw-srv-tree", rel);
	sw_slice a[2] = {fake_sl("NoSuchFile"), fake_sl(path)};
	int rv = sw_srv_respond(req, false, a, 2);
	return rv < 0 ? rv : SW_SRV_ANSWERED;
}

static inline int fake_begin(void *ud, sw_srv_req *req, const sw_slice *args, size_t n,
                             void **ctx)
{
	fake *f = ud;
	fctx *x;
	int rv;
	f->begins++;
	const sw_slice *verb = &args[0];
	char rel[64];
	if (fake_is(verb, "hello") && n == 1) {
		sw_slice a[2] = {fake_sl("ok"), fake_sl("2")};
		rv = sw_srv_respond(req, true, a, 2);
		return rv < 0 ? rv : SW_SRV_ANSWERED;
	}
	if ((fake_is(verb, "get") || fake_is(verb, "has") || fake_is(verb, "stat")) && n == 2) {
		const fake_file *ff = fake_lookup(&args[1], rel, sizeof rel);
		if (fake_is(verb, "has")) {
			sw_slice a = fake_sl(ff ? "yes" : "no");
			rv = sw_srv_respond(req, true, &a, 1);
			return rv < 0 ? rv : SW_SRV_ANSWERED;
		}
		if (!ff)
			return fake_nosuchfile(req, rel);
		if (fake_is(verb, "stat")) {
			char size[24];
			snprintf(size, sizeof size, "%zu", ff->len);
			sw_slice a[3] = {fake_sl("stat"), fake_sl(size),
			                 fake_sl(ff->data ? "0o100644" : "0o40755")};
			rv = sw_srv_respond(req, true, a, 3);
			return rv < 0 ? rv : SW_SRV_ANSWERED;
		}
		if ((rv = fake_new_ctx(f, FV_GET, ctx, &x)) < 0)
			return rv;
		x->data = (const uint8_t *)ff->data;
		x->len = ff->len;
		sw_slice ok = fake_sl("ok");
		rv = sw_srv_respond_body(req, &ok, 1, ff->len);
		return rv < 0 ? rv : SW_SRV_ANSWERED;
	}
	if (fake_is(verb, "readv") && n == 2) {
		if ((rv = fake_new_ctx(f, FV_READV, ctx, &x)) < 0)
			return rv;
		fake_lookup(&args[1], x->rel, sizeof x->rel);
		f->wants++;
		return SW_SRV_WANT_BODY;
	}
	if (fake_is(verb, "echo") || fake_is(verb, "bodyfail") || fake_is(verb, "fatalbody")) {
		int v = fake_is(verb, "echo") ? FV_ECHO : fake_is(verb, "bodyfail") ? FV_BODYFAIL
		                                                                      : FV_FATALBODY;
		if ((rv = fake_new_ctx(f, v, ctx, &x)) < 0)
			return rv;
		f->wants++;
		return SW_SRV_WANT_BODY;
	}
	if (fake_is(verb, "stream") && n >= 2) {
		if ((rv = fake_new_ctx(f, FV_STREAM, ctx, &x)) < 0)
			return rv;
		x->nchunks = (int)fake_num(&args[1]);
		x->mode = n >= 3 ? (fake_is(&args[2], "fail") ? 1 : 2) : 0;
		sw_slice ok = fake_sl("ok");
		rv = sw_srv_respond_stream(req, &ok, 1);
		return rv < 0 ? rv : SW_SRV_ANSWERED;
	}
	if (fake_is(verb, "sinkfull") && n == 2) {
		if ((rv = fake_new_ctx(f, FV_SINKFULL, ctx, &x)) < 0)
			return rv;
		x->cap = fake_num(&args[1]);
		f->wants++;
		return SW_SRV_WANT_BODY;
	}
	if (((fake_is(verb, "big") || fake_is(verb, "shortbody")) && n == 2) ||
	    ((fake_is(verb, "spanfail") || fake_is(verb, "spanrefuse")) && n == 3)) {
		int v = fake_is(verb, "big") || fake_is(verb, "spanrefuse") ? FV_BIG : FV_SHORT;
		if ((rv = fake_new_ctx(f, v, ctx, &x)) < 0)
			return rv;
		x->len = fake_num(&args[1]);
		x->short_at = v == FV_SHORT ? x->len / 2 : x->len;
		if (n == 3 && fake_is(verb, "spanfail")) {
			uint64_t k = fake_num(&args[2]);
			x->short_at = k < x->len ? k : x->len;
			x->mode = 3;
		} else if (n == 3) { /* spanrefuse */
			x->cap = fake_num(&args[2]);
			x->mode = 4;
		}
		sw_slice ok = fake_sl("ok");
		rv = sw_srv_respond_body(req, &ok, 1, x->len);
		return rv < 0 ? rv : SW_SRV_ANSWERED;
	}
	if (fake_is(verb, "fatal"))
		return SW_ERR_IO;
	return SW_ERR_UNKNOWN_METHOD;
}

#include "support/server_fake_zc.h"

static inline int fake_body(void *ctx, sw_srv_req *req, const uint8_t *p, size_t n)
{
	fctx *x = ctx;
	x->f->bodies++;
	if (x->verb == FV_FATALBODY)
		return SW_ERR_IO;
	if (x->verb == FV_BODYFAIL) {
		sw_slice a = fake_sl("BodyFailed");
		int rv = sw_srv_respond(req, false, &a, 1);
		if (rv == 0)
			x->f->early++;
		return rv;
	}
	if (fake_sinking(x))
		return fake_sink_write(x, p, n);
	return sw_buf_append(&x->body, p, n);
}

static inline int fake_end(void *ctx, sw_srv_req *req)
{
	fctx *x = ctx;
	x->f->ends++;
	if (fake_sinking(x)) {
		int rv = fake_sink_collect(x);
		if (rv < 0)
			return rv;
	}
	if (x->verb == FV_SINKFULL)
		return fake_sinkfull_answer(x, req);
	if (x->verb == FV_ECHO) {
		sw_slice a = fake_sl("echo");
		return sw_srv_respond_bytes(req, &a, 1, x->body.data, x->body.len);
	}
	if (x->verb != FV_READV)
		return SW_ERR_STATE;
	char relbuf[70];
	memcpy(relbuf, x->rel, sizeof x->rel);
	sw_slice rs = fake_sl(relbuf);
	const fake_file *ff = fake_lookup(&rs, x->rel, sizeof x->rel);
	if (!ff || !ff->data)
		return fake_nosuchfile(req, x->rel) < 0 ? SW_ERR_NOMEM : 0;
	int rv = sw_readv_parse(x->body.data, x->body.len, 0, x->f->mem, &x->ranges, &x->nranges);
	if (rv == SW_ERR_NOMEM)
		return rv;
	if (rv < 0 || x->nranges == 0) {
		/* Breezy: LocalTransport.readv of no offsets returns None. */
		sw_slice a[3] = {fake_sl("error"), fake_sl("TypeError"),
		                 fake_sl("'NoneType' object is not iterable")};
		return sw_srv_respond(req, false, a, 3);
	}
	uint64_t total = 0;
	for (size_t i = 0; i < x->nranges; i++) {
		const sw_readv_range *r = &x->ranges[i];
		if (r->start + r->length > ff->len) {
			char o[24], l[24], a[24], p[80];
			snprintf(o, sizeof o, "%llu", (unsigned long long)r->start);
			snprintf(l, sizeof l, "%llu", (unsigned long long)r->length);
			snprintf(a, sizeof a, "%llu",
			         (unsigned long long)(r->start < ff->len ? ff->len - r->start : 0));
			snprintf(p, sizeof p, "./%s", x->rel);
			sw_slice e[5] = {fake_sl("ShortReadvError"), fake_sl(p), fake_sl(o), fake_sl(l),
			                 fake_sl(a)};
			return sw_srv_respond(req, false, e, 5);
		}
		total += r->length;
	}
	x->data = (const uint8_t *)ff->data;
	x->len = ff->len;
	sw_slice rd = fake_sl("readv");
	return sw_srv_respond_body(req, &rd, 1, total);
}

static inline ptrdiff_t fake_read_body(void *ctx, sw_srv_req *req, uint8_t *buf, size_t cap)
{
	fctx *x = ctx;
	size_t n = 0;
	switch (x->verb) {
	case FV_GET:
		n = (size_t)(x->len - x->pos) < cap ? (size_t)(x->len - x->pos) : cap;
		memcpy(buf, x->data + x->pos, n);
		x->pos += n;
		break;
	case FV_READV:
		while (n < cap && x->ri < x->nranges) {
			const sw_readv_range *r = &x->ranges[x->ri];
			size_t k = (size_t)(r->length - x->roff);
			if (k > cap - n)
				k = cap - n;
			memcpy(buf + n, x->data + r->start + x->roff, k);
			n += k;
			x->roff += k;
			if (x->roff == r->length) {
				x->ri++;
				x->roff = 0;
			}
		}
		break;
	case FV_STREAM:
		if (x->chunk < x->nchunks) {
			n = (size_t)snprintf(x->chunkbuf, sizeof x->chunkbuf, "chunk%d", x->chunk++);
			if (n > cap)
				n = cap;
			memcpy(buf, x->chunkbuf, n);
			break;
		}
		if (x->mode == 1) {
			sw_slice a[2] = {fake_sl("error"), fake_sl("Boom")};
			int rv = sw_srv_stream_error(req, a, 2);
			return rv < 0 ? rv : 0;
		}
		return x->mode == 2 ? SW_ERR_IO : 0;
	case FV_BIG:
	case FV_SHORT:
		if (x->pos >= x->short_at)
			return x->mode == 3 ? SW_ERR_IO : 0;
		n = (size_t)(x->short_at - x->pos) < cap ? (size_t)(x->short_at - x->pos) : cap;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)((x->pos + i) * 7);
		x->pos += n;
		break;
	default:
		return SW_ERR_STATE;
	}
	x->f->body_bytes_out += n;
	return (ptrdiff_t)n;
}

static inline void fake_abort(void *ctx)
{
	fctx *x = ctx;
	x->f->aborts++;
}

static inline void fake_free(void *ctx)
{
	fctx *x = ctx;
	x->f->live--;
	if (x->src_fd >= 0)
		close(x->src_fd);
	if (x->sink_fd >= 0)
		close(x->sink_fd);
	sw_buf_fini(&x->body);
	sw_free(x->f->mem, x->ranges);
	sw_free(x->f->mem, x);
}

static inline sw_dispatch fake_dispatch(void)
{
	sw_dispatch d = {.begin = fake_begin,
	                 .body = fake_body,
	                 .end = fake_end,
	                 .read_body = fake_read_body,
	                 .abort = fake_abort,
	                 .free = fake_free,
	                 .body_span = fake_body_span,
	                 .body_span_done = fake_body_span_done,
	                 .body_sink = fake_body_sink,
	                 .body_sink_done = fake_body_sink_done};
	return d;
}

static inline void fake_init(fake *f, const sw_mem *mem)
{
	memset(f, 0, sizeof *f);
	f->mem = mem;
}

#endif
