/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <systemd/sd-bus.h>

#include "helper.h"
#include "util.h"

/* On a host whose PID 1 is systemd, systemd is the one writer of the cgroup
 * tree (systemd's docs/CGROUP_DELEGATION.md): the supervisor asks it for a
 * transient scope with Delegate=yes in the user's slice, moves itself into
 * it, and builds the container's groups below, in the subtree that is now
 * its own. libsystemd's sd-bus speaks the D-Bus protocol; the connection is
 * systemd's private root-only socket, which needs no dbus-daemon.
 *
 *   user.slice/user-UID.slice/nsiso-UID-PID.scope   Delegate=yes
 *     supervisor/     the supervisor (no login session's scope holds it)
 *     nsiso/USER/     the container: init, every session, the limits
 *
 * Elsewhere (no systemd, or not the unified hierarchy) the supervisor keeps
 * to nsiso/USER at the top of each hierarchy, as before. */

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SCOPE_TIMEOUT_USEC (10 * 1000 * 1000ULL)

bool systemd_manages_cgroups(void)
{
	struct stat st;
	struct statfs sfs;
	/* sd_booted()'s test, and the unified hierarchy at its usual place. */
	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) && statfs("/sys/fs/cgroup", &sfs) == 0 &&
	       (unsigned long)sfs.f_type == CGROUP2_SUPER_MAGIC;
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
	if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
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
	_cleanup_close_ int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : RETRY_EINTR(read(fd, buf, sizeof(buf) - 1));
	if (n <= 0)
		return fd < 0 ? neg_errno() : -EIO;
	buf[n] = '\0';
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

static int start_scope(sd_bus *bus, const char *unit, const char *slice, const char *desc, const char **job,
		       sd_bus_error *e, sd_bus_message **reply)
{
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *m = NULL;
	int r =
	    sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "StartTransientUnit");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", unit, "fail");
	if (r >= 0)
		r = sd_bus_message_open_container(m, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Description", "s", desc, "Slice", "s", slice,
					  "Delegate", "b", 1, "CollectMode", "s", "inactive-or-failed", "PIDs", "au", 1,
					  (uint32_t)getpid());
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r >= 0)
		r = sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r >= 0)
		r = sd_bus_call(bus, m, SCOPE_TIMEOUT_USEC, e, reply);
	if (r >= 0)
		r = sd_bus_message_read(*reply, "o", job);
	return r;
}

int systemd_scope(const struct user_info *u, char *cgroup, size_t size, struct failure *f)
{
	__attribute__((cleanup(sd_bus_flush_close_unrefp))) sd_bus *bus = NULL;
	__attribute__((cleanup(sd_bus_message_unrefp))) sd_bus_message *reply = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	struct job_wait w = { 0 };
	char unit[64], slice[64], desc[128];

	snprintf(unit, sizeof(unit), "nsiso-%u-%d.scope", (unsigned)u->uid, (int)getpid());
	snprintf(slice, sizeof(slice), "user-%u.slice", (unsigned)u->uid);
	snprintf(desc, sizeof(desc), "nsiso container of %.64s", u->name);

	int r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0)
		return fail(f, STEP_CGROUP, r, "connecting to systemd (/run/systemd/private)");
	r = sd_bus_match_signal(bus, NULL, NULL, SYSTEMD_PATH, SYSTEMD_MANAGER, "JobRemoved", on_job_removed, &w);
	if (r >= 0)
		r = sd_bus_call_method(bus, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe", &e, NULL, NULL);
	const char *job = NULL;
	if (r >= 0)
		r = start_scope(bus, unit, slice, desc, &job, &e, &reply);
	if (r < 0) {
		r = fail(f, STEP_CGROUP, r, "systemd: starting %s in %s: %s", unit, slice,
			 e.message ? e.message : strerror(-r));
		sd_bus_error_free(&e);
		return r;
	}
	w.job = job;
	uint64_t deadline = now_usec() + SCOPE_TIMEOUT_USEC;
	while (!w.done) {
		r = sd_bus_process(bus, NULL);
		if (r > 0)
			continue;
		uint64_t now = now_usec();
		if (r == 0 && now < deadline)
			r = sd_bus_wait(bus, deadline - now);
		if (r < 0 || now >= deadline)
			return fail(f, STEP_CGROUP, r < 0 ? r : -ETIMEDOUT, "systemd: waiting for the start of %s",
				    unit);
	}
	if (strcmp(w.result, "done") != 0)
		return fail(f, STEP_CGROUP, -EIO, "systemd: the start of %s ended '%s'", unit, w.result);
	r = own_cgroup(cgroup, size);
	if (r < 0)
		return fail(f, STEP_CGROUP, r, "reading /proc/self/cgroup");
	size_t len = strlen(cgroup), ulen = strlen(unit);
	if (len < ulen + 1 || strcmp(cgroup + len - ulen, unit) != 0 || cgroup[len - ulen - 1] != '/')
		return fail(f, STEP_CGROUP, -ESTALE, "systemd started %s, but this process is in %s", unit, cgroup);
	return 0;
}

/* The supervisor out of the scope's own group (processes live only in
 * leaves once controllers are enabled below it) into SCOPE/supervisor; l
 * becomes one v2 hierarchy rooted at the scope, so that cg_create() makes
 * SCOPE/nsiso/USER with the controllers the scope was delegated. */
int systemd_layout(const char *scope, struct cg_layout *l, struct failure *f)
{
	char path[sizeof(l->h[0].path)];
	int n = snprintf(path, sizeof(path), "/sys/fs/cgroup%s", scope);
	if (n < 0 || (size_t)n >= sizeof(path))
		return fail(f, STEP_CGROUP, -ENAMETOOLONG, "the scope's cgroup path %s", scope);
	int r = cg_layout_at(path, l);
	if (r < 0)
		return fail(f, STEP_CGROUP, r, "opening the scope's cgroup %s", path);
	_cleanup_close_ int dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir < 0)
		return fail(f, STEP_CGROUP, neg_errno(), "opening %s", path);
	if (mkdirat(dir, "supervisor", 0755) < 0 && errno != EEXIST)
		return fail(f, STEP_CGROUP, neg_errno(), "creating %s/supervisor", path);
	_cleanup_close_ int procs = openat(dir, "supervisor/cgroup.procs", O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (procs < 0)
		return fail(f, STEP_CGROUP, neg_errno(), "opening %s/supervisor/cgroup.procs", path);
	if (RETRY_EINTR(write(procs, "0", 1)) != 1)
		return fail(f, STEP_CGROUP, neg_errno(), "moving the supervisor to %s/supervisor", path);
	return 0;
}
