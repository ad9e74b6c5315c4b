/* Tests for the path jail (smartwire/jail.h): Breezy-compatible translation
 * (checked against Breezy's outputs recorded in comments: each expectation
 * below was produced by translate_client_path / _combine_paths / unescape of
 * Breezy 3.3.2) and the physical walk with its symlink policy, on the disk
 * and on the in-memory file system (smartwire/fs.h), the same tree in
 * each. */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/jail.h"
#include "smartwire/failmem.h"
#include "fs_tree.h"

static bool buf_is(const sw_buf *b, const char *s)
{
	return b->len == strlen(s) && (b->len == 0 || memcmp(b->data, s, b->len) == 0);
}

static void expect_tr(const char *in, bool slash, int want, const char *wire,
                      const char *combined, const char *fs)
{
	sw_jail_path jp;
	sw_jail_path_init(&jp, NULL);
	int rc = sw_jail_translate((const uint8_t *)in, strlen(in), slash, &jp);
	assert_int_equal(rc, want);
	if (want == SW_JAIL_OK) {
		if (!buf_is(&jp.wire, wire) || !buf_is(&jp.combined, combined) || !buf_is(&jp.fs, fs))
			fail_msg("%s: wire '%.*s' combined '%.*s' fs '%.*s'", in, (int)jp.wire.len,
			         (char *)jp.wire.data, (int)jp.combined.len, (char *)jp.combined.data,
			         (int)jp.fs.len, (char *)jp.fs.data);
	} else if (want == SW_JAIL_ABOVE_ROOT) {
		if (!buf_is(&jp.msg, wire))
			fail_msg("%s: msg '%.*s'", in, (int)jp.msg.len, (char *)jp.msg.data);
	}
	sw_jail_path_fini(&jp);
}

static void test_translate(void **state)
{
	(void)state;
	expect_tr("/testfile", false, 0, "./testfile", "testfile", "testfile");
	expect_tr("testfile", false, 0, "./testfile", "testfile", "testfile");
	expect_tr("/", false, 0, "./", "", "");
	expect_tr("", false, 0, "./", "", "");
	expect_tr("", true, 0, "./", "", "");
	expect_tr("/dir", true, 0, "./dir/", "dir", "dir");
	expect_tr("/dir/../testfile", false, 0, "./testfile", "testfile", "testfile");
	expect_tr("/a//b/", false, 0, "./a//b/", "a/b", "a/b");
	expect_tr("//x", false, 0, "./x", "x", "x");
	expect_tr("///x", false, 0, ".//x", "x", "x");
	expect_tr("/test%66ile", false, 0, "./test%66ile", "testfile", "testfile");
	expect_tr("/%2e%2e/x", false, 0, "./%2e%2e/x", "x", "x");
	expect_tr("/sp%20ace", false, 0, "./sp%20ace", "sp%20ace", "sp ace");
	expect_tr("/pct%2541", false, 0, "./pct%2541", "pct%2541", "pct%41");
	expect_tr("/dir%2Fa", false, 0, "./dir%2Fa", "dir%2Fa", "dir/a");
	expect_tr("/caf%C3%A9", false, 0, "./caf%C3%A9", "caf%C3%A9", "caf\xc3\xa9");
	/* urllib's unquote decodes with errors='replace' */
	expect_tr("/%ff", false, 0, "./%ff", "%ff", "\xef\xbf\xbd");
	expect_tr("/a%", false, 0, "./a%", "a%", "a%");
	expect_tr("/../etc/passwd", false, SW_JAIL_ABOVE_ROOT,
	          "Invalid URL join request: Cannot go above root: '/' + ('../etc/passwd',)", 0, 0);
	expect_tr("/a/../../b/../c", true, SW_JAIL_ABOVE_ROOT,
	          "Invalid URL join request: Cannot go above root: '/' + ('a/../../b/../c/',)", 0, 0);
	expect_tr("/../it's", false, SW_JAIL_ABOVE_ROOT,
	          "Invalid URL join request: Cannot go above root: '/' + (\"../it's\",)", 0, 0);
	expect_tr("/../a\tb\\", false, SW_JAIL_ABOVE_ROOT,
	          "Invalid URL join request: Cannot go above root: '/' + ('../a\\tb\\\\',)", 0, 0);
	expect_tr("/../caf\xc3\xa9\xc2\xa0", false, SW_JAIL_ABOVE_ROOT,
	          "Invalid URL join request: Cannot go above root: '/' + ('../caf\xc3\xa9\\xa0',)",
	          0, 0);
	expect_tr("/\xff", false, SW_JAIL_BAD_UTF8, 0, 0, 0);
	expect_tr("/\xc0\xae", false, SW_JAIL_BAD_UTF8, 0, 0, 0);     /* overlong */
	expect_tr("/\xed\xa0\x80", false, SW_JAIL_BAD_UTF8, 0, 0, 0); /* surrogate */

	sw_jail_path jp;
	sw_jail_path_init(&jp, NULL);
	assert_int_equal(sw_jail_translate((const uint8_t *)"/a%00b", 6, false, &jp), 0);
	assert_true(jp.has_nul);
	assert_int_equal(sw_jail_translate((const uint8_t *)"/a\0b", 4, false, &jp), 0);
	assert_true(jp.has_nul);
	assert_false(jp.nonascii);
	sw_jail_path_fini(&jp);
}

static void expect_url(const char *in, const char *want)
{
	sw_jail_path jp;
	sw_jail_path_init(&jp, NULL);
	assert_int_equal(sw_jail_translate((const uint8_t *)in, strlen(in), false, &jp), 0);
	assert_true(jp.nonascii);
	sw_buf b;
	sw_buf_init(&b, NULL);
	assert_int_equal(sw_jail_invalid_url(&jp, &b), 0);
	if (!buf_is(&b, want))
		fail_msg("%s: '%.*s'", in, (int)b.len, (char *)b.data);
	sw_buf_fini(&b);
	sw_jail_path_fini(&jp);
}

static void test_invalid_url(void **state)
{
	(void)state;
	/* Breezy 3.3.2 live/differential outputs. */
	expect_url("/caf\xc3\xa9", ": URL was not a plain ASCII url: 'ascii' codec can't encode "
	                           "character '\\xe9' in position 3: ordinal not in range(128)");
	expect_url("/dir/x\xc3\xa9\xc3\xa9y", ": URL was not a plain ASCII url: 'ascii' codec can't "
	                                      "encode characters in position 5-6: ordinal not in "
	                                      "range(128)");
	expect_url("/\xe2\x82\xac", ": URL was not a plain ASCII url: 'ascii' codec can't encode "
	                            "character '\\u20ac' in position 0: ordinal not in range(128)");
	expect_url("/\xf0\x9f\x98\x80", ": URL was not a plain ASCII url: 'ascii' codec can't "
	                                "encode character '\\U0001f600' in position 0: ordinal not "
	                                "in range(128)");
}

static void test_translate_failmem(void **state)
{
	(void)state;
	const char *inputs[] = {"/dir/../a%20b/c", "/../x", "/caf\xc3\xa9"};
	for (size_t i = 0; i < 3; i++) {
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		sw_jail_path jp;
		sw_jail_path_init(&jp, &fm.mem);
		int want = sw_jail_translate((const uint8_t *)inputs[i], strlen(inputs[i]), true, &jp);
		sw_jail_path_fini(&jp);
		size_t calls = fm.calls;
		assert_true(calls > 0);
		for (size_t n = 1; n <= calls; n++) {
			for (int p = 0; p < 2; p++) {
				sw_failmem_init(&fm, n, p);
				sw_jail_path_init(&jp, &fm.mem);
				int rc = sw_jail_translate((const uint8_t *)inputs[i], strlen(inputs[i]), true,
				                           &jp);
				assert_true(rc == want || rc == SW_ERR_NOMEM);
				sw_jail_path_fini(&jp);
				assert_int_equal(fm.live, 0);
			}
		}
	}
}

/* ---- the walk ---- */

/* The same tree on the disk (worlds[0]) and in a memfs (worlds[1]); W is
 * the one the current test runs on (the _disk and _mem entries of main). */
static fst_world worlds[2], *W;
static char root[4200], outside[4200];

#define FS (W->fs)

static void mk(const char *rel, const char *link)
{
	char p[8192];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	if (link)
		fst_link(FS, link, p);
	else if (rel[strlen(rel) - 1] == '/')
		fst_dir(FS, p, 0755);
	else
		fst_file(FS, p, "", 0, 0644);
}

static void build(void)
{
	fst_dir(FS, root, 0755);
	fst_dir(FS, outside, 0755);
	char p[8192], abs_in[8192];
	snprintf(p, sizeof p, "%s/secret", outside);
	fst_file(FS, p, "", 0, 0644);
	mk("f", NULL);
	mk("d/", NULL);
	mk("d/g", NULL);
	mk("d/e/", NULL);
	mk("in", "d/g");
	mk("d/up", "../f");
	mk("out", "../outside/secret");
	mk("outd", "../outside");
	mk("absout", outside);
	snprintf(abs_in, sizeof abs_in, "%s/d", root);
	mk("absin", abs_in);
	mk("loop", "loop");
	mk("dd", "..");
	mk("d/parent", "..");
	mk(SW_JAIL_TEMP_PREFIX "x", NULL);
}

static int setup(void **state)
{
	(void)state;
	fst_open(&worlds[0], false, "sw_jail", NULL);
	fst_open(&worlds[1], true, "sw_jail", &worlds[0]);
	snprintf(root, sizeof root, "%s/root", worlds[0].base);
	snprintf(outside, sizeof outside, "%s/outside", worlds[0].base);
	for (int i = 0; i < 2; i++) {
		W = &worlds[i];
		build();
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fst_close(&worlds[0]);
	fst_close(&worlds[1]);
	return 0;
}

/* Resolves `fs` and returns the errno (0 on success); on success checks
 * that (dirfd, name) is the same file as `want` (a path under the root,
 * "" = the root, NULL: do not check). */
static int res(const char *fs, unsigned flags, const char *want, bool *outside_flag)
{
	sw_jail j;
	assert_int_equal(sw_jail_init_fs(&j, FS, root, NULL), 0);
	sw_jail_res r;
	int e = 0;
	int rc = sw_jail_resolve(&j, (const uint8_t *)fs, strlen(fs), flags, &r, &e);
	if (outside_flag)
		*outside_flag = r.outside;
	if (rc == 0) {
		e = 0;
		if (want) {
			struct stat a, b;
			char p[8192];
			snprintf(p, sizeof p, "%s/%s", root, want);
			assert_int_equal(
			    sw_fs_fstatat(FS, r.dirfd, r.name, &a, AT_SYMLINK_NOFOLLOW), 0);
			assert_int_equal(sw_fs_fstatat(FS, AT_FDCWD, p, &b, AT_SYMLINK_NOFOLLOW),
			                 0);
			assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		}
		sw_jail_res_fini(&r);
	} else {
		assert_int_equal(rc, SW_ERR_IO);
	}
	sw_jail_fini(&j);
	return e;
}

static void test_walk(void **state)
{
	(void)state;
	bool o;
	assert_int_equal(res("", 0, "", NULL), 0);
	assert_int_equal(res("f", 0, "f", NULL), 0);
	assert_int_equal(res("d/g", 0, "d/g", NULL), 0);
	assert_int_equal(res("d/../f", 0, "f", NULL), 0);      /* decoded %2F.. */
	assert_int_equal(res("d/e/../../f", 0, "f", NULL), 0);
	assert_int_equal(res("in", SW_JAIL_FOLLOW, "d/g", NULL), 0);
	assert_int_equal(res("in", 0, "in", NULL), 0);          /* lstat semantics */
	assert_int_equal(res("d/up", SW_JAIL_FOLLOW, "f", NULL), 0);
	assert_int_equal(res("absin/g", 0, "d/g", NULL), 0);    /* absolute, inside */
	assert_int_equal(res("d/parent/f", 0, "f", NULL), 0);   /* a ".." link inside */
	assert_int_equal(res("dd/f", 0, NULL, &o), ENOENT);     /* a ".." link at the root */
	assert_true(o);
	assert_int_equal(res("nope", 0, NULL, NULL), 0);        /* creatable */
	assert_int_equal(res("nope/x", 0, NULL, NULL), ENOENT);
	assert_int_equal(res("f/x", 0, NULL, NULL), ENOTDIR);
	assert_int_equal(res("loop", SW_JAIL_FOLLOW, NULL, NULL), ELOOP);
	assert_int_equal(res("loop/x", 0, NULL, NULL), ELOOP);
	/* Refusals: leaving the root is "does not exist". */
	assert_int_equal(res("..", 0, NULL, &o), ENOENT);
	assert_true(o);
	assert_int_equal(res("d/../../outside/secret", 0, NULL, &o), ENOENT);
	assert_true(o);
	assert_int_equal(res("out", SW_JAIL_FOLLOW, NULL, &o), ENOENT);
	assert_true(o);
	assert_int_equal(res("out", 0, "out", NULL), 0); /* the link itself is visible */
	assert_int_equal(res("outd/secret", 0, NULL, &o), ENOENT);
	assert_true(o);
	assert_int_equal(res("absout/secret", 0, NULL, &o), ENOENT);
	assert_true(o);
	assert_int_equal(res("dd/dd/f", 0, NULL, &o), ENOENT);
	assert_true(o);
	assert_int_equal(res(SW_JAIL_TEMP_PREFIX "x", 0, NULL, NULL), ENOENT);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	assert_int_equal(res(longname, 0, NULL, NULL), ENAMETOOLONG);
}

/* A symlink swapped in after the walk is never followed: the verb opens
 * (dirfd, name) with O_NOFOLLOW. */
static void test_toctou_swap(void **state)
{
	(void)state;
	sw_jail j;
	assert_int_equal(sw_jail_init_fs(&j, FS, root, NULL), 0);
	mk("swap", NULL);
	sw_jail_res r;
	int e;
	assert_int_equal(sw_jail_resolve(&j, (const uint8_t *)"swap", 4, SW_JAIL_FOLLOW, &r, &e), 0);
	char p[8192];
	snprintf(p, sizeof p, "%s/swap", root);
	sw_fs_unlinkat(FS, AT_FDCWD, p, 0);
	snprintf(p, sizeof p, "%s/secret", outside);
	char l[8192];
	snprintf(l, sizeof l, "%s/swap", root);
	fst_link(FS, p, l);
	int fd = sw_fs_openat(FS, r.dirfd, r.name, O_RDONLY | O_NOFOLLOW, 0);
	assert_true(fd < 0);
	assert_int_equal(errno, ELOOP);
	/* A directory renamed out of the tree mid-way cannot lead above the
	 * root either: the walk never opens "..". */
	sw_jail_res_fini(&r);
	sw_fs_unlinkat(FS, AT_FDCWD, l, 0);
	sw_jail_fini(&j);
}

/* The fast path opens only what the walk reaches without a decision of its
 * own, and the same file; everything else is left to the walk (-1). */
static void test_open_plain(void **state)
{
	(void)state;
	char yp[8192];
	snprintf(yp, sizeof yp, "%s/d/" SW_JAIL_TEMP_PREFIX "y", root);
	struct stat yst;
	if (sw_fs_fstatat(FS, AT_FDCWD, yp, &yst, AT_SYMLINK_NOFOLLOW) < 0)
		mk("d/" SW_JAIL_TEMP_PREFIX "y", NULL);
	sw_jail j;
	assert_int_equal(sw_jail_init_fs(&j, FS, root, NULL), 0);
	/* Without openat2 (ENOSYS: before Linux 5.6, or a seccomp filter) the
	 * fast path must give -1 every time (a memfs always has it). */
	bool have = true;
	if (!W->mem) {
		struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC};
		long probe = syscall(SYS_openat2, j.root_fd, ".", &how, sizeof how);
		have = probe >= 0 || errno != ENOSYS;
		if (probe >= 0)
			close((int)probe);
	}
	if (!have)
		print_message("openat2 is not available: checking the fallback only\n");
	static const struct {
		const char *fs;
		int oflags;
		bool opens;
	} cases[] = {
	    {"f", O_RDONLY, true},
	    {"d/g", O_RDONLY, true},
	    {"d", O_RDONLY | O_DIRECTORY, true},
	    {"d/e", O_PATH, true},
	    {"", O_RDONLY, false},   /* the root: the walk decides */
	    {"in", O_RDONLY, false}, /* a symlink inside */
	    {"d/up", O_RDONLY, false},
	    {"absin/g", O_RDONLY, false}, /* through a symlink */
	    {"out", O_RDONLY, false},     /* a symlink outside */
	    {"outd/secret", O_RDONLY, false},
	    {"dd/f", O_RDONLY, false},
	    {"d/../f", O_RDONLY, false}, /* ".." */
	    {"./f", O_RDONLY, false},    /* "." */
	    {"d//g", O_RDONLY, false},   /* an empty component */
	    {"d/g/", O_RDONLY, false},
	    {SW_JAIL_TEMP_PREFIX "x", O_RDONLY, false}, /* reserved, though it exists */
	    {"d/" SW_JAIL_TEMP_PREFIX "y", O_RDONLY, false},
	    {"nope", O_RDONLY, false}, /* missing: the walk finds ENOENT */
	    {"f/x", O_RDONLY, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *fs = cases[i].fs;
		int fd = sw_jail_open_plain(&j, (const uint8_t *)fs, strlen(fs), cases[i].oflags);
		if ((fd >= 0) != (cases[i].opens && have))
			fail_msg("%s: fd %d", fs, fd);
		if (fd < 0)
			continue;
		struct stat a, b;
		char p[8192];
		snprintf(p, sizeof p, "%s/%s", root, fs);
		assert_int_equal(sw_fs_fstat(FS, fd, &a), 0);
		assert_int_equal(sw_fs_fstatat(FS, AT_FDCWD, p, &b, AT_SYMLINK_NOFOLLOW), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		if (!W->mem)
			assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		sw_fs_close_fd(FS, fd);
	}
	/* A NUL inside the name is never handed to the kernel. */
	assert_int_equal(sw_jail_open_plain(&j, (const uint8_t *)"f\0x", 3, O_RDONLY), -1);
	sw_jail_fini(&j);
}

static void test_walk_failmem(void **state)
{
	(void)state;
	const char *paths[] = {"d/up", "absin/g", "d/../d/e/../g"};
	for (size_t i = 0; i < 3; i++) {
		sw_failmem fm;
		sw_failmem_init(&fm, 0, false);
		sw_jail j;
		assert_int_equal(sw_jail_init_fs(&j, FS, root, &fm.mem), 0);
		size_t c0 = fm.calls;
		sw_jail_res r;
		int e;
		assert_int_equal(sw_jail_resolve(&j, (const uint8_t *)paths[i], strlen(paths[i]),
		                                 SW_JAIL_FOLLOW, &r, &e), 0);
		sw_jail_res_fini(&r);
		size_t calls = fm.calls - c0;
		for (size_t n = 1; n <= calls; n++) {
			fm.fail_at = c0 + n;
			fm.calls = c0;
			fm.persistent = n & 1;
			int rc = sw_jail_resolve(&j, (const uint8_t *)paths[i], strlen(paths[i]),
			                         SW_JAIL_FOLLOW, &r, &e);
			assert_true(rc == 0 || rc == SW_ERR_NOMEM);
			if (rc == 0)
				sw_jail_res_fini(&r);
		}
		sw_jail_fini(&j);
		assert_int_equal(fm.live, 0);
	}
}

/* The walk's tests on the disk, then on the memfs. */
#define ON_BOTH(t)                                                                                 \
	static void t##_disk(void **state)                                                         \
	{                                                                                          \
		W = &worlds[0];                                                                    \
		t(state);                                                                          \
	}                                                                                          \
	static void t##_mem(void **state)                                                          \
	{                                                                                          \
		W = &worlds[1];                                                                    \
		t(state);                                                                          \
	}
ON_BOTH(test_walk)
ON_BOTH(test_toctou_swap)
ON_BOTH(test_open_plain)
ON_BOTH(test_walk_failmem)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_translate),         cmocka_unit_test(test_invalid_url),
	    cmocka_unit_test(test_translate_failmem), cmocka_unit_test(test_walk_disk),
	    cmocka_unit_test(test_walk_mem),          cmocka_unit_test(test_toctou_swap_disk),
	    cmocka_unit_test(test_toctou_swap_mem),   cmocka_unit_test(test_open_plain_disk),
	    cmocka_unit_test(test_open_plain_mem),    cmocka_unit_test(test_walk_failmem_disk),
	    cmocka_unit_test(test_walk_failmem_mem),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
