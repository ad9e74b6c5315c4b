/*
 * The client under the fault-plan matrix on the server->client direction.
 *
 * Every response vector of client_vectors.inc (generated from Breezy) and
 * every negotiation exchange is run whole (the response vectors also with
 * pipe_exact, reading exactly next_read_size bytes), then under each plan:
 *   read=k            every read size k = 1..N (N = reply length)
 *   read=i,1048576    split in two at every offset i
 *   eof@i             end of stream at every offset i = 0..N
 *   error@i:EIO       an I/O error at every offset
 *   eagain / eintr    bursts of spurious EAGAIN and EINTR
 * Chunking plans must give exactly the whole run's outcome (a v3 bad-marker
 * text excepted: it shows the bytes that had arrived, like Breezy's).  EOF
 * and error plans must give the whole outcome or stop with
 * SW_ERR_CONNECTION_RESET / SW_ERR_IO after a prefix of it.  No plan may
 * hang (SW_ERR_TIMEOUT) or leak.  The count of runs and the time are printed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "smartwire/client.h"
#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "support/fakeserver.h"

#include "support/client_vectors.h"

static size_t total_runs;
/* Runs whose outcome differed from the whole run, per plan kind: proof that
 * the faults reached the client. */
static size_t diverged[3];

enum plan_kind { PLAN_CHUNK, PLAN_EOF, PLAN_EIO };

typedef struct plan_item {
	char spec[64];
	enum plan_kind kind;
} plan_item;

/* The plans for a reply of `len` bytes; returns the count (caller frees). */
static plan_item *make_plans(size_t len, size_t *count)
{
	size_t cap = 4 * len + 16, n = 0;
	plan_item *p = calloc(cap, sizeof *p);
	assert_non_null(p);
	for (size_t k = 1; k <= len; k++) {
		snprintf(p[n].spec, sizeof p[n].spec, "read=%zu", k);
		p[n++].kind = PLAN_CHUNK;
	}
	for (size_t i = 1; i < len; i++) {
		snprintf(p[n].spec, sizeof p[n].spec, "read=%zu,1048576", i);
		p[n++].kind = PLAN_CHUNK;
	}
	for (size_t i = 0; i <= len; i++) {
		snprintf(p[n].spec, sizeof p[n].spec, "eof@%zu", i);
		p[n++].kind = PLAN_EOF;
		snprintf(p[n].spec, sizeof p[n].spec, "error@%zu:EIO", i);
		p[n++].kind = PLAN_EIO;
	}
	static const char *const bursts[] = {"eagain=1/2", "eagain=3/4", "eintr=1/2",
	                                     "eintr=3/4;read=1", "eagain=2/3;eintr=1/3;read=2"};
	for (size_t i = 0; i < sizeof bursts / sizeof *bursts; i++) {
		snprintf(p[n].spec, sizeof p[n].spec, "%s", bursts[i]);
		p[n++].kind = PLAN_CHUNK;
	}
	*count = n;
	return p;
}

/* Splits a trace into lines (in place); returns the count. */
static size_t split_lines(char *t, char **lines, size_t max)
{
	size_t n = 0;
	while (*t && n < max) {
		lines[n++] = t;
		char *nl = strchr(t, '\n');
		if (!nl)
			break;
		*nl = 0;
		t = nl + 1;
	}
	return n;
}

static bool is_bad_marker_msg(char **l, size_t i)
{
	return i > 0 && !strncmp(l[i], "message ", 8) && !strcmp(l[i - 1], "error SW_ERR_BAD_MARKER");
}

/* Checks `got` against the whole run `whole` for a plan of kind `kind`. */
static bool acceptable(const char *whole_in, const char *got_in, enum plan_kind kind,
                       char *why, size_t whylen)
{
	char *whole = strdup(whole_in), *got = strdup(got_in);
	char *wl[64], *gl[64];
	size_t wn = split_lines(whole, wl, 64), gn = split_lines(got, gl, 64);
	bool ok = true;
	if (kind == PLAN_CHUNK) {
		ok = wn == gn;
		for (size_t i = 0; ok && i < wn; i++)
			ok = !strcmp(wl[i], gl[i]) || (is_bad_marker_msg(wl, i) && is_bad_marker_msg(gl, i));
	} else {
		const char *stop = kind == PLAN_EOF ? "error SW_ERR_CONNECTION_RESET" : "error SW_ERR_IO";
		size_t i = 0;
		for (; i < gn && i < wn; i++) {
			if (!strcmp(gl[i], wl[i]) || (is_bad_marker_msg(wl, i) && is_bad_marker_msg(gl, i)))
				continue;
			unsigned long a, b;
			if (sscanf(gl[i], "unread %lu", &a) == 1 && sscanf(wl[i], "unread %lu", &b) == 1 &&
			    a <= b)
				continue;
			break;
		}
		if (i == gn && gn == wn) {
			ok = true;
		} else {
			/* Stopped early: the next line must be the plan's error. */
			ok = i < gn && !strcmp(gl[i], stop) &&
			     (i + 1 == gn || (i + 2 == gn && !strncmp(gl[i + 1], "message ", 8)));
		}
	}
	if (!ok)
		snprintf(why, whylen, "whole:\n%s\ngot:\n%s", whole_in, got_in);
	free(whole);
	free(got);
	return ok;
}

/* The whole run against Breezy's trace: a bare "error" line there matches
 * any "error SW_ERR_..." and ends the comparison. */
static bool trace_equal_breezy(const char *exp, const char *act)
{
	for (;;) {
		const char *e_end = strchr(exp, '\n');
		const char *a_end = strchr(act, '\n');
		if (!e_end || !a_end)
			return !e_end && !a_end && !*exp && !*act;
		size_t el = (size_t)(e_end - exp), al = (size_t)(a_end - act);
		if (el == 5 && !memcmp(exp, "error", 5))
			return al > 6 && !memcmp(act, "error SW_ERR_", 13);
		if (el != al || memcmp(exp, act, el))
			return false;
		exp = e_end + 1;
		act = a_end + 1;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_response_matrix(void **state)
{
	(void)state;
	double t0 = now_s();
	size_t runs = 0;
	char why[4096];
	for (size_t i = 0; i < 2 * (sizeof client_resp_vectors / sizeof *client_resp_vectors);
	     i++) {
		const struct client_resp_vec *v = &client_resp_vectors[i / 2];
		bool exact = i % 2;
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		sw_fs_run run = {v->version,  v->verb, v->mode, (const uint8_t *)v->resp,
		                 v->resp_len, NULL,    &fm.mem, exact};
		int err;
		char *whole = sw_fs_run_response(&run, &err);
		assert_non_null(whole);
		if (!trace_equal_breezy(v->trace, whole))
			fail_msg("%s%s:\n%s--- Breezy:\n%s", v->name, exact ? " pipe_exact" : "",
			         whole, v->trace);
		size_t np;
		plan_item *plans = make_plans(v->resp_len, &np);
		for (size_t k = 0; k < np; k++) {
			sw_fault_plan plan;
			sw_fault_plan_init(&plan);
			assert_int_equal(sw_fault_plan_parse(plans[k].spec, &plan, NULL), 0);
			sw_failmem_init(&fm, 0, false);
			run.plan = &plan;
			char *got = sw_fs_run_response(&run, &err);
			assert_non_null(got);
			runs++;
			if (err == SW_ERR_TIMEOUT)
				fail_msg("%s [%s]%s: hung (SW_ERR_TIMEOUT)\n%s", v->name,
				         plans[k].spec, exact ? " pipe_exact" : "", got);
			if (!acceptable(whole, got, plans[k].kind, why, sizeof why))
				fail_msg("%s [%s]%s:\n%s", v->name, plans[k].spec,
				         exact ? " pipe_exact" : "", why);
			if (fm.live)
				fail_msg("%s [%s]: %zu blocks leaked", v->name, plans[k].spec, fm.live);
			if (strcmp(whole, got))
				diverged[plans[k].kind]++;
			free(got);
		}
		free(plans);
		free(whole);
	}
	total_runs += runs;
	print_message("response matrix: outcome changed by %zu chunking, %zu EOF, %zu EIO runs\n",
	              diverged[PLAN_CHUNK], diverged[PLAN_EOF], diverged[PLAN_EIO]);
	assert_true(diverged[PLAN_EOF] > 1000);
	assert_true(diverged[PLAN_EIO] > 1000);
	print_message("response matrix: %zu vectors (reads of any size, and pipe_exact), %zu runs, "
	              "%.2f s\n",
	              sizeof client_resp_vectors / sizeof *client_resp_vectors, runs, now_s() - t0);
}

/* ---- negotiation exchanges under the matrix ------------------------------ */

typedef struct scenario {
	const char *name;
	int protocol;
	const sw_fs_conn *conns;
	size_t nconns;
	const char *verb;
	size_t reply_len; /* longest reply, for the plans */
} scenario;

/* Runs the scenario's call; the outcome as a small trace. */
static char *run_scenario(const scenario *sc, const sw_fault_plan *plan, const sw_mem *mem,
                          int *err)
{
	sw_fakeserver *fs = malloc(sizeof *fs);
	assert_non_null(fs);
	sw_fs_init(fs, sc->conns, sc->nconns, plan, mem);
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = sc->protocol;
	cfg.headers_set = true;
	sw_client *c = NULL;
	char *out = malloc(1024);
	assert_non_null(out);
	int rc = sw_client_new(&c, &cfg, sw_fs_connect, fs, mem);
	assert_int_equal(rc, 0);
	sw_response *r = NULL;
	sw_slice verb = {(const uint8_t *)sc->verb, strlen(sc->verb)};
	rc = sw_client_call_simple(c, verb, NULL, 0, &r);
	*err = rc;
	if (rc == 0) {
		size_t n;
		const sw_slice *a = sw_response_args(r, &n);
		snprintf(out, 1024, "args %.*s\nversion %d\n", n ? (int)a[0].n : 0,
		         n ? (const char *)a[0].p : "", sw_client_protocol_version(c));
	} else {
		snprintf(out, 1024, "error %s\nmessage %s\n", sw_errname(rc),
		         sw_client_error_message(c));
	}
	sw_response_del(r);
	sw_client_del(c);
	sw_fs_close(fs);
	free(fs);
	return out;
}

static void test_negotiation_matrix(void **state)
{
	(void)state;
	static const char v2fail[] = "bzr response 2\nfailed\n\n";
	static const char v2ok[] = "bzr response 2\nsuccess\nresponse value\n";
	static const char v1err3[] = "error\x01" "Generic bzr smart protocol error: bad request "
	                             "'bzr message 3 (bzr 1.6)'\n";
	static const char v1err2[] = "error\x01" "Generic bzr smart protocol error: bad request "
	                             "'bzr request 2'\n";
	static const char ssh[] = "SSH-2.0-OpenSSH_9.0\r\n";
	static const char v3ok[] = M3 H0 "oS" "s\x00\x00\x00\x13" "l14:response valuee" "e";
	static const char v3err[] = M3 H0 "oE" "s\x00\x00\x00\x0f" "l11:FooBarErrore" "e";
	sw_fs_exchange a1 = {NULL, 0, S(v2fail), SW_FS_ANY_REQUEST};
	sw_fs_exchange a2 = {NULL, 0, S(v2ok), SW_FS_ANY_REQUEST};
	sw_fs_exchange b1 = {NULL, 0, S(v1err3), SW_FS_ANY_REQUEST};
	sw_fs_exchange b2 = {NULL, 0, S(v1err2), SW_FS_ANY_REQUEST};
	sw_fs_exchange c1 = {NULL, 0, S(ssh), SW_FS_ANY_REQUEST};
	sw_fs_exchange d1 = {NULL, 0, S(v3ok), SW_FS_ANY_REQUEST};
	sw_fs_exchange e1 = {NULL, 0, S(v3err), SW_FS_ANY_REQUEST};
	sw_fs_exchange f2 = {NULL, 0, S("bzr response 2\nfailed\nFooBarError\n"), SW_FS_ANY_REQUEST};
	sw_fs_conn two[] = {{&a1, 1, 0}, {&a2, 1, 0}};
	sw_fs_conn pre16[] = {{&b1, 1, 0}, {&a2, 1, 0}};
	sw_fs_conn v1only[] = {{&b1, 1, 0}, {&b2, 1, 0}};
	sw_fs_conn sshc[] = {{&c1, 1, 0}};
	sw_fs_conn three[] = {{&d1, 1, 0}};
	sw_fs_conn threeerr[] = {{&e1, 1, 0}};
	sw_fs_conn twoerr[] = {{&a1, 1, 0}, {&f2, 1, 0}};
	const scenario scs[] = {
		{"v3 server", 0, three, 1, "method-name", sizeof v3ok - 1},
		{"v3 error", 0, threeerr, 1, "method-name", sizeof v3err - 1},
		{"v2 server", 0, two, 2, "method-name", sizeof v2ok - 1},
		{"v2 first error", 0, twoerr, 2, "method-name", 40},
		{"pre-1.6 server", 0, pre16, 2, "has", sizeof v1err3 - 1},
		{"v1-only server", 0, v1only, 2, "has", sizeof v1err3 - 1},
		{"ssh peer", 0, sshc, 1, "hello", sizeof ssh - 1},
		{"ssh peer, read verb", 0, sshc, 1, "get", sizeof ssh - 1},
	};
	double t0 = now_s();
	size_t runs = 0;
	char why[4096];
	for (size_t i = 0; i < sizeof scs / sizeof *scs; i++) {
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		int err;
		char *whole = run_scenario(&scs[i], NULL, &fm.mem, &err);
		size_t np;
		plan_item *plans = make_plans(scs[i].reply_len, &np);
		for (size_t k = 0; k < np; k++) {
			sw_fault_plan plan;
			sw_fault_plan_init(&plan);
			assert_int_equal(sw_fault_plan_parse(plans[k].spec, &plan, NULL), 0);
			sw_failmem_init(&fm, 0, false);
			char *got = run_scenario(&scs[i], &plan, &fm.mem, &err);
			runs++;
			if (err == SW_ERR_TIMEOUT)
				fail_msg("%s [%s]: hung", scs[i].name, plans[k].spec);
			if (!acceptable(whole, got, plans[k].kind, why, sizeof why))
				fail_msg("%s [%s]:\n%s", scs[i].name, plans[k].spec, why);
			if (fm.live)
				fail_msg("%s [%s]: leak", scs[i].name, plans[k].spec);
			free(got);
		}
		free(plans);
		free(whole);
	}
	total_runs += runs;
	print_message("negotiation matrix: %zu scenarios, %zu runs, %.2f s\n",
	              sizeof scs / sizeof *scs, runs, now_s() - t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_matrix),
		cmocka_unit_test(test_negotiation_matrix),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("client fault matrix: %zu runs in total\n", total_runs);
	return rc;
}
