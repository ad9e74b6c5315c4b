/*
 * smartwire: protocol v1 and v2 messages (requests and responses).
 *
 * Wire format (protocol-reference §2):
 *
 *   v1 request:   <tuple line> [<length-prefixed body>]
 *   v2 request:   "bzr request 2\n" <tuple line> [<length-prefixed body>]
 *   v1 response:  <tuple line> [<length-prefixed body>]
 *   v2 response:  "bzr response 2\n" ("success\n" | "failed\n") <tuple line>
 *                 [<length-prefixed body> | <chunked body>]
 *
 * The tuple line is smartwire/tuple.h, the bodies smartwire/body.h.
 *
 * WHETHER A BODY FOLLOWS IS NOT ON THE WIRE.  The server knows it from the
 * verb (a handler that wants a body), the client from the call it made
 * (call_expecting_body, read_body_bytes / read_streamed_body).  The decoder
 * therefore asks its caller: call sw_v12_dec_expect_body() before feeding
 * or from inside on_args; if neither happens, no body is expected and the
 * message ends with its tuple line.  Breezy's client never reads a body
 * after a v2 "failed" status, nor after a v1 response whose first element
 * is in its v1 error list (protocol-reference §2.3, §2.6), so a caller
 * emulating Breezy leaves the mode at SW_BODY_NONE in those cases.  Chunked
 * bodies exist only in v2 responses.
 *
 * A CLIENT DECIDES LATER.  Breezy's client reads the tuple line first
 * (read_response_tuple) and only then picks the body decoder, depending on
 * what its caller asks next (read_body_bytes, read_streamed_body, or
 * nothing).  For that, set SW_BODY_DEFERRED before feeding: the decoder
 * stops right after on_args (feed consumes no further byte, next_read_size
 * is 0, done is false) until sw_v12_dec_expect_body() names the real mode.
 *
 * WHOLE LINES.  Breezy's client reads the v2 marker and status with
 * read_line and judges each line only when it is complete; it also reads
 * the tuple line before judging the status.  With `whole_lines` the
 * decoder does the same for v2 responses (see sw_v12_config), so that a
 * client can print Breezy's exact error texts (the whole bad line) and give
 * Breezy's verdict when a bad status comes with an unknown-method tuple.
 *
 * The decoder is a sans-I/O push parser (conventions in smartwire/body.h):
 * feed returns the count consumed and stops at the end of the message, the
 * rest being the caller's excess (the next request on the connection).
 * Errors are sticky; after one, feed and finish return it, done is false,
 * next_read_size is 0, and only reset and del are otherwise useful.
 */
#ifndef SMARTWIRE_V12_H
#define SMARTWIRE_V12_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/body.h"
#include "smartwire/detect.h"
#include "smartwire/export.h"
#include "smartwire/mem.h"
#include "smartwire/readv.h"
#include "smartwire/tuple.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The v2 response status lines. */
#define SW_V2_STATUS_SUCCESS "success\n"
#define SW_V2_STATUS_FAILED "failed\n"

typedef enum sw_v12_kind {
	SW_V12_REQUEST = 0, /* decoded by a server */
	SW_V12_RESPONSE = 1 /* decoded by a client */
} sw_v12_kind;

typedef enum sw_body_mode {
	SW_BODY_NONE = 0,     /* the message ends after the tuple line */
	SW_BODY_PREFIXED = 1, /* "%d\n" body "done\n" */
	SW_BODY_CHUNKED = 2,  /* "chunked\n" ... "END\n" (v2 responses only) */
	SW_BODY_DEFERRED = 3  /* stop after the tuple line; the caller names the
	                       * mode later (see "A CLIENT DECIDES LATER") */
} sw_body_mode;

/* sw_v12_dec_status() of a v2 response read with whole_lines whose status
 * line is neither "success\n" nor "failed\n". */
#define SW_V12_STATUS_OTHER 2

/* Default limits (see sw_v12_config). */
#define SW_V12_DEFAULT_MAX_LINE (1u << 20) /* 1 MiB */
#define SW_V12_DEFAULT_MAX_ARGS 4096

/* Zero-initialise and set what you need: every 0 / false is the default. */
typedef struct sw_v12_config {
	/* v2 requests: expect "bzr request 2\n" first (standalone use).  By
	 * default the marker was already consumed by version detection
	 * (smartwire/detect.h), as in Breezy's server.  Ignored otherwise. */
	bool expect_request_marker;
	/* v2 responses: the caller already consumed "bzr response 2\n"; start
	 * at the status line.  By default the marker is expected.  Ignored
	 * otherwise. */
	bool response_marker_consumed;
	/* v2 responses: read the marker and the status as whole lines before
	 * judging them, as Breezy's client does (read_line).  A wrong marker
	 * line then fails with SW_ERR_BAD_MARKER once its "\n" arrives (not at
	 * its first wrong byte), and a status line other than "success\n" /
	 * "failed\n" is not an error: decoding goes on to the tuple line,
	 * sw_v12_dec_status() reports SW_V12_STATUS_OTHER and on_status is not
	 * called; the caller judges it.  sw_v12_dec_head_line() gives the line
	 * either way.  Both lines count against max_line.  Ignored otherwise. */
	bool whole_lines;
	/* Longest tuple line, counting its "\n"; 0 = SW_V12_DEFAULT_MAX_LINE.
	 * Breezy has no limit.  Over it: SW_ERR_LINE_TOO_LONG, reported as soon
	 * as the limit is passed. */
	size_t max_line;
	/* Most tuple elements; 0 = SW_V12_DEFAULT_MAX_ARGS.  Over it:
	 * SW_ERR_TOO_MANY_ARGS, reported as soon as the separators show it. */
	size_t max_args;
	/* Limits of the body decoders (0 fields = their defaults). */
	sw_prefixed_config prefixed;
	sw_chunked_config chunked;
} sw_v12_config;

/* Events, in wire order: on_status (v2 responses only), on_args, then for a
 * length-prefixed body on_body_begin and on_body pieces, or for a chunked
 * body on_chunk_begin / on_chunk pieces / on_chunk_end per data chunk and
 * on_error_chunks if "ERR" appeared, and finally on_end.  Any may be NULL.
 * Return 0 to continue, non-zero to abort (feed returns SW_ERR_CALLBACK).
 * Pointers to body bytes are valid only during the call.  A callback must
 * not feed, reset or delete the decoder; the one call it may make is
 * sw_v12_dec_expect_body() from on_args. */
typedef struct sw_v12_callbacks {
	/* v2 responses: "success\n" (true) or "failed\n" (false). */
	int (*on_status)(void *ud, bool success);
	/* The tuple line, split (>= 1 element; "\n" gives one empty element).
	 * `args` and the bytes it points at stay valid until sw_v12_dec_reset()
	 * or sw_v12_dec_del() (also available through sw_v12_dec_args()).
	 * sw_v12_dec_expect_body() may be called from here. */
	int (*on_args)(void *ud, const sw_slice *args, size_t n);
	/* Length-prefixed body: its declared length, then its bytes in pieces
	 * as they arrive (never empty; none for an empty body). */
	int (*on_body_begin)(void *ud, uint64_t len);
	int (*on_body)(void *ud, const uint8_t *p, size_t n);
	/* Chunked body: see sw_chunked_callbacks in smartwire/body.h. */
	int (*on_chunk_begin)(void *ud, uint64_t len);
	int (*on_chunk)(void *ud, const uint8_t *p, size_t n);
	int (*on_chunk_end)(void *ud);
	/* The chunks after "ERR": the error tuple (valid during the call). */
	int (*on_error_chunks)(void *ud, const sw_slice *args, size_t n);
	/* The message is complete; sw_v12_dec_done() is true from here on. */
	int (*on_end)(void *ud);
} sw_v12_callbacks;

typedef struct sw_v12_dec sw_v12_dec;

/* Creates a decoder for one `kind` of message in protocol `version` (1 or
 * 2) in *out, owned by the caller and released with sw_v12_dec_del().
 * `cfg` and `cb` may be NULL and are copied; `mem` may be NULL (libc).
 * Allocates the object here; the line buffer, the argument array and the
 * body decoders are allocated through `mem` when first needed and kept
 * across sw_v12_dec_reset().
 * Returns 0, SW_ERR_INVALID_ARGUMENT (out NULL, bad kind or version) or
 * SW_ERR_NOMEM. */
SW_API int sw_v12_dec_new(sw_v12_dec **out, sw_v12_kind kind, int version, const sw_v12_config *cfg,
                          const sw_v12_callbacks *cb, void *ud, const sw_mem *mem);
/* Frees the decoder and everything it allocated (NULL is a no-op).  Legal
 * in every state. */
SW_API void sw_v12_dec_del(sw_v12_dec *dec);

/* Says whether a body follows the tuple line of the current message.
 * Legal after new/reset and until on_args returns (i.e. before feeding, or
 * from inside on_args), and once more when the decoder stopped after the
 * tuple line in SW_BODY_DEFERRED mode: the mode given then (anything but
 * SW_BODY_DEFERRED) takes effect at once: for SW_BODY_NONE the message is
 * complete and on_end is called from inside this call; otherwise the body
 * decoder is made ready and the next feed reads the body.
 * Returns 0, SW_ERR_STATE (too late: the tuple was already handled, or the
 * decoder failed), SW_ERR_INVALID_ARGUMENT (unknown mode, SW_BODY_CHUNKED
 * for anything but a v2 response, SW_BODY_DEFERRED after the tuple line),
 * and after SW_BODY_DEFERRED also SW_ERR_NOMEM (creating the body decoder)
 * or SW_ERR_CALLBACK (on_end returned non-zero); those two fail the decoder
 * (sticky), like the same errors inside feed. */
SW_API int sw_v12_dec_expect_body(sw_v12_dec *dec, sw_body_mode mode);

/* Consumes bytes of one message and returns how many it took.  Returns early
 * when the message is complete (sw_v12_dec_done()); the unconsumed rest is
 * the caller's.  After the end it consumes nothing and returns 0.
 *
 * Checks, in order of the wire: the v2 response marker (SW_ERR_BAD_MARKER at
 * the first byte that differs from "bzr response 2\n"; with
 * expect_request_marker the same for "bzr request 2\n"), the v2 status
 * (SW_ERR_BAD_STATUS at the first byte that cannot continue "success\n" or
 * "failed\n"; Breezy reads the tuple line before raising its
 * SmartProtocolError, so it consumes more bytes before failing), the tuple
 * line (SW_ERR_LINE_TOO_LONG, SW_ERR_TOO_MANY_ARGS), then the body decoder's
 * errors (smartwire/body.h).  Also SW_ERR_NOMEM, SW_ERR_CALLBACK, or the
 * sticky error of an earlier call. */
SW_API ptrdiff_t sw_v12_dec_feed(sw_v12_dec *dec, const uint8_t *in, size_t len);

/* True once the message is complete (after on_end).  False while stopped
 * after the tuple line in SW_BODY_DEFERRED mode. */
SW_API bool sw_v12_dec_done(const sw_v12_dec *dec);

/* End of input.  Returns 0 when the message is complete or when no byte of
 * it was fed (a clean end between messages), the sticky error after an
 * error, and SW_ERR_UNEXPECTED_EOF otherwise (inside the marker, status,
 * line or body; Breezy: ConnectionReset on the client, a silently unanswered
 * request on the server).  An UNEXPECTED_EOF becomes the sticky error.
 * Stopped after the tuple line in SW_BODY_DEFERRED mode it returns 0: the
 * tuple is complete, and whether a body was due is the caller's to say. */
SW_API int sw_v12_dec_finish(sw_v12_dec *dec);

/* Breezy's next_read_size(): 1 while reading the marker, status and tuple
 * lines (Breezy reads lines one byte at a time), then the body decoder's
 * value (6 for a length-prefixed body before its length line, 8 for a
 * chunked body before its header), 0 once the message is complete (Breezy's
 * server protocol: 0 after answering) or failed, and 0 while stopped after
 * the tuple line in SW_BODY_DEFERRED mode (nothing may be read before the
 * caller names the body). */
SW_API size_t sw_v12_dec_next_read_size(const sw_v12_dec *dec);

/* Prepares the decoder for the next message on the same connection: body
 * mode back to SW_BODY_NONE, sticky error cleared, memory kept.  Invalidates
 * the args of the previous message.  Legal in every state. */
SW_API void sw_v12_dec_reset(sw_v12_dec *dec);

/* The current message's args once on_args was called (else NULL, *n = 0);
 * valid until reset or del.  `n` may be NULL. */
SW_API const sw_slice *sw_v12_dec_args(const sw_v12_dec *dec, size_t *n);

/* v2 responses: 1 after "success\n", 0 after "failed\n", -1 before the
 * status or for other kinds; with whole_lines SW_V12_STATUS_OTHER after any
 * other complete status line. */
SW_API int sw_v12_dec_status(const sw_v12_dec *dec);

/* v2 responses read with whole_lines: the marker line that failed (after
 * SW_ERR_BAD_MARKER) or, once it is complete, the status line, "\n"
 * included, for the caller's error texts (Breezy prints the whole line).
 * NULL with *n = 0 otherwise.  Valid until the next feed, reset or del.
 * `n` may be NULL. */
SW_API const uint8_t *sw_v12_dec_head_line(const sw_v12_dec *dec, size_t *n);

/* ---- Encoders ------------------------------------------------------------
 * Each appends one whole message to `out` and returns 0, or a negative
 * sw_err with `out` left exactly as it was: SW_ERR_INVALID_ARGUMENT (version
 * not 1 or 2), SW_ERR_BAD_ARGUMENT_BYTE (an argument contains 0x01 or "\n"),
 * SW_ERR_NOMEM.  `args` may be NULL when `n` is 0 (the tuple line is then
 * "\n", as Breezy writes the empty tuple). */

/* A request: [v2 marker] tuple [length-prefixed body].  `body` NULL means no
 * body; a non-NULL empty slice sends "0\ndone\n". */
SW_API int sw_v12_encode_request(sw_buf *out, int version, const sw_slice *args, size_t n,
                                 const sw_slice *body);

/* A readv-style request (Breezy call_with_body_readv_array): the tuple, then
 * the serialised ranges (smartwire/readv.h) as a length-prefixed body. */
SW_API int sw_v12_encode_request_readv(sw_buf *out, int version, const sw_slice *args, size_t n,
                                       const sw_readv_range *ranges, size_t nranges);

/* A response: v2 marker and "success\n"/"failed\n" (v1: nothing, `success`
 * is ignored), the tuple, and a length-prefixed body unless `body` is NULL.
 * With `body` NULL this is also the head of a streamed response, to be
 * followed by the sw_chunked_encode_* functions (v2 only). */
SW_API int sw_v12_encode_response(sw_buf *out, int version, bool success, const sw_slice *args,
                                  size_t n, const sw_slice *body);

/* A v2 response with a chunked body: head as above, "chunked\n", each of
 * `chunks[0..nchunks)`, then if `has_error` "ERR\n" and `error_args[0..nerror)`
 * as chunks, then "END\n" (Breezy _send_stream).  For version 1 only the
 * tuple line is written: Breezy's v1 server silently drops a body stream
 * (protocol-reference §2.3). */
SW_API int sw_v12_encode_response_stream(sw_buf *out, int version, bool success,
                                         const sw_slice *args, size_t n, const sw_slice *chunks,
                                         size_t nchunks, bool has_error, const sw_slice *error_args,
                                         size_t nerror);

#ifdef __cplusplus
}
#endif
#endif
