/*
 * File-system helpers for tests that build fixture trees on disk (test code
 * may use plain paths; the library never does).
 */
#ifndef SW_TEST_FSFIX_H
#define SW_TEST_FSFIX_H

/* Removes `path` and everything below it, like `rm -rf`: directories are
 * made readable and writable by their owner first, so fixtures with mode
 * 0000 or 0555 directories go too; symbolic links are removed, never
 * followed.  A missing path is not an error; failures are ignored (the
 * caller's next mkdir() reports a tree that could not be removed). */
void sw_t_rm_rf(const char *path);

#endif
