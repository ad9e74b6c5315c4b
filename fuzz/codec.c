/* The decoder-target driver; see codec.h. */
#include "codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartwire/error.h"

/* State of one pass over the input. */
typedef struct pass {
	const sw_fuzz_codec *c;
	void *dec;
	sw_buf *trace;
	bool done; /* a message completed; reset before the next byte */
} pass;

/* Feeds one piece, restarting the decoder at every message boundary.
 * Returns 0 or the decoder's (negative) error, already written to the trace. */
static int feed_piece(pass *ps, const uint8_t *p, size_t n)
{
	const sw_fuzz_codec *c = ps->c;
	size_t off = 0;
	while (off < n) {
		if (ps->done) {
			/* The excess (the rest of this piece and every later piece)
			 * is decoded as the next message. */
			c->reset(ps->dec);
			ps->done = false;
		}
		size_t give = n - off;
		size_t hint = c->next_read_size(ps->dec);
		ptrdiff_t r = c->feed(ps->dec, p + off, give);
		if (r < 0) {
			sw_fuzz_put_error(ps->trace, (int)r);
			uint8_t byte = 0;
			ptrdiff_t again = c->feed(ps->dec, &byte, 1);
			if (again != r)
				sw_fuzz_fail("%s: error %s is not sticky: feeding again returned %td\n",
				             c->name, sw_errname((int)r), again);
			if ((c->checks & SW_FUZZ_CHECK_NRS_ZERO) && c->next_read_size(ps->dec) != 0)
				sw_fuzz_fail("%s: next_read_size() is %zu after an error\n", c->name,
				             c->next_read_size(ps->dec));
			return (int)r;
		}
		if ((size_t)r > give)
			sw_fuzz_fail("%s: feed consumed %td of %zu bytes\n", c->name, r, give);
		off += (size_t)r;
		if (c->done(ps->dec)) {
			sw_fuzz_puts(ps->trace, "done\n");
			ps->done = true;
			if ((c->checks & SW_FUZZ_CHECK_NRS_BOUND) && (size_t)r < hint)
				sw_fuzz_fail("%s: next_read_size() promised at least %zu more bytes "
				             "but the message ended after %td\n", c->name, hint, r);
			if ((c->checks & SW_FUZZ_CHECK_NRS_ZERO) && c->next_read_size(ps->dec) != 0)
				sw_fuzz_fail("%s: next_read_size() is %zu once done\n", c->name,
				             c->next_read_size(ps->dec));
			continue;
		}
		if ((size_t)r != give)
			sw_fuzz_fail("%s: feed returned %td of %zu bytes without completing "
			             "the message or failing\n", c->name, r, give);
		if (c->next_read_size(ps->dec) == 0)
			sw_fuzz_fail("%s: decoder needs more bytes but next_read_size() is 0\n",
			             c->name);
	}
	return 0;
}

/* One pass over the protocol bytes: whole (chunked false) or in the
 * trailer's chunk sizes.  Returns 0 or the first error; the trace ends with
 * the error or with "finish <result>". */
static int run(const sw_fuzz_codec *c, const sw_fuzz_ctl *ctl, bool chunked,
               const sw_mem *mem, sw_buf *trace)
{
	pass ps = {c, NULL, trace, false};
	int rc = c->create(&ps.dec, mem, trace, ctl->variant);
	if (rc != 0) {
		if (rc > 0)
			sw_fuzz_fail("%s: create returned %d\n", c->name, rc);
		sw_fuzz_put_error(trace, rc);
		return rc;
	}
	size_t pos = 0, i = 0;
	while (pos < ctl->len && rc == 0) {
		size_t n = ctl->len - pos;
		if (chunked) {
			size_t k = sw_fuzz_chunk(ctl, i++);
			if (k < n)
				n = k;
		}
		rc = feed_piece(&ps, ctl->data + pos, n);
		pos += n;
	}
	if (rc == 0) {
		rc = c->finish(ps.dec);
		if (rc > 0)
			sw_fuzz_fail("%s: finish returned %d\n", c->name, rc);
		if (ps.done && rc != 0)
			sw_fuzz_fail("%s: finish after a complete message returned %s\n", c->name,
			             sw_errname(rc));
		sw_fuzz_puts(trace, "finish ");
		sw_fuzz_puts(trace, sw_errname(rc));
		sw_fuzz_puts(trace, "\n");
	} else if (c->checks & SW_FUZZ_CHECK_FINISH_STICKY) {
		int f = c->finish(ps.dec);
		if (f != rc)
			sw_fuzz_fail("%s: finish after %s returned %s\n", c->name, sw_errname(rc),
			             sw_errname(f));
	}
	c->destroy(ps.dec);
	return rc;
}

static bool same(const sw_buf *a, const sw_buf *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static void show(const char *label, const sw_buf *t)
{
	int n = t->len > 4000 ? 4000 : (int)t->len;
	fprintf(stderr, "--- %s (%zu bytes)\n%.*s%s\n", label, t->len, n,
	        t->data ? (const char *)t->data : "", t->len > 4000 ? "..." : "");
}

/* Length of `t` without its last line. */
static size_t without_last_line(const sw_buf *t)
{
	size_t n = t->len;
	if (n > 0 && t->data[n - 1] == '\n')
		n--;
	while (n > 0 && t->data[n - 1] != '\n')
		n--;
	return n;
}

int sw_fuzz_codec_one(const sw_fuzz_codec *c, const uint8_t *data, size_t size)
{
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);

	sw_buf whole, chunked;
	sw_buf_init(&whole, NULL);
	sw_buf_init(&chunked, NULL);

	sw_failmem m1, m2;
	sw_failmem_init(&m1, 0, false);
	int rc1 = run(c, &ctl, false, &m1.mem, &whole);
	sw_fuzz_mem_check_leaks(&m1, c->name);
	sw_failmem_init(&m2, 0, false);
	int rc2 = run(c, &ctl, true, &m2.mem, &chunked);
	sw_fuzz_mem_check_leaks(&m2, c->name);
	if (rc1 == SW_ERR_NOMEM || rc2 == SW_ERR_NOMEM)
		sw_fuzz_fail("%s: SW_ERR_NOMEM without an injected failure\n", c->name);
	if (!same(&whole, &chunked)) {
		fprintf(stderr, "%s: feeding in pieces changed the trace\n", c->name);
		show("whole", &whole);
		show("in pieces", &chunked);
		sw_fuzz_fail("%s: chunking invariance violated\n", c->name);
	}

	/* For people reading a corpus entry: SW_FUZZ_TRACE=1 fuzz_x_replay FILE. */
	if (getenv("SW_FUZZ_TRACE"))
		show(c->name, &whole);

	size_t fail_at = sw_fuzz_pick_failure(&ctl, m2.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at != 0) {
		sw_failmem m3;
		sw_failmem_init(&m3, fail_at, ctl.fault == SW_FUZZ_FAULT_PERSISTENT);
		sw_buf faulty;
		sw_buf_init(&faulty, NULL);
		int rc3 = run(c, &ctl, true, &m3.mem, &faulty);
		sw_fuzz_mem_check_leaks(&m3, c->name);
		bool absorbed = same(&faulty, &chunked);
		if (!absorbed && rc3 == SW_ERR_NOMEM) {
			size_t n = without_last_line(&faulty);
			if (n > chunked.len || (n > 0 && memcmp(faulty.data, chunked.data, n) != 0)) {
				show("fault-free", &chunked);
				show("with the failure", &faulty);
				sw_fuzz_fail("%s: events before SW_ERR_NOMEM differ from the "
				             "fault-free run\n", c->name);
			}
		}
		if (!absorbed && rc3 != SW_ERR_NOMEM) {
			show("fault-free", &chunked);
			show("with the failure", &faulty);
		}
		sw_fuzz_mem_check_report(&m3, rc3, absorbed, c->name);
		sw_buf_fini(&faulty);
	}
	sw_buf_fini(&whole);
	sw_buf_fini(&chunked);
	return 0;
}

/* ---- event sink ------------------------------------------------------ */

void sw_fuzz_sink_init(sw_fuzz_sink *s, sw_buf *trace, unsigned abort_at)
{
	s->trace = trace;
	s->abort_at = abort_at;
	s->events = 0;
	sw_buf_init(&s->part, NULL);
	s->expect = 0;
	s->in_part = false;
}

void sw_fuzz_sink_free(sw_fuzz_sink *s)
{
	sw_buf_fini(&s->part);
}

int sw_fuzz_sink_event(sw_fuzz_sink *s)
{
	s->events++;
	if (s->abort_at != 0 && s->events == s->abort_at) {
		sw_fuzz_puts(s->trace, "abort\n");
		return 1;
	}
	return 0;
}

void sw_fuzz_sink_begin(sw_fuzz_sink *s, uint64_t expect)
{
	if (s->in_part)
		sw_fuzz_fail("a part began inside another part\n");
	s->in_part = true;
	s->expect = expect;
	sw_buf_reset(&s->part);
}

void sw_fuzz_sink_data(sw_fuzz_sink *s, const uint8_t *p, size_t n)
{
	if (!s->in_part)
		sw_fuzz_fail("part bytes outside a part\n");
	if (n == 0)
		sw_fuzz_fail("a data callback with zero bytes\n");
	if (sw_buf_append(&s->part, p, n) != 0)
		sw_fuzz_fail("fuzz harness: out of memory joining a part\n");
	if (s->part.len > s->expect)
		sw_fuzz_fail("a part delivered %zu bytes, more than the %llu announced\n",
		             s->part.len, (unsigned long long)s->expect);
}

void sw_fuzz_sink_end(sw_fuzz_sink *s, const char *event)
{
	if (!s->in_part)
		sw_fuzz_fail("a part ended that never began\n");
	if (s->part.len != s->expect)
		sw_fuzz_fail("a part ended after %zu bytes, not the %llu announced\n",
		             s->part.len, (unsigned long long)s->expect);
	sw_fuzz_put_bytes(s->trace, event, s->part.data, s->part.len);
	s->in_part = false;
}
