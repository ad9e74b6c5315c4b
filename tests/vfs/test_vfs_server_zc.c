/*
 * The file server's zero-copy bodies (smartwire/server.h, "ZERO-COPY
 * BODIES"; vfs_server_fixture.h): Breezy's sessions again over a
 * socketpair and over pipes, where get and readv bodies leave with sendfile
 * and put and append bodies arrive with splice: Breezy's bytes all the
 * same; large bodies both ways; a put cut mid-way applies nothing; and a
 * memfs root, which has no descriptor to give, answers the same by
 * copying.
 */
#define _GNU_SOURCE 1
#include <sys/socket.h>

#include "vfs_server_fixture.h"
#include "smartwire/fs.h"
#include "smartwire/v3.h"

/* sw_serve_medium (config `cfg`) over real descriptors (kind 1: a
 * socketpair, 2: two pipes), which move bodies without copying: the request
 * written whole and its direction closed, the server's ends non-blocking,
 * the answer read after.  The buffers are made to hold `need` bytes each
 * way (4 MiB forced for a socket, 1 MiB for a pipe); returns false when
 * they cannot be. */
static bool serve_fds_cfg(const sw_srv_config *cfg, sw_vfs *v, int kind, const void *in, size_t len,
                          size_t need, sw_buf *out, sw_serve_result *res)
{
	int cw, cr, sr, swr, sz = 4 << 20;
	if (kind == 1) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		for (int i = 0; i < 2; i++) {
			if (setsockopt(sv[i], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
				setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
			if (setsockopt(sv[i], SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
				setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		}
		int got = 0;
		socklen_t gl = sizeof got;
		getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &got, &gl);
		if ((size_t)got < 2 * need) {
			close(sv[0]);
			close(sv[1]);
			return false;
		}
		cw = cr = sv[0];
		sr = swr = sv[1];
	} else {
		int a[2], b[2];
		assert_int_equal(pipe2(a, O_CLOEXEC), 0);
		assert_int_equal(pipe2(b, O_CLOEXEC), 0);
		if (fcntl(a[1], F_SETPIPE_SZ, 1 << 20) < (int)need ||
		    fcntl(b[1], F_SETPIPE_SZ, 1 << 20) < (int)need) {
			close(a[0]);
			close(a[1]);
			close(b[0]);
			close(b[1]);
			return false;
		}
		cw = a[1];
		sr = a[0];
		swr = b[1];
		cr = b[0];
	}
	for (size_t w = 0; w < len;) {
		ssize_t k = write(cw, (const uint8_t *)in + w, len - w);
		assert_true(k > 0);
		w += (size_t)k;
	}
	if (kind == 1)
		shutdown(cw, SHUT_WR);
	else
		close(cw);
	fcntl(sr, F_SETFL, fcntl(sr, F_GETFL) | O_NONBLOCK);
	fcntl(swr, F_SETFL, fcntl(swr, F_GETFL) | O_NONBLOCK);
	sw_medium *m = NULL;
	assert_int_equal(sw_fd_medium_new(&m, sr, swr, 0, NULL), 0);
	assert_true(sw_serve_medium(cfg, sw_vfs_dispatch(), v, m, res, NULL) >= 0);
	sw_medium_del(m);
	close(sr);
	if (swr != sr)
		close(swr);
	uint8_t buf[65536];
	ssize_t n;
	while ((n = read(cr, buf, sizeof buf)) > 0)
		assert_int_equal(sw_buf_append(out, buf, (size_t)n), 0);
	close(cr);
	return true;
}

static bool serve_fds(sw_vfs *v, int kind, const void *in, size_t len, size_t need, sw_buf *out,
                      sw_serve_result *res)
{
	return serve_fds_cfg(NULL, v, kind, in, len, need, out, res);
}

/* ---- zero-copy ---- */

static void test_sessions_zero_copy(void **state)
{
	(void)state;
	uint64_t zc_in = 0, zc_out = 0;
	for (int kind = 1; kind <= 2; kind++) {
		for (size_t i = 0; i < NFX(vsrv_vectors); i++) {
			const struct vsrv_vec *t = &vsrv_vectors[i];
			build_vsrv();
			sw_vfs *v = open_vfs(SW_T_VSRV_ROOT, t->rw, NULL);
			sw_buf out;
			sw_buf_init(&out, NULL);
			sw_serve_result res;
			/* Reads of exactly what the decoder asks for (Breezy's pipe
			 * medium), so that a body part's bytes are still unread when
			 * it begins: they are then spliced, not fed. */
			sw_srv_config cfg = {.pipe_exact = true, .zc_min = 1};
			assert_true(
			    serve_fds_cfg(&cfg, v, kind, t->req, t->req_len, 65536, &out, &res));
			assert_bytes(t->name, t->resp, t->resp_len, &out);
			assert_int_equal(res.end, SW_SERVE_EOF);
			assert_false(has_temp_files(SW_T_VSRV_ROOT));
			zc_in += res.zc_in;
			zc_out += res.zc_out;
			sw_buf_fini(&out);
			sw_vfs_del(v);
		}
	}
	printf("sessions over descriptors: %llu bytes sent with sendfile, %llu spliced in\n",
	       (unsigned long long)zc_out, (unsigned long long)zc_in);
	assert_true(zc_out > 0 && zc_in > 0);
}

/* A v3 put of `n` pattern bytes then a get of it, as one session. */
static void put_get_session(sw_buf *b, size_t n)
{
	sw_buf_init(b, NULL);
	uint8_t *body = malloc(n);
	assert_non_null(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (uint8_t)(i * 31 + (i >> 9));
	sw_slice put[3] = {
	    {(const uint8_t *)"put", 3}, {(const uint8_t *)"/big", 4}, {(const uint8_t *)"", 0}};
	sw_slice get[2] = {{(const uint8_t *)"get", 3}, {(const uint8_t *)"/big", 4}};
	sw_slice bs = {body, n};
	assert_int_equal(sw_v3_encode_request(b, NULL, 0, put, 3, &bs), 0);
	assert_int_equal(sw_v3_encode_request(b, NULL, 0, get, 2, NULL), 0);
	free(body);
}

/* Large bodies both ways, crossing the driver's 1 MiB slices and the
 * medium's pipe: the same answer from the copying path (a fifo) and the
 * zero-copy one, and the file on disk as sent. */
static void test_large_zero_copy(void **state)
{
	(void)state;
	for (int kind = 1; kind <= 2; kind++) {
		/* 1.5 MiB and some through a socketpair (its buffers forced to
		 * 4 MiB; without the privilege to force them, what rmem_max
		 * allows); 700 KB through pipes, which hold 1 MiB at most. */
		size_t n = kind == 1 ? (3u << 20) / 2 + 12345 : 700000;
		if (kind == 1) {
			int sv[2], sz = 4 << 20, got = 0;
			socklen_t gl = sizeof got;
			assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
			if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
				setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
			getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &got, &gl);
			close(sv[0]);
			close(sv[1]);
			if ((size_t)got / 2 < n + 8192)
				n = (size_t)got / 2 - 8192;
		}
		sw_buf in, want, got;
		put_get_session(&in, n);
		build_vsrv();
		sw_vfs *v = open_vfs(SW_T_VSRV_ROOT, true, NULL);
		sw_buf_init(&want, NULL);
		sw_serve_result res;
		serve_fifo(v, in.data, in.len, &want, &res);
		assert_int_equal(res.end, SW_SERVE_EOF);
		assert_int_equal(res.requests, 2);
		assert_true(want.len > n);
		sw_vfs_del(v);
		build_vsrv();
		v = open_vfs(SW_T_VSRV_ROOT, true, NULL);
		sw_buf_init(&got, NULL);
		if (!serve_fds(v, kind, in.data, in.len, in.len + 4096, &got, &res))
			fail_msg("%s: the buffers cannot hold %zu bytes",
			         kind == 1 ? "socketpair" : "pipes", in.len);
		assert_bytes(kind == 1 ? "large, socketpair" : "large, pipes", want.data, want.len,
		             &got);
		assert_int_equal(res.requests, 2);
		assert_true(res.zc_in > n / 2 && res.zc_out == n);
		struct stat st;
		assert_int_equal(stat(SW_T_VSRV_ROOT "/big", &st), 0);
		assert_int_equal(st.st_size, n);
		sw_buf_fini(&got);
		sw_buf_fini(&want);
		sw_buf_fini(&in);
		sw_vfs_del(v);
	}
}

/* A put whose body is cut by end of stream while it is being spliced in
 * applies nothing (the temporary file goes); and a memfs root, without
 * descriptors, answers a whole session the same by copying. */
static void test_zero_copy_cut_and_memfs(void **state)
{
	(void)state;
	sw_buf in;
	put_get_session(&in, 200000);
	size_t cut = in.len / 2; /* inside the put's body */
	for (int kind = 1; kind <= 2; kind++) {
		build_vsrv();
		sw_vfs *v = open_vfs(SW_T_VSRV_ROOT, true, NULL);
		sw_buf out;
		sw_buf_init(&out, NULL);
		sw_serve_result res;
		assert_true(serve_fds(v, kind, in.data, cut, 65536, &out, &res));
		assert_int_equal(out.len, 0);
		assert_int_equal(res.end, SW_SERVE_EOF_MID_REQUEST);
		assert_true(res.zc_in > 0);
		struct stat st;
		assert_int_equal(lstat(SW_T_VSRV_ROOT "/big", &st), -1);
		assert_false(has_temp_files(SW_T_VSRV_ROOT));
		sw_buf_fini(&out);
		sw_vfs_del(v);
	}
	/* Small bodies are copied with the head (below zc_min, 64 KiB by
	 * default): one write, not a write and a sendfile. */
	{
		sw_buf small, out;
		sw_slice get[2] = {{(const uint8_t *)"get", 3}, {(const uint8_t *)"/testfile", 9}};
		sw_buf_init(&small, NULL);
		assert_int_equal(sw_v3_encode_request(&small, NULL, 0, get, 2, NULL), 0);
		build_vsrv();
		sw_vfs *v = open_vfs(SW_T_VSRV_ROOT, false, NULL);
		sw_buf_init(&out, NULL);
		sw_serve_result res;
		assert_true(serve_fds(v, 1, small.data, small.len, 65536, &out, &res));
		assert_int_equal(res.requests, 1);
		assert_int_equal(res.zc_out, 0);
		sw_buf_fini(&out);
		sw_buf_fini(&small);
		sw_vfs_del(v);
	}
	/* The same session on a memfs root over a socketpair. */
	sw_fs *mfs;
	assert_int_equal(sw_memfs_new(&mfs, NULL), 0);
	assert_int_equal(sw_fs_mkdirat(mfs, AT_FDCWD, "/srv", 0755), 0);
	sw_vfs_config vc = {.allow_writes = true, .fs = mfs};
	sw_vfs *v;
	assert_int_equal(sw_vfs_new(&v, "/srv", &vc, NULL), 0);
	sw_buf a, b;
	sw_buf_init(&a, NULL);
	sw_buf_init(&b, NULL);
	sw_serve_result res;
	serve_fifo(v, in.data, in.len, &a, &res);
	assert_true(serve_fds(v, 1, in.data, in.len, in.len + 4096, &b, &res));
	assert_int_equal(res.zc_in + res.zc_out, 0);
	assert_int_equal(res.requests, 2);
	assert_bytes("memfs over a socketpair", a.data, a.len, &b);
	sw_buf_fini(&a);
	sw_buf_fini(&b);
	sw_vfs_del(v);
	sw_fs_del(mfs);
	sw_buf_fini(&in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sessions_zero_copy),
	    cmocka_unit_test(test_large_zero_copy),
	    cmocka_unit_test(test_zero_copy_cut_and_memfs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
