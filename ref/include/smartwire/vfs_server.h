/*
 * smartwire: the reference file server, i.e. the VFS verbs (smartwire/vfs.h)
 * behind the server session layer (smartwire/server.h).
 *
 * This is only a mapping.  The session layer owns framing, versions and the
 * unknown-verb answers; sw_vfs owns paths, files and error tuples.  The glue
 * turns one into the other:
 *
 *   sw_dispatch.begin     -> sw_vfs_begin (unknown verb: SW_ERR_UNKNOWN_METHOD,
 *                            which the session answers per version)
 *   sw_dispatch.body      -> sw_vfs_body
 *   sw_dispatch.end       -> sw_vfs_end, then the reply
 *   sw_dispatch.read_body -> sw_vfs_read_body
 *   sw_dispatch.abort     -> sw_vfs_abort
 *   sw_dispatch.free      -> sw_vfs_req_del
 *   sw_dispatch.body_span, body_span_done, body_sink, body_sink_done
 *                         -> their sw_vfs_* namesakes: get and readv bodies
 *                            sent from the file, put and append bodies
 *                            spliced into the upload's temporary file, by a
 *                            driver whose medium can (the real file system
 *                            only; the answers are the same)
 *
 * and a reply (sw_vfs_get_reply) into one respond call:
 *
 *   SW_VFS_SUCCESS with a body  -> sw_srv_respond_body(args, body_len)
 *                                  (known length: v1/v2 "%d\n"...done, v3 one
 *                                  bytes part, as Breezy sends get/readv)
 *   SW_VFS_SUCCESS              -> sw_srv_respond(true, args)
 *   SW_VFS_FAILED               -> sw_srv_respond(false, args)
 *   SW_VFS_PROTOCOL_ERROR       -> sw_srv_respond(false, ("error", text)):
 *                                  what Breezy sends for an exception that
 *                                  escaped the verb (v1/v2 _send_response of
 *                                  ('error', str(e)); v3 send_error).
 *
 * DEPARTURES FROM BREEZY 3.3.2 (protocol-reference §7.6), all because Breezy
 * crashes where we answer:
 *  - `get` of a directory in v1/v2: Breezy's ReadError carries a `str` path
 *    that its v1/v2 encoder cannot write; v1 closes the connection with no
 *    output, v2 sends "bzr response 2\nfailed\n" and closes.  We answer the
 *    tuple that v3 carries: v1 "ReadError\x01dir\n", v2
 *    "bzr response 2\nfailed\nReadError\x01dir\n", and keep the connection.
 *  - `iter_files_recursive` in v1/v2: same bug with its `str` names (v1
 *    closes silently, v2 sends "bzr response 2\nsuccess\n" and closes).  We
 *    answer "names\x01a\x01sub/b..." (v2: with the success marker first).
 *  - A v1/v2 body verb (put, put_non_atomic, append, readv) answered before
 *    its body -- a bad mode, a path above the root -- is answered only once
 *    its length-prefixed body has been read (and discarded).  Breezy answers
 *    at once and then parses that body as further requests ("bad request
 *    '1'", "bad request 'zdone'"), desynchronising the connection.  The
 *    answer's bytes are Breezy's; in v3, where the framing delimits the body,
 *    the answer goes out at once as in Breezy.
 *  - Everything sw_vfs departs on (smartwire/vfs.h: symlinks leaving the
 *    root, atomic move, hidden temporary files, limits) and everything the
 *    session layer departs on (smartwire/server.h: pipelining, framing
 *    errors, client aborts) shows through unchanged.
 *  - A reply argument that the v1/v2 tuple line cannot carry (0x01 or "\n";
 *    the VFS escapes names and paths, so only a pathological error text
 *    could) closes the connection without an answer, as Breezy's encoder
 *    failure does.
 *
 * THREADS.  The dispatch functions keep no state of their own; everything
 * lives in the sw_vfs given as `ud` and in the per-request sw_vfs_req (see
 * smartwire/vfs.h, THREADS: one sw_vfs may serve several threads).  The
 * usual way is one sw_vfs per worker (sw_vfs_new is cheap), as `smartwire
 * serve` gives each worker of smartwire/daemon.h its own.
 */
#ifndef SMARTWIRE_VFS_SERVER_H
#define SMARTWIRE_VFS_SERVER_H

#include "smartwire/export.h"
#include "smartwire/server.h"
#include "smartwire/vfs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The request handler backed by the sw_vfs passed as sw_srv_conn_new()'s
 * `ud` (it must outlive every connection using it).  Static storage: never
 * freed, valid for the life of the program. */
SW_API const sw_dispatch *sw_vfs_dispatch(void);

#ifdef __cplusplus
}
#endif
#endif
