/*
 * The chunking and fault-injection harness every decoder test goes through.
 *
 * A decoder is wrapped in a small driver (sw_t_codec) that turns its events
 * into the trace notation of smartwire/format.h.  The harness then feeds a
 * vector whole, one byte at a time, and split in two at every offset, each
 * piece copied against a guard page, and requires the same trace every time
 * (the partial-read invariant).  sw_t_check_failmem() fails every allocation
 * site in turn, once and persistently, and requires SW_ERR_NOMEM (or the full
 * trace, when the failure was absorbed) and no leak.
 */
#ifndef SW_TEST_HARNESS_H
#define SW_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/mem.h"

typedef struct sw_t_codec {
	const char *name;
	/* Creates a decoder appending its trace to `trace`, allocating through
	 * `mem`.  `arg` is the test's own parameter.  NULL means out of memory. */
	void *(*create)(const sw_mem *mem, sw_buf *trace, const void *arg);
	/* Feeds `len` bytes; the driver must take all of them (storing excess
	 * itself).  Returns 0 or a negative sw_err. */
	int (*feed)(void *dec, const uint8_t *in, size_t len);
	/* End of input.  Returns 0 or a negative sw_err (SW_ERR_UNEXPECTED_EOF
	 * mid-message). */
	int (*finish)(void *dec);
	void (*destroy)(void *dec);
	/* Optional: the decoder's current next-read-size hint. */
	size_t (*next_read_size)(void *dec);
} sw_t_codec;

/* Trace lines for drivers (notation of smartwire/format.h):
 * `event "<escaped bytes>"` and `event ["a", "b"]`, each ending in "\n".
 * Return 0 or SW_ERR_NOMEM, so a callback can return the result as is. */
int sw_t_emit_bytes(sw_buf *trace, const char *event, const void *p, size_t n);
int sw_t_emit_tuple(sw_buf *trace, const char *event, const sw_slice *items, size_t n);

/* Callbacks that count their calls in the int `ud` points at and abort
 * (return non-zero), for tests that every callback of a decoder can stop
 * it.  One per callback signature the decoders share. */
int sw_t_stop_event(void *ud);
int sw_t_stop_u64(void *ud, uint64_t v);
int sw_t_stop_data(void *ud, const uint8_t *p, size_t n);
int sw_t_stop_slices(void *ud, const sw_slice *items, size_t n);

/* Runs the decoder over `in` cut at the ascending offsets `cuts[0..ncuts)`,
 * each piece preceded by an empty feed with a NULL pointer (which drivers
 * must pass on to the decoder).
 * Returns the trace as a NUL-terminated malloc'd string; a failure adds a
 * final line "error <SW_ERR_NAME>".  `mem` may be NULL.  If `nrs` is not
 * NULL, the next_read_size() value after create and after every piece is
 * appended to it as decimal numbers separated by spaces. */
char *sw_t_run(const sw_t_codec *c, const void *arg, const uint8_t *in, size_t len,
               const size_t *cuts, size_t ncuts, const sw_mem *mem, sw_buf *nrs);

/* Compares traces line by line; an expected line "error" (as Breezy's
 * generator writes it) matches any actual "error <NAME>" line. */
bool sw_t_trace_equal(const char *expected, const char *actual);

/* Whole, per byte, and every two-way split must all give `expected`.
 * Fails the cmocka test (with a diff-friendly message) otherwise. */
void sw_t_check_vector(const sw_t_codec *c, const void *arg, const uint8_t *in,
                       size_t len, const char *expected);

/* Fails each allocation in turn, once and persistently: every run must end
 * in the expected trace or in "error SW_ERR_NOMEM", and leak nothing.
 * Returns the number of allocation sites exercised. */
size_t sw_t_check_failmem(const sw_t_codec *c, const void *arg, const uint8_t *in,
                          size_t len, const char *expected);

/* Convenience: the error name a run ended with, or NULL if it succeeded.
 * Points into `trace`'s last line (static copy, valid until the next call). */
const char *sw_t_trace_error(const char *trace);

/* Reads a whole file into a malloc'd buffer; *len receives its size.  Path is
 * relative to $SW_SOURCE_DIR when not absolute.  Fails the test if missing. */
uint8_t *sw_t_read_file(const char *path, size_t *len);

#endif
