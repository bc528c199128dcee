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

/* The value parsers and the key table (see policy-internal.h). */

/* ---- errors ---------------------------------------------------------- */

void add_error(struct errbuf *e, int error, const char *fmt, ...)
{
	char line[NSISO_DETAIL_MAX * 2];
	va_list ap;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!e->first) {
		e->first = error < 0 ? error : -EINVAL;
		if (e->out)
			(void)error_at(e->out, STEP_POLICY, e->first, "%s", line);
	}
	struct policy *p = e->p;
	size_t used = strlen(p->errors), len = strlen(line);
	if (used + len + 2 > sizeof(p->errors))
		return; /* the first errors are kept; nsiso check says the rest after a fix */
	if (used)
		p->errors[used++] = '\n';
	memcpy(p->errors + used, line, len + 1);
}

/* ---- values ---------------------------------------------------------- */

/* A writable copy of a list value, refused when longer than the buffer. */
int copy_list(const char *value, char *buf, size_t size, struct nsiso_error *e)
{
	if (strlen(value) >= size)
		return error_set(e, -EINVAL, "value too long");
	strcpy(buf, value);
	return 0;
}

static int parse_namespaces(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	(void)row;
	char buf[256];
	if (copy_list(value, buf, sizeof(buf), e) < 0)
		return -EINVAL;
	unsigned mask = 0;
	char *save = NULL;
	FOR_EACH_WORD (w, buf, save) {
		int i = ns_index_from_word(w);
		if (i < 0)
			return error_set(e, -EINVAL,
					 "unknown namespace '%.32s' (known: pid mount ipc uts net user cgroup)", w);
		if (mask & NS_BIT(i))
			return error_set(e, -EINVAL, "namespace '%s' listed twice", w);
		mask |= NS_BIT(i);
	}
	if (mask == 0)
		return error_set(e, -EINVAL, "no namespace listed (to leave users out, use exempt in [global])");
	/* A PID namespace without its own mount namespace would keep the host's
	 * /proc: ps inside would show the host. */
	if ((mask & NS_BIT(NS_PID)) && !(mask & NS_BIT(NS_MNT)))
		return error_set(e, -EINVAL, "'pid' needs 'mount' (a fresh /proc is mounted in it)");
	*(unsigned *)field = mask;
	return 0;
}

static int parse_hostname(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	char probe[POLICY_HOSTNAME_MAX + 1];
	struct policy_who stand_in = { .user = "u", .uid = 1, .group = "g", .host = "h" };
	if (strlen(value) >= row->v_size)
		return error_set(e, -EINVAL, "template longer than %d characters", POLICY_HOSTNAME_TEMPLATE_MAX - 1);
	/* Syntax and characters now, with short stand-ins; the real length when
	 * a user is resolved. */
	if (policy_expand_hostname(value, &stand_in, probe, sizeof(probe)) < 0) {
		return error_set(
		    e, -EINVAL,
		    "invalid hostname template '%.64s' (letters, digits, '-', '.', '_', %%u %%U %%g %%h; at most %d "
		    "characters)",
		    value, POLICY_HOSTNAME_MAX);
	}
	strcpy(field, value);
	return 0;
}

/* Keys whose value is one word of a list; the index is the enum value
 * stored (an int-sized enum, at the key's place in the table). */
static const char *const userns_words[] = { "keep-id+subuid", "keep-id", NULL };
static const char *const tmp_words[] = { "private", "shared", NULL };
static const char *const home_words[] = { "shared", "read-only", "private", NULL };
static const char *const seccomp_words[] = { "default", "off", NULL };
static const char *const yes_no_words[] = { "yes", "no", NULL };
static const char *const system_bus_words[] = { "none", "host", NULL };

static int parse_choice(void *field, const struct key_def *row, const char *value, struct nsiso_error *e);

static int parse_linger(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	(void)row;
	int64_t *linger = field;
	if (strcmp(value, "no") == 0) {
		*linger = 0;
		return 0;
	}
	if (strcmp(value, "yes") == 0) {
		*linger = POLICY_LINGER_FOREVER;
		return 0;
	}
	char *end;
	errno = 0;
	if (!isdigit((unsigned char)value[0]))
		return error_set(e, -EINVAL, "'%.32s' is not no, yes or a number of seconds", value);
	unsigned long long s = strtoull(value, &end, 10);
	if (errno || *end || s > POLICY_LINGER_MAX_S)
		return error_set(e, -ERANGE, "'%.32s' is not no, yes or 0..%d seconds", value, POLICY_LINGER_MAX_S);
	*linger = (int64_t)s;
	return 0;
}

/* idle_timeout, max_session, timeout_warning: no (or 0), or a number of
 * seconds, minutes, hours or days (N, Ns, Nm, Nh, Nd), at most a year. */
static int parse_duration(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	(void)row;
	int64_t *out = field;
	if (strcmp(value, "no") == 0) {
		*out = 0;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long n = isdigit((unsigned char)value[0]) ? strtoull(value, &end, 10) : (end = (char *)value, 0);
	unsigned long long unit = 1;
	if (end != value && *end && !end[1]) {
		const char *u = strchr("smhd", *end);
		unit = !u ? 0 : *u == 's' ? 1 : *u == 'm' ? 60 : *u == 'h' ? 3600 : 86400;
		end += unit != 0;
	}
	if (end == value || *end || errno || unit == 0 || n > POLICY_DURATION_MAX_S / unit)
		return error_set(e, -EINVAL, "'%.32s' is not no or a duration (N, Ns, Nm, Nh or Nd, at most 366d)",
				 value);
	*out = (int64_t)(n * unit);
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

static int parse_capabilities(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	(void)row;
	char buf[1024];
	if (copy_list(value, buf, sizeof(buf), e) < 0)
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
		if (found < 0)
			return error_set(e, -EINVAL, "unknown capability '%.32s'", w);
		mask |= UINT64_C(1) << found;
	}
	*(uint64_t *)field = mask;
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
int parse_rlimit(struct policy_values *v, const char *name, const char *value, struct nsiso_error *e)
{
	int idx = -1;
	for (int i = 0; i < POLICY_RLIMITS; i++)
		if (strcmp(name, policy_rlimit_names[i].name) == 0)
			idx = i;
	if (idx < 0)
		return error_set(e, -EINVAL,
				 "unknown limit '%.32s' (known: cpu fsize data stack core nproc nofile memlock as "
				 "locks sigpending msgqueue nice rtprio rttime)",
				 name);
	char buf[64], *colon;
	if (copy_list(value, buf, sizeof(buf), e) < 0)
		return -EINVAL;
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	struct policy_rlimit l;
	int r = parse_limit_number(buf, &l.soft);
	if (r == 0)
		r = colon ? parse_limit_number(colon + 1, &l.hard) : (l.hard = l.soft, 0);
	if (r < 0)
		return error_set(e, r, "'%.32s' is not soft[:hard], each a number or unlimited", value);
	if (l.soft > l.hard)
		return error_set(e, -EINVAL, "soft limit above the hard limit");
	v->rlimit[idx] = l;
	v->rlimit_set |= 1u << idx;
	return 0;
}

/* A share of the host's memory, for "N%" values and the built-in default. */
uint64_t host_memory_share(unsigned pct)
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
static int parse_bytes(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
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
		if (end == value || errno || n == 0 || n > (UINT64_MAX >> shift) - 1 || (n << shift) < (1u << 20))
			return error_set(
			    e, -EINVAL, "'%.32s' is not max, N%% or a size of at least 1M (a number with K, M, G or T)",
			    value);
		bytes = (uint64_t)n << shift;
	}
	(void)row;
	*(uint64_t *)field = bytes;
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

static int parse_tmpfs_size(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	if (!tmpfs_size_ok(value) || strlen(value) >= row->v_size)
		return error_set(e, -EINVAL,
				 "'%.32s' is not max, N%% or a size of at least 1M (a number with K, M or G)", value);
	strcpy(field, value);
	return 0;
}

int parse_uint(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
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
static int parse_count(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	uint64_t n = CG_UNLIMITED;
	if (!(row->max_ok && strcmp(value, "max") == 0) && parse_uint(value, row->lo, row->hi, &n) < 0)
		return error_set(e, -EINVAL, "'%.32s' is not %s", value, row->hint);
	if (row->v_size == sizeof(uint64_t))
		*(uint64_t *)field = n;
	else
		*(uint32_t *)field = (uint32_t)n;
	return 0;
}

/* devices: none, or up to POLICY_DEVICE_PATTERNS_MAX paths under /dev/,
 * each a device or a glob (* ? [...]) of devices: no "..", no "//", no
 * path that ends in '/', only A-Z a-z 0-9 / . _ - + : and glob characters. */
static int parse_devices(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	if (strcmp(value, "none") == 0) {
		*(char *)field = '\0';
		return 0;
	}
	if (strlen(value) >= row->v_size)
		return error_set(e, -EINVAL, "longer than %zu characters", row->v_size - 1);
	char buf[POLICY_DEVICES_MAX];
	snprintf(buf, sizeof(buf), "%s", value);
	int n = 0;
	char *save = NULL;
	for (char *w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save), n++) {
		if (n == POLICY_DEVICE_PATTERNS_MAX)
			return error_set(e, -EINVAL, "more than %d devices", POLICY_DEVICE_PATTERNS_MAX);
		bool ok = strncmp(w, "/dev/", 5) == 0 && w[5] && !strstr(w, "..") && !strstr(w, "//") &&
			  w[strlen(w) - 1] != '/' && strlen(w) < 64;
		for (const char *c = w; ok && *c; c++)
			ok = isalnum((unsigned char)*c) || strchr("/._-+:*?[]!", *c);
		if (!ok)
			return error_set(e, -EINVAL,
					 "'%.64s' is not a device path or glob under /dev/ (no '..', letters, digits, "
					 "/ . _ - + : and * ? [ ])",
					 w);
	}
	snprintf(field, row->v_size, "%s", value);
	return 0;
}

/* cpus: all (0) or a number of CPUs. */
static int parse_cpus(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	(void)row;
	uint64_t n = 0;
	if (strcmp(value, "all") != 0 && parse_uint(value, 1, 4096, &n) < 0)
		return error_set(e, -EINVAL, "'%.32s' is not all or a number of CPUs (1..4096)", value);
	*(uint32_t *)field = (uint32_t)n;
	return 0;
}

/* cpu_max: max, N% of one CPU (per 100 ms), or "QUOTA PERIOD" in
 * microseconds as cgroup v2's cpu.max has it. */
static int parse_cpu_max(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	(void)row;
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
	if (r < 0)
		return error_set(
		    e, -EINVAL,
		    "'%.32s' is not max, a percentage of one CPU (50%%, 200%%) or \"QUOTA PERIOD\" in microseconds "
		    "(quota >= 1000, period 1000..1000000)",
		    value);
	/* quota and period, side by side in struct cg_limits (STORE_CPU_MAX) */
	uint64_t *qp = field;
	qp[0] = quota;
	qp[1] = period;
	return 0;
}

const char *policy_ipv4_text(uint32_t a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

bool net_name_ok(const char *n)
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
static int parse_network(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	(void)row;
	if (!net_name_ok(value))
		return error_set(e, -EINVAL, "'%.40s' is not none, host or a network name (a-z 0-9 - _, at most %d)",
				 value, POLICY_NET_NAME_MAX);
	strcpy(field, value);
	return 0;
}

/* A path of the filesystem view, before or after expansion: absolute, no
 * empty, "." or ".." component, no trailing slash, no space or control
 * character, not "/" itself; with templates, '%' only as %u %U %g. */
bool view_path_ok(const char *p, bool template)
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

static bool under(const char *path, const char *root)
{
	size_t n = strlen(root);
	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Where root itself reads and writes inside a session's mount namespace:
 * sshd's monitor stays host root there (the split join) and writes utmp,
 * wtmp and lastlog (/run, /var/log), the PAM modules after pam_nsiso read
 * /etc/security and /etc/environment, pam_motd writes /run/motd.dynamic,
 * pam_mail reads /var/mail. Content a tenant could write (a read-write
 * bind, a tmpfs, a bind of a tenant's directory) must never appear where
 * one of them follows a planted symlink to a host file (a wtmp symlinked
 * to /etc/shadow: THREATS 57). So a bind, bind_ro or tmpfs target must lie
 * under one of these roots, which no host-root step of a session touches;
 * hide (an empty, read-only cover) may stand anywhere but /proc, /sys and
 * /dev. nsiso.conf(5) lists them. */
static const char *const view_roots[] = { "/home",    "/srv",  "/opt",	    "/mnt",    "/media",  "/data",
					  "/scratch", "/work", "/projects", "/course", "/courses" };

const char *view_target_refused(const char *path)
{
	for (size_t i = 0; i < sizeof(view_roots) / sizeof(view_roots[0]); i++)
		if (under(path, view_roots[i]))
			return NULL;
	return "it is not under /home, /srv, /opt, /mnt, /media, /data, /scratch, /work, /projects, /course or "
	       "/courses, where no host-root step of a session reads or writes";
}

/* Sources that would hand the container the host's kernel interfaces or
 * nsiso's own state (THREATS 30). */
static const char *const refused_sources[] = { "/proc", "/sys", "/dev", "/run/nsiso", "/var/lib/nsiso" };

const char *view_source_refused(const char *path)
{
	for (size_t i = 0; i < sizeof(refused_sources) / sizeof(refused_sources[0]); i++)
		if (under(path, refused_sources[i]))
			return refused_sources[i];
	return NULL;
}

/* hide: anywhere but the kernel's own filesystems, which the container
 * gets fresh. */
const char *hide_target_refused(const char *path)
{
	static const char *const kernel_dirs[] = { "/proc", "/sys", "/dev" };
	for (size_t i = 0; i < sizeof(kernel_dirs) / sizeof(kernel_dirs[0]); i++)
		if (under(path, kernel_dirs[i]))
			return kernel_dirs[i];
	return NULL;
}

/* bind, bind_ro: SOURCE[:TARGET]; hide: PATH; tmpfs: PATH[:SIZE]. */
static int parse_mount_list(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	enum mount_kind kind = (enum mount_kind)row->arg;
	char buf[POLICY_MOUNT_LIST_MAX];
	if (copy_list(value, buf, sizeof(buf), e) < 0)
		return -EINVAL;
	char *save = NULL;
	int n = 0;
	FOR_EACH_WORD (w, buf, save) {
		char *second = strchr(w, ':');
		if (second)
			*second++ = '\0';
		if (++n > POLICY_MOUNTS_MAX)
			return error_set(e, -E2BIG, "more than %d entries", POLICY_MOUNTS_MAX);
		if (!view_path_ok(w, true))
			return error_set(
			    e, -EINVAL,
			    "'%.64s' is not an absolute path without ., .., //, spaces or ':' (templates: %%u %%U %%g)",
			    w);
		if (second && kind == MOUNT_HIDE)
			return error_set(e, -EINVAL, "'%.64s:%.32s': hide takes paths only", w, second);
		if (second && kind == MOUNT_TMPFS && !tmpfs_size_ok(second))
			return error_set(e, -EINVAL,
					 "'%.64s:%.32s': the size is not max, N%% or at least 1M (K, M or G)", w,
					 second);
		if (second && kind <= MOUNT_BIND_RO && !view_path_ok(second, true))
			return error_set(e, -EINVAL,
					 "target '%.64s' is not an absolute path without ., .., //, spaces or ':'",
					 second);
		const char *target = second && kind <= MOUNT_BIND_RO ? second : w;
		const char *why = kind == MOUNT_HIDE ? hide_target_refused(target) : view_target_refused(target);
		if (why)
			return error_set(e, -EPERM, "target '%.64s' is refused: %s", target,
					 kind == MOUNT_HIDE ? "the kernel's filesystems are the container's own" : why);
		const char *src = kind <= MOUNT_BIND_RO ? view_source_refused(w) : NULL;
		if (src)
			return error_set(e, -EPERM, "source '%.64s' is refused: %s is never bound into a container", w,
					 src);
	}
	strcpy(field, value);
	return 0;
}

/* ---- the key table ------------------------------------------------------ */

#define STORE(field)                                                                                                   \
	.v_off = offsetof(struct policy_values, field), .v_size = sizeof(((struct policy_values *)0)->field),          \
	.s_off = offsetof(struct policy_settings, field), .size = sizeof(((struct policy_settings *)0)->field)
/* cpu_max: quota and period, side by side in struct cg_limits */
#define STORE_CPU_MAX                                                                                                  \
	.v_off = offsetof(struct policy_values, cg.cpu_quota), .v_size = 2 * sizeof(uint64_t),                         \
	.s_off = offsetof(struct policy_settings, cg.cpu_quota),                                                       \
	.size = offsetof(struct cg_limits, cpu_period) + sizeof(uint64_t) - offsetof(struct cg_limits, cpu_quota)

/* bind, bind_ro, hide, tmpfs: templates (no s_off), kind in arg */
#define MOUNT_LIST(kind)                                                                                               \
	.v_off = offsetof(struct policy_values, mounts[kind]),                                                         \
	.v_size = sizeof(((struct policy_values *)0)->mounts[kind]), .arg = kind

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

static void text_duration(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	int64_t v = k == KEY_IDLE_TIMEOUT  ? s->idle_timeout
		    : k == KEY_MAX_SESSION ? s->max_session
					   : s->timeout_warning;
	if (v == 0)
		snprintf(buf, size, "no");
	else
		snprintf(buf, size, "%" PRId64 "s", v);
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

static void text_devices(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	snprintf(buf, size, "%s", s->devices[0] ? s->devices : "none");
}

static void text_cpus(const struct policy_settings *s, enum policy_key k, char *buf, size_t size)
{
	(void)k;
	if (s->cg.cpus)
		snprintf(buf, size, "%" PRIu32, s->cg.cpus);
	else
		snprintf(buf, size, "all");
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
	char sub[16], ports[POLICY_NET_PORTS_MAX * 6 + 8] = "", allow[POLICY_NET_ALLOW_MAX * 26 + 8] = "";
	for (int i = 0; i < s->net.n_ports; i++)
		snprintf(ports + strlen(ports), sizeof(ports) - strlen(ports), "%s%u", i ? "," : "", s->net.ports[i]);
	for (int i = 0; i < s->net.n_allow; i++) {
		char a[16];
		snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s/%u", i ? "," : "",
			 policy_ipv4_text(s->net.allow[i].addr, a, sizeof(a)), (unsigned)s->net.allow[i].prefix);
		if (s->net.allow[i].port)
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), ":%u",
				 (unsigned)s->net.allow[i].port);
	}
	snprintf(buf, size, "%s (bridge %s, subnet %s/%u, nat %s%s, isolate %s, host_access %s%s%s)", s->network,
		 s->net.bridge, policy_ipv4_text(s->net.subnet, sub, sizeof(sub)), s->net.prefix,
		 s->net.nat ? "yes" : "no", s->net.nat && s->net.private_ranges ? " with private ranges" : "",
		 s->net.isolate ? "yes" : "no", ports[0] ? ports : "none", allow[0] ? ", allow " : "", allow);
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

const struct key_def policy_keys[KEY_COUNT] = {
	[KEY_NAMESPACES] = { "namespaces", parse_namespaces, NULL, STORE(ns_mask), text_namespaces },
	[KEY_HOSTNAME] = { "hostname", parse_hostname, NULL, .text = text_string, /* a template */
			   .v_off = offsetof(struct policy_values, hostname),
			   .v_size = sizeof(((struct policy_values *)0)->hostname),
			   .s_off = offsetof(struct policy_settings, hostname) },
	[KEY_USERNS] = { "userns", parse_choice, userns_words, STORE(userns), text_choice },
	[KEY_TMP] = { "tmp", parse_choice, tmp_words, STORE(tmp), text_choice },
	[KEY_HOME] = { "home", parse_choice, home_words, STORE(home), text_choice },
	[KEY_LINGER] = { "linger", parse_linger, NULL, STORE(linger), text_linger },
	[KEY_SECCOMP] = { "seccomp", parse_choice, seccomp_words, STORE(seccomp), text_choice },
	[KEY_NO_NEW_PRIVS] = { "no_new_privs", parse_choice, yes_no_words, STORE(no_new_privs), text_choice },
	[KEY_CAPABILITIES] = { "capabilities", parse_capabilities, NULL, STORE(capabilities), text_capabilities },
	[KEY_MEMORY_MAX] = { "memory_max", parse_bytes, NULL, STORE(cg.memory_max), text_bytes },
	[KEY_MEMORY_HIGH] = { "memory_high", parse_bytes, NULL, STORE(cg.memory_high), text_bytes },
	[KEY_PIDS_MAX] = { "pids_max", parse_count, NULL, STORE(cg.pids_max), text_pids, .lo = 1, .hi = 4194304,
			   .max_ok = true, .hint = "max or a number of processes (1..4194304)" },
	[KEY_CPU_WEIGHT] = { "cpu_weight", parse_count, NULL, STORE(cg.cpu_weight), text_weight, .lo = 1, .hi = 10000,
			     .hint = "a weight of 1..10000 (100 is the default)" },
	[KEY_CPU_MAX] = { "cpu_max", parse_cpu_max, NULL, STORE_CPU_MAX, text_cpu_max },
	[KEY_IO_WEIGHT] = { "io_weight", parse_count, NULL, STORE(cg.io_weight), text_weight, .lo = 1, .hi = 10000,
			    .hint = "a weight of 1..10000 (100 is the default)" },
	[KEY_NETWORK] = { "network", parse_network, NULL, STORE(network), text_network },
	[KEY_NESTED_USERNS] = { "nested_userns", parse_choice, yes_no_words, STORE(nested_userns), text_choice },
	[KEY_SYSTEM_BUS] = { "system_bus", parse_choice, system_bus_words, STORE(system_bus), text_choice },
	[KEY_TMP_SIZE] = { "tmp_size", parse_tmpfs_size, NULL, STORE(tmp_size), text_string },
	[KEY_SHM_SIZE] = { "shm_size", parse_tmpfs_size, NULL, STORE(shm_size), text_string },
	[KEY_IDLE_TIMEOUT] = { "idle_timeout", parse_duration, NULL, STORE(idle_timeout), text_duration },
	[KEY_MAX_SESSION] = { "max_session", parse_duration, NULL, STORE(max_session), text_duration },
	[KEY_TIMEOUT_WARNING] = { "timeout_warning", parse_duration, NULL, STORE(timeout_warning), text_duration },
	[KEY_CPUS] = { "cpus", parse_cpus, NULL, STORE(cg.cpus), text_cpus },
	[KEY_DEVICES] = { "devices", parse_devices, NULL, STORE(devices), text_devices },
	/* templates, expanded per user into s->mounts */
	[KEY_BIND] = { "bind", parse_mount_list, NULL, MOUNT_LIST(MOUNT_BIND), .text = text_mounts },
	[KEY_BIND_RO] = { "bind_ro", parse_mount_list, NULL, MOUNT_LIST(MOUNT_BIND_RO), .text = text_mounts },
	[KEY_HIDE] = { "hide", parse_mount_list, NULL, MOUNT_LIST(MOUNT_HIDE), .text = text_mounts },
	[KEY_TMPFS] = { "tmpfs", parse_mount_list, NULL, MOUNT_LIST(MOUNT_TMPFS), .text = text_mounts },
};

const char *policy_key_name(enum policy_key k)
{
	return k < KEY_COUNT ? policy_keys[k].name : "?";
}

static int parse_choice(void *field, const struct key_def *row, const char *value, struct nsiso_error *e)
{
	const char *const *words = row->choices;
	for (int i = 0; words[i]; i++)
		if (strcmp(value, words[i]) == 0) {
			*(int *)field = i;
			return 0;
		}
	(void)error_set(e, -EINVAL, "'%.64s' is not one of:", value);
	for (int i = 0; words[i]; i++) {
		size_t len = strlen(e->detail);
		snprintf(e->detail + len, sizeof(e->detail) - len, " %s", words[i]);
	}
	return -EINVAL;
}

int policy_parse_live_limit(const char *key, const char *value, struct cg_limits *lim, struct nsiso_error *e)
{
	static const enum policy_key live[] = { KEY_MEMORY_MAX, KEY_MEMORY_HIGH, KEY_PIDS_MAX,
						KEY_CPU_MAX,	KEY_CPU_WEIGHT,	 KEY_IO_WEIGHT };
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		const struct key_def *row = &policy_keys[live[i]];
		if (strcmp(row->name, key) != 0)
			continue;
		/* The parser writes its field of a policy_values; only cg is read. */
		static struct policy_values v;
		v.cg = *lim;
		int r = row->parse((char *)&v + row->v_off, row, value, e);
		if (r == 0)
			*lim = v.cg;
		return r;
	}
	return error_set(e, -EPERM,
			 "%.32s cannot change in a live container (memory_max, memory_high, pids_max, cpu_max, "
			 "cpu_weight, io_weight can)",
			 key);
}
