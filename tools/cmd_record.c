/*
 * smartwire record: a recording proxy in front of a real server.
 *
 * Clients connect to the proxy (or, with --inet, speak on its stdin and
 * stdout); for each client connection the proxy opens one upstream
 * connection (TCP, or a spawned command such as `brz serve --inet`),
 * forwards both directions unchanged and saves them as DIR/conn-NNN.c2s,
 * DIR/conn-NNN.s2c and DIR/conn-NNN.log (see smartwire/record.h).  The
 * captures feed `smartwire dissect`, the fuzz corpora and regression tests.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "record/record.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int usage(FILE *f, int code)
{
	fprintf(f,
	        "usage: smartwire record (--upstream=tcp://HOST[:PORT] | --upstream-cmd=CMD)\n"
	        "                        --out=DIR [--listen=ADDR] [--port=N | --inet]\n"
	        "                        [--max-connections=N | --once] [--quiet]\n\n"
	        "Forwards client connections to a server and records every byte.\n"
	        "  --upstream      a smart server over TCP (port 4155 if omitted)\n"
	        "  --upstream-cmd  a command run with /bin/sh -c for each connection, speaking\n"
	        "                  on its stdin/stdout (e.g. 'brz serve --inet --directory=X')\n"
	        "  --out           directory for conn-NNN.c2s, conn-NNN.s2c and conn-NNN.log\n"
	        "  --listen        address to listen on (default 127.0.0.1)\n"
	        "  --port          port to listen on; 0 (default) picks a free one.  The port\n"
	        "                  is printed to stderr as \"listening on port: N\"\n"
	        "  --inet          serve one client on stdin/stdout instead of listening\n"
	        "  --max-connections  exit after N connections have ended; --once is N=1\n"
	        "  --quiet         no per-connection lines on stderr\n"
	        "SIGINT/SIGTERM close every connection (files stay complete) and exit 0.\n"
	        "Exit status: 0 done, 1 failure, 2 usage, 5 an upstream could not be reached.\n");
	return code;
}

/* "tcp://host:port", "tcp://[v6]:port" or without the port. */
static int parse_tcp_url(const char *url, char *host, size_t hostlen, uint16_t *port)
{
	if (strncmp(url, "tcp://", 6) != 0)
		return -1;
	const char *h = url + 6, *end, *colon;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return -1;
		h++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -1;
	} else {
		colon = strrchr(h, ':');
		end = colon ? colon : h + strlen(h);
	}
	size_t n = (size_t)(end - h);
	if (n == 0 || n >= hostlen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = 0;
	if (colon) {
		char *e;
		errno = 0;
		unsigned long v = strtoul(colon + 1, &e, 10);
		if (errno || e == colon + 1 || *e || v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || e == s || *e || v > max || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

int sw_cmd_record(int argc, char **argv)
{
	enum {
		O_LISTEN = 256,
		O_PORT,
		O_UPSTREAM,
		O_UPSTREAM_CMD,
		O_OUT,
		O_MAX,
		O_INET,
		O_ONCE,
		O_QUIET
	};
	static const struct option opts[] = {
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"port", required_argument, NULL, O_PORT},
	    {"upstream", required_argument, NULL, O_UPSTREAM},
	    {"upstream-cmd", required_argument, NULL, O_UPSTREAM_CMD},
	    {"out", required_argument, NULL, O_OUT},
	    {"max-connections", required_argument, NULL, O_MAX},
	    {"inet", no_argument, NULL, O_INET},
	    {"once", no_argument, NULL, O_ONCE},
	    {"quiet", no_argument, NULL, O_QUIET},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *listen_addr = "127.0.0.1", *upstream = NULL, *cmd = NULL, *out = NULL;
	unsigned long port = 0, max = 0;
	bool inet = false, quiet = false;
	int c;
	optind = 0; /* reinitialise GNU getopt (main() parsed with "+", which it remembers) */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': return usage(stdout, SW_EXIT_OK);
		case O_INET: inet = true; break;
		case O_ONCE: max = 1; break;
		case O_QUIET: quiet = true; break;
		case O_LISTEN: listen_addr = optarg; break;
		case O_UPSTREAM_CMD: cmd = optarg; break;
		case O_UPSTREAM: upstream = optarg; break;
		case O_OUT: out = optarg; break;
		case O_PORT:
			if (parse_uint(optarg, 65535, &port) < 0) {
				fprintf(stderr, "smartwire record: bad port '%s'\n", optarg);
				return usage(stderr, SW_EXIT_USAGE);
			}
			break;
		case O_MAX:
			if (parse_uint(optarg, 1000000, &max) < 0) {
				fprintf(stderr, "smartwire record: bad connection count '%s'\n",
				        optarg);
				return usage(stderr, SW_EXIT_USAGE);
			}
			break;
		default: /* getopt_long said what was wrong */ return usage(stderr, SW_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smartwire record: unexpected argument '%s'\n", argv[optind]);
		return usage(stderr, SW_EXIT_USAGE);
	}
	if (!out || !*out || !upstream == !cmd || (cmd && !*cmd)) {
		fprintf(stderr, "smartwire record: need --out and exactly one of --upstream, "
		                "--upstream-cmd\n");
		return usage(stderr, SW_EXIT_USAGE);
	}

	char host[256];
	const char *sh[] = {"/bin/sh", "-c", cmd, NULL};
	sw_record_config cfg = {.out_dir = out, .max_connections = (unsigned)max,
	                        .events = quiet ? NULL : stderr};
	if (upstream) {
		if (parse_tcp_url(upstream, host, sizeof host, &cfg.upstream_port) < 0) {
			fprintf(stderr, "smartwire record: bad upstream '%s' (want tcp://HOST[:PORT])\n",
			        upstream);
			return usage(stderr, SW_EXIT_USAGE);
		}
		cfg.upstream_host = host;
	} else {
		cfg.upstream_argv = sh;
	}
	if (inet)
		cfg.max_connections = 1;

	sw_recorder *r;
	int rc = sw_recorder_new(&r, &cfg, NULL);
	if (rc < 0) {
		fprintf(stderr, "smartwire record: %s: %s\n", out,
		        rc == SW_ERR_IO ? strerror(errno) : sw_strerror(rc));
		return SW_EXIT_FAILURE;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (inet) {
		sw_medium *m;
		rc = sw_fd_medium_new(&m, 0, 1, 0, NULL);
		if (rc == 0)
			rc = sw_recorder_add_client(r, m);
	} else {
		sw_errinfo err;
		uint16_t bound = 0;
		rc = sw_recorder_listen(r, listen_addr, (uint16_t)port, &bound, &err);
		if (rc < 0)
			fprintf(stderr, "smartwire record: cannot listen on %s:%lu: %s\n",
			        listen_addr, port, err.text);
		else
			fprintf(stderr, "listening on port: %u\n", bound);
		fflush(stderr);
	}
	int status = rc < 0 ? SW_EXIT_FAILURE : SW_EXIT_OK;
	while (status == SW_EXIT_OK && !stop_signal && !sw_recorder_done(r)) {
		rc = sw_recorder_step(r, 500);
		if (rc < 0) {
			fprintf(stderr, "smartwire record: %s\n", sw_strerror(rc));
			status = SW_EXIT_FAILURE;
		}
	}
	if (stop_signal && !quiet)
		fprintf(stderr, "smartwire record: stopping on signal %d, %u connection(s) open\n",
		        (int)stop_signal, sw_recorder_open(r));
	if (status == SW_EXIT_OK && sw_recorder_upstream_failures(r))
		status = SW_EXIT_CONNECTION;
	sw_recorder_del(r);
	return status;
}
