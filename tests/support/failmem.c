#include "support/failmem.h"

#include <stdlib.h>

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
	void *p = realloc(ptr, size);
	if (p && !ptr)
		fm->live++;
	return p;
}

static void fm_free(void *ptr, void *ud)
{
	sw_failmem *fm = ud;
	if (ptr) {
		fm->live--;
		free(ptr);
	}
}

void sw_failmem_init(sw_failmem *fm, size_t fail_at, bool persistent)
{
	fm->mem.malloc = fm_malloc;
	fm->mem.realloc = fm_realloc;
	fm->mem.free = fm_free;
	fm->mem.ud = fm;
	fm->calls = 0;
	fm->fail_at = fail_at;
	fm->persistent = persistent;
	fm->failures = 0;
	fm->live = 0;
}
