/*
 * smartwire: the black-box fuzzer (`smartwire fuzz`, issue 12).  It fuzzes
 * ANY implementation of the smart protocol, a server over a pipe or TCP or a
 * client through an adapter, with no entry point in it: the conformance
 * runner's targets, fixtures and security oracle (testbench/conform/,
 * testbench/oracle/) start and watch it.
 *
 * LAYERS (one .c file each, in testbench/blackbox).
 *   wire      requests and responses cut from a byte stream with our
 *             decoders (detect.h, v12.h, v3.h): splitting corpus sessions
 *             into requests, "is this request complete", "does this answer
 *             decode" (bb_wire.c)
 *   gen       seed sessions: corpus/sessions and corpus/recordings (real
 *             traffic), the conformance cases' requests (parsed with the
 *             runner's parser), the dictionaries corpus/NAME.dict (bb_gen.c)
 *   mutate    structure-aware mutation of a session: markers, length
 *             prefixes, bencode, separators, verbs (the registry) and
 *             arguments, body framing, pipelining, the medium's shape, and
 *             state (a lock token captured from an answer feeds later
 *             requests) (bb_mutate.c, bb_encode.c)
 *   exec      one session against the target inside the oracle's world,
 *             judged by oracles that need no expected answer (bb_exec.c)
 *   min       delta debugging of a finding over requests and bytes, keeping
 *             its class (bb_min.c)
 *   case      a finding as a conformance case file (conformance/FORMAT.md)
 *             plus the raw session (bb_case.c)
 *   client    the client side: a fake server answering the adapter with
 *             mutated responses (bb_client.c)
 *   campaign  workers, dedup, progress line, summary (bb_fuzz.c)
 *
 * DETERMINISM.  Run i's session is a function of (seed, i) alone; findings
 * are deduplicated in run order, so the same --seed and --runs give the same
 * inputs, findings and files (as far as the target itself is deterministic).
 *
 * RESOURCES.  libc malloc (a test bench, like the runner); one oracle world
 * (temporary directory) and one target process per run, removed and reaped
 * before the run returns; -j N worker threads sharing only read-only seeds
 * and a mutex-protected campaign state.
 */
#ifndef SMARTWIRE_BLACKBOX_H
#define SMARTWIRE_BLACKBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conform/conform.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_bb_class {
	SW_BB_CRASH = 0,  /* killed by a signal, or a pipe server exited non-zero */
	SW_BB_HANG,       /* a complete request neither answered nor closed in time */
	SW_BB_DESYNC,     /* a well-formed hello after it is not answered right */
	SW_BB_ESCAPE,     /* the security oracle: secret read, outside changed */
	SW_BB_RESOURCE,   /* memory grew past the bound for a bounded input */
	SW_BB_MALFORMED,  /* an answer that does not decode */
	SW_BB_DIVERGENCE, /* both answer, differently (with a reference) */
	SW_BB_CLIENT,     /* client side: the adapter crashed or hung */
	SW_BB_NCLASS
} sw_bb_class;

const char *sw_bb_class_name(sw_bb_class c);

/* How a request goes on the wire. */
typedef enum sw_bb_shape {
	SW_BB_WHOLE = 0, /* one write */
	SW_BB_SPLIT,     /* two writes, at `k` */
	SW_BB_DRIP,      /* one byte per write */
	SW_BB_PAUSE,     /* two writes with a pause of `k` ms between */
	SW_BB_CUT,       /* the first `k` bytes, then end of stream (session ends) */
	SW_BB_HALFCLOSE, /* whole, then end of stream (session ends) */
	SW_BB_NSHAPE
} sw_bb_shape;

/* Mutation operators (for the ops of a request and the coverage table). */
typedef enum sw_bb_opkind {
	SW_BB_OP_VERB = 0, /* verb replaced: registry, dictionary, non-ASCII... */
	SW_BB_OP_ARG,      /* an argument replaced, dropped or added */
	SW_BB_OP_LEN,      /* a length prefix: +-1, 0, huge, hex, negative */
	SW_BB_OP_MARKER,   /* the version marker */
	SW_BB_OP_BENC,     /* v3 headers/args bencode: types, order, depth */
	SW_BB_OP_SEP,      /* v1/v2 tuple separators and line end */
	SW_BB_OP_BODY,     /* body framing: parts, abort, status, missing end */
	SW_BB_OP_BYTE,     /* flip, insert, delete, truncate */
	SW_BB_OP_DICT,     /* a dictionary token inserted */
	SW_BB_OP_PIPE,     /* pipelined with the next request */
	SW_BB_OP_SHAPE,    /* split, drip, pause, cut, half-close */
	SW_BB_OP_STATE,    /* a captured token fed to a later request */
	SW_BB_NOP
} sw_bb_opkind;

const char *sw_bb_op_name(sw_bb_opkind k);

/* A byte-level operator applied to the encoded request, in order. */
typedef struct sw_bb_op {
	uint8_t kind; /* sw_bb_opkind (LEN, MARKER, BENC, SEP, BODY, BYTE, DICT) */
	uint8_t sub;  /* which variant of the operator */
	uint32_t pos; /* where (taken modulo what exists) */
	uint32_t val; /* a value (dictionary entry, byte...) */
} sw_bb_op;

#define SW_BB_MAX_ARGS 12
#define SW_BB_MAX_OPS 6

/* One request: a structured message (encoded with our encoders at run time,
 * after captured values are substituted) or raw bytes, then its byte ops. */
typedef struct sw_bb_req {
	int version; /* 1, 2, 3 */
	bool raw;    /* `body` holds the whole request's bytes */
	uint8_t *arg[SW_BB_MAX_ARGS];
	size_t argn[SW_BB_MAX_ARGS];
	int8_t argcap[SW_BB_MAX_ARGS]; /* >= 0: replaced by captured slot */
	size_t nargs;
	bool has_body;
	uint8_t *body;
	size_t nbody;
	uint8_t nparts; /* v3: body in this many bytes parts (>= 1) */
	bool abort;     /* v3: end the body with the client's abort */
	sw_bb_op ops[SW_BB_MAX_OPS];
	size_t nops;
	uint8_t shape; /* sw_bb_shape */
	uint32_t k;
	bool pipelined;      /* written together with the next request */
	int8_t capture_slot; /* >= 0: keep answer argument `capture_arg` */
	uint8_t capture_arg;
} sw_bb_req;

#define SW_BB_MAX_REQS 24

typedef struct sw_bb_session {
	sw_bb_req v[SW_BB_MAX_REQS];
	size_t n;
	bool bzr_fixture; /* fixture bzr-2a instead of the default tree */
	bool allow_writes;
	uint32_t ops_used; /* bit per sw_bb_opkind */
} sw_bb_session;

void sw_bb_session_free(sw_bb_session *s);
/* Deep copy.  Returns 0 or SW_ERR_NOMEM (dst then empty). */
int sw_bb_session_copy(sw_bb_session *dst, const sw_bb_session *src);
/* The verb of request i ("?" when it has none), in buf. */
const char *sw_bb_req_verb(const sw_bb_req *r, char *buf, size_t cap);

/* Captured values (lock tokens) of one run, by slot. */
#define SW_BB_SLOTS 4
typedef struct sw_bb_caps {
	uint8_t *p[SW_BB_SLOTS];
	size_t n[SW_BB_SLOTS];
} sw_bb_caps;

/* Encodes request r (captured values substituted, byte ops applied) into
 * out.  Returns 0 or SW_ERR_NOMEM. */
int sw_bb_encode(const sw_bb_req *r, const sw_bb_caps *caps, sw_buf *out);

/* The verb as findings are deduplicated by: a registered verb is itself,
 * anything else "(unknown)", or "(odd-bytes)" when sw_bb_req_verb had to
 * replace bytes (non-ASCII, controls, '/') with '_'. */
void sw_bb_verb_key(const char *verb, char *out, size_t cap);

/* ---- wire (bb_wire.c) ---------------------------------------------------- */

/* What a byte stream holds at its start. */
typedef enum sw_bb_cut {
	SW_BB_NEED = 0, /* a prefix of a request/response: more bytes needed */
	SW_BB_DONE,     /* one complete message of *len bytes */
	SW_BB_BAD       /* not a message (the decoder failed after *len bytes) */
} sw_bb_cut;

/* A request at p[0..n): its version, its decoded fields (into *r when not
 * NULL: structured, owned by *r) and its length.  `eof`: p ends the stream. */
sw_bb_cut sw_bb_cut_request(const uint8_t *p, size_t n, bool eof, size_t *len, sw_bb_req *r);

/* Answer classes (coverage, and what a request got). */
typedef enum sw_bb_answer {
	SW_BB_ANS_SUCCESS = 0,
	SW_BB_ANS_ERROR,
	SW_BB_ANS_UNKNOWN, /* unknown method / bad request */
	SW_BB_ANS_CLOSE,   /* the connection closed instead */
	SW_BB_ANS_NONE,    /* nothing within the bound */
	SW_BB_ANS_BAD,     /* did not decode */
	SW_BB_NANS
} sw_bb_answer;

const char *sw_bb_answer_name(sw_bb_answer a);

/* A response at p[0..n) in `version` to a request of `verb` (for v1/v2
 * bodies): its length, its class, its args (first ones, joined by '|' into
 * args[0..cap)) and the argument `want` (for captures, may be NULL).
 * `more`: more bytes may still come (a v1/v2 body is decided on the next
 * bytes once they exist). */
sw_bb_cut sw_bb_cut_response(const uint8_t *p, size_t n, int version, const char *verb, bool more,
                             size_t *len, sw_bb_answer *cls, char *args, size_t cap, int want,
                             sw_buf *wanted);

/* ---- seeds and mutation (bb_gen.c, bb_mutate.c) ------------------------- */

typedef struct sw_bb_seeds sw_bb_seeds;

/* Loads seed sessions from corpus_dir (sessions/, recordings/, *.dict) and
 * the requests of the case files at `cases` (NULL: none).  Writes a line
 * per source to `log` (may be NULL).  Returns 0, SW_ERR_IO (nothing found)
 * or SW_ERR_NOMEM. */
int sw_bb_seeds_load(sw_bb_seeds **out, const char *corpus_dir, const char *cases, FILE *log);
void sw_bb_seeds_del(sw_bb_seeds *s);
size_t sw_bb_seeds_count(const sw_bb_seeds *s);

/* splitmix64: the one PRNG of the fuzzer. */
static inline uint64_t sw_bb_rand(uint64_t *st)
{
	uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static inline uint32_t sw_bb_below(uint64_t *st, uint32_t n)
{
	return n ? (uint32_t)(sw_bb_rand(st) % n) : 0;
}

/* Builds session number `run` of a campaign seeded with `seed`: a seed
 * session, trimmed, with 1-4 mutations.  Returns 0 or SW_ERR_NOMEM. */
int sw_bb_generate(const sw_bb_seeds *s, uint64_t seed, uint64_t run, sw_bb_session *out);
/* One structure-aware mutation of request i of s (st: the PRNG). */
void sw_bb_mutate_req(const sw_bb_seeds *s, sw_bb_session *ss, size_t i, uint64_t *st);
/* The dictionary entries (for the mutators). */
const sw_slice *sw_bb_seeds_dict(const sw_bb_seeds *s, size_t *n);

/* ---- execution and oracles (bb_exec.c) --------------------------------- */

typedef struct sw_bb_opts {
	sw_cf_opts cf;         /* target, commands, scale, rtt, fixtures, workdir;
	               * cf.reference_cmd/kind: the differential */
	uint32_t hang_ms;      /* bound on an answer (0: from the calibration) */
	size_t rss_limit_kb;   /* resource bound (0: 262144) */
	bool check_malformed;  /* default true */
	const char *client_op; /* client side: "OP ARGS" (NULL: rotate) */
} sw_bb_opts;

typedef struct sw_bb_outcome {
	bool found;
	sw_bb_class cls;
	size_t at; /* the request it is about */
	char verb[64];
	int version;
	char *detail;                     /* a sentence with the bytes (malloc'd) */
	sw_bb_answer ans[SW_BB_MAX_REQS]; /* what each request got */
	size_t nans;
	/* per answer: its arguments ('|'-joined, printable) and the verb and
	 * session request it answered (the differential compares them) */
	char ansargs[SW_BB_MAX_REQS][96];
	char ansverb[SW_BB_MAX_REQS][48];
	uint8_t ansat[SW_BB_MAX_REQS];
	uint8_t ansversion[SW_BB_MAX_REQS];
	sw_buf rx; /* every byte the target sent */
	sw_buf tx; /* every byte we sent */
	int exit_status;
	bool infra; /* the run could not be made (no finding) */
	char client_op[96]; /* client targets: the adapter's operation */
	size_t conn_end[8]; /* client targets: tx offset where each connection's answer ends */
	size_t nconn;
} sw_bb_outcome;

void sw_bb_outcome_fini(sw_bb_outcome *o);

/* Runs session s against the target of o (server targets) and judges it.
 * Fills *out (sw_bb_outcome_fini it).  Returns 0 or SW_ERR_NOMEM. */
int sw_bb_exec(const sw_bb_opts *o, const sw_bb_session *s, sw_bb_outcome *out);
/* The differential: runs s against o->cf.reference_cmd too and, when the
 * target itself found nothing, turns the first request that both answer
 * with success but with other arguments into a divergence finding in
 * *out.  Returns 0 or SW_ERR_NOMEM. */
int sw_bb_exec_differential(const sw_bb_opts *o, const sw_bb_session *s, sw_bb_outcome *out);

/* Client targets (bb_client.c): s's requests are ignored; its seed picks
 * the mutated responses given to the adapter. */
int sw_bb_exec_client(const sw_bb_opts *o, const sw_bb_seeds *seeds, uint64_t seed, uint64_t run,
                      sw_bb_outcome *out);

/* ---- minimisation and case files (bb_min.c, bb_case.c) ----------------- */

/* Shrinks *s (delta debugging over requests, ops and shapes, then bytes of
 * raw requests) while it still gives a finding of class cls.  At most
 * `budget` executions.  Returns the executions made. */
size_t sw_bb_minimise(const sw_bb_opts *o, sw_bb_session *s, sw_bb_class cls, size_t budget);

/* Writes the case file DIR/NAME.case (a conformance case reproducing the
 * finding: `smartwire conform --cases FILE`) and DIR/NAME.session (the raw
 * bytes sent).  Returns 0 or SW_ERR_IO. */
int sw_bb_write_case(const char *dir, const char *name, const sw_bb_session *s,
                     const sw_bb_outcome *f, uint64_t seed, uint64_t run);

/* A client finding as a client case (role client: accept, send the
 * mutated answer, disconnect, result error).  Returns 0 or SW_ERR_IO. */
int sw_bb_write_client_case(const char *dir, const char *name, const sw_bb_outcome *f,
                            uint64_t seed, uint64_t run);

/* ---- the campaign (bb_fuzz.c) ------------------------------------------- */

typedef struct sw_bb_campaign {
	sw_bb_opts o;
	const char *corpus_dir;
	const char *cases; /* conformance cases for seeds (NULL: none) */
	const char *out_dir;
	uint64_t seed;
	uint64_t runs; /* 0: until `time_s` */
	double time_s; /* 0: until `runs` */
	int jobs;
	bool quiet;
	bool no_minimise;
	size_t min_budget; /* executions per finding (0: 200) */
	FILE *log;         /* progress and summary */
} sw_bb_campaign;

/* Executes session `run` of the campaign once and prints it to c->log:
 * the bytes sent and received, what each request got, the finding.  Returns
 * 0, or a negative sw_err. */
int sw_bb_show(sw_bb_campaign *c, uint64_t run);

/* Runs the campaign.  Returns the number of distinct findings (>= 0) or a
 * negative sw_err. */
int sw_bb_run(sw_bb_campaign *c);

#ifdef __cplusplus
}
#endif
#endif
