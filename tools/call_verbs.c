/*
 * Convenience subcommands over `smartwire call`, one VFS verb each, with the
 * path taken from the URL and sent as Breezy's RemoteTransport does
 * (absolute and URL-escaped, smartwire/url.h):
 *
 *   cat URL                 get          body to stdout (or --output)
 *   ls URL                  list_dir     names, one per line, as sent (escaped)
 *   stat URL                stat         "SIZE MODE", e.g. "17 0o100644"
 *   put URL [--file F]      put          body from F or stdin; --mode OCTAL
 *   readv URL START,LEN...  readv        the ranges, in the order given
 *   mkdir URL               mkdir        --mode OCTAL
 *   rm URL                  delete
 *   rmdir URL               rmdir
 *   mv URL NEWPATH          rename       NEWPATH relative to the server root
 *   hello URL               hello        the tuple, e.g. ["ok", "2"]
 *
 * A mode is sent as Breezy's _serialise_optional_mode does: the decimal
 * number (0644 -> "420"), or "" when not given.  Unlike Breezy's
 * Transport.readv, `readv` sends the ranges as given, neither sorted nor
 * coalesced, and the server answers them in that order.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "call_common.h"
#include "cmds.h"

typedef enum verb_id { V_CAT, V_LS, V_STAT, V_PUT, V_READV, V_MKDIR, V_RM, V_RMDIR, V_MV,
                       V_HELLO } verb_id;

static const struct verb_spec {
	const char *name;
	verb_id id;
	const char *wire;   /* the verb sent */
	const char *expect; /* first element of a successful answer */
	const char *synopsis;
} verbs[] = {
	{"cat", V_CAT, "get", "ok", "URL"},
	{"ls", V_LS, "list_dir", "names", "URL"},
	{"stat", V_STAT, "stat", "stat", "URL"},
	{"put", V_PUT, "put", "ok", "URL [--file FILE] [--mode OCTAL]"},
	{"readv", V_READV, "readv", "readv", "URL START,LEN..."},
	{"mkdir", V_MKDIR, "mkdir", "ok", "URL [--mode OCTAL]"},
	{"rm", V_RM, "delete", "ok", "URL"},
	{"rmdir", V_RMDIR, "rmdir", "ok", "URL"},
	{"mv", V_MV, "rename", "ok", "URL NEWPATH"},
	{"hello", V_HELLO, "hello", "ok", "URL"},
};

static int usage(const struct verb_spec *v, FILE *f, int code)
{
	fprintf(f, "usage: smartwire %s [OPTIONS] %s\n\nSends '%s' for the URL's path.\n",
	        v->name, v->synopsis, v->wire);
	if (v->id == V_PUT)
		fprintf(f, "  --file FILE        the new content (default: stdin)\n");
	if (v->id == V_PUT || v->id == V_MKDIR)
		fprintf(f, "  --mode OCTAL       permissions, sent in decimal (default: none)\n");
	fprintf(f, "%s", sw__call_opts_help);
	return code;
}

enum { OPT_FILE = SW__OPT_FIRST_OWN, OPT_MODE };

/* The option tables: put takes --file and --mode, mkdir --mode, the others
 * only the common options. */
static const struct option put_options[] = {
    {"file", required_argument, NULL, OPT_FILE},
    {"mode", required_argument, NULL, OPT_MODE},
    SW__CALL_COMMON_OPTIONS,
    {NULL, 0, NULL, 0},
};
static const struct option mkdir_options[] = {
    {"mode", required_argument, NULL, OPT_MODE},
    SW__CALL_COMMON_OPTIONS,
    {NULL, 0, NULL, 0},
};
static const struct option common_options[] = {
    SW__CALL_COMMON_OPTIONS,
    {NULL, 0, NULL, 0},
};

/* Parses the options of verb v; on return argv[optind..] are the
 * positional arguments.  Returns SW_EXIT_OK, -1 after --help, or an exit
 * code after printing why. */
static int parse(const struct verb_spec *v, sw__call_opts *o, const char **file, const char **mode,
                 int argc, char **argv)
{
	const struct option *opts = v->id == V_PUT     ? put_options
	                            : v->id == V_MKDIR ? mkdir_options
	                                               : common_options;
	optind = 0; /* start over with this optstring (see cmd_call.c) */
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, SW__CALL_SHORT_OPTIONS, opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(v, stdout, SW_EXIT_OK);
			return -1;
		} else if (opt == OPT_FILE) {
			*file = optarg;
		} else if (opt == OPT_MODE) {
			*mode = optarg;
		} else if (opt == '?' || opt == ':') {
			sw__call_bad_option(o, argv);
			return usage(v, stderr, SW_EXIT_USAGE);
		} else if (sw__call_opt(o, opt, optarg) != 1) {
			return usage(v, stderr, SW_EXIT_USAGE);
		}
	}
	return SW_EXIT_OK;
}

static int run_verb(const struct verb_spec *v, int argc, char **argv)
{
	sw__call_opts o = {0};
	char prog[64];
	snprintf(prog, sizeof prog, "smartwire %s", v->name);
	o.prog = prog;
	const char *file = NULL, *mode = NULL;
	int code = parse(v, &o, &file, &mode, argc, argv);
	if (code < 0)
		return SW_EXIT_OK;
	const char *const *pos = (const char *const *)argv + optind;
	size_t npos = (size_t)(argc - optind);
	size_t want = v->id == V_MV ? 2 : 1;
	if (code == SW_EXIT_OK &&
	    (v->id == V_READV ? npos < 2 : npos != want)) {
		fprintf(stderr, "%s: wrong number of arguments\n", prog);
		code = usage(v, stderr, SW_EXIT_USAGE);
	}
	char modebuf[32] = "";
	if (code == SW_EXIT_OK && mode) {
		char *end;
		errno = 0;
		unsigned long m = strtoul(mode, &end, 8);
		if (errno || end == mode || *end || mode[0] == '-' || m > 07777) {
			fprintf(stderr, "%s: bad mode '%s' (octal, e.g. 644)\n", prog, mode);
			code = usage(v, stderr, SW_EXIT_USAGE);
		}
		snprintf(modebuf, sizeof modebuf, "%lu", m);
	}

	sw_buf body, newpath;
	sw_buf_init(&body, NULL);
	sw_buf_init(&newpath, NULL);
	sw_readv_range *ranges = NULL;
	if (code == SW_EXIT_OK && v->id == V_PUT &&
	    sw__call_slurp(file ? file : "-", &body) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, file ? file : "stdin", strerror(errno));
		code = SW_EXIT_FAILURE;
	}
	if (code == SW_EXIT_OK && v->id == V_READV) {
		ranges = calloc(npos, sizeof *ranges);
		if (!ranges) {
			fprintf(stderr, "%s: out of memory\n", prog);
			code = SW_EXIT_FAILURE;
		} else if (sw__call_parse_ranges(pos + 1, npos - 1, ranges) < 0) {
			fprintf(stderr, "%s: bad range (want START,LENGTH)\n", prog);
			code = usage(v, stderr, SW_EXIT_USAGE);
		}
	}
	if (code == SW_EXIT_OK && v->id == V_MV &&
	    sw_url_escape_path(&newpath, pos[1], strlen(pos[1])) < 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		code = SW_EXIT_FAILURE;
	}

	sw__call_conn cc;
	memset(&cc, 0, sizeof cc);
	if (code == SW_EXIT_OK)
		code = sw__call_conn_open(&cc, &o, pos[0]);
	if (code == SW_EXIT_OK) {
		sw_slice args[4];
		size_t nargs = 0;
		const char *path = cc.url.path;
		if (v->id != V_HELLO)
			args[nargs++] = (sw_slice){(const uint8_t *)path, strlen(path)};
		if (v->id == V_PUT || v->id == V_MKDIR)
			args[nargs++] = (sw_slice){(const uint8_t *)modebuf, strlen(modebuf)};
		if (v->id == V_MV)
			args[nargs++] = (sw_slice){newpath.data, newpath.len};
		sw_call call = {.verb = {(const uint8_t *)v->wire, strlen(v->wire)},
		                .args = args, .nargs = nargs};
		sw__call_print print = SW__PRINT_NOTHING;
		switch (v->id) {
		case V_CAT:
			call.expect_body = true;
			print = SW__PRINT_BODY;
			break;
		case V_READV:
			call.expect_body = true;
			call.body_kind = SW_CALL_BODY_READV;
			call.ranges = ranges;
			call.nranges = npos - 1;
			print = SW__PRINT_BODY;
			break;
		case V_PUT:
			call.body_kind = SW_CALL_BODY_BYTES;
			call.body = (sw_slice){body.data, body.len};
			break;
		case V_LS:
			print = SW__PRINT_NAMES;
			break;
		case V_STAT:
			print = SW__PRINT_STAT;
			break;
		case V_HELLO:
			print = SW__PRINT_TUPLE;
			break;
		default:
			break;
		}
		code = sw__call_run(&cc, &call, print, v->expect);
	}
	sw__call_conn_close(&cc);
	sw_buf_fini(&body);
	sw_buf_fini(&newpath);
	free(ranges);
	return code;
}

static int run_named(const char *name, int argc, char **argv)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return run_verb(&verbs[i], argc, argv);
	return SW_EXIT_USAGE;
}

int sw_cmd_cat(int argc, char **argv) { return run_named("cat", argc, argv); }
int sw_cmd_ls(int argc, char **argv) { return run_named("ls", argc, argv); }
int sw_cmd_stat(int argc, char **argv) { return run_named("stat", argc, argv); }
int sw_cmd_put(int argc, char **argv) { return run_named("put", argc, argv); }
int sw_cmd_readv(int argc, char **argv) { return run_named("readv", argc, argv); }
int sw_cmd_mkdir(int argc, char **argv) { return run_named("mkdir", argc, argv); }
int sw_cmd_rm(int argc, char **argv) { return run_named("rm", argc, argv); }
int sw_cmd_rmdir(int argc, char **argv) { return run_named("rmdir", argc, argv); }
int sw_cmd_mv(int argc, char **argv) { return run_named("mv", argc, argv); }
int sw_cmd_hello(int argc, char **argv) { return run_named("hello", argc, argv); }
