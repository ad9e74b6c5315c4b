/*
 * smartwire: deterministic I/O fault injection for any medium.
 *
 * A fault plan describes how one direction of a byte stream misbehaves:
 * chopped reads, short writes, an early EOF, an error, spurious EAGAIN and
 * EINTR results, a stall.  sw_fault_wrap() puts a plan in front of any
 * medium (smartwire/medium.h); sw_fifo_pair() takes plans per direction.
 * Everything is a pure function of the plan, its seed and the sequence of
 * calls: no clock, no rand(), so a failure found by a fuzzer replays exactly.
 *
 * ROLES.  A wrapper applies one plan to its reads ("read role") and another
 * to its writes ("write role").  Offsets count the bytes that passed through
 * the wrapper in that role, from 0.
 *
 *   read=SIZES    read role: the k-th inner read (k = 0, 1, ...) asks for at
 *                 most size(k) bytes; k advances on every inner read that
 *                 returned data.  Ignored in the write role.
 *   write=SIZES   write role: the k-th inner write passes at most size(k)
 *                 bytes (a short write).  Ignored in the read role.
 *   eof@N         read role: bytes [0, N) are delivered, then every read
 *                 returns 0 (EOF); a read crossing N is cut at N.  Ignored in
 *                 the write role.
 *   error@N:E     both roles: bytes [0, N) pass, then every call fails as the
 *                 fd medium would for errno E (sticky; sw_medium_errno() = E):
 *                   read:  ECONNRESET, EPIPE, EINVAL -> 0 (EOF, as Breezy);
 *                          EIO, ETIMEDOUT -> SW_ERR_IO
 *                   write: ECONNRESET, EPIPE, EINVAL -> SW_ERR_CONNECTION_RESET;
 *                          EIO, ETIMEDOUT -> SW_ERR_IO
 *   eagain=K/M    both roles: attempt number t (t = 0, 1, ... counting every
 *                 attempt of the role, including retried EINTR attempts) is
 *                 a spurious EAGAIN when t % M < K: the call returns
 *                 SW_ERR_WOULD_BLOCK without touching the inner medium.
 *   eintr=K/M     both roles: attempt t is a spurious EINTR when t % M < K;
 *                 it is retried inside the wrapper (as fd media retry EINTR)
 *                 and only shows in the counters.  EINTR is checked before
 *                 EAGAIN for the same attempt.  1 <= K < M for both.
 *   stall@N       both roles: after N bytes, reads/writes return
 *                 SW_ERR_WOULD_BLOCK and wait_readable returns SW_ERR_TIMEOUT
 *                 (as if the idle time ran out) until sw_fault_release_stall().
 *   seed=S        seeds the splitmix64 generator used by "rand:" sizes (each
 *                 role draws from its own stream derived from S).
 *
 * SIZES is one of:
 *   N[,N...]      1..SW_FAULT_MAX_SIZES positive sizes used in turn, cycling
 *                 ("read=1" reads one byte at a time);
 *   every:M       1, 2, ..., M, 1, 2, ... (M >= 1); "every" alone is every:16;
 *   rand:A-B      uniform in [A, B], 1 <= A <= B, from the seeded generator.
 *
 * Order of checks on each call: sticky error/EOF; EINTR/EAGAIN bursts;
 * error@ reached; eof@ reached; stall@ reached; otherwise one inner call of
 * at most min(len, size(k), distance to the next of error@/eof@/stall@).
 *
 * TEXT SPEC (shared by tests, fuzzers and the conformance runner):
 *   spec  = "" | item *( ";" item )
 *   item  = "seed=" U64 | "read=" sizes | "write=" sizes | "eof@" U64
 *         | "error@" U64 ":" ERRNAME | "eagain=" K "/" M | "eintr=" K "/" M
 *         | "stall@" U64
 *   sizes = SIZE *( "," SIZE ) | "every" [ ":" SIZE ] | "rand:" SIZE "-" SIZE
 *   ERRNAME = "ECONNRESET" | "EPIPE" | "EINVAL" | "EIO" | "ETIMEDOUT"
 * Numbers are unsigned decimal (no sign, no spaces, at most 20 digits and no
 * overflow); SIZE and K, M fit in 32 bits.  Each item appears at most once.
 * Examples: "read=1", "read=1,3,7;write=2;eof@100", "error@50:ECONNRESET",
 * "eagain=3/10;eintr=2/5", "stall@10", "seed=42;read=rand:1-16".
 */
#ifndef SMARTWIRE_FAULT_H
#define SMARTWIRE_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/error.h"
#include "smartwire/export.h"
#include "smartwire/medium.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SW_FAULT_MAX_SIZES 16
#define SW_FAULT_EVERY_DEFAULT 16

typedef enum sw_fault_size_kind {
	SW_FAULT_SIZES_NONE = 0, /* no limit from the plan */
	SW_FAULT_SIZES_LIST,     /* v[0..n) cycling */
	SW_FAULT_SIZES_EVERY,    /* 1..v[0] cycling */
	SW_FAULT_SIZES_RAND      /* uniform in [v[0], v[1]] */
} sw_fault_size_kind;

typedef struct sw_fault_sizes {
	sw_fault_size_kind kind;
	uint32_t n; /* entries used in v (LIST) */
	uint32_t v[SW_FAULT_MAX_SIZES];
} sw_fault_sizes;

/* A plain value: zero-initialise it (or sw_fault_plan_init) for "no faults",
 * then set fields or parse a spec.  Fields unused by a role are ignored. */
typedef struct sw_fault_plan {
	uint64_t seed;
	sw_fault_sizes read;
	sw_fault_sizes write;
	bool has_eof;
	uint64_t eof_at;
	bool has_error;
	uint64_t error_at;
	int error_errno;             /* one of the ERRNAME values */
	uint32_t eagain_k, eagain_m; /* m == 0: no bursts */
	uint32_t eintr_k, eintr_m;   /* m == 0: no bursts */
	bool has_stall;
	uint64_t stall_at;
} sw_fault_plan;

/* Counters of a wrapper, for tests. */
typedef struct sw_fault_stats {
	uint64_t read_calls, write_calls;       /* calls of the wrapper */
	uint64_t read_bytes, write_bytes;       /* bytes that passed */
	uint64_t inner_reads, inner_writes;     /* calls forwarded to the inner medium */
	uint64_t eagain_reads, eagain_writes;   /* spurious EAGAIN returned */
	uint64_t eintr_reads, eintr_writes;     /* spurious EINTR retried */
	uint64_t stalled_reads, stalled_writes; /* calls refused by a stall */
} sw_fault_stats;

/* Sets *p to "no faults". */
SW_API void sw_fault_plan_init(sw_fault_plan *p);

/* Parses a text spec (grammar above) into *p.  Returns 0 or
 * SW_ERR_INVALID_ARGUMENT (p untouched).  On error ei->offset (if ei is not
 * NULL) is the offset in `spec` of the first character that could not be
 * accepted (for a duplicate item or out-of-range value: the start of that
 * item or value), and ei->text says so. */
SW_API int sw_fault_plan_parse(const char *spec, sw_fault_plan *p, sw_errinfo *ei);

/* Appends the canonical spec of *p to `out` (items in the order seed, read,
 * write, eof, error, eagain, eintr, stall; seed omitted when 0), such that
 * parsing it gives back an equal plan.  Returns 0, SW_ERR_NOMEM,
 * SW_ERR_INVALID_ARGUMENT (a field outside what the grammar allows). */
SW_API int sw_fault_plan_format(const sw_fault_plan *p, sw_buf *out);

/* Field-by-field equality (unused v[] entries ignored). */
SW_API bool sw_fault_plan_equal(const sw_fault_plan *a, const sw_fault_plan *b);

/* Wraps `inner`: reads follow read_plan, writes follow write_plan (NULL: no
 * faults; the plans are copied).  Ownership of `inner` always moves to the
 * call: on success it is closed with *out, on failure it is closed at once.
 * shutdown_write and close are forwarded.  Returns 0, SW_ERR_NOMEM, or
 * SW_ERR_INVALID_ARGUMENT for a NULL inner or out, or a plan with a field
 * outside what the text grammar allows (an empty or zero size, a burst with
 * K >= M, an errno not in ERRNAME); `inner`, if any, is then closed. */
SW_API int sw_fault_wrap(sw_medium **out, sw_medium *inner, const sw_fault_plan *read_plan,
                         const sw_fault_plan *write_plan);

/* Ends stalls in both roles of a "fault" medium (later stall@ offsets are
 * not re-armed).  Returns 0 or SW_ERR_INVALID_ARGUMENT. */
SW_API int sw_fault_release_stall(sw_medium *m);

/* Copies the counters.  Returns 0 or SW_ERR_INVALID_ARGUMENT. */
SW_API int sw_fault_get_stats(const sw_medium *m, sw_fault_stats *out);

/* The wrapped medium (still owned by the wrapper), or NULL if m is not a
 * "fault" medium. */
SW_API sw_medium *sw_fault_inner(sw_medium *m);

#ifdef __cplusplus
}
#endif
#endif
