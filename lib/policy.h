/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The policy: iniparser in, plain structs out, no other syscalls.
 *
 * A file is a list of rules (INI sections). Today the only section is
 * [default]; the per-user and per-group sections of the policy language slot
 * in as further rule kinds that policy_resolve() merges in order. */

#define POLICY_HOSTNAME_TEMPLATE_MAX 128
#define POLICY_HOSTNAME_MAX 64 /* HOST_NAME_MAX on Linux */
#define POLICY_ERROR_MAX 512
#define POLICY_RULES_MAX 1024

enum policy_key {
	KEY_NAMESPACES = 0,
	KEY_HOSTNAME,
	KEY_COUNT
};

enum rule_kind {
	RULE_DEFAULT = 0,
};

/* Values one section sets; set has a bit per enum policy_key. */
struct policy_values {
	unsigned set;
	unsigned ns_mask;
	char hostname[POLICY_HOSTNAME_TEMPLATE_MAX];
};

struct policy_rule {
	enum rule_kind kind;
	struct policy_values values;
};

struct policy {
	char path[256];
	bool builtin; /* no file: built-in defaults */
	size_t n_rules;
	struct policy_rule rules[POLICY_RULES_MAX];
};

/* What one user gets. */
struct policy_settings {
	unsigned ns_mask;
	char hostname[POLICY_HOSTNAME_MAX + 1];
};

/* Built-in defaults: every namespace, hostname = user name. */
void policy_init_builtin(struct policy *p);

/* Load the file at path (opened through open_trusted_file()). An absent file
 * yields the built-in defaults with p->builtin set. Returns 0 or -errno with
 * a message naming the file, section and key in err. */
int policy_load(struct policy *p, const char *path, char *err, size_t err_size);

/* Parse an already-open, already-trusted file (fd is not closed). */
int policy_load_fd(struct policy *p, int fd, const char *name, char *err, size_t err_size);

/* The settings for a user. Returns 0, or -EINVAL with err set when the
 * result is unusable for this user (a hostname the kernel would refuse). */
int policy_resolve(const struct policy *p, const char *user, struct policy_settings *out,
		   char *err, size_t err_size);

/* Expand a hostname template (%u: the user name) and check the result is a
 * hostname the kernel accepts and a person can read. 0 or -EINVAL. */
int policy_expand_hostname(const char *tmpl, const char *user, char *out, size_t out_size);
