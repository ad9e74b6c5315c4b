/*
 * The campaign: -j workers take run numbers in order until --runs or
 * --time, each generating its session from (seed, run) and executing it.
 * A finding is kept per (class, verb), the one of the lowest run, so that
 * the same seed and runs give the same findings whatever the scheduling.
 * Then each kept finding is checked once more (a finding that does not
 * come back is reported as not reproduced), minimised, executed again for
 * its transcript, and written as a case file under --out.  A progress line
 * every two seconds: runs, runs/s, findings, and the coverage of the input
 * space: verbs seen per version, operators used, and the (version,
 * operator, answer class) cells reached.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"

typedef struct kept {
	sw_bb_class cls;
	char verb[64];
	int version;
	uint64_t run;
	size_t hits;
	char *detail;
} kept;

#define MAX_VERBS 512

typedef struct camp {
	sw_bb_campaign *c;
	sw_bb_seeds *seeds;
	pthread_mutex_t lock;
	uint64_t next, done, infra;
	int64_t t0, last_print;
	kept *k;
	size_t nk;
	char *verbs[3][MAX_VERBS];
	size_t nverbs[3];
	uint32_t ops_seen;
	bool cell[3][SW_BB_NOP][SW_BB_NANS];
	size_t ncells;
	size_t per_class[SW_BB_NCLASS];
	bool stop;
} camp;

static void note_verb(camp *C, int version, const char *verb)
{
	if (version < 1 || version > 3)
		return;
	char **v = C->verbs[version - 1];
	size_t *n = &C->nverbs[version - 1];
	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i], verb) == 0)
			return;
	if (*n < MAX_VERBS && (v[*n] = strdup(verb)))
		(*n)++;
}

static void account(camp *C, const sw_bb_session *s, const sw_bb_outcome *o, uint64_t run)
{
	for (size_t i = 0; i < s->n; i++) {
		char verb[64];
		sw_bb_req_verb(&s->v[i], verb, sizeof verb);
		int v = s->v[i].version;
		note_verb(C, v, verb);
		for (int op = 0; op < SW_BB_NOP; op++)
			if (s->ops_used & (1u << op))
				for (size_t a = 0; a < o->nans && v >= 1 && v <= 3; a++)
					if (!C->cell[v - 1][op][o->ans[a]]) {
						C->cell[v - 1][op][o->ans[a]] = true;
						C->ncells++;
					}
	}
	C->ops_seen |= s->ops_used;
	if (o->infra)
		C->infra++;
	if (!o->found)
		return;
	C->per_class[o->cls]++;
	for (size_t i = 0; i < C->nk; i++)
		if (C->k[i].cls == o->cls && strcmp(C->k[i].verb, o->verb) == 0) {
			C->k[i].hits++;
			if (run < C->k[i].run) {
				C->k[i].run = run;
				C->k[i].version = o->version;
				free(C->k[i].detail);
				C->k[i].detail = o->detail ? strdup(o->detail) : NULL;
			}
			return;
		}
	kept *nk = realloc(C->k, (C->nk + 1) * sizeof *nk);
	if (!nk)
		return;
	C->k = nk;
	kept *k = &C->k[C->nk++];
	memset(k, 0, sizeof *k);
	k->cls = o->cls;
	snprintf(k->verb, sizeof k->verb, "%s", o->verb);
	k->version = o->version;
	k->run = run;
	k->hits = 1;
	k->detail = o->detail ? strdup(o->detail) : NULL;
}

static void progress(camp *C, bool final)
{
	double t = (double)(sw_clock_ms() - C->t0) / 1000.0;
	size_t verbs = C->nverbs[0] + C->nverbs[1] + C->nverbs[2];
	int ops = __builtin_popcount(C->ops_seen);
	fprintf(C->c->log,
	        "%s[%6.1fs] runs %llu (%.1f/s)  findings %zu  coverage: %zu verb x version, "
	        "%d/%d operators, %zu/%d version x operator x answer%s",
	        final && C->c->quiet ? "" : "\r", t, (unsigned long long)C->done,
	        t > 0 ? (double)C->done / t : 0.0, C->nk, verbs, ops, SW_BB_NOP, C->ncells,
	        3 * SW_BB_NOP * SW_BB_NANS, final ? "\n" : "   ");
	fflush(C->c->log);
}

static void *worker(void *arg)
{
	camp *C = arg;
	sw_bb_campaign *c = C->c;
	for (;;) {
		pthread_mutex_lock(&C->lock);
		bool over =
		    C->stop || (c->runs && C->next >= c->runs) ||
		    (c->time_s > 0 && (double)(sw_clock_ms() - C->t0) >= c->time_s * 1000.0);
		uint64_t run = C->next++;
		pthread_mutex_unlock(&C->lock);
		if (over)
			return NULL;
		sw_bb_session s;
		sw_bb_outcome o;
		memset(&s, 0, sizeof s);
		int rc = c->o.cf.target == SW_CF_TARGET_CLIENT
		             ? sw_bb_exec_client(&c->o, C->seeds, c->seed, run, &o)
		             : sw_bb_generate(C->seeds, c->seed, run, &s);
		if (rc == 0 && c->o.cf.target != SW_CF_TARGET_CLIENT)
			rc = sw_bb_exec_differential(&c->o, &s, &o);
		if (rc < 0) {
			sw_bb_session_free(&s);
			continue;
		}
		pthread_mutex_lock(&C->lock);
		C->done++;
		account(C, &s, &o, run);
		if (!c->quiet && sw_clock_ms() - C->last_print >= 2000) {
			C->last_print = sw_clock_ms();
			progress(C, false);
		}
		pthread_mutex_unlock(&C->lock);
		sw_bb_outcome_fini(&o);
		sw_bb_session_free(&s);
	}
}

static int cmp_kept(const void *a, const void *b)
{
	const kept *x = a, *y = b;
	return x->run < y->run ? -1 : x->run > y->run;
}

/* Reproduce, minimise, write: one kept finding. */
static void settle(camp *C, kept *k)
{
	sw_bb_campaign *c = C->c;
	char name[200], verb[64];
	size_t o = 0;
	for (const char *p = k->verb; *p && o + 1 < sizeof verb; p++)
		verb[o++] =
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
		        ? *p
		        : '-';
	verb[o] = 0;
	snprintf(name, sizeof name, "%s-%s-v%d-run%llu", sw_bb_class_name(k->cls), verb, k->version,
	         (unsigned long long)k->run);
	if (c->o.cf.target == SW_CF_TARGET_CLIENT) {
		sw_bb_outcome out;
		if (sw_bb_exec_client(&c->o, C->seeds, c->seed, k->run, &out) == 0) {
			if (c->out_dir)
				sw_bb_write_client_case(c->out_dir, name, &out, c->seed, k->run);
			sw_bb_outcome_fini(&out);
		}
		fprintf(c->log, "  %-10s %-28s run %-6llu %s\n", sw_bb_class_name(k->cls), k->verb,
		        (unsigned long long)k->run, k->detail ? k->detail : "");
		return;
	}
	sw_bb_session s;
	if (sw_bb_generate(C->seeds, c->seed, k->run, &s) < 0)
		return;
	sw_bb_outcome out;
	sw_bb_exec_differential(&c->o, &s, &out);
	bool again = out.found && out.cls == k->cls;
	sw_bb_outcome_fini(&out);
	size_t used = 0;
	/* (a divergence needs both implementations: kept as found) */
	if (again && !c->no_minimise && k->cls != SW_BB_DIVERGENCE) {
		size_t budget = c->min_budget ? c->min_budget : 120;
		if (k->cls == SW_BB_HANG)
			budget = budget / 4 ? budget / 4 : 1;
		used = sw_bb_minimise(&c->o, &s, k->cls, budget);
	}
	sw_bb_exec_differential(&c->o, &s, &out);
	bool final = out.found && out.cls == k->cls;
	if (c->out_dir && again && final)
		sw_bb_write_case(c->out_dir, name, &s, &out, c->seed, k->run);
	fprintf(c->log,
	        "  %-10s %-28s run %-6llu x%-4zu %s%s (%zu requests after %zu executions)\n"
	        "             %s\n",
	        sw_bb_class_name(k->cls), k->verb, (unsigned long long)k->run, k->hits,
	        again ? "" : "NOT REPRODUCED ", final || !again ? "" : "(minimised run lost it)",
	        s.n, used, final ? out.detail : (k->detail ? k->detail : ""));
	if (c->out_dir && again && final)
		fprintf(c->log, "             case: %s/%s.case\n", c->out_dir, name);
	sw_bb_outcome_fini(&out);
	sw_bb_session_free(&s);
}

int sw_bb_run(sw_bb_campaign *c)
{
	camp C;
	memset(&C, 0, sizeof C);
	C.c = c;
	int rc = sw_bb_seeds_load(&C.seeds, c->corpus_dir, c->cases, c->quiet ? NULL : c->log);
	if (rc < 0)
		return rc;
	pthread_mutex_init(&C.lock, NULL);
	C.t0 = C.last_print = sw_clock_ms();
	int jobs = c->jobs > 0 ? c->jobs : 1;
	pthread_t th[64];
	int started = 0;
	for (int i = 0; i < jobs && i < 64; i++)
		if (pthread_create(&th[started], NULL, worker, &C) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	progress(&C, true);
	if (C.nk)
		qsort(C.k, C.nk, sizeof *C.k, cmp_kept);
	fprintf(c->log, "findings: %zu distinct (class, verb)", C.nk);
	for (int k = 0; k < SW_BB_NCLASS; k++)
		if (C.per_class[k])
			fprintf(c->log, ", %s %zu runs", sw_bb_class_name(k), C.per_class[k]);
	fprintf(c->log, "%s\n", C.infra ? " (some runs could not start the target)" : "");
	if (C.infra)
		fprintf(c->log, "runs that could not start the target: %llu\n",
		        (unsigned long long)C.infra);
	for (size_t i = 0; i < C.nk; i++)
		settle(&C, &C.k[i]);
	int found = (int)C.nk;
	for (size_t i = 0; i < C.nk; i++)
		free(C.k[i].detail);
	free(C.k);
	for (int v = 0; v < 3; v++)
		for (size_t i = 0; i < C.nverbs[v]; i++)
			free(C.verbs[v][i]);
	pthread_mutex_destroy(&C.lock);
	sw_bb_seeds_del(C.seeds);
	return found;
}

int sw_bb_show(sw_bb_campaign *c, uint64_t run)
{
	sw_bb_seeds *seeds;
	int rc = sw_bb_seeds_load(&seeds, c->corpus_dir, c->cases, NULL);
	if (rc < 0)
		return rc;
	sw_bb_session s;
	sw_bb_outcome o;
	memset(&s, 0, sizeof s);
	if (c->o.cf.target == SW_CF_TARGET_CLIENT)
		rc = sw_bb_exec_client(&c->o, seeds, c->seed, run, &o);
	else if ((rc = sw_bb_generate(seeds, c->seed, run, &s)) == 0)
		rc = sw_bb_exec(&c->o, &s, &o);
	if (rc == 0) {
		sw_buf q;
		sw_buf_init(&q, NULL);
		sw__bb_expr(&q, o.tx.data ? o.tx.data : (const uint8_t *)"", o.tx.len);
		fprintf(c->log, "run %llu: %zu requests, operators:", (unsigned long long)run, s.n);
		for (int k = 0; k < SW_BB_NOP; k++)
			if (s.ops_used & (1u << k))
				fprintf(c->log, " %s", sw_bb_op_name(k));
		fprintf(c->log, "\nsent     %.*s\n", (int)q.len, (const char *)q.data);
		q.len = 0;
		sw__bb_expr(&q, o.rx.data ? o.rx.data : (const uint8_t *)"", o.rx.len);
		fprintf(c->log, "received %.*s\nanswers ", (int)q.len,
		        q.data ? (const char *)q.data : "");
		for (size_t i = 0; i < o.nans; i++)
			fprintf(c->log, " %s", sw_bb_answer_name(o.ans[i]));
		fprintf(c->log, "\n%s%s%s\n", o.found ? sw_bb_class_name(o.cls) : "no finding",
		        o.found ? ": " : "", o.found && o.detail ? o.detail : "");
		sw_buf_fini(&q);
		sw_bb_outcome_fini(&o);
	}
	sw_bb_session_free(&s);
	sw_bb_seeds_del(seeds);
	return rc;
}
