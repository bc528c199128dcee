/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sys/syscall.h>
#include <syslog.h>
#include <unistd.h>

#include "fsutil.h"
#include "helper.h"
#include "util.h"

/* Confirm or kill (THREATS 62). Under sshd the join is split: the monitor
 * joins every namespace but the user namespace, and the session child
 * finishes the join from pam_setcred. If a module before pam_nsiso in the
 * auth stack ends setcred early (a "sufficient" that succeeds, a jump past
 * it), the child never does: it becomes the user in the host's user
 * namespace, inside the container's PID and mount namespaces. Such a
 * process is found by what it is: in the container's PID namespace, in no
 * user namespace at or below the container's, and not host root (the monitor's own root work, such
 * as pam_motd's scripts, is root). The supervisor looks a few times after
 * each attach and SIGKILLs what it finds, through a pidfd; the monitor set
 * no_new_privs first, so that nothing of it gained privilege meanwhile. */

static int ns_ino_at(int proc, const char *pid, const char *ns, uint64_t *ino)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/ns/%s", pid, ns);
	if (fstatat(proc, path, &st, 0) < 0)
		return neg_errno();
	*ino = (uint64_t)st.st_ino;
	return 0;
}

/* Is /proc/PID/ns/user the container's user namespace or one nested in it
 * (a tenant's rootless podman with nested_userns = yes)? Walked up with
 * NS_GET_PARENT; the host's user namespace has no parent we may see. */
static bool in_container_userns(int proc, const char *pid, uint64_t container)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/ns/user", pid);
	_cleanup_close_ int fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
	for (int depth = 0; fd >= 0 && depth < 33; depth++) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			return true; /* cannot tell: never kill on a guess */
		if ((uint64_t)st.st_ino == container)
			return true;
		int parent = ioctl(fd, NS_GET_PARENT);
		(void)close(fd);
		fd = parent;
	}
	return fd < 0 && errno != EPERM && errno != ENOENT ? true : false;
}

/* Any of real, effective, saved uid not host root. */
static bool runs_as_someone(int proc, const char *pid)
{
	char path[300], buf[2048];
	snprintf(path, sizeof(path), "%s/status", pid);
	if (read_small_at(proc, path, buf, sizeof(buf)) <= 0)
		return false; /* gone */
	const char *u = strstr(buf, "\nUid:");
	unsigned long r = 0, e = 0, s = 0;
	return u && sscanf(u + 5, "%lu %lu %lu", &r, &e, &s) == 3 && (r || e || s);
}

/* The container's own procfs (the one mounts.c put on its /proc), reached
 * through its init's root: it lists the container's PID namespace and its
 * descendants only, so a sweep costs what the container holds, not what
 * the host runs (at 1000 containers a walk of the host's /proc was 3000
 * entries, three times per login of each). Checked to be a procfs whose
 * PID 1 is in the container's PID namespace. */
static int container_proc(const struct container *c)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/root/proc", (int)c->init_pid);
	_cleanup_close_ int proc = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct statfs sf;
	uint64_t pidns;
	if (proc < 0 || fstatfs(proc, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC ||
	    ns_ino_at(proc, "1", "pid", &pidns) < 0 || pidns != c->ns_ino[NS_PID])
		return -ENOENT;
	return TAKE_FD(proc);
}

int joincheck_sweep(const struct container *c, const char *user)
{
	if (!(c->ns_mask & NS_BIT(NS_USER)) || !(c->ns_mask & NS_BIT(NS_PID)))
		return 0;
	_cleanup_close_ int proc = container_proc(c);
	if (proc < 0) /* (then the host's, the whole of it) */
		proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		return neg_errno();
	int dfd = fcntl(proc, F_DUPFD_CLOEXEC, 0);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			(void)close(dfd);
		return -ENOMEM;
	}
	int killed = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		uint64_t pidns;
		if (ns_ino_at(proc, de->d_name, "pid", &pidns) < 0 || pidns != c->ns_ino[NS_PID])
			continue;
		if (in_container_userns(proc, de->d_name, c->ns_ino[NS_USER]))
			continue;
		if (!runs_as_someone(proc, de->d_name))
			continue;
		/* The process's /proc directory is a pidfd (pidfd_send_signal
		 * takes one): it stays that process's, whatever its number
		 * becomes; checked again through it. */
		_cleanup_close_ int pidfd = openat(proc, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pidfd < 0 || ns_ino_at(pidfd, ".", "pid", &pidns) < 0 || pidns != c->ns_ino[NS_PID] ||
		    in_container_userns(pidfd, ".", c->ns_ino[NS_USER]))
			continue;
		if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
			continue;
		killed++;
		char uv[LOG_VALUE_MAX];
		syslog(LOG_ERR,
		       "refused: user=%s step=join error=EPERM errno=1 detail=\"pid %s (as the sweep saw it) is in the "
		       "container's PID namespace but not its user namespace (its session never finished the join: "
		       "does a module before pam_nsiso end the auth stack's setcred? nsiso check); killed\"",
		       log_value(uv, sizeof(uv), user), de->d_name);
	}
	closedir(d);
	return killed;
}
