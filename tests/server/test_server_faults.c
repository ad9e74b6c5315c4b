/*
 * The server session under the fault-plan matrix.  Every exchange of
 * tests/vectors/server_vectors.inc (Breezy's answers) runs through
 * sw_serve_medium - the daemon's worker loop and connection driver, the code
 * `smartwire serve` runs over TCP and --inet - over an in-process fifo pair,
 * three times: with the fifo as it is (no descriptor: the "always ready"
 * path that waits in the medium), and wrapped so that it names always-ready
 * descriptors for epoll to watch, one for both directions (a socket) or two
 * (--inet's stdin and stdout), with:
 *   - no fault, and pipe-exact reads;
 *   - every read size 1..len (read=K);
 *   - EOF at every offset of the request (eof@N): the answer must be what
 *     the sans-I/O core gives for the truncated input, a prefix of Breezy's,
 *     with every cut request aborted and nothing leaked;
 *   - a read error at every offset (error@N:EIO): ends with SW_SERVE_IO;
 *   - a write error at every offset of the answer (error@N:EPIPE on the
 *     server's writes): exactly N bytes arrive, SW_SERVE_IO;
 *   - EAGAIN/EINTR bursts on both directions with chopped reads and writes.
 * Then, on the always-ready path: a read stall at every offset (virtual
 * time: the idle timeout between requests, the deadline inside one, at
 * once) and a medium that can make no progress (SW_SERVE_STALLED).  The
 * same matrix runs on real descriptors too, a socketpair and two pipes,
 * where known-length bodies go out with sendfile(2) and v3 request bodies
 * come in with splice(2) (smartwire/server.h, "ZERO-COPY BODIES"): the
 * plans then shape those calls, and the answers must be Breezy's all the
 * same; and the zero-copy path is held to the copying one where the
 * source of a span fails at every offset (the file ends early), where
 * the medium refuses a span or a sink (the rest is copied), and where a
 * sink fills up at every offset.  And
 * allocation failure at every site, once and persistently, of the sans-I/O
 * core and of a whole served session (daemon, worker, driver, core): the
 * connection closes cleanly, the output is a prefix of Breezy's, nothing
 * leaks.  The counts and the time are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/server_drive.h"
#include "smartwire/clock.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"
#include "smartwire/failmem.h"

#include "support/server_vectors.h"

typedef struct exch {
	const char *name;
	sw_buf in;
	const uint8_t *want;
	size_t wlen;
} exch;

static exch *exchanges;
static size_t nexch;
static size_t stride = 1; /* > 1 under Valgrind: every stride-th offset */
static unsigned long runs;

static void add_exch(const char *name, const void *in, size_t len, const void *want, size_t wlen)
{
	exchanges = realloc(exchanges, (nexch + 1) * sizeof *exchanges);
	exch *e = &exchanges[nexch++];
	e->name = name;
	sw_buf_init(&e->in, NULL);
	sw_buf_append(&e->in, in, len);
	e->want = want;
	e->wlen = wlen;
}

static int setup(void **state)
{
	(void)state;
	if (getenv("SW_UNDER_VALGRIND"))
		stride = 5;
	for (size_t i = 0; i < sizeof srv_vectors / sizeof srv_vectors[0]; i++) {
		const struct srv_vec *v = &srv_vectors[i];
		add_exch(v->name, v->req, v->req_len, v->resp, v->resp_len);
	}
	for (size_t i = 0; i < sizeof srv_stream_vectors / sizeof srv_stream_vectors[0]; i++) {
		const struct srv_stream_vec *v = &srv_stream_vectors[i];
		char num[8];
		snprintf(num, sizeof num, "%d", v->nchunks);
		sw_slice args[3] = {fake_sl("stream"), fake_sl(num), fake_sl("fail")};
		sw_buf b;
		sw_buf_init(&b, NULL);
		if (v->version == 3)
			sw_v3_encode_request(&b, NULL, 0, args, v->fail ? 3 : 2, NULL);
		else
			sw_v12_encode_request(&b, v->version, args, v->fail ? 3 : 2, NULL);
		add_exch(v->name, b.data, b.len, v->resp, v->resp_len);
		sw_buf_fini(&b);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nexch; i++)
		sw_buf_fini(&exchanges[i].in);
	free(exchanges);
	return 0;
}

static void check_prefix(const exch *e, const sw_buf *out, const char *plan)
{
	if (out->len > e->wlen || (out->len && memcmp(out->data, e->want, out->len) != 0))
		fail_msg("%s [%s]: output is not a prefix of Breezy's answer (%zu bytes)", e->name,
		         plan, out->len);
}

static void check_equal(const exch *e, const sw_buf *out, const char *plan)
{
	if (out->len != e->wlen || (e->wlen && memcmp(out->data, e->want, e->wlen) != 0))
		fail_msg("%s [%s]: output differs from Breezy's (%zu vs %zu bytes)", e->name, plan,
		         out->len, e->wlen);
}

static void check_books(const exch *e, const fake *f, const char *plan)
{
	if (f->live != 0 || f->wants != f->ends + f->aborts + f->early)
		fail_msg("%s [%s]: handler bookkeeping: live %d wants %d ends %d aborts %d", e->name,
		         plan, f->live, f->wants, f->ends, f->aborts);
}

/* The matrix's current path: descriptors named (0, 1, 2) for epoll over
 * the fifo, or real descriptors moving bodies without copying (3 a
 * socketpair, 4 two pipes). */
static int polled;
/* What the zero-copy paths moved without copying, over the runs. */
static uint64_t zc_spans, zc_span_bytes, zc_sinks, zc_sink_bytes;

static sw_serve_result serve(const exch *e, const sw_srv_config *cfg, const char *c2s,
                             const char *sw, fake *f, sw_buf *out)
{
	sw_fault_plan a, b;
	sw_fault_plan_init(&a);
	sw_fault_plan_init(&b);
	assert_int_equal(sw_fault_plan_parse(c2s, &a, NULL), 0);
	if (sw)
		assert_int_equal(sw_fault_plan_parse(sw, &b, NULL), 0);
	fake_init(f, NULL);
	runs++;
	if (polled >= 3) {
		/* Every body without copying, however small (the vectors' are). */
		sw_srv_config zc;
		if (cfg)
			zc = *cfg;
		else
			memset(&zc, 0, sizeof zc);
		zc.zc_min = 1;
		f->zc = true;
		sw_serve_result r = srv_serve_zc(&zc, NULL, f, e->in.data, e->in.len, &a,
		                                 sw ? &b : NULL, polled - 2, out);
		zc_spans += f->spans;
		zc_span_bytes += f->span_bytes;
		zc_sinks += f->sinks;
		zc_sink_bytes += f->sink_bytes;
		return r;
	}
	return srv_serve_fifo_ex(cfg, NULL, f, e->in.data, e->in.len, &a, sw ? &b : NULL, polled,
	                         true, out);
}

static void fault_matrix(int poll)
{
	int64_t t0 = sw_clock_ms();
	polled = poll;
	runs = 0;
	char plan[96];
	fake f;
	sw_buf out;
	sw_srv_config exact;
	memset(&exact, 0, sizeof exact);
	exact.pipe_exact = true;
	for (size_t i = 0; i < nexch; i++) {
		const exch *e = &exchanges[i];
		size_t len = e->in.len;
		sw_serve_result r = serve(e, NULL, "", NULL, &f, &out);
		check_equal(e, &out, "none");
		check_books(e, &f, "none");
		assert_true(r.end != SW_SERVE_IO && r.end != SW_SERVE_STALLED);
		sw_buf_fini(&out);
		serve(e, &exact, "", NULL, &f, &out);
		check_equal(e, &out, "pipe_exact");
		sw_buf_fini(&out);
		/* Every read size. */
		for (size_t k = 1; k <= len; k += (k < 8 ? 1 : stride)) {
			snprintf(plan, sizeof plan, "read=%zu", k);
			serve(e, NULL, plan, NULL, &f, &out);
			check_equal(e, &out, plan);
			check_books(e, &f, plan);
			sw_buf_fini(&out);
		}
		/* EOF at every offset: the sans-I/O core on the cut input is the
		 * reference, and it must be a prefix of Breezy's answer. */
		for (size_t n = 0; n < len; n += stride) {
			snprintf(plan, sizeof plan, "eof@%zu;read=every:5", n);
			r = serve(e, NULL, plan, NULL, &f, &out);
			check_prefix(e, &out, plan);
			check_books(e, &f, plan);
			fake g;
			fake_init(&g, NULL);
			sw_buf ref;
			srv_outcome o;
			srv_exchange(NULL, NULL, &g, e->in.data, n, NULL, 0, true, &ref, &o);
			if (ref.len != out.len || (out.len && memcmp(ref.data, out.data, out.len) != 0))
				fail_msg("%s [%s]: served and core disagree", e->name, plan);
			assert_true(r.end == SW_SERVE_EOF || r.end == SW_SERVE_EOF_MID_REQUEST ||
			            r.end == SW_SERVE_PROTOCOL);
			if (n > 0 && r.end == SW_SERVE_EOF_MID_REQUEST && f.wants)
				assert_true(f.aborts + f.ends + f.early == f.wants);
			sw_buf_fini(&ref);
			sw_buf_fini(&out);
		}
		/* A read error at every offset. */
		for (size_t n = 0; n <= len; n += stride) {
			snprintf(plan, sizeof plan, "error@%zu:EIO;read=3", n);
			r = serve(e, NULL, plan, NULL, &f, &out);
			check_prefix(e, &out, plan);
			check_books(e, &f, plan);
			assert_true(r.end == SW_SERVE_IO || r.end == SW_SERVE_PROTOCOL);
			sw_buf_fini(&out);
		}
		/* A write error at every offset of the answer. */
		for (size_t n = 0; n < e->wlen; n += stride) {
			snprintf(plan, sizeof plan, "error@%zu:EPIPE", n);
			r = serve(e, NULL, "", plan, &f, &out);
			if (out.len != n || (n && memcmp(out.data, e->want, n) != 0))
				fail_msg("%s [%s]: %zu bytes arrived", e->name, plan, out.len);
			check_books(e, &f, plan);
			assert_int_equal(r.end, SW_SERVE_IO);
			assert_int_equal(r.error, SW_ERR_CONNECTION_RESET);
			sw_buf_fini(&out);
		}
		/* EAGAIN and EINTR bursts with chopped reads and short writes. */
		serve(e, NULL, "eagain=3/10;eintr=2/5;read=every:7", "eagain=2/7;eintr=1/3;write=every:5",
		      &f, &out);
		check_equal(e, &out, "bursts");
		check_books(e, &f, "bursts");
		sw_buf_fini(&out);
	}
	double secs = (double)(sw_clock_ms() - t0) / 1e3;
	static const char *const paths[] = {"always ready", "one polled descriptor",
	                                    "two polled descriptors", "zero-copy, socketpair",
	                                    "zero-copy, pipes"};
	printf(
	    "fault matrix (%s): %zu exchanges, %lu serve runs (exchange x fault plan), %.2f s%s\n",
	    paths[poll], nexch, runs, secs, stride > 1 ? " (sampled offsets under Valgrind)" : "");
}

static void test_fault_matrix(void **state)
{
	(void)state;
	fault_matrix(0);
}

static void test_fault_matrix_socket(void **state)
{
	(void)state;
	fault_matrix(1);
}

static void test_fault_matrix_inet(void **state)
{
	(void)state;
	fault_matrix(2);
}

/* The matrix on real descriptors: the plans shape sendfile and splice, and
 * both were used (not only the copying path). */
static void fault_matrix_zc(int kind)
{
	zc_spans = zc_span_bytes = zc_sinks = zc_sink_bytes = 0;
	fault_matrix(2 + kind);
	printf("  without copying: %llu spans (%llu bytes) sent, %llu sinks (%llu bytes) filled\n",
	       (unsigned long long)zc_spans, (unsigned long long)zc_span_bytes,
	       (unsigned long long)zc_sinks, (unsigned long long)zc_sink_bytes);
	assert_true(zc_spans > 0 && zc_span_bytes > 0);
	assert_true(zc_sinks > 0 && zc_sink_bytes > 0);
}

static void test_fault_matrix_zc_socket(void **state)
{
	(void)state;
	fault_matrix_zc(1);
}

static void test_fault_matrix_zc_pipes(void **state)
{
	(void)state;
	fault_matrix_zc(2);
}

/* One request to the fake, encoded in protocol `version`. */
static void zc_request(sw_buf *b, int version, const char *const *argv, size_t n,
                       const uint8_t *body, size_t blen, bool has_body)
{
	sw_slice a[4];
	for (size_t i = 0; i < n; i++)
		a[i] = fake_sl(argv[i]);
	sw_slice bs = {body, blen};
	sw_buf_init(b, NULL);
	int rv = version == 3 ? sw_v3_encode_request(b, NULL, 0, a, n, has_body ? &bs : NULL)
	                      : sw_v12_encode_request(b, version, a, n, has_body ? &bs : NULL);
	assert_int_equal(rv, 0);
}

/* The zero-copy paths answer what the copying path answers, byte for byte
 * and ending the same way, on request `in` (with the fake's append_sinks
 * as given).  Returns the copying path's answer length. */
static size_t zc_same(const char *what, const sw_buf *in, bool append_sinks, const char *c2s)
{
	sw_fault_plan p;
	sw_fault_plan_init(&p);
	assert_int_equal(sw_fault_plan_parse(c2s, &p, NULL), 0);
	fake f;
	fake_init(&f, NULL);
	sw_buf want, got;
	sw_serve_result rw = srv_serve_fifo(NULL, NULL, &f, in->data, in->len, &p, NULL, &want);
	sw_srv_config zc;
	memset(&zc, 0, sizeof zc);
	zc.zc_min = 1; /* however small */
	for (int kind = 1; kind <= 2; kind++) {
		fake_init(&f, NULL);
		f.zc = true;
		f.append_sinks = append_sinks;
		sw_serve_result rg =
		    srv_serve_zc(&zc, NULL, &f, in->data, in->len, &p, NULL, kind, &got);
		zc_spans += f.spans;
		zc_sinks += f.sinks;
		if (got.len != want.len || (want.len && memcmp(got.data, want.data, want.len)) ||
		    rg.end != rw.end || rg.requests != rw.requests)
			fail_msg(
			    "%s [%s, %s]: zero-copy %zu bytes end %d, copying %zu bytes end %d",
			    what, kind == 1 ? "socketpair" : "pipes", c2s, got.len, (int)rg.end,
			    want.len, (int)rw.end);
		if (f.live != 0)
			fail_msg("%s: %d request(s) not freed", what, f.live);
		sw_buf_fini(&got);
	}
	size_t n = want.len;
	sw_buf_fini(&want);
	return n;
}

static void test_zc_against_copying(void **state)
{
	(void)state;
	enum { N = 300 };
	unsigned long cases = 0;
	char num[16], k[16];
	snprintf(num, sizeof num, "%d", N);
	zc_spans = zc_sinks = 0;
	for (int version = 1; version <= 3; version++) {
		/* The span's file ends early, at every offset: the body is cut
		 * there and the connection closed, as when read_body fails. */
		for (int at = 0; at <= N; at += (at < 20 ? 1 : (int)stride * 7)) {
			snprintf(k, sizeof k, "%d", at);
			const char *argv[3] = {"spanfail", num, k};
			sw_buf in;
			zc_request(&in, version, argv, 3, NULL, 0, false);
			zc_same("spanfail", &in, false, "");
			sw_buf_fini(&in);
			/* The medium refuses the span at that offset: the rest is
			 * copied, and the answer is whole. */
			argv[0] = "spanrefuse";
			zc_request(&in, version, argv, 3, NULL, 0, false);
			size_t n = zc_same("spanrefuse", &in, false, "write=every:9");
			assert_true(n > N);
			sw_buf_fini(&in);
			cases += 2;
		}
	}
	/* Bodies into a sink that fills up at every offset (v3: only v3 body
	 * parts go to sinks; v1/v2 for the copying path's answer). */
	uint8_t body[N];
	for (size_t i = 0; i < N; i++)
		body[i] = (uint8_t)(i * 13 + 1);
	for (int version = 1; version <= 3; version++) {
		for (int cap = 0; cap <= N + 1; cap += (cap < 20 ? 1 : (int)stride * 7)) {
			snprintf(k, sizeof k, "%d", cap);
			const char *argv[2] = {"sinkfull", k};
			sw_buf in;
			zc_request(&in, version, argv, 2, body, sizeof body, true);
			zc_same("sinkfull", &in, false, "");
			zc_same("sinkfull", &in, false, "read=every:11");
			sw_buf_fini(&in);
			cases += 2;
		}
		/* A sink that cannot be spliced into (O_APPEND): the pipe path
		 * copies instead, the socket path copies what it took. */
		const char *argv[1] = {"echo"};
		sw_buf in;
		zc_request(&in, version, argv, 1, body, sizeof body, true);
		zc_same("echo into an O_APPEND sink", &in, true, "read=every:17");
		zc_same("echo", &in, false, "read=every:17");
		sw_buf_fini(&in);
		cases += 2;
	}
	printf("zero-copy against copying: %lu requests x 2 media, %llu spans, %llu sinks\n", cases,
	       (unsigned long long)zc_spans, (unsigned long long)zc_sinks);
	assert_true(zc_spans > 0 && zc_sinks > 0);
}

static char logged[160];

static void log_cb(void *ud, const char *msg)
{
	(void)ud;
	snprintf(logged, sizeof logged, "%s", msg);
}

/* A read stall at every offset, the client still connected: the server
 * answers what it read and then, since the stall makes the medium's wait
 * run out at once (virtual time), ends with the idle timeout (logged as
 * Breezy) between requests or the request deadline inside one, after
 * exactly what the sans-I/O core answers for those bytes. */
static void test_stall_matrix(void **state)
{
	(void)state;
	polled = 0;
	unsigned long n_runs = 0, timeouts = 0, deadlines = 0;
	sw_srv_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.log = log_cb;
	for (size_t i = 0; i < nexch; i++) {
		const exch *e = &exchanges[i];
		for (size_t n = 0; n <= e->in.len; n += stride) {
			char plan[64];
			snprintf(plan, sizeof plan, "stall@%zu;read=every:3", n);
			fake f;
			sw_buf out;
			logged[0] = 0;
			sw_serve_result r = serve(e, &cfg, plan, NULL, &f, &out);
			n_runs++;
			fake g;
			fake_init(&g, NULL);
			sw_buf ref;
			srv_outcome o;
			srv_exchange(NULL, NULL, &g, e->in.data, n, NULL, 0, false, &ref, &o);
			if (ref.len != out.len ||
			    (out.len && memcmp(ref.data, out.data, out.len) != 0))
				fail_msg("%s [%s]: served %zu bytes, the core answers %zu", e->name,
				         plan, out.len, ref.len);
			check_books(e, &f, plan);
			if (o.finished || o.feed_err) {
				assert_int_equal(r.end, SW_SERVE_PROTOCOL);
			} else if (o.idle) {
				assert_int_equal(r.end, SW_SERVE_TIMEOUT);
				assert_string_equal(logged,
				                    "Connection Timeout: disconnecting client "
				                    "after 300.0 seconds");
				timeouts++;
			} else {
				if (r.end != SW_SERVE_DEADLINE)
					fail_msg("%s [%s]: ended %d, not with the deadline",
					         e->name, plan, (int)r.end);
				assert_string_equal(logged, "");
				deadlines++;
			}
			if (r.end != SW_SERVE_PROTOCOL)
				assert_int_equal(r.error, 0);
			assert_int_equal(r.requests, o.requests);
			sw_buf_fini(&ref);
			sw_buf_fini(&out);
		}
	}
	printf("stall matrix: %lu runs, %lu idle timeouts, %lu deadlines\n", n_runs, timeouts,
	       deadlines);
	assert_true(timeouts > 0 && deadlines > 0);
}

/* A medium that can make no progress ends the connection instead of
 * spinning: a single-threaded fifo whose client neither sends more nor
 * closes (mid-request and between requests), and writes that stall. */
static void test_stalled(void **state)
{
	(void)state;
	const struct srv_vec *v = find_vec("v3 hello");
	fake f;
	sw_buf out;
	fake_init(&f, NULL);
	/* Between requests: the answer, then nothing. */
	sw_serve_result r = srv_serve_fifo_ex(NULL, NULL, &f, (const uint8_t *)v->req, v->req_len,
	                                      NULL, NULL, 0, false, &out);
	assert_int_equal(r.end, SW_SERVE_STALLED);
	assert_int_equal(r.error, SW_ERR_WOULD_BLOCK);
	assert_int_equal(r.requests, 1);
	assert_int_equal(out.len, v->resp_len);
	assert_memory_equal(out.data, v->resp, v->resp_len);
	assert_int_equal(r.bytes_in, v->req_len);
	assert_int_equal(r.bytes_out, v->resp_len);
	sw_buf_fini(&out);
	/* Mid-request (v1 "hello" without its newline): nothing answered. */
	const struct srv_vec *v1 = find_vec("v1 hello");
	fake_init(&f, NULL);
	r = srv_serve_fifo_ex(NULL, NULL, &f, (const uint8_t *)v1->req, v1->req_len - 1, NULL, NULL,
	                      0, false, &out);
	assert_int_equal(r.end, SW_SERVE_STALLED);
	assert_int_equal(r.requests, 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(f.live, 0);
	sw_buf_fini(&out);
	/* Writes that stall after 10 bytes. */
	sw_fault_plan w;
	assert_int_equal(sw_fault_plan_parse("stall@10", &w, NULL), 0);
	fake_init(&f, NULL);
	r = srv_serve_fifo_ex(NULL, NULL, &f, (const uint8_t *)v->req, v->req_len, NULL, &w, 0,
	                      true, &out);
	assert_int_equal(r.end, SW_SERVE_STALLED);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.data, v->resp, 10);
	assert_int_equal(f.live, 0);
	sw_buf_fini(&out);
}

/* Sans-I/O splits for every exchange, as a quick cross-check of the loop. */
static void test_split_matrix(void **state)
{
	(void)state;
	unsigned long n = 0;
	for (size_t i = 0; i < nexch; i++) {
		const exch *e = &exchanges[i];
		for (size_t k = 1; k < e->in.len; k += stride) {
			fake f;
			fake_init(&f, NULL);
			sw_buf out;
			srv_outcome o;
			srv_exchange(NULL, NULL, &f, e->in.data, e->in.len, &k, 1, true, &out, &o);
			check_equal(e, &out, "split");
			check_books(e, &f, "split");
			sw_buf_fini(&out);
			n++;
		}
	}
	printf("split matrix: %lu runs\n", n);
}

static void test_failmem(void **state)
{
	(void)state;
	unsigned long sites = 0, runs_fm = 0;
	for (size_t i = 0; i < nexch; i++) {
		const exch *e = &exchanges[i];
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		fake f;
		fake_init(&f, &fm.mem);
		sw_buf out;
		srv_outcome clean;
		srv_exchange(NULL, &fm.mem, &f, e->in.data, e->in.len, NULL, 0, true, &out, &clean);
		check_equal(e, &out, "failmem count");
		assert_int_equal(fm.live, 0);
		sw_buf_fini(&out);
		size_t calls = fm.calls;
		sites += calls;
		for (size_t at = 1; at <= calls; at++) {
			for (int persistent = 0; persistent <= 1; persistent++) {
				sw_failmem_init(&fm, at, persistent);
				fake_init(&f, &fm.mem);
				srv_outcome o;
				srv_exchange(NULL, &fm.mem, &f, e->in.data, e->in.len, NULL, 0, true, &out, &o);
				runs_fm++;
				check_prefix(e, &out, "failmem");
				if (f.live != 0 || fm.live != 0)
					fail_msg("%s: leak after failing allocation %zu", e->name, at);
				if (fm.failures && o.error != SW_ERR_NOMEM && o.feed_err != SW_ERR_NOMEM &&
				    o.error != clean.error)
					fail_msg("%s: allocation %zu failed but error is %s", e->name, at,
					         sw_errname(o.error));
				if (o.error == SW_ERR_NOMEM)
					assert_true(o.finished);
				sw_buf_fini(&out);
			}
		}
	}
	printf("failmem: %lu allocation sites over %zu sessions, %lu runs\n", sites, nexch, runs_fm);
}

/* Allocation failure at every site of a whole served session: the daemon
 * and its worker, the connection record, the core, the driver's kept
 * input (read=every:5 makes the core leave input behind), on the three paths.
 * Failing before the connection is served is reported as sw_serve_medium's
 * SW_ERR_NOMEM; later, as the result's error; or the failure is absorbed
 * and the answer is Breezy's.  Nothing leaks. */
static void test_failmem_serve(void **state)
{
	(void)state;
	unsigned long sites = 0, runs_fm = 0, before = 0, during = 0;
	sw_fault_plan plan;
	assert_int_equal(sw_fault_plan_parse("read=every:5", &plan, NULL), 0);
	for (int p = 0; p <= 2; p++) {
		for (size_t i = 0; i < nexch; i += stride) {
			const exch *e = &exchanges[i];
			sw_failmem fm;
			sw_failmem_init(&fm, 0, false);
			fake f;
			fake_init(&f, &fm.mem);
			sw_buf out;
			srv_serve_fifo_ex(NULL, &fm.mem, &f, e->in.data, e->in.len, &plan, NULL, p,
			                  true, &out);
			check_equal(e, &out, "serve failmem count");
			assert_int_equal(fm.live, 0);
			sw_buf_fini(&out);
			size_t calls = fm.calls;
			sites += calls;
			for (size_t at = 1; at <= calls; at++) {
				for (int persistent = 0; persistent <= 1; persistent++) {
					sw_failmem_init(&fm, at, persistent);
					fake_init(&f, &fm.mem);
					sw_serve_result r = srv_serve_fifo_ex(
					    NULL, &fm.mem, &f, e->in.data, e->in.len, &plan, NULL,
					    p, true, &out);
					runs_fm++;
					check_prefix(e, &out, "serve failmem");
					if (f.live != 0 || fm.live != 0)
						fail_msg("%s: leak after failing allocation %zu",
						         e->name, at);
					if (r.error == SW_ERR_NOMEM && out.len == 0 &&
					    r.bytes_in == 0)
						before++;
					else if (r.error == SW_ERR_NOMEM)
						during++;
					else if (fm.failures)
						check_equal(e, &out, "serve failmem absorbed");
					sw_buf_fini(&out);
				}
			}
		}
	}
	printf("serve failmem: %lu allocation sites, %lu runs (%lu failed before serving, %lu "
	       "while serving)\n",
	       sites, runs_fm, before, during);
	assert_true(before > 0 && during > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fault_matrix),
	    cmocka_unit_test(test_fault_matrix_socket),
	    cmocka_unit_test(test_fault_matrix_inet),
	    cmocka_unit_test(test_fault_matrix_zc_socket),
	    cmocka_unit_test(test_fault_matrix_zc_pipes),
	    cmocka_unit_test(test_zc_against_copying),
	    cmocka_unit_test(test_stall_matrix),
	    cmocka_unit_test(test_stalled),
	    cmocka_unit_test(test_split_matrix),
	    cmocka_unit_test(test_failmem),
	    cmocka_unit_test(test_failmem_serve),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
