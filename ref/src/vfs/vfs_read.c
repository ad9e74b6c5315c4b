/* Read verbs: get, has, stat, list_dir, iter_files_recursive, readv. */
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
#include "smartwire/pytext.h"
#include "vfs_internal.h"

/* Opens the file `jp` names for reading, following symlinks inside the root.
 * Returns 0 (r->fd open, *st filled), 1 (answered) or SW_ERR_NOMEM.  Sets
 * *is_dir instead of answering when it names a directory. */
static int open_for_read(sw_vfs_req *r, const sw_jail_path *jp, struct stat *st, bool *is_dir)
{
	sw_jail_res res;
	*is_dir = false;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer.  It stays set
	 * on the regular file (where Linux ignores it; sw__read_body clears it
	 * should a file system answer EAGAIN after all). */
	int rc, e, fd = sw__jail_open_plain(&r->vfs->jail, jp->fs.data, jp->fs.len,
	                                    O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		rc = sw__resolve(r, jp, SW_JAIL_FOLLOW, &res);
		if (rc)
			return rc;
		fd = openat(res.dirfd, res.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		e = errno;
		sw_jail_res_fini(&res);
		if (fd < 0) {
			rc = sw__fail_errno_abs(r, e, jp);
			return rc ? rc : 1;
		}
	}
	if (fstat(fd, st) < 0) {
		e = errno;
		close(fd);
		rc = sw__fail_errno_abs(r, e, jp);
		return rc ? rc : 1;
	}
	if (!S_ISREG(st->st_mode)) {
		/* Directories give LateReadError; other kinds are a departure
		 * (see vfs.h): never block on a FIFO or read a device. */
		close(fd);
		*is_dir = true;
		return 0;
	}
	r->fd = fd;
	return 0;
}

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

int sw__do_get(sw_vfs_req *r, const sw_slice *a)
{
	int rc = take_path(r, a, false);
	if (rc)
		return rc < 0 ? rc : 0;
	struct stat st;
	bool is_dir;
	rc = open_for_read(r, &r->jp, &st, &is_dir);
	if (rc)
		return rc < 0 ? rc : 0;
	if (is_dir)
		return read_error(r, &r->jp);
	rc = sw__reply(r, SW_VFS_SUCCESS, 1, "ok");
	r->has_body = true;
	r->body_len = (uint64_t)st.st_size;
	return rc;
}

int sw__do_has(sw_vfs_req *r, const sw_slice *a)
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
		yes = res.is_root || faccessat(res.dirfd, res.name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		sw_jail_res_fini(&res);
	}
	return sw__reply(r, SW_VFS_SUCCESS, 1, yes ? "yes" : "no");
}

int sw__do_stat(sw_vfs_req *r, const sw_slice *a)
{
	int rc = take_path(r, a, true);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_jail_res res;
	rc = sw__resolve(r, &r->jp, 0, &res);
	if (rc)
		return rc < 0 ? rc : 0;
	struct stat st;
	int ok = fstatat(res.dirfd, res.name, &st, AT_SYMLINK_NOFOLLOW);
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
	*fd = openat(res.dirfd, res.name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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

/* Reads the names of directory `fd` (consumed) in readdir order, skipping
 * ".", ".." and hidden upload files, into `names` as NUL-separated bytes.
 * Returns the count, or SW_ERR_NOMEM / SW_ERR_IO (errno). */
static ptrdiff_t read_names(int fd, sw_buf *names)
{
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return SW_ERR_IO;
	}
	ptrdiff_t count = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
		    strncmp(n, SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1) == 0)
			continue;
		if (sw_buf_append(names, n, strlen(n) + 1)) {
			closedir(d);
			return SW_ERR_NOMEM;
		}
		count++;
	}
	int e = errno;
	closedir(d);
	if (e) {
		errno = e;
		return SW_ERR_IO;
	}
	return count;
}

int sw__do_list_dir(sw_vfs_req *r, const sw_slice *a)
{
	int fd;
	int rc = take_dir(r, a, &fd);
	if (rc)
		return rc < 0 ? rc : 0;
	sw_buf names, esc;
	sw_buf_init(&names, r->mem);
	sw_buf_init(&esc, r->mem);
	ptrdiff_t n = read_names(fd, &names);
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
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	ptrdiff_t n = dfd < 0 ? SW_ERR_IO : read_names(dfd, &names);
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
		if (fstatat(fd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
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
		int sub = openat(fd, nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			rc = fail_raw(r, errno, raw);
			break;
		}
		rc = iter_dir(r, sub, rel, raw, depth + 1);
		close(sub);
	}
	rel->len = rlen;
	raw->len = wlen;
	sw_buf_fini(&names);
	return rc;
}

int sw__do_iter(sw_vfs_req *r, const sw_slice *a)
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
	close(fd);
	sw_buf_fini(&rel);
	sw_buf_fini(&raw);
	return rc < 0 ? rc : 0;
}

/* ---- readv ---- */

int sw__do_readv(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	r->state = REQ_BODY;
	return 0;
}

static int value_error(sw_vfs_req *r, const char *msg, const uint8_t *lit, size_t n)
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

/* ReadvRequest._deserialise_offsets.  Returns 0, 1 (answered), SW_ERR_NOMEM. */
static int parse_offsets(sw_vfs_req *r)
{
	const uint8_t *p = r->text.data ? r->text.data : (const uint8_t *)"";
	size_t n = r->text.len, cap = 0;
	for (size_t s = 0; s <= n;) {
		size_t e = s;
		while (e < n && p[e] != '\n')
			e++;
		const uint8_t *line = p + s;
		size_t len = e - s;
		s = e + 1;
		if (len == 0)
			continue;
		const uint8_t *c1 = memchr(line, ',', len);
		if (!c1) {
			int rc = value_error(r, "not enough values to unpack (expected 2, got 1)", NULL, 0);
			return rc ? rc : 1;
		}
		if (memchr(c1 + 1, ',', len - (size_t)(c1 + 1 - line))) {
			int rc = value_error(r, "too many values to unpack (expected 2)", NULL, 0);
			return rc ? rc : 1;
		}
		sw__range rg;
		const uint8_t *f[2] = {line, c1 + 1};
		size_t fl[2] = {(size_t)(c1 - line), len - (size_t)(c1 + 1 - line)};
		int64_t *dst[2] = {&rg.off, &rg.len};
		for (int k = 0; k < 2; k++) {
			int x = sw_py_int64(f[k], fl[k], dst[k]);
			int rc = 0;
			if (x == 1)
				rc = value_error(r, "invalid literal for int() with base 10: ", f[k], fl[k]);
			else if (x == 2)
				rc = sw__fail_limit(r, "readv offset", INT64_MAX);
			if (x)
				return rc ? rc : 1;
		}
		if (rg.len < 0 || (rg.off > 0 && rg.len > INT64_MAX - rg.off)) {
			int rc = sw__fail_limit(r, "readv length", INT64_MAX);
			return rc ? rc : 1;
		}
		if (r->nranges == r->vfs->cfg.max_readv_ranges) {
			int rc = sw__fail_limit(r, "readv ranges", r->vfs->cfg.max_readv_ranges);
			return rc ? rc : 1;
		}
		if (r->nranges == cap) {
			cap = cap ? cap * 2 : 16;
			sw__range *nr = sw_realloc(r->mem, r->ranges, cap * sizeof *nr);
			if (!nr)
				return SW_ERR_NOMEM;
			r->ranges = nr;
		}
		r->ranges[r->nranges++] = rg;
	}
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const sw__range *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
}

static size_t find_key(const sw__range *u, size_t nu, sw__range key)
{
	size_t lo = 0, hi = nu;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = cmp_range(&u[mid], &key);
		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return nu;
}

static int short_readv(sw_vfs_req *r, int64_t off, int64_t len, int64_t actual)
{
	char o[24], l[24], act[24];
	snprintf(o, sizeof o, "%lld", (long long)off);
	snprintf(l, sizeof l, "%lld", (long long)len);
	snprintf(act, sizeof act, "%lld", (long long)actual);
	int rc = sw__reply(r, SW_VFS_FAILED, 1, "ShortReadvError");
	if (rc == 0)
		rc = sw__reply_add(r, r->jp.wire.data, r->jp.wire.len);
	if (rc == 0)
		rc = sw__reply_add(r, o, strlen(o));
	if (rc == 0)
		rc = sw__reply_add(r, l, strlen(l));
	if (rc == 0)
		rc = sw__reply_add(r, act, strlen(act));
	return rc;
}

/* Transport._seek_and_read over _coalesce_offsets(sorted, limit=50,
 * fudge_factor=0, max_size=100 MiB), emulated without reading: overlaps,
 * seeks and short reads are decided from the file size, in Breezy's order,
 * and the ranges Breezy would yield are kept.  Breezy yields from a dict in
 * request order and stops at a key it already popped (a repeated empty
 * range), silently dropping the rest; r->nranges is cut to that prefix.
 * Returns 0, 1 (answered) or SW_ERR_NOMEM. */
static int check_ranges(sw_vfs_req *r, bool is_dir, int64_t size)
{
	const int64_t max_size = 100 * 1024 * 1024;
	size_t n = r->nranges, ng = 0, nu = 0, cur = 0;
	sw__range *s = sw_malloc(r->mem, n * sizeof *s);
	sw__range *u = sw_malloc(r->mem, n * sizeof *u);
	size_t *gstart = sw_malloc(r->mem, (n + 1) * sizeof *gstart);
	bool *present = sw_malloc(r->mem, n * sizeof *present);
	int rc = 0;
	if (!s || !u || !gstart || !present) {
		rc = SW_ERR_NOMEM;
		goto out;
	}
	memcpy(s, r->ranges, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_range);
	for (size_t i = 0; i < n; i++) {
		if (nu == 0 || cmp_range(&u[nu - 1], &s[i]) != 0)
			u[nu++] = s[i];
		present[i] = false;
	}
	/* Coalesce (the whole list is built before the first read). */
	int64_t cstart = 0, last_end = 0;
	size_t cranges = 0;
	for (size_t i = 0; i < n; i++) {
		int64_t start = s[i].off, end = start + s[i].len;
		if (i > 0 && start <= last_end && start >= cstart && cranges < 50 &&
		    end - cstart <= max_size) {
			if (start < last_end) {
				char t[160];
				snprintf(t, sizeof t,
				         "Overlapping range not allowed: last range ended at %lld, new one "
				         "starts at %lld", (long long)last_end, (long long)start);
				rc = sw__fail_generic(r, "ValueError", (const uint8_t *)t, strlen(t));
				rc = rc ? rc : 1;
				goto out;
			}
			cranges++;
		} else {
			gstart[ng++] = i;
			cstart = start;
			cranges = 1;
		}
		last_end = end;
	}
	gstart[ng] = n;
	/* Seek and read each coalesced range in order. */
	for (size_t g = 0; g < ng; g++) {
		int64_t off = s[gstart[g]].off, len = 0;
		for (size_t i = gstart[g]; i < gstart[g + 1]; i++)
			if (s[i].off + s[i].len - off > len)
				len = s[i].off + s[i].len - off;
		if (is_dir) {
			const char *m = "'LateReadError' object has no attribute 'seek'";
			rc = sw__fail_generic(r, "AttributeError", (const uint8_t *)m, strlen(m));
			rc = rc ? rc : 1;
			goto out;
		}
		if (off < 0) {
			rc = sw__reply(r, SW_VFS_FAILED, 3, "error", "OSError", "[Errno 22] Invalid argument");
			rc = rc ? rc : 1;
			goto out;
		}
		int64_t avail = size > off ? size - off : 0;
		if (avail < len) {
			rc = short_readv(r, off, len, avail);
			rc = rc ? rc : 1;
			goto out;
		}
		for (size_t i = gstart[g]; i < gstart[g + 1]; i++)
			present[find_key(u, nu, s[i])] = true;
		while (cur < n) {
			size_t k = find_key(u, nu, r->ranges[cur]);
			if (!present[k])
				break;
			present[k] = false;
			cur++;
		}
	}
	r->nranges = cur;
out:
	sw_free(r->mem, s);
	sw_free(r->mem, u);
	sw_free(r->mem, gstart);
	sw_free(r->mem, present);
	return rc;
}

int sw__readv_end(sw_vfs_req *r)
{
	int rc = parse_offsets(r);
	if (rc)
		return rc < 0 ? rc : 0;
	if (r->nranges == 0) {
		/* Transport._readv returns None for no offsets. */
		return sw__reply(r, SW_VFS_FAILED, 3, "error", "TypeError",
		                 "'NoneType' object is not iterable");
	}
	rc = sw__touch(r, &r->jp);
	struct stat st;
	bool is_dir = false;
	if (rc == 0)
		rc = open_for_read(r, &r->jp, &st, &is_dir);
	if (rc == 0)
		rc = check_ranges(r, is_dir, is_dir ? 0 : (int64_t)st.st_size);
	if (rc)
		return rc < 0 ? rc : 0;
	uint64_t total = 0;
	for (size_t i = 0; i < r->nranges; i++)
		total += (uint64_t)r->ranges[i].len;
	rc = sw__reply(r, SW_VFS_SUCCESS, 1, "readv");
	r->has_body = true;
	r->body_len = total;
	r->cur = 0;
	r->cur_done = 0;
	return rc;
}

ptrdiff_t sw__read_body(sw_vfs_req *r, uint8_t *buf, size_t cap)
{
	if (r->body_pos >= r->body_len || cap == 0)
		return 0;
	uint64_t want = r->body_len - r->body_pos;
	off_t at = (off_t)r->body_pos;
	if (r->verb == V_READV) {
		while (r->cur < r->nranges && r->cur_done == (uint64_t)r->ranges[r->cur].len) {
			r->cur++;
			r->cur_done = 0;
		}
		if (r->cur == r->nranges)
			return 0;
		want = (uint64_t)r->ranges[r->cur].len - r->cur_done;
		at = (off_t)((uint64_t)r->ranges[r->cur].off + r->cur_done);
	}
	if (want > cap)
		want = cap;
	ssize_t k = pread(r->fd, buf, (size_t)want, at);
	if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
		fcntl(r->fd, F_SETFL, fcntl(r->fd, F_GETFL) & ~O_NONBLOCK);
		k = pread(r->fd, buf, (size_t)want, at);
	}
	if (k <= 0) {
		if (k == 0)
			errno = EIO; /* the file shrank after the reply was decided */
		return SW_ERR_IO;
	}
	r->body_pos += (uint64_t)k;
	r->cur_done += (uint64_t)k;
	return k;
}
