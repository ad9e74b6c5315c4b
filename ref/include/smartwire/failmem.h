/*
 * smartwire: a counting allocator that fails on request, for fault
 * injection (after nghttp2's failmalloc and SQLite's test_malloc.c).
 *
 * Every object of the library takes an allocator at creation (sw_mem), so a
 * test or a fuzz target hands it &fm.mem and controls failure: run the
 * operation once with failure disabled to learn how many allocations it
 * makes (`calls`), then again for every N in 1..calls with the N-th failing,
 * once (`persistent` false) or with every later one too.  `live` counts the
 * blocks not freed yet, so `live == 0` after tear-down proves that nothing
 * leaked on the error path.  The library's own tests, its fuzz targets and a
 * user's handler tests share this one implementation.
 *
 * Not thread-safe: one sw_failmem per thread of allocations.
 */
#ifndef SMARTWIRE_FAILMEM_H
#define SMARTWIRE_FAILMEM_H

#include <stdbool.h>
#include <stddef.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_failmem {
	sw_mem mem;       /* pass &fm.mem to the code under test */
	size_t calls;     /* malloc and realloc calls so far */
	size_t fail_at;   /* 0: never fail; else the call number that fails */
	bool persistent;  /* after fail_at, keep failing */
	size_t failures;  /* how many calls were failed */
	size_t live;      /* blocks allocated and not freed yet */
	size_t bad_frees; /* frees while no block was live (a double free) */
} sw_failmem;

/* Sets the allocator up with zeroed counters; fail_at 0 disables failure.
 * The blocks come from the C library's malloc. */
SW_API void sw_failmem_init(sw_failmem *fm, size_t fail_at, bool persistent);

#ifdef __cplusplus
}
#endif
#endif
