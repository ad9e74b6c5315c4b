/*
 * smartwire: Breezy's pack container (breezy/bzr/pack.py), the framing of
 * the network stream that Repository.get_stream*, Repository.insert_stream*
 * and VersionedFileRepository.get_inventories carry in their bodies
 * (verbs-reference.md §2, §3).
 *
 *   container := header record* 'E'
 *   header    := "Bazaar pack format 1 (introduced in 0.18)\n"     (42 bytes)
 *   record    := 'B' length "\n" (name "\n")* "\n" <length bytes>
 *   length    := ASCII decimal (the reader takes what Python int() takes)
 *   name      := element ("\x00" element)*       one name is a tuple of
 *   element   := byte string without \t \n \v \f \r or space   elements
 *
 * A record may have no names; an element may be empty ("a\x00" is the name
 * ("a", "")).  The network stream is one container whose first record has
 * no name and holds the source repository's format name, and whose other
 * records each have the one-element name of their substream kind
 * ("revisions", "inventories", "chk_bytes", "texts", ...).
 *
 * DECODER (sw_pack_dec): a sans-I/O push parser for one container, reading
 * what Breezy's ContainerPushParser reads.  It reports each record as
 * on_record_begin (the length and all names), the body in pieces as they
 * arrive (never buffered whole), on_record_end, and the end marker as
 * on_end; it stops right after 'E' and leaves the bytes after it to the
 * caller.  Names are staged (bounded by the limits below) until the blank
 * line that ends them; nothing else is.
 *
 * Where Breezy's parser is undefined or unbounded, the decoder fails
 * instead (docs/departures.md):
 *   - every staged size has a limit with its own error (Breezy has none);
 *   - a negative length is SW_ERR_PACK_BAD_LENGTH (Breezy's parser then
 *     takes all but the last |length| bytes it happens to have buffered, so
 *     the result depends on how the stream was cut);
 *   - errors are reported at the first byte that makes them certain: a
 *     header that stops matching, a whitespace byte in a name.  Breezy
 *     waits for the end of the line first, so a stream cut before that line
 *     ends is only incomplete for Breezy;
 *   - the end of input before 'E' is SW_ERR_UNEXPECTED_EOF from
 *     sw_pack_dec_finish() (UnexpectedEndOfContainerError); Breezy's network
 *     code (_byte_stream_to_stream) silently accepts a truncated stream.
 * Name uniqueness and UTF-8 validity are checked by Breezy's file reader
 * (ContainerReader.validate), never by its network code, and not here.
 *
 * ENCODERS (sw_pack_encode_*): Breezy's ContainerSerialiser/ContainerWriter
 * bytes, appended to a caller's sw_buf; on error `out` keeps its length.
 */
#ifndef SMARTWIRE_PACK_H
#define SMARTWIRE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The header line, its "\n" included (pack.FORMAT_ONE + b"\n"). */
#define SW_PACK_HEADER "Bazaar pack format 1 (introduced in 0.18)\n"
#define SW_PACK_HEADER_LEN 42

/* Breezy's ContainerPushParser.read_size_hint() outside a record body. */
#define SW_PACK_READ_SIZE_HINT 16384

/* One name of a record: a tuple of `n` byte strings (n >= 1 when decoded). */
typedef struct sw_pack_name {
	const sw_slice *elems;
	size_t n;
} sw_pack_name;

/* ======================================================================
 * Decoder
 * ====================================================================== */

/* Default limits.  The network stream's names are one short kind each and
 * the pack files of a repository have none; 64 names of 4 KiB bound the
 * staging of one record's names to 256 KiB.  Bodies are streamed, so their
 * default only bounds what a consumer that buffers a record would hold. */
#define SW_PACK_DEFAULT_MAX_LENGTH_LINE 64
#define SW_PACK_DEFAULT_MAX_NAME_LINE 4096
#define SW_PACK_DEFAULT_MAX_NAMES 64
#define SW_PACK_DEFAULT_MAX_RECORD (UINT64_C(1) << 32) /* 4 GiB */

/* Zero-initialise and set what you need: a zero field means its default. */
typedef struct sw_pack_config {
	/* Longest length line, counting its "\n".  Longer: SW_ERR_LINE_TOO_LONG
	 * as soon as the limit is passed.  (Python's int() refuses over 4300
	 * digits; a limit above that would accept what Breezy refuses.) */
	size_t max_length_line;
	/* Longest name line, counting its "\n" (all the elements of one name
	 * and their "\x00" separators).  Longer: SW_ERR_PACK_NAME_TOO_LONG as
	 * soon as the limit is passed. */
	size_t max_name_line;
	/* Most names in one record.  One more: SW_ERR_PACK_TOO_MANY_NAMES at
	 * the first byte of the extra name line. */
	size_t max_names;
	/* Largest record length.  Larger (or over 64 bits):
	 * SW_ERR_PACK_RECORD_TOO_LARGE when the length line is complete, before
	 * any name is read. */
	uint64_t max_record;
} sw_pack_config;

/* Events, in wire order.  Every callback may be NULL (event ignored).  A
 * callback returns 0 to continue; non-zero makes the current feed return
 * SW_ERR_CALLBACK, and the decoder is failed (sticky).  Pointers handed to a
 * callback are valid only during that call.  A callback must not feed,
 * reset or delete the decoder that called it. */
typedef struct sw_pack_callbacks {
	/* A 'B' record's length and names were read (at its blank line):
	 * `length` body bytes follow.  `names[0..nnames)` (NULL when nnames is
	 * 0) and their elements point into the decoder. */
	int (*on_record_begin)(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames);
	/* A piece of the current record's body, as it arrives (never empty);
	 * `p` points into the caller's input. */
	int (*on_record_data)(void *ud, const uint8_t *p, size_t n);
	/* The current record's body is complete (right after on_record_begin
	 * for an empty record). */
	int (*on_record_end)(void *ud);
	/* The end marker 'E' was read: the container is complete. */
	int (*on_end)(void *ud);
} sw_pack_callbacks;

typedef struct sw_pack_dec sw_pack_dec;

/* Creates a decoder in *out (owned by the caller, released with
 * sw_pack_dec_del()).  `cfg` and `cb` may be NULL (defaults / no events)
 * and are copied; `ud` is passed to every callback; all memory comes from
 * `mem` (NULL: libc).  One allocation here; the names of a record are
 * staged in two buffers allocated through `mem` when first needed and kept
 * (grown, never shrunk) until sw_pack_dec_del().
 * Returns 0, SW_ERR_INVALID_ARGUMENT (out NULL, or a limit so large that
 * the staging sizes overflow) or SW_ERR_NOMEM; *out is NULL on error. */
SW_API int sw_pack_dec_new(sw_pack_dec **out, const sw_pack_config *cfg,
                           const sw_pack_callbacks *cb, void *ud, const sw_mem *mem);

/* Frees the decoder and its staging buffers (NULL is a no-op).  Legal in
 * every state. */
SW_API void sw_pack_dec_del(sw_pack_dec *dec);

/* Consumes bytes of the container and returns how many it took (0 .. len),
 * stopping right after 'E': when sw_pack_dec_done() is true, in[returned ..
 * len) is the excess, which belongs to the caller (Breezy's parser ignores
 * it).  Short of the end everything is consumed (staged or delivered).
 * Feeding a done decoder consumes nothing and returns 0.  `in` may be NULL
 * when len is 0.
 *
 * The length line is read with Python int() rules (sw_py_int, base 10), so
 * " 3 ", "+3" and "1_0" are accepted like Breezy; "-0" is 0.
 *
 * Errors (negative; the decoder is then failed: every later feed returns the
 * same code without looking at its input, sw_pack_dec_finish() returns it,
 * sw_pack_dec_next_read_size() is 0, and reset or del are the ways out):
 *   SW_ERR_PACK_BAD_FORMAT       the input stopped matching SW_PACK_HEADER
 *                                (UnknownContainerFormatError)
 *   SW_ERR_PACK_BAD_RECORD_TYPE  a record kind byte other than 'B' or 'E'
 *                                (UnknownRecordTypeError)
 *   SW_ERR_PACK_BAD_LENGTH       the length line is not an integer
 *                                (InvalidRecordError "... is not a valid
 *                                length"), or is negative (see above)
 *   SW_ERR_PACK_BAD_NAME         a name element holds \t \v \f \r or space
 *                                (InvalidRecordError "... is not a valid
 *                                name"; \n ends the line)
 *   SW_ERR_LINE_TOO_LONG         length line over max_length_line
 *   SW_ERR_PACK_NAME_TOO_LONG    name line over max_name_line
 *   SW_ERR_PACK_TOO_MANY_NAMES   more than max_names names in a record
 *   SW_ERR_PACK_RECORD_TOO_LARGE length over max_record or over 64 bits
 *   SW_ERR_NOMEM                 staging names failed
 *   SW_ERR_CALLBACK              a callback returned non-zero
 * or the sticky error of an earlier call (SW_ERR_UNEXPECTED_EOF after
 * sw_pack_dec_finish() reported one). */
SW_API ptrdiff_t sw_pack_dec_feed(sw_pack_dec *dec, const uint8_t *in, size_t len);

/* True once 'E' has been consumed (and until reset). */
SW_API bool sw_pack_dec_done(const sw_pack_dec *dec);

/* The sticky error, or 0 if the decoder has not failed. */
SW_API int sw_pack_dec_error(const sw_pack_dec *dec);

/* End of input: 0 if the container is complete, the sticky error of a
 * failed decoder, otherwise SW_ERR_UNEXPECTED_EOF (even before the first
 * byte: a container was expected), which becomes the sticky error. */
SW_API int sw_pack_dec_finish(sw_pack_dec *dec);

/* Breezy's ContainerPushParser.read_size_hint(): SW_PACK_READ_SIZE_HINT,
 * or inside a record body the larger of that and the body bytes still to
 * come (capped at SIZE_MAX).  It is a read size, not a bound: the container
 * may end sooner.  0 once done (Breezy: 16384) and after an error. */
SW_API size_t sw_pack_dec_next_read_size(const sw_pack_dec *dec);

/* Back to the initial state for the next container, with the same
 * configuration, callbacks and staging buffers; clears a sticky error.
 * Legal in every state. */
SW_API void sw_pack_dec_reset(sw_pack_dec *dec);

/* ======================================================================
 * Encoders (ContainerSerialiser; each appends to `out` and returns 0 or a
 * negative sw_err, leaving `out` at its original length on error)
 * ====================================================================== */

/* Appends SW_PACK_HEADER (ContainerWriter.begin).  Returns 0 or
 * SW_ERR_NOMEM. */
SW_API int sw_pack_encode_begin(sw_buf *out);

/* Appends a record's header: "B%d\n" % length, one line per name (its
 * elements joined by "\x00"), and the blank line; `length` body bytes must
 * follow (ContainerSerialiser.bytes_header; ContainerWriter.add_bytes_record
 * writes this and then the chunks).  `names` may be NULL when nnames is 0.
 *
 * Names are checked before anything is written.  Breezy refuses an element
 * with whitespace; this encoder also refuses what Breezy writes but cannot
 * read back as the same names: an element holding "\x00" (it would split),
 * and a name whose line would be empty, i.e. no elements or one empty
 * element (the blank line would end the names early).
 * Returns 0, SW_ERR_PACK_BAD_NAME, SW_ERR_INVALID_ARGUMENT (a NULL pointer
 * with a non-zero count, in `names` or an element) or SW_ERR_NOMEM. */
SW_API int sw_pack_encode_record_header(sw_buf *out, uint64_t length, const sw_pack_name *names,
                                        size_t nnames);

/* Appends a whole record: its header and `body[0..len)` (`body` may be NULL
 * when len is 0), ContainerSerialiser.bytes_record.  Returns 0,
 * SW_ERR_PACK_BAD_NAME, SW_ERR_INVALID_ARGUMENT (as above, or `body` NULL
 * with len > 0) or SW_ERR_NOMEM. */
SW_API int sw_pack_encode_record(sw_buf *out, const void *body, size_t len,
                                 const sw_pack_name *names, size_t nnames);

/* Appends the end marker "E" (ContainerWriter.end).  Returns 0 or
 * SW_ERR_NOMEM. */
SW_API int sw_pack_encode_end(sw_buf *out);

#ifdef __cplusplus
}
#endif
#endif
