/*
 * smartwire: bencode, as the v3 protocol uses it for headers and structures.
 *
 * The decoder is whole-buffer, not incremental: a v3 part carries its own
 * length prefix, so the v3 decoder stages the complete part (within its
 * limit) and then calls sw_bdecode_into().  It is as strict as Breezy's
 * (fastbencode) decoder:
 *   - exactly one value spanning the whole input, no trailing bytes;
 *   - dict keys are byte strings in strictly ascending raw-byte order;
 *   - integers have no leading zeros, no "-0", no empty "ie", and must fit
 *     int64_t (fastbencode accepts big integers; smartwire rejects them with
 *     SW_ERR_BENCODE_BAD_INT, a documented departure: no protocol field
 *     needs more than 64 bits);
 *   - string lengths have no leading zeros (except "0:") and no sign.
 * Nesting depth and the total number of values are bounded by sw_blimits.
 */
#ifndef SMARTWIRE_BENCODE_H
#define SMARTWIRE_BENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_btype { SW_BSTR = 1, SW_BINT, SW_BLIST, SW_BDICT } sw_btype;

/* A decoded (or caller-built) bencode value.
 * - SW_BSTR: `str` points at the bytes.  For decoded values it points into
 *   the input buffer given to sw_bdecode(), which must outlive the value.
 * - SW_BINT: `i`.
 * - SW_BLIST: `list.items[0 .. list.n)`.
 * - SW_BDICT: `list.items` holds 2*pairs values alternating key, value, in
 *   ascending key order; `list.n` is the number of items (twice the pairs). */
typedef struct sw_bval {
	sw_btype type;
	union {
		sw_slice str;
		int64_t i;
		struct {
			struct sw_bval *items;
			size_t n;
		} list;
	} u;
} sw_bval;

/* Zero-initialise and set what you need: a zero field means its default. */
typedef struct sw_blimits {
	size_t max_depth; /* lists/dicts nested deeper than this fail: SW_ERR_BENCODE_DEPTH */
	size_t
	    max_elements; /* total values (including containers) over this fail: SW_ERR_BENCODE_TOO_MANY */
} sw_blimits;

/* Defaults used when a NULL `sw_blimits *` is passed. */
#define SW_BENCODE_DEFAULT_MAX_DEPTH 32
#define SW_BENCODE_DEFAULT_MAX_ELEMENTS 65536

/* Decodes exactly one value occupying all of `in[0 .. len)`.
 * On success returns 0 and stores in *out a tree allocated through `mem`
 * (NULL: default allocator); release it with sw_bval_del().  Byte strings
 * point into `in` (zero copy).  `lim` may be NULL for the defaults.
 * Errors: SW_ERR_NOMEM, SW_ERR_BENCODE_SYNTAX, SW_ERR_BENCODE_TRUNCATED,
 * SW_ERR_BENCODE_JUNK, SW_ERR_BENCODE_UNSORTED, SW_ERR_BENCODE_BAD_INT,
 * SW_ERR_BENCODE_DEPTH, SW_ERR_BENCODE_TOO_MANY, SW_ERR_BENCODE_KEY.
 * On error *out is set to NULL and nothing is leaked. */
SW_API int sw_bdecode(const sw_mem *mem, const uint8_t *in, size_t len, const sw_blimits *lim,
                      sw_bval **out);

/* Frees a tree returned by sw_bdecode() (NULL is a no-op). */
SW_API void sw_bval_del(const sw_mem *mem, sw_bval *v);

/* A reusable node buffer for sw_bdecode_into(), for a caller that decodes
 * many small values one after the other (the v3 decoder keeps one per
 * decoder): after the first few calls it has the room it needs and decoding
 * allocates nothing.  The caller owns the struct; the buffer inside is
 * allocated through `mem` and released by sw_barena_fini(). */
typedef struct sw_barena {
	const sw_mem *mem; /* NULL: libc */
	sw_bval *nodes;    /* NULL until the first decode */
	size_t cap;        /* room in `nodes`, in values */
} sw_barena;

/* Readies an empty arena (allocates nothing). */
SW_API void sw_barena_init(sw_barena *a, const sw_mem *mem);

/* Frees the arena's buffer and leaves it empty and reusable.  Every tree
 * decoded into it becomes invalid. */
SW_API void sw_barena_fini(sw_barena *a);

/* Like sw_bdecode(), with the same strictness, limits and error codes, but
 * the tree lives in `a`: *out (the root) stays valid until the next
 * sw_bdecode_into() or sw_barena_fini() on the same arena, and must not be
 * passed to sw_bval_del().  The buffer grows through the arena's allocator
 * when the tree needs more room (never beyond lim->max_elements values) and
 * is kept for the next call.  Byte strings point into `in`, which must
 * outlive the tree.  Returns 0, or one of sw_bdecode()'s errors with *out
 * NULL; after an error, SW_ERR_NOMEM included, the arena is still valid
 * (and owns whatever it had) and nothing is leaked. */
SW_API int sw_bdecode_into(sw_barena *a, const uint8_t *in, size_t len, const sw_blimits *lim,
                           const sw_bval **out);

/* Appends the canonical encoding of `v` to `out`.  Dict items must already be
 * in strictly ascending key order with byte-string keys, or
 * SW_ERR_INVALID_ARGUMENT is returned.  Returns 0, SW_ERR_NOMEM or
 * SW_ERR_INVALID_ARGUMENT; on error `out` may hold a partial encoding past
 * its original length (truncate it if needed). */
SW_API int sw_bencode(sw_buf *out, const sw_bval *v);

/* Appends the encoding of a list of byte strings: "l" (len ":" bytes)* "e".
 * This is the shape of every v3 args structure.  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_bencode_strlist(sw_buf *out, const sw_slice *items, size_t n);

/* Value constructors for building trees by hand (no allocation). */
static inline sw_bval sw_bstr(const void *p, size_t n)
{
	sw_bval v;
	v.type = SW_BSTR;
	v.u.str.p = (const uint8_t *)p;
	v.u.str.n = n;
	return v;
}
static inline sw_bval sw_bint(int64_t i)
{
	sw_bval v;
	v.type = SW_BINT;
	v.u.i = i;
	return v;
}
static inline sw_bval sw_blist(sw_bval *items, size_t n)
{
	sw_bval v;
	v.type = SW_BLIST;
	v.u.list.items = items;
	v.u.list.n = n;
	return v;
}
/* `items` alternates key, value; `n` counts items (2 * pairs). */
static inline sw_bval sw_bdict(sw_bval *items, size_t n)
{
	sw_bval v;
	v.type = SW_BDICT;
	v.u.list.items = items;
	v.u.list.n = n;
	return v;
}

/* Returns the value for byte-string `key` in dict `d`, or NULL if absent or
 * `d` is not a dict. */
SW_API const sw_bval *sw_bdict_get(const sw_bval *d, const void *key, size_t keylen);

/* Appends the trace notation of `v` (see smartwire/format.h): byte strings as
 * quoted escaped strings, integers in decimal, lists as `[a, b]`, dicts as
 * `{k: v, k2: v2}`.  Returns 0, SW_ERR_NOMEM, or SW_ERR_INVALID_ARGUMENT for
 * a value whose type is not one of sw_btype; on error `out` may hold a
 * partial result past its original length. */
SW_API int sw_bval_format(sw_buf *out, const sw_bval *v);

#ifdef __cplusplus
}
#endif
#endif
