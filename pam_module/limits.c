/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <security/pam_modutil.h>

#include "limits.h"
#include "util.h"

/* A pam_limits after pam_nsiso in a stack (Debian's sshd and cron include
 * common-session before their pam_limits line) runs inside the container,
 * where raising a hard limit needs a CAP_SYS_RESOURCE it does not have, and
 * then refuses the session. So, while still host root, raise each hard
 * limit to the highest value that limits.conf and limits.d give this user
 * (lines whose domain certainly matches: '*', the user's name, a group of
 * theirs, a uid or gid range). pam_limits later sets every such item for
 * this user itself, to a value no higher: lowering needs no privilege.
 * Reading too much here is harmless (pam_limits lowers it); reading too
 * little makes pam_limits fail as before (fail closed). nice, rtprio and
 * the other scheduling items are left alone: their hard limits grant
 * privileges on the host's CPUs. Soft limits are not touched. */

#define LIMITS_CONF "/etc/security/limits.conf"
#define LIMITS_DIR "/etc/security/limits.d"
#define FILES_MAX 64

static const struct {
	const char *item;
	int resource;
	rlim_t unit; /* pam_limits' unit: KiB for sizes, minutes for cpu */
} items[] = {
	{ "core", RLIMIT_CORE, 1024 },	     { "data", RLIMIT_DATA, 1024 },  { "fsize", RLIMIT_FSIZE, 1024 },
	{ "memlock", RLIMIT_MEMLOCK, 1024 }, { "nofile", RLIMIT_NOFILE, 1 }, { "rss", RLIMIT_RSS, 1024 },
	{ "stack", RLIMIT_STACK, 1024 },     { "cpu", RLIMIT_CPU, 60 },	     { "nproc", RLIMIT_NPROC, 1 },
	{ "as", RLIMIT_AS, 1024 },	     { "locks", RLIMIT_LOCKS, 1 },   { "sigpending", RLIMIT_SIGPENDING, 1 },
	{ "msgqueue", RLIMIT_MSGQUEUE, 1 },
};
#define N_ITEMS (sizeof(items) / sizeof(items[0]))

static bool in_gid(gid_t gid, const gid_t *groups, int n)
{
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* "lo:hi", "lo:", ":hi" or "n" as an id range; false if not numeric. */
static bool id_range(const char *s, unsigned long id)
{
	char *end;
	unsigned long lo = 0, hi = ULONG_MAX;
	if (*s != ':') {
		if (!isdigit((unsigned char)*s))
			return false;
		lo = strtoul(s, &end, 10);
		if (*end == '\0')
			return id == lo;
		if (*end != ':')
			return false;
		s = end;
	}
	s++;
	if (*s) {
		if (!isdigit((unsigned char)*s))
			return false;
		hi = strtoul(s, &end, 10);
		if (*end)
			return false;
	}
	return id >= lo && id <= hi;
}

/* The user's groups, looked up at the first "@group" line that could
 * matter: most hosts have none, and a group lookup through NSS in a fresh
 * session process (loading libnss_systemd, probing userdb) was the largest
 * part of a warm login's time in the module (docs/PERFORMANCE.md). */
struct user_groups {
	bool read;
	int n;
	gid_t gid[256];
};

static bool domain_matches(pam_handle_t *pamh, const char *d, const struct passwd *pw, struct user_groups *ug)
{
	if (strcmp(d, "*") == 0 || strcmp(d, pw->pw_name) == 0)
		return true;
	if (d[0] == '@') {
		if (strchr(d, ':') || isdigit((unsigned char)d[1]))
			return false; /* gid ranges: not read here (pam_limits then fails closed) */
		if (!ug->read) {
			ug->read = true;
			ug->n = (int)ARRAY_SIZE(ug->gid);
			if (getgrouplist(pw->pw_name, pw->pw_gid, ug->gid, &ug->n) < 0)
				ug->n = 0;
		}
		const struct group *g = pam_modutil_getgrnam(pamh, d + 1);
		return g && in_gid(g->gr_gid, ug->gid, ug->n);
	}
	return strchr(d, ':') && id_range(d, pw->pw_uid);
}

static void read_file(pam_handle_t *pamh, const char *path, const struct passwd *pw, struct user_groups *ug,
		      rlim_t *want, bool *seen)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char domain[256], type[16], item[32], value[64];
		if (sscanf(line, "%255s %15s %31s %63s", domain, type, item, value) != 4)
			continue;
		if (strcmp(type, "hard") != 0 && strcmp(type, "-") != 0)
			continue;
		size_t k = 0;
		while (k < N_ITEMS && strcmp(items[k].item, item) != 0)
			k++;
		if (k == N_ITEMS || !domain_matches(pamh, domain, pw, ug))
			continue;
		rlim_t v;
		if (strcmp(value, "unlimited") == 0 || strcmp(value, "infinity") == 0 || strcmp(value, "-1") == 0) {
			v = RLIM_INFINITY;
		} else {
			char *end;
			errno = 0;
			unsigned long long x = strtoull(value, &end, 10);
			if (errno || *end || !isdigit((unsigned char)value[0]))
				continue;
			v = x > RLIM_INFINITY / items[k].unit ? RLIM_INFINITY : (rlim_t)x * items[k].unit;
		}
		if (!seen[k] || v > want[k])
			want[k] = v;
		seen[k] = true;
	}
	fclose(f);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void limits_preraise(pam_handle_t *pamh, const struct passwd *pw)
{
	rlim_t want[N_ITEMS] = { 0 };
	bool seen[N_ITEMS] = { false };
	struct user_groups ug = { .read = false };
	read_file(pamh, LIMITS_CONF, pw, &ug, want, seen);
	DIR *d = opendir(LIMITS_DIR);
	if (d) {
		char *names[FILES_MAX];
		size_t m = 0;
		struct dirent *e;
		while ((e = readdir(d)) && m < FILES_MAX) {
			size_t len = strlen(e->d_name);
			if (len <= 5 || strcmp(e->d_name + len - 5, ".conf") != 0 || e->d_name[0] == '.')
				continue;
			names[m] = strdup(e->d_name);
			if (names[m])
				m++;
		}
		closedir(d);
		qsort(names, m, sizeof(names[0]), cmp_str);
		for (size_t i = 0; i < m; i++) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", LIMITS_DIR, names[i]);
			read_file(pamh, path, pw, &ug, want, seen);
			free(names[i]);
		}
	}
	for (size_t k = 0; k < N_ITEMS; k++) {
		struct rlimit cur;
		if (!seen[k] || getrlimit(items[k].resource, &cur) < 0 || cur.rlim_max >= want[k])
			continue;
		cur.rlim_max = want[k];
		(void)setrlimit(items[k].resource, &cur); /* EPERM without CAP_SYS_RESOURCE: pam_limits will say */
	}
}
