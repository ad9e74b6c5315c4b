/*
 * Trees on any sw_fs (smartwire/fs.h) for the VFS and jail tests: made,
 * listed and removed through the interface only, so that the same test
 * runs on the disk and on a memfs and can compare the two.
 *
 * A test names one "world": a file system and the absolute path of a
 * fresh base directory in it (a mkdtemp directory under $TMPDIR on the
 * disk; the same path made in a new memfs), so that error texts carrying
 * server paths read the same on both.
 */
#ifndef SW_TEST_FS_TREE_H
#define SW_TEST_FS_TREE_H

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartwire/fs.h"
#include "smartwire/mem.h"
#include "support/fsfix.h"

typedef struct fst_world {
	sw_fs *fs; /* sw_fs_disk() or a memfs (owned) */
	bool mem;
	char base[512]; /* absolute, no trailing '/' */
} fst_world;

static inline void fst_die(const char *what, const char *path)
{
	fprintf(stderr, "fs_tree: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

/* mkdir -p of an absolute path. */
static inline void fst_mkdirs(sw_fs *fs, const char *abs)
{
	char p[4096];
	size_t n = strlen(abs);
	if (n >= sizeof p)
		abort();
	memcpy(p, abs, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != 0)
			continue;
		char c = p[i];
		p[i] = 0;
		if (sw_fs_mkdirat(fs, AT_FDCWD, p, 0755) < 0 && errno != EEXIST)
			fst_die("mkdir", p);
		p[i] = c;
	}
}

/* A fresh world: a memfs (`mem`) or the disk, with an empty base
 * directory named like mkdtemp's "$TMPDIR/<tag>.XXXXXX" (the disk's name
 * reused by the memfs when `like` is given, so that two worlds compare). */
static inline void fst_open(fst_world *w, bool mem, const char *tag, const fst_world *like)
{
	memset(w, 0, sizeof *w);
	w->mem = mem;
	if (mem) {
		if (sw_memfs_new(&w->fs, NULL) != 0)
			abort();
		if (like)
			snprintf(w->base, sizeof w->base, "%s", like->base);
		else
			snprintf(w->base, sizeof w->base, "/dev/shm/%s.memfs0", tag);
		fst_mkdirs(w->fs, w->base);
		sw_fs_fchmodat(w->fs, AT_FDCWD, w->base, 0700, 0); /* as mkdtemp makes it */
		return;
	}
	w->fs = sw_fs_disk();
	/* tmpfs when we may: the memfs follows tmpfs where file systems
	 * differ, and it is the fastest to build trees in. */
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
	char t[512];
	snprintf(t, sizeof t, "%s/%s.XXXXXX", tmp, tag);
	if (!mkdtemp(t))
		fst_die("mkdtemp", t);
	/* The real path, so that a symlinked $TMPDIR does not show. */
	char *real = realpath(t, NULL);
	if (!real)
		fst_die("realpath", t);
	snprintf(w->base, sizeof w->base, "%s", real);
	free(real);
}

static inline void fst_close(fst_world *w)
{
	if (w->mem)
		sw_fs_del(w->fs);
	else
		sw_t_rm_rf(w->base);
	w->fs = NULL;
}

/* Creates file `path` (absolute) with `data` and `mode` (exactly, whatever
 * the umask). */
static inline void fst_file(sw_fs *fs, const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = sw_fs_openat(fs, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		fst_die("create", path);
	if (n && sw_fs_write(fs, fd, data, n) != (ssize_t)n)
		fst_die("write", path);
	if (sw_fs_fchmod(fs, fd, mode) < 0)
		fst_die("chmod", path);
	sw_fs_close_fd(fs, fd);
}

static inline void fst_dir(sw_fs *fs, const char *path, mode_t mode)
{
	if (sw_fs_mkdirat(fs, AT_FDCWD, path, 0700) < 0)
		fst_die("mkdir", path);
	if (sw_fs_fchmodat(fs, AT_FDCWD, path, mode, 0) < 0)
		fst_die("chmod", path);
}

static inline void fst_link(sw_fs *fs, const char *target, const char *path)
{
	if (sw_fs_symlinkat(fs, target, AT_FDCWD, path) < 0)
		fst_die("symlink", path);
}

typedef struct fst_names {
	char **v;
	size_t n;
} fst_names;

static inline int fst_collect(void *ud, const char *name)
{
	fst_names *x = ud;
	x->v = realloc(x->v, (x->n + 1) * sizeof *x->v);
	if (!x->v || !(x->v[x->n++] = strdup(name)))
		abort();
	return 0;
}

static inline int fst_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in directory `path` in readdir order (free with
 * fst_names_free), or n == 0 if it cannot be listed. */
static inline fst_names fst_list_raw(sw_fs *fs, const char *path)
{
	fst_names x = {NULL, 0};
	int fd = sw_fs_openat(fs, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0)
		return x;
	sw_fs_readdir(fs, fd, fst_collect, &x);
	sw_fs_close_fd(fs, fd);
	return x;
}

/* The names in directory `path`, sorted (NULL-terminated; free with
 * fst_names_free), or n == 0 with errno set if it cannot be listed. */
static inline fst_names fst_list(sw_fs *fs, const char *path)
{
	fst_names x = fst_list_raw(fs, path);
	if (x.n > 1)
		qsort(x.v, x.n, sizeof *x.v, fst_cmp_str);
	return x;
}

static inline void fst_names_free(fst_names *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i]);
	free(x->v);
	x->v = NULL;
	x->n = 0;
}

/* rm -rf of an absolute path through the interface (directories made
 * searchable first, symlinks never followed; a missing path is fine). */
static inline void fst_rm_rf(sw_fs *fs, const char *path)
{
	struct stat st;
	if (sw_fs_fstatat(fs, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		sw_fs_unlinkat(fs, AT_FDCWD, path, 0);
		return;
	}
	sw_fs_fchmodat(fs, AT_FDCWD, path, 0700, 0);
	fst_names x = fst_list_raw(fs, path);
	for (size_t i = 0; i < x.n; i++) {
		char sub[4096];
		if (snprintf(sub, sizeof sub, "%s/%s", path, x.v[i]) >= (int)sizeof sub)
			abort();
		fst_rm_rf(fs, sub);
	}
	fst_names_free(&x);
	sw_fs_unlinkat(fs, AT_FDCWD, path, AT_REMOVEDIR);
}

static inline void fst_dump_into(sw_fs *fs, const char *root, const char *rel, sw_buf *out)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
	fst_names x = fst_list(fs, dir);
	for (size_t i = 0; i < x.n; i++) {
		char r2[4096], p[8192], t[64];
		snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", x.v[i]);
		snprintf(p, sizeof p, "%s/%s", root, r2);
		struct stat st;
		if (sw_fs_fstatat(fs, AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
			fst_die("lstat", p);
		sw_buf_append_str(out, r2);
		if (S_ISLNK(st.st_mode)) {
			char tg[4096];
			ssize_t k = sw_fs_readlinkat(fs, AT_FDCWD, p, tg, sizeof tg);
			if (k < 0)
				fst_die("readlink", p);
			sw_buf_append_str(out, " l ");
			sw_buf_append(out, tg, (size_t)k);
			sw_buf_append_byte(out, '\n');
		} else if (S_ISDIR(st.st_mode)) {
			snprintf(t, sizeof t, " d %o\n", (unsigned)(st.st_mode & 07777));
			sw_buf_append_str(out, t);
			fst_dump_into(fs, root, r2, out);
		} else {
			snprintf(t, sizeof t, " f %o ", (unsigned)(st.st_mode & 07777));
			sw_buf_append_str(out, t);
			int fd = sw_fs_openat(fs, AT_FDCWD, p, O_RDONLY | O_NOFOLLOW, 0);
			char c[4096];
			ssize_t k;
			off_t at = 0;
			while (fd >= 0 && (k = sw_fs_pread(fs, fd, c, sizeof c, at)) > 0) {
				sw_buf_append(out, c, (size_t)k);
				at += k;
			}
			if (fd >= 0)
				sw_fs_close_fd(fs, fd);
			sw_buf_append_byte(out, '\n');
		}
	}
	fst_names_free(&x);
}

/* One line per entry below `root`, depth first in name order: "rel l
 * target", "rel d mode", "rel f mode contents" (not gen_vfs.py's format:
 * see vfs_fixture.h's dump_tree for that).  malloc'd, NUL-terminated. */
static inline char *fst_dump(sw_fs *fs, const char *root)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	fst_dump_into(fs, root, "", &b);
	sw_buf_append_byte(&b, 0);
	return (char *)b.data;
}

#endif
