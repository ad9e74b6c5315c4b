/*
 * Drivers for the server session tests: the sans-I/O core fed in pieces
 * (each piece, with the excess the core left, copied against a guard page),
 * and sw_serve_medium over an in-process fifo pair with fault plans.
 */
#ifndef SW_TEST_SERVER_DRIVE_H
#define SW_TEST_SERVER_DRIVE_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support/server_fake.h"
#include "smartwire/fault.h"
#include "smartwire/medium.h"
#include "support/guard.h"

typedef struct srv_outcome {
	int feed_err;       /* first negative feed result, 0 if none */
	int eof_rv;         /* sw_srv_conn_eof() result */
	int error;          /* sw_srv_conn_error() at the end */
	bool stuck;         /* input left that the core would not take */
	bool finished;      /* sw_srv_conn_finished() at the end */
	bool idle;          /* sw_srv_conn_idle() at the end */
	uint64_t requests;
	size_t max_queue;   /* largest output queue seen */
} srv_outcome;

/* Takes everything the core has to say. */
static inline void srv_drain(sw_srv_conn *c, sw_buf *out, srv_outcome *o)
{
	for (;;) {
		const uint8_t *p;
		size_t n;
		sw_srv_conn_output(c, &p, &n);
		if (n > o->max_queue)
			o->max_queue = n;
		if (n == 0)
			return;
		if (sw_buf_append(out, p, n) < 0)
			abort();
		sw_srv_conn_output_done(c, n);
	}
}

/* Feeds in[0..len) cut at cuts[0..ncuts) (ascending), draining output after
 * every feed, then signals EOF if `eof` and drains again. */
static inline void srv_drive(sw_srv_conn *c, const uint8_t *in, size_t len, const size_t *cuts,
                             size_t ncuts, bool eof, sw_buf *out, srv_outcome *o)
{
	memset(o, 0, sizeof *o);
	sw_buf pend;
	sw_buf_init(&pend, NULL);
	size_t start = 0;
	for (size_t k = 0; k <= ncuts && !o->feed_err; k++) {
		size_t stop = k < ncuts ? cuts[k] : len;
		if (stop < start)
			stop = start;
		if (sw_buf_append(&pend, in + start, stop - start) < 0)
			abort();
		start = stop;
		while (pend.len && !sw_srv_conn_closing(c)) {
			sw_guard g;
			const uint8_t *p = sw_guard_copy(&g, pend.data, pend.len);
			ptrdiff_t r = sw_srv_conn_feed(c, p, pend.len);
			sw_guard_free(&g);
			if (r < 0) {
				o->feed_err = (int)r;
				break;
			}
			sw_buf_consume(&pend, (size_t)r);
			size_t before = out->len;
			srv_drain(c, out, o);
			if (r == 0 && out->len == before) {
				o->stuck = true;
				break;
			}
		}
		srv_drain(c, out, o);
	}
	if (eof) {
		o->eof_rv = sw_srv_conn_eof(c);
		srv_drain(c, out, o);
	}
	o->finished = sw_srv_conn_finished(c);
	o->idle = sw_srv_conn_idle(c);
	o->error = sw_srv_conn_error(c);
	o->requests = sw_srv_conn_requests(c);
	sw_buf_fini(&pend);
}

/* One whole exchange through a fresh core: returns the output (malloc'd in
 * *out, caller frees with sw_buf_fini). */
static inline void srv_exchange(const sw_srv_config *cfg, const sw_mem *mem, fake *f,
                                const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                                bool eof, sw_buf *out, srv_outcome *o)
{
	sw_dispatch d = fake_dispatch();
	sw_srv_conn *c = NULL;
	sw_buf_init(out, NULL);
	int rv = sw_srv_conn_new(&c, cfg, &d, f, mem);
	if (rv < 0) {
		memset(o, 0, sizeof *o);
		o->feed_err = rv;
		return;
	}
	srv_drive(c, in, len, cuts, ncuts, eof, out, o);
	sw_srv_conn_del(c);
}

/* A medium that forwards everything to `inner` but names descriptors that
 * are always readable and writable (eventfds whose count is not zero) as
 * its own, one for both directions as a socket, or two as --inet's stdin
 * and stdout: sw_serve_medium then watches them with epoll, as it watches
 * those, and every read and write goes through
 * the fault plans of `inner`.  This drives the polled code path (epoll
 * registration, interest updates, readiness dispatch) through the whole
 * fault matrix.  Stalls cannot be shown this way (the descriptor never
 * stops being ready), and are not. */
typedef struct srv_ready_medium {
	sw_medium base;
	sw_medium *inner;
	int rfd, wfd;
} srv_ready_medium;

static inline ptrdiff_t srv_rm_read(sw_medium *m, void *buf, size_t len)
{
	return sw_medium_read(((srv_ready_medium *)m)->inner, buf, len);
}

static inline ptrdiff_t srv_rm_write(sw_medium *m, const void *buf, size_t len)
{
	return sw_medium_write(((srv_ready_medium *)m)->inner, buf, len);
}

static inline int srv_rm_shutdown(sw_medium *m)
{
	return sw_medium_shutdown_write(((srv_ready_medium *)m)->inner);
}

static inline int srv_rm_wait(sw_medium *m, int timeout_ms)
{
	return sw_medium_wait_readable(((srv_ready_medium *)m)->inner, timeout_ms);
}

static inline void srv_rm_close(sw_medium *m)
{
	srv_ready_medium *r = (srv_ready_medium *)m;
	sw_medium_del(r->inner);
	close(r->rfd);
	if (r->wfd != r->rfd)
		close(r->wfd);
	free(r);
}

static inline int srv_rm_fds(const sw_medium *m, int *rfd, int *wfd)
{
	*rfd = ((const srv_ready_medium *)m)->rfd;
	*wfd = ((const srv_ready_medium *)m)->wfd;
	return 0;
}

static const sw_medium_ops srv_ready_ops = {"ready",         srv_rm_read, srv_rm_write,
                                            srv_rm_shutdown, srv_rm_wait, srv_rm_close,
                                            srv_rm_fds,      NULL,        NULL};

/* Wraps *m (ownership moves) in a srv_ready_medium with `nfds` (1 or 2)
 * descriptors. */
static inline void srv_make_ready(sw_medium **m, int nfds)
{
	srv_ready_medium *r = calloc(1, sizeof *r);
	if (!r)
		abort();
	r->base.ops = &srv_ready_ops;
	r->inner = *m;
	r->rfd = eventfd(1, EFD_CLOEXEC);
	r->wfd = nfds == 2 ? eventfd(1, EFD_CLOEXEC) : r->rfd;
	if (r->rfd < 0 || r->wfd < 0)
		abort();
	*m = &r->base;
}

/* A fifo pump that never produces anything: the client said all it will. */
static inline int srv_no_pump(void *ud)
{
	(void)ud;
	return 0;
}

/* sw_serve_medium over a single-threaded fifo pair: the client endpoint
 * writes the whole request and, if `shut`, shuts down its writing side
 * (else the server's end gets a pump that produces nothing, so that a read
 * past the request says SW_ERR_WOULD_BLOCK instead of waiting); the server
 * serves, and the client then reads what arrived.  `c2s` shapes the
 * client-to-server direction as the server reads it; `srv_write` is a plan
 * for the server's writes (a fault wrapper around its endpoint); `polled`
 * (1 or 2 descriptors; 0: none) wraps the server's end in a
 * srv_ready_medium.  Returns the serve result
 * (res.error holds sw_serve_medium's error if it failed before serving). */
static inline sw_serve_result srv_serve_fifo_ex(const sw_srv_config *cfg, const sw_mem *mem,
                                                fake *f, const uint8_t *in, size_t len,
                                                const sw_fault_plan *c2s,
                                                const sw_fault_plan *srv_write, int polled,
                                                bool shut, sw_buf *out)
{
	sw_serve_result res;
	memset(&res, 0, sizeof res);
	sw_buf_init(out, NULL);
	sw_medium *cli = NULL, *srv = NULL;
	if (sw_fifo_pair(&cli, &srv, c2s, NULL, NULL) < 0)
		abort();
	if (!shut && sw_fifo_set_pump(srv, srv_no_pump, NULL) < 0)
		abort();
	if (srv_write && sw_fault_wrap(&srv, srv, NULL, srv_write) < 0)
		abort();
	if (polled)
		srv_make_ready(&srv, polled);
	size_t w = 0;
	while (w < len) {
		size_t k = 0;
		int rv = sw_medium_write_all(cli, in + w, len - w, &k);
		w += k;
		if (rv < 0 && rv != SW_ERR_WOULD_BLOCK)
			abort();
	}
	if (shut)
		sw_medium_shutdown_write(cli);
	sw_dispatch d = fake_dispatch();
	int rv = sw_serve_medium(cfg, &d, f, srv, &res, mem);
	if (rv < 0)
		res.error = rv;
	sw_medium_del(srv);
	uint8_t buf[4096];
	for (;;) {
		ptrdiff_t n = sw_medium_read(cli, buf, sizeof buf);
		if (n <= 0)
			break;
		if (sw_buf_append(out, buf, (size_t)n) < 0)
			abort();
	}
	sw_medium_del(cli);
	return res;
}

/* Makes a descriptor hold a whole test exchange: 4 MiB of socket buffer
 * (forced, as root, past rmem_max), 1 MiB of pipe. */
static inline void srv_big_buffers(int fd, bool sock)
{
	int sz = 4 << 20;
	if (sock) {
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	} else {
		fcntl(fd, 1031 /* F_SETPIPE_SZ */, 1 << 20);
	}
}

/* sw_serve_medium over real descriptors, which move bodies without copying
 * (smartwire/server.h, "ZERO-COPY BODIES"): `kind` 1 is a socketpair (one
 * descriptor both ways; the medium splices through a pipe of its own), 2
 * two pipes (splice straight from the request pipe; sendfile into the
 * response pipe).  The server's end is an fd medium wrapped in a fault
 * wrapper with `c2s` in its read role and `srv_write` in its write role, so
 * the plans apply to sendfile and splice as they do to read and write; its
 * descriptors are non-blocking (a full one is EAGAIN, never a hang).  The
 * request is written whole and its direction closed before serving (the
 * buffers hold a test's exchange); the answer is read after.  Returns as
 * srv_serve_fifo_ex. */
static inline sw_serve_result srv_serve_zc(const sw_srv_config *cfg, const sw_mem *mem, fake *f,
                                           const uint8_t *in, size_t len, const sw_fault_plan *c2s,
                                           const sw_fault_plan *srv_write, int kind, sw_buf *out)
{
	sw_serve_result res;
	memset(&res, 0, sizeof res);
	sw_buf_init(out, NULL);
	int cw, cr, sr, sw; /* client write/read, server read/write */
	if (kind == 1) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			abort();
		srv_big_buffers(sv[0], true);
		srv_big_buffers(sv[1], true);
		cw = cr = sv[0];
		sr = sw = sv[1];
	} else {
		int a[2], b[2];
		if (pipe(a) < 0 || pipe(b) < 0)
			abort();
		srv_big_buffers(a[1], false);
		srv_big_buffers(b[1], false);
		cw = a[1];
		sr = a[0];
		sw = b[1];
		cr = b[0];
	}
	for (size_t w = 0; w < len;) {
		ssize_t k = write(cw, in + w, len - w);
		if (k <= 0)
			abort();
		w += (size_t)k;
	}
	if (kind == 1)
		shutdown(cw, SHUT_WR);
	else
		close(cw);
	fcntl(sr, F_SETFL, fcntl(sr, F_GETFL) | O_NONBLOCK);
	fcntl(sw, F_SETFL, fcntl(sw, F_GETFL) | O_NONBLOCK);
	sw_medium *srv = NULL;
	if (sw_fd_medium_new(&srv, sr, sw, 0, NULL) < 0 ||
	    sw_fault_wrap(&srv, srv, c2s, srv_write) < 0)
		abort();
	sw_dispatch d = fake_dispatch();
	int rv = sw_serve_medium(cfg, &d, f, srv, &res, mem);
	if (rv < 0)
		res.error = rv;
	sw_medium_del(srv);
	close(sr);
	if (sw != sr)
		close(sw);
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = read(cr, buf, sizeof buf);
		if (n <= 0)
			break;
		if (sw_buf_append(out, buf, (size_t)n) < 0)
			abort();
	}
	close(cr);
	return res;
}

static inline sw_serve_result srv_serve_fifo(const sw_srv_config *cfg, const sw_mem *mem, fake *f,
                                             const uint8_t *in, size_t len,
                                             const sw_fault_plan *c2s,
                                             const sw_fault_plan *srv_write, sw_buf *out)
{
	return srv_serve_fifo_ex(cfg, mem, f, in, len, c2s, srv_write, 0, true, out);
}

#endif
