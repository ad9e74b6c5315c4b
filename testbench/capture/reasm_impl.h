/*
 * Private to testbench/capture/: the reassembler's state, shared by
 * reasm.c (segments, holes, events) and reasm_table.c (the connection
 * table, creation and deletion).
 */
#ifndef SW_CAPTURE_REASM_IMPL_H
#define SW_CAPTURE_REASM_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/reasm.h"

/* Memory accounted per held piece on top of its bytes, so that many tiny
 * pieces also hit the limit. */
#define NODE_COST 64

struct held {
	struct held *next;
	uint64_t off;
	uint64_t len;
	int64_t ts;
	bool gap; /* no bytes: a snap-length cut (always given up) */
	uint8_t data[];
};

struct half {
	bool started;
	bool syn;
	uint32_t isn;
	uint32_t next_seq;
	uint64_t next_off;
	bool fin_known;
	uint64_t fin_off;
	struct held *held;
};

struct conn {
	sw_tcp_conn pub;
	struct conn *hnext;       /* hash chain */
	struct conn *prev, *next; /* live list (open order) or tombstone list */
	bool closed;              /* a tombstone: only the 4-tuple is kept */
	bool ignored;             /* refused by max_connections */
	bool held_reported;
	struct half h[2];
	size_t held_bytes;
};

struct list {
	struct conn *head, *tail;
	size_t n;
};

struct sw_reasm {
	sw_reasm_config cfg;
	sw_reasm_callbacks cb;
	void *ud;
	const sw_mem *mem;
	int err; /* sticky */
	struct conn **buckets;
	size_t nbuckets;
	struct list live, dead;
	unsigned next_id;
	sw_reasm_stats stats;
};

/* The connection of a 4-tuple (live or a tombstone), or NULL. */
struct conn *sw__reasm_lookup(struct sw_reasm *r, uint8_t family, const uint8_t *client,
                              uint16_t cport, const uint8_t *server);
/* A new live connection for `seg` (client = its source if c2s), in the
 * table and at the end of the live list; NULL when out of memory. */
struct conn *sw__reasm_create(struct sw_reasm *r, const sw_tcp_seg *seg, bool c2s);
/* Turns a live connection into a tombstone (buffers freed), forgetting the
 * oldest tombstones beyond max_connections. */
void sw__reasm_bury(struct sw_reasm *r, struct conn *c);
/* Unlinks and frees a connection, live or not. */
void sw__reasm_destroy(struct sw_reasm *r, struct conn *c);
/* Frees the held pieces of one direction. */
void sw__reasm_free_held(struct sw_reasm *r, struct half *h);

#endif
