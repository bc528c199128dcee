/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "fsutil.h"
#include "helper.h"
#include "lastgood.h"
#include "proto.h"
#include "util.h"
#include "who.h"

/* The helper's and the supervisors' shared ground: how a failure is
 * recorded, the state directory (NSISO_RUNDIR, root's, 0700) and the
 * per-user lock in it, and the one line about a policy that runs under its
 * last valid copy. */

void log_last_good(const char *ident, const char *config, const char *user, const struct policy_kept *k)
{
	char uv[LOG_VALUE_MAX], pv[LOG_VALUE_MAX], ev[2 * NSISO_DETAIL_MAX], when[32] = "?";
	struct tm tm;
	time_t t = (time_t)k->saved;
	if (localtime_r(&t, &tm))
		(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	openlog(ident, LOG_PID, LOG_AUTHPRIV);
	syslog(LOG_ERR, "policy=%s INVALID: user=%s runs under the last valid policy (kept %s); first error: \"%s\"",
	       log_value(pv, sizeof(pv), config), log_value(uv, sizeof(uv), user), when,
	       log_escape(ev, sizeof(ev), k->first.detail));
	/* The helper forks the supervisor, which closes every inherited fd:
	 * glibc must not keep the number of a log socket that is gone (its next
	 * send would go to, and its close close, whatever fd took the number). */
	if (strcmp(ident, "nsiso-sup") != 0)
		closelog();
}

int state_open_rundir(struct nsiso_error *f)
{
	int fd = open_state_dir(NSISO_RUNDIR, true);
	if (fd == -EPERM)
		return error_at(f, STEP_STATE, fd, "%s must be a root-owned directory of mode 0700", NSISO_RUNDIR);
	if (fd < 0)
		return error_at(f, STEP_STATE, fd, "creating or opening %s", NSISO_RUNDIR);
	return fd;
}

int state_open_lock(int rundir, uid_t uid, int op)
{
	char name[32];
	state_name(name, sizeof(name), uid, "lock");
	for (;;) {
		_cleanup_close_ int fd = openat(rundir, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return neg_errno();
		if (RETRY_EINTR(flock(fd, op)) < 0)
			return neg_errno();
		/* The supervisor unlinks the file under the lock; a lock taken on
		 * an unlinked file protects nothing: open it again. */
		struct stat a, b;
		if (fstat(fd, &a) < 0)
			return neg_errno();
		if (fstatat(rundir, name, &b, AT_SYMLINK_NOFOLLOW) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return TAKE_FD(fd);
	}
}

void state_remove_lock(int rundir, uid_t uid)
{
	char name[32];
	state_name(name, sizeof(name), uid, "lock");
	(void)unlinkat(rundir, name, 0);
}

int state_lock_user(int rundir, uid_t uid, struct nsiso_error *f)
{
	int fd = state_open_lock(rundir, uid, LOCK_EX);
	if (fd < 0)
		return error_at(f, STEP_STATE, fd, "locking %s/%u.lock", NSISO_RUNDIR, (unsigned)uid);
	return fd;
}

/* The policy for the user w describes; a failed membership lookup refuses. */
static int resolve_with(const struct policy *p, struct nss_who *w, const char *user, bool global_only,
			struct policy_settings *s, struct nsiso_error *f)
{
	int r;
	if (global_only)
		policy_resolve_global(p, &w->who, s);
	else if ((r = policy_resolve(p, &w->who, s, f)) < 0)
		return error_in(f, STEP_POLICY, r);
	if (w->error < 0)
		return error_at(f, STEP_POLICY, w->error, "the groups of %s cannot be resolved through NSS (%s)", user,
				strerrorname_np(-w->error) ? strerrorname_np(-w->error) : "?");
	return 0;
}

int resolve_for(const struct policy *p, const char *user, bool global_only, struct policy_settings *s,
		struct nsiso_error *f)
{
	static struct nss_who w;
	int r = nss_who_fill(&w, user, true);
	if (r < 0)
		return error_at(f, STEP_POLICY, r, "user %s cannot be resolved through NSS", user);
	return resolve_with(p, &w, user, global_only, s, f);
}

int resolve_known(const struct policy *p, const struct user_info *u, struct policy_settings *s, struct nsiso_error *f)
{
	static struct nss_who w;
	int r = nss_who_known(&w, u->name, u->uid, u->gid, u->nss_groups, u->n_nss_groups);
	if (r < 0)
		return error_at(f, STEP_POLICY, r, "user %s cannot be resolved through NSS", u->name);
	return resolve_with(p, &w, u->name, false, s, f);
}
