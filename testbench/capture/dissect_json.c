/*
 * JSON of decoded values for the dissector (dissect.h): byte strings as
 * JSON strings whose code points are the byte values, so that any bytes
 * round-trip; integers, lists and dicts as themselves.
 */
#include <stdio.h>

#include "capture/dissect.h"
#include "smartwire/format.h"
#include "dissect_impl.h"

int sw__dis_json_bval(sw_buf *out, const sw_bval *v)
{
	int rc = 0;
	switch (v->type) {
	case SW_BSTR: return sw_format_json_bytes(out, v->u.str.p, v->u.str.n);
	case SW_BINT: {
		char tmp[32];
		snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i);
		return sw_buf_append_str(out, tmp);
	}
	case SW_BLIST:
		rc = sw_buf_append_byte(out, '[');
		for (size_t i = 0; i < v->u.list.n && rc == 0; i++) {
			if (i)
				rc = sw_buf_append_byte(out, ',');
			if (rc == 0)
				rc = sw__dis_json_bval(out, &v->u.list.items[i]);
		}
		return rc ? rc : sw_buf_append_byte(out, ']');
	case SW_BDICT:
		rc = sw_buf_append_byte(out, '{');
		for (size_t i = 0; i + 1 < v->u.list.n && rc == 0; i += 2) {
			if (i)
				rc = sw_buf_append_byte(out, ',');
			const sw_bval *key = &v->u.list.items[i];
			/* Keys are byte strings (the decoder guarantees it). */
			if (rc == 0)
				rc = sw_format_json_bytes(out, key->u.str.p, key->u.str.n);
			if (rc == 0)
				rc = sw_buf_append_byte(out, ':');
			if (rc == 0)
				rc = sw__dis_json_bval(out, &v->u.list.items[i + 1]);
		}
		return rc ? rc : sw_buf_append_byte(out, '}');
	}
	return 0;
}

int sw__dis_json_tuple(sw_buf *out, const sw_slice *items, size_t n)
{
	int rc = sw_buf_append_byte(out, '[');
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i)
			rc = sw_buf_append_byte(out, ',');
		if (rc == 0)
			rc = sw_format_json_bytes(out, items[i].p, items[i].n);
	}
	return rc ? rc : sw_buf_append_byte(out, ']');
}
