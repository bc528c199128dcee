/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "who.h"

static bool nss_in_group(const char *name, void *ctx)
{
	struct nss_who *w = ctx;
	struct group gr, *res = NULL;
	char buf[16384];
	if (w->n_gids < 0) {
		w->n_gids = WHO_GROUPS_MAX;
		if (getgrouplist(w->user, w->gid, w->gids, &w->n_gids) < 0) {
			w->n_gids = 0;
			w->error = -E2BIG;
		}
	}
	int r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	/* 0, ENOENT, ESRCH, EBADF and EPERM mean "no such group" (getgrnam(3)). */
	if (r != 0 && r != ENOENT && r != ESRCH && r != EBADF && r != EPERM && !w->error)
		w->error = -r;
	if (r != 0 || !res)
		return false;
	for (int i = 0; i < w->n_gids; i++)
		if (w->gids[i] == gr.gr_gid)
			return true;
	return false;
}

/* The common part: w for user, uid and primary gid, its callbacks wired;
 * with full, the primary group's name and the host name too. */
static int who_set(struct nss_who *w, const char *user, uid_t uid, gid_t gid, bool full)
{
	struct group gr, *gres = NULL;
	char buf[16384];

	memset(w, 0, sizeof(*w));
	if (strlen(user) > POLICY_NAME_MAX)
		return -ENAMETOOLONG;
	strcpy(w->user, user);
	w->who.user = w->user;
	w->who.uid = uid;
	w->gid = gid;
	w->n_gids = -1;
	w->who.in_group = nss_in_group;
	w->who.ctx = w;
	w->who.group = w->group;
	w->who.host = w->host;
	if (!full)
		return 0;
	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &gres) == 0 && gres)
		snprintf(w->group, sizeof(w->group), "%s", gr.gr_name);
	else
		snprintf(w->group, sizeof(w->group), "%u", (unsigned)gid);
	if (gethostname(w->host, sizeof(w->host) - 1) < 0)
		w->host[0] = '\0';
	return 0;
}

int nss_who_fill(struct nss_who *w, const char *user, bool full)
{
	struct passwd pw;
	char buf[16384];
	struct nsiso_error why = { 0 };

	memset(w, 0, sizeof(*w)); /* (zeroed on every return, as before who_set) */
	if (strlen(user) > POLICY_NAME_MAX)
		return -ENAMETOOLONG;
	int r = who_passwd(user, &pw, buf, sizeof(buf), &why);
	if (r < 0)
		return r;
	return who_set(w, user, pw.pw_uid, pw.pw_gid, full);
}

int nss_who_known(struct nss_who *w, const char *user, uid_t uid, gid_t gid, const gid_t *gids, int n_gids)
{
	if (n_gids < 0 || n_gids > WHO_GROUPS_MAX)
		return -E2BIG;
	int r = who_set(w, user, uid, gid, true);
	if (r < 0)
		return r;
	w->n_gids = n_gids;
	memcpy(w->gids, gids, (size_t)n_gids * sizeof(gid_t));
	return 0;
}

int who_passwd(const char *name, struct passwd *pw, char *buf, size_t size, struct nsiso_error *e)
{
	struct passwd *res = NULL;
	size_t len = strlen(name);
	/* A leading '-' is allowed (a directory's "-rf" logs in): no argv
	 * nsiso builds takes a name where an option could be read
	 * (docs/THREATS.md 69). */
	if (len == 0 || len > NSISO_USER_MAX || strpbrk(name, "/:\n"))
		return error_set(e, -EINVAL, "user name is empty, too long or has '/', ':' or a newline");
	int r = getpwnam_r(name, pw, buf, size, &res);
	if (r != 0)
		return error_set(e, -r, "getpwnam_r(%s) failed", name);
	if (!res)
		return error_set(e, -ENOENT, "no such user %s", name);
	if (strcmp(pw->pw_name, name) != 0)
		return error_set(e, -EINVAL, "NSS returned user %s for %s", pw->pw_name, name);
	return 0;
}
