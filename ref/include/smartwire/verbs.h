/*
 * smartwire: Breezy's registry of request verbs.
 *
 * The 93 verbs Breezy 3.3.2 registers (breezy.bzr.smart.request
 * .request_handlers), each with its safety class and what its request
 * carries.  The table is written from Breezy itself by
 * conformance/verbs/gen_registry.py.  Its users:
 *  - the client's retry rule after a connection reset while reading
 *    (Breezy's _SmartClientRequest: read, idem and semi are sent again);
 *  - decoders of v1/v2 traffic, where whether a request has a body is not on
 *    the wire (the dissector, the fuzz targets);
 *  - the conformance suite's coverage of the protocol surface.
 */
#ifndef SMARTWIRE_VERBS_H
#define SMARTWIRE_VERBS_H

#include <stddef.h>

#include "smartwire/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The registry's `info`: how safe the request is to send twice. */
typedef enum sw_verb_class {
	SW_VERB_READ,    /* reads only */
	SW_VERB_IDEM,    /* idempotent: the same result if sent twice */
	SW_VERB_SEMI,    /* semi-idempotent: a second send may fail harmlessly */
	SW_VERB_SEMIVFS, /* a VFS verb that is semi-idempotent */
	SW_VERB_MUTATE,  /* changes state each time */
	SW_VERB_STREAM   /* its request body is a stream: never sent twice */
} sw_verb_class;

/* What the request carries after its arguments. */
typedef enum sw_verb_body {
	SW_VERB_BODY_NONE,  /* nothing: the handler answers on its arguments */
	SW_VERB_BODY_WHOLE, /* a whole body (the handler's do_body) */
	SW_VERB_BODY_STREAM /* body parts one by one (do_chunk; v3 only) */
} sw_verb_body;

typedef struct sw_verb_info {
	const char *name; /* the verb, NUL-terminated ASCII */
	sw_verb_class safety;
	sw_verb_body body;
} sw_verb_info;

/* The entry of verb p[0..n) (any bytes), or NULL for a verb Breezy does not
 * register.  Static storage. */
SW_API const sw_verb_info *sw_verb_lookup(const void *p, size_t n);

/* Every entry, sorted by name; *n receives the count.  Static storage. */
SW_API const sw_verb_info *sw_verb_all(size_t *n);

/* True when Breezy's client sends a request of this class again after a
 * connection reset while reading its answer (read, idem, semi). */
SW_API int sw_verb_class_retries(sw_verb_class c);

/* "read", "idem", "semi", "semivfs", "mutate", "stream". */
SW_API const char *sw_verb_class_name(sw_verb_class c);

#ifdef __cplusplus
}
#endif
#endif
