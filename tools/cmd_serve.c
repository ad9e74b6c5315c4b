/*
 * smartwire serve: the reference file server, a drop-in for the smart
 * protocol part of `brz serve` (Breezy 3.3.2 builtins.cmd_serve,
 * bzr/smart/server.py), built on smartwire/daemon.h + smartwire/vfs_server.h.
 *
 * Breezy's flags are accepted with Breezy's meaning, in both "--opt=V" and
 * "--opt V" forms (getopt_long, which like Breezy's optparse also takes a
 * unique prefix of a long option), so that Breezy's bzr+ssh client can run
 * us through BZR_REMOTE_PATH (it sends `serve --inet --directory=/
 * --allow-writes`):
 *   --inet --listen --port --directory/-d --allow-writes --client-timeout
 *   -q/--quiet -v/--verbose --protocol=bzr / --bzr (the only protocol we
 *   serve; --protocol=git and Breezy's other value switches are refused with
 *   a usage error, on purpose: silently serving bzr to a git client would be
 *   worse).
 * Breezy's global options (--no-plugins, --profile, ...) are not accepted.
 *
 * Departures from `brz serve` (besides the VFS and session ones listed in
 * smartwire/vfs_server.h, vfs.h and server.h):
 *  - Only the VFS verbs, hello and Transport.is_readonly are served; every
 *    other verb is answered as unknown.  Breezy's client needs BzrDir.open
 *    for bzr:// and bzr+ssh:// and does not fall back to the VFS, so use
 *    nosmart+bzr:// / nosmart+bzr+ssh:// URLs (tests/interop/breezy_client.sh).
 *  - SIGTERM and SIGINT stop gracefully like SIGHUP (Breezy: only SIGHUP;
 *    SIGTERM kills it), and a second signal stops at once.
 *  - listen(2) backlog 128 instead of 1, so bursts of clients are not
 *    refused by the kernel; --max-connections bounds what is served.
 *  - --client-timeout=0 means no idle timeout (Breezy would time out at
 *    once); --request-deadline, --max-*, --workers are ours.
 *  - Event-loop workers instead of a thread per connection
 *    (smartwire/daemon.h explains why).
 *  - --inet exits 1 or 5 only for the server's own failures (see the exit
 *    statuses in usage()); brz serve also fails when a write to a client
 *    that went away raises, as we do (5), and exits 0 after a client's
 *    framing error, as we do.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "smartwire/daemon.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "smartwire/vfs_server.h"

static sw_daemon *volatile the_daemon;
static volatile sig_atomic_t quiet_flag;

static void on_signal(int sig)
{
	static const char msg[] = "Requested to stop gracefully\n";
	(void)sig;
	if (!quiet_flag)
		(void)!write(2, msg, sizeof msg - 1);
	sw_daemon_stop(the_daemon);
}

static void log_line(void *ud, const char *msg)
{
	(void)ud;
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
}

static int usage(FILE *f, int code)
{
	fprintf(f,
	        "usage: smartwire serve [--inet | [--listen=ADDR] [--port=N]] [--directory=DIR]\n"
	        "                       [--allow-writes] [--client-timeout=SECS] [-q|-v]\n"
	        "                       [--max-connections=N] [--workers=N] [--max-body=SIZE]\n"
	        "                       [--max-readv-ranges=N] [--max-path=N]\n"
	        "                       [--request-deadline=SECS] [--protocol=bzr]\n\n"
	        "Serves DIR (default: the current directory) over the Bazaar smart protocol,\n"
	        "byte-compatible with `brz serve` of Breezy 3.3.2, read-only unless\n"
	        "--allow-writes.  There is no authentication.  Options take their value as\n"
	        "--opt=V or --opt V.\n"
	        "  --inet             one client on stdin/stdout (inetd, sshd, BZR_REMOTE_PATH)\n"
	        "  --listen, --port   TCP address and port (default: any, 4155); --port=0 picks a\n"
	        "                     free port; \"listening on port: N\" goes to stderr\n"
	        "  -d, --directory    the directory to serve\n"
	        "  --client-timeout   idle seconds before a client is dropped (default 300;\n"
	        "                     0: never)\n"
	        "  --request-deadline seconds from a request's first byte until its answer is\n"
	        "                     written (default: none)\n"
	        "  --max-connections  clients at once (default %u); more are accepted and closed\n"
	        "  --workers          event-loop threads (default %u; --inet uses 1)\n"
	        "  --max-body         bytes of one request body (default 4G; suffixes k m g)\n"
	        "  --max-readv-ranges ranges of one readv (default %zu)\n"
	        "  --max-path         bytes of one client path (default %zu)\n"
	        "  -q, --quiet        no notes on stderr;  -v, --verbose  statistics at the end\n"
	        "SIGTERM, SIGHUP, SIGINT: stop accepting, finish requests in flight, exit 0;\n"
	        "a second signal closes everything at once.\n\n"
	        "Exit status (a client's doing is not the server's failure, as with brz serve):\n"
	        "  0  done: stopped by a signal, or (--inet) the client closed, went silent\n"
	        "     past --client-timeout or --request-deadline, or sent bytes that break\n"
	        "     the protocol (answered as Breezy does, then the connection is closed)\n"
	        "  1  the server failed on its own: the directory cannot be served, out of\n"
	        "     memory, an internal error\n"
	        "  2  bad command line\n"
	        "  5  cannot listen (TCP), or (--inet) reading stdin or writing stdout failed,\n"
	        "     including a client that went away while being answered\n",
	        SW_DAEMON_DEFAULT_MAX_CONNECTIONS, SW_DAEMON_DEFAULT_WORKERS,
	        SW_VFS_DEFAULT_MAX_READV_RANGES, SW_VFS_DEFAULT_MAX_PATH_LEN);
	return code;
}

static int parse_u64(const char *s, uint64_t max, bool suffix, uint64_t *out)
{
	char *end;
	if (!*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	unsigned shift = 0;
	if (suffix && *end) {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -1;
		}
		end++;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	v <<= shift;
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* Seconds (a float, as Breezy's --client-timeout) to milliseconds. */
static int parse_secs(const char *s, int *ms)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > INT_MAX / 1000.0)
		return -1;
	*ms = (int)(v * 1000.0 + 0.5);
	if (v > 0 && *ms == 0)
		*ms = 1;
	return 0;
}

/* os.path.abspath: Breezy serves location_to_url(directory), whose path
 * appears in error tuples; make ours the same absolute, normalised path. */
static char *abspath(const char *dir)
{
	char cwd[PATH_MAX];
	size_t n = strlen(dir);
	const char *base = "";
	if (dir[0] != '/') {
		if (!getcwd(cwd, sizeof cwd))
			return NULL;
		base = cwd;
	}
	char *joined = malloc(strlen(base) + n + 2);
	char *out = malloc(strlen(base) + n + 2);
	if (!joined || !out) {
		free(joined);
		free(out);
		return NULL;
	}
	sprintf(joined, "%s/%s", base, dir);
	size_t o = 0;
	for (char *p = joined; *p;) {
		while (*p == '/')
			p++;
		char *e = p;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memcpy(out + o, p, len);
			o += len;
		}
		p = e;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(joined);
	return out;
}

typedef struct opts {
	bool inet, allow_writes, verbose;
	const char *listen, *directory;
	uint64_t port;
	bool port_set;
	int client_timeout_ms; /* -1: default */
	int deadline_ms;
	uint64_t max_conns, workers, max_body, max_ranges, max_path;
} opts;

enum {
	O_INET = 256,
	O_LISTEN,
	O_PORT,
	O_ALLOW_WRITES,
	O_CLIENT_TIMEOUT,
	O_REQUEST_DEADLINE,
	O_PROTOCOL,
	O_BZR,
	O_MAX_CONNECTIONS,
	O_WORKERS,
	O_MAX_BODY,
	O_MAX_READV_RANGES,
	O_MAX_PATH
};

static const struct option long_opts[] = {
    {"help", no_argument, NULL, 'h'},
    {"inet", no_argument, NULL, O_INET},
    {"listen", required_argument, NULL, O_LISTEN},
    {"port", required_argument, NULL, O_PORT},
    {"directory", required_argument, NULL, 'd'},
    {"allow-writes", no_argument, NULL, O_ALLOW_WRITES},
    {"client-timeout", required_argument, NULL, O_CLIENT_TIMEOUT},
    {"request-deadline", required_argument, NULL, O_REQUEST_DEADLINE},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"protocol", required_argument, NULL, O_PROTOCOL},
    {"bzr", no_argument, NULL, O_BZR},
    {"max-connections", required_argument, NULL, O_MAX_CONNECTIONS},
    {"workers", required_argument, NULL, O_WORKERS},
    {"max-body", required_argument, NULL, O_MAX_BODY},
    {"max-readv-ranges", required_argument, NULL, O_MAX_READV_RANGES},
    {"max-path", required_argument, NULL, O_MAX_PATH},
    {NULL, 0, NULL, 0},
};

/* Returns 1 for --help, 0, or -1 after printing what is wrong. */
static int parse(int argc, char **argv, opts *o)
{
	memset(o, 0, sizeof *o);
	o->client_timeout_ms = -1;
	int c;
	optind = 0; /* reinitialise GNU getopt (main() parsed with "+", which it remembers) */
	while ((c = getopt_long(argc, argv, "+hd:qv", long_opts, NULL)) != -1) {
		const char *v = optarg;
		bool ok = true;
		switch (c) {
		case 'h': return 1;
		case O_INET: o->inet = true; break;
		case O_ALLOW_WRITES: o->allow_writes = true; break;
		case 'q': quiet_flag = 1; break;
		case 'v': o->verbose = true; break;
		case O_BZR: break;
		case O_PROTOCOL:
			if (strcmp(v, "bzr") != 0) {
				fprintf(stderr, "smartwire serve: only --protocol=bzr is served\n");
				return -1;
			}
			break;
		case O_LISTEN: o->listen = v; break;
		case 'd': o->directory = v; break;
		case O_PORT:
			ok = parse_u64(v, 65535, false, &o->port) == 0;
			o->port_set = true;
			break;
		case O_CLIENT_TIMEOUT: ok = parse_secs(v, &o->client_timeout_ms) == 0; break;
		case O_REQUEST_DEADLINE: ok = parse_secs(v, &o->deadline_ms) == 0; break;
		case O_MAX_CONNECTIONS:
			ok = parse_u64(v, 1000000, false, &o->max_conns) == 0 && o->max_conns;
			break;
		case O_WORKERS:
			ok = parse_u64(v, SW_DAEMON_MAX_WORKERS, false, &o->workers) == 0 &&
			     o->workers;
			break;
		case O_MAX_BODY:
			ok = parse_u64(v, UINT64_MAX, true, &o->max_body) == 0 && o->max_body;
			break;
		case O_MAX_READV_RANGES:
			ok = parse_u64(v, SIZE_MAX, false, &o->max_ranges) == 0 && o->max_ranges;
			break;
		case O_MAX_PATH:
			ok = parse_u64(v, SIZE_MAX, false, &o->max_path) == 0 && o->max_path;
			break;
		default: /* getopt_long said what it did not understand */ return -1;
		}
		if (!ok) {
			fprintf(stderr, "smartwire serve: bad value '%s' for %s\n", v,
			        argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smartwire serve: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* Errors the client's bytes cause (version detection, framing, bencode,
 * the conventional grammar, the limits), after which the connection is
 * closed as designed: not the server's failure.  The others (memory, a
 * handler's own failure, a broken contract) are. */
static bool client_caused(int err)
{
	return (err <= SW_ERR_UNEXPECTED_EOF && err >= SW_ERR_BAD_STATUS_BYTE) ||
	       err == SW_ERR_LIMIT;
}

/* The exit status of `serve --inet` from how its one connection ended. */
static int inet_status(const sw_serve_result *r)
{
	switch (r->end) {
	case SW_SERVE_EOF:
	case SW_SERVE_EOF_MID_REQUEST:
	case SW_SERVE_TIMEOUT:
	case SW_SERVE_DEADLINE:
	case SW_SERVE_STOPPED: return SW_EXIT_OK;
	case SW_SERVE_PROTOCOL: return client_caused(r->error) ? SW_EXIT_OK : SW_EXIT_FAILURE;
	case SW_SERVE_IO:
	case SW_SERVE_STALLED: break;
	}
	return SW_EXIT_CONNECTION;
}

int sw_cmd_serve(int argc, char **argv)
{
	opts o;
	int pr = parse(argc, argv, &o);
	if (pr > 0)
		return usage(stdout, SW_EXIT_OK);
	if (pr < 0)
		return usage(stderr, SW_EXIT_USAGE);

	char ebuf[128];
	char *root = abspath(o.directory ? o.directory : ".");
	if (!root) {
		fprintf(stderr, "smartwire serve: %s\n", sw_sys_strerror(errno, ebuf, sizeof ebuf));
		return SW_EXIT_FAILURE;
	}
	sw_vfs_config vc;
	memset(&vc, 0, sizeof vc);
	vc.allow_writes = o.allow_writes;
	vc.max_body = o.max_body;
	vc.max_readv_ranges = o.max_ranges;
	vc.max_path_len = o.max_path;
	vc.disable_vfs = getenv("BRZ_NO_SMART_VFS") != NULL; /* as Breezy's server */

	sw_daemon_config dc;
	memset(&dc, 0, sizeof dc);
	dc.workers = o.inet ? 1 : (unsigned)o.workers;
	dc.max_connections = (unsigned)o.max_conns;
	dc.srv.max_body = o.max_body;
	dc.srv.idle_timeout_ms = o.client_timeout_ms < 0 ? 0
	                         : o.client_timeout_ms == 0 ? -1 : o.client_timeout_ms;
	dc.srv.request_timeout_ms = o.deadline_ms;
	if (!quiet_flag)
		dc.srv.log = log_line;
	unsigned nw = dc.workers ? dc.workers : SW_DAEMON_DEFAULT_WORKERS;

	int code = SW_EXIT_OK, lfd = -1;
	sw_serve_result res; /* --inet: how the one connection ended */
	memset(&res, 0, sizeof res);
	sw_vfs *vfs[SW_DAEMON_MAX_WORKERS] = {0};
	sw_daemon *d = NULL;
	for (unsigned i = 0; i < nw; i++) {
		int rv = sw_vfs_new(&vfs[i], root, &vc, NULL);
		if (rv < 0) {
			fprintf(stderr, "smartwire serve: cannot serve %s: %s\n", root,
			        rv == SW_ERR_IO ? sw_sys_strerror(errno, ebuf, sizeof ebuf)
			                        : sw_strerror(rv));
			code = SW_EXIT_FAILURE;
			goto out;
		}
	}
	int rv = sw_daemon_new(&d, &dc, sw_vfs_dispatch(), (void *const *)vfs, nw, NULL);
	if (rv < 0) {
		fprintf(stderr, "smartwire serve: %s\n", sw_strerror(rv));
		code = SW_EXIT_FAILURE;
		goto out;
	}
	if (o.inet) {
		/* stdin and stdout become an fd medium, made non-blocking for the
		 * connection and blocking again when it ends (the descriptions
		 * are shared with whoever started us). */
		rv = sw_daemon_add_conn(d, 0, 1, false, &res);
		if (rv < 0) {
			fprintf(stderr, "smartwire serve: cannot serve stdin/stdout: %s\n",
			        rv == SW_ERR_IO ? sw_sys_strerror(errno, ebuf, sizeof ebuf)
			                        : sw_strerror(rv));
			code = SW_EXIT_CONNECTION;
			goto out;
		}
	} else {
		sw_errinfo err;
		uint16_t port = 0;
		rv = sw_tcp_listen(&lfd, &port, o.listen,
		                   o.port_set ? (uint16_t)o.port : SW_TCP_DEFAULT_PORT, 128, &err);
		if (rv < 0) {
			fprintf(stderr, "smartwire serve: cannot listen on %s:%u: %s\n",
			        o.listen ? o.listen : "*",
			        o.port_set ? (unsigned)o.port : SW_TCP_DEFAULT_PORT, err.text);
			code = SW_EXIT_CONNECTION;
			goto out;
		}
		rv = sw_daemon_add_listener(d, lfd);
		if (rv == 0 && !quiet_flag) {
			/* Breezy: trace.note('listening on port: %s') to stderr. */
			fprintf(stderr, "listening on port: %u\n", (unsigned)port);
			fflush(stderr);
		}
	}
	if (rv < 0) {
		fprintf(stderr, "smartwire serve: %s\n", sw_strerror(rv));
		code = SW_EXIT_FAILURE;
		goto out;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	the_daemon = d;
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	rv = sw_daemon_run(d);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	the_daemon = NULL;

	sw_daemon_stats st;
	sw_daemon_get_stats(d, &st);
	if (o.verbose)
		fprintf(stderr,
		        "smartwire serve: %llu connections (%llu refused), %llu requests; ended: "
		        "%llu eof, %llu idle, %llu deadline, %llu protocol, %llu io, %llu stop\n",
		        (unsigned long long)st.accepted, (unsigned long long)st.refused,
		        (unsigned long long)st.requests, (unsigned long long)st.ended_eof,
		        (unsigned long long)st.ended_timeout, (unsigned long long)st.ended_deadline,
		        (unsigned long long)st.ended_protocol, (unsigned long long)st.ended_io,
		        (unsigned long long)st.ended_stop);
	if (rv < 0) {
		fprintf(stderr, "smartwire serve: %s\n", sw_strerror(rv));
		code = SW_EXIT_FAILURE;
	} else if (o.inet) {
		code = inet_status(&res);
		if (code != SW_EXIT_OK && !quiet_flag)
			fprintf(stderr, "smartwire serve: the connection failed: %s\n",
			        sw_strerror(res.error));
	}
out:
	sw_daemon_del(d);
	if (lfd >= 0)
		close(lfd);
	for (unsigned i = 0; i < nw; i++)
		sw_vfs_del(vfs[i]);
	free(root);
	return code;
}
