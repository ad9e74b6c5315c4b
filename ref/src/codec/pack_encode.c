/*
 * The pack container encoders: Breezy's ContainerSerialiser bytes.  See
 * smartwire/pack.h.
 */
#include "smartwire/pack.h"

#include "smartwire/error.h"

/* pack._check_name's whitespace, and the separator: an element holding
 * "\x00" would be read back as two. */
static bool bad_name_byte(uint8_t c)
{
	return c == 0 || c == ' ' || (c >= '\t' && c <= '\r');
}

/* Checks every name before anything is written (Breezy checks one name
 * at a time and leaves a half-written record when one is bad). */
static int check_names(const sw_pack_name *names, size_t nnames)
{
	if (nnames && !names)
		return SW_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < nnames; i++) {
		const sw_pack_name *nm = &names[i];
		if (nm->n && !nm->elems)
			return SW_ERR_INVALID_ARGUMENT;
		/* An empty line would be the blank line that ends the names. */
		if (nm->n == 0 || (nm->n == 1 && nm->elems[0].n == 0))
			return SW_ERR_PACK_BAD_NAME;
		for (size_t k = 0; k < nm->n; k++) {
			const sw_slice *e = &nm->elems[k];
			if (e->n && !e->p)
				return SW_ERR_INVALID_ARGUMENT;
			for (size_t j = 0; j < e->n; j++)
				if (bad_name_byte(e->p[j]))
					return SW_ERR_PACK_BAD_NAME;
		}
	}
	return 0;
}

int sw_pack_encode_begin(sw_buf *out)
{
	return sw_buf_append(out, SW_PACK_HEADER, SW_PACK_HEADER_LEN);
}

int sw_pack_encode_record_header(sw_buf *out, uint64_t length, const sw_pack_name *names,
                                 size_t nnames)
{
	int rv = check_names(names, nnames);
	if (rv < 0)
		return rv;
	size_t mark = out->len;
	rv = sw_buf_append_byte(out, 'B');
	if (rv == 0)
		rv = sw_buf_append_u64(out, length);
	if (rv == 0)
		rv = sw_buf_append_byte(out, '\n');
	for (size_t i = 0; rv == 0 && i < nnames; i++) {
		for (size_t k = 0; rv == 0 && k < names[i].n; k++) {
			if (k)
				rv = sw_buf_append_byte(out, 0);
			if (rv == 0 && names[i].elems[k].n)
				rv = sw_buf_append(out, names[i].elems[k].p, names[i].elems[k].n);
		}
		if (rv == 0)
			rv = sw_buf_append_byte(out, '\n');
	}
	if (rv == 0)
		rv = sw_buf_append_byte(out, '\n');
	if (rv < 0)
		out->len = mark;
	return rv;
}

int sw_pack_encode_record(sw_buf *out, const void *body, size_t len, const sw_pack_name *names,
                          size_t nnames)
{
	if (len && !body)
		return SW_ERR_INVALID_ARGUMENT;
	size_t mark = out->len;
	int rv = sw_pack_encode_record_header(out, len, names, nnames);
	if (rv == 0 && len)
		rv = sw_buf_append(out, body, len);
	if (rv < 0)
		out->len = mark;
	return rv;
}

int sw_pack_encode_end(sw_buf *out)
{
	return sw_buf_append_byte(out, 'E');
}
