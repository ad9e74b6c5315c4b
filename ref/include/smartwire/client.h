/*
 * smartwire: the blocking client (Breezy's _SmartClient over a client
 * medium), a thin driver of the sans-I/O core of smartwire/client_conn.h.
 *
 *   sw_client    the client medium: one connection at a time, made by a
 *                caller-supplied connect callback so that the client can
 *                disconnect and reconnect (TCP, a spawned command, an
 *                in-process fifo in tests), plus the core that speaks the
 *                protocol on it.  Every function runs the core's one
 *                read/write loop over the medium until the operation ends,
 *                waiting at most timeout_ms for each read (smartwire/clock.h).
 *   sw_response  the response of one call: the args, then the body read
 *                whole, streamed or cancelled.
 *
 * A CALL (sw_client_call) is Breezy's _SmartClientRequest: while the version
 * is unknown it sends v3, and on a bad response marker disconnects, remembers
 * that the remote is before (1, 6), reconnects and sends the same request in
 * v2; it retries once after a connection reset while writing, and once while
 * reading when the verb is safe to send twice (registry info read, idem or
 * semi).  See protocol-reference §5.9 and sw_cli_conn_call.
 *
 * ONE REQUEST AT A TIME (Breezy's TooManyConcurrentRequests): after a call
 * made with expect_body, read or cancel its body (or free its response)
 * before the next call.
 *
 * RUNSTATES.  A client is IDLE (no connection), CONNECTING (inside the
 * connect callback), RUNNING (connected) or DISCONNECTING (closing the
 * medium).  A call made in a state where it is not allowed (for instance from
 * inside the connect callback) returns SW_ERR_STATE.  A failed connect always
 * returns the client to IDLE.
 *
 * ERRORS.  Every function returns 0 (or a count) or a negative sw_err, and
 * records it in the client's core: sw_client_last_error() gives the code
 * and its detail (an sw_errinfo: the errno behind it, and str() of the
 * exception Breezy raises for it, cut to fit), sw_client_error_message() the
 * whole text, sw_client_error_args() the server's error tuple for
 * SW_ERR_ERROR_RESPONSE / SW_ERR_UNKNOWN_METHOD.  Errors that leave the byte
 * stream at an unknown position (connection reset, time-out, I/O error, a
 * response that cannot be decoded) close the connection, so that the next
 * call starts on a fresh one; Breezy sometimes keeps reading a
 * desynchronised stream instead.  Error tuples from the server keep it.
 *
 * THREADS.  A client and its responses are used by one thread at a time.
 * Callbacks must not call back into the same client.
 *
 * LIFETIMES.  Responses point at their client: free them all before
 * sw_client_del().
 */
#ifndef SMARTWIRE_CLIENT_H
#define SMARTWIRE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/client_conn.h"
#include "smartwire/error.h"
#include "smartwire/export.h"
#include "smartwire/medium.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_client sw_client;
typedef struct sw_response sw_response;

/* Consecutive "would block" results without progress (a stalled fifo or
 * fault plan that cannot wait) after which a read or write gives up with
 * SW_ERR_TIMEOUT. */
#define SW_CLIENT_MAX_STALLS 64

typedef enum sw_client_runstate {
	SW_CLIENT_IDLE = 0,
	SW_CLIENT_CONNECTING = 1,
	SW_CLIENT_RUNNING = 2,
	SW_CLIENT_DISCONNECTING = 3
} sw_client_runstate;

/* Opens a new connection: stores a medium in *out (ownership moves to the
 * client, which closes it on disconnect) and returns 0, or returns a negative
 * sw_err (e.g. SW_ERR_CONNECT, SW_ERR_SPAWN), leaves *out alone and may fill
 * *ei (never NULL) with the reason (sw_errinfo_set): its text becomes the
 * client's error message.  Returning 0 with *out NULL counts as
 * SW_ERR_CONNECT.  The callback may set a fifo pump on the medium.  It must
 * not call into the client (SW_ERR_STATE). */
typedef int (*sw_client_connect_fn)(void *ud, sw_medium **out, sw_errinfo *ei);

/* Creates an IDLE client.  `cfg` (NULL: defaults; see sw_client_config in
 * smartwire/client_conn.h) is copied, headers included; `connect` is
 * required; `connect_ud` is passed back to it.  No connection is made until
 * the first request is written (as Breezy connects on the first
 * accept_bytes) or sw_client_connect() is called.
 * Returns 0 (*out owned by the caller, free with sw_client_del),
 * SW_ERR_INVALID_ARGUMENT (out or connect NULL, protocol not 0..3) or
 * SW_ERR_NOMEM. */
SW_API int sw_client_new(sw_client **out, const sw_client_config *cfg, sw_client_connect_fn connect,
                         void *connect_ud, const sw_mem *mem);

/* Disconnects and frees.  NULL is a no-op.  Every response of the client
 * must have been freed before. */
SW_API void sw_client_del(sw_client *c);

/* IDLE -> CONNECTING -> RUNNING.  Returns 0, SW_ERR_STATE (not IDLE), or the
 * connect callback's error (the client is then IDLE again). */
SW_API int sw_client_connect(sw_client *c);

/* Closes the connection, if any (RUNNING -> DISCONNECTING -> IDLE); IDLE is
 * a no-op.  A response whose body is due stays the current request (new
 * calls get SW_ERR_TOO_MANY_REQUESTS) but its body can no longer be read
 * (SW_ERR_CLOSED), as in Breezy.  Returns 0 or SW_ERR_STATE (called while
 * CONNECTING or DISCONNECTING). */
SW_API int sw_client_disconnect(sw_client *c);

/* Breezy's reset(): disconnects and forgets the response whose body is due
 * (reading it then fails with SW_ERR_CLOSED; it may only be freed).
 * Returns 0 or SW_ERR_STATE. */
SW_API int sw_client_reset(sw_client *c);

SW_API sw_client_runstate sw_client_state(const sw_client *c);

/* The current connection's medium (still owned by the client), or NULL when
 * IDLE.  Valid until the next disconnect. */
SW_API sw_medium *sw_client_medium(sw_client *c);

/* Bytes read from the connection that no response consumed (Breezy's
 * push-back buffer): what follows a v1/v2 response in the same read, or a
 * cancelled v1/v2 body.  The next call reads them first.  0 when IDLE and
 * always with pipe_exact (nothing is read past a response). */
SW_API size_t sw_client_pending(const sw_client *c);

/* The protocol version pinned by negotiation or forced by the config (1..3),
 * or 0 while unknown. */
SW_API int sw_client_protocol_version(const sw_client *c);

/* Breezy's _remember_remote_is_before / _is_remote_before: see
 * sw_cli_conn_remember_remote_is_before and sw_cli_conn_is_remote_before. */
SW_API void sw_client_remember_remote_is_before(sw_client *c, int major, int minor);
SW_API bool sw_client_is_remote_before(const sw_client *c, int major, int minor);

/* Breezy's medium.protocol_version(): sw_cli_conn_hello over the medium,
 * storing 1 or 2 in *version (may be NULL) on success.  Results as
 * sw_cli_conn_hello, plus SW_ERR_STATE (CONNECTING or DISCONNECTING),
 * SW_ERR_TIMEOUT, connect and media errors. */
SW_API int sw_client_hello(sw_client *c, int *version);

/* The last error: its code (0 if none; a function that succeeds leaves
 * none), and its detail in *ei if `ei` is not NULL: code, sys_errno (the
 * errno behind a connect or I/O failure, else 0), offset 0, and
 * sw_client_error_message() cut to SW_ERRINFO_TEXT. */
SW_API int sw_client_last_error(const sw_client *c, sw_errinfo *ei);

/* The whole text of the last error: str() of the exception Breezy raises
 * for it (see sw_cli_conn_error_message for examples), the connect
 * callback's text for a connect failure, or sw_strerror() of the code.
 * Never NULL ("" without an error); valid until the next call on the client
 * or one of its responses. */
SW_API const char *sw_client_error_message(const sw_client *c);

/* The server's error tuple behind the last SW_ERR_ERROR_RESPONSE or
 * SW_ERR_UNKNOWN_METHOD (see sw_cli_conn_error_args); NULL with *n = 0
 * otherwise.  Valid as the message. */
SW_API const sw_slice *sw_client_error_args(const sw_client *c, size_t *n);

/* Connections opened and closed by this client, requests sent, resends. */
SW_API void sw_client_get_stats(const sw_client *c, sw_client_stats *out);

/* ======================================================================
 * Calls
 * ====================================================================== */

/* Sends a request and reads the response args: sw_cli_conn_call over the
 * medium.  Nothing in `call` is kept after it returns.
 *
 * On success returns 0 and stores in *out a response owned by the caller
 * (free with sw_response_del); its args are copies.  On error *out is NULL.
 * Errors: those of sw_cli_conn_call (SW_ERR_ERROR_RESPONSE with the tuple
 * in sw_client_error_args, SW_ERR_UNKNOWN_METHOD, SW_ERR_NOT_A_SERVER,
 * SW_ERR_TOO_MANY_REQUESTS, decoding errors, ...), SW_ERR_INVALID_ARGUMENT
 * (out NULL: not recorded), SW_ERR_STATE (CONNECTING or DISCONNECTING, or
 * from inside a callback of this client), connect errors, SW_ERR_TIMEOUT,
 * SW_ERR_IO, SW_ERR_CONNECTION_RESET. */
SW_API int sw_client_call(sw_client *c, const sw_call *call, sw_response **out);

/* Breezy's _SmartClient.call(verb, *args): expects a body, then cancels it.
 * Same results as sw_client_call; the response is finished. */
SW_API int sw_client_call_simple(sw_client *c, sw_slice verb, const sw_slice *args, size_t nargs,
                                 sw_response **out);

/* ======================================================================
 * Responses
 * ====================================================================== */

/* The response tuple (>= 0 elements; v1/v2 lines give >= 1) and its count.
 * Valid until sw_response_del. */
SW_API const sw_slice *sw_response_args(const sw_response *r, size_t *n);

/* The protocol version the response came in (1..3). */
SW_API int sw_response_version(const sw_response *r);

/* True unless the server flagged failure.  Calls that succeed always have a
 * successful response; provided for completeness. */
SW_API bool sw_response_success(const sw_response *r);

/* True once the whole response was read (or cancelled). */
SW_API bool sw_response_finished(const sw_response *r);

/* Reads the body whole, appending it to `out` (Breezy read_body_bytes):
 * sw_cli_conn_read_body over the medium.  A second call appends nothing and
 * returns 0.  Returns 0, SW_ERR_READING_COMPLETED (no body expected, or
 * already finished without reading it), SW_ERR_CLOSED (the client was reset
 * or disconnected since), SW_ERR_CONNECTION_RESET ("Connection lost while
 * reading response body." in v1/v2), decoding errors (SW_ERR_BAD_LENGTH,
 * SW_ERR_BAD_TRAILER, SW_ERR_BODY_TOO_LARGE, ...), SW_ERR_STATE,
 * SW_ERR_TIMEOUT, SW_ERR_IO, SW_ERR_NOMEM. */
SW_API int sw_response_read_body(sw_response *r, sw_buf *out);

/* Reads a streamed body (Breezy read_streamed_body): v3 bytes parts, v2
 * chunked body, through `cb` (see sw_cli_conn_read_streamed_body: v1 is
 * SW_ERR_STATE; a stream ending in an error tuple is SW_ERR_ERROR_RESPONSE
 * or SW_ERR_UNKNOWN_METHOD after every data piece was delivered).  Other
 * errors as sw_response_read_body ("Connection lost while reading streamed
 * body." in v2), SW_ERR_CALLBACK. */
SW_API int sw_response_read_streamed_body(sw_response *r, const sw_body_callbacks *cb, void *ud);

/* Breezy cancel_read_body.  v3: reads the message to its end (the stream
 * stays in sync).  v1/v2: only marks the request finished WITHOUT consuming
 * body bytes, exactly as Breezy; a body that the server did send is then
 * read as the start of the next response.  Returns 0 (also when already
 * finished), SW_ERR_CLOSED, or the read errors. */
SW_API int sw_response_cancel_read_body(sw_response *r);

/* Frees the response.  If its body is still due (neither read nor
 * cancelled) the connection is reset, since the stream position is
 * unknown.  NULL: no-op. */
SW_API void sw_response_del(sw_response *r);

#ifdef __cplusplus
}
#endif
#endif
