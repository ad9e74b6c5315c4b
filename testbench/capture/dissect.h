/*
 * The message decoder of `smartwire dissect`: one message of one direction
 * of a connection, as bytes in, a summary out (moved here from
 * tools/cmd_dissect.c so that the one-direction command, the capture reader
 * and the recording-directory reader share it).
 *
 * Each message's version is detected on its own (versions may be mixed on
 * a connection): a request exactly as a Breezy server detects it
 * (smartwire/detect.h); a response is v3 if it starts with the v3 marker,
 * v2 with the v2 response marker, v1 otherwise.
 *
 * Whether a v1/v2 message carries a body is not on the wire (the peers know
 * it from the verb).  Requests use Breezy's VFS verb table; responses and
 * unknown verbs look at what follows the tuple line: "chunked\n" (v2) or a
 * complete "<digits>\n<bytes>done\n".  Those looks ahead are why a decoder
 * of a stream that is still arriving needs `uncertain` (below): a decision
 * that saw the end of the input may change when more bytes come.
 *
 * JSON: byte strings are JSON strings whose code points are the byte values
 * (so "\u00e9" is the byte 0xe9), which keeps them lossless.
 */
#ifndef SW_CAPTURE_DISSECT_H
#define SW_CAPTURE_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smartwire/mem.h"
#include "smartwire/format.h"
#include "smartwire/sha256.h"

typedef enum sw_dis_kind {
	SW_DIS_REQUEST = 0, /* what a client sent */
	SW_DIS_RESPONSE = 1 /* what a server answered */
} sw_dis_kind;

typedef enum sw_dis_format {
	SW_DIS_TEXT = 0,  /* a readable summary per message */
	SW_DIS_TRACE = 1, /* the decoder's event trace (smartwire/format.h notation) */
	SW_DIS_JSON = 2   /* one JSON object per line */
} sw_dis_format;

/* One decoded message, filled by sw_dis_decode.  Every buffer allocates
 * through the sw_mem given to sw_dis_msg_init. */
typedef struct sw_dis_msg {
	bool keep_trace;   /* build `trace` (set by init; costs 4x the body size) */
	sw_buf trace;      /* event trace lines */
	sw_buf headers;    /* JSON object, empty if none */
	sw_buf args;       /* JSON array of the first structure / tuple */
	sw_buf error_args; /* JSON array: ERR chunks or a v3 error after the body */
	sw_buf verb;       /* raw bytes of the first element of the args, if a string */
	sw_buf
	    parts; /* v3: JSON array of the parts after the headers, e.g. "o:S", "s:23", "b:100" */
	uint64_t header_len; /* v3: length of the bencoded headers */
	int status;          /* -1 unknown, 1 success, 0 failed */
	bool have_args;
	bool in_body; /* v3: a bytes part was seen */
	bool body;    /* a body (possibly empty) was present */
	uint64_t body_len;
	size_t body_parts;
	sw_sha256 sha;
	int v3_error_status; /* v3: 'E' byte after the body started */
	bool nomem;          /* an allocation failed while filling the buffers */
	bool uncertain;      /* a version or body decision saw the end of the input */
	bool marker_only;    /* a request of a v2/v3 marker and nothing else */
} sw_dis_msg;

/* Prepares an empty message (allocates nothing). */
void sw_dis_msg_init(sw_dis_msg *m, const sw_mem *mem, bool keep_trace);
/* Frees the buffers; `m` may be initialised again. */
void sw_dis_msg_fini(sw_dis_msg *m);

/* Decodes the message starting at in[0..len) into `m` (fresh from init).
 * `per_byte` feeds the decoders one byte at a time (used to find error
 * offsets).  *version receives the detected version (1, 2 or 3).
 * Returns the bytes the message takes (> 0), or a negative sw_err:
 * SW_ERR_UNEXPECTED_EOF when in[] ends inside the message, SW_ERR_NOMEM,
 * or the decoder's framing error (smartwire/v3.h, v12.h).  When it returns
 * > 0 with m->uncertain set, the message may decode differently once more
 * bytes follow in[]: a caller still receiving should wait. */
ptrdiff_t sw_dis_decode(sw_dis_kind kind, const uint8_t *in, size_t len, sw_dis_msg *m,
                        int *version, bool per_byte, const sw_mem *mem);

/* For a message whose sw_dis_decode failed with an error other than
 * SW_ERR_UNEXPECTED_EOF (or SW_ERR_NOMEM): the offset of its first bad byte
 * in in[0..len), and in *version the version decoded at that point.  Every
 * decoder consumes up to the bad byte and stops there, so this is the
 * shortest prefix that fails.  Returns SW_ERR_NOMEM (negative) if the
 * search could not allocate. */
ptrdiff_t sw_dis_error_offset(sw_dis_kind kind, const uint8_t *in, size_t len, int *version,
                              const sw_mem *mem);

/* The one-direction dissector of `smartwire dissect [--direction D]`:
 * prints every message of in[0..len) in `fmt` to `out`, stopping at the
 * first malformed one (reported with the exact offset of its first bad
 * byte).  Returns 0 when every byte decoded into complete messages, 1 when
 * the input is malformed, SW_ERR_NOMEM when out of memory. */
int sw_dis_stream(FILE *out, sw_dis_kind kind, sw_dis_format fmt, const uint8_t *in, size_t len);

#endif
