/*
 * The server session's zero-copy paths under faults (smartwire/server.h,
 * "ZERO-COPY BODIES"): the fault-plan matrix (server_faults.h) on real
 * descriptors, a socketpair and two pipes, where known-length bodies go out
 * with sendfile(2) and v3 request bodies come in with splice(2): the plans
 * then shape those calls, and the answers must be Breezy's all the same.
 * And the zero-copy path is held to the copying one where the source of a
 * span fails at every offset (the file ends early), where the medium
 * refuses a span or a sink (the rest is copied), and where a sink fills up
 * at every offset.
 */
#include "server_faults.h"

/* The matrix on real descriptors: the plans shape sendfile and splice, and
 * both were used (not only the copying path). */
static void fault_matrix_zc(int kind)
{
	zc_spans = zc_span_bytes = zc_sinks = zc_sink_bytes = 0;
	fault_matrix(2 + kind);
	printf("  without copying: %llu spans (%llu bytes) sent, %llu sinks (%llu bytes) filled\n",
	       (unsigned long long)zc_spans, (unsigned long long)zc_span_bytes,
	       (unsigned long long)zc_sinks, (unsigned long long)zc_sink_bytes);
	assert_true(zc_spans > 0 && zc_span_bytes > 0);
	assert_true(zc_sinks > 0 && zc_sink_bytes > 0);
}

static void test_fault_matrix_zc_socket(void **state)
{
	(void)state;
	fault_matrix_zc(1);
}

static void test_fault_matrix_zc_pipes(void **state)
{
	(void)state;
	fault_matrix_zc(2);
}

/* One request to the fake, encoded in protocol `version`. */
static void zc_request(sw_buf *b, int version, const char *const *argv, size_t n,
                       const uint8_t *body, size_t blen, bool has_body)
{
	sw_slice a[4];
	for (size_t i = 0; i < n; i++)
		a[i] = fake_sl(argv[i]);
	sw_slice bs = {body, blen};
	sw_buf_init(b, NULL);
	int rv = version == 3 ? sw_v3_encode_request(b, NULL, 0, a, n, has_body ? &bs : NULL)
	                      : sw_v12_encode_request(b, version, a, n, has_body ? &bs : NULL);
	assert_int_equal(rv, 0);
}

/* The zero-copy paths answer what the copying path answers, byte for byte
 * and ending the same way, on request `in` (with the fake's append_sinks
 * as given).  Returns the copying path's answer length. */
static size_t zc_same(const char *what, const sw_buf *in, bool append_sinks, const char *c2s)
{
	sw_fault_plan p;
	sw_fault_plan_init(&p);
	assert_int_equal(sw_fault_plan_parse(c2s, &p, NULL), 0);
	fake f;
	fake_init(&f, NULL);
	sw_buf want, got;
	sw_serve_result rw = srv_serve_fifo(NULL, NULL, &f, in->data, in->len, &p, NULL, &want);
	sw_srv_config zc;
	memset(&zc, 0, sizeof zc);
	zc.zc_min = 1; /* however small */
	for (int kind = 1; kind <= 2; kind++) {
		fake_init(&f, NULL);
		f.zc = true;
		f.append_sinks = append_sinks;
		sw_serve_result rg =
		    srv_serve_zc(&zc, NULL, &f, in->data, in->len, &p, NULL, kind, &got);
		zc_spans += f.spans;
		zc_sinks += f.sinks;
		if (got.len != want.len || (want.len && memcmp(got.data, want.data, want.len)) ||
		    rg.end != rw.end || rg.requests != rw.requests)
			fail_msg(
			    "%s [%s, %s]: zero-copy %zu bytes end %d, copying %zu bytes end %d",
			    what, kind == 1 ? "socketpair" : "pipes", c2s, got.len, (int)rg.end,
			    want.len, (int)rw.end);
		if (f.live != 0)
			fail_msg("%s: %d request(s) not freed", what, f.live);
		sw_buf_fini(&got);
	}
	size_t n = want.len;
	sw_buf_fini(&want);
	return n;
}

static void test_zc_against_copying(void **state)
{
	(void)state;
	enum { N = 300 };
	unsigned long cases = 0;
	char num[16], k[16];
	snprintf(num, sizeof num, "%d", N);
	zc_spans = zc_sinks = 0;
	for (int version = 1; version <= 3; version++) {
		/* The span's file ends early, at every offset: the body is cut
		 * there and the connection closed, as when read_body fails. */
		for (int at = 0; at <= N; at += (at < 20 ? 1 : (int)stride * 7)) {
			snprintf(k, sizeof k, "%d", at);
			const char *argv[3] = {"spanfail", num, k};
			sw_buf in;
			zc_request(&in, version, argv, 3, NULL, 0, false);
			zc_same("spanfail", &in, false, "");
			sw_buf_fini(&in);
			/* The medium refuses the span at that offset: the rest is
			 * copied, and the answer is whole. */
			argv[0] = "spanrefuse";
			zc_request(&in, version, argv, 3, NULL, 0, false);
			size_t n = zc_same("spanrefuse", &in, false, "write=every:9");
			assert_true(n > N);
			sw_buf_fini(&in);
			cases += 2;
		}
	}
	/* Bodies into a sink that fills up at every offset (v3: only v3 body
	 * parts go to sinks; v1/v2 for the copying path's answer). */
	uint8_t body[N];
	for (size_t i = 0; i < N; i++)
		body[i] = (uint8_t)(i * 13 + 1);
	for (int version = 1; version <= 3; version++) {
		for (int cap = 0; cap <= N + 1; cap += (cap < 20 ? 1 : (int)stride * 7)) {
			snprintf(k, sizeof k, "%d", cap);
			const char *argv[2] = {"sinkfull", k};
			sw_buf in;
			zc_request(&in, version, argv, 2, body, sizeof body, true);
			zc_same("sinkfull", &in, false, "");
			zc_same("sinkfull", &in, false, "read=every:11");
			sw_buf_fini(&in);
			cases += 2;
		}
		/* A sink that cannot be spliced into (O_APPEND): the pipe path
		 * copies instead, the socket path copies what it took. */
		const char *argv[1] = {"echo"};
		sw_buf in;
		zc_request(&in, version, argv, 1, body, sizeof body, true);
		zc_same("echo into an O_APPEND sink", &in, true, "read=every:17");
		zc_same("echo", &in, false, "read=every:17");
		sw_buf_fini(&in);
		cases += 2;
	}
	printf("zero-copy against copying: %lu requests x 2 media, %llu spans, %llu sinks\n", cases,
	       (unsigned long long)zc_spans, (unsigned long long)zc_sinks);
	assert_true(zc_spans > 0 && zc_sinks > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fault_matrix_zc_socket),
	    cmocka_unit_test(test_fault_matrix_zc_pipes),
	    cmocka_unit_test(test_zc_against_copying),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
