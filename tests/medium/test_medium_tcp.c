/* Tests for the TCP media (medium_tcp.c) on 127.0.0.1: listen on a free
 * port, connect, echo, half-close, reset, refused and timed-out connects. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "smartwire/failmem.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int nodelay(const sw_medium *m)
{
	int fd, v = 0;
	socklen_t len = sizeof v;
	assert_int_equal(sw_medium_fds(m, &fd, NULL), 0);
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len), 0);
	return v;
}

static void connected_pair(int *lfd, sw_medium **c, sw_medium **s)
{
	uint16_t port = 0;
	sw_errinfo err = {0};
	assert_int_equal(sw_tcp_listen(lfd, &port, "127.0.0.1", 0, 4, &err), 0);
	assert_true(port != 0);
	int reuse = 0;
	socklen_t len = sizeof reuse;
	assert_int_equal(getsockopt(*lfd, SOL_SOCKET, SO_REUSEADDR, &reuse, &len), 0);
	assert_true(reuse != 0);
	assert_int_equal(sw_tcp_connect(c, "127.0.0.1", port, 2000, NULL, &err), 0);
	assert_int_equal(sw_tcp_accept(s, *lfd, 2000, NULL), 0);
	assert_string_equal(sw_medium_name(*c), "tcp");
	assert_string_equal(sw_medium_name(*s), "tcp");
	/* Both ends blocking and close-on-exec (the listener is non-blocking). */
	for (int k = 0; k < 2; k++) {
		int fd;
		assert_int_equal(sw_medium_fds(k ? *s : *c, &fd, NULL), 0);
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	}
}

static void test_echo_and_half_close(void **state)
{
	(void)state;
	int lfd;
	sw_medium *c, *s;
	connected_pair(&lfd, &c, &s);
	assert_true(nodelay(c));
	assert_true(nodelay(s));
	char buf[64];
	assert_int_equal(sw_medium_wait_readable(s, 0), SW_ERR_TIMEOUT);
	assert_int_equal(sw_medium_write_all(c, "hello\n", 6, NULL), 0);
	assert_int_equal(sw_medium_wait_readable(s, 2000), 1);
	size_t got = 0;
	while (got < 6) {
		ptrdiff_t n = sw_medium_read(s, buf + got, sizeof buf - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(sw_medium_write_all(s, buf, got, NULL), 0);
	got = 0;
	while (got < 6) {
		ptrdiff_t n = sw_medium_read(c, buf + got, sizeof buf - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(buf, "hello\n", 6);
	/* The client half-closes: the server reads EOF and can still answer. */
	assert_int_equal(sw_medium_shutdown_write(c), 0);
	assert_int_equal(sw_medium_read(s, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_errno(s), 0);
	assert_int_equal(sw_medium_write_all(s, "bye", 3, NULL), 0);
	assert_int_equal(sw_medium_shutdown_write(s), 0);
	got = 0;
	for (;;) {
		ptrdiff_t n = sw_medium_read(c, buf + got, sizeof buf - got);
		assert_true(n >= 0);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	assert_int_equal(got, 3);
	assert_memory_equal(buf, "bye", 3);
	sw_medium_del(c);
	sw_medium_del(s);
	close(lfd);
}

static void test_reset_is_eof_then_write_fails(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_DFL);
	int lfd;
	sw_medium *c, *s;
	connected_pair(&lfd, &c, &s);
	int sfd;
	assert_int_equal(sw_medium_fds(s, &sfd, NULL), 0);
	struct linger lg = {1, 0}; /* close() sends RST */
	assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
	sw_medium_del(s);
	char buf[8];
	assert_int_equal(sw_medium_read(c, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_errno(c), ECONNRESET);
	ptrdiff_t w = sw_medium_write(c, "x", 1);
	assert_int_equal(w, SW_ERR_CONNECTION_RESET);
	assert_int_equal(sw_medium_errno(c), EPIPE);
	sw_medium_del(c);
	close(lfd);
}

static void test_refused(void **state)
{
	(void)state;
	int lfd;
	uint16_t port;
	assert_int_equal(sw_tcp_listen(&lfd, &port, "127.0.0.1", 0, 1, NULL), 0);
	close(lfd); /* now nothing listens there */
	sw_medium *c = NULL;
	sw_errinfo err = {0};
	assert_int_equal(sw_tcp_connect(&c, "127.0.0.1", port, 2000, NULL, &err), SW_ERR_CONNECT);
	assert_null(c);
	char want[128];
	snprintf(want, sizeof want, "failed to connect to 127.0.0.1:%u: Connection refused",
	         (unsigned)port);
	assert_string_equal(err.text, want);
	/* NULL error buffer is fine. */
	assert_int_equal(sw_tcp_connect(&c, "127.0.0.1", port, 2000, NULL, NULL), SW_ERR_CONNECT);
}

static void test_lookup_failure(void **state)
{
	(void)state;
	sw_medium *c = NULL;
	sw_errinfo err = {0};
	assert_int_equal(sw_tcp_connect(&c, "nonexistent.invalid", 0, 2000, NULL, &err),
	                 SW_ERR_CONNECT);
	assert_true(strncmp(err.text, "failed to lookup nonexistent.invalid:4155: ", 43) == 0);
}

static void test_default_port(void **state)
{
	(void)state;
	/* Port 0 means 4155.  Something may listen there on this machine; either
	 * way the port used must be 4155. */
	sw_medium *c = NULL;
	sw_errinfo err = {0};
	int rc = sw_tcp_connect(&c, "127.0.0.1", 0, 2000, NULL, &err);
	if (rc == 0) {
		int fd;
		struct sockaddr_in sin;
		socklen_t len = sizeof sin;
		assert_int_equal(sw_medium_fds(c, &fd, NULL), 0);
		assert_int_equal(getpeername(fd, (struct sockaddr *)&sin, &len), 0);
		assert_int_equal(ntohs(sin.sin_port), 4155);
		sw_medium_del(c);
	} else {
		assert_int_equal(rc, SW_ERR_CONNECT);
		assert_string_equal(err.text,
		                    "failed to connect to 127.0.0.1:4155: Connection refused");
	}
}

static void test_connect_timeout(void **state)
{
	(void)state;
	/* A listener with a full accept queue drops SYNs, so a further connect
	 * neither succeeds nor fails until its timeout. */
	int lfd;
	uint16_t port;
	assert_int_equal(sw_tcp_listen(&lfd, &port, "127.0.0.1", 0, 0, NULL), 0);
	sw_medium *held[4] = {0};
	int rc = 0, tries = 0;
	sw_errinfo err = {0};
	int64_t el = 0;
	while (tries < 4) {
		int64_t t0 = now_ms();
		rc = sw_tcp_connect(&held[tries], "127.0.0.1", port, 200, NULL, &err);
		el = now_ms() - t0;
		if (rc != 0)
			break;
		tries++;
	}
	assert_int_equal(rc, SW_ERR_CONNECT);
	assert_true(tries >= 1);
	char want[128];
	snprintf(want, sizeof want, "failed to connect to 127.0.0.1:%u: Connection timed out",
	         (unsigned)port);
	assert_string_equal(err.text, want);
	assert_true(el >= 150 && el < 5000);
	for (int i = 0; i < tries; i++)
		sw_medium_del(held[i]);
	close(lfd);
}

static void test_accept_timeout_and_errors(void **state)
{
	(void)state;
	int lfd, lfd2;
	uint16_t port;
	sw_errinfo err = {0};
	assert_int_equal(sw_tcp_listen(&lfd, &port, "127.0.0.1", 0, 1, &err), 0);
	sw_medium *s = NULL;
	int64_t t0 = now_ms();
	assert_int_equal(sw_tcp_accept(&s, lfd, 50, NULL), SW_ERR_TIMEOUT);
	int64_t el = now_ms() - t0;
	assert_true(el >= 40 && el < 5000);
	assert_int_equal(sw_tcp_accept(&s, lfd, 0, NULL), SW_ERR_TIMEOUT);
	assert_null(s);
	/* The same port cannot be bound twice while listening. */
	assert_int_equal(sw_tcp_listen(&lfd2, NULL, "127.0.0.1", port, 1, &err), SW_ERR_IO);
	assert_non_null(strstr(err.text, "Address already in use"));
	assert_int_equal(sw_tcp_listen(NULL, NULL, "127.0.0.1", 0, 1, NULL),
	                 SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_tcp_accept(&s, -1, 0, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_tcp_connect(&s, NULL, 1, 0, NULL, NULL), SW_ERR_INVALID_ARGUMENT);

	/* Allocation failure after connect/accept closes the socket. */
	sw_failmem fm;
	sw_failmem_init(&fm, 1, true);
	sw_medium *c;
	assert_int_equal(sw_tcp_connect(&c, "127.0.0.1", port, 2000, &fm.mem, NULL), SW_ERR_NOMEM);
	assert_int_equal(sw_tcp_accept(&s, lfd, 2000, &fm.mem), SW_ERR_NOMEM);
	assert_int_equal(fm.live, 0);
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_and_half_close),
		cmocka_unit_test(test_reset_is_eof_then_write_fails),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lookup_failure),
		cmocka_unit_test(test_default_port),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_accept_timeout_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
