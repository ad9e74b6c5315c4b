/*
 * smartwire conform: run the conformance suite against a server or client
 * and report where it departs from the Bazaar smart protocol: the options,
 * loading and selecting the cases, and running them on worker threads.  The
 * files it reads and writes besides the cases are conform_files.c.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmds.h"
#include "conform/conform.h"
#include "conform_files.h"
#include "smartwire/clock.h"
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
	      "Differential (server cases run against a reference first, same fixture):\n"
	      "  --reference-cmd 'CMD'   the reference, as --server-cmd\n"
	      "  --reference-tcp-cmd 'CMD'  the reference, as --server-tcp-cmd\n"
	      "  --differential          compare every decoded answer with the reference's\n"
	      "                          (otherwise only atoms marked 'same as reference')\n"
	      "Selection and verdicts:\n"
	      "  --cases PATH            case file or directory (default conformance/cases)\n"
	      "  --exclude GLOB          skip matching ids (repeatable)\n"
	      "  --expect FILE           expected deviations: 'ID-GLOB reason' lines\n"
	      "  --strict                SHOULD failures and unimplemented verbs fail too\n"
	      "  --list                  list the selected cases and exit\n"
	      "  --expand FILE.matrix    print the case text a case matrix expands into\n"
	      "  --coverage              print which verbs have cases (and in which versions,\n"
	      "                          with streams) and exit; 1 if a listed verb has none\n"
	      "  --verbs FILE            the verb list for --coverage (default\n"
	      "                          conformance/verbs/breezy-3.3.2.txt)\n"
	      "  --max-fail N            stop after N failing verdicts\n"
	      "Running:\n"
	      "  -j N                    run N cases in parallel\n"
	      "  --timeout MS            default wait for expected bytes (5000)\n"
	      "  --timeout-scale X       multiply every wait by X (slow machines, valgrind)\n"
	      "  --no-calibrate          do not measure the target's round trip first (every\n"
	      "                          wait for an answer gets 4 round trips on top)\n"
	      "  --no-retry              report a failing case at once (default: run it again;\n"
	      "                          failed then passed is 'flaky')\n"
	      "  --sweep none|framing|all  re-send requests split/dripped/cut (default framing)\n"
	      "  --thorough              same as --sweep all\n"
	      "  --workdir DIR           where fixture directories are made (default: $TMPDIR,\n"
	      "                          else /dev/shm when it is a tmpfs, else /tmp)\n"
	      "  --fixtures DIR          the bzr fixtures (default: beside --cases)\n"
	      "  --keep                  keep fixture directories\n"
	      "Reports:\n"
	      "  --name NAME             implementation name in reports\n"
	      "  --tap                   TAP on stdout instead of the summary\n"
	      "  --junit FILE  --json FILE  --html FILE\n"
	      "  --merge A.json B.json.. with --html: one matrix from several JSON reports\n"
	      "                          (no run)\n"
	      "  -v                      list every case in the summary;  -q  no progress\n"
	      "Exit status: 0 when no MUST case failed (a security finding is one, whatever\n"
	      "the level) and no expected deviation passed (with --strict: no SHOULD case,\n"
	      "unimplemented verb or flaky case either); 1 otherwise or when no case\n"
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
	/* Only an entry that says SECURITY covers a leak. */
	sw_cf_expect *e = sw_cf_expectations_find_for(&J->exp, r->c->id, r->security);
	if (e && r->outcome != SW_CF_OUT_SKIP) {
		e->used = true;
		free(r->deviation);
		r->deviation = strdup(e->reason);
	}
	r->verdict = sw_cf_decide_result(r, e != NULL && r->outcome != SW_CF_OUT_SKIP);
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

/* A whole number from min to max, or -1. */
static long parse_num(const char *s, long min, long max)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	return errno || e == s || *e || v < min || v > max ? -1 : v;
}

static int bad_value(const char *opt, const char *val)
{
	fprintf(stderr, "smartwire conform: bad value '%s' for %s\n", val, opt);
	return SW_EXIT_USAGE;
}

enum {
	O_SERVER = 256,
	O_SERVER_TCP,
	O_CLIENT,
	O_CASES,
	O_EXCLUDE,
	O_EXPECT,
	O_STRICT,
	O_LIST,
	O_MAX_FAIL,
	O_TIMEOUT,
	O_SCALE,
	O_SWEEP,
	O_THOROUGH,
	O_WORKDIR,
	O_KEEP,
	O_NAME,
	O_TAP,
	O_JUNIT,
	O_JSON,
	O_HTML,
	O_MERGE,
	O_NO_CALIBRATE,
	O_NO_RETRY,
	O_EXPAND,
	O_REF,
	O_REF_TCP,
	O_DIFFERENTIAL,
	O_COVERAGE,
	O_VERBS,
	O_FIXTURES
};

static const struct option opts[] = {
    {"server-cmd", required_argument, NULL, O_SERVER},
    {"server-tcp-cmd", required_argument, NULL, O_SERVER_TCP},
    {"client-cmd", required_argument, NULL, O_CLIENT},
    {"cases", required_argument, NULL, O_CASES},
    {"exclude", required_argument, NULL, O_EXCLUDE},
    {"expect", required_argument, NULL, O_EXPECT},
    {"strict", no_argument, NULL, O_STRICT},
    {"list", no_argument, NULL, O_LIST},
    {"max-fail", required_argument, NULL, O_MAX_FAIL},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"timeout-scale", required_argument, NULL, O_SCALE},
    {"sweep", required_argument, NULL, O_SWEEP},
    {"thorough", no_argument, NULL, O_THOROUGH},
    {"workdir", required_argument, NULL, O_WORKDIR},
    {"keep", no_argument, NULL, O_KEEP},
    {"name", required_argument, NULL, O_NAME},
    {"tap", no_argument, NULL, O_TAP},
    {"junit", required_argument, NULL, O_JUNIT},
    {"json", required_argument, NULL, O_JSON},
    {"html", required_argument, NULL, O_HTML},
    {"merge", no_argument, NULL, O_MERGE},
    {"no-calibrate", no_argument, NULL, O_NO_CALIBRATE},
    {"no-retry", no_argument, NULL, O_NO_RETRY},
    {"expand", required_argument, NULL, O_EXPAND},
    {"reference-cmd", required_argument, NULL, O_REF},
    {"reference-tcp-cmd", required_argument, NULL, O_REF_TCP},
    {"differential", no_argument, NULL, O_DIFFERENTIAL},
    {"coverage", no_argument, NULL, O_COVERAGE},
    {"verbs", required_argument, NULL, O_VERBS},
    {"fixtures", required_argument, NULL, O_FIXTURES},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option into C or J->opts.  Returns -1 to go on, or an exit status. */
static int take_option(int opt, sw__conform_cli *C, job *J, int *ntargets)
{
	long v;
	char *e;
	switch (opt) {
	case 'h': usage(stdout); return SW_EXIT_OK;
	case O_SERVER:
	case O_SERVER_TCP:
		J->opts.target = opt == O_SERVER ? SW_CF_TARGET_PIPE : SW_CF_TARGET_TCP;
		J->opts.server_cmd = optarg;
		++*ntargets;
		break;
	case O_CLIENT:
		J->opts.target = SW_CF_TARGET_CLIENT;
		J->opts.client_cmd = optarg;
		++*ntargets;
		break;
	case O_CASES: C->cases = optarg; break;
	case O_EXCLUDE:
		if (C->nexcl < 64)
			C->excludes[C->nexcl++] = optarg;
		break;
	case O_EXPECT: C->expect_file = optarg; break;
	case O_STRICT: J->strict = true; break;
	case O_LIST: C->list = true; break;
	case O_MAX_FAIL:
		if ((v = parse_num(optarg, 0, 1000000)) < 0)
			return bad_value("--max-fail", optarg);
		J->max_fail = (size_t)v;
		break;
	case 'j':
		if ((C->jobs = parse_num(optarg, 1, 64)) < 0)
			return bad_value("-j (1..64)", optarg);
		break;
	case O_TIMEOUT:
		if ((v = parse_num(optarg, 1, 24L * 3600 * 1000)) < 0)
			return bad_value("--timeout (milliseconds > 0)", optarg);
		J->opts.timeout_ms = (uint32_t)v;
		break;
	case O_SCALE:
		J->opts.timeout_scale = strtod(optarg, &e);
		if (e == optarg || *e || !(J->opts.timeout_scale >= 0.1))
			return bad_value("--timeout-scale (>= 0.1)", optarg);
		break;
	case O_SWEEP:
		if (!strcmp(optarg, "none"))
			J->opts.sweep = SW_CF_SWEEP_NONE;
		else if (!strcmp(optarg, "framing"))
			J->opts.sweep = SW_CF_SWEEP_FRAMING;
		else if (!strcmp(optarg, "all"))
			J->opts.sweep = SW_CF_SWEEP_ALL;
		else {
			fprintf(stderr, "smartwire conform: --sweep takes none, framing or all\n");
			return SW_EXIT_USAGE;
		}
		break;
	case O_THOROUGH: J->opts.sweep = SW_CF_SWEEP_ALL; break;
	case O_WORKDIR: J->opts.workdir = optarg; break;
	case O_KEEP: J->opts.keep = true; break;
	case O_NAME: C->name = optarg; break;
	case O_TAP: C->tap = true; break;
	case O_JUNIT: C->junit = optarg; break;
	case O_JSON: C->json = optarg; break;
	case O_HTML: C->html = optarg; break;
	case O_MERGE: C->merge = true; break;
	case O_NO_CALIBRATE: C->no_calibrate = true; break;
	case O_NO_RETRY: J->opts.no_retry = true; break;
	case O_EXPAND: C->expand = optarg; break;
	case O_REF:
	case O_REF_TCP:
		J->opts.reference_kind = opt == O_REF ? SW_CF_TARGET_PIPE : SW_CF_TARGET_TCP;
		J->opts.reference_cmd = optarg;
		break;
	case O_DIFFERENTIAL: J->opts.differential = true; break;
	case O_COVERAGE: C->coverage = true; break;
	case O_VERBS: C->verbs = optarg; break;
	case O_FIXTURES: J->opts.fixtures_dir = optarg; break;
	case 'v': C->verbose = true; break;
	case 'q': J->quiet = true; break;
	default: /* getopt_long said what was wrong */ usage(stderr); return SW_EXIT_USAGE;
	}
	return -1;
}

/* Parses the command line.  Returns -1 to go on, or an exit status. */
static int parse_cli(int argc, char **argv, sw__conform_cli *C, job *J)
{
	int ntargets = 0, opt, rc;
	C->jobs = 1;
	optind = 0; /* reinitialise GNU getopt (main() parsed with "+", which it remembers) */
	while ((opt = getopt_long(argc, argv, "+hj:vq", opts, NULL)) != -1)
		if ((rc = take_option(opt, C, J, &ntargets)) >= 0)
			return rc;
	C->operands = argv + optind;
	C->noperands = (size_t)(argc - optind);
	if (ntargets > 1) {
		fprintf(stderr, "smartwire conform: give at most one target\n");
		return SW_EXIT_USAGE;
	}
	if (J->opts.differential && !J->opts.reference_cmd) {
		fprintf(stderr, "smartwire conform: --differential needs --reference-cmd or "
		                "--reference-tcp-cmd\n");
		return SW_EXIT_USAGE;
	}
	if (C->merge && (!C->html || C->noperands == 0)) {
		fprintf(stderr, "smartwire conform: --merge needs --html FILE and JSON reports\n");
		return SW_EXIT_USAGE;
	}
	return -1;
}

/* Loads the cases and the expectations and selects the cases to run.
 * Returns -1 to go on, or an exit status. */
static int load(sw__conform_cli *C, job *J, sw_cf_suite *suite)
{
	static char fallback[4096];
	if (!C->cases) {
		struct stat st;
		const char *src = getenv("SW_SOURCE_DIR");
		C->cases = "conformance/cases";
		if (stat(C->cases, &st) != 0 && src &&
		    snprintf(fallback, sizeof fallback, "%s/conformance/cases", src) > 0)
			C->cases = fallback;
	}
	static char fbuf[4096];
	if (!J->opts.fixtures_dir)
		J->opts.fixtures_dir = sw_cf_beside_cases(C->cases, "fixtures", fbuf, sizeof fbuf);
	sw_cf_diag d;
	memset(&d, 0, sizeof d);
	if (sw_cf_load(suite, C->cases, &d) < 0) {
		fprintf(stderr, "smartwire conform: %s:%d: %s\n", d.file, d.line, d.msg);
		return SW_EXIT_USAGE;
	}
	if (C->coverage)
		return sw__conform_coverage(C, suite);
	if (C->expect_file) {
		char *text;
		size_t len;
		if (sw__conform_read_text(C->expect_file, &text, &len) < 0) {
			fprintf(stderr, "smartwire conform: cannot read %s: %s\n", C->expect_file,
			        strerror(errno));
			return SW_EXIT_USAGE;
		}
		int rc = sw_cf_expectations_parse(&J->exp, text, len, C->expect_file, &d);
		free(text);
		if (rc < 0) {
			fprintf(stderr, "smartwire conform: %s:%d: %s\n", d.file, d.line, d.msg);
			return SW_EXIT_USAGE;
		}
		J->opts.expect = &J->exp; /* listed failures are not re-run */
	}
	J->suite = suite;
	if (!(J->sel = calloc(suite->n + 1, sizeof *J->sel)))
		return SW_EXIT_FAILURE;
	for (size_t i = 0; i < suite->n; i++) {
		bool in = C->noperands == 0;
		for (size_t g = 0; g < C->noperands && !in; g++)
			in = sw_cf_glob(C->operands[g], suite->cases[i].id);
		for (size_t g = 0; g < C->nexcl && in; g++)
			if (sw_cf_glob(C->excludes[g], suite->cases[i].id))
				in = false;
		if (in)
			J->sel[J->nsel++] = i;
	}
	if (J->nsel == 0) {
		fprintf(stderr, "smartwire conform: no case matched (%zu cases loaded from %s)\n",
		        suite->n, C->cases);
		return SW_EXIT_FAILURE;
	}
	return -1;
}

/* Runs the selected cases on C->jobs threads (or this one). */
static int run_all(const sw__conform_cli *C, job *J)
{
	if (!(J->res = calloc(J->nsel, sizeof *J->res)))
		return -1;
	pthread_mutex_init(&J->lock, NULL);
	pthread_t th[64];
	int started = 0;
	for (long k = 0; k < C->jobs; k++)
		if (pthread_create(&th[started], NULL, worker, J) == 0)
			started++;
	if (started == 0)
		worker(J);
	for (int k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&J->lock);
	return 0;
}

int sw_cmd_conform(int argc, char **argv)
{
	sw__conform_cli C;
	job J;
	memset(&C, 0, sizeof C);
	memset(&J, 0, sizeof J);
	sw_cf_opts_default(&J.opts);
	int status = parse_cli(argc, argv, &C, &J);
	if (status >= 0)
		return status;
	if (C.merge)
		return sw__conform_merge_html(C.html, C.operands, (int)C.noperands);
	if (C.expand)
		return sw__conform_expand_matrix(C.expand);
	sw_cf_suite suite;
	sw_cf_suite_init(&suite);
	status = load(&C, &J, &suite);
	if (status >= 0)
		goto out;
	status = SW_EXIT_OK;
	if (C.list) {
		for (size_t i = 0; i < J.nsel; i++) {
			const sw_cf_case *c = &suite.cases[J.sel[i]];
			printf("%-52s %-6s %-6s %s\n", c->id, sw_cf_level_name(c->level),
			       c->role == SW_CF_ROLE_CLIENT ? "client" : "server", c->title);
		}
		goto out;
	}
	if (J.opts.target == SW_CF_TARGET_EMBEDDED)
		fprintf(stderr, "smartwire conform: no target given; using the embedded reference "
		                "server\n");
	int64_t t0 = sw_clock_ms();
	if (!C.no_calibrate) {
		if (sw_cf_calibrate(&J.opts, &J.opts.rtt_ms) < 0) {
			status = SW_EXIT_FAILURE;
			goto out;
		}
		if (!J.quiet)
			fprintf(stderr,
			        "smartwire conform: round trip %u ms: every wait for an answer "
			        "gets %u ms on top (x %.1f)\n",
			        J.opts.rtt_ms,
			        J.opts.rtt_ms * SW_CF_RTT_FACTOR > SW_CF_RTT_EXTRA_MAX
			            ? SW_CF_RTT_EXTRA_MAX
			            : J.opts.rtt_ms * SW_CF_RTT_FACTOR,
			        J.opts.timeout_scale);
	}
	if (run_all(&C, &J) < 0) {
		status = SW_EXIT_FAILURE;
		goto out;
	}
	const char *impl = C.name                                   ? C.name
	                   : J.opts.target == SW_CF_TARGET_EMBEDDED ? "smartwire (embedded)"
	                   : J.opts.target == SW_CF_TARGET_CLIENT   ? J.opts.client_cmd
	                                                            : J.opts.server_cmd;
	sw_cf_report rep = {.implementation = impl,
	                    .results = J.res,
	                    .n = J.nsel,
	                    .strict = J.strict,
	                    .ms = (double)(sw_clock_ms() - t0),
	                    .rtt_ms = J.opts.rtt_ms,
	                    .timeout_scale = J.opts.timeout_scale};
	for (size_t i = 0; i < J.exp.n; i++)
		if (!J.exp.v[i].used && C.noperands == 0 && C.nexcl == 0)
			fprintf(stderr,
			        "smartwire conform: %s:%d: expectation '%s' matched no failing or "
			        "passing case\n",
			        C.expect_file, J.exp.v[i].line, J.exp.v[i].glob);
	if (sw__conform_write_reports(&C, &rep) < 0)
		status = SW_EXIT_FAILURE;
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
	sw_cf_release();
	return status;
}
