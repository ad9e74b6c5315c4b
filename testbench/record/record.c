/*
 * The recording proxy (record/record.h): the recorder itself, one poll()
 * loop over a listening socket and every proxied connection.  What happens
 * to the bytes of one connection is in record_conn.c.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record_impl.h"
#include "smartwire/error.h"

static char *dupstr(const sw_mem *mem, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = sw_malloc(mem, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static int mkdirs(const char *path)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
			return -1;
		tmp[i] = c;
	}
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* ---- creation ---------------------------------------------------------- */

int sw_recorder_new(sw_recorder **out, const sw_record_config *cfg, const sw_mem *mem)
{
	if (!out || !cfg || !cfg->out_dir || !*cfg->out_dir ||
	    !cfg->upstream_host == !cfg->upstream_argv ||
	    (cfg->upstream_argv && !cfg->upstream_argv[0]))
		return SW_ERR_INVALID_ARGUMENT;
	if (mkdirs(cfg->out_dir) < 0)
		return SW_ERR_IO;
	sw_recorder *r = sw_malloc(mem, sizeof *r);
	if (!r)
		return SW_ERR_NOMEM;
	memset(r, 0, sizeof *r);
	r->mem = mem;
	r->listen_fd = -1;
	r->port = cfg->upstream_port ? cfg->upstream_port : SW_TCP_DEFAULT_PORT;
	r->bufsize = cfg->buffer_size ? cfg->buffer_size : SW_RECORD_BUFFER_DEFAULT;
	r->max = cfg->max_connections;
	r->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms
	                                                : SW_RECORD_CONNECT_TIMEOUT_MS_DEFAULT;
	r->kill_timeout_ms = cfg->kill_timeout_ms > 0 ? cfg->kill_timeout_ms
	                                              : SW_RECORD_KILL_TIMEOUT_MS_DEFAULT;
	r->events = cfg->events;
	r->out_dir = dupstr(mem, cfg->out_dir);
	if (!r->out_dir)
		goto nomem;
	if (cfg->upstream_host) {
		if (!(r->host = dupstr(mem, cfg->upstream_host)))
			goto nomem;
	} else {
		size_t n = 0, bytes = 0;
		while (cfg->upstream_argv[n])
			bytes += strlen(cfg->upstream_argv[n++]) + 1;
		char **v = sw_malloc(mem, (n + 1) * sizeof *v + bytes);
		if (!v)
			goto nomem;
		char *s = (char *)(v + n + 1);
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(cfg->upstream_argv[i]) + 1;
			memcpy(s, cfg->upstream_argv[i], l);
			v[i] = s;
			s += l;
		}
		v[n] = NULL;
		r->argv = v;
	}
	*out = r;
	return 0;
nomem:
	sw_free(mem, r->out_dir);
	sw_free(mem, r);
	return SW_ERR_NOMEM;
}

int sw_recorder_listen(sw_recorder *r, const char *addr, uint16_t port, uint16_t *port_out,
                       sw_errinfo *ei)
{
	if (!r)
		return sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, NULL);
	if (r->listen_fd >= 0)
		return sw_errinfo_set(ei, SW_ERR_STATE, 0, "already listening");
	return sw_tcp_listen(&r->listen_fd, port_out, addr, port, 16, ei);
}

/* ---- the loop ---------------------------------------------------------- */

static int add_pfd(sw_recorder *r, size_t *n, int fd, short events)
{
	if (fd < 0 || !events)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (r->pfd[i].fd == fd) {
			r->pfd[i].events |= events;
			return 0;
		}
	if (*n == r->pfd_cap) {
		size_t cap = r->pfd_cap ? r->pfd_cap * 2 : 16;
		struct pollfd *p = sw_realloc(r->mem, r->pfd, cap * sizeof *p);
		if (!p)
			return SW_ERR_NOMEM;
		r->pfd = p;
		r->pfd_cap = cap;
	}
	r->pfd[(*n)++] = (struct pollfd){.fd = fd, .events = events};
	return 0;
}

static short revents_of(const sw_recorder *r, const struct conn *c, int fd)
{
	for (size_t i = c->poll_at; fd >= 0 && i < c->poll_at + c->poll_n; i++)
		if (r->pfd[i].fd == fd)
			return r->pfd[i].revents;
	return 0;
}

static int accept_pending(sw_recorder *r)
{
	for (int i = 0; i < 16 && r->listen_fd >= 0; i++) {
		sw_medium *m;
		int rc = sw_tcp_accept(&m, r->listen_fd, 0, r->mem);
		if (rc == SW_ERR_TIMEOUT)
			return 0;
		if (rc == SW_ERR_NOMEM)
			return rc;
		if (rc < 0) {
			/* ECONNABORTED and friends concern one client only. */
			if (errno == ECONNABORTED || errno == EPROTO || errno == EMFILE ||
			    errno == ENFILE || errno == EAGAIN)
				return 0;
			sw__rec_event(r, "accept failed: %s", strerror(errno));
			return SW_ERR_IO;
		}
		rc = sw_recorder_add_client(r, m);
		if (rc == SW_ERR_NOMEM)
			return rc;
	}
	return 0;
}

int sw_recorder_step(sw_recorder *r, int timeout_ms)
{
	if (!r)
		return SW_ERR_INVALID_ARGUMENT;
	size_t n = 0;
	int rc = add_pfd(r, &n, r->listen_fd, POLLIN);
	for (struct conn *c = r->conns; c && rc == 0; c = c->next) {
		c->poll_at = n;
		for (int dir = 0; dir < 2 && rc == 0; dir++) {
			int rfd, wfd;
			struct pipe_buf *b = &c->d[dir];
			sw_medium_fds(c->m[dir], &rfd, NULL);
			sw_medium_fds(c->m[1 - dir], NULL, &wfd);
			if (!b->eof && b->len < r->bufsize)
				rc = add_pfd(r, &n, rfd, POLLIN);
			if (rc == 0 && b->len)
				rc = add_pfd(r, &n, wfd, POLLOUT);
		}
		c->poll_n = n - c->poll_at;
	}
	if (rc < 0)
		return rc;
	if (n == 0)
		return 0;
	int got = poll(r->pfd, (nfds_t)n, timeout_ms < 0 ? -1 : timeout_ms);
	if (got < 0)
		return errno == EINTR ? 0 : SW_ERR_IO;
	struct conn **pp = &r->conns;
	while (*pp) {
		struct conn *c = *pp;
		for (int dir = 0; dir < 2 && !c->failed; dir++) {
			int rfd;
			sw_medium_fds(c->m[dir], &rfd, NULL);
			sw__rec_pump(c, dir, revents_of(r, c, rfd), r->bufsize);
		}
		if (c->failed || (c->d[C2S].shut && c->d[S2C].shut)) {
			*pp = c->next;
			sw__rec_conn_close(r, c);
		} else {
			pp = &c->next;
		}
	}
	if (r->listen_fd >= 0 && (r->pfd[0].revents & POLLIN))
		return accept_pending(r);
	return 0;
}

bool sw_recorder_done(const sw_recorder *r)
{
	return !r || (r->open == 0 && (r->listen_fd < 0 || (r->max && r->count >= r->max)));
}

unsigned sw_recorder_connections(const sw_recorder *r) { return r ? r->count : 0; }
unsigned sw_recorder_open(const sw_recorder *r) { return r ? r->open : 0; }
unsigned sw_recorder_upstream_failures(const sw_recorder *r)
{
	return r ? r->upstream_failures : 0;
}
unsigned sw_recorder_failed(const sw_recorder *r) { return r ? r->failed : 0; }

void sw_recorder_del(sw_recorder *r)
{
	if (!r)
		return;
	while (r->conns) {
		struct conn *c = r->conns;
		r->conns = c->next;
		sw__rec_conn_log(c, "recorder stopped");
		sw__rec_conn_close(r, c);
	}
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	sw_free(r->mem, r->pfd);
	sw_free(r->mem, r->argv);
	sw_free(r->mem, r->host);
	sw_free(r->mem, r->out_dir);
	sw_free(r->mem, r);
}
