/*
 * The fake handler's zero-copy side (server_fake.h, "ZERO-COPY"): its
 * bodies as memfd spans and sinks.  Included by server_fake.h only.
 */
#ifndef SW_TEST_SERVER_FAKE_ZC_H
#define SW_TEST_SERVER_FAKE_ZC_H

#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* memfd_create(2) and file seals without _GNU_SOURCE (the tests that
 * include this build without it): the system call and linux/memfd.h's and
 * linux/fcntl.h's values. */
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001u
#define MFD_ALLOW_SEALING 0x0002u
#endif
#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_SEAL_GROW 0x0004
#endif

static inline int fake_memfd(const char *name, unsigned flags)
{
	return (int)syscall(SYS_memfd_create, name, flags);
}

/* Bodies kept in a memfd rather than in x->body. */
static inline bool fake_sinking(const fctx *x)
{
	return x->verb == FV_SINKFULL || (x->f->zc && (x->verb == FV_ECHO || x->verb == FV_READV));
}

/* The sink memfd (sinkfull's cannot grow past its K bytes). */
static inline int fake_sink_fd(fctx *x)
{
	if (x->sink_fd >= 0)
		return x->sink_fd;
	int fd = fake_memfd("fake-sink", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return SW_ERR_IO;
	if (x->verb == FV_SINKFULL &&
	    (ftruncate(fd, (off_t)x->cap) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_GROW) < 0)) {
		close(fd);
		return SW_ERR_IO;
	}
	if (x->f->append_sinks) {
		char p[64];
		snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
		int afd = open(p, O_RDWR | O_APPEND | O_CLOEXEC);
		close(fd);
		if (afd < 0)
			return SW_ERR_IO;
		fd = afd;
	}
	x->sink_fd = fd;
	return fd;
}

/* body() in a sinking verb: the bytes go where a sink's go.  A failed
 * write is kept (sinkfull answers it), as a sink's failure is. */
static inline int fake_sink_write(fctx *x, const uint8_t *p, size_t n)
{
	int fd = fake_sink_fd(x);
	if (fd < 0)
		return fd;
	while (n > 0 && !x->sink_err) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			x->sink_err = k < 0 ? errno : EIO;
			break;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* At the end of the body: what the sink holds becomes x->body. */
static inline int fake_sink_collect(fctx *x)
{
	if (x->sink_fd < 0)
		return 0;
	off_t end = lseek(x->sink_fd, 0, SEEK_CUR);
	uint8_t buf[4096];
	for (off_t at = 0; at < end;) {
		ssize_t k = pread(x->sink_fd, buf, sizeof buf, at);
		if (k <= 0)
			return SW_ERR_IO;
		size_t take = (size_t)(end - at) < (size_t)k ? (size_t)(end - at) : (size_t)k;
		if (sw_buf_append(&x->body, buf, take) < 0)
			return SW_ERR_NOMEM;
		at += (off_t)take;
	}
	return 0;
}

static inline int fake_sinkfull_answer(fctx *x, sw_srv_req *req)
{
	char num[24], err[24];
	if (!x->sink_err) {
		snprintf(num, sizeof num, "%zu", x->body.len);
		sw_slice a[2] = {fake_sl("ok"), fake_sl(num)};
		return sw_srv_respond(req, true, a, 2);
	}
	snprintf(num, sizeof num, "%llu", (unsigned long long)x->cap);
	snprintf(err, sizeof err, "%d", x->sink_err);
	sw_slice a[3] = {fake_sl("Full"), fake_sl(num), fake_sl(err)};
	return sw_srv_respond(req, false, a, 3);
}

/* The source memfd of a known-length body: its bytes as read_body gives
 * them (shortbody and spanfail: only those it gives before failing). */
static inline int fake_src_fd(fctx *x)
{
	if (x->src_fd >= 0)
		return x->src_fd;
	int fd = fake_memfd("fake-src", MFD_CLOEXEC);
	if (fd < 0)
		return SW_ERR_IO;
	uint8_t buf[4096];
	if (x->verb == FV_BIG || x->verb == FV_SHORT) {
		for (uint64_t at = 0; at < x->short_at;) {
			size_t n =
			    x->short_at - at < sizeof buf ? (size_t)(x->short_at - at) : sizeof buf;
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)((at + i) * 7);
			if (write(fd, buf, n) != (ssize_t)n) {
				close(fd);
				return SW_ERR_IO;
			}
			at += n;
		}
	} else {
		size_t len = (size_t)x->len; /* get and readv: the whole file */
		if (len && write(fd, x->data, len) != (ssize_t)len) {
			close(fd);
			return SW_ERR_IO;
		}
	}
	x->src_fd = fd;
	return fd;
}

static inline int fake_body_span(void *ctx, sw_srv_req *req, uint64_t cap, sw_srv_span *span)
{
	(void)req;
	fctx *x = ctx;
	if (!x->f->zc ||
	    (x->verb != FV_GET && x->verb != FV_READV && x->verb != FV_BIG && x->verb != FV_SHORT))
		return 0;
	uint64_t off, len;
	if (x->verb == FV_READV) {
		while (x->ri < x->nranges && x->roff == x->ranges[x->ri].length) {
			x->ri++;
			x->roff = 0;
		}
		if (x->ri == x->nranges)
			return 0;
		off = x->ranges[x->ri].start + x->roff;
		len = x->ranges[x->ri].length - x->roff;
	} else {
		off = x->pos;
		len = x->len - x->pos;
	}
	int fd = fake_src_fd(x);
	if (fd < 0)
		return fd;
	if (x->mode == 4 && x->pos < x->cap && len > x->cap - x->pos)
		len = x->cap - x->pos; /* the refusal comes exactly at K */
	if (x->mode == 4 && x->pos >= x->cap) {
		/* spanrefuse: a directory, which sendfile refuses (EINVAL). */
		if (x->sink_fd < 0 &&
		    (x->sink_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return SW_ERR_IO;
		fd = x->sink_fd;
	}
	*span = (sw_srv_span){fd, off, len < cap ? len : cap};
	x->f->spans++;
	return 1;
}

static inline void fake_body_span_done(void *ctx, sw_srv_req *req, uint64_t n)
{
	(void)req;
	fctx *x = ctx;
	x->f->span_bytes += n;
	x->f->body_bytes_out += n;
	if (x->verb == FV_READV)
		x->roff += n;
	else
		x->pos += n;
}

static inline int fake_body_sink(void *ctx, sw_srv_req *req, uint64_t avail, int *fd)
{
	(void)req;
	(void)avail;
	fctx *x = ctx;
	if (!x->f->zc || !fake_sinking(x) || x->sink_err)
		return 0;
	int s = fake_sink_fd(x);
	if (s < 0)
		return s;
	*fd = s;
	x->f->sinks++;
	return 1;
}

static inline int fake_body_sink_done(void *ctx, sw_srv_req *req, uint64_t n, int err)
{
	(void)req;
	fctx *x = ctx;
	x->f->sink_bytes += n;
	if (err) {
		x->f->sink_failures++;
		if (!x->sink_err)
			x->sink_err = err;
	}
	return 0;
}

#endif
