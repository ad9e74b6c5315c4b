/*
 * bench_server: speed of a smart server over TCP (issue 4, "Speed is
 * measured, not asserted").  A program, not a test: it prints JSON lines, one
 * per measurement, which bench/server_report.py turns into a table.  It fails
 * only if a server answers wrongly or the setup breaks.  bench/run_server
 * starts `brz serve` and `smartwire serve` and runs every step below.
 *
 *   bench_server verify GET_CAPTURE CLIENT_RECORDING
 *       checks once that our encoder writes Breezy's client bytes
 *   bench_server fixture DIR [--get-mib N]
 *       creates DIR/testfile ("contents\nof\nfile\n", the file of the
 *       protocol reference's sample) and DIR/bench_get_<N>.bin (N MiB)
 *   bench_server server --name NAME --port P --pid PID --fixture DIR [options]
 *       measures the server listening on 127.0.0.1:P whose process is PID
 *   bench_server ceilings [--secs S] [--stream-mib N] [--get-mib N]
 *                         [--fixture DIR --put-mib N]
 *       a C echo server's round trip and raw loopback throughput, both
 *       ways (upload: 64 KiB writes into a sink; download: a source's
 *       64 KiB writes read in 64 KiB reads, 4 x --get-mib); with
 *       --fixture, also the store: --put-mib MiB of 64 KiB writes that a C
 *       receiver splices into a new file in DIR (a put without protocol)
 *   bench_server fscost --fixture DIR [--secs S]
 *       the CPU time of the file-system calls a small `get` must make:
 *       openat2 below the root, fstat, pread, close (and with openat)
 *
 * Options of `server` (and the ceilings): --secs S per timed window (default
 * 2), --windows W timed windows of small requests, the fastest reported (3),
 * --clients N (8), --get-mib N (256), --put-mib N (64), --idle N (1000),
 * --reps R for large transfers (3, within --large-secs, default 20 s),
 * --skip LIST or --only LIST of small,clients,idle,get,put.
 *
 * Every loop is bounded by a count and a time; every socket has 60 s I/O
 * timeouts; only 127.0.0.1 is used.  Requests are pre-encoded with OUR v3
 * encoder and responses decoded with OUR decoder (srvbench_client.c), the
 * same client for every server and for the ceilings.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "srvbench.h"

#define MAX_SMALL 2000000 /* bound on the requests of one timed run */
#define MIB (1024u * 1024u)

static struct {
	const char *name, *fixture, *skip, *only;
	uint16_t port;
	pid_t pid;
	double secs, large_secs;
	unsigned clients, idle, reps, windows;
	uint64_t get_mib, put_mib, stream_mib;
} opt = {"server", NULL, "", NULL, 0, 0, 2.0, 20.0, 8, 1000, 3, 3, 256, 64, 2048};

static uint8_t pattern[SB_CHUNK];

static void fill_pattern(void)
{
	for (size_t i = 0; i < sizeof pattern; i++)
		pattern[i] = (uint8_t)(((i * 131 + 7) >> 3) & 0xff);
}

static bool skipped(const char *what)
{
	return opt.only ? strstr(opt.only, what) == NULL : strstr(opt.skip, what) != NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* ---- Small gets on one connection -------------------------------------- */

/* One timed window: round trips for opt.secs (or MAX_SMALL of them). */
struct window {
	size_t n;
	double secs, cpu_us, p50, p99;
};

static struct window small_window(sb_conn *c, pid_t pid, const sb_req *get, double *lat)
{
	double cpu0 = sb_proc_cpu(pid), t0 = sb_now(), t1 = t0;
	size_t n = 0;
	while (n < MAX_SMALL && t1 - t0 < opt.secs) {
		if (sb_call(c, get) || c->resp.status != 'S')
			sb_die("small get: failed", 0);
		double t2 = sb_now();
		lat[n++] = t2 - t1;
		t1 = t2;
	}
	double cpu1 = sb_proc_cpu(pid);
	qsort(lat, n, sizeof *lat, cmp_double);
	return (struct window){n, t1 - t0,
	                       cpu0 >= 0 && cpu1 >= 0 ? 1e6 * (cpu1 - cpu0) / (double)n : -1.0,
	                       1e6 * lat[n / 2], 1e6 * lat[n * 99 / 100]};
}

/* Warms the connection up (Breezy's first requests are slower), then times
 * opt.windows windows on the same connection and reports the fastest (a
 * busy machine slows some windows down; the best is the least disturbed),
 * with the rates of all.  Shared by the servers and the echo ceiling. */
static void run_small(const char *name, uint16_t port, pid_t pid, const sb_req *get)
{
	sb_conn c;
	int rc = sb_conn_open(&c, port);
	if (rc)
		sb_die("connect", -rc);
	double *lat = malloc(MAX_SMALL * sizeof *lat);
	if (!lat)
		sb_die("malloc", ENOMEM);
	double t = sb_now();
	for (int i = 0; i < 2000 && sb_now() - t < 0.5; i++)
		if (sb_call(&c, get))
			sb_die("small get (warm-up)", 0);
	if (c.resp.status != 'S' || c.resp.body != strlen(SB_TESTFILE))
		sb_die("small get: not a success with the 17-byte testfile", 0);
	uint64_t resp_bytes = c.resp.wire;

	struct window best = {0};
	char all[256] = "";
	for (unsigned w = 0; w < opt.windows; w++) {
		struct window x = small_window(&c, pid, get, lat);
		size_t l = strlen(all);
		snprintf(all + l, sizeof all - l, "%s%.0f", w ? ", " : "", (double)x.n / x.secs);
		if (w == 0 || (double)x.n / x.secs > (double)best.n / best.secs)
			best = x;
	}
	sb_conn_close(&c);
	printf("{\"server\": \"%s\", \"bench\": \"small\", \"reqs\": %zu, \"secs\": %.3f, "
	       "\"req_s\": %.1f, \"cpu_us\": %.2f, \"p50_us\": %.1f, \"p99_us\": %.1f, "
	       "\"req_bytes\": %zu, \"resp_bytes\": %llu, \"windows_req_s\": [%s]}\n",
	       name, best.n, best.secs, (double)best.n / best.secs, best.cpu_us, best.p50,
	       best.p99, get->head.len, (unsigned long long)resp_bytes, all);
	fflush(stdout);
	free(lat);
}

/* ---- Concurrent clients ------------------------------------------------- */

struct worker {
	pthread_t th;
	const sb_req *get;
	pthread_barrier_t *start;
	double *deadline;
	uint64_t reqs;
	int failed;
};

static void *client_thread(void *arg)
{
	struct worker *w = arg;
	sb_conn c;
	w->failed = sb_conn_open(&c, opt.port) != 0;
	for (int i = 0; !w->failed && i < 20; i++)
		w->failed = sb_call(&c, w->get) != 0;
	pthread_barrier_wait(w->start); /* all connected and warm */
	pthread_barrier_wait(w->start); /* main has set the deadline */
	while (!w->failed && sb_now() < *w->deadline && w->reqs < MAX_SMALL) {
		w->failed = sb_call(&c, w->get) != 0 || c.resp.status != 'S';
		w->reqs += !w->failed;
	}
	if (c.fd >= 0)
		sb_conn_close(&c);
	return NULL;
}

struct clients_result {
	uint64_t total, lo, hi;
	double secs, cpu_us;
};

/* One window: opt.clients threads connect and warm up, then run together
 * for opt.secs. */
static struct clients_result clients_window(const sb_req *get)
{
	unsigned n = opt.clients;
	struct worker *w = calloc(n, sizeof *w);
	pthread_barrier_t start;
	double deadline = 0;
	if (!w || pthread_barrier_init(&start, NULL, n + 1))
		sb_die("clients", ENOMEM);
	for (unsigned i = 0; i < n; i++) {
		w[i] = (struct worker){.get = get, .start = &start, .deadline = &deadline};
		if (pthread_create(&w[i].th, NULL, client_thread, &w[i]))
			sb_die("pthread_create", errno);
	}
	pthread_barrier_wait(&start);
	double cpu0 = sb_proc_cpu(opt.pid), t0 = sb_now();
	deadline = t0 + opt.secs;
	pthread_barrier_wait(&start);
	struct clients_result r = {0, UINT64_MAX, 0, 0, 0};
	int failed = 0;
	for (unsigned i = 0; i < n; i++) {
		pthread_join(w[i].th, NULL);
		r.total += w[i].reqs;
		r.lo = w[i].reqs < r.lo ? w[i].reqs : r.lo;
		r.hi = w[i].reqs > r.hi ? w[i].reqs : r.hi;
		failed += w[i].failed;
	}
	double t1 = sb_now(), cpu1 = sb_proc_cpu(opt.pid);
	pthread_barrier_destroy(&start);
	free(w);
	if (failed)
		sb_die("concurrent clients: a client failed (see above)", 0);
	r.secs = t1 - t0;
	r.cpu_us = r.total ? 1e6 * (cpu1 - cpu0) / (double)r.total : -1.0;
	return r;
}

/* The fastest of opt.windows windows, with the rates of all. */
static void run_clients(const sb_req *get)
{
	struct clients_result best = {0};
	char all[256] = "";
	for (unsigned i = 0; i < opt.windows; i++) {
		struct clients_result x = clients_window(get);
		size_t l = strlen(all);
		snprintf(all + l, sizeof all - l, "%s%.0f", i ? ", " : "", (double)x.total / x.secs);
		if (i == 0 || (double)x.total / x.secs > (double)best.total / best.secs)
			best = x;
	}
	printf("{\"server\": \"%s\", \"bench\": \"clients\", \"clients\": %u, \"reqs\": %llu, "
	       "\"secs\": %.3f, \"req_s\": %.1f, \"cpu_us\": %.2f, \"min_per_client\": %llu, "
	       "\"max_per_client\": %llu, \"windows_req_s\": [%s]}\n",
	       opt.name, opt.clients, (unsigned long long)best.total, best.secs,
	       (double)best.total / best.secs, best.cpu_us, (unsigned long long)best.lo,
	       (unsigned long long)best.hi, all);
	fflush(stdout);
}

/* ---- Large transfers ---------------------------------------------------- */

static char *fixture_path(const char *fmt, unsigned long long v)
{
	static char path[4096];
	char base[256];
	snprintf(base, sizeof base, fmt, v);
	snprintf(path, sizeof path, "%s/%s", opt.fixture, base);
	return path;
}

/* One transfer with RSS sampling; best time of up to opt.reps within
 * opt.large_secs, peak RSS over all of them. */
static void run_large(const char *bench, bool put, uint64_t bytes)
{
	sb_conn c;
	int rc = sb_conn_open(&c, opt.port);
	if (rc)
		sb_die("connect", -rc);
	long base = sb_proc_status_kib(opt.pid, "VmRSS"), peak = -1;
	double best = 0, start = sb_now(), cpu_sum = 0;
	bool cpu_ok = true;
	bool hwm_ok = true;
	unsigned reps = 0;
	while (reps < opt.reps && (reps == 0 || sb_now() - start < opt.large_secs)) {
		sb_req rq;
		char *path = fixture_path(put ? "bench_put_%llu.bin" : "bench_get_%llu.bin",
		                          (unsigned long long)(bytes / MIB));
		const char *rel = strrchr(path, '/');
		if (put) {
			unlink(path);
			sb_req_put(&rq, rel, bytes, pattern, sizeof pattern);
		} else {
			sb_req_get(&rq, rel);
		}
		hwm_ok = hwm_ok && sb_proc_reset_hwm(opt.pid);
		/* The kernel's high-water mark when it can be reset; sampling
		 * (a thread reading /proc every ms, CPU the ceilings do not
		 * spend) only where it cannot. */
		sb_rss_sampler *s = hwm_ok ? NULL : sb_rss_start(opt.pid);
		double c0 = sb_proc_cpu(opt.pid), t0 = sb_now();
		int bad = sb_call(&c, &rq);
		double t = sb_now() - t0, c1 = sb_proc_cpu(opt.pid);
		long p = s ? sb_rss_stop(s) : -1;
		long hwm = hwm_ok ? sb_proc_status_kib(opt.pid, "VmHWM") : -1;
		sb_req_free(&rq);
		struct stat st;
		if (bad || c.resp.status != 'S' || (!put && c.resp.body != bytes) ||
		    (put && (stat(path, &st) || (uint64_t)st.st_size != bytes)))
			sb_die(put ? "large put: failed or wrong size on disk"
			           : "large get: failed or wrong size", 0);
		if (put)
			unlink(path);
		peak = p > peak ? p : peak;
		peak = hwm > peak ? hwm : peak;
		if (reps++ == 0 || t < best)
			best = t;
		/* The server's CPU time for the transfers, summed over the
		 * repetitions (clock ticks are 10 ms): a figure that survives a
		 * busy machine better than the wall clock. */
		cpu_ok = cpu_ok && c0 >= 0 && c1 >= 0;
		cpu_sum += c1 - c0;
	}
	sb_conn_close(&c);
	printf("{\"server\": \"%s\", \"bench\": \"%s\", \"bytes\": %llu, \"reps\": %u, "
	       "\"secs\": %.3f, \"mb_s\": %.1f, \"rss_base_kib\": %ld, \"rss_peak_kib\": %ld, "
	       "\"hwm\": %s, \"cpu_ms_per_gb\": %.1f}\n",
	       opt.name, bench, (unsigned long long)bytes, reps, best, (double)bytes / best / 1e6,
	       base, peak, hwm_ok ? "true" : "false",
	       cpu_ok ? 1e3 * cpu_sum / ((double)bytes * reps / 1e9) : -1.0);
	fflush(stdout);
}

/* ---- Idle connections --------------------------------------------------- */

static void run_idle(const sb_req *get)
{
	struct rlimit rl;
	rlim_t want = opt.idle + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	int *fds = malloc(opt.idle * sizeof *fds);
	if (!fds)
		sb_die("malloc", ENOMEM);
	long rss0 = sb_proc_status_kib(opt.pid, "VmRSS");
	double t0 = sb_now();
	unsigned opened = 0, retried = 0;
	int err = 0;
	/* Connections are opened one by one with a pause between them.  Breezy
	 * listens with a backlog of 1: a SYN arriving while two connections wait
	 * to be accepted is dropped and retried by the kernel one second later
	 * (a connect that took over 0.5 s), so the pause doubles (up to 100 ms)
	 * each time that happens. */
	double pause = 0.001;
	while (opened < opt.idle && sb_now() - t0 < 45) {
		double t = sb_now();
		int fd = sb_connect(opt.port);
		if (fd < 0) {
			err = -fd;
			break;
		}
		fds[opened++] = fd;
		if (sb_now() - t > 0.5) {
			retried++;
			pause = pause * 2 < 0.1 ? pause * 2 : 0.1;
		}
		const struct timespec ts = {0, (long)(pause * 1e9)};
		nanosleep(&ts, NULL);
	}
	double open_secs = sb_now() - t0;
	/* Let the server accept and settle, then see whether it kept them. */
	const struct timespec settle = {1, 0};
	nanosleep(&settle, NULL);
	long rss_idle = sb_proc_status_kib(opt.pid, "VmRSS");
	unsigned closed = 0, served = 0;
	for (unsigned i = 0; i < opened; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};
		char b;
		if (poll(&p, 1, 0) == 1 && recv(fds[i], &b, 1, MSG_DONTWAIT) <= 0)
			closed++;
	}
	/* Then prove each one is still served: one small get on every one. */
	sb_conn c;
	int rc = sb_conn_open(&c, opt.port);
	if (rc)
		sb_die("connect", -rc);
	int own = c.fd;
	double t1 = sb_now();
	for (unsigned i = 0; i < opened && sb_now() - t1 < 60; i++) {
		c.fd = fds[i];
		served += sb_call(&c, get) == 0 && c.resp.status == 'S';
	}
	long rss_after = sb_proc_status_kib(opt.pid, "VmRSS");
	c.fd = own;
	sb_conn_close(&c);
	for (unsigned i = 0; i < opened; i++)
		close(fds[i]);
	free(fds);
	printf("{\"server\": \"%s\", \"bench\": \"idle\", \"wanted\": %u, \"opened\": %u, "
	       "\"open_secs\": %.2f, \"retried\": %u, \"pause_ms\": %.0f, "
	       "\"closed_by_server\": %u, \"served\": %u, \"rss_base_kib\": %ld, "
	       "\"rss_idle_kib\": %ld, \"rss_after_get_kib\": %ld, \"error\": \"%s\"}\n",
	       opt.name, opt.idle, opened, open_secs, retried, pause * 1e3, closed, served, rss0,
	       rss_idle, rss_after, err ? strerror(err) : "");
	fflush(stdout);
}

/* ---- Ceilings ----------------------------------------------------------- */

static void run_ceilings(const sb_req *get)
{
	/* Echo: the real request size in, the real response size out. */
	sw_buf resp;
	sw_buf_init(&resp, NULL);
	sw_slice ok = {(const uint8_t *)"ok", 2},
	         body = {(const uint8_t *)SB_TESTFILE, strlen(SB_TESTFILE)};
	int rc = sw_v3_encode_response(&resp, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS,
	                               true, &ok, 1, &body);
	if (rc)
		sb_die("encoding the echo response", rc);
	uint16_t port;
	pid_t pid;
	sb_echo_spawn(false, get->head.len, resp.data, resp.len, &port, &pid);
	run_small("echo", port, pid, get);
	sb_child_reap(pid);
	/* The same reading as an event-driven server must (the floor of one
	 * that serves many connections in one thread). */
	sb_echo_spawn(true, get->head.len, resp.data, resp.len, &port, &pid);
	run_small("echo-epoll", port, pid, get);
	sb_child_reap(pid);
	sw_buf_fini(&resp);

	/* Raw loopback: 64 KiB writes into a sink, best of opt.reps. */
	sb_upload_ceiling("stream", NULL, opt.stream_mib * MIB, opt.secs, opt.reps, pattern);
	/* The same into a file on the fixture's file system, the size of the
	 * put: what storing a put's body costs without any protocol. */
	if (opt.fixture) {
		sb_upload_ceiling("store", fixture_path("bench_store_%llu.bin", opt.put_mib),
		                  opt.put_mib * MIB, opt.large_secs, opt.reps, pattern);
	}

	/* Raw loopback the other way, the ceiling of a `get`. */
	sb_download_ceiling(4 * opt.get_mib * MIB, opt.reps);
}

/* ---- main --------------------------------------------------------------- */

static void make_fixture(void)
{
	char *path = fixture_path("testfile", 0);
	FILE *f = fopen(path, "wb");
	if (!f || fputs(SB_TESTFILE, f) == EOF || fclose(f))
		sb_die(path, errno);
	path = fixture_path("bench_get_%llu.bin", (unsigned long long)opt.get_mib);
	struct stat st;
	if (stat(path, &st) == 0 && (uint64_t)st.st_size == opt.get_mib * MIB)
		return;
	if (!(f = fopen(path, "wb")))
		sb_die(path, errno);
	for (uint64_t i = 0; i < opt.get_mib * MIB / sizeof pattern; i++)
		if (fwrite(pattern, sizeof pattern, 1, f) != 1)
			sb_die(path, errno);
	if (fclose(f))
		sb_die(path, errno);
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: bench_server verify GET_CAPTURE CLIENT_RECORDING\n"
	                "       bench_server fixture DIR [--get-mib N]\n"
	                "       bench_server server --name NAME --port P --pid PID --fixture DIR\n"
	                "              [--secs S] [--clients N] [--get-mib N] [--put-mib N]\n"
	                "              [--idle N] [--reps R] [--windows W] [--large-secs S]\n"
	                "              [--skip|--only LIST]\n"
	                "       bench_server ceilings [--secs S] [--windows W] [--stream-mib N]\n"
	                "              [--reps R] [--get-mib N] [--fixture DIR --put-mib N]\n"
	                "       bench_server fscost --fixture DIR [--secs S] [--windows W]\n");
	exit(2);
}

static void parse(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--name")) opt.name = v;
		else if (!strcmp(a, "--fixture")) opt.fixture = v;
		else if (!strcmp(a, "--skip")) opt.skip = v;
		else if (!strcmp(a, "--only")) opt.only = v;
		else if (!strcmp(a, "--port")) opt.port = (uint16_t)atoi(v);
		else if (!strcmp(a, "--pid")) opt.pid = (pid_t)atol(v);
		else if (!strcmp(a, "--secs")) opt.secs = atof(v);
		else if (!strcmp(a, "--large-secs")) opt.large_secs = atof(v);
		else if (!strcmp(a, "--clients")) opt.clients = (unsigned)atoi(v);
		else if (!strcmp(a, "--idle")) opt.idle = (unsigned)atoi(v);
		else if (!strcmp(a, "--reps")) opt.reps = (unsigned)atoi(v);
		else if (!strcmp(a, "--windows")) opt.windows = (unsigned)atoi(v);
		else if (!strcmp(a, "--get-mib")) opt.get_mib = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--put-mib")) opt.put_mib = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--stream-mib")) opt.stream_mib = strtoull(v, NULL, 10);
		else usage();
	}
	if (opt.secs <= 0 || opt.secs > 60 || opt.clients < 1 || opt.clients > 256 ||
	    opt.reps < 1 || opt.reps > 20 || opt.windows < 1 || opt.windows > 10 ||
	    opt.idle > 100000 || opt.get_mib < 1 ||
	    opt.get_mib > 4095 || opt.put_mib < 1 || opt.put_mib > 4095)
		usage();
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	fill_pattern();
	const char *cmd = argv[1];
	if (!strcmp(cmd, "verify")) {
		if (argc != 4)
			usage();
		return sb_verify_requests(argv[2], argv[3]) ? 1 : 0;
	}
	sb_req get;
	sb_req_get(&get, "/testfile");
	if (!strcmp(cmd, "fixture")) {
		if (argc < 3)
			usage();
		opt.fixture = argv[2];
		parse(argc, argv, 3);
		make_fixture();
	} else if (!strcmp(cmd, "ceilings")) {
		parse(argc, argv, 2);
		run_ceilings(&get);
	} else if (!strcmp(cmd, "fscost")) {
		parse(argc, argv, 2);
		if (!opt.fixture)
			usage();
		sb_fscost(opt.fixture, opt.secs, opt.windows);
	} else if (!strcmp(cmd, "server")) {
		parse(argc, argv, 2);
		if (!opt.port || opt.pid <= 0 || !opt.fixture)
			usage();
		if (!skipped("small"))
			run_small(opt.name, opt.port, opt.pid, &get);
		if (!skipped("clients"))
			run_clients(&get);
		/* Idle connections before the large transfers: Breezy keeps the
		 * memory of a large transfer, which would hide the idle cost. */
		if (!skipped("idle"))
			run_idle(&get);
		if (!skipped("get"))
			run_large("get", false, opt.get_mib * MIB);
		if (!skipped("put"))
			run_large("put", true, opt.put_mib * MIB);
	} else {
		usage();
	}
	sb_req_free(&get);
	return 0;
}
