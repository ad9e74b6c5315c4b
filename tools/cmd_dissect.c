/*
 * smartwire dissect: print the messages of a captured byte stream.
 *
 * The input is one direction of one connection (what a client sent, or what
 * a server answered), as written by `smartwire record`, tcpdump's payload or
 * a test.  Each message's version is detected on its own (versions may be
 * mixed on a connection), exactly as a Breezy server detects requests; a
 * response is v3 if it starts with the v3 marker, v2 with the v2 response
 * marker, v1 otherwise.
 *
 * Whether a v1/v2 message carries a body is not on the wire: see
 * dissect_decode.c for how it is decided.
 *
 * Output: a readable summary per message, the raw event trace (--trace, the
 * notation of smartwire/format.h), or one JSON object per line (--json).  In
 * JSON, byte strings are JSON strings whose code points are the byte values
 * (so "\u00e9" is the byte 0xe9), which keeps them lossless.  Malformed input
 * is reported with its exact byte offset and the exit status is 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "dissect.h"
#include "smartwire/error.h"

enum output { OUT_TEXT, OUT_TRACE, OUT_JSON };

static void print_buf(FILE *f, const sw_buf *b)
{
	if (b->len)
		fwrite(b->data, 1, b->len, f);
}

static void print_msg(enum output out, enum direction dir, size_t index, int version,
                      size_t start, size_t len, struct msg *m)
{
	const char *kind = dir == DIR_REQUEST ? "request" : "response";
	const char *status = m->status == 1 ? "success" : m->status == 0 ? "failed" : NULL;
	char digest[65] = "";
	if (m->body)
		sw_sha256_hex(&m->sha, digest);
	if (out == OUT_JSON) {
		printf("{\"index\":%zu,\"kind\":\"%s\",\"version\":%d,\"offset\":%zu,\"length\":%zu",
		       index, kind, version, start, len);
		if (m->headers.len) {
			printf(",\"headers\":");
			print_buf(stdout, &m->headers);
		}
		if (status)
			printf(",\"status\":\"%s\"", status);
		printf(",\"args\":");
		if (m->args.len)
			print_buf(stdout, &m->args);
		else
			printf("null");
		if (m->body)
			printf(",\"body_length\":%llu,\"body_parts\":%zu,\"body_sha256\":\"%s\"",
			       (unsigned long long)m->body_len, m->body_parts, digest);
		if (m->error_args.len) {
			printf(",\"body_error\":");
			print_buf(stdout, &m->error_args);
		}
		printf("}\n");
		return;
	}
	printf("message %zu: %s v%d, bytes %zu-%zu (%zu bytes)\n", index, kind, version, start,
	       start + len, len);
	if (out == OUT_TRACE) {
		print_buf(stdout, &m->trace);
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
			printf("  %.*s\n", (int)l, (const char *)p);
		p += nl ? l + 1 : l;
		n -= nl ? l + 1 : l;
	}
	if (m->body)
		printf("  body: %llu bytes in %zu part%s, sha256 %s\n",
		       (unsigned long long)m->body_len, m->body_parts, m->body_parts == 1 ? "" : "s",
		       digest);
}

static int usage(FILE *f, int code)
{
	fprintf(f, "usage: smartwire dissect [--direction request|response] [--json | --trace] "
	           "[FILE]\n\n"
	           "Prints each message of a captured byte stream (FILE or standard input).\n"
	           "  --direction  what the bytes are: a client's requests (default) or a\n"
	           "               server's responses\n"
	           "  --json       one JSON object per message\n"
	           "  --trace      the decoder's event trace (smartwire/format.h notation)\n"
	           "Exit status: 0 all messages decoded, 1 malformed input, 2 usage.\n");
	return code;
}

static int read_all(FILE *f, sw_buf *b)
{
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		if (sw_buf_append(b, tmp, n) < 0)
			return -1;
	return ferror(f) ? -1 : 0;
}

/* The offset of the first bad byte of the message at in[0..len): decoded
 * again on ever longer prefixes, one byte at a time, every decoder consumes
 * up to that byte and fails on it (a prefix that only ends too early is
 * SW_ERR_UNEXPECTED_EOF). */
static size_t error_offset(enum direction dir, const uint8_t *in, size_t len)
{
	size_t lo = 0;
	for (size_t cut = 1; cut <= len; cut++) {
		struct msg again;
		int version;
		sw__dissect_msg_init(&again);
		ptrdiff_t upto = sw__dissect_one(dir, in, cut, &again, &version, true);
		sw__dissect_msg_free(&again);
		if (upto < 0 && upto != SW_ERR_UNEXPECTED_EOF)
			return cut - 1;
		lo = cut;
	}
	return lo;
}

static void print_error(enum output out, enum direction dir, size_t index, int version, size_t pos,
                        size_t off, int err)
{
	const char *kind = dir == DIR_REQUEST ? "request" : "response";
	if (out == OUT_JSON)
		printf("{\"index\":%zu,\"kind\":\"%s\",\"version\":%d,\"offset\":%zu,"
		       "\"error\":\"%s\",\"message\":\"%s\",\"error_offset\":%zu}\n",
		       index, kind, version, pos, sw_errname(err), sw_strerror(err), off);
	else
		printf("message %zu: %s v%d at byte %zu: error at byte %zu: %s (%s)\n", index, kind,
		       version, pos, off, sw_strerror(err), sw_errname(err));
}

/* Parses the command line.  Returns -1 to go on, or an exit status. */
static int parse_cli(int argc, char **argv, enum direction *dir, enum output *out,
                     const char **path)
{
	static const struct option opts[] = {
	    {"direction", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'J'},
	    {"trace", no_argument, NULL, 'T'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return usage(stdout, SW_EXIT_OK);
		case 'J': *out = OUT_JSON; break;
		case 'T': *out = OUT_TRACE; break;
		case 'd':
			if (strcmp(optarg, "request") == 0)
				*dir = DIR_REQUEST;
			else if (strcmp(optarg, "response") == 0)
				*dir = DIR_RESPONSE;
			else
				return usage(stderr, SW_EXIT_USAGE);
			break;
		default: /* getopt_long said what was wrong */ return usage(stderr, SW_EXIT_USAGE);
		}
	}
	if (argc - optind > 1)
		return usage(stderr, SW_EXIT_USAGE);
	*path = optind < argc ? argv[optind] : NULL;
	return -1;
}

int sw_cmd_dissect(int argc, char **argv)
{
	enum direction dir = DIR_REQUEST;
	enum output out = OUT_TEXT;
	const char *path = NULL;
	int status = parse_cli(argc, argv, &dir, &out, &path);
	if (status >= 0)
		return status;
	FILE *f = stdin;
	if (path && strcmp(path, "-") != 0 && !(f = fopen(path, "rb"))) {
		fprintf(stderr, "smartwire dissect: %s: %s\n", path, strerror(errno));
		return SW_EXIT_FAILURE;
	}
	sw_buf in;
	sw_buf_init(&in, NULL);
	int rc = read_all(f, &in);
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		fprintf(stderr, "smartwire dissect: cannot read input\n");
		sw_buf_fini(&in);
		return SW_EXIT_FAILURE;
	}
	status = SW_EXIT_OK;
	size_t pos = 0;
	for (size_t index = 1; pos < in.len; index++) {
		struct msg m;
		sw__dissect_msg_init(&m);
		int version = 0;
		ptrdiff_t used =
		    sw__dissect_one(dir, in.data + pos, in.len - pos, &m, &version, false);
		if (used < 0) {
			size_t off = pos + error_offset(dir, in.data + pos, in.len - pos);
			print_error(out, dir, index, version, pos, off, (int)used);
			sw__dissect_msg_free(&m);
			status = SW_EXIT_FAILURE;
			break;
		}
		print_msg(out, dir, index, version, pos, (size_t)used, &m);
		sw__dissect_msg_free(&m);
		pos += (size_t)used;
	}
	sw_buf_fini(&in);
	return status;
}
