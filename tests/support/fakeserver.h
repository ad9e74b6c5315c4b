/*
 * A scripted fake server for client tests, after Breezy's MockMedium: each
 * connection follows a script of exchanges "expect these request bytes, then
 * reply with these bytes", over the in-process fifo pair (sw_fifo_pair).
 *
 * Single-threaded: sw_fs_connect (an sw_client_connect_fn) makes a fifo pair,
 * keeps the server end and sets a pump on the client end that runs one
 * server step, so the server answers when the client reads.  A fault plan
 * applies to the server->client direction of every connection.
 *
 * Mismatches are recorded in `failure` (first one wins) rather than
 * asserted, so the tests decide what to check.
 */
#ifndef SW_TEST_FAKESERVER_H
#define SW_TEST_FAKESERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/error.h"
#include "smartwire/fault.h"
#include "smartwire/medium.h"
#include "smartwire/mem.h"

/* Exchange flags. */
#define SW_FS_CLOSE_AFTER 0x1u /* close the connection after the reply */
#define SW_FS_NO_REPLY 0x2u    /* read the request, never answer (stay open) */
#define SW_FS_ANY_REQUEST 0x4u /* accept any request: reply once bytes arrive and stop
                                * arriving (the request is complete when the client
                                * starts reading) */

typedef struct sw_fs_exchange {
	const uint8_t *expect; /* request bytes (ignored with SW_FS_ANY_REQUEST) */
	size_t expect_len;
	const uint8_t *reply;
	size_t reply_len;
	unsigned flags;
} sw_fs_exchange;

/* Connection flags. */
#define SW_FS_REFUSE 0x1u       /* the connect callback fails (SW_ERR_CONNECT) */
#define SW_FS_CLOSED_EARLY 0x2u /* accept, then close at once: the client's first
                                 * write gets SW_ERR_CONNECTION_RESET */

typedef struct sw_fs_conn {
	const sw_fs_exchange *ex;
	size_t nex;
	unsigned flags;
} sw_fs_conn;

typedef struct sw_fakeserver {
	/* Script: connection i follows conns[min(i, nconns - 1)] (so retries
	 * beyond the script repeat the last connection). */
	const sw_fs_conn *conns;
	size_t nconns;
	const sw_fault_plan *s2c; /* NULL: no faults */
	const sw_fault_plan *client_write; /* NULL, or a plan for the client's writes
	                                    * (error@N:EPIPE: a reset while writing) */
	const sw_mem *mem;
	/* State. */
	size_t nconnects;   /* connections made (including refused) */
	size_t exchanges;   /* exchanges answered in total */
	sw_medium *server;  /* current server end */
	size_t ex_i;        /* next exchange on the current connection */
	const sw_fs_conn *cur;
	uint8_t rx[1 << 16];
	size_t rxn;
	size_t rx_total;    /* request bytes received on all connections */
	char failure[512];
} sw_fakeserver;

/* Zeroes fs and sets the script, the server->client plan and the allocator
 * used for the fifo pairs (set fs->c2s afterwards if needed). */
void sw_fs_init(sw_fakeserver *fs, const sw_fs_conn *conns, size_t nconns,
                const sw_fault_plan *s2c, const sw_mem *mem);
/* Closes the current server end. */
void sw_fs_close(sw_fakeserver *fs);

/* sw_client_connect_fn with ud = the sw_fakeserver.  A refused connection
 * (SW_FS_REFUSE) fills *ei as a real connect would. */
int sw_fs_connect(void *ud, sw_medium **out, sw_errinfo *ei);

/* Runs one server step by hand (normally the client's reads do). */
int sw_fs_step(sw_fakeserver *fs);

/* True when every exchange of the connection in use was answered. */
bool sw_fs_conn_done(const sw_fakeserver *fs);

#endif

/* ---- Helpers of the client tests ---------------------------------------- */

#include "smartwire/client.h"

/* A client connected through `fs`, forcing `protocol` (0: negotiate), with
 * empty v3 headers ("de") when `empty_headers`.  Fails the test otherwise. */
sw_client *sw_fs_client(sw_fakeserver *fs, int protocol, bool empty_headers);

/* Fails the test unless the response's args are want[0..n). */
void sw_fs_assert_args(const sw_response *r, const char *const *want, size_t n);

/* ---- Running one response vector through a real client ---------------- */

/* Modes of tests/vectors/gen_client.py. */
enum { SW_FS_MODE_TUPLE = 0, SW_FS_MODE_BODY = 1, SW_FS_MODE_STREAM = 2, SW_FS_MODE_CANCEL = 3 };

typedef struct sw_fs_run {
	int version;          /* forced client protocol version */
	const char *verb;     /* the call's verb (no args) */
	int mode;
	const uint8_t *resp;  /* the server's whole reply */
	size_t len;
	const sw_fault_plan *plan; /* server->client faults, or NULL */
	const sw_mem *mem;    /* allocator for the client and the fifos */
	bool pipe_exact;      /* the client reads exactly next_read_size bytes */
} sw_fs_run;

/* Makes the call with a fresh client against a one-exchange fake server that
 * replies `resp` to any request and then closes, reads the response in
 * `mode`, and returns the outcome in gen_client.py's trace notation (a
 * malloc'd string, never NULL unless malloc fails).  *err receives the last
 * sw_err seen (0 if none).  Everything is torn down before returning. */
char *sw_fs_run_response(const sw_fs_run *run, int *err);
