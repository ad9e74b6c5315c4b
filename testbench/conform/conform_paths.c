/*
 * Conformance suite: where the data beside the case files is (the bzr
 * fixtures, the verb list), for `smartwire conform` without --fixtures or
 * --verbs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conform_impl.h"

const char *sw_cf_beside_cases(const char *cases, const char *name, char *buf, size_t cap)
{
	struct stat st;
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s", cases);
	size_t l = strlen(tmp);
	while (l > 1 && tmp[l - 1] == '/')
		tmp[--l] = '\0';
	if (stat(tmp, &st) == 0 && !S_ISDIR(st.st_mode)) {
		/* A case file: its directory. */
		char *sl = strrchr(tmp, '/');
		if (sl)
			*sl = '\0';
		else
			strcpy(tmp, ".");
	}
	char *sl = strrchr(tmp, '/');
	if (sl)
		snprintf(buf, cap, "%.*s/%s", (int)(sl - tmp), tmp, name);
	else
		snprintf(buf, cap, "%s", name);
	if (strcmp(tmp, ".") != 0 && stat(buf, &st) == 0)
		return buf;
	const char *src = getenv("SW_SOURCE_DIR");
	if (src && snprintf(buf, cap, "%s/conformance/%s", src, name) > 0 && stat(buf, &st) == 0)
		return buf;
	return NULL;
}
