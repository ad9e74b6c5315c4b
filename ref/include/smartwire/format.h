/*
 * smartwire: the trace notation shared by tests, the dissector and reports.
 *
 * A decoder's output is written as an *event trace*: one event per line,
 * "\n"-terminated.  The same notation is produced from Breezy's decoders by
 * the generator scripts under tests/vectors/, so a vector's expected trace is
 * Breezy's reading of the bytes and our trace must equal it byte for byte.
 *
 * Byte strings are written in double quotes.  Bytes 0x20..0x7e other than
 * '"' and '\\' stand for themselves; '"' is \", '\\' is \\, and every other
 * byte is \xNN with two lower-case hex digits.  Tuples and lists are
 * `[a, b]`, dicts `{k: v}`, integers decimal.  Events:
 *
 *   v3 (both directions)           v1/v2
 *   headers {..}                   status success | status failed   (v2 responses)
 *   byte "S"                       args ["get", "/x"]
 *   structure [..]                 body "..."      (a length-prefixed body, joined)
 *   bytes "..."   (one part,       chunk "..."     (one chunk of a chunked body)
 *                  joined)         error-chunks ["a", "b"]  (chunks after ERR)
 *   end                            end
 *   excess "..."  (bytes after the end of the message, if any)
 *   error         (decoding failed; unit tests check the exact code)
 *
 * The pack container (pack.h) has its own two events, one record per line
 * with its names (each a tuple of elements) and its body joined, then the
 * end marker:
 *   record [["name", "parts"], ["other"]] "body bytes"
 *   end           (the 'E' record)
 * followed by excess / error as above.
 */
#ifndef SMARTWIRE_FORMAT_H
#define SMARTWIRE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends `"..."`: `n` bytes at `p` in the quoted, escaped notation above.
 * Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_format_bytes(sw_buf *out, const void *p, size_t n);

/* Appends a tuple of byte strings as `["a", "b"]`.  Returns 0 or
 * SW_ERR_NOMEM; on error `out` may hold a partial tuple past its original
 * length. */
SW_API int sw_format_tuple(sw_buf *out, const sw_slice *items, size_t n);

/* Appends a JSON string holding `n` bytes at `p` losslessly: each byte is the
 * code point of the same value (printable ASCII as itself, `"` and `\`
 * escaped, every other byte as \u00XX), so "\u00e9" is the byte 0xe9.  The
 * JSON output of `smartwire dissect` and `smartwire call`.  Returns 0 or
 * SW_ERR_NOMEM (a partial string may remain past out's original length). */
SW_API int sw_format_json_bytes(sw_buf *out, const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
