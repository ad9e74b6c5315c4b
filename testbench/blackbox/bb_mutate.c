/*
 * Mutation.  Session `run` of a campaign is a pure function of (seed, run):
 * one PRNG stream (splitmix64) seeded from both picks the seed session, a
 * window of its requests, maybe a stateful prologue, and 1 to 4 mutations.
 * A mutation either changes a structured field (verb, argument, version,
 * body parts, abort, pipelining, the medium's shape, a captured token) or
 * appends a byte operator that bb_encode.c applies to the encoded request
 * with its structure in mind (length prefixes, markers, bencode, tuple
 * separators, body framing).
 */
#include <stdlib.h>
#include <string.h>

#include "bb_impl.h"
#include "smartwire/error.h"
#include "smartwire/verbs.h"

static int set_arg(sw_bb_req *r, size_t i, const void *p, size_t n)
{
	uint8_t *d = malloc(n + 1);
	if (!d)
		return SW_ERR_NOMEM;
	if (n)
		memcpy(d, p, n);
	if (i < r->nargs)
		free(r->arg[i]);
	else {
		i = r->nargs++;
	}
	r->arg[i] = d;
	r->argn[i] = n;
	r->argcap[i] = -1;
	return 0;
}

static void push_op(sw_bb_req *r, sw_bb_opkind k, uint64_t *st)
{
	if (r->nops == SW_BB_MAX_OPS)
		return;
	sw_bb_op *o = &r->ops[r->nops++];
	o->kind = (uint8_t)k;
	o->sub = (uint8_t)sw_bb_below(st, 256);
	o->pos = (uint32_t)sw_bb_rand(st);
	o->val = (uint32_t)sw_bb_rand(st);
}

static void mutate_verb(const sw_bb_seeds *S, sw_bb_req *r, uint64_t *st)
{
	static const char *const odd[] = {"caf\xc3\xa9", "\xff",  "h\xc3\xa9llo", "get\x00x", "",
	                                  " hello",      "HELLO", "hello\x7f"};
	size_t nv;
	const sw_verb_info *all = sw_verb_all(&nv);
	switch (sw_bb_below(st, 5)) {
	case 0:
	case 1: {
		const char *v = all[sw_bb_below(st, (uint32_t)nv)].name;
		set_arg(r, 0, v, strlen(v));
		break;
	}
	case 2: {
		uint32_t k = sw_bb_below(st, sizeof odd / sizeof odd[0]);
		set_arg(r, 0, odd[k], k == 3 ? 5 : strlen(odd[k]));
		break;
	}
	case 3: {
		size_t n;
		const sw_slice *d = sw_bb_seeds_dict(S, &n);
		if (n) {
			sw_slice t = d[sw_bb_below(st, (uint32_t)n)];
			set_arg(r, 0, t.p, t.n);
		}
		break;
	}
	default: {
		uint8_t big[300];
		memset(big, 'A' + (int)sw_bb_below(st, 26), sizeof big);
		set_arg(r, 0, big, 1 + sw_bb_below(st, sizeof big));
		break;
	}
	}
}

static void mutate_arg(const sw_bb_seeds *S, sw_bb_req *r, uint64_t *st)
{
	size_t n;
	const sw_slice *d = sw_bb_seeds_dict(S, &n);
	uint32_t what = sw_bb_below(st, 6);
	if (what == 0 && r->nargs > 1) {
		free(r->arg[--r->nargs]); /* one argument fewer */
		return;
	}
	size_t i = r->nargs > 1 ? 1 + sw_bb_below(st, (uint32_t)r->nargs - 1) : 1;
	if (what == 1 && r->nargs < SW_BB_MAX_ARGS)
		i = r->nargs; /* one more */
	if (what == 2) {
		uint8_t big[2048];
		memset(big, '/', sizeof big);
		for (size_t k = 1; k < sizeof big; k += 3)
			big[k] = '.', big[k + 1 < sizeof big ? k + 1 : k] = '.';
		set_arg(r, i, big, 64 + sw_bb_below(st, sizeof big - 64));
		return;
	}
	if (n) {
		sw_slice t =
		    d[sw_bb_below(st, what == 3 ? (n < 40 ? (uint32_t)n : 40) : (uint32_t)n)];
		set_arg(r, i, t.p, t.n);
	}
}

void sw_bb_mutate_req(const sw_bb_seeds *S, sw_bb_session *ss, size_t i, uint64_t *st)
{
	sw_bb_req *r = &ss->v[i];
	static const uint8_t weights[SW_BB_NOP] = {5, 6, 5, 3, 4, 3, 4, 3, 2, 2, 3, 0};
	uint32_t total = 0, pick;
	for (size_t k = 0; k < SW_BB_NOP; k++)
		total += weights[k];
	pick = sw_bb_below(st, total);
	sw_bb_opkind k = 0;
	while (pick >= weights[k])
		pick -= weights[k++];
	if (r->raw && (k == SW_BB_OP_VERB || k == SW_BB_OP_ARG))
		k = SW_BB_OP_BYTE;
	switch (k) {
	case SW_BB_OP_VERB: mutate_verb(S, r, st); break;
	case SW_BB_OP_ARG: mutate_arg(S, r, st); break;
	case SW_BB_OP_MARKER:
		if (!r->raw && sw_bb_below(st, 2)) {
			r->version =
			    1 + (int)((r->version + sw_bb_below(st, 2)) % 3); /* another version */
			break;
		}
		push_op(r, k, st);
		break;
	case SW_BB_OP_BODY:
		if (!r->raw && r->version == 3 && sw_bb_below(st, 2)) {
			switch (sw_bb_below(st, 3)) {
			case 0:
				r->nparts = (uint8_t)(2 + sw_bb_below(st, 4));
				r->has_body = true;
				break;
			case 1: r->abort = true; break;
			default: r->has_body = !r->has_body; break;
			}
			break;
		}
		push_op(r, k, st);
		break;
	case SW_BB_OP_PIPE:
		if (i + 1 < ss->n)
			r->pipelined = true;
		else
			push_op(r, SW_BB_OP_BYTE, st);
		break;
	case SW_BB_OP_SHAPE:
		r->shape = (uint8_t)(1 + sw_bb_below(st, SW_BB_NSHAPE - 1));
		r->k =
		    r->shape == SW_BB_PAUSE ? 20 + sw_bb_below(st, 200) : (uint32_t)sw_bb_rand(st);
		break;
	default: push_op(r, k, st); break;
	}
	ss->ops_used |= 1u << k;
}

/* A stateful prologue: lock the branch (and its repository), feed the
 * tokens of the answer to the requests after it, unlock at the end. */
static void add_lock_chain(sw_bb_session *s, uint64_t *st)
{
	if (s->n + 2 > SW_BB_MAX_REQS)
		return;
	static const char *const paths[] = {"standalone/", "tagged/", "shared/branch/"};
	const char *p = paths[sw_bb_below(st, 3)];
	memmove(&s->v[1], &s->v[0], s->n * sizeof s->v[0]);
	s->n++;
	sw_bb_req *l = &s->v[0];
	memset(l, 0, sizeof *l);
	l->version = 3;
	l->capture_slot = 0;
	l->capture_arg = 1;
	set_arg(l, 0, "Branch.lock_write", 17);
	set_arg(l, 1, p, strlen(p));
	set_arg(l, 2, "", 0);
	set_arg(l, 3, "", 0);
	/* a second capture of the same answer: the repository token */
	sw_bb_req *u = &s->v[s->n++];
	memset(u, 0, sizeof *u);
	u->version = 3;
	u->capture_slot = -1;
	set_arg(u, 0, "Branch.unlock", 13);
	set_arg(u, 1, p, strlen(p));
	set_arg(u, 2, "", 0);
	set_arg(u, 3, "", 0);
	u->argcap[2] = 0;
	/* requests in between that take a branch token use the captured one */
	for (size_t i = 1; i + 1 < s->n; i++) {
		sw_bb_req *r = &s->v[i];
		if (r->raw || r->nargs < 3 || r->argn[0] < 7 ||
		    memcmp(r->arg[0], "Branch.", 7) != 0)
			continue;
		r->argcap[2] = 0;
	}
	s->allow_writes = true;
	s->bzr_fixture = true;
	s->ops_used |= 1u << SW_BB_OP_STATE;
}

int sw_bb_generate(const sw_bb_seeds *S, uint64_t seed, uint64_t run, sw_bb_session *out)
{
	uint64_t st = seed * 0x2545f4914f6cdd1dull ^ (run + 1) * 0x9e3779b97f4a7c15ull;
	sw_bb_rand(&st);
	const sw__bb_seed *sd = &S->v[sw_bb_below(&st, (uint32_t)S->n)];
	int rc = sw_bb_session_copy(out, &sd->s);
	if (rc < 0)
		return rc;
	out->ops_used = 0;
	/* A window of at most 6 requests. */
	size_t start = sw_bb_below(&st, (uint32_t)out->n);
	size_t len = 1 + sw_bb_below(&st, 6);
	while (start > 0) {
		sw__bb_req_remove(out, 0);
		start--;
	}
	while (out->n > len)
		sw__bb_req_remove(out, out->n - 1);
	if (out->bzr_fixture && sw_bb_below(&st, 4) == 0)
		add_lock_chain(out, &st);
	uint32_t m = 1 + sw_bb_below(&st, 4);
	for (uint32_t k = 0; k < m && out->n; k++)
		sw_bb_mutate_req(S, out, sw_bb_below(&st, (uint32_t)out->n), &st);
	return 0;
}
