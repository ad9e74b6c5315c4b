/*
 * The trees fuzz_server_session serves, and the checks that no run touched
 * what it must not.
 *
 * They live in an in-memory file system (smartwire/fs.h, sw_memfs_new) made
 * once per process: the jail, the VFS verbs and every check run on it
 * exactly as on the disk, at memory speed and with nothing left behind.
 * With SW_FUZZ_FS=disk (fuzz/smoke.sh runs that too) the same trees are
 * made on the real file system instead, under <tmp> = $TMPDIR, else
 * /dev/shm when writable, else /tmp.  Either way <base> =
 * <tmp>/sw-fuzz-server.<10-digit pid> ("pid" 0 in memory) holds
 *   <base>/ro/        the tree served read-only (created once)
 *   <base>/rw/        the tree served read-write, recreated before each run
 *                     that follows a change (in memory: also at the end of
 *                     an execution that changed it, sw_fuzz_tree_restore)
 *   <base>/sentinel/  a file next to the roots that no run may touch
 * Both roots hold the same fixed layout (served_tree.c: files, an empty
 * file, nested directories, a symlink inside the root and one pointing out
 * of it).  <base> is removed at exit, and on the disk trees left by
 * processes that died without exiting (killed at the end of a campaign) are
 * removed when the next process starts.
 *
 * The state is the process's (one set of trees per fuzzing process); a
 * failed check ends the process through sw_fuzz_fail (fdp.h).
 */
#ifndef SW_FUZZ_SERVED_TREE_H
#define SW_FUZZ_SERVED_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "smartwire/fs.h"

/* Makes the file system and the trees the first time it is called (and
 * registers their removal at exit); does nothing afterwards. */
void sw_fuzz_tree_setup(void);

/* The file system the trees live in (owned by this module). */
sw_fs *sw_fuzz_tree_fs(void);

/* The path of the read-write or the read-only root (static storage). */
const char *sw_fuzz_tree_root(bool rw);

/* Before a run: remakes the read-write tree if a run changed it (`rw`), and
 * returns a mark for sw_fuzz_tree_check. */
uint64_t sw_fuzz_tree_begin(bool rw);

/* After a run begun with `mark`: fails unless nothing outside the roots
 * changed, the read-only tree is as made and (`rw`) the read-write tree
 * holds no upload temporary file.  Returns the hash of the read-write tree
 * (`rw`), else 0.  On the memfs, checks whose trees no change reached are
 * known to pass and are skipped; on the disk everything is checked. */
uint64_t sw_fuzz_tree_check(bool rw, uint64_t mark);

/* At the end of an execution: leaves the in-memory read-write tree as made,
 * so that an execution frees what it allocates (libFuzzer runs an input a
 * second time, and then a leak check, whenever an execution ends with more
 * blocks allocated than it started with, which a read-write session that
 * added files did).  Nothing on the disk (the next run remakes it). */
void sw_fuzz_tree_restore(void);

#endif
