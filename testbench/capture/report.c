/*
 * The report writer: text and JSON views of conversations (schema in
 * capture.h).  A sink of the conversation layer; nothing here decides
 * anything about the traffic, it only prints what it is told.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "capture/report.h"
#include "smartwire/error.h"
#include "smartwire/format.h"

static void put_buf(FILE *f, const sw_buf *b)
{
	if (b->len)
		fwrite(b->data, 1, b->len, f);
}

static double rel(const sw_report *r, int64_t ts)
{
	return (double)(ts - r->base_ts) / 1e9;
}

static void endpoint(char *out, size_t n, uint8_t family, const uint8_t *addr, uint16_t port)
{
	char a[INET6_ADDRSTRLEN] = "?";
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, a, sizeof a);
	snprintf(out, n, family == 6 ? "[%s]:%u" : "%s:%u", a, port);
}

static void conn_name(const sw_report *r, const sw_tcp_conn *c, char *out, size_t n)
{
	if (r->recording)
		snprintf(out, n, "conn-%03u", c->id);
	else
		snprintf(out, n, "conn %u", c->id);
}

/* ---- JSON ---- */

static void json_msg(sw_report *r, const sw_flow_msg *m)
{
	FILE *f = r->out;
	if (!m) {
		fputs("null", f);
		return;
	}
	fprintf(f,
	        "{\"index\":%u,\"version\":%d,\"offset\":%" PRIu64 ",\"length\":%" PRIu64
	        ",\"time\":%.6f,\"time_last\":%.6f",
	        m->index, m->version, m->offset, m->length, rel(r, m->first_ts_ns),
	        rel(r, m->last_ts_ns));
	if (m->m.headers.len) {
		fputs(",\"headers\":", f);
		put_buf(f, &m->m.headers);
		fprintf(f, ",\"header_length\":%" PRIu64, m->m.header_len);
	}
	if (m->m.status >= 0)
		fprintf(f, ",\"status\":\"%s\"", m->m.status ? "success" : "failed");
	fputs(",\"args\":", f);
	if (m->m.args.len)
		put_buf(f, &m->m.args);
	else
		fputs("null", f);
	if (m->version == 3) {
		fputs(",\"parts\":[", f);
		put_buf(f, &m->m.parts);
		fputc(']', f);
	}
	if (m->m.body)
		fprintf(f, ",\"body_length\":%" PRIu64 ",\"body_parts\":%zu", m->m.body_len,
		        m->m.body_parts);
	if (m->body_sha256[0])
		fprintf(f, ",\"body_sha256\":\"%s\"", m->body_sha256);
	if (m->m.error_args.len) {
		fputs(",\"body_error\":", f);
		put_buf(f, &m->m.error_args);
	}
	if (m->error)
		fprintf(f, ",\"error\":\"%s\",\"message\":\"%s\",\"error_offset\":%" PRIu64,
		        sw_errname(m->error), sw_strerror(m->error), m->error_offset);
	if (m->truncated)
		fputs(",\"truncated\":true", f);
	if (m->after_skip)
		fputs(",\"after_skip\":true", f);
	fputc('}', f);
}

static void json_half(sw_report *r, const sw_half_stats *h, uint64_t skipped, bool undecodable)
{
	fprintf(r->out,
	        "{\"bytes\":%" PRIu64 ",\"segments\":%u,\"gaps\":%u,\"gap_bytes\":%" PRIu64
	        ",\"retransmitted\":%u,\"retransmitted_bytes\":%" PRIu64
	        ",\"mismatch_bytes\":%" PRIu64 ",\"out_of_order\":%u,\"before_start\":%" PRIu64
	        ",\"skipped\":%" PRIu64 ",\"undecodable\":%s,\"end\":\"%s\"}",
	        h->bytes, h->segments, h->gaps, h->gap_bytes, h->retransmitted,
	        h->retransmitted_bytes, h->mismatch_bytes, h->out_of_order, h->before_start,
	        skipped, undecodable ? "true" : "false", sw_end_name(h->end));
}

/* ---- text ---- */

static void text_msg(sw_report *r, const char *label, const sw_flow_msg *m)
{
	FILE *f = r->out;
	const char *what = m->kind == SW_DIS_REQUEST ? "request" : "response";
	fprintf(f, "    %s %u v%d at %.6f, bytes %" PRIu64 "-%" PRIu64 "%s", label, m->index,
	        m->version, rel(r, m->first_ts_ns), m->offset, m->offset + m->length,
	        m->after_skip ? " (found again)" : "");
	(void)what;
	if (m->m.status >= 0)
		fprintf(f, ": %s", m->m.status ? "success" : "failed");
	fputs(m->m.status >= 0 ? " " : ": ", f);
	if (m->m.args.len)
		put_buf(f, &m->m.args);
	else
		fputs("(no args)", f);
	fputc('\n', f);
	if (m->m.body && m->body_sha256[0])
		fprintf(f, "      body %" PRIu64 " bytes in %zu part%s, sha256 %s\n", m->m.body_len,
		        m->m.body_parts, m->m.body_parts == 1 ? "" : "s", m->body_sha256);
	else if (m->m.body)
		fprintf(f, "      body: %" PRIu64 " bytes seen before the message failed\n",
		        m->m.body_len);
	if (m->m.error_args.len) {
		fputs("      error after the body: ", f);
		put_buf(f, &m->m.error_args);
		fputc('\n', f);
	}
	if (m->truncated)
		fprintf(f, "      cut short at byte %" PRIu64 " (gap or end of stream)\n",
		        m->error_offset);
	else if (m->error)
		fprintf(f, "      ERROR at byte %" PRIu64 ": %s (%s)\n", m->error_offset,
		        sw_strerror(m->error), sw_errname(m->error));
}

/* ---- sink callbacks ---- */

static int s_open(void *ud, const sw_tcp_conn *c)
{
	sw_report *r = ud;
	r->connections++;
	if (c->partial)
		r->anomalies = true;
	if (r->json)
		return 0;
	char name[32];
	conn_name(r, c, name, sizeof name);
	if (r->recording) {
		fprintf(r->out, "%s:\n", name);
		return 0;
	}
	char cl[64], sv[64];
	endpoint(cl, sizeof cl, c->family, c->client, c->client_port);
	endpoint(sv, sizeof sv, c->family, c->server, c->server_port);
	fprintf(r->out, "%s: %s -> %s at %.6f%s\n", name, cl, sv, rel(r, c->first_ts_ns),
	        c->partial ? " (captured mid-way: no handshake)" : "");
	return 0;
}

static int s_exchange(void *ud, const sw_tcp_conn *c, const sw_exchange *x)
{
	sw_report *r = ud;
	if (x->note)
		r->anomalies = true;
	bool both = x->request && x->response;
	double elapsed =
	    both ? rel(r, x->response->last_ts_ns) - rel(r, x->request->first_ts_ns) : 0;
	if (r->json) {
		fprintf(r->out,
		        "{\"type\":\"exchange\",\"conn\":%u,\"index\":%u,\"request\":", c->id,
		        x->index);
		json_msg(r, x->request);
		fputs(",\"response\":", r->out);
		json_msg(r, x->response);
		if (x->note)
			fprintf(r->out, ",\"note\":\"%s\"", sw_exchange_note_name(x->note));
		if (both)
			fprintf(r->out, ",\"elapsed\":%.6f", elapsed);
		fputs("}\n", r->out);
		return 0;
	}
	fprintf(r->out, "  exchange %u", x->index);
	if (both)
		fprintf(r->out, " (%.3f ms)", elapsed * 1e3);
	if (x->note)
		fprintf(r->out, " [%s]", sw_exchange_note_name(x->note));
	fputs(":\n", r->out);
	if (x->request)
		text_msg(r, "request", x->request);
	if (x->response)
		text_msg(r, "response", x->response);
	return 0;
}

static int s_gap(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                 sw_gap_cause why, int64_t ts)
{
	sw_report *r = ud;
	r->anomalies = true;
	if (r->json) {
		fprintf(r->out,
		        "{\"type\":\"gap\",\"conn\":%u,\"dir\":\"%s\",\"offset\":%" PRIu64
		        ",\"length\":%" PRIu64 ",\"cause\":\"%s\",\"time\":%.6f}\n",
		        c->id, sw_dir_name(d), off, len, sw_gap_cause_name(why), rel(r, ts));
		return 0;
	}
	static const char *const cause[] = {
	    "the peer acknowledged them", "the direction ended after them",
	    "too much data held out of order", "frames cut by the snap length"};
	fprintf(r->out, "  gap: %s bytes %" PRIu64 "-%" PRIu64 " missing (%" PRIu64 " bytes; %s)\n",
	        sw_dir_name(d), off, off + len, len, cause[why]);
	return 0;
}

static int s_skip(void *ud, const sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
                  sw_skip_why why, bool at_end)
{
	sw_report *r = ud;
	r->anomalies = true;
	if (r->json) {
		fprintf(r->out,
		        "{\"type\":\"skip\",\"conn\":%u,\"dir\":\"%s\",\"offset\":%" PRIu64
		        ",\"length\":%" PRIu64 ",\"reason\":\"%s\",\"undecodable_rest\":%s}\n",
		        c->id, sw_dir_name(d), off, len, sw_skip_why_name(why),
		        at_end ? "true" : "false");
		return 0;
	}
	static const char *const reason[] = {"the capture began mid-connection", "a gap",
	                                     "a framing error", "a message over the size limit"};
	fprintf(r->out,
	        "  skipped: %s bytes %" PRIu64 "-%" PRIu64 " (%" PRIu64 " bytes) after %s%s\n",
	        sw_dir_name(d), off, off + len, len, reason[why],
	        at_end ? ": no message start found before the end (v1 has no marker)" : "");
	return 0;
}

static int s_close(void *ud, const sw_tcp_conn *c, const sw_convo_summary *s)
{
	sw_report *r = ud;
	if (s->errors || s->truncated || s->no_request || s->no_answer || s->skipped[0] ||
	    s->skipped[1] || s->undecodable[0] || s->undecodable[1])
		r->anomalies = true;
	char name[32];
	conn_name(r, c, name, sizeof name);
	if (r->json) {
		fprintf(r->out, "{\"type\":\"connection\",\"conn\":%u,", c->id);
		if (r->recording) {
			fprintf(r->out, "\"recording\":\"%s\"", name);
		} else {
			char cl[64], sv[64];
			endpoint(cl, sizeof cl, c->family, c->client, c->client_port);
			endpoint(sv, sizeof sv, c->family, c->server, c->server_port);
			fprintf(r->out, "\"client\":\"%s\",\"server\":\"%s\"", cl, sv);
		}
		fprintf(r->out,
		        ",\"partial\":%s,\"start\":%.6f,\"end\":%.6f,\"exchanges\":%u,"
		        "\"requests\":%u,\"responses\":%u,\"errors\":%u,\"truncated\":%u,"
		        "\"no_request\":%u,\"no_answer\":%u,\"c2s\":",
		        c->partial ? "true" : "false", rel(r, c->first_ts_ns),
		        rel(r, c->last_ts_ns), s->exchanges, s->requests, s->responses, s->errors,
		        s->truncated, s->no_request, s->no_answer);
		json_half(r, &c->half[SW_C2S], s->skipped[SW_C2S], s->undecodable[SW_C2S]);
		fputs(",\"s2c\":", r->out);
		json_half(r, &c->half[SW_S2C], s->skipped[SW_S2C], s->undecodable[SW_S2C]);
		fputs("}\n", r->out);
		return 0;
	}
	fprintf(r->out, "%s closed: %u exchange%s", name, s->exchanges,
	        s->exchanges == 1 ? "" : "s");
	if (s->errors)
		fprintf(r->out, ", %u framing error%s", s->errors, s->errors == 1 ? "" : "s");
	if (s->truncated)
		fprintf(r->out, ", %u cut short", s->truncated);
	if (s->no_request)
		fprintf(r->out, ", %u without request", s->no_request);
	if (s->no_answer)
		fprintf(r->out, ", %u without answer", s->no_answer);
	for (int d = 0; d < 2; d++) {
		const sw_half_stats *h = &c->half[d];
		fprintf(r->out, "; %s %" PRIu64 " bytes", sw_dir_name((sw_dir)d), h->bytes);
		if (!r->recording)
			fprintf(r->out, " %s",
			        h->end == SW_END_NONE ? "still open" : sw_end_name(h->end));
		if (h->gaps)
			fprintf(r->out, ", %u gap%s (%" PRIu64 " bytes)", h->gaps,
			        h->gaps == 1 ? "" : "s", h->gap_bytes);
		if (h->retransmitted)
			fprintf(r->out, ", %u retransmitted", h->retransmitted);
		if (h->out_of_order)
			fprintf(r->out, ", %u out of order", h->out_of_order);
		if (h->mismatch_bytes)
			fprintf(r->out, ", %" PRIu64 " retransmitted bytes differ",
			        h->mismatch_bytes);
	}
	fputc('\n', r->out);
	return 0;
}

static int s_limit(void *ud, const sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg)
{
	sw_report *r = ud;
	r->anomalies = true;
	if (r->json) {
		fprintf(r->out, "{\"type\":\"limit\",\"what\":\"%s\",\"conn\":",
		        what == SW_LIMIT_CONNECTIONS ? "connections" : "held_bytes");
		if (c)
			fprintf(r->out, "%u", c->id);
		else
			fputs("null", r->out);
		if (seg) {
			char a[64], b[64];
			endpoint(a, sizeof a, seg->family, seg->src, seg->sport);
			endpoint(b, sizeof b, seg->family, seg->dst, seg->dport);
			fprintf(r->out, ",\"src\":\"%s\",\"dst\":\"%s\",\"time\":%.6f", a, b,
			        rel(r, seg->ts_ns));
		}
		fputs("}\n", r->out);
		return 0;
	}
	if (what == SW_LIMIT_CONNECTIONS)
		fprintf(r->out, "limit: too many connections at once, one ignored (at %.6f)\n",
		        seg ? rel(r, seg->ts_ns) : 0.0);
	else
		fprintf(r->out,
		        "  limit: conn %u held too much data out of order; holes given up\n",
		        c->id);
	return 0;
}

void sw_report_init(sw_report *r, FILE *out, bool json, bool recording)
{
	memset(r, 0, sizeof *r);
	r->out = out;
	r->json = json;
	r->recording = recording;
}

sw_convo_sink sw_report_sink(void)
{
	sw_convo_sink s = {s_open, s_exchange, s_gap, s_skip, s_close, s_limit};
	return s;
}

void sw_report_end(sw_report *r, const char *source, const sw_reasm_stats *st, int64_t start_ns)
{
	char iso[32] = "";
	if (start_ns >= 0) {
		time_t t = (time_t)(start_ns / 1000000000);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (r->json) {
		fputs("{\"type\":\"capture\",\"source\":", r->out);
		sw_buf b;
		sw_buf_init(&b, NULL);
		if (sw_format_json_bytes(&b, (const uint8_t *)source, strlen(source)) == 0)
			put_buf(r->out, &b);
		sw_buf_fini(&b);
		if (st) {
			fprintf(r->out,
			        ",\"frames\":%" PRIu64 ",\"segments\":%" PRIu64
			        ",\"connections\":%u,"
			        "\"ignored_connections\":%u,\"other_port\":%" PRIu64
			        ",\"stray\":%" PRIu64 ",\"skipped_frames\":{",
			        st->frames, st->segments, st->connections, st->ignored_connections,
			        st->other_port, st->stray);
			const char *sep = "";
			for (int i = 1; i < 7; i++)
				if (st->frames_skipped[i]) {
					fprintf(r->out, "%s\"%s\":%" PRIu64, sep,
					        sw_pkt_result_name((sw_pkt_result)i),
					        st->frames_skipped[i]);
					sep = ",";
				}
			fputc('}', r->out);
		} else {
			fprintf(r->out, ",\"connections\":%u", r->connections);
		}
		if (iso[0])
			fprintf(r->out, ",\"start\":\"%s\"", iso);
		else
			fputs(",\"start\":null", r->out);
		fprintf(r->out, ",\"clean\":%s}\n", r->anomalies ? "false" : "true");
		return;
	}
	fprintf(r->out, "%s: %u connection%s", source, st ? st->connections : r->connections,
	        (st ? st->connections : r->connections) == 1 ? "" : "s");
	if (st) {
		fprintf(r->out, ", %" PRIu64 " frames", st->frames);
		if (st->other_port)
			fprintf(r->out, ", %" PRIu64 " segments of other ports", st->other_port);
		if (st->ignored_connections)
			fprintf(r->out, ", %u connections ignored (limit)",
			        st->ignored_connections);
	}
	if (iso[0])
		fprintf(r->out, ", first frame %s", iso);
	fprintf(r->out, "; %s\n", r->anomalies ? "anomalies found (see above)" : "clean");
}
