/*
 * Tests for the multi-connection server (smartwire/daemon.h) with the real
 * file server behind it, over loopback TCP.  The daemon runs in a
 * thread; clients are plain sockets in the test.  Every wait is bounded.
 *
 *  - a slow client (half a request, or a large answer it does not read)
 *    never delays another client, even with a single worker;
 *  - max_connections: the connection over the limit is accepted and closed;
 *  - idle timeout (Breezy's message logged), request deadline (trickled
 *    request, unread answer);
 *  - graceful stop with a request in flight: the request is finished and
 *    answered, idle connections are closed at once, run() returns 0;
 *    a second stop closes everything;
 *  - a medium without descriptors served beside a listener;
 *  - 1,000 idle connections cost little memory and stay served.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/server_daemon.h"

#define BIG (8u << 20) /* a file much larger than socket buffers */

/* ---- clients ---- */

static int cli_connect(const srv *s)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(s->port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	return fd;
}

static void cli_send(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads until `want` bytes arrived, EOF, or timeout_ms; returns the count. */
static size_t cli_recv(int fd, char *buf, size_t want, int timeout_ms, bool *eof)
{
	size_t got = 0;
	int64_t end = now_ms() + timeout_ms;
	if (eof)
		*eof = false;
	while (got < want) {
		int64_t left = end - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = recv(fd, buf + got, want - got, 0);
		if (r <= 0) {
			if (eof)
				*eof = true;
			break;
		}
		got += (size_t)r;
	}
	return got;
}

/* The connection is closed by the server within timeout_ms (after any
 * bytes still in flight). */
static bool closed_within(int fd, int timeout_ms)
{
	char buf[65536];
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r <= 0)
			return true;
	}
}

static void hello(int fd)
{
	char buf[16];
	cli_send(fd, "hello\n", 6);
	assert_int_equal(cli_recv(fd, buf, 5, 5000, NULL), 5);
	assert_memory_equal(buf, "ok\x01" "2\n", 5);
}

/* ---- tests ---- */

static void test_slow_clients_do_not_block(void **state)
{
	(void)state;
	srv s;
	srv_start(&s, 1, NULL, true); /* one worker: the event loop itself must cope */
	/* A: half a request, then silence. */
	int a = cli_connect(&s);
	cli_send(a, "bzr message 3 (bzr", 18);
	/* B: asks for 8 MiB and reads nothing. */
	int b = cli_connect(&s);
	cli_send(b, "get\x01/big\n", 9);
	/* C is served at once. */
	int c = cli_connect(&s);
	int64_t t0 = now_ms();
	for (int i = 0; i < 50; i++) /* more than a drive's rounds in a row */
		hello(c);
	assert_true(now_ms() - t0 < 2000);
	/* B still gets its whole answer when it reads. */
	char *buf = malloc(BIG + 32);
	assert_non_null(buf);
	size_t want = 3 + 8 + BIG + 5; /* "ok\n" "8388608\n" data "done\n" */
	assert_int_equal(cli_recv(b, buf, want, 10000, NULL), want);
	assert_memory_equal(buf, "ok\n8388608\n", 11);
	assert_memory_equal(buf + want - 5, "done\n", 5);
	free(buf);
	/* A finishes its request late and is answered. */
	static const char rest[] = " 1.6)\n\x00\x00\x00\x02" "des\x00\x00\x00\x09l5:helloee";
	cli_send(a, rest, sizeof rest - 1);
	char r[64];
	size_t n = cli_recv(a, r, 48, 5000, NULL);
	assert_true(n >= 40);
	close(a);
	close(b);
	close(c);
	srv_stop(&s);
}

static void test_max_connections(void **state)
{
	(void)state;
	sw_daemon_config dc = {.max_connections = 2};
	srv s;
	srv_start(&s, 2, &dc, true);
	int a = cli_connect(&s), b = cli_connect(&s);
	hello(a);
	hello(b);
	int c = cli_connect(&s);
	assert_true(closed_within(c, 5000));
	close(c);
	sw_daemon_stats st;
	sw_daemon_get_stats(s.d, &st);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.active, 2);
	/* A slot freed is a slot for the next client. */
	close(a);
	int64_t end = now_ms() + 5000;
	do {
		sw_daemon_get_stats(s.d, &st);
	} while (st.active != 1 && now_ms() < end);
	int e = cli_connect(&s);
	hello(e);
	hello(b);
	close(b);
	close(e);
	srv_stop(&s);
}

static void test_idle_timeout(void **state)
{
	(void)state;
	sw_daemon_config dc = {.srv.idle_timeout_ms = 200};
	srv s;
	srv_start(&s, 1, &dc, true);
	int a = cli_connect(&s);
	hello(a); /* the clock restarts after each answer */
	int64_t t0 = now_ms();
	assert_true(closed_within(a, 5000));
	int64_t dt = now_ms() - t0;
	assert_true(dt >= 150 && dt < 2000);
	close(a);
	sw_daemon_stats st;
	sw_daemon_get_stats(s.d, &st);
	assert_int_equal(st.ended_timeout, 1);
	pthread_mutex_lock(&s.mu);
	assert_non_null(strstr(s.log, "Connection Timeout: disconnecting client after 0.2 seconds"));
	pthread_mutex_unlock(&s.mu);
	srv_stop(&s);
}

static void test_request_deadline(void **state)
{
	(void)state;
	sw_daemon_config dc = {.srv.request_timeout_ms = 300};
	srv s;
	srv_start(&s, 1, &dc, true);
	/* A trickles a put body one byte at a time, forever. */
	int a = cli_connect(&s);
	cli_send(a, "put\x01/slow\x01\n100\n", 15);
	int64_t t0 = now_ms();
	bool closed = false;
	for (int i = 0; i < 50 && !closed; i++) {
		if (send(a, "x", 1, MSG_NOSIGNAL) != 1)
			break;
		closed = closed_within(a, 100);
	}
	if (!closed)
		closed = closed_within(a, 2000);
	assert_true(closed);
	assert_true(now_ms() - t0 < 3000);
	close(a);
	struct stat st;
	char p[128];
	snprintf(p, sizeof p, "%s/slow", root);
	assert_int_equal(lstat(p, &st), -1); /* nothing applied */
	/* B asks for a big file and never reads: cut at the deadline too. */
	int b = cli_connect(&s);
	cli_send(b, "get\x01/big\n", 9);
	usleep(800 * 1000);
	assert_true(closed_within(b, 3000)); /* drains what was sent, then EOF */
	close(b);
	/* Quick requests are unaffected. */
	int c = cli_connect(&s);
	for (int i = 0; i < 5; i++)
		hello(c);
	close(c);
	sw_daemon_stats ds;
	sw_daemon_get_stats(s.d, &ds);
	assert_int_equal(ds.ended_deadline, 2);
	srv_stop(&s);
}

static void test_graceful_stop(void **state)
{
	(void)state;
	srv s;
	/* One worker: once the idle connection is closed, the stop has reached
	 * the worker that holds the busy one. */
	srv_start(&s, 1, NULL, true);
	int idle = cli_connect(&s);
	hello(idle);
	int busy = cli_connect(&s);
	cli_send(busy, "put\x01/inflight\x01\n8\nabcd", 21);
	usleep(100 * 1000); /* the server has the request's first half */
	sw_daemon_stop(s.d);
	assert_true(closed_within(idle, 5000)); /* idle: closed at once */
	cli_send(busy, "efghdone\nhello\n", 15);
	char r[16];
	bool eof;
	size_t n = cli_recv(busy, r, sizeof r, 5000, &eof);
	/* The request in flight is answered; the pipelined hello is not. */
	assert_int_equal(n, 3);
	assert_memory_equal(r, "ok\n", 3);
	assert_true(eof || closed_within(busy, 5000));
	srv_join(&s);
	char p[128];
	snprintf(p, sizeof p, "%s/inflight", root);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_size, 8);
	unlink(p);
	close(idle);
	close(busy);
	srv_free(&s);
}

static void test_second_stop_is_immediate(void **state)
{
	(void)state;
	srv s;
	srv_start(&s, 1, NULL, true);
	int busy = cli_connect(&s);
	cli_send(busy, "put\x01/never\x01\n8\nab", 17);
	usleep(100 * 1000);
	sw_daemon_stop(s.d);
	usleep(100 * 1000);
	sw_daemon_stop(s.d);
	assert_true(closed_within(busy, 5000));
	srv_join(&s);
	char p[128];
	snprintf(p, sizeof p, "%s/never", root);
	struct stat st;
	assert_int_equal(lstat(p, &st), -1);
	close(busy);
	srv_free(&s);
}

/* A medium without descriptors (a threaded fifo) beside a listener on one
 * worker: the worker cannot wait inside the medium, so it looks at it on
 * every pass while it keeps accepting and serving TCP clients. */
static void test_medium_beside_listener(void **state)
{
	(void)state;
	srv s;
	srv_start(&s, 1, NULL, false);
	sw_errinfo err = {0};
	assert_int_equal(sw_tcp_listen(&s.lfd, &s.port, "127.0.0.1", 0, 128, &err), 0);
	assert_int_equal(sw_daemon_add_listener(s.d, s.lfd), 0);
	sw_medium *cli, *m;
	assert_int_equal(sw_fifo_pair(&cli, &m, NULL, NULL, NULL), 0);
	sw_serve_result res;
	assert_int_equal(sw_daemon_add_medium(s.d, m, true, &res), 0);
	assert_int_equal(pthread_create(&s.th, NULL, run_thread, &s), 0);
	int c = cli_connect(&s);
	for (int i = 0; i < 3; i++) {
		hello(c);
		assert_int_equal(sw_medium_write_all(cli, "hello\n", 6, NULL), 0);
		char buf[8];
		size_t got = 0;
		while (got < 5) {
			ptrdiff_t n = sw_medium_read(cli, buf + got, 5 - got); /* bounded: 5 s */
			assert_true(n > 0);
			got += (size_t)n;
		}
		assert_memory_equal(buf,
		                    "ok\x01"
		                    "2\n",
		                    5);
	}
	close(c);
	sw_medium_shutdown_write(cli);
	srv_stop(&s);
	assert_int_equal(res.requests, 3);
	assert_true(res.end == SW_SERVE_EOF || res.end == SW_SERVE_STOPPED);
	sw_medium_del(cli);
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

static void test_thousand_idle_connections(void **state)
{
	(void)state;
	enum { N = 1000 };
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 2 * N + 100) {
		rl.rlim_cur = rl.rlim_max < 2 * N + 100 ? rl.rlim_max : 2 * N + 100;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	assert_true(rl.rlim_cur >= 2 * N + 100); /* cannot run the test otherwise */
	srv s;
	srv_start(&s, 2, NULL, true);
	int *fds = malloc(N * sizeof *fds);
	assert_non_null(fds);
	fds[0] = cli_connect(&s);
	hello(fds[0]); /* warm up: worker buffers exist */
	long before = rss_kib();
	for (int i = 1; i < N; i++)
		fds[i] = cli_connect(&s);
	sw_daemon_stats st;
	int64_t end = now_ms() + 10000;
	do {
		sw_daemon_get_stats(s.d, &st);
	} while (st.active < N && now_ms() < end);
	assert_int_equal(st.active, N);
	/* Each connection has served a request: its decoders exist too. */
	for (int i = 1; i < N; i++)
		hello(fds[i]);
	long after = rss_kib();
	if (!getenv("SW_UNDER_VALGRIND")) {
		print_message("RSS for %d idle connections: %ld KiB\n", N, after - before);
		assert_true(after - before < 16 * 1024);
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
	free(fds);
	srv_stop(&s);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/sw-daemon-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	char p[128];
	snprintf(p, sizeof p, "%s/big", root);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, BIG) < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char p[128];
	snprintf(p, sizeof p, "%s/big", root);
	unlink(p);
	rmdir(root);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_slow_clients_do_not_block),
	    cmocka_unit_test(test_max_connections),
	    cmocka_unit_test(test_idle_timeout),
	    cmocka_unit_test(test_request_deadline),
	    cmocka_unit_test(test_graceful_stop),
	    cmocka_unit_test(test_second_stop_is_immediate),
	    cmocka_unit_test(test_medium_beside_listener),
	    cmocka_unit_test(test_thousand_idle_connections),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
