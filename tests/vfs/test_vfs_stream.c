/*
 * How the VFS reads, on the disk and on a memfs (vfs_fixture.h): list_dir
 * answers in the file system's own order (the differential tests sort it);
 * an 8 MiB put and get stream through in a few small allocations; and a get
 * whose file shrinks after its length was announced fails with SW_ERR_IO.
 */
#define _GNU_SOURCE 1
#include "vfs_fixture.h"
#include "smartwire/failmem.h"

static void test_readdir_order(void **state)
{
	(void)state;
	env e;
	env_open(&e, NULL, NULL);
	sw_buf want;
	sw_buf_init(&want, NULL);
	sw_buf_append_str(&want, "[\"names\"");
	fst_names x = fst_list_raw(FS, e.root);
	for (size_t i = 0; i < x.n; i++) {
		sw_buf esc;
		sw_buf_init(&esc, NULL);
		for (const char *c = x.v[i]; *c; c++) {
			if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			           "0123456789_.-~",
			           *c))
				sw_buf_append_byte(&esc, (uint8_t)*c);
			else {
				char h[4];
				snprintf(h, sizeof h, "%%%02X", (unsigned)(uint8_t)*c);
				sw_buf_append_str(&esc, h);
			}
		}
		sw_buf_append_str(&want, ", ");
		sw_format_bytes(&want, esc.data, esc.len);
		sw_buf_fini(&esc);
	}
	fst_names_free(&x);
	sw_buf_append_str(&want, "]");
	sw_buf_append_byte(&want, 0);
	/* unsorted: call the API directly */
	sw_slice a[2] = {{(const uint8_t *)"list_dir", 8}, {(const uint8_t *)"/", 1}};
	sw_vfs_req *r;
	assert_int_equal(sw_vfs_begin(e.v, a, 2, &r), SW_VFS_ANSWERED);
	sw_vfs_reply rep;
	assert_int_equal(sw_vfs_get_reply(r, &rep), 0);
	sw_buf got;
	sw_buf_init(&got, NULL);
	sw_format_tuple(&got, rep.args, rep.nargs);
	sw_buf_append_byte(&got, 0);
	assert_string_equal((char *)got.data, (char *)want.data);
	sw_buf_fini(&got);
	sw_buf_fini(&want);
	sw_vfs_req_del(r);
	env_close(&e);
}

static void test_stream_large(void **state)
{
	(void)state;
	sw_failmem fm;
	sw_failmem_init(&fm, 0, false);
	sw_vfs_config cfg = {.allow_writes = true};
	env e;
	env_open(&e, &cfg, &fm.mem);
	enum { SIZE = 8 << 20, CHUNK = 65536 };
	uint8_t *chunk = malloc(CHUNK);
	sw_slice a[3] = {
	    {(const uint8_t *)"put", 3}, {(const uint8_t *)"/big", 4}, {(const uint8_t *)"", 0}};
	sw_vfs_req *r;
	size_t calls0 = fm.calls;
	assert_int_equal(sw_vfs_begin(e.v, a, 3, &r), SW_VFS_NEEDS_BODY);
	for (size_t off = 0; off < SIZE; off += CHUNK) {
		for (size_t i = 0; i < CHUNK; i++)
			chunk[i] = (uint8_t)((off + i) * 7 >> 3);
		assert_int_equal(sw_vfs_body(r, chunk, CHUNK), 0);
	}
	assert_int_equal(sw_vfs_end(r), 0);
	sw_vfs_reply rep;
	assert_int_equal(sw_vfs_get_reply(r, &rep), 0);
	assert_int_equal(rep.status, SW_VFS_SUCCESS);
	sw_vfs_req_del(r);
	/* get streams it back */
	sw_slice g[2] = {{(const uint8_t *)"get", 3}, {(const uint8_t *)"/big", 4}};
	assert_int_equal(sw_vfs_begin(e.v, g, 2, &r), SW_VFS_ANSWERED);
	assert_int_equal(sw_vfs_get_reply(r, &rep), 0);
	assert_true(rep.has_body);
	assert_int_equal(rep.body_len, SIZE);
	size_t got = 0;
	ptrdiff_t k;
	while ((k = sw_vfs_read_body(r, chunk, 4093)) > 0) {
		for (ptrdiff_t i = 0; i < k; i++)
			if (chunk[i] != (uint8_t)((got + (size_t)i) * 7 >> 3))
				fail_msg("byte %zu differs", got + (size_t)i);
		got += (size_t)k;
	}
	assert_int_equal(k, 0);
	assert_int_equal(got, SIZE);
	sw_vfs_req_del(r);
	/* The allocations did not grow with the body: few and small. */
	assert_true(fm.calls - calls0 < 60);
	free(chunk);
	env_close(&e);
	assert_int_equal(fm.live, 0);
}

static void test_truncated_mid_stream(void **state)
{
	(void)state;
	env e;
	env_open(&e, NULL, NULL);
	sw_slice g[2] = {{(const uint8_t *)"get", 3}, {(const uint8_t *)"/readvfile", 10}};
	sw_vfs_req *r;
	assert_int_equal(sw_vfs_begin(e.v, g, 2, &r), SW_VFS_ANSWERED);
	uint8_t buf[8];
	assert_int_equal(sw_vfs_read_body(r, buf, 5), 5);
	char p[8192];
	snprintf(p, sizeof p, "%s/readvfile", e.root);
	/* truncate(p, 3) through the interface: its first 3 bytes again. */
	uint8_t head[3];
	int fd = sw_fs_openat(FS, AT_FDCWD, p, O_RDONLY, 0);
	assert_int_equal(sw_fs_pread(FS, fd, head, 3, 0), 3);
	sw_fs_close_fd(FS, fd);
	fd = sw_fs_openat(FS, AT_FDCWD, p, O_WRONLY | O_TRUNC, 0);
	assert_int_equal(sw_fs_write(FS, fd, head, 3), 3);
	sw_fs_close_fd(FS, fd);
	assert_int_equal(sw_vfs_read_body(r, buf, 5), SW_ERR_IO);
	sw_vfs_req_del(r);
	env_close(&e);
}
ON_BOTH(test_readdir_order)
ON_BOTH(test_stream_large)
ON_BOTH(test_truncated_mid_stream)

int main(void)
{
	umask(022);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_readdir_order_disk),
	    cmocka_unit_test(test_readdir_order_mem),
	    cmocka_unit_test(test_stream_large_disk),
	    cmocka_unit_test(test_stream_large_mem),
	    cmocka_unit_test(test_truncated_mid_stream_disk),
	    cmocka_unit_test(test_truncated_mid_stream_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
