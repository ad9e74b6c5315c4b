/*
 * The fault-injecting medium: wraps any medium and applies one plan to its
 * reads and another to its writes.  Plans and their text form are
 * fault_spec.c; the semantics are specified in smartwire/fault.h.
 *
 * A wrapped medium that moves bytes without copying (smartwire/medium.h,
 * sw_medium_sendfile, sw_medium_splice_in) keeps that power through the
 * wrapper, under the same plans: sendfile counts as a write, splice_in as a
 * read (the same offsets, sizes, bursts, errors and stalls), so the fault
 * matrix covers the zero-copy path as it covers the copying one.
 */
#include <string.h>

#include "medium_impl.h"
#include "smartwire/error.h"
#include "smartwire/fault.h"

/* The state of one role (reads or writes). */
typedef struct role {
	sw_fault_plan plan;
	bool writing;
	uint64_t off;      /* bytes that passed */
	uint64_t attempts; /* for the EAGAIN/EINTR bursts */
	uint64_t rng;      /* splitmix64 state */
	uint64_t size;     /* size(k), 0 when not drawn yet */
	uint32_t k;        /* index of the size sequence (mod what matters) */
	bool sticky;       /* EOF or error reached: always return sticky_rc */
	ptrdiff_t sticky_rc;
	int sticky_errno;
	bool released;     /* stall released */
	struct {           /* this role's counters in the medium's sw_fault_stats */
		uint64_t *calls, *bytes, *inner, *eagain, *eintr, *stalled;
	} st;
} role;

typedef struct fault_medium {
	sw_medium base;
	sw_medium *inner;
	role r, w;
	sw_fault_stats st;
} fault_medium;

static const sw_medium_ops fault_ops, fault_zc_ops;

static bool is_fault(const sw_medium *m)
{
	return m && (m->ops == &fault_ops || m->ops == &fault_zc_ops);
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* size(k) of the role's sequence, or UINT64_MAX without a limit. */
static uint64_t cur_size(role *r)
{
	const sw_fault_sizes *z = r->writing ? &r->plan.write : &r->plan.read;
	if (r->size)
		return r->size;
	switch (z->kind) {
	case SW_FAULT_SIZES_LIST:
		r->size = z->v[r->k % z->n];
		break;
	case SW_FAULT_SIZES_EVERY:
		r->size = 1 + r->k % z->v[0];
		break;
	case SW_FAULT_SIZES_RAND:
		r->size = z->v[0] + splitmix64(&r->rng) % ((uint64_t)z->v[1] - z->v[0] + 1);
		break;
	default:
		return UINT64_MAX;
	}
	return r->size;
}

static bool stalled(const role *r)
{
	return r->plan.has_stall && !r->released && r->off >= r->plan.stall_at;
}

static void clamp_to(uint64_t *limit, bool has, uint64_t at, uint64_t off)
{
	if (has && at > off && at - off < *limit)
		*limit = at - off;
}

/* What happens before any inner call.  Returns true to go on with one inner
 * call of at most *limit bytes (>= 1), or false with the call's result in
 * *result (0 = EOF, or a negative error). */
static bool pre_call(fault_medium *f, role *r, size_t len, size_t *limit, ptrdiff_t *result)
{
	const sw_fault_plan *p = &r->plan;
	(*r->st.calls)++;
	if (r->sticky) {
		f->base.sys_errno = r->sticky_errno;
		*result = r->sticky_rc;
		return false;
	}
	for (;;) {
		uint64_t t = r->attempts++;
		if (p->eintr_m && t % p->eintr_m < p->eintr_k) {
			(*r->st.eintr)++;
			continue; /* retried, as the fd media retry EINTR */
		}
		if (p->eagain_m && t % p->eagain_m < p->eagain_k) {
			(*r->st.eagain)++;
			*result = SW_ERR_WOULD_BLOCK;
			return false;
		}
		break;
	}
	if (p->has_error && r->off >= p->error_at) {
		r->sticky = true;
		r->sticky_rc = r->writing ? sw__map_write_errno(&f->base, p->error_errno)
		                          : sw__map_read_errno(&f->base, p->error_errno);
		r->sticky_errno = p->error_errno;
		*result = r->sticky_rc;
		return false;
	}
	if (!r->writing && p->has_eof && r->off >= p->eof_at) {
		r->sticky = true;
		r->sticky_rc = 0;
		r->sticky_errno = 0;
		f->base.sys_errno = 0;
		*result = 0;
		return false;
	}
	if (stalled(r)) {
		(*r->st.stalled)++;
		*result = SW_ERR_WOULD_BLOCK;
		return false;
	}
	uint64_t lim = cur_size(r);
	if (len < lim)
		lim = len;
	clamp_to(&lim, p->has_error, p->error_at, r->off);
	clamp_to(&lim, !r->writing && p->has_eof, p->eof_at, r->off);
	clamp_to(&lim, p->has_stall && !r->released, p->stall_at, r->off);
	*limit = (size_t)lim; /* <= len */
	(*r->st.inner)++;
	return true;
}

/* Accounts for the inner call's result `n` and returns it. */
static ptrdiff_t post_call(fault_medium *f, role *r, ptrdiff_t n)
{
	if (n > 0) {
		r->off += (uint64_t)n;
		*r->st.bytes += (uint64_t)n;
		r->k++;
		r->size = 0;
	} else {
		/* An error, or an end of stream clean or mapped from an errno. */
		f->base.sys_errno = f->inner->sys_errno;
	}
	return n;
}

static ptrdiff_t fault_read(sw_medium *m, void *buf, size_t len)
{
	fault_medium *f = (fault_medium *)m;
	size_t limit;
	ptrdiff_t rc;
	if (!pre_call(f, &f->r, len, &limit, &rc))
		return rc;
	return post_call(f, &f->r, f->inner->ops->read(f->inner, buf, limit));
}

static ptrdiff_t fault_write(sw_medium *m, const void *buf, size_t len)
{
	fault_medium *f = (fault_medium *)m;
	size_t limit;
	ptrdiff_t rc;
	if (!pre_call(f, &f->w, len, &limit, &rc))
		return rc;
	return post_call(f, &f->w, f->inner->ops->write(f->inner, buf, limit));
}

static ptrdiff_t fault_sendfile(sw_medium *m, int fd, uint64_t off, size_t len, int *src_errno)
{
	fault_medium *f = (fault_medium *)m;
	if (!f->inner->ops->sendfile)
		return SW_ERR_INVALID_ARGUMENT;
	size_t limit;
	ptrdiff_t rc;
	if (!pre_call(f, &f->w, len, &limit, &rc))
		return rc;
	rc = f->inner->ops->sendfile(f->inner, fd, off, limit, src_errno);
	/* The file's failure is not the medium's: the role's state is kept. */
	return rc == 0 && *src_errno ? 0 : post_call(f, &f->w, rc);
}

static ptrdiff_t fault_splice_in(sw_medium *m, int fd, size_t len, int *sink_errno)
{
	fault_medium *f = (fault_medium *)m;
	if (!f->inner->ops->splice_in)
		return SW_ERR_INVALID_ARGUMENT;
	size_t limit;
	ptrdiff_t rc;
	if (!pre_call(f, &f->r, len, &limit, &rc))
		return rc;
	rc = f->inner->ops->splice_in(f->inner, fd, limit, sink_errno);
	return rc == 0 && *sink_errno ? 0 : post_call(f, &f->r, rc);
}

static int fault_shutdown_write(sw_medium *m)
{
	fault_medium *f = (fault_medium *)m;
	int rc = f->inner->ops->shutdown_write(f->inner);
	if (rc < 0)
		m->sys_errno = f->inner->sys_errno;
	return rc;
}

static int fault_wait_readable(sw_medium *m, int timeout_ms)
{
	fault_medium *f = (fault_medium *)m;
	const role *r = &f->r;
	const sw_fault_plan *p = &r->plan;
	if (r->sticky || (p->has_error && r->off >= p->error_at) ||
	    (p->has_eof && r->off >= p->eof_at))
		return 1;
	if (stalled(r))
		return SW_ERR_TIMEOUT; /* as if the idle time ran out */
	int rc = f->inner->ops->wait_readable(f->inner, timeout_ms);
	if (rc < 0)
		m->sys_errno = f->inner->sys_errno;
	return rc;
}

static void fault_close(sw_medium *m)
{
	fault_medium *f = (fault_medium *)m;
	sw_medium_del(f->inner);
	sw_free(m->mem, f);
}

static const sw_medium_ops fault_ops = {
    "fault", fault_read, fault_write, fault_shutdown_write, fault_wait_readable, fault_close,
    NULL,    NULL,       NULL,
};
/* The same over a medium that moves bytes without copying. */
static const sw_medium_ops fault_zc_ops = {
    "fault",     fault_read, fault_write,    fault_shutdown_write, fault_wait_readable,
    fault_close, NULL,       fault_sendfile, fault_splice_in,
};

static void role_init(role *r, const sw_fault_plan *p, bool writing, sw_fault_stats *st)
{
	memset(r, 0, sizeof *r);
	if (p)
		r->plan = *p;
	r->writing = writing;
	r->rng = r->plan.seed ^ (writing ? 0x7772697465ULL : 0x72656164ULL);
	if (writing) {
		r->st.calls = &st->write_calls;
		r->st.bytes = &st->write_bytes;
		r->st.inner = &st->inner_writes;
		r->st.eagain = &st->eagain_writes;
		r->st.eintr = &st->eintr_writes;
		r->st.stalled = &st->stalled_writes;
	} else {
		r->st.calls = &st->read_calls;
		r->st.bytes = &st->read_bytes;
		r->st.inner = &st->inner_reads;
		r->st.eagain = &st->eagain_reads;
		r->st.eintr = &st->eintr_reads;
		r->st.stalled = &st->stalled_reads;
	}
}

int sw_fault_wrap(sw_medium **out, sw_medium *inner, const sw_fault_plan *read_plan,
                  const sw_fault_plan *write_plan)
{
	/* An invalid plan would divide by zero (an empty size list) or retry
	 * EINTR forever (eintr=K/M with K >= M). */
	if (!inner || !out || (read_plan && !sw__fault_plan_valid(read_plan)) ||
	    (write_plan && !sw__fault_plan_valid(write_plan))) {
		sw_medium_del(inner);
		return SW_ERR_INVALID_ARGUMENT;
	}
	fault_medium *f = sw_malloc(inner->mem, sizeof *f);
	if (!f) {
		sw_medium_del(inner);
		return SW_ERR_NOMEM;
	}
	memset(f, 0, sizeof *f);
	f->base.ops = inner->ops->sendfile || inner->ops->splice_in ? &fault_zc_ops : &fault_ops;
	f->base.mem = inner->mem;
	f->inner = inner;
	role_init(&f->r, read_plan, false, &f->st);
	role_init(&f->w, write_plan, true, &f->st);
	*out = &f->base;
	return 0;
}

int sw_fault_release_stall(sw_medium *m)
{
	if (!is_fault(m))
		return SW_ERR_INVALID_ARGUMENT;
	fault_medium *f = (fault_medium *)m;
	f->r.released = true;
	f->w.released = true;
	return 0;
}

int sw_fault_get_stats(const sw_medium *m, sw_fault_stats *out)
{
	if (!is_fault(m) || !out)
		return SW_ERR_INVALID_ARGUMENT;
	*out = ((const fault_medium *)m)->st;
	return 0;
}

sw_medium *sw_fault_inner(sw_medium *m)
{
	return is_fault(m) ? ((fault_medium *)m)->inner : NULL;
}
