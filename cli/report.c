/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What nsiso's commands print that more than one of them needs: JSON
 * strings, and where a user's subordinate ids come from. Called by nsiso.c
 * and containers.c, calls neither (no cycle between the two). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shadow/subid.h>

#include "cli.h"
#include "idmap.h"
#include "nstable.h"
#include "policy.h"
#include "subids.h"

void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else if (c < 0x80)
			putchar(c);
		else {
			/* Valid UTF-8 as it is; C1 and malformed bytes as U+FFFD:
			 * nothing in the output a terminal acts on (ttysafe.c). */
			size_t n = utf8_printable((const unsigned char *)s, strlen(s));
			if (n) {
				fwrite(s, 1, n, stdout);
				s += n - 1;
			} else
				fputs("\\ufffd", stdout);
		}
	}
	putchar('"');
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

bool subids_where(const char *user, uint32_t uid, const struct policy_settings *s, char *out, size_t size)
{
	bool userns = s->ns_mask & NS_BIT(NS_USER);
	uint32_t us = 0, uc = 0, gs = 0, gc = 0, start;
	int ru = 0, rg = 0;
	char provider[64];
	if (subids_nss_provider(provider, sizeof(provider))) {
		struct subid_range *r = NULL;
		FILE *devnull = fopen("/dev/null", "we");
		(void)subid_init("nsiso", devnull);
		int nu = subid_get_uid_ranges(user, &r);
		if (nu > 0)
			us = (uint32_t)r[0].start, uc = (uint32_t)r[0].count;
		free(r);
		r = NULL;
		int ng = subid_get_gid_ranges(user, &r);
		if (ng > 0)
			gs = (uint32_t)r[0].start, gc = (uint32_t)r[0].count;
		free(r);
		if (nu < 0 || ng < 0) {
			snprintf(out, size, "libsubid (provider %s) could not answer", provider);
			return userns;
		}
		if (uc > 0 && gc > 0) {
			snprintf(out, size, "%u+%u (uids), %u+%u (gids) from libsubid (provider %s)", us, uc, gs, gc,
				 provider);
			return false;
		}
	} else {
		char *text = slurp("/etc/subuid");
		if (text)
			ru = subid_find(text, user, uid, &us, &uc);
		text = slurp("/etc/subgid");
		if (text)
			rg = subid_find(text, user, uid, &gs, &gc);
		if (ru == -EEXIST || rg == -EEXIST) {
			snprintf(out, size, "a range in /etc/sub%cid overlaps another entry",
				 ru == -EEXIST ? 'u' : 'g');
			return userns;
		}
		if (ru < 0 || rg < 0) {
			snprintf(out, size, "a malformed entry in /etc/sub%cid", ru < 0 ? 'u' : 'g');
			return userns;
		}
		if (uc > 0 && gc > 0) {
			snprintf(out, size, "%u+%u (uids), %u+%u (gids) from /etc/subuid and /etc/subgid", us, uc, gs,
				 gc);
			return false;
		}
		if (uc > 0 || gc > 0) {
			snprintf(out, size, "only in /etc/sub%cid: container root cannot be mapped",
				 uc > 0 ? 'u' : 'g');
			return userns;
		}
	}
	int r = subids_lookup(user, uid, &start);
	if (r > 0) {
		snprintf(out, size, "%u+%u allocated (%s/subids)", start, SUBID_BLOCK, NSISO_STATEDIR);
		return false;
	}
	if (s->subids_auto) {
		snprintf(out, size, "to be allocated at the first login (pool %u-%u)", s->subids_pool_start,
			 s->subids_pool_end);
		return false;
	}
	snprintf(out, size, "none (not in /etc/subuid or /etc/subgid, and subids = files)");
	return userns;
}
