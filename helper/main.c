/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "fdpass.h"
#include "helper.h"
#include "lastgood.h"
#include "nsverify.h"
#include "util.h"
#include "who.h"

/* nsiso-helper open USER CONFIG [SERVICE TTY RHOST]
 *
 * Run by pam_nsiso.so (as root, empty environment, fd 0 a SOCK_SEQPACKET
 * socket to the module, 1 and 2 /dev/null). Finds USER's live container or
 * creates one, registers the calling process as one of its sessions, and
 * answers with one struct session_reply and the container's namespace fds.
 * Trusts nothing it is given: the user is resolved through NSS, the policy
 * file must be root's, the caller must be root and our parent. */

#define HELPER_TIMEOUT_S 20

/* The module is our parent and the peer of fd 0. Returns a pidfd of it: the
 * session holder, whose exit ends the session. */
static int check_caller(struct nsiso_error *f)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(type);
	if (getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET)
		return error_at(f, STEP_CALLER, -ENOTSOCK, "fd 0 is not a SOCK_SEQPACKET socket");
	len = sizeof(domain);
	if (getsockopt(0, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_UNIX)
		return error_at(f, STEP_CALLER, -ENOTSOCK, "fd 0 is not a unix socket");
	struct ucred cred;
	len = sizeof(cred);
	if (getsockopt(0, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return error_at(f, STEP_CALLER, neg_errno(), "SO_PEERCRED");
	if (cred.uid != 0)
		return error_at(f, STEP_CALLER, -EPERM, "caller uid %u is not root", (unsigned)cred.uid);
	if (cred.pid != getppid())
		return error_at(f, STEP_CALLER, -EPERM, "caller pid %d is not our parent", (int)cred.pid);
	int pidfd = (int)syscall(SYS_pidfd_open, cred.pid, 0);
	if (pidfd < 0)
		return error_at(f, STEP_CALLER, neg_errno(), "pidfd_open(%d)", (int)cred.pid);
	/* Still our parent: the pidfd names the caller, not a recycled pid. */
	if (getppid() != cred.pid) {
		(void)close(pidfd);
		return error_at(f, STEP_CALLER, -ESRCH, "caller exited");
	}
	return pidfd;
}

/* The supervisor's answer becomes the module's: what only the helper
 * knows (version, flags, uid, gid) is kept across it, errors included
 * (container_attach() zeroes the reply when nothing answers). */
static int attach_keeping(const struct user_info *u, const char *config, int holder,
			  const struct session_origin *origin, struct session_reply *rep, struct session_fds *fds,
			  const struct session_reply *mine)
{
	int r = container_attach(u->uid, u->name, config, holder, origin, rep, fds);
	rep->version = mine->version; /* the helper's answer, whatever the supervisor's was */
	rep->flags |= mine->flags;
	rep->uid = mine->uid;
	rep->gid = mine->gid;
	return r;
}

static struct timing tm; /* where a creating login's time goes */

static int helper_open(const char *user, const char *config, const struct session_origin *origin,
		       struct session_reply *rep, struct session_fds *fds, struct nsiso_error *f)
{
	static struct user_info u;
	static struct policy pol;
	struct policy_settings set;
	int r;

	_cleanup_close_ int holder = check_caller(f);
	if (holder < 0)
		return holder;
	timing_mark(&tm, "caller");
	r = user_resolve(user, &u, f);
	if (r < 0)
		return r;
	timing_mark(&tm, "nss");
	rep->uid = u.uid;
	rep->gid = u.gid;
	if (config[0] != '/')
		return error_at(f, STEP_POLICY, -EINVAL, "policy path %s is not absolute", config);
	struct policy_kept kept;
	r = policy_load_kept(&pol, config, LASTGOOD_DIR, &kept, f);
	if (r < 0)
		return error_at(f, STEP_POLICY, r, "no valid policy since boot: %s", kept.first.detail);
	if (kept.used)
		log_last_good("nsiso-helper", config, user, &kept);
	if (pol.builtin)
		rep->flags |= REPLY_BUILTIN_POLICY;
	r = resolve_known(&pol, &u, &set, f);
	if (r < 0)
		return r;
	timing_mark(&tm, "policy");
	/* From here on a failure is a failed isolation: on_error decides. */
	if (set.on_error_allow)
		rep->flags |= REPLY_ON_ERROR_ALLOW;
	if (set.exempt) {
		rep->flags |= REPLY_EXEMPT;
		text_copy(rep->exempt_by, sizeof(rep->exempt_by), set.exempt_source);
		return 0;
	}
	if (is_user_manager(origin))
		return error_at(f, STEP_POLICY, -EPERM, "%s", USER_MANAGER_REFUSED);
	/* keep-id never maps host 0 (THREATS 16, 30). */
	if (u.uid == 0 || u.gid == 0)
		return error_at(f, STEP_USER, -EPERM,
				"uid or primary gid 0 is never put in a container; exempt %s instead", u.name);
	if (set.ns_mask & NS_BIT(NS_USER)) {
		r = user_build_idmaps(&u, &set, f);
		if (r < 0)
			return r;
		/* sshd and su switch to the user through the root path: container
		 * root must exist for that (see docs/ARCHITECTURE.md). */
		if (!u.root_mapped)
			return error_at(
			    f, STEP_IDMAP, -ERANGE,
			    "%s has no subordinate range in /etc/subuid and /etc/subgid (and subids = files); "
			    "a user namespace needs one",
			    u.name);
	}

	timing_mark(&tm, "idmap");
	_cleanup_close_ int rundir = state_open_rundir(f);
	if (rundir < 0)
		return rundir;
	_cleanup_close_ int lock = state_lock_user(rundir, u.uid, f);
	if (lock < 0)
		return lock;
	timing_mark(&tm, "lock");

	/* Under the lock: the container we find cannot retire before we are
	 * registered in it, and two first logins make one container. The
	 * supervisor's answer is the module's, with what only the helper
	 * knows added (f is the caller's rep->err). */
	struct session_reply mine = *rep;
	r = attach_keeping(&u, config, holder, origin, rep, fds, &mine);
	/* Under the lock a live supervisor does not retire: one that accepted
	 * and closed without an answer is a fault, not "no container", and its
	 * socket is never replaced by a login. */
	if (r == ATTACH_GONE)
		return error_at(f, STEP_ATTACH, -ECONNABORTED,
				"the container's supervisor closed the connection without an answer");
	if (r == ATTACH_NONE) {
		/* set holds what the supervisor needs: the policy's pages are
		 * not for it to inherit (and keep for the container's life). */
		policy_forget(&pol);
		timing_mark(&tm, "probe");
		r = supervisor_spawn(rundir, &u, &set, f);
		if (r < 0) {
			/* Nothing half-built stays: not even the lock file (removed
			 * while held; a waiter notices and opens a new one). */
			state_remove_lock(rundir, u.uid);
			return r;
		}
		mine.flags |= REPLY_CREATED;
		timing_mark(&tm, "supervisor");
		r = attach_keeping(&u, config, holder, origin, rep, fds, &mine);
		timing_mark(&tm, "attach");
		if (attach_no_container(r))
			return error_at(f, STEP_ATTACH, -ECONNABORTED,
					"the new container's supervisor is not answering");
	}
	if (r < 0)
		return r;
	close_fd(&lock);
	if (rep->flags & REPLY_EXEMPT) /* the policy changed under us */
		return 0;

	uint64_t ino[NS_COUNT];
	r = ns_verify_answer(fds->ns, rep->ns_mask, (uint32_t)u.uid, rep->ns_ino, ino, f);
	if (r < 0)
		return error_in(f, STEP_VERIFY, r);
	memcpy(rep->ns_ino, ino, sizeof(ino));
	rep->network[sizeof(rep->network) - 1] = '\0';
	rep->cgroup[sizeof(rep->cgroup) - 1] = '\0';
	timing_mark(&tm, "verify");
	return 0;
}

/* nsiso-helper user-manager UID: run by systemd before every
 * user@UID.service (the drop-in config/user@.service.d-nsiso.conf.in,
 * ExecCondition with "+": as root). 0 lets the manager start: the user is
 * exempt (uid 0 always). 1 skips it: the user is isolated, or anything
 * failed (fail closed: no manager). One log line either way but the
 * exempt one. Whatever the PAM stack of systemd-user says (THREATS 43). */
static int user_manager(const char *uid_text)
{
	static struct policy pol;
	struct nsiso_error f = { 0 };
	char *end;
	errno = 0;
	unsigned long uid = strtoul(uid_text, &end, 10);
	if (errno || end == uid_text || *end || uid > UINT32_MAX - 1)
		return 1;
	if (uid == 0)
		return 0;
	openlog("nsiso-helper", LOG_PID, LOG_AUTHPRIV);
	struct passwd pw, *res = NULL;
	char buf[4096], uv[LOG_VALUE_MAX], dv[2 * NSISO_DETAIL_MAX];
	int r = getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res);
	if (r != 0 || !res) {
		syslog(LOG_ERR, "user manager uid=%lu not started: the user cannot be resolved (%s)", uid,
		       r ? strerror(r) : "no such user");
		return 1;
	}
	struct policy_kept kept;
	struct policy_settings set;
	r = policy_load_kept(&pol, NSISO_DEFAULT_CONFIG, LASTGOOD_DIR, &kept, &f);
	if (r == 0)
		r = resolve_for(&pol, pw.pw_name, true, &set, &f);
	if (r < 0) {
		syslog(LOG_ERR, "user manager user=%s uid=%lu not started: policy %s: %s",
		       log_value(uv, sizeof(uv), pw.pw_name), uid, NSISO_DEFAULT_CONFIG,
		       log_escape(dv, sizeof(dv), error_text(&f)));
		return 1;
	}
	if (set.exempt)
		return 0;
	syslog(LOG_NOTICE,
	       "user manager user=%s uid=%lu not started: isolated users have no systemd user manager "
	       "(user@%lu.service skipped)",
	       log_value(uv, sizeof(uv), pw.pw_name), uid, uid);
	return 1;
}

int main(int argc, char **argv)
{
	struct session_reply rep = { .version = NSISO_PROTO_VERSION };
	struct session_fds fds;

	session_fds_init(&fds);
	if (getuid() != 0 || geteuid() != 0) {
		fprintf(stderr, "nsiso-helper: only root may run this; it is started by pam_nsiso.so\n");
		return 1;
	}
	if (argc == 3 && strcmp(argv[1], "user-manager") == 0)
		return user_manager(argv[2]);
	if ((argc != 4 && argc != 7) || strcmp(argv[1], "open") != 0) {
		fprintf(stderr, "usage: nsiso-helper open USER CONFIG [SERVICE TTY RHOST] (started by pam_nsiso.so)\n");
		return 2;
	}
	struct session_origin origin = { 0 };
	if (argc == 7) {
		origin_copy(origin.service, sizeof(origin.service), argv[4]);
		origin_copy(origin.tty, sizeof(origin.tty), argv[5]);
		origin_copy(origin.rhost, sizeof(origin.rhost), argv[6]);
	}
	/* No transparent huge pages for the helper and what it forks (the
	 * supervisor lives as long as the container): with THP "always"
	 * (Debian's kernels) the first touch of the policy tables in .bss
	 * faulted in 2 MiB pages, 6 MiB per container where 4 KiB pages hold
	 * under 1 MiB (docs/PERFORMANCE.md). Inherited by fork and execve. */
	(void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	/* (only now: tm is in .bss, and touching it before the prctl faulted
	 * in a 2 MiB page that the supervisor then inherited) */
	timing_start(&tm);
	/* Bounded in time whatever happens below (THREATS 22, 23, 60): a
	 * POSIX timer that delivers SIGKILL, which nothing can catch, block
	 * or cancel. alarm() was cancelled by glibc's lckpwdf(), which arms
	 * and then clears an alarm of its own. Not inherited by the
	 * supervisor (fork drops the timers). */
	timer_t deadline;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGKILL };
	struct itimerspec when = { .it_value = { .tv_sec = HELPER_TIMEOUT_S } };
	if (timer_create(CLOCK_MONOTONIC, &ev, &deadline) < 0 || timer_settime(deadline, 0, &when, NULL) < 0) {
		(void)error_at(&rep.err, STEP_HELPER, neg_errno(), "arming the helper's deadline");
		(void)fdpass_send(0, &rep, sizeof(rep), NULL, 0);
		return 1;
	}
	(void)umask(077);

	int r = helper_open(argv[2], argv[3], &origin, &rep, &fds, &rep.err);
	size_t n = 0;
	int send[SESSION_FDS_MAX];
	if (r < 0) {
		rep.ns_mask = 0;
		memset(&rep.hard, 0, sizeof(rep.hard));
	} else {
		n = session_fds_pack(&fds, rep.ns_mask, &rep.hard, send);
	}
	r = fdpass_send(0, &rep, sizeof(rep), send, n);
	timing_mark(&tm, "reply");
	session_fds_close(&fds);
	/* (after the answer: off the login's path) */
	if (rep.flags & REPLY_CREATED)
		timing_log(&tm, "helper", argv[2]);
	return r < 0 || rep.err.error < 0 ? 1 : 0;
}
