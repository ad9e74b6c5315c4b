/*
 * smartwire conform: run the conformance suite against a server or client
 * and report where it departs from the Bazaar smart protocol.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "conform/conform.h"
#include "smartwire/error.h"

static void usage(FILE *f)
{
	fputs("usage: smartwire conform [OPTIONS] [ID-GLOB...]\n"
	      "\n"
	      "Runs the conformance cases (conformance/cases/*.case) whose id matches one of\n"
	      "the globs (all when none is given) and reports every departure from the\n"
	      "protocol with the bytes to prove it.\n"
	      "\n"
	      "Target (one of; default: the embedded reference server):\n"
	      "  --server-cmd 'CMD'      a server speaking on stdin/stdout, one process per\n"
	      "                          connection; {dir} = served directory, {options} =\n"
	      "                          --allow-writes / --client-timeout=N as a case needs\n"
	      "                          e.g. 'brz serve --inet --directory={dir} {options}'\n"
	      "  --server-tcp-cmd 'CMD'  a server listening on 127.0.0.1:{port}\n"
	      "  --client-cmd 'CMD'      a client adapter: CMD {url} OP ARGS (or place {op}\n"
	      "                          and {args} yourself); see conformance/adapters/\n"
	      "Selection and verdicts:\n"
	      "  --cases PATH            case file or directory (default conformance/cases)\n"
	      "  --exclude GLOB          skip matching ids (repeatable)\n"
	      "  --expect FILE           expected deviations: 'ID-GLOB reason' lines\n"
	      "  --strict                SHOULD failures and unimplemented verbs fail too\n"
	      "  --list                  list the selected cases and exit\n"
	      "  --max-fail N            stop after N failing verdicts\n"
	      "Running:\n"
	      "  -j N                    run N cases in parallel\n"
	      "  --timeout MS            default wait for expected bytes (5000)\n"
	      "  --timeout-scale X       multiply every wait by X (slow machines, valgrind)\n"
	      "  --sweep none|framing|all  re-send requests split/dripped/cut (default framing)\n"
	      "  --thorough              same as --sweep all\n"
	      "  --workdir DIR           where fixture directories are made\n"
	      "  --keep                  keep fixture directories\n"
	      "Reports:\n"
	      "  --name NAME             implementation name in reports\n"
	      "  --tap                   TAP on stdout instead of the summary\n"
	      "  --junit FILE  --json FILE  --html FILE\n"
	      "  --merge A.json B.json.. with --html: one matrix from several JSON reports\n"
	      "                          (no run)\n"
	      "  -v                      list every case in the summary;  -q  no progress\n"
	      "Exit status: 0 when no MUST case failed (with --strict: no SHOULD case\n"
	      "either) and no expected deviation passed; 1 otherwise or when no case\n"
	      "matched; 2 for usage errors.\n",
	      f);
}

typedef struct job {
	sw_cf_suite *suite;
	size_t *sel;
	size_t nsel;
	sw_cf_result *res;
	sw_cf_opts opts;
	sw_cf_expectations exp;
	bool strict;
	bool quiet;
	size_t max_fail;
	pthread_mutex_t lock;
	size_t next, done, failing;
} job;

static void decide(job *J, sw_cf_result *r)
{
	sw_cf_expect *e = sw_cf_expectations_find(&J->exp, r->c->id);
	if (e && r->outcome != SW_CF_OUT_SKIP) {
		e->used = true;
		free(r->deviation);
		r->deviation = strdup(e->reason);
	}
	r->verdict = sw_cf_decide(r->c->level, r->outcome, e != NULL && r->outcome != SW_CF_OUT_SKIP);
}

static void *worker(void *arg)
{
	job *J = arg;
	for (;;) {
		pthread_mutex_lock(&J->lock);
		size_t i = J->next++;
		bool stop = J->max_fail && J->failing >= J->max_fail;
		pthread_mutex_unlock(&J->lock);
		if (i >= J->nsel)
			return NULL;
		sw_cf_result *r = &J->res[i];
		const sw_cf_case *c = &J->suite->cases[J->sel[i]];
		if (stop) {
			memset(r, 0, sizeof *r);
			r->c = c;
			r->outcome = SW_CF_OUT_SKIP;
			r->reason = strdup("not run: --max-fail reached");
		} else if (sw_cf_run_case(c, &J->opts, r) < 0) {
			r->c = c;
			r->outcome = SW_CF_OUT_FAIL;
			r->reason = strdup("out of memory while running the case");
		}
		pthread_mutex_lock(&J->lock);
		decide(J, r);
		if (sw_cf_verdict_fails(r->verdict, J->strict))
			J->failing++;
		J->done++;
		if (!J->quiet)
			fprintf(stderr, "[%4zu/%zu] %-18s %s (%.1f s%s)\n", J->done, J->nsel,
			        sw_cf_verdict_name(r->verdict), c->id, r->ms / 1000.0,
			        r->variants ? ", with sweeps" : "");
		pthread_mutex_unlock(&J->lock);
	}
}

static int read_text(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	size_t got;
	while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *nb = realloc(b, cap *= 2);
			if (!nb) {
				free(b);
				b = NULL;
			} else
				b = nb;
		}
	}
	fclose(f);
	if (!b)
		return -1;
	*out = b;
	*len = n;
	return 0;
}

static FILE *open_out(const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "smartwire conform: cannot write %s: %s\n", path, strerror(errno));
	return f;
}

static int merge_html(const char *html, char **files, int n)
{
	sw_cf_column **cols = calloc((size_t)n + 1, sizeof *cols);
	int rc = SW_EXIT_OK;
	for (int i = 0; i < n && rc == SW_EXIT_OK; i++) {
		char err[512];
		if (sw_cf_column_load(files[i], &cols[i], err, sizeof err) < 0) {
			fprintf(stderr, "smartwire conform: %s\n", err);
			rc = SW_EXIT_FAILURE;
		}
	}
	FILE *f = rc == SW_EXIT_OK ? open_out(html) : NULL;
	if (f) {
		if (sw_cf_write_html(f, cols, (size_t)n) < 0)
			rc = SW_EXIT_FAILURE;
		if (fclose(f) != 0)
			rc = SW_EXIT_FAILURE;
	} else
		rc = SW_EXIT_FAILURE;
	for (int i = 0; i < n; i++)
		sw_cf_column_del(cols[i]);
	free(cols);
	return rc;
}

int sw_cmd_conform(int argc, char **argv)
{
	job J;
	memset(&J, 0, sizeof J);
	sw_cf_opts_default(&J.opts);
	const char *cases = NULL, *junit = NULL, *json = NULL, *html = NULL, *name = NULL;
	const char *expect_file = NULL;
	const char *globs[256], *excludes[64];
	size_t nglobs = 0, nexcl = 0;
	char **merge = NULL;
	int nmerge = 0, jobs = 1;
	bool tap = false, list = false, verbose = false;
	int ntargets = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE(opt) (strcmp(a, opt) == 0 && val && (i++, 1))
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return SW_EXIT_OK;
		} else if (TAKE("--server-cmd")) {
			J.opts.target = SW_CF_TARGET_PIPE;
			J.opts.server_cmd = val;
			ntargets++;
		} else if (TAKE("--server-tcp-cmd")) {
			J.opts.target = SW_CF_TARGET_TCP;
			J.opts.server_cmd = val;
			ntargets++;
		} else if (TAKE("--client-cmd")) {
			J.opts.target = SW_CF_TARGET_CLIENT;
			J.opts.client_cmd = val;
			ntargets++;
		} else if (TAKE("--cases"))
			cases = val;
		else if (TAKE("--exclude")) {
			if (nexcl < 64)
				excludes[nexcl++] = val;
		} else if (TAKE("--expect"))
			expect_file = val;
		else if (!strcmp(a, "--strict"))
			J.strict = true;
		else if (!strcmp(a, "--list"))
			list = true;
		else if (TAKE("--max-fail"))
			J.max_fail = (size_t)strtoul(val, NULL, 10);
		else if (TAKE("-j"))
			jobs = atoi(val);
		else if (!strncmp(a, "-j", 2) && a[2])
			jobs = atoi(a + 2);
		else if (TAKE("--timeout"))
			J.opts.timeout_ms = (uint32_t)strtoul(val, NULL, 10);
		else if (TAKE("--timeout-scale"))
			J.opts.timeout_scale = strtod(val, NULL);
		else if (TAKE("--sweep") || !strncmp(a, "--sweep=", 8)) {
			const char *s = a[7] == '=' ? a + 8 : val;
			if (!strcmp(s, "none"))
				J.opts.sweep = SW_CF_SWEEP_NONE;
			else if (!strcmp(s, "framing"))
				J.opts.sweep = SW_CF_SWEEP_FRAMING;
			else if (!strcmp(s, "all"))
				J.opts.sweep = SW_CF_SWEEP_ALL;
			else {
				fprintf(stderr, "smartwire conform: --sweep takes none, framing or all\n");
				return SW_EXIT_USAGE;
			}
		} else if (!strcmp(a, "--thorough"))
			J.opts.sweep = SW_CF_SWEEP_ALL;
		else if (TAKE("--workdir"))
			J.opts.workdir = val;
		else if (!strcmp(a, "--keep"))
			J.opts.keep = true;
		else if (TAKE("--name"))
			name = val;
		else if (!strcmp(a, "--tap"))
			tap = true;
		else if (TAKE("--junit"))
			junit = val;
		else if (TAKE("--json"))
			json = val;
		else if (TAKE("--html"))
			html = val;
		else if (!strcmp(a, "--merge")) {
			merge = argv + i + 1;
			nmerge = argc - i - 1;
			break;
		} else if (!strcmp(a, "-v"))
			verbose = true;
		else if (!strcmp(a, "-q"))
			J.quiet = true;
		else if (a[0] == '-') {
			fprintf(stderr, "smartwire conform: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return SW_EXIT_USAGE;
		} else if (nglobs < 256)
			globs[nglobs++] = a;
#undef TAKE
	}
	if (merge) {
		if (!html || nmerge == 0) {
			fprintf(stderr, "smartwire conform: --merge needs --html FILE and JSON reports\n");
			return SW_EXIT_USAGE;
		}
		return merge_html(html, merge, nmerge);
	}
	if (ntargets > 1 || jobs < 1 || jobs > 64 || J.opts.timeout_scale < 0.1 || J.opts.timeout_ms == 0) {
		fprintf(stderr, "smartwire conform: give at most one target, -j 1..64, a timeout > 0 "
		                "and a scale >= 0.1\n");
		return SW_EXIT_USAGE;
	}

	/* The cases. */
	char fallback[4096];
	if (!cases) {
		struct stat st;
		const char *src = getenv("SW_SOURCE_DIR");
		if (stat("conformance/cases", &st) == 0)
			cases = "conformance/cases";
		else if (src && snprintf(fallback, sizeof fallback, "%s/conformance/cases", src) > 0)
			cases = fallback;
		else
			cases = "conformance/cases";
	}
	sw_cf_suite suite;
	sw_cf_suite_init(&suite);
	sw_cf_diag d;
	memset(&d, 0, sizeof d);
	if (sw_cf_load(&suite, cases, &d) < 0) {
		fprintf(stderr, "smartwire conform: %s:%d: %s\n", d.file, d.line, d.msg);
		sw_cf_suite_fini(&suite);
		return SW_EXIT_USAGE;
	}
	if (expect_file) {
		char *text;
		size_t len;
		if (read_text(expect_file, &text, &len) < 0) {
			fprintf(stderr, "smartwire conform: cannot read %s: %s\n", expect_file, strerror(errno));
			sw_cf_suite_fini(&suite);
			return SW_EXIT_USAGE;
		}
		int rc = sw_cf_expectations_parse(&J.exp, text, len, expect_file, &d);
		free(text);
		if (rc < 0) {
			fprintf(stderr, "smartwire conform: %s:%d: %s\n", d.file, d.line, d.msg);
			sw_cf_suite_fini(&suite);
			return SW_EXIT_USAGE;
		}
	}
	J.suite = &suite;
	J.sel = calloc(suite.n + 1, sizeof *J.sel);
	for (size_t i = 0; J.sel && i < suite.n; i++) {
		bool in = nglobs == 0;
		for (size_t g = 0; g < nglobs && !in; g++)
			in = sw_cf_glob(globs[g], suite.cases[i].id);
		for (size_t g = 0; g < nexcl && in; g++)
			if (sw_cf_glob(excludes[g], suite.cases[i].id))
				in = false;
		if (in)
			J.sel[J.nsel++] = i;
	}
	int status = SW_EXIT_OK;
	if (J.nsel == 0) {
		fprintf(stderr, "smartwire conform: no case matched (%zu cases loaded from %s)\n", suite.n, cases);
		status = SW_EXIT_FAILURE;
		goto out;
	}
	if (list) {
		for (size_t i = 0; i < J.nsel; i++) {
			const sw_cf_case *c = &suite.cases[J.sel[i]];
			printf("%-52s %-6s %-6s %s\n", c->id, sw_cf_level_name(c->level),
			       c->role == SW_CF_ROLE_CLIENT ? "client" : "server", c->title);
		}
		goto out;
	}
	if (J.opts.target == SW_CF_TARGET_EMBEDDED) {
		fprintf(stderr, "smartwire conform: no target given; using the embedded reference server\n");
	}
	J.res = calloc(J.nsel, sizeof *J.res);
	pthread_mutex_init(&J.lock, NULL);
	double t0 = 0;
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
	}
	pthread_t th[64];
	int started = 0;
	for (int k = 0; k < jobs; k++)
		if (pthread_create(&th[started], NULL, worker, &J) == 0)
			started++;
	if (started == 0)
		worker(&J);
	for (int k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&J.lock);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	sw_cf_report rep = {
		.implementation = name ? name
		                  : J.opts.target == SW_CF_TARGET_EMBEDDED ? "smartwire (embedded)"
		                  : J.opts.target == SW_CF_TARGET_CLIENT ? J.opts.client_cmd : J.opts.server_cmd,
		.results = J.res,
		.n = J.nsel,
		.strict = J.strict,
		.ms = ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6 - t0,
	};
	for (size_t i = 0; i < J.exp.n; i++)
		if (!J.exp.v[i].used && nglobs == 0 && nexcl == 0)
			fprintf(stderr, "smartwire conform: %s:%d: expectation '%s' matched no failing or passing case\n",
			        expect_file, J.exp.v[i].line, J.exp.v[i].glob);
	if (tap)
		sw_cf_write_tap(stdout, &rep);
	else
		sw_cf_write_summary(stdout, &rep, verbose);
	const char *paths[3] = {junit, json, html};
	for (int k = 0; k < 3; k++) {
		if (!paths[k])
			continue;
		FILE *f = open_out(paths[k]);
		if (!f) {
			status = SW_EXIT_FAILURE;
			continue;
		}
		int rc = 0;
		if (k == 0)
			rc = sw_cf_write_junit(f, &rep);
		else if (k == 1)
			rc = sw_cf_write_json(f, &rep);
		else {
			sw_cf_column *col = NULL;
			rc = sw_cf_column_from_report(&rep, &col);
			if (rc == 0)
				rc = sw_cf_write_html(f, &col, 1);
			sw_cf_column_del(col);
		}
		if (fclose(f) != 0 || rc < 0) {
			fprintf(stderr, "smartwire conform: error writing %s\n", paths[k]);
			status = SW_EXIT_FAILURE;
		}
	}
	for (size_t i = 0; i < J.nsel; i++)
		if (sw_cf_verdict_fails(J.res[i].verdict, J.strict))
			status = SW_EXIT_FAILURE;
	for (size_t i = 0; i < J.nsel; i++)
		sw_cf_result_fini(&J.res[i]);
	free(J.res);
out:
	free(J.sel);
	sw_cf_expectations_fini(&J.exp);
	sw_cf_suite_fini(&suite);
	return status;
}
