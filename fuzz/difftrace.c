/*
 * difftrace: our side of the differential against Breezy (fuzz/diff_breezy.py).
 *
 *   difftrace TARGET FILE...
 *
 * For each FILE, a corpus input of the decoder target TARGET (v3_request,
 * v3_response, v12_request, v12_response, body_prefixed, body_chunked,
 * bencode, detect, readv), it strips the control trailer (fdp.h), decodes
 * the protocol bytes whole with our decoder, and prints "== FILE" and the
 * trace: the notation of smartwire/format.h exactly as diff_breezy.py writes
 * it for Breezy's decoders (after tests/vectors/gen_v3.py, gen_v12.py,
 * gen_bencode.py), the events of the FIRST message, then "excess <bytes>"
 * for the bytes after it, or "error <NAME>" when decoding failed or the
 * input ended inside the message (our finish() gives SW_ERR_UNEXPECTED_EOF;
 * Breezy's client raises ConnectionReset).  A streaming decoder's error
 * line (v3, v1/v2, bodies) ends with " at <OFFSET>": the offset in the
 * protocol bytes of the byte it failed on, found by decoding once more one
 * byte at a time (the decoders are chunking invariant), or their length
 * when the input ended.  diff_breezy.py compares without name and offset
 * and keeps them to check that the input justifies a departure.
 *
 * Configuration follows the target's trailer variant where it changes the
 * protocol (v1 or v2, body mode, where the v2 marker is); limit and
 * callback-abort bits are ignored: decoders run with their default limits,
 * which is what a server or client uses.  v1/v2 body modes are mapped to
 * what Breezy can be asked for (see diff_breezy.py):
 *   requests   0 none, 1 prefixed, 2 none (chunked requests do not exist),
 *              3 the body verbs of Breezy 3.3.2 (as codec_v12.c)
 *   responses  0 none; 1 and 3 prefixed, 2 chunked (v2) -- except that, as
 *              Breezy's client, no body is read after a v2 "failed", a v1
 *              error tuple, or the unknown-method answer to the verb
 *              "verb-x" (diff_breezy.py calls Breezy with that verb).
 * An input the Breezy side cannot be given (a v2 request without its marker
 * where the variant says it carries one) prints "skip <reason>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdp.h"
#include "smartwire/bencode.h"
#include "smartwire/body.h"
#include "smartwire/detect.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/readv.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"
#include "smartwire/verbs.h"

/* A request whose Breezy handler reads a whole body (do_body): Breezy's
 * server waits for one (smartwire/verbs.h). */
static bool whole_body_verb(sw_slice verb)
{
	const sw_verb_info *v = sw_verb_lookup(verb.p, verb.n);
	return v && v->body == SW_VERB_BODY_WHOLE;
}

static sw_buf out; /* the trace of the current file (libc) */

/* The offset pass: feeds go one byte at a time and the first failing byte's
 * offset from `base` (the protocol bytes) is kept in fail_at. */
static bool per_byte;
static const uint8_t *base;
static size_t fail_at;

typedef ptrdiff_t (*feed_fn)(void *dec, const uint8_t *in, size_t len);

/* Feeds in[0..len) whole, or in the offset pass one byte at a time,
 * stopping at the first error (noted in fail_at) or when the decoder takes
 * no more (the message is complete).  Returns what the decoder returned
 * whole: the count consumed or the error. */
static ptrdiff_t feed(feed_fn f, void *dec, const uint8_t *in, size_t len)
{
	if (!per_byte)
		return f(dec, in, len);
	size_t at = 0;
	while (at < len) {
		ptrdiff_t r = f(dec, in + at, 1);
		if (r < 0) {
			fail_at = (size_t)(in + at - base);
			return r;
		}
		if (r == 0)
			break;
		at++;
	}
	return (ptrdiff_t)at;
}

static ptrdiff_t feed_v3(void *d, const uint8_t *in, size_t len)
{
	return sw_v3_dec_feed(d, in, len);
}

static ptrdiff_t feed_v12(void *d, const uint8_t *in, size_t len)
{
	return sw_v12_dec_feed(d, in, len);
}

static ptrdiff_t feed_prefixed(void *d, const uint8_t *in, size_t len)
{
	return sw_prefixed_feed(d, in, len);
}

static ptrdiff_t feed_chunked(void *d, const uint8_t *in, size_t len)
{
	return sw_chunked_feed(d, in, len);
}

static void put(const char *s)
{
	sw_fuzz_puts(&out, s);
}

static void put_bytes(const char *event, const void *p, size_t n)
{
	sw_fuzz_put_bytes(&out, event, p, n);
}

static void put_error(int rc)
{
	put("error ");
	put(sw_errname(rc));
	put("\n");
}

static void put_value(const char *event, const sw_bval *v)
{
	put(event);
	put(" ");
	if (sw_bval_format(&out, v) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	put("\n");
}

/* Joined body bytes of the current part. */
static sw_buf part;

static void part_add(const uint8_t *p, size_t n)
{
	if (sw_buf_append(&part, p, n) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
}

/* After a complete message at `used` of `len`: the excess, if any. */
static void put_excess(const uint8_t *in, size_t len, size_t used)
{
	if (used < len)
		put_bytes("excess", in + used, len - used);
}

/* ---- v3 -------------------------------------------------------------- */

static int v3_headers(void *ud, const sw_bval *d)
{
	(void)ud;
	put_value("headers", d);
	return 0;
}

static int v3_byte(void *ud, uint8_t b)
{
	(void)ud;
	put_bytes("byte", &b, 1);
	return 0;
}

static int v3_structure(void *ud, const sw_bval *v)
{
	(void)ud;
	put_value("structure", v);
	return 0;
}

static int v3_bytes_begin(void *ud, uint32_t total)
{
	(void)ud;
	(void)total;
	sw_buf_reset(&part);
	return 0;
}

static int v3_bytes(void *ud, const uint8_t *p, size_t n)
{
	(void)ud;
	part_add(p, n);
	return 0;
}

static int v3_bytes_end(void *ud)
{
	(void)ud;
	put_bytes("bytes", part.data, part.len);
	return 0;
}

static int v3_end(void *ud)
{
	(void)ud;
	put("end\n");
	return 0;
}

static void do_v3(bool marker, const uint8_t *in, size_t len)
{
	static const sw_v3_callbacks cb = {v3_headers, v3_byte, v3_structure, v3_bytes_begin,
	                                   v3_bytes, v3_bytes_end, v3_end};
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = marker;
	sw_v3_dec *d;
	if (sw_v3_dec_new(&d, &cfg, &cb, NULL, NULL) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	ptrdiff_t r = feed(feed_v3, d, in, len);
	if (r < 0)
		put_error((int)r);
	else if (sw_v3_dec_done(d))
		put_excess(in, len, (size_t)r);
	else if (len > 0)
		put_error(sw_v3_dec_finish(d));
	sw_v3_dec_del(d);
}

/* ---- v1/v2 messages -------------------------------------------------- */

typedef struct v12 {
	sw_v12_dec *dec;
	bool response;
	int version;
	unsigned mode; /* variant bits 1-2 */
	int status;    /* v2 responses: -1 unknown, 0 failed, 1 success */
	bool body;     /* a length-prefixed body was declared */
} v12;

static const char *const v1_errors[] = {
	"norepository", "NoSuchFile", "FileExists", "DirectoryNotEmpty", "ShortReadvError",
	"UnicodeEncodeError", "UnicodeDecodeError", "ReadOnlyError", "nobranch",
	"NoSuchRevision", "nosuchrevision", "LockContention", "UnlockableTransport",
	"LockFailed", "TokenMismatch", "ReadError", "PermissionDenied",
};

static bool eq(sw_slice s, const char *lit)
{
	return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static bool in_list(sw_slice s, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (eq(s, l[i]))
			return true;
	return false;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static sw_body_mode mode_for(const v12 *x, const sw_slice *args, size_t n)
{
	if (!x->response) {
		if (x->mode == 1)
			return SW_BODY_PREFIXED;
		if (x->mode == 3 && whole_body_verb(args[0]))
			return SW_BODY_PREFIXED;
		return SW_BODY_NONE;
	}
	if (x->mode == 0)
		return SW_BODY_NONE;
	/* Breezy's client: _response_is_unknown_method, then the error rules. */
	if (n == 2 && eq(args[0], "error") &&
	    (eq(args[1], "Generic bzr smart protocol error: bad request 'verb-x'") ||
	     eq(args[1], "Generic bzr smart protocol error: bad request u'verb-x'")))
		return SW_BODY_NONE;
	if (x->version == 2 && x->status != 1)
		return SW_BODY_NONE;
	if (x->version == 1 && in_list(args[0], v1_errors, COUNT(v1_errors)))
		return SW_BODY_NONE;
	if (x->mode == 2)
		return x->version == 2 ? SW_BODY_CHUNKED : SW_BODY_NONE;
	return SW_BODY_PREFIXED;
}

static int on_status(void *ud, bool success)
{
	v12 *x = ud;
	x->status = success;
	put(success ? "status success\n" : "status failed\n");
	return 0;
}

static int on_args(void *ud, const sw_slice *args, size_t n)
{
	v12 *x = ud;
	put("args ");
	if (sw_format_tuple(&out, args, n) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	put("\n");
	sw_body_mode m = mode_for(x, args, n);
	x->body = m == SW_BODY_PREFIXED;
	int rc = sw_v12_dec_expect_body(x->dec, m);
	if (rc != 0)
		sw_fuzz_fail("difftrace: expect_body refused: %s\n", sw_errname(rc));
	sw_buf_reset(&part);
	return 0;
}

static int on_body_begin(void *ud, uint64_t len)
{
	(void)ud;
	(void)len;
	sw_buf_reset(&part);
	return 0;
}

static int on_piece(void *ud, const uint8_t *p, size_t n)
{
	(void)ud;
	part_add(p, n);
	return 0;
}

static int on_chunk_end(void *ud)
{
	(void)ud;
	put_bytes("chunk", part.data, part.len);
	sw_buf_reset(&part);
	return 0;
}

static int on_error_chunks(void *ud, const sw_slice *a, size_t n)
{
	(void)ud;
	put("error-chunks ");
	if (sw_format_tuple(&out, a, n) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	put("\n");
	return 0;
}

static int on_end(void *ud)
{
	v12 *x = ud;
	if (x->body)
		put_bytes("body", part.data, part.len);
	put("end\n");
	return 0;
}

static void do_v12(bool response, uint8_t variant, const uint8_t *in, size_t len)
{
	static const sw_v12_callbacks cb = {
		.on_status = on_status, .on_args = on_args, .on_body_begin = on_body_begin,
		.on_body = on_piece, .on_chunk_begin = on_body_begin, .on_chunk = on_piece,
		.on_chunk_end = on_chunk_end, .on_error_chunks = on_error_chunks, .on_end = on_end,
	};
	v12 x = {NULL, response, (variant & 1) ? 2 : 1, (variant >> 1) & 3, -1, false};
	sw_v12_config cfg;
	memset(&cfg, 0, sizeof cfg);
	if (x.version == 2 && (variant & 0x10)) {
		if (response) {
			cfg.response_marker_consumed = true;
		} else {
			/* Breezy's server never sees a v2 request without its
			 * marker (detection makes it v1): strip it or skip. */
			size_t m = SW_V2_REQUEST_MARKER_LEN;
			if (len < m || memcmp(in, SW_V2_REQUEST_MARKER, m) != 0) {
				put("skip v2 request without its marker\n");
				return;
			}
			in += m;
			len -= m;
		}
	}
	sw_buf_reset(&part);
	if (sw_v12_dec_new(&x.dec, response ? SW_V12_RESPONSE : SW_V12_REQUEST, x.version, &cfg,
	                   &cb, &x, NULL) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	ptrdiff_t r = feed(feed_v12, x.dec, in, len);
	if (r < 0)
		put_error((int)r);
	else if (sw_v12_dec_done(x.dec))
		put_excess(in, len, (size_t)r);
	else
		put_error(len ? sw_v12_dec_finish(x.dec) : SW_ERR_UNEXPECTED_EOF);
	sw_v12_dec_del(x.dec);
}

/* ---- bodies ---------------------------------------------------------- */

static int p_length(void *ud, uint64_t len)
{
	(void)ud;
	(void)len;
	sw_buf_reset(&part);
	return 0;
}

static int p_data(void *ud, const uint8_t *p, size_t n)
{
	(void)ud;
	part_add(p, n);
	return 0;
}

static int p_end(void *ud)
{
	(void)ud;
	put_bytes("body", part.data, part.len);
	put("end\n");
	return 0;
}

static void do_prefixed(const uint8_t *in, size_t len)
{
	static const sw_prefixed_callbacks cb = {p_length, p_data, p_end};
	sw_prefixed_dec *d;
	if (sw_prefixed_new(&d, NULL, &cb, NULL, NULL) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	ptrdiff_t r = feed(feed_prefixed, d, in, len);
	if (r < 0)
		put_error((int)r);
	else if (sw_prefixed_done(d))
		put_excess(in, len, (size_t)r);
	else
		put_error(SW_ERR_UNEXPECTED_EOF); /* Breezy: not finished_reading */
	sw_prefixed_del(d);
}

static int c_end(void *ud)
{
	(void)ud;
	put("end\n");
	return 0;
}

static void do_chunked(const uint8_t *in, size_t len)
{
	sw_chunked_callbacks cb;
	memset(&cb, 0, sizeof cb);
	cb.on_chunk_begin = p_length;
	cb.on_chunk = p_data;
	cb.on_chunk_end = on_chunk_end;
	cb.on_error_chunks = on_error_chunks;
	cb.on_end = c_end;
	sw_chunked_dec *d;
	if (sw_chunked_new(&d, NULL, &cb, NULL, NULL) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	ptrdiff_t r = feed(feed_chunked, d, in, len);
	if (r < 0)
		put_error((int)r);
	else if (sw_chunked_done(d))
		put_excess(in, len, (size_t)r);
	else
		put_error(SW_ERR_UNEXPECTED_EOF);
	sw_chunked_del(d);
}

/* ---- bencode, detect, readv ------------------------------------------ */

static void do_bencode(const uint8_t *in, size_t len)
{
	sw_bval *v = NULL;
	int rc = sw_bdecode(NULL, in, len, NULL, &v);
	if (rc != 0) {
		put_error(rc);
		return;
	}
	if (sw_bval_format(&out, v) != 0)
		sw_fuzz_fail("difftrace: out of memory\n");
	put("\n");
	sw_bval_del(NULL, v);
}

static void do_detect(const uint8_t *in, size_t len)
{
	size_t marker = 0;
	sw_version v = sw_detect_bytes(in, len, &marker);
	char line[64];
	snprintf(line, sizeof line, "%d %zu\n", (int)v, marker);
	put(line);
}

static void do_readv(const uint8_t *in, size_t len)
{
	sw_readv_range *r = NULL;
	size_t n = 0;
	int rc = sw_readv_parse(in, len, 0, NULL, &r, &n);
	if (rc != 0) {
		put_error(rc);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char line[64];
		snprintf(line, sizeof line, "%llu,%llu\n", (unsigned long long)r[i].start,
		         (unsigned long long)r[i].length);
		put(line);
	}
	sw_free(NULL, r);
}

/* ---- main ------------------------------------------------------------ */

/* Appends the whole file to b.  Returns 0 or -1. */
static int slurp(const char *path, sw_buf *b)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	uint8_t tmp[65536];
	size_t k;
	int rc = 0;
	while (rc == 0 && (k = fread(tmp, 1, sizeof tmp, f)) > 0)
		rc = sw_buf_append(b, tmp, k) == 0 ? 0 : -1;
	if (ferror(f))
		rc = -1;
	fclose(f);
	return rc;
}

/* Decodes one input with the decoder of target t (the index in targets[]). */
static void run(int t, const sw_fuzz_ctl *ctl)
{
	switch (t) {
	case 0:
	case 1: do_v3(t == 1, ctl->data, ctl->len); break;
	case 2:
	case 3: do_v12(t == 3, ctl->variant, ctl->data, ctl->len); break;
	case 4: do_prefixed(ctl->data, ctl->len); break;
	case 5: do_chunked(ctl->data, ctl->len); break;
	case 6: do_bencode(ctl->data, ctl->len); break;
	case 7: do_detect(ctl->data, ctl->len); break;
	default: do_readv(ctl->data, ctl->len); break;
	}
}

/* After an error line of a streaming decoder, " at OFFSET": the offset
 * pass decodes the input again, and its trace is dropped. */
static void add_error_offset(int t, const sw_fuzz_ctl *ctl)
{
	static const char err[] = "error SW_";
	size_t last = out.len > 1 ? out.len - 1 : 0;
	while (last > 0 && out.data[last - 1] != '\n')
		last--;
	if (out.len - last <= sizeof err - 1 || memcmp(out.data + last, err, sizeof err - 1) != 0)
		return;
	size_t mark = out.len;
	per_byte = true;
	fail_at = ctl->len; /* unless a byte fails: the input ended */
	run(t, ctl);
	per_byte = false;
	out.len = mark - 1; /* without the error line's "\n" */
	char at[32];
	snprintf(at, sizeof at, " at %zu\n", fail_at);
	put(at);
}

int main(int argc, char **argv)
{
	static const char *const targets[] = {"v3_request", "v3_response", "v12_request",
	                                      "v12_response", "body_prefixed", "body_chunked",
	                                      "bencode", "detect", "readv"};
	if (argc < 2) {
		fprintf(stderr, "usage: %s TARGET FILE...\n", argv[0]);
		return 2;
	}
	int t = -1;
	for (int i = 0; i < (int)COUNT(targets); i++)
		if (strcmp(argv[1], targets[i]) == 0)
			t = i;
	if (t < 0) {
		fprintf(stderr, "%s: unknown target %s\n", argv[0], argv[1]);
		return 2;
	}
	sw_buf_init(&out, NULL);
	sw_buf_init(&part, NULL);
	int rc = 0;
	for (int i = 2; i < argc; i++) {
		sw_buf file;
		sw_buf_init(&file, NULL);
		if (slurp(argv[i], &file) < 0) {
			sw_buf_fini(&file);
			fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
			rc = 1;
			continue;
		}
		sw_fuzz_ctl ctl;
		sw_fuzz_ctl_read(&ctl, file.data, file.len);
		sw_buf_reset(&out);
		base = ctl.data;
		per_byte = false;
		run(t, &ctl);
		if (t <= 5) /* the streaming decoders */
			add_error_offset(t, &ctl);
		printf("== %s\n%.*s", argv[i], (int)out.len, out.data ? (const char *)out.data : "");
		sw_buf_fini(&file);
	}
	sw_buf_fini(&out);
	sw_buf_fini(&part);
	return rc;
}
