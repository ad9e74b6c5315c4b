/* The file-system interface (smartwire/fs.h): the public calls, which
 * dispatch to an implementation, and the real one, where each operation is
 * the system call itself.  The in-memory one is fs_mem*.c. */
#define _GNU_SOURCE 1 /* O_PATH, renameat2 */
#include "smartwire/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "smartwire/error.h"

/* ---- the real file system ---------------------------------------------- */

static int d_openat(sw_fs *fs, int dirfd, const char *path, int flags, mode_t mode)
{
	(void)fs;
	return openat(dirfd, path, flags | O_CLOEXEC, mode);
}

/* openat2(2) is missing before Linux 5.6 (or filtered by a seccomp policy
 * answering ENOSYS): once it fails so, it is not tried again. */
static atomic_bool no_openat2;

static int d_open_beneath(sw_fs *fs, int dirfd, const char *path, int flags)
{
	(void)fs;
	if (atomic_load_explicit(&no_openat2, memory_order_relaxed)) {
		errno = ENOSYS;
		return -1;
	}
	struct open_how how;
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
	if (fd < 0 && errno == ENOSYS)
		atomic_store_explicit(&no_openat2, true, memory_order_relaxed);
	return (int)fd;
}

static int d_dup(sw_fs *fs, int fd)
{
	(void)fs;
	return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static int d_close(sw_fs *fs, int fd)
{
	(void)fs;
	return close(fd);
}

static int d_fstat(sw_fs *fs, int fd, struct stat *st)
{
	(void)fs;
	return fstat(fd, st);
}

static int d_fstatat(sw_fs *fs, int dirfd, const char *path, struct stat *st, int flags)
{
	(void)fs;
	return fstatat(dirfd, path, st, flags);
}

static ssize_t d_readlinkat(sw_fs *fs, int dirfd, const char *path, char *buf, size_t n)
{
	(void)fs;
	return readlinkat(dirfd, path, buf, n);
}

static int d_mkdirat(sw_fs *fs, int dirfd, const char *path, mode_t mode)
{
	(void)fs;
	return mkdirat(dirfd, path, mode);
}

static int d_symlinkat(sw_fs *fs, const char *target, int dirfd, const char *path)
{
	(void)fs;
	return symlinkat(target, dirfd, path);
}

static int d_unlinkat(sw_fs *fs, int dirfd, const char *path, int flags)
{
	(void)fs;
	return unlinkat(dirfd, path, flags);
}

static int d_renameat2(sw_fs *fs, int odirfd, const char *opath, int ndirfd, const char *npath,
                       unsigned flags)
{
	(void)fs;
	if (flags == 0)
		return renameat(odirfd, opath, ndirfd, npath);
	return renameat2(odirfd, opath, ndirfd, npath, flags);
}

static int d_fchmod(sw_fs *fs, int fd, mode_t mode)
{
	(void)fs;
	return fchmod(fd, mode);
}

static int d_fchmodat(sw_fs *fs, int dirfd, const char *path, mode_t mode, int flags)
{
	(void)fs;
	return fchmodat(dirfd, path, mode, flags);
}

static ssize_t d_pread(sw_fs *fs, int fd, void *buf, size_t n, off_t off)
{
	(void)fs;
	ssize_t k;
	while ((k = pread(fd, buf, n, off)) < 0 && errno == EINTR) {
	}
	if (k < 0 && errno == EAGAIN) {
		/* Opened O_NONBLOCK (so that opening a FIFO never waits); a
		 * file system that honours it on a regular file gets a
		 * blocking read. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		while ((k = pread(fd, buf, n, off)) < 0 && errno == EINTR) {
		}
	}
	return k;
}

static ssize_t d_write(sw_fs *fs, int fd, const void *buf, size_t n)
{
	(void)fs;
	ssize_t k;
	while ((k = write(fd, buf, n)) < 0 && errno == EINTR) {
	}
	return k;
}

static int d_fsync(sw_fs *fs, int fd)
{
	(void)fs;
	return fsync(fd);
}

static int d_readdir(sw_fs *fs, int fd, sw_fs_dirent_fn each, void *ud)
{
	(void)fs;
	/* fdopendir takes the descriptor it is given: list a duplicate, from
	 * its start (a duplicate shares the position of the original). */
	int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dfd < 0)
		return -1;
	DIR *d = fdopendir(dfd);
	if (!d) {
		int e = errno;
		close(dfd);
		errno = e;
		return -1;
	}
	rewinddir(d);
	int rv = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0)))
			continue;
		if ((rv = each(ud, n)) != 0)
			break;
		errno = 0;
	}
	int e = errno;
	closedir(d);
	if (rv == 0 && e) {
		errno = e;
		return -1;
	}
	return rv;
}

static int d_realpath(sw_fs *fs, const char *path, char **out, const sw_mem *mem)
{
	(void)fs;
	char *real = realpath(path, NULL);
	if (!real)
		return -1;
	size_t n = strlen(real) + 1;
	*out = sw_malloc(mem, n);
	if (*out)
		memcpy(*out, real, n);
	free(real);
	if (!*out) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static int d_native_fd(sw_fs *fs, int fd)
{
	(void)fs;
	return fd;
}

static const sw_fs_ops disk_ops = {
    .name = "disk",
    .openat = d_openat,
    .open_beneath = d_open_beneath,
    .dup = d_dup,
    .close = d_close,
    .fstat = d_fstat,
    .fstatat = d_fstatat,
    .readlinkat = d_readlinkat,
    .mkdirat = d_mkdirat,
    .symlinkat = d_symlinkat,
    .unlinkat = d_unlinkat,
    .renameat2 = d_renameat2,
    .fchmod = d_fchmod,
    .fchmodat = d_fchmodat,
    .pread = d_pread,
    .write = d_write,
    .fsync = d_fsync,
    .readdir = d_readdir,
    .realpath = d_realpath,
    .native_fd = d_native_fd,
    .destroy = NULL,
};

static sw_fs disk = {&disk_ops};

sw_fs *sw_fs_disk(void)
{
	return &disk;
}

/* ---- dispatch -------------------------------------------------------- */

#define FS(fs) ((fs) ? (fs) : &disk)

void sw_fs_del(sw_fs *fs)
{
	if (fs && fs->ops->destroy)
		fs->ops->destroy(fs);
}

const char *sw_fs_name(const sw_fs *fs)
{
	return FS(fs)->ops->name;
}

int sw_fs_openat(sw_fs *fs, int dirfd, const char *path, int flags, mode_t mode)
{
	fs = FS(fs);
	return fs->ops->openat(fs, dirfd, path, flags, mode);
}

int sw_fs_open_beneath(sw_fs *fs, int dirfd, const char *path, int flags)
{
	fs = FS(fs);
	return fs->ops->open_beneath(fs, dirfd, path, flags);
}

int sw_fs_dup(sw_fs *fs, int fd)
{
	fs = FS(fs);
	return fs->ops->dup(fs, fd);
}

int sw_fs_close_fd(sw_fs *fs, int fd)
{
	fs = FS(fs);
	return fs->ops->close(fs, fd);
}

int sw_fs_fstat(sw_fs *fs, int fd, struct stat *st)
{
	fs = FS(fs);
	return fs->ops->fstat(fs, fd, st);
}

int sw_fs_fstatat(sw_fs *fs, int dirfd, const char *path, struct stat *st, int flags)
{
	fs = FS(fs);
	return fs->ops->fstatat(fs, dirfd, path, st, flags);
}

ssize_t sw_fs_readlinkat(sw_fs *fs, int dirfd, const char *path, char *buf, size_t n)
{
	fs = FS(fs);
	return fs->ops->readlinkat(fs, dirfd, path, buf, n);
}

int sw_fs_mkdirat(sw_fs *fs, int dirfd, const char *path, mode_t mode)
{
	fs = FS(fs);
	return fs->ops->mkdirat(fs, dirfd, path, mode);
}

int sw_fs_symlinkat(sw_fs *fs, const char *target, int dirfd, const char *path)
{
	fs = FS(fs);
	return fs->ops->symlinkat(fs, target, dirfd, path);
}

int sw_fs_unlinkat(sw_fs *fs, int dirfd, const char *path, int flags)
{
	fs = FS(fs);
	return fs->ops->unlinkat(fs, dirfd, path, flags);
}

int sw_fs_renameat2(sw_fs *fs, int odirfd, const char *opath, int ndirfd, const char *npath,
                    unsigned flags)
{
	fs = FS(fs);
	return fs->ops->renameat2(fs, odirfd, opath, ndirfd, npath, flags);
}

int sw_fs_fchmod(sw_fs *fs, int fd, mode_t mode)
{
	fs = FS(fs);
	return fs->ops->fchmod(fs, fd, mode);
}

int sw_fs_fchmodat(sw_fs *fs, int dirfd, const char *path, mode_t mode, int flags)
{
	fs = FS(fs);
	return fs->ops->fchmodat(fs, dirfd, path, mode, flags);
}

ssize_t sw_fs_pread(sw_fs *fs, int fd, void *buf, size_t n, off_t off)
{
	fs = FS(fs);
	return fs->ops->pread(fs, fd, buf, n, off);
}

ssize_t sw_fs_write(sw_fs *fs, int fd, const void *buf, size_t n)
{
	fs = FS(fs);
	return fs->ops->write(fs, fd, buf, n);
}

int sw_fs_fsync(sw_fs *fs, int fd)
{
	fs = FS(fs);
	return fs->ops->fsync(fs, fd);
}

int sw_fs_readdir(sw_fs *fs, int fd, sw_fs_dirent_fn each, void *ud)
{
	fs = FS(fs);
	return fs->ops->readdir(fs, fd, each, ud);
}

int sw_fs_realpath(sw_fs *fs, const char *path, char **out, const sw_mem *mem)
{
	fs = FS(fs);
	return fs->ops->realpath(fs, path, out, mem);
}

int sw_fs_native_fd(sw_fs *fs, int fd)
{
	fs = FS(fs);
	return fs->ops->native_fd(fs, fd);
}
