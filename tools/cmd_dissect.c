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
 * Whether a v1/v2 message carries a body is not on the wire (the peers know
 * it from the verb).  The dissector uses Breezy's VFS verb table for
 * requests; for responses and unknown verbs it looks at what follows the
 * tuple line: "chunked\n" (v2) or a complete "<digits>\n<bytes>done\n".
 *
 * Output: a readable summary per message, the raw event trace (--trace, the
 * notation of smartwire/format.h), or one JSON object per line (--json).  In
 * JSON, byte strings are JSON strings whose code points are the byte values
 * (so "\u00e9" is the byte 0xe9), which keeps them lossless.  Malformed input
 * is reported with its exact byte offset and the exit status is 1.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/dissect.h"
#include "cmds.h"
#include "smartwire/error.h"

enum direction { DIR_REQUEST, DIR_RESPONSE };
enum output { OUT_TEXT, OUT_TRACE, OUT_JSON };

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

int sw_cmd_dissect(int argc, char **argv)
{
	enum direction dir = DIR_REQUEST;
	enum output out = OUT_TEXT;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return usage(stdout, SW_EXIT_OK);
		if (strcmp(a, "--json") == 0) {
			out = OUT_JSON;
		} else if (strcmp(a, "--trace") == 0) {
			out = OUT_TRACE;
		} else if (strncmp(a, "--direction", 11) == 0) {
			const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : "");
			if (strcmp(v, "request") == 0)
				dir = DIR_REQUEST;
			else if (strcmp(v, "response") == 0)
				dir = DIR_RESPONSE;
			else
				return usage(stderr, SW_EXIT_USAGE);
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "smartwire dissect: unknown option %s\n", a);
			return usage(stderr, SW_EXIT_USAGE);
		} else if (!path) {
			path = a;
		} else {
			return usage(stderr, SW_EXIT_USAGE);
		}
	}
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

	/* The decoder and the output live in testbench/capture/dissect.h. */
	int status = sw_dis_stream(stdout, dir == DIR_REQUEST ? SW_DIS_REQUEST : SW_DIS_RESPONSE,
	                           out == OUT_JSON    ? SW_DIS_JSON
	                           : out == OUT_TRACE ? SW_DIS_TRACE
	                                              : SW_DIS_TEXT,
	                           in.data, in.len);
	if (status < 0) {
		fprintf(stderr, "smartwire dissect: %s\n", sw_strerror(status));
		status = SW_EXIT_FAILURE;
	}
	sw_buf_fini(&in);
	return status;
}
