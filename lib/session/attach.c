/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/un.h>

#include "attach.h"
#include "fdpass.h"
#include "util.h"

#define IO_TIMEOUT_S 5

void state_name(char *buf, size_t size, uid_t uid, const char *suffix)
{
	snprintf(buf, size, "%u.%s", (unsigned)uid, suffix);
}

int state_socket_address(uid_t uid, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%u.sock", NSISO_RUNDIR, (unsigned)uid);
	return n > 0 && (size_t)n < sizeof(sa->sun_path) ? 0 : -ENAMETOOLONG;
}

bool state_socket_uid(const char *name, uid_t *uid)
{
	char *end;
	if (name[0] < '0' || name[0] > '9')
		return false;
	errno = 0;
	unsigned long u = strtoul(name, &end, 10);
	if (errno || u > UINT32_MAX - 1 || strcmp(end, ".sock") != 0)
		return false;
	*uid = (uid_t)u;
	return true;
}

/* A connected socket to uid's supervisor, checked to be served by root.
 * -ENOENT or -ECONNREFUSED with *what empty when nothing listens there. */
static int connect_supervisor(uid_t uid, pid_t *peer, const char **what)
{
	struct sockaddr_un sa;
	if (state_socket_address(uid, &sa) < 0)
		return -ENAMETOOLONG;
	_cleanup_close_ int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0) {
		*what = "socket";
		return neg_errno();
	}
	/* Bounded: a supervisor whose backlog is full makes connect() wait
	 * for SO_SNDTIMEO, then EAGAIN; a login is refused, never hung. */
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		*what = "socket timeouts";
		return neg_errno();
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = neg_errno();
		if (e != -ENOENT && e != -ECONNREFUSED)
			*what = e == -EAGAIN ? "the supervisor did not accept in time" : "connecting to the supervisor";
		return e;
	}
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		*what = "SO_PEERCRED";
		return neg_errno();
	}
	if (cred.uid != 0) {
		*what = "the container socket is not served by root";
		return -EPERM;
	}
	if (peer)
		*peer = cred.pid;
	return TAKE_FD(s);
}

int supervisor_request(uid_t uid, uint32_t op, uint32_t grace_ms, const struct cg_limits *limits, void *reply,
		       size_t reply_size, int *peer_pidfd)
{
	struct attach_request req = {
		.version = NSISO_PROTO_VERSION, .uid = (uint32_t)uid, .op = op, .stop_grace_ms = grace_ms
	};
	if (limits)
		req.limits = *limits;
	const char *what = "";
	pid_t peer = -1;
	_cleanup_close_ int s = connect_supervisor(uid, &peer, &what);
	if (s < 0)
		return what[0] ? s : ATTACH_NONE;
	/* While connected the supervisor is alive: its pid is not recycled. */
	if (peer_pidfd) {
		*peer_pidfd = (int)syscall(SYS_pidfd_open, peer, 0);
		if (*peer_pidfd < 0)
			return neg_errno();
	}
	int r = fdpass_send(s, &req, sizeof(req), NULL, 0);
	int none[1];
	size_t n_fds = 0;
	if (r == 0)
		r = fdpass_recv(s, reply, reply_size, none, 0, &n_fds);
	if (r == -EPIPE || r == -ECONNRESET)
		r = ATTACH_GONE;
	if (r != 0 && peer_pidfd)
		close_fd(peer_pidfd);
	return r;
}

int container_attach(uid_t uid, const char *user, const char *config, int holder_pidfd,
		     const struct session_origin *origin, struct session_reply *reply, struct session_fds *fds)
{
	struct attach_request req = { .version = NSISO_PROTO_VERSION, .uid = (uint32_t)uid, .op = OP_ATTACH };
	int r;

	memset(reply, 0, sizeof(*reply));
	session_fds_init(fds);
	if (strlen(user) > NSISO_USER_MAX || strlen(config) >= sizeof(req.config))
		return error_at(&reply->err, STEP_ATTACH, -ENAMETOOLONG, "user name or policy path too long");
	strcpy(req.user, user);
	strcpy(req.config, config);
	if (origin) {
		origin_copy(req.origin.service, sizeof(req.origin.service), origin->service);
		origin_copy(req.origin.tty, sizeof(req.origin.tty), origin->tty);
		origin_copy(req.origin.rhost, sizeof(req.origin.rhost), origin->rhost);
	}
	const char *what = "";
	_cleanup_close_ int s = connect_supervisor(uid, NULL, &what);
	if (s < 0)
		return what[0] ? error_at(&reply->err, STEP_ATTACH, s, "%s", what) : ATTACH_NONE;

	r = fdpass_send(s, &req, sizeof(req), &holder_pidfd, 1);
	if (r == -EPIPE || r == -ECONNRESET)
		return ATTACH_GONE; /* retired while we connected */
	if (r < 0)
		return error_at(&reply->err, STEP_ATTACH, r, "sending the session to the supervisor");

	int got[SESSION_FDS_MAX];
	size_t n = 0;
	r = fdpass_recv(s, reply, sizeof(*reply), got, SESSION_FDS_MAX, &n);
	if (r == -ECONNRESET)
		return ATTACH_GONE;
	if (r < 0)
		return error_at(&reply->err, STEP_ATTACH, r, "%s",
				r == -EAGAIN ? "the supervisor did not answer in time"
					     : "reading the supervisor's answer");
	error_sanitize(&reply->err, STEP_ATTACH);
	if (reply->version == NSISO_PROTO_VERSION && reply->err.error < 0) {
		for (size_t i = 0; i < n; i++)
			(void)close(got[i]);
		return reply->err.error;
	}
	if (reply->version != NSISO_PROTO_VERSION ||
	    session_fds_unpack(fds, reply->ns_mask, &reply->hard, got, n) < 0) {
		if (reply->version != NSISO_PROTO_VERSION)
			for (size_t i = 0; i < n; i++)
				(void)close(got[i]);
		return error_at(&reply->err, STEP_ATTACH, -EBADMSG, "malformed answer from the supervisor");
	}
	return 0;
}
