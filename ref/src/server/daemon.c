/*
 * The multi-connection server (smartwire/daemon.h): creating it, adding
 * listeners and connections, running the workers (worker.c) on threads,
 * stopping, statistics.  Everything that happens on a connection happens
 * in a worker, through the one connection driver (driver.c).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "daemon_impl.h"
#include "smartwire/error.h"

int sw_daemon_new(sw_daemon **out, const sw_daemon_config *cfg, const sw_dispatch *disp,
                  void *const *uds, size_t nuds, const sw_mem *mem)
{
	return sw__daemon_new(out, cfg, disp, uds, nuds, true, mem);
}

int sw__daemon_new(sw_daemon **out, const sw_daemon_config *cfg, const sw_dispatch *disp,
                   void *const *uds, size_t nuds, bool poll, const sw_mem *mem)
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
	if (!c.srv.read_size)
		c.srv.read_size = SW_SRV_DEFAULT_READ_SIZE;
	if (c.workers > SW_DAEMON_MAX_WORKERS || (nuds != 1 && nuds != c.workers))
		return SW_ERR_INVALID_ARGUMENT;
	sw_daemon *d = sw_malloc(mem, sizeof *d);
	if (!d)
		return SW_ERR_NOMEM;
	memset(d, 0, sizeof *d);
	d->cfg = c;
	d->disp = *disp;
	d->mem = mem;
	d->poll = poll;
	d->drv.idle_ms = c.srv.idle_timeout_ms == 0  ? SW_SRV_DEFAULT_IDLE_TIMEOUT_MS
	                 : c.srv.idle_timeout_ms < 0 ? -1
	                                             : c.srv.idle_timeout_ms;
	d->drv.req_ms = c.srv.request_timeout_ms;
	d->drv.pipe_exact = c.srv.pipe_exact;
	d->drv.log = c.srv.log;
	d->drv.log_ud = c.srv.log_ud;
	d->drv.mem = mem;
	atomic_init(&d->stop_level, 0);
	d->w = sw_malloc(mem, c.workers * sizeof *d->w);
	if (!d->w) {
		sw_free(mem, d);
		return SW_ERR_NOMEM;
	}
	memset(d->w, 0, c.workers * sizeof *d->w);
	int rv = 0;
	for (unsigned i = 0; i < c.workers && rv == 0; i++) {
		d->nw = i + 1;
		rv = sw__worker_init(&d->w[i], d, i, uds[nuds == 1 ? 0 : i]);
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
		sw__worker_fini(&d->w[i]);
	sw_free(d->mem, d->w);
	sw_free(d->mem, d);
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
		if (sw__worker_listen(&d->w[i], t) < 0) {
			for (unsigned j = 0; j < i; j++)
				epoll_ctl(d->w[j].ep, EPOLL_CTL_DEL, fd, NULL);
			return SW_ERR_IO;
		}
		d->w[i].listening = true;
	}
	d->nl++;
	return 0;
}

int sw_daemon_add_medium(sw_daemon *d, sw_medium *m, bool own, sw_serve_result *res)
{
	if (!d || !m)
		return SW_ERR_INVALID_ARGUMENT;
	if (d->ran)
		return SW_ERR_STATE;
	if (!sw__worker_take_slot(d))
		return SW_ERR_LIMIT;
	return sw__worker_admit(&d->w[0], m, own, false, res);
}

int sw_daemon_add_conn(sw_daemon *d, int rfd, int wfd, bool own, sw_serve_result *res)
{
	if (!d || rfd < 0 || wfd < 0)
		return SW_ERR_INVALID_ARGUMENT;
	if (d->ran)
		return SW_ERR_STATE;
	/* The medium never owns the descriptors: the worker closes them at
	 * the end if `own`, so that on failure nothing is closed. */
	sw_medium *m = NULL;
	int rv = sw_fd_medium_new(&m, rfd, wfd, 0, d->mem);
	if (rv < 0)
		return rv;
	if (!sw__worker_take_slot(d))
		rv = SW_ERR_LIMIT;
	else
		rv = sw__worker_admit(&d->w[0], m, true, own, res);
	if (rv < 0)
		sw_medium_del(m);
	return rv;
}

static void *worker_main(void *arg)
{
	sw__dworker *w = arg;
	sigset_t pipe_set, old;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	int rv = sw__worker_loop(w);
	if (rv < 0) {
		w->err = rv;
		sw_daemon_stop(w->d);
		sw_daemon_stop(w->d);
	}
	sw__worker_close_all(w);
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
	st->ended_eof = atomic_load(&m->ended_eof);
	st->ended_timeout = atomic_load(&m->ended_timeout);
	st->ended_deadline = atomic_load(&m->ended_deadline);
	st->ended_protocol = atomic_load(&m->ended_protocol);
	st->ended_io = atomic_load(&m->ended_io);
	st->ended_stop = atomic_load(&m->ended_stop);
}
