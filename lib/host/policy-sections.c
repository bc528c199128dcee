/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"
#include "policy.h"
#include "subids.h"

/* The keys of [global] and [network NAME]: one table with a section
 * column, the [global] parsers (the [network NAME] ones are in
 * policy-net.c). policy-load.c reads through the table; nothing here
 * calls back into it. */

bool policy_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > POLICY_NAME_MAX)
		return false;
	for (const char *c = n; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.' || (*c == '$' && c[1] == '\0')))
			return false;
	return true;
}

int global_parse_on_error(void *owner, const char *value, struct nsiso_error *e)
{
	struct global_owner *g = owner;
	if (strcmp(value, "deny") != 0 && strcmp(value, "allow") != 0)
		return error_set(e, -EINVAL, "'%.32s' is not deny or allow", value);
	g->p->on_error_allow = strcmp(value, "allow") == 0;
	g->p->on_error_file = g->file;
	return 0;
}

int global_parse_subids(void *owner, const char *value, struct nsiso_error *e)
{
	struct global_owner *g = owner;
	if (strcmp(value, "files") != 0 && strcmp(value, "auto") != 0)
		return error_set(e, -EINVAL, "'%.32s' is not files or auto", value);
	g->p->subids_auto = strcmp(value, "auto") == 0;
	g->p->subids_file = g->file;
	return 0;
}

int global_parse_subids_pool(void *owner, const char *value, struct nsiso_error *e)
{
	struct global_owner *g = owner;
	unsigned long long a = 0, b = 0;
	char extra;
	if (sscanf(value, "%llu-%llu%c", &a, &b, &extra) != 2 || !isdigit((unsigned char)value[0]) || a < 65536 ||
	    b >= (1ull << 31) || b < a + SUBID_BLOCK - 1)
		return error_set(e, -EINVAL,
				 "'%.40s' is not START-END within 65536..2147483647, holding at least one range of %u",
				 value, SUBID_BLOCK);
	g->p->subids_pool_start = (uint32_t)a;
	g->p->subids_pool_end = (uint32_t)b;
	return 0;
}

int global_parse_exempt(void *owner, const char *value, struct nsiso_error *e)
{
	struct global_owner *g = owner;
	struct policy *p = g->p;
	char buf[4096];
	if (copy_list(value, buf, sizeof(buf), e) < 0)
		return -EINVAL;
	p->n_exempt = 0;
	char *save = NULL;
	FOR_EACH_WORD (w, buf, save) {
		bool group = w[0] == '@';
		const char *name = group ? w + 1 : w;
		if (!policy_name_ok(name))
			return error_set(e, -EINVAL, "'%.64s' is not a user name or @group", w);
		if (p->n_exempt >= POLICY_EXEMPT_MAX)
			return error_set(e, -E2BIG, "more than %d entries", POLICY_EXEMPT_MAX);
		p->exempt[p->n_exempt].group = group;
		strcpy(p->exempt[p->n_exempt].name, name);
		p->n_exempt++;
	}
	p->exempt_file = g->file;
	return 0;
}

/* on_create, on_destroy: an absolute path without ., .., // or blanks
 * (whose owner and mode the supervisor checks when it runs it, and nsiso
 * check at once), or "none". */
static int parse_hook(struct global_owner *g, char *dst, int *file, const char *value, struct nsiso_error *e)
{
	if (strcmp(value, "none") == 0) {
		dst[0] = '\0';
		*file = g->file;
		return 0;
	}
	size_t len = strlen(value);
	bool ok = value[0] == '/' && len < POLICY_PATH_MAX && !strstr(value, "//") && !strstr(value, "/./") &&
		  !strstr(value, "/../") && strcmp(value + len - 2, "/.") != 0 && strcmp(value + len - 3, "/..") != 0;
	for (const char *c = value; ok && *c; c++)
		ok = (unsigned char)*c > ' ' && *c != 0x7f;
	if (!ok)
		return error_set(e, -EINVAL, "'%.64s' is not none or an absolute path without ., .., // or blanks",
				 value);
	memcpy(dst, value, len + 1);
	*file = g->file;
	return 0;
}

int global_parse_on_create(void *owner, const char *value, struct nsiso_error *e)
{
	struct global_owner *g = owner;
	return parse_hook(g, g->p->on_create, &g->p->on_create_file, value, e);
}

int global_parse_on_destroy(void *owner, const char *value, struct nsiso_error *e)
{
	struct global_owner *g = owner;
	return parse_hook(g, g->p->on_destroy, &g->p->on_destroy_file, value, e);
}

const struct section_key section_keys[] = {
	{ SECTION_GLOBAL, "on_error", global_parse_on_error },
	{ SECTION_GLOBAL, "exempt", global_parse_exempt },
	{ SECTION_GLOBAL, "subids", global_parse_subids },
	{ SECTION_GLOBAL, "subids_pool", global_parse_subids_pool },
	{ SECTION_GLOBAL, "on_create", global_parse_on_create },
	{ SECTION_GLOBAL, "on_destroy", global_parse_on_destroy },
	{ SECTION_NETWORK, "bridge", net_parse_bridge },
	{ SECTION_NETWORK, "subnet", net_parse_subnet },
	{ SECTION_NETWORK, "nat", net_parse_nat },
	{ SECTION_NETWORK, "host_access", net_parse_host_access },
	{ SECTION_NETWORK, "isolate", net_parse_isolate },
	{ SECTION_NETWORK, "dns", net_parse_dns },
	{ SECTION_NETWORK, "private_ranges", net_parse_private_ranges },
	{ SECTION_NETWORK, "allow", net_parse_allow },
};
const size_t n_section_keys = sizeof(section_keys) / sizeof(section_keys[0]);

const struct section_key *section_key_find(enum key_section section, const char *name)
{
	for (size_t i = 0; i < n_section_keys; i++)
		if (section_keys[i].section == section && strcmp(section_keys[i].name, name) == 0)
			return &section_keys[i];
	return NULL;
}

const char *section_known_keys(enum key_section section)
{
	static char text[2][256];
	char *t = text[section == SECTION_NETWORK];
	if (!t[0]) {
		size_t used = 0;
		for (size_t i = 0; i < n_section_keys; i++)
			if (section_keys[i].section == section)
				used += (size_t)snprintf(t + used, sizeof(text[0]) - used, "%s%s", used ? " " : "",
							 section_keys[i].name);
	}
	return t;
}
