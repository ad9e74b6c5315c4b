/*
 * Fuzz target: the readv offset list, smartwire/readv.h.
 * The protocol bytes (input minus the fdp.h trailer) are a readv request
 * body, read line by line with sw_readv_next (the server's parser) and
 * parsed whole with max_ranges = the trailer's variant byte (0: default).
 * Checks:
 *   - sw_readv_next visits the non-empty lines in order; each line it
 *     reports lies between two '\n' (or the ends of the body); a refusal
 *     is what the line is (no ',', several ',', a field int() refuses or
 *     one outside int64, start before length) and names the exact field;
 *     after a refusal *pos is at the line; the values of an accepted line
 *     are int() of its two fields;
 *   - sw_readv_parse returns exactly what the lines imply (the first
 *     refused or negative line, else the range limit);
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
#include "smartwire/pytext.h"
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

/* The first byte of a line starting at `at`, by the definition of the body
 * (split on '\n'). */
static bool line_start(const uint8_t *p, size_t at)
{
	return at == 0 || p[at - 1] == '\n';
}

/* Walks the body with sw_readv_next and checks every report against the
 * line it names.  Returns what sw_readv_parse must return with `max`. */
static int check_lines(const uint8_t *p, size_t len, size_t max)
{
	size_t pos = 0, count = 0, seen = 0, want_lines = nonempty_lines(p, len);
	int expect = 0;
	for (;;) {
		sw_readv_line l;
		size_t before = pos;
		int rv = sw_readv_next(len ? p : NULL, len, &pos, &l);
		if (rv == 0) {
			if (pos != len || seen != want_lines)
				sw_fuzz_fail("readv: end at %zu of %zu after %zu of %zu lines\n",
				             pos, len, seen, want_lines);
			return expect;
		}
		seen++;
		size_t at = l.line_at, n = l.line_len, end = at + n;
		if (at < before || end > len || n == 0 || !line_start(p, at) ||
		    (end < len && p[end] != '\n') || memchr(p + at, '\n', n))
			sw_fuzz_fail("readv: line [%zu, %zu) is not a line of the body\n", at, end);
		for (size_t k = before; k < at; k++)
			if (p[k] != '\n')
				sw_fuzz_fail("readv: skipped a non-empty line at %zu\n", k);
		const uint8_t *c1 = memchr(p + at, ',', n);
		const uint8_t *c2 = c1 ? memchr(c1 + 1, ',', (size_t)(p + end - c1 - 1)) : NULL;
		if (rv < 0) {
			if (rv != SW_ERR_INVALID_ARGUMENT || pos != at)
				sw_fuzz_fail("readv: refusal %s with pos %zu, line at %zu\n",
				             sw_errname(rv), pos, at);
			sw_readv_fault want = !c1  ? SW_READV_ONE_FIELD
			                      : c2 ? SW_READV_MANY_FIELDS
			                           : SW_READV_OK;
			if (want == SW_READV_OK) {
				/* A field: the start unless int() reads it. */
				size_t c = (size_t)(c1 - p);
				bool neg;
				uint64_t v;
				int x = sw_py_int(p + at, c - at, 10, &neg, &v);
				size_t fat = at, flen = c - at;
				int fld = 0;
				if (x == 0) {
					if (l.start_neg != neg || l.start != v)
						sw_fuzz_fail("readv: the start of a line refused "
						             "later is wrong\n");
					fld = 1;
					fat = c + 1;
					flen = end - c - 1;
					x = sw_py_int(p + fat, flen, 10, &neg, &v);
				}
				if (x == 0)
					sw_fuzz_fail("readv: refused a line int() reads\n");
				if (x != SW_ERR_INVALID_ARGUMENT && x != SW_ERR_LIMIT)
					sw_fuzz_fail("readv: int() said %s\n", sw_errname(x));
				want = x == SW_ERR_LIMIT ? SW_READV_TOO_BIG : SW_READV_NOT_INT;
				if (l.field != fld || l.field_at != fat || l.field_len != flen)
					sw_fuzz_fail("readv: reported field %d [%zu,+%zu), want %d "
					             "[%zu,+%zu)\n",
					             l.field, l.field_at, l.field_len, fld, fat,
					             flen);
			}
			if (l.fault != want)
				sw_fuzz_fail("readv: fault %d, want %d\n", (int)l.fault, (int)want);
			return expect ? expect : SW_ERR_INVALID_ARGUMENT;
		}
		if (rv != 1 || l.fault != SW_READV_OK || !c1 || c2 ||
		    pos != (end < len ? end + 1 : len))
			sw_fuzz_fail("readv: accepted line [%zu, %zu) badly (rv %d, pos %zu)\n", at,
			             end, rv, pos);
		bool sn, ln;
		uint64_t sv, lv;
		size_t c = (size_t)(c1 - p);
		if (sw_py_int(p + at, c - at, 10, &sn, &sv) != 0 ||
		    sw_py_int(p + c + 1, end - c - 1, 10, &ln, &lv) != 0 || sn != l.start_neg ||
		    sv != l.start || ln != l.length_neg || lv != l.length)
			sw_fuzz_fail("readv: values are not int() of the fields\n");
		if (expect == 0 && (l.start_neg || l.length_neg))
			expect = SW_ERR_INVALID_ARGUMENT;
		if (expect == 0 && count == (max ? max : SW_READV_DEFAULT_MAX_RANGES))
			expect = SW_ERR_LIMIT;
		count++;
	}
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

	int expect = check_lines(ctl.data, ctl.len, max);
	sw_failmem clean;
	sw_failmem_init(&clean, 0, false);
	size_t count = 0;
	int rc = round_trip(&clean.mem, ctl.data, ctl.len, max, &count);
	if (rc == SW_ERR_NOMEM)
		sw_fuzz_fail("readv: SW_ERR_NOMEM without an injected failure\n");
	if (rc != expect)
		sw_fuzz_fail("readv: sw_readv_parse returned %s, the lines say %s\n",
		             sw_errname(rc), sw_errname(expect));
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
