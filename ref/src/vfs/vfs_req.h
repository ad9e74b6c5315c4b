/* The VFS's request object and the helpers every verb uses (vfs_req.c):
 * building a reply, translating errno and paths into Breezy's error tuples,
 * reading a file into a response body.  Private to ref/src/vfs/.
 *
 * The files of the VFS, each using only those above it (no file calls into
 * one that calls back):
 *
 *   jail_path.c, jail_walk.c   the path jail (smartwire/jail.h only)
 *   vfs_req.c                  this header: requests, replies, errors
 *   vfs_read.c vfs_readv.c     the verbs (vfs_verbs.h), each on vfs_req.c
 *   vfs_put.c vfs_write.c
 *   vfs.c                      the public API and the table of verbs
 *   vfs_server.c               the dispatch glue, on smartwire/vfs.h only
 */
#ifndef SW_VFS_REQ_H
#define SW_VFS_REQ_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "smartwire/fs.h"
#include "smartwire/jail.h"
#include "smartwire/mem.h"
#include "smartwire/vfs.h"

/* ---- the server and a request ---- */

/* The file system every verb acts on (smartwire/fs.h). */
#define SW__FS(r) ((r)->vfs->jail.fs)

struct sw_vfs {
	sw_jail jail;
	char *root; /* as given, without trailing '/' (unless it is "/") */
	size_t root_len;
	sw_vfs_config cfg;
	const sw_mem *mem;
	/* The last freed request, kept with its buffers for the next
	 * sw_vfs_begin (no allocation per request in the steady state);
	 * exchanged atomically because an sw_vfs may be shared by threads
	 * (one sw_vfs per worker is the usual way, not a rule here). */
	_Atomic(sw_vfs_req *) spare;
};

enum { REQ_BODY = 1, REQ_ANSWERED, REQ_ABORTED };

typedef struct sw__range {
	int64_t off, len;
} sw__range;

/* Verbs (vfs.c's table says which hooks serve each). */
enum {
	V_HELLO,
	V_IS_READONLY,
	V_GET,
	V_HAS,
	V_STAT,
	V_LIST_DIR,
	V_ITER,
	V_READV,
	V_PUT,
	V_PUT_NON_ATOMIC,
	V_APPEND,
	V_DELETE,
	V_MKDIR,
	V_RMDIR,
	V_RENAME,
	V_MOVE
};

struct sw__verb; /* an entry of vfs.c's table of verbs */

struct sw_vfs_req {
	sw_vfs *vfs;
	const sw_mem *mem;
	int verb;                   /* V_... */
	const struct sw__verb *ops; /* its hooks, for vfs.c only */
	int state;
	/* reply */
	sw_vfs_status status;
	sw_buf rbuf;
	size_t *roff; /* (offset, length) pairs into rbuf */
	size_t nr, rcap;
	sw_slice *rargs;
	size_t rargs_cap;
	bool rargs_ok; /* rargs matches rbuf/roff */
	bool replied;  /* a reply (possibly an error kept until sw_vfs_end) exists */
	bool has_body;
	uint64_t body_len, body_pos;
	/* paths */
	sw_jail_path jp;
	/* body verbs */
	int64_t mode, dir_mode;
	bool has_mode, has_dir_mode, create_parent;
	int dirfd, fd;    /* target directory and open file (get/readv/temp) */
	char *name;       /* target name in dirfd */
	char tmpname[64]; /* hidden temporary file in dirfd, "" if none */
	int pdirfd;       /* put_non_atomic: created parent's directory */
	char *pname;
	uint64_t received;
	sw_buf text; /* readv offsets text */
	sw_buf wbuf; /* put/append body not yet written to the temporary file */
	sw__range *ranges;
	size_t nranges, cur;
	uint64_t cur_done;
};

/* ---- replies ----
 * Every function below that answers returns 0 or SW_ERR_NOMEM; those that
 * may answer or not return 0 (not answered), 1 (answered) or SW_ERR_NOMEM. */

/* Whether sw_vfs_begin serves this verb (vfs.c; for sw_dispatch.knows). */
bool sw__vfs_knows(const sw_slice *verb);

/* Starts a reply of `status` with the `n` given NUL-terminated strings. */
int sw__reply(sw_vfs_req *r, sw_vfs_status status, int n, ...);
/* Appends one element to the reply. */
int sw__reply_add(sw_vfs_req *r, const void *p, size_t n);
/* ("error", cls, msg) */
int sw__fail_generic(sw_vfs_req *r, const char *cls, const uint8_t *msg, size_t n);
/* ("error", "smartwire.LimitExceeded", "<what> exceeds the limit of <lim>") */
int sw__fail_limit(sw_vfs_req *r, const char *what, uint64_t lim);
/* ("error", "ValueError", msg + repr(lit[0..n)) when lit is not NULL) */
int sw__fail_value(sw_vfs_req *r, const char *msg, const uint8_t *lit, size_t n);
/* Translates an errno as LocalTransport._translate_error: NoSuchFile,
 * FileExists, PermissionDenied, DirectoryNotEmpty, ResourceBusy or
 * TransportError.  `report` is the path the exception carries; f1 (and f2
 * for a rename, else NULL) the file names in the OSError text. */
int sw__fail_errno(sw_vfs_req *r, int e, const sw_buf *report, const sw_buf *f1, const sw_buf *f2);
/* The same with report = f1 = the absolute path of jp->fs. */
int sw__fail_errno_abs(sw_vfs_req *r, int e, const sw_jail_path *jp);
/* A raw OSError escaping Breezy: ("error", "<OSError subclass>", "[Errno
 * n] strerror" + suffix). */
int sw__fail_oserror(sw_vfs_req *r, int e, const char *suffix);
/* ("ReadOnlyError",) */
int sw__read_only(sw_vfs_req *r);

/* ---- paths ---- */

/* Appends the absolute server path of `fs` (root + '/' + fs). */
int sw__abs(const sw_vfs *v, const uint8_t *fs, size_t n, sw_buf *out);
/* Escapes a file name like urlutils.escape (byte-wise, %XX upper case). */
int sw__escape(sw_buf *out, const uint8_t *p, size_t n);
/* Translates path argument `p` (append_slash as stat/list_dir/iter).
 * Returns 0 (jp filled), 1 (answered: InvalidURLJoin, protocol error or a
 * limit), or SW_ERR_NOMEM. */
int sw__translate(sw_vfs_req *r, const sw_slice *p, bool slash, sw_jail_path *jp);
/* The local transport is touched: InvalidURL for non-ASCII, ValueError for
 * NUL.  Returns 0, 1 (answered) or SW_ERR_NOMEM. */
int sw__touch(sw_vfs_req *r, const sw_jail_path *jp);
/* Parses an optional mode (b'' = none).  Returns 0, 1 (answered with
 * ValueError or a limit) or SW_ERR_NOMEM. */
int sw__mode(sw_vfs_req *r, const sw_slice *s, int64_t *mode, bool *has);
/* Walks jp->fs.  Returns 0 (res filled), 1 (answered with the translated
 * errno, abs path) or SW_ERR_NOMEM. */
int sw__resolve(sw_vfs_req *r, const sw_jail_path *jp, unsigned flags, sw_jail_res *res);

/* ---- files ---- */

/* Opens the file `jp` names for reading, following symlinks inside the
 * root (the jail's fast path first).  Returns 0 (r->fd open, *st filled),
 * 1 (answered) or SW_ERR_NOMEM.  Sets *not_file instead of answering when
 * it names a directory or anything else that is not a regular file (no fd
 * is then kept). */
int sw__open_file(sw_vfs_req *r, const sw_jail_path *jp, struct stat *st, bool *not_file);
/* Sets the mode of the directory `name` in `dirfd`, just made by mkdirat,
 * without following a symlink swapped in since (smartwire/jail.h,
 * TOCTOU): through an fd opened with O_NOFOLLOW, or, when the directory
 * cannot be opened for reading, fchmodat(AT_SYMLINK_NOFOLLOW).  Errors are
 * ignored, as before the split: the directory exists either way. */
void sw__chmod_dir(sw_fs *fs, int dirfd, const char *name, mode_t mode);
/* Reads up to `cap` bytes at `at` from r->fd into buf, counting them in
 * r->body_pos.  Returns the count (> 0) or SW_ERR_IO (errno set; EIO when
 * the file ended early: it shrank after the reply was decided). */
ptrdiff_t sw__pread_body(sw_vfs_req *r, uint8_t *buf, size_t cap, uint64_t at);

#endif
