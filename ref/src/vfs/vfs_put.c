/* Upload verbs: put, put_non_atomic and append, whose bodies are streamed
 * into a hidden temporary file in the target directory first, so that an
 * aborted or failed request changes nothing.  Built on vfs_req.c's helpers
 * only.
 *
 * THE TEMPORARY FILE is SW_JAIL_TEMP_PREFIX + "<pid>.<n>" (hex), n from a
 * counter shared by every sw_vfs of the process, created with O_EXCL next
 * to the target and renamed over it at the end (put) or copied onto it
 * (append).  That name is unique among the live processes of the host; a
 * leftover of a dead process with the same pid, or another host sharing the
 * directory, only makes O_EXCL fail, and the next number is tried.  So any
 * number of workers (threads, each with its own sw_vfs or sharing one) and
 * processes may upload into one directory at once.  The jail hides the
 * prefix from every client path and listing, and the file is removed on
 * every failure and on abort.
 *
 * The name is never written on the wire: where Breezy's message names its
 * temporary file (a failed rename), ours names
 * "<directory>/" SW_JAIL_TEMP_PREFIX "<target name>", the same for two runs
 * of the same requests.  Answers must not depend on the pid, the clock or
 * on what other uploads run at the same time (fuzz/README.md, "Fixed
 * findings"). */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "vfs_verbs.h"

/* Body bytes buffered before a write to the temporary file. */
#define WRITE_CHUNK (256u * 1024u)

/* Temporary names tried before giving up with EEXIST. */
#define TEMP_TRIES 100

/* The counter of temporary names, for the whole process (see above). */
static _Atomic uint64_t temp_seq;

/* Removes the temporary file and closes it. */
static void drop_temp(sw_vfs_req *r)
{
	if (r->fd >= 0)
		sw_fs_close_fd(SW__FS(r), r->fd);
	r->fd = -1;
	if (r->tmpname[0] && r->dirfd >= 0)
		sw_fs_unlinkat(SW__FS(r), r->dirfd, r->tmpname, 0);
	r->tmpname[0] = 0;
}

/* Creates the hidden temporary file in r->dirfd.  Returns 0 (r->fd,
 * r->tmpname), or -errno. */
static int make_temp(sw_vfs_req *r, mode_t mode)
{
	unsigned pid = (unsigned)getpid();
	for (int tries = 0; tries < TEMP_TRIES; tries++) {
		uint64_t n = atomic_fetch_add_explicit(&temp_seq, 1, memory_order_relaxed);
		snprintf(r->tmpname, sizeof r->tmpname, "%s%x.%" PRIx64, SW_JAIL_TEMP_PREFIX, pid,
		         n);
		r->fd = sw_fs_openat(SW__FS(r), r->dirfd, r->tmpname,
		                     O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
		if (r->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	int e = errno;
	r->tmpname[0] = 0;
	return -e;
}

/* The length of jp->fs minus its last component (and the '/' before it). */
static size_t parent_len(const sw_jail_path *jp)
{
	size_t n = jp->fs.len;
	while (n > 0 && jp->fs.data[n - 1] == '/')
		n--;
	while (n > 0 && jp->fs.data[n - 1] != '/')
		n--;
	while (n > 0 && jp->fs.data[n - 1] == '/')
		n--;
	return n;
}

/* Appends what the answers call the temporary file of jp: the absolute
 * path of "<parent>/" SW_JAIL_TEMP_PREFIX "<name>", with `name` the last
 * component of jp->fs ("root" for the root itself).  A function of the
 * request alone, unlike the name on disk (see the top of this file). */
static int temp_text(const sw_vfs_req *r, const sw_jail_path *jp, bool is_root, sw_buf *t)
{
	size_t pl = is_root ? 0 : parent_len(jp), s = pl, e = jp->fs.len;
	while (s < e && jp->fs.data[s] == '/')
		s++;
	while (e > s && jp->fs.data[e - 1] == '/')
		e--;
	sw_buf rel;
	sw_buf_init(&rel, r->mem);
	int rc = sw_buf_append(&rel, jp->fs.data, pl);
	if (rc == 0 && pl > 0)
		rc = sw_buf_append_byte(&rel, '/');
	if (rc == 0)
		rc = sw_buf_append_str(&rel, SW_JAIL_TEMP_PREFIX);
	if (rc == 0)
		rc = is_root ? sw_buf_append_str(&rel, "root")
		             : sw_buf_append(&rel, jp->fs.data + s, e - s);
	if (rc == 0)
		rc = sw__abs(r->vfs, rel.data, rel.len, t);
	sw_buf_fini(&rel);
	return rc;
}

/* The OSError of a failed osutils.rename(temporary, target), which Breezy
 * lets escape to the generic error translation: ("error", "<class>",
 * "[Errno n] text [occurred when renaming '<temporary>' to '<target>']"). */
static int fail_rename(sw_vfs_req *r, int e, bool is_root)
{
	sw_buf t;
	sw_buf_init(&t, r->mem);
	int rc = sw_buf_append_str(&t, " [occurred when renaming '");
	if (rc == 0)
		rc = temp_text(r, &r->jp, is_root, &t);
	if (rc == 0)
		rc = sw_buf_append_str(&t, "' to '");
	if (rc == 0)
		rc = is_root ? sw_buf_append(&t, r->vfs->root, r->vfs->root_len)
		             : sw__abs(r->vfs, r->jp.fs.data, r->jp.fs.len, &t);
	if (rc == 0)
		rc = sw_buf_append_str(&t, "']");
	if (rc == 0)
		rc = sw_buf_append_byte(&t, 0);
	if (rc == 0)
		rc = sw__fail_oserror(r, e, (const char *)t.data);
	sw_buf_fini(&t);
	return rc;
}

/* put_non_atomic with create_parent: Transport.put_file_non_atomic makes the
 * missing parent (one level) with dir_mode.  Returns 0, 1 (answered), NOMEM. */
static int make_parent(sw_vfs_req *r)
{
	size_t pl = parent_len(&r->jp);
	sw_jail_res res;
	sw_buf abs;
	sw_buf_init(&abs, r->mem);
	int e = 0, rc = sw__abs(r->vfs, r->jp.fs.data, pl, &abs);
	if (rc == 0)
		rc = sw_jail_resolve(&r->vfs->jail, r->jp.fs.data, pl, 0, &res, &e);
	if (rc == 0) {
		if (sw_fs_mkdirat(SW__FS(r), res.dirfd, res.name,
		                  r->has_dir_mode ? (mode_t)r->dir_mode : 0777) < 0) {
			e = errno;
			rc = SW_ERR_IO;
			sw_jail_res_fini(&res);
		} else {
			if (r->has_dir_mode)
				sw__chmod_dir(SW__FS(r), res.dirfd, res.name, (mode_t)r->dir_mode);
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
			rc = fail_rename(r, EISDIR, true);
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
			sw_fs_close_fd(SW__FS(r), r->dirfd);
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
		if (sw_fs_fstat(SW__FS(r), r->fd, &st) == 0 &&
		    (st.st_mode & 07777) != (mode_t)r->mode)
			sw_fs_fchmod(SW__FS(r), r->fd, (mode_t)r->mode);
	}
	return 0;
}

int sw__put_begin(sw_vfs_req *r, const sw_slice *a)
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
		return sw__read_only(r);
	rc = sw__touch(r, &r->jp);
	if (rc == 0)
		rc = prepare_put(r);
	return rc < 0 ? rc : 0;
}

int sw__append_begin(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc == 0)
		rc = sw__mode(r, &a[1], &r->mode, &r->has_mode);
	if (rc)
		return rc < 0 ? rc : 0;
	r->state = REQ_BODY;
	if (!r->vfs->cfg.allow_writes)
		return sw__read_only(r);
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

/* Writes p[0..n) to descriptor fd.  Returns 0 or an errno. */
static int write_all(sw_fs *fs, int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = sw_fs_write(fs, fd, p, n);
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
	int e = r->wbuf.len ? write_all(SW__FS(r), r->fd, r->wbuf.data, r->wbuf.len) : 0;
	sw_buf_reset(&r->wbuf);
	if (!e)
		return 0;
	drop_temp(r);
	int rc = sw__fail_oserror(r, e, NULL);
	return rc ? rc : 1;
}

int sw__upload_body(sw_vfs_req *r, const uint8_t *p, size_t n)
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
		int e = write_all(SW__FS(r), r->fd, p, n);
		if (e) {
			drop_temp(r);
			return sw__fail_oserror(r, e, NULL);
		}
		return 0;
	}
	return sw_buf_append(&r->wbuf, p, n);
}

int sw__upload_sink(sw_vfs_req *r, uint64_t avail, int *fd)
{
	/* Only bytes the copying path would write: no error waiting, within
	 * the limit (the copying path answers the limit), a temporary file
	 * the operating system knows. */
	if (r->replied || r->fd < 0 || avail > r->vfs->cfg.max_body - r->received)
		return 0;
	int nfd = sw_fs_native_fd(SW__FS(r), r->fd);
	if (nfd < 0)
		return 0;
	/* What was buffered goes first, so that the sink's bytes follow it. */
	int rc = flush_body(r);
	if (rc)
		return rc < 0 ? rc : 0;
	*fd = nfd;
	return 1;
}

int sw__upload_sink_done(sw_vfs_req *r, uint64_t n, int err)
{
	r->received += n;
	if (!err || r->replied)
		return 0;
	drop_temp(r);
	return sw__fail_oserror(r, err, NULL);
}

static int finish_put(sw_vfs_req *r)
{
	if (sw_fs_fsync(SW__FS(r), r->fd) < 0) {
		int e = errno;
		drop_temp(r);
		return sw__fail_oserror(r, e, NULL);
	}
	sw_fs_close_fd(SW__FS(r), r->fd);
	r->fd = -1;
	if (sw_fs_renameat2(SW__FS(r), r->dirfd, r->tmpname, r->dirfd, r->name, 0) == 0) {
		r->tmpname[0] = 0;
		return sw__reply(r, SW_VFS_SUCCESS, 1, "ok");
	}
	/* The commit is outside Breezy's try: the raw OSError reaches the
	 * generic error translation. */
	int e = errno;
	drop_temp(r);
	return fail_rename(r, e, false);
}

static int finish_append(sw_vfs_req *r)
{
	mode_t mode = r->has_mode ? (mode_t)r->mode : 0666;
	sw_fs *fs = SW__FS(r);
	int fd =
	    sw_fs_openat(fs, r->dirfd, r->name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, mode);
	struct stat st;
	int e = errno, rc = 0;
	if (fd >= 0 && sw_fs_fstat(fs, fd, &st) < 0) {
		e = errno;
		sw_fs_close_fd(fs, fd);
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
		sw_fs_fchmod(fs, fd, mode);
	uint8_t buf[65536];
	off_t at = 0;
	for (;;) {
		ssize_t k = sw_fs_pread(fs, r->fd, buf, sizeof buf, at);
		if (k <= 0) {
			e = k < 0 ? errno : 0;
			break;
		}
		at += k;
		if ((e = write_all(fs, fd, buf, (size_t)k)) != 0)
			break;
	}
	sw_fs_close_fd(fs, fd);
	drop_temp(r);
	if (e)
		return sw__fail_oserror(r, e, NULL);
	char old[32];
	snprintf(old, sizeof old, "%lld", (long long)st.st_size);
	return sw__reply(r, SW_VFS_SUCCESS, 2, "appended", old);
}

int sw__upload_end(sw_vfs_req *r)
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
		sw_fs_close_fd(SW__FS(r), r->pdirfd);
		r->pdirfd = -1;
	}
	return rc;
}

void sw__upload_abort(sw_vfs_req *r)
{
	drop_temp(r);
	if (r->pdirfd >= 0 && r->pname)
		sw_fs_unlinkat(SW__FS(r), r->pdirfd, r->pname, AT_REMOVEDIR);
}
