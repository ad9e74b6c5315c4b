/*
 * Internal state shared by the client session files (client_request.c,
 * client_call.c, client_response.c, client_negotiate.c).  Not installed.
 */
#ifndef SMARTWIRE_CLIENT_IMPL_H
#define SMARTWIRE_CLIENT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/body.h"
#include "smartwire/client.h"
#include "smartwire/v3.h"

struct sw_client_request {
	sw_client *c;
	sw_client_request_state state;
};

/* What the v3 / v1 / v2 response readers are doing with body bytes. */
typedef enum sink_kind {
	SINK_DISCARD = 0, /* reading to the end (cancel, expect_body false) */
	SINK_BUF,         /* read_body: append to a sw_buf */
	SINK_CB           /* read_streamed_body: user callbacks */
} sink_kind;

struct sw_response {
	sw_client *c;
	sw_client_request *req; /* owned */
	int version;
	bool success;
	bool expect_body;
	bool finished;    /* the request reached "done" */
	bool body_read;   /* a body read completed */
	sw_slice *args;   /* one allocation: slices, then the bytes */
	size_t nargs;
	/* v1/v2: the verb, for the unknown-method check. */
	sw_slice verb;
	uint8_t *verb_store;
	/* v3 conventional handler (message.ConventionalResponseHandler). */
	uint8_t status;          /* 0, 'S' or 'E' */
	bool have_args;
	bool body_started;
	uint8_t stream_status;   /* status byte after the body started */
	bool have_error_args;
	int handler_err;         /* the code behind an SW_ERR_CALLBACK from the decoder */
	uint8_t head[28];        /* first response bytes, for the bad-marker text */
	size_t headn;
	/* Body destination. */
	sink_kind sink;
	sw_buf *sink_buf;
	const sw_body_callbacks *sink_cb;
	void *sink_ud;
};

struct sw_client {
	const sw_mem *mem;
	sw_client_config cfg; /* headers point at hdr_kv */
	sw_slice *hdr_kv;
	sw_client_connect_fn connect;
	void *connect_ud;
	sw_client_runstate state;
	sw_medium *medium;
	sw_client_request *current;
	/* Bytes read from the medium and not consumed yet (Breezy's push-back
	 * buffer): in[in_off, in_off + in_len). */
	uint8_t *in;
	size_t in_off, in_len, in_cap;
	int version;
	bool before_set;
	int before_major, before_minor;
	bool done_hello;
	int hello_version;
	int hello_err;
	sw_buf hello_msg; /* the cached error's text */
	/* Last error. */
	int last_err;
	sw_buf msg;      /* NUL-terminated text */
	sw_slice *eargs; /* one allocation like sw_response.args */
	size_t neargs;
	/* Decoders, created on first use and reused. */
	sw_v3_dec *v3;
	sw_prefixed_dec *pre;
	sw_chunked_dec *chk;
	sw_response *dec_resp; /* target of the decoder callbacks */
	sw_buf out;            /* request encoding scratch */
	sw_client_stats stats;
};

/* ---- client_request.c ---- */

/* Ensures a connection (IDLE -> RUNNING).  0 or the connect error. */
int sw__client_ensure_connected(sw_client *c);
/* Makes c->in_len > 0 by reading the medium, waiting at most the timeout.
 * Returns > 0, 0 at end of stream, or a negative error.  Does not record an
 * error. */
ptrdiff_t sw__client_fill(sw_client *c);
/* Drops n buffered bytes. */
void sw__client_consume(sw_client *c, size_t n);
/* Checks that r may read: 0, WRITING_NOT_COMPLETE, READING_COMPLETED,
 * CLOSED. */
int sw__request_check_read(const sw_client_request *r);
/* Records err with text (NUL-terminated copy); returns err. */
int sw__client_fail(sw_client *c, int err, const char *text);
/* Records err with sw_strerror text unless a text was set for it already
 * during this operation; returns err. */
int sw__client_fail_code(sw_client *c, int err);
void sw__client_clear_error(sw_client *c);
/* Copies an error tuple into the client (sw_client_error_args).  0 or NOMEM. */
int sw__client_set_error_args(sw_client *c, const sw_slice *a, size_t n);
/* Breezy's ConnectionReset text for an end of stream inside a message. */
const char *sw__client_eof_text(void);
/* True for errors after which the stream position is unknown. */
bool sw__err_desyncs(int err);

/* Copies a tuple into one allocation: slices then bytes.  *out NULL for 0
 * elements.  0 or NOMEM. */
int sw__tuple_copy(const sw_mem *mem, const sw_slice *a, size_t n, sw_slice **out);

/* ---- client_response.c ---- */

/* Creates a response for request `req` (ownership of req moves on success
 * only). */
int sw__response_new(sw_client *c, sw_client_request *req, int version, const sw_slice *verb,
                     bool expect_body, sw_response **out);
/* Breezy read_response_tuple(expect_body). */
int sw__response_read_tuple(sw_response *r);
/* Shared by the v3 and v1/v2 readers: finish the request; fail (resetting
 * the connection when the stream position is unknown) with the recorded or a
 * given text; report a server error tuple; route body bytes to the sink.
 * handler_error records an error from inside a decoder callback and returns
 * 1 (abort the feed). */
void sw__resp_finish(sw_response *r);
int sw__resp_fail(sw_response *r, int err);
int sw__resp_fail_text(sw_response *r, int err, const char *text);
int sw__resp_fail_repr(sw_response *r, int err, const char *prefix, const uint8_t *p, size_t n);
int sw__resp_server_error(sw_response *r, const sw_slice *a, size_t n, bool translate_unknown);
int sw__resp_handler_error(sw_response *r, int err, const char *text);
int sw__resp_sink_data(sw_response *r, const uint8_t *p, size_t n);
int sw__resp_sink_part_end(sw_response *r);

/* ---- client_response_v12.c ---- */

int sw__v12_read_tuple(sw_response *r);
/* Reads a length-prefixed (chunked false) or chunked body to its end. */
int sw__v12_read_body(sw_response *r, bool chunked);

/* ---- client_call.c ---- */

/* request_handlers.get_info(verb): "read", "idem", "semi", "semivfs",
 * "mutate", "stream", or NULL for an unknown verb. */
const char *sw__verb_info(sw_slice verb);

/* ---- client_negotiate.c ---- */

/* Breezy _SmartClientRequest._call(version): send (with write retry), read
 * the tuple (with read retry).  Returns 0 with *out, or an error. */
int sw__call_version(sw_client *c, const sw_call *call, int version, sw_response **out);

#endif
