/*
 * Version detection on the first line of a request.  See smartwire/detect.h.
 */
#include "smartwire/detect.h"

#include <string.h>

#define CAND_V2 1u
#define CAND_V3 2u

void sw_detect_init(sw_detect *d)
{
	d->matched = 0;
	d->candidates = CAND_V2 | CAND_V3;
	d->version = SW_VERSION_NONE;
}

size_t sw_detect_feed(sw_detect *d, const uint8_t *in, size_t len)
{
	size_t at = 0;
	while (d->version == SW_VERSION_NONE && at < len) {
		uint8_t c = in[at];
		unsigned keep = 0;
		if ((d->candidates & CAND_V2) && (uint8_t)SW_V2_REQUEST_MARKER[d->matched] == c)
			keep |= CAND_V2;
		if ((d->candidates & CAND_V3) && (uint8_t)SW_V3_MARKER[d->matched] == c)
			keep |= CAND_V3;
		if (!keep) {
			/* The line can no longer equal a marker: v1, and this byte
			 * (not consumed) continues the request after the prefix. */
			d->version = SW_VERSION_1;
			break;
		}
		d->candidates = (uint8_t)keep;
		d->matched++;
		at++;
		if ((keep & CAND_V2) && d->matched == SW_V2_REQUEST_MARKER_LEN)
			d->version = SW_VERSION_2;
		else if ((keep & CAND_V3) && d->matched == SW_V3_MARKER_LEN)
			d->version = SW_VERSION_3;
	}
	return at;
}

int sw_detect_finish(sw_detect *d)
{
	if (d->version == SW_VERSION_NONE && d->matched > 0)
		d->version = SW_VERSION_1;
	return 0;
}

sw_version sw_detect_version(const sw_detect *d)
{
	return (sw_version)d->version;
}

size_t sw_detect_marker_len(const sw_detect *d)
{
	if (d->version == SW_VERSION_2)
		return SW_V2_REQUEST_MARKER_LEN;
	if (d->version == SW_VERSION_3)
		return SW_V3_MARKER_LEN;
	return 0;
}

sw_slice sw_detect_pending(const sw_detect *d)
{
	sw_slice s = {(const uint8_t *)"", 0};
	if (d->version != SW_VERSION_1 || d->matched == 0)
		return s;
	/* Both markers share "bzr "; past that only the surviving candidate's
	 * bytes were matched. */
	s.p = (const uint8_t *)((d->candidates & CAND_V2) ? SW_V2_REQUEST_MARKER : SW_V3_MARKER);
	s.n = d->matched;
	return s;
}

size_t sw_detect_next_read_size(const sw_detect *d)
{
	return d->version == SW_VERSION_NONE ? 1 : 0;
}

sw_version sw_detect_bytes(const uint8_t *in, size_t len, size_t *marker_len)
{
	sw_detect d;
	sw_detect_init(&d);
	sw_detect_feed(&d, in, len);
	sw_detect_finish(&d);
	sw_version v = sw_detect_version(&d);
	if (v == SW_VERSION_NONE)
		v = SW_VERSION_1; /* "" is v1, as in Breezy */
	if (marker_len)
		*marker_len = sw_detect_marker_len(&d);
	return v;
}
