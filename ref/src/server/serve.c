/*
 * sw_serve_medium (smartwire/server.h): one connection served by a daemon
 * of one worker, so that it runs exactly the code of `smartwire serve`
 * (the worker's event loop and the connection driver), only with a single
 * medium and no listener.
 */
#include <string.h>

#include "daemon_impl.h"
#include "smartwire/error.h"

int sw_serve_medium(const sw_srv_config *cfg, const sw_dispatch *d, void *ud, sw_medium *m,
                    sw_serve_result *res, const sw_mem *mem)
{
	sw_serve_result dummy;
	if (!res)
		res = &dummy;
	memset(res, 0, sizeof *res);
	if (!d || !d->begin || !m)
		return SW_ERR_INVALID_ARGUMENT;
	sw_daemon_config dc;
	memset(&dc, 0, sizeof dc);
	if (cfg)
		dc.srv = *cfg;
	dc.workers = 1;
	dc.max_connections = 1;
	sw_daemon *dm = NULL;
	/* A medium without descriptors is never watched, and this daemon is
	 * never stopped from outside: it needs no epoll. */
	int rfd, wfd;
	sw_medium_fds(m, &rfd, &wfd);
	int rv = sw__daemon_new(&dm, &dc, d, &ud, 1, rfd >= 0 || wfd >= 0, mem);
	if (rv == 0)
		rv = sw_daemon_add_medium(dm, m, false, res);
	if (rv == 0)
		rv = sw_daemon_run(dm);
	sw_daemon_del(dm);
	return rv < 0 ? rv : (int)res->end;
}
