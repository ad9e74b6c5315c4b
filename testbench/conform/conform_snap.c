/*
 * Conformance runner: snapshots of a fixture directory (every entry with
 * its contents, sorted by path), and what is judged with them: the
 * after-checks of the case files and "every path is in a state it had
 * before or after the request".
 */
#define _XOPEN_SOURCE 700 /* lstat, readlink */
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conform_impl.h"
#include "smartwire/error.h"

static int snap_add(sw__cf_snap *s, const char *rel, char type, const uint8_t *p, size_t n)
{
	sw__cf_node *v = realloc(s->v, (s->n + 1) * sizeof *v);
	if (!v)
		return SW_ERR_NOMEM;
	s->v = v;
	sw__cf_node *nd = &v[s->n];
	nd->path = strdup(rel);
	nd->data = malloc(n + 1);
	if (!nd->path || !nd->data) {
		free(nd->path);
		free(nd->data);
		return SW_ERR_NOMEM;
	}
	if (n)
		memcpy(nd->data, p, n);
	nd->n = n;
	nd->type = type;
	s->n++;
	return 0;
}

/* One entry of the walk (sw_oracle_walk, which stops 48 directories below
 * the root: a server can build a tree as deep as paths go, as Breezy's move
 * of the root into itself does, and a snapshot only needs to see that it
 * did): files with their whole contents. */
static int snap_entry(void *ud, const char *rel, const char *path, const struct stat *st)
{
	sw__cf_snap *s = ud;
	if (S_ISDIR(st->st_mode))
		return snap_add(s, rel, 'd', NULL, 0);
	if (S_ISLNK(st->st_mode)) {
		char t[4096];
		ssize_t n = readlink(path, t, sizeof t);
		return snap_add(s, rel, 'l', (const uint8_t *)t, n > 0 ? (size_t)n : 0);
	}
	if (!S_ISREG(st->st_mode))
		return snap_add(s, rel, '?', NULL, 0);
	int rc = 0;
	sw_buf b;
	sw_buf_init(&b, NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		uint8_t tmp[8192];
		ssize_t n;
		while ((n = read(fd, tmp, sizeof tmp)) > 0)
			if (sw_buf_append(&b, tmp, (size_t)n) < 0) {
				rc = SW_ERR_NOMEM;
				break;
			}
		close(fd);
	}
	if (rc == 0)
		rc = snap_add(s, rel, 'f', b.data, b.len);
	sw_buf_fini(&b);
	return rc;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const sw__cf_node *)a)->path, ((const sw__cf_node *)b)->path);
}

int sw__cf_snap_take(const char *dir, sw__cf_snap *s)
{
	memset(s, 0, sizeof *s);
	int rc = sw_oracle_walk(dir, snap_entry, s);
	if (rc == SW_ERR_IO)
		rc = 0; /* an unreadable directory: an empty snapshot */
	if (rc == 0 && s->n)
		qsort(s->v, s->n, sizeof *s->v, node_cmp);
	return rc;
}

void sw__cf_snap_free(sw__cf_snap *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].data);
	}
	free(s->v);
	memset(s, 0, sizeof *s);
}

static const sw__cf_node *snap_find(const sw__cf_snap *s, const char *path)
{
	sw__cf_node key = {.path = (char *)path};
	return s->n ? bsearch(&key, s->v, s->n, sizeof *s->v, node_cmp) : NULL;
}

static bool node_eq(const sw__cf_node *a, const sw__cf_node *b)
{
	if (!a || !b)
		return a == b;
	return a->type == b->type && a->n == b->n && memcmp(a->data, b->data, a->n) == 0;
}

static void describe_node(sw_buf *why, const sw__cf_node *nd)
{
	if (!nd)
		sw_buf_append_str(why, "absent");
	else if (nd->type == 'f') {
		sw_buf_append_str(why, "file ");
		sw__cf_quote(why, nd->data, nd->n, 200);
	} else if (nd->type == 'd')
		sw_buf_append_str(why, "directory");
	else if (nd->type == 'l')
		sw__cf_appendf(why, "symlink to %.*s", (int)nd->n, (const char *)nd->data);
	else
		sw_buf_append_str(why, "special file");
}

bool sw__cf_snap_between(const sw__cf_snap *a, const sw__cf_snap *b, const sw__cf_snap *now,
                         sw_buf *why)
{
	bool ok = true;
	const sw__cf_snap *all[3] = {a, b, now};
	for (int k = 0; k < 3; k++)
		for (size_t i = 0; i < all[k]->n; i++) {
			const char *p = all[k]->v[i].path;
			const sw__cf_node *na = snap_find(a, p), *nb = snap_find(b, p),
			                  *nn = snap_find(now, p);
			if (!node_eq(nn, na) && !node_eq(nn, nb)) {
				if (ok || why->len < 2000) {
					sw__cf_appendf(why, "%s%s is ", why->len ? "; " : "", p);
					describe_node(why, nn);
					sw_buf_append_str(
					    why, ", neither its state before the request (");
					describe_node(why, na);
					sw_buf_append_str(why,
					                  ") nor after the complete request (");
					describe_node(why, nb);
					sw_buf_append_str(why, ")");
				}
				ok = false;
			}
		}
	return ok;
}

bool sw__cf_after_checks(const sw_cf_case *c, const char *dir, const sw_cf_ctx *ctx,
                         const sw__cf_snap *initial, sw_buf *why)
{
	if (c->nchecks == 0)
		return true;
	sw__cf_snap now;
	if (sw__cf_snap_take(dir, &now) < 0) {
		sw_buf_append_str(why, "cannot read the fixture after the run");
		return false;
	}
	bool ok = true;
	for (size_t i = 0; i < c->nchecks; i++) {
		const sw_cf_check *ck = &c->checks[i];
		const sw__cf_node *nd = ck->path ? snap_find(&now, ck->path) : NULL;
		switch (ck->kind) {
		case SW_CF_CHECK_FILE: {
			sw_buf want;
			sw_buf_init(&want, NULL);
			sw_cf_eval(ck->expr, ctx, &want, NULL); /* checked by the parser */
			if (!nd || nd->type != 'f' || nd->n != want.len ||
			    (want.len && memcmp(nd->data, want.data, want.len))) {
				sw__cf_appendf(why, "%safter file %s: want ", why->len ? "; " : "",
				               ck->path);
				sw__cf_quote(why, want.data, want.len, 200);
				sw_buf_append_str(why, ", found ");
				describe_node(why, nd);
				ok = false;
			}
			sw_buf_fini(&want);
			break;
		}
		case SW_CF_CHECK_ABSENT:
			if (nd) {
				sw__cf_appendf(why, "%safter absent %s: found ",
				               why->len ? "; " : "", ck->path);
				describe_node(why, nd);
				ok = false;
			}
			break;
		case SW_CF_CHECK_DIR:
			if (!nd || nd->type != 'd') {
				sw__cf_appendf(why, "%safter dir %s: found ", why->len ? "; " : "",
				               ck->path);
				describe_node(why, nd);
				ok = false;
			}
			break;
		case SW_CF_CHECK_NO_STRAY:
			for (size_t k = 0; k < now.n; k++) {
				const char *p = now.v[k].path;
				if (snap_find(initial, p))
					continue;
				bool named = false;
				for (size_t j = 0; j < c->nchecks && !named; j++) {
					const char *q = c->checks[j].path;
					/* A checked path, or a directory on the way to one. */
					if (q &&
					    (c->checks[j].kind == SW_CF_CHECK_FILE ||
					     c->checks[j].kind == SW_CF_CHECK_DIR) &&
					    (strcmp(q, p) == 0 || (strncmp(q, p, strlen(p)) == 0 &&
					                           q[strlen(p)] == '/')))
						named = true;
				}
				if (!named) {
					sw__cf_appendf(why, "%sstray path %s (",
					               why->len ? "; " : "", p);
					describe_node(why, &now.v[k]);
					sw_buf_append_str(why, ")");
					ok = false;
				}
			}
			break;
		case SW_CF_CHECK_UNCHANGED:
			if (!sw__cf_snap_between(initial, initial, &now, why))
				ok = false;
			break;
		case SW_CF_CHECK_COUNT: {
			/* Names a write makes up (pack files, write-group tokens)
			 * are checked by number. */
			size_t k = 0;
			for (size_t j = 0; j < now.n; j++)
				if (fnmatch(ck->path, now.v[j].path, FNM_PATHNAME) == 0)
					k++;
			if (k != ck->count) {
				sw__cf_appendf(why, "%safter count %s: want %zu, found %zu",
				               why->len ? "; " : "", ck->path, ck->count, k);
				ok = false;
			}
			break;
		}
		}
	}
	sw__cf_snap_free(&now);
	return ok;
}
