/*
 * Fuzz target: the chunked v2 body decoder ("chunked\n" ... "END\n"),
 * smartwire/body.h.
 * The checks and the input layout are those of the codec driver (codec.h)
 * and the control trailer (fdp.h).
 */
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sw_fuzz_chunked_one(data, size);
}
