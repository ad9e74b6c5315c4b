/* Write verbs: put, put_non_atomic, append (streamed bodies) and delete,
 * mkdir, rmdir, rename, move.  Uploads land in a hidden temporary file in
 * the target directory first, so an aborted request changes nothing. */
#define _GNU_SOURCE 1 /* renameat2 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "vfs_internal.h"

/* Body bytes buffered before a write to the temporary file. */
#define WRITE_CHUNK (256u * 1024u)

static int read_only(sw_vfs_req *r)
{
	return sw__reply(r, SW_VFS_FAILED, 1, "ReadOnlyError");
}

/* Removes the temporary file and closes it. */
static void drop_temp(sw_vfs_req *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->tmpname[0] && r->dirfd >= 0)
		unlinkat(r->dirfd, r->tmpname, 0);
	r->tmpname[0] = 0;
}

/* Creates the hidden temporary file in r->dirfd.  Returns 0 (r->fd), or
 * -errno. */
static int make_temp(sw_vfs_req *r, mode_t mode)
{
	for (int tries = 0; tries < 100; tries++) {
		uint64_t x = atomic_fetch_add(&r->vfs->tmp_seq, 1) + 1;
		x ^= (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)r;
		snprintf(r->tmpname, sizeof r->tmpname, "%s%016llx", SW_JAIL_TEMP_PREFIX,
		         (unsigned long long)x);
		r->fd = openat(r->dirfd, r->tmpname, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		               mode);
		if (r->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	int e = errno;
	r->tmpname[0] = 0;
	return -e;
}

/* The absolute path of `fs` minus its last component, into `out`. */
static int parent_fs(const sw_jail_path *jp, size_t *len)
{
	size_t n = jp->fs.len;
	while (n > 0 && jp->fs.data[n - 1] == '/')
		n--;
	while (n > 0 && jp->fs.data[n - 1] != '/')
		n--;
	while (n > 0 && jp->fs.data[n - 1] == '/')
		n--;
	*len = n;
	return 0;
}

/* put_non_atomic with create_parent: Transport.put_file_non_atomic makes the
 * missing parent (one level) with dir_mode.  Returns 0, 1 (answered), NOMEM. */
static int make_parent(sw_vfs_req *r)
{
	size_t pl;
	parent_fs(&r->jp, &pl);
	sw_jail_res res;
	sw_buf abs;
	sw_buf_init(&abs, r->mem);
	int e = 0, rc = sw__abs(r->vfs, r->jp.fs.data, pl, &abs);
	if (rc == 0)
		rc = sw_jail_resolve(&r->vfs->jail, r->jp.fs.data, pl, 0, &res, &e);
	if (rc == 0) {
		if (mkdirat(res.dirfd, res.name, r->has_dir_mode ? (mode_t)r->dir_mode : 0777) < 0) {
			e = errno;
			rc = SW_ERR_IO;
			sw_jail_res_fini(&res);
		} else {
			if (r->has_dir_mode)
				fchmodat(res.dirfd, res.name, (mode_t)r->dir_mode, 0);
			r->pdirfd = res.dirfd;
			r->pname = res.name;
		}
	}
	if (rc == SW_ERR_IO) {
		rc = sw__fail_errno(r, e, &abs, &abs, NULL);
		rc = rc ? rc : 1;
	}
	sw_buf_fini(&abs);
	return rc;
}

/* Resolves the target and opens the temporary file.  Returns 0, 1 (answered:
 * the error is kept until the body ends) or SW_ERR_NOMEM. */
static int prepare_put(sw_vfs_req *r)
{
	mode_t mode = r->has_mode ? (mode_t)r->mode : 0666;
	for (int attempt = 0;; attempt++) {
		sw_jail_res res;
		int e = 0;
		int rc = sw_jail_resolve(&r->vfs->jail, r->jp.fs.data, r->jp.fs.len, 0, &res, &e);
		if (rc == SW_ERR_NOMEM)
			return rc;
		if (rc == 0 && res.is_root) {
			sw_jail_res_fini(&res);
			sw_buf t;
			sw_buf_init(&t, r->mem);
			rc = sw_buf_append_str(&t, " [occurred when renaming '");
			if (rc == 0)
				rc = sw__abs(r->vfs, (const uint8_t *)SW_JAIL_TEMP_PREFIX "root",
				             sizeof SW_JAIL_TEMP_PREFIX + 3, &t);
			if (rc == 0)
				rc = sw_buf_append_str(&t, "' to '");
			if (rc == 0)
				rc = sw_buf_append(&t, r->vfs->root, r->vfs->root_len);
			if (rc == 0)
				rc = sw_buf_append_str(&t, "']");
			if (rc == 0)
				rc = sw_buf_append_byte(&t, 0);
			if (rc == 0)
				rc = sw__fail_oserror(r, EISDIR, (const char *)t.data);
			sw_buf_fini(&t);
			return rc ? rc : 1;
		}
		if (rc == 0) {
			r->dirfd = res.dirfd;
			r->name = res.name;
			res.dirfd = -1;
			res.name = NULL;
			int k = make_temp(r, mode);
			if (k == 0)
				break;
			e = -k;
			close(r->dirfd);
			sw_free(r->mem, r->name);
			r->dirfd = -1;
			r->name = NULL;
		}
		if (attempt == 0 && r->verb == V_PUT_NON_ATOMIC && r->create_parent &&
		    (e == ENOENT || e == ENOTDIR) && !res.outside) {
			rc = make_parent(r);
			if (rc)
				return rc;
			continue;
		}
		rc = sw__fail_errno_abs(r, e, &r->jp);
		return rc ? rc : 1;
	}
	if (r->has_mode) {
		struct stat st;
		if (fstat(r->fd, &st) == 0 && (st.st_mode & 07777) != (mode_t)r->mode)
			fchmod(r->fd, (mode_t)r->mode);
	}
	return 0;
}

int sw__do_put(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc == 0 && r->verb == V_PUT_NON_ATOMIC)
		rc = sw__mode(r, &a[3], &r->dir_mode, &r->has_dir_mode);
	if (rc == 0)
		rc = sw__mode(r, &a[1], &r->mode, &r->has_mode);
	if (rc)
		return rc < 0 ? rc : 0;
	if (r->verb == V_PUT_NON_ATOMIC)
		r->create_parent = a[2].n == 1 && a[2].p[0] == 'T';
	r->state = REQ_BODY;
	if (!r->vfs->cfg.allow_writes)
		return read_only(r);
	rc = sw__touch(r, &r->jp);
	if (rc == 0)
		rc = prepare_put(r);
	return rc < 0 ? rc : 0;
}

int sw__do_append(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc == 0)
		rc = sw__mode(r, &a[1], &r->mode, &r->has_mode);
	if (rc)
		return rc < 0 ? rc : 0;
	r->state = REQ_BODY;
	if (!r->vfs->cfg.allow_writes)
		return read_only(r);
	rc = sw__touch(r, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_jail_res res;
	int e = 0;
	rc = sw_jail_resolve(&r->vfs->jail, r->jp.fs.data, r->jp.fs.len, SW_JAIL_FOLLOW, &res, &e);
	if (rc == 0) {
		r->dirfd = res.dirfd;
		r->name = res.name;
		int k = make_temp(r, 0600);
		if (k == 0)
			return 0;
		e = -k;
		rc = SW_ERR_IO;
	}
	if (rc != SW_ERR_IO)
		return rc;
	/* LocalTransport._get_append_file reports the relative path. */
	sw_buf abs;
	sw_buf_init(&abs, r->mem);
	rc = sw__abs(r->vfs, r->jp.fs.data, r->jp.fs.len, &abs);
	if (rc == 0)
		rc = sw__fail_errno(r, e, &r->jp.combined, &abs, NULL);
	sw_buf_fini(&abs);
	return rc;
}

/* Writes p[0..n) to the temporary file.  Returns 0 or an errno. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? errno : EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Writes the buffered body.  On failure the upload is dropped and the
 * error answered (at the end of the body, as for any body error).  Returns
 * 0, 1 (failed, answered) or SW_ERR_NOMEM. */
static int flush_body(sw_vfs_req *r)
{
	int e = r->wbuf.len ? write_all(r->fd, r->wbuf.data, r->wbuf.len) : 0;
	sw_buf_reset(&r->wbuf);
	if (!e)
		return 0;
	drop_temp(r);
	int rc = sw__fail_oserror(r, e, NULL);
	return rc ? rc : 1;
}

int sw__write_body(sw_vfs_req *r, const uint8_t *p, size_t n)
{
	if (r->replied)
		return 0; /* an error is waiting for the end of the body */
	r->received += n;
	if (r->received > r->vfs->cfg.max_body) {
		/* What was received before still goes to the file first, so that
		 * a write error it meets is the one answered, as without the
		 * buffer. */
		int rc = flush_body(r);
		if (rc)
			return rc < 0 ? rc : 0;
		drop_temp(r);
		return sw__fail_limit(r, "request body", r->vfs->cfg.max_body);
	}
	/* Bodies arrive in pieces of a socket read (64 KiB or less); they are
	 * written in chunks of WRITE_CHUNK, a quarter of the write calls. */
	if (r->wbuf.len + n > WRITE_CHUNK) {
		int rc = flush_body(r);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	if (n >= WRITE_CHUNK) {
		int e = write_all(r->fd, p, n);
		if (e) {
			drop_temp(r);
			return sw__fail_oserror(r, e, NULL);
		}
		return 0;
	}
	return sw_buf_append(&r->wbuf, p, n);
}

static int finish_put(sw_vfs_req *r)
{
	if (fsync(r->fd) < 0) {
		int e = errno;
		drop_temp(r);
		return sw__fail_oserror(r, e, NULL);
	}
	close(r->fd);
	r->fd = -1;
	if (renameat(r->dirfd, r->tmpname, r->dirfd, r->name) == 0) {
		r->tmpname[0] = 0;
		return sw__reply(r, SW_VFS_SUCCESS, 1, "ok");
	}
	/* osutils.rename's message; the commit is outside Breezy's try, so the
	 * raw OSError reaches the generic error translation. */
	int e = errno;
	size_t pl;
	parent_fs(&r->jp, &pl);
	sw_buf t;
	sw_buf_init(&t, r->mem);
	int rc = sw_buf_append_str(&t, " [occurred when renaming '");
	if (rc == 0)
		rc = sw__abs(r->vfs, r->jp.fs.data, pl, &t);
	if (rc == 0)
		rc = sw_buf_append_byte(&t, '/');
	if (rc == 0)
		rc = sw_buf_append_str(&t, r->tmpname);
	if (rc == 0)
		rc = sw_buf_append_str(&t, "' to '");
	if (rc == 0)
		rc = sw__abs(r->vfs, r->jp.fs.data, r->jp.fs.len, &t);
	if (rc == 0)
		rc = sw_buf_append_str(&t, "']");
	if (rc == 0)
		rc = sw_buf_append_byte(&t, 0);
	drop_temp(r);
	if (rc == 0)
		rc = sw__fail_oserror(r, e, (const char *)t.data);
	sw_buf_fini(&t);
	return rc;
}

static int finish_append(sw_vfs_req *r)
{
	mode_t mode = r->has_mode ? (mode_t)r->mode : 0666;
	int fd = openat(r->dirfd, r->name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	struct stat st;
	int e = errno, rc = 0;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		drop_temp(r);
		sw_buf abs;
		sw_buf_init(&abs, r->mem);
		rc = sw__abs(r->vfs, r->jp.fs.data, r->jp.fs.len, &abs);
		if (rc == 0)
			rc = sw__fail_errno(r, e, &r->jp.combined, &abs, NULL);
		sw_buf_fini(&abs);
		return rc;
	}
	if (r->has_mode && (st.st_mode & 07777) != mode)
		fchmod(fd, mode);
	uint8_t buf[65536];
	off_t at = 0;
	for (;;) {
		ssize_t k = pread(r->fd, buf, sizeof buf, at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			e = k < 0 ? errno : 0;
			break;
		}
		at += k;
		for (ssize_t w = 0; w < k;) {
			ssize_t x = write(fd, buf + w, (size_t)(k - w));
			if (x < 0 && errno == EINTR)
				continue;
			if (x <= 0) {
				e = x < 0 ? errno : EIO;
				k = -1;
				break;
			}
			w += x;
		}
		if (k < 0)
			break;
	}
	close(fd);
	drop_temp(r);
	if (e)
		return sw__fail_oserror(r, e, NULL);
	char old[32];
	snprintf(old, sizeof old, "%lld", (long long)st.st_size);
	return sw__reply(r, SW_VFS_SUCCESS, 2, "appended", old);
}

int sw__write_end(sw_vfs_req *r)
{
	if (r->replied) {
		drop_temp(r);
		return 0;
	}
	int rc = flush_body(r);
	if (rc)
		return rc < 0 ? rc : 0;
	rc = r->verb == V_APPEND ? finish_append(r) : finish_put(r);
	if (r->pdirfd >= 0) {
		close(r->pdirfd);
		r->pdirfd = -1;
	}
	return rc;
}

void sw__write_abort(sw_vfs_req *r)
{
	drop_temp(r);
	if (r->pdirfd >= 0 && r->pname)
		unlinkat(r->pdirfd, r->pname, AT_REMOVEDIR);
}

/* ---- verbs answered in do() ---- */

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
	if (op == V_DELETE)
		ok = unlinkat(res.dirfd, res.name, 0);
	else if (op == V_RMDIR)
		ok = unlinkat(res.dirfd, res.name, AT_REMOVEDIR);
	else {
		ok = mkdirat(res.dirfd, res.name, has_mode ? (mode_t)mode : 0777);
		if (ok == 0 && has_mode)
			fchmodat(res.dirfd, res.name, (mode_t)mode, 0);
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
		int ok = fstatat(from.dirfd, from.name, &st, AT_SYMLINK_NOFOLLOW);
		e = errno;
		if (ok < 0) {
			sw_jail_res_fini(&from);
			rc = sw__fail_errno(r, e, &fa, &fa, NULL);
			goto out;
		}
		dir = S_ISDIR(st.st_mode);
		if (!r->vfs->cfg.allow_writes) {
			sw_jail_res_fini(&from);
			rc = read_only(r);
			goto out;
		}
		rc = sw__touch(r, to);
		if (rc) {
			sw_jail_res_fini(&from);
			goto out;
		}
	} else {
		if (!r->vfs->cfg.allow_writes) {
			rc = read_only(r);
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
		ok = renameat2(from.dirfd, from.name, dst.dirfd, dst.name, RENAME_NOREPLACE);
	} else {
		ok = renameat(from.dirfd, from.name, dst.dirfd, dst.name);
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

int sw__do_simple_write(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	if (r->verb == V_RENAME || r->verb == V_MOVE) {
		sw_jail_path to;
		sw_jail_path_init(&to, r->mem);
		rc = sw__translate(r, &a[1], false, &to);
		if (rc == 0)
			rc = two_paths(r, &to);
		sw_jail_path_fini(&to);
		return rc < 0 ? rc : 0;
	}
	int64_t mode = 0;
	bool has_mode = false;
	if (r->verb == V_MKDIR) {
		rc = sw__mode(r, &a[1], &mode, &has_mode);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	if (!r->vfs->cfg.allow_writes)
		return read_only(r);
	rc = sw__touch(r, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	return one_path(r, r->verb, mode, has_mode);
}
