/*
 * The file-descriptor medium: a read fd and a write fd (pipes, `serve
 * --inet`'s 0 and 1, or one socket twice).  The TCP medium is this same
 * object under the name "tcp".  It moves bodies without copying too
 * (sw_medium_sendfile, sw_medium_splice_in): sendfile(2) to the write
 * descriptor, splice(2) from a read pipe straight into the sink, or from a
 * read socket through a pipe of its own (splice needs a pipe on one side).
 *
 * SIGPIPE is kept from killing the process without touching process-wide
 * signal state: sockets are written with send(MSG_NOSIGNAL); for pipes the
 * write runs with SIGPIPE blocked in the calling thread, and a SIGPIPE that
 * the write itself left pending is consumed with sigtimedwait() before the
 * old mask comes back (a SIGPIPE pending from elsewhere is left alone).
 */
#define _GNU_SOURCE 1 /* splice */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/sendfile.h>
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
	bool rpipe;          /* rfd is a pipe (splice reads it directly) */
	bool write_shut;     /* shutdown_write was called */
	bool wfd_closed;     /* wfd was closed by shutdown_write */
	int zp[2];           /* splice_in's pipe for a socket, -1 until needed;
	                      * empty between calls */
	size_t zp_size;
} fd_medium;

/* The most a pipe of our own is asked to hold (F_SETPIPE_SZ; the default
 * 64 KiB is kept when refused). */
#define ZP_SIZE (1u << 20)

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

/* SIGPIPE blocked in this thread around one call, and a SIGPIPE that the
 * call itself raised consumed before the old mask comes back. */
typedef struct nosig {
	sigset_t pipeset, old;
	bool was_pending;
} nosig;

static void nosig_begin(nosig *g)
{
	sigset_t pending;
	sigemptyset(&g->pipeset);
	sigaddset(&g->pipeset, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &g->pipeset, &g->old);
}

static void nosig_end(nosig *g, bool epipe)
{
	int saved = errno;
	if (epipe && !g->was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&g->pipeset, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = saved;
}

/* write() to a non-socket with SIGPIPE blocked in this thread. */
ssize_t sw__write_nosigpipe(int fd, const void *buf, size_t len)
{
	nosig g;
	nosig_begin(&g);
	ssize_t n = write(fd, buf, len);
	nosig_end(&g, n < 0 && errno == EPIPE);
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

/* ---- zero-copy ---------------------------------------------------------- */

/* Errnos of sendfile(2)/splice(2) that mean "not for these descriptors":
 * nothing was moved, copying works. */
static bool refused(int e)
{
	return e == EINVAL || e == ENOSYS || e == EOPNOTSUPP || e == ESPIPE || e == EBADF;
}

/* Errnos of sendfile(2) that come from the connection, not the file. */
static bool peer_gone(int e)
{
	return e == EPIPE || e == ECONNRESET || e == ENOTCONN || e == ETIMEDOUT ||
	       e == EHOSTUNREACH || e == ENETUNREACH || e == ENETDOWN || e == ENETRESET ||
	       e == ECONNABORTED || e == EHOSTDOWN;
}

static ptrdiff_t fd_sendfile(sw_medium *m, int fd, uint64_t off, size_t len, int *src_errno)
{
	fd_medium *f = (fd_medium *)m;
	if (f->write_shut)
		return SW_ERR_CLOSED;
	if (off > (uint64_t)INT64_MAX)
		return SW_ERR_INVALID_ARGUMENT;
	if (len > 0x7ffff000)
		len = 0x7ffff000; /* what Linux moves in one call at most */
	for (;;) {
		off_t o = (off_t)off;
		/* A socket as well as a pipe raises SIGPIPE here: sendfile has no
		 * MSG_NOSIGNAL. */
		nosig g;
		nosig_begin(&g);
		ssize_t n = sendfile(f->wfd, fd, &o, len);
		int e = errno;
		nosig_end(&g, n < 0 && e == EPIPE);
		if (n > 0)
			return n;
		if (n == 0) {
			*src_errno = EIO; /* the file ends before off + len */
			return 0;
		}
		if (e == EINTR)
			continue;
		if (e == EAGAIN)
			return SW_ERR_WOULD_BLOCK;
		if (refused(e))
			return SW_ERR_INVALID_ARGUMENT;
		if (peer_gone(e))
			return sw__map_write_errno(m, e);
		*src_errno = e; /* EIO and the like: reading the file */
		return 0;
	}
}

/* Empties our pipe after the sink failed: its bytes are lost. */
static void zp_discard(fd_medium *f, size_t n)
{
	char junk[4096];
	while (n > 0) {
		ssize_t k = read(f->zp[0], junk, n < sizeof junk ? n : sizeof junk);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n -= (size_t)k;
	}
}

/* Moves the n bytes in our pipe into `fd`, by splice or, for a sink that
 * refuses splice, by read and write.  Returns 0 or the sink's errno (the
 * bytes not written are discarded). */
static int zp_drain(fd_medium *f, int fd, size_t n)
{
	bool copy = false;
	while (n > 0) {
		ssize_t k;
		if (!copy) {
			k = splice(f->zp[0], NULL, fd, NULL, n, SPLICE_F_MOVE);
			if (k < 0 && refused(errno)) {
				copy = true;
				continue;
			}
		} else {
			char buf[16384];
			k = read(f->zp[0], buf, n < sizeof buf ? n : sizeof buf);
			for (ssize_t w = 0; k > 0 && w < k;) {
				ssize_t x = write(fd, buf + w, (size_t)(k - w));
				if (x < 0 && errno == EINTR)
					continue;
				if (x <= 0) {
					int e = x < 0 ? errno : EIO;
					zp_discard(f, n - (size_t)k);
					return e;
				}
				w += x;
			}
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : EIO;
			zp_discard(f, n);
			return e;
		}
		n -= (size_t)k;
	}
	return 0;
}

static ptrdiff_t fd_splice_in(sw_medium *m, int fd, size_t len, int *sink_errno)
{
	fd_medium *f = (fd_medium *)m;
	if (f->rpipe) {
		/* Straight from the pipe into the sink.  A pipe is not read with
		 * an error: one is the sink's. */
		for (;;) {
			ssize_t n =
			    splice(f->rfd, NULL, fd, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0)
				return n;
			if (n == 0) {
				m->sys_errno = 0; /* the writer closed: end of stream */
				return 0;
			}
			int e = errno;
			if (e == EINTR)
				continue;
			if (e == EAGAIN)
				return SW_ERR_WOULD_BLOCK;
			if (refused(e))
				return SW_ERR_INVALID_ARGUMENT;
			*sink_errno = e;
			return 0;
		}
	}
	if (!f->rsock)
		return SW_ERR_INVALID_ARGUMENT; /* a file or a tty: copy */
	if (f->zp[0] < 0) {
		if (pipe2(f->zp, O_CLOEXEC | O_NONBLOCK) < 0) {
			f->zp[0] = f->zp[1] = -1;
			return SW_ERR_INVALID_ARGUMENT; /* out of descriptors: copy */
		}
		int sz = fcntl(f->zp[1], F_SETPIPE_SZ, ZP_SIZE);
		if (sz < 0)
			sz = fcntl(f->zp[1], F_GETPIPE_SZ);
		f->zp_size = sz > 0 ? (size_t)sz : 65536;
	}
	if (len > f->zp_size)
		len = f->zp_size;
	ssize_t n;
	while ((n = splice(f->rfd, NULL, f->zp[1], NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)) <
	           0 &&
	       errno == EINTR) {
	}
	if (n == 0) {
		m->sys_errno = 0;
		return 0;
	}
	if (n < 0) {
		int e = errno;
		if (refused(e))
			return SW_ERR_INVALID_ARGUMENT;
		return sw__map_read_errno(m, e); /* EAGAIN, and resets read as EOF */
	}
	*sink_errno = zp_drain(f, fd, (size_t)n);
	return n;
}

static void fd_close(sw_medium *m)
{
	fd_medium *f = (fd_medium *)m;
	if (f->zp[0] >= 0) {
		close(f->zp[0]);
		close(f->zp[1]);
	}
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
    "fd",     fd_read, fd_write,    fd_shutdown_write, fd_wait_readable,
    fd_close, fd_fds,  fd_sendfile, fd_splice_in,
};
static const sw_medium_ops tcp_ops = {
    "tcp",    fd_read, fd_write,    fd_shutdown_write, fd_wait_readable,
    fd_close, fd_fds,  fd_sendfile, fd_splice_in,
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
	struct stat st;
	f->rsock = is_socket(rfd);
	f->rpipe = fstat(rfd, &st) == 0 && S_ISFIFO(st.st_mode);
	f->wsock = wfd == rfd ? f->rsock : is_socket(wfd);
	f->zp[0] = f->zp[1] = -1;
	f->zp_size = 0;
	f->write_shut = false;
	f->wfd_closed = false;
	*out = &f->base;
	return 0;
}

int sw_fd_medium_new(sw_medium **out, int rfd, int wfd, unsigned flags, const sw_mem *mem)
{
	return sw__fd_medium_new_kind(rfd, wfd, flags, 0, mem, out);
}
