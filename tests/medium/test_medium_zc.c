/* Tests for the media's zero-copy operations (smartwire/medium.h,
 * sw_medium_sendfile and sw_medium_splice_in): the fd medium over pipes
 * and socketpairs, with files (memfds) on the other side, and the fault
 * wrapper's plans applied to both calls.  Every outcome of the contract:
 * bytes moved, a file that ends early, a medium that is full or gone, a
 * pair the kernel refuses (copy instead), a sink that fails, end of
 * stream; and no SIGPIPE. */
#define _GNU_SOURCE 1 /* memfd_create, F_SETPIPE_SZ */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/fault.h"
#include "smartwire/medium.h"

#define N 100000

static uint8_t data[N];

/* A memfd holding data[0..n). */
static int file_of(size_t n)
{
	int fd = memfd_create("zc-src", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	return fd;
}

/* Reads everything fd has now (non-blocking) into buf; returns the count. */
static size_t slurp(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	for (;;) {
		ssize_t k = read(fd, buf + got, cap - got);
		if (k <= 0)
			return got;
		got += (size_t)k;
	}
}

static int setup(void **state)
{
	(void)state;
	for (size_t i = 0; i < N; i++)
		data[i] = (uint8_t)(i * 7 + (i >> 8));
	signal(SIGPIPE, SIG_DFL); /* a raised SIGPIPE kills the test */
	return 0;
}

static void test_capabilities(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	sw_medium *m, *f;
	assert_int_equal(sw_fd_medium_new(&m, p[0], p[1], SW_FD_OWN, NULL), 0);
	assert_int_equal(sw_medium_zero_copy(m), SW_MEDIUM_SENDFILE | SW_MEDIUM_SPLICE_IN);
	assert_int_equal(sw_fault_wrap(&f, m, NULL, NULL), 0);
	assert_int_equal(sw_medium_zero_copy(f), SW_MEDIUM_SENDFILE | SW_MEDIUM_SPLICE_IN);
	sw_medium_del(f);
	sw_medium *a, *b;
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, NULL), 0);
	assert_int_equal(sw_medium_zero_copy(a), 0);
	assert_int_equal(sw_fault_wrap(&f, a, NULL, NULL), 0);
	assert_int_equal(sw_medium_zero_copy(f), 0);
	int e;
	assert_int_equal(sw_medium_sendfile(f, 0, 0, 1, &e), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_medium_splice_in(f, 0, 1, &e), SW_ERR_INVALID_ARGUMENT);
	sw_medium_del(f);
	sw_medium_del(b);
	assert_int_equal(sw_medium_zero_copy(NULL), 0);
	assert_int_equal(sw_medium_sendfile(NULL, 0, 0, 1, &e), SW_ERR_INVALID_ARGUMENT);
}

/* sendfile into a pipe and a socket: from an offset, short files, refusals,
 * a full medium, a peer gone. */
static void test_sendfile(void **state)
{
	(void)state;
	static uint8_t got[2 * N];
	for (int sock = 0; sock <= 1; sock++) {
		int w[2];
		if (sock)
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, w), 0);
		else
			assert_int_equal(pipe(w), 0);
		int rd = sock ? w[0] : w[0], wr = sock ? w[1] : w[1];
		sw_medium *m;
		assert_int_equal(sw_fd_medium_new(&m, rd, wr, 0, NULL), 0);
		int src = file_of(N);
		int e = -1;
		ptrdiff_t n = sw_medium_sendfile(m, src, 1000, 500, &e);
		assert_int_equal(n, 500);
		assert_int_equal(e, 0);
		assert_int_equal(slurp(rd, got, sizeof got), 500);
		assert_memory_equal(got, data + 1000, 500);
		/* The file ends before off + len: what it has, then 0 + EIO. */
		n = sw_medium_sendfile(m, src, N - 10, 100, &e);
		assert_int_equal(n, 10);
		n = sw_medium_sendfile(m, src, N, 100, &e);
		assert_int_equal(n, 0);
		assert_int_equal(e, EIO);
		assert_int_equal(slurp(rd, got, sizeof got), 10);
		/* A directory cannot be sent: copy instead. */
		int dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_int_equal(sw_medium_sendfile(m, dir, 0, 10, &e), SW_ERR_INVALID_ARGUMENT);
		close(dir);
		/* Full (non-blocking): a short write, then WOULD_BLOCK. */
		fcntl(wr, F_SETFL, fcntl(wr, F_GETFL) | O_NONBLOCK);
		size_t sent = 0;
		for (int i = 0; i < 1000; i++) {
			n = sw_medium_sendfile(m, src, 0, N, &e);
			if (n == SW_ERR_WOULD_BLOCK)
				break;
			assert_true(n > 0);
			sent += (size_t)n;
		}
		assert_int_equal(n, SW_ERR_WOULD_BLOCK);
		assert_true(sent > 0);
		/* The peer gone: a reset, and no SIGPIPE. */
		close(rd);
		n = sw_medium_sendfile(m, src, 0, 10, &e);
		assert_int_equal(n, SW_ERR_CONNECTION_RESET);
		assert_int_equal(sw_medium_errno(m), EPIPE);
		close(src);
		sw_medium_del(m);
		close(wr);
	}
}

/* splice_in from a pipe (straight) and a socket (through the medium's own
 * pipe) into a file: everything lands in order; end of stream; a sink that
 * fails; a sink opened O_APPEND. */
static void test_splice_in(void **state)
{
	(void)state;
	static uint8_t got[N];
	for (int sock = 0; sock <= 1; sock++) {
		for (int append = 0; append <= 1; append++) {
			int w[2];
			if (sock)
				assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, w), 0);
			else
				assert_int_equal(pipe(w), 0);
			int rd = w[0], wr = w[1];
			if (!sock)
				fcntl(wr, F_SETPIPE_SZ, 1 << 20);
			else {
				int sz = 4 << 20;
				setsockopt(wr, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz);
				setsockopt(rd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
			}
			size_t len = 60000;
			assert_int_equal(write(wr, data, len), (ssize_t)len);
			sw_medium *m;
			assert_int_equal(sw_fd_medium_new(&m, rd, rd, 0, NULL), 0);
			int sink = memfd_create("zc-sink", MFD_CLOEXEC);
			if (append) {
				char p[64];
				snprintf(p, sizeof p, "/proc/self/fd/%d", sink);
				int a = open(p, O_RDWR | O_APPEND | O_CLOEXEC);
				close(sink);
				sink = a;
			}
			size_t moved = 0;
			int e = -1;
			while (moved < len) {
				ptrdiff_t n = sw_medium_splice_in(m, sink, len - moved, &e);
				if (n == SW_ERR_INVALID_ARGUMENT) {
					/* Only a pipe into an O_APPEND sink: nothing taken. */
					assert_true(append && !sock);
					break;
				}
				assert_true(n > 0);
				assert_int_equal(e, 0);
				moved += (size_t)n;
			}
			if (append && !sock) {
				assert_int_equal(moved, 0);
			} else {
				assert_int_equal(moved, len);
				assert_int_equal(pread(sink, got, sizeof got, 0), (ssize_t)len);
				assert_memory_equal(got, data, len);
				/* End of stream. */
				if (sock)
					shutdown(wr, SHUT_WR);
				else
					close(wr);
				assert_int_equal(sw_medium_splice_in(m, sink, 100, &e), 0);
				assert_int_equal(e, 0);
			}
			close(sink);
			sw_medium_del(m);
			close(rd);
			if (sock || (append && !sock))
				close(wr);
		}
	}
	/* A sink that cannot grow: the bytes taken, its errno given. */
	for (int sock = 0; sock <= 1; sock++) {
		int w[2];
		if (sock)
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, w), 0);
		else
			assert_int_equal(pipe(w), 0);
		assert_int_equal(write(w[1], data, 1000), 1000);
		sw_medium *m;
		assert_int_equal(sw_fd_medium_new(&m, w[0], w[0], 0, NULL), 0);
		int sink = memfd_create("zc-full", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		assert_int_equal(ftruncate(sink, 0), 0);
		assert_int_equal(fcntl(sink, F_ADD_SEALS, F_SEAL_GROW), 0);
		int e = 0;
		ptrdiff_t n = sw_medium_splice_in(m, sink, 1000, &e);
		assert_int_equal(e, EPERM);
		/* The socket path took the bytes into its pipe and lost them;
		 * a pipe is left as it was. */
		assert_int_equal(n, sock ? 1000 : 0);
		/* The medium's pipe is empty again: what follows arrives. */
		assert_int_equal(write(w[1], data, 10), 10);
		int ok = memfd_create("zc-ok", MFD_CLOEXEC);
		n = sw_medium_splice_in(m, ok, sock ? 10 : 1010, &e);
		assert_int_equal(e, 0);
		assert_int_equal(n, sock ? 10 : 1010);
		close(ok);
		close(sink);
		sw_medium_del(m);
		close(w[0]);
		close(w[1]);
	}
}

/* The fault wrapper's plans apply: sendfile in the write role (sizes,
 * error@N, EAGAIN bursts), splice_in in the read role (sizes, eof@N,
 * error@N); the two calls and read/write share the offsets. */
static void test_fault_plans(void **state)
{
	(void)state;
	static uint8_t got[N];
	int w[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, w), 0);
	int sz = 4 << 20;
	setsockopt(w[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz);
	setsockopt(w[1], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz);
	sw_medium *m, *f;
	assert_int_equal(sw_fd_medium_new(&m, w[0], w[0], 0, NULL), 0);
	sw_fault_plan rp, wp;
	assert_int_equal(sw_fault_plan_parse("read=7;eof@50", &rp, NULL), 0);
	assert_int_equal(sw_fault_plan_parse("write=100;eagain=1/4;error@1000:EPIPE", &wp, NULL),
	                 0);
	assert_int_equal(sw_fault_wrap(&f, m, &rp, &wp), 0);
	int src = file_of(N), e;
	size_t sent = 0;
	ptrdiff_t n;
	int blocked = 0;
	while ((n = sw_medium_sendfile(f, src, sent, N, &e)) != SW_ERR_CONNECTION_RESET) {
		if (n == SW_ERR_WOULD_BLOCK) {
			blocked++;
			continue;
		}
		assert_true(n > 0 && n <= 100);
		sent += (size_t)n;
		if (sent == 900) { /* a write in the middle counts in the same role */
			while ((n = sw_medium_write(f, data + 900, 100)) == SW_ERR_WOULD_BLOCK)
				blocked++;
			assert_int_equal(n, 100);
			sent += 100;
		}
	}
	assert_int_equal(sent, 1000);
	assert_true(blocked > 0);
	assert_int_equal(sw_medium_errno(f), EPIPE);
	assert_int_equal(slurp(w[1], got, sizeof got), 1000);
	assert_memory_equal(got, data, 1000);
	/* Reads: 7 at a time, end of stream at 50. */
	assert_int_equal(write(w[1], data, 200), 200);
	int sink = memfd_create("zc-sink", MFD_CLOEXEC);
	size_t moved = 0;
	while ((n = sw_medium_splice_in(f, sink, 1000, &e)) > 0) {
		assert_true(n <= 7);
		moved += (size_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(e, 0);
	assert_int_equal(moved, 50);
	assert_int_equal(pread(sink, got, 50, 0), 50);
	assert_memory_equal(got, data, 50);
	close(sink);
	close(src);
	sw_medium_del(f);
	close(w[0]);
	close(w[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capabilities),
	    cmocka_unit_test(test_sendfile),
	    cmocka_unit_test(test_splice_in),
	    cmocka_unit_test(test_fault_plans),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
