/*
 * Private to testbench/capture/: the JSON writers of dissect_json.c used by
 * the decoder's callbacks in dissect.c.
 */
#ifndef SW_CAPTURE_DISSECT_IMPL_H
#define SW_CAPTURE_DISSECT_IMPL_H

#include "smartwire/bencode.h"
#include "smartwire/mem.h"

/* Append the JSON of a bencode value / of a tuple of byte strings.  Return
 * 0 or SW_ERR_NOMEM (the buffer may then hold part of the text). */
int sw__dis_json_bval(sw_buf *out, const sw_bval *v);
int sw__dis_json_tuple(sw_buf *out, const sw_slice *items, size_t n);

#endif
