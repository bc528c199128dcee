/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <pwd.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#define PAM_SM_SESSION
#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "attach.h"
#include "fdpass.h"
#include "join.h"
#include "journal.h"
#include "limits.h"
#include "nsverify.h"
#include "proto.h"
#include "stats.h"
#include "util.h"

/* pam_nsiso: puts the session into its user's container.
 *
 * open_session registers the calling process with the user's live container
 * (through its supervisor's root-only socket) or, when there is none, runs
 * nsiso-helper (fixed path, empty environment, fd 0 a socketpair, 1-2
 * /dev/null) to create it; either way it receives the container's namespace
 * fds, verifies them and joins them, so that every process the caller forks from
 * now on (sshd's session child and the shell, su's shell) starts inside. It
 * joins the user namespace last and becomes container root there, so that the
 * caller's own switch to the user drops every capability (docs/ARCHITECTURE.md,
 * "How sshd drives PAM").
 *
 * Under OpenSSH's sshd, when the module is in the auth stack too (the
 * package's pam-auth-update profile puts it there), the join is split: the
 * root monitor joins every namespace but the user namespace and stays host
 * root, so that pam_systemd's close, utmp, wtmp and lastlog run as without
 * nsiso; the session child, which calls pam_setcred after setting its groups
 * and before becoming the user, does the rest (limits, cgroups, user
 * namespace, hardening) and ends itself if that fails, since sshd ignores a
 * failed setcred of a key login. See docs/ARCHITECTURE.md, "Two halves".
 *
 * Everything else (policy, ids, creating, tracking) is the helper's. Every
 * failure refuses the session with one log line naming user, step and cause,
 * and never returns PAM_IGNORE; the one exception is the admin's explicit
 * on_error = allow, which lets a session whose isolation failed in on the
 * host with a loud line, and only while nothing of the caller was changed
 * for good. */

/* Longer than the helper's own deadline (helper/main.c). */
#define HELPER_ANSWER_TIMEOUT_S 30

struct args {
	const char *config;
	bool debug;
};

/* Where decisions go besides syslog: nsiso's counters (the file itself)
 * and the journal, both opened before anything joins a container (its /run
 * is not the host's, and after a whole join this process is the
 * container's root, which may not open root's 0600 file), closed before
 * open_session returns (fork would hand them to the session child).
 * -EBADF or -errno: not there. */
struct outlets {
	int stats;
	int journal;
};
static void outlets_close(struct outlets *o)
{
	closep(&o->stats);
	closep(&o->journal);
}

static void refuse_log(pam_handle_t *pamh, const struct outlets *o, const char *user, uid_t uid,
		       const struct nsiso_error *e);

static int parse_args(pam_handle_t *pamh, const struct outlets *o, const char *user, int argc, const char **argv,
		      struct args *a)
{
	a->config = NSISO_DEFAULT_CONFIG;
	a->debug = false;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "config=", 7) == 0 && argv[i][7] == '/' && strlen(argv[i] + 7) < PATH_MAX)
			a->config = argv[i] + 7;
		else if (strcmp(argv[i], "debug") == 0)
			a->debug = true;
		else {
			struct nsiso_error e = { 0 };
			(void)error_at(&e, STEP_ARGS, -EINVAL, "unknown or invalid module argument '%s'", argv[i]);
			refuse_log(pamh, o, user, (uid_t)-1, &e);
			return -EINVAL;
		}
	}
	return 0;
}

/* One function turns a failure into a PAM code. */
static int pam_code(int error)
{
	switch (-error) {
	case ENOMEM:
	case EMFILE:
	case ENFILE: return PAM_BUF_ERR;
	default: return PAM_SESSION_ERR;
	}
}

/* The person at the terminal gets one line through the PAM conversation:
 * that the session could not be isolated, and a reference to quote (the
 * time and the step, which the log line shares), never internal details. */
static void refuse_tell(pam_handle_t *pamh, enum nsiso_step step)
{
	char when[32] = "?";
	time_t now = time(NULL);
	struct tm tm;
	if (localtime_r(&now, &tm))
		(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	(void)pam_error(
	    pamh, "nsiso: this session could not be isolated; please contact the administrator (reference: %s %s)",
	    when, nsiso_step_name(step));
}

/* What a decision is, for its counter and its journal entry. */
enum decision {
	DECISION_SESSION,
	DECISION_REFUSED,
	DECISION_UNISOLATED,
	DECISION_EXEMPT,
};
static const struct {
	const char *counter; /* stats.h */
	const char *message_id;
} decisions[] = {
	[DECISION_SESSION] = { "login", NSISO_MID_SESSION },
	[DECISION_REFUSED] = { "refused", NSISO_MID_REFUSED },
	[DECISION_UNISOLATED] = { "unisolated", NSISO_MID_UNISOLATED },
	[DECISION_EXEMPT] = { "exempt", NSISO_MID_EXEMPT },
};

/* One decision, said once: where journald runs, as a journal entry with
 * fields whose message, facility, identifier and pid are the authpriv line
 * pam_syslog would have written (journald passes it on to a syslog daemon
 * as it does that line); elsewhere that line itself, through pam_syslog.
 * And its counter (nsiso metrics). what: the step of a failure, "created" or
 * "joined" for a session, "-" for an exempt one. create_us: the creation's
 * duration, when this session made the container. o: NULL in sshd's
 * session child, which is in the container's mount namespace already (its
 * /run is the container's): the syslog line only, no counter. */
static void decide(pam_handle_t *pamh, const struct outlets *o, int priority, enum decision d, const char *user,
		   uid_t uid, const char *what, const char *container, uint64_t create_us, const char *line)
{
	const char *service = NULL;
	if (pam_get_item(pamh, PAM_SERVICE, (const void **)&service) != PAM_SUCCESS || !service)
		service = "-";
	char fu[16 + LOG_VALUE_MAX], fid[32], fs[48], fstep[64], fc[80], fsvc[64], uv[LOG_VALUE_MAX];
	snprintf(fu, sizeof(fu), "NSISO_USER=%s", log_escape(uv, sizeof(uv), user));
	snprintf(fid, sizeof(fid), "NSISO_UID=%u", (unsigned)uid);
	char svc[40];
	stats_label(svc, sizeof(svc), service);
	snprintf(fsvc, sizeof(fsvc), "NSISO_SERVICE=%s", svc);
	bool failed = d == DECISION_REFUSED || d == DECISION_UNISOLATED;
	snprintf(fstep, sizeof(fstep), "NSISO_STEP=%s", failed ? what : "");
	snprintf(fs, sizeof(fs), "NSISO_DECISION=%s", decisions[d].counter);
	snprintf(fc, sizeof(fc), "NSISO_CONTAINER=%s", container && container[0] ? container : "");
	char fpid[32], msg[3 * NSISO_DETAIL_MAX + 128];
	snprintf(fpid, sizeof(fpid), "SYSLOG_PID=%d", (int)getpid());
	/* (pam_syslog's own prefix: module, service, and the call, always
	 * open_session's here) */
	snprintf(msg, sizeof(msg), "pam_nsiso(%s:session): %s", service, line);
	const char *fields[] = { fpid,
				 fu,
				 uid != (uid_t)-1 ? fid : NULL,
				 fsvc,
				 fs,
				 failed ? fstep : NULL,
				 container && container[0] ? fc : NULL };
	if (!o || o->journal < 0 ||
	    journal_send_fd(o->journal, priority, decisions[d].message_id, msg, fields, ARRAY_SIZE(fields)) < 0)
		pam_syslog(pamh, priority, "%s", line);
	if (o && o->stats >= 0)
		stats_decision(o->stats, decisions[d].counter, service, what, create_us > 0, create_us);
}

static void refuse_log_note(pam_handle_t *pamh, const struct outlets *o, const char *user, uid_t uid,
			    const struct nsiso_error *e, const char *note)
{
	char uv[LOG_VALUE_MAX], dv[2 * NSISO_DETAIL_MAX], line[3 * NSISO_DETAIL_MAX];
	snprintf(line, sizeof(line), "refused: user=%s step=%s error=%s errno=%d detail=\"%s\"%s",
		 log_value(uv, sizeof(uv), user), nsiso_step_name(e->step),
		 strerrorname_np(-e->error) ? strerrorname_np(-e->error) : "?", -e->error,
		 log_escape(dv, sizeof(dv), error_text(e)), note);
	decide(pamh, o, LOG_ERR, DECISION_REFUSED, user, uid, nsiso_step_name(e->step), NULL, 0, line);
	refuse_tell(pamh, e->step);
}

static void refuse_log(pam_handle_t *pamh, const struct outlets *o, const char *user, uid_t uid,
		       const struct nsiso_error *e)
{
	refuse_log_note(pamh, o, user, uid, e, "");
}

/* A failed isolation: refused, or with on_error = allow let in on the host
 * with a loud line. */
static int refuse_or_allow(pam_handle_t *pamh, const struct outlets *o, const char *user, uid_t uid, bool allow,
			   const struct nsiso_error *e)
{
	if (!allow || !error_tenant_proof(e)) {
		/* (with allow: a failure the tenant could cause, which allow
		 * never lets in; the line says so) */
		refuse_log_note(pamh, o, user, uid, e, allow ? " on_error=allow-not-applicable" : "");
		return pam_code(e->error);
	}
	char uv[LOG_VALUE_MAX], dv[2 * NSISO_DETAIL_MAX], line[3 * NSISO_DETAIL_MAX];
	snprintf(line, sizeof(line),
		 "UNISOLATED: user=%s step=%s error=%s errno=%d on_error=allow detail=\"%s\": the session runs on "
		 "the host",
		 log_value(uv, sizeof(uv), user), nsiso_step_name(e->step),
		 strerrorname_np(-e->error) ? strerrorname_np(-e->error) : "?", -e->error,
		 log_escape(dv, sizeof(dv), error_text(e)));
	decide(pamh, o, LOG_WARNING, DECISION_UNISOLATED, user, uid, nsiso_step_name(e->step), NULL, 0, line);
	return PAM_SUCCESS;
}

/* What the monitor leaves for sshd's session child (PAM data; fork copies
 * it, and the fds with it). */
struct pending {
	pid_t opener;	       /* the monitor: its pid ... */
	uint64_t opener_pidns; /* ... in its own PID namespace (the child's is another one) */
	uint32_t ns_mask;
	struct session_hardening hard;
	struct session_fds fds;
};

static void pending_free(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	struct pending *p = data;
	session_fds_close(&p->fds);
	free(p);
}

static uint64_t own_pidns(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) < 0 ? 0 : (uint64_t)st.st_ino;
}

/* sshd (and OpenSSH 9.8's sshd-session) call pam_setcred in the session
 * child after setgid+initgroups and before setuid, on every login path
 * (privsep_postauth -> do_setusercontext -> do_pam_setcred). */
static bool caller_is_sshd(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	const char *base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return strcmp(base, "sshd") == 0 || strcmp(base, "sshd-session") == 0;
}

/* Runs the helper; on success its fds are in fds. */
static int run_helper(const char *user, const char *config, const struct session_origin *o, struct session_reply *rep,
		      struct session_fds *fds)
{
	int sv[2];
	struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return neg_errno();
	_cleanup_close_ int mine = sv[0], theirs = sv[1];

	/* Like pam_mkhomedir: the caller's SIGCHLD handler must not reap our
	 * child behind our back. */
	if (sigaction(SIGCHLD, &dfl, &old_chld) < 0)
		return neg_errno();
	pid_t pid = fork();
	if (pid < 0) {
		int e = neg_errno();
		(void)sigaction(SIGCHLD, &old_chld, NULL);
		return e;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		/* Lift both above 0-2 first: the caller may have had them closed,
		 * and dup2() onto the same number would keep FD_CLOEXEC. */
		int sock = fcntl(theirs, F_DUPFD, 3);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		int high_null = null < 0 ? -1 : fcntl(null, F_DUPFD, 3);
		if (sock < 0 || high_null < 0 || dup2(sock, 0) < 0 || dup2(high_null, 1) < 0 ||
		    dup2(high_null, 2) < 0 || close_range(3, ~0u, 0) < 0)
			_exit(127);
		char *const argv[] = { (char *)"nsiso-helper", (char *)"open", (char *)user,	 (char *)config,
				       (char *)o->service,     (char *)o->tty, (char *)o->rhost, NULL };
		char *const envp[] = { NULL };
		execve(NSISO_HELPER_PATH, argv, envp);
		struct session_reply err = { .version = NSISO_PROTO_VERSION };
		(void)error_at(&err.err, STEP_HELPER, neg_errno(), "cannot execute %s", NSISO_HELPER_PATH);
		(void)fdpass_send(0, &err, sizeof(err), NULL, 0);
		_exit(127);
	}
	close_fd(&theirs);

	/* The helper ends itself at its deadline; this one bounds the wait
	 * whatever happens to it (THREATS 60): sshd's monitor never hangs. */
	struct timeval tv = { .tv_sec = HELPER_ANSWER_TIMEOUT_S };
	int got[SESSION_FDS_MAX];
	size_t n = 0;
	int r = setsockopt(mine, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0
		    ? neg_errno()
		    : fdpass_recv(mine, rep, sizeof(*rep), got, SESSION_FDS_MAX, &n);
	if (r == -EAGAIN || r == -EWOULDBLOCK) {
		(void)kill(pid, SIGKILL);
		r = -ETIMEDOUT;
	}
	(void)RETRY_EINTR(waitpid(pid, NULL, 0));
	(void)sigaction(SIGCHLD, &old_chld, NULL);
	if (r < 0) {
		memset(rep, 0, sizeof(*rep));
		return error_at(&rep->err, STEP_HELPER, r, "no answer from %s", NSISO_HELPER_PATH);
	}
	if (rep->version != NSISO_PROTO_VERSION) {
		for (size_t i = 0; i < n; i++)
			(void)close(got[i]);
		return error_at(&rep->err, STEP_HELPER, -EPROTO, "helper speaks protocol %u, module %u", rep->version,
				NSISO_PROTO_VERSION);
	}
	error_sanitize(&rep->err, STEP_HELPER);
	if (rep->err.error < 0) {
		for (size_t i = 0; i < n; i++)
			(void)close(got[i]);
		return rep->err.error;
	}
	if (session_fds_unpack(fds, rep->ns_mask, &rep->hard, got, n) < 0)
		return error_at(&rep->err, STEP_HELPER, -EBADMSG, "malformed answer from %s", NSISO_HELPER_PATH);
	return 0;
}

/* login(1) hands the terminal to the user (chown uid:tty, mode 0620) after
 * open_session, when it is container root and can no longer change a file
 * of the host. Do it for login now, as it would, while still host root:
 * only for service login, and only the terminal that is its stdin and
 * PAM_TTY both. Afterwards owner and group are mapped in the container, and
 * login's own chown succeeds there. */
static int prepare_login_tty(pam_handle_t *pamh, const struct passwd *pw, struct nsiso_error *e)
{
	const char *service = NULL, *tty = NULL;
	if (pam_get_item(pamh, PAM_SERVICE, (const void **)&service) != PAM_SUCCESS || !service ||
	    strcmp(service, "login") != 0)
		return 0;
	if (pam_get_item(pamh, PAM_TTY, (const void **)&tty) != PAM_SUCCESS || !tty || !isatty(0))
		return 0;
	char path[128];
	snprintf(path, sizeof(path), "%s%s", tty[0] == '/' ? "" : "/dev/", tty);
	struct stat in, named;
	if (fstat(0, &in) < 0 || stat(path, &named) < 0 || !S_ISCHR(in.st_mode) || in.st_rdev != named.st_rdev)
		return 0;
	const struct group *g = pam_modutil_getgrnam(pamh, "tty");
	if (fchown(0, pw->pw_uid, g ? g->gr_gid : 5) < 0 || fchmod(0, 0620) < 0)
		return error_set(e, neg_errno(), "handing %s to %s", path, pw->pw_name);
	return 0;
}

/* Where the session comes from, for the logs and nsiso show. */
static void session_origin_of(pam_handle_t *pamh, struct session_origin *o)
{
	const char *item;
	origin_copy(o->service, sizeof(o->service),
		    pam_get_item(pamh, PAM_SERVICE, (const void **)&item) == PAM_SUCCESS && item && *item ? item : "-");
	origin_copy(o->tty, sizeof(o->tty),
		    pam_get_item(pamh, PAM_TTY, (const void **)&item) == PAM_SUCCESS && item && *item ? item : "-");
	origin_copy(o->rhost, sizeof(o->rhost),
		    pam_get_item(pamh, PAM_RHOST, (const void **)&item) == PAM_SUCCESS && item && *item ? item : "-");
}

/* The container's answer: from its live supervisor (the usual case, no
 * helper at all), else from the helper, which creates it. 0, or -errno
 * with rep->err filled. */
static int session_obtain(const struct passwd *pw, const char *config, const struct session_origin *origin,
			  struct session_reply *rep, struct session_fds *fds)
{
	_cleanup_close_ int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (self < 0) {
		memset(rep, 0, sizeof(*rep));
		return error_at(&rep->err, STEP_ATTACH, neg_errno(), "pidfd_open of the session process");
	}
	int r = container_attach(pw->pw_uid, pw->pw_name, config, self, origin, rep, fds);
	if (attach_no_container(r))
		r = run_helper(pw->pw_name, config, origin, rep, fds);
	rep->uid = (uint32_t)pw->pw_uid;
	return r;
}

/* Verify the answer and join: whole, or (sshd with this module in its auth
 * stack) the outer half here and the inner half in the session child's
 * setcred, left for it as PAM data. *committed: the caller was changed for
 * good (a failure can then never let it in unisolated). */
static int session_enter(pam_handle_t *pamh, const struct passwd *pw, const struct session_reply *rep,
			 struct session_fds *fds, bool *split, bool *committed, struct nsiso_error *why)
{
	uint64_t ino[NS_COUNT] = { 0 };
	int r = ns_verify_answer(fds->ns, rep->ns_mask, (uint32_t)pw->pw_uid, rep->ns_ino, ino, why);
	if (r < 0)
		return error_in(why, STEP_VERIFY, r);

	r = prepare_login_tty(pamh, pw, why);
	if (r < 0)
		return error_in(why, STEP_JOIN, r);
	limits_preraise(pamh, pw);

	/* Split only where the second half is sure to run: sshd, and this
	 * module in its auth stack (its setcred came before open_session). */
	const void *setcred_seen = NULL;
	*split = (rep->ns_mask & NS_BIT(NS_USER)) &&
		 pam_get_data(pamh, "pam_nsiso_setcred", &setcred_seen) == PAM_SUCCESS && setcred_seen &&
		 caller_is_sshd();
	_cleanup_free_ struct pending *pend = *split ? calloc(1, sizeof(*pend)) : NULL;
	if (*split && !pend)
		return error_at(why, STEP_JOIN, -ENOMEM, "keeping the container for the session child");

	r = container_join(fds, rep->ns_mask, &rep->hard, *split ? JOIN_OUTER : JOIN_WHOLE, false, why, committed);
	if (r < 0)
		return error_in(why, STEP_JOIN, r);
	if (!*split)
		return 0;

	/* The monitor's children start in the container's PID and mount
	 * namespaces but the host's user namespace until the session child's
	 * setcred finishes the join: nothing forked from here on may gain
	 * privilege through a setuid or file-capability binary, whatever
	 * happens to that setcred (THREATS 62; the supervisor kills a child
	 * that never joins). Only where the sessions get no_new_privs anyway
	 * (the default; no_new_privs = no keeps file capabilities working). */
	*committed = true; /* the monitor is in the container's namespaces */
	if ((rep->hard.flags & HARDEN_NO_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return error_at(why, STEP_JOIN, neg_errno(), "PR_SET_NO_NEW_PRIVS in sshd's monitor");

	/* Read after the join, as setcred will read it in the monitor (the
	 * container's /proc may not show the monitor at all: 0). */
	pend->opener = getpid();
	pend->opener_pidns = own_pidns();
	pend->ns_mask = rep->ns_mask;
	pend->hard = rep->hard;
	pend->fds = *fds;
	session_fds_init(fds);
	if (pam_set_data(pamh, "pam_nsiso_pending", pend, pending_free) != PAM_SUCCESS) {
		pending_free(pamh, TAKE_PTR(pend), 0);
		return error_at(why, STEP_JOIN, -ENOMEM, "keeping the container for the session child");
	}
	pend = NULL; /* PAM owns it now */
	return 0;
}

static void session_log_joined(pam_handle_t *pamh, const struct outlets *o, const char *user, const char *config,
			       const struct session_origin *origin, struct session_reply *rep, bool split,
			       uint64_t create_us)
{
	char words[64], cgroup[sizeof(rep->cgroup) + 8] = "-", network[34], address[16] = "-", uv[LOG_VALUE_MAX];
	rep->network[sizeof(rep->network) - 1] = '\0';
	origin_copy(network, sizeof(network), rep->network[0] ? rep->network : "-");
	if (rep->net_addr)
		snprintf(address, sizeof(address), "%u.%u.%u.%u", rep->net_addr >> 24, (rep->net_addr >> 16) & 255,
			 (rep->net_addr >> 8) & 255, rep->net_addr & 255);
	rep->cgroup[sizeof(rep->cgroup) - 1] = '\0';
	if (rep->hard.n_cgroups) {
		char name[sizeof(rep->cgroup)];
		origin_copy(name, sizeof(name), rep->cgroup);
		snprintf(cgroup, sizeof(cgroup), "nsiso/%s", name);
	}
	if (rep->flags & REPLY_BUILTIN_POLICY)
		pam_syslog(pamh, LOG_NOTICE, "policy=%s absent: built-in defaults apply", config);
	char line[1024], id[sizeof(rep->id)];
	origin_copy(id, sizeof(id), rep->id);
	const char *how = (rep->flags & REPLY_CREATED) ? "created" : "joined";
	snprintf(line, sizeof(line),
		 "session user=%s uid=%u service=%s tty=%s rhost=%s container=%s init_pid=%u namespaces=\"%s\" "
		 "userns=%llu cgroup=%s network=%s address=%s join=%s",
		 log_value(uv, sizeof(uv), user), rep->uid, origin->service, origin->tty, origin->rhost, how,
		 rep->init_pid, ns_mask_to_words(rep->ns_mask, words, sizeof(words)),
		 (unsigned long long)rep->ns_ino[NS_USER], cgroup, network, address, split ? "split" : "whole");
	decide(pamh, o, LOG_INFO, DECISION_SESSION, user, rep->uid, how, id,
	       (rep->flags & REPLY_CREATED) ? create_us : 0, line);
}

/* The user and the module's arguments, unless the session is one nsiso
 * has nothing to do with (root, or this handle's process already joined):
 * 1 then, 0 to go on, or a failure (logged). */
static int session_user(pam_handle_t *pamh, const struct outlets *o, int argc, const char **argv, struct args *a,
			const char **user, const struct passwd **pw)
{
	struct nsiso_error why = { 0 };
	char uv[LOG_VALUE_MAX];
	if (pam_get_item(pamh, PAM_USER, (const void **)user) != PAM_SUCCESS || !*user || !(*user)[0] ||
	    strlen(*user) > NSISO_USER_MAX) {
		(void)error_at(&why, STEP_USER, -EINVAL, "no usable PAM_USER");
		refuse_log(pamh, o, "?", (uid_t)-1, &why);
		return -EINVAL;
	}
	if (parse_args(pamh, o, *user, argc, argv, a) < 0)
		return -EINVAL;
	/* Listed twice in one stack (su-l includes su, a common-session line
	 * and a service's own): this handle's process already joined. */
	const void *joined = NULL;
	if (pam_get_data(pamh, "pam_nsiso_joined", &joined) == PAM_SUCCESS && joined) {
		pam_syslog(pamh, LOG_INFO,
			   "session user=%s already in its container (pam_nsiso is in this stack twice)",
			   log_value(uv, sizeof(uv), *user));
		return 1;
	}
	*pw = pam_modutil_getpwnam(pamh, *user);
	if (!*pw) {
		(void)error_at(&why, STEP_USER, -ENOENT, "no such user");
		refuse_log(pamh, o, *user, (uid_t)-1, &why);
		return -ENOENT;
	}
	if ((*pw)->pw_uid == 0) {
		/* keep-id would map host uid 0: root is never put in a container. */
		char line[64 + LOG_VALUE_MAX];
		snprintf(line, sizeof(line), "session user=%s uid=0 container=none exempt=\"uid 0\"",
			 log_value(uv, sizeof(uv), *user));
		decide(pamh, o, LOG_INFO, DECISION_EXEMPT, *user, 0, "-", NULL, 0, line);
		return 1;
	}
	return 0;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	struct args a;
	const char *user = NULL;
	const struct passwd *pw = NULL;
	struct session_reply rep;
	struct session_fds fds;
	struct session_origin origin;
	struct nsiso_error why = { 0 };

	struct timespec t0;
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	__attribute__((cleanup(outlets_close))) struct outlets o = { .stats = stats_file_open(),
								     .journal = journal_open() };
	int r = session_user(pamh, &o, argc, argv, &a, &user, &pw);
	if (r != 0)
		return r > 0 ? PAM_SUCCESS : PAM_SESSION_ERR;
	session_origin_of(pamh, &origin);

	r = session_obtain(pw, a.config, &origin, &rep, &fds);
	bool allow = rep.flags & REPLY_ON_ERROR_ALLOW;
	if (r < 0) {
		session_fds_close(&fds);
		(void)error_in(&rep.err, rep.err.step != STEP_NONE ? (enum nsiso_step)rep.err.step : STEP_HELPER, r);
		return refuse_or_allow(pamh, &o, user, pw->pw_uid, allow, &rep.err);
	}
	if (rep.flags & REPLY_EXEMPT) {
		session_fds_close(&fds);
		char uv[LOG_VALUE_MAX], dv[2 * NSISO_DETAIL_MAX];
		rep.exempt_by[sizeof(rep.exempt_by) - 1] = '\0';
		char line[64 + LOG_VALUE_MAX + sizeof(dv)];
		snprintf(line, sizeof(line), "session user=%s uid=%u container=none exempt=\"%s\"",
			 log_value(uv, sizeof(uv), user), rep.uid, log_escape(dv, sizeof(dv), rep.exempt_by));
		decide(pamh, &o, LOG_INFO, DECISION_EXEMPT, user, rep.uid, "-", NULL, 0, line);
		return PAM_SUCCESS;
	}

	bool split = false, committed = false;
	r = session_enter(pamh, pw, &rep, &fds, &split, &committed, &why);
	session_fds_close(&fds);
	if (r < 0) /* once joined for good there is no way back to the host */
		return refuse_or_allow(pamh, &o, user, pw->pw_uid, allow && !committed, &why);

	struct timespec t1;
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t took_us = (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
	/* (a static string: nothing to free, and fork copies see it too) */
	(void)pam_set_data(pamh, "pam_nsiso_joined", (void *)"yes", NULL);
	session_log_joined(pamh, &o, user, a.config, &origin, &rep, split, took_us ? took_us : 1);
	return PAM_SUCCESS;
}

/* In the auth stack only for pam_setcred: authentication is not ours. */
PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

/* Before open_session (sshd's monitor, and su, sudo...): only noted, so that
 * open_session knows the second half will be called. In sshd's session
 * child, after the monitor's open_session split the join: the inner half.
 * A failure there ends the child: sshd goes on after a failed setcred of a
 * key login, and this process is already in the container's namespaces. */
PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)argc;
	(void)argv;
	const void *data = NULL;
	if (pam_get_data(pamh, "pam_nsiso_pending", &data) != PAM_SUCCESS || !data) {
		if (!(flags & PAM_DELETE_CRED))
			(void)pam_set_data(pamh, "pam_nsiso_setcred", (void *)"yes", NULL);
		return PAM_SUCCESS;
	}
	struct pending *p = (struct pending *)data;
	if ((p->opener == getpid() && p->opener_pidns == own_pidns()) || (flags & PAM_DELETE_CRED))
		return PAM_SUCCESS; /* the monitor itself: it stays outside */

	const char *user = NULL;
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || !user)
		user = "?";
	struct nsiso_error why = { 0 };
	bool committed = false;
	int r = container_join(&p->fds, p->ns_mask, &p->hard, JOIN_INNER, false, &why, &committed);
	/* This copy's fds are closed (and p freed) by replacing the data. */
	(void)pam_set_data(pamh, "pam_nsiso_pending", NULL, NULL);
	if (r < 0) {
		(void)error_in(&why, STEP_JOIN, r);
		/* (not counted: this child's /run/nsiso is the container's) */
		refuse_log_note(pamh, NULL, user, getuid(), &why, "");
		_exit(EXIT_FAILURE);
	}
	return PAM_SUCCESS;
}

/* The session ends when the process that opened it exits: the container's
 * supervisor holds a pidfd of it. Nothing to undo here (and nothing that
 * could fail when sshd was killed and never calls it); one log line. */
PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	(void)argc;
	(void)argv;
	const char *user = NULL, *service = NULL;
	if (pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS || !user)
		user = "?";
	if (pam_get_item(pamh, PAM_SERVICE, (const void **)&service) != PAM_SUCCESS || !service)
		service = "?";
	char svc[32];
	origin_copy(svc, sizeof(svc), service);
	char uv[LOG_VALUE_MAX];
	pam_syslog(pamh, LOG_INFO, "session closed user=%s service=%s pid=%d", log_value(uv, sizeof(uv), user), svc,
		   (int)getpid());
	return PAM_SUCCESS;
}
