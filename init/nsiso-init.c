/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* nsiso-init: PID 1 of a container. A fresh exec of this small binary, never
 * a fork of sshd. It holds no capability and no host resource; it reaps the
 * orphans that the PID namespace hands it, and it ends when its supervisor
 * closes fd 3 (or dies), which ends every process of the namespace.
 *
 * Signals: the kernel drops every signal sent from inside the namespace to
 * its init unless the init handles it; this one handles only SIGCHLD. */

#define LIFELINE_FD 3

int main(void)
{
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (getpid() != 1)
		return 1;

	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0)
		return 1;
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		return 1;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = LIFELINE_FD, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents)
			return 0; /* the supervisor is gone or ended the container */
		if (p[1].revents) {
			struct signalfd_siginfo si;
			while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
		}
	}
}
