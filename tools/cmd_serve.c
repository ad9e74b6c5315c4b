/*
 * smartwire serve: the reference file server, a drop-in for the smart
 * protocol part of `brz serve` (Breezy 3.3.2 builtins.cmd_serve,
 * bzr/smart/server.py), built on smartwire/daemon.h + smartwire/vfs_server.h.
 *
 * Breezy's flags are accepted with Breezy's meaning, in both "--opt=V" and
 * "--opt V" forms, so that Breezy's bzr+ssh client can run us through
 * BZR_REMOTE_PATH (it sends `serve --inet --directory=/ --allow-writes`):
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
 */
#include <errno.h>
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
	        "--allow-writes.  There is no authentication.\n"
	        "  --inet             one client on stdin/stdout (inetd, sshd, BZR_REMOTE_PATH)\n"
	        "  --listen, --port   TCP address and port (default: any, 4155); --port=0 picks a\n"
	        "                     free port; \"listening on port: N\" goes to stderr\n"
	        "  --client-timeout   idle seconds before a client is dropped (default 300;\n"
	        "                     0: never)\n"
	        "  --request-deadline seconds from a request's first byte until its answer is\n"
	        "                     written (default: none)\n"
	        "  --max-connections  clients at once (default %u); more are accepted and closed\n"
	        "  --workers          event-loop threads (default %u; --inet uses 1)\n"
	        "  --max-body         bytes of one request body (default 4G; suffixes k m g)\n"
	        "  --max-readv-ranges ranges of one readv (default %zu)\n"
	        "  --max-path         bytes of one client path (default %zu)\n"
	        "SIGTERM, SIGHUP, SIGINT: stop accepting, finish requests in flight, exit 0;\n"
	        "a second signal closes everything at once.\n"
	        "Exit status: 0 done; 1 the directory cannot be served; 2 usage; 4 (--inet)\n"
	        "the connection ended on a protocol error or the request deadline; 5 cannot\n"
	        "listen, or (--inet) the connection failed.\n",
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

/* Matches "--name=V", "--name V" (consuming argv[i+1]) or, if `shortopt`,
 * "-x V" / "-xV".  Returns the value or NULL. */
static const char *opt_val(int argc, char **argv, int *i, const char *name, const char *shortopt)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) == 0 && a[n] == '=')
		return a + n + 1;
	if ((strcmp(a, name) == 0 || (shortopt && strcmp(a, shortopt) == 0)) && *i + 1 < argc)
		return argv[++*i];
	if (shortopt && strncmp(a, shortopt, 2) == 0 && a[2])
		return a + 2;
	return NULL;
}

static int parse(int argc, char **argv, opts *o)
{
	memset(o, 0, sizeof *o);
	o->client_timeout_ms = -1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		uint64_t u;
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return 1;
		else if (!strcmp(a, "--inet"))
			o->inet = true;
		else if (!strcmp(a, "--allow-writes"))
			o->allow_writes = true;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			quiet_flag = 1;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			o->verbose = true;
		else if (!strcmp(a, "--bzr"))
			;
		else if ((v = opt_val(argc, argv, &i, "--protocol", NULL))) {
			if (strcmp(v, "bzr") != 0) {
				fprintf(stderr, "smartwire serve: only --protocol=bzr is served\n");
				return -1;
			}
		} else if ((v = opt_val(argc, argv, &i, "--listen", NULL)))
			o->listen = v;
		else if ((v = opt_val(argc, argv, &i, "--directory", "-d")))
			o->directory = v;
		else if ((v = opt_val(argc, argv, &i, "--port", NULL))) {
			if (parse_u64(v, 65535, false, &o->port) < 0)
				goto bad;
			o->port_set = true;
		} else if ((v = opt_val(argc, argv, &i, "--client-timeout", NULL))) {
			if (parse_secs(v, &o->client_timeout_ms) < 0)
				goto bad;
		} else if ((v = opt_val(argc, argv, &i, "--request-deadline", NULL))) {
			if (parse_secs(v, &o->deadline_ms) < 0)
				goto bad;
		} else if ((v = opt_val(argc, argv, &i, "--max-connections", NULL))) {
			if (parse_u64(v, 1000000, false, &o->max_conns) < 0 || !o->max_conns)
				goto bad;
		} else if ((v = opt_val(argc, argv, &i, "--workers", NULL))) {
			if (parse_u64(v, SW_DAEMON_MAX_WORKERS, false, &o->workers) < 0 || !o->workers)
				goto bad;
		} else if ((v = opt_val(argc, argv, &i, "--max-body", NULL))) {
			if (parse_u64(v, UINT64_MAX, true, &u) < 0 || !u)
				goto bad;
			o->max_body = u;
		} else if ((v = opt_val(argc, argv, &i, "--max-readv-ranges", NULL))) {
			if (parse_u64(v, SIZE_MAX, false, &o->max_ranges) < 0 || !o->max_ranges)
				goto bad;
		} else if ((v = opt_val(argc, argv, &i, "--max-path", NULL))) {
			if (parse_u64(v, SIZE_MAX, false, &o->max_path) < 0 || !o->max_path)
				goto bad;
		} else {
			fprintf(stderr, "smartwire serve: unknown option '%s'\n", a);
			return -1;
		}
		continue;
	bad:
		fprintf(stderr, "smartwire serve: bad value in '%s'\n", a);
		return -1;
	}
	return 0;
}

int sw_cmd_serve(int argc, char **argv)
{
	opts o;
	int pr = parse(argc, argv, &o);
	if (pr > 0)
		return usage(stdout, SW_EXIT_OK);
	if (pr < 0)
		return usage(stderr, SW_EXIT_USAGE);

	char *root = abspath(o.directory ? o.directory : ".");
	if (!root) {
		fprintf(stderr, "smartwire serve: %s\n", strerror(errno));
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
	sw_vfs *vfs[SW_DAEMON_MAX_WORKERS] = {0};
	sw_daemon *d = NULL;
	for (unsigned i = 0; i < nw; i++) {
		int rv = sw_vfs_new(&vfs[i], root, &vc, NULL);
		if (rv < 0) {
			fprintf(stderr, "smartwire serve: cannot serve %s: %s\n", root,
			        rv == SW_ERR_IO ? strerror(errno) : sw_strerror(rv));
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
		rv = sw_daemon_add_conn(d, 0, 1, false, NULL);
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
		code = SW_EXIT_CONNECTION;
	} else if (o.inet && st.ended_io) {
		code = SW_EXIT_CONNECTION;
	} else if (o.inet && (st.ended_protocol || st.ended_deadline)) {
		code = SW_EXIT_PROTOCOL;
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
