/*
 * smartwire: client URLs and the paths a client puts in VFS requests.
 *
 * Three schemes name a smart server:
 *
 *   bzr://HOST[:PORT]/PATH            TCP, port 4155 by default
 *   bzr+ssh://[USER@]HOST[:PORT]/PATH  `ssh HOST bzr serve --inet --directory=/`
 *   pipe:///PATH                      a local command speaking on its stdin
 *                                     and stdout (smartwire's own scheme: the
 *                                     command is given separately)
 *
 * The authority is split as Breezy's urlutils.URL.from_string does: the
 * user is what comes before the last '@' (a ":password" after it is parsed
 * and ignored), the port what follows the last ':' unless the host is a
 * bracketed IPv6 literal, and "%XX" escapes in user and host are decoded.
 * As with Python's urlparse, a '?' ends the path (the query is ignored).
 *
 * THE WIRE PATH.  VFS verbs take URL-escaped absolute paths (the server
 * unescapes them, protocol-reference §7.1).  Breezy's client builds them in
 * two steps, reproduced by sw_url_escape_path:
 *
 *   1. urlutils.normalize_url: every byte outside the URL-safe set
 *      (A-Z a-z 0-9 _ . - ! ~ * ' ( ) / ; ? : @ & = + $ , % #) becomes
 *      "%XX" (upper-case hex; a UTF-8 character becomes one escape per
 *      byte); then each existing "%XX" whose character is unreserved
 *      (A-Z a-z 0-9 - . _ ~) is decoded and every other "%XX" is written
 *      with upper-case hex.  A '%' not followed by two hex digits stays.
 *   2. URL._combine_paths("/", path) (RemoteTransport._remote_path): the
 *      path is split on '/', empty and "." segments are dropped, ".." drops
 *      the previous segment (and is ignored at the root), and the result is
 *      joined with '/' behind a leading '/'.
 *
 * So "bzr://h/dir/caf\xc3\xa9 x" gives "/dir/caf%C3%A9%20x", "bzr://h/a/../%7Eb"
 * gives "/~b", and "bzr://h" or "bzr://h/" give "/".  Over bzr+ssh the
 * server runs with --directory=/, so the same path is an absolute path on
 * the remote machine, as in Breezy.
 */
#ifndef SMARTWIRE_URL_H
#define SMARTWIRE_URL_H

#include <stddef.h>
#include <stdint.h>

#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sw_url_scheme {
	SW_URL_BZR = 1,     /* bzr:// */
	SW_URL_BZR_SSH = 2, /* bzr+ssh:// */
	SW_URL_PIPE = 3     /* pipe:// */
} sw_url_scheme;

/* A parsed URL.  Every string is NUL-terminated and allocated through the
 * allocator given to sw_url_parse; release them all with sw_url_fini. */
typedef struct sw_url {
	sw_url_scheme scheme;
	char *user;    /* decoded; NULL when the URL has none */
	char *host;    /* decoded, IPv6 without brackets; "" for pipe:// */
	uint16_t port; /* 0: none given */
	char *path;    /* the wire path (see above): starts with '/' */
} sw_url;

/* Parses `url`.  On success returns 0 and fills *out (owned by the caller:
 * sw_url_fini).  Returns SW_ERR_INVALID_ARGUMENT for an unknown scheme, a
 * bzr:// or bzr+ssh:// URL without a host, a port that is not a decimal
 * number in 1..65535, a user in a bzr:// or pipe:// URL, a host in a pipe://
 * URL, a host starting with '-' (Breezy's StrangeHostname) or containing a
 * NUL byte once decoded; SW_ERR_NOMEM.  On error *out is zeroed and nothing
 * is left allocated. */
SW_API int sw_url_parse(sw_url *out, const char *url, const sw_mem *mem);

/* Frees the strings of *u and zeroes it.  NULL or a zeroed sw_url: no-op.
 * `mem` must be the allocator given to sw_url_parse. */
SW_API void sw_url_fini(sw_url *u, const sw_mem *mem);

/* Appends the wire path of the `n` bytes at `p` (a URL path, or a relative
 * path: both give an absolute result) as described at the top of this file.
 * Returns 0 or SW_ERR_NOMEM (out may then hold a partial path past its
 * original length). */
SW_API int sw_url_escape_path(sw_buf *out, const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
