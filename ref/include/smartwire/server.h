/*
 * smartwire: the server session layer, one connection at a time.
 *
 * Two pieces, after Breezy's medium.py (SmartServerStreamMedium),
 * protocol.py (SmartServerRequestProtocolOne/Two, ProtocolThreeDecoder,
 * ProtocolThreeResponder), message.py (ConventionalRequestHandler) and
 * request.py (SmartServerRequestHandler):
 *
 *  - sw_srv_conn, a SANS-I/O connection core.  The caller pushes client
 *    bytes in with sw_srv_conn_feed() and takes response bytes out with
 *    sw_srv_conn_output() / sw_srv_conn_output_done().  The core detects the
 *    protocol version of every request (smartwire/detect.h), decodes it
 *    with the v1/v2 or v3 decoder, drives the request handler (sw_dispatch)
 *    and encodes the response.  It never touches a descriptor or a clock.
 *  - sw_serve_medium(), serving one connection: the core over one medium
 *    (smartwire/medium.h), with the idle timeout, an optional per-request
 *    deadline, short writes, EAGAIN/EINTR and end of stream.  It is a
 *    daemon (smartwire/daemon.h) of one worker with one connection: the
 *    same event loop and the same connection driver as `smartwire serve`,
 *    over TCP or --inet, so what the tests and fuzzers drive through it is
 *    what the server runs.
 *
 * ONE REQUEST AT A TIME, IN ORDER.  The core consumes the bytes of one
 * request, answers it, and only then starts on the next.  sw_srv_conn_feed()
 * never consumes past the end of the current request while its response is
 * unfinished; the caller keeps the unconsumed tail (the excess) and feeds it
 * again after draining output ("excess bytes left to the caller", the
 * library convention).  Unlike Breezy (protocol-reference §6.1), pipelined
 * requests that are already buffered are answered in order without waiting
 * for more input.
 *
 * BOUNDED OUTPUT.  Response heads are queued whole (they are small).  A
 * response body is pulled from the handler (sw_dispatch.read_body) only while
 * the output queue holds less than `output_watermark` bytes, and a new
 * request is not started above the watermark either, so a 1 GiB `get` or a
 * client that pipelines without reading never makes the queue grow past
 * about watermark + one piece.
 *
 * ---------------------------------------------------------------------
 * REQUEST HANDLER (sw_dispatch)
 * ---------------------------------------------------------------------
 * For every request the core calls, in this order:
 *
 *   begin(ud, req, args, nargs, &ctx)  once, with the decoded tuple; args[0]
 *        is the verb (nargs >= 1; the slices are valid only during the call).
 *        Returns
 *          SW_SRV_ANSWERED     it called one sw_srv_respond*() for req;
 *          SW_SRV_WANT_BODY    it did not respond and wants the request body;
 *          SW_ERR_UNKNOWN_METHOD  the verb is unknown (nothing responded, ctx
 *                              ignored); the core answers as Breezy does for
 *                              UnknownSmartMethod in that version (see below);
 *          another negative sw_err  fatal: the connection is closed without
 *                              an answer for this request.
 *        *ctx (initially NULL) is the handler's per-request state.
 *   body(ctx, req, p, n)  zero or more times, only after SW_SRV_WANT_BODY,
 *        with the body bytes in pieces as they arrive (never empty; `p` valid
 *        only during the call).  Returns 0 or a fatal negative sw_err.  It
 *        may respond early (e.g. an error); the rest of the body is then read
 *        and discarded and end() is not called.
 *   end(ctx, req)  once the whole body was received (also for an empty or
 *        absent v3 body), unless body() responded.  Must respond and return
 *        0, or return a fatal negative sw_err.
 *   read_body(ctx, req, buf, cap)  after a response with a body (see the
 *        respond functions), repeatedly, while the output queue has room.
 *   abort(ctx)  if the request is cut short while the handler still waits
 *        for its body (end of stream, a protocol error, connection closing,
 *        sw_srv_conn_del): nothing may be applied.  May be NULL.
 *   free(ctx)  exactly once per non-NULL ctx, when the request is over (the
 *        response fully produced and the request fully read) or after abort.
 *        May be NULL.
 * The `req` handle is valid from begin until free(ctx).  Callbacks must not
 * call sw_srv_conn_* functions on the connection.
 *
 * begin/body/end returning SW_SRV_ANSWERED/0 without having responded when
 * they had to (or having responded when they said they want a body) is a
 * handler bug, treated as fatal SW_ERR_STATE.
 *
 * ---------------------------------------------------------------------
 * ZERO-COPY BODIES (optional; nghttp2's NGHTTP2_DATA_FLAG_NO_COPY)
 * ---------------------------------------------------------------------
 * Bodies that live in files need not pass through the core's memory: the
 * core can tell its driver that the next N output bytes are a span of a
 * file descriptor, and that the next N input bytes of a request body go to
 * a sink descriptor; the driver moves them with sendfile(2) and splice(2)
 * (smartwire/medium.h) and reports how many moved.  Everything else stays
 * sans-I/O: the core never touches those descriptors.
 *
 * Two sides must agree.  The handler offers spans and sinks (body_span,
 * body_sink below; a handler without them, or one that says 0, is pulled
 * and fed as before); the driver asks for them (sw_srv_conn_set_zero_copy)
 * only when its medium can move bytes without copying.  Otherwise -- a
 * fifo, the fuzz targets, a handler on an in-memory file system -- the
 * same bytes take the copying path.  Answers, limits, atomicity and aborts
 * do not change: a span is a known-length body's bytes (v1, v2 and v3
 * alike), a sink receives exactly the bytes body() would have received,
 * only the bytes of v3 body parts are offered (v1/v2 bodies are fed), and
 * a request cut short is aborted as before.
 *
 *   body_span(ctx, req, cap, &span)  while a known-length body
 *        (sw_srv_respond_body) has bytes due: 1 with span = {fd, off,
 *        len}, 1 <= len <= cap (cap never exceeds the bytes still due),
 *        for the next len body bytes; 0: pull this body with read_body
 *        instead, from where it stands; negative sw_err: as read_body's
 *        failure (the connection closes).  Asked again after each move.
 *   body_span_done(ctx, req, n)  n bytes of the last span were sent (the
 *        handler's position moves by n; n may be less than len).
 *   body_sink(ctx, req, avail, &fd)  while the handler waits for its body
 *        (after SW_SRV_WANT_BODY, not yet answered) and the next `avail`
 *        input bytes are body bytes: 1 with a descriptor the next bytes
 *        (at most avail) may be written to, at and advancing its position,
 *        as if passed to body(); 0: pass them to body(); negative: fatal,
 *        as body()'s.
 *   body_sink_done(ctx, req, n, err)  n bytes of the body went to the
 *        sink; err 0, or the errno of a failed write to it (then some of
 *        those n bytes are lost, and the handler fails the request as
 *        body() would on a write error; no sink is asked for again in this
 *        request: the rest goes to body()).  Returns 0 or fatal.
 *
 * ---------------------------------------------------------------------
 * WHAT THE CORE ANSWERS ITSELF (byte-compatible with Breezy 3.3.2)
 * ---------------------------------------------------------------------
 * Unknown verb (protocol-reference §1.3):
 *   v1  error\x01Generic bzr smart protocol error: bad request '<verb>'\n
 *   v2  bzr response 2\nfailed\n + the same tuple line
 *   v3  oE s(("UnknownMethod", <verb>))
 *   Departure: Breezy crashes the connection on a non-ASCII v1/v2 verb
 *   (verb.decode('ascii')); we insert the verb's bytes as they are.
 *
 * v3 args that are not a non-empty list of byte strings (Breezy indexes the
 * decoded structure, request.py args_received):
 *   s(le)          oE ("error", "tuple index out of range")
 *   s(0:)          oE ("error", "index out of range")
 *   s(3:abc)       oE ("UnknownMethod", 97)     (verb = b'abc'[0])
 *   s(i5e)         oE ("error", "'int' object is not subscriptable")
 *   s(de) / dict   oE ("error", "0")             (KeyError(0))
 *   s(li1e...e)    oE ("UnknownMethod", <first element>) for an int or list
 *                  verb; a verb containing a dict: ("error", "unhashable
 *                  type: 'dict'")
 *   s(l<verb>...<non-string>...e) with a byte-string verb: an unknown verb
 *                  (sw_dispatch.knows says so) gets ("UnknownMethod", verb)
 *                  as in Breezy; a known one a departure, the handler API
 *                  takes byte strings only: oE ("error", "Generic bzr smart
 *                  protocol error: request arguments must be byte
 *                  strings").
 *
 * ---------------------------------------------------------------------
 * ERROR-TERMINATION TABLE (input error -> answer? -> connection)
 * ---------------------------------------------------------------------
 * "Generic" below is the prefix "Generic bzr smart protocol error: ".
 * v3 answers are oE + s(args) + e with the default headers; v1/v2 answers
 * are the tuple line (v2: marker + "failed\n" first).  An answer is sent
 * only if no response for the request was started; a response that was
 * started (e.g. a trivial request answered on its args) is completed first.
 *
 * | input error                              | answer                                          | then            | Breezy 3.3.2                    |
 * |------------------------------------------|-------------------------------------------------|-----------------|---------------------------------|
 * | v3 unexpected part (o/s/b out of place)   | ("error", Generic "Unexpected message part: byte(b'X')" / "bytes(b'...')" / "structure(...)") | keep decoding to 'e', KEEP | same (see departures on the handler) |
 * | v3 'o' in body not S/E                    | ("error", Generic "Non-success status byte in request body: b'X'") | keep, KEEP | same |
 * | v3 'e' before args / after oE             | ("error", Generic "End of message received prematurely (while expecting args|error)") | KEEP | same |
 * | v3 oE s(..) after body (client abort)     | ("error", Generic "Request body aborted by the client"), handler aborted | KEEP | ignores it, EXECUTES the request |
 * | v3 headers/structure not bencode          | ("error", Generic "Bytes b'..' not bencoded")   | CLOSE           | answers, then desynchronises    |
 * | v3 headers not a dict                     | ("error", Generic "Header object <repr> is not a dict") | CLOSE   | answers, then desynchronises    |
 * | v3 bad kind byte                          | ("error", Generic "Bad message kind byte: b'X'") | CLOSE          | answers, decoder gives up       |
 * | v3 header/struct/part/body over limit     | ("error", Generic <sw_strerror text>)           | CLOSE           | no limits                       |
 * | v1/v2 request line over max_line          | ("error", Generic <sw_strerror text>)           | CLOSE           | no limit                        |
 * | v1/v2 more than max_args elements         | ("error", Generic <sw_strerror text>)           | CLOSE           | no limit                        |
 * | v1/v2 body length not an integer          | ("error", Generic <sw_strerror text>)           | CLOSE           | no answer, close                |
 * | v1/v2 body over max_body                  | ("error", Generic <sw_strerror text>)           | CLOSE           | no limit                        |
 * | v1/v2 body not followed by "done\n"       | ("error", Generic <sw_strerror text>)           | CLOSE           | request silently dropped        |
 * | end of stream mid-request                 | none; handler aborted                           | CLOSE           | same                            |
 * | end of stream after the answer started    | the answer is completed                         | CLOSE           | same                            |
 * | handler fatal error (negative return)     | none (partial response, if any, is cut)         | CLOSE           | -                               |
 * | read_body failure, known-length body      | none: the length is already on the wire         | CLOSE           | -                               |
 * | read_body failure, v3 stream              | oE s(("error", "smartwire.StreamError", <text>)) e | KEEP         | oE + translated exception       |
 * | read_body failure, v2 stream              | none (body cut)                                 | CLOSE           | same (exception escapes)        |
 * | allocation failure in the core            | none                                            | CLOSE           | -                               |
 * | idle timeout / request deadline (serve)   | none; handler aborted                           | CLOSE           | idle: same; no deadline         |
 * | read or write error (serve)               | none; handler aborted                           | CLOSE           | same                            |
 *
 * Departures from Breezy, all for robustness (protocol-reference §9.7):
 *  - v3 framing errors close the connection instead of desynchronising it.
 *  - A v3 semantic error, or a client abort (oE after body parts), while the
 *    handler waits for its body aborts the handler: nothing is applied.
 *    Breezy keeps feeding the verb and executes it at 'e' (a `put` whose
 *    client aborted is written).  The answer is the same error text; for
 *    the client abort, which Breezy answers with the verb's result, we
 *    answer ("error", Generic "Request body aborted by the client").
 *  - The text of "Unexpected message part: bytes(...)" is built from at most
 *    SW_SRV_REPR_MAX bytes of the part ("..." appended when cut); Breezy
 *    prints the whole part.
 *  - v1/v2 framing errors are answered, then the connection is closed.
 *  - A v1/v2 handler that answers in the middle of its body has the rest of
 *    the body consumed and discarded (Breezy parses it as further requests).
 *  - A v3 request whose answer was already given before its args arrived
 *    (an error such as "oX" first) is not dispatched; Breezy runs the verb
 *    and drops its answer.
 *  - Pipelined requests are answered without waiting for more input.
 */
#ifndef SMARTWIRE_SERVER_H
#define SMARTWIRE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/bencode.h"
#include "smartwire/export.h"
#include "smartwire/medium.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Configuration ----------------------------------------------------- */

#define SW_SRV_DEFAULT_MAX_LINE (1u << 20)             /* v1/v2 request line: 1 MiB */
#define SW_SRV_DEFAULT_MAX_ARGS 4096                   /* v1/v2 tuple elements */
#define SW_SRV_DEFAULT_MAX_BODY (UINT64_C(4) << 30)    /* request body, any version: 4 GiB */
#define SW_SRV_DEFAULT_MAX_HEADER (64u * 1024u)        /* v3 headers */
#define SW_SRV_DEFAULT_MAX_STRUCT (4u * 1024u * 1024u) /* v3 structure part */
#define SW_SRV_DEFAULT_MAX_PART UINT32_MAX             /* v3 bytes part (streamed) */
#define SW_SRV_DEFAULT_IDLE_TIMEOUT_MS 300000          /* Breezy serve.client_timeout */
#define SW_SRV_DEFAULT_WATERMARK (256u * 1024u)        /* output queue high-water mark */
#define SW_SRV_DEFAULT_STREAM_CHUNK (64u * 1024u)      /* cap of one read_body call */
#define SW_SRV_DEFAULT_READ_SIZE 65536                 /* Breezy MAX_SOCKET_CHUNK */
#define SW_SRV_DEFAULT_ZC_MIN (64u * 1024u)            /* smaller bodies are copied */
#define SW_SRV_REPR_MAX 65536                          /* bytes of a part shown in an error text */

/* Zero-initialise and set what you need: every 0 field means its default. */
typedef struct sw_srv_config {
	/* Limits on what the client controls (see the table above). */
	size_t max_line;
	size_t max_args;
	uint64_t max_body;
	uint32_t max_header;
	uint32_t max_struct;
	uint32_t max_part;
	sw_blimits blimits; /* bencode depth/elements; 0 fields = bencode.h defaults */
	/* Output queue size above which body pulling and new requests pause. */
	size_t output_watermark;
	/* Largest piece asked of read_body in one call (one v3 part / v2 chunk
	 * per call for streamed bodies). */
	size_t stream_chunk;
	/* A known-length body, or the rest of a v3 body part, shorter than this
	 * is copied even where it could move without (see "ZERO-COPY BODIES"):
	 * a sendfile or two splices cost more system calls than copying a few
	 * bytes along with the head.  0: default 64 KiB. */
	size_t zc_min;

	/* ---- Used by the driver (sw_serve_medium, smartwire/daemon.h) ---- */
	/* Wait for the first byte of a request at most this long, then close
	 * silently (Breezy ConnectionTimeout).  0: default; < 0: no limit. */
	int idle_timeout_ms;
	/* Bound on the time from a request's first byte until its answer is
	 * completely written (0: none, as Breezy).  On expiry the request is
	 * aborted and the connection closed without (more of) an answer. */
	int request_timeout_ms;
	/* Bytes asked of the medium per read (0: default 65536); a daemon has
	 * one read buffer of this size per worker. */
	size_t read_size;
	/* Ask the medium for exactly sw_srv_conn_next_read_size() bytes, like
	 * Breezy's pipe medium, so that no byte past the current request is ever
	 * read (for media shared with something else). */
	bool pipe_exact;
	/* Log sink for notes such as "Connection Timeout: disconnecting client
	 * after 300.0 seconds" (NULL: silent).  `msg` is valid during the call. */
	void (*log)(void *log_ud, const char *msg);
	void *log_ud;
} sw_srv_config;

/* ---- Request handler interface ---------------------------------------- */

typedef struct sw_srv_req sw_srv_req;

/* Non-negative results of sw_dispatch.begin (negative: sw_err). */
enum { SW_SRV_ANSWERED = 0, SW_SRV_WANT_BODY = 1 };

/* A span of a file descriptor (see "ZERO-COPY BODIES"). */
typedef struct sw_srv_span {
	int fd;
	uint64_t off; /* output spans only; input sinks write at the position */
	uint64_t len;
} sw_srv_span;

/* See "REQUEST HANDLER" above.  Only begin is required. */
typedef struct sw_dispatch {
	int (*begin)(void *ud, sw_srv_req *req, const sw_slice *args, size_t nargs, void **ctx);
	int (*body)(void *ctx, sw_srv_req *req, const uint8_t *p, size_t n);
	int (*end)(void *ctx, sw_srv_req *req);
	/* Response body, pulled.  For a known-length body (sw_srv_respond_body):
	 * return 1..cap bytes stored in buf (cap never exceeds the bytes still
	 * due); 0 or a negative sw_err before the announced length is a failure
	 * (see the table).  For a streamed body (sw_srv_respond_stream): each
	 * call returning > 0 is one chunk (one v3 bytes part, one v2 chunk); 0
	 * ends the body; a negative sw_err ends it with an error (table).  To end
	 * a stream with a specific error tuple, as Breezy's body iterators that
	 * yield a FailedSmartServerResponse, call sw_srv_stream_error() and then
	 * return 0. */
	ptrdiff_t (*read_body)(void *ctx, sw_srv_req *req, uint8_t *buf, size_t cap);
	void (*abort)(void *ctx);
	void (*free)(void *ctx);
	/* Whether begin() takes this verb (may be NULL: every verb counts as
	 * known).  Asked only for a v3 request whose arguments are not all byte
	 * strings, which begin() cannot be given: Breezy answers an unknown verb
	 * ("UnknownMethod", verb) whatever its arguments, and so does the core
	 * when this says no; a known verb gets the departure below. */
	bool (*knows)(void *ud, const sw_slice *verb);
	/* Optional zero-copy (see "ZERO-COPY BODIES"); NULL: none. */
	int (*body_span)(void *ctx, sw_srv_req *req, uint64_t cap, sw_srv_span *span);
	void (*body_span_done)(void *ctx, sw_srv_req *req, uint64_t n);
	int (*body_sink)(void *ctx, sw_srv_req *req, uint64_t avail, int *fd);
	int (*body_sink_done)(void *ctx, sw_srv_req *req, uint64_t n, int err);
} sw_dispatch;

/* The protocol version of the request (1, 2 or 3). */
SW_API int sw_srv_req_version(const sw_srv_req *req);

/* ---- Responding (from begin, body or end; exactly once per request) ----
 * All return 0, SW_ERR_STATE (a response was already given, or called
 * outside begin/body/end), SW_ERR_BAD_ARGUMENT_BYTE (v1/v2: an argument
 * contains 0x01 or "\n", which the v1/v2 tuple cannot carry; nothing is
 * queued and the handler may respond again, e.g. with an error),
 * SW_ERR_INVALID_ARGUMENT (a v3 body over 4 GiB - 1, or args NULL with
 * nargs > 0) or SW_ERR_NOMEM (nothing queued).  `args` are copied. */

/* A response without a body: v1 tuple line; v2 marker, success/failed,
 * tuple; v3 marker, headers, oS/oE, s(args), e. */
SW_API int sw_srv_respond(sw_srv_req *req, bool success, const sw_slice *args, size_t nargs);

/* A successful response with a body of exactly body_len bytes pulled with
 * read_body: v1/v2 "%d\n" <body> "done\n" (Breezy's response.body), v3 one
 * bytes part of body_len bytes, as Breezy sends a whole `get` body. */
SW_API int sw_srv_respond_body(sw_srv_req *req, const sw_slice *args, size_t nargs,
                               uint64_t body_len);

/* The same with the body given at once (copied; for small bodies). */
SW_API int sw_srv_respond_bytes(sw_srv_req *req, const sw_slice *args, size_t nargs,
                                const void *body, size_t len);

/* A successful response with a streamed body pulled with read_body (Breezy's
 * response.body_stream): v2 "chunked\n" chunks "END\n"; v3 one bytes part
 * per chunk; v1 sends the tuple line only and never calls read_body (Breezy
 * v1 drops body streams). */
SW_API int sw_srv_respond_stream(sw_srv_req *req, const sw_slice *args, size_t nargs);

/* From read_body of a streamed response: ends the body with an error tuple
 * (v2 "ERR\n" + args as chunks + "END\n", v3 oE s(args) e).  Then return 0.
 * Chunks are length-prefixed, so any bytes may be sent.  Returns 0,
 * SW_ERR_STATE (no stream in progress, or not called from read_body),
 * SW_ERR_INVALID_ARGUMENT, SW_ERR_NOMEM. */
SW_API int sw_srv_stream_error(sw_srv_req *req, const sw_slice *args, size_t nargs);

/* ---- Connection core (sans-I/O) -------------------------------------- */

typedef struct sw_srv_conn sw_srv_conn;

/* Creates a connection core in *out (owned by the caller, released with
 * sw_srv_conn_del).  `cfg` (NULL: defaults) and `d` are copied; `d->begin`
 * is required.  `ud` is passed to begin.  All memory through `mem` (NULL:
 * libc); decoders are created when first needed.  Returns 0,
 * SW_ERR_INVALID_ARGUMENT or SW_ERR_NOMEM (*out untouched). */
SW_API int sw_srv_conn_new(sw_srv_conn **out, const sw_srv_config *cfg, const sw_dispatch *d,
                           void *ud, const sw_mem *mem);

/* Frees the core; a request in progress is aborted (abort + free of its
 * ctx).  NULL is a no-op.  Legal in every state. */
SW_API void sw_srv_conn_del(sw_srv_conn *c);

/* Consumes client bytes and returns how many it took.  It stops early (the
 * rest is the caller's, to be fed again later) when the current request is
 * complete but its response is not yet fully produced, when the output
 * queue is at the watermark, or when the connection is closing.  Handler
 * callbacks run inside this call.
 * Returns the count, or a negative sw_err when the connection must be
 * closed: the protocol errors of the table (the error code of the decoder,
 * e.g. SW_ERR_BENCODE_SYNTAX, SW_ERR_BAD_TRAILER), a handler's fatal code,
 * SW_ERR_STATE (handler contract broken, or feed after eof/close),
 * SW_ERR_NOMEM.  Errors are sticky.  After an error, output still holds
 * whatever must be sent before closing (e.g. the error answer): drain it,
 * then close.  `in` may be NULL if len is 0. */
SW_API ptrdiff_t sw_srv_conn_feed(sw_srv_conn *c, const uint8_t *in, size_t len);

/* The client closed its sending side.  Mid-request, the request is aborted
 * without an answer (unless its answer had started, which is completed) and
 * SW_ERR_UNEXPECTED_EOF is returned; between requests 0.  Either way the
 * connection closes once output is drained.  Returns the sticky error if
 * one happened before. */
SW_API int sw_srv_conn_eof(sw_srv_conn *c);

/* Closes the connection now (I/O error, timeout): a request in progress is
 * aborted, queued output is dropped, `err` (negative) becomes the sticky
 * error unless one is set. */
SW_API void sw_srv_conn_abort(sw_srv_conn *c, int err);

/* Points *p / *n at the queued response bytes (*n may be 0), after pulling
 * response body bytes from read_body while the queue is below the
 * watermark (handler callbacks run inside this call).  *p is valid until the
 * next call on `c`.  A failure while producing output (read_body, memory)
 * does not show here: it makes the connection close (sw_srv_conn_closing,
 * sw_srv_conn_error) and the bytes given out must still be sent.  Returns 0
 * or SW_ERR_INVALID_ARGUMENT. */
SW_API int sw_srv_conn_output(sw_srv_conn *c, const uint8_t **p, size_t *n);

/* The first `n` bytes returned by sw_srv_conn_output were written. */
SW_API void sw_srv_conn_output_done(sw_srv_conn *c, size_t n);

/* How many bytes the core wants next: exactly Breezy's server next_read_size
 * (1 between requests and while reading a v1/v2 marker or tuple line, the
 * body decoder's value in a v1/v2 body, ProtocolThreeDecoder's in v3), and 0
 * when it will not take input now (response being produced, watermark
 * reached, closing).  Breezy's "1" for a finished length-prefixed decoder
 * never shows: the request is then complete. */
SW_API size_t sw_srv_conn_next_read_size(const sw_srv_conn *c);

/* True when no request is in progress and no byte of the next one was
 * consumed (the idle timeout applies). */
SW_API bool sw_srv_conn_idle(const sw_srv_conn *c);

/* True once the connection must be closed after the queued output is sent
 * (EOF, fatal error, abort). */
SW_API bool sw_srv_conn_closing(const sw_srv_conn *c);

/* True when closing and nothing more will be produced: close the medium
 * once the bytes from sw_srv_conn_output are written. */
SW_API bool sw_srv_conn_finished(const sw_srv_conn *c);

/* The sticky error (0: none; a clean EOF leaves 0). */
SW_API int sw_srv_conn_error(const sw_srv_conn *c);

/* Requests completed (answered and fully read) on this connection. */
SW_API uint64_t sw_srv_conn_requests(const sw_srv_conn *c);

/* ---- Zero-copy (the driver's side of "ZERO-COPY BODIES") -------------- */

#define SW_SRV_ZC_OUT 1u /* output spans: the driver can sendfile */
#define SW_SRV_ZC_IN 2u  /* input sinks: the driver can splice */

/* Says what the driver can move without copying (0 at creation: nothing).
 * A direction switched off with a span or sink outstanding drops it
 * (nothing of it was moved); the bytes go the copying way.  The driver
 * switches a direction off when its medium refuses a descriptor
 * (SW_ERR_INVALID_ARGUMENT from sw_medium_sendfile / splice_in). */
SW_API void sw_srv_conn_set_zero_copy(sw_srv_conn *c, unsigned what);

/* After sw_srv_conn_output() gave n == 0: 1 and *span when the next output
 * bytes are a span of a descriptor (send at most span->len of them, from
 * span->off), else 0.  Valid until sw_srv_conn_output_span_done. */
SW_API int sw_srv_conn_output_span(sw_srv_conn *c, sw_srv_span *span);

/* n bytes of the span were sent (n <= its len).  src_errno: 0, or the
 * errno with which the descriptor failed to give its bytes (EIO: it was
 * shorter than the span): the length is on the wire already, so the
 * connection closes as when read_body fails (SW_ERR_IO). */
SW_API void sw_srv_conn_output_span_done(sw_srv_conn *c, uint64_t n, int src_errno);

/* When the next input bytes are request body bytes that the handler takes
 * in a sink: 1 and *span (fd, len: how many of the next input bytes, at
 * most, are those body bytes; off unused), else 0.  The driver must have
 * fed every byte it read before.  Handler callbacks run inside this call
 * (a fatal error from one closes the connection and 0 is returned). */
SW_API int sw_srv_conn_input_span(sw_srv_conn *c, sw_srv_span *span);

/* n input bytes (n <= span.len) were consumed from the medium into the
 * sink, which then failed if sink_errno is not 0.  The core goes on as if
 * they had been fed.  Returns 0, or the sticky negative sw_err (as
 * sw_srv_conn_feed: the connection must be closed), or SW_ERR_STATE (no
 * sink outstanding). */
SW_API int sw_srv_conn_input_span_done(sw_srv_conn *c, uint64_t n, int sink_errno);

/* ---- Serving one connection ------------------------------------------ */

typedef enum sw_serve_end {
	SW_SERVE_EOF = 0,         /* the client closed between requests */
	SW_SERVE_EOF_MID_REQUEST, /* closed mid-request: aborted, not answered */
	SW_SERVE_TIMEOUT,         /* idle timeout (logged) */
	SW_SERVE_DEADLINE,        /* request_timeout_ms expired mid-request */
	SW_SERVE_PROTOCOL,        /* the core closed the connection: a protocol
	                           * error (answered when possible), a handler's
	                           * fatal error, or out of memory (see error) */
	SW_SERVE_IO,              /* read or write failed (incl. connection reset) */
	SW_SERVE_STALLED,         /* the medium would block and cannot wait (a
	                           * single-threaded fifo without a pump) */
	SW_SERVE_STOPPED          /* sw_daemon_stop() (daemon connections only) */
} sw_serve_end;

typedef struct sw_serve_result {
	sw_serve_end end;
	/* The sw_err behind PROTOCOL, IO and STALLED (SW_ERR_WOULD_BLOCK);
	 * 0 for the others. */
	int error;
	uint64_t requests; /* requests completed */
	uint64_t bytes_in, bytes_out;
	/* Of those, the body bytes moved without copying (spliced in, sent
	 * with sendfile; see "ZERO-COPY BODIES"). */
	uint64_t zc_in, zc_out;
} sw_serve_result;

/* Serves requests from medium `m` until the connection ends, following
 * Breezy's SmartServerStreamMedium.serve: a new core (`cfg`, NULL:
 * defaults; `d` and `ud` as for sw_srv_conn_new) driven by the daemon's
 * connection driver on the calling thread.  Queued output is written
 * (short writes and SW_ERR_WOULD_BLOCK handled), bytes already read are
 * fed before waiting for more (pipelining), a new request is awaited at
 * most idle_timeout_ms, a request lasts at most request_timeout_ms, reads
 * ask for up to read_size bytes (exactly next_read_size with pipe_exact),
 * end of stream and errors end as in the table.
 *   Waiting: a medium with descriptors (sw_medium_fds) is polled with
 * epoll, made non-blocking for the connection's life (O_NONBLOCK is
 * cleared again afterwards if it was clear); a medium without them (fifo,
 * fault wrapper) waits in sw_medium_wait_readable() with the time left, so
 * a fault plan's stall ends the connection at once as an idle timeout or a
 * deadline, and a single-threaded fifo that can make no progress ends it
 * as SW_SERVE_STALLED.
 *   `m` is neither closed nor freed: the caller closes it (which is how
 * the client sees the end).  `res` (may be NULL) receives the result.
 * All memory through `mem` (NULL: libc).  Returns the end reason (also in
 * res->end), or before serving SW_ERR_INVALID_ARGUMENT (NULL d, d->begin
 * or m), SW_ERR_NOMEM, or SW_ERR_IO (epoll, or a descriptor of `m` that
 * cannot be made non-blocking). */
SW_API int sw_serve_medium(const sw_srv_config *cfg, const sw_dispatch *d, void *ud, sw_medium *m,
                           sw_serve_result *res, const sw_mem *mem);

#ifdef __cplusplus
}
#endif
#endif
