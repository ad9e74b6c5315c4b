/*
 * smartwire: protocol v3 message framing ("bzr message 3 (bzr 1.6)\n").
 *
 *   message := marker headers part* 'e'
 *   marker  := "bzr message 3 (bzr 1.6)\n"                 (24 bytes)
 *   headers := u32be(len) bencode(dict)
 *   part    := 'o' <1 byte>                                 one-byte part
 *            | 's' u32be(len) bencode(value)                structure part
 *            | 'b' u32be(len) <len bytes>                   bytes part
 *
 * This module is framing only, like Breezy's ProtocolThreeDecoder and
 * _ProtocolThreeEncoder: it does not check the "conventional" grammar (status
 * byte, then args, then body) that message.py layers on top; a later layer
 * does.  Both halves are sans-I/O.
 *
 * DECODER (sw_v3_dec): a push parser for ONE message.  Feed it bytes; it
 * reports the parts through callbacks and stops at the final 'e', leaving the
 * bytes after it to the caller.  sw_v3_dec_reset() readies it for the next
 * message.  Byte parts are delivered piecewise as they arrive, so a body of
 * any size is decoded in constant memory; headers and structures are staged
 * (bounded by their limits) and decoded with sw_bdecode()'s rules, into a
 * node arena (sw_bdecode_into()) that the decoder keeps from one message to
 * the next, so that decoding a stream of small messages allocates nothing
 * once the first few have been seen.
 *
 * ENCODER (sw_v3_put_*, sw_v3_encode_*): functions appending Breezy's exact
 * bytes to a caller's sw_buf.  On error every encoder leaves `out` exactly as
 * it was (its length is restored), so a failed call can simply be retried or
 * abandoned.
 */
#ifndef SMARTWIRE_V3_H
#define SMARTWIRE_V3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/bencode.h"
#include "smartwire/detect.h"
#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* SW_V3_MARKER and SW_V3_MARKER_LEN, the marker that starts every v3
 * request and response, are defined with the other versions' markers in
 * smartwire/detect.h. */

/* breezy.__version__ of the implementation we are compatible with; both
 * Breezy peers send {"Software version": SW_V3_SOFTWARE_VERSION} headers. */
#define SW_V3_SOFTWARE_VERSION "3.3.2"

/* ======================================================================
 * Decoder
 * ====================================================================== */

/* Default limits.  Breezy has none (a length prefix of 0xffffffff makes it
 * wait for 4 GiB); these bound what we stage in memory.  Headers are one small
 * dict in practice (28 bytes from Breezy).  Structures are args tuples; the
 * largest Breezy sends hold a handful of revision ids or paths.  Bytes parts
 * are streamed, never staged, so their default is the protocol maximum:
 * Breezy sends a whole file or readv result as a single part. */
#define SW_V3_DEFAULT_MAX_HEADER (64u * 1024u)
#define SW_V3_DEFAULT_MAX_STRUCT (4u * 1024u * 1024u)
#define SW_V3_DEFAULT_MAX_PART UINT32_MAX

/* Zero-initialise and set what you need: a zero field means its default. */
typedef struct sw_v3_config {
	/* True: the message must start with SW_V3_MARKER (a client decoding a
	 * response, Breezy's expect_version_marker=True).  False: the message
	 * starts at the headers (a server whose medium already consumed the
	 * marker while detecting the protocol version). */
	bool expect_marker;
	/* Largest accepted length prefix for the headers, a structure part and a
	 * bytes part.  A larger prefix fails at once, before anything is
	 * allocated: SW_ERR_HEADER_TOO_LARGE, SW_ERR_STRUCT_TOO_LARGE,
	 * SW_ERR_PART_TOO_LARGE. */
	uint32_t max_header;
	uint32_t max_struct;
	uint32_t max_part;
	/* Passed to sw_bdecode() for headers and structures. */
	sw_blimits blimits;
} sw_v3_config;

/* Events, in wire order.  Every callback may be NULL (event ignored).  A
 * callback returns 0 to continue; non-zero makes the current feed return
 * SW_ERR_CALLBACK, and the decoder is failed (sticky).  Every pointer handed
 * to a callback is valid only during that callback: copy what you keep.
 * Callbacks must not call sw_v3_dec_feed/reset/del on the same decoder. */
typedef struct sw_v3_callbacks {
	/* The headers; `dict` is always an SW_BDICT (any values). */
	int (*on_headers)(void *ud, const sw_bval *dict);
	/* An 'o' part's byte (the status 'S' or 'E' in conventional messages). */
	int (*on_byte)(void *ud, uint8_t byte);
	/* An 's' part, any bencode value (conventionally a list of strings). */
	int (*on_structure)(void *ud, const sw_bval *value);
	/* A 'b' part: on_bytes_begin as soon as its length prefix is known,
	 * then on_bytes for each piece as it arrives (never with n == 0; the
	 * pieces follow the caller's feeds, so their sizes vary), then
	 * on_bytes_end.  A zero-length part gives begin(0) and end only. */
	int (*on_bytes_begin)(void *ud, uint32_t total);
	int (*on_bytes)(void *ud, const uint8_t *p, size_t n);
	int (*on_bytes_end)(void *ud);
	/* The final 'e': the message is complete (sw_v3_dec_done() is true). */
	int (*on_end)(void *ud);
} sw_v3_callbacks;

typedef struct sw_v3_dec sw_v3_dec;

/* Creates a decoder.  `cfg` (NULL: all defaults) and `cb` (NULL: no
 * events) are copied; `user_data` is passed to every callback.  All memory
 * comes from `mem` (NULL: libc).  Returns 0 and stores the decoder in *out
 * (free it with sw_v3_dec_del), or SW_ERR_NOMEM (*out = NULL). */
SW_API int sw_v3_dec_new(sw_v3_dec **out, const sw_v3_config *cfg, const sw_v3_callbacks *cb,
                         void *user_data, const sw_mem *mem);

/* Frees the decoder (NULL is a no-op).  Legal in every state. */
SW_API void sw_v3_dec_del(sw_v3_dec *dec);

/* Consumes bytes of the current message and returns how many it took (0 ..
 * len).  It stops right after the final 'e' and never consumes past it: when
 * sw_v3_dec_done() is true, in[returned .. len) is the excess (Breezy's
 * unused_data), which belongs to the caller (the next message, usually).
 * Returning less than `len` without being done never happens: everything
 * short of a complete message is consumed (staged or delivered).  Feeding a
 * done decoder consumes nothing and returns 0.  `in` may be NULL if len is 0.
 *
 * Errors (negative; the decoder is then failed: every later feed returns the
 * same code without looking at its input, _finish returns it too,
 * _next_read_size is 0, and _reset or _del are the ways out):
 *   SW_ERR_BAD_MARKER       the input stopped being a prefix of SW_V3_MARKER
 *                           (reported at the first wrong byte, like Breezy)
 *   SW_ERR_HEADER_TOO_LARGE / SW_ERR_STRUCT_TOO_LARGE / SW_ERR_PART_TOO_LARGE
 *                           a length prefix over the configured limit
 *   SW_ERR_BENCODE_*        headers or a structure are not strict bencode
 *                           (see sw_bdecode; an empty payload is
 *                           SW_ERR_BENCODE_TRUNCATED)
 *   SW_ERR_HEADER_NOT_DICT  the headers decoded to a non-dict
 *   SW_ERR_BAD_KIND         a part kind byte other than 'o' 's' 'b' 'e'
 *   SW_ERR_CALLBACK         a callback returned non-zero
 *   SW_ERR_NOMEM            staging a header or structure failed */
SW_API ptrdiff_t sw_v3_dec_feed(sw_v3_dec *dec, const uint8_t *in, size_t len);

/* True once the final 'e' was consumed (and until reset). */
SW_API bool sw_v3_dec_done(const sw_v3_dec *dec);

/* The sticky error, or 0 if the decoder has not failed. */
SW_API int sw_v3_dec_error(const sw_v3_dec *dec);

/* Readies the decoder for the next message with the same configuration and
 * callbacks, clearing any error.  Legal in every state.  A large staging
 * buffer (over SW_V3_DEFAULT_MAX_HEADER) is released; a small one is kept.
 * Likewise the node arena of the last header or structure is released if it
 * grew past 1024 values, and kept otherwise. */
SW_API void sw_v3_dec_reset(sw_v3_dec *dec);

/* What a failed decoder was reading, for error texts: Breezy's server
 * quotes the payload of a header or structure that is not bencode ("Bytes
 * b'...' not bencoded"), the headers that are not a dict ("Header object
 * ... is not a dict") and a bad kind byte ("Bad message kind byte: b'X'"),
 * and that payload may have arrived over many feeds. */
typedef struct sw_v3_failure {
	int error; /* the sticky error; 0 (and all else zero) if not failed */
	/* The item being read: 'm' the marker, 'h' the headers, 's' a
	 * structure, 'b' a bytes part (their length prefix or payload), 'k' a
	 * kind byte; 0 after SW_ERR_CALLBACK, SW_ERR_NOMEM and
	 * SW_ERR_UNEXPECTED_EOF, which are not about the bytes. */
	uint8_t part;
	uint8_t kind; /* SW_ERR_BAD_KIND: the byte read where a kind was due */
	/* SW_ERR_BENCODE_* and SW_ERR_HEADER_NOT_DICT: the whole payload of the
	 * failing header or structure (possibly empty); else empty. */
	sw_slice payload;
	/* SW_ERR_HEADER_NOT_DICT: the headers as decoded; else NULL. */
	const sw_bval *value;
} sw_v3_failure;

/* Fills *f with what the decoder was reading when it failed (all zero if
 * it has not failed).  `payload` points into the decoder's staging buffer
 * or, when the payload lay whole in one input, into the input of the
 * failing sw_v3_dec_feed(); it and `value` are valid until the next
 * sw_v3_dec_feed, _reset or _del on `dec`, and no longer than that input.
 * Returns 0 or SW_ERR_INVALID_ARGUMENT (NULL dec or f). */
SW_API int sw_v3_dec_failure(const sw_v3_dec *dec, sw_v3_failure *f);

/* End of input.  Returns 0 if the message is complete or has not started
 * (no byte of it consumed yet), SW_ERR_UNEXPECTED_EOF in the middle of a
 * message (which becomes the sticky error, as in the v1/v2 decoders), or
 * the sticky error of a failed decoder. */
SW_API int sw_v3_dec_finish(sw_v3_dec *dec);

/* How many more bytes the current message needs at least: exactly Breezy's
 * ProtocolThreeDecoder.next_read_size(), so a reader of a pipe can ask for
 * this many bytes and never read past the message.
 *   before the first feed:   28 with a marker expected (marker + length
 *                            prefix), 4 without;
 *   inside the marker:       24 - marker bytes seen (after any feed, even an
 *                            empty one, as Breezy);
 *   inside a length prefix:  4 - prefix bytes seen;
 *   inside a header/structure/bytes payload: payload bytes still missing;
 *   expecting a kind byte or an 'o' part's byte: 1;
 *   done or failed: 0.
 * The only divergence: a length prefix over our limit fails (0) where Breezy
 * would wait for the payload. */
SW_API size_t sw_v3_dec_next_read_size(const sw_v3_dec *dec);

/* ======================================================================
 * Encoder building blocks (append to `out`; 0 or a negative sw_err; on error
 * `out` keeps its original length)
 * ====================================================================== */

/* Header pairs for the functions below: kv[2*i] is a key and kv[2*i+1] its
 * value, both byte strings, `npairs` pairs.  Any order: the encoder emits
 * keys sorted by raw bytes, as Python's bencode sorts a dict.  Duplicate keys
 * are SW_ERR_INVALID_ARGUMENT (a Python dict cannot hold them). */

/* Breezy's headers, {"Software version": "3.3.2"}: pass
 * (sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS).  ProtocolThreeResponder
 * always sends these; the Breezy client sets them too (the tests in
 * test_smart_transport.py use other or empty headers). */
extern const sw_slice sw_v3_default_header_kv[2];
#define SW_V3_DEFAULT_HEADER_PAIRS 1

/* Appends SW_V3_MARKER.  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_v3_put_marker(sw_buf *out);

/* Appends u32be(len) bencode({k: v, ...}).  Returns 0, SW_ERR_NOMEM or
 * SW_ERR_INVALID_ARGUMENT (duplicate keys, or encoding over 4 GiB). */
SW_API int sw_v3_put_headers(sw_buf *out, const sw_slice *kv, size_t npairs);

/* Appends the headers {"Software version": "3.3.2"}, i.e.
 * "\0\0\0\x1cd16:Software version5:3.3.2e".  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_v3_put_default_headers(sw_buf *out);

/* Appends u32be(len) bencode(dict) for an arbitrary caller-built dict (keys
 * must already be ascending, see sw_bencode).  Returns 0, SW_ERR_NOMEM or
 * SW_ERR_INVALID_ARGUMENT (not a dict, unsorted keys, over 4 GiB). */
SW_API int sw_v3_put_headers_bval(sw_buf *out, const sw_bval *dict);

/* Appends a one-byte part: 'o' byte.  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_v3_put_byte(sw_buf *out, uint8_t byte);

/* Appends a structure part 's' u32be(len) bencode(value).  Returns 0,
 * SW_ERR_NOMEM or SW_ERR_INVALID_ARGUMENT (see sw_bencode; over 4 GiB). */
SW_API int sw_v3_put_structure(sw_buf *out, const sw_bval *value);

/* Appends the structure part of an args tuple: 's' u32be(len) l(args)e, as
 * Breezy's _write_structure.  Returns 0, SW_ERR_NOMEM or
 * SW_ERR_INVALID_ARGUMENT (over 4 GiB). */
SW_API int sw_v3_put_args(sw_buf *out, const sw_slice *args, size_t nargs);

/* Appends a bytes part 'b' u32be(n) <n bytes>.  Returns 0, SW_ERR_NOMEM or
 * SW_ERR_INVALID_ARGUMENT (n > UINT32_MAX).  `p` may be NULL if n is 0. */
SW_API int sw_v3_put_bytes(sw_buf *out, const void *p, size_t n);

/* Appends only the 5-byte prefix 'b' u32be(n) of a bytes part whose n bytes
 * the caller then writes itself (e.g. straight from a file to the medium,
 * without copying them into `out`).  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_v3_put_bytes_prefix(sw_buf *out, uint32_t n);

/* Appends the end of the message 'e'.  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_v3_put_end(sw_buf *out);

/* ======================================================================
 * Whole messages, byte-identical to Breezy's ProtocolThreeRequester and
 * ProtocolThreeResponder (same return convention as above; SW_ERR_NOMEM or
 * SW_ERR_INVALID_ARGUMENT as for the building blocks they use)
 * ====================================================================== */

/* A request: marker, headers, s(args), [b(body)], e.
 * `body` NULL: no bytes part (Requester.call).  Non-NULL: exactly one bytes
 * part, even an empty one (call_with_body_bytes; a readv array is the same
 * with body "start,len\n..." without a trailing newline). */
SW_API int sw_v3_encode_request(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                                const sw_slice *args, size_t nargs, const sw_slice *body);

/* The start of a request with a streamed body (call_with_body_stream):
 * marker, headers, s(args).  Then append one sw_v3_put_bytes() per chunk and
 * finish with sw_v3_put_end(), or abort with sw_v3_encode_request_abort(). */
SW_API int sw_v3_encode_request_start(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                                      const sw_slice *args, size_t nargs);

/* Aborts a streamed request body as Breezy does when the client's stream
 * raises: "oE" s(("error",)) "e". */
SW_API int sw_v3_encode_request_abort(sw_buf *out);

/* A response: marker, headers, "oS" (success) or "oE", s(args), [b(body)], e.
 * An error response (Breezy's send_error and FailedSmartServerResponse) is
 * success=false with the error tuple as args, e.g. ("UnknownMethod", verb)
 * or ("error", message).  `body` as for sw_v3_encode_request. */
SW_API int sw_v3_encode_response(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                                 bool success, const sw_slice *args, size_t nargs,
                                 const sw_slice *body);

/* The start of a response with a streamed body: marker, headers, oS/oE,
 * s(args).  Then one sw_v3_put_bytes() per chunk, and sw_v3_put_end() or
 * sw_v3_encode_stream_error(). */
SW_API int sw_v3_encode_response_start(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                                       bool success, const sw_slice *args, size_t nargs);

/* Ends a streamed body with an error, as ProtocolThreeResponder when the body
 * iterator raises or yields a FailedSmartServerResponse: "oE" s(args) "e". */
SW_API int sw_v3_encode_stream_error(sw_buf *out, const sw_slice *args, size_t nargs);

#ifdef __cplusplus
}
#endif
#endif
