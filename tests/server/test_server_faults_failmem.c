/*
 * The server session under allocation failure at every site, once and
 * persistently, on Breezy's exchanges (server_faults.h): of the sans-I/O
 * core, and of a whole served session (daemon, worker, driver, core) on
 * the three copying paths.  The connection closes cleanly, the output is a
 * prefix of Breezy's, nothing leaks.  The counts are printed.
 */
#include "server_faults.h"
#include "smartwire/failmem.h"

static void test_failmem(void **state)
{
	(void)state;
	unsigned long sites = 0, runs_fm = 0;
	for (size_t i = 0; i < nexch; i++) {
		const exch *e = &exchanges[i];
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		fake f;
		fake_init(&f, &fm.mem);
		sw_buf out;
		srv_outcome clean;
		srv_exchange(NULL, &fm.mem, &f, e->in.data, e->in.len, NULL, 0, true, &out, &clean);
		check_equal(e, &out, "failmem count");
		assert_int_equal(fm.live, 0);
		sw_buf_fini(&out);
		size_t calls = fm.calls;
		sites += calls;
		for (size_t at = 1; at <= calls; at++) {
			for (int persistent = 0; persistent <= 1; persistent++) {
				sw_failmem_init(&fm, at, persistent);
				fake_init(&f, &fm.mem);
				srv_outcome o;
				srv_exchange(NULL, &fm.mem, &f, e->in.data, e->in.len, NULL, 0,
				             true, &out, &o);
				runs_fm++;
				check_prefix(e, &out, "failmem");
				if (f.live != 0 || fm.live != 0)
					fail_msg("%s: leak after failing allocation %zu", e->name,
					         at);
				if (fm.failures && o.error != SW_ERR_NOMEM &&
				    o.feed_err != SW_ERR_NOMEM && o.error != clean.error)
					fail_msg("%s: allocation %zu failed but error is %s",
					         e->name, at, sw_errname(o.error));
				if (o.error == SW_ERR_NOMEM)
					assert_true(o.finished);
				sw_buf_fini(&out);
			}
		}
	}
	printf("failmem: %lu allocation sites over %zu sessions, %lu runs\n", sites, nexch,
	       runs_fm);
}

/* Allocation failure at every site of a whole served session: the daemon
 * and its worker, the connection record, the core, the driver's kept
 * input (read=every:5 makes the core leave input behind), on the three paths.
 * Failing before the connection is served is reported as sw_serve_medium's
 * SW_ERR_NOMEM; later, as the result's error; or the failure is absorbed
 * and the answer is Breezy's.  Nothing leaks. */
static void test_failmem_serve(void **state)
{
	(void)state;
	unsigned long sites = 0, runs_fm = 0, before = 0, during = 0;
	sw_fault_plan plan;
	assert_int_equal(sw_fault_plan_parse("read=every:5", &plan, NULL), 0);
	for (int p = 0; p <= 2; p++) {
		for (size_t i = 0; i < nexch; i += stride) {
			const exch *e = &exchanges[i];
			sw_failmem fm;
			sw_failmem_init(&fm, 0, false);
			fake f;
			fake_init(&f, &fm.mem);
			sw_buf out;
			srv_serve_fifo_ex(NULL, &fm.mem, &f, e->in.data, e->in.len, &plan, NULL, p,
			                  true, &out);
			check_equal(e, &out, "serve failmem count");
			assert_int_equal(fm.live, 0);
			sw_buf_fini(&out);
			size_t calls = fm.calls;
			sites += calls;
			for (size_t at = 1; at <= calls; at++) {
				for (int persistent = 0; persistent <= 1; persistent++) {
					sw_failmem_init(&fm, at, persistent);
					fake_init(&f, &fm.mem);
					sw_serve_result r = srv_serve_fifo_ex(
					    NULL, &fm.mem, &f, e->in.data, e->in.len, &plan, NULL,
					    p, true, &out);
					runs_fm++;
					check_prefix(e, &out, "serve failmem");
					if (f.live != 0 || fm.live != 0)
						fail_msg("%s: leak after failing allocation %zu",
						         e->name, at);
					if (r.error == SW_ERR_NOMEM && out.len == 0 &&
					    r.bytes_in == 0)
						before++;
					else if (r.error == SW_ERR_NOMEM)
						during++;
					else if (fm.failures)
						check_equal(e, &out, "serve failmem absorbed");
					sw_buf_fini(&out);
				}
			}
		}
	}
	printf("serve failmem: %lu allocation sites, %lu runs (%lu failed before serving, %lu "
	       "while serving)\n",
	       sites, runs_fm, before, during);
	assert_true(before > 0 && during > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failmem),
	    cmocka_unit_test(test_failmem_serve),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
