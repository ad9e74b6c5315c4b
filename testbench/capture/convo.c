/*
 * Connections as conversations (convo.h): two flows per connection, and
 * the queues of messages waiting for their partner.
 */
#include <stdint.h>
#include <string.h>

#include "capture/convo.h"
#include "smartwire/error.h"

/* A FIFO of messages owned by the queue. */
struct queue {
	sw_flow_msg **v;
	size_t head, len, cap;
};

struct cconn;

struct side {
	struct cconn *cc;
	sw_dir d;
};

struct cconn {
	struct cconn *prev, *next; /* the open connections */
	sw_convo *cv;
	sw_tcp_conn *tcp;
	sw_flow *flow[2];
	struct side side[2];
	struct queue q[2]; /* requests waiting for an answer, responses for a request */
	sw_convo_summary sum;
};

struct sw_convo {
	size_t max_message;
	sw_convo_sink sink;
	void *ud;
	const sw_mem *mem;
	int err;
	struct cconn *open; /* connections between open and close */
};

static int fail(sw_convo *cv, int rc)
{
	if (rc && !cv->err)
		cv->err = rc;
	return cv->err;
}

/* ---- queues ---- */

static int push(sw_convo *cv, struct queue *q, sw_flow_msg *m)
{
	if (q->head + q->len == q->cap) {
		if (q->head) {
			memmove(q->v, q->v + q->head, q->len * sizeof *q->v);
			q->head = 0;
		} else {
			size_t cap = q->cap ? q->cap * 2 : 4;
			sw_flow_msg **v = sw_realloc(cv->mem, q->v, cap * sizeof *v);
			if (!v)
				return SW_ERR_NOMEM;
			q->v = v;
			q->cap = cap;
		}
	}
	q->v[q->head + q->len++] = m;
	return 0;
}

static sw_flow_msg *at(const struct queue *q, size_t i)
{
	return q->v[q->head + i];
}

static sw_flow_msg *pop(struct queue *q)
{
	sw_flow_msg *m = q->v[q->head++];
	if (--q->len == 0)
		q->head = 0;
	return m;
}

static void clear(sw_convo *cv, struct queue *q)
{
	while (q->len)
		sw_flow_msg_del(pop(q), cv->mem);
	sw_free(cv->mem, q->v);
	memset(q, 0, sizeof *q);
}

/* ---- pairing ---- */

/* Emits one exchange and frees its messages. */
static int exchange(struct cconn *cc, sw_flow_msg *req, sw_flow_msg *resp, sw_exchange_note note)
{
	sw_convo *cv = cc->cv;
	sw_exchange x = {++cc->sum.exchanges, req, resp, note};
	if (!req)
		cc->sum.no_request++;
	if (!resp)
		cc->sum.no_answer++;
	int rc = 0;
	if (cv->sink.on_exchange)
		rc = fail(cv, cv->sink.on_exchange(cv->ud, cc->tcp, &x));
	sw_flow_msg_del(req, cv->mem);
	sw_flow_msg_del(resp, cv->mem);
	return rc;
}

/* Pairs what can be paired now (convo.h states the rules). */
static int pair(struct cconn *cc)
{
	struct queue *reqs = &cc->q[SW_C2S], *resps = &cc->q[SW_S2C];
	int rc = 0;
	while (rc == 0) {
		if (resps->len) {
			sw_flow_msg *a = at(resps, 0);
			/* The answers lost the thread just before this one: a
			 * property of the stream, not of when it is decoded. */
			bool lost = a->after_skip;
			/* Every request that started before the answer is known (a
			 * request still undecoded, or yet to be decoded, may be the
			 * newest one). */
			bool settled = sw_flow_ended(cc->flow[SW_C2S]) ||
			               sw_flow_pending_ts(cc->flow[SW_C2S]) > a->first_ts_ns;
			if (lost && !settled)
				break;
			if (reqs->len && lost) {
				/* The newest request that started before the answer. */
				size_t k = reqs->len;
				while (k > 0 && at(reqs, k - 1)->first_ts_ns > a->first_ts_ns)
					k--;
				if (k == 0) {
					rc = exchange(cc, NULL, pop(resps), SW_NOTE_NO_REQUEST);
					continue;
				}
				while (rc == 0 && k-- > 1)
					rc = exchange(cc, pop(reqs), NULL, SW_NOTE_ANSWER_LOST);
				if (rc == 0)
					rc = exchange(cc, pop(reqs), pop(resps), SW_NOTE_NONE);
				continue;
			}
			if (reqs->len) {
				sw_flow_msg *r = at(reqs, 0);
				rc = r->first_ts_ns <= a->first_ts_ns
				         ? exchange(cc, pop(reqs), pop(resps), SW_NOTE_NONE)
				         : exchange(cc, NULL, pop(resps), SW_NOTE_NO_REQUEST);
				continue;
			}
			/* No request yet: can one still come that started in time? */
			if (settled) {
				rc = exchange(cc, NULL, pop(resps), SW_NOTE_NO_REQUEST);
				continue;
			}
			break;
		}
		if (reqs->len && sw_flow_ended(cc->flow[SW_S2C])) {
			rc = exchange(cc, pop(reqs), NULL,
			              sw_flow_lost(cc->flow[SW_S2C]) ? SW_NOTE_ANSWER_LOST
			                                             : SW_NOTE_NO_ANSWER);
			continue;
		}
		break;
	}
	return rc;
}

/* ---- flow callbacks ---- */

static int on_msg(void *ud, sw_flow_msg *msg)
{
	struct side *s = ud;
	struct cconn *cc = s->cc;
	if (msg->truncated)
		cc->sum.truncated++;
	else if (msg->error)
		cc->sum.errors++;
	if (s->d == SW_C2S)
		cc->sum.requests++;
	else
		cc->sum.responses++;
	int rc = push(cc->cv, &cc->q[s->d], msg);
	if (rc) {
		sw_flow_msg_del(msg, cc->cv->mem);
		return fail(cc->cv, rc);
	}
	return pair(cc);
}

static int on_skip(void *ud, sw_dis_kind kind, uint64_t off, uint64_t len, sw_skip_why why,
                   bool at_end)
{
	struct side *s = ud;
	struct cconn *cc = s->cc;
	sw_convo *cv = cc->cv;
	(void)kind;
	cc->sum.skipped[s->d] += len;
	if (at_end)
		cc->sum.undecodable[s->d] = true;
	if (cv->sink.on_skip)
		return fail(cv, cv->sink.on_skip(cv->ud, cc->tcp, s->d, off, len, why, at_end));
	return 0;
}

/* ---- entry points ---- */

/* `detach`: reset the connection's user pointer (not from sw_convo_del:
 * the reassembler that owns the connection may be gone already). */
static void free_cconn(sw_convo *cv, struct cconn *cc, bool detach)
{
	for (int d = 0; d < 2; d++) {
		sw_flow_del(cc->flow[d]);
		clear(cv, &cc->q[d]);
	}
	if (detach)
		cc->tcp->user = NULL;
	if (cc->prev)
		cc->prev->next = cc->next;
	else
		cv->open = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
	sw_free(cv->mem, cc);
}

int sw_convo_open(sw_convo *cv, sw_tcp_conn *c)
{
	if (cv->err)
		return cv->err;
	struct cconn *cc = sw_malloc(cv->mem, sizeof *cc);
	if (!cc)
		return fail(cv, SW_ERR_NOMEM);
	memset(cc, 0, sizeof *cc);
	cc->cv = cv;
	cc->tcp = c;
	c->user = cc;
	cc->next = cv->open;
	if (cv->open)
		cv->open->prev = cc;
	cv->open = cc;
	sw_flow_callbacks fcb = {on_msg, on_skip};
	for (int d = 0; d < 2; d++) {
		cc->side[d] = (struct side){cc, (sw_dir)d};
		if (sw_flow_new(&cc->flow[d], d == SW_C2S ? SW_DIS_REQUEST : SW_DIS_RESPONSE,
		                c->partial, cv->max_message, &fcb, &cc->side[d], cv->mem) < 0) {
			free_cconn(cv, cc, true);
			return fail(cv, SW_ERR_NOMEM);
		}
	}
	if (cv->sink.on_open)
		return fail(cv, cv->sink.on_open(cv->ud, c));
	return 0;
}

int sw_convo_data(sw_convo *cv, sw_tcp_conn *c, sw_dir d, uint64_t off, const uint8_t *p, size_t n,
                  int64_t ts_ns)
{
	if (cv->err)
		return cv->err;
	struct cconn *cc = c->user;
	/* The other side has probably finished a message: decode it before
	 * these bytes are seen, so that the pairing sees both in order. */
	int rc = fail(cv, sw_flow_poke(cc->flow[!d]));
	return rc ? rc : fail(cv, sw_flow_data(cc->flow[d], off, p, n, ts_ns));
}

int sw_convo_gap(sw_convo *cv, sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                 sw_gap_cause why, int64_t ts_ns)
{
	if (cv->err)
		return cv->err;
	struct cconn *cc = c->user;
	/* As for data (sw_convo_data): the other side first. */
	int rc = fail(cv, sw_flow_poke(cc->flow[!d]));
	if (rc == 0)
		rc = fail(cv, sw_flow_gap(cc->flow[d], off, len));
	if (rc == 0 && cv->sink.on_gap)
		rc = fail(cv, cv->sink.on_gap(cv->ud, c, d, off, len, why, ts_ns));
	return rc;
}

int sw_convo_end(sw_convo *cv, sw_tcp_conn *c, sw_dir d)
{
	if (cv->err)
		return cv->err;
	struct cconn *cc = c->user;
	int rc = fail(cv, sw_flow_poke(cc->flow[!d]));
	if (rc == 0)
		rc = fail(cv, sw_flow_end(cc->flow[d]));
	/* The other side may have been waiting for this one to end. */
	return rc ? rc : pair(cc);
}

int sw_convo_close(sw_convo *cv, sw_tcp_conn *c)
{
	struct cconn *cc = c->user;
	if (cv->err) {
		if (cc)
			free_cconn(cv, cc, true);
		return cv->err;
	}
	int rc = 0;
	for (int d = 0; d < 2 && rc == 0; d++)
		if (!sw_flow_ended(cc->flow[d]))
			rc = sw_convo_end(cv, c, (sw_dir)d);
	if (rc == 0)
		rc = pair(cc);
	sw_convo_summary sum = cc->sum;
	free_cconn(cv, cc, true);
	if (rc == 0 && cv->sink.on_close)
		rc = fail(cv, cv->sink.on_close(cv->ud, c, &sum));
	return rc;
}

int sw_convo_limit(sw_convo *cv, sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg)
{
	if (cv->err)
		return cv->err;
	if (cv->sink.on_limit)
		return fail(cv, cv->sink.on_limit(cv->ud, c, what, seg));
	return 0;
}

/* ---- reassembler adapter ---- */

static int r_open(void *ud, sw_tcp_conn *c)
{
	return sw_convo_open(ud, c);
}

static int r_data(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, const uint8_t *p, size_t n,
                  int64_t ts)
{
	return sw_convo_data(ud, c, d, off, p, n, ts);
}

static int r_gap(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len, sw_gap_cause why,
                 int64_t ts)
{
	return sw_convo_gap(ud, c, d, off, len, why, ts);
}

static int r_end(void *ud, sw_tcp_conn *c, sw_dir d, sw_end_how how, int64_t ts)
{
	(void)how;
	(void)ts;
	return sw_convo_end(ud, c, d);
}

static int r_close(void *ud, sw_tcp_conn *c)
{
	return sw_convo_close(ud, c);
}

static int r_limit(void *ud, sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg)
{
	return sw_convo_limit(ud, c, what, seg);
}

sw_reasm_callbacks sw_convo_reasm_callbacks(void)
{
	sw_reasm_callbacks cb = {r_open, r_data, r_gap, r_end, r_close, r_limit};
	return cb;
}

int sw_convo_new(sw_convo **out, size_t max_message, const sw_convo_sink *sink, void *ud,
                 const sw_mem *mem)
{
	*out = NULL;
	sw_convo *cv = sw_malloc(mem, sizeof *cv);
	if (!cv)
		return SW_ERR_NOMEM;
	memset(cv, 0, sizeof *cv);
	cv->max_message = max_message;
	if (sink)
		cv->sink = *sink;
	cv->ud = ud;
	cv->mem = mem;
	*out = cv;
	return 0;
}

void sw_convo_del(sw_convo *cv)
{
	if (!cv)
		return;
	while (cv->open)
		free_cconn(cv, cv->open, false);
	sw_free(cv->mem, cv);
}

const char *sw_exchange_note_name(sw_exchange_note n)
{
	switch (n) {
	case SW_NOTE_NONE: return NULL;
	case SW_NOTE_NO_REQUEST: return "request not captured";
	case SW_NOTE_ANSWER_LOST: return "answer lost";
	case SW_NOTE_NO_ANSWER: return "no answer";
	}
	return "?";
}
