/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsiso-newidmap: newuidmap and newgidmap inside an nsiso container with
 * nested_userns = yes (bound over both; which one by argv[0]). Same
 * arguments as shadow's:
 *
 *     newuidmap PID|fd:N INSIDE LOWER COUNT [INSIDE LOWER COUNT]...
 *
 * LOWER ids are the container's, as its /etc/subuid and /etc/subgid name
 * them. Nothing here is privileged: the request goes, with a pidfd of the
 * target, to the container's supervisor (helper/nested.c), which checks it
 * and writes the map; its answer is printed when it refuses. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"

static int usage(const char *prog)
{
	fprintf(stderr, "usage: %s PID|fd:N INSIDE LOWER COUNT [INSIDE LOWER COUNT]...\n", prog);
	return 1;
}

static bool id_arg(const char *s, unsigned long *v)
{
	char *end;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0 && *v <= UINT_MAX;
}

/* The target as a pidfd: "fd:N" is one already, a PID is opened. */
static int target_pidfd(const char *arg)
{
	unsigned long v;
	if (strncmp(arg, "fd:", 3) == 0)
		return id_arg(arg + 3, &v) && v <= INT_MAX ? (int)v : -1;
	if (!id_arg(arg, &v) || v == 0 || v > INT_MAX)
		return -1;
	return (int)syscall(SYS_pidfd_open, (pid_t)v, 0);
}

int main(int argc, char **argv)
{
	const char *prog = argc > 0 ? strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0] : "newuidmap";
	bool gid = strstr(prog, "gid") != NULL;
	char req[4096];
	size_t n = 0;

	if (argc < 5 || (argc - 2) % 3 != 0)
		return usage(prog);
	req[n++] = gid ? 'g' : 'u';
	req[n++] = '\n';
	for (int i = 2; i < argc; i += 3) {
		unsigned long in, low, count;
		if (!id_arg(argv[i], &in) || !id_arg(argv[i + 1], &low) || !id_arg(argv[i + 2], &count))
			return usage(prog);
		int w = snprintf(req + n, sizeof(req) - n, "%lu %lu %lu\n", in, low, count);
		if (w < 0 || (size_t)w >= sizeof(req) - n) {
			fprintf(stderr, "%s: too many ranges\n", prog);
			return 1;
		}
		n += (size_t)w;
	}
	int pidfd = target_pidfd(argv[1]);
	if (pidfd < 0) {
		fprintf(stderr, "%s: no process %s: %s\n", prog, argv[1], strerror(errno ? errno : EINVAL));
		return 1;
	}

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path + 1, NSISO_IDMAP_SOCKET, strlen(NSISO_IDMAP_SOCKET));
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(NSISO_IDMAP_SOCKET));
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = 10 };
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 1;
	}
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		fprintf(stderr,
			"%s: nsiso writes nested id maps only in a container with nested_userns = yes and a "
			"network namespace of its own (%s)\n",
			prog, strerror(errno));
		return 1;
	}
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c = { 0 };
	struct iovec iov = { req, n };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &pidfd, sizeof(int));
	if (sendmsg(fd, &m, MSG_NOSIGNAL) != (ssize_t)n) {
		fprintf(stderr, "%s: sending the request: %s\n", prog, strerror(errno));
		return 1;
	}
	char answer[256];
	ssize_t k = recv(fd, answer, sizeof(answer) - 1, 0);
	if (k <= 0) {
		fprintf(stderr, "%s: no answer from the container's supervisor (%s)\n", prog,
			k < 0 ? strerror(errno) : "closed");
		return 1;
	}
	answer[k] = '\0';
	if (strcmp(answer, "ok\n") == 0)
		return 0;
	fprintf(stderr, "%s: %s", prog, answer);
	return 1;
}
