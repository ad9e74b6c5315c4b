/* The scripted fake server of fakeserver.h. */
#include "support/fakeserver.h"

#include <stdio.h>
#include <string.h>

#include "smartwire/error.h"

static int pump_none(void *ud)
{
	(void)ud;
	return 0;
}

void sw_fs_init(sw_fakeserver *fs, const sw_fs_conn *conns, size_t nconns,
                const sw_fault_plan *s2c, const sw_mem *mem)
{
	memset(fs, 0, sizeof *fs);
	fs->conns = conns;
	fs->nconns = nconns;
	fs->s2c = s2c;
	fs->mem = mem;
}

void sw_fs_close(sw_fakeserver *fs)
{
	sw_medium_del(fs->server);
	fs->server = NULL;
}

static void fail(sw_fakeserver *fs, const char *what)
{
	if (!fs->failure[0])
		snprintf(fs->failure, sizeof fs->failure, "connection %zu exchange %zu: %s",
		         fs->nconnects, fs->ex_i, what);
}

/* One server step: take what the client sent and answer a complete request.
 * Returns 1 when something was written or closed (progress), 0 otherwise, or
 * a negative error. */
static int step(void *ud)
{
	sw_fakeserver *fs = ud;
	if (!fs->server || !fs->cur)
		return 0;
	bool got = false;
	for (;;) {
		if (fs->rxn == sizeof fs->rx) {
			fail(fs, "request too long for the fake server");
			break;
		}
		ptrdiff_t n = sw_medium_read(fs->server, fs->rx + fs->rxn, sizeof fs->rx - fs->rxn);
		if (n <= 0)
			break;
		fs->rxn += (size_t)n;
		fs->rx_total += (size_t)n;
		got = true;
	}
	(void)got;
	if (fs->ex_i >= fs->cur->nex) {
		if (fs->rxn)
			fail(fs, "unexpected request bytes after the script");
		return 0;
	}
	const sw_fs_exchange *e = &fs->cur->ex[fs->ex_i];
	if (e->flags & SW_FS_ANY_REQUEST) {
		if (!fs->rxn)
			return 0;
		fs->rxn = 0;
	} else {
		if (fs->rxn < e->expect_len) {
			if (memcmp(fs->rx, e->expect, fs->rxn))
				fail(fs, "request bytes differ");
			return 0;
		}
		if (fs->rxn != e->expect_len || memcmp(fs->rx, e->expect, e->expect_len))
			fail(fs, "request bytes differ");
		fs->rxn = 0;
	}
	fs->ex_i++;
	if (e->flags & SW_FS_NO_REPLY)
		return 0;
	fs->exchanges++;
	if (e->reply_len) {
		size_t done = 0;
		int rc = sw_medium_write_all(fs->server, e->reply, e->reply_len, &done);
		if (rc < 0 && rc != SW_ERR_CONNECTION_RESET)
			return rc;
	}
	if (e->flags & SW_FS_CLOSE_AFTER)
		sw_fs_close(fs);
	return 1;
}

int sw_fs_connect(void *ud, sw_medium **out, sw_errinfo *ei)
{
	sw_fakeserver *fs = ud;
	size_t i = fs->nconnects < fs->nconns ? fs->nconnects : fs->nconns - 1;
	fs->nconnects++;
	const sw_fs_conn *conn = &fs->conns[i];
	if (conn->flags & SW_FS_REFUSE)
		return sw_errinfo_set(ei, SW_ERR_CONNECT, 111,
		                      "failed to connect to fake:%zu: Connection refused", i);
	sw_fs_close(fs);
	sw_medium *srv, *cli;
	int rc = sw_fifo_pair(&srv, &cli, fs->s2c, NULL, fs->mem);
	if (rc < 0)
		return rc;
	sw_fifo_set_pump(srv, pump_none, NULL);
	sw_fifo_set_pump(cli, step, fs);
	if (fs->client_write) {
		rc = sw_fault_wrap(&cli, cli, NULL, fs->client_write);
		if (rc < 0) {
			sw_medium_del(srv);
			return rc;
		}
	}
	fs->server = srv;
	fs->cur = conn;
	fs->ex_i = 0;
	fs->rxn = 0;
	if (conn->flags & SW_FS_CLOSED_EARLY)
		sw_fs_close(fs);
	*out = cli;
	return 0;
}

int sw_fs_step(sw_fakeserver *fs)
{
	return step(fs);
}

bool sw_fs_conn_done(const sw_fakeserver *fs)
{
	return fs->cur && fs->ex_i == fs->cur->nex;
}

/* ---- helpers of the client tests --------------------------------------- */

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>

#include <cmocka.h>

#include "smartwire/format.h"

sw_client *sw_fs_client(sw_fakeserver *fs, int protocol, bool empty_headers)
{
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = protocol;
	cfg.headers_set = empty_headers;
	sw_client *c = NULL;
	assert_int_equal(sw_client_new(&c, &cfg, sw_fs_connect, fs, NULL), 0);
	return c;
}

void sw_fs_assert_args(const sw_response *r, const char *const *want, size_t n)
{
	size_t got;
	const sw_slice *a = sw_response_args(r, &got);
	assert_int_equal(got, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].n, strlen(want[i]));
		assert_memory_equal(a[i].p, want[i], a[i].n);
	}
}

/* ---- the response vector runner --------------------------------------- */

typedef struct run_state {
	sw_buf *trace;
	sw_buf part;
} run_state;

static int rs_data(void *ud, const uint8_t *p, size_t n)
{
	run_state *rs = ud;
	return sw_buf_append(&rs->part, p, n) < 0;
}

static int rs_part_end(void *ud)
{
	run_state *rs = ud;
	int rc = sw_buf_append_str(rs->trace, "part ");
	rc = rc ? rc : sw_format_bytes(rs->trace, rs->part.data, rs->part.len);
	rc = rc ? rc : sw_buf_append_str(rs->trace, "\n");
	sw_buf_reset(&rs->part);
	return rc < 0;
}

/* Reads a medium to its end (NULL: nothing to read), counting the bytes in
 * *n.  0 at end of stream, or the read error (SW_ERR_TIMEOUT when it keeps
 * stalling, as the client gives up). */
static int read_rest(sw_medium *m, size_t *n)
{
	uint8_t buf[256];
	for (int stalls = 0; m;) {
		ptrdiff_t k = sw_medium_read(m, buf, sizeof buf);
		if (k == 0)
			break;
		if (k > 0) {
			*n += (size_t)k;
			stalls = 0;
		} else if (k != SW_ERR_WOULD_BLOCK) {
			return (int)k;
		} else if (++stalls > SW_CLIENT_MAX_STALLS) {
			return SW_ERR_TIMEOUT;
		}
	}
	return 0;
}

static void trace_error(sw_buf *t, sw_client *c, int rc)
{
	sw_buf_append_str(t, "error ");
	sw_buf_append_str(t, sw_errname(rc));
	if (rc == SW_ERR_ERROR_RESPONSE) {
		size_t n;
		const sw_slice *a = sw_client_error_args(c, &n);
		sw_buf_append_str(t, " ");
		sw_format_tuple(t, a, n);
	}
	sw_buf_append_str(t, "\nmessage ");
	const char *m = sw_client_error_message(c);
	sw_format_bytes(t, m, strlen(m));
	sw_buf_append_str(t, "\n");
}

char *sw_fs_run_response(const sw_fs_run *run, int *err)
{
	sw_fs_exchange ex = {NULL, 0, run->resp, run->len, SW_FS_ANY_REQUEST | SW_FS_CLOSE_AFTER};
	sw_fs_conn conn = {&ex, 1, 0};
	sw_fakeserver *fs = malloc(sizeof *fs);
	sw_buf t;
	sw_buf_init(&t, NULL);
	*err = 0;
	if (!fs)
		return NULL;
	sw_fs_init(fs, &conn, 1, run->plan, run->mem);
	sw_client_config cfg;
	memset(&cfg, 0, sizeof cfg); /* zero: the defaults */
	cfg.protocol = run->version;
	cfg.headers_set = true;
	cfg.pipe_exact = run->pipe_exact;
	sw_client *c = NULL;
	int rc = sw_client_new(&c, &cfg, sw_fs_connect, fs, run->mem);
	if (rc < 0) {
		sw_buf_append_str(&t, "error ");
		sw_buf_append_str(&t, sw_errname(rc));
		sw_buf_append_str(&t, "\n");
		*err = rc;
		goto out;
	}
	sw_call call;
	memset(&call, 0, sizeof call);
	call.verb.p = (const uint8_t *)run->verb;
	call.verb.n = strlen(run->verb);
	call.expect_body = run->mode != SW_FS_MODE_TUPLE;
	sw_response *r = NULL;
	rc = sw_client_call(c, &call, &r);
	if (rc < 0) {
		*err = rc;
		trace_error(&t, c, rc);
		goto out;
	}
	size_t n;
	const sw_slice *a = sw_response_args(r, &n);
	sw_buf_append_str(&t, "args ");
	sw_format_tuple(&t, a, n);
	sw_buf_append_str(&t, "\n");
	if (run->mode == SW_FS_MODE_BODY) {
		sw_buf body;
		sw_buf_init(&body, run->mem);
		rc = sw_response_read_body(r, &body);
		if (rc == 0) {
			sw_buf_append_str(&t, "body ");
			sw_format_bytes(&t, body.data, body.len);
			sw_buf_append_str(&t, "\n");
		}
		sw_buf_fini(&body);
	} else if (run->mode == SW_FS_MODE_STREAM) {
		run_state rs;
		rs.trace = &t;
		sw_buf_init(&rs.part, NULL);
		sw_body_callbacks cb = {rs_data, rs_part_end};
		rc = sw_response_read_streamed_body(r, &cb, &rs);
		sw_buf_fini(&rs.part);
	} else if (run->mode == SW_FS_MODE_CANCEL) {
		rc = sw_response_cancel_read_body(r);
		if (rc == 0) {
			/* What the next request would read: the desynchronised rest,
			 * part of it perhaps already in the client's buffer. */
			size_t unread = sw_client_pending(c);
			rc = read_rest(sw_client_medium(c), &unread);
			if (rc == 0) {
				char tmp[64];
				snprintf(tmp, sizeof tmp, "unread %zu\n", unread);
				sw_buf_append_str(&t, tmp);
			}
		}
	}
	if (rc < 0) {
		*err = rc;
		trace_error(&t, c, rc);
	}
	sw_response_del(r);
out:
	sw_client_del(c);
	sw_fs_close(fs);
	free(fs);
	sw_buf_append_byte(&t, 0);
	return (char *)t.data;
}
