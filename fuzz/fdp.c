/* The fuzz data provider and failing allocator; see fdp.h. */
#include "fdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smartwire/error.h"
#include "smartwire/format.h"

void sw_fdp_init(sw_fdp *f, const uint8_t *data, size_t len)
{
	f->data = data;
	f->len = len;
}

uint8_t sw_fdp_u8(sw_fdp *f)
{
	if (f->len == 0)
		return 0;
	f->len--;
	return f->data[f->len];
}

uint16_t sw_fdp_u16(sw_fdp *f)
{
	uint16_t lo = sw_fdp_u8(f);
	uint16_t hi = sw_fdp_u8(f);
	return (uint16_t)(lo | (hi << 8));
}

void sw_fdp_tail(sw_fdp *f, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = sw_fdp_u8(f);
}

void sw_fuzz_ctl_read(sw_fuzz_ctl *ctl, const uint8_t *in, size_t len)
{
	sw_fdp f;
	sw_fdp_init(&f, in, len);
	uint8_t plan = sw_fdp_u8(&f);
	switch (plan % 4) {
	case 1:
		ctl->fault = SW_FUZZ_FAULT_ONCE;
		break;
	case 2:
		ctl->fault = SW_FUZZ_FAULT_PERSISTENT;
		break;
	default:
		ctl->fault = SW_FUZZ_FAULT_NONE;
		break;
	}
	ctl->fail_at = sw_fdp_u16(&f);
	ctl->variant = sw_fdp_u8(&f);
	sw_fdp_tail(&f, ctl->chunks, SW_FUZZ_CHUNKS);
	/* What is left at the front is the protocol stream.  An input shorter
	 * than the trailer leaves nothing: data points at the (empty) front. */
	ctl->data = f.data;
	ctl->len = f.len;
}

size_t sw_fuzz_chunk(const sw_fuzz_ctl *ctl, size_t i)
{
	return (size_t)ctl->chunks[i % SW_FUZZ_CHUNKS] + 1;
}

size_t sw_fuzz_pick_failure(const sw_fuzz_ctl *ctl, size_t calls)
{
	if (calls == 0)
		return 0;
	return 1 + (size_t)ctl->fail_at % calls;
}

void sw_fuzz_mem_check_leaks(const sw_failmem *fm, const char *what)
{
	if (fm->bad_frees != 0)
		sw_fuzz_fail("%s: %zu free(s) of blocks this allocator never handed out\n", what,
		             fm->bad_frees);
	if (fm->live != 0)
		sw_fuzz_fail("%s: %zu block(s) leaked (allocation %zu of %zu failed %s)\n",
		             what, fm->live, fm->fail_at, fm->calls,
		             fm->persistent ? "persistently" : "once");
}

void sw_fuzz_mem_check_report(const sw_failmem *fm, int rc, bool absorbed,
                              const char *what)
{
	if (fm->failures == 0 || rc == SW_ERR_NOMEM || absorbed)
		return;
	sw_fuzz_fail("%s: allocation %zu failed (%s) but the run ended with %s, "
	             "not SW_ERR_NOMEM, and its result differs from the fault-free run\n",
	             what, fm->fail_at, fm->persistent ? "persistently" : "once",
	             rc == 0 ? "success" : sw_errname(rc));
}

void sw_fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	abort();
}

/* ---- trace helpers --------------------------------------------------- */

static void check(int rc)
{
	if (rc != 0)
		sw_fuzz_fail("fuzz harness: out of memory building a trace\n");
}

void sw_fuzz_puts(sw_buf *trace, const char *s)
{
	check(sw_buf_append_str(trace, s));
}

void sw_fuzz_put_bytes(sw_buf *trace, const char *event, const void *p, size_t n)
{
	check(sw_buf_append_str(trace, event));
	check(sw_buf_append_byte(trace, ' '));
	check(sw_format_bytes(trace, p, n));
	check(sw_buf_append_byte(trace, '\n'));
}

void sw_fuzz_put_error(sw_buf *trace, int err)
{
	check(sw_buf_append_str(trace, "error "));
	check(sw_buf_append_str(trace, sw_errname(err)));
	check(sw_buf_append_byte(trace, '\n'));
}
