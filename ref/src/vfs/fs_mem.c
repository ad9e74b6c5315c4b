/* The in-memory file system, part 1: nodes, descriptors, the path walk,
 * destruction, and the lock every call takes.  The calls, the vtable and
 * the constructor are fs_mem_ops.c and fs_mem_names.c.  See fs_mem.h and
 * smartwire/fs.h. */
#define _GNU_SOURCE 1
#include "fs_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "smartwire/error.h"

#define MAX_LINKS 40     /* symlinks followed in one walk (Linux MAXSYMLINKS) */
#define MAX_HANDLES 4096 /* open descriptors, as a default RLIMIT_NOFILE */

void *sw__mem_alloc(sw__memfs *m, size_t n)
{
	return sw_malloc(m->mem, n ? n : 1);
}

void sw__mem_free(sw__memfs *m, void *p)
{
	sw_free(m->mem, p);
}

sw__mnode *sw__mnode_new(sw__memfs *m, mode_t mode)
{
	sw__mnode *n = sw__mem_alloc(m, sizeof *n);
	if (!n)
		return NULL;
	memset(n, 0, sizeof *n);
	n->mode = mode;
	n->ino = ++m->next_ino;
	return n;
}

static void node_free(sw__memfs *m, sw__mnode *n)
{
	for (size_t i = 0; i < n->n; i++)
		sw__mem_free(m, n->ents[i].name);
	sw__mem_free(m, n->ents);
	sw__mem_free(m, n->data);
	sw__mem_free(m, n->name);
	sw__mem_free(m, n);
}

void sw__mnode_release(sw__memfs *m, sw__mnode *n)
{
	if (n && !n->linked && n->opens == 0 && n != m->root)
		node_free(m, n);
}

void sw__mnode_free_tree(sw__memfs *m, sw__mnode *n)
{
	for (size_t i = 0; i < n->n; i++) {
		sw__mnode *c = n->ents[i].node;
		c->linked = false;
		c->parent = NULL;
		if (c->opens == 0)
			sw__mnode_free_tree(m, c);
	}
	node_free(m, n); /* the entries' names; the children went above */
}

sw__mdent *sw__mnode_find(sw__mnode *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->ents[i].len == len && memcmp(d->ents[i].name, name, len) == 0)
			return &d->ents[i];
	return NULL;
}

int sw__mnode_link(sw__memfs *m, sw__mnode *d, const char *name, sw__mnode *n)
{
	size_t len = strlen(name);
	char *nm = sw__mem_alloc(m, len + 1), *own = sw__mem_alloc(m, len + 1);
	if (d->n == d->cap && nm && own) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		sw__mdent *e = sw_realloc(m->mem, d->ents, cap * sizeof *e);
		if (e) {
			d->ents = e;
			d->cap = cap;
		}
	}
	if (!nm || !own || d->n == d->cap) {
		sw__mem_free(m, nm);
		sw__mem_free(m, own);
		return ENOMEM;
	}
	memcpy(nm, name, len + 1);
	memcpy(own, name, len + 1);
	d->ents[d->n++] = (sw__mdent){nm, len, n};
	sw__mem_free(m, n->name);
	n->name = own;
	n->parent = d;
	n->linked = true;
	return 0;
}

void sw__mnode_unlink(sw__memfs *m, sw__mnode *n)
{
	sw__mnode *d = n->parent;
	if (d) {
		for (size_t i = 0; i < d->n; i++) {
			if (d->ents[i].node == n) {
				sw__mem_free(m, d->ents[i].name);
				memmove(&d->ents[i], &d->ents[i + 1],
				        (d->n - i - 1) * sizeof *d->ents);
				d->n--;
				break;
			}
		}
	}
	n->parent = NULL;
	n->linked = false;
	sw__mnode_release(m, n);
}

bool sw__mnode_may(const sw__memfs *m, const sw__mnode *n, int want)
{
	if (m->superuser)
		return true;
	return (((unsigned)n->mode >> 6) & (unsigned)want) == (unsigned)want;
}

sw__mhandle *sw__mhandle_get(sw__memfs *m, int fd)
{
	if (fd < 0 || (size_t)fd >= m->nh || !m->h[fd].node) {
		errno = EBADF;
		return NULL;
	}
	return &m->h[fd];
}

int sw__mhandle_new(sw__memfs *m, sw__mnode *n, int flags, off_t pos)
{
	size_t i = 0;
	while (i < m->nh && m->h[i].node)
		i++;
	if (i == m->nh) {
		if (m->nh == MAX_HANDLES) {
			errno = EMFILE;
			return -1;
		}
		size_t cap = m->nh ? 2 * m->nh : 16;
		sw__mhandle *h = sw_realloc(m->mem, m->h, cap * sizeof *h);
		if (!h) {
			errno = ENOMEM;
			return -1;
		}
		memset(h + m->nh, 0, (cap - m->nh) * sizeof *h);
		m->h = h;
		m->nh = cap;
	}
	m->h[i] = (sw__mhandle){n, flags, pos};
	n->opens++;
	return (int)i;
}

void sw__mnode_stat(const sw__memfs *m, const sw__mnode *n, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_dev = 0x5357; /* "SW" */
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_blksize = 4096;
	if (S_ISDIR(n->mode)) {
		/* tmpfs: 2 + subdirectories links, 20 bogus bytes per entry. */
		nlink_t links = 2;
		for (size_t i = 0; i < n->n; i++)
			links += S_ISDIR(n->ents[i].node->mode);
		st->st_nlink = n->linked || n == m->root ? links : 0;
		st->st_size = (off_t)(40 + 20 * n->n);
	} else {
		st->st_nlink = n->linked ? 1 : 0;
		st->st_size = (off_t)n->len;
		st->st_blocks = (blkcnt_t)((n->len + 511) / 512);
	}
}

sw__memfs *sw__memfs_lock(sw_fs *fs)
{
	sw__memfs *m = (sw__memfs *)fs;
	pthread_mutex_lock(&m->mu);
	return m;
}

int sw__memfs_done(sw__memfs *m, int e, int rv)
{
	pthread_mutex_unlock(&m->mu);
	if (e) {
		errno = e;
		return -1;
	}
	return rv;
}

bool sw__mnode_dead(const sw__memfs *m, const sw__mnode *d)
{
	return !d->linked && d != m->root;
}

/* ---- the walk ---------------------------------------------------------- */

/* ".." ("/" and a removed directory stay where they are). */
static sw__mnode *up(sw__mnode *d)
{
	return d->parent ? d->parent : d;
}

static int walk_from(sw__memfs *m, sw__mnode *cur, const char *path, int how, sw__mlook *lk,
                     int *links);

int sw__mwalk_link(sw__memfs *m, sw__mnode *dir, sw__mnode *ln, int how, sw__mlook *lk, int *links)
{
	if (++*links > MAX_LINKS)
		return ELOOP;
	char target[PATH_MAX + 1];
	size_t n = ln->len < PATH_MAX ? ln->len : PATH_MAX;
	memcpy(target, ln->data, n);
	target[n] = 0;
	return walk_from(m, dir, target, how, lk, links);
}

/* Follows symlink `ln` found in directory `dir`: its target walked from
 * there (from "/" if absolute), every link in it followed. */
static int follow_link(sw__memfs *m, sw__mnode *dir, sw__mnode *ln, sw__mlook *lk, int *links)
{
	return sw__mwalk_link(m, dir, ln, WALK_FOLLOW, lk, links);
}

static int walk_from(sw__memfs *m, sw__mnode *cur, const char *path, int how, sw__mlook *lk,
                     int *links)
{
	if (!*path)
		return ENOENT;
	if (strlen(path) >= PATH_MAX)
		return ENAMETOOLONG;
	if (*path == '/') {
		cur = m->root;
		while (*path == '/')
			path++;
		if (!*path) {
			lk->dir = m->root;
			lk->last[0] = 0;
			lk->type = LAST_ROOT;
			lk->slash = true;
			lk->node = m->root;
			lk->links = *links;
			lk->toolong = false;
			return 0;
		}
	}
	for (;;) {
		const char *s = path, *e = strchrnul(s, '/');
		const char *after = e;
		while (*after == '/')
			after++;
		size_t len = (size_t)(e - s);
		if (!S_ISDIR(cur->mode))
			return ENOTDIR;
		if (!sw__mnode_may(m, cur, 1))
			return EACCES;
		if (len > NAME_MAX) {
			if (*after || how != WALK_PARENT)
				return ENAMETOOLONG;
			lk->dir = cur;
			lk->last[0] = 0;
			lk->type = LAST_NORM;
			lk->slash = after != e;
			lk->node = NULL;
			lk->links = *links;
			lk->toolong = true;
			return 0;
		}
		char comp[NAME_MAX + 1];
		memcpy(comp, s, len);
		comp[len] = 0;
		int type = len == 1 && comp[0] == '.'                     ? LAST_DOT
		           : len == 2 && comp[0] == '.' && comp[1] == '.' ? LAST_DOTDOT
		                                                          : LAST_NORM;
		sw__mnode *next;
		if (type == LAST_DOT)
			next = cur;
		else if (type == LAST_DOTDOT)
			next = up(cur);
		else {
			sw__mdent *de = sw__mnode_find(cur, comp, len);
			next = de ? de->node : NULL;
		}
		if (!*after) {
			/* The last component. */
			bool slash = after != e;
			lk->dir = cur;
			memcpy(lk->last, comp, len + 1);
			lk->type = type;
			lk->slash = slash;
			lk->node = next;
			lk->links = *links;
			lk->toolong = false;
			if (how == WALK_PARENT)
				return 0;
			if (next && S_ISLNK(next->mode) && (how == WALK_FOLLOW || slash)) {
				int rv = follow_link(m, cur, next, lk, links);
				if (rv)
					return rv;
				lk->slash |= slash;
			}
			if (lk->slash && lk->node && !S_ISDIR(lk->node->mode))
				return ENOTDIR;
			return 0;
		}
		if (!next)
			return ENOENT;
		if (S_ISLNK(next->mode)) {
			sw__mlook sub;
			int rv = follow_link(m, cur, next, &sub, links);
			if (rv)
				return rv;
			if (!sub.node)
				return ENOENT;
			next = sub.node;
		}
		if (!S_ISDIR(next->mode))
			return ENOTDIR;
		cur = next;
		path = after;
	}
}

int sw__mwalk(sw__memfs *m, int dirfd, const char *path, int how, sw__mlook *lk)
{
	sw__mnode *start = m->root;
	if (path && *path != '/' && dirfd != AT_FDCWD) {
		sw__mhandle *h = sw__mhandle_get(m, dirfd);
		if (!h)
			return EBADF;
		start = h->node;
		if (!S_ISDIR(start->mode))
			return ENOTDIR;
	}
	if (!path)
		return EFAULT;
	int links = 0;
	return walk_from(m, start, path, how, lk, &links);
}

/* ---- destruction -------------------------------------------------------- */

void sw__memfs_destroy(sw_fs *fs)
{
	sw__memfs *m = (sw__memfs *)fs;
	/* Open descriptors keep unlinked nodes alive: drop them first. */
	for (size_t i = 0; i < m->nh; i++) {
		sw__mnode *n = m->h[i].node;
		if (!n)
			continue;
		m->h[i].node = NULL;
		n->opens--;
		sw__mnode_release(m, n);
	}
	sw__mem_free(m, m->h);
	sw__mnode_free_tree(m, m->root);
	pthread_mutex_destroy(&m->mu);
	sw_free(m->mem, m);
}
