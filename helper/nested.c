/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Nested id maps: rootless podman (or buildah, or `unshare --map-users`)
 * inside a container with nested_userns = yes. Such tools make a user
 * namespace and have shadow's setuid newuidmap and newgidmap give it the
 * user's subordinate ids. Inside the container neither can work: the
 * host's /etc/subuid is in host ids, and a setuid-root binary is not
 * setuid where host root is unmapped. nsiso does their work instead:
 *
 *  - the container's /etc/subuid and /etc/subgid (mounts.c) name the
 *    container ids that map onto the tenant's own subordinate range on the
 *    host, never container root and never a kept id (idmap_nested());
 *  - newuidmap and newgidmap inside are nsiso-newidmap (cli/newidmap.c),
 *    which sends the request with a pidfd of the target process to the
 *    abstract socket "@nsiso-idmap" of the container's network namespace;
 *  - here the supervisor checks the request against the policy's facts and
 *    writes the map from a child that joined the container's user
 *    namespace (the kernel takes a map only from the target's namespace or
 *    its parent).
 *
 * What is checked, nothing taken from the caller on trust: the peer is the
 * tenant (SO_PEERCRED, host uid); the target, named by a pidfd, is alive
 * when its /proc directory is opened, its user namespace is a child of the
 * container's (NS_GET_PARENT) and owned by the tenant (NS_GET_OWNER_UID);
 * every lower range is the tenant's own id alone or within the container
 * ids of its subordinate range. The kernel adds the rest (no overlap, one
 * write per map). docs/THREATS.md 81. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "helper.h"
#include "smallfile.h"
#include "util.h"

#define NESTED_REQUEST_MAX 4096
#define NESTED_WAIT_MS 200 /* for the request after the connection */

bool nested_wanted(const struct user_info *u, const struct policy_settings *s)
{
	unsigned need = NS_BIT(NS_USER) | NS_BIT(NS_NET) | NS_BIT(NS_MNT);
	return s->nested_userns == YES && (s->ns_mask & need) == need && u->sub_uid[1] > 1 && u->sub_gid[1] > 1;
}

int nested_subid_text(const struct user_info *u, bool gid, char *buf, size_t size)
{
	static struct id_range r[IDMAP_LINES_MAX];
	const uint32_t *sub = gid ? u->sub_gid : u->sub_uid;
	size_t n = idmap_nested(gid ? &u->gid_map : &u->uid_map, sub[0], sub[1], r, IDMAP_LINES_MAX);
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w =
		    snprintf(buf + used, size - used, "%s:%" PRIu32 ":%" PRIu32 "\n", u->name, r[i].inside, r[i].count);
		if (w < 0 || (size_t)w >= size - used)
			return -ENOSPC;
		used += (size_t)w;
	}
	return (int)used;
}

/* The request: "u\n" or "g\n", then "inside lower count\n" lines. Each
 * lower range checked; the lines again as the kernel takes them in out. */
static int parse_request(const char *req, const struct user_info *u, bool *gid, char *out, size_t size)
{
	static struct id_range allowed[IDMAP_LINES_MAX];
	if ((req[0] != 'u' && req[0] != 'g') || req[1] != '\n')
		return -EINVAL;
	*gid = req[0] == 'g';
	const uint32_t *sub = *gid ? u->sub_gid : u->sub_uid;
	size_t n = idmap_nested(*gid ? &u->gid_map : &u->uid_map, sub[0], sub[1], allowed, IDMAP_LINES_MAX);
	uint32_t own = *gid ? u->gid : u->uid;
	size_t used = 0, lines = 0;
	for (const char *p = req + 2; *p;) {
		unsigned long long in, low, count;
		int len = 0;
		if (sscanf(p, "%llu %llu %llu\n%n", &in, &low, &count, &len) != 3 || len == 0 || in > UINT32_MAX ||
		    low > UINT32_MAX || count > UINT32_MAX || ++lines > IDMAP_LINES_MAX)
			return -EINVAL;
		if (!idmap_nested_permits(allowed, n, own, (uint32_t)low, (uint32_t)count))
			return -EPERM;
		int w = snprintf(out + used, size - used, "%llu %llu %llu\n", in, low, count);
		if (w < 0 || (size_t)w >= size - used)
			return -E2BIG;
		used += (size_t)w;
		p += len;
	}
	return lines > 0 ? (int)used : -EINVAL;
}

/* The target: the process behind pidfd, its /proc directory opened while
 * it is known to be alive; its user namespace a child of the container's
 * and the tenant's. The directory's fd, or -errno. */
static int open_target(int pidfd, const struct user_info *u, int userns, pid_t *pid)
{
	char path[64], info[512];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (read_small_at(AT_FDCWD, path, info, sizeof(info)) <= 0)
		return -EBADF;
	const char *at = strstr(info, "\nPid:");
	if (!at || sscanf(at + 5, "%d", pid) != 1 || *pid <= 0)
		return -ESRCH; /* not a pidfd, or its process is gone */
	snprintf(path, sizeof(path), "/proc/%d", (int)*pid);
	_cleanup_close_ int dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return neg_errno();
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return neg_errno(); /* gone: the pid may be someone else's by now */

	_cleanup_close_ int ns = openat(dir, "ns/user", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return neg_errno();
	_cleanup_close_ int parent = ioctl(ns, NS_GET_PARENT);
	struct stat a, b;
	if (parent < 0 || fstat(parent, &a) < 0 || fstat(userns, &b) < 0)
		return -EPERM;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return -EPERM; /* not a user namespace made in the container */
	uid_t owner;
	if (ioctl(ns, NS_GET_OWNER_UID, &owner) < 0 || owner != u->uid)
		return -EPERM;
	return TAKE_FD(dir);
}

/* From a child in the container's user namespace: the kernel takes a map
 * only from the target's own namespace or its parent, and from a writer
 * with CAP_SETUID/CAP_SETGID there. */
static int write_map(int userns, int dir, bool gid, const char *text)
{
	pid_t child = fork();
	if (child < 0)
		return neg_errno();
	if (child == 0) {
		if (setns(userns, CLONE_NEWUSER) < 0)
			_exit(errno);
		int fd = openat(dir, gid ? "gid_map" : "uid_map", O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(errno);
		ssize_t w = write(fd, text, strlen(text));
		_exit(w == (ssize_t)strlen(text) ? 0 : w < 0 ? errno : EIO);
	}
	int status;
	if (RETRY_EINTR(waitpid(child, &status, 0)) < 0)
		return neg_errno();
	if (!WIFEXITED(status))
		return -ECHILD;
	return -WEXITSTATUS(status);
}

/* One request: its pidfd (SCM_RIGHTS) in *pidfd, its text in req. */
static int receive(int conn, char *req, size_t size, int *pidfd)
{
	struct pollfd p = { .fd = conn, .events = POLLIN };
	if (poll(&p, 1, NESTED_WAIT_MS) <= 0)
		return -ETIMEDOUT;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { req, size - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof(c.buf) };
	ssize_t n = recvmsg(conn, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return neg_errno();
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(pidfd, CMSG_DATA(h), sizeof(int));
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || *pidfd < 0)
		return -EINVAL;
	req[n] = '\0';
	return strlen(req) == (size_t)n ? 0 : -EINVAL;
}

void nested_serve(int listen_fd, const struct user_info *u, int userns)
{
	static char req[NESTED_REQUEST_MAX], text[NESTED_REQUEST_MAX];
	_cleanup_close_ int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return;
	_cleanup_close_ int pidfd = -EBADF;
	_cleanup_close_ int dir = -EBADF;
	struct ucred peer = { 0 };
	socklen_t plen = sizeof(peer);
	bool gid = false;
	pid_t pid = 0;
	const char *step = "request";
	int r = receive(conn, req, sizeof(req), &pidfd);
	if (r == 0) {
		step = "peer";
		if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &plen) < 0 || peer.uid != u->uid)
			r = -EPERM;
	}
	if (r == 0) {
		step = "ranges";
		r = parse_request(req, u, &gid, text, sizeof(text));
		r = r < 0 ? r : 0;
	}
	if (r == 0) {
		step = "target";
		dir = open_target(pidfd, u, userns, &pid);
		r = dir < 0 ? dir : 0;
	}
	if (r == 0) {
		step = "write";
		r = write_map(userns, dir, gid, text);
	}
	char answer[160], uv[LOG_VALUE_MAX];
	if (r == 0)
		snprintf(answer, sizeof(answer), "ok\n");
	else
		snprintf(answer, sizeof(answer), "%s map refused at %s: %s\n", gid ? "gid" : "uid", step, strerror(-r));
	(void)send(conn, answer, strlen(answer), MSG_DONTWAIT | MSG_NOSIGNAL);
	syslog(r == 0 ? LOG_INFO : LOG_WARNING, "nested %s map %s user=%s uid=%u pid=%d step=%s error=%s",
	       gid ? "gid" : "uid", r == 0 ? "written" : "refused", log_value(uv, sizeof(uv), u->name),
	       (unsigned)u->uid, (int)pid, step, r == 0 ? "none" : strerrorname_np(-r));
}
