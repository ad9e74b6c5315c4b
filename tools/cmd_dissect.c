/*
 * smartwire dissect: print the messages of captured traffic.
 *
 * Two kinds of input:
 *  - a packet capture (pcap or pcapng, through libpcap) or a recording
 *    directory written by `smartwire record` (conn-NNN.c2s/.s2c): TCP is
 *    reassembled per connection and each request is printed with its answer
 *    (testbench/capture/capture.h);
 *  - anything else: one direction of one connection (what a client sent, or
 *    what a server answered), decoded message by message
 *    (testbench/capture/dissect.h).  Each message's version is detected on
 *    its own (versions may be mixed on a connection), exactly as a Breezy
 *    server detects requests; a response is v3 if it starts with the v3
 *    marker, v2 with the v2 response marker, v1 otherwise.
 *
 * Output: a readable summary, the raw event trace (--trace, one-direction
 * input only, in the notation of smartwire/format.h), or JSON (--json: one
 * object per message, or per exchange for captures; the schema is in
 * docs/dissect.md).  In JSON, byte strings are JSON strings whose code points
 * are the byte values (so "\u00e9" is the byte 0xe9), which keeps them
 * lossless.  Malformed input is reported with its exact byte offset.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/dissect.h"
#include "cmds.h"
#include "smartwire/error.h"

/* Exit status when the input cannot be read at all. */
#define EXIT_UNREADABLE 3

static int usage(FILE *f, int code)
{
	fprintf(f,
	        "usage: smartwire dissect [OPTIONS] [FILE | CAPTURE | RECORDING-DIR]\n\n"
	        "Prints the messages of captured smart-protocol traffic.\n"
	        "A pcap/pcapng capture or a `smartwire record` directory is reassembled per TCP\n"
	        "connection and printed as requests paired with their answers.  Any other FILE\n"
	        "(or standard input) is one direction of one connection.\n\n"
	        "  --json             JSON: one object per message (per exchange for captures)\n"
	        "  --trace            the decoder's event trace (one-direction input only)\n"
	        "  --direction D      one-direction input: `request` (default) or `response`\n"
	        "  --port N           captures: the server's TCP port (default 4155)\n"
	        "  --filter BPF       captures: a BPF filter applied first (tcpdump syntax)\n"
	        "  --max-held N       captures: out-of-order bytes held per connection\n"
	        "  --max-connections N  captures: connections tracked at once\n"
	        "  --max-message N    captures: largest message buffered while incomplete\n"
	        "  -h, --help         this text\n\n"
	        "Exit status: 0 everything decoded (a capture without gaps, cuts or errors),\n"
	        "1 malformed input or an anomaly in the capture, 2 usage, 3 the input could\n"
	        "not be read.\n");
	return code;
}

enum { OPT_DIRECTION = 256, OPT_JSON, OPT_TRACE, OPT_PORT, OPT_FILTER, OPT_MAX_HELD,
       OPT_MAX_CONN, OPT_MAX_MSG };

struct opts {
	sw_dis_kind kind;
	sw_dis_format fmt;
	sw_capture_options cap;
	const char *path;
};

static bool number(const char *s, unsigned long long max, unsigned long long *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || x > max)
		return false;
	*v = x;
	return true;
}

/* Parses the command line.  Returns -1 to go on, or an exit status. */
static int parse_cli(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"direction", required_argument, NULL, OPT_DIRECTION},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"trace", no_argument, NULL, OPT_TRACE},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"filter", required_argument, NULL, OPT_FILTER},
	    {"max-held", required_argument, NULL, OPT_MAX_HELD},
	    {"max-connections", required_argument, NULL, OPT_MAX_CONN},
	    {"max-message", required_argument, NULL, OPT_MAX_MSG},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	unsigned long long v;
	optind = 0; /* reinitialise GNU getopt (main() parsed with "+", which it remembers) */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': return usage(stdout, SW_EXIT_OK);
		case OPT_JSON: o->fmt = SW_DIS_JSON; break;
		case OPT_TRACE: o->fmt = SW_DIS_TRACE; break;
		case OPT_FILTER: o->cap.filter = optarg; break;
		case OPT_DIRECTION:
			if (strcmp(optarg, "request") == 0)
				o->kind = SW_DIS_REQUEST;
			else if (strcmp(optarg, "response") == 0)
				o->kind = SW_DIS_RESPONSE;
			else
				return usage(stderr, SW_EXIT_USAGE);
			break;
		case OPT_PORT:
			if (!number(optarg, 65535, &v) || v == 0)
				return usage(stderr, SW_EXIT_USAGE);
			o->cap.port = (uint16_t)v;
			break;
		case OPT_MAX_HELD:
		case OPT_MAX_CONN:
		case OPT_MAX_MSG:
			if (!number(optarg, SIZE_MAX, &v) || v == 0)
				return usage(stderr, SW_EXIT_USAGE);
			*(c == OPT_MAX_HELD ? &o->cap.max_held
			  : c == OPT_MAX_CONN ? &o->cap.max_connections
			                      : &o->cap.max_message) = (size_t)v;
			break;
		default: /* getopt_long said what was wrong */ return usage(stderr, SW_EXIT_USAGE);
		}
	}
	if (argc - optind > 1)
		return usage(stderr, SW_EXIT_USAGE);
	o->path = optind < argc ? argv[optind] : NULL;
	o->cap.json = o->fmt == SW_DIS_JSON;
	return -1;
}

static int dissect_capture(const struct opts *o)
{
	if (o->fmt == SW_DIS_TRACE) {
		fprintf(stderr, "smartwire dissect: --trace is for one-direction input\n");
		return SW_EXIT_USAGE;
	}
	sw_errinfo ei;
	int rc = sw_capture_dissect(o->path, &o->cap, stdout, &ei);
	if (rc < 0) {
		fprintf(stderr, "smartwire dissect: %s\n", ei.text);
		return EXIT_UNREADABLE;
	}
	return rc ? SW_EXIT_FAILURE : SW_EXIT_OK;
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

static int dissect_stream(const struct opts *o)
{
	FILE *f = stdin;
	if (o->path && strcmp(o->path, "-") != 0 && !(f = fopen(o->path, "rb"))) {
		char t[128];
		fprintf(stderr, "smartwire dissect: %s: %s\n", o->path,
		        sw_sys_strerror(errno, t, sizeof t));
		return EXIT_UNREADABLE;
	}
	sw_buf in;
	sw_buf_init(&in, NULL);
	int rc = read_all(f, &in);
	if (f != stdin)
		fclose(f);
	if (rc < 0) {
		fprintf(stderr, "smartwire dissect: cannot read input\n");
		sw_buf_fini(&in);
		return EXIT_UNREADABLE;
	}
	int status = sw_dis_stream(stdout, o->kind, o->fmt, in.data, in.len);
	if (status < 0) {
		fprintf(stderr, "smartwire dissect: %s\n", sw_strerror(status));
		status = SW_EXIT_FAILURE;
	}
	sw_buf_fini(&in);
	return status;
}

int sw_cmd_dissect(int argc, char **argv)
{
	struct opts o = {.kind = SW_DIS_REQUEST, .fmt = SW_DIS_TEXT};
	int status = parse_cli(argc, argv, &o);
	if (status >= 0)
		return status;
	if (o.path && strcmp(o.path, "-") != 0 && sw_capture_sniff(o.path))
		return dissect_capture(&o);
	return dissect_stream(&o);
}
