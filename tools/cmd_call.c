/*
 * smartwire call: send one request to a smart server and print the answer.
 *
 *   smartwire call [OPTIONS] URL VERB [ARG...]
 *
 * The URL picks the server (smartwire/url.h): bzr://HOST[:PORT] (TCP),
 * bzr+ssh://[USER@]HOST[:PORT] (`ssh HOST $BZR_REMOTE_PATH serve --inet
 * --directory=/ --allow-writes`, as Breezy), or pipe:// with --server-cmd
 * (a local command on our stdin/stdout, such as `brz serve --inet`).  The
 * URL's path is not used by `call`: VERB and ARGs are sent as given, byte
 * for byte.  The call is Breezy's _SmartClient call: v3 first, v2 after a
 * bad marker, or the version forced with --protocol.
 *
 * The response tuple is printed in the trace notation of smartwire/format.h
 * (or as JSON), then the body, if --expect-body, raw.  What the convenience
 * subcommands share is in call_common.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "call_common.h"
#include "cmds.h"
#include "smartwire/error.h"

enum {
	OPT_BODY = SW__OPT_FIRST_OWN,
	OPT_BODY_FILE,
	OPT_READV,
	OPT_EXPECT_BODY,
	OPT_BODY_PART,
	OPT_BODY_PART_FILE,
	OPT_STREAMED
};

static const struct option call_options[] = {
    {"body", required_argument, NULL, OPT_BODY},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"readv", required_argument, NULL, OPT_READV},
    {"expect-body", no_argument, NULL, OPT_EXPECT_BODY},
    {"body-part", required_argument, NULL, OPT_BODY_PART},
    {"body-part-file", required_argument, NULL, OPT_BODY_PART_FILE},
    {"streamed", no_argument, NULL, OPT_STREAMED},
    SW__CALL_COMMON_OPTIONS,
    {NULL, 0, NULL, 0},
};

static int usage(FILE *f, int code)
{
	fprintf(f,
	        "usage: smartwire call [OPTIONS] URL VERB [ARG...]\n\n"
	        "Sends one request and prints the response tuple in the trace notation\n"
	        "(\"[\\\"ok\\\"]\", bytes outside 0x20..0x7e as \\xNN), then the body raw.\n"
	        "VERB and ARGs are sent byte for byte (the URL's path is not used).\n"
	        "  --body STRING      request body (call_with_body_bytes)\n"
	        "  --body-file FILE   request body from FILE ('-': stdin)\n"
	        "  --readv START,LEN  a readv range (repeatable; call_with_body_readv_array)\n"
	        "  --expect-body      read and print the response body (call_expecting_body);\n"
	        "                     without it a body is not printed: v3 reads and drops\n"
	        "                     it, v1/v2 leave it unread (Breezy's call())\n"
	        "  --streamed         with --expect-body: read it as a stream (v3 parts, v2\n"
	        "                     chunks; read_streamed_body): an error at its end is\n"
	        "                     printed as an error after the body read before it\n"
	        "  --body-part STRING  a part of a streamed request body (repeatable, in order;\n"
	        "                     call_with_body_stream, v3 only)\n"
	        "  --body-part-file FILE  the same, read from FILE ('-': stdin)\n"
	        "  --                 end of options (for ARGs that start with '-')\n"
	        "%s",
	        sw__call_opts_help);
	return code;
}

/* The parsed command line (the strings point into argv). */
typedef struct call_args {
	sw__call_opts o;
	const char *body, *body_file;
	bool expect_body;
	const char **ranges; /* argc entries */
	size_t nranges;
	const char **parts; /* --body-part / --body-part-file, argc entries */
	bool *part_is_file;
	size_t nparts;
} call_args;

/* Parses the options; on return argv[optind..] are URL, VERB, ARGs.
 * Returns SW_EXIT_OK, or an exit code after printing why (-1: --help was
 * printed, exit 0). */
static int parse(call_args *a, int argc, char **argv)
{
	/* 0, not 1: glibc then starts over and reads this optstring (no "+"),
	 * instead of the REQUIRE_ORDER main.c asked for, so options may follow
	 * the URL and "--" ends them, as documented. */
	optind = 0;
	opterr = 0;
	int opt, rc;
	while ((opt = getopt_long(argc, argv, SW__CALL_SHORT_OPTIONS, call_options, NULL)) != -1) {
		switch (opt) {
		case 'h': usage(stdout, SW_EXIT_OK); return -1;
		case OPT_BODY: a->body = optarg; break;
		case OPT_BODY_FILE: a->body_file = optarg; break;
		case OPT_READV: a->ranges[a->nranges++] = optarg; break;
		case OPT_EXPECT_BODY: a->expect_body = true; break;
		case OPT_BODY_PART:
		case OPT_BODY_PART_FILE:
			a->part_is_file[a->nparts] = opt == OPT_BODY_PART_FILE;
			a->parts[a->nparts++] = optarg;
			break;
		case OPT_STREAMED: a->o.streamed = true; break;
		case '?':
		case ':': sw__call_bad_option(&a->o, argv); return usage(stderr, SW_EXIT_USAGE);
		default:
			rc = sw__call_opt(&a->o, opt, optarg);
			if (rc != 1)
				return usage(stderr, SW_EXIT_USAGE);
			break;
		}
	}
	size_t npos = (size_t)(argc - optind);
	if (npos < 2 || (a->body && a->body_file) ||
	    ((a->body || a->body_file) + (a->nranges > 0) + (a->nparts > 0) > 1)) {
		fprintf(stderr,
		        "%s: need URL and VERB, and at most one of --body, --body-file, "
		        "--readv, --body-part[-file]\n",
		        a->o.prog);
		return usage(stderr, SW_EXIT_USAGE);
	}
	return SW_EXIT_OK;
}

/* The parts of a streamed request body, handed out one per call. */
typedef struct parts_stream {
	const sw_buf *v;
	size_t n, next;
} parts_stream;

static int next_part(void *ud, sw_slice *chunk)
{
	parts_stream *s = ud;
	if (s->next == s->n)
		return 0;
	const sw_buf *b = &s->v[s->next++];
	*chunk = (sw_slice){b->data ? b->data : (const uint8_t *)"", b->len};
	return 1;
}

/* Reads the --body-part[-file] values into bufs[0..a->nparts).  Returns 0 or
 * -1 with errno (a file that cannot be read). */
static int load_parts(const call_args *a, sw_buf *bufs)
{
	for (size_t i = 0; i < a->nparts; i++) {
		sw_buf_init(&bufs[i], NULL);
		if (a->part_is_file[i] ? sw__call_slurp(a->parts[i], &bufs[i]) < 0
		                       : sw_buf_append_str(&bufs[i], a->parts[i]) < 0)
			return -1;
	}
	return 0;
}

int sw_cmd_call(int argc, char **argv)
{
	call_args a = {.o = {.prog = "smartwire call"}};
	a.ranges = calloc((size_t)argc + 1, sizeof *a.ranges);
	a.parts = calloc((size_t)argc + 1, sizeof *a.parts);
	a.part_is_file = calloc((size_t)argc + 1, sizeof *a.part_is_file);
	sw_buf *partbufs = calloc((size_t)argc + 1, sizeof *partbufs);
	if (!a.ranges || !a.parts || !a.part_is_file || !partbufs) {
		free(a.ranges);
		free(a.parts);
		free(a.part_is_file);
		free(partbufs);
		fprintf(stderr, "%s: out of memory\n", a.o.prog);
		return SW_EXIT_FAILURE;
	}
	int code = parse(&a, argc, argv);
	if (code < 0) {
		free(a.ranges);
		free(a.parts);
		free(a.part_is_file);
		free(partbufs);
		return SW_EXIT_OK;
	}
	char **pos = argv + optind;
	size_t npos = (size_t)(argc - optind);
	sw_slice *args = NULL;
	sw_readv_range *rv = NULL;
	sw_buf bodybuf;
	sw_buf_init(&bodybuf, NULL);
	if (code == SW_EXIT_OK) {
		args = calloc(npos, sizeof *args);
		rv = calloc(a.nranges + 1, sizeof *rv);
		if (!args || !rv) {
			fprintf(stderr, "%s: out of memory\n", a.o.prog);
			code = SW_EXIT_FAILURE;
		} else if (sw__call_parse_ranges(a.ranges, a.nranges, rv) < 0) {
			fprintf(stderr, "%s: bad --readv range (want START,LENGTH)\n", a.o.prog);
			code = usage(stderr, SW_EXIT_USAGE);
		} else if (a.body_file && sw__call_slurp(a.body_file, &bodybuf) < 0) {
			fprintf(stderr, "%s: %s: %s\n", a.o.prog, a.body_file, strerror(errno));
			code = SW_EXIT_FAILURE;
		} else if (load_parts(&a, partbufs) < 0) {
			fprintf(stderr, "%s: a --body-part: %s\n", a.o.prog, strerror(errno));
			code = SW_EXIT_FAILURE;
		}
	}
	parts_stream ps = {.v = partbufs, .n = a.nparts};
	if (code == SW_EXIT_OK) {
		for (size_t k = 2; k < npos; k++)
			args[k - 2] = (sw_slice){(const uint8_t *)pos[k], strlen(pos[k])};
		sw_call call = {.verb = {(const uint8_t *)pos[1], strlen(pos[1])},
		                .args = args,
		                .nargs = npos - 2,
		                .expect_body = a.expect_body};
		if (a.body) {
			call.body_kind = SW_CALL_BODY_BYTES;
			call.body = (sw_slice){(const uint8_t *)a.body, strlen(a.body)};
		} else if (a.body_file) {
			call.body_kind = SW_CALL_BODY_BYTES;
			call.body = (sw_slice){bodybuf.data, bodybuf.len};
		} else if (a.nranges) {
			call.body_kind = SW_CALL_BODY_READV;
			call.ranges = rv;
			call.nranges = a.nranges;
		} else if (a.nparts) {
			call.body_kind = SW_CALL_BODY_STREAM;
			call.stream = next_part;
			call.stream_ud = &ps;
		}
		sw__call_conn cc;
		code = sw__call_conn_open(&cc, &a.o, pos[0]);
		if (code == SW_EXIT_OK)
			code = sw__call_run(&cc, &call, SW__PRINT_TUPLE, NULL);
		sw__call_conn_close(&cc);
	}
	sw_buf_fini(&bodybuf);
	for (size_t i = 0; i < a.nparts; i++)
		sw_buf_fini(&partbufs[i]);
	free(partbufs);
	free(args);
	free(rv);
	free(a.ranges);
	free(a.parts);
	free(a.part_is_file);
	return code;
}
