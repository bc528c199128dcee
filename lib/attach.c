/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "attach.h"
#include "fdpass.h"
#include "util.h"

#define IO_TIMEOUT_S 5

static int fail_reply(struct attach_reply *reply, int error, const char *detail)
{
	reply->error = error;
	reply->step = STEP_ATTACH;
	snprintf(reply->detail, sizeof(reply->detail), "%s", detail);
	return error;
}

int attach_container(uid_t uid, const char *user, const char *config, int holder_pidfd,
		     struct attach_reply *reply, struct session_fds *fds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct attach_request req = { .version = NSISO_PROTO_VERSION, .uid = (uint32_t)uid };
	int r;

	memset(reply, 0, sizeof(*reply));
	session_fds_init(fds);
	if (strlen(user) > NSISO_USER_MAX || strlen(config) >= sizeof(req.config))
		return fail_reply(reply, -ENAMETOOLONG, "user name or policy path too long");
	strcpy(req.user, user);
	strcpy(req.config, config);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%u.sock", NSISO_RUNDIR, (unsigned)uid);

	_cleanup_close_ int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail_reply(reply, neg_errno(), "socket");
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return neg_errno();
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return fail_reply(reply, neg_errno(), "SO_PEERCRED");
	if (cred.uid != 0)
		return fail_reply(reply, -EPERM, "the container socket is not served by root");
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return fail_reply(reply, neg_errno(), "socket timeouts");

	r = fdpass_send(s, &req, sizeof(req), &holder_pidfd, 1);
	if (r == -EPIPE || r == -ECONNRESET)
		return -ECONNRESET; /* retired while we connected */
	if (r < 0)
		return fail_reply(reply, r, "sending the session to the supervisor");

	int got[SESSION_FDS_MAX];
	size_t n = 0;
	r = fdpass_recv(s, reply, sizeof(*reply), got, SESSION_FDS_MAX, &n);
	if (r == -ECONNRESET)
		return r;
	if (r < 0)
		return fail_reply(reply, r, r == -EAGAIN ? "the supervisor did not answer in time"
							  : "reading the supervisor's answer");
	reply->detail[sizeof(reply->detail) - 1] = '\0';
	if (reply->version == NSISO_PROTO_VERSION && reply->error < 0) {
		for (size_t i = 0; i < n; i++)
			(void)close(got[i]);
		if (reply->step == STEP_NONE || reply->step >= STEP_COUNT)
			reply->step = STEP_ATTACH;
		return reply->error;
	}
	if (reply->version != NSISO_PROTO_VERSION || session_fds_unpack(fds, reply->ns_mask, &reply->hard, got, n) < 0) {
		if (reply->version != NSISO_PROTO_VERSION)
			for (size_t i = 0; i < n; i++)
				(void)close(got[i]);
		return fail_reply(reply, -EBADMSG, "malformed answer from the supervisor");
	}
	return 0;
}
