/*
 * smartwire fuzz: black-box fuzzing of any implementation of the smart
 * protocol, a server (over a pipe or TCP) or a client (through an adapter),
 * with oracles that need no expected answer (testbench/blackbox/).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blackbox/blackbox.h"
#include "cmds.h"
#include "smartwire/error.h"

static void usage(FILE *f)
{
	fputs("usage: smartwire fuzz [OPTIONS]\n"
	      "\n"
	      "Fuzzes a live server or client: sessions made from real traffic (corpus/),\n"
	      "the conformance cases' requests and the dictionaries, mutated with the\n"
	      "protocol's structure in mind (markers, length prefixes, bencode, tuple\n"
	      "separators, verbs and arguments, body framing, pipelining, split, dripped,\n"
	      "paused and cut writes, tokens captured from answers fed to later requests),\n"
	      "judged by oracles that need no expected answer: crash, hang, desync,\n"
	      "escape (the conformance suite's security oracle), resource, malformed\n"
	      "answer.  Each distinct finding (by class and verb) is minimised and\n"
	      "written under --out as a conformance case (NAME.case, reproduced by\n"
	      "`smartwire conform --cases NAME.case` against the same target) and the\n"
	      "raw bytes sent (NAME.session).\n"
	      "\n"
	      "Target (one of; as in `smartwire conform`):\n"
	      "  --server-cmd 'CMD'      a server on stdin/stdout, one process per session;\n"
	      "                          {dir} = served directory, {options} = --allow-writes\n"
	      "                          e.g. 'brz serve --inet --directory={dir} {options}'\n"
	      "  --server-tcp-cmd 'CMD'  a server listening on 127.0.0.1:{port}\n"
	      "  --client-cmd 'CMD'      a client adapter: CMD {url} OP ARGS (we play the\n"
	      "                          server and answer with mutated responses)\n"
	      "  --client-op 'OP ARGS'   the client operation (default: several in turn)\n"
	      "Differential (server targets):\n"
	      "  --reference-cmd 'CMD'   a second implementation, as --server-cmd: a request\n"
	      "                          both answer with success but with other arguments\n"
	      "                          is a divergence finding\n"
	      "  --reference-tcp-cmd 'CMD'  the same, as --server-tcp-cmd\n"
	      "Campaign:\n"
	      "  --seed N                the campaign's seed (default 1): the same seed and\n"
	      "                          --runs give the same sessions and findings\n"
	      "  --runs N                stop after N sessions\n"
	      "  --time SECONDS          stop after this long (default 60 without --runs)\n"
	      "  -j N                    N sessions in parallel (default 1)\n"
	      "  --out DIR               write the findings' cases there\n"
	      "  --no-minimise           keep findings as found\n"
	      "  --min-budget N          executions per finding when minimising (120)\n"
	      "Inputs:\n"
	      "  --corpus DIR            corpus/ (sessions/, recordings/, *.dict)\n"
	      "  --cases PATH            conformance case file or directory for seeds\n"
	      "                          (default conformance/cases beside --corpus; 'none')\n"
	      "  --fixtures DIR          the bzr fixtures (default conformance/fixtures)\n"
	      "Oracles:\n"
	      "  --hang-ms MS            bound on an answer (default: 4 x the target's\n"
	      "                          measured hello round trip + 1000, at least 2000)\n"
	      "  --rss-limit-mb N        resource bound: peak memory growth (256)\n"
	      "  --timeout-scale X       multiply every wait by X\n"
	      "  --workdir DIR           where the oracle's worlds are made\n"
	      "  --show RUN              execute session RUN of the campaign once and print\n"
	      "                          its bytes, answers and finding (no campaign)\n"
	      "  -q                      no progress line\n"
	      "Exit status: 0 when nothing was found, 1 when something was, 2 for usage\n"
	      "errors.\n",
	      f);
}

enum {
	O_SERVER = 256,
	O_SERVER_TCP,
	O_CLIENT,
	O_CLIENT_OP,
	O_SEED,
	O_RUNS,
	O_TIME,
	O_OUT,
	O_NO_MIN,
	O_MIN_BUDGET,
	O_CORPUS,
	O_CASES,
	O_FIXTURES,
	O_HANG,
	O_RSS,
	O_SCALE,
	O_WORKDIR,
	O_SHOW,
	O_REF,
	O_REF_TCP
};

static const struct option opts[] = {
    {"server-cmd", required_argument, NULL, O_SERVER},
    {"server-tcp-cmd", required_argument, NULL, O_SERVER_TCP},
    {"client-cmd", required_argument, NULL, O_CLIENT},
    {"client-op", required_argument, NULL, O_CLIENT_OP},
    {"seed", required_argument, NULL, O_SEED},
    {"runs", required_argument, NULL, O_RUNS},
    {"time", required_argument, NULL, O_TIME},
    {"out", required_argument, NULL, O_OUT},
    {"no-minimise", no_argument, NULL, O_NO_MIN},
    {"min-budget", required_argument, NULL, O_MIN_BUDGET},
    {"corpus", required_argument, NULL, O_CORPUS},
    {"cases", required_argument, NULL, O_CASES},
    {"fixtures", required_argument, NULL, O_FIXTURES},
    {"hang-ms", required_argument, NULL, O_HANG},
    {"rss-limit-mb", required_argument, NULL, O_RSS},
    {"timeout-scale", required_argument, NULL, O_SCALE},
    {"workdir", required_argument, NULL, O_WORKDIR},
    {"show", required_argument, NULL, O_SHOW},
    {"reference-cmd", required_argument, NULL, O_REF},
    {"reference-tcp-cmd", required_argument, NULL, O_REF_TCP},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "smartwire fuzz: bad value '%s' for %s\n", val, opt);
	return SW_EXIT_USAGE;
}

static bool num(const char *s, unsigned long long *v)
{
	char *e;
	errno = 0;
	*v = strtoull(s, &e, 10);
	return !errno && e != s && !*e;
}

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A folder of the source tree: here, or under $SW_SOURCE_DIR. */
static const char *find_dir(const char *rel, char *buf, size_t cap)
{
	if (is_dir(rel))
		return rel;
	const char *src = getenv("SW_SOURCE_DIR");
	if (src) {
		snprintf(buf, cap, "%s/%s", src, rel);
		if (is_dir(buf))
			return buf;
	}
	return NULL;
}

int sw_cmd_fuzz(int argc, char **argv)
{
	sw_bb_campaign c;
	memset(&c, 0, sizeof c);
	sw_cf_opts_default(&c.o.cf);
	c.o.cf.target = SW_CF_TARGET_EMBEDDED;
	c.o.cf.no_retry = true;
	c.seed = 1;
	c.jobs = 1;
	c.log = stderr;
	const char *cases = NULL;
	int ntargets = 0, opt;
	unsigned long long v, show = 0;
	bool has_show = false;
	char *e;
	optind = 0; /* reinitialise GNU getopt (main() parsed with "+") */
	while ((opt = getopt_long(argc, argv, "+hj:q", opts, NULL)) != -1) {
		switch (opt) {
		case 'h': usage(stdout); return SW_EXIT_OK;
		case O_SERVER:
		case O_SERVER_TCP:
			c.o.cf.target = opt == O_SERVER ? SW_CF_TARGET_PIPE : SW_CF_TARGET_TCP;
			c.o.cf.server_cmd = optarg;
			ntargets++;
			break;
		case O_CLIENT:
			c.o.cf.target = SW_CF_TARGET_CLIENT;
			c.o.cf.client_cmd = optarg;
			ntargets++;
			break;
		case O_CLIENT_OP: c.o.client_op = optarg; break;
		case O_REF:
		case O_REF_TCP:
			c.o.cf.reference_kind = opt == O_REF ? SW_CF_TARGET_PIPE : SW_CF_TARGET_TCP;
			c.o.cf.reference_cmd = optarg;
			break;
		case O_SEED:
			if (!num(optarg, &v))
				return bad("--seed", optarg);
			c.seed = v;
			break;
		case O_RUNS:
			if (!num(optarg, &v) || !v)
				return bad("--runs", optarg);
			c.runs = v;
			break;
		case O_TIME:
			c.time_s = strtod(optarg, &e);
			if (e == optarg || *e || !(c.time_s > 0))
				return bad("--time", optarg);
			break;
		case 'j':
			if (!num(optarg, &v) || v < 1 || v > 64)
				return bad("-j (1..64)", optarg);
			c.jobs = (int)v;
			break;
		case O_OUT: c.out_dir = optarg; break;
		case O_NO_MIN: c.no_minimise = true; break;
		case O_MIN_BUDGET:
			if (!num(optarg, &v) || !v)
				return bad("--min-budget", optarg);
			c.min_budget = (size_t)v;
			break;
		case O_CORPUS: c.corpus_dir = optarg; break;
		case O_CASES: cases = optarg; break;
		case O_FIXTURES: c.o.cf.fixtures_dir = optarg; break;
		case O_HANG:
			if (!num(optarg, &v) || !v)
				return bad("--hang-ms", optarg);
			c.o.hang_ms = (uint32_t)v;
			break;
		case O_RSS:
			if (!num(optarg, &v) || !v)
				return bad("--rss-limit-mb", optarg);
			c.o.rss_limit_kb = (size_t)v * 1024;
			break;
		case O_SCALE:
			c.o.cf.timeout_scale = strtod(optarg, &e);
			if (e == optarg || *e || !(c.o.cf.timeout_scale >= 0.1))
				return bad("--timeout-scale (>= 0.1)", optarg);
			break;
		case O_WORKDIR: c.o.cf.workdir = optarg; break;
		case O_SHOW:
			if (!num(optarg, &show))
				return bad("--show", optarg);
			has_show = true;
			break;
		case 'q': c.quiet = true; break;
		default: usage(stderr); return SW_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smartwire fuzz: unexpected argument '%s'\n", argv[optind]);
		return SW_EXIT_USAGE;
	}
	if (ntargets != 1) {
		fprintf(stderr,
		        "smartwire fuzz: give one target (--server-cmd, --server-tcp-cmd or "
		        "--client-cmd)\n");
		return SW_EXIT_USAGE;
	}
	if (!c.runs && !(c.time_s > 0))
		c.time_s = 60;
	char b1[4096], b2[4096], b3[4096];
	if (!c.corpus_dir && !(c.corpus_dir = find_dir("corpus", b1, sizeof b1))) {
		fprintf(stderr,
		        "smartwire fuzz: no corpus/ here or under $SW_SOURCE_DIR (--corpus)\n");
		return SW_EXIT_USAGE;
	}
	if (!cases)
		cases = find_dir("conformance/cases", b2, sizeof b2);
	else if (strcmp(cases, "none") == 0)
		cases = NULL;
	c.cases = cases;
	if (!c.o.cf.fixtures_dir)
		c.o.cf.fixtures_dir = find_dir("conformance/fixtures", b3, sizeof b3);
	if (!c.o.hang_ms && c.o.cf.target != SW_CF_TARGET_CLIENT) {
		uint32_t rtt = 0;
		sw_cf_calibrate(&c.o.cf, &rtt);
		uint64_t h = (uint64_t)rtt * 4 + 1000;
		if (h < 2000)
			h = 2000;
		c.o.hang_ms = (uint32_t)((double)h * c.o.cf.timeout_scale);
		if (!c.quiet)
			fprintf(stderr,
			        "calibration: hello round trip %u ms, answers bounded at %u ms\n",
			        rtt, c.o.hang_ms);
	}
	if (!c.o.hang_ms)
		c.o.hang_ms = (uint32_t)(8000 * c.o.cf.timeout_scale);
	int rc = has_show ? sw_bb_show(&c, show) : sw_bb_run(&c);
	sw_cf_release();
	if (rc < 0) {
		fprintf(stderr, "smartwire fuzz: %s\n", sw_errname(rc));
		return SW_EXIT_FAILURE;
	}
	return rc > 0 ? SW_EXIT_FAILURE : SW_EXIT_OK;
}
