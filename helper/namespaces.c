/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "helper.h"
#include "join.h"
#include "nsverify.h"
#include "util.h"

/* Creating a container: clone3() into every namespace of the policy at
 * once, the parent writes the id maps, the child builds the mount
 * namespace, hostname and loopback, drops every capability and execs the
 * minimal nsiso-init, which becomes PID 1. A failure in the child comes back
 * over a close-on-exec pipe; EOF on that pipe means the exec happened. */

static int write_text_at(int dir, const char *name, const char *text)
{
	return write_file_at(dir, name, text, strlen(text), 0, 0);
}

static int write_idmaps(pid_t pid, const struct user_info *u, struct nsiso_error *f)
{
	char path[64], text[IDMAP_LINES_MAX * 36];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	_cleanup_close_ int dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return error_at(f, STEP_IDMAP, neg_errno(), "opening %s", path);
	if (idmap_format(&u->uid_map, text, sizeof(text)) < 0)
		return error_at(f, STEP_IDMAP, -ENOSPC, "formatting the uid map");
	int r = write_text_at(dir, "uid_map", text);
	if (r < 0)
		return error_at(f, STEP_IDMAP, r, "writing uid_map \"%.80s\"", text);
	if (idmap_format(&u->gid_map, text, sizeof(text)) < 0)
		return error_at(f, STEP_IDMAP, -ENOSPC, "formatting the gid map");
	r = write_text_at(dir, "gid_map", text);
	if (r < 0)
		return error_at(f, STEP_IDMAP, r, "writing gid_map \"%.80s\"", text);
	return 0;
}

static void report_and_exit(int fd, const struct nsiso_error *f)
{
	(void)!write(fd, f, sizeof(*f));
	_exit(1);
}

/* In the child: PID 1 of the new PID namespace, root of the new user
 * namespace. Never returns. */
static void __attribute__((noreturn))
child_main(const struct user_info *u, const struct policy_settings *s, const struct dev_list *devs, int go, int report,
	   int lifeline, int init_exe, int client_exe, const int *cg_procs, size_t n_cg, int resolv_mnt)
{
	struct nsiso_error f = { 0 };
	bool userns = s->ns_mask & NS_BIT(NS_USER);
	char c;

	/* Wait until the parent wrote the maps; EOF means it gave up. */
	if (RETRY_EINTR(read(go, &c, 1)) != 1)
		_exit(1);
	(void)close(go);
	/* Keep the report pipe and the lifeline above 0-3, which are arranged
	 * for the init at the end and must clobber neither. */
	report = fcntl(report, F_DUPFD_CLOEXEC, 10);
	lifeline = fcntl(lifeline, F_DUPFD_CLOEXEC, 10);
	if (report < 0 || lifeline < 0)
		_exit(1);

	/* Into the container's cgroups, and only then a cgroup namespace:
	 * its root is the cgroup this process is in. The fds were opened by
	 * host root, whose credentials the kernel checks. */
	int r = cg_enter(cg_procs, n_cg);
	if (r < 0) {
		(void)error_at(&f, STEP_CGROUP, r, "entering the container's cgroups");
		report_and_exit(report, &f);
	}
	if ((s->ns_mask & NS_BIT(NS_CGROUP)) && unshare(CLONE_NEWCGROUP) < 0) {
		(void)error_at(&f, STEP_CLONE, neg_errno(), "unshare(CLONE_NEWCGROUP)");
		report_and_exit(report, &f);
	}

	if (creds_become(u, userns, &f) < 0)
		report_and_exit(report, &f);
	/* The kernel refuses to exec a file opened in another mount namespace:
	 * open it again here, before the mounts below can hide its path (it may
	 * live under /tmp or /var/tmp), and check it is the file the supervisor
	 * checked. */
	struct stat checked = { 0 }, here = { 0 };
	int exe = open(NSISO_INIT_PATH, O_PATH | O_CLOEXEC);
	if (exe >= 0 && exe < 10) /* above the fds arranged for the init below */
		exe = fcntl(exe, F_DUPFD_CLOEXEC, 10);
	if (exe < 0 || fstat(exe, &here) < 0 || fstat(init_exe, &checked) < 0 || here.st_dev != checked.st_dev ||
	    here.st_ino != checked.st_ino) {
		(void)error_at(&f, STEP_INIT, exe < 0 ? neg_errno() : -ESTALE, "%s is not the file checked before",
			       NSISO_INIT_PATH);
		report_and_exit(report, &f);
	}
	_cleanup_close_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0) {
		(void)error_at(&f, STEP_INIT, neg_errno(), "opening /dev/null");
		report_and_exit(report, &f);
	}
	if ((s->ns_mask & NS_BIT(NS_MNT)) && mounts_setup(u, s, devs, resolv_mnt, client_exe, &f) < 0)
		report_and_exit(report, &f);
	if ((s->ns_mask & NS_BIT(NS_UTS)) && sethostname(s->hostname, strlen(s->hostname)) < 0) {
		(void)error_at(&f, STEP_UTS, neg_errno(), "sethostname(%s)", s->hostname);
		report_and_exit(report, &f);
	}
	if ((s->ns_mask & NS_BIT(NS_NET)) && network_setup_loopback(&f) < 0)
		report_and_exit(report, &f);
	/* No nested user namespaces unless the policy allows them: root of a
	 * nested one reaches nf_tables, AF_PACKET, overlayfs, FUSE and the mount
	 * API, the road of most recent escapes (docs/THREATS.md 45). The limit
	 * is this user namespace's own; only its root (us, before the drop
	 * below) can change it, and every nested one is bounded by it. */
	if (userns && s->nested_userns == NO) {
		_cleanup_close_ int sys = open("/proc/sys/user", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int r2 = sys < 0 ? neg_errno() : write_text_at(sys, "max_user_namespaces", "0");
		if (r2 < 0) {
			(void)error_at(&f, STEP_CREDS, r2, "setting max_user_namespaces to 0 in the container");
			report_and_exit(report, &f);
		}
	}
	if (caps_drop_all(&f) < 0)
		report_and_exit(report, &f);

	/* fds of the init: 0-2 /dev/null, 3 the lifeline; nothing else.
	 * dup2() onto itself keeps FD_CLOEXEC: cleared explicitly. */
	for (int fd = 0; fd <= 3; fd++) {
		if (dup2(fd == 3 ? lifeline : null, fd) < 0) {
			(void)error_at(&f, STEP_INIT, neg_errno(), "dup2() onto the init's fd %d", fd);
			report_and_exit(report, &f);
		}
		if (fcntl(fd, F_SETFD, 0) < 0) {
			(void)error_at(&f, STEP_INIT, neg_errno(), "clearing FD_CLOEXEC on the init's fd %d", fd);
			report_and_exit(report, &f);
		}
	}
	if (close_range(4, ~0u, CLOSE_RANGE_CLOEXEC) < 0 && errno != EINVAL) {
		(void)error_at(&f, STEP_INIT, neg_errno(), "close_range");
		report_and_exit(report, &f);
	}
	/* The credential changes above cleared any earlier death signal. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) {
		(void)error_at(&f, STEP_INIT, neg_errno(), "PR_SET_PDEATHSIG");
		report_and_exit(report, &f);
	}
	char *const argv[] = { (char *)"nsiso-init", NULL };
	char *const envp[] = { NULL };
	(void)syscall(SYS_execveat, exe, "", argv, envp, AT_EMPTY_PATH); /* returns only on failure */
	(void)error_at(&f, STEP_INIT, neg_errno(), "executing %s", NSISO_INIT_PATH);
	report_and_exit(report, &f);
	_exit(1);
}

/* The host id container root maps to, or -1. */
static int64_t root_outside(const struct idmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].inside == 0)
			return m->r[i].outside;
	return -1;
}

/* clone3() from a short-lived child that took container root's host uid
 * and gid first, with CLONE_PARENT so that the container's first process is
 * still our child (we reap it, and it has a pidfd of ours). The user
 * namespace is then owned by that uid, not by host root: the kernel charges
 * the per-user counters of everything inside (inotify instances and
 * watches, fanotify, mqueues, namespaces: /proc/sys/user) to the tenant's
 * own subordinate uid, never to root's budget that every other tenant and
 * root itself draw on (docs/THREATS.md 46). That uid runs no process on the
 * host, so owning the namespace gives nobody anything. Returns the pid. */
static long clone_as_owner(struct clone_args *args, uid_t uid, gid_t gid)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return neg_errno();
	pid_t spawner = fork();
	if (spawner < 0) {
		int e = neg_errno();
		(void)close(p[0]);
		(void)close(p[1]);
		return e;
	}
	if (spawner == 0) {
		long pid;
		/* (each call's errno goes back on its own: the parent names the
		 * step) */
		if (setgroups(0, NULL) < 0)
			pid = neg_errno();
		else if (setresgid(gid, gid, gid) < 0)
			pid = neg_errno();
		else if (setresuid(uid, uid, uid) < 0)
			pid = neg_errno();
		else if ((pid = syscall(SYS_clone3, args, sizeof(*args))) < 0)
			pid = neg_errno();
		else if (pid == 0)
			return 0; /* the container's first process */
		(void)!write(p[1], &pid, sizeof(pid));
		_exit(0);
	}
	(void)close(p[1]);
	long pid = -EIO;
	ssize_t n = RETRY_EINTR(read(p[0], &pid, sizeof(pid)));
	(void)close(p[0]);
	(void)RETRY_EINTR(waitpid(spawner, NULL, 0));
	return n == (ssize_t)sizeof(pid) ? pid : -EIO;
}

int container_create(const struct user_info *u, const struct policy_settings *s, const struct dev_list *devs,
		     const int *cg_procs, size_t n_cg, int resolv_mnt, struct container *c, struct timing *tm,
		     struct nsiso_error *f)
{
	_cleanup_close_ int go_r = -EBADF, go_w = -EBADF, rep_r = -EBADF, rep_w = -EBADF;
	_cleanup_close_ int life_r = -EBADF, life_w = -EBADF, pidfd = -EBADF;
	int p[2], r;

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < NS_COUNT; i++)
		c->ns_fds[i] = -EBADF;
	c->init_pidfd = c->lifeline = -EBADF;
	c->ns_mask = s->ns_mask;

	_cleanup_close_ int init_exe = open(NSISO_INIT_PATH, O_PATH | O_CLOEXEC);
	if (init_exe < 0)
		return error_at(f, STEP_INIT, neg_errno(), "opening %s", NSISO_INIT_PATH);
	struct stat st;
	if (fstat(init_exe, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) || !S_ISREG(st.st_mode))
		return error_at(f, STEP_INIT, -EPERM, "%s is not a root-owned, non-writable file", NSISO_INIT_PATH);
	/* newuidmap's stand-in inside (nested id maps): bound into every
	 * container of the user, so checked like the init, and not setuid. */
	_cleanup_close_ int client_exe = -EBADF;
	if (nested_wanted(u, s)) {
		client_exe = open(NSISO_NEWIDMAP_PATH, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (client_exe < 0)
			return error_at(f, STEP_MOUNT, neg_errno(), "opening %s", NSISO_NEWIDMAP_PATH);
		if (fstat(client_exe, &st) < 0 || st.st_uid != 0 || !S_ISREG(st.st_mode) ||
		    (st.st_mode & (S_IWGRP | S_IWOTH | S_ISUID | S_ISGID)))
			return error_at(f, STEP_MOUNT, -EPERM, "%s is not a root-owned, non-writable, non-setuid file",
					NSISO_NEWIDMAP_PATH);
	}

	if (pipe2(p, O_CLOEXEC) < 0)
		return error_at(f, STEP_CLONE, neg_errno(), "pipe2");
	go_r = p[0], go_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_at(f, STEP_CLONE, neg_errno(), "pipe2");
	rep_r = p[0], rep_w = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_at(f, STEP_CLONE, neg_errno(), "pipe2");
	life_r = p[0], life_w = p[1];

	struct clone_args args = {
		/* The cgroup namespace comes later, from the child (see child_main). */
		.flags = (uint64_t)ns_clone_flags(s->ns_mask & ~NS_BIT(NS_CGROUP)) | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
	};
	int64_t owner_uid = root_outside(&u->uid_map), owner_gid = root_outside(&u->gid_map);
	bool by_owner = (s->ns_mask & NS_BIT(NS_USER)) && u->root_mapped && owner_uid > 0 && owner_gid > 0;
	long pid;
	if (by_owner) {
		args.flags = (args.flags & ~(uint64_t)CLONE_PIDFD) | CLONE_PARENT;
		args.pidfd = 0;
		args.exit_signal = 0; /* clone3 wants 0 with CLONE_PARENT: the spawner's own (SIGCHLD) applies */
		pid = clone_as_owner(&args, (uid_t)owner_uid, (gid_t)owner_gid);
	} else {
		pid = syscall(SYS_clone3, &args, sizeof(args));
		if (pid < 0)
			pid = neg_errno();
	}
	if (pid < 0)
		return error_at(f, STEP_CLONE, (int)pid, "clone3 with namespaces %#x%s", (unsigned)s->ns_mask,
				by_owner ? " as container root's host uid" : "");
	if (pid == 0)
		child_main(u, s, devs, go_r, rep_w, life_r, init_exe, client_exe, cg_procs, n_cg, resolv_mnt);
	if (by_owner) {
		/* Our child (CLONE_PARENT), not reaped yet: the pid is its own. */
		pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
		if (pidfd < 0) {
			int e = neg_errno();
			(void)kill((pid_t)pid, SIGKILL);
			(void)RETRY_EINTR(waitpid((pid_t)pid, NULL, 0));
			return error_at(f, STEP_CLONE, e, "pidfd_open of the container's init");
		}
	}

	close_fd(&go_r);
	close_fd(&rep_w);
	close_fd(&life_r);
	timing_mark(tm, "clone");

	r = 0;
	if (s->ns_mask & NS_BIT(NS_USER))
		r = write_idmaps((pid_t)pid, u, f);
	if (r == 0 && RETRY_EINTR(write(go_w, "g", 1)) != 1)
		r = error_at(f, STEP_CLONE, neg_errno(), "starting the container child");
	close_fd(&go_w);
	timing_mark(tm, "idmap");

	ssize_t n = r == 0 ? RETRY_EINTR(read(rep_r, f, sizeof(*f))) : 0;
	if (r == 0 && n != 0) {
		if (n == (ssize_t)sizeof(*f)) {
			error_sanitize(f, STEP_INIT);
			r = error_in(f, f->step, f->error);
		} else {
			r = error_at(f, STEP_INIT, -EIO, "short report from the container child");
		}
	}
	timing_mark(tm, "mounts+exec_init");
	if (r == 0) {
		char path[64];
		for (int i = 0; i < NS_COUNT && r == 0; i++) {
			if (!(s->ns_mask & NS_BIT(i)))
				continue;
			snprintf(path, sizeof(path), "/proc/%ld/ns/%s", pid, ns_types[i].proc_name);
			c->ns_fds[i] = open(path, O_RDONLY | O_CLOEXEC);
			if (c->ns_fds[i] < 0)
				r = error_at(f, STEP_INIT, neg_errno(), "opening %s", path);
		}
	}
	if (r == 0) {
		r = ns_verify_set(c->ns_fds, s->ns_mask, (uint32_t)u->uid, c->ns_ino, f);
		if (r < 0)
			(void)error_in(f, STEP_VERIFY, r);
	}
	if (r < 0) {
		(void)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		(void)RETRY_EINTR(waitpid((pid_t)pid, NULL, 0));
		for (int i = 0; i < NS_COUNT; i++)
			close_fd(&c->ns_fds[i]);
		return r;
	}
	c->init_pid = (pid_t)pid;
	c->init_pidfd = TAKE_FD(pidfd);
	c->lifeline = TAKE_FD(life_w);
	return 0;
}
