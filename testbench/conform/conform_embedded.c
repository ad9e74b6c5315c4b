/*
 * Conformance runner: the embedded target, smartwire's own reference server
 * (smartwire/server.h over smartwire/vfs_server.h) run in a thread of the
 * runner and connected through an in-process fifo pair.  No process, no
 * descriptor: the sweeps cost microseconds per variant instead of a server
 * start-up each.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conform_impl.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"
#include "smartwire/server.h"
#include "smartwire/vfs.h"
#include "smartwire/vfs_server.h"

/* Mid-request reads of the server thread may wait this long for the runner
 * (which bounds its own waits much more tightly and closes its end when it
 * gives up, which ends such a read at once with end of stream). */
#define SERVER_READ_MS (10 * 60 * 1000)

typedef struct emb {
	pthread_t th;
	sw_medium *srv;
	sw_srv_config sc;
	sw_vfs *vfs;
	pthread_mutex_t lock;
	sw_buf log;
	sw_serve_result res;
	int rc;
} emb;

static void on_log(void *ud, const char *msg)
{
	emb *e = ud;
	pthread_mutex_lock(&e->lock);
	sw__cf_appendf(&e->log, "%s\n", msg);
	pthread_mutex_unlock(&e->lock);
}

static void *serve_thread(void *arg)
{
	emb *e = arg;
	e->rc = sw_serve_medium(&e->sc, sw_vfs_dispatch(), e->vfs, e->srv, &e->res, NULL);
	/* Closing our end is how the runner sees the connection end. */
	sw_medium_del(e->srv);
	e->srv = NULL;
	return NULL;
}

static void emb_free(emb *e)
{
	if (!e)
		return;
	if (e->srv)
		sw_medium_del(e->srv);
	sw_vfs_del(e->vfs);
	sw_buf_fini(&e->log);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

int sw__cf_embedded_start(void **handle, sw_medium **client_end, const sw_cf_case *c,
                          const char *dir, int idle_s, sw_errinfo *ei)
{
	*client_end = NULL;
	*handle = NULL;
	emb *e = calloc(1, sizeof *e);
	if (!e)
		return sw_errinfo_set(ei, SW_ERR_NOMEM, 0, NULL);
	pthread_mutex_init(&e->lock, NULL);
	sw_buf_init(&e->log, NULL);
	sw_vfs_config vc;
	memset(&vc, 0, sizeof vc);
	vc.allow_writes = c->allow_writes;
	int rc = sw_vfs_new(&e->vfs, dir, &vc, NULL);
	if (rc < 0) {
		sw_errinfo_set(ei, rc, 0, "cannot serve %s: %s", dir, sw_strerror(rc));
		emb_free(e);
		return rc;
	}
	e->sc.idle_timeout_ms = idle_s ? idle_s * 1000 : 0;
	e->sc.log = on_log;
	e->sc.log_ud = e;
	rc = sw_fifo_pair(client_end, &e->srv, NULL, NULL, NULL);
	if (rc == 0)
		rc = sw_fifo_set_timeout(e->srv, SERVER_READ_MS);
	if (rc == 0 && pthread_create(&e->th, NULL, serve_thread, e) != 0)
		rc = SW_ERR_NOMEM;
	if (rc < 0) {
		sw_errinfo_set(ei, rc, 0, "cannot start the embedded server: %s", sw_strerror(rc));
		sw_medium_del(*client_end);
		*client_end = NULL;
		emb_free(e);
		return rc;
	}
	*handle = e;
	return 0;
}

static const char *end_name(sw_serve_end end)
{
	switch (end) {
	case SW_SERVE_EOF: return "end of stream";
	case SW_SERVE_EOF_MID_REQUEST: return "end of stream mid-request";
	case SW_SERVE_TIMEOUT: return "idle timeout";
	case SW_SERVE_DEADLINE: return "request deadline";
	case SW_SERVE_PROTOCOL: return "protocol error";
	case SW_SERVE_IO: return "I/O error";
	case SW_SERVE_STALLED: return "stalled";
	case SW_SERVE_STOPPED: return "stopped";
	}
	return "?";
}

/* Waits for the server thread (the runner closed its end first, so the
 * server's reads end), frees everything, returns the server's log. */
void sw__cf_embedded_stop(void *handle, char **log)
{
	*log = NULL;
	emb *e = handle;
	if (!e)
		return;
	pthread_join(e->th, NULL);
	sw__cf_appendf(&e->log, "embedded server: %s after %llu request(s)%s%s\n", end_name(e->res.end),
	               (unsigned long long)e->res.requests, e->res.error ? ", " : "",
	               e->res.error ? sw_errname(e->res.error) : "");
	if (e->log.len)
		*log = sw__cf_strndup((const char *)e->log.data, e->log.len);
	emb_free(e);
}
