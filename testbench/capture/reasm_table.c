/*
 * The reassembler's connection table (reasm.h): a hash of 4-tuples, the
 * live connections in the order they opened, and the tombstones of closed
 * ones (bounded); creation and deletion of the reassembler.
 */
#include <stdlib.h>
#include <string.h>

#include "reasm_impl.h"
#include "smartwire/error.h"

static size_t hash_key(const struct sw_reasm *r, uint8_t family, const uint8_t *client,
                       uint16_t cport, const uint8_t *server)
{
	uint64_t h = 1469598103934665603u;
	size_t n = family == 4 ? 4 : 16;
	for (size_t i = 0; i < n; i++)
		h = (h ^ client[i]) * 1099511628211u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ server[i]) * 1099511628211u;
	h = (h ^ cport) * 1099511628211u;
	h = (h ^ family) * 1099511628211u;
	return (size_t)(h & (r->nbuckets - 1));
}

struct conn *sw__reasm_lookup(struct sw_reasm *r, uint8_t family, const uint8_t *client,
                              uint16_t cport, const uint8_t *server)
{
	size_t b = hash_key(r, family, client, cport, server);
	for (struct conn *c = r->buckets[b]; c; c = c->hnext)
		if (c->pub.family == family && c->pub.client_port == cport &&
		    memcmp(c->pub.client, client, 16) == 0 &&
		    memcmp(c->pub.server, server, 16) == 0)
			return c;
	return NULL;
}

static void list_add(struct list *l, struct conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void list_remove(struct list *l, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	l->n--;
}

void sw__reasm_free_held(struct sw_reasm *r, struct half *h)
{
	while (h->held) {
		struct held *n = h->held;
		h->held = n->next;
		sw_free(r->mem, n);
	}
}

/* Unlinks a connection from the hash and its list and frees it. */
void sw__reasm_destroy(struct sw_reasm *r, struct conn *c)
{
	size_t b = hash_key(r, c->pub.family, c->pub.client, c->pub.client_port, c->pub.server);
	for (struct conn **pp = &r->buckets[b]; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	list_remove(c->closed ? &r->dead : &r->live, c);
	sw__reasm_free_held(r, &c->h[0]);
	sw__reasm_free_held(r, &c->h[1]);
	sw_free(r->mem, c);
}

/* Turns a live connection into a tombstone, forgetting the oldest one if
 * there are too many. */
void sw__reasm_bury(struct sw_reasm *r, struct conn *c)
{
	list_remove(&r->live, c);
	sw__reasm_free_held(r, &c->h[0]);
	sw__reasm_free_held(r, &c->h[1]);
	c->held_bytes = 0;
	c->closed = true;
	list_add(&r->dead, c);
	while (r->dead.n > r->cfg.max_connections)
		sw__reasm_destroy(r, r->dead.head);
}

struct conn *sw__reasm_create(struct sw_reasm *r, const sw_tcp_seg *seg, bool c2s)
{
	struct conn *c = sw_malloc(r->mem, sizeof *c);
	if (!c)
		return NULL;
	memset(c, 0, sizeof *c);
	c->pub.family = seg->family;
	memcpy(c->pub.client, c2s ? seg->src : seg->dst, 16);
	memcpy(c->pub.server, c2s ? seg->dst : seg->src, 16);
	c->pub.client_port = c2s ? seg->sport : seg->dport;
	c->pub.server_port = c2s ? seg->dport : seg->sport;
	c->pub.first_ts_ns = c->pub.last_ts_ns = seg->ts_ns;
	size_t b = hash_key(r, c->pub.family, c->pub.client, c->pub.client_port, c->pub.server);
	c->hnext = r->buckets[b];
	r->buckets[b] = c;
	list_add(&r->live, c);
	return c;
}

int sw_reasm_new(sw_reasm **out, const sw_reasm_config *cfg, const sw_reasm_callbacks *cb, void *ud,
                 const sw_mem *mem)
{
	*out = NULL;
	sw_reasm *r = sw_malloc(mem, sizeof *r);
	if (!r)
		return SW_ERR_NOMEM;
	memset(r, 0, sizeof *r);
	if (cfg)
		r->cfg = *cfg;
	if (!r->cfg.port)
		r->cfg.port = SW_REASM_DEFAULT_PORT;
	if (!r->cfg.max_held)
		r->cfg.max_held = SW_REASM_DEFAULT_MAX_HELD;
	if (!r->cfg.max_connections)
		r->cfg.max_connections = SW_REASM_DEFAULT_MAX_CONNECTIONS;
	if (cb)
		r->cb = *cb;
	r->ud = ud;
	r->mem = mem;
	/* Twice as many buckets as live connections plus tombstones, at least. */
	size_t want = r->cfg.max_connections < (SIZE_MAX >> 4) ? r->cfg.max_connections * 4 : 1024;
	r->nbuckets = 16;
	while (r->nbuckets < want && r->nbuckets < (1u << 20))
		r->nbuckets <<= 1;
	r->buckets = sw_malloc(mem, r->nbuckets * sizeof *r->buckets);
	if (!r->buckets) {
		sw_free(mem, r);
		return SW_ERR_NOMEM;
	}
	memset(r->buckets, 0, r->nbuckets * sizeof *r->buckets);
	*out = r;
	return 0;
}

void sw_reasm_del(sw_reasm *r)
{
	if (!r)
		return;
	while (r->live.head)
		sw__reasm_destroy(r, r->live.head);
	while (r->dead.head)
		sw__reasm_destroy(r, r->dead.head);
	sw_free(r->mem, r->buckets);
	sw_free(r->mem, r);
}

const sw_reasm_stats *sw_reasm_get_stats(const sw_reasm *r)
{
	return &r->stats;
}

const char *sw_dir_name(sw_dir d)
{
	return d == SW_C2S ? "c2s" : "s2c";
}

const char *sw_end_name(sw_end_how h)
{
	return h == SW_END_FIN ? "fin" : h == SW_END_RST ? "rst" : "open";
}

const char *sw_gap_cause_name(sw_gap_cause c)
{
	switch (c) {
	case SW_GAP_ACKED: return "acked";
	case SW_GAP_ENDED: return "ended";
	case SW_GAP_LIMIT: return "limit";
	case SW_GAP_SNAPLEN: return "snaplen";
	}
	return "?";
}
