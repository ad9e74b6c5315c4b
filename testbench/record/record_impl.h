/*
 * The recorder's internals, shared by record.c (the recorder: creation, the
 * poll loop, accepting) and record_conn.c (one proxied connection: its
 * files, its upstream, moving its bytes, closing it).
 */
#ifndef SW_RECORD_IMPL_H
#define SW_RECORD_IMPL_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "record/record.h"
#include "smartwire/medium.h"

enum { CLIENT = 0, UPSTREAM = 1 }; /* sides */
enum { C2S = 0, S2C = 1 };         /* directions: C2S reads CLIENT */

/* One direction: bytes read from side `dir` wait here for side `1 - dir`. */
struct pipe_buf {
	uint8_t *data;
	size_t start, len;
	bool eof;  /* the reading side reported end of stream */
	bool shut; /* ... and we shut down writing towards the other side */
};

struct conn {
	struct conn *next;
	unsigned id;
	sw_medium *m[2];
	int orig_flags[2]; /* client rfd/wfd flags to restore, -1 if unknown */
	struct pipe_buf d[2];
	int file[2];
	int log;
	int64_t t0; /* microseconds, CLOCK_MONOTONIC */
	uint64_t total[2];
	bool failed;
	size_t poll_at, poll_n; /* this round's entries in the pollfd array */
};

struct sw_recorder {
	const sw_mem *mem;
	char *out_dir;
	char *host;
	uint16_t port;
	char **argv; /* one block: pointers then strings */
	size_t bufsize;
	unsigned max;
	int connect_timeout_ms, kill_timeout_ms;
	FILE *events;
	int listen_fd;
	struct conn *conns;
	unsigned count, open, upstream_failures, failed;
	struct pollfd *pfd;
	size_t pfd_cap;
};

/* One line on cfg->events (if any), flushed at once. */
void sw__rec_event(sw_recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line in the connection's log file, prefixed with the seconds (to the
 * microsecond) since it opened. */
void sw__rec_conn_log(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Ends a connection (it must already be unlinked from r->conns): logs and
 * counts it, restores the client's descriptor flags, closes both sides
 * (reaping a command upstream, bounded) and its files, frees it. */
void sw__rec_conn_close(sw_recorder *r, struct conn *c);

/* Moves bytes in direction `dir` as far as the descriptors allow now:
 * reads if `rev_in` (the poll result of the reading side) says so, writes
 * while the other side takes bytes, propagates a half-close.  Failures
 * set c->failed (logged). */
void sw__rec_pump(struct conn *c, int dir, short rev_in, size_t cap);

#endif
