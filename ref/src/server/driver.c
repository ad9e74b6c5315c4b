/*
 * The connection driver (driver.h): Breezy's SmartServerStreamMedium.serve,
 * _serve_one_request and _wait_on_descriptor for one sw_srv_conn, turned
 * inside out so that an event loop can run many of them.
 *
 * Every call runs rounds of: write what the core has to say (until the
 * medium is full), end if the core is finished, end if stopping between
 * requests, feed input kept from an earlier read (pipelining), and read
 * once if the core wants bytes.  Input is read only when nothing is kept
 * and no output is blocked, so a client that does not read its answers
 * stops being read (backpressure) instead of making us buffer.
 *
 * Time: a connection is idle from the end of an answer until the first byte
 * of the next request, and busy from that byte until its answer is
 * completely WRITTEN; `deadline` is the idle timeout or the request
 * deadline accordingly.  Pipelined requests restart the request clock.
 */
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"

/* Bytes written per call before giving the other connections a turn. */
#define WRITE_SLICE (1u << 20)
/* The most asked of one sendfile / splice (a slice of its own). */
#define SPAN_SLICE (1u << 20)
/* Rounds per call, for the same reason on the reading side. */
#define MAX_ROUNDS 16

void sw__drv_init(sw__drv *v, const sw__drv_cfg *cfg, sw_srv_conn *c, sw_medium *m, bool rpoll,
                  bool wpoll)
{
	memset(v, 0, sizeof *v);
	unsigned zc = sw_medium_zero_copy(m);
	v->zc = ((zc & SW_MEDIUM_SENDFILE) ? SW_SRV_ZC_OUT : 0u) |
	        ((zc & SW_MEDIUM_SPLICE_IN) ? SW_SRV_ZC_IN : 0u);
	sw_srv_conn_set_zero_copy(c, v->zc);
	v->cfg = cfg;
	v->c = c;
	v->m = m;
	v->rpoll = rpoll;
	v->wpoll = wpoll;
	v->busy_since = -1;
	v->idle_since = cfg->idle_ms >= 0 ? sw_clock_ms() : 0;
	v->deadline = cfg->idle_ms >= 0 ? v->idle_since + cfg->idle_ms : INT64_MAX;
	v->want_r = true;
}

static void drop_stash(sw__drv *v)
{
	sw_free(v->cfg->mem, v->stash);
	v->stash = NULL;
	v->soff = v->slen = 0;
}

void sw__drv_fini(sw__drv *v)
{
	drop_stash(v);
	sw_srv_conn_del(v->c);
	v->c = NULL;
}

/* Ends the connection: `why`, with `err` reported in res.error (0 for the
 * time-outs and a stop, which are not failures) and, if `abort_err` is
 * negative, the core aborted with it (a request in progress is cut). */
static void end(sw__drv *v, sw_serve_end why, int err, int abort_err)
{
	if (v->ended)
		return;
	if (abort_err < 0)
		sw_srv_conn_abort(v->c, abort_err);
	v->ended = true;
	v->want_r = v->want_w = false;
	v->res.end = why;
	v->res.error = err;
	v->res.requests = sw_srv_conn_requests(v->c);
	drop_stash(v);
}

/* The core is finished: how did it end? */
static void end_finished(sw__drv *v)
{
	int err = sw_srv_conn_error(v->c);
	if (err == 0)
		end(v, SW_SERVE_EOF, 0, 0);
	else if (err == SW_ERR_UNEXPECTED_EOF)
		end(v, SW_SERVE_EOF_MID_REQUEST, 0, 0);
	else
		end(v, SW_SERVE_PROTOCOL, err, 0);
}

/* Time ran out: the idle timeout between requests (logged, as Breezy's
 * ConnectionTimeout), the request deadline inside one. */
static void expire(sw__drv *v)
{
	if (!sw_srv_conn_idle(v->c) || v->slen || v->want_w) {
		end(v, SW_SERVE_DEADLINE, 0, SW_ERR_TIMEOUT);
		return;
	}
	if (v->cfg->log) {
		char msg[96];
		snprintf(msg, sizeof msg,
		         "Connection Timeout: disconnecting client after %.1f seconds",
		         v->cfg->idle_ms / 1000.0);
		v->cfg->log(v->cfg->log_ud, msg);
	}
	end(v, SW_SERVE_TIMEOUT, 0, SW_ERR_TIMEOUT);
}

/* A side that is not watched said SW_ERR_WOULD_BLOCK once more. */
static void spin(sw__drv *v)
{
	if (++v->spins > SW__DRV_SPIN_LIMIT)
		end(v, SW_SERVE_STALLED, SW_ERR_WOULD_BLOCK, SW_ERR_WOULD_BLOCK);
}

/* Sends the core's output span, if it has one: > 0 bytes sent, 0 none (or
 * nothing can be sent now: want_w), -1 the connection ended; *again when
 * the output may go on (the span moved or turned into copying). */
static ptrdiff_t send_span(sw__drv *v, size_t total, bool *again)
{
	sw_srv_span s;
	*again = false;
	if (!sw_srv_conn_output_span(v->c, &s))
		return 0;
	if (total >= WRITE_SLICE) {
		v->want_w = true;
		return 0;
	}
	size_t len = s.len < SPAN_SLICE ? (size_t)s.len : SPAN_SLICE;
	int src_errno = 0;
	ptrdiff_t r = sw_medium_sendfile(v->m, s.fd, s.off, len, &src_errno);
	if (r > 0 || (r == 0 && src_errno)) {
		v->res.zc_out += r > 0 ? (uint64_t)r : 0;
		sw_srv_conn_output_span_done(v->c, r > 0 ? (uint64_t)r : 0, r > 0 ? 0 : src_errno);
		*again = true;
		return r;
	}
	if (r == SW_ERR_INVALID_ARGUMENT) {
		/* This file and this medium cannot: copy from now on. */
		sw_srv_conn_set_zero_copy(v->c, v->zc & ~SW_SRV_ZC_OUT);
		v->zc &= ~SW_SRV_ZC_OUT;
		*again = true;
		return 0;
	}
	if (r == SW_ERR_WOULD_BLOCK) {
		v->want_w = true;
		if (!v->wpoll && total == 0)
			spin(v);
		return v->ended ? -1 : 0;
	}
	int err = r < 0 ? (int)r : SW_ERR_IO;
	end(v, SW_SERVE_IO, err, err);
	return -1;
}

/* Writes queued output.  Returns 1 if bytes were written, 0 if not, -1 if
 * the connection ended.  Sets want_w when output remains and the medium is
 * full (or the slice is used). */
static int write_out(sw__drv *v)
{
	size_t total = 0;
	v->want_w = false;
	for (;;) {
		const uint8_t *p;
		size_t n;
		sw_srv_conn_output(v->c, &p, &n);
		if (n == 0 && (v->zc & SW_SRV_ZC_OUT)) {
			bool again;
			ptrdiff_t r = send_span(v, total, &again);
			if (r < 0)
				return -1;
			if (r > 0) {
				v->res.bytes_out += (uint64_t)r;
				total += (size_t)r;
			}
			if (again)
				continue;
			return total > 0;
		}
		if (n == 0)
			return total > 0;
		if (total >= WRITE_SLICE) {
			v->want_w = true;
			return 1;
		}
		ptrdiff_t r = sw_medium_write(v->m, p, n);
		if (r > 0) {
			sw_srv_conn_output_done(v->c, (size_t)r);
			v->res.bytes_out += (uint64_t)r;
			total += (size_t)r;
			continue;
		}
		if (r == SW_ERR_WOULD_BLOCK) {
			v->want_w = true;
			if (!v->wpoll && total == 0)
				spin(v);
			return v->ended ? -1 : total > 0;
		}
		/* The peer is gone or the write failed (a medium never takes 0
		 * bytes of a non-empty write; count it as a failure if one does). */
		int err = r < 0 ? (int)r : SW_ERR_IO;
		end(v, SW_SERVE_IO, err, err);
		return -1;
	}
}

/* Feeds p[0..n) as far as the core takes it; returns the count taken.
 * When stopping, input is fed no further than the core asks for
 * (next_read_size never reaches past the current request), so that a
 * pipelined request behind the one in flight is never started. */
static size_t feed(sw__drv *v, const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off < n && !sw_srv_conn_closing(v->c)) {
		size_t len = n - off;
		if (v->stopping) {
			if (sw_srv_conn_idle(v->c))
				break;
			size_t want = sw_srv_conn_next_read_size(v->c);
			if (want && want < len)
				len = want;
		}
		ptrdiff_t r = sw_srv_conn_feed(v->c, p + off, len);
		if (r <= 0)
			break; /* 0: response pending; < 0: closing, answer queued */
		off += (size_t)r;
	}
	return off;
}

/* Keeps the input the core did not take.  Out of memory closes the core
 * (it then ends as SW_SERVE_PROTOCOL with SW_ERR_NOMEM, as a failure of
 * its own allocations does). */
static void keep(sw__drv *v, const uint8_t *p, size_t n)
{
	uint8_t *s = sw_malloc(v->cfg->mem, n);
	if (!s) {
		sw_srv_conn_abort(v->c, SW_ERR_NOMEM);
		return;
	}
	memcpy(s, p, n);
	v->stash = s;
	v->soff = 0;
	v->slen = n;
}

static bool wants_read(const sw__drv *v)
{
	return !v->ended && !v->rd_eof && v->slen == 0 && !v->want_w &&
	       !sw_srv_conn_closing(v->c) && sw_srv_conn_next_read_size(v->c) > 0;
}

/* Updates want_r and the deadline after a call.  The clock is read only
 * when a state with a time limit begins (a serve loop over a fifo calls
 * this once per piece read, and without limits, as the fuzz targets run,
 * never needs it): a state without one records 0 as its start. */
static void update(sw__drv *v)
{
	v->want_r = wants_read(v);
	uint64_t reqs = sw_srv_conn_requests(v->c);
	bool busy = !sw_srv_conn_idle(v->c) || v->want_w || v->slen;
	if (busy) {
		if (v->busy_since < 0 || reqs != v->reqs_seen)
			v->busy_since = v->cfg->req_ms > 0 ? sw_clock_ms() : 0;
		v->idle_since = -1;
	} else {
		if (v->idle_since < 0)
			v->idle_since = v->cfg->idle_ms >= 0 ? sw_clock_ms() : 0;
		v->busy_since = -1;
	}
	v->reqs_seen = reqs;
	if (busy)
		v->deadline = v->cfg->req_ms > 0 ? v->busy_since + v->cfg->req_ms : INT64_MAX;
	else
		v->deadline = v->cfg->idle_ms >= 0 ? v->idle_since + v->cfg->idle_ms : INT64_MAX;
}

/* Waits for an unwatched side to become readable.  Returns 1 to try a
 * read, 0 when it is not readable now, -1 when the connection ended. */
static int wait_unwatched(sw__drv *v, bool may_block)
{
	int left = 0;
	if (may_block) {
		update(v); /* the deadline of the state we are in now */
		left = v->deadline == INT64_MAX ? -1 : sw_deadline_left(v->deadline);
	}
	int rv = sw_medium_wait_readable(v->m, left);
	if (rv == SW_ERR_TIMEOUT) {
		if (!may_block)
			return 0; /* only looked; the real clock decides */
		expire(v);
		return -1;
	}
	if (rv < 0 && rv != SW_ERR_WOULD_BLOCK) {
		end(v, SW_SERVE_IO, rv, rv);
		return -1;
	}
	return 1; /* readable, or a medium that cannot wait: just try */
}

/* The request body's next bytes straight into the handler's sink, when the
 * core has one (all input read before was fed: read_in runs only then).
 * Returns as read_in, or 3 when there is no sink (read as usual). */
static int splice_in(sw__drv *v, size_t room)
{
	sw_srv_span s;
	if (!sw_srv_conn_input_span(v->c, &s))
		return sw_srv_conn_closing(v->c) ? 1 : 3;
	size_t len = s.len < SPAN_SLICE ? (size_t)s.len : SPAN_SLICE;
	if (v->cfg->pipe_exact && len > room)
		len = room;
	int sink_errno = 0;
	ptrdiff_t n = sw_medium_splice_in(v->m, s.fd, len, &sink_errno);
	if (n > 0 || (n == 0 && sink_errno)) {
		v->res.bytes_in += (uint64_t)n;
		v->res.zc_in += (uint64_t)n;
		sw_srv_conn_input_span_done(v->c, (uint64_t)n, sink_errno);
		return v->rpoll && (size_t)n < len ? 2 : 1;
	}
	sw_srv_conn_input_span_done(v->c, 0, 0);
	if (n == SW_ERR_INVALID_ARGUMENT) {
		/* This medium and this sink cannot: copy from now on. */
		sw_srv_conn_set_zero_copy(v->c, v->zc & ~SW_SRV_ZC_IN);
		v->zc &= ~SW_SRV_ZC_IN;
		return 3;
	}
	if (n == 0) {
		v->rd_eof = true;
		sw_srv_conn_eof(v->c);
		return 1;
	}
	if (n == SW_ERR_WOULD_BLOCK) {
		if (!v->rpoll)
			spin(v);
		return v->ended ? -1 : 0;
	}
	end(v, SW_SERVE_IO, (int)n, (int)n);
	return -1;
}

/* Reads once and feeds.  Returns 1 on progress, 0 when nothing can be read
 * now, -1 when the connection ended. */
static int read_in(sw__drv *v, uint8_t *buf, size_t cap, bool may_block)
{
	if (!v->rpoll) {
		int w = wait_unwatched(v, may_block);
		if (w <= 0)
			return w;
	}
	size_t room = cap;
	if (v->cfg->pipe_exact) {
		size_t want = sw_srv_conn_next_read_size(v->c);
		if (want < room)
			room = want;
	}
	if (v->zc & SW_SRV_ZC_IN) {
		int rv = splice_in(v, room);
		if (rv != 3)
			return rv;
	}
	ptrdiff_t n = sw_medium_read(v->m, buf, room);
	if (n > 0) {
		v->res.bytes_in += (uint64_t)n;
		size_t t = feed(v, buf, (size_t)n);
		if (t < (size_t)n && !sw_srv_conn_closing(v->c))
			keep(v, buf + t, (size_t)n - t);
		/* A short read drained a watched descriptor: another read would
		 * only say EAGAIN, and the level-triggered poll reports anything
		 * that arrives later. */
		return v->rpoll && (size_t)n < room ? 2 : 1;
	}
	if (n == 0) {
		/* End of stream (or ECONNRESET/EPIPE/EINVAL, as Breezy): the core
		 * aborts a request in progress; the answer in progress, if any,
		 * is still written. */
		v->rd_eof = true;
		sw_srv_conn_eof(v->c);
		return 1;
	}
	if (n == SW_ERR_WOULD_BLOCK) {
		if (!v->rpoll)
			spin(v);
		return v->ended ? -1 : 0;
	}
	end(v, SW_SERVE_IO, (int)n, (int)n);
	return -1;
}

void sw__drv_run(sw__drv *v, bool readable, uint8_t *buf, size_t cap, bool may_block)
{
	v->progressed = false;
	if (v->ended)
		return;
	bool rd = readable || !v->rpoll;
	int round;
	for (round = 0; round < MAX_ROUNDS; round++) {
		bool progress = false;
		int rv = write_out(v);
		if (rv < 0)
			return;
		progress |= rv > 0;
		if (!v->want_w && sw_srv_conn_finished(v->c)) {
			end_finished(v);
			v->progressed = true;
			return;
		}
		if (v->stopping && !v->want_w && sw_srv_conn_idle(v->c)) {
			end(v, SW_SERVE_STOPPED, 0, 0);
			v->progressed = true;
			return;
		}
		if (v->want_w)
			break; /* backpressure: no new input until this is written */
		if (v->slen) {
			size_t t = feed(v, v->stash + v->soff, v->slen);
			v->soff += t;
			v->slen -= t;
			if (sw_srv_conn_closing(v->c) || v->slen == 0)
				drop_stash(v);
			if (t) {
				v->spins = 0;
				v->progressed = true;
				continue;
			}
		}
		if (rd && wants_read(v)) {
			rv = read_in(v, buf, cap, may_block);
			if (rv < 0)
				return;
			if (rv == 0 || rv == 2)
				rd = false;
			progress |= rv > 0;
		}
		if (!progress)
			break;
		v->spins = 0;
		v->progressed = true;
	}
	if (round == MAX_ROUNDS) {
		/* Out of turns with work possibly left (output queued by the last
		 * feed): come back after the other connections had theirs. */
		v->want_w = true;
	}
	if (!v->want_w && !wants_read(v)) {
		/* Nothing to write, no input wanted, not finished: a closing
		 * core (end of stream, an error) has nothing more to say;
		 * otherwise its contract broke (it takes no input and produces
		 * none).  Either way there is nothing to wait for. */
		if (sw_srv_conn_closing(v->c))
			end_finished(v);
		else
			end(v, SW_SERVE_PROTOCOL, SW_ERR_STATE, SW_ERR_STATE);
		return;
	}
	update(v);
}

void sw__drv_stop(sw__drv *v, int level)
{
	if (v->ended)
		return;
	v->stopping = true;
	if (level >= 2)
		end(v, SW_SERVE_STOPPED, 0, SW_ERR_CLOSED);
	else if (!v->want_w && sw_srv_conn_idle(v->c))
		end(v, SW_SERVE_STOPPED, 0, 0);
}

void sw__drv_check_deadline(sw__drv *v, int64_t now)
{
	if (!v->ended && v->deadline <= now)
		expire(v);
}
