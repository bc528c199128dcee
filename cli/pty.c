/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "util.h"

/* nsiso enter on a terminal: the tenant's shell gets a pty of the
 * container's own devpts, and only bytes cross between it and the admin's
 * terminal, as machinectl shell does. Nothing of the tenant ever holds the
 * admin's terminal: no TIOCSTI on it, no reader left behind that gets the
 * keystrokes typed after enter returns (docs/THREATS.md 50). */

int pty_open(int *master, char *slave, size_t size)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return neg_errno();
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, size) != 0) {
		int e = neg_errno();
		(void)close(m);
		return e;
	}
	/* The admin's window size, from whichever of 0-2 is the terminal. */
	struct winsize ws;
	for (int fd = 0; fd < 3; fd++)
		if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
			(void)ioctl(m, TIOCSWINSZ, &ws);
			break;
		}
	*master = m;
	return 0;
}

/* In the child: a session of its own with the slave as its controlling
 * terminal and as fds 1 and 2, and as 0 when ours is a terminal too. */
int pty_attach_child(const char *slave)
{
	if (setsid() < 0)
		return neg_errno();
	int s = open(slave, O_RDWR | O_CLOEXEC);
	if (s < 0)
		return neg_errno();
	if (ioctl(s, TIOCSCTTY, 0) < 0)
		return neg_errno();
	if ((isatty(0) && dup2(s, 0) < 0) || dup2(s, 1) < 0 || dup2(s, 2) < 0)
		return neg_errno();
	(void)close(s);
	return 0;
}

/* Relay until the child has exited and its output is drained; the exit
 * status as the shell reports it. The admin's terminal is raw meanwhile and
 * restored after; closing the master hangs up whatever of the tenant still
 * holds the slave. */
int pty_relay(int master, pid_t child)
{
	struct termios saved;
	bool raw = isatty(0) && tcgetattr(0, &saved) == 0;
	if (raw) {
		struct termios t = saved;
		cfmakeraw(&t);
		(void)tcsetattr(0, TCSADRAIN, &t);
	}
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGWINCH);
	(void)sigprocmask(SIG_BLOCK, &mask, &old);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	bool in_open = isatty(0), exited = false;
	int status = 0, drained = 0;
	char buf[4096];
	for (;;) {
		if (!exited && waitpid(child, &status, WNOHANG) == child)
			exited = true;
		struct pollfd p[3] = { { .fd = in_open ? 0 : -1, .events = POLLIN },
				       { .fd = master, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		/* After the child: what is there now, and a bounded amount of it
		 * (a background process of the tenant cannot keep enter running). */
		if (exited && ++drained > 256)
			break;
		int n = poll(p, 3, exited ? 0 : -1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0) {
			if (exited)
				break; /* nothing more to read */
			continue;
		}
		if (p[2].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo == SIGWINCH) {
				struct winsize ws;
				if (ioctl(0, TIOCGWINSZ, &ws) == 0)
					(void)ioctl(master, TIOCSWINSZ, &ws);
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t r = read(0, buf, sizeof(buf));
			if (r <= 0 || write_all_fd(master, buf, (size_t)r) < 0)
				in_open = false;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(master, buf, sizeof(buf));
			if (r <= 0) {
				if (exited)
					break;
				/* every slave closed: the child is about to exit */
				(void)RETRY_EINTR(waitpid(child, &status, 0));
				exited = true;
				break;
			}
			(void)write_all_fd(1, buf, (size_t)r);
		}
	}
	if (!exited)
		(void)RETRY_EINTR(waitpid(child, &status, 0));
	(void)close(master);
	if (sfd >= 0)
		(void)close(sfd);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (raw)
		(void)tcsetattr(0, TCSADRAIN, &saved);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
