/*
 * Conformance runner: one case against one target, with its sweeps.
 *
 * A RUN is one connection (one server process for pipe targets): make the
 * fixture, start the target, execute the steps, check what is left on the
 * wire, stop the target, run the after-checks.  A case is the NORMAL run
 * and, when sweeps apply, VARIANTS of it that send the same bytes in other
 * shapes: split@K (every request written in two pieces at offset K),
 * drip (one byte per write), eof@S:K (the request of step S cut after K
 * bytes, then end of stream), pause@S (the request of step S in three
 * pieces, each pause shorter than a short idle timeout the server gets for
 * this run) and long-pause@S (two pieces, the pause longer than it).
 * Split, drip and pause variants must give exactly the normal run's
 * verdict; an eof variant must produce no byte the complete request would
 * not have produced, close the connection, and leave every path of the
 * served tree either as it was before the request or as the complete
 * request left it (no half-written data); a long-pause variant must pass
 * like the normal run or end like an eof variant (closed, never answered
 * wrongly).
 *
 * Every run happens in a security oracle's world (conform_oracle.c); a
 * finding fails the case whatever its level.  A failing case is run once
 * more (unless the expectations file lists it); a pass then makes it flaky,
 * never a pass.
 *
 * The steps themselves run in conform_steps.c, the targets in
 * conform_target.c, the variants of a swept case in conform_sweep.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conform_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"

#define GRACE_MS 2000 /* wait for EOF after our close (unscaled) */
/* The pause variants' idle timeout for the server (conform_sweep.c has
 * their pauses, below it and above it).  Unscaled, like every duration. */
#define PAUSE_IDLE_S 1

void sw_cf_opts_default(sw_cf_opts *o)
{
	memset(o, 0, sizeof *o);
	o->target = SW_CF_TARGET_EMBEDDED;
	o->timeout_scale = 1.0;
	o->timeout_ms = 5000;
	o->sweep = SW_CF_SWEEP_FRAMING;
	o->as_root = geteuid() == 0;
}

void sw_cf_result_fini(sw_cf_result *r)
{
	if (!r)
		return;
	free(r->reason);
	free(r->deviation);
	free(r->variant);
	for (size_t i = 0; i < r->nsteps; i++) {
		free(r->steps[i].expected);
		free(r->steps[i].actual);
	}
	free(r->steps);
	for (size_t i = 0; i < r->nevents; i++)
		free(r->events[i].p);
	free(r->events);
	free(r->stderr_text);
	free(r->security_text);
	if (r->first) {
		sw_cf_result_fini(r->first);
		free(r->first);
	}
	for (size_t i = 0; i < r->ref_nevents; i++)
		free(r->ref_events[i].p);
	free(r->ref_events);
	free(r->ref_reason);
	free(r->difference);
	memset(r, 0, sizeof *r);
}

/* After the steps of a server case: close our side and make sure nothing
 * unexpected follows. */
static void trailing_check(sw__cf_run *R)
{
	if (!R->conn.m)
		return;
	sw_medium_shutdown_write(R->conn.m);
	int64_t deadline = sw_clock_ms() + sw__cf_wait_ms(R, GRACE_MS);
	while (!R->conn.eof) {
		int f = sw__cf_conn_fill(&R->conn, deadline);
		if (f == SW_ERR_TIMEOUT) {
			sw__cf_note(R->r,
			            "the peer did not close within %lld ms after our end of stream",
			            (long long)sw__cf_wait_ms(R, GRACE_MS));
			break;
		}
		if (f < 0)
			break;
	}
	if (R->conn.rx.len > R->conn.pos && !R->c->trailing_ok) {
		sw_buf q;
		sw_buf_init(&q, NULL);
		sw__cf_quote(&q, sw__cf_rx_at(&R->conn, R->conn.pos), R->conn.rx.len - R->conn.pos, 300);
		sw_buf_append_byte(&q, 0);
		sw__cf_failf(R, "unexpected bytes after the last expected message (offset %zu): %s",
		             R->conn.pos, (const char *)q.data);
		sw_buf_fini(&q);
	}
}

/* The end of an eof variant: no new bytes, a close, no half-written data. */
/* `post` is the normal run's tree once the cut request was complete and
 * answered (before the next request, or at the end). */
static void eof_phase(sw__cf_run *R, const sw_buf *normal_rx, const sw__cf_snap *post,
                      const char *normal_root)
{
	int64_t deadline = sw_clock_ms() + sw__cf_wait_ms(R, R->o->timeout_ms);
	while (!R->conn.eof) {
		int f = sw__cf_conn_fill(&R->conn, deadline);
		if (f == SW_ERR_TIMEOUT) {
			sw__cf_failf(R,
			             "after end of stream in the middle of a request the "
			             "connection stayed open for %lld ms",
			             (long long)sw__cf_wait_ms(R, R->o->timeout_ms));
			break;
		}
		if (f < 0)
			break;
	}
	/* The served path differs between runs (same length): compare the
	 * bytes as if this run had served the normal run's directory. */
	sw_buf same;
	sw_buf_init(&same, NULL);
	sw_buf_append(&same, R->conn.rx.data, R->conn.rx.len);
	size_t rl = strlen(R->dir);
	if (normal_root && strlen(normal_root) == rl && rl > 0)
		for (size_t i = 0; i + rl <= same.len; i++)
			if (memcmp(same.data + i, R->dir, rl) == 0)
				memcpy(same.data + i, normal_root, rl);
	const sw_buf *rx = &same;
	size_t k = 0;
	while (k < rx->len && k < normal_rx->len && rx->data[k] == normal_rx->data[k])
		k++;
	if (k < rx->len) {
		sw_buf q;
		sw_buf_init(&q, NULL);
		sw__cf_quote(&q, rx->data + k, rx->len - k, 300);
		sw_buf_append_byte(&q, 0);
		sw__cf_failf(R,
		             "after end of stream in the middle of a request the peer sent bytes "
		             "the complete request "
		             "does not produce, from offset %zu: %s",
		             k, (const char *)q.data);
		sw_buf_fini(&q);
	}
	sw_buf_fini(&same);
	sw__cf_target_stop(R);
	sw__cf_snap now;
	if (sw__cf_snap_take(R->dir, &now) == 0) {
		sw_buf why;
		sw_buf_init(&why, NULL);
		if (!sw__cf_snap_between(&R->pre_cut, post, &now, &why)) {
			sw_buf_append_byte(&why, 0);
			sw__cf_failf(R, "half-applied request: %s", (const char *)why.data);
		}
		sw_buf_fini(&why);
		sw__cf_snap_free(&now);
	}
}

/* A long-pause variant that failed: fine if it ended like an eof variant
 * (the server gave up on the paused request and closed): no byte the
 * complete request would not have produced, closed, no half-applied
 * request.  Judged on a copy of the run's state. */
static void long_pause_judge(sw__cf_run *R, const sw_buf *normal_rx, const sw__cf_snap *post,
                             const char *normal_root)
{
	if (!R->failed || !R->conn.eof || R->security)
		return;
	sw_buf why = R->why;
	sw_buf_init(&R->why, NULL);
	R->failed = false;
	eof_phase(R, normal_rx, post, normal_root);
	if (R->failed) {
		sw_buf_fini(&why);
		return;
	}
	sw_buf_fini(&why);
	sw__cf_note(R->r, "the peer closed the connection during the long pause: allowed");
}

/* One run.  For the normal variant, *final receives the tree afterwards. */
void sw__cf_run_variant(sw__cf_run *R, const sw_buf *normal_rx, const sw__cf_snap *post,
                        const char *normal_root, sw__cf_snap *final)
{
	sw_errinfo ei;
	memset(&R->conn, 0, sizeof R->conn);
	sw_buf_init(&R->conn.rx, NULL);
	sw_buf_init(&R->conn.tx, NULL);
	R->conn.r = R->r;
	R->conn.strict_unknown = R->c->fixture_bzr != NULL;
	R->listen_fd = -1;
	R->port_fd = -1;
	R->idle_s =
	    R->v.kind == V_PAUSE || R->v.kind == V_LONGPAUSE ? PAUSE_IDLE_S : R->c->client_timeout;
	sw__cf_vars_free(&R->vars); /* a fresh run: the fixture's and its own */
	if (sw__cf_world_make(R, &ei) < 0) {
		sw__cf_failf(R, "%s", ei.text);
		sw_buf_fini(&R->conn.tx);
		return;
	}
	R->ctx.root = R->dir;
	R->ctx.version = "3.3.2";
	R->ctx.vars = &R->vars;
	/* Only the after-checks look at the tree as it was: a bzr fixture is
	 * some 140 files, not worth reading for nothing. */
	if (R->c->nchecks && sw__cf_snap_take(R->dir, &R->initial) < 0)
		sw__cf_failf(R, "cannot read the fixture");
	if (!R->failed && sw__cf_target_start(R) < 0)
		R->failed = true;
	if (!R->failed) {
		bool eof = sw__cf_do_steps(R);
		if (eof && !R->failed && R->c->role == SW_CF_ROLE_CLIENT)
			sw__cf_client_cut_result(R);
		else if (eof && !R->failed)
			eof_phase(R, normal_rx, post, normal_root);
		else if (!R->failed && R->c->role == SW_CF_ROLE_SERVER)
			trailing_check(R);
	}
	sw__cf_target_stop(R);
	if (!R->failed && R->v.kind != V_EOF && R->c->role == SW_CF_ROLE_SERVER) {
		sw_buf why;
		sw_buf_init(&why, NULL);
		if (!sw__cf_after_checks(R->c, R->dir, &R->ctx, &R->initial, &why)) {
			sw_buf_append_byte(&why, 0);
			sw__cf_failf(R, "after-checks: %s", (const char *)why.data);
		}
		sw_buf_fini(&why);
	}
	sw__cf_world_judge(R);
	if (R->v.kind == V_LONGPAUSE)
		long_pause_judge(R, normal_rx, post, normal_root);
	if (final)
		sw__cf_snap_take(R->dir, final);
	sw__cf_snap_free(&R->initial);
	sw__cf_snap_free(&R->pre_cut);
	sw__cf_world_del(R);
	sw_buf_fini(&R->conn.tx);
}

static bool has_tag(const sw_cf_case *c, const char *t)
{
	for (size_t i = 0; i < c->ntags; i++)
		if (strcmp(c->tags[i], t) == 0)
			return true;
	return false;
}

/* Cases that wait on purpose (silences, pauses, idle timeouts) are not
 * swept: their variants would only repeat the wait. */
static bool waits_on_purpose(const sw_cf_case *c)
{
	if (c->client_timeout)
		return true;
	for (size_t i = 0; i < c->nsteps; i++) {
		if (c->steps[i].kind == SW_CF_STEP_PAUSE)
			return true;
		for (size_t a = 0; a < c->steps[i].nalts; a++)
			for (size_t k = 0; k < c->steps[i].alts[a].n; k++)
				if (c->steps[i].alts[a].atoms[k].kind == SW_CF_SILENCE)
					return true;
	}
	return false;
}

static bool sweeps_apply(const sw_cf_case *c, const sw_cf_opts *o)
{
	if (o->sweep == SW_CF_SWEEP_NONE || c->sweep == 0 || waits_on_purpose(c))
		return false;
	/* A client case is swept only when it asks for it: each variant runs
	 * the client command again. */
	if (c->role == SW_CF_ROLE_CLIENT)
		return c->sweep == 1 && o->target == SW_CF_TARGET_CLIENT;
	return c->sweep == 1 || o->sweep == SW_CF_SWEEP_ALL || has_tag(c, "framing");
}

/* A case with a "same as reference" atom has nothing to compare alone. */
static bool needs_reference(const sw_cf_case *c)
{
	for (size_t i = 0; i < c->nsteps; i++)
		for (size_t a = 0; a < c->steps[i].nalts; a++)
			for (size_t k = 0; k < c->steps[i].alts[a].n; k++)
				if (c->steps[i].alts[a].atoms[k].same_as_ref)
					return true;
	return false;
}

/* `is_ref`: this is the reference's run of a differential. */
static const char *skip_reason(const sw_cf_case *c, const sw_cf_opts *o, bool is_ref)
{
	if (c->role == SW_CF_ROLE_CLIENT && o->target != SW_CF_TARGET_CLIENT)
		return o->target == SW_CF_TARGET_EMBEDDED && !o->client_available
		           ? "client case: give a client with --client-cmd"
		           : "client case: the target is a server";
	if (c->role == SW_CF_ROLE_SERVER && o->target == SW_CF_TARGET_CLIENT)
		return "server case: the target is a client";
	if (c->needs_nonroot && o->as_root)
		return "skipped (root): file permissions do not apply to root";
	if (c->needs_tcp && o->target != SW_CF_TARGET_TCP)
		return "needs a TCP target (--server-tcp-cmd)";
	if (!o->reference_cmd && !is_ref && needs_reference(c))
		return "compares with a reference: give one with --reference-cmd";
	return NULL;
}

/* One attempt at a case (the normal run and its sweeps); with `trace`, the
 * decoded answers are recorded there (the reference's run). */
static int run_once(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r,
                    sw__cf_trace *trace)
{
	memset(r, 0, sizeof *r);
	r->c = c;
	r->exit_status = -1;
	int64_t t0 = sw_clock_ms();
	/* The reference runs first, so that the target's run can compare as it
	 * goes (conform_reference.c). */
	sw__cf_trace reftrace = {0};
	bool with_ref = o->reference_cmd && c->role == SW_CF_ROLE_SERVER;
	if (with_ref && sw__cf_ref_run(c, o, r, &reftrace) < 0) {
		sw__cf_trace_free(&reftrace);
		return SW_ERR_NOMEM;
	}
	sw__cf_run R = {.c = c, .o = o, .r = r, .trace = trace, .ref = with_ref ? &reftrace : NULL};
	sw_buf_init(&R.why, NULL);
	sw_buf_init(&R.sec, NULL);
	sw_buf_init(&R.diff, NULL);
	sw__cf_snap final = {0};
	bool sweep = sweeps_apply(c, o);
	if (sweep && !(R.pre_send = calloc(c->nsteps + 1, sizeof *R.pre_send))) {
		sw_buf_fini(&R.why);
		sw_buf_fini(&R.sec);
		sw_buf_fini(&R.diff);
		sw__cf_trace_free(&reftrace);
		return SW_ERR_NOMEM;
	}
	sw__cf_run_variant(&R, NULL, NULL, NULL, sweep ? &final : NULL);
	sw_buf normal_rx = R.conn.rx; /* keep the bytes for the eof variants */
	if (!R.failed && !R.security && sweep)
		sw__cf_run_sweeps(&R, &final, &normal_rx);
	sw_buf_fini(&normal_rx);
	sw__cf_snap_free(&final);
	if (R.pre_send) {
		for (size_t i = 0; i < c->nsteps; i++)
			sw__cf_snap_free(&R.pre_send[i]);
		free(R.pre_send);
	}
	r->ms = (double)(sw_clock_ms() - t0);
	if (R.security) {
		/* The findings first: they are the failure, whatever else went wrong. */
		sw_buf_append_byte(&R.sec, 0);
		r->security = true;
		r->security_text = strdup((const char *)R.sec.data);
		sw_buf_append_byte(&R.why, 0);
		r->reason = R.failed ? sw__cf_strf("%s\nalso: %s", (const char *)R.sec.data,
		                                   (const char *)R.why.data)
		                     : strdup((const char *)R.sec.data);
		r->outcome = SW_CF_OUT_FAIL;
	} else if (R.failed) {
		r->outcome = R.unknown ? SW_CF_OUT_UNIMPLEMENTED : SW_CF_OUT_FAIL;
		sw_buf_append_byte(&R.why, 0);
		r->reason = strdup((const char *)R.why.data);
	} else
		r->outcome = SW_CF_OUT_PASS;
	if (R.diff.len) {
		sw_buf_append_byte(&R.diff, 0);
		r->difference = strdup((const char *)R.diff.data);
	}
	if (trace && R.failed && !trace->reason)
		trace->reason = r->reason ? strdup(r->reason) : NULL;
	sw_buf_fini(&R.why);
	sw_buf_fini(&R.sec);
	sw_buf_fini(&R.diff);
	sw__cf_vars_free(&R.vars);
	sw__cf_trace_free(&reftrace);
	r->verdict = sw_cf_decide_result(r, false);
	return 0;
}

int sw__cf_run_traced(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r,
                      sw__cf_trace *trace)
{
	memset(r, 0, sizeof *r);
	r->c = c;
	r->exit_status = -1;
	const char *skip = skip_reason(c, o, trace != NULL);
	if (skip) {
		r->outcome = SW_CF_OUT_SKIP;
		r->verdict = SW_CF_SKIPPED;
		r->reason = strdup(skip);
		return r->reason ? 0 : SW_ERR_NOMEM;
	}
	int rc = run_once(c, o, r, trace);
	/* A failure is confirmed by a second run before it is reported; a
	 * security finding is a fact, not a timing accident: never re-run.
	 * Nor is an unimplemented verb: the peer answered the request, in
	 * time, with its own "unknown method" (a late or missing answer is a
	 * failure, never this outcome), so a second run would only ask again
	 * (321 cases of the suite against smartwire).  Nor is the reference's
	 * run (its trace would hold both).  Nor is a case the expectations
	 * file lists: the failure it records was seen, and a timing accident
	 * never makes a case pass, so a second run could only turn a failure
	 * into `flaky` where the listed deviation itself did not show -- the
	 * same verdict-changing accident a first-run pass of a fixed deviation
	 * is exposed to, and re-running does not remove it; it only doubled the
	 * time of every listed case that fails by waiting out a time-out (295
	 * cases against Breezy). */
	if (rc < 0 || r->outcome == SW_CF_OUT_PASS || r->outcome == SW_CF_OUT_UNIMPLEMENTED ||
	    r->security || o->no_retry || trace ||
	    (o->expect && sw_cf_expectations_find_for(o->expect, c->id, false)))
		return rc;
	sw_cf_result *first = malloc(sizeof *first);
	if (!first)
		return SW_ERR_NOMEM;
	*first = *r;
	rc = run_once(c, o, r, NULL);
	if (rc == 0 && r->outcome == SW_CF_OUT_PASS) {
		r->flaky = true;
		r->first = first;
		r->ms += first->ms;
		r->verdict = sw_cf_decide_result(r, false);
		return 0;
	}
	/* Failed twice (or a security finding the second time): the first
	 * run's failure is the one reported, unless the second found a leak. */
	if (rc == 0 && r->security) {
		sw_cf_result_fini(first);
		free(first);
		return 0;
	}
	double ms = r->ms;
	sw_cf_result_fini(r);
	*r = *first;
	r->ms += ms;
	free(first);
	return rc;
}

/* ---- Calibration ------------------------------------------------------------------ */

static const char probe[] = "case calibrate.hello\n"
                            "title The round trip of a hello, to calibrate the waits\n"
                            "ref   conformance/FORMAT.md (Verdicts under load)\n"
                            "level MUST\n"
                            "send  v1 request hello\n"
                            "expect v1 response ok 2\n";

int sw_cf_run_case(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r)
{
	return sw__cf_run_traced(c, o, r, NULL);
}

int sw_cf_calibrate(const sw_cf_opts *o, uint32_t *rtt_ms)
{
	*rtt_ms = 0;
	if (o->target == SW_CF_TARGET_CLIENT)
		return 0;
	sw_cf_suite s;
	sw_cf_suite_init(&s);
	int rc = sw_cf_parse(&s, probe, sizeof probe - 1, "calibration", NULL);
	if (rc < 0)
		return rc == SW_ERR_NOMEM ? rc : 0;
	sw_cf_opts po = *o;
	po.no_retry = true;
	po.rtt_ms = 0;
	po.sweep = SW_CF_SWEEP_NONE;
	po.reference_cmd = NULL; /* the target's round trip alone */
	double worst = 0;
	/* The first run warms caches (the server's program and libraries). */
	for (int i = 0; i < 4 && rc == 0; i++) {
		sw_cf_result r;
		rc = sw_cf_run_case(&s.cases[0], &po, &r);
		bool ok = rc == 0 && r.outcome == SW_CF_OUT_PASS;
		if (ok && i > 0 && r.ms > worst)
			worst = r.ms;
		sw_cf_result_fini(&r);
		if (!ok) {
			worst = 0;
			break;
		}
	}
	sw_cf_suite_fini(&s);
	*rtt_ms = (uint32_t)(worst + 0.5);
	return rc == SW_ERR_NOMEM ? rc : 0;
}
