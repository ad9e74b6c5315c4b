/*
 * smartwire: the v1/v2 argument tuple line ("args").
 *
 * Protocols v1 and v2 carry a request's or response's arguments as one line:
 * the arguments joined by the byte 0x01 and terminated by "\n" (Breezy's
 * protocol._encode_tuple/_decode_tuple).  There is no escaping, so an argument
 * can contain neither 0x01 nor "\n".  The empty tuple and the tuple ("",)
 * both encode as the line "\n", which decodes as ("",): a line always has at
 * least one element.
 *
 * Both functions are pure: no allocation, no state.
 */
#ifndef SMARTWIRE_TUPLE_H
#define SMARTWIRE_TUPLE_H

#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The separator between arguments and the line terminator. */
#define SW_TUPLE_SEP 0x01
#define SW_TUPLE_EOL 0x0a

/* Appends the line for `args[0..n)` to `out`: the arguments joined by 0x01,
 * then "\n".  `args` may be NULL when `n` is 0 (the line is then "\n").
 *
 * Returns 0, SW_ERR_BAD_ARGUMENT_BYTE if an argument contains 0x01 or "\n"
 * (Breezy would send such a tuple and corrupt the stream; we refuse), or
 * SW_ERR_NOMEM.  On any error `out` is left exactly as it was. */
SW_API int sw_tuple_encode(sw_buf *out, const sw_slice *args, size_t n);

/* Splits one complete line `line[0..len)`, which must end with "\n", into
 * its elements, exactly as Breezy's _decode_tuple: the final "\n" is dropped
 * and the rest is split on every 0x01.  Any earlier "\n" inside the line is
 * kept as part of an element, as Breezy does.  The slices written to
 * `out[0..)` point into `line` (no copy) and stay valid as long as `line`.
 *
 * `out` may be NULL to only count the elements.  At most `max_args` slices
 * are written.
 *
 * Returns the number of elements (>= 1), SW_ERR_TOO_MANY_ARGS if there are
 * more than `max_args`, or SW_ERR_UNEXPECTED_EOF if `len` is 0 or the line
 * does not end with "\n" (Breezy: None for end of file, SmartProtocolError
 * "request ... not terminated" for a partial line; both happen only when the
 * stream ends inside a line). */
SW_API ptrdiff_t sw_tuple_decode(const uint8_t *line, size_t len, sw_slice *out, size_t max_args);

#ifdef __cplusplus
}
#endif
#endif
