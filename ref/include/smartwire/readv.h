/*
 * smartwire: the readv offset list, the body of a v1/v2/v3 "readv" request.
 *
 * The client sends its ranges as "%d,%d" % (start, length) lines joined by
 * "\n" with no trailing newline (Breezy SmartProtocolBase._serialise_offsets):
 * [] -> "", [(1,2)] -> "1,2", [(10,40),(0,5)] -> "10,40\n0,5".  The server
 * (vfs.ReadvRequest._deserialise_offsets) splits the body on "\n", skips
 * empty lines, splits each line on ",", which must give exactly two fields,
 * and reads both with int().
 */
#ifndef SMARTWIRE_READV_H
#define SMARTWIRE_READV_H

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

/* Default for the max_ranges argument of sw_readv_parse(). */
#define SW_READV_DEFAULT_MAX_RANGES 65536

/* Appends the serialised form of `ranges[0..n)` (`ranges` may be NULL if n is
 * 0; the output is then empty).  Returns 0 or SW_ERR_NOMEM (out unchanged). */
SW_API int sw_readv_serialise(sw_buf *out, const sw_readv_range *ranges, size_t n);

/* Parses a readv body as Breezy's server does.  Each field is read with
 * Python int() rules (sw_parse_pyint, base 10), so " 3", "+3", "3\r" and
 * "1_0" are accepted.
 *
 * On success *out is an array of *n ranges in request order, allocated
 * through `mem` (NULL: libc) and owned by the caller, who releases it with
 * sw_free(mem, *out); for an empty list *out is NULL and *n is 0.
 * `max_ranges` 0 means SW_READV_DEFAULT_MAX_RANGES.
 *
 * Returns 0; SW_ERR_INVALID_ARGUMENT for a non-empty line without exactly one
 * ',' or with a field that is not an integer (Breezy: ValueError, answered
 * with a generic error response), and for a negative or over-64-bit value
 * (Breezy parses a negative offset and then fails inside the transport);
 * SW_ERR_LIMIT for more than `max_ranges` ranges; SW_ERR_NOMEM.  On error
 * *out is NULL and *n is 0. */
SW_API int sw_readv_parse(const uint8_t *body, size_t len, size_t max_ranges, const sw_mem *mem,
                          sw_readv_range **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
