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
#include "policy.h"
#include "subids.h"
#include "util.h"

#define POLICY_FILE_MAX_BYTES (1u << 20)
#define SCAN_SECTIONS_MAX 4096

/* The table of keys: one row per key with its name, parser, where it is
 * stored and how it prints; everything else (the known keys of an error,
 * explain, the fuzzer's dictionary) comes from it. Defined after the
 * parsers, at "the key table". */
typedef int (*key_parser)(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size);

/* How a key's value prints (nsiso explain, the logs). */
typedef void (*key_text)(const struct policy_settings *s, enum policy_key k, char *buf, size_t size);

struct key_def {
	const char *name;
	key_parser parse;
	const char *const *choices; /* parse_choice/text_choice: the words */
	/* Where it is stored: the parser writes policy_values at v_off, and a
	 * section that sets the key copies size bytes to policy_settings at
	 * s_off. Keys that are templates (size 0) are expanded per user
	 * instead (struct chosen). */
	size_t v_off, s_off, size;
	key_text text;
};

static const struct key_def policy_keys[KEY_COUNT];

/* ---- errors ---------------------------------------------------------- */

struct errbuf {
	char *buf;
	size_t size, used;
	int first; /* first -errno */
};

static void add_error(struct errbuf *e, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_error(struct errbuf *e, int error, const char *fmt, ...)
{
	if (!e->first)
		e->first = error;
	if (!e->buf || e->used + 2 >= e->size)
		return;
	if (e->used > 0)
		e->buf[e->used++] = '\n';
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->buf + e->used, e->size - e->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		e->used += (size_t)n < e->size - e->used ? (size_t)n : e->size - e->used - 1;
	e->buf[e->used] = '\0';
}

/* ---- values ---------------------------------------------------------- */

/* Lists are words separated by spaces, tabs or commas. */
#define LIST_SEPARATORS " \t,"
#define FOR_EACH_WORD(w, buf, save)                                                                                    \
	for (char *w = strtok_r((buf), LIST_SEPARATORS, &(save)); w; w = strtok_r(NULL, LIST_SEPARATORS, &(save)))

/* A writable copy of a list value, refused when longer than the buffer. */
static int copy_list(const char *value, char *buf, size_t size, char *why, size_t why_size)
{
	if (strlen(value) >= size) {
		snprintf(why, why_size, "value too long");
		return -EINVAL;
	}
	strcpy(buf, value);
	return 0;
}

static int parse_namespaces(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	(void)k;
	char buf[256];
	if (copy_list(value, buf, sizeof(buf), why, why_size) < 0)
		return -EINVAL;
	unsigned mask = 0;
	char *save = NULL;
	FOR_EACH_WORD (w, buf, save) {
		int i = ns_index_from_word(w);
		if (i < 0) {
			snprintf(why, why_size, "unknown namespace '%.32s' (known: pid mount ipc uts net user cgroup)",
				 w);
			return -EINVAL;
		}
		if (mask & NS_BIT(i)) {
			snprintf(why, why_size, "namespace '%s' listed twice", w);
			return -EINVAL;
		}
		mask |= NS_BIT(i);
	}
	if (mask == 0) {
		snprintf(why, why_size, "no namespace listed (to leave users out, use exempt in [global])");
		return -EINVAL;
	}
	/* A PID namespace without its own mount namespace would keep the host's
	 * /proc: ps inside would show the host. */
	if ((mask & NS_BIT(NS_PID)) && !(mask & NS_BIT(NS_MNT))) {
		snprintf(why, why_size, "'pid' needs 'mount' (a fresh /proc is mounted in it)");
		return -EINVAL;
	}
	v->ns_mask = mask;
	return 0;
}

static int parse_hostname(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	(void)k;
	char probe[POLICY_HOSTNAME_MAX + 1];
	struct policy_who stand_in = { .user = "u", .uid = 1, .group = "g", .host = "h" };
	if (strlen(value) >= sizeof(v->hostname)) {
		snprintf(why, why_size, "template longer than %d characters", POLICY_HOSTNAME_TEMPLATE_MAX - 1);
		return -EINVAL;
	}
	/* Syntax and characters now, with short stand-ins; the real length when
	 * a user is resolved. */
	if (policy_expand_hostname(value, &stand_in, probe, sizeof(probe)) < 0) {
		snprintf(
		    why, why_size,
		    "invalid hostname template '%.64s' (letters, digits, '-', '.', '_', %%u %%U %%g %%h; at most %d "
		    "characters)",
		    value, POLICY_HOSTNAME_MAX);
		return -EINVAL;
	}
	strcpy(v->hostname, value);
	return 0;
}

/* Keys whose value is one word of a list; the index is the enum value
 * stored (an int-sized enum, at the key's place in the table). */
static const char *const userns_words[] = { "keep-id+subuid", "keep-id", NULL };
static const char *const tmp_words[] = { "private", "shared", NULL };
static const char *const home_words[] = { "shared", "read-only", "private", NULL };
static const char *const seccomp_words[] = { "default", "off", NULL };
static const char *const yes_no_words[] = { "yes", "no", NULL };

static int parse_choice(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size);

static int parse_linger(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	(void)k;
	if (strcmp(value, "no") == 0) {
		v->linger = 0;
		return 0;
	}
	if (strcmp(value, "yes") == 0) {
		v->linger = POLICY_LINGER_FOREVER;
		return 0;
	}
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)value[0])) {
		snprintf(why, why_size, "'%.32s' is not no, yes or a number of seconds", value);
		return -EINVAL;
	}
	unsigned long long s = strtoull(value, &end, 10);
	if (errno || *end || s > POLICY_LINGER_MAX_S) {
		snprintf(why, why_size, "'%.32s' is not no, yes or 0..%d seconds", value, POLICY_LINGER_MAX_S);
		return -ERANGE;
	}
	v->linger = (int64_t)s;
	return 0;
}

/* Capability names as capabilities(7) spells them, without libcap: the
 * policy library stays free of it. */
static const char *const cap_names[] = {
	"cap_chown",
	"cap_dac_override",
	"cap_dac_read_search",
	"cap_fowner",
	"cap_fsetid",
	"cap_kill",
	"cap_setgid",
	"cap_setuid",
	"cap_setpcap",
	"cap_linux_immutable",
	"cap_net_bind_service",
	"cap_net_broadcast",
	"cap_net_admin",
	"cap_net_raw",
	"cap_ipc_lock",
	"cap_ipc_owner",
	"cap_sys_module",
	"cap_sys_rawio",
	"cap_sys_chroot",
	"cap_sys_ptrace",
	"cap_sys_pacct",
	"cap_sys_admin",
	"cap_sys_boot",
	"cap_sys_nice",
	"cap_sys_resource",
	"cap_sys_time",
	"cap_sys_tty_config",
	"cap_mknod",
	"cap_lease",
	"cap_audit_write",
	"cap_audit_control",
	"cap_setfcap",
	"cap_mac_override",
	"cap_mac_admin",
	"cap_syslog",
	"cap_wake_alarm",
	"cap_block_suspend",
	"cap_audit_read",
	"cap_perfmon",
	"cap_bpf",
	"cap_checkpoint_restore",
};

static int parse_capabilities(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	(void)k;
	char buf[1024];
	if (copy_list(value, buf, sizeof(buf), why, why_size) < 0)
		return -EINVAL;
	uint64_t mask = 0;
	char *save = NULL;
	FOR_EACH_WORD (w, buf, save) {
		if (strcmp(w, "none") == 0)
			continue;
		int found = -1;
		for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
			if (strcasecmp(w, cap_names[i]) == 0 ||
			    (strncasecmp(w, "cap_", 4) != 0 && strcasecmp(w, cap_names[i] + 4) == 0))
				found = (int)i;
		if (found < 0) {
			snprintf(why, why_size, "unknown capability '%.32s'", w);
			return -EINVAL;
		}
		mask |= UINT64_C(1) << found;
	}
	v->capabilities = mask;
	return 0;
}

const struct policy_rlimit_name policy_rlimit_names[POLICY_RLIMITS] = {
	{ "cpu", RLIMIT_CPU },
	{ "fsize", RLIMIT_FSIZE },
	{ "data", RLIMIT_DATA },
	{ "stack", RLIMIT_STACK },
	{ "core", RLIMIT_CORE },
	{ "nproc", RLIMIT_NPROC },
	{ "nofile", RLIMIT_NOFILE },
	{ "memlock", RLIMIT_MEMLOCK },
	{ "as", RLIMIT_AS },
	{ "locks", RLIMIT_LOCKS },
	{ "sigpending", RLIMIT_SIGPENDING },
	{ "msgqueue", RLIMIT_MSGQUEUE },
	{ "nice", RLIMIT_NICE },
	{ "rtprio", RLIMIT_RTPRIO },
	{ "rttime", RLIMIT_RTTIME },
};

static int parse_limit_number(const char *s, uint64_t *out)
{
	if (strcmp(s, "unlimited") == 0 || strcmp(s, "infinity") == 0) {
		*out = POLICY_RLIM_INFINITY;
		return 0;
	}
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v >= POLICY_RLIM_INFINITY)
		return -ERANGE;
	*out = v;
	return 0;
}

/* rlimit_<name> = soft[:hard]; a soft limit alone sets both. */
static int parse_rlimit(struct policy_values *v, const char *name, const char *value, char *why, size_t why_size)
{
	int idx = -1;
	for (int i = 0; i < POLICY_RLIMITS; i++)
		if (strcmp(name, policy_rlimit_names[i].name) == 0)
			idx = i;
	if (idx < 0) {
		snprintf(why, why_size,
			 "unknown limit '%.32s' (known: cpu fsize data stack core nproc nofile memlock as "
			 "locks sigpending msgqueue nice rtprio rttime)",
			 name);
		return -EINVAL;
	}
	char buf[64], *colon;
	if (copy_list(value, buf, sizeof(buf), why, why_size) < 0)
		return -EINVAL;
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	struct policy_rlimit l;
	int r = parse_limit_number(buf, &l.soft);
	if (r == 0)
		r = colon ? parse_limit_number(colon + 1, &l.hard) : (l.hard = l.soft, 0);
	if (r < 0) {
		snprintf(why, why_size, "'%.32s' is not soft[:hard], each a number or unlimited", value);
		return r;
	}
	if (l.soft > l.hard) {
		snprintf(why, why_size, "soft limit above the hard limit");
		return -EINVAL;
	}
	v->rlimit[idx] = l;
	v->rlimit_set |= 1u << idx;
	return 0;
}

/* A share of the host's memory, for "N%" values and the built-in default. */
static uint64_t host_memory_share(unsigned pct)
{
	struct sysinfo si;
	if (sysinfo(&si) < 0 || si.totalram == 0)
		return CG_UNLIMITED;
	return (uint64_t)si.totalram * si.mem_unit / 100 * pct;
}

/* "N%" with N in 1..100, or -1. */
static int parse_percent(const char *value)
{
	char *end;
	if (!isdigit((unsigned char)value[0]))
		return -1;
	errno = 0;
	unsigned long n = strtoul(value, &end, 10);
	if (errno || strcmp(end, "%") != 0 || n < 1 || n > 100)
		return -1;
	return (int)n;
}

/* memory_max, memory_high: bytes with an optional K, M, G or T (powers of
 * 1024), a share of the host's memory (N%), or max. At least 1M: less would
 * kill the shell at once. */
static int parse_bytes(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	uint64_t bytes = CG_UNLIMITED;
	int pct = parse_percent(value);
	if (pct > 0) {
		bytes = host_memory_share((unsigned)pct);
	} else if (strcmp(value, "max") != 0 && strcmp(value, "infinity") != 0) {
		char *end;
		errno = 0;
		unsigned long long n =
		    isdigit((unsigned char)value[0]) ? strtoull(value, &end, 10) : (end = (char *)value, 0);
		unsigned shift = 0;
		if (end != value && *end) {
			const char *units = "KMGT";
			const char *u = strchr(units, toupper((unsigned char)*end));
			if (u && end[1] == '\0')
				shift = 10 * (unsigned)(u - units + 1);
			else
				end = (char *)value;
		}
		if (end == value || errno || n == 0 || n > (UINT64_MAX >> shift) - 1 || (n << shift) < (1u << 20)) {
			snprintf(why, why_size,
				 "'%.32s' is not max, N%% or a size of at least 1M (a number with K, M, G or T)",
				 value);
			return -EINVAL;
		}
		bytes = (uint64_t)n << shift;
	}
	if (k == KEY_MEMORY_MAX)
		v->cg.memory_max = bytes;
	else
		v->cg.memory_high = bytes;
	return 0;
}

/* tmp_size, shm_size: what tmpfs takes as size=: a number with an optional
 * K, M or G, a share of memory (N%), or max (no size=). At least 1M. */
static bool tmpfs_size_ok(const char *value)
{
	bool ok = strcmp(value, "max") == 0 || parse_percent(value) > 0;
	if (!ok && isdigit((unsigned char)value[0])) {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(value, &end, 10);
		unsigned shift = 0;
		if (*end && strchr("KMG", toupper((unsigned char)*end)) && end[1] == '\0')
			shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : 30;
		else if (*end)
			n = 0;
		ok = !errno && n > 0 && n <= (1ULL << 40) && (n << shift) >= (1u << 20);
	}
	return ok && strlen(value) < POLICY_SIZE_MAX;
}

static int parse_tmpfs_size(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	char *out = k == KEY_TMP_SIZE ? v->tmp_size : v->shm_size;
	if (!tmpfs_size_ok(value)) {
		snprintf(why, why_size, "'%.32s' is not max, N%% or a size of at least 1M (a number with K, M or G)",
			 value);
		return -EINVAL;
	}
	strcpy(out, value);
	return 0;
}

static int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno || *end || n < lo || n > hi)
		return -ERANGE;
	*out = n;
	return 0;
}

/* pids_max, cpu_weight, io_weight: a number in range (pids_max also max). */
static int parse_count(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	uint64_t n = CG_UNLIMITED;
	bool pids = k == KEY_PIDS_MAX;
	if (!(pids && strcmp(value, "max") == 0) && parse_uint(value, 1, pids ? 4194304 : 10000, &n) < 0) {
		snprintf(why, why_size, "'%.32s' is not %s", value,
			 pids ? "max or a number of processes (1..4194304)"
			      : "a weight of 1..10000 (100 is the default)");
		return -EINVAL;
	}
	if (pids)
		v->cg.pids_max = n;
	else if (k == KEY_CPU_WEIGHT)
		v->cg.cpu_weight = (uint32_t)n;
	else
		v->cg.io_weight = (uint32_t)n;
	return 0;
}

/* cpu_max: max, N% of one CPU (per 100 ms), or "QUOTA PERIOD" in
 * microseconds as cgroup v2's cpu.max has it. */
static int parse_cpu_max(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	(void)k;
	uint64_t quota = CG_UNLIMITED, period = 100000;
	char buf[64], extra;
	size_t len = strlen(value);
	int r = 0;
	if (strcmp(value, "max") == 0) {
		/* no quota */
	} else if (len > 1 && len < sizeof(buf) && value[len - 1] == '%') {
		memcpy(buf, value, len - 1);
		buf[len - 1] = '\0';
		r = parse_uint(buf, 1, 100000, &quota);
		quota *= period / 100;
	} else if (sscanf(value, "%31s %31s %c", buf, buf + 32, &extra) == 2) {
		r = parse_uint(buf, 1000, UINT64_C(1) << 40, &quota);
		if (r == 0)
			r = parse_uint(buf + 32, 1000, 1000000, &period);
	} else {
		r = -EINVAL;
	}
	if (r < 0) {
		snprintf(
		    why, why_size,
		    "'%.32s' is not max, a percentage of one CPU (50%%, 200%%) or \"QUOTA PERIOD\" in microseconds "
		    "(quota >= 1000, period 1000..1000000)",
		    value);
		return -EINVAL;
	}
	v->cg.cpu_quota = quota;
	v->cg.cpu_period = period;
	return 0;
}

static bool net_name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > POLICY_NET_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(islower((unsigned char)n[i]) || isdigit((unsigned char)n[i]) || n[i] == '-' || n[i] == '_'))
			return false;
	return true;
}

/* network = none | host | NAME */
static int parse_network(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	(void)k;
	if (!net_name_ok(value)) {
		snprintf(why, why_size, "'%.40s' is not none, host or a network name (a-z 0-9 - _, at most %d)", value,
			 POLICY_NET_NAME_MAX);
		return -EINVAL;
	}
	strcpy(v->network, value);
	return 0;
}

/* A path of the filesystem view, before or after expansion: absolute, no
 * empty, "." or ".." component, no trailing slash, no space or control
 * character, not "/" itself; with templates, '%' only as %u %U %g. */
static bool view_path_ok(const char *p, bool template)
{
	size_t len = strlen(p);
	if (len < 2 || len >= POLICY_PATH_MAX || p[0] != '/' || p[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch <= ' ' || ch == 0x7f || ch == ':')
			return false;
		if (ch == '%' && (!template || !strchr("uUg", p[i + 1])))
			return false;
		if (ch == '%')
			i++;
		if (ch == '/' && (p[i + 1] == '/' ||
				  (p[i + 1] == '.' && (p[i + 2] == '/' || p[i + 2] == '\0' ||
						       (p[i + 2] == '.' && (p[i + 3] == '/' || p[i + 3] == '\0'))))))
			return false;
	}
	return true;
}

/* Where root itself reads inside a session's mount namespace: sshd's
 * monitor stays host root there (the split join) and the PAM modules after
 * pam_nsiso run in it (pam_limits reads /etc/security, pam_env
 * /etc/environment), so content a tenant could write (a read-write bind, a
 * tmpfs, a bind of a tenant's directory) must never appear there. hide
 * (an empty, root-owned cover) may. */
static const char *const system_dirs[] = {
	"/etc",	   "/usr",  "/bin",  "/sbin", "/lib", "/lib32",	    "/lib64",
	"/libx32", "/boot", "/proc", "/sys",  "/dev", "/run/nsiso", "/var/lib/nsiso"
};

static const char *system_target(const char *path)
{
	for (size_t i = 0; i < sizeof(system_dirs) / sizeof(system_dirs[0]); i++) {
		size_t n = strlen(system_dirs[i]);
		if (strncmp(path, system_dirs[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return system_dirs[i];
	}
	return NULL;
}

/* bind, bind_ro: SOURCE[:TARGET]; hide: PATH; tmpfs: PATH[:SIZE]. */
static int parse_mount_list(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	enum mount_kind kind = (enum mount_kind)(k - KEY_BIND);
	char buf[POLICY_MOUNT_LIST_MAX];
	if (copy_list(value, buf, sizeof(buf), why, why_size) < 0)
		return -EINVAL;
	char *save = NULL;
	int n = 0;
	FOR_EACH_WORD (w, buf, save) {
		char *second = strchr(w, ':');
		if (second)
			*second++ = '\0';
		if (++n > POLICY_MOUNTS_MAX) {
			snprintf(why, why_size, "more than %d entries", POLICY_MOUNTS_MAX);
			return -E2BIG;
		}
		if (!view_path_ok(w, true)) {
			snprintf(
			    why, why_size,
			    "'%.64s' is not an absolute path without ., .., //, spaces or ':' (templates: %%u %%U %%g)",
			    w);
			return -EINVAL;
		}
		if (second && kind == MOUNT_HIDE) {
			snprintf(why, why_size, "'%.64s:%.32s': hide takes paths only", w, second);
			return -EINVAL;
		}
		if (second && kind == MOUNT_TMPFS && !tmpfs_size_ok(second)) {
			snprintf(why, why_size, "'%.64s:%.32s': the size is not max, N%% or at least 1M (K, M or G)", w,
				 second);
			return -EINVAL;
		}
		if (second && kind <= MOUNT_BIND_RO && !view_path_ok(second, true)) {
			snprintf(why, why_size,
				 "target '%.64s' is not an absolute path without ., .., //, spaces or ':'", second);
			return -EINVAL;
		}
		const char *target = second && kind <= MOUNT_BIND_RO ? second : w;
		const char *sys = kind == MOUNT_HIDE ? NULL : system_target(target);
		if (sys) {
			snprintf(
			    why, why_size,
			    "target '%.64s' is in %s, where root reads inside the session's mount namespace (only hide "
			    "may cover a path there)",
			    target, sys);
			return -EPERM;
		}
	}
	strcpy(v->mounts[kind], value);
	return 0;
}

/* ---- the key table ------------------------------------------------------ */

#define STORE(field)                                                                                                   \
	.v_off = offsetof(struct policy_values, field), .s_off = offsetof(struct policy_settings, field),              \
	.size = sizeof(((struct policy_settings *)0)->field)
/* cpu_max: quota and period, side by side in struct cg_limits */
#define STORE_CPU_MAX                                                                                                  \
	.v_off = offsetof(struct policy_values, cg.cpu_quota),                                                         \
	.s_off = offsetof(struct policy_settings, cg.cpu_quota),                                                       \
	.size = offsetof(struct cg_limits, cpu_period) + sizeof(uint64_t) - offsetof(struct cg_limits, cpu_quota)

#define AT(s, off, type) (*(const type *)((const char *)(s) + (off)))

static void text_choice(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	snprintf(buf, size, "%s", policy_keys[k].choices[AT(s, policy_keys[k].s_off, int)]);
}

static void text_string(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	snprintf(buf, size, "%s", (const char *)s + policy_keys[k].s_off);
}

static void text_namespaces(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	(void)ns_mask_to_words(s->ns_mask, buf, size);
}

static void text_linger(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	if (s->linger == POLICY_LINGER_FOREVER)
		snprintf(buf, size, "yes");
	else if (s->linger == 0)
		snprintf(buf, size, "no");
	else
		snprintf(buf, size, "%" PRId64, s->linger);
}

static void text_capabilities(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (s->capabilities & (UINT64_C(1) << i)) {
			int n = snprintf(buf + used, size - used, "%s%s", used ? " " : "", cap_names[i]);
			if (n < 0 || (size_t)n >= size - used)
				break;
			used += (size_t)n;
		}
	if (!buf[0])
		snprintf(buf, size, "none");
}

static void text_bytes(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	uint64_t b = AT(s, policy_keys[k].s_off, uint64_t);
	const char *units = "KMGT";
	int u = -1;
	while (b != CG_UNLIMITED && b >= 1024 && b % 1024 == 0 && u < 3) {
		b /= 1024;
		u++;
	}
	if (b == CG_UNLIMITED)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%" PRIu64 "%.*s", b, u >= 0 ? 1 : 0, u >= 0 ? units + u : "");
}

static void text_pids(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	if (s->cg.pids_max == CG_UNLIMITED)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%" PRIu64, s->cg.pids_max);
}

static void text_weight(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	uint32_t w = AT(s, policy_keys[k].s_off, uint32_t);
	if (w)
		snprintf(buf, size, "%" PRIu32, w);
	else
		snprintf(buf, size, "unset");
}

static void text_cpu_max(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	if (s->cg.cpu_quota == CG_UNLIMITED)
		snprintf(buf, size, "max");
	else
		snprintf(buf, size, "%" PRIu64 " %" PRIu64, s->cg.cpu_quota, s->cg.cpu_period);
}

static void text_network(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	if (strcmp(s->network, "none") == 0 || strcmp(s->network, "host") == 0) {
		snprintf(buf, size, "%s", s->network);
		return;
	}
	char sub[16], ports[POLICY_NET_PORTS_MAX * 6 + 8] = "";
	for (int i = 0; i < s->net.n_ports; i++)
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%u", i ? "," : "", s->net.ports[i]);
	snprintf(buf, size, "%s (bridge %s, subnet %s/%u, nat %s%s, isolate %s, host_access %s)", s->network,
		 s->net.bridge, policy_ipv4_text(s->net.subnet, sub, sizeof(sub)), s->net.prefix,
		 s->net.nat ? "yes" : "no", s->net.nat && s->net.private_ranges ? " with private ranges" : "",
		 s->net.isolate ? "yes" : "no", ports[0] ? ports : "none");
}

static void text_mounts(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < s->n_mounts; i++) {
		const struct policy_mount *m = &s->mounts[i];
		if ((int)m->kind != (int)k - KEY_BIND)
			continue;
		int n = m->kind <= MOUNT_BIND_RO
			    ? snprintf(buf + used, size - used, "%s%s:%s", used ? " " : "", m->src, m->dst)
			: m->kind == MOUNT_TMPFS
			    ? snprintf(buf + used, size - used, "%s%s:%s", used ? " " : "", m->dst, m->size)
			    : snprintf(buf + used, size - used, "%s%s", used ? " " : "", m->dst);
		if (n < 0 || (size_t)n >= size - used)
			break;
		used += (size_t)n;
	}
	if (!buf[0])
		snprintf(buf, size, "none");
}

static const struct key_def policy_keys[KEY_COUNT] = {
	[KEY_NAMESPACES] = { "namespaces", parse_namespaces, NULL, STORE(ns_mask), text_namespaces },
	[KEY_HOSTNAME] = { "hostname", parse_hostname, NULL, .text = text_string,
			   .s_off = offsetof(struct policy_settings, hostname) }, /* a template */
	[KEY_USERNS] = { "userns", parse_choice, userns_words, STORE(userns), text_choice },
	[KEY_TMP] = { "tmp", parse_choice, tmp_words, STORE(tmp), text_choice },
	[KEY_HOME] = { "home", parse_choice, home_words, STORE(home), text_choice },
	[KEY_LINGER] = { "linger", parse_linger, NULL, STORE(linger), text_linger },
	[KEY_SECCOMP] = { "seccomp", parse_choice, seccomp_words, STORE(seccomp), text_choice },
	[KEY_NO_NEW_PRIVS] = { "no_new_privs", parse_choice, yes_no_words, STORE(no_new_privs), text_choice },
	[KEY_CAPABILITIES] = { "capabilities", parse_capabilities, NULL, STORE(capabilities), text_capabilities },
	[KEY_MEMORY_MAX] = { "memory_max", parse_bytes, NULL, STORE(cg.memory_max), text_bytes },
	[KEY_MEMORY_HIGH] = { "memory_high", parse_bytes, NULL, STORE(cg.memory_high), text_bytes },
	[KEY_PIDS_MAX] = { "pids_max", parse_count, NULL, STORE(cg.pids_max), text_pids },
	[KEY_CPU_WEIGHT] = { "cpu_weight", parse_count, NULL, STORE(cg.cpu_weight), text_weight },
	[KEY_CPU_MAX] = { "cpu_max", parse_cpu_max, NULL, STORE_CPU_MAX, text_cpu_max },
	[KEY_IO_WEIGHT] = { "io_weight", parse_count, NULL, STORE(cg.io_weight), text_weight },
	[KEY_NETWORK] = { "network", parse_network, NULL, STORE(network), text_network },
	[KEY_NESTED_USERNS] = { "nested_userns", parse_choice, yes_no_words, STORE(nested_userns), text_choice },
	[KEY_TMP_SIZE] = { "tmp_size", parse_tmpfs_size, NULL, STORE(tmp_size), text_string },
	[KEY_SHM_SIZE] = { "shm_size", parse_tmpfs_size, NULL, STORE(shm_size), text_string },
	/* templates, expanded per user into s->mounts */
	[KEY_BIND] = { "bind", parse_mount_list, NULL, .text = text_mounts },
	[KEY_BIND_RO] = { "bind_ro", parse_mount_list, NULL, .text = text_mounts },
	[KEY_HIDE] = { "hide", parse_mount_list, NULL, .text = text_mounts },
	[KEY_TMPFS] = { "tmpfs", parse_mount_list, NULL, .text = text_mounts },
};

const char *policy_key_name(enum policy_key k)
{
	return k < KEY_COUNT ? policy_keys[k].name : "?";
}

static int parse_choice(struct policy_values *v, enum policy_key k, const char *value, char *why, size_t why_size)
{
	const char *const *words = policy_keys[k].choices;
	for (int i = 0; words[i]; i++)
		if (strcmp(value, words[i]) == 0) {
			*(int *)((char *)v + policy_keys[k].v_off) = i;
			return 0;
		}
	snprintf(why, why_size, "'%.64s' is not one of:", value);
	for (int i = 0; words[i]; i++)
		snprintf(why + strlen(why), why_size - strlen(why), " %s", words[i]);
	return -EINVAL;
}

/* ---- [network NAME] ---------------------------------------------------- */

const char *policy_ipv4_text(uint32_t a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

static int parse_ipv4(const char *s, uint32_t *out)
{
	unsigned b[4];
	char extra;
	if (sscanf(s, "%3u.%3u.%3u.%3u%c", &b[0], &b[1], &b[2], &b[3], &extra) != 4 || b[0] > 255 || b[1] > 255 ||
	    b[2] > 255 || b[3] > 255 || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	*out = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	return 0;
}

static bool ifname_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > 15 || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)n[i]) || n[i] == '-' || n[i] == '_' || n[i] == '.'))
			return false;
	return true;
}

enum { NK_BRIDGE = 1, NK_SUBNET = 2, NK_NAT = 4, NK_HOST_ACCESS = 8, NK_ISOLATE = 16, NK_DNS = 32, NK_PRIVATE = 64 };

static int parse_network_key(struct policy_network *n, const char *key, const char *value, char *why, size_t why_size)
{
	char buf[512];
	if (strcmp(key, "bridge") == 0) {
		if (!ifname_ok(value)) {
			snprintf(why, why_size, "'%.32s' is not an interface name (1..15 of a-z A-Z 0-9 - _ .)", value);
			return -EINVAL;
		}
		strcpy(n->bridge, value);
		n->set |= NK_BRIDGE;
	} else if (strcmp(key, "subnet") == 0) {
		const char *slash = strchr(value, '/');
		uint64_t prefix = 0;
		uint32_t a = 0;
		if (!slash || (size_t)(slash - value) >= 16) {
			snprintf(why, why_size, "'%.40s' is not an IPv4 network (like 10.20.0.0/24)", value);
			return -EINVAL;
		}
		memcpy(buf, value, (size_t)(slash - value));
		buf[slash - value] = '\0';
		if (parse_ipv4(buf, &a) < 0 || parse_uint(slash + 1, 8, 29, &prefix) < 0) {
			snprintf(why, why_size, "'%.40s' is not an IPv4 network with a prefix of /8../29", value);
			return -EINVAL;
		}
		uint32_t mask = ~0u << (32 - prefix);
		if (a & ~mask) {
			snprintf(why, why_size, "'%.40s' has host bits set (the network is %s/%u)", value,
				 policy_ipv4_text(a & mask, buf, sizeof(buf)), (unsigned)prefix);
			return -EINVAL;
		}
		n->subnet = a;
		n->prefix = (uint8_t)prefix;
		n->set |= NK_SUBNET;
	} else if (strcmp(key, "nat") == 0 || strcmp(key, "isolate") == 0 || strcmp(key, "private_ranges") == 0) {
		bool yes = strcmp(value, "yes") == 0;
		if (!yes && strcmp(value, "no") != 0) {
			snprintf(why, why_size, "'%.32s' is not yes or no", value);
			return -EINVAL;
		}
		if (key[0] == 'n') {
			n->nat = yes;
			n->set |= NK_NAT;
		} else if (key[0] == 'p') {
			n->private_ranges = yes;
			n->set |= NK_PRIVATE;
		} else {
			n->isolate = yes;
			n->set |= NK_ISOLATE;
		}
	} else if (strcmp(key, "host_access") == 0 || strcmp(key, "dns") == 0) {
		bool ports = key[0] == 'h';
		if (copy_list(value, buf, sizeof(buf), why, why_size) < 0)
			return -EINVAL;
		char *save = NULL;
		uint8_t count = 0;
		FOR_EACH_WORD (w, buf, save) {
			uint64_t port;
			uint32_t addr;
			if (ports && strcmp(w, "none") == 0)
				continue;
			if (ports ? parse_uint(w, 1, 65535, &port) < 0 : parse_ipv4(w, &addr) < 0) {
				snprintf(why, why_size,
					 ports ? "'%.16s' is not none or a port (1..65535)"
					       : "'%.16s' is not an IPv4 address",
					 w);
				return -EINVAL;
			}
			if (count >= (ports ? POLICY_NET_PORTS_MAX : POLICY_NET_DNS_MAX)) {
				snprintf(why, why_size, "more than %d %s",
					 ports ? POLICY_NET_PORTS_MAX : POLICY_NET_DNS_MAX,
					 ports ? "ports" : "addresses");
				return -E2BIG;
			}
			if (ports)
				n->ports[count++] = (uint16_t)port;
			else
				n->dns[count++] = addr;
		}
		if (ports) {
			n->n_ports = count;
			n->set |= NK_HOST_ACCESS;
		} else {
			n->n_dns = count;
			n->set |= NK_DNS;
		}
	} else {
		snprintf(why, why_size,
			 "unknown key (known: bridge subnet nat host_access isolate dns private_ranges)");
		return -EINVAL;
	}
	return 0;
}

const struct policy_network *policy_find_network(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_networks; i++)
		if (strcmp(p->networks[i].name, name) == 0)
			return &p->networks[i];
	return NULL;
}

int policy_check_networks(struct policy *p, char *err, size_t err_size)
{
	struct errbuf e = { .buf = err, .size = err_size, .used = err_size ? strlen(err) : 0 };
	char a[16], b[16];
	for (size_t i = 0; i < p->n_networks; i++) {
		const struct policy_network *n = &p->networks[i];
		const char *f = p->files[n->file];
		if (!(n->set & NK_BRIDGE))
			add_error(&e, -EINVAL, "%s:%d: [network %s] has no bridge", f, n->line, n->name);
		if (!(n->set & NK_SUBNET))
			add_error(&e, -EINVAL, "%s:%d: [network %s] has no subnet", f, n->line, n->name);
		for (size_t j = 0; j < i; j++) {
			const struct policy_network *o = &p->networks[j];
			uint8_t pre = n->prefix < o->prefix ? n->prefix : o->prefix;
			uint32_t mask = ~0u << (32 - pre);
			if ((n->set & NK_BRIDGE) && strcmp(n->bridge, o->bridge) == 0)
				add_error(&e, -EINVAL, "%s:%d: [network %s] uses bridge %s, as [network %s] does", f,
					  n->line, n->name, n->bridge, o->name);
			if ((n->set & o->set & NK_SUBNET) && (n->subnet & mask) == (o->subnet & mask))
				add_error(&e, -EINVAL, "%s:%d: [network %s] %s/%u overlaps [network %s] %s/%u", f,
					  n->line, n->name, policy_ipv4_text(n->subnet, a, sizeof(a)), n->prefix,
					  o->name, policy_ipv4_text(o->subnet, b, sizeof(b)), o->prefix);
		}
	}
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		if (!(r->values.set & (1u << KEY_NETWORK)) || strcmp(r->values.network, "none") == 0 ||
		    strcmp(r->values.network, "host") == 0 || policy_find_network(p, r->values.network))
			continue;
		add_error(&e, -EINVAL, "%s:%d: network = %s: there is no [network %s]", p->files[r->file], r->line,
			  r->values.network, r->values.network);
	}
	return e.first;
}

/* A user or group name as it may stand in a section or in exempt. */
static bool name_ok(const char *n)
{
	size_t len = strlen(n);
	if (len == 0 || len > POLICY_NAME_MAX || n[0] == '-')
		return false;
	for (const char *c = n; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '_' || *c == '-' || *c == '.' || (*c == '$' && c[1] == '\0')))
			return false;
	return true;
}

static int parse_exempt(struct policy *p, const char *value, char *why, size_t why_size)
{
	char buf[4096];
	if (copy_list(value, buf, sizeof(buf), why, why_size) < 0)
		return -EINVAL;
	p->n_exempt = 0;
	char *save = NULL;
	FOR_EACH_WORD (w, buf, save) {
		bool group = w[0] == '@';
		const char *name = group ? w + 1 : w;
		if (!name_ok(name)) {
			snprintf(why, why_size, "'%.64s' is not a user name or @group", w);
			return -EINVAL;
		}
		if (p->n_exempt >= POLICY_EXEMPT_MAX) {
			snprintf(why, why_size, "more than %d entries", POLICY_EXEMPT_MAX);
			return -E2BIG;
		}
		p->exempt[p->n_exempt].group = group;
		strcpy(p->exempt[p->n_exempt].name, name);
		p->n_exempt++;
	}
	return 0;
}

/* ---- files ----------------------------------------------------------- */

void policy_init_empty(struct policy *p, const char *main_path)
{
	/* Only the counters: the tables are large (a long-lived supervisor
	 * holds one) and every entry is written before it is counted, so their
	 * pages are touched only as far as a policy really goes. */
	snprintf(p->path, sizeof(p->path), "%s", main_path);
	p->builtin = false;
	p->n_files = 0;
	p->on_error_allow = false;
	p->on_error_file = -1;
	p->n_exempt = 0;
	p->exempt_file = -1;
	p->subids_auto = false;
	p->subids_pool_start = SUBIDS_POOL_START;
	p->subids_pool_end = SUBIDS_POOL_END;
	p->subids_file = -1;
	p->n_rules = 0;
	p->n_networks = 0;
}

void policy_init_builtin(struct policy *p)
{
	policy_init_empty(p, "");
	p->builtin = true;
}

/* iniparser reports syntax errors through a printf-like callback; keep the
 * first. Only the helper, the supervisor and the CLI parse policy, each
 * single-threaded. */
static char ini_error[512];

static int ini_error_cb(const char *fmt, ...)
{
	if (ini_error[0])
		return 0;
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(ini_error, sizeof(ini_error), fmt, ap);
	va_end(ap);
	for (char *c = ini_error; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return 0;
}

static void dictionary_freep(dictionary **d)
{
	if (*d)
		iniparser_freedict(*d);
}
#define _cleanup_dict_ __attribute__((cleanup(dictionary_freep)))

/* The structure iniparser does not report: line numbers and sections that
 * appear twice in one file. Section names as iniparser makes them: trimmed
 * and lower-cased. */
/* What iniparser forgets: the line of each section and of each key (so
 * that every error names the line of the offending key, as sshd -t does). */
#define SCAN_KEYS_MAX 16384
struct scanned {
	size_t n, n_keys;
	struct {
		char name[POLICY_NAME_MAX + 16];
		char orig[POLICY_NAME_MAX + 16]; /* as written: user and group names keep their case */
		int line;
	} sec[SCAN_SECTIONS_MAX];
	struct {
		size_t sec; /* index in sec[] */
		char name[48];
		int line; /* of the last occurrence: the value iniparser keeps */
	} key[SCAN_KEYS_MAX];
};

/* A "key = value" line inside section s->n - 1: its key, lower-cased as
 * iniparser has it. */
static void scan_key(const char *text, size_t a, size_t b, int line, struct scanned *s)
{
	if (s->n == 0 || text[a] == ';' || text[a] == '#')
		return;
	size_t eq = a;
	while (eq < b && text[eq] != '=' && text[eq] != ':')
		eq++;
	size_t kb = eq;
	while (kb > a && isspace((unsigned char)text[kb - 1]))
		kb--;
	if (eq == b || kb == a || kb - a >= sizeof(s->key[0].name))
		return;
	char name[sizeof(s->key[0].name)];
	for (size_t k = 0; k < kb - a; k++)
		name[k] = (char)tolower((unsigned char)text[a + k]);
	name[kb - a] = '\0';
	for (size_t k = s->n_keys; k-- > 0 && s->key[k].sec == s->n - 1;)
		if (strcmp(s->key[k].name, name) == 0) {
			s->key[k].line = line;
			return;
		}
	if (s->n_keys == SCAN_KEYS_MAX)
		return;
	s->key[s->n_keys].sec = s->n - 1;
	strcpy(s->key[s->n_keys].name, name);
	s->key[s->n_keys].line = line;
	s->n_keys++;
}

static void scan_sections(const char *text, size_t len, struct scanned *s, const char *file, struct errbuf *e)
{
	int line = 0;
	s->n = 0;
	s->n_keys = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		line++;
		size_t a = i, b = j;
		while (a < b && isspace((unsigned char)text[a]))
			a++;
		while (b > a && isspace((unsigned char)text[b - 1]))
			b--;
		if (b > a + 1 && text[a] == '[' && text[b - 1] == ']') {
			size_t na = a + 1, nb = b - 1;
			while (na < nb && isspace((unsigned char)text[na]))
				na++;
			while (nb > na && isspace((unsigned char)text[nb - 1]))
				nb--;
			if (nb - na < sizeof(s->sec[0].name) && s->n < SCAN_SECTIONS_MAX) {
				char name[sizeof(s->sec[0].name)];
				for (size_t k = 0; k < nb - na; k++)
					name[k] = (char)tolower((unsigned char)text[na + k]);
				name[nb - na] = '\0';
				for (size_t k = 0; k < s->n; k++)
					if (strcmp(s->sec[k].name, name) == 0)
						add_error(e, -EINVAL,
							  "%s:%d: section [%s] appears twice (first at line %d)", file,
							  line, name, s->sec[k].line);
				strcpy(s->sec[s->n].name, name);
				memcpy(s->sec[s->n].orig, text + na, nb - na);
				s->sec[s->n].orig[nb - na] = '\0';
				s->sec[s->n].line = line;
				s->n++;
			}
		} else if (b > a) {
			scan_key(text, a, b, line, s);
		}
		i = j + 1;
	}
}

static int section_line(const struct scanned *s, const char *name)
{
	for (size_t k = 0; k < s->n; k++)
		if (strcmp(s->sec[k].name, name) == 0)
			return s->sec[k].line;
	return 0;
}

/* The line of key in section (its section's line when not found). */
static int key_line(const struct scanned *s, const char *section, const char *key)
{
	for (size_t k = 0; k < s->n; k++) {
		if (strcmp(s->sec[k].name, section) != 0)
			continue;
		for (size_t j = 0; j < s->n_keys; j++)
			if (s->key[j].sec == k && strcmp(s->key[j].name, key) == 0)
				return s->key[j].line;
		return s->sec[k].line;
	}
	return 0;
}

/* The section as written in the file (iniparser lower-cases it), or NULL. */
static const char *section_orig(const struct scanned *s, const char *name)
{
	for (size_t k = 0; k < s->n; k++)
		if (strcmp(s->sec[k].name, name) == 0)
			return s->sec[k].orig;
	return NULL;
}

/* "default", "global", "user NAME", "group NAME". */
static int section_kind(const char *section, bool *global, enum rule_kind *kind, const char **name)
{
	*global = false;
	*name = "";
	if (strcmp(section, "global") == 0) {
		*global = true;
		return 0;
	}
	if (strcmp(section, "default") == 0) {
		*kind = RULE_DEFAULT;
		return 0;
	}
	const char *rest = NULL;
	if (strncmp(section, "user ", 5) == 0) {
		*kind = RULE_USER;
		rest = section + 5;
	} else if (strncmp(section, "group ", 6) == 0) {
		*kind = RULE_GROUP;
		rest = section + 6;
	} else {
		return -ENOENT;
	}
	while (*rest == ' ')
		rest++;
	*name = rest;
	return name_ok(rest) ? 0 : -EINVAL;
}

static struct policy_rule *rule_for(struct policy *p, unsigned file, int line, enum rule_kind kind, const char *name)
{
	/* One rule per section of a file: find the one this file opened. */
	for (size_t i = p->n_rules; i-- > 0;) {
		struct policy_rule *r = &p->rules[i];
		if (r->file != file)
			break;
		if (r->kind == kind && strcmp(r->name, name) == 0)
			return r;
	}
	if (p->n_rules >= POLICY_RULES_MAX)
		return NULL;
	struct policy_rule *r = &p->rules[p->n_rules++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->file = file;
	r->line = line;
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

/* A line of a [network NAME] section: its header (key NULL) or a key. */
static void network_section(struct policy *p, unsigned file, const char *fname, int line, const char *section,
			    const char *key, const char *value, struct errbuf *e)
{
	const char *name = section + 8;
	while (*name == ' ')
		name++;
	if (!net_name_ok(name)) {
		if (!key)
			add_error(e, -EINVAL, "%s:%d: [%.64s]: '%.40s' is not a network name (a-z 0-9 - _, at most %d)",
				  fname, line, section, name, POLICY_NET_NAME_MAX);
		return;
	}
	struct policy_network *n = (struct policy_network *)policy_find_network(p, name);
	if (n && n->file != file) {
		if (!key)
			add_error(e, -EINVAL, "%s:%d: [network %s] is already in %s:%d", fname, line, name,
				  p->files[n->file], n->line);
		return;
	}
	if (!n) {
		if (p->n_networks >= POLICY_NETWORKS_MAX) {
			if (!key)
				add_error(e, -E2BIG, "%s:%d: more than %d networks", fname, line, POLICY_NETWORKS_MAX);
			return;
		}
		n = &p->networks[p->n_networks++];
		memset(n, 0, sizeof(*n));
		strcpy(n->name, name);
		n->file = file;
		n->line = line;
	}
	if (!key)
		return;
	char why[512] = "";
	int r = parse_network_key(n, key, value ? value : "", why, sizeof(why));
	if (r < 0)
		add_error(e, r, "%s:%d: [network %s] %s: %s", fname, line, name, key, why);
}

/* "namespaces hostname ... rlimit_*": from the key table, never a copy of it. */
static const char *known_keys(void)
{
	static char text[KEY_COUNT * 16 + 16];
	if (!text[0]) {
		size_t n = 0;
		for (int k = 0; k < KEY_COUNT; k++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s ", policy_keys[k].name);
		snprintf(text + n, sizeof(text) - n, "rlimit_*");
	}
	return text;
}

static void load_text(struct policy *p, unsigned file, const char *name, int fd, struct errbuf *e)
{
	char procpath[64];
	static struct scanned scan;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		add_error(e, neg_errno(), "%s: cannot stat", name);
		return;
	}
	if ((uint64_t)st.st_size > POLICY_FILE_MAX_BYTES) {
		add_error(e, -EFBIG, "%s: larger than %u bytes", name, POLICY_FILE_MAX_BYTES);
		return;
	}
	_cleanup_free_ char *text = malloc((size_t)st.st_size + 1);
	if (!text) {
		add_error(e, -ENOMEM, "%s: out of memory", name);
		return;
	}
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t k = pread(fd, text + len, (size_t)st.st_size - len, (off_t)len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			add_error(e, neg_errno(), "%s: cannot be read", name);
			return;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		add_error(e, -EINVAL, "%s: contains a NUL byte", name);
		return;
	}
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		add_error(e, -EINVAL, "%s: starts with a byte order mark; save it as plain UTF-8", name);
		return;
	}
	scan_sections(text, len, &scan, name, e);

	/* iniparser takes a path: give it the fd we opened and checked, so
	 * that what is parsed is what was checked. */
	snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", fd);
	ini_error[0] = '\0';
	iniparser_set_error_callback(ini_error_cb);
	_cleanup_dict_ dictionary *d = iniparser_load(procpath);
	iniparser_set_error_callback(NULL);
	if (!d || ini_error[0]) {
		add_error(e, -EINVAL, "%s: %s", name, ini_error[0] ? ini_error : "cannot be parsed");
		return;
	}

	/* Walk the dictionary in file order: sections have no ':' and no value;
	 * keys are "section:key". */
	for (ssize_t i = 0; i < d->size; i++) {
		const char *k = d->key[i];
		if (!k)
			continue;
		const char *colon = strchr(k, ':');
		char section[POLICY_NAME_MAX + 16];
		size_t slen = colon ? (size_t)(colon - k) : strlen(k);
		if ((!colon && d->val[i]) || (colon && colon == k)) {
			add_error(e, -EINVAL, "%s: key '%.64s' is outside any section", name, colon ? colon + 1 : k);
			continue;
		}
		if (slen >= sizeof(section)) {
			add_error(e, -EINVAL, "%s: section name '%.32s...' too long", name, k);
			continue;
		}
		memcpy(section, k, slen);
		section[slen] = '\0';
		int sline = section_line(&scan, section);
		int line = colon ? key_line(&scan, section, colon + 1) : sline;
		if (strncmp(section, "network ", 8) == 0) {
			network_section(p, file, name, line, section, colon ? colon + 1 : NULL, d->val[i], e);
			continue;
		}
		bool global;
		enum rule_kind kind = RULE_DEFAULT;
		const char *who;
		int r = section_kind(section, &global, &kind, &who);
		/* [user Bob] names Bob, not bob: the name as written (the two
		 * spellings in one file are the same section to iniparser, which
		 * scan_sections() reports as a section written twice). */
		const char *orig = r == 0 && !global && kind != RULE_DEFAULT ? section_orig(&scan, section) : NULL;
		if (orig && strlen(orig) == strlen(section))
			who = orig + (who - section);
		if (r == -ENOENT) {
			if (!colon)
				add_error(e, -EINVAL,
					  "%s:%d: unknown section [%.64s] (known: [global] [default] [group NAME] "
					  "[user NAME] [network NAME])",
					  name, line, section);
			continue;
		}
		if (r < 0) {
			if (!colon)
				add_error(e, -EINVAL, "%s:%d: [%.64s]: '%.64s' is not a valid name", name, line,
					  section, who);
			continue;
		}
		if (!colon) {
			if (global)
				continue;
			/* A [user] section in several files merges key by key in
			 * reading order, like [default] and [group]: a
			 * config-management drop-in that repeats one must not lock
			 * the host out (nsiso check notes the overrides). */
			if (!rule_for(p, file, sline, kind, who))
				add_error(e, -E2BIG, "%s: more than %d sections in all", name, POLICY_RULES_MAX);
			continue;
		}

		const char *key = colon + 1;
		const char *value = d->val[i] ? d->val[i] : "";
		char why[512] = "";
		if (global) {
			if (strcmp(key, "on_error") == 0) {
				if (strcmp(value, "deny") == 0 || strcmp(value, "allow") == 0) {
					p->on_error_allow = strcmp(value, "allow") == 0;
					p->on_error_file = (int)file;
				} else {
					add_error(e, -EINVAL, "%s:%d: [global] on_error: '%.32s' is not deny or allow",
						  name, line, value);
				}
			} else if (strcmp(key, "exempt") == 0) {
				r = parse_exempt(p, value, why, sizeof(why));
				if (r < 0)
					add_error(e, r, "%s:%d: [global] exempt: %s", name, line, why);
				else
					p->exempt_file = (int)file;
			} else if (strcmp(key, "subids") == 0) {
				if (strcmp(value, "files") == 0 || strcmp(value, "auto") == 0) {
					p->subids_auto = strcmp(value, "auto") == 0;
					p->subids_file = (int)file;
				} else {
					add_error(e, -EINVAL, "%s:%d: [global] subids: '%.32s' is not files or auto",
						  name, line, value);
				}
			} else if (strcmp(key, "subids_pool") == 0) {
				unsigned long long a = 0, b = 0;
				char extra;
				if (sscanf(value, "%llu-%llu%c", &a, &b, &extra) != 2 ||
				    !isdigit((unsigned char)value[0]) || a < 65536 || b >= (1ull << 31) ||
				    b < a + SUBID_BLOCK - 1) {
					add_error(e, -EINVAL,
						  "%s:%d: [global] subids_pool: '%.40s' is not START-END within "
						  "65536..2147483647, "
						  "holding at least one range of %u",
						  name, line, value, SUBID_BLOCK);
				} else {
					p->subids_pool_start = (uint32_t)a;
					p->subids_pool_end = (uint32_t)b;
				}
			} else {
				add_error(
				    e, -EINVAL,
				    "%s:%d: [global] unknown key '%.64s' (known: on_error exempt subids subids_pool)",
				    name, line, key);
			}
			continue;
		}
		struct policy_rule *rule = rule_for(p, file, sline, kind, who);
		if (!rule) {
			add_error(e, -E2BIG, "%s: more than %d sections in all", name, POLICY_RULES_MAX);
			continue;
		}
		if (strncmp(key, "rlimit_", 7) == 0) {
			r = parse_rlimit(&rule->values, key + 7, value, why, sizeof(why));
			if (r < 0)
				add_error(e, r, "%s:%d: [%s] %s: %s", name, line, section, key, why);
			continue;
		}
		int ki = -1;
		for (int j = 0; j < KEY_COUNT; j++)
			if (strcmp(key, policy_keys[j].name) == 0)
				ki = j;
		if (ki < 0) {
			add_error(e, -EINVAL, "%s:%d: [%s] unknown key '%.64s' (known: %s)", name, line, section, key,
				  known_keys());
			continue;
		}
		r = policy_keys[ki].parse(&rule->values, (enum policy_key)ki, value, why, sizeof(why));
		if (r < 0) {
			add_error(e, r, "%s:%d: [%s] %s: %s", name, line, section, key, why);
			continue;
		}
		rule->values.set |= 1u << ki;
	}
}

static int add_file(struct policy *p, const char *name, unsigned *index)
{
	if (p->n_files >= POLICY_FILES_MAX)
		return -E2BIG;
	/* Never a cut path: it names the file in errors and explain, and the
	 * last valid policy is copied from it. */
	if (strlen(name) >= sizeof(p->files[0]))
		return -ENAMETOOLONG;
	strcpy(p->files[p->n_files], name);
	*index = (unsigned)p->n_files++;
	return 0;
}

int policy_load_fd(struct policy *p, int fd, const char *name, char *err, size_t err_size)
{
	struct errbuf e = { .buf = err, .size = err_size };
	unsigned idx;
	if (err_size)
		err[0] = '\0';
	if (add_file(p, name, &idx) < 0) {
		add_error(&e, -E2BIG, "%s: more than %d files", name, POLICY_FILES_MAX);
		return e.first;
	}
	load_text(p, idx, name, fd, &e);
	return e.first;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int policy_load(struct policy *p, const char *path, char *err, size_t err_size)
{
	struct errbuf e = { .buf = err, .size = err_size };
	char why[512], dpath[POLICY_PATH_MAX + 8];
	if (err_size)
		err[0] = '\0';
	policy_init_empty(p, path);
	if (strlen(path) >= POLICY_PATH_MAX) {
		add_error(&e, -ENAMETOOLONG, "%s: path too long", path);
		return e.first;
	}

	int fd = open_trusted_file(path, why, sizeof(why));
	if (fd >= 0) {
		unsigned idx = 0;
		(void)add_file(p, path, &idx);
		load_text(p, idx, path, fd, &e);
		(void)close(fd);
	} else if (fd != -ENOENT) {
		add_error(&e, fd, "%s: %s", path, why[0] ? why : strerror(-fd));
	}

	snprintf(dpath, sizeof(dpath), "%s.d", path);
	_cleanup_close_ int dir = open_trusted_dir(dpath, why, sizeof(why));
	if (dir < 0 && dir != -ENOENT)
		add_error(&e, dir, "%s: %s", dpath, why[0] ? why : strerror(-dir));
	if (dir >= 0) {
		int dfd = fcntl(dir, F_DUPFD_CLOEXEC, 3);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (!d) {
			if (dfd >= 0)
				(void)close(dfd);
			add_error(&e, neg_errno(), "%s: cannot be listed", dpath);
		} else {
			char *names[POLICY_FILES_MAX];
			size_t n = 0;
			struct dirent *de;
			while ((de = readdir(d))) {
				size_t len = strlen(de->d_name);
				if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
					continue;
				if (n >= POLICY_FILES_MAX - 1) {
					add_error(&e, -E2BIG, "%s: more than %d drop-ins", dpath, POLICY_FILES_MAX - 1);
					break;
				}
				names[n] = strdup(de->d_name);
				if (!names[n]) {
					add_error(&e, -ENOMEM, "%s: out of memory", dpath);
					break;
				}
				n++;
			}
			(void)closedir(d);
			qsort(names, n, sizeof(names[0]), cmp_names);
			for (size_t i = 0; i < n; i++) {
				char full[sizeof(dpath) + 258];
				snprintf(full, sizeof(full), "%s/%s", dpath, names[i]);
				int f = open_trusted_at(dir, names[i], why, sizeof(why));
				if (f < 0) {
					add_error(&e, f, "%s: %s", full, why[0] ? why : strerror(-f));
				} else {
					unsigned idx = 0;
					int a = add_file(p, full, &idx);
					if (a < 0)
						add_error(&e, a, "%s: %s", full,
							  a == -E2BIG ? "too many files" : "path too long");
					else
						load_text(p, idx, full, f, &e);
					(void)close(f);
				}
				free(names[i]);
			}
		}
	}
	if (e.first == 0)
		e.first = policy_check_networks(p, err, err_size);
	p->builtin = p->n_files == 0 && e.first == 0;
	return e.first;
}

/* ---- resolving ------------------------------------------------------- */

/* %u %U %g %h of a template into out; -EINVAL for an unknown % or no room. */
static int expand_template(const char *tmpl, const struct policy_who *who, char *out, size_t out_size)
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
	if (expand_template(tmpl, who, out, out_size) < 0)
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
	return expand_template(tmpl, who, out, size) < 0 || !view_path_ok(out, false) ? -EINVAL : 0;
}

/* (a target checked again after expansion: the template alone decided) */
static bool target_ok(enum mount_kind kind, const char *dst)
{
	return kind == MOUNT_HIDE || !system_target(dst);
}

static int expand_mounts(const struct chosen *c, const struct policy_who *who, struct policy_settings *s, char *err,
			 size_t err_size)
{
	s->n_mounts = 0;
	for (int kind = 0; kind < MOUNT_KINDS; kind++) {
		if (!c->mounts[kind])
			continue;
		char buf[POLICY_MOUNT_LIST_MAX], *save = NULL;
		snprintf(buf, sizeof(buf), "%s", c->mounts[kind]);
		FOR_EACH_WORD (w, buf, save) {
			if (s->n_mounts == POLICY_MOUNTS_MAX) {
				snprintf(err, err_size,
					 "more than %d entries in bind, bind_ro, hide and tmpfs for user %.64s",
					 POLICY_MOUNTS_MAX, who->user);
				return -E2BIG;
			}
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
			if (r < 0) {
				snprintf(err, err_size, "%s entry '%.64s' (%s) for user %.64s is not a usable path",
					 policy_keys[KEY_BIND + kind].name, w, s->source[KEY_BIND + kind], who->user);
				return -EINVAL;
			}
			snprintf(m->size, sizeof(m->size), "%s", kind == MOUNT_TMPFS && second ? second : s->tmp_size);
			s->n_mounts++;
		}
	}
	return 0;
}

int policy_check_mount_sources(const struct policy *p, char *err, size_t err_size)
{
	struct errbuf e = { .buf = err, .size = err_size };
	if (err_size)
		err[0] = '\0';
	for (size_t i = 0; i < p->n_rules; i++) {
		const struct policy_rule *r = &p->rules[i];
		for (int kind = MOUNT_BIND; kind <= MOUNT_BIND_RO; kind++) {
			if (!(r->values.set & (1u << (KEY_BIND + kind))))
				continue;
			char buf[POLICY_MOUNT_LIST_MAX], *save = NULL;
			snprintf(buf, sizeof(buf), "%s", r->values.mounts[kind]);
			FOR_EACH_WORD (w, buf, save) {
				char *colon = strchr(w, ':');
				if (colon)
					*colon = '\0';
				struct stat st;
				if (!strchr(w, '%') && lstat(w, &st) < 0)
					add_error(&e, -ENOENT, "%s:%d: %s source %s: %s", p->files[r->file], r->line,
						  policy_keys[KEY_BIND + kind].name, w, strerror(errno));
			}
		}
	}
	return e.first;
}

int policy_resolve(const struct policy *p, const struct policy_who *who, struct policy_settings *s, char *err,
		   size_t err_size)
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
		if (!n) {
			snprintf(err, err_size, "network %.40s (%s) is not defined", s->network,
				 s->source[KEY_NETWORK]);
			return -EINVAL;
		}
		if (!(s->ns_mask & NS_BIT(NS_NET))) {
			snprintf(err, err_size,
				 "network %.40s (%s) needs the net namespace, which namespaces (%s) leaves out",
				 s->network, s->source[KEY_NETWORK], s->source[KEY_NAMESPACES]);
			return -EINVAL;
		}
		s->net = *n;
	}
	if (policy_expand_hostname(tmpl, who, s->hostname, sizeof(s->hostname)) < 0) {
		snprintf(err, err_size,
			 "hostname '%.64s' (%s) for user %.64s is not a valid hostname of at most %d characters", tmpl,
			 s->source[KEY_HOSTNAME], who->user, POLICY_HOSTNAME_MAX);
		return -EINVAL;
	}
	return expand_mounts(&c, who, s, err, err_size);
}

const char *policy_value_text(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	if (k < KEY_COUNT)
		policy_keys[k].text(s, k, buf, size);
	else
		snprintf(buf, size, "?");
	return buf;
}
