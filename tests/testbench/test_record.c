/* Tests for the recording proxy (record.c): a client and an upstream server
 * driven from this one thread on 127.0.0.1 sockets (or a `cat` child for a
 * command upstream), the recorder stepped in between.  Every wait is bounded
 * by a deadline; the recordings are compared byte for byte with what was
 * sent. */
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
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "record/record.h"
#include "smartwire/failmem.h"

#define DEADLINE_MS 10000

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fresh output directory under $TMPDIR; removed (files first) by rmtree. */
static void make_outdir(char *dir, size_t len)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, len, "%s/sw_record_XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static void rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Reads a whole recording file into a malloc'd buffer. */
static uint8_t *slurp(const char *dir, unsigned id, const char *ext, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/conn-%03u.%s", dir, id, ext);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	uint8_t *p = malloc(cap + 1);
	assert_non_null(p);
	size_t got;
	while ((got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			p = realloc(p, cap + 1);
			assert_non_null(p);
		}
	}
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

static bool file_exists(const char *dir, unsigned id, const char *ext)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/conn-%03u.%s", dir, id, ext);
	return access(path, F_OK) == 0;
}

static void assert_file(const char *dir, unsigned id, const char *ext, const void *want,
                        size_t wlen)
{
	size_t n;
	uint8_t *p = slurp(dir, id, ext, &n);
	assert_int_equal(n, wlen);
	if (wlen)
		assert_memory_equal(p, want, wlen);
	free(p);
}

static void assert_log_has(const char *dir, unsigned id, const char *needle)
{
	size_t n;
	char *p = (char *)slurp(dir, id, "log", &n);
	if (!strstr(p, needle))
		fail_msg("conn-%03u.log lacks \"%s\":\n%s", id, needle, p);
	free(p);
}

/* ---- a peer driven from the test thread -------------------------------- */

/* One end of a proxied connection as the test sees it: bytes still to send
 * (then optionally a half-close), and everything received. */
struct peer {
	sw_medium *m;
	const uint8_t *out;
	size_t out_len, sent;
	bool shut_after;  /* shut down writing once everything is sent */
	bool shut_done;
	uint8_t *in;
	size_t in_len, in_cap;
	bool eof;
};

static void peer_init(struct peer *p, sw_medium *m)
{
	memset(p, 0, sizeof *p);
	p->m = m;
	int rfd, wfd;
	assert_int_equal(sw_medium_fds(m, &rfd, &wfd), 0);
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	if (wfd >= 0)
		fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
}

static void peer_send(struct peer *p, const void *data, size_t len, bool shut_after)
{
	p->out = data;
	p->out_len = len;
	p->sent = 0;
	p->shut_after = shut_after;
}

/* Moves what it can without blocking. */
static void peer_io(struct peer *p)
{
	while (p->sent < p->out_len) {
		ptrdiff_t w = sw_medium_write(p->m, p->out + p->sent, p->out_len - p->sent);
		if (w == SW_ERR_WOULD_BLOCK)
			break;
		assert_true(w > 0);
		p->sent += (size_t)w;
	}
	if (p->sent == p->out_len && p->shut_after && !p->shut_done) {
		assert_int_equal(sw_medium_shutdown_write(p->m), 0);
		p->shut_done = true;
	}
	while (!p->eof) {
		uint8_t tmp[8192];
		ptrdiff_t n = sw_medium_read(p->m, tmp, sizeof tmp);
		if (n == SW_ERR_WOULD_BLOCK)
			break;
		assert_true(n >= 0);
		if (n == 0) {
			p->eof = true;
			break;
		}
		if (p->in_len + (size_t)n > p->in_cap) {
			p->in_cap = (p->in_len + (size_t)n) * 2;
			p->in = realloc(p->in, p->in_cap);
			assert_non_null(p->in);
		}
		memcpy(p->in + p->in_len, tmp, (size_t)n);
		p->in_len += (size_t)n;
	}
}

static void peer_free(struct peer *p)
{
	sw_medium_del(p->m);
	free(p->in);
}

typedef bool (*cond_fn)(void *ud);

/* Steps the recorder and the peers until cond holds; fails after the
 * deadline. */
static void drive(sw_recorder *r, struct peer **peers, size_t n, cond_fn cond, void *ud)
{
	int64_t end = now_ms() + DEADLINE_MS;
	for (;;) {
		for (size_t i = 0; i < n; i++)
			if (peers[i])
				peer_io(peers[i]);
		if (cond(ud))
			return;
		if (now_ms() > end)
			fail_msg("condition not reached within %d ms", DEADLINE_MS);
		assert_int_equal(sw_recorder_step(r, 5), 0);
	}
}

static bool open_is_zero(void *ud) { return sw_recorder_open(ud) == 0; }

struct recv_want {
	struct peer *p;
	size_t len;
	bool eof;
};

static bool received(void *ud)
{
	struct recv_want *w = ud;
	return w->p->in_len >= w->len && (!w->eof || w->p->eof);
}

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
	int64_t end = now_ms() + DEADLINE_MS;
	while (sw_recorder_connections(fx->r) == before) {
		assert_true(now_ms() < end);
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
	assert_log_has(dir, 1, "upstream-error cannot run /nonexistent/smartwire-no-such-program: "
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
		cmocka_unit_test(test_echo_exact),
		cmocka_unit_test(test_half_close_client_first),
		cmocka_unit_test(test_half_close_server_first),
		cmocka_unit_test(test_bounded_buffer),
		cmocka_unit_test(test_upstream_refused),
		cmocka_unit_test(test_multiple_connections),
		cmocka_unit_test(test_command_upstream),
		cmocka_unit_test(test_command_missing),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
