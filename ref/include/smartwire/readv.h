/*
 * smartwire: the readv offset list, the body of a v1/v2/v3 "readv" request.
 *
 * The client sends its ranges as "%d,%d" % (start, length) lines joined by
 * "\n" with no trailing newline (Breezy SmartProtocolBase._serialise_offsets):
 * [] -> "", [(1,2)] -> "1,2", [(10,40),(0,5)] -> "10,40\n0,5".  The server
 * (vfs.ReadvRequest._deserialise_offsets) splits the body on "\n", skips
 * empty lines, splits each line on ",", which must give exactly two fields,
 * and reads both with int():
 *
 *     for line in text.split(b'\n'):
 *         if not line: continue
 *         start, length = line.split(b',')
 *         offsets.append((int(start), int(length)))
 *
 * One parser reads these lines, sw_readv_next(); it reports a refused line
 * precisely enough to rebuild the ValueError Breezy raises for it (the
 * server's answer, smartwire/vfs.h).  sw_readv_parse() is the whole-body
 * form for callers that want non-negative ranges only.
 */
#ifndef SMARTWIRE_READV_H
#define SMARTWIRE_READV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_readv_range {
	uint64_t start;
	uint64_t length;
} sw_readv_range;

/* What is wrong with a line (sw_readv_line.fault), in the order Breezy
 * meets it: the split first, then int(start), then int(length).  The first
 * three are Breezy's ValueErrors, with these texts:
 *   SW_READV_ONE_FIELD    "not enough values to unpack (expected 2, got 1)"
 *   SW_READV_MANY_FIELDS  "too many values to unpack (expected 2)"
 *   SW_READV_NOT_INT      "invalid literal for int() with base 10: " followed
 *                         by repr() of the field's bytes (sw_py_repr_bytes)
 * The last is ours: Python's int() reads the field, but its magnitude does
 * not fit in 64 bits (Breezy would go on and fail deeper in the
 * transport). */
typedef enum sw_readv_fault {
	SW_READV_OK = 0,
	SW_READV_ONE_FIELD = 1,   /* no ',' in the line */
	SW_READV_MANY_FIELDS = 2, /* more than one ',' */
	SW_READV_NOT_INT = 3,     /* int() refuses the field */
	SW_READV_TOO_BIG = 4      /* int() accepts it; |value| >= 2**64 */
} sw_readv_fault;

/* One non-empty line, as sw_readv_next() read it.  A value is int() of its
 * field as sign and magnitude (sw_py_int), so that everything from
 * -(2**64 - 1) to 2**64 - 1 is represented; "-0" is zero, not negative.
 * Offsets are byte offsets into the body given to sw_readv_next(). */
typedef struct sw_readv_line {
	uint64_t start, length; /* |int(start)|, |int(length)| */
	bool start_neg;         /* int(start) < 0 */
	bool length_neg;        /* int(length) < 0 */
	sw_readv_fault fault;   /* SW_READV_OK, or what failed */
	size_t line_at;         /* where the line is, without its '\n' */
	size_t line_len;
	/* SW_READV_NOT_INT / TOO_BIG: the field int() failed on, 0 (start) or 1
	 * (length), and where it is, whitespace included (the bytes repr()
	 * shows in Breezy's message).  When it is the length, start and
	 * start_neg hold int(start). */
	int field;
	size_t field_at;
	size_t field_len;
} sw_readv_line;

/* Reads the next non-empty line of body[*pos .. len) (`body` may be NULL
 * when len is 0).  Each field is read with Python int() rules (sw_py_int,
 * base 10), so " 3", "+3", "-3", "3\r" and "1_0" are accepted.  Returns:
 *   1  a line was read: its values are in `line`, line->fault is
 *      SW_READV_OK and *pos is past the line (and its '\n');
 *   0  no non-empty line is left (*pos == len);
 *   SW_ERR_INVALID_ARGUMENT  the line is refused: line->fault says why and
 *      line_at/line_len (and for NOT_INT / TOO_BIG field, field_at,
 *      field_len) where; *pos is left at the start of that line.
 * No allocation; `line` is overwritten in every case. */
SW_API int sw_readv_next(const uint8_t *body, size_t len, size_t *pos, sw_readv_line *line);

/* Default for the max_ranges argument of sw_readv_parse(). */
#define SW_READV_DEFAULT_MAX_RANGES 65536

/* Appends the serialised form of `ranges[0..n)` (`ranges` may be NULL if n is
 * 0; the output is then empty).  Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_readv_serialise(sw_buf *out, const sw_readv_range *ranges, size_t n);

/* Parses a whole readv body with sw_readv_next() and keeps it only if no
 * value is negative (what a client can ask for; 0 .. 2**64 - 1).
 *
 * On success *out is an array of *n ranges in request order, allocated
 * through `mem` (NULL: libc) and owned by the caller, who releases it with
 * sw_free(mem, *out); for an empty list *out is NULL and *n is 0.
 * `max_ranges` 0 means SW_READV_DEFAULT_MAX_RANGES.
 *
 * Returns 0; SW_ERR_INVALID_ARGUMENT for a line sw_readv_next() refuses
 * (Breezy: ValueError, answered with a generic error response) and for a
 * negative value (Breezy parses it and fails later, in the transport);
 * SW_ERR_LIMIT for more than `max_ranges` ranges; SW_ERR_NOMEM.  Lines are
 * checked in order, so the first bad line decides.  On error *out is NULL
 * and *n is 0. */
SW_API int sw_readv_parse(const uint8_t *body, size_t len, size_t max_ranges, const sw_mem *mem,
                          sw_readv_range **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
