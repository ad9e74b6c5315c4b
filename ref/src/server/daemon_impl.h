/*
 * Internal state of the multi-connection server (smartwire/daemon.h).
 * daemon.c (creating, running and stopping the daemon) uses worker.c (the
 * event loop of one worker: accepting, admitting connections, readiness,
 * deadlines), which uses driver.c (driving one connection).  Calls go that
 * way only.  Not installed.
 */
#ifndef SMARTWIRE_DAEMON_IMPL_H
#define SMARTWIRE_DAEMON_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "driver.h"
#include "smartwire/daemon.h"

#define SW__DAEMON_MAX_LISTENERS 8

/* What an epoll registration points at. */
enum { T_LISTEN, T_WAKE, T_RD, T_WR, T_RW };
typedef struct sw__dtag {
	int kind;
	int fd;    /* T_LISTEN */
	void *obj; /* the connection for T_RD/T_WR/T_RW */
} sw__dtag;

typedef struct sw__dworker sw__dworker;

/* One connection of a worker: the driver, and what the event loop needs to
 * watch it. */
typedef struct sw__dconn {
	sw__drv v;
	struct sw__dconn *prev, *next; /* the worker's list */
	struct sw__dconn *dead_next;   /* closed, freed after the event batch */
	sw__dworker *w;
	sw_medium *m;
	bool del_medium;       /* the medium is ours to delete */
	bool close_fds;        /* and its descriptors ours to close (add_conn, own) */
	int rfd, wfd;          /* from sw_medium_fds, -1: none */
	bool same;             /* one descriptor for both directions */
	bool rnb, wnb;         /* we set O_NONBLOCK: clear it when done */
	bool rreg, wreg;       /* registered with epoll */
	uint32_t rmask, wmask; /* the events asked for */
	sw__dtag tr, tw;
	bool spin; /* an unwatched side wants service */
	bool closed;
	sw_serve_result *res; /* the caller's copy of the result, or NULL */
} sw__dconn;

struct sw__dworker {
	sw_daemon *d;
	unsigned id;
	void *ud;
	int ep, efd;
	sw__dtag twake;
	pthread_t th;
	bool started;
	sw__dconn *head, *dead;
	size_t nconn;
	size_t nspin;
	bool spin_idle; /* the last pass over unwatched sides moved nothing */
	uint8_t *buf;   /* read scratch, cfg.srv.read_size bytes */
	int stop_seen;
	bool listening;
	int64_t listen_resume; /* 0, or when to re-add paused listeners */
	int64_t next_sweep;
	int err;
};

struct sw_daemon {
	sw_daemon_config cfg; /* srv resolved: read_size set */
	sw_dispatch disp;
	const sw_mem *mem;
	sw__drv_cfg drv;
	sw__dworker *w;
	unsigned nw;
	sw__dtag ltag[SW__DAEMON_MAX_LISTENERS];
	size_t nl;
	bool ran;
	/* Workers have an epoll instance and a wake-up eventfd.  Only a daemon
	 * that will never watch a descriptor nor be stopped from outside does
	 * without (sw_serve_medium of a medium without descriptors: a fifo, a
	 * fault wrapper), which saves four system calls per connection served
	 * (the fuzz targets serve one per run). */
	bool poll;
	atomic_int stop_level;
	_Atomic uint64_t accepted, refused, active, requests;
	_Atomic uint64_t ended_eof, ended_timeout, ended_deadline, ended_protocol, ended_io,
	    ended_stop;
};

/* daemon.c */

/* sw_daemon_new, with `poll` false for a daemon without epoll (see `poll`
 * above: only for sw_serve_medium). */
int sw__daemon_new(sw_daemon **out, const sw_daemon_config *cfg, const sw_dispatch *disp,
                   void *const *uds, size_t nuds, bool poll, const sw_mem *mem);

/* worker.c */

/* Sets up worker `w` of `d` (id, ud, epoll, wake eventfd, read buffer).
 * Returns 0, SW_ERR_NOMEM or SW_ERR_IO; sw__worker_fini undoes a partial
 * set-up too. */
int sw__worker_init(sw__dworker *w, sw_daemon *d, unsigned id, void *ud);
void sw__worker_fini(sw__dworker *w);

/* Watches listener `t` (EPOLLEXCLUSIVE where the kernel has it).  Returns
 * 0 or SW_ERR_IO. */
int sw__worker_listen(sw__dworker *w, sw__dtag *t);

/* Takes a connection slot under max_connections; false when full.
 * sw__worker_admit gives it back on failure and when the connection ends. */
bool sw__worker_take_slot(sw_daemon *d);

/* Starts serving medium `m` on `w` with a slot already taken: a new core,
 * the medium's descriptors made non-blocking and watched (those epoll
 * cannot watch, and media without any, are always ready).  When the
 * connection ends: the descriptors' O_NONBLOCK is cleared again if we set
 * it, the medium deleted if `del_medium` (else it stays the caller's), its
 * descriptors closed if `close_fds`, and `res` (may be NULL) receives the
 * result.  Returns 0, SW_ERR_NOMEM or SW_ERR_IO; on failure the slot is
 * given back and nothing was changed or closed. */
int sw__worker_admit(sw__dworker *w, sw_medium *m, bool del_medium, bool close_fds,
                     sw_serve_result *res);

/* Runs the event loop until the worker has nothing left to serve.
 * Returns 0 or SW_ERR_IO (epoll failed). */
int sw__worker_loop(sw__dworker *w);

/* Ends every connection at once (stop level 2) and frees them. */
void sw__worker_close_all(sw__dworker *w);

#endif
