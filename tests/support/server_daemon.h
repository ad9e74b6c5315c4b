/*
 * A daemon (smartwire/daemon.h) serving the real file server in a test:
 * one sw_vfs per worker over the directory `root`, a log sink, and, with a
 * listener, sw_daemon_run() on a thread.  Shared by test_daemon.c (TCP)
 * and test_daemon_inet.c (single connections on descriptors and media).
 */
#ifndef SW_TEST_SERVER_DAEMON_H
#define SW_TEST_SERVER_DAEMON_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smartwire/clock.h"
#include "smartwire/daemon.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "smartwire/vfs_server.h"

static char root[64]; /* made by the test's setup */

static inline int64_t now_ms(void)
{
	return sw_clock_ms();
}

/* ---- a daemon in a thread ---- */

typedef struct srv {
	sw_daemon *d;
	sw_vfs *vfs[4];
	unsigned nw;
	int lfd;
	uint16_t port;
	pthread_t th;
	int rv;
	pthread_mutex_t mu;
	char log[1024];
} srv;

static inline void log_cb(void *ud, const char *msg)
{
	srv *s = ud;
	pthread_mutex_lock(&s->mu);
	size_t n = strlen(s->log);
	snprintf(s->log + n, sizeof s->log - n, "%s\n", msg);
	pthread_mutex_unlock(&s->mu);
}

static inline void *run_thread(void *arg)
{
	srv *s = arg;
	s->rv = sw_daemon_run(s->d);
	return NULL;
}

static inline void srv_start(srv *s, unsigned workers, const sw_daemon_config *base, bool listen)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->nw = workers;
	s->lfd = -1;
	sw_vfs_config vc = {.allow_writes = true};
	for (unsigned i = 0; i < workers; i++)
		assert_int_equal(sw_vfs_new(&s->vfs[i], root, &vc, NULL), 0);
	sw_daemon_config dc;
	memset(&dc, 0, sizeof dc);
	if (base)
		dc = *base;
	dc.workers = workers;
	dc.srv.log = log_cb;
	dc.srv.log_ud = s;
	assert_int_equal(
	    sw_daemon_new(&s->d, &dc, sw_vfs_dispatch(), (void *const *)s->vfs, workers, NULL), 0);
	if (listen) {
		sw_errinfo err = {0};
		assert_int_equal(sw_tcp_listen(&s->lfd, &s->port, "127.0.0.1", 0, 128, &err), 0);
		assert_int_equal(sw_daemon_add_listener(s->d, s->lfd), 0);
		assert_int_equal(pthread_create(&s->th, NULL, run_thread, s), 0);
	}
}

static inline void srv_join(srv *s)
{
	assert_int_equal(pthread_join(s->th, NULL), 0);
	assert_int_equal(s->rv, 0);
}

static inline void srv_free(srv *s)
{
	sw_daemon_del(s->d);
	if (s->lfd >= 0)
		close(s->lfd);
	for (unsigned i = 0; i < s->nw; i++)
		sw_vfs_del(s->vfs[i]);
	pthread_mutex_destroy(&s->mu);
}

static inline void srv_stop(srv *s)
{
	sw_daemon_stop(s->d);
	srv_join(s);
	srv_free(s);
}

#endif
