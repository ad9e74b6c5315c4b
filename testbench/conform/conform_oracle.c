/*
 * Conformance runner: the security oracle (testbench/oracle/oracle.h) around
 * every run.  The fixture is made inside an oracle world (secrets beside
 * and above the served directory); after the run every byte the peer sent
 * is scanned for a secret and the world is compared with its state before
 * the server started.  A finding names the request it came with: content
 * by the offset at which it arrived (after which request was sent), a
 * change by the first answer after which the oracle saw the tree changed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

int sw__cf_world_make(sw__cf_run *R, sw_errinfo *ei)
{
	int rc = sw_oracle_new(&R->oracle, R->o->workdir, ei);
	if (rc < 0)
		return rc;
	snprintf(R->dir, sizeof R->dir, "%s", sw_oracle_root(R->oracle));
	rc = sw__cf_fixture_fill(R->c, R->dir, ei);
	if (rc == 0 && R->c->role == SW_CF_ROLE_SERVER &&
	    sw_oracle_arm(R->oracle, !R->c->allow_writes) < 0)
		rc = sw_errinfo_set(ei, SW_ERR_IO, 0, "cannot record the world around %s", R->dir);
	if (rc < 0) {
		sw_oracle_del(R->oracle, R->o->keep);
		R->oracle = NULL;
		return rc;
	}
	R->changed_after = SIZE_MAX;
	if (R->c->nsteps && (R->sent_at = malloc(R->c->nsteps * sizeof *R->sent_at)))
		for (size_t i = 0; i < R->c->nsteps; i++)
			R->sent_at[i] = SIZE_MAX;
	return 0;
}

void sw__cf_world_del(sw__cf_run *R)
{
	sw_oracle_del(R->oracle, R->o->keep);
	R->oracle = NULL;
	free(R->sent_at);
	R->sent_at = NULL;
}

/* The last send step before `off` bytes had been received, or SIZE_MAX. */
static size_t step_at(const sw__cf_run *R, size_t off)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; R->sent_at && i < R->c->nsteps; i++)
		if (R->sent_at[i] != SIZE_MAX && R->sent_at[i] <= off)
			best = i;
	return best;
}

void sw__cf_note_change(sw__cf_run *R)
{
	if (!R->oracle || R->c->role != SW_CF_ROLE_SERVER || R->changed_after != SIZE_MAX ||
	    !sw_oracle_tree_changed(R->oracle))
		return;
	R->changed_after = step_at(R, SIZE_MAX - 1);
}

/* " -- in the answer to line 12: send v3 request get /x" */
static void name_step(sw_buf *out, const sw__cf_run *R, size_t step, const char *how)
{
	if (step == SIZE_MAX) {
		sw__cf_appendf(out, " (%s)",
		               how[0] == 'i' ? "before any request" : "by the end of the run");
		return;
	}
	const sw_cf_step *st = &R->c->steps[step];
	const char *t = st->text ? st->text : "";
	size_t n = strcspn(t, "\n");
	sw__cf_appendf(out, " -- %s line %d: %.*s", how, st->line, (int)(n > 240 ? 240 : n), t);
}

void sw__cf_world_judge(sw__cf_run *R)
{
	if (!R->oracle || R->c->role != SW_CF_ROLE_SERVER)
		return;
	sw_oracle_report rep;
	sw_oracle_report_init(&rep);
	int rc = sw_oracle_scan(
	    R->oracle, R->conn.rx.data ? R->conn.rx.data : (const uint8_t *)"", R->conn.rx.len,
	    R->conn.tx.data ? R->conn.tx.data : (const uint8_t *)"", R->conn.tx.len, &rep);
	if (rc >= 0)
		rc = sw_oracle_check_tree(R->oracle, &rep);
	if (rc < 0 && rc != SW_ERR_STATE) {
		sw__cf_failf(R, "the security oracle failed: %s", sw_errname(rc));
	}
	for (size_t i = 0; i < rep.n; i++) {
		const sw_oracle_finding *f = &rep.v[i];
		R->security = true;
		if (R->sec.len)
			sw_buf_append_str(&R->sec, "\n");
		sw__cf_appendf(&R->sec, "SECURITY %s: %s", sw_oracle_kind_name(f->kind), f->text);
		if (f->kind == SW_ORACLE_CONTENT || f->kind == SW_ORACLE_NAME)
			name_step(&R->sec, R, step_at(R, f->offset), "in the answer to");
		else
			name_step(&R->sec, R, R->changed_after, "after the answer to");
	}
	sw_oracle_report_fini(&rep);
}
