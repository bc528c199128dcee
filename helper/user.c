/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include <shadow/subid.h>
#include <stdlib.h>
#include <strings.h>

#include "helper.h"
#include "who.h"
#include "subids.h"
#include "util.h"

#define TTY_GID 5 /* sshd chowns the pty to group tty: it must be mapped */

int user_resolve(const char *name, struct user_info *u, struct nsiso_error *f)
{
	struct passwd pw;
	char buf[16384];

	memset(u, 0, sizeof(*u));
	int r = who_passwd(name, &pw, buf, sizeof(buf), f);
	if (r < 0)
		return error_in(f, STEP_USER, r);
	memcpy(u->name, name, strlen(name) + 1);
	if (strlen(pw.pw_dir) >= sizeof(u->home))
		return error_at(f, STEP_USER, -ENAMETOOLONG, "home of %s is too long a path", name);
	strcpy(u->home, pw.pw_dir);
	u->uid = pw.pw_uid;
	u->gid = pw.pw_gid;

	int n = USER_GROUPS_MAX;
	gid_t *groups = u->nss_groups;
	if (getgrouplist(name, pw.pw_gid, groups, &n) < 0)
		return error_at(f, STEP_USER, -E2BIG, "user %s is in more than %d groups", name, USER_GROUPS_MAX);
	u->n_nss_groups = n;
	u->groups[u->n_groups++] = pw.pw_gid;
	for (int i = 0; i < n; i++) {
		bool dup = false;
		/* Group 0 stays unmapped whatever the user's memberships. */
		if (groups[i] == 0)
			continue;
		for (size_t j = 0; j < u->n_groups; j++)
			dup |= u->groups[j] == groups[i];
		if (!dup)
			u->groups[u->n_groups++] = groups[i];
	}
	return 0;
}

static int lookup_subids(const char *path, const char *name, uint32_t id, uint32_t *start, uint32_t *count,
			 struct nsiso_error *f)
{
	_cleanup_free_ char *text = NULL;
	*start = *count = 0;
	int r = subid_file_read(path, &text, f);
	if (r < 0)
		return error_in(f, STEP_IDMAP, r);
	if (!text)
		return 0;
	r = subid_find(text, name, id, start, count);
	if (r == -EEXIST)
		return error_at(f, STEP_IDMAP, r, "%s: the range of %s overlaps another entry", path, name);
	if (r < 0)
		return error_at(f, STEP_IDMAP, r, "%s: malformed entry for %s", path, name);
	return 0;
}

/* libsubid (shadow's library, which asks the provider nsswitch.conf names)
 * is loaded with dlopen(), only when nsswitch.conf names a provider: linked
 * in, its dependency chain (libaudit, libselinux, libsemanage, libpam...)
 * was mapped and relocated at every cold login and kept by every
 * supervisor, for a feature most hosts do not use (docs/PERFORMANCE.md).
 * The helper runs with an empty environment, so the loader searches only
 * the system's library directories. */
static struct {
	bool (*init)(const char *progname, FILE *logfd);
	int (*uid_ranges)(const char *owner, struct subid_range **ranges);
	int (*gid_ranges)(const char *owner, struct subid_range **ranges);
	int (*uid_owners)(uid_t uid, uid_t **owner);
	int (*gid_owners)(gid_t gid, uid_t **owner);
} libsubid;

static int libsubid_load(struct nsiso_error *f)
{
	if (libsubid.init)
		return 0;
	void *h = dlopen(LIBSUBID_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return error_at(f, STEP_IDMAP, -ELIBACC,
				"nsswitch.conf names a subid provider, but %s cannot be loaded", LIBSUBID_SONAME);
	const struct {
		const char *name;
		void **slot;
	} syms[] = {
		{ "subid_init", (void **)&libsubid.init },
		{ "subid_get_uid_ranges", (void **)&libsubid.uid_ranges },
		{ "subid_get_gid_ranges", (void **)&libsubid.gid_ranges },
		{ "subid_get_uid_owners", (void **)&libsubid.uid_owners },
		{ "subid_get_gid_owners", (void **)&libsubid.gid_owners },
	};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			memset(&libsubid, 0, sizeof(libsubid));
			return error_at(f, STEP_IDMAP, -ELIBBAD, "%s has no %s", LIBSUBID_SONAME, syms[i].name);
		}
	}
	return 0;
}

/* A user's first range from libsubid: 0 with *start and *count (0, 0 for
 * none), or a failure: a provider that errs refuses, never "no range". */
static int libsubid_range(const char *name, bool gids, uint32_t *start, uint32_t *count, struct nsiso_error *f)
{
	struct subid_range *r = NULL;
	*start = *count = 0;
	int n = gids ? libsubid.gid_ranges(name, &r) : libsubid.uid_ranges(name, &r);
	if (n < 0)
		return error_at(f, STEP_IDMAP, -EIO, "libsubid could not list the sub%cid ranges of %s",
				gids ? 'g' : 'u', name);
	if (n > 0 && r[0].start <= UINT32_MAX && r[0].count <= UINT32_MAX - r[0].start) {
		*start = (uint32_t)r[0].start;
		*count = (uint32_t)r[0].count;
	}
	free(r);
	return 0;
}

/* A block that a libsubid provider hands out already (its first or last
 * id has an owner there): not for nsiso's allocation. */
static bool taken_in_libsubid(uint32_t base)
{
	uint32_t ids[2] = { base, base + SUBID_BLOCK - 1 };
	for (int i = 0; i < 2; i++) {
		uid_t *owners = NULL;
		int n = libsubid.uid_owners(ids[i], &owners);
		free(owners);
		if (n != 0)
			return true; /* an owner, or an error: do not take it */
		uid_t *gowners = NULL;
		n = libsubid.gid_owners(ids[i], &gowners);
		free(gowners);
		if (n != 0)
			return true;
	}
	return false;
}

int user_build_idmaps(struct user_info *u, const struct policy_settings *set, struct nsiso_error *f)
{
	enum userns_mode mode = set->userns;
	char provider[64];
	uint32_t us, uc, gs, gc;
	uint32_t keep_gids[USER_GROUPS_MAX + 1];
	size_t n = 0;
	int r;

	if (subids_nss_provider(provider, sizeof(provider))) {
		r = libsubid_load(f);
		if (r < 0)
			return r;
		/* libsubid's log goes nowhere: failures are ours to report. */
		FILE *devnull = fopen("/dev/null", "we");
		(void)libsubid.init("nsiso-helper", devnull);
		r = libsubid_range(u->name, false, &us, &uc, f);
		if (r == 0)
			r = libsubid_range(u->name, true, &gs, &gc, f);
		if (r < 0)
			return r;
		u->subids_source = "libsubid";
		subids_taken_elsewhere = taken_in_libsubid;
	} else {
		r = lookup_subids("/etc/subuid", u->name, u->uid, &us, &uc, f);
		if (r < 0)
			return r;
		r = lookup_subids("/etc/subgid", u->name, u->uid, &gs, &gc, f);
		if (r < 0)
			return r;
		u->subids_source = "files";
	}
	/* Directory users have no line in the files: with subids = auto they
	 * get a range of their own from nsiso's registry (lib/host/subids.c). */
	if (uc == 0 && gc == 0 && set->subids_auto) {
		struct nsiso_error why = { 0 };
		uint32_t start;
		r = subids_allocate(u->name, u->uid, set->subids_pool_start, set->subids_pool_end, &start, &why);
		if (r < 0)
			return error_at(f, STEP_IDMAP, r, "allocating subordinate ids for %s: %s", u->name,
					error_text(&why));
		us = gs = start;
		uc = gc = SUBID_BLOCK;
		u->subids_source = "allocated";
	}

	/* keep-id: the user's ids and container root only. */
	if (mode == USERNS_KEEP_ID) {
		uc = uc > 0 ? 1 : 0;
		gc = gc > 0 ? 1 : 0;
	}
	u->sub_uid[0] = us;
	u->sub_uid[1] = uc;
	u->sub_gid[0] = gs;
	u->sub_gid[1] = gc;
	uint32_t keep_uid = u->uid;
	r = idmap_build(&u->uid_map, &keep_uid, 1, us, uc);
	if (r < 0)
		return error_at(f, STEP_IDMAP, r, "uid map for %s (subuid %u:%u) is invalid", u->name, us, uc);

	bool have_tty = false;
	for (size_t i = 0; i < u->n_groups; i++) {
		keep_gids[n++] = u->groups[i];
		have_tty |= u->groups[i] == TTY_GID;
	}
	if (!have_tty)
		keep_gids[n++] = TTY_GID;
	r = idmap_build(&u->gid_map, keep_gids, n, gs, gc);
	if (r < 0)
		return error_at(f, STEP_IDMAP, r, "gid map for %s (subgid %u:%u) is invalid", u->name, gs, gc);

	u->root_mapped =
	    idmap_to_inside(&u->uid_map, us) == 0 && uc > 0 && gc > 0 && idmap_to_inside(&u->gid_map, gs) == 0;
	/* Container root's host uid owns the container's user namespace (see
	 * namespaces.c): it must be nobody's. A range that starts at a real
	 * user's uid would give that user the container and its files. */
	if (u->root_mapped) {
		struct passwd pw, *res = NULL;
		char buf[4096];
		if (getpwuid_r(us, &pw, buf, sizeof(buf), &res) == 0 && res)
			return error_at(f, STEP_IDMAP, -EEXIST,
					"the subordinate range of %s starts at uid %u, which is user %s's", u->name, us,
					res->pw_name);
	}
	return 0;
}
