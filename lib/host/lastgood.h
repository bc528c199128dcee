/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* A policy that never locks the host out: the last policy that validated is
 * kept (root-only, under KEEP = NSISO_RUNDIR/good, forgotten at boot); when
 * the policy at PATH fails validation, that one applies instead. Only when
 * no valid policy was seen since boot is the load an error. */

#define LASTGOOD_DIR NSISO_RUNDIR "/good"

struct policy_kept {
	bool used;		  /* p holds the kept policy: PATH is invalid */
	int64_t saved;		  /* when it was kept (s since the epoch) */
	struct nsiso_error first; /* PATH's first error, when used */
	int keep_error;		  /* a valid PATH could not be kept (-errno; logins go on) */
};

/* policy_load(p, PATH), keeping a valid policy and falling back on the kept
 * one. 0 with e clear (k says which applies, and PATH's first error when
 * it is the kept one) or the error of PATH in e. */
int policy_load_kept(struct policy *p, const char *path, const char *keepdir, struct policy_kept *k,
		     struct nsiso_error *e);

/* Where PATH's kept copy lives: its directory and its main file. 0 or
 * -ENAMETOOLONG. */
int lastgood_paths(const char *keep, const char *path, char *dir, size_t dir_size, char *main, size_t main_size);

/* For nsiso check and list: when PATH's kept copy was made, and since when
 * (0: not) PATH has been invalid with which first error. 0 or -ENOENT
 * (nothing kept). */
int lastgood_status(const char *keepdir, const char *path, int64_t *saved, int64_t *failing_since,
		    struct nsiso_error *failing);
