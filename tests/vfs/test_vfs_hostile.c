/*
 * The VFS jail under hostile client paths, on the disk and on a memfs
 * (vfs_fixture.h): every line of tests/data/hostile_paths.txt goes to every
 * path-taking verb with writes allowed; a sentinel directory next to the
 * root must be untouched and never leak into a reply, nothing may appear
 * next to the root, and the disk and the memfs must give the same answers
 * and leave the same trees.
 */
#define _GNU_SOURCE 1
#include "vfs_fixture.h"
#include "support/harness.h"
#include "support/hostile_paths.h"

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
	    {"etc", "/etc"},          {"outfile", "../outside/sentinel-secret.txt"},
	    {"outdir", "../outside"}, {"dir/esc", "../../outside"},
	    {"dotdotlink", ".."},     {"rootlink", "/"},
	    {"loop1", "loop2"},       {"loop2", "loop1"},
	    {"selfloop", "selfloop"},
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
			fail_msg("reply to %.*s leaks %s: %s", (int)plen, path, forbidden[i],
			         trace);
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
		    {"get", 0},
		    {"has", 0},
		    {"stat", 0},
		    {"list_dir", 0},
		    {"iter_files_recursive", 0},
		    {"readv", 6},
		    {"put", 2},
		    {"put_non_atomic", 3},
		    {"append", 2},
		    {"delete", 0},
		    {"mkdir", 1},
		    {"rmdir", 0},
		    {"rename", 4},
		    {"rename", 5},
		    {"move", 4},
		    {"move", 5},
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
			int rc = run_request(v, a, na, (const uint8_t *)body, strlen(body), true, 2,
			                     root, &trace, &rb, &status);
			if (rc)
				fail_msg("%s %.*s: %s", reqs[q].verb, (int)plen, path,
				         sw_errname(rc));
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
				fail_msg("%s %.*s changed the sentinel directory:\n%s",
				         reqs[q].verb, (int)plen, path, now);
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

ON_BOTH(test_hostile_paths)

int main(void)
{
	umask(022);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostile_paths_disk),
	    cmocka_unit_test(test_hostile_paths_mem),
	    cmocka_unit_test(test_hostile_paths_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
