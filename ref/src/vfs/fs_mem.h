/* The in-memory file system (smartwire/fs.h, sw_memfs_new): its nodes,
 * descriptors and path walk (fs_mem.c), used by the calls (fs_mem_ops.c,
 * fs_mem_names.c).
 * Private to ref/src/vfs/.
 *
 * Every call takes the memfs mutex for its whole length, so the walk and
 * the nodes below are only ever touched by one thread at a time.  The
 * walk follows Linux's namei.c: components one at a time from the
 * starting directory ("/" for an absolute path), "." and ".." (which stops
 * at "/"), symlinks followed in every component but the last and, when
 * asked, in the last one (at most 40 in one walk, then ELOOP), search
 * permission on every directory crossed. */
#ifndef SW_FS_MEM_H
#define SW_FS_MEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "smartwire/fs.h"

typedef struct sw__mnode sw__mnode;

typedef struct sw__mdent {
	char *name;
	size_t len; /* strlen(name): lookups compare it first */
	sw__mnode *node;
} sw__mdent;

struct sw__mnode {
	mode_t mode; /* S_IFDIR, S_IFREG or S_IFLNK, and the permission bits */
	uint64_t ino;
	bool linked;       /* in the tree (false once unlinked or replaced) */
	unsigned opens;    /* descriptors on it */
	sw__mnode *parent; /* the directory holding it; NULL for "/" and unlinked */
	char *name;        /* its name there */
	sw__mdent *ents;   /* directory entries, in the order they were made */
	size_t n, cap;
	uint8_t *data; /* file contents, or the symlink's target */
	size_t len, dcap;
};

typedef struct sw__mhandle {
	sw__mnode *node; /* NULL: the slot is free */
	int flags;       /* the open flags (O_ACCMODE, O_PATH, O_APPEND...) */
	off_t pos;       /* for write() without O_APPEND */
} sw__mhandle;

typedef struct sw__memfs {
	sw_fs base;
	const sw_mem *mem;
	pthread_mutex_t mu;
	sw__mnode *root;
	sw__mhandle *h;
	size_t nh;
	uint64_t next_ino;
	mode_t umask;
	bool superuser; /* no permission checks (CAP_DAC_OVERRIDE) */
	uint64_t changes; /* calls that changed anything (sw_memfs_changes) */
	uid_t uid;        /* the owner of every node: the caller */
	gid_t gid;
} sw__memfs;

/* What a walk found: the directory holding the last component and its
 * name, and the node the whole path names (NULL when the last component
 * does not exist, which a creating call may then make). */
enum { LAST_NORM, LAST_DOT, LAST_DOTDOT, LAST_ROOT };
typedef struct sw__mlook {
	sw__mnode *dir;
	char last[256];
	int type;     /* LAST_... */
	int links;    /* symlinks followed so far */
	bool toolong; /* WALK_PARENT: the last name is over NAME_MAX (node NULL);
	                 * the call says ENAMETOOLONG where it looks it up, as a
	                 * file system's ->lookup does */
	bool slash;   /* the path ended with '/' */
	sw__mnode *node;
} sw__mlook;

/* Allocations through the memfs's allocator (NULL on failure). */
void *sw__mem_alloc(sw__memfs *m, size_t n);
void sw__mem_free(sw__memfs *m, void *p);

/* A new node of `mode` (type and permissions), not yet in the tree. */
sw__mnode *sw__mnode_new(sw__memfs *m, mode_t mode);
/* Drops the node if it is neither linked nor open (and, for a directory,
 * its entries: only at destruction, as rmdir needs it empty). */
void sw__mnode_release(sw__memfs *m, sw__mnode *n);
/* The entry name[0..len) of directory d, or NULL. */
sw__mdent *sw__mnode_find(sw__mnode *d, const char *name, size_t len);
/* Links node n into directory d as `name` (not present).  Returns 0 or
 * ENOMEM. */
int sw__mnode_link(sw__memfs *m, sw__mnode *d, const char *name, sw__mnode *n);
/* Takes n out of its directory (linked becomes false); frees it if it is
 * not open. */
void sw__mnode_unlink(sw__memfs *m, sw__mnode *n);
/* Frees the whole tree below and including n (destruction only). */
void sw__mnode_free_tree(sw__memfs *m, sw__mnode *n);

/* May the caller access n with `want` (4 read, 2 write, 1 search/exec)? */
bool sw__mnode_may(const sw__memfs *m, const sw__mnode *n, int want);

/* The node of descriptor fd, or NULL (errno EBADF). */
sw__mhandle *sw__mhandle_get(sw__memfs *m, int fd);
/* A new descriptor on n.  Returns it, or -1 with errno ENOMEM/EMFILE. */
int sw__mhandle_new(sw__memfs *m, sw__mnode *n, int flags, off_t pos);

/* How the last component is walked: WALK_LOOKUP as a lookup (a symlink is
 * followed when the path ends with '/', and then must be a directory),
 * WALK_FOLLOW also followed without, WALK_PARENT never followed nor checked
 * (the calls that act on the name itself: unlink, rmdir, rename, mkdir,
 * symlink; Linux's LOOKUP_PARENT). */
enum { WALK_LOOKUP, WALK_FOLLOW, WALK_PARENT };

/* Walks `path` from descriptor dirfd (AT_FDCWD and absolute paths: "/").
 * Returns 0 (lk filled) or an errno. */
int sw__mwalk(sw__memfs *m, int dirfd, const char *path, int how, sw__mlook *lk);
/* Walks the target of symlink `ln` (in directory `dir`) with `how` for its
 * last component; *links counts the links followed by the whole walk. */
int sw__mwalk_link(sw__memfs *m, sw__mnode *dir, sw__mnode *ln, int how, sw__mlook *lk, int *links);

/* The destructor the vtable (fs_mem_ops.c) names. */
void sw__memfs_destroy(sw_fs *fs);

/* Fills *st for n. */
void sw__mnode_stat(const sw__memfs *m, const sw__mnode *n, struct stat *st);

/* Every call runs under the memfs mutex: sw__memfs_lock takes it and
 * returns the memfs; sw__memfs_done releases it and returns rv (-1 with
 * errno = e when e != 0). */
sw__memfs *sw__memfs_lock(sw_fs *fs);
int sw__memfs_done(sw__memfs *m, int e, int rv);
/* A directory removed from the tree takes no new entries (IS_DEADDIR). */
bool sw__mnode_dead(const sw__memfs *m, const sw__mnode *d);

/* The calls that change the name space (fs_mem_names.c), for the vtable;
 * as the sw_fs_ops entries of the same names (smartwire/fs.h). */
int sw__memfs_mkdirat(sw_fs *fs, int dirfd, const char *path, mode_t mode);
int sw__memfs_symlinkat(sw_fs *fs, const char *target, int dirfd, const char *path);
int sw__memfs_unlinkat(sw_fs *fs, int dirfd, const char *path, int flags);
int sw__memfs_renameat2(sw_fs *fs, int odirfd, const char *opath, int ndirfd, const char *npath,
                        unsigned flags);

#endif
