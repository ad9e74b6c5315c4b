/*
 * One connection of the multi-connection server (smartwire/daemon.h): a
 * sw_srv_conn over a non-blocking descriptor pair, driven by readiness.
 *
 * Every drive runs rounds of: write what the core has to say (until the
 * descriptor is full), close if the core is finished, close if stopping and
 * between requests, feed input kept from an earlier read (pipelining), and
 * read once if the core wants bytes.  Input is read only when nothing is
 * kept and no output is blocked, so a client that does not read its answers
 * stops being read (backpressure) instead of making us buffer.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "smartwire/error.h"

/* Bytes written for one connection per drive before giving the others a
 * turn (level-triggered EPOLLOUT brings it back at once). */
#define WRITE_SLICE (1u << 20)
/* Rounds per drive, for the same reason on the reading side. */
#define MAX_ROUNDS 16

static int set_nonblock(int fd, int *old)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return SW_ERR_IO;
	if (old)
		*old = fl;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return SW_ERR_IO;
	return 0;
}

/* Registers `fd` with events `ev`; false if epoll cannot watch it (regular
 * files, /dev/null: EPERM), which makes it "always ready". */
static int reg(sw__dworker *w, int fd, uint32_t ev, sw__dtag *t, bool *polled)
{
	struct epoll_event e = {.events = ev, .data.ptr = t};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) == 0) {
		*polled = true;
		return 0;
	}
	if (errno == EPERM) {
		*polled = false;
		return 0;
	}
	return SW_ERR_IO;
}

int sw__dconn_new(sw__dworker *w, int rfd, int wfd, bool own, bool restore)
{
	sw_daemon *d = w->d;
	sw__dconn *k = sw_malloc(d->mem, sizeof *k);
	if (!k)
		return SW_ERR_NOMEM;
	memset(k, 0, sizeof *k);
	k->w = w;
	k->rfd = rfd;
	k->wfd = wfd;
	k->rfl = k->wfl = -1;
	k->own = own;
	k->same = rfd == wfd;
	k->busy_since = -1;
	k->idle_since = sw__dnow();
	k->deadline = d->idle_ms >= 0 ? k->idle_since + d->idle_ms : INT64_MAX;
	struct stat st;
	k->wsock = fstat(wfd, &st) == 0 && S_ISSOCK(st.st_mode);
	int rv = set_nonblock(rfd, restore ? &k->rfl : NULL);
	if (rv == 0 && !k->same)
		rv = set_nonblock(wfd, restore ? &k->wfl : NULL);
	if (rv == 0)
		rv = sw_srv_conn_new(&k->c, &d->cfg.srv, &d->disp, w->ud, d->mem);
	if (rv == 0) {
		k->tr = (sw__dtag){.kind = k->same ? T_RW : T_RD, .obj = k};
		k->tw = (sw__dtag){.kind = T_WR, .obj = k};
		k->rmask = EPOLLIN;
		rv = reg(w, rfd, EPOLLIN, &k->tr, &k->rpoll);
		if (rv == 0 && !k->same) {
			rv = reg(w, wfd, 0, &k->tw, &k->wpoll);
			if (rv < 0 && k->rpoll)
				epoll_ctl(w->ep, EPOLL_CTL_DEL, rfd, NULL);
		} else {
			k->wpoll = k->rpoll;
		}
	}
	if (rv < 0) {
		sw_srv_conn_del(k->c);
		if (k->rfl >= 0)
			fcntl(rfd, F_SETFL, k->rfl);
		if (k->wfl >= 0)
			fcntl(wfd, F_SETFL, k->wfl);
		sw_free(d->mem, k);
		return rv;
	}
	k->spin = !k->rpoll; /* an unpollable reader is read at once */
	if (k->spin)
		w->nspin++;
	k->next = w->head;
	if (w->head)
		w->head->prev = k;
	w->head = k;
	if (k->deadline < w->next_sweep)
		w->next_sweep = k->deadline;
	return 0;
}

void sw__dconn_close(sw__dconn *k, int why, int err)
{
	if (k->closed)
		return;
	sw__dworker *w = k->w;
	sw_daemon *d = w->d;
	k->closed = true;
	if (err < 0)
		sw_srv_conn_abort(k->c, err);
	atomic_fetch_add(&d->requests, sw_srv_conn_requests(k->c));
	atomic_fetch_add(&d->ended[why], 1);
	sw_srv_conn_del(k->c);
	k->c = NULL;
	if (k->rpoll)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, k->rfd, NULL);
	if (k->wpoll && !k->same)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, k->wfd, NULL);
	if (k->rfl >= 0)
		fcntl(k->rfd, F_SETFL, k->rfl);
	if (k->wfl >= 0)
		fcntl(k->wfd, F_SETFL, k->wfl);
	if (k->own) {
		close(k->rfd);
		if (!k->same)
			close(k->wfd);
	}
	if (k->spin)
		w->nspin--;
	k->spin = false;
	sw_free(d->mem, k->stash);
	k->stash = NULL;
	k->slen = 0;
	if (k->prev)
		k->prev->next = k->next;
	else
		w->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->dead_next = w->dead;
	w->dead = k;
	atomic_fetch_sub(&d->active, 1);
}

void sw__dworker_reap(sw__dworker *w)
{
	while (w->dead) {
		sw__dconn *k = w->dead;
		w->dead = k->dead_next;
		sw_free(w->d->mem, k);
	}
}

static ssize_t out_write(sw__dconn *k, const void *p, size_t n)
{
	if (k->wsock)
		return send(k->wfd, p, n, MSG_NOSIGNAL);
	return write(k->wfd, p, n);
}

/* Writes queued output.  Returns 1 if bytes were written, 0 if not, or a
 * negative sw_err (the peer is gone or the write failed).  Sets want_w
 * when output remains and the descriptor is full (or the slice is used). */
static int write_out(sw__dconn *k)
{
	size_t total = 0;
	k->want_w = false;
	for (;;) {
		const uint8_t *p;
		size_t n;
		sw_srv_conn_output(k->c, &p, &n);
		if (n == 0)
			return total > 0;
		if (total >= WRITE_SLICE) {
			k->want_w = true;
			return 1;
		}
		ssize_t r = out_write(k, p, n);
		if (r > 0) {
			sw_srv_conn_output_done(k->c, (size_t)r);
			total += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			k->want_w = true;
			return total > 0;
		}
		if (r < 0 && (errno == EPIPE || errno == ECONNRESET || errno == EINVAL))
			return SW_ERR_CONNECTION_RESET;
		return SW_ERR_IO;
	}
}

/* Feeds p[0..n) as far as the core takes it; returns the count taken.
 * When stopping, input is fed no further than the core asks for
 * (next_read_size never reaches past the current request), so that a
 * pipelined request behind the one in flight is never started. */
static size_t feed(sw__dconn *k, const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off < n && !sw_srv_conn_closing(k->c)) {
		size_t len = n - off;
		if (k->stopping) {
			if (sw_srv_conn_idle(k->c))
				break;
			size_t want = sw_srv_conn_next_read_size(k->c);
			if (want && want < len)
				len = want;
		}
		ptrdiff_t r = sw_srv_conn_feed(k->c, p + off, len);
		if (r <= 0)
			break; /* 0: response pending; < 0: closing, answer queued */
		off += (size_t)r;
	}
	return off;
}

/* Keeps the input the core did not take. */
static int keep(sw__dconn *k, const uint8_t *p, size_t n)
{
	uint8_t *s = sw_malloc(k->w->d->mem, n);
	if (!s)
		return SW_ERR_NOMEM;
	memcpy(s, p, n);
	k->stash = s;
	k->soff = 0;
	k->slen = n;
	return 0;
}

static bool wants_read(const sw__dconn *k)
{
	return !k->rd_eof && k->slen == 0 && !k->want_w && !sw_srv_conn_closing(k->c) &&
	       sw_srv_conn_next_read_size(k->c) > 0;
}

/* Updates epoll interest, the spin flag and the deadline. */
static void update(sw__dconn *k)
{
	sw__dworker *w = k->w;
	sw_daemon *d = w->d;
	bool r = wants_read(k), wr = k->want_w;
	if (k->same) {
		uint32_t m = (r ? EPOLLIN : 0) | (wr ? EPOLLOUT : 0);
		if (k->rpoll && m != k->rmask) {
			struct epoll_event e = {.events = m, .data.ptr = &k->tr};
			epoll_ctl(w->ep, EPOLL_CTL_MOD, k->rfd, &e);
			k->rmask = m;
		}
	} else {
		uint32_t m = r ? EPOLLIN : 0;
		if (k->rpoll && m != k->rmask) {
			struct epoll_event e = {.events = m, .data.ptr = &k->tr};
			epoll_ctl(w->ep, EPOLL_CTL_MOD, k->rfd, &e);
			k->rmask = m;
		}
		m = wr ? EPOLLOUT : 0;
		if (k->wpoll && m != k->wmask) {
			struct epoll_event e = {.events = m, .data.ptr = &k->tw};
			epoll_ctl(w->ep, EPOLL_CTL_MOD, k->wfd, &e);
			k->wmask = m;
		}
	}
	bool spin = (!k->rpoll && r) || (!k->wpoll && wr);
	if (spin != k->spin) {
		w->nspin += spin ? 1 : (size_t)-1;
		k->spin = spin;
	}
	/* Busy from the first byte of a request until its answer is written;
	 * a new request (pipelined) restarts the clock. */
	int64_t now = sw__dnow();
	uint64_t reqs = sw_srv_conn_requests(k->c);
	bool busy = !sw_srv_conn_idle(k->c) || k->want_w || k->slen;
	if (busy) {
		if (k->busy_since < 0 || reqs != k->reqs_seen)
			k->busy_since = now;
		k->idle_since = -1;
	} else {
		if (k->idle_since < 0)
			k->idle_since = now;
		k->busy_since = -1;
	}
	k->reqs_seen = reqs;
	if (busy)
		k->deadline = d->req_ms > 0 ? k->busy_since + d->req_ms : INT64_MAX;
	else
		k->deadline = d->idle_ms >= 0 ? k->idle_since + d->idle_ms : INT64_MAX;
	if (k->deadline < w->next_sweep)
		w->next_sweep = k->deadline;
}

static int end_reason(const sw__dconn *k)
{
	int err = sw_srv_conn_error(k->c);
	return err == 0 || err == SW_ERR_UNEXPECTED_EOF ? END_EOF : END_PROTOCOL;
}

void sw__dconn_drive(sw__dconn *k, bool rd)
{
	sw__dworker *w = k->w;
	if (k->closed)
		return;
	int round;
	for (round = 0; round < MAX_ROUNDS; round++) {
		bool progress = false;
		int rv = write_out(k);
		if (rv < 0) {
			sw__dconn_close(k, END_IO, rv);
			return;
		}
		progress |= rv > 0;
		if (!k->want_w && sw_srv_conn_finished(k->c)) {
			sw__dconn_close(k, end_reason(k), 0);
			return;
		}
		if (k->stopping && !k->want_w && sw_srv_conn_idle(k->c)) {
			sw__dconn_close(k, END_STOP, 0);
			return;
		}
		if (k->want_w)
			break; /* backpressure: no new input until this is written */
		if (k->slen) {
			size_t t = feed(k, k->stash + k->soff, k->slen);
			k->soff += t;
			k->slen -= t;
			if (sw_srv_conn_closing(k->c))
				k->slen = 0;
			if (k->slen == 0) {
				sw_free(w->d->mem, k->stash);
				k->stash = NULL;
			}
			if (t)
				continue;
		}
		if (rd && wants_read(k)) {
			ssize_t n = read(k->rfd, w->buf, SW_DAEMON_READ_BUF);
			if (n > 0) {
				size_t t = feed(k, w->buf, (size_t)n);
				if (t < (size_t)n && !sw_srv_conn_closing(k->c) &&
				    keep(k, w->buf + t, (size_t)n - t) < 0) {
					sw__dconn_close(k, END_IO, SW_ERR_NOMEM);
					return;
				}
				progress = true;
				/* A short read drained a polled descriptor: another
				 * read would only say EAGAIN, and the level-triggered
				 * poll reports anything that arrives later. */
				if (k->rpoll && (size_t)n < SW_DAEMON_READ_BUF)
					rd = false;
			} else if (n == 0 || errno == ECONNRESET || errno == EPIPE || errno == EINVAL) {
				/* Breezy counts these errors as end of stream too. */
				k->rd_eof = true;
				sw_srv_conn_eof(k->c);
				progress = true;
			} else if (errno == EINTR) {
				progress = true;
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rd = false;
			} else {
				sw__dconn_close(k, END_IO, SW_ERR_IO);
				return;
			}
		}
		if (!progress)
			break;
	}
	if (round == MAX_ROUNDS) {
		/* Out of turns with work possibly left (output queued by the last
		 * feed): ask for EPOLLOUT, which fires at once, to come back after
		 * the other connections had their turn. */
		k->want_w = true;
	}
	/* Nothing to write, nothing to read, not finished: the core's contract
	 * broke (it takes no input and produces none).  Do not spin on it. */
	if (!k->want_w && !wants_read(k) && !k->rd_eof && k->slen == 0 &&
	    !sw_srv_conn_closing(k->c) && sw_srv_conn_next_read_size(k->c) == 0) {
		sw__dconn_close(k, END_PROTOCOL, SW_ERR_STATE);
		return;
	}
	if (k->rd_eof && !k->want_w && !sw_srv_conn_finished(k->c) && k->slen == 0 &&
	    sw_srv_conn_closing(k->c)) {
		/* closing with nothing more to write */
		sw__dconn_close(k, end_reason(k), 0);
		return;
	}
	update(k);
}

void sw__dconn_stop(sw__dconn *k, int level)
{
	if (k->closed)
		return;
	k->stopping = true;
	if (level >= 2 || (!k->want_w && sw_srv_conn_idle(k->c)))
		sw__dconn_close(k, END_STOP, level >= 2 ? SW_ERR_CLOSED : 0);
}

int64_t sw__dconn_check_deadline(sw__dconn *k, int64_t now)
{
	if (k->closed)
		return INT64_MAX;
	if (k->deadline > now)
		return k->deadline;
	if (k->busy_since < 0) {
		char msg[96];
		snprintf(msg, sizeof msg, "Connection Timeout: disconnecting client after %.1f seconds",
		         k->w->d->idle_ms / 1000.0);
		sw__dlog(k->w->d, msg);
		sw__dconn_close(k, END_TIMEOUT, SW_ERR_TIMEOUT);
	} else {
		sw__dconn_close(k, END_DEADLINE, SW_ERR_TIMEOUT);
	}
	return INT64_MAX;
}
