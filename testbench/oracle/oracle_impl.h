/*
 * The security oracle's internals (oracle.c, oracle_tree.c, oracle_report.c);
 * not installed.
 */
#ifndef SW_ORACLE_IMPL_H
#define SW_ORACLE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oracle/oracle.h"

/* One entry of a tree: path relative to the walked directory. */
typedef struct sw__or_node {
	char *path;
	char type;     /* 'f' file, 'd' directory, 'l' symlink, '?' other */
	unsigned mode; /* permission bits */
	/* What changes when anything is written, renamed over, created in or
	 * removed from it (a directory's times), without reading it. */
	uint64_t ino, size;
	int64_t mtime_ns, ctime_ns;
	bool has_data;
	uint8_t *data; /* link target; file contents if has_data */
	size_t n;
} sw__or_node;

typedef struct sw__or_tree {
	sw__or_node *v;
	size_t n;
} sw__or_tree;

/* Records every entry below `dir`, sorted by path, without following
 * symlinks; `skip` (relative, or NULL) is left out with everything below
 * it.  With `contents`, file contents are read too (the armed state, to
 * show what a file held); otherwise entries are compared by their stat
 * alone.  Returns 0, SW_ERR_NOMEM or SW_ERR_IO (dir unreadable). */
int sw__or_tree_take(const char *dir, const char *skip, bool contents, sw__or_tree *t);
void sw__or_tree_free(sw__or_tree *t);

/* Appends a finding of `kind` for every entry that differs between a and
 * b (at most `max`, then one saying how many more), entry paths prefixed
 * with `prefix`; the contents of b's files are read from b_dir to show
 * them.  With rep NULL only counts.  Returns the number of differing
 * entries or SW_ERR_NOMEM. */
int sw__or_tree_diff(const sw__or_tree *a, const sw__or_tree *b, const char *b_dir,
                     const char *prefix, sw_oracle_kind kind, size_t max, sw_oracle_report *rep);

/* Appends a finding (strings copied; oracle_report.c).  Returns 0 or
 * SW_ERR_NOMEM. */
int sw__or_add(sw_oracle_report *rep, sw_oracle_kind kind, size_t offset, const char *secret,
               const char *text);

#endif
