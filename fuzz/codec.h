/*
 * The shared driver of the decoder fuzz targets.
 *
 * A target wraps its push decoder in an sw_fuzz_codec whose callbacks write
 * events in the trace notation of smartwire/format.h (body bytes joined per
 * part, so the trace does not depend on how the input was cut).  The driver:
 *
 *   1. feeds the protocol bytes whole, then again in the trailer's chunk
 *      sizes (fdp.h), and requires the two traces -- events, message ends and
 *      the final error or finish() result -- to be identical;
 *   2. checks the push-parser contract of STYLE.md on every feed: a feed
 *      consumes at most what it was given, stops short only when the message
 *      is complete, an error is negative and sticky (feeding again returns
 *      the same code), and a decoder that wants more has next_read_size() > 0;
 *   3. after a complete message, resets the decoder and decodes the excess
 *      as the next message (so reset is fuzzed too), and at the end calls
 *      finish();
 *   4. checks for leaks after every run and, when the trailer asks for a
 *      fault, replays the chunked run with the N-th allocation failing: the
 *      run must end in SW_ERR_NOMEM with a trace that is a prefix of the
 *      fault-free trace, or absorb the failure and give the fault-free trace.
 */
#ifndef SW_FUZZ_CODEC_H
#define SW_FUZZ_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fdp.h"
#include "smartwire/mem.h"

/* Optional contract checks a decoder's header promises (flags). */
enum {
	/* After an error, finish() returns that same error. */
	SW_FUZZ_CHECK_FINISH_STICKY = 1u << 0,
	/* next_read_size() is 0 once done and after an error. */
	SW_FUZZ_CHECK_NRS_ZERO = 1u << 1,
	/* next_read_size() is a lower bound: a feed that completes the message
	 * consumed at least the value the hint had before it. */
	SW_FUZZ_CHECK_NRS_BOUND = 1u << 2
};

typedef struct sw_fuzz_codec {
	const char *name;
	unsigned checks; /* SW_FUZZ_CHECK_* */
	/* Creates a decoder allocating through `mem` and appending its events to
	 * `trace`.  `variant` is the trailer's target-specific byte.  Returns 0
	 * or a negative sw_err (SW_ERR_NOMEM). */
	int (*create)(void **dec, const sw_mem *mem, sw_buf *trace, uint8_t variant);
	/* The decoder's feed: consumed count or a negative sw_err. */
	ptrdiff_t (*feed)(void *dec, const uint8_t *in, size_t len);
	bool (*done)(void *dec);
	void (*reset)(void *dec);
	int (*finish)(void *dec);
	size_t (*next_read_size)(void *dec);
	void (*destroy)(void *dec);
} sw_fuzz_codec;

/* Event sink for the targets' callbacks: writes trace lines, joins the
 * pieces of a body part, and makes the `abort_at`-th counted event's callback
 * fail so the SW_ERR_CALLBACK paths are fuzzed.  Only events whose number
 * does not depend on the chunking are counted (never the body pieces). */
typedef struct sw_fuzz_sink {
	sw_buf *trace;
	unsigned abort_at; /* 0: never; k: the k-th counted event fails */
	unsigned events;
	sw_buf part;       /* the current part's bytes so far (libc memory) */
	uint64_t expect;   /* the length the part announced */
	bool in_part;
} sw_fuzz_sink;

void sw_fuzz_sink_init(sw_fuzz_sink *s, sw_buf *trace, unsigned abort_at);
void sw_fuzz_sink_free(sw_fuzz_sink *s);
/* Counts an event (after its line was written); returns what the callback
 * should return: non-zero (and an "abort" line) for the abort_at-th. */
int sw_fuzz_sink_event(sw_fuzz_sink *s);
/* A part of `expect` bytes starts / a piece arrives (n > 0 is checked) / the
 * part ends: checks the joined length and writes `event "..."`. */
void sw_fuzz_sink_begin(sw_fuzz_sink *s, uint64_t expect);
void sw_fuzz_sink_data(sw_fuzz_sink *s, const uint8_t *p, size_t n);
void sw_fuzz_sink_end(sw_fuzz_sink *s, const char *event);

/* Runs every check above on one fuzz input (trailer included).  Aborts on a
 * violation; returns 0 otherwise. */
int sw_fuzz_codec_one(const sw_fuzz_codec *c, const uint8_t *data, size_t size);

/* Family drivers (codec_<family>.c), each running sw_fuzz_codec_one() on
 * one decoder; the fuzz_<target>.c files are one-line calls of these. */
int sw_fuzz_v3_one(bool expect_marker, const uint8_t *data, size_t size);
int sw_fuzz_prefixed_one(const uint8_t *data, size_t size);
int sw_fuzz_chunked_one(const uint8_t *data, size_t size);
int sw_fuzz_v12_one(bool response, const uint8_t *data, size_t size);

#endif
