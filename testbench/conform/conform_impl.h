/*
 * Internal helpers shared by the conform_*.c files (not installed).  The
 * parser's own internals are in conform_parse_impl.h.
 *
 * Error detail follows the library's convention: an optional `sw_errinfo *`
 * as the LAST parameter, filled on failure (smartwire/error.h).
 */
#ifndef SW_CONFORM_IMPL_H
#define SW_CONFORM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conform/conform.h"
#include "oracle/oracle.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "smartwire/mem.h"

/* ---- Tokens and text (conform_text.c) -------------------------------------- */

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
 * A '#' at the start of a token ends the line.  Returns the count, or
 * SW_ERR_INVALID_ARGUMENT (unterminated quote or brace, too many tokens)
 * with a sentence in ei->text and the offset in `s` in ei->offset. */
int sw__cf_tokenize(const char *s, size_t len, sw__cf_tok *out, size_t max, sw_errinfo *ei);

/* True if token t is the bare word w. */
bool sw__cf_is(const sw__cf_tok *t, const char *w);

/* A malloc'd NUL-terminated copy of p[0..n), or NULL. */
char *sw__cf_strndup(const char *p, size_t n);

/* Parses a duration "250ms", "2s", "1.5s" into ms.  Returns 0 or -1. */
int sw__cf_duration(const char *p, size_t n, uint32_t *ms);

/* Appends printf-formatted text to a buffer (NUL not counted in len, but
 * always kept after the data).  Returns 0 or SW_ERR_NOMEM. */
int sw__cf_appendf(sw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* malloc'd printf, or NULL. */
char *sw__cf_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Appends bytes in the trace notation ("..." with escapes), at most `max`
 * bytes shown, then "..." and the total when cut. */
int sw__cf_quote(sw_buf *b, const uint8_t *p, size_t n, size_t max);

/* Clears *ei (may be NULL) at the start of a call that fills it. */
void sw__cf_ei_reset(sw_errinfo *ei);
/* Returns rc; when it is an error that *ei does not hold yet (an
 * allocation failure deep inside), fills *ei with the plain sentence. */
int sw__cf_ei_fill(sw_errinfo *ei, int rc);

/* Frees the members of one case (conform_parse.c). */
void sw__cf_case_free(sw_cf_case *c);

/* ---- Fixtures (conform_fixture.c) ------------------------------------------ */

/* Creates a fresh fixture directory for case c under o->workdir (NULL:
 * $TMPDIR or /tmp), writes its absolute path to dir[0..cap) and fills it
 * (sw__cf_fixture_fill).  Returns 0 or SW_ERR_IO (a sentence and the errno
 * in *ei; the directory is removed). */
int sw__cf_fixture_make(const sw_cf_case *c, const sw_cf_opts *o, char *dir, size_t cap,
                        sw_cf_vars *vs, sw_errinfo *ei);
/* Fills the existing, empty directory `dir` with the fixture of case c: a
 * bzr fixture laid from o->fixtures_dir (its revision ids added to `vs`),
 * then the case's entries (symlink targets may use {root} and {outside}).
 * Returns 0 or SW_ERR_IO (a sentence and the errno in *ei; `dir` may be
 * partly filled). */
int sw__cf_fixture_fill(const sw_cf_case *c, const sw_cf_opts *o, const char *dir,
                        sw_cf_vars *vs, sw_errinfo *ei);
/* Removes a directory tree (making unreadable directories readable first). */
void sw__cf_rmtree(const char *dir);

/* ---- Snapshots and after-checks (conform_snap.c) --------------------------- */

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

/* ---- The connection and its transcript (conform_transcript.c) ------------- */

typedef struct sw__cf_conn {
	sw_medium *m;
	sw_buf rx;          /* every byte received on this connection */
	sw_buf tx;          /* every byte sent on it (the oracle's "client's own") */
	size_t pos;         /* bytes of rx already matched */
	bool eof;
	int err;            /* sticky read error (negative) */
	sw_cf_result *r;    /* where events are recorded (may be NULL) */
	bool strict_unknown; /* v1/v2 "bad request" answers too are unknown
	                      * methods, never a wildcard's match (conform_match.c) */
} sw__cf_conn;

/* The received bytes from offset `off` (off <= rx.len): never NULL, so that
 * an empty transcript can be passed on without pointer arithmetic on NULL. */
static inline const uint8_t *sw__cf_rx_at(const sw__cf_conn *c, size_t off)
{
	return c->rx.data ? c->rx.data + off : (const uint8_t *)"";
}

/* Appends an event to r ('>' sent, '<' received, '#' note); bytes in the
 * same direction as the last event extend it.  r NULL: nothing.  Returns 0
 * or SW_ERR_NOMEM. */
int sw__cf_record(sw_cf_result *r, char dir, const void *p, size_t n);
int sw__cf_note(sw_cf_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Waits until `deadline` (sw_clock_ms) for bytes and reads once.  Returns 1
 * (bytes appended to rx), 0 (end of stream; c->eof set), SW_ERR_TIMEOUT,
 * SW_ERR_NOMEM; another error is sticky in c->err and reported as end of
 * stream. */
int sw__cf_conn_fill(sw__cf_conn *c, int64_t deadline);

/* ---- Evaluated messages (conform_encode.c) --------------------------------- */

/* Arguments and bodies of an atom, evaluated: literal bytes or wildcards. */
typedef struct sw__cf_item {
	uint8_t *p;
	size_t n;
	int wild;  /* 0 literal, 1 "*", 2 "..." */
	bool benc; /* p[0..n) is a bencoded value (an int{} or ben{} argument,
	            * or a decoded element that is not a byte string) */
} sw__cf_item;

typedef struct sw__cf_items {
	sw__cf_item *v;
	size_t n;
} sw__cf_items;

void sw__cf_items_free(sw__cf_items *it);
/* Appends a copy of p[0..n).  Returns 0, SW_ERR_NOMEM or
 * SW_ERR_TOO_MANY_ARGS (over 4096 items). */
int sw__cf_items_push(sw__cf_items *it, const void *p, size_t n, int wild);
/* True if an argument token is a bencoded value rather than bytes
 * (int{N} or ben{E}, conform_encode.c). */
bool sw__cf_is_benc_arg(const char *tok);
/* Evaluates argument tokens ("*" and "..." become wildcards) / body
 * expressions into `out`.  Returns 0 or a negative sw_err (detail in *ei). */
int sw__cf_eval_args(char *const *toks, size_t n, const sw_cf_ctx *ctx, sw__cf_items *out,
                     sw_errinfo *ei);
int sw__cf_eval_bodies(char *const *exprs, size_t n, const sw_cf_ctx *ctx, sw__cf_items *out,
                       sw_errinfo *ei);
/* Appends every item's bytes to `out`.  Returns 0 or SW_ERR_NOMEM. */
int sw__cf_items_join(const sw__cf_items *it, sw_buf *out);
/* Appends "[a, *, ...]" with the items quoted. */
int sw__cf_items_describe(sw_buf *out, const sw__cf_items *it);
/* " success" / " failed" / " error" for a status (1, 0), "" for -1. */
const char *sw__cf_status_word(int version, int status);

/* Encodes a send atom into bytes with the reference encoders.  Returns 0
 * or a negative sw_err (detail in *ei). */
int sw__cf_encode(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei);

/* Appends a one-line description of what the atom expects. */
int sw__cf_describe(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out);

/* Bytes of evidence quoted in a description at most. */
#define SW__CF_SHOW_MAX 512

/* ---- Matching (conform_match.c) ---------------------------------------------- */

/* A message as decoded from the peer's bytes (for captures and the
 * differential).  Free with sw__cf_msg_free. */
typedef struct sw__cf_msg {
	int version;
	int status;         /* -1 none, 1 success, 0 failed/error, 2 odd byte */
	bool args_not_list; /* v3 args that are not a list (args empty) */
	sw__cf_items args;
	bool has_body;
	sw_buf body;
	size_t *parts; /* v3: the offset in body where each bytes part starts */
	size_t nparts;
	bool has_error;
	sw__cf_items eargs;
} sw__cf_msg;

void sw__cf_msg_free(sw__cf_msg *m);

/* Matches one expected atom at c->pos, reading as needed until `deadline`
 * (for a silence atom: the end of the silence).
 * Returns 1 (matched; c->pos advanced), 0 (did not match; c->pos may have
 * moved: the caller restores it; `actual` describes what came), or
 * SW_ERR_NOMEM.  *unknown is set when the peer answered "unknown method".
 * `got` (may be NULL; zeroed by the caller): a message atom that matched
 * moves the decoded message there. */
int sw__cf_match(sw__cf_conn *c, const sw_cf_atom *a, const sw_cf_ctx *ctx, int64_t deadline,
                 sw_buf *actual, bool *unknown, sw__cf_msg *got);

/* Appends the canonical text of a decoded message ("v3 success [...] body
 * \"...\" stream-error [...]"), every byte shown (conform_reference.c). */
int sw__cf_msg_text(sw_buf *out, const sw__cf_msg *m);

/* ---- Bodies checked by shape (conform_body_match.c) ------------------------- */

/* True if `body` is one complete pack container (nothing after its 'E')
 * whose records match the specs of a (a->pack, see FORMAT.md); otherwise
 * false with what was found appended to `why`.  Returns 1, 0 or
 * SW_ERR_NOMEM. */
int sw__cf_pack_match(const sw_cf_atom *a, const sw_cf_ctx *ctx, const uint8_t *body, size_t n,
                      sw_buf *why);
/* The body's lines, in any order, against a->lines: 1, 0 (why says what
 * came, sorted) or SW_ERR_NOMEM. */
int sw__cf_lines_match(const sw_cf_atom *a, const sw_cf_ctx *ctx, const sw_buf *body, sw_buf *why);
/* Whether the body begins with a->starts: 1, 0 or SW_ERR_NOMEM. */
int sw__cf_starts_match(const sw_cf_atom *a, const sw_cf_ctx *ctx, const sw_buf *body);

/* ---- Variables (conform_vars.c) ---------------------------------------------- */

typedef struct sw__cf_var {
	char *name;
	uint8_t *p;
	size_t n;
} sw__cf_var;

struct sw_cf_vars {
	sw__cf_var *v;
	size_t n;
	/* The parser's table of declared names: {rev:ANY} is accepted (the
	 * fixture is not known yet) and values are placeholders. */
	bool parsing;
};

/* Sets (or replaces) a variable.  Returns 0 or SW_ERR_NOMEM. */
int sw__cf_vars_set(sw_cf_vars *vs, const char *name, size_t nl, const void *p, size_t n);
const sw__cf_var *sw__cf_vars_get(const sw_cf_vars *vs, const char *name, size_t nl);
void sw__cf_vars_free(sw_cf_vars *vs);

/* At p[0] == '{': if p[0..n) starts with a placeholder of a variable,
 * appends its value, stores the placeholder's length in *used and returns
 * 1; returns 0 when this brace is literal text (no table in ctx, or not a
 * variable's syntax); SW_ERR_INVALID_ARGUMENT for an unknown name (with a
 * sentence in *ei) or SW_ERR_NOMEM.  {root} and {version} are the caller's. */
int sw__cf_var_expand(const sw_cf_ctx *ctx, const uint8_t *p, size_t n, size_t *used, sw_buf *out,
                      sw_errinfo *ei);

/* True if name[0..n) is valid for "capture NAME": [a-z][a-z0-9_]*, not
 * "root" or "version". */
bool sw__cf_var_name_ok(const char *name, size_t n);

/* ---- Captures (conform_capture.c) ------------------------------------------- */

/* Runs the captures of step `st` on the message it matched (`ctx`, whose
 * vars are `vs`, evaluates their "is" checks); on failure (no such
 * argument, bad bencode, a value that is not what "is" says) returns false
 * with why in `why`. */
bool sw__cf_capture(const sw_cf_step *st, const sw__cf_msg *m, const sw_cf_ctx *ctx, sw_cf_vars *vs,
                    sw_buf *why);

/* ---- One run of a case (conform_run.c, conform_steps.c, conform_target.c) -- */

/* V_PAUSE: the request of `step` in three pieces with pauses shorter than
 * a short idle timeout between them (it must be served as in the normal
 * run); V_LONGPAUSE: in two pieces with a pause longer than that timeout
 * (the peer may close, but never answer wrongly). */
typedef enum sw__cf_vkind {
	V_NORMAL = 0,
	V_SPLIT,
	V_DRIP,
	V_EOF,
	V_PAUSE,
	V_LONGPAUSE
} sw__cf_vkind;

typedef struct sw__cf_variant {
	sw__cf_vkind kind;
	size_t k;     /* split offset / eof offset */
	size_t step;  /* eof: the send step */
} sw__cf_variant;

/* Decoded answers of one run, for the differential: per message atom that
 * matched, its step and position and the canonical text of the message. */
typedef struct sw__cf_trace_entry {
	size_t step, atom;
	char *text;
} sw__cf_trace_entry;

typedef struct sw__cf_trace {
	sw__cf_trace_entry *v;
	size_t n;
	const char *root; /* the run's served directory */
	const sw_cf_vars *vars;
	char *reason; /* why the run failed its own expectations, or NULL */
} sw__cf_trace;

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
	int port_fd; /* TCP targets: the socket holding {port} until the
	                       * server listens on it */
	uint16_t port;
	int idle_s; /* server idle timeout for this run: the case's,
	                       * or the pause variants' own */
	sw_buf why;
	bool failed;
	bool unknown;
	bool eof_phase_done;
	/* The oracle (server cases): the world around the fixture, and what
	 * lets a finding name its request. */
	sw_oracle *oracle;
	size_t *sent_at;      /* per step: rx.len when its request was sent
	                       * (SIZE_MAX: not sent) */
	/* Tree changes the oracle saw after each answer: the entry, the
	 * sentence describing it then, and the send step whose answer it was
	 * (a change a later request undid is still a finding). */
	char **changed;
	char **changed_text;
	size_t *changed_step;
	size_t nchanged;
	bool security;
	sw_buf sec; /* the security findings, one sentence each */
	sw_cf_vars vars;         /* {rev:NAME} of the fixture, captures */
	sw__cf_trace *trace;     /* record decoded answers here (or NULL) */
	const sw__cf_trace *ref; /* the reference's answers to compare with */
	sw_buf diff;             /* the first difference found */
} sw__cf_run;

/* One run of case R->c in the variant R->v (conform_run.c): world,
 * fixture, target, steps, checks, the oracle's judgement.  For a variant,
 * `normal_rx`, `post` and `normal_root` are the normal run's bytes, its
 * tree after the request the variant cuts, and its served directory; for
 * the normal run NULL, and *final (if not NULL) receives the tree at the
 * end.  Reads R->c and R->o only: runs of one case may go on at once. */
void sw__cf_run_variant(sw__cf_run *R, const sw_buf *normal_rx, const sw__cf_snap *post,
                        const char *normal_root, sw__cf_snap *final);

/* After a passing normal run R (its tree at the end in *final, its bytes
 * in *normal_rx): every variant of the sweep until one fails, which
 * becomes R's failure (conform_sweep.c). */
void sw__cf_run_sweeps(sw__cf_run *R, const sw__cf_snap *final, const sw_buf *normal_rx);

/* A wait of `ms` multiplied by the timeout scale (pauses, silences: time
 * that must pass, not a bound on an answer). */
int64_t sw__cf_scaled(const sw__cf_run *R, uint32_t ms);
/* A bound on a wait for the peer: `ms` plus the calibration (opts rtt_ms
 * times SW_CF_RTT_FACTOR, at most SW_CF_RTT_EXTRA_MAX), then scaled. */
int64_t sw__cf_wait_ms(const sw__cf_run *R, uint32_t ms);
/* After an expect step of a server case: notes the last request sent if
 * the oracle sees the tree changed for the first time. */
void sw__cf_note_change(sw__cf_run *R);

/* ---- The oracle around a run (conform_oracle.c) ------------------------------ */

/* Makes the oracle's world, fills its root with the fixture (R->dir) and,
 * for server cases, records the world.  Returns 0 or a negative sw_err
 * (detail in *ei; nothing is left behind). */
int sw__cf_world_make(sw__cf_run *R, sw_errinfo *ei);
/* After the target stopped: scans what the peer sent and compares the
 * world; findings go to R->sec (R->security set). */
void sw__cf_world_judge(sw__cf_run *R);
/* Removes the world (unless opts->keep). */
void sw__cf_world_del(sw__cf_run *R);
/* Sleeps (pauses asked by a case, gaps of split/drip writes). */
void sw__cf_sleep_ms(int64_t ms);
/* Marks the run failed with the first reason given (later ones are
 * dropped: the first failure is the one to explain). */
void sw__cf_failf(sw__cf_run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Executes the steps of R->c (conform_steps.c); returns true if the eof
 * phase of an EOF variant was entered (the remaining steps are skipped). */
bool sw__cf_do_steps(sw__cf_run *R);
/* The end of a client case's eof variant: the client's output must be an
 * error (not ok, not nothing), whatever it retried meanwhile. */
void sw__cf_client_cut_result(sw__cf_run *R);
/* Starts the target of R->o for this run (fixture already made): spawns the
 * command, connects, or starts the embedded server; sets R->conn.m (not for
 * client targets, which connect later).  On failure appends to R->why. */
int sw__cf_target_start(sw__cf_run *R);
/* Stops it: closes the connection, reaps the process (exit status and
 * stderr into R->r), joins the embedded server. */
void sw__cf_target_stop(sw__cf_run *R);

/* ---- bzr fixtures (conform_fixtures_bzr.c) ---------------------------------- */

/* Lays the tree conformance/fixtures/NAME (opts->fixtures_dir) into `dir`
 * (existing, empty): every file and directory, TEMPLATED files with
 * "@FIXTURE_DIR@" replaced by `dir`, EMPTYDIRS created; adds {rev:NAME} for
 * every line of REVISIONS to `vs`.  The tree is read from disk once per
 * process.  Returns 0, SW_ERR_IO or SW_ERR_NOMEM (a sentence in *ei). */
int sw__cf_bzr_fixture_lay(const char *fixtures_dir, const char *name, const char *dir,
                           sw_cf_vars *vs, sw_errinfo *ei);

/* ---- The differential (conform_reference.c) --------------------------------- */

/* Records (R->trace) and compares (R->ref) the decoded message of atom `k`
 * of step `step` that just matched.  A difference from the reference
 * marks the run failed with both messages in the reason. */
void sw__cf_ref_observe(sw__cf_run *R, size_t step, size_t k, const sw_cf_atom *a,
                        const sw__cf_msg *m);
/* sw_cf_run_case, recording the decoded answers in *trace (may be NULL). */
int sw__cf_run_traced(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r,
                      sw__cf_trace *trace);
/* Runs case c against the reference of o (one normal run, no sweeps) and
 * fills *t with its decoded answers and r's reference fields.  Returns 0
 * or SW_ERR_NOMEM. */
int sw__cf_ref_run(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r, sw__cf_trace *t);
void sw__cf_trace_free(sw__cf_trace *t);

/* ---- The embedded target (conform_embedded.c) -------------------------------- */

/* Starts smartwire's reference server on `dir` in a thread, connected
 * through a fifo pair, with an idle timeout of idle_s seconds (0: the
 * default); *client_end is the runner's end, *handle is for
 * sw__cf_embedded_stop.  Returns 0 or a negative sw_err (detail in *ei). */
int sw__cf_embedded_start(void **handle, sw_medium **client_end, const sw_cf_case *c,
                          const char *dir, int idle_s, sw_errinfo *ei);
/* Joins the server thread (the runner closed its end first) and frees it;
 * *log receives the server's log lines (malloc'd, or NULL). */
void sw__cf_embedded_stop(void *handle, char **log);

/* ---- Markup text (conform_report.c) ---------------------------------------- */

/* Writes `s` (NULL: nothing) escaped for XML and HTML text and attribute
 * values: < > & " as entities, control bytes other than newline and tab as
 * \xNN, and with `ascii` also every byte from 0x80. */
void sw__cf_markup_text(FILE *f, const char *s, bool ascii);

/* ---- The columns of the HTML matrix (conform_column.c, conform_html.c) ------ */

typedef struct sw__cf_col_step {
	int line;
	bool ok;
	char *expected, *actual;
} sw__cf_col_step;

typedef struct sw__cf_col_event {
	char dir;
	uint8_t *p;
	size_t n;
} sw__cf_col_event;

/* One run's evidence: its steps and transcript. */
typedef struct sw__cf_col_run {
	char *reason, *variant;
	sw__cf_col_step *steps;
	size_t nsteps;
	sw__cf_col_event *events;
	size_t nevents;
} sw__cf_col_run;

typedef struct sw__cf_col_case {
	char *id, *title, *ref, *level, *verdict, *deviation, *stderr_text, *security_text;
	bool fails, security, flaky;
	sw__cf_col_run run;   /* the reported run (reason, variant, steps, events) */
	sw__cf_col_run first; /* flaky: the failing first run (empty otherwise) */
	/* The differential: the reference's transcript and the difference. */
	bool has_ref;
	char *difference, *ref_reason;
	sw__cf_col_event *ref_events;
	size_t ref_nevents;
} sw__cf_col_case;

struct sw_cf_column {
	char *name;
	sw__cf_col_case *v;
	size_t n;
	bool strict;
	int exit_status; /* 0 or 1 as the run would exit, -1 unknown */
	unsigned rtt_ms;
	double ms;
};

#endif
