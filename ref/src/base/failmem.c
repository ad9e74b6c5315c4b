/*
 * The counting, failing allocator (smartwire/failmem.h).
 */
#include <stdlib.h>

#include "smartwire/failmem.h"

static bool should_fail(sw_failmem *fm)
{
	fm->calls++;
	if (fm->fail_at == 0)
		return false;
	if (fm->calls == fm->fail_at || (fm->persistent && fm->calls > fm->fail_at)) {
		fm->failures++;
		return true;
	}
	return false;
}

static void *fm_malloc(size_t size, void *ud)
{
	sw_failmem *fm = ud;
	if (should_fail(fm))
		return NULL;
	void *p = malloc(size);
	if (p)
		fm->live++;
	return p;
}

static void *fm_realloc(void *ptr, size_t size, void *ud)
{
	sw_failmem *fm = ud;
	if (should_fail(fm))
		return NULL;
	/* sw_realloc never asks for zero bytes, so realloc cannot free here. */
	void *p = realloc(ptr, size);
	if (p && !ptr)
		fm->live++;
	return p;
}

static void fm_free(void *ptr, void *ud)
{
	sw_failmem *fm = ud;
	if (!ptr)
		return;
	if (fm->live == 0) {
		fm->bad_frees++;
		return; /* not ours to free: leave it to the sanitizers to report */
	}
	fm->live--;
	free(ptr);
}

void sw_failmem_init(sw_failmem *fm, size_t fail_at, bool persistent)
{
	*fm = (sw_failmem){
		.mem = {.malloc = fm_malloc, .realloc = fm_realloc, .free = fm_free, .ud = fm},
		.fail_at = fail_at,
		.persistent = persistent,
	};
}
