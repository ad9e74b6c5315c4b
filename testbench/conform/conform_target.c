/*
 * Conformance runner: the targets.  Command templates ({dir} {options}
 * {port} {url} {op} {args}) are split into words and spawned; a TCP server
 * is waited for until it accepts; a client target gets a listening socket;
 * the embedded server runs in a thread (conform_embedded.c).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conform_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"

#define START_MS 10000     /* TCP server start-up bound (unscaled) */
#define MAX_ARGV 64

int64_t sw__cf_scaled(const sw__cf_run *R, uint32_t ms)
{
	return (int64_t)((double)ms * R->o->timeout_scale);
}

int64_t sw__cf_wait_ms(const sw__cf_run *R, uint32_t ms)
{
	uint64_t extra = (uint64_t)R->o->rtt_ms * SW_CF_RTT_FACTOR;
	if (extra > SW_CF_RTT_EXTRA_MAX)
		extra = SW_CF_RTT_EXTRA_MAX;
	return (int64_t)((double)((uint64_t)ms + extra) * R->o->timeout_scale);
}

void sw__cf_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- Command templates --------------------------------------------------- */

/* Splits a template into words (single/double quotes, backslash escapes; no
 * other shell syntax).  Returns the count or -1. */
static int split_words(const char *s, char **out, int max)
{
	int n = 0;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n == max)
			return -1;
		char *w = malloc(strlen(s) + 1), *o = w;
		if (!w)
			return -1;
		while (*s && *s != ' ' && *s != '\t') {
			if (*s == '\'') {
				s++;
				while (*s && *s != '\'')
					*o++ = *s++;
				if (*s)
					s++;
			} else if (*s == '"') {
				s++;
				while (*s && *s != '"') {
					if (*s == '\\' && s[1])
						s++;
					*o++ = *s++;
				}
				if (*s)
					s++;
			} else if (*s == '\\' && s[1]) {
				s++;
				*o++ = *s++;
			} else
				*o++ = *s++;
		}
		*o = '\0';
		out[n++] = w;
	}
	return n;
}

/* Replaces every occurrence of `key` in word by `val` (malloc'd result). */
static char *subst(const char *word, const char *key, const char *val)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	size_t kl = strlen(key);
	for (const char *p = word; *p;) {
		if (strncmp(p, key, kl) == 0) {
			sw_buf_append_str(&b, val);
			p += kl;
		} else
			sw_buf_append_byte(&b, (uint8_t)*p++);
	}
	sw_buf_append_byte(&b, 0);
	return (char *)b.data;
}

/* Builds argv from the template; the caller frees each word and the array. */
static int build_argv(const sw__cf_run *R, const char *tmpl, char **argv)
{
	char *words[MAX_ARGV];
	int nw = split_words(tmpl, words, MAX_ARGV);
	if (nw <= 0)
		return -1;
	char port[16], url[64], tmo[48];
	snprintf(port, sizeof port, "%u", (unsigned)R->port);
	snprintf(url, sizeof url, "bzr://127.0.0.1:%u/", (unsigned)R->port);
	snprintf(tmo, sizeof tmo, "--client-timeout=%d", R->idle_s);
	char *opwords[MAX_ARGV];
	int nop = R->c->client_op ? split_words(R->c->client_op, opwords, MAX_ARGV) : 0;
	if (nop < 0)
		nop = 0;
	bool used_op = false;
	int n = 0;
	for (int i = 0; i < nw && n < MAX_ARGV - 8; i++) {
		if (strcmp(words[i], "{options}") == 0) {
			if (R->c->allow_writes)
				argv[n++] = strdup("--allow-writes");
			if (R->idle_s)
				argv[n++] = strdup(tmo);
		} else if (strcmp(words[i], "{args}") == 0) {
			for (int k = 1; k < nop && n < MAX_ARGV - 8; k++)
				argv[n++] = strdup(opwords[k]);
			used_op = true;
		} else {
			char *a = subst(words[i], "{dir}", R->dir);
			char *b = subst(a, "{port}", port);
			char *c = subst(b, "{url}", url);
			char *d = subst(c, "{op}", nop ? opwords[0] : "");
			if (strstr(words[i], "{op}"))
				used_op = true;
			free(a);
			free(b);
			free(c);
			argv[n++] = d;
		}
		free(words[i]);
	}
	if (R->o->target == SW_CF_TARGET_CLIENT && !used_op)
		for (int k = 0; k < nop && n < MAX_ARGV - 1; k++)
			argv[n++] = strdup(opwords[k]);
	for (int k = 0; k < nop; k++)
		free(opwords[k]);
	argv[n] = NULL;
	return n;
}

static void free_argv(char **argv)
{
	for (int i = 0; argv[i]; i++)
		free(argv[i]);
}

static int spawn(sw__cf_run *R, const char *tmpl)
{
	char *argv[MAX_ARGV + 1];
	if (build_argv(R, tmpl, argv) <= 0) {
		sw__cf_appendf(&R->why, "cannot parse the command template '%s'", tmpl);
		return SW_ERR_INVALID_ARGUMENT;
	}
	sw_cmd_config cfg = {0};
	cfg.kill_timeout_ms = R->o->target == SW_CF_TARGET_PIPE     ? (int)sw__cf_wait_ms(R, 2000)
	                      : R->o->target == SW_CF_TARGET_CLIENT ? (int)sw__cf_wait_ms(R, 1000)
	                                                            : -1;
	/* Several runs spawn at once (-j) without a lock.  A child must not
	 * inherit another run's descriptors (a server holding another server's
	 * stdin open would keep it from ever seeing EOF), and every descriptor
	 * a run creates is close-on-exec from its creation: sw_cmd_spawn's
	 * pipes (pipe2 O_CLOEXEC), sockets (SOCK_CLOEXEC), fixture files
	 * (O_CLOEXEC), directories (opendir); nothing else a spawn touches is
	 * process-wide.  The one window left is in the library: sw_tcp_accept
	 * marks the accepted socket close-on-exec after accept() returns, and
	 * a lock around spawns alone would not close it either. */
	sw_errinfo ei;
	int rc = sw_cmd_spawn(&R->proc, (const char *const *)argv, &cfg, NULL, &ei);
	if (rc < 0)
		sw__cf_appendf(&R->why, "cannot start '%s': %s", argv[0], ei.text);
	else {
		sw_buf line;
		sw_buf_init(&line, NULL);
		for (int i = 0; argv[i]; i++)
			sw__cf_appendf(&line, "%s%s", i ? " " : "", argv[i]);
		sw__cf_note(R->r, "started: %.400s", line.len ? (const char *)line.data : "");
		sw_buf_fini(&line);
	}
	free_argv(argv);
	return rc;
}

/* ---- Starting and stopping targets ------------------------------------- */

/* Chooses {port} for a TCP server and holds it: a socket bound to it with
 * SO_REUSEADDR but not listening.  The server (which sets SO_REUSEADDR,
 * as brz serve and smartwire serve do) can still bind and listen on it,
 * while the kernel never hands it to another port-0 bind meanwhile, so two
 * runs (of this runner or another) cannot pick the same port between our
 * choice and the server's bind; and since nothing else listens on it, the
 * connection we make is to our own server.  Closed once connected. */
static int reserve_port(sw__cf_run *R, sw_errinfo *ei)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sw_errinfo_set(ei, SW_ERR_IO, errno, "socket: %s", strerror(errno));
	int one = 1;
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		int e = errno;
		close(fd);
		return sw_errinfo_set(ei, SW_ERR_IO, e, "cannot reserve a port: %s", strerror(e));
	}
	R->port_fd = fd;
	R->port = ntohs(a.sin_port);
	return 0;
}

int sw__cf_target_start(sw__cf_run *R)
{
	const sw_cf_opts *o = R->o;
	R->listen_fd = -1;
	R->port_fd = -1;
	switch (o->target) {
	case SW_CF_TARGET_EMBEDDED: {
		sw_errinfo ei;
		int rc =
		    sw__cf_embedded_start(&R->embedded, &R->conn.m, R->c, R->dir, R->idle_s, &ei);
		if (rc < 0)
			sw__cf_appendf(&R->why, "embedded server: %s", ei.text);
		return rc;
	}
	case SW_CF_TARGET_PIPE: {
		int rc = spawn(R, o->server_cmd);
		R->conn.m = R->proc;
		return rc;
	}
	case SW_CF_TARGET_TCP: {
		sw_errinfo err;
		if (reserve_port(R, &err) < 0) {
			sw__cf_appendf(&R->why, "cannot find a free port: %s", err.text);
			return SW_ERR_IO;
		}
		int rc = spawn(R, o->server_cmd);
		if (rc < 0)
			return rc;
		int64_t deadline = sw_clock_ms() + sw__cf_wait_ms(R, START_MS);
		for (;;) {
			rc = sw_tcp_connect(&R->conn.m, "127.0.0.1", R->port, 1000, NULL, &err);
			if (rc == 0) {
				close(R->port_fd);
				R->port_fd = -1;
				return 0;
			}
			if (sw_clock_ms() >= deadline) {
				sw__cf_appendf(&R->why,
				               "the server did not accept connections on port %u "
				               "within %lld ms: %s",
				               R->port, (long long)sw__cf_wait_ms(R, START_MS),
				               err.text);
				return SW_ERR_TIMEOUT;
			}
			/* Wait for the server's stdout to change (it exited) or 20 ms. */
			if (sw_medium_wait_readable(R->proc, 20) == 1) {
				uint8_t b[256];
				if (sw_medium_read(R->proc, b, sizeof b) <= 0) {
					sw__cf_appendf(&R->why, "the server exited before accepting connections");
					return SW_ERR_CONNECT;
				}
			}
		}
	}
	case SW_CF_TARGET_CLIENT: {
		sw_errinfo err;
		if (sw_tcp_listen(&R->listen_fd, &R->port, "127.0.0.1", 0, 4, &err) < 0) {
			sw__cf_appendf(&R->why, "cannot listen: %s", err.text);
			return SW_ERR_IO;
		}
		return spawn(R, o->client_cmd);
	}
	}
	return SW_ERR_INVALID_ARGUMENT;
}

void sw__cf_target_stop(sw__cf_run *R)
{
	if (R->conn.m && R->conn.m != R->proc)
		sw_medium_del(R->conn.m);
	R->conn.m = NULL;
	if (R->embedded) {
		char *log = NULL;
		sw__cf_embedded_stop(R->embedded, &log);
		R->embedded = NULL;
		if (log && R->r) {
			free(R->r->stderr_text);
			R->r->stderr_text = log;
		} else
			free(log);
	}
	if (R->proc) {
		int st = -1;
		sw_slice err = {0};
		sw_cmd_close_wait(R->proc, &st, &err);
		if (R->r) {
			R->r->exit_status = st;
			if (st != -1)
				sw__cf_note(R->r, "%s %s with %s %d", R->o->target == SW_CF_TARGET_CLIENT ? "client" : "server",
				            WIFEXITED(st) ? "exited" : "was killed", WIFEXITED(st) ? "status" : "signal",
				            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			free(R->r->stderr_text);
			R->r->stderr_text = err.n ? sw__cf_strndup((const char *)err.p, err.n > 8192 ? 8192 : err.n) : NULL;
		}
		sw_medium_del(R->proc);
		R->proc = NULL;
	}
	if (R->listen_fd >= 0)
		close(R->listen_fd);
	R->listen_fd = -1;
	if (R->port_fd >= 0)
		close(R->port_fd);
	R->port_fd = -1;
}
