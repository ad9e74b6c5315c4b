/*
 * Shared by `smartwire call` (cmd_call.c) and its convenience subcommands
 * (call_verbs.c: cat, ls, stat, put, readv, mkdir, rm, rmdir, mv, hello):
 * the common options (getopt_long), opening a client for a URL, running one
 * call and printing its response, and the mapping of library errors to exit
 * codes.  Implemented in call_common.c.
 */
#ifndef SW_TOOLS_CALL_COMMON_H
#define SW_TOOLS_CALL_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "smartwire/client.h"
#include "smartwire/mem.h"
#include "smartwire/url.h"

/* Options every call subcommand takes. */
typedef struct sw__call_opts {
	const char *prog;       /* "smartwire call", for messages */
	const char *server_cmd; /* --server-cmd: the server of pipe:// URLs */
	const char *ssh;        /* --ssh: the ssh program (NULL: "ssh") */
	int protocol;           /* --protocol: 0 auto, or 1..3 */
	int timeout_ms;         /* --timeout: 0 = library default */
	bool json;              /* --json */
	const char *output;     /* --output: body destination (NULL: stdout) */
	bool streamed;          /* `call --streamed`: read the body as a stream */
} sw__call_opts;

/* The common options' help text, for each subcommand's usage. */
extern const char sw__call_opts_help[];

/* The common options, for each subcommand's getopt_long table (the values
 * are above any short option's).  Subcommands add their own entries before
 * these and end the table with {NULL, 0, NULL, 0}. */
enum {
	SW__OPT_SERVER_CMD = 256,
	SW__OPT_SSH,
	SW__OPT_PROTOCOL,
	SW__OPT_TIMEOUT,
	SW__OPT_JSON,
	SW__OPT_OUTPUT,
	SW__OPT_FIRST_OWN /* a subcommand's own options start here */
};
#define SW__CALL_COMMON_OPTIONS                                                                    \
	{"server-cmd", required_argument, NULL, SW__OPT_SERVER_CMD},                               \
	    {"ssh", required_argument, NULL, SW__OPT_SSH},                                         \
	    {"protocol", required_argument, NULL, SW__OPT_PROTOCOL},                               \
	    {"timeout", required_argument, NULL, SW__OPT_TIMEOUT},                                 \
	    {"json", no_argument, NULL, SW__OPT_JSON},                                             \
	    {"output", required_argument, NULL, SW__OPT_OUTPUT},                                   \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

/* The option string of every call subcommand: -h, and ':' first so that a
 * missing value is told apart (getopt_long returns ':').  No '+': options
 * may follow the URL and `--` ends them anywhere, as the hand-written
 * scanner allowed (`smartwire call URL -- VERB -ARG`). */
#define SW__CALL_SHORT_OPTIONS ":h"

/* Applies common option `opt` (a getopt_long result) with value `arg`.
 * Returns 1 when taken, 0 when `opt` is not a common option, or
 * SW_EXIT_USAGE after printing why the value is bad. */
int sw__call_opt(sw__call_opts *o, int opt, const char *arg);

/* Prints the message for a getopt_long result of '?' or ':'. */
void sw__call_bad_option(const sw__call_opts *o, char **argv);

/* One client connected (lazily) to the server of a URL. */
typedef struct sw__call_conn {
	const sw__call_opts *o;
	sw_url url;
	char **ssh_argv;   /* bzr+ssh: the argv of sw_ssh_argv */
	sw_client *client;
} sw__call_conn;

/* Parses `url` and creates the client.  Returns SW_EXIT_OK, or an exit code
 * after printing the reason (SW_EXIT_USAGE for a bad URL or a pipe:// URL
 * without --server-cmd, SW_EXIT_FAILURE out of memory).  Call
 * sw__call_conn_close in every case. */
int sw__call_conn_open(sw__call_conn *cc, const sw__call_opts *o, const char *url);

void sw__call_conn_close(sw__call_conn *cc);

/* What to do with a successful response. */
typedef enum sw__call_print {
	SW__PRINT_TUPLE,  /* the tuple line (or JSON), then any body */
	SW__PRINT_BODY,   /* only the body (cat, readv) */
	SW__PRINT_NAMES,  /* args[1..] one per line (ls) */
	SW__PRINT_STAT,   /* "SIZE MODE" (stat) */
	SW__PRINT_NOTHING /* put, mkdir, rm, ... */
} sw__call_print;

/* Runs `call` on cc's client and prints per `print` (with --json always the
 * JSON object).  With cc->o->streamed and call->expect_body the body is read
 * as a stream (Breezy read_streamed_body: v3 parts, v2 chunks; an error at
 * its end is an error response after the pieces before it).  When `expect` is not NULL the response's first element must
 * equal it, or the call fails with SW_EXIT_PROTOCOL (Breezy's
 * UnexpectedSmartServerResponse).  Errors go to stderr: an error response
 * as the line `error: ["Tuple", "..."]`.  Returns the exit code. */
int sw__call_run(sw__call_conn *cc, const sw_call *call, sw__call_print print,
                 const char *expect);

/* Parses n "START,LENGTH" strings (decimal) into out[0..n).  Returns 0 or
 * -1 for a malformed one. */
int sw__call_parse_ranges(const char *const *specs, size_t n, sw_readv_range *out);

/* Reads a whole file ("-": stdin) into `out`.  Returns 0 or -1 with errno. */
int sw__call_slurp(const char *path, sw_buf *out);

#endif
