/*
 * smartwire: the security oracle of the test bench.  It judges a server by
 * what it did, not by what it said: a server may answer a hostile request
 * with any tuple it likes, but no byte it sends may carry a secret kept
 * outside the served directory, nothing outside that directory may change,
 * and a read-only server may change nothing at all.
 *
 * Used by the conformance runner (every server case runs in an oracle's
 * world) and meant for the black-box fuzzer: nothing here knows about case
 * files, targets or verdicts.
 *
 * THE WORLD.  sw_oracle_new() makes a fresh directory tree:
 *
 *   W/                                  mkdtemp("sw-conform-XXXXXX")
 *   W/sentinel-above.txt                secret content      (above the root)
 *   W/swname-<hex>-above                secret content and name
 *   W/srv/                              the root's parent
 *   W/srv/sentinel-beside.txt           secret content      (beside the root)
 *   W/srv/swname-<hex>-beside           secret content and name
 *   W/srv/outside/                      a sentinel directory tree
 *   W/srv/outside/sentinel-secret.txt   secret content
 *   W/srv/outside/sentinel-sub/sentinel-inner.txt   secret content
 *   W/srv/outside/swname-<hex>-tree/swname-<hex>-leaf   secret content and names
 *   W/srv/root/                         the served directory, empty
 *
 * Fixed names (sentinel-*) let test cases point at secrets (`get
 * /../sentinel-beside.txt`); the random swname-* names are secrets
 * themselves, so that a directory listing that escapes the root is caught
 * even though no request named them.  Every secret file holds 32 random hex
 * digits and a newline, different in every world.
 *
 * WHAT COUNTS.
 *   content  any 12 consecutive digits of a secret file's content, or 16
 *            consecutive bytes of the host's /etc/passwd first line, in the
 *            peer's bytes: raw, URL-unescaped (%XX) or with Python's repr()
 *            escapes (\xNN \n \t \\ \') undone;
 *   name     the random part of a secret name in the peer's bytes (in the
 *            same three views), unless the client itself sent it (raw or
 *            unescaped): an error echoing the client's own path is no leak;
 *            and three names of entries of the host's /etc (six bytes or
 *            longer, not sent by the client): a listing of /etc;
 *   outside  any entry of W outside the root created, removed, or changed
 *            (type, mode, contents, link target);
 *   inside   for a read-only server, the same below the root.
 *
 * RESOURCES.  libc malloc (a test-bench component, like the runner); one
 * directory tree per world, removed by sw_oracle_del unless kept; no
 * threads.  The names of /etc are read once per process (pthread_once) and
 * only read afterwards; otherwise no global state.  Different worlds may
 * be used from different threads at once.
 */
#ifndef SMARTWIRE_ORACLE_H
#define SMARTWIRE_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_oracle sw_oracle;

typedef enum sw_oracle_kind {
	SW_ORACLE_CONTENT = 0, /* a secret's content in the peer's bytes */
	SW_ORACLE_NAME,        /* a secret name the client never sent */
	SW_ORACLE_OUTSIDE,     /* an entry outside the root created/changed/removed */
	SW_ORACLE_INSIDE       /* read-only server: an entry inside changed */
} sw_oracle_kind;

/* One thing the oracle found. */
typedef struct sw_oracle_finding {
	sw_oracle_kind kind;
	size_t offset; /* CONTENT/NAME: where in the scanned bytes (the start of
	                * the match in the raw view; for a match found only in
	                * an unescaped view, the offset of the first byte of the
	                * raw bytes it came from) */
	char *secret;  /* the secret or entry, relative to the world
	                * ("srv/outside/sentinel-secret.txt"); "/etc/passwd" for
	                * the host secret */
	char *text;    /* one sentence with the evidence (bytes quoted) */
} sw_oracle_finding;

/* Findings, appended to by the scan and the tree check (caller-owned). */
typedef struct sw_oracle_report {
	sw_oracle_finding *v;
	size_t n;
} sw_oracle_report;

void sw_oracle_report_init(sw_oracle_report *rep);
void sw_oracle_report_fini(sw_oracle_report *rep);

/* "content leak", "name leak", "outside change", "inside change". */
const char *sw_oracle_kind_name(sw_oracle_kind k);

/* The directory worlds are made in when the caller names none: $TMPDIR
 * when it is set and not empty (the user's choice); else /dev/shm when it
 * is a tmpfs this process may create directories in; else /tmp.  A world
 * is some 15 entries around a fixture of up to ~200; on a disk file system
 * each run's creates, stats and unlinks go through its journal (measured
 * on an ext4 VM disk: a bzr-fixture case 9x slower than on tmpfs), and
 * nothing in a world needs to survive the process.  Decided once per
 * process; the string is static. */
const char *sw_oracle_default_base(void);

/* Calls fn(ud, rel, path, st) for every entry below `root`, directories
 * before what they hold, in readdir order: `rel` is the entry's path from
 * the root ('/'-separated), `path` the whole path, `st` its lstat (links
 * are not followed).  A directory is walked into when fn returns 0 and it
 * is at most 48 levels below the root (a server can build a tree as deep as
 * paths go); fn returns SW_ORACLE_WALK_SKIP to leave it out.  Entries whose
 * path would not fit 4096 bytes or that vanish before their lstat are
 * left out, and unreadable directories below the root read as empty.
 * Returns 0, SW_ERR_IO if `root` cannot be opened, or fn's first negative
 * return (the walk stops there). */
struct stat;
typedef int (*sw_oracle_walk_fn)(void *ud, const char *rel, const char *path,
                                 const struct stat *st);
#define SW_ORACLE_WALK_SKIP 1
int sw_oracle_walk(const char *root, sw_oracle_walk_fn fn, void *ud);

/* Removes the tree at `path` (not following links); when something stays
 * (a directory made unreadable or unwritable), makes directories
 * accessible and removes again.  One walk in the common case. */
void sw_oracle_rmtree(const char *path);

/* Makes a world under `workdir` (NULL: sw_oracle_default_base()).  Returns 0,
 * SW_ERR_IO (a sentence and the errno in *ei; nothing is left behind) or
 * SW_ERR_NOMEM. */
int sw_oracle_new(sw_oracle **out, const char *workdir, sw_errinfo *ei);

/* Removes the world (unless `keep`) and frees the oracle; NULL is a no-op. */
void sw_oracle_del(sw_oracle *o, bool keep);

/* Absolute paths, valid until sw_oracle_del: the served directory (fill
 * it, then arm), the world W, and W/srv/outside. */
const char *sw_oracle_root(const sw_oracle *o);
const char *sw_oracle_world(const sw_oracle *o);
const char *sw_oracle_outside(const sw_oracle *o);

/* Records the state to compare with: everything outside the root, and with
 * `read_only` the root too.  Call once the root holds its fixture and
 * before the server starts.  Returns 0, SW_ERR_NOMEM or SW_ERR_IO. */
int sw_oracle_arm(sw_oracle *o, bool read_only);

/* Scans `recv[0..n)` (every byte the peer sent) for secrets; `sent[0..m)`
 * (every byte the client sent) decides which names were the client's own.
 * Appends one finding per secret found (the first place it shows).
 * Returns the number of findings appended, or SW_ERR_NOMEM. */
int sw_oracle_scan(const sw_oracle *o, const uint8_t *recv, size_t n, const uint8_t *sent, size_t m,
                   sw_oracle_report *rep);

/* Compares the tree with the armed state and appends one finding per
 * changed entry (at most 16, then one that says how many more).  Returns
 * the number of findings appended, SW_ERR_NOMEM or SW_ERR_STATE (not
 * armed). */
int sw_oracle_check_tree(const sw_oracle *o, sw_oracle_report *rep);

/* True if the tree differs from the armed state (no detail; for finding
 * which request of several made the change).  False when not armed or when
 * the tree cannot be read. */
bool sw_oracle_tree_changed(const sw_oracle *o);

#ifdef __cplusplus
}
#endif
#endif
