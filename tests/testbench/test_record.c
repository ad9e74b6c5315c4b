/* Tests for the recording proxy (testbench/record/) with a TCP upstream: a
 * client and an upstream server driven from this one thread on 127.0.0.1
 * sockets, the recorder stepped in between.  Every wait is bounded by a
 * deadline; the recordings are compared byte for byte with what was sent.
 * The command upstream, the arguments and allocation failures are tested in
 * test_record_cmd.c. */
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

/* ---- fixtures ---------------------------------------------------------- */

struct fixture {
	char dir[256];
	int up_lfd; /* the test's upstream server */
	uint16_t up_port, port;
	sw_recorder *r;
};

static void fixture_start(struct fixture *fx, unsigned max, size_t bufsize)
{
	sw_errinfo err = {0};
	make_outdir(fx->dir, sizeof fx->dir);
	assert_int_equal(sw_tcp_listen(&fx->up_lfd, &fx->up_port, "127.0.0.1", 0, 8, &err), 0);
	sw_record_config cfg = {.out_dir = fx->dir, .upstream_host = "127.0.0.1",
	                        .upstream_port = fx->up_port, .max_connections = max,
	                        .buffer_size = bufsize, .connect_timeout_ms = 2000};
	assert_int_equal(sw_recorder_new(&fx->r, &cfg, NULL), 0);
	assert_int_equal(sw_recorder_listen(fx->r, "127.0.0.1", 0, &fx->port, &err), 0);
	assert_true(fx->port != 0);
}

static void fixture_stop(struct fixture *fx)
{
	sw_recorder_del(fx->r);
	if (fx->up_lfd >= 0)
		close(fx->up_lfd);
	rmtree(fx->dir);
}

/* Connects a client through the proxy and accepts its upstream. */
static void connect_pair(struct fixture *fx, struct peer *client, struct peer *server)
{
	sw_errinfo err = {0};
	sw_medium *c, *s;
	unsigned before = sw_recorder_connections(fx->r);
	assert_int_equal(sw_tcp_connect(&c, "127.0.0.1", fx->port, 2000, NULL, &err), 0);
	peer_init(client, c);
	int64_t end = sw_clock_ms() + DEADLINE_MS;
	while (sw_recorder_connections(fx->r) == before) {
		assert_true(sw_clock_ms() < end);
		assert_int_equal(sw_recorder_step(fx->r, 5), 0);
	}
	assert_int_equal(sw_tcp_accept(&s, fx->up_lfd, 2000, NULL), 0);
	peer_init(server, s);
}

/* ---- tests ------------------------------------------------------------- */

/* Every byte value both ways, in several chunks, recorded exactly. */
static void test_echo_exact(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, 0, 0);
	struct peer c, s;
	connect_pair(&fx, &c, &s);

	uint8_t req[1024], resp[3000];
	for (size_t i = 0; i < sizeof req; i++)
		req[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof resp; i++)
		resp[i] = (uint8_t)(255 - i);
	struct peer *both[] = {&c, &s};

	peer_send(&c, req, 100, false);
	struct recv_want w = {&s, 100, false};
	drive(fx.r, both, 2, received, &w);
	peer_send(&s, resp, sizeof resp, false);
	w = (struct recv_want){&c, sizeof resp, false};
	drive(fx.r, both, 2, received, &w);
	peer_send(&c, req + 100, sizeof req - 100, true);
	w = (struct recv_want){&s, sizeof req, true};
	drive(fx.r, both, 2, received, &w);
	peer_send(&s, NULL, 0, true);
	w = (struct recv_want){&c, sizeof resp, true};
	drive(fx.r, both, 2, received, &w);
	drive(fx.r, both, 2, open_is_zero, fx.r);

	assert_int_equal(s.in_len, sizeof req);
	assert_memory_equal(s.in, req, sizeof req);
	assert_int_equal(c.in_len, sizeof resp);
	assert_memory_equal(c.in, resp, sizeof resp);
	assert_file(fx.dir, 1, "c2s", req, sizeof req);
	assert_file(fx.dir, 1, "s2c", resp, sizeof resp);
	assert_log_has(fx.dir, 1, "c2s offset=0 len=100\n");
	assert_log_has(fx.dir, 1, "close clean c2s=1024 s2c=3000");
	assert_int_equal(sw_recorder_connections(fx.r), 1);
	assert_int_equal(sw_recorder_failed(fx.r), 0);
	assert_false(sw_recorder_done(fx.r)); /* still listening */
	peer_free(&c);
	peer_free(&s);
	fixture_stop(&fx);
}

/* Half-close in each order: the side that did not shut down can still send,
 * and its bytes arrive (and are recorded) after the other side's EOF. */
static void half_close(bool client_first)
{
	struct fixture fx;
	fixture_start(&fx, 0, 0);
	struct peer c, s;
	connect_pair(&fx, &c, &s);
	struct peer *both[] = {&c, &s};
	struct peer *first = client_first ? &c : &s, *second = client_first ? &s : &c;

	peer_send(first, "first", 5, true);
	struct recv_want w = {second, 5, true};
	drive(fx.r, both, 2, received, &w); /* EOF propagated */
	assert_false(first->eof);
	assert_int_equal(sw_recorder_open(fx.r), 1);
	peer_send(second, "after the other side's eof", 26, false);
	w = (struct recv_want){first, 26, false};
	drive(fx.r, both, 2, received, &w);
	assert_false(first->eof);
	peer_send(second, NULL, 0, true);
	w = (struct recv_want){first, 26, true};
	drive(fx.r, both, 2, received, &w);
	drive(fx.r, both, 2, open_is_zero, fx.r);

	assert_memory_equal(second->in, "first", 5);
	assert_memory_equal(first->in, "after the other side's eof", 26);
	const char *c2s = client_first ? "first" : "after the other side's eof";
	const char *s2c = client_first ? "after the other side's eof" : "first";
	assert_file(fx.dir, 1, "c2s", c2s, strlen(c2s));
	assert_file(fx.dir, 1, "s2c", s2c, strlen(s2c));
	assert_log_has(fx.dir, 1, client_first ? "c2s eof" : "s2c eof");
	assert_log_has(fx.dir, 1, client_first ? "c2s shutdown" : "s2c shutdown");
	assert_log_has(fx.dir, 1, "close clean");
	peer_free(&c);
	peer_free(&s);
	fixture_stop(&fx);
}

static void test_half_close_client_first(void **state)
{
	(void)state;
	half_close(true);
}

static void test_half_close_server_first(void **state)
{
	(void)state;
	half_close(false);
}

/* A 16-byte buffer per direction and 200 KB each way at once: the proxy
 * applies back-pressure instead of buffering, and nothing is lost. */
static void test_bounded_buffer(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, 0, 16);
	struct peer c, s;
	connect_pair(&fx, &c, &s);
	struct peer *both[] = {&c, &s};
	size_t len = 200 * 1024;
	uint8_t *a = malloc(len), *b = malloc(len);
	assert_non_null(a);
	assert_non_null(b);
	for (size_t i = 0; i < len; i++) {
		a[i] = (uint8_t)(i % 251);
		b[i] = (uint8_t)(i % 241);
	}
	peer_send(&c, a, len, true);
	peer_send(&s, b, len, true);
	drive(fx.r, both, 2, open_is_zero, fx.r);
	assert_true(c.eof && s.eof);
	assert_int_equal(s.in_len, len);
	assert_memory_equal(s.in, a, len);
	assert_int_equal(c.in_len, len);
	assert_memory_equal(c.in, b, len);
	assert_file(fx.dir, 1, "c2s", a, len);
	assert_file(fx.dir, 1, "s2c", b, len);
	free(a);
	free(b);
	peer_free(&c);
	peer_free(&s);
	fixture_stop(&fx);
}

/* Nothing listens upstream: the client sees the connection close at once
 * and the log says why. */
static void test_upstream_refused(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, 0, 0);
	close(fx.up_lfd); /* now nothing listens on up_port */
	fx.up_lfd = -1;
	sw_errinfo err = {0};
	sw_medium *m;
	assert_int_equal(sw_tcp_connect(&m, "127.0.0.1", fx.port, 2000, NULL, &err), 0);
	struct peer c;
	peer_init(&c, m);
	struct peer *one[] = {&c};
	peer_send(&c, "hello\n", 6, false);
	struct recv_want w = {&c, 0, true};
	drive(fx.r, one, 1, received, &w);
	assert_int_equal(c.in_len, 0);
	assert_int_equal(sw_recorder_connections(fx.r), 1);
	assert_int_equal(sw_recorder_open(fx.r), 0);
	assert_int_equal(sw_recorder_upstream_failures(fx.r), 1);
	assert_int_equal(sw_recorder_failed(fx.r), 1);
	char want[128];
	snprintf(want, sizeof want,
	         "upstream-error failed to connect to 127.0.0.1:%u: Connection refused", fx.up_port);
	assert_log_has(fx.dir, 1, want);
	assert_log_has(fx.dir, 1, "close error c2s=0 s2c=0");
	assert_file(fx.dir, 1, "c2s", "", 0);
	assert_file(fx.dir, 1, "s2c", "", 0);
	peer_free(&c);
	fixture_stop(&fx);
}

struct all_eof {
	struct peer *p;
	size_t n;
};

static bool all_eof(void *ud)
{
	struct all_eof *a = ud;
	for (size_t i = 0; i < a->n; i++)
		if (!a->p[i].eof)
			return false;
	return true;
}

/* Three connections open at once are numbered in accept order, each
 * recorded apart; with max_connections=3 the recorder stops listening and
 * is done once they have ended. */
static void test_multiple_connections(void **state)
{
	(void)state;
	struct fixture fx;
	fixture_start(&fx, 3, 0);
	struct peer c[3], s[3];
	char msg[3][32], reply[3][32];
	for (int i = 0; i < 3; i++)
		connect_pair(&fx, &c[i], &s[i]);
	assert_int_equal(sw_recorder_open(fx.r), 3);
	struct peer *all[] = {&c[0], &c[1], &c[2], &s[0], &s[1], &s[2]};
	for (int i = 2; i >= 0; i--) { /* reverse order: numbering is by accept */
		snprintf(msg[i], sizeof msg[i], "request from client %d\n", i + 1);
		snprintf(reply[i], sizeof reply[i], "reply %d\n", i + 1);
		peer_send(&c[i], msg[i], strlen(msg[i]), true);
		peer_send(&s[i], reply[i], strlen(reply[i]), true);
	}
	struct all_eof a = {c, 3};
	drive(fx.r, all, 6, all_eof, &a);
	drive(fx.r, all, 6, open_is_zero, fx.r);
	assert_true(sw_recorder_done(fx.r));
	for (unsigned i = 0; i < 3; i++) {
		assert_file(fx.dir, i + 1, "c2s", msg[i], strlen(msg[i]));
		assert_file(fx.dir, i + 1, "s2c", reply[i], strlen(reply[i]));
		assert_int_equal(c[i].in_len, strlen(reply[i]));
		assert_memory_equal(c[i].in, reply[i], strlen(reply[i]));
		peer_free(&c[i]);
		peer_free(&s[i]);
	}
	assert_false(file_exists(fx.dir, 4, "log"));
	/* The listening socket is closed: a fourth client is refused. */
	sw_errinfo err = {0};
	sw_medium *m = NULL;
	assert_int_equal(sw_tcp_connect(&m, "127.0.0.1", fx.port, 2000, NULL, &err),
	                 SW_ERR_CONNECT);
	fixture_stop(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo_exact),
	    cmocka_unit_test(test_half_close_client_first),
	    cmocka_unit_test(test_half_close_server_first),
	    cmocka_unit_test(test_bounded_buffer),
	    cmocka_unit_test(test_upstream_refused),
	    cmocka_unit_test(test_multiple_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
