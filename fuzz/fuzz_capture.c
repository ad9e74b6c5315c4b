/*
 * Fuzz target: packet captures to conversations, testbench/capture/ (the
 * reassembler reasm.h, the flows flow.h, the pairing convo.h and the report
 * writer), fed synthetic packets.
 *
 * The protocol bytes (input minus the fdp.h trailer) are a script of
 * packets.  Segment mode (variant bit 0 clear), one record per segment:
 *
 *   byte 0      bits 0-1 connection (client port 40000 + n), bit 2 direction
 *               (0 client to server), bits 3-7 flags SYN ACK FIN RST PSH
 *   bytes 1-2   sequence number: signed little-endian offset from the next
 *               byte this direction has sent so far (so 0 continues the
 *               stream, negative retransmits, positive leaves a hole)
 *   byte 3      acknowledgement: signed offset from the other direction's
 *               next byte
 *   byte 4      payload length n, then n payload bytes (fewer at the end)
 *
 * Frame mode (variant bit 0 set): records of a 2-byte little-endian length
 * and that many bytes of a frame, handed to sw_reasm_frame() with link type
 * (variant >> 4) & 7 (sw_link).  Other variant bits: bit 1 small limits
 * (max_held 256, max_connections 2, max_message 128), bit 2 JSON report
 * (else text), bit 3 initial sequence numbers just below 2^32.  The chunk
 * sizes of the trailer resegment the script (below); the fault plan fails
 * one allocation.
 *
 * Checks:
 *   - the reassembler's events: on_open first, offsets of on_data/on_gap
 *     contiguous from 0 in each direction, nothing after a direction's
 *     on_end, on_close after both on_end, ids increasing;
 *   - the conversations: exchange indexes 1, 2, ... per connection, a
 *     paired request starts no later than its answer, every message lies
 *     within the bytes its direction delivered;
 *   - segmentation does not matter: in segment mode with default limits,
 *     every data segment cut again into pieces of the trailer's chunk sizes
 *     (same bytes, same times; SYN on the first piece, FIN and RST on the
 *     last) gives the same conversations, gaps and skipped bytes;
 *   - allocation failures: the run fails with SW_ERR_NOMEM (or gives the
 *     fault-free result) and leaks nothing.
 * The report goes to an in-memory stream (exercised, not compared).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/convo.h"
#include "capture/packet.h"
#include "capture/reasm.h"
#include "capture/report.h"
#include "fdp.h"
#include "smartwire/error.h"

#define V_FRAMES 1
#define V_LIMITS 2
#define V_JSON 4
#define V_WRAP 8

struct half_check {
	uint64_t next;
	bool ended;
};

/* What one connection showed, kept apart by kind: resegmenting may change
 * when a message is decoded (and so how exchanges, gaps and skips of
 * different connections interleave), never what they are. */
enum { T_EXCHANGES, T_GAPS, T_SKIPS, T_CLOSE, T_KINDS };

struct conn_check {
	bool open, closed;
	struct half_check h[2];
	unsigned exchanges;
	sw_buf lines[T_KINDS]; /* libc-backed */
};

struct ctx {
	sw_convo *cv;
	sw_reasm_callbacks to_convo;
	sw_convo_sink report;
	void *report_ud;
	struct conn_check *conns; /* by id, libc-backed */
	size_t nconns;
	unsigned last_id;
};

static struct conn_check *conn(struct ctx *x, unsigned id)
{
	if (id >= x->nconns) {
		size_t n = id + 16;
		struct conn_check *v = realloc(x->conns, n * sizeof *v);
		if (!v)
			abort();
		memset(v + x->nconns, 0, (n - x->nconns) * sizeof *v);
		for (size_t i = x->nconns; i < n; i++)
			for (int k = 0; k < T_KINDS; k++)
				sw_buf_init(&v[i].lines[k], NULL);
		x->conns = v;
		x->nconns = n;
	}
	return &x->conns[id];
}

static void trace(struct ctx *x, unsigned id, int kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void trace(struct ctx *x, unsigned id, int kind, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	sw_fuzz_puts(&conn(x, id)->lines[kind], line);
}

/* ---- the reassembler's events, checked, then passed on ---- */

static int c_open(void *ud, sw_tcp_conn *c)
{
	struct ctx *x = ud;
	if (c->id <= x->last_id)
		sw_fuzz_fail("capture: connection id %u after %u\n", c->id, x->last_id);
	x->last_id = c->id;
	conn(x, c->id)->open = true;
	return x->to_convo.on_open(x->cv, c);
}

static void stream_event(struct ctx *x, sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t n,
                         const char *what)
{
	struct conn_check *k = conn(x, c->id);
	if (!k->open || k->closed || k->h[d].ended)
		sw_fuzz_fail("capture: %s on connection %u %s outside its life\n", what, c->id,
		             sw_dir_name(d));
	if (off != k->h[d].next || n == 0)
		sw_fuzz_fail("capture: %s at %llu+%llu, expected offset %llu\n", what,
		             (unsigned long long)off, (unsigned long long)n,
		             (unsigned long long)k->h[d].next);
	k->h[d].next += n;
}

static int c_data(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, const uint8_t *p, size_t n,
                  int64_t ts)
{
	struct ctx *x = ud;
	stream_event(x, c, d, off, n, "data");
	return x->to_convo.on_data(x->cv, c, d, off, p, n, ts);
}

static int c_gap(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len, sw_gap_cause why,
                 int64_t ts)
{
	struct ctx *x = ud;
	stream_event(x, c, d, off, len, "gap");
	return x->to_convo.on_gap(x->cv, c, d, off, len, why, ts);
}

static int c_end(void *ud, sw_tcp_conn *c, sw_dir d, sw_end_how how, int64_t ts)
{
	struct ctx *x = ud;
	struct conn_check *k = conn(x, c->id);
	if (k->h[d].ended)
		sw_fuzz_fail("capture: connection %u %s ended twice\n", c->id, sw_dir_name(d));
	k->h[d].ended = true;
	return x->to_convo.on_end(x->cv, c, d, how, ts);
}

static int c_close(void *ud, sw_tcp_conn *c)
{
	struct ctx *x = ud;
	struct conn_check *k = conn(x, c->id);
	if (!k->h[0].ended || !k->h[1].ended || k->closed)
		sw_fuzz_fail("capture: connection %u closed before both directions ended\n", c->id);
	k->closed = true;
	return x->to_convo.on_close(x->cv, c);
}

static int c_limit(void *ud, sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg)
{
	struct ctx *x = ud;
	return x->to_convo.on_limit(x->cv, c, what, seg);
}

/* ---- the conversations, checked, traced, then reported ---- */

static void check_msg(struct ctx *x, const sw_tcp_conn *c, sw_dir d, const sw_flow_msg *m)
{
	sw_buf *b = &conn(x, c->id)->lines[T_EXCHANGES];
	if (m && m->offset + m->length > conn(x, c->id)->h[d].next)
		sw_fuzz_fail("capture: message at %llu+%llu beyond the %llu bytes delivered\n",
		             (unsigned long long)m->offset, (unsigned long long)m->length,
		             (unsigned long long)conn(x, c->id)->h[d].next);
	if (!m) {
		sw_fuzz_puts(b, " -");
		return;
	}
	trace(x, c->id, T_EXCHANGES, " v%d@%llu+%llu t%lld", m->version,
	      (unsigned long long)m->offset, (unsigned long long)m->length,
	      (long long)m->first_ts_ns);
	if (m->m.args.len)
		sw_fuzz_put_bytes(b, " args", m->m.args.data, m->m.args.len);
	if (m->body_sha256[0])
		trace(x, c->id, T_EXCHANGES, " body %llu %s", (unsigned long long)m->m.body_len,
		      m->body_sha256);
	if (m->error)
		trace(x, c->id, T_EXCHANGES, " %s@%llu", sw_errname(m->error),
		      (unsigned long long)m->error_offset);
}

static int s_open(void *ud, const sw_tcp_conn *c)
{
	struct ctx *x = ud;
	trace(x, c->id, T_CLOSE, "open %u%s\n", c->id, c->partial ? " partial" : "");
	return x->report.on_open(x->report_ud, c);
}

static int s_exchange(void *ud, const sw_tcp_conn *c, const sw_exchange *e)
{
	struct ctx *x = ud;
	struct conn_check *k = conn(x, c->id);
	if (e->index != ++k->exchanges)
		sw_fuzz_fail("capture: exchange %u of connection %u, expected %u\n", e->index,
		             c->id, k->exchanges);
	if (e->request && e->response && e->request->first_ts_ns > e->response->first_ts_ns)
		sw_fuzz_fail("capture: a request paired with an answer that started before it\n");
	if (!e->request && !e->response)
		sw_fuzz_fail("capture: an exchange with neither side\n");
	trace(x, c->id, T_EXCHANGES, "x %u.%u", c->id, e->index);
	check_msg(x, c, SW_C2S, e->request);
	check_msg(x, c, SW_S2C, e->response);
	trace(x, c->id, T_EXCHANGES, " %s\n", e->note ? sw_exchange_note_name(e->note) : "");
	return x->report.on_exchange(x->report_ud, c, e);
}

static int s_gap(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                 sw_gap_cause why, int64_t ts)
{
	struct ctx *x = ud;
	trace(x, c->id, T_GAPS, "gap %u %s %llu+%llu %s\n", c->id, sw_dir_name(d),
	      (unsigned long long)off, (unsigned long long)len, sw_gap_cause_name(why));
	return x->report.on_gap(x->report_ud, c, d, off, len, why, ts);
}

static int s_skip(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                  sw_skip_why why, bool at_end)
{
	struct ctx *x = ud;
	trace(x, c->id, T_SKIPS, "skip %u %s %llu+%llu %s%s\n", c->id, sw_dir_name(d),
	      (unsigned long long)off, (unsigned long long)len, sw_skip_why_name(why),
	      at_end ? " at-end" : "");
	return x->report.on_skip(x->report_ud, c, d, off, len, why, at_end);
}

static int s_close(void *ud, const sw_tcp_conn *c, const sw_convo_summary *s)
{
	struct ctx *x = ud;
	trace(x, c->id, T_CLOSE, "close %u %u %u/%u\n", c->id, s->exchanges, s->requests,
	      s->responses);
	return x->report.on_close(x->report_ud, c, s);
}

static int s_limit(void *ud, const sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg)
{
	struct ctx *x = ud;
	trace(x, c ? c->id : 0, T_CLOSE, "limit %d\n", (int)what);
	return x->report.on_limit(x->report_ud, c, what, seg);
}

/* ---- the script ---- */

struct script_half {
	uint32_t next;
};

static void feed_segment(sw_reasm *r, const sw_fuzz_ctl *ctl, bool resplit, size_t *piece,
                         const sw_tcp_seg *s, int *rc)
{
	if (!resplit || s->len == 0) {
		*rc = sw_reasm_segment(r, s);
		return;
	}
	/* The data of a SYN starts one sequence number after it. */
	uint32_t data_seq = s->seq + ((s->flags & SW_TCP_SYN) ? 1u : 0u);
	for (size_t done = 0; *rc == 0 && done < s->len;) {
		size_t n = sw_fuzz_chunk(ctl, (*piece)++);
		if (n > s->len - done)
			n = s->len - done;
		sw_tcp_seg t = *s;
		if (done > 0) {
			t.flags &= (uint8_t)~SW_TCP_SYN;
			t.seq = data_seq + (uint32_t)done;
		}
		if (done + n < s->len)
			t.flags &= (uint8_t) ~(SW_TCP_FIN | SW_TCP_RST);
		t.payload = s->payload + done;
		t.len = t.wire_len = n;
		*rc = sw_reasm_segment(r, &t);
		done += n;
	}
}

static int run(const sw_fuzz_ctl *ctl, bool resplit, const sw_mem *mem, sw_buf *out)
{
	struct ctx x;
	memset(&x, 0, sizeof x);
	x.to_convo = sw_convo_reasm_callbacks();
	x.report = sw_report_sink();
	char *text = NULL;
	size_t text_len = 0;
	FILE *f = open_memstream(&text, &text_len);
	if (!f)
		abort();
	sw_report rep;
	sw_report_init(&rep, f, (ctl->variant & V_JSON) != 0, false);
	x.report_ud = &rep;
	sw_reasm_config cfg = {0};
	size_t max_message = 0;
	if (ctl->variant & V_LIMITS) {
		cfg.max_held = 256;
		cfg.max_connections = 2;
		max_message = 128;
	}
	sw_convo_sink sink = {s_open, s_exchange, s_gap, s_skip, s_close, s_limit};
	sw_reasm_callbacks cb = {c_open, c_data, c_gap, c_end, c_close, c_limit};
	sw_reasm *r = NULL;
	int rc = sw_convo_new(&x.cv, max_message, &sink, &x, mem);
	if (rc == 0)
		rc = sw_reasm_new(&r, &cfg, &cb, &x, mem);
	const uint8_t *p = ctl->data, *end = ctl->data + ctl->len;
	struct script_half h[4][2];
	uint32_t isn = (ctl->variant & V_WRAP) ? 0xffffff00u : 1000u;
	for (int k = 0; k < 4; k++)
		for (int d = 0; d < 2; d++)
			h[k][d].next = isn + (uint32_t)(k * 64 + d * 32);
	int64_t ts = 0;
	size_t piece = 0;
	while (rc == 0 && p < end) {
		ts += 1000;
		if (ctl->variant & V_FRAMES) {
			size_t n = p[0] | (size_t)(end - p > 1 ? p[1] : 0) << 8;
			p += end - p > 1 ? 2 : 1;
			if (n > (size_t)(end - p))
				n = (size_t)(end - p);
			rc = sw_reasm_frame(r, (sw_link)((ctl->variant >> 4) & 7), ts, p, n);
			p += n;
			continue;
		}
		uint8_t hdr[5] = {0};
		for (int i = 0; i < 5 && p < end; i++)
			hdr[i] = *p++;
		int k = hdr[0] & 3, d = (hdr[0] >> 2) & 1;
		static const uint8_t bits[5] = {SW_TCP_SYN, SW_TCP_ACK, SW_TCP_FIN, SW_TCP_RST,
		                                SW_TCP_PSH};
		uint8_t flags = 0;
		for (int i = 0; i < 5; i++)
			if (hdr[0] & (8 << i))
				flags |= bits[i];
		size_t n = hdr[4] < (size_t)(end - p) ? hdr[4] : (size_t)(end - p);
		sw_tcp_seg s;
		memset(&s, 0, sizeof s);
		s.ts_ns = ts;
		s.family = 4;
		uint8_t cli[4] = {10, 0, 0, 1}, srv[4] = {10, 0, 0, 2};
		memcpy(s.src, d ? srv : cli, 4);
		memcpy(s.dst, d ? cli : srv, 4);
		s.sport = d ? 4155 : (uint16_t)(40000 + k);
		s.dport = d ? (uint16_t)(40000 + k) : 4155;
		s.seq = h[k][d].next + (uint32_t)(int16_t)(hdr[1] | hdr[2] << 8);
		s.ack = h[k][!d].next + (uint32_t)(int8_t)hdr[3];
		s.flags = flags;
		s.payload = n ? p : NULL;
		s.len = s.wire_len = n;
		p += n;
		uint32_t after = s.seq + (uint32_t)n + ((flags & SW_TCP_SYN) ? 1u : 0u);
		if ((int32_t)(after - h[k][d].next) > 0)
			h[k][d].next = after;
		feed_segment(r, ctl, resplit, &piece, &s, &rc);
	}
	if (rc == 0)
		rc = sw_reasm_finish(r);
	sw_reasm_del(r);
	sw_convo_del(x.cv);
	if (rc == 0)
		sw_report_end(&rep, "fuzz", NULL, -1);
	fclose(f);
	free(text);
	for (size_t i = 0; i < x.nconns; i++)
		for (int k = 0; k < T_KINDS; k++) {
			sw_buf *b = &x.conns[i].lines[k];
			if (b->len && sw_buf_append(out, b->data, b->len) < 0)
				abort();
			sw_buf_fini(b);
		}
	free(x.conns);
	if (rc != 0 && rc != SW_ERR_NOMEM)
		sw_fuzz_fail("capture: unexpected result %s\n", sw_errname(rc));
	if (rc)
		sw_fuzz_put_error(out, rc);
	return rc;
}

/* Empty buffers have no data pointer: memcmp must not see NULL. */
static bool same(const sw_buf *a, const sw_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	sw_buf a, b;
	sw_buf_init(&a, NULL);
	sw_buf_init(&b, NULL);
	sw_failmem m1;
	sw_failmem_init(&m1, 0, false);
	int rc = run(&ctl, false, &m1.mem, &a);
	sw_fuzz_mem_check_leaks(&m1, "capture");
	if (rc)
		sw_fuzz_fail("capture: %s without an injected failure\n", sw_errname(rc));
	if (getenv("SW_FUZZ_TRACE"))
		fprintf(stderr, "%.*s", (int)a.len, (const char *)a.data);

	if (!(ctl.variant & (V_FRAMES | V_LIMITS))) {
		sw_failmem m2;
		sw_failmem_init(&m2, 0, false);
		run(&ctl, true, &m2.mem, &b);
		sw_fuzz_mem_check_leaks(&m2, "capture resegmented");
		if (!same(&a, &b)) {
			fprintf(stderr, "whole segments:\n%.*s\nresegmented:\n%.*s\n", (int)a.len,
			        (const char *)a.data, (int)b.len, (const char *)b.data);
			sw_fuzz_fail(
			    "capture: resegmenting the stream changed the conversations\n");
		}
	}

	size_t fail_at = sw_fuzz_pick_failure(&ctl, m1.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at != 0) {
		sw_failmem m3;
		sw_failmem_init(&m3, fail_at, ctl.fault == SW_FUZZ_FAULT_PERSISTENT);
		sw_buf c;
		sw_buf_init(&c, NULL);
		int rc3 = run(&ctl, false, &m3.mem, &c);
		sw_fuzz_mem_check_leaks(&m3, "capture with a failure");
		bool absorbed = same(&c, &a);
		sw_fuzz_mem_check_report(&m3, rc3, absorbed, "capture");
		sw_buf_fini(&c);
	}
	sw_buf_fini(&a);
	sw_buf_fini(&b);
	return 0;
}
