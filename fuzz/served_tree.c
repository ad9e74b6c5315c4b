/*
 * The trees fuzz_server_session serves (served_tree.h): made once, remade
 * after a change, hashed and checked after every run.
 */
#include "served_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdp.h"
#include "smartwire/jail.h"

typedef struct entry {
	char type; /* 'd' directory, 'f' file, 'l' symlink */
	const char *path;
	const char *data; /* file contents or link target */
	unsigned mode;
} entry;

static const entry layout[] = {
    {'f', "README", "hello world\n", 0644},
    {'f', "empty", "", 0644},
    {'d', "d", NULL, 0755},
    {'f', "d/a.txt", "alpha\n", 0644},
    {'d', "d/sub", NULL, 0755},
    {'f', "d/sub/c", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 0600},
    {'d', ".bzr", NULL, 0755},
    {'f', ".bzr/branch-format", "Bazaar-NG meta directory, format 1\n", 0644},
    {'l', "link", "d/a.txt", 0},
    {'l', "escape", "../sentinel/keep", 0},
    {'d', "emptydir", NULL, 0755},
    /* What the captured sessions (corpus/sessions) read. */
    {'f', "testfile", "contents\nof\nfile\n", 0644},
    {'f', "readvfile", "0123456789", 0644},
};

/* The file system the trees live in: a memfs made once per process (the
 * default), or the disk with SW_FUZZ_FS=disk (fuzz/smoke.sh runs both). */
static sw_fs *fs;
static bool on_disk;
static char base[256], ro_root[300], rw_root[300], sentinel[300];
static uint64_t ro_hash, rw_hash, sentinel_hash;
/* sw_memfs_changes() when the read-write tree was last made: a memfs that
 * counts no change since holds the same trees, so the checks below that
 * would walk them are known to pass and are skipped (on the disk,
 * everything is checked every time). */
static uint64_t rw_made_at;

static uint64_t changes(void)
{
	return on_disk ? 0 : sw_memfs_changes(fs);
}

static void die_errno(const char *what, const char *path)
{
	sw_fuzz_fail("server_session: %s %s: %s\n", what, path, strerror(errno));
}

/* The tree functions below work relative to directory descriptors (one
 * path component per call where they can): every call with a whole path
 * walks it from the root again, which was most of the cost of rebuilding
 * and hashing a tree in memory. */
static void write_file(int dfd, const char *path, const char *data, unsigned mode)
{
	int fd = sw_fs_openat(fs, dfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die_errno("create", path);
	size_t n = strlen(data);
	if (n && sw_fs_write(fs, fd, data, n) != (ssize_t)n)
		die_errno("write", path);
	if (sw_fs_fchmod(fs, fd, mode) != 0)
		die_errno("chmod", path);
	sw_fs_close_fd(fs, fd);
}

static void make_tree(const char *root)
{
	if (sw_fs_mkdirat(fs, AT_FDCWD, root, 0755) != 0)
		die_errno("mkdir", root);
	int rfd = sw_fs_openat(fs, AT_FDCWD, root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (rfd < 0)
		die_errno("open", root);
	for (size_t i = 0; i < sizeof layout / sizeof layout[0]; i++) {
		const entry *e = &layout[i];
		if (e->type == 'd') {
			if (sw_fs_mkdirat(fs, rfd, e->path, e->mode) != 0)
				die_errno("mkdir", e->path);
		} else if (e->type == 'f') {
			write_file(rfd, e->path, e->data, e->mode);
		} else if (sw_fs_symlinkat(fs, e->data, rfd, e->path) != 0) {
			die_errno("symlink", e->path);
		}
	}
	sw_fs_close_fd(fs, rfd);
}

typedef struct names {
	char **v;
	size_t n, cap;
} names;

static int add_name(void *ud, const char *name)
{
	names *x = ud;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 16;
		if (!(x->v = realloc(x->v, x->cap * sizeof *x->v)))
			sw_fuzz_fail("server_session: out of memory\n");
	}
	if (!(x->v[x->n++] = strdup(name)))
		sw_fuzz_fail("server_session: out of memory\n");
	return 0;
}

static void free_names(names *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->v[i]);
	free(x->v);
}

/* The entries of directory `dir`, or n == 0 if it cannot be listed. */
static names list(const char *dir)
{
	names x = {NULL, 0, 0};
	int fd = sw_fs_openat(fs, AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd >= 0) {
		sw_fs_readdir(fs, fd, add_name, &x);
		sw_fs_close_fd(fs, fd);
	}
	return x;
}

/* rm -rf of `name` in directory `dfd`, making directories searchable
 * first: a fuzzed mkdir or chmod may have left mode 000. */
static void remove_at(int dfd, const char *name)
{
	struct stat st;
	if (sw_fs_fstatat(fs, dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		if (sw_fs_unlinkat(fs, dfd, name, 0) != 0)
			die_errno("unlink", name);
		return;
	}
	sw_fs_fchmodat(fs, dfd, name, 0700, 0);
	int sub = sw_fs_openat(fs, dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (sub >= 0) {
		names x = {NULL, 0, 0};
		sw_fs_readdir(fs, sub, add_name, &x);
		for (size_t i = 0; i < x.n; i++)
			remove_at(sub, x.v[i]);
		free_names(&x);
		sw_fs_close_fd(fs, sub);
	}
	if (sw_fs_unlinkat(fs, dfd, name, AT_REMOVEDIR) != 0)
		die_errno("rmdir", name);
}

static void remove_tree(const char *path)
{
	remove_at(AT_FDCWD, path);
}

/* FNV-1a over a canonical walk: names sorted, per entry its type, mode,
 * size and contents (file) or target (symlink); mtimes are left out. */
static void fnv(uint64_t *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++) {
		*h ^= b[i];
		*h *= 0x100000001b3ull;
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Hashes the tree below directory `dir` of `pdfd`; aborts on a leftover
 * upload temporary file when `no_temp`. */
static void hash_dir(uint64_t *h, int pdfd, const char *dir, bool no_temp)
{
	int dfd = sw_fs_openat(fs, pdfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (dfd < 0) {
		fnv(h, "?", 1); /* unreadable (mode 000 as non-root) */
		return;
	}
	names x = {NULL, 0, 0};
	sw_fs_readdir(fs, dfd, add_name, &x);
	if (x.n > 1)
		qsort(x.v, x.n, sizeof *x.v, cmp_names);
	for (size_t i = 0; i < x.n; i++) {
		const char *nm = x.v[i];
		if (no_temp && strncmp(nm, SW_JAIL_TEMP_PREFIX, strlen(SW_JAIL_TEMP_PREFIX)) == 0)
			sw_fuzz_fail("server_session: upload temporary file %s/%s left behind\n",
			             dir, nm);
		fnv(h, nm, strlen(nm) + 1);
		struct stat st;
		if (sw_fs_fstatat(fs, dfd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0)
			die_errno("lstat", nm);
		uint32_t mode = (uint32_t)st.st_mode;
		fnv(h, &mode, sizeof mode);
		if (S_ISREG(st.st_mode)) {
			uint64_t size = (uint64_t)st.st_size;
			fnv(h, &size, sizeof size);
			int fd = sw_fs_openat(fs, dfd, nm, O_RDONLY | O_NOFOLLOW, 0);
			if (fd >= 0) {
				char buf[4096];
				ssize_t k;
				off_t at = 0;
				while ((k = sw_fs_pread(fs, fd, buf, sizeof buf, at)) > 0) {
					fnv(h, buf, (size_t)k);
					at += k;
				}
				sw_fs_close_fd(fs, fd);
			}
		} else if (S_ISLNK(st.st_mode)) {
			char t[4096];
			ssize_t k = sw_fs_readlinkat(fs, dfd, nm, t, sizeof t);
			if (k > 0)
				fnv(h, t, (size_t)k);
		} else if (S_ISDIR(st.st_mode)) {
			fnv(h, "{", 1);
			hash_dir(h, dfd, nm, no_temp);
			fnv(h, "}", 1);
		}
	}
	sw_fs_close_fd(fs, dfd);
	free_names(&x);
}

static uint64_t tree_hash(const char *dir, bool no_temp)
{
	uint64_t h = 0xcbf29ce484222325ull;
	hash_dir(&h, AT_FDCWD, dir, no_temp);
	return h;
}

static void cleanup(void)
{
	if (base[0])
		remove_tree(base);
	sw_fs_del(fs);
}

/* Removes the trees of fuzzing processes that died without running their
 * atexit handler (killed at a campaign's end, crashed): entries named
 * sw-fuzz-server.<pid> in `tmp` whose pid no longer exists (disk only). */
static void remove_stale(const char *tmp)
{
	static const char prefix[] = "sw-fuzz-server.";
	names x = list(tmp);
	for (size_t i = 0; i < x.n; i++) {
		if (strncmp(x.v[i], prefix, sizeof prefix - 1) != 0)
			continue;
		char *end;
		long pid = strtol(x.v[i] + sizeof prefix - 1, &end, 10);
		if (*end || pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH)) {
			char p[600];
			snprintf(p, sizeof p, "%s/%s", tmp, x.v[i]);
			remove_tree(p);
		}
	}
	free_names(&x);
}

void sw_fuzz_tree_setup(void)
{
	if (base[0])
		return;
	const char *which = getenv("SW_FUZZ_FS");
	on_disk = which && strcmp(which, "disk") == 0;
	if (which && !on_disk && strcmp(which, "memfs") != 0)
		sw_fuzz_fail("server_session: SW_FUZZ_FS is \"%s\": say memfs (the default) or "
		             "disk\n",
		             which);
	const char *tmp = "/tmp";
	if (on_disk) {
		fs = sw_fs_disk();
		/* tmpfs when we may: every read-write run rebuilds the tree and
		 * the server fsyncs each upload, which costs real disk writes
		 * elsewhere. */
		tmp = getenv("TMPDIR");
		if (!tmp || !*tmp)
			tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
		remove_stale(tmp);
	} else if (sw_memfs_new(&fs, NULL) != 0 || sw_fs_mkdirat(fs, AT_FDCWD, tmp, 01777) != 0) {
		sw_fuzz_fail("server_session: cannot make the in-memory file system\n");
	}
	/* The pid keeps parallel fuzzers apart on the disk; zero-padded so
	 * that the error texts carrying server paths have the same length in
	 * every process, and an input's byte offsets (write faults) replay
	 * the same.  In memory the name is fixed ("pid" 0). */
	snprintf(base, sizeof base, "%s/sw-fuzz-server.%010ld", tmp, on_disk ? (long)getpid() : 0L);
	remove_tree(base); /* a stale directory of a dead process with our pid */
	if (sw_fs_mkdirat(fs, AT_FDCWD, base, 0755) != 0)
		die_errno("mkdir", base);
	snprintf(ro_root, sizeof ro_root, "%s/ro", base);
	snprintf(rw_root, sizeof rw_root, "%s/rw", base);
	snprintf(sentinel, sizeof sentinel, "%s/sentinel", base);
	make_tree(ro_root);
	make_tree(rw_root);
	if (sw_fs_mkdirat(fs, AT_FDCWD, sentinel, 0755) != 0)
		die_errno("mkdir", sentinel);
	char p[400];
	snprintf(p, sizeof p, "%s/keep", sentinel);
	write_file(AT_FDCWD, p, "do not touch\n", 0644);
	ro_hash = tree_hash(ro_root, false);
	rw_hash = tree_hash(rw_root, true);
	sentinel_hash = tree_hash(sentinel, false);
	rw_made_at = changes();
	atexit(cleanup);
}

/* Nothing may appear in <base> besides ro, rw and sentinel, and the
 * sentinel must be as created: the server never writes outside its root. */
static void check_outside(void)
{
	names x = list(base);
	if (x.n == 0)
		die_errno("list", base);
	for (size_t i = 0; i < x.n; i++) {
		const char *n = x.v[i];
		if (strcmp(n, "ro") && strcmp(n, "rw") && strcmp(n, "sentinel"))
			sw_fuzz_fail("server_session: %s/%s appeared outside the served roots\n",
			             base, n);
	}
	free_names(&x);
	if (tree_hash(sentinel, false) != sentinel_hash)
		sw_fuzz_fail("server_session: the sentinel next to the root was changed\n");
}

static void reset_rw(void)
{
	remove_tree(rw_root);
	make_tree(rw_root);
	rw_made_at = changes();
}

sw_fs *sw_fuzz_tree_fs(void)
{
	return fs;
}

const char *sw_fuzz_tree_root(bool rw)
{
	return rw ? rw_root : ro_root;
}

uint64_t sw_fuzz_tree_begin(bool rw)
{
	if (rw && (on_disk || changes() != rw_made_at))
		reset_rw();
	return changes();
}

uint64_t sw_fuzz_tree_check(bool rw, uint64_t mark)
{
	/* Nothing changed: the trees are the ones made (the memfs says so). */
	bool changed = on_disk || changes() != mark;
	if (changed)
		check_outside();
	if (rw)
		return changed ? tree_hash(rw_root, true) : rw_hash;
	if (changed && tree_hash(ro_root, false) != ro_hash)
		sw_fuzz_fail("server_session: the read-only server changed its tree\n");
	return 0;
}

void sw_fuzz_tree_restore(void)
{
	if (!on_disk && changes() != rw_made_at)
		reset_rw();
}
