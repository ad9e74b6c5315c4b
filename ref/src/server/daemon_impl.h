/*
 * Internal state of the multi-connection server (smartwire/daemon.h),
 * shared by daemon.c (lifecycle, workers, accepting, stopping) and
 * daemon_conn.c (driving one connection: read, feed, write, deadlines).
 * Not installed.
 */
#ifndef SMARTWIRE_DAEMON_IMPL_H
#define SMARTWIRE_DAEMON_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "smartwire/daemon.h"

#define SW__DAEMON_MAX_LISTENERS 8

/* What an epoll registration points at. */
enum { T_LISTEN, T_WAKE, T_RD, T_WR, T_RW };
typedef struct sw__dtag {
	int kind;
	int fd;    /* T_LISTEN */
	void *obj; /* the connection for T_RD/T_WR/T_RW */
} sw__dtag;

/* Why a connection ended (index into the ended_* counters). */
enum { END_EOF, END_TIMEOUT, END_DEADLINE, END_PROTOCOL, END_IO, END_STOP };

typedef struct sw__dworker sw__dworker;

typedef struct sw__dconn {
	struct sw__dconn *prev, *next; /* the worker's list */
	struct sw__dconn *dead_next;   /* closed, freed after the event batch */
	sw__dworker *w;
	sw_srv_conn *c;
	int rfd, wfd;
	int rfl, wfl;        /* original status flags to restore, -1: none */
	bool own, same, wsock;
	bool rpoll, wpoll;   /* registered with epoll (else always ready) */
	uint32_t rmask, wmask;
	sw__dtag tr, tw;
	bool closed;
	bool rd_eof;
	bool want_w;         /* output pending and the descriptor is full */
	bool spin;           /* an unpollable descriptor wants service */
	bool stopping;
	uint8_t *stash;      /* input read but not yet taken by the core */
	size_t soff, slen;
	int64_t busy_since, idle_since, deadline;
	uint64_t reqs_seen;
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
	size_t nspin;
	uint8_t *buf;
	int stop_seen;
	bool listening;
	int64_t listen_resume; /* 0, or when to re-add paused listeners */
	int64_t next_sweep;
	int err;
};

struct sw_daemon {
	sw_daemon_config cfg;
	sw_dispatch disp;
	const sw_mem *mem;
	int idle_ms;  /* < 0: none */
	int req_ms;   /* <= 0: none */
	sw__dworker *w;
	unsigned nw;
	sw__dtag ltag[SW__DAEMON_MAX_LISTENERS];
	size_t nl;
	bool ran;
	atomic_int stop_level;
	_Atomic uint64_t accepted, refused, active, requests;
	_Atomic uint64_t ended[6];
};

int64_t sw__dnow(void);
void sw__dlog(sw_daemon *d, const char *msg);

/* daemon_conn.c */
int sw__dconn_new(sw__dworker *w, int rfd, int wfd, bool own, bool restore);
/* Drives the connection: writes output, feeds kept input, reads if `rd`,
 * until nothing moves; may close it. */
void sw__dconn_drive(sw__dconn *k, bool rd);
/* Closes now: a request in progress is aborted. */
void sw__dconn_close(sw__dconn *k, int why, int err);
/* Applies a stop level to one connection (may close it). */
void sw__dconn_stop(sw__dconn *k, int level);
/* Closes the connection if its deadline passed; returns its deadline. */
int64_t sw__dconn_check_deadline(sw__dconn *k, int64_t now);
/* Frees closed connections. */
void sw__dworker_reap(sw__dworker *w);

#endif
