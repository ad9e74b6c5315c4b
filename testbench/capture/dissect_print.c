/*
 * The one-direction dissector of `smartwire dissect` (sw_dis_stream in
 * dissect.h): every message of a byte stream in the readable, trace or JSON
 * form.  Moved from tools/cmd_dissect.c with its output unchanged
 * (tests/tools/dissect.sh).
 */
#include <string.h>

#include "capture/dissect.h"
#include "smartwire/error.h"

static void print_buf(FILE *f, const sw_buf *b)
{
	if (b->len)
		fwrite(b->data, 1, b->len, f);
}

static void print_msg(FILE *f, sw_dis_format fmt, sw_dis_kind kind, size_t index, int version,
                      size_t start, size_t len, sw_dis_msg *m)
{
	const char *what = kind == SW_DIS_REQUEST ? "request" : "response";
	const char *status = m->status == 1 ? "success" : m->status == 0 ? "failed" : NULL;
	char digest[65] = "";
	if (m->body)
		sw_sha256_hex(&m->sha, digest);
	if (fmt == SW_DIS_JSON) {
		fprintf(
		    f,
		    "{\"index\":%zu,\"kind\":\"%s\",\"version\":%d,\"offset\":%zu,\"length\":%zu",
		    index, what, version, start, len);
		if (m->headers.len) {
			fprintf(f, ",\"headers\":");
			print_buf(f, &m->headers);
		}
		if (status)
			fprintf(f, ",\"status\":\"%s\"", status);
		fprintf(f, ",\"args\":");
		if (m->args.len)
			print_buf(f, &m->args);
		else
			fprintf(f, "null");
		if (m->body)
			fprintf(f,
			        ",\"body_length\":%llu,\"body_parts\":%zu,\"body_sha256\":\"%s\"",
			        (unsigned long long)m->body_len, m->body_parts, digest);
		if (m->error_args.len) {
			fprintf(f, ",\"body_error\":");
			print_buf(f, &m->error_args);
		}
		fprintf(f, "}\n");
		return;
	}
	fprintf(f, "message %zu: %s v%d, bytes %zu-%zu (%zu bytes)\n", index, what, version, start,
	        start + len, len);
	if (fmt == SW_DIS_TRACE) {
		print_buf(f, &m->trace);
		return;
	}
	/* Readable: the trace minus the body bytes, plus a body summary. */
	const uint8_t *p = m->trace.data;
	size_t n = m->trace.len;
	while (n) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t l = nl ? (size_t)(nl - p) : n;
		bool bodyline = (l >= 6 && memcmp(p, "bytes ", 6) == 0) ||
		                (l >= 5 && memcmp(p, "body ", 5) == 0) ||
		                (l >= 6 && memcmp(p, "chunk ", 6) == 0);
		if (!bodyline)
			fprintf(f, "  %.*s\n", (int)l, (const char *)p);
		p += nl ? l + 1 : l;
		n -= nl ? l + 1 : l;
	}
	if (m->body)
		fprintf(f, "  body: %llu bytes in %zu part%s, sha256 %s\n",
		        (unsigned long long)m->body_len, m->body_parts,
		        m->body_parts == 1 ? "" : "s", digest);
}

int sw_dis_stream(FILE *out, sw_dis_kind kind, sw_dis_format fmt, const uint8_t *in, size_t len)
{
	const char *what = kind == SW_DIS_REQUEST ? "request" : "response";
	size_t pos = 0;
	for (size_t index = 1; pos < len; index++) {
		sw_dis_msg m;
		sw_dis_msg_init(&m, NULL, true);
		int version = 0;
		ptrdiff_t used =
		    sw_dis_decode(kind, in + pos, len - pos, &m, &version, false, NULL);
		if (used == SW_ERR_NOMEM) {
			sw_dis_msg_fini(&m);
			return SW_ERR_NOMEM;
		}
		if (used < 0) {
			/* Ending too soon is found at the end of the input; anything
			 * else at its first bad byte. */
			ptrdiff_t lo =
			    used == SW_ERR_UNEXPECTED_EOF
			        ? (ptrdiff_t)(len - pos)
			        : sw_dis_error_offset(kind, in + pos, len - pos, &version, NULL);
			if (lo < 0) {
				sw_dis_msg_fini(&m);
				return (int)lo;
			}
			size_t off = pos + (size_t)lo;
			if (fmt == SW_DIS_JSON)
				fprintf(
				    out,
				    "{\"index\":%zu,\"kind\":\"%s\",\"version\":%d,\"offset\":%zu,"
				    "\"error\":\"%s\",\"message\":\"%s\",\"error_offset\":%zu}\n",
				    index, what, version, pos, sw_errname((int)used),
				    sw_strerror((int)used), off);
			else
				fprintf(
				    out,
				    "message %zu: %s v%d at byte %zu: error at byte %zu: %s (%s)\n",
				    index, what, version, pos, off, sw_strerror((int)used),
				    sw_errname((int)used));
			sw_dis_msg_fini(&m);
			return 1;
		}
		print_msg(out, fmt, kind, index, version, pos, (size_t)used, &m);
		sw_dis_msg_fini(&m);
		pos += (size_t)used;
	}
	return 0;
}
