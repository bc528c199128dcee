/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What travels between pam_nsiso.so, nsiso-helper and a container's
 * supervisor. All three are built from this tree, so the structs are sent
 * as they are; the version field catches a module and helper of different
 * builds. */

#include <stdint.h>

#include "cglimits.h"
#include "error.h"
#include "nstable.h"

#define NSISO_PROTO_VERSION 7u
#define NSISO_USER_MAX 64    /* longest user name nsiso handles */
#define NSISO_CONFIG_MAX 512 /* longest policy path */
/* The abstract socket (in each container's network namespace) where the
 * supervisor answers `nsiso status` from inside with text. */
#define NSISO_INSIDE_SOCKET "nsiso-status"
/* Where, with nested_userns = yes, the supervisor writes the id maps of a
 * tenant's own user namespaces (helper/nested.c; the client is
 * nsiso-newidmap, bound over newuidmap and newgidmap inside). */
#define NSISO_IDMAP_SOCKET "nsiso-idmap"

enum {
	REPLY_CREATED = 1u << 0,	/* this login created the container */
	REPLY_BUILTIN_POLICY = 1u << 1, /* no policy file: built-in defaults */
	REPLY_EXEMPT = 1u << 2,		/* the policy exempts the user: no container */
	REPLY_ON_ERROR_ALLOW = 1u << 3, /* on a failure, let the session in unisolated */
};

/* What the module applies to the session after joining (policy keys
 * seccomp, no_new_privs, capabilities). With HARDEN_SECCOMP, one more fd
 * follows the namespace fds: a sealed memfd of raw BPF. */
enum {
	HARDEN_SECCOMP = 1u << 0,
	HARDEN_NO_NEW_PRIVS = 1u << 1,
};
#define SECCOMP_INSNS_MAX 4096

#define HARDEN_RLIMITS 15
#define SESSION_CGROUPS_MAX 6

struct session_hardening {
	uint32_t flags;
	uint32_t n_rlimits;
	uint32_t n_cgroups; /* cgroup.procs fds that follow the seccomp fd */
	uint32_t reserved;
	uint64_t cap_keep; /* bounding set kept: bit n = capability n */
	struct {
		int32_t resource; /* RLIMIT_* */
		uint32_t reserved;
		uint64_t soft, hard; /* UINT64_MAX: unlimited */
	} rlimit[HARDEN_RLIMITS];
};

/* The one answer to a session, from a supervisor (to the module, the
 * helper or nsiso enter) or from the helper (to the module), with one fd per
 * bit of ns_mask in enum ns_index order (struct session_fds). The helper
 * passes the supervisor's on, adding what only it knows. */
struct session_reply {
	uint32_t version;
	uint32_t flags; /* REPLY_* */
	uint32_t ns_mask;
	uint32_t init_pid;		  /* host pid of the container's PID 1 */
	uint32_t uid;			  /* (helper) the user's, as NSS says */
	uint32_t gid;			  /* (helper) */
	uint32_t sessions;		  /* (supervisor) sessions in the container */
	uint32_t net_addr;		  /* the container's address on its network; 0: none */
	char network[33];		  /* none, host or the network's name */
	char cgroup[80];		  /* the group's name under nsiso/: USER, or USER@2... beside a teardown */
	char exempt_by[NSISO_DETAIL_MAX]; /* REPLY_EXEMPT: the policy's file:[section] that exempts */
	char id[48];			  /* (supervisor) the container's, nsiso-UID-PID (hooks, scope, journal) */
	uint64_t ns_ino[NS_COUNT];
	struct session_hardening hard;
	struct nsiso_error err; /* err.error 0: the container is there (or the user is exempt) */
};

/* What a request to a supervisor asks. */
enum {
	OP_ATTACH = 0, /* register a session (its holder's pidfd comes along); answer: session_reply */
	OP_STATUS = 1, /* answer: container_status (nsiso list, show) */
	OP_STOP = 2,   /* end every session, then the container (nsiso stop); answer: session_reply */
	OP_SET = 3,    /* new cgroup limits for the live container (nsiso set); answer: session_reply */
};

/* Where a session comes from (PAM_SERVICE, PAM_TTY, PAM_RHOST), printable
 * ASCII only, for the logs and nsiso show. */
struct session_origin {
	char service[32];
	char tty[64];
	char rhost[128];
};

/* module, helper or nsiso -> supervisor. With OP_ATTACH the session
 * holder's pidfd comes along, and the supervisor checks the policy at
 * config is still valid before it answers. */
struct attach_request {
	uint32_t version;
	uint32_t uid;
	uint32_t op;
	uint32_t stop_grace_ms;	 /* OP_STOP: how long sessions get to end */
	struct cg_limits limits; /* OP_SET: all of them, as they are to be */
	char user[NSISO_USER_MAX + 1];
	char config[NSISO_CONFIG_MAX];
	struct session_origin origin;
};

/* Keep only printable ASCII of src, without spaces, quotes or backslashes
 * (they would break key=value log lines): others become '?'. */
void origin_copy(char *dst, size_t size, const char *src);

/* A value for a log line or for nsiso's output: as it is when it is made of
 * A-Z a-z 0-9 . _ @ : / + - only, else in double quotes with \" \\ \t \n \r
 * and \xNN for every other byte outside printable ASCII, so that a user
 * named `x y=1` or one with an ESC cannot forge fields or terminal output.
 * Cut to fit size. Returns buf. */
#define LOG_VALUE_MAX 256
const char *log_value(char *buf, size_t size, const char *s);
/* The escapes alone, for text inside detail="...". */
const char *log_escape(char *buf, size_t size, const char *s);

#define STATUS_SESSIONS_MAX 64

/* supervisor -> nsiso, for OP_STATUS. */
struct container_status {
	uint32_t version;
	int32_t error;
	uint32_t uid;
	uint32_t init_pid;
	uint32_t supervisor_pid;
	uint32_t ns_mask;
	uint32_t n_sessions; /* all of them; the first STATUS_SESSIONS_MAX are in session[] */
	uint32_t stopping;
	int64_t started;     /* CLOCK_REALTIME seconds */
	int64_t linger;	     /* seconds; -1 for ever */
	int64_t empty_since; /* CLOCK_REALTIME seconds, or 0 with sessions */
	uint64_t ns_ino[NS_COUNT];
	char user[NSISO_USER_MAX + 1];
	char hostname[65];
	char cgroup[224];	 /* below the hierarchy root: nsiso/USER or SCOPE-PATH/nsiso/USER; "" */
	char network[64];	 /* none, host or a network name */
	char address[64];	 /* the container's address on it, or "" */
	struct cg_limits limits; /* the policy's, as the container was built */
	struct session_hardening hard;
	struct {
		int32_t pid;
		uint32_t reserved;
		int64_t started; /* CLOCK_REALTIME seconds */
		struct session_origin origin;
	} session[STATUS_SESSIONS_MAX];
};

/* The fds that come with a reply, in this order: one per bit of ns_mask
 * (enum ns_index order), the seccomp filter with HARDEN_SECCOMP, then
 * hard.n_cgroups cgroup.procs fds. -EBADF where absent. */
struct session_fds {
	int ns[NS_COUNT];
	int seccomp;
	uint32_t n_cgroups;
	int cgroup[SESSION_CGROUPS_MAX];
};
#define SESSION_FDS_MAX (NS_COUNT + 1 + SESSION_CGROUPS_MAX)

void session_fds_init(struct session_fds *s);
void session_fds_close(struct session_fds *s);
/* Into the order above; returns the count. */
size_t session_fds_pack(const struct session_fds *s, uint32_t ns_mask, const struct session_hardening *h,
			int out[SESSION_FDS_MAX]);
/* From n received fds; every fd is closed and -EBADMSG returned when n is
 * not what ns_mask and h announce. */
int session_fds_unpack(struct session_fds *s, uint32_t ns_mask, const struct session_hardening *h, int *got, size_t n);

/* supervisor -> helper that spawned it, once the container is built: a
 * struct nsiso_error, error 0 when it is. */
