/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "join.h"
#include "smallfile.h"
#include "util.h"

/* Into the groups behind the fds the supervisor opened (the kernel checks
 * the opener's credentials, so container root can use them). Here, not in
 * cgroup.c: the module needs this and nothing else of it. */
int cg_enter(const int *procs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct statfs sfs;
		if (fstatfs(procs[i], &sfs) < 0)
			return neg_errno();
		if ((unsigned long)sfs.f_type != CGROUP_SUPER_MAGIC && (unsigned long)sfs.f_type != CGROUP2_SUPER_MAGIC)
			return -EMEDIUMTYPE;
		/* "0": the writing process itself. */
		if (RETRY_EINTR(write(procs[i], "0", 1)) != 1)
			return neg_errno();
	}
	return 0;
}

/* What the policy asks of every session (seccomp, no_new_privs,
 * capabilities), applied to the caller, so that the session child and the
 * shell inherit it. The filter comes ready-made from the supervisor as a
 * sealed memfd of raw BPF. */
static int harden(const struct session_hardening *h, int seccomp_fd, bool keep_bounding, struct nsiso_error *e)
{
	for (int c = 0; !keep_bounding && c <= CAP_LAST_CAP; c++)
		if (!(h->cap_keep & (UINT64_C(1) << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return error_set(e, neg_errno(), "dropping capability %d from the bounding set", c);
	if ((h->flags & HARDEN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_set(e, neg_errno(), "PR_SET_NO_NEW_PRIVS");
	if (!(h->flags & HARDEN_SECCOMP))
		return 0;
	struct stat st;
	int seals = fcntl(seccomp_fd, F_GET_SEALS);
	if (fstat(seccomp_fd, &st) < 0 || seals < 0 || !(seals & F_SEAL_WRITE) || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
	    st.st_size / (off_t)sizeof(struct sock_filter) > SECCOMP_INSNS_MAX) {
		return error_set(e, -EINVAL,
				 "the seccomp filter is not a sealed BPF program of at most %d instructions",
				 SECCOMP_INSNS_MAX);
	}
	_cleanup_free_ struct sock_filter *insns = malloc((size_t)st.st_size);
	if (!insns)
		return -ENOMEM;
	if (pread(seccomp_fd, insns, (size_t)st.st_size, 0) != st.st_size)
		return error_set(e, -EIO, "reading the seccomp filter");
	struct sock_fprog prog = { .len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter)),
				   .filter = insns };
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return error_set(e, neg_errno(), "installing the seccomp filter");
	return 0;
}

static int threads_of_self(void)
{
	char buf[4096];
	ssize_t n = read_small_at(AT_FDCWD, "/proc/self/status", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const char *t = strstr(buf, "\nThreads:");
	return t ? atoi(t + 9) : -EIO;
}

/* The caller's supplementary groups that the container maps, as the
 * container sees them. sshd's session child called initgroups() as host
 * root before the inner half: its host groups (gid 0 among them) would
 * stay effective for access checks inside, unmapped or not (THREATS 61).
 * host holds them as read before the join; the map is read after it,
 * where /proc/self/gid_map names the host's ids. */
static int mapped_groups(const gid_t *host, int n, gid_t *out, size_t *n_out)
{
	char buf[16384]; /* 340 lines (the kernel's most) of 33 bytes at most */
	ssize_t len = read_small_at(AT_FDCWD, "/proc/self/gid_map", buf, sizeof(buf));
	if (len < 0)
		return (int)len;
	*n_out = 0;
	for (int i = 0; i < n; i++) {
		unsigned long inside, outside, count;
		int used = 0;
		for (const char *p = buf; sscanf(p, " %lu %lu %lu%n", &inside, &outside, &count, &used) == 3;
		     p += used) {
			if (host[i] >= outside && host[i] - outside < count) {
				out[(*n_out)++] = (gid_t)(inside + (host[i] - outside));
				break;
			}
		}
	}
	return 0;
}

/* Order of joining: the user namespace last, since after it there is no way
 * back; the others are undone if a later one fails. */
#define NGROUPS_JOIN 1024
static const int join_order[] = { NS_CGROUP, NS_IPC, NS_UTS, NS_NET, NS_PID, NS_MNT };

/* *committed tells whether the caller was changed for good (then a failure
 * can only end the caller, never let it go on unisolated). */
int container_join(const struct session_fds *sf, unsigned mask, const struct session_hardening *hard,
		   enum join_part part, bool keep_bounding, struct nsiso_error *e, bool *committed)
{
	const int *fds = sf->ns;
	int saved[NS_COUNT];
	int r = 0;
	size_t done = 0;
	struct rlimit old[HARDEN_RLIMITS];
	uint32_t n_rl = hard->n_rlimits < HARDEN_RLIMITS ? hard->n_rlimits : HARDEN_RLIMITS;
	bool outer = part != JOIN_INNER, inner = part != JOIN_OUTER;

	if (!outer)
		mask &= NS_BIT(NS_USER);
	if (!inner) {
		mask &= ~NS_BIT(NS_USER);
		n_rl = 0;
	}

	for (int i = 0; i < NS_COUNT; i++)
		saved[i] = -EBADF;
	/* setns() into a user or mount namespace needs a single-threaded caller;
	 * find out before changing anything (THREATS 33). */
	int threads = threads_of_self();
	if (threads != 1) {
		return error_set(e, -EINVAL, "caller has %d threads; setns needs one", threads);
	}
	gid_t host_groups[NGROUPS_JOIN];
	int n_groups = 0;
	if ((mask & NS_BIT(NS_USER)) && !outer) {
		n_groups = getgroups(NGROUPS_JOIN, host_groups);
		if (n_groups < 0)
			return error_set(e, neg_errno(), "reading the supplementary groups (more than %d?)",
					 NGROUPS_JOIN);
	}
	/* Resource limits first, while the caller is still host root: raising a
	 * hard limit needs CAP_SYS_RESOURCE of the initial user namespace. */
	for (uint32_t j = 0; j < n_rl; j++) {
		int res = hard->rlimit[j].resource;
		struct rlimit want = {
			.rlim_cur = hard->rlimit[j].soft == UINT64_MAX ? RLIM_INFINITY : (rlim_t)hard->rlimit[j].soft,
			.rlim_max = hard->rlimit[j].hard == UINT64_MAX ? RLIM_INFINITY : (rlim_t)hard->rlimit[j].hard,
		};
		if (getrlimit(res, &old[j]) < 0 || setrlimit(res, &want) < 0) {
			r = neg_errno();
			(void)error_set(e, r, "setting resource limit %d", res);
			while (j-- > 0)
				(void)setrlimit(hard->rlimit[j].resource, &old[j]);
			return r;
		}
	}
	for (size_t j = 0; j < ARRAY_SIZE(join_order); j++) {
		int i = join_order[j];
		if (!(mask & NS_BIT(i)))
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/ns/%s",
			 i == NS_PID ? "pid_for_children" : ns_types[i].proc_name);
		saved[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (saved[i] < 0) {
			r = neg_errno();
			(void)error_set(e, r, "opening %s", path);
			goto undo; /* nothing joined yet: only the limits to restore */
		}
	}
	for (done = 0; done < ARRAY_SIZE(join_order); done++) {
		int i = join_order[done];
		if ((mask & NS_BIT(i)) && setns(fds[i], ns_types[i].clone_flag) < 0) {
			r = neg_errno();
			(void)error_set(e, r, "setns into the %s namespace", ns_types[i].proc_name);
			goto undo;
		}
	}
	/* The caller into the container's cgroups, so that everything it
	 * forks from now on counts against the container's limits. There is
	 * no moving back out: from here on a failure is final. */
	if (inner && sf->n_cgroups > 0) {
		*committed = true;
		r = cg_enter(sf->cgroup, sf->n_cgroups);
		if (r < 0) {
			(void)error_set(e, r, "entering the container's cgroups");
			goto out;
		}
	}
	if (mask & NS_BIT(NS_USER)) {
		if (setns(fds[NS_USER], CLONE_NEWUSER) < 0) {
			r = neg_errno();
			(void)error_set(e, r, "setns into the user namespace");
			goto undo;
		}
		/* From here on there is no way back: a failure is fatal for the
		 * caller (sshd and su end the login on a failed open_session). */
		*committed = true;
		/* The whole join: no groups, gid and uid 0 of the container. The
		 * inner part runs after the caller set its groups (sshd's child):
		 * it keeps those the container maps, and becomes uid 0, which is
		 * what makes the later setuid(user) drop every capability. */
		if (outer && setgroups(0, NULL) < 0) {
			r = neg_errno();
			(void)error_set(e, r, "setgroups() to none in the container");
			goto out;
		}
		if (outer && setresgid(0, 0, 0) < 0) {
			r = neg_errno();
			(void)error_set(e, r, "setresgid() to the container's gid 0");
			goto out;
		}
		if (setresuid(0, 0, 0) < 0) {
			r = neg_errno();
			(void)error_set(e, r, "setresuid() to the container's uid 0");
			goto out;
		}
		if (!outer) {
			gid_t kept[NGROUPS_JOIN];
			size_t n_kept = 0;
			r = mapped_groups(host_groups, n_groups, kept, &n_kept);
			if (r < 0) {
				(void)error_set(e, r, "reading the container's gid map");
				goto out;
			}
			if (setgroups(n_kept, kept) < 0) {
				r = neg_errno();
				(void)error_set(e, r, "setgroups() to the %zu mapped groups", n_kept);
				goto out;
			}
		}
	}
	if (!inner)
		goto out; /* the outer part is for good, but nothing of it is final yet */
	*committed = true;
	r = harden(hard, sf->seccomp, keep_bounding, e);
	goto out;

undo:
	while (done-- > 0) {
		int i = join_order[done];
		if ((mask & NS_BIT(i)) && setns(saved[i], ns_types[i].clone_flag) < 0) {
			size_t len = strlen(e->detail);
			snprintf(e->detail + len, sizeof(e->detail) - len, "; undoing %s failed too",
				 ns_types[i].proc_name);
			*committed = true; /* half-joined: never let it go on */
			break;
		}
	}
	for (uint32_t j = 0; j < n_rl; j++)
		(void)setrlimit(hard->rlimit[j].resource, &old[j]);
out:
	for (int i = 0; i < NS_COUNT; i++)
		closep(&saved[i]);
	return r;
}
