/* The VFS request object: dispatch, argument checks, reply building and the
 * error translation shared by every verb.  See smartwire/vfs.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smartwire/error.h"
#include "smartwire/hex.h"
#include "smartwire/pytext.h"
#include "vfs_internal.h"

/* Buffers of a freed request up to this size are kept for the next one. */
#define KEEP_MAX 4096

/* Breezy's request classes: name, parameters of do(), whether a VFS verb
 * (disabled by BRZ_NO_SMART_VFS). */
static const struct verb {
	const char *verb, *cls;
	int nparams;
	const char *params[4];
	bool vfs;
	int id;
} verbs[] = {
	{"hello", "HelloRequest", 0, {0}, false, V_HELLO},
	{"Transport.is_readonly", "SmartServerIsReadonly", 0, {0}, false, V_IS_READONLY},
	{"get", "GetRequest", 1, {"relpath"}, true, V_GET},
	{"has", "HasRequest", 1, {"relpath"}, true, V_HAS},
	{"stat", "StatRequest", 1, {"relpath"}, true, V_STAT},
	{"list_dir", "ListDirRequest", 1, {"relpath"}, true, V_LIST_DIR},
	{"iter_files_recursive", "IterFilesRecursiveRequest", 1, {"relpath"}, true, V_ITER},
	{"readv", "ReadvRequest", 1, {"relpath"}, true, V_READV},
	{"put", "PutRequest", 2, {"relpath", "mode"}, true, V_PUT},
	{"put_non_atomic", "PutNonAtomicRequest", 4,
	 {"relpath", "mode", "create_parent", "dir_mode"}, true, V_PUT_NON_ATOMIC},
	{"append", "AppendRequest", 2, {"relpath", "mode"}, true, V_APPEND},
	{"delete", "DeleteRequest", 1, {"relpath"}, true, V_DELETE},
	{"mkdir", "MkdirRequest", 2, {"relpath", "mode"}, true, V_MKDIR},
	{"rmdir", "RmdirRequest", 1, {"relpath"}, true, V_RMDIR},
	{"rename", "RenameRequest", 2, {"rel_from", "rel_to"}, true, V_RENAME},
	{"move", "MoveRequest", 2, {"rel_from", "rel_to"}, true, V_MOVE},
};

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
	int rc = sw_jail_init(&v->jail, v->root, mem);
	if (rc) {
		int e = errno;
		sw_free(mem, v->root);
		sw_free(mem, v);
		errno = e;
		return rc;
	}
	atomic_init(&v->tmp_seq, (uint64_t)getpid() << 32);
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

/* ---- reply building ---- */

int sw__reply_add(sw_vfs_req *r, const void *p, size_t n)
{
	if (r->nr == r->rcap) {
		size_t ncap = r->rcap ? r->rcap * 2 : 8;
		size_t *no = sw_realloc(r->mem, r->roff, ncap * 2 * sizeof *no);
		if (!no)
			return SW_ERR_NOMEM;
		r->roff = no;
		r->rcap = ncap;
	}
	size_t off = r->rbuf.len;
	r->rargs_ok = false;
	int rc = sw_buf_append(&r->rbuf, p, n);
	if (rc)
		return rc;
	r->roff[2 * r->nr] = off;
	r->roff[2 * r->nr + 1] = n;
	r->nr++;
	return 0;
}

int sw__reply(sw_vfs_req *r, sw_vfs_status status, int n, ...)
{
	sw_buf_reset(&r->rbuf);
	r->nr = 0;
	r->rargs_ok = false;
	r->status = status;
	r->replied = true;
	r->has_body = false;
	va_list ap;
	va_start(ap, n);
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		const char *s = va_arg(ap, const char *);
		rc = sw__reply_add(r, s, strlen(s));
	}
	va_end(ap);
	return rc;
}

int sw__fail_generic(sw_vfs_req *r, const char *cls, const uint8_t *msg, size_t n)
{
	int rc = sw__reply(r, SW_VFS_FAILED, 2, "error", cls);
	return rc ? rc : sw__reply_add(r, msg, n);
}

int sw__fail_limit(sw_vfs_req *r, const char *what, uint64_t lim)
{
	char t[200];
	int k = snprintf(t, sizeof t, "%s exceeds the limit of %llu", what, (unsigned long long)lim);
	return sw__fail_generic(r, "smartwire.LimitExceeded", (const uint8_t *)t, (size_t)k);
}

int sw__abs(const sw_vfs *v, const uint8_t *fs, size_t n, sw_buf *out)
{
	int rc = sw_buf_append(out, v->root, v->root_len);
	if (rc == 0 && n > 0 && !(v->root_len == 1 && v->root[0] == '/'))
		rc = sw_buf_append_byte(out, '/');
	return rc ? rc : sw_buf_append(out, fs, n);
}

/* str(OSError): "[Errno n] strerror: 'f1'" (+ " -> 'f2'"). */
static int oserror_text(sw_buf *t, int e, const sw_buf *f1, const sw_buf *f2)
{
	char h[160];
	snprintf(h, sizeof h, "[Errno %d] %s", e, strerror(e));
	int rc = sw_buf_append_str(t, h);
	if (rc == 0 && f1) {
		rc = sw_buf_append_str(t, ": ");
		if (rc == 0)
			rc = sw_py_repr_str(t, f1->data, f1->len);
	}
	if (rc == 0 && f2) {
		rc = sw_buf_append_str(t, " -> ");
		if (rc == 0)
			rc = sw_py_repr_str(t, f2->data, f2->len);
	}
	return rc;
}

int sw__fail_errno(sw_vfs_req *r, int e, const sw_buf *report, const sw_buf *f1,
                   const sw_buf *f2)
{
	sw_buf t;
	sw_buf_init(&t, r->mem);
	int rc;
	if (e == ENOENT || e == ENOTDIR || e == EINVAL) {
		rc = sw__reply(r, SW_VFS_FAILED, 1, "NoSuchFile");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
	} else if (e == EEXIST) {
		rc = sw__reply(r, SW_VFS_FAILED, 1, "FileExists");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
	} else if (e == ENOTEMPTY) {
		rc = sw__reply(r, SW_VFS_FAILED, 1, "DirectoryNotEmpty");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
	} else if (e == EACCES) {
		rc = sw_buf_append_str(&t, ": ");
		if (rc == 0)
			rc = oserror_text(&t, e, f1, f2);
		if (rc == 0)
			rc = sw__reply(r, SW_VFS_FAILED, 1, "PermissionDenied");
		if (rc == 0)
			rc = sw__reply_add(r, report->data, report->len);
		if (rc == 0)
			rc = sw__reply_add(r, t.data, t.len);
	} else if (e == EBUSY) {
		/* errors.ResourceBusy: 'Device or resource busy: "%(path)s"%(extra)s' */
		rc = sw_buf_append_str(&t, "Device or resource busy: \"");
		if (rc == 0)
			rc = sw_buf_append(&t, report->data, report->len);
		if (rc == 0)
			rc = sw_buf_append_str(&t, "\": ");
		if (rc == 0)
			rc = oserror_text(&t, e, f1, f2);
		if (rc == 0)
			rc = sw__fail_generic(r, "ResourceBusy", t.data, t.len);
	} else {
		/* errors.TransportError(orig_error=e): "Transport error: %s %s" */
		sw_buf o;
		sw_buf_init(&o, r->mem);
		rc = oserror_text(&o, e, f1, f2);
		if (rc == 0)
			rc = sw_buf_append_str(&t, "Transport error: ");
		if (rc == 0)
			rc = sw_buf_append(&t, o.data, o.len);
		if (rc == 0)
			rc = sw_buf_append_byte(&t, ' ');
		if (rc == 0)
			rc = sw_buf_append(&t, o.data, o.len);
		sw_buf_fini(&o);
		if (rc == 0)
			rc = sw__fail_generic(r, "TransportError", t.data, t.len);
	}
	sw_buf_fini(&t);
	return rc;
}

int sw__fail_errno_abs(sw_vfs_req *r, int e, const sw_jail_path *jp)
{
	sw_buf a;
	sw_buf_init(&a, r->mem);
	int rc = sw__abs(r->vfs, jp->fs.data, jp->fs.len, &a);
	if (rc == 0)
		rc = sw__fail_errno(r, e, &a, &a, NULL);
	sw_buf_fini(&a);
	return rc;
}

int sw__fail_oserror(sw_vfs_req *r, int e, const char *suffix)
{
	sw_buf t;
	sw_buf_init(&t, r->mem);
	int rc = oserror_text(&t, e, NULL, NULL);
	if (rc == 0 && suffix)
		rc = sw_buf_append_str(&t, suffix);
	if (rc == 0)
		rc = sw__fail_generic(r, sw_py_oserror_class(e), t.data, t.len);
	sw_buf_fini(&t);
	return rc;
}

int sw__translate(sw_vfs_req *r, const sw_slice *p, bool slash, sw_jail_path *jp)
{
	if (p->n > r->vfs->cfg.max_path_len) {
		int rc = sw__fail_limit(r, "path length", r->vfs->cfg.max_path_len);
		return rc ? rc : 1;
	}
	int rc = sw_jail_translate(p->p, p->n, slash, jp);
	if (rc < 0)
		return rc;
	if (rc == SW_JAIL_ABOVE_ROOT) {
		rc = sw__fail_generic(r, "breezy.urlutils.InvalidURLJoin", jp->msg.data, jp->msg.len);
		return rc ? rc : 1;
	}
	if (rc == SW_JAIL_BAD_UTF8) {
		rc = sw__reply(r, SW_VFS_PROTOCOL_ERROR, 1, "'bytes' object has no attribute 'encode'");
		return rc ? rc : 1;
	}
	return 0;
}

int sw__touch(sw_vfs_req *r, const sw_jail_path *jp)
{
	int rc;
	if (jp->nonascii) {
		sw_buf t;
		sw_buf_init(&t, r->mem);
		rc = sw_jail_invalid_url(jp, &t);
		if (rc == 0)
			rc = sw__reply(r, SW_VFS_FAILED, 1, "InvalidURL");
		if (rc == 0)
			rc = sw__reply_add(r, jp->combined.data, jp->combined.len);
		if (rc == 0)
			rc = sw__reply_add(r, t.data, t.len);
		sw_buf_fini(&t);
		return rc ? rc : 1;
	}
	if (jp->has_nul) {
		rc = sw__reply(r, SW_VFS_FAILED, 3, "error", "ValueError", "embedded null byte");
		return rc ? rc : 1;
	}
	return 0;
}

int sw__mode(sw_vfs_req *r, const sw_slice *s, int64_t *mode, bool *has)
{
	*has = false;
	if (s->n == 0)
		return 0;
	int64_t v = 0;
	int k = sw_py_int64(s->p, s->n, &v);
	if (k == 1) {
		sw_buf t;
		sw_buf_init(&t, r->mem);
		int rc = sw_buf_append_str(&t, "invalid literal for int() with base 10: ");
		if (rc == 0)
			rc = sw_py_repr_bytes(&t, s->p, s->n);
		if (rc == 0)
			rc = sw__fail_generic(r, "ValueError", t.data, t.len);
		sw_buf_fini(&t);
		return rc ? rc : 1;
	}
	if (k == 2 || v < 0 || v > 07777) {
		int rc = sw__fail_limit(r, "mode", 07777);
		return rc ? rc : 1;
	}
	*mode = v;
	*has = true;
	return 0;
}

int sw__resolve(sw_vfs_req *r, const sw_jail_path *jp, unsigned flags, sw_jail_res *res)
{
	int e = 0;
	int rc = sw_jail_resolve(&r->vfs->jail, jp->fs.data, jp->fs.len, flags, res, &e);
	if (rc == SW_ERR_IO) {
		rc = sw__fail_errno_abs(r, e, jp);
		return rc ? rc : 1;
	}
	return rc;
}

int sw__escape(sw_buf *out, const uint8_t *p, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t c = p[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '.' || c == '-' || c == '~' || c == '/') {
			rc = sw_buf_append_byte(out, c);
		} else {
			char t[3] = {'%', sw_hex_upper(c >> 4u), sw_hex_upper(c)};
			rc = sw_buf_append(out, t, 3);
		}
	}
	return rc;
}

/* ---- the request object ---- */

static int type_error(sw_vfs_req *r, const struct verb *vb, size_t given)
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

static int dispatch(sw_vfs_req *r, const struct verb *vb, const sw_slice *a, size_t na)
{
	if (vb->vfs && r->vfs->cfg.disable_vfs) {
		char t[200];
		snprintf(t, sizeof t, "The smart server method '%s' is disabled.", vb->cls);
		return sw__fail_generic(r, "breezy.bzr.smart.request.DisabledMethod",
		                        (const uint8_t *)t, strlen(t));
	}
	if (na != (size_t)vb->nparams)
		return type_error(r, vb, na);
	switch (vb->id) {
	case V_HELLO: return sw__reply(r, SW_VFS_SUCCESS, 2, "ok", "2");
	case V_IS_READONLY:
		return sw__reply(r, SW_VFS_SUCCESS, 1, r->vfs->cfg.allow_writes ? "no" : "yes");
	case V_GET: return sw__do_get(r, a);
	case V_HAS: return sw__do_has(r, a);
	case V_STAT: return sw__do_stat(r, a);
	case V_LIST_DIR: return sw__do_list_dir(r, a);
	case V_ITER: return sw__do_iter(r, a);
	case V_READV: return sw__do_readv(r, a);
	case V_PUT:
	case V_PUT_NON_ATOMIC: return sw__do_put(r, a);
	case V_APPEND: return sw__do_append(r, a);
	default: return sw__do_simple_write(r, a);
	}
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

int sw_vfs_begin(sw_vfs *v, const sw_slice *args, size_t nargs, sw_vfs_req **out)
{
	*out = NULL;
	if (nargs == 0)
		return SW_ERR_INVALID_ARGUMENT;
	const struct verb *vb = NULL;
	size_t n = args[0].n;
	for (size_t i = 0; n && i < sizeof verbs / sizeof verbs[0]; i++) {
		const char *name = verbs[i].verb;
		if (name[0] == (char)args[0].p[0] && strnlen(name, n + 1) == n &&
		    memcmp(name, args[0].p, n) == 0) {
			vb = &verbs[i];
			break;
		}
	}
	if (!vb)
		return SW_ERR_UNKNOWN_METHOD;
	sw_vfs_req *r = req_new(v);
	if (!r)
		return SW_ERR_NOMEM;
	r->verb = vb->id;
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
	if (r->verb == V_READV) {
		if (r->replied)
			return 0; /* over the limit: discard */
		if (r->text.len + n > r->vfs->cfg.max_readv_text)
			return sw__fail_limit(r, "readv offsets text", r->vfs->cfg.max_readv_text);
		return sw_buf_append(&r->text, p, n);
	}
	return sw__write_body(r, p, n);
}

int sw_vfs_end(sw_vfs_req *r)
{
	if (r->state != REQ_BODY)
		return SW_ERR_STATE;
	int rc = r->verb == V_READV ? (r->replied ? 0 : sw__readv_end(r)) : sw__write_end(r);
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
	if (r->verb != V_READV)
		sw__write_abort(r);
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
	if (r->state != REQ_ANSWERED || !r->has_body)
		return SW_ERR_STATE;
	return sw__read_body(r, buf, cap);
}

void sw_vfs_req_del(sw_vfs_req *r)
{
	if (!r)
		return;
	sw_vfs_abort(r);
	if (r->fd >= 0)
		close(r->fd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	if (r->pdirfd >= 0)
		close(r->pdirfd);
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
