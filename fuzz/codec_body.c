/*
 * The v1/v2 body decoders (smartwire/body.h) under the codec driver:
 * fuzz_body_prefixed ("%d\n" body "done\n") and fuzz_body_chunked
 * ("chunked\n" ... "END\n").
 *
 * The trailer's variant byte: bits 0-3 make the k-th event callback abort
 * (0: none), bit 7 selects tiny limits (4-byte length lines, 16-byte bodies
 * and chunks, two error chunks) so every limit error is reachable.
 */
#include <stdlib.h>

#include "codec.h"
#include "smartwire/body.h"
#include "smartwire/error.h"
#include "smartwire/format.h"

#define BODY_CHECKS (SW_FUZZ_CHECK_FINISH_STICKY | SW_FUZZ_CHECK_NRS_ZERO | SW_FUZZ_CHECK_NRS_BOUND)

static void *new_ctx(size_t size)
{
	/* Harness memory comes from libc: only the decoder is under test. */
	void *x = calloc(1, size);
	if (!x)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	return x;
}

/* ---- length-prefixed ------------------------------------------------- */

typedef struct prefixed_ctx {
	sw_prefixed_dec *dec;
	sw_fuzz_sink sink;
} prefixed_ctx;

static int p_on_length(void *ud, uint64_t len)
{
	prefixed_ctx *x = ud;
	sw_fuzz_sink_begin(&x->sink, len);
	return sw_fuzz_sink_event(&x->sink);
}

static int p_on_data(void *ud, const uint8_t *p, size_t n)
{
	prefixed_ctx *x = ud;
	sw_fuzz_sink_data(&x->sink, p, n);
	return 0;
}

static int p_on_end(void *ud)
{
	prefixed_ctx *x = ud;
	sw_fuzz_sink_end(&x->sink, "body");
	sw_fuzz_puts(x->sink.trace, "end\n");
	return sw_fuzz_sink_event(&x->sink);
}

static const sw_prefixed_callbacks p_callbacks = {p_on_length, p_on_data, p_on_end};

static int p_create(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant)
{
	prefixed_ctx *x = new_ctx(sizeof(*x));
	sw_fuzz_sink_init(&x->sink, trace, variant & 15);
	sw_prefixed_config cfg = {0, 0};
	if (variant & 0x80) {
		cfg.max_length_line = 4;
		cfg.max_body = 16;
	}
	int rc = sw_prefixed_new(&x->dec, &cfg, &p_callbacks, x, mem);
	if (rc != 0) {
		sw_fuzz_sink_free(&x->sink);
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

static ptrdiff_t p_feed(void *d, const uint8_t *in, size_t len)
{
	return sw_prefixed_feed(((prefixed_ctx *)d)->dec, in, len);
}

static bool p_done(void *d)
{
	return sw_prefixed_done(((prefixed_ctx *)d)->dec);
}

static void p_reset(void *d)
{
	prefixed_ctx *x = d;
	x->sink.in_part = false;
	sw_prefixed_reset(x->dec);
}

static int p_finish(void *d)
{
	return sw_prefixed_finish(((prefixed_ctx *)d)->dec);
}

static size_t p_nrs(void *d)
{
	return sw_prefixed_next_read_size(((prefixed_ctx *)d)->dec);
}

static void p_destroy(void *d)
{
	prefixed_ctx *x = d;
	sw_prefixed_del(x->dec);
	sw_fuzz_sink_free(&x->sink);
	free(x);
}

static const sw_fuzz_codec prefixed = {
	"body_prefixed", BODY_CHECKS, p_create, p_feed, p_done, p_reset, p_finish, p_nrs,
	p_destroy,
};

int sw_fuzz_prefixed_one(const uint8_t *data, size_t size)
{
	return sw_fuzz_codec_one(&prefixed, data, size);
}

/* ---- chunked --------------------------------------------------------- */

typedef struct chunked_ctx {
	sw_chunked_dec *dec;
	sw_fuzz_sink sink;
} chunked_ctx;

static int c_on_chunk_begin(void *ud, uint64_t len)
{
	chunked_ctx *x = ud;
	sw_fuzz_sink_begin(&x->sink, len);
	return sw_fuzz_sink_event(&x->sink);
}

static int c_on_chunk(void *ud, const uint8_t *p, size_t n)
{
	chunked_ctx *x = ud;
	sw_fuzz_sink_data(&x->sink, p, n);
	return 0;
}

static int c_on_chunk_end(void *ud)
{
	chunked_ctx *x = ud;
	sw_fuzz_sink_end(&x->sink, "chunk");
	return sw_fuzz_sink_event(&x->sink);
}

static int c_on_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	chunked_ctx *x = ud;
	sw_fuzz_puts(x->sink.trace, "error-chunks ");
	if (sw_format_tuple(x->sink.trace, args, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory formatting error chunks\n");
	sw_fuzz_puts(x->sink.trace, "\n");
	return sw_fuzz_sink_event(&x->sink);
}

static int c_on_end(void *ud)
{
	chunked_ctx *x = ud;
	if (x->sink.in_part)
		sw_fuzz_fail("body_chunked: END inside a chunk\n");
	sw_fuzz_puts(x->sink.trace, "end\n");
	return sw_fuzz_sink_event(&x->sink);
}

static const sw_chunked_callbacks c_callbacks = {
	c_on_chunk_begin, c_on_chunk, c_on_chunk_end, c_on_error_chunks, c_on_end,
};

static int c_create(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant)
{
	chunked_ctx *x = new_ctx(sizeof(*x));
	sw_fuzz_sink_init(&x->sink, trace, variant & 15);
	sw_chunked_config cfg = {0, 0, 0, 0};
	if (variant & 0x80) {
		cfg.max_length_line = 4;
		cfg.max_chunk = 16;
		cfg.max_error_chunks = 2;
		cfg.max_error_bytes = 16;
	}
	int rc = sw_chunked_new(&x->dec, &cfg, &c_callbacks, x, mem);
	if (rc != 0) {
		sw_fuzz_sink_free(&x->sink);
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

static ptrdiff_t c_feed(void *d, const uint8_t *in, size_t len)
{
	return sw_chunked_feed(((chunked_ctx *)d)->dec, in, len);
}

static bool c_done(void *d)
{
	return sw_chunked_done(((chunked_ctx *)d)->dec);
}

static void c_reset(void *d)
{
	chunked_ctx *x = d;
	x->sink.in_part = false;
	sw_chunked_reset(x->dec);
}

static int c_finish(void *d)
{
	return sw_chunked_finish(((chunked_ctx *)d)->dec);
}

static size_t c_nrs(void *d)
{
	return sw_chunked_next_read_size(((chunked_ctx *)d)->dec);
}

static void c_destroy(void *d)
{
	chunked_ctx *x = d;
	sw_chunked_del(x->dec);
	sw_fuzz_sink_free(&x->sink);
	free(x);
}

static const sw_fuzz_codec chunked = {
	"body_chunked", BODY_CHECKS, c_create, c_feed, c_done, c_reset, c_finish, c_nrs,
	c_destroy,
};

int sw_fuzz_chunked_one(const uint8_t *data, size_t size)
{
	return sw_fuzz_codec_one(&chunked, data, size);
}
