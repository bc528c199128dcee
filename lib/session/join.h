/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

/* Move the calling process into the groups behind the fds (opened by the
 * supervisor: the kernel checks the opener): cgroup.procs on v2, tasks on
 * v1 (cg_enter_file). The caller must have one thread: "0" in a v1 tasks
 * file moves the writing thread alone (the join checks it before its
 * setns; the supervisor and the container's first process are
 * single-threaded). */
int cg_enter(const int *procs, size_t n);

/* Put the calling process into a container, in this order: its resource
 * limits (while still host root), the cgroup, IPC, UTS, net, PID (for
 * children) and mount namespaces (undone in reverse if one fails), the
 * container's cgroups, the user namespace, container root (setgroups,
 * setresgid, setresuid 0), then the hardening: the bounding set (kept
 * whole with keep_bounding: nsiso enter --root), no_new_privs, the seccomp
 * filter. The caller must be single-threaded (checked first).
 *
 * Used by pam_nsiso.so and by nsiso enter. Returns 0 or -errno with why
 * set; *committed tells whether the caller was changed for good (then it
 * must never go on unisolated). */
enum join_part {
	JOIN_WHOLE, /* all of the above */
	JOIN_OUTER, /* the namespaces but the user namespace; nothing else */
	JOIN_INNER, /* the rest: limits, cgroups, user namespace, uid 0 (groups kept), hardening */
};

/* The parts split the join between sshd's root monitor (outer: it stays host
 * root, in the host's user namespace, so that pam_systemd, utmp and wtmp work
 * as without nsiso) and its session child (inner, from pam_sm_setcred,
 * before it becomes the user). */
int container_join(const struct session_fds *sf, unsigned mask, const struct session_hardening *hard,
		   enum join_part part, bool keep_bounding, struct nsiso_error *e, bool *committed);
