/*
 * Fuzz target: the length-prefixed v1/v2 body decoder
 * ("%d\n" body "done\n"), smartwire/body.h.
 * The checks and the input layout are those of the codec driver (codec.h)
 * and the control trailer (fdp.h).
 */
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sw_fuzz_prefixed_one(data, size);
}
