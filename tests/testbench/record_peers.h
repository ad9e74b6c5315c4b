/*
 * Helpers of the recorder's tests (test_record.c, test_record_cmd.c): output
 * directories and their files, and peers driven from the test thread while
 * the recorder is stepped in between.  Every wait is bounded by a deadline.
 * Included after <cmocka.h>.
 */
#ifndef SW_TESTS_RECORD_PEERS_H
#define SW_TESTS_RECORD_PEERS_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "record/record.h"
#include "smartwire/clock.h"
#include "smartwire/error.h"
#include "smartwire/medium.h"

#define DEADLINE_MS 10000

/* A fresh output directory under $TMPDIR; removed (files first) by rmtree. */
static inline void make_outdir(char *dir, size_t len)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, len, "%s/sw_record_XXXXXX", t && *t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
}

static inline void rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Reads a whole recording file into a malloc'd buffer. */
static inline uint8_t *slurp(const char *dir, unsigned id, const char *ext, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/conn-%03u.%s", dir, id, ext);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	size_t cap = 4096, n = 0;
	uint8_t *p = malloc(cap + 1);
	assert_non_null(p);
	size_t got;
	while ((got = fread(p + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			p = realloc(p, cap + 1);
			assert_non_null(p);
		}
	}
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

static inline bool file_exists(const char *dir, unsigned id, const char *ext)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/conn-%03u.%s", dir, id, ext);
	return access(path, F_OK) == 0;
}

static inline void assert_file(const char *dir, unsigned id, const char *ext, const void *want,
                               size_t wlen)
{
	size_t n;
	uint8_t *p = slurp(dir, id, ext, &n);
	assert_int_equal(n, wlen);
	if (wlen)
		assert_memory_equal(p, want, wlen);
	free(p);
}

static inline void assert_log_has(const char *dir, unsigned id, const char *needle)
{
	size_t n;
	char *p = (char *)slurp(dir, id, "log", &n);
	if (!strstr(p, needle))
		fail_msg("conn-%03u.log lacks \"%s\":\n%s", id, needle, p);
	free(p);
}

/* ---- a peer driven from the test thread -------------------------------- */

/* One end of a proxied connection as the test sees it: bytes still to send
 * (then optionally a half-close), and everything received. */
struct peer {
	sw_medium *m;
	const uint8_t *out;
	size_t out_len, sent;
	bool shut_after; /* shut down writing once everything is sent */
	bool shut_done;
	uint8_t *in;
	size_t in_len, in_cap;
	bool eof;
	bool hold; /* read nothing for now (back-pressure tests) */
};

static inline void peer_init(struct peer *p, sw_medium *m)
{
	memset(p, 0, sizeof *p);
	p->m = m;
	int rfd, wfd;
	assert_int_equal(sw_medium_fds(m, &rfd, &wfd), 0);
	fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
	if (wfd >= 0)
		fcntl(wfd, F_SETFL, fcntl(wfd, F_GETFL) | O_NONBLOCK);
}

static inline void peer_send(struct peer *p, const void *data, size_t len, bool shut_after)
{
	p->out = data;
	p->out_len = len;
	p->sent = 0;
	p->shut_after = shut_after;
}

/* Moves what it can without blocking. */
static inline void peer_io(struct peer *p)
{
	while (p->sent < p->out_len) {
		ptrdiff_t w = sw_medium_write(p->m, p->out + p->sent, p->out_len - p->sent);
		if (w == SW_ERR_WOULD_BLOCK)
			break;
		assert_true(w > 0);
		p->sent += (size_t)w;
	}
	if (p->sent == p->out_len && p->shut_after && !p->shut_done) {
		assert_int_equal(sw_medium_shutdown_write(p->m), 0);
		p->shut_done = true;
	}
	while (!p->eof && !p->hold) {
		uint8_t tmp[8192];
		ptrdiff_t n = sw_medium_read(p->m, tmp, sizeof tmp);
		if (n == SW_ERR_WOULD_BLOCK)
			break;
		assert_true(n >= 0);
		if (n == 0) {
			p->eof = true;
			break;
		}
		if (p->in_len + (size_t)n > p->in_cap) {
			p->in_cap = (p->in_len + (size_t)n) * 2;
			p->in = realloc(p->in, p->in_cap);
			assert_non_null(p->in);
		}
		memcpy(p->in + p->in_len, tmp, (size_t)n);
		p->in_len += (size_t)n;
	}
}

static inline void peer_free(struct peer *p)
{
	sw_medium_del(p->m);
	free(p->in);
}

typedef bool (*cond_fn)(void *ud);

/* Steps the recorder and the peers until cond holds; fails after the
 * deadline. */
static inline void drive(sw_recorder *r, struct peer **peers, size_t n, cond_fn cond, void *ud)
{
	int64_t end = sw_clock_ms() + DEADLINE_MS;
	for (;;) {
		for (size_t i = 0; i < n; i++)
			if (peers[i])
				peer_io(peers[i]);
		if (cond(ud))
			return;
		if (sw_clock_ms() > end)
			fail_msg("condition not reached within %d ms", DEADLINE_MS);
		assert_int_equal(sw_recorder_step(r, 5), 0);
	}
}

static inline bool open_is_zero(void *ud)
{
	return sw_recorder_open(ud) == 0;
}

struct recv_want {
	struct peer *p;
	size_t len;
	bool eof;
};

static inline bool received(void *ud)
{
	struct recv_want *w = ud;
	return w->p->in_len >= w->len && (!w->eof || w->p->eof);
}

#endif
