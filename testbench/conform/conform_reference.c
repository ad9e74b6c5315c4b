/*
 * Conformance runner: the differential against a reference implementation
 * (conformance/FORMAT.md, "Differential").
 *
 * With --reference-cmd (or --reference-tcp-cmd) every selected server case
 * runs twice: first against the reference, once, on a fixture of its own
 * that is identical to the target's, then against the target.  Each run
 * keeps, for every message atom that matched, the DECODED message as a
 * canonical text (version, status, arguments, body, stream error; headers
 * are not part of it, so the Software version never counts).  An atom
 * marked "same as reference", or every message atom with --differential,
 * must give the same text in both runs after normalisation:
 *
 *   - each run's served directory becomes {root};
 *   - each value a run captured (lock tokens, write-group tokens) becomes
 *     {NAME}: the two servers hand out different random tokens;
 *   - "filtered-<digits>" (the Python object id Breezy's jail transport
 *     puts in error messages) becomes "filtered-N".
 *
 * The first difference fails the case, and the result carries the
 * reference's transcript beside the target's for the reports.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"

void sw__cf_trace_free(sw__cf_trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].text);
	free(t->v);
	free(t->reason);
	memset(t, 0, sizeof *t);
}

/* Captured values shorter than this are not replaced: a captured "1" or
 * "ok" would rewrite unrelated text. */
#define MIN_CAPTURE 4

/* Replaces the run-specific parts of a canonical text (see above). */
static int normalise(sw_buf *out, const char *text, const char *root, const sw_cf_vars *vars)
{
	size_t n = strlen(text), rl = root ? strlen(root) : 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n;) {
		if (rl && n - i >= rl && memcmp(text + i, root, rl) == 0) {
			rc = sw_buf_append_str(out, "{root}");
			i += rl;
			continue;
		}
		/* The longest captured value that starts here. */
		const sw__cf_var *best = NULL;
		for (size_t k = 0; vars && k < vars->n; k++) {
			const sw__cf_var *v = &vars->v[k];
			if (strncmp(v->name, "rev:", 4) == 0 || v->n < MIN_CAPTURE || v->n > n - i)
				continue;
			if (memcmp(text + i, v->p, v->n) == 0 && (!best || v->n > best->n))
				best = v;
		}
		if (best) {
			rc = sw__cf_appendf(out, "{%s}", best->name);
			i += best->n;
			continue;
		}
		if (n - i > 9 && memcmp(text + i, "filtered-", 9) == 0 &&
		    isdigit((unsigned char)text[i + 9])) {
			rc = sw_buf_append_str(out, "filtered-N");
			for (i += 9; i < n && isdigit((unsigned char)text[i]); i++)
				;
			continue;
		}
		rc = sw_buf_append_byte(out, (uint8_t)text[i++]);
	}
	return rc ? rc : sw_buf_append_byte(out, 0);
}

static const char *find_ref(const sw__cf_trace *t, size_t step, size_t k)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].step == step && t->v[i].atom == k)
			return t->v[i].text;
	return NULL;
}

#define SHOWN 600

int sw__cf_msg_text(sw_buf *out, const sw__cf_msg *m)
{
	int rc = sw__cf_appendf(out, "v%d%s ", m->version,
	                        m->status == 2 ? " (odd status)"
	                                       : sw__cf_status_word(m->version, m->status));
	if (rc == 0)
		rc = m->args_not_list ? sw_buf_append_str(out, "(args not a list)")
		                      : sw__cf_items_describe(out, &m->args);
	if (rc == 0 && m->has_body) {
		rc = sw_buf_append_str(out, " body ");
		if (rc == 0)
			rc = sw__cf_quote(out, m->body.data, m->body.len, SIZE_MAX);
	}
	if (rc == 0 && m->has_error) {
		rc = sw_buf_append_str(out, " stream-error ");
		if (rc == 0)
			rc = sw__cf_items_describe(out, &m->eargs);
	}
	return rc;
}

static int cmp_line(const void *a, const void *b)
{
	const sw_slice *x = a, *y = b;
	size_t n = x->n < y->n ? x->n : y->n;
	int c = n ? memcmp(x->p, y->p, n) : 0;
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The body's lines sorted, joined by "\n".  Returns 0 or SW_ERR_NOMEM. */
static int sort_lines(const sw_buf *body, sw_buf *out)
{
	size_t n = 1;
	for (size_t i = 0; i < body->len; i++)
		n += body->data[i] == '\n';
	sw_slice *v = calloc(n, sizeof *v);
	if (!v)
		return SW_ERR_NOMEM;
	size_t k = 0, s = 0;
	for (size_t i = 0; i <= body->len; i++)
		if (i == body->len || body->data[i] == '\n') {
			v[k++] = (sw_slice){body->data + s, i - s};
			s = i + 1;
		}
	qsort(v, k, sizeof *v, cmp_line);
	int rc = 0;
	for (size_t i = 0; i < k && rc == 0; i++) {
		if (i)
			rc = sw_buf_append_byte(out, '\n');
		if (rc == 0)
			rc = sw_buf_append(out, v[i].p ? v[i].p : (const uint8_t *)"", v[i].n);
	}
	free(v);
	return rc;
}

void sw__cf_ref_observe(sw__cf_run *R, size_t step, size_t k, const sw_cf_atom *a,
                        const sw__cf_msg *m)
{
	bool compare = R->ref && (a->same_as_ref || R->o->differential);
	if ((!R->trace && !compare) || R->v.kind != V_NORMAL)
		return;
	sw_buf raw, norm;
	sw_buf_init(&raw, NULL);
	sw_buf_init(&norm, NULL);
	sw__cf_msg sorted = {0};
	if (a->has_lines && m->has_body) {
		/* Lines in any order: compared in a canonical (sorted) order. */
		sorted = *m;
		sw_buf_init(&sorted.body, NULL);
		if (sort_lines(&m->body, &sorted.body) < 0)
			goto out;
		m = &sorted;
	}
	if (sw__cf_msg_text(&raw, m) < 0 || sw_buf_append_byte(&raw, 0) < 0 ||
	    normalise(&norm, (const char *)raw.data, R->dir, &R->vars) < 0)
		goto out;
	const char *mine = (const char *)norm.data;
	if (R->trace) {
		sw__cf_trace_entry *v = realloc(R->trace->v, (R->trace->n + 1) * sizeof *v);
		if (v) {
			R->trace->v = v;
			v[R->trace->n].step = step;
			v[R->trace->n].atom = k;
			if ((v[R->trace->n].text = strdup(mine)))
				R->trace->n++;
		}
	}
	if (!compare)
		goto out;
	const char *theirs = find_ref(R->ref, step, k);
	int line = R->c->steps[step].line;
	if (!theirs) {
		sw__cf_appendf(
		    &R->diff,
		    "line %d: the reference gave no such answer (%s); the target answered "
		    "%.*s",
		    line, R->ref->reason ? R->ref->reason : "its run ended before this step", SHOWN,
		    mine);
	} else if (strcmp(theirs, mine) != 0) {
		size_t d = 0;
		while (theirs[d] && theirs[d] == mine[d])
			d++;
		size_t from = d > 80 ? d - 80 : 0;
		sw__cf_appendf(
		    &R->diff,
		    "line %d: differs from the reference at character %zu: the reference "
		    "answered %s%.*s; the target answered %s%.*s",
		    line, d, from ? "..." : "", SHOWN, theirs + from, from ? "..." : "", SHOWN,
		    mine + from);
	} else
		goto out;
	sw_buf_append_byte(&R->diff, 0);
	R->diff.len--; /* keep it a C string for the reason */
	sw__cf_failf(R, "%s", (const char *)R->diff.data);
out:
	sw_buf_fini(&raw);
	sw_buf_fini(&norm);
	sw_buf_fini(&sorted.body);
}

int sw__cf_ref_run(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r, sw__cf_trace *t)
{
	sw_cf_opts ro = *o;
	ro.target = o->reference_kind;
	ro.server_cmd = o->reference_cmd;
	ro.reference_cmd = NULL;
	ro.sweep = SW_CF_SWEEP_NONE; /* answers, not framing, are compared */
	sw_cf_result rr;
	int rc = sw__cf_run_traced(c, &ro, &rr, t);
	if (rc < 0)
		return rc;
	r->has_reference = true;
	r->ref_events = rr.events;
	r->ref_nevents = rr.nevents;
	rr.events = NULL;
	rr.nevents = 0;
	if (rr.outcome != SW_CF_OUT_PASS && rr.reason) {
		r->ref_reason = rr.reason;
		rr.reason = NULL;
	}
	if (rr.outcome != SW_CF_OUT_PASS && !t->reason)
		t->reason =
		    strdup(r->ref_reason ? r->ref_reason : "the reference did not run the case");
	sw_cf_result_fini(&rr);
	return 0;
}
