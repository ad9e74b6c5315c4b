/*
 * Internal state of the sans-I/O client core (smartwire/client_conn.h),
 * shared by its files.  Not installed.
 *
 * The files depend on each other in one direction only:
 *
 *   client.c        the blocking driver (smartwire/client.h): the public
 *                   API of the core, plus sw__cli_record for its own errors
 *   cli_conn.c      life cycle, accessors, the driver-facing calls (want,
 *                   feed, eof, fail, connected, closed)
 *   cli_ops.c       the operations: starting them, the request output, and
 *                   what ends them (negotiation v3 -> v2, the retries)
 *   cli_request.c   request encoding and the verb registry
 *   cli_response.c  response decoding (v3 conventional handler, v1/v2)
 *   cli_error.c     the error record and Breezy's exception texts
 *
 * Each file uses only the ones below it in this list.
 */
#ifndef SMARTWIRE_CLI_IMPL_H
#define SMARTWIRE_CLI_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/client_conn.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

typedef enum cli_op { OP_NONE = 0, OP_CALL, OP_HELLO, OP_BODY, OP_STREAM, OP_CANCEL } cli_op;

/* Where the operation is: sending the request, reading the response. */
typedef enum cli_phase { PH_IDLE = 0, PH_SEND, PH_READ } cli_phase;

/* A request body stream: being pulled, ended (its "e" queued), or aborted
 * (the abort message queued). */
typedef enum cli_stream { ST_NONE = 0, ST_PULL, ST_END, ST_ABORT } cli_stream;

/* What is being read, after Breezy's response handler methods:
 * read_response_tuple, read_body_bytes, read_streamed_body,
 * cancel_read_body.  The first stops after the args when a body is expected;
 * body bytes go nowhere (TUPLE after the args, CANCEL), to a buffer (BODY)
 * or to callbacks (STREAM). */
typedef enum cli_read { RD_TUPLE = 0, RD_BODY, RD_STREAM, RD_CANCEL } cli_read;

/* The response of the current request (Breezy's response handler). */
typedef struct cli_resp {
	int version; /* 0: none */
	bool expect_body;
	bool open; /* its body is due: Breezy's _current_request is set */
	bool lost; /* the connection it was on went away */
	bool success;
	bool have_args;
	bool body_read; /* a body read completed */
	sw_slice *args; /* one allocation: slices, then the bytes */
	size_t nargs;
	sw_slice verb; /* v1/v2 unknown-method check (points into the call) */
	/* v3 conventional handler (message.ConventionalResponseHandler). */
	uint8_t status; /* 0, 'S' or 'E' */
	bool body_started;
	uint8_t stream_status; /* status byte after the body started */
	bool have_error_args;  /* error args of a stream are in the record */
	uint8_t head[28];      /* first response bytes, for the bad-marker text */
	size_t headn;
	/* Reading. */
	cli_read read;
	sw_buf *sink_buf;
	const sw_body_callbacks *sink_cb;
	void *sink_ud;
	int handler_err; /* the error behind an SW_ERR_CALLBACK of a decoder */
	bool ended;      /* the read stopped (goal reached or failed) */
	int rc;          /* its result */
} cli_resp;

struct sw_cli_conn {
	const sw_mem *mem;
	sw_client_config cfg; /* headers point at hdr_kv */
	sw_slice *hdr_kv;
	bool connected;
	bool want_close;
	/* What the core knows about the server. */
	int version;
	bool before_set;
	int before_major, before_minor;
	bool done_hello;
	int hello_version;
	int hello_err;
	sw_buf hello_msg;
	/* The operation. */
	cli_op op;
	cli_phase phase;
	int result;
	bool call_ok; /* the last call succeeded: its args can be read */
	const sw_call *call;
	int attempt; /* the protocol version being tried */
	bool negotiating;
	bool write_retry_ok; /* Breezy _send: one resend after a reset while writing */
	bool read_retry_ok;  /* Breezy _call: one resend after a reset while reading */
	bool stream_started; /* the body stream was pulled: no more resend */
	cli_stream stream;
	sw_buf last_text; /* negotiation: the bad-marker text of the last attempt */
	/* Output: out[out_off..len) still to write. */
	sw_buf out;
	size_t out_off;
	/* Input. */
	cli_resp resp;
	unsigned serial; /* counts responses begun (the driver's handles) */
	sw_v3_dec *v3;
	sw_v12_dec *v12[2]; /* v1, v2 */
	/* The error record. */
	int last_err;
	int last_errno;
	sw_buf msg;      /* NUL-terminated text */
	sw_slice *eargs; /* one allocation like cli_resp.args */
	size_t neargs;
	sw_client_stats stats;
};

/* ---- cli_error.c ---- */

/* Breezy's ConnectionReset texts for an end of stream inside a message, a
 * length-prefixed body, a chunked body. */
extern const char sw__cli_eof_text[];
extern const char sw__cli_eof_body_text[];
extern const char sw__cli_eof_stream_text[];

void sw__cli_clear_error(sw_cli_conn *c);
/* Records err with a copy of text (and sys_errno 0); returns err. */
int sw__cli_record(sw_cli_conn *c, int err, const char *text);
/* The blocking driver's own failures (a connect it made on its own, a call
 * in the wrong runstate): err with ei's text and errno (ei NULL or its text
 * empty: sw_strerror); returns err. */
int sw__cli_record_ei(sw_cli_conn *c, int err, const sw_errinfo *ei);
/* Records err with sw_strerror(err), unless the record already holds err
 * with a text (set by whoever found it); returns err. */
int sw__cli_record_code(sw_cli_conn *c, int err);
/* Records err with "<prefix><repr(p)>"; returns err. */
int sw__cli_record_repr(sw_cli_conn *c, int err, const char *prefix, const uint8_t *p, size_t n);
/* Breezy's "The server does not recognise the '<repr(verb)>' request."
 * for SW_ERR_UNKNOWN_METHOD, keeping the tuple in the record (v1/v2: the
 * "bad request" tuple); returns the code. */
int sw__cli_record_unknown(sw_cli_conn *c, const uint8_t *verb, size_t n);
/* A write that failed with SW_ERR_CONNECTION_RESET: Breezy's "Error trying
 * to write to socket" with the errno; returns err. */
int sw__cli_record_write_reset(sw_cli_conn *c, int err, int sys_errno);
/* A server error tuple: "Error received from smart server: <repr(tuple)>"
 * and the tuple kept, or for ("UnknownMethod", verb, ...) with
 * translate_unknown the unknown-method text.  Returns SW_ERR_ERROR_RESPONSE
 * or SW_ERR_UNKNOWN_METHOD, or SW_ERR_NOMEM (the tuple could not be kept). */
int sw__cli_record_server_error(sw_cli_conn *c, const sw_slice *a, size_t n,
                                bool translate_unknown);
/* Copies an error tuple into the record.  0 or SW_ERR_NOMEM. */
int sw__cli_set_error_args(sw_cli_conn *c, const sw_slice *a, size_t n);
/* Copies a tuple into one allocation: slices then bytes.  *out NULL for 0
 * elements.  0 or SW_ERR_NOMEM. */
int sw__cli_tuple_copy(const sw_mem *mem, const sw_slice *a, size_t n, sw_slice **out);
/* True for errors after which the stream position is unknown. */
bool sw__cli_err_desyncs(int err);

/* ---- cli_request.c ---- */

/* Encodes the request of `call` in `version` into c->out (replacing it);
 * for a body stream only the head, and c->stream is set to ST_PULL.
 * Returns 0, SW_ERR_UNKNOWN_METHOD (a stream over v1/v2, recorded),
 * SW_ERR_BAD_ARGUMENT_BYTE, SW_ERR_INVALID_ARGUMENT, SW_ERR_NOMEM. */
int sw__cli_encode_call(sw_cli_conn *c, const sw_call *call, int version);
/* Queues the next piece of the body stream: a chunk, the end, or the abort
 * when the producer fails (c->stream says which).  0, SW_ERR_INVALID_ARGUMENT
 * (a chunk over 4 GiB) or SW_ERR_NOMEM. */
int sw__cli_encode_stream_next(sw_cli_conn *c, const sw_call *call);
/* Breezy _is_safe_to_send_twice. */
bool sw__cli_safe_to_send_twice(const sw_cli_conn *c, const sw_call *call);

/* ---- cli_response.c ---- */

/* Starts reading the response of a request in `version`: the args, then the
 * whole message unless expect_body.  `verb` (v1/v2 unknown method) must
 * stay valid while reading.  0 or SW_ERR_NOMEM (a decoder). */
int sw__cli_resp_begin(sw_cli_conn *c, int version, sw_slice verb, bool expect_body);
/* Starts reading the body of the open response (RD_BODY into
 * resp.sink_buf, RD_STREAM to resp.sink_cb, RD_CANCEL: v3 only).  0 or an
 * error (recorded, the read ended). */
int sw__cli_resp_start_body(sw_cli_conn *c, cli_read read);
/* Feeds response bytes; returns the count consumed.  Sets resp.ended and
 * resp.rc when the read stops. */
size_t sw__cli_resp_feed(sw_cli_conn *c, const uint8_t *in, size_t len);
/* End of stream or a read error while reading; ends the read. */
void sw__cli_resp_fail(sw_cli_conn *c, int err);
void sw__cli_resp_eof(sw_cli_conn *c);
size_t sw__cli_resp_next_read_size(const sw_cli_conn *c);
/* The response is over: no body due any more. */
void sw__cli_resp_finish(sw_cli_conn *c);
/* Frees the args of the last response. */
void sw__cli_resp_clear(sw_cli_conn *c);

/* ---- cli_ops.c ---- */

/* The read ended (resp.ended): completes the operation, or goes on with
 * the next attempt (v2 after a bad v3 marker, a resend after a reset). */
void sw__cli_op_read_ended(sw_cli_conn *c);
/* The driver could not connect or write. */
void sw__cli_op_send_failed(sw_cli_conn *c, int err, const sw_errinfo *ei);
/* Ends the operation with `err` (recorded), closing the connection when the
 * stream position is unknown. */
void sw__cli_op_end(sw_cli_conn *c, int err);

#endif
