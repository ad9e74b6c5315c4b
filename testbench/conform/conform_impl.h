/*
 * Internal helpers shared by the conform_*.c files (not installed).
 */
#ifndef SW_CONFORM_IMPL_H
#define SW_CONFORM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conform/conform.h"
#include "smartwire/mem.h"

/* A token of a case-file line: p[0..n) is its source text.  `quoted`: a
 * '...' or "..." string (the quotes are included in p..n). */
typedef struct sw__cf_tok {
	const char *p;
	size_t n;
	bool quoted;
} sw__cf_tok;

#define SW__CF_MAX_TOKS 256

/* Splits `s[0..len)` into tokens: quoted strings, and words in which
 * "{...}" groups (with nested braces and quoted strings) are kept whole.
 * A '#' at the start of a token ends the line.  Returns the count, or -1
 * with a sentence in err (unterminated quote or brace, too many tokens). */
int sw__cf_tokenize(const char *s, size_t len, sw__cf_tok *out, size_t max, char *err,
                    size_t errlen);

/* True if token t is the bare word w. */
bool sw__cf_is(const sw__cf_tok *t, const char *w);

/* A malloc'd NUL-terminated copy of p[0..n), or NULL. */
char *sw__cf_strndup(const char *p, size_t n);

/* Parses a duration "250ms", "2s", "1.5s" into ms.  Returns 0 or -1. */
int sw__cf_duration(const char *p, size_t n, uint32_t *ms);

/* Monotonic milliseconds. */
int64_t sw__cf_now_ms(void);

/* Appends printf-formatted text to a buffer (NUL not counted in len, but
 * always kept after the data).  Returns 0 or SW_ERR_NOMEM. */
int sw__cf_appendf(sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* malloc'd printf. */
char *sw__cf_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Appends bytes in the trace notation ("..." with escapes), at most `max`
 * bytes shown, then "..." and the total when cut. */
int sw__cf_quote(sw_buf *b, const uint8_t *p, size_t n, size_t max);

/* Frees the members of one case. */
void sw__cf_case_free(sw_cf_case *c);

/* ---- Fixtures (conform_fixture.c) ------------------------------------------ */

typedef struct sw__cf_node {
	char *path;    /* relative, '/'-separated */
	char type;     /* 'f' file, 'd' directory, 'l' symlink, '?' other */
	uint8_t *data; /* file contents or link target */
	size_t n;
} sw__cf_node;

typedef struct sw__cf_snap {
	sw__cf_node *v;
	size_t n;
} sw__cf_snap;

/* Creates a fresh fixture directory for case c under `workdir` (NULL: $TMPDIR
 * or /tmp) and writes its absolute path to dir[0..cap).  Returns 0 or a
 * negative sw_err with a sentence in err. */
int sw__cf_fixture_make(const sw_cf_case *c, const char *workdir, char *dir, size_t cap,
                        char *err, size_t errlen);
/* Removes a directory tree (making unreadable directories readable first). */
void sw__cf_rmtree(const char *dir);
/* Records every entry under dir, sorted by path.  Returns 0 or SW_ERR_NOMEM /
 * SW_ERR_IO. */
int sw__cf_snap_take(const char *dir, sw__cf_snap *s);
void sw__cf_snap_free(sw__cf_snap *s);
/* Runs the after-checks of c; appends failures to why and returns false if
 * any failed. */
bool sw__cf_after_checks(const sw_cf_case *c, const char *dir, const sw_cf_ctx *ctx,
                         const sw__cf_snap *initial, sw_buf *why);
/* True if every path of `now` is in the state it had in `a` or in `b`
 * (including absence); otherwise explains in why. */
bool sw__cf_snap_between(const sw__cf_snap *a, const sw__cf_snap *b, const sw__cf_snap *now,
                         sw_buf *why);

/* ---- Connection used by the runner and the matchers ---------------------- */

#include "smartwire/medium.h"

typedef struct sw__cf_conn {
	sw_medium *m;
	sw_buf rx;          /* every byte received on this connection */
	size_t pos;         /* bytes of rx already matched */
	bool eof;
	int err;            /* sticky read error (negative) */
	sw_cf_result *r;    /* where events are recorded (may be NULL) */
} sw__cf_conn;

/* Appends an event to r ('>' sent, '<' received, '#' note). */
int sw__cf_record(sw_cf_result *r, char dir, const void *p, size_t n);
int sw__cf_note(sw_cf_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Waits until `deadline` (monotonic ms) for bytes and reads once.  Returns 1
 * (bytes appended to rx), 0 (end of stream; c->eof set), SW_ERR_TIMEOUT or
 * another negative error (sticky in c->err, reported as end of stream). */
int sw__cf_conn_fill(sw__cf_conn *c, int64_t deadline);

/* Encodes a send atom into bytes.  Returns 0 or a negative sw_err (err
 * filled). */
int sw__cf_encode(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out, char *err,
                  size_t errlen);

/* Appends a one-line description of what the atom expects. */
int sw__cf_describe(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out);

/* Matches one expected atom at c->pos, reading as needed until `deadline`
 * (for a silence atom: the end of the silence).
 * Returns 1 (matched; c->pos advanced), 0 (did not match; c->pos may have
 * moved: the caller restores it; `actual` describes what came), or
 * SW_ERR_NOMEM.  *unknown is set when the peer answered "unknown method". */
int sw__cf_match(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                 sw_buf *actual, bool *unknown);

/* ---- One run of a case (conform_run.c, conform_target.c) ------------------- */

typedef enum sw__cf_vkind { V_NORMAL = 0, V_SPLIT, V_DRIP, V_EOF } sw__cf_vkind;

typedef struct sw__cf_variant {
	sw__cf_vkind kind;
	size_t k;     /* split offset / eof offset */
	size_t step;  /* eof: the send step */
} sw__cf_variant;

typedef struct sw__cf_run {
	const sw_cf_case *c;
	const sw_cf_opts *o;
	sw_cf_result *r;
	sw__cf_variant v;
	char dir[4096];
	sw_cf_ctx ctx;
	sw__cf_snap initial;
	sw__cf_snap *pre_send; /* normal run of a swept case: tree before each send */
	sw__cf_snap pre_cut;   /* eof variant: tree before the cut request */
	sw_medium *proc;      /* the spawned command */
	void *embedded;       /* the embedded server, if used */
	sw__cf_conn conn;
	int listen_fd;
	uint16_t port;
	sw_buf why;
	bool failed;
	bool unknown;
	bool eof_phase_done;
} sw__cf_run;

/* A wait of `ms` multiplied by the timeout scale. */
int64_t sw__cf_scaled(const sw__cf_run *R, uint32_t ms);
/* Sleeps (pauses asked by a case, gaps of split/drip writes). */
void sw__cf_sleep_ms(int64_t ms);
/* Starts the target of R->o for this run (fixture already made): spawns the
 * command, connects, or starts the embedded server; sets R->conn.m (not for
 * client targets, which connect later).  On failure appends to R->why. */
int sw__cf_target_start(sw__cf_run *R);
/* Stops it: closes the connection, reaps the process (exit status and
 * stderr into R->r), joins the embedded server. */
void sw__cf_target_stop(sw__cf_run *R);

#endif
