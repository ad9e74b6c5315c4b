/* tests/data/hostile_paths.txt, one line decoded as every test reads it:
 * "\\" and "\xNN" escapes, and @N300@ / @OUT@ / @ROOT@ as 300 'n', the
 * directory outside the root and the root.  `out` must hold the decoded
 * line (n + 300 + the two paths' lengths is always enough).  Returns the
 * decoded length. */
#ifndef SW_TEST_HOSTILE_PATHS_H
#define SW_TEST_HOSTILE_PATHS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline size_t sw_t_hostile_decode(const char *l, size_t n, char *out, const char *outside,
                                         const char *root)
{
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		if (l[i] == '\\' && i + 1 < n && l[i + 1] == '\\') {
			out[k++] = '\\';
			i += 2;
		} else if (l[i] == '\\' && i + 3 < n && l[i + 1] == 'x') {
			char h[3] = {l[i + 2], l[i + 3], 0};
			out[k++] = (char)strtol(h, NULL, 16);
			i += 4;
		} else if (!strncmp(l + i, "@N300@", 6)) {
			memset(out + k, 'n', 300);
			k += 300;
			i += 6;
		} else if (!strncmp(l + i, "@OUT@", 5)) {
			k += (size_t)sprintf(out + k, "%s", outside);
			i += 5;
		} else if (!strncmp(l + i, "@ROOT@", 6)) {
			k += (size_t)sprintf(out + k, "%s", root);
			i += 6;
		} else {
			out[k++] = l[i++];
		}
	}
	return k;
}

#endif
