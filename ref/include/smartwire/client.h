/*
 * smartwire: the client session layer (Breezy's client.py, the client half of
 * medium.py, and the client response handlers of protocol.py / message.py).
 *
 * THREE LAYERS, one object each:
 *
 *   sw_client          the client medium: one connection at a time, made by a
 *                      caller-supplied connect callback so that the client can
 *                      disconnect and reconnect (TCP, a spawned command, an
 *                      in-process fifo in tests).  It remembers the protocol
 *                      version that worked and the "remote is before" bound.
 *   sw_client_request  Breezy's SmartClientStreamMediumRequest: the
 *                      writing -> reading -> done state machine over the
 *                      connection, at most one outstanding per client.
 *   sw_response        the response handler of one call: the args, then the
 *                      body read whole, streamed or cancelled.
 *
 * A CALL (sw_client_call) is Breezy's _SmartClientRequest: while the version
 * is unknown it sends v3, and on a bad response marker disconnects, remembers
 * that the remote is before (1, 6), reconnects and sends the same request in
 * v2; it retries once after a connection reset while writing, and once while
 * reading when the verb is safe to send twice (registry info read, idem or
 * semi).  See protocol-reference §5.9.
 *
 * RUNSTATES.  A client is IDLE (no connection), CONNECTING (inside the
 * connect callback), RUNNING (connected) or DISCONNECTING (closing the
 * medium).  A call made in a state where it is not allowed (for instance from
 * inside the connect callback) returns SW_ERR_STATE.  A failed connect always
 * returns the client to IDLE.
 *
 * ERRORS.  Every function returns 0 (or a count) or a negative sw_err.  After
 * any error the client records: the code (sw_client_last_error), the text
 * Breezy's exception would print, str(exc) (sw_client_error_message), and for
 * SW_ERR_ERROR_RESPONSE / SW_ERR_UNKNOWN_METHOD the server's error tuple
 * (sw_client_error_args).  Errors that leave the byte stream in an unknown
 * position (connection reset, time-out, I/O error, a response that cannot be
 * decoded) reset the connection, so that the next call starts on a fresh one;
 * Breezy sometimes keeps reading a desynchronised stream instead.  Protocol
 * errors reported by the server (error tuples) keep the connection.
 *
 * THREADS.  A client and everything made from it are used by one thread at a
 * time.  Callbacks must not call back into the same client unless stated.
 *
 * LIFETIMES.  Requests and responses point at their client: free them all
 * before sw_client_del().
 */
#ifndef SMARTWIRE_CLIENT_H
#define SMARTWIRE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/medium.h"
#include "smartwire/mem.h"
#include "smartwire/readv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_client sw_client;
typedef struct sw_client_request sw_client_request;
typedef struct sw_response sw_response;

/* ======================================================================
 * The client medium
 * ====================================================================== */

/* Default bound on each wait for response bytes.  Breezy has none (it
 * blocks forever on a silent server); we give up with SW_ERR_TIMEOUT. */
#define SW_CLIENT_DEFAULT_TIMEOUT_MS 60000
/* Bytes asked of the medium per read (Breezy's MAX_SOCKET_CHUNK). */
#define SW_CLIENT_DEFAULT_READ_SIZE 65536
/* Longest v1/v2 response line (marker, status or tuple), "\n" included. */
#define SW_CLIENT_DEFAULT_MAX_LINE (1u << 20)
/* Most elements in a response tuple (v1/v2 line or v3 args structure). */
#define SW_CLIENT_DEFAULT_MAX_ARGS 4096
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
 * sw_err (e.g. SW_ERR_CONNECT, SW_ERR_SPAWN) and leaves *out alone.  Returning
 * 0 with *out NULL counts as SW_ERR_CONNECT.  The callback may set a fifo
 * pump on the medium.  It must not call into the client (SW_ERR_STATE). */
typedef int (*sw_client_connect_fn)(void *ud, sw_medium **out);

/* Zero-initialise and set what you need: a zero field means its default. */
typedef struct sw_client_config {
	/* 0: negotiate as Breezy (v3, then v2 on a bad marker; v1 never).
	 * 1, 2 or 3: always use that version (no negotiation). */
	int protocol;
	/* Bound in ms on each wait for response bytes; 0: the default
	 * SW_CLIENT_DEFAULT_TIMEOUT_MS; negative: no bound. */
	int timeout_ms;
	/* Breezy's -Dnoretry: never resend after a connection reset. */
	bool no_retry;
	/* v3 request headers.  headers_set false: Breezy's
	 * {"Software version": "3.3.2"}.  True: headers[2*i] / headers[2*i+1]
	 * are the key / value of pair i, header_pairs pairs (0: "de", as the
	 * Breezy test suite's headers={}); copied by sw_client_new. */
	bool headers_set;
	const sw_slice *headers;
	size_t header_pairs;
	/* 0 for each: the defaults above / of the codec headers. */
	size_t read_size;
	size_t max_line;
	size_t max_args;
	uint32_t max_struct; /* v3 structure part (SW_V3_DEFAULT_MAX_STRUCT) */
	uint32_t max_part;   /* v3 bytes part (SW_V3_DEFAULT_MAX_PART) */
	uint64_t max_body;   /* v1/v2 length-prefixed body (SW_PREFIXED_DEFAULT_MAX_BODY) */
	uint64_t max_chunk;  /* v2 chunk (SW_CHUNKED_DEFAULT_MAX_CHUNK) */
} sw_client_config;

/* Creates an IDLE client.  `cfg` (NULL: defaults) is copied, headers
 * included; `connect` is required; `connect_ud` is passed back to it.  No
 * connection is made until the first request writes (as Breezy connects on
 * the first accept_bytes) or sw_client_connect() is called.
 * Returns 0 (*out owned by the caller, free with sw_client_del),
 * SW_ERR_INVALID_ARGUMENT (out or connect NULL, protocol not 0..3) or
 * SW_ERR_NOMEM. */
SW_API int sw_client_new(sw_client **out, const sw_client_config *cfg, sw_client_connect_fn connect,
                         void *connect_ud, const sw_mem *mem);

/* Disconnects and frees.  NULL is a no-op.  Every request and response of
 * the client must have been freed before. */
SW_API void sw_client_del(sw_client *c);

/* IDLE -> CONNECTING -> RUNNING.  Returns 0, SW_ERR_STATE (not IDLE), or the
 * connect callback's error (the client is then IDLE again). */
SW_API int sw_client_connect(sw_client *c);

/* Closes the connection, if any (RUNNING -> DISCONNECTING -> IDLE); IDLE is
 * a no-op.  An outstanding request stays open but can no longer do I/O
 * (SW_ERR_CLOSED), as in Breezy.  Returns 0 or SW_ERR_STATE (called while
 * CONNECTING or DISCONNECTING). */
SW_API int sw_client_disconnect(sw_client *c);

/* Breezy's reset(): disconnects and forgets the outstanding request (which
 * then fails every I/O call with SW_ERR_CLOSED and may only be freed).
 * Returns 0 or SW_ERR_STATE. */
SW_API int sw_client_reset(sw_client *c);

SW_API sw_client_runstate sw_client_state(const sw_client *c);

/* The current connection's medium (still owned by the client), or NULL when
 * IDLE.  Valid until the next disconnect. */
SW_API sw_medium *sw_client_medium(sw_client *c);

/* The protocol version pinned by negotiation or forced by the config (1..3),
 * or 0 while unknown. */
SW_API int sw_client_protocol_version(const sw_client *c);

/* Breezy's _remember_remote_is_before((major, minor)): records that the
 * server is older than that version, unless an older bound is already
 * known (a newer one is then ignored, as Breezy does). */
SW_API void sw_client_remember_remote_is_before(sw_client *c, int major, int minor);

/* Breezy's _is_remote_before((major, minor)): true when a bound is known and
 * (major, minor) >= it. */
SW_API bool sw_client_is_remote_before(const sw_client *c, int major, int minor);

/* Breezy's medium.protocol_version(): sends "hello\n" in protocol v1 (on the
 * current connection, without negotiation or retry) and accepts ("ok", "1")
 * or ("ok", "2"), storing 1 or 2 in *version (may be NULL).  The result is
 * cached: later calls send nothing.  A bad answer is SW_ERR_PROTOCOL
 * ("bad response (...)") and is cached too, like Breezy's
 * _protocol_version_error; other errors (connection reset, I/O) are not.
 * Also SW_ERR_TOO_MANY_REQUESTS, SW_ERR_UNKNOWN_METHOD, SW_ERR_ERROR_RESPONSE,
 * SW_ERR_NOMEM, SW_ERR_TIMEOUT, SW_ERR_CONNECTION_RESET, media errors. */
SW_API int sw_client_hello(sw_client *c, int *version);

/* The last error recorded by any function of this client (0 if none since
 * the last successful call that clears it: sw_client_call and
 * sw_client_hello clear it when they start). */
SW_API int sw_client_last_error(const sw_client *c);

/* str() of the exception Breezy raises for the last error, e.g.
 *   "Connection closed: Unexpected end of message. Please check connectivity
 *    and permissions, and report a bug if problems persist. "  (trailing space)
 *   "Generic bzr smart protocol error: Server is not a Bazaar server:
 *    Received bad protocol version marker: b'SSH-2.0-OpenSSH_9.0\r\n'"
 *   "Error received from smart server: (b'NoSuchFile', b'/x')"
 *   "The server does not recognise the 'b'foo'' request."
 * or sw_strerror() of the code for errors Breezy has no text for.  Never
 * NULL ("" before any error); valid until the next call on the client or
 * one of its requests/responses.  May be shorter than Breezy's (even empty)
 * if memory ran out while formatting it. */
SW_API const char *sw_client_error_message(const sw_client *c);

/* The server's error tuple behind the last SW_ERR_ERROR_RESPONSE (v3 'E'
 * args, v2 "failed" tuple, v1 tuple from the error list, a mid-stream v3 oE
 * structure or v2 ERR chunks) or SW_ERR_UNKNOWN_METHOD (v3 ("UnknownMethod",
 * verb); v1/v2: ("error", "Generic bzr smart protocol error: bad request
 * '<verb>'")).  NULL with *n = 0 otherwise.  Valid as the message. */
SW_API const sw_slice *sw_client_error_args(const sw_client *c, size_t *n);

typedef struct sw_client_stats {
	uint64_t connects;    /* successful connect callbacks */
	uint64_t disconnects; /* media closed */
	uint64_t requests;    /* requests created */
	uint64_t retries;     /* resends after a connection reset */
} sw_client_stats;

SW_API void sw_client_get_stats(const sw_client *c, sw_client_stats *out);

/* ======================================================================
 * The medium request (Breezy's SmartClientStreamMediumRequest)
 *
 *   call               writing           reading            done
 *   write              ok                WRITING_COMPLETED  WRITING_COMPLETED
 *   finish_writing     -> reading        WRITING_COMPLETED  WRITING_COMPLETED
 *   read, read_line    WRITING_NOT_COMPLETE  ok             READING_COMPLETED
 *   finish_reading     WRITING_NOT_COMPLETE  -> done        READING_COMPLETED
 * ====================================================================== */

typedef enum sw_client_request_state {
	SW_CLIENT_REQUEST_WRITING = 0,
	SW_CLIENT_REQUEST_READING = 1,
	SW_CLIENT_REQUEST_DONE = 2
} sw_client_request_state;

/* Opens the client's one request.  Returns 0 (*out owned by the caller, free
 * with sw_client_request_del), SW_ERR_TOO_MANY_REQUESTS (a request is open:
 * finish reading it or reset), SW_ERR_STATE (CONNECTING/DISCONNECTING),
 * SW_ERR_NOMEM. */
SW_API int sw_client_request_new(sw_client *c, sw_client_request **out);

/* Breezy's accept_bytes: connects if IDLE, then writes all `n` bytes.
 * Returns 0, SW_ERR_WRITING_COMPLETED, SW_ERR_CLOSED (the request lost its
 * connection through a reset), the connect error, SW_ERR_CONNECTION_RESET,
 * SW_ERR_IO, SW_ERR_TIMEOUT (the medium kept refusing), SW_ERR_NOMEM. */
SW_API int sw_client_request_write(sw_client_request *r, const void *p, size_t n);

/* writing -> reading.  Returns 0 or SW_ERR_WRITING_COMPLETED. */
SW_API int sw_client_request_finish_writing(sw_client_request *r);

/* Breezy's read_bytes: bytes already buffered by the client, or one read of
 * the medium (at most min(n, read_size)).  Returns > 0 bytes, 0 at end of
 * stream, SW_ERR_WRITING_NOT_COMPLETE, SW_ERR_READING_COMPLETED,
 * SW_ERR_CLOSED, SW_ERR_TIMEOUT, SW_ERR_IO, SW_ERR_NOMEM. */
SW_API ptrdiff_t sw_client_request_read(sw_client_request *r, void *buf, size_t n);

/* Breezy's read_line: replaces `line` with the next line, "\n" included.
 * Bytes after the "\n" stay buffered in the client for the next read.
 * Returns the line length, SW_ERR_CONNECTION_RESET at end of stream before
 * the "\n" (message "Unexpected end of message. ..."), SW_ERR_LINE_TOO_LONG,
 * and the errors of sw_client_request_read. */
SW_API ptrdiff_t sw_client_request_read_line(sw_client_request *r, sw_buf *line);

/* reading -> done; frees the client for the next request.  Returns 0,
 * SW_ERR_WRITING_NOT_COMPLETE or SW_ERR_READING_COMPLETED. */
SW_API int sw_client_request_finish_reading(sw_client_request *r);

SW_API sw_client_request_state sw_client_request_get_state(const sw_client_request *r);

/* Frees a request.  Freeing the client's open request before it is done
 * resets the connection (the stream position is unknown).  NULL: no-op. */
SW_API void sw_client_request_del(sw_client_request *r);

/* ======================================================================
 * Calls
 * ====================================================================== */

typedef enum sw_call_body {
	SW_CALL_BODY_NONE = 0,  /* Breezy call / call_expecting_body */
	SW_CALL_BODY_BYTES = 1, /* call_with_body_bytes[_expecting_body] */
	SW_CALL_BODY_READV = 2, /* call_with_body_readv_array */
	SW_CALL_BODY_STREAM = 3 /* call_with_body_stream (v3 only) */
} sw_call_body;

/* Produces the next chunk of a streamed request body: store it in *chunk
 * (valid until the next call of the function) and return 1; return 0 at the
 * end; return a negative value to abort, which sends Breezy's abort
 * ("oE" s(("error",)) "e") and makes the call fail with SW_ERR_CALLBACK. */
typedef int (*sw_call_stream_fn)(void *ud, sw_slice *chunk);

typedef struct sw_call {
	sw_slice verb;
	const sw_slice *args; /* may be NULL when nargs is 0 */
	size_t nargs;
	sw_call_body body_kind;
	sw_slice body;                /* SW_CALL_BODY_BYTES */
	const sw_readv_range *ranges; /* SW_CALL_BODY_READV */
	size_t nranges;
	sw_call_stream_fn stream; /* SW_CALL_BODY_STREAM */
	void *stream_ud;
	/* Whether the caller will read a response body (Breezy's
	 * expect_response_body).  False: the call reads the response to its
	 * end.  True: it stops after the args; read or cancel the body next. */
	bool expect_body;
} sw_call;

/* Sends a request and reads the response args, negotiating the version and
 * retrying as Breezy's _SmartClientRequest.call_and_read_response.  Nothing
 * in `call` is kept after it returns.
 *
 * On success returns 0 and stores in *out a response owned by the caller
 * (free with sw_response_del); its args are copies.  On error *out is NULL.
 * Errors: SW_ERR_ERROR_RESPONSE (the server answered with an error tuple:
 * sw_client_error_args), SW_ERR_UNKNOWN_METHOD (also a body stream over
 * v1/v2: nothing is sent, as Breezy), SW_ERR_NOT_A_SERVER (neither v3 nor v2
 * markers came back), SW_ERR_BAD_MARKER (forced version), SW_ERR_BAD_STATUS,
 * SW_ERR_CONNECTION_RESET, SW_ERR_TIMEOUT, SW_ERR_TOO_MANY_REQUESTS,
 * SW_ERR_STATE, SW_ERR_CALLBACK (aborted stream), SW_ERR_INVALID_ARGUMENT
 * (bad call), SW_ERR_BAD_ARGUMENT_BYTE (v1/v2 arg with 0x01 or "\n"),
 * decoding errors of the v3 framing (SW_ERR_BENCODE_*, SW_ERR_BAD_KIND,
 * SW_ERR_*_TOO_LARGE, SW_ERR_HEADER_NOT_DICT), of the conventional response
 * grammar (SW_ERR_BAD_STATUS_BYTE, SW_ERR_UNEXPECTED_PART,
 * SW_ERR_PREMATURE_END: 'e' before the args, SW_ERR_PROTOCOL: args not a
 * list of byte strings), SW_ERR_LINE_TOO_LONG, SW_ERR_TOO_MANY_ARGS,
 * connect and media errors, SW_ERR_NOMEM. */
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

/* Reads the body whole, appending it to `out` (Breezy read_body_bytes).  v3:
 * every bytes part joined, a trailing oE error is NOT checked (as Breezy).
 * v1/v2: a length-prefixed body.  A second call appends nothing and returns
 * 0.  Returns 0, SW_ERR_READING_COMPLETED (no body expected, or already
 * finished without reading it), SW_ERR_CONNECTION_RESET ("Connection lost
 * while reading response body." in v1/v2), decoding errors
 * (SW_ERR_BAD_LENGTH, SW_ERR_BAD_TRAILER, SW_ERR_BODY_TOO_LARGE, ...),
 * SW_ERR_TIMEOUT, SW_ERR_IO, SW_ERR_NOMEM. */
SW_API int sw_response_read_body(sw_response *r, sw_buf *out);

typedef struct sw_body_callbacks {
	/* A piece of body bytes as it arrives (never empty; valid during the
	 * call).  Non-zero aborts: SW_ERR_CALLBACK, and the connection is reset. */
	int (*on_data)(void *ud, const uint8_t *p, size_t n);
	/* The end of one v3 bytes part or one v2 chunk (may be NULL). */
	int (*on_part_end)(void *ud);
} sw_body_callbacks;

/* Reads a streamed body (Breezy read_streamed_body): v3 bytes parts, v2
 * chunked body.  v1 has no streamed bodies (Breezy's v1 handler has no
 * read_streamed_body): SW_ERR_STATE.  A stream ending in an error (v3 oE + structure, v2 ERR
 * chunks) returns SW_ERR_ERROR_RESPONSE (v3 ("UnknownMethod", ..):
 * SW_ERR_UNKNOWN_METHOD) after every data piece was delivered, with the
 * tuple in sw_client_error_args.  Other errors as sw_response_read_body
 * ("Connection lost while reading streamed body." in v2). */
SW_API int sw_response_read_streamed_body(sw_response *r, const sw_body_callbacks *cb, void *ud);

/* Breezy cancel_read_body.  v3: reads the message to its end (the stream
 * stays in sync).  v1/v2: only marks the request finished WITHOUT consuming
 * body bytes, exactly as Breezy; a body that the server did send is then
 * read as the start of the next response.  Returns 0 (also when already
 * finished) or the read errors. */
SW_API int sw_response_cancel_read_body(sw_response *r);

/* Frees the response.  If its request is still open (body neither read nor
 * cancelled) the connection is reset, since the stream position is unknown.
 * NULL: no-op. */
SW_API void sw_response_del(sw_response *r);

#ifdef __cplusplus
}
#endif
#endif
