/*
 * The multi-connection server (smartwire/daemon.h): workers, each an epoll
 * loop; accepting with a connection limit; graceful and immediate stop
 * through per-worker eventfds; deadlines swept only when the nearest one is
 * due.  Driving one connection is in daemon_conn.c.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "smartwire/error.h"

#define ACCEPT_BATCH 16
#define LISTEN_PAUSE_MS 100 /* after EMFILE and friends */

int64_t sw__dnow(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sw__dlog(sw_daemon *d, const char *msg)
{
	if (d->cfg.srv.log)
		d->cfg.srv.log(d->cfg.srv.log_ud, msg);
}

static void worker_fini(sw__dworker *w)
{
	sw_daemon *d = w->d;
	while (w->head)
		sw__dconn_close(w->head, END_STOP, SW_ERR_CLOSED);
	sw__dworker_reap(w);
	if (w->ep >= 0)
		close(w->ep);
	if (w->efd >= 0)
		close(w->efd);
	sw_free(d->mem, w->buf);
}

int sw_daemon_new(sw_daemon **out, const sw_daemon_config *cfg, const sw_dispatch *disp,
                  void *const *uds, size_t nuds, const sw_mem *mem)
{
	if (!out || !disp || !disp->begin || !uds)
		return SW_ERR_INVALID_ARGUMENT;
	sw_daemon_config c;
	memset(&c, 0, sizeof c);
	if (cfg)
		c = *cfg;
	if (!c.workers)
		c.workers = SW_DAEMON_DEFAULT_WORKERS;
	if (!c.max_connections)
		c.max_connections = SW_DAEMON_DEFAULT_MAX_CONNECTIONS;
	if (c.workers > SW_DAEMON_MAX_WORKERS || (nuds != 1 && nuds != c.workers))
		return SW_ERR_INVALID_ARGUMENT;
	sw_daemon *d = sw_malloc(mem, sizeof *d);
	if (!d)
		return SW_ERR_NOMEM;
	memset(d, 0, sizeof *d);
	d->cfg = c;
	d->disp = *disp;
	d->mem = mem;
	d->idle_ms = c.srv.idle_timeout_ms == 0 ? SW_SRV_DEFAULT_IDLE_TIMEOUT_MS
	                                        : c.srv.idle_timeout_ms < 0 ? -1
	                                                                    : c.srv.idle_timeout_ms;
	d->req_ms = c.srv.request_timeout_ms;
	atomic_init(&d->stop_level, 0);
	d->w = sw_malloc(mem, c.workers * sizeof *d->w);
	if (!d->w) {
		sw_free(mem, d);
		return SW_ERR_NOMEM;
	}
	memset(d->w, 0, c.workers * sizeof *d->w);
	int rv = 0;
	for (unsigned i = 0; i < c.workers; i++) {
		sw__dworker *w = &d->w[i];
		w->d = d;
		w->id = i;
		w->ud = uds[nuds == 1 ? 0 : i];
		w->ep = w->efd = -1;
		w->next_sweep = INT64_MAX;
		d->nw = i + 1;
		if (!(w->buf = sw_malloc(mem, SW_DAEMON_READ_BUF))) {
			rv = SW_ERR_NOMEM;
			break;
		}
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->twake = (sw__dtag){.kind = T_WAKE};
		struct epoll_event e = {.events = EPOLLIN, .data.ptr = &w->twake};
		if (w->ep < 0 || w->efd < 0 || epoll_ctl(w->ep, EPOLL_CTL_ADD, w->efd, &e) < 0) {
			rv = SW_ERR_IO;
			break;
		}
	}
	if (rv < 0) {
		sw_daemon_del(d);
		return rv;
	}
	*out = d;
	return 0;
}

void sw_daemon_del(sw_daemon *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->nw; i++)
		worker_fini(&d->w[i]);
	sw_free(d->mem, d->w);
	sw_free(d->mem, d);
}

static int add_listen(sw__dworker *w, sw__dtag *t)
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

int sw_daemon_add_listener(sw_daemon *d, int fd)
{
	if (!d || fd < 0)
		return SW_ERR_INVALID_ARGUMENT;
	if (d->ran)
		return SW_ERR_STATE;
	if (d->nl == SW__DAEMON_MAX_LISTENERS)
		return SW_ERR_NOMEM;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return SW_ERR_IO;
	sw__dtag *t = &d->ltag[d->nl];
	*t = (sw__dtag){.kind = T_LISTEN, .fd = fd};
	for (unsigned i = 0; i < d->nw; i++) {
		if (add_listen(&d->w[i], t) < 0) {
			for (unsigned j = 0; j < i; j++)
				epoll_ctl(d->w[j].ep, EPOLL_CTL_DEL, fd, NULL);
			return SW_ERR_IO;
		}
		d->w[i].listening = true;
	}
	d->nl++;
	return 0;
}

/* Takes a slot under max_connections; false when full. */
static bool take_slot(sw_daemon *d)
{
	uint64_t was = atomic_fetch_add(&d->active, 1);
	if (was >= d->cfg.max_connections) {
		atomic_fetch_sub(&d->active, 1);
		return false;
	}
	return true;
}

int sw_daemon_add_conn(sw_daemon *d, int rfd, int wfd, bool own)
{
	if (!d || rfd < 0 || wfd < 0)
		return SW_ERR_INVALID_ARGUMENT;
	if (d->ran)
		return SW_ERR_STATE;
	if (!take_slot(d))
		return SW_ERR_LIMIT;
	int rv = sw__dconn_new(&d->w[0], rfd, wfd, own, true);
	if (rv < 0)
		atomic_fetch_sub(&d->active, 1);
	else
		atomic_fetch_add(&d->accepted, 1);
	return rv;
}

static void accept_some(sw__dworker *w, int lfd)
{
	sw_daemon *d = w->d;
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: the listener would wake us again at
				 * once.  Pause it briefly instead of spinning. */
				sw__dlog(d, "accept: out of descriptors or memory; pausing");
				drop_listeners(w);
				w->listen_resume = sw__dnow() + LISTEN_PAUSE_MS;
			}
			return;
		}
		if (!take_slot(d)) {
			atomic_fetch_add(&d->refused, 1); /* counted before the client can see it */
			close(fd);
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (sw__dconn_new(w, fd, fd, true, false) < 0) {
			close(fd);
			atomic_fetch_sub(&d->active, 1);
			atomic_fetch_add(&d->refused, 1);
			continue;
		}
		atomic_fetch_add(&d->accepted, 1);
	}
}

static void apply_stop(sw__dworker *w, int level)
{
	if (w->listening)
		drop_listeners(w);
	w->listen_resume = 0;
	for (sw__dconn *k = w->head, *nx; k; k = nx) {
		nx = k->next;
		sw__dconn_stop(k, level);
	}
}

static void sweep(sw__dworker *w, int64_t now)
{
	int64_t next = INT64_MAX;
	for (sw__dconn *k = w->head, *nx; k; k = nx) {
		nx = k->next;
		int64_t dl = sw__dconn_check_deadline(k, now);
		if (dl < next)
			next = dl;
	}
	w->next_sweep = next;
}

static int worker_loop(sw__dworker *w)
{
	sw_daemon *d = w->d;
	struct epoll_event ev[64];
	for (;;) {
		int level = atomic_load(&d->stop_level);
		if (level != w->stop_seen) {
			w->stop_seen = level;
			apply_stop(w, level);
		}
		sw__dworker_reap(w);
		if (!w->head && (level > 0 || d->nl == 0))
			return 0;
		int64_t now = sw__dnow();
		if (w->listen_resume && now >= w->listen_resume) {
			w->listen_resume = 0;
			w->listening = true;
			for (size_t i = 0; i < d->nl; i++)
				(void)add_listen(w, &d->ltag[i]);
		}
		if (now >= w->next_sweep) {
			sweep(w, now);
			continue; /* connections may have ended: check again */
		}
		int64_t until = w->next_sweep;
		if (w->listen_resume && w->listen_resume < until)
			until = w->listen_resume;
		int timeout = -1;
		if (w->nspin)
			timeout = 0;
		else if (until != INT64_MAX)
			timeout = until - now > 60000 ? 60000 : (int)(until - now + 1);
		int n = epoll_wait(w->ep, ev, 64, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return SW_ERR_IO;
		}
		for (int i = 0; i < n; i++) {
			sw__dtag *t = ev[i].data.ptr;
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
				sw__dconn_drive(t->obj, false);
				break;
			default:
				sw__dconn_drive(t->obj, true);
				break;
			}
		}
		if (w->nspin) {
			for (sw__dconn *k = w->head, *nx; k; k = nx) {
				nx = k->next;
				if (k->spin)
					sw__dconn_drive(k, true);
			}
		}
	}
}

static void *worker_main(void *arg)
{
	sw__dworker *w = arg;
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	int rv = worker_loop(w);
	if (rv < 0) {
		w->err = rv;
		sw_daemon_stop(w->d);
		sw_daemon_stop(w->d);
	}
	while (w->head)
		sw__dconn_close(w->head, END_STOP, SW_ERR_CLOSED);
	sw__dworker_reap(w);
	if (!sigismember(&old, SIGPIPE)) {
		/* Discard a SIGPIPE our own writes to a pipe raised. */
		sigset_t pend;
		struct timespec zero = {0, 0};
		if (sigpending(&pend) == 0 && sigismember(&pend, SIGPIPE))
			(void)sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return NULL;
}

int sw_daemon_run(sw_daemon *d)
{
	if (!d)
		return SW_ERR_INVALID_ARGUMENT;
	if (d->ran)
		return SW_ERR_STATE;
	d->ran = true;
	int rv = 0;
	for (unsigned i = 1; i < d->nw; i++) {
		if (pthread_create(&d->w[i].th, NULL, worker_main, &d->w[i]) != 0) {
			rv = SW_ERR_IO;
			sw_daemon_stop(d);
			sw_daemon_stop(d);
			break;
		}
		d->w[i].started = true;
	}
	worker_main(&d->w[0]);
	for (unsigned i = 1; i < d->nw; i++)
		if (d->w[i].started)
			pthread_join(d->w[i].th, NULL);
	for (unsigned i = 0; i < d->nw && rv == 0; i++)
		rv = d->w[i].err;
	return rv;
}

void sw_daemon_stop(sw_daemon *d)
{
	if (!d)
		return;
	int saved = errno;
	atomic_fetch_add(&d->stop_level, 1);
	uint64_t one = 1;
	for (unsigned i = 0; i < d->nw; i++)
		if (d->w[i].efd >= 0)
			(void)!write(d->w[i].efd, &one, sizeof one);
	errno = saved;
}

void sw_daemon_get_stats(const sw_daemon *d, sw_daemon_stats *st)
{
	memset(st, 0, sizeof *st);
	if (!d)
		return;
	sw_daemon *m = (sw_daemon *)d; /* atomic loads need a non-const object in C11 */
	st->accepted = atomic_load(&m->accepted);
	st->refused = atomic_load(&m->refused);
	st->active = atomic_load(&m->active);
	st->requests = atomic_load(&m->requests);
	st->ended_eof = atomic_load(&m->ended[END_EOF]);
	st->ended_timeout = atomic_load(&m->ended[END_TIMEOUT]);
	st->ended_deadline = atomic_load(&m->ended[END_DEADLINE]);
	st->ended_protocol = atomic_load(&m->ended[END_PROTOCOL]);
	st->ended_io = atomic_load(&m->ended[END_IO]);
	st->ended_stop = atomic_load(&m->ended[END_STOP]);
}
