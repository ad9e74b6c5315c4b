/*
 * Fault plans as values: their text spec (parse, format), equality,
 * validity, and the split of one direction's plan between the two ends of a
 * fifo.  The grammar is specified in smartwire/fault.h; the medium that
 * applies a plan is fault.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "medium_impl.h"
#include "smartwire/error.h"
#include "smartwire/fault.h"

static const struct {
	const char *name;
	int value;
} errnames[] = {
	{"ECONNRESET", ECONNRESET}, {"EPIPE", EPIPE}, {"EINVAL", EINVAL},
	{"EIO", EIO},               {"ETIMEDOUT", ETIMEDOUT},
};
#define N_ERRNAMES (sizeof errnames / sizeof errnames[0])

static const char *errno_name(int e)
{
	for (size_t i = 0; i < N_ERRNAMES; i++)
		if (errnames[i].value == e)
			return errnames[i].name;
	return NULL;
}

void sw_fault_plan_init(sw_fault_plan *p)
{
	memset(p, 0, sizeof *p);
}

/* The parser state: the spec and a cursor; on failure `err` is the offset
 * reported to the caller. */
typedef struct parser {
	const char *s;
	size_t i;
	size_t err;
} parser;

static int fail_at(parser *ps, size_t pos)
{
	ps->err = pos;
	return SW_ERR_INVALID_ARGUMENT;
}

/* An unsigned decimal in [lo, hi]. */
static int parse_num(parser *ps, uint64_t lo, uint64_t hi, uint64_t *out)
{
	size_t start = ps->i;
	uint64_t v = 0;
	while (ps->s[ps->i] >= '0' && ps->s[ps->i] <= '9') {
		unsigned d = (unsigned)(ps->s[ps->i] - '0');
		if (ps->i - start >= 20 || v > (UINT64_MAX - d) / 10)
			return fail_at(ps, start);
		v = v * 10 + d;
		ps->i++;
	}
	if (ps->i == start || v < lo || v > hi)
		return fail_at(ps, start);
	*out = v;
	return 0;
}

static int parse_u32(parser *ps, uint32_t lo, uint32_t *out)
{
	uint64_t v;
	int rc = parse_num(ps, lo, UINT32_MAX, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

static int expect(parser *ps, char c)
{
	if (ps->s[ps->i] != c)
		return fail_at(ps, ps->i);
	ps->i++;
	return 0;
}

static bool at_end_of_item(const parser *ps)
{
	return ps->s[ps->i] == '\0' || ps->s[ps->i] == ';';
}

static int parse_sizes(parser *ps, sw_fault_sizes *z)
{
	memset(z, 0, sizeof *z);
	if (strncmp(ps->s + ps->i, "every", 5) == 0) {
		ps->i += 5;
		z->kind = SW_FAULT_SIZES_EVERY;
		z->v[0] = SW_FAULT_EVERY_DEFAULT;
		if (at_end_of_item(ps))
			return 0;
		if (expect(ps, ':') < 0)
			return SW_ERR_INVALID_ARGUMENT;
		return parse_u32(ps, 1, &z->v[0]);
	}
	if (strncmp(ps->s + ps->i, "rand:", 5) == 0) {
		ps->i += 5;
		z->kind = SW_FAULT_SIZES_RAND;
		if (parse_u32(ps, 1, &z->v[0]) < 0 || expect(ps, '-') < 0)
			return SW_ERR_INVALID_ARGUMENT;
		return parse_u32(ps, z->v[0], &z->v[1]);
	}
	z->kind = SW_FAULT_SIZES_LIST;
	for (;;) {
		if (z->n == SW_FAULT_MAX_SIZES)
			return fail_at(ps, ps->i);
		if (parse_u32(ps, 1, &z->v[z->n]) < 0)
			return SW_ERR_INVALID_ARGUMENT;
		z->n++;
		if (ps->s[ps->i] != ',')
			return 0;
		ps->i++;
	}
}

static int parse_burst(parser *ps, uint32_t *k, uint32_t *m)
{
	size_t kpos = ps->i;
	if (parse_u32(ps, 1, k) < 0 || expect(ps, '/') < 0 || parse_u32(ps, 2, m) < 0)
		return SW_ERR_INVALID_ARGUMENT;
	if (*k >= *m)
		return fail_at(ps, kpos);
	return 0;
}

static int parse_errname(parser *ps, int *out)
{
	for (size_t i = 0; i < N_ERRNAMES; i++) {
		size_t l = strlen(errnames[i].name);
		if (strncmp(ps->s + ps->i, errnames[i].name, l) == 0 &&
		    (ps->s[ps->i + l] == '\0' || ps->s[ps->i + l] == ';')) {
			ps->i += l;
			*out = errnames[i].value;
			return 0;
		}
	}
	return fail_at(ps, ps->i);
}

enum { I_SEED, I_READ, I_WRITE, I_EOF, I_ERROR, I_EAGAIN, I_EINTR, I_STALL, N_ITEMS };
static const char *const item_names[N_ITEMS] = {
	"seed=", "read=", "write=", "eof@", "error@", "eagain=", "eintr=", "stall@",
};

static int parse_item(parser *ps, sw_fault_plan *p, unsigned *seen)
{
	size_t start = ps->i;
	int it = -1;
	for (int k = 0; k < N_ITEMS; k++) {
		size_t l = strlen(item_names[k]);
		if (strncmp(ps->s + ps->i, item_names[k], l) == 0) {
			it = k;
			ps->i += l;
			break;
		}
	}
	if (it < 0 || (*seen & (1u << it)))
		return fail_at(ps, start);
	*seen |= 1u << it;
	switch (it) {
	case I_SEED:
		return parse_num(ps, 0, UINT64_MAX, &p->seed);
	case I_READ:
		return parse_sizes(ps, &p->read);
	case I_WRITE:
		return parse_sizes(ps, &p->write);
	case I_EOF:
		p->has_eof = true;
		return parse_num(ps, 0, UINT64_MAX, &p->eof_at);
	case I_ERROR:
		p->has_error = true;
		if (parse_num(ps, 0, UINT64_MAX, &p->error_at) < 0 || expect(ps, ':') < 0)
			return SW_ERR_INVALID_ARGUMENT;
		return parse_errname(ps, &p->error_errno);
	case I_EAGAIN:
		return parse_burst(ps, &p->eagain_k, &p->eagain_m);
	case I_EINTR:
		return parse_burst(ps, &p->eintr_k, &p->eintr_m);
	default:
		p->has_stall = true;
		return parse_num(ps, 0, UINT64_MAX, &p->stall_at);
	}
}

int sw_fault_plan_parse(const char *spec, sw_fault_plan *p, sw_errinfo *ei)
{
	if (!spec || !p)
		return sw_errinfo_set(ei, SW_ERR_INVALID_ARGUMENT, 0, NULL);
	parser ps = {spec, 0, 0};
	sw_fault_plan plan;
	unsigned seen = 0;
	sw_fault_plan_init(&plan);
	int rc = 0;
	if (spec[0] != '\0') {
		for (;;) {
			rc = parse_item(&ps, &plan, &seen);
			if (rc < 0)
				break;
			if (spec[ps.i] == '\0')
				break;
			if (spec[ps.i] != ';') {
				rc = fail_at(&ps, ps.i);
				break;
			}
			ps.i++;
		}
	}
	if (rc < 0) {
		sw_errinfo_set(ei, rc, 0, "bad fault plan at offset %zu: \"%.40s\"", ps.err,
		               spec + ps.err);
		if (ei)
			ei->offset = ps.err;
		return rc;
	}
	*p = plan;
	return 0;
}

static bool sizes_valid(const sw_fault_sizes *z)
{
	switch (z->kind) {
	case SW_FAULT_SIZES_NONE:
		return true;
	case SW_FAULT_SIZES_LIST:
		if (z->n < 1 || z->n > SW_FAULT_MAX_SIZES)
			return false;
		for (uint32_t i = 0; i < z->n; i++)
			if (z->v[i] == 0)
				return false;
		return true;
	case SW_FAULT_SIZES_EVERY:
		return z->v[0] >= 1;
	case SW_FAULT_SIZES_RAND:
		return z->v[0] >= 1 && z->v[0] <= z->v[1];
	}
	return false;
}

static bool burst_valid(uint32_t k, uint32_t m)
{
	return (m == 0 && k == 0) || (k >= 1 && k < m);
}

bool sw__fault_plan_valid(const sw_fault_plan *p)
{
	return sizes_valid(&p->read) && sizes_valid(&p->write) &&
	       burst_valid(p->eagain_k, p->eagain_m) && burst_valid(p->eintr_k, p->eintr_m) &&
	       (!p->has_error || errno_name(p->error_errno) != NULL);
}

static int fmt(sw_buf *out, const char *f, ...) __attribute__((format(printf, 2, 3)));
static int fmt(sw_buf *out, const char *f, ...)
{
	char tmp[64];
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(tmp, sizeof tmp, f, ap);
	va_end(ap);
	if (out->len && sw_buf_append_byte(out, ';') < 0)
		return SW_ERR_NOMEM;
	return sw_buf_append(out, tmp, (size_t)n);
}

static int fmt_sizes(sw_buf *out, const char *name, const sw_fault_sizes *z)
{
	int rc = 0;
	switch (z->kind) {
	case SW_FAULT_SIZES_NONE:
		break;
	case SW_FAULT_SIZES_EVERY:
		rc = fmt(out, "%s=every:%u", name, (unsigned)z->v[0]);
		break;
	case SW_FAULT_SIZES_RAND:
		rc = fmt(out, "%s=rand:%u-%u", name, (unsigned)z->v[0], (unsigned)z->v[1]);
		break;
	case SW_FAULT_SIZES_LIST:
		rc = fmt(out, "%s=%u", name, (unsigned)z->v[0]);
		for (uint32_t i = 1; rc == 0 && i < z->n; i++) {
			char tmp[16];
			int n = snprintf(tmp, sizeof tmp, ",%u", (unsigned)z->v[i]);
			rc = sw_buf_append(out, tmp, (size_t)n);
		}
		break;
	}
	return rc;
}

int sw_fault_plan_format(const sw_fault_plan *p, sw_buf *out)
{
	if (!p || !out || !sw__fault_plan_valid(p))
		return SW_ERR_INVALID_ARGUMENT;
	/* Items are separated by ';' only inside this call's own output. */
	sw_buf own;
	sw_buf_init(&own, out->mem);
	int rc = 0;
	if (p->seed)
		rc = fmt(&own, "seed=%llu", (unsigned long long)p->seed);
	if (rc == 0)
		rc = fmt_sizes(&own, "read", &p->read);
	if (rc == 0)
		rc = fmt_sizes(&own, "write", &p->write);
	if (rc == 0 && p->has_eof)
		rc = fmt(&own, "eof@%llu", (unsigned long long)p->eof_at);
	if (rc == 0 && p->has_error)
		rc = fmt(&own, "error@%llu:%s", (unsigned long long)p->error_at,
		         errno_name(p->error_errno));
	if (rc == 0 && p->eagain_m)
		rc = fmt(&own, "eagain=%u/%u", (unsigned)p->eagain_k, (unsigned)p->eagain_m);
	if (rc == 0 && p->eintr_m)
		rc = fmt(&own, "eintr=%u/%u", (unsigned)p->eintr_k, (unsigned)p->eintr_m);
	if (rc == 0 && p->has_stall)
		rc = fmt(&own, "stall@%llu", (unsigned long long)p->stall_at);
	if (rc == 0)
		rc = sw_buf_append(out, own.data, own.len);
	sw_buf_fini(&own);
	return rc;
}

static bool sizes_equal(const sw_fault_sizes *a, const sw_fault_sizes *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case SW_FAULT_SIZES_LIST:
		return a->n == b->n && memcmp(a->v, b->v, a->n * sizeof a->v[0]) == 0;
	case SW_FAULT_SIZES_EVERY:
		return a->v[0] == b->v[0];
	case SW_FAULT_SIZES_RAND:
		return a->v[0] == b->v[0] && a->v[1] == b->v[1];
	default:
		return true;
	}
}

bool sw_fault_plan_equal(const sw_fault_plan *a, const sw_fault_plan *b)
{
	return a->seed == b->seed && sizes_equal(&a->read, &b->read) &&
	       sizes_equal(&a->write, &b->write) && a->has_eof == b->has_eof &&
	       (!a->has_eof || a->eof_at == b->eof_at) && a->has_error == b->has_error &&
	       (!a->has_error || (a->error_at == b->error_at && a->error_errno == b->error_errno)) &&
	       a->eagain_k == b->eagain_k && a->eagain_m == b->eagain_m &&
	       a->eintr_k == b->eintr_k && a->eintr_m == b->eintr_m &&
	       a->has_stall == b->has_stall && (!a->has_stall || a->stall_at == b->stall_at);
}

void sw__fault_plan_writer_part(const sw_fault_plan *p, sw_fault_plan *out)
{
	sw_fault_plan_init(out);
	out->seed = p->seed;
	out->write = p->write;
}

void sw__fault_plan_reader_part(const sw_fault_plan *p, sw_fault_plan *out)
{
	*out = *p;
	memset(&out->write, 0, sizeof out->write);
}
