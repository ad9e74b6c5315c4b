/*
 * conform_target.h: the runner's world, fixture and target for other
 * drivers, as conform_run.c's run_variant sets them up, without steps.
 */
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "conform_target.h"
#include "smartwire/error.h"

struct sw_cf_session {
	sw_cf_case c;
	sw_cf_result r; /* notes, exit status, stderr */
	sw__cf_run R;
	bool stopped;
};

int sw_cf_session_open(sw_cf_session **out, const sw_cf_opts *o, const sw_cf_session_spec *spec,
                       sw_errinfo *ei)
{
	*out = NULL;
	sw_cf_session *s = calloc(1, sizeof *s);
	if (!s)
		return sw_errinfo_set(ei, SW_ERR_NOMEM, 0, "out of memory");
	s->c.id = (char *)"session";
	s->c.title = s->c.ref = (char *)"session";
	s->c.role = spec->role;
	s->c.allow_writes = spec->allow_writes;
	s->c.fixture_bzr = (char *)spec->fixture_bzr;
	s->c.client_op = (char *)spec->client_op;
	s->r.c = &s->c;
	s->r.exit_status = -1;
	sw__cf_run *R = &s->R;
	R->c = &s->c;
	R->o = o;
	R->r = &s->r;
	R->listen_fd = R->port_fd = -1;
	sw_buf_init(&R->why, NULL);
	sw_buf_init(&R->sec, NULL);
	sw_buf_init(&R->diff, NULL);
	sw_buf_init(&R->conn.rx, NULL);
	sw_buf_init(&R->conn.tx, NULL);
	R->conn.strict_unknown = spec->fixture_bzr != NULL;
	int rc = 0;
	if (spec->role == SW_CF_ROLE_SERVER)
		rc = sw__cf_world_make(R, ei);
	if (rc == 0 && sw__cf_target_start(R) < 0) {
		sw_buf_append_byte(&R->why, 0);
		rc = sw_errinfo_set(ei, SW_ERR_IO, 0, "%s", (const char *)R->why.data);
		sw__cf_target_stop(R);
		s->stopped = true;
	}
	if (rc < 0) {
		sw_cf_session_del(s);
		return rc;
	}
	*out = s;
	return 0;
}

sw_medium *sw_cf_session_conn(sw_cf_session *s)
{
	return s->R.conn.m;
}

int sw_cf_session_listen_fd(const sw_cf_session *s)
{
	return s->R.listen_fd;
}

sw_medium *sw_cf_session_proc(sw_cf_session *s)
{
	return s->R.proc;
}

int sw_cf_session_sent(sw_cf_session *s, const void *p, size_t n)
{
	return sw_buf_append(&s->R.conn.tx, p, n);
}

int sw_cf_session_fill(sw_cf_session *s, int64_t deadline)
{
	return sw__cf_conn_fill(&s->R.conn, deadline);
}

const uint8_t *sw_cf_session_rx(const sw_cf_session *s, size_t *n)
{
	*n = s->R.conn.rx.len;
	return sw__cf_rx_at(&s->R.conn, 0);
}

bool sw_cf_session_eof(const sw_cf_session *s)
{
	return s->R.conn.eof;
}

void sw_cf_session_note_change(sw_cf_session *s)
{
	sw__cf_note_change(&s->R);
}

void sw_cf_session_stop(sw_cf_session *s, int *status, char **stderr_text)
{
	if (!s->stopped)
		sw__cf_target_stop(&s->R);
	s->stopped = true;
	if (status)
		*status = s->r.exit_status;
	if (stderr_text)
		*stderr_text = s->r.stderr_text ? strdup(s->r.stderr_text) : NULL;
}

char *sw_cf_session_judge(sw_cf_session *s)
{
	sw__cf_world_judge(&s->R);
	if (!s->R.security)
		return NULL;
	sw_buf_append_byte(&s->R.sec, 0);
	return strdup((const char *)s->R.sec.data);
}

void sw_cf_session_del(sw_cf_session *s)
{
	if (!s)
		return;
	if (!s->stopped)
		sw__cf_target_stop(&s->R);
	if (s->R.oracle)
		sw__cf_world_del(&s->R);
	sw_buf_fini(&s->R.conn.rx);
	sw_buf_fini(&s->R.conn.tx);
	sw_buf_fini(&s->R.why);
	sw_buf_fini(&s->R.sec);
	sw_buf_fini(&s->R.diff);
	sw__cf_vars_free(&s->R.vars);
	s->r.c = NULL;
	sw_cf_result_fini(&s->r);
	free(s);
}

int sw_cf_encode_atom(const sw_cf_atom *a, const sw_cf_ctx *ctx, sw_buf *out, sw_errinfo *ei)
{
	return sw__cf_encode(a, ctx, out, ei);
}
