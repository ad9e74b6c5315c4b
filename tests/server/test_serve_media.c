/*
 * sw_serve_medium (the daemon's worker loop and connection driver) over
 * real media, polled with epoll: a socketpair and a pair of pipes, with the
 * server in a thread and the client in the test, request by request (no
 * EOF between them, so answers must come without more input); the idle
 * timeout with a short value (bounded); the request deadline; a large body.
 * Expected answers are Breezy's (tests/vectors/server_vectors.inc).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/server_drive.h"
#include "smartwire/clock.h"
#include "smartwire/v3.h"

#include "support/server_vectors.h"

typedef struct server {
	pthread_t th;
	sw_medium *m;
	fake f;
	sw_srv_config cfg;
	sw_serve_result res;
	int rv;
	char log[160];
} server;

static void logger(void *ud, const char *msg)
{
	server *s = ud;
	snprintf(s->log, sizeof s->log, "%s", msg);
}

static void *serve_main(void *arg)
{
	server *s = arg;
	sw_dispatch d = fake_dispatch();
	s->rv = sw_serve_medium(&s->cfg, &d, &s->f, s->m, &s->res, NULL);
	sw_medium_del(s->m); /* how the client learns the end */
	s->m = NULL;
	return NULL;
}

static void start(server *s, int rfd, int wfd, const sw_srv_config *cfg)
{
	memset(s, 0, sizeof *s);
	if (cfg)
		s->cfg = *cfg;
	s->cfg.log = logger;
	s->cfg.log_ud = s;
	fake_init(&s->f, NULL);
	assert_int_equal(sw_fd_medium_new(&s->m, rfd, wfd, SW_FD_OWN, NULL), 0);
	assert_int_equal(pthread_create(&s->th, NULL, serve_main, s), 0);
}

static void finish(server *s)
{
	pthread_join(s->th, NULL);
	assert_int_equal(s->f.live, 0);
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

/* Reads exactly n bytes and compares them. */
static void expect_read(int fd, const void *want, size_t n)
{
	uint8_t buf[4096];
	size_t got = 0;
	while (got < n) {
		size_t k = n - got < sizeof buf ? n - got : sizeof buf;
		ssize_t r = read(fd, buf, k);
		if (r < 0 && errno == EINTR)
			continue;
		assert_true(r > 0);
		assert_memory_equal(buf, (const uint8_t *)want + got, (size_t)r);
		got += (size_t)r;
	}
}

static void expect_eof(int fd)
{
	uint8_t b;
	ssize_t r;
	do
		r = read(fd, &b, 1);
	while (r < 0 && errno == EINTR);
	assert_int_equal(r, 0);
}

/* Request by request, as a real client: each answer arrives before the next
 * request is sent and without closing. */
static void converse(int to_srv, int from_srv)
{
	static const char *names[] = {"v3 hello", "v1 get", "v2 readv", "v3 get",
	                              "v3 unknown", "v3 readv", "v1 hello pipelined",
	                              "v3 hello pipelined x3", "mixed v2 v1 v3",
	                              "v3 readv bad status byte"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const struct srv_vec *v = find_vec(names[i]);
		write_all(to_srv, v->req, v->req_len);
		expect_read(from_srv, v->resp, v->resp_len);
	}
}

static void test_socketpair(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	server s;
	start(&s, sv[1], sv[1], NULL);
	converse(sv[0], sv[0]);
	shutdown(sv[0], SHUT_WR);
	expect_eof(sv[0]);
	finish(&s);
	assert_int_equal(s.rv, SW_SERVE_EOF);
	assert_int_equal(s.res.end, SW_SERVE_EOF);
	assert_int_equal(s.res.requests, 16);
	close(sv[0]);
}

static void test_pipes(void **state)
{
	(void)state;
	for (int exact = 0; exact <= 1; exact++) {
		int in[2], out[2];
		assert_int_equal(pipe(in), 0);
		assert_int_equal(pipe(out), 0);
		sw_srv_config cfg;
		memset(&cfg, 0, sizeof cfg);
		cfg.pipe_exact = exact;
		server s;
		start(&s, in[0], out[1], &cfg);
		converse(in[1], out[0]);
		close(in[1]);
		expect_eof(out[0]);
		finish(&s);
		assert_int_equal(s.res.end, SW_SERVE_EOF);
		assert_int_equal(s.res.requests, 16);
		close(out[0]);
	}
}

static double now(void)
{
	return (double)sw_clock_ms() / 1e3;
}

static void test_idle_timeout(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	sw_srv_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.idle_timeout_ms = 200;
	server s;
	double t0 = now();
	start(&s, in[0], out[1], &cfg);
	const struct srv_vec *v = find_vec("v1 hello");
	write_all(in[1], v->req, v->req_len);
	expect_read(out[0], v->resp, v->resp_len);
	expect_eof(out[0]); /* stdin kept open: the server closes at the timeout */
	double dt = now() - t0;
	finish(&s);
	assert_int_equal(s.res.end, SW_SERVE_TIMEOUT);
	assert_string_equal(s.log, "Connection Timeout: disconnecting client after 0.2 seconds");
	assert_true(dt >= 0.19 && dt < 5.0);
	close(in[1]);
	close(out[0]);
}

static void test_request_deadline(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	sw_srv_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.request_timeout_ms = 200;
	cfg.idle_timeout_ms = 10000;
	server s;
	start(&s, sv[1], sv[1], &cfg);
	static const char part[] = "readv\x01/readvfile\n7\n3,";
	write_all(sv[0], part, sizeof part - 1);
	double t0 = now();
	expect_eof(sv[0]); /* nothing answered */
	double dt = now() - t0;
	finish(&s);
	assert_int_equal(s.res.end, SW_SERVE_DEADLINE);
	assert_int_equal(s.f.aborts, 1);
	assert_true(dt < 5.0);
	close(sv[0]);
}

/* A large body streams through a socket with a bounded queue. */
static void test_big_body(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	server s;
	start(&s, sv[1], sv[1], NULL);
	const size_t big = 16u << 20;
	sw_slice a[2] = {fake_sl("big"), fake_sl("16777216")};
	sw_buf req;
	sw_buf_init(&req, NULL);
	assert_int_equal(sw_v3_encode_request(&req, NULL, 0, a, 2, NULL), 0);
	write_all(sv[0], req.data, req.len);
	/* head: marker, headers, oS, s(("ok",)), b + u32be(len) */
	const struct srv_vec *hello = find_vec("v3 hello");
	size_t head = 56 + 2 + 5 + 6 + 5;
	uint8_t *buf = malloc(head + big + 1);
	size_t got = 0;
	while (got < head + big + 1) {
		ssize_t r = read(sv[0], buf + got, head + big + 1 - got);
		assert_true(r > 0);
		got += (size_t)r;
	}
	assert_memory_equal(buf, hello->resp, 56);
	for (size_t i = 0; i < big; i += 4099)
		assert_int_equal(buf[head + i], (uint8_t)(i * 7));
	assert_int_equal(buf[head + big], 'e');
	free(buf);
	write_all(sv[0], hello->req, hello->req_len);
	expect_read(sv[0], hello->resp, hello->resp_len);
	shutdown(sv[0], SHUT_WR);
	expect_eof(sv[0]);
	finish(&s);
	assert_int_equal(s.res.requests, 2);
	assert_int_equal(s.f.body_bytes_out, big);
	sw_buf_fini(&req);
	close(sv[0]);
}

/* The client goes away while a large answer is being written. */
static void test_peer_gone(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	server s;
	start(&s, sv[1], sv[1], NULL);
	static const char req[] = "get\x01/testfile\nbig\x01" "67108864\n";
	write_all(sv[0], req, sizeof req - 1);
	uint8_t buf[1024];
	assert_true(read(sv[0], buf, sizeof buf) > 0);
	close(sv[0]);
	finish(&s);
	assert_int_equal(s.res.end, SW_SERVE_IO);
	assert_int_equal(s.f.live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socketpair),
		cmocka_unit_test(test_pipes),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_request_deadline),
		cmocka_unit_test(test_big_body),
		cmocka_unit_test(test_peer_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
