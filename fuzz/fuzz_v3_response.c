/*
 * Fuzz target: the v3 framing decoder on the client side (the message
 * starts with the "bzr message 3 (bzr 1.6)\n" marker), smartwire/v3.h.
 * The checks and the input layout are those of the codec driver (codec.h)
 * and the control trailer (fdp.h).
 */
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sw_fuzz_v3_one(true, data, size);
}
