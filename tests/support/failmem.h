/*
 * A counting allocator for fault injection (after nghttp2's failmalloc and
 * SQLite's test_malloc.c).
 *
 * Run an operation once with failure disabled to learn how many allocations
 * it makes (`calls`), then run it again for every N in 1..calls with the N-th
 * allocation failing: once (only the N-th fails) and persistently (the N-th
 * and every later one fail).  `live` counts blocks not yet freed, so a test
 * asserts `live == 0` after tearing down to prove nothing leaked on the error
 * path.
 */
#ifndef SW_TEST_FAILMEM_H
#define SW_TEST_FAILMEM_H

#include <stdbool.h>
#include <stddef.h>

#include "smartwire/mem.h"

typedef struct sw_failmem {
	sw_mem mem;      /* pass &fm.mem to the code under test */
	size_t calls;    /* malloc/realloc calls so far (realloc to shrink counts too) */
	size_t fail_at;  /* 0: never fail; else the call number that fails */
	bool persistent; /* after fail_at, keep failing */
	size_t failures; /* how many calls were failed */
	size_t live;     /* blocks currently allocated */
} sw_failmem;

/* Resets counters; fail_at 0 disables injection. */
void sw_failmem_init(sw_failmem *fm, size_t fail_at, bool persistent);

#endif
