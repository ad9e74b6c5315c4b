/*
 * smartwire: protocol version markers and the server's version detection.
 *
 * Breezy's server reads the first line of every request (medium._get_line)
 * and picks the protocol with medium._get_protocol_factory_for_bytes:
 *
 *   line starts with "bzr message 3 (bzr 1.6)\n"  -> v3, marker consumed
 *   line starts with "bzr request 2\n"            -> v2, marker consumed
 *   anything else                                 -> v1, the WHOLE line
 *                                                    (newline included) is
 *                                                    the v1 request line
 *
 * Since each marker ends in "\n" and `line` is one line, the line must EQUAL
 * a marker: "bzr request 2 \n" is a v1 request whose verb is
 * "bzr request 2 ".  The version is chosen per request, so versions may be
 * mixed on one connection.
 *
 * Because the test is equality with a marker, the answer is known as soon as
 * the bytes read so far stop being a prefix of a marker; the rest of the
 * line cannot change it.  The detector therefore decides at the first byte
 * that breaks both markers (v1), or when a whole marker was read (v2/v3), so
 * it consumes at most 23 bytes while undecided and stores none of them (a
 * count is enough).  It needs no line-length limit of
 * its own: a v1 request line is bounded by the v1 decoder's max_line
 * (smartwire/v12.h).  The bytes it consumed while the outcome was open are
 * always a prefix of a marker; on a v1 decision it hands them back as
 * sw_detect_pending(), which points at a static marker string, so nothing is
 * copied or lost.
 *
 * The detector is a small caller-owned struct that never allocates; its
 * fields are private.
 */
#ifndef SMARTWIRE_DETECT_H
#define SMARTWIRE_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version markers (protocol.py).  v1 has none.  v3 uses the same marker in
 * both directions. */
#define SW_V2_REQUEST_MARKER "bzr request 2\n"
#define SW_V2_REQUEST_MARKER_LEN 14
#define SW_V2_RESPONSE_MARKER "bzr response 2\n"
#define SW_V2_RESPONSE_MARKER_LEN 15
#define SW_V3_MARKER "bzr message 3 (bzr 1.6)\n"
#define SW_V3_MARKER_LEN 24

typedef enum sw_version {
	SW_VERSION_NONE = 0, /* not decided yet, or no request (EOF at once) */
	SW_VERSION_1 = 1,
	SW_VERSION_2 = 2,
	SW_VERSION_3 = 3
} sw_version;

typedef struct sw_detect {
	/* Private. */
	uint8_t matched;    /* bytes consumed, all a prefix of a marker */
	uint8_t candidates; /* bit 0: v2 marker still possible, bit 1: v3 */
	uint8_t version;    /* sw_version once decided */
} sw_detect;

/* Prepares `d` for the first byte of a request (also to reuse it for the
 * next request). */
SW_API void sw_detect_init(sw_detect *d);

/* Examines `in[0..len)` and returns how many bytes it consumed (never an
 * error).  It consumes bytes only while they continue a marker, and stops
 * once the version is decided:
 *   - v2/v3: the consumed bytes end exactly at the end of the marker
 *     (sw_detect_marker_len()); in + return value is the first byte of the
 *     request's tuple line (v2) or headers (v3).
 *   - v1: the request starts with sw_detect_pending() (the consumed marker
 *     prefix, possibly empty), followed by in + return value.  Feed both to
 *     the v1 decoder, in that order.
 * If the return value equals `len` and sw_detect_version() is still NONE,
 * more bytes are needed.  Once decided, feed consumes nothing. */
SW_API size_t sw_detect_feed(sw_detect *d, const uint8_t *in, size_t len);

/* End of input before a decision.  If no byte was fed, the version stays
 * NONE: the connection ended cleanly between requests.  Otherwise the bytes
 * seen are a partial marker, which Breezy treats as a v1 request that ends
 * inside its line: the version becomes v1 with those bytes pending (the v1
 * decoder's finish then reports SW_ERR_UNEXPECTED_EOF).  Returns 0. */
SW_API int sw_detect_finish(sw_detect *d);

/* SW_VERSION_NONE until decided. */
SW_API sw_version sw_detect_version(const sw_detect *d);

/* Bytes of version marker consumed: 14 (v2), 24 (v3), 0 (v1 or undecided). */
SW_API size_t sw_detect_marker_len(const sw_detect *d);

/* v1 only: the bytes consumed so far that belong to the v1 request (a
 * prefix of a marker, so static storage, valid forever).  Empty otherwise. */
SW_API sw_slice sw_detect_pending(const sw_detect *d);

/* Breezy reads the first line one byte at a time: 1 until decided, then 0. */
SW_API size_t sw_detect_next_read_size(const sw_detect *d);

/* One-shot form of medium._get_protocol_factory_for_bytes(bytes), which
 * bzr+http uses on a whole request body: decides from `in[0..len)` alone,
 * treating the end of `in` as the end of input (so a proper prefix of a
 * marker, or "", is v1).  *marker_len (may be NULL) receives the number of
 * marker bytes at the start of `in`; the request proper is in + *marker_len
 * (for v1 that is all of `in`). */
SW_API sw_version sw_detect_bytes(const uint8_t *in, size_t len, size_t *marker_len);

#ifdef __cplusplus
}
#endif
#endif
