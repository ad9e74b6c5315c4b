/*
 * Conformance runner: the security oracle (testbench/oracle/oracle.h) around
 * every run.  The fixture is made inside an oracle world (secrets beside
 * and above the served directory); after the run every byte the peer sent
 * is scanned for a secret and the world is compared with its state before
 * the server started.  A finding names the request it came with: content
 * by the offset at which it arrived (after which request was sent), a
 * change by the first answer after which the oracle saw that entry changed.
 * The world is compared after every answer, so that a change a later
 * request undoes (a file written outside, then renamed back in) is caught.
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
	rc = sw__cf_fixture_fill(R->c, R->o, R->dir, &R->vars, ei);
	if (rc == 0 && R->c->role == SW_CF_ROLE_SERVER &&
	    sw_oracle_arm(R->oracle, !R->c->allow_writes) < 0)
		rc = sw_errinfo_set(ei, SW_ERR_IO, 0, "cannot record the world around %s", R->dir);
	if (rc < 0) {
		sw_oracle_del(R->oracle, R->o->keep);
		R->oracle = NULL;
		return rc;
	}
	R->nchanged = 0;
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
	for (size_t i = 0; i < R->nchanged; i++) {
		free(R->changed[i]);
		free(R->changed_text[i]);
	}
	free(R->changed);
	free(R->changed_text);
	free(R->changed_step);
	R->changed = NULL;
	R->changed_text = NULL;
	R->changed_step = NULL;
	R->nchanged = 0;
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

/* The index of a recorded change of `entry`, or SIZE_MAX. */
static size_t changed_index(const sw__cf_run *R, const char *entry)
{
	for (size_t i = 0; i < R->nchanged; i++)
		if (strcmp(R->changed[i], entry) == 0)
			return i;
	return SIZE_MAX;
}

static size_t changed_step(const sw__cf_run *R, const char *entry)
{
	size_t i = changed_index(R, entry);
	return i == SIZE_MAX ? SIZE_MAX : R->changed_step[i];
}

void sw__cf_note_change(sw__cf_run *R)
{
	if (!R->oracle || R->c->role != SW_CF_ROLE_SERVER || !sw_oracle_tree_changed(R->oracle))
		return;
	/* Which entries are new to the list: they changed with this answer. */
	sw_oracle_report rep;
	sw_oracle_report_init(&rep);
	size_t step = step_at(R, SIZE_MAX - 1);
	if (sw_oracle_check_tree(R->oracle, &rep) > 0)
		for (size_t i = 0; i < rep.n; i++) {
			if (changed_index(R, rep.v[i].secret) != SIZE_MAX)
				continue;
			size_t n = R->nchanged + 1;
			char **nc = realloc(R->changed, n * sizeof *nc);
			if (nc)
				R->changed = nc;
			char **nt = nc ? realloc(R->changed_text, n * sizeof *nt) : NULL;
			if (nt)
				R->changed_text = nt;
			size_t *ns = nt ? realloc(R->changed_step, n * sizeof *ns) : NULL;
			if (!ns)
				break;
			R->changed_step = ns;
			char *e = strdup(rep.v[i].secret), *t = strdup(rep.v[i].text);
			if (!e || !t) {
				free(e);
				free(t);
				break;
			}
			R->changed[R->nchanged] = e;
			R->changed_text[R->nchanged] = t;
			R->changed_step[R->nchanged++] = step;
		}
	sw_oracle_report_fini(&rep);
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
			name_step(&R->sec, R, changed_step(R, f->secret), "after the answer to");
	}
	/* Changes seen after an answer but gone by the end: undone by a later
	 * request, and still a finding (the entry was outside, or inside a
	 * read-only server, for a while). */
	for (size_t i = 0; i < R->nchanged; i++) {
		bool final = false;
		for (size_t k = 0; k < rep.n && !final; k++)
			final = strcmp(rep.v[k].secret, R->changed[i]) == 0;
		if (final)
			continue;
		R->security = true;
		if (R->sec.len)
			sw_buf_append_str(&R->sec, "\n");
		sw__cf_appendf(&R->sec, "SECURITY %s: %s (undone by a later request)",
		               strncmp(R->changed[i], "srv/root/", 9) == 0 ? "inside change"
		                                                           : "outside change",
		               R->changed_text[i]);
		name_step(&R->sec, R, R->changed_step[i], "after the answer to");
	}
	sw_oracle_report_fini(&rep);
}
