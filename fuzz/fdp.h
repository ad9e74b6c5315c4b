/*
 * A tiny C "FuzzedDataProvider" and a fault-injecting allocator for the fuzz
 * targets in this directory.
 *
 * Input layout.  Every target reads a fixed-size *control trailer* from the
 * END of its input and hands the front, untouched, to the code under test
 * (google/fuzzing docs/split-inputs.md: integers come from the end so that a
 * mutation of a control byte never shifts the protocol bytes).  A seed file is
 * therefore a verbatim protocol stream followed by SW_FUZZ_CTL_LEN control
 * bytes; an input shorter than the trailer gives an empty stream and zeroed
 * controls.  The trailer, read backwards from the last byte:
 *
 *   last byte          plan     fault plan: plan % 4 == 1 fails the N-th
 *                               allocation once, == 2 fails it and every later
 *                               one, 0 and 3 inject nothing
 *   2 bytes            fail_at  which allocation fails (little endian), taken
 *                               modulo the number of allocations the clean
 *                               run made, so an injection always happens
 *   1 byte             variant  target-specific choice (bencode limits, v1/v2
 *                               body kind, ...), documented in each target
 *   SW_FUZZ_CHUNKS     chunks   sizes of successive feeds, cycled: byte b
 *                               means a feed of b + 1 bytes (so an all-zero
 *                               trailer feeds one byte at a time)
 *
 * The all-zero trailer (fuzz/split_sessions.py appends it to every seed)
 * means: no fault, variant 0, one byte per feed.
 *
 * Allocator.  sw_failmem counts allocation calls and live blocks and can
 * fail the N-th call, once or persistently (nghttp2 failmalloc, SQLite
 * test_malloc.c).  The check functions abort() -- which every fuzzing engine
 * reports as a crash -- when a run leaked or did not report an injected
 * failure as SW_ERR_NOMEM (libxml2's xmlFuzzCheckFailureReport).  All state
 * lives in caller-owned structs: nothing survives between two runs.
 */
#ifndef SW_FUZZ_FDP_H
#define SW_FUZZ_FDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/failmem.h"
#include "smartwire/mem.h"

/* Every fuzz_<target>.c defines the libFuzzer entry point; declared here so
 * the targets and fuzz/standalone.c agree on it (and -Wmissing-prototypes is
 * satisfied).  It returns 0 and reports bugs by aborting. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the data provider ------------------------------------------------ */

typedef struct sw_fdp {
	const uint8_t *data; /* front part not yet consumed */
	size_t len;
} sw_fdp;

/* `data` may be NULL when `len` is 0.  The provider does not copy. */
void sw_fdp_init(sw_fdp *f, const uint8_t *data, size_t len);

/* Integers consumed from the end of the remaining input.  When the input is
 * exhausted the missing bytes read as zero (never fails). */
uint8_t sw_fdp_u8(sw_fdp *f);
uint16_t sw_fdp_u16(sw_fdp *f); /* first byte consumed is the low byte */

/* Consumes `n` bytes from the end into `out` (zero-filled when short), in
 * consumption order: out[0] is the last byte of the input. */
void sw_fdp_tail(sw_fdp *f, uint8_t *out, size_t n);

/* ---- the control trailer shared by every target ---------------------- */

#define SW_FUZZ_CHUNKS 8
#define SW_FUZZ_CTL_LEN (1 + 2 + 1 + SW_FUZZ_CHUNKS)

typedef enum sw_fuzz_fault {
	SW_FUZZ_FAULT_NONE = 0,
	SW_FUZZ_FAULT_ONCE = 1,
	SW_FUZZ_FAULT_PERSISTENT = 2
} sw_fuzz_fault;

typedef struct sw_fuzz_ctl {
	sw_fuzz_fault fault;
	uint16_t fail_at; /* raw value; reduce with sw_fuzz_pick_failure() */
	uint8_t variant;
	uint8_t chunks[SW_FUZZ_CHUNKS];
	const uint8_t *data; /* the protocol bytes: the front of the input */
	size_t len;
} sw_fuzz_ctl;

/* Splits an input into the control trailer and the protocol bytes. */
void sw_fuzz_ctl_read(sw_fuzz_ctl *ctl, const uint8_t *in, size_t len);

/* Size of the i-th feed (i counts from 0): chunks[i % SW_FUZZ_CHUNKS] + 1. */
size_t sw_fuzz_chunk(const sw_fuzz_ctl *ctl, size_t i);

/* Maps the raw fail_at onto 1..calls (the allocation count of a clean run);
 * 0 when the clean run made no allocation (nothing to inject). */
size_t sw_fuzz_pick_failure(const sw_fuzz_ctl *ctl, size_t calls);

/* ---- the counting, failing allocator --------------------------------- */

/* The allocator is the library's (smartwire/failmem.h); these add the
 * checks a target makes after a run. */

/* Aborts with a message on stderr if any block is still live.  `what` names
 * the run in the message. */
void sw_fuzz_mem_check_leaks(const sw_failmem *fm, const char *what);

/* Aborts unless an injected failure was reported: when fm->failures > 0 the
 * result `rc` must be SW_ERR_NOMEM, or `absorbed` must be true (the caller
 * proved the run still produced the fault-free result). */
void sw_fuzz_mem_check_report(const sw_failmem *fm, int rc, bool absorbed,
                              const char *what);

/* Prints `fmt` to stderr and aborts: the one way a target reports a bug. */
void sw_fuzz_fail(const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((noreturn, format(printf, 1, 2)))
#endif
	;

/* Trace helpers on a libc-backed sw_buf: abort on allocation failure, since
 * the harness's own memory is not under test. */
void sw_fuzz_puts(sw_buf *trace, const char *s);
void sw_fuzz_put_bytes(sw_buf *trace, const char *event, const void *p, size_t n);
void sw_fuzz_put_error(sw_buf *trace, int err);

#endif
