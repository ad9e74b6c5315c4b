/*
 * The v3 framing decoder (smartwire/v3.h) under the codec driver, shared by
 * fuzz_v3_request (server side: the medium ate the marker) and
 * fuzz_v3_response (client side: the marker is expected).
 *
 * The trailer's variant byte: bits 0-3 make the k-th event callback abort
 * (0: none), bit 7 selects small limits (headers, structures and bytes parts
 * over a few dozen bytes, shallow bencode) so the limit errors are reached.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "smartwire/error.h"
#include "smartwire/v3.h"

typedef struct v3_ctx {
	sw_v3_dec *dec;
	sw_fuzz_sink sink;
} v3_ctx;

static void put_bval(sw_fuzz_sink *s, const char *event, const sw_bval *v)
{
	sw_fuzz_puts(s->trace, event);
	sw_fuzz_puts(s->trace, " ");
	if (sw_bval_format(s->trace, v) != 0)
		sw_fuzz_fail("fuzz harness: out of memory formatting a value\n");
	sw_fuzz_puts(s->trace, "\n");
}

static int on_headers(void *ud, const sw_bval *dict)
{
	v3_ctx *x = ud;
	if (dict->type != SW_BDICT)
		sw_fuzz_fail("v3: on_headers with a non-dict\n");
	put_bval(&x->sink, "headers", dict);
	return sw_fuzz_sink_event(&x->sink);
}

static int on_byte(void *ud, uint8_t byte)
{
	v3_ctx *x = ud;
	sw_fuzz_put_bytes(x->sink.trace, "byte", &byte, 1);
	return sw_fuzz_sink_event(&x->sink);
}

static int on_structure(void *ud, const sw_bval *value)
{
	v3_ctx *x = ud;
	put_bval(&x->sink, "structure", value);
	return sw_fuzz_sink_event(&x->sink);
}

static int on_bytes_begin(void *ud, uint32_t total)
{
	v3_ctx *x = ud;
	sw_fuzz_sink_begin(&x->sink, total);
	return sw_fuzz_sink_event(&x->sink);
}

static int on_bytes(void *ud, const uint8_t *p, size_t n)
{
	v3_ctx *x = ud;
	sw_fuzz_sink_data(&x->sink, p, n);
	return 0;
}

static int on_bytes_end(void *ud)
{
	v3_ctx *x = ud;
	sw_fuzz_sink_end(&x->sink, "bytes");
	return sw_fuzz_sink_event(&x->sink);
}

static int on_end(void *ud)
{
	v3_ctx *x = ud;
	sw_fuzz_puts(x->sink.trace, "end\n");
	return sw_fuzz_sink_event(&x->sink);
}

static const sw_v3_callbacks callbacks = {
	on_headers, on_byte, on_structure, on_bytes_begin, on_bytes, on_bytes_end, on_end,
};

static int create(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant,
                  bool expect_marker)
{
	/* The harness's own context uses libc memory: only the decoder is
	 * under test. */
	v3_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	sw_fuzz_sink_init(&x->sink, trace, variant & 15);
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = expect_marker;
	if (variant & 0x80) {
		cfg.max_header = 40;
		cfg.max_struct = 24;
		cfg.max_part = 16;
		cfg.blimits.max_depth = 2;
		cfg.blimits.max_elements = 6;
	}
	int rc = sw_v3_dec_new(&x->dec, &cfg, &callbacks, x, mem);
	if (rc != 0) {
		if (x->dec != NULL)
			sw_fuzz_fail("v3: sw_v3_dec_new failed but set *out\n");
		sw_fuzz_sink_free(&x->sink);
		free(x);
		return rc;
	}
	*out = x;
	return 0;
}

static int create_request(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant)
{
	return create(out, mem, trace, variant, false);
}

static int create_response(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant)
{
	return create(out, mem, trace, variant, true);
}

static ptrdiff_t feed(void *d, const uint8_t *in, size_t len)
{
	v3_ctx *x = d;
	ptrdiff_t r = sw_v3_dec_feed(x->dec, in, len);
	if (r < 0 && sw_v3_dec_error(x->dec) != (int)r)
		sw_fuzz_fail("v3: feed returned %s but sw_v3_dec_error() says %s\n",
		             sw_errname((int)r), sw_errname(sw_v3_dec_error(x->dec)));
	return r;
}

static bool done(void *d)
{
	return sw_v3_dec_done(((v3_ctx *)d)->dec);
}

static void reset(void *d)
{
	v3_ctx *x = d;
	x->sink.in_part = false;
	sw_v3_dec_reset(x->dec);
}

static int finish(void *d)
{
	return sw_v3_dec_finish(((v3_ctx *)d)->dec);
}

static size_t next_read_size(void *d)
{
	return sw_v3_dec_next_read_size(((v3_ctx *)d)->dec);
}

static void destroy(void *d)
{
	v3_ctx *x = d;
	sw_v3_dec_del(x->dec);
	sw_fuzz_sink_free(&x->sink);
	free(x);
}

#define V3_CHECKS (SW_FUZZ_CHECK_FINISH_STICKY | SW_FUZZ_CHECK_NRS_ZERO | SW_FUZZ_CHECK_NRS_BOUND)

static const sw_fuzz_codec v3_request = {
	"v3_request", V3_CHECKS, create_request, feed, done, reset, finish, next_read_size, destroy,
};

static const sw_fuzz_codec v3_response = {
	"v3_response", V3_CHECKS, create_response, feed, done, reset, finish, next_read_size, destroy,
};

int sw_fuzz_v3_one(bool expect_marker, const uint8_t *data, size_t size)
{
	return sw_fuzz_codec_one(expect_marker ? &v3_response : &v3_request, data, size);
}
