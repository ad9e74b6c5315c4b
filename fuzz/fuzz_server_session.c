/*
 * Fuzz target: a whole server session.  The reference file server
 * (smartwire/vfs_server.h: sw_vfs behind sw_dispatch) is served by
 * sw_serve_medium (smartwire/server.h: the daemon's worker loop and
 * connection driver, the code `smartwire serve` runs) over the in-process fifo
 * (smartwire/medium.h) with a fault plan (smartwire/fault.h) on the server's
 * end.  The protocol bytes of the input (fdp.h) are everything the client
 * sends before closing its side.  No socket, thread, clock-dependent
 * decision or randomness: the client writes the whole stream into the fifo
 * and half-closes it before the server starts, so every read finds data or
 * EOF and the loop never waits (idle timeout off; the one-worker daemon
 * of a medium without descriptors makes no epoll instance and starts no
 * thread, and the clock is never read).  A fifo moves nothing without
 * copying, so the copying path is what runs here (the zero-copy one has
 * its own fault matrix, tests/server/test_server_faults_zc.c).
 *
 * THE TREE (served_tree.h) lives in an in-memory file system made once per
 * process, or with SW_FUZZ_FS=disk (fuzz/smoke.sh runs that too) on the
 * real file system: a read-only root, a read-write root remade after every
 * run that changed it, and a sentinel next to them that no run may touch.
 *
 * THE TRAILER (fdp.h), read by this target as:
 *   plan % 4          allocation fault, as fdp.h (1 once, 2 persistently)
 *   (plan >> 2) % 8   I/O fault on the server's end of the fifo:
 *                       0     none
 *                       1     eof@N        (reads end early)
 *                       2     read error@N:ECONNRESET (reads as EOF, as Breezy)
 *                       3     read error@N:EIO
 *                       4     write error@N:EPIPE
 *                       5     write error@N:EIO
 *                       6     eagain=1/3 and eintr=1/2 in both roles
 *                       7     stall@N on reads (wait_readable times out)
 *   (plan >> 5) & 3   the read/write sizes: 0, 1 the chunks list, 2
 *                     every:M, 3 rand:1-M (M = chunks[0] + 1, seed fail_at)
 *   plan >> 7         the plans go to sw_fifo_pair (a_to_b for the server's
 *                     reads, b_to_a's write sizes for its writes) instead
 *                     of sw_fault_wrap on the server's end (not with faults
 *                     4-6, which need the write role of the wrapper)
 *   fail_at           N: the allocation that fails (modulo the allocations
 *                     of the clean run), and the byte offset of an I/O fault
 *                     (modulo the input length + 1 for reads, the clean
 *                     run's output length + 1 for writes)
 *   variant bit 0     read-write server (else read-only)
 *           bit 1     pipe_exact (read exactly next_read_size bytes)
 *           bit 2     small limits and a tiny output watermark / stream chunk
 *   chunks            the server's read sizes and write sizes (fault plan
 *                     read= and write=), cycled
 *
 * THE RUNS AND CHECKS.
 *   A  the input read whole, no fault: the reference (output bytes, how the
 *      session ended, requests answered, and for a read-write server the
 *      hash of the tree afterwards);
 *   B  the input through the chunked reads and writes plus the I/O fault:
 *        no fault, EAGAIN/EINTR bursts: exactly A (output, end, tree);
 *        eof@N / ECONNRESET@N: exactly T, the clean run on the first N bytes
 *          (when N is the whole input, T is A and is not run again);
 *        stall@N: if T read up to its end of stream, B must end with the
 *          idle time-out or the request deadline (no error code) after a
 *          prefix of T's output; otherwise exactly T;
 *        EIO@N on reads: if T read up to its end of stream (it ended EOF or
 *          EOF_MID_REQUEST), B must end SW_SERVE_IO with SW_ERR_IO and have
 *          written a prefix of T's output; otherwise (T ended on a protocol
 *          error before byte N) exactly T;
 *        error@N on writes: if A wrote more than N bytes, B must end
 *          SW_SERVE_IO with SW_ERR_CONNECTION_RESET (EPIPE) or SW_ERR_IO
 *          (EIO) after writing exactly A's first N bytes; otherwise exactly A;
 *   D  when the trailer asks for it, the chunked run with the N-th allocation
 *      failing: it must end with error SW_ERR_NOMEM having written a prefix
 *      of A's output, or absorb the failure and equal A.
 * Every fault plan used is also written in the fault.h text grammar and
 * parsed back, which must give an equal plan.
 * In every run: nothing leaks (the failing allocator's live count is 0 after
 * everything is closed), the sentinel and <base> are untouched, a read-only
 * tree hashes the same as before, and a read-write tree holds no leftover
 * upload temporary file (SW_JAIL_TEMP_PREFIX).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fdp.h"
#include "served_tree.h"
#include "smartwire/error.h"
#include "smartwire/fault.h"
#include "smartwire/format.h"
#include "smartwire/medium.h"
#include "smartwire/server.h"
#include "smartwire/vfs.h"
#include "smartwire/vfs_server.h"

/* ---- one session ----------------------------------------------------- */

/* The output buffers of runs A, B, T and D, kept between executions so
 * that a run appends into memory it already has (libc memory: the
 * harness's, not the server's, which goes through the failing allocator). */
enum { RUN_A, RUN_B, RUN_T, RUN_D, RUNS };
static sw_buf outbufs[RUNS];

static void free_outbufs(void)
{
	for (int i = 0; i < RUNS; i++)
		sw_buf_fini(&outbufs[i]);
}

typedef struct outcome {
	int setup;      /* 0, or the (negative) error that stopped the run early */
	int rv;         /* sw_serve_medium's return */
	sw_serve_result res;
	sw_buf out;     /* what the client received (libc memory) */
	uint64_t tree;  /* read-write: hash of the tree afterwards */
	size_t calls;   /* allocations made */
} outcome;

typedef struct run_cfg {
	bool rw, pipe_exact, small;
	const sw_fault_plan *rplan, *wplan; /* server end: reads / writes (NULL: none) */
	bool pair_plans; /* give the plans to sw_fifo_pair instead of sw_fault_wrap */
	size_t fail_at;
	bool persistent;
} run_cfg;

static const char *end_name(int e)
{
	static const char *const ends[] = {"EOF",      "EOF_MID_REQUEST", "TIMEOUT",
	                                   "DEADLINE", "PROTOCOL",        "IO",
	                                   "STALLED",  "STOPPED"};
	return e >= 0 && e < 8 ? ends[e] : "?";
}

static void session(const run_cfg *rc, const uint8_t *in, size_t len, outcome *o, int slot)
{
	memset(o, 0, sizeof *o);
	o->out = outbufs[slot];
	if (!o->out.data)
		sw_buf_init(&o->out, NULL);
	sw_buf_reset(&o->out);
	o->rv = -1;
	uint64_t mark = sw_fuzz_tree_begin(rc->rw);
	sw_failmem fm;
	sw_failmem_init(&fm, rc->fail_at, rc->persistent);
	const sw_mem *mem = &fm.mem;

	sw_medium *cli = NULL, *srv_inner = NULL, *srv = NULL;
	sw_vfs *vfs = NULL;
	int rv;
	if (rc->pair_plans) {
		/* a_to_b: read role at the server (its write= would shape the
		 * client's writes); b_to_a: only its write= sizes shape the
		 * server's writes (the rest would apply to the client's reads). */
		sw_fault_plan back;
		sw_fault_plan_init(&back);
		if (rc->wplan)
			back.write = rc->wplan->write;
		rv = sw_fifo_pair(&cli, &srv, rc->rplan, &back, mem);
		if (rv != 0)
			goto out;
	} else {
		rv = sw_fifo_pair(&cli, &srv_inner, NULL, NULL, mem);
		if (rv != 0)
			goto out;
		rv = sw_fault_wrap(&srv, srv_inner, rc->rplan, rc->wplan);
		srv_inner = NULL; /* owned by the wrapper, or closed on failure */
		if (rv != 0)
			goto out;
	}
	if (strcmp(sw_medium_name(srv), "fault") != 0 && strcmp(sw_medium_name(srv), "fifo") != 0)
		sw_fuzz_fail("server_session: the server's medium is a \"%s\"\n", sw_medium_name(srv));
	if (len) {
		size_t done = 0;
		rv = sw_medium_write_all(cli, in, len, &done);
		if (rv != 0)
			goto out;
	}
	if ((rv = sw_medium_shutdown_write(cli)) != 0)
		goto out;

	sw_vfs_config vc = {.allow_writes = rc->rw, .fs = sw_fuzz_tree_fs()};
	if (rc->small) {
		vc.max_body = 64;
		vc.max_readv_ranges = 4;
		vc.max_path_len = 32;
		vc.max_names = 4;
		vc.max_depth = 2;
	}
	rv = sw_vfs_new(&vfs, sw_fuzz_tree_root(rc->rw), &vc, mem);
	if (rv != 0)
		goto out;
	sw_srv_config sc;
	memset(&sc, 0, sizeof sc);
	sc.idle_timeout_ms = -1;
	sc.pipe_exact = rc->pipe_exact;
	if (rc->small) {
		sc.max_line = 64;
		sc.max_args = 6;
		sc.max_body = 128;
		sc.max_header = 48;
		sc.max_struct = 96;
		sc.max_part = 96;
		sc.blimits.max_depth = 3;
		sc.blimits.max_elements = 12;
		sc.output_watermark = 16;
		sc.stream_chunk = 7;
		sc.read_size = 13;
	} else {
		/* Room for the whole stream and the end of it in one read, as
		 * the default 64 KiB gives for any input up to -max_len: each
		 * read asks for at least what the fifo holds plus one byte, so
		 * it returns what a 64 KiB read returns (the fault plan's sizes
		 * cap both alike), and the worker's buffer is len + 1 bytes
		 * instead of 64 KiB per run (under ASan, fresh pages and 8 KiB of
		 * shadow to poison each time, the quarantine keeping the freed
		 * one). */
		sc.read_size = len + 1;
	}
	o->rv = sw_serve_medium(&sc, sw_vfs_dispatch(), vfs, srv, &o->res, mem);
	if (o->rv < 0) {
		rv = o->rv;
		goto out;
	}
	if (o->rv != (int)o->res.end)
		sw_fuzz_fail("server_session: sw_serve_medium returned %d but res.end is %d\n", o->rv,
		             (int)o->res.end);
	rv = 0;
out:
	o->setup = rv;
	sw_vfs_del(vfs);
	sw_medium_del(srv); /* the client now reads the queued bytes, then EOF */
	sw_medium_del(srv_inner);
	if (cli) {
		/* Read straight into the output buffer, sized once from what
		 * the fifo says is queued (one more byte to see the EOF). */
		size_t pending = sw_fifo_pending(cli);
		if (sw_buf_reserve(&o->out, pending + 1) != 0)
			sw_fuzz_fail("server_session: out of memory\n");
		for (;;) {
			if (o->out.cap - o->out.len < 4096 && sw_buf_reserve(&o->out, 4096) != 0)
				sw_fuzz_fail("server_session: out of memory\n");
			ptrdiff_t n =
			    sw_medium_read(cli, o->out.data + o->out.len, o->out.cap - o->out.len);
			if (n <= 0) {
				if (n < 0 && n != SW_ERR_NOMEM)
					sw_fuzz_fail("server_session: reading the answer failed: %s\n",
					             sw_errname((int)n));
				break;
			}
			o->out.len += (size_t)n;
		}
		if (o->out.len != pending)
			sw_fuzz_fail("server_session: sw_fifo_pending said %zu bytes, %zu were read\n",
			             pending, o->out.len);
		sw_medium_del(cli);
	}
	sw_fuzz_mem_check_leaks(&fm, "server_session");
	o->calls = fm.calls;
	if (fm.failures == 0 && (rv == SW_ERR_NOMEM || o->res.error == SW_ERR_NOMEM))
		sw_fuzz_fail("server_session: SW_ERR_NOMEM without an injected failure\n");
	if (fm.failures == 0 && rv != 0)
		sw_fuzz_fail("server_session: setup failed without a fault: %s\n", sw_errname(rv));
	o->tree = sw_fuzz_tree_check(rc->rw, mark);
}

/* Gives the output buffer back to its slot (kept for the next execution). */
static void free_outcome(outcome *o, int slot)
{
	outbufs[slot] = o->out;
}

static void show(const char *label, const outcome *o)
{
	fprintf(stderr, "--- %s: setup %s, end %s, error %s, %llu request(s), tree %016llx, "
	        "%zu byte(s) out\n", label, sw_errname(o->setup), end_name(o->res.end),
	        sw_errname(o->res.error), (unsigned long long)o->res.requests,
	        (unsigned long long)o->tree, o->out.len);
	sw_buf t;
	sw_buf_init(&t, NULL);
	size_t n = o->out.len > 2000 ? 2000 : o->out.len;
	if (sw_format_bytes(&t, o->out.data, n) == 0)
		fprintf(stderr, "%.*s%s\n", (int)t.len, (const char *)t.data,
		        n < o->out.len ? "..." : "");
	sw_buf_fini(&t);
}

static bool same_out(const outcome *a, const outcome *b)
{
	return a->out.len == b->out.len &&
	       (a->out.len == 0 || memcmp(a->out.data, b->out.data, a->out.len) == 0);
}

static bool is_prefix(const outcome *p, const outcome *of)
{
	return p->out.len <= of->out.len &&
	       (p->out.len == 0 || memcmp(p->out.data, of->out.data, p->out.len) == 0);
}

static void require_equal(const char *what, const outcome *want, const outcome *got)
{
	if (same_out(want, got) && want->setup == got->setup && want->res.end == got->res.end &&
	    want->res.error == got->res.error && want->res.requests == got->res.requests &&
	    want->tree == got->tree)
		return;
	show("expected", want);
	show("got", got);
	sw_fuzz_fail("server_session: %s changed the session\n", what);
}

/* The plans are values of the fault.h text grammar: formatting one and
 * parsing the text back must give an equal plan (the spec is how a failing
 * run is written down and replayed by tests and the conformance runner). */
static void plan_round_trip(const sw_fault_plan *p)
{
	sw_buf t;
	sw_buf_init(&t, NULL);
	int rv = sw_fault_plan_format(p, &t);
	if (rv != 0)
		sw_fuzz_fail("server_session: sw_fault_plan_format refused a plan: %s\n",
		             sw_errname(rv));
	if (sw_buf_append_byte(&t, 0) != 0)
		sw_fuzz_fail("server_session: out of memory\n");
	sw_fault_plan back;
	sw_errinfo ei = {0};
	rv = sw_fault_plan_parse((const char *)t.data, &back, &ei);
	if (rv != 0 || !sw_fault_plan_equal(p, &back))
		sw_fuzz_fail("server_session: the spec \"%s\" does not parse back to its plan "
		             "(%s)\n",
		             (const char *)t.data, ei.text);
	sw_buf_fini(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool once;
	if (!once) {
		sw_fuzz_tree_setup();
		atexit(free_outbufs);
		once = true;
	}
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	sw_fdp f;
	sw_fdp_init(&f, data, size);
	uint8_t plan = sw_fdp_u8(&f);
	unsigned io = (plan >> 2) % 8u;
	unsigned sizes = (plan >> 5) & 3u;

	run_cfg rc = {.rw = ctl.variant & 1, .pipe_exact = (ctl.variant >> 1) & 1,
	              .small = (ctl.variant >> 2) & 1};

	outcome a;
	session(&rc, ctl.data, ctl.len, &a, RUN_A);
	if (a.setup != 0)
		sw_fuzz_fail("server_session: the clean run failed to start: %s\n",
		             sw_errname(a.setup));
	if (getenv("SW_FUZZ_TRACE"))
		show("server_session", &a);

	/* B: chunked reads and writes, plus the I/O fault. */
	sw_fault_plan rp, wp;
	sw_fault_plan_init(&rp);
	rp.read.kind = SW_FAULT_SIZES_LIST;
	rp.read.n = SW_FUZZ_CHUNKS;
	for (size_t i = 0; i < SW_FUZZ_CHUNKS; i++)
		rp.read.v[i] = (uint32_t)sw_fuzz_chunk(&ctl, i);
	if (sizes == 2) {
		rp.read.kind = SW_FAULT_SIZES_EVERY;
		rp.read.v[0] = ctl.chunks[0] + 1u;
	} else if (sizes == 3) {
		rp.read.kind = SW_FAULT_SIZES_RAND;
		rp.read.v[0] = 1;
		rp.read.v[1] = ctl.chunks[0] + 1u;
		rp.seed = ctl.fail_at;
	}
	sw_fault_plan_init(&wp);
	wp.write = rp.read;
	wp.seed = rp.seed;
	uint64_t n_in = ctl.fail_at % (ctl.len + 1);
	uint64_t n_out = ctl.fail_at % (a.out.len + 1);
	switch (io) {
	case 1:
		rp.has_eof = true;
		rp.eof_at = n_in;
		break;
	case 2:
	case 3:
		rp.has_error = true;
		rp.error_at = n_in;
		rp.error_errno = io == 2 ? ECONNRESET : EIO;
		break;
	case 4:
	case 5:
		wp.has_error = true;
		wp.error_at = n_out;
		wp.error_errno = io == 4 ? EPIPE : EIO;
		break;
	case 6:
		rp.eagain_k = wp.eagain_k = 1;
		rp.eagain_m = wp.eagain_m = 3;
		rp.eintr_k = wp.eintr_k = 1;
		rp.eintr_m = wp.eintr_m = 2;
		break;
	case 7:
		rp.has_stall = true;
		rp.stall_at = n_in;
		break;
	default:
		break;
	}
	plan_round_trip(&rp);
	plan_round_trip(&wp);
	run_cfg rb = rc;
	rb.rplan = &rp;
	rb.wplan = &wp;
	rb.pair_plans = (plan >> 7) && io != 4 && io != 5 && io != 6;
	outcome b;
	session(&rb, ctl.data, ctl.len, &b, RUN_B);
	if (b.setup != 0)
		sw_fuzz_fail("server_session: the chunked run failed to start: %s\n",
		             sw_errname(b.setup));

	if (io == 1 || io == 2 || io == 3 || io == 7) {
		/* T: the clean run on the first n_in bytes.  When n_in is the
		 * whole input, T is A (the same configuration, bytes and starting
		 * tree: session() rebuilds a changed read-write tree first) and
		 * is not run again. */
		outcome t_run;
		const outcome *tp = &a;
		if (n_in != ctl.len) {
			session(&rc, ctl.data, (size_t)n_in, &t_run, RUN_T);
			tp = &t_run;
		}
		const outcome t = *tp;
		bool read_to_end = t.res.end == SW_SERVE_EOF || t.res.end == SW_SERVE_EOF_MID_REQUEST;
		if (io == 7 && read_to_end) {
			/* A stalled read looks like time running out: the idle
			 * timeout between requests, the deadline inside one. */
			bool timed_out = b.res.end == SW_SERVE_TIMEOUT || b.res.end == SW_SERVE_DEADLINE;
			if (!timed_out || b.res.error != 0 || !is_prefix(&b, &t)) {
				show("clean run up to the stall", &t);
				show("with the stall", &b);
				sw_fuzz_fail("server_session: a stall at byte %llu was not reported as a "
				             "time-out after a prefix of the output\n",
				             (unsigned long long)n_in);
			}
		} else if (io != 3 || !read_to_end) {
			require_equal("an early end of stream (or EOF-like read error)", &t, &b);
		} else if (b.res.end != SW_SERVE_IO || b.res.error != SW_ERR_IO || !is_prefix(&b, &t)) {
			show("clean run up to the error offset", &t);
			show("with the read error", &b);
			sw_fuzz_fail("server_session: a read error at byte %llu was not reported as "
			             "SW_SERVE_IO/SW_ERR_IO after a prefix of the output\n",
			             (unsigned long long)n_in);
		}
		if (tp == &t_run)
			free_outcome(&t_run, RUN_T);
	} else if ((io == 4 || io == 5) && a.out.len > n_out) {
		int want = io == 4 ? SW_ERR_CONNECTION_RESET : SW_ERR_IO;
		if (b.res.end != SW_SERVE_IO || b.res.error != want || b.out.len != n_out ||
		    (n_out && memcmp(b.out.data, a.out.data, (size_t)n_out) != 0)) {
			show("clean", &a);
			show("with the write error", &b);
			sw_fuzz_fail("server_session: a write error at byte %llu was not reported as "
			             "SW_SERVE_IO/%s after exactly the bytes before it\n",
			             (unsigned long long)n_out, sw_errname(want));
		}
	} else {
		require_equal("reading and writing in pieces (with EAGAIN/EINTR bursts)", &a, &b);
	}
	free_outcome(&b, RUN_B);

	/* D: the N-th allocation fails. */
	size_t fail_at = sw_fuzz_pick_failure(&ctl, a.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at != 0) {
		run_cfg rd = rc;
		sw_fault_plan_init(&rp);
		rp.read.kind = SW_FAULT_SIZES_LIST;
		rp.read.n = SW_FUZZ_CHUNKS;
		for (size_t i = 0; i < SW_FUZZ_CHUNKS; i++)
			rp.read.v[i] = (uint32_t)sw_fuzz_chunk(&ctl, i);
		rd.rplan = &rp;
		rd.fail_at = fail_at;
		rd.persistent = ctl.fault == SW_FUZZ_FAULT_PERSISTENT;
		outcome d;
		session(&rd, ctl.data, ctl.len, &d, RUN_D);
		bool reported = d.setup == SW_ERR_NOMEM || d.res.error == SW_ERR_NOMEM;
		if (reported ? !is_prefix(&d, &a) : !(same_out(&a, &d) && a.res.end == d.res.end &&
		                                       a.res.error == d.res.error && a.tree == d.tree)) {
			show("clean", &a);
			show("with the allocation failure", &d);
			sw_fuzz_fail("server_session: allocation %zu failed (%s) and the session %s\n",
			             fail_at, rd.persistent ? "persistently" : "once",
			             reported ? "wrote bytes the clean run did not"
			                      : "neither ended with SW_ERR_NOMEM nor gave the clean result");
		}
		free_outcome(&d, RUN_D);
	}
	free_outcome(&a, RUN_A);
	sw_fuzz_tree_restore();
	return 0;
}
