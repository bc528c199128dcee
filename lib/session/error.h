/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one shape of an error in nsiso (CODING_STYLE.md "Errors"): a
 * function that can fail returns 0 or -errno; where it has more to say, it
 * fills a struct nsiso_error, which goes up the stack as it is, crosses the
 * sockets between module, helper and supervisor as it is (embedded in the
 * wire structs of proto.h), and is logged once, at the boundary. */

#include <stdbool.h>
#include <stdint.h>

#define NSISO_DETAIL_MAX 256

/* The step a failure happened in: named in the log line. */
enum nsiso_step {
	STEP_NONE = 0, /* not yet known: the caller names it (error_in) */
	STEP_HELPER,   /* running the helper */
	STEP_CALLER,   /* checking who called the helper */
	STEP_USER,     /* resolving the user through NSS */
	STEP_POLICY,   /* loading and resolving the policy */
	STEP_STATE,    /* state directory, lock, supervisor socket */
	STEP_IDMAP,    /* subordinate ids and uid/gid maps */
	STEP_CLONE,    /* creating the namespaces */
	STEP_MOUNT,    /* building the mount namespace */
	STEP_UTS,      /* hostname */
	STEP_NET,      /* network namespace */
	STEP_CREDS,    /* dropping credentials and capabilities */
	STEP_INIT,     /* starting the container init */
	STEP_ATTACH,   /* registering the session with the container */
	STEP_VERIFY,   /* verifying the namespaces handed back */
	STEP_JOIN,     /* setns() into the container */
	STEP_CGROUP,   /* the container's cgroups and their limits */
	STEP_HOOK,     /* the policy's on_create program */
	STEP_ARGS,     /* the module's arguments in the PAM stack */
	STEP_COUNT
};

const char *nsiso_step_name(enum nsiso_step step);

struct nsiso_error {
	int32_t error; /* 0 or -errno */
	uint32_t step; /* enum nsiso_step */
	char detail[NSISO_DETAIL_MAX];
};

/* Record what failed, on what, and return error (made -EIO when it is not
 * negative), for "return error_set(e, r, "opening %s", path);". The step
 * is left as it is: the layer that knows it names it with error_in(). */
int error_set(struct nsiso_error *e, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* error_set() with the step. */
int error_at(struct nsiso_error *e, enum nsiso_step step, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Name the step of an error a callee recorded and return it: its detail
 * is kept, or strerror(error) when it recorded none. A function that
 * returns 0 leaves no error in e (callers answer with e as it is). */
int error_in(struct nsiso_error *e, enum nsiso_step step, int error);

/* The detail, or strerror of the error when there is none. */
const char *error_text(const struct nsiso_error *e);

/* A struct received from another process: the detail terminated, an
 * unknown step made fallback. */
void error_sanitize(struct nsiso_error *e, enum nsiso_step fallback);

/* A failure no tenant can cause (a missing helper, a kernel that refuses
 * a namespace type...): the only kind on_error = allow lets in. */
bool error_tenant_proof(const struct nsiso_error *e);
