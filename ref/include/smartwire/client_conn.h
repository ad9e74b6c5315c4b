/*
 * smartwire: the sans-I/O client core (Breezy's client.py _SmartClient and
 * _SmartClientRequest, the client halves of protocol.py and message.py).
 *
 * sw_cli_conn is the whole client protocol without a medium or a clock: the
 * caller takes request bytes out (sw_cli_conn_output / _output_done), puts
 * response bytes in (sw_cli_conn_feed, sw_cli_conn_eof), and opens and
 * closes connections when the core asks.  It encodes requests (v3, v2, v1),
 * decodes responses with the codec's decoders (smartwire/v3.h, and
 * smartwire/v12.h with the bodies of smartwire/body.h), applies Breezy's
 * client rules (version negotiation v3 -> v2, the retries, expect_body,
 * streamed bodies and their error chunks, cancel, the unknown-method
 * translation) and keeps the last error with Breezy's exception text.  The
 * blocking calls of smartwire/client.h are one driver of it; an event loop
 * is another.  It mirrors the server's sw_srv_conn (smartwire/server.h).
 *
 * "Connection" here is Breezy's client medium: one byte stream at a time,
 * which the core may ask to close and open again (a v3 request refused with
 * a bad marker is resent in v2 on a new connection; a reset is retried).
 *
 * ONE OPERATION AT A TIME.  An operation is started by sw_cli_conn_call,
 * sw_cli_conn_hello, sw_cli_conn_read_body, sw_cli_conn_read_streamed_body
 * or sw_cli_conn_cancel_read_body, and then driven until sw_cli_conn_want()
 * says SW_CLI_IDLE, when sw_cli_conn_result() holds its outcome:
 *
 *     rc = sw_cli_conn_call(core, &call);      (0: started)
 *     while (rc == 0 && (w = sw_cli_conn_want(core)) != SW_CLI_IDLE) {
 *         SW_CLI_CONNECT  open a connection, then sw_cli_conn_connected(),
 *                         or sw_cli_conn_fail(core, err, &ei)
 *         SW_CLI_WRITE    sw_cli_conn_output(core, &p, &n); write them (n may
 *                         be 0: ask again); sw_cli_conn_output_done(core, k)
 *                         or sw_cli_conn_fail(core, err, &ei)
 *         SW_CLI_READ     feed unconsumed bytes first; else read up to
 *                         sw_cli_conn_next_read_size() bytes (exactly that
 *                         many never reads past the response, as Breezy's pipe
 *                         medium) or more (a socket buffer) and feed them,
 *                         keeping what feed did not consume for later;
 *                         end of stream: sw_cli_conn_eof(); a read error or
 *                         your time-out: sw_cli_conn_fail()
 *         SW_CLI_CLOSE    close the connection, drop the unconsumed bytes,
 *                         sw_cli_conn_closed()
 *     }
 *     rc = sw_cli_conn_result(core);
 *
 * A response has no end marker in v1/v2 and may be followed by anything, so
 * bytes that feed does not consume belong to the caller and must be fed
 * again first on the same connection (Breezy's push-back buffer): a v1/v2
 * body that was cancelled is read by the next call as its response, exactly
 * as in Breezy (protocol-reference §2.6).
 *
 * CALLBACKS (a request body stream, body data) run inside sw_cli_conn_output
 * and sw_cli_conn_feed; they must not call sw_cli_conn_* on the same core.
 *
 * ERRORS.  Every failure is recorded in one place: its code, the errno
 * behind it, str() of the exception Breezy raises for it (byte for byte),
 * and for SW_ERR_ERROR_RESPONSE / SW_ERR_UNKNOWN_METHOD the server's error
 * tuple: sw_cli_conn_last_error(), sw_cli_conn_error_message(),
 * sw_cli_conn_error_args().  Starting an operation clears the record; an
 * operation that succeeds leaves it clear.  A failure that leaves the byte
 * stream at an unknown position (end of stream, I/O error, time-out, a
 * response that cannot be decoded, an aborted callback) closes the
 * connection (SW_CLI_CLOSE); error tuples from the server keep it.
 *
 * THREADS.  One thread at a time per core.
 */
#ifndef SMARTWIRE_CLIENT_CONN_H
#define SMARTWIRE_CLIENT_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/error.h"
#include "smartwire/export.h"
#include "smartwire/mem.h"
#include "smartwire/readv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Configuration (shared with the blocking driver of smartwire/client.h)
 * ====================================================================== */

/* Default bound on each wait for response bytes (driver).  Breezy has none
 * (it blocks forever on a silent server); we give up with SW_ERR_TIMEOUT. */
#define SW_CLIENT_DEFAULT_TIMEOUT_MS 60000
/* Bytes asked of the medium per read (driver; Breezy's MAX_SOCKET_CHUNK). */
#define SW_CLIENT_DEFAULT_READ_SIZE 65536
/* Longest v1/v2 response line (marker, status or tuple), "\n" included. */
#define SW_CLIENT_DEFAULT_MAX_LINE (1u << 20)
/* Most elements in a response tuple (v1/v2 line or v3 args structure). */
#define SW_CLIENT_DEFAULT_MAX_ARGS 4096

/* Zero-initialise and set what you need: a zero field means its default. */
typedef struct sw_client_config {
	/* 0: negotiate as Breezy (v3, then v2 on a bad marker; v1 never).
	 * 1, 2 or 3: always use that version (no negotiation). */
	int protocol;
	/* Breezy's -Dnoretry: never resend after a connection reset. */
	bool no_retry;
	/* v3 request headers.  headers_set false: Breezy's
	 * {"Software version": "3.3.2"}.  True: headers[2*i] / headers[2*i+1]
	 * are the key / value of pair i, header_pairs pairs (0: "de", as the
	 * Breezy test suite's headers={}); copied at creation. */
	bool headers_set;
	const sw_slice *headers;
	size_t header_pairs;
	/* Limits on what the server controls; 0 for each: the defaults above /
	 * of the codec headers. */
	size_t max_line;
	size_t max_args;
	uint32_t max_struct; /* v3 structure part (SW_V3_DEFAULT_MAX_STRUCT) */
	uint32_t max_part;   /* v3 bytes part (SW_V3_DEFAULT_MAX_PART) */
	uint64_t max_body;   /* v1/v2 length-prefixed body (SW_PREFIXED_DEFAULT_MAX_BODY) */
	uint64_t max_chunk;  /* v2 chunk (SW_CHUNKED_DEFAULT_MAX_CHUNK) */

	/* ---- Used by the blocking driver (smartwire/client.h) only ---- */
	/* Bound in ms on each wait for response bytes; 0: the default
	 * SW_CLIENT_DEFAULT_TIMEOUT_MS; negative: no bound. */
	int timeout_ms;
	/* Bytes asked of the medium per read; 0: SW_CLIENT_DEFAULT_READ_SIZE. */
	size_t read_size;
	/* Ask the medium for exactly sw_cli_conn_next_read_size() bytes, like
	 * Breezy's pipe medium, so that no byte past the current response is
	 * ever read (for media shared with something else). */
	bool pipe_exact;
} sw_client_config;

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

typedef struct sw_body_callbacks {
	/* A piece of body bytes as it arrives (never empty; valid during the
	 * call).  Non-zero aborts: SW_ERR_CALLBACK, and the connection is reset. */
	int (*on_data)(void *ud, const uint8_t *p, size_t n);
	/* The end of one v3 bytes part or one v2 chunk (may be NULL). */
	int (*on_part_end)(void *ud);
} sw_body_callbacks;

typedef struct sw_client_stats {
	uint64_t connects;    /* connections opened */
	uint64_t disconnects; /* connections closed */
	uint64_t requests;    /* requests sent (every attempt and retry counts) */
	uint64_t retries;     /* resends after a connection reset */
} sw_client_stats;

/* ======================================================================
 * The core
 * ====================================================================== */

typedef struct sw_cli_conn sw_cli_conn;

/* What the core needs from its driver next (see the loop above). */
typedef enum sw_cli_want {
	SW_CLI_IDLE = 0,    /* nothing: no operation, or it ended (sw_cli_conn_result) */
	SW_CLI_CONNECT = 1, /* open a connection */
	SW_CLI_WRITE = 2,   /* write sw_cli_conn_output() */
	SW_CLI_READ = 3,    /* read and sw_cli_conn_feed() */
	SW_CLI_CLOSE = 4    /* close the connection */
} sw_cli_want;

/* Creates a core in *out, not connected, owned by the caller (free with
 * sw_cli_conn_del).  `cfg` (NULL: defaults) is copied, headers included;
 * the driver-only fields are ignored.  All memory comes from `mem` (NULL:
 * libc); the decoders are made when first needed and kept.
 * Returns 0, SW_ERR_INVALID_ARGUMENT (out NULL, protocol not 0..3, headers
 * NULL with header_pairs > 0) or SW_ERR_NOMEM (*out is then NULL). */
SW_API int sw_cli_conn_new(sw_cli_conn **out, const sw_client_config *cfg, const sw_mem *mem);

/* Frees the core (NULL: no-op).  Legal in every state; the driver closes
 * its connection itself. */
SW_API void sw_cli_conn_del(sw_cli_conn *c);

/* ---- Operations --------------------------------------------------------
 * Each returns 0 when the operation started (drive it until SW_CLI_IDLE,
 * then read sw_cli_conn_result), or a negative sw_err when it could not
 * start (nothing to drive; the result and the error record hold the same
 * code).  An operation may also end at once, successfully (a body already
 * read, a cached hello): 0, and SW_CLI_IDLE right away.  All refuse with
 * SW_ERR_STATE while another operation runs (which keeps its result and
 * its error record). */

/* Sends a request and reads the response args, negotiating the version and
 * retrying as Breezy's _SmartClientRequest.call_and_read_response.  `call`
 * and everything it points at must stay valid until the operation ends
 * (the request may have to be encoded again for v2 or a retry).
 * Start errors: SW_ERR_INVALID_ARGUMENT (a malformed sw_call),
 * SW_ERR_TOO_MANY_REQUESTS (the previous response's body was neither read
 * nor cancelled: Breezy's TooManyConcurrentRequests), SW_ERR_UNKNOWN_METHOD
 * (a body stream over v1/v2: nothing is sent, as Breezy),
 * SW_ERR_BAD_ARGUMENT_BYTE (v1/v2 arg with 0x01 or "\n"), SW_ERR_NOMEM.
 * Results: 0 (sw_cli_conn_args), SW_ERR_ERROR_RESPONSE (the server
 * answered with an error tuple: sw_cli_conn_error_args), SW_ERR_UNKNOWN_METHOD,
 * SW_ERR_NOT_A_SERVER (neither v3 nor v2 markers came back),
 * SW_ERR_BAD_MARKER (forced version), SW_ERR_BAD_STATUS,
 * SW_ERR_CONNECTION_RESET (end of stream, or a reset the retry rules did not
 * cover), SW_ERR_CALLBACK (the stream aborted; the abort was sent),
 * SW_ERR_INVALID_ARGUMENT (a stream chunk over 4 GiB),
 * SW_ERR_BAD_ARGUMENT_BYTE, decoding errors of the v3 framing
 * (SW_ERR_BENCODE_*, SW_ERR_BAD_KIND, SW_ERR_*_TOO_LARGE,
 * SW_ERR_HEADER_NOT_DICT), of the conventional response grammar
 * (SW_ERR_BAD_STATUS_BYTE, SW_ERR_UNEXPECTED_PART, SW_ERR_PREMATURE_END: 'e'
 * before the args, SW_ERR_PROTOCOL: args not a list of byte strings), of
 * the v1/v2 lines (SW_ERR_LINE_TOO_LONG, SW_ERR_TOO_MANY_ARGS), the
 * driver's errors given to sw_cli_conn_fail (connect, I/O, time-out),
 * SW_ERR_CLOSED (the connection was closed under the call), SW_ERR_NOMEM. */
SW_API int sw_cli_conn_call(sw_cli_conn *c, const sw_call *call);

/* Breezy's medium.protocol_version(): sends "hello\n" in protocol v1 on the
 * current connection (no negotiation, no retry) and accepts ("ok", "1") or
 * ("ok", "2") (sw_cli_conn_hello_version).  The answer is cached: later
 * operations end at once.  A bad answer is SW_ERR_PROTOCOL ("bad response
 * (...)") and is cached too, like Breezy's _protocol_version_error; other
 * errors are not.  Start errors: the cached SW_ERR_PROTOCOL,
 * SW_ERR_TOO_MANY_REQUESTS, SW_ERR_NOMEM.
 * Results: 0, SW_ERR_PROTOCOL, SW_ERR_UNKNOWN_METHOD, SW_ERR_ERROR_RESPONSE,
 * SW_ERR_CONNECTION_RESET, decoding and driver errors, SW_ERR_NOMEM. */
SW_API int sw_cli_conn_hello(sw_cli_conn *c);

/* The body of the response of the last call made with expect_body, read
 * whole and appended to `out` (Breezy read_body_bytes); `out` must stay
 * valid until the operation ends.  v3: every bytes part joined, a trailing
 * oE error NOT checked (as Breezy); v1/v2: a length-prefixed body.  A second
 * read appends nothing and succeeds at once.
 * Start errors: SW_ERR_READING_COMPLETED (no body is due: the response was
 * finished, cancelled or failed), SW_ERR_CLOSED (its connection is gone).
 * Results: 0, SW_ERR_CONNECTION_RESET ("Connection lost while reading
 * response body." in v1/v2), SW_ERR_BAD_LENGTH, SW_ERR_BAD_TRAILER,
 * SW_ERR_BODY_TOO_LARGE, v3 decoding errors, driver errors, SW_ERR_NOMEM. */
SW_API int sw_cli_conn_read_body(sw_cli_conn *c, sw_buf *out);

/* The same as a stream (Breezy read_streamed_body): v3 bytes parts, a v2
 * chunked body, delivered through `cb` (NULL: dropped) as they arrive.  A
 * stream ending in an error (v3 oE + structure, v2 ERR chunks) is
 * SW_ERR_ERROR_RESPONSE (v3 ("UnknownMethod", ..): SW_ERR_UNKNOWN_METHOD)
 * after every data piece was delivered, with the tuple in the error record.
 * Start errors: SW_ERR_STATE (v1: Breezy's v1 handler has no streamed
 * bodies), and those of sw_cli_conn_read_body.  Results: those of
 * sw_cli_conn_read_body ("Connection lost while reading streamed body." in
 * v2; chunk errors SW_ERR_BAD_CHUNK_HEADER, SW_ERR_BAD_CHUNK_LENGTH,
 * SW_ERR_CHUNK_TOO_LARGE, SW_ERR_TOO_MANY_ARGS), SW_ERR_CALLBACK (a callback
 * aborted), SW_ERR_ERROR_RESPONSE, SW_ERR_UNKNOWN_METHOD. */
SW_API int sw_cli_conn_read_streamed_body(sw_cli_conn *c, const sw_body_callbacks *cb, void *ud);

/* Breezy cancel_read_body.  v3: reads the message to its end (the stream
 * stays in sync).  v1/v2: only marks the response finished WITHOUT
 * consuming body bytes, exactly as Breezy; a body the server did send is
 * then read as the start of the next response.  Nothing due: succeeds at
 * once.  Start error: SW_ERR_CLOSED (v3: the connection is gone).
 * Results: 0, or v3 read errors. */
SW_API int sw_cli_conn_cancel_read_body(sw_cli_conn *c);

/* Breezy's medium reset(): the response whose body is due is forgotten
 * (reading it gives SW_ERR_CLOSED), an operation in progress ends with
 * SW_ERR_CLOSED, and the connection, if open, is to be closed
 * (SW_CLI_CLOSE).  Legal in every state. */
SW_API void sw_cli_conn_reset(sw_cli_conn *c);

/* ---- Driving ----------------------------------------------------------- */

/* What to do next.  SW_CLI_IDLE when no operation runs. */
SW_API sw_cli_want sw_cli_conn_want(const sw_cli_conn *c);

/* A connection was opened: after SW_CLI_CONNECT, or on the driver's own
 * initiative while none is open (an explicit connect).  Returns 0 or
 * SW_ERR_STATE (one is open already). */
SW_API int sw_cli_conn_connected(sw_cli_conn *c);

/* The connection was closed: after SW_CLI_CLOSE, or on the driver's own
 * initiative (then an operation in progress ends with SW_ERR_CLOSED and a
 * response whose body is due can no longer be read).  No-op when none is
 * open. */
SW_API void sw_cli_conn_closed(sw_cli_conn *c);

/* While SW_CLI_WRITE: points *p / *n at the bytes to write next, pulling a
 * request body stream's next chunk when everything queued was written (the
 * stream callback runs here).  *n is 0 when the state moved on instead (the
 * stream ended or failed): ask sw_cli_conn_want() again.  *p is valid until
 * the next call on `c`.  Returns 0, or SW_ERR_STATE (not writing; *n = 0). */
SW_API int sw_cli_conn_output(sw_cli_conn *c, const uint8_t **p, size_t *n);

/* The first `n` bytes given by sw_cli_conn_output were written (n may be
 * less than offered).  When all of the request is out, the core reads. */
SW_API void sw_cli_conn_output_done(sw_cli_conn *c, size_t n);

/* Breezy's next_read_size() of the response being read: v3
 * ProtocolThreeDecoder's value (28 before the marker and headers length),
 * 1 in v1/v2 lines, the body decoders' values in v1/v2 bodies; 0 when not
 * reading.  Reading exactly this many bytes never reads past the response. */
SW_API size_t sw_cli_conn_next_read_size(const sw_cli_conn *c);

/* Consumes response bytes and returns how many it took (0..len).  It stops
 * where the operation ends (the args of a response whose body the caller
 * will read, the end of a message, an error); the rest is the caller's and
 * is fed first on the same connection next time.  An operation that ends
 * here is reported by sw_cli_conn_want / sw_cli_conn_result, not by the
 * return value.  Returns SW_ERR_STATE when the core is not reading.  `in`
 * may be NULL if len is 0. */
SW_API ptrdiff_t sw_cli_conn_feed(sw_cli_conn *c, const uint8_t *in, size_t len);

/* The connection reached end of stream while the core was reading: Breezy's
 * ConnectionReset ("Unexpected end of message...", or "Connection lost
 * while reading response body." / "... streamed body." in v1/v2 bodies).
 * Returns 0 or SW_ERR_STATE (not reading). */
SW_API int sw_cli_conn_eof(sw_cli_conn *c);

/* The driver could not do what the core asked: `err` (negative) is the
 * connect error while SW_CLI_CONNECT (ei->text, if any, becomes the
 * message), a write error while SW_CLI_WRITE (SW_ERR_CONNECTION_RESET, with
 * ei->sys_errno, is Breezy's "Error trying to write to socket" and may be
 * retried), or a read error or time-out while SW_CLI_READ.  `ei` may be
 * NULL.  Returns 0, SW_ERR_STATE (nothing was asked) or
 * SW_ERR_INVALID_ARGUMENT (err not negative). */
SW_API int sw_cli_conn_fail(sw_cli_conn *c, int err, const sw_errinfo *ei);

/* ---- Results ------------------------------------------------------------ */

/* The outcome of the last operation once it ended (0 or a negative sw_err);
 * SW_ERR_STATE while it runs; 0 before the first. */
SW_API int sw_cli_conn_result(const sw_cli_conn *c);

/* The args of the last call's response (>= 0 elements; v1/v2 give >= 1),
 * once the call succeeded and while no operation runs; else NULL with *n =
 * 0.  Valid until the next call or hello sends a request, or
 * sw_cli_conn_del.  `n` may be NULL. */
SW_API const sw_slice *sw_cli_conn_args(const sw_cli_conn *c, size_t *n);

/* The protocol version of the last call's response (1..3), 0 if none. */
SW_API int sw_cli_conn_response_version(const sw_cli_conn *c);

/* True when no response body is due: the last response was read to its
 * end, cancelled, failed or forgotten (the next call may start). */
SW_API bool sw_cli_conn_response_finished(const sw_cli_conn *c);

/* 1 or 2 once a hello succeeded (cached), else 0. */
SW_API int sw_cli_conn_hello_version(const sw_cli_conn *c);

/* The last error: returns its code (0: none) and, if `ei` is not NULL,
 * fills it: code, the errno behind it (sys_errno, 0 if none), offset 0,
 * and sw_cli_conn_error_message() cut to fit. */
SW_API int sw_cli_conn_last_error(const sw_cli_conn *c, sw_errinfo *ei);

/* str() of the exception Breezy raises for the last error, e.g.
 *   "Connection closed: Unexpected end of message. Please check connectivity
 *    and permissions, and report a bug if problems persist. "  (trailing space)
 *   "Generic bzr smart protocol error: Server is not a Bazaar server:
 *    Received bad protocol version marker: b'SSH-2.0-OpenSSH_9.0\r\n'"
 *   "Error received from smart server: (b'NoSuchFile', b'/x')"
 *   "The server does not recognise the 'b'foo'' request."
 * the driver's text for a connect failure, or sw_strerror() of the code for
 * errors Breezy has no text for.  Never NULL ("" without an error); valid
 * until the next call on the core.  May be shorter than Breezy's (even
 * empty) if memory ran out while formatting it. */
SW_API const char *sw_cli_conn_error_message(const sw_cli_conn *c);

/* The server's error tuple behind the last SW_ERR_ERROR_RESPONSE (v3 'E'
 * args, v2 "failed" tuple, v1 tuple from the error list, a mid-stream v3 oE
 * structure or v2 ERR chunks) or SW_ERR_UNKNOWN_METHOD (v3 ("UnknownMethod",
 * verb); v1/v2: ("error", "Generic bzr smart protocol error: bad request
 * '<verb>'")).  NULL with *n = 0 otherwise.  Valid as the message. */
SW_API const sw_slice *sw_cli_conn_error_args(const sw_cli_conn *c, size_t *n);

/* ---- What the core knows about the server -------------------------------- */

/* The protocol version pinned by negotiation or forced by the config
 * (1..3), or 0 while unknown. */
SW_API int sw_cli_conn_protocol_version(const sw_cli_conn *c);

/* Breezy's _remember_remote_is_before((major, minor)): records that the
 * server is older than that version, unless an older bound is already known
 * (a newer one is then ignored, as Breezy does). */
SW_API void sw_cli_conn_remember_remote_is_before(sw_cli_conn *c, int major, int minor);

/* Breezy's _is_remote_before((major, minor)): true when a bound is known and
 * (major, minor) >= it. */
SW_API bool sw_cli_conn_is_remote_before(const sw_cli_conn *c, int major, int minor);

SW_API void sw_cli_conn_get_stats(const sw_cli_conn *c, sw_client_stats *out);

#ifdef __cplusplus
}
#endif
#endif
