/*
 * The serve loop: one sw_srv_conn over one medium (Breezy's
 * SmartServerStreamMedium.serve, _build_protocol, _serve_one_request and
 * _wait_on_descriptor).  See smartwire/server.h.
 *
 * Order of work in every turn: feed the bytes already read (so pipelined
 * requests are answered without waiting, unlike Breezy), write everything
 * the core produced (the core pulls response bodies as the queue drains),
 * stop if the core is finished, otherwise wait for input - bounded by the
 * idle timeout between requests, by the request deadline inside one - and
 * read.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server_impl.h"
#include "smartwire/error.h"

/* Consecutive SW_ERR_WOULD_BLOCK results tolerated from a medium that
 * offers no way to wait (a fifo, a fault plan's EAGAIN bursts) before the
 * loop gives up with SW_SERVE_STALLED. */
#define SPIN_LIMIT 100000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct loop {
	sw_srv_conn *c;
	sw_medium *m;
	sw_serve_result *res;
	uint8_t *buf;
	size_t cap, off, len; /* unconsumed input is buf[off .. off+len) */
	int64_t req_start;    /* when the current request's first byte was fed, or -1 */
} loop;

/* Waits until the medium can take more output, when it has a descriptor. */
static void wait_writable(sw_medium *m)
{
	int wfd = -1;
	if (sw_medium_fds(m, NULL, &wfd) == 0 && wfd >= 0) {
		struct pollfd p = {.fd = wfd, .events = POLLOUT};
		(void)poll(&p, 1, 1000);
	}
}

/* Writes everything the core has to say.  Returns 0 or a negative sw_err. */
static int flush(loop *l)
{
	int spins = 0;
	for (;;) {
		const uint8_t *p;
		size_t n;
		sw_srv_conn_output(l->c, &p, &n);
		if (n == 0)
			return 0;
		size_t w = 0;
		int rv = sw_medium_write_all(l->m, p, n, &w);
		sw_srv_conn_output_done(l->c, w);
		l->res->bytes_out += w;
		if (rv == SW_ERR_WOULD_BLOCK) {
			if (w)
				spins = 0;
			if (++spins > SPIN_LIMIT)
				return rv;
			wait_writable(l->m);
			continue;
		}
		if (rv < 0)
			return rv;
		spins = 0;
	}
}

/* Feeds the buffered input as far as the core takes it. */
static int feed(loop *l)
{
	while (l->len) {
		ptrdiff_t r = sw_srv_conn_feed(l->c, l->buf + l->off, l->len);
		if (r < 0)
			return (int)r;
		if (r == 0)
			break;
		l->off += (size_t)r;
		l->len -= (size_t)r;
		if (!sw_srv_conn_idle(l->c) && l->req_start < 0)
			l->req_start = now_ms();
		if (sw_srv_conn_idle(l->c))
			l->req_start = -1;
	}
	if (l->len == 0)
		l->off = 0;
	return 0;
}

static int end(loop *l, sw_serve_end why, int err)
{
	l->res->end = why;
	l->res->error = err;
	l->res->requests = sw_srv_conn_requests(l->c);
	return (int)why;
}

/* Waits for input.  Returns 1 when readable (or worth a read attempt), or
 * the serve end reason as a negative number - 1. */
static int wait_input(loop *l)
{
	const sw_srv_config *cfg = &l->c->cfg;
	bool idle = sw_srv_conn_idle(l->c);
	int timeout = -1;
	if (idle) {
		timeout = cfg->idle_timeout_ms < 0 ? -1 : cfg->idle_timeout_ms;
	} else if (cfg->request_timeout_ms > 0 && l->req_start >= 0) {
		int64_t left = l->req_start + cfg->request_timeout_ms - now_ms();
		timeout = left < 0 ? 0 : (int)left;
	}
	int rv = sw_medium_wait_readable(l->m, timeout);
	if (rv == SW_ERR_TIMEOUT) {
		if (idle) {
			if (cfg->log) {
				char msg[96];
				snprintf(msg, sizeof msg,
				         "Connection Timeout: disconnecting client after %.1f seconds",
				         cfg->idle_timeout_ms / 1000.0);
				cfg->log(cfg->log_ud, msg);
			}
			return -1 - SW_SERVE_TIMEOUT;
		}
		return -1 - SW_SERVE_DEADLINE;
	}
	if (rv < 0 && rv != SW_ERR_WOULD_BLOCK)
		return -1 - SW_SERVE_IO;
	return 1; /* readable, or a medium that cannot wait: just try */
}

int sw_serve_medium(sw_srv_conn *c, sw_medium *m, sw_serve_result *res)
{
	sw_serve_result dummy;
	if (!c || !m)
		return SW_ERR_INVALID_ARGUMENT;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	loop l = {.c = c, .m = m, .res = res, .cap = c->cfg.read_size, .req_start = -1};
	if (!(l.buf = sw_malloc(c->mem, l.cap)))
		return SW_ERR_NOMEM;
	int spins = 0, zero = 0, rv, why;
	for (;;) {
		size_t before = l.len;
		rv = feed(&l);
		if (l.len != before)
			zero = 0;
		if (rv < 0 && !sw_srv_conn_closing(c)) {
			why = end(&l, SW_SERVE_PROTOCOL, rv);
			break;
		}
		if ((rv = flush(&l)) < 0) {
			sw_srv_conn_abort(c, rv);
			why = end(&l, rv == SW_ERR_WOULD_BLOCK ? SW_SERVE_STALLED : SW_SERVE_IO, rv);
			break;
		}
		if (sw_srv_conn_finished(c)) {
			int err = sw_srv_conn_error(c);
			if (err == 0)
				why = end(&l, SW_SERVE_EOF, 0);
			else if (err == SW_ERR_UNEXPECTED_EOF)
				why = end(&l, SW_SERVE_EOF_MID_REQUEST, 0);
			else
				why = end(&l, SW_SERVE_PROTOCOL, err);
			break;
		}
		size_t want = sw_srv_conn_next_read_size(c);
		if (l.len && want) {
			/* Buffered input the core could not take while it was
			 * answering (pipelined requests): feed it before reading. */
			if (++zero > 2) {
				sw_srv_conn_abort(c, SW_ERR_STATE);
				why = end(&l, SW_SERVE_PROTOCOL, SW_ERR_STATE);
				break;
			}
			continue;
		}
		if (want == 0) {
			/* flush() drained everything and the core is not finished,
			 * yet takes no input: cannot happen unless its contract
			 * broke; do not spin. */
			if (++zero > 2) {
				sw_srv_conn_abort(c, SW_ERR_STATE);
				why = end(&l, SW_SERVE_PROTOCOL, SW_ERR_STATE);
				break;
			}
			continue;
		}
		zero = 0;
		int w = wait_input(&l);
		if (w < 0) {
			why = -1 - w;
			sw_srv_conn_abort(c, why == SW_SERVE_IO ? SW_ERR_IO : SW_ERR_TIMEOUT);
			why = end(&l, (sw_serve_end)why, why == SW_SERVE_IO ? SW_ERR_IO : 0);
			break;
		}
		if (l.off && l.len)
			memmove(l.buf, l.buf + l.off, l.len);
		l.off = 0;
		size_t room = l.cap - l.len;
		if (c->cfg.pipe_exact && want < room)
			room = want;
		ptrdiff_t n = sw_medium_read(m, l.buf + l.len, room);
		if (n == SW_ERR_WOULD_BLOCK) {
			if (++spins > SPIN_LIMIT) {
				sw_srv_conn_abort(c, SW_ERR_WOULD_BLOCK);
				why = end(&l, SW_SERVE_STALLED, SW_ERR_WOULD_BLOCK);
				break;
			}
			continue;
		}
		spins = 0;
		if (n < 0) {
			sw_srv_conn_abort(c, (int)n);
			why = end(&l, SW_SERVE_IO, (int)n);
			break;
		}
		if (n == 0) {
			sw_srv_conn_eof(c); /* the loop then drains output and ends */
			continue;
		}
		l.len += (size_t)n;
		res->bytes_in += (uint64_t)n;
	}
	sw_free(c->mem, l.buf);
	return why;
}
