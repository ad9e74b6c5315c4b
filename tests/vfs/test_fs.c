/* Tests for the file-system interface (smartwire/fs.h): the in-memory file
 * system against the real one, call by call.
 *
 * The same tree (files, an empty file, directories, symlinks to files and
 * directories, dangling, absolute, looping, pointing up) is built on the
 * disk (under $TMPDIR) and in a memfs at the same absolute path.  Then
 * every call of the interface, with every flag combination the jail and
 * the VFS use (and a few more), is made on both with every name of a list
 * of paths (plain, nested, through symlinks, with trailing slashes, ".",
 * "..", missing, too long, empty; never an absolute path: the calls
 * change modes, and the disk's "/" is not ours): the result, errno, what
 * fstat says of
 * an opened descriptor, and the whole tree afterwards must be the same.
 * A fresh pair of trees is built for every call that may change them. */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs_tree.h"
#include "smartwire/error.h"
#include "smartwire/fs.h"

static fst_world disk, mem;
static char droot[600], mroot[600];
static unsigned long compared, skipped;

/* The tree below <base>/root (made through the interface, on either). */
static void build(fst_world *w, char *root)
{
	char p[1024];
	snprintf(root, 600, "%s/root", w->base);
	fst_dir(w->fs, root, 0755);
#define P(rel) (snprintf(p, sizeof p, "%s/%s", root, rel), p)
	fst_file(w->fs, P("f"), "hello", 5, 0644);
	fst_file(w->fs, P("e"), "", 0, 0600);
	fst_file(w->fs, P("x7"), "exec", 4, 0755);
	fst_dir(w->fs, P("d"), 0755);
	fst_file(w->fs, P("d/x"), "in d", 4, 0644);
	fst_dir(w->fs, P("d/sub"), 0700);
	fst_file(w->fs, P("d/sub/deep"), "deep", 4, 0644);
	fst_dir(w->fs, P("ed"), 0755);
	fst_dir(w->fs, P("sticky"), 01777);
	fst_link(w->fs, "f", P("lf"));
	fst_link(w->fs, "d", P("ld"));
	fst_link(w->fs, "nope", P("ldang"));
	fst_link(w->fs, "nope/deeper", P("ldang2"));
	char abs[800];
	snprintf(abs, sizeof abs, "%s/f", root);
	fst_link(w->fs, abs, P("labs"));
	fst_link(w->fs, "lloop2", P("lloop1"));
	fst_link(w->fs, "lloop1", P("lloop2"));
	fst_link(w->fs, "lself", P("lself"));
	fst_link(w->fs, "..", P("lup"));
	fst_link(w->fs, ".", P("ldot"));
	fst_link(w->fs, "f/", P("lfslash"));
	fst_link(w->fs, "../f", P("d/lupf"));
	fst_link(w->fs, "ed", P("led"));
#undef P
}

static void rebuild(void)
{
	/* A call through "lup" may have changed the base's mode. */
	chmod(disk.base, 0700);
	sw_t_rm_rf(droot);
	sw_fs_del(mem.fs);
	if (sw_memfs_new(&mem.fs, NULL) != 0)
		abort();
	fst_mkdirs(mem.fs, mem.base);
	sw_fs_fchmodat(mem.fs, AT_FDCWD, mem.base, 0700, 0);
	build(&disk, droot);
	build(&mem, mroot);
}

static const char *const names[] = {
    "f",
    "e",
    "x7",
    "d",
    "d/x",
    "d/sub",
    "d/sub/deep",
    "ed",
    "sticky",
    "lf",
    "ld",
    "ldang",
    "ldang2",
    "labs",
    "lloop1",
    "lself",
    "lup",
    "ldot",
    "lfslash",
    "d/lupf",
    "led",
    "missing",
    "missing/x",
    "f/x",
    "f/",
    "d/",
    "ld/",
    "lf/",
    "ldang/",
    "led/",
    "d//x",
    ".",
    "..",
    "./f",
    "d/..",
    "d/../f",
    "d/sub/../../f",
    "ld/x",
    "ld/sub/deep",
    "ldang/x",
    "lup/root/f",
    "ldot/f",
    "ldot/ldot/ld/x",
    "lloop1/x",
    "",
    "sticky/new",
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
    "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
};
#define NNAMES (sizeof names / sizeof names[0])

/* One call's outcome. */
typedef struct res {
	long rv; /* < 0: failed */
	int err;
	char extra[600]; /* what the call produced beyond its result */
} res;

static void describe_st(const struct stat *st, char *out, size_t cap)
{
	/* Directory sizes differ between file systems (ext4 4096, tmpfs
	 * 20 per entry); nobody reports them (the VFS vectors mask them). */
	snprintf(out, cap, "mode %o size %lld", (unsigned)st->st_mode,
	         S_ISDIR(st->st_mode) ? -1LL : (long long)st->st_size);
}

static void same(const char *what, const char *name, const res *a, const res *b)
{
	if (a->rv < 0 && a->err == ENOSYS) {
		/* openat2 under Valgrind, which does not know it (the jail
		 * then walks, as the memfs answer does not matter there). */
		skipped++;
		return;
	}
	compared++;
	if ((a->rv < 0) != (b->rv < 0) || (a->rv < 0 && a->err != b->err) ||
	    strcmp(a->extra, b->extra) != 0)
		fail_msg("%s \"%s\": disk %ld (%s) [%s], memfs %ld (%s) [%s]", what, name, a->rv,
		         a->rv < 0 ? strerror(a->err) : "ok", a->extra, b->rv,
		         b->rv < 0 ? strerror(b->err) : "ok", b->extra);
}

static void same_trees(const char *what, const char *name)
{
	char *a = fst_dump(disk.fs, droot), *b = fst_dump(mem.fs, mroot);
	if (strcmp(a, b) != 0)
		fail_msg("%s \"%s\": the trees differ\n--- disk\n%s--- memfs\n%s", what, name, a,
		         b);
	free(a);
	free(b);
}

/* Runs `call` on both worlds from an O_PATH descriptor of the root. */
typedef void (*call_fn)(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r);

static void both(const char *what, call_fn call, const char *name, const void *arg, bool mutates)
{
	if (mutates)
		rebuild();
	res a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	int da = sw_fs_openat(disk.fs, AT_FDCWD, droot, O_PATH | O_DIRECTORY, 0);
	int db = sw_fs_openat(mem.fs, AT_FDCWD, mroot, O_PATH | O_DIRECTORY, 0);
	assert_true(da >= 0 && db >= 0);
	call(disk.fs, da, name, arg, &a);
	call(mem.fs, db, name, arg, &b);
	sw_fs_close_fd(disk.fs, da);
	sw_fs_close_fd(mem.fs, db);
	same(what, name, &a, &b);
	if (mutates)
		same_trees(what, name);
}

static void finish(res *r, long rv)
{
	r->rv = rv;
	r->err = rv < 0 ? errno : 0;
}

static void c_open(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	int flags = *(const int *)arg;
	int fd = sw_fs_openat(fs, dirfd, name, flags, 0640);
	finish(r, fd);
	if (fd < 0)
		return;
	struct stat st;
	sw_fs_fstat(fs, fd, &st);
	describe_st(&st, r->extra, sizeof r->extra);
	/* What the descriptor allows. */
	char c[8];
	ssize_t k = sw_fs_pread(fs, fd, c, sizeof c, 0);
	size_t l = strlen(r->extra);
	snprintf(r->extra + l, sizeof r->extra - l, "; pread %zd %s", k,
	         k < 0 ? strerror(errno) : "");
	k = sw_fs_write(fs, fd, "W", 1);
	l = strlen(r->extra);
	snprintf(r->extra + l, sizeof r->extra - l, "; write %zd %s", k,
	         k < 0 ? strerror(errno) : "");
	int rv = sw_fs_fsync(fs, fd);
	l = strlen(r->extra);
	snprintf(r->extra + l, sizeof r->extra - l, "; fsync %d %s", rv,
	         rv < 0 ? strerror(errno) : "");
	fst_names x = {NULL, 0};
	rv = sw_fs_readdir(fs, fd, fst_collect, &x);
	if (x.n > 1)
		qsort(x.v, x.n, sizeof *x.v, fst_cmp_str);
	l = strlen(r->extra);
	snprintf(r->extra + l, sizeof r->extra - l, "; readdir %d %s (%zu:", rv,
	         rv < 0 ? strerror(errno) : "", x.n);
	for (size_t i = 0; i < x.n; i++) {
		l = strlen(r->extra);
		snprintf(r->extra + l, sizeof r->extra - l, " %s", x.v[i]);
	}
	l = strlen(r->extra);
	snprintf(r->extra + l, sizeof r->extra - l, ")");
	fst_names_free(&x);
	rv = sw_fs_fchmod(fs, fd, 0604);
	l = strlen(r->extra);
	snprintf(r->extra + l, sizeof r->extra - l, "; fchmod %d %s", rv,
	         rv < 0 ? strerror(errno) : "");
	sw_fs_close_fd(fs, fd);
}

static void c_beneath(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	(void)arg;
	int fd = sw_fs_open_beneath(fs, dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	finish(r, fd);
	if (fd >= 0) {
		struct stat st;
		sw_fs_fstat(fs, fd, &st);
		describe_st(&st, r->extra, sizeof r->extra);
		sw_fs_close_fd(fs, fd);
	}
}

static void c_stat(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	struct stat st;
	int rv = sw_fs_fstatat(fs, dirfd, name, &st, *(const int *)arg);
	finish(r, rv);
	if (rv == 0)
		describe_st(&st, r->extra, sizeof r->extra);
}

static void c_readlink(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	(void)arg;
	char t[64];
	ssize_t k = sw_fs_readlinkat(fs, dirfd, name, t, 5);
	finish(r, k);
	if (k >= 0)
		snprintf(r->extra, sizeof r->extra, "%.*s", (int)k, t);
}

static void c_mkdir(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	finish(r, sw_fs_mkdirat(fs, dirfd, name, *(const mode_t *)arg));
}

static void c_symlink(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	finish(r, sw_fs_symlinkat(fs, (const char *)arg, dirfd, name));
}

static void c_unlink(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	finish(r, sw_fs_unlinkat(fs, dirfd, name, *(const int *)arg));
}

static void c_chmod(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	finish(r, sw_fs_fchmodat(fs, dirfd, name, 0700, *(const int *)arg));
}

typedef struct ren {
	const char *other;
	bool from_other; /* rename other -> name instead of name -> other */
	unsigned flags;
} ren;

static void c_rename(sw_fs *fs, int dirfd, const char *name, const void *arg, res *r)
{
	const ren *x = arg;
	const char *o = x->from_other ? x->other : name, *n = x->from_other ? name : x->other;
	finish(r, sw_fs_renameat2(fs, dirfd, o, dirfd, n, x->flags));
}

static void test_calls(void **state)
{
	(void)state;
	static const int open_flags[] = {
	    O_RDONLY,
	    O_RDONLY | O_NOFOLLOW,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK,
	    O_PATH,
	    O_PATH | O_NOFOLLOW,
	    O_PATH | O_DIRECTORY | O_NOFOLLOW,
	    O_RDONLY | O_DIRECTORY,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
	    O_WRONLY,
	    O_RDWR,
	    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW,
	    O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW,
	    O_WRONLY | O_CREAT | O_TRUNC,
	    O_RDONLY | O_CREAT,
	    O_RDONLY | O_TRUNC,
	};
	static const int stat_flags[] = {0, AT_SYMLINK_NOFOLLOW};
	static const mode_t dir_modes[] = {0755, 01777, 0};
	static const int unlink_flags[] = {0, AT_REMOVEDIR};
	static const char *const others[] = {"newname",      "d/new", "f",         "ed",    "d",
	                                     "d/sub/inside", "ld",    "missing/x", "d/sub", "."};
	for (size_t i = 0; i < NNAMES; i++) {
		const char *n = names[i];
		for (size_t k = 0; k < sizeof open_flags / sizeof *open_flags; k++) {
			char what[64];
			snprintf(what, sizeof what, "openat(%#o)", (unsigned)open_flags[k]);
			both(what, c_open, n, &open_flags[k], true);
		}
		both("open_beneath", c_beneath, n, NULL, false);
		for (size_t k = 0; k < 2; k++)
			both(stat_flags[k] ? "fstatat(NOFOLLOW)" : "fstatat", c_stat, n,
			     &stat_flags[k], false);
		both("readlinkat", c_readlink, n, NULL, false);
		for (size_t k = 0; k < sizeof dir_modes / sizeof *dir_modes; k++)
			both("mkdirat", c_mkdir, n, &dir_modes[k], true);
		both("symlinkat", c_symlink, n, "target", true);
		for (size_t k = 0; k < 2; k++)
			both(unlink_flags[k] ? "unlinkat(REMOVEDIR)" : "unlinkat", c_unlink, n,
			     &unlink_flags[k], true);
		for (size_t k = 0; k < 2; k++)
			both(stat_flags[k] ? "fchmodat(NOFOLLOW)" : "fchmodat", c_chmod, n,
			     &stat_flags[k], true);
		for (size_t k = 0; k < sizeof others / sizeof *others; k++) {
			for (int dir = 0; dir < 2; dir++) {
				for (unsigned fl = 0; fl <= RENAME_NOREPLACE;
				     fl += RENAME_NOREPLACE) {
					ren x = {others[k], dir == 1, fl};
					char what[96];
					snprintf(what, sizeof what, "renameat2(%s%s%s, %u)",
					         dir ? others[k] : "", " <-> ",
					         dir ? "" : others[k], fl);
					both(what, c_rename, n, &x, true);
				}
			}
		}
	}
	printf("fs differential: %lu calls compared on disk and memfs (%lu the disk does not "
	       "have: ENOSYS)\n",
	       compared, skipped);
}

/* Descriptors outlive names: an unlinked file stays readable, a removed
 * directory takes no new entries, a renamed directory keeps its
 * descriptors working, as on the disk. */
static void life(sw_fs *fs, const char *root, sw_buf *log)
{
	char p[800], q[800];
	snprintf(p, sizeof p, "%s/f", root);
	int fd = sw_fs_openat(fs, AT_FDCWD, p, O_RDONLY, 0);
	int rv = sw_fs_unlinkat(fs, AT_FDCWD, p, 0);
	char c[16] = {0};
	ssize_t k = sw_fs_pread(fs, fd, c, sizeof c, 1);
	char t[256];
	snprintf(t, sizeof t, "unlink %d, pread %zd '%.*s'; ", rv, k, (int)(k > 0 ? k : 0), c);
	sw_buf_append_str(log, t);
	sw_fs_close_fd(fs, fd);
	snprintf(p, sizeof p, "%s/ed", root);
	int dfd = sw_fs_openat(fs, AT_FDCWD, p, O_PATH | O_DIRECTORY, 0);
	rv = sw_fs_unlinkat(fs, AT_FDCWD, p, AT_REMOVEDIR);
	int nfd = sw_fs_openat(fs, dfd, "new", O_WRONLY | O_CREAT, 0644);
	int e1 = errno;
	int mk = sw_fs_mkdirat(fs, dfd, "sub", 0755);
	int e2 = errno;
	struct stat st;
	int st_rv = sw_fs_fstatat(fs, dfd, ".", &st, 0);
	snprintf(t, sizeof t, "rmdir %d, create %d %s, mkdir %d %s, stat . %d nlink %ld; ", rv, nfd,
	         strerror(e1), mk, strerror(e2), st_rv, (long)st.st_nlink);
	sw_buf_append_str(log, t);
	sw_fs_close_fd(fs, dfd);
	snprintf(p, sizeof p, "%s/d", root);
	snprintf(q, sizeof q, "%s/moved", root);
	dfd = sw_fs_openat(fs, AT_FDCWD, p, O_PATH | O_DIRECTORY, 0);
	rv = sw_fs_renameat2(fs, AT_FDCWD, p, AT_FDCWD, q, 0);
	fd = sw_fs_openat(fs, dfd, "x", O_RDONLY, 0);
	k = fd >= 0 ? sw_fs_pread(fs, fd, c, sizeof c, 0) : -1;
	char *real = NULL;
	int rp = sw_fs_realpath(fs, q, &real, NULL);
	snprintf(t, sizeof t, "rename %d, read through old fd %zd '%.*s', realpath %d %s", rv, k,
	         (int)(k > 0 ? k : 0), c, rp, real ? real + strlen(root) : "-");
	sw_buf_append_str(log, t);
	sw_free(NULL, real);
	if (fd >= 0)
		sw_fs_close_fd(fs, fd);
	sw_fs_close_fd(fs, dfd);
}

static void test_descriptors_outlive_names(void **state)
{
	(void)state;
	rebuild();
	sw_buf a, b;
	sw_buf_init(&a, NULL);
	sw_buf_init(&b, NULL);
	life(disk.fs, droot, &a);
	life(mem.fs, mroot, &b);
	sw_buf_append_byte(&a, 0);
	sw_buf_append_byte(&b, 0);
	assert_string_equal((char *)b.data, (char *)a.data);
	sw_buf_fini(&a);
	sw_buf_fini(&b);
	same_trees("descriptors", "");
}

static void test_realpath_and_errors(void **state)
{
	(void)state;
	rebuild();
	static const char *const rel[] = {"",        "/f",      "/lf",       "/ld/x",
	                                  "/labs",   "/d/lupf", "/missing",  "/ldang",
	                                  "/lloop1", "/lup",    "/ldot/d/.."};
	for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
		char pa[800], pb[800];
		snprintf(pa, sizeof pa, "%s%s", droot, rel[i]);
		snprintf(pb, sizeof pb, "%s%s", mroot, rel[i]);
		char *ra = NULL, *rb = NULL;
		int a = sw_fs_realpath(disk.fs, pa, &ra, NULL), ea = errno;
		int b = sw_fs_realpath(mem.fs, pb, &rb, NULL), eb = errno;
		assert_int_equal(a, b);
		if (a < 0)
			assert_int_equal(ea, eb);
		else
			assert_string_equal(ra + strlen(disk.base), rb + strlen(mem.base));
		sw_free(NULL, ra);
		sw_free(NULL, rb);
	}
	/* Bad descriptors. */
	assert_int_equal(sw_fs_close_fd(mem.fs, 12345), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(sw_fs_fstatat(mem.fs, 999, "x", &(struct stat){0}, 0), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(sw_fs_native_fd(mem.fs, 0), -1);
	assert_string_equal(sw_fs_name(mem.fs), "memfs");
	assert_string_equal(sw_fs_name(NULL), "disk");
	assert_int_equal(sw_fs_native_fd(NULL, 7), 7);
	sw_fs_del(sw_fs_disk()); /* a no-op */
}

static int setup(void **state)
{
	(void)state;
	fst_open(&disk, false, "sw_fs", NULL);
	fst_open(&mem, true, "sw_fs", &disk);
	snprintf(droot, sizeof droot, "%s/root", disk.base);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fst_close(&disk);
	fst_close(&mem);
	return 0;
}

int main(void)
{
	umask(022);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_calls),
	    cmocka_unit_test(test_descriptors_outlive_names),
	    cmocka_unit_test(test_realpath_and_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
