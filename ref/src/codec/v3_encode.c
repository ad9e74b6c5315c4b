/*
 * v3 encoder: Breezy's _ProtocolThreeEncoder, ProtocolThreeRequester and
 * ProtocolThreeResponder as functions appending to an sw_buf.
 *
 * Every public function remembers the buffer's length on entry and restores
 * it on failure, so callers never see half a part.
 */
#include "smartwire/v3.h"
#include "smartwire/error.h"

#include <string.h>

const sw_slice sw_v3_default_header_kv[2] = {
	{(const uint8_t *)"Software version", 16},
	{(const uint8_t *)SW_V3_SOFTWARE_VERSION, sizeof SW_V3_SOFTWARE_VERSION - 1},
};

static int undo(sw_buf *out, size_t mark, int rv)
{
	if (rv < 0)
		out->len = mark;
	return rv;
}

/* Writes the length of everything appended after `at + 4` into the 4 bytes
 * reserved at `at`. */
static int patch_len(sw_buf *out, size_t at)
{
	size_t n = out->len - at - 4;
	if (n > UINT32_MAX)
		return SW_ERR_INVALID_ARGUMENT;
	out->data[at] = (uint8_t)(n >> 24);
	out->data[at + 1] = (uint8_t)(n >> 16);
	out->data[at + 2] = (uint8_t)(n >> 8);
	out->data[at + 3] = (uint8_t)n;
	return 0;
}

int sw_v3_put_marker(sw_buf *out)
{
	return sw_buf_append(out, SW_V3_MARKER, SW_V3_MARKER_LEN);
}

/* Python's order of bytes, in which bencode sorts dict keys: byte by byte,
 * a proper prefix first. */
static int slice_cmp(const sw_slice *a, const sw_slice *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	int c = n ? memcmp(a->p, b->p, n) : 0;
	if (c)
		return c;
	return a->n < b->n ? -1 : a->n > b->n ? 1 : 0;
}

static int put_slice(sw_buf *out, const sw_slice *s)
{
	sw_bval v = sw_bstr(s->p, s->n);
	return sw_bencode(out, &v);
}

/* bencode of a dict given as unsorted pairs.  Headers hold a pair or two, so
 * selecting the next larger key each round (quadratic, no allocation) is the
 * simplest correct sort.  Keys are checked to be distinct first, so every
 * round finds one. */
static int put_kv_dict(sw_buf *out, const sw_slice *kv, size_t npairs)
{
	for (size_t i = 0; i < npairs; i++)
		for (size_t j = i + 1; j < npairs; j++)
			if (slice_cmp(&kv[2 * i], &kv[2 * j]) == 0)
				return SW_ERR_INVALID_ARGUMENT;
	int rv = sw_buf_append_byte(out, 'd');
	const sw_slice *prev = NULL;
	for (size_t round = 0; rv == 0 && round < npairs; round++) {
		size_t best = npairs;
		for (size_t i = 0; i < npairs; i++) {
			const sw_slice *k = &kv[2 * i];
			if (prev && slice_cmp(k, prev) <= 0)
				continue;
			if (best == npairs || slice_cmp(k, &kv[2 * best]) < 0)
				best = i;
		}
		prev = &kv[2 * best];
		rv = put_slice(out, prev);
		if (rv == 0)
			rv = put_slice(out, prev + 1);
	}
	if (rv == 0)
		rv = sw_buf_append_byte(out, 'e');
	return rv;
}

int sw_v3_put_headers(sw_buf *out, const sw_slice *kv, size_t npairs)
{
	size_t mark = out->len;
	int rv = sw_buf_append_u32be(out, 0);
	if (rv == 0)
		rv = put_kv_dict(out, kv, npairs);
	if (rv == 0)
		rv = patch_len(out, mark);
	return undo(out, mark, rv);
}

int sw_v3_put_default_headers(sw_buf *out)
{
	return sw_v3_put_headers(out, sw_v3_default_header_kv, SW_V3_DEFAULT_HEADER_PAIRS);
}

int sw_v3_put_headers_bval(sw_buf *out, const sw_bval *dict)
{
	if (!dict || dict->type != SW_BDICT)
		return SW_ERR_INVALID_ARGUMENT;
	size_t mark = out->len;
	int rv = sw_buf_append_u32be(out, 0);
	if (rv == 0)
		rv = sw_bencode(out, dict);
	if (rv == 0)
		rv = patch_len(out, mark);
	return undo(out, mark, rv);
}

int sw_v3_put_byte(sw_buf *out, uint8_t byte)
{
	uint8_t part[2] = {'o', byte};
	return sw_buf_append(out, part, 2);
}

int sw_v3_put_structure(sw_buf *out, const sw_bval *value)
{
	size_t mark = out->len;
	int rv = sw_buf_append(out, "s\0\0\0\0", 5);
	if (rv == 0)
		rv = sw_bencode(out, value);
	if (rv == 0)
		rv = patch_len(out, mark + 1);
	return undo(out, mark, rv);
}

int sw_v3_put_args(sw_buf *out, const sw_slice *args, size_t nargs)
{
	size_t mark = out->len;
	int rv = sw_buf_append(out, "s\0\0\0\0", 5);
	if (rv == 0)
		rv = sw_bencode_strlist(out, args, nargs);
	if (rv == 0)
		rv = patch_len(out, mark + 1);
	return undo(out, mark, rv);
}

int sw_v3_put_bytes_prefix(sw_buf *out, uint32_t n)
{
	uint8_t prefix[5] = {'b', (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
	                     (uint8_t)n};
	return sw_buf_append(out, prefix, 5);
}

int sw_v3_put_bytes(sw_buf *out, const void *p, size_t n)
{
	if (n > UINT32_MAX)
		return SW_ERR_INVALID_ARGUMENT;
	/* Reserve first so that a failure cannot leave the prefix alone. */
	int rv = sw_buf_reserve(out, 5 + n);
	if (rv == 0)
		rv = sw_v3_put_bytes_prefix(out, (uint32_t)n);
	if (rv == 0)
		rv = sw_buf_append(out, p, n);
	return rv;
}

int sw_v3_put_end(sw_buf *out)
{
	return sw_buf_append_byte(out, 'e');
}

static int put_preamble(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs)
{
	int rv = sw_v3_put_marker(out);
	if (rv == 0)
		rv = sw_v3_put_headers(out, hdr_kv, hdr_pairs);
	return rv;
}

int sw_v3_encode_request_start(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                               const sw_slice *args, size_t nargs)
{
	size_t mark = out->len;
	int rv = put_preamble(out, hdr_kv, hdr_pairs);
	if (rv == 0)
		rv = sw_v3_put_args(out, args, nargs);
	return undo(out, mark, rv);
}

int sw_v3_encode_request(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                         const sw_slice *args, size_t nargs, const sw_slice *body)
{
	size_t mark = out->len;
	int rv = sw_v3_encode_request_start(out, hdr_kv, hdr_pairs, args, nargs);
	if (rv == 0 && body)
		rv = sw_v3_put_bytes(out, body->p, body->n);
	if (rv == 0)
		rv = sw_v3_put_end(out);
	return undo(out, mark, rv);
}

int sw_v3_encode_request_abort(sw_buf *out)
{
	static const sw_slice error = {(const uint8_t *)"error", 5};
	return sw_v3_encode_stream_error(out, &error, 1);
}

int sw_v3_encode_response_start(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                                bool success, const sw_slice *args, size_t nargs)
{
	size_t mark = out->len;
	int rv = put_preamble(out, hdr_kv, hdr_pairs);
	if (rv == 0)
		rv = sw_v3_put_byte(out, success ? 'S' : 'E');
	if (rv == 0)
		rv = sw_v3_put_args(out, args, nargs);
	return undo(out, mark, rv);
}

int sw_v3_encode_response(sw_buf *out, const sw_slice *hdr_kv, size_t hdr_pairs,
                          bool success, const sw_slice *args, size_t nargs,
                          const sw_slice *body)
{
	size_t mark = out->len;
	int rv = sw_v3_encode_response_start(out, hdr_kv, hdr_pairs, success, args, nargs);
	if (rv == 0 && body)
		rv = sw_v3_put_bytes(out, body->p, body->n);
	if (rv == 0)
		rv = sw_v3_put_end(out);
	return undo(out, mark, rv);
}

int sw_v3_encode_stream_error(sw_buf *out, const sw_slice *args, size_t nargs)
{
	size_t mark = out->len;
	int rv = sw_v3_put_byte(out, 'E');
	if (rv == 0)
		rv = sw_v3_put_args(out, args, nargs);
	if (rv == 0)
		rv = sw_v3_put_end(out);
	return undo(out, mark, rv);
}
