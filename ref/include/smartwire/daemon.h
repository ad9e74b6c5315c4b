/*
 * smartwire: the multi-connection server (Breezy's SmartTCPServer, and the
 * one-connection `serve --inet` case), built on the sans-I/O connection core
 * of smartwire/server.h.
 *
 * CONCURRENCY MODEL: a few event-loop threads, not a thread per connection.
 *
 *   Each of `workers` threads runs its own epoll loop over the connections
 *   it owns.  All workers wait on the listening socket (EPOLLEXCLUSIVE, so one
 *   is woken per connection); the one that accepts keeps the connection for
 *   its whole life.  Every connection is a medium (smartwire/medium.h:
 *   accepted sockets and --inet's stdin/stdout become fd media) driven by
 *   ONE connection driver, the same for every kind of connection and for
 *   sw_serve_medium(): it moves bytes between the medium and the
 *   sans-I/O core (sw_srv_conn_feed/output) and keeps the idle timeout and
 *   the request deadline.  Descriptors are non-blocking and polled
 *   (sw_medium_fds); a connection is driven only when they are ready, so a
 *   client that sends or reads one byte a second costs a few bytes of
 *   state and never holds a thread.  BACKPRESSURE: a connection is read
 *   only while nothing it must write is blocked and no input it already
 *   sent waits to be taken, so a client that pipelines requests without
 *   reading the answers stops being read instead of making the server
 *   buffer (the core bounds its output queue, smartwire/server.h).
 *
 *   Why: sw_srv_conn is sans-I/O, so an event loop is the natural driver and
 *   keeps an idle connection down to its core (no stack, no read buffer: one
 *   read buffer of srv.read_size (64 KiB) per worker; input the core cannot
 *   take yet is kept in a buffer sized to it).  1,000 idle connections cost well under 1 MiB.
 *   Breezy's thread per connection would cost a stack each and, without the
 *   timeouts below, lets a slow client pin a thread forever.  Several workers
 *   rather than one because the VFS does blocking file-system work (a put's
 *   fsync, a large readdir): while one worker waits on the disk, the others
 *   keep serving.  A slow disk operation delays only the connections of that
 *   worker, and only for that operation.
 *
 * LIMITS AND TIMEOUTS
 *   max_connections  connections served at once.  Over the limit a new
 *                    connection is accepted and closed at once (the client
 *                    sees end of stream; Breezy reports "Connection closed"),
 *                    rather than left in the kernel backlog where the client
 *                    would hang until its own timeout.  Counted in `refused`.
 *   srv.idle_timeout_ms  as Breezy: while waiting for the first byte of a
 *                    request; the connection is closed silently and
 *                    "Connection Timeout: disconnecting client after N
 *                    seconds" is logged.
 *   srv.request_timeout_ms  the request deadline (0: none, as Breezy): from
 *                    the first byte of a request until its response is
 *                    completely WRITTEN.  On expiry the request is aborted
 *                    (nothing applied if its body was incomplete) and the
 *                    connection closed.  This bounds a client that trickles
 *                    a request or reads a response one byte at a time.
 *   The other sw_srv_config fields limit each request (smartwire/server.h).
 *
 * STOPPING (Breezy's SIGHUP _stop_gracefully)
 *   The first sw_daemon_stop() stops accepting (listeners are dropped from
 *   the loops; the caller closes them), closes idle connections, lets every
 *   request in flight finish (its response is written in full, bounded by
 *   the request deadline if one is set) and closes each connection after it;
 *   sw_daemon_run() returns when none is left.  Pipelined requests queued
 *   behind the one in flight are not started.  A second sw_daemon_stop()
 *   closes everything at once.  sw_daemon_stop() is async-signal-safe: call
 *   it from a SIGTERM/SIGHUP handler (it only does atomic operations and
 *   write(2) to eventfds).  The library installs no signal handler.
 *
 * SIGPIPE.  Sockets are written with MSG_NOSIGNAL.  For a pipe (--inet's
 * stdout) the worker blocks SIGPIPE in its own thread while running and
 * discards a pending one before returning, so a vanished reader is an I/O
 * error on that connection, never a dead process.
 *
 * ALWAYS READY.  Descriptors that epoll cannot watch (a regular file or
 * /dev/null as stdin of `serve --inet`) and media without descriptors (an
 * in-process fifo, a fault wrapper) are treated as always ready: tried on
 * every pass of the loop; a read first waits in sw_medium_wait_readable(),
 * with the time left to the connection's deadline when it is alone on its
 * worker with no listener (sw_serve_medium's case: a fault plan's stall
 * becomes the idle timeout or the deadline at once, a threaded fifo's
 * silence the same in real time; a stop is seen when that wait ends), else
 * without waiting.  A side that keeps saying SW_ERR_WOULD_BLOCK (a
 * single-threaded fifo with nothing left) ends the connection as
 * SW_SERVE_STALLED.
 *
 * O_NONBLOCK.  The descriptors of every medium served are made
 * non-blocking for the connection's life and the flag is cleared again
 * when it ends if it was clear before (only that flag: an inherited
 * description is shared with other processes), also when stdin and stdout
 * share one description (inetd's socket).
 */
#ifndef SMARTWIRE_DAEMON_H
#define SMARTWIRE_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"
#include "smartwire/server.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_DAEMON_DEFAULT_WORKERS 4
#define SW_DAEMON_DEFAULT_MAX_CONNECTIONS 1024
#define SW_DAEMON_MAX_WORKERS 256
#define SW_DAEMON_READ_BUF 65536 /* per worker; Breezy's MAX_SOCKET_CHUNK */

typedef struct sw_daemon_config {
	/* Per connection: limits, idle timeout, request deadline (see above),
	 * log sink, pipe_exact.  srv.log is called from worker threads,
	 * possibly concurrently.  srv.read_size is the size of each worker's
	 * read buffer. */
	sw_srv_config srv;
	unsigned workers;         /* event-loop threads; 0: default */
	unsigned max_connections; /* 0: default */
} sw_daemon_config;

typedef struct sw_daemon sw_daemon;

/* Creates a daemon.  `cfg` (NULL: defaults) and `d` are copied; d->begin is
 * required.  `uds[0..nuds)` are the handler's user data: nuds == 1 shares
 * uds[0] among all workers (the handler must then be thread-safe, or workers
 * must be 1); nuds == workers gives worker i uds[i] (e.g. one sw_vfs per
 * worker).  Nothing runs until sw_daemon_run().  Returns 0,
 * SW_ERR_INVALID_ARGUMENT (bad nuds, workers over SW_DAEMON_MAX_WORKERS),
 * SW_ERR_NOMEM, or SW_ERR_IO (epoll/eventfd creation; errno set). */
SW_API int sw_daemon_new(sw_daemon **out, const sw_daemon_config *cfg, const sw_dispatch *d,
                         void *const *uds, size_t nuds, const sw_mem *mem);

/* Adds a listening socket (e.g. from sw_tcp_listen), before sw_daemon_run.
 * It is made non-blocking but stays the caller's: close it after run
 * returns.  Returns 0, SW_ERR_STATE (running), SW_ERR_INVALID_ARGUMENT,
 * SW_ERR_NOMEM, SW_ERR_IO. */
SW_API int sw_daemon_add_listener(sw_daemon *d, int fd);

/* Adds one connection on medium `m`, served by worker 0, before
 * sw_daemon_run (see ALWAYS READY above for media without descriptors).
 * When the connection ends `m` is deleted if `own`, and `*res` (if `res`
 * is not NULL; it must stay valid until then) receives how it ended; read
 * it after sw_daemon_run returned.  On failure `m` stays the caller's,
 * untouched.  Returns 0, SW_ERR_STATE (running), SW_ERR_INVALID_ARGUMENT,
 * SW_ERR_LIMIT (max_connections), SW_ERR_NOMEM, SW_ERR_IO (a descriptor
 * of `m` that cannot be made non-blocking or watched). */
SW_API int sw_daemon_add_medium(sw_daemon *d, sw_medium *m, bool own, sw_serve_result *res);

/* Adds one already connected client on a read and a write descriptor (the
 * same socket twice is fine; `serve --inet` passes 0 and 1): an fd medium
 * (sw_fd_medium_new) added as by sw_daemon_add_medium.  The descriptors
 * are closed when the connection ends if `own`; on failure they are not
 * closed.  Returns as sw_daemon_add_medium. */
SW_API int sw_daemon_add_conn(sw_daemon *d, int rfd, int wfd, bool own, sw_serve_result *res);

/* Runs the workers (worker 0 on the calling thread) until stopped, or, when
 * no listener was added, until every connection has ended.  Can run once.
 * Returns 0, SW_ERR_STATE (ran before), SW_ERR_IO (a thread could not be
 * created or epoll failed; everything is stopped and closed first). */
SW_API int sw_daemon_run(sw_daemon *d);

/* Requests a graceful stop (first call) or an immediate one (later calls).
 * Async-signal-safe, callable from any thread, before or during run (a stop
 * before run makes run return as soon as idle connections are closed). */
SW_API void sw_daemon_stop(sw_daemon *d);

/* How connections ended, and counters.  Safe to read from any thread at any
 * time (each field is read atomically; the set is not a snapshot). */
typedef struct sw_daemon_stats {
	uint64_t accepted; /* connections accepted and served */
	uint64_t refused;  /* accepted and closed at once: max_connections */
	uint64_t active;   /* connections open now */
	uint64_t requests; /* requests completed on closed connections */
	/* How connections ended (sw_serve_end): EOF and EOF_MID_REQUEST,
	 * TIMEOUT, DEADLINE, PROTOCOL, IO and STALLED, STOPPED. */
	uint64_t ended_eof, ended_timeout, ended_deadline, ended_protocol, ended_io, ended_stop;
} sw_daemon_stats;

SW_API void sw_daemon_get_stats(const sw_daemon *d, sw_daemon_stats *st);

/* Frees the daemon (after run returned, or without running: added
 * connections are closed as for their `own` flag).  NULL is a no-op. */
SW_API void sw_daemon_del(sw_daemon *d);

#ifdef __cplusplus
}
#endif
#endif
