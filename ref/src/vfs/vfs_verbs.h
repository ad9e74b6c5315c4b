/* The verbs' entry points, called only by vfs.c's table of verbs.  Each verb
 * file implements its verbs on the helpers of vfs_req.h and never calls
 * vfs.c.  Private to ref/src/vfs/.
 *
 * `begin` gets the arguments after the verb, already counted against the
 * verb's parameters; it answers (r->state stays REQ_ANSWERED) or asks for
 * the body (r->state = REQ_BODY, possibly with an error reply kept for the
 * end of the body).  `body`, `end` and `abort` are called only in REQ_BODY;
 * `end` leaves a reply.  `read` gives the response body of an answered
 * request with r->has_body.  Each returns 0 or SW_ERR_NOMEM unless stated. */
#ifndef SW_VFS_VERBS_H
#define SW_VFS_VERBS_H

#include "vfs_req.h"

/* vfs_read.c */
int sw__get_begin(sw_vfs_req *r, const sw_slice *a);
ptrdiff_t sw__get_read(sw_vfs_req *r, uint8_t *buf, size_t cap); /* sw_vfs_read_body */
/* sw_vfs_body_span, sw_vfs_body_span_done */
int sw__get_span(sw_vfs_req *r, uint64_t cap, int *fd, uint64_t *off, uint64_t *len);
void sw__get_span_done(sw_vfs_req *r, uint64_t n);
int sw__has_begin(sw_vfs_req *r, const sw_slice *a);
int sw__stat_begin(sw_vfs_req *r, const sw_slice *a);
int sw__list_dir_begin(sw_vfs_req *r, const sw_slice *a);
int sw__iter_begin(sw_vfs_req *r, const sw_slice *a);

/* vfs_readv.c */
int sw__readv_begin(sw_vfs_req *r, const sw_slice *a);
int sw__readv_body(sw_vfs_req *r, const uint8_t *p, size_t n);
int sw__readv_end(sw_vfs_req *r);
ptrdiff_t sw__readv_read(sw_vfs_req *r, uint8_t *buf, size_t cap); /* sw_vfs_read_body */
int sw__readv_span(sw_vfs_req *r, uint64_t cap, int *fd, uint64_t *off, uint64_t *len);
void sw__readv_span_done(sw_vfs_req *r, uint64_t n);

/* vfs_put.c: put, put_non_atomic and append share the body hooks. */
int sw__put_begin(sw_vfs_req *r, const sw_slice *a);
int sw__append_begin(sw_vfs_req *r, const sw_slice *a);
int sw__upload_body(sw_vfs_req *r, const uint8_t *p, size_t n);
int sw__upload_end(sw_vfs_req *r);
void sw__upload_abort(sw_vfs_req *r);
/* sw_vfs_body_sink, sw_vfs_body_sink_done */
int sw__upload_sink(sw_vfs_req *r, uint64_t avail, int *fd);
int sw__upload_sink_done(sw_vfs_req *r, uint64_t n, int err);

/* vfs_write.c: delete, mkdir, rmdir (one path), rename and move. */
int sw__one_path_begin(sw_vfs_req *r, const sw_slice *a);
int sw__two_paths_begin(sw_vfs_req *r, const sw_slice *a);

#endif
