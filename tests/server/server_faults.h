/*
 * The fault-plan matrix of the server session, shared by
 * tests/server/test_server_faults*.c.  The exchanges are every one of
 * tests/vectors/server_vectors.inc (Breezy's answers), built by the group
 * setup (every stride-th offset only under Valgrind).  fault_matrix(path)
 * runs each through sw_serve_medium - the daemon's worker loop and
 * connection driver, the code `smartwire serve` runs over TCP and --inet -
 * on one path: an in-process fifo pair as it is (0: no descriptor, the
 * "always ready" path that waits in the medium), wrapped so that it names
 * always-ready descriptors for epoll to watch, one for both directions
 * (1: a socket) or two (2: --inet's stdin and stdout), or real descriptors
 * that move bodies without copying (3: a socketpair, 4: two pipes), with:
 *   - no fault, and pipe-exact reads;
 *   - every read size 1..len (read=K);
 *   - EOF at every offset of the request (eof@N): the answer must be what
 *     the sans-I/O core gives for the truncated input, a prefix of Breezy's,
 *     with every cut request aborted and nothing leaked;
 *   - a read error at every offset (error@N:EIO): ends with SW_SERVE_IO;
 *   - a write error at every offset of the answer (error@N:EPIPE on the
 *     server's writes): exactly N bytes arrive, SW_SERVE_IO;
 *   - EAGAIN/EINTR bursts on both directions with chopped reads and writes.
 * The counts and the time are printed.
 */
#ifndef SW_TEST_SERVER_FAULTS_H
#define SW_TEST_SERVER_FAULTS_H

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

static inline void add_exch(const char *name, const void *in, size_t len, const void *want,
                            size_t wlen)
{
	exchanges = realloc(exchanges, (nexch + 1) * sizeof *exchanges);
	exch *e = &exchanges[nexch++];
	e->name = name;
	sw_buf_init(&e->in, NULL);
	sw_buf_append(&e->in, in, len);
	e->want = want;
	e->wlen = wlen;
}

static inline int setup(void **state)
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

static inline int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < nexch; i++)
		sw_buf_fini(&exchanges[i].in);
	free(exchanges);
	return 0;
}

static inline void check_prefix(const exch *e, const sw_buf *out, const char *plan)
{
	if (out->len > e->wlen || (out->len && memcmp(out->data, e->want, out->len) != 0))
		fail_msg("%s [%s]: output is not a prefix of Breezy's answer (%zu bytes)", e->name,
		         plan, out->len);
}

static inline void check_equal(const exch *e, const sw_buf *out, const char *plan)
{
	if (out->len != e->wlen || (e->wlen && memcmp(out->data, e->want, e->wlen) != 0))
		fail_msg("%s [%s]: output differs from Breezy's (%zu vs %zu bytes)", e->name, plan,
		         out->len, e->wlen);
}

static inline void check_books(const exch *e, const fake *f, const char *plan)
{
	if (f->live != 0 || f->wants != f->ends + f->aborts + f->early)
		fail_msg("%s [%s]: handler bookkeeping: live %d wants %d ends %d aborts %d",
		         e->name, plan, f->live, f->wants, f->ends, f->aborts);
}

/* The matrix's current path: descriptors named (0, 1, 2) for epoll over
 * the fifo, or real descriptors moving bodies without copying (3 a
 * socketpair, 4 two pipes). */
static int polled;
/* What the zero-copy paths moved without copying, over the runs. */
static uint64_t zc_spans, zc_span_bytes, zc_sinks, zc_sink_bytes;

static inline sw_serve_result serve(const exch *e, const sw_srv_config *cfg, const char *c2s,
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

static inline void fault_matrix(int poll)
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
			if (ref.len != out.len ||
			    (out.len && memcmp(ref.data, out.data, out.len) != 0))
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
		serve(e, NULL, "eagain=3/10;eintr=2/5;read=every:7",
		      "eagain=2/7;eintr=1/3;write=every:5", &f, &out);
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

#endif
