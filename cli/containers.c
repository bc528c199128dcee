/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nsiso list | show | enter | stop: the live containers, through their
 * supervisors' root-only sockets (OP_STATUS, OP_STOP, and for enter the
 * same attach a login does). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cgroup.h"
#include "cli.h"
#include "join.h"
#include "lastgood.h"
#include "nsverify.h"
#include "policy.h"
#include "util.h"
#include "who.h"

/* The limits nsiso show prints, by name; zero: what 0 means (io_weight
 * unset, cpus all), NULL when it is a number like the others. */
struct limit_row {
	const char *name;
	uint64_t value;
	const char *zero;
};
#define LIMIT_ROWS 8
static void limit_rows(const struct cg_limits *l, struct limit_row rows[LIMIT_ROWS])
{
	const struct limit_row r[LIMIT_ROWS] = {
		{ "memory_max", l->memory_max, NULL },	  { "memory_high", l->memory_high, NULL },
		{ "pids_max", l->pids_max, NULL },	  { "cpu_quota_us", l->cpu_quota, NULL },
		{ "cpu_period_us", l->cpu_period, NULL }, { "cpu_weight", l->cpu_weight, NULL },
		{ "io_weight", l->io_weight, "unset" },	  { "cpus", l->cpus, "all" },
	};
	memcpy(rows, r, sizeof(r));
}

static const char *human_bytes(uint64_t b, char *buf, size_t size)
{
	if (b == CG_UNLIMITED) {
		snprintf(buf, size, "-");
		return buf;
	}
	const char *u = "BKMGT";
	double v = (double)b;
	int i = 0;
	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, size, i ? "%.1f%c" : "%.0f%c", v, u[i]);
	return buf;
}

static const char *human_age(int64_t s, char *buf, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600, (s % 3600) / 60);
	else
		snprintf(buf, size, "%" PRId64 "d%02" PRId64 "h", s / 86400, (s % 86400) / 3600);
	return buf;
}

static int need_root(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "nsiso: only root can see and manage containers\n");
		return 1;
	}
	return 0;
}

/* The uids of live containers: NSISO_RUNDIR/<uid>.sock. */
size_t live_uids(uid_t *uids, size_t max)
{
	size_t n = 0;
	DIR *d = opendir(NSISO_RUNDIR);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max)
		if (state_socket_uid(e->d_name, &uids[n]))
			n++;
	closedir(d);
	return n;
}

int status_of(uid_t uid, struct container_status *st)
{
	int r = supervisor_request(uid, OP_STATUS, 0, NULL, st, sizeof(*st), NULL);
	if (r == 0 && (st->version != NSISO_PROTO_VERSION || st->uid != (uint32_t)uid))
		r = -EBADMSG;
	if (r == 0) {
		st->user[sizeof(st->user) - 1] = '\0';
		st->hostname[sizeof(st->hostname) - 1] = '\0';
		st->cgroup[sizeof(st->cgroup) - 1] = '\0';
		st->network[sizeof(st->network) - 1] = '\0';
		st->address[sizeof(st->address) - 1] = '\0';
	}
	return r;
}

/* A user name to uid; 3 (no such user) on failure, with a message. */
static int lookup(const char *user, struct passwd **pw)
{
	static struct passwd entry;
	static char buf[16384];
	struct nsiso_error why = { 0 };
	int r = who_passwd(user, &entry, buf, sizeof(buf), &why);
	if (r == -ENOENT) {
		fprintf(stderr, "nsiso: no such user: %s\n", user);
		return 3;
	}
	if (r < 0) {
		fprintf(stderr, "nsiso: %s\n", error_text(&why));
		return 1;
	}
	*pw = &entry;
	return 0;
}

static int no_container(const char *user)
{
	fprintf(stderr, "nsiso: %s has no live container (it starts with the user's first login; see nsiso list)\n",
		user);
	return 4;
}

/* The host id that container root of the container with init pid maps to
 * (its subordinate range's first id), or -1 (no user namespace, gone). */
static int64_t root_host_id(uint32_t pid)
{
	char path[64], line[128];
	snprintf(path, sizeof(path), "/proc/%u/uid_map", pid);
	FILE *f = fopen(path, "re");
	int64_t id = -1;
	unsigned long inside, outside, count;
	while (f && id < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0)
			id = (int64_t)outside;
	if (f)
		fclose(f);
	return id;
}

/* Policies that are invalid now, whose logins run under the last valid
 * one: a line each, on stderr (the table and the JSON stay as they are). */
static void warn_invalid_policies(void)
{
	DIR *d = opendir(LASTGOOD_DIR);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "lock") == 0)
			continue;
		char path[POLICY_PATH_MAX];
		struct nsiso_error first;
		size_t n = 0;
		for (const char *c = de->d_name; *c && n + 1 < sizeof(path); c++) {
			unsigned v;
			if (c[0] == '%' && sscanf(c + 1, "%2X", &v) == 1) {
				path[n++] = (char)v;
				c += 2;
			} else {
				path[n++] = *c;
			}
		}
		path[n] = '\0';
		int64_t saved, since;
		if (lastgood_status(LASTGOOD_DIR, path, &saved, &since, &first) == 0 && since)
			fprintf(
			    stderr,
			    "warning: policy %s is invalid (first error: %s); logins run under the last valid one\n",
			    path, first.detail);
	}
	if (d)
		closedir(d);
}

int cmd_list(bool json)
{
	static uid_t uids[4096];
	static struct container_status st;
	struct cg_layout layout;
	int r = need_root();
	if (r)
		return r;
	if (cg_discover(&layout) < 0)
		layout.n = 0;
	warn_invalid_policies();
	size_t n = live_uids(uids, ARRAY_SIZE(uids)), shown = 0;
	int64_t now = (int64_t)time(NULL);
	if (json)
		printf("[");
	else
		printf("%-16s %7s %8s %8s %-10s %-16s %8s %5s %8s %10s\n", "USER", "UID", "INIT", "SESSIONS", "NETWORK",
		       "ADDRESS", "MEMORY", "PIDS", "AGE", "SUBIDS");
	for (size_t i = 0; i < n; i++) {
		if (status_of(uids[i], &st) != 0)
			continue; /* a stale socket, or one retiring now */
		uint64_t mem = CG_UNLIMITED, pids = CG_UNLIMITED;
		if (st.cgroup[0])
			cg_usage(&layout, st.cgroup, &mem, &pids);
		char mb[16], ab[16], pb[24];
		if (json) {
			printf("%s{\"user\":", shown ? "," : "");
			json_string(st.user);
			printf(",\"uid\":%u,\"init_pid\":%u,\"sessions\":%u,\"stopping\":%s,\"network\":", st.uid,
			       st.init_pid, st.n_sessions, st.stopping ? "true" : "false");
			json_string(st.network);
			printf(",\"address\":");
			json_string(st.address);
			printf(",\"memory_bytes\":");
			mem == CG_UNLIMITED ? printf("null") : printf("%" PRIu64, mem);
			printf(",\"pids\":");
			pids == CG_UNLIMITED ? printf("null") : printf("%" PRIu64, pids);
			printf(",\"age_s\":%" PRId64 ",\"subids_start\":", now - st.started);
			int64_t sub = root_host_id(st.init_pid);
			sub < 0 ? printf("null}") : printf("%" PRId64 "}", sub);
		} else {
			snprintf(pb, sizeof(pb), pids == CG_UNLIMITED ? "-" : "%" PRIu64, pids);
			char uv[LOG_VALUE_MAX];
			char sb[24] = "-";
			int64_t sub = root_host_id(st.init_pid);
			if (sub >= 0)
				snprintf(sb, sizeof(sb), "%" PRId64, sub);
			printf("%-16s %7u %8u %8u%s %-10s %-16s %8s %5s %8s %10s\n", log_value(uv, sizeof(uv), st.user),
			       st.uid, st.init_pid, st.n_sessions, st.stopping ? "!" : " ", st.network,
			       st.address[0] ? st.address : "-", human_bytes(mem, mb, sizeof(mb)), pb,
			       human_age(now - st.started, ab, sizeof(ab)), sb);
		}
		shown++;
	}
	if (json)
		printf("]\n");
	return 0;
}

static void print_file_lines(const char *path, const char *indent, bool json)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	bool first = true;
	for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long a, b, c;
		if (sscanf(line, "%lu %lu %lu", &a, &b, &c) != 3)
			continue;
		if (json)
			printf("%s\"%lu %lu %lu\"", first ? "" : ",", a, b, c);
		else
			printf("%s%lu %lu %lu\n", indent, a, b, c);
		first = false;
	}
}

/* One line of mountinfo: mount point, major:minor, root in its filesystem,
 * type, options. 0, or -1 for a line that is not one. */
struct minfo {
	char *target, *dev, *root, *fstype, *opts;
};

static int minfo_split(char *line, struct minfo *m)
{
	char *fld[12] = { 0 }, *save = NULL;
	int i = 0;
	for (char *w = strtok_r(line, " \n", &save); w && i < 12; w = strtok_r(NULL, " \n", &save))
		fld[i++] = w;
	int dash = 6; /* after the optional fields: "-" fstype source superopts */
	while (dash < i && strcmp(fld[dash], "-") != 0)
		dash++;
	if (i < 9 || dash + 1 >= i)
		return -1;
	*m = (struct minfo){ .target = fld[4], .dev = fld[2], .root = fld[3], .fstype = fld[dash + 1], .opts = fld[5] };
	return 0;
}

/* What nsiso mounted in the container: every mount of the init that the
 * host does not have as it is (same place, filesystem, root and type):
 * /proc, /dev, the tmpfs mounts, the private home, binds, hidden paths. */
static void print_mounts(pid_t init, bool json)
{
	static char host[1 << 20];
	size_t used = 0;
	FILE *h = fopen("/proc/self/mountinfo", "re");
	char line[2048];
	while (h && fgets(line, sizeof(line), h)) {
		struct minfo m;
		if (minfo_split(line, &m) < 0)
			continue;
		int n =
		    snprintf(host + used, sizeof(host) - used, "\n%s %s %s %s\n", m.target, m.dev, m.root, m.fstype);
		if (n < 0 || (size_t)n >= sizeof(host) - used)
			break;
		used += (size_t)n - 1; /* keep the closing newline as the next line's opening one */
	}
	if (h)
		fclose(h);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mountinfo", (int)init);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	bool first = true;
	while (fgets(line, sizeof(line), f)) {
		struct minfo m;
		if (minfo_split(line, &m) < 0)
			continue;
		char key[1024];
		snprintf(key, sizeof(key), "\n%s %s %s %s\n", m.target, m.dev, m.root, m.fstype);
		if (strstr(host, key))
			continue;
		bool bind = strcmp(m.root, "/") != 0;
		if (json) {
			printf("%s{\"target\":", first ? "" : ",");
			json_string(m.target);
			printf(",\"fstype\":");
			json_string(m.fstype);
			printf(",\"options\":");
			json_string(m.opts);
			printf(",\"root\":");
			json_string(m.root);
			printf("}");
		} else {
			printf("  %-16s %-8s %s%s%s\n", m.target, m.fstype, m.opts, bind ? " from " : "",
			       bind ? m.root : "");
		}
		first = false;
	}
	fclose(f);
}

/* USER's live container's status: 0, or nsiso's exit status, said. */
static int live_status(const char *user, struct passwd **pw, struct container_status *st)
{
	int r = need_root();
	if (r || (r = lookup(user, pw)))
		return r;
	r = status_of((*pw)->pw_uid, st);
	if (attach_no_container(r))
		return no_container(user);
	if (r < 0) {
		fprintf(stderr, "nsiso: asking %s's container: %s\n", user, strerror(-r));
		return 1;
	}
	return 0;
}

/* " memory_max=N ... io_weight=unset", as show and set print them. */
static void print_limits(const struct cg_limits *l)
{
	struct limit_row rows[LIMIT_ROWS];
	limit_rows(l, rows);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		if (rows[i].value == CG_UNLIMITED)
			printf(" %s=max", rows[i].name);
		else if (rows[i].zero && rows[i].value == 0)
			printf(" %s=%s", rows[i].name, rows[i].zero);
		else
			printf(" %s=%" PRIu64, rows[i].name, rows[i].value);
}

int cmd_show(const char *user, bool json)
{
	static struct container_status st;
	struct passwd *pw;
	struct cg_layout layout;
	int r = live_status(user, &pw, &st);
	if (r)
		return r;
	if (cg_discover(&layout) < 0)
		layout.n = 0;
	uint64_t mem = CG_UNLIMITED, pids = CG_UNLIMITED;
	if (st.cgroup[0])
		cg_usage(&layout, st.cgroup, &mem, &pids);
	int64_t now = (int64_t)time(NULL);
	char uidmap[64], gidmap[64], b1[24], b2[24];
	snprintf(uidmap, sizeof(uidmap), "/proc/%u/uid_map", st.init_pid);
	snprintf(gidmap, sizeof(gidmap), "/proc/%u/gid_map", st.init_pid);

	if (json) {
		printf("{\"user\":");
		json_string(st.user);
		printf(",\"uid\":%u,\"init_pid\":%u,\"supervisor_pid\":%u,\"started\":%" PRId64 ",\"age_s\":%" PRId64
		       ",\"stopping\":%s,\"hostname\":",
		       st.uid, st.init_pid, st.supervisor_pid, st.started, now - st.started,
		       st.stopping ? "true" : "false");
		json_string(st.hostname);
		printf(",\"namespaces\":{");
		bool first = true;
		for (int i = 0; i < NS_COUNT; i++)
			if (st.ns_mask & NS_BIT(i)) {
				printf("%s\"%s\":%" PRIu64, first ? "" : ",", ns_types[i].proc_name, st.ns_ino[i]);
				first = false;
			}
		printf("},\"uid_map\":[");
		print_file_lines(uidmap, "", true);
		printf("],\"gid_map\":[");
		print_file_lines(gidmap, "", true);
		printf("],\"mounts\":[");
		print_mounts((pid_t)st.init_pid, true);
		printf("],\"network\":");
		json_string(st.network);
		printf(",\"address\":");
		json_string(st.address);
		printf(",\"cgroup\":");
		json_string(st.cgroup);
		printf(",\"limits\":{");
		struct limit_row rows[LIMIT_ROWS];
		limit_rows(&st.limits, rows);
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
			printf("%s\"%s\":", i ? "," : "", rows[i].name);
			rows[i].value == CG_UNLIMITED ? printf("null") : printf("%" PRIu64, rows[i].value);
		}
		printf("},\"usage\":{\"memory_bytes\":");
		mem == CG_UNLIMITED ? printf("null") : printf("%" PRIu64, mem);
		printf(",\"pids\":");
		pids == CG_UNLIMITED ? printf("null") : printf("%" PRIu64, pids);
		printf("},\"sessions\":[");
		for (uint32_t i = 0; i < st.n_sessions && i < STATUS_SESSIONS_MAX; i++) {
			printf("%s{\"pid\":%d,\"started\":%" PRId64 ",\"service\":", i ? "," : "", st.session[i].pid,
			       st.session[i].started);
			json_string(st.session[i].origin.service);
			printf(",\"tty\":");
			json_string(st.session[i].origin.tty);
			printf(",\"rhost\":");
			json_string(st.session[i].origin.rhost);
			printf("}");
		}
		printf("]}\n");
		return 0;
	}

	/* (names from NSS are printed escaped: nothing reaches the admin's
	 * terminal as a control sequence) */
	char uv[LOG_VALUE_MAX];
	printf("user %s (uid %u): container up for %s%s\n", log_value(uv, sizeof(uv), st.user), st.uid,
	       human_age(now - st.started, b1, sizeof(b1)), st.stopping ? ", being stopped" : "");
	printf("init pid %u, supervisor pid %u, hostname %s\n", st.init_pid, st.supervisor_pid,
	       st.hostname[0] ? st.hostname : "(the host's)");
	printf("namespaces:\n");
	for (int i = 0; i < NS_COUNT; i++)
		if (st.ns_mask & NS_BIT(i))
			printf("  %-7s %" PRIu64 "\n", ns_types[i].proc_name, st.ns_ino[i]);
	if (st.ns_mask & NS_BIT(NS_USER)) {
		char where[160];
		struct policy_settings any = { .ns_mask = NS_ALL };
		(void)subids_where(st.user, st.uid, &any, where, sizeof(where));
		printf("subordinate ids: %s\n", where);
		printf("uid map:\n");
		print_file_lines(uidmap, "  ", false);
		printf("gid map:\n");
		print_file_lines(gidmap, "  ", false);
	}
	printf("mounts added:\n");
	print_mounts((pid_t)st.init_pid, false);
	printf("network: %s%s%s\n", st.network, st.address[0] ? ", address " : "", st.address);
	printf("cgroup: %s\n", st.cgroup[0] ? st.cgroup : "-");
	printf("limits:");
	print_limits(&st.limits);
	printf("\nusage: memory %s, pids %s\n", human_bytes(mem, b2, sizeof(b2)),
	       pids == CG_UNLIMITED ? "-" : (snprintf(b1, sizeof(b1), "%" PRIu64, pids), b1));
	printf("sessions: %u\n", st.n_sessions);
	if (st.n_sessions)
		printf("  %7s %-14s %-12s %-24s %s\n", "PID", "SERVICE", "TTY", "FROM", "SINCE");
	for (uint32_t i = 0; i < st.n_sessions && i < STATUS_SESSIONS_MAX; i++) {
		char since[32];
		time_t t = (time_t)st.session[i].started;
		struct tm tm;
		strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
		printf("  %7d %-14s %-12s %-24s %s\n", st.session[i].pid, st.session[i].origin.service,
		       st.session[i].origin.tty, st.session[i].origin.rhost, since);
	}
	return 0;
}

int cmd_stop(const char *user, unsigned timeout_s)
{
	struct passwd *pw;
	struct session_reply rep;
	int r = need_root();
	if (r || (r = lookup(user, &pw)))
		return r;
	_cleanup_close_ int sup = -EBADF;
	r = supervisor_request(pw->pw_uid, OP_STOP, timeout_s * 1000, NULL, &rep, sizeof(rep), &sup);
	if (attach_no_container(r))
		return no_container(user);
	if (r == 0 && rep.err.error < 0)
		r = rep.err.error;
	if (r < 0) {
		fprintf(stderr, "nsiso: stopping %s's container: %s\n", user, strerror(-r));
		return 1;
	}
	/* The supervisor exits once the container is gone: sessions first
	 * (SIGTERM to each session's process), by force after timeout_s. */
	struct pollfd p = { .fd = sup, .events = POLLIN };
	r = poll(&p, 1, (int)(timeout_s + 5) * 1000);
	if (r <= 0) {
		fprintf(stderr, "nsiso: %s's container did not end within %u s; see the authpriv log\n", user,
			timeout_s + 5);
		return 1;
	}
	printf("stopped %s's container (%u session%s ended)\n", user, rep.sessions, rep.sessions == 1 ? "" : "s");
	return 0;
}

/* nsiso set USER KEY=VALUE...: the live container's limits, from what it
 * has now with each assignment applied; the supervisor writes them. */
int cmd_set(const char *user, char **assignments, int n)
{
	struct passwd *pw;
	struct container_status st;
	int r = live_status(user, &pw, &st);
	if (r)
		return r;
	struct cg_limits lim = st.limits;
	for (int i = 0; i < n; i++) {
		char key[64];
		const char *eq = strchr(assignments[i], '=');
		struct nsiso_error why = { 0 };
		if (!eq || eq == assignments[i] || (size_t)(eq - assignments[i]) >= sizeof(key)) {
			fprintf(stderr, "nsiso: '%s' is not KEY=VALUE\n", assignments[i]);
			return 2;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - assignments[i]), assignments[i]);
		r = policy_parse_live_limit(key, eq + 1, &lim, &why);
		if (r < 0) {
			fprintf(stderr, "nsiso: %s: %s\n", key, error_text(&why));
			return 2;
		}
	}
	struct session_reply rep;
	r = supervisor_request(pw->pw_uid, OP_SET, 0, &lim, &rep, sizeof(rep), NULL);
	if (attach_no_container(r))
		return no_container(user);
	if (r == 0 && rep.err.error < 0) {
		fprintf(stderr, "nsiso: %s's limits are unchanged: %s\n", user, error_text(&rep.err));
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "nsiso: setting %s's limits: %s\n", user, strerror(-r));
		return 1;
	}
	printf("%s's container:", user);
	print_limits(&lim);
	printf(" (until it ends; the policy rules the next one)\n");
	return 0;
}

/* nsiso enter: the same attach and join as a login, then the command as
 * the user (or container root) in the user's home. The admin's process
 * is a session of the container while it runs. Exit: the command's
 * status, or 125 when nsiso itself failed. */
int cmd_enter(const char *user, const char *config, bool as_root, char **cmd)
{
	struct passwd *pwp;
	struct session_reply ar;
	struct session_fds fds;
	struct session_origin origin = { .service = "nsiso-enter", .tty = "-", .rhost = "-" };
	struct nsiso_error why = { 0 };
	if (need_root())
		return 125;
	if (lookup(user, &pwp))
		return 125;
	if (pwp->pw_uid == 0) {
		fprintf(stderr, "nsiso: root has no container\n");
		return 125;
	}
	struct passwd pw = *pwp;
	static char home[4096], shell[4096], name[NSISO_USER_MAX + 1];
	snprintf(home, sizeof(home), "%s", pw.pw_dir);
	snprintf(shell, sizeof(shell), "%s", pw.pw_shell && pw.pw_shell[0] ? pw.pw_shell : "/bin/sh");
	snprintf(name, sizeof(name), "%s", pw.pw_name);
	int ngroups = 256;
	gid_t groups[256];
	if (getgrouplist(name, pw.pw_gid, groups, &ngroups) < 0) {
		fprintf(stderr, "nsiso: %s is in more than 256 groups\n", name);
		return 125;
	}
	if (config[0] && config[0] != '/') {
		fprintf(stderr, "nsiso: --config needs an absolute path\n");
		return 125;
	}
	if (ttyname(0))
		origin_copy(origin.tty, sizeof(origin.tty), ttyname(0));

	_cleanup_close_ int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	int r = self < 0 ? -errno : container_attach(pw.pw_uid, name, config, self, &origin, &ar, &fds);
	if (attach_no_container(r)) {
		(void)no_container(user);
		return 125;
	}
	if (r < 0) {
		fprintf(stderr, "nsiso: %s's container refused: %s (%s)\n", user,
			self < 0 ? "pidfd_open of nsiso itself" : error_text(&ar.err), strerror(-r));
		return 125;
	}
	if (ar.flags & REPLY_EXEMPT) {
		fprintf(stderr, "nsiso: %s is exempt now; nothing to enter\n", user);
		return 125;
	}
	uint64_t ino[NS_COUNT];
	bool committed = false;
	r = ns_verify_answer(fds.ns, ar.ns_mask, (uint32_t)pw.pw_uid, ar.ns_ino, ino, &why);
	if (r == 0)
		r = container_join(&fds, ar.ns_mask, &ar.hard, JOIN_WHOLE, as_root, &why, &committed);
	session_fds_close(&fds);
	if (r < 0) {
		fprintf(stderr, "nsiso: joining %s's container: %s: %s\n", user, error_text(&why), strerror(-r));
		return 125;
	}

	/* A terminal on any of 0-2: the tenant gets a pty of the container's
	 * own, never the admin's terminal (see pty.c). */
	bool use_pty = isatty(0) || isatty(1) || isatty(2);
	int master = -1;
	char slave[64];
	if (use_pty && (r = pty_open(&master, slave, sizeof(slave))) < 0) {
		fprintf(stderr, "nsiso: a terminal in %s's container: %s\n", user, strerror(-r));
		return 125;
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("nsiso: fork");
		return 125;
	}
	if (pid == 0) {
		if (use_pty && (r = pty_attach_child(slave)) < 0) {
			fprintf(stderr, "nsiso: the container's terminal: %s\n", strerror(-r));
			_exit(125);
		}
		if (!as_root && setgroups((size_t)ngroups, groups) < 0) {
			perror("nsiso: setgroups() to the user's groups");
			_exit(125);
		}
		if (!as_root && setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) < 0) {
			perror("nsiso: setresgid() to the user's gid");
			_exit(125);
		}
		if (!as_root && setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) < 0) {
			perror("nsiso: setresuid() to the user");
			_exit(125);
		}
		if (chdir(as_root ? "/" : home) < 0 && chdir("/") < 0)
			_exit(125);
		const char *term = getenv("TERM");
		static char e_home[4200], e_user[80], e_logname[80], e_shell[4200], e_term[128];
		snprintf(e_home, sizeof(e_home), "HOME=%s", as_root ? "/root" : home);
		snprintf(e_user, sizeof(e_user), "USER=%s", as_root ? "root" : name);
		snprintf(e_logname, sizeof(e_logname), "LOGNAME=%s", as_root ? "root" : name);
		snprintf(e_shell, sizeof(e_shell), "SHELL=%s", shell);
		snprintf(e_term, sizeof(e_term), "TERM=%s", term ? term : "dumb");
		char *envp[] = { e_home,
				 e_user,
				 e_logname,
				 e_shell,
				 e_term,
				 as_root ? "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
					 : "PATH=/usr/local/bin:/usr/bin:/bin",
				 NULL };
		if (cmd && cmd[0]) {
			execvpe(cmd[0], cmd, envp);
			fprintf(stderr, "nsiso: %s: %s\n", cmd[0], strerror(errno));
			_exit(errno == ENOENT ? 127 : 126);
		}
		const char *base = strrchr(shell, '/') ? strrchr(shell, '/') + 1 : shell;
		char argv0[PATH_MAX + 2];
		snprintf(argv0, sizeof(argv0), "-%s", base);
		char *argv[] = { argv0, NULL };
		execve(shell, argv, envp);
		fprintf(stderr, "nsiso: %s: %s\n", shell, strerror(errno));
		_exit(127);
	}
	/* Like su: the terminal's job-control signals are the child's business. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	if (use_pty)
		return pty_relay(master, pid);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 125;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
