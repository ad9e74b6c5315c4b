/*
 * The recording proxy (smartwire/record.h): one poll() loop over a listening
 * socket and every proxied connection, each direction with a bounded buffer,
 * and every byte written to the recording files before it is forwarded.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>

#include "smartwire/clock.h"
#include "smartwire/medium.h"
#include "smartwire/error.h"
#include "record/record.h"

static void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK));
}

extern char **environ;

enum { CLIENT = 0, UPSTREAM = 1 };         /* sides */
enum { C2S = 0, S2C = 1 };                 /* directions: C2S reads CLIENT */
static const char *const dir_name[2] = {"c2s", "s2c"};

/* One direction: bytes read from side `dir` wait here for side `1 - dir`. */
struct pipe_buf {
	uint8_t *data;
	size_t start, len;
	bool eof;  /* the reading side reported end of stream */
	bool shut; /* ... and we shut down writing towards the other side */
};

struct conn {
	struct conn *next;
	unsigned id;
	sw_medium *m[2];
	int orig_flags[2]; /* client rfd/wfd flags to restore, -1 if unknown */
	int client_fd[2];
	pid_t pid; /* command upstream, or -1 */
	struct pipe_buf d[2];
	int file[2];
	int log;
	int64_t t0; /* microseconds, CLOCK_MONOTONIC */
	uint64_t total[2];
	bool failed;
	size_t poll_at, poll_n; /* this round's entries in the pollfd array */
};

struct sw_recorder {
	const sw_mem *mem;
	char *out_dir;
	char *host;
	uint16_t port;
	char **argv; /* one block: pointers then strings */
	size_t bufsize;
	unsigned max;
	int connect_timeout_ms, kill_timeout_ms;
	FILE *events;
	int listen_fd;
	struct conn *conns;
	unsigned count, open, upstream_failures, failed;
	struct pollfd *pfd;
	size_t pfd_cap;
};

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

static void event(sw_recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(sw_recorder *r, const char *fmt, ...)
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

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

/* A line in the connection's log, prefixed with seconds since it opened. */
static void conn_log(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_log(struct conn *c, const char *fmt, ...)
{
	if (c->log < 0)
		return;
	char line[1024];
	int64_t us = mono_us() - c->t0;
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

/* ---- upstream ---------------------------------------------------------- */

/* Spawns the upstream command with its stdin and stdout on pipes (our ends
 * non-blocking), stderr inherited.  Returns 0, SW_ERR_NOMEM, or 1 with
 * errno set when the command cannot be started. */
/* Whether `prog` can be run, searched in PATH as posix_spawnp does: a
 * fork-based posix_spawn (valgrind) cannot report a failed exec, so the
 * common failure is found here first.  Returns 0 or an errno. */
static int find_program(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? 0 : errno;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/bin:/usr/bin";
	for (const char *p = path;;) {
		const char *colon = strchr(p, ':');
		int dl = colon ? (int)(colon - p) : (int)strlen(p);
		char full[4096];
		int n = snprintf(full, sizeof full, "%.*s/%s", dl, dl ? p : ".", prog);
		if (n > 0 && (size_t)n < sizeof full && access(full, X_OK) == 0)
			return 0;
		if (!colon)
			return ENOENT;
		p = colon + 1;
	}
}

static int spawn_upstream(sw_recorder *r, struct conn *c)
{
	int in[2], out[2];
	int missing = find_program(r->argv[0]);
	if (missing) {
		errno = missing;
		return 1;
	}
	if (pipe2(in, O_CLOEXEC) < 0)
		return 1;
	if (pipe2(out, O_CLOEXEC) < 0) {
		int e = errno;
		close(in[0]);
		close(in[1]);
		errno = e;
		return 1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawnattr_init(&at);
	sigset_t def, none;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int rc = posix_spawnp(&pid, r->argv[0], &fa, &at, r->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(in[0]);
	close(out[1]);
	if (rc == 0) {
		rc = sw_fd_medium_new(&c->m[UPSTREAM], out[0], in[1], SW_FD_OWN, r->mem);
		if (rc == 0) {
			c->pid = pid;
			set_nonblock(out[0], 1);
			set_nonblock(in[1], 1);
			return 0;
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(in[1]);
		close(out[0]);
		return SW_ERR_NOMEM;
	}
	close(in[1]);
	close(out[0]);
	errno = rc;
	return 1;
}

/* Opens the upstream.  Returns 0, SW_ERR_NOMEM, or 1 when the upstream
 * cannot be reached (logged). */
static int open_upstream(sw_recorder *r, struct conn *c)
{
	if (r->host) {
		sw_errinfo err;
		int rc = sw_tcp_connect(&c->m[UPSTREAM], r->host, r->port, r->connect_timeout_ms,
		                        r->mem, &err);
		if (rc == SW_ERR_NOMEM)
			return rc;
		if (rc < 0) {
			conn_log(c, "upstream-error %s", err.text);
			event(r, "conn %u: upstream tcp %s:%u: %s", c->id, r->host, r->port,
			      err.text);
			return 1;
		}
		int fd;
		sw_medium_fds(c->m[UPSTREAM], &fd, NULL);
		set_nonblock(fd, 1);
		conn_log(c, "upstream tcp %s:%u", r->host, r->port);
		return 0;
	}
	int rc = spawn_upstream(r, c);
	if (rc == SW_ERR_NOMEM)
		return rc;
	if (rc != 0) {
		int e = errno;
		conn_log(c, "upstream-error cannot run %s: %s", r->argv[0], strerror(e));
		event(r, "conn %u: cannot run %s: %s", c->id, r->argv[0], strerror(e));
		return 1;
	}
	char cmd[700];
	size_t k = 0;
	for (char **a = r->argv; *a && k < sizeof cmd - 1; a++) {
		int w = snprintf(cmd + k, sizeof cmd - k, "%s%s", a == r->argv ? "" : " ", *a);
		k += w > 0 ? (size_t)w : 0;
	}
	conn_log(c, "upstream command pid %ld: %s", (long)c->pid, cmd);
	return 0;
}

/* ---- connections -------------------------------------------------------- */

/* Waits for a command upstream to exit, bounded: SIGTERM after
 * kill_timeout_ms, SIGKILL after as long again.  Logs how it ended. */
static void reap(sw_recorder *r, struct conn *c)
{
	pid_t pid = c->pid;
	int64_t deadline = sw_deadline_ms(r->kill_timeout_ms);
	for (int stage = 0;;) {
		int st;
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			if (WIFEXITED(st))
				conn_log(c, "upstream command exited with status %d", WEXITSTATUS(st));
			else if (WIFSIGNALED(st))
				conn_log(c, "upstream command killed by signal %d", WTERMSIG(st));
			return;
		}
		if (w < 0 && errno != EINTR)
			return;
		if (w == 0 && sw_deadline_left(deadline) > 0) {
			struct timespec ts = {0, 10 * 1000 * 1000};
			nanosleep(&ts, NULL);
			continue;
		}
		if (stage++ == 0) {
			conn_log(c, "upstream command still running: SIGTERM");
			kill(pid, SIGTERM);
			deadline = sw_deadline_ms(r->kill_timeout_ms);
		} else {
			conn_log(c, "upstream command still running: SIGKILL");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
	}
}

static void conn_close(sw_recorder *r, struct conn *c)
{
	event(r, "conn %u: closed%s, %llu bytes c2s, %llu bytes s2c", c->id,
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
	sw_medium_del(c->m[UPSTREAM]);
	if (c->pid > 0)
		reap(r, c);
	conn_log(c, "close %s c2s=%llu s2c=%llu", c->failed ? "error" : "clean",
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
	c->pid = -1;
	c->file[0] = c->file[1] = c->log = -1;
	c->t0 = mono_us();
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
			conn_close(r, c);
			return SW_ERR_NOMEM;
		}
	}
	c->log = open_file(r, c->id, "log");
	c->file[C2S] = open_file(r, c->id, "c2s");
	c->file[S2C] = open_file(r, c->id, "s2c");
	if (c->log < 0 || c->file[C2S] < 0 || c->file[S2C] < 0) {
		int e = errno;
		event(r, "conn %u: cannot create recording files in %s: %s", c->id, r->out_dir,
		      strerror(e));
		c->failed = true;
		r->conns = c->next;
		conn_close(r, c);
		errno = e;
		return SW_ERR_IO;
	}
	char peer[300], when[64];
	describe_peer(rfd, peer, sizeof peer);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	conn_log(c, "open conn %u at %s, client %s (%s)", c->id, when, peer, sw_medium_name(client));
	event(r, "conn %u: open, client %s", c->id, peer);
	set_nonblock(rfd, 1);
	if (wfd >= 0 && wfd != rfd)
		set_nonblock(wfd, 1);
	int rc = open_upstream(r, c);
	if (rc == SW_ERR_NOMEM) {
		c->failed = true;
		r->conns = c->next;
		conn_close(r, c);
		return rc;
	}
	if (rc != 0) {
		r->upstream_failures++;
		c->failed = true;
		r->conns = c->next;
		conn_close(r, c);
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

static void fail(struct conn *c, int dir, const char *what, int rc, int sys)
{
	conn_log(c, "%s %s: %s%s%s", dir_name[dir], what, sw_errname(rc), sys ? " " : "",
	     sys ? strerror(sys) : "");
	c->failed = true;
}

/* Moves bytes in direction `dir` as far as the descriptors allow now. */
static void pump(struct conn *c, int dir, short rev_in, size_t cap)
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
			conn_log(c, "%s offset=%llu len=%td", dir_name[dir],
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
			conn_log(c, "%s eof%s%s", dir_name[dir], e ? " after " : "", e ? strerror(e) : "");
		} else if (n != SW_ERR_WOULD_BLOCK) {
			fail(c, dir, "read", (int)n, sw_medium_errno(src));
			return;
		}
	}
	while (b->len) {
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
		conn_log(c, "%s shutdown%s%s", dir_name[dir], rc ? " failed: " : "",
		     rc ? sw_errname(rc) : "");
	}
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
			event(r, "accept failed: %s", strerror(errno));
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
			pump(c, dir, revents_of(r, c, rfd), r->bufsize);
		}
		if (c->failed || (c->d[C2S].shut && c->d[S2C].shut)) {
			*pp = c->next;
			conn_close(r, c);
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
		conn_log(c, "recorder stopped");
		conn_close(r, c);
	}
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	sw_free(r->mem, r->pfd);
	sw_free(r->mem, r->argv);
	sw_free(r->mem, r->host);
	sw_free(r->mem, r->out_dir);
	sw_free(r->mem, r);
}
