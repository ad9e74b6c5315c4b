/*
 * Seed sessions.  Real traffic first: the corpus/sessions/NAME.req files and
 * corpus/recordings/DIR/conn-N.c2s are cut into requests by our server
 * decoders (bb_wire.c), each becoming a structured request (verb, args,
 * body) that the mutators can change field by field.  Then the requests of
 * the conformance cases (parsed with the runner's own parser, encoded with
 * its encoder), one session per case, with the case's fixture (default
 * tree or bzr-2a) and write permission.  The dictionaries corpus/NAME.dict and
 * a few path, verb and value tokens feed the mutators.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bb_impl.h"
#include "conform/conform_target.h"
#include "smartwire/error.h"
#include "smartwire/verbs.h"

const sw_slice *sw_bb_seeds_dict(const sw_bb_seeds *s, size_t *n)
{
	*n = s->ndict;
	return s->dict;
}

size_t sw_bb_seeds_count(const sw_bb_seeds *s)
{
	return s->n;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return SW_ERR_IO;
	sw_buf b;
	sw_buf_init(&b, NULL);
	uint8_t tmp[65536];
	size_t k;
	int rc = 0;
	while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
		if ((rc = sw_buf_append(&b, tmp, k)) < 0)
			break;
	fclose(f);
	if (rc < 0) {
		sw_buf_fini(&b);
		return rc;
	}
	sw_buf_append_byte(&b, 0);
	*out = b.data;
	*len = b.len ? b.len - 1 : 0;
	return 0;
}

static bool has_bytes(const uint8_t *p, size_t n, const char *w)
{
	size_t l = strlen(w);
	for (size_t i = 0; i + l <= n; i++)
		if (memcmp(p + i, w, l) == 0)
			return true;
	return false;
}

static int add_seed(sw_bb_seeds *S, sw_bb_session *s, const char *origin)
{
	if (!s->n) {
		sw_bb_session_free(s);
		return 0;
	}
	sw__bb_seed *nv = realloc(S->v, (S->n + 1) * sizeof *nv);
	if (!nv) {
		sw_bb_session_free(s);
		return SW_ERR_NOMEM;
	}
	S->v = nv;
	S->v[S->n].s = *s;
	snprintf(S->v[S->n].origin, sizeof S->v[S->n].origin, "%s", origin);
	S->n++;
	memset(s, 0, sizeof *s);
	return 0;
}

/* Cuts a client-to-server stream into sessions of at most 12 requests. */
static int add_stream(sw_bb_seeds *S, const uint8_t *p, size_t n, const char *origin, bool bzr)
{
	sw_bb_session s;
	memset(&s, 0, sizeof s);
	s.bzr_fixture = bzr;
	s.allow_writes = true;
	size_t off = 0;
	int rc = 0;
	while (off < n && rc == 0) {
		size_t len = 0;
		sw_bb_req r;
		sw_bb_cut c = sw_bb_cut_request(p + off, n - off, true, &len, &r);
		if (c != SW_BB_DONE || !r.nargs || len == 0) {
			/* Not a clean request: the rest is kept as one raw request. */
			sw_bb_session t = {.n = 1};
			t.v[0] = r;
			sw_bb_session_free(&t);
			memset(&r, 0, sizeof r);
			r.raw = true;
			r.version = 1;
			r.capture_slot = -1;
			r.nbody = n - off > 4096 ? 4096 : n - off;
			r.body = malloc(r.nbody + 1);
			if (!r.body)
				return SW_ERR_NOMEM;
			memcpy(r.body, p + off, r.nbody);
			len = n - off;
		}
		s.v[s.n++] = r;
		off += len;
		if (s.n == 12 || off >= n)
			rc = add_seed(S, &s, origin);
		s.bzr_fixture = bzr;
		s.allow_writes = true;
	}
	return rc;
}

static int load_dir_streams(sw_bb_seeds *S, const char *dir, const char *suffix, bool bzr_if_dots,
                            FILE *log)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	char *names[512];
	size_t nn = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nn < 512) {
		size_t l = strlen(e->d_name), sl = strlen(suffix);
		if (l > sl && strcmp(e->d_name + l - sl, suffix) == 0)
			names[nn++] = strdup(e->d_name);
	}
	closedir(d);
	/* Sorted: the seeds' order (and so every run) must not depend on the
	 * directory's order on disk. */
	for (size_t i = 1; i < nn; i++)
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	int rc = 0;
	size_t before = S->n;
	for (size_t i = 0; i < nn; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		uint8_t *p;
		size_t n;
		if (rc == 0 && names[i] && read_file(path, &p, &n) == 0) {
			/* Smart (dotted) verbs need the control-directory fixture. */
			bool bzr = bzr_if_dots && has_bytes(p, n, "Branch.");
			rc = add_stream(S, p, n, path, bzr);
			free(p);
		}
		free(names[i]);
	}
	if (log && S->n > before)
		fprintf(log, "seeds: %zu sessions from %s\n", S->n - before, dir);
	return rc;
}

/* ---- conformance cases ----------------------------------------------------- */

static int add_case(sw_bb_seeds *S, const sw_cf_case *c)
{
	if (c->role != SW_CF_ROLE_SERVER || c->fixture_empty || c->nentries ||
	    (c->fixture_bzr && strcmp(c->fixture_bzr, "2a") != 0))
		return 0;
	sw_bb_session s;
	memset(&s, 0, sizeof s);
	s.bzr_fixture = c->fixture_bzr != NULL;
	s.allow_writes = c->allow_writes;
	sw_cf_ctx ctx = {.root = "/fuzz-root", .version = "3.3.2", .vars = NULL};
	sw_buf b;
	sw_buf_init(&b, NULL);
	for (size_t i = 0; i < c->nsteps && s.n < SW_BB_MAX_REQS; i++) {
		const sw_cf_step *st = &c->steps[i];
		if (st->kind != SW_CF_STEP_SEND || !st->nalts || !st->alts[0].n)
			continue;
		if (st->text && strchr(st->text, '{'))
			continue; /* variables: known only in a run of the case */
		sw_errinfo ei;
		b.len = 0;
		if (sw_cf_encode_atom(&st->alts[0].atoms[0], &ctx, &b, &ei) < 0 || !b.len)
			continue;
		size_t len = 0;
		sw_bb_req r;
		if (sw_bb_cut_request(b.data, b.len, true, &len, &r) != SW_BB_DONE ||
		    len != b.len || !r.nargs) {
			sw_bb_session t = {.n = 1};
			t.v[0] = r;
			sw_bb_session_free(&t);
			memset(&r, 0, sizeof r);
			r.raw = true;
			r.version = 1;
			r.capture_slot = -1;
			r.nbody = b.len > 65536 ? 65536 : b.len;
			if (!(r.body = malloc(r.nbody + 1)))
				break;
			memcpy(r.body, b.data, r.nbody);
		}
		s.v[s.n++] = r;
	}
	sw_buf_fini(&b);
	char origin[96];
	snprintf(origin, sizeof origin, "case %s", c->id);
	return add_seed(S, &s, origin);
}

/* ---- dictionaries ------------------------------------------------------------ */

static int dict_add(sw_bb_seeds *S, sw_buf *store, size_t *offs, const void *p, size_t n)
{
	if (S->ndict >= 4096)
		return 0;
	offs[S->ndict * 2] = store->len;
	offs[S->ndict * 2 + 1] = n;
	S->ndict++;
	return sw_buf_append(store, p, n);
}

/* One dictionary line: [name=]"text" with \xNN and \\ \" escapes. */
static int dict_line(sw_bb_seeds *S, sw_buf *store, size_t *offs, const char *l)
{
	const char *q = strchr(l, '"');
	if (!q || l[0] == '#')
		return 0;
	uint8_t v[1024];
	size_t n = 0;
	for (q++; *q && *q != '"' && n < sizeof v; q++) {
		if (*q == '\\' && q[1] == 'x' && q[2] && q[3]) {
			char h[3] = {q[2], q[3], 0};
			v[n++] = (uint8_t)strtoul(h, NULL, 16);
			q += 3;
		} else if (*q == '\\' && q[1]) {
			v[n++] = (uint8_t) * ++q;
		} else
			v[n++] = (uint8_t)*q;
	}
	return n ? dict_add(S, store, offs, v, n) : 0;
}

static int load_dicts(sw_bb_seeds *S, const char *corpus_dir, FILE *log)
{
	static const char *const builtin[] = {
	    "dir", "/dir", "emptydir", "/emptydir", "testfile", "/testfile", "readvfile", "/", "",
	    "..", "../", "/..", "%2e%2e", "..%2F..%2Foutside", "/etc/passwd", "dir/a", "nope",
	    "caf\xc3\xa9", "\xff\xfe", "standalone/", "tagged/", "shared/", "shared/branch/",
	    "checkout/", "0,3", "0,99999", "-1,3", "0644", "-1", "4294967296", "abc",
	    "null:", "\x01", "\n", "error", "ok", "i-1e", "le", "de",
	    /* paths that leave the served directory in escaped forms (the
	     * security oracle's world: outside/, sentinel-beside.txt) */
	    "/dir%2F..%2F..%2Foutside%2Fsentinel-secret.txt", "..%2F..%2Fsentinel-beside.txt",
	    "/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd", "/..%2F..%2Foutside%2Fnew"};
	sw_buf store;
	sw_buf_init(&store, NULL);
	size_t *offs = calloc(4096 * 2, sizeof *offs);
	if (!offs)
		return SW_ERR_NOMEM;
	int rc = 0;
	for (size_t i = 0; i < sizeof builtin / sizeof builtin[0] && !rc; i++)
		rc = dict_add(S, &store, offs, builtin[i], strlen(builtin[i]));
	static const char *const files[] = {
	    "server_session.dict", "v12_request.dict", "v3_request.dict", "bencode.dict",
	    "body_prefixed.dict",  "detect.dict",      "readv.dict"};
	for (size_t f = 0; f < sizeof files / sizeof files[0] && !rc; f++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", corpus_dir, files[f]);
		uint8_t *p;
		size_t n;
		if (read_file(path, &p, &n) < 0)
			continue;
		for (char *l = strtok((char *)p, "\n"); l && !rc; l = strtok(NULL, "\n"))
			rc = dict_line(S, &store, offs, l);
		free(p);
	}
	if (rc == 0) {
		S->dict = calloc(S->ndict ? S->ndict : 1, sizeof *S->dict);
		S->dict_store = store.data;
		if (!S->dict)
			rc = SW_ERR_NOMEM;
		for (size_t i = 0; rc == 0 && i < S->ndict; i++)
			S->dict[i] = (sw_slice){store.data + offs[2 * i], offs[2 * i + 1]};
		sw__bb_dict_set(S->dict, S->ndict);
		if (log)
			fprintf(log, "seeds: %zu dictionary tokens\n", S->ndict);
	} else
		sw_buf_fini(&store);
	free(offs);
	return rc;
}

int sw_bb_seeds_load(sw_bb_seeds **out, const char *corpus_dir, const char *cases, FILE *log)
{
	sw_bb_seeds *S = calloc(1, sizeof *S);
	if (!S)
		return SW_ERR_NOMEM;
	char path[4096];
	int rc = 0;
	snprintf(path, sizeof path, "%s/sessions", corpus_dir);
	rc = load_dir_streams(S, path, ".req", false, log);
	static const char *const rec[] = {"smart-brz", "vfs-brz", "vfs-transport-v2",
	                                  "vfs-transport-v3", "v2-server-bug"};
	for (size_t i = 0; i < sizeof rec / sizeof rec[0] && rc == 0; i++) {
		snprintf(path, sizeof path, "%s/recordings/%s", corpus_dir, rec[i]);
		rc = load_dir_streams(S, path, ".c2s", true, log);
	}
	if (rc == 0 && cases) {
		sw_cf_suite suite;
		sw_cf_suite_init(&suite);
		sw_cf_diag d;
		if (sw_cf_load(&suite, cases, &d) == 0) {
			size_t before = S->n;
			for (size_t i = 0; i < suite.n && rc == 0; i++)
				rc = add_case(S, &suite.cases[i]);
			if (log)
				fprintf(log, "seeds: %zu sessions from the cases in %s\n",
				        S->n - before, cases);
		} else if (log)
			fprintf(log, "seeds: cannot load %s: %s:%d: %s\n", cases, d.file, d.line,
			        d.msg);
		sw_cf_suite_fini(&suite);
	}
	if (rc == 0)
		rc = load_dicts(S, corpus_dir, log);
	if (rc == 0 && S->n == 0)
		rc = SW_ERR_IO;
	if (rc < 0) {
		sw_bb_seeds_del(S);
		return rc;
	}
	*out = S;
	return 0;
}

void sw_bb_seeds_del(sw_bb_seeds *S)
{
	if (!S)
		return;
	for (size_t i = 0; i < S->n; i++)
		sw_bb_session_free(&S->v[i].s);
	free(S->v);
	free(S->dict);
	free(S->dict_store);
	free(S);
}
