/*
 * One direction of a connection as a sequence of messages (flow.h).
 *
 * The undecoded bytes live in one buffer starting at stream offset
 * `buf_off`; `marks` remembers at which offset each received piece began
 * and when it was captured, so a message's first and last byte get their
 * capture times however the bytes were segmented.
 */
#include <stdint.h>
#include <string.h>

#include "capture/flow.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"

struct mark {
	uint64_t off;
	int64_t ts;
};

enum state { DECODING, SEARCHING };

struct sw_flow {
	sw_dis_kind kind;
	size_t max_message;
	sw_flow_callbacks cb;
	void *ud;
	const sw_mem *mem;
	int err;
	bool ended;
	sw_buf buf;       /* bytes not decoded (or not searched) yet */
	uint64_t buf_off; /* stream offset of buf.data[0] */
	size_t tried_len; /* buf.len when the last attempt needed more */
	struct mark *marks;
	size_t nmarks, capmarks;
	enum state state;
	uint64_t skip_from; /* SEARCHING: where the skipped bytes began */
	sw_skip_why skip_why;
	bool after_skip; /* the next message follows skipped bytes */
	unsigned next_index;
};

/* The markers that start a message in this direction. */
static const char *marker(sw_dis_kind kind, int i, size_t *len)
{
	if (i == 0) {
		*len = SW_V3_MARKER_LEN;
		return SW_V3_MARKER;
	}
	*len = kind == SW_DIS_REQUEST ? SW_V2_REQUEST_MARKER_LEN : SW_V2_RESPONSE_MARKER_LEN;
	return kind == SW_DIS_REQUEST ? SW_V2_REQUEST_MARKER : SW_V2_RESPONSE_MARKER;
}

/* The first marker in p[from..n): the offset of a whole one, or of the
 * proper prefix of one that the end of p cuts (*cut set), or n.  Whether
 * a marker is there must not depend on how the bytes were segmented, so a
 * cut one is decided only when more bytes come (or never: see search). */
static size_t find_marker(sw_dis_kind kind, const uint8_t *p, size_t from, size_t n, bool *cut)
{
	*cut = false;
	for (size_t i = from; i < n; i++) {
		if (p[i] != 'b')
			continue;
		for (int k = 0; k < 2; k++) {
			size_t ml;
			const char *mk = marker(kind, k, &ml);
			size_t have = n - i < ml ? n - i : ml;
			if (memcmp(p + i, mk, have) == 0) {
				*cut = have < ml;
				return i;
			}
		}
	}
	return n;
}

static int fail(sw_flow *f, int rc)
{
	if (rc && !f->err)
		f->err = rc;
	return f->err;
}

static int64_t ts_at(const sw_flow *f, uint64_t off)
{
	int64_t ts = 0;
	for (size_t i = 0; i < f->nmarks && f->marks[i].off <= off; i++)
		ts = f->marks[i].ts;
	return ts;
}

/* Drops the first n buffered bytes and the marks no longer needed. */
static void consume(sw_flow *f, size_t n)
{
	sw_buf_consume(&f->buf, n);
	f->buf_off += n;
	size_t keep = 0;
	while (keep + 1 < f->nmarks && f->marks[keep + 1].off <= f->buf_off)
		keep++;
	if (keep) {
		memmove(f->marks, f->marks + keep, (f->nmarks - keep) * sizeof *f->marks);
		f->nmarks -= keep;
	}
	f->tried_len = 0;
}

static int skip_note(sw_flow *f, uint64_t upto, bool at_end)
{
	uint64_t from = f->skip_from;
	f->skip_from = upto;
	if (upto <= from)
		return 0;
	if (f->cb.on_skip)
		return fail(f,
		            f->cb.on_skip(f->ud, f->kind, from, upto - from, f->skip_why, at_end));
	return 0;
}

static void start_search(sw_flow *f, uint64_t from, sw_skip_why why)
{
	f->state = SEARCHING;
	f->skip_from = from;
	f->skip_why = why;
}

/* SEARCHING: looks for a marker in the buffer; keeps a possible partial
 * marker at the end. */
static int search(sw_flow *f, bool final)
{
	bool cut;
	size_t at = find_marker(f->kind, f->buf.data, 0, f->buf.len, &cut);
	if (at == f->buf.len || cut) {
		/* No marker yet: drop what cannot start one; keep a cut marker
		 * until more bytes decide it (at the end, nothing will). */
		size_t keep = cut && !final ? f->buf.len - at : 0;
		if (f->buf.len - keep)
			consume(f, f->buf.len - keep);
		return 0;
	}
	consume(f, at);
	int rc = skip_note(f, f->buf_off, false);
	f->state = DECODING;
	f->after_skip = true;
	return rc;
}

static sw_flow_msg *new_msg(sw_flow *f)
{
	sw_flow_msg *msg = sw_malloc(f->mem, sizeof *msg);
	if (!msg)
		return NULL;
	memset(msg, 0, sizeof *msg);
	msg->kind = f->kind;
	sw_dis_msg_init(&msg->m, f->mem, false);
	return msg;
}

void sw_flow_msg_del(sw_flow_msg *msg, const sw_mem *mem)
{
	if (!msg)
		return;
	sw_dis_msg_fini(&msg->m);
	sw_free(mem, msg);
}

static int emit(sw_flow *f, sw_flow_msg *msg, size_t pos, uint64_t len)
{
	msg->index = ++f->next_index;
	msg->offset = f->buf_off + pos;
	msg->length = len;
	msg->first_ts_ns = ts_at(f, msg->offset);
	msg->last_ts_ns = ts_at(f, msg->offset + (len ? len - 1 : 0));
	msg->after_skip = f->after_skip;
	f->after_skip = false;
	/* A digest of part of a body would look like a real one: only a
	 * complete message gets one. */
	if (msg->m.body && !msg->error)
		sw_sha256_hex(&msg->m.sha, msg->body_sha256);
	if (f->cb.on_msg)
		return fail(f, f->cb.on_msg(f->ud, msg));
	sw_flow_msg_del(msg, f->mem);
	return 0;
}

/* A framing error at buffer position pos + bad: the message ends at the
 * next marker after its start if one comes before the bad byte, else at
 * the bad byte, where the search starts. */
static int failed(sw_flow *f, sw_flow_msg *msg, size_t pos, size_t bad, int err, sw_skip_why why,
                  size_t *next)
{
	if (bad == 0)
		bad = 1; /* never: every decoder takes a byte before failing */
	/* Only a whole marker up to the bad byte counts: the bytes after it may
	 * not have arrived yet, and the result must not depend on that. */
	bool cut;
	size_t mk = find_marker(f->kind, f->buf.data, pos + 1, pos + bad + 1, &cut);
	msg->error = err;
	msg->error_offset = f->buf_off + pos + bad;
	if (mk <= pos + bad && !cut) {
		*next = mk;
		return emit(f, msg, pos, mk - pos);
	}
	*next = pos + bad;
	int rc = emit(f, msg, pos, bad);
	start_search(f, f->buf_off + pos + bad, why);
	return rc;
}

/* DECODING: decodes the complete messages at the front of the buffer.
 * `final`: no byte will follow (end of stream, or a gap). */
static int decode(sw_flow *f, bool final)
{
	size_t pos = 0;
	int rc = 0;
	while (rc == 0 && f->state == DECODING && pos < f->buf.len) {
		sw_flow_msg *msg = new_msg(f);
		if (!msg)
			return fail(f, SW_ERR_NOMEM);
		const uint8_t *in = f->buf.data + pos;
		size_t avail = f->buf.len - pos;
		ptrdiff_t r =
		    sw_dis_decode(f->kind, in, avail, &msg->m, &msg->version, false, f->mem);
		bool wait = !final && (r == SW_ERR_UNEXPECTED_EOF || (r > 0 && msg->m.uncertain));
		/* A message that needs more than max_message bytes is too large,
		 * whether it came whole or in pieces (the verdict must not depend
		 * on the segmentation). */
		bool large = r > 0 && !wait ? (size_t)r > f->max_message : avail > f->max_message;
		if (large && r < 0 && r != SW_ERR_UNEXPECTED_EOF && r != SW_ERR_NOMEM) {
			ptrdiff_t bad =
			    sw_dis_error_offset(f->kind, in, avail, &msg->version, f->mem);
			if (bad < 0) {
				sw_flow_msg_del(msg, f->mem);
				return fail(f, (int)bad);
			}
			large = (size_t)bad > f->max_message;
		}
		if (large && r != SW_ERR_NOMEM) {
			/* Too large to hold: give up on this message. */
			size_t next;
			rc = failed(f, msg, pos, f->max_message, SW_ERR_MESSAGE_TOO_LARGE,
			            SW_SKIP_LIMIT, &next);
			pos = next;
			continue;
		}
		if (wait || r == SW_ERR_NOMEM) {
			sw_flow_msg_del(msg, f->mem);
			if (r == SW_ERR_NOMEM)
				return fail(f, SW_ERR_NOMEM);
			break;
		}
		if (r > 0 && msg->m.marker_only)
			r = SW_ERR_UNEXPECTED_EOF; /* the stream ended right after a marker */
		if (r > 0) {
			rc = emit(f, msg, pos, (uint64_t)r);
			pos += (size_t)r;
		} else if (r == SW_ERR_UNEXPECTED_EOF) {
			msg->error = (int)r;
			msg->error_offset = f->buf_off + f->buf.len;
			msg->truncated = true;
			rc = emit(f, msg, pos, avail);
			pos = f->buf.len;
		} else {
			ptrdiff_t bad =
			    sw_dis_error_offset(f->kind, in, avail, &msg->version, f->mem);
			if (bad < 0) {
				sw_flow_msg_del(msg, f->mem);
				return fail(f, (int)bad);
			}
			size_t next;
			rc = failed(f, msg, pos, (size_t)bad, (int)r, SW_SKIP_ERROR, &next);
			pos = next;
		}
	}
	if (pos)
		consume(f, pos);
	f->tried_len = f->buf.len;
	return rc;
}

static int run(sw_flow *f, bool final)
{
	int rc = 0;
	/* A search can hand over to decoding and an error back to searching. */
	for (int guard = 0; rc == 0 && f->buf.len; guard++) {
		enum state before = f->state;
		uint64_t at = f->buf_off;
		size_t len = f->buf.len;
		rc = f->state == SEARCHING ? search(f, final) : decode(f, final);
		if (f->state == before && f->buf_off == at && f->buf.len == len)
			break; /* no progress: wait for more bytes */
	}
	return rc;
}

int sw_flow_data(sw_flow *f, uint64_t off, const uint8_t *p, size_t n, int64_t ts_ns)
{
	if (f->err)
		return f->err;
	if (f->ended || off != f->buf_off + f->buf.len)
		return SW_ERR_INVALID_ARGUMENT;
	if (n == 0)
		return 0;
	if (f->nmarks == f->capmarks) {
		size_t cap = f->capmarks ? f->capmarks * 2 : 8;
		struct mark *m = sw_realloc(f->mem, f->marks, cap * sizeof *m);
		if (!m)
			return fail(f, SW_ERR_NOMEM);
		f->marks = m;
		f->capmarks = cap;
	}
	if (sw_buf_append(&f->buf, p, n) < 0)
		return fail(f, SW_ERR_NOMEM);
	if (f->nmarks == 0 || f->marks[f->nmarks - 1].ts != ts_ns)
		f->marks[f->nmarks++] = (struct mark){off, ts_ns};
	/* Retry when the buffer doubled, and as soon as it passes the limit
	 * (so that no more than max_message and one piece is ever held). */
	if (f->state == DECODING && f->tried_len && f->buf.len < 2 * f->tried_len &&
	    !(f->buf.len > f->max_message && f->tried_len <= f->max_message))
		return 0;
	return run(f, false);
}

/* Decodes what is buffered for good and drops it; while searching, the
 * bytes passed over are reported (`at_end`: the stream is over). */
static int flush(sw_flow *f, bool at_end)
{
	int rc = run(f, true);
	if (rc == 0 && f->state == SEARCHING) {
		consume(f, f->buf.len);
		rc = skip_note(f, f->buf_off, at_end);
	}
	return rc;
}

int sw_flow_gap(sw_flow *f, uint64_t off, uint64_t len)
{
	if (f->err)
		return f->err;
	if (f->ended || off != f->buf_off + f->buf.len)
		return SW_ERR_INVALID_ARGUMENT;
	int rc = flush(f, false);
	if (rc)
		return rc;
	f->buf_off += len;
	f->nmarks = 0;
	f->tried_len = 0;
	start_search(f, f->buf_off, SW_SKIP_GAP);
	return 0;
}

int sw_flow_end(sw_flow *f)
{
	if (f->err)
		return f->err;
	if (f->ended)
		return 0;
	/* Ended only once every buffered message was handed out: the pairing
	 * must not take "ended" for "no more messages" before that. */
	int rc = flush(f, true);
	f->ended = true;
	return rc;
}

int sw_flow_poke(sw_flow *f)
{
	if (f->err)
		return f->err;
	if (f->ended || f->buf.len <= f->tried_len)
		return 0;
	return run(f, false);
}

int64_t sw_flow_pending_ts(const sw_flow *f)
{
	return f->buf.len ? ts_at(f, f->buf_off) : INT64_MAX;
}

bool sw_flow_lost(const sw_flow *f)
{
	return f->state == SEARCHING || f->after_skip;
}

bool sw_flow_ended(const sw_flow *f)
{
	return f->ended;
}

int sw_flow_new(sw_flow **out, sw_dis_kind kind, bool lost, size_t max_message,
                const sw_flow_callbacks *cb, void *ud, const sw_mem *mem)
{
	*out = NULL;
	sw_flow *f = sw_malloc(mem, sizeof *f);
	if (!f)
		return SW_ERR_NOMEM;
	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->max_message = max_message ? max_message : SW_FLOW_DEFAULT_MAX_MESSAGE;
	if (cb)
		f->cb = *cb;
	f->ud = ud;
	f->mem = mem;
	sw_buf_init(&f->buf, mem);
	if (lost)
		start_search(f, 0, SW_SKIP_START);
	*out = f;
	return 0;
}

void sw_flow_del(sw_flow *f)
{
	if (!f)
		return;
	sw_buf_fini(&f->buf);
	sw_free(f->mem, f->marks);
	sw_free(f->mem, f);
}

const char *sw_skip_why_name(sw_skip_why w)
{
	switch (w) {
	case SW_SKIP_START: return "start";
	case SW_SKIP_GAP: return "gap";
	case SW_SKIP_ERROR: return "error";
	case SW_SKIP_LIMIT: return "limit";
	}
	return "?";
}
