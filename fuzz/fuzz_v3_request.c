/*
 * Fuzz target: the v3 framing decoder on the server side (no marker:
 * the medium consumed it while detecting the version), smartwire/v3.h.
 * The checks and the input layout are those of the codec driver (codec.h)
 * and the control trailer (fdp.h).
 */
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sw_fuzz_v3_one(false, data, size);
}
