/*
 * Conformance runner: the messages a case sends, encoded with the reference
 * encoders (v3.h, v12.h), and the one-line descriptions of what a case
 * expects that reports print next to what came.
 *
 * A case states a message by its meaning (version, status, arguments,
 * bodies, stream error); the reference encoders turn it into bytes, so a
 * case never spells out a length prefix it could get wrong.  Headers are
 * Breezy's {"Software version": "3.3.2"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"
#include "smartwire/v12.h"
#include "smartwire/v3.h"

#define MAX_ITEMS 4096

void sw__cf_items_free(sw__cf_items *it)
{
	for (size_t i = 0; i < it->n; i++)
		free(it->v[i].p);
	free(it->v);
	it->v = NULL;
	it->n = 0;
}

int sw__cf_items_push(sw__cf_items *it, const void *p, size_t n, int wild)
{
	if (it->n >= MAX_ITEMS)
		return SW_ERR_TOO_MANY_ARGS;
	sw__cf_item *v = realloc(it->v, (it->n + 1) * sizeof *v);
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
	v[it->n].benc = false;
	it->n++;
	return 0;
}

bool sw__cf_is_benc_arg(const char *tok)
{
	size_t n = strlen(tok);
	return n > 5 && tok[n - 1] == '}' &&
	       (strncmp(tok, "int{", 4) == 0 || strncmp(tok, "ben{", 4) == 0);
}

int sw__cf_eval_args(char *const *toks, size_t n, const sw_cf_ctx *ctx, sw__cf_items *out,
                     sw_errinfo *ei)
{
	for (size_t i = 0; i < n; i++) {
		/* "!WORD": any one argument but WORD (the parser allows it only
		 * in expectations). */
		int wild = strcmp(toks[i], "*") == 0         ? 1
		           : strcmp(toks[i], "...") == 0     ? 2
		           : toks[i][0] == '!' && toks[i][1] ? 3
		                                             : 0;
		sw_buf b;
		sw_buf_init(&b, NULL);
		int rc = wild == 1 || wild == 2
		             ? 0
		             : sw_cf_eval_arg(wild == 3 ? toks[i] + 1 : toks[i], ctx, &b, ei);
		if (rc == 0)
			rc = sw__cf_ei_fill(ei, sw__cf_items_push(out, b.data, b.len, wild));
		if (rc == 0 && !wild && sw__cf_is_benc_arg(toks[i]))
			out->v[out->n - 1].benc = true;
		sw_buf_fini(&b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sw__cf_eval_bodies(char *const *exprs, size_t n, const sw_cf_ctx *ctx, sw__cf_items *out,
                       sw_errinfo *ei)
{
	for (size_t i = 0; i < n; i++) {
		sw_buf b;
		sw_buf_init(&b, NULL);
		int rc = sw_cf_eval(exprs[i], ctx, &b, ei);
		if (rc == 0)
			rc = sw__cf_ei_fill(ei, sw__cf_items_push(out, b.data, b.len, 0));
		sw_buf_fini(&b);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static sw_slice *as_slices(const sw__cf_items *it)
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

static bool any_benc(const sw__cf_items *it)
{
	for (size_t i = 0; i < it->n; i++)
		if (it->v[i].benc)
			return true;
	return false;
}

/* A v3 message whose args hold bencoded elements (int{} and ben{}): the
 * reference encoders take byte strings only, so the start of the message
 * is written here with the same building blocks. */
static int v3_start_raw(sw_buf *out, const sw_cf_atom *a, const sw__cf_items *args)
{
	sw_buf l;
	sw_buf_init(&l, NULL);
	int rc = sw_buf_append_byte(&l, 'l');
	for (size_t i = 0; rc == 0 && i < args->n; i++) {
		if (!args->v[i].benc)
			rc = sw__cf_appendf(&l, "%zu:", args->v[i].n);
		if (rc == 0)
			rc = sw_buf_append(&l, args->v[i].p, args->v[i].n);
	}
	if (rc == 0)
		rc = sw_buf_append_byte(&l, 'e');
	if (rc == 0)
		rc = sw_v3_put_marker(out);
	if (rc == 0)
		rc = sw_v3_put_default_headers(out);
	if (rc == 0 && a->response)
		rc = sw_v3_put_byte(out, a->status != 0 ? 'S' : 'E');
	if (rc == 0)
		rc = sw_buf_append_byte(out, 's');
	if (rc == 0)
		rc = sw_buf_append_u32be(out, (uint32_t)l.len);
	if (rc == 0)
		rc = sw_buf_append(out, l.data, l.len);
	sw_buf_fini(&l);
	return rc;
}

static int encode_v3_benc(sw_buf *out, const sw_cf_atom *a, const sw__cf_items *args,
                          const sw_slice *sb, size_t nb, const sw_slice *se, size_t ne)
{
	int rc = v3_start_raw(out, a, args);
	for (size_t i = 0; rc == 0 && i < nb; i++)
		rc = sw_v3_put_bytes(out, sb[i].p, sb[i].n);
	if (rc == 0 && a->abort)
		return sw_v3_encode_request_abort(out);
	if (rc == 0 && a->has_error)
		return sw_v3_encode_stream_error(out, se, ne);
	return rc ? rc : sw_v3_put_end(out);
}

int sw__cf_encode(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei)
{
	sw__cf_ei_reset(ei);
	if (a->kind == SW_CF_RAW)
		return sw_cf_eval(a->raw, ctx, out, ei);
	if (a->kind != SW_CF_MSG)
		return sw__cf_ei_fill(ei, SW_ERR_INVALID_ARGUMENT);
	sw__cf_items args = {0}, bodies = {0}, eargs = {0};
	sw_slice *sa = NULL, *sb = NULL, *se = NULL;
	int rc = sw__cf_eval_args(a->args, a->nargs, ctx, &args, ei);
	if (rc == 0)
		rc = sw__cf_eval_bodies(a->bodies, a->nbodies, ctx, &bodies, ei);
	if (rc == 0)
		rc = sw__cf_eval_args(a->eargs, a->neargs, ctx, &eargs, ei);
	if (rc == 0 &&
	    (!(sa = as_slices(&args)) || !(sb = as_slices(&bodies)) || !(se = as_slices(&eargs))))
		rc = sw__cf_ei_fill(ei, SW_ERR_NOMEM);
	if (rc < 0)
		goto done;
	const sw_slice *hdr = sw_v3_default_header_kv;
	size_t hp = SW_V3_DEFAULT_HEADER_PAIRS;
	if (any_benc(&args) && a->version != 3) {
		rc = sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0,
		                    "int{} and ben{} arguments need a v3 message");
		goto done;
	}
	if (any_benc(&args)) {
		rc = encode_v3_benc(out, a, &args, sb, bodies.n, se, eargs.n);
	} else if (a->version == 3 && !a->response) {
		if (bodies.n <= 1 && !a->abort)
			rc = sw_v3_encode_request(out, hdr, hp, sa, args.n,
			                          bodies.n ? &sb[0] : NULL);
		else {
			rc = sw_v3_encode_request_start(out, hdr, hp, sa, args.n);
			for (size_t i = 0; rc == 0 && i < bodies.n; i++)
				rc = sw_v3_put_bytes(out, sb[i].p, sb[i].n);
			if (rc == 0)
				rc =
				    a->abort ? sw_v3_encode_request_abort(out) : sw_v3_put_end(out);
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
				rc = a->has_error ? sw_v3_encode_stream_error(out, se, eargs.n)
				                  : sw_v3_put_end(out);
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
	if (rc < 0)
		sw_errinfo_set(ei, rc, 0, "cannot encode the message: %s", sw_strerror(rc));
done:
	free(sa);
	free(sb);
	free(se);
	sw__cf_items_free(&args);
	sw__cf_items_free(&bodies);
	sw__cf_items_free(&eargs);
	return rc;
}

int sw__cf_items_describe(sw_buf *out, const sw__cf_items *it)
{
	int rc = sw_buf_append_byte(out, '[');
	for (size_t i = 0; rc == 0 && i < it->n; i++) {
		if (i)
			rc = sw_buf_append_str(out, ", ");
		if (rc == 0 && it->v[i].benc) {
			/* A bencoded element is shown as the argument that writes it. */
			rc = sw_buf_append_str(out, "ben{");
			if (rc == 0)
				rc = sw__cf_quote(out, it->v[i].p, it->v[i].n, SW__CF_SHOW_MAX);
			if (rc == 0)
				rc = sw_buf_append_byte(out, '}');
		} else if (rc == 0)
			rc = it->v[i].wild == 1 ? sw_buf_append_str(out, "*")
			     : it->v[i].wild == 2
			         ? sw_buf_append_str(out, "...")
			         : (it->v[i].wild == 3 ? sw_buf_append_str(out, "not ") : 0) ||
			               sw__cf_quote(out, it->v[i].p, it->v[i].n, SW__CF_SHOW_MAX);
	}
	return rc ? rc : sw_buf_append_byte(out, ']');
}

const char *sw__cf_status_word(int version, int status)
{
	if (status < 0)
		return "";
	if (version == 2)
		return status ? " success" : " failed";
	return status ? " success" : " error";
}

int sw__cf_items_join(const sw__cf_items *it, sw_buf *out)
{
	for (size_t i = 0; i < it->n; i++)
		if (sw_buf_append(out, it->v[i].p, it->v[i].n) < 0)
			return SW_ERR_NOMEM;
	return 0;
}

int sw__cf_describe(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out)
{
	sw_errinfo ei; /* a bad expression was refused by the parser */
	sw_buf b;
	int rc = 0;
	switch (a->kind) {
	case SW_CF_EOF: return sw_buf_append_str(out, "end of stream");
	case SW_CF_SILENCE: return sw__cf_appendf(out, "silence for %u ms", a->ms);
	case SW_CF_RAW:
		sw_buf_init(&b, NULL);
		rc = sw_cf_eval(a->raw, ctx, &b, &ei);
		if (rc == 0)
			rc = sw_buf_append_str(out, "raw ");
		if (rc == 0)
			rc = sw__cf_quote(out, b.data, b.len, SW__CF_SHOW_MAX);
		sw_buf_fini(&b);
		return rc;
	case SW_CF_MSG: break;
	}
	sw__cf_items args = {0}, bodies = {0}, eargs = {0};
	rc = sw__cf_appendf(out, "v%d %s%s ", a->version, a->response ? "response" : "request",
	                    sw__cf_status_word(a->version, a->status));
	if (rc == 0)
		rc = sw__cf_eval_args(a->args, a->nargs, ctx, &args, &ei);
	if (rc == 0)
		rc = a->any_args ? sw_buf_append_str(out, "(any args)")
		                 : sw__cf_items_describe(out, &args);
	if (rc == 0)
		rc = sw__cf_eval_bodies(a->bodies, a->nbodies, ctx, &bodies, &ei);
	if (rc == 0 && a->any_body)
		rc = sw_buf_append_str(out, " body *");
	else if (rc == 0 && (bodies.n || a->chunked)) {
		sw_buf_init(&b, NULL);
		rc = sw__cf_items_join(&bodies, &b);
		if (rc == 0)
			rc = sw_buf_append_str(out, a->chunked ? " chunks " : " body ");
		if (rc == 0)
			rc = sw__cf_quote(out, b.data, b.len, SW__CF_SHOW_MAX);
		sw_buf_fini(&b);
	}
	if (rc == 0 && a->has_error) {
		rc = sw__cf_eval_args(a->eargs, a->neargs, ctx, &eargs, &ei);
		if (rc == 0)
			rc = sw_buf_append_str(out, " stream-error ");
		if (rc == 0)
			rc = sw__cf_items_describe(out, &eargs);
	}
	if (rc == 0 && a->abort)
		rc = sw_buf_append_str(out, " abort");
	sw__cf_items_free(&args);
	sw__cf_items_free(&bodies);
	sw__cf_items_free(&eargs);
	return rc < 0 && rc != SW_ERR_NOMEM ? 0 : rc;
}
