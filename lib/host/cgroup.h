/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "cglimits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* One cgroup per user container, NAME = the user name, in every hierarchy
 * nsiso uses:
 *
 *   cgroup v2 (<mount>/nsiso/NAME): always, with the memory, pids, cpu and
 *     io controllers it offers enabled as the limits need them;
 *   cgroup v1 (hybrid hosts): the memory and pids hierarchies always, the
 *     cpu, blkio and cpuset hierarchies when a limit needs them.
 *
 * cpus = N: the group's cpuset holds N of the CPUs its parent has, chosen
 * from a place that depends on the user name (so that users spread over
 * the host), all of them when there are no more than N.
 *
 * The supervisor creates the groups and writes the limits (as host root);
 * every process of the container enters them by writing "0" to an fd the
 * supervisor opened (the kernel checks the opener's credentials, so
 * container root can use it): cgroup.procs on v2, tasks on v1. Nothing here
 * follows a symlink or trusts a path below the hierarchy's mount point. */

#define CG_HIER_MAX 6
#define CG_DIR "nsiso"

enum {
	CG_MEMORY = 1u << 0,
	CG_PIDS = 1u << 1,
	CG_CPU = 1u << 2,
	CG_IO = 1u << 3,
	CG_CPUSET = 1u << 4,
};

/* The file a process writes "0" into to enter a group. On v1, "tasks":
 * "0" there moves the writing thread alone, and the kernel skips its
 * global cgroup_threadgroup_rwsem for it (since 5.17), whose first taking
 * after a quiet spell waits for an RCU grace period (7-15 ms measured here:
 * docs/PERFORMANCE.md); cgroup.procs always takes it. Moving one thread is
 * moving the process only when it has one: every writer is single-threaded
 * (the supervisor, the container's first process before it execs the init,
 * and a session, whose join checks it before setns). On v2 a domain group
 * takes whole processes only. */
static inline const char *cg_enter_file(bool v2)
{
	return v2 ? "cgroup.procs" : "tasks";
}

/* The limits that impose nothing. */
void cg_limits_none(struct cg_limits *l);
/* The controllers that limits other than the defaults need. */
unsigned cg_limits_controllers(const struct cg_limits *l);

struct cg_hier {
	bool v2;
	unsigned ctrls; /* CG_*: v1 the hierarchy's; v2 those in cgroup.controllers */
	char path[256]; /* mount point */
};

struct cg_layout {
	size_t n;
	struct cg_hier h[CG_HIER_MAX];
};

/* The hierarchies of /proc/self/mountinfo text that nsiso may use: cgroup2
 * mounts and v1 mounts of memory, pids, cpu or blkio, each mounted at the
 * hierarchy's root. The v2 controllers are not read here (ctrls = 0). */
int cg_parse_mountinfo(const char *text, struct cg_layout *l);
/* The same for this process, with the v2 controllers read. 0 or -errno. */
int cg_discover(struct cg_layout *l);

/* Does the text of /proc/self/cgroup put the process at the root of the
 * hierarchy h? (A move there would be no move, but it still takes the
 * kernel's cgroup lock, whose first taking after a quiet spell waits for
 * an RCU grace period: docs/PERFORMANCE.md.) */
bool cg_at_root(const struct cg_hier *h, const char *self);

/* One v2 hierarchy rooted at the cgroup directory PATH (a systemd scope
 * delegated to nsiso), with the controllers it offers. 0 or -errno. */
int cg_layout_at(const char *path, struct cg_layout *l);

/* A container's groups: fds to each group's directory, its parent
 * (<mount>/nsiso) and its cgroup.procs. */
struct cg_group {
	size_t n;
	char name[80];
	struct {
		bool v2;
		unsigned ctrls; /* controllers whose limits were written */
		int parent;
		int dir;
		int procs;
	} g[CG_HIER_MAX];
};

/* Create NAME in every hierarchy of l that the limits need, and write the
 * limits. The hierarchies used: v2 always; v1 memory and pids always, cpu
 * and blkio when the limits need them. A group is always made new: where
 * nsiso/NAME exists (an earlier container of the user still removing it,
 * or left by a crash) the group is NAME@2, then @3... up to
 * CG_GENERATIONS (g->name says which). A limit that no hierarchy can apply
 * is -EOPNOTSUPP. On failure nothing created is left; e names the file and
 * value. */
#define CG_GENERATIONS 9
int cg_create(const struct cg_layout *l, const char *name, const struct cg_limits *lim, struct cg_group *g,
	      struct nsiso_error *e);

/* The user a group name is of: NAME@2..@9 is NAME's. False when it does
 * not fit. */
bool cg_name_user(const char *group, char *user, size_t size);

/* Write the limits of ctrls into the group directory dir (a v2 or v1
 * group). Exposed for the tests. */
int cg_write_limits(int dir, bool v2, unsigned ctrls, const struct cg_limits *lim, struct nsiso_error *e);

/* OOM kills in a container's memory group, as they happen: an fd to poll
 * (v2: memory.events, POLLPRI; v1: an eventfd registered on
 * memory.oom_control, POLLIN) and the count so far. */
struct cg_oom {
	int poll_fd;  /* -EBADF: no memory group */
	int count_fd; /* memory.events (v2) or memory.oom_control (v1) */
	bool v2;
	short events; /* for poll() */
	uint64_t kills;
};
int cg_oom_watch(const struct cg_group *g, struct cg_oom *w);
/* After poll() said so: the new count of OOM kills (the eventfd drained). */
uint64_t cg_oom_kills(struct cg_oom *w);
/* The count, without touching what poll() waits for. */
uint64_t cg_oom_peek(const struct cg_oom *w);
void cg_oom_close(struct cg_oom *w);

/* Remove the groups, waiting up to timeout_ms for their last processes to
 * finish exiting; then the nsiso directories, if empty. Closes every fd.
 * 0, or -EBUSY when a group still had processes. */
int cg_remove(struct cg_group *g, int timeout_ms);

/* Close the fds without removing anything. */
void cg_close(struct cg_group *g);

/* Remove the empty groups under nsiso/ in every hierarchy of l whose owner
 * may_remove() allows (it takes that user's lock); returns how many names
 * were removed. */
int cg_sweep(const struct cg_layout *l, bool (*may_remove)(const char *name, void *ctx), void *ctx);

/* Usage of the groups at PATH below each hierarchy's root (nsiso/NAME, or
 * under a systemd scope): memory in bytes and number of processes;
 * CG_UNLIMITED where unknown. */
void cg_usage(const struct cg_layout *l, const char *path, uint64_t *memory, uint64_t *pids);

/* The same from a container's own groups (the supervisor's fds), with the
 * CPU throttling of cpu.stat (times the quota ran out, for how long). */
struct cg_usage {
	uint64_t memory, pids, throttled, throttled_us; /* CG_UNLIMITED where unknown */
};
void cg_group_usage(const struct cg_group *g, struct cg_usage *u);

/* Whether a name can be a group name (a user name without '/', not . or ..). */
bool cg_name_ok(const char *name);
