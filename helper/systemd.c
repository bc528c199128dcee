/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <stddef.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include <linux/magic.h>
#include <systemd/sd-bus.h>

#include "fsutil.h"
#include "helper.h"
#include "util.h"

/* On a host whose PID 1 is systemd, systemd is the one writer of the cgroup
 * tree (systemd's docs/CGROUP_DELEGATION.md): the supervisor asks it for a
 * transient scope with Delegate=yes beside the user's slice, moves itself into
 * it, and builds the container's groups below, in the subtree that is now
 * its own. libsystemd's sd-bus speaks the D-Bus protocol (loaded only there,
 * see below); the connection is systemd's private root-only socket, which
 * needs no dbus-daemon.
 *
 *   user.slice/user-nsiso.slice/nsiso-UID-PID.scope   Delegate=yes
 *     supervisor/     the supervisor (no login session's scope holds it)
 *     nsiso/USER/     the container: init, every session, the limits
 *
 * Elsewhere (no systemd, or not the unified hierarchy) the supervisor keeps
 * to nsiso/USER at the top of each hierarchy, as before. */

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT "org.freedesktop.systemd1.Unit"
#define SCOPE_TIMEOUT_USEC (10 * 1000 * 1000ULL)
/* Beside the users' slices, not in them: logind's KillUser signals every
 * process of user-UID.slice, and the supervisor must not be one of them
 * (THREATS 63). Not PartOf= the user's slice either: logind stops that
 * slice whenever it empties, which a whole join (sshd without the auth
 * line) does at once by moving the monitor into the container's group. A
 * stopped slice or terminate-user ends every session, and the container
 * follows its last session (linger). */
#define SCOPE_SLICE "user-nsiso.slice"
#define MANAGER_DROPIN "/user@.service.d/nsiso.conf"

bool systemd_manages_cgroups(void)
{
	struct stat st;
	struct statfs sfs;
	/* sd_booted()'s test, and the unified hierarchy at its usual place. */
	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) && statfs("/sys/fs/cgroup", &sfs) == 0 &&
	       (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* libsystemd is loaded with dlopen() in a short-lived child of the
 * supervisor, and only where systemd is PID 1: the supervisor (one per
 * container, for the container's whole life) and the helper (one exec per
 * first login) never map it or its dependency chain (libgcrypt, liblz4,
 * liblzma, libzstd...), which cost every cold login the dynamic loader's
 * time and every supervisor their relocated pages (docs/PERFORMANCE.md).
 * The child asks for the scope with PIDs=[the supervisor]. */
static struct {
	int (*new_)(sd_bus **);
	int (*set_address)(sd_bus *, const char *);
	int (*start)(sd_bus *);
	int (*match_signal)(sd_bus *, sd_bus_slot **, const char *, const char *, const char *, const char *,
			    sd_bus_message_handler_t, void *);
	int (*call_method)(sd_bus *, const char *, const char *, const char *, const char *, sd_bus_error *,
			   sd_bus_message **, const char *, ...);
	int (*new_method_call)(sd_bus *, sd_bus_message **, const char *, const char *, const char *, const char *);
	int (*append)(sd_bus_message *, const char *, ...);
	int (*open_container)(sd_bus_message *, char, const char *);
	int (*close_container)(sd_bus_message *);
	int (*call)(sd_bus *, sd_bus_message *, uint64_t, sd_bus_error *, sd_bus_message **);
	int (*read)(sd_bus_message *, const char *, ...);
	int (*process)(sd_bus *, sd_bus_message **);
	int (*wait)(sd_bus *, uint64_t);
	int (*get_property_strv)(sd_bus *, const char *, const char *, const char *, const char *, sd_bus_error *,
				 char ***);
	int (*get_property_string)(sd_bus *, const char *, const char *, const char *, const char *, sd_bus_error *,
				   char **);
} B;

static int load_sd_bus(struct nsiso_error *f)
{
	void *h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return error_at(f, STEP_CGROUP, -ELIBACC, "systemd: libsystemd.so.0 cannot be loaded: %s", dlerror());
	static const struct {
		const char *name;
		size_t off;
	} syms[] = {
		{ "sd_bus_new", offsetof(__typeof__(B), new_) },
		{ "sd_bus_set_address", offsetof(__typeof__(B), set_address) },
		{ "sd_bus_start", offsetof(__typeof__(B), start) },
		{ "sd_bus_match_signal", offsetof(__typeof__(B), match_signal) },
		{ "sd_bus_call_method", offsetof(__typeof__(B), call_method) },
		{ "sd_bus_message_new_method_call", offsetof(__typeof__(B), new_method_call) },
		{ "sd_bus_message_append", offsetof(__typeof__(B), append) },
		{ "sd_bus_message_open_container", offsetof(__typeof__(B), open_container) },
		{ "sd_bus_message_close_container", offsetof(__typeof__(B), close_container) },
		{ "sd_bus_call", offsetof(__typeof__(B), call) },
		{ "sd_bus_message_read", offsetof(__typeof__(B), read) },
		{ "sd_bus_process", offsetof(__typeof__(B), process) },
		{ "sd_bus_wait", offsetof(__typeof__(B), wait) },
		{ "sd_bus_get_property_strv", offsetof(__typeof__(B), get_property_strv) },
		{ "sd_bus_get_property_string", offsetof(__typeof__(B), get_property_string) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(syms); i++) {
		void *sym = dlsym(h, syms[i].name);
		if (!sym)
			return error_at(f, STEP_CGROUP, -ELIBBAD, "systemd: libsystemd.so.0 has no %s", syms[i].name);
		memcpy((char *)&B + syms[i].off, &sym, sizeof(sym));
	}
	return 0;
}

struct job_wait {
	const char *job;
	bool done;
	char result[32];
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	(void)error;
	struct job_wait *w = userdata;
	uint32_t id;
	const char *path, *unit, *result;
	if (B.read(m, "uoss", &id, &path, &unit, &result) < 0)
		return 0;
	if (w->job && strcmp(path, w->job) == 0) {
		w->done = true;
		snprintf(w->result, sizeof(w->result), "%s", result);
	}
	return 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* This process's cgroup v2 path ("/user.slice/..."), from /proc/self/cgroup. */
static int own_cgroup(char *out, size_t size)
{
	char buf[4096];
	ssize_t n = read_small_at(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf));
	if (n <= 0)
		return n < 0 ? (int)n : -EIO;
	const char *p = strstr(buf, "0::/");
	if (!p || (p != buf && p[-1] != '\n'))
		return -ENOENT;
	p += 3;
	size_t len = strcspn(p, "\n");
	if (len + 1 > size)
		return -ENAMETOOLONG;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* One failed sd-bus call: its error, with what was being done and
 * systemd's own message when it sent one. */
static int bus_fail(struct nsiso_error *f, int r, const sd_bus_error *e, const char *what)
{
	return error_at(f, STEP_CGROUP, r, "systemd: %s: %s", what, e && e->message ? e->message : strerror(-r));
}

/* A drop-in DropInPaths lists counts only when it is nsiso's: a root-owned
 * regular file, not writable by group or others, holding the helper's
 * ExecCondition line. DropInPaths lists a masked drop-in too (a link to
 * /dev/null in /etc, the guest test's case), under the same name. */
static bool dropin_is_ours(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char text[4096];
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size <= 0 || st.st_size >= (off_t)sizeof(text))
		return false;
	ssize_t n = RETRY_EINTR(read(fd, text, sizeof(text) - 1));
	if (n <= 0)
		return false;
	text[n] = '\0';
	static const char line[] = "\nExecCondition=+" NSISO_HELPER_PATH " user-manager %i";
	const char *at = strstr(text, line);
	return at && (at[sizeof(line) - 1] == '\n' || at[sizeof(line) - 1] == '\0');
}

/* No user manager of an isolated user runs on the host (THREATS 43): the
 * unit user@UID.service must have loaded nsiso's drop-in (its
 * ExecCondition asks the helper), else the container is refused (-ENOPKG:
 * an install that is not whole, or no daemon-reload since); a manager
 * already running (started before nsiso was enabled) is stopped. */
static int guard_user_manager(sd_bus *bus, uid_t uid, struct nsiso_error *f)
{
	char unit[64];
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *path = NULL;
	snprintf(unit, sizeof(unit), "user@%u.service", (unsigned)uid);

	int r = B.call_method(bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "LoadUnit", &e, &reply, "s", unit);
	if (r < 0)
		return bus_fail(f, r, &e, "LoadUnit(user@UID.service)");

	r = B.read(reply, "o", &path);
	if (r < 0)
		return bus_fail(f, r, NULL, "reading LoadUnit's answer");

	char **dropins = NULL;
	r = B.get_property_strv(bus, SYSTEMD_DEST, path, SYSTEMD_UNIT, "DropInPaths", &e, &dropins);
	if (r < 0)
		return bus_fail(f, r, &e, "reading user@UID.service's DropInPaths");

	bool guarded = false;
	for (size_t i = 0; dropins && dropins[i]; i++) {
		size_t len = strlen(dropins[i]), want = strlen(MANAGER_DROPIN);
		guarded |=
		    len >= want && strcmp(dropins[i] + len - want, MANAGER_DROPIN) == 0 && dropin_is_ours(dropins[i]);
	}
	if (!guarded)
		return error_at(f, STEP_CGROUP, -ENOPKG,
				"systemd: %s lacks nsiso's drop-in: its manager would run outside (systemctl "
				"daemon-reload)",
				unit);

	char *state = NULL;
	r = B.get_property_string(bus, SYSTEMD_DEST, path, SYSTEMD_UNIT, "ActiveState", &e, &state);
	if (r < 0)
		return bus_fail(f, r, &e, "reading user@UID.service's ActiveState");
	if (strcmp(state, "inactive") == 0 || strcmp(state, "failed") == 0)
		return 0;

	r = B.call_method(bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "StopUnit", &e, NULL, "ss", unit,
			  "replace");
	if (r < 0)
		return bus_fail(f, r, &e, "stopping a running user@UID.service");
	syslog(LOG_NOTICE, "stopped %s (%s): isolated users have no systemd user manager on the host", unit, state);
	return 0;
}

/* StartTransientUnit(unit, "fail", properties, no aux units). */
static int scope_request(sd_bus *bus, sd_bus_message **m, const char *unit, const char *slice, const char *desc,
			 pid_t pid, struct nsiso_error *f)
{
	int r = B.new_method_call(bus, m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "StartTransientUnit");
	if (r < 0)
		return bus_fail(f, r, NULL, "making the StartTransientUnit call");

	r = B.append(*m, "ss", unit, "fail");
	if (r < 0)
		return bus_fail(f, r, NULL, "appending the unit's name");

	r = B.open_container(*m, 'a', "(sv)");
	if (r < 0)
		return bus_fail(f, r, NULL, "opening the properties");

	r = B.append(*m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s", desc, "Slice", "s", slice, "Delegate", "b", 1,
		     "CollectMode", "s", "inactive-or-failed", "PIDs", "au", 1, (uint32_t)pid);
	if (r < 0)
		return bus_fail(f, r, NULL, "appending the properties");

	r = B.close_container(*m);
	if (r < 0)
		return bus_fail(f, r, NULL, "closing the properties");

	r = B.append(*m, "a(sa(sv))", 0);
	if (r < 0)
		return bus_fail(f, r, NULL, "appending the auxiliary units");
	return 0;
}

/* Until systemd's JobRemoved names the job: 0 when its result is "done". */
static int wait_for_job(sd_bus *bus, struct job_wait *w, const char *unit, struct nsiso_error *f)
{
	uint64_t deadline = now_usec() + SCOPE_TIMEOUT_USEC;
	while (!w->done) {
		int r = B.process(bus, NULL);
		if (r > 0)
			continue;
		if (r < 0)
			return bus_fail(f, r, NULL, "waiting for the scope's start job");
		uint64_t now = now_usec();
		if (now >= deadline)
			return error_at(f, STEP_CGROUP, -ETIMEDOUT, "systemd: the start of %s took over 10 s", unit);
		r = B.wait(bus, deadline - now);
		if (r < 0)
			return bus_fail(f, r, NULL, "waiting for the scope's start job");
	}
	if (strcmp(w->result, "done") != 0)
		return error_at(f, STEP_CGROUP, -EIO, "systemd: the start of %s ended '%s'", unit, w->result);
	return 0;
}

/* In the child: the whole conversation with systemd, each call checked on
 * its own. 0, or -errno with f filled. (The child exits: nothing freed.) */
static int ask_for_scope(const char *unit, const char *slice, const char *desc, pid_t pid, uid_t uid, struct timing *tm,
			 struct nsiso_error *f)
{
	sd_bus *bus = NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct job_wait w = { 0 };
	const char *job = NULL;

	int r = load_sd_bus(f);
	if (r < 0)
		return r;
	timing_mark(tm, "dlopen");

	r = B.new_(&bus);
	if (r < 0)
		return bus_fail(f, r, NULL, "sd_bus_new");

	r = B.set_address(bus, "unix:path=/run/systemd/private");
	if (r < 0)
		return bus_fail(f, r, NULL, "setting the address /run/systemd/private");

	r = B.start(bus);
	if (r < 0)
		return bus_fail(f, r, NULL, "connecting to /run/systemd/private");
	timing_mark(tm, "connect");

	r = guard_user_manager(bus, uid, f);
	if (r < 0)
		return r;
	timing_mark(tm, "guard");

	r = B.match_signal(bus, NULL, NULL, SYSTEMD_PATH, SYSTEMD_MANAGER, "JobRemoved", on_job_removed, &w);
	if (r < 0)
		return bus_fail(f, r, NULL, "matching JobRemoved");

	r = B.call_method(bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe", &e, NULL, NULL);
	if (r < 0)
		return bus_fail(f, r, &e, "Subscribe");
	timing_mark(tm, "subscribe");

	r = scope_request(bus, &m, unit, slice, desc, pid, f);
	if (r < 0)
		return r;

	r = B.call(bus, m, SCOPE_TIMEOUT_USEC, &e, &reply);
	if (r < 0)
		return bus_fail(f, r, &e, "StartTransientUnit");

	r = B.read(reply, "o", &job);
	if (r < 0)
		return bus_fail(f, r, NULL, "reading StartTransientUnit's answer");
	timing_mark(tm, "start");

	w.job = job;
	return wait_for_job(bus, &w, unit, f);
}

int systemd_scope(const struct user_info *u, char *cgroup, size_t size, struct nsiso_error *f)
{
	char unit[64], desc[128];
	snprintf(unit, sizeof(unit), "nsiso-%u-%d.scope", (unsigned)u->uid, (int)getpid());
	snprintf(desc, sizeof(desc), "nsiso container of %.64s", u->name);

	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_at(f, STEP_CGROUP, neg_errno(), "pipe2");
	pid_t me = getpid(), child = fork();
	if (child < 0) {
		int r = neg_errno();
		(void)close(p[0]);
		(void)close(p[1]);
		return error_at(f, STEP_CGROUP, r, "fork");
	}
	if (child == 0) {
		(void)close(p[0]);
		struct nsiso_error a = { 0 };
		/* (the conversation's steps: a "timing scope" line beside the
		 * supervisor's, bench/guest.sh's table) */
		struct timing tm;
		timing_start(&tm);
		if (ask_for_scope(unit, SCOPE_SLICE, desc, me, u->uid, &tm, &a) == 0) {
			timing_mark(&tm, "job");
			timing_log(&tm, "scope", u->name);
		}
		(void)!write(p[1], &a, sizeof(a));
		_exit(0);
	}
	(void)close(p[1]);
	struct nsiso_error a = { .error = -EIO };
	ssize_t n = RETRY_EINTR(read(p[0], &a, sizeof(a)));
	(void)close(p[0]);
	(void)RETRY_EINTR(waitpid(child, NULL, 0));
	if (n != (ssize_t)sizeof(a))
		return error_at(f, STEP_CGROUP, -EIO, "systemd: the child that asks for %s died", unit);
	error_sanitize(&a, STEP_CGROUP);
	if (a.error < 0) {
		*f = a;
		return a.error;
	}
	int r = own_cgroup(cgroup, size);
	if (r < 0)
		return error_at(f, STEP_CGROUP, r, "reading /proc/self/cgroup");
	size_t len = strlen(cgroup), ulen = strlen(unit);
	if (len < ulen + 1 || strcmp(cgroup + len - ulen, unit) != 0 || cgroup[len - ulen - 1] != '/')
		return error_at(f, STEP_CGROUP, -ESTALE, "systemd started %s, but this process is in %s", unit, cgroup);
	return 0;
}

/* The supervisor out of the scope's own group (processes live only in
 * leaves once controllers are enabled below it) into SCOPE/supervisor; l
 * becomes one v2 hierarchy rooted at the scope, so that cg_create() makes
 * SCOPE/nsiso/USER with the controllers the scope was delegated. */
int systemd_layout(const char *scope, struct cg_layout *l, struct nsiso_error *f)
{
	char path[sizeof(l->h[0].path)];
	int n = snprintf(path, sizeof(path), "/sys/fs/cgroup%s", scope);
	if (n < 0 || (size_t)n >= sizeof(path))
		return error_at(f, STEP_CGROUP, -ENAMETOOLONG, "the scope's cgroup path %s", scope);
	int r = cg_layout_at(path, l);
	if (r < 0)
		return error_at(f, STEP_CGROUP, r, "opening the scope's cgroup %s", path);
	_cleanup_close_ int dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return error_at(f, STEP_CGROUP, neg_errno(), "opening %s", path);
	if (mkdirat(dir, "supervisor", 0755) < 0 && errno != EEXIST)
		return error_at(f, STEP_CGROUP, neg_errno(), "creating %s/supervisor", path);
	_cleanup_close_ int procs = openat(dir, "supervisor/cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (procs < 0)
		return error_at(f, STEP_CGROUP, neg_errno(), "opening %s/supervisor/cgroup.procs", path);
	if (RETRY_EINTR(write(procs, "0", 1)) != 1)
		return error_at(f, STEP_CGROUP, neg_errno(), "moving the supervisor to %s/supervisor", path);
	return 0;
}
