/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A directory service for the tests (libnss_nsisotest.so.2): users and
 * groups from /var/lib/nsiso-nsstest/{passwd,group}, in the files' format, but
 * answered whatever the name begins with. glibc's files backend never
 * answers a name beginning with '-' or '+' (NIS compat), an LDAP or SSSD
 * directory does: this stands in for it (docs/THREATS.md 69). */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

/* Not under /run: a container has a /run of its own, and its sessions
 * must resolve these names too (as they reach sssd's pipes in /var/lib). */
#define DIR "/var/lib/nsiso-nsstest/"

enum nss_status _nss_nsisotest_getpwnam_r(const char *, struct passwd *, char *, size_t, int *);
enum nss_status _nss_nsisotest_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
enum nss_status _nss_nsisotest_getgrnam_r(const char *, struct group *, char *, size_t, int *);
enum nss_status _nss_nsisotest_getgrgid_r(gid_t, struct group *, char *, size_t, int *);
enum nss_status _nss_nsisotest_initgroups_dyn(const char *, gid_t, long *, long *, gid_t **, long, int *);

/* by name (name != NULL) or id */
static enum nss_status pw_find(const char *name, uid_t uid, struct passwd *pw, char *buf, size_t len, int *errnop)
{
	FILE *f = fopen(DIR "passwd", "re");
	if (!f)
		return NSS_STATUS_NOTFOUND;
	struct passwd *res;
	enum nss_status st = NSS_STATUS_NOTFOUND;
	int r;
	while ((r = fgetpwent_r(f, pw, buf, len, &res)) == 0)
		if (name ? strcmp(res->pw_name, name) == 0 : res->pw_uid == uid) {
			st = NSS_STATUS_SUCCESS;
			break;
		}
	if (r == ERANGE) {
		*errnop = ERANGE;
		st = NSS_STATUS_TRYAGAIN;
	}
	fclose(f);
	return st;
}

static enum nss_status gr_find(const char *name, gid_t gid, struct group *gr, char *buf, size_t len, int *errnop)
{
	FILE *f = fopen(DIR "group", "re");
	if (!f)
		return NSS_STATUS_NOTFOUND;
	struct group *res;
	enum nss_status st = NSS_STATUS_NOTFOUND;
	int r;
	while ((r = fgetgrent_r(f, gr, buf, len, &res)) == 0)
		if (name ? strcmp(res->gr_name, name) == 0 : res->gr_gid == gid) {
			st = NSS_STATUS_SUCCESS;
			break;
		}
	if (r == ERANGE) {
		*errnop = ERANGE;
		st = NSS_STATUS_TRYAGAIN;
	}
	fclose(f);
	return st;
}

enum nss_status _nss_nsisotest_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *errnop)
{
	return pw_find(name, 0, pw, buf, len, errnop);
}

enum nss_status _nss_nsisotest_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *errnop)
{
	return pw_find(NULL, uid, pw, buf, len, errnop);
}

enum nss_status _nss_nsisotest_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop)
{
	return gr_find(name, 0, gr, buf, len, errnop);
}

enum nss_status _nss_nsisotest_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop)
{
	return gr_find(NULL, gid, gr, buf, len, errnop);
}

/* The groups that list user as a member, appended to *groupsp. */
enum nss_status _nss_nsisotest_initgroups_dyn(const char *user, gid_t main_group, long *start, long *size,
					      gid_t **groupsp, long limit, int *errnop)
{
	(void)limit;
	(void)errnop;
	FILE *f = fopen(DIR "group", "re");
	if (!f)
		return NSS_STATUS_NOTFOUND;
	struct group gr, *res;
	char buf[4096];
	while (fgetgrent_r(f, &gr, buf, sizeof(buf), &res) == 0) {
		if (res->gr_gid == main_group)
			continue;
		for (char **m = res->gr_mem; *m; m++)
			if (strcmp(*m, user) == 0 && *start < *size) {
				(*groupsp)[(*start)++] = res->gr_gid;
				break;
			}
	}
	fclose(f);
	return NSS_STATUS_SUCCESS;
}
