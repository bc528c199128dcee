/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"
#include "policy.h"

/* Templates of the policy (%u %U %g %h), shared by the value parsers (a
 * hostname template checked with stand-ins) and the resolve (the real
 * user): a leaf, calling nothing of the other policy files. */

/* %u %U %g %h of a template into out; -EINVAL for an unknown % or no room. */
int policy_expand_template(const char *tmpl, const struct policy_who *who, char *out, size_t out_size)
{
	size_t n = 0;
	char uid[16];
	if (out_size == 0)
		return -EINVAL;
	snprintf(uid, sizeof(uid), "%" PRIu32, who->uid);
	for (const char *c = tmpl; *c; c++) {
		const char *piece;
		char one[2] = { *c, '\0' };
		if (*c == '%') {
			c++;
			switch (*c) {
			case 'u': piece = who->user; break;
			case 'U': piece = uid; break;
			case 'g': piece = who->group ? who->group : ""; break;
			case 'h': piece = who->host ? who->host : ""; break;
			default: return -EINVAL;
			}
		} else {
			piece = one;
		}
		size_t len = strlen(piece);
		if (n + len >= out_size)
			return -EINVAL;
		memcpy(out + n, piece, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

int policy_expand_hostname(const char *tmpl, const struct policy_who *who, char *out, size_t out_size)
{
	if (policy_expand_template(tmpl, who, out, out_size) < 0)
		return -EINVAL;
	size_t n = strlen(out);
	if (n == 0 || n > POLICY_HOSTNAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = out[i];
		if (!(isalnum((unsigned char)ch) || ch == '-' || ch == '.' || ch == '_'))
			return -EINVAL;
	}
	return 0;
}
