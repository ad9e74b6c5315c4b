/*
 * The reference file server: sw_vfs behind the sw_dispatch interface.  See
 * smartwire/vfs_server.h for the mapping and its departures from Breezy.
 */
#include <stdbool.h>
#include <string.h>

#include "smartwire/error.h"
#include "smartwire/vfs_server.h"
#include "vfs_req.h"

/* Sends the reply of an answered VFS request.  Returns 0 or a fatal sw_err
 * (the session then closes the connection without an answer). */
static int respond(sw_vfs_req *r, sw_srv_req *req)
{
	sw_vfs_reply rep;
	int rv = sw_vfs_get_reply(r, &rep);
	if (rv < 0)
		return rv;
	switch (rep.status) {
	case SW_VFS_SUCCESS:
		if (rep.has_body)
			return sw_srv_respond_body(req, rep.args, rep.nargs, rep.body_len);
		return sw_srv_respond(req, true, rep.args, rep.nargs);
	case SW_VFS_FAILED:
		return sw_srv_respond(req, false, rep.args, rep.nargs);
	case SW_VFS_PROTOCOL_ERROR: {
		if (rep.nargs != 1)
			return SW_ERR_STATE;
		sw_slice e[2] = {{(const uint8_t *)"error", 5}, rep.args[0]};
		return sw_srv_respond(req, false, e, 2);
	}
	}
	return SW_ERR_STATE;
}

/* The VFS verbs that take a request body. */
static bool body_verb(const sw_slice *verb)
{
	static const char *const verbs[] = {"put", "put_non_atomic", "append", "readv"};
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (verb->n == strlen(verbs[i]) && memcmp(verb->p, verbs[i], verb->n) == 0)
			return true;
	return false;
}

static int begin(void *ud, sw_srv_req *req, const sw_slice *args, size_t nargs, void **ctx)
{
	sw_vfs_req *r = NULL;
	int rv = sw_vfs_begin(ud, args, nargs, &r);
	if (rv < 0)
		return rv; /* SW_ERR_UNKNOWN_METHOD is answered by the session */
	*ctx = r;
	if (rv == SW_VFS_NEEDS_BODY)
		return SW_SRV_WANT_BODY;
	/* A v1/v2 body verb answered before its body (a bad mode, say): the
	 * client still sends the length-prefixed body, which only the verb
	 * announces.  Breezy answers at once and then parses that body as
	 * further requests; we take the body first and answer from body() or
	 * end(), so the session reads and discards it.  In v3 the framing
	 * delimits the body, so the answer goes out at once as in Breezy. */
	if (sw_srv_req_version(req) != 3 && body_verb(&args[0]))
		return SW_SRV_WANT_BODY;
	rv = respond(r, req);
	return rv < 0 ? rv : SW_SRV_ANSWERED;
}

/* 1 if the request was answered in begin() and its answer held back, 0 if
 * it is waiting for its body, or SW_ERR_NOMEM (building the reply failed:
 * found by fuzz_server_session, which fails every allocation in turn). */
static int held(const sw_vfs_req *r)
{
	sw_vfs_reply rep;
	int rv = sw_vfs_get_reply(r, &rep);
	return rv == 0 ? 1 : rv == SW_ERR_NOMEM ? rv : 0;
}

static int body(void *ctx, sw_srv_req *req, const uint8_t *p, size_t n)
{
	int h = held(ctx);
	if (h < 0)
		return h;
	if (h)
		return respond(ctx, req); /* the session discards the rest */
	return sw_vfs_body(ctx, p, n);
}

static int end(void *ctx, sw_srv_req *req)
{
	int h = held(ctx);
	if (h < 0)
		return h;
	if (h)
		return respond(ctx, req);
	int rv = sw_vfs_end(ctx);
	return rv < 0 ? rv : respond(ctx, req);
}

static ptrdiff_t read_body(void *ctx, sw_srv_req *req, uint8_t *buf, size_t cap)
{
	(void)req;
	return sw_vfs_read_body(ctx, buf, cap);
}

static int body_span(void *ctx, sw_srv_req *req, uint64_t cap, sw_srv_span *span)
{
	(void)req;
	span->fd = -1;
	return sw_vfs_body_span(ctx, cap, &span->fd, &span->off, &span->len);
}

static void body_span_done(void *ctx, sw_srv_req *req, uint64_t n)
{
	(void)req;
	sw_vfs_body_span_done(ctx, n);
}

static int body_sink(void *ctx, sw_srv_req *req, uint64_t avail, int *fd)
{
	(void)req;
	/* A request answered before its body (held) takes it the copying way:
	 * body() answers and the session discards the rest. */
	int h = held(ctx);
	if (h != 0)
		return h < 0 ? h : 0;
	return sw_vfs_body_sink(ctx, avail, fd);
}

static int body_sink_done(void *ctx, sw_srv_req *req, uint64_t n, int err)
{
	(void)req;
	return sw_vfs_body_sink_done(ctx, n, err);
}

static void abort_req(void *ctx)
{
	sw_vfs_abort(ctx);
}

static void free_req(void *ctx)
{
	sw_vfs_req_del(ctx);
}

static bool knows(void *ud, const sw_slice *verb)
{
	(void)ud;
	return sw__vfs_knows(verb);
}

static const sw_dispatch vfs_dispatch = {
    .begin = begin,
    .knows = knows,
    .body = body,
    .end = end,
    .read_body = read_body,
    .abort = abort_req,
    .free = free_req,
    .body_span = body_span,
    .body_span_done = body_span_done,
    .body_sink = body_sink,
    .body_sink_done = body_sink_done,
};

const sw_dispatch *sw_vfs_dispatch(void)
{
	return &vfs_dispatch;
}
