/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "proto.h"

/* Register a session with the live container of uid and receive its
 * namespace fds, seccomp filter and cgroup.procs fds (see struct
 * session_fds).
 *
 * The container's supervisor listens on NSISO_RUNDIR/<uid>.sock, a
 * directory only root can enter; its peer must be root. Returns 0; -ENOENT,
 * -ECONNREFUSED or -ECONNRESET when there is no live container (none, a
 * stale socket, or one that retired while we connected): the caller then
 * creates one through the helper; any other -errno is a refusal, with
 * reply->step and reply->detail saying why. */
int attach_container(uid_t uid, const char *user, const char *config, int holder_pidfd,
		     const struct session_origin *origin, struct attach_reply *reply, struct session_fds *fds);

/* True for the errors of attach_container() that mean "no live container". */
static inline int attach_no_container(int r)
{
	return r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET;
}

/* A request without fds to uid's supervisor (OP_STATUS, OP_STOP) and its
 * answer of exactly reply_size bytes; with peer_pidfd, a pidfd of the
 * supervisor. 0 or -errno; attach_no_container() tells "none live". */
int supervisor_request(uid_t uid, uint32_t op, uint32_t grace_ms, void *reply, size_t reply_size, int *peer_pidfd);
