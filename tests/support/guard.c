#include "support/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const uint8_t *sw_guard_copy(sw_guard *g, const void *src, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (len + page - 1) / page * page;
	if (body == 0)
		body = page;
	g->maplen = body + page;
	g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED) {
		perror("mmap");
		abort();
	}
	if (mprotect(g->map + body, page, PROT_NONE) != 0) {
		perror("mprotect");
		abort();
	}
	g->data = g->map + body - len;
	g->len = len;
	if (len)
		memcpy(g->data, src, len);
	return g->data;
}

void sw_guard_free(sw_guard *g)
{
	if (g->map)
		munmap(g->map, g->maplen);
	g->map = NULL;
}
