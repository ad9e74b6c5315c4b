/*
 * TCP reassembly for captures: segments in, per-direction byte streams out.
 *
 * A sans-I/O core: the caller hands it TCP segments in capture order
 * (sw_reasm_segment, or sw_reasm_frame for a raw frame) and calls
 * sw_reasm_finish at the end of the capture; the reassembler reports what
 * each connection carried through callbacks.  Nothing here reads a file,
 * so tests and the fuzz target feed it packet by packet.
 *
 * Connections.  A segment belongs to the bzr service if one of its ports is
 * the configured server port; the other end is the client.  A connection is
 * opened by a SYN, or, when the capture started after the handshake, by the
 * first segment carrying data or a FIN; such a connection is `partial` (its
 * first bytes in each direction may be the middle of a message).  A SYN
 * with a new initial sequence number on the 4-tuple of a closed or live
 * connection starts a new connection.  Connections are numbered from 1 in
 * the order they were opened.
 *
 * Each direction is a byte stream numbered from offset 0: the byte after
 * the SYN, or for a partial connection the first sequence number seen in
 * that direction.  Sequence numbers are compared modulo 2^32, so a stream
 * may wrap around.  For every direction the reassembler:
 *   - delivers bytes in stream order, each byte once (on_data);
 *   - drops retransmissions, exact or overlapping (an overlap is trimmed to
 *     the bytes not seen yet; the first copy wins, and bytes that differ
 *     from a first copy still held out of order are counted in
 *     `mismatch_bytes` -- delivered bytes are not kept to compare);
 *   - holds segments that arrive ahead of a hole and places them when the
 *     hole is filled;
 *   - reports a hole that will not be filled as a gap (on_gap, with its
 *     offset and size), and then delivers what follows it.  A hole is given
 *     up when the peer acknowledges bytes after it (the receiver had them;
 *     the capture missed them), when the direction ends (FIN, RST, or the end
 *     of the capture) with data after the hole, when the held data would
 *     exceed the limit, or when a frame was cut by the snap length;
 *   - notes how it ended: FIN (after every byte before the FIN was
 *     delivered or reported as a gap), RST, or not at all (capture ended).
 * A connection is closed (on_close) once both directions ended, at a RST,
 * or at sw_reasm_finish.  Its 4-tuple is remembered (without buffers) so
 * that trailing ACKs and retransmitted FINs do not open a new partial
 * connection.
 *
 * Event order for one connection: on_open, then on_data / on_gap / on_end
 * per direction (interleaved between directions as the capture goes),
 * on_end once per direction, on_close last.  Within a direction, offsets are
 * contiguous: each on_data or on_gap starts where the previous one ended.
 *
 * Bounded memory: at most `max_connections` live connections (a new one
 * beyond that is ignored, counted, and reported once through on_limit) and
 * at most `max_held` bytes held out of order per connection (beyond that
 * the oldest hole becomes a gap, reported through on_limit and on_gap).
 * Remembered closed 4-tuples are bounded by max_connections too (the oldest
 * is forgotten).
 */
#ifndef SW_CAPTURE_REASM_H
#define SW_CAPTURE_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"
#include "smartwire/mem.h"

#define SW_REASM_DEFAULT_PORT 4155
#define SW_REASM_DEFAULT_MAX_HELD (4u * 1024u * 1024u)
#define SW_REASM_DEFAULT_MAX_CONNECTIONS 1024u

/* Zero-initialise: every 0 field means its default. */
typedef struct sw_reasm_config {
	uint16_t port;          /* the server's TCP port; 0: 4155 */
	size_t max_held;        /* out-of-order bytes held per connection */
	size_t max_connections; /* live connections tracked at once */
} sw_reasm_config;

typedef enum sw_dir {
	SW_C2S = 0, /* client to server: requests */
	SW_S2C = 1  /* server to client: responses */
} sw_dir;

typedef enum sw_end_how {
	SW_END_NONE = 0, /* still open when the capture ended (or the tuple was reused) */
	SW_END_FIN = 1,
	SW_END_RST = 2
} sw_end_how;

typedef enum sw_gap_cause {
	SW_GAP_ACKED = 0,  /* the peer acknowledged bytes the capture does not have */
	SW_GAP_ENDED = 1,  /* the direction ended with bytes missing before later ones */
	SW_GAP_LIMIT = 2,  /* the held-bytes limit forced the hole closed */
	SW_GAP_SNAPLEN = 3 /* the capture cut the frame (snap length) */
} sw_gap_cause;

typedef enum sw_limit_what {
	SW_LIMIT_CONNECTIONS = 0, /* a connection was ignored: too many live ones */
	SW_LIMIT_HELD = 1         /* a connection held too many out-of-order bytes */
} sw_limit_what;

/* Statistics of one direction, kept up to date as segments arrive. */
typedef struct sw_half_stats {
	uint64_t bytes;     /* delivered through on_data */
	uint64_t gap_bytes; /* reported through on_gap */
	unsigned gaps;
	unsigned segments;      /* segments with payload */
	unsigned retransmitted; /* segments wholly or partly seen before */
	uint64_t retransmitted_bytes;
	uint64_t mismatch_bytes; /* retransmitted bytes that differed from the first copy */
	unsigned out_of_order;   /* segments held ahead of a hole */
	uint64_t before_start;   /* bytes before offset 0 (partial connections): dropped */
	bool syn;                /* this direction's SYN was seen */
	sw_end_how end;          /* how it ended (valid after its on_end) */
	bool ended;
} sw_half_stats;

/* What callbacks see of a connection.  Valid until on_close returns. */
typedef struct sw_tcp_conn {
	unsigned id;    /* 1, 2, ... in the order connections were opened */
	uint8_t family; /* 4 or 6 */
	uint8_t client[16], server[16];
	uint16_t client_port, server_port;
	bool partial;          /* no SYN from the client: captured mid-way */
	int64_t first_ts_ns;   /* its first segment */
	int64_t last_ts_ns;    /* its latest segment */
	sw_half_stats half[2]; /* indexed by sw_dir */
	void *user;            /* free for the callbacks' use (starts NULL) */
} sw_tcp_conn;

/* Each callback may be NULL.  Returning non-zero stops the reassembler: the
 * call that triggered it returns that value (sticky: every later
 * sw_reasm_segment/_frame/_finish returns it too).  Pointers handed to a
 * callback are valid only during the call.  Callbacks must not call back
 * into the reassembler. */
typedef struct sw_reasm_callbacks {
	int (*on_open)(void *ud, sw_tcp_conn *c);
	/* n > 0 bytes at stream offset `off`, captured at ts_ns. */
	int (*on_data)(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, const uint8_t *p, size_t n,
	               int64_t ts_ns);
	/* len > 0 bytes at `off` that the capture does not have. */
	int (*on_gap)(void *ud, sw_tcp_conn *c, sw_dir d, uint64_t off, uint64_t len,
	              sw_gap_cause why, int64_t ts_ns);
	int (*on_end)(void *ud, sw_tcp_conn *c, sw_dir d, sw_end_how how, int64_t ts_ns);
	/* The connection is done; `c` is freed after this returns. */
	int (*on_close)(void *ud, sw_tcp_conn *c);
	/* A limit was hit.  `c` is the connection concerned; for
	 * SW_LIMIT_CONNECTIONS it is NULL and `seg` is the ignored segment. */
	int (*on_limit)(void *ud, sw_tcp_conn *c, sw_limit_what what, const sw_tcp_seg *seg);
} sw_reasm_callbacks;

/* Counters over the whole capture. */
typedef struct sw_reasm_stats {
	uint64_t frames;              /* sw_reasm_frame calls */
	uint64_t frames_skipped[7];   /* by sw_pkt_result (index 0 unused) */
	uint64_t segments;            /* TCP segments seen */
	uint64_t other_port;          /* segments not to or from the server port */
	uint64_t stray;               /* segments of no connection (ACK-only, RST) */
	unsigned connections;         /* connections opened */
	unsigned ignored_connections; /* refused by max_connections */
} sw_reasm_stats;

typedef struct sw_reasm sw_reasm;

/* Creates a reassembler in *out (free with sw_reasm_del).  `cfg` and `cb`
 * are copied (NULL: defaults / no events); `mem` NULL means libc.
 * Returns 0 or SW_ERR_NOMEM (*out = NULL). */
int sw_reasm_new(sw_reasm **out, const sw_reasm_config *cfg, const sw_reasm_callbacks *cb, void *ud,
                 const sw_mem *mem);

/* Frees everything, live connections included, without any callback.
 * NULL is a no-op. */
void sw_reasm_del(sw_reasm *r);

/* One segment, in capture order.  `seg->payload` is read during the call
 * only (held data is copied).  Returns 0, SW_ERR_NOMEM (the reassembler is
 * then failed: sticky), or a callback's non-zero value (sticky). */
int sw_reasm_segment(sw_reasm *r, const sw_tcp_seg *seg);

/* One captured frame: sw_pkt_parse, then sw_reasm_segment for a TCP
 * segment; other frames are counted in the statistics.  Same returns. */
int sw_reasm_frame(sw_reasm *r, sw_link link, int64_t ts_ns, const uint8_t *frame, size_t caplen);

/* The end of the capture: every live connection gives up its holes (gaps),
 * ends its open directions (SW_END_NONE) and closes, in the order the
 * connections were opened.  Returns 0 or a sticky error. */
int sw_reasm_finish(sw_reasm *r);

const sw_reasm_stats *sw_reasm_get_stats(const sw_reasm *r);

/* Names for output: "c2s"/"s2c", "fin"/"rst"/"open", "acked"/"ended"/
 * "limit"/"snaplen". */
const char *sw_dir_name(sw_dir d);
const char *sw_end_name(sw_end_how h);
const char *sw_gap_cause_name(sw_gap_cause c);

#endif
