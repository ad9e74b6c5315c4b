/* Read verbs: get, has, stat, list_dir, iter_files_recursive (readv is in
 * vfs_readv.c).  Built on vfs_req.c's helpers only. */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "vfs_verbs.h"

/* Translates the verb's path argument a[0] into r->jp (`slash` as for
 * sw__translate) and touches the local transport with it, as every read verb
 * but readv does first.  Returns 0, 1 (answered) or SW_ERR_NOMEM. */
static int take_path(sw_vfs_req *r, const sw_slice *a, bool slash)
{
	int rc = sw__translate(r, &a[0], slash, &r->jp);
	return rc ? rc : sw__touch(r, &r->jp);
}

static int read_error(sw_vfs_req *r, const sw_jail_path *jp)
{
	int rc = sw__reply(r, SW_VFS_FAILED, 1, "ReadError");
	return rc ? rc : sw__reply_add(r, jp->combined.data, jp->combined.len);
}

int sw__get_begin(sw_vfs_req *r, const sw_slice *a)
{
	int rc = take_path(r, a, false);
	if (rc)
		return rc < 0 ? rc : 0;
	struct stat st;
	bool is_dir;
	rc = sw__open_file(r, &r->jp, &st, &is_dir);
	if (rc)
		return rc < 0 ? rc : 0;
	if (is_dir)
		return read_error(r, &r->jp);
	rc = sw__reply(r, SW_VFS_SUCCESS, 1, "ok");
	r->has_body = true;
	r->body_len = (uint64_t)st.st_size;
	return rc;
}

int sw__has_begin(sw_vfs_req *r, const sw_slice *a)
{
	int rc = take_path(r, a, false);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_jail_res res;
	int e;
	rc = sw_jail_resolve(&r->vfs->jail, r->jp.fs.data, r->jp.fs.len, SW_JAIL_FOLLOW, &res, &e);
	if (rc == SW_ERR_NOMEM)
		return rc;
	bool yes = false;
	if (rc == 0) {
		struct stat st;
		yes = res.is_root ||
		      sw_fs_fstatat(SW__FS(r), res.dirfd, res.name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		sw_jail_res_fini(&res);
	}
	return sw__reply(r, SW_VFS_SUCCESS, 1, yes ? "yes" : "no");
}

int sw__stat_begin(sw_vfs_req *r, const sw_slice *a)
{
	int rc = take_path(r, a, true);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_jail_res res;
	rc = sw__resolve(r, &r->jp, 0, &res);
	if (rc)
		return rc < 0 ? rc : 0;
	struct stat st;
	int ok = sw_fs_fstatat(SW__FS(r), res.dirfd, res.name, &st, AT_SYMLINK_NOFOLLOW);
	int e = errno;
	sw_jail_res_fini(&res);
	if (ok < 0)
		return sw__fail_errno_abs(r, e, &r->jp);
	char size[32], mode[32];
	snprintf(size, sizeof size, "%lld", (long long)st.st_size);
	snprintf(mode, sizeof mode, "0o%o", (unsigned)st.st_mode);
	return sw__reply(r, SW_VFS_SUCCESS, 3, "stat", size, mode);
}

/* Opens the directory `jp` names (following symlinks).  Returns 0 (*fd),
 * 1 (answered) or SW_ERR_NOMEM. */
static int open_dir(sw_vfs_req *r, const sw_jail_path *jp, int *fd)
{
	sw_jail_res res;
	int rc = sw__resolve(r, jp, SW_JAIL_FOLLOW, &res);
	if (rc)
		return rc;
	*fd = sw_fs_openat(SW__FS(r), res.dirfd, res.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	int e = errno;
	sw_jail_res_fini(&res);
	if (*fd < 0) {
		rc = sw__fail_errno_abs(r, e, jp);
		return rc ? rc : 1;
	}
	return 0;
}

/* take_path() for a directory, then opens it.  Returns 0 (*fd open), 1
 * (answered) or SW_ERR_NOMEM. */
static int take_dir(sw_vfs_req *r, const sw_slice *a, int *fd)
{
	int rc = take_path(r, a, true);
	return rc ? rc : open_dir(r, &r->jp, fd);
}

typedef struct names_ctx {
	sw_buf *names;
	ptrdiff_t count;
} names_ctx;

static int add_name(void *ud, const char *n)
{
	names_ctx *x = ud;
	if (strncmp(n, SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1) == 0)
		return 0;
	if (sw_buf_append(x->names, n, strlen(n) + 1))
		return 1;
	x->count++;
	return 0;
}

/* Reads the names of directory `fd` (left open) in readdir order,
 * skipping hidden upload files, into `names` as NUL-separated bytes.
 * Returns the count, or SW_ERR_NOMEM / SW_ERR_IO (errno). */
static ptrdiff_t read_names(sw_vfs_req *r, int fd, sw_buf *names)
{
	names_ctx x = {names, 0};
	int rv = sw_fs_readdir(SW__FS(r), fd, add_name, &x);
	if (rv == 1)
		return SW_ERR_NOMEM;
	return rv < 0 ? SW_ERR_IO : x.count;
}

int sw__list_dir_begin(sw_vfs_req *r, const sw_slice *a)
{
	int fd;
	int rc = take_dir(r, a, &fd);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_buf names, esc;
	sw_buf_init(&names, r->mem);
	sw_buf_init(&esc, r->mem);
	ptrdiff_t n = read_names(r, fd, &names);
	int e = errno;
	sw_fs_close_fd(SW__FS(r), fd);
	errno = e;
	if (n == SW_ERR_IO)
		rc = sw__fail_errno_abs(r, errno, &r->jp);
	else if (n < 0)
		rc = (int)n;
	else if ((size_t)n > r->vfs->cfg.max_names)
		rc = sw__fail_limit(r, "directory entries", r->vfs->cfg.max_names);
	else
		rc = sw__reply(r, SW_VFS_SUCCESS, 1, "names");
	for (size_t off = 0; rc == 0 && r->status == SW_VFS_SUCCESS && off < names.len;) {
		size_t len = strlen((char *)names.data + off);
		sw_buf_reset(&esc);
		rc = sw__escape(&esc, names.data + off, len);
		if (rc == 0)
			rc = sw__reply_add(r, esc.data, esc.len);
		off += len + 1;
	}
	sw_buf_fini(&names);
	sw_buf_fini(&esc);
	return rc;
}

/* Answers errno `e` for the decoded root-relative path in `raw` (which
 * starts with '/' when the walk started at the root). */
static int fail_raw(sw_vfs_req *r, int e, const sw_buf *raw)
{
	sw_buf a;
	sw_buf_init(&a, r->mem);
	size_t skip = raw->len && raw->data[0] == '/';
	int rc = sw__abs(r->vfs, raw->len ? raw->data + skip : NULL, raw->len - skip, &a);
	if (rc == 0)
		rc = sw__fail_errno(r, e, &a, &a, NULL);
	sw_buf_fini(&a);
	return rc ? rc : 1;
}

/* Depth-first walk in LocalTransport.iter_files_recursive order: entries in
 * readdir order, a directory's files right after it (the directory itself
 * is not listed; symlinks are listed as files, never descended).  `rel` is
 * the escaped prefix, `raw` the decoded one (for error paths).  Returns 0,
 * 1 (answered) or SW_ERR_NOMEM. */
static int iter_dir(sw_vfs_req *r, int fd, sw_buf *rel, sw_buf *raw, size_t depth)
{
	sw_buf names;
	sw_buf_init(&names, r->mem);
	ptrdiff_t n = read_names(r, fd, &names);
	int rc = 0;
	if (n == SW_ERR_IO) {
		rc = fail_raw(r, errno, raw);
	} else if (n < 0) {
		rc = (int)n;
	}
	size_t rlen = rel->len, wlen = raw->len;
	for (size_t off = 0; rc == 0 && off < names.len;) {
		const char *nm = (const char *)names.data + off;
		size_t len = strlen(nm);
		off += len + 1;
		rel->len = rlen;
		raw->len = wlen;
		if (rlen)
			rc = sw_buf_append_byte(rel, '/');
		if (rc == 0)
			rc = sw__escape(rel, (const uint8_t *)nm, len);
		if (rc == 0)
			rc = sw_buf_append_byte(raw, '/');
		if (rc == 0)
			rc = sw_buf_append(raw, nm, len);
		if (rc)
			break;
		struct stat st;
		if (sw_fs_fstatat(SW__FS(r), fd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = fail_raw(r, errno, raw);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (r->nr > r->vfs->cfg.max_names) {
				rc = sw__fail_limit(r, "file names", r->vfs->cfg.max_names);
				rc = rc ? rc : 1;
				break;
			}
			rc = sw__reply_add(r, rel->data, rel->len);
			continue;
		}
		if (depth + 1 > r->vfs->cfg.max_depth) {
			rc = sw__fail_limit(r, "directory depth", r->vfs->cfg.max_depth);
			rc = rc ? rc : 1;
			break;
		}
		int sub = sw_fs_openat(SW__FS(r), fd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
		if (sub < 0) {
			rc = fail_raw(r, errno, raw);
			break;
		}
		rc = iter_dir(r, sub, rel, raw, depth + 1);
		sw_fs_close_fd(SW__FS(r), sub);
	}
	rel->len = rlen;
	raw->len = wlen;
	sw_buf_fini(&names);
	return rc;
}

int sw__iter_begin(sw_vfs_req *r, const sw_slice *a)
{
	int fd;
	int rc = take_dir(r, a, &fd);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_buf rel, raw;
	sw_buf_init(&rel, r->mem);
	sw_buf_init(&raw, r->mem);
	rc = sw__reply(r, SW_VFS_SUCCESS, 1, "names");
	if (rc == 0)
		rc = sw_buf_append(&raw, r->jp.fs.data, r->jp.fs.len);
	if (rc == 0)
		rc = iter_dir(r, fd, &rel, &raw, 0);
	sw_fs_close_fd(SW__FS(r), fd);
	sw_buf_fini(&rel);
	sw_buf_fini(&raw);
	return rc < 0 ? rc : 0;
}

int sw__get_span(sw_vfs_req *r, uint64_t cap, int *fd, uint64_t *off, uint64_t *len)
{
	int nfd = sw_fs_native_fd(SW__FS(r), r->fd);
	if (r->body_pos >= r->body_len || cap == 0 || nfd < 0)
		return 0;
	uint64_t want = r->body_len - r->body_pos;
	*fd = nfd;
	*off = r->body_pos;
	*len = want < cap ? want : cap;
	return 1;
}

void sw__get_span_done(sw_vfs_req *r, uint64_t n)
{
	r->body_pos += n;
}

ptrdiff_t sw__get_read(sw_vfs_req *r, uint8_t *buf, size_t cap)
{
	if (r->body_pos >= r->body_len || cap == 0)
		return 0;
	uint64_t want = r->body_len - r->body_pos;
	return sw__pread_body(r, buf, want < cap ? (size_t)want : cap, r->body_pos);
}
