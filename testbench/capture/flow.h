/*
 * One direction of a connection as a sequence of messages: stream bytes
 * (with their capture times) and gaps in, decoded messages and skipped
 * regions out.  Sans-I/O; the conversation layer (capture/convo.h) owns two
 * flows per connection.
 *
 * Decoding uses sw_dis_decode (capture/dissect.h) on the bytes not decoded
 * yet, so a message decodes exactly as `smartwire dissect` decodes it from a
 * file: a message is emitted once it is complete and no decision about it
 * (version, v1/v2 body) depended on bytes not received yet.  While a message
 * is incomplete its bytes are buffered; decoding is retried each time the
 * buffer doubled (so a message of n bytes costs O(n) however it was
 * segmented), when the other direction speaks (sw_flow_poke), and at a gap
 * or the end of the stream.  A message that needs more than `max_message`
 * bytes is reported as SW_ERR_MESSAGE_TOO_LARGE at that many bytes and
 * skipped, however it was segmented; no more than max_message bytes and
 * one piece are ever buffered.  The results never depend on how the bytes
 * were cut into pieces (fuzz/fuzz_capture.c checks it).
 *
 * Losing the thread.  After a gap, a framing error, an oversized message,
 * or from the start of a connection captured mid-way, the flow does not
 * know where the next message starts.  It then searches for a version
 * marker (v3 "bzr message 3 (bzr 1.6)\n" either way, v2 "bzr request 2\n"
 * in requests, "bzr response 2\n" in responses) and resumes decoding there;
 * the bytes passed over are reported as skipped (on_skip).  v1 messages
 * have no marker: a v1 stream that lost the thread stays undecodable to its
 * end, and the final on_skip says so (at_end).  After a framing error the
 * search starts just after the failed message's start, so that a message
 * cut short and followed by a new one is found; the failed message ends
 * where the next marker starts, or at its bad byte.
 */
#ifndef SW_CAPTURE_FLOW_H
#define SW_CAPTURE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/dissect.h"
#include "smartwire/mem.h"

#define SW_FLOW_DEFAULT_MAX_MESSAGE (64u * 1024u * 1024u)

/* A decoded (or failed) message.  Owned by whoever on_msg hands it to:
 * free it with sw_flow_msg_del. */
typedef struct sw_flow_msg {
	sw_dis_kind kind;
	unsigned index;        /* 1, 2, ... within the direction */
	uint64_t offset;       /* stream offset of its first byte */
	uint64_t length;       /* bytes it takes (for a failed one: up to the bad byte) */
	int version;           /* 1, 2 or 3 */
	int64_t first_ts_ns;   /* capture time of its first byte */
	int64_t last_ts_ns;    /* capture time of its last byte */
	sw_dis_msg m;          /* args, headers, status, body length and digest... */
	char body_sha256[65];  /* "" without a body */
	int error;             /* 0, or the sw_err that stopped it */
	uint64_t error_offset; /* stream offset of the first bad byte (or of the end) */
	bool truncated;        /* SW_ERR_UNEXPECTED_EOF: a gap or the end of the stream cut it */
	bool after_skip;       /* the first message after bytes the flow could not place */
} sw_flow_msg;

void sw_flow_msg_del(sw_flow_msg *msg, const sw_mem *mem);

typedef enum sw_skip_why {
	SW_SKIP_START = 0, /* the connection was captured mid-way */
	SW_SKIP_GAP = 1,   /* after bytes missing from the capture */
	SW_SKIP_ERROR = 2, /* after a framing error */
	SW_SKIP_LIMIT = 3  /* after a message over max_message */
} sw_skip_why;

/* "start", "gap", "error", "limit". */
const char *sw_skip_why_name(sw_skip_why w);

typedef struct sw_flow_callbacks {
	/* A message; ownership moves to the callee (also when it fails). */
	int (*on_msg)(void *ud, sw_flow_msg *msg);
	/* Bytes [off, off+len) not decoded, searched for a marker.  `at_end`:
	 * the stream ended before one was found (the rest is undecodable). */
	int (*on_skip)(void *ud, sw_dis_kind kind, uint64_t off, uint64_t len, sw_skip_why why,
	               bool at_end);
} sw_flow_callbacks;

typedef struct sw_flow sw_flow;

/* Creates a flow of `kind` messages in *out.  `lost` starts it searching
 * for a marker (a connection captured mid-way).  `max_message` 0 means the
 * default.  Returns 0 or SW_ERR_NOMEM. */
int sw_flow_new(sw_flow **out, sw_dis_kind kind, bool lost, size_t max_message,
                const sw_flow_callbacks *cb, void *ud, const sw_mem *mem);
void sw_flow_del(sw_flow *f);

/* n bytes at stream offset `off` (the end of what came before), captured at
 * ts_ns.  Returns 0, SW_ERR_NOMEM, SW_ERR_INVALID_ARGUMENT (not contiguous),
 * or a callback's non-zero value; errors are sticky. */
int sw_flow_data(sw_flow *f, uint64_t off, const uint8_t *p, size_t n, int64_t ts_ns);

/* len bytes at `off` that the capture does not have: the message in
 * progress is decoded as far as it goes (and reported truncated), then the
 * flow searches for a marker after the gap.  Same returns. */
int sw_flow_gap(sw_flow *f, uint64_t off, uint64_t len);

/* The end of the stream: everything buffered is decoded for good.  Same
 * returns.  Nothing may be fed afterwards. */
int sw_flow_end(sw_flow *f);

/* Retries decoding now if bytes came since the last attempt (which the
 * doubling rule may have deferred).  The conversation layer calls it when
 * the other direction speaks: in a request-response protocol that is when
 * a message here has usually just been completed.  Same returns as
 * sw_flow_data. */
int sw_flow_poke(sw_flow *f);

/* The capture time of the first byte received but not decoded into a
 * message yet, or INT64_MAX when there is none.  The pairing uses it to
 * know whether a request may still appear before a given time. */
int64_t sw_flow_pending_ts(const sw_flow *f);

/* True if the flow lost the thread after its last message: it is
 * searching for a marker, or found one and has not emitted the message
 * there yet (that message will have after_skip). */
bool sw_flow_lost(const sw_flow *f);

/* True once sw_flow_end was called. */
bool sw_flow_ended(const sw_flow *f);

#endif
