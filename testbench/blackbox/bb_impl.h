/*
 * Internal helpers shared by the blackbox/ sources (not installed).
 */
#ifndef SW_BB_IMPL_H
#define SW_BB_IMPL_H

#include "blackbox/blackbox.h"

/* A seed session and where it came from. */
typedef struct sw__bb_seed {
	sw_bb_session s;
	char origin[96];
} sw__bb_seed;

struct sw_bb_seeds {
	sw__bb_seed *v;
	size_t n;
	sw_slice *dict; /* tokens: the dictionaries, paths, verbs */
	size_t ndict;
	uint8_t *dict_store; /* the bytes the slices point into (list of blocks) */
};

/* Deep copy of one request.  Returns 0 or SW_ERR_NOMEM (d zeroed). */
int sw__bb_req_copy(sw_bb_req *d, const sw_bb_req *s);
/* Removes request i of s (freeing it). */
void sw__bb_req_remove(sw_bb_session *s, size_t i);

/* The dictionary tokens the SW_BB_OP_DICT operator inserts (bb_encode.c):
 * the one process-wide table, set by sw_bb_seeds_load to the loaded seeds'
 * dictionary and read-only afterwards. */
void sw__bb_dict_set(const sw_slice *v, size_t n);

/* Sleeps (a pause a session asks for; never to synchronise). */
void sw__bb_sleep_ms(int64_t ms);
/* malloc'd printf, or NULL. */
char *sw__bb_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Appends a case-file byte expression for p[0..n) ("..." with escapes). */
int sw__bb_expr(sw_buf *out, const uint8_t *p, size_t n);

#endif
