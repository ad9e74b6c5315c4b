/*
 * smartwire: the file system behind the jail, pluggable (after SQLite's
 * VFS, src/os_unix.c and src/test_vfs.c).
 *
 * The path jail (smartwire/jail.h) and the VFS verbs (smartwire/vfs.h)
 * touch files only through an sw_fs: a vtable of exactly the *at() system
 * calls they make, with the system calls' own contract, so that the real
 * implementation is the calls themselves and the code above it reads as
 * before.  Descriptors are non-negative ints that belong to the sw_fs that
 * returned them (never mix two); flags are open(2)'s and the *at(2)
 * calls'; a failure returns -1 with errno set.  errno is the only channel
 * for why, as for the system calls, and every implementation must give
 * the errno Linux gives for the same call on the same tree: the VFS turns
 * it into Breezy's error tuples (NoSuchFile, FileExists, ...).
 *
 * Two implementations:
 *  - sw_fs_disk(): the real file system (openat2(2) for the jail's fast
 *    path, the calls below for everything else).  A NULL sw_fs means it.
 *  - sw_memfs_new(): a complete file-system namespace in memory, "/" and
 *    all below it: directories, regular files and symlinks with modes,
 *    open descriptors (also on unlinked files and directories), rename
 *    and the errno of every failure as Linux gives them on tmpfs, for the
 *    calls and flags listed here.  Permissions are those of the calling
 *    user on files it owns: none are checked for root (as CAP_DAC_OVERRIDE
 *    does), the owner bits otherwise.  New files and directories take the
 *    process umask read once when the sw_fs is created.  It is for tests
 *    and fuzzing: no disk, no clean-up, nothing a run can leave behind,
 *    and a tree built in microseconds.  tests/vfs/test_fs.c checks every
 *    call of both implementations against each other on the same trees,
 *    and the VFS vectors and hostile-path tests run on both.
 *
 * THREADS: the disk implementation is the kernel's; a memfs serialises its
 * calls with a mutex, so one sw_fs may serve several threads (the VFS may
 * be shared by the workers of a daemon).
 *
 * Flags understood by the memfs (the VFS and the jail use no others):
 * open: O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_NOFOLLOW, O_PATH, O_CLOEXEC, O_NONBLOCK (ignored: there
 * are no FIFOs); fstatat, fchmodat: AT_SYMLINK_NOFOLLOW; unlinkat:
 * AT_REMOVEDIR; renameat2: RENAME_NOREPLACE.  Others give EINVAL.
 */
#ifndef SMARTWIRE_FS_H
#define SMARTWIRE_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_fs sw_fs;

/* One entry of sw_fs_readdir: its name (NUL-terminated, valid during the
 * call).  Return 0 to go on, anything else to stop (sw_fs_readdir then
 * returns that value). */
typedef int (*sw_fs_dirent_fn)(void *ud, const char *name);

/* The vtable.  Each operation is the system call of the same name with the
 * sw_fs first (see the wrappers below for the exact contract of each). */
typedef struct sw_fs_ops {
	const char *name; /* "disk", "memfs" */
	int (*openat)(sw_fs *fs, int dirfd, const char *path, int flags, mode_t mode);
	int (*open_beneath)(sw_fs *fs, int dirfd, const char *path, int flags);
	int (*dup)(sw_fs *fs, int fd);
	int (*close)(sw_fs *fs, int fd);
	int (*fstat)(sw_fs *fs, int fd, struct stat *st);
	int (*fstatat)(sw_fs *fs, int dirfd, const char *path, struct stat *st, int flags);
	ssize_t (*readlinkat)(sw_fs *fs, int dirfd, const char *path, char *buf, size_t n);
	int (*mkdirat)(sw_fs *fs, int dirfd, const char *path, mode_t mode);
	int (*symlinkat)(sw_fs *fs, const char *target, int dirfd, const char *path);
	int (*unlinkat)(sw_fs *fs, int dirfd, const char *path, int flags);
	int (*renameat2)(sw_fs *fs, int odirfd, const char *opath, int ndirfd, const char *npath,
	                 unsigned flags);
	int (*fchmod)(sw_fs *fs, int fd, mode_t mode);
	int (*fchmodat)(sw_fs *fs, int dirfd, const char *path, mode_t mode, int flags);
	ssize_t (*pread)(sw_fs *fs, int fd, void *buf, size_t n, off_t off);
	ssize_t (*write)(sw_fs *fs, int fd, const void *buf, size_t n);
	int (*fsync)(sw_fs *fs, int fd);
	int (*readdir)(sw_fs *fs, int fd, sw_fs_dirent_fn each, void *ud);
	int (*realpath)(sw_fs *fs, const char *path, char **out, const sw_mem *mem);
	int (*native_fd)(sw_fs *fs, int fd);
	void (*destroy)(sw_fs *fs);
} sw_fs_ops;

/* The common head of an implementation (embed it first). */
struct sw_fs {
	const sw_fs_ops *ops;
};

/* The real file system (static storage; sw_fs_del ignores it). */
SW_API sw_fs *sw_fs_disk(void);

/* A new, empty in-memory namespace: only "/" (mode 0755) exists.  Its
 * own memory comes from `mem` (NULL: libc), never from the allocators of
 * the code that uses it: like a kernel, it is not part of what a failing
 * allocator tests (a memfs out of memory answers ENOMEM or ENOSPC, as a
 * full tmpfs would).  Returns 0, SW_ERR_NOMEM or SW_ERR_IO (mutex).
 * Free with sw_fs_del(); descriptors still open are freed with it. */
SW_API int sw_memfs_new(sw_fs **out, const sw_mem *mem);

/* How many calls changed a memfs so far (a file, directory or symlink made,
 * removed, renamed or re-moded, a file written or truncated): a test that
 * sees the count unchanged knows that nothing changed, without looking.
 * UINT64_MAX for any other file system (nothing known). */
SW_API uint64_t sw_memfs_changes(sw_fs *fs);

/* Frees a memfs (NULL and sw_fs_disk() are no-ops). */
SW_API void sw_fs_del(sw_fs *fs);

/* The implementation's name ("disk", "memfs"). */
SW_API const char *sw_fs_name(const sw_fs *fs);

/* ---- The calls (fs NULL: the disk) ------------------------------------
 * Each returns what the system call returns: a descriptor or 0 on
 * success, -1 with errno on failure.  dirfd may be AT_FDCWD, which is "/"
 * in a memfs. */

/* openat(2).  The descriptor is close-on-exec (O_CLOEXEC is implied). */
SW_API int sw_fs_openat(sw_fs *fs, int dirfd, const char *path, int flags, mode_t mode);

/* openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS: `path` is opened below `dirfd` only if no
 * component is a symlink, ".." or absolute.  errno ENOSYS: the kernel has
 * no openat2 (the jail then walks; smartwire/jail.h). */
SW_API int sw_fs_open_beneath(sw_fs *fs, int dirfd, const char *path, int flags);

/* fcntl(fd, F_DUPFD_CLOEXEC, 0). */
SW_API int sw_fs_dup(sw_fs *fs, int fd);
/* close(2).  (Not sw_fs_close: tests/support/fakeserver.h uses that name.) */
SW_API int sw_fs_close_fd(sw_fs *fs, int fd);
SW_API int sw_fs_fstat(sw_fs *fs, int fd, struct stat *st);
SW_API int sw_fs_fstatat(sw_fs *fs, int dirfd, const char *path, struct stat *st, int flags);
SW_API ssize_t sw_fs_readlinkat(sw_fs *fs, int dirfd, const char *path, char *buf, size_t n);
SW_API int sw_fs_mkdirat(sw_fs *fs, int dirfd, const char *path, mode_t mode);
SW_API int sw_fs_symlinkat(sw_fs *fs, const char *target, int dirfd, const char *path);
SW_API int sw_fs_unlinkat(sw_fs *fs, int dirfd, const char *path, int flags);
SW_API int sw_fs_renameat2(sw_fs *fs, int odirfd, const char *opath, int ndirfd, const char *npath,
                           unsigned flags);
SW_API int sw_fs_fchmod(sw_fs *fs, int fd, mode_t mode);
SW_API int sw_fs_fchmodat(sw_fs *fs, int dirfd, const char *path, mode_t mode, int flags);

/* pread(2); EINTR is retried, and a descriptor opened O_NONBLOCK that says
 * EAGAIN (some file systems) is made blocking and read again. */
SW_API ssize_t sw_fs_pread(sw_fs *fs, int fd, void *buf, size_t n, off_t off);
/* write(2) (EINTR retried). */
SW_API ssize_t sw_fs_write(sw_fs *fs, int fd, const void *buf, size_t n);
SW_API int sw_fs_fsync(sw_fs *fs, int fd);

/* The entries of the directory open as `fd` (O_RDONLY | O_DIRECTORY; fd
 * stays open and may be listed again), in readdir order, "." and ".."
 * left out: each(ud, name) per entry.  Returns 0, -1 with errno (EBADF for
 * an O_PATH descriptor, ENOTDIR, ENOMEM...), or the first non-zero value
 * `each` returned. */
SW_API int sw_fs_readdir(sw_fs *fs, int fd, sw_fs_dirent_fn each, void *ud);

/* realpath(3) of `path` (relative paths from "/" in a memfs), into *out,
 * NUL-terminated, allocated through `mem` (the caller frees it with
 * sw_free(mem, *out)).  Returns 0 or -1 with errno. */
SW_API int sw_fs_realpath(sw_fs *fs, const char *path, char **out, const sw_mem *mem);

/* The operating system's descriptor behind `fd`, for system calls that
 * move bytes without copying them (sendfile(2), splice(2): the server's
 * zero-copy bodies), or -1 when there is none (a memfs). */
SW_API int sw_fs_native_fd(sw_fs *fs, int fd);

#ifdef __cplusplus
}
#endif
#endif
