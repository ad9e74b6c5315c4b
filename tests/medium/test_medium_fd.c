/* Tests for the fd medium (medium_fd.c) over pipes and socketpairs: data,
 * EOF, short writes, EPIPE/ECONNRESET handling without SIGPIPE, EINTR. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "smartwire/failmem.h"

/* Two pipes joined into two fd media: a -> b over p, b -> a over q. */
static void pipe_pair(sw_medium **a, sw_medium **b, unsigned flags)
{
	int p[2], q[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	assert_int_equal(sw_fd_medium_new(a, q[0], p[1], flags, NULL), 0);
	assert_int_equal(sw_fd_medium_new(b, p[0], q[1], flags, NULL), 0);
}

static void sock_pair(sw_medium **a, sw_medium **b)
{
	int s[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	assert_int_equal(sw_fd_medium_new(a, s[0], s[0], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_fd_medium_new(b, s[1], s[1], SW_FD_OWN, NULL), 0);
}

static void exchange(sw_medium *a, sw_medium *b)
{
	char buf[32];
	assert_int_equal(sw_medium_wait_readable(b, 0), SW_ERR_TIMEOUT);
	assert_int_equal(sw_medium_wait_readable(b, 20), SW_ERR_TIMEOUT);
	assert_int_equal(sw_medium_write_all(a, "hello world", 11, NULL), 0);
	assert_int_equal(sw_medium_wait_readable(b, 1000), 1);
	ptrdiff_t n = sw_medium_read(b, buf, sizeof buf);
	assert_int_equal(n, 11);
	assert_memory_equal(buf, "hello world", 11);
	assert_int_equal(sw_medium_write(b, "ok", 2), 2);
	assert_int_equal(sw_medium_read(a, buf, sizeof buf), 2);
	/* Half-close a -> b: b reads EOF, b -> a still works. */
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	assert_int_equal(sw_medium_write(a, "x", 1), SW_ERR_CLOSED);
	assert_int_equal(sw_medium_wait_readable(b, 1000), 1);
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_errno(b), 0);
	assert_int_equal(sw_medium_write(b, "more", 4), 4);
	assert_int_equal(sw_medium_read(a, buf, sizeof buf), 4);
}

static void test_pipe_pair(void **state)
{
	(void)state;
	sw_medium *a, *b;
	pipe_pair(&a, &b, SW_FD_OWN);
	assert_string_equal(sw_medium_name(a), "fd");
	exchange(a, b);
	int rfd, wfd;
	assert_int_equal(sw_medium_fds(a, &rfd, &wfd), 0);
	assert_int_equal(wfd, -1); /* closed by shutdown_write */
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_socketpair(void **state)
{
	(void)state;
	sw_medium *a, *b;
	sock_pair(&a, &b);
	exchange(a, b);
	int rfd, wfd;
	assert_int_equal(sw_medium_fds(a, &rfd, &wfd), 0);
	assert_int_equal(rfd, wfd); /* sockets are half-closed, not closed */
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_not_owned(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	sw_medium *m;
	assert_int_equal(sw_fd_medium_new(&m, p[0], p[1], 0, NULL), 0);
	sw_medium_del(m);
	assert_true(fcntl(p[0], F_GETFD) >= 0);
	assert_true(fcntl(p[1], F_GETFD) >= 0);
	/* Without SW_FD_OWN, shutdown_write still closes a pipe's write end. */
	assert_int_equal(sw_fd_medium_new(&m, p[0], p[1], 0, NULL), 0);
	assert_int_equal(sw_medium_shutdown_write(m), 0);
	char c;
	assert_int_equal(sw_medium_read(m, &c, 1), 0);
	sw_medium_del(m);
	assert_true(fcntl(p[0], F_GETFD) >= 0);
	close(p[0]);
}

static void test_epipe_no_signal(void **state)
{
	(void)state;
	/* SIGPIPE at its default disposition would kill the test. */
	signal(SIGPIPE, SIG_DFL);
	sw_medium *a, *b;
	pipe_pair(&a, &b, SW_FD_OWN);
	sw_medium_del(b);
	assert_int_equal(sw_medium_write(a, "x", 1), SW_ERR_CONNECTION_RESET);
	assert_int_equal(sw_medium_errno(a), EPIPE);
	size_t w = 7;
	assert_int_equal(sw_medium_write_all(a, "xyz", 3, &w), SW_ERR_CONNECTION_RESET);
	assert_int_equal(w, 0);
	/* No SIGPIPE was left pending either. */
	sigset_t pending;
	sigemptyset(&pending);
	assert_int_equal(sigpending(&pending), 0);
	assert_false(sigismember(&pending, SIGPIPE));
	sw_medium_del(a);

	sock_pair(&a, &b);
	sw_medium_del(b);
	assert_int_equal(sw_medium_write(a, "x", 1), SW_ERR_CONNECTION_RESET);
	assert_int_equal(sw_medium_errno(a), EPIPE);
	/* The clean end of stream that follows says so: errno 0 again. */
	char buf[4];
	assert_int_equal(sw_medium_read(a, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_errno(a), 0);
	sw_medium_del(a);
}

static void test_econnreset_read_is_eof(void **state)
{
	(void)state;
	/* An AF_UNIX stream socket closed with unread data resets its peer. */
	sw_medium *a, *b;
	sock_pair(&a, &b);
	assert_int_equal(sw_medium_write(a, "unread", 6), 6);
	sw_medium_del(b);
	char buf[8];
	assert_int_equal(sw_medium_read(a, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_errno(a), ECONNRESET);
	sw_medium_del(a);
}

static void test_short_writes_nonblocking(void **state)
{
	(void)state;
	int s[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, s), 0);
	int small = 4096;
	assert_int_equal(setsockopt(s[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
	assert_int_equal(fcntl(s[0], F_SETFL, fcntl(s[0], F_GETFL) | O_NONBLOCK), 0);
	assert_int_equal(fcntl(s[1], F_SETFL, fcntl(s[1], F_GETFL) | O_NONBLOCK), 0);
	sw_medium *a, *b;
	assert_int_equal(sw_fd_medium_new(&a, s[0], s[0], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_fd_medium_new(&b, s[1], s[1], SW_FD_OWN, NULL), 0);
	static uint8_t big[1 << 20], got[1 << 20];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i % 251);
	char c;
	assert_int_equal(sw_medium_read(b, &c, 1), SW_ERR_WOULD_BLOCK);
	ptrdiff_t n = sw_medium_write(a, big, sizeof big);
	assert_true(n > 0 && (size_t)n < sizeof big); /* a short write */
	size_t w = (size_t)n, r = 0;
	size_t wrote_more;
	assert_int_equal(sw_medium_write_all(a, big + w, sizeof big - w, &wrote_more),
	                 SW_ERR_WOULD_BLOCK);
	w += wrote_more;
	/* Drain and refill until everything went through. */
	while (r < sizeof big) {
		n = sw_medium_read(b, got + r, sizeof got - r);
		if (n == SW_ERR_WOULD_BLOCK) {
			assert_true(w < sizeof big);
		} else {
			assert_true(n > 0);
			r += (size_t)n;
		}
		if (w < sizeof big) {
			n = sw_medium_write(a, big + w, sizeof big - w);
			assert_true(n > 0 || n == SW_ERR_WOULD_BLOCK);
			if (n > 0)
				w += (size_t)n;
		}
	}
	assert_memory_equal(big, got, sizeof big);
	sw_medium_del(a);
	sw_medium_del(b);
}

/* ---- EINTR ------------------------------------------------------------ */

/* Lock-free atomics: safe in a signal handler and between threads. */
static atomic_int usr1_count;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&usr1_count, 1);
}

typedef struct reader_arg {
	sw_medium *m;
	atomic_int tid;
	ptrdiff_t result;
	char buf[8];
} reader_arg;

static void *reader(void *p)
{
	reader_arg *ra = p;
	atomic_store(&ra->tid, (int)syscall(SYS_gettid));
	ra->result = sw_medium_read(ra->m, ra->buf, sizeof ra->buf);
	return NULL;
}

/* The scheduler state letter of a thread of this process ('S' = sleeping). */
static char thread_state(pid_t tid)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return '?';
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = 0;
	char *paren = strrchr(line, ')');
	return paren && paren[1] == ' ' ? paren[2] : '?';
}

static void test_eintr_retried(void **state)
{
	(void)state;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0; /* no SA_RESTART: a blocked read() fails with EINTR */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	atomic_store(&usr1_count, 0);

	sw_medium *a, *b;
	pipe_pair(&a, &b, SW_FD_OWN);
	reader_arg ra = {.m = b};
	atomic_init(&ra.tid, 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reader, &ra), 0);
	/* Bounded waits: until the reader sleeps (inside read), then signal it
	 * and wait for the handler, three times. */
	for (int i = 0; i < 3; i++) {
		int spins = 0;
		struct timespec ms = {0, 1000000};
		while ((atomic_load(&ra.tid) == 0 || thread_state(atomic_load(&ra.tid)) != 'S') &&
		       spins++ < 5000)
			nanosleep(&ms, NULL);
		assert_true(spins < 5000);
		int before = atomic_load(&usr1_count);
		assert_int_equal(pthread_kill(t, SIGUSR1), 0);
		spins = 0;
		while (atomic_load(&usr1_count) == before && spins++ < 5000)
			nanosleep(&ms, NULL);
		assert_true(atomic_load(&usr1_count) > before);
	}
	assert_int_equal(sw_medium_write(a, "late", 4), 4);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(ra.result, 4);
	assert_memory_equal(ra.buf, "late", 4);
	assert_int_equal(atomic_load(&usr1_count), 3);
	assert_int_equal(sigaction(SIGUSR1, &old, NULL), 0);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_invalid_and_failmem(void **state)
{
	(void)state;
	sw_medium *m = NULL;
	assert_int_equal(sw_fd_medium_new(&m, -1, 1, 0, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fd_medium_new(&m, 0, -1, 0, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fd_medium_new(NULL, 0, 1, 0, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_null(m);
	assert_int_equal(sw_medium_fds(NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_failmem fm;
	sw_failmem_init(&fm, 1, false);
	assert_int_equal(sw_fd_medium_new(&m, 0, 1, 0, &fm.mem), SW_ERR_NOMEM);
	assert_int_equal(fm.live, 0);
	sw_failmem_init(&fm, 0, false);
	assert_int_equal(sw_fd_medium_new(&m, 0, 1, 0, &fm.mem), 0);
	assert_int_equal(fm.live, 1);
	assert_int_equal(sw_medium_read(m, NULL, 1), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_medium_write(m, NULL, 1), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_medium_write_all(m, NULL, 1, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_medium_del(m); /* not owned: 0 and 1 stay open */
	assert_int_equal(fm.live, 0);
	assert_true(fcntl(1, F_GETFD) >= 0);
	/* A bad descriptor gives SW_ERR_IO with errno. */
	int p[2];
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	close(p[1]);
	assert_int_equal(sw_fd_medium_new(&m, p[0], p[1], 0, NULL), 0);
	char c;
	assert_int_equal(sw_medium_read(m, &c, 1), SW_ERR_IO);
	assert_int_equal(sw_medium_errno(m), EBADF);
	assert_int_equal(sw_medium_write(m, "x", 1), SW_ERR_IO);
	assert_int_equal(sw_medium_wait_readable(m, 0), SW_ERR_IO);
	sw_medium_del(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipe_pair),
		cmocka_unit_test(test_socketpair),
		cmocka_unit_test(test_not_owned),
		cmocka_unit_test(test_epipe_no_signal),
		cmocka_unit_test(test_econnreset_read_is_eof),
		cmocka_unit_test(test_short_writes_nonblocking),
		cmocka_unit_test(test_eintr_retried),
		cmocka_unit_test(test_invalid_and_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
