/*
 * bencode: strict whole-buffer decoder, canonical encoder, trace formatter.
 *
 * The decoder is a single left-to-right pass with an explicit stack, so its
 * C stack use does not depend on the nesting depth.  Every container's
 * children must end up adjacent (`list.items` is an array), which a
 * depth-first pass does not give by itself; so values are built in one
 * array of nodes used from both ends:
 *
 *   nodes[0 .. top)     the stack of values whose container is still open,
 *                       in wire order; an open container is a placeholder
 *                       whose `list.n` holds the index of the enclosing
 *                       open container;
 *   nodes[low .. cap)   finished blocks: when a container closes, its
 *                       children (the top of the stack, already adjacent
 *                       and in order) move there as one block.
 *
 * The root is left at nodes[0], its children right after it (they need not
 * move), so the array is the tree.  Every node is written twice at most,
 * the input is read once, and the array grows only when the two ends meet
 * (never past the element limit).
 *
 * sw_bdecode() parses into a small array on the C stack and then makes its
 * one allocation, of exactly the tree's size; a tree too big for that array
 * is parsed in heap memory, which then becomes the result.
 * sw_bdecode_into() parses into a caller's sw_barena, which is reused from
 * one call to the next: no allocation at all in the steady state.
 */
#include "smartwire/bencode.h"
#include "smartwire/error.h"
#include "smartwire/format.h"

#include <stdbool.h>
#include <string.h>

#include "stage.h"

static int is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Parses a string's "<len>:" prefix at *pos (a digit, which the callers
 * have seen) and checks that the bytes are there.  On success *pos is left
 * at the first byte of the string.  The errors, in this order of
 * precedence, are those of fastbencode: no ':' in sight is TRUNCATED,
 * another byte is SYNTAX, a leading zero is SYNTAX, and a length past the
 * input is TRUNCATED. */
static SW__INLINE int scan_strlen(const uint8_t *in, size_t len, size_t *pos, size_t *out)
{
	size_t p = *pos;
	size_t start = p;
	uint64_t n = (uint64_t)(in[p++] - '0');
	/* Nineteen digits cannot overflow 64 bits; more may wrap, but are
	 * then longer than any input anyway (checked below). */
	while (p < len && is_digit(in[p]))
		n = n * 10 + (uint64_t)(in[p++] - '0');
	if (p == len)
		return SW_ERR_BENCODE_TRUNCATED;
	if (in[p] != ':')
		return SW_ERR_BENCODE_SYNTAX;
	/* "0:" is the only length that may start with a zero (fastbencode:
	 * "leading zeros are not allowed"). */
	if (in[start] == '0' && p != start + 1)
		return SW_ERR_BENCODE_SYNTAX;
	if (p - start > 19 || n > (uint64_t)(len - p - 1))
		return SW_ERR_BENCODE_TRUNCATED;
	*pos = p + 1;
	*out = (size_t)n;
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

/* The node array of one parse (see the top of the file). */
typedef struct tree {
	const sw_mem *mem;
	sw_bval *nodes;
	size_t cap;
	size_t top;       /* stack: nodes[0 .. top) */
	size_t low;       /* finished blocks: nodes[low .. cap) */
	size_t max_nodes; /* never grow past this: the element limit */
	bool owned;       /* nodes came from mem (else the caller's fixed array) */
} tree;

#define NO_FRAME SIZE_MAX
#define FIRST_CAP 16

/* Where a container's items go when its nodes move from `from` (finished
 * blocks starting at from_low) to `to` (starting at to_low).  Open
 * containers have no items yet (NULL). */
static void move_nodes(sw_bval *to, const sw_bval *from, size_t n, const sw_bval *from_low,
                       sw_bval *to_low)
{
	for (size_t k = 0; k < n; k++) {
		to[k] = from[k];
		if ((to[k].type == SW_BLIST || to[k].type == SW_BDICT) && to[k].u.list.items)
			to[k].u.list.items = to_low + (to[k].u.list.items - from_low);
	}
}

/* Makes room for at least one more node: a new array, the stack copied to
 * its start and the finished blocks to its end. */
SW__NOINLINE static int grow(tree *t)
{
	if (t->cap > SIZE_MAX / 2 / sizeof(sw_bval))
		return SW_ERR_NOMEM;
	size_t cap = t->cap ? t->cap * 2 : FIRST_CAP;
	if (cap > t->max_nodes)
		cap = t->max_nodes > t->cap ? t->max_nodes : t->cap + 1;
	sw_bval *nodes = sw_malloc(t->mem, cap * sizeof *nodes);
	if (!nodes)
		return SW_ERR_NOMEM;
	size_t done = t->cap - t->low;
	if (t->nodes) {
		move_nodes(nodes, t->nodes, t->top, t->nodes + t->low, nodes + cap - done);
		move_nodes(nodes + cap - done, t->nodes + t->low, done, t->nodes + t->low,
		           nodes + cap - done);
		if (t->owned)
			sw_free(t->mem, t->nodes);
	}
	t->nodes = nodes;
	t->low = cap - done;
	t->cap = cap;
	t->owned = true;
	return 0;
}

/* Parses exactly one value spanning in[0 .. len) into t; the root is left
 * at t->nodes[0].  The error precedence is that of a recursive descent
 * reading left to right, i.e. the first offending byte decides (except
 * that running out of memory may be reported first).  The array's
 * positions live in locals while parsing, which the compiler keeps in
 * registers, and go back to `t` only around grow() and at the end. */
static int parse(tree *t, const uint8_t *in, size_t len, const sw_blimits *lim)
{
	/* NULL limits, or a zero field: the default. */
	size_t max_depth = lim && lim->max_depth ? lim->max_depth : SW_BENCODE_DEFAULT_MAX_DEPTH;
	size_t max_elements =
	    lim && lim->max_elements ? lim->max_elements : SW_BENCODE_DEFAULT_MAX_ELEMENTS;
	size_t pos = 0, count = 0, depth = 0, frame = NO_FRAME, n;
	sw_bval *nodes = t->nodes;
	size_t top = 0, low = t->cap;
	sw_bval *v;
	int rv;

	t->max_nodes = max_elements;
	for (;;) {
		/* A value is expected at pos. */
		if (pos >= len)
			return SW_ERR_BENCODE_TRUNCATED;
		if (++count > max_elements)
			return SW_ERR_BENCODE_TOO_MANY;
		if (top == low) {
			t->top = top;
			t->low = low;
			if ((rv = grow(t)) < 0)
				return rv;
			nodes = t->nodes;
			low = t->low;
		}
		v = &nodes[top++];
		uint8_t c = in[pos];
		if (is_digit(c)) {
			if ((rv = scan_strlen(in, len, &pos, &n)) < 0)
				return rv;
			v->type = SW_BSTR;
			v->u.str.p = in + pos;
			v->u.str.n = n;
			pos += n;
		} else if (c == 'i') {
			v->type = SW_BINT;
			if ((rv = scan_int(in, len, &pos, &v->u.i)) < 0)
				return rv;
		} else if (c == 'l' || c == 'd') {
			if (depth >= max_depth)
				return SW_ERR_BENCODE_DEPTH;
			depth++;
			pos++;
			v->type = c == 'l' ? SW_BLIST : SW_BDICT;
			v->u.list.items = NULL;
			v->u.list.n = frame;
			frame = top - 1;
		} else {
			return SW_ERR_BENCODE_SYNTAX;
		}
		if (depth == 0)
			break; /* a lone scalar */
		/* Inside the container at nodes[frame]: closing it, maybe the
		 * containers around it too, or reading a dict key; then the
		 * next value. */
		for (;;) {
			if (pos >= len)
				return SW_ERR_BENCODE_TRUNCATED;
			if (in[pos] != 'e')
				break;
			pos++;
			n = top - frame - 1;
			v = &nodes[frame];
			if (--depth == 0) {
				/* The root's children can stay where they are,
				 * right after it. */
				v->u.list.items = &nodes[1];
				v->u.list.n = n;
				goto end;
			}
			/* Its children, nodes[frame + 1 .. top), move to the
			 * finished blocks, last first: the two regions may
			 * overlap when the array is full. */
			low -= n;
			for (size_t k = n; k-- > 0;)
				nodes[low + k] = nodes[frame + 1 + k];
			top = frame + 1;
			frame = v->u.list.n;
			v->u.list.items = &nodes[low];
			v->u.list.n = n;
		}
		if (nodes[frame].type != SW_BDICT)
			continue;
		if (!is_digit(in[pos]))
			return SW_ERR_BENCODE_KEY;
		if (++count > max_elements)
			return SW_ERR_BENCODE_TOO_MANY;
		if ((rv = scan_strlen(in, len, &pos, &n)) < 0)
			return rv;
		/* Keys and values alternate on the stack: the previous key, if
		 * any, is just under the previous value. */
		if (top > frame + 1) {
			const sw_bval *last = &nodes[top - 2];
			if (key_cmp(last->u.str.p, last->u.str.n, in + pos, n) >= 0)
				return SW_ERR_BENCODE_UNSORTED;
		}
		if (top == low) {
			t->top = top;
			t->low = low;
			if ((rv = grow(t)) < 0)
				return rv;
			nodes = t->nodes;
			low = t->low;
		}
		v = &nodes[top++];
		v->type = SW_BSTR;
		v->u.str.p = in + pos;
		v->u.str.n = n;
		pos += n;
		/* A key with no value ("d1:ae") is a value that starts with 'e':
		 * a syntax error, as in fastbencode. */
		if (pos < len && in[pos] == 'e')
			return SW_ERR_BENCODE_SYNTAX;
	}
end:
	t->top = top;
	t->low = low;
	return pos == len ? 0 : SW_ERR_BENCODE_JUNK;
}

/* Nodes a tree small enough for sw_bdecode()'s first try may have.  v3
 * headers and args tuples take a handful. */
#define LOCAL_NODES 64

int sw_bdecode(const sw_mem *mem, const uint8_t *in, size_t len,
               const sw_blimits *lim, sw_bval **out)
{
	*out = NULL;
	sw_bval local[LOCAL_NODES];
	tree t = {mem, local, LOCAL_NODES, 0, 0, 0, false};
	int rv = parse(&t, in, len, lim);
	if (rv < 0) {
		if (t.owned)
			sw_free(mem, t.nodes);
		return rv;
	}
	if (t.owned) {
		/* Grown to the heap: that array is the tree. */
		*out = t.nodes;
		return 0;
	}
	/* One allocation of exactly the tree's size: the root and its
	 * children, then the finished blocks. */
	size_t done = t.cap - t.low;
	sw_bval *nodes = sw_malloc(mem, (t.top + done) * sizeof *nodes);
	if (!nodes)
		return SW_ERR_NOMEM;
	for (size_t k = 0; k < t.top + done; k++) {
		size_t from = k < t.top ? k : t.low + k - t.top;
		nodes[k] = local[from];
		if (nodes[k].type != SW_BLIST && nodes[k].type != SW_BDICT)
			continue;
		/* Items in the first region keep their index; those in the
		 * finished blocks shift down.  An index equal to both t.top
		 * and t.low maps to the same place either way. */
		size_t i = (size_t)(nodes[k].u.list.items - local);
		nodes[k].u.list.items = nodes + (i <= t.top ? i : t.top + (i - t.low));
	}
	*out = nodes;
	return 0;
}

void sw_barena_init(sw_barena *a, const sw_mem *mem)
{
	a->mem = mem;
	a->nodes = NULL;
	a->cap = 0;
}

void sw_barena_fini(sw_barena *a)
{
	sw_free(a->mem, a->nodes);
	a->nodes = NULL;
	a->cap = 0;
}

int sw_bdecode_into(sw_barena *a, const uint8_t *in, size_t len, const sw_blimits *lim,
                    const sw_bval **out)
{
	*out = NULL;
	tree t; /* parse() sets the rest */
	t.mem = a->mem;
	t.nodes = a->nodes;
	t.cap = a->cap;
	t.owned = true;
	int rv = parse(&t, in, len, lim);
	/* A grown array replaced the arena's (which grow() freed) even when
	 * the parse failed later. */
	a->nodes = t.nodes;
	a->cap = t.cap;
	if (rv < 0)
		return rv;
	*out = t.nodes;
	return 0;
}

void sw_bval_del(const sw_mem *mem, sw_bval *v)
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
