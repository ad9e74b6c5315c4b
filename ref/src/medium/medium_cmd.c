/*
 * The spawned-command medium: a child process (ssh running `bzr serve
 * --inet`, or a local server) whose stdin and stdout are pipes.
 *
 * The child's stderr goes to a third pipe that is drained into a bounded
 * buffer whenever this medium waits (read, write, wait_readable, close), so
 * a child that writes a lot to stderr while we wait on its stdout cannot
 * deadlock us.  Our end of the child's stdin is non-blocking for the same
 * reason: a write polls for room on stdin and for stderr output together.
 */
#define _GNU_SOURCE 1 /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "medium_impl.h"
#include "smartwire/error.h"

extern char **environ;

typedef struct cmd_medium {
	sw_medium base;
	pid_t pid;
	int in_fd;  /* our end of the child's stdin, -1 once closed */
	int out_fd; /* our end of the child's stdout, -1 once closed */
	int err_fd; /* our end of the child's stderr, -1 when inherited or at EOF */
	sw_buf err;
	size_t err_limit;
	uint64_t err_dropped;
	int kill_timeout_ms;
	bool finished; /* sw_cmd_close_wait ran */
	int status;    /* raw wait status, -1 if unknown */
} cmd_medium;

static const sw_medium_ops cmd_ops;

static cmd_medium *as_cmd(const sw_medium *m)
{
	return m && m->ops == &cmd_ops ? (cmd_medium *)m : NULL;
}

/* Reads whatever stderr has now (the fd is non-blocking). */
static void drain_stderr(cmd_medium *c)
{
	char tmp[4096];
	while (c->err_fd >= 0) {
		ssize_t n = read(c->err_fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close(c->err_fd);
			c->err_fd = -1;
			return;
		}
		size_t keep = c->err.len < c->err_limit ? c->err_limit - c->err.len : 0;
		if (keep > (size_t)n)
			keep = (size_t)n;
		if (keep && sw_buf_append(&c->err, tmp, keep) < 0)
			keep = 0;
		c->err_dropped += (uint64_t)n - keep;
	}
}

/* Polls `fd` for `events` together with stderr.  Returns 1 when fd is ready,
 * 0 on timeout, or -1 with errno. */
static int poll_with_stderr(cmd_medium *c, int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = events},
		                      {.fd = c->err_fd, .events = POLLIN}};
		int rc = poll(p, 2, sw_deadline_left(deadline));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc;
		if (p[1].revents)
			drain_stderr(c);
		if (p[0].revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		if (p[0].revents)
			return 1;
	}
}

static ptrdiff_t cmd_read(sw_medium *m, void *buf, size_t len)
{
	cmd_medium *c = (cmd_medium *)m;
	if (c->out_fd < 0) {
		m->sys_errno = 0;
		return 0;
	}
	for (;;) {
		if (poll_with_stderr(c, c->out_fd, POLLIN, -1) < 0)
			return sw__map_read_errno(m, errno);
		ssize_t n = read(c->out_fd, buf, len);
		if (n == 0)
			m->sys_errno = 0; /* a clean end of stream */
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return sw__map_read_errno(m, errno);
	}
}

static ptrdiff_t cmd_write(sw_medium *m, const void *buf, size_t len)
{
	cmd_medium *c = (cmd_medium *)m;
	if (c->in_fd < 0)
		return SW_ERR_CLOSED;
	for (;;) {
		if (poll_with_stderr(c, c->in_fd, POLLOUT, -1) < 0)
			return sw__map_write_errno(m, errno);
		ssize_t n = sw__write_nosigpipe(c->in_fd, buf, len);
		if (n > 0)
			return n;
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		return sw__map_write_errno(m, n == 0 ? EPIPE : errno);
	}
}

static int cmd_shutdown_write(sw_medium *m)
{
	cmd_medium *c = (cmd_medium *)m;
	if (c->in_fd >= 0) {
		close(c->in_fd);
		c->in_fd = -1;
	}
	return 0;
}

static int cmd_wait_readable(sw_medium *m, int timeout_ms)
{
	cmd_medium *c = (cmd_medium *)m;
	if (c->out_fd < 0)
		return 1;
	int rc = poll_with_stderr(c, c->out_fd, POLLIN, sw_deadline_ms(timeout_ms));
	if (rc < 0) {
		m->sys_errno = errno;
		return SW_ERR_IO;
	}
	return rc ? 1 : SW_ERR_TIMEOUT;
}

/* Waits for the child until `deadline`, draining stderr.  True once reaped. */
static bool wait_child(cmd_medium *c, int64_t deadline)
{
	for (;;) {
		int st;
		pid_t r = waitpid(c->pid, &st, WNOHANG);
		if (r == c->pid) {
			c->status = st;
			return true;
		}
		if (r < 0 && errno != EINTR) {
			c->status = -1; /* ECHILD: the program reaps children itself */
			return true;
		}
		int left = sw_deadline_left(deadline);
		if (left == 0)
			return false;
		/* Stderr EOF usually comes with the exit; otherwise poll in short
		 * slices because there is no portable descriptor for the child. */
		struct pollfd p = {.fd = c->err_fd, .events = POLLIN};
		if (poll(&p, 1, left < 0 || left > 10 ? 10 : left) > 0)
			drain_stderr(c);
	}
}

int sw_cmd_close_wait(sw_medium *m, int *wait_status, sw_slice *err)
{
	cmd_medium *c = as_cmd(m);
	if (!c)
		return SW_ERR_INVALID_ARGUMENT;
	if (!c->finished) {
		c->finished = true;
		cmd_shutdown_write(m);
		close(c->out_fd);
		c->out_fd = -1;
		int t = c->kill_timeout_ms < 0 ? 0 : c->kill_timeout_ms;
		if (!wait_child(c, sw_deadline_ms(t))) {
			kill(c->pid, SIGTERM);
			if (!wait_child(c, sw_deadline_ms(t))) {
				kill(c->pid, SIGKILL);
				wait_child(c, -1);
			}
		}
		drain_stderr(c);
		if (c->err_fd >= 0) {
			/* A grandchild may still hold the pipe; do not wait for it. */
			close(c->err_fd);
			c->err_fd = -1;
		}
	}
	if (wait_status)
		*wait_status = c->status;
	if (err) {
		err->p = c->err.data;
		err->n = c->err.len;
	}
	return 0;
}

static void cmd_close(sw_medium *m)
{
	cmd_medium *c = (cmd_medium *)m;
	sw_cmd_close_wait(m, NULL, NULL);
	sw_buf_fini(&c->err);
	sw_free(m->mem, c);
}

/* The stdout and stdin pipes.  An event loop that polls only these does not
 * drain a captured stderr: use inherit_stderr for a chatty child. */
static int cmd_fds(const sw_medium *m, int *rfd, int *wfd)
{
	const cmd_medium *c = (const cmd_medium *)m;
	*rfd = c->out_fd;
	*wfd = c->in_fd;
	return 0;
}

/* No zero-copy: the child's stderr is drained on every call, and reads of
 * its stdout are few and small (a client's). */
static const sw_medium_ops cmd_ops = {
    "cmd",   cmd_read, cmd_write, cmd_shutdown_write, cmd_wait_readable, cmd_close,
    cmd_fds, NULL,     NULL,
};

long sw_cmd_pid(const sw_medium *m)
{
	const cmd_medium *c = as_cmd(m);
	return c ? (long)c->pid : -1;
}

int sw_cmd_stderr(const sw_medium *m, sw_slice *err, uint64_t *dropped)
{
	cmd_medium *c = as_cmd(m);
	if (!c)
		return SW_ERR_INVALID_ARGUMENT;
	drain_stderr(c);
	if (err) {
		err->p = c->err.data;
		err->n = c->err.len;
	}
	if (dropped)
		*dropped = c->err_dropped;
	return 0;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* A close-on-exec pipe whose ends are both >= 3, so that the dup2 actions
 * onto 0, 1 and 2 in the child cannot clobber one another.  On failure
 * returns -1 with errno set and both fds[] entries -1, so the caller's
 * cleanup cannot close a descriptor twice. */
static int make_pipe(int fds[2])
{
	int raw[2];
	fds[0] = fds[1] = -1;
	/* Close-on-exec from the start (pipe2), so that a spawn running in
	 * another thread never inherits them; then moved to 3 or above, so that
	 * a program started with stdin/stdout closed cannot get them there. */
	if (pipe2(raw, O_CLOEXEC) < 0)
		return -1;
	fds[0] = fcntl(raw[0], F_DUPFD_CLOEXEC, 3);
	fds[1] = fds[0] < 0 ? -1 : fcntl(raw[1], F_DUPFD_CLOEXEC, 3);
	int e = errno;
	close(raw[0]);
	close(raw[1]);
	if (fds[1] < 0) {
		close_all(fds, 2);
		fds[0] = -1;
		errno = e;
		return -1;
	}
	return 0;
}

/* Checks that `prog` names an executable, the way posix_spawnp will look
 * for it.  Returns 0 or an errno.  posix_spawnp reports a failed exec
 * itself, but only where it is implemented with a shared-memory vfork;
 * under a fork-based emulation (valgrind, some libcs) the child would just
 * exit 127, so the usual failure (not found) is detected up front. */
static int check_program(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? 0 : errno;
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/bin:/usr/bin";
	int err = ENOENT;
	while (*path) {
		const char *end = strchr(path, ':');
		size_t dl = end ? (size_t)(end - path) : strlen(path);
		char full[4096];
		int n = snprintf(full, sizeof full, "%.*s%s%s", (int)dl, path, dl ? "/" : "",
		                 prog);
		if (n > 0 && (size_t)n < sizeof full) {
			if (access(full, X_OK) == 0)
				return 0;
			if (errno == EACCES)
				err = EACCES;
		}
		if (!end)
			break;
		path = end + 1;
	}
	return err;
}

int sw_cmd_spawn(sw_medium **out, const char *const *argv, const sw_cmd_config *cfg,
                 const sw_mem *mem, sw_errinfo *ei)
{
	char t[128];
	if (!argv || !argv[0] || !out)
		return sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, NULL);
	int e = check_program(argv[0]);
	if (e != 0)
		return sw_errinfo_set(ei, SW_ERR_SPAWN, e, "cannot run %s: %s", argv[0],
		                      sw_sys_strerror(e, t, sizeof t));
	sw_cmd_config def = {0};
	if (!cfg)
		cfg = &def;
	cmd_medium *c = sw_malloc(mem, sizeof *c);
	if (!c)
		return sw_errinfo_set(ei, SW_ERR_NOMEM, 0, NULL);
	memset(c, 0, sizeof *c);
	c->base.ops = &cmd_ops;
	c->base.mem = mem;
	c->err_limit = cfg->stderr_limit ? cfg->stderr_limit : SW_CMD_STDERR_LIMIT_DEFAULT;
	c->kill_timeout_ms = cfg->kill_timeout_ms ? cfg->kill_timeout_ms
	                                          : SW_CMD_KILL_TIMEOUT_MS_DEFAULT;
	c->status = -1;
	sw_buf_init(&c->err, mem);

	/* fds: stdin r/w, stdout r/w, stderr r/w */
	int fds[6] = {-1, -1, -1, -1, -1, -1};
	int rc = 0;
	if (make_pipe(fds) < 0 || make_pipe(fds + 2) < 0 ||
	    (!cfg->inherit_stderr && make_pipe(fds + 4) < 0)) {
		e = errno;
		rc = SW_ERR_IO;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	if (rc == 0) {
		sigset_t none, def_sigs;
		sigemptyset(&none);
		sigemptyset(&def_sigs);
		sigaddset(&def_sigs, SIGPIPE);
		posix_spawn_file_actions_init(&fa);
		posix_spawnattr_init(&attr);
		/* The child starts with an empty mask and default SIGPIPE, whatever
		 * the calling program did with its own. */
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &def_sigs);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
		posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
		posix_spawn_file_actions_adddup2(&fa, fds[3], 1);
		if (!cfg->inherit_stderr)
			posix_spawn_file_actions_adddup2(&fa, fds[5], 2);
		e = posix_spawnp(&c->pid, argv[0], &fa, &attr, (char *const *)argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		if (e != 0)
			rc = SW_ERR_SPAWN;
	}
	if (rc < 0) {
		close_all(fds, 6);
		sw_free(mem, c);
		if (rc == SW_ERR_IO)
			return sw_errinfo_set(ei, rc, e, "pipe: %s",
			                      sw_sys_strerror(e, t, sizeof t));
		return sw_errinfo_set(ei, rc, e, "cannot run %s: %s", argv[0],
		                      sw_sys_strerror(e, t, sizeof t));
	}
	/* Close the child's ends in the parent so EOF works both ways. */
	close(fds[0]);
	close(fds[3]);
	if (fds[5] >= 0)
		close(fds[5]);
	c->in_fd = fds[1];
	c->out_fd = fds[2];
	c->err_fd = fds[4];
	sw__set_nonblock(c->in_fd, 1);
	if (c->err_fd >= 0)
		sw__set_nonblock(c->err_fd, 1);
	*out = &c->base;
	return 0;
}

int sw_ssh_argv(const sw_ssh_params *p, const sw_mem *mem, char ***argv_out)
{
	if (!p || !p->host || !p->host[0] || p->host[0] == '-' || !argv_out)
		return SW_ERR_INVALID_ARGUMENT;
	char port[8];
	snprintf(port, sizeof port, "%u", (unsigned)p->port);
	const char *v[20];
	size_t n = 0;
	v[n++] = p->ssh_program ? p->ssh_program : "ssh";
	v[n++] = "-oForwardX11=no";
	v[n++] = "-oForwardAgent=no";
	v[n++] = "-oClearAllForwardings=yes";
	v[n++] = "-oNoHostAuthenticationForLocalhost=yes";
	if (p->port) {
		v[n++] = "-p";
		v[n++] = port;
	}
	if (p->user) {
		v[n++] = "-l";
		v[n++] = p->user;
	}
	v[n++] = "--";
	v[n++] = p->host;
	v[n++] = p->remote_path ? p->remote_path : SW_BZR_REMOTE_PATH_DEFAULT;
	v[n++] = "serve";
	v[n++] = "--inet";
	v[n++] = "--directory=/";
	v[n++] = "--allow-writes";

	size_t bytes = (n + 1) * sizeof(char *);
	for (size_t i = 0; i < n; i++)
		bytes += strlen(v[i]) + 1;
	char **argv = sw_malloc(mem, bytes);
	if (!argv)
		return SW_ERR_NOMEM;
	char *s = (char *)(argv + n + 1);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]) + 1;
		memcpy(s, v[i], l);
		argv[i] = s;
		s += l;
	}
	argv[n] = NULL;
	*argv_out = argv;
	return 0;
}
