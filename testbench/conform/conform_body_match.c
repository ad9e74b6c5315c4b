/*
 * Conformance runner: bodies checked by their shape rather than their bytes
 * (conformance/FORMAT.md): `pack` (below), `lines` (the lines in any
 * order) and `starts` (a prefix).
 *
 * PACK CONTAINERS.
 * The network stream of Repository.get_stream*, insert_stream* and
 * VersionedFileRepository.get_inventories is one pack container
 * (smartwire/pack.h).  Its record contents (groupcompress blocks, knit
 * deltas, zlib) are what a repository stores, not what the protocol
 * specifies, so an expectation checks the container down to its records:
 * each record's names and the first line of its content, which is the
 * storage kind ("groupcompress-block", "fulltext", "knit-delta-gz") or, for
 * the stream's first record, the repository format name.  A record is
 * written as the text NAMES:LINE, NAMES being its names joined by ","
 * (the elements of one name by "\0", as on the wire), LINE its first line
 * without the "\n".  The spec "*" is any one record, "..." any number of
 * remaining ones, and "NAMES:*" any content.  When the atom expects a
 * stream error after the body, the container may stop before its 'E'.
 */
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"
#include "smartwire/pack.h"

#define LINE_MAX_SHOWN 256

typedef struct rec_list {
	sw__cf_items recs; /* one descriptor per record */
	sw_buf cur;        /* the current record's descriptor */
	bool in_line;      /* still reading its first content line */
	int rc;            /* SW_ERR_NOMEM in a callback */
} rec_list;

static int on_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	rec_list *l = ud;
	(void)length;
	sw_buf_reset(&l->cur);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < nnames; i++) {
		if (i)
			rc = sw_buf_append_byte(&l->cur, ',');
		for (size_t e = 0; rc == 0 && e < names[i].n; e++) {
			if (e)
				rc = sw_buf_append_byte(&l->cur, 0);
			if (rc == 0)
				rc = sw_buf_append(&l->cur, names[i].elems[e].p,
				                   names[i].elems[e].n);
		}
	}
	if (rc == 0)
		rc = sw_buf_append_byte(&l->cur, ':');
	l->in_line = true;
	l->rc = rc;
	return rc;
}

static int on_data(void *ud, const uint8_t *p, size_t n)
{
	rec_list *l = ud;
	if (!l->in_line)
		return 0;
	const uint8_t *nl = memchr(p, '\n', n);
	size_t take = nl ? (size_t)(nl - p) : n;
	if (take > LINE_MAX_SHOWN)
		take = LINE_MAX_SHOWN;
	if (nl)
		l->in_line = false;
	return l->rc = sw_buf_append(&l->cur, p, take);
}

static int on_end_rec(void *ud)
{
	rec_list *l = ud;
	return l->rc = sw__cf_items_push(&l->recs, l->cur.data ? l->cur.data : (uint8_t *)"",
	                                 l->cur.len, 0);
}

/* Whether record descriptor `got` matches the evaluated spec `want`. */
static bool rec_match(const sw__cf_item *want, const sw__cf_item *got)
{
	if (want->n >= 2 && want->p[want->n - 2] == ':' && want->p[want->n - 1] == '*') {
		size_t k = want->n - 1; /* the names and the colon */
		return got->n >= k && memcmp(got->p, want->p, k) == 0 &&
		       memchr(got->p + k - 1, ':', 1) != NULL;
	}
	return want->n == got->n && memcmp(want->p, got->p, got->n) == 0;
}

int sw__cf_pack_match(const sw_cf_atom *a, const sw_cf_ctx *ctx, const uint8_t *body, size_t n,
                      sw_buf *why)
{
	rec_list l;
	memset(&l, 0, sizeof l);
	sw_buf_init(&l.cur, NULL);
	sw__cf_items want = {0};
	sw_errinfo ei;
	sw_pack_dec *d = NULL;
	sw_pack_callbacks cb = {
	    .on_record_begin = on_begin, .on_record_data = on_data, .on_record_end = on_end_rec};
	int rc = sw__cf_eval_args(a->pack, a->npack, ctx, &want, &ei);
	if (rc == SW_ERR_NOMEM)
		goto out;
	if (rc < 0) {
		sw__cf_appendf(why, "cannot evaluate the record specs: %s", ei.text);
		rc = 0;
		goto out;
	}
	if ((rc = sw_pack_dec_new(&d, NULL, &cb, &l, NULL)) < 0)
		goto out;
	ptrdiff_t used = sw_pack_dec_feed(d, n ? body : NULL, n);
	if (l.rc == SW_ERR_NOMEM) {
		rc = SW_ERR_NOMEM;
		goto out;
	}
	int verdict = 1;
	if (used < 0) {
		sw__cf_appendf(why, "not a pack container (%s) after %zu record(s)",
		               sw_errname((int)used), l.recs.n);
		verdict = 0;
	} else if (!sw_pack_dec_done(d) && !a->has_error) {
		/* With a stream error after the body the container is cut where
		 * the error came; without one it must be complete. */
		sw__cf_appendf(why, "the container ends before its 'E' after %zu record(s)",
		               l.recs.n);
		verdict = 0;
	} else if ((size_t)used < n) {
		sw__cf_appendf(why, "%zu byte(s) after the container's 'E'", n - (size_t)used);
		verdict = 0;
	}
	size_t i = 0;
	for (; verdict && i < want.n; i++) {
		if (want.v[i].wild == 2)
			break;
		if (i >= l.recs.n || (want.v[i].wild != 1 && !rec_match(&want.v[i], &l.recs.v[i])))
			verdict = 0;
	}
	if (verdict && i == want.n && i != l.recs.n)
		verdict = 0;
	if (!verdict) {
		sw_buf_append_str(why, why->len ? "; records " : "records ");
		sw__cf_items_describe(why, &l.recs);
	}
	rc = verdict;
out:
	sw_pack_dec_del(d);
	sw__cf_items_free(&want);
	sw__cf_items_free(&l.recs);
	sw_buf_fini(&l.cur);
	return rc;
}

/* ---- lines, starts ------------------------------------------------------- */

static int cmp_item(const void *x, const void *y)
{
	const sw__cf_item *a = x, *b = y;
	size_t n = a->n < b->n ? a->n : b->n;
	int c = n ? memcmp(a->p, b->p, n) : 0;
	return c ? c : (a->n > b->n) - (a->n < b->n);
}

int sw__cf_lines_match(const sw_cf_atom *a, const sw_cf_ctx *ctx, const sw_buf *body, sw_buf *why)
{
	sw__cf_items want = {0}, got = {0};
	sw_errinfo ei;
	int rc = sw__cf_eval_args(a->lines, a->nlines, ctx, &want, &ei);
	size_t s = 0;
	for (size_t i = 0; rc == 0 && i <= body->len; i++)
		if (i == body->len || body->data[i] == '\n') {
			if (i < body->len || i > s)
				rc = sw__cf_items_push(&got, body->data + s, i - s, 0);
			s = i + 1;
		}
	int verdict = 0;
	if (rc == 0) {
		if (want.n)
			qsort(want.v, want.n, sizeof *want.v, cmp_item);
		if (got.n)
			qsort(got.v, got.n, sizeof *got.v, cmp_item);
		verdict = want.n == got.n;
		for (size_t i = 0; verdict && i < want.n; i++)
			verdict = cmp_item(&want.v[i], &got.v[i]) == 0;
		if (!verdict) {
			sw_buf_append_str(why, "sorted ");
			sw__cf_items_describe(why, &got);
		}
	} else if (rc != SW_ERR_NOMEM) {
		sw__cf_appendf(why, "cannot evaluate the lines: %s", ei.text);
		rc = 0;
	}
	sw__cf_items_free(&want);
	sw__cf_items_free(&got);
	return rc < 0 ? rc : verdict;
}

int sw__cf_starts_match(const sw_cf_atom *a, const sw_cf_ctx *ctx, const sw_buf *body)
{
	sw_buf want;
	sw_buf_init(&want, NULL);
	int rc = sw_cf_eval(a->starts, ctx, &want, NULL);
	if (rc == 0)
		rc = body->len >= want.len &&
		     (want.len == 0 || memcmp(body->data, want.data, want.len) == 0);
	else if (rc != SW_ERR_NOMEM)
		rc = 0;
	sw_buf_fini(&want);
	return rc;
}
