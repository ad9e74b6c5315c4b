/*
 * The VFS verbs (smartwire/vfs.h) against Breezy, on the disk and on a
 * memfs (vfs_fixture.h): every request of tests/vectors/vfs_vectors.inc
 * (recorded from Breezy's own request handler by gen_vfs.py) is replayed
 * against a fresh copy of the same fixture; the reply, the response body
 * and the final tree must match byte for byte (after the normalisations
 * gen_vfs.py documents).  Bodies are fed whole and one byte at a time; and
 * every allocation of every case fails once and persistently, with no leak
 * and no temporary file left.
 */
#define _GNU_SOURCE 1
#include "vfs_fixture.h"
#include "smartwire/failmem.h"

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
			fail_msg("%s step %d:\n  want %d %s\n  got  %d %s", c->name, i - c->first,
			         s->kind, s->reply, status, trace);
		if (body.len != s->rbody_len || (body.len && memcmp(body.data, s->rbody, body.len)))
			fail_msg("%s step %d: response body differs (%zu vs %zu bytes)", c->name,
			         i - c->first, body.len, s->rbody_len);
		free(trace);
		sw_buf_fini(&body);
	}
	sw_vfs_del(v);
	char *tree = replace_all(dump_tree(root), root, "@ROOT@");
	if (!mem && c->tree && strcmp(tree, c->tree) != 0)
		fail_msg("%s: tree after the case differs:\n--- want\n%s--- got\n%s", c->name,
		         c->tree, tree);
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
					fail_msg("%s: leak with allocation %zu failing",
					         cases[i].name, n);
				sites++;
			}
		}
	}
	assert_true(sites > 100);
}

ON_BOTH(test_differential_whole)
ON_BOTH(test_differential_bytewise)
ON_BOTH(test_failmem)

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
