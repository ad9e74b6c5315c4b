/*
 * smartwire dissect: decoding one message of a captured byte stream
 * (dissect_decode.c) for the output of cmd_dissect.c.
 */
#ifndef SW_TOOLS_DISSECT_H
#define SW_TOOLS_DISSECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/mem.h"
#include "smartwire/sha256.h"

enum direction { DIR_REQUEST, DIR_RESPONSE };

/* One decoded message, filled by the decoder callbacks. */
struct msg {
	sw_buf trace;      /* event trace lines */
	sw_buf headers;    /* JSON object, empty if none */
	sw_buf args;       /* JSON array of the first structure / tuple */
	sw_buf error_args; /* JSON array: ERR chunks or a v3 error after the body */
	int status;        /* -1 unknown, 1 success, 0 failed */
	bool have_args;
	bool in_body; /* v3: a bytes part was seen */
	bool body;    /* a body (possibly empty) was present */
	uint64_t body_len;
	size_t body_parts;
	sw_sha256 sha;
	int v3_error_status; /* v3: 'E' byte after the body started */
};

void sw__dissect_msg_init(struct msg *m);
void sw__dissect_msg_free(struct msg *m);

/* Decodes one message starting at in[0..len) into *m (initialised), its
 * version detected the way Breezy's server detects requests (or, for
 * responses, from the marker); `per_byte` feeds the decoders one byte at a
 * time.  Returns the bytes the message used (> 0) or a negative sw_err;
 * *version receives the detected version. */
ptrdiff_t sw__dissect_one(enum direction dir, const uint8_t *in, size_t len, struct msg *m,
                          int *version, bool per_byte);

#endif
