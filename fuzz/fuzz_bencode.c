/*
 * Fuzz target: bencode (smartwire/bencode.h).
 * The protocol bytes (the input minus the control trailer of fdp.h) go to
 * sw_bdecode() with limits chosen by the trailer's `variant` byte: 0 means the
 * defaults (NULL), otherwise max_depth = 1 + (variant & 15) and
 * max_elements = 1 + 8 * (variant >> 4).  Checks:
 *   - a failure is one of the error codes bencode.h documents, with *out NULL;
 *   - the decoder is canonical-strict, so whatever decodes re-encodes with
 *     sw_bencode() to exactly the input bytes, and the re-encoding decodes
 *     (under the same limits) to the same sw_bval_format() text;
 *   - nothing leaks, and when the trailer asks for it, the N-th allocation of
 *     the whole round trip fails (once or persistently) and the run must end
 *     in SW_ERR_NOMEM or, if the failure was absorbed, in the fault-free
 *     result.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fdp.h"
#include "smartwire/bencode.h"
#include "smartwire/error.h"

static bool documented(int rc)
{
	switch (rc) {
	case SW_ERR_NOMEM:
	case SW_ERR_BENCODE_SYNTAX:
	case SW_ERR_BENCODE_TRUNCATED:
	case SW_ERR_BENCODE_JUNK:
	case SW_ERR_BENCODE_UNSORTED:
	case SW_ERR_BENCODE_BAD_INT:
	case SW_ERR_BENCODE_DEPTH:
	case SW_ERR_BENCODE_TOO_MANY:
	case SW_ERR_BENCODE_KEY:
		return true;
	default:
		return false;
	}
}

/* Decodes, re-encodes, formats, decodes the re-encoding and formats it again,
 * every allocation of the library going through `mem`.  Returns 0 or the
 * first error; on success `text` holds the sw_bval_format() text.  Invariant
 * violations abort. */
static int round_trip(const sw_mem *mem, const uint8_t *in, size_t len,
                      const sw_blimits *lim, sw_buf *text)
{
	sw_bval *v = NULL, *v2 = NULL;
	sw_buf enc, text2;
	sw_buf_init(&enc, mem);
	sw_buf_init(&text2, mem);

	int rc = sw_bdecode(mem, in, len, lim, &v);
	if (rc != 0) {
		if (!documented(rc))
			sw_fuzz_fail("sw_bdecode returned undocumented %s\n", sw_errname(rc));
		if (v != NULL)
			sw_fuzz_fail("sw_bdecode failed (%s) but left *out set\n", sw_errname(rc));
		goto out;
	}
	if (v == NULL)
		sw_fuzz_fail("sw_bdecode succeeded with *out NULL\n");

	rc = sw_bencode(&enc, v);
	if (rc != 0) {
		if (rc != SW_ERR_NOMEM)
			sw_fuzz_fail("sw_bencode of a decoded tree failed: %s\n", sw_errname(rc));
		goto out;
	}
	if (enc.len != len || memcmp(enc.data, in, len) != 0)
		sw_fuzz_fail("bencode round trip changed the bytes (%zu in, %zu out)\n",
		             len, enc.len);

	text->mem = mem;
	rc = sw_bval_format(text, v);
	if (rc != 0)
		goto out;

	rc = sw_bdecode(mem, enc.data, enc.len, lim, &v2);
	if (rc != 0) {
		if (rc != SW_ERR_NOMEM)
			sw_fuzz_fail("re-encoding does not decode: %s\n", sw_errname(rc));
		goto out;
	}
	rc = sw_bval_format(&text2, v2);
	if (rc != 0)
		goto out;
	if (text2.len != text->len || memcmp(text2.data, text->data, text->len) != 0)
		sw_fuzz_fail("decoding the re-encoding gives a different tree\n");
out:
	sw_bval_del(mem, v);
	sw_bval_del(mem, v2);
	sw_buf_fini(&enc);
	sw_buf_fini(&text2);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);

	sw_blimits limits;
	const sw_blimits *lim = NULL;
	if (ctl.variant != 0) {
		limits.max_depth = 1 + (size_t)(ctl.variant & 15);
		limits.max_elements = 1 + 8 * (size_t)(ctl.variant >> 4);
		lim = &limits;
	}

	sw_failmem clean;
	sw_failmem_init(&clean, 0, false);
	sw_buf text;
	sw_buf_init(&text, NULL);
	int rc = round_trip(&clean.mem, ctl.data, ctl.len, lim, &text);
	if (rc == SW_ERR_NOMEM)
		sw_fuzz_fail("bencode: SW_ERR_NOMEM without an injected failure\n");
	sw_buf_fini(&text);
	sw_fuzz_mem_check_leaks(&clean, "bencode clean run");

	size_t fail_at = sw_fuzz_pick_failure(&ctl, clean.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at != 0) {
		/* The fault-free result again, for the "absorbed" comparison. */
		sw_buf want;
		sw_buf_init(&want, NULL);
		int want_rc = round_trip(NULL, ctl.data, ctl.len, lim, &want);

		sw_failmem fm;
		sw_failmem_init(&fm, fail_at, ctl.fault == SW_FUZZ_FAULT_PERSISTENT);
		sw_buf_init(&text, NULL);
		int frc = round_trip(&fm.mem, ctl.data, ctl.len, lim, &text);
		bool absorbed = frc == want_rc && text.len == want.len &&
		                (want.len == 0 || memcmp(text.data, want.data, want.len) == 0);
		sw_buf_fini(&text);
		sw_buf_fini(&want);
		sw_fuzz_mem_check_leaks(&fm, "bencode with an allocation failure");
		sw_fuzz_mem_check_report(&fm, frc, absorbed, "bencode");
	}
	return 0;
}
