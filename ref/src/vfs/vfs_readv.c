/* The readv verb: the offsets come as the request body (parsed by the
 * codec, smartwire/readv.h), the ranges go back as the response body, read
 * from the file on demand.  Built on vfs_req.c's helpers only. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smartwire/error.h"
#include "smartwire/readv.h"
#include "vfs_verbs.h"

int sw__readv_begin(sw_vfs_req *r, const sw_slice *a)
{
	int rc = sw__translate(r, &a[0], false, &r->jp);
	if (rc)
		return rc < 0 ? rc : 0;
	r->state = REQ_BODY;
	return 0;
}

/* int(field) as an int64_t: false when it does not fit (the VFS refuses
 * such offsets with a limit where Python would fail deeper). */
static bool to_i64(bool neg, uint64_t mag, int64_t *v)
{
	if (mag > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
		return false;
	*v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return true;
}

/* One line as sw_readv_next() (result k) read it: Breezy's ValueError for a
 * line it refuses, then our limits, checked in this order.  Returns 0 (the
 * range is in *rg), 1 (answered) or SW_ERR_NOMEM. */
static int check_line(sw_vfs_req *r, const uint8_t *p, int k, const sw_readv_line *l, sw__range *rg)
{
	int rc;
	if (k < 0 && l->fault == SW_READV_ONE_FIELD)
		rc = sw__fail_value(r, "not enough values to unpack (expected 2, got 1)", NULL, 0);
	else if (k < 0 && l->fault == SW_READV_MANY_FIELDS)
		rc = sw__fail_value(r, "too many values to unpack (expected 2)", NULL, 0);
	/* The start is checked whole (int(), then its range) before the
	 * length. */
	else if ((k > 0 || l->field == 1) && !to_i64(l->start_neg, l->start, &rg->off))
		rc = sw__fail_limit(r, "readv offset", INT64_MAX);
	else if (k < 0 && l->fault == SW_READV_NOT_INT)
		rc = sw__fail_value(r, "invalid literal for int() with base 10: ", p + l->field_at,
		                    l->field_len);
	else if (k < 0 || !to_i64(l->length_neg, l->length, &rg->len)) /* or SW_READV_TOO_BIG */
		rc = sw__fail_limit(r, "readv offset", INT64_MAX);
	else if (rg->len < 0 || (rg->off > 0 && rg->len > INT64_MAX - rg->off))
		rc = sw__fail_limit(r, "readv length", INT64_MAX);
	else if (r->nranges == r->vfs->cfg.max_readv_ranges)
		rc = sw__fail_limit(r, "readv ranges", r->vfs->cfg.max_readv_ranges);
	else
		return 0;
	return rc ? rc : 1;
}

/* ReadvRequest._deserialise_offsets with the codec's parser
 * (smartwire/readv.h), each line checked before the next is read.  Returns
 * 0, 1 (answered) or SW_ERR_NOMEM. */
static int parse_offsets(sw_vfs_req *r)
{
	const uint8_t *p = r->text.data;
	size_t n = r->text.len, pos = 0, cap = 0;
	sw_readv_line l;
	int k;
	while ((k = sw_readv_next(p, n, &pos, &l)) != 0) {
		sw__range rg;
		int rc = check_line(r, p, k, &l, &rg);
		if (rc)
			return rc;
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
				         "Overlapping range not allowed: last range ended at %lld, "
				         "new one "
				         "starts at %lld",
				         (long long)last_end, (long long)start);
				rc = sw__fail_generic(r, "ValueError", (const uint8_t *)t,
				                      strlen(t));
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
			rc = sw__reply(r, SW_VFS_FAILED, 3, "error", "OSError",
			               "[Errno 22] Invalid argument");
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

int sw__readv_body(sw_vfs_req *r, const uint8_t *p, size_t n)
{
	if (r->replied)
		return 0; /* over the limit: discard */
	if (r->text.len + n > r->vfs->cfg.max_readv_text)
		return sw__fail_limit(r, "readv offsets text", r->vfs->cfg.max_readv_text);
	return sw_buf_append(&r->text, p, n);
}

int sw__readv_end(sw_vfs_req *r)
{
	if (r->replied)
		return 0; /* the limit's answer */
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
		rc = sw__open_file(r, &r->jp, &st, &is_dir);
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

ptrdiff_t sw__readv_read(sw_vfs_req *r, uint8_t *buf, size_t cap)
{
	if (r->body_pos >= r->body_len || cap == 0)
		return 0;
	while (r->cur < r->nranges && r->cur_done == (uint64_t)r->ranges[r->cur].len) {
		r->cur++;
		r->cur_done = 0;
	}
	if (r->cur == r->nranges)
		return 0;
	uint64_t want = (uint64_t)r->ranges[r->cur].len - r->cur_done;
	uint64_t at = (uint64_t)r->ranges[r->cur].off + r->cur_done;
	ptrdiff_t k = sw__pread_body(r, buf, want < cap ? (size_t)want : cap, at);
	if (k > 0)
		r->cur_done += (uint64_t)k;
	return k;
}

int sw__readv_span(sw_vfs_req *r, uint64_t cap, int *fd, uint64_t *off, uint64_t *len)
{
	int nfd = sw_fs_native_fd(SW__FS(r), r->fd);
	if (r->body_pos >= r->body_len || cap == 0 || nfd < 0)
		return 0;
	while (r->cur < r->nranges && r->cur_done == (uint64_t)r->ranges[r->cur].len) {
		r->cur++;
		r->cur_done = 0;
	}
	if (r->cur == r->nranges)
		return 0;
	uint64_t want = (uint64_t)r->ranges[r->cur].len - r->cur_done;
	*fd = nfd;
	*off = (uint64_t)r->ranges[r->cur].off + r->cur_done;
	*len = want < cap ? want : cap;
	return 1;
}

void sw__readv_span_done(sw_vfs_req *r, uint64_t n)
{
	r->cur_done += n;
	r->body_pos += n;
}
