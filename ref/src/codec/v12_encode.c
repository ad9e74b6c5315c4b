/*
 * Encoders of v1/v2 requests and responses.  See smartwire/v12.h.
 */
#include "smartwire/v12.h"

#include "smartwire/error.h"

/* [marker] [status] tuple: the part every message starts with. */
static int head(sw_buf *out, int version, const char *marker, size_t marker_len,
                const char *status, const sw_slice *args, size_t n)
{
	if (version != 1 && version != 2)
		return SW_ERR_INVALID_ARGUMENT;
	int rv = 0;
	if (version == 2) {
		rv = sw_buf_append(out, marker, marker_len);
		if (rv == 0 && status)
			rv = sw_buf_append_str(out, status);
	}
	if (rv == 0)
		rv = sw_tuple_encode(out, args, n);
	return rv;
}

static int done(sw_buf *out, size_t mark, int rv)
{
	if (rv < 0)
		out->len = mark;
	return rv;
}

int sw_v12_encode_request(sw_buf *out, int version, const sw_slice *args, size_t n,
                          const sw_slice *body)
{
	size_t mark = out->len;
	int rv = head(out, version, SW_V2_REQUEST_MARKER, SW_V2_REQUEST_MARKER_LEN, NULL, args, n);
	if (rv == 0 && body)
		rv = sw_prefixed_encode(out, body->p, body->n);
	return done(out, mark, rv);
}

int sw_v12_encode_request_readv(sw_buf *out, int version, const sw_slice *args, size_t n,
                                const sw_readv_range *ranges, size_t nranges)
{
	size_t mark = out->len;
	int rv = head(out, version, SW_V2_REQUEST_MARKER, SW_V2_REQUEST_MARKER_LEN, NULL, args, n);
	if (rv == 0) {
		/* The length line precedes the offsets, so they are serialised
		 * into a scratch buffer first. */
		sw_buf tmp;
		sw_buf_init(&tmp, out->mem);
		rv = sw_readv_serialise(&tmp, ranges, nranges);
		if (rv == 0)
			rv = sw_prefixed_encode(out, tmp.data, tmp.len);
		sw_buf_fini(&tmp);
	}
	return done(out, mark, rv);
}

int sw_v12_encode_response(sw_buf *out, int version, bool success, const sw_slice *args,
                           size_t n, const sw_slice *body)
{
	size_t mark = out->len;
	int rv = head(out, version, SW_V2_RESPONSE_MARKER, SW_V2_RESPONSE_MARKER_LEN,
	              success ? SW_V2_STATUS_SUCCESS : SW_V2_STATUS_FAILED, args, n);
	if (rv == 0 && body)
		rv = sw_prefixed_encode(out, body->p, body->n);
	return done(out, mark, rv);
}

int sw_v12_encode_response_stream(sw_buf *out, int version, bool success,
                                  const sw_slice *args, size_t n,
                                  const sw_slice *chunks, size_t nchunks, bool has_error,
                                  const sw_slice *error_args, size_t nerror)
{
	size_t mark = out->len;
	int rv = sw_v12_encode_response(out, version, success, args, n, NULL);
	if (rv < 0 || version == 1)
		return done(out, mark, rv); /* v1 drops body streams, like Breezy */
	rv = sw_chunked_encode_header(out);
	for (size_t i = 0; rv == 0 && i < nchunks; i++)
		rv = sw_chunked_encode_chunk(out, chunks[i].p, chunks[i].n);
	if (rv == 0 && has_error)
		rv = sw_chunked_encode_error(out, error_args, nerror);
	if (rv == 0)
		rv = sw_chunked_encode_end(out);
	return done(out, mark, rv);
}
