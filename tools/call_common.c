/*
 * What `smartwire call` (cmd_call.c) and its convenience subcommands
 * (call_verbs.c) share: the common options, a client for a URL, running one
 * call and printing its response, and the exit codes (call_common.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "call_common.h"
#include "cmds.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/hex.h"
#include "smartwire/medium.h"
#include "smartwire/readv.h"

const char sw__call_opts_help[] =
    "common options:\n"
    "  --server-cmd CMD   the server for pipe:// URLs: CMD is run with /bin/sh -c\n"
    "                     and spoken to on its stdin/stdout, one process per\n"
    "                     connection (e.g. 'brz serve --inet --directory=/srv')\n"
    "  --protocol V       auto (default: v3, then v2 as Breezy), 1, 2 or 3\n"
    "  --timeout SECS     bound on each wait for the server (default 60)\n"
    "  --ssh PROGRAM      ssh program for bzr+ssh:// (default ssh); the remote\n"
    "                     command is $BZR_REMOTE_PATH (default bzr)\n"
    "  --json             print one JSON object (byte strings as code points\n"
    "                     U+0000..U+00FF, one per byte)\n"
    "  --output FILE      write the response body to FILE instead of stdout\n"
    "URLs: bzr://HOST[:PORT]/PATH (TCP, port 4155), bzr+ssh://[USER@]HOST[:PORT]/PATH\n"
    "(PATH is a path on that machine), pipe:///PATH (with --server-cmd; PATH is\n"
    "relative to what the command serves).  Paths are sent URL-escaped and absolute,\n"
    "as Breezy's client does ('caf\xc3\xa9 x' goes out as /caf%C3%A9%20x).\n"
    "Exit status: 0 ok, 1 local failure, 2 usage, 3 the server answered with an\n"
    "error (printed to stderr as `error: [...]`), 4 protocol violation (or not a\n"
    "Bazaar server), 5 connection failure (refused, reset, timed out).\n";

int sw__call_opt(sw__call_opts *o, int opt, const char *arg)
{
	switch (opt) {
	case SW__OPT_JSON: o->json = true; return 1;
	case SW__OPT_SERVER_CMD: o->server_cmd = arg; return 1;
	case SW__OPT_SSH: o->ssh = arg; return 1;
	case SW__OPT_OUTPUT: o->output = arg; return 1;
	case SW__OPT_PROTOCOL:
		if (strcmp(arg, "auto") == 0) {
			o->protocol = 0;
		} else if (arg[0] >= '1' && arg[0] <= '3' && arg[1] == '\0') {
			o->protocol = arg[0] - '0';
		} else {
			fprintf(stderr, "%s: bad protocol '%s' (auto, 1, 2 or 3)\n", o->prog, arg);
			return SW_EXIT_USAGE;
		}
		return 1;
	case SW__OPT_TIMEOUT: {
		char *end;
		errno = 0;
		double s = strtod(arg, &end);
		if (errno || end == arg || *end || !(s > 0) || s > 86400.0 * 24) {
			fprintf(stderr, "%s: bad timeout '%s' (seconds > 0)\n", o->prog, arg);
			return SW_EXIT_USAGE;
		}
		o->timeout_ms = s * 1000 < 1 ? 1 : (int)(s * 1000);
		return 1;
	}
	default: return 0;
	}
}

void sw__call_bad_option(const sw__call_opts *o, char **argv)
{
	/* getopt_long returned '?' or ':' (an unknown option, a value missing
	 * or one given to a flag): argv[optind - 1] is the word that held it. */
	fprintf(stderr, "%s: unknown or incomplete option %s\n", o->prog, argv[optind - 1]);
}

/* ---- Connecting ------------------------------------------------------- */

static int connect_cb(void *ud, sw_medium **out, sw_errinfo *ei)
{
	sw__call_conn *cc = ud;
	int timeout = cc->o->timeout_ms ? cc->o->timeout_ms : SW_CLIENT_DEFAULT_TIMEOUT_MS;
	if (cc->url.scheme == SW_URL_BZR)
		return sw_tcp_connect(out, cc->url.host, cc->url.port, timeout, NULL, ei);
	/* Both commands' stderr goes to ours, as Breezy lets ssh prompt. */
	sw_cmd_config cfg = {.inherit_stderr = true};
	const char *sh[] = {"/bin/sh", "-c", cc->o->server_cmd, NULL};
	const char *const *argv =
	    cc->url.scheme == SW_URL_PIPE ? sh : (const char *const *)cc->ssh_argv;
	return sw_cmd_spawn(out, argv, &cfg, NULL, ei);
}

int sw__call_conn_open(sw__call_conn *cc, const sw__call_opts *o, const char *url)
{
	memset(cc, 0, sizeof *cc);
	cc->o = o;
	int rc = sw_url_parse(&cc->url, url, NULL);
	if (rc == SW_ERR_NOMEM) {
		fprintf(stderr, "%s: out of memory\n", o->prog);
		return SW_EXIT_FAILURE;
	}
	if (rc < 0) {
		fprintf(stderr,
		        "%s: bad URL '%s' (bzr://HOST[:PORT]/PATH, "
		        "bzr+ssh://[USER@]HOST[:PORT]/PATH or pipe:///PATH)\n",
		        o->prog, url);
		return SW_EXIT_USAGE;
	}
	if ((cc->url.scheme == SW_URL_PIPE) != (o->server_cmd != NULL)) {
		fprintf(stderr, "%s: --server-cmd goes with pipe:// URLs, and only with them\n",
		        o->prog);
		return SW_EXIT_USAGE;
	}
	if (cc->url.scheme == SW_URL_BZR_SSH) {
		const char *remote = getenv("BZR_REMOTE_PATH");
		sw_ssh_params p = {.ssh_program = o->ssh,
		                   .host = cc->url.host,
		                   .port = cc->url.port,
		                   .user = cc->url.user,
		                   .remote_path = remote && *remote ? remote : NULL};
		rc = sw_ssh_argv(&p, NULL, &cc->ssh_argv);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", o->prog, sw_strerror(rc));
			return rc == SW_ERR_NOMEM ? SW_EXIT_FAILURE : SW_EXIT_USAGE;
		}
	}
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = o->protocol;
	cfg.timeout_ms = o->timeout_ms;
	rc = sw_client_new(&cc->client, &cfg, connect_cb, cc, NULL);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", o->prog, sw_strerror(rc));
		return SW_EXIT_FAILURE;
	}
	return SW_EXIT_OK;
}

void sw__call_conn_close(sw__call_conn *cc)
{
	sw_client_del(cc->client);
	sw_free(NULL, cc->ssh_argv);
	sw_url_fini(&cc->url, NULL);
	memset(cc, 0, sizeof *cc);
}

/* ---- Output ----------------------------------------------------------- */

static int json_tuple(sw_buf *out, const sw_slice *items, size_t n)
{
	int rc = sw_buf_append_byte(out, '[');
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i)
			rc = sw_buf_append_str(out, ", ");
		if (rc == 0)
			rc = sw_format_json_bytes(out, items[i].p, items[i].n);
	}
	return rc ? rc : sw_buf_append_byte(out, ']');
}

static int exit_code_of(int rc)
{
	switch (rc) {
	case SW_ERR_ERROR_RESPONSE:
	case SW_ERR_UNKNOWN_METHOD: return SW_EXIT_ERROR_RESPONSE;
	case SW_ERR_CONNECT:
	case SW_ERR_SPAWN:
	case SW_ERR_CONNECTION_RESET:
	case SW_ERR_TIMEOUT:
	case SW_ERR_IO:
	case SW_ERR_CLOSED: return SW_EXIT_CONNECTION;
	case SW_ERR_BAD_ARGUMENT_BYTE:
	case SW_ERR_INVALID_ARGUMENT: return SW_EXIT_USAGE;
	case SW_ERR_NOMEM: return SW_EXIT_FAILURE;
	default: return SW_EXIT_PROTOCOL;
	}
}

/* Reports a failed call: stderr always, and the JSON object with --json. */
static int report_error(sw__call_conn *cc, int rc)
{
	const sw__call_opts *o = cc->o;
	size_t n = 0;
	const sw_slice *eargs = NULL;
	if (rc == SW_ERR_ERROR_RESPONSE || rc == SW_ERR_UNKNOWN_METHOD)
		eargs = sw_client_error_args(cc->client, &n);
	const char *msg = sw_client_error_message(cc->client);
	if (!*msg)
		msg = sw_strerror(rc);
	sw_buf b;
	sw_buf_init(&b, NULL);
	if (eargs) {
		sw_buf_append_str(&b, "error: ");
		sw_format_tuple(&b, eargs, n);
		fprintf(stderr, "%.*s\n", (int)b.len, (const char *)b.data);
	} else {
		fprintf(stderr, "%s: %s (%s)\n", o->prog, msg, sw_errname(rc));
	}
	if (o->json) {
		sw_buf_reset(&b);
		sw_buf_append_str(&b, "{\"protocol\": ");
		sw_buf_append_u64(&b, (uint64_t)sw_client_protocol_version(cc->client));
		sw_buf_append_str(&b, ", \"error\": \"");
		sw_buf_append_str(&b, sw_errname(rc));
		sw_buf_append_str(&b, "\", \"message\": ");
		sw_format_json_bytes(&b, (const uint8_t *)msg, strlen(msg));
		if (eargs) {
			sw_buf_append_str(&b, ", \"error_args\": ");
			json_tuple(&b, eargs, n);
		}
		sw_buf_append_str(&b, "}\n");
		fwrite(b.data, 1, b.len, stdout);
	}
	sw_buf_fini(&b);
	return exit_code_of(rc);
}

static int write_file(const char *path, const sw_buf *body)
{
	FILE *f = path ? fopen(path, "wb") : stdout;
	if (!f)
		return -1;
	size_t w = body->len ? fwrite(body->data, 1, body->len, f) : 0;
	int rc = w == body->len ? 0 : -1;
	if (f == stdout)
		rc |= fflush(f) ? -1 : 0;
	else
		rc |= fclose(f) ? -1 : 0;
	return rc;
}

/* Prints a successful response. */
static int print_response(sw__call_conn *cc, sw_response *r, sw__call_print print,
                          const sw_buf *body, bool has_body)
{
	const sw__call_opts *o = cc->o;
	size_t n;
	const sw_slice *args = sw_response_args(r, &n);
	sw_buf b;
	sw_buf_init(&b, NULL);
	int rc = 0;
	if (has_body && o->output && write_file(o->output, body) < 0) {
		fprintf(stderr, "%s: %s: %s\n", o->prog, o->output, strerror(errno));
		sw_buf_fini(&b);
		return SW_EXIT_FAILURE;
	}
	if (o->json) {
		rc |= sw_buf_append_str(&b, "{\"protocol\": ");
		rc |= sw_buf_append_u64(&b, (uint64_t)sw_response_version(r));
		rc |= sw_buf_append_str(&b, ", \"args\": ");
		rc |= json_tuple(&b, args, n);
		if (has_body) {
			rc |= sw_buf_append_str(&b, ", \"body_length\": ");
			rc |= sw_buf_append_u64(&b, body->len);
			if (!o->output) {
				rc |= sw_buf_append_str(&b, ", \"body\": ");
				rc |= sw_format_json_bytes(&b, body->data, body->len);
			}
		}
		rc |= sw_buf_append_str(&b, "}\n");
	} else if (print == SW__PRINT_TUPLE) {
		rc |= sw_format_tuple(&b, args, n);
		rc |= sw_buf_append_byte(&b, '\n');
		if (has_body && !o->output)
			rc |= sw_buf_append(&b, body->data, body->len);
	} else if (print == SW__PRINT_BODY) {
		if (has_body && !o->output)
			rc |= sw_buf_append(&b, body->data, body->len);
	} else if (print == SW__PRINT_NAMES) {
		for (size_t i = 1; i < n; i++) {
			rc |= sw_buf_append(&b, args[i].p, args[i].n);
			rc |= sw_buf_append_byte(&b, '\n');
		}
	} else if (print == SW__PRINT_STAT) {
		for (size_t i = 1; i < n; i++) {
			rc |= sw_buf_append(&b, args[i].p, args[i].n);
			rc |= sw_buf_append_byte(&b, i + 1 < n ? ' ' : '\n');
		}
	}
	int code = SW_EXIT_OK;
	if (rc) {
		fprintf(stderr, "%s: out of memory\n", o->prog);
		code = SW_EXIT_FAILURE;
	} else if (write_file(NULL, &b) < 0) {
		fprintf(stderr, "%s: cannot write the output: %s\n", o->prog, strerror(errno));
		code = SW_EXIT_FAILURE;
	}
	sw_buf_fini(&b);
	return code;
}

static int on_piece(void *ud, const uint8_t *p, size_t n)
{
	return sw_buf_append(ud, p, n) < 0 ? 1 : 0;
}

int sw__call_run(sw__call_conn *cc, const sw_call *call, sw__call_print print, const char *expect)
{
	sw_response *r = NULL;
	int rc = sw_client_call(cc->client, call, &r);
	if (rc < 0)
		return report_error(cc, rc);
	sw_buf body;
	sw_buf_init(&body, NULL);
	if (call->expect_body && cc->o->streamed) {
		sw_body_callbacks cb = {.on_data = on_piece};
		rc = sw_response_read_streamed_body(r, &cb, &body);
	} else if (call->expect_body)
		rc = sw_response_read_body(r, &body);
	int code;
	if (rc < 0) {
		code = report_error(cc, rc);
	} else {
		size_t n;
		const sw_slice *args = sw_response_args(r, &n);
		if (expect && (n == 0 || args[0].n != strlen(expect) ||
		               memcmp(args[0].p, expect, args[0].n) != 0)) {
			sw_buf t;
			sw_buf_init(&t, NULL);
			sw_format_tuple(&t, args, n);
			fprintf(stderr, "%s: unexpected response %.*s (SW_ERR_PROTOCOL)\n",
			        cc->o->prog, (int)t.len, (const char *)t.data);
			sw_buf_fini(&t);
			code = SW_EXIT_PROTOCOL;
		} else {
			code = print_response(cc, r, print, &body, call->expect_body);
		}
	}
	sw_buf_fini(&body);
	sw_response_del(r);
	return code;
}

int sw__call_slurp(const char *path, sw_buf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return -1;
	int rc = 0;
	for (;;) {
		if (sw_buf_reserve(out, 65536) < 0) {
			errno = ENOMEM;
			rc = -1;
			break;
		}
		size_t got = fread(out->data + out->len, 1, 65536, f);
		out->len += got;
		if (got < 65536) {
			if (ferror(f))
				rc = -1;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

static int parse_range(const char *s, sw_readv_range *r)
{
	char *end;
	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	unsigned long long a = strtoull(s, &end, 10);
	if (errno || *end != ',' || end[1] < '0' || end[1] > '9')
		return -1;
	const char *l = end + 1;
	unsigned long long b = strtoull(l, &end, 10);
	if (errno || *end)
		return -1;
	r->start = a;
	r->length = b;
	return 0;
}

int sw__call_parse_ranges(const char *const *specs, size_t n, sw_readv_range *out)
{
	for (size_t i = 0; i < n; i++)
		if (parse_range(specs[i], &out[i]) < 0)
			return -1;
	return 0;
}
