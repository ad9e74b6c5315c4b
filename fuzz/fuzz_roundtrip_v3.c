/*
 * Fuzz target: v3 round trip (smartwire/v3.h).  Whatever the v3 decoder
 * accepts is re-encoded with our encoders and decoded again, which must give
 * the same events.
 * The protocol bytes (fdp.h) are a stream of messages, decoded one after
 * the other (reset, then the excess) until the stream ends or the decoder
 * refuses a message.  Each accepted message is re-encoded twice:
 *   1. part by part, during decoding, with the building blocks
 *      (sw_v3_put_marker, sw_v3_put_headers_bval, sw_v3_put_byte,
 *      sw_v3_put_structure, sw_v3_put_bytes_prefix + the bytes,
 *      sw_v3_put_end).  Our bencode decoder only accepts canonical bencode,
 *      so this re-encoding must be byte-identical to the message as it was
 *      consumed, and it must decode to the same events;
 *   2. when the message has the conventional shape Breezy's requesters and
 *      responders produce (headers whose values are byte strings, [o S|E],
 *      one structure that is a list of byte strings, at most one bytes part
 *      -- requests have no status byte, responses exactly one), with the
 *      whole-message encoder sw_v3_encode_request / sw_v3_encode_response,
 *      which must give the same bytes again.
 * The trailer's variant byte: bit 0 set decodes responses (the marker is
 * part of each message), clear decodes requests (no marker, as the server
 * sees them after version detection).  With the trailer's fault plan, the
 * N-th allocation of the whole round trip fails (once or persistently):
 * the run must end with SW_ERR_NOMEM and a trace that is a prefix of the
 * clean one, or give the clean trace.  Nothing may leak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdp.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v3.h"

#define MAX_ARGS 64

/* One message's events as they are decoded, and its re-encoding. */
typedef struct msg {
	const sw_mem *mem;
	sw_buf *trace;  /* events (libc memory) */
	sw_buf enc;     /* building-block re-encoding (mem) */
	bool response;
	int err;        /* first encoder failure (SW_ERR_NOMEM) */
	/* conventional shape */
	bool conventional;
	int status;     /* -1 none, else the 'o' byte */
	unsigned structs, parts, bytes_seen;
	sw_slice hdr[2 * MAX_ARGS];
	size_t hdr_pairs;
	sw_buf hdr_store; /* copies of header and arg bytes (libc) */
	size_t hdr_off[2 * MAX_ARGS];
	sw_slice args[MAX_ARGS];
	size_t arg_off[MAX_ARGS];
	size_t nargs;
	size_t body_off, body_len;
	bool has_body;
} msg;

/* b->data + off, also for a buffer that never allocated (data NULL). */
static const uint8_t *at(const sw_buf *b, size_t off)
{
	return b->data ? b->data + off : (const uint8_t *)"";
}

static void trace_put(sw_buf *t, const char *s)
{
	sw_fuzz_puts(t, s);
}

static void enc_check(msg *m, int rv)
{
	if (rv == 0 || m->err)
		return;
	if (rv != SW_ERR_NOMEM)
		sw_fuzz_fail("roundtrip_v3: an encoder refused what the decoder accepted: %s\n",
		             sw_errname(rv));
	m->err = rv;
}

static size_t store(msg *m, const void *p, size_t n)
{
	size_t off = m->hdr_store.len;
	if (sw_buf_append(&m->hdr_store, p, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	return off;
}

static int on_headers(void *ud, const sw_bval *dict)
{
	msg *m = ud;
	trace_put(m->trace, "headers ");
	if (sw_bval_format(m->trace, dict) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	trace_put(m->trace, "\n");
	if (m->response)
		enc_check(m, sw_v3_put_marker(&m->enc));
	enc_check(m, sw_v3_put_headers_bval(&m->enc, dict));
	size_t pairs = dict->u.list.n / 2;
	if (pairs > MAX_ARGS) {
		m->conventional = false;
		return 0;
	}
	for (size_t i = 0; i < pairs; i++) {
		const sw_bval *k = &dict->u.list.items[2 * i], *v = &dict->u.list.items[2 * i + 1];
		if (k->type != SW_BSTR || v->type != SW_BSTR) {
			m->conventional = false;
			return 0;
		}
		m->hdr_off[2 * i] = store(m, k->u.str.p, k->u.str.n);
		m->hdr[2 * i].n = k->u.str.n;
		m->hdr_off[2 * i + 1] = store(m, v->u.str.p, v->u.str.n);
		m->hdr[2 * i + 1].n = v->u.str.n;
	}
	m->hdr_pairs = pairs;
	return 0;
}

static int on_byte(void *ud, uint8_t byte)
{
	msg *m = ud;
	sw_fuzz_put_bytes(m->trace, "byte", &byte, 1);
	enc_check(m, sw_v3_put_byte(&m->enc, byte));
	if (m->status >= 0 || m->structs || m->parts)
		m->conventional = false;
	m->status = byte;
	return 0;
}

static int on_structure(void *ud, const sw_bval *v)
{
	msg *m = ud;
	trace_put(m->trace, "structure ");
	if (sw_bval_format(m->trace, v) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	trace_put(m->trace, "\n");
	enc_check(m, sw_v3_put_structure(&m->enc, v));
	if (m->structs++ || m->parts || v->type != SW_BLIST || v->u.list.n > MAX_ARGS) {
		m->conventional = false;
		return 0;
	}
	for (size_t i = 0; i < v->u.list.n; i++) {
		const sw_bval *a = &v->u.list.items[i];
		if (a->type != SW_BSTR) {
			m->conventional = false;
			return 0;
		}
		m->arg_off[i] = store(m, a->u.str.p, a->u.str.n);
		m->args[i].n = a->u.str.n;
	}
	m->nargs = v->u.list.n;
	return 0;
}

static int on_bytes_begin(void *ud, uint32_t total)
{
	msg *m = ud;
	enc_check(m, sw_v3_put_bytes_prefix(&m->enc, total));
	if (m->parts++ || !m->structs)
		m->conventional = false;
	m->body_off = m->hdr_store.len;
	m->body_len = total;
	m->has_body = true;
	m->bytes_seen = 0;
	return 0;
}

static int on_bytes(void *ud, const uint8_t *p, size_t n)
{
	msg *m = ud;
	if (!m->err && sw_buf_append(&m->enc, p, n) != 0)
		m->err = SW_ERR_NOMEM;
	store(m, p, n);
	m->bytes_seen += (unsigned)n;
	return 0;
}

static int on_bytes_end(void *ud)
{
	msg *m = ud;
	sw_fuzz_put_bytes(m->trace, "bytes", at(&m->hdr_store, m->body_off), m->body_len);
	return 0;
}

static int on_end(void *ud)
{
	msg *m = ud;
	trace_put(m->trace, "end\n");
	enc_check(m, sw_v3_put_end(&m->enc));
	return 0;
}

static const sw_v3_callbacks callbacks = {
	on_headers, on_byte, on_structure, on_bytes_begin, on_bytes, on_bytes_end, on_end,
};

static void msg_start(msg *m)
{
	sw_buf_reset(&m->enc);
	sw_buf_reset(&m->hdr_store);
	m->err = 0;
	m->conventional = true;
	m->status = -1;
	m->structs = m->parts = 0;
	m->hdr_pairs = m->nargs = 0;
	m->has_body = false;
}

/* Decodes one message from `in` with a fresh decoder, appending its events
 * to `trace`.  Returns the bytes consumed for a complete message, or a
 * negative sw_err (an incomplete message is SW_ERR_UNEXPECTED_EOF). */
static ptrdiff_t decode_one(const sw_mem *mem, bool response, const uint8_t *in, size_t len,
                            sw_buf *trace)
{
	msg m;
	memset(&m, 0, sizeof m);
	m.mem = mem;
	m.trace = trace;
	m.response = response;
	sw_buf_init(&m.enc, mem);
	sw_buf_init(&m.hdr_store, NULL);
	msg_start(&m);
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = response;
	sw_v3_dec *d = NULL;
	int rv = sw_v3_dec_new(&d, &cfg, &callbacks, &m, mem);
	if (rv)
		goto out;
	ptrdiff_t r = sw_v3_dec_feed(d, in, len);
	if (r < 0) {
		rv = (int)r;
	} else if (!sw_v3_dec_done(d)) {
		rv = sw_v3_dec_finish(d);
		if (rv == 0)
			rv = SW_ERR_UNEXPECTED_EOF;
	}
	sw_v3_dec_del(d);
	if (rv)
		goto out;
	rv = (int)r; /* consumed */
out:
	sw_buf_fini(&m.enc);
	sw_buf_fini(&m.hdr_store);
	return rv;
}

/* The round trip of every message in `in`; the trace gets the events of
 * each decoding.  Returns 0 or the error that ended it. */
static int round_trip(const sw_mem *mem, bool response, const uint8_t *in, size_t len,
                      sw_buf *trace)
{
	msg m;
	memset(&m, 0, sizeof m);
	m.mem = mem;
	m.trace = trace;
	m.response = response;
	sw_buf_init(&m.enc, mem);
	sw_buf_init(&m.hdr_store, NULL);
	sw_buf whole;
	sw_buf_init(&whole, mem);
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = response;
	sw_v3_dec *d = NULL;
	int rv = sw_v3_dec_new(&d, &cfg, &callbacks, &m, mem);
	size_t pos = 0;
	while (rv == 0 && pos < len) {
		msg_start(&m);
		size_t mark = trace->len;
		ptrdiff_t r = sw_v3_dec_feed(d, in + pos, len - pos);
		if (r < 0) {
			rv = (int)r;
			break;
		}
		if (!sw_v3_dec_done(d))
			break; /* the stream ends inside a message: nothing to re-encode */
		if (m.err) {
			rv = m.err;
			break;
		}
		const uint8_t *msg_in = in + pos;
		size_t msg_len = (size_t)r;
		if (m.enc.len != msg_len || memcmp(m.enc.data, msg_in, msg_len) != 0) {
			sw_buf t;
			sw_buf_init(&t, NULL);
			sw_format_bytes(&t, msg_in, msg_len);
			sw_fuzz_puts(&t, "\n");
			sw_format_bytes(&t, m.enc.data, m.enc.len);
			sw_fuzz_fail("roundtrip_v3: re-encoding the parts changed the bytes:\n%.*s\n",
			             (int)t.len, (const char *)t.data);
		}
		/* The re-encoding decodes to the same events. */
		sw_buf again;
		sw_buf_init(&again, NULL);
		ptrdiff_t r2 = decode_one(mem, response, m.enc.data, m.enc.len, &again);
		if (r2 == SW_ERR_NOMEM) {
			sw_buf_fini(&again);
			rv = SW_ERR_NOMEM;
			break;
		}
		if (r2 != (ptrdiff_t)m.enc.len || again.len != trace->len - mark ||
		    (again.len && memcmp(again.data, at(trace, mark), again.len) != 0))
			sw_fuzz_fail("roundtrip_v3: the re-encoding decodes differently (%s):\n"
			             "%.*s--- again:\n%.*s", r2 < 0 ? sw_errname((int)r2) : "complete",
			             (int)(trace->len - mark), (const char *)at(trace, mark),
			             (int)again.len, again.data ? (const char *)again.data : "");
		sw_buf_fini(&again);

		/* The whole-message encoders, for the conventional shape. */
		bool conv = m.conventional && m.structs == 1 && m.parts <= 1 &&
		            (response ? m.status == 'S' || m.status == 'E' : m.status < 0);
		if (conv) {
			for (size_t i = 0; i < 2 * m.hdr_pairs; i++)
				m.hdr[i].p = at(&m.hdr_store, m.hdr_off[i]);
			for (size_t i = 0; i < m.nargs; i++)
				m.args[i].p = at(&m.hdr_store, m.arg_off[i]);
			sw_slice body = {at(&m.hdr_store, m.body_off), m.body_len};
			if (!m.body_len)
				body.p = NULL;
			sw_buf_reset(&whole);
			int e = response ? sw_v3_encode_response(&whole, m.hdr, m.hdr_pairs,
			                                         m.status == 'S', m.args, m.nargs,
			                                         m.has_body ? &body : NULL)
			                 : sw_v3_encode_request(&whole, m.hdr, m.hdr_pairs, m.args,
			                                        m.nargs, m.has_body ? &body : NULL);
			size_t skip = response ? 0 : SW_V3_MARKER_LEN; /* requests carry a marker */
			if (e == SW_ERR_NOMEM) {
				rv = e;
				break;
			}
			if (e != 0)
				sw_fuzz_fail("roundtrip_v3: the message encoder refused a decoded "
				             "message: %s\n", sw_errname(e));
			if (whole.len != msg_len + skip ||
			    memcmp(whole.data + skip, msg_in, msg_len) != 0 ||
			    (skip && memcmp(whole.data, SW_V3_MARKER, skip) != 0))
				sw_fuzz_fail("roundtrip_v3: sw_v3_encode_%s gave other bytes than the "
				             "message it was built from\n", response ? "response" : "request");
		}
		pos += msg_len;
		sw_v3_dec_reset(d);
	}
	sw_v3_dec_del(d);
	sw_buf_fini(&m.enc);
	sw_buf_fini(&m.hdr_store);
	sw_buf_fini(&whole);
	sw_fuzz_puts(trace, "result ");
	sw_fuzz_puts(trace, sw_errname(rv));
	sw_fuzz_puts(trace, "\n");
	return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	bool response = ctl.variant & 1;

	sw_failmem m1;
	sw_failmem_init(&m1, 0, false);
	sw_buf clean;
	sw_buf_init(&clean, NULL);
	int rc = round_trip(&m1.mem, response, ctl.data, ctl.len, &clean);
	sw_fuzz_mem_check_leaks(&m1, "roundtrip_v3");
	if (rc == SW_ERR_NOMEM)
		sw_fuzz_fail("roundtrip_v3: SW_ERR_NOMEM without an injected failure\n");
	if (getenv("SW_FUZZ_TRACE"))
		fprintf(stderr, "%.*s", (int)clean.len, clean.data ? (const char *)clean.data : "");

	size_t fail_at = sw_fuzz_pick_failure(&ctl, m1.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at) {
		sw_failmem m2;
		sw_failmem_init(&m2, fail_at, ctl.fault == SW_FUZZ_FAULT_PERSISTENT);
		sw_buf faulty;
		sw_buf_init(&faulty, NULL);
		int rc2 = round_trip(&m2.mem, response, ctl.data, ctl.len, &faulty);
		sw_fuzz_mem_check_leaks(&m2, "roundtrip_v3");
		bool absorbed = faulty.len == clean.len &&
		                (clean.len == 0 || memcmp(faulty.data, clean.data, clean.len) == 0);
		if (!absorbed && rc2 == SW_ERR_NOMEM) {
			/* Events before the failure are the clean run's (minus the
			 * message being decoded, cut short: compare whole lines up
			 * to the last message start is too fussy; require a prefix
			 * up to the final "result" line). */
			size_t n = faulty.len;
			while (n > 0 && faulty.data[n - 1] == '\n')
				n--;
			while (n > 0 && faulty.data[n - 1] != '\n')
				n--;
			if (n > clean.len || (n && memcmp(faulty.data, clean.data, n) != 0))
				sw_fuzz_fail("roundtrip_v3: events before SW_ERR_NOMEM differ from the "
				             "clean run\n");
		}
		sw_fuzz_mem_check_report(&m2, rc2, absorbed, "roundtrip_v3");
		sw_buf_fini(&faulty);
	}
	sw_buf_fini(&clean);
	return 0;
}
