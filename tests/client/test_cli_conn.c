/*
 * The sans-I/O client core (smartwire/client_conn.h) driven directly, with
 * no medium: every Breezy response vector is fed to it whole, one byte at a
 * time and split at every offset (each piece against a guard page), once
 * feeding what it is given and once at most next_read_size() bytes per feed
 * (a pipe reader), with every allocation failed in turn, once and
 * persistently.
 *
 *   client_vectors.inc  (gen_client.py: Breezy's client classes) the exact
 *                       outcome, in gen_client.py's trace notation
 *   v12_response.inc    (gen_v12.py) and v3_vectors.inc (gen_v3.py, those
 *                       that start with the marker): the outcome must not
 *                       depend on the cuts, and the args and body the core
 *                       reports must be the ones Breezy's decoders saw; for
 *                       v3, next_read_size() after every byte must be
 *                       Breezy's ProtocolThreeDecoder's
 *
 * The request bytes and the driving contract are in test_cli_conn_api.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smartwire/client_conn.h"
#include "smartwire/error.h"
#include "smartwire/failmem.h"
#include "smartwire/format.h"
#include "support/client_vectors.h"
#include "support/harness.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* gen_client.py's modes. */
enum { MODE_TUPLE = 0, MODE_BODY = 1, MODE_STREAM = 2, MODE_CANCEL = 3 };

typedef struct cli_case {
	int version; /* forced */
	const char *verb;
	int mode;
	bool exact;      /* feed at most next_read_size() bytes at a time */
	const char *nrs; /* v3: Breezy's next_read_size() per byte, or NULL */
} cli_case;

/* ---- the driver: a call, then the body as the mode says --------------------- */

typedef struct drv {
	sw_cli_conn *core;
	const cli_case *cc;
	sw_buf *trace;
	sw_buf body;    /* through the failing allocator: read_body appends here */
	sw_buf part;    /* libc: the harness's own */
	sw_buf pending; /* libc: bytes fed but not consumed (Breezy's unused data) */
	sw_call call;
	bool over;  /* the outcome is written */
	size_t fed; /* bytes fed so far, for the next_read_size check */
} drv;

static int on_data(void *ud, const uint8_t *p, size_t n)
{
	drv *d = ud;
	assert_true(n > 0);
	return sw_buf_append(&d->part, p, n) < 0;
}

static int on_part_end(void *ud)
{
	drv *d = ud;
	int rc = sw_t_emit_bytes(d->trace, "part", d->part.data, d->part.len);
	sw_buf_reset(&d->part);
	return rc < 0;
}

static const sw_body_callbacks body_cb = {on_data, on_part_end};

/* An operation ended with rc: the outcome lines; SW_ERR_NOMEM goes to the
 * harness, which ends the trace with it. */
static int outcome(drv *d, int rc)
{
	if (rc == SW_ERR_NOMEM)
		return rc;
	d->over = true;
	sw_buf_append_str(d->trace, "error ");
	sw_buf_append_str(d->trace, sw_errname(rc));
	if (rc == SW_ERR_ERROR_RESPONSE) {
		size_t n;
		const sw_slice *a = sw_cli_conn_error_args(d->core, &n);
		sw_buf_append_byte(d->trace, ' ');
		sw_format_tuple(d->trace, a, n);
	}
	sw_buf_append_byte(d->trace, '\n');
	const char *m = sw_cli_conn_error_message(d->core);
	sw_t_emit_bytes(d->trace, "message", m, strlen(m));
	return 0;
}

/* Does what the core wants, short of reading; starts the body operation
 * when the call ended.  0, or SW_ERR_NOMEM for the harness. */
static int step(drv *d)
{
	for (;;) {
		const uint8_t *p;
		size_t n;
		switch (sw_cli_conn_want(d->core)) {
		case SW_CLI_CONNECT: assert_int_equal(sw_cli_conn_connected(d->core), 0); continue;
		case SW_CLI_WRITE:
			assert_int_equal(sw_cli_conn_output(d->core, &p, &n), 0);
			sw_cli_conn_output_done(d->core, n);
			continue;
		case SW_CLI_CLOSE:
			sw_buf_reset(&d->pending); /* unread bytes go with the connection */
			sw_cli_conn_closed(d->core);
			continue;
		case SW_CLI_READ: return 0;
		case SW_CLI_IDLE: break;
		}
		int rc = sw_cli_conn_result(d->core);
		if (d->over)
			return 0;
		if (rc < 0)
			return outcome(d, rc);
		if (d->call.verb.p) {
			/* The call ended: its args, then the body. */
			d->call.verb.p = NULL;
			size_t na;
			const sw_slice *a = sw_cli_conn_args(d->core, &na);
			sw_t_emit_tuple(d->trace, "args", a, na);
			if (d->cc->mode == MODE_TUPLE)
				rc = 1;
			else if (d->cc->mode == MODE_BODY)
				rc = sw_cli_conn_read_body(d->core, &d->body);
			else if (d->cc->mode == MODE_STREAM)
				rc = sw_cli_conn_read_streamed_body(d->core, &body_cb, d);
			else
				rc = sw_cli_conn_cancel_read_body(d->core);
			if (rc == 1)
				d->over = true;
			else if (rc < 0)
				return outcome(d, rc);
			continue;
		}
		/* The body operation ended. */
		d->over = true;
		if (d->cc->mode == MODE_BODY)
			sw_t_emit_bytes(d->trace, "body", d->body.data, d->body.len);
		return 0;
	}
}

static void *create(const sw_mem *mem, sw_buf *trace, const void *arg)
{
	const cli_case *cc = arg;
	drv *d = calloc(1, sizeof *d);
	assert_non_null(d);
	d->cc = cc;
	d->trace = trace;
	sw_buf_init(&d->body, mem);
	sw_buf_init(&d->part, NULL);
	sw_buf_init(&d->pending, NULL);
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = cc->version;
	cfg.headers_set = true;
	int rc = sw_cli_conn_new(&d->core, &cfg, mem);
	if (rc == 0) {
		d->call.verb = (sw_slice){(const uint8_t *)cc->verb, strlen(cc->verb)};
		d->call.expect_body = cc->mode != MODE_TUPLE;
		rc = sw_cli_conn_call(d->core, &d->call);
		if (rc == 0 || rc != SW_ERR_NOMEM)
			rc = step(d);
	}
	if (rc == SW_ERR_NOMEM) {
		sw_cli_conn_del(d->core);
		sw_buf_fini(&d->body);
		free(d);
		return NULL;
	}
	assert_int_equal(rc, 0);
	return d;
}

/* Breezy's value after `fed` bytes, from the space-separated list; 0 past
 * its end. */
static size_t nth_nrs(const char *list, size_t fed)
{
	const char *p = list;
	for (size_t i = 0; i < fed && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? (size_t)strtoul(p, NULL, 10) : 0;
}

/* Feeds p[0..n) while the core reads; returns the count consumed. */
static int feed_core(drv *d, const uint8_t *p, size_t n, size_t *used)
{
	*used = 0;
	while (!d->over && sw_cli_conn_want(d->core) == SW_CLI_READ && *used < n) {
		size_t k = n - *used;
		size_t nrs = sw_cli_conn_next_read_size(d->core);
		assert_true(nrs > 0);
		size_t want = d->cc->nrs ? nth_nrs(d->cc->nrs, d->fed) : 0;
		if (want && nrs != want)
			fail_msg("next_read_size %zu after %zu bytes, Breezy's is %zu", nrs, d->fed,
			         want);
		if (d->cc->exact && k > nrs)
			k = nrs;
		ptrdiff_t f = sw_cli_conn_feed(d->core, p + *used, k);
		assert_true(f >= 0 && (size_t)f <= k);
		*used += (size_t)f;
		d->fed += (size_t)f;
		if (f == 0)
			assert_int_not_equal(sw_cli_conn_want(d->core), SW_CLI_READ);
		int rc = step(d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int feed(void *dv, const uint8_t *in, size_t len)
{
	drv *d = dv;
	if (d->pending.len) {
		/* Bytes wait already: these go behind them. */
		if (len)
			sw_buf_append(&d->pending, in, len);
		size_t used;
		int rc = feed_core(d, d->pending.data, d->pending.len, &used);
		memmove(d->pending.data, d->pending.data + used, d->pending.len - used);
		d->pending.len -= used;
		return rc;
	}
	size_t used;
	int rc = feed_core(d, in, len, &used);
	if (rc == 0 && used < len)
		sw_buf_append(&d->pending, in + used, len - used);
	return rc;
}

static int finish(void *dv)
{
	drv *d = dv;
	/* End of stream.  A safe verb is then resent once on a new connection
	 * (Breezy _call), which here ends at once too. */
	while (!d->over && sw_cli_conn_want(d->core) == SW_CLI_READ) {
		assert_int_equal(sw_cli_conn_eof(d->core), 0);
		int rc = step(d);
		if (rc < 0)
			return rc;
	}
	if (!d->over)
		fail_msg("%s: the run did not end (want %d)", d->cc->verb,
		         (int)sw_cli_conn_want(d->core));
	if (d->cc->mode == MODE_CANCEL && sw_cli_conn_result(d->core) == 0) {
		char tmp[64];
		snprintf(tmp, sizeof tmp, "unread %zu\n", d->pending.len);
		sw_buf_append_str(d->trace, tmp);
	}
	return 0;
}

static void destroy(void *dv)
{
	drv *d = dv;
	sw_cli_conn_del(d->core);
	sw_buf_fini(&d->body);
	sw_buf_fini(&d->part);
	sw_buf_fini(&d->pending);
	free(d);
}

static size_t nrs_of(void *dv)
{
	return sw_cli_conn_next_read_size(((drv *)dv)->core);
}

static const sw_t_codec core_codec = {"client core", create, feed, finish, destroy, nrs_of};

/* ---- comparing outcomes ----------------------------------------------------------- */

/* Breezy's trace has a bare "error" line where its exception has no
 * smartwire equivalent: it matches any "error SW_ERR_..." and ends the
 * comparison. */
static bool trace_match(const char *exp, const char *act)
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

/* Under an allocation failure: the expected outcome, or SW_ERR_NOMEM, or
 * the expected outcome with an error's text lost (the documented price of
 * running out of memory while formatting it: empty or the code's text). */
static bool nomem_match(const char *exp, const char *act)
{
	const char *err = sw_t_trace_error(act);
	if ((err && !strcmp(err, "SW_ERR_NOMEM")) || trace_match(exp, act))
		return true;
	const char *m = strstr(act, "\nmessage ");
	const char *me = strstr(exp, "\nmessage ");
	if (!m || !me || m - act != me - exp || memcmp(exp, act, (size_t)(m - act)))
		return false;
	const char *rest = strchr(m + 1, '\n'), *erest = strchr(me + 1, '\n');
	return rest && erest && !strcmp(rest, erest);
}

static size_t total_runs, total_sites;

static bool is_bad_marker_text(const char *l)
{
	static const char m[] = "message \"Received bad protocol version marker: ";
	return !strncmp(l, m, sizeof m - 1);
}

/* The outcome must not depend on how the input was cut, except the text of
 * a v3 bad marker: like Breezy's, it shows the bytes at hand when the
 * mismatch was seen (a pipe reader's whole next_read_size, or what a socket
 * read returned), since waiting for more could wait forever on a peer that
 * is not a Bazaar server (an SSH banner). */
static bool same_outcome(const char *a, const char *b)
{
	for (;;) {
		const char *ae = strchr(a, '\n'), *be = strchr(b, '\n');
		if (!ae || !be)
			return !strcmp(a, b);
		size_t al = (size_t)(ae - a), bl = (size_t)(be - b);
		if (!(al == bl && !memcmp(a, b, al)) &&
		    !(is_bad_marker_text(a) && is_bad_marker_text(b)))
			return false;
		a = ae + 1;
		b = be + 1;
	}
}

/* Whole, byte by byte, every split, then every allocation failed.  Returns
 * the whole run's trace (malloc'd). */
static char *check_case(const char *name, const cli_case *cc, const uint8_t *in, size_t len,
                        const char *expected)
{
	char *whole = sw_t_run(&core_codec, cc, in, len, NULL, 0, NULL, NULL);
	if (expected && !trace_match(expected, whole))
		fail_msg("%s: expected\n%s--- got\n%s", name, expected, whole);
	size_t *cuts = malloc((len + 1) * sizeof *cuts);
	assert_non_null(cuts);
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	char *t = sw_t_run(&core_codec, cc, in, len, cuts, len ? len - 1 : 0, NULL, NULL);
	if (!same_outcome(whole, t))
		fail_msg("%s one byte at a time:\n%s--- whole:\n%s", name, t, whole);
	free(t);
	for (size_t at = 0; at <= len; at++) {
		t = sw_t_run(&core_codec, cc, in, len, &at, 1, NULL, NULL);
		if (!same_outcome(whole, t))
			fail_msg("%s split at %zu:\n%s--- whole:\n%s", name, at, t, whole);
		free(t);
	}
	free(cuts);
	total_runs += len + 3;
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	t = sw_t_run(&core_codec, cc, in, len, NULL, 0, &fm.mem, NULL);
	assert_string_equal(t, whole);
	free(t);
	assert_int_equal(fm.live, 0);
	size_t sites = fm.calls;
	for (size_t k = 1; k <= sites; k++) {
		for (int persistent = 0; persistent < 2; persistent++) {
			sw_failmem_init(&fm, k, persistent);
			t = sw_t_run(&core_codec, cc, in, len, NULL, 0, &fm.mem, NULL);
			if (!nomem_match(whole, t))
				fail_msg("%s: allocation %zu failed%s:\n%s--- whole:\n%s", name, k,
				         persistent ? " (persistent)" : "", t, whole);
			if (fm.live)
				fail_msg("%s: allocation %zu: %zu blocks leaked", name, k, fm.live);
			free(t);
		}
	}
	total_sites += sites;
	total_runs += 2 * sites + 1;
	return whole;
}

/* ---- Breezy's client vectors -------------------------------------------------- */

static void test_client_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(client_resp_vectors); i++) {
		const struct client_resp_vec *v = &client_resp_vectors[i];
		for (int exact = 0; exact < 2; exact++) {
			cli_case cc = {v->version, v->verb, v->mode, exact, NULL};
			free(check_case(v->name, &cc, (const uint8_t *)v->resp, v->resp_len,
			                v->trace));
		}
	}
	print_message("%zu client vectors: %zu runs, %zu allocation sites\n",
	              N(client_resp_vectors), total_runs, total_sites);
}

/* ---- the codec's response vectors ---------------------------------------------- */

typedef struct v12_param {
	int kind, version, mode, marker, early;
	const void *cfg;
} v12_param;

static const v12_param RESP1_NONE = {1, 1, MODE_TUPLE, 0, 0, NULL};
static const v12_param RESP1_PREFIXED = {1, 1, MODE_BODY, 0, 0, NULL};
static const v12_param RESP2_NONE = {1, 2, MODE_TUPLE, 0, 0, NULL};
static const v12_param RESP2_PREFIXED = {1, 2, MODE_BODY, 0, 0, NULL};
static const v12_param RESP2_CHUNKED = {1, 2, MODE_STREAM, 0, 0, NULL};

static const struct {
	const char *name;
	const char *input;
	size_t len;
	const char *expected;
	const v12_param *arg;
} v12_vecs[] = {
#include "vectors/v12_response.inc"
};

typedef struct v3_arg {
	int expect_marker;
	const char *nrs;
} v3_arg;

static const struct {
	const char *name;
	const char *input;
	size_t len;
	const char *trace;
	v3_arg arg;
} v3_vecs[] = {
#include "vectors/v3_vectors.inc"
};

/* The line of `trace` starting with `event ` (the first one), or NULL. */
static const char *find_line(const char *trace, const char *event, size_t *n)
{
	size_t el = strlen(event);
	for (const char *p = trace; *p;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (l > el && !memcmp(p, event, el) && p[el] == ' ') {
			*n = l - el - 1;
			return p + el + 1;
		}
		p = e ? e + 1 : p + l;
	}
	return NULL;
}

/* What the core reported must be what Breezy's decoder saw: its args as the
 * decoder's `args_event`, and its body as the decoder's `body_event`. */
static void cross_check(const char *name, const char *core, const char *dec, const char *args_event,
                        const char *body_event)
{
	size_t cn, dn;
	const char *c = find_line(core, "args", &cn);
	if (c) {
		const char *d = find_line(dec, args_event, &dn);
		if (!d || cn != dn || memcmp(c, d, cn))
			fail_msg(
			    "%s: the core's args differ from the decoder's\n%s--- decoder:\n%s",
			    name, core, dec);
	}
	c = find_line(core, "body", &cn);
	if (c && body_event) {
		const char *d = find_line(dec, body_event, &dn);
		if (!d || cn != dn || memcmp(c, d, cn))
			fail_msg(
			    "%s: the core's body differs from the decoder's\n%s--- decoder:\n%s",
			    name, core, dec);
	}
}

static void test_codec_vectors(void **state)
{
	(void)state;
	size_t runs = total_runs;
	for (size_t i = 0; i < N(v12_vecs); i++) {
		const v12_param *p = v12_vecs[i].arg;
		for (int exact = 0; exact < 2; exact++) {
			cli_case cc = {p->version, "foo", p->mode, exact, NULL};
			char *t =
			    check_case(v12_vecs[i].name, &cc, (const uint8_t *)v12_vecs[i].input,
			               v12_vecs[i].len, NULL);
			cross_check(v12_vecs[i].name, t, v12_vecs[i].expected, "args", "body");
			free(t);
		}
	}
	size_t nv3 = 0;
	for (size_t i = 0; i < N(v3_vecs); i++) {
		if (!v3_vecs[i].arg.expect_marker)
			continue;
		nv3++;
		for (int mode = MODE_TUPLE; mode <= MODE_CANCEL; mode++) {
			cli_case cc = {3, "foo", mode, mode == MODE_STREAM, NULL};
			/* Breezy's next_read_size after every byte, while the core
			 * reads the body: the same decoder, never read past. */
			if (mode == MODE_BODY)
				cc.nrs = v3_vecs[i].arg.nrs;
			char *t =
			    check_case(v3_vecs[i].name, &cc, (const uint8_t *)v3_vecs[i].input,
			               v3_vecs[i].len, NULL);
			cross_check(v3_vecs[i].name, t, v3_vecs[i].trace, "structure", NULL);
			free(t);
		}
	}
	print_message("%zu v1/v2 and %zu v3 codec vectors: %zu runs\n", N(v12_vecs), nv3,
	              total_runs - runs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_client_vectors),
	    cmocka_unit_test(test_codec_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
