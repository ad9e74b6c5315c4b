/* Tests for the fault-injecting medium (smartwire/fault.h, fault.c): every
 * feature of a plan observed exactly through a wrapped fifo endpoint or fd
 * medium.  The text spec is tested in test_fault_spec.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/fault.h"
#include "smartwire/medium.h"
#include "smartwire/failmem.h"

static const char MSG[] = "0123456789abcdefghijklmnopqrstuvwxyzABCD"; /* 40 bytes */
#define MSGLEN (sizeof MSG - 1)

static int no_pump(void *ud)
{
	(void)ud;
	return 0;
}

static void parse_ok(const char *spec, sw_fault_plan *p)
{
	sw_errinfo ei = {0};
	int rc = sw_fault_plan_parse(spec, p, &ei);
	if (rc != 0)
		fail_msg("spec \"%s\": %s at %zu", spec, sw_errname(rc), ei.offset);
}

/* A raw fifo pair whose `b` end is wrapped with read plan `rspec` and whose
 * `a` end is wrapped with write plan `wspec` (NULL: not wrapped).  Both ends
 * are single-threaded (a pump that never helps). */
static void make_pair(const char *rspec, const char *wspec, sw_medium **a, sw_medium **b)
{
	sw_medium *ra, *rb;
	assert_int_equal(sw_fifo_pair(&ra, &rb, NULL, NULL, NULL), 0);
	assert_int_equal(sw_fifo_set_pump(ra, no_pump, NULL), 0);
	assert_int_equal(sw_fifo_set_pump(rb, no_pump, NULL), 0);
	sw_fault_plan rp, wp;
	if (wspec) {
		parse_ok(wspec, &wp);
		assert_int_equal(sw_fault_wrap(&ra, ra, NULL, &wp), 0);
	}
	if (rspec) {
		parse_ok(rspec, &rp);
		assert_int_equal(sw_fault_wrap(&rb, rb, &rp, NULL), 0);
	}
	*a = ra;
	*b = rb;
}

/* Reads with a large buffer until EOF/error, recording each result. */
static size_t read_all(sw_medium *m, ptrdiff_t *res, size_t max, uint8_t *got, size_t *ngot)
{
	size_t i = 0;
	*ngot = 0;
	while (i < max) {
		uint8_t buf[256];
		ptrdiff_t n = sw_medium_read(m, buf, sizeof buf);
		res[i++] = n;
		if (n <= 0)
			break;
		memcpy(got + *ngot, buf, (size_t)n);
		*ngot += (size_t)n;
	}
	return i;
}

static void check_read_sizes(const char *spec, const ptrdiff_t *want, size_t nwant)
{
	sw_medium *a, *b;
	make_pair(spec, NULL, &a, &b);
	assert_int_equal(sw_medium_write_all(a, MSG, MSGLEN, NULL), 0);
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	ptrdiff_t res[64];
	uint8_t got[64];
	size_t ngot;
	size_t n = read_all(b, res, 64, got, &ngot);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++)
		if (res[i] != want[i])
			fail_msg("%s: read %zu gave %td, want %td", spec, i, res[i], want[i]);
	assert_int_equal(ngot, MSGLEN);
	assert_memory_equal(got, MSG, MSGLEN);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_read_sizes(void **state)
{
	(void)state;
	static const ptrdiff_t list[] = {1, 3, 7, 1, 3, 7, 1, 3, 7, 1, 3, 3, 0};
	check_read_sizes("read=1,3,7", list, sizeof list / sizeof list[0]);
	static const ptrdiff_t every[] = {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 0};
	check_read_sizes("read=every:4", every, sizeof every / sizeof every[0]);
	ptrdiff_t ones[MSGLEN + 1];
	for (size_t i = 0; i < MSGLEN; i++)
		ones[i] = 1;
	ones[MSGLEN] = 0;
	check_read_sizes("read=1", ones, MSGLEN + 1);
	/* "every" alone is every:16. */
	static const ptrdiff_t every16[] = {1, 2, 3, 4, 5, 6, 7, 8, 4, 0};
	check_read_sizes("read=every", every16, sizeof every16 / sizeof every16[0]);
	/* No plan at all: one read takes everything. */
	static const ptrdiff_t whole[] = {MSGLEN, 0};
	check_read_sizes("", whole, 2);
}

static void rand_sizes(const char *spec, ptrdiff_t *res, size_t *n)
{
	sw_medium *a, *b;
	make_pair(spec, NULL, &a, &b);
	assert_int_equal(sw_medium_write_all(a, MSG, MSGLEN, NULL), 0);
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	uint8_t got[64];
	size_t ngot;
	*n = read_all(b, res, 64, got, &ngot);
	assert_int_equal(ngot, MSGLEN);
	assert_memory_equal(got, MSG, MSGLEN);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_read_rand_deterministic(void **state)
{
	(void)state;
	ptrdiff_t r1[64], r2[64], r3[64];
	size_t n1, n2, n3;
	rand_sizes("seed=42;read=rand:1-5", r1, &n1);
	rand_sizes("seed=42;read=rand:1-5", r2, &n2);
	rand_sizes("seed=43;read=rand:1-5", r3, &n3);
	assert_int_equal(n1, n2);
	assert_memory_equal(r1, r2, n1 * sizeof r1[0]);
	for (size_t i = 0; i + 1 < n1; i++) {
		assert_true(r1[i] >= 1 && r1[i] <= 5);
	}
	assert_true(n1 >= 9); /* 40 bytes in reads of at most 5, plus EOF */
	assert_true(n1 != n3 || memcmp(r1, r3, n1 * sizeof r1[0]) != 0);
}

static void test_short_writes(void **state)
{
	(void)state;
	sw_medium *a, *b;
	make_pair(NULL, "write=2,3", &a, &b);
	assert_int_equal(sw_medium_write(a, MSG, 10), 2);
	assert_int_equal(sw_medium_write(a, MSG + 2, 10), 3);
	assert_int_equal(sw_medium_write(a, MSG + 5, 1), 1); /* len below the size */
	assert_int_equal(sw_medium_write(a, MSG + 6, 10), 3); /* k advanced: size 3 */
	size_t w = 0;
	assert_int_equal(sw_medium_write_all(a, MSG + 9, MSGLEN - 9, &w), 0);
	assert_int_equal(w, MSGLEN - 9);
	sw_fault_stats st;
	assert_int_equal(sw_fault_get_stats(a, &st), 0);
	assert_int_equal(st.write_bytes, MSGLEN);
	/* 31 bytes in 2,3,2,3,... after k = 4 (next size 2): 6 x (2+3) + 1 = 13 writes */
	assert_int_equal(st.inner_writes, 4 + 13);
	assert_int_equal(sw_fifo_pending(b), MSGLEN);
	uint8_t got[64];
	assert_int_equal(sw_medium_read(b, got, sizeof got), MSGLEN);
	assert_memory_equal(got, MSG, MSGLEN);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_eof_every_offset(void **state)
{
	(void)state;
	for (size_t off = 0; off <= MSGLEN + 2; off++) {
		char spec[64];
		snprintf(spec, sizeof spec, "read=3;eof@%zu", off);
		sw_medium *a, *b;
		make_pair(spec, NULL, &a, &b);
		assert_int_equal(sw_medium_write_all(a, MSG, MSGLEN, NULL), 0);
		assert_int_equal(sw_medium_shutdown_write(a), 0);
		ptrdiff_t res[64];
		uint8_t got[64];
		size_t ngot;
		size_t n = read_all(b, res, 64, got, &ngot);
		size_t want = off < MSGLEN ? off : MSGLEN;
		assert_int_equal(ngot, want);
		assert_memory_equal(got, MSG, want);
		assert_int_equal(res[n - 1], 0);
		/* No read crossed the EOF offset, and it stays at EOF. */
		for (size_t i = 0; i + 1 < n; i++)
			assert_true(res[i] >= 1 && res[i] <= 3);
		assert_int_equal(sw_medium_read(b, got, sizeof got), 0);
		assert_int_equal(sw_medium_wait_readable(b, 0), 1);
		assert_int_equal(sw_medium_errno(b), 0);
		sw_medium_del(a);
		sw_medium_del(b);
	}
}

static const struct {
	const char *name;
	int e;
	ptrdiff_t read_rc, write_rc;
} ERRS[] = {
	{"ECONNRESET", ECONNRESET, 0, SW_ERR_CONNECTION_RESET},
	{"EPIPE", EPIPE, 0, SW_ERR_CONNECTION_RESET},
	{"EINVAL", EINVAL, 0, SW_ERR_CONNECTION_RESET},
	{"EIO", EIO, SW_ERR_IO, SW_ERR_IO},
	{"ETIMEDOUT", ETIMEDOUT, SW_ERR_IO, SW_ERR_IO},
};

static void test_error_every_offset_read(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof ERRS / sizeof ERRS[0]; k++) {
		for (size_t off = 0; off <= MSGLEN; off++) {
			char spec[64];
			snprintf(spec, sizeof spec, "read=7;error@%zu:%s", off, ERRS[k].name);
			sw_medium *a, *b;
			make_pair(spec, NULL, &a, &b);
			assert_int_equal(sw_medium_write_all(a, MSG, MSGLEN, NULL), 0);
			ptrdiff_t res[64];
			uint8_t got[64];
			size_t ngot;
			size_t n = read_all(b, res, 64, got, &ngot);
			assert_int_equal(ngot, off);
			assert_memory_equal(got, MSG, off);
			assert_int_equal(res[n - 1], ERRS[k].read_rc);
			assert_int_equal(sw_medium_errno(b), ERRS[k].e);
			/* Sticky. */
			assert_int_equal(sw_medium_read(b, got, 1), ERRS[k].read_rc);
			assert_int_equal(sw_medium_errno(b), ERRS[k].e);
			assert_int_equal(sw_medium_wait_readable(b, 0), 1);
			sw_medium_del(a);
			sw_medium_del(b);
		}
	}
}

static void test_error_every_offset_write(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof ERRS / sizeof ERRS[0]; k++) {
		for (size_t off = 0; off <= MSGLEN; off++) {
			char spec[64];
			snprintf(spec, sizeof spec, "write=5;error@%zu:%s", off, ERRS[k].name);
			sw_medium *a, *b;
			make_pair(NULL, spec, &a, &b);
			size_t w = 99;
			int rc = sw_medium_write_all(a, MSG, MSGLEN, &w);
			if (off == MSGLEN) {
				assert_int_equal(rc, 0);
				assert_int_equal(sw_medium_write(a, "x", 1), ERRS[k].write_rc);
			} else {
				assert_int_equal(rc, ERRS[k].write_rc);
			}
			assert_int_equal(w, off);
			assert_int_equal(sw_medium_errno(a), ERRS[k].e);
			assert_int_equal(sw_medium_write(a, "x", 1), ERRS[k].write_rc);
			assert_int_equal(sw_fifo_pending(b), off);
			sw_medium_del(a);
			sw_medium_del(b);
		}
	}
}

static void test_eagain_eintr_bursts(void **state)
{
	(void)state;
	sw_medium *a, *b;
	make_pair("read=1;eagain=3/10;eintr=2/5", NULL, &a, &b);
	assert_int_equal(sw_medium_write_all(a, MSG, MSGLEN, NULL), 0);
	/* Attempts t: 0,1 EINTR, 2 EAGAIN | 3 | 4 | 5,6 EINTR, 7 | 8 | 9 |
	 * 10,11 EINTR, 12 EAGAIN | 13 */
	static const ptrdiff_t want[] = {SW_ERR_WOULD_BLOCK, 1, 1, 1, 1, 1, SW_ERR_WOULD_BLOCK, 1};
	uint8_t c;
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_int_equal(sw_medium_read(b, &c, 1), want[i]);
	sw_fault_stats st;
	assert_int_equal(sw_fault_get_stats(b, &st), 0);
	assert_int_equal(st.read_calls, 8);
	assert_int_equal(st.eintr_reads, 6);
	assert_int_equal(st.eagain_reads, 2);
	assert_int_equal(st.inner_reads, 6);
	assert_int_equal(st.read_bytes, 6);
	sw_medium_del(a);
	sw_medium_del(b);

	/* The write role counts its own attempts. */
	make_pair(NULL, "eagain=1/2", &a, &b);
	assert_int_equal(sw_medium_write(a, "xy", 2), SW_ERR_WOULD_BLOCK);
	assert_int_equal(sw_medium_write(a, "xy", 2), 2);
	assert_int_equal(sw_medium_write(a, "xy", 2), SW_ERR_WOULD_BLOCK);
	assert_int_equal(sw_medium_write(a, "xy", 2), 2);
	size_t w;
	assert_int_equal(sw_medium_write_all(a, "abc", 3, &w), SW_ERR_WOULD_BLOCK);
	assert_int_equal(w, 0);
	assert_int_equal(sw_fault_get_stats(a, &st), 0);
	assert_int_equal(st.eagain_writes, 3);
	assert_int_equal(st.write_bytes, 4);
	sw_medium_del(a);
	sw_medium_del(b);

	make_pair(NULL, "eintr=3/4", &a, &b);
	for (int i = 0; i < 5; i++)
		assert_int_equal(sw_medium_write(a, "x", 1), 1);
	assert_int_equal(sw_fault_get_stats(a, &st), 0);
	assert_int_equal(st.eintr_writes, 15);
	assert_int_equal(st.inner_writes, 5);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_stall(void **state)
{
	(void)state;
	sw_medium *a, *b;
	make_pair("stall@10", NULL, &a, &b);
	assert_int_equal(sw_medium_write_all(a, MSG, MSGLEN, NULL), 0);
	uint8_t got[64];
	assert_int_equal(sw_medium_wait_readable(b, 0), 1);
	assert_int_equal(sw_medium_read(b, got, sizeof got), 10);
	assert_memory_equal(got, MSG, 10);
	assert_int_equal(sw_medium_read(b, got, sizeof got), SW_ERR_WOULD_BLOCK);
	assert_int_equal(sw_medium_read(b, got, sizeof got), SW_ERR_WOULD_BLOCK);
	assert_int_equal(sw_medium_wait_readable(b, -1), SW_ERR_TIMEOUT);
	sw_fault_stats st;
	assert_int_equal(sw_fault_get_stats(b, &st), 0);
	assert_int_equal(st.stalled_reads, 2);
	assert_int_equal(st.inner_reads, 1);
	assert_int_equal(sw_fault_release_stall(b), 0);
	assert_int_equal(sw_medium_read(b, got, sizeof got), MSGLEN - 10);
	assert_memory_equal(got, MSG + 10, MSGLEN - 10);
	sw_medium_del(a);
	sw_medium_del(b);

	/* stall@0 refuses even the first byte; writes stall too. */
	make_pair(NULL, "stall@5", &a, &b);
	size_t w;
	assert_int_equal(sw_medium_write_all(a, MSG, 12, &w), SW_ERR_WOULD_BLOCK);
	assert_int_equal(w, 5);
	assert_int_equal(sw_fault_get_stats(a, &st), 0);
	assert_int_equal(st.stalled_writes, 1);
	assert_int_equal(sw_fault_release_stall(a), 0);
	assert_int_equal(sw_medium_write_all(a, MSG + 5, 7, &w), 0);
	assert_int_equal(sw_fifo_pending(b), 12);
	sw_medium_del(a);
	sw_medium_del(b);

	make_pair("stall@0", NULL, &a, &b);
	assert_int_equal(sw_medium_write_all(a, MSG, 3, NULL), 0);
	assert_int_equal(sw_medium_read(b, got, 3), SW_ERR_WOULD_BLOCK);
	assert_int_equal(sw_fault_release_stall(a), SW_ERR_INVALID_ARGUMENT); /* a is raw */
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_wrap_fd(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	sw_medium *m;
	assert_int_equal(sw_fd_medium_new(&m, p[0], p[1], SW_FD_OWN, NULL), 0);
	sw_fault_plan rp;
	parse_ok("read=2", &rp);
	assert_int_equal(sw_fault_wrap(&m, m, &rp, NULL), 0);
	assert_string_equal(sw_medium_name(m), "fault");
	assert_string_equal(sw_medium_name(sw_fault_inner(m)), "fd");
	assert_int_equal(sw_medium_write_all(m, "hello", 5, NULL), 0);
	assert_int_equal(sw_medium_shutdown_write(m), 0);
	char buf[16];
	assert_int_equal(sw_medium_read(m, buf, sizeof buf), 2);
	assert_int_equal(sw_medium_read(m, buf + 2, sizeof buf), 2);
	assert_int_equal(sw_medium_read(m, buf + 4, sizeof buf), 1);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(sw_medium_read(m, buf, sizeof buf), 0);
	sw_medium_del(m); /* closes the pipe too (valgrind checks fds are not leaked via memory) */
}

static void test_fifo_direction_plans(void **state)
{
	(void)state;
	sw_fault_plan ab, ba;
	parse_ok("read=1;write=3", &ab);
	parse_ok("eof@2", &ba);
	sw_medium *a, *b;
	assert_int_equal(sw_fifo_pair(&a, &b, &ab, &ba, NULL), 0);
	assert_int_equal(sw_fifo_set_pump(a, no_pump, NULL), 0);
	assert_int_equal(sw_fifo_set_pump(b, no_pump, NULL), 0);
	assert_int_equal(sw_medium_write(a, "hello", 5), 3); /* a's writes: write=3 */
	uint8_t c[8];
	assert_int_equal(sw_medium_read(b, c, 8), 1);       /* b's reads: read=1 */
	assert_int_equal(sw_medium_read(b, c, 8), 1);
	assert_int_equal(sw_medium_read(b, c, 8), 1);
	assert_int_equal(sw_medium_read(b, c, 8), SW_ERR_WOULD_BLOCK);
	assert_int_equal(sw_medium_write(b, "wxyz", 4), 4);  /* eof@ is not a write fault */
	assert_int_equal(sw_medium_read(a, c, 8), 2);
	assert_int_equal(sw_medium_read(a, c, 8), 0);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_wrap_failmem(void **state)
{
	(void)state;
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	sw_medium *a, *b, *w;
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, &fm.mem), 0);
	fm.fail_at = fm.calls + 1;
	assert_int_equal(sw_fault_wrap(&w, a, NULL, NULL), SW_ERR_NOMEM);
	/* The inner medium was closed: b sees the reset. */
	assert_int_equal(sw_medium_write(b, "x", 1), SW_ERR_CONNECTION_RESET);
	sw_medium_del(b);
	assert_int_equal(fm.live, 0);
	assert_int_equal(sw_fault_wrap(&w, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fault_get_stats(NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_null(sw_fault_inner(NULL));
}

/* Plans built by hand are checked like parsed ones: an empty size list
 * would divide by zero and eintr=K/M with K >= M would retry forever.  The
 * inner medium is closed, whichever plan is refused, and so is the plan of
 * a fifo pair. */
static void test_wrap_invalid_plan(void **state)
{
	(void)state;
	sw_fault_plan bad[6];
	for (size_t i = 0; i < 6; i++)
		sw_fault_plan_init(&bad[i]);
	bad[0].read.kind = SW_FAULT_SIZES_LIST; /* n == 0 */
	bad[1].write.kind = SW_FAULT_SIZES_EVERY; /* v[0] == 0 */
	bad[2].read.kind = SW_FAULT_SIZES_RAND;
	bad[2].read.v[0] = 5;
	bad[2].read.v[1] = 4;
	bad[3].eintr_k = bad[3].eintr_m = 3;
	bad[4].eagain_k = 1; /* m == 0 */
	bad[5].has_error = true;
	bad[5].error_errno = ENOENT;
	sw_failmem fm;
	for (size_t i = 0; i < 6; i++) {
		for (int role = 0; role < 2; role++) {
			sw_failmem_init(&fm, 0, false);
			sw_medium *a, *b, *w = NULL;
			assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, &fm.mem), 0);
			assert_int_equal(
			    sw_fault_wrap(&w, a, role ? NULL : &bad[i], role ? &bad[i] : NULL),
			    SW_ERR_INVALID_ARGUMENT);
			assert_null(w);
			assert_int_equal(sw_medium_write(b, "x", 1), SW_ERR_CONNECTION_RESET);
			sw_medium_del(b);
			assert_int_equal(fm.live, 0);
		}
		sw_failmem_init(&fm, 0, false);
		sw_medium *a = NULL, *b = NULL;
		assert_int_equal(sw_fifo_pair(&a, &b, &bad[i], NULL, &fm.mem),
		                 SW_ERR_INVALID_ARGUMENT);
		assert_null(a);
		assert_null(b);
		assert_int_equal(fm.live, 0);
	}
}

/* A wrapper reports the errno behind its inner medium's end of stream: the
 * errno of an error-mapped EOF, and 0 again after a clean one. */
static void test_errno_of_inner_eof(void **state)
{
	(void)state;
	sw_medium *a, *b;
	make_pair("error@2:ECONNRESET", NULL, &a, &b);
	sw_fault_plan none;
	sw_fault_plan_init(&none);
	sw_medium *outer;
	assert_int_equal(sw_fault_wrap(&outer, b, &none, NULL), 0);
	assert_int_equal(sw_medium_write_all(a, MSG, 4, NULL), 0);
	char got[8];
	assert_int_equal(sw_medium_read(outer, got, sizeof got), 2);
	assert_int_equal(sw_medium_read(outer, got, sizeof got), 0);
	assert_int_equal(sw_medium_errno(outer), ECONNRESET);
	sw_medium_del(outer);
	sw_medium_del(a);

	make_pair("read=1", NULL, &a, &b);
	assert_int_equal(sw_fault_wrap(&outer, b, &none, NULL), 0);
	assert_int_equal(sw_medium_write(a, "x", 1), 1);
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	/* A failed write records an errno, the clean EOF then clears it. */
	sw_medium_del(a);
	assert_int_equal(sw_medium_write(outer, "y", 1), SW_ERR_CONNECTION_RESET);
	assert_int_equal(sw_medium_errno(outer), EPIPE);
	assert_int_equal(sw_medium_read(outer, got, sizeof got), 1);
	assert_int_equal(sw_medium_read(outer, got, sizeof got), 0);
	assert_int_equal(sw_medium_errno(outer), 0);
	sw_medium_del(outer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_sizes),
		cmocka_unit_test(test_read_rand_deterministic),
		cmocka_unit_test(test_short_writes),
		cmocka_unit_test(test_eof_every_offset),
		cmocka_unit_test(test_error_every_offset_read),
		cmocka_unit_test(test_error_every_offset_write),
		cmocka_unit_test(test_eagain_eintr_bursts),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_wrap_fd),
		cmocka_unit_test(test_fifo_direction_plans),
		cmocka_unit_test(test_wrap_failmem),
		cmocka_unit_test(test_wrap_invalid_plan),
		cmocka_unit_test(test_errno_of_inner_eof),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
