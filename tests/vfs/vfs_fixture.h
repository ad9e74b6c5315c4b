/*
 * What the VFS verb tests (tests/vfs/test_vfs_*.c, smartwire/vfs.h) share:
 * Breezy's fixture tree from tests/vectors/vfs_vectors.inc, built on the
 * file system under test (the disk or a memfs, fs_tree.h); one request run
 * through sw_vfs_begin/body/end with its reply normalised as gen_vfs.py
 * writes Breezy's; the tree dumped in gen_vfs.py's format; a served test
 * root ("env") with one-line request helpers; and ON_BOTH, which makes
 * every test a disk entry and a memfs entry.  Each test program has its
 * own copy of the state below (static): include this once, after
 * <cmocka.h>'s prerequisites.
 */
#ifndef SW_TEST_VFS_FIXTURE_H
#define SW_TEST_VFS_FIXTURE_H

#define _GNU_SOURCE 1
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/jail.h"
#include "smartwire/vfs.h"
#include "fs_tree.h"

struct fx {
	char kind;
	const char *path, *data;
	size_t len;
	unsigned mode;
};
static const struct fx fixture[] = {
#define SW_VFS_FIXTURE
#include "vectors/vfs_vectors.inc"
#undef SW_VFS_FIXTURE
};

/* ---- the file system under test ---- */

/* true: the tests run on a memfs (the *_mem entries of main). */
static bool on_mem;
/* The current test's world (fs_tree.h): its file system and base. */
static fst_world world;

#define FS (world.fs)

static inline void build_fixture(const char *root)
{
	fst_dir(FS, root, 0755);
	for (size_t i = 0; i < sizeof fixture / sizeof fixture[0]; i++) {
		const struct fx *f = &fixture[i];
		char p[4096 + 1024]; /* root (< 4096) / path */
		snprintf(p, sizeof p, "%s/%s", root, f->path);
		if (f->kind == 'f')
			fst_file(FS, p, f->data, f->len, f->mode);
		else if (f->kind == 'd')
			fst_dir(FS, p, f->mode);
		else
			fst_link(FS, f->data, p);
	}
}

typedef struct line {
	char *p;
	size_t n;
} line;

static inline int cmp_line(const void *a, const void *b)
{
	const line *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static inline void dump_into(const char *root, const char *rel, line **lines, size_t *n)
{
	char dirp[4096 + 2048];
	snprintf(dirp, sizeof dirp, "%s%s%s", root, *rel ? "/" : "", rel);
	fst_names names = fst_list_raw(FS, dirp);
	for (size_t i = 0; i < names.n; i++) {
		char r2[2048], p[4096 + 16];
		snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", names.v[i]);
		snprintf(p, sizeof p, "%s/%s", root, r2);
		struct stat st;
		assert_int_equal(sw_fs_fstatat(FS, AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW), 0);
		sw_buf b;
		sw_buf_init(&b, NULL);
		assert_int_equal(sw_buf_append_str(&b, r2), 0);
		char t[64];
		if (S_ISLNK(st.st_mode)) {
			char tg[4096];
			ssize_t k = sw_fs_readlinkat(FS, AT_FDCWD, p, tg, sizeof tg);
			assert_true(k >= 0);
			sw_buf_append_str(&b, " l ");
			sw_buf_append(&b, tg, (size_t)k);
		} else if (S_ISDIR(st.st_mode)) {
			snprintf(t, sizeof t, " d %o", (unsigned)(st.st_mode & 07777));
			sw_buf_append_str(&b, t);
			dump_into(root, r2, lines, n);
		} else {
			snprintf(t, sizeof t, " f %o ", (unsigned)(st.st_mode & 07777));
			sw_buf_append_str(&b, t);
			int fd = sw_fs_openat(FS, AT_FDCWD, p, O_RDONLY, 0);
			char c[4096];
			ssize_t k;
			off_t at = 0;
			while (fd >= 0 && (k = sw_fs_pread(FS, fd, c, sizeof c, at)) > 0) {
				sw_buf_append(&b, c, (size_t)k);
				at += k;
			}
			if (fd >= 0)
				sw_fs_close_fd(FS, fd);
		}
		*lines = realloc(*lines, (*n + 1) * sizeof **lines);
		(*lines)[*n].p = (char *)b.data;
		(*lines)[*n].n = b.len;
		(*n)++;
	}
	fst_names_free(&names);
}

/* The tree as gen_vfs.py's dump_tree writes it; malloc'd, NUL-terminated. */
static inline char *dump_tree(const char *root)
{
	line *lines = NULL;
	size_t n = 0;
	dump_into(root, "", &lines, &n);
	qsort(lines, n, sizeof *lines, cmp_line);
	sw_buf b;
	sw_buf_init(&b, NULL);
	for (size_t i = 0; i < n; i++) {
		sw_buf_append(&b, lines[i].p, lines[i].n);
		sw_buf_append_byte(&b, '\n');
		free(lines[i].p);
	}
	free(lines);
	if (n == 0)
		sw_buf_append_byte(&b, '\n');
	sw_buf_append_byte(&b, 0);
	return (char *)b.data;
}

/* Replaces every occurrence of `from` in the NUL-terminated `s`. */
static inline char *replace_all(char *s, const char *from, const char *to)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	size_t fl = strlen(from);
	for (char *p = s; *p;) {
		if (fl && strncmp(p, from, fl) == 0) {
			sw_buf_append_str(&b, to);
			p += fl;
		} else {
			sw_buf_append_byte(&b, (uint8_t)*p++);
		}
	}
	sw_buf_append_byte(&b, 0);
	free(s);
	return (char *)b.data;
}

/* Masks '<...>.~sw-put.<hex>' like gen_vfs.py masks Breezy's '...tmp'. */
static inline char *mask_temp(char *s)
{
	size_t from = 0;
	char *p;
	while ((p = strstr(s + from, SW_JAIL_TEMP_PREFIX)) != NULL) {
		char *a = p, *e = p;
		while (a > s && a[-1] != '\'' && a[-1] != '"')
			a--;
		while (*e && *e != '\'' && *e != '"')
			e++;
		if (a == s || a[-1] != '\'' || *e != '\'') {
			from = (size_t)(p - s) + 1;
			continue;
		}
		sw_buf b;
		sw_buf_init(&b, NULL);
		sw_buf_append(&b, s, (size_t)(a - s));
		sw_buf_append_str(&b, "@TMP@");
		from = b.len;
		sw_buf_append_str(&b, e);
		sw_buf_append_byte(&b, 0);
		free(s);
		s = (char *)b.data;
	}
	return s;
}

static inline int cmp_slice(const void *a, const void *b)
{
	const sw_slice *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The normalised trace of a reply, as gen_vfs.py writes it. */
static inline char *fmt_reply(const sw_vfs_reply *rep, const char *root)
{
	sw_slice a[4096];
	size_t n = rep->nargs < 4096 ? rep->nargs : 4096;
	memcpy(a, rep->args, n * sizeof *a);
	if (rep->status == SW_VFS_SUCCESS && n == 3 && a[0].n == 4 && !memcmp(a[0].p, "stat", 4) &&
	    a[2].n > 4 && !memcmp(a[2].p, "0o40", 4)) {
		a[1].p = (const uint8_t *)"@DIRSIZE@";
		a[1].n = 9;
	}
	if (rep->status == SW_VFS_SUCCESS && n > 1 && a[0].n == 5 && !memcmp(a[0].p, "names", 5))
		qsort(a + 1, n - 1, sizeof *a, cmp_slice);
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_format_tuple(&b, a, n), 0);
	sw_buf_append_byte(&b, 0);
	return mask_temp(replace_all((char *)b.data, root, "@ROOT@"));
}

/* Runs one request.  `chunk` = 0 feeds the body whole, else in pieces of
 * that size.  Returns the sw_err of the first failing call (0 if none); on
 * success *trace and *body receive the normalised reply and response body. */
static inline int run_request(sw_vfs *v, const sw_slice *args, size_t nargs, const uint8_t *body,
                              size_t blen, bool has_body, size_t chunk, const char *root,
                              char **trace, sw_buf *rbody, int *status)
{
	sw_vfs_req *r = NULL;
	int rc = sw_vfs_begin(v, args, nargs, &r);
	if (rc < 0)
		return rc;
	if (rc == SW_VFS_NEEDS_BODY) {
		for (size_t off = 0; has_body && off < blen;) {
			size_t k = chunk && blen - off > chunk ? chunk : blen - off;
			int b = sw_vfs_body(r, body + off, k);
			if (b) {
				sw_vfs_req_del(r);
				return b;
			}
			off += k;
		}
		int e = sw_vfs_end(r);
		if (e) {
			sw_vfs_req_del(r);
			return e;
		}
	} else {
		assert_int_equal(sw_vfs_body(r, (const uint8_t *)"x", 1), SW_ERR_STATE);
	}
	sw_vfs_reply rep;
	rc = sw_vfs_get_reply(r, &rep);
	if (rc) {
		sw_vfs_req_del(r);
		return rc;
	}
	*status = (int)rep.status;
	*trace = fmt_reply(&rep, root);
	if (rep.has_body) {
		uint8_t buf[7];
		ptrdiff_t k;
		uint64_t got = 0;
		while ((k = sw_vfs_read_body(r, buf, sizeof buf)) > 0) {
			sw_buf_append(rbody, buf, (size_t)k);
			got += (uint64_t)k;
		}
		assert_int_equal(k, 0);
		assert_int_equal(got, rep.body_len);
	} else {
		uint8_t buf[4];
		assert_int_equal(sw_vfs_read_body(r, buf, sizeof buf), SW_ERR_STATE);
	}
	sw_vfs_req_del(r);
	return 0;
}

/* Opens the test's world (the disk or a memfs) and returns its base
 * (malloc'd); drop_base closes it. */
static inline char *make_base(void)
{
	fst_open(&world, on_mem, "sw_vfs", NULL);
	char *b = strdup(world.base);
	assert_non_null(b);
	return b;
}

static inline void drop_base(char *base)
{
	fst_close(&world);
	free(base);
}

/* ---- a served test root ---- */

typedef struct env {
	char *base;
	char root[4096];
	sw_vfs *v;
} env;

static inline void env_open(env *e, const sw_vfs_config *cfg, const sw_mem *mem)
{
	e->base = make_base();
	snprintf(e->root, sizeof e->root, "%s/root", e->base);
	build_fixture(e->root);
	sw_vfs_config c = {0};
	if (cfg)
		c = *cfg;
	c.fs = FS;
	assert_int_equal(sw_vfs_new(&e->v, e->root, &c, mem), 0);
}

static inline void env_close(env *e)
{
	sw_vfs_del(e->v);
	drop_base(e->base);
}

/* One request with no body; returns the normalised trace (malloc'd). */
static inline char *req(env *e, const char *verb, const char *a1, const char *a2)
{
	sw_slice a[3] = {{(const uint8_t *)verb, strlen(verb)}};
	size_t n = 1;
	if (a1)
		a[n++] = (sw_slice){(const uint8_t *)a1, strlen(a1)};
	if (a2)
		a[n++] = (sw_slice){(const uint8_t *)a2, strlen(a2)};
	char *t = NULL;
	sw_buf b;
	sw_buf_init(&b, NULL);
	int st;
	assert_int_equal(run_request(e->v, a, n, NULL, 0, false, 0, e->root, &t, &b, &st), 0);
	sw_buf_fini(&b);
	return t;
}

static inline void expect_req(env *e, const char *verb, const char *a1, const char *a2,
                              const char *want)
{
	char *t = req(e, verb, a1, a2);
	if (strcmp(t, want) != 0)
		fail_msg("%s %s: want %s got %s", verb, a1 ? a1 : "", want, t);
	free(t);
}

static inline bool has_temp_file(const char *dir)
{
	fst_names x = fst_list(FS, dir);
	bool found = false;
	for (size_t i = 0; i < x.n; i++)
		if (!strncmp(x.v[i], SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1))
			found = true;
	fst_names_free(&x);
	return found;
}

/* Every test on the disk, then on a memfs. */
#define ON_BOTH(t)                                                                                 \
	static void t##_disk(void **state)                                                         \
	{                                                                                          \
		on_mem = false;                                                                    \
		t(state);                                                                          \
	}                                                                                          \
	static void t##_mem(void **state)                                                          \
	{                                                                                          \
		on_mem = true;                                                                     \
		t(state);                                                                          \
	}

#endif
