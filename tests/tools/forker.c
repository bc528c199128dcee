/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* forker N SECONDS: fork up to N children that wait, stop at the first
 * failure, print "forked=K error=NAME" (error=none when all N were made),
 * hold them for SECONDS, then end them. A bounded fork bomb for the
 * pids_max test. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int n = atoi(argv[1]), secs = atoi(argv[2]), k = 0;
	const char *error = "none";
	static pid_t kids[100000];
	if (n < 0 || n > 100000)
		return 2;
	for (; k < n; k++) {
		pid_t p = fork();
		if (p < 0) {
			error = strerrorname_np(errno);
			break;
		}
		if (p == 0) {
			pause();
			_exit(0);
		}
		kids[k] = p;
	}
	printf("forked=%d error=%s\n", k, error);
	fflush(stdout);
	sleep((unsigned)secs);
	for (int i = 0; i < k; i++)
		kill(kids[i], SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
