/*
 * Breezy's registry of request verbs (smartwire/verbs.h): a sorted table
 * written from Breezy (verbs_table.h) and a binary search.
 */
#include <string.h>

#include "smartwire/verbs.h"

static const sw_verb_info table[] = {
#include "verbs_table.h"
};

#define COUNT (sizeof table / sizeof table[0])

static int cmp(const void *p, size_t n, const char *name)
{
	size_t k = strlen(name);
	int c = memcmp(p, name, n < k ? n : k);
	if (c)
		return c;
	return n < k ? -1 : n > k;
}

const sw_verb_info *sw_verb_lookup(const void *p, size_t n)
{
	if (!p && n)
		return NULL;
	size_t lo = 0, hi = COUNT;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp(n ? p : "", n, table[mid].name);
		if (c == 0)
			return &table[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const sw_verb_info *sw_verb_all(size_t *n)
{
	if (n)
		*n = COUNT;
	return table;
}

int sw_verb_class_retries(sw_verb_class c)
{
	return c == SW_VERB_READ || c == SW_VERB_IDEM || c == SW_VERB_SEMI;
}

const char *sw_verb_class_name(sw_verb_class c)
{
	switch (c) {
	case SW_VERB_READ: return "read";
	case SW_VERB_IDEM: return "idem";
	case SW_VERB_SEMI: return "semi";
	case SW_VERB_SEMIVFS: return "semivfs";
	case SW_VERB_MUTATE: return "mutate";
	case SW_VERB_STREAM: return "stream";
	}
	return "unknown";
}
