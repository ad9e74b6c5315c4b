/*
 * srvbench_ceiling.c: the minimal servers that give bench_server its
 * ceilings.  Each is a forked process (its own CPU accounting, its own
 * scheduling, like a real server) serving one connection on 127.0.0.1.
 * See srvbench.h.
 */
#define _GNU_SOURCE 1 /* splice */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "srvbench.h"

static int listen_loopback(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		sb_die("socket", errno);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		sb_die("listen on 127.0.0.1", errno);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* In the child: the one connection, or exit if none comes in time. */
static int accept_one(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	if (poll(&p, 1, SB_IO_TIMEOUT_S * 1000) != 1)
		_exit(2);
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(2);
	close(lfd);
	int one = 1;
	struct timeval tv = {SB_IO_TIMEOUT_S, 0};
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

/* Listens on 127.0.0.1 (*port) and forks (*pid).  Returns -1 in the
 * parent; in the child, the one connection (the child exits if none comes
 * in time). */
static int fork_server(uint16_t *port, pid_t *pid)
{
	int lfd = listen_loopback(port);
	fflush(NULL);
	*pid = fork();
	if (*pid < 0)
		sb_die("fork", errno);
	if (*pid > 0) {
		close(lfd);
		return -1;
	}
	return accept_one(lfd);
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(3);
		p += k;
		n -= (size_t)k;
	}
}

/* One response per complete request: the client sends the next request
 * only after the whole response, like the real one.  With `epoll`, reads as
 * an event-driven server does: a non-blocking socket, one epoll_wait (with
 * a timeout, as a server's idle timer) before a read unless the last read
 * filled the buffer. */
static _Noreturn void echo(int fd, bool epoll, size_t req_n, const uint8_t *resp, size_t resp_n)
{
	static uint8_t buf[SB_CHUNK];
	int ep = -1;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll && ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	              fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ||
	              epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0))
		_exit(3);
	bool wait = epoll;
	size_t got = 0;
	for (;;) {
		if (wait) {
			int n = epoll_wait(ep, &ev, 1, SB_IO_TIMEOUT_S * 1000);
			if (n < 0 && errno == EINTR)
				continue;
			if (n != 1)
				_exit(n == 0 ? 2 : 3);
		}
		ssize_t k = recv(fd, buf, sizeof buf, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN && epoll) {
			wait = true;
			continue;
		}
		if (k <= 0)
			_exit(k == 0 ? 0 : 3);
		for (got += (size_t)k; got >= req_n; got -= req_n)
			send_all(fd, resp, resp_n);
		wait = epoll && (size_t)k < sizeof buf;
	}
}

void sb_echo_spawn(bool epoll, size_t req_n, const uint8_t *resp, size_t resp_n, uint16_t *port,
                   pid_t *pid)
{
	int fd = fork_server(port, pid);
	if (fd >= 0)
		echo(fd, epoll, req_n, resp, resp_n);
}

/* Moves the n bytes in the pipe zp into out. */
static void drain(int zp, int out, size_t n)
{
	while (n > 0) {
		ssize_t w = splice(zp, NULL, out, NULL, n, SPLICE_F_MOVE);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		n -= (size_t)w;
	}
}

void sb_sink_spawn(const char *path, uint16_t *port, pid_t *pid)
{
	int fd = fork_server(port, pid);
	if (fd < 0)
		return; /* the parent */
	int out = -1, zp[2] = {-1, -1};
	if (path) {
		out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0 || pipe2(zp, O_CLOEXEC) < 0)
			_exit(3);
		/* The pipe as large as smartwire's (medium_fd.c's ZP_SIZE). */
		fcntl(zp[1], F_SETPIPE_SZ, 1 << 20);
	}
	static uint8_t buf[SB_CHUNK];
	uint64_t total = 0;
	for (;;) {
		ssize_t k = path ? splice(fd, NULL, zp[1], NULL, 1 << 20, SPLICE_F_MOVE)
		                 : recv(fd, buf, sizeof buf, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			_exit(3);
		if (k == 0)
			break;
		if (path)
			drain(zp[0], out, (size_t)k);
		total += (uint64_t)k;
	}
	if (path && close(out) < 0)
		_exit(3);
	send_all(fd, (const uint8_t *)&total, sizeof total);
	_exit(0);
}

void sb_source_spawn(uint64_t bytes, uint16_t *port, pid_t *pid)
{
	int fd = fork_server(port, pid);
	if (fd < 0)
		return; /* the parent */
	static uint8_t buf[SB_CHUNK];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	while (bytes > 0) {
		size_t n = bytes < sizeof buf ? (size_t)bytes : sizeof buf;
		send_all(fd, buf, n);
		bytes -= n;
	}
	shutdown(fd, SHUT_WR);
	_exit(0);
}

void sb_child_reap(pid_t pid)
{
	const struct timespec ms = {0, 1000000};
	for (int i = 0; i < SB_IO_TIMEOUT_S * 1000; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		nanosleep(&ms, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
