/*
 * smartwire: v1/v2 message bodies.
 *
 * Two framings exist (protocol-reference §2.4, §2.5):
 *
 *   length-prefixed ("bulk data"), requests and responses of v1 and v2:
 *       "%d\n" <body> "done\n"
 *   chunked ("streamed body"), v2 responses only:
 *       "chunked\n" ("%x\n" <chunk>)* ["ERR\n" ("%x\n" <error arg>)*] "END\n"
 *
 * The encoders emit exactly Breezy's bytes (plain decimal, lower-case hex
 * without "0x").  The decoders accept exactly what Breezy's
 * LengthPrefixedBodyDecoder and ChunkedBodyDecoder accept, where that is well
 * defined (see sw_py_int() and the notes at each decoder), and report
 * the cases where Breezy hangs, drops the request or crashes as distinct
 * errors.
 *
 * Decoders are sans-I/O push parsers following the library conventions:
 * sw_X_feed() consumes what it can and returns the count consumed, stopping
 * at the end of the body (the rest is the caller's excess), or a negative
 * sw_err.  Errors are sticky: every later feed returns the same code; after
 * an error only sw_X_next_read_size() (0), sw_X_done() (false),
 * sw_X_finish() (the same code), sw_X_reset() and sw_X_del() are meaningful.
 * Body bytes are handed to callbacks as they arrive and never buffered
 * whole.  Every callback may be NULL; a callback returns 0 to continue or
 * non-zero to abort, after which feed returns SW_ERR_CALLBACK (sticky).  A
 * callback must not feed, reset or delete the decoder that called it.
 */
#ifndef SMARTWIRE_BODY_H
#define SMARTWIRE_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Length-prefixed body ---------------------------------------------- */

#define SW_PREFIXED_TRAILER "done\n"
#define SW_PREFIXED_TRAILER_LEN 5

/* Default limits (see sw_prefixed_config). */
#define SW_PREFIXED_DEFAULT_MAX_LENGTH_LINE 64
#define SW_PREFIXED_DEFAULT_MAX_BODY (UINT64_C(1) << 32) /* 4 GiB */

typedef struct sw_prefixed_config {
	/* Longest accepted length line, counting its "\n"; 0 = default
	 * (SW_PREFIXED_DEFAULT_MAX_LENGTH_LINE).  Breezy has no limit; a longer
	 * line gives SW_ERR_LINE_TOO_LONG as soon as it is exceeded. */
	size_t max_length_line;
	/* Largest accepted body; 0 = default (SW_PREFIXED_DEFAULT_MAX_BODY).  A
	 * larger declared length gives SW_ERR_BODY_TOO_LARGE as soon as the
	 * length line is complete, before any body byte is read. */
	uint64_t max_body;
} sw_prefixed_config;

typedef struct sw_prefixed_callbacks {
	/* The length line was parsed: `len` body bytes follow (0 for a negative
	 * length, see sw_prefixed_feed()). */
	int (*on_length)(void *ud, uint64_t len);
	/* A piece of the body, as it arrives (never empty).  `p` is valid only
	 * during the call (it points into the caller's input). */
	int (*on_data)(void *ud, const uint8_t *p, size_t n);
	/* The trailer "done\n" was read: the body is complete. */
	int (*on_end)(void *ud);
} sw_prefixed_callbacks;

typedef struct sw_prefixed_dec sw_prefixed_dec;

/* Creates a decoder in *out (owned by the caller, released with
 * sw_prefixed_del()).  `cfg` and `cb` may be NULL (defaults / no events);
 * both are copied.  `mem` may be NULL (libc).  Exactly one allocation.
 * Returns 0, SW_ERR_INVALID_ARGUMENT (out NULL) or SW_ERR_NOMEM. */
SW_API int sw_prefixed_new(sw_prefixed_dec **out, const sw_prefixed_config *cfg,
                           const sw_prefixed_callbacks *cb, void *ud, const sw_mem *mem);
/* Frees the decoder (NULL is a no-op).  Legal in every state. */
SW_API void sw_prefixed_del(sw_prefixed_dec *dec);

/* Consumes bytes of "%d\n" <body> "done\n" and returns how many it took,
 * stopping right after "done\n" (the rest of `in` is the caller's).
 *
 * The length line is read with Python int() rules (sw_py_int, base 10),
 * so " 7", "+7", "7\r" and "0_7" are accepted like Breezy.  A negative length
 * is accepted as 0: Breezy's decoder then treats every following byte as
 * trailer, which is the same as an empty body.
 *
 * Errors: SW_ERR_LINE_TOO_LONG (length line over the limit),
 * SW_ERR_BAD_LENGTH (not an integer: Breezy raises ValueError and drops the
 * connection), SW_ERR_BODY_TOO_LARGE (length over the limit or over 64
 * bits), SW_ERR_BAD_TRAILER (the bytes after the body stop matching
 * "done\n"; reported at the first wrong byte.  Breezy instead waits forever
 * for a trailer that cannot match, which silently drops the request),
 * SW_ERR_CALLBACK, or the sticky error of an earlier call.  After the end,
 * feed consumes nothing and returns 0. */
SW_API ptrdiff_t sw_prefixed_feed(sw_prefixed_dec *dec, const uint8_t *in, size_t len);

/* True once "done\n" has been consumed. */
SW_API bool sw_prefixed_done(const sw_prefixed_dec *dec);

/* End of input: 0 if the body is complete, the sticky error after an error,
 * SW_ERR_UNEXPECTED_EOF otherwise (even before the first byte: a body was
 * expected).  An UNEXPECTED_EOF becomes the sticky error. */
SW_API int sw_prefixed_finish(sw_prefixed_dec *dec);

/* Breezy's LengthPrefixedBodyDecoder.next_read_size(): 6 while reading the
 * length line ("\n" plus "done\n" still to come), bytes_left + 5 inside the
 * body, 5 - (trailer bytes seen) in the trailer.  0 once done (Breezy: 1,
 * "reading unused") and after an error. */
SW_API size_t sw_prefixed_next_read_size(const sw_prefixed_dec *dec);

/* Back to the initial state for the next body; keeps config, callbacks and
 * memory.  Clears a sticky error.  Legal in every state. */
SW_API void sw_prefixed_reset(sw_prefixed_dec *dec);

/* Appends "%d\n" % len (plain decimal).  With the body bytes and
 * sw_prefixed_encode_trailer() this writes a body without holding it whole.
 * Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_prefixed_encode_header(sw_buf *out, uint64_t len);
/* Appends "done\n".  Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_prefixed_encode_trailer(sw_buf *out);
/* Appends the whole framing of `body[0..len)` (Breezy _encode_bulk_data).
 * `body` may be NULL when `len` is 0.  Returns 0 or SW_ERR_NOMEM (out
 * unchanged). */
SW_API int sw_prefixed_encode(sw_buf *out, const void *body, size_t len);

/* ---- Chunked body (v2 responses) --------------------------------------- */

#define SW_CHUNKED_HEADER "chunked\n"
#define SW_CHUNKED_HEADER_LEN 8
#define SW_CHUNKED_ERR "ERR\n"
#define SW_CHUNKED_END "END\n"

#define SW_CHUNKED_DEFAULT_MAX_LENGTH_LINE 64
#define SW_CHUNKED_DEFAULT_MAX_CHUNK (UINT64_C(1) << 30) /* 1 GiB */
#define SW_CHUNKED_DEFAULT_MAX_ERROR_CHUNKS 64
#define SW_CHUNKED_DEFAULT_MAX_ERROR_BYTES 65536

typedef struct sw_chunked_config {
	/* Longest chunk length line ("%x\n", "ERR\n", "END\n") counting its
	 * "\n"; 0 = default.  Over it: SW_ERR_LINE_TOO_LONG. */
	size_t max_length_line;
	/* Largest accepted chunk; 0 = default.  A larger declared length gives
	 * SW_ERR_CHUNK_TOO_LARGE when its length line is complete. */
	uint64_t max_chunk;
	/* Most chunks after "ERR" (the elements of the error tuple); 0 =
	 * default.  One more gives SW_ERR_TOO_MANY_ARGS. */
	size_t max_error_chunks;
	/* Most bytes in all error chunks together (they are collected, see
	 * on_error_chunks); 0 = default.  Over it: SW_ERR_CHUNK_TOO_LARGE. */
	size_t max_error_bytes;
} sw_chunked_config;

typedef struct sw_chunked_callbacks {
	/* A data chunk of `len` bytes starts (its length line was read).
	 * Error chunks (after "ERR") do not go through the three chunk
	 * callbacks; they arrive together through on_error_chunks. */
	int (*on_chunk_begin)(void *ud, uint64_t len);
	/* A piece of the current data chunk (never empty), as it arrives; `p` is
	 * valid only during the call. */
	int (*on_chunk)(void *ud, const uint8_t *p, size_t n);
	/* The current data chunk is complete (also called, right after
	 * on_chunk_begin, for an empty chunk "0\n"). */
	int (*on_chunk_end)(void *ud);
	/* The body had "ERR": `args[0..n)` are the chunks that followed it, the
	 * error tuple (Breezy yields FailedSmartServerResponse(tuple(args)) last).
	 * Called when "END\n" is read, just before on_end; `n` may be 0.  The
	 * slices point into the decoder and are valid only during the call. */
	int (*on_error_chunks)(void *ud, const sw_slice *args, size_t n);
	/* "END\n" was read: the body is complete. */
	int (*on_end)(void *ud);
} sw_chunked_callbacks;

typedef struct sw_chunked_dec sw_chunked_dec;

/* Creates a decoder in *out (owned by the caller, released with
 * sw_chunked_del()).  `cfg`/`cb` may be NULL and are copied; `mem` may be
 * NULL.  One allocation here; error chunks, if any, are collected in a
 * buffer allocated through `mem` (bounded by max_error_bytes).
 * Returns 0, SW_ERR_INVALID_ARGUMENT (out NULL) or SW_ERR_NOMEM. */
SW_API int sw_chunked_new(sw_chunked_dec **out, const sw_chunked_config *cfg,
                          const sw_chunked_callbacks *cb, void *ud, const sw_mem *mem);
/* Frees the decoder and its error-chunk buffers (NULL is a no-op).  Legal in
 * every state. */
SW_API void sw_chunked_del(sw_chunked_dec *dec);

/* Consumes bytes of a chunked body and returns how many it took, stopping
 * right after "END\n".
 *
 * The header must be exactly "chunked\n": SW_ERR_BAD_CHUNK_HEADER at the
 * first byte that differs (Breezy reads the whole line first, then raises
 * SmartProtocolError).  Length lines are "ERR", "END" or a hex length read
 * with Python int(x, 16) rules (sw_py_int), so "0x1f", " 1F " and "+a"
 * are accepted as Breezy accepts them.  A second "ERR" starts the error
 * tuple afresh, discarding the error chunks before it, as in Breezy.
 *
 * Errors: SW_ERR_BAD_CHUNK_HEADER, SW_ERR_LINE_TOO_LONG,
 * SW_ERR_BAD_CHUNK_LENGTH (not hex: Breezy raises ValueError; also a
 * negative length, whose meaning in Breezy depends on how the bytes were
 * split into reads), SW_ERR_CHUNK_TOO_LARGE (one chunk over max_chunk or
 * over 64 bits, or error chunks over max_error_bytes), SW_ERR_TOO_MANY_ARGS
 * (too many error chunks), SW_ERR_NOMEM (collecting error chunks),
 * SW_ERR_CALLBACK, or the sticky error of an earlier call. */
SW_API ptrdiff_t sw_chunked_feed(sw_chunked_dec *dec, const uint8_t *in, size_t len);

/* True once "END\n" has been consumed. */
SW_API bool sw_chunked_done(const sw_chunked_dec *dec);

/* End of input: 0 if done, the sticky error after an error, otherwise
 * SW_ERR_UNEXPECTED_EOF (which becomes sticky). */
SW_API int sw_chunked_finish(sw_chunked_dec *dec);

/* Breezy's ChunkedBodyDecoder.next_read_size(): max(0, 8 - header bytes
 * seen) in the header, 2 before a length line, 1 inside a length line,
 * bytes_left + 4 inside a chunk.  0 once done (Breezy: 1) and after an
 * error. */
SW_API size_t sw_chunked_next_read_size(const sw_chunked_dec *dec);

/* Back to the initial state for the next body; keeps config, callbacks and
 * memory.  Clears a sticky error.  Legal in every state. */
SW_API void sw_chunked_reset(sw_chunked_dec *dec);

/* Appends "chunked\n".  Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_chunked_encode_header(sw_buf *out);
/* Appends "%x\n" % len (lower-case hex, no prefix); the chunk's bytes follow.
 * Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_chunked_encode_chunk_header(sw_buf *out, uint64_t len);
/* Appends one whole chunk: its length line and `p[0..n)` (`p` may be NULL if
 * n is 0).  Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_chunked_encode_chunk(sw_buf *out, const void *p, size_t n);
/* Appends "ERR\n" and then each of `args[0..n)` as a chunk (Breezy
 * _send_chunks of a FailedSmartServerResponse); the body must then be
 * closed with sw_chunked_encode_end().  Returns 0 or SW_ERR_NOMEM (out
 * unchanged). */
SW_API int sw_chunked_encode_error(sw_buf *out, const sw_slice *args, size_t n);
/* Appends "END\n".  Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_chunked_encode_end(sw_buf *out);

#ifdef __cplusplus
}
#endif
#endif
