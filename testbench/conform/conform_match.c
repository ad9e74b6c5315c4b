/*
 * Conformance runner: encoding the messages a case sends, and matching what
 * the peer sends against what a case expects.
 *
 * Messages are encoded with the reference encoders (v3.h, v12.h) and
 * decoded with the reference decoders, so a case states a message once and
 * the runner compares meaning, not incidental framing: the headers of a v3
 * response may differ (any dict is accepted), a body may arrive in several
 * bytes parts or chunks.  Everything else is compared exactly, and the raw
 * bytes stay in the transcript as evidence.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/bencode.h"
#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

#define SHOW_MAX 512
#define MAX_ITEMS 4096

int sw__cf_record(sw_cf_result *r, char dir, const void *p, size_t n)
{
	if (!r)
		return 0;
	if (r->nevents && r->events[r->nevents - 1].dir == dir && dir != '#') {
		sw_cf_event *e = &r->events[r->nevents - 1];
		uint8_t *np = realloc(e->p, e->n + n + 1);
		if (!np)
			return SW_ERR_NOMEM;
		memcpy(np + e->n, p, n);
		e->n += n;
		np[e->n] = 0;
		e->p = np;
		return 0;
	}
	sw_cf_event *ev = realloc(r->events, (r->nevents + 1) * sizeof *ev);
	if (!ev)
		return SW_ERR_NOMEM;
	r->events = ev;
	uint8_t *copy = malloc(n + 1);
	if (!copy)
		return SW_ERR_NOMEM;
	if (n)
		memcpy(copy, p, n);
	copy[n] = 0;
	ev[r->nevents].dir = dir;
	ev[r->nevents].p = copy;
	ev[r->nevents].n = n;
	r->nevents++;
	return 0;
}

int sw__cf_note(sw_cf_result *r, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return sw__cf_record(r, '#', tmp, strlen(tmp));
}

int sw__cf_conn_fill(sw__cf_conn *c, int64_t deadline)
{
	if (c->eof)
		return 0;
	for (;;) {
		int64_t left = deadline - sw__cf_now_ms();
		if (left < 0)
			left = 0;
		int w = sw_medium_wait_readable(c->m, (int)left);
		if (w == SW_ERR_TIMEOUT || (w == SW_ERR_WOULD_BLOCK && left == 0))
			return SW_ERR_TIMEOUT;
		if (w < 0 && w != SW_ERR_WOULD_BLOCK) {
			c->err = w;
			c->eof = true;
			return 0;
		}
		uint8_t buf[65536];
		ptrdiff_t n = sw_medium_read(c->m, buf, sizeof buf);
		if (n == SW_ERR_WOULD_BLOCK) {
			if (sw__cf_now_ms() >= deadline)
				return SW_ERR_TIMEOUT;
			continue;
		}
		if (n <= 0) {
			if (n < 0)
				c->err = (int)n;
			c->eof = true;
			return 0;
		}
		if (sw_buf_append(&c->rx, buf, (size_t)n) < 0)
			return SW_ERR_NOMEM;
		if (sw__cf_record(c->r, '<', buf, (size_t)n) < 0)
			return SW_ERR_NOMEM;
		return 1;
	}
}

/* ---- Evaluated message specs ------------------------------------------- */

typedef struct item {
	uint8_t *p;
	size_t n;
	int wild; /* 0 literal, 1 "*", 2 "..." */
} item;

typedef struct items {
	item *v;
	size_t n;
} items;

static void items_free(items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i].p);
	free(it->v);
	it->v = NULL;
	it->n = 0;
}

static int items_push(items *it, const void *p, size_t n, int wild)
{
	if (it->n >= MAX_ITEMS)
		return SW_ERR_TOO_MANY_ARGS;
	item *v = realloc(it->v, (it->n + 1) * sizeof *v);
	if (!v)
		return SW_ERR_NOMEM;
	it->v = v;
	uint8_t *c = malloc(n + 1);
	if (!c)
		return SW_ERR_NOMEM;
	if (n)
		memcpy(c, p, n);
	v[it->n].p = c;
	v[it->n].n = n;
	v[it->n].wild = wild;
	it->n++;
	return 0;
}

static int eval_args(char *const *toks, size_t n, const sw_cf_ctx *ctx, items *out, char *err,
                     size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int wild = strcmp(toks[i], "*") == 0 ? 1 : strcmp(toks[i], "...") == 0 ? 2 : 0;
		sw_buf b;
		sw_buf_init(&b, NULL);
		int rc = wild ? 0 : sw_cf_eval_arg(toks[i], ctx, &b, err, errlen);
		if (rc == 0)
			rc = items_push(out, b.data, b.len, wild);
		sw_buf_fini(&b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int eval_bodies(char *const *exprs, size_t n, const sw_cf_ctx *ctx, items *out, char *err,
                       size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		sw_buf b;
		sw_buf_init(&b, NULL);
		int rc = sw_cf_eval(exprs[i], ctx, &b, err, errlen);
		if (rc == 0)
			rc = items_push(out, b.data, b.len, 0);
		sw_buf_fini(&b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static sw_slice *as_slices(const items *it)
{
	sw_slice *s = calloc(it->n + 1, sizeof *s);
	if (!s)
		return NULL;
	for (size_t i = 0; i < it->n; i++) {
		s[i].p = it->v[i].p;
		s[i].n = it->v[i].n;
	}
	return s;
}

int sw__cf_encode(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out, char *err,
                  size_t errlen)
{
	if (a->kind == SW_CF_RAW)
		return sw_cf_eval(a->raw, ctx, out, err, errlen);
	if (a->kind != SW_CF_MSG)
		return SW_ERR_INVALID_ARGUMENT;
	items args = {0}, bodies = {0}, eargs = {0};
	sw_slice *sa = NULL, *sb = NULL, *se = NULL;
	int rc = eval_args(a->args, a->nargs, ctx, &args, err, errlen);
	if (rc == 0)
		rc = eval_bodies(a->bodies, a->nbodies, ctx, &bodies, err, errlen);
	if (rc == 0)
		rc = eval_args(a->eargs, a->neargs, ctx, &eargs, err, errlen);
	if (rc == 0 && (!(sa = as_slices(&args)) || !(sb = as_slices(&bodies)) || !(se = as_slices(&eargs))))
		rc = SW_ERR_NOMEM;
	if (rc < 0)
		goto done;
	const sw_slice *hdr = sw_v3_default_header_kv;
	size_t hp = SW_V3_DEFAULT_HEADER_PAIRS;
	if (a->version == 3 && !a->response) {
		if (bodies.n <= 1 && !a->abort)
			rc = sw_v3_encode_request(out, hdr, hp, sa, args.n, bodies.n ? &sb[0] : NULL);
		else {
			rc = sw_v3_encode_request_start(out, hdr, hp, sa, args.n);
			for (size_t i = 0; rc == 0 && i < bodies.n; i++)
				rc = sw_v3_put_bytes(out, sb[i].p, sb[i].n);
			if (rc == 0)
				rc = a->abort ? sw_v3_encode_request_abort(out) : sw_v3_put_end(out);
		}
	} else if (a->version == 3) {
		if (!a->has_error && bodies.n <= 1)
			rc = sw_v3_encode_response(out, hdr, hp, a->status != 0, sa, args.n,
			                           bodies.n ? &sb[0] : NULL);
		else {
			rc = sw_v3_encode_response_start(out, hdr, hp, a->status != 0, sa, args.n);
			for (size_t i = 0; rc == 0 && i < bodies.n; i++)
				rc = sw_v3_put_bytes(out, sb[i].p, sb[i].n);
			if (rc == 0)
				rc = a->has_error ? sw_v3_encode_stream_error(out, se, eargs.n) : sw_v3_put_end(out);
		}
	} else if (!a->response) {
		rc = sw_v12_encode_request(out, a->version, sa, args.n, bodies.n ? &sb[0] : NULL);
	} else if (a->chunked) {
		rc = sw_v12_encode_response_stream(out, a->version, a->status != 0, sa, args.n, sb,
		                                   bodies.n, a->has_error, se, eargs.n);
	} else {
		rc = sw_v12_encode_response(out, a->version, a->status != 0, sa, args.n,
		                            bodies.n ? &sb[0] : NULL);
	}
	if (rc < 0 && err && !err[0])
		snprintf(err, errlen, "cannot encode the message: %s", sw_strerror(rc));
done:
	free(sa);
	free(sb);
	free(se);
	items_free(&args);
	items_free(&bodies);
	items_free(&eargs);
	return rc;
}

static int describe_items(sw_buf *out, const items *it)
{
	int rc = sw_buf_append_byte(out, '[');
	for (size_t i = 0; rc == 0 && i < it->n; i++) {
		if (i)
			rc = sw_buf_append_str(out, ", ");
		if (rc == 0)
			rc = it->v[i].wild == 1 ? sw_buf_append_str(out, "*")
			     : it->v[i].wild == 2 ? sw_buf_append_str(out, "...")
			                          : sw__cf_quote(out, it->v[i].p, it->v[i].n, SHOW_MAX);
	}
	return rc ? rc : sw_buf_append_byte(out, ']');
}

static const char *status_word(int version, int status)
{
	if (status < 0)
		return "";
	if (version == 2)
		return status ? " success" : " failed";
	return status ? " success" : " error";
}

/* Joins items into one buffer. */
static int join_items(const items *it, sw_buf *out)
{
	for (size_t i = 0; i < it->n; i++)
		if (sw_buf_append(out, it->v[i].p, it->v[i].n) < 0)
			return SW_ERR_NOMEM;
	return 0;
}

int sw__cf_describe(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out)
{
	char err[200];
	sw_buf b;
	int rc = 0;
	switch (a->kind) {
	case SW_CF_EOF:
		return sw_buf_append_str(out, "end of stream");
	case SW_CF_SILENCE:
		return sw__cf_appendf(out, "silence for %u ms", a->ms);
	case SW_CF_RAW:
		sw_buf_init(&b, NULL);
		rc = sw_cf_eval(a->raw, ctx, &b, err, sizeof err);
		if (rc == 0)
			rc = sw_buf_append_str(out, "raw ");
		if (rc == 0)
			rc = sw__cf_quote(out, b.data, b.len, SHOW_MAX);
		sw_buf_fini(&b);
		return rc;
	case SW_CF_MSG:
		break;
	}
	items args = {0}, bodies = {0}, eargs = {0};
	rc = sw__cf_appendf(out, "v%d %s%s ", a->version, a->response ? "response" : "request",
	                    status_word(a->version, a->status));
	if (rc == 0)
		rc = eval_args(a->args, a->nargs, ctx, &args, err, sizeof err);
	if (rc == 0)
		rc = a->any_args ? sw_buf_append_str(out, "(any args)") : describe_items(out, &args);
	if (rc == 0)
		rc = eval_bodies(a->bodies, a->nbodies, ctx, &bodies, err, sizeof err);
	if (rc == 0 && a->any_body)
		rc = sw_buf_append_str(out, " body *");
	else if (rc == 0 && (bodies.n || a->chunked)) {
		sw_buf_init(&b, NULL);
		rc = join_items(&bodies, &b);
		if (rc == 0)
			rc = sw_buf_append_str(out, a->chunked ? " chunks " : " body ");
		if (rc == 0)
			rc = sw__cf_quote(out, b.data, b.len, SHOW_MAX);
		sw_buf_fini(&b);
	}
	if (rc == 0 && a->has_error) {
		rc = eval_args(a->eargs, a->neargs, ctx, &eargs, err, sizeof err);
		if (rc == 0)
			rc = sw_buf_append_str(out, " stream-error ");
		if (rc == 0)
			rc = describe_items(out, &eargs);
	}
	if (rc == 0 && a->abort)
		rc = sw_buf_append_str(out, " abort");
	items_free(&args);
	items_free(&bodies);
	items_free(&eargs);
	return rc < 0 && rc != SW_ERR_NOMEM ? 0 : rc;
}

/* ---- Decoding what the peer sent ---------------------------------------- */

typedef struct dmsg {
	int version;
	int status;        /* -1 none, 1 success, 0 failed; 2 = odd status byte */
	uint8_t odd_status;
	items args;
	bool have_args;
	bool args_not_list;
	sw_buf args_text;  /* a non-list structure, formatted */
	bool has_body;
	sw_buf body;
	bool in_error;     /* v3: oE after args/body seen, waiting for the struct */
	bool has_error;
	items eargs;
	bool extra;        /* parts the conventional grammar does not allow */
	const items *want_args; /* v1/v2: decide on the body mode in on_args */
	int want_mode;
	sw_v12_dec *v12;
	bool failed_status_no_body;
} dmsg;

static int v3_on_byte(void *ud, uint8_t byte)
{
	dmsg *m = ud;
	if (!m->have_args && m->status == -1) {
		m->status = byte == 'S' ? 1 : byte == 'E' ? 0 : 2;
		m->odd_status = byte;
	} else if (m->have_args && byte == 'E' && !m->in_error && !m->has_error) {
		m->in_error = true;
	} else if (m->have_args && byte == 'S' && !m->in_error) {
		/* oS after a request body: "end of body, success", ignored */
	} else {
		m->extra = true;
	}
	return 0;
}

static int struct_items(const sw_bval *v, items *out)
{
	for (size_t i = 0; i < v->u.list.n; i++) {
		const sw_bval *e = &v->u.list.items[i];
		if (e->type != SW_BSTR)
			return 1;
		int rc = items_push(out, e->u.str.p, e->u.str.n, 0);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int v3_on_structure(void *ud, const sw_bval *v)
{
	dmsg *m = ud;
	if (!m->have_args) {
		m->have_args = true;
		int rc = v->type == SW_BLIST ? struct_items(v, &m->args) : 1;
		if (rc < 0)
			return rc;
		if (rc == 1) {
			items_free(&m->args);
			m->args_not_list = true;
			return sw_bval_format(&m->args_text, v);
		}
		return 0;
	}
	if (m->in_error) {
		m->in_error = false;
		m->has_error = true;
		int rc = v->type == SW_BLIST ? struct_items(v, &m->eargs) : 1;
		if (rc == 1)
			m->extra = true;
		return rc < 0 ? rc : 0;
	}
	m->extra = true;
	return 0;
}

static int v3_on_bytes_begin(void *ud, uint32_t total)
{
	dmsg *m = ud;
	(void)total;
	if (!m->have_args || m->in_error || m->has_error)
		m->extra = true;
	m->has_body = true;
	return 0;
}

static int v3_on_bytes(void *ud, const uint8_t *p, size_t n)
{
	dmsg *m = ud;
	return sw_buf_append(&m->body, p, n) < 0 ? -1 : 0;
}

static bool args_match(const items *want, const items *got);

static int v12_on_status(void *ud, bool success)
{
	dmsg *m = ud;
	m->status = success ? 1 : 0;
	return 0;
}

static int v12_on_args(void *ud, const sw_slice *args, size_t n)
{
	dmsg *m = ud;
	m->have_args = true;
	for (size_t i = 0; i < n; i++)
		if (items_push(&m->args, args[i].p, args[i].n, 0) < 0)
			return -1;
	/* Read a body only when this is the response the case expects a body
	 * with: a v1/v2 reader cannot tell from the wire (§2.6). */
	if (m->want_mode != SW_BODY_NONE && m->status != 0 &&
	    (!m->want_args || args_match(m->want_args, &m->args)))
		return sw_v12_dec_expect_body(m->v12, (sw_body_mode)m->want_mode) < 0 ? -1 : 0;
	return 0;
}

static int v12_on_body(void *ud, const uint8_t *p, size_t n)
{
	dmsg *m = ud;
	m->has_body = true;
	return sw_buf_append(&m->body, p, n) < 0 ? -1 : 0;
}

static int v12_on_body_begin(void *ud, uint64_t len)
{
	dmsg *m = ud;
	(void)len;
	m->has_body = true;
	return 0;
}

static int v12_on_error_chunks(void *ud, const sw_slice *args, size_t n)
{
	dmsg *m = ud;
	m->has_error = true;
	for (size_t i = 0; i < n; i++)
		if (items_push(&m->eargs, args[i].p, args[i].n, 0) < 0)
			return -1;
	return 0;
}

static bool args_match(const items *want, const items *got)
{
	size_t i = 0;
	for (; i < want->n; i++) {
		if (want->v[i].wild == 2)
			return true;
		if (i >= got->n)
			return false;
		if (want->v[i].wild == 1)
			continue;
		if (want->v[i].n != got->v[i].n || memcmp(want->v[i].p, got->v[i].p, got->v[i].n) != 0)
			return false;
	}
	return i == got->n;
}

static int describe_dmsg(sw_buf *out, const dmsg *m, bool response)
{
	int rc = sw__cf_appendf(out, "v%d %s%s", m->version, response ? "response" : "request",
	                        m->status == 2 ? "" : status_word(m->version, m->status));
	if (rc == 0 && m->status == 2)
		rc = sw__cf_appendf(out, " (status byte \\x%02x)", m->odd_status);
	if (rc == 0 && m->version == 3 && m->status == -1 && response)
		rc = sw_buf_append_str(out, " (no status byte)");
	if (rc == 0)
		rc = sw_buf_append_byte(out, ' ');
	if (rc == 0)
		rc = m->args_not_list ? sw_buf_append(out, m->args_text.data, m->args_text.len)
		     : m->have_args ? describe_items(out, &m->args) : sw_buf_append_str(out, "(no args)");
	if (rc == 0 && m->has_body) {
		rc = sw_buf_append_str(out, " body ");
		if (rc == 0)
			rc = sw__cf_quote(out, m->body.data, m->body.len, SHOW_MAX);
	}
	if (rc == 0 && m->has_error) {
		rc = sw_buf_append_str(out, " stream-error ");
		if (rc == 0)
			rc = describe_items(out, &m->eargs);
	}
	if (rc == 0 && m->extra)
		rc = sw_buf_append_str(out, " (with parts out of order)");
	return rc;
}

static bool is_unknown_method(const dmsg *m)
{
	if (!m->have_args || m->args.n < 1)
		return false;
	if (m->version == 3)
		return m->args.v[0].n == 13 && memcmp(m->args.v[0].p, "UnknownMethod", 13) == 0;
	static const char pre[] = "Generic bzr smart protocol error: bad request ";
	return m->args.n == 2 && m->args.v[0].n == 5 && memcmp(m->args.v[0].p, "error", 5) == 0 &&
	       m->args.v[1].n > sizeof pre - 1 && memcmp(m->args.v[1].p, pre, sizeof pre - 1) == 0;
}

static int match_msg(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                     sw_buf *actual, bool *unknown)
{
	char err[200] = "";
	int verdict = -1; /* before any goto out */
	items wargs = {0}, wbodies = {0}, weargs = {0};
	dmsg m = {.version = a->version, .status = -1};
	sw_buf_init(&m.args_text, NULL);
	sw_buf_init(&m.body, NULL);
	sw_buf wbody;
	sw_buf_init(&wbody, NULL);
	sw_v3_dec *d3 = NULL;
	int rc = eval_args(a->args, a->nargs, ctx, &wargs, err, sizeof err);
	if (rc == 0)
		rc = eval_bodies(a->bodies, a->nbodies, ctx, &wbodies, err, sizeof err);
	if (rc == 0)
		rc = eval_args(a->eargs, a->neargs, ctx, &weargs, err, sizeof err);
	if (rc == 0)
		rc = join_items(&wbodies, &wbody);
	if (rc < 0) {
		if (rc != SW_ERR_NOMEM)
			sw__cf_appendf(actual, "cannot evaluate the expectation: %s", err);
		goto out;
	}
	if (a->version == 3) {
		sw_v3_config cfg;
		memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
		cfg.expect_marker = true;
		cfg.max_struct = 16u << 20;
		sw_v3_callbacks cb = {.on_byte = v3_on_byte, .on_structure = v3_on_structure,
		                      .on_bytes_begin = v3_on_bytes_begin, .on_bytes = v3_on_bytes};
		rc = sw_v3_dec_new(&d3, &cfg, &cb, &m, NULL);
	} else {
		sw_v12_config cfg = {0};
		cfg.expect_request_marker = !a->response && a->version == 2;
		sw_v12_callbacks cb = {.on_status = v12_on_status, .on_args = v12_on_args,
		                       .on_body_begin = v12_on_body_begin, .on_body = v12_on_body,
		                       .on_chunk = v12_on_body, .on_error_chunks = v12_on_error_chunks};
		m.want_mode = a->chunked ? SW_BODY_CHUNKED
		              : (a->nbodies || a->any_body) ? SW_BODY_PREFIXED : SW_BODY_NONE;
		m.want_args = a->any_args ? NULL : &wargs;
		rc = sw_v12_dec_new(&m.v12, a->response ? SW_V12_RESPONSE : SW_V12_REQUEST, a->version,
		                    &cfg, &cb, &m, NULL);
	}
	if (rc < 0)
		goto out;
	size_t start = c->pos;
	for (;;) {
		if (c->pos < c->rx.len) {
			ptrdiff_t n = d3 ? sw_v3_dec_feed(d3, c->rx.data + c->pos, c->rx.len - c->pos)
			                 : sw_v12_dec_feed(m.v12, c->rx.data + c->pos, c->rx.len - c->pos);
			if (n < 0) {
				sw__cf_appendf(actual, "bytes that do not decode as a v%d %s (%s) at offset %zu: ",
				               a->version, a->response ? "response" : "request", sw_errname((int)n), start);
				sw__cf_quote(actual, c->rx.data + start, c->rx.len - start, SHOW_MAX);
				verdict = 0;
				break;
			}
			c->pos += (size_t)n;
			if (d3 ? sw_v3_dec_done(d3) : sw_v12_dec_done(m.v12))
				break;
		}
		if (c->pos < c->rx.len)
			continue;
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM) {
			rc = f;
			goto out;
		}
		if (f <= 0) {
			if (c->pos == start)
				sw__cf_appendf(actual, f == 0 ? "end of stream (nothing received)"
				                              : "nothing received before the time limit");
			else {
				sw__cf_appendf(actual, "%s inside the message after %zu bytes: ",
				               f == 0 ? "end of stream" : "time limit reached", c->pos - start);
				sw__cf_quote(actual, c->rx.data + start, c->pos - start, SHOW_MAX);
			}
			verdict = 0;
			break;
		}
	}
	if (verdict == 0)
		goto out;
	/* The message is complete: compare. */
	*unknown = is_unknown_method(&m);
	bool ok = true;
	if (a->response && a->status != -1 && m.status != a->status)
		ok = false;
	if (a->version == 3 && a->response && m.status == -1)
		ok = false; /* Breezy always sends a status byte */
	/* "..." alone accepts any args, even a structure that is not a list
	 * of byte strings. */
	bool anything = a->any_args || (wargs.n >= 1 && wargs.v[0].wild == 2);
	if (!anything && (m.args_not_list || !args_match(&wargs, &m.args)))
		ok = false;
	if (a->any_body && !m.has_body)
		ok = false;
	if (!a->any_body && (a->nbodies || a->chunked) &&
	    (!m.has_body || m.body.len != wbody.len ||
	     (wbody.len && memcmp(m.body.data, wbody.data, wbody.len) != 0)))
		ok = false;
	if (!a->any_body && !a->nbodies && !a->chunked && m.has_body)
		ok = false;
	if (a->has_error != m.has_error || (a->has_error && !args_match(&weargs, &m.eargs)))
		ok = false;
	if (m.extra)
		ok = false;
	if (a->version == 3 && !a->response && a->abort != m.has_error)
		ok = false;
	if (!ok) {
		describe_dmsg(actual, &m, a->response);
		sw__cf_appendf(actual, " (at offset %zu)", start);
	}
	verdict = ok;
out:
	sw_v3_dec_del(d3);
	sw_v12_dec_del(m.v12);
	items_free(&m.args);
	items_free(&m.eargs);
	sw_buf_fini(&m.args_text);
	sw_buf_fini(&m.body);
	sw_buf_fini(&wbody);
	items_free(&wargs);
	items_free(&wbodies);
	items_free(&weargs);
	return rc < 0 ? (rc == SW_ERR_NOMEM ? rc : 0) : verdict;
}

static int match_raw(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                     sw_buf *actual)
{
	char err[200];
	sw_buf want;
	sw_buf_init(&want, NULL);
	int rc = sw_cf_eval(a->raw, ctx, &want, err, sizeof err);
	if (rc < 0) {
		sw_buf_fini(&want);
		if (rc == SW_ERR_NOMEM)
			return rc;
		sw__cf_appendf(actual, "cannot evaluate the expectation: %s", err);
		return 0;
	}
	int verdict = 1;
	for (;;) {
		size_t have = c->rx.len - c->pos;
		size_t cmp = have < want.len ? have : want.len;
		if (cmp && memcmp(c->rx.data + c->pos, want.data, cmp) != 0) {
			verdict = 0;
			break;
		}
		if (have >= want.len)
			break;
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM) {
			sw_buf_fini(&want);
			return f;
		}
		if (f <= 0) {
			verdict = 0;
			sw__cf_appendf(actual, "%s after %zu bytes; ", f == 0 ? "end of stream" : "time limit reached",
			               have);
			break;
		}
	}
	if (verdict) {
		c->pos += want.len;
	} else {
		size_t have = c->rx.len - c->pos;
		sw_buf_append_str(actual, "raw ");
		sw__cf_quote(actual, c->rx.data + c->pos, have < want.len + 64 ? have : want.len + 64, SHOW_MAX);
		/* Point at the first differing byte. */
		size_t k = 0;
		while (k < have && k < want.len && c->rx.data[c->pos + k] == want.data[k])
			k++;
		if (k < have && k < want.len)
			sw__cf_appendf(actual, " (first difference at byte %zu of the expected %zu)", k, want.len);
	}
	sw_buf_fini(&want);
	return verdict;
}

static int match_eof(sw__cf_conn *c, int64_t deadline, sw_buf *actual)
{
	for (;;) {
		if (c->rx.len > c->pos) {
			sw_buf_append_str(actual, "more bytes instead of the end of stream: ");
			sw__cf_quote(actual, c->rx.data + c->pos, c->rx.len - c->pos, SHOW_MAX);
			return 0;
		}
		if (c->eof)
			return 1;
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM)
			return f;
		if (f == SW_ERR_TIMEOUT) {
			sw_buf_append_str(actual, "the connection stayed open until the time limit");
			return 0;
		}
	}
}

/* Silence lasts until `deadline` (the caller computes it from the scaled
 * duration of the atom). */
static int match_silence(sw__cf_conn *c, int64_t deadline, sw_buf *actual)
{
	for (;;) {
		if (c->rx.len > c->pos) {
			sw_buf_append_str(actual, "bytes during the silence: ");
			sw__cf_quote(actual, c->rx.data + c->pos, c->rx.len - c->pos, SHOW_MAX);
			return 0;
		}
		if (c->eof)
			return 1; /* a closed connection is silent too */
		int f = sw__cf_conn_fill(c, deadline);
		if (f == SW_ERR_NOMEM)
			return f;
		if (f == SW_ERR_TIMEOUT)
			return 1;
	}
}

int sw__cf_match(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                 sw_buf *actual, bool *unknown)
{
	*unknown = false;
	switch (a->kind) {
	case SW_CF_RAW:
		return match_raw(c, a, ctx, deadline, actual);
	case SW_CF_MSG:
		return match_msg(c, a, ctx, deadline, actual, unknown);
	case SW_CF_EOF:
		return match_eof(c, deadline, actual);
	case SW_CF_SILENCE:
		return match_silence(c, deadline, actual);
	}
	return 0;
}
