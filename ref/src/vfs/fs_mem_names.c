/* The in-memory file system, part 3: the calls of smartwire/fs.h that
 * change the name space (mkdirat, symlinkat, unlinkat, renameat2), each
 * under the memfs mutex, with the checks Linux (fs/namei.c) makes in the
 * order it makes them, so that the errno is the same.  The vtable naming
 * them is fs_mem_ops.c. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "fs_mem.h"

/* filename_create(): the last component must be new, its directory live
 * and writable.  Returns 0 or an errno. */
static int may_create(sw__memfs *m, const sw__mlook *lk)
{
	if (lk->type != LAST_NORM)
		return EEXIST;
	if (lk->toolong)
		return ENAMETOOLONG;
	if (lk->node)
		return EEXIST;
	if (sw__mnode_dead(m, lk->dir))
		return ENOENT;
	return sw__mnode_may(m, lk->dir, 3) ? 0 : EACCES;
}

static int make(sw__memfs *m, sw__mlook *lk, mode_t mode, const char *target)
{
	sw__mnode *n = sw__mnode_new(m, mode);
	if (!n)
		return ENOMEM;
	if (target) {
		size_t len = strlen(target);
		if (!(n->data = sw__mem_alloc(m, len))) {
			sw__mnode_release(m, n);
			return ENOMEM;
		}
		memcpy(n->data, target, len);
		n->len = n->dcap = len;
	}
	if (sw__mnode_link(m, lk->dir, lk->last, n)) {
		sw__mnode_release(m, n);
		return ENOMEM;
	}
	m->changes++;
	return 0;
}

int sw__memfs_mkdirat(sw_fs *fs, int dirfd, const char *path, mode_t mode)
{
	sw__memfs *m = sw__memfs_lock(fs);
	sw__mlook lk;
	int e = sw__mwalk(m, dirfd, path, WALK_PARENT, &lk);
	if (!e)
		e = may_create(m, &lk);
	if (!e) {
		mode_t perm = mode & ~m->umask & 01777;
		if (lk.dir->mode & S_ISGID)
			perm |= S_ISGID; /* inherited, as on Linux */
		e = make(m, &lk, S_IFDIR | perm, NULL);
	}
	return sw__memfs_done(m, e, 0);
}

int sw__memfs_symlinkat(sw_fs *fs, const char *target, int dirfd, const char *path)
{
	sw__memfs *m = sw__memfs_lock(fs);
	if (!*target)
		return sw__memfs_done(m, ENOENT, -1);
	sw__mlook lk;
	int e = sw__mwalk(m, dirfd, path, WALK_PARENT, &lk);
	if (!e && lk.slash && lk.type == LAST_NORM && !lk.toolong)
		e = lk.node ? EEXIST : ENOENT;
	if (!e)
		e = may_create(m, &lk);
	if (!e)
		e = make(m, &lk, S_IFLNK | 0777, target);
	return sw__memfs_done(m, e, 0);
}

/* may_delete(): the victim of an unlink, rmdir or of a rename's target. */
static int may_delete(sw__memfs *m, sw__mnode *dir, sw__mnode *victim, bool isdir)
{
	if (!sw__mnode_may(m, dir, 3))
		return EACCES;
	if (isdir) {
		if (!S_ISDIR(victim->mode))
			return ENOTDIR;
		if (victim == m->root)
			return EBUSY;
	} else if (S_ISDIR(victim->mode)) {
		return EISDIR;
	}
	return sw__mnode_dead(m, dir) ? ENOENT : 0;
}

int sw__memfs_unlinkat(sw_fs *fs, int dirfd, const char *path, int flags)
{
	sw__memfs *m = sw__memfs_lock(fs);
	if (flags & ~AT_REMOVEDIR)
		return sw__memfs_done(m, EINVAL, -1);
	bool rmdir = flags & AT_REMOVEDIR;
	sw__mlook lk;
	int e = sw__mwalk(m, dirfd, path, WALK_PARENT, &lk);
	if (e)
		return sw__memfs_done(m, e, -1);
	if (rmdir) {
		if (lk.type == LAST_DOT)
			return sw__memfs_done(m, EINVAL, -1);
		if (lk.type == LAST_DOTDOT)
			return sw__memfs_done(m, ENOTEMPTY, -1);
		if (lk.type == LAST_ROOT)
			return sw__memfs_done(m, EBUSY, -1);
	} else if (lk.type != LAST_NORM) {
		return sw__memfs_done(m, EISDIR, -1);
	}
	if (lk.toolong)
		return sw__memfs_done(m, ENAMETOOLONG, -1);
	sw__mnode *v = lk.node;
	if (!v)
		return sw__memfs_done(m, ENOENT, -1);
	if (!rmdir && lk.slash)
		return sw__memfs_done(m, S_ISDIR(v->mode) ? EISDIR : ENOTDIR, -1);
	e = may_delete(m, lk.dir, v, rmdir);
	if (!e && rmdir && v->n)
		e = ENOTEMPTY;
	if (!e) {
		sw__mnode_unlink(m, v);
		m->changes++;
	}
	return sw__memfs_done(m, e, 0);
}

static bool is_ancestor(const sw__mnode *a, const sw__mnode *of)
{
	for (const sw__mnode *p = of; p; p = p->parent)
		if (p == a)
			return true;
	return false;
}

int sw__memfs_renameat2(sw_fs *fs, int odirfd, const char *opath, int ndirfd, const char *npath,
                        unsigned flags)
{
	sw__memfs *m = sw__memfs_lock(fs);
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return sw__memfs_done(m, EINVAL, -1);
	sw__mlook o, n;
	int e = sw__mwalk(m, odirfd, opath, WALK_PARENT, &o);
	if (!e)
		e = sw__mwalk(m, ndirfd, npath, WALK_PARENT, &n);
	if (e)
		return sw__memfs_done(m, e, -1);
	/* do_renameat2(), in its order. */
	if (o.type != LAST_NORM)
		return sw__memfs_done(m, EBUSY, -1);
	if (n.type != LAST_NORM)
		return sw__memfs_done(m, (flags & RENAME_NOREPLACE) ? EEXIST : EBUSY, -1);
	sw__mnode *src = o.node, *dst = n.node;
	if (o.toolong)
		return sw__memfs_done(m, ENAMETOOLONG, -1);
	if (!src)
		return sw__memfs_done(m, ENOENT, -1);
	if (n.toolong)
		return sw__memfs_done(m, ENAMETOOLONG, -1);
	if ((flags & RENAME_NOREPLACE) && dst)
		return sw__memfs_done(m, EEXIST, -1);
	bool isdir = S_ISDIR(src->mode);
	if (!isdir && (o.slash || n.slash))
		return sw__memfs_done(m, ENOTDIR, -1);
	if (is_ancestor(src, n.dir))
		return sw__memfs_done(m, EINVAL, -1); /* into itself */
	if (dst && is_ancestor(dst, o.dir))
		return sw__memfs_done(m, ENOTEMPTY, -1); /* over one of its ancestors */
	if (src == dst)
		return sw__memfs_done(m, 0, 0);
	e = may_delete(m, o.dir, src, isdir);
	if (!e && !dst)
		e = sw__mnode_dead(m, n.dir) ? ENOENT : sw__mnode_may(m, n.dir, 3) ? 0 : EACCES;
	if (!e && dst)
		e = may_delete(m, n.dir, dst, isdir);
	if (!e && dst && S_ISDIR(dst->mode) && dst->n)
		e = ENOTEMPTY;
	if (e)
		return sw__memfs_done(m, e, -1);
	/* Link under the new name before unlinking anything, so that running
	 * out of memory changes nothing. */
	sw__mnode *from = src->parent;
	if (sw__mnode_link(m, n.dir, n.last, src))
		return sw__memfs_done(m, ENOMEM, -1);
	sw__mdent *added = &n.dir->ents[n.dir->n - 1];
	for (size_t i = 0; i < from->n; i++) {
		if (&from->ents[i] != added && from->ents[i].node == src) {
			sw__mem_free(m, from->ents[i].name);
			memmove(&from->ents[i], &from->ents[i + 1],
			        (from->n - i - 1) * sizeof *from->ents);
			from->n--;
			break;
		}
	}
	if (dst)
		sw__mnode_unlink(m, dst);
	m->changes++;
	return sw__memfs_done(m, 0, 0);
}
