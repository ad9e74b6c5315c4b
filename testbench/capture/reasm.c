/*
 * TCP reassembly for captures (reasm.h).
 *
 * Each direction ("half") keeps the next sequence number it expects and the
 * stream offset that number stands for; a segment's offset is the signed
 * 32-bit distance from it, so wrap-around needs no special case.  Segments
 * at the expected offset with nothing held are delivered straight from the
 * caller's buffer; anything else is copied into a sorted list of
 * non-overlapping held pieces (only the bytes not held yet are copied, so
 * the first copy of a byte wins) and the list is drained from the front.
 * A hole the capture will never fill becomes a gap node or a gap event.
 */
#include <stdlib.h>
#include <string.h>

#include "reasm_impl.h"
#include "smartwire/error.h"

/* ---- events ---- */

static int fail(struct sw_reasm *r, int rc)
{
	if (rc && !r->err)
		r->err = rc;
	return r->err;
}

static int emit_data(struct sw_reasm *r, struct conn *c, sw_dir d, const uint8_t *p, uint64_t n,
                     int64_t ts)
{
	struct half *h = &c->h[d];
	uint64_t off = h->next_off;
	h->next_off += n;
	h->next_seq += (uint32_t)n;
	c->pub.half[d].bytes += n;
	if (r->cb.on_data)
		return fail(r, r->cb.on_data(r->ud, &c->pub, d, off, p, (size_t)n, ts));
	return 0;
}

static int emit_gap(struct sw_reasm *r, struct conn *c, sw_dir d, uint64_t n, sw_gap_cause why,
                    int64_t ts)
{
	struct half *h = &c->h[d];
	uint64_t off = h->next_off;
	h->next_off += n;
	h->next_seq += (uint32_t)n;
	c->pub.half[d].gaps++;
	c->pub.half[d].gap_bytes += n;
	if (r->cb.on_gap)
		return fail(r, r->cb.on_gap(r->ud, &c->pub, d, off, n, why, ts));
	return 0;
}

/* Delivers the held pieces that start at the expected offset. */
static int drain(struct sw_reasm *r, struct conn *c, sw_dir d)
{
	struct half *h = &c->h[d];
	while (h->held && h->held->off == h->next_off) {
		struct held *n = h->held;
		h->held = n->next;
		c->held_bytes -= n->len * !n->gap + NODE_COST;
		int rc = n->gap ? emit_gap(r, c, d, n->len, SW_GAP_SNAPLEN, n->ts)
		                : emit_data(r, c, d, n->data, n->len, n->ts);
		sw_free(r->mem, n);
		if (rc)
			return rc;
	}
	return 0;
}

/* Gives up every hole before stream offset `upto`: gaps for the holes,
 * delivery of what lies between them. */
static int give_up(struct sw_reasm *r, struct conn *c, sw_dir d, uint64_t upto, sw_gap_cause why,
                   int64_t ts)
{
	struct half *h = &c->h[d];
	int rc;
	while (h->next_off < upto) {
		uint64_t hole_end = h->held && h->held->off < upto ? h->held->off : upto;
		if (hole_end > h->next_off &&
		    (rc = emit_gap(r, c, d, hole_end - h->next_off, why, ts)) != 0)
			return rc;
		if ((rc = drain(r, c, d)) != 0)
			return rc;
	}
	return 0;
}

/* Inserts [off, off+len) into the held list, skipping the bytes held
 * already (counted as retransmitted; differing ones as mismatches). */
static int hold(struct sw_reasm *r, struct conn *c, sw_dir d, uint64_t off, const uint8_t *p,
                uint64_t len, bool gap, int64_t ts)
{
	struct half *h = &c->h[d];
	sw_half_stats *st = &c->pub.half[d];
	struct held **pp = &h->held;
	while (len > 0) {
		struct held *cur = *pp;
		if (!cur || off < cur->off) {
			uint64_t piece = !cur || off + len <= cur->off ? len : cur->off - off;
			struct held *n = sw_malloc(r->mem, sizeof *n + (gap ? 0 : (size_t)piece));
			if (!n)
				return fail(r, SW_ERR_NOMEM);
			n->off = off;
			n->len = piece;
			n->ts = ts;
			n->gap = gap;
			if (!gap)
				memcpy(n->data, p, (size_t)piece);
			n->next = cur;
			*pp = n;
			c->held_bytes += (gap ? 0 : piece) + NODE_COST;
			pp = &n->next;
			off += piece;
			len -= piece;
			if (!gap)
				p += piece;
			continue;
		}
		uint64_t cur_end = cur->off + cur->len;
		if (off < cur_end) {
			uint64_t over = (off + len < cur_end ? off + len : cur_end) - off;
			if (!gap && !cur->gap) {
				st->retransmitted_bytes += over;
				const uint8_t *mine = cur->data + (off - cur->off);
				for (uint64_t i = 0; i < over; i++)
					st->mismatch_bytes += mine[i] != p[i];
			}
			off += over;
			len -= over;
			if (!gap)
				p += over;
		}
		pp = &cur->next;
	}
	return 0;
}

/* Keeps the connection's held bytes under the limit by giving up holes. */
static int enforce_limit(struct sw_reasm *r, struct conn *c, sw_dir d, int64_t ts)
{
	int rc;
	while (c->held_bytes > r->cfg.max_held) {
		sw_dir which = c->h[d].held ? d : (sw_dir)!d;
		if (!c->h[which].held)
			break;
		if (!c->held_reported) {
			c->held_reported = true;
			if (r->cb.on_limit &&
			    (rc = fail(r, r->cb.on_limit(r->ud, &c->pub, SW_LIMIT_HELD, NULL))) !=
			        0)
				return rc;
		}
		if ((rc = give_up(r, c, which, c->h[which].held->off, SW_GAP_LIMIT, ts)) != 0)
			return rc;
	}
	return 0;
}

/* The stream offset of sequence number `seq` (may be negative: before the
 * start of a partial direction). */
static int64_t offset_of(const struct half *h, uint32_t seq)
{
	return (int64_t)h->next_off + (int32_t)(seq - h->next_seq);
}

static int place(struct sw_reasm *r, struct conn *c, sw_dir d, uint32_t seq, const uint8_t *p,
                 size_t len, size_t wire_len, int64_t ts)
{
	struct half *h = &c->h[d];
	sw_half_stats *st = &c->pub.half[d];
	int64_t off = offset_of(h, seq);
	int64_t end = off + (int64_t)wire_len;
	st->segments++;
	if (off < (int64_t)h->next_off) {
		/* Seen before (or before the start of a partial direction). */
		int64_t upto = end < (int64_t)h->next_off ? end : (int64_t)h->next_off;
		uint64_t before = off < 0 ? (uint64_t)((upto < 0 ? upto : 0) - off) : 0;
		st->before_start += before;
		if ((uint64_t)(upto - off) > before) {
			st->retransmitted++;
			st->retransmitted_bytes += (uint64_t)(upto - off) - before;
		}
		if (end <= (int64_t)h->next_off)
			return 0;
		size_t skip = (size_t)((int64_t)h->next_off - off);
		p = skip < len ? p + skip : NULL;
		len = skip < len ? len - skip : 0;
		wire_len -= skip;
		off = (int64_t)h->next_off;
	}
	if ((uint64_t)off == h->next_off && len == wire_len &&
	    (!h->held || h->held->off >= (uint64_t)off + len)) {
		int rc = emit_data(r, c, d, p, len, ts);
		return rc ? rc : drain(r, c, d);
	}
	if ((uint64_t)off > h->next_off)
		st->out_of_order++;
	int rc = len ? hold(r, c, d, (uint64_t)off, p, len, false, ts) : 0;
	if (!rc && wire_len > len)
		rc = hold(r, c, d, (uint64_t)off + len, NULL, wire_len - len, true, ts);
	if (!rc)
		rc = drain(r, c, d);
	return rc ? rc : enforce_limit(r, c, d, ts);
}

static int end_half(struct sw_reasm *r, struct conn *c, sw_dir d, sw_end_how how, int64_t ts)
{
	sw_half_stats *st = &c->pub.half[d];
	if (st->ended)
		return 0;
	st->ended = true;
	st->end = how;
	sw__reasm_free_held(r, &c->h[d]); /* anything after a FIN or a RST */
	if (r->cb.on_end)
		return fail(r, r->cb.on_end(r->ud, &c->pub, d, how, ts));
	return 0;
}

/* Everything held becomes deliverable: holes before held data and before a
 * known FIN are gaps; then the direction ends `how`. */
static int flush_half(struct sw_reasm *r, struct conn *c, sw_dir d, sw_end_how how, int64_t ts)
{
	struct half *h = &c->h[d];
	int rc;
	if (c->pub.half[d].ended)
		return 0;
	while (h->held)
		if ((rc = give_up(r, c, d, h->held->off + h->held->len, SW_GAP_ENDED, ts)) != 0)
			return rc;
	if (h->fin_known && h->next_off < h->fin_off &&
	    (rc = give_up(r, c, d, h->fin_off, SW_GAP_ENDED, ts)) != 0)
		return rc;
	if (how == SW_END_NONE && h->fin_known)
		how = SW_END_FIN;
	return end_half(r, c, d, how, ts);
}

static int close_conn(struct sw_reasm *r, struct conn *c)
{
	int rc = 0;
	if (r->cb.on_close)
		rc = fail(r, r->cb.on_close(r->ud, &c->pub));
	sw__reasm_bury(r, c);
	return rc;
}

/* A FIN whose bytes have all arrived ends its direction. */
static int check_fin(struct sw_reasm *r, struct conn *c, sw_dir d, int64_t ts)
{
	struct half *h = &c->h[d];
	if (h->fin_known && !c->pub.half[d].ended && h->next_off >= h->fin_off)
		return end_half(r, c, d, SW_END_FIN, ts);
	return 0;
}

/* The peer acknowledged `ack` of direction d: bytes before it that the
 * capture lacks will not come. */
static int acked(struct sw_reasm *r, struct conn *c, sw_dir d, uint32_t ack, int64_t ts)
{
	struct half *h = &c->h[d];
	if (!h->started || c->pub.half[d].ended)
		return 0;
	int32_t rel = (int32_t)(ack - h->next_seq);
	if (rel <= 0)
		return 0;
	uint64_t upto = h->next_off + (uint64_t)rel;
	if (h->fin_known && upto > h->fin_off)
		upto = h->fin_off; /* the FIN takes one sequence number */
	int rc = give_up(r, c, d, upto, SW_GAP_ACKED, ts);
	return rc ? rc : check_fin(r, c, d, ts);
}

/* ---- segments ---- */

static int start_half(struct conn *c, sw_dir d, uint32_t next_seq)
{
	struct half *h = &c->h[d];
	h->started = true;
	h->next_seq = next_seq;
	h->next_off = 0;
	return 0;
}

static int segment(struct sw_reasm *r, struct conn *c, sw_dir d, const sw_tcp_seg *seg)
{
	struct half *h = &c->h[d];
	sw_dir o = (sw_dir)!d;
	int rc;
	c->pub.last_ts_ns = seg->ts_ns;
	uint32_t data_seq = seg->seq;
	if (seg->flags & SW_TCP_SYN) {
		if (!h->started) {
			start_half(c, d, seg->seq + 1);
			h->syn = true;
			h->isn = seg->seq;
			c->pub.half[d].syn = true;
		}
		data_seq = seg->seq + 1;
		/* A SYN-ACK tells where the other direction starts. */
		if ((seg->flags & SW_TCP_ACK) && !c->h[o].started)
			start_half(c, o, seg->ack);
	} else if (!h->started) {
		start_half(c, d, seg->seq);
	}
	/* The acknowledgement speaks of bytes received before this segment was
	 * sent: settle the other direction first, so that its holes are known
	 * before this segment's bytes are seen. */
	if ((seg->flags & SW_TCP_ACK) && (rc = acked(r, c, o, seg->ack, seg->ts_ns)) != 0)
		return rc;
	if (seg->wire_len > 0 && !c->pub.half[d].ended &&
	    (rc = place(r, c, d, data_seq, seg->payload, seg->len, seg->wire_len, seg->ts_ns)) != 0)
		return rc;
	if ((seg->flags & SW_TCP_FIN) && !h->fin_known) {
		int64_t fin = offset_of(h, data_seq + (uint32_t)seg->wire_len);
		h->fin_known = true;
		h->fin_off = fin > 0 ? (uint64_t)fin : 0;
	}
	if (seg->flags & SW_TCP_RST) {
		if ((rc = flush_half(r, c, d, SW_END_RST, seg->ts_ns)) != 0 ||
		    (rc = flush_half(r, c, o, SW_END_RST, seg->ts_ns)) != 0)
			return rc;
		return close_conn(r, c);
	}
	if ((rc = check_fin(r, c, d, seg->ts_ns)) != 0)
		return rc;
	if (c->pub.half[0].ended && c->pub.half[1].ended)
		return close_conn(r, c);
	return 0;
}

int sw_reasm_segment(sw_reasm *r, const sw_tcp_seg *seg)
{
	if (r->err)
		return r->err;
	r->stats.segments++;
	bool to_server = seg->dport == r->cfg.port, from_server = seg->sport == r->cfg.port;
	if (!to_server && !from_server) {
		r->stats.other_port++;
		return 0;
	}
	struct conn *c = NULL;
	bool c2s = to_server;
	if (to_server)
		c = sw__reasm_lookup(r, seg->family, seg->src, seg->sport, seg->dst);
	if (!c && from_server) {
		c = sw__reasm_lookup(r, seg->family, seg->dst, seg->dport, seg->src);
		c2s = !c && to_server; /* both ports are the server's: a new one is c2s */
	}
	bool syn_only = (seg->flags & (SW_TCP_SYN | SW_TCP_ACK)) == SW_TCP_SYN;
	if (c && c->closed) {
		/* A tombstone: only a new handshake from the client revives it. */
		if (!syn_only || c->ignored) {
			r->stats.stray++;
			return 0;
		}
		sw__reasm_destroy(r, c);
		c = NULL;
	} else if (c && syn_only && c2s && !(c->h[SW_C2S].syn && c->h[SW_C2S].isn == seg->seq)) {
		/* A new handshake on a live 4-tuple (not a retransmitted SYN): the
		 * tuple is reused by a new connection. */
		int rc;
		if ((rc = flush_half(r, c, SW_C2S, SW_END_NONE, seg->ts_ns)) != 0 ||
		    (rc = flush_half(r, c, SW_S2C, SW_END_NONE, seg->ts_ns)) != 0 ||
		    (rc = close_conn(r, c)) != 0)
			return rc;
		sw__reasm_destroy(r,
		                  sw__reasm_lookup(r, seg->family, seg->src, seg->sport, seg->dst));
		c = NULL;
	}
	if (!c) {
		/* Only a SYN, data or a FIN opens a connection: a lone ACK or RST
		 * of an unknown 4-tuple carries nothing to report. */
		if (!(seg->flags & (SW_TCP_SYN | SW_TCP_FIN)) && seg->wire_len == 0) {
			r->stats.stray++;
			return 0;
		}
		if (r->live.n >= r->cfg.max_connections) {
			r->stats.ignored_connections++;
			struct conn *t = sw__reasm_create(r, seg, c2s);
			if (!t)
				return fail(r, SW_ERR_NOMEM);
			t->ignored = true;
			sw__reasm_bury(r, t);
			if (r->cb.on_limit)
				return fail(r,
				            r->cb.on_limit(r->ud, NULL, SW_LIMIT_CONNECTIONS, seg));
			return 0;
		}
		if (!(c = sw__reasm_create(r, seg, c2s)))
			return fail(r, SW_ERR_NOMEM);
		c->pub.id = ++r->next_id;
		r->stats.connections++;
		/* Not partial when the handshake shows where both streams start. */
		c->pub.partial = !(seg->flags & SW_TCP_SYN);
		if (r->cb.on_open) {
			int rc = fail(r, r->cb.on_open(r->ud, &c->pub));
			if (rc)
				return rc;
		}
	}
	return segment(r, c, c2s ? SW_C2S : SW_S2C, seg);
}

int sw_reasm_frame(sw_reasm *r, sw_link link, int64_t ts_ns, const uint8_t *frame, size_t caplen)
{
	if (r->err)
		return r->err;
	r->stats.frames++;
	sw_tcp_seg seg;
	sw_pkt_result res = sw_pkt_parse(link, ts_ns, frame, caplen, &seg);
	if (res != SW_PKT_TCP) {
		r->stats.frames_skipped[res]++;
		return 0;
	}
	return sw_reasm_segment(r, &seg);
}

int sw_reasm_finish(sw_reasm *r)
{
	if (r->err)
		return r->err;
	while (r->live.head) {
		struct conn *c = r->live.head;
		int64_t ts = c->pub.last_ts_ns;
		int rc;
		if ((rc = flush_half(r, c, SW_C2S, SW_END_NONE, ts)) != 0 ||
		    (rc = flush_half(r, c, SW_S2C, SW_END_NONE, ts)) != 0 ||
		    (rc = close_conn(r, c)) != 0)
			return rc;
	}
	return 0;
}
