/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pamdrive [--thread] CONFDIR SERVICE USER -- COMMAND...
 *
 * Drives a PAM stack the way su and sshd do: pam_start_confdir(),
 * pam_open_session() in this process, then a child that takes the user's
 * identity and runs COMMAND, then pam_close_session(). Prints
 * "open_session: <PAM code name>" on failure and exits 3. With --thread, a
 * second thread is running during open_session (THREATS 33). Prints this
 * process's namespace inodes before and after open_session to stderr as
 * "ns-before: ..." and "ns-after: ...". */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)n;
	(void)msg;
	(void)resp;
	(void)data;
	return PAM_CONV_ERR;
}

static int self_dir = -1; /* /proc/<pid> of the host's procfs, opened before joining */

static void print_ns(const char *label)
{
	static const char *const types[] = { "user", "mnt", "pid_for_children", "ipc", "uts", "net", "cgroup" };
	fprintf(stderr, "%s:", label);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "ns/%s", types[i]);
		fprintf(stderr, " %s=%lu", types[i],
			fstatat(self_dir, path, &st, 0) == 0 ? (unsigned long)st.st_ino : 0ul);
	}
	fprintf(stderr, "\n");
}

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static const char *code_name(int r)
{
	switch (r) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_SESSION_ERR: return "PAM_SESSION_ERR";
	case PAM_SYSTEM_ERR: return "PAM_SYSTEM_ERR";
	case PAM_BUF_ERR: return "PAM_BUF_ERR";
	case PAM_IGNORE: return "PAM_IGNORE";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	default: return "PAM_OTHER";
	}
}

int main(int argc, char **argv)
{
	int a = 1;
	int thread = 0;
	if (a < argc && strcmp(argv[a], "--thread") == 0) {
		thread = 1;
		a++;
	}
	if (argc - a < 5 || strcmp(argv[a + 3], "--") != 0) {
		fprintf(stderr, "usage: pamdrive [--thread] CONFDIR SERVICE USER -- COMMAND...\n");
		return 2;
	}
	const char *confdir = argv[a], *service = argv[a + 1], *user = argv[a + 2];
	char **cmd = &argv[a + 4];
	struct pam_conv c = { conv, NULL };
	pam_handle_t *pamh = NULL;

	struct passwd *pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "no user %s\n", user);
		return 2;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;

	self_dir = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int r = pam_start_confdir(service, user, &c, confdir, &pamh);
	if (r != PAM_SUCCESS) {
		fprintf(stderr, "pam_start_confdir: %s\n", pam_strerror(pamh, r));
		return 2;
	}
	if (thread) {
		pthread_t t;
		if (pthread_create(&t, NULL, idle, NULL) != 0)
			return 2;
	}
	print_ns("ns-before");
	r = pam_open_session(pamh, 0);
	print_ns("ns-after");
	if (r != PAM_SUCCESS) {
		printf("open_session: %s\n", code_name(r));
		fflush(stdout);
		pam_end(pamh, r);
		return 3;
	}
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(gid) < 0 || initgroups(user, gid) < 0 || setuid(uid) < 0) {
			perror("switching to the user");
			_exit(126);
		}
		execvp(cmd[0], cmd);
		perror("exec");
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = 255 << 8;
	r = pam_close_session(pamh, 0);
	pam_end(pamh, r);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
