/*
 * smartwire fork-run: run a program in a fork server instead of starting it.
 *
 * A conformance run starts its pipe target once per case.  For `brz serve
 * --inet` that is ~100 ms of CPU of interpreter and imports before the first
 * byte, most of a run's time.  conformance/adapters/brz_forkserver.py pays
 * it once and forks a ready `brz` per request; this command is what the
 * runner spawns in its place (`--server-cmd 'smartwire fork-run SOCKET brz
 * serve --inet --directory={dir} {options}'`), and costs what any small C
 * program costs to start.
 *
 * It connects to SOCKET (a Unix SOCK_SEQPACKET socket), sends ONE message:
 * its working directory and the arguments, each NUL-terminated, with its
 * descriptors 0, 1 and 2 attached (SCM_RIGHTS); then puts /dev/null on its
 * own 0, 1 and 2, so that the forked child holds the only copies and end of
 * stream behaves as with a spawned process.  It forwards SIGTERM, SIGINT and
 * SIGHUP as one byte each (the signal number), and exits as the child did:
 * its exit status, or the same signal raised on itself.  If this process is
 * killed, the server sees the socket close and kills the child.
 *
 * Once the descriptors are handed over, this process has no standard error
 * of its own: a broken answer from the server then ends it with status 125
 * silently.
 *
 * Written by hand: nothing in libc passes descriptors; it is ~150 lines of
 * sendmsg(2) and ppoll(2).
 */
#define _GNU_SOURCE 1 /* ppoll */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmds.h"

/* What a request may hold: the server reads at most this much (1 MiB). */
#define REQUEST_MAX (1u << 20)

static int usage(FILE *f, int code)
{
	fprintf(f, "usage: smartwire fork-run SOCKET PROGRAM [ARGS...]\n\n"
	           "Runs PROGRAM ARGS in the fork server listening on the Unix socket SOCKET\n"
	           "(conformance/adapters/brz_forkserver.py for brz), on this process's standard\n"
	           "input, output and error and in its working directory, and exits as it exits.\n"
	           "SIGTERM, SIGINT and SIGHUP are passed on; if this process is killed, the\n"
	           "server kills the program.  For test benches that start a slow program\n"
	           "many times (smartwire conform --server-cmd).\n\n"
	           "  -h, --help   this text\n\n"
	           "Exit status: the program's, or 125 when the fork server cannot be reached\n"
	           "or answers wrongly, 2 usage.\n");
	return code;
}

#define EXIT_NO_SERVER 125

static volatile sig_atomic_t pending[3];
static const int forwarded[3] = {SIGTERM, SIGINT, SIGHUP};

static void on_signal(int sig)
{
	for (int i = 0; i < 3; i++)
		if (forwarded[i] == sig)
			pending[i] = 1;
}

static int fail(const char *what, int e)
{
	fprintf(stderr, "smartwire fork-run: %s: %s\n", what, strerror(e));
	return EXIT_NO_SERVER;
}

/* The request: cwd NUL argv[0] NUL ... argv[n-1] NUL.  Returns its length,
 * 0 if it does not fit in `cap`. */
static size_t build(char *buf, size_t cap, int argc, char **argv)
{
	if (!getcwd(buf, cap))
		return 0;
	size_t n = strlen(buf) + 1;
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]) + 1;
		if (l > cap - n)
			return 0;
		memcpy(buf + n, argv[i], l);
		n += l;
	}
	return n;
}

static int send_request(int s, const char *req, size_t len)
{
	int fds[3] = {0, 1, 2};
	union {
		char buf[CMSG_SPACE(sizeof fds)];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof u);
	struct iovec iov = {(void *)req, len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
	                    .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(c), fds, sizeof fds);
	ssize_t k;
	while ((k = sendmsg(s, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
	}
	return k == (ssize_t)len ? 0 : k < 0 ? errno : EMSGSIZE;
}

/* Exits as a child that ended with wait status `st` did. */
static int exit_as(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st)) {
		int sig = WTERMSIG(st);
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		return 128 + sig; /* a signal that does not end a process */
	}
	return EXIT_NO_SERVER;
}

int sw_cmd_forkrun(int argc, char **argv)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1)
		return usage(c == 'h' ? stdout : stderr, c == 'h' ? SW_EXIT_OK : SW_EXIT_USAGE);
	if (argc - optind < 2)
		return usage(stderr, SW_EXIT_USAGE);
	const char *path = argv[optind];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return fail(path, ENAMETOOLONG);
	strcpy(sa.sun_path, path);

	static char req[REQUEST_MAX];
	errno = 0;
	size_t len = build(req, sizeof req, argc - optind - 1, argv + optind + 1);
	if (len == 0)
		return fail("working directory and arguments", errno ? errno : E2BIG);

	/* Signals arriving from here on are held, then passed on once the
	 * child runs: they are delivered only inside ppoll, so none is missed
	 * between a check and the wait. */
	struct sigaction sa_sig = {.sa_handler = on_signal};
	sigemptyset(&sa_sig.sa_mask);
	sigset_t held, waiting;
	sigemptyset(&held);
	for (int i = 0; i < 3; i++) {
		sigaction(forwarded[i], &sa_sig, NULL);
		sigaddset(&held, forwarded[i]);
	}
	sigprocmask(SIG_BLOCK, &held, &waiting);
	for (int i = 0; i < 3; i++)
		sigdelset(&waiting, forwarded[i]);

	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail("socket", errno);
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
		return fail(path, errno);
	int e = send_request(s, req, len);
	if (e)
		return fail("sending the request", e);
	/* The child now holds 0, 1 and 2: let go of ours. */
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return fail("/dev/null", errno);
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	close(null);

	for (;;) {
		for (int i = 0; i < 3; i++) {
			if (pending[i]) {
				pending[i] = 0;
				char b = (char)forwarded[i];
				send(s, &b, 1, MSG_NOSIGNAL);
			}
		}
		struct pollfd p = {.fd = s, .events = POLLIN};
		if (ppoll(&p, 1, NULL, &waiting) < 0) {
			if (errno == EINTR)
				continue;
			return fail("ppoll", errno);
		}
		int st;
		ssize_t k = recv(s, &st, sizeof st, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k != (ssize_t)sizeof st)
			return fail("the fork server's answer", k < 0 ? errno : EPROTO);
		close(s);
		return exit_as(st);
	}
}
