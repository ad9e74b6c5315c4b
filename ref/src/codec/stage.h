/*
 * Internal helpers shared by the decoders (v3, v1/v2 messages, bodies) for
 * the two short fixed-size fields every framing has: a literal that must
 * appear byte for byte (a version marker, "chunked\n", "done\n", a status
 * line) and a short "\n"-terminated line staged in a bounded buffer (a
 * length line).  Both resume where the previous call stopped, so a decoder
 * can be fed one byte at a time.  Also two inlining hints for the decoders'
 * hot paths.  Not installed; not part of the public API.
 */
#ifndef SMARTWIRE_STAGE_H
#define SMARTWIRE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Matches in[0..len) against lit[*matched..litlen), advancing *matched.
 * Returns the bytes consumed (it stops at the end of the literal, leaving
 * the rest of `in` alone), or -1 if any of the bytes available differs; the
 * mismatch is reported as soon as it is fed, like Breezy's marker checks,
 * not after a whole line.  After -1, *matched is unspecified (the callers
 * fail for good). */
ptrdiff_t sw__stage_literal(const char *lit, size_t litlen, size_t *matched,
                            const uint8_t *in, size_t len);

/* Stages the bytes of a line into line[*staged ..), advancing *staged, up to
 * and including its "\n", which is consumed but not stored.  `max` is the
 * longest accepted line counting its "\n", so the buffer needs max - 1
 * bytes.  Returns the bytes consumed with *complete telling whether the
 * "\n" was among them, or SW_ERR_LINE_TOO_LONG as soon as the line cannot
 * end within `max` bytes. */
ptrdiff_t sw__stage_line(uint8_t *line, size_t *staged, size_t max, const uint8_t *in,
                         size_t len, bool *complete);

/* Marks the long path of a feed function that starts with a short path, so
 * that the compiler does not merge them: the short path then saves and
 * restores only the few registers it needs (about a third of its cost for
 * a 7-byte feed, measured with callgrind).  Only a hint. */
#if defined(__GNUC__) || defined(__clang__)
#define SW__NOINLINE __attribute__((noinline))
#else
#define SW__NOINLINE
#endif

/* The opposite, for a small helper called from two places in a hot loop,
 * which the compiler would otherwise call (through memory for its outputs)
 * instead of inlining.  Only a hint too. */
#if defined(__GNUC__) || defined(__clang__)
#define SW__INLINE inline __attribute__((always_inline))
#else
#define SW__INLINE inline
#endif

#endif
