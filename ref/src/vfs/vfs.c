/* The VFS's public API (smartwire/vfs.h): the server object, the request's
 * life cycle, and the dispatcher, a table of verbs whose hooks are in the
 * verb files (vfs_verbs.h).  The verbs never call back into this file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "vfs_verbs.h"

/* Buffers of a freed request up to this size are kept for the next one. */
#define KEEP_MAX 4096

static int hello(sw_vfs_req *r, const sw_slice *a)
{
	(void)a;
	return sw__reply(r, SW_VFS_SUCCESS, 2, "ok", "2");
}

static int is_readonly(sw_vfs_req *r, const sw_slice *a)
{
	(void)a;
	return sw__reply(r, SW_VFS_SUCCESS, 1, r->vfs->cfg.allow_writes ? "no" : "yes");
}

/* Breezy's request classes: the verb, the class and the parameters of its
 * do() (for TypeError texts), whether it is a VFS verb (disabled by
 * BRZ_NO_SMART_VFS), and the hooks that serve it (vfs_verbs.h): body, end
 * and abort for verbs with a request body, read for a response body. */
struct sw__verb {
	const char *verb, *cls;
	int nparams;
	const char *params[4];
	bool vfs;
	int id;
	int (*begin)(sw_vfs_req *r, const sw_slice *a);
	int (*body)(sw_vfs_req *r, const uint8_t *p, size_t n);
	int (*end)(sw_vfs_req *r);
	void (*abort)(sw_vfs_req *r);
	ptrdiff_t (*read)(sw_vfs_req *r, uint8_t *buf, size_t cap);
	/* zero-copy: response body spans, request body sinks */
	int (*span)(sw_vfs_req *r, uint64_t cap, int *fd, uint64_t *off, uint64_t *len);
	void (*span_done)(sw_vfs_req *r, uint64_t n);
	int (*sink)(sw_vfs_req *r, uint64_t avail, int *fd);
	int (*sink_done)(sw_vfs_req *r, uint64_t n, int err);
};

/* clang-format off */
static const struct sw__verb verbs[] = {
	/* verb, class, parameters, VFS verb, id,
	 *     begin, body, end, abort, read,
	 *     span, span_done, sink, sink_done */
	{"hello", "HelloRequest", 0, {0}, false, V_HELLO,
	     hello, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"Transport.is_readonly", "SmartServerIsReadonly", 0, {0}, false, V_IS_READONLY,
	     is_readonly, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"get", "GetRequest", 1, {"relpath"}, true, V_GET,
	     sw__get_begin, NULL, NULL, NULL, sw__get_read,
	     sw__get_span, sw__get_span_done, NULL, NULL},
	{"has", "HasRequest", 1, {"relpath"}, true, V_HAS,
	     sw__has_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"stat", "StatRequest", 1, {"relpath"}, true, V_STAT,
	     sw__stat_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"list_dir", "ListDirRequest", 1, {"relpath"}, true, V_LIST_DIR,
	     sw__list_dir_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"iter_files_recursive", "IterFilesRecursiveRequest", 1, {"relpath"}, true, V_ITER,
	     sw__iter_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"readv", "ReadvRequest", 1, {"relpath"}, true, V_READV,
	     sw__readv_begin, sw__readv_body, sw__readv_end, NULL, sw__readv_read,
	     sw__readv_span, sw__readv_span_done, NULL, NULL},
	{"put", "PutRequest", 2, {"relpath", "mode"}, true, V_PUT,
	     sw__put_begin, sw__upload_body, sw__upload_end, sw__upload_abort, NULL,
	     NULL, NULL, sw__upload_sink, sw__upload_sink_done},
	{"put_non_atomic", "PutNonAtomicRequest", 4,
	 {"relpath", "mode", "create_parent", "dir_mode"}, true, V_PUT_NON_ATOMIC,
	     sw__put_begin, sw__upload_body, sw__upload_end, sw__upload_abort, NULL,
	     NULL, NULL, sw__upload_sink, sw__upload_sink_done},
	{"append", "AppendRequest", 2, {"relpath", "mode"}, true, V_APPEND,
	     sw__append_begin, sw__upload_body, sw__upload_end, sw__upload_abort, NULL,
	     NULL, NULL, sw__upload_sink, sw__upload_sink_done},
	{"delete", "DeleteRequest", 1, {"relpath"}, true, V_DELETE,
	     sw__one_path_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"mkdir", "MkdirRequest", 2, {"relpath", "mode"}, true, V_MKDIR,
	     sw__one_path_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"rmdir", "RmdirRequest", 1, {"relpath"}, true, V_RMDIR,
	     sw__one_path_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"rename", "RenameRequest", 2, {"rel_from", "rel_to"}, true, V_RENAME,
	     sw__two_paths_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
	{"move", "MoveRequest", 2, {"rel_from", "rel_to"}, true, V_MOVE,
	     sw__two_paths_begin, NULL, NULL, NULL, NULL,
	     NULL, NULL, NULL, NULL},
};
/* clang-format on */

int sw_vfs_new(sw_vfs **out, const char *root_dir, const sw_vfs_config *cfg, const sw_mem *mem)
{
	*out = NULL;
	if (!root_dir || !*root_dir)
		return SW_ERR_INVALID_ARGUMENT;
	sw_vfs *v = sw_malloc(mem, sizeof *v);
	if (!v)
		return SW_ERR_NOMEM;
	memset(v, 0, sizeof *v);
	v->mem = mem;
	if (cfg)
		v->cfg = *cfg;
	if (!v->cfg.max_body)
		v->cfg.max_body = SW_VFS_DEFAULT_MAX_BODY;
	if (!v->cfg.max_readv_text)
		v->cfg.max_readv_text = SW_VFS_DEFAULT_MAX_READV_TEXT;
	if (!v->cfg.max_readv_ranges)
		v->cfg.max_readv_ranges = SW_VFS_DEFAULT_MAX_READV_RANGES;
	if (!v->cfg.max_path_len)
		v->cfg.max_path_len = SW_VFS_DEFAULT_MAX_PATH_LEN;
	if (!v->cfg.max_names)
		v->cfg.max_names = SW_VFS_DEFAULT_MAX_NAMES;
	if (!v->cfg.max_depth)
		v->cfg.max_depth = SW_VFS_DEFAULT_MAX_DEPTH;
	size_t n = strlen(root_dir);
	while (n > 1 && root_dir[n - 1] == '/')
		n--;
	v->root = sw_malloc(mem, n + 1);
	if (!v->root) {
		sw_free(mem, v);
		return SW_ERR_NOMEM;
	}
	memcpy(v->root, root_dir, n);
	v->root[n] = 0;
	v->root_len = n;
	int rc = sw_jail_init_fs(&v->jail, v->cfg.fs, v->root, mem);
	if (rc) {
		int e = errno;
		sw_free(mem, v->root);
		sw_free(mem, v);
		errno = e;
		return rc;
	}
	atomic_init(&v->spare, NULL);
	*out = v;
	return 0;
}

static void req_destroy(sw_vfs_req *r);

void sw_vfs_del(sw_vfs *v)
{
	if (!v)
		return;
	req_destroy(atomic_exchange(&v->spare, NULL));
	sw_jail_fini(&v->jail);
	sw_free(v->mem, v->root);
	sw_free(v->mem, v);
}

/* ---- the request object ---- */

static int type_error(sw_vfs_req *r, const struct sw__verb *vb, size_t given)
{
	char t[400];
	size_t want = (size_t)vb->nparams;
	if (given < want) {
		size_t miss = want - given;
		int k = snprintf(t, sizeof t, "%s.do() missing %zu required positional argument%s: ",
		                 vb->cls, miss, miss == 1 ? "" : "s");
		for (size_t i = given; i < want; i++) {
			const char *sep = i == given ? "" : (miss == 2 ? " and " : (i + 1 == want ? ", and " : ", "));
			k += snprintf(t + k, sizeof t - (size_t)k, "%s'%s'", sep, vb->params[i]);
		}
	} else {
		snprintf(t, sizeof t, "%s.do() takes %zu positional argument%s but %zu were given",
		         vb->cls, want + 1, want == 0 ? "" : "s", given + 1);
	}
	return sw__fail_generic(r, "TypeError", (const uint8_t *)t, strlen(t));
}

static int dispatch(sw_vfs_req *r, const struct sw__verb *vb, const sw_slice *a, size_t na)
{
	if (vb->vfs && r->vfs->cfg.disable_vfs) {
		char t[200];
		snprintf(t, sizeof t, "The smart server method '%s' is disabled.", vb->cls);
		return sw__fail_generic(r, "breezy.bzr.smart.request.DisabledMethod",
		                        (const uint8_t *)t, strlen(t));
	}
	if (na != (size_t)vb->nparams)
		return type_error(r, vb, na);
	return vb->begin(r, a);
}

/* A request in its initial state: the spare one with its buffers emptied
 * (their memory kept), or a new one. */
static sw_vfs_req *req_new(sw_vfs *v)
{
	sw_vfs_req *r = atomic_exchange(&v->spare, NULL);
	if (r) {
		sw_buf rbuf = r->rbuf, text = r->text, wbuf = r->wbuf;
		sw_jail_path jp = r->jp;
		size_t *roff = r->roff, rcap = r->rcap, rargs_cap = r->rargs_cap;
		sw_slice *rargs = r->rargs;
		memset(r, 0, sizeof *r);
		r->rbuf = rbuf;
		r->text = text;
		r->wbuf = wbuf;
		r->jp = jp;
		r->roff = roff;
		r->rcap = rcap;
		r->rargs = rargs;
		r->rargs_cap = rargs_cap;
		sw_buf_reset(&r->rbuf);
		sw_buf_reset(&r->text);
		sw_buf_reset(&r->wbuf);
		sw_buf_reset(&r->jp.wire);
		sw_buf_reset(&r->jp.combined);
		sw_buf_reset(&r->jp.fs);
		sw_buf_reset(&r->jp.msg);
		r->jp.nonascii = r->jp.has_nul = false;
	} else {
		if (!(r = sw_malloc(v->mem, sizeof *r)))
			return NULL;
		memset(r, 0, sizeof *r);
		sw_buf_init(&r->rbuf, v->mem);
		sw_buf_init(&r->text, v->mem);
		sw_buf_init(&r->wbuf, v->mem);
		sw_jail_path_init(&r->jp, v->mem);
	}
	r->vfs = v;
	r->mem = v->mem;
	r->state = REQ_ANSWERED;
	r->dirfd = r->fd = r->pdirfd = -1;
	return r;
}

static const struct sw__verb *find_verb(const sw_slice *verb)
{
	size_t n = verb->n;
	for (size_t i = 0; n && i < sizeof verbs / sizeof verbs[0]; i++) {
		const char *name = verbs[i].verb;
		if (name[0] == (char)verb->p[0] && strnlen(name, n + 1) == n &&
		    memcmp(name, verb->p, n) == 0)
			return &verbs[i];
	}
	return NULL;
}

bool sw__vfs_knows(const sw_slice *verb)
{
	return find_verb(verb) != NULL;
}

int sw_vfs_begin(sw_vfs *v, const sw_slice *args, size_t nargs, sw_vfs_req **out)
{
	*out = NULL;
	if (nargs == 0)
		return SW_ERR_INVALID_ARGUMENT;
	const struct sw__verb *vb = find_verb(&args[0]);
	if (!vb)
		return SW_ERR_UNKNOWN_METHOD;
	sw_vfs_req *r = req_new(v);
	if (!r)
		return SW_ERR_NOMEM;
	r->verb = vb->id;
	r->ops = vb;
	int rc = dispatch(r, vb, args + 1, nargs - 1);
	if (rc) {
		sw_vfs_req_del(r);
		return rc;
	}
	*out = r;
	return r->state == REQ_BODY ? SW_VFS_NEEDS_BODY : SW_VFS_ANSWERED;
}

int sw_vfs_body(sw_vfs_req *r, const uint8_t *p, size_t n)
{
	if (r->state != REQ_BODY)
		return SW_ERR_STATE;
	return r->ops->body(r, p, n);
}

int sw_vfs_end(sw_vfs_req *r)
{
	if (r->state != REQ_BODY)
		return SW_ERR_STATE;
	int rc = r->ops->end(r);
	if (rc) {
		sw_vfs_abort(r);
		return rc;
	}
	r->state = REQ_ANSWERED;
	return 0;
}

void sw_vfs_abort(sw_vfs_req *r)
{
	if (r->state != REQ_BODY)
		return;
	if (r->ops->abort)
		r->ops->abort(r);
	r->state = REQ_ABORTED;
}

int sw_vfs_get_reply(const sw_vfs_req *rc, sw_vfs_reply *out)
{
	sw_vfs_req *r = (sw_vfs_req *)rc;
	if (r->state != REQ_ANSWERED)
		return SW_ERR_STATE;
	if (!r->rargs_ok && r->nr) {
		if (r->nr > r->rargs_cap) {
			sw_slice *a = sw_realloc(r->mem, r->rargs, r->nr * sizeof *a);
			if (!a)
				return SW_ERR_NOMEM;
			r->rargs = a;
			r->rargs_cap = r->nr;
		}
		for (size_t i = 0; i < r->nr; i++) {
			r->rargs[i].p = r->rbuf.data ? r->rbuf.data + r->roff[2 * i] : (const uint8_t *)"";
			r->rargs[i].n = r->roff[2 * i + 1];
		}
		r->rargs_ok = true;
	}
	out->status = r->status;
	out->args = r->rargs;
	out->nargs = r->nr;
	out->has_body = r->has_body;
	out->body_len = r->has_body ? r->body_len : 0;
	return 0;
}

ptrdiff_t sw_vfs_read_body(sw_vfs_req *r, uint8_t *buf, size_t cap)
{
	if (r->state != REQ_ANSWERED || !r->has_body || !r->ops->read)
		return SW_ERR_STATE;
	return r->ops->read(r, buf, cap);
}

int sw_vfs_body_span(sw_vfs_req *r, uint64_t cap, int *fd, uint64_t *off, uint64_t *len)
{
	if (r->state != REQ_ANSWERED || !r->has_body || !r->ops->span)
		return 0;
	return r->ops->span(r, cap, fd, off, len);
}

void sw_vfs_body_span_done(sw_vfs_req *r, uint64_t n)
{
	if (r->state == REQ_ANSWERED && r->has_body && r->ops->span_done)
		r->ops->span_done(r, n);
}

int sw_vfs_body_sink(sw_vfs_req *r, uint64_t avail, int *fd)
{
	if (r->state != REQ_BODY || !r->ops->sink)
		return 0;
	return r->ops->sink(r, avail, fd);
}

int sw_vfs_body_sink_done(sw_vfs_req *r, uint64_t n, int err)
{
	if (r->state != REQ_BODY || !r->ops->sink_done)
		return 0;
	return r->ops->sink_done(r, n, err);
}

void sw_vfs_req_del(sw_vfs_req *r)
{
	if (!r)
		return;
	sw_vfs_abort(r);
	if (r->fd >= 0)
		sw_fs_close_fd(SW__FS(r), r->fd);
	if (r->dirfd >= 0)
		sw_fs_close_fd(SW__FS(r), r->dirfd);
	if (r->pdirfd >= 0)
		sw_fs_close_fd(SW__FS(r), r->pdirfd);
	sw_free(r->mem, r->name);
	sw_free(r->mem, r->pname);
	sw_free(r->mem, r->ranges);
	r->name = r->pname = NULL;
	r->ranges = NULL;
	/* Kept for the next request unless it holds big buffers (a long
	 * listing, a readv text, a put's write buffer). */
	if (r->rbuf.cap <= KEEP_MAX && r->text.cap <= KEEP_MAX && r->wbuf.cap <= KEEP_MAX &&
	    r->rcap <= 64 && r->rargs_cap <= 64 && r->jp.wire.cap <= 2 * KEEP_MAX &&
	    r->jp.combined.cap <= 2 * KEEP_MAX && r->jp.fs.cap <= 2 * KEEP_MAX &&
	    r->jp.msg.cap <= 2 * KEEP_MAX) {
		req_destroy(atomic_exchange(&r->vfs->spare, r));
		return;
	}
	req_destroy(r);
}

static void req_destroy(sw_vfs_req *r)
{
	if (!r)
		return;
	sw_free(r->mem, r->roff);
	sw_free(r->mem, r->rargs);
	sw_buf_fini(&r->rbuf);
	sw_buf_fini(&r->text);
	sw_buf_fini(&r->wbuf);
	sw_jail_path_fini(&r->jp);
	sw_free(r->mem, r);
}
