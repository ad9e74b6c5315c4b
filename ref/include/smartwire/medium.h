/*
 * smartwire: the media layer, a byte pipe with no protocol knowledge.
 *
 * A medium is a small vtable (after curl's `struct Curl_cftype` and SQLite's
 * test_vfs.c): read, write, shutdown_write, wait_readable, close.  Concrete
 * media: a pair of file descriptors (pipes, `serve --inet`, any socket), TCP
 * (client connect, server listen/accept), a spawned command (bzr+ssh, or a
 * local `brz serve --inet`), and an in-process fifo pair for tests.  A fault
 * injector (smartwire/fault.h) wraps any medium.
 *
 * RESULTS.  Every operation keeps five outcomes apart:
 *
 *   read          > 0  bytes stored in buf (may be fewer than asked: a read
 *                      returns what is available, like recv()).
 *                 = 0  end of stream (the peer shut down its writing side or
 *                      went away).  Following Breezy (osutils
 *                      `_end_of_stream_errors`), a read failing with
 *                      ECONNRESET, EPIPE or EINVAL is reported as end of
 *                      stream too; sw_medium_errno() then tells which errno
 *                      it was (it is 0 after a clean EOF).
 *   write         > 0  bytes taken; may be fewer than asked (short write).
 *                      Use sw_medium_write_all() to write everything.
 *   SW_ERR_WOULD_BLOCK  nothing can be done now (a non-blocking descriptor,
 *                      an empty fifo in single-threaded mode, a fault-plan
 *                      EAGAIN burst or stall).  Call again later.
 *   SW_ERR_TIMEOUT     a bounded wait expired (wait_readable, a threaded
 *                      fifo read, accept).
 *   SW_ERR_CONNECTION_RESET  a write found the peer gone (ECONNRESET, EPIPE,
 *                      EINVAL as Breezy's send_all and
 *                      SmartSimplePipesClientMedium treat them; a fifo whose
 *                      peer was closed).
 *   SW_ERR_IO          any other system error; sw_medium_errno() has errno.
 *   SW_ERR_CLOSED      write after this side's shutdown_write.
 *
 * EINTR is retried inside every medium and never surfaces.  A medium is not
 * thread-safe: one thread uses one medium at a time (the two ends of a fifo
 * pair may be used from two threads).
 *
 * SIGPIPE.  The library never changes process-wide signal dispositions.
 * Sockets are written with MSG_NOSIGNAL.  For other descriptors (pipes) the
 * fd medium blocks SIGPIPE in the calling thread for the duration of the
 * write() and consumes a SIGPIPE that the write itself raised, so EPIPE is
 * returned as SW_ERR_CONNECTION_RESET instead of killing the process.
 */
#ifndef SMARTWIRE_MEDIUM_H
#define SMARTWIRE_MEDIUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smartwire/error.h"
#include "smartwire/export.h"
#include "smartwire/mem.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sw_medium sw_medium;

/* The vtable.  Implementations live in ref/src/medium_*.c and fault.c; a test
 * may define its own.  Every function receives the sw_medium it belongs to
 * and returns the results described at the top of this file. */
typedef struct sw_medium_ops {
	const char *name; /* "fd", "tcp", "cmd", "fifo", "fault", ... */
	/* len > 0 always (the public wrapper checks). */
	ptrdiff_t (*read)(sw_medium *m, void *buf, size_t len);
	/* len > 0 always. */
	ptrdiff_t (*write)(sw_medium *m, const void *buf, size_t len);
	/* Half-close: the peer reads EOF after the bytes already written. */
	int (*shutdown_write)(sw_medium *m);
	/* 1 when a read would not block (data, EOF or an error is pending). */
	int (*wait_readable)(sw_medium *m, int timeout_ms);
	/* Releases everything, including the object itself. */
	void (*close)(sw_medium *m);
	/* Optional (NULL: none).  The descriptors an event loop may poll for
	 * this medium's readiness (see sw_medium_fds). */
	int (*fds)(const sw_medium *m, int *rfd, int *wfd);
	/* Optional (NULL: the medium cannot; callers copy).  Zero-copy moves
	 * between the medium and a file descriptor: see sw_medium_sendfile and
	 * sw_medium_splice_in (len > 0 always). */
	ptrdiff_t (*sendfile)(sw_medium *m, int fd, uint64_t off, size_t len, int *src_errno);
	ptrdiff_t (*splice_in)(sw_medium *m, int fd, size_t len, int *sink_errno);
} sw_medium_ops;

/* The common head of every medium.  Implementations embed it as their FIRST
 * member and allocate the whole object through `mem`.  Callers treat it as
 * opaque and use the functions below. */
struct sw_medium {
	const sw_medium_ops *ops;
	const sw_mem *mem; /* allocator the object was created with (may be NULL) */
	int sys_errno;     /* errno behind the last error/EOF result, 0 if none */
};

/* ---- Generic operations (medium.c) ----------------------------------- */

/* Reads up to `len` bytes.  Returns > 0 bytes read, 0 at end of stream,
 * SW_ERR_WOULD_BLOCK, SW_ERR_TIMEOUT (threaded fifo), SW_ERR_IO,
 * SW_ERR_CONNECTION_RESET (only media that choose to: the fault wrapper never
 * does on read, see fault.h), SW_ERR_NOMEM (fifo pump), or
 * SW_ERR_INVALID_ARGUMENT when m or buf is NULL or len is 0. */
SW_API ptrdiff_t sw_medium_read(sw_medium *m, void *buf, size_t len);

/* Writes up to `len` bytes; may take fewer.  Returns > 0 bytes taken, 0 only
 * when len is 0, SW_ERR_WOULD_BLOCK, SW_ERR_CONNECTION_RESET, SW_ERR_CLOSED,
 * SW_ERR_IO, SW_ERR_NOMEM (fifo), SW_ERR_INVALID_ARGUMENT. */
SW_API ptrdiff_t sw_medium_write(sw_medium *m, const void *buf, size_t len);

/* Writes all `len` bytes, looping over short writes.  Returns 0 or the first
 * negative result of sw_medium_write() (including SW_ERR_WOULD_BLOCK: this
 * function does not wait for writability; SW_ERR_IO if a faulty medium takes
 * 0 bytes).  `*written` (if not NULL) receives
 * the number of bytes taken before the error, so a caller can resume. */
SW_API int sw_medium_write_all(sw_medium *m, const void *buf, size_t len, size_t *written);

/* Half-closes the writing direction.  Returns 0, SW_ERR_IO,
 * SW_ERR_INVALID_ARGUMENT (m NULL), or what the medium documents.  Calling it
 * twice is harmless (0). */
SW_API int sw_medium_shutdown_write(sw_medium *m);

/* Waits until a read would not block: data, end of stream or an error.
 * timeout_ms < 0 waits without bound (a threaded fifo still applies its own
 * timeout), 0 just checks.  Returns 1 when readable, SW_ERR_TIMEOUT when the
 * time ran out (also at once for a stalled fault plan, see fault.h),
 * SW_ERR_WOULD_BLOCK when a single-threaded fifo has nothing and its pump
 * cannot produce more, a negative pump result, SW_ERR_IO, or
 * SW_ERR_INVALID_ARGUMENT (m NULL). */
SW_API int sw_medium_wait_readable(sw_medium *m, int timeout_ms);

/* Closes the medium and frees it (owned descriptors are closed, a command's
 * child is reaped).  NULL is a no-op.  `m` is invalid afterwards. */
SW_API void sw_medium_del(sw_medium *m);

/* The descriptors to poll for this medium's readiness, for an event loop:
 * *rfd becomes readable when a read would not block, *wfd writable when a
 * write would not block.  -1 when the medium has none (a fifo, a fault
 * wrapper, whose readiness only its own calls know: use
 * sw_medium_wait_readable), or after shutdown_write closed it.  "fd",
 * "tcp" and "cmd" media have them; they stay owned by the medium.  Either
 * pointer may be NULL.  Returns 0 or SW_ERR_INVALID_ARGUMENT (m NULL). */
SW_API int sw_medium_fds(const sw_medium *m, int *rfd, int *wfd);

/* ---- Zero-copy (optional operations) --------------------------------- *
 * A server body can move between a file and the medium without passing
 * through user memory (sendfile(2), splice(2)): the file's bytes straight
 * to the peer, the peer's bytes straight into a file.  Media on pipes and
 * sockets ("fd", "tcp") can; a fault wrapper can when the medium it wraps
 * can, applying its plans to these calls as to read and write (sendfile
 * in the write role, splice_in in the read role); the others (fifo, cmd)
 * cannot, and their callers copy. */

/* What sw_medium_zero_copy says the medium can do. */
#define SW_MEDIUM_SENDFILE 1u  /* sw_medium_sendfile */
#define SW_MEDIUM_SPLICE_IN 2u /* sw_medium_splice_in */

/* SW_MEDIUM_SENDFILE | SW_MEDIUM_SPLICE_IN as the medium has them (0 for
 * NULL).  That it has one does not promise that every descriptor pair
 * works: each call may still answer SW_ERR_INVALID_ARGUMENT (below). */
SW_API unsigned sw_medium_zero_copy(const sw_medium *m);

/* Writes up to `len` bytes of file descriptor `fd`, from offset `off`
 * (the descriptor's own position is left alone), to the medium, as
 * sw_medium_write would write them.  Returns:
 *   > 0   bytes moved (may be fewer than asked: a short write);
 *   0     the file could not give its bytes: *src_errno says why (EIO: it
 *         ends before off + len; or the error reading it); the medium is
 *         untouched and usable;
 *   SW_ERR_WOULD_BLOCK, SW_ERR_CONNECTION_RESET, SW_ERR_IO, SW_ERR_CLOSED
 *         as sw_medium_write (the medium's side failed);
 *   SW_ERR_INVALID_ARGUMENT  nothing was moved and this pair of descriptors
 *         cannot be moved without copying (the kernel says EINVAL, ENOSYS:
 *         a file system without splice support, say), or m/src_errno NULL,
 *         len 0, or the medium has no sendfile: copy instead.
 * SIGPIPE is kept from the process as for writes. */
SW_API ptrdiff_t sw_medium_sendfile(sw_medium *m, int fd, uint64_t off, size_t len, int *src_errno);

/* Reads up to `len` bytes from the medium straight into file descriptor
 * `fd`, at and advancing its position (as write(2) would put them).
 * Returns:
 *   > 0   bytes consumed from the medium; all of them are in `fd` when
 *         *sink_errno is 0; otherwise writing to `fd` failed with that
 *         errno after a prefix of them, and the rest are lost (consumed,
 *         not written: the caller treats the sink as failed);
 *   0     with *sink_errno 0: end of stream, as sw_medium_read; with
 *         *sink_errno set: nothing was consumed, writing to `fd` failed;
 *   SW_ERR_WOULD_BLOCK, SW_ERR_IO as sw_medium_read (end of stream mapped
 *         from ECONNRESET, EPIPE, EINVAL is 0 as there);
 *   SW_ERR_INVALID_ARGUMENT  nothing was consumed and this pair cannot be
 *         moved without copying (not a pipe or socket, a sink opened
 *         O_APPEND...), or bad arguments or no splice_in: copy instead. */
SW_API ptrdiff_t sw_medium_splice_in(sw_medium *m, int fd, size_t len, int *sink_errno);

/* The errno behind the most recent SW_ERR_IO or SW_ERR_CONNECTION_RESET
 * result or end of stream: ECONNRESET, EPIPE or EINVAL after an
 * error-mapped EOF, 0 after a clean one.  Other successful calls leave it
 * unchanged; 0 before any failure. */
SW_API int sw_medium_errno(const sw_medium *m);

/* The medium's kind ("fd", "tcp", "cmd", "fifo", "fault"); static string. */
SW_API const char *sw_medium_name(const sw_medium *m);

/* ---- File descriptors (medium_fd.c) ---------------------------------- */

/* Flags for sw_fd_medium_new(). */
#define SW_FD_OWN 0x1u /* close the descriptor(s) in close() */

/* Wraps a read descriptor and a write descriptor (the same socket twice is
 * fine; `brz serve --inet` style servers pass 0 and 1).  The descriptors'
 * blocking mode is left alone: a non-blocking descriptor yields
 * SW_ERR_WOULD_BLOCK.  Sockets (detected with fstat) are written with
 * MSG_NOSIGNAL and half-closed with shutdown(SHUT_WR); for any other write
 * descriptor shutdown_write close()s it, even without SW_FD_OWN, because
 * closing is the only way to signal EOF on a pipe (when rfd == wfd and it is
 * not a socket, shutdown_write only refuses further writes).
 * On success *out owns the descriptors iff SW_FD_OWN; on failure nothing is
 * closed.  Returns 0, SW_ERR_INVALID_ARGUMENT (negative fd, NULL out),
 * SW_ERR_NOMEM. */
SW_API int sw_fd_medium_new(sw_medium **out, int rfd, int wfd, unsigned flags, const sw_mem *mem);

/* ---- TCP (medium_tcp.c) ---------------------------------------------- */

#define SW_TCP_DEFAULT_PORT 4155 /* bzr://, registered with IANA (Breezy BZR_DEFAULT_PORT) */

/* Connects like Breezy's SmartTCPClientMedium: getaddrinfo(host, port,
 * AF_UNSPEC, SOCK_STREAM), then every address in turn with TCP_NODELAY; each
 * attempt is a non-blocking connect bounded by `timeout_ms` (< 0: no bound).
 * port 0 means SW_TCP_DEFAULT_PORT.  The resulting socket is blocking and
 * close-on-exec; *out is an owning "tcp" medium.
 * Returns 0, SW_ERR_CONNECT (lookup failed or no address accepted the
 * connection), SW_ERR_NOMEM, SW_ERR_INVALID_ARGUMENT.  On SW_ERR_CONNECT
 * ei->text (if ei is not NULL) is worded exactly as Breezy's: "failed to
 * connect to HOST:PORT: <strerror>" or "failed to lookup HOST:PORT:
 * <gai_strerror>", and ei->sys_errno is the connect errno. */
SW_API int sw_tcp_connect(sw_medium **out, const char *host, uint16_t port, int timeout_ms,
                          const sw_mem *mem, sw_errinfo *ei);

/* Opens a listening socket like `brz serve`: the first result of
 * getaddrinfo(addr, port, AF_UNSPEC, SOCK_STREAM, AI_PASSIVE), SO_REUSEADDR,
 * listen(backlog).  addr NULL: any address; port 0: a free port.  The socket
 * is non-blocking (sw_tcp_accept waits with poll) and close-on-exec; the
 * caller owns *fd_out and closes it.  *port_out (may be NULL) receives the
 * bound port.  Returns 0, SW_ERR_IO (ei: the call that failed and its
 * errno), SW_ERR_INVALID_ARGUMENT. */
SW_API int sw_tcp_listen(int *fd_out, uint16_t *port_out, const char *addr, uint16_t port,
                         int backlog, sw_errinfo *ei);

/* Accepts one connection, waiting at most timeout_ms (< 0: no bound).  The
 * accepted socket is blocking, close-on-exec, has TCP_NODELAY, and becomes
 * an owning "tcp" medium.  Returns 0, SW_ERR_TIMEOUT, SW_ERR_IO,
 * SW_ERR_NOMEM, SW_ERR_INVALID_ARGUMENT. */
SW_API int sw_tcp_accept(sw_medium **out, int listen_fd, int timeout_ms, const sw_mem *mem);

/* ---- Spawned command (medium_cmd.c) ---------------------------------- */

#define SW_CMD_STDERR_LIMIT_DEFAULT (64u * 1024u)
#define SW_CMD_KILL_TIMEOUT_MS_DEFAULT 2000

typedef struct sw_cmd_config {
	/* Bytes of the child's stderr kept; later bytes are read (so the child
	 * never blocks on a full pipe) and counted but dropped.  0: default. */
	size_t stderr_limit;
	/* On close: how long to wait for the child to exit after its stdin and
	 * stdout were closed, and again after SIGTERM, before SIGKILL.  0: default;
	 * negative: do not wait (SIGTERM then SIGKILL at once). */
	int kill_timeout_ms;
	/* Let the child write to our stderr instead of capturing it (Breezy's
	 * default, so that ssh password prompts are visible). */
	bool inherit_stderr;
} sw_cmd_config;

/* Runs argv[0] (searched in PATH like posix_spawnp; the search is also done
 * before spawning, so "not found" is SW_ERR_SPAWN even where posix_spawn is
 * emulated with fork and could not report a failed exec) with argv as its
 * arguments, its stdin and
 * stdout connected to pipes that become this medium, and its stderr captured
 * into a bounded buffer.  The captured stderr is drained whenever the medium
 * polls (in read, write and wait_readable), so a chatty child never
 * deadlocks.  Writes go through a non-blocking pipe and may be short.
 * `argv` must be NULL-terminated; it is only read during the call.  cfg NULL:
 * defaults.  Returns 0, SW_ERR_SPAWN (the command could not be started, for
 * example not found: ei->sys_errno is the errno, ei->text "cannot run
 * PROGRAM: <strerror>"), SW_ERR_IO (pipe creation), SW_ERR_NOMEM,
 * SW_ERR_INVALID_ARGUMENT (NULL or empty argv, NULL out). */
SW_API int sw_cmd_spawn(sw_medium **out, const char *const *argv, const sw_cmd_config *cfg,
                        const sw_mem *mem, sw_errinfo *ei);

/* Ends the child without freeing the medium: closes its stdin and stdout
 * pipes, waits up to kill_timeout_ms for it to exit (draining stderr), then
 * SIGTERM, waits again, then SIGKILL, and reaps it.  Afterwards reads return
 * 0, writes SW_ERR_CLOSED.  *wait_status (may be NULL) receives the raw
 * waitpid() status (use WIFEXITED/WEXITSTATUS/WIFSIGNALED), or -1 if the
 * child could not be reaped (SIGCHLD ignored by the program).  *err (may be
 * NULL) receives the captured stderr, valid until sw_medium_del().
 * Idempotent: a second call returns the same results.  Returns 0 or
 * SW_ERR_INVALID_ARGUMENT (m is not a "cmd" medium). */
SW_API int sw_cmd_close_wait(sw_medium *m, int *wait_status, sw_slice *err);

/* The child's pid (for tests and logs), or -1 if m is not a "cmd" medium. */
SW_API long sw_cmd_pid(const sw_medium *m);

/* Captured stderr so far (valid until the next operation on m) and the count
 * of bytes dropped beyond the limit.  Returns 0 or SW_ERR_INVALID_ARGUMENT. */
SW_API int sw_cmd_stderr(const sw_medium *m, sw_slice *err, uint64_t *dropped);

/* Parameters of a bzr+ssh connection (Breezy SSHParams). */
typedef struct sw_ssh_params {
	const char *ssh_program; /* NULL: "ssh" */
	const char *host;        /* required; may not start with '-' */
	uint16_t port;           /* 0: no -p option */
	const char *user;        /* NULL: no -l option */
	const char *remote_path; /* NULL: "bzr"; Breezy takes it from
	                          * $BZR_REMOTE_PATH or the bzr_remote_path
	                          * config: that lookup is the caller's job */
} sw_ssh_params;

#define SW_BZR_REMOTE_PATH_DEFAULT "bzr"

/* Builds exactly the argv of Breezy 3.3.2's OpenSSHSubprocessVendor for
 * SmartSSHClientMedium:
 *   ssh -oForwardX11=no -oForwardAgent=no -oClearAllForwardings=yes
 *       -oNoHostAuthenticationForLocalhost=yes [-p PORT] [-l USER]
 *       -- HOST REMOTE_PATH serve --inet --directory=/ --allow-writes
 * *argv_out is one NULL-terminated block (pointers and strings together);
 * free it with sw_free(mem, *argv_out).  Returns 0, SW_ERR_INVALID_ARGUMENT
 * (no host, or a host starting with '-': Breezy's StrangeHostname),
 * SW_ERR_NOMEM. */
SW_API int sw_ssh_argv(const sw_ssh_params *p, const sw_mem *mem, char ***argv_out);

/* ---- In-process fifo pair (medium_fifo.c) ---------------------------- */

struct sw_fault_plan;

#define SW_FIFO_TIMEOUT_MS_DEFAULT 5000

/* Creates two connected endpoints in memory.  Each direction is an unbounded
 * byte queue allocated through `mem` (writes never block; they fail with
 * SW_ERR_NOMEM when the allocator does).  The endpoints may be used from one
 * thread (deterministic style) or from two threads (queues are protected by a
 * mutex).
 *
 * Reading an empty queue whose writer is still open:
 *  - if a pump is set on the reading endpoint (sw_fifo_set_pump), the pump is
 *    called (without any lock held) while it returns > 0 and the queue is
 *    still empty; a negative pump result is returned as is; if the queue is
 *    still empty, the read returns SW_ERR_WOULD_BLOCK (a stall);
 *  - otherwise the read blocks on a condition variable until data, EOF or
 *    close, for at most the endpoint's timeout (SW_FIFO_TIMEOUT_MS_DEFAULT,
 *    see sw_fifo_set_timeout), then returns SW_ERR_TIMEOUT.
 * wait_readable follows the same rules (its timeout_ms replaces the
 * endpoint's timeout when >= 0).
 * shutdown_write: the peer reads the queued bytes and then EOF; this side's
 * later writes return SW_ERR_CLOSED.  Closing one endpoint: the other reads
 * what was already queued and then EOF, and its writes return
 * SW_ERR_CONNECTION_RESET.  The shared state is freed when both are closed.
 *
 * Fault plans (NULL: none; copied, the caller keeps ownership): `a_to_b`
 * applies to bytes flowing from a to b.  Its `write=` sizes shape a's writes
 * (short writes); everything else in it applies in the read role at b (see
 * smartwire/fault.h).  When a plan is given the endpoint is a "fault" medium
 * wrapping a "fifo" one; sw_fifo_set_pump/set_timeout see through it.
 * Returns 0, SW_ERR_NOMEM (nothing leaked, *a and *b untouched), SW_ERR_IO
 * (mutex/condvar creation), SW_ERR_INVALID_ARGUMENT (NULL a or b, or a plan
 * that sw_fault_wrap() refuses). */
SW_API int sw_fifo_pair(sw_medium **a, sw_medium **b, const struct sw_fault_plan *a_to_b,
                        const struct sw_fault_plan *b_to_a, const sw_mem *mem);

/* Sets the pump of endpoint m (NULL pump: threaded style).  The pump returns
 * > 0 "made progress, call me again if still empty", 0 "no progress", or a
 * negative sw_err.  Returns 0 or SW_ERR_INVALID_ARGUMENT (not a fifo). */
SW_API int sw_fifo_set_pump(sw_medium *m, int (*pump)(void *ud), void *ud);

/* Sets the bound of blocking reads in threaded style (> 0 ms).  Returns 0 or
 * SW_ERR_INVALID_ARGUMENT. */
SW_API int sw_fifo_set_timeout(sw_medium *m, int timeout_ms);

/* Bytes queued for reading at endpoint m (for tests), or 0 if not a fifo. */
SW_API size_t sw_fifo_pending(const sw_medium *m);

#ifdef __cplusplus
}
#endif
#endif
