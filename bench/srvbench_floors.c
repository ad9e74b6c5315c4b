/*
 * srvbench_floors.c: what bench_server measures without a protocol server
 * (srvbench.h, "Floors"): raw loopback both ways, the store, and the
 * file-system calls of a small `get`.
 */
#define _GNU_SOURCE 1 /* openat2 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "srvbench.h"

void sb_upload_ceiling(const char *bench, const char *path, uint64_t want, double secs,
                       unsigned reps, const uint8_t *pattern)
{
	double best = 0;
	uint64_t sent = 0;
	for (unsigned r = 0; r < reps; r++) {
		uint16_t port;
		pid_t pid;
		if (path)
			unlink(path);
		sb_sink_spawn(path, &port, &pid);
		int fd = sb_connect(port);
		if (fd < 0)
			sb_die("connect to the sink", -fd);
		uint64_t n = 0;
		double t0 = sb_now();
		while (n < want && sb_now() - t0 < secs) {
			ssize_t k = send(fd, pattern, SB_CHUNK, MSG_NOSIGNAL);
			if (k <= 0)
				sb_die("send to the sink", k < 0 ? errno : 0);
			n += (uint64_t)k;
		}
		shutdown(fd, SHUT_WR);
		uint64_t got = 0;
		if (recv(fd, &got, sizeof got, MSG_WAITALL) != sizeof got || got != n)
			sb_die("the sink's count differs", 0);
		double t = sb_now() - t0;
		close(fd);
		sb_child_reap(pid);
		if (path)
			unlink(path);
		if (r == 0 || (double)n / t > (double)sent / best) {
			best = t;
			sent = n;
		}
	}
	printf("{\"server\": \"loopback\", \"bench\": \"%s\", \"bytes\": %llu, \"write\": %zu, "
	       "\"secs\": %.3f, \"mb_s\": %.1f}\n",
	       bench, (unsigned long long)sent, (size_t)SB_CHUNK, best, (double)sent / best / 1e6);
	fflush(stdout);
}

void sb_download_ceiling(uint64_t want, unsigned reps)
{
	uint16_t port;
	pid_t pid;
	double best = 0;
	static uint8_t rbuf[SB_CHUNK];
	for (unsigned r = 0; r < reps; r++) {
		sb_source_spawn(want, &port, &pid);
		int fd = sb_connect(port);
		if (fd < 0)
			sb_die("connect to the source", -fd);
		uint64_t got = 0;
		double t0 = sb_now();
		for (;;) {
			ssize_t k = recv(fd, rbuf, sizeof rbuf, 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				sb_die("recv from the source", errno);
			if (k == 0)
				break;
			got += (uint64_t)k;
		}
		double t = sb_now() - t0;
		close(fd);
		sb_child_reap(pid);
		if (got != want)
			sb_die("the source's count differs", 0);
		if (r == 0 || t < best)
			best = t;
	}
	printf("{\"server\": \"loopback\", \"bench\": \"download\", \"bytes\": %llu, "
	       "\"read\": %zu, \"secs\": %.3f, \"mb_s\": %.1f}\n",
	       (unsigned long long)want, sizeof rbuf, best, (double)want / best / 1e6);
	fflush(stdout);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void sb_fscost(const char *fixture, double secs, unsigned windows)
{
	int root = open(fixture, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		sb_die(fixture, errno);
	double best[2] = {0, 0};
	uint64_t iters[2] = {0, 0};
	char buf[64];
	for (int variant = 0; variant < 2; variant++) {
		for (unsigned w = 0; w < windows; w++) {
			double t0 = sb_now(), c0 = cpu_now();
			uint64_t n = 0;
			while (sb_now() - t0 < secs / 2) {
				for (int i = 0; i < 1000; i++, n++) {
					int fd;
					if (variant == 0) {
						struct open_how how = {
						    .flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
						             O_CLOEXEC,
						    .resolve = RESOLVE_BENEATH |
						               RESOLVE_NO_SYMLINKS |
						               RESOLVE_NO_MAGICLINKS};
						fd = (int)syscall(SYS_openat2, root, "testfile",
						                  &how, sizeof how);
					} else {
						fd = openat(root, "testfile",
						            O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
						                O_CLOEXEC);
					}
					struct stat st;
					if (fd < 0 || fstat(fd, &st) < 0 ||
					    pread(fd, buf, sizeof buf, 0) !=
					        (ssize_t)strlen(SB_TESTFILE))
						sb_die("fscost: testfile", errno);
					close(fd);
				}
			}
			double us = 1e6 * (cpu_now() - c0) / (double)n;
			if (w == 0 || us < best[variant]) {
				best[variant] = us;
				iters[variant] = n;
			}
		}
	}
	close(root);
	printf("{\"server\": \"fs\", \"bench\": \"fscost\", \"us\": %.3f, \"us_openat\": %.3f, "
	       "\"iters\": %llu, \"calls\": \"openat2 fstat pread close\"}\n",
	       best[0], best[1], (unsigned long long)iters[0]);
	fflush(stdout);
}
