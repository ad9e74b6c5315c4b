/*
 * The recording proxy: one proxied connection.  Its three files are opened
 * when it is added, its upstream (a TCP connection or a spawned command) is
 * opened at once, and every byte read from either side is written to the
 * recording file of its direction before it is forwarded.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "record_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"

static const char *const dir_name[2] = {"c2s", "s2c"};

static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

static int write_full(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- logs -------------------------------------------------------------- */

void sw__rec_event(sw_recorder *r, const char *fmt, ...)
{
	if (!r->events)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(r->events, fmt, ap);
	va_end(ap);
	fputc('\n', r->events);
	fflush(r->events);
}

void sw__rec_conn_log(struct conn *c, const char *fmt, ...)
{
	if (c->log < 0)
		return;
	char line[1024];
	int64_t us = sw_clock_ns() / 1000 - c->t0;
	int k = snprintf(line, sizeof line, "%lld.%06lld ", (long long)(us / 1000000),
	                 (long long)(us % 1000000));
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + k, sizeof line - (size_t)k - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)k + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	(void)write_full(c->log, line, len);
}

/* ---- upstream ---------------------------------------------------------- */

/* Opens the upstream.  Returns 0, SW_ERR_NOMEM, or 1 when the upstream
 * cannot be reached (logged). */
static int open_upstream(sw_recorder *r, struct conn *c)
{
	sw_errinfo ei;
	if (r->host) {
		int rc = sw_tcp_connect(&c->m[UPSTREAM], r->host, r->port, r->connect_timeout_ms,
		                        r->mem, &ei);
		if (rc == SW_ERR_NOMEM)
			return rc;
		if (rc < 0) {
			sw__rec_conn_log(c, "upstream-error %s", ei.text);
			sw__rec_event(r, "conn %u: upstream tcp %s:%u: %s", c->id, r->host, r->port,
			              ei.text);
			return 1;
		}
		int fd;
		sw_medium_fds(c->m[UPSTREAM], &fd, NULL);
		set_nonblock(fd, 1);
		sw__rec_conn_log(c, "upstream tcp %s:%u", r->host, r->port);
		return 0;
	}
	/* The library's spawn: its pipes are close-on-exec and above 2 from
	 * the start, its stdin pipe non-blocking; stderr goes to ours, so
	 * that polling stdout and stdin alone cannot leave a chatty child
	 * blocked on a full stderr pipe. */
	sw_cmd_config cc = {.kill_timeout_ms = r->kill_timeout_ms, .inherit_stderr = true};
	int rc = sw_cmd_spawn(&c->m[UPSTREAM], (const char *const *)r->argv, &cc, r->mem, &ei);
	if (rc == SW_ERR_NOMEM)
		return rc;
	if (rc < 0) {
		sw__rec_conn_log(c, "upstream-error %s", ei.text);
		sw__rec_event(r, "conn %u: %s", c->id, ei.text);
		return 1;
	}
	char cmd[700];
	size_t k = 0;
	for (char **a = r->argv; *a && k < sizeof cmd - 1; a++) {
		int w = snprintf(cmd + k, sizeof cmd - k, "%s%s", a == r->argv ? "" : " ", *a);
		k += w > 0 ? (size_t)w : 0;
	}
	sw__rec_conn_log(c, "upstream command pid %ld: %s", sw_cmd_pid(c->m[UPSTREAM]), cmd);
	return 0;
}

/* ---- connections -------------------------------------------------------- */

void sw__rec_conn_close(sw_recorder *r, struct conn *c)
{
	sw__rec_event(r, "conn %u: closed%s, %llu bytes c2s, %llu bytes s2c", c->id,
	              c->failed ? " with an error" : "", (unsigned long long)c->total[C2S],
	              (unsigned long long)c->total[S2C]);
	if (c->failed)
		r->failed++;
	if (c->m[CLIENT]) {
		int rfd = -1, wfd = -1;
		sw_medium_fds(c->m[CLIENT], &rfd, &wfd);
		if (rfd >= 0 && c->orig_flags[0] >= 0)
			fcntl(rfd, F_SETFL, c->orig_flags[0]);
		if (wfd >= 0 && c->orig_flags[1] >= 0)
			fcntl(wfd, F_SETFL, c->orig_flags[1]);
	}
	sw_medium_del(c->m[CLIENT]);
	/* A command upstream: its pipes are closed, then it has kill_timeout_ms
	 * to exit, then SIGTERM, as long again, then SIGKILL. */
	int st = -1;
	if (sw_cmd_close_wait(c->m[UPSTREAM], &st, NULL) == 0 && st != -1) {
		if (WIFEXITED(st))
			sw__rec_conn_log(c, "upstream command exited with status %d",
			                 WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			sw__rec_conn_log(c, "upstream command killed by signal %d", WTERMSIG(st));
	}
	sw_medium_del(c->m[UPSTREAM]);
	sw__rec_conn_log(c, "close %s c2s=%llu s2c=%llu", c->failed ? "error" : "clean",
	                 (unsigned long long)c->total[C2S], (unsigned long long)c->total[S2C]);
	for (int i = 0; i < 2; i++) {
		if (c->file[i] >= 0)
			close(c->file[i]);
		sw_free(r->mem, c->d[i].data);
	}
	if (c->log >= 0)
		close(c->log);
	r->open--;
	sw_free(r->mem, c);
}

static int open_file(sw_recorder *r, unsigned id, const char *ext)
{
	char path[4096];
	int n = snprintf(path, sizeof path, "%s/conn-%03u.%s", r->out_dir, id, ext);
	if (n < 0 || (size_t)n >= sizeof path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
}

static void describe_peer(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[256], serv[32];
	memset(&ss, 0, sizeof ss);
	/* Only IP peers have a useful name (an unnamed AF_UNIX peer has none). */
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
	                NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(buf, len, "%s port %s", host, serv);
	else
		snprintf(buf, len, "fd %d", fd);
}

int sw_recorder_add_client(sw_recorder *r, sw_medium *client)
{
	int rfd = -1, wfd = -1;
	if (!r || !client || sw_medium_fds(client, &rfd, &wfd) < 0) {
		sw_medium_del(client);
		return SW_ERR_INVALID_ARGUMENT;
	}
	if (r->max && r->count >= r->max) {
		sw_medium_del(client);
		return SW_ERR_LIMIT;
	}
	struct conn *c = sw_malloc(r->mem, sizeof *c);
	if (!c) {
		sw_medium_del(client);
		return SW_ERR_NOMEM;
	}
	memset(c, 0, sizeof *c);
	c->m[CLIENT] = client;
	c->file[0] = c->file[1] = c->log = -1;
	c->t0 = sw_clock_ns() / 1000;
	c->orig_flags[0] = rfd >= 0 ? fcntl(rfd, F_GETFL) : -1;
	c->orig_flags[1] = wfd >= 0 && wfd != rfd ? fcntl(wfd, F_GETFL) : -1;
	c->id = ++r->count;
	r->open++;
	c->next = r->conns;
	r->conns = c;
	for (int i = 0; i < 2; i++) {
		c->d[i].data = sw_malloc(r->mem, r->bufsize);
		if (!c->d[i].data) {
			c->failed = true;
			r->conns = c->next;
			sw__rec_conn_close(r, c);
			return SW_ERR_NOMEM;
		}
	}
	c->log = open_file(r, c->id, "log");
	c->file[C2S] = open_file(r, c->id, "c2s");
	c->file[S2C] = open_file(r, c->id, "s2c");
	if (c->log < 0 || c->file[C2S] < 0 || c->file[S2C] < 0) {
		int e = errno;
		sw__rec_event(r, "conn %u: cannot create recording files in %s: %s", c->id,
		              r->out_dir, strerror(e));
		c->failed = true;
		r->conns = c->next;
		sw__rec_conn_close(r, c);
		errno = e;
		return SW_ERR_IO;
	}
	char peer[300], when[64];
	describe_peer(rfd, peer, sizeof peer);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	sw__rec_conn_log(c, "open conn %u at %s, client %s (%s)", c->id, when, peer,
	                 sw_medium_name(client));
	sw__rec_event(r, "conn %u: open, client %s", c->id, peer);
	set_nonblock(rfd, 1);
	if (wfd >= 0 && wfd != rfd)
		set_nonblock(wfd, 1);
	int rc = open_upstream(r, c);
	if (rc == SW_ERR_NOMEM) {
		c->failed = true;
		r->conns = c->next;
		sw__rec_conn_close(r, c);
		return rc;
	}
	if (rc != 0) {
		r->upstream_failures++;
		c->failed = true;
		r->conns = c->next;
		sw__rec_conn_close(r, c);
		if (r->max && r->count >= r->max && r->listen_fd >= 0) {
			close(r->listen_fd);
			r->listen_fd = -1;
		}
		return (int)r->count;
	}
	if (r->max && r->count >= r->max && r->listen_fd >= 0) {
		/* Later clients are refused by the kernel rather than left waiting. */
		close(r->listen_fd);
		r->listen_fd = -1;
	}
	return (int)c->id;
}

static void fail(struct conn *c, int dir, const char *what, int rc, int sys)
{
	sw__rec_conn_log(c, "%s %s: %s%s%s", dir_name[dir], what, sw_errname(rc), sys ? " " : "",
	                 sys ? strerror(sys) : "");
	c->failed = true;
}

/* True if a write to fd takes bytes now (or fails at once: a peer gone).
 * Asked before every write because a "cmd" medium's write waits for room
 * in the child's stdin pipe instead of returning SW_ERR_WOULD_BLOCK, and a
 * proxy waiting there would stop reading the child's stdout: both would
 * wait for ever. */
static bool writable_now(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	if (fd < 0)
		return true; /* shut down: the write reports it */
	while (poll(&p, 1, 0) < 0)
		if (errno != EINTR)
			return true; /* let the write report the error */
	return p.revents != 0;
}

void sw__rec_pump(struct conn *c, int dir, short rev_in, size_t cap)
{
	struct pipe_buf *b = &c->d[dir];
	sw_medium *src = c->m[dir], *dst = c->m[1 - dir];
	if (!b->eof && (rev_in & (POLLIN | POLLHUP | POLLERR)) && b->len < cap) {
		if (b->start) {
			memmove(b->data, b->data + b->start, b->len);
			b->start = 0;
		}
		ptrdiff_t n = sw_medium_read(src, b->data + b->len, cap - b->len);
		if (n > 0) {
			sw__rec_conn_log(c, "%s offset=%llu len=%td", dir_name[dir],
			                 (unsigned long long)c->total[dir], n);
			if (write_full(c->file[dir], b->data + b->len, (size_t)n) < 0) {
				fail(c, dir, "recording file", SW_ERR_IO, errno);
				return;
			}
			c->total[dir] += (uint64_t)n;
			b->len += (size_t)n;
		} else if (n == 0) {
			int e = sw_medium_errno(src);
			b->eof = true;
			sw__rec_conn_log(c, "%s eof%s%s", dir_name[dir], e ? " after " : "",
			                 e ? strerror(e) : "");
		} else if (n != SW_ERR_WOULD_BLOCK) {
			fail(c, dir, "read", (int)n, sw_medium_errno(src));
			return;
		}
	}
	int wfd = -1;
	sw_medium_fds(dst, NULL, &wfd);
	while (b->len && writable_now(wfd)) {
		ptrdiff_t w = sw_medium_write(dst, b->data + b->start, b->len);
		if (w == SW_ERR_WOULD_BLOCK)
			break;
		if (w <= 0) {
			fail(c, dir, "write", w == 0 ? SW_ERR_IO : (int)w, sw_medium_errno(dst));
			return;
		}
		b->start += (size_t)w;
		b->len -= (size_t)w;
	}
	if (!b->len)
		b->start = 0;
	if (b->eof && !b->len && !b->shut) {
		int rc = sw_medium_shutdown_write(dst);
		b->shut = true;
		sw__rec_conn_log(c, "%s shutdown%s%s", dir_name[dir], rc ? " failed: " : "",
		                 rc ? sw_errname(rc) : "");
	}
}
