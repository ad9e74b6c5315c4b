/*
 * Internal helpers shared by the decoders (v3, v1/v2 messages, bodies) for
 * the two short fixed-size fields every framing has: a literal that must
 * appear byte for byte (a version marker, "chunked\n", "done\n", a status
 * line) and a short "\n"-terminated line staged in a bounded buffer (a
 * length line).  Both resume where the previous call stopped, so a decoder
 * can be fed one byte at a time.  Not installed; not part of the public API.
 */
#ifndef SMARTWIRE_STAGE_H
#define SMARTWIRE_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Matches in[0..len) against lit[*matched..litlen), advancing *matched.
 * Returns the bytes consumed (it stops at the end of the literal, leaving
 * the rest of `in` alone), or -1 at the first byte that differs; the
 * mismatch is reported as soon as it is seen, like Breezy's marker checks,
 * not after a whole line. */
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

#endif
