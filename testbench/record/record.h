/*
 * smartwire: a recording proxy.
 *
 * A recorder sits between clients and a real server (`brz serve` over TCP,
 * or a spawned `brz serve --inet` per connection) and forwards bytes both
 * ways without looking at them.  Each direction of each connection is saved
 * exactly as seen, which makes captures of real traffic for the dissector,
 * the fuzz corpora and the conformance tests:
 *
 *   DIR/conn-NNN.c2s   every byte the client sent, in order
 *   DIR/conn-NNN.s2c   every byte the server sent, in order
 *   DIR/conn-NNN.log   one line per event: open, each chunk (time since the
 *                      connection opened, direction, offset, size),
 *                      half-close, errors, close
 *
 * NNN counts accepted connections from 1 (at least three digits, so that
 * the files sort in order).  Files of an earlier run with the same numbers
 * are overwritten.
 *
 * The recorder is single-threaded: sw_recorder_step() runs one poll() over
 * the listening socket and every connection's descriptors, so a program
 * (tools/cmd_record.c) or a test drives it in a loop.  No descriptor is
 * read or written unless poll() says it is ready (sockets are also made
 * non-blocking); each direction has a bounded buffer (the proxy stops
 * reading a side while the other side does not take the bytes).  Half-close is
 * propagated: when one side shuts down its writing direction and everything
 * it sent has been forwarded, the recorder shuts down writing towards the
 * other side, and the connection ends when both directions have ended.  Any
 * other failure (a reset, an upstream that cannot be reached) ends the
 * connection: both sides are closed and the reason is logged.
 *
 * Media (smartwire/medium.h): clients are "tcp" media from sw_tcp_accept or
 * any "fd" medium (the --inet mode passes stdin and stdout); a TCP upstream
 * comes from sw_tcp_connect, a command upstream from sw_cmd_spawn with
 * inherit_stderr.  Every medium takes part in the one poll() through the
 * descriptors sw_medium_fds gives (a command's stdout and stdin pipes).
 *
 * RESOURCES, and why.  This is a test bench, not part of the library:
 *   threads    none: one poll() loop, so a program or a test steps it and
 *              nothing needs a lock.
 *   memory     the sw_mem given to sw_recorder_new (tests fail each
 *              allocation in turn); the per-direction buffers are allocated
 *              once per connection.
 *   files      three per connection, opened with open(2) (O_CLOEXEC) and
 *              written with write(2), not stdio: each chunk is on disk before
 *              it is forwarded, so a killed recorder leaves complete
 *              prefixes.  cfg->events is the caller's FILE *, flushed after
 *              each line.
 *   processes  one child per connection with a command upstream, spawned by
 *              the library (close-on-exec pipes above descriptor 2, SIGPIPE
 *              at its default); it shares our stderr so that it can never
 *              block on a stderr pipe nobody drains.  It is reaped when its
 *              connection closes: its pipes are closed, then it has
 *              kill_timeout_ms to exit, then SIGTERM, as long again, SIGKILL.
 *   signals    none installed or changed (tools/cmd_record.c handles SIGINT
 *              and SIGTERM); writes to pipes and sockets never raise SIGPIPE
 *              (the media block or avoid it).
 */
#ifndef SMARTWIRE_RECORD_H
#define SMARTWIRE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smartwire/medium.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_RECORD_BUFFER_DEFAULT (64u * 1024u)  /* bytes buffered per direction */
#define SW_RECORD_CONNECT_TIMEOUT_MS_DEFAULT 10000
#define SW_RECORD_KILL_TIMEOUT_MS_DEFAULT 2000  /* wait for a command upstream to exit */

typedef struct sw_record_config {
	/* Directory for the recordings; created (with parents) if missing.
	 * Required.  Copied. */
	const char *out_dir;
	/* Upstream: either a TCP server (upstream_host non-NULL; port 0 means
	 * SW_TCP_DEFAULT_PORT) or a command run once per connection
	 * (upstream_argv non-NULL, NULL-terminated, searched in PATH).  Exactly
	 * one of the two.  Both are copied. */
	const char *upstream_host;
	uint16_t upstream_port;
	const char *const *upstream_argv;
	/* Per-direction buffer; 0: SW_RECORD_BUFFER_DEFAULT. */
	size_t buffer_size;
	/* Stop accepting after this many connections (0: no limit).  The
	 * recorder is done once they have all ended. */
	unsigned max_connections;
	/* Bound of each TCP connect attempt; 0: default, < 0: no bound. */
	int connect_timeout_ms;
	/* How long to wait for a command upstream to exit after its pipes were
	 * closed, and again after SIGTERM, before SIGKILL; 0: default. */
	int kill_timeout_ms;
	/* One line per connection event ("conn 3: open", "conn 3: closed, 120
	 * bytes c2s, 4012 bytes s2c") is written here if not NULL. */
	FILE *events;
} sw_record_config;

typedef struct sw_recorder sw_recorder;

/* Creates a recorder (no connection, not listening).  Creates cfg->out_dir.
 * Returns 0, SW_ERR_INVALID_ARGUMENT (no out_dir, neither or both upstream
 * kinds, NULL out), SW_ERR_IO (the directory cannot be created; errno
 * preserved), SW_ERR_NOMEM.  *out is freed with sw_recorder_del(). */
int sw_recorder_new(sw_recorder **out, const sw_record_config *cfg, const sw_mem *mem);

/* Closes every connection (their files are complete after this), the
 * listening socket and frees the recorder.  Command upstreams are reaped
 * (bounded by kill_timeout_ms, then SIGKILL).  NULL is a no-op. */
void sw_recorder_del(sw_recorder *r);

/* Listens on addr:port (addr NULL: any address; port 0: a free port; see
 * sw_tcp_listen).  *port_out (may be NULL) receives the bound port.  Returns
 * 0, SW_ERR_STATE (already listening), SW_ERR_IO (detail in *ei, which may
 * be NULL), SW_ERR_INVALID_ARGUMENT. */
int sw_recorder_listen(sw_recorder *r, const char *addr, uint16_t port, uint16_t *port_out,
                       sw_errinfo *ei);

/* Adds a client connection that is already open (the --inet mode passes an
 * "fd" medium over stdin/stdout; tests pass one end of a socket pair).  The
 * medium must be an "fd" or "tcp" medium.  The recorder takes ownership of
 * `client` in every case (it is closed on failure).  Its descriptors are
 * made non-blocking; their original flags are restored before they are
 * closed (or, without SW_FD_OWN, before the recorder forgets them).  The
 * upstream is opened at once.  Returns the connection number (>= 1), or
 * SW_ERR_LIMIT (max_connections reached), SW_ERR_IO (a recording file
 * cannot be created), SW_ERR_NOMEM, SW_ERR_INVALID_ARGUMENT.  An upstream
 * that cannot be reached is NOT an error here: the connection is recorded,
 * logged and closed, and sw_recorder_upstream_failures() counts it. */
int sw_recorder_add_client(sw_recorder *r, sw_medium *client);

/* One round: polls the listening socket and all connections for at most
 * timeout_ms (< 0: no bound), accepts a pending connection (opening its
 * upstream), moves bytes, propagates half-closes and ends finished
 * connections.  A signal interrupting poll() returns 0 early, so a caller
 * can check its flags.  Returns 0, or SW_ERR_NOMEM / SW_ERR_IO for a
 * failure of the recorder itself (poll failing, the listening socket
 * failing), SW_ERR_INVALID_ARGUMENT (r NULL); failures of a single
 * connection are logged and end only that connection.  With nothing to poll
 * (not listening, no connection) it returns 0 at once. */
int sw_recorder_step(sw_recorder *r, int timeout_ms);

/* True when no connection is open and none can come any more: the recorder
 * is not listening, or max_connections were accepted. */
bool sw_recorder_done(const sw_recorder *r);

/* Connections accepted or added so far. */
unsigned sw_recorder_connections(const sw_recorder *r);

/* Connections currently open. */
unsigned sw_recorder_open(const sw_recorder *r);

/* Connections whose upstream could not be opened (connect or spawn failed). */
unsigned sw_recorder_upstream_failures(const sw_recorder *r);

/* Connections that ended with an error (a reset or an I/O error on either
 * side, or an upstream failure), as opposed to a clean close both ways. */
unsigned sw_recorder_failed(const sw_recorder *r);

#ifdef __cplusplus
}
#endif
#endif
