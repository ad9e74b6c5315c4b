/*
 * srvbench: the pieces of bench_server (issue 4, "Speed is measured, not
 * asserted"): one benchmark client used against every server, probes of a
 * server process in /proc, the ceiling servers (srvbench_ceiling.c), and
 * the floors measured with them and without any server
 * (srvbench_floors.c).
 *
 * THE CLIENT sends requests pre-encoded with OUR v3 encoder (bytes checked
 * once against a recording of Breezy's own client, see sb_verify_requests)
 * and decodes every response with OUR v3 decoder, counting body bytes.  It is
 * a plain blocking client, one request at a time per connection (Breezy's
 * clients never pipeline), on a TCP_NODELAY socket to 127.0.0.1 with 60 s
 * send and receive timeouts, so no measurement can hang.
 *
 * THE CEILINGS are forked child processes, so that like a real server they
 * have their own CPU accounting: an "echo" server that reads each request
 * (its exact length) and writes a canned response of the real response's
 * size, and a sink that reads and discards a stream.
 */
#ifndef SMARTWIRE_BENCH_SRVBENCH_H
#define SMARTWIRE_BENCH_SRVBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smartwire/mem.h"
#include "smartwire/v3.h"

#define SB_IO_TIMEOUT_S 60
#define SB_CHUNK 65536 /* read size, and the write size of bodies */
/* The fixture's testfile: the file of the protocol reference's sample. */
#define SB_TESTFILE "contents\nof\nfile\n"

_Noreturn void sb_die(const char *what, int err);
double sb_now(void);

/* ---- Requests (our encoder) ------------------------------------------- */

/* A request as written to the socket: head, then body_n bytes of
 * pat[0..pat_n) repeated, one write per repetition (the bench passes a
 * SB_CHUNK pattern: 64 KiB writes, as the loopback ceiling), then tail.  Bodyless requests
 * have body_n 0 and an empty tail. */
typedef struct sb_req {
	sw_buf head;
	uint64_t body_n;
	const uint8_t *pat;
	size_t pat_n;
	uint8_t tail[1];
	size_t tail_n;
} sb_req;

/* get PATH: marker, Breezy's headers, s(("get", PATH)), e. */
void sb_req_get(sb_req *rq, const char *path);
/* put PATH with mode "" (Breezy's put_bytes without a mode) and a body of
 * body_n bytes of `pat`: marker, headers, s(("put", PATH, "")),
 * b u32be(body_n) <body>, e. */
void sb_req_put(sb_req *rq, const char *path, uint64_t body_n, const uint8_t *pat, size_t pat_n);
void sb_req_free(sb_req *rq);

/* Checks, once, that our encoder produces the bytes of Breezy's own client:
 * `get /testfile` against `get_capture` (a file that holds it, e.g.
 * corpus/sessions/mixed-readonly.req), and `get /d/a.txt` and
 * `put /d/a.txt "" "alpha\n"` against `client_recording` (Breezy's client
 * recorded by `smartwire record`, corpus/recordings/vfs-transport-v3/
 * conn-001.c2s).  Prints one JSON line; returns 0 if all three were found
 * byte for byte. */
int sb_verify_requests(const char *get_capture, const char *client_recording);

/* ---- Connections ------------------------------------------------------ */

/* The decoded response of one call. */
typedef struct sb_resp {
	int status;      /* the 'o' byte: 'S' success, 'E' error; -1 if none */
	uint64_t body;   /* body bytes received */
	uint64_t wire;   /* response bytes received */
} sb_resp;

typedef struct sb_conn {
	int fd;
	sw_v3_dec *dec;
	sb_resp resp;
	uint8_t *rbuf; /* SB_CHUNK bytes */
} sb_conn;

/* A connected TCP socket to 127.0.0.1:port with TCP_NODELAY and the I/O
 * timeouts, or -errno. */
int sb_connect(uint16_t port);
/* sb_connect plus a decoder and a read buffer; 0 or -errno. */
int sb_conn_open(sb_conn *c, uint16_t port);
void sb_conn_close(sb_conn *c);

/* Sends `rq` and reads the complete response into c->resp.  Returns 0, or
 * -1 after printing why (connection closed, timeout, decoder error, or
 * bytes after the response: the client never pipelines, so there must be
 * none).  A server that answers before the whole request is written (an
 * early error) is still read correctly: the request is written first and
 * the socket buffers hold the response meanwhile, up to the timeout. */
int sb_call(sb_conn *c, const sb_req *rq);

/* ---- The server process ----------------------------------------------- */

/* utime + stime of the whole process (all threads), in seconds, from
 * /proc/PID/stat; -1 if unreadable. */
double sb_proc_cpu(pid_t pid);
/* A "VmRSS:" or "VmHWM:" line of /proc/PID/status in KiB; -1 if absent. */
long sb_proc_status_kib(pid_t pid, const char *field);
/* Resets VmHWM (writes "5" to /proc/PID/clear_refs); true if it worked. */
bool sb_proc_reset_hwm(pid_t pid);

/* A thread sampling VmRSS every millisecond until stopped. */
typedef struct sb_rss_sampler sb_rss_sampler;
sb_rss_sampler *sb_rss_start(pid_t pid);
/* Stops it and returns the largest sample in KiB (-1 if none). */
long sb_rss_stop(sb_rss_sampler *s);

/* ---- Ceilings ----------------------------------------------------------- */

/* Forks an echo server on 127.0.0.1 (*port, *pid): it accepts ONE
 * connection and, for every req_n bytes read, writes resp[0..resp_n), until
 * end of stream; it exits after at most SB_IO_TIMEOUT_S s of silence.  With
 * `epoll` it reads as an event-driven server does (a non-blocking socket,
 * epoll_wait with a timeout before each read), otherwise in blocking recv. */
void sb_echo_spawn(bool epoll, size_t req_n, const uint8_t *resp, size_t resp_n, uint16_t *port,
                   pid_t *pid);
/* Forks a sink on 127.0.0.1: it accepts one connection, reads SB_CHUNK at a
 * time until end of stream, then writes the byte count (8 bytes, host
 * order) and exits.  With a `path` (else NULL) it is a store: it keeps what
 * it reads in a new file `path` (created or truncated), moved socket ->
 * pipe -> file with splice(2) through a 1 MiB pipe, as smartwire stores a
 * put's body; the ceiling of a put on that file system. */
void sb_sink_spawn(const char *path, uint16_t *port, pid_t *pid);
/* Forks a source on 127.0.0.1: it accepts one connection, writes `bytes`
 * bytes from memory in SB_CHUNK writes (the download direction of the
 * loopback ceiling), closes and exits. */
void sb_source_spawn(uint64_t bytes, uint16_t *port, pid_t *pid);
/* Waits for a child forked above (killing it if it has not exited after
 * SB_IO_TIMEOUT_S s). */
void sb_child_reap(pid_t pid);

/* ---- Floors (srvbench_floors.c): each prints one JSON line -------------- */

/* SB_CHUNK writes of `pattern` (SB_CHUNK bytes), up to `want` bytes and for
 * at most `secs`, into a sink, or a store keeping them in `path` when it is
 * not NULL (removed after each rep); the best of `reps`, timed from the
 * first write to the receiver's count.  Prints bench `bench`. */
void sb_upload_ceiling(const char *bench, const char *path, uint64_t want, double secs,
                       unsigned reps, const uint8_t *pattern);
/* A source writes `want` bytes in SB_CHUNK writes and we read SB_CHUNK
 * reads, as the benchmark client reads a body: the ceiling of a `get`.  The
 * best of `reps`; prints bench "download". */
void sb_download_ceiling(uint64_t want, unsigned reps);
/* What the server's `get /testfile` asks of the kernel besides the socket
 * (ref/src/vfs: the jail's openat2 fast path, fstat, one pread, close), in
 * a loop over `fixture`/testfile for secs / 2 per window; CPU time per
 * iteration, the best of `windows`.  The openat(2) variant shows what the
 * path walk in the kernel costs.  Prints bench "fscost". */
void sb_fscost(const char *fixture, double secs, unsigned windows);

#endif
