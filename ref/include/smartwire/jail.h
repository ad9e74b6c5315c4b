/*
 * smartwire: the one place where a client path becomes a file on disk.
 *
 * Every path a VFS verb receives goes through two steps, both here (and
 * nothing in the jail depends on the VFS: it is usable on its own):
 *
 * 1. sw_jail_translate() -- pure string work, byte-compatible with Breezy
 *    3.3.2 (`SmartServerRequest.translate_client_path`, `VfsRequest`,
 *    `URL._combine_paths`, `LocalTransport._abspath`):
 *      - UTF-8 decode (invalid UTF-8 makes Breezy's error translation crash;
 *        reported as SW_JAIL_BAD_UTF8, which the VFS answers as the escaped
 *        exception, SW_VFS_PROTOCOL_ERROR "'bytes' object has no attribute
 *        'encode'");
 *      - prefix '/', `urlutils.joinpath('/', path)` resolving "." and "..";
 *        ".." above the root gives SW_JAIL_ABOVE_ROOT and the exact
 *        InvalidURLJoin message;
 *      - `URL._combine_paths` twice, once for the path filter and once
 *        for the chroot (unescapes %XX of unreserved characters such as
 *        %2e, drops empty and "." segments, clamps ".." at the root);
 *      - a raw non-ASCII path is flagged (`nonascii`): Breezy raises
 *        InvalidURL only when the local transport is touched, so the VFS
 *        decides when to report it (sw_jail_invalid_url());
 *      - %XX unescaping into the file-system name (`fs`), with Python's
 *        UTF-8 "replace" decoding (an undecodable %FF names the file
 *        "\xef\xbf\xbd", as in Breezy).  A decoded NUL is flagged
 *        (`has_nul`; Breezy: ValueError "embedded null byte").
 *
 * 2. sw_jail_resolve() -- the physical walk.  The decoded name may still
 *    contain "/" and ".." (from %2F: Breezy 3.3.2 passes "dir%2F..%2F.." to
 *    the OS and so escapes its chroot; we do not).  The walk starts at a
 *    directory fd opened on the root at sw_jail_init() and opens ONE
 *    component at a time with openat(O_PATH | O_NOFOLLOW | O_DIRECTORY),
 *    never handing the kernel a path with more than one component.  ".."
 *    pops a stack of held directory fds (never openat(".."), so a directory
 *    moved out of the tree mid-walk cannot lead above the root); ".." at the
 *    root is refused.  A symlink met on the way is read with readlinkat() and
 *    its target spliced into the rest of the walk: a relative target continues
 *    from the link's directory, an absolute one must lie under the root's
 *    realpath (then the walk restarts at the root fd).  At most 40 links are
 *    followed (then ELOOP, like Linux).
 *
 * SYMLINK POLICY (a documented departure from Breezy, whose chroot is
 * lexical only and follows any symlink): a symlink whose target resolves
 * inside the root is followed; one whose target leaves the root is treated
 * exactly like a dangling symlink -- the target "does not exist" (ENOENT, so
 * NoSuchFile / has = "no").  The link itself stays visible where Breezy shows
 * links: list_dir names it and stat (lstat) reports it as 0o120777.  Writes
 * through such a link fail with NoSuchFile instead of creating the target.
 * Names starting with SW_JAIL_TEMP_PREFIX (the VFS's in-flight put files)
 * are likewise treated as not existing.
 *
 * FILE SYSTEM: every call the jail and the VFS make on files goes through
 * an sw_fs (smartwire/fs.h): the real one, or an in-memory namespace for
 * tests and fuzzing that behaves the same (sw_jail_init_fs).
 *
 * FAST PATH: sw_jail_open_plain() opens a name made only of plain
 * components (none empty, ".", ".." or reserved) in ONE openat2(2) call
 * from the root fd with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so that the
 * kernel refuses every symlink and every step out of the root; when it
 * fails for any reason the caller runs the walk above, which decides (that
 * is where the symlink policy and the errno to report come from).  It
 * succeeds only where the walk would reach the same file without a
 * decision of its own.  The VFS uses it to open files for get and readv.
 *
 * TOCTOU: after the walk the caller acts on (dirfd, name) with *at() calls
 * that do not follow a symlink in `name` (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW,
 * or calls that never follow one: mkdirat, unlinkat, renameat), so a
 * symlink swapped in after the walk is never followed (opening it fails
 * with ELOOP instead).  Everything above `dirfd` is pinned by the held fd,
 * whatever renames happen concurrently.
 *
 * THREADS: a translated path and a walk result belong to their caller; an
 * sw_jail is only read after sw_jail_init(), so any number of threads may
 * translate, resolve and open through the same jail at once.
 */
#ifndef SMARTWIRE_JAIL_H
#define SMARTWIRE_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/fs.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reserved name prefix of in-flight upload files; hidden from listings and
 * unreachable by client paths. */
#define SW_JAIL_TEMP_PREFIX ".~sw-put."

/* Outcome of sw_jail_translate() (non-negative; negative values are sw_err). */
enum {
	SW_JAIL_OK = 0,
	SW_JAIL_ABOVE_ROOT = 1, /* "..": `msg` holds the InvalidURLJoin text */
	SW_JAIL_BAD_UTF8 = 2    /* not UTF-8: Breezy's handler crashes (see above) */
};

/* A translated client path.  All buffers are owned by the struct (allocated
 * through the `mem` given to sw_jail_path_init) and freed by
 * sw_jail_path_fini(); none is NUL-terminated unless stated. */
typedef struct sw_jail_path {
	sw_buf wire;     /* Breezy's VFS relpath, '.' + joinpath: "./readvfile"
	                  * (ShortReadvError reports this) */
	sw_buf combined; /* chroot-relative, still URL-escaped: "dir", "" for the
	                  * root (ReadError and InvalidURL report this) */
	sw_buf fs;       /* decoded, relative name for the walk; "" = root */
	sw_buf msg;      /* SW_JAIL_ABOVE_ROOT: the exception text */
	bool nonascii;   /* `combined` has non-ASCII bytes: InvalidURL on use */
	bool has_nul;    /* `fs` contains a NUL byte: ValueError on use */
} sw_jail_path;

SW_API void sw_jail_path_init(sw_jail_path *jp, const sw_mem *mem);
SW_API void sw_jail_path_fini(sw_jail_path *jp);

/* Translates the client path bytes `p[0..n)` exactly as received on the
 * wire.  `append_slash` mirrors stat/list_dir/iter_files_recursive, which
 * append '/' before translating (it shows in the InvalidURLJoin message).
 * Returns SW_JAIL_OK, SW_JAIL_ABOVE_ROOT, SW_JAIL_BAD_UTF8 or SW_ERR_NOMEM;
 * `jp` is reset first, so it may be reused. */
SW_API int sw_jail_translate(const uint8_t *p, size_t n, bool append_slash, sw_jail_path *jp);

/* Appends Breezy's InvalidURL `extra` text for `jp->combined` (only
 * meaningful when jp->nonascii): ": URL was not a plain ASCII url: 'ascii'
 * codec can't encode character '\\xe9' in position 3: ordinal not in
 * range(128)".  Returns 0 or SW_ERR_NOMEM. */
SW_API int sw_jail_invalid_url(const sw_jail_path *jp, sw_buf *out);

/* An open served root. */
typedef struct sw_jail {
	sw_fs *fs;       /* the file system it lives in (smartwire/fs.h); not owned */
	int root_fd;     /* O_PATH|O_DIRECTORY descriptor of the root in `fs`, owned */
	char *root_real; /* realpath of the root (NUL-terminated), owned */
	size_t root_real_len;
	const sw_mem *mem;
} sw_jail;

/* Opens `root` (a directory) in file system `fs` (smartwire/fs.h; NULL:
 * the real one), which must outlive the jail: every walk and open below
 * goes through it.  Returns 0, SW_ERR_NOMEM, or SW_ERR_IO with errno set
 * (root missing, not a directory, ...). */
SW_API int sw_jail_init_fs(sw_jail *j, sw_fs *fs, const char *root, const sw_mem *mem);
/* sw_jail_init_fs on the real file system. */
SW_API int sw_jail_init(sw_jail *j, const char *root, const sw_mem *mem);
SW_API void sw_jail_fini(sw_jail *j);

/* Flags for sw_jail_resolve(). */
#define SW_JAIL_FOLLOW 1u /* also follow a symlink in the last component */

/* Result of a walk: act on `name` inside `dirfd` with *at() calls. */
typedef struct sw_jail_res {
	int dirfd;    /* a descriptor of the jail's file system, owned by the
	               * result: close with sw_jail_res_fini */
	char *name;   /* last component, NUL-terminated; "." for the root */
	bool is_root; /* the path named the root itself */
	bool outside; /* refused (errno ENOENT): a symlink pointed outside the
	               * root, or a ".." (from %2F..) climbed above it */
	const sw_mem *mem;
	sw_fs *fs;
} sw_jail_res;

/* Walks the decoded relative name `fs[0..n)` (must not contain NUL) from the
 * root.  Every component but the last must be a directory (or a symlink to
 * one inside the root); the last is resolved through symlinks only with
 * SW_JAIL_FOLLOW (a missing last component is not an error: the result
 * names it, for creation).  Returns 0 (res filled), SW_ERR_NOMEM, or
 * SW_ERR_IO with `*err` set to the errno the walk met (ENOENT, ENOTDIR,
 * ELOOP, EACCES, ENAMETOOLONG...; ENOENT with res->outside for a refusal).
 * On failure nothing is left open. */
SW_API int sw_jail_resolve(const sw_jail *j, const uint8_t *fs, size_t n, unsigned flags,
                           sw_jail_res *res, int *err);
SW_API void sw_jail_res_fini(sw_jail_res *res);

/* The fast path (see above): opens the decoded relative name fs[0..n)
 * below the root with one openat2(2) (sw_fs_open_beneath) and open(2)
 * flags `oflags` (O_NOFOLLOW and O_CLOEXEC are added), when the name is a
 * chain of plain components and no symlink is met.  Returns the
 * descriptor (of the jail's file system), owned by the caller, or -1 in
 * every other case, errors included (errno is then meaningless): the
 * caller takes sw_jail_resolve(), which applies the symlink policy and
 * finds the errno to report.  Once openat2 answers ENOSYS (before Linux 5.6,
 * or a seccomp filter) it is not tried again in this process. */
SW_API int sw_jail_open_plain(const sw_jail *j, const uint8_t *fs, size_t n, int oflags);

#ifdef __cplusplus
}
#endif
#endif
