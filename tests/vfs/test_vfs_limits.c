/*
 * The VFS's refusals, on the disk and on a memfs (vfs_fixture.h): unknown
 * verbs, every configured limit (path length, directory entries, mode,
 * readv ranges and offsets, request body, depth), operations on the root,
 * a disabled VFS, and roots that cannot be served.
 */
#define _GNU_SOURCE 1
#include <errno.h>

#include "vfs_fixture.h"

static void test_verbs_and_limits(void **state)
{
	(void)state;
	sw_vfs_config cfg = {.allow_writes = true,
	                     .max_path_len = 64,
	                     .max_readv_ranges = 3,
	                     .max_readv_text = 32,
	                     .max_body = 10,
	                     .max_names = 5};
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
	expect_req(
	    &e, "get", longp, NULL,
	    "[\"error\", \"smartwire.LimitExceeded\", \"path length exceeds the limit of 64\"]");
	expect_req(
	    &e, "list_dir", "/", NULL,
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
		                             strlen(bodies[i].body), true, 3, e.root, &t, &b, &st),
		                 0);
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
	expect_req(&e, "iter_files_recursive", "/dir", NULL,
	           "[\"names\", \"a\", \"sub/b\", \"up\", \"z\"]");
	expect_req(
	    &e, "iter_files_recursive", "/", NULL,
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
ON_BOTH(test_verbs_and_limits)

int main(void)
{
	umask(022);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verbs_and_limits_disk),
	    cmocka_unit_test(test_verbs_and_limits_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
