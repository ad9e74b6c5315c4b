/* Tests for the in-process fifo pair (medium_fifo.c): single-threaded with a
 * pump, threaded with bounded blocking reads, EOF and close semantics, and
 * allocation failures. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/fault.h"
#include "smartwire/medium.h"
#include "smartwire/failmem.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct pump_state {
	sw_medium *peer;   /* the endpoint the pump writes through */
	int calls;
	int produce_on;    /* call number (1-based) on which to write */
	int result;        /* what the pump returns */
} pump_state;

static int pump(void *ud)
{
	pump_state *ps = ud;
	ps->calls++;
	if (ps->calls == ps->produce_on)
		assert_int_equal(sw_medium_write(ps->peer, "pumped", 6), 6);
	return ps->result;
}

static void pair(sw_medium **a, sw_medium **b, pump_state *pa, pump_state *pb)
{
	assert_int_equal(sw_fifo_pair(a, b, NULL, NULL, NULL), 0);
	assert_string_equal(sw_medium_name(*a), "fifo");
	if (pa) {
		pa->peer = *b;
		assert_int_equal(sw_fifo_set_pump(*a, pump, pa), 0);
	}
	if (pb) {
		pb->peer = *a;
		assert_int_equal(sw_fifo_set_pump(*b, pump, pb), 0);
	}
}

static void test_basic_and_stall(void **state)
{
	(void)state;
	pump_state pa = {0}, pb = {0};
	sw_medium *a, *b;
	pair(&a, &b, &pa, &pb);
	/* No descriptor to poll: readiness is known to the medium's calls. */
	int rfd = 0, wfd = 0;
	assert_int_equal(sw_medium_fds(b, &rfd, &wfd), 0);
	assert_int_equal(rfd, -1);
	assert_int_equal(wfd, -1);
	char buf[16];
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), SW_ERR_WOULD_BLOCK);
	assert_int_equal(pb.calls, 1);
	assert_int_equal(sw_medium_wait_readable(b, -1), SW_ERR_WOULD_BLOCK);
	assert_int_equal(pb.calls, 2);
	assert_int_equal(sw_medium_write(a, "hello", 5), 5);
	assert_int_equal(sw_fifo_pending(b), 5);
	assert_int_equal(sw_fifo_pending(a), 0);
	assert_int_equal(sw_medium_wait_readable(b, 0), 1);
	assert_int_equal(sw_medium_read(b, buf, 3), 3);
	assert_int_equal(sw_medium_read(b, buf + 3, sizeof buf), 2);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(pb.calls, 2); /* data was there: no pump */
	/* The other direction is independent. */
	assert_int_equal(sw_medium_write(b, "x", 1), 1);
	assert_int_equal(sw_medium_read(a, buf, sizeof buf), 1);
	assert_int_equal(sw_medium_write(a, NULL, 0), 0);
	assert_int_equal(sw_medium_read(a, buf, 0), SW_ERR_INVALID_ARGUMENT);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_pump_progress(void **state)
{
	(void)state;
	pump_state pb = {.produce_on = 3, .result = 1};
	sw_medium *a, *b;
	pair(&a, &b, NULL, &pb);
	char buf[16];
	/* The pump reports progress twice without data, then writes. */
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), 6);
	assert_memory_equal(buf, "pumped", 6);
	assert_int_equal(pb.calls, 3);
	/* A pump that keeps "progressing" and then gives up. */
	pb.calls = 0;
	pb.produce_on = 0;
	pb.result = 0;
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), SW_ERR_WOULD_BLOCK);
	assert_int_equal(pb.calls, 1);
	/* A pump error comes back unchanged. */
	pb.result = SW_ERR_PROTOCOL;
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), SW_ERR_PROTOCOL);
	assert_int_equal(sw_medium_wait_readable(b, 0), SW_ERR_PROTOCOL);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_shutdown_write(void **state)
{
	(void)state;
	pump_state pa = {0}, pb = {0};
	sw_medium *a, *b;
	pair(&a, &b, &pa, &pb);
	char buf[16];
	assert_int_equal(sw_medium_write(a, "abc", 3), 3);
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	assert_int_equal(sw_medium_write(a, "d", 1), SW_ERR_CLOSED);
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), 3);
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_wait_readable(b, 0), 1);
	assert_int_equal(pb.calls, 0);
	/* Half-close: b can still talk to a. */
	assert_int_equal(sw_medium_write(b, "back", 4), 4);
	assert_int_equal(sw_medium_read(a, buf, sizeof buf), 4);
	assert_int_equal(sw_medium_errno(b), 0);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_close_peer(void **state)
{
	(void)state;
	pump_state pb = {0};
	sw_medium *a, *b;
	pair(&a, &b, NULL, &pb);
	char buf[16];
	assert_int_equal(sw_medium_write(a, "xy", 2), 2);
	assert_int_equal(sw_medium_write(b, "to a", 4), 4); /* dropped when a closes */
	sw_medium_del(a);
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), 2);
	assert_memory_equal(buf, "xy", 2);
	assert_int_equal(sw_medium_read(b, buf, sizeof buf), 0);
	assert_int_equal(sw_medium_wait_readable(b, 0), 1);
	assert_int_equal(sw_medium_write(b, "z", 1), SW_ERR_CONNECTION_RESET);
	assert_int_equal(sw_medium_write_all(b, "z", 1, NULL), SW_ERR_CONNECTION_RESET);
	assert_int_equal(pb.calls, 0);
	sw_medium_del(b);
}

static void test_big_transfer(void **state)
{
	(void)state;
	pump_state pb = {0};
	sw_medium *a, *b;
	pair(&a, &b, NULL, &pb);
	static uint8_t src[1 << 20], dst[1 << 20];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)(i * 7 + (i >> 9));
	size_t w = 0, r = 0;
	/* Interleave writes and partial reads so the queue compacts and grows. */
	while (r < sizeof src) {
		size_t chunk = w < sizeof src ? 10007 : 0;
		if (chunk > sizeof src - w)
			chunk = sizeof src - w;
		if (chunk) {
			assert_int_equal(sw_medium_write_all(a, src + w, chunk, NULL), 0);
			w += chunk;
		}
		ptrdiff_t n = sw_medium_read(b, dst + r, 6007);
		assert_true(n > 0);
		r += (size_t)n;
	}
	assert_memory_equal(src, dst, sizeof src);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void test_invalid(void **state)
{
	(void)state;
	sw_medium *a = NULL, *b = NULL;
	assert_int_equal(sw_fifo_pair(NULL, &b, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fifo_pair(&a, NULL, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fifo_set_pump(NULL, pump, NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, NULL), 0);
	assert_int_equal(sw_fifo_set_timeout(a, 0), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fifo_set_timeout(a, -5), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_fifo_pending(NULL), 0);
	assert_int_equal(sw_medium_read(NULL, "", 1), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_medium_write(NULL, "", 1), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_medium_shutdown_write(NULL), SW_ERR_INVALID_ARGUMENT);
	assert_int_equal(sw_medium_wait_readable(NULL, 0), SW_ERR_INVALID_ARGUMENT);
	sw_medium_del(NULL);
	sw_medium_del(a);
	sw_medium_del(b);
}

/* ---- Threaded style ---------------------------------------------------- */

#define ROUNDS 2000

static void *echo_thread(void *arg)
{
	sw_medium *m = arg;
	char buf[64];
	long echoed = 0;
	for (;;) {
		ptrdiff_t n = sw_medium_read(m, buf, sizeof buf);
		if (n <= 0) {
			/* 0 = EOF ends the loop; anything else is reported as -1 */
			return n == 0 ? (void *)echoed : (void *)-1L;
		}
		if (sw_medium_write_all(m, buf, (size_t)n, NULL) != 0)
			return (void *)-1L;
		echoed += n;
	}
}

static void test_threaded_ping_pong(void **state)
{
	(void)state;
	sw_medium *a, *b;
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, NULL), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, echo_thread, b), 0);
	long total = 0;
	for (int i = 0; i < ROUNDS; i++) {
		char msg[32], got[32];
		int len = snprintf(msg, sizeof msg, "ping %d", i);
		assert_int_equal(sw_medium_write_all(a, msg, (size_t)len, NULL), 0);
		int have = 0;
		while (have < len) {
			ptrdiff_t n = sw_medium_read(a, got + have, (size_t)(len - have));
			assert_true(n > 0);
			have += (int)n;
		}
		assert_memory_equal(got, msg, (size_t)len);
		total += len;
	}
	assert_int_equal(sw_medium_shutdown_write(a), 0);
	void *res;
	assert_int_equal(pthread_join(t, &res), 0);
	assert_int_equal((long)res, total);
	char c;
	assert_int_equal(sw_medium_write(b, "!", 1), 1);
	assert_int_equal(sw_medium_read(a, &c, 1), 1);
	sw_medium_del(a);
	sw_medium_del(b);
}

static void *read_once_thread(void *arg)
{
	char c;
	return (void *)(intptr_t)sw_medium_read(arg, &c, 1);
}

static void test_threaded_close_wakes_reader(void **state)
{
	(void)state;
	sw_medium *a, *b;
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, NULL), 0);
	assert_int_equal(sw_fifo_set_timeout(b, 10000), 0);
	pthread_t t;
	int64_t t0 = now_ms();
	assert_int_equal(pthread_create(&t, NULL, read_once_thread, b), 0);
	sw_medium_del(a); /* whether or not b is already waiting, it gets EOF */
	void *res;
	assert_int_equal(pthread_join(t, &res), 0);
	assert_int_equal((intptr_t)res, 0);
	assert_true(now_ms() - t0 < 9000);
	sw_medium_del(b);
}

static void test_threaded_timeout(void **state)
{
	(void)state;
	sw_medium *a, *b;
	assert_int_equal(sw_fifo_pair(&a, &b, NULL, NULL, NULL), 0);
	char c;
	assert_int_equal(sw_medium_wait_readable(b, 0), SW_ERR_TIMEOUT);
	assert_int_equal(sw_fifo_set_timeout(b, 100), 0);
	int64_t t0 = now_ms();
	assert_int_equal(sw_medium_read(b, &c, 1), SW_ERR_TIMEOUT);
	int64_t el = now_ms() - t0;
	assert_true(el >= 90 && el < 3000);
	t0 = now_ms();
	assert_int_equal(sw_medium_wait_readable(b, 50), SW_ERR_TIMEOUT);
	el = now_ms() - t0;
	assert_true(el >= 40 && el < 3000);
	t0 = now_ms();
	assert_int_equal(sw_medium_wait_readable(b, -1), SW_ERR_TIMEOUT); /* endpoint's 100 ms */
	el = now_ms() - t0;
	assert_true(el >= 90 && el < 3000);
	assert_int_equal(sw_medium_write(a, "q", 1), 1);
	assert_int_equal(sw_medium_wait_readable(b, 0), 1);
	assert_int_equal(sw_medium_read(b, &c, 1), 1);
	sw_medium_del(a);
	sw_medium_del(b);
}

/* ---- Allocation failures ----------------------------------------------- */

/* Creates a pair (with plans when `plans`), writes growing messages both
 * ways, reads them back, closes.  Returns the first error or 0. */
static int fifo_session(const sw_mem *mem, bool plans)
{
	sw_fault_plan ab, ba;
	sw_fault_plan_init(&ab);
	sw_fault_plan_init(&ba);
	ab.read.kind = SW_FAULT_SIZES_LIST;
	ab.read.n = 1;
	ab.read.v[0] = 100;
	sw_medium *a, *b;
	int rc = sw_fifo_pair(&a, &b, plans ? &ab : NULL, plans ? &ba : NULL, mem);
	if (rc < 0)
		return rc;
	static uint8_t buf[5000];
	memset(buf, 'm', sizeof buf);
	for (size_t len = 1; rc == 0 && len < sizeof buf; len *= 3) {
		rc = sw_medium_write_all(a, buf, len, NULL);
		if (rc == 0)
			rc = sw_medium_write_all(b, buf, len / 2 + 1, NULL);
	}
	/* Leave the bytes queued: close must free them. */
	sw_medium_del(a);
	sw_medium_del(b);
	return rc;
}

static void test_failmem(void **state)
{
	(void)state;
	for (int plans = 0; plans < 2; plans++) {
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		assert_int_equal(fifo_session(&fm.mem, plans), 0);
		assert_int_equal(fm.live, 0);
		size_t calls = fm.calls;
		assert_true(calls >= (plans ? 5u : 3u));
		for (size_t n = 1; n <= calls; n++) {
			for (int persistent = 0; persistent < 2; persistent++) {
				sw_failmem_init(&fm, n, persistent);
				int rc = fifo_session(&fm.mem, plans);
				assert_int_equal(fm.failures > 0, 1);
				assert_int_equal(rc, SW_ERR_NOMEM);
				assert_int_equal(fm.live, 0);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_and_stall),
		cmocka_unit_test(test_pump_progress),
		cmocka_unit_test(test_shutdown_write),
		cmocka_unit_test(test_close_peer),
		cmocka_unit_test(test_big_transfer),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_threaded_ping_pong),
		cmocka_unit_test(test_threaded_close_wakes_reader),
		cmocka_unit_test(test_threaded_timeout),
		cmocka_unit_test(test_failmem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
