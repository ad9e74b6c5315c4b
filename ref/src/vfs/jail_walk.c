/* The path jail, part 2: the physical walk below the root (sw_jail_init,
 * sw_jail_resolve, sw_jail_open_plain).  The client path's translation is
 * in jail_path.c.  See smartwire/jail.h for the contract and the symlink
 * policy. */
#define _GNU_SOURCE 1 /* O_PATH */
#include "smartwire/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartwire/error.h"

#define MAX_SYMLINKS 40

int sw_jail_init_fs(sw_jail *j, sw_fs *fs, const char *root, const sw_mem *mem)
{
	j->fs = fs ? fs : sw_fs_disk();
	j->mem = mem;
	j->root_real = NULL;
	j->root_fd = sw_fs_openat(j->fs, AT_FDCWD, root, O_PATH | O_DIRECTORY, 0);
	if (j->root_fd < 0)
		return SW_ERR_IO;
	if (sw_fs_realpath(j->fs, root, &j->root_real, mem) < 0) {
		int e = errno;
		sw_fs_close_fd(j->fs, j->root_fd);
		j->root_fd = -1;
		j->root_real = NULL;
		errno = e;
		return e == ENOMEM ? SW_ERR_NOMEM : SW_ERR_IO;
	}
	j->root_real_len = strlen(j->root_real);
	return 0;
}

int sw_jail_init(sw_jail *j, const char *root, const sw_mem *mem)
{
	return sw_jail_init_fs(j, NULL, root, mem);
}

void sw_jail_fini(sw_jail *j)
{
	if (j->root_fd >= 0)
		sw_fs_close_fd(j->fs, j->root_fd);
	j->root_fd = -1;
	sw_free(j->mem, j->root_real);
	j->root_real = NULL;
}

void sw_jail_res_fini(sw_jail_res *res)
{
	if (res->dirfd >= 0)
		sw_fs_close_fd(res->fs, res->dirfd);
	res->dirfd = -1;
	sw_free(res->mem, res->name);
	res->name = NULL;
}

/* The walk's state: a stack of held directory fds (index 0 is the root fd,
 * borrowed) and the path still to walk, which symlink targets are spliced
 * into. */
typedef struct walk {
	const sw_jail *j;
	int *fds;
	size_t depth, cap; /* fds[0..depth] valid */
	sw_buf rest;
	size_t pos;
} walk;

static void walk_unwind(walk *w, size_t to)
{
	while (w->depth > to) {
		sw_fs_close_fd(w->j->fs, w->fds[w->depth]);
		w->depth--;
	}
}

static int walk_push(walk *w, int fd)
{
	if (w->depth + 1 >= w->cap) {
		size_t ncap = w->cap * 2;
		int *n = sw_realloc(w->j->mem, w->fds, ncap * sizeof *n);
		if (!n) {
			sw_fs_close_fd(w->j->fs, fd);
			return SW_ERR_NOMEM;
		}
		w->fds = n;
		w->cap = ncap;
	}
	w->fds[++w->depth] = fd;
	return 0;
}

/* Replaces the unread part of the walk with `target` + "/" + rest. */
static int splice_target(walk *w, const char *target, size_t tlen)
{
	sw_buf nb;
	sw_buf_init(&nb, w->j->mem);
	int rc = sw_buf_append(&nb, target, tlen);
	if (rc == 0 && w->pos < w->rest.len) {
		rc = sw_buf_append_byte(&nb, '/');
		if (rc == 0)
			rc = sw_buf_append(&nb, w->rest.data + w->pos, w->rest.len - w->pos);
	}
	if (rc) {
		sw_buf_fini(&nb);
		return rc;
	}
	sw_buf_fini(&w->rest);
	w->rest = nb;
	w->pos = 0;
	return 0;
}

/* A symlink `name` in the current directory: splice its target in.
 * Returns 0, SW_ERR_NOMEM, or SW_ERR_IO with *err (ENOENT + *outside when it
 * leaves the root, EINVAL when `name` is not a symlink after all). */
static int follow(walk *w, const char *name, int *nlinks, int *err, bool *outside)
{
	char target[PATH_MAX + 1];
	ssize_t tl = sw_fs_readlinkat(w->j->fs, w->fds[w->depth], name, target, sizeof target - 1);
	if (tl < 0) {
		*err = errno;
		return SW_ERR_IO;
	}
	if (++*nlinks > MAX_SYMLINKS) {
		*err = ELOOP;
		return SW_ERR_IO;
	}
	if (tl == 0 || (size_t)tl >= sizeof target - 1) {
		*err = tl == 0 ? ENOENT : ENAMETOOLONG;
		return SW_ERR_IO;
	}
	target[tl] = 0;
	if (target[0] == '/') {
		const sw_jail *j = w->j;
		size_t rl = j->root_real_len;
		bool inside = strncmp(target, j->root_real, rl) == 0 &&
		              (target[rl] == 0 || target[rl] == '/' || (rl == 1));
		if (!inside) {
			*outside = true;
			*err = ENOENT;
			return SW_ERR_IO;
		}
		walk_unwind(w, 0);
		size_t skip = rl == 1 ? 0 : rl;
		return splice_target(w, target + skip, (size_t)tl - skip);
	}
	return splice_target(w, target, (size_t)tl);
}

static int reserved(const char *name)
{
	return strncmp(name, SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1) == 0;
}

int sw_jail_resolve(const sw_jail *j, const uint8_t *fs, size_t n, unsigned flags, sw_jail_res *res,
                    int *err)
{
	walk w = {j, NULL, 0, 8, {0}, 0};
	int nlinks = 0, rc = 0;
	char *name = NULL;
	res->dirfd = -1;
	res->name = NULL;
	res->is_root = false;
	res->outside = false;
	res->mem = j->mem;
	res->fs = j->fs;
	*err = 0;
	sw_buf_init(&w.rest, j->mem);
	w.fds = sw_malloc(j->mem, w.cap * sizeof *w.fds);
	if (!w.fds)
		return SW_ERR_NOMEM;
	w.fds[0] = j->root_fd;
	rc = sw_buf_append(&w.rest, fs, n);
	for (;;) {
		if (rc)
			break;
		/* next component */
		while (w.pos < w.rest.len && w.rest.data[w.pos] == '/')
			w.pos++;
		size_t s = w.pos;
		while (w.pos < w.rest.len && w.rest.data[w.pos] != '/')
			w.pos++;
		size_t len = w.pos - s;
		bool last = true;
		for (size_t k = w.pos; k < w.rest.len; k++)
			if (w.rest.data[k] != '/')
				last = false;
		if (len == 0) { /* end: the current directory itself */
			name = sw_malloc(j->mem, 2);
			if (!name) {
				rc = SW_ERR_NOMEM;
				break;
			}
			memcpy(name, ".", 2);
			res->is_root = w.depth == 0;
			break;
		}
		if (len >= NAME_MAX + 1) {
			*err = ENAMETOOLONG;
			rc = SW_ERR_IO;
			break;
		}
		char comp[NAME_MAX + 1];
		memcpy(comp, w.rest.data + s, len);
		comp[len] = 0;
		if (len == 1 && comp[0] == '.')
			continue;
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			if (w.depth == 0) {
				res->outside = true;
				*err = ENOENT;
				rc = SW_ERR_IO;
				break;
			}
			walk_unwind(&w, w.depth - 1);
			if (last) {
				name = sw_malloc(j->mem, 2);
				if (!name) {
					rc = SW_ERR_NOMEM;
					break;
				}
				memcpy(name, ".", 2);
				res->is_root = w.depth == 0;
				break;
			}
			continue;
		}
		if (reserved(comp)) {
			*err = ENOENT;
			rc = SW_ERR_IO;
			break;
		}
		if (last) {
			if (flags & SW_JAIL_FOLLOW) {
				rc = follow(&w, comp, &nlinks, err, &res->outside);
				if (rc == 0)
					continue; /* it was a symlink: walk its target */
				/* EINVAL: not a symlink; ENOENT from readlinkat: missing,
				 * which is fine (the verb may create it).  Anything else,
				 * a refusal or a loop is final. */
				if (rc != SW_ERR_IO || res->outside ||
				    (*err != EINVAL && *err != ENOENT) || nlinks > MAX_SYMLINKS)
					break;
				rc = 0;
				*err = 0;
			}
			name = sw_malloc(j->mem, len + 1);
			if (!name) {
				rc = SW_ERR_NOMEM;
				break;
			}
			memcpy(name, comp, len + 1);
			break;
		}
		int fd =
		    sw_fs_openat(j->fs, w.fds[w.depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
		if (fd >= 0) {
			rc = walk_push(&w, fd);
			continue;
		}
		int e = errno;
		if (e == ENOTDIR || e == ELOOP) {
			rc = follow(&w, comp, &nlinks, err, &res->outside);
			if (rc == 0)
				continue;
			if (*err == EINVAL) /* not a symlink: a file in the middle */
				*err = ENOTDIR;
			break;
		}
		*err = e;
		rc = SW_ERR_IO;
		break;
	}
	if (rc == 0) {
		res->dirfd = w.depth == 0 ? sw_fs_dup(j->fs, j->root_fd) : w.fds[w.depth];
		if (w.depth > 0)
			w.depth--;
		if (res->dirfd < 0) {
			*err = errno;
			rc = SW_ERR_IO;
		}
	}
	walk_unwind(&w, 0);
	sw_free(j->mem, w.fds);
	sw_buf_fini(&w.rest);
	if (rc) {
		if (res->dirfd >= 0)
			sw_fs_close_fd(j->fs, res->dirfd);
		res->dirfd = -1;
		sw_free(j->mem, name);
		return rc;
	}
	res->name = name;
	return 0;
}

int sw_jail_open_plain(const sw_jail *j, const uint8_t *fs, size_t n, int oflags)
{
	char path[PATH_MAX];
	if (n == 0 || n >= sizeof path)
		return -1;
	/* Only names the walk would take component by component without a
	 * decision of its own: no empty, ".", ".." or reserved component, no
	 * NUL.  Symlinks are refused by the kernel (RESOLVE_NO_SYMLINKS, also
	 * for the last component), so any path that has one goes to the walk
	 * and its policy. */
	size_t s = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && fs[i] != '/') {
			if (fs[i] == 0)
				return -1;
			continue;
		}
		size_t len = i - s;
		const char *c = (const char *)fs + s;
		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && c[0] == '.' && c[1] == '.') ||
		    (len >= sizeof SW_JAIL_TEMP_PREFIX - 1 &&
		     memcmp(c, SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1) == 0))
			return -1;
		s = i + 1;
	}
	memcpy(path, fs, n);
	path[n] = 0;
	int fd = sw_fs_open_beneath(j->fs, j->root_fd, path, oflags | O_NOFOLLOW);
	return fd < 0 ? -1 : fd;
}
