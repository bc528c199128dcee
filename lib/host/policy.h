/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"
#include "error.h"

/* The policy: iniparser in, plain structs out; no syscalls but reading the
 * files. See nsiso.conf(5).
 *
 *   [global]        on_error, exempt
 *   [default]       every user
 *   [group NAME]    members of NAME (primary or supplementary)
 *   [user NAME]     one user
 *
 * The main file, then the files named .conf in the directory of the same
 * name plus ".d" (nsiso.conf.d), in lexical order. A user's settings: the built-in defaults, then every
 * [default] in reading order, then every [group] the user is in, in reading
 * order (so the later section wins between two groups), then the [user]
 * section. */

#define POLICY_NAME_MAX 64
#define POLICY_HOSTNAME_TEMPLATE_MAX 128
#define POLICY_HOSTNAME_MAX 64 /* HOST_NAME_MAX on Linux */
#define POLICY_RULES_MAX 1024
#define POLICY_FILES_MAX 64
#define POLICY_ERRORS_MAX 16384 /* every error of a load, a line each */
#define POLICY_EXEMPT_MAX 128
#define POLICY_PATH_MAX 256
#define POLICY_SOURCE_MAX (POLICY_PATH_MAX + POLICY_NAME_MAX + 16)
#define POLICY_LINGER_MAX_S 31536000 /* a year */
#define POLICY_LINGER_FOREVER (-1)
#define POLICY_SIZE_MAX 16 /* tmp_size, shm_size: "12G", "10%", "max" */

/* Built-in limits (docs/THREATS.md 34, 36): one tenant cannot take the host. */
#define POLICY_DEFAULT_PIDS_MAX 4096
/* linger's built-in value: a short grace after the last session, so that
 * back-to-back logins (scripts, rsync, git, Ansible, editors' remote
 * plugins) join the live container instead of each building one and
 * waiting for the last one's teardown (logind keeps a user's manager 10 s
 * for the same reason: UserStopDelaySec). docs/PERFORMANCE.md. */
#define POLICY_DEFAULT_LINGER_S 2
#define POLICY_DEFAULT_TIMEOUT_WARNING_S 60
#define POLICY_DURATION_MAX_S (366 * 86400)
#define POLICY_DEFAULT_MEMORY_PCT 50	/* memory_max: half of the host's memory */
#define POLICY_DEFAULT_TMPFS_SIZE "10%" /* each of /tmp, /var/tmp, /dev/shm */
#define POLICY_DEVICES_MAX 512		/* devices = ...: the whole value */
#define POLICY_DEVICE_PATTERNS_MAX 16

enum policy_key {
	KEY_NAMESPACES = 0,
	KEY_HOSTNAME,
	KEY_USERNS,
	KEY_TMP,
	KEY_HOME,
	KEY_LINGER,
	KEY_SECCOMP,
	KEY_NO_NEW_PRIVS,
	KEY_CAPABILITIES,
	KEY_MEMORY_MAX,
	KEY_MEMORY_HIGH,
	KEY_PIDS_MAX,
	KEY_CPU_WEIGHT,
	KEY_CPU_MAX,
	KEY_IO_WEIGHT,
	KEY_NETWORK,
	KEY_NESTED_USERNS,
	KEY_SYSTEM_BUS,
	KEY_TMP_SIZE,
	KEY_SHM_SIZE,
	KEY_IDLE_TIMEOUT,
	KEY_MAX_SESSION,
	KEY_TIMEOUT_WARNING,
	KEY_CPUS,
	KEY_DEVICES,
	KEY_BIND, /* the four mount lists: keep their order (enum mount_kind) */
	KEY_BIND_RO,
	KEY_HIDE,
	KEY_TMPFS,
	KEY_COUNT
};
_Static_assert(KEY_COUNT <= 32, "a rule's keys are bits of an unsigned");

enum userns_mode { USERNS_KEEP_ID_SUBUID = 0, USERNS_KEEP_ID };
enum tmp_mode { TMP_PRIVATE = 0, TMP_SHARED };
/* system_bus: none hides the host's D-Bus system bus from the tenant
 * (logind's KillUser, SetUserLinger...: THREATS 63); host opts in. */
enum system_bus_mode { SYSTEM_BUS_NONE = 0, SYSTEM_BUS_HOST };
enum home_mode { HOME_SHARED = 0, HOME_READ_ONLY, HOME_PRIVATE };

/* The per-user filesystem view: bind, bind_ro, hide and tmpfs, each a list
 * of entries; mount_kind k is key KEY_BIND + k. */
enum mount_kind { MOUNT_BIND = 0, MOUNT_BIND_RO, MOUNT_HIDE, MOUNT_TMPFS, MOUNT_KINDS };
#define POLICY_MOUNT_LIST_MAX 512 /* one key's value, as written */
#define POLICY_MOUNTS_MAX 32	  /* entries of all four keys together, for one user */
struct policy_mount {
	enum mount_kind kind;
	char src[POLICY_PATH_MAX];  /* bind, bind_ro: the host path; hide, tmpfs: "" */
	char dst[POLICY_PATH_MAX];  /* where, in the container */
	char size[POLICY_SIZE_MAX]; /* tmpfs: size= ("max": none) */
};
enum seccomp_mode { SECCOMP_DEFAULT = 0, SECCOMP_OFF };
enum yes_no { YES = 0, NO };
enum rule_kind { RULE_DEFAULT = 0, RULE_GROUP, RULE_USER };

/* network = none | host | NAME: a [network NAME] section. */
#define POLICY_NETWORKS_MAX 32
#define POLICY_NET_NAME_MAX 32
#define POLICY_NET_PORTS_MAX 32
#define POLICY_NET_DNS_MAX 3
#define POLICY_NET_ALLOW_MAX 16
struct policy_network {
	char name[POLICY_NET_NAME_MAX + 1];
	char bridge[16]; /* IFNAMSIZ */
	uint32_t subnet; /* host byte order, the network address */
	uint8_t prefix;	 /* 8..29 */
	bool nat;
	bool isolate;
	bool private_ranges; /* with nat: may reach 10/8, 172.16/12, 192.168/16, 100.64/10 */
	uint8_t n_ports, n_dns;
	uint16_t ports[POLICY_NET_PORTS_MAX]; /* host_access */
	uint32_t dns[POLICY_NET_DNS_MAX];     /* host byte order */
	/* allow = CIDR[:PORT] ...: destinations a NAT network's containers reach
	 * even within the private ranges (a cluster's services); never
	 * link-local. port 0: any. */
	uint8_t n_allow;
	struct {
		uint32_t addr; /* host byte order, the network address */
		uint8_t prefix;
		uint16_t port;
	} allow[POLICY_NET_ALLOW_MAX];
	unsigned file;
	int line;
	unsigned set; /* bit per key seen: bridge subnet nat host_access isolate dns private_ranges allow */
};

/* rlimit_<name> = soft[:hard]: the names, in RLIMIT_* order of this table. */
#define POLICY_RLIMITS 15
#define POLICY_RLIM_INFINITY UINT64_MAX
extern const struct policy_rlimit_name {
	const char *name;
	int resource; /* RLIMIT_* */
} policy_rlimit_names[POLICY_RLIMITS];

struct policy_rlimit {
	uint64_t soft, hard;
};

/* Values one section sets; set has a bit per enum policy_key. */
struct policy_values {
	unsigned set;
	unsigned ns_mask;
	char hostname[POLICY_HOSTNAME_TEMPLATE_MAX];
	enum userns_mode userns;
	enum tmp_mode tmp;
	enum home_mode home;
	int64_t linger;					    /* seconds; 0 no; POLICY_LINGER_FOREVER yes */
	int64_t idle_timeout, max_session, timeout_warning; /* seconds; 0 no */
	enum seccomp_mode seccomp;
	enum yes_no no_new_privs;
	uint64_t capabilities;		       /* bit n: capability n stays in the bounding set */
	struct cg_limits cg;		       /* the cgroup keys; each key sets its own fields */
	char network[POLICY_NET_NAME_MAX + 1]; /* none, host or a network's name */
	uint32_t rlimit_set;		       /* bit i: policy_rlimit_names[i] */
	struct policy_rlimit rlimit[POLICY_RLIMITS];
	enum yes_no nested_userns;
	enum system_bus_mode system_bus;
	char tmp_size[POLICY_SIZE_MAX];
	char shm_size[POLICY_SIZE_MAX];
	char mounts[MOUNT_KINDS][POLICY_MOUNT_LIST_MAX]; /* templates with %u %U %g */
	char devices[POLICY_DEVICES_MAX];		 /* paths and globs under /dev/; "" none */
};

struct policy_rule {
	enum rule_kind kind;
	char name[POLICY_NAME_MAX + 1]; /* user or group; "" for [default] */
	unsigned file;			/* index in policy.files */
	int line;
	struct policy_values values;
};

struct policy_exempt {
	bool group;
	char name[POLICY_NAME_MAX + 1];
};

struct policy {
	char path[POLICY_PATH_MAX]; /* the main file */
	bool builtin;		    /* no file at all: built-in defaults */
	size_t n_files;
	char files[POLICY_FILES_MAX][POLICY_PATH_MAX];
	bool on_error_allow;
	int on_error_file; /* -1: built-in */
	size_t n_exempt;
	struct policy_exempt exempt[POLICY_EXEMPT_MAX];
	int exempt_file;
	size_t n_rules;
	struct policy_rule rules[POLICY_RULES_MAX];
	size_t n_networks;
	struct policy_network networks[POLICY_NETWORKS_MAX];
	/* [global] subids = files | auto, subids_pool = START-END */
	bool subids_auto;
	uint32_t subids_pool_start, subids_pool_end;
	int subids_file; /* -1: built-in */
	/* [global] on_create, on_destroy: an admin's programs run by the
	 * supervisor when a container is made and when it ended; "" none */
	char on_create[POLICY_PATH_MAX], on_destroy[POLICY_PATH_MAX];
	int on_create_file, on_destroy_file; /* -1: built-in */
	/* Every error of the load, a line each, naming file, line, section
	 * and key (nsiso check prints them, like sshd -t). */
	char errors[POLICY_ERRORS_MAX];
};

/* Who a policy is resolved for. in_group answers membership (primary or
 * supplementary) of a group name, through NSS in the helper and the CLI, from
 * a table in the tests. */
struct policy_who {
	const char *user;
	uint32_t uid;
	const char *group; /* primary group name, for %g */
	const char *host;  /* the host's hostname, for %h */
	bool (*in_group)(const char *group, void *ctx);
	void *ctx;
};

/* What one user gets, and where each value came from. */
struct policy_settings {
	bool exempt;
	char exempt_source[POLICY_SOURCE_MAX];
	bool on_error_allow;
	char on_error_source[POLICY_SOURCE_MAX];
	bool subids_auto; /* a user with no range in /etc/subuid and /etc/subgid gets one allocated */
	uint32_t subids_pool_start, subids_pool_end;
	char subids_source[POLICY_SOURCE_MAX];
	char on_create[POLICY_PATH_MAX], on_destroy[POLICY_PATH_MAX]; /* "" none */
	char on_create_source[POLICY_SOURCE_MAX], on_destroy_source[POLICY_SOURCE_MAX];
	unsigned ns_mask;
	char hostname[POLICY_HOSTNAME_MAX + 1];
	enum userns_mode userns;
	enum tmp_mode tmp;
	enum home_mode home;
	int64_t linger;
	int64_t idle_timeout;	 /* s of no terminal input that end a session; 0 never */
	int64_t max_session;	 /* s after which the container ends; 0 never */
	int64_t timeout_warning; /* s before either that the terminals are told; 0 never */
	enum seccomp_mode seccomp;
	enum yes_no no_new_privs;
	uint64_t capabilities;
	struct cg_limits cg;
	char network[POLICY_NET_NAME_MAX + 1]; /* none, host or NAME */
	struct policy_network net;	       /* NAME's definition */
	uint32_t rlimit_set;
	struct policy_rlimit rlimit[POLICY_RLIMITS];
	enum yes_no nested_userns;	  /* NO: max_user_namespaces = 0 inside */
	enum system_bus_mode system_bus;  /* the host's system bus in the container's /run */
	char tmp_size[POLICY_SIZE_MAX];	  /* tmpfs size= of /tmp and /var/tmp; "max": none */
	char shm_size[POLICY_SIZE_MAX];	  /* of /dev/shm */
	char devices[POLICY_DEVICES_MAX]; /* device paths and globs under /dev/, space-separated; "" none */
	uint32_t n_mounts;		  /* bind, bind_ro, hide, tmpfs expanded, in that order */
	struct policy_mount mounts[POLICY_MOUNTS_MAX];
	char source[KEY_COUNT][POLICY_SOURCE_MAX];
	char rlimit_source[POLICY_RLIMITS][POLICY_SOURCE_MAX]; /* "file:[section]" or "built-in" */
};

/* A key's name, from the one table of keys in policy-values.c. */
const char *policy_key_name(enum policy_key k);

/* nsiso set: KEY=VALUE for one of the limits a live container can change
 * (memory_max, memory_high, pids_max, cpu_max, cpu_weight, io_weight),
 * parsed as the policy parses it, into lim. -EINVAL with e naming why for
 * a bad value, -EPERM for any other key. */
int policy_parse_live_limit(const char *key, const char *value, struct cg_limits *lim, struct nsiso_error *e);

/* Built-in defaults: every namespace, hostname = user name, keep-id+subuid,
 * private /tmp, shared home, no linger, the default seccomp filter,
 * no_new_privs, an empty bounding set, on_error = deny, nobody exempt. */
void policy_init_builtin(struct policy *p);

/* Load the main file at path and its drop-ins, every one through
 * open_trusted_*(). With neither, the built-in defaults and p->builtin.
 * Returns 0 or the first -errno, with the first error in e (step
 * policy) and every one in p->errors. Nothing of a policy with an error
 * may be used. */
int policy_load(struct policy *p, const char *path, struct nsiso_error *e);

/* Give p's pages, and the loader's scratch, back to the kernel: p reads as
 * zeros until the next load. For long-lived processes between loads. */
void policy_forget(struct policy *p);

/* Parse one more, already-open and already-trusted file into p (the fd is
 * not closed). For tests and the fuzzer: policy_init_empty() first. */
void policy_init_empty(struct policy *p, const char *main_path);
int policy_load_fd(struct policy *p, int fd, const char *name, struct nsiso_error *e);
/* The checks across files (policy_load does them): every network named by
 * a network key is defined, has a bridge and a subnet, and no two share a
 * bridge or overlap. 0 or -EINVAL, the errors as policy_load's. */
int policy_check_networks(struct policy *p, struct nsiso_error *e);
/* The network of that name, or NULL. */
const struct policy_network *policy_find_network(const struct policy *p, const char *name);
/* "10.1.2.3" of a host-order address. */
const char *policy_ipv4_text(uint32_t addr, char *buf, size_t size);

/* The settings for one user. Returns 0, or -EINVAL with e set when the
 * result is unusable for this user (a hostname the kernel would refuse). */
int policy_resolve(const struct policy *p, const struct policy_who *who, struct policy_settings *out,
		   struct nsiso_error *e);

/* Only what a live container's supervisor needs at every attach: exempt
 * and on_error (no hostname, no NSS group lookups unless an @group is
 * exempted). */
void policy_resolve_global(const struct policy *p, const struct policy_who *who, struct policy_settings *out);

/* The sources of bind and bind_ro entries and the targets of every view
 * entry, without %, that do not exist on this host (or are symlinks), each
 * an error naming file, line and path: what nsiso check can know ahead of
 * a login, where each would refuse it at step mount. 0 or -errno, the
 * errors as policy_load's. */
int policy_check_mount_paths(struct policy *p, struct nsiso_error *e);

/* Expand a hostname template (%u user, %U uid, %g primary group, %h host's
 * hostname) and check the result is a hostname the kernel accepts and a
 * person can read. 0 or -EINVAL. */
int policy_expand_hostname(const char *tmpl, const struct policy_who *who, char *out, size_t out_size);

/* Text of a value, for nsiso explain. */
const char *policy_value_text(const struct policy_settings *s, enum policy_key k, char *buf, size_t size);

/* NULL when path may be a bind/bind_ro/tmpfs target (or the directory of
 * the homes under home = private), else why not; the same for a hide
 * target and a bind source (lib/host/policy-values.c). */
const char *view_target_refused(const char *path);
const char *hide_target_refused(const char *path);
const char *view_source_refused(const char *path);
