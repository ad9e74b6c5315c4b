/* The path jail: Breezy-compatible translation and the physical walk.
 * See smartwire/jail.h for the contract and the symlink policy. */
#define _GNU_SOURCE 1 /* O_PATH */
#include "smartwire/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "smartwire/hex.h"
#include "smartwire/pytext.h"
#include "vfs_internal.h"

#define MAX_SYMLINKS 40

void sw_jail_path_init(sw_jail_path *jp, const sw_mem *mem)
{
	sw_buf_init(&jp->wire, mem);
	sw_buf_init(&jp->combined, mem);
	sw_buf_init(&jp->fs, mem);
	sw_buf_init(&jp->msg, mem);
	jp->nonascii = false;
	jp->has_nul = false;
}

void sw_jail_path_fini(sw_jail_path *jp)
{
	sw_buf_fini(&jp->wire);
	sw_buf_fini(&jp->combined);
	sw_buf_fini(&jp->fs);
	sw_buf_fini(&jp->msg);
}

/* urlutils._url_dont_escape_characters */
static bool unreserved(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* One pass of URL._combine_paths('/', rel), result without the leading '/'
 * (PathFilteringTransport._relpath_from_server_root).  First %XX escapes of
 * unreserved characters are unescaped (so %2e%2e becomes ".."), then "."
 * and empty segments are dropped and ".." is clamped at the root. */
static int combine(const uint8_t *p, size_t n, sw_buf *out)
{
	sw_buf tmp;
	sw_buf_init(&tmp, out->mem);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (p[i] == '%' && i + 2 < n && sw_hex_value(p[i + 1]) >= 0 && sw_hex_value(p[i + 2]) >= 0) {
			int c = sw_hex_value(p[i + 1]) * 16 + sw_hex_value(p[i + 2]);
			if (unreserved(c)) {
				rc = sw_buf_append_byte(&tmp, (uint8_t)c);
				i += 2;
				continue;
			}
		}
		rc = sw_buf_append_byte(&tmp, p[i]);
	}
	sw_buf_reset(out);
	size_t start = 0;
	for (size_t i = 0; rc == 0 && i <= tmp.len; i++) {
		if (i < tmp.len && tmp.data[i] != '/')
			continue;
		const uint8_t *seg = (tmp.data ? tmp.data : (const uint8_t *)"") + start;
		size_t len = i - start;
		start = i + 1;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			/* pop the last segment, if any */
			while (out->len > 0 && out->data[out->len - 1] != '/')
				out->len--;
			if (out->len > 0)
				out->len--;
		} else if (len == 0 || (len == 1 && seg[0] == '.')) {
			continue;
		} else {
			if (out->len > 0)
				rc = sw_buf_append_byte(out, '/');
			if (rc == 0)
				rc = sw_buf_append(out, seg, len);
		}
	}
	sw_buf_fini(&tmp);
	return rc;
}

/* Strict UTF-8 validation as Python's decoder (no overlongs, surrogates or
 * code points above U+10FFFF).  With `fix`, appends the input to `out` with
 * every invalid sequence replaced by U+FFFD using Python's "maximal subpart"
 * rule (errors='replace'); otherwise only returns whether it is valid. */
static int utf8_scan(const uint8_t *p, size_t n, sw_buf *out, bool *valid)
{
	*valid = true;
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		size_t need = 0;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c < 0x80) {
			need = 0;
		} else if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			if (c == 0xf4)
				hi = 0x8f;
		} else {
			need = SIZE_MAX; /* invalid start byte */
		}
		size_t len = 1;
		bool ok = need != SIZE_MAX;
		if (ok) {
			for (size_t k = 0; k < need; k++) {
				uint8_t b = i + 1 + k < n ? p[i + 1 + k] : 0;
				if (i + 1 + k >= n || b < (k == 0 ? lo : 0x80) || b > (k == 0 ? hi : 0xbf)) {
					ok = false;
					break;
				}
				len++;
			}
		}
		if (!ok)
			*valid = false;
		if (out) {
			int rc = ok ? sw_buf_append(out, p + i, len)
			            : sw_buf_append(out, "\xef\xbf\xbd", 3);
			if (rc)
				return rc;
		} else if (!ok) {
			return 0;
		}
		i += len;
	}
	return 0;
}

/* A path every step below would leave as it is: printable ASCII without
 * '%', an optional leading '/', then one or more segments that are neither
 * empty, "." nor "..".  For it joinpath keeps the segments, both
 * _combine_paths passes and the unescaping are the identity, and nothing is
 * flagged, so the three results are the segments themselves.  Returns the
 * length of the leading '/' to skip, or -1 for any other path. */
static int plain_path(const uint8_t *p, size_t n)
{
	int skip = n > 0 && p[0] == '/';
	size_t seg = 0; /* bytes of the current segment */
	bool dots = true; /* the current segment has only '.' so far */
	if ((size_t)skip == n)
		return -1;
	for (size_t i = (size_t)skip; i < n; i++) {
		uint8_t c = p[i];
		if (c == '/') {
			if (seg == 0 || (dots && seg <= 2))
				return -1;
			seg = 0;
			dots = true;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || c == '%')
			return -1;
		seg++;
		dots &= c == '.';
	}
	if (seg == 0 || (dots && seg <= 2))
		return -1;
	return skip;
}

int sw_jail_translate(const uint8_t *p, size_t n, bool append_slash, sw_jail_path *jp)
{
	bool valid;
	sw_buf_reset(&jp->wire);
	sw_buf_reset(&jp->combined);
	sw_buf_reset(&jp->fs);
	sw_buf_reset(&jp->msg);
	jp->nonascii = false;
	jp->has_nul = false;
	int skip = plain_path(p, n);
	if (skip >= 0) {
		/* The common case, without the temporary buffers of the general
		 * one below (which gives the same three strings for it). */
		const uint8_t *rest = p + skip;
		size_t m = n - (size_t)skip;
		int rc = sw_buf_append(&jp->wire, "./", 2);
		if (rc == 0)
			rc = sw_buf_append(&jp->wire, rest, m);
		if (rc == 0 && append_slash)
			rc = sw_buf_append_byte(&jp->wire, '/');
		if (rc == 0)
			rc = sw_buf_append(&jp->combined, rest, m);
		if (rc == 0)
			rc = sw_buf_append(&jp->fs, rest, m);
		return rc;
	}
	utf8_scan(p, n, NULL, &valid);
	if (!valid)
		return SW_JAIL_BAD_UTF8;

	/* arg = client path with a leading '/' (and a trailing one), minus the
	 * first character: joinpath('/', arg). */
	sw_buf arg;
	sw_buf_init(&arg, jp->wire.mem);
	int rc = 0;
	if (n > 0 && p[0] == '/')
		rc = sw_buf_append(&arg, p + 1, n - 1);
	else
		rc = sw_buf_append(&arg, p, n);
	if (rc == 0 && append_slash && !(n > 0 && p[n - 1] == '/'))
		rc = sw_buf_append_byte(&arg, '/');
	if (rc == 0 && arg.len > 0 && arg.data[0] == '/')
		sw_buf_consume(&arg, 1); /* joinpath restarts at an absolute arg */
	if (rc == 0)
		rc = sw_buf_append_str(&jp->wire, "./");
	/* joinpath: every chunk except "." is kept, including empty ones;
	 * ".." pops and may not pop the leading root element. */
	size_t nseg = 0, start = 0;
	size_t root_len = 2; /* "./" */
	bool first = true;
	for (size_t i = 0; rc == 0 && i <= arg.len; i++) {
		if (i < arg.len && arg.data[i] != '/')
			continue;
		const uint8_t *seg = (arg.data ? arg.data : (const uint8_t *)"") + start;
		size_t len = i - start;
		start = i + 1;
		if (len == 1 && seg[0] == '.')
			continue;
		if (len == 2 && seg[0] == '.' && seg[1] == '.') {
			if (nseg == 0) {
				rc = sw_buf_append_str(&jp->msg, "Invalid URL join request: "
				                                 "Cannot go above root: '/' + (");
				if (rc == 0)
					rc = sw_py_repr_str(&jp->msg, arg.data, arg.len);
				if (rc == 0)
					rc = sw_buf_append_str(&jp->msg, ",)");
				sw_buf_fini(&arg);
				return rc ? rc : SW_JAIL_ABOVE_ROOT;
			}
			/* drop the last segment and its separator */
			while (jp->wire.len > root_len && jp->wire.data[jp->wire.len - 1] != '/')
				jp->wire.len--;
			if (jp->wire.len > root_len)
				jp->wire.len--;
			else
				first = true;
			nseg--;
			if (nseg == 0)
				first = true;
			continue;
		}
		if (!first)
			rc = sw_buf_append_byte(&jp->wire, '/');
		if (rc == 0)
			rc = sw_buf_append(&jp->wire, seg, len);
		first = false;
		nseg++;
	}
	sw_buf_fini(&arg);
	if (rc)
		return rc;

	/* Two _combine_paths passes: the ~-expanding path filter and the chroot
	 * each apply one. */
	sw_buf once;
	sw_buf_init(&once, jp->wire.mem);
	rc = combine(jp->wire.data, jp->wire.len, &once);
	if (rc == 0)
		rc = combine(once.data, once.len, &jp->combined);
	sw_buf_fini(&once);
	if (rc)
		return rc;
	for (size_t i = 0; i < jp->combined.len; i++)
		if (jp->combined.data[i] >= 0x80)
			jp->nonascii = true;

	/* urlutils.unescape: unquote_to_bytes, then UTF-8 with errors='replace'. */
	sw_buf raw;
	sw_buf_init(&raw, jp->wire.mem);
	for (size_t i = 0; rc == 0 && i < jp->combined.len; i++) {
		const uint8_t *c = jp->combined.data;
		if (c[i] == '%' && i + 2 < jp->combined.len && sw_hex_value(c[i + 1]) >= 0 &&
		    sw_hex_value(c[i + 2]) >= 0) {
			rc = sw_buf_append_byte(&raw, (uint8_t)(sw_hex_value(c[i + 1]) * 16 + sw_hex_value(c[i + 2])));
			i += 2;
		} else {
			rc = sw_buf_append_byte(&raw, c[i]);
		}
	}
	if (rc == 0)
		rc = utf8_scan(raw.data, raw.len, &jp->fs, &valid);
	sw_buf_fini(&raw);
	if (rc)
		return rc;
	jp->has_nul = jp->fs.len > 0 && memchr(jp->fs.data, 0, jp->fs.len) != NULL;
	return SW_JAIL_OK;
}

int sw_jail_invalid_url(const sw_jail_path *jp, sw_buf *out)
{
	/* Decode code points to find the first run of non-ASCII characters. */
	const uint8_t *p = jp->combined.data;
	size_t n = jp->combined.len, i = 0, idx = 0, first = 0, run = 0;
	uint32_t cp0 = 0;
	bool in_run = false, done = false;
	while (i < n && !done) {
		uint32_t cp = p[i];
		size_t len = 1;
		if (cp >= 0xf0)
			cp &= 0x07, len = 4;
		else if (cp >= 0xe0)
			cp &= 0x0f, len = 3;
		else if (cp >= 0xc0)
			cp &= 0x1f, len = 2;
		for (size_t k = 1; k < len && i + k < n; k++)
			cp = (cp << 6) | (p[i + k] & 0x3f);
		if (cp >= 0x80) {
			if (!in_run) {
				in_run = true;
				first = idx;
				cp0 = cp;
			}
			run++;
		} else if (in_run) {
			done = true;
		}
		i += len;
		idx++;
	}
	char tmp[160];
	int rc = sw_buf_append_str(out, ": URL was not a plain ASCII url: 'ascii' codec can't encode ");
	if (run == 1) {
		const char *fmt = cp0 < 0x100 ? "character '\\x%02x'" : cp0 < 0x10000 ? "character '\\u%04x'"
		                                                                       : "character '\\U%08x'";
		snprintf(tmp, sizeof tmp, fmt, (unsigned)cp0);
		if (rc == 0)
			rc = sw_buf_append_str(out, tmp);
		snprintf(tmp, sizeof tmp, " in position %zu", first);
	} else {
		snprintf(tmp, sizeof tmp, "characters in position %zu-%zu", first, first + run - 1);
	}
	if (rc == 0)
		rc = sw_buf_append_str(out, tmp);
	if (rc == 0)
		rc = sw_buf_append_str(out, ": ordinal not in range(128)");
	return rc;
}

int sw_jail_init(sw_jail *j, const char *root, const sw_mem *mem)
{
	j->mem = mem;
	j->root_real = NULL;
	j->root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j->root_fd < 0)
		return SW_ERR_IO;
	char *real = realpath(root, NULL);
	if (!real) {
		int e = errno;
		close(j->root_fd);
		j->root_fd = -1;
		errno = e;
		return e == ENOMEM ? SW_ERR_NOMEM : SW_ERR_IO;
	}
	j->root_real_len = strlen(real);
	j->root_real = sw_malloc(mem, j->root_real_len + 1);
	if (!j->root_real) {
		free(real);
		close(j->root_fd);
		j->root_fd = -1;
		return SW_ERR_NOMEM;
	}
	memcpy(j->root_real, real, j->root_real_len + 1);
	free(real);
	return 0;
}

void sw_jail_fini(sw_jail *j)
{
	if (j->root_fd >= 0)
		close(j->root_fd);
	j->root_fd = -1;
	sw_free(j->mem, j->root_real);
	j->root_real = NULL;
}

void sw_jail_res_fini(sw_jail_res *res)
{
	if (res->dirfd >= 0)
		close(res->dirfd);
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
		close(w->fds[w->depth]);
		w->depth--;
	}
}

static int walk_push(walk *w, int fd)
{
	if (w->depth + 1 >= w->cap) {
		size_t ncap = w->cap * 2;
		int *n = sw_realloc(w->j->mem, w->fds, ncap * sizeof *n);
		if (!n) {
			close(fd);
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
	ssize_t tl = readlinkat(w->fds[w->depth], name, target, sizeof target - 1);
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

int sw_jail_resolve(const sw_jail *j, const uint8_t *fs, size_t n, unsigned flags,
                    sw_jail_res *res, int *err)
{
	walk w = {j, NULL, 0, 8, {0}, 0};
	int nlinks = 0, rc = 0;
	char *name = NULL;
	res->dirfd = -1;
	res->name = NULL;
	res->is_root = false;
	res->outside = false;
	res->mem = j->mem;
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
		int fd = openat(w.fds[w.depth], comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
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
		res->dirfd = w.depth == 0 ? fcntl(j->root_fd, F_DUPFD_CLOEXEC, 0) : w.fds[w.depth];
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
			close(res->dirfd);
		res->dirfd = -1;
		sw_free(j->mem, name);
		return rc;
	}
	res->name = name;
	return 0;
}

/* openat2(2) is missing before Linux 5.6 (or filtered by a seccomp policy
 * answering ENOSYS): once it fails so, only the walk is used. */
static atomic_bool no_openat2;

int sw__jail_open_plain(const sw_jail *j, const uint8_t *fs, size_t n, int oflags)
{
	char path[PATH_MAX];
	if (n == 0 || n >= sizeof path || atomic_load_explicit(&no_openat2, memory_order_relaxed))
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
		if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.') ||
		    (len >= sizeof SW_JAIL_TEMP_PREFIX - 1 &&
		     memcmp(c, SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1) == 0))
			return -1;
		s = i + 1;
	}
	memcpy(path, fs, n);
	path[n] = 0;
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(oflags | O_NOFOLLOW | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	long fd = syscall(SYS_openat2, j->root_fd, path, &how, sizeof how);
	if (fd < 0) {
		if (errno == ENOSYS)
			atomic_store_explicit(&no_openat2, true, memory_order_relaxed);
		return -1;
	}
	return (int)fd;
}
