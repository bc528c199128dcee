/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#include "policy.h"

#define WHO_GROUPS_MAX 1024

/* The one lookup of a user by name (the helper, the CLI): the name checked
 * first (not empty, at most NSISO_USER_MAX, no leading '-', no '/', ':' or
 * newline), then getpwnam_r() into pw and buf, which must answer with that
 * very name. 0, -ENOENT for no such user, -EINVAL with why, or -errno. */
int who_passwd(const char *name, struct passwd *pw, char *buf, size_t size, struct nsiso_error *e);

/* A struct policy_who filled through NSS (so that directory users and groups
 * work): primary group name, the host's hostname, and group membership by
 * name against the user's getgrouplist(). */
struct nss_who {
	struct policy_who who;
	char user[POLICY_NAME_MAX + 1];
	char group[POLICY_NAME_MAX + 1];
	char host[POLICY_HOSTNAME_MAX + 1];
	gid_t gid;
	int n_gids; /* -1 until read */
	gid_t gids[WHO_GROUPS_MAX];
	int error; /* a membership lookup failed (not "not a member"): -errno */
};

/* 0, -ENOENT for no such user, or -errno. With full false, only the user
 * and uid (enough for policy_resolve_global()); the group list is read only
 * when a membership is first asked either way. A membership question that
 * NSS could not answer (getgrouplist() failed, a group lookup errored)
 * answers "no" and sets error: the caller must then refuse, since "no"
 * would skip a restrictive [group] section (fail closed). */
int nss_who_fill(struct nss_who *w, const char *user, bool full);

/* nss_who_fill(w, user, true) from what the caller has just read from NSS
 * (the helper's user and getgrouplist() answers): only the primary group's
 * name is looked up. -E2BIG for more groups than WHO_GROUPS_MAX. */
int nss_who_known(struct nss_who *w, const char *user, uid_t uid, gid_t gid, const gid_t *gids, int n_gids);
