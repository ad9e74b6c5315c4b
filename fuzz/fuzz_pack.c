/*
 * Fuzz target: the pack container, smartwire/pack.h (the network stream of
 * Repository.get_stream / insert_stream and get_inventories).
 *
 * 1. sw_pack_dec under the codec driver (codec.h): the same trace whole and
 *    in the trailer's feed sizes, the push-parser contract on every feed
 *    (sticky errors, finish() after an error returns it, next_read_size()
 *    0 once done or failed and > 0 while more is wanted), each container's
 *    excess decoded as the next container after a reset, no leak, and an
 *    injected allocation failure reported as SW_ERR_NOMEM after a prefix of
 *    the fault-free trace.  next_read_size() is Breezy's read size, not a
 *    lower bound (16384 before a container of 43 bytes), so that check of
 *    the driver is off.  Every error must be one pack.h documents.
 * 2. A round trip through the encoders: the records of the first container
 *    (default limits, fed whole) are re-encoded as they are decoded.  Every
 *    decoded name must be accepted by the encoder; the re-encoding must
 *    decode and re-encode to itself (so it holds the same records); it is
 *    never longer than the bytes it came from, and as long only if it is
 *    the same bytes (the only non-canonical forms are longer length lines).
 *
 * The trailer's variant byte (fdp.h): bits 0-3 make the k-th counted event
 * (record begin, record end, end marker) abort (0: none); bit 7 selects tiny
 * limits (4-byte length lines, 8-byte name lines, 2 names, 16-byte records)
 * so that every limit error is reachable.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/pack.h"

/* ---- the decoder under the codec driver -------------------------------- */

typedef struct pack_ctx {
	sw_pack_dec *dec;
	sw_fuzz_sink sink;
} pack_ctx;

static void put_names(sw_buf *trace, const sw_pack_name *names, size_t nnames)
{
	sw_fuzz_puts(trace, "names [");
	for (size_t i = 0; i < nnames; i++) {
		if (names[i].n == 0)
			sw_fuzz_fail("pack: a decoded name without elements\n");
		if (i)
			sw_fuzz_puts(trace, ", ");
		if (sw_format_tuple(trace, names[i].elems, names[i].n) != 0)
			sw_fuzz_fail("fuzz harness: out of memory formatting names\n");
	}
	sw_fuzz_puts(trace, "]\n");
}

static int on_record_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	pack_ctx *x = ud;
	if (nnames && !names)
		sw_fuzz_fail("pack: %zu names but no array\n", nnames);
	put_names(x->sink.trace, names, nnames);
	sw_fuzz_sink_begin(&x->sink, length);
	return sw_fuzz_sink_event(&x->sink);
}

static int on_record_data(void *ud, const uint8_t *p, size_t n)
{
	pack_ctx *x = ud;
	sw_fuzz_sink_data(&x->sink, p, n);
	return 0;
}

static int on_record_end(void *ud)
{
	pack_ctx *x = ud;
	sw_fuzz_sink_end(&x->sink, "record");
	return sw_fuzz_sink_event(&x->sink);
}

static int on_end(void *ud)
{
	pack_ctx *x = ud;
	if (x->sink.in_part)
		sw_fuzz_fail("pack: end marker inside a record\n");
	sw_fuzz_puts(x->sink.trace, "end\n");
	return sw_fuzz_sink_event(&x->sink);
}

static const sw_pack_callbacks callbacks = {on_record_begin, on_record_data, on_record_end, on_end};

static const sw_pack_config tiny = {
    .max_length_line = 4, .max_name_line = 8, .max_names = 2, .max_record = 16};

static int p_create(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant)
{
	pack_ctx *x = calloc(1, sizeof *x);
	if (!x)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	sw_fuzz_sink_init(&x->sink, trace, variant & 15);
	int rc = sw_pack_dec_new(&x->dec, (variant & 0x80) ? &tiny : NULL, &callbacks, x, mem);
	if (rc != 0) {
		if (rc != SW_ERR_NOMEM || x->dec)
			sw_fuzz_fail("pack: sw_pack_dec_new returned %s\n", sw_errname(rc));
		sw_fuzz_sink_free(&x->sink);
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

static bool documented(ptrdiff_t rc)
{
	switch (rc) {
	case SW_ERR_PACK_BAD_FORMAT:
	case SW_ERR_PACK_BAD_RECORD_TYPE:
	case SW_ERR_PACK_BAD_LENGTH:
	case SW_ERR_PACK_BAD_NAME:
	case SW_ERR_LINE_TOO_LONG:
	case SW_ERR_PACK_NAME_TOO_LONG:
	case SW_ERR_PACK_TOO_MANY_NAMES:
	case SW_ERR_PACK_RECORD_TOO_LARGE:
	case SW_ERR_NOMEM:
	case SW_ERR_CALLBACK: return true;
	default: return false;
	}
}

static ptrdiff_t p_feed(void *d, const uint8_t *in, size_t len)
{
	pack_ctx *x = d;
	ptrdiff_t rc = sw_pack_dec_feed(x->dec, in, len);
	if (rc < 0 && !documented(rc) && rc != SW_ERR_UNEXPECTED_EOF)
		sw_fuzz_fail("pack: feed returned an undocumented error %td\n", rc);
	if (rc < 0 && sw_pack_dec_error(x->dec) != rc)
		sw_fuzz_fail("pack: sw_pack_dec_error() is not the error feed returned\n");
	return rc;
}

static bool p_done(void *d)
{
	return sw_pack_dec_done(((pack_ctx *)d)->dec);
}

static void p_reset(void *d)
{
	pack_ctx *x = d;
	x->sink.in_part = false;
	sw_pack_dec_reset(x->dec);
}

static int p_finish(void *d)
{
	return sw_pack_dec_finish(((pack_ctx *)d)->dec);
}

static size_t p_nrs(void *d)
{
	return sw_pack_dec_next_read_size(((pack_ctx *)d)->dec);
}

static void p_destroy(void *d)
{
	pack_ctx *x = d;
	sw_pack_dec_del(x->dec);
	sw_fuzz_sink_free(&x->sink);
	free(x);
}

static const sw_fuzz_codec pack_codec = {
    "pack",    SW_FUZZ_CHECK_FINISH_STICKY | SW_FUZZ_CHECK_NRS_ZERO,
    p_create,  p_feed,
    p_done,    p_reset,
    p_finish,  p_nrs,
    p_destroy,
};

/* ---- the round trip through the encoders ------------------------------- */

typedef struct reenc {
	sw_buf out; /* libc memory: only the codec is under test */
} reenc;

static int re_begin(void *ud, uint64_t length, const sw_pack_name *names, size_t nnames)
{
	reenc *r = ud;
	int rc = sw_pack_encode_record_header(&r->out, length, names, nnames);
	if (rc != 0)
		sw_fuzz_fail("pack: the encoder refused a decoded record header: %s\n",
		             sw_errname(rc));
	return 0;
}

static int re_data(void *ud, const uint8_t *p, size_t n)
{
	reenc *r = ud;
	if (sw_buf_append(&r->out, p, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	return 0;
}

static int re_end(void *ud)
{
	reenc *r = ud;
	if (sw_pack_encode_end(&r->out) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	return 0;
}

/* Decodes in[0..len) whole, re-encoding it into *out.  Returns the bytes the
 * container took, or 0 if it did not decode to its end. */
static size_t reencode(const uint8_t *in, size_t len, sw_buf *out)
{
	static const sw_pack_callbacks cb = {re_begin, re_data, NULL, re_end};
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	reenc r;
	sw_buf_init(&r.out, NULL);
	if (sw_pack_encode_begin(&r.out) != 0)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	sw_pack_dec *dec;
	if (sw_pack_dec_new(&dec, NULL, &cb, &r, &fm.mem) != 0)
		sw_fuzz_fail("pack: sw_pack_dec_new failed without an injected failure\n");
	ptrdiff_t used = sw_pack_dec_feed(dec, in, len);
	bool done = used >= 0 && sw_pack_dec_done(dec);
	sw_pack_dec_del(dec);
	sw_fuzz_mem_check_leaks(&fm, "pack round trip");
	*out = r.out;
	return done ? (size_t)used : 0;
}

static void round_trip(const uint8_t *in, size_t len)
{
	sw_buf once, twice;
	size_t used = reencode(in, len, &once);
	if (used) {
		if (once.len > used || (once.len == used && memcmp(once.data, in, used) != 0))
			sw_fuzz_fail("pack: re-encoding a container of %zu bytes gave %zu bytes "
			             "that are not its canonical form\n",
			             used, once.len);
		size_t used2 = reencode(once.data, once.len, &twice);
		if (used2 != once.len || twice.len != once.len ||
		    memcmp(twice.data, once.data, once.len) != 0)
			sw_fuzz_fail(
			    "pack: the re-encoded container does not re-encode to itself\n");
		sw_buf_fini(&twice);
	}
	sw_buf_fini(&once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_codec_one(&pack_codec, data, size);
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	round_trip(ctl.data, ctl.len);
	return 0;
}
