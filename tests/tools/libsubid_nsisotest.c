/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A libsubid NSS provider for the tests ("subid: nsisotest" in
 * /etc/nsswitch.conf; libsubid dlopen()s libsubid_nsisotest.so). Its ranges
 * are the lines "OWNER START COUNT" of /run/nsiso-test-subid.conf, for
 * uids and gids alike: what a directory (SSSD, FreeIPA) would publish. */
#define _GNU_SOURCE
#include <pwd.h>
#include <shadow/subid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RANGES "/run/nsiso-test-subid.conf"

/* The plugin interface libsubid looks up with dlsym(). */
enum subid_status shadow_subid_has_range(const char *owner, unsigned long start, unsigned long count, enum subid_type t,
					 bool *result);
enum subid_status shadow_subid_list_owner_ranges(const char *owner, enum subid_type t, struct subid_range **ranges,
						 int *count);
enum subid_status shadow_subid_find_subid_owners(unsigned long id, enum subid_type t, uid_t **uids, int *count);
void shadow_subid_free(void *p);

static int read_ranges(const char *owner, struct subid_range *out, char (*names)[256], int max)
{
	FILE *f = fopen(RANGES, "re");
	int n = 0;
	char name[256];
	unsigned long start, count;
	if (!f)
		return -1;
	while (n < max && fscanf(f, "%255s %lu %lu", name, &start, &count) == 3)
		if (!owner || strcmp(name, owner) == 0) {
			out[n].start = start;
			out[n].count = count;
			if (names)
				strcpy(names[n], name);
			n++;
		}
	fclose(f);
	return n;
}

enum subid_status shadow_subid_has_range(const char *owner, unsigned long start, unsigned long count, enum subid_type t,
					 bool *result)
{
	struct subid_range r[64];
	int n = read_ranges(owner, r, NULL, 64);
	(void)t;
	if (n < 0)
		return SUBID_STATUS_ERROR;
	*result = false;
	for (int i = 0; i < n; i++)
		if (start >= r[i].start && start + count <= r[i].start + r[i].count)
			*result = true;
	return SUBID_STATUS_SUCCESS;
}

enum subid_status shadow_subid_list_owner_ranges(const char *owner, enum subid_type t, struct subid_range **ranges,
						 int *count)
{
	struct subid_range r[64];
	int n = read_ranges(owner, r, NULL, 64);
	(void)t;
	if (n < 0)
		return SUBID_STATUS_ERROR;
	*ranges = NULL;
	*count = n;
	if (n == 0)
		return SUBID_STATUS_SUCCESS;
	*ranges = malloc(sizeof(r[0]) * (size_t)n);
	if (!*ranges)
		return SUBID_STATUS_ERROR;
	memcpy(*ranges, r, sizeof(r[0]) * (size_t)n);
	return SUBID_STATUS_SUCCESS;
}

enum subid_status shadow_subid_find_subid_owners(unsigned long id, enum subid_type t, uid_t **uids, int *count)
{
	struct subid_range r[64];
	static char names[64][256];
	int n = read_ranges(NULL, r, names, 64);
	(void)t;
	if (n < 0)
		return SUBID_STATUS_ERROR;
	*uids = malloc(sizeof(uid_t) * 64);
	if (!*uids)
		return SUBID_STATUS_ERROR;
	*count = 0;
	for (int i = 0; i < n; i++) {
		struct passwd *pw = getpwnam(names[i]);
		if (pw && id >= r[i].start && id < r[i].start + r[i].count)
			(*uids)[(*count)++] = pw->pw_uid;
	}
	return SUBID_STATUS_SUCCESS;
}

void shadow_subid_free(void *p)
{
	free(p);
}
