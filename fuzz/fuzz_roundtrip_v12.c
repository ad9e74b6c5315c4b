/*
 * Fuzz target: v1/v2 round trip (smartwire/v12.h, body.h).  Whatever the
 * v1/v2 decoder accepts is re-encoded with our encoders and decoded again,
 * which must give the same events; encoding that decoding once more must
 * give the same bytes (the encoders are deterministic and the decoder loses
 * nothing they write).
 * The protocol bytes (fdp.h) are a stream of messages, decoded one after
 * the other until the stream ends or the decoder refuses a message.  The
 * trailer's variant byte:
 *   bit 0     protocol version: 0 = v1, 1 = v2 (v2 requests carry their
 *             marker: expect_request_marker, since the encoder writes it)
 *   bit 1     0 requests (sw_v12_encode_request), 1 responses
 *             (sw_v12_encode_response, or sw_v12_encode_response_stream
 *             for a chunked body)
 *   bits 2-3  body: 0 none, 1 length-prefixed, 2 chunked (v2 responses;
 *             elsewhere none), 3 chunked for v2 responses, else prefixed
 * Not all input bytes survive (a length line "007" comes back as "7"), so
 * the first comparison is on events.  With the trailer's fault plan, the
 * N-th allocation of the whole round trip fails (once or persistently): the
 * run must end with SW_ERR_NOMEM after a prefix of the clean events, or
 * give the clean result.  Nothing may leak.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdp.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"

#define MAX_ITEMS 4096

/* One message's events, with its pieces copied (libc memory). */
typedef struct coll {
	sw_buf *trace;
	sw_buf store;          /* arg / body / chunk bytes */
	size_t arg_off[MAX_ITEMS], arg_len[MAX_ITEMS], nargs;
	size_t chunk_off[MAX_ITEMS], chunk_len[MAX_ITEMS], nchunks;
	size_t earg_off[MAX_ITEMS], earg_len[MAX_ITEMS], neargs;
	bool has_error;
	int status;            /* v2 responses: 1 / 0; else -1 */
	bool has_body;         /* length-prefixed body seen */
	size_t body_off, body_len;
	bool in_chunk;
} coll;

/* b->data + off, also for a buffer that never allocated (data NULL). */
static const uint8_t *at(const sw_buf *b, size_t off)
{
	return b->data ? b->data + off : (const uint8_t *)"";
}

static size_t keep(coll *c, const void *p, size_t n)
{
	size_t off = c->store.len;
	if (n && sw_buf_append(&c->store, p, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	return off;
}

static int on_status(void *ud, bool success)
{
	coll *c = ud;
	c->status = success;
	sw_fuzz_puts(c->trace, success ? "status success\n" : "status failed\n");
	return 0;
}

static int on_args(void *ud, const sw_slice *args, size_t n)
{
	coll *c = ud;
	sw_fuzz_puts(c->trace, "args ");
	if (sw_format_tuple(c->trace, args, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	sw_fuzz_puts(c->trace, "\n");
	if (n > MAX_ITEMS)
		sw_fuzz_fail("roundtrip_v12: %zu args, over max_args\n", n);
	for (size_t i = 0; i < n; i++) {
		c->arg_off[i] = keep(c, args[i].p, args[i].n);
		c->arg_len[i] = args[i].n;
	}
	c->nargs = n;
	return 0;
}

static int on_body_begin(void *ud, uint64_t len)
{
	coll *c = ud;
	c->has_body = true;
	c->body_off = c->store.len;
	c->body_len = 0;
	(void)len;
	return 0;
}

static int on_body(void *ud, const uint8_t *p, size_t n)
{
	coll *c = ud;
	keep(c, p, n);
	c->body_len += n;
	return 0;
}

static int on_chunk_begin(void *ud, uint64_t len)
{
	coll *c = ud;
	(void)len;
	if (c->nchunks == MAX_ITEMS)
		sw_fuzz_fail("roundtrip_v12: more than %d chunks\n", MAX_ITEMS);
	c->chunk_off[c->nchunks] = c->store.len;
	c->chunk_len[c->nchunks] = 0;
	c->in_chunk = true;
	return 0;
}

static int on_chunk(void *ud, const uint8_t *p, size_t n)
{
	coll *c = ud;
	keep(c, p, n);
	c->chunk_len[c->nchunks] += n;
	return 0;
}

static int on_chunk_end(void *ud)
{
	coll *c = ud;
	sw_fuzz_put_bytes(c->trace, "chunk", at(&c->store, c->chunk_off[c->nchunks]),
	                  c->chunk_len[c->nchunks]);
	c->nchunks++;
	c->in_chunk = false;
	return 0;
}

static int on_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	coll *c = ud;
	sw_fuzz_puts(c->trace, "error-chunks ");
	if (sw_format_tuple(c->trace, args, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	sw_fuzz_puts(c->trace, "\n");
	if (n > MAX_ITEMS)
		sw_fuzz_fail("roundtrip_v12: %zu error chunks\n", n);
	c->has_error = true;
	for (size_t i = 0; i < n; i++) {
		c->earg_off[i] = keep(c, args[i].p, args[i].n);
		c->earg_len[i] = args[i].n;
	}
	c->neargs = n;
	return 0;
}

static int on_end(void *ud)
{
	coll *c = ud;
	if (c->has_body)
		sw_fuzz_put_bytes(c->trace, "body", at(&c->store, c->body_off), c->body_len);
	sw_fuzz_puts(c->trace, "end\n");
	return 0;
}

static const sw_v12_callbacks callbacks = {
	.on_status = on_status,
	.on_args = on_args,
	.on_body_begin = on_body_begin,
	.on_body = on_body,
	.on_chunk_begin = on_chunk_begin,
	.on_chunk = on_chunk,
	.on_chunk_end = on_chunk_end,
	.on_error_chunks = on_error_chunks,
	.on_end = on_end,
};

typedef struct mode {
	int version;
	sw_v12_kind kind;
	sw_body_mode body;
} mode;

static void coll_start(coll *c)
{
	sw_buf_reset(&c->store);
	c->nargs = c->nchunks = c->neargs = 0;
	c->has_error = c->has_body = c->in_chunk = false;
	c->status = -1;
}

static int new_dec(const mode *md, coll *c, const sw_mem *mem, sw_v12_dec **d)
{
	sw_v12_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.expect_request_marker = true;
	return sw_v12_dec_new(d, md->kind, md->version, &cfg, &callbacks, c, mem);
}

static int declare(const mode *md, sw_v12_dec *d)
{
	int rv = sw_v12_dec_expect_body(d, md->body);
	if (rv != 0)
		sw_fuzz_fail("roundtrip_v12: expect_body(%d) refused: %s\n", (int)md->body,
		             sw_errname(rv));
	return rv;
}

/* Rebuilds slices into the store (valid until the store changes). */
static void slices(const coll *c, const size_t *off, const size_t *len, size_t n, sw_slice *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (sw_slice){at(&c->store, off[i]), len[i]};
}

/* Encodes the collected message.  Returns 0 or the encoder's error. */
static int encode(const mode *md, const coll *c, sw_buf *out)
{
	static sw_slice args[MAX_ITEMS], chunks[MAX_ITEMS], eargs[MAX_ITEMS];
	slices(c, c->arg_off, c->arg_len, c->nargs, args);
	sw_slice body = {at(&c->store, c->body_off), c->body_len};
	if (md->kind == SW_V12_REQUEST)
		return sw_v12_encode_request(out, md->version, args, c->nargs,
		                             c->has_body ? &body : NULL);
	bool success = md->version == 1 || c->status == 1;
	if (md->body != SW_BODY_CHUNKED)
		return sw_v12_encode_response(out, md->version, success, args, c->nargs,
		                              c->has_body ? &body : NULL);
	slices(c, c->chunk_off, c->chunk_len, c->nchunks, chunks);
	slices(c, c->earg_off, c->earg_len, c->neargs, eargs);
	return sw_v12_encode_response_stream(out, md->version, success, args, c->nargs, chunks,
	                                     c->nchunks, c->has_error, eargs, c->neargs);
}

/* Decodes exactly one whole message from `in` (the re-encoding) into `c`.
 * Returns the bytes consumed or a negative sw_err (SW_ERR_UNEXPECTED_EOF
 * when it is incomplete). */
static ptrdiff_t decode_one(const mode *md, const sw_mem *mem, const uint8_t *in, size_t len,
                            coll *c)
{
	sw_v12_dec *d = NULL;
	coll_start(c);
	int rv = new_dec(md, c, mem, &d);
	if (rv)
		return rv;
	declare(md, d);
	ptrdiff_t r = sw_v12_dec_feed(d, in, len);
	if (r >= 0 && !sw_v12_dec_done(d)) {
		int f = sw_v12_dec_finish(d);
		r = f ? f : SW_ERR_UNEXPECTED_EOF;
	}
	sw_v12_dec_del(d);
	return r;
}

static void show_fail(const char *what, const sw_buf *a, const sw_buf *b)
{
	fprintf(stderr, "--- first:\n%.*s--- second:\n%.*s", (int)a->len,
	        a->data ? (const char *)a->data : "", (int)b->len, b->data ? (const char *)b->data : "");
	sw_fuzz_fail("roundtrip_v12: %s\n", what);
}

static int round_trip(const mode *md, const sw_mem *mem, const uint8_t *in, size_t len,
                      sw_buf *trace)
{
	/* Two big collectors (the arrays hold up to max_args items), static so
	 * that a run does not clear 600 KB: coll_start resets what is used. */
	static coll colls[2];
	coll *c = &colls[0], *c2 = &colls[1];
	c->trace = trace;
	sw_buf_init(&c->store, NULL);
	sw_buf_init(&c2->store, NULL);
	sw_buf enc, enc2, t2;
	sw_buf_init(&enc, mem);
	sw_buf_init(&enc2, mem);
	sw_buf_init(&t2, NULL);
	c2->trace = &t2;
	sw_v12_dec *d = NULL;
	int rv = new_dec(md, c, mem, &d);
	size_t pos = 0;
	while (rv == 0 && pos < len) {
		coll_start(c);
		declare(md, d);
		size_t mark = trace->len;
		ptrdiff_t r = sw_v12_dec_feed(d, in + pos, len - pos);
		if (r < 0) {
			rv = (int)r;
			break;
		}
		if (!sw_v12_dec_done(d))
			break;
		sw_buf_reset(&enc);
		if ((rv = encode(md, c, &enc)) != 0) {
			if (rv != SW_ERR_NOMEM)
				sw_fuzz_fail("roundtrip_v12: the encoder refused a decoded message: %s\n",
				             sw_errname(rv));
			break;
		}
		sw_buf_reset(&t2);
		ptrdiff_t r2 = decode_one(md, mem, enc.data, enc.len, c2);
		if (r2 == SW_ERR_NOMEM) {
			rv = SW_ERR_NOMEM;
			break;
		}
		sw_buf first = {.data = (uint8_t *)at(trace, mark), .len = trace->len - mark};
		if (r2 != (ptrdiff_t)enc.len || t2.len != first.len ||
		    (t2.len && memcmp(t2.data, first.data, t2.len) != 0))
			show_fail(r2 < 0 ? "the re-encoding does not decode" :
			          "the re-encoding decodes to other events", &first, &t2);
		sw_buf_reset(&enc2);
		if ((rv = encode(md, c2, &enc2)) != 0) {
			if (rv != SW_ERR_NOMEM)
				sw_fuzz_fail("roundtrip_v12: the encoder refused its own message: %s\n",
				             sw_errname(rv));
			break;
		}
		if (enc2.len != enc.len || (enc.len && memcmp(enc2.data, enc.data, enc.len) != 0))
			sw_fuzz_fail("roundtrip_v12: encoding is not stable: encode(decode(encode(m))) "
			             "differs from encode(m)\n");
		pos += (size_t)r;
		sw_v12_dec_reset(d);
	}
	sw_v12_dec_del(d);
	sw_buf_fini(&c->store);
	sw_buf_fini(&c2->store);
	sw_buf_fini(&enc);
	sw_buf_fini(&enc2);
	sw_buf_fini(&t2);
	sw_fuzz_puts(trace, "result ");
	sw_fuzz_puts(trace, sw_errname(rv));
	sw_fuzz_puts(trace, "\n");
	return rv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	mode md;
	md.version = (ctl.variant & 1) ? 2 : 1;
	md.kind = (ctl.variant & 2) ? SW_V12_RESPONSE : SW_V12_REQUEST;
	bool v2resp = md.version == 2 && md.kind == SW_V12_RESPONSE;
	switch ((ctl.variant >> 2) & 3) {
	case 0:
		md.body = SW_BODY_NONE;
		break;
	case 1:
		md.body = SW_BODY_PREFIXED;
		break;
	case 2:
		md.body = v2resp ? SW_BODY_CHUNKED : SW_BODY_NONE;
		break;
	default:
		md.body = v2resp ? SW_BODY_CHUNKED : SW_BODY_PREFIXED;
		break;
	}

	sw_failmem m1;
	sw_failmem_init(&m1, 0, false);
	sw_buf clean;
	sw_buf_init(&clean, NULL);
	int rc = round_trip(&md, &m1.mem, ctl.data, ctl.len, &clean);
	sw_fuzz_mem_check_leaks(&m1, "roundtrip_v12");
	if (rc == SW_ERR_NOMEM)
		sw_fuzz_fail("roundtrip_v12: SW_ERR_NOMEM without an injected failure\n");
	if (getenv("SW_FUZZ_TRACE"))
		fprintf(stderr, "%.*s", (int)clean.len, clean.data ? (const char *)clean.data : "");

	size_t fail_at = sw_fuzz_pick_failure(&ctl, m1.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at) {
		sw_failmem m2;
		sw_failmem_init(&m2, fail_at, ctl.fault == SW_FUZZ_FAULT_PERSISTENT);
		sw_buf faulty;
		sw_buf_init(&faulty, NULL);
		int rc2 = round_trip(&md, &m2.mem, ctl.data, ctl.len, &faulty);
		sw_fuzz_mem_check_leaks(&m2, "roundtrip_v12");
		bool absorbed = faulty.len == clean.len &&
		                (clean.len == 0 || memcmp(faulty.data, clean.data, clean.len) == 0);
		if (!absorbed && rc2 == SW_ERR_NOMEM) {
			/* Every line before the final "result" must be the clean
			 * run's, except that the message being decoded when the
			 * allocation failed may stop early. */
			size_t n = faulty.len;
			while (n > 0 && faulty.data[n - 1] == '\n')
				n--;
			while (n > 0 && faulty.data[n - 1] != '\n')
				n--;
			if (n > clean.len || (n && memcmp(faulty.data, clean.data, n) != 0))
				show_fail("events before SW_ERR_NOMEM differ from the clean run", &clean,
				          &faulty);
		}
		sw_fuzz_mem_check_report(&m2, rc2, absorbed, "roundtrip_v12");
		sw_buf_fini(&faulty);
	}
	sw_buf_fini(&clean);
	return 0;
}
