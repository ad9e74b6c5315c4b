/*
 * The security oracle: snapshots of directory trees and their differences
 * (what "nothing outside the root changed" is checked with).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oracle_impl.h"
#include "smartwire/mem.h"

#define FILE_MAX (1u << 20) /* bytes of a file compared (secrets are 33) */

static int add_node(sw__or_tree *t, const char *rel, char type, const struct stat *st,
                    bool has_data, sw_buf *data)
{
	sw__or_node *v = realloc(t->v, (t->n + 1) * sizeof *v);
	if (!v)
		return SW_ERR_NOMEM;
	t->v = v;
	sw__or_node *nd = &v[t->n];
	memset(nd, 0, sizeof *nd);
	nd->path = strdup(rel);
	if (!nd->path)
		return SW_ERR_NOMEM;
	nd->type = type;
	nd->mode = (unsigned)st->st_mode & 07777;
	nd->ino = (uint64_t)st->st_ino;
	nd->size = (uint64_t)st->st_size;
	nd->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
	nd->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	nd->has_data = has_data;
	if (data && data->len) {
		nd->data = malloc(data->len);
		if (!nd->data) {
			free(nd->path);
			return SW_ERR_NOMEM;
		}
		memcpy(nd->data, data->data, data->len);
		nd->n = data->len;
	}
	t->n++;
	return 0;
}

static int read_small(const char *path, sw_buf *b)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0; /* unreadable: compared by type and mode only */
	uint8_t tmp[8192];
	ssize_t r;
	int rc = 0;
	while (rc == 0 && b->len < FILE_MAX && (r = read(fd, tmp, sizeof tmp)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		rc = sw_buf_append(b, tmp, (size_t)r);
	}
	close(fd);
	return rc;
}

/* Directories deeper than this are not walked (a server may build a tree as
 * deep as paths go; its top is enough to see that something changed). */
#define MAX_DEPTH 48

static int walk(const char *root, const char *rel, sw_oracle_walk_fn fn, void *ud, int depth)
{
	char path[4096];
	if (snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel) >= (int)sizeof path)
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return *rel ? 0 : SW_ERR_IO;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char r2[4096], p2[4096];
		if (snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", de->d_name) >=
		        (int)sizeof r2 ||
		    snprintf(p2, sizeof p2, "%s/%s", root, r2) >= (int)sizeof p2)
			continue;
		struct stat st;
		if (lstat(p2, &st) < 0)
			continue;
		rc = fn(ud, r2, p2, &st);
		if (rc == SW_ORACLE_WALK_SKIP) {
			rc = 0;
		} else if (rc == 0 && S_ISDIR(st.st_mode) && depth < MAX_DEPTH) {
			rc = walk(root, r2, fn, ud, depth + 1);
		}
	}
	closedir(d);
	return rc;
}

int sw_oracle_walk(const char *root, sw_oracle_walk_fn fn, void *ud)
{
	return walk(root, "", fn, ud, 0);
}

typedef struct take {
	const char *skip;
	bool contents;
	sw__or_tree *t;
} take;

static int take_entry(void *ud, const char *rel, const char *path, const struct stat *st)
{
	take *k = ud;
	if (k->skip && strcmp(rel, k->skip) == 0)
		return SW_ORACLE_WALK_SKIP;
	sw_buf b;
	sw_buf_init(&b, NULL);
	int rc = 0;
	if (S_ISDIR(st->st_mode)) {
		rc = add_node(k->t, rel, 'd', st, false, NULL);
	} else if (S_ISLNK(st->st_mode)) {
		char tg[4096];
		ssize_t n = readlink(path, tg, sizeof tg);
		if (n > 0)
			rc = sw_buf_append(&b, tg, (size_t)n);
		if (rc == 0)
			rc = add_node(k->t, rel, 'l', st, true, &b);
	} else if (S_ISREG(st->st_mode)) {
		if (k->contents)
			rc = read_small(path, &b);
		if (rc == 0)
			rc = add_node(k->t, rel, 'f', st, k->contents, &b);
	} else {
		rc = add_node(k->t, rel, '?', st, false, NULL);
	}
	sw_buf_fini(&b);
	return rc;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const sw__or_node *)a)->path, ((const sw__or_node *)b)->path);
}

int sw__or_tree_take(const char *dir, const char *skip, bool contents, sw__or_tree *t)
{
	memset(t, 0, sizeof *t);
	take k = {skip, contents, t};
	int rc = sw_oracle_walk(dir, take_entry, &k);
	if (rc < 0) {
		sw__or_tree_free(t);
		return rc;
	}
	if (t->n)
		qsort(t->v, t->n, sizeof *t->v, node_cmp);
	return 0;
}

void sw__or_tree_free(sw__or_tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].data);
	}
	free(t->v);
	memset(t, 0, sizeof *t);
}

static bool same(const sw__or_node *a, const sw__or_node *b)
{
	if (a->type != b->type || a->mode != b->mode || a->ino != b->ino || a->size != b->size ||
	    a->mtime_ns != b->mtime_ns || a->ctime_ns != b->ctime_ns)
		return false;
	/* Link targets, and contents when both sides have them. */
	if ((a->type == 'l' || (a->has_data && b->has_data)) &&
	    (a->n != b->n || (a->n && memcmp(a->data, b->data, a->n) != 0)))
		return false;
	return true;
}

/* "file (33 bytes, mode 0644) \"3fa...\""; the contents of a file
 * snapshotted without them are read from `dir` (the tree's base). */
static void describe(sw_buf *out, const sw__or_node *nd, const char *dir)
{
	char tmp[64];
	sw_buf now;
	sw_buf_init(&now, NULL);
	if (nd->type == 'f' && !nd->has_data && dir) {
		char p[8400];
		snprintf(p, sizeof p, "%s/%s", dir, nd->path);
		read_small(p, &now);
	}
	bool stored = nd->has_data || nd->type != 'f';
	const uint8_t *data = stored ? nd->data : now.data;
	size_t n = stored ? nd->n : now.len;
	const char *what = nd->type == 'f'   ? "file"
	                   : nd->type == 'd' ? "directory"
	                   : nd->type == 'l' ? "symlink to"
	                                     : "special file";
	sw_buf_append_str(out, what);
	if (nd->type == 'f') {
		snprintf(tmp, sizeof tmp, " (%llu bytes, mode %04o) \"",
		         (unsigned long long)nd->size, nd->mode);
		sw_buf_append_str(out, tmp);
	} else if (nd->type == 'l') {
		sw_buf_append_str(out, " \"");
	} else {
		snprintf(tmp, sizeof tmp, " (mode %04o)", nd->mode);
		sw_buf_append_str(out, tmp);
		sw_buf_fini(&now);
		return;
	}
	for (size_t i = 0; i < n && i < 64; i++) {
		uint8_t c = data[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			sw_buf_append_byte(out, c);
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			sw_buf_append_str(out, tmp);
		}
	}
	sw_buf_append_str(out, n > 64 ? "...\"" : "\"");
	sw_buf_fini(&now);
}

static int report(sw_oracle_report *rep, sw_oracle_kind kind, const char *prefix, const char *path,
                  const char *verb, const sw__or_node *before, const sw__or_node *after,
                  const char *b_dir)
{
	sw_buf t;
	sw_buf_init(&t, NULL);
	char where[4200];
	snprintf(where, sizeof where, "%s%s", prefix, path);
	sw_buf_append_str(&t, where);
	sw_buf_append_str(&t, verb);
	if (before) {
		sw_buf_append_str(&t, before == after ? " " : " (was ");
		describe(&t, before, NULL);
		if (before != after)
			sw_buf_append_str(&t, ")");
	}
	if (after && after != before) {
		sw_buf_append_str(&t, before ? " now " : " ");
		describe(&t, after, b_dir);
	}
	sw_buf_append_byte(&t, 0);
	int rc = t.data ? sw__or_add(rep, kind, 0, where, (const char *)t.data) : SW_ERR_NOMEM;
	sw_buf_fini(&t);
	return rc;
}

/* True if an entry below `dir` differs between a and b (present in one
 * only, or changed). */
static bool child_differs(const sw__or_tree *a, const sw__or_tree *b, const char *dir)
{
	size_t dl = strlen(dir);
	const sw__or_tree *t[2] = {a, b};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < t[k]->n; i++) {
			const sw__or_node *nd = &t[k]->v[i];
			if (strncmp(nd->path, dir, dl) != 0 || nd->path[dl] != '/')
				continue;
			const sw__or_tree *o = t[1 - k];
			sw__or_node key = {.path = nd->path};
			const sw__or_node *m =
			    o->n ? bsearch(&key, o->v, o->n, sizeof *o->v, node_cmp) : NULL;
			if (!m || !same(nd, m))
				return true;
		}
	return false;
}

int sw__or_tree_diff(const sw__or_tree *a, const sw__or_tree *b, const char *b_dir,
                     const char *prefix, sw_oracle_kind kind, size_t max, sw_oracle_report *rep)
{
	size_t i = 0, j = 0;
	int count = 0, rc = 0;
	while ((i < a->n || j < b->n) && rc == 0) {
		int c = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i].path, b->v[j].path);
		const sw__or_node *x = c <= 0 ? &a->v[i] : NULL, *y = c >= 0 ? &b->v[j] : NULL;
		i += c <= 0;
		j += c >= 0;
		if (x && y && same(x, y))
			continue;
		/* A directory whose times changed because an entry in it was
		 * created or removed: that entry is the finding, not it. */
		if (x && y && x->type == 'd' && y->type == 'd' && x->mode == y->mode &&
		    x->ino == y->ino && child_differs(a, b, x->path))
			continue;
		count++;
		if (!rep || (size_t)count > max)
			continue;
		if (!x)
			rc = report(rep, kind, prefix, y->path, " was created:", NULL, y, b_dir);
		else if (!y)
			rc = report(rep, kind, prefix, x->path, " was removed:", x, x, b_dir);
		else
			rc = report(rep, kind, prefix, x->path, " was changed:", x, y, b_dir);
	}
	if (rc == 0 && rep && (size_t)count > max) {
		char msg[96];
		snprintf(msg, sizeof msg, "and %zu more changed entries", (size_t)count - max);
		rc = sw__or_add(rep, kind, 0, prefix, msg);
	}
	return rc < 0 ? rc : count;
}
