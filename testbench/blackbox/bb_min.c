/*
 * Minimisation: delta debugging (Zeller's ddmin, simplified to removing
 * chunks of halving size) over the session's requests, then each request's
 * mutations (byte operators, shape, pipelining, body parts), then the bytes
 * of raw requests, keeping a change only when the session still gives a
 * finding of the same class.  Bounded by a number of executions: a hang
 * costs its whole bound each time.
 */
#include <stdlib.h>
#include <string.h>

#include "bb_impl.h"

typedef struct mn {
	const sw_bb_opts *o;
	sw_bb_class cls;
	size_t budget, used;
} mn;

/* Runs candidate c; true (and c kept by the caller) when it still finds. */
static bool still(mn *M, const sw_bb_session *c)
{
	if (M->used >= M->budget || c->n == 0)
		return false;
	M->used++;
	sw_bb_outcome out;
	if (sw_bb_exec(M->o, c, &out) < 0)
		return false;
	bool ok = out.found && out.cls == M->cls;
	sw_bb_outcome_fini(&out);
	return ok;
}

/* Tries candidate `c` (owned): on success it replaces *s. */
static bool try_take(mn *M, sw_bb_session *s, sw_bb_session *c)
{
	if (still(M, c)) {
		sw_bb_session_free(s);
		*s = *c;
		return true;
	}
	sw_bb_session_free(c);
	return false;
}

static void drop_requests(mn *M, sw_bb_session *s)
{
	for (size_t chunk = s->n / 2 ? s->n / 2 : 1; chunk >= 1; chunk /= 2) {
		for (size_t i = 0; i + chunk <= s->n && s->n > 1;) {
			sw_bb_session c;
			if (sw_bb_session_copy(&c, s) < 0)
				return;
			for (size_t k = 0; k < chunk && c.n > 1; k++)
				sw__bb_req_remove(&c, i);
			if (!try_take(M, s, &c))
				i += chunk;
		}
		if (chunk == 1)
			break;
	}
}

static void simplify_requests(mn *M, sw_bb_session *s)
{
	for (size_t i = 0; i < s->n; i++) {
		/* each byte operator */
		for (size_t k = 0; k < s->v[i].nops;) {
			sw_bb_session c;
			if (sw_bb_session_copy(&c, s) < 0)
				return;
			sw_bb_req *r = &c.v[i];
			memmove(&r->ops[k], &r->ops[k + 1], (r->nops - k - 1) * sizeof r->ops[0]);
			r->nops--;
			if (!try_take(M, s, &c))
				k++;
		}
		/* the medium and framing changes, one at a time */
		for (int what = 0; what < 4; what++) {
			const sw_bb_req *r0 = &s->v[i];
			if ((what == 0 && r0->shape == SW_BB_WHOLE) ||
			    (what == 1 && !r0->pipelined) || (what == 2 && r0->nparts <= 1) ||
			    (what == 3 && !r0->abort))
				continue;
			sw_bb_session c;
			if (sw_bb_session_copy(&c, s) < 0)
				return;
			sw_bb_req *r = &c.v[i];
			if (what == 0)
				r->shape = SW_BB_WHOLE;
			else if (what == 1)
				r->pipelined = false;
			else if (what == 2)
				r->nparts = 1;
			else
				r->abort = false;
			try_take(M, s, &c);
		}
	}
}

static void shrink_raw(mn *M, sw_bb_session *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (!s->v[i].raw)
			continue;
		for (size_t chunk = s->v[i].nbody / 2; chunk >= 1; chunk /= 2) {
			for (size_t at = 0; at + chunk <= s->v[i].nbody;) {
				sw_bb_session c;
				if (sw_bb_session_copy(&c, s) < 0)
					return;
				sw_bb_req *r = &c.v[i];
				memmove(r->body + at, r->body + at + chunk, r->nbody - at - chunk);
				r->nbody -= chunk;
				if (!try_take(M, s, &c))
					at += chunk;
				if (M->used >= M->budget)
					return;
			}
			if (chunk == 1)
				break;
		}
	}
}

size_t sw_bb_minimise(const sw_bb_opts *o, sw_bb_session *s, sw_bb_class cls, size_t budget)
{
	mn M = {.o = o, .cls = cls, .budget = budget};
	drop_requests(&M, s);
	simplify_requests(&M, s);
	drop_requests(&M, s);
	shrink_raw(&M, s);
	return M.used;
}
