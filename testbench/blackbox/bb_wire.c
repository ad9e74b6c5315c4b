/*
 * The fuzzer's view of the wire: where a request or a response ends in a
 * byte stream, decided by the reference decoders (detect.h, v12.h, v3.h)
 * exactly as a server or a client would read it.  Used to split corpus
 * sessions into requests, to tell a complete (mutated) request from a
 * prefix (only a complete request must be answered: the hang oracle), and
 * to check that every answer decodes (the malformed-answer oracle).
 */
#include <stdlib.h>
#include <string.h>

#include "blackbox/blackbox.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"
#include "smartwire/verbs.h"

const char *sw_bb_answer_name(sw_bb_answer a)
{
	static const char *const n[SW_BB_NANS] = {"success", "error", "unknown",
	                                          "close",   "none",  "bad"};
	return a < SW_BB_NANS ? n[a] : "?";
}

/* ---- requests -------------------------------------------------------------- */

typedef struct rq {
	sw_bb_req *r;
	bool have_args;
	bool after_body; /* a bytes part was seen (an 'o' byte then is an abort) */
	int nparts;
	sw_v12_dec *v12;
	sw_buf body;
} rq;

static int keep_args(rq *q, const sw_slice *a, size_t n)
{
	if (q->have_args || !q->r)
		return 0;
	q->have_args = true;
	for (size_t i = 0; i < n && i < SW_BB_MAX_ARGS; i++) {
		q->r->arg[i] = malloc(a[i].n + 1);
		if (!q->r->arg[i])
			return -1;
		if (a[i].n)
			memcpy(q->r->arg[i], a[i].p, a[i].n);
		q->r->argn[i] = a[i].n;
		q->r->argcap[i] = -1;
		q->r->nargs = i + 1;
	}
	return 0;
}

static int v12_args(void *ud, const sw_slice *a, size_t n)
{
	rq *q = ud;
	const sw_verb_info *vi = n ? sw_verb_lookup(a[0].p, a[0].n) : NULL;
	if (vi && vi->body == SW_VERB_BODY_WHOLE)
		sw_v12_dec_expect_body(q->v12, SW_BODY_PREFIXED);
	return keep_args(q, a, n);
}

static int on_body(void *ud, const uint8_t *p, size_t n)
{
	rq *q = ud;
	return sw_buf_append(&q->body, p, n) < 0 ? -1 : 0;
}

static int v12_body_begin(void *ud, uint64_t len)
{
	(void)len;
	((rq *)ud)->nparts = 1;
	return 0;
}

static int v3_structure(void *ud, const sw_bval *v)
{
	rq *q = ud;
	if (q->have_args || v->type != SW_BLIST)
		return 0;
	sw_slice a[SW_BB_MAX_ARGS];
	size_t n = 0;
	for (size_t i = 0; i < v->u.list.n && n < SW_BB_MAX_ARGS; i++) {
		if (v->u.list.items[i].type != SW_BSTR)
			return 0; /* not a plain tuple: kept raw by the caller */
		a[n++] = v->u.list.items[i].u.str;
	}
	return keep_args(q, a, n);
}

static int v3_bytes_begin(void *ud, uint32_t total)
{
	(void)total;
	rq *q = ud;
	q->nparts++;
	q->after_body = true;
	return 0;
}

static int v3_byte(void *ud, uint8_t b)
{
	rq *q = ud;
	if (q->after_body && b == 'E' && q->r)
		q->r->abort = true;
	return 0;
}

static void req_clear(sw_bb_req *r)
{
	for (size_t i = 0; i < r->nargs; i++)
		free(r->arg[i]);
	free(r->body);
	memset(r, 0, sizeof *r);
}

sw_bb_cut sw_bb_cut_request(const uint8_t *p, size_t n, bool eof, size_t *len, sw_bb_req *r)
{
	*len = 0;
	if (r)
		memset(r, 0, sizeof *r);
	sw_detect d;
	sw_detect_init(&d);
	size_t off = sw_detect_feed(&d, p, n);
	if (sw_detect_version(&d) == SW_VERSION_NONE) {
		if (!eof || n == 0)
			return SW_BB_NEED;
		sw_detect_finish(&d);
	}
	int ver = (int)sw_detect_version(&d);
	rq q = {.r = r};
	sw_buf_init(&q.body, NULL);
	sw_bb_cut res = SW_BB_NEED;
	size_t used = off;
	if (ver == 3) {
		sw_v3_callbacks cb = {.on_structure = v3_structure,
		                      .on_byte = v3_byte,
		                      .on_bytes_begin = v3_bytes_begin,
		                      .on_bytes = on_body};
		sw_v3_dec *dec;
		if (sw_v3_dec_new(&dec, NULL, &cb, &q, NULL) < 0)
			return SW_BB_NEED;
		ptrdiff_t k = sw_v3_dec_feed(dec, p + off, n - off);
		if (k >= 0)
			used += (size_t)k;
		if (k >= 0 && sw_v3_dec_done(dec))
			res = SW_BB_DONE;
		else if (k < 0 || (eof && sw_v3_dec_finish(dec) < 0))
			res = SW_BB_BAD;
		sw_v3_dec_del(dec);
	} else {
		sw_v12_callbacks cb = {
		    .on_args = v12_args, .on_body = on_body, .on_body_begin = v12_body_begin};
		if (sw_v12_dec_new(&q.v12, SW_V12_REQUEST, ver, NULL, &cb, &q, NULL) < 0)
			return SW_BB_NEED;
		ptrdiff_t k = 0;
		sw_slice pend = sw_detect_pending(&d);
		if (ver == 1 && pend.n)
			k = sw_v12_dec_feed(q.v12, pend.p, pend.n);
		if (k >= 0 && !sw_v12_dec_done(q.v12)) {
			k = sw_v12_dec_feed(q.v12, p + off, n - off);
			if (k >= 0)
				used += (size_t)k;
		}
		if (k >= 0 && sw_v12_dec_done(q.v12))
			res = SW_BB_DONE;
		else if (k < 0 || (eof && sw_v12_dec_finish(q.v12) < 0))
			res = SW_BB_BAD;
		sw_v12_dec_del(q.v12);
	}
	*len = used;
	if (r) {
		r->version = ver;
		if (res != SW_BB_DONE || !q.have_args) {
			req_clear(r);
			r->version = ver;
		} else if (q.nparts || q.body.len) {
			r->has_body = true;
			r->nparts = (uint8_t)(q.nparts > 1 ? (q.nparts > 8 ? 8 : q.nparts) : 1);
			r->body = malloc(q.body.len + 1);
			if (r->body) {
				if (q.body.len)
					memcpy(r->body, q.body.data, q.body.len);
				r->nbody = q.body.len;
			} else
				r->has_body = false;
		}
		r->capture_slot = -1;
	}
	sw_buf_fini(&q.body);
	return res;
}

/* ---- responses ------------------------------------------------------------- */

typedef struct rs {
	char *args;
	size_t cap;
	int want;
	sw_buf *wanted;
	bool have_args;
	int status; /* v3: 'S' / 'E' / 0 */
	char first[64];
	char second[128];
} rs;

static void keep_text(rs *s, const sw_slice *a, size_t n)
{
	if (s->have_args)
		return;
	s->have_args = true;
	size_t o = 0;
	for (size_t i = 0; i < n && s->args && o + 2 < s->cap; i++) {
		if (i)
			s->args[o++] = '|';
		for (size_t j = 0; j < a[i].n && o + 1 < s->cap; j++) {
			uint8_t c = a[i].p[j];
			s->args[o++] = c >= 0x20 && c < 0x7f && c != '|' ? (char)c : '.';
		}
	}
	if (s->args && s->cap)
		s->args[o < s->cap ? o : s->cap - 1] = 0;
	if (n)
		snprintf(s->first, sizeof s->first, "%.*s", (int)(a[0].n > 63 ? 63 : a[0].n),
		         (const char *)a[0].p);
	if (n > 1)
		snprintf(s->second, sizeof s->second, "%.*s", (int)(a[1].n > 127 ? 127 : a[1].n),
		         (const char *)a[1].p);
	if (s->wanted && s->want >= 0 && (size_t)s->want < n)
		sw_buf_append(s->wanted, a[s->want].p, a[s->want].n);
}

static int rs_v12_args(void *ud, const sw_slice *a, size_t n)
{
	keep_text(ud, a, n);
	return 0;
}

static int rs_v3_structure(void *ud, const sw_bval *v)
{
	rs *s = ud;
	if (s->have_args)
		return 0;
	sw_slice a[16];
	size_t n = 0;
	if (v->type == SW_BLIST) {
		for (size_t i = 0; i < v->u.list.n && n < 16; i++) {
			if (v->u.list.items[i].type == SW_BSTR)
				a[n++] = v->u.list.items[i].u.str;
			else
				a[n++] = (sw_slice){(const uint8_t *)"<ben>", 5};
		}
	}
	keep_text(s, a, n);
	return 0;
}

static int rs_v3_byte(void *ud, uint8_t b)
{
	rs *s = ud;
	if (!s->status)
		s->status = b;
	return 0;
}

/* v1/v2 verbs whose success answer carries a body (Breezy's handlers that
 * return SuccessfulSmartServerResponse(..., body=...)). */
static bool body_verb(const char *verb)
{
	static const char *const v[] = {"get",
	                                "readv",
	                                "get_bundle",
	                                "Repository.tarball",
	                                "Repository.get_revision_graph",
	                                "Repository.get_parent_map",
	                                "Branch.get_config_file",
	                                "BzrDir.get_config_file",
	                                "Repository.get_stream",
	                                "Repository.iter_files_bytes",
	                                "Repository.get_inventories",
	                                "Repository.revision_archive",
	                                "Repository.get_rev_id_for_revno",
	                                "Branch.get_tags_bytes",
	                                "Repository.all_revision_ids",
	                                "Repository.iter_revisions",
	                                "Repository.get_revision_signature_text",
	                                "Repository.annotate_file_revision",
	                                "Repository.get_serializer_format"};
	for (size_t i = 0; verb && i < sizeof v / sizeof v[0]; i++)
		if (strcmp(verb, v[i]) == 0)
			return true;
	return false;
}

sw_bb_cut sw_bb_cut_response(const uint8_t *p, size_t n, int version, const char *verb, bool more,
                             size_t *len, sw_bb_answer *cls, char *args, size_t cap, int want,
                             sw_buf *wanted)
{
	*len = 0;
	*cls = SW_BB_ANS_BAD;
	if (args && cap)
		args[0] = 0;
	rs s = {.args = args, .cap = cap, .want = want, .wanted = wanted};
	sw_bb_cut res = SW_BB_NEED;
	if (n == 0)
		return SW_BB_NEED;
	if (version == 3) {
		sw_v3_config cfg = {.expect_marker = true};
		sw_v3_callbacks cb = {.on_structure = rs_v3_structure, .on_byte = rs_v3_byte};
		sw_v3_dec *dec;
		if (sw_v3_dec_new(&dec, &cfg, &cb, &s, NULL) < 0)
			return SW_BB_NEED;
		ptrdiff_t k = sw_v3_dec_feed(dec, p, n);
		if (k < 0)
			res = SW_BB_BAD;
		else {
			*len = (size_t)k;
			if (sw_v3_dec_done(dec))
				res = s.status == 'S' || s.status == 'E' ? SW_BB_DONE : SW_BB_BAD;
			else if (!more)
				res = SW_BB_BAD;
		}
		sw_v3_dec_del(dec);
		if (res == SW_BB_DONE)
			*cls = s.status == 'S'                         ? SW_BB_ANS_SUCCESS
			       : strcmp(s.first, "UnknownMethod") == 0 ? SW_BB_ANS_UNKNOWN
			                                               : SW_BB_ANS_ERROR;
		return res;
	}
	sw_v12_config cfg = {0};
	sw_v12_callbacks cb = {.on_args = rs_v12_args};
	sw_v12_dec *dec;
	if (sw_v12_dec_new(&dec, SW_V12_RESPONSE, version == 2 ? 2 : 1, &cfg, &cb, &s, NULL) < 0)
		return SW_BB_NEED;
	sw_v12_dec_expect_body(dec, SW_BODY_DEFERRED);
	ptrdiff_t k = sw_v12_dec_feed(dec, p, n);
	size_t used = k > 0 ? (size_t)k : 0;
	if (k >= 0 && s.have_args && !sw_v12_dec_done(dec)) {
		/* After the tuple line: a body, decided on what follows. */
		const uint8_t *q = p + used;
		size_t m = n - used;
		sw_body_mode mode = SW_BODY_NONE;
		bool undecided = false;
		if (m && version == 2 && m >= 8 && memcmp(q, "chunked\n", 8) == 0)
			mode = SW_BODY_CHUNKED;
		else if (m && version == 2 && m < 8 && memcmp(q, "chunked\n", m) == 0)
			undecided = more;
		else if (m && q[0] >= '0' && q[0] <= '9') {
			size_t i = 0;
			while (i < m && q[i] >= '0' && q[i] <= '9')
				i++;
			if (i < m && q[i] == '\n')
				mode = SW_BODY_PREFIXED;
			else if (i == m)
				undecided = more;
		} else if (!m && more && body_verb(verb) &&
		           (strcmp(s.first, "ok") == 0 || strcmp(s.first, "readv") == 0) &&
		           (version == 1 || sw_v12_dec_status(dec) == 1))
			undecided = true; /* a success that may carry a body: wait for it */
		if (undecided) {
			sw_v12_dec_del(dec);
			return SW_BB_NEED;
		}
		if (sw_v12_dec_expect_body(dec, mode) < 0)
			k = -1;
		else if (mode != SW_BODY_NONE) {
			ptrdiff_t b = sw_v12_dec_feed(dec, q, m);
			if (b < 0)
				k = b;
			else
				used += (size_t)b;
		}
	}
	*len = used;
	if (k < 0)
		res = SW_BB_BAD;
	else if (sw_v12_dec_done(dec))
		res = SW_BB_DONE;
	else if (!more)
		res = SW_BB_BAD;
	if (res == SW_BB_DONE) {
		int st = version == 2 ? sw_v12_dec_status(dec) : 1;
		if (strcmp(s.first, "error") == 0 &&
		    strncmp(s.second, "Generic bzr smart protocol error: bad request", 45) == 0)
			*cls = SW_BB_ANS_UNKNOWN;
		else if (st == 0 || strcmp(s.first, "error") == 0)
			*cls = SW_BB_ANS_ERROR;
		else
			*cls = SW_BB_ANS_SUCCESS;
	}
	sw_v12_dec_del(dec);
	return res;
}
