/* The in-memory file system, part 2: the calls of smartwire/fs.h on what a
 * path or descriptor names (open, stat, readlink, chmod, read, write,
 * readdir, realpath), the vtable and the constructor that installs it
 * (sw_memfs_new); the calls that change the name space are fs_mem_names.c.  Each runs under the memfs mutex, with the checks
 * Linux (fs/namei.c, fs/open.c, mm/shmem.c) makes in the order it makes
 * them, so that the errno is the same.  tests/vfs/test_fs.c holds both
 * implementations to that. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs_mem.h"
#include "smartwire/error.h"

#define OPEN_FLAGS                                                                                 \
	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_NOFOLLOW | O_PATH |   \
	 O_CLOEXEC | O_NONBLOCK)

/* Opens the node `lk` found (or creates it) as openat(2) does from
 * do_open() on.  Returns the descriptor or -errno. */
static int open_found(sw__memfs *m, sw__mlook *lk, int flags, mode_t mode)
{
	sw__mnode *n = lk->node;
	bool created = false;
	if (flags & O_CREAT) {
		if (n && (flags & O_EXCL))
			return -EEXIST;
		if (!n) {
			if (lk->slash || lk->type != LAST_NORM)
				return -EISDIR;
			if (sw__mnode_dead(m, lk->dir))
				return -ENOENT;
			if (!sw__mnode_may(m, lk->dir, 3))
				return -EACCES;
			n = sw__mnode_new(m, S_IFREG | (mode & ~m->umask & 07777));
			if (!n)
				return -ENOMEM;
			if (sw__mnode_link(m, lk->dir, lk->last, n)) {
				sw__mnode_release(m, n);
				return -ENOMEM;
			}
			created = true;
			m->changes++;
		} else if (S_ISDIR(n->mode)) {
			return -EISDIR;
		}
	} else if (!n) {
		return -ENOENT;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(n->mode))
		return -ENOTDIR;
	if (flags & O_PATH) {
		int fd = sw__mhandle_new(m, n, O_PATH, 0);
		return fd < 0 ? -errno : fd;
	}
	if (S_ISLNK(n->mode))
		return -ELOOP;
	int acc = flags & O_ACCMODE;
	bool wr = acc != O_RDONLY || (flags & O_TRUNC);
	if (S_ISDIR(n->mode) && wr)
		return -EISDIR;
	if (!created) {
		int want = (acc != O_WRONLY ? 4 : 0) | (wr ? 2 : 0);
		if (!sw__mnode_may(m, n, want))
			return -EACCES;
	}
	if ((flags & O_TRUNC) && S_ISREG(n->mode)) {
		n->len = 0;
		m->changes++;
	}
	int fd = sw__mhandle_new(m, n, flags & (O_ACCMODE | O_APPEND), 0);
	return fd < 0 ? -errno : fd;
}

static int m_openat(sw_fs *fs, int dirfd, const char *path, int flags, mode_t mode)
{
	sw__memfs *m = sw__memfs_lock(fs);
	if (flags & ~OPEN_FLAGS)
		return sw__memfs_done(m, EINVAL, -1);
	bool excl = (flags & O_CREAT) && (flags & O_EXCL);
	sw__mlook lk;
	int e;
	if (flags & O_CREAT) {
		/* open_last_lookups(): the last component is looked up by the
		 * creating path, which refuses a trailing slash before looking,
		 * and follows a symlink there (unless O_EXCL or O_NOFOLLOW) into
		 * the same treatment of its target's last component. */
		e = sw__mwalk(m, dirfd, path, WALK_PARENT, &lk);
		int links = lk.links;
		while (!e) {
			if (lk.slash)
				e = EISDIR;
			else if (lk.toolong)
				e = ENAMETOOLONG;
			else if (lk.node && S_ISLNK(lk.node->mode) && !excl &&
			         !(flags & O_NOFOLLOW))
				e = sw__mwalk_link(m, lk.dir, lk.node, WALK_PARENT, &lk, &links);
			else
				break;
		}
	} else {
		e = sw__mwalk(m, dirfd, path, (flags & O_NOFOLLOW) ? WALK_LOOKUP : WALK_FOLLOW,
		              &lk);
	}
	if (e)
		return sw__memfs_done(m, e, -1);
	int fd = open_found(m, &lk, flags, mode);
	return fd < 0 ? sw__memfs_done(m, -fd, -1) : sw__memfs_done(m, 0, fd);
}

static int m_open_beneath(sw_fs *fs, int dirfd, const char *path, int flags)
{
	sw__memfs *m = sw__memfs_lock(fs);
	if (flags & ~OPEN_FLAGS)
		return sw__memfs_done(m, EINVAL, -1);
	sw__mhandle *h = sw__mhandle_get(m, dirfd);
	if (!h)
		return sw__memfs_done(m, EBADF, -1);
	if (!*path)
		return sw__memfs_done(m, ENOENT, -1);
	if (*path == '/')
		return sw__memfs_done(m, EXDEV, -1);
	if (!S_ISDIR(h->node->mode))
		return sw__memfs_done(m, ENOTDIR, -1);
	/* Component by component below the start; any symlink refuses
	 * (RESOLVE_NO_SYMLINKS, the last component too), and ".." may not
	 * climb above where the walk began (RESOLVE_BENEATH). */
	sw__mnode *cur = h->node;
	size_t depth = 0;
	sw__mlook lk;
	for (const char *s = path;;) {
		const char *e = s;
		while (*e && *e != '/')
			e++;
		const char *after = e;
		while (*after == '/')
			after++;
		size_t len = (size_t)(e - s);
		if (len > NAME_MAX)
			return sw__memfs_done(m, ENAMETOOLONG, -1);
		if (!S_ISDIR(cur->mode))
			return sw__memfs_done(m, ENOTDIR, -1);
		if (!sw__mnode_may(m, cur, 1))
			return sw__memfs_done(m, EACCES, -1);
		sw__mnode *next;
		int type = LAST_NORM;
		if (len == 0 || (len == 1 && s[0] == '.')) {
			next = cur;
			type = LAST_DOT;
		} else if (len == 2 && s[0] == '.' && s[1] == '.') {
			if (depth == 0)
				return sw__memfs_done(m, EXDEV, -1);
			depth--;
			next = cur->parent ? cur->parent : cur;
			type = LAST_DOTDOT;
		} else {
			char comp[NAME_MAX + 1];
			memcpy(comp, s, len);
			comp[len] = 0;
			sw__mdent *de = sw__mnode_find(cur, comp, len);
			next = de ? de->node : NULL;
			depth++;
		}
		if (next && S_ISLNK(next->mode))
			return sw__memfs_done(m, ELOOP, -1);
		if (!*after) {
			lk.dir = cur;
			memcpy(lk.last, s, len);
			lk.last[len] = 0;
			lk.type = type;
			lk.slash = after != e;
			lk.node = next;
			if (lk.slash && next && !S_ISDIR(next->mode))
				return sw__memfs_done(m, ENOTDIR, -1);
			break;
		}
		if (!next)
			return sw__memfs_done(m, ENOENT, -1);
		cur = next;
		s = after;
	}
	int fd = open_found(m, &lk, flags, 0);
	return fd < 0 ? sw__memfs_done(m, -fd, -1) : sw__memfs_done(m, 0, fd);
}

static int m_dup(sw_fs *fs, int fd)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	if (!h)
		return sw__memfs_done(m, EBADF, -1);
	sw__mhandle copy = *h;
	int nfd = sw__mhandle_new(m, copy.node, copy.flags, copy.pos);
	return nfd < 0 ? sw__memfs_done(m, errno, -1) : sw__memfs_done(m, 0, nfd);
}

static int m_close(sw_fs *fs, int fd)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	if (!h)
		return sw__memfs_done(m, EBADF, -1);
	sw__mnode *n = h->node;
	h->node = NULL;
	n->opens--;
	sw__mnode_release(m, n);
	return sw__memfs_done(m, 0, 0);
}

static int m_fstat(sw_fs *fs, int fd, struct stat *st)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	if (!h)
		return sw__memfs_done(m, EBADF, -1);
	sw__mnode_stat(m, h->node, st);
	return sw__memfs_done(m, 0, 0);
}

static int m_fstatat(sw_fs *fs, int dirfd, const char *path, struct stat *st, int flags)
{
	sw__memfs *m = sw__memfs_lock(fs);
	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return sw__memfs_done(m, EINVAL, -1);
	sw__mlook lk;
	int e = sw__mwalk(m, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? WALK_LOOKUP : WALK_FOLLOW,
	                  &lk);
	if (!e && !lk.node)
		e = ENOENT;
	if (!e)
		sw__mnode_stat(m, lk.node, st);
	return sw__memfs_done(m, e, 0);
}

static ssize_t m_readlinkat(sw_fs *fs, int dirfd, const char *path, char *buf, size_t n)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mlook lk;
	int e = sw__mwalk(m, dirfd, path, WALK_LOOKUP, &lk);
	if (!e && !lk.node)
		e = ENOENT;
	if (!e && !S_ISLNK(lk.node->mode))
		e = EINVAL;
	if (e)
		return sw__memfs_done(m, e, -1);
	size_t k = lk.node->len < n ? lk.node->len : n;
	memcpy(buf, lk.node->data, k);
	return sw__memfs_done(m, 0, (int)k);
}

static int m_fchmod(sw_fs *fs, int fd, mode_t mode)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	if (!h || (h->flags & O_PATH))
		return sw__memfs_done(m, EBADF, -1);
	h->node->mode = (h->node->mode & S_IFMT) | (mode & 07777);
	m->changes++;
	return sw__memfs_done(m, 0, 0);
}

static int m_fchmodat(sw_fs *fs, int dirfd, const char *path, mode_t mode, int flags)
{
	sw__memfs *m = sw__memfs_lock(fs);
	if (flags & ~AT_SYMLINK_NOFOLLOW)
		return sw__memfs_done(m, EINVAL, -1);
	sw__mlook lk;
	int e = sw__mwalk(m, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? WALK_LOOKUP : WALK_FOLLOW,
	                  &lk);
	if (!e && !lk.node)
		e = ENOENT;
	if (!e && S_ISLNK(lk.node->mode))
		e = EOPNOTSUPP;
	if (!e) {
		lk.node->mode = (lk.node->mode & S_IFMT) | (mode & 07777);
		m->changes++;
	}
	return sw__memfs_done(m, e, 0);
}

static ssize_t m_pread(sw_fs *fs, int fd, void *buf, size_t n, off_t off)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	if (!h || (h->flags & O_PATH) || (h->flags & O_ACCMODE) == O_WRONLY)
		return sw__memfs_done(m, EBADF, -1);
	if (S_ISDIR(h->node->mode))
		return sw__memfs_done(m, EISDIR, -1);
	if (off < 0)
		return sw__memfs_done(m, EINVAL, -1);
	sw__mnode *f = h->node;
	size_t k = (uint64_t)off >= f->len ? 0 : f->len - (size_t)off;
	if (k > n)
		k = n;
	if (k > INT_MAX)
		k = INT_MAX;
	if (k)
		memcpy(buf, f->data + off, k);
	pthread_mutex_unlock(&m->mu);
	return (ssize_t)k;
}

static ssize_t m_write(sw_fs *fs, int fd, const void *buf, size_t n)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	if (!h || (h->flags & O_PATH) || (h->flags & O_ACCMODE) == O_RDONLY)
		return sw__memfs_done(m, EBADF, -1);
	sw__mnode *f = h->node;
	size_t at = (h->flags & O_APPEND) ? f->len : (size_t)h->pos;
	if (n > INT_MAX)
		n = INT_MAX;
	if (at + n > f->dcap) {
		size_t cap = f->dcap ? f->dcap : 64;
		while (cap < at + n)
			cap *= 2;
		uint8_t *d = sw_realloc(m->mem, f->data, cap);
		if (!d)
			return sw__memfs_done(m, ENOSPC, -1); /* a full tmpfs */
		f->data = d;
		f->dcap = cap;
	}
	if (at > f->len)
		memset(f->data + f->len, 0, at - f->len);
	memcpy(f->data + at, buf, n);
	if (at + n > f->len)
		f->len = at + n;
	h->pos = (off_t)(at + n);
	m->changes++;
	pthread_mutex_unlock(&m->mu);
	return (ssize_t)n;
}

static int m_fsync(sw_fs *fs, int fd)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	return sw__memfs_done(m, !h || (h->flags & O_PATH) ? EBADF : 0, 0);
}

static int m_readdir(sw_fs *fs, int fd, sw_fs_dirent_fn each, void *ud)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mhandle *h = sw__mhandle_get(m, fd);
	if (!h)
		return sw__memfs_done(m, EBADF, -1);
	/* fdopendir(3) checks the type first, getdents(2) the access. */
	if (!S_ISDIR(h->node->mode))
		return sw__memfs_done(m, ENOTDIR, -1);
	if (h->flags & O_PATH)
		return sw__memfs_done(m, EBADF, -1);
	/* The names are copied out and `each` runs unlocked, so that it may
	 * call the file system itself. */
	sw__mnode *d = h->node;
	size_t total = 0;
	for (size_t i = 0; i < d->n; i++)
		total += strlen(d->ents[i].name) + 1;
	char *names = sw__mem_alloc(m, total);
	if (!names)
		return sw__memfs_done(m, ENOMEM, -1);
	size_t off = 0, count = d->n;
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(d->ents[i].name) + 1;
		memcpy(names + off, d->ents[i].name, len);
		off += len;
	}
	pthread_mutex_unlock(&m->mu);
	int rv = 0;
	off = 0;
	for (size_t i = 0; i < count && rv == 0; i++) {
		rv = each(ud, names + off);
		off += strlen(names + off) + 1;
	}
	sw__mem_free(m, names);
	return rv;
}

static int m_realpath(sw_fs *fs, const char *path, char **out, const sw_mem *mem)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mlook lk;
	int e = sw__mwalk(m, AT_FDCWD, path, WALK_FOLLOW, &lk);
	if (!e && !lk.node)
		e = ENOENT;
	if (!e && !lk.node->linked && lk.node != m->root)
		e = ENOENT;
	if (e)
		return sw__memfs_done(m, e, -1);
	size_t len = 0;
	for (sw__mnode *p = lk.node; p != m->root; p = p->parent)
		len += 1 + strlen(p->name);
	if (len == 0)
		len = 1;
	char *s = sw_malloc(mem, len + 1);
	if (!s)
		return sw__memfs_done(m, ENOMEM, -1);
	s[len] = 0;
	s[0] = '/';
	size_t at = len;
	for (sw__mnode *p = lk.node; p != m->root; p = p->parent) {
		size_t k = strlen(p->name);
		at -= k;
		memcpy(s + at, p->name, k);
		s[--at] = '/';
	}
	*out = s;
	return sw__memfs_done(m, 0, 0);
}

static int m_native_fd(sw_fs *fs, int fd)
{
	(void)fs;
	(void)fd;
	return -1;
}

static const sw_fs_ops memfs_ops = {
    .name = "memfs",
    .openat = m_openat,
    .open_beneath = m_open_beneath,
    .dup = m_dup,
    .close = m_close,
    .fstat = m_fstat,
    .fstatat = m_fstatat,
    .readlinkat = m_readlinkat,
    .mkdirat = sw__memfs_mkdirat,
    .symlinkat = sw__memfs_symlinkat,
    .unlinkat = sw__memfs_unlinkat,
    .renameat2 = sw__memfs_renameat2,
    .fchmod = m_fchmod,
    .fchmodat = m_fchmodat,
    .pread = m_pread,
    .write = m_write,
    .fsync = m_fsync,
    .readdir = m_readdir,
    .realpath = m_realpath,
    .native_fd = m_native_fd,
    .destroy = sw__memfs_destroy,
};

/* ---- creation ---------------------------------------------------------- */

/* The process umask, read without changing it (umask(2) cannot). */
static mode_t read_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	unsigned v = 022;
	char line[128];
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "Umask: %o", &v) == 1)
			break;
	if (f)
		fclose(f);
	return (mode_t)v;
}

int sw_memfs_new(sw_fs **out, const sw_mem *mem)
{
	if (!out)
		return SW_ERR_INVALID_ARGUMENT;
	sw__memfs *m = sw_malloc(mem, sizeof *m);
	if (!m)
		return SW_ERR_NOMEM;
	memset(m, 0, sizeof *m);
	m->base.ops = &memfs_ops;
	m->mem = mem;
	m->umask = read_umask();
	m->uid = geteuid();
	m->gid = getegid();
	m->superuser = m->uid == 0;
	if (pthread_mutex_init(&m->mu, NULL) != 0) {
		sw_free(mem, m);
		return SW_ERR_IO;
	}
	m->root = sw__mnode_new(m, S_IFDIR | 0755);
	if (!m->root) {
		pthread_mutex_destroy(&m->mu);
		sw_free(mem, m);
		return SW_ERR_NOMEM;
	}
	*out = &m->base;
	return 0;
}

uint64_t sw_memfs_changes(sw_fs *fs)
{
	if (!fs || fs->ops != &memfs_ops)
		return UINT64_MAX;
	sw__memfs *m = (sw__memfs *)fs;
	pthread_mutex_lock(&m->mu);
	uint64_t n = m->changes;
	pthread_mutex_unlock(&m->mu);
	return n;
}
