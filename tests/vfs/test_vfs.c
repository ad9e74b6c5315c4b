/* Tests for the VFS verbs (smartwire/vfs.h), each run twice: on the disk
 * and on the in-memory file system (smartwire/fs.h), which must answer the
 * same bytes and leave the same trees.
 *
 * 1. Differential: every request of tests/vectors/vfs_vectors.inc (recorded
 *    from Breezy's own request handler by gen_vfs.py) is replayed against a
 *    fresh copy of the same fixture; the reply, the response body and the
 *    final tree must match byte for byte (after the normalisations gen_vfs.py
 *    documents).  Bodies are fed whole and one byte at a time.
 * 2. Hostile paths: every line of tests/data/hostile_paths.txt goes to every
 *    path-taking verb with writes allowed; a sentinel directory next to the
 *    root must be untouched and never leak into a reply.
 * 3. Streaming, abort, hidden temporary files, limits, failing allocations.
 */
#define _GNU_SOURCE 1
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/format.h"
#include "smartwire/jail.h"
#include "smartwire/vfs.h"
#include "smartwire/failmem.h"
#include "fs_tree.h"
#include "support/fsfix.h"
#include "support/harness.h"
#include "support/hostile_paths.h"

struct fx {
	char kind;
	const char *path, *data;
	size_t len;
	unsigned mode;
};
static const struct fx fixture[] = {
#define SW_VFS_FIXTURE
#include "vectors/vfs_vectors.inc"
#undef SW_VFS_FIXTURE
};
struct arg {
	const char *p;
	size_t n;
};
struct step {
	const char *name;
	size_t nargs;
	struct arg args[6];
	const char *body;
	size_t body_len;
	int has_body, kind;
	const char *reply, *rbody;
	size_t rbody_len;
	int sort;
};
static const struct step steps[] = {
#define SW_VFS_STEPS
#include "vectors/vfs_vectors.inc"
#undef SW_VFS_STEPS
};
struct vcase {
	const char *name;
	int rw, first, n;
	const char *tree;
};
static const struct vcase cases[] = {
#define SW_VFS_CASES
#include "vectors/vfs_vectors.inc"
#undef SW_VFS_CASES
};

/* ---- the file system under test ---- */

/* true: the tests run on a memfs (the *_mem entries of main). */
static bool on_mem;
/* The current test's world (fs_tree.h): its file system and base. */
static fst_world world;

#define FS (world.fs)

static void build_fixture(const char *root)
{
	fst_dir(FS, root, 0755);
	for (size_t i = 0; i < sizeof fixture / sizeof fixture[0]; i++) {
		const struct fx *f = &fixture[i];
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", root, f->path);
		if (f->kind == 'f')
			fst_file(FS, p, f->data, f->len, f->mode);
		else if (f->kind == 'd')
			fst_dir(FS, p, f->mode);
		else
			fst_link(FS, f->data, p);
	}
}

typedef struct line {
	char *p;
	size_t n;
} line;

static int cmp_line(const void *a, const void *b)
{
	const line *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void dump_into(const char *root, const char *rel, line **lines, size_t *n)
{
	char dirp[4096 + 2048];
	snprintf(dirp, sizeof dirp, "%s%s%s", root, *rel ? "/" : "", rel);
	fst_names names = fst_list_raw(FS, dirp);
	for (size_t i = 0; i < names.n; i++) {
		char r2[2048], p[4096 + 16];
		snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", names.v[i]);
		snprintf(p, sizeof p, "%s/%s", root, r2);
		struct stat st;
		assert_int_equal(sw_fs_fstatat(FS, AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW), 0);
		sw_buf b;
		sw_buf_init(&b, NULL);
		assert_int_equal(sw_buf_append_str(&b, r2), 0);
		char t[64];
		if (S_ISLNK(st.st_mode)) {
			char tg[4096];
			ssize_t k = sw_fs_readlinkat(FS, AT_FDCWD, p, tg, sizeof tg);
			assert_true(k >= 0);
			sw_buf_append_str(&b, " l ");
			sw_buf_append(&b, tg, (size_t)k);
		} else if (S_ISDIR(st.st_mode)) {
			snprintf(t, sizeof t, " d %o", (unsigned)(st.st_mode & 07777));
			sw_buf_append_str(&b, t);
			dump_into(root, r2, lines, n);
		} else {
			snprintf(t, sizeof t, " f %o ", (unsigned)(st.st_mode & 07777));
			sw_buf_append_str(&b, t);
			int fd = sw_fs_openat(FS, AT_FDCWD, p, O_RDONLY, 0);
			char c[4096];
			ssize_t k;
			off_t at = 0;
			while (fd >= 0 && (k = sw_fs_pread(FS, fd, c, sizeof c, at)) > 0) {
				sw_buf_append(&b, c, (size_t)k);
				at += k;
			}
			if (fd >= 0)
				sw_fs_close_fd(FS, fd);
		}
		*lines = realloc(*lines, (*n + 1) * sizeof **lines);
		(*lines)[*n].p = (char *)b.data;
		(*lines)[*n].n = b.len;
		(*n)++;
	}
	fst_names_free(&names);
}

/* The tree as gen_vfs.py's dump_tree writes it; malloc'd, NUL-terminated. */
static char *dump_tree(const char *root)
{
	line *lines = NULL;
	size_t n = 0;
	dump_into(root, "", &lines, &n);
	qsort(lines, n, sizeof *lines, cmp_line);
	sw_buf b;
	sw_buf_init(&b, NULL);
	for (size_t i = 0; i < n; i++) {
		sw_buf_append(&b, lines[i].p, lines[i].n);
		sw_buf_append_byte(&b, '\n');
		free(lines[i].p);
	}
	free(lines);
	if (n == 0)
		sw_buf_append_byte(&b, '\n');
	sw_buf_append_byte(&b, 0);
	return (char *)b.data;
}

/* Replaces every occurrence of `from` in the NUL-terminated `s`. */
static char *replace_all(char *s, const char *from, const char *to)
{
	sw_buf b;
	sw_buf_init(&b, NULL);
	size_t fl = strlen(from);
	for (char *p = s; *p;) {
		if (fl && strncmp(p, from, fl) == 0) {
			sw_buf_append_str(&b, to);
			p += fl;
		} else {
			sw_buf_append_byte(&b, (uint8_t)*p++);
		}
	}
	sw_buf_append_byte(&b, 0);
	free(s);
	return (char *)b.data;
}

/* Masks '<...>.~sw-put.<hex>' like gen_vfs.py masks Breezy's '...tmp'. */
static char *mask_temp(char *s)
{
	size_t from = 0;
	char *p;
	while ((p = strstr(s + from, SW_JAIL_TEMP_PREFIX)) != NULL) {
		char *a = p, *e = p;
		while (a > s && a[-1] != '\'' && a[-1] != '"')
			a--;
		while (*e && *e != '\'' && *e != '"')
			e++;
		if (a == s || a[-1] != '\'' || *e != '\'') {
			from = (size_t)(p - s) + 1;
			continue;
		}
		sw_buf b;
		sw_buf_init(&b, NULL);
		sw_buf_append(&b, s, (size_t)(a - s));
		sw_buf_append_str(&b, "@TMP@");
		from = b.len;
		sw_buf_append_str(&b, e);
		sw_buf_append_byte(&b, 0);
		free(s);
		s = (char *)b.data;
	}
	return s;
}

static int cmp_slice(const void *a, const void *b)
{
	const sw_slice *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* The normalised trace of a reply, as gen_vfs.py writes it. */
static char *fmt_reply(const sw_vfs_reply *rep, const char *root)
{
	sw_slice a[4096];
	size_t n = rep->nargs < 4096 ? rep->nargs : 4096;
	memcpy(a, rep->args, n * sizeof *a);
	if (rep->status == SW_VFS_SUCCESS && n == 3 && a[0].n == 4 && !memcmp(a[0].p, "stat", 4) &&
	    a[2].n > 4 && !memcmp(a[2].p, "0o40", 4)) {
		a[1].p = (const uint8_t *)"@DIRSIZE@";
		a[1].n = 9;
	}
	if (rep->status == SW_VFS_SUCCESS && n > 1 && a[0].n == 5 && !memcmp(a[0].p, "names", 5))
		qsort(a + 1, n - 1, sizeof *a, cmp_slice);
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_format_tuple(&b, a, n), 0);
	sw_buf_append_byte(&b, 0);
	return mask_temp(replace_all((char *)b.data, root, "@ROOT@"));
}

/* Runs one request.  `chunk` = 0 feeds the body whole, else in pieces of
 * that size.  Returns the sw_err of the first failing call (0 if none); on
 * success *trace and *body receive the normalised reply and response body. */
static int run_request(sw_vfs *v, const sw_slice *args, size_t nargs, const uint8_t *body,
                       size_t blen, bool has_body, size_t chunk, const char *root,
                       char **trace, sw_buf *rbody, int *status)
{
	sw_vfs_req *r = NULL;
	int rc = sw_vfs_begin(v, args, nargs, &r);
	if (rc < 0)
		return rc;
	if (rc == SW_VFS_NEEDS_BODY) {
		for (size_t off = 0; has_body && off < blen;) {
			size_t k = chunk && blen - off > chunk ? chunk : blen - off;
			int b = sw_vfs_body(r, body + off, k);
			if (b) {
				sw_vfs_req_del(r);
				return b;
			}
			off += k;
		}
		int e = sw_vfs_end(r);
		if (e) {
			sw_vfs_req_del(r);
			return e;
		}
	} else {
		assert_int_equal(sw_vfs_body(r, (const uint8_t *)"x", 1), SW_ERR_STATE);
	}
	sw_vfs_reply rep;
	rc = sw_vfs_get_reply(r, &rep);
	if (rc) {
		sw_vfs_req_del(r);
		return rc;
	}
	*status = (int)rep.status;
	*trace = fmt_reply(&rep, root);
	if (rep.has_body) {
		uint8_t buf[7];
		ptrdiff_t k;
		uint64_t got = 0;
		while ((k = sw_vfs_read_body(r, buf, sizeof buf)) > 0) {
			sw_buf_append(rbody, buf, (size_t)k);
			got += (uint64_t)k;
		}
		assert_int_equal(k, 0);
		assert_int_equal(got, rep.body_len);
	} else {
		uint8_t buf[4];
		assert_int_equal(sw_vfs_read_body(r, buf, sizeof buf), SW_ERR_STATE);
	}
	sw_vfs_req_del(r);
	return 0;
}

/* Opens the test's world (the disk or a memfs) and returns its base
 * (malloc'd); drop_base closes it. */
static char *make_base(void)
{
	fst_open(&world, on_mem, "sw_vfs", NULL);
	char *b = strdup(world.base);
	assert_non_null(b);
	return b;
}

static void drop_base(char *base)
{
	fst_close(&world);
	free(base);
}

/* Replays case `c`.  With `mem` (failing allocator) only robustness is
 * checked: NOMEM or the right answer, no leak, no temporary file left. */
static void replay_case(const struct vcase *c, size_t chunk, const sw_mem *mem, bool *nomem)
{
	char *base = make_base();
	char root[4096];
	snprintf(root, sizeof root, "%s/root", base);
	build_fixture(root);
	sw_vfs_config cfg = {0};
	cfg.allow_writes = c->rw;
	cfg.fs = FS;
	sw_vfs *v = NULL;
	int rc = sw_vfs_new(&v, root, &cfg, mem);
	if (rc == SW_ERR_NOMEM && mem) {
		*nomem = true;
		drop_base(base);
		return;
	}
	assert_int_equal(rc, 0);
	for (int i = c->first; i < c->first + c->n; i++) {
		const struct step *s = &steps[i];
		sw_slice a[6];
		for (size_t k = 0; k < s->nargs; k++) {
			a[k].p = (const uint8_t *)s->args[k].p;
			a[k].n = s->args[k].n;
		}
		char *trace = NULL;
		sw_buf body;
		sw_buf_init(&body, NULL);
		int status = -1;
		rc = run_request(v, a, s->nargs, (const uint8_t *)s->body, s->body_len, s->has_body,
		                 chunk, root, &trace, &body, &status);
		if (mem && rc == SW_ERR_NOMEM) {
			*nomem = true;
			sw_buf_fini(&body);
			continue;
		}
		if (rc != 0)
			fail_msg("%s step %d: %s", c->name, i - c->first, sw_errname(rc));
		if (mem && *nomem) {
			/* an earlier step failed: the tree differs from Breezy's */
			free(trace);
			sw_buf_fini(&body);
			continue;
		}
		if (status != s->kind || strcmp(trace, s->reply) != 0)
			fail_msg("%s step %d:\n  want %d %s\n  got  %d %s", c->name, i - c->first, s->kind,
			         s->reply, status, trace);
		if (body.len != s->rbody_len || (body.len && memcmp(body.data, s->rbody, body.len)))
			fail_msg("%s step %d: response body differs (%zu vs %zu bytes)", c->name,
			         i - c->first, body.len, s->rbody_len);
		free(trace);
		sw_buf_fini(&body);
	}
	sw_vfs_del(v);
	char *tree = replace_all(dump_tree(root), root, "@ROOT@");
	if (!mem && c->tree && strcmp(tree, c->tree) != 0)
		fail_msg("%s: tree after the case differs:\n--- want\n%s--- got\n%s", c->name, c->tree,
		         tree);
	if (mem)
		assert_null(strstr(tree, SW_JAIL_TEMP_PREFIX));
	free(tree);
	drop_base(base);
}

static void test_differential_whole(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		replay_case(&cases[i], 0, NULL, NULL);
}

static void test_differential_bytewise(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		replay_case(&cases[i], 1, NULL, NULL);
}

static void test_failmem(void **state)
{
	(void)state;
	bool vg = getenv("SW_UNDER_VALGRIND") != NULL;
	size_t sites = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i += vg ? 7 : 1) {
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		bool nomem = false;
		replay_case(&cases[i], 0, &fm.mem, &nomem);
		assert_int_equal(fm.live, 0);
		size_t calls = fm.calls;
		for (size_t n = 1; n <= calls; n++) {
			for (int pers = 0; pers < 2; pers++) {
				sw_failmem_init(&fm, n, pers);
				nomem = false;
				replay_case(&cases[i], 0, &fm.mem, &nomem);
				if (fm.live != 0)
					fail_msg("%s: leak with allocation %zu failing", cases[i].name, n);
				sites++;
			}
		}
	}
	assert_true(sites > 100);
}


/* ---- hostile paths ---- */

#define SECRET "SENTINEL-SECRET-CONTENT"

static void build_hostile(const char *base, const char *root, const char *out)
{
	char p[8192];
	build_fixture(root);
	fst_dir(FS, out, 0755);
	snprintf(p, sizeof p, "%s/sentinel-secret.txt", out);
	char secret[20 * sizeof SECRET];
	for (int i = 0; i < 20; i++)
		memcpy(secret + i * sizeof SECRET, SECRET "\n", sizeof SECRET);
	fst_file(FS, p, secret, sizeof secret, 0644);
	snprintf(p, sizeof p, "%s/sentinel-sub", out);
	fst_dir(FS, p, 0755);
	snprintf(p, sizeof p, "%s/sentinel-sub/sentinel-inner.txt", out);
	fst_file(FS, p, SECRET, sizeof SECRET - 1, 0644);
	static const char *links[][2] = {
		{"etc", "/etc"}, {"outfile", "../outside/sentinel-secret.txt"},
		{"outdir", "../outside"}, {"dir/esc", "../../outside"}, {"dotdotlink", ".."},
		{"rootlink", "/"}, {"loop1", "loop2"}, {"loop2", "loop1"}, {"selfloop", "selfloop"},
	};
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", root, links[i][0]);
		fst_link(FS, links[i][1], p);
	}
	snprintf(p, sizeof p, "%s/absout", root);
	fst_link(FS, out, p);
	char t[8192];
	snprintf(t, sizeof t, "%s/dir", root);
	snprintf(p, sizeof p, "%s/absin", root);
	fst_link(FS, t, p);
	(void)base;
}

static bool contains(const void *hay, size_t n, const char *needle)
{
	return hay && memmem(hay, n, needle, strlen(needle)) != NULL;
}

static void check_no_leak(const char *path, size_t plen, const char *trace, const sw_buf *body)
{
	static const char *forbidden[] = {SECRET, "sentinel-inner", "sentinel-sub",
	                                  "sentinel-secret", "root:x:0:0"};
	for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
		if (contains(path, plen, forbidden[i]))
			continue; /* the client's own path may be echoed in an error */
		if (strstr(trace, forbidden[i]) || contains(body->data, body->len, forbidden[i]))
			fail_msg("reply to %.*s leaks %s: %s", (int)plen, path, forbidden[i], trace);
	}
	if (strstr(trace, "\"480\"")) /* the sentinel file's size */
		fail_msg("reply to %.*s leaks the sentinel size: %s", (int)plen, path, trace);
}

/* The disk's and the memfs's answers and trees, for test_hostile_paths_agree. */
static sw_buf hostile_log[2];

static void test_hostile_paths(void **state)
{
	(void)state;
	size_t len;
	char *text = (char *)sw_t_read_file("tests/data/hostile_paths.txt", &len);
	char *base = make_base(), root[4096], out[4096];
	snprintf(root, sizeof root, "%s/root", base);
	snprintf(out, sizeof out, "%s/outside", base);
	size_t npaths = 0, nreq = 0;
	build_hostile(base, root, out);
	char *sentinel = dump_tree(out);
	for (size_t s = 0; s < len;) {
		size_t e = s;
		while (e < len && text[e] != '\n')
			e++;
		const char *l = text + s;
		size_t ll = e - s;
		s = e + 1;
		if (ll == 0 || l[0] == '#')
			continue;
		char path[16384];
		size_t plen = sw_t_hostile_decode(l, ll, path, out, root);
		npaths++;
		static const struct {
			const char *verb;
			int shape; /* 0: (P) 1: (P, '') 2: (P, '') + body 3: pna 4: (P, X) 5: (X, P) 6: readv */
		} reqs[] = {
			{"get", 0}, {"has", 0}, {"stat", 0}, {"list_dir", 0}, {"iter_files_recursive", 0},
			{"readv", 6}, {"put", 2}, {"put_non_atomic", 3}, {"append", 2}, {"delete", 0},
			{"mkdir", 1}, {"rmdir", 0}, {"rename", 4}, {"rename", 5}, {"move", 4}, {"move", 5},
		};
		for (size_t q = 0; q < sizeof reqs / sizeof reqs[0]; q++) {
			fst_rm_rf(FS, root);
			fst_rm_rf(FS, out);
			build_hostile(base, root, out);
			sw_vfs_config cfg = {0};
			cfg.allow_writes = true;
			cfg.fs = FS;
			sw_vfs *v;
			assert_int_equal(sw_vfs_new(&v, root, &cfg, NULL), 0);
			sw_slice a[5];
			size_t na = 0;
			const sw_slice P = {(const uint8_t *)path, plen};
			const sw_slice E = {(const uint8_t *)"", 0};
			a[na++] = (sw_slice){(const uint8_t *)reqs[q].verb, strlen(reqs[q].verb)};
			int shape = reqs[q].shape;
			if (shape == 5)
				a[na++] = (sw_slice){(const uint8_t *)"/testfile", 9};
			a[na++] = P;
			if (shape == 1 || shape == 2 || shape == 3)
				a[na++] = E;
			if (shape == 3) {
				a[na++] = (sw_slice){(const uint8_t *)"T", 1};
				a[na++] = E;
			}
			if (shape == 4)
				a[na++] = (sw_slice){(const uint8_t *)"/moved", 6};
			const char *body = shape == 6 ? "0,5" : "PWNED";
			char *trace = NULL;
			sw_buf rb;
			sw_buf_init(&rb, NULL);
			int status;
			int rc = run_request(v, a, na, (const uint8_t *)body, strlen(body), true, 2, root,
			                     &trace, &rb, &status);
			if (rc)
				fail_msg("%s %.*s: %s", reqs[q].verb, (int)plen, path, sw_errname(rc));
			check_no_leak(path, plen, trace, &rb);
			nreq++;
			sw_vfs_del(v);
			/* What the disk and the memfs must agree on: the answer,
			 * the body and the tree, the base's name masked. */
			sw_buf *log = &hostile_log[on_mem];
			char *tree = dump_tree(root);
			sw_buf_append(log, reqs[q].verb, strlen(reqs[q].verb));
			sw_buf_append_byte(log, ' ');
			sw_buf_append(log, path, plen);
			sw_buf_append_str(log, "\n  ");
			sw_buf_append_str(log, trace);
			sw_buf_append_str(log, "\n  ");
			sw_format_bytes(log, rb.data, rb.len);
			sw_buf_append_str(log, "\n");
			sw_buf_append_str(log, tree);
			free(tree);
			char *now = dump_tree(out);
			if (strcmp(now, sentinel) != 0)
				fail_msg("%s %.*s changed the sentinel directory:\n%s", reqs[q].verb, (int)plen,
				         path, now);
			free(now);
			/* nothing may appear next to the root either */
			fst_names nb = fst_list(FS, base);
			for (size_t k = 0; k < nb.n; k++)
				if (strcmp(nb.v[k], "root") && strcmp(nb.v[k], "outside"))
					fail_msg("%s %.*s created %s next to the root",
					         reqs[q].verb, (int)plen, path, nb.v[k]);
			fst_names_free(&nb);
			free(trace);
			sw_buf_fini(&rb);
		}
	}
	assert_true(npaths >= 50);
	assert_int_equal(nreq, npaths * 16);
	sw_buf_append_byte(&hostile_log[on_mem], 0);
	char *masked = replace_all(strdup((char *)hostile_log[on_mem].data), base, "@BASE@");
	sw_buf_reset(&hostile_log[on_mem]);
	sw_buf_append_str(&hostile_log[on_mem], masked);
	free(masked);
	free(sentinel);
	drop_base(base);
	free(text);
}

/* Every hostile request answered the same bytes and left the same tree on
 * the disk and on the memfs (both runs above). */
static void test_hostile_paths_agree(void **state)
{
	(void)state;
	sw_buf *a = &hostile_log[0], *b = &hostile_log[1];
	assert_true(a->len > 1000 && b->len > 1000);
	if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0) {
		size_t i = 0;
		while (i < a->len && i < b->len && a->data[i] == b->data[i])
			i++;
		size_t from = i > 300 ? i - 300 : 0;
		fail_msg(
		    "the disk and the memfs differ at byte %zu:\n--- disk\n%.*s\n--- memfs\n%.*s",
		    i, (int)(a->len - from < 600 ? a->len - from : 600), (char *)a->data + from,
		    (int)(b->len - from < 600 ? b->len - from : 600), (char *)b->data + from);
	}
	sw_buf_fini(a);
	sw_buf_fini(b);
}

/* ---- request lifecycle, streaming, limits ---- */

typedef struct env {
	char *base;
	char root[4096];
	sw_vfs *v;
} env;

static void env_open(env *e, const sw_vfs_config *cfg, const sw_mem *mem)
{
	e->base = make_base();
	snprintf(e->root, sizeof e->root, "%s/root", e->base);
	build_fixture(e->root);
	sw_vfs_config c = {0};
	if (cfg)
		c = *cfg;
	c.fs = FS;
	assert_int_equal(sw_vfs_new(&e->v, e->root, &c, mem), 0);
}

static void env_close(env *e)
{
	sw_vfs_del(e->v);
	drop_base(e->base);
}

/* One request with no body; returns the normalised trace (malloc'd). */
static char *req(env *e, const char *verb, const char *a1, const char *a2)
{
	sw_slice a[3] = {{(const uint8_t *)verb, strlen(verb)}};
	size_t n = 1;
	if (a1)
		a[n++] = (sw_slice){(const uint8_t *)a1, strlen(a1)};
	if (a2)
		a[n++] = (sw_slice){(const uint8_t *)a2, strlen(a2)};
	char *t = NULL;
	sw_buf b;
	sw_buf_init(&b, NULL);
	int st;
	assert_int_equal(run_request(e->v, a, n, NULL, 0, false, 0, e->root, &t, &b, &st), 0);
	sw_buf_fini(&b);
	return t;
}

static void expect_req(env *e, const char *verb, const char *a1, const char *a2, const char *want)
{
	char *t = req(e, verb, a1, a2);
	if (strcmp(t, want) != 0)
		fail_msg("%s %s: want %s got %s", verb, a1 ? a1 : "", want, t);
	free(t);
}

static bool has_temp_file(const char *dir)
{
	fst_names x = fst_list(FS, dir);
	bool found = false;
	for (size_t i = 0; i < x.n; i++)
		if (!strncmp(x.v[i], SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1))
			found = true;
	fst_names_free(&x);
	return found;
}

static void test_abort_and_hidden_temp(void **state)
{
	(void)state;
	sw_vfs_config cfg = {.allow_writes = true};
	env e;
	env_open(&e, &cfg, NULL);
	sw_slice a[3] = {{(const uint8_t *)"put", 3}, {(const uint8_t *)"/testfile", 9},
	                 {(const uint8_t *)"", 0}};
	sw_vfs_req *r;
	assert_int_equal(sw_vfs_begin(e.v, a, 3, &r), SW_VFS_NEEDS_BODY);
	assert_int_equal(sw_vfs_body(r, (const uint8_t *)"half", 4), 0);
	sw_vfs_reply rep;
	assert_int_equal(sw_vfs_get_reply(r, &rep), SW_ERR_STATE);
	/* In flight: the temporary file exists but no verb can see it. */
	assert_true(has_temp_file(e.root));
	char *t = req(&e, "list_dir", "/", NULL);
	assert_null(strstr(t, "sw-put"));
	free(t);
	t = req(&e, "iter_files_recursive", "/", NULL);
	assert_null(strstr(t, "sw-put"));
	free(t);
	t = req(&e, "get", "/" SW_JAIL_TEMP_PREFIX "0", NULL);
	assert_non_null(strstr(t, "[\"NoSuchFile\", "));
	free(t);
	sw_vfs_abort(r);
	assert_int_equal(sw_vfs_body(r, (const uint8_t *)"x", 1), SW_ERR_STATE);
	assert_int_equal(sw_vfs_end(r), SW_ERR_STATE);
	assert_int_equal(sw_vfs_get_reply(r, &rep), SW_ERR_STATE);
	sw_vfs_req_del(r);
	assert_false(has_temp_file(e.root));
	expect_req(&e, "stat", "/testfile", NULL, "[\"stat\", \"17\", \"0o100644\"]");

	/* Freeing mid-body aborts too. */
	assert_int_equal(sw_vfs_begin(e.v, a, 3, &r), SW_VFS_NEEDS_BODY);
	assert_int_equal(sw_vfs_body(r, (const uint8_t *)"half", 4), 0);
	sw_vfs_req_del(r);
	assert_false(has_temp_file(e.root));

	/* put_non_atomic with create_parent: the parent goes away on abort. */
	sw_slice p[5] = {{(const uint8_t *)"put_non_atomic", 14}, {(const uint8_t *)"/np/f", 5},
	                 {(const uint8_t *)"", 0}, {(const uint8_t *)"T", 1}, {(const uint8_t *)"", 0}};
	assert_int_equal(sw_vfs_begin(e.v, p, 5, &r), SW_VFS_NEEDS_BODY);
	assert_int_equal(sw_vfs_body(r, (const uint8_t *)"x", 1), 0);
	sw_vfs_abort(r);
	sw_vfs_req_del(r);
	expect_req(&e, "has", "/np", NULL, "[\"no\"]");

	/* append: nothing applied on abort, not even the file creation. */
	sw_slice ap[3] = {{(const uint8_t *)"append", 6}, {(const uint8_t *)"/newa", 5},
	                  {(const uint8_t *)"", 0}};
	assert_int_equal(sw_vfs_begin(e.v, ap, 3, &r), SW_VFS_NEEDS_BODY);
	assert_int_equal(sw_vfs_body(r, (const uint8_t *)"x", 1), 0);
	sw_vfs_req_del(r);
	expect_req(&e, "has", "/newa", NULL, "[\"no\"]");
	assert_false(has_temp_file(e.root));
	env_close(&e);
}

/* The names of the temporary files in `dir`, NUL-separated, and their count. */
static size_t temp_names(const char *dir, sw_buf *names)
{
	fst_names x = fst_list_raw(FS, dir);
	size_t n = 0;
	sw_buf_reset(names);
	for (size_t i = 0; i < x.n; i++)
		if (!strncmp(x.v[i], SW_JAIL_TEMP_PREFIX, sizeof SW_JAIL_TEMP_PREFIX - 1)) {
			sw_buf_append(names, x.v[i], strlen(x.v[i]) + 1);
			n++;
		}
	fst_names_free(&x);
	return n;
}

static sw_vfs_req *begin_put(sw_vfs *v, const char *path, const char *body)
{
	sw_slice a[3] = {{(const uint8_t *)"put", 3},
	                 {(const uint8_t *)path, strlen(path)},
	                 {(const uint8_t *)"", 0}};
	sw_vfs_req *r;
	assert_int_equal(sw_vfs_begin(v, a, 3, &r), SW_VFS_NEEDS_BODY);
	assert_int_equal(sw_vfs_body(r, (const uint8_t *)body, strlen(body)), 0);
	return r;
}

static void end_ok(sw_vfs_req *r)
{
	assert_int_equal(sw_vfs_end(r), 0);
	sw_vfs_reply rep;
	assert_int_equal(sw_vfs_get_reply(r, &rep), 0);
	assert_int_equal(rep.status, SW_VFS_SUCCESS);
	sw_vfs_req_del(r);
}

/* Uploads in flight at once, from two sw_vfs (two workers) into one
 * directory, get distinct temporary files; a name already taken (as by a
 * dead process with the same pid) is skipped, not overwritten; each upload
 * lands whole and nothing is left behind. */
static void test_concurrent_uploads(void **state)
{
	(void)state;
	sw_vfs_config cfg = {.allow_writes = true};
	env e;
	env_open(&e, &cfg, NULL);
	sw_vfs *v2;
	cfg.fs = FS;
	assert_int_equal(sw_vfs_new(&v2, e.root, &cfg, NULL), 0);
	sw_vfs_req *a = begin_put(e.v, "/x1", "from a");
	sw_vfs_req *b = begin_put(v2, "/x1", "from b");
	sw_vfs_req *c = begin_put(e.v, "/x2", "from c");
	sw_buf names;
	sw_buf_init(&names, NULL);
	assert_int_equal(temp_names(e.root, &names), 3);
	/* <prefix><pid>.<n> (vfs_put.c): take the largest n and occupy the
	 * next five names. */
	char pre[64];
	int k = snprintf(pre, sizeof pre, "%s%x.", SW_JAIL_TEMP_PREFIX, (unsigned)getpid());
	unsigned long long top = 0;
	for (size_t off = 0; off < names.len; off += strlen((char *)names.data + off) + 1) {
		const char *nm = (const char *)names.data + off;
		assert_int_equal(strncmp(nm, pre, (size_t)k), 0);
		unsigned long long n = strtoull(nm + k, NULL, 16);
		top = n > top ? n : top;
	}
	char taken[5][4096 + 128];
	for (int i = 0; i < 5; i++) {
		snprintf(taken[i], sizeof taken[i], "%s/%s%llx", e.root, pre,
		         top + 1 + (unsigned)i);
		int fd = sw_fs_openat(FS, AT_FDCWD, taken[i], O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(sw_fs_write(FS, fd, "left", 4), 4);
		sw_fs_close_fd(FS, fd);
	}
	sw_vfs_req *d = begin_put(v2, "/x3", "from d");
	assert_int_equal(temp_names(e.root, &names), 9);
	end_ok(a);
	end_ok(c);
	end_ok(b); /* renamed last: its content wins */
	end_ok(d);
	expect_req(&e, "stat", "/x1", NULL, "[\"stat\", \"6\", \"0o100644\"]");
	for (int i = 0; i < 5; i++) {
		struct stat st;
		assert_int_equal(sw_fs_fstatat(FS, AT_FDCWD, taken[i], &st, 0), 0);
		assert_int_equal(st.st_size, 4);
		sw_fs_unlinkat(FS, AT_FDCWD, taken[i], 0);
	}
	assert_int_equal(temp_names(e.root, &names), 0);
	char p[4096 + 16], buf[16];
	snprintf(p, sizeof p, "%s/x1", e.root);
	int fd = sw_fs_openat(FS, AT_FDCWD, p, O_RDONLY, 0);
	assert_int_equal(sw_fs_pread(FS, fd, buf, sizeof buf, 0), 6);
	sw_fs_close_fd(FS, fd);
	assert_memory_equal(buf, "from b", 6);
	sw_buf_fini(&names);
	sw_vfs_del(v2);
	env_close(&e);
}

/* Workers share one sw_vfs: each thread uploads, reads back and fails a
 * rename over a directory, all at once; every answer is its own and the
 * failed rename reads the same in every thread. */
struct worker {
	env *e;
	int id;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int k = 0; k < 40; k++) {
		char path[64], body[64];
		snprintf(path, sizeof path, "/w%d_%d", w->id, k);
		snprintf(body, sizeof body, "worker %d, upload %d", w->id, k);
		sw_slice a[3] = {{(const uint8_t *)"put", 3},
		                 {(const uint8_t *)path, strlen(path)},
		                 {(const uint8_t *)"", 0}};
		char *t = NULL;
		sw_buf rb;
		sw_buf_init(&rb, NULL);
		int st;
		if (run_request(w->e->v, a, 3, (const uint8_t *)body, strlen(body), true, 5,
		                w->e->root, &t, &rb, &st) != 0 ||
		    strcmp(t, "[\"ok\"]") != 0)
			w->failures++;
		free(t);
		sw_slice g[2] = {{(const uint8_t *)"get", 3},
		                 {(const uint8_t *)path, strlen(path)}};
		if (run_request(w->e->v, g, 2, NULL, 0, false, 0, w->e->root, &t, &rb, &st) != 0 ||
		    rb.len != strlen(body) || memcmp(rb.data, body, rb.len) != 0)
			w->failures++;
		free(t);
		sw_slice d[3] = {{(const uint8_t *)"put", 3},
		                 {(const uint8_t *)"/dir", 4},
		                 {(const uint8_t *)"", 0}};
		/* Unmasked (fmt_reply would mask the temporary name). */
		static const char want[] =
		    "[\"error\", \"IsADirectoryError\", \"[Errno 21] Is a "
		    "directory [occurred when renaming '@ROOT@/.~sw-put.dir' "
		    "to '@ROOT@/dir']\"]";
		sw_vfs_req *r;
		if (sw_vfs_begin(w->e->v, d, 3, &r) != SW_VFS_NEEDS_BODY) {
			w->failures++;
			sw_buf_fini(&rb);
			continue;
		}
		sw_vfs_reply rep;
		sw_buf f;
		sw_buf_init(&f, NULL);
		if (sw_vfs_body(r, (const uint8_t *)"x", 1) != 0 || sw_vfs_end(r) != 0 ||
		    sw_vfs_get_reply(r, &rep) != 0 || sw_format_tuple(&f, rep.args, rep.nargs) != 0)
			w->failures++;
		sw_buf_append_byte(&f, 0);
		char *got = replace_all((char *)f.data, w->e->root, "@ROOT@");
		if (strcmp(got, want) != 0)
			w->failures++;
		free(got);
		sw_vfs_req_del(r);
		sw_buf_fini(&rb);
	}
	return NULL;
}

static void test_threads_share_one_vfs(void **state)
{
	(void)state;
	sw_vfs_config cfg = {.allow_writes = true};
	env e;
	env_open(&e, &cfg, NULL);
	enum { N = 4 };
	pthread_t th[N];
	struct worker w[N];
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){&e, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	assert_false(has_temp_file(e.root));
	char p[4096 + 64];
	snprintf(p, sizeof p, "%s/w3_39", e.root);
	struct stat st;
	assert_int_equal(sw_fs_fstatat(FS, AT_FDCWD, p, &st, 0), 0);
	env_close(&e);
}

static void test_readdir_order(void **state)
{
	(void)state;
	env e;
	env_open(&e, NULL, NULL);
	sw_buf want;
	sw_buf_init(&want, NULL);
	sw_buf_append_str(&want, "[\"names\"");
	fst_names x = fst_list_raw(FS, e.root);
	for (size_t i = 0; i < x.n; i++) {
		sw_buf esc;
		sw_buf_init(&esc, NULL);
		for (const char *c = x.v[i]; *c; c++) {
			if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~", *c))
				sw_buf_append_byte(&esc, (uint8_t)*c);
			else {
				char h[4];
				snprintf(h, sizeof h, "%%%02X", (unsigned)(uint8_t)*c);
				sw_buf_append_str(&esc, h);
			}
		}
		sw_buf_append_str(&want, ", ");
		sw_format_bytes(&want, esc.data, esc.len);
		sw_buf_fini(&esc);
	}
	fst_names_free(&x);
	sw_buf_append_str(&want, "]");
	sw_buf_append_byte(&want, 0);
	/* unsorted: call the API directly */
	sw_slice a[2] = {{(const uint8_t *)"list_dir", 8}, {(const uint8_t *)"/", 1}};
	sw_vfs_req *r;
	assert_int_equal(sw_vfs_begin(e.v, a, 2, &r), SW_VFS_ANSWERED);
	sw_vfs_reply rep;
	assert_int_equal(sw_vfs_get_reply(r, &rep), 0);
	sw_buf got;
	sw_buf_init(&got, NULL);
	sw_format_tuple(&got, rep.args, rep.nargs);
	sw_buf_append_byte(&got, 0);
	assert_string_equal((char *)got.data, (char *)want.data);
	sw_buf_fini(&got);
	sw_buf_fini(&want);
	sw_vfs_req_del(r);
	env_close(&e);
}

static void test_stream_large(void **state)
{
	(void)state;
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	sw_vfs_config cfg = {.allow_writes = true};
	env e;
	env_open(&e, &cfg, &fm.mem);
	enum { SIZE = 8 << 20, CHUNK = 65536 };
	uint8_t *chunk = malloc(CHUNK);
	sw_slice a[3] = {{(const uint8_t *)"put", 3}, {(const uint8_t *)"/big", 4},
	                 {(const uint8_t *)"", 0}};
	sw_vfs_req *r;
	size_t calls0 = fm.calls;
	assert_int_equal(sw_vfs_begin(e.v, a, 3, &r), SW_VFS_NEEDS_BODY);
	for (size_t off = 0; off < SIZE; off += CHUNK) {
		for (size_t i = 0; i < CHUNK; i++)
			chunk[i] = (uint8_t)((off + i) * 7 >> 3);
		assert_int_equal(sw_vfs_body(r, chunk, CHUNK), 0);
	}
	assert_int_equal(sw_vfs_end(r), 0);
	sw_vfs_reply rep;
	assert_int_equal(sw_vfs_get_reply(r, &rep), 0);
	assert_int_equal(rep.status, SW_VFS_SUCCESS);
	sw_vfs_req_del(r);
	/* get streams it back */
	sw_slice g[2] = {{(const uint8_t *)"get", 3}, {(const uint8_t *)"/big", 4}};
	assert_int_equal(sw_vfs_begin(e.v, g, 2, &r), SW_VFS_ANSWERED);
	assert_int_equal(sw_vfs_get_reply(r, &rep), 0);
	assert_true(rep.has_body);
	assert_int_equal(rep.body_len, SIZE);
	size_t got = 0;
	ptrdiff_t k;
	while ((k = sw_vfs_read_body(r, chunk, 4093)) > 0) {
		for (ptrdiff_t i = 0; i < k; i++)
			if (chunk[i] != (uint8_t)((got + (size_t)i) * 7 >> 3))
				fail_msg("byte %zu differs", got + (size_t)i);
		got += (size_t)k;
	}
	assert_int_equal(k, 0);
	assert_int_equal(got, SIZE);
	sw_vfs_req_del(r);
	/* The allocations did not grow with the body: few and small. */
	assert_true(fm.calls - calls0 < 60);
	free(chunk);
	env_close(&e);
	assert_int_equal(fm.live, 0);
}

static void test_truncated_mid_stream(void **state)
{
	(void)state;
	env e;
	env_open(&e, NULL, NULL);
	sw_slice g[2] = {{(const uint8_t *)"get", 3}, {(const uint8_t *)"/readvfile", 10}};
	sw_vfs_req *r;
	assert_int_equal(sw_vfs_begin(e.v, g, 2, &r), SW_VFS_ANSWERED);
	uint8_t buf[8];
	assert_int_equal(sw_vfs_read_body(r, buf, 5), 5);
	char p[8192];
	snprintf(p, sizeof p, "%s/readvfile", e.root);
	/* truncate(p, 3) through the interface: its first 3 bytes again. */
	uint8_t head[3];
	int fd = sw_fs_openat(FS, AT_FDCWD, p, O_RDONLY, 0);
	assert_int_equal(sw_fs_pread(FS, fd, head, 3, 0), 3);
	sw_fs_close_fd(FS, fd);
	fd = sw_fs_openat(FS, AT_FDCWD, p, O_WRONLY | O_TRUNC, 0);
	assert_int_equal(sw_fs_write(FS, fd, head, 3), 3);
	sw_fs_close_fd(FS, fd);
	assert_int_equal(sw_vfs_read_body(r, buf, 5), SW_ERR_IO);
	sw_vfs_req_del(r);
	env_close(&e);
}

static void test_verbs_and_limits(void **state)
{
	(void)state;
	sw_vfs_config cfg = {.allow_writes = true, .max_path_len = 64, .max_readv_ranges = 3,
	                     .max_readv_text = 32, .max_body = 10, .max_names = 5};
	env e;
	env_open(&e, &cfg, NULL);
	sw_vfs_req *r = (sw_vfs_req *)1;
	static const char *unknown[] = {"get_bundle", "BzrDir.open_2.1", "", "GET", "get "};
	for (size_t i = 0; i < 5; i++) {
		sw_slice a = {(const uint8_t *)unknown[i], strlen(unknown[i])};
		assert_int_equal(sw_vfs_begin(e.v, &a, 1, &r), SW_ERR_UNKNOWN_METHOD);
		assert_null(r);
	}
	assert_int_equal(sw_vfs_begin(e.v, NULL, 0, &r), SW_ERR_INVALID_ARGUMENT);
	char longp[100];
	memset(longp, 'a', 99);
	longp[0] = '/';
	longp[99] = 0;
	expect_req(&e, "get", longp, NULL,
	           "[\"error\", \"smartwire.LimitExceeded\", \"path length exceeds the limit of 64\"]");
	expect_req(&e, "list_dir", "/", NULL,
	           "[\"error\", \"smartwire.LimitExceeded\", \"directory entries exceeds the limit of "
	           "5\"]");
	expect_req(&e, "mkdir", "/m", "4096",
	           "[\"error\", \"smartwire.LimitExceeded\", \"mode exceeds the limit of 4095\"]");
	struct {
		const char *verb, *path, *body, *want;
	} bodies[] = {
	    {"readv", "/readvfile", "0,1\n1,1\n2,1\n3,1",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv ranges exceeds the limit of 3\"]"},
	    {"readv", "/readvfile", "0,1\n1,1\n2,1\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv offsets text exceeds the limit of "
	     "32\"]"},
	    {"readv", "/readvfile", "99999999999999999999,1",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv offset exceeds the limit of "
	     "9223372036854775807\"]"},
	    {"readv", "/readvfile", "0,-1",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv length exceeds the limit of "
	     "9223372036854775807\"]"},
	    /* Outside int64: the start is refused before a bad length is seen
		 * (Python would read both and fail deeper). */
	    {"readv", "/readvfile", "9223372036854775808,x",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv offset exceeds the limit of "
	     "9223372036854775807\"]"},
	    {"readv", "/readvfile", "-9223372036854775809,1",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv offset exceeds the limit of "
	     "9223372036854775807\"]"},
	    {"readv", "/readvfile", "1,18446744073709551616",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv offset exceeds the limit of "
	     "9223372036854775807\"]"},
	    {"readv", "/readvfile", "1,9223372036854775807",
	     "[\"error\", \"smartwire.LimitExceeded\", \"readv length exceeds the limit of "
	     "9223372036854775807\"]"},
	    {"readv", "/readvfile", "x,9223372036854775808",
	     "[\"error\", \"ValueError\", \"invalid literal for int() with base 10: b'x'\"]"},
	    {"put", "/p", "0123456789A",
	     "[\"error\", \"smartwire.LimitExceeded\", \"request body exceeds the limit of 10\"]"},
	    {"append", "/testfile", "0123456789A",
	     "[\"error\", \"smartwire.LimitExceeded\", \"request body exceeds the limit of 10\"]"},
	    {"put", "/p", "0123456789", "[\"ok\"]"},
	};
	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		sw_slice a[3] = {{(const uint8_t *)bodies[i].verb, strlen(bodies[i].verb)},
		                 {(const uint8_t *)bodies[i].path, strlen(bodies[i].path)},
		                 {(const uint8_t *)"", 0}};
		size_t na = strcmp(bodies[i].verb, "readv") ? 3 : 2;
		char *t;
		sw_buf b;
		sw_buf_init(&b, NULL);
		int st;
		assert_int_equal(run_request(e.v, a, na, (const uint8_t *)bodies[i].body,
		                             strlen(bodies[i].body), true, 3, e.root, &t, &b, &st), 0);
		if (strcmp(t, bodies[i].want))
			fail_msg("%zu: want %s got %s", i, bodies[i].want, t);
		free(t);
		sw_buf_fini(&b);
	}
	assert_false(has_temp_file(e.root));
	expect_req(&e, "get", "/testfile", NULL, "[\"ok\"]"); /* append over limit: unchanged */
	expect_req(&e, "stat", "/testfile", NULL, "[\"stat\", \"17\", \"0o100644\"]");
	/* Root-level operations are refused like a busy mount point. */
	char *t = req(&e, "rmdir", "/", NULL);
	assert_non_null(strstr(t, "ResourceBusy"));
	free(t);
	t = req(&e, "rename", "/", "/x");
	assert_non_null(strstr(t, "ResourceBusy"));
	free(t);
	env_close(&e);

	sw_vfs_config deep = {.max_depth = 1};
	env_open(&e, &deep, NULL);
	expect_req(&e, "iter_files_recursive", "/dir", NULL, "[\"names\", \"a\", \"sub/b\", \"up\", \"z\"]");
	expect_req(&e, "iter_files_recursive", "/", NULL,
	           "[\"error\", \"smartwire.LimitExceeded\", \"directory depth exceeds the limit of "
	           "1\"]");
	env_close(&e);

	sw_vfs_config off = {.disable_vfs = true};
	env_open(&e, &off, NULL);
	expect_req(&e, "get", "/testfile", NULL,
	           "[\"error\", \"breezy.bzr.smart.request.DisabledMethod\", \"The smart server "
	           "method 'GetRequest' is disabled.\"]");
	expect_req(&e, "hello", NULL, NULL, "[\"ok\", \"2\"]");
	env_close(&e);

	sw_vfs *v;
	sw_fs *mfs;
	assert_int_equal(sw_memfs_new(&mfs, NULL), 0);
	sw_vfs_config onmem = {.fs = on_mem ? mfs : NULL};
	assert_int_equal(sw_vfs_new(&v, "/nonexistent/sw-vfs-root", &onmem, NULL), SW_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(sw_vfs_new(&v, "", &onmem, NULL), SW_ERR_INVALID_ARGUMENT);
	sw_fs_del(mfs);
}

/* Every test on the disk, then on a memfs. */
#define ON_BOTH(t)                                                                                 \
	static void t##_disk(void **state)                                                         \
	{                                                                                          \
		on_mem = false;                                                                    \
		t(state);                                                                          \
	}                                                                                          \
	static void t##_mem(void **state)                                                          \
	{                                                                                          \
		on_mem = true;                                                                     \
		t(state);                                                                          \
	}
ON_BOTH(test_differential_whole)
ON_BOTH(test_differential_bytewise)
ON_BOTH(test_failmem)
ON_BOTH(test_hostile_paths)
ON_BOTH(test_abort_and_hidden_temp)
ON_BOTH(test_concurrent_uploads)
ON_BOTH(test_threads_share_one_vfs)
ON_BOTH(test_readdir_order)
ON_BOTH(test_stream_large)
ON_BOTH(test_truncated_mid_stream)
ON_BOTH(test_verbs_and_limits)

int main(void)
{
	umask(022);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_differential_whole_disk),
	    cmocka_unit_test(test_differential_whole_mem),
	    cmocka_unit_test(test_differential_bytewise_disk),
	    cmocka_unit_test(test_differential_bytewise_mem),
	    cmocka_unit_test(test_failmem_disk),
	    cmocka_unit_test(test_failmem_mem),
	    cmocka_unit_test(test_hostile_paths_disk),
	    cmocka_unit_test(test_hostile_paths_mem),
	    cmocka_unit_test(test_hostile_paths_agree),
	    cmocka_unit_test(test_abort_and_hidden_temp_disk),
	    cmocka_unit_test(test_abort_and_hidden_temp_mem),
	    cmocka_unit_test(test_concurrent_uploads_disk),
	    cmocka_unit_test(test_concurrent_uploads_mem),
	    cmocka_unit_test(test_threads_share_one_vfs_disk),
	    cmocka_unit_test(test_threads_share_one_vfs_mem),
	    cmocka_unit_test(test_readdir_order_disk),
	    cmocka_unit_test(test_readdir_order_mem),
	    cmocka_unit_test(test_stream_large_disk),
	    cmocka_unit_test(test_stream_large_mem),
	    cmocka_unit_test(test_truncated_mid_stream_disk),
	    cmocka_unit_test(test_truncated_mid_stream_mem),
	    cmocka_unit_test(test_verbs_and_limits_disk),
	    cmocka_unit_test(test_verbs_and_limits_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
