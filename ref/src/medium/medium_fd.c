/*
 * The file-descriptor medium: a read fd and a write fd (pipes, `serve
 * --inet`'s 0 and 1, or one socket twice).  The TCP medium is this same
 * object under the name "tcp".
 *
 * SIGPIPE is kept from killing the process without touching process-wide
 * signal state: sockets are written with send(MSG_NOSIGNAL); for pipes the
 * write runs with SIGPIPE blocked in the calling thread, and a SIGPIPE that
 * the write itself left pending is consumed with sigtimedwait() before the
 * old mask comes back (a SIGPIPE pending from elsewhere is left alone).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "medium_impl.h"
#include "smartwire/error.h"

typedef struct fd_medium {
	sw_medium base;
	int rfd, wfd;
	unsigned flags;
	bool rsock, wsock;   /* descriptors are sockets */
	bool write_shut;     /* shutdown_write was called */
	bool wfd_closed;     /* wfd was closed by shutdown_write */
} fd_medium;

static bool is_socket(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static ptrdiff_t fd_read(sw_medium *m, void *buf, size_t len)
{
	fd_medium *f = (fd_medium *)m;
	for (;;) {
		ssize_t n = f->rsock ? recv(f->rfd, buf, len, 0) : read(f->rfd, buf, len);
		if (n == 0)
			m->sys_errno = 0; /* a clean end of stream */
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return sw__map_read_errno(m, errno);
	}
}

/* write() to a non-socket with SIGPIPE blocked in this thread. */
ssize_t sw__write_nosigpipe(int fd, const void *buf, size_t len)
{
	sigset_t pipeset, old, pending;
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipeset, &old);
	ssize_t n = write(fd, buf, len);
	int saved = errno;
	if (n < 0 && saved == EPIPE && !was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipeset, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return n;
}

static ptrdiff_t fd_write(sw_medium *m, const void *buf, size_t len)
{
	fd_medium *f = (fd_medium *)m;
	if (f->write_shut)
		return SW_ERR_CLOSED;
	for (;;) {
		ssize_t n = f->wsock ? send(f->wfd, buf, len, MSG_NOSIGNAL)
		                     : sw__write_nosigpipe(f->wfd, buf, len);
		if (n > 0)
			return n;
		if (n == 0)
			return sw__map_write_errno(m, EPIPE); /* Breezy: "returned 0 bytes" is a reset */
		if (errno == EINTR)
			continue;
		return sw__map_write_errno(m, errno);
	}
}

static int fd_shutdown_write(sw_medium *m)
{
	fd_medium *f = (fd_medium *)m;
	if (f->write_shut)
		return 0;
	f->write_shut = true;
	if (f->wsock) {
		if (shutdown(f->wfd, SHUT_WR) < 0 && errno != ENOTCONN) {
			m->sys_errno = errno;
			return SW_ERR_IO;
		}
		return 0;
	}
	if (f->wfd != f->rfd) {
		f->wfd_closed = true;
		if (close(f->wfd) < 0 && errno != EINTR) {
			m->sys_errno = errno;
			return SW_ERR_IO;
		}
	}
	return 0;
}

static int fd_wait_readable(sw_medium *m, int timeout_ms)
{
	fd_medium *f = (fd_medium *)m;
	int64_t deadline = sw_deadline_ms(timeout_ms);
	for (;;) {
		struct pollfd p = {.fd = f->rfd, .events = POLLIN};
		int rc = poll(&p, 1, sw_deadline_left(deadline));
		if (rc > 0) {
			if (p.revents & POLLNVAL) {
				m->sys_errno = EBADF;
				return SW_ERR_IO;
			}
			return 1;
		}
		if (rc == 0)
			return SW_ERR_TIMEOUT;
		if (errno != EINTR) {
			m->sys_errno = errno;
			return SW_ERR_IO;
		}
	}
}

static void fd_close(sw_medium *m)
{
	fd_medium *f = (fd_medium *)m;
	if (f->flags & SW_FD_OWN) {
		close(f->rfd);
		if (f->wfd != f->rfd && !f->wfd_closed)
			close(f->wfd);
	}
	sw_free(m->mem, f);
}

static int fd_fds(const sw_medium *m, int *rfd, int *wfd)
{
	const fd_medium *f = (const fd_medium *)m;
	*rfd = f->rfd;
	*wfd = f->wfd_closed ? -1 : f->wfd;
	return 0;
}

static const sw_medium_ops fd_ops = {
    "fd", fd_read, fd_write, fd_shutdown_write, fd_wait_readable, fd_close, fd_fds,
};
static const sw_medium_ops tcp_ops = {
    "tcp", fd_read, fd_write, fd_shutdown_write, fd_wait_readable, fd_close, fd_fds,
};

int sw__fd_medium_new_kind(int rfd, int wfd, unsigned flags, int is_tcp,
                           const sw_mem *mem, sw_medium **out)
{
	if (rfd < 0 || wfd < 0 || !out)
		return SW_ERR_INVALID_ARGUMENT;
	fd_medium *f = sw_malloc(mem, sizeof *f);
	if (!f)
		return SW_ERR_NOMEM;
	f->base.ops = is_tcp ? &tcp_ops : &fd_ops;
	f->base.mem = mem;
	f->base.sys_errno = 0;
	f->rfd = rfd;
	f->wfd = wfd;
	f->flags = flags;
	f->rsock = is_socket(rfd);
	f->wsock = wfd == rfd ? f->rsock : is_socket(wfd);
	f->write_shut = false;
	f->wfd_closed = false;
	*out = &f->base;
	return 0;
}

int sw_fd_medium_new(sw_medium **out, int rfd, int wfd, unsigned flags, const sw_mem *mem)
{
	return sw__fd_medium_new_kind(rfd, wfd, flags, 0, mem, out);
}
