/*
 * Fuzz target: the server's protocol version detection, smartwire/detect.h.
 * The protocol bytes (input minus the fdp.h trailer) are the start of a
 * request stream.  Checks:
 *   - sw_detect_bytes() agrees with an independent statement of Breezy's
 *     rule (medium._get_protocol_factory_for_bytes on the first line: v3 if
 *     the line equals the v3 marker, v2 if it equals "bzr request 2\n",
 *     otherwise v1 with nothing consumed);
 *   - the push detector, fed whole and in the trailer's chunk sizes, reaches
 *     the same decision: it consumes exactly the marker for v2/v3, exactly
 *     the pending prefix it hands back for v1 (and those bytes are the
 *     input's), never consumes after deciding, reports next_read_size() 1
 *     until decided and 0 after, and at EOF finish() yields v1 (or NONE when
 *     no byte came at all).
 * The detector never allocates, so there is no allocation failure to inject.
 */
#include <string.h>

#include "fdp.h"
#include "smartwire/detect.h"

static sw_version oracle(const uint8_t *in, size_t len, size_t *marker_len)
{
	size_t line = 0;
	while (line < len && in[line] != '\n')
		line++;
	if (line < len)
		line++; /* the line includes its "\n" */
	*marker_len = 0;
	if (line == SW_V3_MARKER_LEN && memcmp(in, SW_V3_MARKER, line) == 0) {
		*marker_len = line;
		return SW_VERSION_3;
	}
	if (line == SW_V2_REQUEST_MARKER_LEN && memcmp(in, SW_V2_REQUEST_MARKER, line) == 0) {
		*marker_len = line;
		return SW_VERSION_2;
	}
	return SW_VERSION_1;
}

/* Feeds `in` in pieces (chunked: the trailer's sizes, else whole) and checks
 * the streaming contract against the oracle's decision. */
static void stream(const sw_fuzz_ctl *ctl, bool chunked, sw_version want, size_t want_ml)
{
	sw_detect d;
	sw_detect_init(&d);
	size_t pos = 0, consumed = 0, i = 0;
	while (pos < ctl->len) {
		size_t n = ctl->len - pos;
		if (chunked && sw_fuzz_chunk(ctl, i) < n)
			n = sw_fuzz_chunk(ctl, i);
		i++;
		bool decided = sw_detect_version(&d) != SW_VERSION_NONE;
		size_t nrs = sw_detect_next_read_size(&d);
		if (nrs != (decided ? 0u : 1u))
			sw_fuzz_fail("detect: next_read_size() %zu while %s\n", nrs,
			             decided ? "decided" : "undecided");
		size_t k = sw_detect_feed(&d, ctl->data + pos, n);
		if (k > n)
			sw_fuzz_fail("detect: consumed %zu of %zu bytes\n", k, n);
		if (decided && k != 0)
			sw_fuzz_fail("detect: consumed %zu bytes after deciding\n", k);
		if (k < n && sw_detect_version(&d) == SW_VERSION_NONE)
			sw_fuzz_fail("detect: stopped short (%zu of %zu) without deciding\n", k, n);
		consumed += k;
		pos += n;
	}
	if (sw_detect_version(&d) == SW_VERSION_NONE) {
		if (sw_detect_finish(&d) != 0)
			sw_fuzz_fail("detect: finish() did not return 0\n");
		sw_version v = sw_detect_version(&d);
		if (ctl->len == 0 ? v != SW_VERSION_NONE : v != SW_VERSION_1)
			sw_fuzz_fail("detect: after EOF the version is %d with %zu bytes fed\n", (int)v,
			             ctl->len);
		if (ctl->len == 0)
			return;
	}
	sw_version got = sw_detect_version(&d);
	if (got != want)
		sw_fuzz_fail("detect: streaming (%s) decided v%d, Breezy's rule says v%d\n",
		             chunked ? "in pieces" : "whole", (int)got, (int)want);
	if (sw_detect_marker_len(&d) != want_ml)
		sw_fuzz_fail("detect: marker_len %zu, expected %zu\n", sw_detect_marker_len(&d),
		             want_ml);
	sw_slice pend = sw_detect_pending(&d);
	if (got == SW_VERSION_1) {
		if (pend.n != consumed || (pend.n > 0 && memcmp(pend.p, ctl->data, pend.n) != 0))
			sw_fuzz_fail("detect: v1 pending bytes (%zu) are not the %zu consumed\n",
			             pend.n, consumed);
	} else if (consumed != want_ml || pend.n != 0) {
		sw_fuzz_fail("detect: v%d consumed %zu bytes, pending %zu; marker is %zu\n",
		             (int)got, consumed, pend.n, want_ml);
	}
	if (sw_detect_next_read_size(&d) != 0)
		sw_fuzz_fail("detect: next_read_size() not 0 once decided\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);

	size_t want_ml;
	sw_version want = oracle(ctl.data, ctl.len, &want_ml);
	size_t ml = 12345;
	sw_version v = sw_detect_bytes(ctl.data, ctl.len, &ml);
	if (v != want || ml != want_ml)
		sw_fuzz_fail("detect: sw_detect_bytes says v%d (marker %zu), Breezy's rule v%d "
		             "(marker %zu)\n", (int)v, ml, (int)want, want_ml);
	if (sw_detect_bytes(ctl.data, ctl.len, NULL) != want)
		sw_fuzz_fail("detect: sw_detect_bytes with marker_len NULL differs\n");

	stream(&ctl, false, want, want_ml);
	stream(&ctl, true, want, want_ml);
	return 0;
}
