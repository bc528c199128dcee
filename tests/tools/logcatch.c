/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* logcatch SOCKET FILE: a syslog socket for the tests. Binds a datagram
 * socket at SOCKET and appends every message received to FILE, a line each,
 * until SIGTERM; then removes SOCKET. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	strcpy(sa.sun_path, argv[1]);
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(argv[1], 0666) < 0) {
		perror("logcatch");
		return 1;
	}
	int out = open(argv[2], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (out < 0)
		return 1;
	struct sigaction sa_term = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa_term, NULL);
	sigaction(SIGINT, &sa_term, NULL);
	/* Tell the parent we are ready. */
	printf("ready\n");
	fflush(stdout);
	char buf[8192];
	while (!stop) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		if (buf[n - 1] == '\n')
			n--;
		buf[n++] = '\n';
		if (write(out, buf, (size_t)n) < 0)
			break;
	}
	unlink(argv[1]);
	return 0;
}
