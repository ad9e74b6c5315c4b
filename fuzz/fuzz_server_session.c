/*
 * Fuzz target: a whole server session.  The reference file server
 * (smartwire/vfs_server.h: sw_vfs behind sw_dispatch) is served by
 * sw_serve_medium (smartwire/server.h: the daemon's worker loop and
 * connection driver, the code `smartwire serve` runs) over the in-process fifo
 * (smartwire/medium.h) with a fault plan (smartwire/fault.h) on the server's
 * end.  The protocol bytes of the input (fdp.h) are everything the client
 * sends before closing its side.  No socket, thread, clock-dependent
 * decision or randomness: the client writes the whole stream into the fifo
 * and half-closes it before the server starts, so every read finds data or
 * EOF and the loop never waits (idle timeout off; the one-worker daemon
 * of a medium without descriptors makes no epoll instance and starts no
 * thread, and the clock is never read).  A fifo moves nothing without
 * copying, so the copying path is what runs here (the zero-copy one has
 * its own fault matrix, tests/server/test_server_faults.c).
 *
 * THE TREE lives in an in-memory file system (smartwire/fs.h, sw_memfs_new)
 * made once per process: the jail, the VFS verbs and every check below run
 * on it exactly as on the disk, at memory speed and with nothing left
 * behind.  With SW_FUZZ_FS=disk (fuzz/smoke.sh runs that too) the same
 * trees are made on the real file system instead, under <tmp> = $TMPDIR,
 * else /dev/shm when writable, else /tmp.  Either way <base> =
 * <tmp>/sw-fuzz-server.<10-digit pid> ("pid" 0 in memory) holds
 *   <base>/ro/        the tree served read-only (created once)
 *   <base>/rw/        the tree served read-write, recreated before each run
 *                     that follows a change (in memory: also at the end of an
 *                     execution that changed it, see LLVMFuzzerTestOneInput)
 *   <base>/sentinel/  a file next to the roots that no run may touch
 * Both roots hold the same fixed layout (see `layout` below: files, an empty
 * file, nested directories, a symlink inside the root and one pointing out
 * of it).  <base> is removed at exit, and on the disk trees left by
 * processes that died without exiting (killed at the end of a campaign) are
 * removed when the next process starts.
 *
 * THE TRAILER (fdp.h), read by this target as:
 *   plan % 4          allocation fault, as fdp.h (1 once, 2 persistently)
 *   (plan >> 2) % 8   I/O fault on the server's end of the fifo:
 *                       0     none
 *                       1     eof@N        (reads end early)
 *                       2     read error@N:ECONNRESET (reads as EOF, as Breezy)
 *                       3     read error@N:EIO
 *                       4     write error@N:EPIPE
 *                       5     write error@N:EIO
 *                       6     eagain=1/3 and eintr=1/2 in both roles
 *                       7     stall@N on reads (wait_readable times out)
 *   (plan >> 5) & 3   the read/write sizes: 0, 1 the chunks list, 2
 *                     every:M, 3 rand:1-M (M = chunks[0] + 1, seed fail_at)
 *   plan >> 7         the plans go to sw_fifo_pair (a_to_b for the server's
 *                     reads, b_to_a's write sizes for its writes) instead
 *                     of sw_fault_wrap on the server's end (not with faults
 *                     4-6, which need the write role of the wrapper)
 *   fail_at           N: the allocation that fails (modulo the allocations
 *                     of the clean run), and the byte offset of an I/O fault
 *                     (modulo the input length + 1 for reads, the clean
 *                     run's output length + 1 for writes)
 *   variant bit 0     read-write server (else read-only)
 *           bit 1     pipe_exact (read exactly next_read_size bytes)
 *           bit 2     small limits and a tiny output watermark / stream chunk
 *   chunks            the server's read sizes and write sizes (fault plan
 *                     read= and write=), cycled
 *
 * THE RUNS AND CHECKS.
 *   A  the input read whole, no fault: the reference (output bytes, how the
 *      session ended, requests answered, and for a read-write server the
 *      hash of the tree afterwards);
 *   B  the input through the chunked reads and writes plus the I/O fault:
 *        no fault, EAGAIN/EINTR bursts: exactly A (output, end, tree);
 *        eof@N / ECONNRESET@N: exactly T, the clean run on the first N bytes
 *          (when N is the whole input, T is A and is not run again);
 *        stall@N: if T read up to its end of stream, B must end with the
 *          idle time-out or the request deadline (no error code) after a
 *          prefix of T's output; otherwise exactly T;
 *        EIO@N on reads: if T read up to its end of stream (it ended EOF or
 *          EOF_MID_REQUEST), B must end SW_SERVE_IO with SW_ERR_IO and have
 *          written a prefix of T's output; otherwise (T ended on a protocol
 *          error before byte N) exactly T;
 *        error@N on writes: if A wrote more than N bytes, B must end
 *          SW_SERVE_IO with SW_ERR_CONNECTION_RESET (EPIPE) or SW_ERR_IO
 *          (EIO) after writing exactly A's first N bytes; otherwise exactly A;
 *   D  when the trailer asks for it, the chunked run with the N-th allocation
 *      failing: it must end with error SW_ERR_NOMEM having written a prefix
 *      of A's output, or absorb the failure and equal A.
 * Every fault plan used is also written in the fault.h text grammar and
 * parsed back, which must give an equal plan.
 * In every run: nothing leaks (the failing allocator's live count is 0 after
 * everything is closed), the sentinel and <base> are untouched, a read-only
 * tree hashes the same as before, and a read-write tree holds no leftover
 * upload temporary file (SW_JAIL_TEMP_PREFIX).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdp.h"
#include "smartwire/error.h"
#include "smartwire/fault.h"
#include "smartwire/format.h"
#include "smartwire/fs.h"
#include "smartwire/jail.h"
#include "smartwire/medium.h"
#include "smartwire/server.h"
#include "smartwire/vfs.h"
#include "smartwire/vfs_server.h"

/* ---- the served tree ------------------------------------------------- */

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

/* The output buffers of runs A, B, T and D, kept between executions so
 * that a run appends into memory it already has (libc memory: the
 * harness's, not the server's, which goes through the failing allocator). */
enum { RUN_A, RUN_B, RUN_T, RUN_D, RUNS };
static sw_buf outbufs[RUNS];

static void cleanup(void)
{
	if (base[0])
		remove_tree(base);
	sw_fs_del(fs);
	for (int i = 0; i < RUNS; i++)
		sw_buf_fini(&outbufs[i]);
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

static void setup_once(void)
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
			sw_fuzz_fail("server_session: %s/%s appeared outside the served roots\n", base, n);
	}
	free_names(&x);
	if (tree_hash(sentinel, false) != sentinel_hash)
		sw_fuzz_fail("server_session: the sentinel next to the root was changed\n");
}

/* ---- one session ----------------------------------------------------- */

static void reset_rw(void)
{
	remove_tree(rw_root);
	make_tree(rw_root);
	rw_made_at = changes();
}

typedef struct outcome {
	int setup;      /* 0, or the (negative) error that stopped the run early */
	int rv;         /* sw_serve_medium's return */
	sw_serve_result res;
	sw_buf out;     /* what the client received (libc memory) */
	uint64_t tree;  /* read-write: hash of the tree afterwards */
	size_t calls;   /* allocations made */
} outcome;

typedef struct run_cfg {
	bool rw, pipe_exact, small;
	const sw_fault_plan *rplan, *wplan; /* server end: reads / writes (NULL: none) */
	bool pair_plans; /* give the plans to sw_fifo_pair instead of sw_fault_wrap */
	size_t fail_at;
	bool persistent;
} run_cfg;

static const char *end_name(int e)
{
	static const char *const ends[] = {"EOF",      "EOF_MID_REQUEST", "TIMEOUT",
	                                   "DEADLINE", "PROTOCOL",        "IO",
	                                   "STALLED",  "STOPPED"};
	return e >= 0 && e < 8 ? ends[e] : "?";
}

static void session(const run_cfg *rc, const uint8_t *in, size_t len, outcome *o, int slot)
{
	memset(o, 0, sizeof *o);
	o->out = outbufs[slot];
	if (!o->out.data)
		sw_buf_init(&o->out, NULL);
	sw_buf_reset(&o->out);
	o->rv = -1;
	if (rc->rw && (on_disk || changes() != rw_made_at))
		reset_rw();
	uint64_t changes_before = changes();
	sw_failmem fm;
	sw_failmem_init(&fm, rc->fail_at, rc->persistent);
	const sw_mem *mem = &fm.mem;

	sw_medium *cli = NULL, *srv_inner = NULL, *srv = NULL;
	sw_vfs *vfs = NULL;
	int rv;
	if (rc->pair_plans) {
		/* a_to_b: read role at the server (its write= would shape the
		 * client's writes); b_to_a: only its write= sizes shape the
		 * server's writes (the rest would apply to the client's reads). */
		sw_fault_plan back;
		sw_fault_plan_init(&back);
		if (rc->wplan)
			back.write = rc->wplan->write;
		rv = sw_fifo_pair(&cli, &srv, rc->rplan, &back, mem);
		if (rv != 0)
			goto out;
	} else {
		rv = sw_fifo_pair(&cli, &srv_inner, NULL, NULL, mem);
		if (rv != 0)
			goto out;
		rv = sw_fault_wrap(&srv, srv_inner, rc->rplan, rc->wplan);
		srv_inner = NULL; /* owned by the wrapper, or closed on failure */
		if (rv != 0)
			goto out;
	}
	if (strcmp(sw_medium_name(srv), "fault") != 0 && strcmp(sw_medium_name(srv), "fifo") != 0)
		sw_fuzz_fail("server_session: the server's medium is a \"%s\"\n", sw_medium_name(srv));
	if (len) {
		size_t done = 0;
		rv = sw_medium_write_all(cli, in, len, &done);
		if (rv != 0)
			goto out;
	}
	if ((rv = sw_medium_shutdown_write(cli)) != 0)
		goto out;

	sw_vfs_config vc = {.allow_writes = rc->rw, .fs = fs};
	if (rc->small) {
		vc.max_body = 64;
		vc.max_readv_ranges = 4;
		vc.max_path_len = 32;
		vc.max_names = 4;
		vc.max_depth = 2;
	}
	rv = sw_vfs_new(&vfs, rc->rw ? rw_root : ro_root, &vc, mem);
	if (rv != 0)
		goto out;
	sw_srv_config sc;
	memset(&sc, 0, sizeof sc);
	sc.idle_timeout_ms = -1;
	sc.pipe_exact = rc->pipe_exact;
	if (rc->small) {
		sc.max_line = 64;
		sc.max_args = 6;
		sc.max_body = 128;
		sc.max_header = 48;
		sc.max_struct = 96;
		sc.max_part = 96;
		sc.blimits.max_depth = 3;
		sc.blimits.max_elements = 12;
		sc.output_watermark = 16;
		sc.stream_chunk = 7;
		sc.read_size = 13;
	} else {
		/* Room for the whole stream and the end of it in one read, as
		 * the default 64 KiB gives for any input up to -max_len: each
		 * read asks for at least what the fifo holds plus one byte, so
		 * it returns what a 64 KiB read returns (the fault plan's sizes
		 * cap both alike), and the worker's buffer is len + 1 bytes
		 * instead of 64 KiB per run (under ASan, fresh pages and 8 KiB of
		 * shadow to poison each time, the quarantine keeping the freed
		 * one). */
		sc.read_size = len + 1;
	}
	o->rv = sw_serve_medium(&sc, sw_vfs_dispatch(), vfs, srv, &o->res, mem);
	if (o->rv < 0) {
		rv = o->rv;
		goto out;
	}
	if (o->rv != (int)o->res.end)
		sw_fuzz_fail("server_session: sw_serve_medium returned %d but res.end is %d\n", o->rv,
		             (int)o->res.end);
	rv = 0;
out:
	o->setup = rv;
	sw_vfs_del(vfs);
	sw_medium_del(srv); /* the client now reads the queued bytes, then EOF */
	sw_medium_del(srv_inner);
	if (cli) {
		/* Read straight into the output buffer, sized once from what
		 * the fifo says is queued (one more byte to see the EOF). */
		size_t pending = sw_fifo_pending(cli);
		if (sw_buf_reserve(&o->out, pending + 1) != 0)
			sw_fuzz_fail("server_session: out of memory\n");
		for (;;) {
			if (o->out.cap - o->out.len < 4096 && sw_buf_reserve(&o->out, 4096) != 0)
				sw_fuzz_fail("server_session: out of memory\n");
			ptrdiff_t n =
			    sw_medium_read(cli, o->out.data + o->out.len, o->out.cap - o->out.len);
			if (n <= 0) {
				if (n < 0 && n != SW_ERR_NOMEM)
					sw_fuzz_fail("server_session: reading the answer failed: %s\n",
					             sw_errname((int)n));
				break;
			}
			o->out.len += (size_t)n;
		}
		if (o->out.len != pending)
			sw_fuzz_fail("server_session: sw_fifo_pending said %zu bytes, %zu were read\n",
			             pending, o->out.len);
		sw_medium_del(cli);
	}
	sw_fuzz_mem_check_leaks(&fm, "server_session");
	o->calls = fm.calls;
	if (fm.failures == 0 && (rv == SW_ERR_NOMEM || o->res.error == SW_ERR_NOMEM))
		sw_fuzz_fail("server_session: SW_ERR_NOMEM without an injected failure\n");
	if (fm.failures == 0 && rv != 0)
		sw_fuzz_fail("server_session: setup failed without a fault: %s\n", sw_errname(rv));
	/* Nothing changed: the trees are the ones made (the memfs says so). */
	bool changed = on_disk || changes() != changes_before;
	if (changed)
		check_outside();
	if (rc->rw)
		o->tree = changed ? tree_hash(rw_root, true) : rw_hash;
	else if (changed && tree_hash(ro_root, false) != ro_hash)
		sw_fuzz_fail("server_session: the read-only server changed its tree\n");
}

/* Gives the output buffer back to its slot (kept for the next execution). */
static void free_outcome(outcome *o, int slot)
{
	outbufs[slot] = o->out;
}

static void show(const char *label, const outcome *o)
{
	fprintf(stderr, "--- %s: setup %s, end %s, error %s, %llu request(s), tree %016llx, "
	        "%zu byte(s) out\n", label, sw_errname(o->setup), end_name(o->res.end),
	        sw_errname(o->res.error), (unsigned long long)o->res.requests,
	        (unsigned long long)o->tree, o->out.len);
	sw_buf t;
	sw_buf_init(&t, NULL);
	size_t n = o->out.len > 2000 ? 2000 : o->out.len;
	if (sw_format_bytes(&t, o->out.data, n) == 0)
		fprintf(stderr, "%.*s%s\n", (int)t.len, (const char *)t.data,
		        n < o->out.len ? "..." : "");
	sw_buf_fini(&t);
}

static bool same_out(const outcome *a, const outcome *b)
{
	return a->out.len == b->out.len &&
	       (a->out.len == 0 || memcmp(a->out.data, b->out.data, a->out.len) == 0);
}

static bool is_prefix(const outcome *p, const outcome *of)
{
	return p->out.len <= of->out.len &&
	       (p->out.len == 0 || memcmp(p->out.data, of->out.data, p->out.len) == 0);
}

static void require_equal(const char *what, const outcome *want, const outcome *got)
{
	if (same_out(want, got) && want->setup == got->setup && want->res.end == got->res.end &&
	    want->res.error == got->res.error && want->res.requests == got->res.requests &&
	    want->tree == got->tree)
		return;
	show("expected", want);
	show("got", got);
	sw_fuzz_fail("server_session: %s changed the session\n", what);
}

/* The plans are values of the fault.h text grammar: formatting one and
 * parsing the text back must give an equal plan (the spec is how a failing
 * run is written down and replayed by tests and the conformance runner). */
static void plan_round_trip(const sw_fault_plan *p)
{
	sw_buf t;
	sw_buf_init(&t, NULL);
	int rv = sw_fault_plan_format(p, &t);
	if (rv != 0)
		sw_fuzz_fail("server_session: sw_fault_plan_format refused a plan: %s\n",
		             sw_errname(rv));
	if (sw_buf_append_byte(&t, 0) != 0)
		sw_fuzz_fail("server_session: out of memory\n");
	sw_fault_plan back;
	sw_errinfo ei = {0};
	rv = sw_fault_plan_parse((const char *)t.data, &back, &ei);
	if (rv != 0 || !sw_fault_plan_equal(p, &back))
		sw_fuzz_fail("server_session: the spec \"%s\" does not parse back to its plan "
		             "(%s)\n",
		             (const char *)t.data, ei.text);
	sw_buf_fini(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	sw_fuzz_ctl ctl;
	sw_fuzz_ctl_read(&ctl, data, size);
	sw_fdp f;
	sw_fdp_init(&f, data, size);
	uint8_t plan = sw_fdp_u8(&f);
	unsigned io = (plan >> 2) % 8u;
	unsigned sizes = (plan >> 5) & 3u;

	run_cfg rc = {.rw = ctl.variant & 1, .pipe_exact = (ctl.variant >> 1) & 1,
	              .small = (ctl.variant >> 2) & 1};

	outcome a;
	session(&rc, ctl.data, ctl.len, &a, RUN_A);
	if (a.setup != 0)
		sw_fuzz_fail("server_session: the clean run failed to start: %s\n",
		             sw_errname(a.setup));
	if (getenv("SW_FUZZ_TRACE"))
		show("server_session", &a);

	/* B: chunked reads and writes, plus the I/O fault. */
	sw_fault_plan rp, wp;
	sw_fault_plan_init(&rp);
	rp.read.kind = SW_FAULT_SIZES_LIST;
	rp.read.n = SW_FUZZ_CHUNKS;
	for (size_t i = 0; i < SW_FUZZ_CHUNKS; i++)
		rp.read.v[i] = (uint32_t)sw_fuzz_chunk(&ctl, i);
	if (sizes == 2) {
		rp.read.kind = SW_FAULT_SIZES_EVERY;
		rp.read.v[0] = ctl.chunks[0] + 1u;
	} else if (sizes == 3) {
		rp.read.kind = SW_FAULT_SIZES_RAND;
		rp.read.v[0] = 1;
		rp.read.v[1] = ctl.chunks[0] + 1u;
		rp.seed = ctl.fail_at;
	}
	sw_fault_plan_init(&wp);
	wp.write = rp.read;
	wp.seed = rp.seed;
	uint64_t n_in = ctl.fail_at % (ctl.len + 1);
	uint64_t n_out = ctl.fail_at % (a.out.len + 1);
	switch (io) {
	case 1:
		rp.has_eof = true;
		rp.eof_at = n_in;
		break;
	case 2:
	case 3:
		rp.has_error = true;
		rp.error_at = n_in;
		rp.error_errno = io == 2 ? ECONNRESET : EIO;
		break;
	case 4:
	case 5:
		wp.has_error = true;
		wp.error_at = n_out;
		wp.error_errno = io == 4 ? EPIPE : EIO;
		break;
	case 6:
		rp.eagain_k = wp.eagain_k = 1;
		rp.eagain_m = wp.eagain_m = 3;
		rp.eintr_k = wp.eintr_k = 1;
		rp.eintr_m = wp.eintr_m = 2;
		break;
	case 7:
		rp.has_stall = true;
		rp.stall_at = n_in;
		break;
	default:
		break;
	}
	plan_round_trip(&rp);
	plan_round_trip(&wp);
	run_cfg rb = rc;
	rb.rplan = &rp;
	rb.wplan = &wp;
	rb.pair_plans = (plan >> 7) && io != 4 && io != 5 && io != 6;
	outcome b;
	session(&rb, ctl.data, ctl.len, &b, RUN_B);
	if (b.setup != 0)
		sw_fuzz_fail("server_session: the chunked run failed to start: %s\n",
		             sw_errname(b.setup));

	if (io == 1 || io == 2 || io == 3 || io == 7) {
		/* T: the clean run on the first n_in bytes.  When n_in is the
		 * whole input, T is A (the same configuration, bytes and starting
		 * tree: session() rebuilds a changed read-write tree first) and
		 * is not run again. */
		outcome t_run;
		const outcome *tp = &a;
		if (n_in != ctl.len) {
			session(&rc, ctl.data, (size_t)n_in, &t_run, RUN_T);
			tp = &t_run;
		}
		const outcome t = *tp;
		bool read_to_end = t.res.end == SW_SERVE_EOF || t.res.end == SW_SERVE_EOF_MID_REQUEST;
		if (io == 7 && read_to_end) {
			/* A stalled read looks like time running out: the idle
			 * timeout between requests, the deadline inside one. */
			bool timed_out = b.res.end == SW_SERVE_TIMEOUT || b.res.end == SW_SERVE_DEADLINE;
			if (!timed_out || b.res.error != 0 || !is_prefix(&b, &t)) {
				show("clean run up to the stall", &t);
				show("with the stall", &b);
				sw_fuzz_fail("server_session: a stall at byte %llu was not reported as a "
				             "time-out after a prefix of the output\n",
				             (unsigned long long)n_in);
			}
		} else if (io != 3 || !read_to_end) {
			require_equal("an early end of stream (or EOF-like read error)", &t, &b);
		} else if (b.res.end != SW_SERVE_IO || b.res.error != SW_ERR_IO || !is_prefix(&b, &t)) {
			show("clean run up to the error offset", &t);
			show("with the read error", &b);
			sw_fuzz_fail("server_session: a read error at byte %llu was not reported as "
			             "SW_SERVE_IO/SW_ERR_IO after a prefix of the output\n",
			             (unsigned long long)n_in);
		}
		if (tp == &t_run)
			free_outcome(&t_run, RUN_T);
	} else if ((io == 4 || io == 5) && a.out.len > n_out) {
		int want = io == 4 ? SW_ERR_CONNECTION_RESET : SW_ERR_IO;
		if (b.res.end != SW_SERVE_IO || b.res.error != want || b.out.len != n_out ||
		    (n_out && memcmp(b.out.data, a.out.data, (size_t)n_out) != 0)) {
			show("clean", &a);
			show("with the write error", &b);
			sw_fuzz_fail("server_session: a write error at byte %llu was not reported as "
			             "SW_SERVE_IO/%s after exactly the bytes before it\n",
			             (unsigned long long)n_out, sw_errname(want));
		}
	} else {
		require_equal("reading and writing in pieces (with EAGAIN/EINTR bursts)", &a, &b);
	}
	free_outcome(&b, RUN_B);

	/* D: the N-th allocation fails. */
	size_t fail_at = sw_fuzz_pick_failure(&ctl, a.calls);
	if (ctl.fault != SW_FUZZ_FAULT_NONE && fail_at != 0) {
		run_cfg rd = rc;
		sw_fault_plan_init(&rp);
		rp.read.kind = SW_FAULT_SIZES_LIST;
		rp.read.n = SW_FUZZ_CHUNKS;
		for (size_t i = 0; i < SW_FUZZ_CHUNKS; i++)
			rp.read.v[i] = (uint32_t)sw_fuzz_chunk(&ctl, i);
		rd.rplan = &rp;
		rd.fail_at = fail_at;
		rd.persistent = ctl.fault == SW_FUZZ_FAULT_PERSISTENT;
		outcome d;
		session(&rd, ctl.data, ctl.len, &d, RUN_D);
		bool reported = d.setup == SW_ERR_NOMEM || d.res.error == SW_ERR_NOMEM;
		if (reported ? !is_prefix(&d, &a) : !(same_out(&a, &d) && a.res.end == d.res.end &&
		                                       a.res.error == d.res.error && a.tree == d.tree)) {
			show("clean", &a);
			show("with the allocation failure", &d);
			sw_fuzz_fail("server_session: allocation %zu failed (%s) and the session %s\n",
			             fail_at, rd.persistent ? "persistently" : "once",
			             reported ? "wrote bytes the clean run did not"
			                      : "neither ended with SW_ERR_NOMEM nor gave the clean result");
		}
		free_outcome(&d, RUN_D);
	}
	free_outcome(&a, RUN_A);
	/* Leave the in-memory tree as made, so that an execution frees what it
	 * allocates: libFuzzer runs an input a second time (and then a leak
	 * check) whenever an execution ends with more blocks allocated than it
	 * started with, which a read-write session that added files did. */
	if (!on_disk && changes() != rw_made_at)
		reset_rw();
	return 0;
}
