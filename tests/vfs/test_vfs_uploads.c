/*
 * The life of an upload through the VFS (put, put_non_atomic, append), on
 * the disk and on a memfs (vfs_fixture.h): an aborted or freed request
 * applies nothing and leaves no temporary file, which no verb can see while
 * it is in flight; uploads in flight at once from two sw_vfs get distinct
 * temporary files and never overwrite a name already taken; and threads
 * sharing one sw_vfs each get their own answers.
 */
#define _GNU_SOURCE 1
#include <pthread.h>

#include "vfs_fixture.h"

static void test_abort_and_hidden_temp(void **state)
{
	(void)state;
	sw_vfs_config cfg = {.allow_writes = true};
	env e;
	env_open(&e, &cfg, NULL);
	sw_slice a[3] = {{(const uint8_t *)"put", 3},
	                 {(const uint8_t *)"/testfile", 9},
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
	sw_slice p[5] = {{(const uint8_t *)"put_non_atomic", 14},
	                 {(const uint8_t *)"/np/f", 5},
	                 {(const uint8_t *)"", 0},
	                 {(const uint8_t *)"T", 1},
	                 {(const uint8_t *)"", 0}};
	assert_int_equal(sw_vfs_begin(e.v, p, 5, &r), SW_VFS_NEEDS_BODY);
	assert_int_equal(sw_vfs_body(r, (const uint8_t *)"x", 1), 0);
	sw_vfs_abort(r);
	sw_vfs_req_del(r);
	expect_req(&e, "has", "/np", NULL, "[\"no\"]");

	/* append: nothing applied on abort, not even the file creation. */
	sw_slice ap[3] = {{(const uint8_t *)"append", 6},
	                  {(const uint8_t *)"/newa", 5},
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
ON_BOTH(test_abort_and_hidden_temp)
ON_BOTH(test_concurrent_uploads)
ON_BOTH(test_threads_share_one_vfs)

int main(void)
{
	umask(022);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_abort_and_hidden_temp_disk),
	    cmocka_unit_test(test_abort_and_hidden_temp_mem),
	    cmocka_unit_test(test_concurrent_uploads_disk),
	    cmocka_unit_test(test_concurrent_uploads_mem),
	    cmocka_unit_test(test_threads_share_one_vfs_disk),
	    cmocka_unit_test(test_threads_share_one_vfs_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
