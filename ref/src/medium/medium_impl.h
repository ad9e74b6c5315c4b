/*
 * Internal helpers shared by the media implementations (medium*.c, fault.c).
 * Not installed; not part of the public API.
 */
#ifndef SMARTWIRE_MEDIUM_IMPL_H
#define SMARTWIRE_MEDIUM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "smartwire/fault.h"
#include "smartwire/clock.h"
#include "smartwire/medium.h"

/* Maps a read() errno: ECONNRESET, EPIPE, EINVAL -> 0 (EOF, as Breezy's
 * read_bytes_from_socket), EAGAIN -> SW_ERR_WOULD_BLOCK, else SW_ERR_IO.
 * Records the errno in m->sys_errno. */
ptrdiff_t sw__map_read_errno(sw_medium *m, int e);

/* Maps a write() errno: ECONNRESET, EPIPE, EINVAL -> SW_ERR_CONNECTION_RESET,
 * EAGAIN -> SW_ERR_WOULD_BLOCK, else SW_ERR_IO.  Records the errno. */
ptrdiff_t sw__map_write_errno(sw_medium *m, int e);

/* Sets or clears O_NONBLOCK.  Returns 0 or -1 with errno. */
int sw__set_nonblock(int fd, int on);

/* write() to a descriptor that is not a socket, with SIGPIPE blocked in the
 * calling thread and a SIGPIPE raised by this write consumed (see
 * medium_fd.c).  Same result and errno as write(). */
ssize_t sw__write_nosigpipe(int fd, const void *buf, size_t len);

/* Creates an fd medium whose name is "tcp" (is_tcp) or "fd". */
int sw__fd_medium_new_kind(int rfd, int wfd, unsigned flags, int is_tcp,
                           const sw_mem *mem, sw_medium **out);

/* True when every field of *p is within what the text grammar allows
 * (fault.h): sizes >= 1, bursts 1 <= K < M or absent, a known errno. */
bool sw__fault_plan_valid(const sw_fault_plan *p);

/* The parts of a direction plan that the writing end of a fifo applies
 * (write sizes and seed) and that the reading end applies (the rest). */
void sw__fault_plan_writer_part(const sw_fault_plan *p, sw_fault_plan *out);
void sw__fault_plan_reader_part(const sw_fault_plan *p, sw_fault_plan *out);

#endif
