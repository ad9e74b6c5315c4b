/*
 * Fuzz target: whole client calls (smartwire/client.h: the blocking driver
 * of the sans-I/O core of smartwire/client_conn.h, the code users run)
 * against a scripted server.  The client's connect callback creates an in-process fifo pair
 * (smartwire/medium.h); the client gets one end, wrapped in a fault plan
 * (smartwire/fault.h), and a pump on it plays the server: each time the
 * client finds its queue empty, the pump writes the next piece of the input
 * into the far end.  The input's protocol bytes (fdp.h) are everything the
 * server says on a connection; every new connection (v3 refused and retried
 * in v2, a retry after a reset) replays them from the start, as a real
 * server answers each connection afresh -- so a v2-only server is a script
 * that starts with a v2 response: the v3 attempt reads a bad marker, the v2
 * retry reads the same bytes as its answer.  What the client writes is left
 * unread in the far end.  Single-threaded and deterministic: when the script
 * is exhausted the pump either half-closes the far end (the client reads
 * EOF) or makes no progress, a stall that the client must turn into a
 * bounded error (SW_ERR_TIMEOUT after SW_CLIENT_MAX_STALLS attempts); the
 * client's own timeout is off, so no clock is involved.
 * THE TRAILER (fdp.h), read by this target as:
 *   plan % 4          allocation fault, as fdp.h (1 once, 2 persistently)
 *   (plan >> 2) % 8   I/O fault on the client's end of each connection:
 *                       0  none
 *                       1  eof@N on reads
 *                       2  error@N:EIO on reads
 *                       3  error@N:EPIPE on writes (a reset: Breezy's retry)
 *                       4  error@N:EIO on writes
 *                       5  eagain=1/2 on reads and writes
 *                       6  stall@N on reads
 *                       7  tiny transfers: read=1 and write=3, or with
 *                          (plan >> 5) & 3 = 2 every:M, = 3 rand:1-M
 *                          (M = chunks[0] + 1, seed fail_at)
 *   (plan >> 5) & 1   with faults 0..6: pipe_exact (the client reads exactly
 *                     next_read_size bytes, never past a response), in every
 *                     run of the input
 *   plan >> 7         the plans go to sw_fifo_pair (b_to_a for the client's
 *                     reads, a_to_b's write sizes for its writes) instead of
 *                     sw_fault_wrap (not with faults 3 and 4, which need the
 *                     wrapper's write role)
 *   fail_at           N: the allocation that fails (modulo the allocations
 *                     of the clean run), the byte offset of an I/O fault
 *                     (modulo the input length + 1)
 *   variant bits 0-1  protocol: 0 negotiate as Breezy (v3, then v2), else
 *                     forced 1, 2 or 3
 *           bits 2-4  the call (client_calls.h): 0 hello, 1 call (no
 *                     body), 2 with a body read, 3 with a streamed body
 *                     read, 4 call_simple, 5 with body bytes, 6 readv,
 *                     7 with a streamed request body
 *           bit 5     stall at the end of the script instead of EOF
 *           bit 6     make the call twice (the second uses what is left)
 *           bit 7     no_retry
 *   chunks            sizes of the pieces the pump delivers, cycled
 *
 * THE RUNS AND CHECKS.  Every call's outcome is written as a line: result
 * code, response version and args, body bytes (or streamed parts), error
 * tuple.  Run W delivers the script whole, run C in the trailer's pieces:
 *   - both end (no hang), every result is 0 or a negative sw_err, a
 *     successful call has a successful response in the forced version;
 *   - C equals W (the result does not depend on how the server's bytes
 *     were cut);
 *   - with the I/O fault (run F = C plus the fault): F's lines equal C's up
 *     to the first that differs, whose result must be the fault's report:
 *     SW_ERR_CONNECTION_RESET for an early EOF (Breezy's "Unexpected end of
 *     message"; also SW_ERR_NOT_A_SERVER, Breezy's reading of a version
 *     marker cut short) and for EPIPE, SW_ERR_IO for EIO, SW_ERR_TIMEOUT for
 *     a stall; EAGAIN bursts and tiny transfers must change nothing.  A
 *     reset (early EOF, EPIPE) that the client answered with Breezy's
 *     retry on a new connection counts as handled: the retry starts the
 *     script again, so later lines are not comparable;
 *   - with the allocation fault (run M = C with the N-th allocation
 *     failing): the first line that differs must have SW_ERR_NOMEM;
 *   - after sw_client_del and closing the far ends nothing is left
 *     allocated (the failing allocator's live count is 0).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_calls.h"
#include "fdp.h"
#include "smartwire/client.h"
#include "smartwire/error.h"
#include "smartwire/fault.h"
#include "smartwire/format.h"
#include "smartwire/medium.h"

#define MAX_CONNS 6

typedef struct script script;

typedef struct conn {
	script *s;
	sw_medium *far; /* the server's end (harness-owned) */
	bool shut;
	size_t pos;     /* bytes of the script delivered on this connection */
	size_t piece;   /* pieces delivered so far (chunk index) */
} conn;

struct script {
	const sw_fuzz_ctl *ctl;
	const uint8_t *p;
	size_t len;      /* the server's script */
	bool whole;      /* deliver everything left at once */
	bool stall_at_end;
	const sw_fault_plan *rplan, *wplan;
	bool pair_plans; /* plans given to sw_fifo_pair, not sw_fault_wrap */
	const sw_mem *mem;
	conn conns[MAX_CONNS];
	size_t nconns;
};

static int pump(void *ud)
{
	conn *k = ud;
	script *s = k->s;
	if (k->pos < s->len) {
		size_t n = s->len - k->pos;
		if (!s->whole) {
			size_t c = sw_fuzz_chunk(s->ctl, k->piece);
			if (c < n)
				n = c;
		}
		size_t w = 0;
		int rv = sw_medium_write_all(k->far, s->p + k->pos, n, &w);
		k->pos += w;
		if (w)
			k->piece++;
		return rv < 0 ? rv : 1;
	}
	if (!s->stall_at_end && !k->shut) {
		k->shut = true;
		int rv = sw_medium_shutdown_write(k->far);
		return rv < 0 ? rv : 1;
	}
	return 0;
}

static int do_connect(void *ud, sw_medium **out, sw_errinfo *ei)
{
	(void)ei;
	script *s = ud;
	if (s->nconns == MAX_CONNS)
		return SW_ERR_CONNECT; /* a reconnection loop would be a bug anyway */
	sw_medium *near = NULL, *far = NULL, *wrapped = NULL;
	int rv;
	if (s->pair_plans) {
		/* near is endpoint a: a_to_b's write= shapes its writes, the rest
		 * of b_to_a applies to its reads. */
		sw_fault_plan a2b, b2a;
		sw_fault_plan_init(&a2b);
		sw_fault_plan_init(&b2a);
		if (s->wplan)
			a2b.write = s->wplan->write;
		if (s->rplan) {
			b2a = *s->rplan;
			b2a.write.kind = SW_FAULT_SIZES_NONE;
		}
		a2b.seed = b2a.seed;
		rv = sw_fifo_pair(&near, &far, &a2b, &b2a, s->mem);
	} else {
		rv = sw_fifo_pair(&near, &far, NULL, NULL, s->mem);
	}
	if (rv != 0)
		return rv;
	conn *k = &s->conns[s->nconns++];
	k->s = s;
	k->far = far;
	k->shut = false;
	k->pos = k->piece = 0;
	if ((rv = sw_fifo_set_pump(near, pump, k)) != 0)
		sw_fuzz_fail("client_session: sw_fifo_set_pump: %s\n", sw_errname(rv));
	if (!s->pair_plans && (s->rplan || s->wplan)) {
		rv = sw_fault_wrap(&wrapped, near, s->rplan, s->wplan);
		if (rv != 0)
			return rv; /* near was closed by sw_fault_wrap */
		near = wrapped;
	}
	*out = near;
	return 0;
}

/* ---- one session ----------------------------------------------------- */

typedef struct run_cfg {
	int protocol;
	unsigned kind;
	bool twice, no_retry, stall_at_end, whole, pipe_exact;
	const sw_fault_plan *rplan, *wplan;
	bool pair_plans;
	size_t fail_at;
	bool persistent;
} run_cfg;

typedef struct outcome {
	sw_buf trace; /* one line per call and body read */
	size_t connects;
	uint64_t retries; /* resends after a connection reset */
	size_t calls; /* allocations */
	size_t failures;
} outcome;

/* The result code a trace line carries, or NULL for a data line: the
 * word after "call rc ", "simple rc ", "hello ", "new ", "body-rc ",
 * "stream-rc ", "cancel-rc ".  Parsed by position, so that bytes from the
 * script (which may spell "SW_ERR_NOMEM" inside args) never count. */
static size_t line_code(const char *l, size_t n, const char **code)
{
	static const char *const heads[] = {"call rc ", "simple rc ", "hello ", "new ",
	                                    "body-rc ", "stream-rc ", "cancel-rc ", "rc "};
	*code = NULL;
	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
		size_t h = strlen(heads[i]);
		if (n > h && memcmp(l, heads[i], h) == 0) {
			size_t k = h;
			while (k < n && l[k] != ' ')
				k++;
			*code = l + h;
			return k - h;
		}
	}
	return 0;
}

static bool code_is(const char *l, size_t n, int code)
{
	const char *c;
	size_t k = line_code(l, n, &c);
	return c && k == strlen(sw_errname(code)) && memcmp(c, sw_errname(code), k) == 0;
}

/* Whether any result line of the trace is SW_ERR_NOMEM. */
static bool any_nomem(const sw_buf *b)
{
	const char *p = (const char *)b->data;
	for (size_t i = 0; i < b->len;) {
		const char *e = memchr(p + i, '\n', b->len - i);
		size_t n = e ? (size_t)(e - (p + i)) : b->len - i;
		if (code_is(p + i, n, SW_ERR_NOMEM))
			return true;
		i += n + 1;
	}
	return false;
}

static void session(const run_cfg *rc, const sw_fuzz_ctl *ctl, outcome *o)
{
	sw_buf_init(&o->trace, NULL);
	sw_failmem fm;
	sw_failmem_init(&fm, rc->fail_at, rc->persistent);
	script s;
	memset(&s, 0, sizeof s);
	s.ctl = ctl;
	s.p = ctl->data;
	s.len = ctl->len;
	s.whole = rc->whole;
	s.stall_at_end = rc->stall_at_end;
	s.rplan = rc->rplan;
	s.wplan = rc->wplan;
	s.pair_plans = rc->pair_plans;
	s.mem = &fm.mem;

	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = rc->protocol;
	cfg.timeout_ms = -1; /* stalls are counted, never timed */
	cfg.no_retry = rc->no_retry;
	cfg.pipe_exact = rc->pipe_exact;
	sw_client *c = NULL;
	int rv = sw_client_new(&c, &cfg, do_connect, &s, &fm.mem);
	if (rv != 0) {
		if (rv != SW_ERR_NOMEM)
			sw_fuzz_fail("client_session: sw_client_new: %s\n", sw_errname(rv));
		sw_fuzz_puts(&o->trace, "new SW_ERR_NOMEM\n");
	} else {
		sw_fuzz_client_call(c, rc->kind, rc->protocol, &o->trace);
		if (rc->twice)
			sw_fuzz_client_call(c, rc->kind, rc->protocol, &o->trace);
		sw_client_stats st;
		sw_client_get_stats(c, &st);
		o->retries = st.retries;
		sw_client_del(c);
	}
	for (size_t i = 0; i < s.nconns; i++)
		sw_medium_del(s.conns[i].far);
	sw_fuzz_mem_check_leaks(&fm, "client_session");
	o->connects = s.nconns;
	o->calls = fm.calls;
	o->failures = fm.failures;
	if (fm.failures == 0 && any_nomem(&o->trace))
		sw_fuzz_fail("client_session: SW_ERR_NOMEM without an injected failure\n%.*s",
		             (int)o->trace.len, (const char *)o->trace.data);
}

static void show(const char *label, const outcome *o)
{
	fprintf(stderr, "--- %s (%zu connection(s))\n%.*s", label, o->connects, (int)o->trace.len,
	        o->trace.data ? (const char *)o->trace.data : "");
}

static bool same(const outcome *a, const outcome *b)
{
	return a->trace.len == b->trace.len &&
	       (a->trace.len == 0 || memcmp(a->trace.data, b->trace.data, a->trace.len) == 0);
}

/* The first line where `got` departs from `want` must be a result line
 * (line_code) reporting `code` or `alt`.  Aborts otherwise. */
static void check_first_difference(const char *what, const outcome *want, const outcome *got,
                                   int code, int alt)
{
	const char *a = want->trace.data ? (const char *)want->trace.data : "";
	const char *b = got->trace.data ? (const char *)got->trace.data : "";
	size_t na = want->trace.len, nb = got->trace.len, i = 0, line = 0;
	while (i < na && i < nb && a[i] == b[i]) {
		if (a[i] == '\n')
			line = i + 1;
		i++;
	}
	if (i == na && i == nb)
		return;
	const char *end = line < nb ? memchr(b + line, '\n', nb - line) : NULL;
	size_t len = end ? (size_t)(end - (b + line)) : nb - line;
	if (code_is(b + line, len, code) || (alt && code_is(b + line, len, alt)))
		return;
	/* The bytes a body read delivered before it failed may differ (a
	 * fault cuts them elsewhere): fine when the line before -- the read's
	 * result, the same in both runs -- is a failure, and one of the two
	 * differing lines is such data. */
	const char *c = NULL;
	size_t alen;
	const char *aend = line < na ? memchr(a + line, '\n', na - line) : NULL;
	alen = aend ? (size_t)(aend - (a + line)) : na - line;
	bool data_line = (line < nb && !line_code(b + line, len, &c)) ||
	                 (line < na && !line_code(a + line, alen, &c));
	if (data_line && line > 0) {
		size_t prev = line - 1;
		while (prev > 0 && b[prev - 1] != '\n')
			prev--;
		const char *pc;
		size_t pk = line_code(b + prev, line - 1 - prev, &pc);
		if (pc && !(pk == 5 && memcmp(pc, "SW_OK", 5) == 0))
			return;
	}
	char l[512];
	snprintf(l, sizeof l, "%.*s", (int)(len < sizeof l - 1 ? len : sizeof l - 1), b + line);
	show("without the fault", want);
	show("with the fault", got);
	sw_fuzz_fail("client_session: %s was not reported as %s (first different line: %s)\n",
	             what, sw_errname(code), l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	sw_fdp f;
	sw_fdp_init(&f, data, size);
	uint8_t plan = sw_fdp_u8(&f);
	unsigned io = (plan >> 2) % 8u;
	unsigned sizes = (plan >> 5) & 3u;

	run_cfg rc = {.protocol = ctl.variant & 3,
	              .kind = (ctl.variant >> 2) & 7,
	              .stall_at_end = (ctl.variant >> 5) & 1,
	              .twice = (ctl.variant >> 6) & 1,
	              .no_retry = (ctl.variant >> 7) & 1,
	              .pipe_exact = io != 7 && ((plan >> 5) & 1)};

	outcome w, c;
	rc.whole = true;
	session(&rc, &ctl, &w);
	rc.whole = false;
	session(&rc, &ctl, &c);
	if (getenv("SW_FUZZ_TRACE"))
		show("client_session", &c);
	if (!same(&w, &c)) {
		show("script delivered whole", &w);
		show("script delivered in pieces", &c);
		sw_fuzz_fail("client_session: the outcome depends on how the server's bytes "
		             "were cut\n");
	}

	if (io != 0) {
		sw_fault_plan rp, wp;
		sw_fault_plan_init(&rp);
		sw_fault_plan_init(&wp);
		uint64_t n = ctl.fail_at % (ctl.len + 1);
		int code = 0, alt = 0;
		const char *what = "";
		switch (io) {
		case 1:
			rp.has_eof = true;
			rp.eof_at = n;
			code = SW_ERR_CONNECTION_RESET;
			alt = SW_ERR_NOT_A_SERVER;
			what = "an early end of stream";
			break;
		case 2:
			rp.has_error = true;
			rp.error_at = n;
			rp.error_errno = EIO;
			code = SW_ERR_IO;
			what = "a read error";
			break;
		case 3:
		case 4:
			wp.has_error = true;
			wp.error_at = n;
			wp.error_errno = io == 3 ? EPIPE : EIO;
			code = io == 3 ? SW_ERR_CONNECTION_RESET : SW_ERR_IO;
			what = "a write error";
			break;
		case 5:
			rp.eagain_k = wp.eagain_k = 1;
			rp.eagain_m = wp.eagain_m = 2;
			break;
		case 6:
			rp.has_stall = true;
			rp.stall_at = n;
			code = SW_ERR_TIMEOUT;
			what = "a stall";
			break;
		default:
			rp.read.kind = SW_FAULT_SIZES_LIST;
			rp.read.n = 1;
			rp.read.v[0] = 1;
			wp.write.kind = SW_FAULT_SIZES_LIST;
			wp.write.n = 1;
			wp.write.v[0] = 3;
			if (sizes == 2) {
				rp.read.kind = wp.write.kind = SW_FAULT_SIZES_EVERY;
				rp.read.v[0] = wp.write.v[0] = ctl.chunks[0] + 1u;
			} else if (sizes == 3) {
				rp.read.kind = wp.write.kind = SW_FAULT_SIZES_RAND;
				rp.read.v[0] = wp.write.v[0] = 1;
				rp.read.v[1] = wp.write.v[1] = ctl.chunks[0] + 1u;
				rp.seed = wp.seed = ctl.fail_at;
			}
			break;
		}
		run_cfg rf = rc;
		rf.rplan = &rp;
		rf.wplan = &wp;
		rf.pair_plans = (plan >> 7) && io != 3 && io != 4;
		outcome fo;
		session(&rf, &ctl, &fo);
		if (fo.retries > c.retries && (io == 1 || io == 3)) {
			/* The fault was a connection reset (EOF while reading, EPIPE
			 * while writing) that the client answered with Breezy's
			 * retry on a new connection, where the script starts again:
			 * handled, and the results after it are not comparable. */
		} else if (code == 0) {
			if (!same(&c, &fo)) {
				show("clean", &c);
				show("with EAGAIN bursts or tiny transfers", &fo);
				sw_fuzz_fail("client_session: EAGAIN bursts or tiny transfers changed "
				             "the outcome\n");
			}
		} else {
			check_first_difference(what, &c, &fo, code, alt);
		}
		sw_buf_fini(&fo.trace);
	}

	size_t fail_at = sw_fuzz_pick_failure(&ctl, c.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at != 0) {
		run_cfg rm = rc;
		rm.fail_at = fail_at;
		rm.persistent = ctl.fault == SW_FUZZ_FAULT_PERSISTENT;
		outcome m;
		session(&rm, &ctl, &m);
		check_first_difference("an allocation failure", &c, &m, SW_ERR_NOMEM, 0);
		sw_buf_fini(&m.trace);
	}
	sw_buf_fini(&w.trace);
	sw_buf_fini(&c.trace);
	return 0;
}
