/*
 * Internal state of the server connection core (smartwire/server.h), shared
 * by server_conn.c (lifecycle, feed, output), server_v12.c (v1/v2 requests),
 * server_v3.c (v3 conventional requests), server_respond.c (response
 * encoding and body pulling) and server_span.c (zero-copy spans and sinks).
 * Not installed.
 */
#ifndef SMARTWIRE_SERVER_IMPL_H
#define SMARTWIRE_SERVER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/detect.h"
#include "smartwire/server.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

/* Connection states. */
enum { CS_IDLE, CS_DETECT, CS_V12, CS_V3 };

/* Handler states of the current request. */
enum {
	HS_NONE,     /* no handler (not begun, unknown verb, bad args) */
	HS_BODY,     /* begin said WANT_BODY; body/end pending */
	HS_ANSWERED  /* the handler responded */
};

/* Response states of the current request. */
enum {
	RS_NONE,        /* nothing queued yet */
	RS_BODY_KNOWN,  /* head queued, body_left bytes to pull */
	RS_BODY_STREAM, /* head queued, streaming */
	RS_DONE         /* complete */
};

/* v3 conventional grammar (message.py ConventionalRequestHandler.expecting). */
enum { EX_ARGS, EX_BODY, EX_ERROR, EX_END, EX_NOTHING };

struct sw_srv_req {
	struct sw_srv_conn *conn;
	int version;
	bool decoded;     /* the request message was read to its end */
	bool in_handler;  /* inside begin/body/end: respond is allowed */
	bool in_read;     /* inside read_body of a stream: stream_error allowed */
	int hstate;
	int rstate;
	uint64_t body_left;
	uint64_t body_seen; /* request body bytes (v3 limit) */
	void *ctx;
	/* v3 */
	int expecting;
	bool client_aborted;
	bool stage_part;  /* staging an unexpected bytes part for its repr */
	bool part_cut;    /* the staged part exceeded SW_SRV_REPR_MAX */
	uint64_t part_left; /* bytes of the current v3 body part still to come */
	/* Zero-copy output of a known-length body (server_span.c). */
	bool span_no;   /* the handler said 0: pull this body */
	bool have_span; /* span is the driver's to send */
	bool sink_failed; /* a sink failed: the rest of the body is fed */
	sw_srv_span span;
};

struct sw_srv_conn {
	sw_srv_config cfg;
	sw_dispatch d;
	void *ud;
	const sw_mem *mem;
	int state;
	sw_detect det;
	sw_v12_dec *v12[2];  /* v1, v2 */
	sw_v3_dec *v3;
	sw_buf part;         /* staged unexpected bytes part */
	struct sw_srv_req req;
	sw_buf out;
	size_t out_off;
	uint8_t *scratch;    /* stream_chunk bytes for streamed bodies */
	/* The v3 response preamble (marker + default headers), encoded once
	 * per connection; 0: not yet. */
	uint8_t v3pre[64];
	uint8_t v3pre_len;
	int error;           /* sticky */
	int cb_error;        /* error raised inside a decoder callback */
	bool closing;        /* no more input; close once the response is done */
	bool eof;
	uint64_t nreq;
	/* Zero-copy (server_span.c). */
	unsigned zc;    /* SW_SRV_ZC_* the driver can do */
	bool sink_open; /* `sink` is the driver's to fill */
	bool skip_body; /* body bytes being fed went to the sink already */
	sw_srv_span sink;
};

/* server_conn.c */
int sw__srv_fatal(struct sw_srv_conn *c, int err);
/* Stops reading; a response already started is completed first. */
int sw__srv_close_after(struct sw_srv_conn *c, int err);
void sw__srv_abort_handler(struct sw_srv_conn *c);
void sw__srv_maybe_finish(struct sw_srv_conn *c);
int sw__srv_begin(struct sw_srv_conn *c, const sw_slice *args, size_t nargs);
int sw__srv_body(struct sw_srv_conn *c, const uint8_t *p, size_t n);
int sw__srv_end(struct sw_srv_conn *c);

/* server_respond.c */
int sw__srv_pump(struct sw_srv_conn *c);
/* Queues the end of the body (trailer or 'e') and finishes the response. */
int sw__srv_finish_body(struct sw_srv_conn *c);

/* server_span.c */
/* A known-length body: true when its next bytes are a span for the driver
 * (asked of the handler if need be; a handler failure closes), false when
 * they are to be pulled. */
bool sw__srv_span_ready(struct sw_srv_conn *c);
/* Queues an error answer ("error", "Generic bzr smart protocol error: "
 * + text) for the current request, if nothing was answered yet. */
int sw__srv_answer_generic(struct sw_srv_conn *c, const char *text, size_t len);
/* Queues a failed response with arbitrary args (v3 oE). */
int sw__srv_answer_failed(struct sw_srv_conn *c, const sw_slice *args, size_t nargs);
int sw__srv_answer_unknown(struct sw_srv_conn *c, const sw_slice *verb);

/* server_v12.c */
int sw__srv_v12_start(struct sw_srv_conn *c, int version);
ptrdiff_t sw__srv_v12_feed(struct sw_srv_conn *c, const uint8_t *in, size_t len);

/* server_v3.c */
int sw__srv_v3_start(struct sw_srv_conn *c);
ptrdiff_t sw__srv_v3_feed(struct sw_srv_conn *c, const uint8_t *in, size_t len);
void sw__srv_v3_free(struct sw_srv_conn *c);
/* Python repr() of a bdecode_as_tuple value, appended to out. */
int sw__srv_repr_bval(sw_buf *out, const sw_bval *v);

#endif
