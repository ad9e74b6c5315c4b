/*
 * One worker of the multi-connection server (smartwire/daemon.h): an epoll
 * loop over the connections it owns and the listening sockets it shares.
 * It accepts (under max_connections), admits media, watches each
 * connection's descriptors with the interest its driver asks for, runs the
 * drivers (driver.c) when their descriptors are ready or, for sides epoll
 * cannot watch, on every pass, sweeps deadlines only when the nearest one
 * is due, applies stop requests, and accounts for how connections ended.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"

#define ACCEPT_BATCH 16
#define LISTEN_PAUSE_MS 100 /* after EMFILE and friends */
#define MAX_EVENTS 64

static void dlog(sw_daemon *d, const char *msg)
{
	if (d->cfg.srv.log)
		d->cfg.srv.log(d->cfg.srv.log_ud, msg);
}

int sw__worker_init(sw__dworker *w, sw_daemon *d, unsigned id, void *ud)
{
	memset(w, 0, sizeof *w);
	w->d = d;
	w->id = id;
	w->ud = ud;
	w->ep = w->efd = -1;
	w->next_sweep = INT64_MAX;
	if (!(w->buf = sw_malloc(d->mem, d->cfg.srv.read_size)))
		return SW_ERR_NOMEM;
	if (!d->poll)
		return 0;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->twake = (sw__dtag){.kind = T_WAKE};
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->twake};
	if (w->ep < 0 || w->efd < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->efd, &e) < 0)
		return SW_ERR_IO;
	return 0;
}

static void reap(sw__dworker *w)
{
	while (w->dead) {
		sw__dconn *k = w->dead;
		w->dead = k->dead_next;
		sw_free(w->d->mem, k);
	}
}

void sw__worker_fini(sw__dworker *w)
{
	if (!w->d)
		return; /* never set up */
	sw__worker_close_all(w);
	if (w->ep >= 0)
		close(w->ep);
	if (w->efd >= 0)
		close(w->efd);
	sw_free(w->d->mem, w->buf);
	w->buf = NULL;
	w->ep = w->efd = -1;
}

int sw__worker_listen(sw__dworker *w, sw__dtag *t)
{
	struct epoll_event e = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = t};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, t->fd, &e) == 0)
		return 0;
	e.events = EPOLLIN; /* kernels before 4.5: every worker wakes */
	return epoll_ctl(w->ep, EPOLL_CTL_ADD, t->fd, &e) == 0 ? 0 : SW_ERR_IO;
}

static void drop_listeners(sw__dworker *w)
{
	for (size_t i = 0; i < w->d->nl; i++)
		epoll_ctl(w->ep, EPOLL_CTL_DEL, w->d->ltag[i].fd, NULL);
	w->listening = false;
}

bool sw__worker_take_slot(sw_daemon *d)
{
	uint64_t was = atomic_fetch_add(&d->active, 1);
	if (was >= d->cfg.max_connections) {
		atomic_fetch_sub(&d->active, 1);
		return false;
	}
	return true;
}

/* ---- Admitting and closing ------------------------------------------ */

/* Makes `fd` non-blocking; *set tells whether we changed it. */
static int set_nonblock(int fd, bool *set)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return SW_ERR_IO;
	*set = !(fl & O_NONBLOCK);
	if (*set && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		*set = false;
		return SW_ERR_IO;
	}
	return 0;
}

/* Clears O_NONBLOCK again, and only that flag: the description may be
 * shared with other processes (an inherited stdin, inetd's socket) and
 * its other flags are not ours. */
static void clear_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
}

/* Registers `fd`; *reg false if epoll cannot watch it (regular files,
 * /dev/null: EPERM), which makes that side always ready. */
static int reg(sw__dworker *w, int fd, uint32_t ev, sw__dtag *t, bool *regd)
{
	struct epoll_event e = {.events = ev, .data.ptr = t};
	*regd = false;
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) == 0) {
		*regd = true;
		return 0;
	}
	return errno == EPERM ? 0 : SW_ERR_IO;
}

static void unwatch(sw__dconn *k)
{
	if (k->rreg)
		epoll_ctl(k->w->ep, EPOLL_CTL_DEL, k->rfd, NULL);
	if (k->wreg && !k->same)
		epoll_ctl(k->w->ep, EPOLL_CTL_DEL, k->wfd, NULL);
	k->rreg = k->wreg = false;
	if (k->wnb)
		clear_nonblock(k->wfd);
	if (k->rnb)
		clear_nonblock(k->rfd);
	k->rnb = k->wnb = false;
}

static int watch(sw__dconn *k)
{
	sw__dworker *w = k->w;
	int rv = 0;
	/* A write descriptor that shares the read one's description (dup'ed
	 * stdin and stdout) is seen non-blocking already: only the read side
	 * then records the change, and undoing it restores both. */
	if (k->rfd >= 0)
		rv = set_nonblock(k->rfd, &k->rnb);
	if (rv == 0 && k->wfd >= 0 && !k->same)
		rv = set_nonblock(k->wfd, &k->wnb);
	k->tr = (sw__dtag){.kind = k->same ? T_RW : T_RD, .obj = k};
	k->tw = (sw__dtag){.kind = T_WR, .obj = k};
	k->rmask = EPOLLIN;
	if (rv == 0 && k->rfd >= 0)
		rv = reg(w, k->rfd, EPOLLIN, &k->tr, &k->rreg);
	if (rv == 0 && k->same)
		k->wreg = k->rreg;
	else if (rv == 0 && k->wfd >= 0)
		rv = reg(w, k->wfd, 0, &k->tw, &k->wreg);
	if (rv < 0)
		unwatch(k);
	return rv;
}

int sw__worker_admit(sw__dworker *w, sw_medium *m, bool del_medium, bool close_fds,
                     sw_serve_result *res)
{
	sw_daemon *d = w->d;
	sw__dconn *k = sw_malloc(d->mem, sizeof *k);
	sw_srv_conn *c = NULL;
	int rv = k ? sw_srv_conn_new(&c, &d->cfg.srv, &d->disp, w->ud, d->mem) : SW_ERR_NOMEM;
	if (rv == 0) {
		memset(k, 0, sizeof *k);
		k->w = w;
		k->m = m;
		k->del_medium = del_medium;
		k->close_fds = close_fds;
		k->res = res;
		sw_medium_fds(m, &k->rfd, &k->wfd);
		k->same = k->rfd >= 0 && k->rfd == k->wfd;
		rv = watch(k);
	}
	if (rv < 0) {
		sw_srv_conn_del(c);
		sw_free(d->mem, k);
		atomic_fetch_sub(&d->active, 1);
		return rv;
	}
	sw__drv_init(&k->v, &d->drv, c, m, k->rreg, k->wreg);
	k->spin = !k->rreg; /* an unwatched reader is tried at once */
	w->nspin += k->spin;
	k->next = w->head;
	if (w->head)
		w->head->prev = k;
	w->head = k;
	w->nconn++;
	if (k->v.deadline < w->next_sweep)
		w->next_sweep = k->v.deadline;
	atomic_fetch_add(&d->accepted, 1);
	return 0;
}

static void count_end(sw_daemon *d, const sw_serve_result *r)
{
	atomic_fetch_add(&d->requests, r->requests);
	switch (r->end) {
	case SW_SERVE_EOF:
	case SW_SERVE_EOF_MID_REQUEST: atomic_fetch_add(&d->ended_eof, 1); break;
	case SW_SERVE_TIMEOUT: atomic_fetch_add(&d->ended_timeout, 1); break;
	case SW_SERVE_DEADLINE: atomic_fetch_add(&d->ended_deadline, 1); break;
	case SW_SERVE_PROTOCOL: atomic_fetch_add(&d->ended_protocol, 1); break;
	case SW_SERVE_IO:
	case SW_SERVE_STALLED: atomic_fetch_add(&d->ended_io, 1); break;
	case SW_SERVE_STOPPED: atomic_fetch_add(&d->ended_stop, 1); break;
	}
}

/* Releases an ended connection; the record is freed after the event batch
 * (events of this pass may still point at it). */
static void release(sw__dconn *k)
{
	sw__dworker *w = k->w;
	sw_daemon *d = w->d;
	if (k->closed)
		return;
	k->closed = true;
	count_end(d, &k->v.res);
	if (k->res)
		*k->res = k->v.res;
	unwatch(k);
	sw__drv_fini(&k->v);
	if (k->del_medium)
		sw_medium_del(k->m);
	k->m = NULL;
	if (k->close_fds) {
		close(k->rfd);
		if (!k->same)
			close(k->wfd);
	}
	w->nspin -= k->spin;
	k->spin = false;
	if (k->prev)
		k->prev->next = k->next;
	else
		w->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	w->nconn--;
	k->dead_next = w->dead;
	w->dead = k;
	atomic_fetch_sub(&d->active, 1);
}

static void set_mask(sw__dconn *k, int fd, sw__dtag *t, uint32_t *have, uint32_t want)
{
	if (want == *have)
		return;
	struct epoll_event e = {.events = want, .data.ptr = t};
	epoll_ctl(k->w->ep, EPOLL_CTL_MOD, fd, &e);
	*have = want;
}

/* After a drive: release, or watch what the driver now waits for. */
static void settle(sw__dconn *k)
{
	sw__dworker *w = k->w;
	sw__drv *v = &k->v;
	if (v->ended) {
		release(k);
		return;
	}
	if (k->same) {
		if (k->rreg)
			set_mask(k, k->rfd, &k->tr, &k->rmask,
			         (v->want_r ? EPOLLIN : 0) | (v->want_w ? EPOLLOUT : 0));
	} else {
		if (k->rreg)
			set_mask(k, k->rfd, &k->tr, &k->rmask, v->want_r ? EPOLLIN : 0);
		if (k->wreg)
			set_mask(k, k->wfd, &k->tw, &k->wmask, v->want_w ? EPOLLOUT : 0);
	}
	bool spin = (!k->rreg && v->want_r) || (!k->wreg && v->want_w);
	if (spin != k->spin) {
		w->nspin += spin ? 1 : (size_t)-1;
		k->spin = spin;
	}
	if (v->deadline < w->next_sweep)
		w->next_sweep = v->deadline;
}

static void drive(sw__dconn *k, bool readable)
{
	sw__dworker *w = k->w;
	if (k->closed)
		return;
	/* Alone on its worker, an unwatched reader may wait in the medium
	 * for the time left (there is nothing else to serve meanwhile). */
	bool may_block = w->nconn == 1 && !w->listening;
	sw__drv_run(&k->v, readable, w->buf, w->d->cfg.srv.read_size, may_block);
	settle(k);
}

/* A watched write descriptor reported an error or hang-up while we had
 * nothing to write: stop watching it (level-triggered, it would wake us
 * forever); the next write, tried directly, fails and ends the connection. */
static void write_side_broken(sw__dconn *k)
{
	if (k->same || !k->wreg || k->v.want_w)
		return;
	epoll_ctl(k->w->ep, EPOLL_CTL_DEL, k->wfd, NULL);
	k->wreg = false;
	k->v.wpoll = false;
}

void sw__worker_close_all(sw__dworker *w)
{
	while (w->head) {
		sw__drv_stop(&w->head->v, 2);
		release(w->head);
	}
	reap(w);
}

/* ---- Accepting ------------------------------------------------------ */

static void accept_some(sw__dworker *w, int lfd)
{
	sw_daemon *d = w->d;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				/* Level-triggered: the listener would wake us again at
				 * once.  Pause it briefly instead of spinning. */
				dlog(d, "accept: out of descriptors or memory; pausing");
				drop_listeners(w);
				w->listen_resume = sw_clock_ms() + LISTEN_PAUSE_MS;
			}
			return;
		}
		if (!sw__worker_take_slot(d)) {
			atomic_fetch_add(&d->refused, 1); /* counted before the client can see it */
			close(fd);
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		sw_medium *m = NULL;
		if (sw_fd_medium_new(&m, fd, fd, SW_FD_OWN, d->mem) < 0) {
			close(fd);
			atomic_fetch_sub(&d->active, 1);
			atomic_fetch_add(&d->refused, 1);
			continue;
		}
		if (sw__worker_admit(w, m, true, false, NULL) < 0) {
			sw_medium_del(m);
			atomic_fetch_add(&d->refused, 1);
		}
	}
}

/* ---- The loop ------------------------------------------------------- */

static void apply_stop(sw__dworker *w, int level)
{
	if (w->listening)
		drop_listeners(w);
	w->listen_resume = 0;
	for (sw__dconn *k = w->head, *nx; k; k = nx) {
		nx = k->next;
		sw__drv_stop(&k->v, level);
		if (k->v.ended)
			release(k);
	}
}

static void sweep(sw__dworker *w, int64_t now)
{
	int64_t next = INT64_MAX;
	for (sw__dconn *k = w->head, *nx; k; k = nx) {
		nx = k->next;
		sw__drv_check_deadline(&k->v, now);
		if (k->v.ended)
			release(k);
		else if (k->v.deadline < next)
			next = k->v.deadline;
	}
	w->next_sweep = next;
}

/* How long epoll may wait: not at all while an unwatched side wants
 * service (briefly if the last pass over them moved nothing, so that a
 * silent threaded fifo does not spin a core), else until the nearest
 * deadline or listener resumption. */
static int wait_ms(sw__dworker *w, int64_t now)
{
	if (w->nspin)
		return w->spin_idle ? 1 : 0;
	int64_t until = w->next_sweep;
	if (w->listen_resume && w->listen_resume < until)
		until = w->listen_resume;
	if (until == INT64_MAX)
		return -1;
	return until - now > 60000 ? 60000 : (int)(until - now + 1);
}

static void dispatch(sw__dworker *w, const struct epoll_event *e)
{
	sw__dtag *t = e->data.ptr;
	bool in = e->events & (EPOLLIN | EPOLLHUP | EPOLLERR);
	switch (t->kind) {
	case T_WAKE: {
		uint64_t v;
		while (read(w->efd, &v, sizeof v) > 0) {
		}
		break;
	}
	case T_LISTEN:
		if (w->listening)
			accept_some(w, t->fd);
		break;
	case T_WR:
		if (e->events & (EPOLLHUP | EPOLLERR))
			write_side_broken(t->obj);
		drive(t->obj, false);
		break;
	default: /* T_RD, T_RW */ drive(t->obj, in); break;
	}
}

int sw__worker_loop(sw__dworker *w)
{
	sw_daemon *d = w->d;
	struct epoll_event ev[MAX_EVENTS];
	for (;;) {
		int level = atomic_load(&d->stop_level);
		if (level != w->stop_seen) {
			w->stop_seen = level;
			apply_stop(w, level);
		}
		reap(w);
		if (!w->head && (level > 0 || d->nl == 0))
			return 0;
		/* The clock only when something is timed (the deadlines of the
		 * connections, a paused listener). */
		int64_t now = w->next_sweep != INT64_MAX || w->listen_resume ? sw_clock_ms() : 0;
		if (w->listen_resume && now >= w->listen_resume) {
			w->listen_resume = 0;
			w->listening = true;
			for (size_t i = 0; i < d->nl; i++)
				(void)sw__worker_listen(w, &d->ltag[i]);
		}
		if (now >= w->next_sweep) {
			sweep(w, now);
			continue; /* connections may have ended: check again */
		}
		int n = 0;
		/* Only unwatched sides to serve and nothing to accept: epoll has
		 * nothing to say (a stop is seen through stop_level above). */
		bool quiet = (w->nspin && w->nspin == w->nconn && !w->listening &&
		              !w->listen_resume && !w->spin_idle) ||
		             w->ep < 0;
		if (!quiet) {
			n = epoll_wait(w->ep, ev, MAX_EVENTS, wait_ms(w, now));
			if (n < 0 && errno != EINTR)
				return SW_ERR_IO;
		}
		for (int i = 0; i < n; i++)
			dispatch(w, &ev[i]);
		if (w->nspin) {
			bool moved = false;
			for (sw__dconn *k = w->head, *nx; k; k = nx) {
				nx = k->next;
				if (k->spin) {
					drive(k, true);
					moved |= k->closed || k->v.progressed;
				}
			}
			/* Alone, a connection waits inside its medium: never
			 * sleep in epoll on top of that. */
			w->spin_idle = !moved && !(w->nconn == 1 && !w->listening);
		}
	}
}
