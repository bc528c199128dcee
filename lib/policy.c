/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <iniparser/iniparser.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fsutil.h"
#include "nstable.h"
#include "policy.h"
#include "util.h"

typedef int (*key_parser)(struct policy_values *v, const char *value, char *err, size_t err_size);

static int parse_namespaces(struct policy_values *v, const char *value, char *err, size_t err_size)
{
	char buf[256];
	if (strlen(value) >= sizeof(buf)) {
		snprintf(err, err_size, "value too long");
		return -EINVAL;
	}
	strcpy(buf, value);
	unsigned mask = 0;
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
		int i = ns_index_from_word(w);
		if (i < 0) {
			snprintf(err, err_size, "unknown namespace '%.32s' (known: pid mount ipc uts net user cgroup)", w);
			return -EINVAL;
		}
		if (mask & NS_BIT(i)) {
			snprintf(err, err_size, "namespace '%s' listed twice", w);
			return -EINVAL;
		}
		mask |= NS_BIT(i);
	}
	if (mask == 0) {
		snprintf(err, err_size, "no namespace listed (to leave users out, do not stack the module for them)");
		return -EINVAL;
	}
	/* A PID namespace without its own mount namespace would keep the host's
	 * /proc: ps inside would show the host. */
	if ((mask & NS_BIT(NS_PID)) && !(mask & NS_BIT(NS_MNT))) {
		snprintf(err, err_size, "'pid' needs 'mount' (a fresh /proc is mounted in it)");
		return -EINVAL;
	}
	v->ns_mask = mask;
	return 0;
}

static int parse_hostname(struct policy_values *v, const char *value, char *err, size_t err_size)
{
	char probe[POLICY_HOSTNAME_MAX + 1];
	if (strlen(value) >= sizeof(v->hostname)) {
		snprintf(err, err_size, "template longer than %d characters", POLICY_HOSTNAME_TEMPLATE_MAX - 1);
		return -EINVAL;
	}
	/* Check the template with a short stand-in user name: syntax and
	 * characters now, the real length when a user is resolved. */
	if (policy_expand_hostname(value, "u", probe, sizeof(probe)) < 0) {
		snprintf(err, err_size,
			 "invalid hostname template '%.64s' (letters, digits, '-', '.', '_' and %%u; at most %d characters)",
			 value, POLICY_HOSTNAME_MAX);
		return -EINVAL;
	}
	strcpy(v->hostname, value);
	return 0;
}

static const struct {
	const char *name;
	key_parser parse;
} policy_keys[KEY_COUNT] = {
	[KEY_NAMESPACES] = { "namespaces", parse_namespaces },
	[KEY_HOSTNAME] = { "hostname", parse_hostname },
};

void policy_init_builtin(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->builtin = true;
	p->n_rules = 1;
	p->rules[0].kind = RULE_DEFAULT;
	p->rules[0].values.set = (1u << KEY_NAMESPACES) | (1u << KEY_HOSTNAME);
	p->rules[0].values.ns_mask = NS_ALL;
	strcpy(p->rules[0].values.hostname, "%u");
}

int policy_expand_hostname(const char *tmpl, const char *user, char *out, size_t out_size)
{
	size_t n = 0;
	if (out_size == 0)
		return -EINVAL;
	for (const char *c = tmpl; *c; c++) {
		const char *piece;
		char one[2] = { *c, '\0' };
		if (*c == '%') {
			c++;
			if (*c != 'u')
				return -EINVAL;
			piece = user;
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
	if (n == 0 || n > POLICY_HOSTNAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = out[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			  ch == '-' || ch == '.' || ch == '_';
		if (!ok)
			return -EINVAL;
	}
	return 0;
}

/* iniparser reports syntax errors through a printf-like callback; keep the
 * first one so that the caller can name it. Only the helper and the CLI
 * parse policy, both single-threaded. */
static char ini_error[POLICY_ERROR_MAX];

static int ini_error_cb(const char *fmt, ...)
{
	if (ini_error[0])
		return 0;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(ini_error, sizeof(ini_error), fmt, ap);
	va_end(ap);
	ini_error[strcspn(ini_error, "\n")] = '\0';
	return 0;
}

static void dictionary_freep(dictionary **d)
{
	if (*d)
		iniparser_freedict(*d);
}
#define _cleanup_dict_ __attribute__((cleanup(dictionary_freep)))

static int rule_kind_from_section(const char *section, enum rule_kind *kind)
{
	if (strcmp(section, "default") == 0) {
		*kind = RULE_DEFAULT;
		return 0;
	}
	return -EINVAL;
}

static struct policy_rule *find_rule(struct policy *p, const char *section)
{
	enum rule_kind kind;
	if (rule_kind_from_section(section, &kind) < 0)
		return NULL;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == kind)
			return &p->rules[i];
	if (p->n_rules >= POLICY_RULES_MAX)
		return NULL;
	struct policy_rule *r = &p->rules[p->n_rules++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	return r;
}

int policy_load_fd(struct policy *p, int fd, const char *name, char *err, size_t err_size)
{
	char procpath[64];
	memset(p, 0, sizeof(*p));
	snprintf(p->path, sizeof(p->path), "%s", name);

	/* iniparser takes a path: give it the fd we opened and checked, so
	 * that what is parsed is what was checked. */
	snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", fd);
	ini_error[0] = '\0';
	iniparser_set_error_callback(ini_error_cb);
	_cleanup_dict_ dictionary *d = iniparser_load(procpath);
	iniparser_set_error_callback(NULL);
	if (!d) {
		snprintf(err, err_size, "%s: %s", name, ini_error[0] ? ini_error : "cannot be parsed");
		return -EINVAL;
	}
	if (ini_error[0]) {
		snprintf(err, err_size, "%s: %s", name, ini_error);
		return -EINVAL;
	}

	/* Walk the dictionary in file order: sections have no ':' and no value;
	 * keys are "section:key". */
	for (ssize_t i = 0; i < d->size; i++) {
		const char *k = d->key[i];
		if (!k)
			continue;
		const char *colon = strchr(k, ':');
		if (!colon) {
			if (d->val[i]) {
				snprintf(err, err_size, "%s: key '%.64s' is outside any section", name, k);
				return -EINVAL;
			}
			if (!find_rule(p, k)) {
				snprintf(err, err_size, "%s: unknown section [%.64s] (known: [default])", name, k);
				return -EINVAL;
			}
			continue;
		}
		char section[128];
		size_t slen = (size_t)(colon - k);
		if (slen >= sizeof(section)) {
			snprintf(err, err_size, "%s: section name too long", name);
			return -EINVAL;
		}
		memcpy(section, k, slen);
		section[slen] = '\0';
		const char *key = colon + 1;
		struct policy_rule *r = find_rule(p, section);
		if (!r) {
			snprintf(err, err_size, "%s: unknown section [%.64s]", name, section);
			return -EINVAL;
		}
		int ki = -1;
		for (int j = 0; j < KEY_COUNT; j++)
			if (strcmp(key, policy_keys[j].name) == 0)
				ki = j;
		if (ki < 0) {
			snprintf(err, err_size, "%s: [%s] unknown key '%.64s'", name, section, key);
			return -EINVAL;
		}
		char why[POLICY_ERROR_MAX / 2];
		why[0] = '\0';
		int rr = policy_keys[ki].parse(&r->values, d->val[i] ? d->val[i] : "", why, sizeof(why));
		if (rr < 0) {
			snprintf(err, err_size, "%s: [%s] %s: %s", name, section, key, why);
			return rr;
		}
		r->values.set |= 1u << ki;
	}
	return 0;
}

int policy_load(struct policy *p, const char *path, char *err, size_t err_size)
{
	char why[POLICY_ERROR_MAX / 2];
	int fd = open_trusted_file(path, why, sizeof(why));
	if (fd == -ENOENT) {
		policy_init_builtin(p);
		snprintf(p->path, sizeof(p->path), "%s", path);
		return 0;
	}
	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, why[0] ? why : strerror(-fd));
		return fd;
	}
	int r = policy_load_fd(p, fd, path, err, err_size);
	(void)close(fd);
	return r;
}

static void apply_values(struct policy_settings *s, const struct policy_values *v, const char **hostname_tmpl)
{
	if (v->set & (1u << KEY_NAMESPACES))
		s->ns_mask = v->ns_mask;
	if (v->set & (1u << KEY_HOSTNAME))
		*hostname_tmpl = v->hostname;
}

int policy_resolve(const struct policy *p, const char *user, struct policy_settings *out, char *err,
		   size_t err_size)
{
	const char *tmpl = "%u";
	memset(out, 0, sizeof(*out));
	out->ns_mask = NS_ALL;
	for (size_t i = 0; i < p->n_rules; i++)
		if (p->rules[i].kind == RULE_DEFAULT)
			apply_values(out, &p->rules[i].values, &tmpl);
	if (policy_expand_hostname(tmpl, user, out->hostname, sizeof(out->hostname)) < 0) {
		snprintf(err, err_size, "%s: hostname '%.64s' for user %.64s is not a valid hostname of at most %d characters",
			 p->path, tmpl, user, POLICY_HOSTNAME_MAX);
		return -EINVAL;
	}
	return 0;
}
