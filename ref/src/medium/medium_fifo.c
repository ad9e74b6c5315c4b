/*
 * The in-process fifo pair: two endpoints joined by two unbounded byte
 * queues, for tests and fuzzers.
 *
 * One mutex and one condition variable (on CLOCK_MONOTONIC) protect the
 * shared link, so the endpoints can live in two threads.  In single-threaded
 * use an endpoint has a pump (typically "run one step of the peer"), called
 * without the lock when the queue is empty; what the pump cannot produce is
 * reported as SW_ERR_WOULD_BLOCK, which makes a deadlock in a test a
 * deterministic stall instead of a hang.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "medium_impl.h"
#include "smartwire/error.h"

typedef struct fifo_queue {
	uint8_t *data;
	size_t off, len, cap; /* queued bytes are data[off, off + len) */
	bool write_shut;      /* the writer will add nothing more */
} fifo_queue;

typedef struct fifo_link {
	const sw_mem *mem;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	fifo_queue q[2]; /* q[i]: bytes waiting for endpoint i to read them */
	bool closed[2];
	int refs;
} fifo_link;

typedef struct fifo_end {
	sw_medium base;
	fifo_link *link;
	int side;
	int (*pump)(void *ud);
	void *pump_ud;
	int timeout_ms;
} fifo_end;

static const sw_medium_ops fifo_ops;

static fifo_end *as_fifo(const sw_medium *m)
{
	if (m && m->ops != &fifo_ops)
		m = sw_fault_inner((sw_medium *)m);
	return m && m->ops == &fifo_ops ? (fifo_end *)m : NULL;
}

/* Waits on the condition variable until `deadline` (monotonic ms, -1: no
 * bound).  Returns false when the deadline passed. */
static bool wait_until(fifo_link *l, int64_t deadline)
{
	if (deadline < 0) {
		pthread_cond_wait(&l->cv, &l->mu);
		return true;
	}
	if (sw_deadline_left(deadline) == 0)
		return false;
	struct timespec ts = {(time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000L};
	return pthread_cond_timedwait(&l->cv, &l->mu, &ts) != ETIMEDOUT;
}

/* The shared wait of read and wait_readable, called with the lock held and
 * returning with it held: 1 when data is queued, 0 at EOF, or a negative
 * error (SW_ERR_WOULD_BLOCK, SW_ERR_TIMEOUT, a pump error).  The clock is
 * read only if it has to wait (reads of queued bytes are the common case,
 * and a serve loop makes one per piece). */
static int wait_data(fifo_end *e, int timeout_ms)
{
	fifo_link *l = e->link;
	fifo_queue *q = &l->q[e->side];
	bool pumped_dry = false, timed = false;
	int64_t deadline = -1;
	for (;;) {
		if (q->len)
			return 1;
		if (q->write_shut || l->closed[!e->side])
			return 0;
		if (e->pump) {
			if (pumped_dry)
				return SW_ERR_WOULD_BLOCK;
			pthread_mutex_unlock(&l->mu);
			int r = e->pump(e->pump_ud);
			pthread_mutex_lock(&l->mu);
			if (r < 0)
				return r;
			pumped_dry = r == 0;
			continue;
		}
		if (!timed) {
			deadline = sw_deadline_ms(timeout_ms);
			timed = true;
		}
		if (!wait_until(l, deadline) && !q->len && !q->write_shut && !l->closed[!e->side])
			return SW_ERR_TIMEOUT;
	}
}

static ptrdiff_t fifo_read(sw_medium *m, void *buf, size_t len)
{
	fifo_end *e = (fifo_end *)m;
	fifo_link *l = e->link;
	fifo_queue *q = &l->q[e->side];
	pthread_mutex_lock(&l->mu);
	int rc = wait_data(e, e->timeout_ms);
	ptrdiff_t n = rc;
	if (rc == 0)
		m->sys_errno = 0; /* a clean end of stream */
	if (rc > 0) {
		n = (ptrdiff_t)(len < q->len ? len : q->len);
		memcpy(buf, q->data + q->off, (size_t)n);
		q->off += (size_t)n;
		q->len -= (size_t)n;
		if (q->len == 0)
			q->off = 0;
	}
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* Makes room for `n` more bytes at the end of q.  Returns 0 or SW_ERR_NOMEM. */
static int reserve(const sw_mem *mem, fifo_queue *q, size_t n)
{
	if (q->cap - q->off - q->len >= n)
		return 0;
	if (q->off) {
		memmove(q->data, q->data + q->off, q->len);
		q->off = 0;
		if (q->cap - q->len >= n)
			return 0;
	}
	if (n > SIZE_MAX / 2 - q->len)
		return SW_ERR_NOMEM;
	size_t cap = q->cap ? q->cap : 256;
	while (cap < q->len + n)
		cap *= 2;
	uint8_t *p = sw_realloc(mem, q->data, cap);
	if (!p)
		return SW_ERR_NOMEM;
	q->data = p;
	q->cap = cap;
	return 0;
}

static ptrdiff_t fifo_write(sw_medium *m, const void *buf, size_t len)
{
	fifo_end *e = (fifo_end *)m;
	fifo_link *l = e->link;
	fifo_queue *q = &l->q[!e->side];
	ptrdiff_t rc;
	pthread_mutex_lock(&l->mu);
	if (q->write_shut) {
		rc = SW_ERR_CLOSED;
	} else if (l->closed[!e->side]) {
		m->sys_errno = EPIPE;
		rc = SW_ERR_CONNECTION_RESET;
	} else if ((rc = reserve(l->mem, q, len)) == 0) {
		memcpy(q->data + q->off + q->len, buf, len);
		q->len += len;
		rc = (ptrdiff_t)len;
		pthread_cond_broadcast(&l->cv);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static int fifo_shutdown_write(sw_medium *m)
{
	fifo_end *e = (fifo_end *)m;
	fifo_link *l = e->link;
	pthread_mutex_lock(&l->mu);
	l->q[!e->side].write_shut = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

static int fifo_wait_readable(sw_medium *m, int timeout_ms)
{
	fifo_end *e = (fifo_end *)m;
	fifo_link *l = e->link;
	pthread_mutex_lock(&l->mu);
	int rc = wait_data(e, timeout_ms < 0 ? e->timeout_ms : timeout_ms);
	pthread_mutex_unlock(&l->mu);
	return rc >= 0 ? 1 : rc;
}

static void link_free(fifo_link *l)
{
	pthread_cond_destroy(&l->cv);
	pthread_mutex_destroy(&l->mu);
	sw_free(l->mem, l->q[0].data);
	sw_free(l->mem, l->q[1].data);
	sw_free(l->mem, l);
}

static void fifo_close(sw_medium *m)
{
	fifo_end *e = (fifo_end *)m;
	fifo_link *l = e->link;
	pthread_mutex_lock(&l->mu);
	l->closed[e->side] = true;
	fifo_queue *q = &l->q[e->side]; /* nobody will read these bytes now */
	sw_free(l->mem, q->data);
	memset(q, 0, sizeof *q);
	pthread_cond_broadcast(&l->cv);
	bool last = --l->refs == 0;
	pthread_mutex_unlock(&l->mu);
	if (last)
		link_free(l);
	sw_free(m->mem, e);
}

static const sw_medium_ops fifo_ops = {
    "fifo", fifo_read, fifo_write, fifo_shutdown_write, fifo_wait_readable, fifo_close,
    NULL,   NULL,      NULL, /* no descriptors, so nothing moves without copying */
};

static fifo_end *end_new(fifo_link *l, int side)
{
	fifo_end *e = sw_malloc(l->mem, sizeof *e);
	if (!e)
		return NULL;
	memset(e, 0, sizeof *e);
	e->base.ops = &fifo_ops;
	e->base.mem = l->mem;
	e->link = l;
	e->side = side;
	e->timeout_ms = SW_FIFO_TIMEOUT_MS_DEFAULT;
	return e;
}

static int link_new(const sw_mem *mem, fifo_link **out)
{
	fifo_link *l = sw_malloc(mem, sizeof *l);
	if (!l)
		return SW_ERR_NOMEM;
	memset(l, 0, sizeof *l);
	l->mem = mem;
	pthread_condattr_t ca;
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		sw_free(mem, l);
		return SW_ERR_IO;
	}
	int rc = pthread_condattr_init(&ca);
	if (rc == 0) {
		rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (rc == 0)
			rc = pthread_cond_init(&l->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (rc != 0) {
		pthread_mutex_destroy(&l->mu);
		sw_free(mem, l);
		return SW_ERR_IO;
	}
	*out = l;
	return 0;
}

/* Wraps endpoint `e` with the fault plans that concern it, if any.  Consumes
 * `e` on failure (sw_fault_wrap closes it). */
static int wrap_end(sw_medium *e, const sw_fault_plan *in, const sw_fault_plan *outp,
                    sw_medium **res)
{
	if (!in && !outp) {
		*res = e;
		return 0;
	}
	sw_fault_plan rp, wp;
	if (in)
		sw__fault_plan_reader_part(in, &rp);
	if (outp)
		sw__fault_plan_writer_part(outp, &wp);
	return sw_fault_wrap(res, e, in ? &rp : NULL, outp ? &wp : NULL);
}

int sw_fifo_pair(sw_medium **a, sw_medium **b, const sw_fault_plan *a_to_b,
                 const sw_fault_plan *b_to_a, const sw_mem *mem)
{
	if (!a || !b)
		return SW_ERR_INVALID_ARGUMENT;
	fifo_link *l;
	int rc = link_new(mem, &l);
	if (rc < 0)
		return rc;
	fifo_end *ea = end_new(l, 0);
	fifo_end *eb = ea ? end_new(l, 1) : NULL;
	if (!eb) {
		sw_free(mem, ea);
		link_free(l);
		return SW_ERR_NOMEM;
	}
	l->refs = 2;
	sw_medium *ma, *mb;
	rc = wrap_end(&ea->base, b_to_a, a_to_b, &ma);
	if (rc < 0) {
		fifo_close(&eb->base);
		return rc;
	}
	rc = wrap_end(&eb->base, a_to_b, b_to_a, &mb);
	if (rc < 0) {
		sw_medium_del(ma);
		return rc;
	}
	*a = ma;
	*b = mb;
	return 0;
}

int sw_fifo_set_pump(sw_medium *m, int (*pump)(void *ud), void *ud)
{
	fifo_end *e = as_fifo(m);
	if (!e)
		return SW_ERR_INVALID_ARGUMENT;
	e->pump = pump;
	e->pump_ud = ud;
	return 0;
}

int sw_fifo_set_timeout(sw_medium *m, int timeout_ms)
{
	fifo_end *e = as_fifo(m);
	if (!e || timeout_ms <= 0)
		return SW_ERR_INVALID_ARGUMENT;
	e->timeout_ms = timeout_ms;
	return 0;
}

size_t sw_fifo_pending(const sw_medium *m)
{
	fifo_end *e = as_fifo(m);
	if (!e)
		return 0;
	pthread_mutex_lock(&e->link->mu);
	size_t n = e->link->q[e->side].len;
	pthread_mutex_unlock(&e->link->mu);
	return n;
}
