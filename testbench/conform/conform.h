/*
 * smartwire: the conformance suite engine (case files, runner, verdicts,
 * reports).  The case-file format is specified in conformance/FORMAT.md;
 * this header is the reference for the C API used by `smartwire conform`,
 * by the unit tests and by fuzz targets (the parser needs no I/O).
 *
 * LAYERS.
 *   parse    text -> sw_cf_suite (cases with metadata, fixture, steps and
 *            after-checks), one table row per directive; case matrices
 *            (*.matrix tables) expand into case text first.  Pure; errors
 *            carry file and line numbers.
 *   bytes    the byte-expression language of the case files ("..." with
 *            escapes, hex{}, u32len{}, repeat{}, ...), evaluated at run time
 *            against a context ({root} = the served directory).
 *   run      one case against one target (a spawned `serve --inet`-style
 *            command, a command listening on TCP, a client command, or the
 *            embedded reference server), including the sweeps (re-sending
 *            each request split at every offset, dripped byte by byte, cut
 *            by EOF at every offset, paused shorter and longer than an idle
 *            timeout), inside the security oracle's world (a finding fails
 *            the case whatever it answered), run once more when it fails
 *            (flaky if it then passes).  Every wait is bounded, calibrated
 *            from the target's round trip and scaled.
 *   verdict  pass / fail / non-strict / informational / unimplemented /
 *            expected deviation / fixed / skipped / flaky, from the case
 *            level, the outcome, security findings and the expectations
 *            file.
 *   report   text summary, TAP, JUnit XML, JSON, self-contained HTML (with
 *            several JSON result files merged into one matrix).
 *
 * OWNERSHIP.  Every object here is created and freed by the functions named
 * next to it; strings inside parsed structures belong to the structure.
 * Nothing is thread-shared except read-only parsed suites: several threads
 * may run cases of one suite at once (sw_cf_run_case is re-entrant).
 *
 * RESOURCES, and why they are what they are.  This is a test bench, not
 * part of the library, so it takes what a test program may take:
 *   memory     libc malloc, not an sw_mem hook: suites and results are made
 *              once per run of the program, and the library code the runner
 *              drives is fault-tested on its own (the parser alone is fuzzed,
 *              fuzz/fuzz_conform_case.c, with LeakSanitizer and Valgrind).
 *   files      case files and expectations are read whole with stdio; every
 *              run of a case makes an oracle world (mkdtemp under
 *              opts->workdir, else $TMPDIR, /dev/shm if a tmpfs, /tmp:
 *              sw_oracle_default_base in testbench/oracle/oracle.h)
 *              with the fixture in it, removed afterwards unless
 *              opts->keep; reports go to a FILE * the caller opened.  Every
 *              descriptor is close-on-exec.
 *   processes  the PIPE and TCP targets spawn one server per run, the CLIENT
 *              target one client per run (sw_cmd_spawn: its stdin/stdout on
 *              pipes, its stderr captured into the result); each is reaped
 *              before sw_cf_run_case returns, bounded by the scaled kill
 *              timeout then SIGKILL.  No signal disposition is changed.
 *   threads    none of its own, except the embedded target: one server thread
 *              per run, joined at the end of the run, with its own mutex for
 *              its log lines.  No process-wide lock: runs on several threads
 *              share nothing but the read-only suite (see conform_target.c
 *              for why spawns need no lock).
 *   sockets    TCP targets: a connection to 127.0.0.1, and a socket bound
 *              (not listening) to {port} until the server listens on it, so
 *              that no other run can be given the same port; CLIENT
 *              targets: one listening socket per run on 127.0.0.1, port
 *              chosen by the kernel.
 */
#ifndef SMARTWIRE_CONFORM_H
#define SMARTWIRE_CONFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "smartwire/error.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Case model (filled by the parser; read-only for everyone else)
 * ====================================================================== */

typedef enum sw_cf_level { SW_CF_MUST = 0, SW_CF_SHOULD, SW_CF_MAY } sw_cf_level;
typedef enum sw_cf_role { SW_CF_ROLE_SERVER = 0, SW_CF_ROLE_CLIENT } sw_cf_role;

/* One thing to send or to expect. */
typedef enum sw_cf_atom_kind {
	SW_CF_RAW = 0,   /* a byte expression */
	SW_CF_MSG,       /* a v1/v2/v3 request or response, encoded/decoded with ref/ */
	SW_CF_EOF,       /* expect: the peer closes its sending side */
	SW_CF_SILENCE    /* expect: no byte arrives for `ms` */
} sw_cf_atom_kind;

typedef struct sw_cf_atom {
	sw_cf_atom_kind kind;
	char *raw;          /* SW_CF_RAW: the expression source */
	int version;        /* SW_CF_MSG: 1, 2 or 3 */
	bool response;      /* SW_CF_MSG: response (true) or request */
	int status;         /* responses: 1 success, 0 failed/error, -1 not given */
	bool any_args;      /* expect: no args were written: any args match */
	char **args;        /* argument tokens (sources); "*" and "..." are
	                     * wildcards in expectations */
	size_t nargs;
	char **bodies;      /* body expressions; v3 requests may have several
	                     * (one bytes part each), others at most one */
	size_t nbodies;
	bool any_body;      /* expect "body *": any body, must be present */
	bool chunked;       /* v2 response: chunked body made of `bodies` */
	bool has_error;     /* v2 chunked ERR / v3 stream error (oE after body) */
	char **eargs;       /* their args */
	size_t neargs;
	bool abort;         /* v3 request: end the body with oE s(("error",)) */
	uint32_t ms;        /* SW_CF_SILENCE duration (unscaled) */
	/* expect: the body must be one pack container whose records match
	 * these specs in order ("NAMES:FIRST-LINE", "*", "..."; see FORMAT.md) */
	bool has_pack;
	char **pack;
	size_t npack;
	/* expect "lines E...": the body is these lines in any order (split at
	 * "\n"; a final "\n" ends the last line) */
	bool has_lines;
	char **lines;
	size_t nlines;
	/* expect "starts E": the body begins with these bytes */
	char *starts;
	bool any_status;  /* expect "vN response * ...": either status */
	bool same_as_ref; /* expect "... same as reference": the decoded
	                     * message must equal the reference's (differential) */
} sw_cf_atom;

/* An alternative: atoms that must all match in order ("A then B"). */
typedef struct sw_cf_alt {
	sw_cf_atom *atoms;
	size_t n;
} sw_cf_alt;

typedef enum sw_cf_step_kind {
	SW_CF_STEP_SEND = 0,   /* send alts[0].atoms[0] */
	SW_CF_STEP_EXPECT,     /* one of alts must match */
	SW_CF_STEP_CLOSE,      /* half-close our sending side */
	SW_CF_STEP_PAUSE,      /* wait `ms` (scaled); only to let time pass for
	                        * timeout cases, never to synchronise */
	SW_CF_STEP_ACCEPT,     /* client role: accept the next connection */
	SW_CF_STEP_DISCONNECT, /* client role: close the current connection */
	SW_CF_STEP_RESULT      /* client role: the client command's outcome */
} sw_cf_step_kind;

/* Where a capture takes its value from: the message the expect step above
 * it matched (its last v1/v2/v3 message atom). */
typedef enum sw_cf_capture_src {
	SW_CF_CAP_ARG = 0,   /* response (or request) argument `index` */
	SW_CF_CAP_ERROR_ARG, /* stream-error argument `index` */
	SW_CF_CAP_BODY,      /* the whole body */
	SW_CF_CAP_BODY_LINE, /* line `index` of the body (split at "\n") */
	SW_CF_CAP_BODY_PART  /* v3 bytes part `index` of the body */
} sw_cf_capture_src;

/* "capture NAME arg N [item I]... [is EXPR]": a value of a response kept
 * under NAME for later steps ({NAME} in expressions).  `items` descend into
 * a bencoded value (a list argument, or a byte string holding bencode);
 * `is` checks the value (with the variables captured before it). */
typedef struct sw_cf_capture {
	char *name;
	int line;
	sw_cf_capture_src src;
	size_t index;
	size_t items[8];
	size_t nitems;
	char *is; /* "is EXPR": the value must be these bytes */
} sw_cf_capture;

typedef struct sw_cf_step {
	sw_cf_step_kind kind;
	int line;
	char *text;            /* the source line(s), for reports */
	sw_cf_alt *alts;
	size_t nalts;
	uint32_t within_ms;    /* wait bound for this step (0: the default) */
	/* SW_CF_STEP_RESULT: "ok" with an optional expected output line, or
	 * "error" with an optional category ("*" = any) */
	bool result_ok;
	char *result_text;     /* NULL: not checked */
	uint32_t ms;           /* SW_CF_STEP_PAUSE */
	sw_cf_capture *caps;   /* SW_CF_STEP_EXPECT: captures after the match */
	size_t ncaps;
} sw_cf_step;

typedef enum sw_cf_entry_kind { SW_CF_FILE = 0, SW_CF_DIR, SW_CF_SYMLINK, SW_CF_CHMOD, SW_CF_REMOVE } sw_cf_entry_kind;

/* Fixture entries and after-checks. */
typedef struct sw_cf_entry {
	sw_cf_entry_kind kind;
	int line;
	char *path;            /* relative to the served root */
	char *expr;            /* FILE: contents expression; SYMLINK: target */
	unsigned mode;         /* CHMOD */
} sw_cf_entry;

typedef enum sw_cf_check_kind {
	SW_CF_CHECK_FILE = 0,  /* file exists with these contents */
	SW_CF_CHECK_ABSENT,    /* path does not exist */
	SW_CF_CHECK_DIR,       /* directory exists */
	SW_CF_CHECK_NO_STRAY,  /* no path other than the fixture's and the checked ones */
	SW_CF_CHECK_UNCHANGED, /* the tree equals the fixture as created */
	SW_CF_CHECK_COUNT      /* `count` paths match the glob `path` */
} sw_cf_check_kind;

typedef struct sw_cf_check {
	sw_cf_check_kind kind;
	int line;
	char *path;
	char *expr;
	size_t count; /* SW_CF_CHECK_COUNT */
} sw_cf_check;

#define SW_CF_MAX_TAGS 8

typedef struct sw_cf_case {
	char *id;              /* e.g. "v3.framing.header-not-dict" */
	char *title;
	char *ref;             /* protocol-reference section or Breezy function */
	sw_cf_level level;
	sw_cf_role role;
	char *tags[SW_CF_MAX_TAGS];
	size_t ntags;
	char *note;            /* optional longer explanation */
	char *file;            /* source file name */
	int line;              /* line of the "case" directive */
	bool fixture_empty;    /* "fixture empty": start from an empty root */
	char *fixture_bzr;     /* "fixture bzr-NAME": NAME (a tree of
	                        * conformance/fixtures/), or NULL */
	sw_cf_entry *entries;
	size_t nentries;
	bool allow_writes;
	int client_timeout;    /* seconds, 0 = not given */
	bool needs_nonroot;    /* "requires nonroot": skipped when run as root */
	bool needs_tcp;        /* "requires tcp": needs a TCP target */
	int sweep;             /* -1 default (on iff tagged framing), 0 off, 1 on */
	bool trailing_ok;      /* "trailing any": extra bytes at the end are fine */
	bool keep_going;       /* "keep-going": every step runs even after a failed
	                        * expect (a matrix of requests on one connection) */
	char *client_op;       /* client role: "OP ARGS..." for the adapter */
	sw_cf_step *steps;
	size_t nsteps;
	sw_cf_check *checks;
	size_t nchecks;
} sw_cf_case;

typedef struct sw_cf_suite {
	sw_cf_case *cases;
	size_t n;
	size_t cap;
} sw_cf_suite;

/* A parse error: file, line (1-based) and a sentence. */
typedef struct sw_cf_diag {
	char file[256];
	int line;
	char msg[256];
} sw_cf_diag;

/* Initialises an empty suite (no allocation). */
void sw_cf_suite_init(sw_cf_suite *s);

/* Frees everything the suite holds and leaves it empty. */
void sw_cf_suite_fini(sw_cf_suite *s);

/* Parses case text `text[0..len)` (need not be NUL-terminated) named `file`
 * (for messages) and appends its cases to `s`.  Checks every case fully:
 * required metadata, unique ids within `s`, every byte expression (evaluated
 * once with a placeholder root), step grammar.  Returns 0, or
 * SW_ERR_INVALID_ARGUMENT with *diag (if not NULL) filled; then `s` is
 * unchanged (the cases of this text are dropped).  SW_ERR_NOMEM likewise. */
int sw_cf_parse(sw_cf_suite *s, const char *text, size_t len, const char *file,
                sw_cf_diag *diag);

/* Expands a case matrix (a *.matrix table, conformance/FORMAT.md "Case
 * matrices") into cases and appends them to `s`, each parsed like case
 * text; a diagnostic names the table's line (of the form, for an error in
 * a case it made).  Same returns as sw_cf_parse. */
int sw_cf_parse_matrix(sw_cf_suite *s, const char *text, size_t len, const char *file,
                       sw_cf_diag *diag);

/* Writes the case text a matrix expands into (--expand).  Returns 0,
 * SW_ERR_INVALID_ARGUMENT (diag filled), SW_ERR_NOMEM or SW_ERR_IO. */
int sw_cf_write_matrix(FILE *f, const char *text, size_t len, const char *file, sw_cf_diag *diag);

/* Reads and parses one file (*.matrix files are expanded), or every *.case
 * and *.matrix file (sorted by name) of a directory.  Returns 0, SW_ERR_IO
 * (diag says which file), or as above. */
int sw_cf_load(sw_cf_suite *s, const char *path, sw_cf_diag *diag);

/* True if `id` matches the shell-style glob `pat` ('*' any run, '?' one
 * character, "[...]" not supported). */
bool sw_cf_glob(const char *pat, const char *id);

/* The area of a case id for summaries: its first two dot-separated parts
 * ("v3.framing.x" -> "v3.framing").  Writes at most cap bytes, NUL-ended. */
void sw_cf_area(const char *id, char *out, size_t cap);

const char *sw_cf_level_name(sw_cf_level l);

/* ======================================================================
 * Byte expressions (FORMAT.md "Byte expressions")
 * ====================================================================== */

/* Named byte strings for {NAME} placeholders: the values a case captured
 * and, as {rev:NAME}, the revision ids of its fixture (conform_vars.c). */
typedef struct sw_cf_vars sw_cf_vars;

/* What placeholders expand to. */
typedef struct sw_cf_ctx {
	const char *root;      /* {root}: the served directory, no trailing '/' */
	const char *version;   /* {version}: the Software version header value */
	/* {NAME} and {rev:NAME}; NULL: such braces are literal text (as before
	 * variables existed).  With a table, an unknown name is an error. */
	const sw_cf_vars *vars;
} sw_cf_ctx;

/* Evaluates an expression and appends its bytes to `out`.  ctx NULL: a
 * placeholder root.  Returns 0, SW_ERR_INVALID_ARGUMENT (a bad expression,
 * or NULL expr/out), or SW_ERR_NOMEM; on error *ei (if not NULL) holds the
 * code and a sentence ("unknown escape \q").  `out` may hold a partial
 * result on error. */
int sw_cf_eval(const char *expr, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei);

/* Evaluates one argument token: a quoted string (with escapes) or one
 * helper term is evaluated like sw_cf_eval; a bare word stands for its own
 * bytes (with {root} and {version} expanded).  Same returns. */
int sw_cf_eval_arg(const char *tok, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei);

/* ======================================================================
 * Running
 * ====================================================================== */

typedef enum sw_cf_target_kind {
	SW_CF_TARGET_EMBEDDED = 0, /* the reference server, in-process over a fifo */
	SW_CF_TARGET_PIPE,         /* --server-cmd: one process per connection, stdin/stdout */
	SW_CF_TARGET_TCP,          /* --server-tcp-cmd: a process listening on {port} */
	SW_CF_TARGET_CLIENT        /* --client-cmd: a client command; we play the server */
} sw_cf_target_kind;

typedef enum sw_cf_sweep { SW_CF_SWEEP_NONE = 0, SW_CF_SWEEP_FRAMING, SW_CF_SWEEP_ALL } sw_cf_sweep;

typedef struct sw_cf_opts {
	sw_cf_target_kind target;
	const char *server_cmd;     /* PIPE/TCP: template with {dir} {options} {port} */
	const char *client_cmd;     /* CLIENT: template with {url} [{op} {args}] */
	double timeout_scale;       /* every wait is multiplied by this (>= 0.1) */
	uint32_t timeout_ms;        /* default wait for expected bytes (unscaled) */
	sw_cf_sweep sweep;
	const char *workdir;        /* where fixtures are made (NULL:
	                             * sw_oracle_default_base(): $TMPDIR, else
	                             * /dev/shm if a tmpfs, else /tmp) */
	bool keep;                  /* keep fixture directories */
	bool as_root;               /* the runner runs as root (permission cases skip) */
	bool client_available;      /* embedded: false until a client exists */
	bool no_retry;              /* do not re-run a failing case (default: once) */
	/* Borrowed, may be NULL: the expectations file.  A failure of a case
	 * it lists is reported without a second run (see conform_run.c). */
	const struct sw_cf_expectations *expect;
	uint32_t rtt_ms;            /* the target's measured round trip
	                             * (sw_cf_calibrate; 0: not measured): every
	                             * wait for bytes gets SW_CF_RTT_FACTOR times
	                             * it on top, at most SW_CF_RTT_EXTRA_MAX ms,
	                             * before the scale multiplies it */
	const char *fixtures_dir;   /* where "fixture bzr-NAME" trees are
	                             * (conformance/fixtures); NULL: such cases fail */
	/* The differential (conform_reference.c): each case also runs against
	 * this second implementation (PIPE or TCP, a template like server_cmd)
	 * on an identical fixture, first; atoms marked "same as reference", or
	 * every message atom with `differential`, must decode to the same
	 * message after normalisation. */
	sw_cf_target_kind reference_kind;
	const char *reference_cmd; /* NULL: no reference */
	bool differential;
} sw_cf_opts;

#define SW_CF_RTT_FACTOR 4
#define SW_CF_RTT_EXTRA_MAX 20000

/* Sets the defaults: embedded target, scale 1, 5000 ms, framing sweeps. */
void sw_cf_opts_default(sw_cf_opts *o);

typedef enum sw_cf_outcome {
	SW_CF_OUT_PASS = 0,
	SW_CF_OUT_FAIL,
	SW_CF_OUT_SKIP,
	SW_CF_OUT_UNIMPLEMENTED   /* the peer answered "unknown method" to the verb */
} sw_cf_outcome;

typedef enum sw_cf_verdict {
	SW_CF_PASS = 0,
	SW_CF_FAILED,        /* a MUST case failed */
	SW_CF_NON_STRICT,    /* a SHOULD case failed */
	SW_CF_INFORMATIONAL, /* a MAY case did not match (recorded, never fails) */
	SW_CF_UNIMPLEMENTED, /* the verb is unknown to the peer */
	SW_CF_EXPECTED,      /* failed as recorded in the expectations file */
	SW_CF_FIXED,         /* recorded as a deviation but passed */
	SW_CF_SKIPPED,
	SW_CF_FLAKY, /* failed once, passed when run again: never a pass */
	SW_CF_VERDICT_COUNT_
} sw_cf_verdict;

/* Short lower-case name: "pass", "fail", "non-strict", "informational",
 * "unimplemented", "expected-deviation", "fixed", "skipped", "flaky". */
const char *sw_cf_verdict_name(sw_cf_verdict v);
/* Inverse of sw_cf_verdict_name; -1 if unknown. */
int sw_cf_verdict_parse(const char *name);

/* Transcript event: bytes sent to the peer ('>') or received ('<'), or a
 * note ('#', text). */
typedef struct sw_cf_event {
	char dir;
	uint8_t *p;
	size_t n;
} sw_cf_event;

/* Per step: what was expected and what happened. */
typedef struct sw_cf_step_result {
	int line;
	bool ok;
	char *expected;   /* human text */
	char *actual;     /* human text (NULL if the step passed trivially) */
} sw_cf_step_result;

typedef struct sw_cf_result {
	const sw_cf_case *c;
	sw_cf_outcome outcome;
	sw_cf_verdict verdict;
	char *reason;          /* why it failed/was skipped (NULL on pass) */
	char *deviation;       /* the expectations-file reason, if any */
	double ms;             /* wall time of the case with its sweeps */
	unsigned variants;     /* sweep variants run (0: none) */
	char *variant;         /* the variant that failed ("split@3", ...), or NULL */
	sw_cf_step_result *steps;
	size_t nsteps;
	sw_cf_event *events;
	size_t nevents;
	char *stderr_text;     /* captured server stderr (bounded), or NULL */
	int exit_status;       /* raw wait status of the server, -1 unknown */
	/* Security (the oracle, testbench/oracle/oracle.h): a secret in the
	 * peer's bytes, a change outside the served directory, or a change
	 * inside it by a read-only server.  A MUST failure whatever the
	 * case's level; counted apart in every report. */
	bool security;
	char *security_text; /* the findings, each naming the request */
	/* Re-run: a failing case is run once more (unless opts->no_retry).
	 * When that run passes, `flaky` is set, this result is the passing
	 * run's and `first` the failing one (malloc'd; its transcript is the
	 * evidence).  When it fails too, this result is the first run's. */
	bool flaky;
	struct sw_cf_result *first;
	/* With a reference: its run of the same case (transcript, and why it
	 * failed its own expectations, or NULL), and the first difference
	 * between the decoded answers (NULL: none). */
	bool has_reference;
	sw_cf_event *ref_events;
	size_t ref_nevents;
	char *ref_reason;
	char *difference;
} sw_cf_result;

/* Runs one case.  Fills *r (free with sw_cf_result_fini); the outcome is
 * SKIP with a reason when the target cannot run the case (root, TCP-only,
 * client role without a client target, no embedded server).  The verdict
 * is left at the outcome's plain mapping; sw_cf_decide_result() refines
 * it.  Returns 0 or SW_ERR_NOMEM. */
int sw_cf_run_case(const sw_cf_case *c, const sw_cf_opts *o, sw_cf_result *r);

void sw_cf_result_fini(sw_cf_result *r);

/* Measures the target's round trip: a few `hello` runs (fixture, start,
 * request, answer, stop), the first as a warm-up; *rtt_ms receives the
 * slowest of the others.  Client targets and errors give 0 (no
 * calibration).  Returns 0 or SW_ERR_NOMEM. */
int sw_cf_calibrate(const sw_cf_opts *o, uint32_t *rtt_ms);

/* A path beside the case files: for cases "conformance/cases" (a directory,
 * or a file in it) "conformance/NAME", else $SW_SOURCE_DIR/conformance/NAME;
 * written to buf[0..cap).  Returns buf, or NULL when neither exists. */
const char *sw_cf_beside_cases(const char *cases, const char *name, char *buf, size_t cap);

/* Frees what the runner keeps between cases: the fixture trees read from
 * opts->fixtures_dir (read once per process, conform_fixtures_bzr.c).  Call
 * once no case runs any more. */
void sw_cf_release(void);

/* ======================================================================
 * Coverage (conform_coverage.c)
 * ====================================================================== */

/* Prints, for each verb of `verbs` (lines "VERB [CLASS]", '#' comments;
 * NULL or empty: every verb the suite uses), which protocol versions have
 * server cases sending it, which have stream cases (a streamed request or
 * response body, a pack container, an error mid-stream), the client cases,
 * and the verbs without any case; then the verbs the suite uses that the
 * list lacks.  Returns the number of listed verbs without a case (>= 0), or
 * SW_ERR_NOMEM / SW_ERR_IO. */
int sw_cf_coverage(FILE *f, const sw_cf_suite *s, const char *verbs, size_t len);
/* ======================================================================
 * Verdicts and expectations
 * ====================================================================== */

/* One line of an expectations file: "ID-GLOB  reason...". */
typedef struct sw_cf_expect {
	char *glob;
	char *reason;
	int line;
	bool used;
	/* The reason starts with "SECURITY": the entry also covers security
	 * findings.  Any other entry never does: a case it lists that leaks is
	 * a failure, so that a known wrong answer cannot hide a new leak. */
	bool security;
} sw_cf_expect;

typedef struct sw_cf_expectations {
	sw_cf_expect *v;
	size_t n;
} sw_cf_expectations;

/* Parses an expectations file ('#' comments, blank lines, "GLOB REASON").
 * A line without a reason is an error (deviations must say why); a reason
 * starting with "SECURITY" sets `security`.  Returns
 * 0, SW_ERR_INVALID_ARGUMENT (diag filled) or SW_ERR_NOMEM. */
int sw_cf_expectations_parse(sw_cf_expectations *e, const char *text, size_t len,
                             const char *file, sw_cf_diag *diag);
void sw_cf_expectations_fini(sw_cf_expectations *e);
/* The first entry whose glob matches `id`, or NULL.  (Like strchr, a
 * const list gives a pointer the caller may write through only if it owns
 * the list.) */
sw_cf_expect *sw_cf_expectations_find(const sw_cf_expectations *e, const char *id);
/* The same for a result: with `security` (the result has a security
 * finding), only entries whose reason says SECURITY count. */
sw_cf_expect *sw_cf_expectations_find_for(const sw_cf_expectations *e, const char *id,
                                          bool security);

/* The verdict for a case of `level` with `outcome`, given whether an
 * expectation covers it.
 *   pass + expected deviation -> FIXED;  fail + deviation -> EXPECTED;
 *   fail -> FAILED / NON_STRICT / INFORMATIONAL by level;
 *   skip -> SKIPPED; unimplemented -> UNIMPLEMENTED (or EXPECTED). */
sw_cf_verdict sw_cf_decide(sw_cf_level level, sw_cf_outcome outcome, bool expected);

/* The verdict of a result: sw_cf_decide with the case's level, except
 * that a security finding is a MUST failure at any level, and a result
 * that passed on its second run is FLAKY (never PASS or FIXED). */
sw_cf_verdict sw_cf_decide_result(const sw_cf_result *r, bool expected);

/* True if the verdict makes the run fail: FAILED and FIXED always;
 * NON_STRICT, UNIMPLEMENTED and FLAKY only when `strict`. */
bool sw_cf_verdict_fails(sw_cf_verdict v, bool strict);

/* ======================================================================
 * Reports
 * ====================================================================== */

typedef struct sw_cf_report {
	const char *implementation;  /* name shown in reports (the command, or "embedded") */
	sw_cf_result *results;
	size_t n;
	bool strict;
	double ms;                   /* total wall time */
	uint32_t rtt_ms;             /* the calibration (0: none) */
	double timeout_scale;        /* the --timeout-scale (0: not given, 1) */
} sw_cf_report;

/* Counts per verdict. */
void sw_cf_report_counts(const sw_cf_report *rep, size_t counts[SW_CF_VERDICT_COUNT_]);

/* Security findings: *total results with one, *expected of them listed as
 * expected deviations. */
void sw_cf_report_security(const sw_cf_report *rep, size_t *total, size_t *expected);

/* True if any verdict of the report fails the run (the exit status 1). */
bool sw_cf_report_fails(const sw_cf_report *rep);

/* The text summary: failures with their reasons (security findings even
 * when expected), a table by area, the security line ("security: N cases
 * leaked or changed files outside the served directory (M of them expected
 * deviations)"), and as the last line "N passed, N failed, N skipped"
 * (failed counts the verdicts that fail the run).  Returns 0 or a negative
 * sw_err (SW_ERR_IO). */
int sw_cf_write_summary(FILE *f, const sw_cf_report *rep, bool verbose);
int sw_cf_write_tap(FILE *f, const sw_cf_report *rep);
int sw_cf_write_junit(FILE *f, const sw_cf_report *rep);
int sw_cf_write_json(FILE *f, const sw_cf_report *rep);

/* One column of the HTML matrix, loaded from a JSON report. */
typedef struct sw_cf_column sw_cf_column;

/* Loads a JSON report written by sw_cf_write_json into *out (freed with
 * sw_cf_column_del).  Returns 0, SW_ERR_IO (cannot read it: ei->sys_errno),
 * SW_ERR_INVALID_ARGUMENT (not such a report; ei->text says why and, for
 * bad JSON, ei->offset where), SW_ERR_NOMEM. */
int sw_cf_column_load(sw_cf_column **out, const char *path, sw_errinfo *ei);
/* Builds a column from an in-memory report into *out (the strings are
 * copied).  Returns 0 or SW_ERR_NOMEM. */
int sw_cf_column_from_report(sw_cf_column **out, const sw_cf_report *rep);
/* Frees a column; NULL is a no-op. */
void sw_cf_column_del(sw_cf_column *c);

/* The self-contained HTML page: a verdict matrix (one column per
 * implementation, one row per case id in any column) and per case and
 * column the steps, expected vs actual, and the bytes as hex dumps. */
int sw_cf_write_html(FILE *f, sw_cf_column *const *cols, size_t ncols);

#ifdef __cplusplus
}
#endif
#endif
