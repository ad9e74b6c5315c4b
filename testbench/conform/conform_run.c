/*
 * Conformance runner: one case against one target, with its sweeps.
 *
 * A RUN is one connection (one server process for pipe targets): make the
 * fixture, start the target, execute the steps, check what is left on the
 * wire, stop the target, run the after-checks.  A case is the NORMAL run
 * and, when sweeps apply, VARIANTS of it that send the same bytes in other
 * shapes: split@K (every request written in two pieces at offset K),
 * drip (one byte per write), and eof@S:K (the request of step S cut after K
 * bytes, then end of stream).  Split and drip variants must give exactly
 * the normal run's verdict; an eof variant must produce no byte the
 * complete request would not have produced, close the connection, and
 * leave every path of the served tree either as it was before the request
 * or as the complete request left it (no half-written data).
 *
 * Waits: every wait has a deadline from the case (within/silence) or the
 * default timeout, multiplied by the scale.  Nothing sleeps to synchronise;
 * the only sleeps are the pauses a case asks for and the 1 ms gaps between
 * the pieces of split/drip writes, which shape traffic and never decide an
 * outcome.
 */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conform_impl.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"

#define GRACE_MS 2000      /* wait for EOF after our close (unscaled) */
#define DRIP_GAPS 256      /* bytes of a dripped request followed by a 1 ms gap */
/* Sweep offsets: every offset of a request up to 2 * SWEEP_EDGE bytes; for
 * longer ones the first and last SWEEP_EDGE offsets and every SWEEP_STRIDE-th
 * in between (a 64 KiB request would otherwise need 128 Ki runs). */
#define SWEEP_EDGE 512
#define SWEEP_STRIDE 509


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
	memset(r, 0, sizeof *r);
}

/* ---- Steps --------------------------------------------------------------- */

static int write_piece(sw__cf_run *R, const uint8_t *p, size_t n)
{
	if (!n)
		return 0;
	size_t done = 0;
	int rc = sw_medium_write_all(R->conn.m, p, n, &done);
	sw__cf_record(R->r, '>', p, done);
	if (rc < 0)
		sw__cf_note(R->r, "write failed after %zu of %zu bytes: %s", done, n, sw_errname(rc));
	return rc;
}

static void send_bytes(sw__cf_run *R, size_t step, const uint8_t *p, size_t n)
{
	if (R->v.kind == V_EOF && R->v.step == step) {
		write_piece(R, p, R->v.k);
		sw_medium_shutdown_write(R->conn.m);
		sw__cf_note(R->r, "eof@%zu: end of stream after %zu of the %zu bytes of this request", R->v.k,
		            R->v.k, n);
		return;
	}
	if (R->v.kind == V_SPLIT && R->v.k < n) {
		if (write_piece(R, p, R->v.k) == 0) {
			sw__cf_sleep_ms(1);
			write_piece(R, p + R->v.k, n - R->v.k);
		}
		return;
	}
	if (R->v.kind == V_DRIP) {
		/* One write per byte; the 1 ms gaps (which make separate reads
		 * likely on the other side) stop after DRIP_GAPS bytes so that a
		 * 64 KiB request does not take a minute. */
		for (size_t i = 0; i < n; i++) {
			if (write_piece(R, p + i, 1) < 0)
				return;
			if (i + 1 < n && i < DRIP_GAPS)
				sw__cf_sleep_ms(1);
		}
		return;
	}
	write_piece(R, p, n);
}

static int ensure_conn(sw__cf_run *R)
{
	if (R->conn.m)
		return 0;
	if (R->o->target != SW_CF_TARGET_CLIENT)
		return SW_ERR_STATE;
	int rc =
	    sw_tcp_accept(&R->conn.m, R->listen_fd, (int)sw__cf_scaled(R, R->o->timeout_ms), NULL);
	if (rc < 0)
		return rc;
	sw__cf_note(R->r, "accepted a connection from the client");
	R->conn.eof = false;
	R->conn.err = 0;
	R->conn.pos = R->conn.rx.len;
	return 0;
}

static void step_result(sw__cf_run *R, const sw_cf_step *st, bool ok, const char *expected, const char *actual)
{
	if (!R->r || R->v.kind != V_NORMAL)
		return;
	sw_cf_step_result *v = realloc(R->r->steps, (R->r->nsteps + 1) * sizeof *v);
	if (!v)
		return;
	R->r->steps = v;
	v[R->r->nsteps].line = st->line;
	v[R->r->nsteps].ok = ok;
	v[R->r->nsteps].expected = expected ? strdup(expected) : NULL;
	v[R->r->nsteps].actual = actual ? strdup(actual) : NULL;
	R->r->nsteps++;
}

static void failf(sw__cf_run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void failf(sw__cf_run *R, const char *fmt, ...)
{
	if (R->failed)
		return;
	R->failed = true;
	va_list ap;
	va_start(ap, fmt);
	char tmp[4096];
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	sw_buf_append_str(&R->why, tmp);
}

static void do_expect(sw__cf_run *R, const sw_cf_step *st)
{
	if (ensure_conn(R) < 0) {
		failf(R, "line %d: no connection from the client", st->line);
		return;
	}
	uint32_t within = st->within_ms ? st->within_ms : R->o->timeout_ms;
	int64_t deadline = sw__cf_now_ms() + sw__cf_scaled(R, within);
	sw_buf expected, actual;
	sw_buf_init(&expected, NULL);
	sw_buf_init(&actual, NULL);
	size_t save = R->conn.pos;
	bool ok = false, unknown_any = false;
	for (size_t a = 0; a < st->nalts && !ok; a++) {
		const sw_cf_alt *alt = &st->alts[a];
		if (a)
			sw_buf_append_str(&expected, "  |or|  ");
		for (size_t k = 0; k < alt->n; k++) {
			if (k)
				sw_buf_append_str(&expected, " then ");
			sw__cf_describe(&alt->atoms[k], &R->ctx, &expected);
		}
		R->conn.pos = save;
		sw_buf one;
		sw_buf_init(&one, NULL);
		ok = true;
		for (size_t k = 0; k < alt->n && ok; k++) {
			const sw_cf_atom *at = &alt->atoms[k];
			bool unknown = false;
			int64_t dl = at->kind == SW_CF_SILENCE ? sw__cf_now_ms() + sw__cf_scaled(R, at->ms) : deadline;
			int m = sw__cf_match(&R->conn, at, &R->ctx, dl, &one, &unknown);
			if (m <= 0)
				ok = false;
			if (unknown)
				unknown_any = true;
		}
		if (!ok && one.len) {
			if (actual.len)
				sw_buf_append_str(&actual, "  |and|  ");
			sw_buf_append(&actual, one.data, one.len);
		}
		sw_buf_fini(&one);
	}
	sw_buf_append_byte(&expected, 0);
	sw_buf_append_byte(&actual, 0);
	step_result(R, st, ok, (const char *)expected.data, ok ? NULL : (const char *)actual.data);
	if (!ok) {
		if (unknown_any)
			R->unknown = true;
		failf(R, "line %d: expected %s; got %s", st->line, (const char *)expected.data,
		      (const char *)actual.data);
	}
	sw_buf_fini(&expected);
	sw_buf_fini(&actual);
}

/* Parses the adapter's first output line: ok "bytes" | error CATEGORY ... */
static void do_result(sw__cf_run *R, const sw_cf_step *st)
{
	uint32_t within = st->within_ms ? st->within_ms : R->o->timeout_ms;
	int64_t deadline = sw__cf_now_ms() + sw__cf_scaled(R, within);
	sw__cf_conn out = {.m = R->proc, .r = NULL};
	sw_buf_init(&out.rx, NULL);
	bool done = false;
	unsigned refused = 0;
	while (!done) {
		/* Connections the case does not expect (a client retrying) are
		 * accepted and closed at once, so that the client sees a reset
		 * instead of waiting forever in the listen backlog. */
		sw_medium *extra = NULL;
		while (R->listen_fd >= 0 && sw_tcp_accept(&extra, R->listen_fd, 0, NULL) == 0) {
			sw_medium_del(extra);
			extra = NULL;
			refused++;
		}
		int64_t slice = sw__cf_now_ms() + 50;
		int f = sw__cf_conn_fill(&out, slice < deadline ? slice : deadline);
		if (f == SW_ERR_TIMEOUT && sw__cf_now_ms() < deadline)
			continue;
		if (f <= 0)
			done = true;
		if (f == SW_ERR_TIMEOUT) {
			step_result(R, st, false, st->text, "the client did not finish");
			failf(R, "line %d: the client did not finish within %lld ms", st->line,
			      (long long)sw__cf_scaled(R, within));
			sw_buf_fini(&out.rx);
			return;
		}
	}
	sw_buf_append_byte(&out.rx, 0);
	char *line = (char *)out.rx.data;
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	if (refused)
		sw__cf_note(R->r, "refused %u further connection(s) from the client", refused);
	sw__cf_note(R->r, "client output: %.300s", line);
	bool ok;
	char want[512] = "";
	if (st->result_ok) {
		ok = strncmp(line, "ok", 2) == 0 && (line[2] == ' ' || line[2] == '\0');
		if (ok && st->result_text) {
			sw_buf w, got;
			sw_buf_init(&w, NULL);
			sw_buf_init(&got, NULL);
			char e[200];
			sw_cf_eval(st->result_text, &R->ctx, &w, e, sizeof e);
			/* The adapter prints the result as a quoted string. */
			const char *q = line[2] ? line + 3 : "";
			char *tok = sw__cf_strf("%s", q);
			ok = tok && sw_cf_eval(tok, NULL, &got, e, sizeof e) == 0 && got.len == w.len &&
			     memcmp(got.data, w.data, w.len) == 0;
			free(tok);
			sw_buf_reset(&got);
			sw__cf_quote(&got, w.data, w.len, 200);
			sw_buf_append_byte(&got, 0);
			snprintf(want, sizeof want, "ok %s", (const char *)got.data);
			sw_buf_fini(&w);
			sw_buf_fini(&got);
		} else
			snprintf(want, sizeof want, "ok");
	} else {
		const char *cat = st->result_text && strcmp(st->result_text, "*") ? st->result_text : NULL;
		ok = strncmp(line, "error", 5) == 0 && (line[5] == ' ' || line[5] == '\0');
		if (ok && cat) {
			size_t cl = strlen(cat);
			ok = strncmp(line + 6, cat, cl) == 0 && (line[6 + cl] == ' ' || line[6 + cl] == '\0');
		}
		snprintf(want, sizeof want, "error %s", cat ? cat : "(any)");
	}
	step_result(R, st, ok, want, ok ? NULL : line);
	if (!ok)
		failf(R, "line %d: the client should report %s; it reported: %.600s", st->line, want,
		      *line ? line : "(nothing)");
	sw_buf_fini(&out.rx);
}

/* Executes the steps; returns true if the eof phase of an EOF variant was
 * entered (the remaining steps are skipped). */
static bool do_steps(sw__cf_run *R)
{
	const sw_cf_case *c = R->c;
	for (size_t i = 0; i < c->nsteps && !R->failed; i++) {
		const sw_cf_step *st = &c->steps[i];
		switch (st->kind) {
		case SW_CF_STEP_SEND: {
			if (ensure_conn(R) < 0) {
				failf(R, "line %d: no connection from the client", st->line);
				break;
			}
			if (R->pre_send)
				sw__cf_snap_take(R->dir, &R->pre_send[i]);
			if (R->v.kind == V_EOF && R->v.step == i)
				sw__cf_snap_take(R->dir, &R->pre_cut);
			sw_buf b;
			sw_buf_init(&b, NULL);
			char err[200] = "";
			if (sw__cf_encode(&st->alts[0].atoms[0], &R->ctx, &b, err, sizeof err) < 0)
				failf(R, "line %d: %s", st->line, err);
			else
				send_bytes(R, i, b.data, b.len);
			sw_buf_fini(&b);
			if (R->v.kind == V_EOF && R->v.step == i)
				return true;
			break;
		}
		case SW_CF_STEP_CLOSE:
			if (R->conn.m)
				sw_medium_shutdown_write(R->conn.m);
			sw__cf_note(R->r, "closed our sending side");
			break;
		case SW_CF_STEP_PAUSE:
			sw__cf_sleep_ms(sw__cf_scaled(R, st->ms));
			break;
		case SW_CF_STEP_ACCEPT:
			if (R->conn.m)
				sw_medium_del(R->conn.m);
			R->conn.m = NULL;
			if (ensure_conn(R) < 0)
				failf(R, "line %d: the client did not connect within %lld ms", st->line,
				      (long long)sw__cf_scaled(R, R->o->timeout_ms));
			break;
		case SW_CF_STEP_DISCONNECT:
			if (R->conn.m)
				sw_medium_del(R->conn.m);
			R->conn.m = NULL;
			R->conn.pos = R->conn.rx.len;
			sw__cf_note(R->r, "closed the connection");
			break;
		case SW_CF_STEP_EXPECT:
			do_expect(R, st);
			break;
		case SW_CF_STEP_RESULT:
			do_result(R, st);
			break;
		}
	}
	return false;
}

/* After the steps of a server case: close our side and make sure nothing
 * unexpected follows. */
static void trailing_check(sw__cf_run *R)
{
	if (!R->conn.m)
		return;
	sw_medium_shutdown_write(R->conn.m);
	int64_t deadline = sw__cf_now_ms() + sw__cf_scaled(R, GRACE_MS);
	while (!R->conn.eof) {
		int f = sw__cf_conn_fill(&R->conn, deadline);
		if (f == SW_ERR_TIMEOUT) {
			sw__cf_note(R->r, "the peer did not close within %lld ms after our end of stream",
			            (long long)sw__cf_scaled(R, GRACE_MS));
			break;
		}
		if (f < 0)
			break;
	}
	if (R->conn.rx.len > R->conn.pos && !R->c->trailing_ok) {
		sw_buf q;
		sw_buf_init(&q, NULL);
		sw__cf_quote(&q, R->conn.rx.data + R->conn.pos, R->conn.rx.len - R->conn.pos, 300);
		sw_buf_append_byte(&q, 0);
		failf(R, "unexpected bytes after the last expected message (offset %zu): %s", R->conn.pos,
		      (const char *)q.data);
		sw_buf_fini(&q);
	}
}

/* The end of an eof variant: no new bytes, a close, no half-written data. */
/* `post` is the normal run's tree once the cut request was complete and
 * answered (before the next request, or at the end). */
static void eof_phase(sw__cf_run *R, const sw_buf *normal_rx, const sw__cf_snap *post,
                      const char *normal_root)
{
	int64_t deadline = sw__cf_now_ms() + sw__cf_scaled(R, R->o->timeout_ms);
	while (!R->conn.eof) {
		int f = sw__cf_conn_fill(&R->conn, deadline);
		if (f == SW_ERR_TIMEOUT) {
			failf(R, "after end of stream in the middle of a request the connection stayed open for %lld ms",
			      (long long)sw__cf_scaled(R, R->o->timeout_ms));
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
		failf(R, "after end of stream in the middle of a request the peer sent bytes the complete request "
		         "does not produce, from offset %zu: %s", k, (const char *)q.data);
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
			failf(R, "half-applied request: %s", (const char *)why.data);
		}
		sw_buf_fini(&why);
		sw__cf_snap_free(&now);
	}
}

/* One run.  For the normal variant, *final receives the tree afterwards. */
static void run_variant(sw__cf_run *R, const sw_buf *normal_rx, const sw__cf_snap *post,
                        const char *normal_root, sw__cf_snap *final)
{
	char err[256] = "";
	memset(&R->conn, 0, sizeof R->conn);
	sw_buf_init(&R->conn.rx, NULL);
	R->conn.r = R->r;
	R->listen_fd = -1;
	if (sw__cf_fixture_make(R->c, R->o->workdir, R->dir, sizeof R->dir, err, sizeof err) < 0) {
		failf(R, "%s", err);
		return;
	}
	R->ctx.root = R->dir;
	R->ctx.version = "3.3.2";
	if (sw__cf_snap_take(R->dir, &R->initial) < 0)
		failf(R, "cannot read the fixture");
	if (!R->failed && sw__cf_target_start(R) < 0)
		R->failed = true;
	if (!R->failed) {
		bool eof = do_steps(R);
		if (eof && !R->failed)
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
			failf(R, "after-checks: %s", (const char *)why.data);
		}
		sw_buf_fini(&why);
	}
	if (final)
		sw__cf_snap_take(R->dir, final);
	sw__cf_snap_free(&R->initial);
	sw__cf_snap_free(&R->pre_cut);
	if (!R->o->keep)
		sw__cf_rmtree(R->dir);
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
	if (o->sweep == SW_CF_SWEEP_NONE || c->role != SW_CF_ROLE_SERVER || c->sweep == 0 ||
	    waits_on_purpose(c))
		return false;
	return c->sweep == 1 || o->sweep == SW_CF_SWEEP_ALL || has_tag(c, "framing");
}

static const char *skip_reason(const sw_cf_case *c, const sw_cf_opts *o)
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
	return NULL;
}

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
	char err[200];
	size_t n = sw__cf_encode(&st->alts[0].atoms[0], ctx, &b, err, sizeof err) == 0 ? b.len : 0;
	sw_buf_fini(&b);
	return n;
}

int sw_cf_run_case(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r)
{
	memset(r, 0, sizeof *r);
	r->c = c;
	r->exit_status = -1;
	int64_t t0 = sw__cf_now_ms();
	const char *skip = skip_reason(c, o);
	if (skip) {
		r->outcome = SW_CF_OUT_SKIP;
		r->verdict = SW_CF_SKIPPED;
		r->reason = strdup(skip);
		return r->reason ? 0 : SW_ERR_NOMEM;
	}
	sw__cf_run R = {.c = c, .o = o, .r = r};
	sw_buf_init(&R.why, NULL);
	sw__cf_snap final = {0};
	bool sweep = sweeps_apply(c, o);
	if (sweep && !(R.pre_send = calloc(c->nsteps + 1, sizeof *R.pre_send))) {
		sw_buf_fini(&R.why);
		return SW_ERR_NOMEM;
	}
	run_variant(&R, NULL, NULL, NULL, &final);
	sw_buf normal_rx = R.conn.rx; /* keep the bytes for the eof variants */
	if (!R.failed && sweep) {
		/* Request lengths for the sweeps.  They depend on {root} only
		 * through its length, the same for every mkdtemp() directory. */
		sw_cf_ctx lctx = {.root = R.dir, .version = "3.3.2"};
		size_t maxlen = 0;
		for (size_t i = 0; i < c->nsteps; i++) {
			size_t n = send_len(c, i, &lctx);
			if (n > maxlen)
				maxlen = n;
		}
		/* split@k, drip, then eof@s:k */
		for (size_t pass = 0; pass < 3 && !R.failed; pass++) {
			size_t count = pass == 0 ? (maxlen > 1 ? maxlen - 1 : 0) : pass == 1 ? 1 : c->nsteps;
			for (size_t j = 0; j < count && !R.failed; j++) {
				size_t klim = 1;
				if (pass == 2) {
					klim = c->steps[j].kind == SW_CF_STEP_SEND ? send_len(c, j, &lctx) : 0;
				}
				for (size_t k = 0; k < klim && !R.failed; k++) {
					if ((pass == 0 && !sweep_offset(j + 1, maxlen)) ||
					    (pass == 2 && !sweep_offset(k, klim)))
						continue;
					sw_cf_result scratch;
					memset(&scratch, 0, sizeof scratch);
					scratch.exit_status = -1;
					sw__cf_run V = {.c = c, .o = o, .r = &scratch};
					sw_buf_init(&V.why, NULL);
					V.v.kind = pass == 0 ? V_SPLIT : pass == 1 ? V_DRIP : V_EOF;
					V.v.k = pass == 0 ? j + 1 : k;
					V.v.step = j;
					/* The tree after the cut request in the normal run:
					 * before the next request, or at the end. */
					const sw__cf_snap *post = &final;
					for (size_t q = j + 1; pass == 2 && q < c->nsteps; q++)
						if (c->steps[q].kind == SW_CF_STEP_SEND) {
							post = &R.pre_send[q];
							break;
						}
					run_variant(&V, &normal_rx, post, R.dir, NULL);
					sw_buf_fini(&V.conn.rx);
					r->variants++;
					if (V.failed) {
						R.failed = true;
						R.unknown = false;
						r->variant = pass == 0 ? sw__cf_strf("split@%zu", V.v.k)
						             : pass == 1 ? strdup("drip")
						                         : sw__cf_strf("eof@%zu (request on line %d)", V.v.k,
						                                       c->steps[j].line);
						sw_buf_append_byte(&V.why, 0);
						sw_buf_reset(&R.why);
						sw__cf_appendf(&R.why, "variant %s: %s", r->variant, (const char *)V.why.data);
						/* The failing variant's transcript is the evidence. */
						for (size_t e = 0; e < r->nevents; e++)
							free(r->events[e].p);
						free(r->events);
						r->events = scratch.events;
						r->nevents = scratch.nevents;
						scratch.events = NULL;
						scratch.nevents = 0;
						free(r->stderr_text);
						r->stderr_text = scratch.stderr_text;
						scratch.stderr_text = NULL;
						r->exit_status = scratch.exit_status;
					}
					sw_buf_fini(&V.why);
					sw_cf_result_fini(&scratch);
				}
			}
		}
	}
	sw_buf_fini(&normal_rx);
	sw__cf_snap_free(&final);
	if (R.pre_send) {
		for (size_t i = 0; i < c->nsteps; i++)
			sw__cf_snap_free(&R.pre_send[i]);
		free(R.pre_send);
	}
	r->ms = (double)(sw__cf_now_ms() - t0);
	if (R.failed) {
		r->outcome = R.unknown ? SW_CF_OUT_UNIMPLEMENTED : SW_CF_OUT_FAIL;
		sw_buf_append_byte(&R.why, 0);
		r->reason = strdup((const char *)R.why.data);
	} else
		r->outcome = SW_CF_OUT_PASS;
	sw_buf_fini(&R.why);
	r->verdict = sw_cf_decide(c->level, r->outcome, false);
	return 0;
}
