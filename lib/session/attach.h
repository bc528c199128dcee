/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

/* The names in NSISO_RUNDIR, in one place: UID.sock (the supervisor's
 * socket), UID.lock (the user's lock). */
void state_name(char *buf, size_t size, uid_t uid, const char *suffix);
int state_socket_address(uid_t uid, struct sockaddr_un *sa);
/* The uid of a name UID.sock, or false. */
bool state_socket_uid(const char *name, uid_t *uid);

#include <sys/types.h>

#include "cglimits.h"
#include "proto.h"

/* Register a session with the live container of uid and receive its
 * namespace fds, seccomp filter and cgroup.procs fds (see struct
 * session_fds).
 *
 * The container's supervisor listens on NSISO_RUNDIR/<uid>.sock, a
 * directory only root can enter; its peer must be root. Returns 0;
 * ATTACH_NONE when nothing listens there (no container, or the stale socket
 * of a crashed one); ATTACH_GONE when the supervisor closed the connection
 * without an answer (it retired while we connected: only a caller without
 * the user's lock can see that); any -errno is a refusal, with reply->step
 * and reply->err saying why. An error *answer* of a live supervisor is
 * always a -errno, never "no container": only ATTACH_NONE may lead to a new
 * container (docs/THREATS.md 42). */
#define ATTACH_NONE 1
#define ATTACH_GONE 2
int container_attach(uid_t uid, const char *user, const char *config, int holder_pidfd,
		     const struct session_origin *origin, struct session_reply *reply, struct session_fds *fds);

/* True for the answers of container_attach() and supervisor_request() that
 * mean "no live container here now". */
static inline int attach_no_container(int r)
{
	return r == ATTACH_NONE || r == ATTACH_GONE;
}

/* A request without fds to uid's supervisor (OP_STATUS, OP_STOP) and its
 * answer of exactly reply_size bytes; with peer_pidfd, a pidfd of the
 * supervisor. 0, ATTACH_NONE, ATTACH_GONE or -errno. */
int supervisor_request(uid_t uid, uint32_t op, uint32_t grace_ms, const struct cg_limits *limits, void *reply,
		       size_t reply_size, int *peer_pidfd);
