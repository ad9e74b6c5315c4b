/*
 * The calls fuzz_client_session makes on a client, each written down as
 * trace lines: result code, response version and args, body bytes (or
 * streamed parts), error tuple.  Bodies streamed in pieces are joined per
 * part, so a trace does not depend on how the server's bytes were cut.
 * A broken contract of the client API (a positive result, a response
 * without success, a body read that leaves the response unfinished, a
 * response in another version than the one forced) ends the process
 * through sw_fuzz_fail (fdp.h).
 */
#ifndef SW_FUZZ_CLIENT_CALLS_H
#define SW_FUZZ_CLIENT_CALLS_H

#include "smartwire/client.h"
#include "smartwire/mem.h"

/* Makes one call of kind `kind` (0-7) on `c` and appends its outcome to
 * `t` (libc memory):
 *   0 hello, 1 call (no body), 2 call expecting a body + read_body,
 *   3 call expecting a body + read_streamed_body, 4 call_simple (body
 *   cancelled), 5 call with body bytes, 6 readv call + read_body,
 *   7 streamed request body + cancel_read_body.
 * `forced` is the protocol version the client was forced to (1-3), or 0
 * when it negotiates. */
void sw_fuzz_client_call(sw_client *c, unsigned kind, int forced, sw_buf *t);

#endif
