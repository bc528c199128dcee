/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reaper COMMAND...: run COMMAND as a child subreaper that reaps every
 * orphan at once, as systemd does for sshd on a real host. When sshd's
 * monitor is SIGKILLed, its session child is reparented to the nearest
 * reaper; the container's init can only finish exiting once that child is
 * reaped. Forwards SIGTERM and SIGINT to COMMAND; exits with its status. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;
static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return 1;
	struct sigaction sa = { .sa_handler = forward };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		execvp(argv[1], argv + 1);
		perror("exec");
		_exit(127);
	}
	int status = 0, main_status = 0;
	for (;;) {
		pid_t p = wait(&status);
		if (p < 0)
			break; /* no children left */
		if (p == child)
			main_status = status;
	}
	return WIFEXITED(main_status) ? WEXITSTATUS(main_status) : 128 + WTERMSIG(main_status);
}
