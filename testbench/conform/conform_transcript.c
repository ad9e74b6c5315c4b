/*
 * Conformance runner: the transcript of a run and reading from the peer.
 *
 * Every byte sent ('>') and received ('<'), and a note ('#') for each thing
 * the runner did that the bytes do not show (a half-close, a process that
 * exited), goes into the result's event list: the transcript is the
 * evidence a report shows next to a verdict.  Consecutive bytes in the same
 * direction extend one event, so a dripped request reads as one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"

int sw__cf_record(sw_cf_result *r, char dir, const void *p, size_t n)
{
	if (!r)
		return 0;
	if (r->nevents && r->events[r->nevents - 1].dir == dir && dir != '#') {
		sw_cf_event *e = &r->events[r->nevents - 1];
		uint8_t *np = realloc(e->p, e->n + n + 1);
		if (!np)
			return SW_ERR_NOMEM;
		memcpy(np + e->n, p, n);
		e->n += n;
		np[e->n] = 0;
		e->p = np;
		return 0;
	}
	sw_cf_event *ev = realloc(r->events, (r->nevents + 1) * sizeof *ev);
	if (!ev)
		return SW_ERR_NOMEM;
	r->events = ev;
	uint8_t *copy = malloc(n + 1);
	if (!copy)
		return SW_ERR_NOMEM;
	if (n)
		memcpy(copy, p, n);
	copy[n] = 0;
	ev[r->nevents].dir = dir;
	ev[r->nevents].p = copy;
	ev[r->nevents].n = n;
	r->nevents++;
	return 0;
}

int sw__cf_note(sw_cf_result *r, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return sw__cf_record(r, '#', tmp, strlen(tmp));
}

int sw__cf_conn_fill(sw__cf_conn *c, int64_t deadline)
{
	if (c->eof)
		return 0;
	for (;;) {
		int64_t left = deadline - sw_clock_ms();
		if (left < 0)
			left = 0;
		int w = sw_medium_wait_readable(c->m, (int)left);
		if (w == SW_ERR_TIMEOUT || (w == SW_ERR_WOULD_BLOCK && left == 0))
			return SW_ERR_TIMEOUT;
		if (w < 0 && w != SW_ERR_WOULD_BLOCK) {
			c->err = w;
			c->eof = true;
			return 0;
		}
		uint8_t buf[65536];
		ptrdiff_t n = sw_medium_read(c->m, buf, sizeof buf);
		if (n == SW_ERR_WOULD_BLOCK) {
			if (sw_clock_ms() >= deadline)
				return SW_ERR_TIMEOUT;
			continue;
		}
		if (n <= 0) {
			if (n < 0)
				c->err = (int)n;
			c->eof = true;
			return 0;
		}
		if (sw_buf_append(&c->rx, buf, (size_t)n) < 0)
			return SW_ERR_NOMEM;
		if (sw__cf_record(c->r, '<', buf, (size_t)n) < 0)
			return SW_ERR_NOMEM;
		return 1;
	}
}
