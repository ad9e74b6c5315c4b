/*
 * What the file server tests (tests/vfs/test_vfs_server_*.c: the real
 * sw_vfs behind the server session layer, smartwire/vfs_server.h) share:
 * the sessions generated from the real `brz serve --inet` by
 * tests/interop/differential.py --gen (tests/interop/vfs_server_vectors.inc)
 * and their fixture tree; a served sw_vfs; sw_serve_medium over an
 * in-process fifo; the sans-I/O core fed in pieces against guard pages; and
 * a byte-exact comparison.
 *
 * The fixtures live at fixed paths (Breezy's error tuples carry the served
 * root): the group setup takes a lock file that serialises every program
 * serving SW_T_VSRV_ROOT (these tests and their valgrind twins); the
 * teardown removes the tree and releases it.
 */
#ifndef SW_TEST_VFS_SERVER_FIXTURE_H
#define SW_TEST_VFS_SERVER_FIXTURE_H

#define _GNU_SOURCE 1
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "smartwire/error.h"
#include "smartwire/jail.h"
#include "smartwire/medium.h"
#include "smartwire/vfs_server.h"
#include "support/fsfix.h"
#include "support/guard.h"

struct vsrv_fx {
	char kind;
	const char *path, *data;
	size_t len;
	unsigned mode;
};
struct vsrv_vec {
	const char *name;
	int rw, departure;
	const char *req;
	size_t req_len;
	const char *resp;
	size_t resp_len;
};
#include "interop/vfs_server_vectors.inc"

/* ---- fixtures ---- */

static inline void build(const char *root, const struct vsrv_fx *fx, size_t n)
{
	sw_t_rm_rf(root);
	assert_int_equal(mkdir(root, 0755), 0);
	chmod(root, 0755);
	for (size_t i = 0; i < n; i++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", root, fx[i].path);
		if (fx[i].kind == 'd') {
			assert_int_equal(mkdir(p, 0755), 0);
		} else {
			int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			assert_true(fd >= 0);
			assert_int_equal(write(fd, fx[i].data, fx[i].len), (ssize_t)fx[i].len);
			close(fd);
		}
		chmod(p, fx[i].mode);
	}
}

#define NFX(a) (sizeof(a) / sizeof((a)[0]))

static inline void build_vsrv(void)
{
	build(SW_T_VSRV_ROOT, vsrv_fixture, NFX(vsrv_fixture));
}

/* No in-flight upload file may be left anywhere under `dir`. */
static inline bool has_temp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;
	while (d && (de = readdir(d)) != NULL) {
		if (!strncmp(de->d_name, SW_JAIL_TEMP_PREFIX, strlen(SW_JAIL_TEMP_PREFIX)))
			found = true;
	}
	if (d)
		closedir(d);
	return found;
}

/* ---- drivers ---- */

static inline sw_vfs *open_vfs(const char *root, bool rw, const sw_mem *mem)
{
	sw_vfs_config vc;
	memset(&vc, 0, sizeof vc);
	vc.allow_writes = rw;
	sw_vfs *v = NULL;
	assert_int_equal(sw_vfs_new(&v, root, &vc, mem), 0);
	return v;
}

/* sw_serve_medium over a single-threaded fifo pair: the client writes the
 * whole session and shuts down; the server serves; the client reads. */
static inline void serve_fifo(sw_vfs *v, const void *in, size_t len, sw_buf *out,
                              sw_serve_result *res)
{
	sw_medium *cli = NULL, *srv = NULL;
	assert_int_equal(sw_fifo_pair(&cli, &srv, NULL, NULL, NULL), 0);
	size_t w = 0;
	assert_int_equal(sw_medium_write_all(cli, in, len, &w), 0);
	sw_medium_shutdown_write(cli);
	int rv = sw_serve_medium(NULL, sw_vfs_dispatch(), v, srv, res, NULL);
	assert_true(rv >= 0);
	sw_medium_del(srv);
	uint8_t buf[4096];
	ptrdiff_t n;
	while ((n = sw_medium_read(cli, buf, sizeof buf)) > 0)
		assert_int_equal(sw_buf_append(out, buf, (size_t)n), 0);
	sw_medium_del(cli);
}

static inline void drain(sw_srv_conn *c, sw_buf *out)
{
	for (;;) {
		const uint8_t *p;
		size_t n;
		sw_srv_conn_output(c, &p, &n);
		if (n == 0)
			return;
		assert_int_equal(sw_buf_append(out, p, n), 0);
		sw_srv_conn_output_done(c, n);
	}
}

/* The sans-I/O core fed in pieces of `step` bytes (each with the excess the
 * core left, copied against a guard page), output drained after every feed,
 * then EOF.  Returns the first negative feed result or 0. */
static inline int drive(sw_srv_conn *c, const uint8_t *in, size_t len, size_t step, sw_buf *out)
{
	sw_buf pend;
	sw_buf_init(&pend, NULL);
	int err = 0;
	for (size_t pos = 0; pos < len && !err;) {
		size_t k = len - pos < step ? len - pos : step;
		assert_int_equal(sw_buf_append(&pend, in + pos, k), 0);
		pos += k;
		while (pend.len && !sw_srv_conn_closing(c)) {
			sw_guard g;
			const uint8_t *p = sw_guard_copy(&g, pend.data, pend.len);
			ptrdiff_t r = sw_srv_conn_feed(c, p, pend.len);
			sw_guard_free(&g);
			if (r < 0) {
				err = (int)r;
				break;
			}
			sw_buf_consume(&pend, (size_t)r);
			size_t before = out->len;
			drain(c, out);
			if (r == 0 && out->len == before)
				break;
		}
		drain(c, out);
	}
	sw_srv_conn_eof(c);
	drain(c, out);
	sw_buf_fini(&pend);
	return err;
}

static inline void assert_bytes(const char *what, const void *want, size_t wn, const sw_buf *got)
{
	if (got->len != wn || memcmp(got->data, want, wn) != 0) {
		size_t i = 0;
		while (i < wn && i < got->len && ((const uint8_t *)want)[i] == got->data[i])
			i++;
		fail_msg("%s: output differs at byte %zu (want %zu bytes, got %zu)", what, i, wn,
		         got->len);
	}
}

/* ---- the group setup and teardown ---- */

static int lock_fd = -1;

static inline int setup(void **state)
{
	(void)state;
	umask(022);
	lock_fd = open("/tmp/sw-vsrv-tree.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0)
		return -1;
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	sw_t_rm_rf(SW_T_VSRV_ROOT);
	if (lock_fd >= 0)
		close(lock_fd); /* releases the lock */
	return 0;
}

#endif
