/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the four parts of the policy code share, and nobody else:
 *   policy-values.c   the value parsers and the key table policy_keys[]
 *   policy-net.c      [network NAME] sections
 *   policy-load.c     files, the pre-scan, iniparser, sections, errors
 *   policy-resolve.c  one user's settings, templates, how values print */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define POLICY_FILE_MAX_BYTES (1u << 20)

/* The table of keys: one row per key with its name, parser, where it is
 * stored and how it prints; everything else (the known keys of an error,
 * explain, the fuzzer's dictionary) comes from it. Defined after the
 * parsers, at "the key table". */
struct key_def;
/* A parser receives its field (policy_values at the row's v_off, v_size
 * bytes) and its row, never the key to compare: systemd's ConfigTableItem. */
typedef int (*key_parser)(void *field, const struct key_def *row, const char *value, struct nsiso_error *e);

/* How a key's value prints (nsiso explain, the logs). */
typedef void (*key_text)(const struct policy_settings *s, enum policy_key k, char *buf, size_t size);

struct key_def {
	const char *name;
	key_parser parse;
	const char *const *choices; /* parse_choice/text_choice: the words */
	/* Where it is stored: the parser writes v_size bytes of policy_values
	 * at v_off, and a section that sets the key copies size bytes to
	 * policy_settings at s_off. Keys that are templates (size 0) are
	 * expanded per user instead (struct chosen). */
	size_t v_off, v_size, s_off, size;
	key_text text;
	/* parse_count: the range, "max" allowed, and what a value must be;
	 * parse_mount_list: arg is the enum mount_kind. */
	uint64_t lo, hi;
	bool max_ok;
	const char *hint;
	int arg;
};

extern const struct key_def policy_keys[KEY_COUNT];

/* Every error of a load, a line each, into p->errors (what nsiso check
 * prints); the first one also into *out, the caller's struct nsiso_error. */
struct errbuf {
	struct policy *p;
	struct nsiso_error *out;
	int first; /* first -errno */
};
void add_error(struct errbuf *e, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lists are words separated by spaces, tabs or commas. */
#define LIST_SEPARATORS " \t,"
#define FOR_EACH_WORD(w, buf, save)                                                                                    \
	for (char *w = strtok_r((buf), LIST_SEPARATORS, &(save)); w; w = strtok_r(NULL, LIST_SEPARATORS, &(save)))

int copy_list(const char *value, char *buf, size_t size, struct nsiso_error *e);
int parse_rlimit(struct policy_values *v, const char *name, const char *value, struct nsiso_error *e);
uint64_t host_memory_share(unsigned pct);
bool view_path_ok(const char *p, bool template);

bool net_name_ok(const char *n);
/* %u %U %g %h of a template into out; -EINVAL for an unknown % or no room
 * (policy-template.c). */
int policy_expand_template(const char *tmpl, const struct policy_who *who, char *out, size_t out_size);
/* A user or group name of the policy ([user NAME], exempt): 1..64 of
 * A-Z a-z 0-9 _ - . and a final $, not starting with '-'. */
bool policy_name_ok(const char *n);

/* The keys of [global] and [network NAME]: one row each, with its section;
 * every "known:" text of those sections and the fuzzer's dictionary come
 * from this table (lib/host/policy-sections.c). A parser receives the
 * section's owner: a struct global_owner for [global], the struct
 * policy_network being read for [network NAME]. */
enum key_section { SECTION_GLOBAL, SECTION_NETWORK };
struct global_owner {
	struct policy *p;
	int file; /* the file that sets it, for explain's sources */
};
struct section_key {
	enum key_section section;
	const char *name;
	int (*parse)(void *owner, const char *value, struct nsiso_error *e);
};
extern const struct section_key section_keys[];
extern const size_t n_section_keys;
const struct section_key *section_key_find(enum key_section section, const char *name);
/* "a b c": the known keys of a section, from the table. */
const char *section_known_keys(enum key_section section);

/* [network NAME]: which keys a section set (policy_network.set). */
enum {
	NK_BRIDGE = 1,
	NK_SUBNET = 2,
	NK_NAT = 4,
	NK_HOST_ACCESS = 8,
	NK_ISOLATE = 16,
	NK_DNS = 32,
	NK_PRIVATE = 64,
	NK_ALLOW = 128
};
int net_parse_bridge(void *owner, const char *value, struct nsiso_error *e);
int net_parse_subnet(void *owner, const char *value, struct nsiso_error *e);
int net_parse_nat(void *owner, const char *value, struct nsiso_error *e);
int net_parse_isolate(void *owner, const char *value, struct nsiso_error *e);
int net_parse_private_ranges(void *owner, const char *value, struct nsiso_error *e);
int net_parse_host_access(void *owner, const char *value, struct nsiso_error *e);
int net_parse_dns(void *owner, const char *value, struct nsiso_error *e);
int net_parse_allow(void *owner, const char *value, struct nsiso_error *e);
int global_parse_on_error(void *owner, const char *value, struct nsiso_error *e);
int global_parse_exempt(void *owner, const char *value, struct nsiso_error *e);
int global_parse_subids(void *owner, const char *value, struct nsiso_error *e);
int global_parse_subids_pool(void *owner, const char *value, struct nsiso_error *e);
int global_parse_on_create(void *owner, const char *value, struct nsiso_error *e);
int global_parse_on_destroy(void *owner, const char *value, struct nsiso_error *e);
int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
