/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The policy's on_create and on_destroy programs, run by the supervisor:
 * the file opened as a trusted one (root's, not group- or world-writable,
 * nor any directory above it, no symlink: open_trusted_file) and executed
 * through that fd, so the program checked is the program run; argv
 * "PATH USER UID CONTAINER-ID", an empty environment, /dev/null on 0-2,
 * every other fd closed, a session of its own, and HOOK_TIMEOUT_S to end
 * (then SIGKILL, its whole process group). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "helper.h"
#include "util.h"

#define HOOK_TIMEOUT_S 10

int hook_run(const char *what, const char *path, const struct user_info *u, const char *id, struct nsiso_error *e)
{
	_cleanup_close_ int fd = open_trusted_file(path, e);
	if (fd < 0)
		return error_set(e, fd, "%s %s is not trusted: %s", what, path,
				 e->detail[0] ? e->detail : strerror(-fd));
	struct stat st;
	if (fstat(fd, &st) < 0)
		return error_set(e, neg_errno(), "%s %s: fstat", what, path);
	if (!(st.st_mode & S_IXUSR))
		return error_set(e, -EACCES, "%s %s is not executable", what, path);
	char uid[16];
	snprintf(uid, sizeof(uid), "%u", (unsigned)u->uid);
	pid_t pid = fork();
	if (pid < 0)
		return error_set(e, neg_errno(), "%s: fork", what);
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		(void)setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		/* the program's own fd, kept open across exec: a script's
		 * interpreter reads it as /dev/fd/N */
		int exe = fcntl(fd, F_DUPFD, 3);
		if (null < 0 || exe < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
		    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) < 0 || fcntl(exe, F_SETFD, 0) < 0)
			_exit(126);
		char *const argv[] = { (char *)path, (char *)u->name, uid, (char *)id, NULL };
		char *const envp[] = { NULL };
		(void)syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH);
		_exit(127);
	}
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int r = pidfd < 0 ? neg_errno() : 0;
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	bool timed_out = r == 0 && RETRY_EINTR(poll(&p, 1, HOOK_TIMEOUT_S * 1000)) == 0;
	if (r < 0 || timed_out) {
		(void)kill(-pid, SIGKILL);
		(void)kill(pid, SIGKILL);
	}
	int status = 0;
	if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
		return error_set(e, neg_errno(), "%s %s: waitpid", what, path);
	if (r < 0)
		return error_set(e, r, "%s %s: pidfd_open", what, path);
	if (timed_out)
		return error_set(e, -ETIMEDOUT, "%s %s ran past %d s (killed)", what, path, HOOK_TIMEOUT_S);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return error_set(e, WEXITSTATUS(status) == 127 ? -ENOEXEC : -EPERM, "%s %s exited with status %d", what,
				 path, WEXITSTATUS(status));
	return error_set(e, -EPERM, "%s %s was killed by signal %s", what, path, sigabbrev_np(WTERMSIG(status)));
}
