/*
 * bencode: strict whole-buffer decoder, canonical encoder, trace formatter.
 *
 * sw_bdecode() works in two passes so that a tree costs exactly one
 * allocation.  The first pass validates the input completely (syntax,
 * strictness, limits) and counts the values.  The second pass fills an
 * array of that many sw_bval in breadth-first order: the children of every
 * container are then adjacent, so `list.items` can point straight into the
 * array, and sw_bval_free() is a single free.  The first pass recurses once
 * per nesting level, so its stack use is bounded by sw_blimits.max_depth.
 */
#include "smartwire/bencode.h"
#include "smartwire/error.h"
#include "smartwire/format.h"

#include <stdbool.h>
#include <string.h>

typedef struct scan {
	const uint8_t *in;
	size_t len;
	size_t max_depth;
	size_t max_elements;
	size_t count; /* values seen so far */
} scan;

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Parses a string's "<len>:" prefix at *pos and checks that the bytes are
 * there.  On success *pos is left at the first byte of the string. */
static int scan_strlen(const uint8_t *in, size_t len, size_t *pos, size_t *out)
{
	size_t p = *pos;
	size_t start = p;
	size_t n = 0;
	bool overflow = false;
	while (p < len && is_digit(in[p])) {
		size_t d = (size_t)(in[p] - '0');
		if (n > (SIZE_MAX - d) / 10)
			overflow = true;
		else
			n = n * 10 + d;
		p++;
	}
	if (p == len)
		return SW_ERR_BENCODE_TRUNCATED;
	if (in[p] != ':')
		return SW_ERR_BENCODE_SYNTAX;
	/* "0:" is the only length that may start with a zero (fastbencode:
	 * "leading zeros are not allowed"). */
	if (in[start] == '0' && p != start + 1)
		return SW_ERR_BENCODE_SYNTAX;
	p++;
	if (overflow || n > len - p)
		return SW_ERR_BENCODE_TRUNCATED;
	*pos = p;
	*out = n;
	return 0;
}

/* Parses "i<n>e" at *pos (which holds the 'i'). */
static int scan_int(const uint8_t *in, size_t len, size_t *pos, int64_t *out)
{
	size_t p = *pos + 1;
	bool neg = false;
	if (p < len && in[p] == '-') {
		neg = true;
		p++;
	}
	size_t digits = p;
	uint64_t mag = 0;
	/* The magnitude of INT64_MIN is one more than INT64_MAX. */
	uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	bool range = true;
	while (p < len && is_digit(in[p])) {
		uint64_t d = (uint64_t)(in[p] - '0');
		if (mag > (lim - d) / 10)
			range = false;
		else
			mag = mag * 10 + d;
		p++;
	}
	if (p == len)
		return SW_ERR_BENCODE_TRUNCATED;
	if (in[p] != 'e' || p == digits || !range)
		return SW_ERR_BENCODE_BAD_INT;
	/* No leading zeros ("i03e") and no negative zero ("i-0e"). */
	if (in[digits] == '0' && (p != digits + 1 || neg))
		return SW_ERR_BENCODE_BAD_INT;
	*pos = p + 1;
	/* Negated in the signed domain: converting 2^63 to int64_t would be
	 * implementation-defined.  mag >= 1 here when neg. */
	if (out)
		*out = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
	return 0;
}

/* Python compares bytes lexicographically, a proper prefix first.  An empty
 * key built by a caller may have a null pointer, which memcmp must not see. */
static int key_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return an < bn ? -1 : an > bn ? 1 : 0;
}

/* First pass: validates one value at *pos, counting it and its contents. */
static int scan_value(scan *s, size_t *pos, size_t depth)
{
	const uint8_t *in = s->in;
	size_t len = s->len;
	if (*pos >= len)
		return SW_ERR_BENCODE_TRUNCATED;
	if (++s->count > s->max_elements)
		return SW_ERR_BENCODE_TOO_MANY;
	uint8_t c = in[*pos];
	if (c == 'i')
		return scan_int(in, len, pos, NULL);
	if (is_digit(c)) {
		size_t n;
		int rv = scan_strlen(in, len, pos, &n);
		if (rv == 0)
			*pos += n;
		return rv;
	}
	if (c != 'l' && c != 'd')
		return SW_ERR_BENCODE_SYNTAX;
	if (depth + 1 > s->max_depth)
		return SW_ERR_BENCODE_DEPTH;
	(*pos)++;
	const uint8_t *last = NULL;
	size_t lastn = 0;
	for (;;) {
		if (*pos >= len)
			return SW_ERR_BENCODE_TRUNCATED;
		if (in[*pos] == 'e') {
			(*pos)++;
			return 0;
		}
		if (c == 'd') {
			if (!is_digit(in[*pos]))
				return SW_ERR_BENCODE_KEY;
			if (++s->count > s->max_elements)
				return SW_ERR_BENCODE_TOO_MANY;
			size_t n;
			int rv = scan_strlen(in, len, pos, &n);
			if (rv < 0)
				return rv;
			const uint8_t *key = in + *pos;
			if (last && key_cmp(last, lastn, key, n) >= 0)
				return SW_ERR_BENCODE_UNSORTED;
			last = key;
			lastn = n;
			*pos += n;
			/* A key with no value ("d1:ae") is a value that starts with
			 * 'e': a syntax error, as in fastbencode. */
			if (*pos < len && in[*pos] == 'e')
				return SW_ERR_BENCODE_SYNTAX;
		}
		int rv = scan_value(s, pos, depth + 1);
		if (rv < 0)
			return rv;
	}
}

/* The length of an already validated string at *pos; leaves *pos at its
 * first byte. */
static size_t valid_strlen(const uint8_t *in, size_t *pos)
{
	size_t n = 0;
	while (in[*pos] != ':')
		n = n * 10 + (size_t)(in[(*pos)++] - '0');
	(*pos)++;
	return n;
}

/* Skips one already validated value, iteratively. */
static size_t skip_value(const uint8_t *in, size_t pos)
{
	size_t nest = 0;
	do {
		uint8_t c = in[pos];
		if (c == 'l' || c == 'd') {
			nest++;
			pos++;
		} else if (c == 'e') {
			nest--;
			pos++;
		} else if (c == 'i') {
			while (in[pos] != 'e')
				pos++;
			pos++;
		} else {
			size_t n = valid_strlen(in, &pos);
			pos += n;
		}
	} while (nest > 0);
	return pos;
}

/* Second pass, for one value at `pos`: scalars are filled in completely;
 * containers get their source position parked in `list.n` until their turn
 * in the breadth-first walk. */
static size_t fill_value(const uint8_t *in, size_t pos, sw_bval *v)
{
	uint8_t c = in[pos];
	if (c == 'i') {
		v->type = SW_BINT;
		scan_int(in, SIZE_MAX, &pos, &v->u.i); /* validated: no bound needed */
		return pos;
	}
	if (c == 'l' || c == 'd') {
		v->type = c == 'l' ? SW_BLIST : SW_BDICT;
		v->u.list.items = NULL;
		v->u.list.n = pos;
		return skip_value(in, pos);
	}
	size_t n = valid_strlen(in, &pos);
	v->type = SW_BSTR;
	v->u.str.p = in + pos;
	v->u.str.n = n;
	return pos + n;
}

int sw_bdecode(const sw_mem *mem, const uint8_t *in, size_t len,
               const sw_blimits *lim, sw_bval **out)
{
	*out = NULL;
	scan s = {in, len, SW_BENCODE_DEFAULT_MAX_DEPTH, SW_BENCODE_DEFAULT_MAX_ELEMENTS, 0};
	if (lim) {
		s.max_depth = lim->max_depth;
		s.max_elements = lim->max_elements;
	}
	size_t pos = 0;
	int rv = scan_value(&s, &pos, 0);
	if (rv < 0)
		return rv;
	if (pos != len)
		return SW_ERR_BENCODE_JUNK;

	if (s.count > SIZE_MAX / sizeof(sw_bval))
		return SW_ERR_NOMEM;
	sw_bval *nodes = sw_malloc(mem, s.count * sizeof(sw_bval));
	if (!nodes)
		return SW_ERR_NOMEM;
	size_t used = 1;
	fill_value(in, 0, &nodes[0]);
	for (size_t k = 0; k < used; k++) {
		sw_bval *v = &nodes[k];
		if (v->type != SW_BLIST && v->type != SW_BDICT)
			continue;
		size_t p = v->u.list.n + 1;
		v->u.list.items = &nodes[used];
		v->u.list.n = 0;
		while (in[p] != 'e') {
			p = fill_value(in, p, &nodes[used++]);
			v->u.list.n++;
		}
	}
	*out = nodes;
	return 0;
}

void sw_bval_free(const sw_mem *mem, sw_bval *v)
{
	if (v)
		sw_free(mem, v);
}

static int put_int(sw_buf *out, int64_t i)
{
	uint64_t mag = (uint64_t)i;
	if (i < 0) {
		int rv = sw_buf_append_byte(out, '-');
		if (rv < 0)
			return rv;
		mag = 0 - mag;
	}
	return sw_buf_append_u64(out, mag);
}

static int put_str(sw_buf *out, const sw_slice *s)
{
	int rv = sw_buf_append_u64(out, s->n);
	if (rv == 0)
		rv = sw_buf_append_byte(out, ':');
	if (rv == 0)
		rv = sw_buf_append(out, s->p, s->n);
	return rv;
}

int sw_bencode(sw_buf *out, const sw_bval *v)
{
	int rv;
	switch (v->type) {
	case SW_BSTR:
		return put_str(out, &v->u.str);
	case SW_BINT:
		rv = sw_buf_append_byte(out, 'i');
		if (rv == 0)
			rv = put_int(out, v->u.i);
		if (rv == 0)
			rv = sw_buf_append_byte(out, 'e');
		return rv;
	case SW_BLIST:
	case SW_BDICT:
		if (v->type == SW_BDICT) {
			if (v->u.list.n % 2)
				return SW_ERR_INVALID_ARGUMENT;
			for (size_t k = 0; k < v->u.list.n; k += 2) {
				const sw_bval *key = &v->u.list.items[k];
				if (key->type != SW_BSTR)
					return SW_ERR_INVALID_ARGUMENT;
				if (k == 0)
					continue;
				const sw_bval *prev = &v->u.list.items[k - 2];
				if (key_cmp(prev->u.str.p, prev->u.str.n, key->u.str.p, key->u.str.n) >= 0)
					return SW_ERR_INVALID_ARGUMENT;
			}
		}
		rv = sw_buf_append_byte(out, v->type == SW_BLIST ? 'l' : 'd');
		for (size_t k = 0; rv == 0 && k < v->u.list.n; k++)
			rv = sw_bencode(out, &v->u.list.items[k]);
		if (rv == 0)
			rv = sw_buf_append_byte(out, 'e');
		return rv;
	}
	return SW_ERR_INVALID_ARGUMENT;
}

int sw_bencode_strlist(sw_buf *out, const sw_slice *items, size_t n)
{
	int rv = sw_buf_append_byte(out, 'l');
	for (size_t k = 0; rv == 0 && k < n; k++)
		rv = put_str(out, &items[k]);
	if (rv == 0)
		rv = sw_buf_append_byte(out, 'e');
	return rv;
}

const sw_bval *sw_bdict_get(const sw_bval *d, const void *key, size_t keylen)
{
	if (!d || d->type != SW_BDICT)
		return NULL;
	for (size_t k = 0; k + 1 < d->u.list.n; k += 2) {
		const sw_bval *kv = &d->u.list.items[k];
		if (kv->type == SW_BSTR && kv->u.str.n == keylen &&
		    (keylen == 0 || memcmp(kv->u.str.p, key, keylen) == 0))
			return &d->u.list.items[k + 1];
	}
	return NULL;
}

int sw_bval_format(sw_buf *out, const sw_bval *v)
{
	int rv;
	switch (v->type) {
	case SW_BSTR:
		return sw_format_bytes(out, v->u.str.p, v->u.str.n);
	case SW_BINT:
		return put_int(out, v->u.i);
	case SW_BLIST:
	case SW_BDICT:
		rv = sw_buf_append_byte(out, v->type == SW_BLIST ? '[' : '{');
		for (size_t k = 0; rv == 0 && k < v->u.list.n; k++) {
			const char *sep = k == 0 ? "" : v->type == SW_BDICT && k % 2 ? ": " : ", ";
			rv = sw_buf_append_str(out, sep);
			if (rv == 0)
				rv = sw_bval_format(out, &v->u.list.items[k]);
		}
		if (rv == 0)
			rv = sw_buf_append_byte(out, v->type == SW_BLIST ? ']' : '}');
		return rv;
	}
	return SW_ERR_INVALID_ARGUMENT;
}
