/*
 * smartwire: the texts of Python 3 that Breezy puts on the wire.
 *
 * Breezy's error tuples embed what CPython prints: the repr() of a bytes or
 * str value (InvalidURLJoin, ValueError, "Bytes b'..' not bencoded"), the
 * class name of an OSError, and the verdict of int() on a length or an
 * offset.  Byte-exactness means reproducing them, so they are written once
 * here and checked against CPython in tests/base/test_pytext.c.
 */
#ifndef SMARTWIRE_PYTEXT_H
#define SMARTWIRE_PYTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- repr() ---------------------------------------------------------------
 * Each appends to `out` and returns 0 or SW_ERR_NOMEM (what was appended
 * before the failure stays; callers discard the buffer).  The quote is
 * CPython's: single quotes unless the value holds a ' and no ". */

/* repr(bytes): b'...' with \t \n \r \\ \' escaped and every other byte
 * outside 0x20..0x7e as \xhh. */
SW_API int sw_py_repr_bytes(sw_buf *out, const uint8_t *p, size_t n);

/* repr(str) of `p` decoded as UTF-8 with surrogateescape (how Breezy turns
 * a path into text): '...' with non-printable code points escaped as
 * \xhh, \uhhhh or \Uhhhhhhhh and undecodable bytes as \udcXX.
 * str.isprintable() is approximated: exact for ASCII, Latin-1 and the
 * common separator, format and private-use blocks. */
SW_API int sw_py_repr_str(sw_buf *out, const uint8_t *p, size_t n);

/* repr() of a tuple of bytes: (b'a', b'b'), (b'a',) and (). */
SW_API int sw_py_repr_tuple(sw_buf *out, const sw_slice *items, size_t n);

/* ---- int(bytes, base) -----------------------------------------------------
 *
 * Breezy parses body lengths with int(line), chunk lengths with
 * int(line, 16) and readv offsets with int(field).  For a bytes argument,
 * Python 3.11 accepts, and so does this function:
 *   - leading and trailing ASCII whitespace: space, \t, \n, \v, \f, \r
 *     (not 0x1c-0x1f, not 0x85 or 0xa0);
 *   - one optional sign, '+' or '-', directly before the digits (or prefix);
 *   - for base 16 an optional "0x" or "0X" prefix (base 8: "0o"/"0O", base 2:
 *     "0b"/"0B"), which may be followed by one underscore;
 *   - at least one digit; single underscores between digits ("1_000");
 *     leading zeros ("007");
 *   - upper- or lower-case hex digits.
 * Rejected, as by Python: empty or all-space input, "_1", "1_", "1__0",
 * "+ 1", "0x" alone, any other byte.  "-0" is zero and not negative.
 *
 * `base` must be 2, 8, 10 or 16.  On success *negative says whether a minus
 * sign applied to a non-zero value and *magnitude is the absolute value.
 * Python's limit of 4300 decimal digits is not replicated: callers bound the
 * input length themselves.
 *
 * Returns 0, SW_ERR_INVALID_ARGUMENT for a syntax error (or a bad `base`),
 * or SW_ERR_LIMIT when the magnitude does not fit in 64 bits. */
SW_API int sw_py_int(const uint8_t *p, size_t n, unsigned base, bool *negative,
                     uint64_t *magnitude);

/* int(bytes) in base 10 into an int64_t: 0, 1 for a syntax error
 * ("invalid literal for int() with base 10"), 2 when the value does not fit
 * in 64 bits (Python would succeed; callers report a limit). */
SW_API int sw_py_int64(const uint8_t *p, size_t n, int64_t *v);

/* ---- OSError ------------------------------------------------------------ */

/* The class CPython raises for errno `e` (FileNotFoundError,
 * PermissionError, ...; "OSError" for the others).  Static string. */
SW_API const char *sw_py_oserror_class(int e);

#ifdef __cplusplus
}
#endif
#endif
