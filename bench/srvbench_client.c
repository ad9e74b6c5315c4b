/*
 * srvbench_client.c: bench_server's client (our v3 encoder and decoder over a
 * blocking socket) and its probes of the server process.  See srvbench.h.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "srvbench.h"

_Noreturn void sb_die(const char *what, int err)
{
	fprintf(stderr, "bench_server: %s: %s\n", what,
	        err < 0 ? sw_strerror(err) : err > 0 ? strerror(err) : "failed");
	exit(1);
}

double sb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- Requests ----------------------------------------------------------- */

static sw_slice str(const char *s)
{
	return (sw_slice){(const uint8_t *)s, strlen(s)};
}

void sb_req_get(sb_req *rq, const char *path)
{
	memset(rq, 0, sizeof *rq);
	sw_buf_init(&rq->head, NULL);
	sw_slice args[2] = {str("get"), str(path)};
	int rc = sw_v3_encode_request(&rq->head, sw_v3_default_header_kv,
	                              SW_V3_DEFAULT_HEADER_PAIRS, args, 2, NULL);
	if (rc)
		sb_die("encoding get", rc);
}

void sb_req_put(sb_req *rq, const char *path, uint64_t body_n, const uint8_t *pat, size_t pat_n)
{
	memset(rq, 0, sizeof *rq);
	sw_buf_init(&rq->head, NULL);
	sw_slice args[3] = {str("put"), str(path), str("")};
	int rc = sw_v3_encode_request_start(&rq->head, sw_v3_default_header_kv,
	                                    SW_V3_DEFAULT_HEADER_PAIRS, args, 3);
	if (!rc && body_n > UINT32_MAX)
		rc = SW_ERR_INVALID_ARGUMENT;
	if (!rc)
		rc = sw_v3_put_bytes_prefix(&rq->head, (uint32_t)body_n);
	if (rc)
		sb_die("encoding put", rc);
	/* sw_v3_put_end appends 'e'; keep it apart so the body goes between. */
	sw_buf end;
	sw_buf_init(&end, NULL);
	if ((rc = sw_v3_put_end(&end)) || end.len != 1)
		sb_die("encoding put", rc);
	rq->tail[0] = end.data[0];
	rq->tail_n = 1;
	sw_buf_fini(&end);
	rq->body_n = body_n;
	rq->pat = pat;
	rq->pat_n = pat_n;
}

void sb_req_free(sb_req *rq)
{
	sw_buf_fini(&rq->head);
}

static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		sb_die(path, errno);
	sw_buf b;
	sw_buf_init(&b, NULL);
	uint8_t tmp[65536];
	size_t k;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		if (sw_buf_append(&b, tmp, k))
			sb_die(path, SW_ERR_NOMEM);
	fclose(f);
	*n = b.len;
	return b.data;
}

/* The whole request as one byte string (small bodies only). */
static void flatten(const sb_req *rq, sw_buf *out)
{
	sw_buf_init(out, NULL);
	int rc = sw_buf_append(out, rq->head.data, rq->head.len);
	for (uint64_t i = 0; !rc && i < rq->body_n; i++)
		rc = sw_buf_append_byte(out, rq->pat[i % rq->pat_n]);
	if (!rc)
		rc = sw_buf_append(out, rq->tail, rq->tail_n);
	if (rc)
		sb_die("flatten", rc);
}

static bool contains(const uint8_t *hay, size_t hn, const sw_buf *needle)
{
	return memmem(hay, hn, needle->data, needle->len) != NULL;
}

int sb_verify_requests(const char *get_capture, const char *client_recording)
{
	size_t cn, rn;
	uint8_t *cap = slurp(get_capture, &cn);
	uint8_t *rec = slurp(client_recording, &rn);
	sb_req get1, get2, put;
	sb_req_get(&get1, "/testfile");
	sb_req_get(&get2, "/d/a.txt");
	sb_req_put(&put, "/d/a.txt", 6, (const uint8_t *)"alpha\n", 6);
	sw_buf f1, f2, f3;
	flatten(&get1, &f1);
	flatten(&get2, &f2);
	flatten(&put, &f3);
	bool ok1 = contains(cap, cn, &f1), ok2 = contains(rec, rn, &f2), ok3 = contains(rec, rn, &f3);
	printf("{\"bench\": \"verify\", \"get_testfile_bytes\": %zu, \"get_testfile\": %s, "
	       "\"get_recorded\": %s, \"put_recorded\": %s}\n",
	       f1.len, ok1 ? "true" : "false", ok2 ? "true" : "false", ok3 ? "true" : "false");
	sw_buf_fini(&f1);
	sw_buf_fini(&f2);
	sw_buf_fini(&f3);
	sb_req_free(&get1);
	sb_req_free(&get2);
	sb_req_free(&put);
	free(cap);
	free(rec);
	return ok1 && ok2 && ok3 ? 0 : -1;
}

/* ---- Connections -------------------------------------------------------- */

int sb_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	struct timeval tv = {SB_IO_TIMEOUT_S, 0};
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int on_byte(void *ud, uint8_t byte)
{
	sb_resp *r = ud;
	if (r->status < 0)
		r->status = byte;
	return 0;
}

static int on_bytes(void *ud, const uint8_t *p, size_t n)
{
	(void)p;
	((sb_resp *)ud)->body += n;
	return 0;
}

int sb_conn_open(sb_conn *c, uint16_t port)
{
	memset(c, 0, sizeof *c);
	c->fd = sb_connect(port);
	if (c->fd < 0)
		return c->fd;
	sw_v3_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.expect_marker = true;
	sw_v3_callbacks cb = {.on_byte = on_byte, .on_bytes = on_bytes};
	int rc = sw_v3_dec_new(&c->dec, &cfg, &cb, &c->resp, NULL);
	if (rc)
		sb_die("sw_v3_dec_new", rc);
	if (!(c->rbuf = malloc(SB_CHUNK)))
		sb_die("malloc", ENOMEM);
	return 0;
}

void sb_conn_close(sb_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	sw_v3_dec_del(c->dec);
	c->dec = NULL;
	free(c->rbuf);
	c->rbuf = NULL;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "bench_server: send: %s\n",
			        k == 0 ? "nothing taken"
			        : errno == EAGAIN || errno == EWOULDBLOCK
			                ? "the server read nothing within the timeout (60 s)"
			                : strerror(errno));
			return -1;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int sb_call(sb_conn *c, const sb_req *rq)
{
	if (write_all(c->fd, rq->head.data, rq->head.len))
		return -1;
	/* The body is the pattern repeated, one write per pattern (the bench
	 * uses 64 KiB, the write size of the loopback ceiling). */
	for (uint64_t left = rq->body_n; left > 0;) {
		size_t k = left < rq->pat_n ? (size_t)left : rq->pat_n;
		if (write_all(c->fd, rq->pat, k))
			return -1;
		left -= k;
	}
	if (rq->tail_n && write_all(c->fd, rq->tail, rq->tail_n))
		return -1;

	sw_v3_dec_reset(c->dec);
	c->resp = (sb_resp){.status = -1};
	while (!sw_v3_dec_done(c->dec)) {
		ssize_t k = recv(c->fd, c->rbuf, SB_CHUNK, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "bench_server: recv: %s\n",
			        k == 0 ? "connection closed by the server"
			        : errno == EAGAIN || errno == EWOULDBLOCK
			                ? "no response within the timeout (60 s)"
			                : strerror(errno));
			return -1;
		}
		c->resp.wire += (uint64_t)k;
		ptrdiff_t used = sw_v3_dec_feed(c->dec, c->rbuf, (size_t)k);
		if (used < 0) {
			fprintf(stderr, "bench_server: response: %s\n", sw_strerror((int)used));
			return -1;
		}
		if (used != k) {
			fprintf(stderr, "bench_server: %zd bytes after the response\n", k - used);
			return -1;
		}
	}
	return 0;
}

/* ---- /proc probes ----------------------------------------------------- */

double sb_proc_cpu(pid_t pid)
{
	char path[64], line[2048];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = 0;
	/* The command name may hold spaces and parentheses: fields start after
	 * the LAST ')'.  utime and stime are fields 14 and 15 (state is 3). */
	char *p = strrchr(line, ')');
	if (!p)
		return -1;
	unsigned long long ut, st;
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

long sb_proc_status_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	size_t fl = strlen(field);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

bool sb_proc_reset_hwm(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/clear_refs", (long)pid);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok;
}

struct sb_rss_sampler {
	pthread_t th;
	pid_t pid;
	atomic_bool stop;
	long peak;
};

static void *sampler(void *arg)
{
	sb_rss_sampler *s = arg;
	const struct timespec ms = {0, 1000000};
	/* Bounded: at most 10 minutes of samples whatever happens. */
	for (int i = 0; i < 600000 && !atomic_load(&s->stop); i++) {
		long v = sb_proc_status_kib(s->pid, "VmRSS");
		if (v > s->peak)
			s->peak = v;
		nanosleep(&ms, NULL);
	}
	return NULL;
}

sb_rss_sampler *sb_rss_start(pid_t pid)
{
	sb_rss_sampler *s = calloc(1, sizeof *s);
	if (!s)
		sb_die("calloc", ENOMEM);
	s->pid = pid;
	s->peak = -1;
	atomic_init(&s->stop, false);
	int rc = pthread_create(&s->th, NULL, sampler, s);
	if (rc)
		sb_die("pthread_create", rc);
	return s;
}

long sb_rss_stop(sb_rss_sampler *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->th, NULL);
	long v = s->peak;
	free(s);
	return v;
}
