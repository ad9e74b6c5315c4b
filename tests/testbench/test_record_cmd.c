/* Tests for the recording proxy (testbench/record/) with a command upstream
 * (`cat`, which echoes through pipes and exits at EOF), a client on one end
 * of a socket pair as the --inet mode has it, the recorder stepped from this
 * thread; and its arguments and allocation failures. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "record_peers.h"
#include "smartwire/failmem.h"

/* The --inet path: an already-open client (a socket pair here) and a
 * command upstream (`cat`, which echoes through pipes and exits at EOF). */
static void test_command_upstream(void **state)
{
	(void)state;
	char dir[256];
	make_outdir(dir, sizeof dir);
	const char *argv[] = {"cat", NULL};
	sw_record_config cfg = {.out_dir = dir, .upstream_argv = argv, .max_connections = 1};
	sw_recorder *r;
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sw_medium *proxy_side, *test_side;
	assert_int_equal(sw_fd_medium_new(&proxy_side, sv[1], sv[1], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_fd_medium_new(&test_side, sv[0], sv[0], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_recorder_add_client(r, proxy_side), 1);
	assert_int_equal(sw_recorder_add_client(r, NULL), SW_ERR_INVALID_ARGUMENT);
	struct peer c;
	peer_init(&c, test_side);
	struct peer *one[] = {&c};
	static const char data[] = "bzr request 2\nhello\n\x00\x01\xff";
	peer_send(&c, data, sizeof data, true);
	struct recv_want w = {&c, sizeof data, true};
	drive(r, one, 1, received, &w);
	drive(r, one, 1, open_is_zero, r);
	assert_true(sw_recorder_done(r));
	assert_int_equal(c.in_len, sizeof data);
	assert_memory_equal(c.in, data, sizeof data);
	assert_file(dir, 1, "c2s", data, sizeof data);
	assert_file(dir, 1, "s2c", data, sizeof data);
	assert_log_has(dir, 1, "upstream command pid ");
	assert_log_has(dir, 1, "close clean");
	/* Past max_connections, a new client is refused (and closed). */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[0]);
	assert_int_equal(sw_fd_medium_new(&proxy_side, sv[1], sv[1], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_recorder_add_client(r, proxy_side), SW_ERR_LIMIT);
	peer_free(&c);
	sw_recorder_del(r);
	rmtree(dir);
}

/* A client that sends 4 MiB through `cat` and reads nothing until it is
 * stuck: every buffer on the way fills (the socket, the proxy's, cat's stdin
 * and stdout pipes) and cat blocks writing its stdout, which only the proxy
 * drains.  The proxy must go on stepping instead of waiting inside a write
 * to cat's full stdin (where a "cmd" medium's write waits for room), so
 * that everything flows once the client reads.  A proxy stuck inside
 * sw_recorder_step is turned into a failure by the alarm. */
static void test_command_backpressure(void **state)
{
	(void)state;
	char dir[256];
	make_outdir(dir, sizeof dir);
	const char *argv[] = {"cat", NULL};
	sw_record_config cfg = {.out_dir = dir, .upstream_argv = argv, .max_connections = 1};
	sw_recorder *r;
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sw_medium *proxy_side, *test_side;
	assert_int_equal(sw_fd_medium_new(&proxy_side, sv[1], sv[1], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_fd_medium_new(&test_side, sv[0], sv[0], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_recorder_add_client(r, proxy_side), 1);
	size_t len = 4u << 20;
	uint8_t *data = malloc(len);
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 12));
	struct peer c;
	peer_init(&c, test_side);
	peer_send(&c, data, len, true);
	c.hold = true;
	alarm(120);
	/* Until the client has not got a byte further for 50 rounds of 5 ms:
	 * the pipeline is full (it holds far less than 4 MiB). */
	int64_t end = sw_clock_ms() + DEADLINE_MS;
	for (int still = 0; still < 50;) {
		size_t before = c.sent;
		peer_io(&c);
		assert_int_equal(sw_recorder_step(r, 5), 0);
		still = c.sent == before ? still + 1 : 0;
		assert_true(sw_clock_ms() < end);
	}
	assert_true(c.sent < len);
	c.hold = false;
	struct peer *one[] = {&c};
	struct recv_want w = {&c, len, true};
	drive(r, one, 1, received, &w);
	drive(r, one, 1, open_is_zero, r);
	alarm(0);
	assert_int_equal(c.in_len, len);
	assert_memory_equal(c.in, data, len);
	assert_file(dir, 1, "c2s", data, len);
	assert_file(dir, 1, "s2c", data, len);
	assert_log_has(dir, 1, "upstream command exited with status 0");
	assert_log_has(dir, 1, "close clean");
	free(data);
	peer_free(&c);
	sw_recorder_del(r);
	rmtree(dir);
}

/* A command that cannot be run is an upstream failure, logged. */
static void test_command_missing(void **state)
{
	(void)state;
	char dir[256];
	make_outdir(dir, sizeof dir);
	const char *argv[] = {"/nonexistent/smartwire-no-such-program", NULL};
	sw_record_config cfg = {.out_dir = dir, .upstream_argv = argv};
	sw_recorder *r;
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), 0);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sw_medium *proxy_side;
	assert_int_equal(sw_fd_medium_new(&proxy_side, sv[1], sv[1], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_recorder_add_client(r, proxy_side), 1);
	assert_int_equal(sw_recorder_upstream_failures(r), 1);
	assert_int_equal(sw_recorder_open(r), 0);
	char buf[4];
	assert_int_equal(read(sv[0], buf, sizeof buf), 0); /* closed at once */
	close(sv[0]);
	assert_log_has(dir, 1,
	               "upstream-error cannot run /nonexistent/smartwire-no-such-program: "
	               "No such file or directory");
	sw_recorder_del(r);
	rmtree(dir);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	char dir[256];
	make_outdir(dir, sizeof dir);
	const char *argv[] = {"cat", NULL}, *empty[] = {NULL};
	sw_recorder *r = NULL;
	sw_record_config cfg = {.out_dir = dir};
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), SW_ERR_INVALID_ARGUMENT);
	cfg.upstream_host = "127.0.0.1";
	cfg.upstream_argv = argv;
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), SW_ERR_INVALID_ARGUMENT);
	cfg.upstream_host = NULL;
	cfg.upstream_argv = empty;
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), SW_ERR_INVALID_ARGUMENT);
	cfg.upstream_argv = argv;
	cfg.out_dir = NULL;
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), SW_ERR_INVALID_ARGUMENT);
	cfg.out_dir = "/dev/null/sub"; /* not a directory */
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), SW_ERR_IO);
	/* A nested directory is created. */
	char sub[300];
	snprintf(sub, sizeof sub, "%s/a/b", dir);
	cfg.out_dir = sub;
	assert_int_equal(sw_recorder_new(&r, &cfg, NULL), 0);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	sw_errinfo err = {0};
	uint16_t port;
	assert_int_equal(sw_recorder_listen(r, "127.0.0.1", 0, &port, &err), 0);
	assert_false(sw_recorder_done(r));
	assert_int_equal(sw_recorder_listen(r, "127.0.0.1", 0, &port, &err), SW_ERR_STATE);
	assert_int_equal(sw_recorder_step(r, 0), 0); /* nothing pending: returns */
	sw_recorder_del(r);
	sw_recorder_del(NULL);
	rmdir(sub);
	snprintf(sub, sizeof sub, "%s/a", dir);
	rmdir(sub);
	rmtree(dir);
}

/* Allocation failures in creation and in adding a connection are reported
 * as SW_ERR_NOMEM and leak nothing. */
static void test_failmem(void **state)
{
	(void)state;
	char dir[256];
	make_outdir(dir, sizeof dir);
	const char *argv[] = {"cat", NULL};
	sw_record_config cfg = {.out_dir = dir, .upstream_argv = argv};
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	size_t calls = 0;
	for (size_t at = 0;; at++) {
		for (int persistent = 0; persistent < 2; persistent++) {
			sw_failmem_init(&fm, at, persistent);
			sw_recorder *r = NULL;
			int rc = sw_recorder_new(&r, &cfg, &fm.mem);
			if (rc == 0) {
				int sv[2];
				assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
				sw_medium *m = NULL;
				rc = sw_fd_medium_new(&m, sv[1], sv[1], SW_FD_OWN, &fm.mem);
				if (rc == 0)
					rc = sw_recorder_add_client(r, m);
				else
					close(sv[1]);
				close(sv[0]);
				sw_recorder_del(r);
			}
			if (at == 0) {
				assert_true(rc > 0);
				calls = fm.calls;
			} else if (fm.failures) {
				assert_int_equal(rc, SW_ERR_NOMEM);
			}
			assert_int_equal(fm.live, 0);
		}
		if (at >= calls)
			break;
	}
	assert_true(calls >= 4);
	rmtree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_command_upstream), cmocka_unit_test(test_command_backpressure),
	    cmocka_unit_test(test_command_missing),  cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
