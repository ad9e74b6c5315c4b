/*
 * Fuzz target: the readv offset list, smartwire/readv.h.
 * The protocol bytes (input minus the fdp.h trailer) are a readv request
 * body, parsed with max_ranges = the trailer's variant byte (0: default).
 * Checks:
 *   - errors are the documented ones (SW_ERR_INVALID_ARGUMENT, SW_ERR_LIMIT,
 *     SW_ERR_NOMEM) with *out NULL and *n 0;
 *   - on success there is one range per non-empty line (Breezy skips empty
 *     lines), at most max_ranges, and *out is NULL exactly when *n is 0;
 *   - the ranges serialise (sw_readv_serialise) to a body that parses back
 *     to the same ranges;
 *   - nothing leaks, and an injected allocation failure (trailer) ends in
 *     SW_ERR_NOMEM or, if absorbed, in the fault-free result.
 */
#include <string.h>

#include "fdp.h"
#include "smartwire/error.h"
#include "smartwire/readv.h"

static size_t nonempty_lines(const uint8_t *p, size_t len)
{
	size_t count = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || p[i] == '\n') {
			if (i > start)
				count++;
			start = i + 1;
		}
	}
	return count;
}

static int parse_checked(const uint8_t *p, size_t len, size_t max, const sw_mem *mem,
                         sw_readv_range **out, size_t *n)
{
	int rc = sw_readv_parse(p, len, max, mem, out, n);
	if (rc != 0) {
		if (rc != SW_ERR_INVALID_ARGUMENT && rc != SW_ERR_LIMIT && rc != SW_ERR_NOMEM)
			sw_fuzz_fail("readv: undocumented error %s\n", sw_errname(rc));
		if (*out != NULL || *n != 0)
			sw_fuzz_fail("readv: failed with %s but left a result\n", sw_errname(rc));
		return rc;
	}
	if ((*n == 0) != (*out == NULL))
		sw_fuzz_fail("readv: %zu ranges but out is %s\n", *n, *out ? "set" : "NULL");
	if (*n > (max ? max : SW_READV_DEFAULT_MAX_RANGES))
		sw_fuzz_fail("readv: %zu ranges over the limit\n", *n);
	return 0;
}

/* Parse, serialise, parse again.  Returns 0 or the first error; on success
 * *count is the number of ranges.  Invariant violations abort. */
static int round_trip(const sw_mem *mem, const uint8_t *in, size_t len, size_t max,
                      size_t *count)
{
	sw_readv_range *r = NULL, *r2 = NULL;
	size_t n = 0, n2 = 0;
	sw_buf body;
	sw_buf_init(&body, mem);
	int rc = parse_checked(in, len, max, mem, &r, &n);
	if (rc != 0)
		goto out;
	if (n != nonempty_lines(in, len))
		sw_fuzz_fail("readv: %zu ranges from %zu non-empty lines\n", n,
		             nonempty_lines(in, len));
	*count = n;
	rc = sw_readv_serialise(&body, r, n);
	if (rc != 0) {
		if (rc != SW_ERR_NOMEM)
			sw_fuzz_fail("readv: serialise failed with %s\n", sw_errname(rc));
		goto out;
	}
	rc = parse_checked(body.data, body.len, max, mem, &r2, &n2);
	if (rc != 0) {
		if (rc != SW_ERR_NOMEM)
			sw_fuzz_fail("readv: the serialised ranges do not parse: %s\n", sw_errname(rc));
		goto out;
	}
	if (n2 != n || (n > 0 && memcmp(r, r2, n * sizeof(*r)) != 0))
		sw_fuzz_fail("readv: serialise/parse round trip changed the ranges\n");
out:
	sw_free(mem, r);
	sw_free(mem, r2);
	sw_buf_fini(&body);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	size_t max = ctl.variant;

	sw_failmem clean;
	sw_failmem_init(&clean, 0, false);
	size_t count = 0;
	int rc = round_trip(&clean.mem, ctl.data, ctl.len, max, &count);
	if (rc == SW_ERR_NOMEM)
		sw_fuzz_fail("readv: SW_ERR_NOMEM without an injected failure\n");
	sw_fuzz_mem_check_leaks(&clean, "readv clean run");

	size_t fail_at = sw_fuzz_pick_failure(&ctl, clean.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at != 0) {
		sw_failmem fm;
		sw_failmem_init(&fm, fail_at, ctl.fault == SW_FUZZ_FAULT_PERSISTENT);
		size_t fcount = 0;
		int frc = round_trip(&fm.mem, ctl.data, ctl.len, max, &fcount);
		sw_fuzz_mem_check_leaks(&fm, "readv with an allocation failure");
		sw_fuzz_mem_check_report(&fm, frc, frc == rc && fcount == count, "readv");
	}
	return 0;
}
