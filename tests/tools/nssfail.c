/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD for nsiso's own commands in the tests: getgrnam_r() of the
 * group named by NSSFAIL_GROUP fails with EIO, as a directory service that
 * does not answer would make it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>

int getgrnam_r(const char *name, struct group *grp, char *buf, size_t len, struct group **result)
{
	const char *bad = getenv("NSSFAIL_GROUP");
	if (bad && strcmp(name, bad) == 0) {
		*result = NULL;
		return EIO;
	}
	int (*real)(const char *, struct group *, char *, size_t, struct group **) = dlsym(RTLD_NEXT, "getgrnam_r");
	return real ? real(name, grp, buf, len, result) : ENOSYS;
}
