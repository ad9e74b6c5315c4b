/*
 * Conformance runner: the variants of a swept case (conform_run.c says
 * what each one sends and how it is judged): split@K, drip and eof@S:K one
 * after the other, the pause and long-pause variants alongside them in
 * threads of their own, every variant a run of its own (world, fixture,
 * target) whose failure becomes the case's, in the sequential order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

/* Sweep offsets: every offset of a request up to 2 * SWEEP_EDGE bytes; for
 * longer ones the first and last SWEEP_EDGE offsets and every SWEEP_STRIDE-th
 * in between (a 64 KiB request would otherwise need 128 Ki runs). */
#define SWEEP_EDGE 512
#define SWEEP_STRIDE 509
/* The pauses of the pause variants: each of the two short ones below the
 * idle timeout the server gets for the run (1 s, conform_run.c), together
 * above it; the long one well above it.  Unscaled, like every duration. */
#define PAUSE_SHORT_MS 600
#define PAUSE_LONG_MS 1800

static bool sweep_offset(size_t k, size_t len)
{
	return k < SWEEP_EDGE || k + SWEEP_EDGE >= len || k % SWEEP_STRIDE == 0;
}

/* Lengths of the send steps, for the sweeps (0 for non-send steps). */
static size_t send_len(const sw_cf_case *c, size_t i, const sw_cf_ctx *ctx)
{
	const sw_cf_step *st = &c->steps[i];
	if (st->kind != SW_CF_STEP_SEND)
		return 0;
	sw_buf b;
	sw_buf_init(&b, NULL);
	size_t n = sw__cf_encode(&st->alts[0].atoms[0], ctx, &b, NULL) == 0 ? b.len : 0;
	sw_buf_fini(&b);
	return n;
}

/* One variant of a swept case, run apart from the case's own run: its
 * state, its scratch result, and what it was run against. */
typedef struct variant_job {
	sw__cf_run V;
	sw_cf_result scratch;
	const sw__cf_run *R; /* the case's run (read only while V runs) */
	const sw_buf *normal_rx;
	const sw__cf_snap *post;
	pthread_t th;
	bool started; /* th runs */
} variant_job;

static void job_run(variant_job *j, sw__cf_variant v)
{
	const sw__cf_run *R = j->R;
	memset(&j->scratch, 0, sizeof j->scratch);
	j->scratch.exit_status = -1;
	j->V = (sw__cf_run){.c = R->c, .o = R->o, .r = &j->scratch, .v = v};
	sw_buf_init(&j->V.why, NULL);
	sw_buf_init(&j->V.sec, NULL);
	sw_buf_init(&j->V.diff, NULL);
	sw__cf_run_variant(&j->V, j->normal_rx, j->post, R->dir, NULL);
	sw_buf_fini(&j->V.conn.rx);
	sw_buf_fini(&j->V.diff);
	sw__cf_vars_free(&j->V.vars);
}

/* Frees a job's state without applying it. */
static void job_discard(variant_job *j)
{
	sw_buf_fini(&j->V.why);
	sw_buf_fini(&j->V.sec);
	sw_cf_result_fini(&j->scratch);
}

/* A variant's outcome becomes the case's: counted, and on failure the
 * case's failure with the variant's transcript as the evidence.  Frees
 * the job's state. */
static void job_apply(sw__cf_run *R, variant_job *j)
{
	const sw_cf_case *c = R->c;
	sw_cf_result *r = R->r;
	sw__cf_run *V = &j->V;
	sw__cf_variant v = V->v;
	r->variants++;
	if (V->failed || V->security) {
		R->failed = true;
		R->unknown = false;
		if (V->security) {
			R->security = true;
			sw_buf_reset(&R->sec);
			sw_buf_append(&R->sec, V->sec.data, V->sec.len);
		}
		r->variant =
		    v.kind == V_SPLIT  ? sw__cf_strf("split@%zu", v.k)
		    : v.kind == V_DRIP ? strdup("drip")
		    : v.kind == V_PAUSE
		        ? sw__cf_strf("pause@%d (request on line %d, %zu ms pauses)",
		                      c->steps[v.step].line, c->steps[v.step].line, v.k)
		    : v.kind == V_LONGPAUSE
		        ? sw__cf_strf("long-pause@%d (request on line %d, a %zu ms pause)",
		                      c->steps[v.step].line, c->steps[v.step].line, v.k)
		        : sw__cf_strf("eof@%zu (request on line %d)", v.k, c->steps[v.step].line);
		sw_buf_append_byte(&V->why, 0);
		sw_buf_reset(&R->why);
		sw__cf_appendf(&R->why, "variant %s: %s", r->variant ? r->variant : "?",
		               (const char *)V->why.data);
		for (size_t e = 0; e < r->nevents; e++)
			free(r->events[e].p);
		free(r->events);
		r->events = j->scratch.events;
		r->nevents = j->scratch.nevents;
		j->scratch.events = NULL;
		j->scratch.nevents = 0;
		free(r->stderr_text);
		r->stderr_text = j->scratch.stderr_text;
		j->scratch.stderr_text = NULL;
		r->exit_status = j->scratch.exit_status;
	}
	job_discard(j);
}

/* Runs one variant of a swept case in this thread and applies it. */
static void sweep_variant(sw__cf_run *R, sw__cf_variant v, const sw_buf *normal_rx,
                          const sw__cf_snap *post)
{
	variant_job j = {.R = R, .normal_rx = normal_rx, .post = post};
	job_run(&j, v);
	job_apply(R, &j);
}

/* The pause variants sleep (seconds of pauses each, nearly all of a
 * swept case's time) and use no CPU meanwhile: they run in threads of
 * their own, started before the other variants and applied after them in
 * the usual order, so that the case's verdict, its evidence and its count
 * of variants are those of the sequential sweep (a pause variant whose
 * turn never came, because an earlier variant failed, is discarded).
 * Each has its own world, fixture and target like every run; what they
 * share with the case's run (the case, the options, the normal run's
 * bytes and trees) is only read. */
static void *job_thread(void *arg)
{
	variant_job *j = arg;
	job_run(j, j->V.v);
	return NULL;
}

static void job_start(variant_job *j, sw__cf_variant v)
{
	j->V.v = v;
	j->started = pthread_create(&j->th, NULL, job_thread, j) == 0;
	if (!j->started)
		job_run(j, v); /* no thread: the sequential sweep */
}

static void job_finish(sw__cf_run *R, variant_job *j)
{
	if (j->started)
		pthread_join(j->th, NULL);
	j->started = false;
	if (R->failed)
		job_discard(j);
	else
		job_apply(R, j);
}

/* The tree the normal run left after the request of step j: the one
 * before the next request, or the final one. */
static const sw__cf_snap *tree_after(const sw__cf_run *R, size_t j, const sw__cf_snap *final)
{
	for (size_t q = j + 1; q < R->c->nsteps; q++)
		if (R->c->steps[q].kind == SW_CF_STEP_SEND)
			return &R->pre_send[q];
	return final;
}

/* After a passing normal run: split@k, drip, eof@s:k, then pause and
 * long-pause (run alongside, see job_thread), until one fails. */
void sw__cf_run_sweeps(sw__cf_run *R, const sw__cf_snap *final, const sw_buf *normal_rx)
{
	const sw_cf_case *c = R->c;
	/* Request lengths depend on {root} only through its length, the same
	 * for every mkdtemp() directory, and on the normal run's captures. */
	sw_cf_ctx lctx = {.root = R->dir, .version = "3.3.2", .vars = &R->vars};
	size_t maxlen = 0;
	/* Pauses: on the first request only (each costs its pauses in time). */
	size_t first = c->nsteps;
	for (size_t i = 0; i < c->nsteps; i++) {
		size_t n = send_len(c, i, &lctx);
		if (n > maxlen)
			maxlen = n;
		if (n > 1 && first == c->nsteps)
			first = i;
	}
	variant_job pause = {.R = R, .normal_rx = normal_rx, .post = final};
	variant_job long_pause = {.R = R, .normal_rx = normal_rx,
	                          .post = tree_after(R, first, final)};
	bool pauses = first < c->nsteps && !R->failed;
	if (pauses) {
		job_start(&pause, (sw__cf_variant){V_PAUSE, PAUSE_SHORT_MS, first});
		job_start(&long_pause, (sw__cf_variant){V_LONGPAUSE, PAUSE_LONG_MS, first});
	}
	/* A client case: only end of stream inside each response (below). */
	bool client = c->role == SW_CF_ROLE_CLIENT;
	for (size_t k = 1; k < maxlen && !R->failed && !client; k++)
		if (sweep_offset(k, maxlen))
			sweep_variant(R, (sw__cf_variant){V_SPLIT, k, 0}, normal_rx, final);
	if (!R->failed && !client)
		sweep_variant(R, (sw__cf_variant){V_DRIP, 0, 0}, normal_rx, final);
	for (size_t j = 0; j < c->nsteps && !R->failed; j++) {
		size_t len = send_len(c, j, &lctx);
		const sw__cf_snap *post = tree_after(R, j, final);
		for (size_t k = 0; k < len && !R->failed; k++)
			if (sweep_offset(k, len))
				sweep_variant(R, (sw__cf_variant){V_EOF, k, j}, normal_rx, post);
	}
	if (pauses) {
		job_finish(R, &pause);
		job_finish(R, &long_pause);
	}
}
