/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal interfaces of nsiso-helper: one file per concern. Functions
 * return 0 or -errno and leave logging to main(); where there is more to say,
 * they fill a struct nsiso_error. */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "cgroup.h"
#include "idmap.h"
#include "lastgood.h"
#include "policy.h"
#include "proto.h"

#define USER_GROUPS_MAX 256

/* user.c */
struct user_info {
	char name[NSISO_USER_MAX + 1];
	uid_t uid;
	gid_t gid;
	size_t n_groups;
	gid_t groups[USER_GROUPS_MAX]; /* primary first */
	int n_nss_groups;
	gid_t nss_groups[USER_GROUPS_MAX]; /* getgrouplist()'s answer as it was (the policy's groups) */
	char home[4096];
	struct idmap uid_map;
	struct idmap gid_map;
	uint32_t sub_uid[2], sub_gid[2]; /* the subordinate ranges in the maps: start, count */
	bool root_mapped;		 /* container uid 0 and gid 0 are mapped */
	const char *subids_source;	 /* "files", "libsubid" or "allocated" (nsiso's registry) */
};
int user_resolve(const char *name, struct user_info *u, struct nsiso_error *f);
int user_build_idmaps(struct user_info *u, const struct policy_settings *set, struct nsiso_error *f);

/* mounts.c: run inside the new namespaces, before the init is started. */
/* resolv_mnt: a detached read-only mount of the network's resolv.conf, or -1.
 * checked_client: nsiso-newidmap as the supervisor checked it (nested id
 * maps), or -1.
 * devs: the policy's devices (devices.c), put in the container's /dev. */
struct dev_list;
int mounts_setup(const struct user_info *u, const struct policy_settings *s, const struct dev_list *devs,
		 int resolv_mnt, int checked_client, struct nsiso_error *f);

/* network.c */
int network_setup_loopback(struct nsiso_error *f);
bool network_is_named(const struct policy_settings *s);
struct net_attachment {
	bool active;
	char name[POLICY_NET_NAME_MAX + 1]; /* "" when none */
	char veth[16];			    /* host side */
	int veth_index;			    /* its ifindex: the name may be a newer container's */
	uint32_t addr;			    /* the container's, host byte order */
	int lease_fd;			    /* flock()ed while the container lives */
	char lease[320];
};
/* Before the container is made: its resolv.conf (bound over /etc/resolv.conf). */
int network_prepare(const struct policy_settings *s, int *resolv_mnt, struct nsiso_error *f);
void network_prepared(void); /* once the container exists (or failed): the file goes */
/* After: bridge, lease, veth, addresses, route, nftables. */
int network_attach(const struct user_info *u, const struct policy_settings *s, int netns, struct net_attachment *na,
		   struct nsiso_error *f);
/* At the end: veth, lease, and the network itself when it was the last. */
void network_detach(struct net_attachment *na);

/* hooks.c: the policy's on_create or on_destroy (what) at path, for user u
 * and the container id; 0 when it exited 0, else -errno with e saying why. */
int hook_run(const char *what, const char *path, const struct user_info *u, const char *id, struct nsiso_error *e);

/* seccomp.c: the default filter as a sealed memfd of raw BPF. */
int seccomp_build(int rundir, int *out, struct nsiso_error *f);

/* caps.c */
int creds_become(const struct user_info *u, bool userns, struct nsiso_error *f);
int caps_drop_all(struct nsiso_error *f);

/* namespaces.c: create the container; the child ends in execveat(init);
 * its steps marked in tm (timing.c). */
struct timing;
struct container {
	pid_t init_pid;
	int init_pidfd;
	int lifeline; /* write end: closing it ends the init */
	int ns_fds[NS_COUNT];
	uint64_t ns_ino[NS_COUNT];
	unsigned ns_mask;
};
/* Every process of the container starts in the cgroups behind cg_procs. */
int container_create(const struct user_info *u, const struct policy_settings *s, const struct dev_list *devs,
		     const int *cg_procs, size_t n_cg, int resolv_mnt, struct container *c, struct timing *tm,
		     struct nsiso_error *f);

/* joincheck.c: SIGKILL every process in the container's PID namespace
 * that is outside its user namespace and not host root (a session child
 * whose split join never finished); the number killed or -errno. */
int joincheck_sweep(const struct container *c, const char *user);

/* state.c and supervisor.c: the state directory, the per-user lock, the supervisor. */
/* systemd.c: on a host whose PID 1 is systemd with the unified hierarchy,
 * the container lives in a transient scope with Delegate=yes in the user's
 * slice, made through systemd's D-Bus API; systemd_scope() puts the calling
 * supervisor there and gives the scope's cgroup path ("/user.slice/...");
 * systemd_layout() moves the supervisor to SCOPE/supervisor and roots l at
 * the scope. */
bool systemd_manages_cgroups(void);
int systemd_scope(const struct user_info *u, char *cgroup, size_t size, struct nsiso_error *f);
int systemd_layout(const char *scope, struct cg_layout *l, struct nsiso_error *f);

/* nested.c: with nested_userns = yes, the id maps of the tenant's own user
 * namespaces, written on request (docs/THREATS.md 81). nested_wanted():
 * whether the container gets them (nested_userns, a user and a network
 * namespace, subordinate ids); nested_subid_text(): the container's
 * /etc/subuid (gid false) or /etc/subgid; nested_serve(): one request on
 * the listening socket, answered and logged. */
bool nested_wanted(const struct user_info *u, const struct policy_settings *s);
int nested_subid_text(const struct user_info *u, bool gid, char *buf, size_t size);
void nested_serve(int listen_fd, const struct user_info *u, int userns);

/* One loud line per login that runs under the last valid policy because
 * the policy at config is invalid (lib/host/lastgood.h). */
void log_last_good(const char *ident, const char *config, const char *user, const struct policy_kept *k);

int state_open_rundir(struct nsiso_error *f);
int state_lock_user(int rundir, uid_t uid, struct nsiso_error *f);
/* The user's lock file, flock()ed with op, reopened when the file it locked
 * was unlinked meanwhile. An fd or -errno. */
int state_open_lock(int rundir, uid_t uid, int op);
void state_remove_lock(int rundir, uid_t uid); /* under the lock only */
int supervisor_spawn(int rundir, const struct user_info *u, const struct policy_settings *s, struct nsiso_error *f);

/* The systemd user manager (user@UID.service opens a PAM session of the
 * service systemd-user) is not run for isolated users: on the host it would
 * run their units outside the container (docs/THREATS.md 43), and inside it
 * cannot work without a delegated cgroup. Its session is refused; the user's
 * sessions go on without it (docs/ARCHITECTURE.md). */
#define USER_MANAGER_SERVICE "systemd-user"
#define USER_MANAGER_REFUSED "no systemd user manager for isolated users (service systemd-user)"
static inline bool is_user_manager(const struct session_origin *o)
{
	return o && strcmp(o->service, USER_MANAGER_SERVICE) == 0;
}

/* state.c: resolve the policy for a user through NSS. */
int resolve_for(const struct policy *p, const char *user, bool global_only, struct policy_settings *s,
		struct nsiso_error *f);
/* The same for a user just resolved (user_resolve()): its NSS answers are
 * reused, not asked for again. */
int resolve_known(const struct policy *p, const struct user_info *u, struct policy_settings *s, struct nsiso_error *f);

/* inside.c: `nsiso status` from inside the container. inside_listen():
 * a listening socket of type at "@" name in the network namespace
 * netns (the caller's own again on return), or -errno (-ENOTRECOVERABLE:
 * the caller could not go back to its own and must end). inside_text():
 * the answer, cut to size; its length. */
#define INSIDE_IDLE_MAX 16
struct inside_status {
	const char *id, *user;
	int64_t now, started; /* CLOCK_REALTIME s */
	size_t n_sessions;
	struct cg_limits limits;
	struct cg_usage usage;
	uint64_t oom_kills;
	unsigned n_cpus;
	char cpus[64]; /* the cpuset's list; "" without cpus = N */
	int64_t idle_timeout, max_session;
	size_t n_idle;
	struct {
		int pid;
		char tty[32];
		int64_t idle_s, ends_in_s;
	} idle[INSIDE_IDLE_MAX];
};
int inside_listen(int netns, const char *name, int type);
size_t inside_text(const struct inside_status *st, char *out, size_t size);

/* devices.c: the policy's devices (devices = PATH...), resolved once on the
 * host's /dev (globs expanded; only device nodes, no symlinks; a pattern
 * that matches nothing gives nothing), and the BPF device filter on the
 * container's cgroup v2 group: read and write of those and of the standard
 * nodes, mknod of nothing. 0 or -errno with f filled. */
#define DEVICES_MAX 64
struct dev_list {
	size_t n;
	struct {
		char path[64];
		mode_t type; /* S_IFCHR or S_IFBLK */
		dev_t rdev;
	} d[DEVICES_MAX];
};
int devices_resolve(const char *patterns, struct dev_list *out, struct nsiso_error *f);
int devices_filter(int group_dir, const struct dev_list *devs, struct nsiso_error *f);

/* timing.c: where a cold login's time goes (issue 27). Marks taken along
 * the way, logged at LOG_DEBUG as one line, "timing WHO for USER t0=MS
 * STEP=MS... total=MS" (t0: CLOCK_MONOTONIC at the start, in ms, so that a
 * caller can put it against its own clock; each step: ms since the mark
 * before). Off the login's path: logged after the answer. */
struct timing {
	double t0, last;
	size_t len;
	char text[320];
};
void timing_start(struct timing *t);
void timing_mark(struct timing *t, const char *step);
void timing_log(const struct timing *t, const char *who, const char *user);
