/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static const char *const step_names[STEP_COUNT] = {
	[STEP_NONE] = "none",	  [STEP_HELPER] = "helper", [STEP_CALLER] = "caller", [STEP_USER] = "user",
	[STEP_POLICY] = "policy", [STEP_STATE] = "state",   [STEP_IDMAP] = "idmap",   [STEP_CLONE] = "clone",
	[STEP_MOUNT] = "mount",	  [STEP_UTS] = "hostname",  [STEP_NET] = "net",	      [STEP_CREDS] = "creds",
	[STEP_INIT] = "init",	  [STEP_ATTACH] = "attach", [STEP_VERIFY] = "verify", [STEP_JOIN] = "join",
	[STEP_CGROUP] = "cgroup", [STEP_HOOK] = "hook",	    [STEP_ARGS] = "args",
};

const char *nsiso_step_name(enum nsiso_step step)
{
	return (unsigned)step < STEP_COUNT && step_names[step] ? step_names[step] : "unknown";
}

__attribute__((format(printf, 3, 0))) static int error_vset(struct nsiso_error *e, int error, const char *fmt,
							    va_list ap)
{
	e->error = error < 0 ? error : -EIO;
	(void)vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	return e->error;
}

int error_set(struct nsiso_error *e, int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = error_vset(e, error, fmt, ap);
	va_end(ap);
	return r;
}

int error_at(struct nsiso_error *e, enum nsiso_step step, int error, const char *fmt, ...)
{
	va_list ap;
	e->step = step;
	va_start(ap, fmt);
	int r = error_vset(e, error, fmt, ap);
	va_end(ap);
	return r;
}

int error_in(struct nsiso_error *e, enum nsiso_step step, int error)
{
	e->step = step;
	e->error = error < 0 ? error : -EIO;
	if (!e->detail[0])
		(void)snprintf(e->detail, sizeof(e->detail), "%s", strerror(-e->error));
	return e->error;
}

const char *error_text(const struct nsiso_error *e)
{
	return e->detail[0] ? e->detail : strerror(e->error < 0 ? -e->error : EIO);
}

void error_sanitize(struct nsiso_error *e, enum nsiso_step fallback)
{
	e->detail[sizeof(e->detail) - 1] = '\0';
	if (e->step == STEP_NONE || e->step >= STEP_COUNT)
		e->step = fallback;
}

/* on_error = allow lets a failed isolation in on the host. A tenant must
 * not be able to pull that lever (THREATS 59): a view target removed or
 * swapped for a symlink under their home, a subids pool they exhausted, a
 * lease, a slow NSS answer, a hung helper. So allow applies only to
 * failures of the host itself that a tenant cannot cause: the container's
 * init missing or not executable, the kernel refusing a namespace type, no
 * usable cgroup hierarchy or systemd, the state directory unusable, a user
 * the files give no subordinate range. (A missing helper never reads the
 * policy: the module cannot know on_error then, and refuses.) Every other failure refuses (nsiso.conf(5), "on_error").
 */
bool error_tenant_proof(const struct nsiso_error *e)
{
	int err = -e->error;
	switch ((enum nsiso_step)e->step) {
	case STEP_INIT: return err == ENOENT || err == EACCES || err == ENOEXEC;
	case STEP_CLONE: return err == EPERM || err == EINVAL || err == ENOSYS;
	case STEP_CGROUP:
		return err == ENOENT || err == EROFS || err == EACCES || err == ENODEV || err == EOPNOTSUPP ||
		       err == ECONNREFUSED || err == ELIBACC || err == ELIBBAD;
	case STEP_STATE: return err == EROFS || err == EACCES || err == EPERM || err == ENOTDIR;
	/* no subordinate range at all in the files (subids = files): the
	 * admin's set-up; an exhausted pool (ENOSPC) or an overlap is not */
	case STEP_IDMAP: return err == ERANGE;
	/* what a tenant can cause, or what must never be let in */
	case STEP_NONE:
	case STEP_HELPER:
	case STEP_CALLER:
	case STEP_USER:
	case STEP_POLICY: /* the user manager's refusal among them */
	case STEP_MOUNT:
	case STEP_UTS:
	case STEP_NET:
	case STEP_CREDS:
	case STEP_ATTACH:
	case STEP_VERIFY:
	case STEP_JOIN:
	case STEP_HOOK: /* the admin's own check said no */
	case STEP_ARGS:
	case STEP_COUNT: return false;
	}
	return false;
}
