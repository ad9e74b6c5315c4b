/*
 * The server session under the fault-plan matrix (server_faults.h) on the
 * copying paths: the fifo as it is, and wrapped to name one or two polled
 * descriptors.  Then, on the always-ready path: a read stall at every
 * offset (virtual time: the idle timeout between requests, the deadline
 * inside one, at once) and a medium that can make no progress
 * (SW_SERVE_STALLED); and the sans-I/O core on every exchange split at
 * every offset.  The zero-copy paths are test_server_faults_zc.c's, failing
 * allocations test_server_faults_failmem.c's.
 */
#include "server_faults.h"

static void test_fault_matrix(void **state)
{
	(void)state;
	fault_matrix(0);
}

static void test_fault_matrix_socket(void **state)
{
	(void)state;
	fault_matrix(1);
}

static void test_fault_matrix_inet(void **state)
{
	(void)state;
	fault_matrix(2);
}

static char logged[160];

static void log_cb(void *ud, const char *msg)
{
	(void)ud;
	snprintf(logged, sizeof logged, "%s", msg);
}

/* A read stall at every offset, the client still connected: the server
 * answers what it read and then, since the stall makes the medium's wait
 * run out at once (virtual time), ends with the idle timeout (logged as
 * Breezy) between requests or the request deadline inside one, after
 * exactly what the sans-I/O core answers for those bytes. */
static void test_stall_matrix(void **state)
{
	(void)state;
	polled = 0;
	unsigned long n_runs = 0, timeouts = 0, deadlines = 0;
	sw_srv_config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.log = log_cb;
	for (size_t i = 0; i < nexch; i++) {
		const exch *e = &exchanges[i];
		for (size_t n = 0; n <= e->in.len; n += stride) {
			char plan[64];
			snprintf(plan, sizeof plan, "stall@%zu;read=every:3", n);
			fake f;
			sw_buf out;
			logged[0] = 0;
			sw_serve_result r = serve(e, &cfg, plan, NULL, &f, &out);
			n_runs++;
			fake g;
			fake_init(&g, NULL);
			sw_buf ref;
			srv_outcome o;
			srv_exchange(NULL, NULL, &g, e->in.data, n, NULL, 0, false, &ref, &o);
			if (ref.len != out.len ||
			    (out.len && memcmp(ref.data, out.data, out.len) != 0))
				fail_msg("%s [%s]: served %zu bytes, the core answers %zu", e->name,
				         plan, out.len, ref.len);
			check_books(e, &f, plan);
			if (o.finished || o.feed_err) {
				assert_int_equal(r.end, SW_SERVE_PROTOCOL);
			} else if (o.idle) {
				assert_int_equal(r.end, SW_SERVE_TIMEOUT);
				assert_string_equal(logged,
				                    "Connection Timeout: disconnecting client "
				                    "after 300.0 seconds");
				timeouts++;
			} else {
				if (r.end != SW_SERVE_DEADLINE)
					fail_msg("%s [%s]: ended %d, not with the deadline",
					         e->name, plan, (int)r.end);
				assert_string_equal(logged, "");
				deadlines++;
			}
			if (r.end != SW_SERVE_PROTOCOL)
				assert_int_equal(r.error, 0);
			assert_int_equal(r.requests, o.requests);
			sw_buf_fini(&ref);
			sw_buf_fini(&out);
		}
	}
	printf("stall matrix: %lu runs, %lu idle timeouts, %lu deadlines\n", n_runs, timeouts,
	       deadlines);
	assert_true(timeouts > 0 && deadlines > 0);
}

/* A medium that can make no progress ends the connection instead of
 * spinning: a single-threaded fifo whose client neither sends more nor
 * closes (mid-request and between requests), and writes that stall. */
static void test_stalled(void **state)
{
	(void)state;
	const struct srv_vec *v = find_vec("v3 hello");
	fake f;
	sw_buf out;
	fake_init(&f, NULL);
	/* Between requests: the answer, then nothing. */
	sw_serve_result r = srv_serve_fifo_ex(NULL, NULL, &f, (const uint8_t *)v->req, v->req_len,
	                                      NULL, NULL, 0, false, &out);
	assert_int_equal(r.end, SW_SERVE_STALLED);
	assert_int_equal(r.error, SW_ERR_WOULD_BLOCK);
	assert_int_equal(r.requests, 1);
	assert_int_equal(out.len, v->resp_len);
	assert_memory_equal(out.data, v->resp, v->resp_len);
	assert_int_equal(r.bytes_in, v->req_len);
	assert_int_equal(r.bytes_out, v->resp_len);
	sw_buf_fini(&out);
	/* Mid-request (v1 "hello" without its newline): nothing answered. */
	const struct srv_vec *v1 = find_vec("v1 hello");
	fake_init(&f, NULL);
	r = srv_serve_fifo_ex(NULL, NULL, &f, (const uint8_t *)v1->req, v1->req_len - 1, NULL, NULL,
	                      0, false, &out);
	assert_int_equal(r.end, SW_SERVE_STALLED);
	assert_int_equal(r.requests, 0);
	assert_int_equal(out.len, 0);
	assert_int_equal(f.live, 0);
	sw_buf_fini(&out);
	/* Writes that stall after 10 bytes. */
	sw_fault_plan w;
	assert_int_equal(sw_fault_plan_parse("stall@10", &w, NULL), 0);
	fake_init(&f, NULL);
	r = srv_serve_fifo_ex(NULL, NULL, &f, (const uint8_t *)v->req, v->req_len, NULL, &w, 0,
	                      true, &out);
	assert_int_equal(r.end, SW_SERVE_STALLED);
	assert_int_equal(out.len, 10);
	assert_memory_equal(out.data, v->resp, 10);
	assert_int_equal(f.live, 0);
	sw_buf_fini(&out);
}

/* Sans-I/O splits for every exchange, as a quick cross-check of the loop. */
static void test_split_matrix(void **state)
{
	(void)state;
	unsigned long n = 0;
	for (size_t i = 0; i < nexch; i++) {
		const exch *e = &exchanges[i];
		for (size_t k = 1; k < e->in.len; k += stride) {
			fake f;
			fake_init(&f, NULL);
			sw_buf out;
			srv_outcome o;
			srv_exchange(NULL, NULL, &f, e->in.data, e->in.len, &k, 1, true, &out, &o);
			check_equal(e, &out, "split");
			check_books(e, &f, "split");
			sw_buf_fini(&out);
			n++;
		}
	}
	printf("split matrix: %lu runs\n", n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fault_matrix),      cmocka_unit_test(test_fault_matrix_socket),
	    cmocka_unit_test(test_fault_matrix_inet), cmocka_unit_test(test_stall_matrix),
	    cmocka_unit_test(test_stalled),           cmocka_unit_test(test_split_matrix),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
