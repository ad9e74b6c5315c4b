/*
 * One connection served by the daemon (smartwire/daemon.h) on descriptors
 * and media, the `smartwire serve --inet` and sw_serve_medium cases, with
 * the real file server behind it: pipes, stdin as a regular file, the idle
 * timeout, the per-connection result, O_NONBLOCK cleared again afterwards
 * (also on a description that stdin and stdout share, as inetd's socket),
 * a reader of stdout that went away, a medium owned or not, a stop before
 * the run, and the argument checks.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/server_daemon.h"

static bool nonblocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	assert_true(fl >= 0);
	return (fl & O_NONBLOCK) != 0;
}

/* serve --inet: one connection on a pipe pair, then run() returns. */
static void test_inet_pipes(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	static const char req[] = "hello\nbzr request 2\nhas\x01/big\n";
	assert_int_equal(write(in[1], req, sizeof req - 1), (ssize_t)(sizeof req - 1));
	close(in[1]);
	srv s;
	srv_start(&s, 1, NULL, false);
	assert_int_equal(sw_daemon_add_conn(s.d, in[0], out[1], true, NULL), 0);
	assert_int_equal(sw_daemon_run(s.d), 0);
	char buf[128];
	ssize_t n = read(out[0], buf, sizeof buf);
	static const char want[] = "ok\x01"
	                           "2\nbzr response 2\nsuccess\nyes\n";
	assert_int_equal(n, (ssize_t)(sizeof want - 1));
	assert_memory_equal(buf, want, sizeof want - 1);
	assert_int_equal(read(out[0], buf, sizeof buf), 0); /* closed (owned) */
	close(out[0]);
	sw_daemon_stats st;
	sw_daemon_get_stats(s.d, &st);
	assert_int_equal(st.ended_eof, 1);
	assert_int_equal(st.requests, 2);
	srv_free(&s);
}

/* serve --inet with the client silent but connected: run() returns at the
 * idle timeout (Breezy exits 0 then). */
static void test_inet_idle_timeout(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	sw_daemon_config dc = {.srv.idle_timeout_ms = 200};
	srv s;
	srv_start(&s, 1, &dc, false);
	assert_int_equal(sw_daemon_add_conn(s.d, in[0], out[1], true, NULL), 0);
	int64_t t0 = now_ms();
	assert_int_equal(sw_daemon_run(s.d), 0);
	assert_true(now_ms() - t0 < 3000);
	sw_daemon_stats st;
	sw_daemon_get_stats(s.d, &st);
	assert_int_equal(st.ended_timeout, 1);
	char b;
	assert_int_equal(read(out[0], &b, 1), 0); /* nothing sent, closed */
	close(in[1]);
	close(out[0]);
	srv_free(&s);
}

/* stdin a regular file (epoll cannot watch it): still served. */
static void test_inet_regular_file(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s.req", root);
	int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(f >= 0);
	assert_int_equal(write(f, "hello\nhello\n", 12), 12);
	lseek(f, 0, SEEK_SET);
	int out[2];
	assert_int_equal(pipe(out), 0);
	srv s;
	srv_start(&s, 1, NULL, false);
	assert_int_equal(sw_daemon_add_conn(s.d, f, out[1], true, NULL), 0);
	assert_int_equal(sw_daemon_run(s.d), 0);
	char buf[64];
	assert_int_equal(read(out[0], buf, sizeof buf), 10);
	assert_memory_equal(buf,
	                    "ok\x01"
	                    "2\nok\x01"
	                    "2\n",
	                    10);
	close(out[0]);
	unlink(path);
	srv_free(&s);
}

/* The result of an --inet connection, for the exit status. */
static void test_inet_result(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	static const char req[] = "hello\nhello\n";
	assert_int_equal(write(in[1], req, 12), 12);
	close(in[1]);
	srv s;
	srv_start(&s, 1, NULL, false);
	sw_serve_result res;
	memset(&res, 0xff, sizeof res);
	assert_int_equal(sw_daemon_add_conn(s.d, in[0], out[1], false, &res), 0);
	assert_int_equal(sw_daemon_run(s.d), 0);
	assert_int_equal(res.end, SW_SERVE_EOF);
	assert_int_equal(res.error, 0);
	assert_int_equal(res.requests, 2);
	assert_int_equal(res.bytes_in, 12);
	assert_int_equal(res.bytes_out, 10);
	/* Not owned: still open, and blocking again. */
	assert_false(nonblocking(in[0]));
	assert_false(nonblocking(out[1]));
	close(in[0]);
	close(out[1]);
	close(out[0]);
	srv_free(&s);
}

/* inetd and sshd give the server one socket as stdin and stdout: two
 * descriptors, one description.  Making them non-blocking changes the
 * description shared with the parent; it must be blocking again after,
 * and a description that was non-blocking before stays so. */
static void test_inet_shared_description(void **state)
{
	(void)state;
	for (int was_nb = 0; was_nb <= 1; was_nb++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		if (was_nb)
			assert_int_equal(fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK),
			                 0);
		int rfd = dup(sv[1]), wfd = dup(sv[1]);
		assert_true(rfd >= 0 && wfd >= 0);
		assert_int_equal(write(sv[0], "hello\n", 6), 6);
		shutdown(sv[0], SHUT_WR);
		srv s;
		srv_start(&s, 1, NULL, false);
		sw_serve_result res;
		assert_int_equal(sw_daemon_add_conn(s.d, rfd, wfd, true, &res), 0);
		assert_int_equal(sw_daemon_run(s.d), 0);
		assert_int_equal(res.end, SW_SERVE_EOF);
		assert_int_equal(res.requests, 1);
		assert_int_equal(nonblocking(sv[1]), was_nb);
		char buf[16];
		assert_int_equal(read(sv[0], buf, sizeof buf), 5);
		assert_memory_equal(buf,
		                    "ok\x01"
		                    "2\n",
		                    5);
		close(sv[0]);
		close(sv[1]);
		srv_free(&s);
	}
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The reader of stdout went away.  Silent client: the idle timeout ends
 * the connection, and waiting for it costs no CPU (the broken write side,
 * which epoll reports as an error for ever, is not watched any more).  A
 * request: its answer cannot be written, an I/O error. */
static void test_inet_stdout_gone(void **state)
{
	(void)state;
	for (int ask = 0; ask <= 1; ask++) {
		int in[2], out[2];
		assert_int_equal(pipe(in), 0);
		assert_int_equal(pipe(out), 0);
		close(out[0]);
		if (ask)
			assert_int_equal(write(in[1], "hello\n", 6), 6);
		sw_daemon_config dc = {.srv.idle_timeout_ms = 300};
		srv s;
		srv_start(&s, 1, &dc, false);
		sw_serve_result res;
		assert_int_equal(sw_daemon_add_conn(s.d, in[0], out[1], true, &res), 0);
		double cpu0 = thread_cpu_s();
		int64_t t0 = now_ms();
		assert_int_equal(sw_daemon_run(s.d), 0);
		double cpu = thread_cpu_s() - cpu0;
		if (ask) {
			assert_int_equal(res.end, SW_SERVE_IO);
			assert_int_equal(res.error, SW_ERR_CONNECTION_RESET);
		} else {
			assert_int_equal(res.end, SW_SERVE_TIMEOUT);
			assert_true(now_ms() - t0 >= 250);
			print_message("CPU while waiting 300 ms with stdout gone: %.3f s\n", cpu);
			assert_true(cpu <
			            0.05); /* a loop on the broken side burns about all of it */
		}
		close(in[1]);
		srv_free(&s);
	}
}

/* A medium: kept (the caller deletes it, which the client sees) or owned
 * (deleted when the connection ends). */
static void test_medium(void **state)
{
	(void)state;
	for (int own = 0; own <= 1; own++) {
		sw_medium *cli, *m;
		assert_int_equal(sw_fifo_pair(&cli, &m, NULL, NULL, NULL), 0);
		assert_int_equal(sw_medium_write_all(cli, "hello\n", 6, NULL), 0);
		sw_medium_shutdown_write(cli);
		srv s;
		srv_start(&s, 1, NULL, false);
		sw_serve_result res;
		assert_int_equal(sw_daemon_add_medium(s.d, m, own, &res), 0);
		assert_int_equal(sw_daemon_run(s.d), 0);
		assert_int_equal(res.end, SW_SERVE_EOF);
		assert_int_equal(res.requests, 1);
		if (!own) {
			assert_int_equal(sw_fifo_pending(cli), 5);
			sw_medium_del(m);
		}
		char buf[16];
		assert_int_equal(sw_medium_read(cli, buf, sizeof buf), 5);
		assert_int_equal(sw_medium_read(cli, buf, sizeof buf), 0);
		sw_medium_del(cli);
		srv_free(&s);
	}
}

/* A stop before the run: the idle connection is closed at once. */
static void test_stop_before_run(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	srv s;
	srv_start(&s, 1, NULL, false);
	sw_serve_result res;
	assert_int_equal(sw_daemon_add_conn(s.d, in[0], out[1], true, &res), 0);
	sw_daemon_stop(s.d);
	assert_int_equal(sw_daemon_run(s.d), 0);
	assert_int_equal(res.end, SW_SERVE_STOPPED);
	assert_int_equal(res.error, 0);
	sw_daemon_stats st;
	sw_daemon_get_stats(s.d, &st);
	assert_int_equal(st.ended_stop, 1);
	assert_int_equal(st.active, 0);
	close(in[1]);
	close(out[0]);
	srv_free(&s);
}

static void test_add_errors(void **state)
{
	(void)state;
	sw_daemon_config dc = {.max_connections = 1};
	srv s;
	srv_start(&s, 1, &dc, false);
	sw_medium *a, *b, *c, *d;
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, NULL), 0);
	assert_int_equal(sw_fifo_pair(&c, &d, NULL, NULL, NULL), 0);
	assert_int_equal(sw_daemon_add_medium(NULL, b, false, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_daemon_add_medium(s.d, NULL, false, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_daemon_add_conn(s.d, -1, 1, false, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_daemon_add_medium(s.d, b, true, NULL), 0);
	/* Over max_connections: refused, the medium and descriptors untouched. */
	assert_int_equal(sw_daemon_add_medium(s.d, d, true, NULL), SW_ERR_LIMIT);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(sw_daemon_add_conn(s.d, p[0], p[1], true, NULL), SW_ERR_LIMIT);
	assert_false(nonblocking(p[0]));
	assert_int_equal(write(p[1], "x", 1), 1); /* still open */
	sw_medium_shutdown_write(a);
	assert_int_equal(sw_daemon_run(s.d), 0);
	assert_int_equal(sw_daemon_add_medium(s.d, d, true, NULL), SW_ERR_STATE);
	assert_int_equal(sw_daemon_run(s.d), SW_ERR_STATE);
	sw_medium_del(a);
	sw_medium_del(c);
	sw_medium_del(d);
	close(p[0]);
	close(p[1]);
	srv_free(&s);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/sw-daemon-inet-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	char p[128];
	snprintf(p, sizeof p, "%s/big", root);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, 1000) < 0)
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
	    cmocka_unit_test(test_inet_pipes),
	    cmocka_unit_test(test_inet_regular_file),
	    cmocka_unit_test(test_inet_idle_timeout),
	    cmocka_unit_test(test_inet_result),
	    cmocka_unit_test(test_inet_shared_description),
	    cmocka_unit_test(test_inet_stdout_gone),
	    cmocka_unit_test(test_medium),
	    cmocka_unit_test(test_stop_before_run),
	    cmocka_unit_test(test_add_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
