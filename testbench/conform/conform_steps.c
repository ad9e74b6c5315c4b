/*
 * Conformance runner: executing the steps of one run (conformance/FORMAT.md,
 * "Steps"): sending (shaped by the variant: split, dripped or cut), the
 * expectations with their alternatives, the client target's result line,
 * and the connection steps of client cases.
 *
 * Waits: every wait has a deadline from the case (within/silence) or the
 * default timeout; a wait for bytes also gets the calibration (the
 * target's measured round trip, sw__cf_wait_ms) and everything is
 * multiplied by the scale.  The only sleeps are the pauses a case asks
 * for, the 1 ms gaps between the pieces of split/drip writes and the
 * pauses of the pause variants, which shape traffic and never decide an
 * outcome.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"

#define DRIP_GAPS 256 /* bytes of a dripped request followed by a 1 ms gap */

static int write_piece(sw__cf_run *R, const uint8_t *p, size_t n)
{
	if (!n)
		return 0;
	size_t done = 0;
	int rc = sw_medium_write_all(R->conn.m, p, n, &done);
	sw__cf_record(R->r, '>', p, done);
	sw_buf_append(&R->conn.tx, p, done);
	if (rc < 0)
		sw__cf_note(R->r, "write failed after %zu of %zu bytes: %s", done, n,
		            sw_errname(rc));
	return rc;
}

static void send_bytes(sw__cf_run *R, size_t step, const uint8_t *p, size_t n)
{
	if (R->v.kind == V_EOF && R->v.step == step) {
		write_piece(R, p, R->v.k);
		sw_medium_shutdown_write(R->conn.m);
		sw__cf_note(R->r,
		            "eof@%zu: end of stream after %zu of the %zu bytes of this request",
		            R->v.k, R->v.k, n);
		return;
	}
	if (R->v.kind == V_SPLIT && R->v.k < n) {
		if (write_piece(R, p, R->v.k) == 0) {
			sw__cf_sleep_ms(1);
			write_piece(R, p + R->v.k, n - R->v.k);
		}
		return;
	}
	if ((R->v.kind == V_PAUSE || R->v.kind == V_LONGPAUSE) && R->v.step == step && n > 1) {
		/* Pieces at 1/3 and 2/3 (or the middle), each pause shorter
		 * (longer) than the idle timeout this run gives the server. */
		size_t cuts[3] = {0, n / 3, 2 * n / 3};
		size_t ncuts = 3;
		if (R->v.kind == V_LONGPAUSE || n < 3) {
			cuts[1] = n / 2;
			ncuts = 2;
		}
		for (size_t k = 0; k < ncuts; k++) {
			size_t a = cuts[k], b = k + 1 < ncuts ? cuts[k + 1] : n;
			if (k) {
				sw__cf_note(R->r, "paused %lld ms after %zu of the %zu bytes",
				            (long long)sw__cf_scaled(R, (uint32_t)R->v.k), a, n);
				sw__cf_sleep_ms(sw__cf_scaled(R, (uint32_t)R->v.k));
			}
			if (write_piece(R, p + a, b - a) < 0)
				return;
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
	    sw_tcp_accept(&R->conn.m, R->listen_fd, (int)sw__cf_wait_ms(R, R->o->timeout_ms), NULL);
	if (rc < 0)
		return rc;
	sw__cf_note(R->r, "accepted a connection from the client");
	R->conn.eof = false;
	R->conn.err = 0;
	R->conn.pos = R->conn.rx.len;
	return 0;
}

static void step_result(sw__cf_run *R, const sw_cf_step *st, bool ok, const char *expected,
                        const char *actual)
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

void sw__cf_failf(sw__cf_run *R, const char *fmt, ...)
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

/* After a matched alternative: the captures of the step (from its last
 * message) and the differential (every message). */
static void after_match(sw__cf_run *R, const sw_cf_step *st, size_t step, const sw_cf_alt *alt,
                        sw__cf_msg *got)
{
	const sw__cf_msg *last = NULL;
	for (size_t k = 0; k < alt->n; k++)
		if (alt->atoms[k].kind == SW_CF_MSG)
			last = &got[k];
	if (st->ncaps) {
		sw_buf why;
		sw_buf_init(&why, NULL);
		if (!last)
			sw__cf_appendf(
			    &why, "line %d: capture: the expectation matched no v1/v2/v3 message",
			    st->line);
		if (!last || !sw__cf_capture(st, last, &R->ctx, &R->vars, &why)) {
			sw_buf_append_byte(&why, 0);
			sw__cf_failf(R, "%s", (const char *)why.data);
		}
		sw_buf_fini(&why);
	}
	/* After the captures, so that the differential sees this step's
	 * tokens as variables too. */
	for (size_t k = 0; k < alt->n && !R->failed; k++)
		if (alt->atoms[k].kind == SW_CF_MSG)
			sw__cf_ref_observe(R, step, k, &alt->atoms[k], &got[k]);
}

static void do_expect(sw__cf_run *R, const sw_cf_step *st, size_t step)
{
	if (ensure_conn(R) < 0) {
		sw__cf_failf(R, "line %d: no connection from the client", st->line);
		return;
	}
	uint32_t within = st->within_ms ? st->within_ms : R->o->timeout_ms;
	int64_t deadline = sw_clock_ms() + sw__cf_wait_ms(R, within);
	sw_buf expected, actual;
	sw_buf_init(&expected, NULL);
	sw_buf_init(&actual, NULL);
	size_t save = R->conn.pos;
	bool ok = false, unknown_any = false;
	const sw_cf_alt *matched = NULL;
	sw__cf_msg *got = NULL;
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
		got = calloc(alt->n + 1, sizeof *got);
		ok = got != NULL;
		for (size_t k = 0; k < alt->n && ok; k++) {
			const sw_cf_atom *at = &alt->atoms[k];
			bool unknown = false;
			int64_t dl = at->kind == SW_CF_SILENCE
			                 ? sw_clock_ms() + sw__cf_scaled(R, at->ms)
			                 : deadline;
			int m = sw__cf_match(&R->conn, at, &R->ctx, dl, &one, &unknown, &got[k]);
			if (m <= 0)
				ok = false;
			if (unknown)
				unknown_any = true;
		}
		if (ok)
			matched = alt;
		if (!ok && one.len) {
			if (actual.len)
				sw_buf_append_str(&actual, "  |and|  ");
			sw_buf_append(&actual, one.data, one.len);
		}
		sw_buf_fini(&one);
		if (!ok && got) {
			for (size_t k = 0; k < alt->n; k++)
				sw__cf_msg_free(&got[k]);
			free(got);
			got = NULL;
		}
	}
	sw_buf_append_byte(&expected, 0);
	sw_buf_append_byte(&actual, 0);
	step_result(R, st, ok, (const char *)expected.data, ok ? NULL : (const char *)actual.data);
	if (!ok) {
		if (unknown_any && !R->failed)
			R->unknown = true;
		sw__cf_failf(R, "line %d: expected %s; got %s", st->line,
		             (const char *)expected.data, (const char *)actual.data);
		/* keep-going: the next expect starts after whatever came. */
		if (R->c->keep_going)
			R->conn.pos = R->conn.rx.len;
	} else {
		after_match(R, st, step, matched, got);
	}
	if (got) {
		for (size_t k = 0; matched && k < matched->n; k++)
			sw__cf_msg_free(&got[k]);
		free(got);
	}
	sw_buf_fini(&expected);
	sw_buf_fini(&actual);
}

/* Reads the client's output until it ends (or the deadline passes: false).
 * Connections the case does not expect (a client retrying) are accepted and
 * closed at once meanwhile, so that the client sees a reset instead of
 * waiting forever in the listen backlog; *refused counts them. */
static bool client_output(sw__cf_run *R, int64_t deadline, sw__cf_conn *out, unsigned *refused)
{
	for (;;) {
		sw_medium *extra = NULL;
		while (R->listen_fd >= 0 && sw_tcp_accept(&extra, R->listen_fd, 0, NULL) == 0) {
			sw_medium_del(extra);
			extra = NULL;
			++*refused;
		}
		int64_t slice = sw_clock_ms() + 50;
		int f = sw__cf_conn_fill(out, slice < deadline ? slice : deadline);
		if (f == SW_ERR_TIMEOUT && sw_clock_ms() < deadline)
			continue;
		if (f == SW_ERR_TIMEOUT)
			return false;
		if (f <= 0)
			return true;
	}
}

/* Whether the adapter's first output line is what the step wants:
 * ok "bytes" | error CATEGORY ...; `want` receives the wanted line. */
static bool result_matches(const sw__cf_run *R, const sw_cf_step *st, const char *line, char *want,
                           size_t cap)
{
	bool ok;
	if (!st->result_ok) {
		const char *cat =
		    st->result_text && strcmp(st->result_text, "*") ? st->result_text : NULL;
		ok = strncmp(line, "error", 5) == 0 && (line[5] == ' ' || line[5] == '\0');
		if (ok && cat) {
			size_t cl = strlen(cat);
			ok = strncmp(line + 6, cat, cl) == 0 &&
			     (line[6 + cl] == ' ' || line[6 + cl] == '\0');
		}
		snprintf(want, cap, "error %s", cat ? cat : "(any)");
		return ok;
	}
	ok = strncmp(line, "ok", 2) == 0 && (line[2] == ' ' || line[2] == '\0');
	if (!ok || !st->result_text) {
		snprintf(want, cap, "ok");
		return ok;
	}
	sw_buf w, got;
	sw_buf_init(&w, NULL);
	sw_buf_init(&got, NULL);
	sw_cf_eval(st->result_text, &R->ctx, &w, NULL); /* checked by the parser */
	/* The adapter prints the result as a quoted string. */
	const char *q = line[2] ? line + 3 : "";
	char *tok = sw__cf_strf("%s", q);
	ok = tok && sw_cf_eval(tok, NULL, &got, NULL) == 0 && got.len == w.len &&
	     memcmp(got.data, w.data, w.len) == 0;
	free(tok);
	sw_buf_reset(&got);
	sw__cf_quote(&got, w.data, w.len, 200);
	sw_buf_append_byte(&got, 0);
	snprintf(want, cap, "ok %s", (const char *)got.data);
	sw_buf_fini(&w);
	sw_buf_fini(&got);
	return ok;
}

void sw__cf_client_cut_result(sw__cf_run *R)
{
	int64_t deadline = sw_clock_ms() + sw__cf_scaled(R, R->o->timeout_ms);
	sw__cf_conn out = {.m = R->proc, .r = NULL};
	sw_buf_init(&out.rx, NULL);
	unsigned refused = 0;
	if (!client_output(R, deadline, &out, &refused)) {
		sw__cf_failf(R,
		             "after end of stream in the middle of a response the client did not "
		             "finish within %lld ms",
		             (long long)sw__cf_scaled(R, R->o->timeout_ms));
	} else {
		sw_buf_append_byte(&out.rx, 0);
		char *line = (char *)out.rx.data;
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		sw__cf_note(R->r, "client output: %.300s", line);
		if (strncmp(line, "error", 5) != 0 || (line[5] != ' ' && line[5] != '\0'))
			sw__cf_failf(R,
			             "after end of stream in the middle of a response the client "
			             "reported: %.600s (an error was due)",
			             *line ? line : "(nothing)");
	}
	sw_buf_fini(&out.rx);
}

/* The client command's outcome: its first output line. */
static void do_result(sw__cf_run *R, const sw_cf_step *st)
{
	uint32_t within = st->within_ms ? st->within_ms : R->o->timeout_ms;
	int64_t deadline = sw_clock_ms() + sw__cf_wait_ms(R, within);
	sw__cf_conn out = {.m = R->proc, .r = NULL};
	sw_buf_init(&out.rx, NULL);
	unsigned refused = 0;
	if (!client_output(R, deadline, &out, &refused)) {
		step_result(R, st, false, st->text, "the client did not finish");
		sw__cf_failf(R, "line %d: the client did not finish within %lld ms", st->line,
		             (long long)sw__cf_wait_ms(R, within));
		sw_buf_fini(&out.rx);
		return;
	}
	sw_buf_append_byte(&out.rx, 0);
	char *line = (char *)out.rx.data;
	char *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	if (refused)
		sw__cf_note(R->r, "refused %u further connection(s) from the client", refused);
	sw__cf_note(R->r, "client output: %.300s", line);
	char want[512];
	bool ok = result_matches(R, st, line, want, sizeof want);
	step_result(R, st, ok, want, ok ? NULL : line);
	if (!ok)
		sw__cf_failf(R, "line %d: the client should report %s; it reported: %.600s",
		             st->line, want, *line ? line : "(nothing)");
	sw_buf_fini(&out.rx);
}

bool sw__cf_do_steps(sw__cf_run *R)
{
	const sw_cf_case *c = R->c;
	for (size_t i = 0; i < c->nsteps && (!R->failed || c->keep_going); i++) {
		const sw_cf_step *st = &c->steps[i];
		switch (st->kind) {
		case SW_CF_STEP_SEND: {
			if (ensure_conn(R) < 0) {
				sw__cf_failf(R, "line %d: no connection from the client", st->line);
				break;
			}
			if (R->pre_send)
				sw__cf_snap_take(R->dir, &R->pre_send[i]);
			if ((R->v.kind == V_EOF || R->v.kind == V_LONGPAUSE) && R->v.step == i)
				sw__cf_snap_take(R->dir, &R->pre_cut);
			if (R->sent_at)
				R->sent_at[i] = R->conn.rx.len;
			sw_buf b;
			sw_buf_init(&b, NULL);
			sw_errinfo ei;
			if (sw__cf_encode(&st->alts[0].atoms[0], &R->ctx, &b, &ei) < 0)
				sw__cf_failf(R, "line %d: %s", st->line, ei.text);
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
		case SW_CF_STEP_PAUSE: sw__cf_sleep_ms(sw__cf_scaled(R, st->ms)); break;
		case SW_CF_STEP_ACCEPT:
			if (R->conn.m)
				sw_medium_del(R->conn.m);
			R->conn.m = NULL;
			if (ensure_conn(R) < 0)
				sw__cf_failf(
				    R, "line %d: the client did not connect within %lld ms",
				    st->line, (long long)sw__cf_wait_ms(R, R->o->timeout_ms));
			break;
		case SW_CF_STEP_DISCONNECT:
			if (R->conn.m)
				sw_medium_del(R->conn.m);
			R->conn.m = NULL;
			R->conn.pos = R->conn.rx.len;
			sw__cf_note(R->r, "closed the connection");
			break;
		case SW_CF_STEP_EXPECT:
			do_expect(R, st, i);
			sw__cf_note_change(R);
			break;
		case SW_CF_STEP_RESULT: do_result(R, st); break;
		}
	}
	return false;
}
