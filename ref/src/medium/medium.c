/*
 * The generic medium operations: argument checks over the vtable, the
 * write-all loop, and the helpers every implementation shares (errno
 * mapping, deadlines).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "medium_impl.h"
#include "smartwire/error.h"

ptrdiff_t sw_medium_read(sw_medium *m, void *buf, size_t len)
{
	if (!m || !buf || len == 0)
		return SW_ERR_INVALID_ARGUMENT;
	if (len > PTRDIFF_MAX)
		len = PTRDIFF_MAX;
	return m->ops->read(m, buf, len);
}

ptrdiff_t sw_medium_write(sw_medium *m, const void *buf, size_t len)
{
	if (!m || (!buf && len))
		return SW_ERR_INVALID_ARGUMENT;
	if (len == 0)
		return 0;
	if (len > PTRDIFF_MAX)
		len = PTRDIFF_MAX;
	return m->ops->write(m, buf, len);
}

int sw_medium_write_all(sw_medium *m, const void *buf, size_t len, size_t *written)
{
	const unsigned char *p = buf;
	size_t done = 0;
	int rc = 0;

	if (!m || (!buf && len))
		rc = SW_ERR_INVALID_ARGUMENT;
	while (rc == 0 && done < len) {
		ptrdiff_t n = sw_medium_write(m, p + done, len - done);
		if (n < 0)
			rc = (int)n;
		else if (n == 0)
			rc = SW_ERR_IO; /* a medium must never take 0 of a non-empty write */
		else
			done += (size_t)n;
	}
	if (written)
		*written = done;
	return rc;
}

int sw_medium_shutdown_write(sw_medium *m)
{
	if (!m)
		return SW_ERR_INVALID_ARGUMENT;
	return m->ops->shutdown_write(m);
}

int sw_medium_wait_readable(sw_medium *m, int timeout_ms)
{
	if (!m)
		return SW_ERR_INVALID_ARGUMENT;
	return m->ops->wait_readable(m, timeout_ms);
}

void sw_medium_del(sw_medium *m)
{
	if (m)
		m->ops->close(m);
}

int sw_medium_errno(const sw_medium *m)
{
	return m ? m->sys_errno : 0;
}

int sw_medium_fds(const sw_medium *m, int *rfd, int *wfd)
{
	int r = -1, w = -1;
	if (!m)
		return SW_ERR_INVALID_ARGUMENT;
	if (m->ops->fds)
		m->ops->fds(m, &r, &w);
	if (rfd)
		*rfd = r;
	if (wfd)
		*wfd = w;
	return 0;
}

unsigned sw_medium_zero_copy(const sw_medium *m)
{
	if (!m)
		return 0;
	return (m->ops->sendfile ? SW_MEDIUM_SENDFILE : 0u) |
	       (m->ops->splice_in ? SW_MEDIUM_SPLICE_IN : 0u);
}

ptrdiff_t sw_medium_sendfile(sw_medium *m, int fd, uint64_t off, size_t len, int *src_errno)
{
	if (!m || !src_errno || len == 0 || fd < 0 || !m->ops->sendfile)
		return SW_ERR_INVALID_ARGUMENT;
	*src_errno = 0;
	if (len > PTRDIFF_MAX)
		len = PTRDIFF_MAX;
	return m->ops->sendfile(m, fd, off, len, src_errno);
}

ptrdiff_t sw_medium_splice_in(sw_medium *m, int fd, size_t len, int *sink_errno)
{
	if (!m || !sink_errno || len == 0 || fd < 0 || !m->ops->splice_in)
		return SW_ERR_INVALID_ARGUMENT;
	*sink_errno = 0;
	if (len > PTRDIFF_MAX)
		len = PTRDIFF_MAX;
	return m->ops->splice_in(m, fd, len, sink_errno);
}

const char *sw_medium_name(const sw_medium *m)
{
	return m ? m->ops->name : "(null)";
}

ptrdiff_t sw__map_read_errno(sw_medium *m, int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK)
		return SW_ERR_WOULD_BLOCK;
	m->sys_errno = e;
	if (e == ECONNRESET || e == EPIPE || e == EINVAL)
		return 0;
	return SW_ERR_IO;
}

ptrdiff_t sw__map_write_errno(sw_medium *m, int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK)
		return SW_ERR_WOULD_BLOCK;
	m->sys_errno = e;
	if (e == ECONNRESET || e == EPIPE || e == EINVAL)
		return SW_ERR_CONNECTION_RESET;
	return SW_ERR_IO;
}

int sw__set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -1;
	int want = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return want == fl ? 0 : fcntl(fd, F_SETFL, want);
}

