/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the user sees from inside: `nsiso status` connects to the abstract
 * socket "@nsiso-status" (NSISO_INSIDE_SOCKET) of the container's network namespace, where the
 * supervisor listens, and reads one text answer (the container's limits,
 * usage and deadlines). Abstract sockets belong to a network namespace:
 * only the container's processes reach this one, and nothing of it is in
 * a file system the tenant could plant in. The supervisor reads nothing
 * from the connection: it writes and closes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "helper.h"
#include "util.h"

int inside_listen(int netns, const char *name, int type)
{
	_cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return neg_errno();
	/* The socket is the namespace's that made it: made there, bound here. */
	if (setns(netns, CLONE_NEWNET) < 0)
		return neg_errno();
	_cleanup_close_ int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r = fd < 0 ? neg_errno() : 0;
	if (setns(self, CLONE_NEWNET) < 0)
		return -ENOTRECOVERABLE; /* the caller must not go on in the container's */
	if (r < 0)
		return r;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strnlen(name, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path + 1, name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 8) < 0)
		return neg_errno();
	return TAKE_FD(fd);
}

static void bytes(char *buf, size_t size, uint64_t b)
{
	if (b == CG_UNLIMITED)
		snprintf(buf, size, "max");
	else if (b >= 1ull << 30)
		snprintf(buf, size, "%.1f GiB", (double)b / (double)(1ull << 30));
	else
		snprintf(buf, size, "%.1f MiB", (double)b / (double)(1ull << 20));
}

static void span(char *buf, size_t size, int64_t s)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, size, "%" PRId64 " s", s);
	else if (s < 7200)
		snprintf(buf, size, "%" PRId64 " min", s / 60);
	else
		snprintf(buf, size, "%" PRId64 " h %" PRId64 " min", s / 3600, s / 60 % 60);
}

static void utc(char *buf, size_t size, int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, size, "?");
}

/* Append to out (cut at size). */
__attribute__((format(printf, 4, 5))) static void put(char *out, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(out + *n, size - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n = (size_t)k < size - *n ? *n + (size_t)k : size - 1;
}

size_t inside_text(const struct inside_status *st, char *out, size_t size)
{
	char a[48], b[48], c[48];
	size_t n = 0;
#define PUT(...) put(out, size, &n, __VA_ARGS__)
	utc(a, sizeof(a), st->started);
	span(b, sizeof(b), st->now - st->started);
	PUT("container      %s of %s, up since %s (%s)\n", st->id, st->user, a, b);
	PUT("sessions       %zu\n", st->n_sessions);
	bytes(a, sizeof(a), st->usage.memory);
	bytes(b, sizeof(b), st->limits.memory_max);
	bytes(c, sizeof(c), st->limits.memory_high);
	PUT("memory         %s in use, memory_max %s, memory_high %s\n", a, b, c);
	PUT("oom kills      %" PRIu64 "\n", st->oom_kills);
	if (st->usage.pids == CG_UNLIMITED)
		PUT("pids           ? of ");
	else
		PUT("pids           %" PRIu64 " of ", st->usage.pids);
	if (st->limits.pids_max == CG_UNLIMITED)
		PUT("max\n");
	else
		PUT("%" PRIu64 " (pids_max)\n", st->limits.pids_max);
	if (st->limits.cpu_quota == CG_UNLIMITED)
		PUT("cpu            cpu_max max, cpu_weight %u", st->limits.cpu_weight);
	else
		PUT("cpu            cpu_max %" PRIu64 " %" PRIu64 " (%.2f CPUs), cpu_weight %u", st->limits.cpu_quota,
		    st->limits.cpu_period, (double)st->limits.cpu_quota / (double)st->limits.cpu_period,
		    st->limits.cpu_weight);
	if (st->usage.throttled != CG_UNLIMITED)
		PUT("; throttled %" PRIu64 " times, %.1f s in all\n", st->usage.throttled,
		    st->usage.throttled_us == CG_UNLIMITED ? 0.0 : (double)st->usage.throttled_us / 1e6);
	else
		PUT("\n");
	if (st->cpus[0])
		PUT("cpus           %s (cpus = %u)\n", st->cpus, st->n_cpus);
	else
		PUT("cpus           all of the host's\n");
	if (st->idle_timeout > 0) {
		span(a, sizeof(a), st->idle_timeout);
		PUT("idle_timeout   %s without input ends a session with a terminal\n", a);
		for (size_t i = 0; i < st->n_idle; i++) {
			span(b, sizeof(b), st->idle[i].idle_s);
			span(c, sizeof(c), st->idle[i].ends_in_s);
			PUT("               session %d (%s): idle %s, ends in %s unless there is input\n",
			    st->idle[i].pid, st->idle[i].tty, b, c);
		}
	} else {
		PUT("idle_timeout   none\n");
	}
	if (st->max_session > 0) {
		utc(a, sizeof(a), st->started + st->max_session);
		span(b, sizeof(b), st->started + st->max_session - st->now);
		PUT("max_session    the container and all its sessions end at %s (in %s)\n", a, b);
	} else {
		PUT("max_session    none\n");
	}
#undef PUT
	return n;
}
