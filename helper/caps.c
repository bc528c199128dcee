/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "helper.h"
#include "util.h"

/* Take the identity the container init runs under: container root when the
 * user has subordinate ids, else the user. Called with every capability of
 * the new user namespace; the caller drops them once the mounts are done.
 * Capabilities survive this: the kernel clears them only on a change away
 * from the namespace's root, and host uid 0 is not that root. */
int creds_become(const struct user_info *u, bool userns, struct nsiso_error *f)
{
	uid_t uid = userns && u->root_mapped ? 0 : u->uid;
	gid_t gid = userns && u->root_mapped ? 0 : u->gid;

	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "PR_SET_KEEPCAPS");
	if (setgroups(0, NULL) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "setgroups(0)");
	if (setresgid(gid, gid, gid) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "setresgid(%u)", (unsigned)gid);
	if (setresuid(uid, uid, uid) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "setresuid(%u)", (unsigned)uid);
	/* KEEPCAPS kept the permitted set; bring back the effective one. */
	cap_t all = cap_get_proc();
	if (!all)
		return error_at(f, STEP_CREDS, neg_errno(), "cap_get_proc");
	int r = 0;
	cap_value_t n = (cap_value_t)cap_max_bits();
	for (cap_value_t c = 0; c < n && r == 0; c++)
		r = cap_set_flag(all, CAP_EFFECTIVE, 1, &c, CAP_SET) < 0 ? neg_errno() : 0;
	if (r == 0 && cap_set_proc(all) < 0)
		r = neg_errno();
	(void)cap_free(all);
	if (r < 0)
		return error_at(f, STEP_CREDS, r, "raising effective capabilities after the uid change");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "PR_SET_KEEPCAPS off");
	return 0;
}

/* Empty the bounding, ambient, inheritable, permitted and effective sets and
 * set no_new_privs, so that nothing the init runs can ever regain one. */
int caps_drop_all(struct nsiso_error *f)
{
	cap_value_t n = (cap_value_t)cap_max_bits();
	for (cap_value_t c = 0; c < n; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return error_at(f, STEP_CREDS, neg_errno(), "dropping capability %d from the bounding set", c);
	if (cap_reset_ambient() < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "clearing ambient capabilities");
	cap_t none = cap_init();
	if (!none)
		return error_at(f, STEP_CREDS, neg_errno(), "cap_init");
	int r = cap_set_proc(none) < 0 ? neg_errno() : 0;
	(void)cap_free(none);
	if (r < 0)
		return error_at(f, STEP_CREDS, r, "clearing capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_at(f, STEP_CREDS, neg_errno(), "PR_SET_NO_NEW_PRIVS");
	return 0;
}
