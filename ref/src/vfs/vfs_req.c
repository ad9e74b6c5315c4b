/* The helpers every verb uses: reply building, Breezy's error tuples,
 * path translation and walking, reading a file into a response body.  See
 * vfs_req.h.  Nothing here calls a verb or the dispatcher (vfs.c). */
#define _GNU_SOURCE 1
#include "vfs_req.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "smartwire/hex.h"
#include "smartwire/pytext.h"

/* ---- reply building ---- */

int sw__reply_add(sw_vfs_req *r, const void *p, size_t n)
{
	if (r->nr == r->rcap) {
		size_t ncap = r->rcap ? r->rcap * 2 : 8;
		size_t *no = sw_realloc(r->mem, r->roff, ncap * 2 * sizeof *no);
		if (!no)
			return SW_ERR_NOMEM;
		r->roff = no;
		r->rcap = ncap;
	}
	size_t off = r->rbuf.len;
	r->rargs_ok = false;
	int rc = sw_buf_append(&r->rbuf, p, n);
	if (rc)
		return rc;
	r->roff[2 * r->nr] = off;
	r->roff[2 * r->nr + 1] = n;
	r->nr++;
	return 0;
}

int sw__reply(sw_vfs_req *r, sw_vfs_status status, int n, ...)
{
	sw_buf_reset(&r->rbuf);
	r->nr = 0;
	r->rargs_ok = false;
	r->status = status;
	r->replied = true;
	r->has_body = false;
	va_list ap;
	va_start(ap, n);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *s = va_arg(ap, const char *);
		rc = sw__reply_add(r, s, strlen(s));
	}
	va_end(ap);
	return rc;
}

int sw__fail_generic(sw_vfs_req *r, const char *cls, const uint8_t *msg, size_t n)
{
	int rc = sw__reply(r, SW_VFS_FAILED, 2, "error", cls);
	return rc ? rc : sw__reply_add(r, msg, n);
}

int sw__fail_limit(sw_vfs_req *r, const char *what, uint64_t lim)
{
	char t[200];
	int k =
	    snprintf(t, sizeof t, "%s exceeds the limit of %llu", what, (unsigned long long)lim);
	return sw__fail_generic(r, "smartwire.LimitExceeded", (const uint8_t *)t, (size_t)k);
}

int sw__fail_value(sw_vfs_req *r, const char *msg, const uint8_t *lit, size_t n)
{
	sw_buf t;
	sw_buf_init(&t, r->mem);
	int rc = sw_buf_append_str(&t, msg);
	if (rc == 0 && lit)
		rc = sw_py_repr_bytes(&t, lit, n);
	if (rc == 0)
		rc = sw__fail_generic(r, "ValueError", t.data, t.len);
	sw_buf_fini(&t);
	return rc;
}

int sw__read_only(sw_vfs_req *r)
{
	return sw__reply(r, SW_VFS_FAILED, 1, "ReadOnlyError");
}

int sw__abs(const sw_vfs *v, const uint8_t *fs, size_t n, sw_buf *out)
{
	int rc = sw_buf_append(out, v->root, v->root_len);
	if (rc == 0 && n > 0 && !(v->root_len == 1 && v->root[0] == '/'))
		rc = sw_buf_append_byte(out, '/');
	return rc ? rc : sw_buf_append(out, fs, n);
}

/* str(OSError): "[Errno n] strerror: 'f1'" (+ " -> 'f2'"). */
static int oserror_text(sw_buf *t, int e, const sw_buf *f1, const sw_buf *f2)
{
	/* sw_sys_strerror: workers call the VFS concurrently. */
	char h[160], msg[128];
	snprintf(h, sizeof h, "[Errno %d] %s", e, sw_sys_strerror(e, msg, sizeof msg));
	int rc = sw_buf_append_str(t, h);
	if (rc == 0 && f1) {
		rc = sw_buf_append_str(t, ": ");
		if (rc == 0)
			rc = sw_py_repr_str(t, f1->data, f1->len);
	}
	if (rc == 0 && f2) {
		rc = sw_buf_append_str(t, " -> ");
		if (rc == 0)
			rc = sw_py_repr_str(t, f2->data, f2->len);
	}
	return rc;
}

int sw__fail_errno(sw_vfs_req *r, int e, const sw_buf *report, const sw_buf *f1, const sw_buf *f2)
{
	sw_buf t;
	sw_buf_init(&t, r->mem);
	int rc;
	if (e == ENOENT || e == ENOTDIR || e == EINVAL) {
		rc = sw__reply(r, SW_VFS_FAILED, 1, "NoSuchFile");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
	} else if (e == EEXIST) {
		rc = sw__reply(r, SW_VFS_FAILED, 1, "FileExists");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
	} else if (e == ENOTEMPTY) {
		rc = sw__reply(r, SW_VFS_FAILED, 1, "DirectoryNotEmpty");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
	} else if (e == EACCES) {
		rc = sw_buf_append_str(&t, ": ");
		if (rc == 0)
			rc = oserror_text(&t, e, f1, f2);
		if (rc == 0)
			rc = sw__reply(r, SW_VFS_FAILED, 1, "PermissionDenied");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
		if (rc == 0)
			rc = sw__reply_add(r, t.data, t.len);
	} else if (e == EBUSY) {
		/* errors.ResourceBusy: 'Device or resource busy: "%(path)s"%(extra)s' */
		rc = sw_buf_append_str(&t, "Device or resource busy: \"");
		if (rc == 0)
			rc = sw_buf_append(&t, report->data, report->len);
		if (rc == 0)
			rc = sw_buf_append_str(&t, "\": ");
		if (rc == 0)
			rc = oserror_text(&t, e, f1, f2);
		if (rc == 0)
			rc = sw__fail_generic(r, "ResourceBusy", t.data, t.len);
	} else {
		/* errors.TransportError(orig_error=e): "Transport error: %s %s" */
		sw_buf o;
		sw_buf_init(&o, r->mem);
		rc = oserror_text(&o, e, f1, f2);
		if (rc == 0)
			rc = sw_buf_append_str(&t, "Transport error: ");
		if (rc == 0)
			rc = sw_buf_append(&t, o.data, o.len);
		if (rc == 0)
			rc = sw_buf_append_byte(&t, ' ');
		if (rc == 0)
			rc = sw_buf_append(&t, o.data, o.len);
		sw_buf_fini(&o);
		if (rc == 0)
			rc = sw__fail_generic(r, "TransportError", t.data, t.len);
	}
	sw_buf_fini(&t);
	return rc;
}

int sw__fail_errno_abs(sw_vfs_req *r, int e, const sw_jail_path *jp)
{
	sw_buf a;
	sw_buf_init(&a, r->mem);
	int rc = sw__abs(r->vfs, jp->fs.data, jp->fs.len, &a);
	if (rc == 0)
		rc = sw__fail_errno(r, e, &a, &a, NULL);
	sw_buf_fini(&a);
	return rc;
}

int sw__fail_oserror(sw_vfs_req *r, int e, const char *suffix)
{
	sw_buf t;
	sw_buf_init(&t, r->mem);
	int rc = oserror_text(&t, e, NULL, NULL);
	if (rc == 0 && suffix)
		rc = sw_buf_append_str(&t, suffix);
	if (rc == 0)
		rc = sw__fail_generic(r, sw_py_oserror_class(e), t.data, t.len);
	sw_buf_fini(&t);
	return rc;
}

int sw__translate(sw_vfs_req *r, const sw_slice *p, bool slash, sw_jail_path *jp)
{
	if (p->n > r->vfs->cfg.max_path_len) {
		int rc = sw__fail_limit(r, "path length", r->vfs->cfg.max_path_len);
		return rc ? rc : 1;
	}
	int rc = sw_jail_translate(p->p, p->n, slash, jp);
	if (rc < 0)
		return rc;
	if (rc == SW_JAIL_ABOVE_ROOT) {
		rc = sw__fail_generic(r, "breezy.urlutils.InvalidURLJoin", jp->msg.data,
		                      jp->msg.len);
		return rc ? rc : 1;
	}
	if (rc == SW_JAIL_BAD_UTF8) {
		rc = sw__reply(r, SW_VFS_PROTOCOL_ERROR, 1,
		               "'bytes' object has no attribute 'encode'");
		return rc ? rc : 1;
	}
	return 0;
}

int sw__touch(sw_vfs_req *r, const sw_jail_path *jp)
{
	int rc;
	if (jp->nonascii) {
		sw_buf t;
		sw_buf_init(&t, r->mem);
		rc = sw_jail_invalid_url(jp, &t);
		if (rc == 0)
			rc = sw__reply(r, SW_VFS_FAILED, 1, "InvalidURL");
		if (rc == 0)
			rc = sw__reply_add(r, jp->combined.data, jp->combined.len);
		if (rc == 0)
			rc = sw__reply_add(r, t.data, t.len);
		sw_buf_fini(&t);
		return rc ? rc : 1;
	}
	if (jp->has_nul) {
		rc = sw__reply(r, SW_VFS_FAILED, 3, "error", "ValueError", "embedded null byte");
		return rc ? rc : 1;
	}
	return 0;
}

int sw__mode(sw_vfs_req *r, const sw_slice *s, int64_t *mode, bool *has)
{
	*has = false;
	if (s->n == 0)
		return 0;
	int64_t v = 0;
	int k = sw_py_int64(s->p, s->n, &v);
	if (k == 1) {
		int rc = sw__fail_value(r, "invalid literal for int() with base 10: ", s->p, s->n);
		return rc ? rc : 1;
	}
	if (k == 2 || v < 0 || v > 07777) {
		int rc = sw__fail_limit(r, "mode", 07777);
		return rc ? rc : 1;
	}
	*mode = v;
	*has = true;
	return 0;
}

int sw__resolve(sw_vfs_req *r, const sw_jail_path *jp, unsigned flags, sw_jail_res *res)
{
	int e = 0;
	int rc = sw_jail_resolve(&r->vfs->jail, jp->fs.data, jp->fs.len, flags, res, &e);
	if (rc == SW_ERR_IO) {
		rc = sw__fail_errno_abs(r, e, jp);
		return rc ? rc : 1;
	}
	return rc;
}

int sw__escape(sw_buf *out, const uint8_t *p, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t c = p[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-' || c == '~' || c == '/') {
			rc = sw_buf_append_byte(out, c);
		} else {
			char t[3] = {'%', sw_hex_upper(c >> 4u), sw_hex_upper(c)};
			rc = sw_buf_append(out, t, 3);
		}
	}
	return rc;
}

/* ---- files ---- */

int sw__open_file(sw_vfs_req *r, const sw_jail_path *jp, struct stat *st, bool *not_file)
{
	sw_jail_res res;
	*not_file = false;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer.  It stays set
	 * on the regular file (where Linux ignores it; sw_fs_pread clears it
	 * should a file system answer EAGAIN after all). */
	int rc, e,
	    fd = sw_jail_open_plain(&r->vfs->jail, jp->fs.data, jp->fs.len, O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		rc = sw__resolve(r, jp, SW_JAIL_FOLLOW, &res);
		if (rc)
			return rc;
		fd = sw_fs_openat(SW__FS(r), res.dirfd, res.name,
		                  O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0);
		e = errno;
		sw_jail_res_fini(&res);
		if (fd < 0) {
			rc = sw__fail_errno_abs(r, e, jp);
			return rc ? rc : 1;
		}
	}
	if (sw_fs_fstat(SW__FS(r), fd, st) < 0) {
		e = errno;
		sw_fs_close_fd(SW__FS(r), fd);
		rc = sw__fail_errno_abs(r, e, jp);
		return rc ? rc : 1;
	}
	if (!S_ISREG(st->st_mode)) {
		/* Directories give LateReadError; other kinds are a departure
		 * (see vfs.h): never block on a FIFO or read a device. */
		sw_fs_close_fd(SW__FS(r), fd);
		*not_file = true;
		return 0;
	}
	r->fd = fd;
	return 0;
}

void sw__chmod_dir(sw_fs *fs, int dirfd, const char *name, mode_t mode)
{
	int fd = sw_fs_openat(fs, dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd >= 0) {
		sw_fs_fchmod(fs, fd, mode);
		sw_fs_close_fd(fs, fd);
	} else if (errno == EACCES) {
		sw_fs_fchmodat(fs, dirfd, name, mode, AT_SYMLINK_NOFOLLOW);
	}
}

ptrdiff_t sw__pread_body(sw_vfs_req *r, uint8_t *buf, size_t cap, uint64_t at)
{
	ssize_t k = sw_fs_pread(SW__FS(r), r->fd, buf, cap, (off_t)at);
	if (k <= 0) {
		if (k == 0)
			errno = EIO; /* the file shrank after the reply was decided */
		return SW_ERR_IO;
	}
	r->body_pos += (uint64_t)k;
	return k;
}
