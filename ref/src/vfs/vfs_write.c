/* Write verbs answered at once: delete, mkdir, rmdir (one path) and
 * rename, move (two paths).  Uploads are in vfs_put.c.  Built on
 * vfs_req.c's helpers only. */
#define _GNU_SOURCE 1 /* renameat2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "vfs_verbs.h"

static int busy_root(sw_vfs_req *r, const sw_jail_path *jp)
{
	(void)jp;
	sw_buf a;
	sw_buf_init(&a, r->mem);
	int rc = sw__abs(r->vfs, NULL, 0, &a);
	if (rc == 0)
		rc = sw__fail_errno(r, EBUSY, &a, &a, NULL);
	sw_buf_fini(&a);
	return rc;
}

static int one_path(sw_vfs_req *r, int op, int64_t mode, bool has_mode)
{
	sw_jail_res res;
	int rc = sw__resolve(r, &r->jp, 0, &res);
	if (rc)
		return rc < 0 ? rc : 0;
	int ok;
	if (res.is_root && op != V_MKDIR) {
		sw_jail_res_fini(&res);
		return busy_root(r, &r->jp);
	}
	sw_fs *fs = SW__FS(r);
	if (op == V_DELETE)
		ok = sw_fs_unlinkat(fs, res.dirfd, res.name, 0);
	else if (op == V_RMDIR)
		ok = sw_fs_unlinkat(fs, res.dirfd, res.name, AT_REMOVEDIR);
	else {
		ok = sw_fs_mkdirat(fs, res.dirfd, res.name, has_mode ? (mode_t)mode : 0777);
		if (ok == 0 && has_mode)
			sw__chmod_dir(fs, res.dirfd, res.name, (mode_t)mode);
	}
	int e = errno;
	sw_jail_res_fini(&res);
	if (ok < 0)
		return sw__fail_errno_abs(r, e, &r->jp);
	return sw__reply(r, SW_VFS_SUCCESS, 1, "ok");
}

static int two_paths(sw_vfs_req *r, sw_jail_path *to)
{
	sw_jail_res from, dst;
	sw_buf fa, ta;
	sw_buf_init(&fa, r->mem);
	sw_buf_init(&ta, r->mem);
	int rc = sw__abs(r->vfs, r->jp.fs.data, r->jp.fs.len, &fa);
	if (rc == 0)
		rc = sw__abs(r->vfs, to->fs.data, to->fs.len, &ta);
	if (rc)
		goto out;
	bool is_move = r->verb == V_MOVE;
	bool dir = false;
	int e = 0;
	if (is_move) {
		/* Transport.move starts with stat(rel_from), read-only or not. */
		rc = sw__touch(r, &r->jp);
		if (rc == 0)
			rc = sw__resolve(r, &r->jp, 0, &from);
		if (rc)
			goto out;
		struct stat st;
		int ok = sw_fs_fstatat(SW__FS(r), from.dirfd, from.name, &st, AT_SYMLINK_NOFOLLOW);
		e = errno;
		if (ok < 0) {
			sw_jail_res_fini(&from);
			rc = sw__fail_errno(r, e, &fa, &fa, NULL);
			goto out;
		}
		dir = S_ISDIR(st.st_mode);
		if (!r->vfs->cfg.allow_writes) {
			sw_jail_res_fini(&from);
			rc = sw__read_only(r);
			goto out;
		}
		rc = sw__touch(r, to);
		if (rc) {
			sw_jail_res_fini(&from);
			goto out;
		}
	} else {
		if (!r->vfs->cfg.allow_writes) {
			rc = sw__read_only(r);
			goto out;
		}
		rc = sw__touch(r, &r->jp);
		if (rc == 0)
			rc = sw__touch(r, to);
		if (rc)
			goto out;
		rc = sw_jail_resolve(&r->vfs->jail, r->jp.fs.data, r->jp.fs.len, 0, &from, &e);
		if (rc == SW_ERR_IO) {
			rc = sw__fail_errno(r, e, &fa, &fa, &ta);
			goto out;
		}
		if (rc)
			goto out;
	}
	rc = sw_jail_resolve(&r->vfs->jail, to->fs.data, to->fs.len, 0, &dst, &e);
	if (rc) {
		sw_jail_res_fini(&from);
		if (rc == SW_ERR_IO)
			rc = is_move ? sw__fail_errno(r, e, &ta, &ta, NULL) : sw__fail_errno(r, e, &fa, &fa, &ta);
		goto out;
	}
	int ok;
	if (from.is_root || dst.is_root) {
		ok = -1;
		errno = EBUSY;
	} else if (is_move && dir) {
		ok = sw_fs_renameat2(SW__FS(r), from.dirfd, from.name, dst.dirfd, dst.name,
		                     RENAME_NOREPLACE);
	} else {
		ok = sw_fs_renameat2(SW__FS(r), from.dirfd, from.name, dst.dirfd, dst.name, 0);
	}
	e = errno;
	sw_jail_res_fini(&from);
	sw_jail_res_fini(&dst);
	if (ok == 0)
		rc = sw__reply(r, SW_VFS_SUCCESS, 1, "ok");
	else if (is_move)
		rc = sw__fail_errno(r, e, e == EBUSY ? &fa : &ta, e == EBUSY ? &fa : &ta, NULL);
	else
		rc = sw__fail_errno(r, e, &fa, &fa, &ta);
out:
	sw_buf_fini(&fa);
	sw_buf_fini(&ta);
	return rc < 0 ? rc : 0;
}

int sw__one_path_begin(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	int64_t mode = 0;
	bool has_mode = false;
	if (r->verb == V_MKDIR) {
		rc = sw__mode(r, &a[1], &mode, &has_mode);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	if (!r->vfs->cfg.allow_writes)
		return sw__read_only(r);
	rc = sw__touch(r, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	return one_path(r, r->verb, mode, has_mode);
}

int sw__two_paths_begin(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_jail_path to;
	sw_jail_path_init(&to, r->mem);
	rc = sw__translate(r, &a[1], false, &to);
	if (rc == 0)
		rc = two_paths(r, &to);
	sw_jail_path_fini(&to);
	return rc < 0 ? rc : 0;
}
