/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <pwd.h>
#include <sys/file.h>
#include <syslog.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/personality.h>
#include <sched.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "fsutil.h"
#include "fdpass.h"
#include "helper.h"
#include "journal.h"
#include "lastgood.h"
#include "policy.h"
#include "stats.h"
#include "util.h"

/* Session tracking.
 *
 * Each live container has a supervisor: a root process on the host, child
 * of nobody we know, parent of the container's init. It listens on
 * NSISO_RUNDIR/<uid>.sock (the directory is root's, mode 0700) and holds a
 * pidfd of every process that opened a session in the container (sshd's
 * monitor, su). When the last of them exits -- also when it was SIGKILLed and
 * never closed its session -- the supervisor removes the socket and ends the
 * init, and the kernel ends everything in the PID namespace.
 *
 * NSISO_RUNDIR/<uid>.lock serialises, per user, "find the live container or
 * create one" against the supervisor's retiring: a helper holds it from
 * connect to reply, and the supervisor takes it to unlink the socket (and
 * the lock file). So a login either joins a container that stays up for
 * it, or creates a new one; it never joins one that is being torn down.
 * The teardown itself (the init, the cgroups, the veth, the lease) runs
 * after the lock is released: a login that comes meanwhile builds a new
 * container at once, beside it (its cgroup NAME@2 while NAME is still
 * there, its own address; the old veth goes first, see network.c). */

#define SESSIONS_MAX 4096
#define FIRST_ATTACH_TIMEOUT_MS 30000
#define IO_TIMEOUT_S 5

static int set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return neg_errno();
	return 0;
}

/* ---- the supervisor ---------------------------------------------------- */

struct holder {
	int pidfd;
	pid_t pid;
	int64_t started; /* CLOCK_REALTIME s */
	struct session_origin origin;
	bool idle_warned;     /* told it ends soon; reset by input */
	bool idle_told;	      /* told it ends now, its terminal's process hung up */
	int64_t idle_told_at; /* ms */
	bool idle_ended;      /* asked to end (SIGTERM) for want of input */
};

struct supervisor {
	int rundir;
	int listen_fd;
	const struct user_info *u;
	const struct policy_settings *s;
	struct container c;
	size_t n_holders;
	struct holder holders[SESSIONS_MAX];
	bool armed;
	bool stopping;		       /* nsiso stop: sessions were asked to end */
	int64_t stop_deadline;	       /* ms; then by force */
	int64_t started_real;	       /* CLOCK_REALTIME s */
	uint32_t reply_flags;	       /* for the answer being built */
	int64_t linger;		       /* seconds to stay up without sessions; -1 for ever */
	int64_t empty_since;	       /* ms, when the last session left */
	int64_t started;	       /* ms */
	struct session_hardening hard; /* what every session gets */
	int seccomp_fd;
	unsigned long attached; /* sessions over the container's life */
	struct cg_layout cg_layout;
	struct cg_group cg;	 /* the container's cgroups */
	struct cg_limits limits; /* what they have: the policy's, or nsiso set's */
	char id[48];		 /* nsiso-UID-PID: the hooks' CONTAINER-ID, the scope's name */
	bool max_warned;	 /* the terminals were told max_session is near */
	struct cg_oom oom;	 /* the kernel's OOM kills in the container's memory group */
	int64_t oom_told;	 /* ms: when the terminals were last told of one */
	bool oom_recheck;	 /* v1: notified before the kill was counted */
	bool max_reached;	 /* max_session ended it */
	bool cg_left;		 /* the teardown could not remove them */
	char scope[160];	 /* systemd: the scope's cgroup path; "" without systemd */
	struct net_attachment net;
	char config[NSISO_CONFIG_MAX]; /* the policy path of the first session */
	dev_t sock_dev;		       /* the socket file this supervisor bound: only */
	ino_t sock_ino;		       /* that one is ever removed by it */
	int spare_fd;		       /* given up to accept-and-close at the fd limit */
	int64_t last_attach;	       /* ms: the join checks count from it */
	unsigned join_checks_done;     /* of join_check_after_ms[] since then */
	int inside_fd;		       /* nsiso status from inside (inside.c); -EBADF: none */
	int64_t inside_window;	       /* ms: the second the answers below were counted in */
	unsigned inside_answers;
	int nested_fd; /* nested id maps (nested.c); -EBADF: none */
};

/* When the supervisor looks for session children whose split join never
 * finished (joincheck.c), counted from each attach: a child that took
 * longer than the first look to reach its setcred is caught by a later one. */
static int64_t now_ms(void);
static const int64_t join_check_after_ms[] = { 2000, 8000, 30000 };

/* ms until the next join check is due (0: now), or -1 for none. */
static int64_t join_check_due(const struct supervisor *sv)
{
	if (sv->join_checks_done >= ARRAY_SIZE(join_check_after_ms))
		return -1;
	int64_t at = sv->last_attach + join_check_after_ms[sv->join_checks_done];
	return at > now_ms() ? at - now_ms() : 0;
}

/* Remove NSISO_RUNDIR/<uid>.sock only if it is still the file we bound: a
 * name alone could be another container's (docs/THREATS.md 42). */
static void remove_own_socket(int rundir, uid_t uid, dev_t dev, ino_t ino)
{
	char name[32];
	struct stat st;
	state_name(name, sizeof(name), uid, "sock");
	if (fstatat(rundir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == dev && st.st_ino == ino)
		(void)unlinkat(rundir, name, 0);
}

static const char *network_word(const struct supervisor *sv)
{
	return sv->net.name[0] ? sv->net.name : (sv->c.ns_mask & NS_BIT(NS_NET)) ? "none" : "host";
}

/* The answer to a session: the container's fds, or the error (detail:
 * why), or with REPLY_EXEMPT the exempting section. */
/* A line of the supervisor's: to the journal with its fields where
 * journald runs (it passes it on to syslog as its other lines), else to
 * syslog. */
static void sv_log(const struct supervisor *sv, int priority, const char *message_id, const char *line)
{
	char fu[16 + LOG_VALUE_MAX], fid[32], fc[64], uv[LOG_VALUE_MAX];
	snprintf(fu, sizeof(fu), "NSISO_USER=%s", log_escape(uv, sizeof(uv), sv->u->name));
	snprintf(fid, sizeof(fid), "NSISO_UID=%u", (unsigned)sv->u->uid);
	snprintf(fc, sizeof(fc), "NSISO_CONTAINER=%s", sv->id);
	char fpid[32];
	snprintf(fpid, sizeof(fpid), "SYSLOG_PID=%d", (int)getpid());
	const char *fields[] = { "SYSLOG_IDENTIFIER=nsiso-sup", fpid, fu, fid, fc };
	if (journal_send(priority, message_id, line, fields, ARRAY_SIZE(fields)) < 0)
		syslog(priority, "%s", line);
}

static void supervisor_answer(int conn, struct supervisor *sv, int error, enum nsiso_step step, const char *detail)
{
	struct session_reply rep = { .version = NSISO_PROTO_VERSION, .flags = sv->reply_flags };
	if (error < 0)
		(void)error_at(&rep.err, step, error, "%s", detail ? detail : "");
	else if (rep.flags & REPLY_EXEMPT)
		text_copy(rep.exempt_by, sizeof(rep.exempt_by), detail ? detail : "");
	int fds[SESSION_FDS_MAX];
	size_t n = 0;
	sv->reply_flags = 0;
	if (error == 0 && !(rep.flags & REPLY_EXEMPT)) {
		struct session_fds sf;
		session_fds_init(&sf);
		rep.ns_mask = sv->c.ns_mask;
		rep.init_pid = (uint32_t)sv->c.init_pid;
		rep.sessions = (uint32_t)sv->n_holders;
		for (int i = 0; i < NS_COUNT; i++) {
			rep.ns_ino[i] = sv->c.ns_ino[i];
			sf.ns[i] = sv->c.ns_fds[i];
		}
		rep.hard = sv->hard;
		rep.net_addr = sv->net.addr;
		snprintf(rep.network, sizeof(rep.network), "%s", network_word(sv));
		if (sv->cg.n)
			snprintf(rep.cgroup, sizeof(rep.cgroup), "%s", sv->cg.name);
		snprintf(rep.id, sizeof(rep.id), "%s", sv->id);
		sf.seccomp = sv->seccomp_fd;
		for (size_t i = 0; i < sv->cg.n; i++)
			sf.cgroup[i] = sv->cg.g[i].procs;
		n = session_fds_pack(&sf, rep.ns_mask, &rep.hard, fds);
	}
	if (fdpass_send(conn, &rep, sizeof(rep), fds, n) < 0 && error == 0 && n > 0 && sv->n_holders > 0) {
		/* The helper went away: forget the session it was adding. */
		(void)close(sv->holders[--sv->n_holders].pidfd);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_real(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

/* The pid behind a pidfd (its fdinfo), or -1. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : RETRY_EINTR(read(fd, buf, sizeof(buf) - 1));
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	const char *p = strstr(buf, "\nPid:");
	return p ? (pid_t)atoi(p + 5) : -1;
}

static void supervisor_status(int conn, struct supervisor *sv)
{
	static struct container_status st;
	memset(&st, 0, sizeof(st));
	st.version = NSISO_PROTO_VERSION;
	st.uid = (uint32_t)sv->u->uid;
	st.init_pid = (uint32_t)sv->c.init_pid;
	st.supervisor_pid = (uint32_t)getpid();
	st.ns_mask = sv->c.ns_mask;
	st.n_sessions = (uint32_t)sv->n_holders;
	st.stopping = sv->stopping;
	st.started = sv->started_real;
	st.linger = sv->linger;
	if (sv->n_holders == 0 && sv->empty_since >= 0)
		st.empty_since = sv->started_real + (sv->empty_since - sv->started) / 1000;
	memcpy(st.ns_ino, sv->c.ns_ino, sizeof(st.ns_ino));
	snprintf(st.user, sizeof(st.user), "%s", sv->u->name);
	snprintf(st.hostname, sizeof(st.hostname), "%s", (sv->c.ns_mask & NS_BIT(NS_UTS)) ? sv->s->hostname : "");
	if (sv->cg.n)
		snprintf(st.cgroup, sizeof(st.cgroup), "%s%s%s/%s", sv->scope[0] ? sv->scope + 1 : "",
			 sv->scope[0] ? "/" : "", CG_DIR, sv->cg.name);
	snprintf(st.network, sizeof(st.network), "%s", network_word(sv));
	if (sv->net.addr)
		(void)policy_ipv4_text(sv->net.addr, st.address, sizeof(st.address));
	st.limits = sv->limits;
	st.hard = sv->hard;
	for (size_t i = 0; i < sv->n_holders && i < STATUS_SESSIONS_MAX; i++) {
		st.session[i].pid = sv->holders[i].pid;
		st.session[i].started = sv->holders[i].started;
		st.session[i].origin = sv->holders[i].origin;
	}
	(void)fdpass_send(conn, &st, sizeof(st), NULL, 0);
}

/* nsiso stop: ask every session to end (SIGTERM to the process that opened
 * it: sshd closes the session, su ends its shell); the loop ends the
 * container when the last is gone, or by force at the deadline. */
static void supervisor_stop(int conn, struct supervisor *sv, uint32_t grace_ms)
{
	if (!sv->stopping) {
		sv->stopping = true;
		sv->stop_deadline = now_ms() + (grace_ms > 600000 ? 600000 : grace_ms);
		for (size_t i = 0; i < sv->n_holders; i++)
			(void)syscall(SYS_pidfd_send_signal, sv->holders[i].pidfd, SIGTERM, NULL, 0);
	}
	sv->armed = true;
	struct session_reply rep = { .version = NSISO_PROTO_VERSION,
				     .init_pid = (uint32_t)sv->c.init_pid,
				     .sessions = (uint32_t)sv->n_holders };
	(void)fdpass_send(conn, &rep, sizeof(rep), NULL, 0);
}

/* ---- session lifetime: idle_timeout, max_session ------------------------ */

/* A session's terminal. PAM_TTY cannot say it: sshd opens the session
 * before it allocates the pty, and allocates it in the container's devpts.
 * So: the first process at or below the session's (breadth-first over
 * /proc/PID/task/PID/children, at most 64 processes) whose controlling
 * terminal is a pty, and one of its fds open on that pty, as a /proc path
 * (the host's view of the container's terminal) with its stat. False: no
 * terminal (scp, sftp, a command): never idle-timed. What a tenant can
 * steer here is only which of its own ptys is looked at. */
static bool session_tty(pid_t pid, char *path, size_t size, struct stat *st, pid_t *owner)
{
	pid_t queue[64];
	size_t head = 0, tail = 0;
	queue[tail++] = pid;
	while (head < tail) {
		pid_t p = queue[head++];
		char f[64], buf[4096];
		snprintf(f, sizeof(f), "/proc/%d/stat", (int)p);
		ssize_t n = read_small_at(AT_FDCWD, f, buf, sizeof(buf));
		const char *rp = n > 0 ? strrchr(buf, ')') : NULL;
		int tty_nr = 0;
		if (rp && sscanf(rp + 1, " %*c %*d %*d %*d %d", &tty_nr) == 1 && tty_nr) {
			unsigned maj = ((unsigned)tty_nr >> 8) & 0xfff,
				 min = ((unsigned)tty_nr & 0xff) | (((unsigned)tty_nr >> 12) & 0xfff00);
			snprintf(f, sizeof(f), "/proc/%d/fd", (int)p);
			DIR *d = maj >= 136 && maj <= 143 ? opendir(f) : NULL;
			struct dirent *e;
			while (d && (e = readdir(d))) {
				if (e->d_name[0] == '.')
					continue;
				if ((size_t)snprintf(path, size, "/proc/%d/fd/%.16s", (int)p, e->d_name) >= size)
					continue;
				if (stat(path, st) == 0 && S_ISCHR(st->st_mode) && major(st->st_rdev) == maj &&
				    minor(st->st_rdev) == min) {
					closedir(d);
					if (owner)
						*owner = p;
					return true;
				}
			}
			if (d)
				closedir(d);
		}
		snprintf(f, sizeof(f), "/proc/%d/task/%d/children", (int)p, (int)p);
		n = read_small_at(AT_FDCWD, f, buf, sizeof(buf));
		for (char *c = buf, *end; n > 0 && tail < ARRAY_SIZE(queue); c = end) {
			long child = strtol(c, &end, 10);
			if (end == c)
				break;
			queue[tail++] = (pid_t)child;
		}
	}
	return false;
}

/* One line to a session's terminal (a raw-mode editor gets \r\n); false
 * when it has none. */
static bool tell_tty(const struct holder *h, const char *text)
{
	char path[96];
	struct stat st, now;
	if (!session_tty(h->pid, path, sizeof(path), &st, NULL))
		return false;
	_cleanup_close_ int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	return fd >= 0 && fstat(fd, &now) == 0 && now.st_rdev == st.st_rdev &&
	       write(fd, text, strlen(text)) == (ssize_t)strlen(text);
}

/* The kernel moves a terminal's access time on input at most every 8 s
 * (tty_update_time: a finer one would leak keystroke timing), so the time
 * since it is the input idle time plus up to 8 s: a session ends when that
 * reaches idle_timeout + 8, between idle_timeout and idle_timeout + 8 s
 * after its last input, never while input comes. */
#define TTY_ATIME_GRAIN_S 8

/* Warn, end, and say when to look again (ms; -1: nothing to watch). */
static int64_t lifetime_tick(struct supervisor *sv)
{
	const struct policy_settings *s = sv->s;
	int64_t next = -1, now = now_ms();
	char uv[LOG_VALUE_MAX], line[256];
	if (s->max_session > 0 && !sv->stopping) {
		int64_t end = sv->started + s->max_session * 1000, warn = end - s->timeout_warning * 1000;
		if (s->timeout_warning > 0 && !sv->max_warned && now >= warn) {
			sv->max_warned = true;
			snprintf(line, sizeof(line),
				 "\r\nnsiso: this container and all its sessions end in %" PRId64
				 " s (max_session)\r\n",
				 (end - now + 999) / 1000);
			for (size_t i = 0; i < sv->n_holders; i++)
				tell_tty(&sv->holders[i], line);
		}
		if (now >= end) {
			syslog(LOG_NOTICE,
			       "container stopping user=%s uid=%u reason=max-session max_session_s=%" PRId64,
			       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, s->max_session);
			sv->max_reached = sv->stopping = sv->armed = true;
			sv->stop_deadline = now + 10000;
			for (size_t i = 0; i < sv->n_holders; i++)
				(void)syscall(SYS_pidfd_send_signal, sv->holders[i].pidfd, SIGTERM, NULL, 0);
			return 0; /* the loop takes the stop from here */
		} else {
			next = (sv->max_warned || s->timeout_warning == 0 ? end : warn) - now;
		}
	}
	if (s->idle_timeout > 0 && !sv->stopping) {
		int64_t real = now_real(), limit = s->idle_timeout + TTY_ATIME_GRAIN_S;
		for (size_t i = 0; i < sv->n_holders; i++) {
			struct holder *h = &sv->holders[i];
			if (h->idle_ended)
				continue;
			/* Told and hung up 5 s ago, and still there: the session's
			 * process ends it (SIGTERM: sshd closes it). */
			if (h->idle_told) {
				if (now - h->idle_told_at >= 5000) {
					h->idle_ended = true;
					(void)syscall(SYS_pidfd_send_signal, h->pidfd, SIGTERM, NULL, 0);
				} else {
					next = next < 0 || next > 1000 ? 1000 : next;
				}
				continue;
			}
			struct stat st;
			char path[96];
			pid_t owner = 0;
			if (!session_tty(h->pid, path, sizeof(path), &st, &owner))
				continue;
			int64_t idle = real - (int64_t)st.st_atime;
			if (idle >= limit) {
				/* The line first, then a hangup to the terminal's process,
				 * as when the line drops: the shell ends, sshd sends what
				 * is left on the pty and closes the session itself (a
				 * SIGTERM to sshd's monitor would cut that last line). */
				h->idle_told = true;
				h->idle_told_at = now;
				tell_tty(h, "\r\nnsiso: this session ends: no input for too long (idle_timeout)\r\n");
				_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, owner, 0);
				if (pfd >= 0)
					(void)syscall(SYS_pidfd_send_signal, pfd, SIGHUP, NULL, 0);
				syslog(LOG_NOTICE,
				       "session ended user=%s uid=%u pid=%d reason=idle-timeout idle_s=%" PRId64,
				       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, (int)h->pid,
				       idle - TTY_ATIME_GRAIN_S);
				next = next < 0 || next > 1000 ? 1000 : next;
				continue;
			}
			if (s->timeout_warning > 0 && idle >= limit - s->timeout_warning && !h->idle_warned) {
				h->idle_warned = true;
				snprintf(line, sizeof(line),
					 "\r\nnsiso: no input for a while: this session ends in %" PRId64
					 " s unless you type something (idle_timeout)\r\n",
					 limit - idle);
				tell_tty(h, line);
			} else if (idle < limit - s->timeout_warning) {
				h->idle_warned = false;
			}
			next = next < 0 || next > 1000 ? 1000 : next;
		}
	}
	return next;
}

/* The kernel OOM-killed a process of the container: one log line, and
 * one line on each session's terminal, at most every 10 s. */
static void oom_announce(struct supervisor *sv)
{
	uint64_t k = cg_oom_kills(&sv->oom);
	if (k <= sv->oom.kills) {
		/* v1 signals the OOM itself, maybe before the kill is counted:
		 * look once more a little later */
		sv->oom_recheck = !sv->oom_recheck && !sv->oom.v2;
		return;
	}
	sv->oom_recheck = false;
	const char *name = "oom_kills";
	uint64_t delta = k - sv->oom.kills;
	(void)stats_add(-1, &name, &delta, 1);
	sv->oom.kills = k;
	char uv[LOG_VALUE_MAX], max[32], line[200];
	if (sv->limits.memory_max == CG_UNLIMITED)
		snprintf(max, sizeof(max), "max");
	else
		snprintf(max, sizeof(max), "%" PRIu64 " MiB", sv->limits.memory_max >> 20);
	snprintf(line, sizeof(line), "oom-kill user=%s uid=%u kills=%" PRIu64 " memory_max=%" PRIu64,
		 log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, k, sv->limits.memory_max);
	sv_log(sv, LOG_WARNING, NSISO_MID_OOM, line);
	if (sv->oom_told && now_ms() - sv->oom_told < 10000)
		return;
	snprintf(line, sizeof(line),
		 "\r\nnsiso: out of memory: the kernel killed a process of this container (memory_max %s; %" PRIu64
		 " so far)\r\n",
		 max, k);
	bool told = false;
	for (size_t i = 0; i < sv->n_holders; i++)
		told |= tell_tty(&sv->holders[i], line);
	if (told)
		sv->oom_told = now_ms();
}

/* The controllers whose limits differ between a and b. */
static unsigned limits_changed(const struct cg_limits *a, const struct cg_limits *b)
{
	unsigned c = 0;
	if (a->memory_max != b->memory_max || a->memory_high != b->memory_high)
		c |= CG_MEMORY;
	if (a->pids_max != b->pids_max)
		c |= CG_PIDS;
	if (a->cpu_quota != b->cpu_quota || a->cpu_period != b->cpu_period || a->cpu_weight != b->cpu_weight)
		c |= CG_CPU;
	if (a->io_weight != b->io_weight)
		c |= CG_IO;
	return c;
}

/* nsiso set: the live container's limits, written to each of its groups
 * (on systemd hosts, below the delegated scope); they last as long as the
 * container, the policy rules the next one. A controller the container's
 * groups were made without cannot be added to them here. On a failure
 * midway what was written is put back. */
static void supervisor_set(int conn, struct supervisor *sv, const struct cg_limits *want)
{
	struct nsiso_error e = { 0 };
	unsigned changed = limits_changed(&sv->limits, want), have = 0;
	for (size_t i = 0; i < sv->cg.n; i++)
		have |= sv->cg.g[i].ctrls;
	static const char *const ctrl_names[] = { "memory", "pids", "cpu", "io" };
	int r = 0;
	/* (root asked, but the values are checked here too, as the policy's
	 * parsers would have: nothing the kernel would take in a bad sense) */
	if (want->memory_max < (1u << 20) || want->memory_high < (1u << 20) || want->pids_max < 1 ||
	    want->cpu_weight < 1 || want->cpu_weight > 10000 || want->io_weight > 10000 ||
	    (want->cpu_quota != CG_UNLIMITED && want->cpu_quota < 1000) || want->cpu_period < 1000 ||
	    want->cpu_period > 1000000)
		r = error_set(&e, -EINVAL, "a limit out of range");
	else if (!sv->cg.n)
		r = error_set(&e, -EOPNOTSUPP, "the container has no cgroup of its own");
	for (unsigned b = 0; b < ARRAY_SIZE(ctrl_names) && r == 0; b++)
		if ((changed & ~have) & (1u << b))
			r = error_set(&e, -EOPNOTSUPP,
				      "the container's groups were made without the %s controller: set it in the "
				      "policy, for the next container",
				      ctrl_names[b]);
	size_t done = 0;
	for (; done < sv->cg.n && r == 0; done++)
		r = cg_write_limits(sv->cg.g[done].dir, sv->cg.g[done].v2, sv->cg.g[done].ctrls & changed, want, &e);
	char uv[LOG_VALUE_MAX];
	if (r < 0) {
		struct nsiso_error ignored = { 0 };
		for (size_t i = 0; i < done; i++)
			(void)cg_write_limits(sv->cg.g[i].dir, sv->cg.g[i].v2, sv->cg.g[i].ctrls & changed, &sv->limits,
					      &ignored);
		syslog(LOG_WARNING, "limits not set user=%s uid=%u error=%s detail=\"%s\"",
		       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, strerrorname_np(-r),
		       error_text(&e));
		return supervisor_answer(conn, sv, r, STEP_CGROUP, error_text(&e));
	}
	sv->limits = *want;
	syslog(LOG_NOTICE,
	       "limits set user=%s uid=%u memory_max=%" PRIu64 " memory_high=%" PRIu64 " pids_max=%" PRIu64
	       " cpu_quota=%" PRIu64 " cpu_period=%" PRIu64 " cpu_weight=%" PRIu32 " io_weight=%" PRIu32
	       " by=nsiso-set",
	       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, want->memory_max, want->memory_high,
	       want->pids_max, want->cpu_quota, want->cpu_period, want->cpu_weight, want->io_weight);
	struct session_reply rep = { .version = NSISO_PROTO_VERSION,
				     .init_pid = (uint32_t)sv->c.init_pid,
				     .sessions = (uint32_t)sv->n_holders };
	(void)fdpass_send(conn, &rep, sizeof(rep), NULL, 0);
}

/* The policy an attach checks: loaded, resolved, forgotten (the loop gives
 * its pages back after every request). */
static struct policy pol;

static void supervisor_accept(struct supervisor *sv)
{
	_cleanup_close_ int conn = accept4(sv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0 && (errno == EMFILE || errno == ENFILE) && sv->spare_fd >= 0) {
		/* At the fd limit the pending connection would make poll() spin:
		 * give up the spare fd, refuse that one connection, take it back. */
		close_fd(&sv->spare_fd);
		int c = accept4(sv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c >= 0)
			(void)close(c);
		sv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		char uv[LOG_VALUE_MAX];
		syslog(LOG_WARNING,
		       "session refused user=%s uid=%u error=EMFILE detail=\"the supervisor is at its fd limit\"",
		       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid);
		return;
	}
	if (conn < 0)
		return;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != 0)
		return; /* only root's helper speaks to us; the directory is 0700 anyway */
	if (set_timeouts(conn) < 0)
		return;
	struct attach_request req;
	int holder = -EBADF;
	size_t n = 0;
	if (fdpass_recv(conn, &req, sizeof(req), &holder, 1, &n) < 0)
		return;
	_cleanup_close_ int h = n == 1 ? holder : -EBADF;
	req.user[NSISO_USER_MAX] = '\0';
	req.config[sizeof(req.config) - 1] = '\0';
	if (req.version != NSISO_PROTO_VERSION || n != (req.op == OP_ATTACH ? 1u : 0u))
		return supervisor_answer(conn, sv, -EBADMSG, STEP_ATTACH, "malformed request");
	if (req.op == OP_STATUS)
		return supervisor_status(conn, sv);
	if (req.op == OP_STOP)
		return supervisor_stop(conn, sv, req.stop_grace_ms);
	if (req.op == OP_SET)
		return supervisor_set(conn, sv, &req.limits);
	if (req.op != OP_ATTACH)
		return supervisor_answer(conn, sv, -EBADMSG, STEP_ATTACH, "unknown request");
	if (sv->stopping)
		return supervisor_answer(conn, sv, -ESHUTDOWN, STEP_ATTACH,
					 "the container is being stopped (nsiso stop)");
	/* A uid reused by another user never gets the old user's container
	 * (THREATS 19). */
	if (req.uid != sv->u->uid || strcmp(req.user, sv->u->name) != 0)
		return supervisor_answer(conn, sv, -ESTALE, STEP_ATTACH,
					 "the live container of this uid belongs to another user name");
	/* Every session, not only the first, is refused while the policy is
	 * unsafe or invalid. Changes of a valid policy apply to containers
	 * created after them. */
	struct policy_settings set;
	struct nsiso_error err = { 0 };
	/* No path (nsiso enter without --config): the policy the container's
	 * first session named. */
	if (req.config[0] == '\0')
		memcpy(req.config, sv->config, sizeof(req.config));
	struct policy_kept kept;
	int r = req.config[0] == '/' ? policy_load_kept(&pol, req.config, LASTGOOD_DIR, &kept, &err)
				     : error_at(&err, STEP_POLICY, -EINVAL, "policy path is not absolute");
	if (r == 0 && kept.used)
		log_last_good("nsiso-sup", req.config, sv->u->name, &kept);
	if (r == 0)
		r = resolve_for(&pol, sv->u->name, true, &set, &err);
	if (r < 0)
		return supervisor_answer(conn, sv, r, STEP_POLICY, err.detail);
	sv->reply_flags = set.on_error_allow ? REPLY_ON_ERROR_ALLOW : 0;
	if (!set.exempt && is_user_manager(&req.origin))
		return supervisor_answer(conn, sv, -EPERM, STEP_POLICY, USER_MANAGER_REFUSED);
	if (set.exempt) {
		/* Exempt now: the session runs on the host, not in here. */
		sv->reply_flags |= REPLY_EXEMPT;
		supervisor_answer(conn, sv, 0, STEP_NONE, set.exempt_source);
		return;
	}
	if (syscall(SYS_pidfd_send_signal, h, 0, NULL, 0) < 0)
		return supervisor_answer(conn, sv, -ESRCH, STEP_ATTACH, "the session process is gone");
	if (sv->n_holders >= SESSIONS_MAX)
		return supervisor_answer(conn, sv, -EUSERS, STEP_ATTACH, "too many sessions in this container");
	struct holder *ho = &sv->holders[sv->n_holders++];
	ho->pidfd = TAKE_FD(h);
	ho->pid = pidfd_pid(ho->pidfd);
	ho->started = now_real();
	origin_copy(ho->origin.service, sizeof(ho->origin.service), req.origin.service);
	origin_copy(ho->origin.tty, sizeof(ho->origin.tty), req.origin.tty);
	origin_copy(ho->origin.rhost, sizeof(ho->origin.rhost), req.origin.rhost);
	ho->idle_warned = ho->idle_told = ho->idle_ended = false;
	sv->attached++;
	sv->armed = true;
	sv->last_attach = now_ms();
	sv->join_checks_done = 0;
	if (!sv->config[0])
		memcpy(sv->config, req.config, sizeof(sv->config));
	supervisor_answer(conn, sv, 0, STEP_NONE, NULL);
}

/* Remove the socket under the lock so that no helper is between connect and
 * answer. Returns true when the container may end now. */
static bool supervisor_try_retire(struct supervisor *sv, bool force)
{
	_cleanup_close_ int lock = state_open_lock(sv->rundir, sv->u->uid, LOCK_EX | LOCK_NB);
	if (lock < 0)
		return false;
	/* Under the lock nobody is mid-attach; anything queued is from a helper
	 * that died. */
	for (;;) {
		int conn = accept4(sv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (conn < 0)
			break;
		(void)close(conn);
	}
	if (sv->n_holders > 0 && !force)
		return false;
	remove_own_socket(sv->rundir, sv->u->uid, sv->sock_dev, sv->sock_ino);
	close_fd(&sv->listen_fd);
	/* The lock file goes while held (a waiter notices and opens a new
	 * one); the teardown that follows is no login's to wait for. */
	state_remove_lock(sv->rundir, sv->u->uid);
	return true;
}

/* cg_sweep(): an empty nsiso/NAME group may go when NAME has no container
 * being made, i.e. its lock is free. */
static bool sweep_may_remove(const char *name, void *ctx)
{
	struct supervisor *sv = ctx;
	struct passwd pw, *res = NULL;
	char buf[4096], lock_name[32], user[sizeof(sv->cg.name)];
	if (strcmp(name, sv->cg.name) == 0)
		return false;
	/* NAME@2...: NAME's (unless a user has that very name) */
	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0)
		return false;
	if (!res && cg_name_user(name, user, sizeof(user)) && strcmp(user, name) != 0 &&
	    getpwnam_r(user, &pw, buf, sizeof(buf), &res) != 0)
		return false;
	if (!res)
		return true; /* no such user any more: nobody can make it */
	int lock = state_open_lock(sv->rundir, pw.pw_uid, LOCK_EX | LOCK_NB);
	if (lock < 0)
		return false;
	/* Held: no helper is making that container. Its lock file goes too,
	 * unless a live supervisor is there (then the group is not empty and
	 * we are not asked). */
	state_name(lock_name, sizeof(lock_name), pw.pw_uid, "lock");
	(void)unlinkat(sv->rundir, lock_name, 0);
	(void)close(lock);
	return true;
}

/* The stack below the caller's frame is dead: the helper's deeper calls
 * (NSS, the policy, the id maps), the setup's and each attach's dirtied it,
 * and the supervisor, a fork, would keep those pages for the container's
 * life (about 100 KiB each of 1000 containers, docs/PERFORMANCE.md). The
 * stack's lowest address comes from /proc/self/maps, read once; a page of
 * margin below this frame stays for the calls made from here. */
static void __attribute__((noinline)) forget_dead_stack(void)
{
	static uintptr_t low;
	char here;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	if (!low) {
		static char maps[32768];
		if (read_small_at(AT_FDCWD, "/proc/self/maps", maps, sizeof(maps)) < 0)
			maps[0] = '\0';
		for (char *line = maps, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			unsigned long lo, hi;
			if (strstr(line, "[stack]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2 &&
			    lo <= (uintptr_t)&here && (uintptr_t)&here < hi)
				low = lo;
		}
		forget_pages(maps, sizeof(maps));
	}
	uintptr_t top = ((uintptr_t)&here & ~(page - 1)) - page;
	if (low && top > low)
		(void)madvise((void *)low, top - low, MADV_DONTNEED);
}

/* The sweep opens every group under nsiso/ (3000 cgroup.procs files with
 * 1000 containers on a hybrid host), and it ran at every teardown, beside
 * the next logins: with 1000 containers up a cold login took 2.7x its time
 * with none (docs/PERFORMANCE.md). It runs when this container found an
 * earlier group of its user in the way (it is NAME@N: something to sweep),
 * when this container's own group could not be removed, and otherwise at
 * most once a minute on the host (the mtime of NSISO_RUNDIR/sweep). */
#define SWEEP_INTERVAL_S 60
static bool sweep_due(const struct supervisor *sv)
{
	struct stat st;
	struct timespec now;
	bool due = (sv->cg.name[0] && strcmp(sv->cg.name, sv->u->name) != 0) || sv->cg_left ||
		   fstatat(sv->rundir, "sweep", &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		   clock_gettime(CLOCK_REALTIME, &now) < 0 || now.tv_sec - st.st_mtim.tv_sec >= SWEEP_INTERVAL_S ||
		   now.tv_sec < st.st_mtim.tv_sec;
	if (due) {
		int fd = openat(sv->rundir, "sweep", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			(void)futimens(fd, NULL);
			(void)close(fd);
		}
	}
	return due;
}

/* What the container asks the supervisor (nsiso status, nested id maps):
 * at most INSIDE_ANSWERS_PER_S answers a second in all; more connections
 * are closed at once. */
#define INSIDE_ANSWERS_PER_S 20
static bool inside_allowed_now(struct supervisor *sv)
{
	int64_t now = now_ms();
	if (now - sv->inside_window >= 1000) {
		sv->inside_window = now;
		sv->inside_answers = 0;
	}
	return ++sv->inside_answers <= INSIDE_ANSWERS_PER_S;
}

static void nested_answer(struct supervisor *sv)
{
	if (inside_allowed_now(sv)) {
		nested_serve(sv->nested_fd, sv->u, sv->c.ns_fds[NS_USER]);
		return;
	}
	int conn = accept4(sv->nested_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn >= 0)
		(void)close(conn);
}

/* nsiso status from inside: one text answer per connection, nothing read
 * from it. */
static void inside_answer(struct supervisor *sv)
{
	_cleanup_close_ int conn = accept4(sv->inside_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (conn < 0 || !inside_allowed_now(sv))
		return;
	static struct inside_status st;
	static char text[4096];
	memset(&st, 0, sizeof(st));
	st.id = sv->id;
	st.user = sv->u->name;
	st.now = now_real();
	st.started = sv->started_real;
	st.n_sessions = sv->n_holders;
	st.limits = sv->limits;
	cg_group_usage(&sv->cg, &st.usage);
	st.oom_kills = cg_oom_peek(&sv->oom);
	st.idle_timeout = sv->s->idle_timeout;
	st.max_session = sv->s->max_session;
	for (size_t i = 0; i < sv->cg.n && sv->limits.cpus; i++)
		if ((sv->cg.g[i].ctrls & CG_CPUSET) &&
		    read_small_at(sv->cg.g[i].dir, "cpuset.cpus", st.cpus, sizeof(st.cpus)) > 0) {
			st.cpus[strcspn(st.cpus, "\n")] = '\0';
			st.n_cpus = sv->limits.cpus;
		}
	for (size_t i = 0; i < sv->n_holders && st.idle_timeout > 0 && st.n_idle < INSIDE_IDLE_MAX; i++) {
		char path[96];
		struct stat tty;
		if (!session_tty(sv->holders[i].pid, path, sizeof(path), &tty, NULL))
			continue;
		int64_t idle = st.now - (int64_t)tty.st_atime;
		st.idle[st.n_idle].pid = sv->holders[i].pid;
		snprintf(st.idle[st.n_idle].tty, sizeof(st.idle[0].tty), "pts/%u", minor(tty.st_rdev));
		/* (the terminal's access time moves on input every 8 s at most) */
		st.idle[st.n_idle].idle_s = idle > TTY_ATIME_GRAIN_S ? idle - TTY_ATIME_GRAIN_S : 0;
		st.idle[st.n_idle].ends_in_s = st.idle_timeout + TTY_ATIME_GRAIN_S - idle;
		st.n_idle++;
	}
	size_t len = inside_text(&st, text, sizeof(text));
	(void)send(conn, text, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void __attribute__((noreturn)) supervisor_loop(struct supervisor *sv)
{
	static struct pollfd pfd[6 + SESSIONS_MAX];
	int64_t deadline = now_ms() + FIRST_ATTACH_TIMEOUT_MS;
	bool init_died = false;
	/* SIGTERM is a stop (systemd stopping the scope: loginctl
	 * terminate-user, systemctl stop), done like nsiso stop --force, so that
	 * nothing of the container is left behind. */
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigaddset(&term, SIGINT);
	sigaddset(&term, SIGHUP);
	int sigfd = sigprocmask(SIG_BLOCK, &term, NULL) < 0 ? -1 : signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sigfd < 0) /* then the default action: the container ends, less tidily, but it ends */
		(void)sigprocmask(SIG_UNBLOCK, &term, NULL);

	for (;;) {
		bool empty = sv->armed && sv->n_holders == 0;
		if (!empty)
			sv->empty_since = -1;
		else if (sv->empty_since < 0)
			sv->empty_since = now_ms();
		/* linger: the container outlives its last session for a while, or
		 * for ever, for tmux/screen/nohup users. */
		int64_t linger_end = sv->linger == POLICY_LINGER_FOREVER ? INT64_MAX
				     : empty				 ? sv->empty_since + sv->linger * 1000
									 : INT64_MAX;
		bool forced = sv->stopping && now_ms() >= sv->stop_deadline;
		bool want_end = init_died || forced || (sv->stopping && sv->n_holders == 0) ||
				(sv->armed ? empty && now_ms() >= linger_end : now_ms() >= deadline);
		if (forced)
			for (size_t i = 0; i < sv->n_holders; i++)
				(void)syscall(SYS_pidfd_send_signal, sv->holders[i].pidfd, SIGKILL, NULL, 0);
		if (want_end && supervisor_try_retire(sv, init_died || forced))
			break;
		pfd[0] = (struct pollfd){ .fd = sv->listen_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = init_died ? -1 : sv->c.init_pidfd, .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
		pfd[3] = (struct pollfd){ .fd = sv->oom.poll_fd >= 0 ? sv->oom.poll_fd : -1, .events = sv->oom.events };
		pfd[4] = (struct pollfd){ .fd = sv->inside_fd, .events = POLLIN };
		pfd[5] = (struct pollfd){ .fd = sv->nested_fd, .events = POLLIN };
		for (size_t i = 0; i < sv->n_holders; i++)
			pfd[6 + i] = (struct pollfd){ .fd = sv->holders[i].pidfd, .events = POLLIN };
		int timeout = -1;
		if (want_end)
			timeout = 5; /* a helper holds the lock: it is about to attach */
		else if (sv->stopping)
			timeout = (int)(sv->stop_deadline - now_ms() > 0 ? sv->stop_deadline - now_ms() : 0);
		else if (!sv->armed)
			timeout = (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0);
		else if (empty && linger_end != INT64_MAX)
			timeout = (int)(linger_end - now_ms() > 0 ? linger_end - now_ms() : 0);
		if (sv->oom_recheck && (timeout < 0 || timeout > 200))
			timeout = 200;
		int64_t life = lifetime_tick(sv);
		if (life >= 0 && (timeout < 0 || life < timeout))
			timeout = (int)life;
		int64_t check = join_check_due(sv);
		if (check == 0) {
			(void)joincheck_sweep(&sv->c, sv->u->name);
			sv->join_checks_done++;
			continue;
		}
		if (check > 0 && (timeout < 0 || check < timeout))
			timeout = (int)check;
		int n = poll(pfd, 6 + sv->n_holders, timeout);
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && sv->oom_recheck)
			oom_announce(sv);
		if (n <= 0)
			continue;
		if (pfd[1].revents)
			init_died = true;
		struct signalfd_siginfo si;
		if (pfd[2].revents && read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			char uv[LOG_VALUE_MAX];
			syslog(LOG_NOTICE, "container stopping user=%s uid=%u signal=%s sender_pid=%u",
			       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid,
			       sigabbrev_np((int)si.ssi_signo), si.ssi_pid);
			sv->armed = true;
			sv->stopping = true;
			sv->stop_deadline = now_ms();
		}
		if (pfd[3].revents)
			oom_announce(sv);
		if (pfd[4].revents)
			inside_answer(sv);
		if (pfd[5].revents)
			nested_answer(sv);
		/* Drop the sessions whose process has exited (back to front, so
		 * that the indexes stay valid). */
		for (size_t i = sv->n_holders; i-- > 0;) {
			if (!pfd[6 + i].revents)
				continue;
			(void)close(sv->holders[i].pidfd);
			sv->holders[i] = sv->holders[--sv->n_holders];
		}
		if (pfd[0].revents & POLLIN) {
			supervisor_accept(sv);
			/* (after the answer: not on the login's path) */
			policy_forget(&pol);
			forget_dead_stack();
		}
	}
	/* Ending the init ends every process of the PID namespace. */
	(void)syscall(SYS_pidfd_send_signal, sv->c.init_pidfd, SIGKILL, NULL, 0);
	close_fd(&sv->c.lifeline);
	(void)RETRY_EINTR(waitpid(sv->c.init_pid, NULL, 0));
	cg_oom_close(&sv->oom);
	char cg_name[sizeof(sv->cg.name)];
	memcpy(cg_name, sv->cg.name, sizeof(cg_name));
	int cg_left = cg_remove(&sv->cg, 2000);
	sv->cg_left = cg_left < 0;
	/* (the namespace fds stay open until the veth is gone: a namespace the
	 * kernel freed meanwhile would take its veth off the bridge early, and
	 * another container's teardown could retire the network under us) */
	network_detach(&sv->net);
	/* Groups a crashed supervisor (or a teardown that gave up) left. */
	if (sweep_due(sv))
		(void)cg_sweep(&sv->cg_layout, sweep_may_remove, sv);
	char uv[LOG_VALUE_MAX], ue[LOG_VALUE_MAX];
	if (cg_left < 0)
		syslog(LOG_WARNING,
		       "container cgroups left user=%s uid=%u error=%s detail=\"processes still in %s/%s\"",
		       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, strerrorname_np(-cg_left), CG_DIR,
		       log_escape(ue, sizeof(ue), cg_name));
	char line[256];
	snprintf(line, sizeof(line),
		 "container ended user=%s uid=%u init_pid=%d lifetime_s=%.1f sessions=%lu reason=%s",
		 log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, (int)sv->c.init_pid,
		 (double)(now_ms() - sv->started) / 1000.0, sv->attached,
		 sv->max_reached ? "max-session"
		 : sv->stopping	 ? "stopped"
		 : init_died	 ? "init-died"
		 : sv->armed	 ? "last-session-ended"
				 : "no-first-session");
	sv_log(sv, LOG_INFO, NSISO_MID_ENDED, line);
	struct nsiso_error why = { 0 };
	int r = sv->s->on_destroy[0] ? hook_run("on_destroy", sv->s->on_destroy, sv->u, sv->id, &why) : 0;
	if (r < 0)
		syslog(LOG_WARNING, "on_destroy failed user=%s uid=%u error=%s detail=\"%s\"",
		       log_value(uv, sizeof(uv), sv->u->name), (unsigned)sv->u->uid, strerrorname_np(-r),
		       log_escape(ue, sizeof(ue), error_text(&why)));
	_exit(0);
}

/* Keep only the listed fds (and 0-2, pointed at /dev/null). */
static int keep_only_fds(const int *keep, size_t n)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return neg_errno();
	for (int fd = 0; fd < 3; fd++)
		if (dup2(null, fd) < 0)
			return neg_errno();
	(void)close(null);
	unsigned lo = 3;
	for (;;) {
		unsigned next = ~0u;
		for (size_t i = 0; i < n; i++)
			if ((unsigned)keep[i] >= lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > lo && close_range(lo, next == ~0u ? ~0u : next - 1, 0) < 0)
			return neg_errno();
		if (next == ~0u)
			return 0;
		lo = next + 1;
	}
}

/* The supervisor is a daemon that outlives the login that forked it: it
 * keeps nothing of that caller's process state (docs/THREATS.md 47). A
 * `su` run with RLIMIT_FSIZE of 100 bytes, ignored or blocked signals, a
 * nice value or ADDR_NO_RANDOMIZE would otherwise shape every container
 * and state file it makes for its whole life. */
static const struct {
	int resource;
	const char *name;
	rlim_t soft, hard;
	rlim_t floor; /* below this the supervisor cannot work: refuse */
} daemon_limits[] = {
	{ RLIMIT_CPU, "cpu", RLIM_INFINITY, RLIM_INFINITY, RLIM_INFINITY }, /* SIGXCPU would end every session */
	{ RLIMIT_FSIZE, "fsize", RLIM_INFINITY, RLIM_INFINITY, 16 << 20 },  /* state files and nft rules */
	{ RLIMIT_DATA, "data", RLIM_INFINITY, RLIM_INFINITY, 256 << 20 },
	{ RLIMIT_STACK, "stack", 8 << 20, RLIM_INFINITY, 1 << 20 },
	{ RLIMIT_CORE, "core", 0, 0, 0 }, /* it holds namespace fds and policy: no dumps */
	{ RLIMIT_RSS, "rss", RLIM_INFINITY, RLIM_INFINITY, 0 },
	{ RLIMIT_NPROC, "nproc", RLIM_INFINITY, RLIM_INFINITY, 0 },	       /* not enforced on root */
	{ RLIMIT_NOFILE, "nofile", 2 * SESSIONS_MAX, 2 * SESSIONS_MAX, 1024 }, /* a pidfd per session */
	{ RLIMIT_MEMLOCK, "memlock", 8 << 20, 8 << 20, 0 },
	{ RLIMIT_AS, "as", RLIM_INFINITY, RLIM_INFINITY, 256 << 20 },
	{ RLIMIT_LOCKS, "locks", RLIM_INFINITY, RLIM_INFINITY, 64 },
	{ RLIMIT_SIGPENDING, "sigpending", RLIM_INFINITY, RLIM_INFINITY, 64 },
	{ RLIMIT_MSGQUEUE, "msgqueue", 819200, 819200, 0 },
	{ RLIMIT_NICE, "nice", 0, 0, 0 },
	{ RLIMIT_RTPRIO, "rtprio", 0, 0, 0 },
	{ RLIMIT_RTTIME, "rttime", RLIM_INFINITY, RLIM_INFINITY, 0 },
};

/* Each limit to its daemon value. A hard limit the caller lowered can be
 * raised again only with CAP_SYS_RESOURCE (which some hosts withhold even
 * from root): then the supervisor keeps the lower one, unless it is below
 * what it needs to work, and then the session is refused (fail closed). */
static int reset_rlimits(struct nsiso_error *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(daemon_limits); i++) {
		struct rlimit want = { .rlim_cur = daemon_limits[i].soft, .rlim_max = daemon_limits[i].hard }, cur;
		if (setrlimit(daemon_limits[i].resource, &want) == 0)
			continue;
		if (errno != EPERM || getrlimit(daemon_limits[i].resource, &cur) < 0)
			return error_at(f, STEP_STATE, neg_errno(), "setrlimit(RLIMIT_%s)", daemon_limits[i].name);
		if (cur.rlim_max < daemon_limits[i].floor)
			return error_at(
			    f, STEP_STATE, -EPERM,
			    "the caller's hard RLIMIT_%s (%llu) is below what the supervisor needs and cannot be "
			    "raised without CAP_SYS_RESOURCE",
			    daemon_limits[i].name, (unsigned long long)cur.rlim_max);
		want.rlim_max = cur.rlim_max;
		if (want.rlim_cur > cur.rlim_max)
			want.rlim_cur = cur.rlim_max;
		if (setrlimit(daemon_limits[i].resource, &want) < 0)
			return error_at(f, STEP_STATE, neg_errno(), "setrlimit(RLIMIT_%s)", daemon_limits[i].name);
	}
	return 0;
}

static int daemon_reset(struct nsiso_error *f)
{
	(void)alarm(0);
	int r = reset_rlimits(f);
	if (r < 0)
		return r;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, &dfl, NULL) < 0 && errno != EINVAL)
			return error_at(f, STEP_STATE, neg_errno(), "resetting signal %d", sig);
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		return error_at(f, STEP_STATE, neg_errno(), "sigprocmask");
	(void)umask(077);
	/* Best effort: a host that withholds CAP_SYS_NICE from root keeps the
	 * caller's niceness, which costs speed, not safety. */
	struct sched_param sp = { 0 };
	(void)sched_setscheduler(0, SCHED_OTHER, &sp);
	(void)setpriority(PRIO_PROCESS, 0, 0);
	if (personality(PER_LINUX) < 0)
		return error_at(f, STEP_STATE, neg_errno(), "personality(PER_LINUX)");
	if (chdir("/") < 0)
		return error_at(f, STEP_STATE, neg_errno(), "chdir /");
	return 0;
}

/* Out of the caller's cgroups (a login session's, which its user may kill
 * or limit): into the root group of every hierarchy, where a daemon with no
 * service manager lives. The container's own group is made below. */
static int leave_caller_cgroups(const struct cg_layout *l, struct nsiso_error *f)
{
	char self[4096];
	if (read_small_at(AT_FDCWD, "/proc/self/cgroup", self, sizeof(self)) <= 0)
		self[0] = '\0'; /* (then every hierarchy is written) */
	for (size_t i = 0; i < l->n; i++) {
		if (cg_at_root(&l->h[i], self))
			continue; /* there already: no move, no wait for the kernel's lock */
		char path[300];
		snprintf(path, sizeof(path), "%s/%s", l->h[i].path, cg_enter_file(l->h[i].v2));
		_cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return error_at(f, STEP_CGROUP, neg_errno(), "opening %s", path);
		ssize_t w = RETRY_EINTR(write(fd, "0", 1));
		if (w != 1)
			return error_at(f, STEP_CGROUP, w < 0 ? neg_errno() : -EIO, "moving the supervisor to %s",
					path);
	}
	return 0;
}

static void __attribute__((noreturn)) supervisor_main(int rundir, int listen_fd, int ready, const struct user_info *u,
						      const struct policy_settings *s, const struct stat *sock)
{
	static struct supervisor sv;
	struct nsiso_error f = { 0 };
	struct timing tm;
	timing_start(&tm);

	(void)prctl(PR_SET_NAME, "nsiso-sup", 0, 0, 0);
	closelog(); /* whatever log socket the helper had is closed below */
	int keep[] = { rundir, listen_fd, ready };
	int r = keep_only_fds(keep, ARRAY_SIZE(keep));
	if (r < 0)
		(void)error_at(&f, STEP_STATE, r, "closing inherited fds");
	else if ((r = daemon_reset(&f)) < 0)
		;
	else if (listen(listen_fd, 64) < 0)
		r = error_at(&f, STEP_STATE, neg_errno(), "listen");
	sv.sock_dev = sock->st_dev;
	sv.sock_ino = sock->st_ino;
	sv.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	sv.rundir = rundir;
	sv.listen_fd = listen_fd;
	sv.u = u;
	sv.linger = s->linger;
	sv.join_checks_done = ARRAY_SIZE(join_check_after_ms); /* none before the first attach */
	sv.empty_since = -1;
	sv.started = now_ms();
	sv.started_real = now_real();
	sv.s = s;
	sv.limits = s->cg;
	snprintf(sv.id, sizeof(sv.id), "nsiso-%u-%d", (unsigned)u->uid, (int)getpid());
	sv.seccomp_fd = -EBADF;
	sv.net.lease_fd = -EBADF;
	sv.oom.poll_fd = sv.oom.count_fd = -EBADF;
	sv.inside_fd = -EBADF;
	sv.nested_fd = -EBADF;
	sv.hard.cap_keep = s->capabilities;
	for (int i = 0; i < POLICY_RLIMITS && sv.hard.n_rlimits < HARDEN_RLIMITS; i++)
		if (s->rlimit_set & (1u << i)) {
			sv.hard.rlimit[sv.hard.n_rlimits].resource = policy_rlimit_names[i].resource;
			sv.hard.rlimit[sv.hard.n_rlimits].soft = s->rlimit[i].soft;
			sv.hard.rlimit[sv.hard.n_rlimits].hard = s->rlimit[i].hard;
			sv.hard.n_rlimits++;
		}
	if (s->no_new_privs == YES)
		sv.hard.flags |= HARDEN_NO_NEW_PRIVS;
	timing_mark(&tm, "reset");
	if (r == 0 && s->seccomp == SECCOMP_DEFAULT) {
		r = seccomp_build(rundir, &sv.seccomp_fd, &f);
		if (r == 0)
			sv.hard.flags |= HARDEN_SECCOMP;
		/* The supervisor lives as long as the container: give back what
		 * building the filter took (when it was not the cached one). */
		(void)malloc_trim(0);
	}
	/* The supervisor's one log line, at the end: authpriv like the module's. */
	openlog("nsiso-sup", LOG_PID, LOG_AUTHPRIV);
	timing_mark(&tm, "seccomp");
	static struct dev_list devs; /* the policy's devices, resolved once */
	bool filtered = false;
	char uv0[LOG_VALUE_MAX];
	if (r == 0) {
		if (systemd_manages_cgroups()) {
			r = systemd_scope(u, sv.scope, sizeof(sv.scope), &f);
			if (r == 0)
				r = systemd_layout(sv.scope, &sv.cg_layout, &f);
		} else {
			r = cg_discover(&sv.cg_layout);
			if (r < 0)
				(void)error_at(&f, STEP_CGROUP, r, "reading the cgroup mounts");
			if (r == 0)
				r = leave_caller_cgroups(&sv.cg_layout, &f);
			timing_mark(&tm, "leave_caller_cgroups");
		}
		if (r == 0 && (r = cg_create(&sv.cg_layout, u->name, &s->cg, &sv.cg, &f)) < 0)
			(void)error_in(&f, STEP_CGROUP, r);
		timing_mark(&tm, sv.scope[0] ? "scope+cgroup" : "cgroup");
		/* The device filter on the v2 group: always (defence in depth),
		 * and a refusal when the policy names devices and it cannot be
		 * applied (they would be reachable unfiltered otherwise). */
		if (r == 0 && s->devices[0] && (r = devices_resolve(s->devices, &devs, &f)) < 0)
			(void)error_in(&f, STEP_MOUNT, r);
		for (size_t i = 0; r == 0 && i < sv.cg.n; i++) {
			struct nsiso_error why = { 0 };
			if (!sv.cg.g[i].v2 || devices_filter(sv.cg.g[i].dir, &devs, &why) == 0) {
				filtered |= sv.cg.g[i].v2;
				continue;
			}
			if (s->devices[0])
				r = error_in(&why, STEP_CGROUP, why.error);
			if (r < 0)
				f = why;
			else
				syslog(LOG_WARNING, "device filter not applied user=%s uid=%u detail=\"%s\"",
				       log_value(uv0, sizeof(uv0), u->name), (unsigned)u->uid, why.detail);
		}
		if (r == 0 && s->devices[0] && !filtered)
			r = error_at(&f, STEP_CGROUP, -EOPNOTSUPP,
				     "devices = needs a cgroup v2 hierarchy for the device filter; this host has none");
		timing_mark(&tm, "devices");
		/* (best effort: without it the kills are not announced, nothing else) */
		if (r == 0 && cg_oom_watch(&sv.cg, &sv.oom) < 0)
			sv.oom.poll_fd = sv.oom.count_fd = -EBADF;
		sv.hard.n_cgroups = (uint32_t)sv.cg.n;
		timing_mark(&tm, "oom_watch");
	}
	_cleanup_close_ int resolv_mnt = -EBADF;
	if (r == 0)
		r = network_prepare(s, &resolv_mnt, &f);
	timing_mark(&tm, "net_prepare");
	if (r == 0) {
		int procs[CG_HIER_MAX];
		for (size_t i = 0; i < sv.cg.n; i++)
			procs[i] = sv.cg.g[i].procs;
		r = container_create(u, s, &devs, procs, sv.cg.n, resolv_mnt, &sv.c, &tm, &f);
		timing_mark(&tm, "ns_verify");
		close_fd(&resolv_mnt);
		network_prepared();
		timing_mark(&tm, "net_prepared");
		/* nsiso status from inside: only in a network namespace of its
		 * own (an abstract socket in the host's would be every user's) */
		if (r == 0 && (sv.c.ns_mask & NS_BIT(NS_NET))) {
			sv.inside_fd = inside_listen(sv.c.ns_fds[NS_NET], NSISO_INSIDE_SOCKET, SOCK_STREAM);
			if (sv.inside_fd == -ENOTRECOVERABLE)
				r = error_at(&f, STEP_NET, sv.inside_fd, "returning to the host's network namespace");
		}
		/* The nested id maps' socket: the container's /etc/subuid names
		 * ranges that only this socket can map. */
		if (r == 0 && nested_wanted(u, s)) {
			sv.nested_fd = inside_listen(sv.c.ns_fds[NS_NET], NSISO_IDMAP_SOCKET, SOCK_SEQPACKET);
			if (sv.nested_fd < 0)
				r = error_at(&f, STEP_NET, sv.nested_fd, "listening for nested id maps");
		}
		if (r == 0) {
			timing_mark(&tm, "status_socket");
			r = network_attach(u, s, sv.c.ns_fds[NS_NET], &sv.net, &f);
			timing_mark(&tm, "net_attach");
			/* The admin's on_create, once per container: before the first
			 * session is answered; its failure refuses that session and
			 * ends the container. */
			if (r == 0 && s->on_create[0] && (r = hook_run("on_create", s->on_create, u, sv.id, &f)) < 0) {
				(void)error_in(&f, STEP_HOOK, r);
				network_detach(&sv.net);
			}
			if (r < 0) {
				(void)syscall(SYS_pidfd_send_signal, sv.c.init_pidfd, SIGKILL, NULL, 0);
				(void)RETRY_EINTR(waitpid(sv.c.init_pid, NULL, 0));
			}
		}
	}
	if (r < 0) {
		(void)cg_remove(&sv.cg, 1000);
		remove_own_socket(rundir, u->uid, sv.sock_dev, sv.sock_ino);
		(void)!write(ready, &f, sizeof(f));
		_exit(1);
	}
	timing_mark(&tm, "hook");
	(void)!write(ready, &f, sizeof(f));
	(void)close(ready);
	char words[64], addr[16] = "-", uv[LOG_VALUE_MAX], ue[LOG_VALUE_MAX];
	if (sv.net.addr)
		(void)policy_ipv4_text(sv.net.addr, addr, sizeof(addr));
	syslog(LOG_INFO,
	       "container created user=%s uid=%u init_pid=%d namespaces=\"%s\" hostname=%s cgroup=%s%s%s network=%s "
	       "address=%s "
	       "subids=%s unit=%s",
	       log_value(uv, sizeof(uv), u->name), (unsigned)u->uid, (int)sv.c.init_pid,
	       ns_mask_to_words(sv.c.ns_mask, words, sizeof(words)),
	       (sv.c.ns_mask & NS_BIT(NS_UTS)) ? s->hostname : "-", sv.cg.n ? CG_DIR : "-", sv.cg.n ? "/" : "",
	       sv.cg.n ? log_escape(ue, sizeof(ue), sv.cg.name) : "", network_word(&sv), addr,
	       u->subids_source ? u->subids_source : "-", sv.scope[0] ? strrchr(sv.scope, '/') + 1 : "-");
	timing_log(&tm, "supervisor", u->name);
	/* What the helper and the setup above dirtied and no longer use. */
	(void)malloc_trim(0);
	forget_dead_stack();
	supervisor_loop(&sv);
}

int supervisor_spawn(int rundir, const struct user_info *u, const struct policy_settings *s, struct nsiso_error *f)
{
	struct sockaddr_un sa;
	char name[32];
	_cleanup_close_ int ready_r = -EBADF, ready_w = -EBADF;
	int r = state_socket_address(u->uid, &sa);
	if (r < 0)
		return error_at(f, STEP_STATE, r, "socket path");
	state_name(name, sizeof(name), u->uid, "sock");
	if (unlinkat(rundir, name, 0) < 0 && errno != ENOENT)
		return error_at(f, STEP_STATE, neg_errno(), "removing the stale %s", sa.sun_path);
	_cleanup_close_ int ls = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ls < 0)
		return error_at(f, STEP_STATE, neg_errno(), "socket");
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return error_at(f, STEP_STATE, neg_errno(), "bind %s", sa.sun_path);
	struct stat sock;
	if (fstatat(rundir, name, &sock, AT_SYMLINK_NOFOLLOW) < 0) {
		r = error_at(f, STEP_STATE, neg_errno(), "stat %s", sa.sun_path);
		goto undo;
	}
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = error_at(f, STEP_STATE, neg_errno(), "pipe2");
		goto undo;
	}
	ready_r = p[0];
	ready_w = p[1];

	pid_t pid = fork();
	if (pid < 0) {
		r = error_at(f, STEP_STATE, neg_errno(), "fork");
		goto undo;
	}
	if (pid == 0) {
		/* Detach: a new session, and a grandchild that the caller (sshd's
		 * monitor) never sees as its child. */
		close_fd(&ready_r);
		if (setsid() < 0)
			_exit(1);
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0);
		supervisor_main(rundir, ls, ready_w, u, s, &sock);
	}
	close_fd(&ready_w);
	int status;
	(void)RETRY_EINTR(waitpid(pid, &status, 0));

	ssize_t n = RETRY_EINTR(read(ready_r, f, sizeof(*f)));
	if (n != (ssize_t)sizeof(*f)) {
		r = error_at(f, STEP_STATE, -EIO, "the supervisor died while building the container");
		goto undo;
	}
	if (f->error < 0) {
		error_sanitize(f, STEP_STATE);
		return f->error; /* the supervisor removed the socket */
	}
	return 0;
undo:
	(void)unlinkat(rundir, name, 0);
	return r;
}
