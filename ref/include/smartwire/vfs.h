/*
 * smartwire: the file-serving verbs of the reference server (Breezy's VFS),
 * independent of protocol framing.
 *
 * A protocol session drives one request at a time:
 *
 *     sw_vfs_req *r;
 *     int rc = sw_vfs_begin(vfs, args, nargs, &r);   // args[0] is the verb
 *     if (rc == SW_VFS_NEEDS_BODY) {
 *         while (body bytes arrive) sw_vfs_body(r, p, n);   // streamed
 *         sw_vfs_end(r);              // or sw_vfs_abort(r) if the client left
 *     }
 *     sw_vfs_get_reply(r, &reply) -> status + args tuple (+ body length);
 *     while ((k = sw_vfs_read_body(r, buf, sizeof buf)) > 0) send(buf, k);
 *     sw_vfs_req_del(r);
 *
 * Bodies are streamed both ways: a put writes each piece to a temporary
 * file as it arrives, a get or readv reads the file on demand, so a 1 GiB
 * transfer never sits in memory.
 *
 * THREADS.  A request belongs to one thread at a time, but any number of
 * requests, of one sw_vfs or of several on the same directory, may be in
 * flight at once from any threads or processes (given an allocator that
 * may be called from them; NULL, libc, is): after sw_vfs_new an sw_vfs
 * is only read (its one cached spare request is exchanged atomically), the
 * errno texts come from sw_sys_strerror, and uploads get temporary files
 * whose names cannot collide (see `put` below).
 *
 * Answers are byte-compatible with `brz serve` of Breezy 3.3.2 (a chroot +
 * path filter over `file://root`, decorated `readonly+` unless writes are
 * allowed), checked differentially by tests/vectors/gen_vfs.py.  Error
 * tuples follow request._translate_error: absolute server paths (the root
 * as passed to sw_vfs_new, without trailing '/') in NoSuchFile, FileExists,
 * DirectoryNotEmpty, PermissionDenied; "./relpath" in ShortReadvError; the
 * chroot-relative path in ReadError and InvalidURL; ("ReadOnlyError",) when
 * read-only; Python's TypeError texts for wrong argument counts, and so on.
 *
 * Departures from Breezy (each for safety or because Breezy crashes):
 *  - Paths go through smartwire/jail.h: a symlink leaving the root is
 *    treated as dangling, "%2F.." cannot climb out of the root, and "~user"
 *    is not expanded (Breezy's path filter maps "/~user/" to a home directory
 *    when that lies inside the served directory).
 *  - `move` is one rename(2) (RENAME_NOREPLACE for directories, answering
 *    FileExists like Breezy's copy_tree) instead of Breezy's non-atomic
 *    copy + delete; moving a symlink moves the link, not a copy of its target.
 *  - `put`/`put_non_atomic` upload to a hidden temporary file named
 *    SW_JAIL_TEMP_PREFIX... in the target directory, fsync it and rename it
 *    into place (`append` copies it onto the target at the end); names with
 *    that prefix never appear in list_dir or iter_files_recursive and
 *    cannot be addressed.  Breezy's message for a failed rename names its
 *    temporary file (<name>.<pid>.<host>.<random>.tmp), so its answer
 *    differs from run to run; ours names "<dir>/" SW_JAIL_TEMP_PREFIX
 *    "<name>" whatever the file on disk is called.  Nothing in an answer
 *    depends on the clock, an address, the pid or other requests running at
 *    the same time: identical requests on identical trees get identical
 *    bytes.
 *  - rmdir/delete/rename/move of the root itself answer as the kernel does
 *    for a busy mount point (EBUSY: ("error", "ResourceBusy", ...)).
 *  - get of something that is neither a regular file nor a directory (FIFO,
 *    device, socket) answers ReadError instead of blocking or reading it.
 *  - Directory entries that are not valid UTF-8 are listed %XX-escaped byte
 *    by byte (Breezy's error translation crashes on them).
 *  - Modes outside 0..07777 and readv numbers outside int64 are refused with
 *    ("error", "smartwire.LimitExceeded", ...) where Python would raise an
 *    OverflowError somewhere deeper.
 *  - Limits (sw_vfs_config) answer ("error", "smartwire.LimitExceeded",
 *    "<what> exceeds the limit of <n>").
 *  - readv reproduces Breezy's _seek_and_read exactly, quirks included:
 *    ShortReadvError names the *coalesced* range (limit 50 ranges, no fudge,
 *    100 MiB), and a repeated empty range silently ends the data (Breezy's
 *    dict-based yield stops there), so body_len may cover fewer ranges than
 *    requested.  Every check is made from fstat before the reply, so the
 *    reply (and the body length) is known before the first body byte.
 *  - Breezy returns some values as `str` (ReadError path, iter_files_recursive
 *    names), which only protocol v3 can encode (v1/v2 crash the connection);
 *    we return them as UTF-8 bytes and leave the v1/v2 behaviour to the
 *    protocol layer.
 */
#ifndef SMARTWIRE_VFS_H
#define SMARTWIRE_VFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/fs.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default limits (see sw_vfs_config). */
#define SW_VFS_DEFAULT_MAX_BODY ((uint64_t)4 << 30)      /* put/append body: 4 GiB */
#define SW_VFS_DEFAULT_MAX_READV_TEXT ((size_t)1 << 20)  /* readv offsets text: 1 MiB */
#define SW_VFS_DEFAULT_MAX_READV_RANGES ((size_t)100000) /* ranges per readv */
#define SW_VFS_DEFAULT_MAX_PATH_LEN ((size_t)4096)       /* bytes of a client path */
#define SW_VFS_DEFAULT_MAX_NAMES ((size_t)1000000)       /* list_dir/iter_files_recursive */
#define SW_VFS_DEFAULT_MAX_DEPTH ((size_t)256)           /* iter_files_recursive nesting */

typedef struct sw_vfs_config {
	bool allow_writes;       /* false (default): read-only, like brz serve */
	bool disable_vfs;        /* like BRZ_NO_SMART_VFS: VFS verbs answer DisabledMethod */
	uint64_t max_body;       /* 0 = default */
	size_t max_readv_text;   /* 0 = default */
	size_t max_readv_ranges; /* 0 = default */
	size_t max_path_len;     /* 0 = default */
	size_t max_names;        /* 0 = default */
	size_t max_depth;        /* 0 = default */
	/* The file system the root lives in (smartwire/fs.h): NULL, the real
	 * one; an in-memory one for tests and fuzzing.  Not owned: it must
	 * outlive the sw_vfs. */
	sw_fs *fs;
} sw_vfs_config;

typedef struct sw_vfs sw_vfs;
typedef struct sw_vfs_req sw_vfs_req;

/* Opens the served root directory `root_dir` (kept as given, trailing '/'
 * removed, for error texts) in cfg->fs.  `cfg` may be NULL (defaults); it is copied.
 * Returns 0 and *out, SW_ERR_NOMEM, SW_ERR_INVALID_ARGUMENT (NULL or empty
 * root), or SW_ERR_IO (errno set: the root cannot be opened as a directory).
 * Free with sw_vfs_del(). */
SW_API int sw_vfs_new(sw_vfs **out, const char *root_dir, const sw_vfs_config *cfg,
                      const sw_mem *mem);
SW_API void sw_vfs_del(sw_vfs *vfs);

/* Return values of sw_vfs_begin() besides negative sw_err. */
enum { SW_VFS_ANSWERED = 0, SW_VFS_NEEDS_BODY = 1 };

/* Starts a request.  args[0] is the verb; the slices need only stay valid
 * during the call.  Returns:
 *  - SW_VFS_ANSWERED: *out holds the reply (no body will be accepted; for a
 *    body verb, Breezy also answers before the body, e.g. a bad path or mode,
 *    and the protocol layer deals with the body the client still sends);
 *  - SW_VFS_NEEDS_BODY: put, put_non_atomic, append, readv -- feed the body
 *    with sw_vfs_body() and finish with sw_vfs_end() or sw_vfs_abort();
 *  - SW_ERR_UNKNOWN_METHOD: not a verb we serve (*out = NULL); the protocol
 *    layer answers with Breezy's per-version unknown-method form;
 *  - SW_ERR_INVALID_ARGUMENT (nargs == 0), SW_ERR_NOMEM (*out = NULL).
 * The request is freed with sw_vfs_req_del() in every success case. */
SW_API int sw_vfs_begin(sw_vfs *vfs, const sw_slice *args, size_t nargs, sw_vfs_req **out);

/* Feeds request body bytes (any split).  Returns 0, SW_ERR_STATE (the
 * request does not expect a body now) or SW_ERR_NOMEM.  File-system errors
 * and limits do not fail the call: they are remembered, the rest of the body
 * is discarded, and sw_vfs_end() answers with the error, as Breezy answers
 * only after the whole body. */
SW_API int sw_vfs_body(sw_vfs_req *req, const uint8_t *p, size_t n);

/* The body is complete: put fsyncs and renames into place, append appends,
 * readv parses the offsets and checks them against the file.  Returns 0 (the
 * reply is ready), SW_ERR_STATE or SW_ERR_NOMEM (the request is then
 * aborted: nothing applied). */
SW_API int sw_vfs_end(sw_vfs_req *req);

/* The client vanished mid-body: the temporary file is removed, a parent
 * directory created for put_non_atomic is removed again, nothing is applied.
 * No reply is available afterwards; free the request. */
SW_API void sw_vfs_abort(sw_vfs_req *req);

typedef enum sw_vfs_status {
	SW_VFS_SUCCESS = 0,       /* SuccessfulSmartServerResponse */
	SW_VFS_FAILED = 1,        /* FailedSmartServerResponse: args is the error tuple */
	SW_VFS_PROTOCOL_ERROR = 2 /* an exception escaped Breezy's handler: args is
	                           * the single str(exc) (v1/v2 send ("error", it),
	                           * v3 send_error) -- only for non-UTF-8 paths */
} sw_vfs_status;

typedef struct sw_vfs_reply {
	sw_vfs_status status;
	const sw_slice *args; /* valid until sw_vfs_req_del() */
	size_t nargs;
	bool has_body;     /* get ("ok"), readv ("readv") on success */
	uint64_t body_len; /* exact number of body bytes sw_vfs_read_body yields */
} sw_vfs_reply;

/* The reply of an answered request.  Returns 0, SW_ERR_STATE (still
 * waiting for the body, or aborted) or SW_ERR_NOMEM (the slice array is
 * built on the first call; calling again is fine). */
SW_API int sw_vfs_get_reply(const sw_vfs_req *req, sw_vfs_reply *out);

/* Pulls up to `cap` response body bytes (get: the file from its open fd;
 * readv: the ranges in request order).  Returns the count (> 0), 0 at the
 * end, SW_ERR_STATE (no body), or SW_ERR_IO (errno set; e.g. the file was
 * truncated after the reply was decided -- the protocol layer must then
 * abort the response, which v3 can signal mid-stream). */
SW_API ptrdiff_t sw_vfs_read_body(sw_vfs_req *req, uint8_t *buf, size_t cap);

/* Releases the request (aborting it first if it still expects a body). */
SW_API void sw_vfs_req_del(sw_vfs_req *req);

/* ---- Zero-copy (smartwire/server.h, "ZERO-COPY BODIES") -------------- *
 * On the real file system a body can move between its file and the
 * connection without being read into memory: these four give the
 * descriptors and take the count.  A file system without operating-system
 * descriptors (a memfs) has none to give, and the bytes are pulled and fed
 * as before; the answers are the same either way. */

/* The next response body bytes (get, readv) as a span of a descriptor:
 * 1 with *fd, *off, *len (1 <= *len <= cap), else 0 (no body left, no
 * descriptor).  Then sw_vfs_body_span_done with what was sent. */
SW_API int sw_vfs_body_span(sw_vfs_req *req, uint64_t cap, int *fd, uint64_t *off, uint64_t *len);
SW_API void sw_vfs_body_span_done(sw_vfs_req *req, uint64_t n);

/* A descriptor the next request body bytes (put, put_non_atomic, append;
 * at most `avail`) may be written to at its position, in place of
 * sw_vfs_body: 1 with *fd, or 0 (no such file, an error or a limit to
 * answer first, readv: feed them), or SW_ERR_NOMEM.  The limits are those
 * of sw_vfs_body: a sink is offered only for bytes within them. */
SW_API int sw_vfs_body_sink(sw_vfs_req *req, uint64_t avail, int *fd);

/* n body bytes went to the sink; err 0, or the errno of the failed write
 * (the upload is then dropped and the error answered at the end of the
 * body, as for sw_vfs_body).  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_vfs_body_sink_done(sw_vfs_req *req, uint64_t n, int err);

#ifdef __cplusplus
}
#endif
#endif
