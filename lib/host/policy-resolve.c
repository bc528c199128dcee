/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <inttypes.h>
#include <iniparser/iniparser.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "nstable.h"
#include "policy-internal.h"
#include "policy.h"
#include "subids.h"
#include "util.h"

/* One user's settings from a loaded policy, and how values print. */

/* ---- resolving ------------------------------------------------------- */

static void source_of(const struct policy *p, const struct policy_rule *r, char *buf, size_t size)
{
	const char *file = p->files[r->file];
	switch (r->kind) {
	case RULE_DEFAULT: snprintf(buf, size, "%s:%d:[default]", file, r->line); break;
	case RULE_GROUP: snprintf(buf, size, "%s:%d:[group %s]", file, r->line, r->name); break;
	case RULE_USER: snprintf(buf, size, "%s:%d:[user %s]", file, r->line, r->name); break;
	}
}

/* The templates the rules applied so far chose (the hostname, the mount lists). */
struct chosen {
	const char *hostname;
	const char *mounts[MOUNT_KINDS];
};

static void apply(const struct policy *p, const struct policy_rule *r, struct policy_settings *s, struct chosen *c)
{
	const struct policy_values *v = &r->values;
	for (int i = 0; i < POLICY_RLIMITS; i++)
		if (v->rlimit_set & (1u << i)) {
			s->rlimit[i] = v->rlimit[i];
			s->rlimit_set |= 1u << i;
			source_of(p, r, s->rlimit_source[i], sizeof(s->rlimit_source[i]));
		}
	for (int k = 0; k < KEY_COUNT; k++) {
		if (!(v->set & (1u << k)))
			continue;
		const struct key_def *d = &policy_keys[k];
		if (d->size)
			memcpy((char *)s + d->s_off, (const char *)v + d->v_off, d->size);
		else if (k == KEY_HOSTNAME)
			c->hostname = v->hostname;
		else
			c->mounts[k - KEY_BIND] = v->mounts[k - KEY_BIND];
		source_of(p, r, s->source[k], sizeof(s->source[k]));
	}
}

void policy_resolve_global(const struct policy *p, const struct policy_who *who, struct policy_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->ns_mask = NS_ALL;
	cg_limits_none(&s->cg);
	s->cg.pids_max = POLICY_DEFAULT_PIDS_MAX;
	s->cg.memory_max = host_memory_share(POLICY_DEFAULT_MEMORY_PCT);
	s->nested_userns = NO;
	strcpy(s->tmp_size, POLICY_DEFAULT_TMPFS_SIZE);
	strcpy(s->shm_size, POLICY_DEFAULT_TMPFS_SIZE);
	strcpy(s->network, "none");
	s->linger = POLICY_DEFAULT_LINGER_S;
	s->timeout_warning = POLICY_DEFAULT_TIMEOUT_WARNING_S;
	for (int k = 0; k < KEY_COUNT; k++)
		strcpy(s->source[k], "built-in");
	strcpy(s->on_error_source, "built-in");
	s->on_error_allow = p->on_error_allow;
	s->subids_auto = p->subids_auto;
	s->subids_pool_start = p->subids_pool_start;
	s->subids_pool_end = p->subids_pool_end;
	if (p->subids_file >= 0)
		snprintf(s->subids_source, sizeof(s->subids_source), "%s:[global]", p->files[p->subids_file]);
	else
		strcpy(s->subids_source, "built-in");
	if (p->on_error_file >= 0)
		snprintf(s->on_error_source, sizeof(s->on_error_source), "%s:[global]", p->files[p->on_error_file]);
	memcpy(s->on_create, p->on_create, sizeof(s->on_create));
	memcpy(s->on_destroy, p->on_destroy, sizeof(s->on_destroy));
	strcpy(s->on_create_source, "built-in");
	strcpy(s->on_destroy_source, "built-in");
	if (p->on_create_file >= 0)
		snprintf(s->on_create_source, sizeof(s->on_create_source), "%s:[global]", p->files[p->on_create_file]);
	if (p->on_destroy_file >= 0)
		snprintf(s->on_destroy_source, sizeof(s->on_destroy_source), "%s:[global]",
			 p->files[p->on_destroy_file]);

	/* uid 0 cannot be isolated by design (keep-id would map it). */
	if (who->uid == 0) {
		s->exempt = true;
		strcpy(s->exempt_source, "uid 0 is never put in a container");
	}
	for (size_t i = 0; i < p->n_exempt && !s->exempt; i++) {
		const struct policy_exempt *x = &p->exempt[i];
		bool hit =
		    x->group ? (who->in_group && who->in_group(x->name, who->ctx)) : strcmp(x->name, who->user) == 0;
		if (hit) {
			s->exempt = true;
			snprintf(s->exempt_source, sizeof(s->exempt_source), "%s:[global] exempt %s%s",
				 p->exempt_file >= 0 ? p->files[p->exempt_file] : "?", x->group ? "@" : "", x->name);
		}
	}
}

/* One path of an entry, expanded and checked again (a user or group name
 * could make a path that the template alone does not show). */
static int expand_path(const char *tmpl, const struct policy_who *who, char *out, size_t size)
{
	return policy_expand_template(tmpl, who, out, size) < 0 || !view_path_ok(out, false) ? -EINVAL : 0;
}

/* (a target checked again after expansion: the template alone decided) */
static bool target_ok(enum mount_kind kind, const char *dst)
{
	return kind == MOUNT_HIDE ? !hide_target_refused(dst) : !view_target_refused(dst);
}

static int expand_mounts(const struct chosen *c, const struct policy_who *who, struct policy_settings *s,
			 struct nsiso_error *e)
{
	s->n_mounts = 0;
	for (int kind = 0; kind < MOUNT_KINDS; kind++) {
		if (!c->mounts[kind])
			continue;
		char buf[POLICY_MOUNT_LIST_MAX], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", c->mounts[kind]);
		FOR_EACH_WORD (w, buf, save) {
			if (s->n_mounts == POLICY_MOUNTS_MAX)
				return error_at(e, STEP_POLICY, -E2BIG,
						"more than %d entries in bind, bind_ro, hide and tmpfs for user %.64s",
						POLICY_MOUNTS_MAX, who->user);
			struct policy_mount *m = &s->mounts[s->n_mounts];
			memset(m, 0, sizeof(*m));
			m->kind = (enum mount_kind)kind;
			char *second = strchr(w, ':');
			if (second)
				*second++ = '\0';
			const char *dst = kind <= MOUNT_BIND_RO && second ? second : w;
			int r = expand_path(dst, who, m->dst, sizeof(m->dst));
			if (r == 0 && !target_ok(m->kind, m->dst))
				r = -EPERM;
			if (r == 0 && kind <= MOUNT_BIND_RO)
				r = expand_path(w, who, m->src, sizeof(m->src));
			if (r == 0 && kind <= MOUNT_BIND_RO && view_source_refused(m->src))
				r = -EPERM;
			if (r < 0)
				return error_at(e, STEP_POLICY, -EINVAL,
						"%s entry '%.64s' (%s) for user %.64s is not a usable path",
						policy_keys[KEY_BIND + kind].name, w, s->source[KEY_BIND + kind],
						who->user);
			snprintf(m->size, sizeof(m->size), "%s", kind == MOUNT_TMPFS && second ? second : s->tmp_size);
			s->n_mounts++;
		}
	}
	return 0;
}

int policy_check_mount_paths(struct policy *p, struct nsiso_error *out)
{
	struct errbuf e = { .p = p, .out = out };
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		for (int kind = 0; kind < MOUNT_KINDS; kind++) {
			if (!(r->values.set & (1u << (KEY_BIND + kind))))
				continue;
			const char *key = policy_keys[KEY_BIND + kind].name;
			char buf[POLICY_MOUNT_LIST_MAX], *save = NULL;
			snprintf(buf, sizeof(buf), "%s", r->values.mounts[kind]);
			FOR_EACH_WORD (w, buf, save) {
				char *second = strchr(w, ':');
				if (second)
					*second++ = '\0';
				const char *target = kind <= MOUNT_BIND_RO && second ? second : w;
				struct stat st;
				/* (lstat: a symlink there refuses every login too) */
				if (kind <= MOUNT_BIND_RO && !strchr(w, '%') && lstat(w, &st) < 0)
					add_error(&e, -ENOENT, "%s:%d: %s source %s: %s", p->files[r->file], r->line,
						  key, w, strerror(errno));
				if (!strchr(target, '%') && lstat(target, &st) < 0)
					add_error(&e, -ENOENT, "%s:%d: %s target %s: %s", p->files[r->file], r->line,
						  key, target, strerror(errno));
				else if (!strchr(target, '%') && S_ISLNK(st.st_mode))
					add_error(&e, -ELOOP, "%s:%d: %s target %s is a symlink (never followed)",
						  p->files[r->file], r->line, key, target);
			}
		}
	}
	return e.first;
}

int policy_resolve(const struct policy *p, const struct policy_who *who, struct policy_settings *s,
		   struct nsiso_error *e)
{
	struct chosen c = { .hostname = "%u" };
	policy_resolve_global(p, who, s);
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_DEFAULT)
			apply(p, &p->rules[i], s, &c);
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_GROUP && who->in_group && who->in_group(p->rules[i].name, who->ctx))
			apply(p, &p->rules[i], s, &c);
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_USER && strcmp(p->rules[i].name, who->user) == 0)
			apply(p, &p->rules[i], s, &c);
	const char *tmpl = c.hostname;

	/* host: no network namespace at all; a named network needs one. */
	if (strcmp(s->network, "host") == 0) {
		s->ns_mask &= ~NS_BIT(NS_NET);
	} else if (strcmp(s->network, "none") != 0) {
		const struct policy_network *n = policy_find_network(p, s->network);
		if (!n)
			return error_at(e, STEP_POLICY, -EINVAL, "network %.40s (%s) is not defined", s->network,
					s->source[KEY_NETWORK]);
		if (!(s->ns_mask & NS_BIT(NS_NET)))
			return error_at(e, STEP_POLICY, -EINVAL,
					"network %.40s (%s) needs the net namespace, which namespaces (%s) leaves out",
					s->network, s->source[KEY_NETWORK], s->source[KEY_NAMESPACES]);
		s->net = *n;
	}
	if (policy_expand_hostname(tmpl, who, s->hostname, sizeof(s->hostname)) < 0)
		return error_at(e, STEP_POLICY, -EINVAL,
				"hostname '%.64s' (%s) for user %.64s is not a valid hostname of at most %d characters",
				tmpl, s->source[KEY_HOSTNAME], who->user, POLICY_HOSTNAME_MAX);
	return expand_mounts(&c, who, s, e);
}

const char *policy_value_text(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	if (k < KEY_COUNT)
		policy_keys[k].text(s, k, buf, size);
	else
		snprintf(buf, size, "?");
	return buf;
}
