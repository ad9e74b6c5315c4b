/*
 * Fuzz target: the v1/v2 message decoder on the client side (responses),
 * smartwire/v12.h; version, body mode and marker handling come from the
 * trailer's variant byte (codec_v12.c).
 * The checks and the input layout are those of the codec driver (codec.h)
 * and the control trailer (fdp.h).
 */
#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return sw_fuzz_v12_one(true, data, size);
}
