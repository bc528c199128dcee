/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

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
int join_container(const struct session_fds *sf, unsigned mask, const struct session_hardening *hard,
		   bool keep_bounding, char *why, size_t why_size, bool *committed);
