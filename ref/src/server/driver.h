/*
 * The connection driver: ONE sw_srv_conn (the sans-I/O core of
 * smartwire/server.h) over ONE sw_medium, with the idle timeout and the
 * request deadline.  It is the only code that moves bytes between a medium
 * and a core: the daemon's workers (worker.c) run every connection through
 * it, whether it came from accept(2), `serve --inet`'s stdin/stdout or
 * sw_serve_medium() (a fifo, a fault wrapper), so the fault matrix and the
 * fuzz target drive exactly what `smartwire serve` runs.
 *
 * It knows nothing of epoll.  The caller says, per side, whether an event
 * loop watches the medium's descriptor (`rpoll`, `wpoll`; see
 * sw_medium_fds); a side that is not watched is "always ready": it is
 * simply tried, and its reads first wait in sw_medium_wait_readable(),
 * either with the time left to the connection's deadline (`may_block`: the
 * caller has nothing else to do, so a fault plan's stall or a threaded
 * fifo's silence turns into the idle timeout or the deadline, at once for
 * a stall: virtual time) or not at all.  After every call the caller reads
 * `ended`, `want_r`, `want_w` and `deadline` to decide what to watch and
 * when to come back.
 *
 * ZERO-COPY: over a medium that can (sw_medium_zero_copy), the driver
 * asks the core for spans and sinks (smartwire/server.h, "ZERO-COPY
 * BODIES") and moves them with sw_medium_sendfile / sw_medium_splice_in;
 * a direction the medium refuses (SW_ERR_INVALID_ARGUMENT) is switched off
 * for the connection and its bytes are copied.
 *
 * Not thread-safe; one thread drives a connection for its whole life.
 */
#ifndef SMARTWIRE_DRIVER_H
#define SMARTWIRE_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/medium.h"
#include "smartwire/server.h"

/* Consecutive SW_ERR_WOULD_BLOCK results tolerated from a side that is not
 * watched (a fifo without a pump, a fault plan's EAGAIN bursts) before the
 * connection ends with SW_SERVE_STALLED. */
#define SW__DRV_SPIN_LIMIT 100000

/* What every connection of a daemon shares, resolved (no zero defaults). */
typedef struct sw__drv_cfg {
	int idle_ms;     /* < 0: no idle timeout */
	int req_ms;      /* <= 0: no request deadline */
	bool pipe_exact; /* read exactly sw_srv_conn_next_read_size() bytes */
	void (*log)(void *log_ud, const char *msg);
	void *log_ud;
	const sw_mem *mem;
} sw__drv_cfg;

typedef struct sw__drv {
	/* Set by sw__drv_init. */
	const sw__drv_cfg *cfg;
	sw_srv_conn *c; /* owned: deleted by sw__drv_fini */
	sw_medium *m;   /* not owned */
	bool rpoll, wpoll;
	/* Read by the caller after every call. */
	bool ended;       /* `res` is final: release the connection */
	bool want_r;      /* the core wants input and nothing holds it back */
	bool want_w;      /* output is pending that the medium did not take */
	bool progressed;  /* the last sw__drv_run moved bytes or changed state */
	int64_t deadline; /* idle timeout or request deadline (sw_clock_ms), INT64_MAX: none */
	sw_serve_result res;
	/* Private. */
	bool rd_eof;
	bool stopping;
	unsigned zc;    /* SW_SRV_ZC_* the medium can still do */
	uint8_t *stash; /* input read but not yet taken by the core */
	size_t soff, slen;
	int64_t busy_since, idle_since;
	uint64_t reqs_seen;
	unsigned spins;
} sw__drv;

/* Starts driving core `c` (ownership moves to the driver) over `m`; the
 * idle clock starts now. */
void sw__drv_init(sw__drv *v, const sw__drv_cfg *cfg, sw_srv_conn *c, sw_medium *m, bool rpoll,
                  bool wpoll);

/* Frees the core and kept input (a request in progress is aborted).  The
 * medium is the caller's. */
void sw__drv_fini(sw__drv *v);

/* Drives until nothing moves: writes queued output, ends the connection
 * when the core is finished, feeds kept input (pipelined requests), reads
 * when the core wants bytes - from a watched side only if `readable` -
 * and feeds them.  `buf[0..cap)` is scratch for reads (shared by a
 * worker's connections: what the core does not take is kept).  Bounded
 * work per call so that other connections get their turn: when it stops
 * early it sets want_w, which brings the caller back at once. */
void sw__drv_run(sw__drv *v, bool readable, uint8_t *buf, size_t cap, bool may_block);

/* Stop level 1: no new request is started; an idle connection ends now,
 * a busy one after its answer is written.  Level 2: ends now. */
void sw__drv_stop(sw__drv *v, int level);

/* Ends the connection if its deadline is at or before `now` (idle timeout,
 * logged as Breezy does, or request deadline). */
void sw__drv_check_deadline(sw__drv *v, int64_t now);

#endif
