/*
 * TCP media: the client connect of Breezy's SmartTCPClientMedium (every
 * getaddrinfo address in turn, TCP_NODELAY), and the listen/accept pair of
 * `brz serve` (first AI_PASSIVE address, SO_REUSEADDR, TCP_NODELAY on every
 * accepted socket).  Connected sockets become fd media named "tcp".
 */
#define _GNU_SOURCE 1 /* accept4 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "medium_impl.h"
#include "smartwire/error.h"

/* getaddrinfo() of a TCP stream service on `port`.  Returns 0 or the
 * getaddrinfo error code. */
static int resolve(const char *host, uint16_t port, int flags, struct addrinfo **res)
{
	char service[8];
	snprintf(service, sizeof service, "%u", (unsigned)port);
	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags;
	*res = NULL;
	return getaddrinfo(host, service, &hints, res);
}

/* Waits for a non-blocking connect on `fd` to finish.  Returns 0 or an errno
 * (ETIMEDOUT when the bound expired). */
static int finish_connect(int fd, int timeout_ms)
{
	int64_t deadline = sw_deadline_ms(timeout_ms);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		int rc = poll(&p, 1, sw_deadline_left(deadline));
		if (rc == 0)
			return ETIMEDOUT;
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return errno;
		return err;
	}
}

/* One connection attempt.  Returns the connected fd or -1 with *err set. */
static int try_connect(const struct addrinfo *ai, int timeout_ms, int *err)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	int one = 1;
	int rc;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    sw__set_nonblock(fd, 1) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	if (rc < 0 && (errno == EINPROGRESS || errno == EINTR))
		rc = (*err = finish_connect(fd, timeout_ms)) == 0 ? 0 : -1;
	else if (rc < 0)
		*err = errno;
	if (rc == 0 && sw__set_nonblock(fd, 0) < 0) {
		*err = errno;
		rc = -1;
	}
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sw_tcp_connect(sw_medium **out, const char *host, uint16_t port, int timeout_ms,
                   const sw_mem *mem, sw_errinfo *ei)
{
	if (!host || !out)
		return sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, NULL);
	if (port == 0)
		port = SW_TCP_DEFAULT_PORT;
	struct addrinfo *res;
	int gai = resolve(host, port, 0, &res);
	if (gai != 0) {
		return sw_errinfo_set(ei, SW_ERR_CONNECT, 0, "failed to lookup %s:%u: %s", host,
		                      (unsigned)port, gai_strerror(gai));
	}
	int fd = -1, err = 0;
	for (const struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = try_connect(ai, timeout_ms, &err);
	freeaddrinfo(res);
	if (fd < 0) {
		char t[128];
		if (err == 0)
			return sw_errinfo_set(ei, SW_ERR_CONNECT, 0,
			                      "failed to connect to %s:%u: no address found for %s",
			                      host, (unsigned)port, host);
		return sw_errinfo_set(ei, SW_ERR_CONNECT, err, "failed to connect to %s:%u: %s",
		                      host, (unsigned)port, sw_sys_strerror(err, t, sizeof t));
	}
	int rc = sw__fd_medium_new_kind(fd, fd, SW_FD_OWN, 1, mem, out);
	if (rc < 0) {
		close(fd);
		return sw_errinfo_set(ei, rc, 0, NULL);
	}
	return rc;
}

/* A non-blocking listening socket on `ai`.  Returns the fd, or -1 with errno
 * set and *what naming the call that failed. */
static int open_listener(const struct addrinfo *ai, int backlog, const char **what)
{
	int one = 1;
	*what = "socket";
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -1;
	*what = "bind";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*what = "listen";
		if (listen(fd, backlog) == 0 && sw__set_nonblock(fd, 1) == 0)
			return fd;
	}
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

int sw_tcp_listen(int *fd_out, uint16_t *port_out, const char *addr, uint16_t port, int backlog,
                  sw_errinfo *ei)
{
	if (!fd_out)
		return sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, NULL);
	struct addrinfo *res;
	int gai = resolve(addr, port, AI_PASSIVE, &res);
	if (gai != 0) {
		return sw_errinfo_set(ei, SW_ERR_IO, 0, "failed to lookup %s:%u: %s",
		                      addr ? addr : "*", (unsigned)port, gai_strerror(gai));
	}
	const char *what;
	int fd = open_listener(res, backlog, &what); /* Breezy binds the first result only. */
	int e = errno;
	freeaddrinfo(res);
	if (fd < 0) {
		char t[128];
		return sw_errinfo_set(ei, SW_ERR_IO, e, "%s %s:%u: %s", what, addr ? addr : "*",
		                      (unsigned)port, sw_sys_strerror(e, t, sizeof t));
	}
	if (port_out) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		*port_out = port;
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET)
				*port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			else if (ss.ss_family == AF_INET6)
				*port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	*fd_out = fd;
	return 0;
}

int sw_tcp_accept(sw_medium **out, int listen_fd, int timeout_ms, const sw_mem *mem)
{
	if (listen_fd < 0 || !out)
		return SW_ERR_INVALID_ARGUMENT;
	int64_t deadline = sw_deadline_ms(timeout_ms);
	for (;;) {
		struct pollfd p = {.fd = listen_fd, .events = POLLIN};
		int rc = poll(&p, 1, sw_deadline_left(deadline));
		if (rc == 0)
			return SW_ERR_TIMEOUT;
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			return SW_ERR_IO;
		}
		if (p.revents & POLLNVAL)
			return SW_ERR_IO;
		/* Close-on-exec from the start, so that a spawn in another
		 * thread never inherits the connection; blocking, whatever the
		 * listener's mode (accept4 does not inherit O_NONBLOCK). */
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* The connection may have gone away between poll and accept. */
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ECONNABORTED || errno == EPROTO)
				continue;
			return SW_ERR_IO;
		}
		int one = 1;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
			close(fd);
			return SW_ERR_IO;
		}
		rc = sw__fd_medium_new_kind(fd, fd, SW_FD_OWN, 1, mem, out);
		if (rc < 0)
			close(fd);
		return rc;
	}
}
