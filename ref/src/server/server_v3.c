/*
 * v3 requests on the server: message.py ConventionalRequestHandler over
 * protocol.py ProtocolThreeDecoder, with Breezy's error texts.
 *
 * The conventional grammar is args -> body -> (end | error -> end).  A
 * trivial request (begin answered) is answered as soon as its args are
 * decoded; a body request after 'e'.  Semantic errors are answered once
 * ("Generic bzr smart protocol error: ...") and decoding goes on to 'e'
 * with the connection kept; framing errors (the decoder fails) are answered
 * if nothing was answered yet, and the connection is closed.
 *
 * Breezy's texts print Python reprs of the offending bytes or values
 * (smartwire/pytext.h; bdecode_as_tuple values are printed here); for a
 * framing error the decoder tells which header or structure payload, or
 * which kind byte, it rejected (sw_v3_dec_failure).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server_impl.h"
#include "smartwire/error.h"
#include "smartwire/pytext.h"

/* ---- Python repr ---------------------------------------------------- */

int sw__srv_repr_bval(sw_buf *out, const sw_bval *v)
{
	int rv = 0;
	char num[32];
	switch (v->type) {
	case SW_BSTR:
		return sw_py_repr_bytes(out, v->u.str.p, v->u.str.n);
	case SW_BINT:
		snprintf(num, sizeof num, "%" PRId64, v->u.i);
		return sw_buf_append_str(out, num);
	case SW_BLIST: /* bdecode_as_tuple: lists are tuples */
		rv = sw_buf_append_byte(out, '(');
		for (size_t i = 0; rv == 0 && i < v->u.list.n; i++) {
			if (i)
				rv = sw_buf_append_str(out, ", ");
			if (rv == 0)
				rv = sw__srv_repr_bval(out, &v->u.list.items[i]);
		}
		if (rv == 0 && v->u.list.n == 1)
			rv = sw_buf_append_byte(out, ',');
		return rv ? rv : sw_buf_append_byte(out, ')');
	case SW_BDICT:
		rv = sw_buf_append_byte(out, '{');
		for (size_t i = 0; rv == 0 && i + 1 < v->u.list.n; i += 2) {
			if (i)
				rv = sw_buf_append_str(out, ", ");
			if (rv == 0)
				rv = sw__srv_repr_bval(out, &v->u.list.items[i]);
			if (rv == 0)
				rv = sw_buf_append_str(out, ": ");
			if (rv == 0)
				rv = sw__srv_repr_bval(out, &v->u.list.items[i + 1]);
		}
		return rv ? rv : sw_buf_append_byte(out, '}');
	}
	return SW_ERR_INVALID_ARGUMENT;
}

/* ---- Answers -------------------------------------------------------- */

/* A semantic error (Breezy's SmartMessageHandlerError): answered once, the
 * handler aborted if it still waits for its body, decoding continues.
 * `pre` + repr-ish `t` + `post` make the text. */
static int semantic(sw_srv_conn *c, const char *pre, const sw_buf *t, const char *post)
{
	sw__srv_abort_handler(c);
	if (c->req.rstate != RS_NONE)
		return 0;
	sw_buf msg;
	sw_buf_init(&msg, c->mem);
	int rv = sw_buf_append_str(&msg, pre);
	if (rv == 0 && t)
		rv = sw_buf_append(&msg, t->data, t->len);
	if (rv == 0 && post)
		rv = sw_buf_append_str(&msg, post);
	if (rv == 0)
		rv = sw__srv_answer_generic(c, (const char *)msg.data, msg.len);
	sw_buf_fini(&msg);
	return rv;
}

/* oE s(value) e for a failure tuple that is not all byte strings (an
 * UnknownMethod whose "verb" is an int or a list). */
static int answer_bval(sw_srv_conn *c, const sw_bval *args)
{
	if (c->req.rstate != RS_NONE)
		return 0;
	size_t mark = c->out.len;
	int rv = sw_v3_put_marker(&c->out);
	if (rv == 0)
		rv = sw_v3_put_default_headers(&c->out);
	if (rv == 0)
		rv = sw_v3_put_byte(&c->out, 'E');
	if (rv == 0)
		rv = sw_v3_put_structure(&c->out, args);
	if (rv == 0)
		rv = sw_v3_put_end(&c->out);
	if (rv < 0) {
		c->out.len = mark;
		return rv;
	}
	c->req.rstate = RS_DONE;
	return 0;
}

static int answer_error2(sw_srv_conn *c, const char *text)
{
	sw_slice a[2] = {{(const uint8_t *)"error", 5}, {(const uint8_t *)text, strlen(text)}};
	return sw__srv_answer_failed(c, a, 2);
}

static bool has_dict(const sw_bval *v)
{
	if (v->type == SW_BDICT)
		return true;
	if (v->type == SW_BLIST)
		for (size_t i = 0; i < v->u.list.n; i++)
			if (has_dict(&v->u.list.items[i]))
				return true;
	return false;
}

/* request.py args_received: cmd = args[0] on whatever bdecode gave. */
static int args_received(sw_srv_conn *c, const sw_bval *v)
{
	sw_srv_req *r = &c->req;
	if (v->type == SW_BINT)
		return answer_error2(c, "'int' object is not subscriptable");
	if (v->type == SW_BDICT)
		return answer_error2(c, "0"); /* KeyError(0) */
	if (v->type == SW_BSTR) {
		if (v->u.str.n == 0)
			return answer_error2(c, "index out of range");
		sw_bval items[2] = {sw_bstr("UnknownMethod", 13), sw_bint(v->u.str.p[0])};
		sw_bval list = sw_blist(items, 2);
		return answer_bval(c, &list);
	}
	if (r->rstate != RS_NONE) {
		/* An error was answered before the args (e.g. "oX s(args)"):
		 * Breezy runs the verb and drops its answer (AssertionError
		 * "response already sent"); we do not run it at all. */
		return 0;
	}
	size_t n = v->u.list.n;
	if (n == 0)
		return answer_error2(c, "tuple index out of range");
	const sw_bval *verb = &v->u.list.items[0];
	if (verb->type != SW_BSTR) {
		if (has_dict(verb))
			return answer_error2(c, "unhashable type: 'dict'");
		sw_bval items[2] = {sw_bstr("UnknownMethod", 13), *verb};
		sw_bval list = sw_blist(items, 2);
		return answer_bval(c, &list);
	}
	for (size_t i = 1; i < n; i++)
		if (v->u.list.items[i].type != SW_BSTR) {
			/* Breezy looks the verb up before it looks at the arguments. */
			if (c->d.knows && !c->d.knows(c->ud, &verb->u.str))
				return sw__srv_answer_unknown(c, &verb->u.str);
			return sw__srv_answer_generic(c, "request arguments must be byte strings", 38);
		}
	sw_slice stack[16];
	sw_slice *args = stack;
	if (n > 16 && !(args = sw_malloc(c->mem, n * sizeof *args)))
		return SW_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		args[i] = v->u.list.items[i].u.str;
	int rv = sw__srv_begin(c, args, n);
	if (args != stack)
		sw_free(c->mem, args);
	if (rv == SW_SRV_ANSWERED)
		r->expecting = EX_END;
	else if (rv == SW_ERR_UNKNOWN_METHOD)
		rv = sw__srv_answer_unknown(c, &verb->u.str);
	return rv < 0 ? rv : 0;
}

/* ---- Decoder callbacks ---------------------------------------------- */

static int cb_fail(sw_srv_conn *c, int rv)
{
	if (rv >= 0)
		return 0;
	c->cb_error = rv;
	return 1;
}

static int on_byte(void *ud, uint8_t byte)
{
	sw_srv_conn *c = ud;
	sw_srv_req *r = &c->req;
	if (r->expecting == EX_BODY && byte == 'S') {
		r->expecting = EX_END;
		return 0;
	}
	if (r->expecting == EX_BODY && byte == 'E') {
		r->expecting = EX_ERROR;
		return 0;
	}
	sw_buf t;
	sw_buf_init(&t, c->mem);
	int rv = sw_py_repr_bytes(&t, &byte, 1);
	if (rv == 0) {
		if (r->expecting == EX_BODY)
			rv = semantic(c, "Non-success status byte in request body: ", &t, NULL);
		else
			rv = semantic(c, "Unexpected message part: byte(", &t, ")");
	}
	sw_buf_fini(&t);
	return cb_fail(c, rv);
}

static int on_structure(void *ud, const sw_bval *v)
{
	sw_srv_conn *c = ud;
	sw_srv_req *r = &c->req;
	if (r->expecting == EX_ARGS) {
		r->expecting = EX_BODY;
		return cb_fail(c, args_received(c, v));
	}
	if (r->expecting == EX_ERROR) {
		/* post_body_error_received: Breezy ignores it and runs the verb;
		 * we abort the handler and answer at 'e'. */
		r->expecting = EX_END;
		if (r->hstate == HS_BODY) {
			sw__srv_abort_handler(c);
			r->client_aborted = true;
		}
		return 0;
	}
	sw_buf t;
	sw_buf_init(&t, c->mem);
	int rv = sw__srv_repr_bval(&t, v);
	if (rv == 0)
		rv = semantic(c, "Unexpected message part: structure(", &t, ")");
	sw_buf_fini(&t);
	return cb_fail(c, rv);
}

static int on_bytes_begin(void *ud, uint32_t total)
{
	sw_srv_conn *c = ud;
	sw_srv_req *r = &c->req;
	if (r->expecting == EX_BODY) {
		if (total > c->cfg.max_body || r->body_seen > c->cfg.max_body - total)
			return cb_fail(c, SW_ERR_MESSAGE_TOO_LARGE);
		r->body_seen += total;
		r->part_left = total;
		return 0;
	}
	r->stage_part = r->rstate == RS_NONE;
	r->part_cut = false;
	sw_buf_reset(&c->part);
	return 0;
}

static int on_bytes(void *ud, const uint8_t *p, size_t n)
{
	sw_srv_conn *c = ud;
	sw_srv_req *r = &c->req;
	if (r->expecting == EX_BODY) {
		r->part_left -= n < r->part_left ? n : r->part_left;
		if (c->skip_body)
			return 0; /* already in the handler's sink (server_span.c) */
		return cb_fail(c, sw__srv_body(c, p, n));
	}
	if (!r->stage_part)
		return 0;
	size_t room = SW_SRV_REPR_MAX - c->part.len;
	if (n > room) {
		n = room;
		r->part_cut = true;
	}
	return cb_fail(c, sw_buf_append(&c->part, p, n));
}

static int on_bytes_end(void *ud)
{
	sw_srv_conn *c = ud;
	sw_srv_req *r = &c->req;
	if (r->expecting == EX_BODY) {
		r->part_left = 0;
		return 0;
	}
	sw_buf t;
	sw_buf_init(&t, c->mem);
	int rv = sw_py_repr_bytes(&t, c->part.data, c->part.len);
	if (rv == 0)
		rv = semantic(c, "Unexpected message part: bytes(", &t, r->part_cut ? "...)" : ")");
	sw_buf_fini(&t);
	r->stage_part = false;
	if (c->part.cap > 4096)
		sw_buf_fini(&c->part);
	return cb_fail(c, rv);
}

static int on_end(void *ud)
{
	sw_srv_conn *c = ud;
	sw_srv_req *r = &c->req;
	int rv = 0;
	if (r->expecting != EX_BODY && r->expecting != EX_END) {
		rv = semantic(c, r->expecting == EX_ARGS
		                     ? "End of message received prematurely (while expecting args)"
		                     : "End of message received prematurely (while expecting error)",
		              NULL, NULL);
	} else if (r->client_aborted) {
		rv = sw__srv_answer_generic(c, "Request body aborted by the client", 34);
	} else if (r->hstate == HS_BODY) {
		rv = sw__srv_end(c);
	} else if (r->rstate == RS_NONE) {
		static const char t[] = "Complete conventional request was received, but request "
		                        "handler has not finished reading.";
		rv = sw__srv_answer_generic(c, t, sizeof t - 1);
	}
	r->expecting = EX_NOTHING;
	r->decoded = true;
	return cb_fail(c, rv);
}

/* ---- Framing errors ------------------------------------------------ */

/* The text of a framing error, as Breezy words it where it has one, from
 * what the decoder says it was reading (its payload may have come in
 * earlier feeds; the decoder kept it). */
static int framing_text(sw_srv_conn *c, int err, sw_buf *t)
{
	sw_v3_failure f;
	sw_v3_dec_failure(c->v3, &f);
	bool bencode = err <= SW_ERR_BENCODE_SYNTAX && err >= SW_ERR_BENCODE_KEY;
	int rv;
	if (err == SW_ERR_BAD_KIND && f.part == 'k') {
		if ((rv = sw_buf_append_str(t, "Bad message kind byte: ")) < 0)
			return rv;
		return sw_py_repr_bytes(t, &f.kind, 1);
	}
	if (bencode && (f.part == 'h' || f.part == 's')) {
		if ((rv = sw_buf_append_str(t, "Bytes ")) < 0 ||
		    (rv = sw_py_repr_bytes(t, f.payload.p, f.payload.n)) < 0)
			return rv;
		return sw_buf_append_str(t, " not bencoded");
	}
	if (err == SW_ERR_HEADER_NOT_DICT && f.value) {
		rv = sw_buf_append_str(t, "Header object ");
		if (rv == 0)
			rv = sw__srv_repr_bval(t, f.value);
		if (rv == 0)
			rv = sw_buf_append_str(t, " is not a dict");
		return rv;
	}
	return sw_buf_append_str(t, sw_strerror(err));
}

/* ---- Entry points --------------------------------------------------- */

int sw__srv_v3_start(sw_srv_conn *c)
{
	if (c->v3) {
		sw_v3_dec_reset(c->v3);
	} else {
		sw_v3_config cfg;
		memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
		cfg.expect_marker = false;
		cfg.max_header = c->cfg.max_header;
		cfg.max_struct = c->cfg.max_struct;
		cfg.max_part = c->cfg.max_part;
		cfg.blimits = c->cfg.blimits;
		sw_v3_callbacks cb;
		memset(&cb, 0, sizeof cb);
		cb.on_byte = on_byte;
		cb.on_structure = on_structure;
		cb.on_bytes_begin = on_bytes_begin;
		cb.on_bytes = on_bytes;
		cb.on_bytes_end = on_bytes_end;
		cb.on_end = on_end;
		int rv = sw_v3_dec_new(&c->v3, &cfg, &cb, c, c->mem);
		if (rv < 0)
			return rv;
	}
	c->req.version = 3;
	c->req.expecting = EX_ARGS;
	c->state = CS_V3;
	return 0;
}

ptrdiff_t sw__srv_v3_feed(sw_srv_conn *c, const uint8_t *in, size_t len)
{
	c->cb_error = 0;
	ptrdiff_t r = sw_v3_dec_feed(c->v3, in, len);
	if (r >= 0)
		return r;
	int err = (int)r;
	if (err == SW_ERR_CALLBACK) {
		err = c->cb_error ? c->cb_error : err;
		if (err != SW_ERR_MESSAGE_TOO_LARGE)
			return sw__srv_fatal(c, err); /* handler failure or memory */
	}
	if (err == SW_ERR_NOMEM)
		return sw__srv_fatal(c, err);
	/* A framing error: the stream cannot be followed any more.  Answer if
	 * nothing was answered (ProtocolThreeDecoder -> protocol_error), then
	 * close instead of desynchronising as Breezy does. */
	sw__srv_abort_handler(c);
	if (c->req.rstate == RS_NONE) {
		sw_buf t;
		sw_buf_init(&t, c->mem);
		int rv = framing_text(c, err, &t);
		if (rv == 0)
			rv = sw__srv_answer_generic(c, (const char *)t.data, t.len);
		sw_buf_fini(&t);
		if (rv < 0)
			return sw__srv_fatal(c, rv);
	}
	return sw__srv_close_after(c, err);
}

void sw__srv_v3_free(sw_srv_conn *c)
{
	sw_v3_dec_del(c->v3);
	c->v3 = NULL;
}
