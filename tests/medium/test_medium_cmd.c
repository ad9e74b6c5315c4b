/* Tests for the spawned-command medium (medium_cmd.c) and the bzr+ssh argv
 * builder: exit status, stderr capture without deadlock, reaping, killing a
 * child that does not exit. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

/* Reads until EOF into buf; returns the byte count. */
static size_t read_to_eof(sw_medium *m, char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		ptrdiff_t n = sw_medium_read(m, buf + got, cap - got);
		assert_true(n >= 0);
		if (n == 0)
			return got;
		got += (size_t)n;
		assert_true(got < cap);
	}
}

static void assert_reaped(long pid)
{
	errno = 0;
	assert_int_equal(waitpid((pid_t)pid, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_cat_echo(void **state)
{
	(void)state;
	const char *argv[] = {"cat", NULL};
	sw_medium *m;
	assert_int_equal(sw_cmd_spawn(&m, argv, NULL, NULL, NULL), 0);
	assert_string_equal(sw_medium_name(m), "cmd");
	long pid = sw_cmd_pid(m);
	assert_true(pid > 0);
	/* Pollable: the child's stdout to read, its stdin to write. */
	int rfd = -1, wfd = -1;
	assert_int_equal(sw_medium_fds(m, &rfd, &wfd), 0);
	assert_true(rfd >= 3 && wfd >= 3 && rfd != wfd);
	assert_int_equal(sw_medium_wait_readable(m, 0), SW_ERR_TIMEOUT);
	assert_int_equal(sw_medium_write_all(m, "hello\n", 6, NULL), 0);
	assert_int_equal(sw_medium_wait_readable(m, 5000), 1);
	char buf[64];
	size_t got = 0;
	while (got < 6) {
		ptrdiff_t n = sw_medium_read(m, buf + got, sizeof buf - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(buf, "hello\n", 6);
	assert_int_equal(sw_medium_shutdown_write(m), 0);
	assert_int_equal(sw_medium_write(m, "x", 1), SW_ERR_CLOSED);
	assert_int_equal(read_to_eof(m, buf, sizeof buf), 0);
	int status;
	sw_slice err;
	assert_int_equal(sw_cmd_close_wait(m, &status, &err), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(err.n, 0);
	assert_reaped(pid);
	/* Idempotent, and reads after it see EOF. */
	assert_int_equal(sw_cmd_close_wait(m, &status, NULL), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(sw_medium_read(m, buf, 1), 0);
	assert_int_equal(sw_medium_write(m, "x", 1), SW_ERR_CLOSED);
	sw_medium_del(m);
}

static void test_exit_status_and_stderr(void **state)
{
	(void)state;
	const char *argv[] = {"sh", "-c", "cat >&2; exit 3", NULL};
	sw_medium *m;
	assert_int_equal(sw_cmd_spawn(&m, argv, NULL, NULL, NULL), 0);
	long pid = sw_cmd_pid(m);
	assert_int_equal(sw_medium_write_all(m, "oops", 4, NULL), 0);
	assert_int_equal(sw_medium_shutdown_write(m), 0);
	char buf[16];
	assert_int_equal(read_to_eof(m, buf, sizeof buf), 0);
	int status;
	sw_slice err;
	assert_int_equal(sw_cmd_close_wait(m, &status, &err), 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_int_equal(err.n, 4);
	assert_memory_equal(err.p, "oops", 4);
	assert_reaped(pid);
	sw_medium_del(m);
}

static void test_stderr_flood_no_deadlock(void **state)
{
	(void)state;
	/* 300 kB of stderr before any stdout: a child blocked on a full stderr
	 * pipe would never print "done". */
	const char *argv[] = {"sh", "-c", "head -c 300000 /dev/zero >&2; echo done", NULL};
	sw_cmd_config cfg = {.stderr_limit = 1000};
	sw_medium *m;
	assert_int_equal(sw_cmd_spawn(&m, argv, &cfg, NULL, NULL), 0);
	char buf[16];
	size_t n = read_to_eof(m, buf, sizeof buf);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "done\n", 5);
	int status;
	sw_slice err;
	assert_int_equal(sw_cmd_close_wait(m, &status, &err), 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	uint64_t dropped;
	assert_int_equal(sw_cmd_stderr(m, &err, &dropped), 0);
	assert_int_equal(err.n, 1000);
	assert_int_equal(dropped, 299000);
	sw_medium_del(m);
}

static void test_write_after_child_exit(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test */
	/* The child closes its stdin before it prints, so once "bye" arrived
	 * nobody reads the pipe any more.  (Waiting for stdout EOF alone would
	 * race: an exiting process releases its descriptors in no fixed order.) */
	const char *argv[] = {"sh", "-c", "exec 0<&-; echo bye", NULL};
	sw_medium *m;
	assert_int_equal(sw_cmd_spawn(&m, argv, NULL, NULL, NULL), 0);
	char buf[8];
	assert_int_equal(read_to_eof(m, buf, sizeof buf), 4);
	assert_memory_equal(buf, "bye\n", 4);
	size_t w;
	assert_int_equal(sw_medium_write_all(m, "x", 1, &w), SW_ERR_CONNECTION_RESET);
	assert_int_equal(sw_medium_errno(m), EPIPE);
	int status;
	assert_int_equal(sw_cmd_close_wait(m, &status, NULL), 0);
	assert_int_equal(WEXITSTATUS(status), 0);
	sw_medium_del(m);
}

static void check_killed(const char *script, int want_sig)
{
	const char *argv[] = {"sh", "-c", script, NULL};
	sw_cmd_config cfg = {.kill_timeout_ms = 100};
	sw_medium *m;
	assert_int_equal(sw_cmd_spawn(&m, argv, &cfg, NULL, NULL), 0);
	long pid = sw_cmd_pid(m);
	char buf[8];
	/* Wait for "ready": the shell has set up its traps. */
	size_t got = 0;
	while (got < 6) {
		ptrdiff_t n = sw_medium_read(m, buf + got, sizeof buf - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_memory_equal(buf, "ready\n", 6);
	int64_t t0 = now_ms();
	int status;
	assert_int_equal(sw_cmd_close_wait(m, &status, NULL), 0);
	int64_t el = now_ms() - t0;
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), want_sig);
	assert_true(el >= 90 && el < 5000);
	assert_reaped(pid);
	sw_medium_del(m);
}

static void test_never_exits_is_killed(void **state)
{
	(void)state;
	check_killed("echo ready; exec sleep 30", SIGTERM);
	check_killed("trap '' TERM; echo ready; exec sleep 30", SIGKILL);
}

static void test_close_without_wait(void **state)
{
	(void)state;
	/* sw_medium_del alone also ends and reaps the child. */
	const char *argv[] = {"sleep", "30", NULL};
	sw_cmd_config cfg = {.kill_timeout_ms = -1};
	sw_medium *m;
	assert_int_equal(sw_cmd_spawn(&m, argv, &cfg, NULL, NULL), 0);
	long pid = sw_cmd_pid(m);
	int64_t t0 = now_ms();
	sw_medium_del(m);
	assert_true(now_ms() - t0 < 5000);
	assert_reaped(pid);
}

static void test_spawn_failures(void **state)
{
	(void)state;
	const char *argv[] = {"/nonexistent/smartwire-no-such-program", NULL};
	sw_medium *m = NULL;
	sw_errinfo ei;
	assert_int_equal(sw_cmd_spawn(&m, argv, NULL, NULL, &ei), SW_ERR_SPAWN);
	assert_int_equal(ei.sys_errno, ENOENT);
	assert_int_equal(ei.code, SW_ERR_SPAWN);
	assert_string_equal(ei.text, "cannot run /nonexistent/smartwire-no-such-program: "
	                             "No such file or directory");
	assert_null(m);
	const char *empty[] = {NULL};
	assert_int_equal(sw_cmd_spawn(&m, empty, NULL, NULL, &ei), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_cmd_spawn(&m, NULL, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	const char *cat[] = {"cat", NULL};
	sw_failmem fm;
	sw_failmem_init(&fm, 1, false);
	assert_int_equal(sw_cmd_spawn(&m, cat, NULL, &fm.mem, NULL), SW_ERR_NOMEM);
	assert_int_equal(fm.live, 0);
	assert_int_equal(sw_cmd_close_wait(NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_cmd_pid(NULL), -1);
	assert_int_equal(sw_cmd_stderr(NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	/* Not a cmd medium. */
	sw_medium *a, *b;
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, NULL), 0);
	assert_int_equal(sw_cmd_close_wait(a, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_cmd_pid(a), -1);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void check_argv(const sw_ssh_params *p, const char *const *want)
{
	char **argv;
	assert_int_equal(sw_ssh_argv(p, NULL, &argv), 0);
	size_t i = 0;
	for (; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
	sw_free(NULL, argv);
}

static void test_ssh_argv(void **state)
{
	(void)state;
	/* Breezy 3.3.2 OpenSSHSubprocessVendor._get_vendor_specific_argv with
	 * SmartSSHClientMedium's command. */
	sw_ssh_params p = {.host = "example.com"};
	static const char *const plain[] = {
		"ssh", "-oForwardX11=no", "-oForwardAgent=no", "-oClearAllForwardings=yes",
		"-oNoHostAuthenticationForLocalhost=yes", "--", "example.com", "bzr", "serve",
		"--inet", "--directory=/", "--allow-writes", NULL};
	check_argv(&p, plain);
	sw_ssh_params q = {.ssh_program = "/usr/bin/ssh", .host = "h", .port = 2222,
	                   .user = "joe", .remote_path = "/opt/brz"};
	static const char *const full[] = {
		"/usr/bin/ssh", "-oForwardX11=no", "-oForwardAgent=no",
		"-oClearAllForwardings=yes", "-oNoHostAuthenticationForLocalhost=yes", "-p", "2222",
		"-l", "joe", "--", "h", "/opt/brz", "serve", "--inet", "--directory=/",
		"--allow-writes", NULL};
	check_argv(&q, full);
	char **argv;
	sw_ssh_params bad = {.host = "-oProxyCommand=evil"};
	assert_int_equal(sw_ssh_argv(&bad, NULL, &argv), SW_ERR_INVALID_ARGUMENT);
	sw_ssh_params none = {0};
	assert_int_equal(sw_ssh_argv(&none, NULL, &argv), SW_ERR_INVALID_ARGUMENT);
	sw_failmem fm;
	sw_failmem_init(&fm, 1, false);
	assert_int_equal(sw_ssh_argv(&q, &fm.mem, &argv), SW_ERR_NOMEM);
	assert_int_equal(fm.live, 0);
}

static void test_ssh_argv_spawns(void **state)
{
	(void)state;
	/* The argv runs: a fake "ssh" that prints its arguments. */
	sw_ssh_params p = {.ssh_program = "echo", .host = "h", .port = 7};
	char **argv;
	assert_int_equal(sw_ssh_argv(&p, NULL, &argv), 0);
	sw_medium *m;
	assert_int_equal(sw_cmd_spawn(&m, (const char *const *)argv, NULL, NULL, NULL), 0);
	sw_free(NULL, argv);
	char buf[256];
	size_t n = read_to_eof(m, buf, sizeof buf);
	buf[n] = 0;
	assert_string_equal(buf, "-oForwardX11=no -oForwardAgent=no -oClearAllForwardings=yes "
	                         "-oNoHostAuthenticationForLocalhost=yes -p 7 -- h bzr serve "
	                         "--inet --directory=/ --allow-writes\n");
	sw_medium_del(m);
}

/* Descriptors open below `limit`. */
static int open_fds(int limit)
{
	int n = 0;
	for (int fd = 0; fd < limit; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Runs in a forked child: with room for only `spare` more descriptors, a
 * spawn either works or fails with SW_ERR_IO while creating its pipes, and
 * either way every descriptor it opened is closed again.  Returns the exit
 * code for the parent: 0 when all held. */
static int spawn_with_spare_fds(int spare)
{
	int base = dup(0);
	if (base < 0)
		return 2;
	close(base);
	int limit = base + spare;
	struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 3;
	int before = open_fds(limit);
	const char *argv[] = {"true", NULL};
	sw_medium *m = NULL;
	sw_errinfo ei = {0};
	int rc = sw_cmd_spawn(&m, argv, NULL, NULL, &ei);
	if (rc == 0)
		sw_medium_del(m);
	else if (rc != SW_ERR_IO || ei.sys_errno != EMFILE)
		return 4;
	return open_fds(limit) == before ? 0 : 5;
}

/* Running out of descriptors at each pipe in turn fails cleanly. */
static void test_spawn_out_of_fds(void **state)
{
	(void)state;
	if (getenv("SW_UNDER_VALGRIND"))
		skip(); /* valgrind reserves descriptors and rewrites RLIMIT_NOFILE */
	for (int spare = 0; spare <= 10; spare++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			_exit(spawn_with_spare_fds(spare));
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		if (WEXITSTATUS(st) != 0)
			fail_msg("%d spare descriptors: check %d failed", spare, WEXITSTATUS(st));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cat_echo),
		cmocka_unit_test(test_exit_status_and_stderr),
		cmocka_unit_test(test_stderr_flood_no_deadlock),
		cmocka_unit_test(test_write_after_child_exit),
		cmocka_unit_test(test_never_exits_is_killed),
		cmocka_unit_test(test_close_without_wait),
		cmocka_unit_test(test_spawn_failures),
		cmocka_unit_test(test_spawn_out_of_fds),
		cmocka_unit_test(test_ssh_argv),
		cmocka_unit_test(test_ssh_argv_spawns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
