/*
 * The runner's targets, fixtures and security oracle for other drivers
 * than the case runner (the black-box fuzzer, testbench/blackbox/): one
 * "session" is one run of the runner (conform_run.c) without the steps of
 * a case: the fixture made inside an oracle world, the target started
 * (a spawned pipe server, a TCP server and our connection to it, a client
 * command and the socket it connects to, or the embedded server), the
 * bytes exchanged recorded, then the target stopped and the world judged.
 * A thin wrapper of conform_impl.h (conform_session.c); the runner's own
 * code is unchanged.
 */
#ifndef SMARTWIRE_CONFORM_TARGET_H
#define SMARTWIRE_CONFORM_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "conform/conform.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a session needs from a case: its role, fixture and options. */
typedef struct sw_cf_session_spec {
	sw_cf_role role;
	bool allow_writes;       /* {options} gets --allow-writes */
	const char *fixture_bzr; /* "2a": conformance/fixtures/2a; NULL: the default tree */
	const char *client_op;   /* client targets: "OP ARGS" for the adapter */
} sw_cf_session_spec;

typedef struct sw_cf_session sw_cf_session;

/* Makes the world and its fixture (server role) and starts the target of
 * `o` in *out.  Returns 0; SW_ERR_IO / SW_ERR_SPAWN / SW_ERR_CONNECT /
 * SW_ERR_TIMEOUT / SW_ERR_NOMEM with a sentence in *ei when the world or
 * the target could not be made (nothing is left behind: *out is NULL). */
int sw_cf_session_open(sw_cf_session **out, const sw_cf_opts *o, const sw_cf_session_spec *spec,
                       sw_errinfo *ei);

/* The connection to a server target (NULL for client targets). */
sw_medium *sw_cf_session_conn(sw_cf_session *s);
/* Client targets: the listening socket the client connects to (-1 else). */
int sw_cf_session_listen_fd(const sw_cf_session *s);
/* The spawned command (pipe/TCP server, client), or NULL (embedded). */
sw_medium *sw_cf_session_proc(sw_cf_session *s);

/* Records bytes written to the server (the oracle tells the client's own
 * words from leaks by them).  Returns 0 or SW_ERR_NOMEM. */
int sw_cf_session_sent(sw_cf_session *s, const void *p, size_t n);
/* Waits until `deadline` (sw_clock_ms) for the server's bytes and reads
 * once: 1 (bytes appended to the received bytes), 0 (end of stream),
 * SW_ERR_TIMEOUT, SW_ERR_NOMEM. */
int sw_cf_session_fill(sw_cf_session *s, int64_t deadline);
/* Every byte received so far (valid until the next fill), and whether the
 * server ended its side. */
const uint8_t *sw_cf_session_rx(const sw_cf_session *s, size_t *n);
bool sw_cf_session_eof(const sw_cf_session *s);
/* After an answer: lets the oracle see changes that a later request may
 * undo. */
void sw_cf_session_note_change(sw_cf_session *s);

/* Stops the target (closes the connection, reaps the process).  *status
 * receives the raw wait status (-1 unknown, or embedded) and *stderr_text
 * (may be NULL) a malloc'd copy of its stderr (bounded), or NULL. */
void sw_cf_session_stop(sw_cf_session *s, int *status, char **stderr_text);
/* After stop: the security oracle's findings, one sentence per line,
 * malloc'd, or NULL when there are none. */
char *sw_cf_session_judge(sw_cf_session *s);
/* Removes the world (unless opts->keep) and frees the session. */
void sw_cf_session_del(sw_cf_session *s);

/* Encodes a send atom of a parsed case into bytes with the reference
 * encoders, as the runner sends it.  Returns 0 or a negative sw_err. */
int sw_cf_encode_atom(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei);

#ifdef __cplusplus
}
#endif
#endif
