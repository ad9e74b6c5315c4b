/*
 * Connections as conversations: each request paired with its answer.
 *
 * The conversation layer takes what the reassembler reports of each
 * connection (capture/reasm.h: its opening, each direction's bytes and
 * gaps, their ends, its closing), decodes each direction into messages
 * (capture/flow.h) and pairs them.  sw_convo_reasm_callbacks() plugs it
 * straight into a reassembler; a recording directory (capture/capture.c)
 * calls the same entry points itself.  Sans-I/O: what it finds goes to a
 * sink (the report writer, a test, the fuzz target).
 *
 * Pairing.  The protocol is strictly request-response, and a client may
 * pipeline: the k-th request of a connection is answered by the k-th
 * response.  That rule alone breaks as soon as a message is lost, so the
 * capture times arbitrate (a server cannot answer a request before its
 * first byte was sent):
 *   - a response pairs with the oldest unanswered request whose first byte
 *     was captured no later than the response's first byte;
 *   - if the oldest unanswered request started after the response, or no
 *     request can still appear before it, the response's request was not
 *     captured (a gap, or a connection captured mid-way): the exchange has
 *     no request;
 *   - when the responses lost the thread (a gap or error in the responses,
 *     or mid-way capture), the first response found again (after_skip)
 *     pairs with the newest request that started before it (once every such
 *     request is known), and the older unanswered requests are reported as
 *     having lost their answer;
 *   - requests still unanswered when the responses end have no answer, or
 *     lost it if the responses had lost the thread at their end.
 * Each rule looks at the streams and their capture times only, never at
 * when a message happened to be decoded, so the pairing does not depend on
 * how the bytes were segmented.
 * On clean traffic this is exactly the k-th/k-th rule.  A recording
 * without timings (all times 0) pairs by order alone.
 *
 * Exchanges are emitted in pairing order as soon as both sides are known,
 * so memory holds only the messages waiting for their partner.
 */
#ifndef SW_CAPTURE_CONVO_H
#define SW_CAPTURE_CONVO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/flow.h"
#include "capture/reasm.h"
#include "smartwire/mem.h"

/* Why an exchange lacks a side. */
typedef enum sw_exchange_note {
	SW_NOTE_NONE = 0,
	SW_NOTE_NO_REQUEST = 1,  /* the request was not captured (gap, mid-way capture) */
	SW_NOTE_ANSWER_LOST = 2, /* responses lost the thread; this answer is among the lost */
	SW_NOTE_NO_ANSWER = 3    /* the responses ended without one */
} sw_exchange_note;

/* One request and its answer; either may be NULL (see `note`).  Valid
 * during the sink's call only. */
typedef struct sw_exchange {
	unsigned index; /* 1, 2, ... within the connection */
	const sw_flow_msg *request;
	const sw_flow_msg *response;
	sw_exchange_note note;
} sw_exchange;

/* What a connection showed, for the sink's on_close. */
typedef struct sw_convo_summary {
	unsigned exchanges;
	unsigned requests, responses;
	unsigned errors;     /* messages with a framing error (not counting truncation) */
	unsigned truncated;  /* messages cut by a gap or by the end of their stream */
	unsigned no_request; /* exchanges without a request */
	unsigned no_answer;  /* exchanges without an answer (lost or never sent) */
	uint64_t skipped[2]; /* bytes passed over per direction (sw_dir) */
	bool undecodable[2]; /* a direction ended while searching for a marker */
} sw_convo_summary;

/* The sink.  Every callback may be NULL; non-zero stops everything (sticky,
 * returned by the call that triggered it). */
typedef struct sw_convo_sink {
	int (*on_open)(void *ud, const sw_tcp_conn *c);
	int (*on_exchange)(void *ud, const sw_tcp_conn *c, const sw_exchange *x);
	int (*on_gap)(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
	              sw_gap_cause why, int64_t ts_ns);
	int (*on_skip)(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
	               sw_skip_why why, bool at_end);
	int (*on_close)(void *ud, const sw_tcp_conn *c, const sw_convo_summary *s);
	int (*on_limit)(void *ud, const sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg);
} sw_convo_sink;

typedef struct sw_convo sw_convo;

/* `max_message` as for sw_flow_new (0: default).  Returns 0 or
 * SW_ERR_NOMEM. */
int sw_convo_new(sw_convo **out, size_t max_message, const sw_convo_sink *sink, void *ud,
                 const sw_mem *mem);
/* Frees the layer and the state of every connection still open, without
 * touching the connections themselves (so it may come before or after
 * sw_reasm_del).  NULL is a no-op. */
void sw_convo_del(sw_convo *cv);

/* Reassembler callbacks feeding `cv` (ud = cv). */
sw_reasm_callbacks sw_convo_reasm_callbacks(void);

/* The entry points behind those callbacks, also for recordings.  `c->user`
 * belongs to the layer between open and close.  They return 0,
 * SW_ERR_NOMEM, or a sink's non-zero value (sticky). */
int sw_convo_open(sw_convo *cv, sw_tcp_conn *c);
int sw_convo_data(sw_convo *cv, sw_tcp_conn *c, sw_dir d, uint64_t off, const uint8_t *p, size_t n,
                  int64_t ts_ns);
int sw_convo_gap(sw_convo *cv, sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                 sw_gap_cause why, int64_t ts_ns);
int sw_convo_end(sw_convo *cv, sw_tcp_conn *c, sw_dir d);
int sw_convo_close(sw_convo *cv, sw_tcp_conn *c);
int sw_convo_limit(sw_convo *cv, sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg);

const char *sw_exchange_note_name(sw_exchange_note n);

#endif
