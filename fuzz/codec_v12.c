/*
 * The v1/v2 message decoder (smartwire/v12.h) under the codec driver, shared
 * by fuzz_v12_request (server side) and fuzz_v12_response (client side).
 *
 * Whether a body follows is not on the wire, so the trailer's variant byte
 * decides it, as the verb (server) or the call (client) would:
 *   bit 0      protocol version: 0 = v1, 1 = v2
 *   bits 1-2   body mode: 0 none, 1 length-prefixed, 2 chunked, 3 "as
 *              Breezy": decided in on_args from the message itself (server:
 *              the verbs whose Breezy 3.3.2 handler takes a body; client: no
 *              body after a v2 "failed" or a v1 error tuple, else
 *              length-prefixed)
 *   bit 3      when modes 0-2 are declared: 0 before the first byte (after
 *              new/reset), 1 from inside on_args
 *   bit 4      marker: requests set expect_request_marker (the v2 marker is
 *              in the input), responses set response_marker_consumed (it
 *              is not)
 *   bits 5-6   the k-th event callback aborts (0: none)
 *   bit 7      tiny limits (line, args, bodies, chunks)
 * sw_v12_dec_expect_body() must accept every legal mode and refuse chunked
 * bodies outside v2 responses with SW_ERR_INVALID_ARGUMENT (the target then
 * expects no body).
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "smartwire/verbs.h"

typedef struct v12_ctx {
	sw_v12_dec *dec;
	sw_fuzz_sink sink;
	sw_v12_kind kind;
	int version;
	unsigned mode;     /* variant bits 1-2 */
	bool in_on_args;   /* declare the mode from on_args */
	bool success;      /* v2 response status */
} v12_ctx;

/* Breezy's v1 client error list (_raise_args_if_error). */
/* A request whose Breezy handler reads a whole body (do_body): Breezy's
 * server waits for one (smartwire/verbs.h). */
static bool whole_body_verb(sw_slice verb)
{
	const sw_verb_info *v = sw_verb_lookup(verb.p, verb.n);
	return v && v->body == SW_VERB_BODY_WHOLE;
}

static const char *const v1_errors[] = {
	"norepository", "NoSuchFile", "FileExists", "DirectoryNotEmpty", "ShortReadvError",
	"UnicodeEncodeError", "UnicodeDecodeError", "ReadOnlyError", "nobranch",
	"NoSuchRevision", "nosuchrevision", "LockContention", "UnlockableTransport",
	"LockFailed", "TokenMismatch", "ReadError", "PermissionDenied",
};

static bool in_list(sw_slice s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == s.n && memcmp(list[i], s.p, s.n) == 0)
			return true;
	return false;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static sw_body_mode breezy_mode(const v12_ctx *x, const sw_slice *args)
{
	if (x->kind == SW_V12_REQUEST)
		return whole_body_verb(args[0]) ? SW_BODY_PREFIXED : SW_BODY_NONE;
	if (x->version == 2 && !x->success)
		return SW_BODY_NONE;
	if (x->version == 1 && in_list(args[0], v1_errors, COUNT(v1_errors)))
		return SW_BODY_NONE;
	return SW_BODY_PREFIXED;
}

/* Declares `mode`, checking the documented answer. */
static void declare(v12_ctx *x, sw_body_mode mode)
{
	int rc = sw_v12_dec_expect_body(x->dec, mode);
	bool legal = mode != SW_BODY_CHUNKED || (x->kind == SW_V12_RESPONSE && x->version == 2);
	if (legal && rc != 0)
		sw_fuzz_fail("v12: expect_body(%d) refused: %s\n", (int)mode, sw_errname(rc));
	if (!legal && rc != SW_ERR_INVALID_ARGUMENT)
		sw_fuzz_fail("v12: expect_body(chunked) outside v2 responses gave %s\n",
		             sw_errname(rc));
}

static int on_status(void *ud, bool success)
{
	v12_ctx *x = ud;
	x->success = success;
	sw_fuzz_puts(x->sink.trace, success ? "status success\n" : "status failed\n");
	return sw_fuzz_sink_event(&x->sink);
}

static int on_args(void *ud, const sw_slice *args, size_t n)
{
	v12_ctx *x = ud;
	if (n < 1)
		sw_fuzz_fail("v12: on_args with no element\n");
	size_t m;
	if (sw_v12_dec_args(x->dec, &m) != args || m != n)
		sw_fuzz_fail("v12: sw_v12_dec_args() disagrees with on_args\n");
	sw_fuzz_puts(x->sink.trace, "args ");
	if (sw_format_tuple(x->sink.trace, args, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory formatting args\n");
	sw_fuzz_puts(x->sink.trace, "\n");
	if (x->mode == 3)
		declare(x, breezy_mode(x, args));
	else if (x->in_on_args)
		declare(x, (sw_body_mode)x->mode);
	return sw_fuzz_sink_event(&x->sink);
}

static int on_part_begin(void *ud, uint64_t len)
{
	v12_ctx *x = ud;
	sw_fuzz_sink_begin(&x->sink, len);
	return sw_fuzz_sink_event(&x->sink);
}

static int on_piece(void *ud, const uint8_t *p, size_t n)
{
	v12_ctx *x = ud;
	sw_fuzz_sink_data(&x->sink, p, n);
	return 0;
}

static int on_chunk_end(void *ud)
{
	v12_ctx *x = ud;
	sw_fuzz_sink_end(&x->sink, "chunk");
	return sw_fuzz_sink_event(&x->sink);
}

static int on_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	v12_ctx *x = ud;
	sw_fuzz_puts(x->sink.trace, "error-chunks ");
	if (sw_format_tuple(x->sink.trace, args, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory formatting error chunks\n");
	sw_fuzz_puts(x->sink.trace, "\n");
	return sw_fuzz_sink_event(&x->sink);
}

static int on_end(void *ud)
{
	v12_ctx *x = ud;
	/* A length-prefixed body has no end event of its own: it ends here. */
	if (x->sink.in_part)
		sw_fuzz_sink_end(&x->sink, "body");
	sw_fuzz_puts(x->sink.trace, "end\n");
	return sw_fuzz_sink_event(&x->sink);
}

static const sw_v12_callbacks callbacks = {
	.on_status = on_status,
	.on_args = on_args,
	.on_body_begin = on_part_begin,
	.on_body = on_piece,
	.on_chunk_begin = on_part_begin,
	.on_chunk = on_piece,
	.on_chunk_end = on_chunk_end,
	.on_error_chunks = on_error_chunks,
	.on_end = on_end,
};

static void start_message(v12_ctx *x)
{
	x->success = false;
	x->sink.in_part = false;
	if (x->mode != 3 && !x->in_on_args)
		declare(x, (sw_body_mode)x->mode);
}

static int create(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant,
                  sw_v12_kind kind)
{
	v12_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		sw_fuzz_fail("fuzz harness: out of memory\n");
	x->kind = kind;
	x->version = (variant & 1) ? 2 : 1;
	x->mode = (variant >> 1) & 3;
	x->in_on_args = (variant >> 3) & 1;
	sw_fuzz_sink_init(&x->sink, trace, (variant >> 5) & 3);

	sw_v12_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	if (variant & 0x10) {
		if (kind == SW_V12_REQUEST)
			cfg.expect_request_marker = true;
		else
			cfg.response_marker_consumed = true;
	}
	if (variant & 0x80) {
		cfg.max_line = 24;
		cfg.max_args = 3;
		cfg.prefixed.max_length_line = 4;
		cfg.prefixed.max_body = 16;
		cfg.chunked.max_length_line = 4;
		cfg.chunked.max_chunk = 16;
		cfg.chunked.max_error_chunks = 2;
		cfg.chunked.max_error_bytes = 16;
	}
	int rc = sw_v12_dec_new(&x->dec, kind, x->version, &cfg, &callbacks, x, mem);
	if (rc != 0) {
		sw_fuzz_sink_free(&x->sink);
		free(x);
		return rc;
	}
	start_message(x);
	*out = x;
	return 0;
}

static int create_request(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant)
{
	return create(out, mem, trace, variant, SW_V12_REQUEST);
}

static int create_response(void **out, const sw_mem *mem, sw_buf *trace, uint8_t variant)
{
	return create(out, mem, trace, variant, SW_V12_RESPONSE);
}

static ptrdiff_t feed(void *d, const uint8_t *in, size_t len)
{
	return sw_v12_dec_feed(((v12_ctx *)d)->dec, in, len);
}

static bool done(void *d)
{
	return sw_v12_dec_done(((v12_ctx *)d)->dec);
}

static void reset(void *d)
{
	v12_ctx *x = d;
	sw_v12_dec_reset(x->dec);
	start_message(x);
}

static int finish(void *d)
{
	return sw_v12_dec_finish(((v12_ctx *)d)->dec);
}

static size_t next_read_size(void *d)
{
	return sw_v12_dec_next_read_size(((v12_ctx *)d)->dec);
}

static void destroy(void *d)
{
	v12_ctx *x = d;
	sw_v12_dec_del(x->dec);
	sw_fuzz_sink_free(&x->sink);
	free(x);
}

#define V12_CHECKS (SW_FUZZ_CHECK_FINISH_STICKY | SW_FUZZ_CHECK_NRS_ZERO | SW_FUZZ_CHECK_NRS_BOUND)

static const sw_fuzz_codec v12_request = {
	"v12_request", V12_CHECKS, create_request, feed, done, reset, finish, next_read_size,
	destroy,
};

static const sw_fuzz_codec v12_response = {
	"v12_response", V12_CHECKS, create_response, feed, done, reset, finish, next_read_size,
	destroy,
};

int sw_fuzz_v12_one(bool response, const uint8_t *data, size_t size)
{
	return sw_fuzz_codec_one(response ? &v12_response : &v12_request, data, size);
}
