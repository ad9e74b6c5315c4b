/* Internal interfaces shared by jail.c, vfs.c, vfs_read.c, vfs_write.c and
 * vfs_pyerr.c.  Not installed. */
#ifndef SW_VFS_INTERNAL_H
#define SW_VFS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/jail.h"
#include "smartwire/mem.h"
#include "smartwire/pytext.h"
#include "smartwire/vfs.h"

/* ---- the server and a request ---- */

struct sw_vfs {
	sw_jail jail;
	char *root; /* as given, without trailing '/' (unless it is "/") */
	size_t root_len;
	sw_vfs_config cfg;
	const sw_mem *mem;
	/* Temporary file names; atomic because an sw_vfs may be shared by
	 * threads (one sw_vfs per worker is the usual way, not a rule here). */
	_Atomic uint64_t tmp_seq;
	/* The last freed request, kept with its buffers for the next
	 * sw_vfs_begin (no allocation per request in the steady state);
	 * exchanged atomically for the same reason. */
	_Atomic(sw_vfs_req *) spare;
};

enum { REQ_BODY = 1, REQ_ANSWERED, REQ_ABORTED };

typedef struct sw__range {
	int64_t off, len;
} sw__range;

struct sw_vfs_req {
	sw_vfs *vfs;
	const sw_mem *mem;
	int verb;
	int state;
	/* reply */
	sw_vfs_status status;
	sw_buf rbuf;
	size_t *roff; /* (offset, length) pairs into rbuf */
	size_t nr, rcap;
	sw_slice *rargs;
	size_t rargs_cap;
	bool rargs_ok; /* rargs matches rbuf/roff */
	bool replied; /* a reply (possibly an error kept until sw_vfs_end) exists */
	bool has_body;
	uint64_t body_len, body_pos;
	/* paths */
	sw_jail_path jp;
	/* body verbs */
	int64_t mode, dir_mode;
	bool has_mode, has_dir_mode, create_parent;
	int dirfd, fd;     /* target directory and open file (get/readv/temp) */
	char *name;        /* target name in dirfd */
	char tmpname[64];  /* hidden temporary file in dirfd, "" if none */
	int pdirfd;        /* put_non_atomic: created parent's directory */
	char *pname;
	uint64_t received;
	sw_buf text; /* readv offsets text */
	sw_buf wbuf; /* put/append body not yet written to the temporary file */
	sw__range *ranges;
	size_t nranges, cur;
	uint64_t cur_done;
};

/* Verbs. */
enum {
	V_HELLO, V_IS_READONLY, V_GET, V_HAS, V_STAT, V_LIST_DIR, V_ITER, V_READV,
	V_PUT, V_PUT_NON_ATOMIC, V_APPEND, V_DELETE, V_MKDIR, V_RMDIR, V_RENAME, V_MOVE
};

/* Reply building (vfs.c).  sw__reply() starts a reply of `status` with the
 * given NUL-terminated strings; sw__reply_add appends one element. */
int sw__reply(sw_vfs_req *r, sw_vfs_status status, int n, ...);
int sw__reply_add(sw_vfs_req *r, const void *p, size_t n);
/* ("error", cls, msg) */
int sw__fail_generic(sw_vfs_req *r, const char *cls, const uint8_t *msg, size_t n);
/* ("error", "smartwire.LimitExceeded", "<what> exceeds the limit of <lim>") */
int sw__fail_limit(sw_vfs_req *r, const char *what, uint64_t lim);
/* Appends the absolute server path of `fs` (root + '/' + fs). */
int sw__abs(const sw_vfs *v, const uint8_t *fs, size_t n, sw_buf *out);
/* Translates an errno as LocalTransport._translate_error: NoSuchFile,
 * FileExists, PermissionDenied, DirectoryNotEmpty, ResourceBusy or
 * TransportError.  `report` is the path the exception carries; f1 (and f2
 * for a rename, else NULL) the file names in the OSError text. */
int sw__fail_errno(sw_vfs_req *r, int e, const sw_buf *report, const sw_buf *f1,
                   const sw_buf *f2);
/* The same with report = f1 = the absolute path of jp->fs. */
int sw__fail_errno_abs(sw_vfs_req *r, int e, const sw_jail_path *jp);
/* A raw OSError escaping Breezy: ("error", "<OSError subclass>", "[Errno
 * n] strerror" + suffix). */
int sw__fail_oserror(sw_vfs_req *r, int e, const char *suffix);
/* Translates path argument `p` (append_slash as stat/list_dir/iter).
 * Returns 0 (jp filled), 1 (answered: InvalidURLJoin, protocol error or a
 * limit), or SW_ERR_NOMEM. */
int sw__translate(sw_vfs_req *r, const sw_slice *p, bool slash, sw_jail_path *jp);
/* The local transport is touched: InvalidURL for non-ASCII, ValueError for
 * NUL.  Returns 0, 1 (answered) or SW_ERR_NOMEM. */
int sw__touch(sw_vfs_req *r, const sw_jail_path *jp);
/* Parses an optional mode (b'' = none).  Returns 0, 1 (answered with
 * ValueError) or SW_ERR_NOMEM. */
int sw__mode(sw_vfs_req *r, const sw_slice *s, int64_t *mode, bool *has);
/* The fast path of a walk that ends in an open (jail.c): opens fs[0..n)
 * below the root in one openat2(2) with `oflags` (O_NOFOLLOW and O_CLOEXEC
 * added) when the name is a chain of plain components and no symlink is
 * met, which is exactly when sw_jail_resolve() would walk it to the same
 * file without a decision of its own.  Returns the fd, or -1 for every
 * other case, errors included: the caller then takes sw_jail_resolve(),
 * which applies the symlink policy and finds the errno to report. */
int sw__jail_open_plain(const sw_jail *j, const uint8_t *fs, size_t n, int oflags);
/* Walks jp->fs.  Returns 0 (res filled), 1 (answered with the translated
 * errno, abs path) or SW_ERR_NOMEM. */
int sw__resolve(sw_vfs_req *r, const sw_jail_path *jp, unsigned flags, sw_jail_res *res);
/* Escapes a file name like urlutils.escape (byte-wise, %XX upper case). */
int sw__escape(sw_buf *out, const uint8_t *p, size_t n);

/* Verb entry points (vfs_read.c, vfs_write.c): return 0 or SW_ERR_NOMEM;
 * they set r->state (REQ_ANSWERED or REQ_BODY). */
int sw__do_get(sw_vfs_req *r, const sw_slice *a);
int sw__do_has(sw_vfs_req *r, const sw_slice *a);
int sw__do_stat(sw_vfs_req *r, const sw_slice *a);
int sw__do_list_dir(sw_vfs_req *r, const sw_slice *a);
int sw__do_iter(sw_vfs_req *r, const sw_slice *a);
int sw__do_readv(sw_vfs_req *r, const sw_slice *a);
int sw__readv_end(sw_vfs_req *r);
ptrdiff_t sw__read_body(sw_vfs_req *r, uint8_t *buf, size_t cap);
int sw__do_put(sw_vfs_req *r, const sw_slice *a);
int sw__do_append(sw_vfs_req *r, const sw_slice *a);
int sw__do_simple_write(sw_vfs_req *r, const sw_slice *a);
int sw__write_body(sw_vfs_req *r, const uint8_t *p, size_t n);
int sw__write_end(sw_vfs_req *r);
void sw__write_abort(sw_vfs_req *r);

#endif
